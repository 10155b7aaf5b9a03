"""`ledgerbook fetch` against a real IMAP server (Dovecot, started once per session, see
dovecot_helpers.py).

Mail goes in the way it arrives in life, by IMAP APPEND: drafts written by ``ledgerbook.mail``
(with the units' filled ledgers attached), a message built by mpack (raw UTF-8 subject and
name, no Date until the "MTA" adds one), Foxmail-style GBK encoded-word names, RFC 2231 names,
and a plain notice without attachment. Each test reads its own folder of the one mailbox.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from dovecot_helpers import PASSWORD, USER
from ledgerbook import mail
from ledgerbook.demo import samples
from ledgerbook.inbox import limits
from ledgerbook.campaign import load_campaign
from ledgerbook.cli import cli
from ledgerbook.collect import collect
from ledgerbook.errors import FetchError
from ledgerbook.fetch import MAIL_FOLDER, fetch, state_path_for
from ledgerbook.template import unit_template_name

pytestmark = pytest.mark.dovecot

OFFICE = dt.timezone(dt.timedelta(hours=8))
MPACK = shutil.which("mpack")

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
contact_email = "dwzzb@example.edu.cn"

[[units]]
name = "机关党委"
email = "jgdw@example.edu.cn"

[[units]]
name = "计算机科学与工程学院党委"
email = "jsjxy@example.edu.cn"

[[units]]
name = "土木工程学院党委"
email = "tmxy@example.edu.cn"

[[units]]
name = "数学与计算科学学院党委"

"""


def at(*args: int) -> dt.datetime:
    """A moment on the office's clock (UTC+8)."""
    return dt.datetime(*args, tzinfo=OFFICE)


def crlf(data: bytes) -> bytes:
    """IMAP carries messages with CRLF line ends (imaplib's APPEND converts, so the test does it
    first and compares with exactly what was appended)."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@dataclasses.dataclass(frozen=True)
class Mail:
    label: str
    data: bytes
    when: dt.datetime  # INTERNALDATE given at APPEND
    sender: str  # From address
    attachment: bool = True


def write_campaign(directory: Path, section: str = "") -> Path:
    path = directory / "campaign.toml"
    path.write_text(CAMPAIGN_TOML + section, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the mail


def _mpack_message(path: Path, subject: str, sender: str, when: dt.datetime, work: Path) -> bytes:
    """A message built by mpack: raw UTF-8 subject and name; the sender's program and MTA add
    From, To and Date in front (mpack writes none of them)."""
    out = work / f"{path.stem}.mpack"
    subprocess.run([MPACK, "-s", subject, "-o", str(out), str(path)], check=True, capture_output=True, timeout=30)
    head = (f"From: {sender}\nTo: dwzzb@example.edu.cn\n"
            f"Date: {when.strftime('%a, %d %b %Y %H:%M:%S +0800')}\n").encode()
    return crlf(head + out.read_bytes())


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The campaign and the mail the units send, built once."""
    if MPACK is None:
        pytest.skip("mpack (apt: mpack) 未安装")
    work = tmp_path_factory.mktemp("fetch-mail")
    campaign = load_campaign(write_campaign(work))
    jg, jsj, tm, sx = campaign.units

    # Drafts by `mail templates`: the templates folder already holds the filled ledgers of two
    # units, so the drafts carry them as they are (and a blank copy for the third).
    templates = work / "templates"
    templates.mkdir()
    samples.write_ledger(samples.clean_ledger(campaign, jg), campaign, templates / unit_template_name(campaign, jg))
    sloppy = samples.SLOPPY["deadlines"](samples.clean_ledger(campaign, jsj, seed=1), campaign)
    samples.write_ledger(sloppy, campaign, templates / unit_template_name(campaign, jsj))
    plan = mail.template_drafts(campaign, work / "outbox", templates_dir=templates, now=dt.datetime(2019, 9, 4, 9, 30))
    mails = [Mail(f"draft {d.unit}", d.path.read_bytes(), at(2019, 9, 4, 9, 31 + i), "dwzzb@example.edu.cn")
             for i, d in enumerate(plan.drafts)]

    tm_ledger = work / "整顿台账_土木工程学院党委.xlsx"
    samples.write_ledger(samples.clean_ledger(campaign, tm, seed=2), campaign, tm_ledger)
    mails.append(Mail("mpack", _mpack_message(tm_ledger, "回复：报送整顿台账（土木）", "tmxy@example.edu.cn",
                                              at(2019, 9, 12, 16, 5), work), at(2019, 9, 12, 16, 6),
                      "tmxy@example.edu.cn"))

    sx_ledger = work / "sx.xlsx"
    samples.write_ledger(samples.SLOPPY["persons"](samples.clean_ledger(campaign, sx, seed=3), campaign), campaign,
                         sx_ledger)
    mails.append(Mail("gbk", crlf(samples.email_with_attachments(
        "数学学院 <sxxy_dzb@qq.com>", "dwzzb@example.edu.cn", "数学与计算科学学院党委整顿台账",
        dt.datetime(2019, 9, 13, 10, 0), "请查收。", [("数学与计算科学学院党委整顿台账.xlsx", sx_ledger.read_bytes())],
        gbk_names=True)), at(2019, 9, 13, 10, 1), "sxxy_dzb@qq.com"))

    jg_again = work / "jg2.xlsx"
    samples.write_ledger(samples.clean_ledger(campaign, jg, seed=4), campaign, jg_again)
    mails.append(Mail("rfc2231", crlf(samples.email_with_attachments(
        "机关党委 周建国 <jgdw@example.edu.cn>", "dwzzb@example.edu.cn", "Re: 机关党委整顿台账（修改后）",
        dt.datetime(2019, 9, 14, 8, 45), "修改后的台账见附件。", [("机关党委整顿台账（修改稿）.xlsx", jg_again.read_bytes())])),
        at(2019, 9, 14, 8, 46), "jgdw@example.edu.cn"))

    mails.append(Mail("notice", crlf(
        b"From: =?utf-8?b?5qCh5Yqe?= <xb@example.edu.cn>\nTo: dwzzb@example.edu.cn\n"
        b"Subject: =?utf-8?b?5Lya6K6u6YCa55+l?=\nDate: Mon, 16 Sep 2019 08:00:00 +0800\n"
        b"Message-ID: <notice-1@example.edu.cn>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: 8bit\n\n" + "周三下午开会。".encode() + b"\n"),
        at(2019, 9, 16, 8, 0, 30), "xb@example.edu.cn", attachment=False))
    return campaign, mails, work


@pytest.fixture
def campaign_file(tmp_path, dovecot):
    return write_campaign(tmp_path, dovecot.campaign_section())


def fill(dovecot, mails, folder: str | None = None, flags: dict[int, str] | None = None) -> str:
    folder = folder or dovecot.new_folder()
    for i, m in enumerate(mails):
        dovecot.append(folder, m.data, m.when.timestamp(), (flags or {}).get(i, ""))
    return folder


def run(campaign_file: Path, inbox: Path, dovecot, **kwargs):
    kwargs.setdefault("ssl_context", dovecot.tls_context())
    kwargs.setdefault("password", PASSWORD)
    return fetch(load_campaign(campaign_file), inbox, **kwargs)


def eml_files(inbox: Path) -> list[Path]:
    return sorted((inbox / MAIL_FOLDER).iterdir()) if (inbox / MAIL_FOLDER).exists() else []


def only_complete_messages(inbox: Path) -> None:
    """Nothing but finished .eml files in the mail folder (no temporary or half file)."""
    for path in eml_files(inbox):
        assert path.suffix == ".eml" and not path.name.startswith("."), path.name


# --------------------------------------------------------------------------- first fetch


def test_first_fetch_writes_every_message_exactly_as_appended(dovecot, world, campaign_file, tmp_path):
    campaign, mails, _ = world
    folder = fill(dovecot, mails)
    inbox = tmp_path / "inbox"
    result = run(campaign_file, inbox, dovecot, folder=folder)

    assert len(result.taken) == len(mails) and result.skipped == [] and result.already == 0
    assert [m.uid for m in result.taken] == list(range(1, len(mails) + 1))
    by_bytes = {m.data: m for m in mails}
    for taken in result.taken:
        data = taken.path.read_bytes()
        assert data in by_bytes, taken.path.name                           # the bytes, exactly
        assert taken.path.stat().st_mtime == by_bytes[data].when.timestamp()  # INTERNALDATE
        assert taken.received == by_bytes[data].when.replace(tzinfo=None)
        assert taken.size == len(data)
    assert sorted(p.read_bytes() for p in eml_files(inbox)) == sorted(m.data for m in mails)

    names = [t.path.name for t in result.taken]
    assert len({n.lower() for n in names}) == len(names)
    assert not any(re.search(r'[\\/:*?"<>|]', n) for n in names)
    gbk = next(t for t in result.taken if t.sender.endswith("<sxxy_dzb@qq.com>"))
    assert gbk.path.name == "2019-09-13_1001_数学学院_数学与计算科学学院党委整顿台账.eml"
    assert gbk.subject == "数学与计算科学学院党委整顿台账" and gbk.sender == "数学学院 <sxxy_dzb@qq.com>"
    mpack = next(t for t in result.taken if "tmxy" in t.sender)
    assert mpack.path.name == "2019-09-12_1606_tmxy@example.edu.cn_回复：报送整顿台账（土木）.eml"
    notice = next(t for t in result.taken if "xb@" in t.sender)
    assert notice.subject == "会议通知" and notice.message_id == "<notice-1@example.edu.cn>"

    # The state lies beside the inbox, the inbox holds only the messages.
    assert result.state_path == tmp_path / "inbox.ledgerbook-fetch.json" == state_path_for(inbox)
    assert [p.name for p in inbox.iterdir()] == [MAIL_FOLDER]
    only_complete_messages(inbox)
    state = json.loads(result.state_path.read_text(encoding="utf-8"))
    box = state["mailboxes"][f"{USER}@127.0.0.1/{folder}"]
    assert box["uids"] == list(range(1, len(mails) + 1))
    assert sorted(m["sha256"] for m in box["messages"]) == sorted(hashlib.sha256(m.data).hexdigest() for m in mails)


def test_second_fetch_takes_nothing_and_then_only_the_new_mail(dovecot, world, campaign_file, tmp_path):
    _, mails, _ = world
    folder = fill(dovecot, mails[:3])
    inbox = tmp_path / "inbox"
    first = run(campaign_file, inbox, dovecot, folder=folder)
    assert len(first.taken) == 3
    before = {p.name: p.stat().st_mtime_ns for p in eml_files(inbox)}

    again = run(campaign_file, inbox, dovecot, folder=folder)
    assert again.taken == [] and again.skipped == [] and again.already == 0
    assert {p.name: p.stat().st_mtime_ns for p in eml_files(inbox)} == before

    fill(dovecot, mails[3:5], folder)
    third = run(campaign_file, inbox, dovecot, folder=folder)
    assert [t.uid for t in third.taken] == [4, 5]
    assert sorted(t.path.read_bytes() for t in third.taken) == sorted(m.data for m in mails[3:5])
    assert len(eml_files(inbox)) == 5


def test_the_server_is_only_read(dovecot, world, campaign_file, tmp_path):
    """EXAMINE and BODY.PEEK[]: flags stay as they were (no \\Seen), nothing is deleted; and
    the client identified itself (RFC 2971 ID), which the server logged."""
    _, mails, _ = world
    folder = fill(dovecot, mails, flags={0: "\\Seen", 1: "\\Flagged", 2: "\\Answered \\Seen"})
    before = dovecot.flags(folder)
    assert before[1] == {"\\Seen"} and before[4] == set()
    result = run(campaign_file, tmp_path / "inbox", dovecot, folder=folder)
    assert len(result.taken) == len(mails)
    assert dovecot.flags(folder) == before

    log = dovecot.log_text()
    sessions = set(re.findall(r"<([^<>]+)>: Info: ID sent: name=ledgerbook, version=", log))
    assert sessions, "no ID command from ledgerbook in the server's log"
    for session in sessions:
        (end,) = re.findall(rf"<{re.escape(session)}>: Info: Disconnected: (.*)", log)
        assert "Logged out" in end
        assert re.search(r"deleted=0 expunged=0 trashed=0", end), end


# --------------------------------------------------------------------------- failures


def test_wrong_password_is_one_chinese_line_and_writes_nothing(dovecot, world, campaign_file, tmp_path):
    folder = fill(dovecot, world[1][:1])
    inbox = tmp_path / "inbox"
    with pytest.raises(FetchError) as err:
        run(campaign_file, inbox, dovecot, folder=folder, password="not-the-code")
    message = str(err.value)
    assert "拒绝登录" in message and "授权码" in message and "\n" not in message
    assert "not-the-code" not in message
    assert not inbox.exists() and not state_path_for(inbox).exists()


def test_cli_wrong_password_exits_2_with_one_line(dovecot, world, campaign_file, tmp_path, monkeypatch):
    folder = fill(dovecot, world[1][:1])
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.cert))
    monkeypatch.setenv("LEDGERBOOK_IMAP_PASSWORD", "wrong-code-123")
    result = CliRunner().invoke(cli, ["fetch", "-c", str(campaign_file), "-o", str(tmp_path / "inbox"),
                                      "--folder", folder])
    assert result.exit_code == 2
    assert result.output.startswith("错误：") and result.output.count("\n") == 1
    assert "wrong-code-123" not in result.output


def test_server_down_mid_fetch_then_resumed(dovecot, world, campaign_file, tmp_path):
    _, mails, _ = world
    folder = fill(dovecot, mails)
    inbox = tmp_path / "inbox"

    def pull_the_plug(done: int, total: int) -> None:
        if done == 2:
            dovecot.stop()

    try:
        with pytest.raises(FetchError) as err:
            run(campaign_file, inbox, dovecot, folder=folder, progress=pull_the_plug, timeout=5)
    finally:
        dovecot.start()
    assert str(err.value) == (f"与 IMAP 服务器 127.0.0.1:{dovecot.imaps_port} 的连接中断（服务器断开了连接）："
                              "已取回并保存 2 封，重新运行将继续取回其余邮件")
    only_complete_messages(inbox)
    assert len(eml_files(inbox)) == 2

    resumed = run(campaign_file, inbox, dovecot, folder=folder)
    assert [t.uid for t in resumed.taken] == list(range(3, len(mails) + 1))
    assert sorted(p.read_bytes() for p in eml_files(inbox)) == sorted(m.data for m in mails)


def test_an_interrupted_run_is_completed_without_duplicates(dovecot, world, campaign_file, tmp_path):
    """Killed between writing a file and recording it (here: the state file lost), with a
    temporary file left behind: the next run adopts the files by their bytes and clears ours."""
    _, mails, _ = world
    folder = fill(dovecot, mails[:4])
    inbox = tmp_path / "inbox"

    def interrupt(done: int, total: int) -> None:
        if done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(campaign_file, inbox, dovecot, folder=folder, progress=interrupt)
    only_complete_messages(inbox)
    assert len(eml_files(inbox)) == 1

    state_path_for(inbox).unlink()
    (inbox / MAIL_FOLDER / ".~ledgerbook-x1y2z3.eml").write_bytes(mails[1].data[:100])
    result = run(campaign_file, inbox, dovecot, folder=folder)
    assert result.already == 1 and [t.uid for t in result.taken] == [2, 3, 4]
    only_complete_messages(inbox)
    assert sorted(p.read_bytes() for p in eml_files(inbox)) == sorted(m.data for m in mails[:4])


def test_an_oversized_message_is_skipped_with_a_clear_line(dovecot, world, campaign_file, tmp_path, monkeypatch):
    """The cap is the inbox's own e-mail cap (the size collect would refuse to open), read when
    fetch runs: lowered here below the biggest message, which then stays on the server."""
    _, mails, _ = world
    folder = fill(dovecot, mails)
    biggest = max(mails, key=lambda m: len(m.data))
    monkeypatch.setattr(limits, "MAX_EML_SIZE", len(biggest.data) - 1)
    inbox = tmp_path / "inbox"
    result = run(campaign_file, inbox, dovecot, folder=folder)
    assert len(result.taken) == len(mails) - 1
    (skipped,) = result.skipped
    assert skipped.size == len(biggest.data)
    assert "邮件过大" in skipped.reason and "上限" in skipped.reason and "未取回" in skipped.reason
    assert biggest.data not in [p.read_bytes() for p in eml_files(inbox)]
    # Given explicitly, another cap wins; nothing is taken twice.
    again = run(campaign_file, inbox, dovecot, folder=folder, max_message_size=len(biggest.data))
    assert [t.path.read_bytes() for t in again.taken] == [biggest.data]


def test_tls_is_verified_and_insecure_says_so(dovecot, world, campaign_file, tmp_path):
    folder = fill(dovecot, world[1][:1])
    with pytest.raises(FetchError) as err:  # the system's trust store does not know the test's certificate
        run(campaign_file, tmp_path / "a", dovecot, folder=folder, ssl_context=None)
    assert "证书" in str(err.value) and "--insecure" in str(err.value)
    assert not (tmp_path / "a").exists()

    result = run(campaign_file, tmp_path / "b", dovecot, folder=folder, ssl_context=None, insecure=True)
    assert len(result.taken) == 1 and result.verified is False and result.encrypted is True

    starttls = write_campaign(tmp_path, dovecot.campaign_section("starttls"))
    result = run(starttls, tmp_path / "c", dovecot, folder=folder)
    assert len(result.taken) == 1 and result.verified is True


def test_a_plain_connection_says_so_and_a_missing_folder_is_one_line(dovecot, world, tmp_path):
    from ledgerbook.console import fetch_report

    folder = fill(dovecot, world[1][:1])
    plain = write_campaign(tmp_path, dovecot.campaign_section("none"))
    result = run(plain, tmp_path / "a", dovecot, folder=folder)
    assert len(result.taken) == 1 and not result.encrypted and not result.verified
    assert "连接未加密" in fetch_report(result)
    with pytest.raises(FetchError, match="无法打开邮箱文件夹“没有这个文件夹”") as err:
        run(plain, tmp_path / "b", dovecot, folder="没有这个文件夹")
    assert "\n" not in str(err.value) and not (tmp_path / "b").exists()


def test_unreachable_and_silent_servers_are_one_line(tmp_path):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    path = write_campaign(tmp_path, f'[imap]\nhost = "127.0.0.1"\nport = {port}\nusername = "{USER}"\n')
    with pytest.raises(FetchError, match="拒绝连接"):
        fetch(load_campaign(path), tmp_path / "inbox", password="x")

    with socket.socket() as silent:  # accepts the connection, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        path = write_campaign(tmp_path, f'[imap]\nhost = "127.0.0.1"\nport = {silent.getsockname()[1]}\n'
                                        f'username = "{USER}"\n')
        with pytest.raises(FetchError, match="没有响应") as err:
            fetch(load_campaign(path), tmp_path / "inbox", password="x", timeout=0.5)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "inbox").exists()


def test_no_password_anywhere(tmp_path, dovecot, monkeypatch):
    monkeypatch.delenv("LEDGERBOOK_IMAP_PASSWORD", raising=False)
    path = write_campaign(tmp_path, dovecot.campaign_section())
    with pytest.raises(FetchError, match="LEDGERBOOK_IMAP_PASSWORD"):
        fetch(load_campaign(path), tmp_path / "inbox")


def test_file_names_fit_every_file_system():
    """Readable, Windows-safe, and within Linux's 255 bytes even for a long Chinese subject."""
    from ledgerbook.fetch import _Envelope, _file_name

    env = _Envelope(uid=1, size=1, internaldate=at(2019, 9, 12, 17, 30), sender_name="计算机学院党委办公室" * 10,
                    sender_address="jsjxy@example.edu.cn", sender="", subject="回复：台账/报送:*?" * 40,
                    message_id=None, has_attachment=True)
    name = _file_name(env)
    assert name.startswith("2019-09-12_1730_计算机学院党委办公室") and name.endswith(".eml")
    assert len(name.encode("utf-8")) <= 255 - len("_99")
    assert not re.search(r'[\\/:*?"<>|\x00-\x1f]', name)
    bare = dataclasses.replace(env, sender_name="", subject=" \r\n ")
    assert _file_name(bare) == "2019-09-12_1730_jsjxy@example.edu.cn_无主题.eml"


def test_without_an_imap_section(tmp_path):
    with pytest.raises(FetchError, match=r"\[imap\]"):
        fetch(load_campaign(write_campaign(tmp_path)), tmp_path / "inbox", password="x")


# --------------------------------------------------------------------------- renumbering, filters


def test_a_changed_uidvalidity_is_handled_by_message_id(dovecot, world, campaign_file, tmp_path):
    """The folder is re-created (as after a server migration): new UIDVALIDITY, same mail plus
    one new message. Messages with a Message-ID are recognised without download, the others
    (samples' e-mails have none) by their bytes; only the new one is taken."""
    _, mails, _ = world
    folder = fill(dovecot, mails[:-1])
    inbox = tmp_path / "inbox"
    run(campaign_file, inbox, dovecot, folder=folder)
    dovecot.delete_folder(folder)
    dovecot.create_folder(folder)
    fill(dovecot, [mails[-1], *mails[:-1]], folder)

    result = run(campaign_file, inbox, dovecot, folder=folder)
    assert result.uidvalidity_changed
    assert result.already == len(mails) - 1
    assert [t.uid for t in result.taken] == [1] and result.taken[0].path.read_bytes() == mails[-1].data
    assert sorted(p.read_bytes() for p in eml_files(inbox)) == sorted(m.data for m in mails)
    again = run(campaign_file, inbox, dovecot, folder=folder)
    assert again.taken == [] and again.already == 0 and not again.uidvalidity_changed


def test_dry_run_and_filters(dovecot, world, campaign_file, tmp_path):
    _, mails, _ = world
    folder = fill(dovecot, mails)
    inbox = tmp_path / "inbox"
    dry = run(campaign_file, inbox, dovecot, folder=folder, dry_run=True)
    assert dry.dry_run and len(dry.taken) == len(mails)
    assert not inbox.exists() and not state_path_for(inbox).exists()

    units = run(campaign_file, inbox, dovecot, folder=folder, only_units=True, dry_run=True)
    assert sorted(t.sender.split("<")[-1].rstrip(">") for t in units.taken) == ["jgdw@example.edu.cn",
                                                                                "tmxy@example.edu.cn"]
    assert all("名单" in s.reason for s in units.skipped) and len(units.skipped) == len(mails) - 2

    attached = run(campaign_file, inbox, dovecot, folder=folder, only_attachments=True)
    assert [s.subject for s in attached.skipped] == ["会议通知"]
    assert "没有附件" in attached.skipped[0].reason
    assert len(attached.taken) == sum(m.attachment for m in mails)
    # Skipped on request is not taken: a run without the filter takes it.
    assert [t.subject for t in run(campaign_file, inbox, dovecot, folder=folder).taken] == ["会议通知"]


def test_since_leaves_older_mail_on_the_server(dovecot, world, campaign_file, tmp_path):
    _, mails, _ = world
    folder = fill(dovecot, mails)
    result = run(campaign_file, tmp_path / "inbox", dovecot, folder=folder, since=dt.date(2019, 9, 13))
    assert sorted(t.received.date() for t in result.taken) == sorted(
        m.when.date() for m in mails if m.when.date() >= dt.date(2019, 9, 13))
    assert len(result.taken) < len(mails)


def test_a_folder_with_a_chinese_name(dovecot, world, campaign_file, tmp_path):
    """Named in UTF-8 through doveadm, so the IMAP name (modified UTF-7) is not ours twice."""
    _, mails, _ = world
    dovecot.doveadm("mailbox", "create", "-u", USER, "台账回复")
    dovecot.doveadm("save", "-u", USER, "-m", "台账回复", input=mails[3].data)
    result = run(campaign_file, tmp_path / "inbox", dovecot, folder="台账回复")
    assert [t.path.read_bytes() for t in result.taken] == [mails[3].data]
    assert result.mailbox.endswith("/台账回复")


# --------------------------------------------------------------------------- collect


def _hand_saved(mails: list[Mail], inbox: Path) -> None:
    """What the clerk did before: open each mail and save it, named after its subject, at the
    moment of saving (so the file's time is not the time received)."""
    inbox.mkdir()
    saved_at = at(2019, 10, 20, 15, 0).timestamp()
    for i, m in enumerate(mails, 1):
        path = inbox / f"手工保存{i:02d}.eml"
        path.write_bytes(m.data)
        os.utime(path, (saved_at, saved_at))


def _comparable(collection, rename: dict[str, str]) -> dict[str, pd.DataFrame]:
    """The Collection's tables with the hand-saved file names put as fetch named them, rows in
    a stable order."""
    out = {}
    for name in ("files", "submissions", "rows", "findings", "by_problem", "liaisons"):
        frame = getattr(collection, name).copy()
        for column in frame.columns:
            frame[column] = frame[column].map(lambda v: _renamed(v, rename))
        if name != "by_problem":
            frame = frame.sort_values(list(frame.columns), key=lambda s: s.astype(str)).reset_index(drop=True)
        out[name] = frame
    return out


def _renamed(value, rename: dict[str, str]):
    if isinstance(value, str):
        for old, new in rename.items():
            value = value.replace(old, new)
    return value


def test_fetch_then_collect_equals_saving_the_mails_by_hand(dovecot, world, campaign_file, tmp_path):
    campaign, mails, _ = world
    folder = fill(dovecot, mails)
    fetched = tmp_path / "inbox"
    result = run(campaign_file, fetched, dovecot, folder=folder)
    assert len(result.taken) == len(mails)
    by_hand = tmp_path / "by_hand"
    _hand_saved(mails, by_hand)

    as_of = dt.date(2019, 10, 28)
    a = collect(fetched, campaign, as_of=as_of)
    b = collect(by_hand, campaign, as_of=as_of)
    fetched_name = {t.path.read_bytes(): f"{MAIL_FOLDER}/{t.path.name}" for t in result.taken}
    rename = {f"手工保存{i:02d}.eml": fetched_name[m.data] for i, m in enumerate(mails, 1)}

    left, right = _comparable(a, {}), _comparable(b, rename)
    for name in left:
        pd.testing.assert_frame_equal(left[name], right[name], check_dtype=False, obj=name)
    # Not a comparison of two empty results: the round has submissions, rows and findings.
    assert set(a.submissions["状态"]) >= {"已通过", "需退回修改"}
    assert len(a.rows) > 5 and len(a.findings) > 0
    assert (a.files["收到时间"].dropna() < dt.datetime(2019, 10, 1)).all()  # the mails' own times


def test_collect_uses_internaldate_when_a_message_has_no_date(dovecot, world, campaign_file, tmp_path):
    _, mails, work = world
    ledger = next(work.glob("整顿台账_土木*.xlsx"))
    out = work / "nodate.mpack"
    subprocess.run([MPACK, "-s", "台账", "-o", str(out), str(ledger)], check=True, capture_output=True)
    data = crlf(b"From: tmxy@example.edu.cn\n" + out.read_bytes())
    folder = dovecot.new_folder()
    dovecot.append(folder, data, at(2019, 9, 11, 20, 15).timestamp())
    inbox = tmp_path / "inbox"
    run(campaign_file, inbox, dovecot, folder=folder)
    files = collect(inbox, world[0]).files
    eml = files[files["格式"] == "eml"]
    assert list(eml["收到时间"]) == [dt.datetime(2019, 9, 11, 20, 15)]


# --------------------------------------------------------------------------- CLI


def test_cli_fetch_reports_what_the_api_returned(dovecot, world, campaign_file, tmp_path, monkeypatch):
    _, mails, _ = world
    folder = fill(dovecot, mails)
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.cert))  # verified, against the test's certificate
    monkeypatch.setenv("LEDGERBOOK_IMAP_PASSWORD", PASSWORD)
    inbox = tmp_path / "inbox"
    args = ["fetch", "-c", str(campaign_file), "-o", str(inbox), "--folder", folder]
    first = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert first.exit_code == 0, first.output
    lines = first.output.splitlines()
    assert lines[0] == f"已从 {USER}（127.0.0.1）的 {folder} 取回 {len(mails)} 封新邮件，存入 {inbox / MAIL_FOLDER}/"
    written = sorted(p.name for p in eml_files(inbox))
    assert sorted(line.rsplit("→ ", 1)[1] for line in lines if "→ " in line) == written
    assert lines[-1] == f"下一步：ledgerbook collect {inbox}"
    assert PASSWORD not in first.output

    second = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert second.exit_code == 0 and second.output.strip() == f"{USER}（127.0.0.1）的 {folder} 没有新邮件"


def test_cli_asks_for_the_password_without_echo(dovecot, world, campaign_file, tmp_path, monkeypatch):
    folder = fill(dovecot, world[1][:2])
    monkeypatch.delenv("LEDGERBOOK_IMAP_PASSWORD", raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.cert))
    inbox = tmp_path / "inbox"
    result = CliRunner().invoke(cli, ["fetch", "-c", str(campaign_file), "-o", str(inbox), "--folder", folder],
                                input=PASSWORD + "\n", catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "授权码" in result.output and PASSWORD not in result.output
    assert len(eml_files(inbox)) == 2
    assert PASSWORD not in state_path_for(inbox).read_text(encoding="utf-8")
    assert PASSWORD not in dovecot.log_text()


def test_cli_insecure_dry_run_and_filters_say_so(dovecot, world, campaign_file, tmp_path, monkeypatch):
    _, mails, _ = world
    folder = fill(dovecot, mails)
    monkeypatch.setenv("LEDGERBOOK_IMAP_PASSWORD", PASSWORD)
    inbox = tmp_path / "inbox"
    result = CliRunner().invoke(cli, ["fetch", "-c", str(campaign_file), "-o", str(inbox), "--folder", folder,
                                      "--insecure", "--dry-run", "--with-attachment"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"演练（未写任何文件）：将从 {USER}（127.0.0.1）的 {folder} 取回 {len(mails) - 1} 封")
    assert "1 封没有附件（--with-attachment）（-v 逐封列出）" in result.output
    assert "未验证服务器的 TLS 证书（--insecure）" in result.output
    assert not inbox.exists()


def test_cli_without_imap_section_is_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["fetch", "-c", str(write_campaign(tmp_path)), "-o", str(tmp_path / "in")])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "[imap]" in result.output
