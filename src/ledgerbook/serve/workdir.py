"""The working folder (DIR) that `ledgerbook serve` runs in: where each thing lives.

::

    DIR/campaign.toml   the campaign (optional: the built-in 2019 notice otherwise)
    DIR/inbox/          returned files, as saved, uploaded or fetched (only ever added to)
    DIR/汇总表.xlsx      the summary of the last round
    DIR/退回修改/        marked-up copies for the units to send back
    DIR/发件箱/          mail drafts (.eml)
    DIR/下发模板/        the master form and the per-unit forms to send out
    DIR/.ledgerbook/    the server's own scratch space (uploads being received)

Every path the server writes to is one of these; a name that comes from a request is
checked by :meth:`WorkDir.inside` before it is used.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import LedgerbookError

CAMPAIGN_FILE = "campaign.toml"
INBOX = "inbox"
SUMMARY = "汇总表.xlsx"
FEEDBACK = "退回修改"
OUTBOX = "发件箱"
TEMPLATES = "下发模板"
SCRATCH = ".ledgerbook"


class WorkDirError(LedgerbookError):
    """The working folder cannot be used (not a folder, not writable)."""


@dataclass(frozen=True)
class WorkDir:
    """The paths of one working folder (absolute, resolved once at start)."""

    root: Path

    @classmethod
    def open(cls, directory: str | Path) -> "WorkDir":
        """The working folder, created with its inbox when missing.

        Raises:
            WorkDirError: DIR is a file, or it or its inbox cannot be created.
        """
        root = Path(directory).expanduser()
        if root.exists() and not root.is_dir():
            raise WorkDirError(f"{root} 是文件，不是文件夹：请给出工作文件夹")
        try:
            root.mkdir(parents=True, exist_ok=True)
            work = cls(root.resolve())
            work.inbox.mkdir(exist_ok=True)
            work.scratch.mkdir(exist_ok=True)
        except OSError as exc:
            raise WorkDirError(f"无法创建工作文件夹 {root}：{exc.strerror or exc}") from None
        if not work.inbox.is_dir():
            raise WorkDirError(f"{work.inbox} 不是文件夹：收件箱必须是文件夹")
        return work

    @property
    def campaign_file(self) -> Path | None:
        """DIR/campaign.toml when present; None means the built-in campaign."""
        path = self.root / CAMPAIGN_FILE
        return path if path.exists() else None

    @property
    def inbox(self) -> Path:
        return self.root / INBOX

    @property
    def summary(self) -> Path:
        return self.root / SUMMARY

    @property
    def feedback(self) -> Path:
        return self.root / FEEDBACK

    @property
    def outbox(self) -> Path:
        return self.root / OUTBOX

    @property
    def templates(self) -> Path:
        return self.root / TEMPLATES

    @property
    def scratch(self) -> Path:
        return self.root / SCRATCH

    def inside(self, path: Path) -> bool:
        """Whether path, symlinks followed, lies inside DIR (the only place the server touches)."""
        try:
            resolved = Path(path).resolve()
        except (OSError, RuntimeError):
            return False
        return resolved == self.root or self.root in resolved.parents

    def layout(self) -> list[tuple[str, str]]:
        """(where, what) for the page and the README: the folder layout in plain Chinese."""
        campaign = ("活动文件：学校、日期、单位名单" if self.campaign_file
                    else "活动文件（可选）：现在没有，使用内置的2019年通知；可用 ledgerbook init 生成后修改")
        return [
            (CAMPAIGN_FILE, campaign),
            (f"{INBOX}/", "收件箱：各单位交回的台账、压缩包、保存的邮件；上传的文件和从邮箱收取的邮件（inbox/邮件/）"
                          "放在这里，从不修改或删除"),
            (SUMMARY, "汇总表：每次“重新汇总”后更新"),
            (f"{FEEDBACK}/", "退回修改件：给需修改的单位，问题单元格已标色并加批注"),
            (f"{OUTBOX}/", "邮件草稿（.eml）：退回修改和催报，用 Outlook、Foxmail 打开即可发送"),
            (f"{TEMPLATES}/", "下发的模板：总模板和各单位专用模板"),
        ]


def place_new(source: Path, target: Path) -> bool:
    """Give `source` the name `target` unless something is there already (never replaces).

    The file appears whole or not at all (a hard link; where the file system has none, an
    exclusive create and a copy), so a collect running meanwhile never reads half a file.

    Returns:
        False when `target` already exists (nothing changed), True when placed.
    """
    try:
        os.link(source, target)
        return True
    except FileExistsError:
        return False
    except OSError:
        pass
    try:
        with open(source, "rb") as src, open(target, "xb") as dst:
            shutil.copyfileobj(src, dst)
    except FileExistsError:
        return False
    stat = source.stat()
    os.utime(target, (stat.st_atime, stat.st_mtime))
    return True
