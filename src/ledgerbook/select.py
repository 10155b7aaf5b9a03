"""Which file counts: each document pinned on a unit (what it says, else its sender or name),
byte-identical copies set aside, and one current submission per unit (received last).

"Received" is the best evidence a file carries (:attr:`Document.when`): the e-mail's date, else
the time the unit's program saved the workbook, else the file's modification time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from .campaign import Campaign
from .findings import Finding, make_finding
from .inbox import CONTAINER, IGNORED as IGNORED_KIND, LEDGER, UNREADABLE as UNREADABLE_KIND, Document
from .normalize import cell_text, strip_control_chars
from .reader import Ledger
from .rules import MARKER_KEYS
from .text import cn_datetime

__all__ = ["Selection", "identify", "select_current"]

# Outcomes in 文件清单 (处理结果).
TAKEN, SUPERSEDED, DUPLICATE, NOT_LEDGER, UNREADABLE, IGNORED, REPORT, OPENED = (
    "采用", "已被替代", "重复", "无法识别", "无法读取", "已忽略", "自评报告", "已展开")


@dataclass
class Selection:
    """The current submission of each unit, and what became of every other file.

    Attributes:
        current: unit -> (document, its ledger (None: unreadable, pinned on the unit by its
            name or sender), whether the unit is on the roster). ``""`` is the unit of a
            ledger that names none.
        first_received: unit -> when its first submission came.
        first_basis: unit -> the 时间依据 of that time (BY_EMAIL, BY_SAVED or BY_FILE).
        findings: file.unreadable, file.not_ledger, file.duplicate, file.superseded.
        outcome: path -> (unit, 处理结果, 说明) of every file set aside.
    """

    current: dict[str, tuple[Document, Ledger | None, bool]] = field(default_factory=dict)
    first_received: dict[str, dt.datetime | None] = field(default_factory=dict)
    first_basis: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    outcome: dict[str, tuple[str, str, str]] = field(default_factory=dict)


def hint_unit(doc: Document, campaign: Campaign) -> str | None:
    """A unit from the sender's address or the file name, when the file itself does not say."""
    if doc.sender:
        for u in campaign.units:
            if doc.sender.lower() in (a.lower() for a in u.addresses):
                return u.name
    return campaign.find_unit_in(Path(doc.path).name)


def identify(ledger: Ledger | None, doc: Document, campaign: Campaign) -> tuple[str, bool]:
    """(unit name, in roster) of a document; ('', False) when nothing says."""
    if ledger is not None and ledger.layout is not None:
        typed = strip_control_chars(cell_text(ledger.field_value("unit")))[0]
        if typed:
            matched = campaign.match_unit(typed)
            return (matched, True) if matched else (typed, False)
        marker_unit = ledger.marker.get(MARKER_KEYS["unit"], "")
        if marker_unit and campaign.unit(marker_unit):
            return marker_unit, True
    hint = hint_unit(doc, campaign)
    return (hint, True) if hint else ("", False)


def select_current(docs: list[Document], ledgers: dict[str, Ledger], campaign: Campaign) -> Selection:
    """Pin every document on a unit, set aside copies and files that are no ledger, and keep
    one current submission per unit (received last, ties broken by file name)."""
    chosen = Selection()
    findings, outcome = chosen.findings, chosen.outcome

    # Candidates: readable ledgers and unreadable spreadsheets we can pin on a unit.
    candidates: list[tuple[Document, Ledger | None, str, bool]] = []
    for doc in docs:
        if doc.kind == LEDGER:
            ledger = ledgers[doc.path]
            unit, known = identify(ledger, doc, campaign)
            candidates.append((doc, ledger, unit, known))
        elif doc.kind == UNREADABLE_KIND:
            # Pinned on a unit by its name or sender, unless it was never read at all (a row
            # standing for archive members skipped past a limit has no bytes and no hash).
            unit = (hint_unit(doc, campaign) or "") if doc.sha256 else ""
            if unit:
                candidates.append((doc, None, unit, True))
            else:
                findings.append(make_finding("file.unreadable", file=doc.path, reason=doc.note))
                outcome[doc.path] = ("", UNREADABLE, doc.note)
        elif doc.kind == CONTAINER:
            outcome[doc.path] = ("", OPENED, doc.note)
        elif doc.kind == IGNORED_KIND:
            outcome[doc.path] = ("", IGNORED, doc.note)

    # Byte-identical copies: the earliest received is kept, the others are duplicates.
    first_by_hash: dict[str, Document] = {}
    kept = []
    for doc, ledger, unit, known in sorted(candidates, key=lambda c: (_when(c[0]), c[0].path)):
        original = first_by_hash.get(doc.sha256) if doc.sha256 else None
        if original is not None:
            findings.append(make_finding("file.duplicate", unit=unit, file=doc.path, original=original.path))
            outcome[doc.path] = (unit, DUPLICATE, f"与“{original.path}”内容完全相同")
            continue
        if doc.sha256:
            first_by_hash[doc.sha256] = doc
        kept.append((doc, ledger, unit, known))

    # Files that are not ledgers and say nothing about their unit.
    groups: dict[str, list] = {}
    for doc, ledger, unit, known in kept:
        if ledger is not None and ledger.layout is None and not unit:
            findings.extend(ledger.findings)
            outcome[doc.path] = ("", *not_taken(ledger))
            continue
        groups.setdefault(unit, []).append((doc, ledger, unit, known))

    # One current submission per unit: received last, ties broken by file name.
    for unit, items in groups.items():
        items.sort(key=lambda c: (_when(c[0]), c[0].path))
        doc, ledger, _, known = items[-1]
        chosen.current[unit] = (doc, ledger, known)
        chosen.first_received[unit], chosen.first_basis[unit] = items[0][0].when
        for old, _, _, _ in items[:-1]:
            findings.append(make_finding("file.superseded", unit=unit, file=old.path, newer=doc.path,
                                         newer_received=cn_datetime(doc.when[0])))
            outcome[old.path] = (unit, SUPERSEDED, f"已被“{doc.path}”替代")
    return chosen


def not_taken(ledger: Ledger) -> tuple[str, str]:
    """(处理结果, 说明) of a ledger in which no table was found."""
    code = ledger.findings[0].code if ledger.findings else "file.not_ledger"
    result = UNREADABLE if code == "file.unreadable" else NOT_LEDGER
    return result, ledger.findings[0].message if ledger.findings else ""


def taken_note(ledger: Ledger) -> str:
    """The 说明 of a current submission: its rows, macros, a format other than .xlsx."""
    parts = [f"{ledger.n_rows} 行"]
    if ledger.macros:
        parts.append("含宏（未运行）")
    if ledger.format in ("xls", "et", "ods", "html", "csv"):
        parts.append(f"{ledger.format} 格式")
    return "，".join(parts)


def _when(doc: Document) -> tuple[dt.datetime, dt.datetime]:
    """Sort key: the best evidence first; between equals (byte-identical copies carry the same
    saved time) the one that reached the inbox first."""
    return doc.when[0] or dt.datetime.min, doc.received or dt.datetime.min
