"""Marked-up copies to send back (退回修改件), written with openpyxl from a :class:`Collection`.

For each unit to be sent back, the unit's current submission is copied into the feedback
folder with every cell that has a finding coloured (red 错误, amber 警告, light blue 提示)
and a note (comment) holding the message, and a first sheet ``校验意见`` that lists the
findings and says what to do. The inbox is never touched: bytes are read through the
:class:`~ledgerbook.inbox.Document` and only the feedback folder is written.

How a copy is made:

* ``.xlsx``/``.xlsm``: the unit's own workbook, loaded with openpyxl (macros dropped, saved
  as ``.xlsx``), so everything the unit wrote stays where it was and the marks land on the
  cells the findings name.
* ``.xls``, ``.ods``, HTML and CSV (and any ``.xlsx`` openpyxl cannot load): the values read
  are typed into a fresh per-unit template (:func:`ledgerbook.template.write_template`) and
  the findings are moved to the template's cells: same column, row by position among the
  ledger's rows, unit-block fields by key. Cell references inside the messages are moved too.
* A unit whose current submission could not be read (no table found) gets no copy: there is
  nothing to mark, and the summary already tells the department to ask for a readable file.

The copy keeps the form working. openpyxl drops data validations that Excel stored in its
``x14`` extension part, and retyped files never had any, so every rule of
:func:`ledgerbook.rules.validation_specs` missing on the sheet is re-created on the file's
own layout; the drop-down lists (defined names ``lb_problems``…) are added with the hidden
``_ledgerbook`` sheet when the workbook lacks them; input cells are unlocked and the ledger
sheet is protected again with the template's permissions.

Text that came from a returned file is written as text: openpyxl would store a ``str``
starting with ``=`` as a formula, so every such cell is forced to the string type, and
characters Excel rejects are removed.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import openpyxl
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.cell_range import CellRange, MultiCellRange
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.protection import SheetProtection
from openpyxl.worksheet.worksheet import Worksheet

from .campaign import Campaign, Unit
from . import paper
from .excel import EXCEL_CELL_LIMIT, cell_a1, excel_serial, row_height, text_width
from .findings import ERROR, INFO, LEVEL_ORDER, WARNING, Finding
from .form import Layout, template_layout
from .normalize import cell_text, strip_control_chars
from .outputs import atomic_save_bytes, refuse_inside_inbox, safe_file_name, unique_file_name
from .reader import Ledger
from .text import cn_date
# SHEET_PROTECTION is the form's sheet-protection options: the copy allows what the form allows.
from .rules import MARKER_KEYS, SHEET_PROTECTION, Fill, ValidationSpec, list_sources, marker_rows, validation_specs
from .tables import MISSING, RETURN, UNNAMED
from .template import write_template

if TYPE_CHECKING:
    from .collect import Collection

__all__ = ["FEEDBACK_SHEET", "FeedbackCopy", "build_feedback", "feedback_file_name", "feedback_workbook",
           "write_feedback"]

#: The sheet inserted first in every copy.
FEEDBACK_SHEET = "校验意见"


# Excel's good/neutral/bad palette, as in the summary workbook: fill and font by level.
# 提示 is marked too (light blue): the unit should see where a note applies, but it does not
# read as something to fix.
LEVEL_FILL = {ERROR: "FFC7CE", WARNING: "FFEB9C", INFO: "DDEBF7"}
LEVEL_FONT = {ERROR: "9C0006", WARNING: "9C5700", INFO: "1F4E78"}
LEVEL_ADVICE = {ERROR: "必须修改", WARNING: "请核实修改", INFO: "供参考"}
LEVEL_COLOUR_NAME = {ERROR: "红色", WARNING: "黄色", INFO: "蓝色"}

# What a unit cannot (or need not) fix in the table itself, said after the message.
_NOT_IN_TABLE = {
    "file.late": "（仅作记录，无需在表中修改）",
    "report.late": "（仅作记录，无需修改）",
    "report.missing": "（自评报告请另行报送）",
    "file.unprotected": "（本文件已重新设置保护，请直接在本文件中修改，不要取消保护）",
}
_CARRIED_NOTES = dict.fromkeys(("file.layout_changed", "file.layout_broken"), "（本文件已转录到标准模板，表头无需再改）")

# Formats openpyxl can open; the others are carried over into a fresh template.
_OPENPYXL_FORMATS = ("xlsx", "xlsm")
# A real ledger unpacks to well under a megabyte; past this, a workbook is a sheet of junk or
# a zip bomb, and openpyxl (which keeps every cell in memory) is not asked to open it.
_MAX_UNPACKED_BYTES = 50 * 1024 * 1024
_MAX_NAME_CHARS = 60  # Han characters are 3 bytes in UTF-8: 60 of them and the prefix fit 255 bytes

_FONT = "宋体"
_LEDGER_FONT_PT = 11  # the template's text size: the scale of a copy's ledger sheet keeps it at 9 pt or more
_THIN = Side(style="thin", color="808080")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)

# 校验意见 columns: (header, width in characters).
_COLUMNS = (("序号", 6), ("级别", 8), ("单元格", 10), ("说明", 66), ("原值", 28))

# xlsxwriter's protect() options (allowed = True) -> OOXML sheetProtection attribute
# (True = the action is locked). The template's own options are reused so the copy allows
# exactly what the master form allows.
_PROTECTION_ATTRS = {
    "format_cells": "formatCells", "format_columns": "formatColumns", "format_rows": "formatRows",
    "insert_columns": "insertColumns", "insert_rows": "insertRows", "delete_columns": "deleteColumns",
    "delete_rows": "deleteRows", "select_locked_cells": "selectLockedCells",
    "select_unlocked_cells": "selectUnlockedCells",
}


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class _Mark:
    """One finding as shown in a copy: where it is marked there (``at`` None when nowhere)."""

    level: str
    code: str
    message: str
    value: str
    at: tuple[int, int] | None

    @property
    def cell(self) -> str:
        return cell_a1(*self.at) if self.at is not None else ""


@dataclass
class _Copy:
    """A workbook being turned into a feedback copy.

    Attributes:
        wb: the workbook.
        ws: its ledger sheet.
        layout: where the ledger's cells are on ``ws`` (the validated table range included).
        unit: the roster unit of a per-unit form (its 填报单位 cell is fixed), else None.
        carried: True when the values were carried over into a fresh template.
        to_copy: original (row, col) -> (row, col) on ``ws``; None for an identical layout.
    """

    wb: Workbook
    ws: Worksheet
    layout: Layout
    unit: Unit | None
    carried: bool
    to_copy: dict[tuple[int, int], tuple[int, int]] | None = None


# --------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class FeedbackCopy:
    """One unit's marked-up copy, built in memory.

    Attributes:
        unit: the unit as in 提交情况.
        file_name: ``退回修改_<单位>.xlsx`` (or ``校验意见_<单位>.xlsx`` for one that passed),
            unique among the copies of the round.
        data: the .xlsx bytes.
        to_fix: the unit is sent back (需退回修改).
    """

    unit: str
    file_name: str
    data: bytes
    to_fix: bool


def build_feedback(collection: Collection, *, all_units: bool = False,
                   resubmit_by: dt.date | None = None) -> tuple[list[FeedbackCopy], dict[str, str]]:
    """Build the marked-up copy of each unit to send back, once, without writing anything.

    Args:
        collection: the result of :func:`ledgerbook.collect.collect`.
        all_units: also build a copy for every other unit with a readable submission.
        resubmit_by: the date to name in "send it back before …"; None asks for 尽快.

    Returns:
        The copies in the order of 提交情况, and unit -> why it gets none (one Chinese
        sentence) for each unit that should have one but cannot (its file could not be read).
    """
    copies: list[FeedbackCopy] = []
    taken: set[str] = set()
    units, no_copy = _units_to_copy(collection, all_units)
    for name, status, ledger in units:
        try:
            data = _workbook_bytes(feedback_workbook(collection, name, ledger, resubmit_by=resubmit_by))
        except Exception:  # something in the unit's own workbook openpyxl cannot handle
            try:
                data = _workbook_bytes(feedback_workbook(collection, name, ledger, resubmit_by=resubmit_by,
                                                         carry_over=True))
            except Exception as exc:  # the values themselves cannot be typed into a template
                no_copy[name] = f"生成标注件时出错（{type(exc).__name__}），请直接按汇总表“校验结果”中的问题通知该单位"
                continue
        file_name = unique_file_name(feedback_file_name(name, status == RETURN), taken)
        copies.append(FeedbackCopy(unit=name, file_name=file_name, data=data, to_fix=status == RETURN))
    return copies, no_copy


def write_feedback(collection: Collection, directory: str | Path, *, all_units: bool = False,
                   resubmit_by: dt.date | None = None) -> list[Path]:
    """Write a marked-up copy of the current submission of each unit to send back.

    A plain writer: files of the same name in `directory` are replaced. ``ledgerbook collect
    --feedback`` goes through :func:`ledgerbook.workflow.run_round`, which replaces only files
    ledgerbook wrote and removes copies that are no longer current.

    Args:
        collection: the result of :func:`ledgerbook.collect.collect`.
        directory: the folder to write into (created when missing); it must not be inside
            the inbox, which is only ever read.
        all_units: also write a copy for every other unit with a readable submission (those
            that passed get ``校验意见_<单位>.xlsx``, saying whether anything is left to check).
        resubmit_by: the date to name in "send it back before …"; None asks for it as soon
            as possible (尽快).

    Returns:
        The files written, in the order of 提交情况 (roster order, then units not in the
        roster). Units whose current submission could not be read get no copy.

    Raises:
        OutputError: the folder is inside the inbox, or a file cannot be written.
    """
    directory = Path(directory)
    refuse_inside_inbox(directory, collection.inbox, "退回修改件的目录")
    copies, _ = build_feedback(collection, all_units=all_units, resubmit_by=resubmit_by)
    written: list[Path] = []
    for copy in copies:
        path = directory / copy.file_name
        atomic_save_bytes(path, copy.data, "退回修改件")
        written.append(path)
    return written


def _workbook_bytes(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def feedback_file_name(unit: str, to_fix: bool = True) -> str:
    """The file name of a unit's copy, safe on every file system.

    Args:
        unit: the unit's name as in 提交情况.
        to_fix: True for a unit sent back (``退回修改_<单位>.xlsx``); False for a copy of a
            submission that passed (``校验意见_<单位>.xlsx``).
    """
    # A name typed into an unknown unit's 填报单位 can be of any length: file systems allow 255 bytes.
    stem = safe_file_name(unit, _MAX_NAME_CHARS)
    return f"{'退回修改' if to_fix else FEEDBACK_SHEET}_{stem}.xlsx"


def feedback_workbook(collection: Collection, unit: str, ledger: Ledger, *,
                      resubmit_by: dt.date | None = None, carry_over: bool = False) -> Workbook:
    """Build (without saving) the feedback copy of one unit's current submission.

    Args:
        collection: the collection the ledger belongs to.
        unit: the unit as in 提交情况 (``（未能识别单位）`` for a submission without one).
        ledger: the unit's current submission (``collection.ledgers``), with a layout.
        resubmit_by: see :func:`write_feedback`.
        carry_over: type the values into a fresh template even when openpyxl can load the
            unit's own workbook.

    Returns:
        The openpyxl workbook: ``校验意见`` first and active, the ledger sheet marked,
        validated and protected.
    """
    campaign = collection.campaign
    key = "" if unit == UNNAMED and unit not in collection.ledgers else unit
    findings = _findings_for(collection, key, ledger)
    copy = _carry_over(campaign, unit, ledger) if carry_over else _open_copy(collection, unit, ledger)
    _clear_previous_feedback(copy.wb, copy.ws, campaign.department)
    marks = _marks(findings, copy)
    _mark_cells(copy.ws, marks, campaign.department)
    _restore_form(copy, campaign, ledger)
    document = collection.documents.get(ledger.file)
    received = document.when[0] if document is not None else None
    sheet = _write_opinion_sheet(copy, campaign, unit, ledger, marks, received, resubmit_by)
    _setup_ledger_page(copy, campaign)
    _activate(copy.wb, sheet)
    return copy.wb


# --------------------------------------------------------------------------- which units


def _units_to_copy(collection: Collection,
                   all_units: bool) -> tuple[list[tuple[str, str, Ledger]], dict[str, str]]:
    """(unit as in 提交情况, status, ledger) of each unit that gets a copy, in 提交情况 order;
    and unit -> why for each that should get one but has nothing to mark."""
    out, no_copy = [], {}
    files = collection.files.set_index("文件")["说明"].to_dict() if len(collection.files) else {}
    for name, status, file in zip(collection.submissions["单位"], collection.submissions["状态"],
                                  collection.submissions["文件"]):
        if status == MISSING or (status != RETURN and not all_units):
            continue
        ledger = collection.ledgers.get(name)
        if ledger is None and name == UNNAMED:
            ledger = collection.ledgers.get("")
        # No ledger (or no layout): the file could not be read, so there is nothing to mark.
        if ledger is not None and ledger.layout is not None:
            out.append((name, status, ledger))
        else:
            why = str(files.get(file) or "").strip("。")
            no_copy[name] = (f"报送的文件“{file}”无法读取，没有可标注的表格"
                             + (f"：{why}" if why else "；请该单位重新报送可以打开的文件"))
    return out, no_copy


def _findings_for(collection: Collection, unit: str, ledger: Ledger) -> list[Finding]:
    """The unit's findings on this file, and those on its self-evaluation report."""
    return [f for f in collection.finding_list
            if f.unit == unit and (f.file == ledger.file or f.code.startswith("report."))]


# --------------------------------------------------------------------------- opening a copy


def _open_copy(collection: Collection, unit: str, ledger: Ledger) -> _Copy:
    """The unit's own workbook when openpyxl can load it, else its values in a fresh template."""
    campaign = collection.campaign
    if ledger.format in _OPENPYXL_FORMATS:
        wb = _load_xlsx(collection, ledger)
        if wb is not None and ledger.sheet in wb.sheetnames:
            return _Copy(wb=wb, ws=wb[ledger.sheet], layout=_own_layout(ledger, campaign),
                         unit=_marker_unit(ledger, campaign), carried=False)
    return _carry_over(campaign, unit, ledger)


def _load_xlsx(collection: Collection, ledger: Ledger) -> Workbook | None:
    document = collection.documents.get(ledger.file)
    if document is None:
        return None
    try:
        data = document.read_bytes()
        if _unpacked_size(data) > _MAX_UNPACKED_BYTES:
            return None  # openpyxl would hold every cell in memory: carry the values over instead
        with warnings.catch_warnings():
            # "Data Validation extension is not supported": re-created by _restore_form.
            warnings.simplefilter("ignore")
            # data_only: a unit's formulas (=HYPERLINK(…), DDE calls) arrive as their last values,
            # never as formulas in a file we send out; keep_links: no external workbook links.
            wb = openpyxl.load_workbook(io.BytesIO(data), keep_vba=False, rich_text=True, data_only=True,
                                        keep_links=False)
    except Exception:  # anything openpyxl cannot load is carried over into a template instead
        return None
    _sanitise_cells(wb)
    return wb


def _sanitise_cells(wb: Workbook) -> None:
    """Every text cell of the unit's workbook as plain text Excel accepts (no control characters,
    at most 32,767 characters, never a formula)."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                value = cell.value
                if isinstance(value, str) and (len(value) > EXCEL_CELL_LIMIT or value.startswith("=")
                                               or strip_control_chars(value)[1]):
                    _put_text(cell, value)


def _unpacked_size(data: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return sum(info.file_size for info in zf.infolist())


def _marker_unit(ledger: Ledger, campaign: Campaign) -> Unit | None:
    """The roster unit of a per-unit form, whose 填报单位 cell stays filled in and locked.

    None when the cell names another unit than the form was made for: then it is a finding
    to fix, so the copy gives that cell the roster drop-down and leaves it unlocked.
    """
    name = ledger.marker.get(MARKER_KEYS["unit"], "")
    typed = campaign.match_unit(cell_text(ledger.field_value("unit")))
    return campaign.unit(name) if name and typed == name else None


def _table_end(first_row: int, last_row: int, rows: int, input_rows: int) -> int:
    """Last row of the validated table: the prepared rows, and every row the unit filled."""
    return max(last_row, first_row + max(rows, input_rows) - 1)


def _own_layout(ledger: Ledger, campaign: Campaign) -> Layout:
    """The returned file's own layout, the table range extended to the form's prepared rows."""
    found = ledger.layout
    end = _table_end(found.first_row, found.last_row, ledger.n_rows, campaign.form.input_rows)
    return Layout(header_row=found.header_row, first_row=found.first_row, last_row=end,
                  columns=dict(found.columns), fields=dict(found.fields))


def _carry_over(campaign: Campaign, unit: str, ledger: Ledger) -> _Copy:
    """Type the values read into a fresh per-unit template and load that."""
    roster_unit = campaign.unit(unit)
    fill = _fill_from(ledger, campaign)
    if roster_unit is not None:  # a per-unit form shows the roster name, however it was typed
        fill.fields["unit"] = roster_unit.name
    with tempfile.TemporaryDirectory(prefix="ledgerbook-") as tmp:
        path = write_template(campaign, Path(tmp) / "copy.xlsx", unit=roster_unit, fill=fill)
        wb = openpyxl.load_workbook(path, rich_text=True)
    base = template_layout(campaign.form)
    end = _table_end(base.first_row, base.last_row, ledger.n_rows, campaign.form.input_rows)
    layout = Layout(header_row=base.header_row, first_row=base.first_row, last_row=end,
                    columns=dict(base.columns), fields=dict(base.fields), labels=dict(base.labels))
    return _Copy(wb=wb, ws=wb[campaign.form.sheet], layout=layout, unit=roster_unit, carried=True,
                 to_copy=_position_map(ledger, layout))


def _fill_from(ledger: Ledger, campaign: Campaign) -> Fill:
    """The raw values read, keyed by the form's field and column keys."""
    form = campaign.form
    fields = {f.key: _carried_value(ledger.field_value(f.key), f.kind) for f in form.fields}
    rows = [{c.key: _carried_value(values.get(c.key, ""), c.kind) for c in form.columns}
            for _, values in ledger.rows]
    return Fill(fields, rows)


def _carried_value(value: object, kind: str) -> object:
    """A value as read, fit to type into the template.

    Numbers, dates and text stay what they were; a phone or QQ number stored as a number
    becomes its digits (the template's cell is a text cell, where a long number would show
    as 1.38E+10); text loses the characters Excel rejects.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if kind in ("phone", "qq") and isinstance(value, (int, float)) and not isinstance(value, bool):
        return cell_text(value)
    if isinstance(value, dt.time):
        return cell_text(value)
    if isinstance(value, str):
        return strip_control_chars(value)[0]
    return value


def _position_map(ledger: Ledger, layout: Layout) -> dict[tuple[int, int], tuple[int, int]]:
    """Original (row, col) -> template (row, col): unit-block fields by key, table cells by
    column key and the row's position among the ledger's rows, header cells by column key."""
    found = ledger.layout
    mapping: dict[tuple[int, int], tuple[int, int]] = {}
    for key, col in found.columns.items():
        if key not in layout.columns:
            continue
        new_col = layout.columns[key]
        mapping[(found.header_row, col)] = (layout.header_row, new_col)
        for i, row in enumerate(ledger.row_numbers):
            mapping[(row, col)] = (layout.first_row + i, new_col)
    for key, pos in found.fields.items():
        if key in layout.fields:
            mapping[pos] = layout.fields[key]
    return mapping


# --------------------------------------------------------------------------- marks


def _marks(findings: list[Finding], copy: _Copy) -> list[_Mark]:
    """Where each finding is marked in the copy, sorted by level, then row and column. In a
    carried copy the finding is moved to the template's cells, its message made again."""
    anchors = _merge_anchors(copy.ws)
    marks = []
    for f in findings:
        pos = _cell_in_copy(f, copy)
        if copy.to_copy is not None:
            f = f.moved(copy.to_copy.get)
        if pos is not None:
            pos = anchors.get(pos, pos)
        message = f.message + _NOT_IN_TABLE.get(f.code, "") + (_CARRIED_NOTES.get(f.code, "") if copy.carried else "")
        marks.append(_Mark(level=f.level, code=f.code, message=message, value=f.value, at=pos))
    return sorted(marks, key=_mark_order)


def _mark_order(mark: _Mark) -> tuple:
    # Not on a cell (the self-evaluation report): last in its level.
    where = (0, *mark.at) if mark.at is not None else (1, 0, 0)
    return (LEVEL_ORDER.get(mark.level, 9), *where, mark.code)


def _cell_in_copy(f: Finding, copy: _Copy) -> tuple[int, int] | None:
    """The (row, col) on the copy's ledger sheet that carries a finding; None when it is
    about something else than the ledger (the self-evaluation report)."""
    if f.code.startswith("report.") or (copy.carried and f.code in _CARRIED_NOTES):
        return None  # not about a cell of this copy (the template's header is the form's own)
    if f.at is not None:
        if copy.to_copy is None:
            return f.at
        if f.at in copy.to_copy:
            return copy.to_copy[f.at]
    return _unit_level_cell(f.code, copy.layout)


def _unit_level_cell(code: str, layout: Layout) -> tuple[int, int]:
    """Where a finding about the whole file goes: the first row's 整顿对象 for a ledger
    without rows, else the 填报单位 value, else the table's first header cell."""
    target = (layout.first_row, layout.columns.get("target", min(layout.columns.values())))
    if code == "unit.no_target":
        return target
    if "unit" in layout.fields:
        return layout.fields["unit"]
    return (layout.header_row, min(layout.columns.values()))


def _merge_anchors(ws: Worksheet) -> dict[tuple[int, int], tuple[int, int]]:
    """(row, col) of each covered cell of a merged range -> its top-left cell (0-based).

    A merged cell shows (and keeps) only its top-left cell's value, fill and note.
    """
    anchors = {}
    for rng in ws.merged_cells.ranges:
        top = (rng.min_row - 1, rng.min_col - 1)
        if (rng.max_row - rng.min_row + 1) * (rng.max_col - rng.min_col + 1) > 10_000:
            continue  # a merge over a whole region is not a form cell
        for r in range(rng.min_row - 1, rng.max_row):
            for c in range(rng.min_col - 1, rng.max_col):
                if (r, c) != top:
                    anchors[(r, c)] = top
    return anchors


def _mark_cells(ws: Worksheet, marks: list[_Mark], author: str) -> None:
    """Colour each marked cell by its worst level and give it a note with every message."""
    by_cell: dict[tuple[int, int], list[_Mark]] = {}
    for mark in marks:
        if mark.at is not None:
            by_cell.setdefault(mark.at, []).append(mark)
    for (row, col), cell_marks in by_cell.items():
        cell = ws.cell(row + 1, col + 1)
        worst = min((m.level for m in cell_marks), key=lambda lv: LEVEL_ORDER.get(lv, 9))
        cell.fill = PatternFill(fill_type="solid", start_color=LEVEL_FILL[worst], end_color=LEVEL_FILL[worst])
        lines = [f"【{m.level}】{m.message}" for m in cell_marks]
        previous = cell.comment.text if cell.comment is not None else ""
        if previous:  # the unit's own note stays, under ours
            lines.append(f"（原批注）{previous}")
        cell.comment = _note("\n".join(lines), author)


def _note(text: str, author: str) -> Comment:
    """A note sized to show its text without scrolling (openpyxl sizes are in pixels)."""
    text = _clip(strip_control_chars(f"{author}校验意见：\n{text}")[0])
    width_px, chars_per_line = 320, 22  # about 22 Han characters of 宋体 9pt in 320 pixels
    lines = sum(max(1, math.ceil(text_width(line) / (2 * chars_per_line))) for line in text.split("\n"))
    comment = Comment(text, author)
    comment.width = width_px
    comment.height = min(600, 20 + 17 * lines)
    return comment


def _clear_previous_feedback(wb: Workbook, ws: Worksheet, author: str) -> None:
    """Remove an earlier round's 校验意见 sheet, notes and colours from a copy sent back again.

    Units fix the copy they were sent and return it; its old marks must not read as new ones.
    Colours are cleared only when the workbook carries our 校验意见 sheet, so a unit's own
    colouring is never touched.
    """
    if FEEDBACK_SHEET not in wb.sheetnames or ws.title == FEEDBACK_SHEET:
        return
    del wb[FEEDBACK_SHEET]
    ours = set(LEVEL_FILL.values())
    # The cells that exist, not iter_rows(): that would create every cell up to a stray far one.
    for cell in list(ws._cells.values()):
        if cell.comment is not None and cell.comment.author == author:
            cell.comment = None
        colour = cell.fill.fgColor.rgb if cell.fill is not None and cell.fill.fill_type == "solid" else None
        if isinstance(colour, str) and colour[-6:].upper() in ours:
            cell.fill = PatternFill(fill_type=None)


# --------------------------------------------------------------------------- keeping the form working


def _restore_form(copy: _Copy, campaign: Campaign, ledger: Ledger) -> None:
    """Drop-down lists, validations, unlocked input cells and protection, as on the template."""
    _ensure_lists(copy.wb, campaign, copy.unit)
    layout = _validated_layout(copy, ledger)
    _ensure_validations(copy.ws, validation_specs(campaign, layout, copy.unit))
    ours = bool(ledger.marker) or copy.carried  # made from our template: 序号 is ours, locked
    _unlock_inputs(copy.ws, copy.layout, fixed_unit=copy.unit is not None, has_marker=ours)
    _protect(copy.ws, SHEET_PROTECTION)


def _validated_layout(copy: _Copy, ledger: Ledger) -> Layout:
    """The copy's layout without unit-block fields typed inline (``填报单位：机关党委`` in one
    cell): a drop-down there would refuse the label the unit typed with the value."""
    if copy.carried:
        return copy.layout
    fields = {}
    for key, (row, col) in copy.layout.fields.items():
        shown = cell_text(copy.ws.cell(row + 1, col + 1).value)
        if not shown or shown == cell_text(ledger.field_value(key)):
            fields[key] = (row, col)
    return Layout(header_row=copy.layout.header_row, first_row=copy.layout.first_row,
                  last_row=copy.layout.last_row, columns=copy.layout.columns, fields=fields)


def _ensure_lists(wb: Workbook, campaign: Campaign, unit: Unit | None) -> None:
    """Add the drop-down source lists and their defined names where the workbook lacks them."""
    sources = list_sources(campaign)
    missing = [s for s in sources if not _has_name(wb, s.name)]
    marker_name = campaign.form.marker_sheet
    if not missing:
        if marker_name in wb.sheetnames:
            wb[marker_name].sheet_state = "veryHidden"  # LibreOffice saves it as merely hidden
        return
    if marker_name in wb.sheetnames:
        marker = wb[marker_name]
    else:
        marker = wb.create_sheet(marker_name)
        for r, (key, value) in enumerate(marker_rows(campaign, unit), 1):
            _put_text(marker.cell(r, 1), key)
            _put_text(marker.cell(r, 2), value)
    for source in missing:
        _put_text(marker.cell(1, source.column + 1), source.title)
        for i, value in enumerate(source.values, 2):
            _put_text(marker.cell(i, source.column + 1), value)
        for name in [n for n in wb.defined_names if n.lower() == source.name.lower()]:
            del wb.defined_names[name]  # a broken name (#REF!) is replaced
        wb.defined_names[source.name] = DefinedName(source.name, attr_text=source.ref(marker_name))
    marker.protection = SheetProtection(sheet=True, objects=True, scenarios=True)
    marker.sheet_state = "veryHidden"


def _has_name(wb: Workbook, name: str) -> bool:
    """A workbook-level defined name that points somewhere (not at a deleted range)."""
    for key, defined in wb.defined_names.items():
        if key.lower() == name.lower():
            return bool(defined.attr_text) and "#REF" not in defined.attr_text.upper()
    return False


def _ensure_validations(ws: Worksheet, specs: list[ValidationSpec]) -> None:
    """Re-create each form validation missing on the sheet.

    A spec counts as present on the cells an existing validation of the same rule already
    covers (Excel extends the ranges when rows are inserted, so ranges differ from the spec's).
    A different rule on the same cells is cut back first: two validations on one cell are
    undefined behaviour in Excel.
    """
    validations = ws.data_validations.dataValidation
    for spec in specs:
        wanted = CellRange(spec.sqref)
        missing = [wanted]
        for dv in list(validations):
            ranges = list(dv.sqref.ranges)
            if _same_rule(dv, spec):
                missing = _subtract_all(missing, ranges)
                continue
            kept = _subtract_all(ranges, [wanted])
            if not kept:
                validations.remove(dv)
            elif [r.coord for r in kept] != [r.coord for r in ranges]:
                dv.sqref = MultiCellRange(" ".join(r.coord for r in kept))
        if missing:
            validations.append(_data_validation(spec, " ".join(r.coord for r in missing)))


def _same_rule(dv: DataValidation, spec: ValidationSpec) -> bool:
    """Whether an existing validation enforces the spec's rule (texts may differ)."""
    if (dv.type or "any") != spec.type:  # openpyxl reads type="none" (prompt only) as None
        return False
    if spec.type in ("list", "custom"):
        return _bare_formula(dv.formula1) == _bare_formula(spec.formula1)
    if spec.type in ("date", "textLength"):
        if (dv.operator or "between") != (spec.operator or "between"):
            return False
        same_low = _number(dv.formula1) == _bound(spec.minimum)
        return same_low and (spec.maximum is None or _number(dv.formula2) == _bound(spec.maximum))
    return True


def _bare_formula(formula: str | None) -> str:
    return re.sub(r"[\s$'=]", "", formula or "").lower()


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _bound(value: dt.date | int | None) -> float | None:
    """A bound as Excel stores it: dates as serial day numbers."""
    if isinstance(value, dt.date):
        return float(excel_serial(value))
    return float(value) if value is not None else None


def _formula(value: str | None, bound: dt.date | int | None) -> str | None:
    """openpyxl's formula text: no leading '=' (it writes the text as is), bounds as numbers."""
    if value is not None:
        return value.removeprefix("=")
    if bound is None:
        return None
    return str(excel_serial(bound)) if isinstance(bound, dt.date) else str(bound)


def _data_validation(spec: ValidationSpec, sqref: str) -> DataValidation:
    """An openpyxl validation from a template spec."""
    return DataValidation(
        type=None if spec.type == "any" else spec.type,
        operator=spec.operator,
        formula1=_formula(spec.formula1, spec.minimum),
        formula2=_formula(None, spec.maximum),
        allowBlank=spec.allow_blank,
        showInputMessage=bool(spec.input_message or spec.input_title),
        showErrorMessage=spec.type != "any",
        promptTitle=spec.input_title or None,
        prompt=spec.input_message or None,
        errorTitle=spec.error_title or None,
        error=spec.error_message or None,
        errorStyle=spec.error_type if spec.type != "any" else None,
        sqref=sqref,
    )


def _subtract_all(ranges: list[CellRange], holes: list[CellRange]) -> list[CellRange]:
    for hole in holes:
        ranges = [piece for rng in ranges for piece in _subtract(rng, hole)]
    return ranges


def _subtract(rng: CellRange, hole: CellRange) -> list[CellRange]:
    """The parts of a rectangle outside another: up to four rectangles (above, below, left, right)."""
    top, bottom = max(rng.min_row, hole.min_row), min(rng.max_row, hole.max_row)
    left, right = max(rng.min_col, hole.min_col), min(rng.max_col, hole.max_col)
    if top > bottom or left > right:
        return [rng]
    pieces = []
    if rng.min_row < top:
        pieces.append((rng.min_col, rng.min_row, rng.max_col, top - 1))
    if bottom < rng.max_row:
        pieces.append((rng.min_col, bottom + 1, rng.max_col, rng.max_row))
    if rng.min_col < left:
        pieces.append((rng.min_col, top, left - 1, bottom))
    if right < rng.max_col:
        pieces.append((right + 1, top, rng.max_col, bottom))
    return [CellRange(min_col=a, min_row=b, max_col=c, max_row=d) for a, b, c, d in pieces]


def _unlock_inputs(ws: Worksheet, layout: Layout, *, fixed_unit: bool, has_marker: bool) -> None:
    """Unlock the unit-block values and the table's input range, so the protected sheet can
    still be filled in: a retyped file has every cell locked, and rows a unit added below the
    prepared range were never unlocked. 序号 of our form and a fixed 填报单位 stay locked."""
    for key, (row, col) in layout.fields.items():
        if not (key == "unit" and fixed_unit):
            _unlock(ws.cell(row + 1, col + 1))
    for key, col in layout.columns.items():
        if key == "seq" and has_marker:
            continue
        for row in range(layout.first_row, layout.last_row + 1):
            _unlock(ws.cell(row + 1, col + 1))


def _unlock(cell: Cell) -> None:
    if isinstance(cell, MergedCell) or not cell.protection.locked:
        return
    cell.protection = Protection(locked=False, hidden=cell.protection.hidden)


def _protect(ws: Worksheet, options: dict[str, bool]) -> None:
    """Protect a sheet without a password, allowing what xlsxwriter-style `options` allow."""
    locked = {_PROTECTION_ATTRS[k]: not allowed for k, allowed in options.items() if k in _PROTECTION_ATTRS}
    ws.protection = SheetProtection(sheet=True, objects=True, scenarios=True, **locked)


# --------------------------------------------------------------------------- the 校验意见 sheet


def _write_opinion_sheet(copy: _Copy, campaign: Campaign, unit: str, ledger: Ledger, marks: list[_Mark],
                         received: dt.datetime | None, resubmit_by: dt.date | None) -> Worksheet:
    """The first sheet: what was found, where, and what to do with this file."""
    ws = copy.wb.create_sheet(FEEDBACK_SHEET, 0)
    width = len(_COLUMNS)
    for i, (_, chars) in enumerate(_COLUMNS, 1):
        ws.column_dimensions[openpyxl.utils.get_column_letter(i)].width = chars
    intro = [
        ("title", f"{unit} 整顿台账校验意见"),
        ("subtitle", campaign.full_title),
        ("text", _source_line(ledger, received)),
        ("advice", _advice(copy, campaign, ledger, marks, resubmit_by)),
        ("text", _counts_line(marks)),
    ]
    for row, (kind, text) in enumerate(intro, 1):
        _write_banner(ws, row, width, kind, text)
    header_row = len(intro) + 2
    _write_table(ws, header_row, marks, copy.ws.title)
    _setup_opinion_page(ws, header_row, campaign.full_title)
    if any(m.level == ERROR for m in marks):
        ws.sheet_properties.tabColor = "C00000"
    return ws


def _source_line(ledger: Ledger, received: dt.datetime | None) -> str:
    when = received.strftime("%Y-%m-%d %H:%M") if received else "未知"
    return f"校验的文件：{ledger.file}（收到时间：{when}）"


def _advice(copy: _Copy, campaign: Campaign, ledger: Ledger, marks: list[_Mark],
            resubmit_by: dt.date | None) -> str:
    """What the unit should do with this file: a verdict, then numbered steps."""
    levels = {m.level for m in marks if m.code not in _NOT_IN_TABLE}  # what the table can fix
    if ERROR in levels:
        verdict = "经校验，本台账有必须修改的错误，请按以下步骤修改后重新报送。"
    elif levels:
        verdict = "经校验，本台账没有必须修改的错误；下表所列警告、提示请核实。"
    else:
        verdict = "经校验，本台账未发现需要修改的问题，无需修改。" + ("下表所列事项仅供知悉。" if marks else "")
    steps = []
    if copy.carried:
        # The name the unit knows: a web system's "xls" export is HTML inside, but it was sent as .xls.
        kind = Path(ledger.file).suffix.lower() or f".{ledger.format}"
        steps.append(f"您报送的是 {kind} 格式的文件，其内容已转录到标准模板中，请直接在本文件中修改，保存为 .xlsx 格式。")
    if levels:
        colours = "；".join(f"{LEVEL_COLOUR_NAME[lv]}为{lv}，{LEVEL_ADVICE[lv]}"
                            for lv in (ERROR, WARNING, INFO) if lv in levels)
        steps.append(f"“{copy.ws.title}”工作表中标出颜色的单元格即需处理之处：{colours}。")
        steps.append("鼠标移到标色单元格上可看到说明；点击下表“单元格”一栏的链接可跳到该单元格。")
        when = f"于{cn_date(resubmit_by)}前" if resubmit_by else "尽快"
        steps.append(f"修改完成后保存本文件，{when}重新报送{campaign.department}。" if ERROR in levels
                     else f"如有修改，保存本文件后重新报送{campaign.department}。")
    return "\n".join([verdict] + [f"{i}. {step}" for i, step in enumerate(steps, 1)])


def _counts_line(marks: list[_Mark]) -> str:
    counts = [f"{lv} {n} 条" for lv in (ERROR, WARNING, INFO) if (n := sum(m.level == lv for m in marks))]
    return f"共 {len(marks)} 条意见" + ("：" + "、".join(counts) if counts else "") + "。"


def _font(bold: bool = False, size: float = 11, name: str = _FONT, color: str | None = None) -> Font:
    return Font(name=name, size=size, bold=bold, color=color)


_BANNER = {
    "title": (_font(True, 16, "黑体"), Alignment(horizontal="center", vertical="center"), 36),
    "subtitle": (_font(size=11), Alignment(horizontal="center", vertical="center"), 20),
    "text": (_font(size=10, color="595959"), Alignment(vertical="center", wrap_text=True), None),
    "advice": (_font(True, 11, color="7F4F00"), Alignment(vertical="center", wrap_text=True), None),
}


def _write_banner(ws: Worksheet, row: int, width: int, kind: str, text: str) -> None:
    font, alignment, height = _BANNER[kind]
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
    cell = ws.cell(row, 1)
    _put_text(cell, text)
    cell.font, cell.alignment = font, alignment
    if kind == "advice":
        cell.fill = PatternFill(fill_type="solid", start_color="FFF2CC", end_color="FFF2CC")
    total = sum(chars for _, chars in _COLUMNS)
    ws.row_dimensions[row].height = height or row_height(text, total, 16 if kind == "advice" else 14)


def _write_table(ws: Worksheet, header_row: int, marks: list[_Mark], ledger_sheet: str) -> None:
    header_fill = PatternFill(fill_type="solid", start_color="DDEBF7", end_color="DDEBF7")
    for col, (label, _) in enumerate(_COLUMNS, 1):
        cell = ws.cell(header_row, col, label)
        cell.font, cell.fill, cell.border = _font(True), header_fill, _BOX
        cell.alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[header_row].height = 22
    if not marks:
        ws.merge_cells(start_row=header_row + 1, start_column=1, end_row=header_row + 1, end_column=len(_COLUMNS))
        cell = ws.cell(header_row + 1, 1, "未发现问题")
        cell.font, cell.alignment = _font(), Alignment(horizontal="center", vertical="center")
        ws.row_dimensions[header_row + 1].height = 22
        return
    for i, mark in enumerate(marks, 1):
        _write_mark_row(ws, header_row + i, i, mark, ledger_sheet)


def _write_mark_row(ws: Worksheet, row: int, number: int, mark: _Mark, ledger_sheet: str) -> None:
    top = Alignment(vertical="top", wrap_text=True)
    centre = Alignment(horizontal="center", vertical="top")
    values = (number, mark.level, mark.cell or "—", mark.message, mark.value)
    for col, value in enumerate(values, 1):
        cell = ws.cell(row, col)
        if isinstance(value, int):
            cell.value = value
        else:
            _put_text(cell, value)
        cell.font, cell.border, cell.alignment = _font(), _BOX, top if col >= 4 else centre
    level = ws.cell(row, 2)
    level.font = _font(True, color=LEVEL_FONT.get(mark.level))
    level.fill = PatternFill(fill_type="solid", start_color=LEVEL_FILL.get(mark.level, "FFFFFF"),
                             end_color=LEVEL_FILL.get(mark.level, "FFFFFF"))
    if mark.cell:
        link = ws.cell(row, 3)
        quoted = ledger_sheet.replace("'", "''")
        link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{quoted}'!{mark.cell}", display=mark.cell)
        link.font = Font(name=_FONT, size=11, color="0563C1", underline="single")
    ws.row_dimensions[row].height = max(row_height(mark.message, _COLUMNS[3][1]),
                                        row_height(mark.value, _COLUMNS[4][1]))


def _setup_opinion_page(ws: Worksheet, header_row: int, title: str) -> None:
    ws.freeze_panes = ws.cell(header_row + 1, 1).coordinate
    ws.sheet_view.showGridLines = False
    setup = paper.choose([chars for _, chars in _COLUMNS], min(font.size for font, _, _ in _BANNER.values()))
    paper.apply_openpyxl(ws, setup, title=title, repeat_rows=(header_row, header_row), centre=True)
    ws.protection = SheetProtection(sheet=True, objects=True, scenarios=True, formatColumns=False,
                                    formatRows=False)


def _setup_ledger_page(copy: _Copy, campaign: Campaign) -> None:
    """The ledger sheet prints as the template does (A4, text at 9 pt or more), whatever
    set-up the unit's file came with: fitted to one page wide, a retyped table prints tiny."""
    ws, layout = copy.ws, copy.layout
    last_col = max(layout.columns.values(), default=0) + 1
    widths = [_column_width(ws, col) for col in range(1, last_col + 1)]
    setup = paper.choose(widths, _LEDGER_FONT_PT)
    last_row = max(ws.max_row, layout.last_row + 1)
    area = f"A1:{openpyxl.utils.get_column_letter(last_col)}{last_row}"
    header = layout.header_row + 1
    paper.apply_openpyxl(ws, setup, title=campaign.full_title, repeat_rows=(header, header), print_area=area,
                         centre=True)


def _column_width(ws: Worksheet, col: int) -> float:
    """A column's width in characters (openpyxl keeps ranges of equal columns as one entry)."""
    for dim in ws.column_dimensions.values():
        if dim.min and dim.max and dim.min <= col <= dim.max and dim.width:
            return paper.characters_of_stored_width(float(dim.width))
    return 8.43  # Excel's default width


def _activate(wb: Workbook, first: Worksheet) -> None:
    """Open on 校验意见, with only that tab selected (several selected tabs would be grouped,
    and typing would then change every grouped sheet)."""
    wb.active = first
    for ws in wb.worksheets:
        ws.sheet_view.tabSelected = ws is first
    for view in wb.views or []:
        view.firstSheet = 0


# --------------------------------------------------------------------------- text and files


def _put_text(cell: Cell, value: object) -> None:
    """Write a value from a returned file as plain text.

    openpyxl stores a str starting with '=' as a formula; the type is forced back to string,
    and characters Excel rejects are removed first (openpyxl would refuse them).
    """
    text = value if isinstance(value, str) else cell_text(value)
    cell.value = _clip(strip_control_chars(text)[0])
    cell.data_type = "s"


def _clip(text: str) -> str:
    # Excel keeps at most 32,767 characters in a cell or note; longer text is cut visibly.
    return text if len(text) <= EXCEL_CELL_LIMIT else text[: EXCEL_CELL_LIMIT - 1] + "…"
