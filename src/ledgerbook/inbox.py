"""Inbox: find every file in the inbox folder and turn it into documents.

The department saves whatever the units send into one folder: workbooks, zip files (names
usually GBK-encoded by Windows), saved e-mails with the workbooks attached, and clutter.
:func:`scan_inbox` lists every file, every archive member and every e-mail attachment as one
:class:`Document` each, with its real format sniffed from the bytes and a plain Chinese note,
so that the 文件清单 sheet can show everything found and nothing is silently left out.

The inbox is only ever read: files are opened read-only, archives are unpacked in memory and
nothing is written or extracted to disk. Everything in it is untrusted (zip bombs, ``../``
member names, broken MIME, symlinks), so every limit below is a named constant and every
failure while handling one file becomes that file's ``unreadable`` row, never an exception.

Only the standard library and ``msoffcrypto-tool`` are used here.
"""

from __future__ import annotations

import codecs
import dataclasses
import datetime
import email.header
import email.policy
import email.utils
import hashlib
import io
import os
import re
import stat
import struct
import urllib.parse
import zipfile
import zlib
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from pathlib import Path

from .errors import InboxError
from .text import OFFICE_TZ, decode_text

__all__ = ["Document", "scan_inbox"]

MB = 1024 * 1024

# --- Safety limits -------------------------------------------------------------------------
# A returned ledger is tens of KB and a self-evaluation report a few MB; the limits leave a
# wide margin for real files while keeping one hostile file from eating the machine.

#: Containers (zip / eml) are opened this many levels deep: a.zip/b.zip/c.zip is opened,
#: a fourth level is listed as unreadable. Nobody nests deeper by hand; zip bombs do.
MAX_DEPTH = 3
#: Members listed per top-level file (nested archives and attachments included): a unit
#: sends a handful of files; thousands mean an accident (a zipped home folder) or an attack.
MAX_MEMBERS = 2_000
#: Archives whose directory declares more entries than this are not opened at all: the zip
#: module builds one object per entry before we could stop, so a directory of a million
#: tiny entries would cost gigabytes.
MAX_ZIP_ENTRIES = 20_000
#: Largest member or attachment kept in memory (uncompressed). Scanned PDF reports stay
#: well below; anything larger is not something this tool should read.
MAX_MEMBER_SIZE = 50 * MB
#: Total uncompressed bytes unpacked from one top-level file, over all its nested members.
MAX_ARCHIVE_TOTAL = 200 * MB
#: Members over RATIO_MIN_SIZE compressing better than this are zip bombs: real workbooks
#: and documents compress 2-20:1, a run of zeros about 1000:1.
MAX_RATIO = 200
RATIO_MIN_SIZE = 1 * MB
#: Members and attachments keep their bytes in the Document; this caps the sum over the
#: whole scan so that many large archives cannot exhaust memory together.
MAX_KEPT_TOTAL = 1024 * MB
#: Plain files up to this size are read in one go (hash and sniff from the same bytes);
#: larger ones are hashed in chunks and classified from their first bytes only.
MAX_PLAIN_READ = 128 * MB
#: A saved e-mail is parsed whole, in memory, several times over by the email package.
MAX_EML_SIZE = 100 * MB
#: MIME parts nested deeper than this are not visited (recursion guard for broken mail).
MAX_MIME_DEPTH = 30
#: Display names longer than this (characters) are shortened, keeping the extension.
MAX_NAME_CHARS = 200

_HEAD = 64 * 1024          # bytes looked at when sniffing text formats
_CHUNK = 1 * MB            # read size for hashing big files and for bounded member reads

# Kinds
LEDGER, REPORT, CONTAINER, IGNORED, UNREADABLE = "ledger", "report", "container", "ignored", "unreadable"

_LEDGER_EXTS = {"xlsx", "xlsm", "xls", "xlsb", "ods", "et", "csv", "xlt", "xltx"}
# Extensions that promise a format: a file whose bytes say otherwise gets a note.
_PROMISING_EXTS = _LEDGER_EXTS | {"docx", "doc", "pdf", "odt", "rtf", "zip", "eml"}
_IMAGE_EXTS = {"png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp", "heic", "heif"}

_NOTE_ENCRYPTED = "文件已加密（设置了打开密码），无法读取，请取消密码后另存为 .xlsx 重新报送"
_NOTE_DOC_ENCRYPTED = "文档已加密（设置了打开密码），无法读取，请取消密码后重新报送"
_NOTE_EMPTY = "空文件（0字节）"
_NOTE_UNKNOWN = "无法识别的文件格式"
_NOTE_REPORT = "文档（Word/PDF），可能是自评报告"
_NOTE_BAD_PATH = "成员路径含 ../ 或绝对路径，已按普通名称处理"


@dataclass(frozen=True)
class Document:
    """One file found in the inbox, or one member of an archive / attachment of an e-mail.

    Attributes:
        path: path inside the inbox with ``/`` separators; members and attachments below
            their container: ``批量.zip/子目录/台账.xlsx``, ``回复.eml/台账.xlsx``,
            ``a.zip/b.zip/c.xlsx``, ``m.eml/inner.eml/x.xlsx``. Unique within a scan.
        size: bytes (for a member that was not unpacked: the size its header declares).
        sha256: hex digest of the bytes; ``""`` when they were not read.
        received: naive datetime on :data:`OFFICE_TZ`: the e-mail's Date for anything that
            came in an e-mail (members of an attached zip too), else the file's mtime.
        kind: ``ledger`` | ``report`` | ``container`` | ``ignored`` | ``unreadable``.
        format: the real format sniffed from the bytes (``xlsx``, ``xls``, ``html``, ``csv``,
            ``zip``, ``eml``, ``pdf``, ``empty``, ``unknown`` …), whatever the extension says.
        note: Chinese: what it is, or why it is ignored or unreadable and what to do.
        sender: the e-mail's From address (lower case) for anything from an e-mail.
        subject: the e-mail's decoded Subject for anything from an e-mail.
        encrypted: the file has an opening password.
        parent: path of the containing zip/eml; None for a file of the folder.
        data: the bytes of a member/attachment (plain files: None, see ``fs_path``).
        fs_path: absolute path on disk of a plain file.
    """

    path: str
    size: int
    sha256: str
    received: datetime.datetime | None
    kind: str
    format: str
    note: str
    sender: str | None = None
    subject: str | None = None
    encrypted: bool = False
    parent: str | None = None
    data: bytes | None = field(default=None, repr=False, compare=False)
    fs_path: str | None = field(default=None, repr=False, compare=False)

    def read_bytes(self) -> bytes:
        """Return the document's bytes.

        Returns:
            ``data`` for archive members and attachments; for a plain file its bytes, read
            again from ``fs_path`` (opened read-only); ``b""`` when there is nothing to read
            (a symlink or special file that was not followed).

        Raises:
            OSError: the plain file cannot be read (removed, no permission).
        """
        if self.data is not None:
            return self.data
        if self.fs_path is None:
            return b""
        with open(self.fs_path, "rb") as f:
            return f.read()


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
    members: int = field(default_factory=lambda: MAX_MEMBERS)
    unpacked: int = field(default_factory=lambda: MAX_ARCHIVE_TOTAL)


@dataclass
class _Sniff:
    """The result of looking at bytes: real format, kind, note, encryption."""

    format: str
    kind: str
    note: str
    encrypted: bool = False


class _Scanner:
    """Walks the inbox and collects documents; holds the scan-wide state."""

    def __init__(self, root: Path):
        self.root = root
        self.documents: list[Document] = []
        self._paths: set[str] = set()
        self._kept = MAX_KEPT_TOTAL

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
            rel = self._unique(prefix + _display_fs_name(entry.name))
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
                               kind=UNREADABLE, format=_ext(rel) or "unknown",
                               note=f"文件无法打开（{_os_error_text(exc)}），无法读取",
                               fs_path=fs_path))
            return
        with f:
            if st.st_size > MAX_PLAIN_READ:
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
            return [Document(**{**base, "data": None}, kind=UNREADABLE, format=_ext(path) or "unknown",
                             note=f"收件箱中压缩包和邮件附件的总量超过 {MAX_KEPT_TOTAL // MB} MB 上限，"
                                  "此文件未处理，请单独发送")]
        try:
            clutter = _clutter_note(path)
            sniff = _sniff(path, data)
            if clutter:
                return [Document(**base, kind=IGNORED, format=sniff.format, note=clutter)]
            if sniff.kind != CONTAINER:
                return [Document(**base, kind=sniff.kind, format=sniff.format, note=sniff.note,
                                 encrypted=sniff.encrypted)]
            if depth >= MAX_DEPTH:
                return [Document(**base, kind=UNREADABLE, format=sniff.format,
                                 note=f"{_container_word(sniff.format)}嵌套超过 {MAX_DEPTH} 层，未打开，"
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
            note += f"（超过 {MAX_MEMBERS} 个的上限，{skipped} 个未列出）"
        return [Document(**base, kind=CONTAINER, format="zip", note=note), *children]

    def _skipped_row(self, path: str, skipped: int, origin: _Origin) -> Document:
        return Document(
            path=self._unique(f"{path}/（其余 {skipped} 个成员未列出）"), size=0, sha256="",
            received=origin.received, sender=origin.sender, subject=origin.subject, parent=path,
            kind=UNREADABLE, format="unknown",
            note=f"成员超过 {MAX_MEMBERS} 个的上限，其余 {skipped} 个未处理，请分批发送")

    def _zip_member(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, parent: str,
                    origin: _Origin, depth: int, budget: _Budget) -> list[Document]:
        name, name_note = _zip_member_name(info)
        path = self._unique(f"{parent}/{name}")
        try:
            problem = _zip_member_problem(info, budget)
            if problem:
                return [self._member_error(path, parent, origin, info.file_size, problem)]
            member = _read_member(zf, info, min(MAX_MEMBER_SIZE, budget.unpacked))
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
                        kind=UNREADABLE, format=_ext(path) or "unknown", note=note)

    # -- e-mail --

    def _expand_eml(self, base: dict, data: bytes, origin: _Origin, depth: int,
                    budget: _Budget) -> list[Document]:
        path = base["path"]
        if len(data) > MAX_EML_SIZE:
            return [Document(**base, kind=UNREADABLE, format="eml",
                             note=f"邮件文件过大（超过 {MAX_EML_SIZE // MB} MB），未打开")]
        notes: list[str] = []
        msg = BytesParser(policy=email.policy.default).parsebytes(data)
        sender, subject = _sender(msg), _subject(msg)
        received = _email_date(msg)
        if received is None:
            received = origin.received
            notes.append("邮件日期缺失或无法识别，" +
                         ("按外层邮件日期计" if origin.in_email else "按文件修改时间计"))
        mail_origin = _Origin(received, sender, subject, in_email=True)
        base = {**base, "received": received, "sender": sender, "subject": subject}
        children: list[Document] = []
        count = skipped = 0
        for part in _attachment_parts(msg, notes):
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
        defects = _defect_note(msg)
        if defects:
            notes.append(defects)
        head = f"邮件（发件人 {sender or '未知'}，主题“{subject or '无'}”），含 {count} 个附件"
        note = "；".join([head, *notes])
        return [Document(**base, kind=CONTAINER, format="eml", note=note), *children]

    def _attachment(self, part: Message, number: int, parent: str, origin: _Origin,
                    depth: int, budget: _Budget) -> list[Document]:
        try:
            payload = _part_bytes(part)
        except Exception as exc:  # noqa: BLE001 - an undecodable part is that part's row
            name = _attachment_name(part) or f"附件{number}"
            return [self._member_error(self._unique(f"{parent}/{name}"), parent, origin, 0,
                                       f"附件无法解码（{type(exc).__name__}: {exc}）")]
        name = _attachment_name(part) or _default_attachment_name(part, number, payload)
        if _is_message(part) and not name.lower().endswith(".eml"):
            name += ".eml"  # an attached e-mail must be opened as one whatever it is called
        path = self._unique(f"{parent}/{name}")
        if len(payload) > min(MAX_MEMBER_SIZE, budget.unpacked):
            return [self._member_error(path, parent, origin, len(payload),
                                       f"附件过大（{len(payload) / MB:.0f} MB，超过 "
                                       f"{MAX_MEMBER_SIZE // MB} MB 上限），未处理")]
        budget.unpacked -= len(payload)
        if _is_signature(part):
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
    while chunk := f.read(_CHUNK):
        if not head:
            head = chunk[:_HEAD]
        sha.update(chunk)
        size += len(chunk)
    sniff = _sniff_magic(rel, head)
    kind, note = sniff.kind, sniff.note
    if kind != REPORT and kind != IGNORED:
        kind = UNREADABLE
        note = (f"文件过大（{size / MB:.0f} MB，超过 {MAX_PLAIN_READ // MB} MB 的处理上限），未打开；"
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
    return Document(**fields, kind=UNREADABLE, format=_ext(path) or "unknown",
                    note=f"处理时出错（{type(exc).__name__}: {exc}），无法读取")


# --- Names ---------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _display_fs_name(name: str) -> str:
    """A directory entry's name fit for display: undecodable bytes tried as GBK, controls replaced.

    Names copied from a Windows USB stick onto Linux can hold raw GBK bytes, which Python
    hands over as surrogate escapes; those cannot be written to a workbook.
    """
    if any("\udc80" <= ch <= "\udcff" for ch in name):
        name = decode_text(os.fsencode(name))
    return _clean_component(name)


def _clean_component(name: str) -> str:
    """One path component: control characters replaced, over-long names shortened."""
    name = _CONTROL.sub("_", name)
    if len(name) > MAX_NAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        ext = ext if dot and len(ext) <= 10 else ""
        keep = MAX_NAME_CHARS - len(ext) - 2
        name = (stem if ext else name)[:keep] + "…" + ("." + ext if ext else "")
    return name


def _ext(path: str) -> str:
    base = path.rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base.lstrip(".") else ""


def _clutter_note(path: str) -> str | None:
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


def _zip_member_name(info: zipfile.ZipInfo) -> tuple[str, str | None]:
    """A member's display name (decoded, made harmless) and a note if it had to be changed."""
    raw = info.orig_filename
    if not info.flag_bits & 0x800:
        raw = _unicode_path_extra(info) or decode_text(raw.encode("cp437"))
    parts = raw.replace("\\", "/").split("/")
    dangerous = raw.startswith(("/", "\\")) or bool(re.match(r"^[A-Za-z]:", raw)) or ".." in parts
    if parts and re.fullmatch(r"[A-Za-z]:", parts[0]):
        parts = parts[1:]
    kept = [_clean_component(p) for p in parts if p not in ("", ".", "..")]
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


# --- Zip members ---------------------------------------------------------------------------

_ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}


def _zip_member_problem(info: zipfile.ZipInfo, budget: _Budget) -> str | None:
    """Why a member must not be unpacked (from its header alone), or None."""
    if info.flag_bits & 0x1:
        return "压缩包成员已加密（设置了解压密码），无法读取，请不加密码重新压缩后发送"
    if info.compress_type not in _ZIP_METHODS:
        return f"压缩方式不受支持（方法 {info.compress_type}），请用普通 zip 格式重新压缩后发送"
    if info.file_size > MAX_MEMBER_SIZE:
        return (f"解压后将有 {info.file_size / MB:.0f} MB，超过 {MAX_MEMBER_SIZE // MB} MB 上限，"
                "疑似压缩炸弹，未解压")
    if info.file_size > RATIO_MIN_SIZE and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        return (f"压缩比异常（{info.file_size // max(info.compress_size, 1)}:1），"
                "疑似压缩炸弹，未解压")
    if info.file_size > budget.unpacked:
        return f"压缩包解压总量超过 {MAX_ARCHIVE_TOTAL // MB} MB 上限，此成员未处理"
    return None


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes | None:
    """Read a member in chunks, giving up past ``limit`` so a lying header cannot blow memory."""
    chunks: list[bytes] = []
    total = 0
    with zf.open(info) as f:
        while chunk := f.read(_CHUNK):
            total += len(chunk)
            if total > limit:
                return None
            chunks.append(chunk)
    return b"".join(chunks)


def _container_word(fmt: str) -> str:
    return "邮件" if fmt == "eml" else "压缩包"


# --- E-mail --------------------------------------------------------------------------------

def _attachment_parts(msg: Message, notes: list[str]):
    """Yield the parts of ``msg`` that are attachments (not body text), depth-first.

    An attached e-mail (message/rfc822) is yielded whole: it becomes its own container.
    """
    stack = [(msg, 0)]
    too_deep = False
    while stack:
        part, level = stack.pop()
        if level > MAX_MIME_DEPTH:
            too_deep = True
            continue
        if part is not msg and _is_message(part):
            yield part
        elif part.is_multipart():
            payload = part.get_payload()
            children = payload if isinstance(payload, list) else []
            stack.extend((child, level + 1) for child in reversed(children)
                         if isinstance(child, Message))
        elif not _is_body(part):
            yield part
    if too_deep:
        notes.append(f"邮件结构嵌套超过 {MAX_MIME_DEPTH} 层，更深的部分未读取")


def _is_message(part: Message) -> bool:
    return part.get_content_type() in ("message/rfc822", "message/global")


def _is_body(part: Message) -> bool:
    """Body text (plain/HTML) of the mail, as opposed to an attached file."""
    if part.get_content_maintype() != "text":
        return False
    disposition = (_raw_header(part, "content-disposition") or "").split(";")[0].strip().lower()
    if disposition == "attachment":
        return False
    return not _raw_param(part, "filename") and not _raw_param(part, "name")


def _is_signature(part: Message) -> bool:
    return part.get_content_type() in (
        "application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature")


def _part_bytes(part: Message) -> bytes:
    """The decoded bytes of a leaf part; an attached e-mail serialised back to bytes."""
    if _is_message(part):
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            try:
                return inner[0].as_bytes()
            except Exception:  # noqa: BLE001 - odd headers: fall back to the lenient policy
                return inner[0].as_bytes(policy=email.policy.compat32)
    payload = part.get_payload(decode=True)
    if payload is None:
        raw = part.get_payload()
        payload = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    return payload


def _attachment_name(part: Message) -> str | None:
    """The attachment's file name, decoded however the mailer encoded it.

    Chinese mailers write RFC 2231 (``filename*=``), RFC 2047 (``=?GBK?B?…?=``), GB2312
    labels on GBK text, or raw GBK bytes. The email package handles the standard cases; when
    it fails (None, exception, or U+FFFD / surrogates in the result) the raw header is
    decoded by hand with GB18030 for the GB family.

    Args:
        part: a MIME part.

    Returns:
        The bare file name (folders stripped, control characters replaced), or None.
    """
    policy_name = None
    try:
        policy_name = part.get_filename()
    except Exception:  # noqa: BLE001 - malformed parameters raise inside the email package
        pass
    usable = isinstance(policy_name, str) and bool(policy_name.strip()) and _clean_text(policy_name)
    manual = _manual_filename(part)
    # Outlook sends "C:\Users\…\x.xlsx" unescaped in a quoted string: the email package
    # reads the backslashes as escapes and glues the folders onto the name.
    if manual and (not usable or "\\" in manual):
        return _bare_name(manual)
    if usable:
        return _bare_name(_repair_latin1(policy_name))
    if isinstance(policy_name, str) and policy_name.strip():
        return _bare_name(policy_name.encode("utf-8", "replace").decode("utf-8"))
    return None


def _manual_filename(part: Message) -> str | None:
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        raw = _raw_header(part, header)
        if raw is None:
            continue
        value = _param_from_raw(raw, param)
        if value:
            return value
    return None


def _bare_name(name: str) -> str | None:
    """Strip folders (some mailers send C:\\Users\\…\\x.xlsx) and make the name displayable."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip().strip('"')
    return _clean_component(name) if name else None


def _clean_text(text: str) -> bool:
    return "\ufffd" not in text and not any("\udc80" <= ch <= "\udcff" for ch in text)


def _raw_header(part: Message, name: str) -> str | None:
    for key, value in part.raw_items():
        if key.lower() == name:
            return value
    return None


def _raw_param(part: Message, param: str) -> bool:
    """Whether the part carries a file name parameter at all (however badly encoded)."""
    for header in ("content-disposition", "content-type"):
        raw = _raw_header(part, header)
        if raw and re.search(rf"(?i)(?:^|;)\s*{param}\*?(?:\d+\*?)?\s*=", raw):
            return True
    return False


_PARAM = re.compile(r"""(?isx) (?:^|;)\s* ([a-z0-9_-]+) (?:\*(\d+))? (\*)? \s*=\s*
                        ( "(?:[^"\\]|\\.)*" | [^;]* )""")


def _param_from_raw(raw: str, param: str) -> str | None:
    """Decode one parameter of a raw header: RFC 2231 pieces, encoded words or raw bytes."""
    text = re.sub(r"\r?\n[ \t]", " ", raw.encode("utf-8", "surrogateescape").decode("latin-1"))
    pieces: dict[int, tuple[bool, bytes]] = {}
    for match in _PARAM.finditer(text):
        key, index, star, value = match.groups()
        if key.lower() != param:
            continue
        value = value.strip()
        if value.startswith('"'):
            # Only \" and \\ are real escapes here; other backslashes are Windows folders.
            value = re.sub(r'\\([\\"])', r"\1", value[1:-1] if value.endswith('"') else value[1:])
        pieces.setdefault(int(index or 0), (bool(star), value.encode("latin-1")))
    if not pieces:
        return None
    ordered = [pieces[i] for i in sorted(pieces)]
    if any(extended for extended, _ in ordered):
        return _rfc2231_value(ordered)
    return _header_text(b"".join(value for _, value in ordered)) or None


def _rfc2231_value(pieces: list[tuple[bool, bytes]]) -> str | None:
    """Join RFC 2231 continuations (``name*0*=gbk''%D5%FB``, ``name*1*=…``) and decode them."""
    charset = None
    out = b""
    for i, (extended, value) in enumerate(pieces):
        if extended and i == 0 and value.count(b"'") >= 2:
            cs, _lang, value = value.split(b"'", 2)
            charset = cs.decode("ascii", "replace")
        out += urllib.parse.unquote_to_bytes(value) if extended else value
    return _decode_charset(out, charset) or None


def _header_text(raw: bytes | str) -> str:
    """Decode a header value: raw bytes (UTF-8 or GBK) and RFC 2047 encoded words."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    text = decode_text(raw)
    text = re.sub(r"\r?\n[ \t]+", " ", text)
    if "=?" in text:
        text = _decode_encoded_words(text)
    return _repair_latin1(text).strip()


def _decode_encoded_words(text: str) -> str:
    try:
        words = email.header.decode_header(text)
    except Exception:  # noqa: BLE001 - bad base64 inside a word: keep the text as it is
        return text
    out = []
    for word, charset in words:
        if isinstance(word, str):
            out.append(word)
        elif charset is None:
            out.append(word.decode("raw-unicode-escape", "replace"))
        else:
            out.append(_decode_charset(word, charset))
    return "".join(out)


_GB_LABELS = {"gb2312", "gbk", "cp936", "x-gbk", "euc-cn", "csgb2312", "gb_2312-80", "ms936",
              "windows-936", "x-euc-cn", "gb18030"}


def _decode_charset(raw: bytes, charset: str | None) -> str:
    """Decode with a declared charset; the GB family as GB18030 (mailers label GBK text GB2312)."""
    label = (charset or "").strip().strip('"').lower()
    if label in _GB_LABELS:
        label = "gb18030"
    if label:
        try:
            return raw.decode(label)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_text(raw)


def _repair_latin1(text: str) -> str:
    """Undo GBK/UTF-8 bytes decoded as Latin-1 (a mailer that mislabelled the charset)."""
    if not any("\x80" <= ch <= "\xff" for ch in text) or any(ch > "\xff" for ch in text):
        return text
    raw = text.encode("latin-1")
    for codec in ("utf-8", "gb18030"):
        try:
            fixed = raw.decode(codec)
        except UnicodeDecodeError:
            continue
        if any("\u4e00" <= ch <= "\u9fff" for ch in fixed):
            return fixed
    return text


def _sender(msg: Message) -> str | None:
    """The From address (addr-spec, lower case), or None."""
    raw = _raw_header(msg, "from")
    if raw is None:
        return None
    _name, addr = email.utils.parseaddr(_header_text(raw))
    return addr.strip().lower() or None


def _subject(msg: Message) -> str | None:
    raw = _raw_header(msg, "subject")
    if raw is None:
        return None
    return _header_text(raw) or None


def _email_date(msg: Message) -> datetime.datetime | None:
    """The Date header as a naive datetime on the office's clock, or None if missing/garbage."""
    raw = _raw_header(msg, "date")
    if not raw:
        return None
    try:
        when = email.utils.parsedate_to_datetime(_header_text(raw))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": RFC 5322 says UTC with no local zone known
        when = when.replace(tzinfo=datetime.timezone.utc)
    if not 1990 <= when.year <= 2100:
        return None
    return when.astimezone(OFFICE_TZ).replace(tzinfo=None)


_DEFECT_NOTES = {
    "StartBoundaryNotFoundDefect": "找不到 MIME 分段边界",
    "CloseBoundaryNotFoundDefect": "MIME 分段没有结束边界",
    "MultipartInvariantViolationDefect": "声明为多段但内容不是多段",
    "NoBoundaryInMultipartDefect": "多段邮件没有声明边界",
    "MissingHeaderBodySeparatorDefect": "邮件头与正文之间缺少空行",
    "InvalidBase64PaddingDefect": "附件的 Base64 编码不完整",
    "InvalidBase64CharactersDefect": "附件的 Base64 编码含非法字符",
    "InvalidBase64LengthDefect": "附件的 Base64 编码长度不对",
}


def _defect_note(msg: Message) -> str | None:
    """A Chinese note on the MIME defects the parser worked around, or None."""
    found: list[str] = []
    for part in _walk_parts(msg):
        for defect in getattr(part, "defects", ()):
            text = _DEFECT_NOTES.get(type(defect).__name__)
            if text and text not in found:
                found.append(text)
    if not found:
        return None
    return f"邮件格式不规范（{'、'.join(found)}），已尽量读取，附件可能不全或损坏"


def _walk_parts(msg: Message):
    """Every part of one message (not of attached messages), depth-limited."""
    stack = [(msg, 0)]
    while stack:
        part, level = stack.pop()
        yield part
        if level < MAX_MIME_DEPTH and part.is_multipart() and not _is_message(part):
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend((p, level + 1) for p in payload if isinstance(p, Message))


_TYPE_EXTS = {
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.ms-excel.sheet.macroenabled.12": "xlsm",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/pdf": "pdf",
    "application/zip": "zip",
    "application/x-zip-compressed": "zip",
    "message/rfc822": "eml",
    "application/ms-tnef": "dat",
    "text/csv": "csv",
    "text/html": "html",
    "text/plain": "txt",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
}


def _default_attachment_name(part: Message, number: int, payload: bytes) -> str:
    """``附件<n>.<ext>`` for an attachment without a name: extension from the type or the bytes."""
    ext = _TYPE_EXTS.get(part.get_content_type())
    if ext is None:
        fmt = _sniff_magic("", payload[:_HEAD]).format
        ext = {"image": "img", "unknown": "bin", "empty": "bin", "winmail": "dat"}.get(fmt, fmt)
    return f"附件{number}.{ext}"


# --- Sniffing ------------------------------------------------------------------------------

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")


def _sniff(path: str, data: bytes) -> _Sniff:
    """The real format of ``data`` (named ``path``) and what to do with it."""
    ext = _ext(path)
    if not data:
        return _Sniff("empty", UNREADABLE, _NOTE_EMPTY)
    if data.startswith(_ZIP_MAGICS):
        return _mismatch(_sniff_zip(data, ext), ext)
    if data.startswith(_OLE_MAGIC):
        return _mismatch(_sniff_ole(data, ext), ext)
    sniff = _sniff_magic(path, data[:_HEAD])
    if sniff.format != "unknown":
        return _mismatch(sniff, ext)
    if ext == "eml" or _looks_like_eml(data[:_HEAD]):
        return _Sniff("eml", CONTAINER, "邮件")
    if b"%PDF-" in data[:1024]:  # readers accept junk before the header; checked after e-mail
        return _mismatch(_Sniff("pdf", REPORT, _NOTE_REPORT), ext)
    return _mismatch(_sniff_text(data, ext) or sniff, ext)


def _sniff_magic(path: str, head: bytes) -> _Sniff:
    """Formats recognisable from the first bytes alone (plus the extension where bytes cannot
    tell: images, and zip/OLE files too big to open)."""
    ext = _ext(path)
    if not head:
        return _Sniff("empty", UNREADABLE, _NOTE_EMPTY)
    if head.startswith(_ZIP_MAGICS):
        fmt = ext if ext in ("xlsx", "xlsm", "docx", "ods", "zip") else "zip"
        kind = REPORT if fmt == "docx" else LEDGER if fmt != "zip" else CONTAINER
        return _Sniff(fmt, kind, "")
    if head.startswith(_OLE_MAGIC):
        fmt = ext if ext in ("xls", "doc", "et") else "ole"
        return _Sniff(fmt, REPORT if fmt == "doc" else UNREADABLE, "Office 97-2003 格式文件")
    if head.startswith(b"%PDF-"):
        return _Sniff("pdf", REPORT, _NOTE_REPORT)
    if head.startswith(b"{\\rtf"):
        return _Sniff("rtf", REPORT, "RTF 格式文档，可能是自评报告")
    if head.startswith(b"\x78\x9f\x3e\x22"):
        return _Sniff("winmail", IGNORED,
                      "Outlook 专用附件包（winmail.dat，TNEF 格式）：发件人的 Outlook 用 RTF 格式发信，"
                      "真正的附件被封在里面无法读取，请对方改用 HTML 或纯文本格式、以普通附件重新发送")
    if _is_image(head, ext):
        return _Sniff("image", IGNORED, "图片文件，不是台账，已忽略")
    if head.startswith(b"Rar!\x1a\x07"):
        return _Sniff("rar", UNREADABLE, "RAR 压缩包无法打开，请改用 zip 压缩或直接发送 .xlsx 文件")
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return _Sniff("7z", UNREADABLE, "7z 压缩包无法打开，请改用 zip 压缩或直接发送 .xlsx 文件")
    if len(head) >= 4 and head[:2] in (b"\x09\x00", b"\x09\x02", b"\x09\x04") and head[3] == 0:
        return _Sniff("xls", UNREADABLE, "早期 Excel 2.x–4.0 格式（BIFF2–4），无法读取，"
                                         "请用 Excel 或 WPS 另存为 .xlsx 后重新报送")
    return _Sniff("unknown", UNREADABLE, _NOTE_UNKNOWN)


def _is_image(head: bytes, ext: str) -> bool:
    return (head.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a",
                             b"II*\x00", b"MM\x00*"))
            or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
            or (head.startswith(b"BM") and ext == "bmp")
            or ext in _IMAGE_EXTS)


def _mismatch(sniff: _Sniff, ext: str) -> _Sniff:
    """Mention it when the name's extension lies about the format (the reader trusts format)."""
    same = {("xls", "et"), ("xlsx", "xltx"), ("xls", "xlt")}
    if (ext in _PROMISING_EXTS and ext != sniff.format and (sniff.format, ext) not in same
            and sniff.format not in ("empty", "unknown", "text")):
        return _Sniff(sniff.format, sniff.kind,
                      f"{sniff.note}；扩展名是 .{ext}，实际是 {sniff.format} 格式", sniff.encrypted)
    return sniff


# zip-based formats

def _sniff_zip(data: bytes, ext: str) -> _Sniff:
    """OOXML workbook/document, ODF, or a real zip archive (a container to open)."""
    entries = _zip_declared_entries(data)
    if entries is not None and entries > MAX_ZIP_ENTRIES:
        return _Sniff("zip", UNREADABLE, f"压缩包内文件数过多（超过 {MAX_ZIP_ENTRIES} 个），未打开，请分批发送")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            # Some writers store "xl\\workbook.xml" with backslashes; Excel and calamine accept it.
            names = {n.replace("\\", "/").lower(): n for n in zf.namelist()}
            return _office_zip(zf, names) or _Sniff("zip", CONTAINER, "压缩包")
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        fmt = ext if ext in ("xlsx", "xlsm", "docx", "ods", "odt", "xlsb") else "zip"
        return _Sniff(fmt, UNREADABLE, f"文件以 ZIP 格式开头但已损坏（{type(exc).__name__}），"
                                       "可能下载或复制不完整，请重新保存后报送")


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


def _office_zip(zf: zipfile.ZipFile, names: dict[str, str]) -> _Sniff | None:
    if "xl/workbook.bin" in names:
        return _Sniff("xlsb", LEDGER, "Excel 二进制工作簿（.xlsb）")
    if "xl/workbook.xml" in names:
        types = _small_member(zf, names.get("[content_types].xml")).lower()
        if "xl/vbaproject.bin" in names or b"macroenabled" in types:
            return _Sniff("xlsm", LEDGER, "Excel 启用宏的工作簿（.xlsm）")
        return _Sniff("xlsx", LEDGER, "Excel 工作簿（.xlsx）")
    if "word/document.xml" in names:
        return _Sniff("docx", REPORT, _NOTE_REPORT)
    if "ppt/presentation.xml" in names:
        return _Sniff("pptx", IGNORED, "PowerPoint 演示文稿，不是台账，已忽略")
    if "mimetype" in names:
        return _odf(zf, names)
    if "[content_types].xml" in names and any(n.startswith("xl/") for n in names):
        # An Office package with its workbook part missing is a damaged workbook, not an archive.
        return _Sniff("xlsx", UNREADABLE, "Excel 工作簿已损坏（缺少 xl/workbook.xml），"
                                          "请用 Excel 或 WPS 打开后另存为 .xlsx 重新报送")
    return None


def _odf(zf: zipfile.ZipFile, names: dict[str, str]) -> _Sniff | None:
    mimetype = _small_member(zf, names["mimetype"]).strip()
    if not mimetype.startswith(b"application/vnd.oasis.opendocument."):
        return None
    encrypted = b"encryption-data" in _small_member(zf, names.get("meta-inf/manifest.xml"))
    if b"spreadsheet" in mimetype:
        if encrypted:
            return _Sniff("ods", UNREADABLE, _NOTE_ENCRYPTED, encrypted=True)
        return _Sniff("ods", LEDGER, "OpenDocument 电子表格（.ods）")
    if mimetype.endswith(b".text"):
        if encrypted:
            return _Sniff("odt", UNREADABLE, _NOTE_DOC_ENCRYPTED, encrypted=True)
        return _Sniff("odt", REPORT, "OpenDocument 文档（.odt），可能是自评报告")
    return _Sniff("odf", IGNORED, "OpenDocument 文件（不是表格或文档），已忽略")


def _small_member(zf: zipfile.ZipFile, name: str | None, limit: int = 1 * MB) -> bytes:
    """A small descriptor member ([Content_Types].xml, mimetype, manifest), bounded."""
    if name is None:
        return b""
    info = zf.getinfo(name)
    if info.file_size > limit or info.flag_bits & 0x1:
        return b""
    with zf.open(info) as f:
        return f.read(limit)


# OLE2 compound files (legacy Office, encrypted OOXML, Outlook .msg)

def _sniff_ole(data: bytes, ext: str) -> _Sniff:
    """Legacy .xls/.doc/.et, encrypted OOXML (EncryptionInfo), Outlook .msg…"""
    try:
        names = {n.lower() for n in _ole_names(data)}
    except (ValueError, struct.error, IndexError):
        return _Sniff(ext if ext in ("xls", "doc", "et") else "ole", UNREADABLE,
                      "Office 97-2003 格式文件已损坏（复合文档结构无法解析），请重新保存后报送")
    if "encryptioninfo" in names or "encryptedpackage" in names:
        fmt = ext if ext in ("xlsx", "xlsm", "xlsb", "docx", "pptx") else "ooxml"
        note = _NOTE_DOC_ENCRYPTED if fmt == "docx" else _NOTE_ENCRYPTED
        return _Sniff(fmt, UNREADABLE, note, encrypted=True)
    if ext == "et":
        return _Sniff("et", UNREADABLE, "WPS 表格专用格式（.et），无法读取，请在 WPS 中另存为 .xlsx 后重新报送")
    if "workbook" in names or "book" in names:
        return _sniff_xls(data)
    if "worddocument" in names:
        if _msoffcrypto_encrypted(data):
            return _Sniff("doc", UNREADABLE, _NOTE_DOC_ENCRYPTED, encrypted=True)
        return _Sniff("doc", REPORT, _NOTE_REPORT)
    if any(n.startswith("__substg1.0_") for n in names):
        return _Sniff("msg", UNREADABLE, "Outlook 邮件（.msg）格式无法读取，请把附件另存出来，"
                                         "或把邮件另存为 .eml 格式")
    if "powerpoint document" in names:
        return _Sniff("ppt", IGNORED, "PowerPoint 演示文稿，不是台账，已忽略")
    return _Sniff("ole", UNREADABLE, "无法识别的 Office 97-2003 复合文档")


def _sniff_xls(data: bytes) -> _Sniff:
    encrypted = _msoffcrypto_encrypted(data)
    if not encrypted:
        return _Sniff("xls", LEDGER, "Excel 97-2003 工作簿（.xls）")
    if _default_password(data):
        # Excel encrypts with this built-in password when only a "password to modify" or a
        # workbook protection was set: the user never typed an opening password.
        return _Sniff("xls", UNREADABLE,
                      "文件以 Excel 默认密码加密（设置了“修改权限密码”或保护了工作簿），无法读取，"
                      "请取消保护后另存为 .xlsx 重新报送", encrypted=True)
    return _Sniff("xls", UNREADABLE, _NOTE_ENCRYPTED, encrypted=True)


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


_FREE = 0xFFFFFFFA  # sector numbers from here up are markers (end of chain, free…)


def _ole_names(data: bytes) -> list[str]:
    """Names of the storages and streams of an OLE2 compound file ([MS-CFB]), read from bytes.

    Only the directory is read (a few hundred bytes); chains are bounded so that a corrupt
    or hostile file cannot loop.

    Raises:
        ValueError: the header or the directory chain is invalid.
    """
    if len(data) < 512:
        raise ValueError("too short")
    shift = struct.unpack_from("<H", data, 0x1E)[0]
    if shift not in (9, 12):
        raise ValueError("bad sector size")
    size = 1 << shift
    sectors = (len(data) - size) // size + 1 if len(data) > size else 0
    fat_count, first_dir = struct.unpack_from("<II", data, 0x2C)
    difat_first, difat_count = struct.unpack_from("<II", data, 0x44)
    fat_sectors = [s for s in struct.unpack_from("<109I", data, 0x4C) if s < _FREE]
    next_difat, hops = difat_first, 0
    while next_difat < _FREE and hops < min(difat_count, sectors):
        entries = struct.unpack_from(f"<{size // 4}I", data, (next_difat + 1) * size)
        fat_sectors.extend(s for s in entries[:-1] if s < _FREE)
        next_difat, hops = entries[-1], hops + 1
    per_sector = size // 4

    def fat_next(sector: int) -> int:
        if sector // per_sector >= len(fat_sectors):
            return _FREE
        fat_sector = fat_sectors[sector // per_sector]
        return struct.unpack_from("<I", data, (fat_sector + 1) * size + (sector % per_sector) * 4)[0]

    names: list[str] = []
    sector, seen = first_dir, set()
    # Like olefile, a broken link ends the chain instead of failing: damaged files (and
    # fuzzed ones) usually keep their first directory sector intact.
    while sector < _FREE and sector not in seen and sector < sectors:
        seen.add(sector)
        offset = (sector + 1) * size
        for entry in range(offset, offset + size, 128):
            length = struct.unpack_from("<H", data, entry + 64)[0]
            if data[entry + 66] in (1, 2, 5) and 2 <= length <= 64:
                names.append(data[entry:entry + length - 2].decode("utf-16-le", "replace"))
        sector = fat_next(sector)
    if not names:
        raise ValueError("empty directory")
    return names


# text formats

_EML_HEADER = re.compile(rb"^([!-9;-~]+):", re.M)


def _looks_like_eml(head: bytes) -> bool:
    """RFC 822 headers at the very top, with From and a Date or MIME-Version."""
    if not re.match(rb"[!-9;-~]+:", head):
        return False
    block = re.split(rb"\r?\n\r?\n", head, maxsplit=1)[0]
    names = {m.group(1).lower() for m in _EML_HEADER.finditer(block)}
    return b"from" in names and (b"date" in names or b"mime-version" in names)


def _sniff_text(data: bytes, ext: str) -> _Sniff | None:
    """HTML exports, CSV/tab-separated text, Excel 2003 XML, MHT; None if not text."""
    text = _as_text(data[:_HEAD])
    if text is None:
        return None
    lower = text.lstrip("\ufeff \t\r\n").lower()
    start = lower[:4096]
    if start.startswith("<?xml") and "urn:schemas-microsoft-com:office:spreadsheet" in start \
            and "<html" not in start:
        return _Sniff("xml2003", UNREADABLE, "Excel 2003 XML 表格格式，无法读取，"
                                             "请用 Excel 或 WPS 另存为 .xlsx 后重新报送")
    if start.startswith("<") and any(tag in start for tag in ("<html", "<table", "<!doctype html")):
        return _Sniff("html", LEDGER, "网页格式（HTML）导出的表格")
    if start.startswith("mime-version:") and "multipart/related" in start:
        return _Sniff("mht", UNREADABLE, "网页存档格式（MHT）的表格，无法读取，请另存为 .xlsx 后重新报送")
    if ext in ("csv", "xls", "txt", "tsv") and (ext == "csv" or _is_delimited(text)):
        return _Sniff("csv", LEDGER, "CSV/制表符分隔的文本表格")
    if ext in _LEDGER_EXTS:
        return _Sniff("text", UNREADABLE, f"扩展名是 .{ext}，但内容是纯文本，不是表格，无法读取")
    return _Sniff("text", IGNORED, "纯文本文件，不是台账，已忽略")


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
