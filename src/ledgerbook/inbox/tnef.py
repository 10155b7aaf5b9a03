"""winmail.dat (application/ms-tnef): the attachments Outlook wraps when it sends rich text.

An Exchange server or an Outlook set to "Rich Text" sends one ``winmail.dat`` part instead of
the attachments; the files are inside, in the Transport-Neutral Encapsulation Format of
[MS-OXTNEF]: a signature, then attributes of the message (level 1) and of each attachment
(level 2). Each attachment starts with attAttachRendData, carries its bytes in attAttachData
and its names in attAttachTitle (8.3, in the sender's code page) and in the MAPI properties of
attAttachment (PidTagAttachLongFilename, Unicode). An attached Outlook item is a
PidTagAttachDataObject holding a TNEF stream of its own.

Everything is untrusted: every length is checked against what is left of the data, loops are
bounded by it, and a damaged stream keeps what was read before the damage.
"""

from __future__ import annotations

import datetime
import struct
from dataclasses import dataclass, field

from .names import codepage_codec, decode_name

__all__ = ["TNEF_SIGNATURE", "TnefAttachment", "TnefError", "TnefMessage", "read_tnef"]

#: The first four bytes of every TNEF stream (0x223E9F78, little-endian).
TNEF_SIGNATURE = b"\x78\x9f\x3e\x22"

_LEVEL_MESSAGE, _LEVEL_ATTACHMENT = 1, 2

# Attribute ids (id in the low word, type in the high word), [MS-OXTNEF] 2.1.3.3.
_ATT_SUBJECT = 0x00018004
_ATT_DATE_SENT = 0x00038005
_ATT_MESSAGE_CLASS = 0x00078008
_ATT_ATTACH_DATA = 0x0006800F
_ATT_ATTACH_TITLE = 0x00018010
_ATT_ATTACH_REND_DATA = 0x00069002
_ATT_MSG_PROPS = 0x00069003
_ATT_ATTACHMENT = 0x00069005
_ATT_OEM_CODEPAGE = 0x00069007

# MAPI property ids and types.
_PR_SUBJECT = 0x0037
_PR_CLIENT_SUBMIT_TIME = 0x0039
_PR_SENDER_EMAIL = 0x0C1F
_PR_SENDER_ADDRTYPE = 0x0C1E
_PR_SENDER_SMTP = 0x5D01
_PR_DISPLAY_NAME = 0x3001
_PR_ATTACH_DATA = 0x3701
_PR_ATTACH_FILENAME = 0x3704
_PR_ATTACH_METHOD = 0x3705
_PR_ATTACH_LONG_FILENAME = 0x3707
_PR_ATTACH_MIME_TAG = 0x370E
_PR_MESSAGE_CODEPAGE = 0x3FFD

_PT_SHORT, _PT_LONG, _PT_BOOLEAN, _PT_OBJECT = 0x0002, 0x0003, 0x000B, 0x000D
_PT_STRING8, _PT_UNICODE, _PT_SYSTIME, _PT_BINARY = 0x001E, 0x001F, 0x0040, 0x0102
_MV_FLAG = 0x1000
_FIXED_SIZES = {0x0002: 2, 0x0003: 4, 0x0004: 4, 0x0005: 8, 0x0006: 8, 0x0007: 8, 0x000A: 4,
                0x000B: 2, 0x0014: 8, 0x0040: 8, 0x0048: 16, 0x0001: 0}
_VARIABLE = {0x0000, _PT_OBJECT, _PT_STRING8, _PT_UNICODE, _PT_BINARY, 0x00FB, 0x00FD, 0x00FE}

#: IID_IMessage: a PT_OBJECT attachment that starts with it is an attached Outlook item.
IID_IMESSAGE = bytes.fromhex("0703020000000000c000000000000046")
_FILETIME_EPOCH = datetime.datetime(1601, 1, 1, tzinfo=datetime.timezone.utc)
#: MAPI properties read from one property list (real ones hold tens).
MAX_PROPERTIES = 10_000


class TnefError(ValueError):
    """Not a TNEF stream; the message says why (Chinese)."""


@dataclass
class TnefAttachment:
    """One attachment inside a TNEF stream.

    Attributes:
        name: the long file name, else the 8.3 title, else the display name; None if none.
        data: the bytes (for an attached Outlook item: its own TNEF stream).
        is_message: the attachment is an attached Outlook item (``data`` is TNEF).
        mime_type: PidTagAttachMimeTag, lower case, or None.
    """

    name: str | None
    data: bytes
    is_message: bool = False
    mime_type: str | None = None


@dataclass
class TnefMessage:
    """What a TNEF stream holds.

    Attributes:
        subject: the message's subject, or None.
        sender: the sender's SMTP address in lower case, or None.
        sent: PidTagClientSubmitTime (aware, UTC), or None.
        attachments: in stream order.
        damaged: the stream ended early or held an impossible length; what came before is kept.
        bad_checksums: attributes whose checksum did not match (kept all the same).
    """

    subject: str | None = None
    sender: str | None = None
    sent: datetime.datetime | None = None
    attachments: list[TnefAttachment] = field(default_factory=list)
    damaged: bool = False
    bad_checksums: int = 0


def read_tnef(data: bytes) -> TnefMessage:
    """Read the attachments and the little we need of the message from a TNEF stream.

    Raises:
        TnefError: the bytes do not start with the TNEF signature.
    """
    if not data.startswith(TNEF_SIGNATURE) or len(data) < 6:
        raise TnefError("不是 TNEF（winmail.dat）格式")
    message = TnefMessage()
    codec = None
    parts: list[dict] = []
    offset = 6  # signature, legacy key
    while offset < len(data):
        if offset + 9 > len(data):
            message.damaged = True
            break
        level = data[offset]
        attr_id, length = struct.unpack_from("<II", data, offset + 1)
        start, end = offset + 9, offset + 9 + length
        if end + 2 > len(data) or level not in (_LEVEL_MESSAGE, _LEVEL_ATTACHMENT):
            message.damaged = True
            break
        value = data[start:end]
        (checksum,) = struct.unpack_from("<H", data, end)
        if checksum != sum(value) & 0xFFFF:
            message.bad_checksums += 1
        offset = end + 2

        if attr_id == _ATT_OEM_CODEPAGE and len(value) >= 4:
            codec = codepage_codec(struct.unpack_from("<I", value)[0]) or codec
        elif attr_id == _ATT_ATTACH_REND_DATA:
            parts.append({})
        elif level == _LEVEL_ATTACHMENT:
            if not parts:
                parts.append({})
            part = parts[-1]
            if attr_id == _ATT_ATTACH_DATA:
                part["data"] = value
            elif attr_id == _ATT_ATTACH_TITLE:
                part["title"] = value
            elif attr_id == _ATT_ATTACHMENT:
                part["props"] = _properties(value, codec)
        elif attr_id == _ATT_SUBJECT and message.subject is None:
            message.subject = decode_name(value.split(b"\x00", 1)[0], codec).strip() or None
        elif attr_id == _ATT_MSG_PROPS:
            props = _properties(value, codec)
            # PidTagMessageCodepage is that of the 8-bit MAPI strings; attributes (the title,
            # the subject) stay in the OEM code page.
            mapi_codec = codepage_codec(_first_int(props.get(_PR_MESSAGE_CODEPAGE))) or codec
            message.subject = _text(props.get(_PR_SUBJECT), mapi_codec) or message.subject
            message.sent = _filetime(props.get(_PR_CLIENT_SUBMIT_TIME)) or message.sent
            message.sender = _sender(props, mapi_codec) or message.sender

    for part in parts:
        message.attachments.append(_attachment(part, codec))
    return message


def _attachment(part: dict, codec: str | None) -> TnefAttachment:
    props = part.get("props", {})
    name = (_text(props.get(_PR_ATTACH_LONG_FILENAME), codec) or _text(props.get(_PR_ATTACH_FILENAME), codec)
            or (decode_name(part["title"].split(b"\x00", 1)[0], codec).strip() if part.get("title") else None)
            or _text(props.get(_PR_DISPLAY_NAME), codec))
    mime = _text(props.get(_PR_ATTACH_MIME_TAG), codec)
    data = part.get("data", b"")
    is_message = False
    obj = props.get(_PR_ATTACH_DATA)
    if obj and obj[0] in (_PT_OBJECT, _PT_BINARY) and obj[1]:
        body = obj[1][0]
        if isinstance(body, bytes):
            if obj[0] == _PT_OBJECT and body.startswith(IID_IMESSAGE):
                data, is_message = body[16:], True
            elif obj[0] == _PT_OBJECT:
                data = body[16:]  # an OLE object behind its IID
            elif not data:
                data = body
    return TnefAttachment(name=name or None, data=data, is_message=is_message,
                          mime_type=mime.lower() if mime else None)


# --------------------------------------------------------------------------- MAPI properties

def _properties(raw: bytes, codec: str | None) -> dict[int, tuple[int, list]]:
    """A MAPI property list ([MS-OXTNEF] 2.1.3.4): id -> (type, [values]); stops at damage."""
    out: dict[int, tuple[int, list]] = {}
    if len(raw) < 4:
        return out
    (count,) = struct.unpack_from("<I", raw, 0)
    pos = 4
    for _ in range(min(count, MAX_PROPERTIES)):
        if pos + 4 > len(raw):
            break
        ptype, pid = struct.unpack_from("<HH", raw, pos)
        pos += 4
        if pid >= 0x8000:  # a named property: GUID, kind, then an id or a UTF-16 name
            if pos + 20 > len(raw):
                break
            (kind,) = struct.unpack_from("<I", raw, pos + 16)
            pos += 20
            if kind == 0:
                pos += 4
            else:
                if pos + 4 > len(raw):
                    break
                (size,) = struct.unpack_from("<I", raw, pos)
                pos += 4 + size + (-size % 4)
        multi = bool(ptype & _MV_FLAG)
        base = ptype & ~_MV_FLAG
        values: list = []
        if base in _VARIABLE:
            n = 1
            if pos + 4 > len(raw):
                break
            (n,) = struct.unpack_from("<I", raw, pos)
            pos += 4
            for _ in range(min(n, len(raw))):
                if pos + 4 > len(raw):
                    return out
                (size,) = struct.unpack_from("<I", raw, pos)
                pos += 4
                if pos + size > len(raw):
                    return out
                values.append(raw[pos:pos + size])
                pos += size + (-size % 4)
        elif base in _FIXED_SIZES:
            n = 1
            if multi:
                if pos + 4 > len(raw):
                    break
                (n,) = struct.unpack_from("<I", raw, pos)
                pos += 4
            size = _FIXED_SIZES[base]
            for _ in range(min(n, len(raw))):
                if pos + size > len(raw):
                    return out
                values.append(raw[pos:pos + size])
                pos += size + (-size % 4)
        else:
            break  # an unknown type: its length cannot be known, the rest cannot be trusted
        out.setdefault(pid, (base, values))
    return out


def _text(prop: tuple[int, list] | None, codec: str | None) -> str | None:
    if not prop or not prop[1] or not isinstance(prop[1][0], bytes):
        return None
    raw = prop[1][0]
    if prop[0] == _PT_UNICODE:
        text = raw.decode("utf-16-le", "replace").split("\x00", 1)[0]
    elif prop[0] == _PT_STRING8:
        text = decode_name(raw.split(b"\x00", 1)[0], codec)
    else:
        return None
    return text.strip() or None


def _first_int(prop: tuple[int, list] | None) -> int | None:
    if not prop or not prop[1] or prop[0] not in (_PT_LONG, _PT_SHORT):
        return None
    raw = prop[1][0]
    return struct.unpack_from("<I" if prop[0] == _PT_LONG else "<H", raw)[0]


def _filetime(prop: tuple[int, list] | None) -> datetime.datetime | None:
    if not prop or prop[0] != _PT_SYSTIME or not prop[1]:
        return None
    (ticks,) = struct.unpack_from("<Q", prop[1][0])
    try:
        when = _FILETIME_EPOCH + datetime.timedelta(microseconds=ticks // 10)
    except OverflowError:
        return None
    return when if 1990 <= when.year <= 2100 else None


def _sender(props: dict, codec: str | None) -> str | None:
    smtp = _text(props.get(_PR_SENDER_SMTP), codec)
    kind = (_text(props.get(_PR_SENDER_ADDRTYPE), codec) or "").upper()
    address = smtp or (_text(props.get(_PR_SENDER_EMAIL), codec) if kind in ("SMTP", "") else None)
    return address.lower() if address and "@" in address else None
