"""Sending the drafts over SMTP, once each.

:func:`send` delivers the very same files (less the ``X-Unsent`` marker) over SMTP
as set in the campaign's ``[mail]`` section, the password from the environment variable named
there (never from the file), pausing between messages, and appends one JSON line per message to
``sent.log.jsonl`` in the outbox. A message already logged as sent is skipped, so a re-run after
an interruption sends only the rest. Drafts are regenerated on each run (new Date, Message-ID and
attachment timestamps), so "the same message" is recognised by :attr:`Draft.key`: a digest of
kind, unit, recipients, subject, body text (less its dated signature) and attachment names. A
feedback draft whose findings changed, or a reminder dated another day, is a new message and is
sent.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.headerregistry import Address
from pathlib import Path
from typing import TYPE_CHECKING

from ..campaign import Campaign
from ..errors import MailError, OutputError
from ..text import OFFICE_TZ
from .drafts import KINDS, Draft, MailPlan, campaign_sender, without_draft_marker

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LOG_NAME", "SendReport", "send"]

#: The send log, one JSON object per line, in the outbox.
LOG_NAME = "sent.log.jsonl"

_SEND_TIMEOUT = 60

@dataclass
class SendReport:
    """What :func:`send` did.

    Attributes:
        log_path: the send log read and appended to.
        dry_run: nothing was sent; ``pending`` is what would have been.
        sent: drafts delivered in this run.
        skipped: drafts already logged as sent by an earlier run.
        failed: (draft, reason) for drafts the server refused.
        pending: in a dry run, the drafts that would be sent.
    """

    log_path: Path
    dry_run: bool = False
    sent: list[Draft] = field(default_factory=list)
    skipped: list[Draft] = field(default_factory=list)
    failed: list[tuple[Draft, str]] = field(default_factory=list)
    pending: list[Draft] = field(default_factory=list)

    def frame(self) -> "pd.DataFrame":
        """One row per draft: 单位, 类型, 收件人, 主题, 结果, 文件."""
        import pandas as pd

        def rows(drafts, result):
            return [{"单位": d.unit, "类型": KINDS[d.kind], "收件人": d.to, "主题": d.subject,
                     "结果": result(d), "文件": d.path.name} for d in drafts]

        failed = dict((d.key, reason) for d, reason in self.failed)
        records = (rows(self.sent, lambda d: "已发送") + rows(self.skipped, lambda d: "已跳过（此前已发送）")
                   + rows([d for d, _ in self.failed], lambda d: f"失败：{failed[d.key]}")
                   + rows(self.pending, lambda d: "将发送（演练，未发送）"))
        return pd.DataFrame(records, columns=["单位", "类型", "收件人", "主题", "结果", "文件"])


# --------------------------------------------------------------------------- sending


def _read_log(path: Path) -> set[str]:
    """Keys and Message-IDs of the messages the log records as sent.

    A line cut short by a crash is ignored rather than stopping the next run.
    """
    done: set[str] = set()
    if not path.is_file():
        return done
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("result") == "sent":
            done.update(v for v in (entry.get("key"), entry.get("message_id")) if v)
    return done


def _append_log(path: Path, draft: Draft, data: bytes, result: str) -> None:
    """One JSON line per attempt, written at once so an interrupted run leaves a true log."""
    entry = {
        "message_id": draft.message_id, "key": draft.key, "unit": draft.unit, "kind": draft.kind,
        "to": draft.to, "subject": draft.subject, "file": draft.path.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "time": dt.datetime.now(OFFICE_TZ).isoformat(timespec="seconds"), "result": result,
    }
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise OutputError(f"无法写入发送日志 {path}：{exc}") from None


def _password(campaign: Campaign, given: str | None) -> str | None:
    """The SMTP password: given, else from the environment variable the campaign names."""
    settings = campaign.mail
    if not settings.username:
        return None
    password = given if given is not None else os.environ.get(settings.password_env)
    if not password:
        raise MailError(f"SMTP 用户 {settings.username} 需要密码：请设置环境变量 {settings.password_env}"
                        "（密码不写在活动文件里）")
    return password


def _connect(campaign: Campaign, password: str | None) -> smtplib.SMTP:
    """An open, logged-in SMTP connection as [mail] says (ssl, starttls or none)."""
    s = campaign.mail
    where = f"{s.host}:{s.port}"
    try:
        if s.security == "ssl":
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=_SEND_TIMEOUT, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=_SEND_TIMEOUT)
            if s.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
        if s.username:
            smtp.login(s.username, password or "")
    except smtplib.SMTPNotSupportedError:
        raise MailError(f"SMTP 服务器 {where} 不支持 STARTTLS：请在活动文件 [mail] 中改用 security = \"ssl\"") from None
    except smtplib.SMTPAuthenticationError:
        raise MailError(f"SMTP 服务器 {where} 拒绝登录（用户 {s.username}）：请检查用户名和环境变量 "
                        f"{s.password_env} 中的密码（授权码）") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"无法连接 SMTP 服务器 {where}（{s.security}）：{exc}") from None
    return smtp


def _deliver(smtp: smtplib.SMTP, sender: Address, draft: Draft, data: bytes) -> str:
    """Send one message; the result for the log (``sent``, or ``sent; …`` when some refused).

    Raises:
        smtplib.SMTPRecipientsRefused, SMTPSenderRefused, SMTPDataError: this message failed.
        smtplib.SMTPServerDisconnected, OSError: the connection is gone.
    """
    refused = smtp.sendmail(sender.addr_spec, draft.recipients, without_draft_marker(data))
    if refused:
        return "sent; 被拒收的地址：" + ", ".join(sorted(refused))
    return "sent"


def send(plan: MailPlan, campaign: Campaign, *, dry_run: bool = False, log_path: str | Path | None = None,
         sleep: Callable[[float], None] = time.sleep, password: str | None = None) -> SendReport:
    """Deliver the plan's drafts over SMTP, each once, with a log.

    Args:
        plan: drafts from :func:`template_drafts` or :func:`feedback_drafts`.
        campaign: its ``[mail]`` section gives host, port, security, username, the
            environment variable holding the password, and the pause between messages.
        dry_run: list what would be sent (``SendReport.pending``); send and log nothing.
        log_path: the send log; default ``sent.log.jsonl`` in the plan's outbox.
        sleep: called with ``pause_seconds`` between two messages (tests pass a no-op).
        password: the SMTP password; None reads the environment variable.

    Returns:
        What was sent, skipped as already sent, failed, or (dry run) would be sent.

    Raises:
        MailError: no [mail] host or sender, no password for the username, the server cannot
            be reached or refuses the login, or the connection broke off (what was sent until
            then is logged, so a re-run sends only the rest).
    """
    settings = campaign.mail
    if not settings.host:
        raise MailError(f"活动文件 {campaign.source} 的 [mail] 节没有设置 host（SMTP 服务器），无法发送；"
                        f"草稿已写在 {plan.outbox}，可用邮件程序打开后发送")
    sender = campaign_sender(campaign)
    if sender is None:
        raise MailError("没有发件人地址：请在活动文件 [mail] 节设置 sender，或在 [campaign] 节设置 contact_email")
    log = Path(log_path) if log_path is not None else plan.outbox / LOG_NAME
    report = SendReport(log_path=log, dry_run=dry_run)
    done = _read_log(log)
    todo = []
    for draft in plan.drafts:
        (report.skipped if draft.key in done or draft.message_id in done else todo).append(draft)
    if dry_run:
        report.pending = todo
        return report
    if not todo:
        return report
    smtp = _connect(campaign, _password(campaign, password))
    try:
        _send_all(smtp, sender, todo, report, settings.pause_seconds, sleep)
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            smtp.quit()
    return report


def _send_all(smtp: smtplib.SMTP, sender: Address, drafts: Sequence[Draft], report: SendReport,
              pause: float, sleep: Callable[[float], None]) -> None:
    """Send one after another, pausing between two; log every attempt."""
    for i, draft in enumerate(drafts):
        if i and pause > 0:  # mail providers throttle bursts; no pause before the first or after the last
            sleep(pause)
        data = draft.path.read_bytes()
        try:
            result = _deliver(smtp, sender, draft, data)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            reason = _refusal(exc)
            _append_log(report.log_path, draft, data, f"failed: {reason}")
            report.failed.append((draft, reason))
            continue
        except (OSError, smtplib.SMTPException) as exc:
            _append_log(report.log_path, draft, data, f"failed: {exc}")
            raise MailError(f"发送到 {draft.unit} 时与 SMTP 服务器的连接中断（{exc}）：已发送 {len(report.sent)} 封并记入"
                            f"{report.log_path}，重新运行将只发送其余邮件") from None
        _append_log(report.log_path, draft, data, result)
        report.sent.append(draft)


def _refusal(exc: smtplib.SMTPException) -> str:
    """The server's reason, in one line."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "收件人被拒收：" + "；".join(f"{a} {code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
                                       for a, (code, msg) in exc.recipients.items())
    code = getattr(exc, "smtp_code", "")
    text = getattr(exc, "smtp_error", b"")
    text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    return f"服务器拒绝（{code} {text}）".strip()
