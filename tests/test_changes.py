"""`--since`: the snapshot hidden in a summary, reading it back, and what compare() reports."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import xlsxwriter
from openpyxl import load_workbook

from ledgerbook.changes import CHANGE_COLUMNS, compare
from ledgerbook.errors import SummaryError
from ledgerbook.summary import CHANGE_COLUMNS as SUMMARY_CHANGE_COLUMNS, write_summary
from ledgerbook.snapshot import FORMAT_VERSION, read_previous, snapshot
from test_summary import HOSTILE, RICH_SHAPED, header, make_collection, make_finding, make_row


@pytest.fixture()
def rounds(campaign):
    """Two rounds of three units differing by exactly one change of each kind."""
    u1, u2, u3 = campaign.unit_names[:3]
    before = make_collection(campaign, [
        make_row(campaign, u1, 1, 整顿对象="教工第一党支部", 问题序号=1, 整顿进展="未启动"),
        make_row(campaign, u1, 2, 整顿对象="教工第一党支部", 问题序号=3, 整顿措施="旧措施：每月检查一次发展党员工作"),
        make_row(campaign, u2, 1, 整顿对象="学生党支部", 问题序号=8),
        make_row(campaign, u3, 1, 整顿对象="行政党支部", 问题序号=4),
        make_row(campaign, u3, 2, 整顿对象="行政党支部", 问题序号=6),
    ], [make_finding(u2, cell="J7", value="长期坚持")])
    after = make_collection(campaign, [
        make_row(campaign, u1, 1, 整顿对象="教工第一党支部", 问题序号=1, 整顿进展="推进中"),
        make_row(campaign, u1, 2, 整顿对象="教工第一党支部", 问题序号=3, 整顿措施="新措施：每两周检查一次发展党员工作"),
        make_row(campaign, u1, 3, 整顿对象="教工第一党支部", 问题序号=5),
        make_row(campaign, u2, 1, 整顿对象="学生党支部", 问题序号=8),
        make_row(campaign, u3, 1, 整顿对象="行政党支部", 问题序号=4),
    ], [make_finding(u1, code="row.measure_thin", level="警告", cell="G9", message="措施过于简单")])
    return before, after


def _records(df: pd.DataFrame) -> list[dict]:
    return df.to_dict("records")


def test_compare_reports_exactly_the_changes(rounds, campaign):
    before, after = rounds
    u1, u2, u3 = campaign.unit_names[:3]
    short = campaign.form.problem_short
    changes = compare(snapshot(before), after)
    assert _records(changes.status) == [{"单位": u2, "原状态": "需退回修改", "新状态": "已通过", "原错误数": "1", "新错误数": "0"}]
    rows = _records(changes.rows)
    assert [(r["变化"], r["单位"], r["重点问题"], r["字段"]) for r in rows] == [
        ("修改", u1, f"3 {short[2]}", "整顿措施"),
        ("新增", u1, f"5 {short[4]}", ""),
        ("删除", u3, f"6 {short[5]}", ""),
    ]
    assert rows[0]["原值"] == "旧措施：每月检查一次发展党员工作" and rows[0]["新值"] == "新措施：每两周检查一次发展党员工作"
    assert "整顿措施：" in rows[1]["新值"] and rows[1]["原值"] == ""
    assert rows[2]["整顿对象"] == "行政党支部" and rows[2]["新值"] == ""
    assert _records(changes.progress) == [{"单位": u1, "整顿对象": "教工第一党支部", "重点问题": f"1 {short[0]}",
                                           "原进展": "未启动", "新进展": "推进中"}]
    assert [(r["变化"], r["级别"], r["代码"], r["单位"], r["单元格"]) for r in _records(changes.findings)] == [
        ("新增", "警告", "row.measure_thin", u1, "G9"),
        ("已解决", "错误", "row.deadline_invalid", u2, "J7"),
    ]
    assert changes.counts() == {"状态变化": 1, "新增行": 1, "删除行": 1, "修改行": 1, "进展变化": 1,
                                "新增问题": 1, "已解决问题": 1}


def test_no_changes_against_itself(rounds):
    before, _ = rounds
    changes = compare(snapshot(before), before)
    assert all(len(df) == 0 for df in (changes.status, changes.rows, changes.progress, changes.findings))


def test_round_trip_through_a_written_summary(rounds, tmp_path):
    before, after = rounds
    path = write_summary(before, tmp_path / "第一轮.xlsx", generated_at=dt.datetime(2019, 9, 14, 9, 30))
    previous = read_previous(path)
    assert previous.version == FORMAT_VERSION
    assert previous.generated_at == dt.datetime(2019, 9, 14, 9, 30)
    assert previous.title == before.campaign.full_title and previous.as_of is None
    from_file = compare(previous, after)
    direct = compare(snapshot(before), after)
    for name in ("status", "rows", "progress", "findings"):
        pd.testing.assert_frame_equal(getattr(from_file, name), getattr(direct, name), check_dtype=False)
    assert from_file.since_file == "第一轮.xlsx"
    assert from_file.since_generated_at == dt.datetime(2019, 9, 14, 9, 30)


def test_round_trip_keeps_hostile_and_long_text_exact(campaign, tmp_path):
    u = campaign.unit_names[0]
    long_text = "很长的措施。" * 7000
    rows = [make_row(campaign, u, i, 具体问题=t, 整顿措施=t, 备注=t, 责任人=t) for i, t in enumerate(HOSTILE, 1)]
    rows.append(make_row(campaign, u, 20, 整顿措施=long_text, 整顿对象="  前后有空格的支部  "))
    findings = [make_finding(u, cell=f"F{i}", value=t) for i, t in enumerate(HOSTILE, 1)]
    c = make_collection(campaign, rows, findings, as_of=dt.date(2019, 10, 28))
    previous = read_previous(write_summary(c, tmp_path / "s.xlsx"))
    assert previous.as_of == dt.date(2019, 10, 28)
    changes = compare(previous, c)
    assert all(len(df) == 0 for df in (changes.status, changes.rows, changes.progress, changes.findings))
    # ...and a change at the very end of a long text is still seen.
    edited = make_collection(campaign, rows[:-1] + [make_row(campaign, u, 20, 整顿措施=long_text + "！",
                                                             整顿对象="  前后有空格的支部  ")], findings)
    changed = compare(previous, edited)
    assert [(r["变化"], r["字段"]) for r in _records(changed.rows)] == [("修改", "整顿措施")]


def test_snapshot_packs_records_into_few_cells(campaign, tmp_path):
    from python_calamine import CalamineWorkbook

    u = campaign.unit_names[0]
    c = make_collection(campaign, [make_row(campaign, u, i) for i in range(1, 301)])
    path = write_summary(c, tmp_path / "s.xlsx")
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("_ledgerbook_summary").to_python()
    assert len(sheet) < 30  # 300 rows and their findings table: a handful of cells, not a row each
    assert len(read_previous(path).rows) == 300


def test_records_too_long_for_one_cell_round_trip(campaign, tmp_path):
    """A record whose JSON line exceeds a cell is written one cell per value, still read back exact."""
    u = campaign.unit_names[0]
    astral = "𠀀𠀁" * 9000  # 18,000 characters, 36,000 UTF-16 units: over a cell as Excel counts
    rows = [make_row(campaign, u, 1, 具体问题="具体" * 9000, 整顿措施="措施" * 9000),
            make_row(campaign, u, 2, 具体问题=astral),
            *[make_row(campaign, u, 2 + i, 备注=t) for i, t in enumerate(RICH_SHAPED, 1)]]
    c = make_collection(campaign, rows)
    previous = read_previous(write_summary(c, tmp_path / "s.xlsx"))
    assert previous.rows["remarks"].tolist()[2:] == RICH_SHAPED
    assert previous.rows["detail"][0] == "具体" * 9000
    changes = compare(previous, c)
    assert all(len(df) == 0 for df in (changes.status, changes.rows, changes.progress, changes.findings))


def test_summaries_of_format_1_are_still_read(rounds):
    """tests/data/summary/format1.xlsx: the `rounds` first round written by ledgerbook's format 1
    (one JSON cell per record), generated_at 2019-09-14 09:30."""
    before, after = rounds
    previous = read_previous(Path(__file__).parent / "data" / "summary" / "format1.xlsx")
    assert previous.version == 1 and previous.generated_at == dt.datetime(2019, 9, 14, 9, 30)
    from_file, direct = compare(previous, after), compare(snapshot(before), after)
    for name in ("status", "rows", "progress", "findings"):
        pd.testing.assert_frame_equal(getattr(from_file, name), getattr(direct, name), check_dtype=False)
    assert len(from_file.rows) > 0


def test_duplicate_keys_are_matched_in_order(campaign):
    u = campaign.unit_names[0]
    same = dict(整顿对象="教工第一党支部", 问题序号=2)
    before = make_collection(campaign, [make_row(campaign, u, 1, 整顿措施="措施甲：每月一次主题党日", **same),
                                        make_row(campaign, u, 2, 整顿措施="措施乙：每季度一次交流会", **same)])
    after = make_collection(campaign, [make_row(campaign, u, 1, 整顿措施="措施甲：每月一次主题党日", **same),
                                       make_row(campaign, u, 2, 整顿措施="措施丙：每学期一次评议", **same),
                                       make_row(campaign, u, 3, 整顿措施="措施丁：年底总结", **same)])
    rows = _records(compare(snapshot(before), after).rows)
    assert [(r["变化"], r["原值"], r["新值"].splitlines()[1] if r["变化"] == "新增" else r["新值"]) for r in rows] == [
        ("修改", "措施乙：每季度一次交流会", "措施丙：每学期一次评议"),
        ("新增", "", "整顿措施：措施丁：年底总结"),
    ]


def test_invalid_problem_is_matched_by_its_text(campaign):
    u = campaign.unit_names[0]
    before = make_collection(campaign, [make_row(campaign, u, 1, 问题序号=None, 重点问题="其他问题")])
    after = make_collection(campaign, [make_row(campaign, u, 1, 问题序号=None, 重点问题="其他问题", 责任人="张三")])
    rows = _records(compare(snapshot(before), after).rows)
    assert [(r["变化"], r["重点问题"], r["字段"], r["新值"]) for r in rows] == [("修改", "其他问题", "责任人", "张三")]


def test_changes_sheet_and_overview_line(rounds, tmp_path, campaign):
    before, after = rounds
    previous = read_previous(write_summary(before, tmp_path / "第一轮.xlsx"))
    changes = compare(previous, after)
    wb = load_workbook(write_summary(after, tmp_path / "第二轮.xlsx", since=changes))
    assert wb.sheetnames[:4] == ["总览", "提交情况", "变化", "汇总台账"]
    ws = wb["变化"]
    # 问题类型 first (the Chinese name of a finding's code), then the table compare() returns.
    assert header(ws) == ["问题类型", *CHANGE_COLUMNS] == [c.header for c in SUMMARY_CHANGE_COLUMNS]
    lines = [r[1:] for r in ws.iter_rows(min_row=2, values_only=True)]
    kinds = [r[0] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert kinds[:5] == [None] * 5 and all(k and "." not in k for k in kinds[5:]), kinds
    assert [(r[0], r[1]) for r in lines] == [("单位状态", "状态改变"), ("台账行", "修改"), ("台账行", "新增"),
                                             ("台账行", "删除"), ("整顿进展", "进展变化"), ("校验结果", "新增"),
                                             ("校验结果", "已解决")]
    assert lines[0][6:8] == ("需退回修改", "已通过")
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:L8"
    overview = [c.value for row in wb["总览"].iter_rows() for c in row if isinstance(c.value, str)]
    assert any(v.startswith("与上次汇总（“第一轮.xlsx”）相比：1 个单位状态改变") for v in overview)


# --------------------------------------------------------------------------- not a summary


def test_plain_workbook_is_not_a_summary(tmp_path):
    path = tmp_path / "别的表.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("Sheet1").write_string(0, 0, "ledgerbook-summary")
    wb.close()
    with pytest.raises(SummaryError, match="“别的表.xlsx”不是 ledgerbook 生成的汇总表"):
        read_previous(path)


@pytest.mark.parametrize("content", [b"not a workbook at all", b"PK\x03\x04broken zip"])
def test_non_xlsx_is_not_a_summary(tmp_path, content):
    path = tmp_path / "汇总表.xlsx"
    path.write_bytes(content)
    with pytest.raises(SummaryError, match="不是 ledgerbook 生成的汇总表"):
        read_previous(path)


def test_zip_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "汇总表.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(SummaryError, match="不是 ledgerbook 生成的汇总表"):
        read_previous(path)


def test_missing_file(tmp_path):
    with pytest.raises(SummaryError, match="找不到上次的汇总表"):
        read_previous(tmp_path / "nope.xlsx")


def test_snapshot_from_a_newer_ledgerbook(tmp_path):
    path = tmp_path / "future.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("_ledgerbook_summary")
    ws.write_string(0, 0, "ledgerbook-summary")
    ws.write_string(1, 0, str(FORMAT_VERSION + 1))
    wb.close()
    with pytest.raises(SummaryError, match="更新版本"):
        read_previous(path)


def test_damaged_snapshot(tmp_path):
    path = tmp_path / "damaged.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("_ledgerbook_summary")
    for r, line in enumerate([["ledgerbook-summary"], ["1"], ["#table", "status", "5"], ["unit", "status", "errors"]]):
        for c, v in enumerate(line):
            ws.write_string(r, c, v)
    wb.close()
    with pytest.raises(SummaryError, match="汇总标记已损坏"):
        read_previous(path)


@pytest.mark.parametrize("records", ['["单位一","已通过"', '["单位一","已通过","0"]'])
def test_damaged_packed_snapshot(tmp_path, records):
    """Format 2: a cell of records that is not JSON lines, or fewer records than announced."""
    path = tmp_path / "damaged.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("_ledgerbook_summary")
    lines = [["ledgerbook-summary"], ["2"], ["#table", "status", "2"], ["unit", "status", "errors"], [records]]
    for r, line in enumerate(lines):
        for c, v in enumerate(line):
            ws.write_string(r, c, v)
    wb.close()
    with pytest.raises(SummaryError, match="汇总标记已损坏"):
        read_previous(path)
