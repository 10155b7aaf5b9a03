"""Self-evaluation reports (自评报告): recognised from a .docx, a PDF, an e-mail subject."""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil

import docx
import pytest

from ledgerbook.demo import samples
from ledgerbook.collect import collect
from ledgerbook.demo.files import write_pdf
from ledgerbook.text import OFFICE_TZ


def _touch(path, when):
    ts = when.replace(tzinfo=OFFICE_TZ).timestamp()
    os.utime(path, (ts, ts))


def _docx_bytes(title: str, body: str) -> bytes:
    d = docx.Document()
    d.add_heading(title, level=1)
    d.add_paragraph(body)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


@pytest.fixture
def inbox(tmp_path, campaign):
    box = tmp_path / "inbox"
    box.mkdir()
    u = campaign.units
    # 1. recognised from the text of a .docx whose file name says nothing
    (box / "材料.docx").write_bytes(_docx_bytes(f"{u[0].name}专项整治自评报告", "按照通知要求，现将自查情况报告如下。"))
    _touch(box / "材料.docx", dt.datetime(2019, 10, 24, 9, 0))
    # 2. recognised from a PDF's file name (its text is not Chinese), received late
    write_pdf(box / f"{u[1].name}自查报告.pdf", dt.datetime(2019, 10, 26, 10, 0))
    # 3. recognised from the subject of the e-mail it came in
    eml = samples.email_with_attachments(
        sender=u[2].email, to="dwzzb@example.edu.cn", subject=f"{u[2].name}自评报告",
        date=dt.datetime(2019, 10, 25, 17, 0), body="见附件", attachments=[("附件1.docx", _docx_bytes("报告", "正文"))])
    (box / "mail.eml").write_bytes(eml)
    # 4. a Word file naming no unit
    (box / "工作总结.docx").write_bytes(_docx_bytes("年度工作总结", "本年度工作……"))
    _touch(box / "工作总结.docx", dt.datetime(2019, 10, 20, 9, 0))
    return box


def _reports(result):
    s = result.submissions.set_index("单位")
    return s["自评报告"], s["自评报告收到时间"]


def test_reports_are_recognised_for_the_right_unit(inbox, campaign):
    result = collect(inbox, campaign)
    files, received = _reports(result)
    u = campaign.unit_names
    assert files[u[0]] == "材料.docx"
    assert files[u[1]] == f"{u[1]}自查报告.pdf"
    assert files[u[2]] == "mail.eml/附件1.docx"
    assert received[u[2]] == dt.datetime(2019, 10, 25, 17, 0)
    assert (files.drop([u[0], u[1], u[2]]) == "未收到").all()
    outcome = dict(zip(result.files["文件"], result.files["处理结果"]))
    note = dict(zip(result.files["文件"], result.files["说明"]))
    assert outcome["材料.docx"] == "自评报告" and "文档内容" in note["材料.docx"]
    assert outcome["mail.eml/附件1.docx"] == "自评报告" and "邮件主题" in note["mail.eml/附件1.docx"]
    assert outcome["工作总结.docx"] == "已忽略" and note["工作总结.docx"].startswith("Word 文档，未识别为自评报告")
    # The verdict replaces the inbox's guess: one cell never says both "not a report" and "may be one".
    assert not any("可能是自评报告" in n for n in note.values())


def test_report_late_and_missing_around_the_due_date(inbox, campaign):
    u = campaign.unit_names
    before = collect(inbox, campaign, as_of=dt.date(2019, 10, 25))
    late = before.findings[before.findings["代码"] == "report.late"]
    assert list(late["单位"]) == [u[1]]  # 10-26 is after 10-25; 10-25 17:00 is on time
    assert before.findings[before.findings["代码"] == "report.missing"].empty  # not yet past the due date

    after = collect(inbox, campaign, as_of=dt.date(2019, 10, 26))
    missing = set(after.findings.loc[after.findings["代码"] == "report.missing", "单位"])
    assert missing == set(u) - {u[0], u[1], u[2]}
    assert collect(inbox, campaign).findings.query("代码 == 'report.missing'").empty  # no as-of, no missing


def test_newer_report_replaces_older(tmp_path, campaign, inbox):
    u = campaign.unit_names[0]
    newer = inbox / f"{u}自评报告（修改稿）.docx"
    newer.write_bytes(_docx_bytes("自评报告", "修改后"))
    _touch(newer, dt.datetime(2019, 10, 25, 8, 0))
    files, _ = _reports(collect(inbox, campaign))
    assert files[u] == newer.name
