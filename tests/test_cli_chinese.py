"""Nothing click says reaches the clerk in English: every help text and every usage error is Chinese."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from ledgerbook.cli import cli

# What may stay in Latin letters: the program and its commands, option names, formats and
# products the clerk knows by these names.
ALLOWED = {"ledgerbook", "campaign", "toml", "collect", "demo", "init", "mail", "template", "templates",
           "feedback", "inbox", "eml", "xlsx", "SMTP", "Outlook", "WPS", "Excel", "QQ", "YYYY", "MM", "DD"}
CLICK_WORDS = re.compile(r"\b(Usage|Options|Commands|Show|Error|Missing|required|default|Try|Invalid|Got|such|mean|"
                         r"version|Aborted|argument|option|command|directory|file|exist|text|integer|path|date)\b", re.I)
_ALLOWED = {word.lower() for word in ALLOWED}


def english(text: str) -> list[str]:
    """Runs of two or more English words, and click's own words, left in a text."""
    text = re.sub(r"--?[A-Za-z][\w-]*", " ", text)      # option names
    text = re.sub(r"\S+\.(toml|xlsx|eml)\b", " ", text)  # file names
    tokens = [t for t in re.findall(r"[A-Za-z]+|[^\sA-Za-z]", text) if t.lower() not in _ALLOWED]
    runs, run = [], []
    for token in tokens + ["。"]:
        if token.isascii() and token.isalpha() and len(token) >= 2:
            run.append(token)
            continue
        if len(run) >= 2:
            runs.append(" ".join(run))
        run = []
    return runs + CLICK_WORDS.findall(" ".join(tokens))


def all_commands(group: click.Group = cli, path: tuple[str, ...] = ()):
    yield path
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from all_commands(command, path + (name,))
        else:
            yield path + (name,)


def run(args: list[str]):
    return CliRunner().invoke(cli, args)


def test_the_english_finder_finds_clicks_words():
    assert english("Usage: ledgerbook [OPTIONS] COMMAND") and english("Show this message and exit.")
    assert english("错误：No such command 'colect'.") and english("File 'x' is a directory.")
    assert not english("用法：ledgerbook collect [选项] 收件箱\n  -o, --output 文件  汇总表文件（.xlsx）")


@pytest.mark.parametrize("path", list(all_commands()), ids=lambda p: " ".join(p) or "ledgerbook")
def test_every_help_is_chinese_and_every_option_described(path):
    result = run([*path, "--help"])
    assert result.exit_code == 0
    assert not english(result.output), (english(result.output), result.output)
    assert "用法：ledgerbook" in result.output and "选项：" in result.output
    command = cli
    for name in path:
        command = command.commands[name]
    assert command.help and not english(command.help)
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help and not english(param.help), (path, param.opts)


@pytest.mark.parametrize("args, expected", [
    (["colect", "inbox"], "您是不是要输入 collect？"),
    (["templat"], "您是不是要输入 template？"),
    (["mail", "feedbak"], "您是不是要输入 feedback？"),
    (["xyz"], "可用的有："),
    (["collect"], "缺少参数 收件箱"),
    (["collect", "inbox", "--bogus"], "没有 --bogus 这个选项"),
    (["collect", "inbox", "--as-off", "2019-10-01"], "您是不是要输入 --as-of？"),
    (["collect", "inbox", "--as-of"], "选项 --as-of 后面缺少值"),
    (["collect", "inbox", "--as-of", "10月1日"], "不是日期"),
    (["collect", "inbox", "--strict=yes"], "是开关"),
    (["init", "a", "b"], "多余的参数：b"),
    (["mail", "templates"], "缺少选项 -o/--outbox"),
    (["serve", "--port", "0"], "应为 1～65535 之间的整数"),
    (["serve", "--port", "八千"], "应为 1～65535 之间的整数"),
])
def test_usage_errors_are_one_chinese_line(args, expected):
    result = run(args)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("错误：") and expected in lines[0], result.output
    assert not english(result.output), result.output


def test_path_errors_say_what_was_expected(tmp_path):
    a_file = tmp_path / "campaign.toml"
    a_file.write_text("x = 1", encoding="utf-8")
    for args, expected in ((["init", str(a_file)], "是文件，这里要的是文件夹"),
                           (["collect", str(tmp_path), "-o", str(tmp_path)], "是文件夹，这里要的是文件"),
                           (["collect", str(tmp_path), "-c", str(tmp_path)], "是文件夹，这里要的是文件")):
        result = run(args)
        shown = result.output.replace(str(tmp_path), "…")  # the test's own folder name is English
        assert result.exit_code == 2 and expected in shown and not english(shown), result.output


def test_bare_commands_show_their_help():
    for args in ([], ["mail"]):
        result = run(args)
        assert result.exit_code == 0 and result.output.startswith("用法：ledgerbook"), result.output
    assert run(["--version"]).output.startswith("ledgerbook ")


@pytest.mark.parametrize("text, expected", [
    ('[campaign]\ninstitution = 湖南科技大学\n', "第 2 行第 15 列：值的写法不对"),
    ('[campaign]\ntitle = "整顿台账\n', "引号没有配对"),
    ('[campaign]\nstart = 2019-09-31\n', "日期不存在"),
    ('[campaign]\ninstitution = “湖南科技大学”\n', "英文双引号"),
])
def test_campaign_syntax_errors_are_explained_in_chinese(tmp_path, text, expected):
    path = tmp_path / "campaign.toml"
    path.write_text(text, encoding="utf-8")
    result = run(["template", "-c", str(path), "-o", str(tmp_path / "t.xlsx")])
    assert result.exit_code == 2 and expected in result.output, result.output
    assert not english(result.output.replace(str(tmp_path), "…")), result.output


def test_a_campaign_saved_as_gbk_is_explained(tmp_path):
    path = tmp_path / "campaign.toml"
    path.write_bytes('[campaign]\ninstitution = "湖南科技大学"\n'.encode("gbk"))
    result = run(["template", "-c", str(path), "-o", str(tmp_path / "t.xlsx")])
    assert result.exit_code == 2 and "UTF-8" in result.output and "另存为" in result.output


def test_a_gbk_console_never_crashes_on_names_it_cannot_show(tmp_path, campaign):
    """`ledgerbook collect … > 结果.txt` on Chinese Windows writes GBK: an emoji in a file name
    (common in files forwarded from WeChat) is shown as "?" instead of ending the run."""
    import os
    import subprocess
    import sys

    from ledgerbook.demo import samples

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    name = f"整顿台账_{campaign.units[0].name}😀（微信转发）.xlsx"
    samples.write_ledger(samples.clean_ledger(campaign, campaign.units[0], n_rows=2), campaign, inbox / name)
    (inbox / "说明🙏.txt").write_text("附件是台账", encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "gbk"}
    done = subprocess.run([sys.executable, "-m", "ledgerbook", "collect", str(inbox), "-v", "-o",
                           str(tmp_path / "汇总表.xlsx")], capture_output=True, env=env, timeout=120)
    stdout, stderr = done.stdout.decode("gbk"), done.stderr.decode("gbk")
    assert done.returncode == 0, stderr
    assert "Traceback" not in stderr and "UnicodeEncodeError" not in stderr
    assert f"整顿台账_{campaign.units[0].name}?（微信转发）.xlsx" in stdout
    assert "汇总表已写出" in stdout and (tmp_path / "汇总表.xlsx").exists()
