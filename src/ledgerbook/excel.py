"""Excel's own facts, for every writer and reader: A1 references (0-based (row, col) in, text
out), the cell limit, the date epoch, the characters a cell refuses, what counts as blank,
and how tall a row of wrapped text must be."""

from __future__ import annotations

import datetime as dt
import math
import re
import sys
import unicodedata
from functools import lru_cache

#: Excel keeps at most this many characters in a cell (and in a note).
EXCEL_CELL_LIMIT = 32_767
#: Day 0 of Excel's serial dates: serial 1 = 1900-01-01 once the 1900 leap-year bug is skipped.
EXCEL_EPOCH = dt.date(1899, 12, 30)
#: Characters an .xlsx cell (XML 1.0) cannot hold: C0 controls other than tab/LF/CR, lone
#: surrogates (the only ones a Python str can hold) and the non-characters FFFE/FFFF.
EXCEL_REJECTS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

_A1 = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")


@lru_cache(maxsize=1024)
def cell_column_letter(col: int) -> str:
    """0-based column index to letters: 0 -> A, 26 -> AA."""
    letters = ""
    n = col + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def cell_a1(row: int, col: int) -> str:
    """0-based (row, col) to an A1 reference: (6, 8) -> I7."""
    return f"{cell_column_letter(col)}{row + 1}"


def column_index(letters: str | bytes) -> int:
    """Column letters to a 1-based column number: A -> 1, BL -> 64 (bytes too, for raw XML)."""
    if isinstance(letters, bytes):
        letters = letters.decode("ascii")
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def split_a1(ref: str) -> tuple[int, int]:
    """A1 text to 0-based (col, row); raises ValueError."""
    m = _A1.match(ref or "")
    if not m:
        raise ValueError(ref)
    letters, digits = m.groups()
    return column_index(letters) - 1, int(digits) - 1


def excel_serial(day: dt.date) -> int:
    """A date as Excel stores it: days since :data:`EXCEL_EPOCH`."""
    return (day - EXCEL_EPOCH).days


def strip_excel_rejects(text: str) -> str:
    """The text without the characters a cell refuses (:data:`EXCEL_REJECTS`); the same
    object when there is nothing to remove."""
    if EXCEL_REJECTS.search(text) is None:
        return text
    return EXCEL_REJECTS.sub("", text)


def is_missing(value: object) -> bool:
    """None, NaN, or pandas' NaT/NA: no value at all."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    pd = sys.modules.get("pandas")  # NaT and NA exist only once pandas is loaded
    return pd is not None and (value is pd.NaT or value is pd.NA)


def is_blank(value: object) -> bool:
    """Missing or the empty string: nothing to write or compare."""
    return is_missing(value) or (isinstance(value, str) and value == "")


def text_width(text: str) -> float:
    """Width of text in character units of the default font: Han characters (and curly
    quotes, full width in 宋体) count about two."""
    return sum(2.1 if unicodedata.east_asian_width(ch) in "WFA" else 1.1 for ch in text)


def row_height(text: str, width: float, line_height: float = 15.0) -> float:
    """Height (points) of a row whose wrapped text fills a column `width` characters wide.

    Stored explicitly because neither LibreOffice nor Excel grows a row that a library wrote
    to fit its wrapped text. LibreOffice sets Han characters a little narrower than Excel,
    so rows there may show a spare line, never a cut one.
    """
    lines = sum(max(1, math.ceil(text_width(line) / max(width - 2, 1))) for line in (text or "").split("\n"))
    return lines * line_height + 6


def estimated_lines(text: str, width: float) -> int:
    """Lines a wrapped text takes in a column `width` characters wide: a fast estimate for
    the many rows of a streamed table, where :func:`text_width`'s loop per character costs
    seconds. UTF-8 length + character count halves to 1 per ASCII character and 2 per Han
    character, which is their display width."""
    usable = max(width - 1.5, 1)
    return sum(max(1, math.ceil((len(part.encode("utf-8", "replace")) + len(part)) / 2 / usable))
               for part in text.split("\n"))
