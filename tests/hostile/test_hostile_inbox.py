"""Hostile inboxes: zip bombs, deep nesting, path traversal, broken MIME, odd names, links.

Every case must end as rows with a clear note, each file/member exactly once, without an
exception, in bounded memory and time.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import os
import struct
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from ledgerbook.inbox import limits as inbox_limits
from ledgerbook.inbox import scan as inbox_scan
from ledgerbook.text import OFFICE_TZ
from ledgerbook.inbox import scan_inbox

MB = 1024 * 1024
MTIME = dt.datetime(2019, 9, 10, 8, 0, tzinfo=OFFICE_TZ).timestamp()
MTIME_LOCAL = dt.datetime(2019, 9, 10, 8, 0)
PDF = b"%PDF-1.4\n%%EOF\n"
# A tiny but real OOXML workbook shape: enough for sniffing as xlsx.
XLSX_PARTS = {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"}


def xlsx_bytes() -> bytes:
    return zip_bytes(XLSX_PARTS.items())


def zip_bytes(entries, method=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return out.getvalue()


def zeros_zip(name: str, total: int) -> bytes:
    """A member of ``total`` zero bytes, streamed through ZipFile.open(mode='w') (no big buffer)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        info = zipfile.ZipInfo(name, date_time=(2019, 9, 9, 8, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w") as f:
            chunk = bytes(MB)
            for _ in range(total // MB):
                f.write(chunk)
    return out.getvalue()


def patch_first_member(data: bytes, *, size: int | None = None, flags: int | None = None,
                       method: int | None = None) -> bytes:
    """Rewrite fields of the first member in its local header and central directory entry.

    zipfile itself will not write a lying size, a fake encryption flag or an unsupported method.
    """
    raw = bytearray(data)
    eocd = raw.rfind(b"PK\x05\x06")
    (central,) = struct.unpack_from("<I", raw, eocd + 16)
    assert raw[:4] == b"PK\x03\x04" and raw[central:central + 4] == b"PK\x01\x02"
    for fmt, local_offset, central_offset, value in (("<I", 22, 24, size), ("<H", 6, 8, flags),
                                                     ("<H", 8, 10, method)):
        if value is not None:
            struct.pack_into(fmt, raw, local_offset, value)
            struct.pack_into(fmt, raw, central + central_offset, value)
    return bytes(raw)


def set_declared_size(data: bytes, size: int) -> bytes:
    """A lying header: the uncompressed size rewritten."""
    return patch_first_member(data, size=size)


def write(root: Path, rel: str, data: bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (MTIME, MTIME))
    return path


def scan(root: Path) -> dict:
    docs = scan_inbox(root)
    paths = [d.path for d in docs]
    assert len(paths) == len(set(paths)), "a path is listed twice"
    assert paths == sorted(paths)
    return {d.path: d for d in docs}


# --- zip bombs and archive limits ------------------------------------------------------------

def test_zip_bombs_rejected_in_bounded_memory_and_time(tmp_path):
    big = zeros_zip("zeros.xlsx", 80 * MB)                      # honest: 80 MB of zeros
    assert len(big) < 100 * 1024
    write(tmp_path, "bomb_size.zip", big)
    write(tmp_path, "bomb_ratio.zip", zeros_zip("zeros.xlsx", 8 * MB))   # under the size cap
    tiny = zeros_zip("zeros.xlsx", 4 * MB)
    write(tmp_path, "bomb_declared.zip", set_declared_size(tiny, 1200 * MB))   # few KB, says 1.2 GB
    assert len(tiny) < 10 * 1024
    # Header says 2 MB (ratio looks harmless) but the data inflates to 64 MB: the read must stop.
    write(tmp_path, "bomb_lying.zip", set_declared_size(zeros_zip("zeros.xlsx", 64 * MB), 2 * MB))

    tracemalloc.start()
    started = time.perf_counter()
    try:
        by_path = scan(tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - started
    assert peak < 100 * MB, f"peak {peak / MB:.0f} MB"
    assert elapsed < 10, f"{elapsed:.1f} s"

    assert len(by_path) == 8
    for name in ("bomb_size.zip", "bomb_ratio.zip", "bomb_declared.zip", "bomb_lying.zip"):
        assert (by_path[name].kind, by_path[name].note) == ("container", "压缩包，内含 1 个文件")
        member = by_path[f"{name}/zeros.xlsx"]
        assert member.kind == "unreadable" and member.data is None and member.sha256 == ""
    assert "超过 50 MB" in by_path["bomb_size.zip/zeros.xlsx"].note
    assert "压缩比异常" in by_path["bomb_ratio.zip/zeros.xlsx"].note
    assert "1200 MB" in by_path["bomb_declared.zip/zeros.xlsx"].note
    assert "损坏" in by_path["bomb_lying.zip/zeros.xlsx"].note


def test_nesting_deeper_than_three_is_not_opened(tmp_path):
    data = xlsx_bytes()
    name = "台账.xlsx"
    for level in range(5, 0, -1):
        data, name = zip_bytes([(name, data)]), f"l{level}.zip"
    write(tmp_path, "l1.zip", data)
    by_path = scan(tmp_path)
    assert {p: d.kind for p, d in by_path.items()} == {
        "l1.zip": "container",
        "l1.zip/l2.zip": "container",
        "l1.zip/l2.zip/l3.zip": "container",
        "l1.zip/l2.zip/l3.zip/l4.zip": "unreadable",
    }
    assert "嵌套超过 3 层" in by_path["l1.zip/l2.zip/l3.zip/l4.zip"].note


def test_three_thousand_members_listed_up_to_the_cap(tmp_path):
    write(tmp_path, "many.zip", zip_bytes((f"f{i:04d}.txt", b"x") for i in range(3000)))
    started = time.perf_counter()
    by_path = scan(tmp_path)
    assert time.perf_counter() - started < 5
    assert len(by_path) == 1 + 2000 + 1
    assert "3000 个文件" in by_path["many.zip"].note and "1000 个未列出" in by_path["many.zip"].note
    [skipped] = [d for p, d in by_path.items() if "未列出" in p]
    assert skipped.kind == "unreadable" and "1000" in skipped.note
    assert "many.zip/f1999.txt" in by_path and "many.zip/f2000.txt" not in by_path


def test_member_cap_counts_nested_archives_too(tmp_path, monkeypatch):
    monkeypatch.setattr(inbox_limits, "MAX_MEMBERS", 5)
    inner = zip_bytes((f"in{i}.txt", b"x") for i in range(10))
    write(tmp_path, "outer.zip", zip_bytes([("a.txt", b"x"), ("inner.zip", inner)]))
    by_path = scan(tmp_path)
    members = [p for p in by_path if p.startswith("outer.zip/") and "未列出" not in p]
    assert len(members) == 5
    assert any("其余 7 个成员未列出" in p for p in by_path)


def test_declared_entry_count_too_large_not_opened(tmp_path):
    raw = bytearray(zip_bytes([("a.txt", b"x")]))
    eocd = raw.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", raw, eocd + 8, 60000, 60000)
    write(tmp_path, "huge_dir.zip", bytes(raw))
    [doc] = scan(tmp_path).values()
    assert doc.kind == "unreadable" and "文件数过多" in doc.note


def test_dangerous_member_paths_neutralised(tmp_path):
    entries = [("../../evil.xlsx", xlsx_bytes()), ("/etc/passwd", b"root:x:0:0"),
               ("C:\\Windows\\system.ini", b"[boot]"), ("ok/../../up.pdf", PDF),
               ("..\\..\\win.txt", b"x")]
    write(tmp_path, "inbox/evil.zip", zip_bytes(entries))
    by_path = scan(tmp_path / "inbox")
    assert set(by_path) == {"evil.zip", "evil.zip/evil.xlsx", "evil.zip/etc/passwd",
                            "evil.zip/Windows/system.ini", "evil.zip/ok/up.pdf", "evil.zip/win.txt"}
    for path, doc in by_path.items():
        if path != "evil.zip":
            assert "成员路径含 ../ 或绝对路径，已按普通名称处理" in doc.note, path
    assert by_path["evil.zip/evil.xlsx"].format == "xlsx"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inbox"]   # nothing extracted anywhere


def test_encrypted_member(tmp_path):
    # Bit 0 of the flags is what a password-protected member carries.
    write(tmp_path, "locked.zip",
          patch_first_member(zip_bytes([("加密.xlsx", xlsx_bytes()), ("open.pdf", PDF)]), flags=0x1))
    by_path = scan(tmp_path)
    locked = by_path["locked.zip/加密.xlsx"]
    assert locked.kind == "unreadable" and "压缩包成员已加密" in locked.note
    assert by_path["locked.zip/open.pdf"].kind == "report"


def test_corrupt_and_truncated_zips(tmp_path):
    good = zip_bytes([("a.pdf", PDF * 200), ("b.txt", b"hello" * 100)])
    write(tmp_path, "truncated.zip", good[: len(good) // 2])
    broken = bytearray(good)
    start = broken.find(b"a.pdf") + len("a.pdf")
    broken[start:start + 20] = b"\xff" * 20                  # damage a's compressed data
    write(tmp_path, "damaged.zip", bytes(broken))
    write(tmp_path, "truncated.xlsx", xlsx_bytes()[:60])
    by_path = scan(tmp_path)
    assert set(by_path) == {"truncated.zip", "damaged.zip", "damaged.zip/a.pdf",
                            "damaged.zip/b.txt", "truncated.xlsx"}
    assert by_path["truncated.zip"].kind == "unreadable" and "损坏" in by_path["truncated.zip"].note
    assert by_path["damaged.zip/a.pdf"].kind == "unreadable"
    assert "损坏" in by_path["damaged.zip/a.pdf"].note
    assert by_path["damaged.zip/b.txt"].kind == "ignored"
    assert (by_path["truncated.xlsx"].kind, by_path["truncated.xlsx"].format) == ("unreadable", "xlsx")


def test_unsupported_compression_and_duplicates(tmp_path):
    with pytest.warns(UserWarning, match="Duplicate name"):
        raw = zip_bytes([("a.xlsx", xlsx_bytes()), ("a.xlsx", xlsx_bytes())])
    write(tmp_path, "odd.zip", patch_first_member(raw, method=9))   # deflate64: Windows' big zips
    by_path = scan(tmp_path)
    assert set(by_path) == {"odd.zip", "odd.zip/a.xlsx", "odd.zip/a (2).xlsx"}
    assert "压缩方式不受支持" in by_path["odd.zip/a.xlsx"].note
    assert by_path["odd.zip/a (2).xlsx"].kind == "ledger"


def test_files_too_big_to_read_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(inbox_limits, "MAX_PLAIN_READ", 1 * MB)
    report = PDF + bytes(2 * MB)
    write(tmp_path, "big.pdf", report)
    write(tmp_path, "big.zip", zip_bytes([("a.bin", os.urandom(2 * MB))], zipfile.ZIP_STORED))
    by_path = scan(tmp_path)
    assert by_path["big.pdf"].kind == "report" and by_path["big.pdf"].size == len(report)
    assert by_path["big.pdf"].sha256 == hashlib.sha256(report).hexdigest()
    assert by_path["big.zip"].kind == "unreadable" and "文件过大" in by_path["big.zip"].note
    assert set(by_path) == {"big.pdf", "big.zip"}


# --- e-mail --------------------------------------------------------------------------------

HEAD = (b"From: Unit <unit@example.edu.cn>\r\nDate: Thu, 12 Sep 2019 10:30:00 +0000\r\n"
        b"MIME-Version: 1.0\r\n")


def attachment(name: bytes, data: bytes, ctype: bytes = b"application/octet-stream") -> bytes:
    return (b"Content-Type: " + ctype + b"\r\nContent-Disposition: attachment; filename=\"" + name
            + b"\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(data))


def multipart(head: bytes, parts: list[bytes], close: bool = True) -> bytes:
    body = b"".join(b"--B\r\n" + p + b"\r\n" for p in parts)
    return (head + b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n' + body
            + (b"--B--\r\n" if close else b""))


def test_broken_mime_never_raises(tmp_path):
    write(tmp_path, "unclosed.eml", multipart(HEAD, [attachment(b"a.pdf", PDF)], close=False))
    write(tmp_path, "no_boundary.eml",
          HEAD + b"Content-Type: multipart/mixed\r\n\r\n--X\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n")
    write(tmp_path, "bad_base64.eml", multipart(HEAD, [
        b'Content-Type: application/pdf\r\nContent-Disposition: attachment; filename="b.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK!!!@@@***"]))
    write(tmp_path, "junk.eml", bytes(range(256)) * 40)
    write(tmp_path, "bad_params.eml", multipart(HEAD, [
        b"Content-Type: application/octet-stream; name*0*=zz''%ZZ; name*1=\"q\r\n"
        b"Content-Disposition: attachment; filename*=bogus''%D5%FB%B6%D9.pdf\r\n\r\n%PDF-1.4",
        b'Content-Type: ;;;\r\nContent-Disposition: attachment; filename="=?utf-8?B?!!!?="\r\n\r\nabc']))
    deep = [HEAD]
    for i in range(200):  # far deeper than any mailer nests
        deep.append(b'Content-Type: multipart/mixed; boundary="D%d"\r\n\r\n--D%d\r\n' % (i, i))
    deep.append(attachment(b"deep.pdf", PDF, b"application/pdf"))
    deep.extend(b"--D%d--\r\n" % i for i in reversed(range(200)))
    write(tmp_path, "deep.eml", b"".join(deep))
    by_path = scan(tmp_path)
    for name in ("unclosed.eml", "no_boundary.eml", "bad_base64.eml", "junk.eml",
                 "bad_params.eml", "deep.eml"):
        assert by_path[name].kind == "container" and by_path[name].format == "eml", name
    assert by_path["unclosed.eml/a.pdf"].kind == "report"
    assert "结束边界" in by_path["unclosed.eml"].note
    assert "边界" in by_path["no_boundary.eml"].note
    assert "Base64" in by_path["bad_base64.eml"].note
    assert "嵌套超过" in by_path["deep.eml"].note
    assert "bad_params.eml/整顿.pdf" in by_path          # bogus charset: decoded as GBK anyway
    assert "bad_params.eml/附件2.txt" in by_path


@pytest.mark.parametrize("date", [None, b"garbage", b"Thu, 99 Sep 2019 99:99:99 +0000",
                                  b"Mon, 01 Jan 1900 00:00:00 +0000"])
def test_missing_or_garbage_date_falls_back_to_mtime(tmp_path, date):
    head = b"From: unit@example.edu.cn\r\nMIME-Version: 1.0\r\n"
    if date is not None:
        head += b"Date: " + date + b"\r\n"
    write(tmp_path, "m.eml", multipart(head, [attachment(b"a.pdf", PDF)]))
    by_path = scan(tmp_path)
    assert by_path["m.eml"].received == MTIME_LOCAL
    assert "邮件日期缺失或无法识别，按文件修改时间计" in by_path["m.eml"].note
    assert by_path["m.eml/a.pdf"].received == MTIME_LOCAL


def test_date_without_zone_is_utc_and_nested_mail_without_date_uses_outer(tmp_path):
    inner = b"From: b@example.edu.cn\r\nMIME-Version: 1.0\r\n" + b"Content-Type: application/pdf\r\n\r\n%PDF-1.4"
    outer = multipart(b"From: a@example.edu.cn\r\nDate: Thu, 12 Sep 2019 10:30:00 -0000\r\nMIME-Version: 1.0\r\n",
                      [b"Content-Type: message/rfc822\r\n\r\n" + inner])
    write(tmp_path, "m.eml", outer)
    by_path = scan(tmp_path)
    assert by_path["m.eml"].received == dt.datetime(2019, 9, 12, 18, 30)
    nested = by_path["m.eml/附件1.eml"]
    assert nested.received == dt.datetime(2019, 9, 12, 18, 30) and "按外层邮件日期计" in nested.note
    assert by_path["m.eml/附件1.eml/附件1.pdf"].sender == "b@example.edu.cn"


def test_huge_attachment_and_member(tmp_path, monkeypatch):
    monkeypatch.setattr(inbox_limits, "MAX_MEMBER_SIZE", 1 * MB)
    big = os.urandom(2 * MB)
    write(tmp_path, "big.eml", multipart(HEAD, [attachment(b"big.pdf", big), attachment(b"ok.pdf", PDF)]))
    write(tmp_path, "big.zip", zip_bytes([("big.pdf", big), ("ok.pdf", PDF)], zipfile.ZIP_STORED))
    by_path = scan(tmp_path)
    assert by_path["big.eml/big.pdf"].kind == "unreadable" and "附件过大" in by_path["big.eml/big.pdf"].note
    assert by_path["big.zip/big.pdf"].kind == "unreadable" and "超过 1 MB" in by_path["big.zip/big.pdf"].note
    assert by_path["big.eml/ok.pdf"].kind == by_path["big.zip/ok.pdf"].kind == "report"
    assert by_path["big.eml/big.pdf"].data is None


def test_scan_wide_memory_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(inbox_limits, "MAX_KEPT_TOTAL", 3000)
    write(tmp_path, "a.zip", zip_bytes((f"{i}.pdf", PDF + bytes(1000)) for i in range(5)))
    by_path = scan(tmp_path)
    kept = [d for p, d in by_path.items() if p != "a.zip" and d.data is not None]
    dropped = [d for p, d in by_path.items() if p != "a.zip" and d.data is None]
    assert len(kept) == 2 and len(dropped) == 3
    assert all(d.kind == "unreadable" and "总量超过" in d.note for d in dropped)


def test_attachment_names_with_folders_and_duplicates(tmp_path):
    write(tmp_path, "m.eml", multipart(HEAD, [
        attachment("C:\\Users\\张三\\台账.xlsx".encode("gbk"), xlsx_bytes()),
        attachment("台账.xlsx".encode(), xlsx_bytes()),
        attachment(b"=?gb2312?B?" + base64.b64encode("镕基台账.xlsx".encode("gbk")) + b"?=", xlsx_bytes()),
        attachment(b"=?GBK?B?" + base64.b64encode("整顿台".encode("gbk")[:5]) + b"?= =?GBK?B?"
                   + base64.b64encode("整顿台".encode("gbk")[5:] + "账.xlsx".encode("gbk")) + b"?=",
                   xlsx_bytes()),
        attachment(b"a" * 1000 + b".xlsx", xlsx_bytes()),
    ]))
    by_path = scan(tmp_path)
    names = sorted(p.split("/", 1)[1] for p in by_path if p != "m.eml")
    [long] = [n for n in names if n.startswith("aaa")]
    assert long.endswith("….xlsx") and len(long) <= 200
    assert names == sorted(["台账.xlsx", "台账 (2).xlsx", "镕基台账.xlsx", "整顿台账.xlsx", long])
    assert all(d.kind in ("ledger", "container") for d in by_path.values())


# --- the file system -----------------------------------------------------------------------

def test_symlinks_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.xlsx").write_bytes(xlsx_bytes())
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "link.xlsx").symlink_to(outside / "secret.xlsx")
    (inbox / "linkdir").symlink_to(outside, target_is_directory=True)
    (inbox / "dangling.xlsx").symlink_to(tmp_path / "missing.xlsx")
    by_path = scan(inbox)
    assert set(by_path) == {"link.xlsx", "linkdir", "dangling.xlsx"}
    for doc in by_path.values():
        assert (doc.kind, doc.note, doc.sha256) == ("ignored", "符号链接，未跟随", "")
        assert doc.read_bytes() == b""


def test_unreadable_file_permissions(tmp_path):
    path = write(tmp_path, "locked.xlsx", xlsx_bytes())
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root: chmod does not stop reading")
        [doc] = scan(tmp_path).values()
    finally:
        path.chmod(0o644)
    assert (doc.kind, doc.sha256, doc.size) == ("unreadable", "", path.stat().st_size)
    assert "没有读取权限" in doc.note


def test_unopenable_file_reported_even_as_root(tmp_path, monkeypatch):
    write(tmp_path, "locked.xlsx", xlsx_bytes())
    write(tmp_path, "fine.pdf", PDF)
    real_open = inbox_scan._open_readonly

    def deny(fs_path):
        if fs_path.endswith("locked.xlsx"):
            raise PermissionError(13, "Permission denied", fs_path)
        return real_open(fs_path)

    monkeypatch.setattr(inbox_scan, "_open_readonly", deny)
    by_path = scan(tmp_path)
    locked = by_path["locked.xlsx"]
    assert (locked.kind, locked.sha256, locked.size) == ("unreadable", "", len(xlsx_bytes()))
    assert "没有读取权限" in locked.note and locked.received == MTIME_LOCAL
    assert by_path["fine.pdf"].kind == "report"


def test_exception_while_handling_a_file_becomes_its_row(tmp_path, monkeypatch):
    write(tmp_path, "boom.xlsx", xlsx_bytes())
    write(tmp_path, "fine.pdf", PDF)
    real_sniff = inbox_scan.sniff_data

    def sniff(path, data):
        if path == "boom.xlsx":
            raise RuntimeError("simulated")
        return real_sniff(path, data)

    monkeypatch.setattr(inbox_scan, "sniff_data", sniff)
    by_path = scan(tmp_path)
    assert by_path["boom.xlsx"].kind == "unreadable" and "RuntimeError" in by_path["boom.xlsx"].note
    assert by_path["fine.pdf"].kind == "report"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_is_listed_not_opened(tmp_path):
    os.mkfifo(tmp_path / "pipe.xlsx")
    [doc] = scan(tmp_path).values()   # opening a FIFO would block forever
    assert doc.kind == "ignored" and "不是普通文件" in doc.note


@pytest.mark.skipif(sys.platform != "linux", reason="raw-byte file names are a Linux thing")
def test_odd_file_names(tmp_path):
    names = ["📊台账.xlsx", "ctrl\x01\x1b.xlsx", "a" * 240 + ".xlsx", "  空格 .pdf", "%20&;'\".xlsx"]
    for name in names:
        write(tmp_path, name, xlsx_bytes() if name.endswith("xlsx") else PDF)
    gbk_name = os.fsencode(str(tmp_path)) + b"/" + "整顿台账.xlsx".encode("gbk")
    with open(gbk_name, "wb") as f:
        f.write(xlsx_bytes())
    by_path = scan(tmp_path)
    assert len(by_path) == len(names) + 1
    assert "📊台账.xlsx" in by_path and "整顿台账.xlsx" in by_path
    assert "ctrl__.xlsx" in by_path                     # control characters made visible
    assert any(p.endswith("….xlsx") and len(p) <= 200 for p in by_path)
    gbk_doc = by_path["整顿台账.xlsx"]
    assert gbk_doc.kind == "ledger" and gbk_doc.read_bytes() == xlsx_bytes()
    for doc in by_path.values():
        doc.path.encode("utf-8")                          # no lone surrogates reach a workbook
        assert doc.read_bytes()


def test_unreadable_subfolder_listed(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    write(tmp_path, "sub/a.pdf", PDF)
    sub.chmod(0)
    try:
        if os.access(sub, os.R_OK):
            pytest.skip("running as root: chmod does not stop listing")
        by_path = scan(tmp_path)
    finally:
        sub.chmod(0o755)
    assert by_path["sub"].kind == "unreadable" and by_path["sub"].format == "folder"
