"""One file found in the inbox (or inside an archive or e-mail), and its kinds."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

#: What a document is to the rest of ledgerbook (Document.kind).
LEDGER, REPORT, CONTAINER, IGNORED, UNREADABLE = "ledger", "report", "container", "ignored", "unreadable"

#: Where a document's time comes from (文件清单's 时间依据), best evidence first: the date of
#: the e-mail it came in (an .eml's Date, an Outlook item's sent time), the time the unit's
#: program saved the workbook (recorded inside it), the file's modification time (the moment
#: it was saved into the inbox, or copied: the weakest).
BY_EMAIL, BY_SAVED, BY_FILE = "邮件日期", "工作簿保存时间", "文件修改时间"


@dataclass(frozen=True)
class Document:
    """One file found in the inbox, or one member of an archive / attachment of an e-mail.

    Attributes:
        path: path inside the inbox with ``/`` separators; members and attachments below
            their container: ``批量.zip/子目录/台账.xlsx``, ``回复.eml/台账.xlsx``,
            ``a.zip/b.zip/c.xlsx``, ``m.eml/inner.eml/x.xlsx``. Unique within a scan.
        size: bytes (for a member that was not unpacked: the size its header declares).
        sha256: hex digest of the bytes; ``""`` when they were not read.
        received: naive datetime on :data:`ledgerbook.text.OFFICE_TZ`: the e-mail's Date (an
            Outlook item's sent time) for anything that came in an e-mail (members of an
            attached zip too), else the file's mtime. See :attr:`when` for the best evidence.
        kind: ``ledger`` | ``report`` | ``container`` | ``ignored`` | ``unreadable``.
        format: the real format sniffed from the bytes (``xlsx``, ``xls``, ``html``, ``csv``,
            ``zip``, ``eml``, ``pdf``, ``empty``, ``unknown`` …), whatever the extension says.
        note: Chinese: what it is, or why it is ignored or unreadable and what to do.
        sender: the e-mail's From address (lower case) for anything from an e-mail.
        subject: the e-mail's decoded Subject for anything from an e-mail.
        encrypted: the file has an opening password.
        parent: path of the containing zip/eml; None for a file of the folder.
        data: the bytes of a member/attachment (plain files: None, see ``fs_path``).
        fs_path: absolute path on disk of a plain file.
        dated_by_email: ``received`` is an e-mail's date (not a file time that stood in for a
            missing one).
        saved: for a workbook, when the unit's program last saved it (naive, office clock),
            read from the workbook itself; None when it records none.
    """

    path: str
    size: int
    sha256: str
    received: datetime.datetime | None
    kind: str
    format: str
    note: str
    sender: str | None = None
    subject: str | None = None
    encrypted: bool = False
    parent: str | None = None
    data: bytes | None = field(default=None, repr=False, compare=False)
    fs_path: str | None = field(default=None, repr=False, compare=False)
    dated_by_email: bool = False
    saved: datetime.datetime | None = None

    @property
    def when(self) -> tuple[datetime.datetime | None, str]:
        """(time, 时间依据): the best evidence of when the unit sent this file.

        The e-mail's date when it came in one; else the workbook's own saved time; else the
        file's modification time (which a copy or "save attachment" resets to the moment of
        copying, so it is only a hint).
        """
        if self.dated_by_email:
            return self.received, BY_EMAIL
        if self.saved is not None:
            return self.saved, BY_SAVED
        return self.received, BY_FILE

    def read_bytes(self) -> bytes:
        """Return the document's bytes.

        Returns:
            ``data`` for archive members and attachments; for a plain file its bytes, read
            again from ``fs_path`` (opened read-only); ``b""`` when there is nothing to read
            (a symlink or special file that was not followed).

        Raises:
            OSError: the plain file cannot be read (removed, no permission).
        """
        if self.data is not None:
            return self.data
        if self.fs_path is None:
            return b""
        with open(self.fs_path, "rb") as f:
            return f.read()
