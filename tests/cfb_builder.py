"""OLE2 compound files ([MS-CFB] version 3) written byte by byte, for test fixtures.

A small, plain writer that follows the specification: 512-byte sectors, streams under the
4096-byte cutoff in the mini stream (64-byte mini sectors, with a mini FAT), the directory as
a red-black tree whose siblings are ordered by name length and then by upper-cased name
(all nodes black: a valid red-black tree of any shape that is a balanced binary search tree
of the right height is what we build, readers only search it). No DIFAT sectors: up to 109
FAT sectors (about 6.9 MB of file), enough for every fixture.

A storage is a ``dict`` of name -> ``bytes`` (a stream) or ``dict`` (a storage).
"""

from __future__ import annotations

import struct

SECTOR = 512
MINI_SECTOR = 64
MINI_CUTOFF = 4096
FREESECT, ENDOFCHAIN, FATSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF
MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
STORAGE, STREAM, ROOT = 1, 2, 5
BLACK = 1


class _Entry:
    def __init__(self, name: str, kind: int, data: bytes = b""):
        self.name, self.kind, self.data = name, kind, data
        self.children: list[_Entry] = []
        self.left = self.right = self.child = NOSTREAM
        self.start, self.size = ENDOFCHAIN, 0
        self.sid = -1


def _key(name: str) -> tuple[int, str]:
    # [MS-CFB] 2.6.4: shorter names first, then code-point order of the upper-cased names.
    return (len(name.encode("utf-16-le")), name.upper())


def _flatten(tree: dict, parent: _Entry, entries: list[_Entry]) -> None:
    for name, value in tree.items():
        if len(name) > 31:
            raise ValueError(f"CFB names hold at most 31 characters: {name!r}")
        if isinstance(value, dict):
            entry = _Entry(name, STORAGE)
            entry.sid = len(entries)
            entries.append(entry)
            _flatten(value, entry, entries)
        else:
            entry = _Entry(name, STREAM, bytes(value))
            entry.sid = len(entries)
            entries.append(entry)
        parent.children.append(entry)


def _link_siblings(parent: _Entry) -> None:
    """Children as a balanced binary search tree; the parent points at its root."""
    ordered = sorted(parent.children, key=lambda e: _key(e.name))

    def build(lo: int, hi: int) -> int:
        if lo >= hi:
            return NOSTREAM
        mid = (lo + hi) // 2
        node = ordered[mid]
        node.left, node.right = build(lo, mid), build(mid + 1, hi)
        return node.sid

    parent.child = build(0, len(ordered))
    for child in ordered:
        if child.kind == STORAGE:
            _link_siblings(child)


def _chain(fat: list[int], first: int, count: int) -> None:
    for i in range(count):
        fat[first + i] = first + i + 1 if i < count - 1 else ENDOFCHAIN


def _pad(data: bytes, size: int) -> bytes:
    return data + b"\x00" * (-len(data) % size)


def build_cfb(tree: dict, root_clsid: bytes = bytes(16)) -> bytes:
    """The bytes of a compound file holding ``tree`` (see the module docstring)."""
    root = _Entry("Root Entry", ROOT)
    root.sid = 0
    entries = [root]
    _flatten(tree, root, entries)
    _link_siblings(root)

    # Small streams go into the mini stream, big ones into sectors of their own.
    mini = bytearray()
    minifat: list[int] = []
    big: list[_Entry] = []
    for e in entries:
        if e.kind != STREAM:
            continue
        e.size = len(e.data)
        if e.size == 0:
            e.start = ENDOFCHAIN
        elif e.size < MINI_CUTOFF:
            first = len(mini) // MINI_SECTOR
            count = -(-e.size // MINI_SECTOR)
            minifat.extend([0] * count)
            _chain(minifat, first, count)
            mini += _pad(e.data, MINI_SECTOR)
            e.start = first
        else:
            big.append(e)

    dir_bytes_count = len(entries) * 128
    n_dir = -(-dir_bytes_count // SECTOR)
    n_minifat = -(-len(minifat) * 4 // SECTOR) if minifat else 0
    n_mini = -(-len(mini) // SECTOR)
    n_big = sum(-(-e.size // SECTOR) for e in big)
    n_data = n_dir + n_minifat + n_mini + n_big
    n_fat = 1
    while n_fat * (SECTOR // 4) < n_data + n_fat:
        n_fat += 1
    if n_fat > 109:
        raise ValueError("fixture too large for a header-only DIFAT")

    fat = [FREESECT] * (n_fat * SECTOR // 4)
    for i in range(n_fat):
        fat[i] = FATSECT
    next_sector = n_fat
    dir_start = next_sector
    _chain(fat, dir_start, n_dir)
    next_sector += n_dir
    minifat_start = next_sector if n_minifat else ENDOFCHAIN
    if n_minifat:
        _chain(fat, next_sector, n_minifat)
        next_sector += n_minifat
    if n_mini:
        root.start, root.size = next_sector, len(mini)
        _chain(fat, next_sector, n_mini)
        next_sector += n_mini
    body = bytearray()
    for e in big:
        count = -(-e.size // SECTOR)
        e.start = next_sector
        _chain(fat, next_sector, count)
        next_sector += count
        body += _pad(e.data, SECTOR)

    directory = bytearray()
    for e in entries:
        name = e.name.encode("utf-16-le") + b"\x00\x00"
        directory += struct.pack(
            "<64sHBBIII16sIQQIQ", name, len(name), e.kind, BLACK, e.left, e.right,
            e.child if e.kind in (STORAGE, ROOT) else NOSTREAM,
            root_clsid if e.kind == ROOT else bytes(16), 0, 0, 0,
            e.start if (e.kind == STREAM or (e.kind == ROOT and mini)) else (ENDOFCHAIN if e.kind == ROOT else 0),
            e.size if e.kind in (STREAM, ROOT) else 0)
    while len(directory) % SECTOR:  # unused entries: empty, no siblings, no child
        directory += struct.pack("<64sHBBIII16sIQQIQ", b"", 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM,
                                 bytes(16), 0, 0, 0, 0, 0)

    difat = list(range(n_fat)) + [FREESECT] * (109 - n_fat)
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII109I", MAGIC, bytes(16), 0x003E, 0x0003, 0xFFFE, 9, 6, bytes(6),
        0, n_fat, dir_start, 0, MINI_CUTOFF, minifat_start, n_minifat, ENDOFCHAIN, 0, *difat)
    assert len(header) == SECTOR
    minifat_bytes = _pad(struct.pack(f"<{len(minifat)}I", *minifat), SECTOR) if minifat else b""
    out = (header + struct.pack(f"<{len(fat)}I", *fat) + directory + minifat_bytes
           + _pad(bytes(mini), SECTOR) + body)
    assert len(out) == SECTOR * (1 + n_fat + n_data)
    return bytes(out)
