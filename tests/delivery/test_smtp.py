"""One SMTP session (digest.delivery.smtp) against servers on loopback: the wire form of a
message, and MAIL, RCPT and DATA grouped where the server offers PIPELINING."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
from conftest import Handler, StartServer

from digest.delivery.smtp import SmtpSender
from digest.settings import Settings


@pytest.mark.parametrize(
    "body",
    [b".starts with a dot\r\n..two dots\r\nmiddle . dot\r\n.\r\nend", b"no final line break"],
)
def test_the_wire_form_survives_a_real_server_byte_for_byte(
    tmp_path: Path, plain_server: StartServer, body: bytes
) -> None:
    """Dots doubled at line starts (and undone by the server), a last CRLF, nothing else."""
    handler = Handler()
    port = plain_server(handler)
    settings = Settings(
        smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", smtp_timeout=5.0
    )
    data = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: dots\r\n\r\n" + body
    with SmtpSender(settings) as smtp:
        assert smtp.send(data, "a@example.org", "b@example.org") is None
    (got,) = handler.messages
    assert got.content == data if data.endswith(b"\r\n") else got.content == data + b"\r\n"


class _Scripted:
    """A raw SMTP server on loopback for one session: records each read it gets, answers
    every command line in order (refusing one recipient with 550), offering PIPELINING or not."""

    def __init__(self, pipelining: bool, refuse: str) -> None:
        self.pipelining, self.refuse = pipelining, refuse
        self.reads: list[bytes] = []
        self.taken = 0  # messages ended with 250
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn, self.listener:
            conn.sendall(b"220 scripted\r\n")
            buf, in_data = b"", False
            while chunk := conn.recv(65536):
                self.reads.append(chunk)
                buf += chunk
                while True:
                    if in_data:
                        end = buf.find(b"\r\n.\r\n")
                        if end < 0:
                            break
                        buf, in_data = buf[end + 5 :], False
                        self.taken += 1
                        conn.sendall(b"250 taken\r\n")
                        continue
                    line, sep, rest = buf.partition(b"\r\n")
                    if not sep:
                        break
                    buf = rest
                    conn.sendall(self._answer(line))
                    in_data = line.upper() == b"DATA" and self._rcpt_ok
                    if line.upper() == b"QUIT":
                        return

    _rcpt_ok = False

    def _answer(self, line: bytes) -> bytes:
        verb = line[:4].upper()
        if verb == b"EHLO":
            return b"250-scripted\r\n" + (
                b"250 PIPELINING\r\n" if self.pipelining else b"250 OK\r\n"
            )
        if verb == b"RCPT":
            self._rcpt_ok = self.refuse.encode() not in line
            return b"250 OK\r\n" if self._rcpt_ok else b"550 5.1.1 no such user\r\n"
        if verb == b"DATA":
            return b"354 go on\r\n" if self._rcpt_ok else b"503 no valid recipients\r\n"
        if verb == b"QUIT":
            return b"221 bye\r\n"
        return b"250 OK\r\n"


@pytest.mark.parametrize("pipelining", [True, False])
def test_mail_rcpt_and_data_go_in_one_write_where_the_server_offers_pipelining(
    pipelining: bool,
) -> None:
    """Two round trips a message instead of four; a refused recipient is still that
    recipient's 550, and the next message goes over the same connection."""
    server = _Scripted(pipelining, refuse="gone@example.org")
    settings = Settings(
        smtp_host="127.0.0.1", smtp_port=server.port, smtp_security="none", smtp_timeout=5.0
    )
    data = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: grouped\r\n\r\nHello\r\n"
    with SmtpSender(settings) as smtp:
        refused = smtp.send(data, "a@example.org", "gone@example.org")
        accepted = smtp.send(data, "a@example.org", "b@example.org")
    server.thread.join(timeout=5)
    assert refused is not None and refused.code == 550 and accepted is None
    group = b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n"
    assert (group in server.reads) is pipelining, server.reads
    assert server.taken == 1
