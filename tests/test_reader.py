"""Reading returned ledgers as people make them: values and the cells they came from."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import xlsxwriter

from ledgerbook.demo import samples
from ledgerbook.reader import read_ledger

HEADER = ["序号", "整顿对象", "支部书记", "联系党委委员", "重点问题", "具体问题", "整顿措施", "责任人", "完成时限",
          "整顿进展", "备注"]


def _xlsx(build) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"strings_to_numbers": False})
    build(wb)
    wb.close()
    return buf.getvalue()


def _codes(ledger):
    return [(f.code, f.level) for f in ledger.findings]


def test_retyped_file_is_read_with_cells(tmp_path, campaign, form):
    spec = samples.clean_ledger(campaign, campaign.units[1], n_rows=3, n_targets=2)
    spec = samples.humanise(spec, campaign)
    spec = samples.LedgerSpec(**{**spec.__dict__, "style": "retyped"})
    path = tmp_path / "retyped.xlsx"
    samples.write_retyped_xlsx(spec, campaign, path)
    ledger = read_ledger(path.read_bytes(), "retyped.xlsx", "xlsx", form)

    assert ledger.sheet == "Sheet1"
    assert ledger.layout.header_row == 4
    # Inline "填报单位：…" and label/value pairs on one line.
    assert ledger.field_value("unit") == campaign.units[1].name
    assert ledger.field_at("unit") == (1, 0)
    assert ledger.field_at("phone") == (2, 5)
    assert ledger.field_value("phone") == float(spec.phone)
    # Merged targets fill every row they span; signature line ends the table.
    assert len(ledger.rows) == 6
    targets = [values["target"] for _, values in ledger.rows]
    assert targets == [spec.rows[i].target for i in range(6)]
    first_row, values = ledger.rows[0]
    assert first_row == 5 and ledger.layout.columns["deadline"] == 8
    assert values["problem"] == spec.rows[0].problem
    # Renamed headers (aliases) are a warning, not an error.
    assert ("file.layout_changed", "警告") in _codes(ledger)
    assert ledger.readable


def test_rows_inserted_above_reordered_and_missing_columns(form):
    def build(wb):
        ws = wb.add_worksheet("整顿台账(2)")
        ws.write("B2", "填报单位")
        ws.write("D2", "机关党委")
        header = ["序号", "整顿对象", "重点问题", "支部书记", "联系党委委员", "具体问题", "整顿措施", "完成时限", "整顿进展"]
        ws.write_row(9, 0, header)
        ws.write_row(10, 0, ["1", "机关第一党支部", "2", "张三", "李四", "组织生活单一", "每月开展主题党日活动并结合业务", "10月底"])

    ledger = read_ledger(_xlsx(build), "x.xlsx", "xlsx", form)
    assert ledger.sheet == "整顿台账(2)"
    assert ledger.layout.header_row == 9
    assert ledger.field_at("unit") == (1, 3)
    codes = _codes(ledger)
    assert ("file.layout_broken", "错误") in codes  # 责任人 (required) is missing
    message = ledger.findings[0].message
    assert "责任人" in message and "顺序" in message
    assert ledger.rows[0][1]["problem"] == "2"
    assert ledger.layout.columns["problem"] == 2


def test_header_in_other_sheet_and_signature_lines(form):
    def build(wb):
        wb.add_worksheet("说明").write("A1", "请认真填写")
        ws = wb.add_worksheet("Sheet1")
        ws.write_row(0, 0, HEADER)
        ws.write_row(1, 0, ["1", "支部A", "张三", "李四", "1", "问题", "措施内容足够长的一条", "王五", "2019-10-31"])
        ws.write_row(2, 0, [""] * 5)
        ws.write_row(3, 0, ["2", "支部A", "张三", "李四", "2", "问题", "另一条足够长的措施内容", "王五", "2019-10-30"])
        ws.write(5, 0, "填表人：赵六")
        ws.write(6, 1, "不应读到的一行")

    ledger = read_ledger(_xlsx(build), "x.xlsx", "xlsx", form)
    assert ledger.sheet == "Sheet1"
    assert [r for r, _ in ledger.rows] == [1, 3]
    assert _codes(ledger) == []


def test_not_a_ledger_and_garbage(form):
    data = _xlsx(lambda wb: wb.add_worksheet("成绩").write_row(0, 0, ["姓名", "分数"]))
    ledger = read_ledger(data, "x.xlsx", "xlsx", form)
    assert _codes(ledger) == [("file.not_ledger", "错误")]
    assert "整顿台账" in ledger.findings[0].message
    ledger = read_ledger(b"PK\x03\x04garbage", "y.xlsx", "xlsx", form)
    assert _codes(ledger) == [("file.unreadable", "错误")]
    assert not ledger.readable


def test_html_export_named_xls(form):
    cells = "".join(f"<th>{h}</th>" for h in HEADER)
    row = "".join(f"<td>{v}</td>" for v in ["1", "支部A", "张三", "李四", "（三）", "问题", "措施", "王五", "2019年10月31日"])
    html = f"<html><meta charset='gbk'><table><tr><td>填报单位</td><td>机关党委</td></tr><tr>{cells}</tr><tr>{row}</tr></table></html>"
    ledger = read_ledger(html.encode("gbk"), "web.xls", "html", form)
    assert ledger.field_value("unit") == "机关党委"
    assert ledger.rows[0][1]["deadline"] == "2019年10月31日"
    assert ledger.rows[0][1]["problem"] == "（三）"


def test_csv(form):
    text = "填报单位,机关党委\n" + ",".join(HEADER) + "\n1,支部A,张三,李四,3,问题,措施,王五,2019/10/31\n"
    ledger = read_ledger(text.encode("gb18030"), "x.csv", "csv", form)
    assert ledger.rows[0][1]["deadline"] == "2019/10/31"
    assert ledger.layout.columns["deadline"] == 8 and ledger.rows[0][0] == 2


def test_marker_and_protection_from_template(tmp_path, campaign, form):
    from ledgerbook.template import write_template

    path = tmp_path / "t.xlsx"
    unit = campaign.units[0]
    spec = samples.clean_ledger(campaign, unit, n_rows=2)
    write_template(campaign, path, unit=unit, fill=spec.as_fill())
    ledger = read_ledger(path.read_bytes(), "t.xlsx", "xlsx", form)
    assert ledger.marker.get("单位") == unit.name
    assert ledger.protected is True
    assert ledger.field_value("unit") == unit.name
    assert len(ledger.rows) == 2
    assert ledger.rows[0][1]["deadline"] == spec.rows[0].deadline.date()
    assert ledger.layout.columns["deadline"] == 8 and ledger.rows[0][0] == 6
    assert ledger.findings == []


@pytest.mark.soffice
def test_files_written_by_libreoffice(tmp_path, campaign, form):
    from soffice_helpers import soffice_convert

    from ledgerbook.template import write_template

    spec = samples.clean_ledger(campaign, campaign.units[2], n_rows=3)
    # Merge the target down its rows as people do, in the retyped form.
    retyped = samples.LedgerSpec(**{**spec.__dict__, "style": "retyped"})
    src = tmp_path / "src"
    src.mkdir()
    samples.write_retyped_xlsx(retyped, campaign, src / "retyped.xlsx")
    write_template(campaign, src / "tpl.xlsx", unit=campaign.units[2], fill=spec.as_fill())
    files = [src / "retyped.xlsx", src / "tpl.xlsx"]
    for fmt in ("xls", "ods"):
        for path in soffice_convert(files, fmt, tmp_path / fmt):
            ledger = read_ledger(path.read_bytes(), path.name, fmt, form)
            assert ledger.readable, (path, ledger.findings)
            assert ledger.field_value("unit") == campaign.units[2].name
            assert [v["target"] for _, v in ledger.rows] == [r.target for r in spec.rows]
            deadline = ledger.rows[0][1]["deadline"]
            assert deadline in (spec.rows[0].deadline, spec.rows[0].deadline.date())
