"""Inbox scanning: one inbox holding one of everything a department finds in its folder."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import os
import shutil
import stat
import urllib.parse
import zipfile
from pathlib import Path

import pytest
import xlsxwriter

from ledgerbook.errors import InboxError
from ledgerbook.inbox import Document, scan_inbox
from ledgerbook.text import OFFICE_TZ
from peer_files import PEER_FILES, peer_file


# File times are set to this instant so received times are predictable (2019-09-10 08:00 +08:00).
MTIME = dt.datetime(2019, 9, 10, 8, 0, tzinfo=OFFICE_TZ).timestamp()
MTIME_LOCAL = dt.datetime(2019, 9, 10, 8, 0)
OUTER_DATE = dt.datetime(2019, 9, 12, 18, 30)   # 'Thu, 12 Sep 2019 10:30:00 +0000' in +08:00
INNER_DATE = dt.datetime(2019, 9, 11, 9, 0)     # 'Wed, 11 Sep 2019 09:00:00 +0800'

MINIMAL_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
               b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
       b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
       b"\x00\x00IEND\xaeB`\x82")
WINMAIL = b"\x78\x9f\x3e\x22\x01\x00\x01\x06\x90\x08\x00\x04\x00\x00\x00\x00\x00\x01\x00"


# --- fixture builders --------------------------------------------------------------------

def xlsx_bytes(unit: str = "机关党委") -> bytes:
    """A small real .xlsx (xlsxwriter, in memory)."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    wb.set_properties({"created": dt.datetime(2019, 9, 10, 8, 0)})  # same bytes on every call
    ws = wb.add_worksheet("整顿台账")
    ws.write("A1", "填报单位")
    ws.write("B1", unit)
    wb.close()
    return buf.getvalue()


def xlsm_bytes() -> bytes:
    """An .xlsm: an .xlsx with a VBA project part and the macro-enabled content type."""
    src = zipfile.ZipFile(io.BytesIO(xlsx_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(
                    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
            zf.writestr(info.filename, data)
        zf.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 not a real VBA project")
    return out.getvalue()


def docx_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        zf.writestr("word/document.xml", '<?xml version="1.0"?><w:document/>')
    return out.getvalue()


class GbkZipInfo(zipfile.ZipInfo):
    """Writes the name's raw bytes without the UTF-8 flag, as Windows' zip tools do.

    zipfile would otherwise encode a non-ASCII name as UTF-8 and set flag 0x800.
    """

    def _encodeFilenameFlags(self):  # noqa: N802 - overrides zipfile's private hook
        return self.filename.encode("cp437"), self.flag_bits & ~0x800


def gbk_zip(entries: list[tuple[str, bytes | None]]) -> bytes:
    """A zip whose member names are GBK bytes without the UTF-8 flag; ``None`` data = folder."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            info = GbkZipInfo(name.encode("gbk").decode("cp437"), date_time=(2019, 9, 9, 8, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            if data is None:
                info.external_attr = 0o40755 << 16 | 0x10
            zf.writestr(info, data or b"")
    return out.getvalue()


def b64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def gbk_word(text: str) -> bytes:
    """An RFC 2047 encoded word in GBK."""
    return b"=?GBK?B?" + base64.b64encode(text.encode("gbk")) + b"?="


def eml_bytes() -> bytes:
    """A saved reply: multipart/mixed with an RFC 2231 name, an RFC 2047 GBK name, a nameless
    PDF, a zip, and a forwarded e-mail (message/rfc822) carrying its own attachment whose
    name is raw GBK bytes."""
    inner = b"\r\n".join([
        b"From: Unit Two <Unit2@Example.EDU.cn>",
        b"To: jgdw@example.edu.cn",
        b"Subject: " + gbk_word("文学院台账"),
        b"Date: Wed, 11 Sep 2019 09:00:00 +0800",
        b"MIME-Version: 1.0",
        b'Content-Type: multipart/mixed; boundary="INNER"',
        b"",
        b"--INNER",
        b"Content-Type: text/plain; charset=utf-8",
        b"",
        "请查收".encode(),
        b"--INNER",
        b"Content-Type: application/octet-stream",
        b'Content-Disposition: attachment; filename="' + "台账_文学院党委.xlsx".encode("gbk") + b'"',
        b"Content-Transfer-Encoding: base64",
        b"",
        b64(xlsx_bytes("文学院党委")),
        b"--INNER--",
        b"",
    ])
    rfc2231 = urllib.parse.quote("整顿台账_机关党委.xlsx")
    outer = b"\r\n".join([
        b"From: " + gbk_word("机关党委") + b" <JGDW@Example.EDU.cn>",
        b"To: zzb@example.edu.cn",
        b"Subject: " + gbk_word("回复：整顿台账"),
        b"Date: Thu, 12 Sep 2019 10:30:00 +0000",
        b"MIME-Version: 1.0",
        b'Content-Type: multipart/mixed; boundary="OUTER"',
        b"",
        b"This is a multi-part message in MIME format.",
        b"--OUTER",
        b'Content-Type: multipart/alternative; boundary="ALT"',
        b"",
        b"--ALT",
        b"Content-Type: text/plain; charset=GBK",
        b"",
        "附件是我单位的台账".encode("gbk"),
        b"--ALT",
        b"Content-Type: text/html; charset=GBK",
        b"",
        "<p>附件是我单位的台账</p>".encode("gbk"),
        b"--ALT--",
        b"--OUTER",
        b"Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        b"Content-Disposition: attachment; filename*=UTF-8''" + rfc2231.encode(),
        b"Content-Transfer-Encoding: base64",
        b"",
        b64(xlsx_bytes()),
        b"--OUTER",
        b'Content-Type: application/vnd.ms-excel; name="' + gbk_word("自评材料_机关党委.xls") + b'"',
        b'Content-Disposition: attachment; filename="' + gbk_word("自评材料_机关党委.xls") + b'"',
        b"Content-Transfer-Encoding: base64",
        b"",
        b64(xlsx_bytes()),
        b"--OUTER",
        b"Content-Type: application/pdf",
        b"Content-Transfer-Encoding: base64",
        b"",
        b64(MINIMAL_PDF),
        b"--OUTER",
        b"Content-Type: application/zip",
        b'Content-Disposition: attachment; filename="' + gbk_word("材料.zip") + b'"',
        b"Content-Transfer-Encoding: base64",
        b"",
        b64(gbk_zip([("理学院台账.xlsx", xlsx_bytes("理学院党委"))])),
        b"--OUTER",
        b"Content-Type: message/rfc822",
        b'Content-Disposition: attachment; filename="inner.eml"',
        b"",
        inner,
        b"--OUTER--",
        b"",
    ])
    return outer


def build_inbox(root: Path) -> dict[str, bytes]:
    """Write the one-of-everything inbox; return {inbox path: bytes} of the files on disk."""
    plain = xlsx_bytes()
    files: dict[str, bytes] = {
        "整顿台账_机关党委.xlsx": plain,
        "网页导出.xls": "<html><body><table><tr><td>填报单位</td></tr></table></body></html>".encode(),
        "真的是xlsx.xls": xlsx_bytes("外国语学院党委"),
        "文本导出.xls": "序号,整顿对象,重点问题\n1,第一党支部,3\n2,第二党支部,5\n".encode("gbk"),
        "带宏.xlsm": xlsm_bytes(),
        "批量.zip": gbk_zip([
            ("批量报送/", None),
            ("批量报送/整顿台账_机关党委.xlsx", plain),
            ("批量报送/内层.zip", gbk_zip([("党支部台账.xlsx", xlsx_bytes("化学化工学院党委"))])),
            ("__MACOSX/批量报送/._整顿台账_机关党委.xlsx", b"\x00\x05\x16\x07 AppleDouble"),
            ("批量报送/.DS_Store", b"\x00\x00\x00\x01Bud1"),
        ]),
        "回复.eml": eml_bytes(),
        "~$整顿台账_机关党委.xlsx": b"\x0bzhangsan" + b"\x00" * 40,
        ".DS_Store": b"\x00\x00\x00\x01Bud1" + b"\x00" * 32,
        "子目录/Thumbs.db": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504,
        "__MACOSX/._整顿台账_机关党委.xlsx": b"\x00\x05\x16\x07 AppleDouble",
        "子目录/照片.png": PNG,
        "自评报告_机关党委.docx": docx_bytes(),
        "自评报告_文学院党委.pdf": MINIMAL_PDF,
        "空文件.xlsx": b"",
        "加密.xlsx": peer_file("excelize__encryptAES.xlsx").read_bytes(),
        "winmail.dat": WINMAIL,
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (MTIME, MTIME))
    return files


# Expected rows: path -> (kind, format)
EXPECTED = {
    "整顿台账_机关党委.xlsx": ("ledger", "xlsx"),
    "网页导出.xls": ("ledger", "html"),
    "真的是xlsx.xls": ("ledger", "xlsx"),
    "文本导出.xls": ("ledger", "csv"),
    "带宏.xlsm": ("ledger", "xlsm"),
    "批量.zip": ("container", "zip"),
    "批量.zip/批量报送/整顿台账_机关党委.xlsx": ("ledger", "xlsx"),
    "批量.zip/批量报送/内层.zip": ("container", "zip"),
    "批量.zip/批量报送/内层.zip/党支部台账.xlsx": ("ledger", "xlsx"),
    "批量.zip/__MACOSX/批量报送/._整顿台账_机关党委.xlsx": ("ignored", "unknown"),
    "批量.zip/批量报送/.DS_Store": ("ignored", "unknown"),
    "回复.eml": ("container", "eml"),
    "回复.eml/整顿台账_机关党委.xlsx": ("ledger", "xlsx"),
    "回复.eml/自评材料_机关党委.xls": ("ledger", "xlsx"),
    "回复.eml/附件3.pdf": ("report", "pdf"),
    "回复.eml/材料.zip": ("container", "zip"),
    "回复.eml/材料.zip/理学院台账.xlsx": ("ledger", "xlsx"),
    "回复.eml/inner.eml": ("container", "eml"),
    "回复.eml/inner.eml/台账_文学院党委.xlsx": ("ledger", "xlsx"),
    "~$整顿台账_机关党委.xlsx": ("ignored", "unknown"),
    ".DS_Store": ("ignored", "unknown"),
    "子目录/Thumbs.db": ("ignored", "ole"),
    "__MACOSX/._整顿台账_机关党委.xlsx": ("ignored", "unknown"),
    "子目录/照片.png": ("ignored", "image"),
    "自评报告_机关党委.docx": ("report", "docx"),
    "自评报告_文学院党委.pdf": ("report", "pdf"),
    "空文件.xlsx": ("unreadable", "empty"),
    "加密.xlsx": ("unreadable", "xlsx"),
    "winmail.dat": ("container", "winmail"),
}


def snapshot(root: Path) -> dict[str, tuple[bytes, int, int]]:
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_mode)
            for p in sorted(root.rglob("*")) if p.is_file()}


def set_read_only(root: Path, read_only: bool) -> None:
    for p in [root, *root.rglob("*")]:
        if p.is_dir():
            p.chmod(0o555 if read_only else 0o755)
        else:
            p.chmod(0o444 if read_only else 0o644)


@pytest.fixture
def inbox(tmp_path):
    root = tmp_path / "inbox"
    root.mkdir()
    build_inbox(root)
    return root


@pytest.fixture
def scanned(inbox):
    """Scan the inbox while it is read-only; check nothing in it changed."""
    before = snapshot(inbox)
    set_read_only(inbox, True)
    try:
        docs = scan_inbox(inbox)
        after = snapshot(inbox)
    finally:
        set_read_only(inbox, False)
    assert {k: v[:2] for k, v in after.items()} == {k: v[:2] for k, v in before.items()}
    return {d.path: d for d in docs}, docs


# --- the inventory -----------------------------------------------------------------------

def test_every_file_and_member_listed_once_with_kind_and_format(scanned):
    by_path, docs = scanned
    assert [d.path for d in docs] == sorted(d.path for d in docs)
    assert len(by_path) == len(docs), "a path is listed twice"
    assert {p: (d.kind, d.format) for p, d in by_path.items()} == EXPECTED


def test_plain_files_have_hash_size_mtime_and_no_kept_bytes(scanned, inbox):
    by_path, _ = scanned
    doc = by_path["整顿台账_机关党委.xlsx"]
    data = (inbox / doc.path).read_bytes()
    assert doc.size == len(data)
    assert doc.sha256 == hashlib.sha256(data).hexdigest()
    assert doc.received == MTIME_LOCAL
    assert doc.parent is None and doc.sender is None
    assert doc.data is None and doc.fs_path == str((inbox / doc.path).resolve())
    assert doc.read_bytes() == data


def test_zip_members_decoded_from_gbk_and_keep_bytes(scanned, inbox):
    raw = (inbox / "批量.zip").read_bytes()
    infos = zipfile.ZipFile(io.BytesIO(raw)).infolist()
    # The fixture really is a "Windows" zip: GBK bytes, no UTF-8 flag.
    assert all(not i.flag_bits & 0x800 for i in infos)
    assert infos[1].orig_filename.encode("cp437") == "批量报送/整顿台账_机关党委.xlsx".encode("gbk")
    by_path, _ = scanned
    box = by_path["批量.zip"]
    assert box.note == "压缩包，内含 4 个文件"
    member = by_path["批量.zip/批量报送/整顿台账_机关党委.xlsx"]
    assert member.parent == "批量.zip"
    assert member.read_bytes() is member.data and member.sha256 == hashlib.sha256(member.data).hexdigest()
    assert member.received == MTIME_LOCAL  # a plain zip: the zip file's time
    nested = by_path["批量.zip/批量报送/内层.zip/党支部台账.xlsx"]
    assert nested.parent == "批量.zip/批量报送/内层.zip"
    assert nested.data is not None and nested.data.startswith(b"PK")
    assert "__MACOSX" in by_path["批量.zip/__MACOSX/批量报送/._整顿台账_机关党委.xlsx"].note


def test_plain_zip_member_bytes_equal_the_original(scanned, inbox):
    by_path, _ = scanned
    plain = (inbox / "整顿台账_机关党委.xlsx").read_bytes()
    member = by_path["批量.zip/批量报送/整顿台账_机关党委.xlsx"]
    assert member.data == plain
    assert member.sha256 == by_path["整顿台账_机关党委.xlsx"].sha256


def test_eml_attachments_named_dated_and_sent(scanned):
    by_path, _ = scanned
    mail = by_path["回复.eml"]
    assert mail.received == OUTER_DATE
    assert mail.sender == "jgdw@example.edu.cn"
    assert mail.subject == "回复：整顿台账"
    assert "含 5 个附件" in mail.note
    for path in ("回复.eml/整顿台账_机关党委.xlsx", "回复.eml/自评材料_机关党委.xls",
                 "回复.eml/附件3.pdf", "回复.eml/材料.zip", "回复.eml/材料.zip/理学院台账.xlsx"):
        doc = by_path[path]
        assert (doc.received, doc.sender, doc.subject) == (OUTER_DATE, "jgdw@example.edu.cn", "回复：整顿台账")
        assert doc.data is not None and doc.sha256 == hashlib.sha256(doc.data).hexdigest()
    assert by_path["回复.eml/整顿台账_机关党委.xlsx"].data == xlsx_bytes()
    assert by_path["回复.eml/附件3.pdf"].data == MINIMAL_PDF
    assert "实际是 xlsx" in by_path["回复.eml/自评材料_机关党委.xls"].note
    assert by_path["回复.eml/材料.zip/理学院台账.xlsx"].parent == "回复.eml/材料.zip"


def test_forwarded_message_is_its_own_container(scanned):
    by_path, _ = scanned
    inner = by_path["回复.eml/inner.eml"]
    assert inner.parent == "回复.eml"
    assert (inner.received, inner.sender, inner.subject) == (INNER_DATE, "unit2@example.edu.cn", "文学院台账")
    attached = by_path["回复.eml/inner.eml/台账_文学院党委.xlsx"]
    assert attached.parent == "回复.eml/inner.eml"
    assert attached.received == INNER_DATE and attached.sender == "unit2@example.edu.cn"
    assert attached.data == xlsx_bytes("文学院党委")


def test_clutter_notes_say_what_it_is(scanned):
    by_path, _ = scanned
    assert "~$" in by_path["~$整顿台账_机关党委.xlsx"].note
    assert "临时锁定文件" in by_path["~$整顿台账_机关党委.xlsx"].note
    assert ".DS_Store" in by_path[".DS_Store"].note
    assert "Thumbs.db" in by_path["子目录/Thumbs.db"].note
    assert "__MACOSX" in by_path["__MACOSX/._整顿台账_机关党委.xlsx"].note
    assert "图片" in by_path["子目录/照片.png"].note


def test_problem_files_explained(scanned):
    by_path, _ = scanned
    empty = by_path["空文件.xlsx"]
    assert (empty.size, empty.note) == (0, "空文件（0字节）")
    locked = by_path["加密.xlsx"]
    assert locked.encrypted and "加密" in locked.note and ".xlsx" in locked.note
    assert "winmail.dat" in by_path["winmail.dat"].note and "附件" in by_path["winmail.dat"].note
    assert by_path["网页导出.xls"].note.startswith("网页格式（HTML）导出的表格")
    assert by_path["自评报告_机关党委.docx"].note == "文档（Word/PDF），可能是自评报告"
    assert not any(d.encrypted for p, d in by_path.items() if p != "加密.xlsx")


def test_documents_compare_without_bytes(scanned):
    by_path, _ = scanned
    doc = by_path["回复.eml/附件3.pdf"]
    assert isinstance(doc, Document)
    assert "data" not in repr(doc)
    with pytest.raises(AttributeError):
        doc.kind = "ledger"  # frozen


def test_scan_is_deterministic(inbox):
    assert scan_inbox(inbox) == scan_inbox(str(inbox))


# --- sniffing details ----------------------------------------------------------------------

@pytest.mark.parametrize("name, data, kind, fmt", [
    ("tab.xls", "序号\t整顿对象\n1\t第一党支部\n".encode("utf-16"), "ledger", "csv"),
    ("导出.csv", "单位\n机关党委\n".encode("utf-8-sig"), "ledger", "csv"),
    ("notes.txt", "请查收附件。\n谢谢！\n".encode(), "ignored", "text"),
    ("bad.xlsx", b"Attachment not found!", "unreadable", "text"),
    ("page.xls", b"\xef\xbb\xbf  <!DOCTYPE html><html><table></table></html>", "ledger", "html"),
    ("x.xls", b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">',
     "unreadable", "xml2003"),
    ("blob.bin", bytes(range(256)) * 4, "ignored", "unknown"),          # not a spreadsheet by bytes or name
    ("blob.xls", bytes(range(256)) * 4, "unreadable", "unknown"),       # named like one: a lost ledger
    ("photo.JPG", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "ignored", "image"),
    ("x.rar", b"Rar!\x1a\x07\x00" + b"\x00" * 20, "unreadable", "rar"),
    ("report.rtf", b"{\\rtf1\\ansi hello}", "report", "rtf"),
    ("邮件", b"From: a@b.cn\r\nDate: Thu, 12 Sep 2019 10:30:00 +0000\r\nMIME-Version: 1.0\r\n\r\nhi",
     "container", "eml"),
])
def test_sniffing_by_bytes(tmp_path, name, data, kind, fmt):
    (tmp_path / name).write_bytes(data)
    [doc] = scan_inbox(tmp_path)
    assert (doc.kind, doc.format) == (kind, fmt)


def test_zip_unicode_path_extra_field_wins(tmp_path):
    """7-Zip/WinRAR add the UTF-8 name in an extra field (0x7075) next to the legacy bytes."""
    import struct
    import zlib

    legacy = "臺賬.xlsx".encode("big5")            # not GBK: decoding it as GB18030 is wrong
    utf8 = "臺賬.xlsx".encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        info = GbkZipInfo(legacy.decode("cp437"))
        info.extra = struct.pack("<HHBI", 0x7075, 5 + len(utf8), 1, zlib.crc32(legacy)) + utf8
        zf.writestr(info, xlsx_bytes())
    (tmp_path / "a.zip").write_bytes(out.getvalue())
    assert [d.path for d in scan_inbox(tmp_path)] == ["a.zip", "a.zip/臺賬.xlsx"]


def test_wps_et_in_biff8_is_read_and_other_et_refused_saying_why(tmp_path):
    """WPS saves .et/.ett as BIFF8 in an OLE container, as Excel 97-2003 does: the reader opens it."""
    from cfb_builder import build_cfb

    shutil.copy(peer_file("calamine__date.xls"), tmp_path / "台账.et")
    shutil.copy(peer_file("calamine__date.xls"), tmp_path / "模板.ett")
    (tmp_path / "加密.et").write_bytes(build_cfb({"WpsEncrypted": bytes(5000), "Other": b"x"}))
    by_path = {d.path: d for d in scan_inbox(tmp_path)}
    assert {p: (d.kind, d.format) for p, d in by_path.items()} == {
        "台账.et": ("ledger", "et"), "模板.ett": ("ledger", "et"), "加密.et": ("unreadable", "et")}
    assert "WPS" in by_path["台账.et"].note and "实际是" not in by_path["台账.et"].note
    assert "WPS" in by_path["加密.et"].note and ".xlsx" in by_path["加密.et"].note


def test_missing_inbox_raises(tmp_path):
    with pytest.raises(InboxError):
        scan_inbox(tmp_path / "nope")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(InboxError):
        scan_inbox(tmp_path / "file.txt")


def test_empty_inbox(tmp_path):
    assert scan_inbox(tmp_path) == []


# --- files written by other programs ---------------------------------------------------------

ENCRYPTED_PEERS = {"calamine__pass_protected.xlsx", "calamine__pass_protected.xlsb",
                   "calamine__pass_protected.ods", "calamine__issue_385.xls",
                   "excelize__encryptAES.xlsx", "excelize__encryptSHA1.xlsx",
                   "xlsx-populate__encrypted_input.xlsx"}


@pytest.mark.skipif(not PEER_FILES.is_dir(), reason="peer-files not available")
def test_peer_files_each_listed_once_sensibly(tmp_path):
    names = sorted(p.name for p in PEER_FILES.iterdir() if p.is_file())
    for name in names:
        shutil.copy(PEER_FILES / name, tmp_path / name)
    docs = scan_inbox(tmp_path)
    by_path = {d.path: d for d in docs}
    assert sorted(by_path) == names == [d.path for d in docs]
    for name, doc in by_path.items():
        ext = name.rsplit(".", 1)[-1]
        assert doc.parent is None and len(doc.sha256) == 64
        if name in ENCRYPTED_PEERS:
            assert doc.encrypted and doc.kind == "unreadable" and "加密" in doc.note, name
            continue
        assert not doc.encrypted, name
        if ext == "md":
            assert (doc.kind, doc.format) == ("ignored", "text")
        elif name in ("calamine__too_small.xls", "xlrd__biff4_no_format_no_window2.xls"):
            assert doc.kind == "unreadable" and doc.note, name
        else:
            assert (doc.kind, doc.format) == ("ledger", ext), name


# --- cross-checks with other programs ------------------------------------------------------

@pytest.mark.skipif(not shutil.which("munpack"), reason="munpack (mpack) 未安装")
def test_attachment_bytes_match_an_independent_mime_parser(scanned, inbox, tmp_path):
    """munpack decodes the same attachments to the same bytes (it skips attached e-mails)."""
    import subprocess

    out = tmp_path / "munpack"
    out.mkdir()
    subprocess.run(["munpack", "-f", "-q", "-C", str(out), str(inbox / "回复.eml")],
                   check=True, capture_output=True, timeout=60)
    theirs = sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in out.rglob("*")
                    if p.is_file() and not p.name.endswith(".desc"))
    by_path, _ = scanned
    ours = sorted(d.sha256 for d in by_path.values()
                  if d.parent == "回复.eml" and d.format != "eml")
    assert theirs == ours


@pytest.mark.soffice
def test_files_saved_by_libreoffice(tmp_path):
    """Real legacy .xls and .ods written by another program are sniffed right (CI has Calc only)."""
    from soffice_helpers import soffice_convert

    src = tmp_path / "src"
    src.mkdir()
    (src / "台账.xlsx").write_bytes(xlsx_bytes())
    inbox = tmp_path / "inbox"
    soffice_convert([src / "台账.xlsx"], "xls", inbox)
    soffice_convert([src / "台账.xlsx"], "ods", inbox)
    shutil.rmtree(inbox / ".lo-profile", ignore_errors=True)
    by_path = {d.path: d for d in scan_inbox(inbox)}
    assert {p: (d.kind, d.format, d.encrypted) for p, d in by_path.items()} == {
        "台账.xls": ("ledger", "xls", False),
        "台账.ods": ("ledger", "ods", False),
    }
