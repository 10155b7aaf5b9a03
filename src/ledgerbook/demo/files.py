"""Files the demo and the tests make: Word and PDF reports with fixed bytes, received times on
the office's clock, and LibreOffice conversions (.xls, .ods, …) in one start."""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..text import OFFICE_TZ

__all__ = ["convert_with_soffice", "docx_bytes", "soffice_path", "touch", "write_docx", "write_pdf"]


def touch(path: Path, when: dt.datetime) -> None:
    """Set a file's modification time: `when` is naive, on the office's clock."""
    ts = when.replace(tzinfo=OFFICE_TZ).timestamp()
    os.utime(path, (ts, ts))


def soffice_path() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_with_soffice(files: list[Path], fmt: str, outdir: Path) -> list[Path]:
    """Convert many files in one LibreOffice start (it takes seconds to start).

    Args:
        files: input files.
        fmt: target, e.g. "xls", "ods", "xlsx", "pdf", or a full filter like 'xlsx:"Calc MS Excel 2007 XML"'.
        outdir: where the converted files go (same stem, new extension); created when missing.

    Returns:
        The converted files, in the order of `files`.

    Raises:
        RuntimeError: LibreOffice is not installed, or did not write every file.
    """
    soffice = soffice_path()
    if not soffice:
        raise RuntimeError("soffice is not installed")
    outdir.mkdir(parents=True, exist_ok=True)
    outdir = outdir.resolve()
    # A profile of its own: a LibreOffice the user has open would otherwise take the job.
    with tempfile.TemporaryDirectory(prefix="ledgerbook-lo-") as profile:
        subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
                        "--convert-to", fmt, "--outdir", str(outdir), *map(str, files)],
                       check=True, capture_output=True, timeout=300)
    ext = fmt.split(":")[0]
    out = [outdir / f"{Path(f).stem}.{ext}" for f in files]
    missing = [p for p in out if not p.exists()]
    if missing:
        raise RuntimeError(f"LibreOffice did not write {missing}")
    return out


def docx_bytes(buf, title: str, body: str) -> None:
    import docx

    d = docx.Document()
    stamp = dt.datetime(2019, 10, 20, 9, 0)  # fixed, so the same report is the same bytes
    d.core_properties.created = d.core_properties.modified = d.core_properties.last_printed = stamp
    d.add_heading(title, level=1)
    d.add_paragraph(body)
    raw = io.BytesIO()
    d.save(raw)
    buf.write(_stable_zip(raw.getvalue()))


def _stable_zip(data: bytes) -> bytes:
    """The same zip with fixed member times (python-docx stamps them with the current time)."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=(2019, 10, 20, 9, 0, 0)), src.read(info))
    return out.getvalue()


def write_docx(path: Path, title: str, when: dt.datetime, body: str = "按照学校党委组织部的通知要求，现将专项整治自评情况报告如下。") -> None:
    with open(path, "wb") as fh:
        docx_bytes(fh, title, body)
    touch(path, when)


def write_pdf(path: Path, when: dt.datetime) -> None:
    """A one-page PDF (the unit is named in the file name; the text is ASCII)."""
    content = b"BT /F1 18 Tf 72 720 Td (Self-evaluation report) Tj ET"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for n, obj in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + obj + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref))
    path.write_bytes(out.getvalue())
    touch(path, when)
