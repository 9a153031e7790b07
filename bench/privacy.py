"""Speed of the personal-data screen on 1 M short values: `python -m bench.privacy [rows]`.

The values are what the quarantine and the breakdowns hold (ids, timestamps, words, small numbers)
with a pessimistic share of personal data (about one value in six is a phone number, a 9-digit
number or an e-mail address, nearly all distinct, so the HMAC runs some 170 000 times). Set
POLARS_MAX_THREADS to compare core counts.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable

import polars as pl

from pipeline.core.privacy import personal_kind, personal_kinds, screen, screen_series

KEY = b"bench-key-" + b"k" * 22
SAMPLES = 5
WORDS = ("Stadskantoor", "Paspoort", "Werk en Inkomen", "beantwoord", "niet verschenen", "Vleuten-De Meern")


def values(rows: int, personal_share: float = 1 / 6) -> pl.Series:
    rng = random.Random(2020)
    out: list[str] = []
    for i in range(rows):
        r = rng.random()
        if r < personal_share * 0.6:
            out.append(f"06-{rng.randrange(10**8):08d}")
        elif r < personal_share * 0.7:
            out.append(f"{rng.randrange(10**9):09d}")  # a BSN 1 time in 11
        elif r < personal_share:
            out.append(f"user{i}@example.com")
        elif r < 0.4:
            out.append(f"2020-{i:07d}")
        elif r < 0.6:
            out.append(f"2020-03-{1 + i % 28:02d}T09:{i % 60:02d}:03+01:00")
        elif r < 0.8:
            out.append(rng.choice(WORDS))
        else:
            out.append(str(rng.randrange(5000)))
    return pl.Series("waarde", out)


def timed(run: Callable[[], object]) -> str:
    """Wall time, and the CPU time of this process (all threads), which a busy machine inflates less."""
    wall, cpu = [], []
    for _ in range(SAMPLES):
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    median_wall, median_cpu = statistics.median(wall), statistics.median(cpu)
    return f"wall median {median_wall:.3f} s, best {min(wall):.3f} s; cpu median {median_cpu:.3f} s"


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    pessimistic, usual = values(rows), values(rows, personal_share=0.01)
    frame = pessimistic.to_frame()
    print(f"{rows} values, {pl.thread_pool_size()} threads")
    print(f"personal_kinds (Series)        {timed(lambda: personal_kinds(pessimistic))}")
    print(f"personal_kind (expression)     {timed(lambda: frame.select(personal_kind(pl.col('waarde'))))}")
    print(f"screen_series, 1/6 personal    {timed(lambda: screen_series(pessimistic, KEY))}")
    print(f"screen (expression), 1/6       {timed(lambda: frame.select(screen(pl.col('waarde'), KEY)))}")
    print(f"screen_series, 1/100 personal  {timed(lambda: screen_series(usual, KEY))}")


if __name__ == "__main__":
    main()
