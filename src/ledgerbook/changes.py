"""What changed since an earlier summary (`ledgerbook collect … --since PREVIOUS.xlsx`).

:func:`compare` holds the snapshot read back from the earlier summary
(:func:`ledgerbook.snapshot.read_previous`) against the current collection put through the
same :func:`ledgerbook.snapshot.snapshot`, so values are compared exactly as both were written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

import pandas as pd

from .snapshot import ROW_KEYS, PreviousSummary, snapshot

if TYPE_CHECKING:  # collect imports the readers; the writers only need the dataclass shape
    from .collect import Collection

__all__ = ["CHANGE_COLUMNS", "Changes", "compare"]

# Fields whose change is a 修改 line. Progress has its own block (进展变化), so it is not repeated here.
COMPARED_ROW_KEYS = ("branch_secretary", "member", "detail", "measure", "owner", "deadline", "remarks")
# A finding is "the same" across summaries when these agree: file names change between
# submissions (张三-修改版.xlsx), so the file is not part of the key.
FINDING_MATCH = ("code", "unit", "sheet", "cell", "value")

# Change kinds (变化) and blocks (类别) of the 变化 sheet.
ADDED, REMOVED, MODIFIED, RESOLVED, MOVED, STATUS_CHANGED = "新增", "删除", "修改", "已解决", "进展变化", "状态改变"
CHANGE_COLUMNS = ["类别", "变化", "单位", "整顿对象", "重点问题", "项目", "原值", "新值", "级别", "单元格", "说明"]


@dataclass
class Changes:
    """What changed between an earlier summary and the current collection.

    Attributes:
        status: 单位, 原状态, 新状态, 原错误数, 新错误数 — units whose status changed.
        rows: 变化 (新增/删除/修改), 单位, 整顿对象, 重点问题, 字段, 原值, 新值 — one line per
            added or removed row (字段 blank, the value a summary of the row) and one line per
            changed field of a modified row.
        progress: 单位, 整顿对象, 重点问题, 原进展, 新进展 — matched rows whose progress moved.
        findings: 变化 (新增/已解决), 级别, 代码, 单位, 单元格, 说明.
        since_generated_at: when the earlier summary was written.
        since_file: the earlier summary's file name.
    """

    status: pd.DataFrame
    rows: pd.DataFrame
    progress: pd.DataFrame
    findings: pd.DataFrame
    since_generated_at: dt.datetime | None = None
    since_file: str = ""
    modified_rows: int = field(default=0)

    def counts(self) -> dict[str, int]:
        """Headline numbers for the 总览 line."""
        kinds = self.rows["变化"].value_counts() if len(self.rows) else {}
        found = self.findings["变化"].value_counts() if len(self.findings) else {}
        return {
            "状态变化": len(self.status),
            "新增行": int(kinds.get(ADDED, 0)),
            "删除行": int(kinds.get(REMOVED, 0)),
            "修改行": self.modified_rows,
            "进展变化": len(self.progress),
            "新增问题": int(found.get(ADDED, 0)),
            "已解决问题": int(found.get(RESOLVED, 0)),
        }

    def table(self) -> pd.DataFrame:
        """All four blocks as one table with a 类别 column (the 变化 sheet), old and new side by side."""
        records: list[dict] = []
        for r in self.status.itertuples(index=False):
            errors = f"错误数 {r.原错误数 or 0} → {r.新错误数 or 0}"
            records.append({"类别": "单位状态", "变化": STATUS_CHANGED, "单位": r.单位, "项目": "状态",
                            "原值": r.原状态, "新值": r.新状态, "说明": errors})
        for r in self.rows.itertuples(index=False):
            records.append({"类别": "台账行", "变化": r.变化, "单位": r.单位, "整顿对象": r.整顿对象,
                            "重点问题": r.重点问题, "项目": r.字段, "原值": r.原值, "新值": r.新值})
        for r in self.progress.itertuples(index=False):
            records.append({"类别": "整顿进展", "变化": MOVED, "单位": r.单位, "整顿对象": r.整顿对象,
                            "重点问题": r.重点问题, "项目": "整顿进展", "原值": r.原进展, "新值": r.新进展})
        for r in self.findings.itertuples(index=False):
            records.append({"类别": "校验结果", "变化": r.变化, "单位": r.单位, "项目": r.代码, "级别": r.级别,
                            "单元格": r.单元格, "说明": r.说明})
        return pd.DataFrame.from_records(records, columns=CHANGE_COLUMNS).fillna("")


# --------------------------------------------------------------------------- comparing


def _with_occurrence(df: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """Add `_n`: the how-manieth row with this key (duplicates of a key are matched in order)."""
    out = df.copy()
    out["_n"] = out.groupby(key, sort=False).cumcount() if len(out) else pd.Series(dtype=int)
    return out


def _unit_order(*frames: Iterable[str]) -> dict[str, int]:
    order: dict[str, int] = {}
    for units in frames:
        for u in units:
            order.setdefault(u, len(order))
    return order


def _compare_status(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    merged = new.merge(old, on="unit", how="outer", suffixes=("_new", "_old"), sort=False).fillna("")
    changed = merged[merged["status_new"] != merged["status_old"]]
    order = _unit_order(new["unit"], old["unit"])
    changed = changed.assign(_o=changed["unit"].map(order)).sort_values("_o", kind="stable")
    return pd.DataFrame({"单位": changed["unit"], "原状态": changed["status_old"], "新状态": changed["status_new"],
                         "原错误数": changed["errors_old"], "新错误数": changed["errors_new"]}).reset_index(drop=True)


def _problem_label(no: str, text: str, short: tuple[str, ...]) -> str:
    """How a row's key problem reads in the 变化 sheet: "3 发展党员", or the text as typed."""
    if no.isdigit() and 1 <= int(no) <= len(short):
        return f"{int(no)} {short[int(no) - 1]}"
    return text


def _row_summary(r: dict, labels: dict[str, str]) -> str:
    parts = [f"{labels[k]}：{r[k]}" for k in ("detail", "measure", "owner", "deadline", "progress") if r.get(k)]
    return "\n".join(parts)


def _compare_rows(old: pd.DataFrame, new: pd.DataFrame, labels: dict[str, str],
                  short: tuple[str, ...]) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    # Key: unit + target + problem (its menu number when valid, else the text as typed).
    def keyed(df: pd.DataFrame) -> pd.DataFrame:
        df = df.assign(_p=[no if no else "#" + text for no, text in zip(df["problem_no"], df["problem"])])
        return _with_occurrence(df, ["unit", "target", "_p"])

    key = ["unit", "target", "_p", "_n"]
    merged = keyed(new).merge(keyed(old), on=key, how="outer", suffixes=("", "_old"), indicator=True, sort=False)
    merged = merged.fillna("")
    order = _unit_order(new["unit"], old["unit"])
    merged = merged.assign(_o=merged["unit"].map(order)).sort_values("_o", kind="stable")

    changes: list[dict] = []
    progress: list[dict] = []
    modified = 0
    for r in merged.to_dict("records"):
        side = r["_merge"]
        if side == "left_only":
            problem = _problem_label(r["problem_no"], r["problem"], short)
            changes.append({"变化": ADDED, "单位": r["unit"], "整顿对象": r["target"], "重点问题": problem,
                            "字段": "", "原值": "", "新值": _row_summary(r, labels)})
            continue
        if side == "right_only":
            old_r = {k: r[f"{k}_old"] for k in ROW_KEYS if k not in key}
            problem = _problem_label(old_r["problem_no"], old_r["problem"], short)
            changes.append({"变化": REMOVED, "单位": r["unit"], "整顿对象": r["target"], "重点问题": problem,
                            "字段": "", "原值": _row_summary(old_r, labels), "新值": ""})
            continue
        problem = _problem_label(r["problem_no"], r["problem"], short)
        base = {"单位": r["unit"], "整顿对象": r["target"], "重点问题": problem}
        fields = [k for k in COMPARED_ROW_KEYS if r[k] != r[f"{k}_old"]]
        modified += bool(fields)
        for k in fields:
            changes.append({"变化": MODIFIED, **base, "字段": labels[k], "原值": r[f"{k}_old"], "新值": r[k]})
        if r["progress"] != r["progress_old"]:
            progress.append({**base, "原进展": r["progress_old"], "新进展": r["progress"]})
    rows = pd.DataFrame.from_records(changes, columns=["变化", "单位", "整顿对象", "重点问题", "字段", "原值", "新值"])
    moved = pd.DataFrame.from_records(progress, columns=["单位", "整顿对象", "重点问题", "原进展", "新进展"])
    return rows, moved, modified


def _compare_findings(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    key = list(FINDING_MATCH) + ["_n"]
    merged = _with_occurrence(new, list(FINDING_MATCH)).merge(
        _with_occurrence(old, list(FINDING_MATCH)), on=key, how="outer", suffixes=("", "_old"),
        indicator=True, sort=False).fillna("")
    order = _unit_order(new["unit"], old["unit"])
    merged = merged.assign(_o=merged["unit"].map(order)).sort_values("_o", kind="stable")
    records = []
    for r in merged.to_dict("records"):
        if r["_merge"] == "both":
            continue
        new_side = r["_merge"] == "left_only"
        suffix = "" if new_side else "_old"
        records.append({"变化": ADDED if new_side else RESOLVED, "级别": r["level" + suffix], "代码": r["code"],
                        "单位": r["unit"], "单元格": r["cell"], "说明": r["message" + suffix]})
    return pd.DataFrame.from_records(records, columns=["变化", "级别", "代码", "单位", "单元格", "说明"])


def compare(previous: PreviousSummary, collection: Collection) -> Changes:
    """What changed from an earlier summary to this collection.

    Rows are matched by unit + 整顿对象 + 重点问题 (its menu number when valid, else the
    text as typed); several rows with the same key in a unit are matched in order.
    Findings are matched by code, unit, sheet, cell and original value (not the file name,
    which changes from one submission to the next).

    Args:
        previous: from :func:`read_previous`.
        collection: the current collection.

    Returns:
        The Changes for the 变化 sheet and the 总览 line.
    """
    current = snapshot(collection)
    form = collection.campaign.form
    labels = {c.key: c.label for c in form.columns}
    rows, progress, modified = _compare_rows(previous.rows, current.rows, labels, tuple(form.problem_short))
    return Changes(
        status=_compare_status(previous.status, current.status),
        rows=rows, progress=progress,
        findings=_compare_findings(previous.findings, current.findings),
        since_generated_at=previous.generated_at,
        since_file=previous.path.name, modified_rows=modified,
    )
