"""The locked ledger form: written with xlsxwriter, read back with openpyxl and asserted on."""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import os
import textwrap
import zipfile
from pathlib import Path

import openpyxl
import pytest
from defusedxml import minidom
from openpyxl.utils import get_column_letter, range_boundaries

from ledgerbook.campaign import Unit, load_campaign
from ledgerbook.excel import cell_a1
from ledgerbook.errors import OutputError
from ledgerbook.form import FIELD_SLOTS, Layout, template_layout
from ledgerbook.text import normalize_label
from ledgerbook.rules import LISTS, MARKER_KEYS, Fill, ValidationSpec, list_sources, marker_rows, validation_specs
from ledgerbook.template import unit_template_name, write_template, write_unit_templates

EXCEL_EPOCH = dt.date(1899, 12, 30)
REFERENCE = Path(__file__).parent / "data" / "template" / "master"
REFRESH = "LEDGERBOOK_REFRESH_REFERENCE=1 python -m pytest tests/test_template.py -k reference"
# Parts that change on every run: the creation time.
VOLATILE_PARTS = {"docProps/core.xml"}


def serial(day: dt.date) -> str:
    """A date as the serial number Excel stores in a validation formula."""
    return str((day - EXCEL_EPOCH).days)


def resolve(wb, name: str) -> list:
    """The values of the cells a workbook-level defined name points at."""
    values = []
    for sheet, ref in wb.defined_names[name].destinations:
        cells = wb[sheet][ref.replace("$", "")]
        values += [c.value for row in cells for c in row]
    return values


def validations(ws) -> dict[str, object]:
    return {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}


def merged_span(ws, row: int, col: int) -> list[tuple[int, int]]:
    """Every (row, col), 0-based, of the merged range whose top-left is (row, col), or the cell."""
    for rng in ws.merged_cells.ranges:
        if rng.min_row == row + 1 and rng.min_col == col + 1:
            return [(r - 1, c - 1) for r in range(rng.min_row, rng.max_row + 1)
                    for c in range(rng.min_col, rng.max_col + 1)]
    return [(row, col)]


def cell(ws, row: int, col: int):
    return ws.cell(row=row + 1, column=col + 1)


@pytest.fixture(scope="module")
def layout(form):
    return template_layout(form)


@pytest.fixture(scope="module")
def master_path(campaign, tmp_path_factory):
    return write_template(campaign, tmp_path_factory.mktemp("master") / "台账模板.xlsx")


@pytest.fixture(scope="module")
def master(master_path):
    return openpyxl.load_workbook(master_path)


@pytest.fixture(scope="module")
def unit_paths(campaign, tmp_path_factory):
    return write_unit_templates(campaign, tmp_path_factory.mktemp("units"))


@pytest.fixture(scope="module")
def other_campaign(tmp_path_factory):
    path = tmp_path_factory.mktemp("other") / "campaign.toml"
    path.write_text(textwrap.dedent("""\
        [campaign]
        institution = "江南师范学院"
        department = "党委组织部"
        title = "基层党组织建设提升行动整顿台账"
        start = 2021-03-01
        ledger_due = 2021-03-15
        report_due = 2021-05-20
        rectification_due = 2021-05-31
        contact = "林青"
        contact_phone = "0510-85912345"
        contact_email = "zzb@jnsf.example.edu.cn"

        [[units]]
        name = "文学院党委"
        secretary = "高远"

        [[units]]
        name = "理学院党委"

        [[units]]
        name = "机关党总支"
        secretary = "沈佳"

        [menu]
        problems = [
            "支部组织生活不规范问题",
            "党员教育管理不严格问题",
            "支部书记队伍建设薄弱问题",
            "党建与业务工作结合不紧问题",
        ]
        """), encoding="utf-8")
    return load_campaign(path)


# --------------------------------------------------------------------------- sheets and marker


def test_sheets_in_order_ledger_first_and_active_marker_very_hidden(master, form):
    assert master.sheetnames == [form.sheet, form.instructions_sheet, form.marker_sheet]
    assert master.active.title == form.sheet
    assert master[form.sheet].sheet_state == "visible"
    assert master[form.instructions_sheet].sheet_state == "visible"
    assert master[form.marker_sheet].sheet_state == "veryHidden"
    assert master[form.marker_sheet].protection.sheet


def _marker(wb, form) -> dict:
    ws = wb[form.marker_sheet]
    return {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(1, len(MARKER_KEYS) + 1)}


def test_marker_of_master(master, campaign, form):
    marker = _marker(master, form)
    assert marker == {
        "表单版本": form.version,
        "活动": campaign.full_title,
        "单位": None,
        "机构": campaign.institution,
    }
    assert marker_rows(campaign) == [(k, "" if v is None else v) for k, v in marker.items()]


def test_marker_of_unit_copy_names_the_unit(unit_paths, campaign, form):
    for path, unit in zip(unit_paths, campaign.units):
        marker = _marker(openpyxl.load_workbook(path), form)
        assert marker["单位"] == unit.name
        assert marker["活动"] == campaign.full_title
        assert marker["表单版本"] == form.version


def test_document_properties(master, campaign):
    props = master.properties
    assert props.title == campaign.full_title
    assert props.creator == campaign.department
    assert campaign.form.version in (props.keywords or "")


def test_company_property_is_the_institution(master_path, campaign):
    app = zipfile.ZipFile(master_path).read("docProps/app.xml").decode("utf-8")
    assert f"<Company>{campaign.institution}</Company>" in app


# --------------------------------------------------------------------------- the ledger sheet


def test_title_subtitle_and_guidance(master, campaign, form, layout):
    ws = master[form.sheet]
    last = get_column_letter(len(form.columns))
    assert ws["A1"].value == campaign.full_title
    assert f"A1:{last}1" in {str(r) for r in ws.merged_cells.ranges}
    assert ws["A1"].font.b and ws["A1"].font.sz >= 16
    assert ws["A1"].alignment.horizontal == "center"
    subtitle = " ".join(str(c.value) for c in ws[2] if c.value)
    assert form.attachment in subtitle
    assert "2019年9月13日" in subtitle and campaign.department in subtitle
    assert campaign.contact in subtitle and campaign.contact_phone in subtitle
    guidance = cell(ws, layout.header_row - 1, 0).value
    assert guidance and form.instructions_sheet in guidance
    assert "2019年9月3日" in guidance and "2019年10月31日" in guidance
    assert f"A{layout.header_row}:{last}{layout.header_row}" in {str(r) for r in ws.merged_cells.ranges}


def test_unit_block_labels_and_spans_follow_layout(master, form, layout):
    ws = master[form.sheet]
    for fld in form.fields:
        row, label_col = layout.labels[fld.key]
        label = cell(ws, row, label_col)
        assert normalize_label(label.value) == normalize_label(fld.label)
        assert label.value.endswith(fld.label)
        assert label.value.startswith("*") == fld.required
        assert label.font.b and label.fill.fgColor.rgb.endswith("D9D9D9")
        slot = next(s for s in FIELD_SLOTS if s[0] == label_col)
        assert len(merged_span(ws, row, label_col)) == slot[1]
        value_row, value_col = layout.fields[fld.key]
        assert (value_row, value_col) == (row, slot[2])
        assert len(merged_span(ws, row, value_col)) == slot[3]
        assert cell(ws, row, value_col).border.left.style == "thin"


def test_header_and_prepared_rows(master, form, layout):
    ws = master[form.sheet]
    for col in form.columns:
        c = layout.columns[col.key]
        head = cell(ws, layout.header_row, c)
        assert normalize_label(head.value) == normalize_label(col.label)
        assert head.value.startswith("*") == col.required
        assert head.font.b and head.alignment.wrap_text and head.border.bottom.style == "thin"
        # Adjacent columns of equal width share one <col> element (min..max).
        width = next(d.width for d in ws.column_dimensions.values() if d.min <= c + 1 <= d.max)
        assert width == pytest.approx(col.width, abs=0.8)
    seq = layout.columns["seq"]
    assert [cell(ws, r, seq).value for r in range(layout.first_row, layout.last_row + 1)] == \
        list(range(1, form.input_rows + 1))
    assert layout.last_row - layout.first_row + 1 == form.input_rows
    for r in (layout.first_row, layout.last_row):
        for col in form.columns:
            if col.kind == "seq":
                continue
            c = cell(ws, r, layout.columns[col.key])
            assert c.border.left.style == "thin"
            if col.kind == "date":
                assert c.number_format == "yyyy-mm-dd"
            else:
                assert c.alignment.wrap_text and c.alignment.vertical == "top"


def test_freeze_print_setup(master, form, layout):
    ws = master[form.sheet]
    assert ws.freeze_panes == cell_a1(layout.first_row, 0)
    assert ws.print_title_rows == f"${layout.header_row + 1}:${layout.header_row + 1}"
    # A4 landscape at a fixed scale that keeps the form's 11 pt text at 9 pt or more on paper
    # (never fitted to the page, which made it 5.8 pt).
    assert ws.page_setup.orientation == "landscape"
    assert ws.page_setup.paperSize == 9
    assert not ws.sheet_properties.pageSetUpPr or not ws.sheet_properties.pageSetUpPr.fitToPage
    assert 11 * ws.page_setup.scale / 100 >= 9
    assert form.title in ws.oddHeader.left.text and ws.oddHeader.right.text == "&A" and ws.oddHeader.right.size == 10
    last = get_column_letter(len(form.columns))
    assert ws.print_area == f"'{form.sheet}'!$A$1:${last}${layout.last_row + 1}"
    assert ws.page_margins.left <= 0.3 and ws.page_margins.right <= 0.3
    assert "&P" in ws.oddFooter.center.text


# --------------------------------------------------------------------------- protection


def _input_cells(ws, form, layout) -> list[tuple[int, int]]:
    cells = []
    for key in layout.fields:
        cells += merged_span(ws, *layout.fields[key])
    for col in form.columns:
        if col.kind != "seq":
            c = layout.columns[col.key]
            cells += [(r, c) for r in range(layout.first_row, layout.last_row + 1)]
    return cells


def test_sheet_protected_with_formatting_and_row_insertion_allowed(master, form):
    prot = master[form.sheet].protection
    assert prot.sheet
    # OOXML flags say what is *protected*: False means the unit may do it.
    assert prot.formatColumns is False and prot.formatRows is False
    assert prot.insertRows is False
    assert prot.deleteRows and prot.insertColumns and prot.deleteColumns
    assert not prot.selectLockedCells and not prot.selectUnlockedCells
    assert master[form.instructions_sheet].protection.sheet


def test_only_input_cells_are_unlocked(master, form, layout):
    ws = master[form.sheet]
    inputs = _input_cells(ws, form, layout)
    assert len(inputs) == len(set(inputs)) >= (len(form.columns) - 1) * form.input_rows
    for row, col in inputs:
        assert cell(ws, row, col).protection.locked is False, cell_a1(row, col)
    width = len(form.columns)
    seq = layout.columns["seq"]
    locked = [(0, 0), (0, width - 1), (1, 0), (1, width - 1), (layout.header_row - 1, 0)]
    locked += [layout.labels[k] for k in layout.labels]
    locked += [(layout.header_row, c) for c in range(width)]
    locked += [(r, seq) for r in range(layout.first_row, layout.last_row + 1)]
    locked += [(r, width) for r in (0, layout.header_row, layout.first_row, layout.last_row)]
    locked += [(layout.last_row + 1, 1), (layout.last_row + 5, 4), (200, 30)]
    for row, col in locked:
        assert cell(ws, row, col).protection.locked is not False, cell_a1(row, col)


# --------------------------------------------------------------------------- validations


def test_each_spec_is_written_on_its_range(master, campaign, form, layout):
    found = validations(master[form.sheet])
    specs = validation_specs(campaign, layout)
    assert set(found) == {s.sqref for s in specs}
    for spec in specs:
        dv = found[spec.sqref]
        assert (dv.type or "any") == spec.type
        assert dv.prompt == spec.input_message and dv.prompt
        assert dv.promptTitle == spec.input_title and dv.showInputMessage
        if spec.type != "any":
            assert dv.error == spec.error_message and dv.error
            assert dv.errorTitle and dv.showErrorMessage
            assert (dv.errorStyle or "stop") == spec.error_type


def test_problem_and_progress_lists_use_defined_names(master, form, layout):
    found = validations(master[form.sheet])
    for key, name in (("problem", "lb_problems"), ("progress", "lb_progress")):
        c = layout.columns[key]
        dv = found[f"{cell_a1(layout.first_row, c)}:{cell_a1(layout.last_row, c)}"]
        assert dv.type == "list" and dv.formula1 == name
        assert (dv.errorStyle or "stop") == "stop"
    assert "E7:E66" in found  # the brief's worked example for the built-in form


def test_deadline_is_a_date_inside_the_campaign_window(master, campaign, form, layout):
    c = layout.columns["deadline"]
    dv = validations(master[form.sheet])[f"{cell_a1(layout.first_row, c)}:{cell_a1(layout.last_row, c)}"]
    assert dv.type == "date" and dv.operator in (None, "between")
    assert (dv.formula1, dv.formula2) == (serial(campaign.start), serial(campaign.rectification_due))
    assert (dv.formula1, dv.formula2) == ("43711", "43769")
    assert "2019-09-03" in dv.prompt and "2019-10-31" in dv.prompt and "{" not in dv.prompt


def test_unit_block_validations(master, campaign, form, layout):
    found = validations(master[form.sheet])
    at = {key: found.get(cell_a1(*pos)) for key, pos in layout.fields.items()}
    assert at["unit"].type == "list" and at["unit"].formula1 == "lb_units"
    assert (at["phone"].type, at["phone"].formula1, at["phone"].formula2) == ("textLength", "7", "20")
    assert (at["qq"].type, at["qq"].formula1, at["qq"].formula2) == ("textLength", "5", "11")
    assert at["phone"].errorStyle == at["qq"].errorStyle == "warning"
    assert at["filled_on"].type == "date" and at["filled_on"].formula1 == serial(campaign.start)
    for key in ("secretary", "liaison"):
        assert at[key].type is None and at[key].prompt == form.field(key).prompt


def test_person_columns_get_a_prompt_only(master, form, layout):
    found = validations(master[form.sheet])
    for col in form.columns:
        if col.kind == "person":
            c = layout.columns[col.key]
            dv = found[f"{cell_a1(layout.first_row, c)}:{cell_a1(layout.last_row, c)}"]
            assert dv.type is None and dv.prompt == col.prompt and not dv.error


def test_defined_names_point_at_the_lists_on_the_marker_sheet(master, campaign, form):
    assert set(LISTS.values()) <= set(master.defined_names)
    for name, _ in master.defined_names.items():
        assert all(sheet == form.marker_sheet for sheet, _ in master.defined_names[name].destinations)
    assert resolve(master, "lb_problems") == list(form.problems)
    assert len(form.problems) == 8
    assert resolve(master, "lb_progress") == list(form.progress_values)
    assert resolve(master, "lb_units") == list(campaign.unit_names)


def test_validation_specs_are_library_neutral(campaign, layout):
    specs = {s.key: s for s in validation_specs(campaign, layout)}
    problem = specs["problem"]
    assert dataclasses.is_dataclass(problem) and isinstance(problem, ValidationSpec)
    with pytest.raises(dataclasses.FrozenInstanceError):
        problem.sqref = "A1"  # type: ignore[misc]
    assert (problem.type, problem.formula1, problem.sqref) == ("list", "=lb_problems", "E7:E66")
    deadline = specs["deadline"]
    assert (deadline.type, deadline.operator) == ("date", "between")
    assert (deadline.minimum, deadline.maximum) == (campaign.start, campaign.rectification_due)
    assert type(deadline.minimum) is dt.date
    assert specs["unit"].formula1 == "=lb_units"
    assert "seq" not in specs and "remarks" not in specs
    for spec in specs.values():
        assert len(spec.input_title) <= 32 and len(spec.error_title) <= 32
        assert 0 < len(spec.input_message) <= 255 and len(spec.error_message) <= 255
        assert "{" not in spec.input_message + spec.error_message


def test_validation_specs_follow_another_layout(campaign, layout):
    # A returned file with three rows inserted above the table and 备注 moved first.
    moved = dict(layout.columns) | {"problem": 0}
    shifted = Layout(header_row=layout.header_row + 3, first_row=layout.first_row + 3, last_row=layout.last_row + 10,
                     columns=moved, fields={"unit": (1, 1)})
    specs = {s.key: s for s in validation_specs(campaign, shifted)}
    assert specs["problem"].sqref == f"A{layout.first_row + 4}:A{layout.last_row + 11}"
    assert specs["unit"].sqref == "B2"
    assert "phone" not in specs  # a field the file does not have gets no validation


def test_list_sources_match_the_lists_constant(campaign, form):
    sources = list_sources(campaign)
    assert [s.name for s in sources] == list(LISTS.values())
    assert sources[0].values == form.problems
    assert sources[0].ref(form.marker_sheet) == "'_ledgerbook'!$D$2:$D$9"


# --------------------------------------------------------------------------- per-unit copies


def test_one_copy_per_roster_unit(unit_paths, campaign, form):
    assert len(unit_paths) == len(campaign.units)
    assert [p.name for p in unit_paths] == [f"{form.sheet}_{u.name}.xlsx" for u in campaign.units]


def test_unit_copy_has_its_name_locked_and_secretary_prefilled(unit_paths, campaign, form, layout):
    with_secretary = without = 0
    for path, unit in zip(unit_paths, campaign.units):
        wb = openpyxl.load_workbook(path)
        ws = wb[form.sheet]
        name_cell = cell(ws, *layout.fields["unit"])
        assert name_cell.value == unit.name
        assert name_cell.protection.locked is not False
        assert cell_a1(*layout.fields["unit"]) not in validations(ws)
        secretary = cell(ws, *layout.fields["secretary"])
        assert secretary.value == unit.secretary
        assert secretary.protection.locked is False
        with_secretary += unit.secretary is not None
        without += unit.secretary is None
        assert validations(ws)["E7:E66"].formula1 == "lb_problems"
    assert with_secretary and without  # the default roster has both kinds


def test_unit_specs_leave_out_the_unit_drop_down(campaign, layout):
    keys = [s.key for s in validation_specs(campaign, layout, campaign.units[0])]
    assert "unit" not in keys and "problem" in keys


def test_unit_file_names_are_safe_and_distinct(campaign, tmp_path):
    units = (Unit(name="经管学院|党委"), Unit(name="经管学院?党委"), Unit(name=" 化学:化工/学院党委. "))
    assert unit_template_name(campaign, units[2]) == f"{campaign.form.sheet}_化学_化工_学院党委.xlsx"
    paths = write_unit_templates(dataclasses.replace(campaign, units=units), tmp_path / "out")
    assert [p.name for p in paths] == [
        f"{campaign.form.sheet}_经管学院_党委.xlsx",
        f"{campaign.form.sheet}_经管学院_党委_2.xlsx",
        f"{campaign.form.sheet}_化学_化工_学院党委.xlsx",
    ]
    assert all(p.is_file() for p in paths)


def test_unwritable_path_is_an_output_error(campaign, tmp_path):
    (tmp_path / "taken.xlsx").mkdir()
    with pytest.raises(OutputError, match="无法写入"):
        write_template(campaign, tmp_path / "taken.xlsx")


# --------------------------------------------------------------------------- filled forms


def test_fill_types_values_as_a_unit_would(campaign, form, layout, tmp_path):
    rows = [{"target": "机关第一党支部", "problem": form.problems[0], "owner": "张三",
                     "deadline": dt.datetime(2019, 10, 31), "remarks": 3}]
    rows += [{"target": f"支部{i}", "deadline": "10月底前"} for i in range(form.input_rows + 1)]
    fill = Fill({"unit": "机关党委", "phone": 13812345678, "filled_on": dt.date(2019, 9, 12)}, rows)
    path = write_template(campaign, tmp_path / "filled.xlsx", campaign.units[0], fill=fill)
    ws = openpyxl.load_workbook(path)[form.sheet]
    assert cell(ws, *layout.fields["unit"]).value == "机关党委"
    assert cell(ws, *layout.fields["phone"]).value == 13812345678
    assert cell(ws, *layout.fields["filled_on"]).value == dt.datetime(2019, 9, 12)
    assert cell(ws, *layout.fields["secretary"]).value is None  # the fill replaces the prefill
    first = layout.first_row
    assert cell(ws, first, layout.columns["problem"]).value == form.problems[0]
    assert cell(ws, first, layout.columns["deadline"]).value == dt.datetime(2019, 10, 31)
    assert cell(ws, first, layout.columns["deadline"]).number_format == "yyyy-mm-dd"
    assert cell(ws, first, layout.columns["remarks"]).value == 3
    assert cell(ws, first + 1, layout.columns["deadline"]).value == "10月底前"
    beyond = first + len(rows) - 1  # past the prepared rows: the table goes on
    assert beyond > layout.last_row
    assert cell(ws, beyond, layout.columns["seq"]).value == len(rows)
    assert cell(ws, beyond, layout.columns["target"]).value == f"支部{form.input_rows}"
    assert ws.protection.sheet


def test_fill_can_leave_the_sheet_unprotected(campaign, form, tmp_path):
    fill = Fill({"unit": "机关党委"}, [], unprotect=True)
    wb = openpyxl.load_workbook(write_template(campaign, tmp_path / "open.xlsx", fill=fill))
    assert not wb[form.sheet].protection.sheet
    assert wb[form.marker_sheet].protection.sheet


# --------------------------------------------------------------------------- instructions


def test_instructions_sheet(master, campaign, form):
    ws = master[form.instructions_sheet]
    text = "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)
    for problem in form.problems:
        assert problem in text
    for day in ("2019年9月13日", "2019年10月25日", "2019年10月31日", "2019年9月3日"):
        assert day in text
    for fact in (campaign.contact, campaign.contact_phone, campaign.contact_email, campaign.department):
        assert fact in text
    assert "支委会" in text and all(v in text for v in form.progress_values)
    assert ws.column_dimensions["B"].width >= 80
    assert ws["B3"].alignment.wrap_text
    assert ws.protection.sheet


# --------------------------------------------------------------------------- another campaign


def test_another_campaign_changes_the_form_without_code(other_campaign, tmp_path, layout):
    form = other_campaign.form
    path = write_template(other_campaign, tmp_path / "other.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb[form.sheet]
    assert ws["A1"].value == "江南师范学院基层党组织建设提升行动整顿台账"
    c = layout.columns["deadline"]
    dv = validations(ws)[f"{cell_a1(layout.first_row, c)}:{cell_a1(layout.last_row, c)}"]
    assert (dv.formula1, dv.formula2) == (serial(dt.date(2021, 3, 1)), serial(dt.date(2021, 5, 31)))
    assert "2021-03-01" in dv.prompt and "2021-05-31" in dv.prompt
    assert resolve(wb, "lb_units") == ["文学院党委", "理学院党委", "机关党总支"]
    assert resolve(wb, "lb_problems") == list(form.problems) and len(form.problems) == 4
    guide = " ".join(str(c.value) for c in ws[layout.header_row] if c.value)
    assert "2021年3月1日" in guide
    text = "\n".join(str(c.value) for row in wb[form.instructions_sheet].iter_rows() for c in row if c.value)
    assert "江南师范学院" in text and "共4项" in text and "林青" in text and "2021年5月20日" in text
    assert "支部书记队伍建设薄弱问题" in text
    everything = text + "".join(str(c.value) for row in ws.iter_rows() for c in row if c.value)
    assert "湖南科技大学" not in everything and "雷鸣" not in everything
    # Every campaign date is the new one (the form's own prompts may still carry examples).
    assert not any(day in everything for day in ("2019年", "2019-09-03", "2019-09-13", "2019-10-31"))
    assert _marker(wb, form)["机构"] == "江南师范学院"


def test_another_campaign_unit_copies(other_campaign, tmp_path, layout):
    paths = write_unit_templates(other_campaign, tmp_path)
    assert [p.name for p in paths] == ["整顿台账_文学院党委.xlsx", "整顿台账_理学院党委.xlsx", "整顿台账_机关党总支.xlsx"]
    ws = openpyxl.load_workbook(paths[2])[other_campaign.form.sheet]
    assert cell(ws, *layout.fields["unit"]).value == "机关党总支"
    assert cell(ws, *layout.fields["secretary"]).value == "沈佳"


# --------------------------------------------------------------------------- LibreOffice


@pytest.mark.soffice
def test_libreoffice_prints_and_resaves_the_master(master_path, form, tmp_path):
    from soffice_helpers import soffice_convert

    (pdf,) = soffice_convert([master_path], "pdf", tmp_path / "pdf")
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 10_000
    (resaved,) = soffice_convert([master_path], "xlsx", tmp_path / "xlsx")
    wb = openpyxl.load_workbook(resaved)
    ws = wb[form.sheet]
    assert ws.protection.sheet
    dv = validations(ws)["E7:E66"]
    assert dv.type == "list"
    source = dv.formula1
    if source in wb.defined_names:
        problems = resolve(wb, source)
    else:  # LibreOffice may write the range itself instead of the name
        sheet, ref = source.rsplit("!", 1)
        min_col, min_row, max_col, max_row = range_boundaries(ref.replace("$", ""))
        rows = wb[sheet.strip("'")].iter_rows(min_row=min_row, max_row=max_row, min_col=min_col,
                                              max_col=max_col, values_only=True)
        problems = [v for row in rows for v in row]
    assert problems == list(form.problems)


# --------------------------------------------------------------------------- reviewed reference


def xml_parts(path: Path) -> dict[str, str]:
    """The workbook's XML parts, pretty-printed, without the volatile ones."""
    with zipfile.ZipFile(path) as z:
        return {name: minidom.parseString(z.read(name)).toprettyxml(indent="  ")
                for name in sorted(z.namelist()) if name not in VOLATILE_PARTS}


def test_master_matches_the_reviewed_reference(master_path):
    """The master template part by part against a reviewed copy (XlsxWriter's own test style).

    The copy was written by one XlsxWriter release (its version is kept beside the parts); a
    newer release may write the same workbook in other XML, so the test extra pins that
    release's major.minor, and another one installed fails here (never skips silently) with
    how to review and refresh.
    """
    import xlsxwriter

    parts = xml_parts(master_path)
    made_with = REFERENCE.parent / "master.xlsxwriter-version"
    if os.environ.get("LEDGERBOOK_REFRESH_REFERENCE") == "1":
        for name, text in parts.items():
            target = REFERENCE / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        made_with.write_text(xlsxwriter.__version__ + "\n", encoding="utf-8")
    reference_version = made_with.read_text(encoding="utf-8").strip()
    if reference_version.split(".")[:2] != xlsxwriter.__version__.split(".")[:2]:
        pytest.fail(f"reference written by XlsxWriter {reference_version}, installed {xlsxwriter.__version__} "
                    f"(pyproject's test extra pins the reference's release): install it, or review the "
                    f"template under the new release, refresh with: {REFRESH} and move the pin")
    expected = {p.relative_to(REFERENCE).as_posix(): p.read_text(encoding="utf-8")
                for p in sorted(REFERENCE.rglob("*")) if p.is_file()}
    assert sorted(parts) == sorted(expected), f"parts differ; review the change, then refresh with: {REFRESH}"
    for name, text in parts.items():
        if text != expected[name]:
            diff = "".join(list(difflib.unified_diff(
                expected[name].splitlines(True), text.splitlines(True), f"reference/{name}", f"written/{name}"))[:60])
            pytest.fail(f"{name} differs from the reviewed reference; review, then refresh with: {REFRESH}\n{diff}")
