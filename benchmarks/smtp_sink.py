"""A counting SMTP sink, and a bare client to measure its ceiling (for subscribers_bench.py).

`python smtp_sink.py serve [pipelining]` listens on a free loopback port (printed
first on stdout), takes any mail over plain SMTP (offering PIPELINING, RFC 2920, as
Postfix does, when asked to) and keeps only counts: messages, bytes, each message's
size, the first and last acceptance times. A line `stats` on stdin prints them as
JSON; end of stdin stops it.

`python smtp_sink.py blast PORT CONNECTIONS SIZES_FILE [pipelining]` sends messages
of the sizes listed (one a line) over that many connections at once, each connection
a thread speaking SMTP on a raw socket with bytes made beforehand (MAIL, RCPT and
DATA in one write with `pipelining`, else one at a time): what the sink takes when
nothing else is done per message.
Prints the seconds it took.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import threading
import time
from pathlib import Path

END = b"\r\n.\r\n"


class Stats:
    def __init__(self) -> None:
        self.count = 0
        self.bytes = 0
        self.sizes: list[int] = []
        self.first = 0.0
        self.last = 0.0

    def took(self, size: int) -> None:
        now = time.monotonic()
        if not self.count:
            self.first = now
        self.count, self.bytes, self.last = self.count + 1, self.bytes + size, now
        self.sizes.append(size)

    def as_json(self) -> str:
        return json.dumps(
            {
                "count": self.count,
                "bytes": self.bytes,
                "seconds": self.last - self.first,
                "first": self.first,
                "last": self.last,
                "sizes": self.sizes,
            }
        )


class Session(asyncio.Protocol):
    """Plain SMTP, one command or one message body at a time; nothing is kept."""

    def __init__(self, stats: Stats, pipelining: bool) -> None:
        self.stats = stats
        self.extensions = b"250-PIPELINING\r\n" if pipelining else b""
        self.buf = b""
        self.in_data = False
        self.size = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.t = transport
        transport.write(b"220 sink ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while self.buf:
            if self.in_data:
                if not self._body():
                    return
            elif not self._command():
                return

    def _body(self) -> bool:
        at = self.buf.find(END)
        if at < 0:  # keep only the tail that may hold the start of the end marker
            keep = min(4, len(self.buf))
            self.size += len(self.buf) - keep
            self.buf = self.buf[len(self.buf) - keep :]
            return False
        self.size += at + 2
        self.buf = self.buf[at + len(END) :]
        self.in_data = False
        self.stats.took(self.size)
        self.t.write(b"250 2.0.0 counted\r\n")
        return True

    def _command(self) -> bool:
        line, sep, rest = self.buf.partition(b"\r\n")
        if not sep:
            return False
        self.buf = rest
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            self.t.write(
                b"250-sink\r\n250-8BITMIME\r\n" + self.extensions + b"250 SIZE 100000000\r\n"
            )
        elif verb == b"DATA":
            self.in_data, self.size = True, 0
            self.t.write(b"354 go on\r\n")
        elif verb == b"QUIT":
            self.t.write(b"221 bye\r\n")
            self.t.close()
        else:
            self.t.write(b"250 2.0.0 OK\r\n")
        return True


async def serve(pipelining: bool) -> None:
    stats = Stats()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: Session(stats, pipelining), "127.0.0.1", 0, backlog=128
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        if line.strip() == b"stats":
            print(stats.as_json(), flush=True)
        elif line.strip() == b"reset":
            stats.__init__()  # type: ignore[misc]
    server.close()


def _message(size: int, n: int) -> bytes:
    """A dot-stuffed message of about `size` bytes, ending with the end marker."""
    head = f"From: a@example.org\r\nTo: r{n}@example.org\r\nSubject: bare\r\n\r\n".encode()
    line = b"x" * 74 + b"\r\n"
    body = line * max(0, (size - len(head)) // len(line))
    return head + body + b".\r\n"


def _expect(sock: socket.socket, *codes: bytes) -> None:
    """Read one final reply per code (a pipelined group's come together) and check each."""
    reply = b""
    while len(finals := [ln for ln in reply.split(b"\r\n")[:-1] if ln[3:4] != b"-"]) < len(codes):
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("the sink hung up")
        reply += chunk
    if any(not line.startswith(code) for line, code in zip(finals, codes, strict=True)):
        raise ConnectionError(f"unexpected reply {reply!r}")


def _connection(port: int, messages: list[bytes], pipelining: bool) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _expect(sock, b"220")
        sock.sendall(b"EHLO bare\r\n")
        _expect(sock, b"250")
        for n, data in enumerate(messages):
            mail, rcpt = (
                b"MAIL FROM:<a@example.org>\r\n",
                f"RCPT TO:<r{n}@example.org>\r\n".encode(),
            )
            if pipelining:  # the three commands in one write, their replies read together
                sock.sendall(mail + rcpt + b"DATA\r\n")
                _expect(sock, b"250", b"250", b"354")
            else:
                for command, code in ((mail, b"250"), (rcpt, b"250"), (b"DATA\r\n", b"354")):
                    sock.sendall(command)
                    _expect(sock, code)
            sock.sendall(data)
            _expect(sock, b"250")
        sock.sendall(b"QUIT\r\n")


def blast(port: int, connections: int, sizes: list[int], pipelining: bool) -> float:
    messages = [_message(size, n) for n, size in enumerate(sizes)]
    shares = [messages[i::connections] for i in range(connections)]
    threads = [threading.Thread(target=_connection, args=(port, s, pipelining)) for s in shares]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started


if __name__ == "__main__":
    piped = sys.argv[-1] == "pipelining"
    if sys.argv[1] == "serve":
        asyncio.run(serve(piped))
    else:
        sizes = [int(x) for x in Path(sys.argv[4]).read_text().split()]
        print(f"{blast(int(sys.argv[2]), int(sys.argv[3]), sizes, piped):.6f}")
