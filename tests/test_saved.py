"""The time a unit's program saved a workbook, read from the workbook (core.xml, meta.xml,
SummaryInformation): from files written by xlsxwriter, LibreOffice and byte-built OLE files."""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import struct
import zipfile

import pytest
import xlsxwriter

from ledgerbook.inbox.saved import workbook_saved

OFFICE = dt.timezone(dt.timedelta(hours=8))
UTC = dt.timezone.utc
SAVED = dt.datetime(2019, 9, 12, 2, 30, tzinfo=UTC)      # 10:30 in the office


def xlsx(modified: dt.datetime | None = SAVED) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    # xlsxwriter writes the naive time it is given followed by "Z".
    wb.set_properties({"created": modified.astimezone(UTC).replace(tzinfo=None)} if modified else {})
    wb.add_worksheet("整顿台账").write("A1", "填报单位")
    wb.close()
    return buf.getvalue()


def with_core(data: bytes, core: bytes | None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename == "docProps/core.xml":
                if core is not None:
                    dst.writestr(info.filename, core)
                continue
            dst.writestr(info, src.read(info))
    return out.getvalue()


def core(modified: str) -> bytes:
    return ('<?xml version="1.0"?><cp:coreProperties xmlns:cp="x" xmlns:dcterms="http://purl.org/dc/terms/">'
            f'<dcterms:created>2019-01-01T00:00:00Z</dcterms:created><dcterms:modified>{modified}</dcterms:modified>'
            '</cp:coreProperties>').encode()


def test_ooxml_core_modified():
    assert workbook_saved(xlsx(), "xlsx", OFFICE) == SAVED
    assert workbook_saved(with_core(xlsx(), core("2019-09-12T10:30:00+08:00")), "xlsm", OFFICE) == SAVED
    assert workbook_saved(with_core(xlsx(), core("2019-09-12T02:30:00.25Z")), "xlsx", OFFICE) == \
        SAVED + dt.timedelta(milliseconds=250)


@pytest.mark.parametrize("modified", [None, "", "garbage", "1601-01-01T00:00:00Z", "2019-13-45T99:00:00Z"])
def test_ooxml_without_a_usable_time(modified):
    data = with_core(xlsx(), None if modified is None else core(modified))
    assert workbook_saved(data, "xlsx", OFFICE) is None


def test_not_a_zip_or_unknown_format():
    assert workbook_saved(b"garbage", "xlsx", OFFICE) is None
    assert workbook_saved(xlsx(), "csv", OFFICE) is None
    assert workbook_saved(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "xls", OFFICE) is None


def test_ods_meta_date_without_zone_is_office_time():
    meta = b'<office:document-meta><office:meta><dc:date>2019-09-12T10:30:00.123456789</dc:date></office:meta></office:document-meta>'
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("meta.xml", meta)
    assert workbook_saved(out.getvalue(), "ods", OFFICE) == dt.datetime(2019, 9, 12, 10, 30, 0, 123456, tzinfo=OFFICE)


def summary_information(when: dt.datetime | None) -> bytes:
    """A SummaryInformation property set ([MS-OLEPS]) holding PIDSI_LASTSAVE_DTM (and a title)."""
    fmtid = bytes.fromhex("e0859ff2f94f6810ab9108002b27b3d9")
    title = b"\x1e\x00\x00\x00" + struct.pack("<I", 4) + b"abc\x00"
    props = [(2, title)]
    if when is not None:
        ticks = (when - dt.datetime(1601, 1, 1, tzinfo=UTC)) // dt.timedelta(microseconds=1) * 10
        props.append((13, struct.pack("<IQ", 0x40, ticks)))
    offset = 8 + 8 * len(props)
    index, values = b"", b""
    for pid, value in props:
        index += struct.pack("<II", pid, offset + len(values))
        values += value
    section = struct.pack("<II", 8 + len(index) + len(values), len(props)) + index + values
    head = struct.pack("<HHI16sI", 0xFFFE, 0, 0x00020006, bytes(16), 1) + fmtid + struct.pack("<I", 48)
    return head + section


def test_ole_summary_information_last_saved():
    from cfb_builder import build_cfb

    book = build_cfb({"Workbook": bytes(5000), "\x05SummaryInformation": summary_information(SAVED)})
    assert workbook_saved(book, "xls", OFFICE) == SAVED
    assert workbook_saved(book, "et", OFFICE) == SAVED
    assert workbook_saved(build_cfb({"Workbook": bytes(5000),
                                     "\x05SummaryInformation": summary_information(None)}), "xls", OFFICE) is None
    assert workbook_saved(build_cfb({"Workbook": bytes(5000)}), "xls", OFFICE) is None


@pytest.mark.soffice
def test_files_saved_by_libreoffice(tmp_path):
    """LibreOffice keeps the saved time it read and writes it in each format's own way: FILETIME
    in UTC (.xls), the saving machine's clock without a zone (.ods; made China's here, as on
    the units' PCs), W3CDTF (.xlsx). LibreOffice 7.4 reads an .xlsx "Z" time as local time,
    so its copies may be a zone (8 h) off; never more."""
    from soffice_helpers import SOFFICE

    src = tmp_path / "台账.xlsx"
    src.write_bytes(xlsx())
    out = tmp_path / "out"
    env = {**os.environ, "TZ": "Asia/Shanghai"}
    import subprocess

    for fmt in ("xls", "ods", "xlsx"):
        subprocess.run([SOFFICE, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless",
                        "--norestore", "--convert-to", fmt, "--outdir", str(out / fmt), str(src)],
                       check=True, capture_output=True, timeout=240, env=env)
    for fmt in ("xls", "ods", "xlsx"):
        data = (out / fmt / f"台账.{fmt}").read_bytes()
        saved = workbook_saved(data, fmt, OFFICE)
        assert saved is not None and abs(saved - SAVED) <= dt.timedelta(hours=8), (fmt, saved)
    shutil.rmtree(out)
