"""The reader: a returned file's bytes -> a Book of Grids (``open``, bounded by ``caps``) ->
the Ledger found in it (``locate``)."""

from .caps import MAX_CELLS, MAX_COLS, MAX_ROWS, MAX_SHEET_XML_BYTES
from .locate import Ledger, read_ledger
from .open import Grid, Workbook, open_workbook

__all__ = ["MAX_CELLS", "MAX_COLS", "MAX_ROWS", "MAX_SHEET_XML_BYTES", "Grid", "Ledger", "Workbook",
           "open_workbook", "read_ledger"]
