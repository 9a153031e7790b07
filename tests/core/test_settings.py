"""The one settings object: every setting is documented where an operator looks for it."""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.core.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_lists_every_setting_and_no_other() -> None:
    documented = set(re.findall(r"^\| `PIPELINE_([A-Z_]+)` \|", README.read_text(encoding="utf-8"), re.M))
    declared = {name.upper() for name in Settings.model_fields}
    assert documented == declared, (
        f"missing from README: {sorted(declared - documented)}; not settings: {sorted(documented - declared)}"
    )
