"""Every file the units' real programs send: Outlook .msg and winmail.dat, WPS .et, zip names from
every writer, mail header names in every charset, non-workbooks, deep forwards, and the
received time (e-mail date > workbook saved time > file time) through collect().

Fixtures come from real writers where installed (LibreOffice, Info-ZIP, mpack) and from the
documented formats otherwise (tests/msg_builder.py, tests/tnef_builder.py)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

import msg_builder as mb
import tnef_builder as tb
from ledgerbook.collect import collect
from ledgerbook.demo import samples
from ledgerbook.inbox import scan_inbox
from ledgerbook.text import OFFICE_TZ

UTC = dt.timezone.utc
SENT = dt.datetime(2019, 9, 12, 2, 30, tzinfo=UTC)            # 10:30 in the office
SENT_LOCAL = dt.datetime(2019, 9, 12, 10, 30)
MTIME = dt.datetime(2019, 10, 30, 9, 0)                        # "saved into the inbox" long after
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
       b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
       b"\x00\x00IEND\xaeB`\x82")
MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x0f" + bytes(200)
AMR = b"#!AMR\n" + bytes(100)


def touch(path: Path, when: dt.datetime = MTIME) -> None:
    ts = when.replace(tzinfo=OFFICE_TZ).timestamp()
    os.utime(path, (ts, ts))


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    return {p.relative_to(root).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def decodes_cleanly(text: str) -> bool:
    """No replacement characters, lone surrogates, private-use or control characters."""
    return not re.search(r"[\ufffd\ud800-\udfff\ue000-\uf8ff\x00-\x1f]", text)


@pytest.fixture(scope="module")
def ledger(campaign, tmp_path_factory):
    """A correct ledger of the first roster unit, saved by its program on 2019-09-12 09:40."""
    path = tmp_path_factory.mktemp("ledger") / "book.xlsx"
    samples.write_ledger(samples.clean_ledger(campaign, campaign.units[0]), campaign, path,
                         saved=dt.datetime(2019, 9, 12, 9, 40))
    return path.read_bytes()


@pytest.fixture(scope="module")
def draft(campaign, tmp_path_factory):
    """An earlier, shorter version of the same unit's ledger (saved 2019-09-10 16:00)."""
    path = tmp_path_factory.mktemp("draft") / "book.xlsx"
    samples.write_ledger(samples.clean_ledger(campaign, campaign.units[0], n_rows=2), campaign, path,
                         saved=dt.datetime(2019, 9, 10, 16, 0))
    return path.read_bytes()


def collect_unchanged(inbox: Path, campaign):
    before = snapshot(inbox)
    result = collect(inbox, campaign, workers=0)
    assert snapshot(inbox) == before, "the inbox changed"
    return result


# --------------------------------------------------------------------------- Outlook .msg

def outlook_reply(ledger: bytes, campaign, draft: bytes = b"PK\x03\x04 an earlier draft") -> bytes:
    unit = campaign.units[0]
    forwarded = mb.Message(subject="FW: 整顿台账", sender_email="office@example.edu.cn",
                           submit_time=SENT - dt.timedelta(days=1),
                           attachments=[mb.Attachment(long_name="转发的台账.xlsx", data=draft)])
    reply = mb.Message(
        subject=f"回复：{unit.name}整顿台账", sender_name=unit.name, sender_addrtype="EX",
        sender_email="/O=HNUST/OU=EXCHANGE/CN=RECIPIENTS/CN=JGDW", sender_smtp=unit.email or "jgdw@example.edu.cn",
        submit_time=SENT,
        attachments=[mb.Attachment(long_name=f"整顿台账_{unit.name}（定稿）.xlsx", short_name="整顿台~1.XLS", data=ledger),
                     mb.Attachment(long_name="照片.png", data=PNG),
                     mb.Attachment(display_name="FW: 整顿台账", message=forwarded)])
    return mb.build_msg(reply)


def test_outlook_item_lists_sender_subject_sent_time_and_attachments(tmp_path, campaign, ledger, draft):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "回复.msg").write_bytes(outlook_reply(ledger, campaign, draft))
    touch(inbox / "回复.msg")
    unit = campaign.units[0]
    by_path = {d.path: d for d in scan_inbox(inbox)}
    item = by_path["回复.msg"]
    assert (item.kind, item.format, item.received, item.dated_by_email) == ("container", "msg", SENT_LOCAL, True)
    assert item.sender == (unit.email or "jgdw@example.edu.cn").lower() and item.subject.startswith("回复：")
    assert "含 3 个附件" in item.note
    book = by_path[f"回复.msg/整顿台账_{unit.name}（定稿）.xlsx"]      # the long name, not 整顿台~1.XLS
    assert (book.kind, book.format, book.data, book.received) == ("ledger", "xlsx", ledger, SENT_LOCAL)
    assert by_path["回复.msg/照片.png"].kind == "ignored"
    fw = by_path["回复.msg/FW: 整顿台账.msg"]
    assert (fw.kind, fw.format, fw.received) == ("container", "msg", SENT_LOCAL - dt.timedelta(days=1))
    assert len(fw.sha256) == 64 and fw.sender == "office@example.edu.cn"
    inner = by_path["回复.msg/FW: 整顿台账.msg/转发的台账.xlsx"]
    assert inner.data == draft and inner.parent == "回复.msg/FW: 整顿台账.msg"

    result = collect_unchanged(inbox, campaign)
    files = result.files.set_index("文件")
    taken = files[files["处理结果"] == "采用"]
    assert list(taken.index) == [f"回复.msg/整顿台账_{unit.name}（定稿）.xlsx"]
    assert (taken.iloc[0]["收到时间"], taken.iloc[0]["时间依据"]) == (SENT_LOCAL, "邮件日期")
    assert files.loc["回复.msg/FW: 整顿台账.msg/转发的台账.xlsx", "处理结果"] == "已被替代"   # sent a day earlier
    errors = result.findings[(result.findings["级别"] == "错误") & (result.findings["文件"] != "")]
    assert errors.empty, errors


def test_outlook_item_forwarded_inside_an_eml_and_a_damaged_one(tmp_path, campaign, ledger):
    item = outlook_reply(ledger, campaign)
    eml = samples.email_with_attachments("office@example.edu.cn", "dwzzb@example.edu.cn", "转发", dt.datetime(2019, 9, 13, 9),
                                         "见附件", [("回复.msg", item)])
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "转发.eml").write_bytes(eml)
    (inbox / "坏的.msg").write_bytes(item[:3000])
    by_path = {d.path: d for d in scan_inbox(inbox)}
    assert by_path["转发.eml/回复.msg"].kind == "container"
    assert by_path["转发.eml/回复.msg"].received == SENT_LOCAL          # its own sent time, not the outer mail's
    assert any(p.startswith("转发.eml/回复.msg/FW: 整顿台账.msg/") for p in by_path)
    bad = by_path["坏的.msg"]
    assert bad.kind == "unreadable" and re.search(r"[\u4e00-\u9fff]", bad.note) and ".eml" in bad.note


def test_draft_item_without_sent_time_falls_back_to_the_file(tmp_path, ledger):
    draft = mb.build_msg(mb.Message(subject="草稿", attachments=[mb.Attachment(long_name="台账.xlsx", data=ledger)]))
    (tmp_path / "草稿.msg").write_bytes(draft)
    touch(tmp_path / "草稿.msg")
    by_path = {d.path: d for d in scan_inbox(tmp_path)}
    assert by_path["草稿.msg"].received == MTIME and "草稿" in by_path["草稿.msg"].note
    book = by_path["草稿.msg/台账.xlsx"]
    assert not book.dated_by_email and book.when == (dt.datetime(2019, 9, 12, 9, 40), "工作簿保存时间")


# --------------------------------------------------------------------------- winmail.dat

def test_winmail_dat_attachments_become_members(tmp_path, campaign, ledger, draft):
    inner = tb.Message(subject="FW", attachments=[tb.Attachment(title="TZ2.XLS", long_name="转发台账.xlsx", data=draft)])
    tnef = tb.build_tnef(tb.Message(subject="回复：台账", sender_smtp="jgdw@example.edu.cn", submit_time=SENT,
                                    attachments=[tb.Attachment(title="整顿台~1.XLS", long_name="整顿台账_机关党委.xlsx", data=ledger),
                                                 tb.Attachment(title="说明.txt", data="请查收".encode("gbk")),
                                                 tb.Attachment(display_name="FW", message=inner)]))
    head = (b"From: jgdw@example.edu.cn\r\nTo: dwzzb@example.edu.cn\r\nSubject: =?GBK?B?"
            + base64.b64encode("回复：台账".encode("gbk")) + b"?=\r\nDate: Thu, 12 Sep 2019 10:31:00 +0800\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n")
    eml = (head + b"--B\r\nContent-Type: text/plain; charset=GBK\r\n\r\n" + "见附件".encode("gbk") + b"\r\n"
           b"--B\r\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\r\n"
           b"Content-Disposition: attachment; filename=\"winmail.dat\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           + base64.encodebytes(tnef) + b"--B--\r\n")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "回复.eml").write_bytes(eml)
    by_path = {d.path: d for d in scan_inbox(inbox)}
    box = by_path["回复.eml/winmail.dat"]
    assert (box.kind, box.format) == ("container", "winmail") and "含 3 个附件" in box.note
    book = by_path["回复.eml/winmail.dat/整顿台账_机关党委.xlsx"]
    assert (book.kind, book.data, book.received, book.sender) == (
        "ledger", ledger, dt.datetime(2019, 9, 12, 10, 31), "jgdw@example.edu.cn")   # the e-mail's date stands
    assert by_path["回复.eml/winmail.dat/说明.txt"].kind == "ignored"
    assert by_path["回复.eml/winmail.dat/FW.dat"].kind == "container"
    assert by_path["回复.eml/winmail.dat/FW.dat/转发台账.xlsx"].data == draft
    result = collect_unchanged(inbox, campaign)
    assert "回复.eml/winmail.dat/整顿台账_机关党委.xlsx" in set(result.files.loc[result.files["处理结果"] == "采用", "文件"])


# --------------------------------------------------------------------------- WPS .et

@pytest.mark.soffice
def test_wps_et_saved_as_biff8_is_taken(tmp_path, campaign):
    from soffice_helpers import soffice_convert

    src = tmp_path / "src" / "台账.xlsx"
    src.parent.mkdir()
    samples.write_ledger(samples.clean_ledger(campaign, campaign.units[0]), campaign, src,
                         saved=dt.datetime(2019, 9, 12, 9, 0))
    [xls] = soffice_convert([src], "xls", tmp_path / "out")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copyfile(xls, inbox / "整顿台账.et")
    result = collect_unchanged(inbox, campaign)
    [row] = result.files.to_dict("records")
    assert (row["格式"], row["处理结果"]) == ("et", "采用"), row["说明"]
    assert result.submissions.iloc[0]["状态"] == "已通过"


# --------------------------------------------------------------------------- zip names

def test_nul_led_member_name_loses_nothing_else(tmp_path, ledger):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("#evil.xlsx", b"PK\x03\x04junk")
        zf.writestr("台账.xlsx", ledger)
        zf.writestr("子目录/", b"")
    (tmp_path / "a.zip").write_bytes(out.getvalue().replace(b"#evil", b"\x00evil"))   # zipfile will not write it
    by_path = {d.path: d for d in scan_inbox(tmp_path)}
    assert set(by_path) == {"a.zip", "a.zip/_evil.xlsx", "a.zip/台账.xlsx"}
    assert by_path["a.zip/台账.xlsx"].data == ledger
    for doc in by_path.values():
        assert "Error:" not in doc.note and "IndexError" not in doc.note


def test_unicode_path_field_with_a_local_name_that_differs(tmp_path):
    """libarchive's test_read_format_zip_7075_utf8_paths layout (Info-ZIP on a non-UTF-8
    system): the central directory holds cp437 bytes and the UTF-8 name in 0x7075, the local
    header an escaped name; zipfile refuses such members unless given the local name."""
    import struct
    import zlib

    data = b"hello\n"
    crc = zlib.crc32(data)
    entries, central = b"", b""
    names = [("File ö.txt", "File #U00f6.txt")]
    for shown, local in names:
        legacy = shown.encode("cp437")
        utf8 = shown.encode()
        extra = struct.pack("<HHBI", 0x7075, 5 + len(utf8), 1, zlib.crc32(legacy)) + utf8
        offset = len(entries)
        entries += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 0, 0, 0, crc, len(data), len(data),
                               len(local), 0) + local.encode() + data
        central += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, crc, len(data), len(data),
                               len(legacy), len(extra), 0, 0, 0, 0, offset) + legacy + extra
    eocd = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(names), len(names), len(central), len(entries), 0)
    (tmp_path / "a.zip").write_bytes(entries + central + eocd)
    by_path = {d.path: d for d in scan_inbox(tmp_path)}
    assert by_path["a.zip/File ö.txt"].data == data


@pytest.mark.skipif(not shutil.which("zip"), reason="Info-ZIP zip 未安装")
def test_info_zip_archives(tmp_path, ledger):
    """Info-ZIP on Linux stores the names' bytes as they are on disk (UTF-8, or GBK from a
    Windows USB stick), without the UTF-8 flag."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "整顿台账（定稿）.xlsx").write_bytes(ledger)
    (src / "ciële.txt").write_bytes(b"x")
    gbk_name = os.fsencode(str(src)) + b"/" + "机关党委台账.xlsx".encode("gbk")
    with open(gbk_name, "wb") as f:
        f.write(ledger)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    subprocess.run([b"zip", b"-q", os.fsencode(str(inbox / "a.zip")), *sorted(os.listdir(os.fsencode(str(src))))],
                   cwd=src, check=True, env={**os.environ, "LC_ALL": "C.UTF-8"})
    by_path = {d.path: d for d in scan_inbox(inbox)}
    assert set(by_path) == {"a.zip", "a.zip/整顿台账（定稿）.xlsx", "a.zip/ciële.txt", "a.zip/机关党委台账.xlsx"}
    assert by_path["a.zip/机关党委台账.xlsx"].data == ledger


def test_windows_gbk_zip_names_in_every_layout(tmp_path, ledger):
    """Windows' compressed folders: names in the ANSI code page (GBK) without the UTF-8 flag,
    folders as entries of their own; Taiwanese Windows writes Big5."""
    (tmp_path / "gbk.zip").write_bytes(samples.gbk_zip({"报送材料/": b"", "报送材料/整顿台账_机关党委.xlsx": ledger,
                                                         "报送材料/镕基说明.txt": b"x"}))

    class Big5Info(zipfile.ZipInfo):
        def _encodeFilenameFlags(self):  # noqa: N802
            return self.filename.encode("big5"), self.flag_bits & ~0x800

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr(Big5Info("臺賬報表.xlsx"), ledger)
    (tmp_path / "big5.zip").write_bytes(out.getvalue())
    paths = {d.path for d in scan_inbox(tmp_path)}
    assert {"gbk.zip/报送材料/整顿台账_机关党委.xlsx", "gbk.zip/报送材料/镕基说明.txt", "big5.zip/臺賬報表.xlsx"} <= paths


# --------------------------------------------------------------------------- mail header names

def part(disposition: bytes, ctype: bytes = b"application/octet-stream", data: bytes = b"x") -> bytes:
    return (b"Content-Type: " + ctype + b"\r\nContent-Disposition: attachment; " + disposition
            + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(data))


NAMES = {
    # RFC 2231 continuation cut inside a UTF-8 character
    b"filename*0*=utf-8''%E6%95%B4%E9; filename*1*=%A1%BF%E5%8F%B0%E8%B4%A6.xlsx": "整顿台账.xlsx",
    # both forms: filename* wins (RFC 6266)
    b'filename="=?GBK?B?' + base64.b64encode("旧名.xlsx".encode("gbk")) + b'?="; '
    b"filename*=UTF-8''%E6%96%B0%E5%90%8D.xlsx": "新名.xlsx",
    b'filename="=?iso-8859-1?Q?ci=EBle.pdf?="': "ciële.pdf",
    b"filename*=iso-8859-1''ci%EBle2.pdf": "ciële2.pdf",
    b'filename="' + "Отчёт.pdf".encode() + b'"': "Отчёт.pdf",
    b'filename="' + "臺賬報表.xlsx".encode("big5") + b'"': "臺賬報表.xlsx",
    b'filename="=?big5?B?' + base64.b64encode("自評報告.pdf".encode("big5")) + b'?="': "自評報告.pdf",
    b'filename="' + "整顿台账_机关党委.xlsx".encode("gbk") + b'"': "整顿台账_机关党委.xlsx",
    b"filename*=gb2312''" + b"".join(b"%%%02X" % c for c in "镕基台账.pdf".encode("gbk")): "镕基台账.pdf",
}


def test_every_attachment_name_decodes(tmp_path):
    head = (b"From: Unit <unit@example.edu.cn>\r\nDate: Thu, 12 Sep 2019 10:30:00 +0800\r\n"
            b"Subject: " + "臺灣大學報表".encode("big5") + b"\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n")
    parts = [part(raw) for raw in NAMES]
    parts.append(b"Content-Type: application/octet-stream; charset=koi8-r; name=\""
                 + "Отчёт2.pdf".encode("koi8-r") + b"\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                 + base64.encodebytes(b"x"))
    body = b"".join(b"--B\r\n" + p + b"\r\n" for p in parts) + b"--B--\r\n"
    (tmp_path / "m.eml").write_bytes(head + body)
    docs = scan_inbox(tmp_path)
    names = {d.path.split("/", 1)[1] for d in docs if d.parent}
    assert names == set(NAMES.values()) | {"Отчёт2.pdf"}
    assert docs[0].subject == "臺灣大學報表"
    for d in docs:
        assert decodes_cleanly(d.path) and decodes_cleanly(d.subject or ""), d.path


@pytest.mark.skipif(not shutil.which("mpack"), reason="mpack 未安装")
def test_mail_written_by_mpack(tmp_path, ledger):
    src = tmp_path / "整顿台账_机关党委.xlsx"
    src.write_bytes(ledger)
    out = tmp_path / "out.eml"
    subprocess.run(["mpack", "-s", "台账", "-o", str(out), str(src)], check=True, capture_output=True, timeout=60)
    raw = out.read_bytes()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "m.eml").write_bytes(b"From: unit@example.edu.cn\r\nDate: Thu, 12 Sep 2019 10:30:00 +0800\r\n" + raw)
    by_path = {d.path: d for d in scan_inbox(inbox)}
    assert by_path["m.eml/整顿台账_机关党委.xlsx"].data == ledger


# --------------------------------------------------------------------------- not workbooks

def test_non_workbooks_are_ignored_and_spreadsheet_looking_failures_are_errors(tmp_path, campaign, ledger):
    members = {"录音.mp3": MP3, "语音.amr": AMR, "照片.png": PNG, "说明.txt": "见附件".encode("gbk"),
               "数据.bin": os.urandom(300), "空白.docx": b"", "页面.html": b"<html><body>hi</body></html>",
               "台账.xlsx": ledger, "坏表.xlsx": b"PK\x03\x04broken", "空表.xls": b""}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "材料.zip").write_bytes(out.getvalue())
    eml = samples.email_with_attachments("someone@example.com", "dwzzb@example.edu.cn", "材料", dt.datetime(2019, 9, 12, 9),
                                         "见附件", [(n, d) for n, d in members.items() if n != "台账.xlsx"])
    (inbox / "材料.eml").write_bytes(eml)
    result = collect_unchanged(inbox, campaign)
    outcome = dict(zip(result.files["文件"], result.files["处理结果"]))
    errors = set(result.findings.loc[result.findings["级别"] == "错误", "文件"])
    for box in ("材料.zip", "材料.eml"):
        for name in ("录音.mp3", "语音.amr", "照片.png", "说明.txt", "数据.bin", "空白.docx", "页面.html"):
            assert outcome[f"{box}/{name}"] == "已忽略", (box, name)
            assert f"{box}/{name}" not in errors
        for name in ("坏表.xlsx", "空表.xls"):
            assert outcome[f"{box}/{name}"] == "无法读取" and f"{box}/{name}" in errors
    notes = dict(zip(result.files["文件"], result.files["说明"]))
    assert "音频" in notes["材料.zip/录音.mp3"] and "音频" in notes["材料.eml/语音.amr"]


# --------------------------------------------------------------------------- forwards

def forwarded(levels: int, ledger: bytes) -> bytes:
    inner = samples.email_with_attachments("unit@example.edu.cn", "a@example.edu.cn", "台账", dt.datetime(2019, 9, 10, 9),
                                           "见附件", [("台账.xlsx", ledger)])
    for level in range(levels):
        outer = (b"From: fw%d@example.edu.cn\r\nDate: Wed, 11 Sep 2019 09:00:00 +0800\r\nSubject: FW\r\n"
                 b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"L%d\"\r\n\r\n--L%d\r\n"
                 b"Content-Type: message/rfc822\r\n\r\n" % (level, level, level))
        inner = outer + inner + b"\r\n--L%d--\r\n" % level
    return inner


def test_forward_of_forward_of_forward_is_opened(tmp_path, ledger):
    (tmp_path / "fw.eml").write_bytes(forwarded(5, ledger))
    books = [d for d in scan_inbox(tmp_path) if d.path.endswith("台账.xlsx")]
    assert len(books) == 1 and books[0].kind == "ledger" and books[0].data == ledger
    assert books[0].path.count(".eml/") == 6


def test_forwards_deeper_than_the_limit_stop_with_a_note(tmp_path, ledger):
    from ledgerbook.inbox import limits

    (tmp_path / "fw.eml").write_bytes(forwarded(limits.MAX_MESSAGE_DEPTH + 2, ledger))
    docs = scan_inbox(tmp_path)
    assert not any(d.path.endswith("台账.xlsx") for d in docs)
    [stop] = [d for d in docs if d.kind == "unreadable"]
    assert f"超过 {limits.MAX_MESSAGE_DEPTH} 层" in stop.note and stop.path.count("/") == limits.MAX_MESSAGE_DEPTH


# --------------------------------------------------------------------------- received time

def test_a_plain_copy_of_the_demo_inbox_changes_nothing(tmp_path, campaign):
    """Copying files (or saving attachments) resets their times: units must not turn late and
    drafts must not win over finals because of it."""
    from ledgerbook.demo.rounds import build_first_round

    inbox = tmp_path / "inbox"
    build_first_round(campaign, inbox, use_soffice=False)
    copied = tmp_path / "copied"
    copied.mkdir()
    for path in sorted(inbox.iterdir()):
        shutil.copyfile(path, copied / path.name)     # new modification times: "now"
        touch(copied / path.name, MTIME)               # made deterministic: 2019-10-30, after every due date
    before, after = collect(inbox, campaign), collect(copied, campaign)
    assert list(before.submissions["状态"]) == list(after.submissions["状态"])
    sha = dict(zip(after.files["文件"], after.files["SHA-256"]))
    for was, now in zip(before.submissions["文件"], after.submissions["文件"]):
        assert was == now or sha[was] == sha[now], (was, now)   # byte-identical copies are interchangeable
    assert set(after.submissions.loc[after.submissions["逾期"] == "是", "单位"]) <= \
        set(before.submissions.loc[before.submissions["逾期"] == "是", "单位"])
    # Only files that record no save time of their own (unreadable ones) fall back to the
    # copy's time, and that gives a hint (可能), never a warning.
    basis = dict(zip(after.files["文件"], after.files["时间依据"]))
    was_maybe = set(before.submissions.loc[before.submissions["逾期"] == "可能", "单位"])
    maybe = after.submissions[after.submissions["逾期"] == "可能"]
    for unit, path in zip(maybe["单位"], maybe["文件"]):
        assert unit in was_maybe or basis[path] == "文件修改时间", (unit, path, basis[path])
    assert set(after.findings.loc[after.findings["代码"] == "file.late", "单位"]) <= \
        set(before.findings.loc[before.findings["代码"] == "file.late", "单位"])


def test_demo_workbooks_carry_their_own_save_times(tmp_path, campaign):
    from ledgerbook.demo.rounds import build_first_round

    inbox = tmp_path / "inbox"
    build_first_round(campaign, inbox, use_soffice=False)
    docs = [d for d in scan_inbox(inbox) if d.kind == "ledger"]
    assert all(d.saved for d in docs), [d.path for d in docs if d.saved is None]
    for d in docs:
        # Saved by the unit some minutes before it reached the inbox (or the e-mail was sent).
        assert dt.timedelta(0) < d.received - d.saved < dt.timedelta(hours=3), (d.path, d.saved, d.received)
    assert len({d.saved for d in docs}) > len(docs) // 2
    saved = {d.path: d.saved for d in docs}
    names = campaign.unit_names
    assert saved[f"整顿台账_{names[2]}（初稿）.xlsx"] < saved[f"整顿台账_{names[2]}.xlsx"]
