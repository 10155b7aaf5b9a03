"""`ledgerbook demo`: a whole campaign round on the built-in campaign, in seconds.

It writes the campaign file and the per-unit templates, fills them the way units do (clean,
sloppy, late, corrected, duplicated, zipped with GBK names, e-mailed, retyped, legacy .xls and
.ods through LibreOffice when it is installed, never answered, unreadable), collects the inbox
with feedback, then plays a second round (progress updates and self-evaluation reports)
collected with --since. Everything is deterministic: fixed seeds, fixed received times.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..campaign import load_campaign, write_default_campaign
from .rounds import build_first_round, build_second_round

__all__ = ["DemoResult", "run_demo"]


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


def run_demo(directory: str | Path = "ledgerbook-demo", use_soffice: bool | None = None) -> DemoResult:
    """Build and collect a whole demo round in DIRECTORY (replacing an earlier demo there).

    Returns:
        DemoResult with the paths written and both rounds' Collections.
    """
    from ..changes import compare
    from ..snapshot import read_previous
    from ..collect import collect
    from ..feedback import write_feedback
    from ..summary import write_summary
    from ..template import write_template, write_unit_templates

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
