"""The summary workbook (spec §5): sheets, tables, safety of untrusted text, print setup, charts.

Collections are built by hand (`make_collection`) from small DataFrames with exactly the
columns `Collection` documents, so these tests do not depend on the readers.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from ledgerbook.collect import Collection
from ledgerbook.errors import OutputError
from ledgerbook.findings import FINDING_COLUMNS
from ledgerbook.summary import (
    FILE_COLUMNS as FILE_COLS, FINDING_COLUMNS as FINDING_COLS,
    LIAISON_COLUMNS as LIAISON_COLS, ROW_COLUMNS as ROW_COLS, SUBMISSION_COLUMNS as SUBMISSION_COLS,
    finding_links, write_summary,
)
from ledgerbook.tables import FILE_COLUMNS, LIAISON_COLUMNS, SUBMISSION_COLUMNS

ROW_FIELDS = ["单位", "序号", "整顿对象", "支部书记", "联系党委委员", "问题序号", "重点问题", "具体问题", "整顿措施",
              "责任人", "完成时限", "完成时限原文", "整顿进展", "备注", "逾期", "来源文件", "工作表", "来源单元格", "行号"]
SHEETS = ["总览", "提交情况", "汇总台账", "问题统计", "校验结果", "联络员名册", "文件清单", "_ledgerbook_summary"]
RED, AMBER, GREEN = "FFFFC7CE", "FFFFEB9C", "FFC6EFCE"
RECEIVED = dt.datetime(2019, 9, 12, 10, 30)


# --------------------------------------------------------------------------- building collections


def make_row(campaign, unit: str, n: int = 1, **values) -> dict:
    """One 汇总台账 row with plausible defaults; `n` numbers it within its unit's file."""
    problem = values.pop("问题序号", 1)
    row = {
        "单位": unit, "序号": str(n), "整顿对象": "教工第一党支部", "支部书记": "张建华", "联系党委委员": "李志强",
        "问题序号": problem, "重点问题": campaign.form.problems[problem - 1] if problem else "",
        "具体问题": f"具体问题{n}", "整顿措施": f"每月开展一次主题党日并检查落实情况{n}", "责任人": "王秀英",
        "完成时限": dt.date(2019, 10, 20), "完成时限原文": "2019-10-20", "整顿进展": "未启动", "备注": "",
        "逾期": False, "来源文件": f"整顿台账_{unit}.xlsx", "工作表": "整顿台账", "来源单元格": f"A{6 + n}",
        "行号": 6 + n,
    }
    row.update(values)
    return row


def make_finding(unit: str, code: str = "row.deadline_invalid", level: str = "错误", cell: str = "J7",
                 file: str | None = None, message: str = "完成时限不是日期", value: str = "") -> dict:
    row = re.fullmatch(r"[A-Z]+(\d+)", cell)
    return {"级别": level, "代码": code, "单位": unit, "文件": f"整顿台账_{unit}.xlsx" if file is None else file,
            "工作表": "整顿台账" if cell else "", "单元格": cell, "说明": message, "原值": value,
            "行号": int(row.group(1)) if row else None}


def _by_problem(rows: pd.DataFrame, campaign) -> pd.DataFrame:
    names = list(campaign.form.problem_short)
    units = list(dict.fromkeys(rows["单位"])) if len(rows) else []
    table = pd.DataFrame(0, index=pd.Index(units, name="单位"), columns=names, dtype=int)
    for unit, no in zip(rows["单位"], rows["问题序号"]) if len(rows) else []:
        if pd.notna(no):
            table.loc[unit, names[int(no) - 1]] += 1
    table["合计"] = table.sum(axis=1)
    return table


def make_collection(campaign, rows: list[dict] = (), findings: list[dict] = (), *, as_of: dt.date | None = None,
                    submitted: list[str] | None = None, files: list[dict] | None = None,
                    inbox: str = "inbox") -> Collection:
    """A Collection with exactly the documented columns, derived from rows and findings.

    Units with rows (or listed in `submitted`) have submitted; their status follows their errors.
    """
    rows_df = pd.DataFrame.from_records(list(rows), columns=ROW_FIELDS)
    rows_df["问题序号"] = rows_df["问题序号"].astype("Int64")
    rows_df["逾期"] = rows_df["逾期"].astype(bool)
    findings_df = pd.DataFrame.from_records(list(findings), columns=FINDING_COLUMNS)
    done = set(rows_df["单位"]) | set(submitted or ())
    roster = list(campaign.unit_names)
    records = []
    for unit in roster + sorted(done - set(roster)):
        mine = rows_df[rows_df["单位"] == unit]
        levels = findings_df[findings_df["单位"] == unit]["级别"]
        errors = int((levels == "错误").sum())
        has = unit in done
        records.append({
            "单位": unit, "名单内": "是" if unit in roster else "否",
            "状态": ("需退回修改" if errors else "已通过") if has else "未提交",
            "文件": f"整顿台账_{unit}.xlsx" if has else "", "收到时间": RECEIVED if has else None,
            "首次收到": RECEIVED if has else None, "逾期": "否", "整顿对象数": mine["整顿对象"].nunique(),
            "问题条数": len(mine), "错误数": errors, "警告数": int((levels == "警告").sum()),
            "提示数": int((levels == "提示").sum()), "逾期措施数": int(mine["逾期"].sum()),
            "第一责任人": "赵卫东" if has else "", "联络员": "孙红霞" if has else "",
            "联系电话": "13812345678" if has else "", "QQ号码": "12345678" if has else "",
            "自评报告": "未收到", "自评报告收到时间": None,
        })
    submissions = pd.DataFrame.from_records(records, columns=SUBMISSION_COLUMNS)
    liaisons = submissions[["单位", "状态", "第一责任人", "联络员", "联系电话", "QQ号码"]].assign(邮箱="")
    if files is None:
        files = [{"文件": f"整顿台账_{u}.xlsx", "大小": 12345, "SHA-256": "ab" * 32, "收到时间": RECEIVED,
                  "单位": u, "处理结果": "采用", "说明": "3 行", "格式": "xlsx", "发件人": ""} for u in sorted(done)]
    return Collection(campaign=campaign, as_of=as_of, inbox=inbox,
                      files=pd.DataFrame.from_records(files, columns=FILE_COLUMNS), submissions=submissions,
                      rows=rows_df, findings=findings_df, by_problem=_by_problem(rows_df, campaign),
                      liaisons=liaisons[LIAISON_COLUMNS])


@pytest.fixture()
def sample(campaign) -> Collection:
    """Three units submitted (one with an error), the rest missing."""
    u1, u2, u3 = campaign.unit_names[:3]
    rows = [make_row(campaign, u1, 1), make_row(campaign, u1, 2, 问题序号=3, 整顿进展="推进中"),
            make_row(campaign, u2, 1, 问题序号=8, 完成时限=None, 完成时限原文="长期坚持"),
            make_row(campaign, u3, 1, 问题序号=4, 整顿进展="已完成")]
    findings = [make_finding(u2, cell="J7", value="长期坚持"),
                make_finding(u2, code="unit.qq_invalid", cell="I4", message="QQ号码无效", value="0123"),
                make_finding(u3, code="row.measure_thin", level="警告", cell="G7", message="措施过于简单")]
    return make_collection(campaign, rows, findings)


def cells(ws):
    for row in ws.iter_rows():
        for cell in row:
            if cell.value is not None:
                yield cell


def header(ws) -> list:
    return [c.value for c in next(ws.iter_rows(min_row=1, max_row=1))]


def column(ws, name: str) -> list:
    idx = header(ws).index(name)
    return [unescape(r[idx]) for r in ws.iter_rows(min_row=2, values_only=True)]


def unescape(value):
    """Undo OOXML's _xHHHH_ escapes, as Excel does on reading (openpyxl leaves them in)."""
    if not isinstance(value, str):
        return value
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), value)


def width_of(ws, index: int) -> float:
    """Width of the 1-based column `index` (adjacent equal columns share one <col> element)."""
    for dim in ws.column_dimensions.values():
        if dim.min and dim.max and dim.min <= index <= dim.max:
            return dim.width
    return 0


# --------------------------------------------------------------------------- structure


def test_sheets_in_order_opening_on_overview(sample, tmp_path):
    path = write_summary(sample, tmp_path / "汇总表.xlsx", generated_at=dt.datetime(2019, 9, 14, 9, 30))
    wb = load_workbook(path)
    assert wb.sheetnames == SHEETS
    assert wb.active.title == "总览"
    assert wb["_ledgerbook_summary"].sheet_state == "veryHidden"
    assert all(wb[s].sheet_state == "visible" for s in SHEETS[:-1])


def test_table_headers_follow_the_column_specs(sample, tmp_path):
    wb = load_workbook(write_summary(sample, tmp_path / "s.xlsx"))
    expected = {"提交情况": SUBMISSION_COLS, "汇总台账": ROW_COLS, "校验结果": FINDING_COLS,
                "联络员名册": LIAISON_COLS, "文件清单": FILE_COLS}
    for sheet, cols in expected.items():
        # Without --as-of the as-of-only columns (逾期措施数, 逾期) are left out; the columns
        # for the screen only (hashes, links, cell references) come last.
        shown = [c for c in cols if not c.as_of_only]
        assert header(wb[sheet]) == [c.header for c in shown if not c.screen] + [c.header for c in shown if c.screen]
    # 校验结果 names the kind of problem in Chinese first and keeps every column of the findings.
    assert header(wb["校验结果"])[0] == "问题类型"
    assert set(FINDING_COLUMNS[:8]) <= set(header(wb["校验结果"]))


def test_as_of_adds_overdue_columns(campaign, tmp_path):
    u = campaign.unit_names[0]
    c = make_collection(campaign, [make_row(campaign, u, 1, 逾期=True)], as_of=dt.date(2019, 10, 28))
    wb = load_workbook(write_summary(c, tmp_path / "s.xlsx"))
    assert "逾期措施数" in header(wb["提交情况"])
    assert column(wb["汇总台账"], "逾期") == ["是"]
    texts = [v for v in (c.value for c in cells(wb["总览"])) if isinstance(v, str)]
    assert any("逾期措施（截至 2019-10-28" in t for t in texts)


def test_sample_values(sample, tmp_path, campaign):
    wb = load_workbook(write_summary(sample, tmp_path / "s.xlsx"))
    rows = wb["汇总台账"]
    assert column(rows, "单位")[:2] == [campaign.unit_names[0]] * 2
    assert column(rows, "重点问题")[1] == campaign.form.problems[2]
    assert column(rows, "问题序号") == [1, 3, 8, 4]
    assert column(rows, "完成时限")[2] is None and column(rows, "完成时限原文")[2] == "长期坚持"
    status = dict(zip(column(wb["提交情况"], "单位"), column(wb["提交情况"], "状态")))
    assert status[campaign.unit_names[1]] == "需退回修改"
    assert status[campaign.unit_names[-1]] == "未提交"
    assert column(wb["校验结果"], "代码") == ["row.deadline_invalid", "unit.qq_invalid", "row.measure_thin"]
    assert column(wb["文件清单"], "大小")[0] == 12345


def test_dates_are_real_dates(sample, tmp_path):
    wb = load_workbook(write_summary(sample, tmp_path / "s.xlsx"))
    ws = wb["汇总台账"]
    col = header(ws).index("完成时限") + 1
    cell = ws.cell(row=2, column=col)
    assert cell.value == dt.datetime(2019, 10, 20) and cell.number_format == "yyyy-mm-dd"
    assert ws.cell(row=4, column=col).value is None  # a vague deadline has no date
    ws = wb["提交情况"]
    cell = ws.cell(row=2, column=header(ws).index("收到时间") + 1)
    assert cell.value == RECEIVED and cell.number_format == "yyyy-mm-dd hh:mm"


def test_timezone_aware_times_are_shown_in_utc8(campaign, tmp_path):
    u = campaign.unit_names[0]
    c = make_collection(campaign, [make_row(campaign, u)])
    c.files["收到时间"] = pd.Series([dt.datetime(2019, 9, 12, 2, 30, tzinfo=dt.timezone.utc)], dtype=object)
    wb = load_workbook(write_summary(c, tmp_path / "s.xlsx"))
    assert column(wb["文件清单"], "收到时间")[0] == dt.datetime(2019, 9, 12, 10, 30)


def test_table_sheets_freeze_filter_and_print(sample, tmp_path):
    wb = load_workbook(write_summary(sample, tmp_path / "s.xlsx"))
    for name in ["提交情况", "汇总台账", "问题统计", "校验结果", "联络员名册", "文件清单"]:
        ws = wb[name]
        assert ws.freeze_panes in ("A2", "B2"), name
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:"), name
        # Never shrunk to fit: an explicit scale keeps 10 pt text at 9 pt or more, on A4 or A3.
        assert ws.page_setup.orientation == "landscape", name
        assert ws.page_setup.paperSize in (8, 9), name
        assert not ws.sheet_properties.pageSetUpPr or not ws.sheet_properties.pageSetUpPr.fitToPage, name
        assert (ws.page_setup.scale or 100) >= 90, name
        assert ws.print_title_rows == "$1:$1", name
        assert "&P" in ws.oddFooter.center.text, name
        assert "湖南科技大学" in ws.oddHeader.left.text and "&A" in ws.oddHeader.right.text, name
        assert ws.page_margins.left <= 0.3, name
        assert ws["A1"].font.b and ws["A1"].fill.fgColor.rgb not in (None, "00000000"), name
    ws = wb["汇总台账"]
    assert ws.auto_filter.ref == f"A1:{ws.cell(row=1, column=len(header(ws))).column_letter}5"
    # long text columns are wide and wrapped, codes narrow
    index = header(ws).index("整顿措施") + 1
    assert width_of(ws, index) >= 35
    assert ws.cell(row=2, column=index).alignment.wrap_text
    assert width_of(ws, header(ws).index("来源单元格") + 1) <= 10
    # The printed columns are the form's; where a row came from is for the screen.
    assert ws.print_area == f"'汇总台账'!$A$1:${ws.cell(row=1, column=header(ws).index('备注') + 1).column_letter}$5"
    files = wb["文件清单"]
    sha = files.cell(row=2, column=header(files).index("SHA-256") + 1)
    assert not sha.alignment.wrap_text  # a screen column: no row grows for a 64-character hash
    printed = header(files).index("格式") + 1  # the last printed column; SHA-256 and 发件人 follow it
    assert header(files)[printed:] == ["SHA-256", "发件人"]
    assert files.print_area.endswith(f"${files.cell(row=1, column=printed).column_letter}$4")


def test_wrapped_rows_get_a_height_to_show_their_text(campaign, tmp_path):
    u = campaign.unit_names[0]
    long_measure = "建立党员示范岗，推动每名党员教师参与一门课程的课程思政建设" * 3
    rows = [make_row(campaign, u, i, 整顿措施=long_measure if i % 2 else "短措施") for i in range(1, 8)]
    ws = load_workbook(write_summary(make_collection(campaign, rows), tmp_path / "s.xlsx"))["汇总台账"]
    heights = [ws.row_dimensions[r].height for r in range(2, 9)]
    # LibreOffice does not size rows to wrapped text itself: every long row keeps its height.
    assert all(h and h >= 3 * 13 for h in heights[0::2]), heights
    assert all(h is None or h < 30 for h in heights[1::2]), heights


def test_status_and_level_cells_are_coloured(sample, tmp_path, campaign):
    wb = load_workbook(write_summary(sample, tmp_path / "s.xlsx"))
    ws = wb["校验结果"]
    col = header(ws).index("级别") + 1
    levels = {ws.cell(row=r, column=col).value: ws.cell(row=r, column=col).fill.fgColor.rgb for r in range(2, 5)}
    assert levels == {"错误": RED, "警告": AMBER}
    ws = wb["提交情况"]
    col = header(ws).index("状态") + 1
    fills = {ws.cell(row=r, column=col).value: ws.cell(row=r, column=col).fill.fgColor.rgb
             for r in range(2, ws.max_row + 1)}
    assert fills == {"已通过": GREEN, "需退回修改": RED, "未提交": RED}


def test_findings_link_to_their_ledger_row(sample, tmp_path, campaign):
    wb = load_workbook(write_summary(sample, tmp_path / "s.xlsx"))
    ws = wb["校验结果"]
    link_col = header(ws).index("定位") + 1
    first = ws.cell(row=2, column=link_col)  # J7 of unit 2's file: its only table row
    assert first.value == "查看台账行"
    assert first.hyperlink.location == "'汇总台账'!A4"
    target = wb["汇总台账"]
    assert target["A4"].value == campaign.unit_names[1]
    assert column(target, "行号")[2] == 7 and column(target, "来源文件")[2] == "整顿台账_" + campaign.unit_names[1] + ".xlsx"
    assert ws.cell(row=3, column=link_col).value is None  # I4 is in the unit block: no table row


def test_links_past_excels_limit_become_row_numbers(sample, tmp_path, monkeypatch, campaign):
    import ledgerbook.summary as summary

    u = campaign.unit_names[0]
    rows = [make_row(campaign, u, i) for i in (1, 2)]
    findings = [make_finding(u, cell=f"G{6 + i}") for i in (1, 2)]
    monkeypatch.setattr(summary, "MAX_LINKS", 1)
    ws = load_workbook(write_summary(make_collection(campaign, rows, findings), tmp_path / "s.xlsx"))["校验结果"]
    links = column(ws, "定位")
    assert links == ["查看台账行", "台账第3行"]
    link_col = header(ws).index("定位") + 1
    assert ws.cell(row=2, column=link_col).hyperlink and not ws.cell(row=3, column=link_col).hyperlink


def test_finding_links_match_file_and_row():
    rows = pd.DataFrame({"来源文件": ["a.xlsx", "a.xlsx", "b.xlsx"], "行号": [7, 8, 7]})
    findings = pd.DataFrame({"文件": ["a.xlsx", "b.xlsx", "b.xlsx", "a.xlsx", "c.xlsx"],
                             "行号": pd.array([8, 7, None, None, 7], dtype="Int64")})
    assert finding_links(findings, rows) == [3, 4, None, None, None]


def test_by_problem_sheet(sample, tmp_path, campaign):
    wb = load_workbook(write_summary(sample, tmp_path / "s.xlsx"))
    ws = wb["问题统计"]
    short = campaign.form.problem_short
    assert header(ws) == ["单位"] + [f"{i}. {s}" for i, s in enumerate(short, 1)] + ["合计"]
    assert ws.cell(row=1, column=2).comment.text.endswith(campaign.form.problems[0])
    values = list(ws.iter_rows(min_row=2, values_only=True))
    assert values[0][0] == campaign.unit_names[0] and values[0][1] == 1 and values[0][-1] == 2
    totals = values[3]
    assert totals[0] == "合计" and totals[-1] == 4 and totals[1] == 1 and totals[8] == 1
    notes = [v[0] for v in values[4:] if v[0]]
    assert notes[0] == f"1. {short[0]}：{campaign.form.problems[0]}" and len(notes) == 8


def test_overview(sample, tmp_path, campaign):
    wb = load_workbook(write_summary(sample, tmp_path / "s.xlsx"))
    ws = wb["总览"]
    assert ws["A1"].value == f"{campaign.full_title}汇总表"
    texts = {c.coordinate: c.value for c in cells(ws)}
    values = list(texts.values())
    assert "未指定（不判断措施逾期）" in values  # no --as-of
    assert not any(isinstance(v, str) and "生成" in v for v in values)  # generated_at None: omitted
    label_cells = {v: k for k, v in texts.items() if isinstance(v, str)}
    number = ws[label_cells["应报单位"].replace("B", "C")].value
    assert number == len(campaign.units)
    assert ws[label_cells["需退回修改"].replace("B", "C")].value == 1
    assert ws[label_cells["问题条数"].replace("B", "C")].value == 4
    assert campaign.unit_names[1] in values  # the unit to send back is listed
    assert campaign.form.problems[3] in values  # problem table with full text


def test_overview_shows_when_made(sample, tmp_path):
    wb = load_workbook(write_summary(sample, tmp_path / "s.xlsx", generated_at=dt.datetime(2019, 9, 14, 9, 30)))
    assert any("2019-09-14 09:30 生成" in str(c.value) for c in cells(wb["总览"]))


def test_charts_exist_on_overview(sample, tmp_path):
    path = write_summary(sample, tmp_path / "s.xlsx")
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        assert {"xl/charts/chart1.xml", "xl/charts/chart2.xml"} <= names
        sheet_rels = z.read("xl/worksheets/_rels/sheet1.xml.rels").decode()
        drawing = re.search(r'Target="\.\./drawings/(drawing\d+\.xml)"', sheet_rels).group(1)
        drawing_rels = z.read(f"xl/drawings/_rels/{drawing}.rels").decode()
        assert "../charts/chart1.xml" in drawing_rels and "../charts/chart2.xml" in drawing_rels
        chart = z.read("xl/charts/chart2.xml").decode()
        assert re.search(r"<c:f>'?总览'?!\$C\$\d+:\$C\$\d+</c:f>", chart) and "各重点问题" in chart


# --------------------------------------------------------------------------- untrusted text

HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "http://evil", "\t=1", "\r=1",
           "a\x01b\x07c\x1fd", "=1+1\x00"]


def test_no_cell_holds_a_formula_and_hostile_text_stays_text(campaign, tmp_path):
    u = campaign.unit_names[0]
    rows = [make_row(campaign, u, i, 具体问题=text, 整顿措施=text, 备注=text, 整顿对象=text)
            for i, text in enumerate(HOSTILE, 1)]
    findings = [make_finding(u, cell=f"F{6 + i}", value=text, message=text) for i, text in enumerate(HOSTILE, 1)]
    c = make_collection(campaign, rows, findings)
    c.files.loc[0, "文件"] = "=cmd|'/c calc'!A1"
    c.submissions.loc[0, "联系电话"] = "=1+2"
    path = write_summary(c, tmp_path / "s.xlsx")
    wb = load_workbook(path)
    for ws in wb.worksheets:
        for cell in cells(ws):
            assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
            if isinstance(cell.value, str) and cell.value.startswith("="):
                assert cell.data_type == "s", (ws.title, cell.coordinate)
    expected = [re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f]", "", t) for t in HOSTILE]
    ws = wb["汇总台账"]
    for name in ("具体问题", "整顿措施", "备注", "整顿对象"):
        assert column(ws, name) == expected, name
    assert column(wb["校验结果"], "原值") == expected
    assert column(wb["文件清单"], "文件") == ["=cmd|'/c calc'!A1"]
    assert column(wb["提交情况"], "联系电话")[0] == "=1+2"
    assert not ws.cell(row=6, column=8).hyperlink  # "http://evil" is not a link
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert "<f>" not in z.read(name).decode(), name


def test_text_longer_than_a_cell_is_kept_whole(campaign, tmp_path):
    u = campaign.unit_names[0]
    long_text = "".join(f"第{i}句整改措施的具体内容。" for i in range(3000))
    assert len(long_text) > 40000
    c = make_collection(campaign, [make_row(campaign, u, 1, 整顿措施=long_text)])
    wb = load_workbook(write_summary(c, tmp_path / "s.xlsx"))
    assert wb.sheetnames[-2] == "超长文本"
    cell_text = column(wb["汇总台账"], "整顿措施")[0]
    assert len(cell_text) <= 32767 and "超长文本" in cell_text
    assert long_text.startswith(cell_text[: cell_text.index("……〔")])
    over = list(wb["超长文本"].iter_rows(min_row=2, values_only=True))
    assert over[0][0] == "汇总台账" and over[0][2] == len(long_text)
    assert "".join(p for p in over[0][3:] if p) == long_text
    where = header(wb["汇总台账"]).index("整顿措施")
    assert over[0][1] == f"{wb['汇总台账'].cell(row=2, column=where + 1).column_letter}2"


# Text shaped like the rich-string XML xlsxwriter passes through unescaped in constant_memory mode.
RICH_SHAPED = ['<r><t>a</t></r></is></c><c r="Z1"><f>1+1</f><v>2</v></c><c r="Z2" t="inlineStr"><is><r><t>b</t></r>',
               "<r></r>", "<r>x</r>"]


def test_text_shaped_like_rich_string_xml_stays_text(campaign, tmp_path):
    u = campaign.unit_names[0]
    # Twice each: the second is written from the column's cache of prepared cells.
    texts = RICH_SHAPED * 2
    rows = [make_row(campaign, u, i, 具体问题=text, 备注=text) for i, text in enumerate(texts, 1)]
    findings = [make_finding(u, cell=f"F{6 + i}", value=text) for i, text in enumerate(texts, 1)]
    path = write_summary(make_collection(campaign, rows, findings), tmp_path / "s.xlsx")
    wb = load_workbook(path)
    assert column(wb["汇总台账"], "具体问题") == texts
    assert column(wb["汇总台账"], "备注") == texts
    assert column(wb["校验结果"], "原值") == texts
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                xml = z.read(name).decode()
                assert "<f>" not in xml and '<c r="Z1"' not in xml, name


def test_repeated_texts_are_cleaned_and_placed_like_new_ones(campaign, tmp_path):
    """The writer prepares each distinct text of a column once: repeats must come out the same."""
    u = campaign.unit_names[0]
    long_text = "".join(f"第{i}句整改措施的具体内容。" for i in range(3000))
    values = ["=1+1\x00", "a\x01b", "=1+1\x00", long_text, "a\x01b", long_text]
    rows = [make_row(campaign, u, i, 整顿措施=v, 行号=7 if i == 1 else ("7" if i == 2 else 6 + i))
            for i, v in enumerate(values, 1)]
    wb = load_workbook(write_summary(make_collection(campaign, rows), tmp_path / "s.xlsx"))
    ws = wb["汇总台账"]
    measures = column(ws, "整顿措施")
    assert measures[:3] == ["=1+1", "ab", "=1+1"] and measures[4] == "ab"
    # Each long text has its own line in 超长文本, numbered in the order the cells were written.
    assert [r[1] for r in wb["超长文本"].iter_rows(min_row=2, values_only=True)] == ["I5", "I7"]
    assert "第2行" in measures[3] and "第3行" in measures[5]
    # Equal-looking values of different types keep their type: 7 is a number, "7" text.
    where = header(ws).index("行号") + 1
    assert [ws.cell(row=r, column=where).data_type for r in (2, 3)] == ["n", "s"]


def test_empty_collection(campaign, tmp_path):
    wb = load_workbook(write_summary(make_collection(campaign), tmp_path / "s.xlsx"))
    assert wb.sheetnames == SHEETS
    assert wb["汇总台账"].max_row == 1


# --------------------------------------------------------------------------- the file


@pytest.mark.parametrize("lock", ["~${name}", ".~lock.{name}#"])
def test_refuses_when_open_in_excel_or_wps(sample, tmp_path, lock):
    target = tmp_path / "汇总表.xlsx"
    write_summary(sample, target)
    (tmp_path / lock.format(name=target.name)).write_bytes(b"")
    with pytest.raises(OutputError, match="正在 Excel/WPS 中打开"):
        write_summary(sample, target)


def test_refuses_unwritable_targets(sample, tmp_path):
    (tmp_path / "dir.xlsx").mkdir()
    with pytest.raises(OutputError, match="文件夹"):
        write_summary(sample, tmp_path / "dir.xlsx")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError):
        write_summary(sample, tmp_path / "afile" / "s.xlsx")


def test_a_failed_write_leaves_the_old_summary_and_no_temp_file(sample, tmp_path, monkeypatch):
    import ledgerbook.summary as summary

    target = tmp_path / "汇总表.xlsx"
    write_summary(sample, target)
    before = target.read_bytes()

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(summary, "_write_workbook", boom)
    with pytest.raises(OutputError, match="No space left"):
        write_summary(sample, target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["汇总表.xlsx"]


def test_creates_missing_folder(sample, tmp_path):
    path = write_summary(sample, tmp_path / "a" / "b" / "s.xlsx")
    assert path.is_file() and path.stat().st_mode & 0o044


# --------------------------------------------------------------------------- end to end


def _write_inbox_ledger(path: Path, campaign, unit: str, rows: list[list]) -> None:
    """A retyped ledger made with xlsxwriter: unit block, header, rows (hostile text included)."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    ws = wb.add_worksheet("整顿台账")
    ws.write_string(0, 0, "菜单式整顿台账")
    block = [("填报单位", unit), ("第一责任人", "赵卫东"), ("联络员", "孙红霞"), ("联系电话", "13812345678"),
             ("QQ号码", "12345678")]
    for i, (label, value) in enumerate(block):
        ws.write_string(1 + i // 3, (i % 3) * 2, label)
        ws.write_string(1 + i // 3, (i % 3) * 2 + 1, value)
    labels = [c.label for c in campaign.form.columns]
    for c, label in enumerate(labels):
        ws.write_string(4, c, label)
    for r, values in enumerate(rows, 5):
        for c, value in enumerate(values):
            if isinstance(value, dt.date):
                ws.write_datetime(r, c, value, wb.add_format({"num_format": "yyyy-mm-dd"}))
            elif value is not None:
                ws.write(r, c, value) if not isinstance(value, str) else ws.write_string(r, c, value)
    wb.close()


def test_collect_then_summary_end_to_end(campaign, tmp_path):
    from ledgerbook.collect import collect

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    u1, u2 = campaign.unit_names[:2]
    good = [1, "教工第一党支部", "张建华", "李志强", campaign.form.problems[0], "书记由行政人员兼任",
            "选配骨干教师担任支部书记并报党委备案", "王秀英", dt.date(2019, 10, 20), "推进中", ""]
    bad = [2, "学生党支部", "支部书记", "李志强", "9", '=HYPERLINK("http://x","y")', "加强学习", "全体党员",
           "长期坚持", "差不多", "@SUM(A1)"]
    _write_inbox_ledger(inbox / f"整顿台账_{u1}.xlsx", campaign, u1, [good])
    _write_inbox_ledger(inbox / f"整顿台账_{u2}.xlsx", campaign, u2, [good, bad])
    (inbox / "readme.txt").write_text("x")
    collection = collect(inbox, campaign, as_of=dt.date(2019, 10, 28))
    path = write_summary(collection, tmp_path / "汇总表.xlsx", generated_at=dt.datetime(2019, 10, 28, 9))
    wb = load_workbook(path)
    assert wb.sheetnames == SHEETS
    ws = wb["汇总台账"]
    assert len(column(ws, "单位")) == len(collection.rows) == 3
    assert '=HYPERLINK("http://x","y")' in column(ws, "具体问题")
    assert len(column(wb["校验结果"], "代码")) == len(collection.findings)
    link_col = header(wb["校验结果"]).index("定位") + 1
    links = [c for c in wb["校验结果"].iter_cols(min_col=link_col, max_col=link_col).__next__() if c.hyperlink]
    assert links and all(c.hyperlink.location.startswith("'汇总台账'!A") for c in links)
    for ws in wb.worksheets:
        assert all(c.data_type != "f" for c in cells(ws))


@pytest.mark.soffice
def test_summary_converts_to_pdf(sample, tmp_path):
    from soffice_helpers import soffice_convert

    path = write_summary(sample, tmp_path / "summary.xlsx", generated_at=dt.datetime(2019, 9, 14, 9, 30))
    (pdf,) = soffice_convert([path], "pdf", tmp_path / "pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 10000
