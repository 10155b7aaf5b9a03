"""Writing files safely, for every writer: never into the inbox, never over a workbook open in
Excel/WPS, never half a file, always a name every file system accepts — and, for a round's
outputs, never over a file ledgerbook did not write.

The run manifest: a run records every file it writes in ``.ledgerbook-run.json`` in that
file's folder (name, SHA-256, round, time, kind, unit). A later run may replace or remove a
file only when the manifest lists it and its bytes still hash the same: ledgerbook wrote it and
nobody changed it since. Anything else (the clerk's own file, a summary with notes typed in, a
copy open in Excel) is refused with one Chinese line naming the file and the way out, before
the first byte of the run is written (:class:`OutputRun`). ``force`` moves such a file into a
dated ``旧版/`` folder beside it instead: nothing the clerk made is ever deleted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import OutputError, OverwriteError

__all__ = ["MANIFEST_NAME", "Manifest", "OutputRun", "Record", "TEMP_PREFIX", "atomic_save", "atomic_save_bytes", "check_target",
           "file_sha256", "is_lock_file", "is_unchanged_own", "lock_files", "refuse_if_open", "refuse_inside_inbox",
           "safe_file_name", "unique_file_name", "walk_files"]

MANIFEST_NAME = ".ledgerbook-run.json"
MANIFEST_FORMAT = 1
#: Where ``force`` moves a file that was in the way: ``<folder>/旧版/<time>/<name>``.
RETIRED_FOLDER = "旧版"

#: Temporary files of :func:`atomic_save` start with this: a file left by a killed run is
#: recognisably ours (``fetch`` clears such files from the mail folder it writes to).
TEMP_PREFIX = ".~ledgerbook-"

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


def is_lock_file(name: str) -> bool:
    """True for an Office lock file's name (``~$…``, ``.~lock.…#``)."""
    return name.startswith("~$") or (name.startswith(".~lock.") and name.endswith("#"))


def refuse_if_open(path: Path, what: str) -> None:
    """Raise OutputError when `path` is open in Excel/WPS/LibreOffice (a lock file lies beside it)."""
    if not path.exists():
        return
    for lock in lock_files(path):
        if lock.exists():
            raise OutputError(f"{what}“{path.name}”正在 Excel/WPS 中打开（发现 {lock.name}），请先关闭该文件再运行")


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
        `path`, keeping the mode of the file it replaces; a new one gets the umask's mode
        (0644 under the usual 022: outputs are meant to be shared, and mkstemp makes 0600).

    Raises:
        OutputError: the file cannot be written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=path.suffix, dir=path.parent)
    except OSError as exc:
        raise OutputError(f"无法写入{what} {path}：{exc.strerror or exc}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        mode = path.stat().st_mode & 0o777 if path.exists() else file_mode()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except (OSError, *errors) as exc:
        raise OutputError(f"无法写入{what} {path}：文件可能正在 Excel/WPS 中打开或目录不可写"
                          f"（{getattr(exc, 'strerror', None) or exc}）") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def atomic_save_bytes(path: Path, data: bytes, what: str) -> Path:
    """:func:`atomic_save` of bytes already made (a copy or a draft built in memory)."""
    return atomic_save(path, lambda tmp: tmp.write_bytes(data), what)


def file_mode() -> int:
    """The mode of a new file under the process umask (0644 with the usual 022)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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


# --------------------------------------------------------------------------- the manifest


@dataclass(frozen=True)
class Record:
    """One file a run wrote.

    Attributes:
        sha256: the file's hash as written.
        round: the manifest's run counter when it was written (1 for the first run).
        time: when the run that wrote it ran (ISO 8601).
        kind: what it is: ``summary``, ``copy``, ``draft``, ``demo``.
        unit: the unit a copy or draft is for ('' otherwise).
    """

    sha256: str
    round: int
    time: str
    kind: str
    unit: str = ""


@dataclass
class Manifest:
    """The files ledgerbook wrote into one folder (keys are paths relative to it, '/'-separated).

    Attributes:
        folder: the folder the manifest sits in.
        files: relative path -> Record.
        rounds: how many runs wrote into this folder.
        demo: the folder is a ``ledgerbook demo`` folder.
    """

    folder: Path
    files: dict[str, Record] = field(default_factory=dict)
    rounds: int = 0
    demo: bool = False

    @property
    def path(self) -> Path:
        return self.folder / MANIFEST_NAME

    @classmethod
    def load(cls, folder: Path) -> "Manifest":
        """The folder's manifest; an empty one when there is none or it cannot be read (then
        nothing in the folder counts as ledgerbook's: the safe side)."""
        manifest = cls(folder=folder)
        try:
            data = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
            manifest.rounds = int(data.get("rounds", 0))
            manifest.demo = bool(data.get("demo", False))
            for name, rec in data.get("files", {}).items():
                manifest.files[str(name)] = Record(**{k: rec[k] for k in ("sha256", "round", "time", "kind")},
                                                   unit=str(rec.get("unit", "")))
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return cls(folder=folder)
        return manifest

    def save(self) -> None:
        data = {"format": MANIFEST_FORMAT, "tool": "ledgerbook", "rounds": self.rounds, "demo": self.demo,
                "files": {k: asdict(v) for k, v in sorted(self.files.items())}}
        text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
        atomic_save_bytes(self.path, text.encode("utf-8"), "运行记录")

    def key(self, path: Path) -> str:
        return path.relative_to(self.folder).as_posix()


def recorded(path: Path, top: Path | None = None) -> Record | None:
    """The record of `path` in the manifest of its folder or of a folder above it up to `top`
    (default: its own folder only)."""
    top = top or path.parent
    folder = path.parent
    while True:
        manifest = Manifest.load(folder)
        rec = manifest.files.get(manifest.key(path))
        if rec is not None:
            return rec
        if folder == top or folder.parent == folder:
            return None
        folder = folder.parent


def is_unchanged_own(path: Path, top: Path | None = None) -> bool:
    """True when a run recorded `path` and its bytes still hash the same."""
    rec = recorded(path, top)
    try:
        return rec is not None and file_sha256(path) == rec.sha256
    except OSError:
        return False


# --------------------------------------------------------------------------- one run's writes


@dataclass(frozen=True)
class _Target:
    path: Path
    kind: str
    unit: str
    what: str
    way_out: str


class OutputRun:
    """The files one run writes: checked before the first byte, written atomically, recorded.

    Usage: ``claim``/``claim_folder`` every output (each raises before anything is written),
    then ``write``/``write_bytes`` the claimed files, then ``finish`` — which removes the files
    earlier runs wrote into a claimed folder that this run did not write again, and saves the
    manifests. ``finish`` also runs when a write fails, so what was written is recorded.

    Args:
        now: when the run runs (recorded, and the name of a 旧版 folder).
        force: move a file in the way into ``旧版/<time>/`` instead of refusing.
    """

    def __init__(self, *, now: dt.datetime, force: bool = False):
        self.now = now
        self.force = force
        self._targets: dict[Path, _Target] = {}
        self._folders: list[tuple[Path, Path, str, str]] = []  # (folder, as given, kind, what): old files go
        self._manifests: dict[Path, Manifest] = {}
        self._counted: set[Path] = set()  # manifests whose run counter this run has moved on
        self._dirty: set[Path] = set()
        self._in_the_way: list[Path] = []  # files force moves aside before writing
        self.written: list[Path] = []
        self.removed: list[Path] = []
        self.retired: list[tuple[Path, Path]] = []  # (where it was, where it is now)

    # -- checks

    def manifest(self, folder: Path) -> Manifest:
        folder = Path(os.path.abspath(folder))
        if folder not in self._manifests:
            self._manifests[folder] = Manifest.load(folder)
        return self._manifests[folder]

    def _own_unchanged(self, path: Path) -> bool:
        manifest = self.manifest(path.parent)
        rec = manifest.files.get(path.name)
        try:
            return rec is not None and file_sha256(path) == rec.sha256
        except OSError:
            return False

    def _refuse(self, path: Path, why: str, way_out: str) -> OverwriteError:
        return OverwriteError(f"“{path}”{why}；确需替换请加 --force（原文件移入同一文件夹的 {RETIRED_FOLDER}/），"
                              f"或{way_out}")

    def _check_folder(self, folder: Path, what: str) -> None:
        if folder.exists() and not folder.is_dir():
            raise OutputError(f"无法写入{what}：“{folder}”是文件，不是文件夹")
        probe = folder
        while not probe.exists() and probe.parent != probe:
            probe = probe.parent
        if not os.access(probe, os.W_OK):
            raise OutputError(f"无法写入{what}：文件夹“{probe}”不可写")

    def claim(self, path: str | Path, *, kind: str, what: str, way_out: str, unit: str = "") -> Path:
        """Check that `path` may be written by this run; raise before anything is written.

        Args:
            path: the file to write.
            kind: the record's kind (see :class:`Record`).
            what: what it is, for messages ("汇总表").
            way_out: the other way out besides --force ("用 -o 另选文件名").
            unit: the unit a copy or draft is for.

        Returns:
            The path as given, to pass to :meth:`write`.

        Raises:
            OutputError: the path is a folder, its folder is not writable, or it is open in Excel.
            OverwriteError: it exists and ledgerbook did not write it or it changed since
                (unless ``force``).
        """
        given, path = Path(path), Path(os.path.abspath(path))
        if path in self._targets:
            raise OutputError(f"{what}“{given}”与本次的另一个输出文件同名，请换一个名字或文件夹")
        if path.is_dir():
            raise OutputError(f"无法写入{what}“{given}”：这是一个文件夹")
        self._check_folder(path.parent, what)
        if path.exists():
            refuse_if_open(path, what)
            if not os.access(path, os.W_OK):
                raise OutputError(f"无法写入{what}“{given}”：文件是只读的")
            if not self._own_unchanged(path):
                if not self.force:
                    why = ("是 ledgerbook 写出后又被修改过的文件，不会覆盖"
                           if self.manifest(path.parent).files.get(path.name) else "已存在且不是 ledgerbook 写出的，不会覆盖")
                    raise self._refuse(given, why, way_out)
                if path not in self._in_the_way:
                    self._in_the_way.append(path)
        self._targets[path] = _Target(path, kind, unit, what, way_out)
        return given

    def claim_folder(self, folder: str | Path, *, kind: str, what: str, way_out: str) -> Path:
        """Check a folder whose earlier `kind` files this run replaces or removes.

        Every file an earlier run recorded there as `kind` will be replaced or removed, so
        each must be unchanged and closed (else refused, or moved aside with ``force``).
        """
        given, folder = Path(folder), Path(os.path.abspath(folder))
        self._check_folder(folder, what)
        self._folders.append((folder, given, kind, what))
        manifest = self.manifest(folder)
        for name, rec in manifest.files.items():
            path = folder / name
            if rec.kind != kind or not path.is_file():
                continue
            refuse_if_open(path, what)
            if not self._own_unchanged(path):
                if not self.force:
                    raise self._refuse(given / name, f"是上次写出的{what}，此后被修改过，不会删除或覆盖", way_out)
                if path not in self._in_the_way:
                    self._in_the_way.append(path)
        return given

    # -- writes

    def _retire(self, path: Path) -> None:
        """Move a file in the way into <folder>/旧版/<time>/ (force)."""
        if not path.exists():
            return
        target_dir = path.parent / RETIRED_FOLDER / self.now.strftime("%Y-%m-%d_%H%M%S")
        target = target_dir / path.name
        n = 2
        while target.exists():
            target, n = target_dir / f"{path.stem}_{n}{path.suffix}", n + 1
        try:
            target_dir.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
        except OSError as exc:
            raise OutputError(f"无法把“{path}”移入 {RETIRED_FOLDER}/：{exc.strerror or exc}") from None
        if self.manifest(path.parent).files.pop(path.name, None) is not None:
            self._dirty.add(path.parent)
        self.retired.append((path, target))

    def _move_aside(self) -> None:
        while self._in_the_way:
            self._retire(self._in_the_way.pop(0))

    def write(self, path: Path, write: Callable[[Path], None]) -> Path:
        """Write a claimed file atomically and record it."""
        target = self._targets[Path(os.path.abspath(path))]
        self._move_aside()
        atomic_save(target.path, write, target.what)
        self._record(target)
        return Path(path)

    def write_bytes(self, path: Path, data: bytes) -> Path:
        return self.write(path, lambda tmp: tmp.write_bytes(data))

    def _record(self, target: _Target) -> None:
        manifest = self.manifest(target.path.parent)
        if manifest.folder not in self._counted:
            manifest.rounds += 1
            self._counted.add(manifest.folder)
        self._dirty.add(manifest.folder)
        manifest.files[target.path.name] = Record(
            sha256=file_sha256(target.path), round=manifest.rounds, time=self.now.isoformat(timespec="seconds"),
            kind=target.kind, unit=target.unit)
        self.written.append(target.path)

    def finish(self) -> list[Path]:
        """Remove the claimed folders' earlier files this run did not write again, save the
        manifests; returns the files removed (under their folder as given)."""
        self._move_aside()
        written = set(self.written)
        for folder, given, kind, what in self._folders:
            manifest = self.manifest(folder)
            for name, rec in list(manifest.files.items()):
                path = folder / name
                if rec.kind != kind or path in written:
                    continue
                if path.is_file():
                    # Checked unchanged in claim_folder; checked again: minutes of collecting passed.
                    if not self._own_unchanged(path):
                        continue
                    try:
                        path.unlink()
                    except OSError as exc:
                        raise OutputError(f"无法删除上次的{what}“{path}”：{exc.strerror or exc}") from None
                    self.removed.append(given / name)
                manifest.files.pop(name)
                self._dirty.add(folder)
        self.save()
        return self.removed

    def save(self) -> None:
        """Save every manifest this run changed."""
        for folder in sorted(self._dirty):
            self._manifests[folder].save()
        self._dirty.clear()


def walk_files(root: Path) -> Iterator[Path]:
    """Every file under root (manifests excluded), sorted."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name != MANIFEST_NAME:
            yield path
