"""`collect`: inbox -> documents -> ledgers -> current submission per unit -> findings and tables.

This is the whole read-and-check half of ledgerbook as one function returning pandas
DataFrames; the summary and feedback writers only turn a :class:`Collection` into workbooks.
"""

from __future__ import annotations

import datetime as dt
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from .campaign import Campaign, load_campaign
from .checks import cells, check_rows, check_unit_block, rows_frame
from .errors import reraise_interrupts
from .findings import ERROR, FINDING_COLUMNS, INFO, WARNING, Finding, make_finding, sort_key
from .text import cn_date, cn_datetime, normalize_label
from .inbox import Document, scan_inbox
from .normalize import cell_text, parse_phone, parse_qq, strip_control_chars
from .reader import Ledger, read_ledger

# Outcomes in 文件清单 (处理结果).
TAKEN, SUPERSEDED, DUPLICATE, NOT_LEDGER, UNREADABLE, IGNORED, REPORT, OPENED = (
    "采用", "已被替代", "重复", "无法识别", "无法读取", "已忽略", "自评报告", "已展开")
PASSED, RETURN, MISSING = "已通过", "需退回修改", "未提交"

# Files are always read in worker processes (isolation); a second process pays for its
# start-up (~20 ms) from about this many workbooks on (measured: scripts/bench.py --crossover).
PARALLEL_MIN_FILES = 60

FILE_COLUMNS = ["文件", "大小", "SHA-256", "收到时间", "单位", "处理结果", "说明", "格式", "发件人"]
SUBMISSION_COLUMNS = ["单位", "名单内", "状态", "文件", "收到时间", "首次收到", "逾期", "整顿对象数", "问题条数",
                      "错误数", "警告数", "提示数", "逾期措施数", "第一责任人", "联络员", "联系电话", "QQ号码",
                      "自评报告", "自评报告收到时间"]
LIAISON_COLUMNS = ["单位", "状态", "第一责任人", "联络员", "联系电话", "QQ号码", "邮箱"]


@dataclass
class Collection:
    """The result of collecting an inbox: every table of the summary workbook as a DataFrame.

    Attributes:
        campaign: the campaign checked against.
        as_of: the as-of date (None: nothing depended on a date after the due dates).
        inbox: the inbox folder as given.
        files: 文件清单 — one row per file found (archive members and attachments included):
            文件 (path inside the inbox), 大小 (bytes), SHA-256, 收到时间 (datetime, UTC+8),
            单位, 处理结果 (采用/已被替代/重复/无法识别/无法读取/已忽略/自评报告/已展开), 说明, 格式, 发件人.
        submissions: 提交情况 — one row per roster unit in roster order, then unknown units:
            单位, 名单内 (是/否), 状态 (已通过/需退回修改/未提交), 文件 (current submission),
            收到时间, 首次收到, 逾期 (是/否: first submission after the ledger due date),
            整顿对象数, 问题条数, 错误数, 警告数, 提示数, 逾期措施数 (with as_of), 第一责任人, 联络员,
            联系电话, QQ号码, 自评报告 (file or 未收到), 自评报告收到时间.
        rows: 汇总台账 — every row of every current submission, normalised: 单位, 序号, 整顿对象,
            支部书记, 联系党委委员, 问题序号 (1-8), 重点问题 (full menu text, or the text as typed
            when not in the menu), 具体问题, 整顿措施, 责任人, 完成时限 (datetime.date or None),
            完成时限原文, 整顿进展, 备注, 逾期 (bool), 来源文件, 工作表, 来源单元格 (the row's first
            cell, e.g. A7), 行号 (Excel row number).
        findings: 校验结果 — 级别, 代码, 单位, 文件, 工作表, 单元格, 说明, 原值; sorted by unit, level, cell.
        by_problem: 问题统计 — index 单位 (units with a submission, roster order), one column per key problem (its short
            name) with the number of rows, 未能归类 (rows whose 重点问题 is not in the menu), and 合计.
        liaisons: 联络员名册 — 单位, 状态, 第一责任人, 联络员, 联系电话 (normalised), QQ号码, 邮箱 (roster).
        ledgers: unit -> the Ledger of its current submission (for feedback copies).
        documents: path -> Document, for every file found.
    """

    campaign: Campaign
    as_of: dt.date | None
    inbox: str
    files: pd.DataFrame
    submissions: pd.DataFrame
    rows: pd.DataFrame
    findings: pd.DataFrame
    by_problem: pd.DataFrame
    liaisons: pd.DataFrame
    ledgers: dict[str, Ledger] = field(default_factory=dict, repr=False)
    documents: dict[str, Document] = field(default_factory=dict, repr=False)
    finding_list: list[Finding] = field(default_factory=list, repr=False)

    def counts(self) -> dict[str, int]:
        """Headline numbers for the 总览 sheet and the CLI report."""
        s = self.submissions
        roster = s[s["名单内"] == "是"]
        return {
            "应报单位": len(roster),
            PASSED: int((roster["状态"] == PASSED).sum()),
            RETURN: int((roster["状态"] == RETURN).sum()),
            MISSING: int((roster["状态"] == MISSING).sum()),
            "名单外单位": int((s["名单内"] == "否").sum()),
            "逾期报送": int((roster["逾期"] == "是").sum()),
            "整顿对象": int(s["整顿对象数"].sum()),
            "问题条数": len(self.rows),
            "错误": int((self.findings["级别"] == ERROR).sum()),
            "警告": int((self.findings["级别"] == WARNING).sum()),
            "提示": int((self.findings["级别"] == INFO).sum()),
            "逾期措施": int(self.rows["逾期"].sum()) if len(self.rows) else 0,
        }


_WORKER_FORM = None
# Address space a reading process may use beyond what it has at start: a workbook built to make
# a reader allocate without bound (a cell at XFD1048576 of an .xls) fails there, not here.
WORKER_EXTRA_MEMORY = 3 * 1024**3


def _init_worker(form) -> None:
    """Process-pool initializer: the form is sent once per process, not once per file."""
    global _WORKER_FORM
    _WORKER_FORM = form
    try:
        import resource

        with open("/proc/self/statm") as fh:
            current = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        limit = current + WORKER_EXTRA_MEMORY
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (OSError, ValueError, ImportError, AttributeError):
        pass  # not Linux: no limit, the process boundary still protects the run


def _read_one(args: tuple[str | None, bytes | None, str, str], form=None) -> Ledger:
    fs_path, data, path, fmt = args
    form = form or _WORKER_FORM
    try:
        if data is None:
            with open(fs_path, "rb") as fh:
                data = fh.read()
        return read_ledger(data, path, fmt, form)
    except BaseException as exc:  # a crash in one file is that file's finding; the rest goes on
        reraise_interrupts(exc)
        return _failed(path, fmt, f"读取时出错（{type(exc).__name__}）")


def _failed(path: str, fmt: str, reason: str) -> Ledger:
    ledger = Ledger(file=path, format=fmt)
    ledger.findings.append(make_finding("file.unreadable", file=path, reason=reason))
    return ledger


def _read_isolated(args, form) -> Ledger:
    """Read one file in a process of its own; if that process dies, the file is unreadable."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        with ProcessPoolExecutor(max_workers=1, initializer=_init_worker, initargs=(form,)) as pool:
            return pool.submit(_read_one, args).result()
    except BrokenProcessPool:
        return _failed(args[2], args[3], "读取此文件时读取程序异常退出（文件可能严重损坏或经过恶意构造），"
                                         "请用 Excel 或 WPS 重新保存为 .xlsx 后报送")


def read_documents(docs: list[Document], campaign: Campaign,
                   progress: Callable[[int, int], None] | None = None, workers: int | None = None) -> dict[str, Ledger]:
    """Read every spreadsheet document, in worker processes.

    Reading happens outside this process so that a file which kills its reader (a Rust abort
    on a hostile workbook, an allocation past the worker's memory limit) costs only that
    file: the others are read again one process each and the run goes on.

    Args:
        workers: reading processes; None picks 1, or every core on large inboxes; 0 reads in
            this process (no isolation: for debugging).
    """
    from concurrent.futures.process import BrokenProcessPool

    form = campaign.form
    todo = [d for d in docs if d.kind == "ledger"]
    args = [(d.fs_path, d.data, d.path, d.format) for d in todo]
    total = len(args)
    ledgers: dict[str, Ledger] = {}

    def done(ledger: Ledger) -> None:
        ledgers[ledger.file] = ledger
        if progress:
            progress(len(ledgers), total)

    if not args:
        return ledgers
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if total >= PARALLEL_MIN_FILES else 1
    if workers == 0:
        for a in args:
            done(_read_one(a, form))
        return ledgers
    chunk = max(1, min(64, total // (workers * 4)))
    try:
        with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(form,)) as pool:
            for ledger in pool.map(_read_one, args, chunksize=chunk):
                done(ledger)
    except BrokenProcessPool:
        for a in args:
            if a[2] not in ledgers:
                done(_read_isolated(a, form))
    return ledgers


def _hint_unit(doc: Document, campaign: Campaign) -> str | None:
    """A unit from the sender's address or the file name, when the file itself does not say."""
    if doc.sender:
        for u in campaign.units:
            if u.email and u.email.lower() == doc.sender.lower():
                return u.name
    stem = normalize_label(Path(doc.path).name)
    best = None
    for name in campaign.unit_names:
        for key in {normalize_label(name), normalize_label(name.removesuffix("党委").removesuffix("党总支"))}:
            if len(key) >= 2 and key in stem and (best is None or len(key) > best[1]):
                best = (name, len(key))
    return best[0] if best else None


def _identify(ledger: Ledger | None, doc: Document, campaign: Campaign) -> tuple[str, bool]:
    """(unit name, in roster) of a document; ('', False) when nothing says."""
    if ledger is not None and ledger.layout is not None:
        typed = strip_control_chars(cell_text(ledger.field_value("unit")))[0]
        if typed:
            matched = campaign.match_unit(typed)
            return (matched, True) if matched else (typed, False)
        marker_unit = ledger.marker.get("单位", "")
        if marker_unit and campaign.unit(marker_unit):
            return marker_unit, True
    hint = _hint_unit(doc, campaign)
    return (hint, True) if hint else ("", False)


def collect(inbox: str | Path, campaign: Campaign | str | Path | None = None, as_of: dt.date | None = None,
            progress: Callable[[int, int], None] | None = None, workers: int | None = None) -> Collection:
    """Read, select and check everything in an inbox.

    Args:
        inbox: the folder where returned files were saved (read only, never changed).
        campaign: a Campaign, a campaign file path, or None for the built-in default.
        as_of: the date to judge overdue measures and missing reports by; None means no
            rule depends on a date past the due dates (and nothing reads today's date).
        progress: called as progress(done, total) while workbooks are read.
        workers: reading processes (None: automatic by inbox size).

    Returns:
        A Collection whose DataFrames are the summary's tables (see its docstring).

    Raises:
        InboxError: the inbox folder does not exist.
        CampaignError: the campaign file is unusable.
    """
    if not isinstance(campaign, Campaign):
        campaign = load_campaign(campaign)
    docs = scan_inbox(inbox)
    ledgers = read_documents(docs, campaign, progress=progress, workers=workers)
    return _assemble(str(inbox), docs, ledgers, campaign, as_of)


def _assemble(inbox: str, docs: list[Document], ledgers: dict[str, Ledger], campaign: Campaign,
              as_of: dt.date | None) -> Collection:
    from . import selfeval

    form = campaign.form
    findings: list[Finding] = []
    outcome: dict[str, tuple[str, str, str]] = {}  # path -> (unit, 处理结果, 说明)
    by_path = {d.path: d for d in docs}

    # Candidates: readable ledgers and unreadable spreadsheets we can pin on a unit.
    candidates: list[tuple[Document, Ledger | None, str, bool]] = []
    for doc in docs:
        if doc.kind == "ledger":
            ledger = ledgers[doc.path]
            unit, known = _identify(ledger, doc, campaign)
            candidates.append((doc, ledger, unit, known))
        elif doc.kind == "unreadable":
            # Pinned on a unit by its name or sender, unless it was never read at all (a row
            # standing for archive members skipped past a limit has no bytes and no hash).
            unit = (_hint_unit(doc, campaign) or "") if doc.sha256 else ""
            if unit:
                candidates.append((doc, None, unit, True))
            else:
                findings.append(make_finding("file.unreadable", file=doc.path, reason=doc.note))
                outcome[doc.path] = ("", UNREADABLE, doc.note)
        elif doc.kind == "container":
            outcome[doc.path] = ("", OPENED, doc.note)
        elif doc.kind == "ignored":
            outcome[doc.path] = ("", IGNORED, doc.note)

    # Byte-identical copies: the earliest received is kept, the others are duplicates.
    first_by_hash: dict[str, Document] = {}
    kept = []
    for doc, ledger, unit, known in sorted(candidates, key=lambda c: (_when(c[0]), c[0].path)):
        original = first_by_hash.get(doc.sha256) if doc.sha256 else None
        if original is not None:
            findings.append(make_finding("file.duplicate", unit=unit, file=doc.path, original=original.path))
            outcome[doc.path] = (unit, DUPLICATE, f"与“{original.path}”内容完全相同")
            continue
        if doc.sha256:
            first_by_hash[doc.sha256] = doc
        kept.append((doc, ledger, unit, known))

    # Files that are not ledgers and say nothing about their unit.
    groups: dict[str, list] = {}
    for doc, ledger, unit, known in kept:
        if ledger is not None and ledger.layout is None and not unit:
            for f in ledger.findings:
                findings.append(f)
            code = ledger.findings[0].code if ledger.findings else "file.not_ledger"
            result = UNREADABLE if code == "file.unreadable" else NOT_LEDGER
            outcome[doc.path] = ("", result, ledger.findings[0].message if ledger.findings else "")
            continue
        groups.setdefault(unit, []).append((doc, ledger, unit, known))

    # One current submission per unit: received last, ties broken by file name.
    current: dict[str, tuple[Document, Ledger | None, bool]] = {}
    first_received: dict[str, dt.datetime | None] = {}
    for unit, items in groups.items():
        items.sort(key=lambda c: (_when(c[0]), c[0].path))
        doc, ledger, _, known = items[-1]
        current[unit] = (doc, ledger, known)
        first_received[unit] = items[0][0].received
        for old, _, _, _ in items[:-1]:
            findings.append(make_finding("file.superseded", unit=unit, file=old.path, newer=doc.path,
                                         newer_received=cn_datetime(doc.received)))
            outcome[old.path] = (unit, SUPERSEDED, f"已被“{doc.path}”替代")

    # Checks on each current submission.
    items_for_rows: list[tuple[str, Ledger]] = []
    current_ledgers: dict[str, Ledger] = {}
    late_units = set()
    for unit, (doc, ledger, known) in current.items():
        first = first_received[unit]
        if first is not None and first.date() > campaign.ledger_due:
            late_units.add(unit)
            findings.append(make_finding("file.late", unit=unit, file=doc.path, received=cn_datetime(first),
                                         due=cn_date(campaign.ledger_due)))
        if ledger is None:  # unreadable file pinned on a unit by its name or sender
            findings.append(make_finding("file.unreadable", unit=unit, file=doc.path, reason=doc.note))
            outcome[doc.path] = (unit, UNREADABLE, doc.note)
            continue
        for f in ledger.findings:
            findings.append(_with_unit(f, unit))
        if ledger.layout is None:
            code = ledger.findings[0].code if ledger.findings else "file.not_ledger"
            outcome[doc.path] = (unit, UNREADABLE if code == "file.unreadable" else NOT_LEDGER,
                                 ledger.findings[0].message if ledger.findings else "")
            continue
        outcome[doc.path] = (unit, TAKEN, _taken_note(doc, ledger))
        current_ledgers[unit] = ledger
        findings.extend(check_unit_block(ledger, unit, known, campaign))
        items_for_rows.append((unit, ledger))

    raw = rows_frame(items_for_rows, form)
    checked, row_findings = check_rows(raw, campaign, as_of)
    findings.extend(row_findings)

    roster_missing = [u.name for u in campaign.units if u.name not in current]
    for name in roster_missing:
        findings.append(make_finding("unit.missing", unit=name, due=cn_date(campaign.ledger_due)))

    # Self-evaluation reports (自评报告): recognised among Word/PDF documents.
    report_info, report_findings, report_outcomes = selfeval.recognise_reports(docs, campaign, as_of)
    findings.extend(report_findings)
    outcome.update(report_outcomes)

    # Roster order, as the department lists its units; then level, file and cell.
    order = {name: i for i, name in enumerate(campaign.unit_names)}
    findings.sort(key=lambda f: (order.get(f.unit, len(order)), *sort_key(f)))
    findings_df = pd.DataFrame([f.as_row() for f in findings], columns=FINDING_COLUMNS)

    rows_df = _rows_table(checked, campaign)
    submissions = _submissions(campaign, current, first_received, late_units, findings, checked, report_info)
    liaisons = _liaisons(campaign, submissions, current)
    files = _files_table(docs, outcome)
    by_problem = _by_problem(rows_df, campaign, submitted=[u for u in submissions["单位"]
                                                           if u in current and u])
    return Collection(campaign=campaign, as_of=as_of, inbox=inbox, files=files, submissions=submissions,
                      rows=rows_df, findings=findings_df, by_problem=by_problem, liaisons=liaisons,
                      ledgers=current_ledgers, documents=by_path, finding_list=findings)


def _when(doc: Document) -> dt.datetime:
    return doc.received or dt.datetime.min


def _with_unit(f: Finding, unit: str) -> Finding:
    from dataclasses import replace

    return replace(f, unit=unit) if not f.unit else f


def _taken_note(doc: Document, ledger: Ledger) -> str:
    parts = [f"{ledger.n_rows} 行"]
    if ledger.macros:
        parts.append("含宏（未运行）")
    if ledger.format in ("xls", "ods", "html", "csv"):
        parts.append(f"{ledger.format} 格式")
    return "，".join(parts)


def _rows_table(df: pd.DataFrame, campaign: Campaign) -> pd.DataFrame:
    form = campaign.form
    problems = form.problems
    label = {c.key: c.label for c in form.columns}
    out = pd.DataFrame({"单位": df["unit"]}) if len(df) else pd.DataFrame({"单位": pd.Series(dtype=object)})
    for key in ("seq", "target", "branch_secretary", "member"):
        out[label[key]] = df[f"{key}_text"] if len(df) else pd.Series(dtype=object)
    if len(df):
        out["问题序号"] = df["problem_no"]
        out[label["problem"]] = [problems[int(n) - 1] if pd.notna(n) else t
                                 for n, t in zip(df["problem_no"], df["problem_text"])]
    else:
        out["问题序号"] = pd.Series(dtype="Int64")
        out[label["problem"]] = pd.Series(dtype=object)
    for key in ("detail", "measure", "owner"):
        out[label[key]] = df[f"{key}_text"] if len(df) else pd.Series(dtype=object)
    out[label["deadline"]] = df["deadline_date"] if len(df) else pd.Series(dtype=object)
    out[label["deadline"] + "原文"] = df["deadline_text"] if len(df) else pd.Series(dtype=object)
    if len(df):
        out[label["progress"]] = [v if isinstance(v, str) else t for v, t in zip(df["progress_value"], df["progress_text"])]
    else:
        out[label["progress"]] = pd.Series(dtype=object)
    out[label["remarks"]] = df["remarks_text"] if len(df) else pd.Series(dtype=object)
    out["逾期"] = df["overdue"].astype(bool) if len(df) else pd.Series(dtype=bool)
    out["来源文件"] = df["file"] if len(df) else pd.Series(dtype=object)
    out["工作表"] = df["sheet"] if len(df) else pd.Series(dtype=object)
    if len(df):
        seq, target = cells(df, "seq"), cells(df, "target")
        out["来源单元格"] = seq.where(seq != "", target)
    else:
        out["来源单元格"] = pd.Series(dtype=object)
    out["行号"] = (df["row"] + 1) if len(df) else pd.Series(dtype=int)
    order = {n: i for i, n in enumerate(campaign.unit_names)}
    if len(out):
        out["_o"] = out["单位"].map(lambda u: order.get(u, len(order)))
        out = out.sort_values(["_o", "单位", "来源文件", "行号"], kind="stable").drop(columns="_o").reset_index(drop=True)
    return out


def _submissions(campaign, current, first_received, late_units, findings, checked, report_info) -> pd.DataFrame:
    counts: dict[tuple[str, str], int] = {}
    for f in findings:
        counts[(f.unit, f.level)] = counts.get((f.unit, f.level), 0) + 1
    targets = checked.groupby("unit")["target_text"].nunique().to_dict() if len(checked) else {}
    nrows = checked.groupby("unit").size().to_dict() if len(checked) else {}
    overdue = checked.groupby("unit")["overdue"].sum().to_dict() if len(checked) else {}
    roster = list(campaign.unit_names)
    unknown = sorted(u for u in current if u not in roster and u)
    unnamed = [u for u in current if not u]
    records = []
    for unit in roster + unknown + unnamed:
        entry = current.get(unit)
        doc, ledger, known = entry if entry else (None, None, unit in roster)
        errors = counts.get((unit, ERROR), 0)
        status = MISSING if entry is None else (RETURN if errors else PASSED)
        fields = {}
        if ledger is not None and ledger.layout is not None:
            fields = {k: cell_text(ledger.field_value(k)) for k in ("secretary", "liaison", "phone", "qq")}
            fields["phone"] = parse_phone(ledger.field_value("phone")) or fields["phone"]
            fields["qq"] = parse_qq(ledger.field_value("qq")) or fields["qq"]
        report = report_info.get(unit)
        records.append({
            "单位": unit or "（未能识别单位）", "名单内": "是" if unit in roster else "否", "状态": status,
            "文件": doc.path if doc else "", "收到时间": doc.received if doc else None,
            "首次收到": first_received.get(unit), "逾期": "是" if unit in late_units else "否",
            "整顿对象数": int(targets.get(unit, 0)), "问题条数": int(nrows.get(unit, 0)),
            "错误数": errors, "警告数": counts.get((unit, WARNING), 0), "提示数": counts.get((unit, INFO), 0),
            "逾期措施数": int(overdue.get(unit, 0)),
            "第一责任人": fields.get("secretary", ""), "联络员": fields.get("liaison", ""),
            "联系电话": fields.get("phone", ""), "QQ号码": fields.get("qq", ""),
            "自评报告": report[0] if report else "未收到", "自评报告收到时间": report[1] if report else None,
        })
    return pd.DataFrame.from_records(records, columns=SUBMISSION_COLUMNS)


def _liaisons(campaign: Campaign, submissions: pd.DataFrame, current) -> pd.DataFrame:
    emails = {u.name: u.email or "" for u in campaign.units}
    df = submissions[["单位", "状态", "第一责任人", "联络员", "联系电话", "QQ号码"]].copy()
    df["邮箱"] = df["单位"].map(lambda u: emails.get(u, ""))
    return df[LIAISON_COLUMNS].reset_index(drop=True)


def _files_table(docs: list[Document], outcome: dict[str, tuple[str, str, str]]) -> pd.DataFrame:
    records = []
    for d in docs:
        unit, result, note = outcome.get(d.path, ("", IGNORED, d.note))
        if d.note and note != d.note and d.kind not in ("ledger",):
            note = f"{note}；{d.note}" if note else d.note
        records.append({"文件": d.path, "大小": d.size, "SHA-256": d.sha256, "收到时间": d.received,
                        "单位": unit, "处理结果": result, "说明": note, "格式": d.format, "发件人": d.sender or ""})
    return pd.DataFrame.from_records(records, columns=FILE_COLUMNS)


UNCLASSIFIED = "未能归类"


def _by_problem(rows: pd.DataFrame, campaign: Campaign, submitted: list[str]) -> pd.DataFrame:
    """Units × key problems (short names), plus rows whose problem is not in the menu, and 合计.

    Every unit with a submission has a line (all zeros when it named no target)."""
    form = campaign.form
    names = list(form.problem_short)
    present = set(rows["单位"]) if len(rows) else set()
    units = list(dict.fromkeys([*submitted, *sorted(present - set(submitted))]))
    table = pd.DataFrame(0, index=pd.Index(units, name="单位"), columns=names + [UNCLASSIFIED], dtype=int)
    if len(rows):
        keys = rows["问题序号"].map(lambda n: names[int(n) - 1] if pd.notna(n) else UNCLASSIFIED)
        counts = rows.groupby([rows["单位"], keys]).size().unstack(fill_value=0)
        table.loc[counts.index, counts.columns] = counts.to_numpy()
    table["合计"] = table.sum(axis=1)
    return table
