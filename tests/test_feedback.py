"""Feedback copies (退回修改件): inboxes built with ledgerbook.samples, collected, written with
write_feedback and read back with openpyxl."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

from ledgerbook.demo import samples
from ledgerbook.collect import collect
from ledgerbook.errors import OutputError
from ledgerbook.feedback import FEEDBACK_SHEET, feedback_file_name, write_feedback

RED, AMBER, BLUE = "FFC7CE", "FFEB9C", "DDEBF7"
EXCEL_EPOCH = dt.date(1899, 12, 30)
# Files are dated before the ledger due date, so no file.late finding blurs the assertions.
ON_TIME = dt.datetime(2019, 9, 12, 10, 0).timestamp()


# --------------------------------------------------------------------------- helpers


def put(spec: samples.LedgerSpec, campaign, path: Path) -> Path:
    """Write a returned ledger into an inbox, received on time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    samples.write_ledger(spec, campaign, path)
    os.utime(path, (ON_TIME, ON_TIME))
    return path


def sloppy(campaign, index: int, how: str | None = None, style: str = "template") -> samples.LedgerSpec:
    spec = samples.clean_ledger(campaign, campaign.units[index])
    spec = dataclasses.replace(spec, style=style)
    return samples.SLOPPY[how](spec, campaign) if how else spec


def colour(cell) -> str | None:
    """The solid fill of a cell as RRGGBB, None when unfilled."""
    if cell.fill is None or cell.fill.fill_type != "solid":
        return None
    return str(cell.fill.fgColor.rgb)[-6:].upper()


def serial(day: dt.date) -> str:
    return str((day - EXCEL_EPOCH).days)


def validations(ws) -> dict[str, object]:
    return {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}


def opinion_rows(wb) -> list[tuple]:
    """The table rows of 校验意见 (序号, 级别, 单元格, 说明, 原值)."""
    ws = wb[FEEDBACK_SHEET]
    rows = list(ws.iter_rows(values_only=True))
    header = next(i for i, r in enumerate(rows) if r[:5] == ("序号", "级别", "单元格", "说明", "原值"))
    return [r[:5] for r in rows[header + 1:] if isinstance(r[0], int)]


def unit_findings(collection, unit: str):
    file = collection.ledgers[unit].file
    return [f for f in collection.finding_list if f.unit == unit and f.file == file]


def digest(folder: Path) -> dict[str, tuple[str, int]]:
    return {str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_form_validations(ws, campaign, first: int, last: int) -> None:
    """重点问题 (E), 完成时限 (I) and 整顿进展 (J) carry the form's rules over first..last (1-based)."""
    found = validations(ws)
    problems = found[f"E{first}:E{last}"]
    assert problems.type == "list" and problems.formula1 == "lb_problems"
    deadline = found[f"I{first}:I{last}"]
    assert deadline.type == "date"
    assert (deadline.formula1, deadline.formula2) == (serial(campaign.start), serial(campaign.rectification_due))
    progress = found[f"J{first}:J{last}"]
    assert progress.type == "list" and progress.formula1 == "lb_progress"
    assert problems.showErrorMessage and deadline.showInputMessage


# --------------------------------------------------------------------------- the returned xlsx


@pytest.fixture
def deadlines(tmp_path, campaign):
    """An inbox with a SLOPPY['deadlines'] ledger (I7 vague, I8 after the window) and a clean one."""
    inbox = tmp_path / "inbox"
    put(sloppy(campaign, 0, "deadlines"), campaign, inbox / "机关党委.xlsx")
    put(sloppy(campaign, 1), campaign, inbox / "机电.xlsx")
    collection = collect(inbox, campaign)
    return inbox, collection


def test_marks_cells_by_level_with_notes(deadlines, tmp_path, campaign):
    inbox, collection = deadlines
    unit = campaign.units[0].name
    paths = write_feedback(collection, tmp_path / "out")
    assert [p.name for p in paths] == [f"退回修改_{unit}.xlsx"]
    wb = openpyxl.load_workbook(paths[0])
    ws = wb["整顿台账"]
    assert colour(ws["I7"]) == AMBER and colour(ws["I8"]) == RED
    assert "长期坚持" in ws["I7"].comment.text and "【警告】" in ws["I7"].comment.text
    assert "晚于集中整顿截止日期" in ws["I8"].comment.text and "【错误】" in ws["I8"].comment.text
    assert ws["I8"].comment.author == campaign.department
    with zipfile.ZipFile(paths[0]) as zf:  # openpyxl reads no note sizes back: look at the VML
        vml = b"".join(zf.read(n) for n in zf.namelist() if n.endswith(".vml")).decode()
    widths = [int(w) for w in re.findall(r"width:(\d+)px", vml)]
    assert widths and min(widths) >= 300  # wider than Excel's default 144 px, for Chinese text
    assert colour(ws["H7"]) is None and ws["H7"].comment is None
    # The values the unit typed are still there.
    assert ws["I7"].value == "长期坚持" and ws["C3"].value == unit


def test_opinion_sheet_first_with_one_row_per_finding(deadlines, tmp_path, campaign):
    _, collection = deadlines
    unit = campaign.units[0].name
    wb = openpyxl.load_workbook(write_feedback(collection, tmp_path / "out")[0])
    assert wb.sheetnames[0] == FEEDBACK_SHEET and wb.active.title == FEEDBACK_SHEET
    assert [ws.title for ws in wb.worksheets if ws.sheet_view.tabSelected] == [FEEDBACK_SHEET]
    ws = wb[FEEDBACK_SHEET]
    assert ws["A1"].value == f"{unit} 整顿台账校验意见"
    texts = " ".join(str(c.value) for row in ws.iter_rows(max_row=6) for c in row if c.value)
    assert campaign.full_title in texts and "重新报送" in texts
    rows = opinion_rows(wb)
    findings = unit_findings(collection, unit)
    assert len(rows) == len(findings) == 2
    assert [(r[1], r[2]) for r in rows] == [("错误", "I8"), ("警告", "I7")]  # by level, then cell
    assert rows[1][3] == next(f.message for f in findings if f.cell == "I7") and rows[1][4] == "长期坚持"
    header = next(r for r in range(1, 20) if ws.cell(r, 1).value == "序号")
    assert colour(ws.cell(header + 1, 2)) == RED and colour(ws.cell(header + 2, 2)) == AMBER
    assert ws.cell(header + 1, 3).hyperlink.location == "'整顿台账'!I8"
    assert ws.freeze_panes == f"A{header + 1}"
    assert ws.print_title_rows == f"${header}:${header}" and ws.page_setup.paperSize == 9
    assert campaign.full_title in ws.oddHeader.left.text and "&P" in ws.oddFooter.center.text
    assert ws.column_dimensions["D"].width >= 40 and ws.cell(header + 1, 4).alignment.wrap_text


def test_copy_stays_a_working_form(deadlines, tmp_path, campaign):
    _, collection = deadlines
    wb = openpyxl.load_workbook(write_feedback(collection, tmp_path / "out")[0])
    ws = wb["整顿台账"]
    protection = ws.protection
    assert protection.sheet and protection.password is None
    # As the template: format columns/rows and insert rows allowed, the rest locked.
    assert not protection.formatColumns and not protection.formatRows and not protection.insertRows
    assert protection.formatCells and protection.deleteRows and protection.insertColumns
    assert wb[FEEDBACK_SHEET].protection.sheet
    assert not ws["I8"].protection.locked and not ws["E7"].protection.locked and not ws["G3"].protection.locked
    assert ws["C3"].protection.locked  # the per-unit copy's 填报单位 stays fixed
    assert_form_validations(ws, campaign, 7, 6 + campaign.form.input_rows)
    assert {"lb_problems", "lb_progress", "lb_units"} <= set(wb.defined_names)
    assert wb[campaign.form.marker_sheet].sheet_state == "veryHidden"


def test_inbox_is_left_byte_identical(deadlines, tmp_path, campaign):
    inbox, collection = deadlines
    before = digest(inbox)
    write_feedback(collection, tmp_path / "out", all_units=True)
    assert digest(inbox) == before


def test_all_units_writes_passing_units_too(deadlines, tmp_path, campaign):
    _, collection = deadlines
    paths = write_feedback(collection, tmp_path / "out", all_units=True)
    passed = campaign.units[1].name
    assert [p.name for p in paths] == [f"退回修改_{campaign.units[0].name}.xlsx", f"{FEEDBACK_SHEET}_{passed}.xlsx"]
    wb = openpyxl.load_workbook(paths[1])
    assert opinion_rows(wb) == []
    texts = [c.value for row in wb[FEEDBACK_SHEET].iter_rows() for c in row if isinstance(c.value, str)]
    assert "未发现问题" in texts and any("无需修改" in t for t in texts)
    ws = wb["整顿台账"]
    assert not any(c.comment for row in ws.iter_rows() for c in row)
    assert_form_validations(ws, campaign, 7, 6 + campaign.form.input_rows)


def test_x14_validations_are_recreated(tmp_path, campaign):
    """Excel keeps cross-sheet list validations in its x14 extension, which openpyxl drops."""
    plain = put(sloppy(campaign, 0, "deadlines"), campaign, tmp_path / "src" / "a.xlsx")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    target = inbox / "机关党委.xlsx"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = _as_x14(data.decode()).encode()
            dst.writestr(item, data)
    os.utime(target, (ON_TIME, ON_TIME))
    collection = collect(inbox, campaign)
    wb = openpyxl.load_workbook(write_feedback(collection, tmp_path / "out")[0])
    ws = wb["整顿台账"]
    assert_form_validations(ws, campaign, 7, 6 + campaign.form.input_rows)
    assert colour(ws["I8"]) == RED


def _as_x14(xml: str) -> str:
    """A sheet whose validations are stored the way Excel stores cross-sheet lists."""
    xml = re.sub(r"<dataValidations\b.*?</dataValidations>", "", xml, flags=re.S)
    ext = ('<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
           'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
           '<x14:dataValidations count="1" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
           '<x14:dataValidation type="list" allowBlank="1" showErrorMessage="1">'
           "<x14:formula1><xm:f>'_ledgerbook'!$D$2:$D$9</xm:f></x14:formula1><xm:sqref>E7:E66</xm:sqref>"
           "</x14:dataValidation></x14:dataValidations></ext></extLst>")
    assert "<extLst>" not in xml
    return xml.replace("</worksheet>", ext + "</worksheet>")


def test_conflicting_validation_is_replaced(tmp_path, campaign):
    """A rule the unit changed on the form's cells is cut back, so no cell carries two rules."""
    plain = put(sloppy(campaign, 0, "deadlines"), campaign, tmp_path / "src" / "a.xlsx")
    wb = openpyxl.load_workbook(plain)
    ws = wb["整顿台账"]
    dv = next(d for d in ws.data_validations.dataValidation if str(d.sqref) == "E7:E66")
    dv.sqref = openpyxl.worksheet.cell_range.MultiCellRange("E7:E66 L7:L66")
    dv.formula1 = '"党建,业务"'
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    wb.save(inbox / "机关党委.xlsx")
    samples.set_saved_time(inbox / "机关党委.xlsx", None)   # openpyxl stamps today: no clock in tests
    collection = collect(inbox, campaign)
    ws = openpyxl.load_workbook(write_feedback(collection, tmp_path / "out")[0])["整顿台账"]
    found = validations(ws)
    assert found["E7:E66"].formula1 == "lb_problems"
    assert found["L7:L66"].formula1 == '"党建,业务"'  # outside the form's cells: the unit's own


# --------------------------------------------------------------------------- other shapes of file


def test_retyped_file_marked_at_its_own_cells(tmp_path, campaign):
    inbox = tmp_path / "inbox"
    put(sloppy(campaign, 1, "persons", style="retyped"), campaign, inbox / "b.xlsx")
    collection = collect(inbox, campaign)
    unit = campaign.units[1].name
    wb = openpyxl.load_workbook(write_feedback(collection, tmp_path / "out")[0])
    ws = wb["Sheet1"]
    # Header on row 5 of the retyped sheet: the first row is 6, 责任人 in H, 联络员 value in D3.
    assert colour(ws["H6"]) == RED and "支委会" in ws["H6"].comment.text
    assert colour(ws["D3"]) == RED and "联络员" in ws["D3"].comment.text
    assert len(opinion_rows(wb)) == len(unit_findings(collection, unit))
    # The form's rules, lists and protection are added to the unit's own sheet.
    assert_form_validations(ws, campaign, 6, 5 + campaign.form.input_rows)
    assert "A2" not in validations(ws)  # "填报单位：…" typed with its label: no drop-down there
    assert {"lb_problems", "lb_progress", "lb_units"} <= set(wb.defined_names)
    marker = wb[campaign.form.marker_sheet]
    assert marker.sheet_state == "veryHidden" and marker["D2"].value == campaign.form.problems[0]
    assert ws.protection.sheet and not ws["H6"].protection.locked and not ws["D3"].protection.locked
    assert not ws["E40"].protection.locked  # room to add rows
    assert ws["A1"].protection.locked


def test_wrong_unit_on_a_per_unit_form_can_be_fixed(tmp_path, campaign):
    """A unit that typed another name into its per-unit form gets the cell back unlocked, with
    the roster drop-down, so it can pick its name as the message asks."""
    inbox = tmp_path / "inbox"
    spec = dataclasses.replace(sloppy(campaign, 0), unit="某某学院党委", unprotect=True)
    put(spec, campaign, inbox / "a.xlsx")
    collection = collect(inbox, campaign)
    wb = openpyxl.load_workbook(write_feedback(collection, tmp_path / "out")[0])
    ws = wb["整顿台账"]
    assert colour(ws["C3"]) == RED and "不在本次名单中" in ws["C3"].comment.text
    assert not ws["C3"].protection.locked and ws.protection.sheet
    unit_list = validations(ws)["C3"]
    assert unit_list.type == "list" and unit_list.formula1 == "lb_units"
    # file.unprotected (提示) is marked too, in light blue where no worse level shares the cell.
    assert any("保护" in r[3] for r in opinion_rows(wb) if r[1] == "提示")


def test_info_is_marked_light_blue(tmp_path, campaign):
    inbox = tmp_path / "inbox"
    spec = dataclasses.replace(sloppy(campaign, 0, "deadlines"), secretary="王建华")  # roster: 周建国
    put(spec, campaign, inbox / "a.xlsx")
    collection = collect(inbox, campaign)
    ws = openpyxl.load_workbook(write_feedback(collection, tmp_path / "out")[0])["整顿台账"]
    assert colour(ws["G3"]) == BLUE and "【提示】" in ws["G3"].comment.text and "周建国" in ws["G3"].comment.text


def test_ledger_without_rows_marks_first_target_cell(tmp_path, campaign):
    inbox = tmp_path / "inbox"
    put(sloppy(campaign, 0, "no_rows"), campaign, inbox / "a.xlsx")
    collection = collect(inbox, campaign)
    ws = openpyxl.load_workbook(write_feedback(collection, tmp_path / "out")[0])["整顿台账"]
    assert colour(ws["B7"]) == RED and "整顿对象" in ws["B7"].comment.text


def test_several_findings_on_one_cell_share_a_note(tmp_path, campaign):
    inbox = tmp_path / "inbox"
    spec = sloppy(campaign, 0, "menu")  # row 1: 重点问题 not in the menu
    rows = list(spec.rows)
    for i in (0, 1):  # a measure too thin to be one, copied to the next problem
        rows[i] = dataclasses.replace(rows[i], measure="加强支部学习")
    put(dataclasses.replace(spec, rows=rows), campaign, inbox / "a.xlsx")
    collection = collect(inbox, campaign)
    ws = openpyxl.load_workbook(write_feedback(collection, tmp_path / "out")[0])["整顿台账"]
    assert colour(ws["E7"]) == RED and colour(ws["G7"]) == AMBER and colour(ws["G8"]) == AMBER
    note = ws["G7"].comment.text
    assert note.count("【警告】") == 2 and "过于简单" in note and "G8" in note


def test_hostile_text_stays_text(tmp_path, campaign):
    inbox = tmp_path / "inbox"
    spec = sloppy(campaign, 0)
    rows = list(spec.rows)
    rows[0] = dataclasses.replace(rows[0], owner="=1+1")
    rows[1] = dataclasses.replace(rows[1], problem="@SUM(A1)")
    rows[2] = dataclasses.replace(rows[2], detail="具体\x07问题")
    put(dataclasses.replace(spec, rows=rows), campaign, inbox / "a.xlsx")
    collection = collect(inbox, campaign)
    path = write_feedback(collection, tmp_path / "out")[0]
    wb = openpyxl.load_workbook(path)
    values = {r[4]: r for r in opinion_rows(wb)}
    assert "=1+1" in values and "@SUM(A1)" in values
    ws = wb[FEEDBACK_SHEET]
    for row in ws.iter_rows():
        for cell in row:
            if cell.value in ("=1+1", "@SUM(A1)"):
                assert cell.data_type == "s"
    ledger = wb["整顿台账"]
    assert ledger["H7"].value == "=1+1" and ledger["H7"].data_type == "s"
    with zipfile.ZipFile(path) as zf:
        sheets = [n for n in zf.namelist() if n.startswith("xl/worksheets/sheet")]
        assert not any(b"<f>" in zf.read(n) or b"<f " in zf.read(n) for n in sheets)
    notes = " ".join(c.comment.text for row in ledger.iter_rows() for c in row if c.comment)
    assert "\x07" not in notes


def test_huge_workbook_is_carried_over_not_loaded(tmp_path, campaign, monkeypatch):
    """openpyxl keeps every cell in memory: a workbook that unpacks huge gets a fresh template."""
    import ledgerbook.feedback as feedback

    inbox = tmp_path / "inbox"
    put(sloppy(campaign, 0, "deadlines"), campaign, inbox / "a.xlsx")
    collection = collect(inbox, campaign)
    monkeypatch.setattr(feedback, "_MAX_UNPACKED_BYTES", 1000)
    monkeypatch.setattr(feedback.openpyxl, "load_workbook", _refuse_unit_files(openpyxl.load_workbook))
    wb = openpyxl.load_workbook(write_feedback(collection, tmp_path / "out")[0])
    texts = " ".join(str(c.value) for row in wb[FEEDBACK_SHEET].iter_rows(max_row=6) for c in row if c.value)
    assert "已转录到标准模板" in texts and colour(wb["整顿台账"]["I8"]) == RED


def _refuse_unit_files(load):
    def guarded(source, *args, **kwargs):
        assert not hasattr(source, "read"), "the unit's bytes were handed to openpyxl"
        return load(source, *args, **kwargs)
    return guarded


def test_xlsm_copy_is_xlsx(tmp_path, campaign):
    inbox = tmp_path / "inbox"
    put(sloppy(campaign, 0, "deadlines"), campaign, inbox / "机关党委.xlsm")
    collection = collect(inbox, campaign)
    path = write_feedback(collection, tmp_path / "out")[0]
    assert path.suffix == ".xlsx"
    with zipfile.ZipFile(path) as zf:
        assert b"macroEnabled" not in zf.read("[Content_Types].xml")
    assert colour(openpyxl.load_workbook(path)["整顿台账"]["I8"]) == RED


def test_copy_sent_back_again_loses_old_marks(deadlines, tmp_path, campaign):
    _, collection = deadlines
    first = write_feedback(collection, tmp_path / "out")[0]
    wb = openpyxl.load_workbook(first)
    wb["整顿台账"]["I8"].value = dt.datetime(2019, 10, 20)  # the unit fixes the error
    inbox = tmp_path / "inbox2"
    inbox.mkdir()
    wb.save(inbox / first.name)
    samples.set_saved_time(inbox / first.name, None)   # openpyxl stamps today: no clock in tests
    os.utime(inbox / first.name, (ON_TIME, ON_TIME))
    again = collect(inbox, campaign)
    paths = write_feedback(again, tmp_path / "out2", all_units=True)
    wb = openpyxl.load_workbook(paths[0])
    assert wb.sheetnames.count(FEEDBACK_SHEET) == 1 and wb.sheetnames[0] == FEEDBACK_SHEET
    ws = wb["整顿台账"]
    assert colour(ws["I8"]) is None and ws["I8"].comment is None
    assert colour(ws["I7"]) == AMBER and ws["I7"].comment.text.count("【警告】") == 1
    assert [r[2] for r in opinion_rows(wb)] == ["I7"]


def test_unreadable_submission_gets_no_copy(tmp_path, campaign):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / f"{campaign.units[0].name}.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    collection = collect(inbox, campaign)
    status = collection.submissions.set_index("单位").loc[campaign.units[0].name, "状态"]
    assert status == "需退回修改"
    assert write_feedback(collection, tmp_path / "out", all_units=True) == []


def test_directory_inside_inbox_is_refused(deadlines, campaign):
    inbox, collection = deadlines
    with pytest.raises(OutputError):
        write_feedback(collection, inbox / "退回修改")
    assert not (inbox / "退回修改").exists()


def test_file_names_are_safe():
    assert feedback_file_name('机关/党委:"一"') == "退回修改_机关_党委_一_.xlsx"
    assert feedback_file_name("机关党委", to_fix=False) == "校验意见_机关党委.xlsx"
    assert feedback_file_name("..") == "退回修改__.xlsx"
    assert len(feedback_file_name("党" * 5000).encode()) < 255


def test_resubmit_date_is_named(deadlines, tmp_path):
    _, collection = deadlines
    wb = openpyxl.load_workbook(write_feedback(collection, tmp_path / "out", resubmit_by=dt.date(2019, 9, 20))[0])
    texts = " ".join(str(c.value) for row in wb[FEEDBACK_SHEET].iter_rows(max_row=6) for c in row if c.value)
    assert "于2019年9月20日前重新报送" in texts


def test_csv_is_carried_over_into_the_template(tmp_path, campaign):
    unit = campaign.units[0]
    lines = [
        f"填报单位,{unit.name},,第一责任人,{unit.secretary or '周建国'}",
        "联络员,李明,,联系电话,13812345678,,QQ号码,12345678",
        "",
        "序号,整顿对象,支部书记,联系党委委员,重点问题,具体问题,整顿措施,责任人,完成时限,整顿进展,备注",
        f"1,机关教工第一党支部,王建华,陈晓明,3,近两年未发展青年教师党员,{samples.MEASURES[3][0]},支委会,2019-10-20,,",
        f"2,机关教工第一党支部,王建华,陈晓明,5,党务工作者缺乏系统培训,{samples.MEASURES[5][0]},李秀英,=1+1,,",
    ]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = inbox / "机关党委.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.utime(path, (ON_TIME, ON_TIME))
    collection = collect(inbox, campaign)
    wb = openpyxl.load_workbook(write_feedback(collection, tmp_path / "out")[0])
    ws = wb["整顿台账"]
    # The CSV's table starts on row 5 and its 联络员 sits in B2; in the template: row 7 and C4.
    assert ws["B7"].value == "机关教工第一党支部" and ws["C4"].value == "李明"
    assert ws["H7"].value == "支委会" and colour(ws["H7"]) == RED
    assert ws["I8"].value == "=1+1" and ws["I8"].data_type == "s" and colour(ws["I8"]) == RED
    assert ws["G4"].value == "13812345678"
    assert {r[2] for r in opinion_rows(wb) if r[1] == "错误"} >= {"H7", "I8"}
    assert all(not r[3].startswith(("H5", "I6")) for r in opinion_rows(wb))  # references moved
    assert_form_validations(ws, campaign, 7, 6 + campaign.form.input_rows)


# --------------------------------------------------------------------------- files LibreOffice saved


@pytest.fixture(scope="module")
def converted(tmp_path_factory, campaign):
    """One LibreOffice start per format: a template ledger re-saved as .xlsx and as .xls, and a
    retyped ledger saved as .ods."""
    src = tmp_path_factory.mktemp("src")
    template = put(sloppy(campaign, 0, "deadlines"), campaign, src / "a.xlsx")
    retyped = put(sloppy(campaign, 1, "persons", style="retyped"), campaign, src / "b.xlsx")
    out = tmp_path_factory.mktemp("lo")
    return {
        "xlsx": soffice_convert([template], "xlsx", out / "xlsx")[0],
        "xls": soffice_convert([template], "xls", out / "xls")[0],
        "ods": soffice_convert([retyped], "ods", out / "ods")[0],
    }


def soffice_convert(files: list[Path], fmt: str, outdir: Path) -> list[Path]:
    """tests/conftest.py's batched converter, loaded by path: when the whole suite runs,
    tests/hostile/conftest.py may own the module name ``conftest``."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_ledgerbook_conftest", Path(__file__).with_name("conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.soffice_convert(files, fmt, outdir)


def _inbox_with(tmp_path: Path, files: dict[str, Path]) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, src in files.items():
        shutil.copy(src, inbox / name)
        os.utime(inbox / name, (ON_TIME, ON_TIME))
    return inbox


@pytest.mark.soffice
def test_libreoffice_resaved_xlsx_keeps_validations(converted, tmp_path, campaign):
    inbox = _inbox_with(tmp_path, {"机关党委.xlsx": converted["xlsx"]})
    collection = collect(inbox, campaign)
    wb = openpyxl.load_workbook(write_feedback(collection, tmp_path / "out")[0])
    ws = wb["整顿台账"]
    assert_form_validations(ws, campaign, 7, 6 + campaign.form.input_rows)
    assert colour(ws["I7"]) == AMBER and colour(ws["I8"]) == RED
    assert ws.protection.sheet and wb[campaign.form.marker_sheet].sheet_state == "veryHidden"


@pytest.mark.soffice
def test_xls_is_carried_over_into_the_template(converted, tmp_path, campaign):
    inbox = _inbox_with(tmp_path, {"机关党委.xls": converted["xls"]})
    collection = collect(inbox, campaign)
    spec = sloppy(campaign, 0, "deadlines")
    path = write_feedback(collection, tmp_path / "out")[0]
    assert path.suffix == ".xlsx"
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [FEEDBACK_SHEET, "整顿台账", campaign.form.instructions_sheet, campaign.form.marker_sheet]
    ws = wb["整顿台账"]
    assert [ws[f"B{7 + i}"].value for i in range(3)] == [r.target for r in spec.rows]
    assert ws["G7"].value == spec.rows[0].measure and ws["C3"].value == spec.unit
    assert ws["I9"].value == spec.rows[2].deadline
    assert colour(ws["I7"]) == AMBER and colour(ws["I8"]) == RED
    assert_form_validations(ws, campaign, 7, 6 + campaign.form.input_rows)
    texts = " ".join(str(c.value) for row in wb[FEEDBACK_SHEET].iter_rows(max_row=6) for c in row if c.value)
    assert ".xls 格式" in texts


@pytest.mark.soffice
def test_ods_retyped_is_carried_over_and_marks_move(converted, tmp_path, campaign):
    inbox = _inbox_with(tmp_path, {"b.ods": converted["ods"]})
    collection = collect(inbox, campaign)
    unit = campaign.units[1].name
    spec = sloppy(campaign, 1, "persons", style="retyped")
    wb = openpyxl.load_workbook(write_feedback(collection, tmp_path / "out")[0])
    ws = wb["整顿台账"]
    # Retyped: header on row 5, 联络员 in D3. In the template: header on row 6, 联络员 in C4.
    assert ws["H7"].value == "支委会" and colour(ws["H7"]) == RED
    assert ws["H7"].comment.text.split("\n")[1].startswith("【错误】H7的责任人")
    assert colour(ws["C4"]) == RED and ws["G3"].value == spec.secretary
    assert [ws[f"B{7 + i}"].value for i in range(len(spec.rows))] == [r.target for r in spec.rows]
    rows = opinion_rows(wb)
    assert len(rows) == len(unit_findings(collection, unit))
    assert {r[2] for r in rows if r[1] == "错误"} == {"H7", "C4"}
    assert_form_validations(ws, campaign, 7, 6 + campaign.form.input_rows)
