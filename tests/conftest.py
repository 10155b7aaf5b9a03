"""Shared test fixtures: LibreOffice conversion (batched, once per call) and small helpers."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
REQUIRE_SOFFICE = os.environ.get("LEDGERBOOK_REQUIRE_SOFFICE") == "1"


def pytest_collection_modifyitems(config, items):
    """Tests marked `soffice` are skipped where LibreOffice is absent, unless CI requires it."""
    # In CI (LEDGERBOOK_REQUIRE_SOFFICE=1) nothing is skipped: a missing soffice fails the tests.
    if SOFFICE or REQUIRE_SOFFICE:
        return
    for item in items:
        if "soffice" in item.keywords:
            item.add_marker(pytest.mark.skip(reason="LibreOffice (soffice) 未安装"))


def soffice_convert(files: list[Path], fmt: str, outdir: Path) -> list[Path]:
    """Convert many files in one LibreOffice start (it takes seconds to start).

    Args:
        files: input files.
        fmt: target, e.g. "xls", "ods", "xlsx", "pdf", or a full filter like 'xlsx:"Calc MS Excel 2007 XML"'.
        outdir: where the converted files go (same stem, new extension).
    """
    if not SOFFICE:
        raise RuntimeError("soffice is not installed (LEDGERBOOK_REQUIRE_SOFFICE=1 requires it)")
    outdir.mkdir(parents=True, exist_ok=True)
    outdir = outdir.resolve()
    profile = outdir / ".lo-profile"
    cmd = [SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
           "--convert-to", fmt, "--outdir", str(outdir), *map(str, files)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=240)
    ext = fmt.split(":")[0]
    out = [outdir / f"{Path(f).stem}.{ext}" for f in files]
    missing = [p for p in out if not p.exists()]
    if missing:
        raise RuntimeError(f"LibreOffice did not write {missing}")
    return out


@pytest.fixture(scope="session")
def campaign():
    from ledgerbook.campaign import default_campaign

    return default_campaign()


@pytest.fixture(scope="session")
def form():
    from ledgerbook.form import load_form

    return load_form()
