"""Nothing lost, nothing leaks, same answer twice: one inbox holding every hostile thing at
once (workbooks, archives, e-mails, links, odd names, values) next to a few valid ledgers."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

import ledgerbook.collect as collect_module
import ledgerbook.reader.locate as reader_locate
from ledgerbook.collect import collect
from ledgerbook.text import OFFICE_TZ
from ledgerbook.demo.samples import clean_ledger, email_with_attachments

RECEIVED = dt.datetime(2019, 9, 12, 9, 0, tzinfo=OFFICE_TZ).timestamp()
GENERATED_AT = dt.datetime(2019, 9, 20, 8, 0)
HAN = re.compile(r"[\u4e00-\u9fff]")
PEERS = ["calamine__OOM_alloc3.xls", "calamine__issue_666_panic.xlsb", "excelize__BadWorkbook.xlsx",
         "calamine__issue_594_dos.ods", "calamine__vba.xlsm"]


def _zip(entries) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return out.getvalue()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, campaign, hb):
    """The inbox, the set of every path 文件清单 must list, and the units that must be taken."""
    root = tmp_path_factory.mktemp("hostile")
    inbox = root / "inbox"
    inbox.mkdir()
    units = campaign.units
    files: dict[str, bytes] = {}

    def ledger(i: int, **kwargs) -> bytes:
        return hb.ledger_bytes(campaign, i, tmp=root, **kwargs)

    taken = {"valid0.xlsx": 0, "valid1.xlsx": 1, f"整顿台账_{units[2].name}.xlsx": 2}
    for name, i in taken.items():
        files[name] = ledger(i)
    base = ledger(20)                                       # hostile variants of a 21st unit
    members = hb.zip_members(base)
    sheet = members["xl/worksheets/sheet1.xml"]
    files.update({
        "bomb/laughs_workbook.xlsx": hb.billion_laughs_workbook(base),
        "bomb/laughs_sheet.xlsx": hb.billion_laughs_sheet(base),
        "bomb/xxe.xlsx": hb.external_entity(base),
        "broken/truncated.xlsx": base[: len(base) // 2],
        "broken/invalid_xml.xlsx": hb.rezip(base, replace={"xl/worksheets/sheet1.xml": sheet[:3000] + b"<&"}),
        "broken/random.xlsx": bytes((i * 7919 + 13) % 256 for i in range(8192)),
        "broken/empty.xlsx": b"",
        "网页导出.xls": hb.html_export(hb.ledger_table(clean_ledger(campaign, units[3], seed=3), campaign.form)),
        "导出.xls": hb.csv_export(hb.ledger_table(clean_ledger(campaign, units[4], seed=4), campaign.form)),
        "宏.xlsm": hb.macro_workbook(ledger(5)),
        "=cmd|' -C calc'!A0.xlsx": ledger(6),
        "📊 台账 🎉.xlsx": ledger(7),
        "-rf  .xlsx": ledger(8),
        "~$valid0.xlsx": b"lock",
        "Thumbs.db": b"\x00" * 64,
        "自评报告.pdf": b"%PDF-1.4\n%%EOF\n",
    })
    taken.update({"网页导出.xls": 3, "导出.xls": 4, "宏.xlsm": 5, "=cmd|' -C calc'!A0.xlsx": 6,
                  "📊 台账 🎉.xlsx": 7, "-rf  .xlsx": 8})
    for name in PEERS + ["excelize__encryptAES.xlsx", "calamine__issue_385.xls"]:
        if (hb.PEER_FILES / name).is_file():
            files[f"peers/{name}"] = (hb.PEER_FILES / name).read_bytes()
    # An archive of hostile members; an e-mail with a ledger, an empty file and winmail.dat.
    inner = _zip([("inner/台账.xlsx", ledger(9))])
    files["打包.zip"] = _zip([("../../逃逸.xlsx", ledger(10)), ("/etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n"),
                            ("炸弹.xlsx", hb.external_entity(base, "file:///etc/shadow")), ("嵌套.zip", inner),
                            ("空.xlsx", b"")])
    taken.update({"打包.zip/逃逸.xlsx": 10, "打包.zip/嵌套.zip/inner/台账.xlsx": 9})
    files["bomb.zip"] = _zip([("zeros.xlsx", bytes(16 * 1024 * 1024))])          # 16 MB of zeros in ~16 KB
    files["回复.eml"] = email_with_attachments(
        "unit@example.edu.cn", "dwzzb@example.edu.cn", "=HYPERLINK(\"http://x\",\"台账\")", dt.datetime(2019, 9, 12, 10),
        "见附件", [("台账.xlsx", ledger(11)), ("winmail.dat", b"\x78\x9f\x3e\x22" + bytes(60)), ("空.xls", b"")])
    taken["回复.eml/台账.xlsx"] = 11
    members_expected = {"bomb.zip/zeros.xlsx", "打包.zip/逃逸.xlsx", "打包.zip/etc/passwd", "打包.zip/炸弹.xlsx", "打包.zip/嵌套.zip",
                        "打包.zip/嵌套.zip/inner/台账.xlsx", "打包.zip/空.xlsx",
                        "回复.eml/台账.xlsx", "回复.eml/winmail.dat", "回复.eml/空.xls"}
    for name, data in files.items():
        path = inbox / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (RECEIVED, RECEIVED))
    # A wide sheet (junk to column XFD) and one claiming the whole grid in <dimension>.
    hb.grown_sheet_xlsx(ledger(12), inbox / "wide.xlsx", hb.wide_rows(67, 10), dimension="A1:XFD76")
    hb.grown_sheet_xlsx(ledger(13), inbox / "dimension.xlsx", [], dimension="A1:XFD1048576")
    for name in ("wide.xlsx", "dimension.xlsx"):
        os.utime(inbox / name, (RECEIVED, RECEIVED))
    taken.update({"wide.xlsx": 12, "dimension.xlsx": 13})
    # Links out of the inbox.
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.xlsx").write_bytes(ledger(14))
    (inbox / "link.xlsx").symlink_to(outside / "secret.xlsx")
    (inbox / "linkdir").symlink_to(outside, target_is_directory=True)
    expected = hb.inbox_entries(inbox) | members_expected
    return {"inbox": inbox, "expected": expected, "taken": taken, "root": root}


def run(hostile, campaign, hb, **kwargs):
    before = hb.snapshot(hostile["inbox"])
    with hb.read_only_tree(hostile["inbox"]):
        col = collect(hostile["inbox"], campaign, **kwargs)
    assert hb.snapshot(hostile["inbox"]) == before, "the inbox was changed"
    return col


@pytest.fixture(scope="module")
def collected(hostile, campaign, hb):
    return run(hostile, campaign, hb, workers=1)


def test_every_file_and_member_listed_exactly_once(collected, hostile, hb):
    rows = hb.file_rows(collected)
    assert set(rows) == hostile["expected"]
    for path, row in rows.items():
        assert row["处理结果"] in hb.OUTCOMES, (path, row)
        assert HAN.search(row["说明"] or ""), (path, row["说明"])


def test_valid_ledgers_are_taken_and_summarised(collected, hostile, campaign):
    outcome = dict(zip(collected.files["文件"], collected.files["处理结果"]))
    subs = collected.submissions.set_index("单位")
    for path, i in hostile["taken"].items():
        unit = campaign.units[i].name
        assert outcome[path] == "采用", (path, outcome[path])
        assert subs.loc[unit, "文件"] == path
        assert (collected.rows["来源文件"] == path).sum() == 3, path
    for unit in (campaign.units[14].name, campaign.units[20].name):   # behind a link / only hostile copies
        assert subs.loc[unit, "状态"] == "未提交"


def test_nothing_from_outside_or_from_entities_gets_in(collected, hb):
    text = hb.all_text(collected)
    assert "lollollol" not in text
    assert "/bin/bash" not in text                   # the zip member named /etc/passwd is not a ledger
    outcome = dict(zip(collected.files["文件"], collected.files["处理结果"]))
    assert outcome["link.xlsx"] == outcome["linkdir"] == "已忽略"


def _boom_for(path: str, exc: BaseException):
    real = collect_module.read_ledger

    def read(data, file, fmt, form):
        if file == path:
            raise exc
        return real(data, file, fmt, form)

    return read


@pytest.mark.parametrize("exc", [RuntimeError("simulated"), MemoryError(), RecursionError("deep"),
                                 KeyError("x"), UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad")],
                         ids=lambda e: type(e).__name__)
def test_a_crash_reading_one_file_is_that_files_finding(exc, hostile, campaign, hb, monkeypatch):
    victim = "valid1.xlsx"
    monkeypatch.setattr(collect_module, "read_ledger", _boom_for(victim, exc))
    col = run(hostile, campaign, hb, workers=1)
    rows = hb.file_rows(col)
    assert set(rows) == hostile["expected"]
    assert rows[victim]["处理结果"] == "无法读取"
    assert type(exc).__name__ in rows[victim]["说明"]
    assert victim in set(col.findings[col.findings["代码"] == "file.unreadable"]["文件"])
    for path, i in hostile["taken"].items():
        if path != victim:
            assert rows[path]["处理结果"] == "采用", path
            assert (col.rows["来源文件"] == path).sum() == 3
    assert col.submissions.set_index("单位").loc[campaign.units[1].name, "状态"] == "未提交"


def test_a_crash_inside_the_reader_is_that_files_finding(hostile, campaign, hb, monkeypatch):
    victim = f"整顿台账_{campaign.units[2].name}.xlsx"
    real = reader_locate._find_ledger

    def find(book, ledger, form):
        if ledger.file == victim:
            raise IndexError("simulated")
        return real(book, ledger, form)

    monkeypatch.setattr(reader_locate, "_find_ledger", find)
    col = run(hostile, campaign, hb, workers=1)
    rows = hb.file_rows(col)
    assert rows[victim]["处理结果"] == "无法读取" and "IndexError" in rows[victim]["说明"]
    # Named after its unit: the unit is sent back, not forgotten.
    assert col.submissions.set_index("单位").loc[campaign.units[2].name, "状态"] == "需退回修改"
    assert rows["valid0.xlsx"]["处理结果"] == rows["valid1.xlsx"]["处理结果"] == "采用"


def sheet_values(path: Path) -> dict[str, list[tuple]]:
    wb = openpyxl.load_workbook(path)
    return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def test_two_runs_write_identical_summaries(collected, hostile, campaign, hb):
    from ledgerbook.summary import write_summary

    again = run(hostile, campaign, hb, workers=1)
    for name in ("files", "submissions", "rows", "findings", "liaisons", "by_problem"):
        a, b = getattr(collected, name), getattr(again, name)
        assert a.equals(b), name
    out = hostile["root"] / "out"
    first = write_summary(collected, out / "first.xlsx", generated_at=GENERATED_AT)
    second = write_summary(again, out / "second.xlsx", generated_at=GENERATED_AT)
    a, b = sheet_values(first), sheet_values(second)
    assert list(a) == list(b)
    for sheet in a:
        assert a[sheet] == b[sheet], sheet


def test_process_pool_gives_the_same_answer(collected, hostile, campaign, hb):
    pooled = run(hostile, campaign, hb, workers=2)
    for name in ("files", "submissions", "rows", "findings"):
        assert getattr(collected, name).equals(getattr(pooled, name)), name


def test_summary_of_the_hostile_inbox(collected, hostile, campaign):
    from ledgerbook.summary import write_summary

    path = write_summary(collected, hostile["root"] / "out" / "汇总表.xlsx", generated_at=GENERATED_AT)
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate}: {cell.value!r}"
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/"):
                assert not re.search(rb"<(?:\w+:)?f[\s>/]", zf.read(name)), name
    listed = list(wb["文件清单"].iter_rows(values_only=True))
    header = listed[0]
    names = [r[header.index("文件")] for r in listed[1:] if r[header.index("文件")] is not None]
    assert sorted(names) == sorted(hostile["expected"])
    assert "=cmd|' -C calc'!A0.xlsx" in names


@pytest.fixture
def address_space_limit():
    """Lower this process's soft address-space limit (inherited by forked reader processes)
    so that a runaway allocation fails at once instead of swapping or waking the OOM killer."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/status") as fh:
        size = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
    limit = size + 3 * 1024 ** 3
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.mark.parametrize("workers", [1, 2])
def test_a_file_that_kills_a_reader_process_is_that_files_finding(tmp_path, campaign, hb, monkeypatch, workers):
    """A file that kills the process reading it (a Rust abort inside calamine, an allocation past
    the worker's memory limit) costs only that file: collect() reads in worker processes, turns the
    lost file into its own 无法读取 row and still summarises the others (no BrokenProcessPool)."""
    import faulthandler
    import os

    import ledgerbook.collect as collect_mod

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    taken = {f"v{i}.xlsx": i for i in range(3)}
    for name, i in taken.items():
        (inbox / name).write_bytes(hb.ledger_bytes(campaign, i, tmp=tmp_path))
    (inbox / "killer.xlsx").write_bytes(hb.ledger_bytes(campaign, 5, tmp=tmp_path))
    real = collect_mod.read_ledger

    def dying(data, file, fmt, form):
        if file == "killer.xlsx":
            # pytest's faulthandler, inherited by the forked worker, would print a crash dump of
            # this intended abort into a green run's output.
            faulthandler.disable()
            os.abort()  # what a Rust abort or an out-of-memory kill looks like from here
        return real(data, file, fmt, form)

    monkeypatch.setattr(collect_mod, "read_ledger", dying)  # the forked workers inherit it
    col = collect(inbox, campaign, workers=workers)
    rows = hb.file_rows(col)
    assert set(rows) == {*taken, "killer.xlsx"}
    assert rows["killer.xlsx"]["处理结果"] == "无法读取" and "异常退出" in rows["killer.xlsx"]["说明"]
    for name in taken:
        assert rows[name]["处理结果"] == "采用", name


def test_a_cell_in_the_last_corner_of_an_xlsx_is_cut_off_not_allocated(tmp_path, campaign, hb, address_space_limit):
    """A 16 KB .xlsx with one cell at XFD1048576 would make calamine allocate 512 GB: the reader
    cuts cells past its caps out of the XML first, reads the ledger, and says it was cut."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    hb.grown_sheet_xlsx(hb.ledger_bytes(campaign, 5, tmp=tmp_path), inbox / "corner.xlsx",
                        [b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'], dimension="A1:XFD1048576")
    col = collect(inbox, campaign, workers=0)
    rows = hb.file_rows(col)
    assert rows["corner.xlsx"]["处理结果"] == "采用"
    layout = col.findings[(col.findings["代码"] == "file.layout_changed") & (col.findings["文件"] == "corner.xlsx")]
    assert len(layout) == 1 and "只读取了前" in layout.iloc[0]["说明"]
