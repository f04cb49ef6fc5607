"""intake.fetch against a real HTTP server on 127.0.0.1: redirects, limits, refusals, pacing."""

from __future__ import annotations

import gzip
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from feedsite import serve, stall
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from digest import __version__
from digest.errors import FetchProtocolError, FetchRefused, FetchTimeout
from digest.intake.fetch import Fetcher, allowed_address
from digest.intake.fetch_types import FetchPolicy

LOCAL = FetchPolicy(timeout=5.0, max_bytes=100_000, delay=0.0, allow_private=True)


@pytest.fixture(scope="session")
def make_httpserver() -> Iterator[HTTPServer]:
    yield from serve()


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(LOCAL) as client:
        yield client


def redirect(to: str, status: int) -> Response:
    return Response(status=status, headers={"Location": to})


def test_get_names_digest_and_its_version_and_asks_for_gzip(
    httpserver: HTTPServer, fetcher: Fetcher
) -> None:
    httpserver.expect_request("/x").respond_with_data("hello", content_type="text/plain")
    resp = fetcher.get(httpserver.url_for("/x"))
    assert (resp.status, resp.body, resp.truncated, resp.redirected) == (
        200,
        b"hello",
        False,
        False,
    )
    request = httpserver.log[0][0]
    assert request.headers["User-Agent"].startswith(f"digest/{__version__} (+http")
    assert "gzip" in request.headers["Accept-Encoding"]


def test_conditional_get_sends_the_stored_validators(
    httpserver: HTTPServer, fetcher: Fetcher
) -> None:
    httpserver.expect_request(
        "/feed", headers={"If-None-Match": '"abc"', "If-Modified-Since": "Tue, 01 Dec 2026"}
    ).respond_with_data("", status=304)
    resp = fetcher.get(httpserver.url_for("/feed"), etag='"abc"', modified="Tue, 01 Dec 2026")
    assert resp.status == 304 and resp.body == b""


@pytest.mark.parametrize(
    ("statuses", "permanent"),
    [
        ((301,), True),
        ((308,), True),
        ((301, 308), True),
        ((302,), False),
        ((307,), False),
        ((301, 302), False),
        ((308, 307, 301), False),
    ],
)
def test_a_redirect_chain_is_permanent_only_when_every_hop_is(
    httpserver: HTTPServer, fetcher: Fetcher, statuses: tuple[int, ...], permanent: bool
) -> None:
    for i, status in enumerate(statuses):
        target = f"/hop{i + 1}" if i + 1 < len(statuses) else "/final"
        httpserver.expect_request(f"/hop{i}").respond_with_response(redirect(target, status))
    httpserver.expect_request("/final").respond_with_data("done")
    resp = fetcher.get(httpserver.url_for("/hop0"))
    assert resp.body == b"done"
    assert resp.url == httpserver.url_for("/final")
    assert resp.permanent is permanent


def test_more_than_five_redirects_is_an_error(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    for i in range(7):
        httpserver.expect_request(f"/r{i}").respond_with_response(redirect(f"/r{i + 1}", 302))
    with pytest.raises(FetchProtocolError, match="more than 5 redirects"):
        fetcher.get(httpserver.url_for("/r0"))
    assert len(httpserver.log) == 6


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [("gzip", gzip.compress), ("deflate", zlib.compress)],
)
def test_compressed_bodies_are_decoded(
    httpserver: HTTPServer, fetcher: Fetcher, encoding: str, pack: object
) -> None:
    data = b"<rss>" + b"news " * 2000 + b"</rss>"
    assert callable(pack)
    httpserver.expect_request("/z").respond_with_data(
        pack(data), headers={"Content-Encoding": encoding}
    )
    assert fetcher.get(httpserver.url_for("/z")).body == data


def test_a_gzip_bomb_is_cut_at_the_limit_of_decoded_bytes(httpserver: HTTPServer) -> None:
    bomb = gzip.compress(b"\0" * 30_000_000)  # 30 MB in ~30 KB
    assert len(bomb) < 100_000
    httpserver.expect_request("/bomb").respond_with_data(bomb, headers={"Content-Encoding": "gzip"})
    with Fetcher(FetchPolicy(timeout=10, max_bytes=1_000_000, delay=0, allow_private=True)) as f:
        resp = f.get(httpserver.url_for("/bomb"))
    assert resp.truncated and len(resp.body) == 1_000_000


def test_a_body_over_the_limit_is_cut_and_reported(
    httpserver: HTTPServer, fetcher: Fetcher
) -> None:
    httpserver.expect_request("/big").respond_with_data(b"a" * 300_000)
    resp = fetcher.get(httpserver.url_for("/big"))
    assert resp.truncated and resp.body == b"a" * LOCAL.max_bytes


def test_a_server_that_never_answers_times_out(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/stall").respond_with_handler(stall(1.5))
    started = time.monotonic()
    with Fetcher(FetchPolicy(timeout=0.5, delay=0, allow_private=True)) as client:
        with pytest.raises(FetchTimeout, match="/stall"):
            client.get(httpserver.url_for("/stall"))
    assert time.monotonic() - started < 2


def test_the_timeout_is_for_the_whole_body_not_each_read(httpserver: HTTPServer) -> None:
    def trickle(request: Request) -> Response:
        def chunks() -> Iterator[bytes]:
            for _ in range(40):
                time.sleep(0.1)
                yield b"x" * 10

        return Response(chunks(), content_type="text/html")

    httpserver.expect_request("/trickle").respond_with_handler(trickle)
    started = time.monotonic()
    with Fetcher(FetchPolicy(timeout=1.0, delay=0, allow_private=True)) as client:
        with pytest.raises(FetchTimeout):
            client.get(httpserver.url_for("/trickle"))
    assert time.monotonic() - started < 2.0  # each read was quick; the whole took too long


def test_headers_sent_a_byte_at_a_time_still_end_at_the_timeout() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def drip() -> None:
            conn, _ = server.accept()
            with conn:
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                for _ in range(40):  # a fresh byte well within every per-read timeout
                    time.sleep(0.1)
                    try:
                        conn.sendall(b"X")
                    except OSError:
                        return

        thread = threading.Thread(target=drip, daemon=True)
        thread.start()
        started = time.monotonic()
        with Fetcher(FetchPolicy(timeout=1.0, delay=0, allow_private=True)) as client:
            with pytest.raises(FetchTimeout):
                client.get(f"http://127.0.0.1:{port}/slow-headers")
        assert time.monotonic() - started < 2.0
        thread.join(5)


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.org/feed", "javascript:alert(1)", "http://"]
)
def test_only_http_and_https_links_are_fetched(fetcher: Fetcher, url: str) -> None:
    with pytest.raises(FetchRefused, match="only http and https"):
        fetcher.get(url)
    assert fetcher.requests_made == 0


def test_a_redirect_to_a_file_url_is_refused(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request("/sneaky").respond_with_response(redirect("file:///etc/passwd", 302))
    with pytest.raises(FetchRefused, match="only http and https"):
        fetcher.get(httpserver.url_for("/sneaky"))


def test_a_private_address_is_refused_with_the_setting_that_allows_it(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/feed").respond_with_data("secret")
    with Fetcher(FetchPolicy(delay=0)) as client:
        with pytest.raises(FetchRefused, match="DIGEST_ALLOW_PRIVATE_ADDRESSES=true") as caught:
            client.get(httpserver.url_for("/feed"))
    assert "127.0.0.1" in str(caught.value)
    assert httpserver.log == []  # refused before connecting: the server saw nothing


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("239.255.255.250", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("::ffff:10.0.0.1", False),
    ],
)
def test_which_addresses_may_be_fetched(address: str, allowed: bool) -> None:
    assert allowed_address(address) is allowed


def test_requests_to_one_host_wait_the_delay_between_them(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data("a")
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    policy = FetchPolicy(delay=2.0, allow_private=True)
    with Fetcher(policy, clock=lambda: now[0], sleep=sleep) as client:
        client.get(httpserver.url_for("/a"))
        now[0] += 0.5
        client.get(httpserver.url_for("/a"))
        client.get(httpserver.url_for("/a").replace("127.0.0.1", "localhost"))  # another host
    assert slept == [1.5]


class KeepAlive(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive (Werkzeug's test server closes every connection)."""

    protocol_version = "HTTP/1.1"

    clients: set[tuple[str, int]] = set()

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        self.clients.add(self.client_address)
        self.send_response(200)
        if self.path == "/trickle":
            self.send_header("Content-Length", "400")
            self.end_headers()
            for _ in range(40):
                time.sleep(0.1)
                try:
                    self.wfile.write(b"x" * 10)
                    self.wfile.flush()
                except OSError:
                    return
            return
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def test_the_timeout_also_holds_on_a_kept_alive_connection() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), KeepAlive)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with Fetcher(FetchPolicy(timeout=1.0, delay=0, allow_private=True)) as client:
            assert client.get(base + "/ok").body == b"ok"
            assert client.get(base + "/ok").body == b"ok"
            assert len(KeepAlive.clients) == 1  # one connection for both
            started = time.monotonic()
            with pytest.raises(FetchTimeout):
                client.get(base + "/trickle")  # on the connection the first request left open
            assert time.monotonic() - started < 2.0
            assert client.get(base + "/ok").body == b"ok"  # a dead connection is not reused
    finally:
        server.shutdown()
        server.server_close()
