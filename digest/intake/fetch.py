"""Polite, safe HTTP GET for feeds and pages: the only module that knows requests.

Safe with untrusted links: http/https only; the address a name resolves to is
checked on every hop and the connection goes to that very address (no window
for DNS rebinding); bodies are cut at `max_bytes` of *decoded* bytes and the
whole exchange at `timeout` seconds. Polite: one request at a time to a host, `delay`
seconds between two requests to it, conditional GET, a User-Agent. Thread-safe: many
hosts are fetched at once by digest.intake.feeds.crew.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util import connection as urllib3_connection

from digest import __version__
from digest.errors import (
    FetchConnectionError,
    FetchError,
    FetchProtocolError,
    FetchRefused,
    FetchTimeout,
)
from digest.intake.fetch_types import FetchPolicy, Response
from digest.text import is_web_url

PROJECT_URL = "https://pypi.org/project/digest/"  # named in the User-Agent
USER_AGENT = f"digest/{__version__} (+{PROJECT_URL})"
MAX_HOPS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
PERMANENT = frozenset({301, 308})
CHUNK = 64 * 1024
PRIVATE_HINT = "set DIGEST_ALLOW_PRIVATE_ADDRESSES=true to allow addresses on your own network"


Monotonic = Callable[[], float]
Sleep = Callable[[float], None]


class _Exchange:
    """One GET in flight: the sockets it opened, so its watchdog can cut them."""

    def __init__(self) -> None:
        self.sockets: list[socket.socket] = []
        self.aborted = False

    def abort(self) -> None:
        self.aborted = True
        for sock in list(self.sockets):
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked recv at once
            except OSError:
                pass


class Fetcher:
    """One polite client for many threads; use as a context manager.

    Any number of threads may call `get` at once; requests to one host still go out one at
    a time, `delay` apart (a lock per host is held from the request to the body's end).
    """

    def __init__(
        self,
        policy: FetchPolicy,
        *,
        clock: Monotonic = time.monotonic,
        sleep: Sleep = time.sleep,
        connections: int = 10,
    ) -> None:
        self.policy = policy
        self.requests_made = 0
        self._clock, self._sleep = clock, sleep
        self._last: dict[str, float] = {}  # host -> when its last request ended
        self._hosts: dict[str, threading.Lock] = {}  # host -> held while a request to it runs
        self._guard = threading.Lock()  # for the two dicts' keys and the request count
        self._local = threading.local()  # the calling thread's exchange in flight
        self._session = _session(policy.allow_private, self._watch, connections)

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    def get(self, url: str, *, etag: str | None = None, modified: str | None = None) -> Response:
        """GET `url`, following up to MAX_HOPS redirects, each hop checked like the first.

        Raises a FetchError subclass; HTTP error statuses are answers, not errors.
        """
        deadline = time.monotonic() + self.policy.timeout
        # The watchdog: socket timeouts bound each read, this bounds the whole exchange
        # (a server trickling its headers a byte at a time gets no fresh timeout per byte).
        exchange = self._local.exchange = _Exchange()
        watchdog = threading.Timer(self.policy.timeout, exchange.abort)
        watchdog.daemon = True
        watchdog.start()
        try:
            return self._follow(url, etag, modified, deadline)
        except FetchError:
            raise
        except Exception as exc:
            if exchange.aborted:
                raise FetchTimeout(url, "no complete answer within DIGEST_FETCH_TIMEOUT") from exc
            raise mapped(url, exc) from exc
        finally:
            watchdog.cancel()
            self._local.exchange = None

    def _watch(self, sock: socket.socket) -> None:
        exchange: _Exchange | None = getattr(self._local, "exchange", None)
        if exchange is not None:
            exchange.sockets.append(sock)

    def _follow(
        self, url: str, etag: str | None, modified: str | None, deadline: float
    ) -> Response:
        headers = _request_headers(etag, modified)
        current, permanent = url, True
        for _ in range(MAX_HOPS + 1):
            _check_scheme(current)
            host = (urlsplit(current).hostname or "").lower()
            with self._turn(current, host, deadline):
                resp = self._send(current, headers, deadline)
                location = resp.headers.get("location")
                if resp.status_code not in REDIRECTS or not location:
                    return self._answer(url, current, resp, permanent, deadline)
                resp.close()
            permanent = permanent and resp.status_code in PERMANENT
            current = urljoin(current, location.strip())
        raise FetchProtocolError(url, f"more than {MAX_HOPS} redirects")

    @contextmanager
    def _turn(self, url: str, host: str, deadline: float) -> Iterator[None]:
        """This host's turn: no other request to it runs, and `delay` passed since the last."""
        with self._guard:
            lock = self._hosts.setdefault(host, threading.Lock())
        if not lock.acquire(timeout=max(deadline - time.monotonic(), 0.0)):
            raise FetchTimeout(url, "no complete answer within DIGEST_FETCH_TIMEOUT")
        try:
            last = self._last.get(host)
            if last is not None and (gap := last + self.policy.delay - self._clock()) > 0:
                self._sleep(gap)
            yield
        finally:
            self._last[host] = self._clock()
            lock.release()

    def _send(self, url: str, headers: dict[str, str], deadline: float) -> requests.Response:
        left = _left(url, deadline)
        with self._guard:
            self.requests_made += 1
        return self._session.get(
            url, headers=headers, allow_redirects=False, stream=True, timeout=(left, left)
        )

    def _answer(
        self, asked: str, url: str, resp: requests.Response, permanent: bool, deadline: float
    ) -> Response:
        headers = {k.lower(): v for k, v in resp.headers.items()}
        body, truncated, whole = b"", False, False
        try:
            if 200 <= resp.status_code < 300:
                body, truncated = self._read(url, resp, deadline)
                whole = not truncated
        finally:
            if whole and not self._local.exchange.aborted:
                resp.raw.release_conn()  # read to the end: the connection can serve the next
            else:
                resp.close()  # requests' close() drops the connection: unread bytes stay unread
        return Response(
            url=url,
            status=resp.status_code,
            headers=headers,
            body=body,
            truncated=truncated,
            permanent=permanent and url != asked,
            requested=asked,
        )

    def _read(self, url: str, resp: requests.Response, deadline: float) -> tuple[bytes, bool]:
        """The decoded body, at most max_bytes of it; `read1` makes one recv per call."""
        limit, size = self.policy.max_bytes, 0
        parts: list[bytes] = []
        raw = resp.raw
        while size <= limit:
            _set_timeout(raw, _left(url, deadline))
            chunk = raw.read1(CHUNK, decode_content=True)
            if not chunk:
                if self._local.exchange.aborted:  # the watchdog closed it: not the body's end
                    raise FetchTimeout(url, "no complete answer within DIGEST_FETCH_TIMEOUT")
                return b"".join(parts), False
            parts.append(chunk)
            size += len(chunk)
        return b"".join(parts)[:limit], True


def _set_timeout(raw: Any, seconds: float) -> None:
    # Each read waits at most what is left of the whole exchange, not a fresh timeout.
    conn = getattr(raw, "connection", None)
    sock = getattr(conn, "sock", None)
    if sock is not None:
        sock.settimeout(seconds)


def _left(url: str, deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchTimeout(url, "no complete answer within DIGEST_FETCH_TIMEOUT")
    return left


def _request_headers(etag: str | None, modified: str | None) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate", "Accept": "*/*"}
    if etag:
        headers["If-None-Match"] = etag
    if modified:
        headers["If-Modified-Since"] = modified
    return headers


def _check_scheme(url: str) -> None:
    if not is_web_url(url):
        raise FetchRefused(url, "only http and https links with a host are fetched")


# --- the address check, inside the connection so the checked address is the one used --------


class AddressRefused(Exception):
    """A name resolved only to addresses we may not connect to (not an OSError: never retried)."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} is {address}, a loopback, private or reserved address")


def allowed_address(address: str) -> bool:
    """True for a public unicast address; loopback, private, link-local, multicast are not."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _connect(
    conn: HTTPConnection, allow_private: bool, watch: Callable[[socket.socket], None]
) -> socket.socket:
    """Resolve, check each address, and connect to a checked one."""
    host = conn._dns_host.strip("[]")
    try:
        infos = socket.getaddrinfo(host, conn.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise urllib3.exceptions.NameResolutionError(host, conn, exc) from exc
    usable = [info[4][0] for info in infos if allow_private or allowed_address(str(info[4][0]))]
    if not usable:
        raise AddressRefused(host, str(infos[0][4][0]) if infos else "unresolvable")
    error: OSError | None = None
    for address in dict.fromkeys(usable):
        try:
            sock = urllib3_connection.create_connection(
                (str(address), conn.port), conn.timeout, socket_options=conn.socket_options
            )
        except OSError as exc:
            error = exc
            continue
        watch(sock)
        return sock
    raise urllib3.exceptions.NewConnectionError(conn, f"cannot connect: {error}")


def _session(
    allow_private: bool, watch: Callable[[socket.socket], None], connections: int
) -> requests.Session:
    class Plain(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return _connect(self, allow_private, watch)

        def request(self, *args: Any, **kwargs: Any) -> None:
            if self.sock is not None:  # a kept-alive connection: the watchdog needs it too
                watch(self.sock)
            super().request(*args, **kwargs)

    class Tls(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return _connect(self, allow_private, watch)

        def request(self, *args: Any, **kwargs: Any) -> None:
            if self.sock is not None:
                watch(self.sock)
            super().request(*args, **kwargs)

    class PlainPool(HTTPConnectionPool):
        ConnectionCls = Plain

    class TlsPool(HTTPSConnectionPool):
        ConnectionCls = Tls

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": PlainPool, "https": TlsPool}

    session = requests.Session()
    session.trust_env = False  # no proxies or .netrc from the environment: they bypass the checks
    session.max_redirects = MAX_HOPS
    # A pool per host for as many hosts as run at once, and a connection per thread in each.
    adapter = Adapter(
        max_retries=0, pool_connections=max(connections, 10), pool_maxsize=connections
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


# --- one table from the libraries' errors to ours, most specific first ----------------------

_ERRORS: tuple[tuple[type[BaseException], type[FetchError], str], ...] = (
    (AddressRefused, FetchRefused, PRIVATE_HINT),
    (requests.exceptions.ConnectTimeout, FetchTimeout, "the server did not answer in time"),
    (requests.exceptions.ReadTimeout, FetchTimeout, "the server stopped answering"),
    (urllib3.exceptions.ReadTimeoutError, FetchTimeout, "the server stopped answering"),
    (socket.timeout, FetchTimeout, "the server stopped answering"),
    (requests.exceptions.SSLError, FetchConnectionError, "TLS failed"),
    (requests.exceptions.InvalidURL, FetchRefused, "not a valid URL"),
    (requests.exceptions.InvalidSchema, FetchRefused, "only http and https links are fetched"),
    (requests.exceptions.MissingSchema, FetchRefused, "only http and https links are fetched"),
    (requests.exceptions.ConnectionError, FetchConnectionError, "cannot connect"),
    (urllib3.exceptions.DecodeError, FetchProtocolError, "the body does not decode"),
    (requests.exceptions.ContentDecodingError, FetchProtocolError, "the body does not decode"),
    (urllib3.exceptions.ProtocolError, FetchConnectionError, "the connection broke"),
    (urllib3.exceptions.HTTPError, FetchConnectionError, "the connection broke"),
    (requests.exceptions.RequestException, FetchConnectionError, "the request failed"),
    (OSError, FetchConnectionError, "the connection broke"),
)


def mapped(url: str, exc: BaseException) -> FetchError:
    """Our error for a library's: the first row of `_ERRORS` whose type matches."""
    if isinstance(exc, FetchError):
        return exc
    cause = _refusal(exc)
    if cause is not None:
        return FetchRefused(url, f"{cause}; {PRIVATE_HINT}")
    for kind, ours, why in _ERRORS:
        if isinstance(exc, kind):
            return ours(url, why if kind is not AddressRefused else f"{exc}; {why}")
    return FetchConnectionError(url, f"{type(exc).__name__}: {exc}")


def _refusal(exc: BaseException) -> AddressRefused | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, AddressRefused):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
