"""The mail round's drafts: e-mail messages (.eml) for the templates, the send-backs and the
reminders (:mod:`ledgerbook.mail.send` sends them).

The department sends the form out and chases units by e-mail. ledgerbook knows who must
receive what, so it writes the messages too; the only manual step left is pressing Send (or
``--send``). Three kinds of draft, one per unit with an e-mail address:

* ``template`` — the unit's own locked copy of the form, with what to fill in, the due dates and
  whom to contact (:func:`template_drafts`);
* ``feedback`` — to a unit whose submission has errors (需退回修改): its findings in the body and
  its marked-up copy attached (:func:`feedback_drafts`);
* ``reminder`` — to a unit that has not submitted (未提交): the blank per-unit copy attached.

Units without an address are listed in :attr:`MailPlan.no_address`, never skipped silently.

**Draft files.** Standard RFC 5322 messages built with :class:`email.message.EmailMessage`,
CRLF line ends (what SMTP and Windows mail programs expect), ``X-Unsent: 1`` so that Outlook
opens a double-clicked file as a draft ready to send, a ``Date`` and a ``Message-ID``. The text
body is UTF-8 in base64: the whole message is 7-bit clean, so any SMTP server relays it, also
one without 8BITMIME.

**Chinese attachment names.** Each attachment carries its name twice:

* ``Content-Disposition: attachment; filename*=utf-8''%E6%95%B4…`` — RFC 2231, the standard
  form, as :meth:`EmailMessage.add_attachment` encodes it; Thunderbird, Apple Mail, Gmail, the
  Python email package and other standard readers take the name from here;
* ``Content-Type: …; name="=?utf-8?b?5pW0…?="`` — RFC 2047 encoded-words inside the quoted
  ``name`` parameter. RFC 2047 does not allow encoded-words there, but it is what Outlook,
  Foxmail and QQ mail themselves write, and what Outlook (which does not decode RFC 2231, see
  MimeKit's FAQ on "untitled attachments" and its issues #186/#585) and older webmail read.
  Thunderbird has sent this same pair by default for years for exactly this reason.

Python would fold a long ``filename*`` into RFC 2231 continuations (``filename*0*=…;
filename*1*=…``) at 78 columns, which is every Chinese unit name (a Han character is nine
characters percent-encoded). Continuations are the least supported part of RFC 2231 (reported
broken in Outlook, Lotus Notes and QQ mail, which shows such files as ``tcmime.*.bin``), so
:class:`_DraftPolicy` writes the parameter on a line of its own instead: longer than 78
columns (a SHOULD of RFC 5322) but far below the 998 that is the MUST. The encoded-words of
``name`` are split at character boundaries into words of at most 75 characters (RFC 2047),
the way Outlook itself splits them.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import mimetypes
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import quote

from ..campaign import EMAIL_ADDRESS, Campaign, Unit
from ..errors import MailError, OutputError
from ..findings import ERROR, LEVEL_ORDER
from ..outputs import atomic_save_bytes, refuse_inside_inbox, safe_file_name, unique_file_name
from ..text import OFFICE_TZ, cn_date

if TYPE_CHECKING:  # pragma: no cover - typing only; pandas and collect are imported when used
    import pandas as pd

    from ..collect import Collection
    from ..findings import Finding

__all__ = [
    "KINDS",
    "Attachment",
    "Draft",
    "MailError",
    "MailPlan",
    "compose_feedback_drafts",
    "feedback_drafts",
    "template_drafts",
    "unit_addresses",
]

#: Draft kinds and their Chinese names (file names use the English key).
KINDS: dict[str, str] = {"template": "下发模板", "feedback": "退回修改", "reminder": "催报"}

#: Findings listed in a feedback body; the rest are in the attached marked-up copy.
MAX_FINDINGS_IN_BODY = 15

# Findings about the department's own bookkeeping, not something the unit has to fix.
_NOT_FOR_UNITS = {"file.superseded", "file.duplicate", "unit.missing"}

# RFC 2047: an encoded-word is at most 75 characters; "=?utf-8?b?" + "?=" take 12, and 45 bytes
# make 60 base64 characters.
_WORD_BYTES = 45
# Beyond this a filename*= line is left to Python's RFC 2231 continuations (RFC 5322's hard
# limit is 998 characters a line; no real unit name comes near).
_MAX_PARAM_LINE = 900



# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Draft:
    """One e-mail draft written to the outbox.

    Attributes:
        unit: the unit it goes to.
        to: the recipient address(es), comma separated.
        subject: the subject line.
        path: the .eml file.
        attachments: the attached files' names, in order.
        kind: ``template``, ``feedback`` or ``reminder``.
        message_id: the Message-ID header, with its angle brackets.
        key: digest of what makes it the same message on a re-run (see the module docstring).
    """

    unit: str
    to: str
    subject: str
    path: Path
    attachments: tuple[str, ...]
    kind: str
    message_id: str = ""
    key: str = ""

    @property
    def recipients(self) -> list[str]:
        """The recipient addresses as a list (the SMTP envelope)."""
        return [a.strip() for a in self.to.split(",") if a.strip()]


@dataclass
class MailPlan:
    """The drafts of one mail round.

    Attributes:
        outbox: the folder the drafts were written to.
        drafts: one per unit that gets a message, in roster order.
        no_address: units that should get a message but have no e-mail address.
    """

    outbox: Path
    drafts: list[Draft] = field(default_factory=list)
    no_address: list[str] = field(default_factory=list)

    def frame(self) -> "pd.DataFrame":
        """The plan as a table: one row per draft, then one per unit without an address.

        Columns: 单位, 类型, 收件人, 主题, 附件, 文件 (the .eml name; empty without an address).
        """
        import pandas as pd

        rows = [{"单位": d.unit, "类型": KINDS[d.kind], "收件人": d.to, "主题": d.subject,
                 "附件": "、".join(d.attachments), "文件": d.path.name} for d in self.drafts]
        rows += [{"单位": u, "类型": "", "收件人": "（名单中无邮箱）", "主题": "", "附件": "", "文件": ""}
                 for u in self.no_address]
        return pd.DataFrame(rows, columns=["单位", "类型", "收件人", "主题", "附件", "文件"])


# --------------------------------------------------------------------------- MIME details


def _encoded_words(text: str) -> list[str]:
    """RFC 2047 B-encoded words of at most 75 characters, split between characters.

    A word must decode to whole characters on its own (RFC 2047 §5), so the split is made on
    the text, never inside a character's UTF-8 bytes.
    """
    words, chunk = [], ""
    for char in text:
        if chunk and len((chunk + char).encode("utf-8")) > _WORD_BYTES:
            words.append(chunk)
            chunk = ""
        chunk += char
    words.append(chunk)
    return ["=?utf-8?b?" + base64.b64encode(w.encode("utf-8")).decode("ascii") + "?=" for w in words]


def _fold_name_parameter(name: str, value: object, linesep: str) -> str | None:
    """The attachment-name header as written by :class:`_DraftPolicy`, or None for the default.

    Handles only an attachment's Content-Disposition (``filename``) or Content-Type (``name``)
    whose single parameter is a non-ASCII name; anything else is left to Python's own folding.
    """
    key = name.lower()
    if key == "content-disposition":
        param, main = "filename", getattr(value, "content_disposition", None)
    elif key == "content-type":
        param, main = "name", getattr(value, "content_type", None)
    else:
        return None
    params = dict(getattr(value, "params", None) or {})
    text = params.pop(param, None)
    if main is None or not text or text.isascii() or params:
        return None
    if param == "filename":
        encoded = "filename*=utf-8''" + quote(text, safe="")
        if len(encoded) > _MAX_PARAM_LINE:
            return None
    else:
        encoded = 'name="' + (linesep + " ").join(_encoded_words(text)) + '"'
    return f"{name}: {main};{linesep} {encoded}{linesep}"


class _DraftPolicy(EmailPolicy):
    """``email.policy.SMTP`` (CRLF) that writes Chinese attachment names on one line each.

    Overrides the public ``fold``/``fold_binary`` hooks for the two attachment-name headers
    only (see the module docstring for why); every other header is folded by Python.
    """

    def fold(self, name, value):
        special = _fold_name_parameter(name, value, self.linesep)
        return special if special is not None else super().fold(name, value)

    def fold_binary(self, name, value):
        special = _fold_name_parameter(name, value, self.linesep)
        return special.encode("ascii") if special is not None else super().fold_binary(name, value)


DRAFT_POLICY = _DraftPolicy(linesep="\r\n")


class Attachment(NamedTuple):
    """A file to attach that exists only in memory (a marked-up copy built for this round)."""

    name: str
    data: bytes


def _attach(msg: EmailMessage, item: Path | Attachment) -> None:
    """Attach a file, its name in Content-Disposition (RFC 2231) and Content-Type (RFC 2047)."""
    data = item.data if isinstance(item, Attachment) else item.read_bytes()
    ctype = mimetypes.guess_type(item.name)[0] or "application/octet-stream"
    maintype, subtype = ctype.split("/", 1)
    msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=item.name)
    # The Content-Type name= copy is for Outlook, Foxmail and QQ mail (module docstring).
    msg.get_payload()[-1].set_param("name", item.name, replace=True)


def without_draft_marker(data: bytes) -> bytes:
    """The message as sent: ``X-Unsent: 1`` removed from the top-level header.

    A delivered message keeps no draft marker: a recipient who saves it as .eml and opens it
    in Outlook should see a received mail, not a draft to send.
    """
    head, sep, body = data.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if line.lower().replace(b" ", b"") != b"x-unsent:1"]
    return b"\r\n".join(lines) + sep + body


# --------------------------------------------------------------------------- addresses


def unit_addresses(unit: Unit | None) -> list[str]:
    """A unit's usable e-mail addresses from the roster (several may be separated by , ; or 、).

    Returns:
        The addresses that look like addr-specs; empty when there is none.
    """
    return unit.addresses if unit is not None else []


def campaign_sender(campaign: Campaign) -> Address | None:
    """From: ``[mail] sender``, else the campaign's contact e-mail, named after the department."""
    raw = campaign.mail.sender or campaign.contact_email
    if not raw:
        return None
    name, addr = parseaddr(raw)
    if not EMAIL_ADDRESS.match(addr or ""):
        return None
    return Address(display_name=name or campaign.department, addr_spec=addr)


def _msgid_domain(sender: Address | None) -> str:
    # Without a sender the id still needs a domain; .invalid (RFC 2606) never clashes.
    return sender.domain if sender is not None and sender.domain else "ledgerbook.invalid"


# --------------------------------------------------------------------------- texts


def _md(day: dt.date) -> str:
    return f"{day.month}月{day.day}日"


def _contact_lines(campaign: Campaign) -> list[str]:
    """Whom to contact, as far as the campaign says."""
    parts = [p for p in (campaign.contact, campaign.contact_phone) if p]
    lines = []
    if parts:
        lines.append("联系人：" + "，".join(parts))
    if campaign.contact_email:
        lines.append(f"邮箱：{campaign.contact_email}")
    return lines


def _signature(campaign: Campaign, now: dt.datetime) -> str:
    """The closing lines, dated: added to a body after its Draft.key is taken (see there)."""
    return f"\n{campaign.institution}{campaign.department}\n{cn_date(now.date())}\n"


def _labels(items, *, skip: Sequence[str] = ()) -> str:
    return "、".join(i.label for i in items if i.required and i.key not in skip)


def _schedule(campaign: Campaign) -> list[str]:
    return [
        f"1. {cn_date(campaign.ledger_due)}前：报送整顿台账（Excel 文件，请勿转为 PDF 或图片）；",
        f"2. {cn_date(campaign.report_due)}前：报送自评报告；",
        f"3. {cn_date(campaign.rectification_due)}前：完成集中整顿，报送填写了整顿进展的台账。",
    ]


def _how_to_fill(campaign: Campaign) -> list[str]:
    form = campaign.form
    problems = len(form.problems)
    return [
        f"1. 表头已填好并锁定本单位名称，请填写{_labels(form.fields, skip=('unit',))}；",
        f"2. 确定至少1个整顿对象（党支部），对照{problems}项重点问题逐条列出具体问题，每个问题一行，"
        f"填写{_labels(form.columns, skip=('seq', 'target', 'problem', 'detail'))}；",
        "3. 重点问题请从下拉列表选择；责任人写具体姓名，不能只写职务或集体；"
        f"完成时限写{cn_date(campaign.start)}至{cn_date(campaign.rectification_due)}之间的具体日期；",
        "4. 请在附件上直接填写，不要增删或调换列，不要另建表格；填写说明见工作簿中的“"
        f"{form.instructions_sheet}”工作表。",
    ]


def _template_text(campaign: Campaign, unit: str, attachment: str) -> tuple[str, str]:
    """Subject and body (without the dated signature) of a template draft."""
    form = campaign.form
    subject = f"请于{_md(campaign.ledger_due)}前报送{campaign.title}（{unit}）"
    lines = [
        f"{unit}：",
        "",
        f"按照{campaign.department}工作安排，现将{campaign.full_title}（{form.attachment}《{form.title}》，"
        f"本单位专用）发给你们（见附件“{attachment}”），请按以下要求填写：",
        "",
        *_how_to_fill(campaign),
        "",
        "时间安排：",
        *_schedule(campaign),
        "",
        "填好后请保存为 .xlsx 文件，直接回复本邮件报送。如有疑问请联系：",
        *_contact_lines(campaign),
    ]
    return subject, "\n".join(lines) + "\n"


def _finding_line(number: int, finding: "Finding") -> str:
    """``1. 【错误】整顿台账!I8 message`` — the location only when the message does not name it."""
    where = ""
    if finding.cell and not finding.message.startswith(finding.cell):
        where = f"{finding.sheet}!{finding.cell} " if finding.sheet else f"{finding.cell} "
    return f"{number}. 【{finding.level}】{where}{finding.message}"


def _findings_block(findings: Sequence["Finding"], has_marked_copy: bool) -> list[str]:
    """The findings, errors first, cut at MAX_FINDINGS_IN_BODY with a line saying how many more."""
    shown = [_finding_line(i, f) for i, f in enumerate(findings[:MAX_FINDINGS_IN_BODY], 1)]
    rest = len(findings) - len(shown)
    if rest > 0:
        shown.append(f"另有 {rest} 条见附件。" if has_marked_copy else f"另有 {rest} 条未列出，请一并核对修改。")
    return shown


def _feedback_text(campaign: Campaign, unit: str, submission: dict, findings: Sequence["Finding"],
                   attachment: Path | None, marked: bool) -> tuple[str, str]:
    """Subject and body (without the dated signature) of a feedback draft.

    Args:
        marked: the attachment is the marked-up copy (else the blank per-unit copy, for a unit
            whose file could not be read).
    """
    errors = sum(1 for f in findings if f.level == ERROR)
    subject = f"退回修改：{unit}{campaign.form.title}（{errors}处错误）"
    received = submission.get("收到时间")
    when = f"于{cn_date(received.date())}" if isinstance(received, dt.datetime) else ""
    file_name = Path(str(submission.get("文件") or "")).name
    lines = [
        f"{unit}：",
        "",
        f"你单位{when}报送的整顿台账（{file_name}）经审核发现以下问题，请修改后重新报送：",
        "",
        *_findings_block(findings, marked),
        "",
    ]
    if attachment and marked:
        lines.append(f"附件“{attachment.name}”是标注了上述问题的台账：请直接在附件中修改，改好后保存为 .xlsx 文件，回复本邮件。")
    elif attachment:
        lines.append(f"你单位报送的文件无法据以修改，请使用附件“{attachment.name}”（本单位专用模板）重新填写，回复本邮件。")
    else:
        lines.append("请修改后保存为 .xlsx 文件，回复本邮件。")
    lines += ["", "如有疑问请联系：", *_contact_lines(campaign)]
    return subject, "\n".join(lines) + "\n"


def _reminder_text(campaign: Campaign, unit: str, as_of: dt.date, attachment: Path | None,
                   received_as: tuple[str, str] | None = None) -> tuple[str, str]:
    """Subject and body (without the dated signature) of a reminder draft.

    Args:
        received_as: (file, unit it was counted for) when the unit's own per-unit copy did
            arrive but with another unit in 填报单位: the unit is told what was received.
    """
    due = f"报送截止日期为{cn_date(campaign.ledger_due)}" + ("，已逾期" if as_of > campaign.ledger_due else "")
    use = (f"请使用附件“{attachment.name}”（本单位专用模板）填写，尽快回复本邮件报送。" if attachment
           else "请尽快填写后回复本邮件报送。")
    if received_as is not None:
        file, other = received_as
        subject = f"请核对：{campaign.title}的填报单位（{unit}）"
        opening = [
            f"截至{cn_date(as_of)}，我们收到了用你单位专用模板填写的整顿台账“{file}”，但其中“填报单位”"
            f"填的是“{other}”，与你单位名称“{unit}”不一致，因此暂按“{other}”统计，你单位仍记为未提交（{due}）。",
            f"如该文件就是你单位的台账，请将“填报单位”改为“{unit}”后重新报送；如不是，{use}",
        ]
    else:
        subject = f"催报：请尽快报送{campaign.title}（{unit}）"
        opening = [
            f"截至{cn_date(as_of)}，尚未收到你单位的整顿台账（{due}）。",
            use,
            "如已报送，请告知报送时间和发件邮箱，以便核对。",
        ]
    lines = [
        f"{unit}：",
        "",
        *opening,
        "",
        "填写要求：",
        *_how_to_fill(campaign),
        "",
        "如有疑问请联系：",
        *_contact_lines(campaign),
    ]
    return subject, "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- writing drafts


def _aware(now: dt.datetime | None) -> dt.datetime:
    """The Date of the drafts: given (naive means China time) or the current time."""
    if now is None:
        return dt.datetime.now(OFFICE_TZ).replace(microsecond=0)
    return now if now.tzinfo is not None else now.replace(tzinfo=OFFICE_TZ)


def _prepare_outbox(outbox: str | Path) -> Path:
    path = Path(outbox)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"无法创建发件箱目录 {path}：{exc}") from None
    return path


@contextlib.contextmanager
def _folder(given: str | Path | None) -> Iterator[Path]:
    """The given folder (created), or a temporary one removed afterwards.

    Attachments are read into the message when it is built, so a temporary folder can go.
    """
    if given is not None:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="ledgerbook-mail-") as tmp:
        yield Path(tmp)


def _draft_key(kind: str, unit: str, to: str, subject: str, body: str, attachments: Sequence[str]) -> str:
    """Draft.key: what makes two drafts the same message, whenever they were written.

    The body is taken without its dated signature, so a template or feedback draft written
    again on a later day is still recognised as sent.
    """
    payload = json.dumps([kind, unit, to, subject, body, list(attachments)], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def _compose_draft(outbox: Path, number: int, *, campaign: Campaign, unit: str, addresses: Sequence[str],
                   kind: str, subject: str, body: str, attachments: Sequence[Path | Attachment],
                   now: dt.datetime) -> tuple[Draft, bytes]:
    """Build one message, to be written as ``<outbox>/<序号>_<单位>_<kind>.eml``; writes nothing.

    序号 is the unit's place in the roster (提交情况), the same in every round.
    """
    sender = campaign_sender(campaign)
    msg = EmailMessage(policy=DRAFT_POLICY)
    if sender is not None:  # without one, Outlook fills in the account that sends the draft
        msg["From"] = sender
    msg["To"] = [Address(display_name=unit, addr_spec=a) for a in addresses]
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=_msgid_domain(sender))
    msg["X-Unsent"] = "1"
    msg.set_content(body + _signature(campaign, now), cte="base64")
    for item in attachments:
        _attach(msg, item)
    path = outbox / f"{number:02d}_{safe_file_name(unit)}_{kind}.eml"
    to = ", ".join(addresses)
    names = tuple(a.name for a in attachments)
    draft = Draft(unit=unit, to=to, subject=subject, path=path, attachments=names, kind=kind,
                  message_id=msg["Message-ID"], key=_draft_key(kind, unit, to, subject, body, names))
    return draft, bytes(msg)


def _write_draft(plan: MailPlan, number: int, **compose) -> Draft:
    """Build one message, write it (through a temporary file) and record it in the plan."""
    draft, data = _compose_draft(plan.outbox, number, **compose)
    atomic_save_bytes(draft.path, data, "邮件草稿")
    plan.drafts.append(draft)
    return draft


def _unit_copy(campaign: Campaign, unit: Unit, folder: Path, reuse: bool, used: set[str]) -> Path:
    """The unit's locked per-unit copy of the form in folder: reused when asked and present.

    Two units whose names differ only in characters illegal in file names would share a file
    name; the second gets ``_2`` as ``ledgerbook template --per-unit`` names it.
    """
    from ..template import unit_template_name, write_template

    target = folder / unique_file_name(unit_template_name(campaign, unit), used)
    if reuse and target.is_file():
        return target
    return write_template(campaign, target, unit)


def template_drafts(campaign: Campaign, outbox: str | Path, *, templates_dir: str | Path | None = None,
                    now: dt.datetime | None = None) -> MailPlan:
    """One draft per roster unit with an e-mail address, its locked per-unit copy attached.

    Args:
        campaign: the campaign (roster, dates, contact, [mail] sender).
        outbox: the folder to write the .eml files to (created when missing; files of the same
            name are replaced, others left alone).
        templates_dir: a folder of per-unit copies (as ``ledgerbook template --per-unit``
            writes them): a copy present there is attached as it is, a missing one is written
            there. None: copies are generated into a temporary folder.
        now: the drafts' Date (naive means China time); None for the current time.

    Returns:
        The plan: the drafts in roster order and the units without an address.

    Raises:
        OutputError: a draft or a copy cannot be written.
    """
    plan = MailPlan(outbox=_prepare_outbox(outbox))
    now = _aware(now)
    used: set[str] = set()
    with _folder(templates_dir) as folder:
        for number, unit in enumerate(campaign.units, 1):
            addresses = unit_addresses(unit)
            if not addresses:
                plan.no_address.append(unit.name)
                continue
            copy = _unit_copy(campaign, unit, folder, templates_dir is not None, used)
            subject, body = _template_text(campaign, unit.name, copy.name)
            _write_draft(plan, number, campaign=campaign, unit=unit.name, addresses=addresses, kind="template",
                         subject=subject, body=body, attachments=[copy], now=now)
    return plan


# --------------------------------------------------------------------------- feedback round


def _unit_findings(collection: "Collection", unit: str) -> list["Finding"]:
    """What the unit has to fix or check: errors first, then warnings, then notes."""
    mine = [f for f in collection.finding_list if f.unit == unit and f.code not in _NOT_FOR_UNITS]
    return sorted(mine, key=lambda f: LEVEL_ORDER.get(f.level, 9))  # stable: keeps collect's order


def _submission_sender(collection: "Collection", submission: dict) -> list[str]:
    """The address the current submission came from, for a unit the roster has no address for.

    Replying to whoever sent the file is what the department would do by hand.
    """
    files = collection.files
    if not submission.get("文件") or "发件人" not in files:
        return []
    senders = files.loc[files["文件"] == submission["文件"], "发件人"]
    for sender in senders:
        addr = parseaddr(str(sender or ""))[1]
        if EMAIL_ADDRESS.match(addr):
            return [addr]
    return []


def compose_feedback_drafts(collection: "Collection", outbox: str | Path, *, copies: Mapping[str, Attachment],
                            now: dt.datetime | None = None) -> tuple[list[tuple[Draft, bytes]], list[str]]:
    """The drafts of a feedback round, built in memory: nothing is written.

    Args:
        collection: the result of :func:`ledgerbook.collect.collect`.
        outbox: the folder the drafts are meant for (their :attr:`Draft.path`).
        copies: unit -> its marked-up copy, as built once for the round
            (:func:`ledgerbook.feedback.build_feedback`); a 需退回修改 unit missing here gets
            its blank per-unit copy instead.
        now: see :func:`feedback_drafts`.

    Returns:
        (draft, its bytes) in the order of 提交情况, and the units without an address.
    """
    from ..tables import MISSING, RETURN

    outbox = Path(outbox)
    now = _aware(now)
    campaign = collection.campaign
    # A draft is numbered by its unit's place in 提交情况 (roster order), not among the drafts:
    # a unit keeps its file name from round to round, so a re-run replaces it in place.
    submissions = collection.submissions.to_dict("records")
    wanted = [(n, s) for n, s in enumerate(submissions, 1) if s["状态"] in (RETURN, MISSING)]
    received_as = collection.received_as_other_unit()
    used: set[str] = set()
    drafts: list[tuple[Draft, bytes]] = []
    no_address: list[str] = []
    with _folder(None) as blank_folder:

        def blank_copy(unit: Unit | None) -> Path | None:  # units not in the roster have none
            return _unit_copy(campaign, unit, blank_folder, False, used) if unit is not None else None

        for number, sub in wanted:
            name = sub["单位"]
            unit = campaign.unit(name)
            addresses = unit_addresses(unit) or _submission_sender(collection, sub)
            if not addresses:
                no_address.append(name)
                continue
            if sub["状态"] == RETURN:
                kind, marked = "feedback", copies.get(name)
                attachment = marked or blank_copy(unit)
                subject, body = _feedback_text(campaign, name, sub, _unit_findings(collection, name), attachment,
                                               marked is not None)
            else:
                kind, attachment = "reminder", blank_copy(unit)
                subject, body = _reminder_text(campaign, name, collection.as_of or now.date(), attachment,
                                               received_as.get(name))
            # Attachments are read into the message here, while the blank copies still exist.
            drafts.append(_compose_draft(outbox, number, campaign=campaign, unit=name, addresses=addresses,
                                         kind=kind, subject=subject, body=body,
                                         attachments=[attachment] if attachment else [], now=now))
    return drafts, no_address


def feedback_drafts(collection: "Collection", outbox: str | Path, *, feedback_dir: str | Path | None = None,
                    now: dt.datetime | None = None) -> MailPlan:
    """Drafts after a collect: send-backs to 需退回修改 units, reminders to 未提交 units.

    A 需退回修改 unit gets its findings in the body (errors first, at most
    MAX_FINDINGS_IN_BODY) and its marked-up copy (``退回修改_<单位>.xlsx``, built once by
    :func:`ledgerbook.feedback.build_feedback`) attached; when no marked-up copy could be made
    (its file was unreadable), its blank per-unit copy instead. A 未提交 unit gets a reminder
    with its blank per-unit copy. 已通过 units get nothing. A unit the roster has no address
    for is answered at the address its submission came from, when it came by e-mail.

    A plain writer: drafts of the same name are replaced. ``ledgerbook collect --mail`` and
    ``ledgerbook mail feedback`` go through :func:`ledgerbook.workflow.run_round`, which
    replaces only drafts ledgerbook wrote and removes those of an earlier round.

    Args:
        collection: the result of :func:`ledgerbook.collect.collect`.
        outbox: the folder to write the .eml files to.
        feedback_dir: where to keep the marked-up copies too; None: only attached.
        now: the drafts' Date (naive means China time); None for the current time. A reminder
            says "截至" the collection's as-of date, else this date.

    Returns:
        The plan: drafts in the order of 提交情况 and the units without an address.

    Raises:
        OutputError: a draft or a copy cannot be written.
    """
    from ..feedback import build_feedback

    refuse_inside_inbox(outbox, collection.inbox, "邮件草稿目录")
    if feedback_dir is not None:
        refuse_inside_inbox(feedback_dir, collection.inbox, "退回修改件的目录")
    plan = MailPlan(outbox=_prepare_outbox(outbox))
    built, _ = build_feedback(collection)
    if feedback_dir is not None:
        for copy in built:
            atomic_save_bytes(Path(feedback_dir) / copy.file_name, copy.data, "退回修改件")
    copies = {c.unit: Attachment(c.file_name, c.data) for c in built}
    drafts, plan.no_address = compose_feedback_drafts(collection, plan.outbox, copies=copies, now=now)
    for draft, data in drafts:
        atomic_save_bytes(draft.path, data, "邮件草稿")
        plan.drafts.append(draft)
    return plan
