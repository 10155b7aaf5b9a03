"""The mail round: .eml drafts read back by two parsers, and delivery to a real SMTP server.

Drafts are parsed with Python's email package and, independently, with munpack (Debian's mpack,
installed by .ci/run). munpack decodes neither RFC 2231 nor RFC 2047 parameters: it takes the
plain ``name`` parameter as it stands, exactly as an old mail program does, so the test checks
that it finds our legacy ``name=`` copy and that the file bytes are right. The Chinese name is
also decoded by Perl's Encode (MIME-Header), an RFC 2047 implementation outside Python.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
import re
import shutil
import socket
import subprocess
from email import policy
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import unquote

import pytest
from click.testing import CliRunner

from ledgerbook import mail
from ledgerbook.demo import samples
from ledgerbook.mail import drafts as mail_drafts
from ledgerbook.campaign import load_campaign
from ledgerbook.cli import cli
from ledgerbook.errors import LedgerbookError
from ledgerbook.template import unit_template_name

NOW = dt.datetime(2019, 9, 4, 9, 30)
CHINA = dt.timezone(dt.timedelta(hours=8))
MUNPACK = shutil.which("munpack")

# Four units: two with an address (one of them with two), one that will be clean and one
# without any address, so every branch of the plan shows.
CAMPAIGN_TOML = """\
[campaign]
institution = "测试大学"
department = "党委组织部"
title = "专项整治菜单式整顿台账"
start = 2019-09-03
ledger_due = 2019-09-13
report_due = 2019-10-25
rectification_due = 2019-10-31
contact = "雷鸣"
contact_phone = "0731-58290006"
contact_email = "dwzzb@example.edu.cn"

{mail}

[[units]]
name = "机关党委"
email = "jgdw@example.edu.cn"

[[units]]
name = "计算机科学与工程学院党委"
email = "jsjxy@example.edu.cn; jsj2@example.edu.cn"

[[units]]
name = "土木工程学院党委"
email = "tmxy@example.edu.cn"

[[units]]
name = "数学与计算科学学院党委"
"""


def write_campaign(directory: Path, port: int | None = None, **extra) -> Path:
    """A small campaign file; with a port, [mail] points at the test's SMTP server."""
    section = ""
    if port is not None:
        settings = {"host": "127.0.0.1", "port": port, "security": "none", "pause_seconds": 0, **extra}
        section = "[mail]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in settings.items())
    path = directory / "campaign.toml"
    path.write_text(CAMPAIGN_TOML.format(mail=section), encoding="utf-8")
    return path


def parse(path: Path):
    return BytesParser(policy=policy.default).parsebytes(path.read_bytes())


def attachment_header(raw: bytes, header: str) -> str:
    """The unfolded value of a header of the first attachment part, as raw text."""
    parts = [p for p in raw.split(b"\r\n--") if b"Content-Disposition: attachment" in p]
    text = parts[0].split(b"\r\n\r\n", 1)[0].decode("ascii")
    match = re.search(rf"^{header}:(.*?)(?=\r\n\S|\Z)", text, re.M | re.S)
    assert match, f"{header} missing in {text!r}"
    return re.sub(r"\r\n[ \t]", " ", match.group(1)).strip()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mail")


@pytest.fixture(scope="module")
def campaign(workdir):
    return load_campaign(write_campaign(workdir))


@pytest.fixture(scope="module")
def template_plan(workdir, campaign):
    return mail.template_drafts(campaign, workdir / "outbox", templates_dir=workdir / "templates", now=NOW)


@pytest.fixture(scope="module")
def inbox(workdir, campaign) -> Path:
    """机关党委 clean (已通过), 计算机… and 数学… with bad deadlines (需退回修改), 土木… missing."""
    folder = workdir / "inbox"
    folder.mkdir()
    jg, jsj, tm, sx = campaign.units
    samples.write_ledger(samples.clean_ledger(campaign, jg), campaign, folder / "机关党委.xlsx")
    for unit in (jsj, sx):
        spec = samples.SLOPPY["deadlines"](samples.clean_ledger(campaign, unit), campaign)
        samples.write_ledger(spec, campaign, folder / f"{unit.name}.xlsx")
    return folder


@pytest.fixture(scope="module")
def collection(inbox, campaign):
    from ledgerbook.collect import collect

    return collect(inbox, campaign)


@pytest.fixture(scope="module")
def feedback_plan(workdir, collection):
    return mail.feedback_drafts(collection, workdir / "outbox-feedback", feedback_dir=workdir / "feedback", now=NOW)


class _Recorder:
    """aiosmtpd handler keeping every envelope; refuses the addresses in `refuse`."""

    def __init__(self):
        self.envelopes = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    handler = _Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller.port, handler
    finally:
        controller.stop()


def received(handler) -> list:
    return [BytesParser(policy=policy.default).parsebytes(e.content) for e in handler.envelopes]


# --------------------------------------------------------------------------- template drafts


def test_template_drafts_one_per_unit_with_address(template_plan, campaign):
    plan = template_plan
    assert [d.unit for d in plan.drafts] == ["机关党委", "计算机科学与工程学院党委", "土木工程学院党委"]
    assert plan.no_address == ["数学与计算科学学院党委"]
    assert [d.path.name for d in plan.drafts] == [
        "01_机关党委_template.eml", "02_计算机科学与工程学院党委_template.eml", "03_土木工程学院党委_template.eml"]
    assert plan.drafts[1].recipients == ["jsjxy@example.edu.cn", "jsj2@example.edu.cn"]
    assert {d.kind for d in plan.drafts} == {"template"}
    assert all(d.attachments == (unit_template_name(campaign, campaign.unit(d.unit)),) for d in plan.drafts)
    frame = plan.frame()
    assert list(frame["单位"]) == [*(d.unit for d in plan.drafts), "数学与计算科学学院党委"]
    assert frame.iloc[-1]["收件人"] == "（名单中无邮箱）"


def test_template_draft_reads_back_with_the_email_package(template_plan, workdir, campaign):
    draft = template_plan.drafts[1]
    msg = parse(draft.path)
    assert msg["X-Unsent"] == "1"
    assert msg["Date"].datetime == NOW.replace(tzinfo=CHINA)
    assert re.fullmatch(r"<[^@<>]+@example\.edu\.cn>", msg["Message-ID"]) and msg["Message-ID"] == draft.message_id
    assert msg["From"].addresses[0].addr_spec == "dwzzb@example.edu.cn"
    assert [a.addr_spec for a in msg["To"].addresses] == ["jsjxy@example.edu.cn", "jsj2@example.edu.cn"]
    assert msg["Subject"] == draft.subject and "9月13日" in draft.subject and draft.unit in draft.subject
    body = msg.get_body(("plain",)).get_content()
    for fact in ("2019年9月13日", "2019年10月25日", "2019年10月31日", "雷鸣", "0731-58290006",
                 "dwzzb@example.edu.cn", "联络员", "8项重点问题", draft.attachments[0]):
        assert fact in body
    (attachment,) = msg.iter_attachments()
    name = draft.attachments[0]
    assert attachment.get_filename() == name
    assert attachment.get_param("name") == name  # the legacy copy decodes to the same name
    assert attachment.get_content() == (workdir / "templates" / name).read_bytes()


def test_attachment_name_headers_are_rfc2231_plus_rfc2047(template_plan):
    draft = template_plan.drafts[1]
    raw = draft.path.read_bytes()
    name = draft.attachments[0]
    assert raw.isascii() and b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    disposition = attachment_header(raw, "Content-Disposition")
    # One RFC 2231 parameter, not split into filename*0*= continuations.
    assert disposition.startswith("attachment; filename*=utf-8''%E6%95%B4")
    assert "filename*0" not in disposition
    assert unquote(disposition.split("''", 1)[1], encoding="utf-8") == name
    ctype = attachment_header(raw, "Content-Type")
    words = re.findall(r"=\?utf-8\?b\?([A-Za-z0-9+/=]+)\?=", ctype)
    assert ctype.startswith("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet; name=\"=?utf-8?b?")
    assert len(words) > 1 and all(len(w) + 12 <= 75 for w in words)  # RFC 2047 word length
    # Each word decodes on its own (split between characters), and together they give the name.
    assert "".join(base64.b64decode(w).decode("utf-8") for w in words) == name
    assert max(len(line) for line in raw.split(b"\r\n")) < 998


@pytest.mark.skipif(MUNPACK is None, reason="munpack (apt: mpack) 未安装")
def test_template_draft_reads_back_with_munpack(template_plan, workdir, tmp_path):
    draft = template_plan.drafts[1]
    out = subprocess.run([MUNPACK, "-f", "-r", "~", "-C", str(tmp_path), str(draft.path.resolve())],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".desc"]
    assert len(files) == 1
    assert files[0].read_bytes() == (workdir / "templates" / draft.attachments[0]).read_bytes()
    # munpack reports the name parameter as it stands ('?' and spaces replaced by '~'): the
    # legacy name= copy, whose encoded-words give the Chinese name.
    words = re.findall(r"=~utf-8~b~([A-Za-z0-9+/=]+)~=", out)
    assert "".join(base64.b64decode(w).decode("utf-8") for w in words) == draft.attachments[0]


@pytest.mark.skipif(shutil.which("perl") is None, reason="perl 未安装")
def test_attachment_names_decode_outside_python(template_plan):
    """Perl's Encode (RFC 2047) and a percent-decoding of filename*= give the same Chinese name."""
    script = r"""
        use Encode; local $/; my $raw = <STDIN>;
        $raw =~ /Content-Type: [^;]+;\s+name="(.*?)"/s or die "no name";
        (my $words = $1) =~ s/\r\n\s+/ /g;
        print encode("UTF-8", decode("MIME-Header", $words)), "\n";
        $raw =~ /filename\*=utf-8''(\S+)/ or die "no filename*";
        (my $f = $1) =~ s/%([0-9A-F]{2})/chr(hex($1))/ge;
        print "$f\n";
    """
    check = subprocess.run(["perl", "-MEncode", "-e", "1"], capture_output=True)
    if check.returncode:
        pytest.skip("perl Encode 不可用")
    draft = template_plan.drafts[1]
    out = subprocess.run(["perl", "-e", script], input=draft.path.read_bytes(), capture_output=True,
                         timeout=60, check=True).stdout.decode("utf-8").splitlines()
    assert out == [draft.attachments[0], draft.attachments[0]]


def test_template_drafts_without_a_folder_use_a_temporary_copy(campaign, tmp_path):
    plan = mail.template_drafts(campaign, tmp_path / "out", now=NOW)
    assert len(plan.drafts) == 3 and sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    (attachment,) = parse(plan.drafts[0].path).iter_attachments()
    assert attachment.get_content()[:2] == b"PK"  # an xlsx


def test_copies_already_in_the_templates_folder_are_sent_as_they_are(campaign, tmp_path):
    unit = campaign.units[0]
    edited = tmp_path / "templates" / unit_template_name(campaign, unit)
    edited.parent.mkdir()
    edited.write_bytes(b"PK edited by hand")
    plan = mail.template_drafts(campaign, tmp_path / "out", templates_dir=tmp_path / "templates", now=NOW)
    (attachment,) = parse(plan.drafts[0].path).iter_attachments()
    assert attachment.get_content() == b"PK edited by hand"
    assert (tmp_path / "templates" / plan.drafts[1].attachments[0]).is_file()  # missing ones written


def test_drafts_without_a_sender_still_open_as_drafts(campaign, tmp_path):
    bare = dataclasses.replace(campaign, contact_email="")
    msg = parse(mail.template_drafts(bare, tmp_path, now=NOW).drafts[0].path)
    assert msg["From"] is None and msg["X-Unsent"] == "1"
    assert msg["Message-ID"].endswith("@ledgerbook.invalid>")


# --------------------------------------------------------------------------- feedback drafts


def test_feedback_goes_to_units_to_fix_and_reminders_to_missing(feedback_plan, collection):
    status = dict(zip(collection.submissions["单位"], collection.submissions["状态"]))
    assert status == {"机关党委": "已通过", "计算机科学与工程学院党委": "需退回修改",
                      "土木工程学院党委": "未提交", "数学与计算科学学院党委": "需退回修改"}
    plan = feedback_plan
    assert [(d.unit, d.kind) for d in plan.drafts] == [("计算机科学与工程学院党委", "feedback"),
                                                      ("土木工程学院党委", "reminder")]
    assert plan.no_address == ["数学与计算科学学院党委"]  # 需退回修改, but no address: listed
    assert plan.drafts[0].path.name == "02_计算机科学与工程学院党委_feedback.eml"  # roster number
    assert plan.drafts[1].path.name == "03_土木工程学院党委_reminder.eml"


def test_feedback_draft_lists_findings_and_attaches_the_marked_copy(feedback_plan, collection, workdir):
    draft = feedback_plan.drafts[0]
    msg = parse(draft.path)
    body = msg.get_body(("plain",)).get_content()
    mine = [f for f in collection.finding_list if f.unit == draft.unit]
    errors = [f for f in mine if f.level == "错误"]
    warnings = [f for f in mine if f.level == "警告"]
    assert errors and warnings
    for f in mine:
        assert f.message in body
    assert body.index(errors[-1].message) < body.index(warnings[0].message)  # errors first
    assert "【错误】" in body and "【警告】" in body
    assert draft.attachments == ("退回修改_计算机科学与工程学院党委.xlsx",)
    (attachment,) = msg.iter_attachments()
    assert attachment.get_filename() == draft.attachments[0]
    assert attachment.get_content() == (workdir / "feedback" / draft.attachments[0]).read_bytes()
    assert msg["X-Unsent"] == "1" and msg["Message-ID"]


def test_reminder_attaches_the_blank_unit_copy(feedback_plan, campaign):
    draft = feedback_plan.drafts[1]
    msg = parse(draft.path)
    body = msg.get_body(("plain",)).get_content()
    assert "尚未收到" in body and "截至2019年9月4日" in body and "2019年9月13日" in body
    (attachment,) = msg.iter_attachments()
    assert attachment.get_filename() == unit_template_name(campaign, campaign.unit("土木工程学院党委"))
    assert attachment.get_content()[:2] == b"PK"


def test_a_unit_without_roster_address_is_answered_at_its_sender(campaign, tmp_path):
    from ledgerbook.collect import collect

    unit = campaign.unit("数学与计算科学学院党委")
    ledger = tmp_path / "ledger.xlsx"
    samples.write_ledger(samples.SLOPPY["deadlines"](samples.clean_ledger(campaign, unit), campaign), campaign, ledger)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "来信.eml").write_bytes(samples.email_with_attachments(
        "数学院 <SX@example.edu.cn>", "dwzzb@example.edu.cn", "报送整顿台账", dt.datetime(2019, 9, 12, 10), "见附件",
        [(f"{unit.name}整顿台账.xlsx", ledger.read_bytes())]))
    plan = mail.feedback_drafts(collect(inbox, campaign), tmp_path / "out", now=NOW)
    assert ("数学与计算科学学院党委", "feedback", "sx@example.edu.cn") in [(d.unit, d.kind, d.to) for d in plan.drafts]
    assert plan.no_address == []


def test_long_finding_lists_are_cut_with_a_count():
    from ledgerbook.findings import make_finding

    findings = [make_finding("row.deadline_vague", at=(i - 1, 8), sheet="整顿台账", value="长期坚持", start="a", end="b")
                for i in range(7, 7 + mail_drafts.MAX_FINDINGS_IN_BODY + 5)]
    lines = mail_drafts._findings_block(findings, has_marked_copy=True)
    assert len(lines) == mail_drafts.MAX_FINDINGS_IN_BODY + 1
    assert lines[0].startswith("1. 【警告】I7的完成时限")
    assert lines[-1] == "另有 5 条见附件。"


# --------------------------------------------------------------------------- sending


def _campaign_for(server_port: int, directory: Path, **extra):
    return load_campaign(write_campaign(directory, port=server_port, **extra))


def test_send_delivers_exactly_the_drafts_once(smtp_server, tmp_path, campaign):
    port, handler = smtp_server
    live = _campaign_for(port, tmp_path, pause_seconds=2.5)
    plan = mail.template_drafts(live, tmp_path / "outbox", templates_dir=tmp_path / "templates", now=NOW)
    pauses = []
    report = mail.send(plan, live, sleep=pauses.append)

    assert [d.unit for d in report.sent] == [d.unit for d in plan.drafts] and not report.failed
    assert pauses == [2.5, 2.5]  # between messages only
    got = received(handler)
    assert [sorted(e.rcpt_tos) for e in handler.envelopes] == [sorted(d.recipients) for d in plan.drafts]
    assert all(e.mail_from == "dwzzb@example.edu.cn" for e in handler.envelopes)
    assert [m["Subject"] for m in got] == [d.subject for d in plan.drafts]
    for msg, draft in zip(got, plan.drafts):
        assert msg["X-Unsent"] is None  # a delivered message is no draft
        assert msg["Message-ID"] == draft.message_id
        (attachment,) = msg.iter_attachments()
        assert attachment.get_filename() == draft.attachments[0]
        assert attachment.get_content() == (tmp_path / "templates" / draft.attachments[0]).read_bytes()

    log = [json.loads(line) for line in (tmp_path / "outbox" / mail.LOG_NAME).read_text("utf-8").splitlines()]
    assert [e["result"] for e in log] == ["sent"] * 3
    assert [e["sha256"] for e in log] == [hashlib.sha256(d.path.read_bytes()).hexdigest() for d in plan.drafts]
    assert {"message_id", "unit", "to", "subject", "time"} <= set(log[0])

    again = mail.send(plan, live, sleep=pauses.append)
    assert not again.sent and len(again.skipped) == 3 and len(handler.envelopes) == 3
    # Drafts written anew (new Date, Message-ID, workbook timestamps) are still the same messages.
    redone = mail.template_drafts(live, tmp_path / "outbox", templates_dir=tmp_path / "templates",
                                  now=NOW + dt.timedelta(days=1))
    assert redone.drafts[0].message_id != plan.drafts[0].message_id
    assert len(mail.send(redone, live, sleep=pauses.append).skipped) == 3 and len(handler.envelopes) == 3


def test_dry_run_sends_and_logs_nothing(smtp_server, tmp_path):
    port, handler = smtp_server
    live = _campaign_for(port, tmp_path)
    plan = mail.template_drafts(live, tmp_path / "outbox", now=NOW)
    report = mail.send(plan, live, dry_run=True, sleep=lambda s: None)
    assert report.dry_run and len(report.pending) == 3 and not report.sent
    assert handler.envelopes == [] and not (tmp_path / "outbox" / mail.LOG_NAME).exists()


def test_a_refused_recipient_is_logged_and_retried_alone(smtp_server, tmp_path):
    port, handler = smtp_server
    handler.refuse = {"tmxy@example.edu.cn"}
    live = _campaign_for(port, tmp_path)
    plan = mail.template_drafts(live, tmp_path / "outbox", now=NOW)
    report = mail.send(plan, live, sleep=lambda s: None)
    assert [d.unit for d in report.sent] == ["机关党委", "计算机科学与工程学院党委"]
    assert [d.unit for d, _ in report.failed] == ["土木工程学院党委"] and "550" in report.failed[0][1]
    handler.refuse = set()
    retry = mail.send(plan, live, sleep=lambda s: None)
    assert [d.unit for d in retry.sent] == ["土木工程学院党委"] and len(retry.skipped) == 2
    assert len(handler.envelopes) == 3


def test_sending_needs_a_host(template_plan, campaign):
    with pytest.raises(mail.MailError, match=r"\[mail\].*host"):
        mail.send(template_plan, campaign)
    assert issubclass(mail.MailError, LedgerbookError)


def test_the_password_comes_from_the_environment(template_plan, campaign, monkeypatch, tmp_path):
    settings = dataclasses.replace(campaign.mail, host="127.0.0.1", username="dwzzb", password_env="LB_TEST_PW")
    live = dataclasses.replace(campaign, mail=settings)
    monkeypatch.delenv("LB_TEST_PW", raising=False)
    with pytest.raises(mail.MailError, match="LB_TEST_PW"):
        mail.send(template_plan, live, log_path=tmp_path / "log.jsonl")
    # ... and never from the campaign file, which has no key for it.
    path = write_campaign(tmp_path, port=25, password="secret")
    from ledgerbook.errors import CampaignError

    with pytest.raises(CampaignError, match="mail.password"):
        load_campaign(path)


# --------------------------------------------------------------------------- command line


def test_cli_mail_templates(tmp_path):
    path = write_campaign(tmp_path)
    result = CliRunner().invoke(cli, ["mail", "templates", "-c", str(path), "-o", str(tmp_path / "outbox")])
    assert result.exit_code == 0, result.output
    assert "3 封" in result.output and "数学与计算科学学院党委" in result.output
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 3


def test_cli_mail_templates_send_and_resend(smtp_server, tmp_path):
    port, handler = smtp_server
    path = write_campaign(tmp_path, port=port)
    args = ["mail", "templates", "-c", str(path), "-o", str(tmp_path / "outbox"), "--send"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "已发送 3 封" in first.output and len(handler.envelopes) == 3
    second = CliRunner().invoke(cli, args)
    assert second.exit_code == 0 and "已发送 0 封" in second.output and "跳过 3 封" in second.output
    assert len(handler.envelopes) == 3


def test_cli_send_without_host_is_one_chinese_line(tmp_path):
    path = write_campaign(tmp_path)
    result = CliRunner().invoke(cli, ["mail", "templates", "-c", str(path), "-o", str(tmp_path / "o"), "--send"])
    assert result.exit_code == 2
    assert "错误：" in result.output and "host" in result.output and "Traceback" not in result.output


def test_cli_mail_feedback(inbox, tmp_path):
    path = write_campaign(tmp_path)
    result = CliRunner().invoke(cli, ["mail", "feedback", str(inbox), "-c", str(path), "--as-of", "2019-09-20",
                                      "-o", str(tmp_path / "outbox")])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "outbox").glob("*.eml"))
    assert names == ["02_计算机科学与工程学院党委_feedback.eml", "03_土木工程学院党委_reminder.eml"]
    assert "数学与计算科学学院党委" in result.output
    body = parse(tmp_path / "outbox" / names[1]).get_body(("plain",)).get_content()
    assert "截至2019年9月20日" in body


def test_cli_mail_feedback_wants_the_inbox_not_a_summary(tmp_path):
    summary = tmp_path / "汇总表.xlsx"
    summary.write_bytes(b"PK")
    result = CliRunner().invoke(cli, ["mail", "feedback", str(summary), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2 and "收件箱文件夹" in result.output
