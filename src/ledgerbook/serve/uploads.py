"""Files dropped on the page: received as a stream, capped, then added to the inbox under a new name.

An upload is untrusted like everything in the inbox: the body is read in chunks and refused as
soon as it passes the inbox's own limits, the name the browser sends is reduced to a plain file
name, and a file is written only into DIR's scratch folder and then linked into the inbox under
a name that is not taken. A file already in the inbox is never replaced: a same-named upload
gets ``名称_2.xlsx``, and one with the very same bytes is not saved twice. All files of one
request are saved, or none.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator, Callable

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from ..errors import LedgerbookError
from ..inbox import limits
from ..outputs import safe_file_name
from ..text import decode_text
from .workdir import WorkDir, place_new

MB = limits.MB

#: Names Windows reserves for devices: a file called ``CON.xlsx`` cannot be opened there.
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[1-9]|lpt[1-9])$", re.I)
#: File systems allow 255 bytes per name; Chinese characters take 3 bytes in UTF-8.
MAX_NAME_BYTES = 180
#: Form fields other than files (the CSRF token, the files' times) are small.
MAX_FIELD_BYTES = 1024
_READ_CHUNK = 64 * 1024
#: A name tried with _2, _3 … up to this before giving up (a folder full of one name).
_MAX_SUFFIX = 1000


@dataclass(frozen=True)
class UploadLimits:
    """Caps of one upload request, taken from the inbox's own limits when it is made (read at
    run time, as the inbox reads them).

    Attributes:
        file_bytes: one file: the inbox's largest member or attachment kept in memory.
        total_bytes: the whole request: what the inbox unpacks at most from one top-level file.
        files: files per request: members the inbox lists at most per top-level file.
    """

    file_bytes: int = field(default_factory=lambda: limits.MAX_MEMBER_SIZE)
    total_bytes: int = field(default_factory=lambda: limits.MAX_ARCHIVE_TOTAL)
    files: int = field(default_factory=lambda: limits.MAX_MEMBERS)


class UploadError(LedgerbookError):
    """An upload was refused: too large, too many files, a bad form or a missing CSRF token."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Saved:
    """What became of one uploaded file.

    Attributes:
        original: the name the browser sent.
        name: the name in the inbox ("" when it was not saved).
        size: bytes.
        note: what happened, in Chinese.
    """

    original: str
    name: str
    size: int
    note: str


def upload_name(raw: str) -> str:
    """A plain file name for what the browser sent: no folders, no ``..``, nothing Windows refuses.

    Args:
        raw: the filename of the multipart part (may hold a path, control characters, …).

    Returns:
        A name fit for the inbox: at most MAX_NAME_BYTES bytes, extension kept, never empty,
        never hidden (no leading dot), never a Windows device name.
    """
    text = unicodedata.normalize("NFC", raw or "").replace("\x7f", "_")
    base = re.split(r"[\\/]", text)[-1]
    name = safe_file_name(base) if base.strip(" .") else ""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 16 or not ext.isalnum():
        stem, dot, ext = name, "", ""
    stem = stem.strip(" .")
    if _RESERVED.match(stem):
        stem = f"_{stem}"
    stem = stem or "上传文件"
    budget = MAX_NAME_BYTES - len(f"{dot}{ext}".encode())
    while len(stem.encode()) > budget:
        stem = stem[:-1]
    return f"{stem.rstrip(' .') or '上传文件'}{dot}{ext}"


def _numbered(name: str, n: int) -> str:
    if n == 1:
        return name
    stem, dot, ext = name.rpartition(".")
    return f"{stem}_{n}.{ext}" if dot else f"{name}_{n}"


def _same_bytes(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    return _digest(a) == _digest(b)


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 * MB), b""):
            h.update(chunk)
    return h.hexdigest()


def add_to_inbox(staged: Path, wanted: str, work: WorkDir) -> tuple[str, str]:
    """Put a staged file into the inbox under `wanted` or a numbered variant; never replace.

    Returns:
        (name in the inbox or "" when not saved, note in Chinese).
    """
    inbox = work.inbox
    for n in range(1, _MAX_SUFFIX + 1):
        name = _numbered(wanted, n)
        target = inbox / name
        # The name has no separator and no "..": the target is a direct child of the inbox.
        if target.parent != inbox or not work.inside(target.parent):
            raise UploadError(f"文件名“{wanted}”无法使用")
        if target.exists() or target.is_symlink():
            if target.is_file() and not target.is_symlink() and _same_bytes(target, staged):
                return "", f"收件箱中已有内容完全相同的“{name}”，未重复保存"
            continue
        if not place_new(staged, target):
            continue
        if n == 1:
            return name, "已保存"
        return name, f"收件箱中已有同名文件，已另存为“{name}”"
    raise UploadError(f"收件箱中“{wanted}”的同名文件太多，请改名后再上传")


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    data: bytearray = field(default_factory=bytearray)
    size: int = 0
    staged: Path | None = None
    handle: object = None
    modified: float | None = None


class _Receiver:
    """python-multipart callbacks: fields kept in memory, files streamed to DIR's scratch folder."""

    def __init__(self, work: WorkDir, limits: UploadLimits, csrf_ok: Callable[[str], bool], csrf_checked: bool,
                 now: dt.datetime):
        self.work, self.limits, self.csrf_ok, self.csrf_checked, self.now = work, limits, csrf_ok, csrf_checked, now
        self.part = _Part()
        self.header_name = b""
        self.header_value = b""
        self.files: list[_Part] = []
        self.pending_modified: float | None = None
        self.ended = False

    # -- callbacks

    def on_part_begin(self) -> None:
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.part.headers.append((self.header_name.lower(), self.header_value))
        self.header_name = self.header_value = b""

    def on_headers_finished(self) -> None:
        disposition = dict(self.part.headers).get(b"content-disposition", b"")
        _, options = parse_options_header(disposition)
        if b"name" not in options:
            raise UploadError("上传的表单格式不对（缺少字段名），请刷新页面后重试")
        self.part.name = decode_text(options[b"name"])
        if b"filename" not in options:
            return
        self.part.filename = decode_text(options[b"filename"])
        if not self.csrf_checked:
            raise UploadError("页面已过期（缺少安全校验码），请刷新页面后重新上传", 403)
        if not self.part.filename:
            return  # the form was sent with no file chosen
        if len(self.files) >= self.limits.files:
            raise UploadError(f"一次最多上传 {self.limits.files} 个文件，请分批上传", 413)
        self.part.modified, self.pending_modified = self.pending_modified, None
        self.part.staged = self.work.scratch / f"upload-{secrets.token_hex(8)}.part"
        self.part.handle = open(self.part.staged, "xb")
        self.files.append(self.part)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        part = self.part
        if part.handle is None:
            if part.filename is not None:
                return  # the empty file part of a form sent with no file chosen
            if len(part.data) + len(chunk) > MAX_FIELD_BYTES:
                raise UploadError("上传的表单格式不对（字段过长），请刷新页面后重试")
            part.data.extend(chunk)
            return
        part.size += len(chunk)
        if part.size > self.limits.file_bytes:
            raise UploadError(f"文件“{part.filename}”超过单个文件 {_mb(self.limits.file_bytes)} 的上限，未上传任何文件",
                              413)
        part.handle.write(chunk)

    def on_part_end(self) -> None:
        part = self.part
        if part.handle is not None:
            part.handle.close()
            part.handle = None
            if part.modified is not None:
                os.utime(part.staged, (part.modified, part.modified))
            return
        if part.filename is not None:
            return
        value = decode_text(bytes(part.data))
        if part.name == "csrf":
            if not self.csrf_ok(value):
                raise UploadError("页面已过期（安全校验码不符），请刷新页面后重新上传", 403)
            self.csrf_checked = True
        elif part.name == "modified":
            self.pending_modified = _modified(value, self.now)

    def on_end(self) -> None:
        self.ended = True

    def callbacks(self) -> dict:
        return {name: getattr(self, name) for name in (
            "on_part_begin", "on_header_field", "on_header_value", "on_header_end", "on_headers_finished",
            "on_part_data", "on_part_end", "on_end")}

    def discard(self) -> None:
        for part in self.files:
            if part.handle is not None:
                part.handle.close()
            if part.staged is not None and part.staged.exists():
                part.staged.unlink()


def _modified(value: str, now: dt.datetime) -> float | None:
    """The file's own time as the browser reports it (ms since 1970), when plausible.

    Kept as the inbox file's modification time, as copying a file by hand would: the inbox
    takes a plain file's received time from it.
    """
    try:
        seconds = int(value.strip()) / 1000
    except ValueError:
        return None
    earliest = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc).timestamp()
    latest = now.timestamp() + 24 * 3600
    return seconds if earliest <= seconds <= latest else None


def _mb(size: int) -> str:
    return f"{size / MB:g} MB" if size >= MB else f"{size} 字节"


async def receive_uploads(headers, stream: AsyncIterator[bytes], work: WorkDir, limits: UploadLimits, *,
                          csrf_ok: Callable[[str], bool], csrf_header: str | None,
                          now: dt.datetime) -> list[Saved]:
    """Read a multipart/form-data upload and add its files to the inbox.

    The CSRF token comes in the ``X-CSRF-Token`` header or as the field ``csrf`` before the first
    file (a page's form puts it first), so no file byte is written before it is checked.

    Args:
        headers: the request headers.
        stream: the request body, chunk by chunk.
        work: the working folder.
        limits: the caps.
        csrf_ok: checks a CSRF token.
        csrf_header: the ``X-CSRF-Token`` header, if any.
        now: the current time (bounds the files' own times).

    Returns:
        One Saved per file, in the order sent.

    Raises:
        UploadError: too large, too many files, a bad form or CSRF token; nothing is saved.
    """
    ctype, params = parse_options_header(headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise UploadError("上传的表单格式不对，请用页面上的“选择文件”或拖放上传")
    declared = headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limits.total_bytes:
        raise UploadError(f"一次上传的文件合计超过 {_mb(limits.total_bytes)} 的上限，请分批上传", 413)
    csrf_checked = csrf_header is not None and csrf_ok(csrf_header)
    if csrf_header is not None and not csrf_checked:
        raise UploadError("页面已过期（安全校验码不符），请刷新页面后重新上传", 403)
    work.scratch.mkdir(exist_ok=True)
    receiver = _Receiver(work, limits, csrf_ok, csrf_checked, now)
    parser = MultipartParser(params[b"boundary"], receiver.callbacks())
    received = 0
    try:
        async for chunk in stream:
            received += len(chunk)
            if received > limits.total_bytes:
                raise UploadError(f"一次上传的文件合计超过 {_mb(limits.total_bytes)} 的上限，请分批上传", 413)
            for start in range(0, len(chunk), _READ_CHUNK):
                parser.write(chunk[start:start + _READ_CHUNK])
        parser.finalize()
        if not receiver.ended:
            raise UploadError("上传没有完成（连接中断或内容不完整），未保存任何文件，请重新上传")
        if not receiver.csrf_checked:
            raise UploadError("页面已过期（缺少安全校验码），请刷新页面后重新上传", 403)
        saved = []
        for part in receiver.files:
            name, note = add_to_inbox(part.staged, upload_name(part.filename), work)
            saved.append(Saved(original=part.filename, name=name, size=part.size, note=note))
        return saved
    except FormParserError:
        raise UploadError("上传的内容不完整或格式不对，请重新上传") from None
    finally:
        receiver.discard()
