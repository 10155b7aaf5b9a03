"""Caps on what is read from one sheet, applied before calamine allocates anything, and the
marker of a file that cannot be read."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterable

from ..excel import column_index

# Caps on what is read from one sheet: a real ledger has tens of rows and 11 columns; a
# sheet of a million rows or 16,384 columns of junk must not exhaust memory.
MAX_ROWS = 5_000
MAX_COLS = 64
MAX_CELLS = 2_000_000
# A worksheet XML part larger than this (uncompressed) is not a ledger: refuse before parsing.
MAX_SHEET_XML_BYTES = 60 * 1024 * 1024


class Unreadable(Exception):
    """The file cannot be read; the message (Chinese) says why."""


# --------------------------------------------------------------------------- capping before calamine
#
# calamine allocates a sheet's whole grid from the largest cell reference (or an .ods repeat
# count) before we can cap anything: one cell at XFD1048576 in a 16 KB file asks for 512 GB.
# So rows past MAX_ROWS and cells past MAX_COLS are cut out of the XML first (byte-level
# regular expressions: no XML parser, no entity expansion), only when a sheet reaches past them.

_ROW_EL = re.compile(rb"<row\b([^>]*?)(/>|>(.*?)</row>)", re.S)
_CELL_EL = re.compile(rb"<c\b([^>]*?)(?:/>|>.*?</c>)", re.S)
_R_ATTR = re.compile(rb'\br="\$?([A-Za-z]{0,3})\$?(\d+)"')
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


def cap_ooxml(data: bytes, names: Iterable[str], read_part: Callable[[str], bytes]) -> tuple[bytes, bool]:
    """(bytes calamine can safely read, whether any value was cut off) for an .xlsx package
    with these part `names`, each read (bounded) by `read_part`."""
    replaced, lost = {}, False
    for name in names:
        if name.startswith("xl/worksheets/") and name.endswith(".xml"):
            xml = read_part(name)
            if _reaches_past_caps(xml):
                replaced[name], lost_here = _cut_sheet(xml)
                lost = lost or lost_here
    return (_rezip(data, replaced), lost) if replaced else (data, False)


_ODS_TOKEN = re.compile(rb'<table:table-row\b|<table:table(?=[\s>])|table:number-(rows|columns)-repeated="(\d+)"')


def cap_ods(data: bytes) -> tuple[bytes, bool]:
    """.ods with repeat counts capped so no sheet reaches past MAX_ROWS × MAX_COLS."""
    content = ods_content(data)
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


def ods_content(data: bytes) -> bytes | None:
    """content.xml of an .ods (None when it cannot be had); refuses a huge one."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            if zf.getinfo("content.xml").file_size > MAX_SHEET_XML_BYTES:
                raise Unreadable("工作表过大（解压后超过60MB），不是正常的整顿台账")
            return zf.read("content.xml")
    except Unreadable:
        raise
    except Exception:
        return None
