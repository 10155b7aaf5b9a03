"""The rules of the form, independent of the library that writes them: the drop-down lists and
their defined names, the hidden marker, the sheet protection, and one data validation per
field or column ``kind`` (one small factory each, as in tableschema-to-template's
``validation_factory``). ``template`` writes them with xlsxwriter; ``feedback`` re-applies them
with openpyxl on a returned file's own layout.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from .campaign import Campaign, Unit
from .excel import cell_a1, cell_column_letter
from .form import Form, Layout
from .text import fill_template

__all__ = [
    "LISTS",
    "MARKER_KEYS",
    "MARKER_PROPERTY_PREFIX",
    "SHEET_PROTECTION",
    "Fill",
    "ListSource",
    "ValidationSpec",
    "list_sources",
    "marker_rows",
    "validation_specs",
]

#: Workbook-level defined name of each drop-down source, by the field/column kind it serves.
LISTS: dict[str, str] = {"category": "lb_problems", "progress": "lb_progress", "unit": "lb_units"}

#: Keys (column A of the marker sheet) of the marker's key/value rows, in order.
MARKER_KEYS: dict[str, str] = {"version": "表单版本", "campaign": "活动", "unit": "单位", "institution": "机构"}

# The drop-down source lists sit on the marker sheet right of the key/value rows, one per
# column from D, with the list's title in row 1 and its values from row 2.
_LIST_FIRST_COL = 3

# Rules the form states in prose (spec §3) but not as numbers: the length of a phone number
# with area code and extension, and of a QQ number.
_PHONE_LENGTH = (7, 20)
_QQ_LENGTH = (5, 11)

# Excel's limits for data-validation texts (UTF-16 units; Han characters count one each).
_TITLE_MAX, _MESSAGE_MAX = 32, 255


SHEET_PROTECTION = {
    "format_cells": False,
    "format_columns": True,
    "format_rows": True,
    "insert_rows": True,
    "insert_columns": False,
    "delete_rows": False,
    "delete_columns": False,
    "select_locked_cells": True,
    "select_unlocked_cells": True,
}

# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class ListSource:
    """A drop-down source: a defined name over a column of the marker sheet.

    Attributes:
        name: the workbook-level defined name, e.g. ``lb_problems``.
        title: the text above the values (the form label of what the list serves).
        values: the list's entries, in order.
        column: 0-based column on the marker sheet; values start on its second row.
    """

    name: str
    title: str
    values: tuple[str, ...]
    column: int

    def ref(self, sheet: str) -> str:
        """The absolute range the name points at, e.g. ``'_ledgerbook'!$D$2:$D$9``."""
        letter = cell_column_letter(self.column)
        last = max(len(self.values), 1) + 1
        quoted = sheet.replace("'", "''")
        return f"'{quoted}'!${letter}$2:${letter}${last}"


@dataclass(frozen=True)
class ValidationSpec:
    """One data validation of the form, independent of the library that writes it.

    Formulas carry a leading ``=`` as typed in Excel and given to xlsxwriter; strip it for
    openpyxl's ``formula1``. Date bounds are :class:`datetime.date`, text lengths are ints.

    Attributes:
        key: the form field or column key the validation serves.
        sqref: the cells, in A1 (``E7:E66``; a single cell for a unit-block value).
        type: OOXML type: ``list``, ``date``, ``textLength``, ``custom`` or ``any`` (prompt
            only; openpyxl's ``type=None``).
        operator: OOXML operator (``between``, ``greaterThanOrEqual``…), None for list/any.
        formula1: the list source (``=lb_problems``) or a custom formula.
        minimum: lower bound (date or length), None when unused.
        maximum: upper bound, None when unused.
        input_title: title of the input prompt (≤32 characters).
        input_message: the input prompt (≤255 characters).
        error_title: title of the error alert (≤32 characters).
        error_message: the error alert (≤255 characters).
        error_type: ``stop``, ``warning`` or ``information``.
        allow_blank: blank cells pass.
    """

    key: str
    sqref: str
    type: str
    operator: str | None = None
    formula1: str | None = None
    minimum: dt.date | int | None = None
    maximum: dt.date | int | None = None
    input_title: str = ""
    input_message: str = ""
    error_title: str = ""
    error_message: str = ""
    error_type: str = "stop"
    allow_blank: bool = True


@dataclass
class Fill:
    """Values to type into the form, as a unit would (the samples, the demo, and the feedback
    copy of a file carried over into a fresh template).

    Attributes:
        fields: unit-block field key -> what was typed (text, a number, a date, or blank).
        rows: one per table row: column key -> what was typed.
        unprotect: leave the ledger sheet unprotected, as a unit that removed the protection.
    """

    fields: dict[str, object] = field(default_factory=dict)
    rows: list[dict[str, object]] = field(default_factory=list)
    unprotect: bool = False


@dataclass(frozen=True)
class _Target:
    """What a validation factory needs to know about one field or column."""

    key: str
    label: str
    kind: str
    prompt: str
    sqref: str
    in_table: bool


def list_sources(campaign: Campaign) -> tuple[ListSource, ...]:
    """The drop-down source lists of a campaign's form, with their defined names.

    Args:
        campaign: gives the menu (possibly overridden), the progress values and the roster.

    Returns:
        One :class:`ListSource` per entry of :data:`LISTS`, in marker-sheet column order.
    """
    form = campaign.form
    titles = {c.kind: c.label for c in form.columns} | {f.kind: f.label for f in form.fields}
    values = {"category": form.problems, "progress": form.progress_values, "unit": campaign.unit_names}
    return tuple(
        ListSource(name=name, title=titles.get(kind, name), values=tuple(values[kind]), column=_LIST_FIRST_COL + i)
        for i, (kind, name) in enumerate(LISTS.items())
    )


#: Prefix of the custom document properties that repeat the marker (see _set_properties).
MARKER_PROPERTY_PREFIX = "ledgerbook."


def marker_rows(campaign: Campaign, unit: Unit | None = None) -> list[tuple[str, str]]:
    """The marker sheet's key/value rows (A1:B4).

    Args:
        campaign: the campaign the form belongs to.
        unit: the unit of a per-unit copy; None for the master (the 单位 value stays empty).

    Returns:
        ``[(MARKER_KEYS[...], value), ...]`` in :data:`MARKER_KEYS` order.
    """
    values = {
        "version": campaign.form.version,
        "campaign": campaign.full_title,
        "unit": unit.name if unit else "",
        "institution": campaign.institution,
    }
    return [(MARKER_KEYS[k], values[k]) for k in MARKER_KEYS]


# --------------------------------------------------------------------------- validations


def iso_date(day: dt.date) -> str:
    return day.isoformat()


def fill_placeholders(text: str, campaign: Campaign) -> str:
    """A form prompt with its date placeholders filled in (ISO dates: what the cell accepts)."""
    return fill_template(text, dict(
        start=iso_date(campaign.start), end=iso_date(campaign.rectification_due), ledger_due=iso_date(campaign.ledger_due),
        report_due=iso_date(campaign.report_due), year=str(campaign.year),
    ))


def labels_by_kind(form: Form) -> dict[str, list[str]]:
    """Table column labels grouped by kind, in form order."""
    by_kind: dict[str, list[str]] = {}
    for col in form.columns:
        by_kind.setdefault(col.kind, []).append(col.label)
    return by_kind


def column_label(form: Form, key: str) -> str:
    return next((c.label for c in form.columns if c.key == key), "")


def vague_examples(form: Form, count: int = 3) -> str:
    """A few of the form's vague deadline phrases, quoted (the longer ones read as phrases)."""
    phrases = [v for v in form.vague_deadlines if len(v) >= 4] or list(form.vague_deadlines)
    return "、".join(f"“{v}”" for v in phrases[:count])


def _clip(text: str, limit: int) -> str:
    # Excel refuses the whole validation when a text is too long; a clipped prompt is better.
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _spec(target: _Target, **options) -> ValidationSpec:
    options.setdefault("input_title", target.label)
    options.setdefault("input_message", target.prompt)
    for name, limit in (("input_title", _TITLE_MAX), ("error_title", _TITLE_MAX),
                        ("input_message", _MESSAGE_MAX), ("error_message", _MESSAGE_MAX)):
        if name in options:
            options[name] = _clip(options[name], limit)
    return ValidationSpec(key=target.key, sqref=target.sqref, **options)


def _list_spec(target: _Target, campaign: Campaign, message: str) -> ValidationSpec:
    return _spec(
        target, type="list", formula1="=" + LISTS[target.kind],
        error_title=f"请从下拉列表选择{target.label}", error_message=message, error_type="stop",
    )


def _category_spec(target: _Target, campaign: Campaign) -> ValidationSpec:
    form = campaign.form
    return _list_spec(
        target, campaign,
        f"{target.label}须从下拉列表的{len(form.problems)}项中选择一项，请勿自行输入或改写。"
        f"一个{column_label(form, 'target')}有多项问题时，每项问题填一行。",
    )


def _progress_spec(target: _Target, campaign: Campaign) -> ValidationSpec:
    values = " / ".join(campaign.form.progress_values)
    return _list_spec(target, campaign, f"{target.label}请从下拉列表选择：{values}。")


def _unit_spec(target: _Target, campaign: Campaign) -> ValidationSpec:
    return _list_spec(
        target, campaign,
        f"{target.label}须从下拉列表选择本单位全称（名单共{len(campaign.units)}个单位）。"
        f"本单位不在名单中时，请联系{campaign.department}。",
    )


def _date_spec(target: _Target, campaign: Campaign) -> ValidationSpec:
    if target.in_table:  # a deadline: inside the campaign window
        start, end = campaign.start, campaign.rectification_due
        return _spec(
            target, type="date", operator="between", minimum=start, maximum=end,
            error_title=f"{target.label}超出整治期限",
            error_message=f"{target.label}须为{iso_date(start)}至{iso_date(end)}之间的具体日期，"
                          f"如{iso_date(end)}；不写{vague_examples(campaign.form)}等没有日期的表述。",
        )
    # The date a ledger is filled in: updated ledgers come back after the window too.
    return _spec(
        target, type="date", operator="greaterThanOrEqual", minimum=campaign.start,
        error_title=f"{target.label}有误",
        error_message=f"{target.label}须为{iso_date(campaign.start)}以后的日期，格式如{iso_date(campaign.ledger_due)}。",
    )


def _length_spec(target: _Target, bounds: tuple[int, int]) -> ValidationSpec:
    # A warning, not a stop: the checks judge the number properly; here it only catches typos.
    low, high = bounds
    return _spec(
        target, type="textLength", operator="between", minimum=low, maximum=high,
        error_title=f"请核对{target.label}", error_message=f"请核对{target.label}：{target.prompt}",
        error_type="warning",
    )


def _phone_spec(target: _Target, campaign: Campaign) -> ValidationSpec:
    return _length_spec(target, _PHONE_LENGTH)


def _qq_spec(target: _Target, campaign: Campaign) -> ValidationSpec:
    return _length_spec(target, _QQ_LENGTH)


def _prompt_spec(target: _Target, campaign: Campaign) -> ValidationSpec | None:
    # Names and free text get a prompt only: no rule in Excel can tell a name from a role.
    return _spec(target, type="any") if target.prompt else None


_FACTORIES: dict[str, Callable[[_Target, Campaign], ValidationSpec | None]] = {
    "category": _category_spec,
    "progress": _progress_spec,
    "unit": _unit_spec,
    "date": _date_spec,
    "phone": _phone_spec,
    "qq": _qq_spec,
    "person": _prompt_spec,
    "text": _prompt_spec,
}


def _targets(form: Form, layout: Layout, campaign: Campaign, unit: Unit | None) -> list[_Target]:
    targets = []
    for fld in form.fields:
        if fld.key not in layout.fields or (unit is not None and fld.kind == "unit"):
            continue  # a per-unit copy's unit cell is filled in and locked: nothing to choose
        row, col = layout.fields[fld.key]
        targets.append(_Target(fld.key, fld.label, fld.kind, fill_placeholders(fld.prompt, campaign), cell_a1(row, col), False))
    for col in form.columns:
        if col.key not in layout.columns:
            continue
        c = layout.columns[col.key]
        sqref = f"{cell_a1(layout.first_row, c)}:{cell_a1(layout.last_row, c)}"
        targets.append(_Target(col.key, col.label, col.kind, fill_placeholders(col.prompt, campaign), sqref, True))
    return targets


def validation_specs(campaign: Campaign, layout: Layout, unit: Unit | None = None) -> list[ValidationSpec]:
    """The form's data validations on a layout, as plain records.

    Args:
        campaign: gives the form (labels, kinds, prompts, menu) and the dates and roster.
        layout: where the cells are: :func:`template_layout` for the template, or the layout
            the reader found in a returned file (columns moved, rows inserted).
        unit: the unit of a per-unit copy: its 填报单位 cell gets no drop-down.

    Returns:
        Specs in form order (unit-block fields, then table columns); fields and columns
        without a rule or prompt, and those missing from the layout, have none.
    """
    specs = []
    for target in _targets(campaign.form, layout, campaign, unit):
        spec = _FACTORIES.get(target.kind, _prompt_spec)(target, campaign)
        if spec is not None:
            specs.append(spec)
    return specs
