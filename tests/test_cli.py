"""The command line: exit codes, one-line Chinese errors, and output equal to what the API returns."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import openpyxl
import pytest
from click.testing import CliRunner

from ledgerbook.demo import samples
from ledgerbook.cli import cli
from ledgerbook.collect import collect
from ledgerbook.text import OFFICE_TZ


@pytest.fixture
def inbox(tmp_path, campaign):
    box = tmp_path / "inbox"
    box.mkdir()
    good = samples.clean_ledger(campaign, campaign.units[0], n_rows=3)
    bad = samples.SLOPPY["deadlines"](samples.clean_ledger(campaign, campaign.units[1], n_rows=3), campaign)
    for name, spec in (("a.xlsx", good), ("b.xlsx", bad)):
        samples.write_ledger(spec, campaign, box / name)
        ts = dt.datetime(2019, 9, 12, 10, 0, tzinfo=OFFICE_TZ).timestamp()
        os.utime(box / name, (ts, ts))
    return box


def _one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


def test_collect_writes_summary_and_reports_what_the_api_returns(tmp_path, inbox, campaign):
    out = tmp_path / "汇总表.xlsx"
    result = CliRunner().invoke(cli, ["collect", str(inbox), "-o", str(out)])
    assert result.exit_code == 0, result.output
    collection = collect(inbox, campaign)
    api = collection.counts()
    assert (f"应报 {api['应报单位']} 个单位：已通过 {api['已通过']}，需退回修改 {api['需退回修改']}，"
            f"未提交 {api['未提交']}") in result.output
    unit = collection.submissions.set_index("单位").loc[campaign.units[1].name]
    assert f"{campaign.units[1].name}：错误 {unit['错误数']}，警告 {unit['警告数']}" in result.output
    assert str(out) in result.output
    wb = openpyxl.load_workbook(out, read_only=True)
    assert wb.sheetnames[:2] == ["总览", "提交情况"]


def test_strict_exit_status(tmp_path, inbox, campaign):
    runner = CliRunner()
    assert runner.invoke(cli, ["collect", str(inbox), "-o", str(tmp_path / "s.xlsx"), "--strict", "-q"]).exit_code == 1
    (inbox / "b.xlsx").unlink()
    clean = runner.invoke(cli, ["collect", str(inbox), "-o", str(tmp_path / "s.xlsx"), "--strict", "-q", "-c",
                                str(_one_unit_campaign(tmp_path, campaign))])
    assert clean.exit_code == 0, clean.output


def _one_unit_campaign(tmp_path, campaign):
    path = tmp_path / "one.toml"
    path.write_text(f"""
[campaign]
institution = "{campaign.institution}"
title = "{campaign.title}"
start = {campaign.start}
ledger_due = {campaign.ledger_due}
report_due = {campaign.report_due}
rectification_due = {campaign.rectification_due}

[[units]]
name = "{campaign.units[0].name}"
secretary = "{campaign.units[0].secretary}"
""", encoding="utf-8")
    return path


def test_as_of_and_default_output_name(tmp_path, inbox, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    result = CliRunner().invoke(cli, ["collect", str(inbox), "--as-of", "2019-10-28", "-q"])
    assert result.exit_code == 0, result.output
    assert (work / "汇总表_2019-10-28.xlsx").exists()
    findings = openpyxl.load_workbook(work / "汇总表_2019-10-28.xlsx", read_only=True)["校验结果"]
    rows = list(findings.iter_rows(values_only=True))
    codes = {row[rows[0].index("代码")] for row in rows[1:]}
    assert "row.overdue" in codes and "report.missing" in codes


@pytest.mark.parametrize("args,needle", [
    (["collect", "/nonexistent/inbox"], "不存在"),
    (["collect", "{inbox}", "--as-of", "10月28日"], "--as-of"),
    (["collect", "{inbox}", "--frobnicate"], "--frobnicate"),
    (["collect"], "收件箱"),
    (["collect", "{inbox}", "-c", "/nonexistent.toml"], "不存在"),
])
def test_bad_usage_is_exit_2_and_one_chinese_line(inbox, args, needle):
    args = [a.replace("{inbox}", str(inbox)) for a in args]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    line = _one_line(result.output)
    assert needle in line and line.startswith("错误：")


def test_refuses_to_overwrite_a_summary_open_in_excel(tmp_path, inbox):
    out = tmp_path / "汇总表.xlsx"
    out.write_bytes(b"old")
    (tmp_path / "~$汇总表.xlsx").write_bytes(b"lock")
    result = CliRunner().invoke(cli, ["collect", str(inbox), "-o", str(out)])
    assert result.exit_code == 2
    assert "打开" in _one_line(result.output)
    assert out.read_bytes() == b"old"


def test_feedback_option(tmp_path, inbox, campaign):
    result = CliRunner().invoke(cli, ["collect", str(inbox), "-o", str(tmp_path / "s.xlsx"),
                                      "--feedback", str(tmp_path / "fb"), "-q"])
    assert result.exit_code == 0
    assert [p.name for p in (tmp_path / "fb").glob("*.xlsx")] == [f"退回修改_{campaign.units[1].name}.xlsx"]


def test_template_commands(tmp_path, campaign):
    runner = CliRunner()
    master = runner.invoke(cli, ["template", "-o", str(tmp_path / "m.xlsx")])
    assert master.exit_code == 0 and (tmp_path / "m.xlsx").exists()
    per_unit = runner.invoke(cli, ["template", "--per-unit", "-o", str(tmp_path / "units")])
    assert per_unit.exit_code == 0
    assert len(list((tmp_path / "units").glob("*.xlsx"))) == len(campaign.units)


def test_python_dash_m(tmp_path):
    done = subprocess.run([sys.executable, "-m", "ledgerbook", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "collect" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "ledgerbook", "collect", str(tmp_path / "nope")],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.startswith("错误：") and "Traceback" not in bad.stderr


def test_demo_runs_and_is_deterministic(tmp_path):
    runner = CliRunner()
    first = runner.invoke(cli, ["demo", str(tmp_path / "d1")])
    assert first.exit_code == 0, first.output
    assert "汇总表_第一轮.xlsx" in first.output and "第二轮" in first.output
    second = runner.invoke(cli, ["demo", str(tmp_path / "d2"), "-q"])
    assert second.exit_code == 0

    def values(path):
        wb = openpyxl.load_workbook(path, read_only=True)
        out = {}
        for ws in wb.worksheets:
            rows = []
            for row in ws.iter_rows(values_only=True):
                row = [str(v).replace("d1", "dX").replace("d2", "dX") for v in row]
                if ws.title == "文件清单" and rows and row[0].endswith(".ods"):
                    for name in ("大小", "SHA-256"):
                        row[rows[0].index(name)] = "(LibreOffice stamps the time into .ods)"
                rows.append(tuple(row))
            out[ws.title] = rows
        return out

    for name in ("汇总表_第一轮.xlsx", "汇总表_第二轮_2019-10-28.xlsx"):
        assert values(tmp_path / "d1" / name) == values(tmp_path / "d2" / name)
    feedback = sorted(p.name for p in (tmp_path / "d1" / "退回修改").iterdir())
    assert len(feedback) >= 4


def test_collect_mail_writes_drafts(tmp_path, inbox, campaign):
    import email
    from email import policy

    result = CliRunner().invoke(cli, ["collect", str(inbox), "-o", str(tmp_path / "s.xlsx"),
                                      "--mail", str(tmp_path / "outbox")])
    assert result.exit_code == 0, result.output
    drafts = sorted((tmp_path / "outbox").glob("*.eml"))
    kinds = {p.stem.rsplit("_", 1)[-1] for p in drafts}
    assert "feedback" in kinds and "reminder" in kinds
    back = [p for p in drafts if p.stem.endswith("feedback")]
    assert len(back) == 1 and campaign.units[1].name in back[0].name
    msg = email.message_from_bytes(back[0].read_bytes(), policy=policy.default)
    names = [part.get_filename() for part in msg.iter_attachments()]
    assert names == [f"退回修改_{campaign.units[1].name}.xlsx"]


@pytest.mark.parametrize("option", ["-o", "--feedback", "--mail"])
def test_nothing_is_written_into_the_inbox(tmp_path, inbox, option):
    before = sorted(p.name for p in inbox.rglob("*"))
    target = inbox / ("汇总.xlsx" if option == "-o" else "out")
    args = ["collect", str(inbox), option, str(target)]
    if option != "-o":
        args += ["-o", str(tmp_path / "s.xlsx")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert "收件箱" in _one_line(result.output)
    assert sorted(p.name for p in inbox.rglob("*")) == before
    assert not (tmp_path / "s.xlsx").exists()  # refused before any work
