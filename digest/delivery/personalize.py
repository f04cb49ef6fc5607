"""One saved message, many readers: fill in each reader's address and tokens, byte for byte.

A digest for readers is rendered once with a random marker where each reader's
tokens go (the List-Unsubscribe header, the footer's links). Per reader only
the To line and the few lines holding the marker change: the body parts are
quoted-printable, where one source line encodes independently of the others
(soft line breaks stay inside it), so those lines are filled in and wrapped
again, and every other byte is reused as it is. Writing a 100 KB message out
again per reader would cost milliseconds each; this costs microseconds.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from digest.delivery.dkim import Canonical

QP_WIDTH = 76  # RFC 2045: encoded lines, the soft-break "=" included
_CRLF = b"\r\n"


@dataclass(frozen=True)
class Marker:
    """The random marker a readers' message is saved with, and the placeholders made of it."""

    value: str

    @classmethod
    def new(cls) -> Marker:
        return cls(secrets.token_hex(16))

    @property
    def address(self) -> str:
        """The To address of the saved message; each reader's own replaces it."""
        return f"to-{self.value}@invalid"

    @property
    def unsubscribe(self) -> str:
        """Where the reader's unsubscribe token goes."""
        return f"{self.value}u"

    @property
    def preferences(self) -> str:
        """Where the reader's preferences token goes."""
        return f"{self.value}p"

    @property
    def placeholders(self) -> tuple[str, str]:
        return (self.unsubscribe, self.preferences)


class Template:
    """A saved message with placeholders; `fill` gives one reader's bytes.

    With `relaxed` (DKIM's relaxed form of whole lines, when messages are signed) each
    reader's message also carries its body's relaxed form: the parts every reader shares
    are put in that form once, here, and only the lines filled in are, per reader.
    """

    def __init__(
        self,
        data: bytes,
        to_line: bytes,
        placeholders: tuple[str, ...],
        relaxed: Callable[[bytes], bytes] | None = None,
    ) -> None:
        head, sep, body = data.partition(_CRLF + _CRLF)
        self._head = head + sep
        self._to_line = to_line
        self._keys = tuple(p.encode("ascii") for p in placeholders)
        self._parts = _split(body, self._keys)
        self._relaxed = relaxed
        self._shared_relaxed: list[bytes] = []
        if relaxed is not None:  # signing: cryptography is loaded anyway
            from digest.delivery.dkim import Canonical

            self._canonical: type[Canonical] = Canonical
            shared = [relaxed(p) if isinstance(p, bytes) else b"" for p in self._parts]
            self._shared_relaxed = shared

    def fill(self, to_line: bytes, values: Mapping[str, str]) -> bytes:
        """The message with `to_line` for the template's To line and each placeholder's value."""
        swaps = [(k, values[k.decode("ascii")].encode("ascii")) for k in self._keys]
        head = _swap(self._head.replace(self._to_line, to_line, 1), swaps)
        out = [head]
        for part in self._parts:
            if isinstance(part, bytes):
                out.append(part)
            else:
                out.append(_wrap(_swap(part[0], swaps), part[1]))
        if self._relaxed is None:
            return b"".join(out)
        message = self._canonical(b"".join(out))
        message.body = tuple(
            self._relaxed(piece) if isinstance(part, tuple) else shared
            for part, piece, shared in zip(self._parts, out[1:], self._shared_relaxed, strict=True)
        )
        return message


def _swap(data: bytes, swaps: list[tuple[bytes, bytes]]) -> bytes:
    for key, value in swaps:
        data = data.replace(key, value)
    return data


def _split(body: bytes, keys: tuple[bytes, ...]) -> list[bytes | tuple[bytes, bool]]:
    """Static byte runs, and (logical line, ends with CRLF) for each one holding a placeholder."""
    parts: list[bytes | tuple[bytes, bool]] = []
    static: list[bytes] = []
    group: list[bytes] = []
    lines = body.split(_CRLF)
    for index, line in enumerate(lines):
        group.append(line)
        last = index == len(lines) - 1
        if line.endswith(b"=") and not last:
            continue  # a soft line break: the logical line goes on
        logical = b"".join(g[:-1] for g in group[:-1]) + group[-1]
        if any(k in logical for k in keys):
            if static:
                parts.append(b"".join(static))
                static = []
            parts.append((logical, not last))
        else:
            static.append(_CRLF.join(group) + (b"" if last else _CRLF))
        group = []
    if static:
        parts.append(b"".join(static))
    return parts


def _wrap(logical: bytes, line_end: bool) -> bytes:
    """One encoded line with soft breaks every QP_WIDTH columns, never inside an =XX escape."""
    out: list[bytes] = []
    start = 0
    while len(logical) - start > QP_WIDTH:
        cut = start + QP_WIDTH - 1
        if logical[cut - 1 : cut] == b"=":
            cut -= 1
        elif logical[cut - 2 : cut - 1] == b"=":
            cut -= 2
        out.append(logical[start:cut] + b"=" + _CRLF)
        start = cut
    out.append(logical[start:] + (_CRLF if line_end else b""))
    return b"".join(out)
