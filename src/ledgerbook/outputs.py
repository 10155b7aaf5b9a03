"""Writing files safely, for every writer: never into the inbox, never over a workbook open in
Excel/WPS, never half a file, always a name every file system accepts."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from .errors import OutputError

__all__ = ["atomic_save", "check_target", "lock_files", "refuse_inside_inbox", "safe_file_name",
           "unique_file_name"]

# Characters Windows (and so most users' file systems) refuse in a file name.
_ILLEGAL_FILENAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def refuse_inside_inbox(target: str | Path, inbox: str | Path, what: str) -> None:
    """Raise OutputError when `target` lies in the inbox: the inbox is only ever read (and a
    file written there would show up in the next collect).

    Args:
        target: a file or folder about to be written.
        inbox: the inbox folder.
        what: what is being written, for the message (e.g. "汇总表").
    """
    try:
        path, root = Path(target).resolve(), Path(inbox).resolve()
    except OSError:
        return
    if path == root or root in path.parents:
        raise OutputError(f"{what} {target} 位于收件箱 {inbox} 之内；收件箱只读，请换一个位置")


def lock_files(path: Path) -> list[Path]:
    """Lock files Excel, WPS and LibreOffice leave next to an open workbook."""
    name = path.name
    return [path.with_name(f"~${name}"), path.with_name(f"~${name[2:]}"), path.with_name(f".~lock.{name}#"),
            path.with_name(f".~{name}")]


def check_target(path: Path, what: str) -> None:
    """Raise OutputError (naming `what`, e.g. 汇总表) when `path` cannot be written now: a
    folder, open in Excel/WPS (a lock file lies next to it), read only, or in a folder that
    cannot be made or written. Creates the folder when missing."""
    if path.is_dir():
        raise OutputError(f"无法写入{what} {path}：这是一个文件夹")
    if path.exists():
        for lock in lock_files(path):
            if lock.exists():
                raise OutputError(f"{what} {path.name} 正在 Excel/WPS 中打开（发现 {lock.name}），请先关闭该文件再运行")
        if not os.access(path, os.W_OK):
            raise OutputError(f"无法写入{what} {path}：文件是只读的")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"无法创建目录 {path.parent}：{exc.strerror or exc}") from None
    if not os.access(path.parent, os.W_OK):
        raise OutputError(f"无法写入{what} {path}：目录 {path.parent} 不可写")


def atomic_save(path: Path, write: Callable[[Path], None], what: str,
                errors: tuple[type[BaseException], ...] = ()) -> Path:
    """Write `path` through a temporary file in its folder, moved into place at the end, so a
    crash never leaves half a file and an existing file stays intact until then.

    Args:
        path: the file to write; its folder is created when missing.
        write: writes the whole file to the path it is given.
        what: what is written, for the message (e.g. "汇总表").
        errors: exception types of the writing library that mean "cannot write" (OSError
            always does).

    Returns:
        `path`, keeping the mode of the file it replaces (0644 for a new one: outputs are
        meant to be shared, and mkstemp makes 0600).

    Raises:
        OutputError: the file cannot be written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".~ledgerbook-", suffix=path.suffix, dir=path.parent)
    except OSError as exc:
        raise OutputError(f"无法写入{what} {path}：{exc.strerror or exc}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except (OSError, *errors) as exc:
        raise OutputError(f"无法写入{what} {path}：文件可能正在 Excel/WPS 中打开或目录不可写"
                          f"（{getattr(exc, 'strerror', None) or exc}）") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def safe_file_name(text: str, max_chars: int | None = None) -> str:
    """`text` fit for a file name on every file system: illegal characters become "_",
    leading/trailing spaces and dots go, at most `max_chars` characters; "_" when empty."""
    name = _ILLEGAL_FILENAME.sub("_", text).strip(" .")
    if max_chars is not None:
        name = name[:max_chars]
    return name or "_"


def unique_file_name(name: str, taken: set[str]) -> str:
    """`name`, or `stem_2.ext`, `stem_3.ext`… when a name equal but for case is in `taken`
    (two units whose names differ only in illegal characters); the result is added."""
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    n = 2
    while name.lower() in taken:
        name, n = f"{stem}_{n}{dot}{ext}", n + 1
    taken.add(name.lower())
    return name
