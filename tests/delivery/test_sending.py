"""Several connections at once against a real aiosmtpd server (in this process, on loopback)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from conftest import USER, Handler, StartServer, free_port, start_tls_server

from digest.delivery import connections, mail
from digest.delivery import queue as deliver
from digest.delivery.smtp import SmtpSender
from digest.records import QueuedDigest
from digest.settings import Settings
from digest.store import Store

RECIPIENTS = tuple(f"r{n:02d}@example.org" for n in range(20))


class Sessions(Handler):
    """Counts messages per session; the first session's second MAIL gets a 421."""

    def __init__(self, hang_up_once: bool = False) -> None:
        super().__init__()
        self.per_session: dict[Session, int] = {}
        self.hang_up_once = hang_up_once

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.hang_up_once and self.per_session.get(session) == 1:
            self.hang_up_once = False
            return "421 4.7.0 enough for this connection"
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.per_session[session] = self.per_session.get(session, 0) + 1
        return await super().handle_DATA(server, session, envelope)


def queued_for(tmp_path: Path, store: Store) -> QueuedDigest:
    msg = mail.build_message(
        subject="News",
        text="Hello",
        html="<p>Hello</p>",
        sender="digest@example.org",
        recipients=RECIPIENTS,
        date=datetime(2026, 12, 2, 7, 0, tzinfo=UTC),
    )
    eml = deliver.save_to_outbox(tmp_path / "outbox", "d", msg.as_bytes(), "<p>Hello</p>")
    store.queue_digest(
        created=datetime(2026, 12, 2, 7, 0, tzinfo=UTC),
        subject="News",
        eml_path=eml,
        articles=[("a1", "seeds/a.txt", "A")],
        recipients=RECIPIENTS,
    )
    (queued,) = store.queued()
    return queued


def send(tmp_path: Path, settings: Settings, size: int) -> tuple[deliver.DeliveryReport, int]:
    """Deliver the queued message over `size` connections; the report, and how many still wait."""
    pool = connections.Connections(connections.smtp_factory(settings), size)
    with Store.open(tmp_path / "state") as store:
        try:
            report = deliver.deliver_smtp(
                store,
                queued_for(tmp_path, store),
                pool,
                "digest@example.org",
                "t",
                deliver.Retry(attempts=3, backoff=0.0),
            )
        finally:
            pool.close()
        return report, sum(len(q.pending) for q in store.queued())


@pytest.mark.parametrize("pipelining", [False, True], ids=["lock-step", "pipelining"])
def test_three_connections_share_the_recipients_and_a_421_reconnects_one(
    tmp_path: Path, plain_server: StartServer, pipelining: bool
) -> None:
    handler = Sessions(hang_up_once=True)
    handler.pipelining = pipelining
    port = plain_server(handler)
    settings = Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
    report, waiting = send(tmp_path, settings, 3)
    assert report.errors == [] and sorted(report.accepted) == list(RECIPIENTS) and waiting == 0
    assert sorted(r for m in handler.messages for r in m.rcpt_tos) == list(RECIPIENTS)
    # three connections, plus one that replaced the connection hung up on; each carried several
    assert len(handler.per_session) == 4
    assert sum(1 for n in handler.per_session.values() if n >= 2) >= 3


def test_a_refused_login_stops_every_connection_at_once_with_one_line(
    tmp_path: Path, certs: tuple[trustme.CA, Path]
) -> None:
    """Permanent: nobody is sent to, nothing hangs, the message stays queued."""
    _, ca_path = certs
    controller = start_tls_server(Handler(), certs)
    settings = Settings(
        smtp_host="127.0.0.1",
        smtp_port=controller.port,
        smtp_username=USER,
        smtp_password="wrong",
        smtp_ca_file=ca_path,
        smtp_timeout=5.0,
    )
    result: list[tuple[deliver.DeliveryReport, int]] = []
    worker = threading.Thread(target=lambda: result.append(send(tmp_path, settings, 4)))
    try:
        worker.start()
        worker.join(timeout=60)
        assert not worker.is_alive(), "delivery hung after a refused login"
    finally:
        controller.stop()
    ((report, waiting),) = result
    assert report.accepted == [] and len(report.errors) == 1 and waiting == len(RECIPIENTS)
    assert "DIGEST_SMTP_USERNAME" in str(report.errors[0])


@pytest.mark.parametrize("offered", [True, False])
def test_a_non_ascii_address_goes_with_smtputf8_only_where_the_server_offers_it(
    offered: bool,
) -> None:
    """Written as UTF-8 with SMTPUTF8; without it one clear 553, and the next reader goes."""
    handler = Handler()
    controller = Controller(
        handler, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=offered
    )
    controller.start()
    settings = Settings(smtp_host="127.0.0.1", smtp_port=controller.port, smtp_security="none")
    data = b"From: digest@example.org\r\nSubject: News\r\n\r\nHello\r\n"
    try:
        with SmtpSender(settings) as smtp:
            first = smtp.send(data, "News <digest@example.org>", "jörg@example.org")
            second = smtp.send(data, "News <digest@example.org>", "ann@example.org")
    finally:
        controller.stop()
    assert second is None
    if offered:
        assert first is None
        assert [m.rcpt_tos for m in handler.messages] == [["jörg@example.org"], ["ann@example.org"]]
    else:
        assert first is not None and first.code == 553 and "SMTPUTF8" in first.reason
        assert [m.rcpt_tos for m in handler.messages] == [["ann@example.org"]]
    assert {m.mail_from for m in handler.messages} == {"digest@example.org"}
