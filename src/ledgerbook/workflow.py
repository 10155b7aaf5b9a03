"""One collect round in one place: guard the outputs, collect, compare, write.

``ledgerbook collect``, ``ledgerbook mail feedback`` and the demo all run a round through
:func:`run_round`, in this order:

1. Every output is checked before anything is read or written: not inside the inbox, not open
   in Excel/WPS (a ``~$`` lock file beside it), and — when it exists — written by ledgerbook
   and unchanged since (see :mod:`ledgerbook.outputs`). The previous summary for ``--since``
   is read here too, so a wrong file stops the round before the inbox is read.
2. The inbox is collected and compared with the previous summary.
3. Each marked-up copy is built once, in memory; the mail drafts attach those same bytes.
   Now every file name is known and checked, still before the first byte is written.
4. The summary, the copies and the drafts are written (each through a temporary file), the
   copies and drafts an earlier round left that are no longer current are removed, and each
   output folder's ``.ledgerbook-run.json`` records what this round wrote.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .campaign import Campaign, load_campaign
from .outputs import OutputRun, refuse_inside_inbox
from .text import OFFICE_TZ

if TYPE_CHECKING:  # pragma: no cover
    from .changes import Changes
    from .collect import Collection
    from .mail import MailPlan

#: Said (and exit status 1) when an inbox holds no ledger of any unit.
NO_LEDGER = "收件箱中没有找到任何台账文件"

#: Where --feedback-all puts the copies when no folder is given: beside the summary.
DEFAULT_FEEDBACK_FOLDER = "退回修改"

SUMMARY, COPY, DRAFT = "summary", "copy", "draft"  # kinds of output in the run manifest


@dataclass(frozen=True)
class RoundResult:
    """What a round found and wrote.

    Attributes:
        collection: the collection of the inbox.
        changes: the changes since the ``since`` summary (None without one).
        summary: the summary written (None when the round wrote none).
        copies: unit -> its marked-up copy written into the feedback folder.
        no_copy: unit -> why it got no marked-up copy (one Chinese sentence), for each unit
            that should have had one.
        drafts: the mail drafts written, in the order of 提交情况.
        removed: copies and drafts an earlier round wrote that are no longer current, removed
            (or, with ``force``, the files moved into ``旧版/``, by their former path).
        no_ledger: the inbox held no ledger of any unit (the CLI says :data:`NO_LEDGER`, exit 1).
        plan: the mail drafts with their recipients (None without an outbox); what
            :func:`ledgerbook.mail.send` sends.
        retired: where ``force`` moved files that were in the way (``…/旧版/<time>/…``).
        feedback_dir: the folder of the marked-up copies (None without one).
        outbox: the folder of the drafts (None without one).
    """

    collection: Collection
    changes: Changes | None
    summary: Path | None
    copies: dict[str, Path]
    no_copy: dict[str, str]
    drafts: list[Path]
    removed: list[Path]
    no_ledger: bool
    plan: MailPlan | None = None
    retired: list[Path] = field(default_factory=list)
    feedback_dir: Path | None = None
    outbox: Path | None = None


def run_round(inbox: str | Path, campaign: Campaign | str | Path | None, *, summary: str | Path | None,
              as_of: dt.date | None = None, since: str | Path | None = None,
              feedback_dir: str | Path | None = None, feedback_all: bool = False,
              outbox: str | Path | None = None, force: bool = False, now: dt.datetime | None = None,
              progress: Callable[[int, int], None] | None = None) -> RoundResult:
    """Run one collect round: collect the inbox and write the summary, copies and drafts.

    A file in the way is replaced only when an earlier run of ledgerbook wrote it and nobody
    changed it since; copies and drafts of an earlier round that this round does not write
    again (a unit that now passes) are removed, so the feedback folder and the outbox always
    match the summary.

    Args:
        inbox: the folder of returned files (only ever read).
        campaign: a Campaign, a campaign file, or None for the built-in one.
        summary: the summary workbook to write; None writes none (``mail feedback``).
        as_of: see :func:`ledgerbook.collect.collect`.
        since: an earlier summary to compare with (adds the 变化 sheet).
        feedback_dir: the folder for the marked-up copies of the units to send back.
        feedback_all: a copy for every unit with a readable submission; without
            ``feedback_dir`` they go to ``退回修改/`` beside the summary.
        outbox: the folder for the mail drafts (send-backs with the copies attached, reminders).
        force: a file in the way that ledgerbook did not write, or that was changed since, is
            moved into ``旧版/<time>/`` beside it instead of stopping the round.
        now: when the round runs: the summary's 生成 time, the drafts' Date and the run
            record; None for the current time (UTC+8).
        progress: called as progress(done, total) while the inbox is read.

    Returns:
        The RoundResult.

    Raises:
        OverwriteError: an output would replace or remove a file ledgerbook did not write, or
            one changed since (nothing has been written).
        OutputError: an output is inside the inbox, open in Excel/WPS, or cannot be written.
        SummaryError: ``since`` is not a summary ledgerbook wrote.
        InboxError, CampaignError: as :func:`ledgerbook.collect.collect`.
    """
    from .collect import collect as collect_inbox
    from .tables import MISSING

    if not isinstance(campaign, Campaign):
        campaign = load_campaign(campaign)
    now = now or dt.datetime.now(OFFICE_TZ).replace(microsecond=0)
    summary = Path(summary) if summary is not None else None
    if feedback_all and feedback_dir is None:
        feedback_dir = (summary.parent if summary is not None else Path()) / DEFAULT_FEEDBACK_FOLDER
    feedback_dir = Path(feedback_dir) if feedback_dir is not None else None
    outbox = Path(outbox) if outbox is not None else None

    # 1. Guards, before the inbox is read.
    run = OutputRun(now=now, force=force)
    for target, what in ((summary, "汇总表"), (feedback_dir, "退回修改件的目录"), (outbox, "邮件草稿目录")):
        if target is not None:
            refuse_inside_inbox(target, inbox, what)
    if summary is not None:
        summary = run.claim(summary, kind=SUMMARY, what="汇总表", way_out="用 -o 另选文件名")
    if feedback_dir is not None:
        feedback_dir = run.claim_folder(feedback_dir, kind=COPY, what="退回修改件",
                                        way_out="用 --feedback 另选文件夹")
    if outbox is not None:
        outbox = run.claim_folder(outbox, kind=DRAFT, what="邮件草稿", way_out="用 --mail 另选文件夹")
    previous = None
    if since is not None:
        from .snapshot import read_previous

        previous = read_previous(since)

    # 2. Collect and compare.
    collection = collect_inbox(inbox, campaign, as_of=as_of, progress=progress)
    changes = None
    if previous is not None:
        from .changes import compare

        changes = compare(previous, collection)

    # 3. Build every copy once and every draft in memory; check each file name.
    built, no_copy = [], {}
    if feedback_dir is not None or outbox is not None:
        from .feedback import build_feedback

        built, no_copy = build_feedback(collection, all_units=feedback_all and feedback_dir is not None)
    copy_paths: dict[str, Path] = {}
    if feedback_dir is not None:
        for copy in built:
            copy_paths[copy.unit] = run.claim(feedback_dir / copy.file_name, kind=COPY, unit=copy.unit,
                                              what="退回修改件", way_out="用 --feedback 另选文件夹")
    plan, composed = None, []
    if outbox is not None:
        from .mail import Attachment, MailPlan, compose_feedback_drafts

        attachments = {c.unit: Attachment(c.file_name, c.data) for c in built if c.to_fix}
        composed, no_address = compose_feedback_drafts(collection, outbox, copies=attachments, now=now)
        for draft, _ in composed:
            run.claim(draft.path, kind=DRAFT, unit=draft.unit, what="邮件草稿", way_out="用 --mail 另选文件夹")
        plan = MailPlan(outbox=outbox, drafts=[d for d, _ in composed], no_address=no_address)

    # 4. Write, then remove what is no longer current, and record.
    try:
        if summary is not None:
            from .summary import write_summary

            run.write(summary, lambda tmp: write_summary(collection, tmp, generated_at=now, since=changes))
        for copy in built:
            if copy.unit in copy_paths:
                run.write_bytes(copy_paths[copy.unit], copy.data)
        for draft, data in composed:
            run.write_bytes(draft.path, data)
        removed = run.finish()
    except BaseException:
        run.save()  # what was written is recorded, so the next run may replace it
        raise
    return RoundResult(
        collection=collection, changes=changes, summary=summary, copies=copy_paths, no_copy=no_copy,
        drafts=[d.path for d, _ in composed], removed=removed + [old for old, _ in run.retired],
        no_ledger=bool((collection.submissions["状态"] == MISSING).all()), plan=plan,
        retired=[new for _, new in run.retired], feedback_dir=feedback_dir, outbox=outbox)
