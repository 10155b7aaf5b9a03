"""OLE2 compound files ([MS-CFB]): the names of their storages and streams, read from bytes."""

from __future__ import annotations

import struct


_FREE = 0xFFFFFFFA  # sector numbers from here up are markers (end of chain, free…)


def ole_names(data: bytes) -> list[str]:
    """Names of the storages and streams of an OLE2 compound file ([MS-CFB]), read from bytes.

    Only the directory is read (a few hundred bytes); chains are bounded so that a corrupt
    or hostile file cannot loop.

    Raises:
        ValueError: the header or the directory chain is invalid.
    """
    if len(data) < 512:
        raise ValueError("too short")
    shift = struct.unpack_from("<H", data, 0x1E)[0]
    if shift not in (9, 12):
        raise ValueError("bad sector size")
    size = 1 << shift
    sectors = (len(data) - size) // size + 1 if len(data) > size else 0
    fat_count, first_dir = struct.unpack_from("<II", data, 0x2C)
    difat_first, difat_count = struct.unpack_from("<II", data, 0x44)
    fat_sectors = [s for s in struct.unpack_from("<109I", data, 0x4C) if s < _FREE]
    next_difat, hops = difat_first, 0
    while next_difat < _FREE and hops < min(difat_count, sectors):
        entries = struct.unpack_from(f"<{size // 4}I", data, (next_difat + 1) * size)
        fat_sectors.extend(s for s in entries[:-1] if s < _FREE)
        next_difat, hops = entries[-1], hops + 1
    per_sector = size // 4

    def fat_next(sector: int) -> int:
        if sector // per_sector >= len(fat_sectors):
            return _FREE
        fat_sector = fat_sectors[sector // per_sector]
        return struct.unpack_from("<I", data, (fat_sector + 1) * size + (sector % per_sector) * 4)[0]

    names: list[str] = []
    sector, seen = first_dir, set()
    # Like olefile, a broken link ends the chain instead of failing: damaged files (and
    # fuzzed ones) usually keep their first directory sector intact.
    while sector < _FREE and sector not in seen and sector < sectors:
        seen.add(sector)
        offset = (sector + 1) * size
        for entry in range(offset, offset + size, 128):
            length = struct.unpack_from("<H", data, entry + 64)[0]
            if data[entry + 66] in (1, 2, 5) and 2 <= length <= 64:
                names.append(data[entry:entry + length - 2].decode("utf-16-le", "replace"))
        sector = fat_next(sector)
    if not names:
        raise ValueError("empty directory")
    return names
