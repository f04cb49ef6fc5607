"""The real `digest web` on a loopback port, over a real state folder.

The first tests need only the server. The one-click test goes the whole way a
reader does: `digest subscribers add`, `digest run` to a real SMTP server, the
List-Unsubscribe URL out of the received message, a POST to the running
`digest web`, and the next run leaving the reader out.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes
from pathlib import Path
from urllib.parse import urlsplit

import dkim
import pytest
from conftest import REAL_SEED, Handler, SeedWriter, StartServer, free_port, run_cli
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from itsdangerous import URLSafeSerializer
from test_dkim import DOMAIN, SELECTOR, dns_for, write_key

from digest.readers import tokens

pytestmark = pytest.mark.slow

PUBLIC = "https://news.example.org/digest"


class WebServer:
    """A `digest web` child process; `request` speaks HTTP to it (no redirect followed)."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.port = free_port()
        full = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
        full.update(env)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "digest", "web", "--listen", f"127.0.0.1:{self.port}"],
            env=full,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read() if self.proc.stderr else ""
                raise AssertionError(f"digest web ended: {err}")
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("digest web did not answer /healthz within 20 s")

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read().decode()
        finally:
            conn.close()

    def stop(self) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return self.proc.returncode, err


@pytest.fixture
def start_web(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], WebServer]]:
    started: list[WebServer] = []

    def start(env: dict[str, str]) -> WebServer:
        server = WebServer(env, tmp_path)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_digest_web_serves_the_archive_and_stops_on_sigterm(
    tmp_path: Path, start_web: Callable[[dict[str, str]], WebServer]
) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "digest-20260305-070000.html").write_text(
        "<html><head><title>Thursday news</title></head><body>x</body></html>"
    )
    web = start_web({"DIGEST_STATE_DIR": str(tmp_path / "state")})
    status, headers, body = web.request("GET", "/archive/")
    assert status == 200 and "Thursday news" in body
    assert headers["X-Frame-Options"] == "DENY"
    assert web.request("GET", "/archive/digest-20260305-070000.html")[2].endswith("</html>")
    assert web.request("GET", "/archive/..%2fstate%2fsecret_key")[0] == 404
    status, _, body = web.request("POST", "/unsubscribe/forged.token")
    assert status == 404 and "This link does not work" in body
    key = tmp_path / "state" / "secret_key"
    assert key.stat().st_mode & 0o777 == 0o600  # generated once, readable by the owner only
    code, err = web.stop()
    assert code == 0
    assert "reader pages on http://127.0.0.1:" in err
    assert "reader pages stopped" in err


def test_a_taken_port_is_one_clear_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("web", "--listen", f"127.0.0.1:{port}")
    assert result.code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.err
    assert "Traceback" not in result.err


# --- the whole way: a subscriber's digest, then its links


def subscribers(env: dict[str, str]) -> dict[str, str]:
    result = run_cli("subscribers", "list", "--json", env=env)
    assert result.code == 0, result.err
    rows = [json.loads(line) for line in result.out.splitlines() if line.strip()]
    return {row["email"]: row["status"] for row in rows}


def test_digest_serve_serves_the_pages_when_web_listen_is_set(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(
        {
            "DIGEST_STATE_DIR": str(tmp_path / "state"),
            "DIGEST_SEEDS_DIR": str(tmp_path / "seeds"),
            "DIGEST_SCHEDULE": "@every 2h",
            "DIGEST_WEB_LISTEN": f"127.0.0.1:{port}",
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "digest", "serve"],
        env=env,
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline, status = time.monotonic() + 20, 0
        while time.monotonic() < deadline and status != 200:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                conn.request("GET", "/healthz")
                status = conn.getresponse().status
            except OSError:
                time.sleep(0.1)
            finally:
                conn.close()
        assert status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert f"reader pages on http://127.0.0.1:{port}" in err
    assert "reader pages stopped" in err


def one_click_urls(handler: Handler) -> dict[str, str]:
    """Recipient -> the https URL of its List-Unsubscribe header."""
    found: dict[str, str] = {}
    for received in handler.messages:
        msg = message_from_bytes(received.content)
        header = " ".join(str(msg["List-Unsubscribe"]).split())
        https = re.findall(r"<(https://[^>]+)>", header)
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        found[received.rcpt_tos[0]] = https[0]
    return found


def local_path(public: str) -> str:
    assert public.startswith(PUBLIC + "/")
    return urlsplit(public).path.removeprefix(urlsplit(PUBLIC).path)


def test_one_click_unsubscribe_end_to_end(
    tmp_path: Path,
    seeds: SeedWriter,
    plain_server: StartServer,
    start_web: Callable[[dict[str, str]], WebServer],
) -> None:
    handler = Handler()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = write_key(tmp_path / "dkim.pem", key, serialization.PrivateFormat.PKCS8)
    env = {
        "DIGEST_SEEDS_DIR": str(tmp_path / "seeds"),
        "DIGEST_STATE_DIR": str(tmp_path / "state"),
        "DIGEST_SMTP_HOST": "127.0.0.1",
        "DIGEST_SMTP_PORT": str(plain_server(handler)),
        "DIGEST_SMTP_SECURITY": "none",
        "DIGEST_PUBLIC_URL": PUBLIC,
        "DIGEST_WORKERS": "1",
        "DIGEST_ARCHIVE_DIR": str(tmp_path / "archive"),
        "DIGEST_DKIM_KEY_FILE": str(key_file),
        "DIGEST_DKIM_SELECTOR": SELECTOR,
        "DIGEST_DKIM_DOMAIN": DOMAIN,
    }
    readers = ["ann@example.net", "ben@example.net", "cy@example.net"]
    for reader in readers:
        assert run_cli("subscribers", "add", reader, env=env).code == 0
    seeds("first.txt", REAL_SEED.read_text(encoding="utf-8"))
    assert run_cli("run", env=env).code == 0
    links = one_click_urls(handler)
    assert sorted(links) == readers
    for received in handler.messages:  # signed over the one-click headers: Gmail's condition
        assert dkim.verify(received.content, dnsfunc=dns_for(key))
    web = start_web(env)

    # "View in your browser": the archived copy, with nobody's personal links in it.
    html = handler.messages[0].content.decode("ascii", "replace").replace("=\r\n", "")
    copies = set(re.findall(re.escape(PUBLIC) + r"/copy/[A-Za-z0-9_.=-]+", html))
    assert len(copies) == 1
    status, _, copy = web.request("GET", local_path(copies.pop()).replace("=3D", "="))
    assert status == 200
    assert "/unsubscribe/" not in copy and "/preferences/" not in copy

    # A scanner opening the link, and forged links, change nothing.
    assert web.request("GET", local_path(links["ann@example.net"]))[0] == 200
    path = local_path(links["ann@example.net"])
    token = path.rsplit("/", 1)[1]
    _, (subscriber_id, key) = URLSafeSerializer("any").loads_unsafe(token)  # unchecked
    forged = tokens.make("not-our-secret", "unsubscribe", subscriber_id, key)
    for bad in (f"/unsubscribe/{forged}", path.replace("/unsubscribe/", "/preferences/")):
        assert web.request("POST", bad)[0] == 404
    assert set(subscribers(env).values()) == {"active"}

    # One click, urlencoded and multipart: 200, no redirect, no cookie.
    urlencoded = ("List-Unsubscribe=One-Click", "application/x-www-form-urlencoded")
    boundary = "b0undary"
    multipart = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
        f"One-Click\r\n--{boundary}--\r\n",
        f"multipart/form-data; boundary={boundary}",
    )
    for reader, (body, kind) in zip(readers[:2], (urlencoded, multipart), strict=True):
        status, headers, page = web.request(
            "POST", local_path(links[reader]), body.encode(), {"Content-Type": kind}
        )
        assert status == 200 and "You are unsubscribed" in page
        assert "Location" not in headers and "Set-Cookie" not in headers
    assert subscribers(env) == {
        "ann@example.net": "unsubscribed",
        "ben@example.net": "unsubscribed",
        "cy@example.net": "active",
    }

    # The next digest goes to the one reader left.
    handler.messages.clear()
    seeds("second.txt", "Second story\n\n" + "A new article about the harbour. " * 30)
    assert run_cli("run", env=env).code == 0
    assert [m.rcpt_tos for m in handler.messages] == [["cy@example.net"]]
