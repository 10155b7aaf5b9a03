"""LibreOffice for tests: whether it is there, whether CI requires it, and the demo's batched
conversion (one soffice start converts many files).

A plain module (not conftest) so tests anywhere can import it by name.
"""

from __future__ import annotations

import os

from ledgerbook.demo.files import convert_with_soffice as soffice_convert, soffice_path

__all__ = ["REQUIRE_SOFFICE", "SOFFICE", "soffice_convert"]

SOFFICE = soffice_path()
REQUIRE_SOFFICE = os.environ.get("LEDGERBOOK_REQUIRE_SOFFICE") == "1"
