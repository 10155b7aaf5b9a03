"""The rules of spec §4 applied to read ledgers: unit-block checks per file, row checks over pandas.

Row checks run over one DataFrame holding every row of every current submission: each value
kind is parsed once per distinct value (people copy the same dates and categories down a
column) and each rule is a boolean mask. Findings are then built only for the flagged rows.
Each rule is one small function, found by the kind of the column it checks (as the
validations of :mod:`ledgerbook.rules` are), so a form with another column of a kind is
checked without code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from .campaign import Campaign
from .excel import EXCEL_REJECTS, cell_a1
from .findings import Finding, Places, Position, make_finding
from .form import Column, Form
from .normalize import (
    cell_text, measure_key, parse_category, parse_date, parse_persons,
    parse_phone, parse_progress, parse_qq, strip_control_chars,
)
from .reader import Ledger
from .rules import MARKER_KEYS
from .text import cn_date, normalize_label

# A measure shorter than this (in meaningful characters) is not compared for copying: "加强学习"
# is thin, and repeated short phrases are already reported as thin.
_REPEAT_MIN_CHARS = 6


def _mapped(series: pd.Series, func) -> pd.Series:
    """Apply func once per distinct value (fast when values repeat down a column)."""
    uniques = series.drop_duplicates()
    table = {v: func(v) for v in uniques}
    return series.map(table)


# --------------------------------------------------------------------------- unit block

def check_unit_block(ledger: Ledger, unit: str, known: bool, campaign: Campaign) -> list[Finding]:
    """Findings on the unit block (填报单位, 第一责任人, 联络员, 联系电话, QQ号码) and on the file."""
    form = campaign.form
    out: list[Finding] = []
    common = dict(unit=unit, file=ledger.file, sheet=ledger.sheet)
    for fld in form.fields:
        raw = _without_controls(ledger.field_value(fld.key))
        text = cell_text(raw)
        at = ledger.field_at(fld.key)
        if not text:
            if fld.required:
                out.append(make_finding("unit.field_missing", at=at, where="单位信息栏", label=fld.label, **common))
            continue
        if fld.kind == "unit" and not known:
            out.append(make_finding("unit.unknown", at=at, value=text,
                                    suggestion=_suggestion(text, campaign), **common))
        elif fld.kind == "person" and not parse_persons(raw, form):
            out.append(make_finding("row.person_invalid", at=at, value=text, label=fld.label, **common))
        elif fld.kind == "phone" and parse_phone(raw) is None:
            out.append(make_finding("unit.phone_invalid", at=at, value=text, **common))
        elif fld.kind == "qq" and parse_qq(raw) is None:
            out.append(make_finding("unit.qq_invalid", at=at, value=text, **common))

    roster_unit = campaign.unit(unit) if known else None
    secretary_raw = _without_controls(ledger.field_value("secretary"))
    if roster_unit and roster_unit.secretary and cell_text(secretary_raw):
        names = parse_persons(secretary_raw, form)
        if names and roster_unit.secretary not in names:
            out.append(make_finding("unit.secretary_mismatch", at=ledger.field_at("secretary"),
                                    value=cell_text(secretary_raw), expected=roster_unit.secretary, **common))

    marker_unit = ledger.marker.get(MARKER_KEYS["unit"], "")
    unit_cell_text = cell_text(_without_controls(ledger.field_value("unit")))
    if marker_unit and unit_cell_text:
        typed = campaign.match_unit(unit_cell_text) or unit_cell_text
        if typed != marker_unit:
            out.append(make_finding("file.unit_mismatch", at=ledger.field_at("unit"), value=unit_cell_text,
                                    marker_unit=marker_unit, unit_cell=unit_cell_text, **common))
    if ledger.protected is False and ledger.marker:
        out.append(make_finding("file.unprotected", **common))
    if not ledger.n_rows:
        at = (ledger.layout.first_row, ledger.layout.columns.get("target", 1)) if ledger.layout else None
        out.append(make_finding("unit.no_target", at=at, **common))
    for fld in form.fields:
        text = cell_text(ledger.field_value(fld.key))
        if EXCEL_REJECTS.search(text):
            out.append(make_finding("value.control_chars", at=ledger.field_at(fld.key),
                                    value=strip_control_chars(text)[0], **common))
    return out


def _without_controls(value):
    """Text without the control characters Excel rejects (reported as value.control_chars)."""
    return strip_control_chars(value)[0] if isinstance(value, str) else value


def _suggestion(text: str, campaign: Campaign) -> str:
    """'（最接近的是“…”）' from difflib: the roster is ~25 short names, so the stdlib's ratio is
    plenty and needs no extra dependency."""
    import difflib

    keys = {normalize_label(n): n for n in campaign.unit_names}
    match = difflib.get_close_matches(normalize_label(text), list(keys), n=1, cutoff=0.4)
    return f"（最接近的是“{keys[match[0]]}”）" if match else ""


# --------------------------------------------------------------------------- rows

class _Columns(dict):
    """file -> {column key -> 0-based column}. pandas deep-copies `attrs` on every operation;
    this table is read-only, so every copy is the table itself."""

    def __deepcopy__(self, memo):
        return self


def rows_frame(items: list[tuple[str, Ledger]], form: Form) -> pd.DataFrame:
    """One row per table row of the given (unit, ledger) pairs: raw values and where they are.

    Positions are not stored per value (a million small tuples on a big inbox): the columns
    of each file's layout are kept in ``frame.attrs["columns"]``, and :func:`positions` and
    :func:`cells` make those of the rows that need one.
    """
    keys = [c.key for c in form.columns]
    data: dict[str, list] = {name: [] for name in ("unit", "file", "sheet", "row", *keys)}
    columns = _Columns()
    for unit, ledger in items:
        columns[ledger.file] = dict(ledger.layout.columns) if ledger.layout else {}
        n = ledger.n_rows
        data["unit"] += [unit] * n
        data["file"] += [ledger.file] * n
        data["sheet"] += [ledger.sheet] * n
        data["row"] += ledger.row_numbers
        for k in keys:
            data[k] += ledger.columns.get(k) or [""] * n
    frame = pd.DataFrame(data, dtype=object).astype({"row": int})
    frame.attrs["columns"] = columns
    return frame


def positions(frame: pd.DataFrame, key: str) -> list[Position | None]:
    """(row, col) of column `key` for the frame's rows (None where the file lacks the column)."""
    columns = frame.attrs.get("columns", {})
    return [(r, columns[f][key]) if key in columns.get(f, {}) else None for f, r in zip(frame["file"], frame["row"])]


def cells(frame: pd.DataFrame, key: str) -> pd.Series:
    """A1 references of column `key` for the frame's rows ('' where the file lacks the column),
    for writing (汇总台账's 来源单元格)."""
    return pd.Series([cell_a1(*p) if p is not None else "" for p in positions(frame, key)],
                     index=frame.index, dtype=object)


@dataclass
class _RowCheck:
    """What every row rule works on: the frame (parsed columns are added to it), the campaign,
    the as-of date, which cells are blank, and the findings so far."""

    df: pd.DataFrame
    campaign: Campaign
    as_of: dt.date | None
    blank: dict[str, pd.Series] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def form(self) -> Form:
        return self.campaign.form

    def emit(self, mask: pd.Series, code: str, key: str, **params) -> None:
        """One finding per flagged row, on its cell of column `key`."""
        if not mask.any():
            return
        part = self.df.loc[mask, ["unit", "file", "sheet", "row", f"{key}_text"]]
        for rec, at in zip(part.itertuples(index=False, name=None), positions(part, key)):
            self.findings.append(make_finding(code, unit=rec[0], file=rec[1], sheet=rec[2], at=at,
                                              value=rec[4], **params))

    def window(self) -> dict[str, str]:
        return dict(start=cn_date(self.campaign.start), end=cn_date(self.campaign.rectification_due))


def _control_chars(check: _RowCheck, col: Column) -> None:
    """Characters Excel refuses: reported, then stripped from what is written and judged (a
    stray \x01 is not a wrong date or name)."""
    df, key = check.df, col.key
    text = df[f"{key}_text"]
    bad = text.str.contains(EXCEL_REJECTS, regex=True, na=False)
    if bad.any():
        check.emit(bad, "value.control_chars", key)
        df.loc[bad, f"{key}_text"] = text[bad].map(lambda t: strip_control_chars(t)[0])
        df.loc[bad, key] = df.loc[bad, f"{key}_text"]


def _required(check: _RowCheck, col: Column) -> None:
    if col.required:
        check.emit(check.blank[col.key], "row.required_missing", col.key, label=col.label)


def _category(check: _RowCheck, col: Column) -> None:
    """重点问题: one of the menu (``problem_no``: its 1-based number)."""
    df, form = check.df, check.form
    df["problem_no"] = _mapped(df[col.key], lambda v: parse_category(v, form)).astype("Int64")
    check.emit(~check.blank[col.key] & df["problem_no"].isna(), "row.category_invalid", col.key)


def _person(check: _RowCheck, col: Column) -> None:
    """At least one named person (not a role or a collective)."""
    names = _mapped(check.df[col.key], lambda v: parse_persons(v, check.form))
    check.emit(~check.blank[col.key] & (names.map(len) == 0), "row.person_invalid", col.key, label=col.label)


def _deadline(check: _RowCheck, col: Column) -> None:
    """完成时限: a date inside the campaign window (``deadline_status``, ``deadline_date``)."""
    df, campaign, key = check.df, check.campaign, col.key
    results = _mapped(df[key], lambda v: parse_date(v, campaign.year, check.form))
    df["deadline_status"] = results.map(lambda r: r.status)
    df["deadline_date"] = results.map(lambda r: r.date)
    window = check.window()
    check.emit(df["deadline_status"] == "invalid", "row.deadline_invalid", key,
               example=campaign.rectification_due.isoformat())
    check.emit(df["deadline_status"] == "vague", "row.deadline_vague", key, **window)
    dates = pd.to_datetime(df["deadline_date"], errors="coerce")
    ok = df["deadline_status"] == "ok"
    check.emit(ok & (dates > pd.Timestamp(campaign.rectification_due)), "row.deadline_out_of_window", key,
               relation=f"晚于集中整顿截止日期{window['end']}", **window)
    check.emit(ok & (dates < pd.Timestamp(campaign.start)), "row.deadline_out_of_window", key,
               relation=f"早于本次整治开始日期{window['start']}", **window)


def _progress(check: _RowCheck, col: Column) -> None:
    """整顿进展: one of its values when given (``progress_value``)."""
    df, form = check.df, check.form
    df["progress_value"] = _mapped(df[col.key], lambda v: parse_progress(v, form))
    check.emit(~check.blank[col.key] & df["progress_value"].isna(), "row.progress_invalid", col.key,
               choices="、".join(form.progress_values))


def _measure(check: _RowCheck, col: Column) -> None:
    """整顿措施: substantial, and not the same text copied across problems. The comparison key
    keeps only letters, digits and Han characters: its length is the measure's meaningful length."""
    df, key = check.df, col.key
    mkey = _mapped(df[f"{key}_text"], measure_key)
    lengths = mkey.str.len()
    filled = ~check.blank[key]
    check.emit(filled & (lengths < check.form.measure_min_chars), "row.measure_thin", key)
    # Only the rows whose (unit, measure) occurs more than once are grouped: iterating a
    # groupby over every distinct measure costs seconds on 100,000 rows.
    keyed = df[["unit", "file", "sheet", "row", f"{key}_text"]].assign(_mkey=mkey)
    repeated = filled & (lengths >= _REPEAT_MIN_CHARS) & keyed.duplicated(["unit", "_mkey"], keep=False)
    rep = keyed.loc[repeated]
    rep = rep.assign(_at=positions(rep, key))
    grouped = rep.groupby(["unit", "_mkey"], sort=False)["_at"].agg(list)
    places_of = dict(zip(grouped.index, grouped.to_numpy()))
    for unit, file, sheet, _, text, mk, at in rep.itertuples(index=False, name=None):
        others = Places(p for p in places_of[(unit, mk)] if p != at)
        check.findings.append(make_finding("row.measure_repeated", unit=unit, file=file, sheet=sheet,
                                           at=at, value=text, others=others))


def _overdue(check: _RowCheck) -> None:
    """Past its deadline and not done: only with an explicit as-of date (nothing here reads
    today's clock). Needs the deadline and progress rules' columns."""
    df, form, as_of = check.df, check.form, check.as_of
    if as_of is None or "deadline_date" not in df or "progress_value" not in df:
        df["overdue"] = False
        return
    dates = pd.to_datetime(df["deadline_date"], errors="coerce")
    done = df["progress_value"] == form.progress_values[-1]
    overdue = (df["deadline_status"] == "ok") & (dates < pd.Timestamp(as_of)) & ~done
    df["overdue"] = overdue
    key = next(c.key for c in form.columns if c.kind == "date")
    late_rows = df.loc[overdue]
    for rec, at in zip(late_rows.itertuples(index=False), positions(late_rows, key)):
        check.findings.append(make_finding(
            "row.overdue", unit=rec.unit, file=rec.file, sheet=rec.sheet, at=at,
            value=getattr(rec, f"{key}_text"), deadline=cn_date(rec.deadline_date), as_of=cn_date(as_of),
            progress=rec.progress_value if isinstance(rec.progress_value, str) else (rec.progress_text or "未填写")))


#: Rules of every column, in this order.
_EVERY_COLUMN: tuple[Callable[[_RowCheck, Column], None], ...] = (_control_chars, _required)
#: The rule of a column by its kind (as the form's validations are chosen).
_BY_KIND: dict[str, Callable[[_RowCheck, Column], None]] = {
    "category": _category,
    "person": _person,
    "date": _deadline,
    "progress": _progress,
}
#: Rules of one column by its key: the form sets the measure's minimum length.
_BY_KEY: dict[str, Callable[[_RowCheck, Column], None]] = {"measure": _measure}
#: Parsed columns the rules add, with their type when the frame is empty.
_PARSED = {"problem_no": "Int64", "deadline_date": object, "deadline_status": object, "progress_value": object}


def check_rows(frame: pd.DataFrame, campaign: Campaign, as_of: dt.date | None) -> tuple[pd.DataFrame, list[Finding]]:
    """Normalise and check every row.

    Returns:
        (normalised frame with parsed columns, findings). Parsed columns added: `<key>_text`,
        `problem_no` (1-based or <NA>), `deadline_date`, `deadline_status`, `progress_value`,
        `overdue`.
    """
    form = campaign.form
    df = frame  # ours alone: columns are added in place, no copy of 100,000 rows
    check = _RowCheck(df, campaign, as_of)
    if df.empty:
        for col in form.columns:
            df[f"{col.key}_text"] = pd.Series(dtype=object)
        for name, dtype in _PARSED.items():
            df[name] = pd.Series(dtype=dtype)
        return df, check.findings

    for col in form.columns:
        df[f"{col.key}_text"] = _mapped(df[col.key], cell_text).astype(object)
    check.blank = {c.key: df[f"{c.key}_text"] == "" for c in form.columns}
    for rule in _EVERY_COLUMN:
        for col in form.columns:
            rule(check, col)
    for col in form.columns:
        for rule in (_BY_KIND.get(col.kind), _BY_KEY.get(col.key)):
            if rule is not None:
                rule(check, col)
    _overdue(check)
    return df, check.findings
