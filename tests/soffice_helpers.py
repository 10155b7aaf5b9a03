"""LibreOffice conversion for tests, batched: one soffice start converts many files.

A plain module (not conftest) so tests anywhere can import it by name.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
REQUIRE_SOFFICE = os.environ.get("LEDGERBOOK_REQUIRE_SOFFICE") == "1"


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
