"""`ledgerbook demo`: a whole campaign round on the built-in campaign, in seconds.

It writes the campaign file and the per-unit templates, fills them the way units do (clean,
sloppy, late, corrected, duplicated, zipped with GBK names, e-mailed, retyped, legacy .xls and
.ods through LibreOffice when it is installed, never answered, unreadable), collects the inbox
with feedback, then plays a second round (progress updates and self-evaluation reports)
collected with --since. Everything is deterministic: fixed seeds, fixed received times.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..campaign import load_campaign, write_default_campaign
from ..errors import OutputError, OverwriteError
from ..outputs import Manifest, Record, file_sha256, is_lock_file, is_unchanged_own, walk_files
from ..text import OFFICE_TZ
from .rounds import build_first_round, build_second_round

__all__ = ["DemoResult", "check_demo_folder", "run_demo"]


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
    rounds: tuple = ()  # the two RoundResults


DEMO_KIND = "demo"  # the run manifest's kind of the files the demo makes (campaign, templates, inboxes)


def check_demo_folder(root: Path) -> None:
    """Raise unless the demo may write into `root`: it does not exist, holds no file, or is an
    earlier demo folder (its manifest says so) in which every file is one ledgerbook wrote and
    nobody changed since.

    Raises:
        OutputError: `root` is a file, or a file in it is open in Excel/WPS.
        OverwriteError: `root` holds a file the demo did not write, or one changed since.
    """
    if root.exists() and not root.is_dir():
        raise OutputError(f"演示目录“{root}”是文件，请另选一个不存在的或空的文件夹")
    if not root.exists() or not any(p.is_file() for p in root.rglob("*")):
        return
    way_out = "演示只写入它自己建的、空的或以前的演示文件夹；请另选一个不存在的或空的文件夹"
    if not Manifest.load(root).demo:
        raise OverwriteError(f"“{root}”不是空文件夹，也不是 ledgerbook 演示文件夹，演示不会改动其中任何文件；{way_out}")
    root = Path(os.path.abspath(root))
    for path in walk_files(root):
        if is_unchanged_own(path, root):
            continue
        if is_lock_file(path.name):  # (the demo's inbox holds a lock file of its own, as clutter)
            raise OutputError(f"“{path.relative_to(root)}”表明演示目录中有文件正在 Excel/WPS 中打开，请先关闭再运行")
        raise OverwriteError(f"演示目录中的“{path.relative_to(root)}”不是演示写出的，或写出后被修改过，"
                             f"演示不会改动它；{way_out}")


def _clear_demo_files(root: Path) -> None:
    """Remove the files an earlier demo made (checked unchanged by check_demo_folder) and the
    folders they leave empty; the round outputs are left to the workflow."""
    manifest = Manifest.load(root)
    manifest.demo = True  # from here on the folder is the demo's, even if this run stops half-way
    folders = set()
    for name, rec in list(manifest.files.items()):
        if rec.kind != DEMO_KIND:
            continue
        path = root / name
        if path.is_file():
            path.unlink()
        folders.update(p for p in path.parents if root in p.parents)
        del manifest.files[name]
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            folder.rmdir()  # only when empty
    manifest.save()


def _record_demo_files(root: Path, paths: list[Path], when: dt.datetime) -> None:
    manifest = Manifest.load(Path(os.path.abspath(root)))
    manifest.demo = True
    manifest.rounds += 1
    for path in map(os.path.abspath, paths):
        manifest.files[manifest.key(Path(path))] = Record(sha256=file_sha256(path), round=manifest.rounds,
                                                    time=when.isoformat(timespec="seconds"), kind=DEMO_KIND)
    manifest.save()


def run_demo(directory: str | Path = "ledgerbook-demo", use_soffice: bool | None = None) -> DemoResult:
    """Build and collect a whole demo round in DIRECTORY.

    DIRECTORY must not exist, be empty, or be an earlier demo folder that nobody changed (its
    files are then replaced); anything else is refused before a file is written.

    Returns:
        DemoResult with the paths written and both rounds' Collections.

    Raises:
        OverwriteError, OutputError: DIRECTORY holds files that are not the demo's own.
    """
    from ..template import write_template, write_unit_templates
    from ..workflow import run_round

    root = Path(directory)
    check_demo_folder(root)
    root.mkdir(parents=True, exist_ok=True)
    _clear_demo_files(Path(os.path.abspath(root)))
    # The demo's clock: the rounds are dated in the campaign, so two demos write the same summaries.
    campaign = load_campaign(write_default_campaign(root, force=True))
    first_time = dt.datetime.combine(campaign.ledger_due, dt.time(17, 0), OFFICE_TZ) + dt.timedelta(days=4)
    as_of = dt.date(campaign.year, 10, 28)
    second_time = dt.datetime.combine(as_of, dt.time(17, 0), OFFICE_TZ)
    templates = root / "下发模板"
    master = write_template(campaign, root / f"附件2_{campaign.form.title}.xlsx")
    made = [root / "campaign.toml", Path(master), *map(Path, write_unit_templates(campaign, templates))]
    inbox = root / "inbox"
    notes = build_first_round(campaign, inbox, use_soffice=use_soffice)
    _record_demo_files(root, made + list(walk_files(inbox)), first_time)

    first = run_round(inbox, campaign, summary=root / "汇总表_第一轮.xlsx", feedback_dir=root / "退回修改",
                      now=first_time)

    second_inbox = root / "inbox-第二轮"
    notes += build_second_round(campaign, inbox, second_inbox)
    _record_demo_files(root, list(walk_files(second_inbox)), second_time)
    second = run_round(second_inbox, campaign, summary=root / f"汇总表_第二轮_{as_of.isoformat()}.xlsx",
                       as_of=as_of, since=first.summary, now=second_time)
    return DemoResult(directory=root, inbox=inbox, templates=templates, summary=first.summary,
                      feedback=list(first.copies.values()), collection=first.collection, notes=notes,
                      second_inbox=second_inbox, second_summary=second.summary,
                      second_collection=second.collection, changes=second.changes,
                      rounds=(first, second))
