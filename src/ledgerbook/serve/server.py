"""Running the workbench: a socket on 127.0.0.1, uvicorn, the browser, and a clean Ctrl-C."""

from __future__ import annotations

import errno
import os
import socket
import threading
import webbrowser
from pathlib import Path
from typing import Callable

from ..errors import LedgerbookError
from .security import Keys

HOST = "127.0.0.1"
#: The usual port; when it is taken (a second workbench, another program) a free one is chosen.
DEFAULT_PORT = 8765


class PortError(LedgerbookError):
    """The port asked for cannot be used."""


def bind(port: int | None) -> socket.socket:
    """A listening socket on 127.0.0.1.

    Args:
        port: the port asked for; None tries DEFAULT_PORT, then any free port.

    Raises:
        PortError: the port asked for is taken or not allowed.
    """
    for candidate in ([port] if port is not None else [DEFAULT_PORT, 0]):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if os.name != "nt":  # a restart may rebind at once (on Windows the option would share the port)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, candidate))
        except OSError as exc:
            sock.close()
            if port is None and exc.errno in (errno.EADDRINUSE, errno.EACCES):
                continue
            if exc.errno == errno.EADDRINUSE:
                raise PortError(f"端口 {candidate} 已被占用：换一个 --port，或不指定端口由程序自动选择") from None
            raise PortError(f"无法使用端口 {candidate}：{exc.strerror or exc}") from None
        sock.listen(64)
        sock.set_inheritable(True)
        return sock
    raise PortError("找不到可用的端口")  # pragma: no cover - port 0 always binds


def serve(directory: str | Path, *, port: int | None = None, open_browser: bool = True,
          echo: Callable[[str], None] = print) -> None:
    """Serve the workbench for DIR until Ctrl-C.

    The first line echoed is the address with its token; then a few lines for the clerk.

    Args:
        directory: DIR (created with its inbox when missing).
        port: the port; None: DEFAULT_PORT, or a free one when it is taken.
        open_browser: open the address in the default browser once the server listens.
        echo: where the lines go (the CLI passes click.echo).

    Raises:
        PortError: the port asked for cannot be used.
        WorkDirError: DIR cannot be used.
    """
    import uvicorn

    from .app import create_app

    sock = bind(port)
    actual = sock.getsockname()[1]
    keys = Keys(port=actual)
    try:
        app = create_app(directory, keys=keys, port=actual, log=echo)
    except BaseException:
        sock.close()
        raise
    work = app.bench.work
    echo(keys.url())
    echo(f"台账工作台已启动，工作文件夹：{work.root}")
    echo(f"收件箱：{work.inbox}　汇总表：{work.summary.name}　退回修改件：{work.feedback.name}/　"
         f"邮件草稿：{work.outbox.name}/　模板：{work.templates.name}/")
    echo("在浏览器中打开上面的地址（含 token）；按 Ctrl-C 停止。")
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    if open_browser:
        def opener() -> None:
            # Only once the server answers, so the browser does not show "cannot connect".
            for _ in range(100):
                if server.started:
                    webbrowser.open(keys.url())
                    return
                threading.Event().wait(0.05)

        threading.Thread(target=opener, daemon=True).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the Ctrl-C it handled: stopping is what was asked for
    finally:
        sock.close()
    echo("台账工作台已停止。")
