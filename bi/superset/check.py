"""`make bi-check`: a real BI tool, Apache Superset, reads a freshly built sample warehouse (issue 14).

What a BI team does, scripted end to end, on this machine only (Superset listens on 127.0.0.1):

1. builds the sample: `pipeline generate` with the targets of `make run`, then `pipeline backfill`;
2. makes a throwaway Superset: metadata database, admin and secret key in the check's folder;
3. starts it, and through its REST API connects the warehouse read-only (`connect_args`), lists the
   schemas and their tables and views, and adds every one as a dataset;
4. runs the yearly query in SQL Lab, and aggregates the day view per year in a chart data request
   (counts summed, reachability as answered calls over calls);
5. checks that no table, view or dataset name is listed twice, that the years are 2017-2020, and that
   both results give the published figures (reference/kerncijfers_utrecht_2017_2020.csv).

Run by the project's Python; Superset runs from its own environment (`--superset`, made by
`make bi-check` from bi/superset/requirements.txt). Exits 0 when every check passes, 1 otherwise;
prints each step with its time.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "reference" / "kerncijfers_utrecht_2017_2020.csv"
TARGETS = (REFERENCE, ROOT / "reference" / "zaken_illustratief.csv")  # as `make run`
SYSTEM_SCHEMAS = {"information_schema", "pg_catalog"}  # DuckDB's own, listed by every client
SYSTEM_CATALOGS = {"system", "temp"}
YEARLY = "SELECT * FROM kerncijfers ORDER BY jaar"
# Percentages of the reference table and the counts they are a ratio of (docs/bi.md).
RATIOS = {"bereikbaarheid_pct": ("telefoontjes_beantwoord", "telefoontjes_gemeente")}
ADMIN = "admin"


class CheckFailed(Exception):
    pass


def step(name: str, started: list[float]) -> None:
    now = time.monotonic()
    print(f"bi-check: {name} ({now - started[0]:.0f} s so far)", flush=True)


def run(command: list[str], env: dict[str, str] | None = None, timeout: float = 1800) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise CheckFailed(f"{' '.join(command[:4])} ... failed ({done.returncode}):\n{done.stderr[-4000:]}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Api:
    """Superset's REST API with a bearer token, on loopback."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.token: str | None = None

    def call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200, 201)) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as problem:
            status, text = problem.code, problem.read().decode(errors="replace")
        if status not in ok:
            raise CheckFailed(f"{method} {path}: HTTP {status}: {text[:2000]}")
        return json.loads(text) if text else None

    def get(self, path: str, **query: Any) -> Any:
        rison = ",".join(f"{k}:{v}" for k, v in query.items())
        return self.call("GET", path + (f"?q=({urllib.parse.quote(rison)})" if query else ""))


def sample(home: Path) -> Path:
    """The sample deliveries of `make run`, backfilled into a new warehouse."""
    raw, warehouse = home / "raw", home / "warehouse" / "publieksdienstverlening.duckdb"
    pipeline = [sys.executable, "-m", "pipeline.cli"]
    targets = [arg for path in TARGETS for arg in ("--targets", str(path))]
    env = {**os.environ, "PIPELINE_WAREHOUSE": str(warehouse), "PIPELINE_RAW_DIR": str(raw)}
    run([*pipeline, "generate", *targets, "--out", str(raw)], env)
    run([*pipeline, "backfill", "--raw", str(raw), "--warehouse", str(warehouse)], env)
    return warehouse


def superset_env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SUPERSET_CONFIG_PATH": str(Path(__file__).with_name("superset_config.py")),
        "BI_CHECK_HOME": str(home),
        "SUPERSET_SECRET_KEY": (home / "secret").read_text().strip(),
        "FLASK_APP": "superset",
        "SUPERSET_LOAD_EXAMPLES": "no",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }


def prepare(superset: str, home: Path) -> str:
    """A new metadata database with an admin; returns the admin's password."""
    secret = home / "secret"
    secret.write_text(secrets.token_hex(32))
    secret.chmod(0o600)
    password = secrets.token_urlsafe(24)
    env = superset_env(home)
    run([superset, "db", "upgrade"], env)
    admin = ["--username", ADMIN, "--firstname", "bi", "--lastname", "check", "--email", "bi-check@example.invalid"]
    run([superset, "fab", "create-admin", *admin, "--password", password], env)
    run([superset, "init"], env)
    return password


def start(superset: str, home: Path, port: int) -> subprocess.Popen[bytes]:
    log = (home / "superset.log").open("wb")
    server = subprocess.Popen(
        [superset, "run", "--host", "127.0.0.1", "--port", str(port), "--with-threads"],
        env=superset_env(home),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise CheckFailed(f"Superset stopped at start ({server.returncode}); see {home / 'superset.log'}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
                if response.status == 200:
                    return server
        except OSError:
            pass
        time.sleep(1)
    raise CheckFailed(f"Superset did not answer on 127.0.0.1:{port} within 300 s; see {home / 'superset.log'}")


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=15)


def reference() -> dict[int, dict[str, int]]:
    with REFERENCE.open(newline="") as handle:
        return {int(row.pop("jaar")): {k: int(v) for k, v in row.items()} for row in csv.DictReader(handle)}


def compare(where: str, rows: list[dict[str, Any]], expected: dict[int, dict[str, int]], columns: list[str]) -> None:
    found = {int(row["jaar"]): row for row in rows}
    if sorted(found) != sorted(expected):
        raise CheckFailed(f"{where}: years {sorted(found)}, expected {sorted(expected)}")
    wrong = [
        f"{year} {column}: {found[year][column]} (published: {figures[column]})"
        for year, figures in expected.items()
        for column in columns
        if found[year][column] is None or round(float(found[year][column])) != figures[column]
    ]
    if wrong:
        raise CheckFailed(f"{where}: figures differ from the published table: {'; '.join(wrong)}")


def check(api: Api, warehouse: Path, started: list[float]) -> None:
    database = api.call(
        "POST",
        "/api/v1/database/",
        {
            "database_name": "kerncijfers publieksdienstverlening",
            "sqlalchemy_uri": f"duckdb:///{warehouse.resolve()}",
            "expose_in_sqllab": True,
            "extra": json.dumps({"engine_params": {"connect_args": {"read_only": True}}}),
        },
    )["id"]
    # duckdb-engine lists schemas as catalog.schema: the file's own, and DuckDB's `system` and `temp`.
    found = api.get(f"/api/v1/database/{database}/schemas/")["result"]
    schemas = [s for s in found if s.split(".")[-1] not in SYSTEM_SCHEMAS and s.split(".")[0] not in SYSTEM_CATALOGS]
    listed: list[tuple[str, str]] = []  # (schema as a dataset names it, table or view)
    for schema in schemas:
        for table in api.get(f"/api/v1/database/{database}/tables/", schema_name=schema, force="!t")["result"]:
            listed.append((schema.split(".")[-1], table["value"]))
    step(f"Superset lists {len(listed)} tables and views in {', '.join(schemas)} (of {', '.join(found)})", started)
    twice = sorted(name for name, n in Counter(name for _, name in listed).items() if n > 1)
    if twice:
        where = [f"{name} (in {' and '.join(s for s, n in listed if n == name)})" for name in twice]
        raise CheckFailed(f"names listed more than once: {'; '.join(where)}")

    for schema, table in listed:
        api.call("POST", "/api/v1/dataset/", {"database": database, "schema": schema, "table_name": table})
    datasets = api.get("/api/v1/dataset/", page_size=100)["result"]
    names = Counter(d["table_name"] for d in datasets)
    if sorted(names) != sorted(name for _, name in listed) or max(names.values()) > 1:
        raise CheckFailed(f"datasets listed: {dict(names)}, expected each of {[n for _, n in listed]} once")
    step(f"{len(datasets)} datasets, each name once", started)

    expected = reference()
    columns = list(next(iter(expected.values())))
    result = api.call(
        "POST",
        "/api/v1/sqllab/execute/",
        {"database_id": database, "sql": YEARLY, "schema": "main", "runAsync": False, "tab": "bi-check"},
    )
    if result.get("status") != "success":
        raise CheckFailed(f"SQL Lab: {str(result)[:2000]}")
    compare("SQL Lab, kerncijfers", result["data"], expected, columns)
    step(f"SQL Lab: {YEARLY!r} gives the published figures of {sorted(expected)}", started)

    # The day view aggregated per year by Superset's own query builder, as a chart would: counts summed,
    # a percentage as its summed numerator over its summed denominator (an average of days is wrong).
    day = next(d["id"] for d in datasets if d["table_name"] == "kerncijfers_dag" and d["schema"] == "main")
    sums = {c: f"SUM({c})" for c in columns if not c.endswith("_pct")}
    ratios = {c: f"100.0 * SUM({n}) / SUM({d})" for c, (n, d) in RATIOS.items() if c in columns}
    metrics = [{"expressionType": "SQL", "sqlExpression": sql, "label": c} for c, sql in (sums | ratios).items()]
    query = {"columns": ["jaar"], "metrics": metrics, "orderby": [[metrics[0], True]], "row_limit": 1000}
    chart = api.call(
        "POST",
        "/api/v1/chart/data",
        {"datasource": {"id": day, "type": "table"}, "queries": [query], "result_format": "json"},
    )
    compare("chart data, kerncijfers_dag per jaar", chart["result"][0]["data"], expected, [*sums, *ratios])
    step(f"chart data: the day view per year gives the published {', '.join([*sums, *ratios])}", started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--superset", required=True, help="the superset command of its own environment")
    parser.add_argument("--home", type=Path, default=ROOT / ".make" / "bi-check", help="work folder (emptied)")
    parser.add_argument("--keep", action="store_true", help="leave the work folder (Superset's log, the sample)")
    args = parser.parse_args()
    started = [time.monotonic()]
    home: Path = args.home.resolve()
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    server = None
    try:
        warehouse = sample(home)
        step(f"sample warehouse built: {warehouse}", started)
        password = prepare(args.superset, home)
        step("Superset's metadata database and admin made", started)
        port = free_port()
        server = start(args.superset, home, port)
        step(f"Superset answers on 127.0.0.1:{port}", started)
        api = Api(f"http://127.0.0.1:{port}")
        login = {"username": ADMIN, "password": password, "provider": "db", "refresh": False}
        api.token = api.call("POST", "/api/v1/security/login", login)["access_token"]
        check(api, warehouse, started)
    except CheckFailed as problem:
        print(f"bi-check: FAILED: {problem}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            stop(server)
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    step("PASSED", started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
