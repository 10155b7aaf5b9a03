"""TNEF streams (winmail.dat) written byte by byte from [MS-OXTNEF], for test fixtures.

As Outlook writes them: signature and legacy key, attTnefVersion, attOemCodepage,
attMessageClass, the message's attributes and attMsgProps, then per attachment
attAttachRendData, attAttachTitle (the 8.3 name in the code page), attAttachData and
attAttachment (MAPI properties: the long file name in Unicode). Every attribute carries the
16-bit sum of its bytes as checksum. An attached Outlook item is PidTagAttachDataObject:
IID_IMessage followed by the item's own TNEF stream.
"""

from __future__ import annotations

import datetime as dt
import struct
from dataclasses import dataclass, field

SIGNATURE = 0x223E9F78
LEVEL_MESSAGE, LEVEL_ATTACHMENT = 1, 2
ATT_TNEF_VERSION = 0x00089006
ATT_OEM_CODEPAGE = 0x00069007
ATT_MESSAGE_CLASS = 0x00078008
ATT_SUBJECT = 0x00018004
ATT_DATE_SENT = 0x00038005
ATT_MSG_PROPS = 0x00069003
ATT_ATTACH_REND_DATA = 0x00069002
ATT_ATTACH_TITLE = 0x00018010
ATT_ATTACH_DATA = 0x0006800F
ATT_ATTACHMENT = 0x00069005
PT_LONG, PT_OBJECT, PT_STRING8, PT_UNICODE, PT_SYSTIME, PT_BINARY = 0x0003, 0x000D, 0x001E, 0x001F, 0x0040, 0x0102
IID_IMESSAGE = bytes.fromhex("0703020000000000c000000000000046")
FILETIME_EPOCH = dt.datetime(1601, 1, 1, tzinfo=dt.timezone.utc)


@dataclass
class Attachment:
    title: str | None = None             # attAttachTitle: the 8.3 name, in the code page
    long_name: str | None = None         # PidTagAttachLongFilename, Unicode
    data: bytes | None = None            # attAttachData
    message: "Message | None" = None     # an attached Outlook item (PidTagAttachDataObject)
    display_name: str | None = None


@dataclass
class Message:
    subject: str = ""
    sender_smtp: str | None = None
    submit_time: dt.datetime | None = None
    codepage: int = 936
    attachments: list[Attachment] = field(default_factory=list)


def attribute(level: int, attr_id: int, value: bytes) -> bytes:
    return struct.pack("<BII", level, attr_id, len(value)) + value + struct.pack("<H", sum(value) & 0xFFFF)


def _pad(data: bytes) -> bytes:
    return data + b"\x00" * (-len(data) % 4)


def prop_variable(ptype: int, pid: int, value: bytes) -> bytes:
    return struct.pack("<HHII", ptype, pid, 1, len(value)) + _pad(value)


def prop_unicode(pid: int, text: str) -> bytes:
    return prop_variable(PT_UNICODE, pid, text.encode("utf-16-le") + b"\x00\x00")


def prop_long(pid: int, value: int) -> bytes:
    return struct.pack("<HHi", PT_LONG, pid, value)


def prop_time(pid: int, when: dt.datetime) -> bytes:
    ticks = (when - FILETIME_EPOCH) // dt.timedelta(microseconds=1) * 10
    return struct.pack("<HHQ", PT_SYSTIME, pid, ticks)


def prop_list(props: list[bytes]) -> bytes:
    return struct.pack("<I", len(props)) + b"".join(props)


def _dtr(when: dt.datetime) -> bytes:
    return struct.pack("<7H", when.year, when.month, when.day, when.hour, when.minute, when.second,
                       (when.weekday() + 1) % 7)


def build_tnef(msg: Message, key: int = 0x0102) -> bytes:
    """The bytes of a winmail.dat holding ``msg``."""
    out = [struct.pack("<IH", SIGNATURE, key),
           attribute(LEVEL_MESSAGE, ATT_TNEF_VERSION, struct.pack("<I", 0x00010000)),
           attribute(LEVEL_MESSAGE, ATT_OEM_CODEPAGE, struct.pack("<II", msg.codepage, 0)),
           attribute(LEVEL_MESSAGE, ATT_MESSAGE_CLASS, b"IPM.Microsoft Mail.Note\x00")]
    if msg.subject:
        out.append(attribute(LEVEL_MESSAGE, ATT_SUBJECT, msg.subject.encode(f"cp{msg.codepage}") + b"\x00"))
    if msg.submit_time:
        out.append(attribute(LEVEL_MESSAGE, ATT_DATE_SENT, _dtr(msg.submit_time)))
    props = [prop_unicode(0x0037, msg.subject)]
    if msg.submit_time:
        props.append(prop_time(0x0039, msg.submit_time))
    if msg.sender_smtp:
        props += [prop_unicode(0x0C1E, "SMTP"), prop_unicode(0x0C1F, msg.sender_smtp),
                  prop_unicode(0x5D01, msg.sender_smtp)]
    props.append(prop_long(0x3FDE, 65001))
    out.append(attribute(LEVEL_MESSAGE, ATT_MSG_PROPS, prop_list(props)))
    for n, att in enumerate(msg.attachments):
        rend = struct.pack("<HiHHI", 1 if att.message is None else 2, -1, 0, 0, 0)  # type, position, …
        out.append(attribute(LEVEL_ATTACHMENT, ATT_ATTACH_REND_DATA, rend))
        if att.title is not None:
            out.append(attribute(LEVEL_ATTACHMENT, ATT_ATTACH_TITLE,
                                 att.title.encode(f"cp{msg.codepage}") + b"\x00"))
        if att.data is not None:
            out.append(attribute(LEVEL_ATTACHMENT, ATT_ATTACH_DATA, att.data))
        aprops = [prop_long(0x0E21, n)]
        if att.long_name is not None:
            aprops.append(prop_unicode(0x3707, att.long_name))
        if att.display_name is not None:
            aprops.append(prop_unicode(0x3001, att.display_name))
        if att.message is not None:
            aprops.append(prop_long(0x3705, 5))
            aprops.append(prop_variable(PT_OBJECT, 0x3701, IID_IMESSAGE + build_tnef(att.message)))
        else:
            aprops.append(prop_long(0x3705, 1))
        out.append(attribute(LEVEL_ATTACHMENT, ATT_ATTACHMENT, prop_list(aprops)))
    return b"".join(out)
