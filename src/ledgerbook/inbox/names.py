"""Names of files and archive members, made displayable and harmless; system clutter told by name.

Names arrive as bytes in many encodings: zip members without the UTF-8 flag (the Windows code
page of the PC that zipped them), raw 8-bit mail headers, Outlook's 8-bit strings. One rule
decodes them all (:func:`decode_name`): the charset the sender declared, else valid UTF-8,
else the Chinese code pages (GBK first, Big5 when it reads clearly better), else Latin.
"""

from __future__ import annotations

import codecs
import os
import re
import struct
import zipfile
import zlib

from . import limits

_NOTE_BAD_PATH = "成员路径含 ../ 或绝对路径，已按普通名称处理"


# --- Names ---------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def display_fs_name(name: str) -> str:
    """A directory entry's name fit for display: undecodable bytes tried as GBK, controls replaced.

    Names copied from a Windows USB stick onto Linux can hold raw GBK bytes, which Python
    hands over as surrogate escapes; those cannot be written to a workbook.
    """
    if any("\udc80" <= ch <= "\udcff" for ch in name):
        name = decode_name(os.fsencode(name))
    return clean_component(name)


# --- Decoding ------------------------------------------------------------------------------

# Labels of the GB family: decoded as GB18030, its superset (mailers label GBK text "GB2312").
_GB_LABELS = {"gb2312", "gbk", "cp936", "x-gbk", "euc-cn", "csgb2312", "gb_2312-80", "ms936",
              "windows-936", "x-euc-cn", "gb18030", "936", "54936"}
_BIG5_LABELS = {"big5", "big5-hkscs", "big5hkscs", "cp950", "x-x-big5", "csbig5", "950"}
# Windows code pages (Outlook's PidTagMessageCodepage, TNEF's OEM code page) that are not
# simply "cp<n>" in Python.
_CODEPAGES = {936: "gb18030", 54936: "gb18030", 20936: "gb18030", 950: "big5hkscs", 65001: "utf-8",
              20127: "ascii", 28591: "latin-1", 1200: "utf-16-le"}


def charset_codec(label: str | None) -> str | None:
    """The Python codec of a declared charset label (``GB2312`` -> ``gb18030``), or None."""
    name = (label or "").strip().strip('"').strip("'").lower()
    if not name:
        return None
    if name in _GB_LABELS:
        return "gb18030"
    if name in _BIG5_LABELS:
        return "big5hkscs"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def codepage_codec(codepage: int | None) -> str | None:
    """The Python codec of a Windows code page number (936 -> ``gb18030``), or None."""
    if not codepage:
        return None
    return charset_codec(_CODEPAGES.get(codepage, f"cp{codepage}"))


def decode_name(raw: bytes, declared: str | None = None) -> str:
    """Decode a name or header whose bytes came with at most a declared charset.

    1. the declared charset (a label or a Python codec), when the bytes are valid in it;
    2. UTF-8, when valid (ASCII included);
    3. GBK (as GB18030), unless Big5 reads clearly better: the most common Chinese characters
       (GB2312's first level for GBK, Big5's first level for Big5) make up a clearly larger
       share of the Big5 reading. Chinese clients send GBK; Taiwanese and Hong Kong ones Big5;
    4. Latin (Windows-1252), when neither Chinese reading holds a single common character and
       no two non-ASCII bytes stand together, as they do in every Chinese encoding
       (``ciële`` is not ``ci雔e``; a rare 喆 still is GBK);
    5. GB18030 with replacement characters.

    Args:
        raw: the bytes.
        declared: the charset the sender declared (``GB2312``, ``iso-8859-1``…), or None.
    """
    codec = charset_codec(declared)
    if codec:
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    gbk = _strict(raw, "gb18030")
    big5 = _strict(raw, "big5hkscs")
    gbk_score = _common_share(gbk, _common_gb) if gbk is not None else -1.0
    big5_score = _common_share(big5, _common_big5) if big5 is not None else -1.0
    if big5 is not None and big5_score >= max(gbk_score + 0.25, 0.5):
        return big5
    if gbk is not None and gbk_score > 0:
        return gbk
    latin = _strict(raw, "cp1252")
    if latin is not None and max(gbk_score, big5_score) <= 0 and not _HIGH_PAIR.search(raw):
        return latin
    return gbk if gbk is not None else raw.decode("gb18030", "replace")


_HIGH_PAIR = re.compile(rb"[\x80-\xff]{2}")


def looks_chinese(text: str) -> bool:
    """Whether ``text`` reads as Chinese: common characters make up most of its non-ASCII."""
    return _common_share(text, _common_gb) >= 0.5 or _common_share(text, _common_big5) >= 0.5


def _strict(raw: bytes, codec: str) -> str | None:
    try:
        return raw.decode(codec)
    except UnicodeDecodeError:
        return None


def _common_share(text: str, common) -> float:
    """Share of the non-ASCII characters of ``text`` that ``common`` accepts (0 when none)."""
    wide = [ch for ch in text if ord(ch) > 0x7F]
    if not wide:
        return 0.0
    return sum(1 for ch in wide if common(ch)) / len(wide)


def _common_gb(ch: str) -> bool:
    """A character of GB2312's first level (the 3,755 most common hanzi, rows 0xB0-0xD7)."""
    try:
        code = ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return len(code) == 2 and 0xB0 <= code[0] <= 0xD7


def _common_big5(ch: str) -> bool:
    """A character of Big5's first level (the 5,401 frequently used hanzi, 0xA440-0xC67E)."""
    try:
        code = ch.encode("big5")
    except UnicodeEncodeError:
        return False
    return len(code) == 2 and 0xA440 <= (code[0] << 8 | code[1]) <= 0xC67E


def clean_component(name: str) -> str:
    """One path component: control characters replaced, over-long names shortened."""
    name = _CONTROL.sub("_", name)
    if len(name) > limits.MAX_NAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        ext = ext if dot and len(ext) <= 10 else ""
        keep = limits.MAX_NAME_CHARS - len(ext) - 2
        name = (stem if ext else name)[:keep] + "…" + ("." + ext if ext else "")
    return name


def extension(path: str) -> str:
    base = path.rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base.lstrip(".") else ""


def clutter_note(path: str) -> str | None:
    """Why a file is system clutter, or None: judged from the name only."""
    parts = path.split("/")
    base = parts[-1]
    lower = base.lower()
    if "__MACOSX" in parts[:-1]:
        return "macOS 压缩时附带的资源信息（__MACOSX 文件夹），不是报送文件，已忽略"
    if base.startswith("~$"):
        return "Office 临时锁定文件（~$开头），是打开文档时自动生成的，已忽略"
    if lower.startswith(".~lock.") and lower.endswith("#"):
        return "LibreOffice/WPS 临时锁定文件（.~lock 开头），已忽略"
    if base.startswith("~") and lower.endswith(".tmp"):
        return "Office 临时文件（~开头的 .tmp），已忽略"
    if base == ".DS_Store":
        return "macOS 文件夹显示设置文件（.DS_Store），已忽略"
    if lower == "thumbs.db":
        return "Windows 缩略图缓存文件（Thumbs.db），已忽略"
    if lower == "desktop.ini":
        return "Windows 文件夹设置文件（desktop.ini），已忽略"
    if base.startswith("._"):
        return "macOS 附带的资源信息文件（AppleDouble，._开头），已忽略"
    return None


def zip_member_name(info: zipfile.ZipInfo) -> tuple[str, str | None]:
    """A member's display name (decoded, made harmless) and a note if it had to be changed."""
    raw = info.orig_filename
    if not info.flag_bits & 0x800:
        raw = _unicode_path_extra(info) or decode_name(raw.encode("cp437"))
    parts = raw.replace("\\", "/").split("/")
    dangerous = raw.startswith(("/", "\\")) or bool(re.match(r"^[A-Za-z]:", raw)) or ".." in parts
    if parts and re.fullmatch(r"[A-Za-z]:", parts[0]):
        parts = parts[1:]
    kept = [clean_component(p) for p in parts if p not in ("", ".", "..")]
    name = "/".join(kept) or "未命名成员"
    return name, (_NOTE_BAD_PATH if dangerous else None)


def _unicode_path_extra(info: zipfile.ZipInfo) -> str | None:
    """The UTF-8 name of the Info-ZIP Unicode Path extra field (0x7075), written by 7-Zip/WinRAR."""
    extra = info.extra
    i = 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, i)
        body = extra[i + 4:i + 4 + size]
        if tag == 0x7075 and len(body) >= 5 and body[0] == 1:
            (crc,) = struct.unpack_from("<I", body, 1)
            if crc == zlib.crc32(info.orig_filename.encode("cp437")):
                try:
                    return body[5:].decode("utf-8")
                except UnicodeDecodeError:
                    return None
        i += 4 + size
    return None
