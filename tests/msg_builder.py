"""Outlook items (.msg) written byte by byte from [MS-OXMSG], for test fixtures.

Laid out as Outlook lays them out: the message's fixed-size properties in
``__properties_version1.0`` (32-byte header at the top, 24 in an attached item, 8 in a
recipient or attachment), each string or binary property in a ``__substg1.0_<id><type>``
stream of its own (UTF-16LE without terminator for PT_UNICODE, the code page's bytes for
PT_STRING8), a ``__nameid_version1.0`` storage at the top, recipients and attachments as
``__recip_version1.0_#<n>`` and ``__attach_version1.0_#<n>`` storages, and an attached
Outlook item as the ``__substg1.0_3701000D`` storage of its attachment.
"""

from __future__ import annotations

import datetime as dt
import struct
from dataclasses import dataclass, field

from cfb_builder import build_cfb

PT_LONG, PT_BOOLEAN, PT_OBJECT, PT_STRING8, PT_UNICODE, PT_SYSTIME, PT_BINARY = (
    0x0003, 0x000B, 0x000D, 0x001E, 0x001F, 0x0040, 0x0102)
READABLE_WRITABLE = 0x06
# CLSID of a message storage (IMessage), written on the root of a .msg by Outlook.
CLSID_MESSAGE = bytes.fromhex("0b0d020000000000c000000000000046")
FILETIME_EPOCH = dt.datetime(1601, 1, 1, tzinfo=dt.timezone.utc)


def filetime(when: dt.datetime) -> int:
    return (when - FILETIME_EPOCH) // dt.timedelta(microseconds=1) * 10


@dataclass
class Attachment:
    """An attachment: by value (``data``), or an attached Outlook item (``message``)."""

    long_name: str | None = None
    short_name: str | None = None
    display_name: str | None = None
    data: bytes | None = None
    message: "Message | None" = None
    mime: str | None = None
    method: int | None = None          # default: 1 by value, 5 for an attached item
    ole_storage: dict | None = None    # method 6: an OLE object's storage


@dataclass
class Message:
    subject: str = ""
    sender_name: str = ""
    sender_email: str = ""             # PidTagSenderEmailAddress
    sender_addrtype: str = "SMTP"      # "EX": Exchange writes an X.500 address in sender_email
    sender_smtp: str | None = None     # PidTagSenderSmtpAddress
    submit_time: dt.datetime | None = None
    delivery_time: dt.datetime | None = None
    headers: str | None = None         # PidTagTransportMessageHeaders
    body: str = ""
    codepage: int | None = None        # PidTagMessageCodepage
    unicode: bool = True               # strings as PT_UNICODE, else PT_STRING8 in ``codepage``
    recipients: list[tuple[str, str]] = field(default_factory=lambda: [("党委组织部", "dwzzb@example.edu.cn")])
    attachments: list[Attachment] = field(default_factory=list)


class _Props:
    """Collects one storage's properties: the fixed stream entries and the substg streams."""

    def __init__(self, unicode: bool, codepage: int | None):
        self.entries: list[bytes] = []
        self.streams: dict[str, bytes | dict] = {}
        self.unicode, self.codepage = unicode, codepage

    def fixed(self, pid: int, ptype: int, value: bytes) -> None:
        self.entries.append(struct.pack("<HHI", ptype, pid, READABLE_WRITABLE) + value.ljust(8, b"\x00"))

    def long(self, pid: int, value: int) -> None:
        self.fixed(pid, PT_LONG, struct.pack("<i", value))

    def time(self, pid: int, when: dt.datetime) -> None:
        self.fixed(pid, PT_SYSTIME, struct.pack("<Q", filetime(when)))

    def string(self, pid: int, text: str) -> None:
        if self.unicode:
            raw, ptype, terminator = text.encode("utf-16-le"), PT_UNICODE, 2
        else:
            raw, ptype, terminator = text.encode(f"cp{self.codepage or 1252}"), PT_STRING8, 1
        self.variable(pid, ptype, raw, len(raw) + terminator)

    def binary(self, pid: int, data: bytes) -> None:
        self.variable(pid, PT_BINARY, data, len(data))

    def variable(self, pid: int, ptype: int, data: bytes | dict, size: int) -> None:
        self.entries.append(struct.pack("<HHIII", ptype, pid, READABLE_WRITABLE, size, 0))
        self.streams[f"__substg1.0_{pid:04X}{ptype:04X}"] = data

    def storage(self, header: bytes) -> dict:
        return {"__properties_version1.0": header + b"".join(self.entries), **self.streams}


def _message_storage(msg: Message, top: bool) -> dict:
    p = _Props(msg.unicode, msg.codepage)
    p.string(0x001A, "IPM.Note")
    p.string(0x0037, msg.subject)
    p.string(0x0E1D, msg.subject)
    p.string(0x0C1A, msg.sender_name)
    p.string(0x0C1E, msg.sender_addrtype)
    p.string(0x0C1F, msg.sender_email)
    p.string(0x0042, msg.sender_name)
    p.string(0x0064, msg.sender_addrtype)
    if msg.sender_smtp:
        p.string(0x5D01, msg.sender_smtp)
    if msg.body:
        p.string(0x1000, msg.body)
    if msg.headers:
        p.string(0x007D, msg.headers)
    if msg.submit_time:
        p.time(0x0039, msg.submit_time)
    if msg.delivery_time:
        p.time(0x0E06, msg.delivery_time)
    if msg.codepage:
        p.long(0x3FFD, msg.codepage)
    p.long(0x0E07, 0x01 if msg.submit_time else 0x08)   # MSGFLAG_READ, or MSGFLAG_UNSENT for a draft
    p.long(0x340D, 0x00040000 if msg.unicode else 0)   # STORE_UNICODE_OK

    children: dict[str, bytes | dict] = {}
    for i, (name, address) in enumerate(msg.recipients):
        r = _Props(msg.unicode, msg.codepage)
        r.string(0x3001, name)
        r.string(0x3003, address)
        r.string(0x3002, "SMTP")
        r.long(0x0C15, 1)  # MAPI_TO
        r.long(0x3000, i)
        children[f"__recip_version1.0_#{i:08X}"] = r.storage(bytes(8))
    for i, att in enumerate(msg.attachments):
        a = _Props(msg.unicode, msg.codepage)
        method = att.method or (5 if att.message is not None else 6 if att.ole_storage is not None else 1)
        a.long(0x0E21, i)
        a.long(0x3705, method)
        a.long(0x370B, -1)
        for pid, text in ((0x3707, att.long_name), (0x3704, att.short_name), (0x3001, att.display_name),
                          (0x370E, att.mime)):
            if text is not None:
                a.string(pid, text)
        if att.long_name and "." in att.long_name:
            a.string(0x3703, "." + att.long_name.rsplit(".", 1)[1])
        if att.data is not None:
            a.binary(0x3701, att.data)
            a.long(0x0E20, len(att.data))
        if att.message is not None:
            a.variable(0x3701, PT_OBJECT, _message_storage(att.message, top=False), 0xFFFFFFFF)
        if att.ole_storage is not None:
            a.variable(0x3701, PT_OBJECT, att.ole_storage, 0xFFFFFFFF)
        children[f"__attach_version1.0_#{i:08X}"] = a.storage(bytes(8))

    counts = struct.pack("<IIII", len(msg.recipients), len(msg.attachments),
                         len(msg.recipients), len(msg.attachments))
    header = bytes(8) + counts + (bytes(8) if top else b"")
    storage = p.storage(header)
    if top:  # the named-property map: GUID, entry and string streams (empty: no named properties)
        storage["__nameid_version1.0"] = {"__substg1.0_00020102": b"", "__substg1.0_00030102": b"",
                                          "__substg1.0_00040102": b""}
    storage.update(children)
    return storage


def build_msg(msg: Message) -> bytes:
    """The bytes of an Outlook .msg file holding ``msg``."""
    return build_cfb(_message_storage(msg, top=True), root_clsid=CLSID_MESSAGE)
