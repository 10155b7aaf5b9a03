"""A1 cell-reference helpers (cell_*): 0-based (row, col) in, Excel text out."""

from __future__ import annotations

import re
from functools import lru_cache

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


def split_a1(ref: str) -> tuple[int, int]:
    """A1 text to 0-based (col, row); raises ValueError."""
    m = _A1.match(ref or "")
    if not m:
        raise ValueError(ref)
    letters, digits = m.groups()
    col = 0
    for ch in letters.upper():
        col = col * 26 + ord(ch) - 64
    return col - 1, int(digits) - 1
