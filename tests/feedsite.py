"""A news site on 127.0.0.1 for feed tests: feeds with ETags, article pages, a request log."""

from __future__ import annotations

import gzip
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


_WORDS = (
    "council budget harbour storm library river bridge school market farmers rail station"
    " museum hospital nurses teachers court judge police festival orchestra election mayor"
    " taxes housing tenants factory workers strike energy prices weather flood drought"
    " airport pilots tourism beach forest wildlife park garden bakery football stadium"
).split()


def body_of(title: str, n: int = 3) -> str:
    """A few sentences of article text unique to `title` (no two titles share many words)."""
    rng = random.Random(title)
    sentences = []
    for i in range(1, n + 1):
        words = rng.sample(_WORDS, 8)
        sentences.append(
            f"The {words[0]} report from {title} says the {words[1]} and the {words[2]} matter."
            f" Officials met {words[3]} groups on day {i} about the {words[4]} {words[5]} plan."
            f" Critics of the {words[6]} said the {words[7]} would wait."
        )
    return "\n\n".join(sentences)


def page_html(title: str, text: str) -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in text.split("\n\n"))
    return (
        f"<html><head><title>{title} | Test Wire</title></head><body>"
        f"<nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
        f"<article><h1>{title}</h1>{paragraphs}</article>"
        f"<footer>Copyright 2026 Test Wire LLC</footer></body></html>"
    )


@dataclass
class Item:
    key: str
    title: str
    link: str | None
    published: datetime | None = None
    summary: str = ""


def rss(title: str, items: list[Item]) -> str:
    parts = [
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
    ]
    for it in items:
        parts.append("<item>")
        parts.append(f"<title>{it.title}</title>")
        if it.link:
            parts.append(f"<link>{it.link}</link>")
        parts.append(f'<guid isPermaLink="false">{it.key}</guid>')
        if it.published:
            parts.append(f"<pubDate>{format_datetime(it.published)}</pubDate>")
        parts.append(f"<description>{it.summary}</description></item>")
    parts.append("</channel></rss>")
    return "".join(parts)


@dataclass
class Site:
    """Routes on one HTTPServer; `hits(path)` counts requests, conditional ones apart."""

    server: HTTPServer
    etags: dict[str, str] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.server.url_for(path)

    def feed(
        self,
        path: str,
        body: str,
        *,
        content_type: str = "application/rss+xml",
        etag: str | None = "v1",
        gzip_it: bool = False,
    ) -> None:
        """Serve a feed; with an ETag, a matching If-None-Match gets 304."""
        data = body.encode("utf-8")

        def handler(request: Request) -> Response:
            if etag and request.headers.get("If-None-Match") == f'"{etag}"':
                return Response(status=304, headers={"ETag": f'"{etag}"'})
            headers = {"ETag": f'"{etag}"'} if etag else {}
            payload = data
            if gzip_it:
                payload = gzip.compress(data)
                headers["Content-Encoding"] = "gzip"
            return Response(payload, content_type=content_type, headers=headers)

        self.route(path, handler)

    def page(self, path: str, title: str, text: str | None = None) -> str:
        html = page_html(title, text or body_of(title))
        self.route(path, lambda r: Response(html, content_type="text/html; charset=utf-8"))
        return self.url(path)

    def route(self, path: str, handler: Callable[[Request], Response]) -> None:
        self.server.expect_request(path).respond_with_handler(handler)

    def hits(self, path: str) -> int:
        return sum(1 for request, _ in self.server.log if request.path == path)

    def conditional(self, path: str) -> int:
        return sum(
            1
            for request, _ in self.server.log
            if request.path == path and request.headers.get("If-None-Match")
        )


def stall(seconds: float) -> Callable[[Request], Response]:
    def handler(request: Request) -> Response:
        time.sleep(seconds)
        return Response("late", content_type="text/html")

    return handler


def later(days: float) -> datetime:
    return NOW + timedelta(days=days)


def atom(title: str, items: list[Item]) -> str:
    parts = [
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>{title}</title><id>urn:x</id>'
    ]
    for it in items:
        when = (it.published or NOW).isoformat()
        link = f'<link rel="alternate" href="{it.link}"/>' if it.link else ""
        parts.append(
            f"<entry><title>{it.title}</title>{link}<id>{it.key}</id><updated>{when}</updated>"
            f"<summary>{it.summary}</summary></entry>"
        )
    return "".join(parts) + "</feed>"


def rss10(title: str, items: list[Item]) -> str:
    parts = [
        '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        ' xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f'<channel rdf:about="urn:c"><title>{title}</title><link>urn:c</link></channel>'
    ]
    for it in items:
        parts.append(
            f'<item rdf:about="{it.link}"><title>{it.title}</title><link>{it.link}</link>'
            f"<description>{it.summary}</description></item>"
        )
    return "".join(parts) + "</rdf:RDF>"


def json_feed(title: str, items: list[Item]) -> str:
    import json

    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": title,
            "items": [
                {"id": it.key, "url": it.link, "title": it.title, "content_text": it.summary}
                | ({"date_published": it.published.isoformat()} if it.published else {})
                for it in items
            ],
        }
    )


def serve() -> Iterator[HTTPServer]:
    """A threaded server on 127.0.0.1: a stalling handler holds up no other request."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()
