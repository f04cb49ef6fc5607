"""Serve the reader pages (digest/readers/web/app.py) with waitress; the only module importing it.

Why waitress rather than Werkzeug's own server: Werkzeug says its server is for
development; waitress is pure Python like it, answers with a fixed pool of
threads (no thread per connection), buffers slow clients before the app sees
them and caps header and body sizes. It speaks plain HTTP: TLS is the job of
the proxy in front (README, "Reader pages").
"""

from __future__ import annotations

import logging
import re
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from digest.errors import DigestError, SettingsError
from digest.readers import tokens
from digest.readers.web.app import ReaderPages, StoreRoster
from digest.settings import Settings

log = logging.getLogger("digest")

DEFAULT_LISTEN = "127.0.0.1:8080"
_LISTEN = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):(\d{1,5})$")


class WebError(DigestError):
    """The reader pages cannot be served (the address is taken, for one)."""

    exit_code = 2


def split_listen(raw: str, name: str = "DIGEST_WEB_LISTEN") -> tuple[str, int]:
    """`host:port` or `[v6]:port` as a host and a port; an empty host is every address."""
    match = _LISTEN.match(raw)
    port = int(match.group(2)) if match else 0
    if match is None or not 1 <= port <= 65535:
        raise SettingsError(name, raw, "not host:port", "e.g. 127.0.0.1:8080 behind your TLS proxy")
    return match.group(1).strip("[]") or "0.0.0.0", port


def app_for(settings: Settings) -> ReaderPages:
    """The reader pages over the state database and archive of these settings."""
    return ReaderPages(
        readers=StoreRoster(settings.state_dir),
        secret=tokens.secret_key(settings.state_dir, settings.secret_key),
        archive_dir=settings.archive_dir,
        templates_dir=settings.templates_dir,
    )


def make_server(settings: Settings, listen: str | None = None) -> Any:
    """A waitress server bound to `listen` (default DIGEST_WEB_LISTEN), not yet running."""
    from waitress import create_server  # late: only `web` and `serve` load it

    raw = listen or settings.web_listen or DEFAULT_LISTEN
    host, port = split_listen(raw, "--listen" if listen else "DIGEST_WEB_LISTEN")
    try:
        server = create_server(
            app_for(settings),
            host=host,
            port=port,
            threads=4,  # a page is a few ms of SQLite; four cover a burst of one-click POSTs
            ident="digest",
            max_request_header_size=16 * 1024,
            max_request_body_size=256 * 1024,
            channel_timeout=30,
            connection_limit=200,
            clear_untrusted_proxy_headers=True,
        )
    except OSError as exc:
        raise WebError(
            f"cannot listen on {raw}: {exc.strerror or exc}",
            "is another `digest web` running? choose another port with DIGEST_WEB_LISTEN",
        ) from exc
    log.info("reader pages on http://%s:%s", server.effective_host, server.effective_port)
    return server


def serve_web(settings: Settings, *, listen: str | None = None) -> int:
    """Serve the reader pages in the foreground until SIGTERM or Ctrl-C; the exit status."""
    server = make_server(settings, listen)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)  # waitress ends its loop and lets the running requests finish

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.run()
    finally:
        server.close()
    log.info("reader pages stopped")
    return 0


def serve_in_background(settings: Settings) -> Callable[[], None]:
    """Start the reader pages on DIGEST_WEB_LISTEN in a thread (for `digest serve`); the stopper."""
    server = make_server(settings)
    thread = threading.Thread(target=server.run, name="digest-web", daemon=True)
    thread.start()

    def stop() -> None:
        # Requests being answered finish (up to 5 s); the daemon thread ends with the process.
        server.task_dispatcher.shutdown(timeout=5)
        log.info("reader pages stopped")

    return stop
