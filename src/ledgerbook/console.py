"""Everything printed on a terminal: the progress bar, the short Chinese reports after a run,
the mail round's plan and send report (one place)."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from .mail import KINDS, MailPlan, SendReport


def make_output_safe() -> None:
    """Show what the console cannot, as "?", instead of crashing.

    On Chinese Windows a redirected output (``ledgerbook collect … > 结果.txt``) and an old
    console are GBK (code page 936): a file name forwarded from WeChat with an emoji in it
    cannot be encoded, and Python would stop the report with a UnicodeEncodeError after the
    summary was written. Only the streams' error handling changes, not their encoding.
    """
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="replace")
            except (ValueError, OSError):  # a stream that cannot change: leave it
                pass


@contextlib.contextmanager
def progress(show: bool, label: str = "读取文件"):
    """A progress(done, total) callback that draws a bar on a terminal, or does nothing."""
    if not show:
        yield None
        return
    state = {"bar": None, "done": 0}

    def update(done: int, total: int) -> None:
        if state["bar"] is None:
            state["bar"] = click.progressbar(length=total, label=label, file=click.get_text_stream("stderr"))
            state["bar"].__enter__()
        state["bar"].update(done - state["done"])
        state["done"] = done

    try:
        yield update
    finally:
        if state["bar"] is not None:
            state["bar"].__exit__(None, None, None)


def collect_report(collection, summary_path: Path, feedback_paths: list, changes=None, verbose: bool = False) -> str:
    """The report after `collect`: units by status, units to send back, where things were written."""
    from .tables import MISSING, RETURN

    c = collection.counts()
    lines = []
    if verbose:
        for rec in collection.files.itertuples(index=False):
            lines.append(f"  {rec.处理结果:<4} {rec.文件}" + (f"（{rec.单位}）" if rec.单位 else ""))
        lines.append("")
    lines.append(f"应报 {c['应报单位']} 个单位：已通过 {c['已通过']}，需退回修改 {c['需退回修改']}，未提交 {c['未提交']}"
                 + (f"，名单外 {c['名单外单位']}" if c["名单外单位"] else "")
                 + (f"；逾期报送 {c['逾期报送']}" if c["逾期报送"] else ""))
    lines.append(f"共 {c['整顿对象']} 个整顿对象、{c['问题条数']} 条问题；错误 {c['错误']}，警告 {c['警告']}，提示 {c['提示']}"
                 + (f"；逾期措施 {c['逾期措施']}" if collection.as_of else ""))
    # The same units as the numbers above and as 总览: roster units, then those outside it.
    s = collection.submissions
    roster, outside = s[s["名单内"] == "是"], s[s["名单内"] == "否"]
    back = roster[roster["状态"] == RETURN]
    if len(back):
        lines.append("需退回修改：")
        for rec in back.itertuples(index=False):
            lines.append(f"  {rec.单位}：错误 {rec.错误数}，警告 {rec.警告数}")
    if len(outside):
        lines.append("名单外：")
        for rec in outside.itertuples(index=False):
            lines.append(f"  {rec.单位}（{rec.状态}）：错误 {rec.错误数}，警告 {rec.警告数}")
    missing = roster[roster["状态"] == MISSING]["单位"].tolist()
    if missing:
        lines.append("未提交：" + "、".join(missing))
        for unit, (file, counted_as) in collection.received_as_other_unit().items():
            lines.append(f"  {unit}：收到本单位专用模板“{file}”，但填报单位填的是“{counted_as}”，请核对")
    if c["无单位文件错误"]:
        unassigned = collection.unassigned_findings()
        files = unassigned.loc[unassigned["级别"] == "错误", "文件"].nunique()
        lines.append(f"另有 {files} 个文件有错误但无法确定所属单位（错误 {c['无单位文件错误']}，见“校验结果”）")
    if changes is not None:
        counts = changes.counts()
        lines.append("与上次相比：" + "，".join(f"{k} {v}" for k, v in counts.items()))
    lines.append(f"汇总表已写出：{summary_path}")
    if feedback_paths:
        lines.append(f"退回修改件 {len(feedback_paths)} 份：{Path(feedback_paths[0]).parent}")
    return "\n".join(lines)


def round_report(result, verbose: bool = False) -> str:
    """The report after a round (:class:`ledgerbook.workflow.RoundResult`): the collect report,
    then why units got no copy, the drafts, and what an earlier round left that was removed."""
    lines = [collect_report(result.collection, result.summary, list(result.copies.values()), result.changes,
                            verbose=verbose)]
    lines += no_copy_lines(result.no_copy)
    if result.plan is not None:
        lines.append(format_plan(result.plan))
    lines += removed_lines(result)
    return "\n".join(lines)


def no_copy_lines(no_copy: dict[str, str]) -> list[str]:
    if not no_copy:
        return []
    return [f"以下 {len(no_copy)} 个单位没有生成退回修改件："] + [f"  {unit}：{why}" for unit, why in no_copy.items()]


def removed_lines(result) -> list[str]:
    """Copies and drafts of an earlier round removed, and files --force moved aside."""
    lines = []
    deleted = result.removed[: len(result.removed) - len(result.retired)]
    if deleted:
        lines.append(f"已删除上次写出、本次不再需要的文件 {len(deleted)} 个：" + "、".join(Path(p).name for p in deleted))
    if result.retired:
        folders = sorted({str(Path(p).parent) for p in result.retired})
        lines.append(f"已把 {len(result.retired)} 个挡路的文件移入 " + "、".join(folders))
    return lines


def demo_report(result) -> str:
    lines = [f"演示目录：{result.directory}"]
    for note in result.notes:
        lines.append(f"  {note}")
    lines.append("")
    lines.append(collect_report(result.collection, result.summary, result.feedback))
    if result.rounds:
        lines += no_copy_lines(result.rounds[0].no_copy)
    if getattr(result, "second_collection", None) is not None:
        second = result.second_collection
        c = second.counts()
        lines.append("")
        lines.append(f"第二轮（截至 {second.as_of.isoformat()}，与第一轮汇总表比较）：")
        lines.append(f"  已通过 {c['已通过']}，需退回修改 {c['需退回修改']}，未提交 {c['未提交']}；逾期措施 {c['逾期措施']}")
        reports = int((second.submissions["自评报告"] != "未收到").sum())
        lines.append(f"  收到自评报告 {reports} 份")
        if result.changes is not None:
            lines.append("  变化：" + "，".join(f"{k} {v}" for k, v in result.changes.counts().items()))
    lines.append("")
    lines.append("请打开：")
    lines.append(f"  汇总表      {result.summary}")
    if result.feedback:
        lines.append(f"  退回修改件  {Path(result.feedback[0]).parent}/")
    lines.append(f"  收件箱      {result.inbox}/")
    lines.append(f"  下发的模板  {result.templates}/")
    if getattr(result, "second_summary", None):
        lines.append(f"  第二轮汇总（含“变化”） {result.second_summary}")
    return "\n".join(lines)


def format_plan(plan: MailPlan) -> str:
    """A short Chinese report of the drafts written, for the CLI."""
    counts = {k: sum(1 for d in plan.drafts if d.kind == k) for k in KINDS}
    kinds = "，".join(f"{KINDS[k]} {n} 封" for k, n in counts.items() if n)
    lines = [f"已在 {plan.outbox} 写出 {len(plan.drafts)} 封邮件草稿" + (f"（{kinds}）" if kinds else "")
             + ("；用 Outlook 等邮件程序打开即可发送" if plan.drafts else "")]
    for d in plan.drafts:
        attached = f"，附件 {'、'.join(d.attachments)}" if d.attachments else ""
        lines.append(f"  {d.path.name}  → {d.to}{attached}")
    if plan.no_address:
        lines.append(f"以下 {len(plan.no_address)} 个单位没有邮箱地址，未生成草稿，请另行通知："
                     + "、".join(plan.no_address))
    return "\n".join(lines)


def format_send(report: SendReport) -> str:
    """A short Chinese report of what send() did, for the CLI."""
    lines = []
    if report.dry_run:
        lines.append(f"演练（未发送）：将发送 {len(report.pending)} 封")
        lines += [f"  {d.path.name}  → {d.to}  {d.subject}" for d in report.pending]
    else:
        lines.append(f"已发送 {len(report.sent)} 封，日志 {report.log_path}")
    if report.skipped:
        lines.append(f"跳过 {len(report.skipped)} 封（日志记录为此前已发送）：" + "、".join(d.unit for d in report.skipped))
    for draft, reason in report.failed:
        lines.append(f"发送失败：{draft.unit}（{draft.to}）{reason}")
    return "\n".join(lines)


def fetch_report(result, verbose: bool = False) -> str:
    """The report after `fetch`: what was taken (and where), what was left and why."""
    def line(m) -> str:
        return f"  {m.received:%Y-%m-%d %H:%M}  {m.sender or '（无发件人）'}  {m.subject or '（无主题）'}"

    lines = []
    where = f"{result.account}（{result.server}）的 {result.remote_folder}"
    earlier = f"（此前已取回 {result.already} 封）" if result.already else ""
    if result.dry_run:
        lines.append(f"演练（未写任何文件）：将从 {where} 取回 {len(result.taken)} 封邮件到 {result.folder}/" + earlier)
    elif result.taken:
        lines.append(f"已从 {where} 取回 {len(result.taken)} 封新邮件，存入 {result.folder}/" + earlier)
    else:
        lines.append(f"{where} 没有新邮件" + earlier)
    lines += [f"{line(m)}  → {m.path.name}" for m in result.taken]
    if result.skipped:
        lines.append(f"未取回 {len(result.skipped)} 封：")
        # Filtered out on request: a count per reason unless -v; every other reason line by line.
        filtered = [m for m in result.skipped if "（--" in m.reason]
        for m in result.skipped:
            if verbose or m not in filtered:
                lines.append(f"{line(m)}：{m.reason}")
        if not verbose:
            for reason in dict.fromkeys(m.reason for m in filtered):
                lines.append(f"  {sum(1 for m in filtered if m.reason == reason)} 封{reason}（-v 逐封列出）")
    if result.uidvalidity_changed:
        lines.append("服务器已重新编号该文件夹（UIDVALIDITY 变化）：已按 Message-ID 和内容核对，已取回的邮件没有重复存入")
    if not result.encrypted:
        lines.append('注意：连接未加密（[imap] security = "none"），密码和邮件以明文传送')
    elif not result.verified:
        lines.append("注意：未验证服务器的 TLS 证书（--insecure），只应用于使用自签名证书的内部服务器")
    if result.taken and not result.dry_run:
        lines.append(f"下一步：ledgerbook collect {result.folder.parent}")
    return "\n".join(lines)
