"""Hostile and broken workbooks through collect(): each sits in an inbox next to one valid
ledger, which must still be taken (采用) and summarised.

Every test also checks what must hold for any inbox: each file is listed exactly once in
文件清单 with a Chinese note, and the inbox (made read-only for the run) has the same bytes,
modes and mtimes afterwards. Sheets too big to build in memory are streamed into the zip;
they are read in a child process, which measures memory exactly and survives a reader that
aborts the interpreter.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import random
import re
import shutil
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from peer_files import peer_file

from ledgerbook.inbox import scan as inbox_scan
from ledgerbook.collect import collect
from ledgerbook.text import OFFICE_TZ
from ledgerbook.reader import MAX_COLS, MAX_ROWS, read_ledger
from ledgerbook.demo.samples import clean_ledger

VALID = "valid.xlsx"
RECEIVED = dt.datetime(2019, 9, 12, 9, 0, tzinfo=OFFICE_TZ).timestamp()
HAN = re.compile(r"[\u4e00-\u9fff]")
NOT_TAKEN_READ = {"无法读取", "无法识别"}


# --------------------------------------------------------------------------- helpers

@pytest.fixture
def inbox(tmp_path, campaign, hb):
    """An inbox holding one valid ledger of the first roster unit."""
    root = tmp_path / "inbox"
    root.mkdir()
    put(root, VALID, hb.ledger_bytes(campaign, 0, tmp=tmp_path))
    return root


def put(root: Path, name: str, data: bytes) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (RECEIVED, RECEIVED))
    return path


def run(root: Path, campaign, hb, **kwargs):
    """collect() over a read-only inbox; the inbox must be byte-for-byte and mtime-for-mtime
    what it was, and every file in it must be listed exactly once."""
    before = hb.snapshot(root)
    with hb.read_only_tree(root):
        col = collect(root, campaign, workers=1, **kwargs)
    assert hb.snapshot(root) == before, "the inbox was changed"
    rows = hb.file_rows(col)
    missing = hb.inbox_entries(root) - set(rows)
    assert not missing, f"not in 文件清单: {missing}"
    for path, row in rows.items():
        assert row["处理结果"] in hb.OUTCOMES, (path, row["处理结果"])
        assert HAN.search(row["说明"] or ""), f"{path}: no Chinese note ({row['说明']!r})"
    return col


def assert_valid_taken(col, campaign, file: str = VALID, unit_index: int = 0, n_rows: int = 3):
    unit = campaign.units[unit_index].name
    rows = {r["文件"]: r for r in col.files.to_dict("records")}
    assert rows[file]["处理结果"] == "采用", rows[file]
    assert rows[file]["单位"] == unit
    sub = col.submissions.set_index("单位").loc[unit]
    assert sub["文件"] == file and sub["问题条数"] == n_rows
    assert (col.rows["来源文件"] == file).sum() == n_rows


def outcome(col, path: str) -> tuple[str, str]:
    row = col.files.set_index("文件").loc[path]
    return row["处理结果"], row["说明"]


# --------------------------------------------------------------------------- XML bombs, XXE

def test_xml_bombs_and_external_entities_are_refused(inbox, tmp_path, campaign, hb):
    secret = tmp_path / "secret.txt"
    token = "TOP-SECRET-7f3a9c"
    secret.write_text(f"{token}\n")
    base = hb.ledger_bytes(campaign, 1, tmp=tmp_path)
    members = hb.zip_members(base)
    padded_wb = members["xl/workbook.xml"]
    decl = padded_wb.index(b"?>") + 2
    # The DOCTYPE after 5 KB of comment: past any "look at the first 4 KB" check.
    padded_wb = padded_wb[:decl] + b"<!--" + b"x" * 5000 + b"-->" + hb.BILLION_LAUGHS + padded_wb[decl:]
    padded_wb = re.sub(rb'(<sheet\b[^>]*?name=")[^"]*(")', rb"\1&lol9;\2", padded_wb, count=1)
    bombs = {
        "laughs_workbook.xlsx": hb.billion_laughs_workbook(base),
        "laughs_sheet.xlsx": hb.billion_laughs_sheet(base),
        "laughs_padded.xlsx": hb.rezip(base, replace={"xl/workbook.xml": padded_wb}),
        "xxe_passwd.xlsx": hb.external_entity(base),
        "xxe_secret.xlsx": hb.external_entity(base, secret.as_uri()),
        "xxe_workbook.xlsx": hb.external_entity_in_workbook(base, secret.as_uri()),
        "xxe_custom_props.xlsx": hb.rezip(base, replace={"docProps/custom.xml": hb.with_doctype(
            members["docProps/custom.xml"], b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "' + secret.as_uri().encode() + b'">]>')}),
    }
    for name, data in bombs.items():
        put(inbox, name, data)
    started = time.perf_counter()
    col = run(inbox, campaign, hb)
    assert time.perf_counter() - started < 10
    assert_valid_taken(col, campaign)
    for name in bombs:
        result, note = outcome(col, name)
        # docProps/custom.xml is only regex-scanned for the marker: the entity is never
        # expanded, so reading the ledger (or refusing it) are both safe.
        allowed = NOT_TAKEN_READ | ({"采用"} if name == "xxe_custom_props.xlsx" else set())
        assert result in allowed, (name, result, note)
    text = hb.all_text(col)
    assert token not in text
    assert hb.PASSWD_SENTINEL not in text
    assert "lollollol" not in text


# --------------------------------------------------------------------------- huge sheets

@pytest.fixture
def warm_inbox(tmp_path, campaign, hb):
    root = tmp_path / "warm"
    root.mkdir()
    put(root, VALID, hb.ledger_bytes(campaign, 0, tmp=tmp_path))
    return root


def assert_capped(result: dict, name: str, hb, seconds: float = 20, rss_mb: float = 300):
    files = {r["文件"]: r for r in result["files"]}
    assert files[VALID]["处理结果"] == "采用"
    assert files[name]["处理结果"] in hb.OUTCOMES
    assert len(result["files"]) == 2
    assert result["seconds"] < seconds, f"{result['seconds']:.1f} s"
    assert result["rss_delta_mb"] < rss_mb, f"peak RSS grew by {result['rss_delta_mb']:.0f} MB"
    return files[name]


def test_million_rows_capped_in_bounded_time_and_memory(inbox, warm_inbox, tmp_path, campaign, hb):
    base = hb.ledger_bytes(campaign, 1, tmp=tmp_path)
    # The ledger, then a junk number right of the table on every row down to row 1,048,576.
    path = hb.grown_sheet_xlsx(base, inbox / "million_rows.xlsx", hb.million_rows(67),
                               dimension=f"A1:L{hb.EXCEL_ROWS}")
    assert path.stat().st_size < 10 * hb.MB
    result = hb.collect_isolated(inbox, warm_inbox)
    row = assert_capped(result, "million_rows.xlsx", hb)
    assert row["处理结果"] == "采用"              # the ledger above the junk is still read
    notes = [f["说明"] for f in result["findings"] if f["文件"] == "million_rows.xlsx"]
    assert any(f"前{MAX_ROWS}行" in n for n in notes), notes


def test_sixteen_thousand_columns_capped(inbox, warm_inbox, tmp_path, campaign, hb):
    base = hb.ledger_bytes(campaign, 1, tmp=tmp_path)
    # 100 rows of junk from column L to XFD (16,384 columns) under the table.
    hb.grown_sheet_xlsx(base, inbox / "wide.xlsx", hb.wide_rows(67, 100), dimension="A1:XFD166")
    result = hb.collect_isolated(inbox, warm_inbox)
    row = assert_capped(result, "wide.xlsx", hb)
    assert row["处理结果"] == "采用"
    notes = [f["说明"] for f in result["findings"] if f["文件"] == "wide.xlsx"]
    assert any(f"前{MAX_COLS}列" in n for n in notes), notes


@pytest.mark.parametrize("case", ["declared_dimension", "corner_cell"])
def test_sparse_sheet_spanning_the_whole_grid(case, inbox, warm_inbox, tmp_path, campaign, hb):
    """A 16 KB file: the ledger at the top left and one cell at XFD1048576 (or only a
    <dimension> claiming it). A reader that allocates the used range densely needs 17 billion
    cells; the file must be capped or refused like any other, in bounded memory."""
    base = hb.ledger_bytes(campaign, 1, tmp=tmp_path)
    corner = [] if case == "declared_dimension" else [
        b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>']
    path = hb.grown_sheet_xlsx(base, inbox / f"{case}.xlsx", corner, dimension="A1:XFD1048576")
    assert path.stat().st_size < 64 * 1024
    result = hb.collect_isolated(inbox, warm_inbox)
    assert_capped(result, f"{case}.xlsx", hb, seconds=10)


# A 5.6 KB legacy .xls (BIFF8) whose sheet holds "x" in A1 and 1 in IV65536, the last cell a
# BIFF8 sheet has: made with xlwt 1.3.0 (ws.write(0, 0, "x"); ws.write(65535, 255, 1)), then
# zlib-compressed and base64-encoded here, since nothing in the project writes .xls.
CORNER_XLS = (
    "eNq7cF7wwcKNUg8Z0IAdAzPDv/+cDGxIYoxAzAnjCDAA5f//BzFhNAcQ/x8FQwpwcgAjko2VYTfvGXZQHILi+yEDE8MGloNAkoHhERDHMBQw"
    "+OXnpSrQETiB3ZDICHKDLZBkZJgDFOFjkAS7SghMJoNJYTC5HqxyD5h0AIv0gklboNoHjFEM5+39tCygqTiCSQksx8cAMnc7WM8tsIghgyjD"
    "CVAqrp/ACFHLyuBYlJmYMzgl5Fh4GJYwAOPNPTUvtSgx5wGDCDAClzB8/a/AwPAFllMPKIyK01eckQEo/gNVnB2L+GQmFgaGBob/CeAE3gpM"
    "kBuZIZkwOCM1tcTwDwMPuNCF4gouUAEMzrACKBmWF5yQeYBkCgM/mC0ITs4CwCL5z8qPl3yTAuzjwSIN4EIaYqIqyHaG/wyNIB1AzXxIxTyI"
    "0ALr0AaTTWBTpcFsKTApAkyEQFotQBTKcGsGq2kBy6oB7TEGg8v26khsDSC79XXgDrnWx/aaQPY694dVIuuu2y9kUAJWLSlA/SDYzKDDqMM4"
    "ayYI7LSH0YzQbH8XTEpiFAEcTAJQ9/+HeoSf4S8DF5gpCCZBKsBVFSNCRR0TF6jSAqoAhaQdkxDDNpBhwEIEAbgYRsEoGAWjYBSMglEwCkbB"
    "KBgWANTYB7V3Qf0OUHeAFdqlYIeO6/wF4n+jwyTDFgQx5ANhCbBj6sqQB6SLGCpJSj9iDKyMMLMYidQDGy8EgXCg7UUM2QxJYHdkk5x+gV1C"
    "RmT/EK1RgHpZiFT7/5HiThrbDwCTKL6f"
)


def test_legacy_xls_with_a_cell_in_its_last_corner(inbox, warm_inbox, hb):
    """.xls caps a sheet at 65,536 x 256 cells; a reader that allocates the used range
    densely spends about 1 GB on this 5.6 KB file."""
    import base64
    import zlib

    data = zlib.decompress(base64.b64decode(CORNER_XLS))
    assert len(data) < 8192 and data.startswith(b"\xd0\xcf\x11\xe0")
    put(inbox, "corner.xls", data)
    result = hb.collect_isolated(inbox, warm_inbox)
    assert_capped(result, "corner.xls", hb)


def ods_ledger(spec, form, hb, extra_rows: str) -> bytes:
    rows = "".join("<table:table-row>" + "".join(hb.ods_cell(v) for v in row) + "</table:table-row>"
                   for row in hb.ledger_table(spec, form))
    return hb.ods_document(rows + extra_rows)


@pytest.mark.parametrize("case", ["rows_repeated", "columns_repeated"])
def test_ods_repeat_bomb(case, inbox, warm_inbox, campaign, hb):
    """Under 2 KB of .ods whose repeat attributes declare a million rows (or 16,384 columns on
    a thousand rows) of a non-empty cell."""
    bomb = {
        "rows_repeated": '<table:table-row table:number-rows-repeated="1048000">'
                         '<table:table-cell office:value-type="float" office:value="1"/></table:table-row>',
        "columns_repeated": '<table:table-row table:number-rows-repeated="1000">'
                            '<table:table-cell table:number-columns-repeated="16384" '
                            'office:value-type="float" office:value="1"/></table:table-row>',
    }[case]
    spec = clean_ledger(campaign, campaign.units[1], seed=1)
    data = ods_ledger(spec, campaign.form, hb, bomb)
    assert len(data) < 4096
    put(inbox, f"{case}.ods", data)
    result = hb.collect_isolated(inbox, warm_inbox)
    assert_capped(result, f"{case}.ods", hb)


# --------------------------------------------------------------------------- broken files

def test_broken_packages_and_junk(inbox, tmp_path, campaign, hb):
    base = hb.ledger_bytes(campaign, 1, tmp=tmp_path)
    members = hb.zip_members(base)
    sheet = members["xl/worksheets/sheet1.xml"]
    damaged = bytearray(base)
    with zipfile.ZipFile(io.BytesIO(base)) as zf:          # zero 64 bytes of the sheet's deflate data
        info = zf.getinfo("xl/worksheets/sheet1.xml")
        at = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 16
    damaged[at:at + 64] = bytes(64)
    noise = random.Random(8).randbytes
    files = {
        "truncated.xlsx": base[: len(base) // 2],
        "truncated_tail.xlsx": base[:-30],                # only the end of the directory lost
        "damaged.xlsx": bytes(damaged),
        "invalid_sheet_xml.xlsx": hb.rezip(base, replace={"xl/worksheets/sheet1.xml": sheet[: len(sheet) // 2] + b"<<&&"}),
        "invalid_workbook_xml.xlsx": hb.rezip(base, replace={"xl/workbook.xml": b"<workbook><sheets><sheet name='x"}),
        "invalid_strings_xml.xlsx": hb.rezip(base, replace={"xl/sharedStrings.xml": b"<sst><si><t>unclosed"}),
        "no_sheet_part.xlsx": hb.rezip(base, drop=("xl/worksheets/sheet1.xml",)),
        "random.xlsx": noise(20_000),
        "random_zip_magic.xlsx": b"PK\x03\x04" + noise(5000),
        "random_ole_magic.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + noise(5000),
        "empty.xlsx": b"",
        "empty.xls": b"",
    }
    for name, data in files.items():
        put(inbox, name, data)
    col = run(inbox, campaign, hb)
    assert_valid_taken(col, campaign)
    for name in files:
        result, note = outcome(col, name)
        assert result in NOT_TAKEN_READ, (name, result, note)
    assert "空文件" in outcome(col, "empty.xlsx")[1]
    assert campaign.units[1].name not in set(col.files["单位"])


def test_xlsx_without_its_workbook_part_is_a_damaged_workbook(inbox, tmp_path, campaign, hb):
    """An .xlsx package that lost xl/workbook.xml is a broken workbook to report, not an
    archive whose twelve XML parts are listed as ignored text files."""
    unit = campaign.units[1].name
    name = f"整顿台账_{unit}.xlsx"
    put(inbox, name, hb.rezip(hb.ledger_bytes(campaign, 1, tmp=tmp_path), drop=("xl/workbook.xml",)))
    col = run(inbox, campaign, hb)
    assert_valid_taken(col, campaign)
    result, note = outcome(col, name)
    assert result == "无法读取", (result, note)
    assert col.submissions.set_index("单位").loc[unit, "状态"] == "需退回修改"


def test_html_and_csv_named_xls_are_read(inbox, campaign, hb):
    form = campaign.form
    specs = {i: clean_ledger(campaign, campaign.units[i], seed=i) for i in (1, 2, 3)}
    put(inbox, "网页导出.xls", hb.html_export(hb.ledger_table(specs[1], form)))
    put(inbox, "导出_gbk.xls", hb.csv_export(hb.ledger_table(specs[2], form), "gbk"))
    put(inbox, "导出_utf8.csv", hb.csv_export(hb.ledger_table(specs[3], form), "utf-8-sig"))
    col = run(inbox, campaign, hb)
    assert_valid_taken(col, campaign)
    assert_valid_taken(col, campaign, "网页导出.xls", 1)
    assert_valid_taken(col, campaign, "导出_gbk.xls", 2)
    assert_valid_taken(col, campaign, "导出_utf8.csv", 3)
    formats = dict(zip(col.files["文件"], col.files["格式"]))
    assert formats["网页导出.xls"] == "html" and formats["导出_gbk.xls"] == "csv"
    assert "html" in outcome(col, "网页导出.xls")[1] and "csv" in outcome(col, "导出_gbk.xls")[1]
    # The values came through: the targets of the HTML ledger are in 汇总台账.
    html_rows = col.rows[col.rows["来源文件"] == "网页导出.xls"]
    assert list(html_rows["整顿对象"]) == [r.target for r in specs[1].rows]


def test_macro_workbook_read_never_run_and_noted(inbox, tmp_path, campaign, hb):
    put(inbox, "宏.xlsm", hb.macro_workbook(hb.ledger_bytes(campaign, 1, tmp=tmp_path)))
    # The same macros behind an .xlsx name.
    put(inbox, "宏改名.xlsx", hb.macro_workbook(hb.ledger_bytes(campaign, 2, tmp=tmp_path)))
    col = run(inbox, campaign, hb)
    assert_valid_taken(col, campaign)
    for name, unit in (("宏.xlsm", 1), ("宏改名.xlsx", 2)):
        assert_valid_taken(col, campaign, name, unit)
        assert "含宏（未运行）" in outcome(col, name)[1], name
    assert "含宏" not in outcome(col, VALID)[1]


def test_password_protected_workbooks(inbox, campaign, hb):
    shutil.copyfile(peer_file("excelize__encryptAES.xlsx"), inbox / "加密.xlsx")
    shutil.copyfile(peer_file("calamine__issue_385.xls"), inbox / "加密.xls")
    # Named after a unit: the unreadable file is that unit's submission, sent back.
    unit = campaign.units[2].name
    shutil.copyfile(peer_file("excelize__encryptSHA1.xlsx"), inbox / f"整顿台账_{unit}.xlsx")
    col = run(inbox, campaign, hb)
    assert_valid_taken(col, campaign)
    for name in ("加密.xlsx", "加密.xls", f"整顿台账_{unit}.xlsx"):
        result, note = outcome(col, name)
        assert result == "无法读取" and "密码" in note, (name, result, note)
    status = col.submissions.set_index("单位").loc[unit, "状态"]
    assert status == "需退回修改"
    unit_findings = col.findings[col.findings["单位"] == unit]
    assert any("密码" in m for m in unit_findings[unit_findings["代码"] == "file.unreadable"]["说明"])


def test_file_the_process_cannot_read(inbox, tmp_path, campaign, hb):
    path = put(inbox, "locked.xlsx", hb.ledger_bytes(campaign, 1, tmp=tmp_path))
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root: chmod does not stop reading")
        col = run(inbox, campaign, hb)
    finally:
        path.chmod(0o644)
    assert_valid_taken(col, campaign)
    result, note = outcome(col, "locked.xlsx")
    assert result == "无法读取" and "没有读取权限" in note


def test_file_that_cannot_be_opened_even_as_root(inbox, tmp_path, campaign, hb, monkeypatch):
    put(inbox, "locked.xlsx", hb.ledger_bytes(campaign, 1, tmp=tmp_path))
    real_open = inbox_scan._open_readonly

    def deny(fs_path):
        if fs_path.endswith("locked.xlsx"):
            raise PermissionError(13, "Permission denied", fs_path)
        return real_open(fs_path)

    monkeypatch.setattr(inbox_scan, "_open_readonly", deny)
    col = run(inbox, campaign, hb)
    assert_valid_taken(col, campaign)
    result, note = outcome(col, "locked.xlsx")
    assert result == "无法读取" and "没有读取权限" in note


def test_symlinks_out_of_the_inbox_are_not_followed(inbox, tmp_path, campaign, hb):
    outside = tmp_path / "outside"
    outside.mkdir()
    put(outside, "secret.xlsx", hb.ledger_bytes(campaign, 1, tmp=tmp_path))
    put(outside, "sub/other.xlsx", hb.ledger_bytes(campaign, 2, tmp=tmp_path))
    (inbox / "link.xlsx").symlink_to(outside / "secret.xlsx")
    (inbox / "linkdir").symlink_to(outside / "sub", target_is_directory=True)
    (inbox / "etc_passwd.xlsx").symlink_to("/etc/passwd")
    (inbox / "dangling.xlsx").symlink_to(tmp_path / "nowhere.xlsx")
    col = run(inbox, campaign, hb)
    assert_valid_taken(col, campaign)
    assert set(col.files["文件"]) == {VALID, "link.xlsx", "linkdir", "etc_passwd.xlsx", "dangling.xlsx"}
    for name in ("link.xlsx", "linkdir", "etc_passwd.xlsx", "dangling.xlsx"):
        assert outcome(col, name) == ("已忽略", "符号链接，未跟随")
    status = col.submissions.set_index("单位")["状态"]
    assert status[campaign.units[1].name] == status[campaign.units[2].name] == "未提交"
    assert hb.PASSWD_SENTINEL not in hb.all_text(col)


ODD_NAMES = [
    "📊 台账 🎉.xlsx",
    "  leading and  double  spaces .xlsx",
    "-rf --no-preserve-root.xlsx",
    "=cmd|' -C calc'!A0.xlsx",
    '=HYPERLINK("http:evil.example","x").xlsx',
    "@SUM(1+1)*cmd.xlsx",
    "+1-2.xlsx",
    "$(touch pwned);`id`.xlsx",
    "name\twith\ttabs.xlsx",
    "x" * 240 + ".xlsx",
]


def test_odd_file_names(inbox, tmp_path, campaign, hb):
    for i, name in enumerate(ODD_NAMES, start=1):
        put(inbox, name, hb.ledger_bytes(campaign, i, tmp=tmp_path))
    # Not run(): names with controls or past 200 characters are shown changed (checked below).
    before = hb.snapshot(inbox)
    with hb.read_only_tree(inbox):
        col = collect(inbox, campaign, workers=1)
    assert hb.snapshot(inbox) == before
    assert col.files["文件"].is_unique and len(col.files) == len(ODD_NAMES) + 1
    assert_valid_taken(col, campaign)
    listed = set(col.files["文件"])
    for i, name in enumerate(ODD_NAMES, start=1):
        shown = name.replace("\t", "_")
        if len(name) > 200:
            [shown] = [p for p in listed if p.startswith("xxxx")]
            assert shown.endswith(".xlsx") and len(shown) <= 200
        assert shown in listed, name
        assert_valid_taken(col, campaign, shown, i)
    for path in listed:
        path.encode("utf-8")


# --------------------------------------------------------------------------- property-based

_VALID_BYTES: list[bytes] = []


def valid_bytes(campaign, hb) -> bytes:
    """A correct ledger's bytes, made once (same bytes on every run: see hb.stable)."""
    if not _VALID_BYTES:
        _VALID_BYTES.append(hb.ledger_bytes(campaign, 0))
    return _VALID_BYTES[0]


_PARTS = ["xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "xl/workbook.xml", "xl/styles.xml",
          "[Content_Types].xml", "xl/_rels/workbook.xml.rels", "docProps/custom.xml", "xl/worksheets/sheet3.xml"]

_edit = st.one_of(
    st.tuples(st.just("flip"), st.floats(0, 1, exclude_max=True), st.integers(1, 255)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), st.floats(0, 1, exclude_max=True), st.integers(1, 64)),
    st.tuples(st.just("truncate"), st.floats(0, 1, exclude_max=True), st.just(0)),
    st.tuples(st.just("markup"), st.floats(0, 1), st.sampled_from(
        [b"<", b">", b"&", b"&lol;", b"</c>", b"<row>", b'"', b"<!DOCTYPE x>", b"\x00", b"\xff\xfe", b"]]>"])),
)


def corrupt(data: bytes, edits) -> bytes:
    buf = bytearray(data)
    for kind, where, arg in edits:
        if not buf:
            break
        at = min(int(where * len(buf)), len(buf) - 1)
        if kind == "flip":
            buf[at] ^= arg
        elif kind in ("insert", "markup"):
            buf[at:at] = arg
        elif kind == "delete":
            del buf[at:at + arg]
        elif kind == "truncate":
            del buf[at:]
    return bytes(buf)


def assert_ledger_or_finding(ledger) -> None:
    codes = {(f.code, f.level) for f in ledger.findings}
    event("readable" if ledger.readable else "finding: " + ",".join(sorted(c for c, _ in codes)))
    if ledger.readable:
        return
    assert any(code in ("file.unreadable", "file.not_ledger") or code == "file.layout_broken"
               for code, level in codes), codes


PROPERTY = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(edits=st.lists(_edit, min_size=1, max_size=4))
def test_corrupted_file_bytes_never_raise(edits, form, campaign, hb):
    data = corrupt(valid_bytes(campaign, hb), edits)
    assert_ledger_or_finding(read_ledger(data, "corrupt.xlsx", "xlsx", form))
    sniffed = inbox_scan.sniff_data("corrupt.xlsx", data)
    if sniffed.kind == "ledger":
        assert_ledger_or_finding(read_ledger(data, "corrupt.xlsx", sniffed.format, form))


@PROPERTY
@given(part=st.sampled_from(_PARTS), edits=st.lists(_edit, min_size=1, max_size=4))
def test_corrupted_xml_inside_a_valid_zip_never_raises(part, edits, form, campaign, hb):
    base = valid_bytes(campaign, hb)
    data = hb.rezip(base, replace={part: corrupt(hb.zip_members(base)[part], edits)})
    assert_ledger_or_finding(read_ledger(data, "corrupt.xlsx", "xlsx", form))
