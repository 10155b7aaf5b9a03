"""The official form (附件2 菜单式整顿台账) loaded from `workbook_templates/form.toml`.

Everything the template writer, the reader and the checks need to know about the form
(labels, aliases, kinds, the 8 key problems, progress values, person and deadline
vocabularies) comes from that file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .errors import FormError
from .resources import template_file


@dataclass(frozen=True)
class Field:
    """A unit-block field (label cell, value to its right)."""

    key: str
    label: str
    kind: str
    required: bool
    aliases: tuple[str, ...] = ()
    prompt: str = ""


@dataclass(frozen=True)
class Column:
    """A column of the ledger table."""

    key: str
    label: str
    kind: str
    required: bool
    width: float = 12
    fill_down: bool = False
    aliases: tuple[str, ...] = ()
    prompt: str = ""


@dataclass(frozen=True)
class Form:
    version: str
    title: str
    attachment: str
    sheet: str
    instructions_sheet: str
    marker_sheet: str
    header_scan_rows: int
    input_rows: int
    measure_min_chars: int
    fields: tuple[Field, ...]
    columns: tuple[Column, ...]
    problems: tuple[str, ...]
    problem_short: tuple[str, ...]
    progress_values: tuple[str, ...]
    progress_aliases: dict[str, str] = field(default_factory=dict)
    roles: tuple[str, ...] = ()
    collectives: tuple[str, ...] = ()
    collective_markers: tuple[str, ...] = ()
    vague_deadlines: tuple[str, ...] = ()
    month_parts: tuple[str, ...] = ()
    table_end_markers: tuple[str, ...] = ()

    def column(self, key: str) -> Column:
        for col in self.columns:
            if col.key == key:
                return col
        raise KeyError(key)

    def field(self, key: str) -> Field:
        for fld in self.fields:
            if fld.key == key:
                return fld
        raise KeyError(key)

    @property
    def required_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.required)

    def with_problems(self, problems: tuple[str, ...], short: tuple[str, ...] | None = None) -> "Form":
        """The same form with another menu (a campaign may override the 8 problems)."""
        from dataclasses import replace

        return replace(self, problems=problems, problem_short=short or tuple(p[:8] for p in problems))


def _as_tuple(value, name: str, path: Path) -> tuple:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise FormError(f"表单定义 {path} 中 {name} 应为列表")
    return tuple(value)


def parse_form(data: dict, path: Path) -> Form:
    try:
        f = data["form"]
        fields = tuple(
            Field(
                key=d["key"], label=d["label"], kind=d["kind"], required=bool(d.get("required", True)),
                aliases=_as_tuple(d.get("aliases"), "aliases", path), prompt=d.get("prompt", ""),
            )
            for d in data["fields"]
        )
        columns = tuple(
            Column(
                key=d["key"], label=d["label"], kind=d["kind"], required=bool(d.get("required", True)),
                width=float(d.get("width", 12)), fill_down=bool(d.get("fill_down", False)),
                aliases=_as_tuple(d.get("aliases"), "aliases", path), prompt=d.get("prompt", ""),
            )
            for d in data["columns"]
        )
        problems = _as_tuple(data["menu"]["problems"], "menu.problems", path)
        short = _as_tuple(data["menu"].get("short"), "menu.short", path) or tuple(p[:8] for p in problems)
        return Form(
            version=str(f["version"]), title=f["title"], attachment=f.get("attachment", ""),
            sheet=f["sheet"], instructions_sheet=f["instructions_sheet"], marker_sheet=f["marker_sheet"],
            header_scan_rows=int(f.get("header_scan_rows", 30)), input_rows=int(f.get("input_rows", 50)),
            measure_min_chars=int(f.get("measure_min_chars", 8)),
            fields=fields, columns=columns, problems=problems, problem_short=short,
            progress_values=_as_tuple(data["progress"]["values"], "progress.values", path),
            progress_aliases=dict(data["progress"].get("aliases", {})),
            roles=_as_tuple(data["persons"].get("roles"), "persons.roles", path),
            collectives=_as_tuple(data["persons"].get("collectives"), "persons.collectives", path),
            collective_markers=_as_tuple(data["persons"].get("collective_markers"), "persons.collective_markers", path),
            vague_deadlines=_as_tuple(data["deadlines"].get("vague"), "deadlines.vague", path),
            month_parts=_as_tuple(data["deadlines"].get("month_parts"), "deadlines.month_parts", path),
            table_end_markers=_as_tuple(data["layout"].get("table_end_markers"), "layout.table_end_markers", path),
        )
    except KeyError as exc:
        raise FormError(f"表单定义 {path} 缺少 {exc.args[0]}") from None


@lru_cache(maxsize=4)
def load_form(path: str | Path | None = None) -> Form:
    """Load the form definition (default: the built-in `workbook_templates/form.toml`)."""
    p = Path(path) if path else template_file("form.toml")
    try:
        with open(p, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise FormError(f"无法读取表单定义 {p}：{exc}") from None
    return parse_form(data, p)


@dataclass(frozen=True)
class Layout:
    """Where things are on a ledger sheet (0-based rows and columns).

    The template writer uses :func:`template_layout`; the reader builds one for each returned
    file from what it found, so feedback copies can mark cells and re-create validations on
    the file's own layout (rows inserted above the table, columns moved).
    """

    header_row: int
    first_row: int
    last_row: int
    columns: dict[str, int]
    fields: dict[str, tuple[int, int]]
    labels: dict[str, tuple[int, int]] = field(default_factory=dict)


# The unit block: three fields per line, each (label col, label span, value col, value span).
FIELD_SLOTS = ((0, 2, 2, 3), (5, 1, 6, 1), (7, 1, 8, 3))
TITLE_ROW, SUBTITLE_ROW, FIELDS_FIRST_ROW = 0, 1, 2


def template_layout(form: Form) -> Layout:
    """The layout of the sheet that `ledgerbook template` writes."""
    fields: dict[str, tuple[int, int]] = {}
    labels: dict[str, tuple[int, int]] = {}
    # Official order: unit, secretary, filled_on on the first line; liaison, phone, qq below.
    order = sorted(form.fields, key=lambda f: (f.key not in ("unit", "secretary", "filled_on"),))
    per_line = len(FIELD_SLOTS)
    for i, fld in enumerate(order):
        row = FIELDS_FIRST_ROW + i // per_line
        label_col, _, value_col, _ = FIELD_SLOTS[i % per_line]
        labels[fld.key] = (row, label_col)
        fields[fld.key] = (row, value_col)
    lines = (len(order) + per_line - 1) // per_line
    header_row = FIELDS_FIRST_ROW + lines + 1  # one line of guidance between block and table
    return Layout(
        header_row=header_row,
        first_row=header_row + 1,
        last_row=header_row + form.input_rows,
        columns={c.key: i for i, c in enumerate(form.columns)},
        fields=fields,
        labels=labels,
    )
