"""Read a returned ledger as a person would: find the sheet, the header, the unit block, the rows.

Readers were chosen by measurement (scripts/bench.py): python-calamine reads .xlsx, .xls
and .ods with merged ranges at thousands of files a second; what calamine does not give
(sheet protection) comes from one light look at the sheet's XML part. HTML "xls" exports
and CSV files are read with the standard library.

Every value keeps the 0-based (row, col) of the cell it came from, so findings and feedback
copies point at the right cell of the original sheet. A file that cannot be read with
certainty gives a finding, never a guess and never an exception.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser

from .excel import cell_a1, column_index
from .findings import ERROR, WARNING, Finding, make_finding
from .form import Form, Layout
from .text import decode_text, normalize_label

# Caps on what is read from one sheet: a real ledger has tens of rows and 11 columns; a
# sheet of a million rows or 16,384 columns of junk must not exhaust memory.
MAX_ROWS = 5_000
MAX_COLS = 64
MAX_CELLS = 2_000_000
# A worksheet XML part larger than this (uncompressed) is not a ledger: refuse before parsing.
MAX_SHEET_XML_BYTES = 60 * 1024 * 1024

_PROTECTION = re.compile(rb"<(?:\w+:)?sheetProtection\b[^>]*?\bsheet=\"(1|true)\"")
_ODS_PROTECTED = re.compile(rb"<table:table\b[^>]*?table:protected=\"true\"")


@dataclass
class Grid:
    """One sheet's cells from A1, with its merged ranges ((r1, c1), (r2, c2)), 0-based inclusive."""

    name: str
    rows: list[list]
    merges: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    truncated: bool = False

    def value(self, r: int, c: int):
        if r < len(self.rows) and c < len(self.rows[r]):
            return self.rows[r][c]
        return ""


@dataclass
class Workbook:
    """What the reader needs of a workbook: its visible grids, marker and protection."""

    sheets: list[str]
    load: callable  # name -> Grid
    marker: dict[str, str] = field(default_factory=dict)
    protection: callable = lambda name: None  # name -> True/False, None where the format cannot tell


@dataclass
class Ledger:
    """A returned ledger as read.

    Attributes:
        file: the document's path inside the inbox.
        sheet: the sheet the table was found on ('' when none).
        layout: where the header, rows, columns and unit-block values are (None if not found).
        fields: unit-block key -> (raw value, (row, col) of the value or of where it belongs).
        row_numbers: the 0-based sheet row of each filled table row, in sheet order.
        columns: column key -> the raw values of those rows (kept by column: a big inbox holds
            100,000 rows, and one dict per row costs more than the values themselves).
        rows: the same as (row index, {column key: raw value}) pairs, made on demand.
        marker: the hidden marker sheet's key/values (表单版本, 活动, 单位), empty when absent.
        protected: whether the ledger sheet is still protected (None where the format cannot tell).
        findings: file-level findings (unreadable, not a ledger, layout changed, truncated).
        macros: the workbook carries a VBA project (never run; noted).
    """

    file: str
    sheet: str = ""
    layout: Layout | None = None
    fields: dict[str, tuple[object, tuple[int, int]]] = field(default_factory=dict)
    row_numbers: list[int] = field(default_factory=list)
    columns: dict[str, list] = field(default_factory=dict)
    marker: dict[str, str] = field(default_factory=dict)
    protected: bool | None = None
    findings: list[Finding] = field(default_factory=list)
    macros: bool = False
    format: str = ""

    @property
    def rows(self) -> list[tuple[int, dict[str, object]]]:
        keys = list(self.columns)
        return [(r, {k: self.columns[k][i] for k in keys}) for i, r in enumerate(self.row_numbers)]

    @property
    def n_rows(self) -> int:
        return len(self.row_numbers)

    @property
    def readable(self) -> bool:
        """True when a table was found and every required column mapped."""
        return self.layout is not None and not any(f.level == ERROR for f in self.findings)

    def cell(self, row: int, key: str) -> str:
        """A1 reference of a table cell."""
        return cell_a1(row, self.layout.columns[key])

    def field_value(self, key: str):
        return self.fields.get(key, ("", None))[0]

    def field_cell(self, key: str) -> str:
        pos = self.fields.get(key, (None, None))[1]
        return cell_a1(*pos) if pos else ""


# --------------------------------------------------------------------------- opening

def read_ledger(data: bytes, file: str, fmt: str, form: Form) -> Ledger:
    """Read one returned ledger from its bytes.

    Args:
        data: the file's bytes.
        file: its path inside the inbox (for findings).
        fmt: the sniffed format ('xlsx', 'xlsm', 'xls', 'ods', 'html', 'csv').
        form: the form definition.

    Returns:
        A Ledger; problems are in `ledger.findings`, never raised.
    """
    ledger = Ledger(file=file, format=fmt, macros=(fmt == "xlsm"))
    try:
        book = open_workbook(data, fmt, form)
    except _Unreadable as exc:
        ledger.findings.append(make_finding("file.unreadable", file=file, reason=str(exc)))
        return ledger
    except BaseException as exc:  # a reader bug or a file no reader expected: that file's finding
        _reraise_interrupts(exc)
        ledger.findings.append(make_finding(
            "file.unreadable", file=file, reason=f"文件已损坏或格式异常（{type(exc).__name__}）"))
        return ledger
    ledger.marker = book.marker
    try:
        _find_ledger(book, ledger, form)
    except _Unreadable as exc:
        ledger.findings.append(make_finding("file.unreadable", file=file, reason=str(exc)))
    except BaseException as exc:
        _reraise_interrupts(exc)
        ledger.findings.append(make_finding(
            "file.unreadable", file=file, reason=f"读取表格内容时出错（{type(exc).__name__}）"))
    return ledger


def _reraise_interrupts(exc: BaseException) -> None:
    """Let Ctrl-C and exits through; anything else (a Rust panic in calamine arrives as
    pyo3's PanicException, a BaseException) becomes the file's finding."""
    if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
        raise exc


class _Unreadable(Exception):
    """The file cannot be read; the message (Chinese) says why."""


def open_workbook(data: bytes, fmt: str, form: Form) -> Workbook:
    if fmt in ("xlsx", "xlsm", "xls", "ods", "xlsb"):
        return _open_calamine(data, fmt, form)
    if fmt == "html":
        return _single_grid(_html_rows(data), "网页表格")
    if fmt == "csv":
        return _single_grid(_csv_rows(data), "CSV")
    raise _Unreadable(f"不支持的文件格式（{fmt or '未知'}）")


def _single_grid(rows: list[list], name: str) -> Workbook:
    grid = Grid(name=name, rows=[r[:MAX_COLS] for r in rows[:MAX_ROWS]], truncated=len(rows) > MAX_ROWS)
    return Workbook(sheets=[name], load=lambda _name: grid)


def _open_calamine(data: bytes, fmt: str, form: Form) -> Workbook:
    import python_calamine as pc

    parts = _OoxmlParts(data) if fmt in ("xlsx", "xlsm") else None
    capped = False
    if parts is not None:
        parts.check_sizes()
        data, capped = cap_ooxml(data, parts)
    elif fmt == "ods":
        data, capped = cap_ods(data)
    try:
        wb = pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except pc.PasswordError:
        raise _Unreadable("文件设置了打开密码，无法读取。请取消密码后另存为 .xlsx 重新报送") from None
    except BaseException as exc:
        _reraise_interrupts(exc)
        raise _Unreadable(f"文件已损坏或不是有效的表格文件（{_short(exc)}）") from None

    marker_key = normalize_label(form.marker_sheet)
    visible = []
    marker_sheet = None
    for meta in wb.sheets_metadata:
        if normalize_label(meta.name) == marker_key:
            marker_sheet = meta.name
        elif str(meta.typ).endswith("WorkSheet"):
            visible.append(meta.name)
    marker = parts.marker() if parts is not None else {}
    if not marker and marker_sheet is not None:
        try:
            marker = _read_marker(wb.get_sheet_by_name(marker_sheet).to_python(skip_empty_area=False, nrows=20))
        except BaseException as exc:
            _reraise_interrupts(exc)
            marker = {}

    def load(name: str) -> Grid:
        sheet = wb.get_sheet_by_name(name)
        height, width = sheet.height, sheet.width
        truncated = height > MAX_ROWS or width > MAX_COLS
        r0, c0 = sheet.start if sheet.start else (0, 0)
        nrows = min(r0 + height, MAX_ROWS, max(1, MAX_CELLS // max(c0 + width, 1)))
        if nrows < r0 + height:
            truncated = True
        # From A1 (not from the first used cell) so that references are the sheet's own.
        rows = [row[:MAX_COLS] for row in sheet.to_python(skip_empty_area=False, nrows=nrows)]
        truncated = truncated or capped
        merges = list(sheet.merged_cell_ranges or [])
        if fmt == "ods" and not merges:
            merges = _ods_merges(data, name)  # calamine gives no merged ranges for .ods
        return Grid(name=name, rows=rows, merges=merges, truncated=truncated)

    if parts is not None:
        protection = parts.protected
    elif fmt == "ods":
        ods = _ods_protection(data)
        protection = ods.get
    else:
        protection = lambda name: None  # noqa: E731 - .xls: not worth a BIFF parser
    return Workbook(sheets=visible, load=load, marker=marker, protection=protection)


# --------------------------------------------------------------------------- capping before calamine
#
# calamine allocates a sheet's whole grid from the largest cell reference (or an .ods repeat
# count) before we can cap anything: one cell at XFD1048576 in a 16 KB file asks for 512 GB.
# So rows past MAX_ROWS and cells past MAX_COLS are cut out of the XML first (byte-level
# regular expressions: no XML parser, no entity expansion), only when a sheet reaches past them.

_ROW_EL = re.compile(rb"<row\b([^>]*?)(/>|>(.*?)</row>)", re.S)
_CELL_EL = re.compile(rb"<c\b([^>]*?)(?:/>|>.*?</c>)", re.S)
_R_ATTR = re.compile(rb'\br="\$?([A-Za-z]{0,3})\$?(\d+)"')
_REF = re.compile(rb'\br="([A-Z]{1,3})(\d+)"')
_DIMENSION = re.compile(rb"<dimension\b[^>]*/>")
_MERGE_EL = re.compile(rb'<mergeCell\b[^>]*ref="[A-Z]{1,3}\d+:([A-Z]{1,3})(\d+)"[^>]*/>')


# A cell reference past column BL (64) or with a 5-digit row: what could make calamine's
# grid large. (A literal first, no \\b: re then scans with a fast substring search. Rows
# 5,001-9,999 are harmless to allocate and are capped after reading.)
assert MAX_COLS == 64, "update _PAST_CAPS with the caps"
_PAST_CAPS = re.compile(rb'r="\$?(?:[A-Z]{3}|B[M-Z]|[C-Z][A-Z]|[A-Z]{0,3}\$?\d{5})')


def _reaches_past_caps(xml: bytes) -> bool:
    return xml.count(b"<row") > MAX_ROWS or _PAST_CAPS.search(xml) is not None


_HAS_VALUE = re.compile(rb"<(?:\w+:)?(?:v|is|f)\b")


def _cut_sheet(xml: bytes) -> tuple[bytes, bool]:
    """The sheet XML without rows past MAX_ROWS, cells past MAX_COLS, or its dimension; and
    whether anything cut held a value (formatted empty cells far away are no loss)."""
    position = [0]
    lost = [False]

    def cut(text: bytes) -> bytes:
        lost[0] = lost[0] or _HAS_VALUE.search(text) is not None
        return b""

    def cell(m: re.Match) -> bytes:
        ref = _R_ATTR.search(m.group(1))
        if ref and ref.group(1) and column_index(ref.group(1)) > MAX_COLS:
            return cut(m.group(0))
        return m.group(0)

    def row(m: re.Match) -> bytes:
        ref = re.search(rb'\br="(\d+)"', m.group(1))
        position[0] = int(ref.group(1)) if ref else position[0] + 1
        if position[0] > MAX_ROWS:
            return cut(m.group(0))
        if m.group(3) is None:
            return m.group(0)
        return b"<row" + m.group(1) + b">" + _CELL_EL.sub(cell, m.group(3)) + b"</row>"

    def merge(m: re.Match) -> bytes:
        return b"" if int(m.group(2)) > MAX_ROWS or column_index(m.group(1)) > MAX_COLS else m.group(0)

    xml = _DIMENSION.sub(b"", xml)
    xml = _ROW_EL.sub(row, xml)
    return _MERGE_EL.sub(merge, xml), lost[0]


def _rezip(data: bytes, replaced: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, replaced.get(info.filename) or src.read(info.filename))
    return out.getvalue()


def cap_ooxml(data: bytes, parts: "_OoxmlParts") -> tuple[bytes, bool]:
    """(bytes calamine can safely read, whether any value was cut off)."""
    if parts.zip is None:
        return data, False
    replaced, lost = {}, False
    for name in parts.names:
        if name.startswith("xl/worksheets/") and name.endswith(".xml"):
            xml = parts._read(name)
            if _reaches_past_caps(xml):
                replaced[name], lost_here = _cut_sheet(xml)
                lost = lost or lost_here
    return (_rezip(data, replaced), lost) if replaced else (data, False)


_ODS_TOKEN = re.compile(rb'<table:table-row\b|<table:table(?=[\s>])|table:number-(rows|columns)-repeated="(\d+)"')


def cap_ods(data: bytes) -> tuple[bytes, bool]:
    """.ods with repeat counts capped so no sheet reaches past MAX_ROWS × MAX_COLS."""
    content = _ods_content(data)
    if content is None:
        return data, False
    state = {"rows": 0, "cols": 0, "cut": False, "capped": False}

    def token(m: re.Match) -> bytes:
        if m.group(1) is None:
            if m.group(0).endswith(b"-row"):
                state["cols"] = 0
            else:
                state["rows"] = 0
            return m.group(0)
        key = "rows" if m.group(1) == b"rows" else "cols"
        cap = MAX_ROWS if key == "rows" else MAX_COLS
        n = int(m.group(2))
        allowed = max(1, min(n, cap - state[key]))
        state[key] += allowed
        if allowed != n:
            # LibreOffice repeats empty rows and cells to the sheet's end: cutting those loses
            # nothing; only a repeated element with a value is reported as cut off.
            state["cut"] = state["cut"] or _repeats_a_value(m.string, m.end(), key)
            state["capped"] = True
            return b"table:number-" + m.group(1) + b'-repeated="' + str(allowed).encode() + b'"'
        return m.group(0)

    capped = _ODS_TOKEN.sub(token, content)
    if not state["capped"]:
        return data, False
    return _rezip(data, {"content.xml": capped}), state["cut"]


_ODS_VALUE = re.compile(rb"office:value-type|<text:p\b")


def _repeats_a_value(content: bytes, at: int, key: str) -> bool:
    """Whether the row (or cell) whose repeat count ends at `at` holds a value."""
    if key == "rows":
        end = content.find(b"</table:table-row>", at)
    else:
        close = content.find(b">", at)
        end = close if close > 0 and content[close - 1:close] == b"/" else content.find(b"</table:table-cell>", at)
    start = content.rfind(b"<", 0, at)
    return _ODS_VALUE.search(content, start, end if end > 0 else len(content)) is not None


_SHEET_ENTRY = re.compile(rb"<(?:\w+:)?sheet\b([^>]*)/?>")
_ATTR = re.compile(rb'([\w:]+)="([^"]*)"')
_CUSTOM_PROP = re.compile(rb'<property\b[^>]*\bname="ledgerbook\.([^"]+)"[^>]*>\s*<vt:\w+>([^<]*)</vt:\w+>')


class _OoxmlParts:
    """A light look at an .xlsx package's XML parts, for what calamine does not give.

    Parts are matched with regular expressions over the bytes, never parsed by an XML
    library, so entity declarations (billion laughs, external entities) are never expanded.
    """

    def __init__(self, data: bytes):
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            self.names = set(self.zip.namelist())
        except Exception:
            self.zip, self.names = None, set()

    def check_sizes(self) -> None:
        if self.zip is None:
            return
        for info in self.zip.infolist():
            if info.filename.startswith("xl/worksheets/") and info.file_size > MAX_SHEET_XML_BYTES:
                raise _Unreadable("工作表过大（解压后超过60MB），不是正常的整顿台账")
        try:
            head = self.zip.read("xl/workbook.xml")[:4096] if "xl/workbook.xml" in self.names else b""
        except Exception:
            return
        if b"<!ENTITY" in head or b"<!DOCTYPE" in head:
            raise _Unreadable("工作簿的 XML 含有实体声明（可能是恶意构造的文件），已拒绝读取")

    def _read(self, name: str, limit: int = MAX_SHEET_XML_BYTES) -> bytes:
        """A part's bytes (at most `limit`), read once: capping and protection both look."""
        if self.zip is None or name not in self.names:
            return b""
        cache = self.__dict__.setdefault("_cache", {})
        if name not in cache:
            with self.zip.open(name) as fh:
                cache[name] = fh.read(limit)
        return cache[name]

    def marker(self) -> dict[str, str]:
        from html import unescape

        custom = self._read("docProps/custom.xml", 1 << 20)
        return {unescape(k.decode("utf-8", "replace")): unescape(v.decode("utf-8", "replace"))
                for k, v in _CUSTOM_PROP.findall(custom)}

    def protected(self, sheet: str) -> bool | None:
        """Whether the named sheet carries a sheetProtection element that protects it."""
        try:
            part = self._sheet_part(sheet)
            if part is None:
                return None
            return bool(_PROTECTION.search(self._read(part)))
        except Exception:
            return None

    def _sheet_part(self, sheet: str) -> str | None:
        from html import unescape

        rels = {}
        for m in re.finditer(rb"<Relationship\b([^>]*)>", self._read("xl/_rels/workbook.xml.rels")):
            attrs = dict(_ATTR.findall(m.group(1)))
            target = attrs.get(b"Target", b"").decode("utf-8", "replace").lstrip("/")
            rels[attrs.get(b"Id")] = target if target.startswith("xl/") else "xl/" + target
        for m in _SHEET_ENTRY.finditer(self._read("xl/workbook.xml")):
            attrs = dict(_ATTR.findall(m.group(1)))
            if unescape(attrs.get(b"name", b"").decode("utf-8", "replace")) == sheet:
                rid = next((v for k, v in attrs.items() if k.endswith(b":id")), None)
                return rels.get(rid)
        return None


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:80]


def _read_marker(rows: list[list]) -> dict[str, str]:
    marker = {}
    for row in rows:
        if len(row) >= 2 and str(row[0]).strip():
            marker[str(row[0]).strip()] = str(row[1]).strip()
    return marker


def _ods_content(data: bytes) -> bytes | None:
    """content.xml of an .ods (None when it cannot be had); refuses a huge one."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            if zf.getinfo("content.xml").file_size > MAX_SHEET_XML_BYTES:
                raise _Unreadable("工作表过大（解压后超过60MB），不是正常的整顿台账")
            return zf.read("content.xml")
    except _Unreadable:
        raise
    except Exception:
        return None


def _ods_protection(data: bytes) -> dict[str, bool]:
    content = _ods_content(data) or b""
    result = {}
    for m in re.finditer(rb"<table:table(?=[\s>])([^>]*)>", content):
        attrs = m.group(1)
        name = re.search(rb'table:name="([^"]*)"', attrs)
        if name:
            result[name.group(1).decode("utf-8", "replace")] = b'table:protected="true"' in attrs
    return result


_ODS_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"


def _ods_merges(data: bytes, sheet: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Merged ranges of one .ods sheet from content.xml (number-rows/columns-spanned)."""
    from defusedxml.ElementTree import iterparse

    t = "{%s}" % _ODS_NS
    merges = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            with zf.open("content.xml") as fh:
                in_sheet, row, col = False, 0, 0
                for event, el in iterparse(fh, events=("start", "end")):
                    tag = el.tag
                    if tag == t + "table":
                        if event == "start":
                            in_sheet, row = el.get(t + "name") == sheet, 0
                        elif in_sheet:
                            break
                        continue
                    if not in_sheet:
                        if event == "end":
                            el.clear()
                        continue
                    if tag == t + "table-row":
                        if event == "start":
                            col = 0
                        else:
                            row += int(el.get(t + "number-rows-repeated", "1"))
                            el.clear()
                            if row > MAX_ROWS:
                                break
                    elif tag in (t + "table-cell", t + "covered-table-cell") and event == "start":
                        rs = int(el.get(t + "number-rows-spanned", "1"))
                        cs = int(el.get(t + "number-columns-spanned", "1"))
                        if rs > 1 or cs > 1:
                            merges.append(((row, col), (row + rs - 1, col + cs - 1)))
                        col += int(el.get(t + "number-columns-repeated", "1"))
    except Exception:
        return merges
    return merges


class _TableParser(HTMLParser):
    """Rows of the first <table> with cells, from an HTML export (web systems' fake .xls)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _html_rows(data: bytes) -> list[list]:
    text = decode_text(data)
    m = re.search(r"charset=[\"']?([\w-]+)", text[:2000], re.I)
    if m and m.group(1).lower() in ("gbk", "gb2312", "gb18030"):
        text = data.decode("gb18030", "replace")
    parser = _TableParser()
    parser.feed(text)
    if not parser.rows:
        raise _Unreadable("网页格式的文件中没有表格")
    return parser.rows


def _csv_rows(data: bytes) -> list[list]:
    text = decode_text(data)
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    return [row for row in csv.reader(io.StringIO(text), dialect)]


# --------------------------------------------------------------------------- finding the table

@dataclass(frozen=True)
class _Labels:
    """The form's labels prepared for matching (normalised label/alias -> key)."""

    columns_exact: dict[str, str]
    columns_official: dict[str, str]
    columns_prefix: list[tuple[str, str]]
    fields_exact: dict[str, str]
    end_markers: tuple[str, ...]
    end_pattern: re.Pattern
    longest: int
    n_columns: int


_LABELS_CACHE: dict[int, _Labels] = {}


def _labels(form: Form) -> _Labels:
    cached = _LABELS_CACHE.get(id(form))
    if cached is not None:
        return cached
    exact, official, prefix = {}, {}, []
    for col in form.columns:
        key = normalize_label(col.label)
        official[key] = col.key
        exact.setdefault(key, col.key)
        prefix.append((key, col.key))
        for alias in col.aliases:
            a = normalize_label(alias)
            exact.setdefault(a, col.key)
            prefix.append((a, col.key))
    prefix.sort(key=lambda kv: -len(kv[0]))
    fields = {}
    for fld in form.fields:
        fields.setdefault(normalize_label(fld.label), fld.key)
        for alias in fld.aliases:
            fields.setdefault(normalize_label(alias), fld.key)
    markers = tuple(normalize_label(m) for m in form.table_end_markers)
    end_pattern = re.compile("|".join(re.escape(m.rstrip("：:")) for m in form.table_end_markers))
    labels = _Labels(exact, official, prefix, fields, markers, end_pattern,
                     max(len(k) for k in exact), len(form.columns))
    _LABELS_CACHE[id(form)] = labels
    return labels


_MATCH_CACHE: dict[tuple[int, str], tuple[str | None, bool]] = {}


def _match_column(text: str, labels: _Labels) -> tuple[str | None, bool]:
    """(column key, is the official label) for a header cell's normalised text."""
    if not text:
        return None, False
    if text in labels.columns_official:
        return labels.columns_official[text], True
    if text in labels.columns_exact:
        return labels.columns_exact[text], False
    cache_key = (id(labels), text)
    hit = _MATCH_CACHE.get(cache_key)
    if hit is not None:
        return hit
    result = (None, False)
    for label, key in labels.columns_prefix:
        # An explanatory suffix: 整顿措施及要求, 完成时限年月日.
        if len(label) >= 2 and text.startswith(label) and len(text) <= len(label) + 8:
            result = (key, False)
            break
    if len(_MATCH_CACHE) < 10_000:
        _MATCH_CACHE[cache_key] = result
    return result


def _header_candidates(grid: Grid, form: Form, labels: _Labels):
    """(matches, row index, {col: (key, official)}) for the row that looks most like the header."""
    best = None
    longest = labels.longest
    for r in range(min(form.header_scan_rows, len(grid.rows))):
        mapping = {}
        used = set()
        for c, value in enumerate(grid.rows[r]):
            # Header cells are short text: numbers, dates and long sentences are data.
            if not isinstance(value, str) or not value or len(value) > longest + 24:
                continue
            key, official = _match_column(normalize_label(value), labels)
            if key and key not in used:
                mapping[c] = (key, official)
                used.add(key)
        score = len(mapping)
        if score >= 4 and (best is None or score > best[0]):
            best = (score, r, mapping)
            if score == labels.n_columns:
                break
    return best


def _sheet_order(book: Workbook, form: Form) -> list[str]:
    """The sheet named like the form's first (整顿台账, 整顿台账(2), ' 整顿台账 '), then the others."""
    target = normalize_label(form.sheet)
    skip = {normalize_label(form.instructions_sheet)}
    named = [s for s in book.sheets if normalize_label(s) == target]
    others = [s for s in book.sheets if s not in named and normalize_label(s) not in skip]
    return named + others


def _find_ledger(book: Workbook, ledger: Ledger, form: Form) -> None:
    labels = _labels(form)
    found = None
    for name in _sheet_order(book, form):
        grid = book.load(name)
        cand = _header_candidates(grid, form, labels)
        if cand:
            found = (grid, cand)
            break
    if not found:
        target = normalize_label(form.sheet)
        has_sheet = any(normalize_label(s) == target for s in book.sheets)
        reason = ("“整顿台账”工作表中找不到表头（整顿对象、重点问题、整顿措施等列）" if has_sheet
                  else "没有“整顿台账”工作表，其他工作表中也找不到台账表头")
        ledger.findings.append(make_finding("file.not_ledger", file=ledger.file, reason=reason))
        return
    grid, (_, header_row, mapping) = found
    ledger.sheet = grid.name
    ledger.protected = book.protection(grid.name)
    columns = {key: c for c, (key, _) in mapping.items()}
    _check_layout(ledger, form, grid, header_row, mapping)
    fields = _read_unit_block(grid, header_row, labels)
    ledger.fields = fields
    rows, last = _read_rows(grid, header_row, columns, form, labels)
    ledger.row_numbers = [r for r, _ in rows]
    ledger.columns = {key: [values[key] for _, values in rows] for key in columns}
    _share_repeats(ledger)
    ledger.layout = Layout(
        header_row=header_row, first_row=header_row + 1, last_row=max(last, header_row + 1),
        columns=columns, fields={k: pos for k, (_, pos) in fields.items()},
    )
    if grid.truncated:
        ledger.findings.append(make_finding(
            "file.layout_changed", file=ledger.file, sheet=grid.name, level=WARNING,
            reason=f"工作表超出正常范围，只读取了前{MAX_ROWS}行、前{MAX_COLS}列"))


# Columns whose values repeat down a table (a target spans its problems, the 8 problem texts):
# one string object per distinct value instead of one per cell.
_REPEATING = ("target", "branch_secretary", "member", "problem", "owner", "deadline", "progress")


def _share_repeats(ledger: Ledger) -> None:
    for key in _REPEATING:
        values = ledger.columns.get(key)
        if values:
            seen: dict = {}
            ledger.columns[key] = [seen.setdefault(v, v) if isinstance(v, str) else v for v in values]


def _check_layout(ledger: Ledger, form: Form, grid: Grid, header_row: int, mapping) -> None:
    reasons = []
    found_keys = [key for _, (key, _) in sorted(mapping.items())]
    missing_required = [c.label for c in form.columns if c.required and c.key not in found_keys]
    missing_optional = [c.label for c in form.columns if not c.required and c.key not in found_keys]
    renamed = [f"“{_text(grid.value(header_row, c))}”" for c, (key, official) in sorted(mapping.items()) if not official]
    if missing_required:
        reasons.append("缺少必填列：" + "、".join(missing_required))
    if missing_optional:
        reasons.append("缺少列：" + "、".join(missing_optional))
    if renamed:
        reasons.append("列名被改动：" + "、".join(renamed))
    order = [c.key for c in form.columns if c.key in found_keys]
    if found_keys != order:
        reasons.append("列的顺序被调换")
    mapped_cols = set(mapping)
    last_mapped = max(mapped_cols)
    extra = [c for c, v in enumerate(grid.rows[header_row][: last_mapped + 1])
             if c not in mapped_cols and _text(v)]
    if extra:
        reasons.append("插入了其他列：" + "、".join(f"“{_text(grid.value(header_row, c))}”" for c in extra))
    if reasons:
        level = ERROR if missing_required else WARNING
        ledger.findings.append(make_finding(
            "file.layout_changed", file=ledger.file, sheet=grid.name, level=level,
            cell=cell_a1(header_row, min(mapped_cols)), reason="；".join(reasons)))


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_unit_block(grid: Grid, header_row: int, labels: _Labels) -> dict:
    """Unit-block fields above the header: label cell, value = next non-empty non-label cell right."""
    merge_end = {}
    for (r1, c1), (r2, c2) in grid.merges:
        merge_end[(r1, c1)] = c2
    fields: dict[str, tuple[object, tuple[int, int]]] = {}
    for r in range(min(header_row, len(grid.rows))):
        row = grid.rows[r]
        c = 0
        while c < len(row):
            text = _text(row[c])
            key = labels.fields_exact.get(normalize_label(text)) if text else None
            inline = None
            if key is None and text and re.match(r"^[^:：]{2,12}[:：]", text):
                head, _, rest = re.split(r"([:：])", text, maxsplit=1)
                key = labels.fields_exact.get(normalize_label(head))
                inline = rest.strip() if key else None
            if key is None or key in fields:
                c += 1
                continue
            if inline:
                fields[key] = (inline, (r, c))
                c += 1
                continue
            after = merge_end.get((r, c), c) + 1
            value, pos = "", (r, after)
            for cc in range(after, len(row)):
                v = row[cc]
                t = _text(v)
                if not t:
                    continue
                if labels.fields_exact.get(normalize_label(t)):
                    break
                value, pos = v, (r, cc)
                break
            fields[key] = (value, pos)
            c += 1
    return fields


def _read_rows(grid: Grid, header_row: int, columns: dict[str, int], form: Form, labels: _Labels):
    """Filled table rows below the header; merged fill-down cells fill the rows they span."""
    fill_cols = {columns[c.key] for c in form.columns if c.fill_down and c.key in columns}
    fill = {}
    for (r1, c1), (r2, c2) in grid.merges:
        if r2 > r1 and r1 > header_row and c1 in fill_cols:
            top = grid.value(r1, c1)
            for r in range(r1 + 1, r2 + 1):
                fill[(r, c1)] = top
    content_keys = [c.key for c in form.columns if c.key in columns and c.kind != "seq" and not c.fill_down]
    content_cols = [columns[k] for k in content_keys]
    target_col = columns.get("target")
    items = list(columns.items())
    rows = []
    last = header_row + 1
    for r in range(header_row + 1, len(grid.rows)):
        row = grid.rows[r]
        n = len(row)
        # Quick skip of the template's empty prepared rows (序号 only).
        if not any(c < n and row[c] not in ("", None) for c in content_cols) and not (
                target_col is not None and target_col < n and row[target_col] not in ("", None)):
            if _is_end_line(row, labels):
                break
            continue
        if _is_end_line(row, labels):
            break
        values = {}
        for key, c in items:
            v = row[c] if c < n else ""
            if (v is None or v == "") and (r, c) in fill:
                v = fill[(r, c)]
            values[key] = v
        if not any(_text(values[k]) for k in content_keys) and not (
                target_col is not None and target_col < n and _text(row[target_col])):
            continue
        rows.append((r, values))
        last = r
    return rows, last


def _is_end_line(row: list, labels: _Labels) -> bool:
    """A signature or date line under the table (填表人：…, 审核人：…)."""
    for v in row[:4]:
        if isinstance(v, str) and v and labels.end_pattern.search(v):
            t = normalize_label(v)
            if any(t.startswith(m) for m in labels.end_markers):
                return True
    return False
