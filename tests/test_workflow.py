"""A round in a clerk's working folder: ledgerbook never deletes or changes a file it did not
write, replaces its own outputs, and leaves the feedback folder and outbox matching the summary.

Every test builds the folder as a clerk would (own campaign file, own inbox files, own notes in
an earlier summary, a file open in Excel) and proves what happened by hashing every file.
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import os
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from ledgerbook import feedback
from ledgerbook.campaign import load_campaign
from ledgerbook.cli import cli
from ledgerbook.demo import samples
from ledgerbook.errors import OutputError, OverwriteError
from ledgerbook.outputs import MANIFEST_NAME, Manifest, atomic_save, atomic_save_bytes
from ledgerbook.template import write_template
from ledgerbook.text import OFFICE_TZ
from ledgerbook.workflow import NO_LEDGER, run_round

NOW = dt.datetime(2019, 9, 16, 17, 0, tzinfo=OFFICE_TZ)

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
email = "sxxy@example.edu.cn"

[[units]]
name = "外国语学院党委"
email = "wgy@example.edu.cn"
"""
# 机关 clean; 计算机 and 土木 with errors (土木 fixes them before round 2); 数学 never answers;
# 外国语's file arrived cut short (unreadable: it gets a draft but no marked-up copy).
JG, JSJ, TM, SX, WGY = range(5)


def _put(spec, campaign, path: Path, day: int) -> None:
    samples.write_ledger(spec, campaign, path)
    ts = dt.datetime(2019, 9, day, 10, 0, tzinfo=OFFICE_TZ).timestamp()
    os.utime(path, (ts, ts))


@pytest.fixture
def office(tmp_path):
    """The clerk's working folder, as the README tells clerks to lay it out, used for a while."""
    work = tmp_path / "整顿台账工作"
    inbox = work / "inbox"
    inbox.mkdir(parents=True)
    campaign_file = work / "campaign.toml"
    campaign_file.write_text(CAMPAIGN_TOML + "# 雷鸣 9月3日 核对过名单\n", encoding="utf-8")
    campaign = load_campaign(campaign_file)
    u = campaign.units
    _put(samples.clean_ledger(campaign, u[JG]), campaign, inbox / "机关党委.xlsx", 10)
    for i in (JSJ, TM):
        _put(samples.SLOPPY["deadlines"](samples.clean_ledger(campaign, u[i]), campaign), campaign,
             inbox / f"{u[i].name}.xlsx", 11)
    whole = inbox / "whole.xlsx"
    _put(samples.clean_ledger(campaign, u[WGY]), campaign, whole, 12)
    (inbox / f"{u[WGY].name}.xlsx").write_bytes(whole.read_bytes()[:2000])
    whole.unlink()
    (inbox / "收文登记.txt").write_text("9月10日 机关党委\n", encoding="utf-8")
    write_template(campaign, work / "附件2模板.xlsx")  # the master the clerk sent out
    (work / "退回修改").mkdir()
    (work / "退回修改" / "我的批注.docx").write_bytes(b"PK\x03\x04 clerk's own notes")
    (work / "发件箱").mkdir()
    (work / "发件箱" / "给书记的信.eml").write_bytes(b"Subject: hello\r\n\r\nclerk's own draft\r\n")
    # An earlier summary the clerk typed notes into, and one that is open in Excel right now.
    run_round(inbox, campaign, summary=work / "汇总表_9月12日.xlsx", now=NOW - dt.timedelta(days=4))
    wb = openpyxl.load_workbook(work / "汇总表_9月12日.xlsx")
    wb["总览"]["H2"] = "已电话催数学院"
    wb.save(work / "汇总表_9月12日.xlsx")
    run_round(inbox, campaign, summary=work / "汇总表_在用.xlsx", now=NOW - dt.timedelta(days=2))
    (work / "~$汇总表_在用.xlsx").write_bytes(b"\x05lock")
    return work, campaign


def hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def clerks(root: Path) -> dict[str, str]:
    """Every file ledgerbook did not write (as the test knows it, not as the manifest says)."""
    own = {"汇总表_在用.xlsx", MANIFEST_NAME}
    return {k: v for k, v in hashes(root).items() if k not in own}


def collect_cli(work: Path, *extra: str):
    args = ["collect", str(work / "inbox"), "-c", str(work / "campaign.toml"), "-o", str(work / "汇总表.xlsx"),
            "--feedback", str(work / "退回修改"), "--mail", str(work / "发件箱"), *extra]
    return CliRunner().invoke(cli, args)


def one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


# --------------------------------------------------------------------------- re-runs


@pytest.mark.parametrize("runs", [2, 3])
def test_rounds_never_touch_what_the_clerk_made_and_leave_only_current_outputs(office, runs):
    work, campaign = office
    names = campaign.unit_names
    before = clerks(work)
    for n in range(runs):
        if n == 1:  # between rounds the clerk saves 土木's corrected ledger into the inbox
            fixed = work / "inbox" / "土木（修改后）.xlsx"
            _put(samples.clean_ledger(campaign, campaign.units[TM]), campaign, fixed, 18)
            before["inbox/土木（修改后）.xlsx"] = hashlib.sha256(fixed.read_bytes()).hexdigest()
        result = collect_cli(work)
        assert result.exit_code == 0, result.output
        after = hashes(work)
        assert {k: after.get(k) for k in before} == before  # nothing of the clerk's changed or gone

    copies = sorted(p.name for p in (work / "退回修改").glob("*.xlsx"))
    assert copies == [f"退回修改_{names[JSJ]}.xlsx"]  # 土木 passes now: its copy is gone
    drafts = sorted(p.name for p in (work / "发件箱").glob("*.eml"))
    # One draft per unit, numbered by the roster: 土木's send-back of round 1 is gone.
    assert drafts == sorted(["给书记的信.eml", f"02_{names[JSJ]}_feedback.eml", f"04_{names[SX]}_reminder.eml",
                             f"05_{names[WGY]}_feedback.eml"])
    if runs == 2:
        assert "已删除上次写出、本次不再需要的文件 2 个" in result.output
    else:
        assert "已删除" not in result.output
    leftovers = [p for p in work.rglob("*") if p.name.startswith(".~")]
    assert leftovers == []


def test_the_api_says_what_was_removed_and_why_a_unit_got_no_copy(office):
    work, campaign = office
    names = campaign.unit_names
    kwargs = dict(summary=work / "汇总表.xlsx", feedback_dir=work / "退回修改", outbox=work / "发件箱", now=NOW)
    first = run_round(work / "inbox", campaign, **kwargs)
    assert set(first.copies) == {names[JSJ], names[TM]}
    assert list(first.no_copy) == [names[WGY]] and "无法读取" in first.no_copy[names[WGY]]
    assert sorted(first.drafts) == sorted((work / "发件箱").glob("0*.eml"))
    assert first.removed == [] and not first.no_ledger

    _put(samples.clean_ledger(campaign, campaign.units[TM]), campaign, work / "inbox" / "土木（修改后）.xlsx", 18)
    second = run_round(work / "inbox", campaign, since=first.summary, **kwargs)
    assert set(second.copies) == {names[JSJ]}
    assert sorted(p.name for p in second.removed) == sorted([f"退回修改_{names[TM]}.xlsx",
                                                             f"03_{names[TM]}_feedback.eml"])
    assert not any(p.exists() for p in second.removed)
    assert second.changes is not None and names[TM] in second.changes.status["单位"].tolist()
    # The manifests list exactly this round's outputs of each folder, with their hashes.
    for folder, paths in ((work / "退回修改", second.copies.values()), (work / "发件箱", second.drafts)):
        recorded = Manifest.load(folder).files
        assert sorted(recorded) == sorted(p.name for p in paths)
        assert all(recorded[p.name].sha256 == hashlib.sha256(p.read_bytes()).hexdigest() for p in paths)
        assert {r.round for r in recorded.values()} == {2}


def test_each_copy_is_built_once_for_the_folder_and_the_mail(office, monkeypatch):
    work, campaign = office
    built = collections.Counter()
    real = feedback.feedback_workbook

    def counting(collection, unit, ledger, **kw):
        built[unit] += 1
        return real(collection, unit, ledger, **kw)

    monkeypatch.setattr(feedback, "feedback_workbook", counting)
    result = collect_cli(work, "-q")
    assert result.exit_code == 0, result.output
    names = campaign.unit_names
    assert built == {names[JSJ]: 1, names[TM]: 1}
    # The attachment is the very copy in the feedback folder.
    from email import policy
    from email.parser import BytesParser

    draft = next((work / "发件箱").glob(f"*_{names[JSJ]}_feedback.eml"))
    msg = BytesParser(policy=policy.default).parsebytes(draft.read_bytes())
    attached = next(msg.iter_attachments()).get_content()
    assert attached == (work / "退回修改" / f"退回修改_{names[JSJ]}.xlsx").read_bytes()


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("case", ["master", "notes", "open", "open_copy", "edited_copy", "edited_draft",
                                  "foreign_draft"])
def test_a_file_in_the_way_stops_the_round_before_anything_is_written(office, case):
    work, campaign = office
    names = campaign.unit_names
    args: list[str] = []
    if case in ("open_copy", "edited_copy", "edited_draft"):
        assert collect_cli(work, "-q").exit_code == 0
    if case == "master":
        args = ["-o", str(work / "附件2模板.xlsx")]
        needle = "附件2模板.xlsx"
    elif case == "notes":
        args = ["-o", str(work / "汇总表_9月12日.xlsx")]
        needle = "被修改过"
    elif case == "open":
        args = ["-o", str(work / "汇总表_在用.xlsx")]
        needle = "正在 Excel/WPS 中打开"
    elif case == "open_copy":  # 土木 passes in the next round, so its open copy would be removed
        _put(samples.clean_ledger(campaign, campaign.units[TM]), campaign, work / "inbox" / "土木（修改后）.xlsx", 18)
        (work / "退回修改" / f"~$退回修改_{names[TM]}.xlsx").write_bytes(b"\x05lock")
        needle = "正在 Excel/WPS 中打开"
    elif case == "edited_copy":
        copy = work / "退回修改" / f"退回修改_{names[JSJ]}.xlsx"
        wb = openpyxl.load_workbook(copy)
        wb.active["A1"] = "已电话通知"
        wb.save(copy)
        needle = copy.name
    elif case == "edited_draft":
        draft = next((work / "发件箱").glob("02_*.eml"))
        draft.write_bytes(draft.read_bytes().replace(b"X-Unsent: 1", b"X-Unsent: 1\r\nCc: boss@example.edu.cn"))
        needle = draft.name
    else:  # the clerk wrote a draft of the name ledgerbook is about to write
        (work / "发件箱" / f"02_{names[JSJ]}_feedback.eml").write_bytes(b"Subject: mine\r\n\r\nmine\r\n")
        needle = "不是 ledgerbook 写出的"
    before = hashes(work)
    result = collect_cli(work, *args)
    assert result.exit_code == 2
    line = one_line(result.output)
    assert line.startswith("错误：") and needle in line
    if not case.startswith("open"):
        assert "--force" in line
    assert hashes(work) == before  # not a byte written, moved or removed


def test_force_moves_what_is_in_the_way_aside_and_deletes_nothing(office):
    work, campaign = office
    master = (work / "附件2模板.xlsx").read_bytes()
    result = collect_cli(work, "-o", str(work / "附件2模板.xlsx"), "--force")
    assert result.exit_code == 0, result.output
    moved = list((work / "旧版").rglob("附件2模板.xlsx"))
    assert [p.read_bytes() for p in moved] == [master]
    assert "旧版" in result.output
    assert openpyxl.load_workbook(work / "附件2模板.xlsx", read_only=True).sheetnames[0] == "总览"


def test_outputs_inside_the_inbox_are_refused(office):
    work, _ = office
    before = hashes(work)
    result = CliRunner().invoke(cli, ["collect", str(work / "inbox"), "-c", str(work / "campaign.toml"),
                                      "-o", str(work / "汇总表.xlsx"), "--mail", str(work / "inbox" / "发件箱")])
    assert result.exit_code == 2 and "收件箱" in one_line(result.output)
    assert hashes(work) == before


def test_since_reads_the_annotated_summary_without_touching_it(office):
    work, _ = office
    before = hashes(work)
    result = collect_cli(work, "--since", str(work / "汇总表_9月12日.xlsx"), "-q")
    assert result.exit_code == 0, result.output
    assert hashes(work)["汇总表_9月12日.xlsx"] == before["汇总表_9月12日.xlsx"]
    assert "变化" in openpyxl.load_workbook(work / "汇总表.xlsx", read_only=True).sheetnames


# --------------------------------------------------------------------------- the demo


@pytest.mark.parametrize("where", ["", "inbox", "退回修改"])
def test_demo_refuses_a_clerks_folder(office, where):
    work, _ = office
    before = hashes(work)
    result = CliRunner().invoke(cli, ["demo", str(work / where) if where else str(work)])
    assert result.exit_code == 2
    assert one_line(result.output).startswith("错误：")
    assert hashes(work) == before


def test_demo_reruns_in_its_own_folder_and_stops_at_the_first_file_not_its_own(tmp_path):
    from ledgerbook.demo import run_demo

    folder = tmp_path / "演示"
    folder.mkdir()  # empty: accepted
    run_demo(folder, use_soffice=False)
    first = hashes(folder)
    run_demo(folder, use_soffice=False)
    again = hashes(folder)
    # The same demo again: the same files, and the summaries and copies keep their content.
    assert sorted(again) == sorted(first)
    (folder / "inbox" / "我的台账.xlsx").write_bytes(b"mine")
    (folder / "campaign.toml").write_text("# 我改过了\n", encoding="utf-8")
    before = hashes(folder)
    with pytest.raises(OverwriteError, match="不是演示写出的"):
        run_demo(folder, use_soffice=False)
    assert hashes(folder) == before


# --------------------------------------------------------------------------- what is said


@pytest.mark.parametrize("content", ["empty", "not_ledgers"])
def test_an_inbox_without_ledgers_still_writes_the_summary_and_exits_1(tmp_path, content):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    if content == "not_ledgers":
        (inbox / "通知.txt").write_text("请各单位报送", encoding="utf-8")
        wb = openpyxl.Workbook()
        wb.active["A1"] = "通讯录"
        wb.save(inbox / "通讯录.xlsx")
    result = CliRunner().invoke(cli, ["collect", str(inbox), "-o", str(tmp_path / "汇总表.xlsx")])
    assert result.exit_code == 1
    assert NO_LEDGER in result.output
    assert (tmp_path / "汇总表.xlsx").is_file()


def test_the_console_says_why_a_unit_got_no_copy(office):
    work, campaign = office
    result = collect_cli(work)
    assert result.exit_code == 0, result.output
    assert f"{campaign.unit_names[WGY]}：报送的文件“{campaign.unit_names[WGY]}.xlsx”无法读取" in result.output


def test_files_get_the_umask_mode(office):
    work, _ = office
    old = os.umask(0o027)
    try:
        assert collect_cli(work, "-q").exit_code == 0
    finally:
        os.umask(old)
    written = [work / "汇总表.xlsx", *(work / "退回修改").glob("退回修改_*.xlsx"), *(work / "发件箱").glob("0*.eml"),
               work / "发件箱" / MANIFEST_NAME]
    assert {oct(p.stat().st_mode & 0o777) for p in written} == {oct(0o640)}


def test_a_failed_write_keeps_the_old_file_and_names_the_target(tmp_path):
    target = tmp_path / "汇总表.xlsx"
    target.write_bytes(b"old")

    def broken(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError) as err:
        atomic_save(target, broken, "汇总表")
    assert "汇总表.xlsx" in str(err.value) and ".~" not in str(err.value)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["汇总表.xlsx"]
    atomic_save_bytes(target, b"new", "汇总表")
    assert target.read_bytes() == b"new"


def test_an_unreadable_manifest_makes_nothing_ours(office):
    work, _ = office
    assert collect_cli(work, "-q").exit_code == 0
    (work / MANIFEST_NAME).write_text("{not json", encoding="utf-8")
    result = collect_cli(work, "-q")
    assert result.exit_code == 2 and "汇总表.xlsx" in one_line(result.output)
