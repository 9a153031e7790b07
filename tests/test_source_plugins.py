"""A source is a plug-in: outside its own files no module, SQL file or template names it.

Everything about a source lives in `src/pipeline/sources/<name>/` and `schemas/<name>.py`, and the
registry (`src/pipeline/sources/__init__.py`) lists it. import-linter already refuses imports of a
source from anywhere else; this test also catches what an import check cannot see: a table or view
named in SQL, a template, a string or a comment in generic code.

What counts as naming a source:
- its name, as a word in any case: `zaken`, `Zaken`, and also as part of an identifier or path
  (`zaken_uitsplitsing`, `sources/zaken/`, `schemas.zaken`), since `_`, `.`, `/` and `-` separate
  words there; not inside a longer word (`Burgerzaken`, `telefonieplatform` are ordinary Dutch);
- the names it declares that carry its identity without its name: its id column, its tables in the
  state database and the published file, its views and its figures (`gesprek_id`,
  `telefonie_uitsplitsing`, `baliebezoeken_met_afspraak`, ...);
- a file or folder named after any of these.
Not counted: a name another registered source declares too (two suppliers may both call their id
`gesprek_id`: the name then identifies neither), the columns that are plain Dutch (`datum`,
`status`, `kanaal`), and the personal-data column names the privacy screen documents as examples.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from pipeline.kit.contract import Source
from pipeline.sources import ORDER, SOURCES

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("src", "flows", "schemas")
REGISTRY = Path("src/pipeline/sources/__init__.py")


def declared_names(source: Source) -> set[str]:
    """Every name `source` declares: its name, id column, tables, views and figures."""
    return {
        source.name,
        source.rows.id_column,
        source.versions_table,
        source.current_table,
        *(source.figure_table(grain) for grain in ("dag", "maand", "jaar")),
        source.breakdown_table,
        *source.view_comments,
        *(figure.name for figure in source.all_figures),
    }


def names_of(source: Source, sources: Mapping[str, Source] = SOURCES) -> set[str]:
    """The names that identify `source`: those it declares that no other registered source declares."""
    shared = {name for other in sources.values() if other.name != source.name for name in declared_names(other)}
    return declared_names(source) - shared


def own_files(source: Source) -> tuple[Path, ...]:
    return (Path("src/pipeline/sources") / source.name, Path("schemas") / f"{source.name}.py")


def _pattern(names: set[str]) -> re.Pattern[str]:
    words = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![0-9A-Za-z])({words})(?![0-9A-Za-z])", re.IGNORECASE)


def _files() -> list[Path]:
    found = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
                found.append(path.relative_to(ROOT))
    return found


def _is_under(path: Path, places: tuple[Path, ...]) -> bool:
    return any(path == place or place in path.parents for place in places)


def violations(sources: Mapping[str, Source] = SOURCES) -> list[str]:
    """`path:line: text` for every place outside a source's own files that names it."""
    found = []
    for source in sources.values():
        pattern = _pattern(names_of(source, sources))
        allowed = (*own_files(source), REGISTRY)
        for path in _files():
            if _is_under(path, allowed):
                continue
            if match := pattern.search(path.as_posix()):
                found.append(f"{path}: the file's path names source {source.name} ({match[1]})")
            text = (ROOT / path).read_text(encoding="utf-8")
            for number, line in enumerate(text.splitlines(), start=1):
                if match := pattern.search(line):
                    found.append(f"{path}:{number}: names source {source.name} ({match[1]}): {line.strip()}")
    return found


def test_outside_its_own_files_nothing_names_a_source() -> None:
    found = violations()
    assert not found, "a source is named outside its own files:\n" + "\n".join(found)


def test_the_check_sees_what_it_must_see() -> None:
    # Every kind of file that could name a source is read: modules, SQL files, templates.
    suffixes = {path.suffix for path in _files()}
    assert {".py", ".sql", ".j2"} <= suffixes, suffixes
    for source in SOURCES.values():
        # Each name of a source is found in its own files (or built there from its name), so the
        # pattern would find it elsewhere too.
        own = "\n".join(
            (ROOT / path).read_text(encoding="utf-8")
            for path in _files()
            if _is_under(path, own_files(source)) or path == REGISTRY
        )
        pattern = _pattern(declared_names(source))
        seen = {match.lower() for match in pattern.findall(own)}
        tables = {
            source.versions_table,
            source.current_table,
            *(source.figure_table(g) for g in ("dag", "maand", "jaar")),
        }
        assert declared_names(source) - tables <= seen, (source.name, declared_names(source) - tables - seen)
    # Words that only contain a source's name are ordinary Dutch, not the source.
    assert not _pattern({"zaken", "telefonie"}).search("Burgerzaken; telefonieplatform; zaaksysteem")
    hits = _pattern({"zaken", "telefonie"}).findall("FROM zaken_uitsplitsing; sources/Telefonie/; schemas.zaken")
    assert [h.lower() for h in hits] == ["zaken", "telefonie", "zaken"]


def test_a_fourth_source_may_share_its_id_column_with_another() -> None:
    """A supplier whose export names its id like another supplier's (`gesprek_id`) can be added without
    changing this test: a shared name identifies neither source, in either direction."""
    calls = SOURCES["telefonie"]
    fourth = dataclasses.replace(
        calls,
        name="videobellen",
        figures=(),
        year_figures=(),
        checks=(),
        view_comments={"videobellen_uitsplitsing": "Videogesprekken per dag."},
    )
    assert fourth.rows.id_column == calls.rows.id_column == "gesprek_id"
    registered = {**SOURCES, fourth.name: fourth}
    assert "gesprek_id" not in names_of(calls, registered) | names_of(fourth, registered)
    assert "gesprek_id" in names_of(calls)  # alone, it identifies the calls
    shared = [v for v in violations(registered) if "(gesprek_id)" in v]
    assert not shared, shared


def test_lint_covers_a_new_source_without_an_edit(tmp_path: Path) -> None:
    """import-linter names sources and their models by wildcards: a fifth source's folder and model,
    added to a copy of the project and named in no contract, are held to the same rules at once."""
    for part in ("src", "schemas", "flows"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    new = tmp_path / "src/pipeline/sources/videobellen"
    new.mkdir()
    (new / "__init__.py").write_text("from pipeline.sources.telefonie import figures\n", encoding="utf-8")
    (tmp_path / "schemas/videobellen.py").write_text("from schemas import zaken\n", encoding="utf-8")
    (tmp_path / "src/pipeline/run/video.py").write_text("import schemas.videobellen\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path / 'src'}{os.pathsep}{tmp_path}"}
    lint = [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"]
    found = subprocess.run(lint, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert found.returncode == 1, found.stdout + found.stderr
    broken = {line.removesuffix(" BROKEN") for line in found.stdout.splitlines() if line.endswith(" BROKEN")}
    assert broken == {
        "Sources are independent plug-ins",
        "Models of one source know no other source",
        "No module imports a source except the registry",
    }, found.stdout
    assert "pipeline.sources.videobellen -> pipeline.sources.telefonie" in found.stdout
    assert "schemas.videobellen -> schemas.zaken" in found.stdout
    # The copy itself is clean: what breaks is the new source's imports, nothing else.
    for added in (new / "__init__.py", tmp_path / "schemas/videobellen.py", tmp_path / "src/pipeline/run/video.py"):
        added.write_text("", encoding="utf-8")
    clean = subprocess.run(lint, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert clean.returncode == 0, clean.stdout + clean.stderr


def test_every_source_folder_and_model_is_registered() -> None:
    """A folder below pipeline/sources/ or a model in schemas/ that the registry leaves out would be
    a source that silently never runs."""
    folders = {p.name for p in (ROOT / "src/pipeline/sources").iterdir() if (p / "__init__.py").is_file()}
    models = {p.stem for p in (ROOT / "schemas").glob("*.py") if p.stem != "__init__"}
    assert folders == models == set(SOURCES) == set(ORDER)
