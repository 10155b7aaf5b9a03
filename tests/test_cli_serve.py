"""`ledgerbook serve` as the clerk starts it: the address first, 127.0.0.1 only, a clean Ctrl-C."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from ledgerbook.cli import cli
from ledgerbook.serve.server import bind

URL = re.compile(r"^http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_-]{32,})$")


def _start(directory: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).resolve().parents[1] / "src"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-m", "ledgerbook", "serve", str(directory), "--no-browser", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8", env=env)


def _first_line(proc: subprocess.Popen, timeout: float = 60) -> str:
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    assert box, "ledgerbook serve printed nothing"
    return box[0].rstrip("\n")


def _open(url: str, opener, timeout: float = 30) -> tuple[int, str]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with opener.open(url, timeout=10) as response:
                return response.status, response.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8")
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_serve_prints_the_address_first_and_stops_cleanly_on_ctrl_c(tmp_path):
    proc = _start(tmp_path / "新文件夹")
    try:
        line = _first_line(proc)
        match = URL.match(line)
        assert match, line
        port = int(match.group(1))
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        status, page = _open(line, opener)
        assert status == 200 and "台账工作台" in page and "尚未汇总" in page
        status, refused = _open(f"http://127.0.0.1:{port}/", urllib.request.build_opener())
        assert status == 403 and "访问令牌" in refused
        # Only the loopback address listens.
        with socket.socket() as probe:
            probe.settimeout(2)
            assert probe.connect_ex(("127.0.0.1", port)) == 0
        assert (tmp_path / "新文件夹" / "inbox").is_dir()
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in out + err
    assert out.strip().splitlines()[-1] == "台账工作台已停止。"


def test_a_port_that_is_taken_is_one_chinese_line(tmp_path):
    taken = bind(None)
    try:
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", str(tmp_path), "--no-browser", "--port", str(port)])
    finally:
        taken.close()
    assert result.exit_code == 2
    assert f"端口 {port} 已被占用" in result.output and "Traceback" not in result.output


def test_the_usual_port_taken_means_another_free_one():
    first = bind(None)
    try:
        second = bind(None)
        try:
            assert second.getsockname()[0] == "127.0.0.1"
            assert second.getsockname()[1] != first.getsockname()[1]
        finally:
            second.close()
    finally:
        first.close()


def test_a_file_as_dir_is_one_chinese_line(tmp_path):
    (tmp_path / "f").write_text("x")
    result = CliRunner().invoke(cli, ["serve", str(tmp_path / "f"), "--no-browser"])
    assert result.exit_code == 2 and "不是文件夹" in result.output


@pytest.mark.parametrize("args", [["serve", "--help"], ["--help"]])
def test_help_mentions_the_workbench(args):
    result = CliRunner().invoke(cli, args)
    assert "台账工作台" in result.output
