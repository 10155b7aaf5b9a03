"""Opening a workbook: bytes in, a Book of Grids (visible sheets, marker, protection) out.

Readers were chosen by measurement (scripts/bench.py): python-calamine reads .xlsx, .xls
and .ods with merged ranges at thousands of files a second; what calamine does not give
(sheet protection) comes from one light look at the sheet's XML part. HTML "xls" exports
and CSV files are read with the standard library.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser

from ..errors import reraise_interrupts
from ..form import Form
from ..text import decode_text, normalize_label
from .caps import MAX_CELLS, MAX_COLS, MAX_ROWS, MAX_SHEET_XML_BYTES, Unreadable, cap_ods, cap_ooxml, ods_content


_PROTECTION = re.compile(rb"<(?:\w+:)?sheetProtection\b[^>]*?\bsheet=\"(1|true)\"")


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


def open_workbook(data: bytes, fmt: str, form: Form) -> Workbook:
    if fmt in ("xlsx", "xlsm", "xls", "ods", "xlsb", "et"):  # et: WPS's BIFF8, as .xls
        return _open_calamine(data, fmt, form)
    if fmt == "html":
        return _single_grid(_html_rows(data), "网页表格")
    if fmt == "csv":
        return _single_grid(_csv_rows(data), "CSV")
    raise Unreadable(f"不支持的文件格式（{fmt or '未知'}）")


def _single_grid(rows: list[list], name: str) -> Workbook:
    grid = Grid(name=name, rows=[r[:MAX_COLS] for r in rows[:MAX_ROWS]], truncated=len(rows) > MAX_ROWS)
    return Workbook(sheets=[name], load=lambda _name: grid)


def _open_calamine(data: bytes, fmt: str, form: Form) -> Workbook:
    import python_calamine as pc

    parts = _OoxmlParts(data) if fmt in ("xlsx", "xlsm") else None
    capped = False
    if parts is not None:
        parts.check_sizes()
        data, capped = cap_ooxml(data, parts.names, parts.read)
    elif fmt == "ods":
        data, capped = cap_ods(data)
    try:
        wb = pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except pc.PasswordError:
        raise Unreadable("文件设置了打开密码，无法读取。请取消密码后另存为 .xlsx 重新报送") from None
    except BaseException as exc:
        reraise_interrupts(exc)
        raise Unreadable(f"文件已损坏或不是有效的表格文件（{_short(exc)}）") from None

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
            reraise_interrupts(exc)
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
                raise Unreadable("工作表过大（解压后超过60MB），不是正常的整顿台账")
        try:
            head = self.zip.read("xl/workbook.xml")[:4096] if "xl/workbook.xml" in self.names else b""
        except Exception:
            return
        if b"<!ENTITY" in head or b"<!DOCTYPE" in head:
            raise Unreadable("工作簿的 XML 含有实体声明（可能是恶意构造的文件），已拒绝读取")

    def read(self, name: str, limit: int = MAX_SHEET_XML_BYTES) -> bytes:
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

        custom = self.read("docProps/custom.xml", 1 << 20)
        return {unescape(k.decode("utf-8", "replace")): unescape(v.decode("utf-8", "replace"))
                for k, v in _CUSTOM_PROP.findall(custom)}

    def protected(self, sheet: str) -> bool | None:
        """Whether the named sheet carries a sheetProtection element that protects it."""
        try:
            part = self._sheet_part(sheet)
            if part is None:
                return None
            return bool(_PROTECTION.search(self.read(part)))
        except Exception:
            return None

    def _sheet_part(self, sheet: str) -> str | None:
        from html import unescape

        rels = {}
        for m in re.finditer(rb"<Relationship\b([^>]*)>", self.read("xl/_rels/workbook.xml.rels")):
            attrs = dict(_ATTR.findall(m.group(1)))
            target = attrs.get(b"Target", b"").decode("utf-8", "replace").lstrip("/")
            rels[attrs.get(b"Id")] = target if target.startswith("xl/") else "xl/" + target
        for m in _SHEET_ENTRY.finditer(self.read("xl/workbook.xml")):
            attrs = dict(_ATTR.findall(m.group(1)))
            if unescape(attrs.get(b"name", b"").decode("utf-8", "replace")) == sheet:
                rid = next((v for k, v in attrs.items() if k.endswith(b":id")), None)
                return rels.get(rid)
        return None


def _short(exc: BaseException) -> str:
    """What to say of a reader's exception: its kind only. Its text (English, about the
    reader's internals) would only puzzle a clerk in 说明."""
    return type(exc).__name__


def _read_marker(rows: list[list]) -> dict[str, str]:
    marker = {}
    for row in rows:
        if len(row) >= 2 and str(row[0]).strip():
            marker[str(row[0]).strip()] = str(row[1]).strip()
    return marker


def _ods_protection(data: bytes) -> dict[str, bool]:
    content = ods_content(data) or b""
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
        raise Unreadable("网页格式的文件中没有表格")
    return parser.rows


def _csv_rows(data: bytes) -> list[list]:
    text = decode_text(data)
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    return [row for row in csv.reader(io.StringIO(text), dialect)]
