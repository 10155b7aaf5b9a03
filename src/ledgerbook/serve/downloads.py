"""What the 下载 page hands out: the forms to send out, and zips of several outputs.

The forms live in ``DIR/下发模板/``. A form already there is handed out as it is (it may be
the very copy that was sent); only missing ones are written, and never over an existing file.
"""

from __future__ import annotations

import io
import secrets
import shutil
import zipfile
from pathlib import Path

from .workdir import WorkDir, place_new


def master_template_name(campaign) -> str:
    """The master form's file name, as ``ledgerbook template`` names it."""
    return f"附件2_{campaign.form.title}.xlsx"


def master_template(campaign, work: WorkDir) -> Path:
    """The master form in DIR/下发模板/, written there when missing.

    Raises:
        OutputError: it cannot be written.
    """
    from ..template import write_template

    target = work.templates / master_template_name(campaign)
    if not target.is_file():
        _stage(work, lambda folder: [write_template(campaign, folder / target.name)])
    return target


def unit_templates(campaign, work: WorkDir) -> list[Path]:
    """Each roster unit's locked copy in DIR/下发模板/, the missing ones written there.

    Raises:
        OutputError: they cannot be written.
    """
    from ..template import unit_template_name, write_unit_templates

    names = [unit_template_name(campaign, unit) for unit in campaign.units]
    if len({n.lower() for n in names}) == len(names) and all((work.templates / n).is_file() for n in names):
        return [work.templates / n for n in names]
    written = _stage(work, lambda folder: write_unit_templates(campaign, folder))
    return [work.templates / p.name for p in written]


def _stage(work: WorkDir, write) -> list[Path]:
    """Write into a scratch folder, then place each file in DIR/下发模板/ unless one is there."""
    folder = work.scratch / f"forms-{secrets.token_hex(6)}"
    folder.mkdir(parents=True)
    try:
        written = write(folder)
        work.templates.mkdir(parents=True, exist_ok=True)
        for path in written:
            place_new(path, work.templates / path.name)
        return written
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def zip_files(paths: list[Path]) -> bytes:
    """A zip of the files (flat, by their names; UTF-8 names, as Windows 10 and later read them)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in paths:
            zf.write(path, arcname=path.name)
    return buffer.getvalue()
