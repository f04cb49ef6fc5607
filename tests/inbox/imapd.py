"""A real Dovecot IMAP server on 127.0.0.1 for the inbox tests (Debian's dovecot-imapd).

Started from a configuration written into a temporary folder: no system
configuration is read or changed. TLS only (imaps), with a certificate from
the tests' trustme CA; one user `bounces` with a plain password. As root the
mail is owned by `nobody` (Dovecot refuses to store mail as root), otherwise by
the user running the tests.
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import trustme

DOVECOT = Path(shutil.which("dovecot", path="/usr/sbin:/usr/bin:/sbin") or "/usr/sbin/dovecot")
USER, PASSWORD = "bounces", "imap-Pa55"


@dataclass(frozen=True)
class Imapd:
    port: int
    ca_file: Path

    @property
    def url(self) -> str:
        return f"imaps://{USER}@127.0.0.1:{self.port}/INBOX"

    @contextmanager
    def client(self) -> Iterator[imaplib.IMAP4_SSL]:
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        imap = imaplib.IMAP4_SSL("127.0.0.1", self.port, ssl_context=ctx, timeout=10)
        try:
            imap.login(USER, PASSWORD)
            imap.select("INBOX")
            yield imap
        finally:
            imap.logout()

    def append(self, data: bytes) -> str:
        """Deliver one message (as an MDA would); its UID."""
        with self.client() as imap:
            kind, answer = imap.append("INBOX", "", None, data)
        assert kind == "OK", answer
        return str(answer[0].decode().split("APPENDUID ")[1].split()[1].rstrip("]"))

    def flags(self, uid: str) -> str | None:
        """The message's flags; None when it is gone."""
        with self.client() as imap:
            _, found = imap.uid("FETCH", uid, "(FLAGS)")
        item = found[0] if found else None
        return item.decode() if isinstance(item, bytes) else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(folder: Path, home: Path, port: int) -> str:
    root = os.getuid() == 0
    me = pwd.getpwuid(os.getuid()).pw_name
    uid, gid = (
        (pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid)
        if root
        else (
            os.getuid(),
            os.getgid(),
        )
    )
    return f"""
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{folder}/cert.pem
ssl_key = <{folder}/key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain
default_internal_user = {"dovecot" if root else me}
default_login_user = {"dovenull" if root else me}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={home}/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


@contextmanager
def dovecot() -> Iterator[Imapd]:
    """Run Dovecot until the block ends; fails (never skips) when it is not installed.

    Its folder is a fresh one under the system's temporary folder, readable by
    Dovecot's own unprivileged users (pytest's folders are private to us).
    """
    if not DOVECOT.exists():
        raise AssertionError(f"{DOVECOT} not found: `make test-tools` installs dovecot-imapd")
    folder = Path(tempfile.mkdtemp(prefix="digest-imapd-"))
    try:
        folder.chmod(0o755)
        home = folder / "home"
        home.mkdir()
        if os.getuid() == 0:
            os.chown(home, pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid)
        with _running(folder, home) as server:
            yield server
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _running(folder: Path, home: Path) -> Iterator[Imapd]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    (folder / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n", encoding="ascii")
    port = _free_port()
    conf = folder / "dovecot.conf"
    conf.write_text(_config(folder, home, port), encoding="ascii")
    with (folder / "stderr.log").open("wb") as err:
        proc = subprocess.Popen([str(DOVECOT), "-F", "-c", str(conf)], stderr=err)
        try:
            server = Imapd(port, folder / "ca.pem")
            _wait(server, proc, folder)
            yield server
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def _wait(server: Imapd, proc: subprocess.Popen[bytes], folder: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"dovecot ended: {_logs(folder)}")
        try:
            with server.client():
                return
        except (OSError, imaplib.IMAP4.error):
            time.sleep(0.2)
    raise AssertionError(f"dovecot did not answer within 20 s: {_logs(folder)}")


def _logs(folder: Path) -> str:
    logs = [folder / "stderr.log", folder / "dovecot.log"]
    return " ".join(p.read_text(errors="replace")[-2000:] for p in logs if p.exists())
