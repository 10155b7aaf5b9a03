"""Scanning the inbox: every file, archive member and e-mail attachment as a document.

The department saves whatever the units send into one folder: workbooks, zip files (names
usually GBK-encoded by Windows), saved e-mails with the workbooks attached, and clutter.
:func:`scan_inbox` lists every file, every archive member and every e-mail attachment as one
:class:`Document` each, with its real format sniffed from the bytes and a plain Chinese note,
so that the 文件清单 sheet can show everything found and nothing is silently left out.

The inbox is only ever read: files are opened read-only, archives are unpacked in memory and
nothing is written or extracted to disk. Everything in it is untrusted (zip bombs, ``../``
member names, broken MIME, symlinks), so every limit is a named constant and every
failure while handling one file becomes that file's ``unreadable`` row, never an exception
(the limits are named in :mod:`ledgerbook.inbox.limits`).

Only the standard library and ``msoffcrypto-tool`` are used here.
"""

from __future__ import annotations

import dataclasses
import datetime
import email.policy
import hashlib
import io
import os
import stat
import zipfile
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from pathlib import Path

from ..errors import InboxError
from ..text import OFFICE_TZ
from . import limits
from .document import CONTAINER, IGNORED, REPORT, UNREADABLE, Document
from .mime import (
    attachment_name, attachment_parts, default_attachment_name, defect_note, is_message, is_signature, mail_date,
    mail_sender, mail_subject, part_bytes,
)
from .names import clutter_note, display_fs_name, extension, zip_member_name
from .sniff import sniff_data, sniff_head

__all__ = ["scan_inbox"]


def scan_inbox(inbox: str | Path) -> list[Document]:
    """List every file of the inbox and every member/attachment inside it.

    Args:
        inbox: the inbox folder, searched recursively. It is only read, never changed.

    Returns:
        One :class:`Document` per file, archive member and e-mail attachment (containers
        included), sorted by ``path``. Bad content never raises: it becomes an
        ``unreadable`` or ``ignored`` row with a Chinese note.

    Raises:
        InboxError: ``inbox`` does not exist or is not a folder.
    """
    root = Path(inbox)
    if not root.is_dir():
        raise InboxError(f"收件文件夹不存在或不是文件夹：{root}")
    scanner = _Scanner(root.resolve())
    scanner.walk(str(root.resolve()), "")
    return sorted(scanner.documents, key=lambda d: d.path)



# --- Scanning ------------------------------------------------------------------------------

@dataclass
class _Origin:
    """Where a document came from: received time and, for e-mail, sender and subject."""

    received: datetime.datetime | None
    sender: str | None = None
    subject: str | None = None
    in_email: bool = False


@dataclass
class _Budget:
    """What one top-level file may still unpack (shared by all its nested containers)."""

    # Read at creation, not at import, so the limits can be tuned (and tested) at run time.
    members: int = field(default_factory=lambda: limits.MAX_MEMBERS)
    unpacked: int = field(default_factory=lambda: limits.MAX_ARCHIVE_TOTAL)



class _Scanner:
    """Walks the inbox and collects documents; holds the scan-wide state."""

    def __init__(self, root: Path):
        self.root = root
        self.documents: list[Document] = []
        self._paths: set[str] = set()
        self._kept = limits.MAX_KEPT_TOTAL

    # -- the folder tree --

    def walk(self, folder: str, prefix: str) -> None:
        """Add every entry of ``folder`` (absolute), recursing; ``prefix`` is its inbox path."""
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            self._add_folder_error(folder, prefix, exc)
            return
        for entry in entries:
            rel = self._unique(prefix + display_fs_name(entry.name))
            try:
                if entry.is_symlink():
                    self._add_special(entry.path, rel, "符号链接，未跟随")
                elif entry.is_dir(follow_symlinks=False):
                    self.walk(entry.path, rel + "/")
                elif entry.is_file(follow_symlinks=False):
                    self._add_plain_file(entry.path, rel)
                else:
                    self._add_special(entry.path, rel, "不是普通文件（管道、设备或套接字），已忽略")
            except Exception as exc:  # noqa: BLE001 - one bad file must not stop the scan
                self._add(_error_doc(rel, exc, fs_path=entry.path))

    def _add_folder_error(self, folder: str, prefix: str, exc: OSError) -> None:
        if not prefix:  # the inbox itself could not be listed: nothing else to report
            raise InboxError(f"收件文件夹无法打开：{folder}（{type(exc).__name__}）") from exc
        self._add(Document(
            path=prefix.rstrip("/"), size=0, sha256="", received=_lstat_mtime(folder),
            kind=UNREADABLE, format="folder",
            note=f"文件夹无法打开（{_os_error_text(exc)}），其中的文件未能列出"))

    def _add_special(self, fs_path: str, rel: str, note: str) -> None:
        st = os.lstat(fs_path)
        self._add(Document(path=rel, size=st.st_size, sha256="", received=_local(st.st_mtime),
                           kind=IGNORED, format="link" if stat.S_ISLNK(st.st_mode) else "special",
                           note=note))

    def _add_plain_file(self, fs_path: str, rel: str) -> None:
        st = os.lstat(fs_path)
        origin = _Origin(received=_local(st.st_mtime))
        try:
            f = _open_readonly(fs_path)
        except OSError as exc:
            self._add(Document(path=rel, size=st.st_size, sha256="", received=origin.received,
                               kind=UNREADABLE, format=extension(rel) or "unknown",
                               note=f"文件无法打开（{_os_error_text(exc)}），无法读取",
                               fs_path=fs_path))
            return
        with f:
            if st.st_size > limits.MAX_PLAIN_READ:
                self._add(_big_plain_document(f, rel, origin, fs_path))
                return
            data = f.read()
        docs = self.classify(rel, data, origin, parent=None, depth=0, budget=_Budget())
        # Plain files are re-read via fs_path when needed: keeping 5,000 files' bytes would
        # cost as much memory as the inbox is large.
        docs[0] = dataclasses.replace(docs[0], data=None, fs_path=fs_path)
        for doc in docs:
            self._add(doc)

    # -- one file's bytes --

    def classify(self, path: str, data: bytes, origin: _Origin, parent: str | None,
                 depth: int, budget: _Budget) -> list[Document]:
        """Turn one file's bytes into its Document, followed by its members if a container."""
        sha = hashlib.sha256(data).hexdigest()
        base = dict(path=path, size=len(data), sha256=sha, received=origin.received,
                    sender=origin.sender, subject=origin.subject, parent=parent, data=data)
        if parent is not None and not self._keep(data):
            return [Document(**{**base, "data": None}, kind=UNREADABLE, format=extension(path) or "unknown",
                             note=f"收件箱中压缩包和邮件附件的总量超过 {limits.MAX_KEPT_TOTAL // limits.MB} MB 上限，"
                                  "此文件未处理，请单独发送")]
        try:
            clutter = clutter_note(path)
            sniff = sniff_data(path, data)
            if clutter:
                return [Document(**base, kind=IGNORED, format=sniff.format, note=clutter)]
            if sniff.kind != CONTAINER:
                return [Document(**base, kind=sniff.kind, format=sniff.format, note=sniff.note,
                                 encrypted=sniff.encrypted)]
            if depth >= limits.MAX_DEPTH:
                return [Document(**base, kind=UNREADABLE, format=sniff.format,
                                 note=f"{_container_word(sniff.format)}嵌套超过 {limits.MAX_DEPTH} 层，未打开，"
                                      "请把其中的文件直接发送")]
            if sniff.format == "zip":
                return self._expand_zip(base, data, origin, depth, budget)
            return self._expand_eml(base, data, origin, depth, budget)
        except Exception as exc:  # noqa: BLE001 - bad content becomes a row, never a crash
            return [_error_doc(path, exc, base=base)]

    def _keep(self, data: bytes) -> bool:
        """Whether a member's bytes fit in the scan-wide memory budget (and reserve them)."""
        if len(data) > self._kept:
            return False
        self._kept -= len(data)
        return True

    # -- zip archives --

    def _expand_zip(self, base: dict, data: bytes, origin: _Origin, depth: int,
                    budget: _Budget) -> list[Document]:
        path = base["path"]
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
            return [Document(**base, kind=UNREADABLE, format="zip",
                             note=f"压缩包已损坏，无法打开（{type(exc).__name__}），请重新压缩后发送")]
        with zf:
            members = [i for i in zf.infolist() if not i.is_dir()]
            children: list[Document] = []
            listed = 0
            for info in members:
                if budget.members <= 0:
                    break
                budget.members -= 1
                listed += 1
                children.extend(self._zip_member(zf, info, path, origin, depth, budget))
            skipped = len(members) - listed
            if skipped:
                children.append(self._skipped_row(path, skipped, origin))
        note = f"压缩包，内含 {len(members)} 个文件"
        if skipped:
            note += f"（超过 {limits.MAX_MEMBERS} 个的上限，{skipped} 个未列出）"
        return [Document(**base, kind=CONTAINER, format="zip", note=note), *children]

    def _skipped_row(self, path: str, skipped: int, origin: _Origin) -> Document:
        return Document(
            path=self._unique(f"{path}/（其余 {skipped} 个成员未列出）"), size=0, sha256="",
            received=origin.received, sender=origin.sender, subject=origin.subject, parent=path,
            kind=UNREADABLE, format="unknown",
            note=f"成员超过 {limits.MAX_MEMBERS} 个的上限，其余 {skipped} 个未处理，请分批发送")

    def _zip_member(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, parent: str,
                    origin: _Origin, depth: int, budget: _Budget) -> list[Document]:
        name, name_note = zip_member_name(info)
        path = self._unique(f"{parent}/{name}")
        try:
            problem = _zip_member_problem(info, budget)
            if problem:
                return [self._member_error(path, parent, origin, info.file_size, problem)]
            member = _read_member(zf, info, min(limits.MAX_MEMBER_SIZE, budget.unpacked))
            if member is None:
                return [self._member_error(path, parent, origin, info.file_size,
                                           "解压后超过大小上限，疑似压缩炸弹，未处理")]
            budget.unpacked -= len(member)
            docs = self.classify(path, member, origin, parent, depth + 1, budget)
        except Exception as exc:  # noqa: BLE001 - a damaged member is that member's row
            return [self._member_error(path, parent, origin, info.file_size,
                                       f"压缩包成员已损坏，无法解压（{type(exc).__name__}: {exc}）")]
        if name_note:
            docs[0] = dataclasses.replace(docs[0], note=f"{docs[0].note}；{name_note}")
        return docs

    def _member_error(self, path: str, parent: str, origin: _Origin, size: int,
                      note: str) -> Document:
        return Document(path=path, size=size, sha256="", received=origin.received,
                        sender=origin.sender, subject=origin.subject, parent=parent,
                        kind=UNREADABLE, format=extension(path) or "unknown", note=note)

    # -- e-mail --

    def _expand_eml(self, base: dict, data: bytes, origin: _Origin, depth: int,
                    budget: _Budget) -> list[Document]:
        path = base["path"]
        if len(data) > limits.MAX_EML_SIZE:
            return [Document(**base, kind=UNREADABLE, format="eml",
                             note=f"邮件文件过大（超过 {limits.MAX_EML_SIZE // limits.MB} MB），未打开")]
        notes: list[str] = []
        msg = BytesParser(policy=email.policy.default).parsebytes(data)
        sender, subject = mail_sender(msg), mail_subject(msg)
        received = mail_date(msg)
        if received is None:
            received = origin.received
            notes.append("邮件日期缺失或无法识别，" +
                         ("按外层邮件日期计" if origin.in_email else "按文件修改时间计"))
        mail_origin = _Origin(received, sender, subject, in_email=True)
        base = {**base, "received": received, "sender": sender, "subject": subject}
        children: list[Document] = []
        count = skipped = 0
        for part in attachment_parts(msg, notes):
            if budget.members <= 0:
                skipped += 1
                continue
            budget.members -= 1
            count += 1
            try:
                children.extend(self._attachment(part, count, path, mail_origin, depth, budget))
            except Exception as exc:  # noqa: BLE001 - one broken part is that part's row
                children.append(self._member_error(self._unique(f"{path}/附件{count}"), path,
                                                   mail_origin, 0,
                                                   f"附件无法读取（{type(exc).__name__}: {exc}）"))
        if skipped:
            children.append(self._skipped_row(path, skipped, mail_origin))
        defects = defect_note(msg)
        if defects:
            notes.append(defects)
        head = f"邮件（发件人 {sender or '未知'}，主题“{subject or '无'}”），含 {count} 个附件"
        note = "；".join([head, *notes])
        return [Document(**base, kind=CONTAINER, format="eml", note=note), *children]

    def _attachment(self, part: Message, number: int, parent: str, origin: _Origin,
                    depth: int, budget: _Budget) -> list[Document]:
        try:
            payload = part_bytes(part)
        except Exception as exc:  # noqa: BLE001 - an undecodable part is that part's row
            name = attachment_name(part) or f"附件{number}"
            return [self._member_error(self._unique(f"{parent}/{name}"), parent, origin, 0,
                                       f"附件无法解码（{type(exc).__name__}: {exc}）")]
        name = attachment_name(part) or default_attachment_name(part, number, payload)
        if is_message(part) and not name.lower().endswith(".eml"):
            name += ".eml"  # an attached e-mail must be opened as one whatever it is called
        path = self._unique(f"{parent}/{name}")
        if len(payload) > min(limits.MAX_MEMBER_SIZE, budget.unpacked):
            return [self._member_error(path, parent, origin, len(payload),
                                       f"附件过大（{len(payload) / limits.MB:.0f} MB，超过 "
                                       f"{limits.MAX_MEMBER_SIZE // limits.MB} MB 上限），未处理")]
        budget.unpacked -= len(payload)
        if is_signature(part):
            return [Document(path=path, size=len(payload),
                             sha256=hashlib.sha256(payload).hexdigest(),
                             received=origin.received, sender=origin.sender,
                             subject=origin.subject, parent=parent, kind=IGNORED,
                             format="signature", note="邮件数字签名，已忽略")]
        return self.classify(path, payload, origin, parent, depth + 1, budget)

    # -- bookkeeping --

    def _unique(self, path: str) -> str:
        """Make ``path`` unique in the scan: same-named attachments get " (2)", " (3)"…"""
        if path not in self._paths:
            self._paths.add(path)
            return path
        stem, dot, ext = path.rpartition(".")
        if not dot or "/" in ext:
            stem, ext = path, ""
        n = 2
        while (candidate := f"{stem} ({n}){'.' + ext if ext else ''}") in self._paths:
            n += 1
        self._paths.add(candidate)
        return candidate

    def _add(self, doc: Document) -> None:
        self._paths.add(doc.path)
        self.documents.append(doc)



# --- Plain-file helpers ---------------------------------------------------------------------

def _open_readonly(fs_path: str) -> io.BufferedReader:
    """Open for reading without following a symlink and, where allowed, without touching atime."""
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    noatime = getattr(os, "O_NOATIME", 0)
    try:
        fd = os.open(fs_path, flags | noatime)
    except PermissionError:
        if not noatime:
            raise
        fd = os.open(fs_path, flags)  # O_NOATIME needs file ownership; plain read-only is fine
    return os.fdopen(fd, "rb")


def _big_plain_document(f: io.BufferedReader, rel: str, origin: _Origin, fs_path: str) -> Document:
    """A file too big to read whole: hash it in chunks and judge it by its first bytes."""
    sha = hashlib.sha256()
    head = b""
    size = 0
    while chunk := f.read(limits.CHUNK_BYTES):
        if not head:
            head = chunk[:limits.HEAD_BYTES]
        sha.update(chunk)
        size += len(chunk)
    sniff = sniff_head(rel, head)
    kind, note = sniff.kind, sniff.note
    if kind != REPORT and kind != IGNORED:
        kind = UNREADABLE
        note = (f"文件过大（{size / limits.MB:.0f} MB，超过 {limits.MAX_PLAIN_READ // limits.MB} MB 的处理上限），未打开；"
                "台账文件通常只有几十 KB，请核对后重新报送")
    return Document(path=rel, size=size, sha256=sha.hexdigest(), received=origin.received,
                    kind=kind, format=sniff.format, note=note, fs_path=fs_path)


def _lstat_mtime(fs_path: str) -> datetime.datetime | None:
    try:
        return _local(os.lstat(fs_path).st_mtime)
    except OSError:
        return None


def _local(timestamp: float) -> datetime.datetime:
    """A POSIX timestamp as a naive datetime on the office's clock."""
    return datetime.datetime.fromtimestamp(timestamp, OFFICE_TZ).replace(tzinfo=None)


def _os_error_text(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "没有读取权限"
    return f"{type(exc).__name__}: {exc.strerror or exc}"


def _error_doc(path: str, exc: Exception, base: dict | None = None,
               fs_path: str | None = None) -> Document:
    """The row for a file whose handling raised: unreadable, naming the exception type."""
    fields = dict(base) if base else dict(path=path, size=0, sha256="", received=None)
    if fs_path is not None:
        fields["fs_path"] = fs_path
    return Document(**fields, kind=UNREADABLE, format=extension(path) or "unknown",
                    note=f"处理时出错（{type(exc).__name__}: {exc}），无法读取")



# --- Zip members ---------------------------------------------------------------------------

_ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}


def _zip_member_problem(info: zipfile.ZipInfo, budget: _Budget) -> str | None:
    """Why a member must not be unpacked (from its header alone), or None."""
    if info.flag_bits & 0x1:
        return "压缩包成员已加密（设置了解压密码），无法读取，请不加密码重新压缩后发送"
    if info.compress_type not in _ZIP_METHODS:
        return f"压缩方式不受支持（方法 {info.compress_type}），请用普通 zip 格式重新压缩后发送"
    if info.file_size > limits.MAX_MEMBER_SIZE:
        return (f"解压后将有 {info.file_size / limits.MB:.0f} MB，超过 {limits.MAX_MEMBER_SIZE // limits.MB} MB 上限，"
                "疑似压缩炸弹，未解压")
    if info.file_size > limits.RATIO_MIN_SIZE and info.file_size > limits.MAX_RATIO * max(info.compress_size, 1):
        return (f"压缩比异常（{info.file_size // max(info.compress_size, 1)}:1），"
                "疑似压缩炸弹，未解压")
    if info.file_size > budget.unpacked:
        return f"压缩包解压总量超过 {limits.MAX_ARCHIVE_TOTAL // limits.MB} MB 上限，此成员未处理"
    return None


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes | None:
    """Read a member in chunks, giving up past ``limit`` so a lying header cannot blow memory."""
    chunks: list[bytes] = []
    total = 0
    with zf.open(info) as f:
        while chunk := f.read(limits.CHUNK_BYTES):
            total += len(chunk)
            if total > limit:
                return None
            chunks.append(chunk)
    return b"".join(chunks)


def _container_word(fmt: str) -> str:
    return "邮件" if fmt == "eml" else "压缩包"
