"""Names of files and archive members, made displayable and harmless; system clutter told by name."""

from __future__ import annotations

import os
import re
import struct
import zipfile
import zlib

from ..text import decode_text
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
        name = decode_text(os.fsencode(name))
    return clean_component(name)


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
        raw = _unicode_path_extra(info) or decode_text(raw.encode("cp437"))
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
