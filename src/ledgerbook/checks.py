"""The rules of spec §4 applied to read ledgers: unit-block checks per file, row checks over pandas.

Row checks run over one DataFrame holding every row of every current submission: each value
kind is parsed once per distinct value (people copy the same dates and categories down a
column) and each rule is a boolean mask. Findings are then built only for the flagged rows.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from .campaign import Campaign
from .excel import EXCEL_REJECTS, cell_a1
from .findings import Finding, make_finding
from .form import Form
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
        cell = ledger.field_cell(fld.key)
        if not text:
            if fld.required:
                out.append(make_finding("unit.field_missing", cell=cell or "单位信息栏", label=fld.label, **common))
            continue
        if fld.kind == "unit" and not known:
            out.append(make_finding("unit.unknown", cell=cell, value=text,
                                    suggestion=_suggestion(text, campaign), **common))
        elif fld.kind == "person" and not parse_persons(raw, form):
            out.append(make_finding("row.person_invalid", cell=cell, value=text, label=fld.label, **common))
        elif fld.kind == "phone" and parse_phone(raw) is None:
            out.append(make_finding("unit.phone_invalid", cell=cell, value=text, **common))
        elif fld.kind == "qq" and parse_qq(raw) is None:
            out.append(make_finding("unit.qq_invalid", cell=cell, value=text, **common))

    roster_unit = campaign.unit(unit) if known else None
    secretary_raw = _without_controls(ledger.field_value("secretary"))
    if roster_unit and roster_unit.secretary and cell_text(secretary_raw):
        names = parse_persons(secretary_raw, form)
        if names and roster_unit.secretary not in names:
            out.append(make_finding("unit.secretary_mismatch", cell=ledger.field_cell("secretary"),
                                    value=cell_text(secretary_raw), expected=roster_unit.secretary, **common))

    marker_unit = ledger.marker.get(MARKER_KEYS["unit"], "")
    unit_cell_text = cell_text(_without_controls(ledger.field_value("unit")))
    if marker_unit and unit_cell_text:
        typed = campaign.match_unit(unit_cell_text) or unit_cell_text
        if typed != marker_unit:
            out.append(make_finding("file.unit_mismatch", cell=ledger.field_cell("unit"), value=unit_cell_text,
                                    marker_unit=marker_unit, unit_cell=unit_cell_text, **common))
    if ledger.protected is False and ledger.marker:
        out.append(make_finding("file.unprotected", **common))
    if not ledger.n_rows:
        out.append(make_finding("unit.no_target", cell=cell_a1(ledger.layout.first_row, ledger.layout.columns.get("target", 1)) if ledger.layout else "", **common))
    for fld in form.fields:
        text = cell_text(ledger.field_value(fld.key))
        if EXCEL_REJECTS.search(text):
            out.append(make_finding("value.control_chars", cell=ledger.field_cell(fld.key), value=strip_control_chars(text)[0], **common))
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

class _Letters(dict):
    """file -> {column key -> column letter}. pandas deep-copies `attrs` on every operation;
    this table is read-only, so every copy is the table itself."""

    def __deepcopy__(self, memo):
        return self


def rows_frame(items: list[tuple[str, Ledger]], form: Form) -> pd.DataFrame:
    """One row per table row of the given (unit, ledger) pairs: raw values and where they are.

    Cell references are not stored per value (a million small strings on a big inbox): the
    column letters of each file's layout are kept in ``frame.attrs["letters"]`` and
    :func:`cells` makes the references of the rows that need one.
    """
    keys = [c.key for c in form.columns]
    data: dict[str, list] = {name: [] for name in ("unit", "file", "sheet", "row", *keys)}
    letters = _Letters()
    for unit, ledger in items:
        cols = ledger.layout.columns if ledger.layout else {}
        letters[ledger.file] = {k: cell_a1(0, c)[:-1] for k, c in cols.items()}
        n = ledger.n_rows
        data["unit"] += [unit] * n
        data["file"] += [ledger.file] * n
        data["sheet"] += [ledger.sheet] * n
        data["row"] += ledger.row_numbers
        for k in keys:
            data[k] += ledger.columns.get(k) or [""] * n
    frame = pd.DataFrame(data, dtype=object).astype({"row": int})
    frame.attrs["letters"] = letters
    return frame


def cells(frame: pd.DataFrame, key: str) -> pd.Series:
    """A1 references of column `key` for the frame's rows ('' where the file lacks the column)."""
    letters = frame.attrs.get("letters", {})
    return pd.Series([f"{letters[f][key]}{r + 1}" if key in letters.get(f, {}) else ""
                      for f, r in zip(frame["file"], frame["row"])], index=frame.index, dtype=object)


def check_rows(frame: pd.DataFrame, campaign: Campaign, as_of: dt.date | None) -> tuple[pd.DataFrame, list[Finding]]:
    """Normalise and check every row.

    Returns:
        (normalised frame with parsed columns, findings). Parsed columns added: `<key>_text`,
        `problem_no` (1-based or <NA>), `deadline_date`, `deadline_status`, `progress_value`,
        `overdue`.
    """
    form = campaign.form
    df = frame  # ours alone: columns are added in place, no copy of 100,000 rows
    findings: list[Finding] = []
    if df.empty:
        for col in form.columns:
            df[f"{col.key}_text"] = pd.Series(dtype=object)
        df["problem_no"] = pd.Series(dtype="Int64")
        df["deadline_date"] = pd.Series(dtype=object)
        df["deadline_status"] = pd.Series(dtype=object)
        df["progress_value"] = pd.Series(dtype=object)
        return df, findings

    for col in form.columns:
        df[f"{col.key}_text"] = _mapped(df[col.key], cell_text).astype(object)

    def emit(mask: pd.Series, code: str, key: str, **params):
        if not mask.any():
            return
        part = df.loc[mask, ["unit", "file", "sheet", "row", f"{key}_text"]]
        for rec, cell in zip(part.itertuples(index=False, name=None), cells(part, key)):
            findings.append(make_finding(code, unit=rec[0], file=rec[1], sheet=rec[2], cell=cell,
                                         value=rec[4], **params))

    blank = {c.key: df[f"{c.key}_text"] == "" for c in form.columns}

    # Control characters Excel refuses: reported, then stripped from what we write.
    for col in form.columns:
        text = df[f"{col.key}_text"]
        bad = text.str.contains(EXCEL_REJECTS, regex=True, na=False)
        if bad.any():
            emit(bad, "value.control_chars", col.key)
            df.loc[bad, f"{col.key}_text"] = text[bad].map(lambda t: strip_control_chars(t)[0])
            # The value is then judged without them: a stray \x01 is not a wrong date or name.
            df.loc[bad, col.key] = df.loc[bad, f"{col.key}_text"]

    for col in form.columns:
        if col.required:
            emit(blank[col.key], "row.required_missing", col.key, label=col.label)

    # 重点问题: one of the menu.
    df["problem_no"] = _mapped(df["problem"], lambda v: parse_category(v, form)).astype("Int64")
    emit(~blank["problem"] & df["problem_no"].isna(), "row.category_invalid", "problem")

    # Person columns: at least one named person.
    for col in form.columns:
        if col.kind == "person":
            names = _mapped(df[col.key], lambda v: parse_persons(v, form))
            emit(~blank[col.key] & (names.map(len) == 0), "row.person_invalid", col.key, label=col.label)

    # 完成时限: a date inside the window.
    year = campaign.year
    results = _mapped(df["deadline"], lambda v: parse_date(v, year, form))
    df["deadline_status"] = results.map(lambda r: r.status)
    df["deadline_date"] = results.map(lambda r: r.date)
    window = dict(start=cn_date(campaign.start), end=cn_date(campaign.rectification_due))
    emit(df["deadline_status"] == "invalid", "row.deadline_invalid", "deadline",
         example=campaign.rectification_due.isoformat())
    emit(df["deadline_status"] == "vague", "row.deadline_vague", "deadline", **window)
    dates = pd.to_datetime(df["deadline_date"], errors="coerce")
    ok = df["deadline_status"] == "ok"
    late = ok & (dates > pd.Timestamp(campaign.rectification_due))
    early = ok & (dates < pd.Timestamp(campaign.start))
    emit(late, "row.deadline_out_of_window", "deadline",
         relation=f"晚于集中整顿截止日期{window['end']}", **window)
    emit(early, "row.deadline_out_of_window", "deadline",
         relation=f"早于本次整治开始日期{window['start']}", **window)

    # 整顿进展: one of its values when given.
    df["progress_value"] = _mapped(df["progress"], lambda v: parse_progress(v, form))
    emit(~blank["progress"] & df["progress_value"].isna(), "row.progress_invalid", "progress",
         choices="、".join(form.progress_values))

    # 整顿措施: substantial, and not the same text copied across problems.
    # The comparison key keeps only letters, digits and Han characters: its length is the
    # measure's meaningful length.
    df["_mkey"] = _mapped(df["measure_text"], measure_key)
    lengths = df["_mkey"].str.len()
    emit(~blank["measure"] & (lengths < form.measure_min_chars), "row.measure_thin", "measure")
    candidates = ~blank["measure"] & (lengths >= _REPEAT_MIN_CHARS)
    # Only the rows whose (unit, measure) occurs more than once are grouped: iterating a
    # groupby over every distinct measure costs seconds on 100,000 rows.
    repeated = candidates & df.duplicated(["unit", "_mkey"], keep=False)
    rep = df.loc[repeated, ["unit", "file", "sheet", "row", "measure_text", "_mkey"]]
    rep = rep.assign(measure_cell=cells(rep, "measure"))
    grouped = rep.groupby(["unit", "_mkey"], sort=False)["measure_cell"].agg(list)
    cells_of = dict(zip(grouped.index, grouped.to_numpy()))
    for unit, file, sheet, _, text, key, cell in rep.itertuples(index=False, name=None):
        others = "、".join(c for c in cells_of[(unit, key)] if c != cell)
        findings.append(make_finding("row.measure_repeated", unit=unit, file=file, sheet=sheet,
                                     cell=cell, value=text, others=others))
    del df["_mkey"]

    # Overdue: only with an explicit as-of date (nothing here reads today's clock).
    if as_of is not None:
        done = df["progress_value"] == form.progress_values[-1]
        overdue = ok & (dates < pd.Timestamp(as_of)) & ~done
        df["overdue"] = overdue
        late_rows = df.loc[overdue]
        for rec, cell in zip(late_rows.itertuples(index=False), cells(late_rows, "deadline")):
            findings.append(make_finding(
                "row.overdue", unit=rec.unit, file=rec.file, sheet=rec.sheet, cell=cell,
                value=rec.deadline_text, deadline=cn_date(rec.deadline_date), as_of=cn_date(as_of),
                progress=rec.progress_value if isinstance(rec.progress_value, str) else (rec.progress_text or "未填写")))
    else:
        df["overdue"] = False
    return df, findings
