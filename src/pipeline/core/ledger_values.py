"""The values the ledgers hold (`leveringen`, `runs`, `meldingen`): Dutch snake_case, as all data is,
each set a `StrEnum`, with the one map to English labels that the terminal shows (`english`).

A value is stored and compared as its Dutch text (a `StrEnum` member is that text); Python code names
it in English. A state database of an older layout is translated in place (`run/state.py`).
"""

from __future__ import annotations

from enum import StrEnum


class DeliveryStatus(StrEnum):
    """`leveringen.status`: what became of an entry of the landing folder, or of a content read."""

    PROCESSED = "verwerkt"  # read and accepted: it counts
    REJECTED = "afgewezen"  # read and refused whole (empty, too many invalid rows, ...)
    IGNORED = "genegeerd"  # not a delivery (see `IgnoredBecause`)
    REPLACED = "vervangen"  # an earlier content of a path that now holds another
    WITHDRAWN = "ingetrokken"  # `pipeline withdraw`: it no longer counts
    SKIPPED = "overgeslagen"  # cannot be read safely (a pipe, a link out of the folder, too large, ...)


class RunStatus(StrEnum):
    """`runs.status`: `loopt` from its start (recorded before it reads anything) until it ends."""

    RUNNING = "loopt"
    DONE = "voltooid"
    FAILED = "mislukt"
    NOT_PUBLISHED = "niet_gepubliceerd"  # committed to the state database; publishing failed
    BROKEN_OFF = "afgebroken"  # it never ended (killed), as the next run found it


class RunKind(StrEnum):
    """`runs.soort`: which command ran."""

    NIGHTLY = "nachtelijk"
    BACKFILL = "herberekening"
    WITHDRAW = "intrekking"

    @classmethod
    def of(cls, kind: str) -> RunKind:
        """A kind by its value or by its command's name (`nightly`, `backfill`, `withdraw`)."""
        if kind in cls._value2member_map_:
            return cls(kind)
        by_command = {ENGLISH[cls][member]: member for member in cls}
        if kind not in by_command:
            raise ValueError(f"unknown kind of run {kind!r}: one of {', '.join(by_command)}")
        return by_command[kind]


class NoticeKind(StrEnum):
    """`meldingen.soort`: what a run found that an operator should know."""

    REJECTED = "afgewezen"  # a delivery refused (a re-delivery keeps the content accepted before)
    IGNORED = "genegeerd"  # an entry that is not a delivery
    SKIPPED = "overgeslagen"  # an entry that cannot be read safely
    GONE = "verdwenen"  # a counted delivery's file left the landing folder; it keeps counting
    WITHDRAWN_PRESENT = "ingetrokken_aanwezig"  # a withdrawn delivery's file is still there
    WITHDRAWN = "ingetrokken"  # `pipeline withdraw` withdrew a delivery
    REPAIRED = "hersteld"  # a damaged archive pack archived again from the landing folder
    BROKEN_OFF = "afgebroken"  # an earlier run never ended


class IgnoredBecause(StrEnum):
    """`leveringen.reden` of an entry that is not a delivery (status `genegeerd`)."""

    HIDDEN = "verborgen_bestand"
    PARTIAL_UPLOAD = "halve_upload"
    NOT_IN_A_SOURCE_FOLDER = "niet_in_een_bronmap"
    NAME_NOT_A_DELIVERY = "naam_geen_levering"
    EXPORT_DAY_NOT_A_DATE = "exportdatum_geen_datum"
    EXPORT_DAY_AHEAD = "exportdatum_na_vandaag"


# The one map to English labels, per set (one Dutch value may be in two sets: `afgebroken`).
ENGLISH: dict[type[StrEnum], dict[str, str]] = {
    DeliveryStatus: {
        DeliveryStatus.PROCESSED: "processed",
        DeliveryStatus.REJECTED: "rejected",
        DeliveryStatus.IGNORED: "ignored",
        DeliveryStatus.REPLACED: "replaced",
        DeliveryStatus.WITHDRAWN: "withdrawn",
        DeliveryStatus.SKIPPED: "skipped",
    },
    RunStatus: {
        RunStatus.RUNNING: "running",
        RunStatus.DONE: "done",
        RunStatus.FAILED: "failed",
        RunStatus.NOT_PUBLISHED: "not published",
        RunStatus.BROKEN_OFF: "broken off",
    },
    RunKind: {
        RunKind.NIGHTLY: "nightly",
        RunKind.BACKFILL: "backfill",
        RunKind.WITHDRAW: "withdraw",
    },
    NoticeKind: {
        NoticeKind.REJECTED: "rejected",
        NoticeKind.IGNORED: "ignored",
        NoticeKind.SKIPPED: "skipped",
        NoticeKind.GONE: "gone",
        NoticeKind.WITHDRAWN_PRESENT: "withdrawn",
        NoticeKind.WITHDRAWN: "withdrawn",
        NoticeKind.REPAIRED: "repaired",
        NoticeKind.BROKEN_OFF: "found",
    },
    IgnoredBecause: {
        IgnoredBecause.HIDDEN: "hidden file",
        IgnoredBecause.PARTIAL_UPLOAD: "partial upload (.tmp)",
        IgnoredBecause.NOT_IN_A_SOURCE_FOLDER: "not in a source's folder",
        IgnoredBecause.NAME_NOT_A_DELIVERY: "name does not match <source>_<YYYYMMDD>[_<suffix>].csv",
        IgnoredBecause.EXPORT_DAY_NOT_A_DATE: "export date in the name is not a date",
        IgnoredBecause.EXPORT_DAY_AHEAD: "export date in the name lies after today; it is read once that day has come",
    },
}
# Why the reader quarantines a row, whatever its source (`quarantaine.reden`; a source's own reasons
# are its `Reason.text`s), with what it found filled in.
RAGGED = "verkeerd aantal velden: {} in plaats van {}"
CONTROL_CHARACTER = "stuurteken (zoals NUL) in de waarde"
TOO_LONG = "waarde van {} bytes, meer dan de {} die een waarde mag hebben"

# What state databases of layout 5 and before hold instead (`run/state.py` translates them in place):
# per table and column (and the rows they are in: a column and its value), a regular expression for
# the old value and the Dutch value or its replacement.
Where = tuple[str, str, tuple[str, str] | None]
BEFORE: dict[Where, tuple[tuple[str, str], ...]] = {
    ("runs", "status", None): (("^niet gepubliceerd$", RunStatus.NOT_PUBLISHED),),
    ("runs", "soort", None): (("^nightly$", RunKind.NIGHTLY), ("^backfill$", RunKind.BACKFILL)),
    ("quarantaine", "reden", None): (
        (r"^wrong number of fields: (\d+) instead of (\d+)$", RAGGED.format(r"\1", r"\2")),
        (r"^control character \(such as NUL\) in the value$", CONTROL_CHARACTER),
        (r"^value of (\d+) bytes, more than the (\d+) a value may hold$", TOO_LONG.format(r"\1", r"\2")),
    ),
    ("leveringen", "reden", ("status", DeliveryStatus.IGNORED)): (
        ("^hidden file$", IgnoredBecause.HIDDEN),
        (r"^partial upload \(\.tmp\)$", IgnoredBecause.PARTIAL_UPLOAD),
        ("^not in a source's folder .*$", IgnoredBecause.NOT_IN_A_SOURCE_FOLDER),
        ("^name does not match .*$", IgnoredBecause.NAME_NOT_A_DELIVERY),
        ("^export date in the name is not a date$", IgnoredBecause.EXPORT_DAY_NOT_A_DATE),
        (r"^export date in the name \(.*\) lies after today.*$", IgnoredBecause.EXPORT_DAY_AHEAD),
    ),
}
BEFORE[("meldingen", "reden", ("soort", NoticeKind.IGNORED))] = BEFORE[("leveringen", "reden", ("status", "genegeerd"))]


def english(value: StrEnum) -> str:
    """The English label of a ledger value, for the terminal."""
    return ENGLISH[type(value)][value]


def label(kind: type[StrEnum], value: str) -> str:
    """The English label of a value read from a ledger as text; a value of no member as it is."""
    return ENGLISH[kind].get(value, value)
