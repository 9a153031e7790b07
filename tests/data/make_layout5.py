"""How tests/data/warehouse-layout5.tar.gz was made: a warehouse of state layout 5, by main at 1562da4.

    git worktree add --detach /tmp/hyg-main 1562da4
    cd /tmp/hyg-main && $PROJECT/.venv/bin/python $PROJECT/tests/data/make_layout5.py /tmp/l5/w
    cd /tmp/l5/w && tar --sort=name --owner=0 --group=0 -czf $PROJECT/tests/data/warehouse-layout5.tar.gz .

It holds what layout 5 wrote in English or otherwise: runs of kind `nightly` and `backfill`, a run
`niet gepubliceerd`, quarantine reasons of the reader, ignored files with their reasons, and the key's
fingerprint as `hmac_key_fingerprint`. Not collected by pytest (no test_ prefix).
"""

# ruff: noqa: E402, I001
import shutil
import sys
from pathlib import Path
import duckdb

sys.path[:0] = ["/tmp/hyg-main/src", "/tmp/hyg-main"]
from tests.conftest import CALL_HEADER, call, settings_for, write
from pipeline.run import run
import pipeline

assert pipeline.__file__.startswith("/tmp/hyg-main"), pipeline.__file__
root = Path(sys.argv[1])
shutil.rmtree(root, ignore_errors=True)
s = settings_for(root)
write(
    s.raw_dir / "telefonie/telefonie_20200107.csv",
    CALL_HEADER,
    [
        call("c1", "2020-01-06T10:00:00+01:00"),
        call("c2", "2020-01-06T11:00:00+01:00"),
        "c3;2020-01-06T12:00:00+01:00;14030",
        call("c4", "2020-01-06T12:00:00+01:00", wachtrij="Burger\x00zaken"),
    ]
    + [call(f"d{i}", "2020-01-06T13:00:00+01:00") for i in range(40)],
)
(s.raw_dir / "README.txt").write_text("Landingsmap\n")
write(s.raw_dir / "telefonie/.telefonie_20200108.csv", CALL_HEADER, [call("h1", "2020-01-07T10:00:00+01:00")])
write(s.raw_dir / "telefonie/telefonie_2020-01-08.csv", CALL_HEADER, [call("h2", "2020-01-07T10:00:00+01:00")])
print(run(s, "nightly").status)
write(s.raw_dir / "telefonie/telefonie_20200108.csv", CALL_HEADER, [call("c5", "2020-01-07T10:00:00+01:00")])
print(run(s, "backfill").status)
con = duckdb.connect(str(s.state_db))
# A run whose publishing failed, as main records it.
con.execute(
    "UPDATE runs SET status = 'niet gepubliceerd', melding = 'publishing failed: disk full' WHERE soort = 'nightly'"
)
print(con.execute("select * from meta").fetchall())
print(con.execute("select soort, status, rijen_geteld from runs").fetchall())
print(con.execute("select reden from quarantaine").fetchall())
print(con.execute("select bestand, status, reden from leveringen").fetchall())
print(con.execute("select soort, bestand, reden from meldingen").fetchall())
con.close()
