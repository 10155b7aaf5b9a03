"""Outlook items (.msg): sender, subject, sent time and attachments, read from the bytes.

What Outlook writes when a clerk drags a mail into a folder, and what it attaches when a mail
is forwarded "as an attachment", is an OLE2 compound file laid out by [MS-OXMSG]: one storage
per message, each property either a fixed 8-byte value in the ``__properties_version1.0``
stream or a stream of its own named ``__substg1.0_<id><type>``; attachments are storages
``__attach_version1.0_#<n>``, and an attached Outlook item is the storage
``__substg1.0_3701000D`` inside its attachment, laid out like a message again.

The compound file itself is read by ``olefile`` (BSD). Everything is untrusted: every stream
is checked against the size of the file before it is read, so that a lying directory cannot
make a small file allocate gigabytes, and every failure is a :class:`MsgError` with a Chinese
reason, never a traceback.
"""

from __future__ import annotations

import datetime
import email.parser
import email.policy
import email.utils
import hashlib
import io
import struct
from dataclasses import dataclass, field

from .names import codepage_codec, decode_name

__all__ = ["MsgError", "MsgAttachment", "MsgMessage", "read_msg"]

_PROPERTIES = "__properties_version1.0"
_ATTACH_PREFIX = "__attach_version1.0_#"
_EMBEDDED = "__substg1.0_3701000D"

# Property ids ([MS-OXPROPS]).
_SUBJECT = 0x0037
_CLIENT_SUBMIT_TIME = 0x0039           # when the sender pressed Send
_MESSAGE_DELIVERY_TIME = 0x0E06        # when it reached the mailbox it was saved from
_SENT_REPRESENTING_EMAIL = 0x0065
_TRANSPORT_HEADERS = 0x007D            # the internet headers of a received mail
_MESSAGE_CLASS = 0x001A
_SENDER_NAME = 0x0C1A
_SENDER_ADDRTYPE = 0x0C1E
_SENDER_EMAIL = 0x0C1F
_SENDER_SMTP = 0x5D01
_SENT_REPRESENTING_SMTP = 0x5D02
_DISPLAY_NAME = 0x3001
_ATTACH_DATA = 0x3701
_ATTACH_FILENAME = 0x3704              # the 8.3 name
_ATTACH_METHOD = 0x3705
_ATTACH_LONG_FILENAME = 0x3707
_ATTACH_MIME_TAG = 0x370E
_ATTACH_HIDDEN = 0x7FFE
_INTERNET_CODEPAGE = 0x3FDE
_MESSAGE_CODEPAGE = 0x3FFD

# Property types.
_PT_LONG, _PT_BOOLEAN, _PT_STRING8, _PT_UNICODE, _PT_SYSTIME, _PT_BINARY = (
    0x0003, 0x000B, 0x001E, 0x001F, 0x0040, 0x0102)

# PidTagAttachMethod values.
BY_VALUE, EMBEDDED_MESSAGE, OLE_OBJECT = 1, 5, 6

# Size of the header in front of the property entries ([MS-OXMSG] 2.4.1): the top-level
# message's carries recipient/attachment counters, an attached item's a little less.
_HEADER_TOP, _HEADER_EMBEDDED, _HEADER_OTHER = 32, 24, 8

_FILETIME_EPOCH = datetime.datetime(1601, 1, 1, tzinfo=datetime.timezone.utc)

#: Attached Outlook items are parsed this many levels deep within one file.
MAX_EMBEDDED_DEPTH = 10
#: Properties read from one properties stream (a real message has a few hundred).
MAX_PROPERTIES = 10_000


class MsgError(ValueError):
    """The bytes are not an Outlook item that can be read; the message says why (Chinese)."""


@dataclass
class MsgAttachment:
    """One attachment of an Outlook item.

    Attributes:
        number: 1-based position among the message's attachments.
        name: the long file name (PidTagAttachLongFilename), else the 8.3 name, else the
            display name; None when the attachment has none.
        method: PidTagAttachMethod (1 by value, 5 an attached Outlook item, 6 an OLE object).
        size: bytes of the data (for an attached item: of all its streams).
        mime_type: PidTagAttachMimeTag, lower case, or None.
        hidden: PidTagAttachmentHidden (pictures inside an HTML body).
        ole_streams: for an OLE object, the names of the streams it holds (lower case).
    """

    number: int
    name: str | None
    method: int
    size: int
    mime_type: str | None = None
    hidden: bool = False
    ole_streams: frozenset[str] = frozenset()
    _file: "_MsgFile | None" = field(default=None, repr=False, compare=False)
    _path: tuple[str, ...] = field(default=(), repr=False, compare=False)
    _depth: int = field(default=0, repr=False, compare=False)
    _codec: str | None = field(default=None, repr=False, compare=False)

    @property
    def is_message(self) -> bool:
        """Whether this attachment is an attached Outlook item (read with :meth:`open_message`)."""
        return self.method == EMBEDDED_MESSAGE and self._file is not None \
            and self._file.is_storage((*self._path, _EMBEDDED))

    def read(self) -> bytes:
        """The attachment's bytes (by-value attachments; ``b""`` when it has none).

        Raises:
            MsgError: the data stream is damaged.
        """
        if self._file is None:
            return b""
        path = (*self._path, f"__substg1.0_{_ATTACH_DATA:04X}{_PT_BINARY:04X}")
        if not self._file.is_stream(path):
            return b""
        return self._file.stream(path)

    def open_message(self) -> "MsgMessage":
        """The attached Outlook item, read like a message of its own.

        Raises:
            MsgError: it is not an attached item, it is nested too deep, or it is damaged.
        """
        if not self.is_message:
            raise MsgError("附件不是 Outlook 邮件")
        if self._depth >= MAX_EMBEDDED_DEPTH:
            raise MsgError(f"附件中的邮件嵌套超过 {MAX_EMBEDDED_DEPTH} 层，未打开")
        return self._file.message((*self._path, _EMBEDDED), _HEADER_EMBEDDED, self._depth + 1, self._codec)


@dataclass
class MsgMessage:
    """An Outlook item as read.

    Attributes:
        subject: PidTagSubject, or None.
        sender: the sender's SMTP address in lower case, or None (an Exchange-only sender).
        sender_name: the sender's display name, or None.
        sent: when it was sent (aware, UTC): PidTagClientSubmitTime, else the Date of its
            internet headers, else when it was delivered; None for a draft never sent.
        sent_from: which of those ``sent`` came from: ``submit`` | ``header`` | ``delivery`` | None.
        message_class: e.g. ``IPM.Note``.
        attachments: in storage order.
    """

    subject: str | None
    sender: str | None
    sender_name: str | None
    sent: datetime.datetime | None
    sent_from: str | None
    message_class: str | None
    attachments: list[MsgAttachment]
    _file: "_MsgFile | None" = field(default=None, repr=False, compare=False)
    _path: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def fingerprint(self) -> tuple[int, str]:
        """(bytes, SHA-256 hex) over the names and contents of all its streams: equal items
        give equal fingerprints. A damaged stream counts by its name and declared size."""
        if self._file is None:
            return 0, hashlib.sha256(b"").hexdigest()
        return self._file.tree_size_and_digest(self._path)


def read_msg(data: bytes) -> MsgMessage:
    """Read an Outlook item from its bytes.

    Args:
        data: the whole ``.msg`` file.

    Returns:
        The message; its attachments are read on demand (:meth:`MsgAttachment.read`).

    Raises:
        MsgError: not an OLE2 compound file, not an Outlook item, or damaged.
    """
    return _MsgFile(data).message((), _HEADER_TOP, 0)


# --------------------------------------------------------------------------- the compound file

class _MsgFile:
    """The OLE2 compound file of one .msg, with bounded reads."""

    def __init__(self, data: bytes):
        import olefile

        self.limit = len(data)
        try:
            # A BytesIO, never the bytes: olefile takes short byte strings for a file name.
            self.ole = olefile.OleFileIO(io.BytesIO(data))
        except Exception as exc:  # noqa: BLE001 - olefile raises many kinds on bad input
            raise MsgError(f"不是有效的 Outlook 邮件文件（复合文档结构无法解析：{type(exc).__name__}）") from None
        root = self.ole.root
        if root is None or root.size > self.limit:
            raise MsgError("Outlook 邮件文件已损坏（复合文档的目录与文件大小不符）")

    # -- the directory --

    def _entry(self, path: tuple[str, ...]):
        node = self.ole.root
        for name in path:
            lower = name.lower()
            for kid in node.kids:
                if kid.name.lower() == lower:
                    node = kid
                    break
            else:
                return None
        return node

    def is_stream(self, path: tuple[str, ...]) -> bool:
        entry = self._entry(path)
        return entry is not None and entry.entry_type == 2

    def is_storage(self, path: tuple[str, ...]) -> bool:
        entry = self._entry(path)
        return entry is not None and entry.entry_type == 1

    def children(self, path: tuple[str, ...]) -> list:
        entry = self._entry(path)
        return sorted(entry.kids, key=lambda k: k.name.lower()) if entry is not None else []

    def stream(self, path: tuple[str, ...]) -> bytes:
        """A stream's bytes; its declared size is checked first (a lying size cannot allocate)."""
        entry = self._entry(path)
        if entry is None or entry.entry_type != 2:
            return b""
        if entry.size > self.limit:
            raise MsgError("Outlook 邮件文件已损坏（数据流大小超过文件本身）")
        try:
            with self.ole.openstream(list(path)) as f:
                data = f.read(entry.size)
        except Exception as exc:  # noqa: BLE001
            raise MsgError(f"Outlook 邮件文件已损坏（数据流无法读取：{type(exc).__name__}）") from None
        if len(data) != entry.size:
            raise MsgError("Outlook 邮件文件已损坏（数据流不完整）")
        return data

    def tree_size_and_digest(self, path: tuple[str, ...]) -> tuple[int, str]:
        """Bytes and SHA-256 over every stream below ``path`` (names and contents, sorted)."""
        sha = hashlib.sha256()
        total = 0
        stack = [(path, self._entry(path))]
        while stack:
            here, entry = stack.pop()
            for kid in sorted(entry.kids, key=lambda k: k.name.lower(), reverse=True):
                child = (*here, kid.name)
                if kid.entry_type == 1:
                    stack.append((child, kid))
                elif kid.entry_type == 2:
                    sha.update("/".join(child[len(path):]).lower().encode("utf-8") + b"\x00")
                    try:
                        body = self.stream(child)
                    except MsgError:
                        sha.update(b"damaged" + kid.size.to_bytes(8, "little"))
                        continue
                    sha.update(len(body).to_bytes(8, "little") + body)
                    total += len(body)
        return total, sha.hexdigest()

    # -- properties --

    def properties(self, path: tuple[str, ...], header: int) -> dict[int, tuple[int, bytes]]:
        """Fixed-size properties of a storage: property id -> (type, 8 raw value bytes).

        A damaged properties stream gives none (the names and data streams may still be fine).
        """
        try:
            raw = self.stream((*path, _PROPERTIES))
        except MsgError:
            return {}
        out: dict[int, tuple[int, bytes]] = {}
        for offset in range(header, min(len(raw) - 15, header + 16 * MAX_PROPERTIES), 16):
            ptype, pid = struct.unpack_from("<HH", raw, offset)
            out.setdefault(pid, (ptype, raw[offset + 8:offset + 16]))
        return out

    def string(self, path: tuple[str, ...], pid: int, codec: str | None) -> str | None:
        """A string property (None when absent or damaged: one bad name loses nothing else)."""
        try:
            return self._string(path, pid, codec)
        except MsgError:
            return None

    def _string(self, path: tuple[str, ...], pid: int, codec: str | None) -> str | None:
        unicode = (*path, f"__substg1.0_{pid:04X}{_PT_UNICODE:04X}")
        if self.is_stream(unicode):
            text = self.stream(unicode).decode("utf-16-le", "replace")
            return text.split("\x00", 1)[0].strip() or None
        eight_bit = (*path, f"__substg1.0_{pid:04X}{_PT_STRING8:04X}")
        if self.is_stream(eight_bit):
            raw = self.stream(eight_bit).split(b"\x00", 1)[0]
            return decode_name(raw, codec).strip() or None
        return None

    # -- one message --

    def message(self, path: tuple[str, ...], header: int, depth: int,
                codec: str | None = None) -> MsgMessage:
        if not self.is_stream((*path, _PROPERTIES)):
            raise MsgError("不是 Outlook 邮件（缺少邮件属性数据）")
        props = self.properties(path, header)
        # An attached item without a code page of its own was written with its parent's.
        codec = codepage_codec(_long(props, _MESSAGE_CODEPAGE) or _long(props, _INTERNET_CODEPAGE)) or codec
        headers = _parse_headers(self.string(path, _TRANSPORT_HEADERS, codec))
        sent, sent_from = _time(props, _CLIENT_SUBMIT_TIME), "submit"
        if sent is None and headers.get("date"):
            sent, sent_from = _header_date(headers["date"]), "header"
        if sent is None:
            sent, sent_from = _time(props, _MESSAGE_DELIVERY_TIME), "delivery"
        attachments = [self.attachment((*path, kid.name), number, depth, codec)
                       for number, kid in enumerate(
                           (k for k in self.children(path)
                            if k.entry_type == 1 and k.name.lower().startswith(_ATTACH_PREFIX)), 1)]
        return MsgMessage(
            subject=self.string(path, _SUBJECT, codec),
            sender=self.sender(path, headers, codec),
            sender_name=self.string(path, _SENDER_NAME, codec),
            sent=sent, sent_from=sent_from if sent else None,
            message_class=self.string(path, _MESSAGE_CLASS, codec),
            attachments=attachments, _file=self, _path=path)

    def sender(self, path: tuple[str, ...], headers: dict[str, str], codec: str | None) -> str | None:
        """The SMTP address: Exchange writes an X.500 address in PidTagSenderEmailAddress."""
        candidates = [self.string(path, _SENDER_SMTP, codec), self.string(path, _SENT_REPRESENTING_SMTP, codec)]
        kind = (self.string(path, _SENDER_ADDRTYPE, codec) or "").upper()
        if kind in ("SMTP", ""):
            candidates += [self.string(path, _SENDER_EMAIL, codec),
                           self.string(path, _SENT_REPRESENTING_EMAIL, codec)]
        if headers.get("from"):
            candidates.append(email.utils.parseaddr(headers["from"])[1])
        for candidate in candidates:
            if candidate and "@" in candidate and not candidate.startswith("/"):
                return candidate.strip().lower()
        return None

    def attachment(self, path: tuple[str, ...], number: int, depth: int, codec: str | None) -> MsgAttachment:
        props = self.properties(path, _HEADER_OTHER) if self.is_stream((*path, _PROPERTIES)) else {}
        method = _long(props, _ATTACH_METHOD) or BY_VALUE
        name = (self.string(path, _ATTACH_LONG_FILENAME, codec) or self.string(path, _ATTACH_FILENAME, codec)
                or self.string(path, _DISPLAY_NAME, codec))
        mime = self.string(path, _ATTACH_MIME_TAG, codec)
        hidden = _long(props, _ATTACH_HIDDEN) == 1
        data_path = (*path, f"__substg1.0_{_ATTACH_DATA:04X}{_PT_BINARY:04X}")
        embedded = (*path, _EMBEDDED)
        ole_streams: frozenset[str] = frozenset()
        if self.is_stream(data_path):
            size = self._entry(data_path).size
        elif self.is_storage(embedded):
            size = self._storage_size(embedded)
            if method != EMBEDDED_MESSAGE:
                ole_streams = frozenset(k.name.lower() for k in self.children(embedded) if k.entry_type == 2)
        else:
            size = 0
        return MsgAttachment(number=number, name=name, method=method, size=size,
                             mime_type=mime.lower() if mime else None, hidden=hidden,
                             ole_streams=ole_streams, _file=self, _path=path, _depth=depth, _codec=codec)

    def _storage_size(self, path: tuple[str, ...]) -> int:
        total, stack = 0, [self._entry(path)]
        while stack:
            entry = stack.pop()
            for kid in entry.kids:
                if kid.entry_type == 1:
                    stack.append(kid)
                elif kid.entry_type == 2:
                    total += kid.size
        return total


# --------------------------------------------------------------------------- values

def _long(props: dict[int, tuple[int, bytes]], pid: int) -> int | None:
    found = props.get(pid)
    if found is None or found[0] not in (_PT_LONG, _PT_BOOLEAN):
        return None
    return struct.unpack_from("<I", found[1])[0] if found[0] == _PT_LONG else found[1][0]


def _time(props: dict[int, tuple[int, bytes]], pid: int) -> datetime.datetime | None:
    """A PT_SYSTIME property: a FILETIME (100 ns ticks since 1601, UTC)."""
    found = props.get(pid)
    if found is None or found[0] != _PT_SYSTIME:
        return None
    ticks = struct.unpack_from("<Q", found[1])[0]
    if ticks == 0:
        return None
    try:
        when = _FILETIME_EPOCH + datetime.timedelta(microseconds=ticks // 10)
    except OverflowError:
        return None
    return when if 1990 <= when.year <= 2100 else None


def _parse_headers(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    try:
        parsed = email.parser.HeaderParser(policy=email.policy.compat32).parsestr(text)
        return {k.lower(): str(v) for k, v in parsed.items()}
    except Exception:  # noqa: BLE001 - odd header text: no header evidence
        return {}


def _header_date(value: str) -> datetime.datetime | None:
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.astimezone(datetime.timezone.utc) if 1990 <= when.year <= 2100 else None

