"""Serve the reader pages (digest/readers/web/app.py) with waitress; the only module importing it.

Why waitress rather than Werkzeug's own server: Werkzeug says its server is for
development; waitress is pure Python like it, answers with a fixed pool of
threads (no thread per connection), buffers slow clients before the app sees
them and caps header and body sizes. It speaks plain HTTP: TLS is the job of
the proxy in front (README, "Reader pages").
"""

from __future__ import annotations

import logging
import secrets
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from types import FrameType
from typing import TYPE_CHECKING, Any

from digest.errors import DigestError, SettingsError
from digest.readers import tokens
from digest.readers.web.app import ReaderPages, StoreRoster
from digest.readers.web.signup import Mailer, SignupDesk
from digest.setting_values import split_listen as split_listen
from digest.settings import Settings

if TYPE_CHECKING:
    from digest.store import Store

log = logging.getLogger("digest")

DEFAULT_LISTEN = "127.0.0.1:8080"


class WebError(DigestError):
    """The reader pages cannot be served (the address is taken, for one)."""

    exit_code = 2


def app_for(settings: Settings) -> ReaderPages:
    """The reader pages over the state database and archive of these settings."""
    secret = tokens.secret_key(settings.state_dir, settings.secret_key)
    return ReaderPages(
        readers=StoreRoster(settings.state_dir),
        secret=secret,
        archive_dir=settings.archive_dir,
        title=settings.title,
        templates_dir=settings.templates_dir,
        signup=_signup_desk(settings, secret) if settings.signup else None,
    )


def _signup_desk(settings: Settings, secret: str) -> SignupDesk:
    if settings.public_url is None:
        raise SettingsError(
            "DIGEST_SIGNUP",
            "true",
            "the confirmation link needs DIGEST_PUBLIC_URL",
            "set DIGEST_PUBLIC_URL to the https:// address `digest web` is served at",
        )

    def open_store() -> Store:
        from digest.store import Store  # late, as in StoreRoster

        return Store.open(settings.state_dir)

    return SignupDesk(
        open_store=open_store,
        secret=secret,
        public_url=settings.public_url,
        sender=settings.sender,
        title=settings.title,
        mailer=mailer_for(settings),
    )


def mailer_for(settings: Settings) -> Mailer:
    """Send one message now, as digests go: over SMTP, or into the outbox without SMTP."""

    def send(msg: EmailMessage) -> None:
        from digest.delivery import mail, smtp
        from digest.disk import write_atomic

        data = msg.as_bytes(policy=mail.SMTP_POLICY)
        if not settings.is_smtp:
            stem = f"note-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(4)}"
            write_atomic(settings.outbox_dir / f"{stem}.eml", data)
            return
        with smtp.SmtpSender(settings) as sender:
            refused = sender.send(data, settings.sender, str(msg["To"]))
        if refused is not None:
            raise WebError(f"the mail server refused {refused.recipient}: {refused.reason}")

    return send


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
            **_proxy(settings),
        )
    except OSError as exc:
        raise WebError(
            f"cannot listen on {raw}: {exc.strerror or exc}",
            "is another `digest web` running? choose another port with DIGEST_WEB_LISTEN",
        ) from exc
    log.info("reader pages on http://%s:%s", server.effective_host, server.effective_port)
    return server


def _proxy(settings: Settings) -> dict[str, Any]:
    """With DIGEST_WEB_TRUSTED_PROXY: the client address is the last X-Forwarded-For entry of
    a connection from it (what the proxy added), and the connection's own otherwise."""
    if settings.web_trusted_proxy is None:
        return {}
    return {
        "trusted_proxy": settings.web_trusted_proxy,
        "trusted_proxy_count": 1,
        "trusted_proxy_headers": {"x-forwarded-for"},
    }


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
