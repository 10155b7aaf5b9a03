"""The inbox: every file the units sent, and every member and attachment inside, as documents.

``scan`` walks the folder; ``names`` makes names displayable, ``mime`` opens saved e-mails,
``sniff`` (with ``ole``) tells the real format from the bytes; ``document`` is what comes out,
``limits`` bounds what one hostile file may cost.
"""

from .document import CONTAINER, IGNORED, LEDGER, REPORT, UNREADABLE, Document
from .scan import scan_inbox

__all__ = ["CONTAINER", "IGNORED", "LEDGER", "REPORT", "UNREADABLE", "Document", "scan_inbox"]
