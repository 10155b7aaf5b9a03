"""Outlook .msg reading: items built byte by byte from [MS-OXMSG] (tests/msg_builder.py),
cross-checked with an independent parser (msg-parser, BSD) where it is installed."""

from __future__ import annotations

import datetime as dt
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledgerbook.inbox.msg import MsgError, read_msg
from msg_builder import Attachment, Message, build_msg

UTC = dt.timezone.utc
SENT = dt.datetime(2019, 9, 12, 2, 30, tzinfo=UTC)
BIG = bytes(range(256)) * 40          # 10 KB: in sectors of its own, not the mini stream
SMALL = b"PK\x03\x04 small workbook"  # in the mini stream


def reply(**changes) -> Message:
    fields = dict(subject="回复：整顿台账（机关党委）", sender_name="机关党委", sender_email="jgdw@example.edu.cn",
                  submit_time=SENT, delivery_time=SENT + dt.timedelta(minutes=1),
                  attachments=[Attachment(long_name="整顿台账_机关党委（定稿）.xlsx", short_name="整顿台~1.XLS", data=BIG),
                               Attachment(long_name="说明.txt", data=SMALL)])
    fields.update(changes)
    return Message(**fields)


def test_sender_subject_sent_time_and_attachments():
    item = read_msg(build_msg(reply()))
    assert (item.subject, item.sender, item.sender_name) == ("回复：整顿台账（机关党委）", "jgdw@example.edu.cn", "机关党委")
    assert (item.sent, item.sent_from, item.message_class) == (SENT, "submit", "IPM.Note")
    assert [(a.name, a.size, a.read()) for a in item.attachments] == [
        ("整顿台账_机关党委（定稿）.xlsx", len(BIG), BIG), ("说明.txt", len(SMALL), SMALL)]
    assert not any(a.is_message for a in item.attachments)


def test_long_file_name_wins_over_the_short_one_and_the_display_name():
    names = [Attachment(short_name="TAIZHA~1.XLS", display_name="台账", data=b"a"),
             Attachment(display_name="台账.xlsx", data=b"b"),
             Attachment(data=b"c")]
    item = read_msg(build_msg(reply(attachments=names)))
    assert [a.name for a in item.attachments] == ["TAIZHA~1.XLS", "台账.xlsx", None]


def test_exchange_sender_is_read_from_the_smtp_property_or_the_headers():
    exchange = reply(sender_addrtype="EX", sender_email="/O=HNUST/OU=EXCHANGE/CN=RECIPIENTS/CN=JGDW",
                     sender_smtp="JGDW@Example.edu.cn")
    assert read_msg(build_msg(exchange)).sender == "jgdw@example.edu.cn"
    headers = "From: =?GBK?B?u/q52LWzzq8=?= <jgdw@example.edu.cn>\r\nDate: Thu, 12 Sep 2019 10:30:00 +0800\r\n"
    no_smtp = reply(sender_addrtype="EX", sender_email="/O=HNUST/CN=JGDW", headers=headers)
    assert read_msg(build_msg(no_smtp)).sender == "jgdw@example.edu.cn"
    assert read_msg(build_msg(reply(sender_addrtype="EX", sender_email="/O=HNUST/CN=JGDW"))).sender is None


def test_sent_time_falls_back_to_the_header_date_then_delivery_then_none():
    headers = "Received: by mx\r\nDate: Thu, 12 Sep 2019 10:30:00 +0800\r\nFrom: a@b.cn\r\n"
    item = read_msg(build_msg(reply(submit_time=None, headers=headers)))
    assert (item.sent, item.sent_from) == (SENT, "header")
    item = read_msg(build_msg(reply(submit_time=None)))
    assert (item.sent, item.sent_from) == (SENT + dt.timedelta(minutes=1), "delivery")
    draft = read_msg(build_msg(reply(submit_time=None, delivery_time=None)))
    assert (draft.sent, draft.sent_from) == (None, None)


def test_ansi_item_decoded_by_its_code_page():
    """Outlook 97-2002 writes PT_STRING8 in the system code page (936 on Chinese Windows)."""
    ansi = reply(unicode=False, codepage=936,
                 attachments=[Attachment(long_name="整顿台账_机关党委.xlsx", data=SMALL)])
    item = read_msg(build_msg(ansi))
    assert (item.subject, item.sender_name) == ("回复：整顿台账（机关党委）", "机关党委")
    assert [a.name for a in item.attachments] == ["整顿台账_机关党委.xlsx"]


def test_attached_items_nest():
    innermost = Message(subject="整顿台账", sender_email="unit@example.edu.cn",
                        submit_time=SENT - dt.timedelta(days=2),
                        attachments=[Attachment(long_name="整顿台账.xlsx", data=BIG)])
    middle = Message(subject="FW: 整顿台账", sender_email="office@example.edu.cn", submit_time=SENT - dt.timedelta(days=1),
                     attachments=[Attachment(display_name="整顿台账", message=innermost)])
    outer = reply(attachments=[Attachment(display_name="FW: 整顿台账", message=middle),
                               Attachment(long_name="a.txt", data=b"x")])
    item = read_msg(build_msg(outer))
    first = item.attachments[0]
    assert first.is_message and first.name == "FW: 整顿台账" and first.read() == b""
    fw = first.open_message()
    assert (fw.subject, fw.sender, fw.sent) == ("FW: 整顿台账", "office@example.edu.cn", SENT - dt.timedelta(days=1))
    inner = fw.attachments[0].open_message()
    assert inner.attachments[0].read() == BIG and inner.sent == SENT - dt.timedelta(days=2)
    assert len({item.fingerprint(), fw.fingerprint(), inner.fingerprint()}) == 3
    assert read_msg(build_msg(outer)).attachments[0].open_message().fingerprint() == fw.fingerprint()
    assert fw.fingerprint()[0] > len(BIG)
    with pytest.raises(MsgError):
        item.attachments[1].open_message()


def test_ole_object_attachment_lists_its_streams():
    sheet = Attachment(display_name="工作表", ole_storage={"Workbook": BIG, "\x01CompObj": b"x"})
    [att] = read_msg(build_msg(reply(attachments=[sheet]))).attachments
    assert att.method == 6 and not att.is_message and "workbook" in att.ole_streams


@pytest.mark.parametrize("data", [b"", b"not an ole file at all" * 100, bytes(2048),
                                  b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1000)])
def test_not_an_outlook_item(data):
    with pytest.raises(MsgError) as info:
        read_msg(data)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(info.value))


def test_compound_file_that_is_not_a_message():
    from cfb_builder import build_cfb

    with pytest.raises(MsgError, match="不是 Outlook 邮件"):
        read_msg(build_cfb({"Workbook": BIG}))


def _entry_offset(data: bytes, name: str) -> int:
    return data.index(name.encode("utf-16-le") + b"\x00\x00")


def test_lying_stream_size_cannot_allocate():
    data = bytearray(build_msg(reply()))
    entry = _entry_offset(data, "__substg1.0_37010102")      # the first attachment's data
    struct.pack_into("<Q", data, entry + 120, 0xFFFFFFFF)     # "4 GB"
    item = read_msg(bytes(data))
    with pytest.raises(MsgError):
        item.attachments[0].read()
    assert item.attachments[1].read() == SMALL      # the other attachment is not lost
    item.fingerprint()


def test_truncated_item():
    data = build_msg(reply())
    with pytest.raises(MsgError):
        item = read_msg(data[: len(data) // 2])
        for att in item.attachments:
            att.read()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(min_value=0, max_value=30_000), st.integers(0, 255)), min_size=1, max_size=12))
def test_damaged_bytes_give_msg_error_or_a_message(flips):
    data = bytearray(_FUZZ_BASE)
    for pos, value in flips:
        data[pos % len(data)] = value
    try:
        item = read_msg(bytes(data))
        item.fingerprint()
        for att in item.attachments:
            att.read()
            if att.is_message:
                att.open_message()
    except MsgError:
        pass


_FUZZ_BASE = build_msg(reply(attachments=[Attachment(long_name="a.xlsx", data=BIG),
                                          Attachment(display_name="fw", message=Message(subject="x"))]))


def test_independent_parser_reads_the_same(tmp_path):
    """msg-parser (BSD; its own reading of the property streams) agrees on subject and attachments."""
    msg_parser = pytest.importorskip("msg_parser")
    path = tmp_path / "reply.msg"
    path.write_bytes(build_msg(reply(attachments=[
        Attachment(long_name="整顿台账_机关党委.xlsx", short_name="整顿台~1.XLS", data=BIG),
        Attachment(display_name="FW: 台账", message=Message(subject="FW: 台账"))])))
    theirs = msg_parser.MsOxMessage(str(path))
    ours = read_msg(path.read_bytes())
    assert theirs.subject == ours.subject
    by_value = [a for a in ours.attachments if not a.is_message]
    # msg-parser drops NUL bytes from binary values: compare without them.
    assert [(a.Filename, a.data.replace(b"\x00", b"")) for a in theirs.attachments if a.data] == [
        (a.name, a.read().replace(b"\x00", b"")) for a in by_value]
    embedded = [v for v in theirs._message.attachments.values() if "EmbeddedMessage" in v]
    assert len(embedded) == sum(a.is_message for a in ours.attachments) == 1
