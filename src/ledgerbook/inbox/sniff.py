"""The real format of a file from its bytes, whatever its extension says, and what to do with it."""

from __future__ import annotations

import codecs
import io
import re
import struct
import zipfile
from dataclasses import dataclass

from . import limits
from .document import CONTAINER, IGNORED, LEDGER, REPORT, UNREADABLE
from .names import extension
from .ole import ole_names
from .tnef import TNEF_SIGNATURE


_LEDGER_EXTS = {"xlsx", "xlsm", "xls", "xlsb", "ods", "et", "ett", "csv", "xlt", "xltx", "xltm"}
# Names of files that can carry a ledger inside: when one fails, a submission may be lost.
_ARCHIVE_EXTS = {"zip", "rar", "7z", "eml", "msg"}
# Extensions that promise a format: a file whose bytes say otherwise gets a note.
_PROMISING_EXTS = _LEDGER_EXTS | {"docx", "doc", "pdf", "odt", "rtf", "zip", "eml", "msg"}
_IMAGE_EXTS = {"png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp", "heic", "heif"}
_AUDIO_EXTS = {"mp3", "wav", "amr", "m4a", "aac", "wma", "ogg", "flac", "silk", "opus"}
_VIDEO_EXTS = {"mp4", "mov", "avi", "wmv", "mkv", "3gp", "flv", "webm", "m4v"}

_NOTE_ENCRYPTED = "文件已加密（设置了打开密码），无法读取，请取消密码后另存为 .xlsx 重新报送"
_NOTE_DOC_ENCRYPTED = "文档已加密（设置了打开密码），无法读取，请取消密码后重新报送"
_NOTE_EMPTY = "空文件（0字节）"
_NOTE_UNKNOWN = "无法识别的文件格式"
_NOTE_WPS_OTHER = ("WPS 表格文件（.et）不是 Excel 97-2003 兼容的格式（可能是 WPS 专用的加密或旧版格式），"
                   "无法读取，请在 WPS 中另存为 .xlsx 后重新报送")
_NOTE_REPORT = "文档（Word/PDF），可能是自评报告"


@dataclass
class Sniff:
    """The result of looking at bytes: real format, kind, note, encryption."""

    format: str
    kind: str
    note: str
    encrypted: bool = False


# --- Sniffing ------------------------------------------------------------------------------

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")


def may_hold_ledger(ext: str) -> bool:
    """Whether a file so named is (or may carry) a spreadsheet: when such a file cannot be read a
    ledger may be lost (an error); anything else that cannot be read is only ignored."""
    return ext in _LEDGER_EXTS or ext in _ARCHIVE_EXTS


def _unknown(ext: str, fmt: str, note: str, ignored_note: str) -> Sniff:
    """A file whose content ledgerbook cannot use: unreadable if its name promises a
    spreadsheet (or an archive), else ignored, saying what it is."""
    if may_hold_ledger(ext):
        return Sniff(fmt, UNREADABLE, note)
    return Sniff(fmt, IGNORED, ignored_note)


def sniff_data(path: str, data: bytes) -> Sniff:
    """The real format of ``data`` (named ``path``) and what to do with it."""
    ext = extension(path)
    if not data:
        return _unknown(ext, "empty", _NOTE_EMPTY, f"{_NOTE_EMPTY}，不是台账，已忽略")
    if data.startswith(_ZIP_MAGICS):
        return _mismatch(_sniff_zip(data, ext), ext)
    if data.startswith(_OLE_MAGIC):
        return _mismatch(_sniff_ole(data, ext), ext)
    sniff = sniff_head(path, data[:limits.HEAD_BYTES])
    if sniff.format != "unknown":
        return _mismatch(sniff, ext)
    if ext == "eml" or _looks_like_eml(data[:limits.HEAD_BYTES]):
        return Sniff("eml", CONTAINER, "邮件")
    if b"%PDF-" in data[:1024]:  # readers accept junk before the header; checked after e-mail
        return _mismatch(Sniff("pdf", REPORT, _NOTE_REPORT), ext)
    return _mismatch(_sniff_text(data, ext) or sniff, ext)


def sniff_head(path: str, head: bytes) -> Sniff:
    """Formats recognisable from the first bytes alone (plus the extension where bytes cannot
    tell: images, and zip/OLE files too big to open)."""
    ext = extension(path)
    if not head:
        return _unknown(ext, "empty", _NOTE_EMPTY, f"{_NOTE_EMPTY}，不是台账，已忽略")
    if head.startswith(_ZIP_MAGICS):
        fmt = ext if ext in ("xlsx", "xlsm", "docx", "ods", "zip") else "zip"
        kind = REPORT if fmt == "docx" else LEDGER if fmt != "zip" else CONTAINER
        return Sniff(fmt, kind, "")
    if head.startswith(_OLE_MAGIC):
        fmt = ext if ext in ("xls", "doc", "et", "ett", "msg") else "ole"
        kind = REPORT if fmt == "doc" else CONTAINER if fmt == "msg" else UNREADABLE
        return Sniff(fmt, kind, "Office 97-2003 格式文件")
    if head.startswith(b"%PDF-"):
        return Sniff("pdf", REPORT, _NOTE_REPORT)
    if head.startswith(b"{\\rtf"):
        return Sniff("rtf", REPORT, "RTF 格式文档，可能是自评报告")
    if head.startswith(TNEF_SIGNATURE):
        return Sniff("winmail", CONTAINER, "Outlook 专用附件包（winmail.dat，TNEF 格式）")
    if _is_image(head, ext):
        return Sniff("image", IGNORED, "图片文件，不是台账，已忽略")
    media = _media(head, ext)
    if media:
        return Sniff(media, IGNORED, f"{'音频' if media == 'audio' else '视频'}文件，不是台账，已忽略")
    if head.startswith(b"Rar!\x1a\x07"):
        return Sniff("rar", UNREADABLE, "RAR 压缩包无法打开，请改用 zip 压缩或直接发送 .xlsx 文件")
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return Sniff("7z", UNREADABLE, "7z 压缩包无法打开，请改用 zip 压缩或直接发送 .xlsx 文件")
    if len(head) >= 4 and head[:2] in (b"\x09\x00", b"\x09\x02", b"\x09\x04") and head[3] == 0:
        return Sniff("xls", UNREADABLE, "早期 Excel 2.x–4.0 格式（BIFF2–4），无法读取，"
                                         "请用 Excel 或 WPS 另存为 .xlsx 后重新报送")
    if head.startswith(b"\x1f\x8b"):
        return _unknown(ext, "gzip", "gzip 压缩文件无法打开，请改用 zip 压缩或直接发送 .xlsx 文件",
                        "gzip 压缩文件，不是台账，已忽略")
    return _unknown(ext, "unknown", _NOTE_UNKNOWN,
                    f"无法识别的文件{f'（.{ext}）' if ext else ''}，不是表格，已忽略")


def _media(head: bytes, ext: str) -> str | None:
    """``audio`` or ``video`` for sound and film files (voice messages, recordings), else None."""
    if (head.startswith((b"ID3", b"#!AMR", b"#!SILK", b"\x02#!SILK", b"OggS", b"fLaC"))
            or (head[:4] == b"RIFF" and head[8:12] == b"WAVE") or ext in _AUDIO_EXTS):
        return "audio"
    if ((head[4:8] == b"ftyp") or (head[:4] == b"RIFF" and head[8:12] == b"AVI ")
            or head.startswith((b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", b"\x1a\x45\xdf\xa3", b"FLV"))
            or ext in _VIDEO_EXTS):
        return "audio" if ext in _AUDIO_EXTS or head[8:12] in (b"M4A ", b"M4B ") else "video"
    return None


def _is_image(head: bytes, ext: str) -> bool:
    return (head.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a",
                             b"II*\x00", b"MM\x00*"))
            or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
            or (head.startswith(b"BM") and ext == "bmp")
            or ext in _IMAGE_EXTS)


def _mismatch(sniff: Sniff, ext: str) -> Sniff:
    """Mention it when the name's extension lies about the format (the reader trusts format)."""
    same = {("xls", "et"), ("xls", "ett"), ("et", "ett"), ("xlsx", "et"), ("xlsx", "ett"), ("xlsx", "xltx"),
            ("xls", "xlt"), ("xlsm", "xltm")}
    if (ext in _PROMISING_EXTS and ext != sniff.format and (sniff.format, ext) not in same
            and sniff.format not in ("empty", "unknown", "text")):
        return Sniff(sniff.format, sniff.kind,
                      f"{sniff.note}；扩展名是 .{ext}，实际是 {sniff.format} 格式", sniff.encrypted)
    return sniff


# zip-based formats

def _sniff_zip(data: bytes, ext: str) -> Sniff:
    """OOXML workbook/document, ODF, or a real zip archive (a container to open)."""
    entries = _zip_declared_entries(data)
    if entries is not None and entries > limits.MAX_ZIP_ENTRIES:
        return Sniff("zip", UNREADABLE, f"压缩包内文件数过多（超过 {limits.MAX_ZIP_ENTRIES} 个），未打开，请分批发送")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            # Some writers store "xl\\workbook.xml" with backslashes; Excel and calamine accept it.
            names = {n.replace("\\", "/").lower(): n for n in zf.namelist()}
            return _office_zip(zf, names) or Sniff("zip", CONTAINER, "压缩包")
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        fmt = ext if ext in ("xlsx", "xlsm", "docx", "ods", "odt", "xlsb") else "zip"
        return _unknown(ext, fmt, f"文件以 ZIP 格式开头但已损坏（{type(exc).__name__}），"
                                  "可能下载或复制不完整，请重新保存后报送",
                        f"文件以 ZIP 格式开头但已损坏（{type(exc).__name__}），不是台账，已忽略")


def _zip_declared_entries(data: bytes) -> int | None:
    """Entry count from the end-of-central-directory record (0xFFFF: a zip64 count, "many")."""
    eocd = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if eocd < 0 or eocd + 22 > len(data):
        return None
    (total,) = struct.unpack_from("<H", data, eocd + 10)
    if total == 0xFFFF:
        return _zip64_entries(data, eocd)
    return total


def _zip64_entries(data: bytes, eocd: int) -> int | None:
    locator = eocd - 20
    if locator < 0 or data[locator:locator + 4] != b"PK\x06\x07":
        return None
    (offset,) = struct.unpack_from("<Q", data, locator + 8)
    if offset + 56 > len(data) or data[offset:offset + 4] != b"PK\x06\x06":
        return None
    return struct.unpack_from("<Q", data, offset + 32)[0]


def _office_zip(zf: zipfile.ZipFile, names: dict[str, str]) -> Sniff | None:
    if "xl/workbook.bin" in names:
        return Sniff("xlsb", LEDGER, "Excel 二进制工作簿（.xlsb）")
    if "xl/workbook.xml" in names:
        types = _small_member(zf, names.get("[content_types].xml")).lower()
        if "xl/vbaproject.bin" in names or b"macroenabled" in types:
            return Sniff("xlsm", LEDGER, "Excel 启用宏的工作簿（.xlsm）")
        return Sniff("xlsx", LEDGER, "Excel 工作簿（.xlsx）")
    if "word/document.xml" in names:
        return Sniff("docx", REPORT, _NOTE_REPORT)
    if "ppt/presentation.xml" in names:
        return Sniff("pptx", IGNORED, "PowerPoint 演示文稿，不是台账，已忽略")
    if "mimetype" in names:
        return _odf(zf, names)
    if "[content_types].xml" in names and any(n.startswith("xl/") for n in names):
        # An Office package with its workbook part missing is a damaged workbook, not an archive.
        return Sniff("xlsx", UNREADABLE, "Excel 工作簿已损坏（缺少 xl/workbook.xml），"
                                          "请用 Excel 或 WPS 打开后另存为 .xlsx 重新报送")
    return None


def _odf(zf: zipfile.ZipFile, names: dict[str, str]) -> Sniff | None:
    mimetype = _small_member(zf, names["mimetype"]).strip()
    if not mimetype.startswith(b"application/vnd.oasis.opendocument."):
        return None
    encrypted = b"encryption-data" in _small_member(zf, names.get("meta-inf/manifest.xml"))
    if b"spreadsheet" in mimetype:
        if encrypted:
            return Sniff("ods", UNREADABLE, _NOTE_ENCRYPTED, encrypted=True)
        return Sniff("ods", LEDGER, "OpenDocument 电子表格（.ods）")
    if mimetype.endswith(b".text"):
        if encrypted:
            return Sniff("odt", UNREADABLE, _NOTE_DOC_ENCRYPTED, encrypted=True)
        return Sniff("odt", REPORT, "OpenDocument 文档（.odt），可能是自评报告")
    return Sniff("odf", IGNORED, "OpenDocument 文件（不是表格或文档），已忽略")


def _small_member(zf: zipfile.ZipFile, name: str | None, limit: int = 1 * limits.MB) -> bytes:
    """A small descriptor member ([Content_Types].xml, mimetype, manifest), bounded."""
    if name is None:
        return b""
    info = zf.getinfo(name)
    if info.file_size > limit or info.flag_bits & 0x1:
        return b""
    with zf.open(info) as f:
        return f.read(limit)


# OLE2 compound files (legacy Office, encrypted OOXML, Outlook .msg)

def _sniff_ole(data: bytes, ext: str) -> Sniff:
    """Legacy .xls/.doc/.et, encrypted OOXML (EncryptionInfo), Outlook .msg…"""
    wps = ext in ("et", "ett")
    try:
        names = {n.lower() for n in ole_names(data)}
    except (ValueError, struct.error, IndexError):
        if ext == "msg":
            return Sniff("msg", UNREADABLE, "Outlook 邮件（.msg）已损坏（复合文档结构无法解析），无法读取；"
                                            "请在 Outlook 中把邮件另存为 .eml，或把附件直接发送")
        return _unknown(ext, ext if ext in ("xls", "doc", "et", "ett") else "ole",
                        "Office 97-2003 格式文件已损坏（复合文档结构无法解析），请重新保存后报送",
                        "Office 97-2003 格式的文件，已损坏，不是台账，已忽略")
    if "encryptioninfo" in names or "encryptedpackage" in names:
        fmt = ext if ext in ("xlsx", "xlsm", "xlsb", "docx", "pptx", "et", "ett") else "ooxml"
        note = _NOTE_DOC_ENCRYPTED if fmt == "docx" else _NOTE_ENCRYPTED
        return Sniff(fmt, UNREADABLE, note, encrypted=True)
    if "workbook" in names or "book" in names:
        # WPS saves .et/.ett as BIFF8 in an OLE container, like Excel 97-2003: readable.
        return _sniff_xls(data, "et" if wps else "xls")
    if wps:
        return Sniff("et", UNREADABLE, _NOTE_WPS_OTHER)
    if "worddocument" in names:
        if _msoffcrypto_encrypted(data):
            return Sniff("doc", UNREADABLE, _NOTE_DOC_ENCRYPTED, encrypted=True)
        return Sniff("doc", REPORT, _NOTE_REPORT)
    if any(n.startswith("__substg1.0_") for n in names):
        return Sniff("msg", CONTAINER, "Outlook 邮件（.msg）")
    if "powerpoint document" in names:
        return Sniff("ppt", IGNORED, "PowerPoint 演示文稿，不是台账，已忽略")
    return _unknown(ext, "ole", "无法识别的 Office 97-2003 复合文档",
                    "无法识别的 Office 97-2003 复合文档，不是台账，已忽略")


def _sniff_xls(data: bytes, fmt: str = "xls") -> Sniff:
    encrypted = _msoffcrypto_encrypted(data)
    if not encrypted:
        return Sniff(fmt, LEDGER, "WPS 表格（.et）" if fmt == "et" else "Excel 97-2003 工作簿（.xls）")
    if _default_password(data):
        # Excel encrypts with this built-in password when only a "password to modify" or a
        # workbook protection was set: the user never typed an opening password.
        return Sniff(fmt, UNREADABLE,
                      "文件以 Excel 默认密码加密（设置了“修改权限密码”或保护了工作簿），无法读取，"
                      "请取消保护后另存为 .xlsx 重新报送", encrypted=True)
    return Sniff(fmt, UNREADABLE, _NOTE_ENCRYPTED, encrypted=True)


def _msoffcrypto_encrypted(data: bytes) -> bool:
    """msoffcrypto-tool's verdict (FILEPASS in .xls, fEncrypted in .doc); False if it cannot tell."""
    try:
        import msoffcrypto

        return bool(msoffcrypto.OfficeFile(io.BytesIO(data)).is_encrypted())
    except Exception:  # noqa: BLE001 - it raises on unusual or damaged files
        return False


def _default_password(data: bytes) -> bool:
    try:
        import msoffcrypto

        office = msoffcrypto.OfficeFile(io.BytesIO(data))
        office.load_key(password="VelvetSweatshop", verify_password=True)
        return True
    except Exception:  # noqa: BLE001 - wrong password or unsupported cipher
        return False



# text formats

_EML_HEADER = re.compile(rb"^([!-9;-~]+):", re.M)


def _looks_like_eml(head: bytes) -> bool:
    """RFC 822 headers at the very top, with From and a Date or MIME-Version."""
    if not re.match(rb"[!-9;-~]+:", head):
        return False
    block = re.split(rb"\r?\n\r?\n", head, maxsplit=1)[0]
    names = {m.group(1).lower() for m in _EML_HEADER.finditer(block)}
    return b"from" in names and (b"date" in names or b"mime-version" in names)


def _sniff_text(data: bytes, ext: str) -> Sniff | None:
    """HTML exports, CSV/tab-separated text, Excel 2003 XML, MHT; None if not text."""
    text = _as_text(data[:limits.HEAD_BYTES])
    if text is None:
        return None
    lower = text.lstrip("\ufeff \t\r\n").lower()
    start = lower[:4096]
    if start.startswith("<?xml") and "urn:schemas-microsoft-com:office:spreadsheet" in start \
            and "<html" not in start:
        return Sniff("xml2003", UNREADABLE, "Excel 2003 XML 表格格式，无法读取，"
                                             "请用 Excel 或 WPS 另存为 .xlsx 后重新报送")
    if start.startswith("<") and any(tag in start for tag in ("<html", "<table", "<!doctype html")):
        # A web system's "xls" export is HTML; a web page without a table is no spreadsheet.
        if ext in _LEDGER_EXTS or "<table" in lower:
            return Sniff("html", LEDGER, "网页格式（HTML）导出的表格")
        return Sniff("html", IGNORED, "网页文件（HTML），没有表格，不是台账，已忽略")
    if start.startswith("mime-version:") and "multipart/related" in start:
        return Sniff("mht", UNREADABLE, "网页存档格式（MHT）的表格，无法读取，请另存为 .xlsx 后重新报送")
    if ext in ("csv", "xls", "txt", "tsv") and (ext == "csv" or _is_delimited(text)):
        return Sniff("csv", LEDGER, "CSV/制表符分隔的文本表格")
    if ext in _LEDGER_EXTS:
        return Sniff("text", UNREADABLE, f"扩展名是 .{ext}，但内容是纯文本，不是表格，无法读取")
    return Sniff("text", IGNORED, "纯文本文件，不是台账，已忽略")


def _as_text(head: bytes) -> str | None:
    """Decode the head of a file as text (UTF-8/UTF-16 with BOM, GB18030), None for binary."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        codec = "utf-16"
    elif b"\x00" in head:
        return None
    else:
        codec = None
    candidates = [codec] if codec else ["utf-8-sig", "gb18030"]
    for candidate in candidates:
        try:
            # The head may cut a multi-byte character in two: ignore a short tail only.
            decoder = codecs.getincrementaldecoder(candidate)()
            text = decoder.decode(head, final=False)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for ch in text if ch < " " and ch not in "\t\r\n\f")
        if controls <= len(text) // 100:
            return text
    return None


def _is_delimited(text: str) -> bool:
    """Commas or tabs on most non-empty lines: CSV or a web system's tab-separated "xls"."""
    lines = [line for line in text.splitlines()[:200] if line.strip()]
    if not lines:
        return False
    delimited = sum(1 for line in lines if "," in line or "\t" in line or "，" in line)
    return delimited >= max(1, int(len(lines) * 0.6))
