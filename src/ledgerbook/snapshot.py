"""The comparable snapshot of a summary: written into a very hidden sheet, read back for ``--since``.

Every summary carries a comparable snapshot of itself in a very hidden sheet
(:data:`SNAPSHOT_SHEET`): a signature, the format version, the run's facts and three
tables written as plain strings — unit statuses, ledger rows and findings. Comparing
reads only that sheet, never the visible ones, so a department may sort, filter or even
edit the visible sheets of the earlier summary without spoiling the comparison.

Layout of the snapshot sheet, format 2 (column A first)::

    ledgerbook-summary                  <- signature (A1)
    2                                   <- format version (A2)
    as_of          | 2019-10-26         <- facts, one key/value per row
    generated_at   | 2019-10-26T09:30:00
    ...
    #table         | status | 25        <- a table: name and record count
    unit | status | errors               <- its header (stable keys, not display labels)
    ["单位一","已通过","0"]\n[…]…          <- records: one JSON array per line, as many lines
    ...                                    as fit in one cell, a cell per row
    #values | 单位 | …                   <- a record too long for a cell: one cell per value
    #table         | rows   | 310
    ...

The snapshot is read back only by ``--since``, so it is stored for writing speed: a
20,000-row ledger takes a few hundred cells, not 20,000 (format 1, one JSON cell per
record, is still read). Values are compared exactly as written there: control characters
Excel rejects are removed and a text longer than an Excel cell holds is kept as its head
plus a SHA-256 digest (:func:`snapshot_text`), so the current collection is put through
the same function before it is compared.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pandas as pd

from .errors import SummaryError
from .excel import EXCEL_CELL_LIMIT, is_blank, is_missing, strip_excel_rejects

if TYPE_CHECKING:  # collect imports the readers; the writers only need the dataclass shape
    from .collect import Collection

__all__ = ["FORMAT_VERSION", "SIGNATURE", "SNAPSHOT_SHEET", "PreviousSummary", "read_previous", "snapshot",
           "snapshot_lines", "snapshot_text"]

SIGNATURE = "ledgerbook-summary"
FORMAT_VERSION = 2
SNAPSHOT_SHEET = "_ledgerbook_summary"
TABLE_MARK = "#table"
VALUES_MARK = "#values"  # a record written one cell per value (format 2)

# Snapshot tables: stable keys (the sheet's own header) -> where the value comes from.
STATUS_KEYS = ("unit", "status", "errors")
# Row fields by form column key; "problem_no" is the menu number (blank when not in the menu).
ROW_KEYS = ("unit", "target", "problem_no", "problem", "branch_secretary", "member", "detail",
            "measure", "owner", "deadline", "progress", "remarks")
FINDING_KEYS = ("level", "code", "unit", "sheet", "cell", "message", "value")
_FINDING_COLUMN = {"level": "级别", "code": "代码", "unit": "单位", "sheet": "工作表", "cell": "单元格",
                   "message": "说明", "value": "原值"}


# --------------------------------------------------------------------------- data


@dataclass
class PreviousSummary:
    """The snapshot read back from an earlier summary.

    Attributes:
        path: the summary file.
        version: the snapshot format version.
        as_of: that run's as-of date (None when not given).
        generated_at: when that summary was written (None when unknown).
        title: the campaign title written then.
        inbox: the inbox collected then.
        status: unit, status, errors (strings).
        rows: the :data:`ROW_KEYS` columns (strings).
        findings: the :data:`FINDING_KEYS` columns (strings).
    """

    path: Path
    version: int
    as_of: dt.date | None
    generated_at: dt.datetime | None
    title: str
    inbox: str
    status: pd.DataFrame
    rows: pd.DataFrame
    findings: pd.DataFrame


# --------------------------------------------------------------------------- snapshot


def snapshot_text(value: object) -> str:
    """A value as the snapshot stores it: text Excel accepts, at most one cell long.

    None/NaN -> "", dates -> ISO text, whole floats -> integers ("3.0" -> "3"). A text
    longer than a cell (in UTF-16 units, as Excel counts) is kept as its head and the SHA-256
    of the whole, so a change anywhere in it is still seen.
    """
    if is_missing(value):
        return ""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = strip_excel_rejects(str(value))
    if len(text) > EXCEL_CELL_LIMIT // 2 and _utf16_len(text) > EXCEL_CELL_LIMIT:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        tail = f"…[{len(text)}字 sha256:{digest}]"
        text = _utf16_head(text, EXCEL_CELL_LIMIT - len(tail)) + tail
    return text


def _utf16_len(text: str) -> int:
    """Length as Excel counts it (UTF-16 units: a character past U+FFFF counts two)."""
    return len(text.encode("utf-16-le")) // 2


def _utf16_head(text: str, units: int) -> str:
    """The longest head of `text` at most `units` UTF-16 units long (no character cut in two)."""
    head = text[:units]
    while _utf16_len(head) > units:
        head = head[: len(head) - max(1, (_utf16_len(head) - units) // 2)]
    return head


def _raw_tables(collection: Collection) -> dict[str, tuple[tuple[str, ...], list[list]]]:
    """Each snapshot table as its keys and one list of raw values per key (not yet text).

    Kept raw so the writer can turn one row at a time into text: a 100,000-row ledger never
    exists twice in memory as strings.
    """
    s, rows, f = collection.submissions, collection.rows, collection.findings
    label = {c.key: c.label for c in collection.campaign.form.columns}
    deadline = label["deadline"]
    typed = rows[deadline + "原文"].tolist() if deadline + "原文" in rows else [""] * len(rows)
    row_columns = {"unit": rows["单位"].tolist(), "problem_no": rows["问题序号"].tolist(),
                   # A deadline that is not a date is compared as typed: 长期坚持 -> 10月底 is a change too.
                   "deadline": [t if is_blank(d) else d for d, t in zip(rows[deadline].tolist(), typed)]}
    for key in ROW_KEYS:
        if key not in row_columns:
            row_columns[key] = rows[label[key]].tolist()
    return {
        "status": (STATUS_KEYS, [s["单位"].tolist(), s["状态"].tolist(), s["错误数"].tolist()]),
        "rows": (ROW_KEYS, [row_columns[k] for k in ROW_KEYS]),
        "findings": (FINDING_KEYS, [f[_FINDING_COLUMN[k]].tolist() for k in FINDING_KEYS]),
    }


def _text_columns(columns: list[list], start: int, stop: int) -> list[list[str]]:
    """Rows start..stop of each column as snapshot text, each distinct text converted once."""
    out = []
    for column in columns:
        seen: dict[str, str] = {}
        texts = []
        for value in column[start:stop]:
            if type(value) is str:
                text = seen.get(value)
                if text is None:
                    text = seen[value] = snapshot_text(value)
                texts.append(text)
            else:
                texts.append(snapshot_text(value))
        out.append(texts)
    return out


_CHUNK = 5000


def _text_records(columns: list[list]) -> Iterator[list[str]]:
    """The records of a table as lists of snapshot text, a chunk of rows at a time."""
    n = len(columns[0]) if columns else 0
    for start in range(0, n, _CHUNK):
        yield from map(list, zip(*_text_columns(columns, start, start + _CHUNK)))


def snapshot(collection: Collection, generated_at: dt.datetime | None = None) -> PreviousSummary:
    """The comparable snapshot of a collection (what the hidden sheet holds), as DataFrames of text."""
    tables = {name: pd.DataFrame(dict(zip(keys, _text_columns(columns, 0, len(columns[0])))),
                                 columns=list(keys), dtype=object)
              for name, (keys, columns) in _raw_tables(collection).items()}
    return PreviousSummary(
        path=Path(""), version=FORMAT_VERSION, as_of=collection.as_of,
        generated_at=generated_at, title=collection.campaign.full_title, inbox=str(collection.inbox),
        status=tables["status"], rows=tables["rows"], findings=tables["findings"],
    )


def snapshot_lines(collection: Collection, generated_at: dt.datetime | None = None) -> Iterator[list[str]]:
    """The hidden sheet's rows, top to bottom (strings only; made a chunk of records at a time).

    Records are packed as JSON lines, as many as fit in one cell: writing cells is most of
    a summary's time, and this sheet is read only by ``--since``.
    """
    yield [SIGNATURE]
    yield [str(FORMAT_VERSION)]
    yield ["as_of", snapshot_text(collection.as_of)]
    yield ["generated_at", snapshot_text(generated_at)]
    yield ["title", snapshot_text(collection.campaign.full_title)]
    yield ["inbox", snapshot_text(str(collection.inbox))]
    for name, (keys, columns) in _raw_tables(collection).items():
        yield [TABLE_MARK, name, str(len(columns[0]))]
        yield list(keys)
        lines: list[str] = []
        size = 0
        for texts in _text_records(columns):
            line = json.dumps(texts, ensure_ascii=False)
            length = _utf16_len(line) + 1  # and its line feed
            if size + length > EXCEL_CELL_LIMIT and lines:
                yield ["\n".join(lines)]
                lines, size = [], 0
            if length > EXCEL_CELL_LIMIT:  # too long for a cell even alone
                yield [VALUES_MARK, *texts]
                continue
            lines.append(line)
            size += length
        if lines:
            yield ["\n".join(lines)]


# --------------------------------------------------------------------------- reading


def _not_summary(path: Path, why: str = "") -> SummaryError:
    extra = f"（{why}）" if why else ""
    return SummaryError(f"“{path.name}”不是 ledgerbook 生成的汇总表{extra}，请指定上次 ledgerbook collect 写出的汇总表")


def _sheet_rows(path: Path) -> list[list[str]]:
    """The snapshot sheet's cells as strings (calamine: fast, reads very hidden sheets)."""
    from python_calamine import CalamineError, CalamineWorkbook

    if not zipfile.is_zipfile(path):
        raise _not_summary(path, "不是 .xlsx 工作簿")
    try:
        wb = CalamineWorkbook.from_path(str(path))
        if SNAPSHOT_SHEET not in wb.sheet_names:
            raise _not_summary(path, "缺少汇总标记")
        data = wb.get_sheet_by_name(SNAPSHOT_SHEET).to_python(skip_empty_area=False)
    except CalamineError as exc:
        raise _not_summary(path, f"无法读取：{exc}") from None
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise _not_summary(path, f"无法读取：{type(exc).__name__}") from None
    return [["" if v is None else str(v) for v in row] for row in data]


def _parse_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _parse_datetime(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _unpack_v1(row: list[str]) -> list[str]:
    """A record as format 1 wrote it: one JSON cell, or one cell per value."""
    if len([v for v in row if v != ""]) == 1 and row[0].startswith("["):
        try:
            values = json.loads(row[0])
            if isinstance(values, list):
                return ["" if v is None else str(v) for v in values]
        except ValueError:
            pass
    return row


def _records_v2(rows: list[list[str]], count: int, path: Path) -> tuple[list[list[str]], int]:
    """`count` records from the rows of format 2 (JSON-lines cells, #values rows); and the rows used."""
    records: list[list[str]] = []
    used = 0
    while len(records) < count and used < len(rows):
        row = rows[used]
        used += 1
        if row and row[0] == VALUES_MARK:
            records.append(row[1:])
            continue
        try:
            for line in (row[0] if row else "").split("\n"):
                values = json.loads(line.rstrip("\r"))  # an office suite may save CR LF
                if not isinstance(values, list):
                    raise ValueError
                records.append(["" if v is None else str(v) for v in values])
        except ValueError:
            raise _not_summary(path, "汇总标记已损坏") from None
    if len(records) != count:
        raise _not_summary(path, "汇总标记已损坏")
    return records, used


def _tables(lines: list[list[str]], start: int, path: Path, version: int) -> dict[str, pd.DataFrame]:
    tables: dict[str, pd.DataFrame] = {}
    i = start
    while i < len(lines):
        line = lines[i]
        if not line or line[0] != TABLE_MARK:
            i += 1
            continue
        try:
            name, count = line[1], int(line[2])
        except (IndexError, ValueError):
            raise _not_summary(path, "汇总标记已损坏") from None
        header = [h for h in lines[i + 1] if h] if i + 1 < len(lines) else []
        if version >= 2:
            records, used = _records_v2(lines[i + 2:], count, path)
        else:
            records, used = [_unpack_v1(row) for row in lines[i + 2: i + 2 + count]], count
            if len(records) != count:
                raise _not_summary(path, "汇总标记已损坏")
        body = [(record + [""] * len(header))[: len(header)] for record in records]
        tables[name] = pd.DataFrame(body, columns=header, dtype=object)
        i += 2 + used
    return tables


def read_previous(path: str | Path) -> PreviousSummary:
    """Read the snapshot of an earlier summary.

    Args:
        path: a summary written by :func:`ledgerbook.summary.write_summary`.

    Returns:
        The PreviousSummary to pass to :func:`compare`.

    Raises:
        SummaryError: (one Chinese line) the file is missing, not an xlsx workbook, or not a
            summary ledgerbook wrote (no signature sheet), or one from a newer ledgerbook.
    """
    path = Path(path)
    if not path.is_file():
        raise SummaryError(f"找不到上次的汇总表“{path}”")
    lines = _sheet_rows(path)
    if not lines or not lines[0] or lines[0][0] != SIGNATURE:
        raise _not_summary(path, "缺少汇总标记")
    try:
        version = int(float(lines[1][0]))
    except (IndexError, ValueError):
        raise _not_summary(path, "汇总标记已损坏") from None
    if version > FORMAT_VERSION:
        raise SummaryError(f"“{path.name}”由更新版本的 ledgerbook 生成（格式 {version}），请升级 ledgerbook 后再比较")
    facts = {row[0]: (row[1] if len(row) > 1 else "") for row in lines[2:] if row and row[0] != TABLE_MARK}
    tables = _tables(lines, 2, path, version)
    wanted = {"status": STATUS_KEYS, "rows": ROW_KEYS, "findings": FINDING_KEYS}
    for name, keys in wanted.items():
        table = tables.get(name)
        if table is None or not set(keys) <= set(table.columns):
            raise _not_summary(path, "汇总标记已损坏")
        tables[name] = table[list(keys)]
    return PreviousSummary(
        path=path, version=version, as_of=_parse_date(facts.get("as_of", "")),
        generated_at=_parse_datetime(facts.get("generated_at", "")), title=facts.get("title", ""),
        inbox=facts.get("inbox", ""), status=tables["status"], rows=tables["rows"], findings=tables["findings"],
    )
