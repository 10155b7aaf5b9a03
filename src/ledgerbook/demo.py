"""`ledgerbook demo`: a whole campaign round on the built-in campaign, in seconds.

It writes the campaign file and the per-unit templates, fills them the way units do (clean,
sloppy, late, corrected, duplicated, zipped with GBK names, e-mailed, retyped, legacy .xls and
.ods through LibreOffice when it is installed, never answered, unreadable), collects the inbox
with feedback, then plays a second round (progress updates and self-evaluation reports)
collected with --since. Everything is deterministic: fixed seeds, fixed received times.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import samples
from .campaign import Campaign, load_campaign, write_default_campaign
from .text import OFFICE_TZ


@dataclass
class DemoResult:
    directory: Path
    inbox: Path
    templates: Path
    summary: Path
    feedback: list[Path]
    collection: object
    notes: list[str] = field(default_factory=list)
    second_inbox: Path | None = None
    second_summary: Path | None = None
    second_collection: object = None
    changes: object = None


def _at(campaign: Campaign, month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(campaign.year, month, day, hour, minute)


def _touch(path: Path, when: dt.datetime) -> None:
    ts = when.replace(tzinfo=OFFICE_TZ).timestamp()
    os.utime(path, (ts, ts))


def _bytes_of(spec: samples.LedgerSpec, campaign: Campaign) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "x.xlsx"
        samples.write_ledger(spec, campaign, p)
        return p.read_bytes()


def soffice_path() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_with_soffice(files: list[Path], fmt: str, outdir: Path) -> list[Path]:
    """Convert files with LibreOffice in one start (seconds); returns the converted paths."""
    soffice = soffice_path()
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
                        "--convert-to", fmt, "--outdir", str(outdir), *map(str, files)],
                       check=True, capture_output=True, timeout=300)
    ext = fmt.split(":")[0]
    return [outdir / f"{f.stem}.{ext}" for f in files]


def build_first_round(campaign: Campaign, inbox: Path, use_soffice: bool | None = None) -> list[str]:
    """Fill the inbox with the first round's returned files; returns notes on what was made."""
    inbox.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    u = list(campaign.units)
    unit = {x.name: x for x in u}
    names = [x.name for x in u]
    clean = lambda i, **kw: samples.clean_ledger(campaign, u[i], seed=1, **kw)  # noqa: E731

    def put(name: str, spec, when: dt.datetime) -> Path:
        path = inbox / name
        samples.write_ledger(spec, campaign, path)
        _touch(path, when)
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
    _touch(dup, _at(campaign, 9, 12, 9, 20))
    put(fname(4), samples.SLOPPY["persons"](clean(4), campaign), _at(campaign, 9, 13, 15, 0))
    put(fname(5), clean(5), _at(campaign, 9, 16, 10, 30))  # late
    put(fname(6), samples.SLOPPY["contacts"](clean(6), campaign), _at(campaign, 9, 12, 20, 15))
    retyped = replace(samples.humanise(clean(7, n_rows=4, n_targets=2), campaign), style="retyped", template_unit=None)
    put(f"{names[7]}台账.xlsx", retyped, _at(campaign, 9, 13, 11, 0))

    # Two units zipped together by a Windows user: names in GBK, no UTF-8 flag.
    members = {f"台账/{fname(i)}": _bytes_of(clean(i), campaign) for i in (8, 9)}
    (inbox / "数学与物理学院台账.zip").write_bytes(samples.gbk_zip(members))
    _touch(inbox / "数学与物理学院台账.zip", _at(campaign, 9, 12, 14, 0))

    # Saved e-mails: one with an RFC 2231 name, one with a Foxmail-style GBK RFC 2047 name.
    for i, sloppy, gbk, when in ((10, None, False, _at(campaign, 9, 11, 10, 2)),
                                 (11, "menu", True, _at(campaign, 9, 13, 18, 45))):
        spec = clean(i) if sloppy is None else samples.SLOPPY[sloppy](clean(i), campaign)
        eml = samples.email_with_attachments(
            sender=u[i].email or "unit@example.edu.cn", to=campaign.contact_email or "dwzzb@example.edu.cn",
            subject=f"{names[i]}菜单式整顿台账", date=when, body="组织部：附件是我单位的整顿台账，请查收。",
            attachments=[(fname(i), _bytes_of(spec, campaign))], gbk_names=gbk)
        path = inbox / f"回复：关于报送整顿台账（{names[i]}）.eml"
        path.write_bytes(eml)
        _touch(path, when + dt.timedelta(hours=1))

    # Legacy .xls and .ods, written by LibreOffice from filled workbooks.
    soffice = soffice_path() if use_soffice is not False else None
    legacy = [(12, "xls"), (13, "ods")]
    if soffice:
        with tempfile.TemporaryDirectory() as tmp:
            tmpdir = Path(tmp)
            for i, fmt in legacy:
                src = tmpdir / fmt / fname(i)
                src.parent.mkdir()
                samples.write_ledger(clean(i), campaign, src)
                out = convert_with_soffice([src], fmt, tmpdir / f"out-{fmt}")[0]
                target = inbox / out.name
                shutil.copyfile(out, target)
                _touch(target, _at(campaign, 9, 12, 10 + i % 5, 0))
        notes.append("建筑与商学院的台账分别由 LibreOffice 另存为 .xls 和 .ods")
    else:
        for i, _ in legacy:
            put(fname(i), clean(i), _at(campaign, 9, 12, 10, 0))
        notes.append("未安装 LibreOffice：跳过 .xls/.ods 示例（这两个单位改用 .xlsx）")

    put(fname(14), samples.SLOPPY["copied_measures"](clean(14, n_rows=3), campaign), _at(campaign, 9, 12, 9, 0))
    put(fname(15), samples.SLOPPY["no_rows"](clean(15), campaign), _at(campaign, 9, 13, 23, 10))
    wrong_name = replace(clean(16), unit=names[16].replace("学院", "与新闻学院"))
    put(fname(16).replace("学院", "与新闻学院"), wrong_name, _at(campaign, 9, 11, 8, 30))
    broken = _bytes_of(clean(17), campaign)
    (inbox / fname(17)).write_bytes(broken[: len(broken) // 3])  # cut short in transfer
    _touch(inbox / fname(17), _at(campaign, 9, 12, 16, 0))
    put(fname(18), samples.humanise(clean(18, n_rows=4), campaign), _at(campaign, 9, 10, 15, 0))
    put(f"附件2_菜单式整顿台账（{names[19]}）.xlsx", replace(clean(19), template_unit=None), _at(campaign, 9, 12, 11, 11))
    (inbox / f"整顿台账_{names[20]}.et").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    _touch(inbox / f"整顿台账_{names[20]}.et", _at(campaign, 9, 12, 12, 0))
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
        _touch(inbox / clutter, _at(campaign, 9, 13, 17, 0))
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
        samples.write_ledger(spec, campaign, path)
        _touch(path, when)

    progressed = lambda i, **kw: samples.clean_ledger(campaign, u[i], seed=1, with_progress=True, **kw)  # noqa: E731
    put(f"整顿台账_{names[0]}（10月更新）.xlsx", progressed(0, n_rows=4), _at(campaign, 10, 20, 9, 0))
    put(f"整顿台账_{names[2]}（进展）.xlsx", progressed(2, n_rows=3), _at(campaign, 10, 22, 15, 0))
    put(f"整顿台账_{names[4]}（修改后）.xlsx", samples.clean_ledger(campaign, u[4], seed=1), _at(campaign, 9, 20, 10, 0))
    # Self-evaluation reports: a .docx, a PDF (late), one named only in the e-mail subject,
    # and a document that names no unit.
    _docx(inbox / f"{names[0]}专项整治自评报告.docx", f"{names[0]}软弱涣散基层党组织专项整治自评报告",
          _at(campaign, 10, 24, 16, 0))
    _pdf(inbox / f"{names[1]}自查报告.pdf", _at(campaign, 10, 26, 9, 30))
    report = io.BytesIO()
    _docx_bytes(report, "专项整治工作自评报告", "我单位按照学校部署开展了专项整治……")
    eml = samples.email_with_attachments(
        sender=u[3].email or "unit@example.edu.cn", to=campaign.contact_email or "dwzzb@example.edu.cn",
        subject=f"{names[3]}自评报告", date=_at(campaign, 10, 23, 11, 0), body="组织部：自评报告见附件。",
        attachments=[("自评报告.docx", report.getvalue())])
    (inbox / f"{names[3]}自评报告.eml").write_bytes(eml)
    _touch(inbox / f"{names[3]}自评报告.eml", _at(campaign, 10, 23, 11, 5))
    _docx(inbox / "工作总结.docx", "2019年度支部工作总结", _at(campaign, 10, 21, 8, 0), body="本年度支部工作……")
    return ["第二轮：3个单位报送了更新的台账，收到3份自评报告（其中1份逾期）和1份无法识别的文档"]


def _docx_bytes(buf, title: str, body: str) -> None:
    import docx

    d = docx.Document()
    stamp = dt.datetime(2019, 10, 20, 9, 0)  # fixed, so the same report is the same bytes
    d.core_properties.created = d.core_properties.modified = d.core_properties.last_printed = stamp
    d.add_heading(title, level=1)
    d.add_paragraph(body)
    raw = io.BytesIO()
    d.save(raw)
    buf.write(_stable_zip(raw.getvalue()))


def _stable_zip(data: bytes) -> bytes:
    """The same zip with fixed member times (python-docx stamps them with the current time)."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=(2019, 10, 20, 9, 0, 0)), src.read(info))
    return out.getvalue()


def _docx(path: Path, title: str, when: dt.datetime, body: str = "按照学校党委组织部的通知要求，现将专项整治自评情况报告如下。") -> None:
    with open(path, "wb") as fh:
        _docx_bytes(fh, title, body)
    _touch(path, when)


def _pdf(path: Path, when: dt.datetime) -> None:
    """A one-page PDF (the unit is named in the file name; the text is ASCII)."""
    content = b"BT /F1 18 Tf 72 720 Td (Self-evaluation report) Tj ET"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for n, obj in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + obj + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref))
    path.write_bytes(out.getvalue())
    _touch(path, when)


def run_demo(directory: str | Path = "ledgerbook-demo", use_soffice: bool | None = None) -> DemoResult:
    """Build and collect a whole demo round in DIRECTORY (replacing an earlier demo there).

    Returns:
        DemoResult with the paths written and both rounds' Collections.
    """
    from .changes import compare, read_previous
    from .collect import collect
    from .feedback import write_feedback
    from .summary import write_summary
    from .template import write_template, write_unit_templates

    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    campaign_file = write_default_campaign(root, force=True)
    campaign = load_campaign(campaign_file)
    templates = root / "下发模板"
    write_template(campaign, root / f"附件2_{campaign.form.title}.xlsx")
    write_unit_templates(campaign, templates)
    inbox = root / "inbox"
    if inbox.exists():
        shutil.rmtree(inbox)
    notes = build_first_round(campaign, inbox, use_soffice=use_soffice)

    collection = collect(inbox, campaign)
    summary = root / "汇总表_第一轮.xlsx"
    write_summary(collection, summary)
    feedback_dir = root / "退回修改"
    if feedback_dir.exists():
        shutil.rmtree(feedback_dir)
    feedback = write_feedback(collection, feedback_dir)

    second_inbox = root / "inbox-第二轮"
    notes += build_second_round(campaign, inbox, second_inbox)
    as_of = dt.date(campaign.year, 10, 28)
    second = collect(second_inbox, campaign, as_of=as_of)
    changes = compare(read_previous(summary), second)
    second_summary = root / f"汇总表_第二轮_{as_of.isoformat()}.xlsx"
    write_summary(second, second_summary, since=changes)
    return DemoResult(directory=root, inbox=inbox, templates=templates, summary=summary, feedback=feedback,
                      collection=collection, notes=notes, second_inbox=second_inbox,
                      second_summary=second_summary, second_collection=second, changes=changes)
