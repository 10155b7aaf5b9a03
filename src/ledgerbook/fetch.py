"""`fetch`: take the units' replies straight from the department's mailbox (IMAP) into the inbox.

Saving every reply by hand from a mail program is slow, easy to get wrong, and stamps each
file with the moment of saving. :func:`fetch` reads the folder named in the campaign's
``[imap]`` section and writes each new message as one ``.eml`` file under ``inbox/邮件/``:

* **bytes exactly as the server sent them**, so ``collect`` reads the e-mail's own Date as the
  received time, and the message's INTERNALDATE (when the server received it) as the file's
  modification time, the fallback for a message without a usable Date;
* **a readable, unique name**: received time, sender, subject (decoded), e.g.
  ``2019-09-12_1730_王丽华_回复：报送台账.eml``;
* **read-only towards the server**: the folder is opened with ``EXAMINE`` and messages are
  fetched with ``BODY.PEEK[]``, so not even the \\Seen flag changes; nothing is deleted, moved or
  flagged. The IMAP ``ID`` command (RFC 2971) is sent when the server offers it, because
  Coremail and NetEase (163/126) refuse unidentified clients ("Unsafe Login");
* **idempotent**: a state file *beside* the inbox (``inbox.ledgerbook-fetch.json`` next to
  ``inbox/``; inside it would be read by ``collect``) records, per account and folder, the
  folder's UIDVALIDITY, the UIDs taken and, per message taken, its Message-ID, SHA-256 and file.
  A second run fetches only new messages. When the server renumbers the folder (UIDVALIDITY
  changes), messages are recognised again by Message-ID (or, without one, by their bytes) and
  nothing is taken twice;
* **atomic**: each file is written under a temporary name and renamed into place, and the state
  is saved after each message, so an interrupted run never leaves half a message, and the next
  run takes the rest (a file written just before an interruption is recognised by its bytes).

A message larger than the inbox's e-mail cap (:data:`ledgerbook.inbox.limits.MAX_EML_SIZE`, the size
``collect`` would refuse to open) is skipped with a line saying so. A wrong password, an
unreachable server, a certificate that does not verify or a timeout raise :class:`FetchError`
with one Chinese line; what was saved until then stays saved and recorded. TLS certificates are
verified; ``insecure=True`` (``--insecure``) is for an internal server with a self-signed one.
The password comes from the environment variable ``[imap] password_env`` or the ``prompt``
callback (the CLI's hidden prompt); it is never written, printed or logged.

Only the standard library (:mod:`imaplib`, :mod:`ssl`) is used.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import email.policy
import hashlib
import imaplib
import json
import os
import re
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from functools import partial
from pathlib import Path

from . import __version__
from .campaign import Campaign, ImapSettings
from .errors import FetchError, OutputError
from .inbox import limits
from .inbox.mime import mail_from, mail_subject
from .outputs import TEMP_PREFIX, atomic_save, safe_file_name, unique_file_name
from .text import OFFICE_TZ

__all__ = ["MAIL_FOLDER", "FetchResult", "FetchedMessage", "SkippedMessage", "fetch", "state_path_for"]

#: The inbox's sub-folder the fetched messages are written to.
MAIL_FOLDER = "邮件"

#: Seconds to wait for the server before giving up (connect, greeting, each response).
DEFAULT_TIMEOUT = 60.0

_STATE_FORMAT = "ledgerbook fetch state"
_STATE_VERSION = 1
# UIDs per FETCH command: keeps a command line well below the limits servers put on it.
_BATCH = 200
_HEADER_ITEM = "BODY.PEEK[HEADER.FIELDS (FROM SUBJECT MESSAGE-ID)]"
# Name parts are cut in UTF-8 bytes (a Han character is 3): Linux allows 255 bytes a name, and
# date, separators, a "_2" and ".eml" take 25.
_MAX_SENDER_BYTES = 60
_MAX_SUBJECT_BYTES = 150
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_INTERNALDATE = re.compile(rb'\s*(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\s*')

# RFC 2971 is a standard command that imaplib does not know; registered once, for every state.
imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED", "LOGOUT"))


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class FetchedMessage:
    """A message written to the inbox (or, in a dry run, that would be).

    Attributes:
        uid: its UID in the folder.
        received: INTERNALDATE, naive on the office's clock (UTC+8).
        sender: ``名字 <address>`` as decoded from From, or the address alone.
        subject: decoded Subject ("" when none).
        size: bytes.
        message_id: the Message-ID header with its angle brackets, or None.
        path: the ``.eml`` file (in a dry run: the name it would get).
    """

    uid: int
    received: dt.datetime
    sender: str
    subject: str
    size: int
    message_id: str | None
    path: Path


@dataclass(frozen=True)
class SkippedMessage:
    """A message not taken, and why (one Chinese line)."""

    uid: int
    received: dt.datetime
    sender: str
    subject: str
    size: int
    reason: str


@dataclass
class FetchResult:
    """What :func:`fetch` did.

    Attributes:
        mailbox: ``user@host/folder``, the mailbox's key in the state file.
        account: the user name logged in with.
        server: the IMAP server's host name.
        remote_folder: the folder read (``INBOX`` is the inbox).
        folder: where the messages are written (``inbox/邮件``).
        state_path: the state file beside the inbox.
        since: messages received on or after this date were considered.
        dry_run: nothing was written; ``taken`` lists what would have been.
        verified: the server's TLS certificate was verified (False with ``insecure`` or
            ``security = "none"``).
        encrypted: the connection was encrypted (False with ``security = "none"``).
        taken: messages written now, oldest UID first.
        skipped: messages left on the server, each with its reason.
        already: messages taken by an earlier run and seen again (not counted elsewhere).
        uidvalidity_changed: the server renumbered the folder since the last run.
    """

    mailbox: str
    account: str
    server: str
    remote_folder: str
    folder: Path
    state_path: Path
    since: dt.date
    dry_run: bool = False
    verified: bool = True
    encrypted: bool = True
    taken: list[FetchedMessage] = field(default_factory=list)
    skipped: list[SkippedMessage] = field(default_factory=list)
    already: int = 0
    uidvalidity_changed: bool = False


@dataclass(frozen=True)
class _Envelope:
    """What the header pass learns of one message, before its body is fetched."""

    uid: int
    size: int
    internaldate: dt.datetime  # aware
    sender_name: str
    sender_address: str
    sender: str
    subject: str
    message_id: str | None
    has_attachment: bool

    @property
    def received(self) -> dt.datetime:
        return self.internaldate.astimezone(OFFICE_TZ).replace(tzinfo=None)

    def skipped(self, reason: str) -> SkippedMessage:
        return SkippedMessage(self.uid, self.received, self.sender, self.subject, self.size, reason)

    def taken(self, path: Path) -> FetchedMessage:
        return FetchedMessage(self.uid, self.received, self.sender, self.subject, self.size, self.message_id, path)


# --------------------------------------------------------------------------- the API


def state_path_for(inbox: str | Path) -> Path:
    """The state file of an inbox: beside it, never inside (``collect`` would read it)."""
    folder = Path(inbox).resolve()
    return folder.with_name(f"{folder.name}.ledgerbook-fetch.json")


def fetch(campaign: Campaign, inbox: str | Path, *, since: dt.date | None = None, folder: str | None = None,
          dry_run: bool = False, only_attachments: bool = False, only_units: bool = False,
          insecure: bool = False, password: str | None = None, prompt: Callable[[str], str] | None = None,
          ssl_context: ssl.SSLContext | None = None, timeout: float = DEFAULT_TIMEOUT,
          max_message_size: int | None = None,
          progress: Callable[[int, int], None] | None = None) -> FetchResult:
    """Take the new messages of the campaign's mailbox into ``INBOX/邮件/``.

    Args:
        campaign: its ``[imap]`` section names server, account and folder; its start date is
            the default for ``since``; its roster's addresses serve ``only_units``.
        inbox: the inbox folder (made when missing).
        since: consider messages the server received on or after this date (IMAP ``SINCE``).
        folder: the mailbox folder, instead of ``[imap] folder``.
        dry_run: list what would be taken (``FetchResult.taken``); write nothing, not even state.
        only_attachments: skip messages without an attachment (judged from BODYSTRUCTURE).
        only_units: skip messages whose From address is not a roster unit's address.
        insecure: do not verify the server's TLS certificate (a self-signed internal server).
        password: the password or authorisation code; None reads ``[imap] password_env``,
            then asks ``prompt``.
        prompt: called with a Chinese question when no password is set; returns the password.
        ssl_context: verifies the server instead of the system's default (e.g. a private CA).
        timeout: seconds to wait for the server at each step.
        max_message_size: messages larger than this are skipped; None: the inbox's e-mail cap,
            :data:`ledgerbook.inbox.limits.MAX_EML_SIZE` (what ``collect`` would open).
        progress: called as ``progress(done, total)`` while messages are downloaded.

    Returns:
        What was taken and skipped, and where it was written.

    Raises:
        FetchError: no ``[imap]`` host or username, no password, the server cannot be reached,
            its certificate does not verify, it refuses the login or the folder, it does not
            answer in time, or the connection broke off (messages saved until then stay saved
            and recorded: a re-run takes the rest).
        OutputError: the inbox or the state file cannot be written.
    """
    settings = campaign.imap
    if not settings.host:
        raise FetchError(f"活动文件 {campaign.source} 没有 [imap] 节或没有设置 host（邮箱的 IMAP 服务器）："
                         "请按 ledgerbook init 写出的示例填写")
    if not settings.username:
        raise FetchError(f"活动文件 {campaign.source} 的 [imap] 节没有设置 username（邮箱账号）")
    inbox = Path(inbox)
    if inbox.exists() and not inbox.is_dir():
        raise FetchError(f"{inbox} 是文件，不是收件箱文件夹")
    target = inbox / MAIL_FOLDER
    if target.exists() and not target.is_dir():
        raise FetchError(f"{target} 是文件：邮件要存入收件箱中名为“{MAIL_FOLDER}”的文件夹")
    state_path = state_path_for(inbox)
    if state_path.parent == inbox.resolve():  # the inbox is a file system's root: nothing is beside it
        raise FetchError(f"收件箱 {inbox} 是磁盘的根目录：请用其中的一个文件夹作收件箱")
    state = _State.load(state_path)
    cap = limits.MAX_EML_SIZE if max_message_size is None else max_message_size
    remote = folder or settings.folder
    # The key leaves out port and security: the same mailbox reached another way is the same.
    result = FetchResult(mailbox=f"{settings.username}@{settings.host}/{remote}", account=settings.username,
                         server=settings.host, remote_folder=remote, folder=target, state_path=state_path,
                         since=since or campaign.start, dry_run=dry_run,
                         verified=settings.security != "none" and not insecure,
                         encrypted=settings.security != "none")
    secret = _password(settings, password, prompt)
    with _session(settings, secret, _tls_context(insecure, ssl_context), timeout) as imap:
        box = state.mailbox(result.mailbox)
        try:
            envelopes = _new_envelopes(imap, box, result)
        except (imaplib.IMAP4.abort, OSError) as exc:
            raise _broken(settings, exc, None) from None
        todo = _choose(envelopes, box, state, result, campaign if only_units else None, only_attachments, cap)
        if dry_run:
            taken = _names_in(target)
            result.taken = [env.taken(target / unique_file_name(_file_name(env), taken)) for env in todo]
        else:
            if todo:
                _make_folder(target)
                _download(imap, settings, todo, _Writer(target, box, state), result, cap, progress)
            state.save()  # also when nothing was new: the UIDs seen again, a new UIDVALIDITY
    return result


def _new_envelopes(imap: imaplib.IMAP4, box: dict, result: FetchResult) -> list[_Envelope]:
    """EXAMINE the folder and look at the messages since the date not taken yet (by UID)."""
    uidvalidity = _examine(imap, result.remote_folder)
    if box["uidvalidity"] is not None and box["uidvalidity"] != uidvalidity:
        result.uidvalidity_changed = True  # the UIDs recorded name other messages now
        box["uids"] = []
    box["uidvalidity"] = uidvalidity
    seen = set(box["uids"])
    return _envelopes(imap, [uid for uid in _search(imap, result.since) if uid not in seen])


def _download(imap: imaplib.IMAP4, settings: ImapSettings, todo: list[_Envelope], writer: _Writer,
              result: FetchResult, cap: int, progress: Callable[[int, int], None] | None) -> None:
    """Fetch and write the messages one by one, each recorded as soon as it is on disk."""
    for done, env in enumerate(todo, 1):
        try:
            data = _body(imap, env.uid)
        except (imaplib.IMAP4.abort, OSError) as exc:
            raise _broken(settings, exc, len(result.taken)) from None
        if data is None:
            result.skipped.append(env.skipped("取回时服务器上已没有这封邮件（已被删除或移走）"))
        elif len(data) > cap:
            result.skipped.append(env.skipped(_too_big(len(data), cap)))
        else:
            path = writer.take(env, data)
            if path is None:
                result.already += 1
            else:
                result.taken.append(env.taken(path))
        if progress:
            progress(done, len(todo))


# --------------------------------------------------------------------------- choosing messages


def _choose(envelopes: list[_Envelope], box: dict, state: _State, result: FetchResult, roster: Campaign | None,
            only_attachments: bool, cap: int) -> list[_Envelope]:
    """The envelopes to download; the rest go to ``result.skipped`` or count as already taken."""
    by_id = {m["message_id"] for m in state.all_messages() if m.get("message_id")}
    addresses = _roster_addresses(roster) if roster is not None else None
    todo = []
    for env in envelopes:
        if env.message_id and env.message_id in by_id:
            # Taken before under another UID: the folder was renumbered, or a copy (any folder).
            box["uids"].append(env.uid)
            result.already += 1
        elif addresses is not None and env.sender_address not in addresses:
            result.skipped.append(env.skipped("发件人不是名单中单位的邮箱（--from-units）"))
        elif only_attachments and not env.has_attachment:
            result.skipped.append(env.skipped("没有附件（--with-attachment）"))
        elif env.size > cap:
            result.skipped.append(env.skipped(_too_big(env.size, cap)))
        else:
            todo.append(env)
    return todo


def _too_big(size: int, cap: int) -> str:
    return (f"邮件过大（{size / limits.MB:.1f} MB，超过收件箱 {cap / limits.MB:g} MB 的上限），未取回；"
            "请在邮件程序中打开，把附件另存到收件箱")


def _roster_addresses(campaign: Campaign) -> set[str]:
    return {a.lower() for unit in campaign.units for a in unit.addresses}


def _file_name(env: _Envelope) -> str:
    """``2019-09-12_1730_王丽华_回复：报送台账.eml``: received time, sender, subject."""
    who = env.sender_name or env.sender_address
    return "_".join([f"{env.received:%Y-%m-%d_%H%M}", _name_part(who, _MAX_SENDER_BYTES) or "未知发件人",
                     _name_part(env.subject, _MAX_SUBJECT_BYTES) or "无主题"]) + ".eml"


def _name_part(text: str, max_bytes: int) -> str:
    """`text` on one line, fit for a file name, at most `max_bytes` in UTF-8 ("" when empty)."""
    text = " ".join(text.split())[:max_bytes]  # a character is at least one byte
    while len(text.encode("utf-8")) > max_bytes:
        text = text[:-1]
    return safe_file_name(text) if text.strip(" .") else ""


# --------------------------------------------------------------------------- writing


def _names_in(folder: Path) -> set[str]:
    """The names taken in the mail folder, as :func:`unique_file_name` compares them."""
    return {p.name.lower() for p in folder.iterdir()} if folder.is_dir() else set()


class _Writer:
    """Writes each new message once, atomically, and records it in the state at once."""

    def __init__(self, folder: Path, box: dict, state: _State):
        self.folder, self.box, self.state = folder, box, state
        self.names = _names_in(folder)
        self.known = {m["sha256"]: m for m in state.all_messages()}
        self._unrecorded: dict[str, Path] | None = None

    def take(self, env: _Envelope, data: bytes) -> Path | None:
        """The file written for the message; None when its bytes were taken before."""
        sha = hashlib.sha256(data).hexdigest()
        if sha in self.known:  # renumbered folder, a message without Message-ID
            self.box["uids"].append(env.uid)
            self.state.save()
            return None
        path = self._left_over(sha)
        written = path is None
        if written:
            path = self.folder / unique_file_name(_file_name(env), self.names)
            atomic_save(path, partial(_write_message, data=data, mtime=env.internaldate.timestamp()), "邮件")
        entry = {"uid": env.uid, "message_id": env.message_id, "sha256": sha,
                 "file": f"{MAIL_FOLDER}/{path.name}", "internaldate": env.internaldate.isoformat()}
        self.box["messages"].append(entry)
        self.box["uids"].append(env.uid)
        self.known[sha] = entry
        self.state.save()
        return path if written else None

    def _left_over(self, sha: str) -> Path | None:
        """A file an interrupted run wrote but could not record any more, with these bytes."""
        if self._unrecorded is None:
            recorded = {m["file"].rsplit("/", 1)[-1] for m in self.state.all_messages()}
            self._unrecorded = {}
            for path in self.folder.glob("*.eml"):
                if path.name in recorded:
                    continue
                with contextlib.suppress(OSError):  # a file we cannot read is not one we wrote
                    if path.is_file() and path.stat().st_size <= limits.MAX_EML_SIZE:
                        self._unrecorded[hashlib.sha256(path.read_bytes()).hexdigest()] = path
        return self._unrecorded.pop(sha, None)


def _make_folder(folder: Path) -> None:
    """Make the mail folder and remove temporary files a killed run left there (ours by name)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for tmp in folder.glob(f"{TEMP_PREFIX}*"):
            with contextlib.suppress(OSError):
                tmp.unlink()
    except OSError as exc:
        raise OutputError(f"无法创建文件夹 {folder}：{exc.strerror or exc}") from None


def _write_message(tmp: Path, data: bytes, mtime: float) -> None:
    """The bytes as the server sent them; the file's time is when the server received them."""
    tmp.write_bytes(data)
    os.utime(tmp, (mtime, mtime))


class _State:
    """The state file: per mailbox, UIDVALIDITY, UIDs seen, and each message taken."""

    def __init__(self, path: Path, data: dict):
        self.path, self.data = path, data

    @classmethod
    def load(cls, path: Path) -> _State:
        if not path.exists():
            return cls(path, {"format": _STATE_FORMAT, "version": _STATE_VERSION, "mailboxes": {}})
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise FetchError(f"取件记录 {path} 无法读取（{exc}）：请把它改名后重新运行"
                             "（将重新下载已取回的邮件以核对，不会重复存入）") from None
        if not (isinstance(data, dict) and data.get("format") == _STATE_FORMAT
                and isinstance(data.get("mailboxes"), dict)):
            raise FetchError(f"{path} 不是 ledgerbook 的取件记录：请把它改名后重新运行")
        return cls(path, data)

    def mailbox(self, key: str) -> dict:
        box = self.data["mailboxes"].setdefault(key, {})
        box.setdefault("uidvalidity", None)
        box.setdefault("uids", [])
        box.setdefault("messages", [])
        return box

    def all_messages(self) -> Iterator[dict]:
        for box in self.data["mailboxes"].values():
            yield from box.get("messages", [])

    def save(self) -> None:
        for box in self.data["mailboxes"].values():
            box["uids"] = sorted(set(box["uids"]))
        text = json.dumps(self.data, ensure_ascii=False, indent=1)
        atomic_save(self.path, lambda tmp: tmp.write_text(text, encoding="utf-8"), "取件记录")


# --------------------------------------------------------------------------- IMAP


def _password(settings: ImapSettings, given: str | None, prompt: Callable[[str], str] | None) -> str:
    if given:
        return given
    from_env = os.environ.get(settings.password_env)
    if from_env:
        return from_env
    if prompt is not None:
        typed = prompt(f"{settings.username} 的密码（QQ邮箱、163邮箱为授权码）")
        if typed:
            return typed
    raise FetchError(f"没有 {settings.username} 的密码：请设置环境变量 {settings.password_env}"
                     "（QQ邮箱、163邮箱为授权码），或在终端中运行时输入；密码不写在活动文件里")


def _tls_context(insecure: bool, given: ssl.SSLContext | None) -> ssl.SSLContext:
    if insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return given or ssl.create_default_context()


@contextlib.contextmanager
def _session(settings: ImapSettings, password: str, context: ssl.SSLContext,
             timeout: float) -> Iterator[imaplib.IMAP4]:
    """A logged-in, identified IMAP connection; logged out at the end."""
    where = f"{settings.host}:{settings.port}"
    try:
        if settings.security == "ssl":
            imap = imaplib.IMAP4_SSL(settings.host, settings.port, ssl_context=context, timeout=timeout)
        else:
            imap = imaplib.IMAP4(settings.host, settings.port, timeout=timeout)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise _connect_error(settings, exc, timeout) from None
    try:
        try:
            if settings.security == "starttls":
                _starttls(imap, context, where)
            _login(imap, settings, password)
            _send_id(imap)
        except (OSError, imaplib.IMAP4.abort) as exc:
            raise _connect_error(settings, exc, timeout) from None
        yield imap
    finally:
        with contextlib.suppress(Exception):
            imap.logout()


def _starttls(imap: imaplib.IMAP4, context: ssl.SSLContext, where: str) -> None:
    try:
        imap.starttls(ssl_context=context)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error:
        raise FetchError(f"IMAP 服务器 {where} 不支持 STARTTLS：请在活动文件 [imap] 中改用 "
                         'security = "ssl"、port = 993') from None


def _login(imap: imaplib.IMAP4, settings: ImapSettings, password: str) -> None:
    try:
        if (settings.username + password).isascii():
            imap.login(settings.username, password)
        elif "AUTH=PLAIN" in imap.capabilities:  # RFC 4616: UTF-8 user names and passwords
            imap.authenticate("PLAIN", lambda _: f"\0{settings.username}\0{password}".encode())
        else:
            raise FetchError(f"IMAP 服务器 {settings.host} 只接受英文字母、数字和符号组成的用户名和密码")
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as exc:
        raise FetchError(f"IMAP 服务器 {settings.host} 拒绝登录（用户 {settings.username}，服务器回复："
                         f"{_server_text(exc)}）：请检查用户名和环境变量 {settings.password_env} 中的密码；"
                         "QQ邮箱、163邮箱要用授权码，不是登录密码") from None


def _send_id(imap: imaplib.IMAP4) -> None:
    """RFC 2971 ID, when offered: Coremail and NetEase refuse clients that do not identify."""
    capabilities = set(imap.capabilities)
    typ, data = imap.capability()  # the list grows after login; imaplib keeps the first one
    if typ == "OK" and data and data[-1]:
        capabilities |= set(data[-1].decode("ascii", "replace").upper().split())
    if "ID" not in capabilities:
        return
    fields = {"name": "ledgerbook", "version": __version__, "vendor": "ledgerbook",
              "support-url": "https://pypi.org/project/ledgerbook/"}
    with contextlib.suppress(imaplib.IMAP4.error):  # a server that then refuses ID still serves
        imap._simple_command("ID", "(" + " ".join(f'"{k}" "{v}"' for k, v in fields.items()) + ")")
    imap.untagged_responses.pop("ID", None)


def _examine(imap: imaplib.IMAP4, folder: str) -> int:
    """Open the folder read-only (EXAMINE); its UIDVALIDITY."""
    try:
        typ, data = imap.select(_quote(_imap_utf7(folder)), readonly=True)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as exc:
        typ, data = "NO", [str(exc).encode()]
    if typ != "OK":
        text = _server_text(data[-1] if data else b"")
        if "unsafe login" in text.lower():
            raise FetchError(f"邮箱服务器拒绝了本程序（Unsafe Login，服务器回复：{text}）：请在网页版邮箱设置中"
                             "开启 IMAP 服务并使用授权码")
        raise FetchError(f"无法打开邮箱文件夹“{folder}”（服务器回复：{text}）：请检查活动文件 [imap] 的 "
                         "folder 或 --folder（收件箱为 INBOX）")
    _typ, values = imap.response("UIDVALIDITY")
    try:
        return int(values[-1])
    except (TypeError, ValueError, IndexError):
        return 0  # RFC 3501 requires it; a server without it is treated as never renumbering


def _search(imap: imaplib.IMAP4, since: dt.date) -> list[int]:
    date = f"{since.day}-{_MONTHS[since.month - 1]}-{since.year}"
    typ, data = imap.uid("SEARCH", "SINCE", date, "UNDELETED")
    if typ != "OK":
        raise FetchError(f"IMAP 服务器不接受搜索（服务器回复：{_server_text(data[-1] if data else b'')}）")
    return sorted({int(n) for chunk in data if chunk for n in chunk.split()})


def _envelopes(imap: imaplib.IMAP4, uids: list[int]) -> list[_Envelope]:
    """Size, INTERNALDATE, structure and the few headers names and filters need, in batches."""
    out: list[_Envelope] = []
    for start in range(0, len(uids), _BATCH):
        batch = uids[start:start + _BATCH]
        typ, data = imap.uid("FETCH", _uid_set(batch),
                             f"(UID RFC822.SIZE INTERNALDATE BODYSTRUCTURE {_HEADER_ITEM})")
        if typ != "OK":
            raise FetchError(f"IMAP 服务器不接受取信（服务器回复：{_server_text(data[-1] if data else b'')}）")
        wanted = set(batch)
        for items in _fetch_items(data):
            uid = _int(items.get(b"UID"))
            if uid in wanted:
                wanted.discard(uid)
                out.append(_envelope(uid, items))
    return sorted(out, key=lambda e: e.uid)


def _envelope(uid: int, items: dict) -> _Envelope:
    header = next((v for k, v in items.items() if k.startswith(b"BODY[")), None) or b""
    msg = BytesParser(policy=email.policy.default).parsebytes(header if isinstance(header, bytes) else b"",
                                                              headersonly=True)
    name, address = mail_from(msg)
    address = address or ""
    sender = f"{name} <{address}>" if name and address else (name or address)
    raw_id = next((str(v) for k, v in msg.raw_items() if k.lower() == "message-id"), "").strip()
    match = re.search(r"<[^<>\s]+>", raw_id)
    return _Envelope(
        uid=uid, size=_int(items.get(b"RFC822.SIZE")) or 0,
        internaldate=_internaldate(items.get(b"INTERNALDATE")),
        sender_name=name, sender_address=address, sender=sender, subject=mail_subject(msg) or "",
        message_id=match.group(0) if match else (raw_id or None),
        has_attachment=_has_attachment(items.get(b"BODYSTRUCTURE")),
    )


def _body(imap: imaplib.IMAP4, uid: int) -> bytes | None:
    """The whole message, as the server has it, without setting \\Seen (BODY.PEEK)."""
    typ, data = imap.uid("FETCH", str(uid), "(UID BODY.PEEK[])")
    if typ != "OK":
        return None
    for items in _fetch_items(data):
        if _int(items.get(b"UID")) == uid:
            body = items.get(b"BODY[]")
            return body if isinstance(body, bytes) else None
    return None


def _connect_error(settings: ImapSettings, exc: BaseException, timeout: float) -> FetchError:
    where = f"{settings.host}:{settings.port}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return FetchError(f"IMAP 服务器 {where} 的 TLS 证书未通过验证（{exc.verify_message}），已中止连接；"
                          "如是学校内部使用自签名证书的服务器，可加 --insecure（不验证证书）")
    if isinstance(exc, ssl.SSLError):
        return FetchError(f"无法与 IMAP 服务器 {where} 建立加密连接（{exc.reason or exc}）：请检查活动文件 [imap] 的 "
                          "port 与 security（993 端口用 ssl，143 端口用 starttls）")
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return FetchError(f"IMAP 服务器 {where} 在 {timeout:g} 秒内没有响应：请检查网络、服务器地址和端口")
    if isinstance(exc, socket.gaierror):
        return FetchError(f"找不到 IMAP 服务器 {settings.host}：请检查活动文件 [imap] 的 host 和网络连接")
    if isinstance(exc, ConnectionRefusedError):
        return FetchError(f"IMAP 服务器 {where} 拒绝连接：请检查活动文件 [imap] 的 host 和 port，或服务器是否在运行")
    if isinstance(exc, imaplib.IMAP4.error):
        return FetchError(f"IMAP 服务器 {where} 中断了连接（{_server_text(exc)}）")
    return FetchError(f"无法连接 IMAP 服务器 {where}：{getattr(exc, 'strerror', None) or exc}")


def _broken(settings: ImapSettings, exc: BaseException, saved: int | None) -> FetchError:
    """The connection broke off; `saved` messages were written before (None: none was due yet)."""
    saved_text = "" if saved is None else f"已取回并保存 {saved} 封，重新运行将继续取回其余邮件"
    if isinstance(exc, (TimeoutError, socket.timeout)) or "timed out" in str(exc):
        reason = "服务器长时间没有响应"
    elif isinstance(exc, imaplib.IMAP4.abort):  # imaplib's own words name its internals
        reason = "服务器断开了连接"
    else:
        reason = getattr(exc, "strerror", None) or _server_text(exc) or type(exc).__name__
    return FetchError(f"与 IMAP 服务器 {settings.host}:{settings.port} 的连接中断（{reason}）"
                      + (f"：{saved_text}" if saved_text else ""))


def _server_text(value: object) -> str:
    """A server's reply (bytes, or an imaplib error around them) as one line."""
    if isinstance(value, BaseException):
        value = value.args[0] if value.args else ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value)
    match = re.fullmatch(r"b(['\"])(.*)\1", text, re.S)  # imaplib wraps replies as repr(bytes)
    if match:
        text = match.group(2)
    return " ".join(text.split())


# --------------------------------------------------------------------------- IMAP syntax


def _imap_utf7(name: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501 5.1.3): ``台账`` → ``&U,BTFw-``."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode("ascii").rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if " " <= ch <= "~":
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _uid_set(uids: list[int]) -> str:
    """``1:3,7,9:10`` for [1, 2, 3, 7, 9, 10]."""
    ranges: list[list[int]] = []
    for uid in sorted(uids):
        if ranges and uid == ranges[-1][1] + 1:
            ranges[-1][1] = uid
        else:
            ranges.append([uid, uid])
    return ",".join(str(a) if a == b else f"{a}:{b}" for a, b in ranges)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _internaldate(value) -> dt.datetime:
    """``"17-Jul-1996 02:44:25 -0700"`` as an aware datetime (month names are always English)."""
    match = _INTERNALDATE.fullmatch(value) if isinstance(value, bytes) else None
    if match:
        day, month, year, hh, mm, ss, sign, zh, zm = match.groups()
        with contextlib.suppress(ValueError):
            offset = dt.timedelta(hours=int(zh), minutes=int(zm)) * (-1 if sign == b"-" else 1)
            return dt.datetime(int(year), _MONTHS.index(month.decode().title()) + 1, int(day), int(hh), int(mm),
                               int(ss), tzinfo=dt.timezone(offset))
    return dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


_TOKEN = re.compile(rb"""\s*(?:
      (?P<open>\()
    | (?P<close>\))
    | "(?P<quoted>(?:[^"\\]|\\.)*)"
    | \x00(?P<literal>\d+)\x00
    | (?P<atom>[^\s()"\[\]\x00]+(?:\[[^\]]*\])?(?:<[\d.]+>)?)
    )""", re.X | re.S)


def _fetch_items(data: list) -> list[dict[bytes, object]]:
    """imaplib's FETCH response as one dict per message: item name (upper case) → value.

    Values are bytes (atoms, quoted strings, literals), None (NIL) or nested lists. imaplib
    hands literals over as ``(text ending in {n}, bytes)`` tuples; they are put back in place.
    """
    pieces, literals = [], []
    for piece in data:
        if isinstance(piece, tuple):
            head, literal = piece
            pieces.append(re.sub(rb"\{\d+\}\s*$", b"\x00" + str(len(literals)).encode() + b"\x00", head))
            literals.append(literal)
        elif isinstance(piece, bytes):
            pieces.append(piece)
    text = b" ".join(pieces)  # imaplib cuts only at literals, never inside a token
    values = _parse_list(text, literals)
    messages = []
    i = 0
    while i + 1 < len(values):  # "<seq> (<item> <value> ...)" repeated
        body = values[i + 1]
        if isinstance(body, list):
            messages.append({(body[j] or b"").upper() if isinstance(body[j], bytes) else b"": body[j + 1]
                             for j in range(0, len(body) - 1, 2)})
            i += 2
        else:
            i += 1
    return messages


def _parse_list(text: bytes, literals: list[bytes]) -> list:
    stack: list[list] = [[]]
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            if text[pos:].strip():
                raise FetchError("IMAP 服务器的回复无法解析，已中止（未写入任何文件）")
            break
        pos = match.end()
        if match.group("open"):
            stack.append([])
        elif match.group("close"):
            if len(stack) > 1:
                done = stack.pop()
                stack[-1].append(done)
        elif match.group("quoted") is not None:
            stack[-1].append(re.sub(rb"\\(.)", rb"\1", match.group("quoted")))
        elif match.group("literal") is not None:
            stack[-1].append(literals[int(match.group("literal"))])
        else:
            atom = match.group("atom")
            stack[-1].append(None if atom.upper() == b"NIL" else atom)
    while len(stack) > 1:  # an unclosed list: keep what was read
        done = stack.pop()
        stack[-1].append(done)
    return stack[0]


def _has_attachment(structure) -> bool:
    """Whether BODYSTRUCTURE shows a file: a part with a (file) name or disposition
    ``attachment``, an attached e-mail, or any application/* part. Unknown shapes count as
    yes: a reply is never dropped because its structure was unusual."""
    if not isinstance(structure, list) or not structure:
        return True
    if isinstance(structure[0], list):  # multipart: its parts, then the subtype and extensions
        return any(_has_attachment(part) for part in structure if isinstance(part, list) and part
                   and isinstance(part[0], (list, bytes)))
    kind = (structure[0] or b"").lower() if isinstance(structure[0], bytes) else b""
    subtype = (structure[1] or b"").lower() if len(structure) > 1 and isinstance(structure[1], bytes) else b""
    if kind == b"application" or (kind, subtype) == (b"message", b"rfc822"):
        return True
    params = structure[2] if len(structure) > 2 and isinstance(structure[2], list) else []
    if any(isinstance(p, bytes) and p.lower() == b"name" for p in params[0::2]):
        return True
    for item in structure[7:]:
        if isinstance(item, list) and item and isinstance(item[0], bytes):
            disposition = item[0].lower()
            names = item[1] if len(item) > 1 and isinstance(item[1], list) else []
            if disposition == b"attachment" or any(isinstance(p, bytes) and p.lower().startswith(b"filename")
                                                   for p in names[0::2]):
                return True
    return False
