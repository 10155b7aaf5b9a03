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

Beyond the standard library, ``msoffcrypto-tool`` tells encryption and ``olefile`` opens
Outlook items.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import email.policy
import hashlib
import io
import os
import stat
import struct
import zipfile
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from pathlib import Path

from ..errors import InboxError
from ..text import OFFICE_TZ
from . import limits
from .document import CONTAINER, IGNORED, LEDGER, REPORT, UNREADABLE, Document
from .mime import (
    attachment_name, attachment_parts, default_attachment_name, default_name, defect_note, is_message,
    is_signature, mail_date, mail_sender, mail_subject, part_bytes,
)
from .msg import MsgAttachment, MsgError, MsgMessage, read_msg
from .names import clean_component, clutter_note, display_fs_name, extension, zip_member_name
from .saved import workbook_saved
from .sniff import sniff_data, sniff_head
from .tnef import TnefError, read_tnef

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
    dated_by_email: bool = False   # ``received`` is an e-mail's date, not a stand-in file time

    def fields(self) -> dict:
        return dict(received=self.received, sender=self.sender, subject=self.subject,
                    dated_by_email=self.dated_by_email)


@dataclass(frozen=True)
class _Nesting:
    """How deep a document lies: in archives (zip) and in messages (e-mail, Outlook item,
    winmail.dat). Each has its own bound: forwards nest deeply, zips do not."""

    archives: int = 0
    messages: int = 0

    def inside(self, fmt: str) -> "_Nesting":
        if fmt == "zip":
            return _Nesting(self.archives + 1, self.messages)
        return _Nesting(self.archives, self.messages + 1)

    def too_deep(self, fmt: str) -> str | None:
        """Why a container of ``fmt`` at this depth is not opened, or None."""
        if fmt == "zip" and self.archives >= limits.MAX_DEPTH:
            return f"压缩包嵌套超过 {limits.MAX_DEPTH} 层，未打开，请把其中的文件直接发送"
        if fmt != "zip" and self.messages >= limits.MAX_MESSAGE_DEPTH:
            return (f"邮件层层转发超过 {limits.MAX_MESSAGE_DEPTH} 层，最里层未打开，"
                    "请把其中的附件直接发送")
        return None


@dataclass
class _Budget:
    """What one top-level file may still unpack (shared by all its nested containers)."""

    # Read at creation, not at import, so the limits can be tuned (and tested) at run time.
    members: int = field(default_factory=lambda: limits.MAX_MEMBERS)
    unpacked: int = field(default_factory=lambda: limits.MAX_ARCHIVE_TOTAL)
    file_size: int = 0   # bytes of the top-level file: nothing unpacked without compression can exceed it



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
        docs = self.classify(rel, data, origin, parent=None, depth=_Nesting(), budget=_Budget(file_size=len(data)))
        # Plain files are re-read via fs_path when needed: keeping 5,000 files' bytes would
        # cost as much memory as the inbox is large.
        docs[0] = dataclasses.replace(docs[0], data=None, fs_path=fs_path)
        for doc in docs:
            self._add(doc)

    # -- one file's bytes --

    def classify(self, path: str, data: bytes, origin: _Origin, parent: str | None,
                 depth: _Nesting, budget: _Budget) -> list[Document]:
        """Turn one file's bytes into its Document, followed by its members if a container."""
        sha = hashlib.sha256(data).hexdigest()
        base = dict(path=path, size=len(data), sha256=sha, **origin.fields(), parent=parent, data=data)
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
                saved = _saved(data, sniff.format) if sniff.kind == LEDGER else None
                return [Document(**base, kind=sniff.kind, format=sniff.format, note=sniff.note,
                                 encrypted=sniff.encrypted, saved=saved)]
            too_deep = depth.too_deep(sniff.format)
            if too_deep:
                return [Document(**base, kind=UNREADABLE, format=sniff.format, note=too_deep)]
            inner = depth.inside(sniff.format)
            if sniff.format == "zip":
                return self._expand_zip(base, data, origin, inner, budget)
            if sniff.format == "msg":
                return self._expand_msg(base, data, origin, inner, budget)
            if sniff.format == "winmail":
                return self._expand_tnef(base, data, origin, inner, budget)
            return self._expand_eml(base, data, origin, inner, budget)
        except Exception as exc:  # noqa: BLE001 - bad content becomes a row, never a crash
            return [_error_doc(path, exc, base=base)]

    def _keep(self, data: bytes) -> bool:
        """Whether a member's bytes fit in the scan-wide memory budget (and reserve them)."""
        if len(data) > self._kept:
            return False
        self._kept -= len(data)
        return True

    # -- zip archives --

    def _expand_zip(self, base: dict, data: bytes, origin: _Origin, depth: _Nesting,
                    budget: _Budget) -> list[Document]:
        path = base["path"]
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
            return [Document(**base, kind=UNREADABLE, format="zip",
                             note=f"压缩包已损坏，无法打开（{type(exc).__name__}），请重新压缩后发送")]
        with zf:
            members = [i for i in zf.infolist() if not _is_folder(i)]
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
            **origin.fields(), parent=path, kind=UNREADABLE, format="unknown",
            note=f"成员超过 {limits.MAX_MEMBERS} 个的上限，其余 {skipped} 个未处理，请分批发送")

    def _zip_member(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, parent: str,
                    origin: _Origin, depth: _Nesting, budget: _Budget) -> list[Document]:
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
            docs = self.classify(path, member, origin, parent, depth, budget)
        except Exception as exc:  # noqa: BLE001 - a damaged member is that member's row
            return [self._member_error(path, parent, origin, info.file_size,
                                       f"压缩包成员已损坏，无法解压（{type(exc).__name__}），"
                                       "请重新压缩后发送")]
        if name_note:
            docs[0] = dataclasses.replace(docs[0], note=f"{docs[0].note}；{name_note}")
        return docs

    def _member_error(self, path: str, parent: str, origin: _Origin, size: int,
                      note: str) -> Document:
        return Document(path=path, size=size, sha256="", **origin.fields(), parent=parent,
                        kind=UNREADABLE, format=extension(path) or "unknown", note=note)

    # -- e-mail --

    def _expand_eml(self, base: dict, data: bytes, origin: _Origin, depth: _Nesting,
                    budget: _Budget) -> list[Document]:
        path = base["path"]
        if len(data) > limits.MAX_EML_SIZE:
            return [Document(**base, kind=UNREADABLE, format="eml",
                             note=f"邮件文件过大（超过 {limits.MAX_EML_SIZE // limits.MB} MB），未打开")]
        notes: list[str] = []
        msg = BytesParser(policy=email.policy.default).parsebytes(data)
        sender, subject = mail_sender(msg), mail_subject(msg)
        mail_origin, missing = _mail_origin(mail_date(msg), sender, subject, origin)
        if missing:
            notes.append("邮件日期缺失或无法识别，" + missing)
        base = {**base, **mail_origin.fields()}
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
                                                   f"附件无法读取（{type(exc).__name__}）"))
        if skipped:
            children.append(self._skipped_row(path, skipped, mail_origin))
        defects = defect_note(msg)
        if defects:
            notes.append(defects)
        head = f"邮件（发件人 {sender or '未知'}，主题“{subject or '无'}”），含 {count} 个附件"
        note = "；".join([head, *notes])
        return [Document(**base, kind=CONTAINER, format="eml", note=note), *children]

    def _attachment(self, part: Message, number: int, parent: str, origin: _Origin,
                    depth: _Nesting, budget: _Budget) -> list[Document]:
        try:
            payload = part_bytes(part)
        except Exception as exc:  # noqa: BLE001 - an undecodable part is that part's row
            name = attachment_name(part) or f"附件{number}"
            return [self._member_error(self._unique(f"{parent}/{name}"), parent, origin, 0,
                                       f"附件无法解码（{type(exc).__name__}）")]
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
                             **origin.fields(), parent=parent, kind=IGNORED,
                             format="signature", note="邮件数字签名，已忽略")]
        return self.classify(path, payload, origin, parent, depth, budget)

    # -- Outlook items (.msg) --

    def _expand_msg(self, base: dict, data: bytes, origin: _Origin, depth: _Nesting,
                    budget: _Budget) -> list[Document]:
        if len(data) > limits.MAX_EML_SIZE:
            return [Document(**base, kind=UNREADABLE, format="msg",
                             note=f"邮件文件过大（超过 {limits.MAX_EML_SIZE // limits.MB} MB），未打开")]
        try:
            item = read_msg(data)
        except MsgError as exc:
            return [Document(**base, kind=UNREADABLE, format="msg",
                             note=f"{exc}；请在 Outlook 中把邮件另存为 .eml，或把附件直接发送")]
        return self._msg_item(base, item, origin, depth, budget)

    def _msg_item(self, base: dict, item: MsgMessage, origin: _Origin, depth: _Nesting,
                  budget: _Budget) -> list[Document]:
        """An Outlook item (a file, or an item attached to one) and its attachments."""
        path = base["path"]
        sent = item.sent.astimezone(OFFICE_TZ).replace(tzinfo=None) if item.sent else None
        mail_origin, missing = _mail_origin(sent, item.sender, item.subject, origin)
        notes = [f"邮件发送时间缺失（可能是未发出的草稿），{missing}"] if missing else []
        base = {**base, **mail_origin.fields()}
        children: list[Document] = []
        count = skipped = 0
        for attachment in item.attachments:
            if budget.members <= 0:
                skipped += 1
                continue
            budget.members -= 1
            count += 1
            try:
                children.extend(self._msg_attachment(attachment, path, mail_origin, depth, budget))
            except Exception as exc:  # noqa: BLE001 - one broken attachment is that attachment's row
                children.append(self._member_error(self._unique(f"{path}/附件{count}"), path, mail_origin, 0,
                                                   f"附件无法读取（{type(exc).__name__}）"))
        if skipped:
            children.append(self._skipped_row(path, skipped, mail_origin))
        head = (f"Outlook 邮件（发件人 {item.sender or '未知'}，主题“{item.subject or '无'}”），"
                f"含 {count} 个附件")
        note = "；".join([head, *notes])
        return [Document(**base, kind=CONTAINER, format="msg", note=note), *children]

    def _msg_attachment(self, attachment: MsgAttachment, parent: str, origin: _Origin,
                        depth: _Nesting, budget: _Budget) -> list[Document]:
        number = attachment.number
        if attachment.is_message:
            return self._msg_embedded(attachment, parent, origin, depth, budget)
        if attachment.ole_streams:
            # An object pasted into a rich-text body: a storage, not a file; a workbook among
            # them is a ledger that cannot be read this way.
            sheet = bool(attachment.ole_streams & {"workbook", "book"})
            name = clean_component(attachment.name or f"附件{number}")
            return [Document(path=self._unique(f"{parent}/{name}"), size=attachment.size, sha256="",
                             **origin.fields(), parent=parent, kind=UNREADABLE if sheet else IGNORED,
                             format="ole",
                             note=("邮件正文中嵌入的 Excel 表格对象，无法单独读取，请把表格作为普通附件发送" if sheet
                                   else "邮件正文中嵌入的对象（OLE），不是台账，已忽略"))]
        limit = min(limits.MAX_MEMBER_SIZE, budget.unpacked)
        name = attachment.name
        if attachment.size > limit or attachment.size > budget.file_size:
            path = self._unique(f"{parent}/{clean_component(name or f'附件{number}')}")
            if attachment.size > budget.file_size:
                return [self._member_error(path, parent, origin, 0, "附件数据已损坏（大小超过邮件文件本身），无法读取")]
            return [self._member_error(path, parent, origin, attachment.size,
                                       f"附件过大（{attachment.size / limits.MB:.0f} MB，超过 "
                                       f"{limits.MAX_MEMBER_SIZE // limits.MB} MB 上限），未处理")]
        try:
            payload = attachment.read()
        except MsgError as exc:
            path = self._unique(f"{parent}/{clean_component(name or f'附件{number}')}")
            return [self._member_error(path, parent, origin, attachment.size, str(exc))]
        budget.unpacked -= len(payload)
        name = clean_component(name) if name else default_name(number, attachment.mime_type, payload)
        return self.classify(self._unique(f"{parent}/{name}"), payload, origin, parent, depth, budget)

    def _msg_embedded(self, attachment: MsgAttachment, parent: str, origin: _Origin,
                      depth: _Nesting, budget: _Budget) -> list[Document]:
        """An Outlook item attached to an Outlook item (forwarded "as an attachment")."""
        name = clean_component(attachment.name or f"附件{attachment.number}")
        if not name.lower().endswith(".msg"):
            name += ".msg"  # it is opened as an Outlook item whatever it is called
        path = self._unique(f"{parent}/{name}")
        too_deep = depth.too_deep("msg")
        if too_deep:
            return [self._member_error(path, parent, origin, attachment.size, too_deep)]
        try:
            item = attachment.open_message()
            size, digest = item.fingerprint()
        except MsgError as exc:
            return [self._member_error(path, parent, origin, attachment.size, str(exc))]
        budget.unpacked -= size
        base = dict(path=path, size=size, sha256=digest, **origin.fields(), parent=parent, data=None)
        return self._msg_item(base, item, origin, depth.inside("msg"), budget)

    # -- winmail.dat (TNEF) --

    def _expand_tnef(self, base: dict, data: bytes, origin: _Origin, depth: _Nesting,
                     budget: _Budget) -> list[Document]:
        path = base["path"]
        try:
            item = read_tnef(data)
        except TnefError as exc:
            return [Document(**base, kind=UNREADABLE, format="winmail", note=str(exc))]
        sent = item.sent.astimezone(OFFICE_TZ).replace(tzinfo=None) if item.sent else None
        if sent is None or origin.dated_by_email:
            # Inside an e-mail (as it nearly always is) the e-mail's date, sender and subject stand.
            tnef_origin = dataclasses.replace(origin, in_email=True, sender=origin.sender or item.sender,
                                              subject=origin.subject or item.subject)
        else:
            tnef_origin = _Origin(sent, item.sender, item.subject, in_email=True, dated_by_email=True)
        base = {**base, **tnef_origin.fields()}
        notes = []
        if item.damaged:
            notes.append("数据不完整或已损坏，已尽量读取，附件可能不全")
        if item.bad_checksums:
            notes.append(f"{item.bad_checksums} 处数据校验不符，相应附件可能已损坏")
        children: list[Document] = []
        count = skipped = 0
        for attachment in item.attachments:
            if budget.members <= 0:
                skipped += 1
                continue
            budget.members -= 1
            count += 1
            payload = attachment.data
            name = clean_component(attachment.name) if attachment.name else None
            if attachment.is_message:
                name = (name or f"附件{count}") + ".dat"  # an attached item: a TNEF stream of its own
            child = self._unique(f"{path}/{name or default_name(count, attachment.mime_type, payload)}")
            if len(payload) > min(limits.MAX_MEMBER_SIZE, budget.unpacked):
                children.append(self._member_error(child, path, tnef_origin, len(payload),
                                                   f"附件过大（{len(payload) / limits.MB:.0f} MB，超过 "
                                                   f"{limits.MAX_MEMBER_SIZE // limits.MB} MB 上限），未处理"))
                continue
            budget.unpacked -= len(payload)
            children.extend(self.classify(child, payload, tnef_origin, path, depth, budget))
        if skipped:
            children.append(self._skipped_row(path, skipped, tnef_origin))
        head = f"Outlook 专用附件包（winmail.dat，TNEF 格式），含 {count} 个附件"
        return [Document(**base, kind=CONTAINER, format="winmail", note="；".join([head, *notes])), *children]

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


def _mail_origin(sent: datetime.datetime | None, sender: str | None, subject: str | None,
                 outer: _Origin) -> tuple[_Origin, str | None]:
    """The origin of what a message holds, and (when it has no date) whose date stands in."""
    if sent is not None:
        return _Origin(sent, sender, subject, in_email=True, dated_by_email=True), None
    stand_in = "按外层邮件日期计" if outer.in_email else "按文件修改时间计"
    return _Origin(outer.received, sender, subject, in_email=True, dated_by_email=outer.dated_by_email), stand_in


def _saved(data: bytes, fmt: str) -> datetime.datetime | None:
    """When the unit's program saved this workbook (naive, office clock), or None."""
    when = workbook_saved(data, fmt, OFFICE_TZ)
    return when.astimezone(OFFICE_TZ).replace(tzinfo=None) if when else None


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
    """The row for a file whose handling raised: unreadable, naming the exception type (its
    text, in English and about our code, would only puzzle a clerk)."""
    fields = dict(base) if base else dict(path=path, size=0, sha256="", received=None)
    if fs_path is not None:
        fields["fs_path"] = fs_path
    return Document(**fields, kind=UNREADABLE, format=extension(path) or "unknown",
                    note=f"处理时出错（{type(exc).__name__}），无法读取")



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


def _is_folder(info: zipfile.ZipInfo) -> bool:
    """A folder entry. (ZipInfo.is_dir() fails on a name that starts with NUL: zipfile cuts
    the name at the NUL, and an empty name has no last character.)"""
    return info.orig_filename.endswith(("/", "\\")) and info.file_size == 0


def _local_name_info(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """``info`` with the name its local header holds, when that differs from the directory's.

    Info-ZIP's Windows zip writes a name escaped differently in the local header and in the
    central directory; zipfile refuses such a member ("names differ"). The central name is
    the one shown; the local one only has to match for the data to be read.
    """
    fp = zf.fp
    fp.seek(info.header_offset)
    head = fp.read(30)
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        return info
    name_length = struct.unpack_from("<H", head, 26)[0]
    local = fp.read(name_length)
    flags = struct.unpack_from("<H", head, 6)[0]
    text = local.decode("utf-8" if flags & 0x800 else "cp437", "replace")
    if text == info.orig_filename:
        return info
    twin = copy.copy(info)
    twin.orig_filename = text
    return twin


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes | None:
    """Read a member in chunks, giving up past ``limit`` so a lying header cannot blow memory."""
    chunks: list[bytes] = []
    total = 0
    with zf.open(_local_name_info(zf, info)) as f:
        while chunk := f.read(limits.CHUNK_BYTES):
            total += len(chunk)
            if total > limit:
                return None
            chunks.append(chunk)
    return b"".join(chunks)



