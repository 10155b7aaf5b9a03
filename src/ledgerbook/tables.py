"""The Collection's tables: their columns, their status words, and how they are built from the
checked rows, the current submissions and the files found."""

from __future__ import annotations

import pandas as pd

from .campaign import Campaign
from .checks import cells
from .findings import ERROR, INFO, WARNING
from .inbox import Document
from .normalize import cell_text, parse_phone, parse_qq
from .select import IGNORED

#: 状态 of a roster unit in 提交情况.
PASSED, RETURN, MISSING = "已通过", "需退回修改", "未提交"
#: 逾期 of a unit whose first submission came after the due date by its e-mail's date (是), or
#: by a file time only (可能: a copy or a saved attachment resets a file's time).
LATE, MAYBE_LATE, NOT_LATE = "是", "可能", "否"
#: How 提交情况 names the unit of a submission that names none.
UNNAMED = "（未能识别单位）"
#: 问题统计's column for rows whose 重点问题 is not in the menu.
UNCLASSIFIED = "未能归类"

FILE_COLUMNS = ["文件", "大小", "SHA-256", "收到时间", "时间依据", "单位", "处理结果", "说明", "格式", "发件人"]
SUBMISSION_COLUMNS = ["单位", "名单内", "状态", "文件", "收到时间", "首次收到", "逾期", "整顿对象数", "问题条数",
                      "错误数", "警告数", "提示数", "逾期措施数", "第一责任人", "联络员", "联系电话", "QQ号码",
                      "自评报告", "自评报告收到时间"]
LIAISON_COLUMNS = ["单位", "状态", "第一责任人", "联络员", "联系电话", "QQ号码", "邮箱"]


def rows_table(df: pd.DataFrame, campaign: Campaign) -> pd.DataFrame:
    form = campaign.form
    problems = form.problems
    label = {c.key: c.label for c in form.columns}
    out = pd.DataFrame({"单位": df["unit"]}) if len(df) else pd.DataFrame({"单位": pd.Series(dtype=object)})
    for key in ("seq", "target", "branch_secretary", "member"):
        out[label[key]] = df[f"{key}_text"] if len(df) else pd.Series(dtype=object)
    if len(df):
        out["问题序号"] = df["problem_no"]
        out[label["problem"]] = [problems[int(n) - 1] if pd.notna(n) else t
                                 for n, t in zip(df["problem_no"], df["problem_text"])]
    else:
        out["问题序号"] = pd.Series(dtype="Int64")
        out[label["problem"]] = pd.Series(dtype=object)
    for key in ("detail", "measure", "owner"):
        out[label[key]] = df[f"{key}_text"] if len(df) else pd.Series(dtype=object)
    out[label["deadline"]] = df["deadline_date"] if len(df) else pd.Series(dtype=object)
    out[label["deadline"] + "原文"] = df["deadline_text"] if len(df) else pd.Series(dtype=object)
    if len(df):
        out[label["progress"]] = [v if isinstance(v, str) else t for v, t in zip(df["progress_value"], df["progress_text"])]
    else:
        out[label["progress"]] = pd.Series(dtype=object)
    out[label["remarks"]] = df["remarks_text"] if len(df) else pd.Series(dtype=object)
    out["逾期"] = df["overdue"].astype(bool) if len(df) else pd.Series(dtype=bool)
    out["来源文件"] = df["file"] if len(df) else pd.Series(dtype=object)
    out["工作表"] = df["sheet"] if len(df) else pd.Series(dtype=object)
    if len(df):
        seq, target = cells(df, "seq"), cells(df, "target")
        out["来源单元格"] = seq.where(seq != "", target)
    else:
        out["来源单元格"] = pd.Series(dtype=object)
    out["行号"] = (df["row"] + 1) if len(df) else pd.Series(dtype=int)
    order = {n: i for i, n in enumerate(campaign.unit_names)}
    if len(out):
        out["_o"] = out["单位"].map(lambda u: order.get(u, len(order)))
        out = out.sort_values(["_o", "单位", "来源文件", "行号"], kind="stable").drop(columns="_o").reset_index(drop=True)
    return out


def submissions_table(campaign, current, first_received, late_units, findings, checked, report_info) -> pd.DataFrame:
    """提交情况. ``late_units`` maps a late unit to its 逾期 (LATE or MAYBE_LATE)."""
    counts: dict[tuple[str, str], int] = {}
    for f in findings:
        counts[(f.unit, f.level)] = counts.get((f.unit, f.level), 0) + 1
    targets = checked.groupby("unit")["target_text"].nunique().to_dict() if len(checked) else {}
    nrows = checked.groupby("unit").size().to_dict() if len(checked) else {}
    overdue = checked.groupby("unit")["overdue"].sum().to_dict() if len(checked) else {}
    roster = list(campaign.unit_names)
    on_roster = set(roster)
    unknown = sorted(u for u in current if u not in on_roster and u)
    unnamed = [u for u in current if not u]
    records = []
    for unit in roster + unknown + unnamed:
        entry = current.get(unit)
        doc, ledger, known = entry if entry else (None, None, unit in on_roster)
        errors = counts.get((unit, ERROR), 0)
        status = MISSING if entry is None else (RETURN if errors else PASSED)
        fields = {}
        if ledger is not None and ledger.layout is not None:
            fields = {k: cell_text(ledger.field_value(k)) for k in ("secretary", "liaison", "phone", "qq")}
            fields["phone"] = parse_phone(ledger.field_value("phone")) or fields["phone"]
            fields["qq"] = parse_qq(ledger.field_value("qq")) or fields["qq"]
        report = report_info.get(unit)
        records.append({
            "单位": unit or UNNAMED, "名单内": "是" if unit in on_roster else "否", "状态": status,
            "文件": doc.path if doc else "", "收到时间": doc.when[0] if doc else None,
            "首次收到": first_received.get(unit), "逾期": late_units.get(unit, NOT_LATE),
            "整顿对象数": int(targets.get(unit, 0)), "问题条数": int(nrows.get(unit, 0)),
            "错误数": errors, "警告数": counts.get((unit, WARNING), 0), "提示数": counts.get((unit, INFO), 0),
            "逾期措施数": int(overdue.get(unit, 0)),
            "第一责任人": fields.get("secretary", ""), "联络员": fields.get("liaison", ""),
            "联系电话": fields.get("phone", ""), "QQ号码": fields.get("qq", ""),
            "自评报告": report[0] if report else "未收到", "自评报告收到时间": report[1] if report else None,
        })
    return pd.DataFrame.from_records(records, columns=SUBMISSION_COLUMNS)


def liaisons_table(campaign: Campaign, submissions: pd.DataFrame) -> pd.DataFrame:
    emails = {u.name: u.email or "" for u in campaign.units}
    df = submissions[["单位", "状态", "第一责任人", "联络员", "联系电话", "QQ号码"]].copy()
    df["邮箱"] = df["单位"].map(lambda u: emails.get(u, ""))
    return df[LIAISON_COLUMNS].reset_index(drop=True)


def files_table(docs: list[Document], outcome: dict[str, tuple[str, str, str]]) -> pd.DataFrame:
    records = []
    for d in docs:
        unit, result, note = outcome.get(d.path, ("", IGNORED, d.note))
        # A ledger's outcome and a document's verdict (自评报告 or not) replace what the inbox
        # guessed from the bytes ("可能是自评报告"): both in one cell would contradict.
        if d.note and note != d.note and d.kind not in ("ledger", "report"):
            note = f"{note}；{d.note}" if note else d.note
        when, basis = d.when
        records.append({"文件": d.path, "大小": d.size, "SHA-256": d.sha256, "收到时间": when, "时间依据": basis,
                        "单位": unit, "处理结果": result, "说明": note, "格式": d.format, "发件人": d.sender or ""})
    return pd.DataFrame.from_records(records, columns=FILE_COLUMNS)


def by_problem_table(rows: pd.DataFrame, campaign: Campaign, submitted: list[str]) -> pd.DataFrame:
    """Units × key problems (short names), plus rows whose problem is not in the menu, and 合计.

    Every unit with a submission has a line (all zeros when it named no target)."""
    form = campaign.form
    names = list(form.problem_short)
    present = set(rows["单位"]) if len(rows) else set()
    units = list(dict.fromkeys([*submitted, *sorted(present - set(submitted))]))
    table = pd.DataFrame(0, index=pd.Index(units, name="单位"), columns=names + [UNCLASSIFIED], dtype=int)
    if len(rows):
        keys = rows["问题序号"].map(lambda n: names[int(n) - 1] if pd.notna(n) else UNCLASSIFIED)
        counts = rows.groupby([rows["单位"], keys]).size().unstack(fill_value=0)
        table.loc[counts.index, counts.columns] = counts.to_numpy()
    table["合计"] = table.sum(axis=1)
    return table
