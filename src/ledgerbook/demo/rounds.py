"""The demo's two rounds of returned files: the first (clean, sloppy, late, corrected,
duplicated, zipped with GBK names, e-mailed, retyped, legacy .xls and .ods through LibreOffice
when installed, never answered, unreadable) and the second a month later (progress updates
and self-evaluation reports). Fixed seeds and received times: the same inbox every run."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from ..campaign import Campaign
from . import samples
from .files import convert_with_soffice, docx_bytes, soffice_path, touch, write_docx, write_pdf

__all__ = ["build_first_round", "build_second_round"]


#: A unit saves its workbook, writes the e-mail and sends it; the department saves the
#: attachment into the inbox a little later: the workbook's own saved time is this much
#: earlier than the file's time in the inbox.
SAVED_BEFORE = dt.timedelta(minutes=25)


def _at(campaign: Campaign, month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(campaign.year, month, day, hour, minute)


def _bytes_of(spec: samples.LedgerSpec, campaign: Campaign, saved: dt.datetime | None = None) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "x.xlsx"
        samples.write_ledger(spec, campaign, p, saved=saved)
        return p.read_bytes()


def build_first_round(campaign: Campaign, inbox: Path, use_soffice: bool | None = None) -> list[str]:
    """Fill the inbox with the first round's returned files; returns notes on what was made."""
    inbox.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    u = list(campaign.units)
    names = [x.name for x in u]
    clean = lambda i, **kw: samples.clean_ledger(campaign, u[i], seed=1, **kw)  # noqa: E731

    def put(name: str, spec, when: dt.datetime) -> Path:
        path = inbox / name
        samples.write_ledger(spec, campaign, path, saved=when - SAVED_BEFORE)
        touch(path, when)
        return path

    def fname(i: int) -> str:
        return f"整顿台账_{names[i]}.xlsx"

    if len(u) < 20:
        raise ValueError("演示需要至少20个单位的名单（内置活动有25个）")
    put(fname(0), clean(0, n_rows=4), _at(campaign, 9, 10, 9, 12))
    put(fname(1), samples.humanise(clean(1, n_rows=5), campaign), _at(campaign, 9, 11, 16, 40))
    put("整顿台账_" + names[2] + "（初稿）.xlsx",
        samples.SLOPPY["deadlines"](clean(2, n_rows=3), campaign), _at(campaign, 9, 9, 11, 5))
    put(fname(2), clean(2, n_rows=3), _at(campaign, 9, 12, 17, 30))
    first = put(fname(3), clean(3, n_rows=3, n_targets=2), _at(campaign, 9, 12, 8, 55))
    dup = inbox / f"整顿台账_{names[3]}(1).xlsx"
    shutil.copyfile(first, dup)
    touch(dup, _at(campaign, 9, 12, 9, 20))
    put(fname(4), samples.SLOPPY["persons"](clean(4), campaign), _at(campaign, 9, 13, 15, 0))
    put(fname(5), clean(5), _at(campaign, 9, 16, 10, 30))  # late
    put(fname(6), samples.SLOPPY["contacts"](clean(6), campaign), _at(campaign, 9, 12, 20, 15))
    retyped = replace(samples.humanise(clean(7, n_rows=4, n_targets=2), campaign), style="retyped", template_unit=None)
    put(f"{names[7]}台账.xlsx", retyped, _at(campaign, 9, 13, 11, 0))

    # Two units zipped together by a Windows user: names in GBK, no UTF-8 flag.
    zipped = _at(campaign, 9, 12, 14, 0)
    members = {f"台账/{fname(i)}": _bytes_of(clean(i), campaign, zipped - SAVED_BEFORE * (i - 6)) for i in (8, 9)}
    (inbox / "数学与物理学院台账.zip").write_bytes(samples.gbk_zip(members))
    touch(inbox / "数学与物理学院台账.zip", zipped)

    # Saved e-mails: one with an RFC 2231 name, one with a Foxmail-style GBK RFC 2047 name.
    for i, sloppy, gbk, when in ((10, None, False, _at(campaign, 9, 11, 10, 2)),
                                 (11, "menu", True, _at(campaign, 9, 13, 18, 45))):
        spec = clean(i) if sloppy is None else samples.SLOPPY[sloppy](clean(i), campaign)
        eml = samples.email_with_attachments(
            sender=u[i].email or "unit@example.edu.cn", to=campaign.contact_email or "dwzzb@example.edu.cn",
            subject=f"{names[i]}菜单式整顿台账", date=when, body="组织部：附件是我单位的整顿台账，请查收。",
            attachments=[(fname(i), _bytes_of(spec, campaign, when - SAVED_BEFORE))], gbk_names=gbk)
        path = inbox / f"回复：关于报送整顿台账（{names[i]}）.eml"
        path.write_bytes(eml)
        touch(path, when + dt.timedelta(hours=1))

    # Legacy .xls and .ods, written by LibreOffice from filled workbooks.
    soffice = soffice_path() if use_soffice is not False else None
    legacy = [(12, "xls"), (13, "ods")]
    if soffice:
        with tempfile.TemporaryDirectory() as tmp:
            tmpdir = Path(tmp)
            for i, fmt in legacy:
                src = tmpdir / fmt / fname(i)
                src.parent.mkdir()
                when = _at(campaign, 9, 12, 10 + i % 5, 0)
                samples.write_ledger(clean(i), campaign, src, saved=when - SAVED_BEFORE)
                out = convert_with_soffice([src], fmt, tmpdir / f"out-{fmt}")[0]
                target = inbox / out.name
                shutil.copyfile(out, target)
                touch(target, when)
        notes.append("建筑与商学院的台账分别由 LibreOffice 另存为 .xls 和 .ods")
    else:
        for i, _ in legacy:
            put(fname(i), clean(i), _at(campaign, 9, 12, 10, 0))
        notes.append("未安装 LibreOffice：跳过 .xls/.ods 示例（这两个单位改用 .xlsx）")

    put(fname(14), samples.SLOPPY["copied_measures"](clean(14, n_rows=3), campaign), _at(campaign, 9, 12, 9, 0))
    put(fname(15), samples.SLOPPY["no_rows"](clean(15), campaign), _at(campaign, 9, 13, 23, 10))
    wrong_name = replace(clean(16), unit=names[16].replace("学院", "与新闻学院"))
    put(fname(16).replace("学院", "与新闻学院"), wrong_name, _at(campaign, 9, 11, 8, 30))
    broken = _bytes_of(clean(17), campaign, _at(campaign, 9, 12, 15, 30))
    (inbox / fname(17)).write_bytes(broken[: len(broken) // 3])  # cut short in transfer
    touch(inbox / fname(17), _at(campaign, 9, 12, 16, 0))
    put(fname(18), samples.humanise(clean(18, n_rows=4), campaign), _at(campaign, 9, 10, 15, 0))
    put(f"附件2_菜单式整顿台账（{names[19]}）.xlsx", replace(clean(19), template_unit=None), _at(campaign, 9, 12, 11, 11))
    (inbox / f"整顿台账_{names[20]}.et").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    touch(inbox / f"整顿台账_{names[20]}.et", _at(campaign, 9, 12, 12, 0))
    for i in range(22, len(u) - 1):
        spec = clean(i, n_rows=3, n_targets=2 if i % 2 else 1)
        if i == 23:  # the secretary changed since the roster was made: a note, not an error
            spec = replace(spec, secretary="龙建新")
        put(fname(i), spec, _at(campaign, 9, 12, 9 + i % 8, 0))
    # The last two roster units (and 潇湘-like index 21) never answer.
    # Clutter that every shared folder has.
    (inbox / f"~${fname(0)}").write_bytes(b"\x00" * 165)
    (inbox / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 60)
    for clutter in (f"~${fname(0)}", "Thumbs.db"):
        touch(inbox / clutter, _at(campaign, 9, 13, 17, 0))
    notes.append(f"收件箱共 {sum(1 for _ in inbox.rglob('*'))} 个文件，其中 {names[21]}、{names[-1]} 从未报送")
    return notes


def build_second_round(campaign: Campaign, first_inbox: Path, inbox: Path) -> list[str]:
    """The inbox a month later: everything from round one plus progress updates and reports."""
    if inbox.exists():
        shutil.rmtree(inbox)
    shutil.copytree(first_inbox, inbox)
    u = list(campaign.units)
    names = [x.name for x in u]

    def put(name, spec, when):
        path = inbox / name
        samples.write_ledger(spec, campaign, path, saved=when - SAVED_BEFORE)
        touch(path, when)

    progressed = lambda i, **kw: samples.clean_ledger(campaign, u[i], seed=1, with_progress=True, **kw)  # noqa: E731
    put(f"整顿台账_{names[0]}（10月更新）.xlsx", progressed(0, n_rows=4), _at(campaign, 10, 20, 9, 0))
    put(f"整顿台账_{names[2]}（进展）.xlsx", progressed(2, n_rows=3), _at(campaign, 10, 22, 15, 0))
    put(f"整顿台账_{names[4]}（修改后）.xlsx", samples.clean_ledger(campaign, u[4], seed=1), _at(campaign, 9, 20, 10, 0))
    # Self-evaluation reports: a .docx, a PDF (late), one named only in the e-mail subject,
    # and a document that names no unit.
    write_docx(inbox / f"{names[0]}专项整治自评报告.docx", f"{names[0]}软弱涣散基层党组织专项整治自评报告",
          _at(campaign, 10, 24, 16, 0))
    write_pdf(inbox / f"{names[1]}自查报告.pdf", _at(campaign, 10, 26, 9, 30))
    report = io.BytesIO()
    docx_bytes(report, "专项整治工作自评报告", "我单位按照学校部署开展了专项整治……")
    eml = samples.email_with_attachments(
        sender=u[3].email or "unit@example.edu.cn", to=campaign.contact_email or "dwzzb@example.edu.cn",
        subject=f"{names[3]}自评报告", date=_at(campaign, 10, 23, 11, 0), body="组织部：自评报告见附件。",
        attachments=[("自评报告.docx", report.getvalue())])
    (inbox / f"{names[3]}自评报告.eml").write_bytes(eml)
    touch(inbox / f"{names[3]}自评报告.eml", _at(campaign, 10, 23, 11, 5))
    write_docx(inbox / "工作总结.docx", "2019年度支部工作总结", _at(campaign, 10, 21, 8, 0), body="本年度支部工作……")
    return ["第二轮：3个单位报送了更新的台账，收到3份自评报告（其中1份逾期）和1份无法识别的文档"]
