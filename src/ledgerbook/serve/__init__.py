"""台账工作台 (`ledgerbook serve`): a local web page for the clerk who does not use a terminal.

:func:`create_app` builds the ASGI application for a working folder; :func:`serve` runs it on
127.0.0.1 until Ctrl-C. The page shows what the library returns; it checks nothing itself.
"""

from __future__ import annotations

__all__ = ["create_app", "serve"]


def create_app(*args, **kwargs):
    """See :func:`ledgerbook.serve.app.create_app`."""
    from .app import create_app as make

    return make(*args, **kwargs)


def serve(*args, **kwargs):
    """See :func:`ledgerbook.serve.server.serve`."""
    from .server import serve as run

    return run(*args, **kwargs)
