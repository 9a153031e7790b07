"""The pandas peer: the four published figures as most analysts would compute them with pandas.

Read each delivery with `pd.read_csv` (every column as text, decoded as UTF-8 with a lossy fallback
for the Windows-1252 files), put them all in one frame, clean up, drop the duplicates by the
agreement's rules, count. One process, one core, the whole data in memory: the usual notebook. Like
the Polars floor it must get the published figures exactly, so it counts the fields of each line (a
row with a field too few or too many is not counted) and checks the values a figure depends on.
Imports nothing from the pipeline.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from bench.agreement import (
    APPOINTMENT_COLUMNS,
    CALL_COLUMNS,
    CHANNELS,
    COUNTED_LOCATIONS,
    FOR_UTRECHT,
    FORWARDED,
    NUMBERS,
    OUTCOMES,
    STATUSES,
    TZ,
    deliveries,
    round_half_up_pct,
)
from bench.cases import Figures

__all__ = ["figures"]


def _read(path: Path, order: int, wanted: tuple[str, ...]) -> pd.DataFrame:
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    first, *rest = text.splitlines()
    lines = pd.Series(rest, dtype="str")
    fields = lines.str.count(";")
    quoted = lines.str.contains('"', regex=False)
    if quoted.any():
        fields[quoted] = lines[quoted].str.replace('"[^"]*"', "", regex=True).str.count(";")
    names = [name.strip().lower() for name in next(csv.reader([first], delimiter=";"))]
    frame = pd.read_csv(
        io.StringIO(text),
        sep=";",
        header=None,
        skiprows=1,
        names=[*names, "_extra"],  # a row with a field too many puts it here
        dtype=str,
        keep_default_na=False,
    )[list(wanted)]
    if len(frame) != len(lines):
        raise AssertionError(f"{path}: {len(frame)} rows but {len(lines)} lines")
    frame["_ok"] = (fields + 1 == len(names)).to_numpy()
    frame["file"] = order
    frame["line"] = range(len(frame))
    return frame


def _read_all(raw: Path, source: str, wanted: tuple[str, ...]) -> pd.DataFrame:
    frames = [_read(path, n, wanted) for n, path in enumerate(deliveries(raw, source))]
    if not frames:
        return pd.DataFrame()
    frame = pd.concat(frames, ignore_index=True)
    for column in wanted:
        frame[column] = frame[column].str.strip()
    return frame


def _instant(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, format="ISO8601", utc=True, errors="coerce")


def figures(raw: Path) -> Figures:
    """The four published figures per year found in the deliveries under `raw`."""
    years: Figures = {}
    calls = _read_all(raw, "telefonie", CALL_COLUMNS)
    if len(calls):
        calls["start"] = _instant(calls["starttijd"])
        number = calls["nummer"].map(NUMBERS)
        choice = calls["keuze"].str.lower()
        outcome = calls["afhandeling"].str.lower()
        wait = pd.to_numeric(calls["wachttijd"], errors="coerce")
        talk = pd.to_numeric(calls["gespreksduur"], errors="coerce")
        forwarded = (number == "14030") & choice.isin(FORWARDED)
        valid = (
            calls["_ok"]
            & (calls["gesprek_id"] != "")
            & calls["start"].notna()
            & number.notna()
            & choice.isin(FOR_UTRECHT + FORWARDED)
            & ((number == "14030") | (choice == ""))
            & outcome.isin(OUTCOMES)
            & (wait >= 0)
            & (talk >= 0)
            & (wait % 1 == 0)
            & (talk % 1 == 0)
            & ((talk == 0) | (outcome == "beantwoord"))
            & ((outcome == "doorgeschakeld") == forwarded)
        )
        calls["utrecht"] = (number == "030") | choice.isin(FOR_UTRECHT)
        calls["via_14030"] = number == "14030"
        calls["answered"] = outcome == "beantwoord"
        # frames were read in file order, lines in order: the last row of a call counts
        counted = calls[valid].drop_duplicates("gesprek_id", keep="last")
        counted = counted[counted["utrecht"]]
        per_year = counted.groupby(counted["start"].dt.tz_convert(TZ).dt.year).agg(
            calls=("gesprek_id", "size"), via_14030=("via_14030", "sum"), answered=("answered", "sum")
        )
        for year, row in per_year.iterrows():
            n, answered = int(row["calls"]), int(row["answered"])
            years.setdefault(int(year), {}).update(
                telefoontjes_gemeente=n,
                telefoontjes_14030=int(row["via_14030"]),
                bereikbaarheid_pct=round_half_up_pct(answered, n),
            )
    del calls
    appointments = _read_all(raw, "afspraken", APPOINTMENT_COLUMNS)
    if len(appointments):
        appointments["changed"] = _instant(appointments["gewijzigd"])
        appointments["day"] = pd.to_datetime(appointments["datum"], format="%d-%m-%Y", errors="coerce")
        time = pd.to_datetime(appointments["tijd"], format="%H:%M", errors="coerce")
        channel = appointments["kanaal"].str.lower()
        status = appointments["status"].str.lower()
        valid = (
            appointments["_ok"]
            & (appointments["afspraak_id"] != "")
            & channel.isin(CHANNELS)
            & status.isin(STATUSES)
            & appointments["day"].notna()
            & time.notna()
            & appointments["changed"].notna()
        )
        appointments["visit"] = (
            (status == "verschenen") & (channel == "balie") & appointments["locatie"].isin(COUNTED_LOCATIONS)
        )
        final = (
            appointments[valid]
            .sort_values(["changed", "file", "line"], kind="stable")
            .drop_duplicates("afspraak_id", keep="last")
        )
        visits = final[final["visit"]].groupby(final["day"].dt.year).size()
        for year, n in visits.items():
            years.setdefault(int(year), {})["baliebezoeken_met_afspraak"] = int(n)
    return years
