"""A real IMAP server for the tests: Dovecot (Debian ``dovecot-imapd``) with its own
configuration in a temporary folder, listening on 127.0.0.1 on free ports.

One user in a passwd-file, Maildir storage, a self-signed certificate for 127.0.0.1 made with
the openssl command. As root (CI), the master and auth run as root, but ``imap-login`` runs as
``nobody`` and the mail processes as uid/gid 65534, because Dovecot refuses root for both; the
folder is 0755 so those users can reach their part. As an ordinary user, everything runs as
that user. Only the master started here, and its children, are ever stopped (by its
process group).

A plain module (not conftest) so tests can import it by name.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

DOVECOT = shutil.which("dovecot") or next(
    (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.access(p, os.X_OK)), None)
DOVEADM = shutil.which("doveadm") or next(
    (p for p in ("/usr/bin/doveadm", "/usr/local/bin/doveadm") if os.access(p, os.X_OK)), None)
OPENSSL = shutil.which("openssl")
REQUIRE_DOVECOT = os.environ.get("LEDGERBOOK_REQUIRE_DOVECOT") == "1"

USER = "dwzzb@example.edu.cn"
# Looks like the 16-letter authorisation codes (授权码) QQ Mail and 163 hand out.
PASSWORD = "qwhzkcvnrtlpbdje"
NOBODY = 65534

_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
default_internal_user = {internal}
default_internal_group = {internal_group}
default_login_user = {login}
first_valid_uid = {uid}
last_valid_uid = 0
auth_failure_delay = 0
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
imap_id_log = *
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  # No anvil-auth-penalty socket, no login penalty: a wrong-password test must not slow the
  # next login from 127.0.0.1 (auth_failure_delay covers only the first reply).
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dovecot:
    """One Dovecot master and what a test needs to talk to it."""

    def __init__(self) -> None:
        # Not pytest's tmp_path: that is 0700 for root, and the mail processes run as nobody.
        self.root = Path(tempfile.mkdtemp(prefix="ledgerbook-dovecot-"))
        self.root.chmod(0o755)
        self.imap_port, self.imaps_port = free_port(), free_port()
        self.cert = self.root / "cert.pem"
        self.log = self.root / "dovecot.log"
        self.config = self.root / "dovecot.conf"
        self.home = self.root / "home"
        self._process: subprocess.Popen | None = None
        self._counter = 0
        self._write_files()

    # ------------------------------------------------------------------ set-up

    def _write_files(self) -> None:
        subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", str(self.root / "key.pem"), "-out", str(self.cert), "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=60)
        for sub in ("run", "state"):
            (self.root / sub).mkdir()
        self.home.mkdir()
        if os.geteuid() == 0:
            uid = gid = NOBODY
            os.chown(self.home, uid, gid)
            internal, internal_group, login = "root", "root", "nobody"
        else:
            uid, gid = os.getuid(), os.getgid()
            me = pwd.getpwuid(uid).pw_name
            internal, internal_group, login = me, me, me
        (self.root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{self.home}::\n")
        self.config.write_text(_CONFIG.format(root=self.root, internal=internal, internal_group=internal_group,
                                              login=login, uid=uid, imap_port=self.imap_port,
                                              imaps_port=self.imaps_port))

    def start(self) -> None:
        """Start the master in the foreground (so this object holds its pid) and wait for it."""
        out = open(self.root / "master.out", "ab")
        # Its own process group: stopping it stops its children (the imap processes serving open
        # connections outlive a master stopped alone) and nothing else.
        self._process = subprocess.Popen([DOVECOT, "-F", "-c", str(self.config)], stdout=out, stderr=out,
                                         start_new_session=True)
        out.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {(self.root / 'master.out').read_text(errors='replace')}"
                                   f"{self.log.read_text(errors='replace') if self.log.exists() else ''}")
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                client = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=2)
                client.logout()
                return
            time.sleep(0.05)
        raise RuntimeError("dovecot did not start listening within 20 s")

    def stop(self) -> None:
        """Stop the master started here and its children, as a server going down: open
        connections are cut."""
        if self._process is None:
            return
        group = self._process.pid  # start_new_session: the master leads its own group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            self._process.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the children too
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        self._process = None
        # The listeners must be gone before a test goes on (or restarts on the same ports).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.imap_port), timeout=0.2).close()
            except OSError:
                return
            time.sleep(0.05)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # ------------------------------------------------------------------ use

    def tls_context(self) -> ssl.SSLContext:
        """A context that trusts this server's self-signed certificate (and verifies it)."""
        return ssl.create_default_context(cafile=str(self.cert))

    @contextlib.contextmanager
    def client(self):
        """The test's own IMAP connection (TLS, logged in), to put mail in and look at it."""
        imap = imaplib.IMAP4_SSL("127.0.0.1", self.imaps_port, ssl_context=self.tls_context(), timeout=20)
        imap.login(USER, PASSWORD)
        try:
            yield imap
        finally:
            with contextlib.suppress(Exception):
                imap.logout()

    def new_folder(self, prefix: str = "t") -> str:
        """A fresh folder for one test, so tests do not see each other's mail."""
        self._counter += 1
        name = f"{prefix}{self._counter}"
        with self.client() as imap:
            typ, data = imap.create(name)
            assert typ == "OK", data
        return name

    def append(self, folder: str, data: bytes, when: float, flags: str = "") -> None:
        """APPEND one message (CRLF line ends, as IMAP requires) with INTERNALDATE `when`."""
        assert b"\n" not in data.replace(b"\r\n", b""), "give the test's messages CRLF line ends"
        with self.client() as imap:
            typ, resp = imap.append(folder, f"({flags})" if flags else None, imaplib.Time2Internaldate(when), data)
            assert typ == "OK", resp

    def flags(self, folder: str) -> dict[int, set[str]]:
        """UID → flags (without \\Recent, which belongs to a session), read with EXAMINE."""
        with self.client() as imap:
            imap.select(folder, readonly=True)
            typ, data = imap.uid("FETCH", "1:*", "(UID FLAGS)")
        out = {}
        for line in data:
            if not line:
                continue
            text = line.decode() if isinstance(line, bytes) else line[0].decode()
            uid = int(text.split("UID ")[1].split()[0].rstrip(")"))
            flags = text.split("FLAGS (")[1].split(")")[0].split()
            out[uid] = {f for f in flags if f != "\\Recent"}
        return out

    def delete_folder(self, folder: str) -> None:
        with self.client() as imap:
            typ, data = imap.delete(folder)
            assert typ == "OK", data

    def create_folder(self, folder: str) -> None:
        with self.client() as imap:
            typ, data = imap.create(folder)
            assert typ == "OK", data

    def doveadm(self, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess:
        """Run doveadm against this server's configuration (folder names in UTF-8, not IMAP's)."""
        return subprocess.run([DOVEADM, "-c", str(self.config), *args], input=input, check=True,
                              capture_output=True, timeout=60)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def campaign_section(self, security: str = "ssl", **extra) -> str:
        """An [imap] section pointing at this server."""
        port = self.imaps_port if security == "ssl" else self.imap_port
        settings = {"host": "127.0.0.1", "port": port, "security": security, "username": USER, **extra}
        return "[imap]\n" + "\n".join(f'{k} = {v!r}' if isinstance(v, int) else f'{k} = "{v}"'
                                      for k, v in settings.items()) + "\n"
