"""click in Chinese: the help layout, usage errors and parameter types of the `ledgerbook` command.

The users are office clerks on Chinese Windows PCs: nothing click says on its own (``Usage:``,
``Options:``, ``Show this message and exit.``, ``No such command 'colect'.``, ``Directory 'x' is
a file.``) may reach them in English. click's texts are gettext strings, but a translation
catalogue would need a locale that Windows does not set; so the words are replaced where click
builds them: the help formatter, the help and version options, the command classes, the path
and date types, and one function that turns every usage error into one Chinese line.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from pathlib import Path

import click

HELP_TEXT = "显示本帮助并退出"
VERSION_TEXT = "显示版本号并退出"
OPTIONS_METAVAR = "[选项]"
SUBCOMMAND_METAVAR = "命令 [参数]..."
HEADINGS = {"Options": "选项", "Commands": "命令", "Arguments": "参数"}
EXTRAS = {"default: ": "默认：", "env var: ": "环境变量：", "required": "必填"}
SEE_HELP = "（用 --help 查看用法）"


class HelpFormatter(click.HelpFormatter):
    """click's help layout with Chinese headings: 用法： / 选项： / 命令："""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "用法：" if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{HEADINGS.get(heading, heading)}：\n")

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        """Options and their help in two columns, measured by display width: click counts a
        Han character as one column and the help of options with Chinese names would not line up."""
        rows = list(rows)
        first = min(max((display_width(term) for term, _ in rows), default=0), col_max)
        for term, text in rows:
            self.write(f"{'':>{self.current_indent}}{term}")
            if not text:
                self.write("\n")
                continue
            pad = first - display_width(term)
            if pad >= 0:
                self.write(" " * (pad + col_spacing))
            else:
                self.write("\n" + " " * (self.current_indent + first + col_spacing))
            self.write(" ".join(text.split()) + "\n")


def display_width(text: str) -> int:
    """Columns a text takes on a terminal: Han characters and full-width punctuation take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


class Context(click.Context):
    formatter_class = HelpFormatter


class Option(click.Option):
    """An option whose help extras (``[required]``) are in Chinese."""

    def get_help_record(self, ctx: click.Context):
        record = super().get_help_record(ctx)
        if record is None:
            return None
        spec, text = record
        extra = re.search(r"\[([^\[\]]*)\]$", text)
        if extra:
            words = extra.group(1)
            for english, chinese in EXTRAS.items():
                words = words.replace(english, chinese)
            words = re.sub(r"(-?\d+)<=x<=(-?\d+)", r"\1～\2", words)
            text = text[: extra.start()] + f"[{words.replace('; ', '；')}]"
        return spec, text


class _Chinese:
    """What the command and the group classes share: Chinese usage line and help option."""

    context_class = Context

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", OPTIONS_METAVAR)
        super().__init__(*args, **kwargs)

    def get_help_option(self, ctx: click.Context):
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = HELP_TEXT
        return option


class Command(_Chinese, click.Command):
    pass


class Group(_Chinese, click.Group):
    """A group that shows its help when called bare (exit 0) and suggests the nearest command."""

    command_class = Command
    group_class = type  # subgroups are of this class too

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("subcommand_metavar", SUBCOMMAND_METAVAR)
        super().__init__(*args, **kwargs)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args and not ctx.resilient_parsing:
            # `ledgerbook` (or `ledgerbook mail`) alone: the help, not an error.
            click.echo(ctx.get_help(), color=ctx.color)
            ctx.exit(0)
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name = args[0] if args else ""
        if (name and not name.startswith("-") and self.get_command(ctx, name) is None
                and not ctx.resilient_parsing):
            raise click.UsageError(f"没有“{name}”这个命令。{_suggest(name, list(self.commands))}", ctx)
        return super().resolve_command(ctx, args)


def _suggest(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    if close:
        return f"您是不是要输入 {close[0]}？"
    return f"可用的有：{'、'.join(sorted(choices))}。"


class PathType(click.ParamType):
    """A file or folder path, checked and described in Chinese (click.Path's words are English).

    Args:
        kind: "file" (an existing folder is refused), "dir" (an existing file is refused) or
            "any". Nothing needs to exist yet: the library says what is missing.
    """

    _METAVARS = {"file": "文件", "dir": "目录", "any": "路径"}

    def __init__(self, kind: str = "any"):
        self.kind = kind
        self.name = self._METAVARS[kind]

    def get_metavar(self, param, ctx=None) -> str:  # ctx is new in click 8.2
        return self.name

    def convert(self, value, param, ctx):
        text = str(value)
        path = Path(text)
        if self.kind == "file" and path.is_dir():
            self.fail(f"“{text}”是文件夹，这里要的是文件", param, ctx)
        if self.kind == "dir" and path.exists() and not path.is_dir():
            self.fail(f"“{text}”是文件，这里要的是文件夹", param, ctx)
        return text


class DateType(click.ParamType):
    name = "日期"

    def get_metavar(self, param, ctx=None) -> str:
        return self.name

    def convert(self, value, param, ctx):
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(f"“{value}”不是日期，请写成 YYYY-MM-DD，如 2019-10-31", param, ctx)


# Two or more English words in a row: what is left of a click text nobody translated.
_ENGLISH = re.compile(r"[A-Za-z]{2,}(?:[ ,'’]+[A-Za-z]{2,})+")
_EXTRA_ARGS = re.compile(r"unexpected extra arguments? \((.*)\)", re.S)


def _param_name(param: click.Parameter | None) -> str:
    if param is None:
        return ""
    if isinstance(param, click.Argument):
        return (param.metavar or param.human_readable_name).strip("[]")
    return "/".join(param.opts) if param.opts else param.human_readable_name


def usage_error_text(exc: click.ClickException) -> str:
    """A usage error of click's as one Chinese line (never click's English words)."""
    if isinstance(exc, click.MissingParameter):
        what = "参数" if isinstance(exc.param, click.Argument) else "选项"
        return f"缺少{what} {_param_name(exc.param)}{SEE_HELP}"
    if isinstance(exc, click.NoSuchOption):
        possibilities = list(getattr(exc, "possibilities", None) or [])
        hint = f"您是不是要输入 {possibilities[0]}？" if possibilities else "用 --help 查看全部选项。"
        return f"没有 {exc.option_name} 这个选项。{hint}"
    if isinstance(exc, click.BadOptionUsage):
        name = exc.option_name
        if "does not take a value" in exc.message:
            return f"选项 {name} 是开关，后面不能跟值{SEE_HELP}"
        if "requires" in exc.message:
            return f"选项 {name} 后面缺少值{SEE_HELP}"
        return f"选项 {name} 用法不对{SEE_HELP}"
    if isinstance(exc, click.BadParameter):
        what = "参数" if isinstance(exc.param, click.Argument) else "选项"
        kind = exc.param.type if exc.param is not None else None
        if isinstance(kind, (PathType, DateType)):
            detail = exc.message
        elif isinstance(kind, click.IntRange):
            detail = f"应为 {kind.min}～{kind.max} 之间的整数"
        elif isinstance(kind, click.types.IntParamType):
            detail = "应为整数"
        else:
            detail = "值不符合要求"
        return f"{what} {_param_name(exc.param)}：{detail}"
    if isinstance(exc, click.UsageError):
        message = exc.message or ""
        extra = _EXTRA_ARGS.search(message)
        if extra:
            return f"多余的参数：{extra.group(1)}{SEE_HELP}"
        if not _ENGLISH.search(message):
            return message if message.endswith(("？", "。")) else f"{message}{SEE_HELP}"
        return f"命令行用法有误{SEE_HELP}"
    message = exc.format_message()
    return message if not _ENGLISH.search(message) else "命令行有误"
