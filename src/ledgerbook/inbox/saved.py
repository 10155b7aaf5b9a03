"""When the unit's own program last saved a workbook, read from the workbook itself.

A file's modification time is the moment it was saved *here* (Outlook's "save attachment",
a copy, an unzip); the time Excel, WPS or LibreOffice saved the workbook travels inside it:

- Office Open XML (``.xlsx``, ``.xlsm``, ``.xlsb``): ``dcterms:modified`` of
  ``docProps/core.xml`` (W3CDTF, normally UTC with ``Z``);
- legacy ``.xls`` / WPS ``.et`` (OLE2): PIDSI_LASTSAVE_DTM of the ``\\x05SummaryInformation``
  property set ([MS-OLEPS], a FILETIME in UTC);
- OpenDocument (``.ods``): ``dc:date`` of ``meta.xml`` (LibreOffice writes the local time of
  the saving machine without a zone: taken as the office's clock).

Only small descriptor parts are read, with bounded sizes; anything odd gives None.
"""

from __future__ import annotations

import datetime
import io
import re
import struct
import zipfile

__all__ = ["workbook_saved"]

_MAX_PART = 1024 * 1024          # core.xml / meta.xml are a few hundred bytes
_MAX_SUMMARY = 64 * 1024         # the SummaryInformation stream is well under 4 KB
_FILETIME_EPOCH = datetime.datetime(1601, 1, 1, tzinfo=datetime.timezone.utc)
_PIDSI_LASTSAVE_DTM = 0x0D
_VT_FILETIME = 0x40
_FMTID_SUMMARY = bytes.fromhex("e0859ff2f94f6810ab9108002b27b3d9")

_MODIFIED = re.compile(rb"<(?:\w+:)?modified\b[^>]*>\s*([^<\s]+)\s*</", re.I)
_DC_DATE = re.compile(rb"<dc:date>\s*([^<\s]+)\s*</dc:date>", re.I)
_W3CDTF = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
                     r"\s*(Z|[+-]\d{2}:?\d{2})?$")


def workbook_saved(data: bytes, fmt: str, local_tz: datetime.tzinfo) -> datetime.datetime | None:
    """The last-saved time recorded inside a workbook, or None when it records none.

    Args:
        data: the workbook's bytes.
        fmt: its sniffed format: ``xlsx`` ``xlsm`` ``xlsb`` ``ods`` ``xls`` ``et`` (others: None).
        local_tz: the zone of times written without one (ODS).

    Returns:
        An aware datetime, between 1990 and 2100, or None.
    """
    try:
        if fmt in ("xlsx", "xlsm", "xlsb"):
            return _plausible(_ooxml(data, local_tz))
        if fmt == "ods":
            return _plausible(_ods(data, local_tz))
        if fmt in ("xls", "et"):
            return _plausible(_ole_summary(data))
    except Exception:  # noqa: BLE001 - a damaged descriptor is no evidence, never an error
        return None
    return None


def _plausible(when: datetime.datetime | None) -> datetime.datetime | None:
    return when if when is not None and 1990 <= when.year <= 2100 else None


def _member(data: bytes, wanted: str) -> bytes | None:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            if info.filename.replace("\\", "/").lstrip("/").lower() == wanted:
                if info.file_size > _MAX_PART or info.flag_bits & 0x1:
                    return None
                with zf.open(info) as f:
                    return f.read(_MAX_PART)
    return None


def _ooxml(data: bytes, local_tz) -> datetime.datetime | None:
    core = _member(data, "docprops/core.xml")
    match = _MODIFIED.search(core or b"")
    return _parse_w3cdtf(match.group(1).decode("ascii", "replace"), datetime.timezone.utc) if match else None


def _ods(data: bytes, local_tz) -> datetime.datetime | None:
    meta = _member(data, "meta.xml")
    match = _DC_DATE.search(meta or b"")
    return _parse_w3cdtf(match.group(1).decode("ascii", "replace"), local_tz) if match else None


def _parse_w3cdtf(text: str, naive_tz) -> datetime.datetime | None:
    """``2019-09-12T02:30:00Z``, ``…T10:30:00.123456789``, ``…+08:00``; no zone: ``naive_tz``."""
    m = _W3CDTF.match(text.strip())
    if not m:
        return None
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    when = datetime.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                             int(second or 0), micro)
    if zone in (None, ""):
        return when.replace(tzinfo=naive_tz)
    if zone == "Z":
        return when.replace(tzinfo=datetime.timezone.utc)
    sign = 1 if zone[0] == "+" else -1
    digits = zone[1:].replace(":", "")
    offset = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return when.replace(tzinfo=datetime.timezone(sign * offset))


def _ole_summary(data: bytes) -> datetime.datetime | None:
    import olefile

    ole = olefile.OleFileIO(io.BytesIO(data))
    try:
        name = "\x05SummaryInformation"
        if ole.root is None or ole.root.size > len(data) or not ole.exists(name):
            return None
        size = ole.get_size(name)
        if size > min(_MAX_SUMMARY, len(data)):
            return None
        with ole.openstream(name) as f:
            stream = f.read(size)
    finally:
        ole.close()
    return _lastsave(stream)


def _lastsave(stream: bytes) -> datetime.datetime | None:
    """PIDSI_LASTSAVE_DTM from a SummaryInformation property set ([MS-OLEPS] 2.20, 2.21)."""
    if len(stream) < 48 or stream[:2] != b"\xfe\xff":
        return None
    (count,) = struct.unpack_from("<I", stream, 24)
    for i in range(min(count, 4)):
        entry = 28 + 20 * i
        if entry + 20 > len(stream):
            return None
        fmtid = stream[entry:entry + 16]
        (section,) = struct.unpack_from("<I", stream, entry + 16)
        if fmtid != _FMTID_SUMMARY or section + 8 > len(stream):
            continue
        _size, props = struct.unpack_from("<II", stream, section)
        for j in range(min(props, 1000)):
            at = section + 8 + 8 * j
            if at + 8 > len(stream):
                return None
            pid, offset = struct.unpack_from("<II", stream, at)
            value = section + offset
            if pid != _PIDSI_LASTSAVE_DTM or value + 12 > len(stream):
                continue
            vtype, ticks = struct.unpack_from("<IQ", stream, value)
            if vtype & 0xFFFF != _VT_FILETIME or ticks == 0:
                return None
            try:
                return _FILETIME_EPOCH + datetime.timedelta(microseconds=ticks // 10)
            except OverflowError:
                return None
    return None
