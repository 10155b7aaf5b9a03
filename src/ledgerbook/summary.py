"""The summary workbook (汇总表, spec §5) written with xlsxwriter from a :class:`Collection`.

Design notes:

* **Streaming.** The workbook is written in ``constant_memory`` mode so a 100,000-row
  汇总台账 keeps memory flat. That mode forgets a row once a later row is written, so every
  sheet is written strictly top to bottom, left to right, and a row's height is set before
  its cells. Sheets are added in the order they are written, which is also their order in
  the file.
* **Untrusted text.** Everything that came from a returned file goes through
  :meth:`_Book.text`: characters Excel rejects are removed and the text is written with
  ``write_string``, so ``=…``, ``+…``, ``@…`` and ``http…`` stay plain text (the workbook
  options switch off xlsxwriter's string guessing as a second line of defence).
* **Text longer than a cell.** Excel keeps at most 32,767 characters in a cell. Such a text
  is not cut silently: the cell holds its head and a note, and the whole text is written in
  pieces to an extra sheet ``超长文本`` (added only when needed, after 文件清单), one row per
  long cell naming the sheet and cell it belongs to; joining the pieces gives the text back.
* **Column specs.** Each table sheet's columns (header, kind, width) are defined once in the
  ``*_COLUMNS`` tables below; the kind decides how a value is written and formatted.
* **Following a finding to its row.** 校验结果's 定位 column links to the 汇总台账 row whose
  来源文件 is the finding's 文件 and whose 行号 is the row of its 单元格 (unit-block and
  file-level findings have none). Excel keeps at most 65,530 links on a sheet; past that
  the cell names the row instead.
* **Comparison.** The last, very hidden sheet carries the snapshot that ``--since`` reads
  back (see :mod:`ledgerbook.snapshot`).
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.exceptions import XlsxWriterException
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from . import paper
from .changes import CHANGE_COLUMNS as _CHANGE_TABLE, Changes
from .collect import Collection
from .excel import EXCEL_CELL_LIMIT, cell_a1, estimated_lines, is_blank, row_height, strip_excel_rejects
from .findings import ERROR, INFO, WARNING, FINDING_COLUMNS as _FINDING_TABLE, code_name
from .outputs import atomic_save, check_target, refuse_inside_inbox
from .snapshot import FORMAT_VERSION, SNAPSHOT_SHEET, snapshot_lines
from .tables import (
    FILE_COLUMNS as _FILE_TABLE, LIAISON_COLUMNS as _LIAISON_TABLE, MISSING, PASSED, RETURN,
    SUBMISSION_COLUMNS as _SUBMISSION_TABLE,
)
from .text import OFFICE_TZ

OVERVIEW, SUBMISSIONS, CHANGES, ROWS, BY_PROBLEM, FINDINGS, LIAISONS, FILES, OVERFLOW = (
    "总览", "提交情况", "变化", "汇总台账", "问题统计", "校验结果", "联络员名册", "文件清单", "超长文本")

# Excel ignores hyperlinks past this many on one sheet; later rows get the row number as text.
MAX_LINKS = 65530
LINK_TEXT = "查看台账行"

WORKBOOK_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "default_date_format": "yyyy-mm-dd",
}

# Fills by value, for status and level cells (Excel's own good/neutral/bad palette).
_PALETTE = {
    "red": {"bg_color": "#FFC7CE", "font_color": "#9C0006"},
    "amber": {"bg_color": "#FFEB9C", "font_color": "#9C5700"},
    "green": {"bg_color": "#C6EFCE", "font_color": "#006100"},
    "blue": {"bg_color": "#DDEBF7", "font_color": "#1F4E78"},
    "grey": {"font_color": "#A6A6A6"},
}
STATUS_COLOURS = {
    ERROR: "red", RETURN: "red", MISSING: "red", "无法读取": "red", "无法识别": "red",
    WARNING: "amber", PASSED: "green", "采用": "green", "已完成": "green", INFO: "blue",
}
YES_AMBER = {"是": "amber"}

# Base look of each column kind (how values are written is in _Book.writer).
# Every text wraps: a text wider than its column would be cut off at the next filled cell,
# on paper as on screen; rows get the height their wrapped text needs (_row_heights).
_KIND_FORMATS: dict[str, dict] = {
    "text": {"text_wrap": True},
    "long": {"text_wrap": True},
    "code": {"text_wrap": True},
    "center": {"align": "center", "text_wrap": True},
    "int": {"num_format": "0", "align": "center"},
    "size": {"num_format": "#,##0", "align": "right"},
    "date": {"num_format": "yyyy-mm-dd", "align": "center"},
    "datetime": {"num_format": "yyyy-mm-dd hh:mm", "align": "center"},
    "flag": {"align": "center", "text_wrap": True},
    "status": {"align": "center", "text_wrap": True},
    "link": {"font_color": "#0563C1", "underline": 1, "align": "center"},
}
_UNWRAPPED_KINDS = frozenset({"int", "size", "date", "datetime", "link"})


@dataclass(frozen=True)
class Col:
    """One column of a table sheet.

    Attributes:
        header: the header text (and the DataFrame column unless ``field`` is given).
        kind: how values are written: text, long (wrapped), code, center, int, size, date,
            datetime, flag (bools as 是/否), status (coloured by value), link.
        width: column width in Excel character units (a Han character is about 2).
        field: the DataFrame column when it differs from the header.
        colours: value -> palette name, overriding STATUS_COLOURS for this column.
        as_of_only: shown only when the collection has an as-of date.
        screen: for the screen only (hashes, cell references, links, raw values): such
            columns come after the printed ones, outside the print area.
    """

    header: str
    kind: str = "text"
    width: float = 12
    field: str | None = None
    colours: Mapping[str, str] | None = None
    as_of_only: bool = False
    screen: bool = False

    @property
    def source(self) -> str:
        return self.field or self.header


def _sheet(columns: Sequence[str], looks: Mapping[str, tuple], screen: Sequence[str] = ()) -> tuple[Col, ...]:
    """A table sheet's columns: the table's own columns, in its order (its one source), each
    with its look here: (kind, width[, colours[, as_of_only]]); `screen` names the columns for
    the screen only (written after the printed ones, outside the print area)."""
    def col(name: str, kind: str, width: float, colours: Mapping[str, str] | None = None,
            as_of_only: bool = False) -> Col:
        return Col(name, kind, width, colours=colours, as_of_only=as_of_only, screen=name in screen)

    return tuple(col(name, *looks[name]) for name in columns)


# Widths are chosen for paper as much as for the screen: the printed columns of each sheet fit
# A4 landscape at 9 pt or more (汇总台账 and 变化: A3); see ledgerbook.paper. Long texts wrap.
SUBMISSION_COLUMNS = _sheet(_SUBMISSION_TABLE, {
    "单位": ("long", 17), "名单内": ("flag", 5, {"否": "amber"}), "状态": ("status", 10), "文件": ("long", 18),
    "收到时间": ("datetime", 14), "首次收到": ("datetime", 15), "逾期": ("flag", 5, YES_AMBER),
    "整顿对象数": ("int", 6), "问题条数": ("int", 6), "错误数": ("int", 6), "警告数": ("int", 6), "提示数": ("int", 6),
    "逾期措施数": ("int", 6, None, True), "第一责任人": ("text", 8), "联络员": ("text", 8),
    "联系电话": ("code", 12), "QQ号码": ("code", 12), "自评报告": ("long", 14, {"未收到": "amber"}),
    "自评报告收到时间": ("datetime", 15),
}, screen=("首次收到", "QQ号码", "自评报告收到时间"))
ROW_COLUMNS = (
    Col("单位", "long", 16), Col("序号", "center", 5), Col("整顿对象", "long", 16), Col("支部书记", "long", 8),
    Col("联系党委委员", "long", 8), Col("问题序号", "int", 5), Col("重点问题", "long", 24),
    Col("具体问题", "long", 34), Col("整顿措施", "long", 35), Col("责任人", "long", 10),
    Col("完成时限", "date", 11), Col("完成时限原文", "long", 11), Col("整顿进展", "status", 8),
    Col("备注", "long", 13), Col("逾期", "flag", 5, colours=YES_AMBER, as_of_only=True),
    Col("来源文件", "long", 28, screen=True), Col("工作表", "text", 9, screen=True),
    Col("来源单元格", "center", 8, screen=True), Col("行号", "int", 6, screen=True),
)
# 问题类型, the kind of problem in Chinese, comes first in 校验结果 and 变化 (the code stays, for
# filtering). 校验结果: the findings table but its 行号 (data for the links), then 定位, the link.
FINDING_COLUMNS = (Col("问题类型", "long", 14),) + _sheet([c for c in _FINDING_TABLE if c != "行号"], {
    "级别": ("status", 5), "代码": ("code", 22), "单位": ("long", 18), "文件": ("long", 22), "工作表": ("text", 9),
    "单元格": ("center", 7), "说明": ("long", 48), "原值": ("long", 18),
}, screen=("代码", "工作表")) + (Col("定位", "link", 11, field="_link", screen=True),)
LIAISON_COLUMNS = _sheet(_LIAISON_TABLE, {
    "单位": ("long", 22), "状态": ("status", 10), "第一责任人": ("text", 10), "联络员": ("text", 10),
    "联系电话": ("code", 14), "QQ号码": ("code", 12), "邮箱": ("code", 26),
})
FILE_COLUMNS = _sheet(_FILE_TABLE, {
    "文件": ("long", 34), "大小": ("size", 11), "SHA-256": ("code", 10), "收到时间": ("datetime", 15),
    "时间依据": ("text", 10), "单位": ("long", 18), "处理结果": ("status", 9), "说明": ("long", 40), "格式": ("center", 8),
    "发件人": ("code", 24),
}, screen=("SHA-256", "发件人"))
CHANGE_COLUMNS = (Col("问题类型", "long", 12),) + _sheet(_CHANGE_TABLE, {
    "类别": ("text", 8), "变化": ("center", 7), "单位": ("long", 16), "整顿对象": ("long", 14),
    "重点问题": ("long", 12), "项目": ("long", 12), "原值": ("long", 26), "新值": ("long", 26),
    "级别": ("status", 5), "单元格": ("center", 7), "说明": ("long", 34),
})
OVERFLOW_COLUMNS = (Col("工作表", "text", 10), Col("单元格", "center", 8), Col("字数", "int", 8))

# 总览 grid: A 序号 | B label / unit / short name | C number | D long text | E | F.
_OVERVIEW_WIDTHS = (6, 24, 12, 60, 12, 22)
_OVERVIEW_LAST_COL = len(_OVERVIEW_WIDTHS) - 1


# --------------------------------------------------------------------------- values


def _as_text(value: object) -> str:
    """A value shown as text: bools as 是/否, whole floats without .0, dates as ISO."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _naive(value: dt.datetime) -> dt.datetime:
    """Excel has no time zones: aware datetimes are shown in UTC+8, the campaign's clock."""
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if value.tzinfo is not None:
        value = value.astimezone(OFFICE_TZ).replace(tzinfo=None)
    return value


def _is_number(value: object) -> bool:
    # numbers.Real covers numpy numbers too; bools (numpy's bool_ is not Real) are 是/否 text.
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


# Font size 10 in table sheets: about 13 pt per wrapped line; Excel caps a row at 409 pt.
_LINE_PT, _MAX_ROW_PT = 13.0, 409.0


def _row_heights(columns: list[list], wrapped: list[tuple[int, float]], first_row: int) -> dict[int, float]:
    """Row -> height (points) for the rows whose wrapped cells need more than one line.

    Excel sizes such rows itself but LibreOffice (and so a PDF made with it) does not, and
    text overprints the next row. Short one-line texts, most of a ledger, cost one length
    comparison each; only the rows found here get a set_row().
    """
    lines: dict[int, int] = {}
    for c, width in wrapped:
        for r, value in enumerate(columns[c], first_row):
            if isinstance(value, str) and (len(value) * 2 > width or "\n" in value):
                n = estimated_lines(value, width)
                if n > lines.get(r, 1):
                    lines[r] = n
    return {r: min(_MAX_ROW_PT, n * _LINE_PT + 2) for r, n in sorted(lines.items())}


class _HeightSetter:
    """set_row() for table rows, dropping xlsxwriter's records of rows already written out.

    In constant_memory mode a row goes to disk when the next row starts, but its set_row()
    records (``row_info``, and ``row_sizes`` which only places images) stay until the
    workbook closes: about 45 MB per 100,000 rows. Table sheets have no images, and rows
    before ``row - 1`` are on disk and never read again. The height is set before the row's
    cells (constant_memory writes a row out once the next one starts).
    """

    def __init__(self, ws: Worksheet):
        self.ws = ws
        self.kept: list[int] = []

    def set(self, row: int, height: float) -> None:
        self.forget(row)
        self.ws.set_row(row, height)
        self.kept.append(row)

    def forget(self, row: int) -> None:
        """Drop the records of rows before ``row - 1`` (call it with the last row when done:
        comments are placed at close by the heights still recorded)."""
        ws, kept = self.ws, self.kept
        while kept and kept[0] < row - 1:
            gone = kept.pop(0)
            for records in (ws.row_info, ws.row_sizes):
                records.pop(gone, None)


# --------------------------------------------------------------------------- the workbook


class _Book:
    """The xlsxwriter workbook with its cached formats and the texts too long for a cell."""

    def __init__(self, path: Path, title: str = ""):
        self.wb = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
        self.title = title  # printed in every page's header
        self._formats: dict[tuple, Format] = {}
        self._clean: dict[str, str] = {}
        self.overflow: list[tuple[str, str, str]] = []  # (sheet, cell, whole text)

    # -- formats

    def fmt(self, kind: str = "text", colour: str | None = None, **extra) -> Format:
        """A cached format: the kind's base look, a palette colour and extra properties."""
        key = (kind, colour, tuple(sorted(extra.items())))
        found = self._formats.get(key)
        if found is None:
            props = {"valign": "top", "font_size": 10, **_KIND_FORMATS.get(kind, {})}
            if colour:
                props.update(_PALETTE[colour])
            props.update(extra)
            found = self._formats[key] = self.wb.add_format(props)
        return found

    def header_fmt(self) -> Format:
        return self.fmt("header", None, bold=True, bg_color="#1F4E78", font_color="#FFFFFF", text_wrap=True,
                        valign="vcenter", align="center", border=1, border_color="#BFBFBF")

    # -- safe writing

    def clean(self, text: str) -> str:
        """Text without the characters Excel refuses (each distinct text is cleaned once)."""
        found = self._clean.get(text)
        if found is None:
            found = strip_excel_rejects(text)
            if len(self._clean) < _CACHE_MAX:
                self._clean[text] = found
        return found

    def text(self, ws: Worksheet, row: int, col: int, value: object, fmt: Format | None = None) -> None:
        """Write untrusted text as a plain string (never a formula or link); long text overflows."""
        if is_blank(value):
            return
        write, text, fmt = self._text_cell(ws, _as_text(value), fmt)
        write(row, col, text, fmt)

    def _text_cell(self, ws: Worksheet, text: str, fmt: Format | None) -> tuple:
        """(write function, text, format) that write `text` safely into a cell of `ws`.

        ``write_string`` keeps ``=…``, ``+…``, ``@…`` and ``http…`` plain text. In constant_memory
        mode xlsxwriter copies a string that starts with ``<r>`` and ends with ``</r>`` into the
        sheet's XML unescaped, as a rich string it made itself: a returned file's text shaped so
        could plant a formula. Such text is written as a rich string of two runs, which
        xlsxwriter escapes; it reads back as the same text. A text longer than a cell is cut
        when it is written (its place in 超长文本 follows the order of writing).
        """
        text = self.clean(text)
        if len(text) > EXCEL_CELL_LIMIT:
            return self._overflow_writer(ws), text, fmt
        return self.safe_cell(ws, text, fmt)

    def safe_cell(self, ws: Worksheet, text: str, fmt: Format | None) -> tuple:
        """(write function, text, format) for text already clean and short enough for a cell."""
        if text.startswith("<r>") and text.endswith("</r>"):
            return self._rich_writer(ws), text, fmt
        return ws.write_string, text, fmt

    def _rich_writer(self, ws: Worksheet) -> Callable[[int, int, str, Format | None], None]:
        def write_rich(row: int, col: int, text: str, fmt: Format | None) -> None:
            run = fmt or self.fmt()
            ws.write_rich_string(row, col, run, text[:1], run, text[1:], fmt)
        return write_rich

    def _overflow_writer(self, ws: Worksheet) -> Callable[[int, int, str, Format | None], None]:
        def write_overflowing(row: int, col: int, text: str, fmt: Format | None) -> None:
            ws.write_string(row, col, self._overflowed(ws.name, row, col, text), fmt)
        return write_overflowing

    def _overflowed(self, sheet: str, row: int, col: int, text: str) -> str:
        """Keep the whole text for the 超长文本 sheet; the cell gets its head and where the rest is."""
        self.overflow.append((sheet, cell_a1(row, col), text))
        note = f"……〔全文{len(text)}字，超出 Excel 单元格上限，全文见“{OVERFLOW}”工作表第{len(self.overflow) + 1}行〕"
        return text[: EXCEL_CELL_LIMIT - len(note)] + note

    def cells(self, ws: Worksheet, col: Col) -> Callable[[list], list]:
        """A function turning one column's values into prepared cells, for whole-row writing.

        It returns, per value, None (nothing to write) or ``(write function, value, format)``
        with the value already typed, cleaned and formatted. A text seen before in the column
        reuses its prepared cell: ledger columns repeat (units, names, sheets, statuses).
        """
        # Columns for the screen only are not wrapped: a hash or a cell reference needs no row
        # of its own, and the printed rows keep the height of their printed text.
        unwrapped = {"text_wrap": False} if col.screen and col.kind not in _UNWRAPPED_KINDS else {}
        plain = self.fmt(col.kind, **unwrapped)
        colours = col.colours if col.colours is not None else (STATUS_COLOURS if col.kind == "status" else {})
        coloured = {value: self.fmt(col.kind, colour, **unwrapped) for value, colour in colours.items()}
        seen: dict[str, tuple] = {}
        numeric, dated = col.kind in ("int", "size"), col.kind in ("date", "datetime")
        write_number, write_datetime = ws.write_number, ws.write_datetime

        def text_cell(value: object) -> tuple:
            text = _as_text(value)
            return self._text_cell(ws, text, coloured.get(text, plain))

        def other_cell(value: object) -> tuple | None:
            if is_blank(value):
                return None
            if numeric and _is_number(value):
                return write_number, float(value), plain
            if dated and isinstance(value, dt.datetime):
                return write_datetime, _naive(value), plain
            if dated and isinstance(value, dt.date):
                return write_datetime, value, plain
            return text_cell(value)

        def prepare(values: list) -> list:
            out = []
            append = out.append
            for value in values:
                if type(value) is str:
                    cell = seen.get(value)
                    if cell is None:
                        if not value:
                            append(None)
                            continue
                        cell = text_cell(value)
                        if len(seen) < _CACHE_MAX:
                            seen[value] = cell
                    append(cell)
                else:
                    append(other_cell(value))
            return out

        return prepare

    def links(self, ws: Worksheet) -> Callable[[list], list]:
        """Like :meth:`cells` for the 定位 column: 汇总台账 row numbers become internal links."""
        plain, centre = self.fmt("link"), self.fmt("center")
        budget = [MAX_LINKS]

        def write_link(r: int, c: int, target: int, fmt: Format) -> None:
            if budget[0] > 0:
                ws.write_url(r, c, f"internal:'{ROWS}'!A{target}", fmt, string=LINK_TEXT)
                budget[0] -= 1
            else:  # past Excel's limit of hyperlinks per sheet: the row number still leads there
                ws.write_string(r, c, f"台账第{target}行", centre)

        def prepare(values: list) -> list:
            return [None if target is None else (write_link, target, plain) for target in values]

        return prepare

    def close(self) -> None:
        self.wb.close()


# --------------------------------------------------------------------------- table sheets


# Table sheets are written in 10 pt: printed at 90 % or more, text stays at 9 pt or more.
TABLE_FONT_PT = 10


def _page_setup(book: _Book, ws: Worksheet, widths: list[float], *, last_row: int | None = None,
                repeat_header: bool = True) -> paper.PageSetup:
    """Paper, orientation and scale for the printed columns (`widths`, from column A), the
    campaign title and sheet name in the header, page numbers in the footer.

    Args:
        last_row: the last row to print (0-based); None prints the whole sheet. Columns past
            `widths` (screen only) are outside the print area.
    """
    setup = paper.choose(widths, TABLE_FONT_PT)
    area = (0, 0, last_row, len(widths) - 1) if last_row is not None else None
    paper.apply_xlsxwriter(ws, setup, title=book.title, repeat_rows=(0, 0) if repeat_header else None,
                           repeat_columns=0, print_area=area)
    return setup


def _columns_for(cols: tuple[Col, ...], as_of: dt.date | None) -> list[Col]:
    """The sheet's columns: the printed ones first, then those for the screen only."""
    shown = [c for c in cols if as_of is not None or not c.as_of_only]
    return [c for c in shown if not c.screen] + [c for c in shown if c.screen]


def _header_height(cols: list[Col]) -> float:
    """A header row tall enough for its wrapped headers (at least two lines)."""
    return max(2, *(estimated_lines(col.header, col.width) for col in cols)) * _LINE_PT + 4


def _write_table(book: _Book, ws: Worksheet, cols: list[Col], frame: pd.DataFrame, freeze_cols: int = 0,
                 links: list[int | None] | None = None) -> int:
    """Header, rows, freeze, filter and print setup of a table sheet.

    Rows are written whole from cells prepared a column at a time (:meth:`_Book.cells`),
    a chunk of rows at a time, so the loop over cells does nothing but call xlsxwriter.

    Args:
        book: the workbook.
        ws: the new, empty sheet.
        cols: its columns; a "link" column (last) takes its values from `links`.
        frame: the table; its columns named by each Col's source.
        freeze_cols: columns kept in view when scrolling right (the header row always is).
        links: per table row, the 汇总台账 row to link to, or None.

    Returns:
        The last row written (0-based; 0 when the table is empty).
    """
    header = book.header_fmt()
    ws.set_row(0, _header_height(cols))
    for c, col in enumerate(cols):
        ws.set_column(c, c, col.width)
        ws.write_string(0, c, col.header, header)
    makers = [book.links(ws) if col.kind == "link" else book.cells(ws, col) for col in cols]
    wrapped = [(c, col.width) for c, col in enumerate(cols) if col.kind not in _UNWRAPPED_KINDS and not col.screen]
    sources = [col.source for col in cols if col.kind != "link"]
    heights = _HeightSetter(ws)
    last = 0
    for start in range(0, len(frame), _CHUNK):
        part = frame.iloc[start: start + _CHUNK]
        values = [part[name].tolist() for name in sources]
        if links is not None:
            values.append(links[start: start + _CHUNK])
        first = start + 1
        tall = _row_heights(values, wrapped, first)
        prepared = [make(column) for make, column in zip(makers, values)]
        del values
        for r, row in enumerate(zip(*prepared), first):
            if r in tall:
                heights.set(r, tall[r])
            for c, cell in enumerate(row):
                if cell is not None:
                    cell[0](r, c, cell[1], cell[2])
        last = start + len(part)
    heights.forget(last)
    ws.freeze_panes(1, freeze_cols)
    ws.autofilter(0, 0, last, len(cols) - 1)
    _page_setup(book, ws, [col.width for col in cols if not col.screen], last_row=last)
    return last


_CHUNK = 5000
# Distinct texts remembered per column (and cleaned texts per workbook): enough for every
# repeated value of a province's ledgers, bounded so memory stays flat on distinct texts.
_CACHE_MAX = 50_000


def _iter_rows(frame: pd.DataFrame, columns: list[str]):
    """The frame's rows as tuples of plain Python values, a chunk of columns lists at a time.

    Lists rather than Series (iterating numpy scalars is slower and needs more care), made
    per chunk so a 100,000-row table is never copied whole.
    """
    for start in range(0, len(frame), _CHUNK):
        part = frame.iloc[start: start + _CHUNK]
        yield from zip(*(part[name].tolist() for name in columns))


def _write_submissions(book: _Book, collection: Collection) -> None:
    ws = book.wb.add_worksheet(SUBMISSIONS)
    _write_table(book, ws, _columns_for(SUBMISSION_COLUMNS, collection.as_of), collection.submissions, freeze_cols=1)


def _write_rows(book: _Book, collection: Collection) -> None:
    ws = book.wb.add_worksheet(ROWS)
    _write_table(book, ws, _columns_for(ROW_COLUMNS, collection.as_of), collection.rows, freeze_cols=1)


def _write_liaisons(book: _Book, collection: Collection) -> None:
    ws = book.wb.add_worksheet(LIAISONS)
    _write_table(book, ws, _columns_for(LIAISON_COLUMNS, None), collection.liaisons, freeze_cols=1)


def _write_files(book: _Book, collection: Collection) -> None:
    ws = book.wb.add_worksheet(FILES)
    _write_table(book, ws, _columns_for(FILE_COLUMNS, None), collection.files)


def _write_changes(book: _Book, changes: Changes) -> None:
    ws = book.wb.add_worksheet(CHANGES)
    table = changes.table()
    # 问题类型 names a finding's code in Chinese; the code itself stays in 项目.
    is_finding = table["类别"] == "校验结果"
    table.insert(0, "问题类型", table["项目"].where(is_finding, "").map(lambda code: code_name(code) if code else ""))
    _write_table(book, ws, _columns_for(CHANGE_COLUMNS, None), table, freeze_cols=0)


def finding_links(findings: pd.DataFrame, rows: pd.DataFrame) -> list[int | None]:
    """For each finding, the 1-based row of 汇总台账 its cell is on (None when not a table row).

    A finding points at a table row when its 文件 is a row's 来源文件 and its 行号 (the row of
    its cell) is that row's 行号 (汇总台账 has its header on row 1, so table row i is on Excel
    row i + 2).
    """
    keys: list[tuple[str, int] | None] = [
        (file, int(line)) if not is_blank(line) else None
        for file, line in zip(findings["文件"].tolist(), findings["行号"].tolist())]
    # Only the places findings point at are looked up: the map stays as small as the findings.
    wanted = set(k for k in keys if k is not None)
    where: dict[tuple[str, int], int] = {}
    for i, (file, line) in enumerate(_iter_rows(rows, ["来源文件", "行号"])):
        if not is_blank(line):
            key = (file, int(line))
            if key in wanted and key not in where:
                where[key] = i + 2
    return [where.get(k) if k is not None else None for k in keys]


def _write_findings(book: _Book, collection: Collection) -> None:
    ws = book.wb.add_worksheet(FINDINGS)
    links = finding_links(collection.findings, collection.rows)
    findings = collection.findings.assign(问题类型=collection.findings["代码"].map(code_name))
    _write_table(book, ws, _columns_for(FINDING_COLUMNS, None), findings, links=links)


def _write_by_problem(book: _Book, collection: Collection) -> None:
    """Units × key problems with totals; headers are short names with the full text in a comment and a note."""
    ws = book.wb.add_worksheet(BY_PROBLEM)
    form = collection.campaign.form
    table = collection.by_problem
    names = [c for c in table.columns if c != "合计"]
    full = dict(zip(form.problem_short, form.problems))
    ncols = len(names) + 2
    header = book.header_fmt()
    widths = [24] + [11] * len(names) + [8]
    ws.set_row(0, 45)
    for c, width in enumerate(widths):
        ws.set_column(c, c, width)
    ws.write_string(0, 0, "单位", header)
    for c, name in enumerate(names, 1):
        if name in full:
            number = form.problem_short.index(name) + 1
            ws.write_string(0, c, f"{number}. {name}", header)
            ws.write_comment(0, c, f"{number}. {full[name]}", {"x_scale": 2.5, "y_scale": 1.4})
        else:  # 未能归类: rows whose 重点问题 is not on the menu, not a problem of its own
            ws.write_string(0, c, name, header)
    ws.write_string(0, ncols - 1, "合计", header)

    unit_fmt, num, zero, bold_num = book.fmt("long"), book.fmt("int"), book.fmt("int", "grey"), book.fmt("int", bold=True)
    r = 0
    units = table.index.tolist()
    tall, heights = _row_heights([units], [(0, widths[0])], 1), _HeightSetter(ws)
    for r, (unit, counts) in enumerate(zip(units, table[names + ["合计"]].values.tolist()), start=1):
        if r in tall:
            heights.set(r, tall[r])
        book.text(ws, r, 0, unit, unit_fmt)
        for c, n in enumerate(counts[:-1], 1):
            ws.write_number(r, c, n, num if n else zero)
        ws.write_number(r, ncols - 1, counts[-1], bold_num)
    last_data = r
    heights.forget(last_data)
    if last_data:  # a heat map makes the concentration of problems visible at a glance
        ws.conditional_format(1, 1, last_data, len(names), {
            "type": "2_color_scale", "min_color": "#FFFFFF", "max_color": "#F4B183"})

    total = last_data + 1
    total_fmt = book.fmt("int", bold=True, top=1, bg_color="#F2F2F2")
    ws.write_string(total, 0, "合计", book.fmt("text", bold=True, top=1, bg_color="#F2F2F2"))
    for c, name in enumerate(names + ["合计"], 1):
        ws.write_number(total, c, int(table[name].sum()) if len(table) else 0, total_fmt)

    # The full text of each problem under the table, so a printout explains its headers.
    note_fmt = book.fmt("long", font_color="#595959")
    width = sum(widths)
    row = total + 2
    for i, name in enumerate(names, 1):
        text = (f"{i}. {name}：{full[name]}" if name in full
                else f"{name}：重点问题不在菜单之中的行（见“校验结果”中的 row.category_invalid）")
        ws.set_row(row, row_height(text, width, 14))
        ws.merge_range(row, 0, row, ncols - 1, "", note_fmt)
        book.text(ws, row, 0, text, note_fmt)
        row += 1
    ws.freeze_panes(1, 1)
    ws.autofilter(0, 0, last_data, ncols - 1)
    _page_setup(book, ws, widths)


def _write_overflow(book: _Book) -> None:
    ws = book.wb.add_worksheet(OVERFLOW)
    pieces = [[text[i: i + EXCEL_CELL_LIMIT] for i in range(0, len(text), EXCEL_CELL_LIMIT)]
              for _, _, text in book.overflow]
    most = max(len(p) for p in pieces)
    cols = list(OVERFLOW_COLUMNS) + [Col(f"第{i}段", "long", 60) for i in range(1, most + 1)]
    header = book.header_fmt()
    for c, col in enumerate(cols):
        ws.set_column(c, c, col.width)
        ws.write_string(0, c, col.header, header)
    text_fmt, num = book.fmt("long"), book.fmt("int")
    for r, ((sheet, cell, text), parts) in enumerate(zip(book.overflow, pieces), start=1):
        ws.write_string(r, 0, sheet, text_fmt)
        ws.write_string(r, 1, cell, text_fmt)
        ws.write_number(r, 2, len(text), num)
        for c, part in enumerate(parts, 3):
            ws.write_string(r, c, part, text_fmt)  # already cleaned and at most one cell long
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, len(book.overflow), len(cols) - 1)
    # Printed: where each long text belongs and its length; the pieces (up to 32,767
    # characters a cell, more than a page holds) are for the screen.
    _page_setup(book, ws, [col.width for col in OVERFLOW_COLUMNS], last_row=len(book.overflow))


def _write_snapshot(book: _Book, collection: Collection, generated_at: dt.datetime | None) -> None:
    """The very hidden sheet --since compares against (plain strings, written last)."""
    ws = book.wb.add_worksheet(SNAPSHOT_SHEET)
    for r, line in enumerate(snapshot_lines(collection, generated_at)):
        for c, value in enumerate(line):
            if value:  # already clean and at most one cell long
                write, text, fmt = book.safe_cell(ws, value, None)
                write(r, c, text, fmt)
    ws.very_hidden()


# --------------------------------------------------------------------------- 总览


class _Overview:
    """The 总览 sheet, written top to bottom with a row cursor (constant_memory)."""

    def __init__(self, book: _Book, collection: Collection, generated_at: dt.datetime | None,
                 since: Changes | None):
        self.book = book
        self.c = collection
        self.generated_at = generated_at
        self.since = since
        self.ws = book.wb.add_worksheet(OVERVIEW)
        self.row = 0
        self.breaks: list[int] = []
        self.heights: dict[int, float] = {}  # rows given a height; the others are 15 pt
        setup = paper.choose(_OVERVIEW_WIDTHS, TABLE_FONT_PT)
        self.page_height = setup.printable_height_pt * 100 / setup.scale
        for i, width in enumerate(_OVERVIEW_WIDTHS):
            self.ws.set_column(i, i, width)

    def _set_height(self, height: float) -> None:
        self.ws.set_row(self.row, height)
        self.heights[self.row] = height

    def _room_left(self) -> float:
        """Points left on the printed page the cursor is on."""
        start = max([b for b in self.breaks if b <= self.row], default=0)
        used = 0.0
        for r in range(start, self.row):
            h = self.heights.get(r, 15.0)
            if used + h > self.page_height:  # the printer breaks the page here by itself
                used = 0.0
            used += h
        return self.page_height - used

    # -- building blocks

    def _merged(self, text: str, fmt: Format, first: int = 0, last: int = _OVERVIEW_LAST_COL,
                height: float | None = None) -> None:
        """One line of text across columns first..last (a single-row merge)."""
        if height:
            self._set_height(height)
        self.ws.merge_range(self.row, first, self.row, last, "", fmt)
        self.book.text(self.ws, self.row, first, text, fmt)

    def _span_width(self, first: int, last: int = _OVERVIEW_LAST_COL) -> float:
        return sum(_OVERVIEW_WIDTHS[first: last + 1])

    def heading(self, text: str, new_page: bool = False) -> None:
        self.row += 1
        if new_page:  # printed, each section starts on its own page: no chart cut in two
            self.breaks.append(self.row)
        fmt = self.book.fmt("text", font_size=13, bold=True, font_color="#1F4E78", bottom=2,
                            bottom_color="#1F4E78", valign="bottom")
        self._merged(text, fmt, height=24)
        self.row += 1

    def note(self, text: str, first: int = 1) -> None:
        fmt = self.book.fmt("long", font_size=10, font_color="#404040")
        self._merged(text, fmt, first=first, height=row_height(text, self._span_width(first), 14))
        self.row += 1

    def table(self, headers: list[str], rows: list[list[object]], kinds: list[str], first_col: int = 0,
              colour_col: int | None = None) -> tuple[int, int]:
        """A small bordered table; returns (first data row, last data row)."""
        book, ws = self.book, self.ws
        head = book.fmt("header", None, bold=True, bg_color="#DDEBF7", font_color="#1F4E78", border=1,
                        border_color="#9BC2E6", align="center", valign="vcenter", text_wrap=True)
        self._set_height(20)
        for i, h in enumerate(headers):
            ws.write_string(self.row, first_col + i, h, head)
        self.row += 1
        first = self.row
        for values in rows:
            height = 16.0
            for i, (value, kind) in enumerate(zip(values, kinds)):
                if kind not in _UNWRAPPED_KINDS and isinstance(value, str):
                    height = max(height, row_height(value, _OVERVIEW_WIDTHS[first_col + i], 14))
            self._set_height(height)
            for i, (value, kind) in enumerate(zip(values, kinds)):
                colour = STATUS_COLOURS.get(value) if colour_col == i and isinstance(value, str) else None
                extra = {"align": "center"} if kind == "int" else {}
                fmt = book.fmt(kind, colour, border=1, border_color="#D9D9D9", font_size=10, **extra)
                if _is_number(value):
                    ws.write_number(self.row, first_col + i, value, fmt)
                else:
                    book.text(ws, self.row, first_col + i, value, fmt)
                    if is_blank(value):
                        ws.write_blank(self.row, first_col + i, None, fmt)
            self.row += 1
        return first, self.row - 1

    # -- sections

    def write(self) -> None:
        self.title()
        self.facts()
        self.counts()
        self.send_back()
        self.problems()
        if self.c.as_of is not None:
            self.overdue()
        self.ws.hide_gridlines(2)
        self.ws.set_h_pagebreaks(self.breaks)
        _page_setup(self.book, self.ws, list(_OVERVIEW_WIDTHS), repeat_header=False)
        self.ws.activate()

    def title(self) -> None:
        campaign = self.c.campaign
        fmt = self.book.fmt("text", font_size=18, bold=True, align="center", valign="vcenter", font_color="#1F4E78")
        self._merged(f"{campaign.full_title}汇总表", fmt, height=34)
        self.row += 1
        sub = self.book.fmt("text", font_size=10, align="center", valign="vcenter", font_color="#595959")
        parts = [campaign.institution, campaign.department]
        if self.generated_at is not None:
            parts.append(f"{_naive(self.generated_at):%Y-%m-%d %H:%M} 生成")
        self._merged("　".join(p for p in parts if p), sub, height=18)
        self.row += 1

    def facts(self) -> None:
        campaign, c = self.c.campaign, self.c
        self.heading("基本情况")
        as_of = c.as_of.isoformat() if c.as_of else "未指定（不判断措施逾期）"
        # Institution, title and the time it was made are in the title lines above.
        facts = [
            ("活动期间", f"{campaign.start.isoformat()} 至 {campaign.rectification_due.isoformat()}"),
            ("截止日期", f"整顿台账 {campaign.ledger_due.isoformat()}；自评报告 {campaign.report_due.isoformat()}；"
                     f"集中整顿完成 {campaign.rectification_due.isoformat()}"),
            ("统计截至", as_of),
        ]
        facts.append(("来源文件夹", str(c.inbox)))
        label = self.book.fmt("text", bold=True, font_color="#404040")
        value = self.book.fmt("long")
        for name, text in facts:
            self._set_height(row_height(text, self._span_width(2), 15))
            self.ws.write_string(self.row, 1, name, label)
            self.ws.merge_range(self.row, 2, self.row, _OVERVIEW_LAST_COL, "", value)
            self.book.text(self.ws, self.row, 2, text, value)
            self.row += 1

    def _count_rows(self) -> list[tuple[str, int, str | None]]:
        counts = self.c.counts()
        keys = ["应报单位", PASSED, RETURN, MISSING, "名单外单位", "逾期报送", "整顿对象", "问题条数", "错误", "警告"]
        if counts.get("无单位文件错误"):
            keys.append("无单位文件错误")
        if self.c.as_of is not None:
            keys.append("逾期措施")
        colour = {PASSED: "green", RETURN: "red", MISSING: "red", "错误": "red", "警告": "amber",
                  "逾期措施": "amber", "逾期报送": "amber", "名单外单位": "amber", "无单位文件错误": "red"}
        return [(k, int(counts.get(k, 0)), colour.get(k) if counts.get(k) else None) for k in keys]

    def counts(self) -> None:
        self.heading("总体情况")
        book, ws = self.book, self.ws
        label = book.fmt("text", font_size=11, bold=True, valign="vcenter", border=1, border_color="#D9D9D9")
        first = self.row
        for name, n, colour in self._count_rows():
            self._set_height(21)
            ws.write_string(self.row, 1, name, label)
            ws.write_number(self.row, 2, n, book.fmt("int", colour, font_size=14, bold=True, valign="vcenter",
                                                     align="center", border=1, border_color="#D9D9D9"))
            self.row += 1
        self._status_chart(first)
        missing = self.c.submissions[(self.c.submissions["状态"] == MISSING)]["单位"].tolist()
        if missing:
            self.row += 1
            as_other = self.c.received_as_other_unit()
            self.note(f"未提交单位（{len(missing)}个）：" + "、".join(missing))
            for unit, (file, counted_as) in as_other.items():
                self.note(f"{unit}：收到用本单位专用模板填写的“{file}”，但填报单位填的是“{counted_as}”，"
                          f"按“{counted_as}”统计；请与该单位核对。")
        if self.since is not None:
            self.row += 1
            self.note(_changes_line(self.since))

    def _status_chart(self, first: int) -> None:
        """Pie of 已通过 / 需退回修改 / 未提交 (rows first+1 .. first+3 of the counts table)."""
        chart = self.book.wb.add_chart({"type": "pie"})
        chart.add_series({
            "name": "单位报送状态",
            "categories": [OVERVIEW, first + 1, 1, first + 3, 1],
            "values": [OVERVIEW, first + 1, 2, first + 3, 2],
            "points": [{"fill": {"color": "#70AD47"}}, {"fill": {"color": "#E06666"}}, {"fill": {"color": "#BFBFBF"}}],
            "data_labels": {"value": True, "category": True, "separator": "\n", "position": "best_fit",
                            "font": {"size": 10}},
        })
        chart.set_title({"name": "单位报送状态", "name_font": {"size": 12, "bold": True}})
        chart.set_legend({"position": "right", "font": {"size": 10}})
        chart.set_size({"width": 470, "height": 300})
        chart.set_chartarea({"border": {"none": True}})
        self.ws.insert_chart(first, 3, chart, {"x_offset": 40, "y_offset": 4, "object_position": 3})

    def send_back(self) -> None:
        """The units to send back, as counted in 总体情况 (roster units); then the units outside
        the roster and the files of no unit, each on its own, so that every number has its list."""
        s = self.c.submissions
        back = s[(s["名单内"] == "是") & (s["状态"] == RETURN)]
        top = _top_errors(self.c.findings)
        self.heading(f"需退回修改的单位（{len(back)}个）", new_page=True)
        if len(back):
            self._units_table(back, top)
        else:
            self.note("无：名单内已报送的单位均未发现错误。")
        outside = s[s["名单内"] == "否"]
        if len(outside):
            self.heading(f"名单外单位（{len(outside)}个，不计入应报单位）")
            self._units_table(outside, top, status=True)
        unassigned = self.c.unassigned_findings()
        files = list(dict.fromkeys(unassigned.loc[unassigned["级别"] == ERROR, "文件"]))
        if files:
            shown = "、".join(files[:10]) + (f"等 {len(files)} 个" if len(files) > 10 else "")
            self.row += 1
            self.note(f"另有 {len(files)} 个文件有错误，但无法确定属于哪个单位，不计入任何单位的错误数"
                      f"（见“{FINDINGS}”和“{FILES}”）：{shown}")

    def _units_table(self, units: pd.DataFrame, top: dict[str, str], status: bool = False) -> None:
        rows = []
        for i, r in enumerate(units.itertuples(index=False), 1):
            contact = " ".join(str(v) for v in (r.联络员, r.联系电话) if not is_blank(v))
            name = f"{r.单位}（{r.状态}）" if status else r.单位
            rows.append([i, name, int(r.错误数), top.get(r.单位, ""), int(r.警告数), contact])
        self.table(["序号", "单位", "错误数", "主要错误", "警告数", "联络员 电话"], rows,
                   ["center", "long", "int", "long", "int", "long"])

    def problems(self) -> None:
        form = self.c.campaign.form
        rows_df = self.c.rows
        self.heading("重点问题分布", new_page=True)
        valid = rows_df[rows_df["问题序号"].notna()] if len(rows_df) else rows_df
        numbers = valid["问题序号"].astype(int) if len(valid) else pd.Series(dtype=int)
        count = numbers.value_counts().to_dict()
        units = valid.groupby(numbers)["单位"].nunique().to_dict() if len(valid) else {}
        overdue = valid[valid["逾期"].astype(bool)].groupby(numbers)["单位"].size().to_dict() if len(valid) else {}
        headers = ["序号", "简称", "条数", "重点问题", "涉及单位"]
        kinds = ["center", "text", "int", "long", "int"]
        if self.c.as_of is not None:
            headers.append("逾期措施")
            kinds.append("int")
        table = []
        for i, (short, text) in enumerate(zip(form.problem_short, form.problems), 1):
            line = [i, short, int(count.get(i, 0)), text, int(units.get(i, 0))]
            if self.c.as_of is not None:
                line.append(int(overdue.get(i, 0)))
            table.append(line)
        first, last = self.table(headers, table, kinds)
        invalid = len(rows_df) - len(valid)
        if invalid:
            self.note(f"另有 {invalid} 行的重点问题不在菜单之中（见“{FINDINGS}”）。")
        self._problem_chart(first, last)

    def _problem_chart(self, first: int, last: int) -> None:
        chart = self.book.wb.add_chart({"type": "bar"})
        chart.add_series({
            "name": "问题条数",
            "categories": [OVERVIEW, first, 1, last, 1],
            "values": [OVERVIEW, first, 2, last, 2],
            "fill": {"color": "#4472C4"},
            "gap": 60,
            "data_labels": {"value": True, "font": {"size": 10}},
        })
        chart.set_title({"name": "各重点问题的问题条数", "name_font": {"size": 12, "bold": True}})
        # In an xlsxwriter bar chart y_axis is the (vertical) category axis. Bar charts list
        # categories bottom-up: reverse it so problem 1 is on top, as in the table above.
        chart.set_y_axis({"reverse": True, "crossing": "max", "num_font": {"size": 10}})
        chart.set_x_axis({"name": "条数", "major_gridlines": {"visible": True, "line": {"color": "#E0E0E0"}},
                          "name_font": {"size": 10}, "num_font": {"size": 10}})
        chart.set_legend({"none": True})
        height = 300
        chart.set_size({"width": 860, "height": height})
        self.row += 1
        if self._room_left() < height * 0.75 + 12:  # printed, a chart is never cut in two
            self.breaks.append(self.row)
        self.ws.insert_chart(self.row, 0, chart, {"x_offset": 8, "y_offset": 4, "object_position": 3})
        # Leave the chart its own rows (default height, 20 px) so nothing is written under it.
        self.row += math.ceil((height + 8) / 20) + 1

    def overdue(self) -> None:
        s = self.c.submissions
        late = s[s["逾期措施数"] > 0].sort_values("逾期措施数", ascending=False, kind="stable")
        total = int(late["逾期措施数"].sum()) if len(late) else 0
        self.heading(f"逾期措施（截至 {self.c.as_of.isoformat()}：{total} 项，{len(late)} 个单位）", new_page=True)
        if not len(late):
            self.note("无：所有措施均未过完成时限，或已完成。")
            return
        shown = late.head(10)
        rows = []
        for i, r in enumerate(shown.itertuples(index=False), 1):
            contact = " ".join(str(v) for v in (r.联络员, r.联系电话) if not is_blank(v))
            rows.append([i, r.单位, int(r.逾期措施数), contact])
        self.table(["序号", "单位", "逾期措施", "联络员 电话"], rows, ["center", "long", "int", "long"])
        if len(late) > len(shown):
            self.note(f"另有 {len(late) - len(shown)} 个单位有逾期措施，见“{SUBMISSIONS}”的逾期措施数列。")


def _top_errors(findings: pd.DataFrame, most: int = 3) -> dict[str, str]:
    """unit -> its most frequent kinds of error, e.g. "完成时限不是日期（3）；…等5类"."""
    errors = findings[findings["级别"] == ERROR]
    out: dict[str, str] = {}
    for unit, group in errors.groupby("单位", sort=False):
        counts = group["代码"].value_counts()
        parts = [f"{code_name(code)}（{n}）" for code, n in counts.head(most).items()]
        more = f"等{len(counts)}类" if len(counts) > most else ""
        out[unit] = "；".join(parts) + more
    return out


def _changes_line(changes: Changes) -> str:
    n = changes.counts()
    when = []
    if changes.since_generated_at:
        when.append(f"{_naive(changes.since_generated_at):%Y-%m-%d %H:%M} 生成")
    if changes.since_file:
        when.append(f"“{changes.since_file}”")
    since = f"（{'，'.join(when)}）" if when else ""
    return (f"与上次汇总{since}相比：{n['状态变化']} 个单位状态改变；台账行新增 {n['新增行']}、删除 {n['删除行']}、"
            f"修改 {n['修改行']}；整顿进展变化 {n['进展变化']} 项；校验问题新增 {n['新增问题']}、已解决 {n['已解决问题']}。"
            f"详见“{CHANGES}”工作表。")


# --------------------------------------------------------------------------- entry point


def write_summary(collection: Collection, path: str | Path, *, generated_at: dt.datetime | None = None,
                  since: Changes | None = None) -> Path:
    """Write the summary workbook (汇总表) of a collection.

    The file is written to a temporary file in the same folder and moved into place at the
    end, so a crash never leaves half a summary and an existing summary stays intact.

    Args:
        collection: the result of :func:`ledgerbook.collect.collect`.
        path: the .xlsx file to write (its folder is created when missing).
        generated_at: when the summary is made, shown on 总览 and kept for ``--since``;
            None leaves it out (nothing reads the clock here).
        since: the changes since an earlier summary (:func:`ledgerbook.changes.compare`);
            adds the 变化 sheet and a line on 总览.

    Returns:
        The path written.

    Raises:
        OutputError: the target is open in Excel/WPS (a lock file lies next to it), is read
            only, or its folder cannot be written.
    """
    path = Path(path)
    refuse_inside_inbox(path, collection.inbox, "汇总表")
    check_target(path, "汇总表")
    return atomic_save(path, lambda tmp: _write_workbook(collection, tmp, generated_at, since), "汇总表",
                       errors=(XlsxWriterException,))


def _write_workbook(collection: Collection, path: Path, generated_at: dt.datetime | None,
                    since: Changes | None) -> None:
    book = _Book(path, collection.campaign.full_title)
    campaign = collection.campaign
    book.wb.set_properties({
        "title": f"{campaign.full_title}汇总表", "subject": campaign.form.title, "author": campaign.department,
        "company": campaign.institution, "keywords": f"ledgerbook, summary {FORMAT_VERSION}",
        "comments": "由 ledgerbook 生成",
    })
    _Overview(book, collection, generated_at, since).write()
    _write_submissions(book, collection)
    if since is not None:
        _write_changes(book, since)
    _write_rows(book, collection)
    _write_by_problem(book, collection)
    _write_findings(book, collection)
    _write_liaisons(book, collection)
    _write_files(book, collection)
    if book.overflow:
        _write_overflow(book)
    _write_snapshot(book, collection, generated_at)
    book.close()
