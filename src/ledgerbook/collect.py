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
from .checks import check_rows, check_unit_block, rows_frame
from .errors import reraise_interrupts
from .findings import ERROR, FINDING_COLUMNS, INFO, WARNING, Finding, make_finding, sort_key
from .text import cn_date, cn_datetime
from .inbox import BY_EMAIL, Document, scan_inbox
from .reader import Ledger, read_ledger
from .select import TAKEN, UNREADABLE, not_taken, select_current, taken_note
from .tables import (
    LATE, MAYBE_LATE, MISSING, PASSED, RETURN, UNNAMED, by_problem_table, files_table, liaisons_table, rows_table,
    submissions_table,
)

# Files are always read in worker processes (isolation); a second process pays for its
# start-up (~20 ms) from about this many workbooks on (measured: scripts/bench.py --crossover).
PARALLEL_MIN_FILES = 60

@dataclass
class Collection:
    """The result of collecting an inbox: every table of the summary workbook as a DataFrame.

    Attributes:
        campaign: the campaign checked against.
        as_of: the as-of date (None: nothing depended on a date after the due dates).
        inbox: the inbox folder as given.
        files: 文件清单 — one row per file found (archive members and attachments included):
            文件 (path inside the inbox), 大小 (bytes), SHA-256, 收到时间 (datetime, UTC+8: the best
            evidence, see Document.when), 时间依据 (邮件日期/工作簿保存时间/文件修改时间),
            单位, 处理结果 (采用/已被替代/重复/无法识别/无法读取/已忽略/自评报告/已展开), 说明, 格式, 发件人.
        submissions: 提交情况 — one row per roster unit in roster order, then unknown units:
            单位, 名单内 (是/否), 状态 (已通过/需退回修改/未提交), 文件 (current submission),
            收到时间, 首次收到, 逾期 (是: first submission after the ledger due date by an e-mail's
            date; 可能: so by a file time only; 否),
            整顿对象数, 问题条数, 错误数, 警告数, 提示数, 逾期措施数 (with as_of), 第一责任人, 联络员,
            联系电话, QQ号码, 自评报告 (file or 未收到), 自评报告收到时间.
        rows: 汇总台账 — every row of every current submission, normalised: 单位, 序号, 整顿对象,
            支部书记, 联系党委委员, 问题序号 (1-8), 重点问题 (full menu text, or the text as typed
            when not in the menu), 具体问题, 整顿措施, 责任人, 完成时限 (datetime.date or None),
            完成时限原文, 整顿进展, 备注, 逾期 (bool), 来源文件, 工作表, 来源单元格 (the row's first
            cell, e.g. A7), 行号 (Excel row number).
        findings: 校验结果 — 级别, 代码, 单位, 文件, 工作表, 单元格, 说明, 原值, and 行号 (the Excel row of
            the cell, <NA> for none: data for following a finding to its row); sorted by unit, level, cell.
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
        """Headline numbers for the 总览 sheet and the CLI report (both show these, and only these).

        应报单位 = 已通过 + 需退回修改 + 未提交, all roster units; 名单外单位 (and how many of them
        need sending back) are counted apart. 错误/警告/提示 are the units' findings (a
        submission without a unit counts as one); errors on files that belong to no unit
        (a damaged file nobody can be named for) are 无单位文件错误, never a unit's.
        """
        s = self.submissions
        roster = s[s["名单内"] == "是"]
        outside = s[s["名单内"] == "否"]
        unassigned = self.unassigned_findings()
        findings = self.findings.drop(index=unassigned.index)
        return {
            "应报单位": len(roster),
            PASSED: int((roster["状态"] == PASSED).sum()),
            RETURN: int((roster["状态"] == RETURN).sum()),
            MISSING: int((roster["状态"] == MISSING).sum()),
            "名单外单位": len(outside),
            "名单外需退回修改": int((outside["状态"] == RETURN).sum()),
            "逾期报送": int((roster["逾期"] == LATE).sum()),
            "整顿对象": int(s["整顿对象数"].sum()),
            "问题条数": len(self.rows),
            "错误": int((findings["级别"] == ERROR).sum()),
            "警告": int((findings["级别"] == WARNING).sum()),
            "提示": int((findings["级别"] == INFO).sum()),
            "无单位文件错误": int((unassigned["级别"] == ERROR).sum()),
            "逾期措施": int(self.rows["逾期"].sum()) if len(self.rows) else 0,
        }

    def unassigned_findings(self) -> pd.DataFrame:
        """Findings on files that belong to no unit: no unit named, and not a submission
        (a submission whose unit could not be told is 提交情况's （未能识别单位） line)."""
        f = self.findings
        submitted = set(self.submissions["文件"].dropna())
        return f[(f["单位"].fillna("") == "") & f["文件"].fillna("").ne("") & ~f["文件"].isin(submitted)]

    def received_as_other_unit(self) -> dict[str, tuple[str, str]]:
        """未提交 roster units whose own per-unit copy did arrive, filled in as another unit.

        Returns:
            marker unit -> (the file, the unit it was counted for), e.g. 人文学院党委 ->
            ("整顿台账_人文与新闻学院党委.xlsx", "人文与新闻学院党委"): the unit did send
            something, and its reminder and the summary say so.
        """
        from .rules import MARKER_KEYS

        s = self.submissions
        missing = set(s.loc[s["状态"] == MISSING, "单位"])
        out: dict[str, tuple[str, str]] = {}
        for unit, ledger in self.ledgers.items():
            marker = (ledger.marker or {}).get(MARKER_KEYS["unit"], "")
            if marker in missing and marker != unit and marker not in out:
                out[marker] = (ledger.file, unit or UNNAMED)
        return out


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
    by_path = {d.path: d for d in docs}
    chosen = select_current(docs, ledgers, campaign)
    current, first_received = chosen.current, chosen.first_received
    findings, outcome = chosen.findings, chosen.outcome

    # Checks on each current submission.
    items_for_rows: list[tuple[str, Ledger]] = []
    current_ledgers: dict[str, Ledger] = {}
    late_units: dict[str, str] = {}
    for unit, (doc, ledger, known) in current.items():
        first = first_received[unit]
        if first is not None and first.date() > campaign.ledger_due:
            # Only an e-mail's date proves lateness; a file time may be the moment of copying.
            by_email = chosen.first_basis[unit] == BY_EMAIL
            late_units[unit] = LATE if by_email else MAYBE_LATE
            findings.append(make_finding("file.late" if by_email else "file.late_by_file_time", unit=unit,
                                         file=doc.path, received=cn_datetime(first),
                                         due=cn_date(campaign.ledger_due)))
        if ledger is None:  # unreadable file pinned on a unit by its name or sender
            findings.append(make_finding("file.unreadable", unit=unit, file=doc.path, reason=doc.note))
            outcome[doc.path] = (unit, UNREADABLE, doc.note)
            continue
        for f in ledger.findings:
            findings.append(_with_unit(f, unit))
        if ledger.layout is None:
            outcome[doc.path] = (unit, *not_taken(ledger))
            continue
        outcome[doc.path] = (unit, TAKEN, taken_note(ledger))
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
    findings_df["行号"] = findings_df["行号"].astype("Int64")

    rows_df = rows_table(checked, campaign)
    submissions = submissions_table(campaign, current, first_received, late_units, findings, checked, report_info)
    liaisons = liaisons_table(campaign, submissions)
    files = files_table(docs, outcome)
    by_problem = by_problem_table(rows_df, campaign, submitted=[u for u in submissions["单位"]
                                                           if u in current and u])
    return Collection(campaign=campaign, as_of=as_of, inbox=inbox, files=files, submissions=submissions,
                      rows=rows_df, findings=findings_df, by_problem=by_problem, liaisons=liaisons,
                      ledgers=current_ledgers, documents=by_path, finding_list=findings)


def _with_unit(f: Finding, unit: str) -> Finding:
    from dataclasses import replace

    return replace(f, unit=unit) if not f.unit else f
