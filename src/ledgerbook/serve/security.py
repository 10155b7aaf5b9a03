"""The door of the local server: host, token, CSRF and the headers on every response.

It listens on 127.0.0.1, but any web page the clerk visits could still send requests to it
(and a DNS-rebinding page could even read the answers). So, as Jupyter does, every request
must carry the random token of this run: in the address it printed (``?token=…``, which sets
a cookie and is then dropped from the address bar) or in that cookie. The Host header must name
this machine (no rebinding), a POST must come from this page's origin when the browser says
where it comes from, and it must carry the CSRF token printed into the page's forms.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Callable
from urllib.parse import parse_qsl, quote, urlencode

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")

# The page uses only its own scripts, styles and images; nothing may frame it.
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
     b"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),  # no-referrer would make Chrome send "Origin: null"
    (b"cache-control", b"no-store"),
]


def new_token() -> str:
    """A random token for the address or the forms (as hard to guess as Jupyter's)."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Keys:
    """The secrets of one server run.

    Attributes:
        token: required on every request (address or cookie).
        csrf: required on every POST (form field ``csrf`` or header ``X-CSRF-Token``).
        port: the port served, part of the cookie's name (cookies do not tell ports apart).
    """

    port: int
    token: str = field(default_factory=new_token)
    csrf: str = field(default_factory=new_token)

    @property
    def cookie(self) -> str:
        return f"ledgerbook-{self.port}"

    def token_ok(self, value: str | None) -> bool:
        return bool(value) and secrets.compare_digest(value.encode(), self.token.encode())

    def csrf_ok(self, value: str | None) -> bool:
        return bool(value) and secrets.compare_digest(value.encode(), self.csrf.encode())

    def hosts(self) -> set[str]:
        return {f"{name}:{self.port}" for name in LOOPBACK_NAMES}

    def origins(self) -> set[str]:
        return {f"http://{host}" for host in self.hosts()}

    def url(self, host: str = "127.0.0.1") -> str:
        """The address to open, with the token (the first line `ledgerbook serve` prints)."""
        return f"http://{host}:{self.port}/?token={self.token}"


class Guard:
    """ASGI middleware: refuses what does not come from the clerk's own page, and adds the
    security headers to every response."""

    def __init__(self, app, keys: Keys, refuse: Callable[[int, str], tuple[bytes, bytes]]):
        """
        Args:
            app: the application.
            keys: the run's secrets.
            refuse: builds (content type, body) of the refusal page for (status, message).
        """
        self.app = app
        self.keys = keys
        self.refuse = refuse

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if headers.get("host", "").lower() not in self.keys.hosts():
            await self._refuse(send, 403, "请用启动时显示的地址（127.0.0.1）打开台账工作台")
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = dict(query).get("token")
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed Cookie header is the same as none
            cookie = SimpleCookie()
        from_cookie = cookie[self.keys.cookie].value if self.keys.cookie in cookie else None
        if not (self.keys.token_ok(given) or self.keys.token_ok(from_cookie)):
            await self._refuse(send, 403, "缺少或错误的访问令牌：请用启动 ledgerbook serve 时显示的完整地址"
                                          "（含 ?token=…）打开")
            return
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            origin = headers.get("origin")
            if origin is not None and origin not in self.keys.origins():
                await self._refuse(send, 403, "拒绝来自其他网页的请求")
                return
        if given is not None and method in ("GET", "HEAD"):
            # Keep the token out of the address bar and history: it lives on in the cookie.
            rest = urlencode([(k, v) for k, v in query if k != "token"])
            location = quote(scope.get("root_path", "") + scope["path"]) + (f"?{rest}" if rest else "")
            await send({"type": "http.response.start", "status": 303, "headers": [
                (b"location", location.encode("utf-8")),
                (b"set-cookie", f"{self.keys.cookie}={self.keys.token}; HttpOnly; SameSite=Strict; Path=/".encode()),
                *SECURITY_HEADERS]})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _refuse(self, send, status: int, message: str) -> None:
        ctype, body = self.refuse(status, message)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode()),
                                *SECURITY_HEADERS]})
        await send({"type": "http.response.body", "body": body})
