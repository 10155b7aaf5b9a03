"""The locked ledger form (附件2 菜单式整顿台账) that the department sends out, written with xlsxwriter.

Everything on the form comes from data: positions from :func:`ledgerbook.form.template_layout`,
labels, prompts, the menu and the progress values from the form definition, the title, dates,
contact and roster from the campaign. A workbook has three sheets:

* the ledger sheet (``整顿台账``): title, subtitle, the unit block, one guidance line, the header
  and ``form.input_rows`` prepared input rows; only the unit-block value cells and the table
  input cells are unlocked, the sheet is protected without a password (a password the department
  forgets would lock it out as well; protection is there to stop accidents, and ingest reports an
  unprotected returned sheet as ``file.unprotected``);
* the instructions sheet (``填表说明``);
* the hidden, protected marker sheet (``_ledgerbook``): form version, campaign, unit, and the
  drop-down source lists that the workbook's defined names (:data:`LISTS`) point at.

Inserting rows is allowed on the protected sheet: every data validation and the unlocked
format cover the whole prepared range, and a row inserted inside that range takes both over
(Excel extends the validation ranges, the new row copies the unlocked format of its
neighbour), so a unit that needs more (target, problem) rows than prepared inserts them in the
middle of the table and keeps its drop-downs. Deleting rows and inserting or deleting columns
stay off: they would change the layout the reader expects.

The lists, the marker, the protection and the data validations are the form's rules, kept
library-neutral in :mod:`ledgerbook.rules` so that the feedback writer re-applies the same
rules with openpyxl; this module only writes them with xlsxwriter.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import xlsxwriter
from xlsxwriter.exceptions import FileCreateError
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from . import paper
from .campaign import Campaign, Unit
from .excel import row_height
from .errors import OutputError
from .form import FIELD_SLOTS, SUBTITLE_ROW, TITLE_ROW, Form, Layout, template_layout
from .outputs import safe_file_name, unique_file_name
from .rules import (
    MARKER_PROPERTY_PREFIX, SHEET_PROTECTION, Fill, ListSource, ValidationSpec, column_label, fill_placeholders,
    iso_date, labels_by_kind, list_sources, marker_rows, vague_examples, validation_specs,
)
from .text import cn_date

__all__ = ["unit_template_name", "write_template", "write_unit_templates"]

# The text column of the instructions sheet, in characters: A4 portrait at full size.
_INSTRUCTIONS_WIDTH = 92

_XLSXWRITER_TYPES = {"list": "list", "date": "date", "textLength": "length", "custom": "custom", "any": "any"}
_XLSXWRITER_CRITERIA = {
    "between": "between", "notBetween": "not between", "equal": "equal to", "notEqual": "not equal to",
    "greaterThan": "greater than", "lessThan": "less than",
    "greaterThanOrEqual": "greater than or equal to", "lessThanOrEqual": "less than or equal to",
}


def _xlsxwriter_options(spec: ValidationSpec) -> dict:
    options: dict = {"validate": _XLSXWRITER_TYPES[spec.type], "ignore_blank": spec.allow_blank,
                     "error_type": spec.error_type}
    if spec.formula1 is not None:
        options["source" if spec.type == "list" else "value"] = spec.formula1
    if spec.operator is not None:
        options["criteria"] = _XLSXWRITER_CRITERIA[spec.operator]
        options["minimum"] = spec.minimum
        if spec.maximum is not None:
            options["maximum"] = spec.maximum
    for name in ("input_title", "input_message", "error_title", "error_message"):
        if getattr(spec, name):
            options[name] = getattr(spec, name)
    return options


# --------------------------------------------------------------------------- styles


class _Styles:
    """The workbook's cell formats, made once per workbook."""

    FONT = {"font_name": "宋体", "font_charset": 134, "font_size": 11}
    GREY, HEADER_FILL, GUIDE_FILL, BORDER_COLOR = "#D9D9D9", "#DDEBF7", "#FFF2CC", "#808080"

    def __init__(self, wb: xlsxwriter.Workbook):
        def fmt(**props) -> Format:
            return wb.add_format({**self.FONT, **props})

        box = {"border": 1, "border_color": self.BORDER_COLOR}
        self.title = fmt(bold=True, font_name="黑体", font_size=18, align="center", valign="vcenter")
        self.attachment = fmt(bold=True, font_name="黑体", font_size=12, align="left", valign="vcenter")
        self.subtitle = fmt(align="right", valign="vcenter")
        self.label = fmt(bold=True, bg_color=self.GREY, align="center", valign="vcenter", text_wrap=True, **box)
        self.value = fmt(locked=False, bg_color="#FFFFFF", valign="vcenter", text_wrap=True, **box)
        self.value_text = fmt(locked=False, bg_color="#FFFFFF", valign="vcenter", num_format="@", **box)
        self.value_date = fmt(locked=False, bg_color="#FFFFFF", valign="vcenter", align="left",
                              num_format="yyyy-mm-dd", **box)
        # Filled in by the department and locked: grey so it does not look like an input.
        self.value_fixed = fmt(bold=True, bg_color="#F2F2F2", valign="vcenter", **box)
        self.guidance = fmt(font_color="#7F4F00", bg_color=self.GUIDE_FILL, valign="vcenter",
                            text_wrap=True, **box)
        self.header = fmt(bold=True, bg_color=self.HEADER_FILL, align="center", valign="vcenter",
                          text_wrap=True, **box)
        self.mark = fmt(bold=True, font_color="#C00000")  # rich-string fragment: the required "*"
        self.header_text = fmt(bold=True)
        self.seq = fmt(align="center", valign="top", **box)
        self.cell = fmt(locked=False, valign="top", text_wrap=True, **box)
        self.cell_date = fmt(locked=False, valign="top", align="center", num_format="yyyy-mm-dd", **box)
        self.doc_title = fmt(bold=True, font_name="黑体", font_size=16, align="center", valign="vcenter",
                             text_wrap=True)
        self.doc_heading = fmt(bold=True, font_name="黑体", font_size=12, valign="vcenter")
        self.doc_number = fmt(align="right", valign="top")
        self.doc_text = fmt(valign="top", text_wrap=True)
        self.plain = fmt()


# --------------------------------------------------------------------------- the ledger sheet


def _slot(label_col: int) -> tuple[int, int, int, int]:
    """The FIELD_SLOTS entry whose label sits in this column (gives the spans)."""
    for slot in FIELD_SLOTS:
        if slot[0] == label_col:
            return slot
    return (label_col, 1, label_col + 1, 1)


def _write_value(ws: Worksheet, row: int, col: int, value: object, fmt: Format, date_fmt: Format) -> None:
    """Write one value by its type; text always as text, never as a formula."""
    if isinstance(value, (dt.date, dt.datetime)):
        ws.write_datetime(row, col, value, date_fmt)
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value, fmt)
    elif isinstance(value, (int, float)):
        ws.write_number(row, col, value, fmt)
    elif value is None or value == "":
        ws.write_blank(row, col, None, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def _write_span(ws: Worksheet, row: int, col: int, span: int, value: object, fmt: Format,
                date_fmt: Format | None = None) -> None:
    """Write a value over `span` merged cells (xlsxwriter refuses to merge a single cell)."""
    if span > 1:
        ws.merge_range(row, col, row, col + span - 1, "", fmt)
    _write_value(ws, row, col, value, fmt, date_fmt or fmt)


def _write_label(ws: Worksheet, st: _Styles, row: int, col: int, span: int, label: str, required: bool) -> None:
    if span > 1:
        ws.merge_range(row, col, row, col + span - 1, "", st.label)
    _write_marked(ws, st, row, col, label, required, st.label)


def _write_marked(ws: Worksheet, st: _Styles, row: int, col: int, label: str, required: bool, fmt: Format) -> None:
    # A red "*" marks what must be filled in; the reader's label matching ignores it.
    if required:
        ws.write_rich_string(row, col, st.mark, "*", st.header_text, label, fmt)
    else:
        ws.write_string(row, col, label, fmt)


def _write_heading(ws: Worksheet, st: _Styles, campaign: Campaign, width: int) -> None:
    form = campaign.form
    ws.set_row(TITLE_ROW, 40)
    ws.merge_range(TITLE_ROW, 0, TITLE_ROW, width - 1, campaign.full_title, st.title)
    ws.set_row(SUBTITLE_ROW, 22)
    # 附件2 at the left as on the official attachment; due date and contact at the right.
    _write_span(ws, SUBTITLE_ROW, 0, 2, form.attachment, st.attachment)
    _write_span(ws, SUBTITLE_ROW, 2, width - 2, _subtitle(campaign), st.subtitle)


def _contact(campaign: Campaign) -> list[str]:
    """Whom to ask: the contact's name, phone and e-mail, those the campaign gives."""
    parts = [("联系人", campaign.contact), ("电话", campaign.contact_phone), ("邮箱", campaign.contact_email)]
    return [f"{what}：{value}" for what, value in parts if value]


def _subtitle(campaign: Campaign) -> str:
    due = f"请于{cn_date(campaign.ledger_due)}前报送{campaign.department}"
    return "　".join([due, *_contact(campaign)])


def _field_value(key: str, kind: str, unit: Unit | None) -> str | None:
    if unit is None:
        return None
    if kind == "unit":
        return unit.name
    if key == "secretary":  # 第一责任人: the roster's expected secretary, still editable
        return unit.secretary
    return None


def _write_unit_block(ws: Worksheet, st: _Styles, form: Form, layout: Layout, unit: Unit | None,
                      fill: Fill | None) -> None:
    value_formats = {"phone": st.value_text, "qq": st.value_text, "date": st.value_date}
    rows = {row for row, _ in layout.fields.values()}
    for row in rows:
        ws.set_row(row, 26)
    for fld in form.fields:
        if fld.key not in layout.fields:
            continue
        row, label_col = layout.labels[fld.key]
        _, label_span, _, value_span = _slot(label_col)
        _write_label(ws, st, row, label_col, label_span, fld.label, fld.required)
        _, value_col = layout.fields[fld.key]
        fixed = unit is not None and fld.kind == "unit"
        fmt = st.value_fixed if fixed else value_formats.get(fld.kind, st.value)
        value = fill.fields.get(fld.key) if fill is not None else _field_value(fld.key, fld.kind, unit)
        _write_span(ws, row, value_col, value_span, value, fmt, st.value_date)


def _guidance(campaign: Campaign) -> str:
    """The one-line reminder between the unit block and the table (labels from the form)."""
    form = campaign.form
    by_kind = labels_by_kind(form)
    menu = "、".join(by_kind.get("category", []))
    window = f"{cn_date(campaign.start)}至{cn_date(campaign.rectification_due)}"
    parts = [
        f"每个{column_label(form, 'target')}的每一项{menu}填一行",
        f"{'、'.join(by_kind.get('category', []) + by_kind.get('progress', []))}从下拉列表选择",
        f"{'、'.join(by_kind.get('person', []))}须写具体姓名，不写职务或集体",
        f"{'、'.join(by_kind.get('date', []))}填{window}之间的具体日期",
        "带*为必填项",
    ]
    return "填写提示：" + "；".join(parts) + f"。详见“{form.instructions_sheet}”工作表。"


def _write_table(ws: Worksheet, st: _Styles, form: Form, layout: Layout, fill: Fill | None) -> None:
    ws.set_row(layout.header_row, 34)
    for col in form.columns:
        c = layout.columns[col.key]
        _write_marked(ws, st, layout.header_row, c, col.label, col.required, st.header)
    typed = list(fill.rows) if fill is not None else []
    # Rows typed beyond the prepared ones continue the table, as rows the unit added.
    for i in range(max(form.input_rows, len(typed))):
        row, values = layout.first_row + i, typed[i] if i < len(typed) else {}
        if values:  # typed text: a height that shows it (blank rows keep Excel's autofit)
            ws.set_row(row, max(row_height(str(values.get(c.key) or ""), c.width) for c in form.columns))
        for col in form.columns:
            c = layout.columns[col.key]
            if col.kind == "seq":  # 序号 is the department's numbering: written and locked
                ws.write_number(row, c, i + 1, st.seq)
            else:
                fmt = st.cell_date if col.kind == "date" else st.cell
                _write_value(ws, row, c, values.get(col.key), fmt, st.cell_date)


def _setup_page(ws: Worksheet, campaign: Campaign, layout: Layout) -> None:
    """A4 landscape at a scale that keeps the form's 11 pt text at 9 pt or more (see paper)."""
    form = campaign.form
    setup = paper.choose([c.width for c in form.columns], _Styles.FONT["font_size"])
    paper.apply_xlsxwriter(ws, setup, title=campaign.full_title, repeat_rows=(layout.header_row, layout.header_row),
                           print_area=(0, 0, layout.last_row, len(form.columns) - 1), centre=True)
    ws.hide_gridlines(2)


def _write_ledger_sheet(ws: Worksheet, st: _Styles, campaign: Campaign, layout: Layout, unit: Unit | None,
                        fill: Fill | None) -> None:
    form = campaign.form
    width = len(form.columns)
    for col in form.columns:
        c = layout.columns[col.key]
        ws.set_column(c, c, col.width)
    _write_heading(ws, st, campaign, width)
    _write_unit_block(ws, st, form, layout, unit, fill)
    guide_row, guidance = layout.header_row - 1, _guidance(campaign)
    ws.set_row(guide_row, max(24, row_height(guidance, sum(c.width for c in form.columns), 14)))
    ws.merge_range(guide_row, 0, guide_row, width - 1, guidance, st.guidance)
    _write_table(ws, st, form, layout, fill)
    for spec in validation_specs(campaign, layout, unit):
        ws.data_validation(spec.sqref, _xlsxwriter_options(spec))
    ws.freeze_panes(layout.first_row, 0)
    _setup_page(ws, campaign, layout)
    if fill is None or not fill.unprotect:
        ws.protect(options=SHEET_PROTECTION)
    # Start where the unit begins typing: its name (master) or the first table cell.
    row, col = (layout.fields.get("unit") if unit is None else None) or (layout.first_row, min(1, width - 1))
    ws.set_selection(row, col, row, col)


# --------------------------------------------------------------------------- the other sheets


def _quoted(labels: list[str]) -> str:
    return "、".join(f"“{label}”" for label in labels)


_SECTION_NUMBERS = "一二三四五六七八九十"


def _rules(campaign: Campaign, unit: Unit | None) -> list[str]:
    """The general rules of 填表说明 (labels, dates and vocabularies from the data)."""
    form = campaign.form
    by_kind = labels_by_kind(form)
    target = column_label(form, "target")
    fields = {f.kind: f.label for f in form.fields}
    if unit is None:
        unit_rule = f"“{fields.get('unit', '')}”从下拉列表选择本单位全称"
    else:
        unit_rule = f"“{fields.get('unit', '')}”已填为“{unit.name}”，不能修改（如有误请联系{campaign.department}）"
    block = _quoted([f.label for f in form.fields if f.required and f.kind != "unit"])
    mail = f"邮箱 {campaign.contact_email}" if campaign.contact_email else ""
    return [
        f"本表为{form.attachment}{form.title}。每个直属党委（党总支部）至少确定1个{target}；"
        f"每个{target}对照下列重点问题逐项填写，一项问题填一行，同一{target}有多项问题时分多行填写。",
        f"表格上方的单位信息：{unit_rule}；{block}须填写完整。",
        f"{_quoted(by_kind.get('category', []) + by_kind.get('progress', []))}从下拉列表选择，请勿自行输入或改写"
        f"选项文字；{_quoted([column_label(form, 'measure')])}针对具体问题逐条写明，不同问题不要照搬同一条措施。",
        f"{_quoted(by_kind.get('person', []))}须填写具体人员姓名，可写多人；"
        f"不能只写职务或集体（如{_quoted(list(form.collectives[:3]))}）。",
        f"{_quoted(by_kind.get('date', []))}填写{cn_date(campaign.start)}至{cn_date(campaign.rectification_due)}"
        f"之间的具体日期，格式如{iso_date(campaign.rectification_due)}；不写{vague_examples(form)}等没有日期的表述。",
        f"{_quoted(by_kind.get('progress', []))}选择{'、'.join(form.progress_values)}之一，"
        f"集中整顿期间再次报送台账时一并更新。",
        "带红色*的为必填项。行数不够时，在表格中间（两行之间）插入行，新行自动带有下拉列表；"
        "请勿修改表头、增删列或重命名工作表。",
        f"请保存为 .xlsx 格式（WPS 用户请另存为 Excel 格式），文件名含本单位名称，"
        f"于{cn_date(campaign.ledger_due)}前发送至{campaign.department}{mail}。",
    ]


def _column_guide(campaign: Campaign, unit: Unit | None) -> list[str]:
    """One line per unit-block field and table column: its label and the form's prompt."""
    form = campaign.form
    items = [(f.label, f.required, f.prompt) for f in form.fields if not (unit and f.kind == "unit")]
    items += [(c.label, c.required, c.prompt) for c in form.columns]
    return [f"{'*' if required else ''}{label}：{fill_placeholders(prompt, campaign)}"
            for label, required, prompt in items if prompt]


def _instructions(campaign: Campaign, unit: Unit | None) -> list[tuple[str, str, str]]:
    """The 填表说明 content as (style, number, text) rows."""
    form = campaign.form
    liaison = [f.label for f in form.fields if f.key == "liaison" or f.kind in ("phone", "qq")]
    deadline = _quoted(labels_by_kind(form).get("date", []))
    milestones = sorted([
        (campaign.ledger_due, f"报送{form.title}及联络员信息（{'、'.join(liaison)}）"),
        (campaign.report_due, "报送自评报告（纸质档和电子档）"),
        (campaign.rectification_due, f"完成集中整顿，{deadline}不晚于此日"),
    ])
    menu = "、".join(labels_by_kind(form).get("category", []))
    sections = [
        ("填写要求", _rules(campaign, unit), True),
        ("各栏填写说明", _column_guide(campaign, unit), False),
        (f"{menu}（共{len(form.problems)}项）", list(form.problems), True),
        ("时间节点", [f"{cn_date(day)}前：{what}" for day, what in milestones], False),
        ("联系方式", ["　".join([campaign.department, *_contact(campaign)])], False),
    ]
    lines = [("title", "", f"{campaign.full_title}{form.instructions_sheet}")]
    for n, (heading, texts, numbered) in enumerate(sections):
        lines.append(("heading", "", f"{_SECTION_NUMBERS[n]}、{heading}"))
        lines += [("text", f"{i}." if numbered else "", text) for i, text in enumerate(texts, 1)]
    return lines


def _write_instructions(ws: Worksheet, st: _Styles, campaign: Campaign, unit: Unit | None) -> None:
    ws.set_column(0, 0, 5)
    ws.set_column(1, 1, _INSTRUCTIONS_WIDTH)
    styles = {"title": st.doc_title, "heading": st.doc_heading, "text": st.doc_text}
    for row, (kind, number, text) in enumerate(_instructions(campaign, unit)):
        if kind == "title":
            ws.set_row(row, 40)
            ws.merge_range(row, 0, row, 1, text, st.doc_title)
            continue
        ws.set_row(row, 26 if kind == "heading" else row_height(text, _INSTRUCTIONS_WIDTH))
        if number:
            ws.write_string(row, 0, number, st.doc_number)
        ws.write_string(row, 1, text, styles[kind])
    setup = paper.choose([5, _INSTRUCTIONS_WIDTH], _Styles.FONT["font_size"], portrait=True)
    paper.apply_xlsxwriter(ws, setup, title=campaign.full_title)
    ws.hide_gridlines(2)
    ws.protect(options={"format_columns": True, "format_rows": True})


def _write_marker(ws: Worksheet, st: _Styles, campaign: Campaign, unit: Unit | None,
                  sources: tuple[ListSource, ...]) -> None:
    for row, (key, value) in enumerate(marker_rows(campaign, unit)):
        ws.write_string(row, 0, key, st.plain)
        if value:
            ws.write_string(row, 1, value, st.plain)
    for source in sources:
        ws.write_string(0, source.column, source.title, st.plain)
        for i, value in enumerate(source.values, 1):
            ws.write_string(i, source.column, value, st.plain)
    ws.protect()
    # Very hidden: not listed under Excel's "Unhide…", so it is not unhidden and edited by chance.
    ws.very_hidden()


# --------------------------------------------------------------------------- workbooks


def _set_properties(wb: xlsxwriter.Workbook, campaign: Campaign, unit: Unit | None) -> None:
    form = campaign.form
    wb.set_properties({
        "title": campaign.full_title,
        "subject": f"{form.attachment} {form.title}" + (f"（{unit.name}）" if unit else ""),
        "author": campaign.department,
        "company": campaign.institution,
        "keywords": f"ledgerbook, {form.version}",
        "comments": f"{form.version}",
    })
    # The marker again as custom document properties: the reader finds it in one small XML
    # part instead of parsing the hidden sheet (Excel and WPS keep these on re-save).
    for key, value in marker_rows(campaign, unit):
        if value:
            wb.set_custom_property(f"{MARKER_PROPERTY_PREFIX}{key}", value)


def _close(wb: xlsxwriter.Workbook, path: Path) -> None:
    try:
        wb.close()
    except (FileCreateError, OSError) as exc:
        raise OutputError(f"无法写入 {path}：文件可能正在 Excel/WPS 中打开或目录不可写（{exc}）") from None


def write_template(campaign: Campaign, path: str | Path, unit: Unit | None = None, *,
                   fill: Fill | None = None, created: dt.datetime | None = None) -> Path:
    """Write the locked ledger form: the master (unit None) or one unit's pre-filled copy.

    Args:
        campaign: the campaign (institution, dates, roster, form and menu).
        path: the .xlsx file to write; its folder is created when missing.
        unit: the unit of a per-unit copy (填报单位 filled in and locked, 第一责任人 prefilled
            from the roster); None writes the master with a drop-down of the roster.
        fill: values typed into the form, for a realistic returned ledger (the samples and
            the demo); they replace the prefilled unit-block values. None for a blank form.
        created: the document's creation time (default now); fixed by the samples so that the
            same content gives the same bytes.

    Returns:
        The path written.

    Raises:
        OutputError: the file cannot be written (open in Excel, folder not writable).
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"无法创建目录 {path.parent}：{exc}") from None
    form = campaign.form
    layout = template_layout(form)
    wb = xlsxwriter.Workbook(str(path))
    st = _Styles(wb)
    _set_properties(wb, campaign, unit)
    if created is not None:
        wb.set_properties({**wb.doc_properties, "created": created})
    sources = list_sources(campaign)
    for source in sources:
        wb.define_name(source.name, "=" + source.ref(form.marker_sheet))
    ledger = wb.add_worksheet(form.sheet)
    _write_ledger_sheet(ledger, st, campaign, layout, unit, fill)
    _write_instructions(wb.add_worksheet(form.instructions_sheet), st, campaign, unit)
    _write_marker(wb.add_worksheet(form.marker_sheet), st, campaign, unit, sources)
    ledger.activate()
    _close(wb, path)
    return path


def unit_template_name(campaign: Campaign, unit: Unit) -> str:
    """The file name of a unit's copy: ``整顿台账_<单位>.xlsx``, safe on every file system."""
    return f"{campaign.form.sheet}_{safe_file_name(unit.name)}.xlsx"


def write_unit_templates(campaign: Campaign, directory: str | Path) -> list[Path]:
    """Write one pre-filled, locked copy of the form per roster unit.

    Args:
        campaign: the campaign whose roster gives the units.
        directory: the folder to write into (created when missing).

    Returns:
        The files written, in roster order.

    Raises:
        OutputError: a file cannot be written.
    """
    directory = Path(directory)
    written: list[Path] = []
    taken: set[str] = set()
    for unit in campaign.units:
        name = unique_file_name(unit_template_name(campaign, unit), taken)
        written.append(write_template(campaign, directory / name, unit))
    return written
