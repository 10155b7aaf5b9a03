"""The inbox: every file the units sent, and every member and attachment inside, as documents.

``scan`` walks the folder; ``names`` makes names displayable, ``mime`` opens saved e-mails,
``msg`` Outlook items, ``tnef`` winmail.dat; ``sniff`` (with ``ole``) tells the real format
from the bytes, ``saved`` reads when a workbook was saved; ``document`` is what comes out,
``limits`` bounds what one hostile file may cost.
"""

from .document import BY_EMAIL, BY_FILE, BY_SAVED, CONTAINER, IGNORED, LEDGER, REPORT, UNREADABLE, Document
from .scan import scan_inbox

__all__ = ["BY_EMAIL", "BY_FILE", "BY_SAVED", "CONTAINER", "IGNORED", "LEDGER", "REPORT", "UNREADABLE",
           "Document", "scan_inbox"]
