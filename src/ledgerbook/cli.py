"""The `ledgerbook` command: a thin click layer over the library.

Each command parses options, calls one library function, turns library exceptions into one
Chinese line with exit status 2, and renders the result. Terminal rendering lives in
`console.py`. Heavy modules (pandas, readers, writers) are imported inside the commands so that
`ledgerbook --help` starts fast.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from . import click_zh
from .click_zh import DateType, PathType
from .errors import LedgerbookError

DATE = DateType()
FILE, DIRECTORY, PATH = PathType("file"), PathType("dir"), PathType("any")


def option(*names, **kwargs):
    """click.option with Chinese help extras ([必填]) and a Chinese metavar for plain text."""
    if not kwargs.get("is_flag") and "type" not in kwargs:
        kwargs.setdefault("metavar", "文字")
    return click.option(*names, cls=click_zh.Option, **kwargs)


CAMPAIGN_OPTION = option("-c", "--campaign", "campaign_path", type=FILE,
                         help="活动文件（campaign.toml）；不指定时用内置的2019年通知")


def _campaign(path):
    from .campaign import load_campaign

    return load_campaign(path)


class LedgerbookGroup(click_zh.Group):
    """Turns every error into one Chinese line on stderr and exit status 2 (no traceback),
    for the console script and for click's CliRunner alike."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        from .console import make_output_safe

        make_output_safe()
        try:
            rv = super().main(args=args, prog_name=prog_name or "ledgerbook", complete_var=complete_var,
                              standalone_mode=False, **extra)
        except LedgerbookError as exc:
            click.echo(f"错误：{exc}", err=True)
            sys.exit(2)
        except click.exceptions.Abort:
            click.echo("已中止", err=True)
            sys.exit(1)
        except click.ClickException as exc:
            click.echo(f"错误：{click_zh.usage_error_text(exc)}", err=True)
            sys.exit(2)
        if isinstance(rv, int) and standalone_mode:
            sys.exit(rv)
        if standalone_mode:
            sys.exit(0)
        return rv


@click.group("ledgerbook", cls=LedgerbookGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ledgerbook", message="%(prog)s %(version)s", help=click_zh.VERSION_TEXT)
def cli():
    """ledgerbook：下发、收集、检查、汇总菜单式整顿台账。

    \b
    典型流程：
      ledgerbook init                 生成活动文件 campaign.toml 供修改
      ledgerbook template --per-unit  为每个单位生成锁定的台账模板
      ledgerbook fetch -o inbox/      从部门邮箱（IMAP）取回各单位的回复邮件
      ledgerbook collect inbox/       收集、检查、汇总，并生成退回修改件
      ledgerbook demo                 用内置示例完整演示一轮
      ledgerbook serve 台账2019       台账工作台：在浏览器中完成以上工作
    """


@cli.command()
@click.argument("directory", default=".", type=DIRECTORY, metavar="[目录]")
@option("--force", is_flag=True, help="覆盖已有的 campaign.toml")
def init(directory, force):
    """在目录（默认当前目录）写出默认活动文件 campaign.toml 供编辑。"""
    from .campaign import write_default_campaign

    path = write_default_campaign(directory, force=force)
    click.echo(f"已写出活动文件：{path}\n请修改学校名称、日期和单位名单后使用 -c {path}\n"
               "如需用 ledgerbook fetch 从部门邮箱取回回复邮件，按文件末尾的示例填写 [imap] 节")


@cli.command()
@CAMPAIGN_OPTION
@option("-o", "--output", type=PATH, help="输出文件（--per-unit 时为目录）")
@option("--per-unit", is_flag=True, help="为名单中每个单位各生成一份（填报单位已填好并锁定）")
def template(campaign_path, output, per_unit):
    """生成锁定的台账模板（下拉选项、日期校验、填表说明）。"""
    from .template import write_template, write_unit_templates

    campaign = _campaign(campaign_path)
    if per_unit:
        paths = write_unit_templates(campaign, output or "台账模板")
        click.echo(f"已为 {len(paths)} 个单位生成模板，位于 {Path(paths[0]).parent if paths else output}")
    else:
        path = write_template(campaign, output or f"附件2_{campaign.form.title}.xlsx")
        click.echo(f"已生成模板：{path}")


@cli.command()
@click.argument("inbox", type=PATH, metavar="收件箱")
@CAMPAIGN_OPTION
@option("-o", "--output", type=FILE, help="汇总表文件，默认 汇总表_<日期>.xlsx")
@option("--as-of", type=DATE, help="按此日期判断措施是否逾期、自评报告是否缺交（YYYY-MM-DD）")
@option("--feedback", "feedback_dir", type=DIRECTORY, help="为需退回修改的单位生成标注件的目录")
@option("--feedback-all", is_flag=True, help="为每个已报送单位都生成标注件")
@option("--since", "since_path", type=FILE, help="与之前的汇总表比较，增加“变化”工作表")
@option("--mail", "outbox", type=DIRECTORY,
        help="同时写出邮件草稿：退回修改件发给需修改的单位，催报未提交的单位")
@option("--force", is_flag=True,
        help="挡路的文件（非 ledgerbook 写出或写出后被修改过）移入旁边的 旧版/ 文件夹，而不是停止")
@option("--strict", is_flag=True, help="发现任何“错误”时退出码为1")
@option("-q", "--quiet", is_flag=True, help="不显示进度和报告")
@option("-v", "--verbose", is_flag=True, help="逐个文件显示处理结果")
def collect(inbox, campaign_path, output, as_of, feedback_dir, feedback_all, since_path, outbox, force, strict,
            quiet, verbose):
    """读取收件箱（文件夹）中收到的全部文件，检查并写出汇总表。

    再次运行时只替换 ledgerbook 上次写出且之后未被修改的文件；已不需要的退回修改件和邮件草稿
    （如单位已通过）会被删除，使退回修改目录和发件箱始终与本次汇总表一致。
    """
    from . import console
    from .workflow import NO_LEDGER, run_round

    campaign = _campaign(campaign_path)
    out = Path(output or f"汇总表_{(as_of or dt.date.today()).isoformat()}.xlsx")
    show = not quiet and sys.stderr.isatty()
    with console.progress(show) as bar:
        result = run_round(inbox, campaign, summary=out, as_of=as_of, since=since_path, feedback_dir=feedback_dir,
                           feedback_all=feedback_all, outbox=outbox, force=force, progress=bar)
    if not quiet:
        click.echo(console.round_report(result, verbose=verbose))
    if result.no_ledger:
        click.echo(f"注意：{NO_LEDGER}（汇总表已写出，各单位均为未提交）", err=True)
        sys.exit(1)
    if strict and (result.collection.findings["级别"] == "错误").any():
        sys.exit(1)


@cli.command()
@CAMPAIGN_OPTION
@option("-o", "--output", "inbox", default="inbox", show_default=True, type=DIRECTORY,
        help="收件箱文件夹：邮件存入其中的“邮件”文件夹，取件记录在它旁边")
@option("--since", type=DATE, help="只取此日期起收到的邮件（默认：活动开始日期）")
@option("--folder", help="邮箱中的文件夹（默认：活动文件 [imap] 的 folder，通常为收件箱 INBOX）")
@option("--with-attachment", "only_attachments", is_flag=True, help="只取带附件的邮件")
@option("--from-units", "only_units", is_flag=True, help="只取名单中单位邮箱发来的邮件")
@option("--dry-run", is_flag=True, help="只列出将要取回的邮件，不写任何文件")
@option("--insecure", is_flag=True, help="不验证服务器的 TLS 证书（只用于使用自签名证书的内部服务器）")
@option("-q", "--quiet", is_flag=True, help="不显示进度和报告")
@option("-v", "--verbose", is_flag=True, help="逐封列出按条件未取回的邮件")
def fetch(campaign_path, inbox, since, folder, only_attachments, only_units, dry_run, insecure, quiet, verbose):
    """从部门邮箱（活动文件 [imap] 节）取回各单位的回复邮件，存入收件箱的“邮件”文件夹。

    只读取，不改变服务器上的任何邮件（不标记已读、不删除、不移动）。密码（授权码）取自
    [imap] password_env 指定的环境变量，未设置时在终端提示输入（不显示、不保存）。
    """
    from . import console
    from .errors import FetchError
    from .fetch import fetch as run_fetch

    def ask(question: str) -> str:
        try:
            return click.prompt(question, hide_input=True, default="", show_default=False, err=True)
        except click.Abort:
            raise FetchError("没有输入密码，未连接邮箱") from None

    campaign = _campaign(campaign_path)
    with console.progress(not quiet and sys.stderr.isatty(), label="取回邮件") as bar:
        result = run_fetch(campaign, inbox, since=since, folder=folder, dry_run=dry_run,
                           only_attachments=only_attachments, only_units=only_units, insecure=insecure,
                           prompt=ask, progress=bar)
    if not quiet:
        click.echo(console.fetch_report(result, verbose=verbose))


@cli.command()
@click.argument("directory", default="ledgerbook-demo", type=DIRECTORY, metavar="[目录]")
@option("-q", "--quiet", is_flag=True, help="不显示演示报告")
def demo(directory, quiet):
    """用内置活动在目录（默认 ledgerbook-demo）中完整演示一轮：模板、收件箱、汇总表、退回修改件。"""
    from . import console
    from .demo import run_demo

    result = run_demo(directory)
    if not quiet:
        click.echo(console.demo_report(result))


@cli.command()
@click.argument("directory", default=".", type=PATH, metavar="[目录]")  # a file given is refused in Chinese by WorkDir
@option("--port", type=click.IntRange(1, 65535), metavar="端口号", help="端口（默认 8765，被占用时自动另选）")
@option("--no-browser", is_flag=True, help="不自动打开浏览器")
def serve(directory, port, no_browser):
    """台账工作台：在本机浏览器中上传、汇总、查看各单位情况、下载（数据不离开本机）。

    \b
    目录（默认当前文件夹）是工作文件夹：
      campaign.toml   活动文件（可选，没有时用内置的2019年通知）
      inbox/          收件箱：交回的文件（上传的文件也放在这里）
      汇总表.xlsx      退回修改/   发件箱/   下发模板/   （汇总和下载时写出）
    第一行显示带访问令牌的地址；只监听 127.0.0.1；按 Ctrl-C 停止。
    """
    from .serve import serve as run_server

    run_server(directory, port=port, open_browser=not no_browser, echo=lambda line: click.echo(line))


# --------------------------------------------------------------------------- mail


@cli.group()
def mail():
    """生成邮件草稿（.eml）：下发模板、退回修改、催报；加 --send 直接发送。

    \b
      ledgerbook mail templates -o 发件箱            每个单位一封，附本单位专用模板
      ledgerbook mail feedback inbox/ -o 发件箱      退回修改件发给需修改的单位，催报未提交的单位
    草稿用 Outlook 等邮件程序打开即可发送；--send 按活动文件 [mail] 节的设置经 SMTP 发送。
    """


OUTBOX_OPTION = option("-o", "--outbox", required=True, type=DIRECTORY,
                             help="写出邮件草稿（.eml）的目录")
SEND_OPTION = option("--send", "send_now", is_flag=True,
                           help="经 SMTP 发送（服务器见活动文件 [mail] 节，密码取自环境变量）；已发送过的不再发送")
DRY_RUN_OPTION = option("--dry-run", is_flag=True, help="只列出将要发送的邮件，不发送")


def _mail_finish(plan, campaign, send_now: bool, dry_run: bool) -> None:
    """Report the drafts and, with --send or --dry-run, send them; exit 1 when a message failed."""
    from .console import format_plan, format_send
    from .mail import send

    click.echo(format_plan(plan))
    if not (send_now or dry_run):
        return
    report = send(plan, campaign, dry_run=dry_run)
    click.echo(format_send(report))
    if report.failed:
        sys.exit(1)


@mail.command("templates")
@CAMPAIGN_OPTION
@OUTBOX_OPTION
@option("--templates", "templates_dir", type=DIRECTORY,
        help="单位专用模板所在目录：已有的直接附上，缺的在此生成（默认临时生成）")
@SEND_OPTION
@DRY_RUN_OPTION
def mail_templates(campaign_path, outbox, templates_dir, send_now, dry_run):
    """每个有邮箱的单位一封下发邮件，附本单位专用的锁定模板。"""
    from .mail import template_drafts

    campaign = _campaign(campaign_path)
    plan = template_drafts(campaign, outbox, templates_dir=templates_dir,
                           now=dt.datetime.now().astimezone().replace(microsecond=0))
    _mail_finish(plan, campaign, send_now, dry_run)


@mail.command("feedback")
@click.argument("inbox", type=PATH, metavar="收件箱")
@CAMPAIGN_OPTION
@option("--as-of", type=DATE, help="按此日期检查（同 collect --as-of），催报邮件写“截至”此日")
@OUTBOX_OPTION
@option("--feedback", "feedback_dir", type=DIRECTORY,
        help="同时把退回修改件保存到此目录（默认只放在邮件附件里）")
@option("--force", is_flag=True, help="挡路的文件移入旁边的 旧版/ 文件夹，而不是停止")
@SEND_OPTION
@DRY_RUN_OPTION
def mail_feedback(inbox, campaign_path, as_of, outbox, feedback_dir, force, send_now, dry_run):
    """收集收件箱后：给需退回修改的单位发标注件和问题清单，给未提交的单位发催报。"""
    from .errors import InboxError
    from .workflow import run_round

    if Path(inbox).is_file():
        # A summary holds the findings but not the returned files that the marked-up copies
        # are made from, so the inbox itself is needed.
        raise InboxError(f"{inbox} 是文件：请给出收件箱文件夹（不是汇总表），退回修改件要从各单位报送的原文件生成")
    campaign = _campaign(campaign_path)
    result = run_round(inbox, campaign, summary=None, as_of=as_of, feedback_dir=feedback_dir, outbox=outbox,
                       force=force)
    _mail_finish(result.plan, campaign, send_now, dry_run)


def main(argv=None):
    """Console-script entry point."""
    cli.main(args=argv, prog_name="ledgerbook")
