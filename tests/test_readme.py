"""The README's finding-codes table is generated from the catalogue: it must not drift."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ledgerbook.findings import CATALOGUE

ROOT = Path(__file__).resolve().parents[1]


def test_codes_table_is_current():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_codes_table.py"), "--check"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_spec_code_is_in_the_catalogue():
    spec_codes = {
        "file.unreadable", "file.not_ledger", "file.layout_changed", "file.superseded", "file.duplicate",
        "file.late", "file.unit_mismatch", "unit.unknown", "unit.missing", "unit.no_target",
        "unit.field_missing", "unit.secretary_mismatch", "unit.phone_invalid", "unit.qq_invalid",
        "row.required_missing", "row.category_invalid", "row.person_invalid", "row.deadline_invalid",
        "row.deadline_vague", "row.deadline_out_of_window", "row.progress_invalid", "row.measure_thin",
        "row.measure_repeated", "row.overdue", "file.unprotected", "report.missing", "report.late",
    }
    assert spec_codes <= set(CATALOGUE)


def test_readme_has_the_two_setup_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "pip install . && ledgerbook demo" in text
    assert "python -m pytest -q" in text
    assert "python -m pytest -q" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
