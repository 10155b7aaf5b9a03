"""Finding the ledger in a workbook as a person would: the sheet, the header, the unit block, the rows.

Every value keeps the 0-based (row, col) of the cell it came from, so findings and feedback
copies point at the right cell of the original sheet. A file that cannot be read with
certainty gives a finding, never a guess and never an exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import reraise_interrupts
from ..findings import ERROR, Finding, make_finding
from ..form import Form, Layout
from ..text import normalize_label
from .caps import MAX_COLS, MAX_ROWS, Unreadable
from .open import Grid, Workbook, open_workbook


@dataclass
class Ledger:
    """A returned ledger as read.

    Attributes:
        file: the document's path inside the inbox.
        sheet: the sheet the table was found on ('' when none).
        layout: where the header, rows, columns and unit-block values are (None if not found).
        fields: unit-block key -> (raw value, (row, col) of the value or of where it belongs).
        row_numbers: the 0-based sheet row of each filled table row, in sheet order.
        columns: column key -> the raw values of those rows (kept by column: a big inbox holds
            100,000 rows, and one dict per row costs more than the values themselves).
        rows: the same as (row index, {column key: raw value}) pairs, made on demand.
        marker: the hidden marker sheet's key/values (表单版本, 活动, 单位), empty when absent.
        protected: whether the ledger sheet is still protected (None where the format cannot tell).
        findings: file-level findings (unreadable, not a ledger, layout changed, truncated).
        macros: the workbook carries a VBA project (never run; noted).
    """

    file: str
    sheet: str = ""
    layout: Layout | None = None
    fields: dict[str, tuple[object, tuple[int, int]]] = field(default_factory=dict)
    row_numbers: list[int] = field(default_factory=list)
    columns: dict[str, list] = field(default_factory=dict)
    marker: dict[str, str] = field(default_factory=dict)
    protected: bool | None = None
    findings: list[Finding] = field(default_factory=list)
    macros: bool = False
    format: str = ""

    @property
    def rows(self) -> list[tuple[int, dict[str, object]]]:
        keys = list(self.columns)
        return [(r, {k: self.columns[k][i] for k in keys}) for i, r in enumerate(self.row_numbers)]

    @property
    def n_rows(self) -> int:
        return len(self.row_numbers)

    @property
    def readable(self) -> bool:
        """True when a table was found and every required column mapped."""
        return self.layout is not None and not any(f.level == ERROR for f in self.findings)

    def field_value(self, key: str):
        return self.fields.get(key, ("", None))[0]

    def field_at(self, key: str) -> tuple[int, int] | None:
        """(row, col) of a unit-block field's value, or of where it belongs; None when absent."""
        return self.fields.get(key, (None, None))[1]


# --------------------------------------------------------------------------- opening

def read_ledger(data: bytes, file: str, fmt: str, form: Form) -> Ledger:
    """Read one returned ledger from its bytes.

    Args:
        data: the file's bytes.
        file: its path inside the inbox (for findings).
        fmt: the sniffed format ('xlsx', 'xlsm', 'xls', 'ods', 'html', 'csv').
        form: the form definition.

    Returns:
        A Ledger; problems are in `ledger.findings`, never raised.
    """
    ledger = Ledger(file=file, format=fmt, macros=(fmt == "xlsm"))
    try:
        book = open_workbook(data, fmt, form)
    except Unreadable as exc:
        ledger.findings.append(make_finding("file.unreadable", file=file, reason=str(exc)))
        return ledger
    except BaseException as exc:  # a reader bug or a file no reader expected: that file's finding
        reraise_interrupts(exc)
        ledger.findings.append(make_finding(
            "file.unreadable", file=file, reason=f"文件已损坏或格式异常（{type(exc).__name__}）"))
        return ledger
    ledger.marker = book.marker
    try:
        _find_ledger(book, ledger, form)
    except Unreadable as exc:
        ledger.findings.append(make_finding("file.unreadable", file=file, reason=str(exc)))
    except BaseException as exc:
        reraise_interrupts(exc)
        ledger.findings.append(make_finding(
            "file.unreadable", file=file, reason=f"读取表格内容时出错（{type(exc).__name__}）"))
    return ledger


# --------------------------------------------------------------------------- finding the table

@dataclass(frozen=True)
class _Labels:
    """The form's labels prepared for matching (normalised label/alias -> key)."""

    columns_exact: dict[str, str]
    columns_official: dict[str, str]
    columns_prefix: list[tuple[str, str]]
    fields_exact: dict[str, str]
    end_markers: tuple[str, ...]
    end_pattern: re.Pattern
    longest: int
    n_columns: int
    # Header texts already matched by prefix -> (column key, official): headers repeat across files.
    matches: dict[str, tuple[str | None, bool]] = field(default_factory=dict, compare=False)


# Form holds a dict and so is unhashable: entries are keyed on id() and keep the form, so an
# id cannot be reused by another form while its entry lives (as normalize's vocabularies).
_LABELS_CACHE: dict[int, tuple[Form, _Labels]] = {}


def _labels(form: Form) -> _Labels:
    entry = _LABELS_CACHE.get(id(form))
    if entry is not None and entry[0] is form:
        return entry[1]
    exact, official, prefix = {}, {}, []
    for col in form.columns:
        key = normalize_label(col.label)
        official[key] = col.key
        exact.setdefault(key, col.key)
        prefix.append((key, col.key))
        for alias in col.aliases:
            a = normalize_label(alias)
            exact.setdefault(a, col.key)
            prefix.append((a, col.key))
    prefix.sort(key=lambda kv: -len(kv[0]))
    fields = {}
    for fld in form.fields:
        fields.setdefault(normalize_label(fld.label), fld.key)
        for alias in fld.aliases:
            fields.setdefault(normalize_label(alias), fld.key)
    markers = tuple(normalize_label(m) for m in form.table_end_markers)
    end_pattern = re.compile("|".join(re.escape(m.rstrip("：:")) for m in form.table_end_markers))
    labels = _Labels(exact, official, prefix, fields, markers, end_pattern,
                     max(len(k) for k in exact), len(form.columns))
    if len(_LABELS_CACHE) >= 32:  # campaigns override the menu: a handful of forms per process
        _LABELS_CACHE.clear()
    _LABELS_CACHE[id(form)] = (form, labels)
    return labels


def _match_column(text: str, labels: _Labels) -> tuple[str | None, bool]:
    """(column key, is the official label) for a header cell's normalised text."""
    if not text:
        return None, False
    if text in labels.columns_official:
        return labels.columns_official[text], True
    if text in labels.columns_exact:
        return labels.columns_exact[text], False
    hit = labels.matches.get(text)
    if hit is not None:
        return hit
    result = (None, False)
    for label, key in labels.columns_prefix:
        # An explanatory suffix: 整顿措施及要求, 完成时限年月日.
        if len(label) >= 2 and text.startswith(label) and len(text) <= len(label) + 8:
            result = (key, False)
            break
    if len(labels.matches) < 10_000:
        labels.matches[text] = result
    return result


def _header_candidates(grid: Grid, form: Form, labels: _Labels):
    """(matches, row index, {col: (key, official)}) for the row that looks most like the header."""
    best = None
    longest = labels.longest
    for r in range(min(form.header_scan_rows, len(grid.rows))):
        mapping = {}
        used = set()
        for c, value in enumerate(grid.rows[r]):
            # Header cells are short text: numbers, dates and long sentences are data.
            if not isinstance(value, str) or not value or len(value) > longest + 24:
                continue
            key, official = _match_column(normalize_label(value), labels)
            if key and key not in used:
                mapping[c] = (key, official)
                used.add(key)
        score = len(mapping)
        if score >= 4 and (best is None or score > best[0]):
            best = (score, r, mapping)
            if score == labels.n_columns:
                break
    return best


def _sheet_order(book: Workbook, form: Form) -> list[str]:
    """The sheet named like the form's first (整顿台账, 整顿台账(2), ' 整顿台账 '), then the others."""
    target = normalize_label(form.sheet)
    skip = {normalize_label(form.instructions_sheet)}
    named = [s for s in book.sheets if normalize_label(s) == target]
    others = [s for s in book.sheets if s not in named and normalize_label(s) not in skip]
    return named + others


def _find_ledger(book: Workbook, ledger: Ledger, form: Form) -> None:
    labels = _labels(form)
    found = None
    for name in _sheet_order(book, form):
        grid = book.load(name)
        cand = _header_candidates(grid, form, labels)
        if cand:
            found = (grid, cand)
            break
    if not found:
        target = normalize_label(form.sheet)
        has_sheet = any(normalize_label(s) == target for s in book.sheets)
        reason = ("“整顿台账”工作表中找不到表头（整顿对象、重点问题、整顿措施等列）" if has_sheet
                  else "没有“整顿台账”工作表，其他工作表中也找不到台账表头")
        ledger.findings.append(make_finding("file.not_ledger", file=ledger.file, reason=reason))
        return
    grid, (_, header_row, mapping) = found
    ledger.sheet = grid.name
    ledger.protected = book.protection(grid.name)
    columns = {key: c for c, (key, _) in mapping.items()}
    _check_layout(ledger, form, grid, header_row, mapping)
    fields = _read_unit_block(grid, header_row, labels)
    ledger.fields = fields
    rows, last = _read_rows(grid, header_row, columns, form, labels)
    ledger.row_numbers = [r for r, _ in rows]
    ledger.columns = {key: [values[key] for _, values in rows] for key in columns}
    _share_repeats(ledger)
    ledger.layout = Layout(
        header_row=header_row, first_row=header_row + 1, last_row=max(last, header_row + 1),
        columns=columns, fields={k: pos for k, (_, pos) in fields.items()},
    )
    if grid.truncated:
        ledger.findings.append(make_finding(
            "file.layout_changed", file=ledger.file, sheet=grid.name,
            reason=f"工作表超出正常范围，只读取了前{MAX_ROWS}行、前{MAX_COLS}列"))


# Columns whose values repeat down a table (a target spans its problems, the 8 problem texts):
# one string object per distinct value instead of one per cell.
_REPEATING = ("target", "branch_secretary", "member", "problem", "owner", "deadline", "progress")


def _share_repeats(ledger: Ledger) -> None:
    for key in _REPEATING:
        values = ledger.columns.get(key)
        if values:
            seen: dict = {}
            ledger.columns[key] = [seen.setdefault(v, v) if isinstance(v, str) else v for v in values]


def _check_layout(ledger: Ledger, form: Form, grid: Grid, header_row: int, mapping) -> None:
    reasons = []
    found_keys = [key for _, (key, _) in sorted(mapping.items())]
    missing_required = [c.label for c in form.columns if c.required and c.key not in found_keys]
    missing_optional = [c.label for c in form.columns if not c.required and c.key not in found_keys]
    renamed = [f"“{_text(grid.value(header_row, c))}”" for c, (key, official) in sorted(mapping.items()) if not official]
    if missing_required:
        reasons.append("缺少必填列：" + "、".join(missing_required))
    if missing_optional:
        reasons.append("缺少列：" + "、".join(missing_optional))
    if renamed:
        reasons.append("列名被改动：" + "、".join(renamed))
    order = [c.key for c in form.columns if c.key in found_keys]
    if found_keys != order:
        reasons.append("列的顺序被调换")
    mapped_cols = set(mapping)
    last_mapped = max(mapped_cols)
    extra = [c for c, v in enumerate(grid.rows[header_row][: last_mapped + 1])
             if c not in mapped_cols and _text(v)]
    if extra:
        reasons.append("插入了其他列：" + "、".join(f"“{_text(grid.value(header_row, c))}”" for c in extra))
    if reasons:
        ledger.findings.append(make_finding(
            "file.layout_broken" if missing_required else "file.layout_changed", file=ledger.file, sheet=grid.name,
            at=(header_row, min(mapped_cols)), reason="；".join(reasons)))


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_unit_block(grid: Grid, header_row: int, labels: _Labels) -> dict:
    """Unit-block fields above the header: label cell, value = next non-empty non-label cell right."""
    merge_end = {}
    for (r1, c1), (r2, c2) in grid.merges:
        merge_end[(r1, c1)] = c2
    fields: dict[str, tuple[object, tuple[int, int]]] = {}
    for r in range(min(header_row, len(grid.rows))):
        row = grid.rows[r]
        c = 0
        while c < len(row):
            text = _text(row[c])
            key = labels.fields_exact.get(normalize_label(text)) if text else None
            inline = None
            if key is None and text and re.match(r"^[^:：]{2,12}[:：]", text):
                head, _, rest = re.split(r"([:：])", text, maxsplit=1)
                key = labels.fields_exact.get(normalize_label(head))
                inline = rest.strip() if key else None
            if key is None or key in fields:
                c += 1
                continue
            if inline:
                fields[key] = (inline, (r, c))
                c += 1
                continue
            after = merge_end.get((r, c), c) + 1
            value, pos = "", (r, after)
            for cc in range(after, len(row)):
                v = row[cc]
                t = _text(v)
                if not t:
                    continue
                if labels.fields_exact.get(normalize_label(t)):
                    break
                value, pos = v, (r, cc)
                break
            fields[key] = (value, pos)
            c += 1
    return fields


def _read_rows(grid: Grid, header_row: int, columns: dict[str, int], form: Form, labels: _Labels):
    """Filled table rows below the header; merged fill-down cells fill the rows they span."""
    fill_cols = {columns[c.key] for c in form.columns if c.fill_down and c.key in columns}
    fill = {}
    for (r1, c1), (r2, c2) in grid.merges:
        if r2 > r1 and r1 > header_row and c1 in fill_cols:
            top = grid.value(r1, c1)
            for r in range(r1 + 1, r2 + 1):
                fill[(r, c1)] = top
    content_keys = [c.key for c in form.columns if c.key in columns and c.kind != "seq" and not c.fill_down]
    content_cols = [columns[k] for k in content_keys]
    target_col = columns.get("target")
    items = list(columns.items())
    rows = []
    last = header_row + 1
    for r in range(header_row + 1, len(grid.rows)):
        row = grid.rows[r]
        n = len(row)
        # Quick skip of the template's empty prepared rows (序号 only).
        if not any(c < n and row[c] not in ("", None) for c in content_cols) and not (
                target_col is not None and target_col < n and row[target_col] not in ("", None)):
            if _is_end_line(row, labels):
                break
            continue
        if _is_end_line(row, labels):
            break
        values = {}
        for key, c in items:
            v = row[c] if c < n else ""
            if (v is None or v == "") and (r, c) in fill:
                v = fill[(r, c)]
            values[key] = v
        if not any(_text(values[k]) for k in content_keys) and not (
                target_col is not None and target_col < n and _text(row[target_col])):
            continue
        rows.append((r, values))
        last = r
    return rows, last


def _is_end_line(row: list, labels: _Labels) -> bool:
    """A signature or date line under the table (填表人：…, 审核人：…)."""
    for v in row[:4]:
        if isinstance(v, str) and v and labels.end_pattern.search(v):
            t = normalize_label(v)
            if any(t.startswith(m) for m in labels.end_markers):
                return True
    return False
