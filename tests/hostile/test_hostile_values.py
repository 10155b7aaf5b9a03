"""Hostile cell values: formula-like text, links, control characters, very long text.

Every text field of the unit block and every field of every row starts with a payload.
collect() must keep the values (control characters: stripped with a finding), and nothing in
the summary or the feedback copies may be a formula: checked over every cell of every sheet
with openpyxl and over the raw worksheet XML.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest

from ledgerbook.collect import collect
from ledgerbook.normalize import cell_text, strip_control_chars
from ledgerbook.demo.samples import RowSpec, clean_ledger

PAYLOADS = ["=", "+", "-", "@", "\t=", "\r=", '=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0",
            "http://evil.example", "\x01\x0b\x1f"]
CONTROL = len(PAYLOADS) - 1            # the unit whose values carry control characters
LONG_UNIT = len(PAYLOADS)              # the unit with the 40,000-character text
HOSTILE_UNIT = "=cmd|' /C calc'!A0"    # a unit name (not in the roster) that is a DDE formula
LONG = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(40_000))
LONG_EQ = "=" + "长" * 33_000          # over the cell limit and formula-like
FIELDS = ["secretary", "liaison", "phone", "qq", "filled_on"]
ROW_KEYS = ["target", "branch_secretary", "member", "problem", "detail", "measure", "owner", "deadline",
            "progress", "remarks"]
# 汇总台账 columns holding a row field's text as read (key -> header).
TEXT_COLUMNS = {"target": "整顿对象", "branch_secretary": "支部书记", "member": "联系党委委员", "detail": "具体问题",
                "measure": "整顿措施", "owner": "责任人", "deadline": "完成时限原文", "remarks": "备注"}
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
EXCEL_CELL_LIMIT = 32_767
GENERATED_AT = dt.datetime(2019, 9, 20, 8, 0)


def _text(value) -> str:
    return f"{value:%Y-%m-%d}" if isinstance(value, (dt.date, dt.datetime)) else str(value)


def hostile_spec(spec, payload: str):
    """Every unit-block text field and every row field prefixed with ``payload``; the control
    payload is spread through the text instead (start, middle and end)."""
    def taint(value) -> str:
        text = _text(value)
        if payload == PAYLOADS[CONTROL]:
            return "\x01" + text[:2] + "\x0b" + text[2:] + "\x1f"
        return payload + text

    rows = [RowSpec(**{k: taint(getattr(r, k)) for k in ROW_KEYS}) for r in spec.rows]
    return replace(spec, rows=rows, **{k: taint(getattr(spec, k)) for k in FIELDS})


def expected_text(raw: str) -> str:
    """What 汇总台账 shows of a raw text: trimmed, without the characters Excel rejects."""
    return strip_control_chars(cell_text(raw))[0]


@pytest.fixture(scope="module")
def written(tmp_path_factory, campaign, hb):
    root = tmp_path_factory.mktemp("values")
    inbox = root / "inbox"
    inbox.mkdir()
    specs = {}
    for i, payload in enumerate(PAYLOADS):
        spec = hostile_spec(clean_ledger(campaign, campaign.units[i], seed=i, n_rows=2), payload)
        specs[i] = spec
        (inbox / f"u{i:02d}.xlsx").write_bytes(hb.spec_bytes(spec, campaign, root))
    # Text longer than a cell can hold: typed into the shared strings after writing (no writer
    # would put more than 32,767 characters in a cell).
    long_spec = clean_ledger(campaign, campaign.units[LONG_UNIT], seed=3)
    rows = list(long_spec.rows)
    rows[0] = replace(rows[0], detail="LONGTEXTPLACEHOLDER", remarks="LONGEQPLACEHOLDER")
    long_spec = replace(long_spec, rows=rows)
    data = hb.spec_bytes(long_spec, campaign, root)
    strings = hb.zip_members(data)["xl/sharedStrings.xml"]
    strings = strings.replace(b"LONGTEXTPLACEHOLDER", LONG.encode()).replace(b"LONGEQPLACEHOLDER", LONG_EQ.encode())
    (inbox / "long.xlsx").write_bytes(hb.rezip(data, replace={"xl/sharedStrings.xml": strings}))
    # A unit name that is a formula (the master template, unit typed by hand).
    named = replace(clean_ledger(campaign, campaign.units[LONG_UNIT + 1], seed=5), unit=HOSTILE_UNIT,
                    template_unit=None)
    (inbox / "named.xlsx").write_bytes(hb.spec_bytes(named, campaign, root))
    # Exports that are not .xlsx: their feedback copy is typed into a fresh template.
    for i, (name, payload) in enumerate([("网页.xls", '=HYPERLINK("http://x","y")'), ("导出.csv", "=cmd|' /C calc'!A0")],
                                        start=LONG_UNIT + 2):
        spec = hostile_spec(clean_ledger(campaign, campaign.units[i], seed=i, n_rows=2), payload)
        table = hb.ledger_table(spec, campaign.form)
        data = hb.html_export(table) if name.endswith(".xls") else hb.csv_export(table, "utf-8-sig")
        (inbox / name).write_bytes(data)

    col = collect(inbox, campaign, workers=1)
    from ledgerbook.feedback import write_feedback
    from ledgerbook.summary import write_summary

    summary = write_summary(col, root / "out" / "汇总表.xlsx", generated_at=GENERATED_AT)
    feedback_dir = root / "out" / "feedback"
    copies = write_feedback(col, feedback_dir, all_units=True)
    return {"col": col, "specs": specs, "summary": Path(summary), "feedback": [Path(p) for p in copies],
            "feedback_dir": feedback_dir}


def workbooks(written) -> list[Path]:
    return [written["summary"], *written["feedback"]]


def every_cell(path: Path):
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                yield ws.title, cell


# --------------------------------------------------------------------------- the Collection

def test_raw_values_read_exactly(written, campaign):
    col, specs = written["col"], written["specs"]
    for i, spec in specs.items():
        ledger = col.ledgers[campaign.units[i].name]
        for key in FIELDS:
            assert ledger.field_value(key) == getattr(spec, key), (i, key)
        assert [values[k] for _, values in ledger.rows for k in ROW_KEYS] == \
            [getattr(r, k) for r in spec.rows for k in ROW_KEYS], i


def test_values_intact_in_the_tables(written, campaign):
    col, specs = written["col"], written["specs"]
    for i, spec in specs.items():
        unit = campaign.units[i].name
        rows = col.rows[col.rows["单位"] == unit]
        assert len(rows) == len(spec.rows), unit
        for key, header in TEXT_COLUMNS.items():
            assert list(rows[header]) == [expected_text(getattr(r, key)) for r in spec.rows], (i, header)
        sub = col.submissions.set_index("单位").loc[unit]
        # 提交情况 keeps the block's text as read; characters Excel rejects go on writing.
        assert strip_control_chars(sub["第一责任人"])[0] == expected_text(spec.secretary)
        assert strip_control_chars(sub["联络员"])[0] == expected_text(spec.liaison)
    assert HOSTILE_UNIT in set(col.submissions["单位"])


def test_control_characters_stripped_with_a_finding(written, campaign):
    col, spec = written["col"], written["specs"][CONTROL]
    unit = campaign.units[CONTROL].name
    rows = col.rows[col.rows["单位"] == unit]
    for header in TEXT_COLUMNS.values():
        for value in rows[header]:
            assert not FORBIDDEN.search(value), (header, value)
    assert list(rows["整顿对象"]) == [r.target.replace("\x01", "").replace("\x0b", "").replace("\x1f", "")
                                   for r in spec.rows]
    found = col.findings[(col.findings["单位"] == unit) & (col.findings["代码"] == "value.control_chars")]
    cells = set(found["单元格"])
    assert len(found) >= len(TEXT_COLUMNS) * len(spec.rows), found
    assert {"G3", "C4", "G4", "I4"} <= cells       # 第一责任人, 联络员, 联系电话, QQ号码 of the block


def test_control_characters_alone_are_not_an_error(tmp_path, campaign, hb):
    """A correct ledger whose cells carry a stray control character (pasted from a web page)
    gets the value.control_chars warning; the values, once stripped as the summary shows them,
    are correct, so there is no error: a name is still a name, a QQ number still a number."""
    import os

    spec = clean_ledger(campaign, campaign.units[0], seed=1)

    def taint(value):
        text = _text(value)
        return "\x01" + text if text else text

    spec = replace(spec, rows=[RowSpec(**{k: taint(getattr(r, k)) for k in ROW_KEYS}) for r in spec.rows],
                   **{k: taint(getattr(spec, k)) for k in FIELDS})
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = inbox / "ledger.xlsx"
    path.write_bytes(hb.spec_bytes(spec, campaign, tmp_path))
    on_time = dt.datetime(2019, 9, 12, 9, 0).timestamp()
    os.utime(path, (on_time, on_time))
    col = collect(inbox, campaign, workers=1)
    unit = campaign.units[0].name
    found = col.findings[col.findings["单位"] == unit]
    assert set(found["代码"]) == {"value.control_chars"}, \
        found[found["代码"] != "value.control_chars"][["代码", "单元格", "说明"]].to_string()
    assert col.submissions.set_index("单位").loc[unit, "状态"] == "已通过"


def test_long_text_kept_whole_in_the_collection(written, campaign):
    col = written["col"]
    unit = campaign.units[LONG_UNIT].name
    ledger = col.ledgers[unit]
    assert ledger.rows[0][1]["detail"] == LONG
    assert ledger.rows[0][1]["remarks"] == LONG_EQ
    rows = col.rows[col.rows["单位"] == unit]
    assert rows["具体问题"].iloc[0] == LONG
    assert rows["备注"].iloc[0] == LONG_EQ


# --------------------------------------------------------------------------- the workbooks

def test_no_formula_in_any_cell_of_any_written_workbook(written):
    assert len(written["feedback"]) == len(PAYLOADS) + 4      # + long text, named, HTML, CSV
    for path in workbooks(written):
        for sheet, cell in every_cell(path):
            where = f"{path.name} {sheet}!{cell.coordinate}"
            assert cell.data_type != "f", f"{where} is a formula: {cell.value!r}"
            if isinstance(cell.value, str) and cell.value.startswith("="):
                assert cell.data_type == "s", where


def test_no_formula_element_in_the_worksheet_xml(written):
    for path in workbooks(written):
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                    xml = zf.read(name)
                    assert not re.search(rb"<(?:\w+:)?f[\s>/]", xml), f"{path.name}:{name} holds a formula"
            assert not any(n.startswith("xl/externalLinks/") for n in zf.namelist()), path.name


def test_payloads_are_in_the_outputs_as_text(written, campaign):
    texts = {cell.value for _, cell in every_cell(written["summary"]) if isinstance(cell.value, str)}
    spec = written["specs"][PAYLOADS.index('=HYPERLINK("http://x","y")')]
    assert expected_text(spec.rows[0].measure) in texts
    assert HOSTILE_UNIT in texts
    spec = written["specs"][PAYLOADS.index("=cmd|' /C calc'!A0")]
    assert expected_text(spec.rows[0].target) in texts
    # In a feedback copy, the unit's own cells keep what the unit typed, as text.
    unit = campaign.units[PAYLOADS.index("=cmd|' /C calc'!A0")].name
    [copy] = [p for p in written["feedback"] if unit in p.name]
    copy_texts = {cell.value for _, cell in every_cell(copy) if isinstance(cell.value, str)}
    assert spec.rows[0].target in copy_texts


def test_no_external_hyperlink_in_the_outputs(written):
    for path in workbooks(written):
        wb = openpyxl.load_workbook(path)
        for ws in wb.worksheets:
            for link in ws._hyperlinks:
                assert not (link.target or "").lower().startswith(("http", "file", "\\\\")), (path.name, link.target)
            for row in ws.iter_rows():
                for cell in row:
                    if cell.hyperlink is not None:
                        target = cell.hyperlink.target or ""
                        assert not target.lower().startswith(("http", "file", "\\\\")), (path.name, target)


def test_no_control_characters_in_the_outputs(written):
    for path in workbooks(written):
        for sheet, cell in every_cell(path):
            if isinstance(cell.value, str):
                assert not FORBIDDEN.search(cell.value), f"{path.name} {sheet}!{cell.coordinate}"


def test_long_text_in_the_summary_as_documented(written, campaign):
    """summary.py: a text over 32,767 characters keeps its head and a note in the cell, and is
    written whole, in pieces, to the 超长文本 sheet, one row per long cell."""
    wb = openpyxl.load_workbook(written["summary"])
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert len(cell.value) <= EXCEL_CELL_LIMIT, f"{ws.title}!{cell.coordinate}"
    rows = list(wb["汇总台账"].iter_rows(values_only=True))
    header = rows[0]
    detail, remarks = header.index("具体问题"), header.index("备注")
    [long_row] = [r for r in rows[1:] if isinstance(r[detail], str) and r[detail].startswith(LONG[:100])]
    assert "40000" in long_row[detail] and "超长文本" in long_row[detail]
    assert long_row[remarks].startswith(LONG_EQ[:100])
    overflow = list(wb["超长文本"].iter_rows(values_only=True))
    pieces = {"".join(v for v in r[3:] if isinstance(v, str)) for r in overflow[1:]}
    assert LONG in pieces and LONG_EQ in pieces


def test_no_cell_longer_than_excel_allows_in_the_feedback_copies(written):
    for path in written["feedback"]:
        for sheet, cell in every_cell(path):
            if isinstance(cell.value, str):
                assert len(cell.value) <= EXCEL_CELL_LIMIT, \
                    f"{path.name} {sheet}!{cell.coordinate} holds {len(cell.value)} characters"


def test_feedback_files_stay_in_their_folder(written):
    folder = written["feedback_dir"].resolve()
    names = [p.name for p in written["feedback"]]
    assert len(names) == len(set(names))
    for path in written["feedback"]:
        assert path.resolve().parent == folder and path.exists()
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)


# --------------------------------------------------------------------------- real formulas

def test_real_formulas_in_a_returned_workbook_do_not_reach_the_outputs(tmp_path, campaign, hb):
    """A unit sends back its ledger with formula cells (a HYPERLINK and a DDE call) in 备注:
    the department's summary and the marked-up copy must hold values, never the formulas."""
    from ledgerbook.feedback import write_feedback
    from ledgerbook.summary import write_summary

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "formulas.xlsx").write_bytes(hb.with_real_formulas(hb.ledger_bytes(campaign, 0, tmp=tmp_path)))
    col = collect(inbox, campaign, workers=1)
    ledger = col.ledgers[campaign.units[0].name]
    assert [values["remarks"] for _, values in ledger.rows][:2] == ["点击查看", "0"]   # cached values
    outputs = [write_summary(col, tmp_path / "out.xlsx"), *write_feedback(col, tmp_path / "fb", all_units=True)]
    assert len(outputs) == 2
    for path in outputs:
        for sheet, cell in every_cell(Path(path)):
            assert cell.data_type != "f", f"{Path(path).name} {sheet}!{cell.coordinate}: {cell.value!r}"
