"""winmail.dat reading: TNEF streams built byte by byte from [MS-OXTNEF] (tests/tnef_builder.py),
cross-checked with an independent parser (tnefparse, LGPL, a test-only dependency)."""

from __future__ import annotations

import datetime as dt
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerbook.inbox.tnef import TnefError, read_tnef
from tnef_builder import (ATT_ATTACHMENT, LEVEL_ATTACHMENT, PT_LONG, Attachment, Message, attribute, build_tnef,
                          prop_list, prop_unicode)

UTC = dt.timezone.utc
SENT = dt.datetime(2019, 9, 12, 2, 30, tzinfo=UTC)
BOOK = b"PK\x03\x04" + bytes(range(256)) * 8


def rich_text_reply(**changes) -> Message:
    fields = dict(subject="回复：整顿台账", sender_smtp="JGDW@example.edu.cn", submit_time=SENT,
                  attachments=[Attachment(title="整顿台~1.XLS", long_name="整顿台账_机关党委（定稿）.xlsx", data=BOOK),
                               Attachment(title="说明.txt", data=b"hello")])
    fields.update(changes)
    return Message(**fields)


def test_attachments_with_long_names_and_the_message_fields():
    got = read_tnef(build_tnef(rich_text_reply()))
    assert (got.subject, got.sender, got.sent, got.damaged, got.bad_checksums) == (
        "回复：整顿台账", "jgdw@example.edu.cn", SENT, False, 0)
    assert [(a.name, a.data, a.is_message) for a in got.attachments] == [
        ("整顿台账_机关党委（定稿）.xlsx", BOOK, False), ("说明.txt", b"hello", False)]


def test_title_in_the_code_page_when_there_is_no_long_name():
    for codepage, subject, title in ((936, "回复：台账", "台账.xls"), (950, "回覆：臺賬", "臺賬.xls")):
        got = read_tnef(build_tnef(rich_text_reply(codepage=codepage, subject=subject,
                                                   attachments=[Attachment(title=title, data=b"x")])))
        assert [a.name for a in got.attachments] == [title] and got.subject == subject


def test_attached_item_is_a_tnef_stream_of_its_own():
    inner = Message(subject="FW: 台账", submit_time=SENT - dt.timedelta(days=1),
                    attachments=[Attachment(title="TZ.XLS", long_name="整顿台账.xlsx", data=BOOK)])
    got = read_tnef(build_tnef(rich_text_reply(attachments=[Attachment(display_name="FW: 台账", message=inner)])))
    [item] = got.attachments
    assert item.is_message and item.name == "FW: 台账"
    nested = read_tnef(item.data)
    assert nested.subject == "FW: 台账" and nested.attachments[0].data == BOOK


def test_named_and_multivalued_properties_are_skipped_correctly():
    named = (struct.pack("<HH", 0x001F, 0x8001) + bytes(16) + struct.pack("<I", 1)
             + struct.pack("<I", 10) + "abcd\x00".encode("utf-16-le") + b"\x00\x00"
             + struct.pack("<II", 1, 4) + "x\x00".encode("utf-16-le"))
    multi = struct.pack("<HHI", 0x1003, 0x6000, 3) + struct.pack("<iii", 1, 2, 3)
    multi_text = struct.pack("<HHI", 0x101F, 0x6001, 2) + b"".join(
        struct.pack("<I", len(t)) + t + b"\x00" * (-len(t) % 4) for t in ("a\x00".encode("utf-16-le"), b"bcdefg"))
    props = prop_list([]).replace(b"\x00\x00\x00\x00", struct.pack("<I", 5)) + named + multi + multi_text \
        + struct.pack("<HHi", PT_LONG, 0x0E21, 0) + prop_unicode(0x3707, "长文件名.xlsx")
    data = build_tnef(Message(subject="x", attachments=[Attachment(title="A.XLS", data=b"a")]))
    data += attribute(LEVEL_ATTACHMENT, ATT_ATTACHMENT, props)   # a second attAttachment for the same file
    [att] = read_tnef(data).attachments
    assert att.name in ("长文件名.xlsx", "A.XLS")
    got = read_tnef(build_tnef(Message(subject="x")) + attribute(2, 0x00069002, bytes(14))
                    + attribute(LEVEL_ATTACHMENT, 0x0006800F, b"data")
                    + attribute(LEVEL_ATTACHMENT, ATT_ATTACHMENT, props))
    assert [(a.name, a.data) for a in got.attachments] == [("长文件名.xlsx", b"data")]


def test_truncated_stream_keeps_what_came_before():
    data = build_tnef(rich_text_reply())
    cut = data.rindex("说明.txt".encode("gbk")) - 9          # inside the second attachment's title
    got = read_tnef(data[:cut + 3])
    assert got.damaged
    assert got.attachments[0].data == BOOK


def test_bad_checksum_is_counted_not_fatal():
    data = bytearray(build_tnef(rich_text_reply()))
    data[data.index(b"hello")] ^= 0x01
    got = read_tnef(bytes(data))
    assert got.bad_checksums == 1 and got.attachments[1].data == b"iello"


@pytest.mark.parametrize("data", [b"", b"\x78\x9f\x3e", b"PK\x03\x04" + bytes(30)])
def test_not_tnef(data):
    with pytest.raises(TnefError):
        read_tnef(data)


_FUZZ_BASE = build_tnef(rich_text_reply(attachments=[
    Attachment(title="A.XLS", long_name="a.xlsx", data=BOOK),
    Attachment(display_name="fw", message=Message(subject="x", attachments=[Attachment(title="B", data=b"b")]))]))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(min_value=6, max_value=10_000), st.integers(0, 255)), min_size=1, max_size=10))
def test_damaged_bytes_never_raise(flips):
    data = bytearray(_FUZZ_BASE)
    for pos, value in flips:
        data[6 + pos % (len(data) - 6)] = value
    got = read_tnef(bytes(data))
    for att in got.attachments:
        if att.is_message and att.data.startswith(b"\x78\x9f\x3e\x22"):
            read_tnef(att.data)


def test_independent_parser_reads_the_same():
    tnefparse = pytest.importorskip("tnefparse")
    inner = Message(subject="FW", attachments=[Attachment(title="B.XLS", long_name="乙.xlsx", data=b"b" * 50)])
    data = build_tnef(rich_text_reply(attachments=[
        Attachment(title="整顿台~1.XLS", long_name="整顿台账_机关党委.xlsx", data=BOOK),
        Attachment(display_name="FW", message=inner)]))
    theirs = tnefparse.TNEF(data)
    ours = read_tnef(data)
    assert [(a.long_filename(), a.data) for a in theirs.attachments if not hasattr(a, "embed")] == [
        (a.name, a.data) for a in ours.attachments if not a.is_message]
    [embedded] = [a for a in theirs.attachments if hasattr(a, "embed")]
    [mine] = [a for a in ours.attachments if a.is_message]
    assert embedded.data == mine.data
    assert [(a.long_filename(), a.data) for a in embedded.embed.attachments] == [
        (a.name, a.data) for a in read_tnef(mine.data).attachments]
