"""What a fetch is allowed and what it answers: plain values, without loading requests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message


@dataclass(frozen=True)
class FetchPolicy:
    """The limits every request obeys (DIGEST_FETCH_* and DIGEST_ALLOW_PRIVATE_ADDRESSES)."""

    timeout: float = 20.0  # seconds for the whole exchange, redirects and body included
    max_bytes: int = 10_000_000  # decoded body bytes kept; the rest is cut off
    delay: float = 1.0  # seconds between two requests to one host
    allow_private: bool = False  # loopback, private, link-local... addresses allowed


@dataclass(frozen=True)
class Response:
    """What a GET ended with after following redirects."""

    url: str  # where the final answer came from
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes = b""  # only read for 2xx answers
    truncated: bool = False  # the body was longer than max_bytes and was cut there
    permanent: bool = False  # redirected, and every hop was 301/308: `url` is the new home
    requested: str = ""  # the URL asked for

    @property
    def redirected(self) -> bool:
        return self.url != self.requested

    @property
    def charset(self) -> str | None:
        return content_type(self.headers).get_param("charset")  # type: ignore[return-value]

    @property
    def media_type(self) -> str:
        return content_type(self.headers).get_content_type()


def content_type(headers: Mapping[str, str]) -> Message:
    msg = Message()
    msg["content-type"] = headers.get("content-type", "application/octet-stream")
    return msg
