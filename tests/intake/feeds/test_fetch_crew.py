"""Many hosts at once, one request at a time per host, within DIGEST_FETCH_BUDGET: real HTTP
servers on several loopback addresses (127.0.0.2-5) and a real state database."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from feedsite import NOW, Item, Site, body_of, later, page_html, rss, serve
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from digest.intake.feeds import catalog as feedlist
from digest.intake.feeds import crew
from digest.intake.feeds.poll import FetchReport, fetch_due
from digest.settings import Settings
from digest.store import Store

Handler = Callable[[Request], Response]
HOSTS = [f"127.0.0.{i}" for i in range(2, 6)]


class InFlight:
    """Counts requests in flight, per host and in all, and the most seen at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now: Counter[str] = Counter()
        self.most: Counter[str] = Counter()
        self.arrived: Counter[str] = Counter()

    def slow(self, host: str, seconds: float, answer: Handler) -> Handler:
        def handler(request: Request) -> Response:
            with self.lock:
                self.arrived[host + request.path] += 1
                for key in (host, "all"):
                    self.now[key] += 1
                    self.most[key] = max(self.most[key], self.now[key])
            try:
                time.sleep(seconds)
                return answer(request)
            finally:
                with self.lock:
                    self.now[host] -= 1
                    self.now["all"] -= 1

        return handler


@pytest.fixture(scope="module")
def servers() -> Iterator[list[HTTPServer]]:
    started = []
    for host in HOSTS:
        server = HTTPServer(host=host, port=0, threaded=True)
        server.start()
        started.append(server)
    yield started
    for server in started:
        server.clear()
        server.stop()


@pytest.fixture(scope="session")
def make_httpserver() -> Iterator[HTTPServer]:
    yield from serve()


def settings_for(tmp_path: Path, **changes: object) -> Settings:
    (tmp_path / "seeds").mkdir(exist_ok=True)
    base = Settings(
        seeds_dir=tmp_path / "seeds",
        state_dir=tmp_path / "state",
        feed_interval=0.0,
        fetch_delay=0.0,
        fetch_timeout=2.0,
        allow_private_addresses=True,
        fetch_workers=4,
    )
    return Settings(**{**vars(base), **changes})


def fetch(settings: Settings, days: float = 0) -> FetchReport:
    with Store.open(settings.state_dir) as store:
        return fetch_due(settings, store, now=later(days))


def html(title: str) -> Callable[[Request], Response]:
    page = page_html(title, body_of(title))
    return lambda request: Response(page, content_type="text/html")


def test_hosts_are_fetched_at_once_and_each_host_one_request_at_a_time(
    servers: list[HTTPServer], tmp_path: Path
) -> None:
    flight = InFlight()
    feeds = []
    for n, server in enumerate(servers):
        server.clear()
        host = server.host
        items = []
        for j in range(3):
            title = f"Host {n} story {j}"
            server.expect_request(f"/p{j}").respond_with_handler(
                flight.slow(host, 0.2, html(title))
            )
            items.append(Item(f"{n}-{j}", title, server.url_for(f"/p{j}"), NOW, "Teaser."))
        feed = rss(f"Feed {n}", items)
        answer = lambda r, feed=feed: Response(feed, content_type="application/rss+xml")  # noqa: E731
        server.expect_request("/feed").respond_with_handler(flight.slow(host, 0.2, answer))
        feeds.append(server.url_for("/feed"))
    settings = settings_for(tmp_path)
    feedlist.add_feeds(settings, feeds, now=NOW)
    report = fetch(settings)
    assert [r.new for r in report.results] == [3, 3, 3, 3]
    assert (report.feed_requests, report.page_requests) == (4, 12)
    assert all(flight.most[host] == 1 for host in HOSTS), flight.most  # never two to one host
    assert flight.most["all"] >= 2, flight.most  # but several hosts at once
    assert sum(flight.arrived.values()) == 16


def test_the_delay_still_separates_two_requests_to_one_host(
    servers: list[HTTPServer], tmp_path: Path
) -> None:
    server = servers[0]
    server.clear()
    arrivals: list[float] = []

    def page(request: Request) -> Response:
        arrivals.append(time.monotonic())
        return html(request.path)(request)

    items = []
    for j in range(3):
        server.expect_request(f"/d{j}").respond_with_handler(page)
        items.append(Item(f"d{j}", f"Delayed {j}", server.url_for(f"/d{j}"), NOW, "Teaser."))
    feed = rss("Delayed", items)
    server.expect_request("/dfeed").respond_with_data(feed, content_type="application/rss+xml")
    settings = settings_for(tmp_path, fetch_delay=0.3)
    feedlist.add_feeds(settings, [server.url_for("/dfeed")], now=NOW)
    fetch(settings)
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    assert len(arrivals) == 3 and min(gaps) >= 0.29, gaps


def slow_newsroom(site: Site, flight: InFlight, n: int) -> list[Item]:
    """`n` entries on one host whose pages take 0.5 s each; every other one has feed text."""
    items = []
    for j in range(n):
        title = f"Slow story {j}"
        site.route(f"/slow{j}", flight.slow("site", 0.5, html(title)))
        text = f"The feed's own words for story {j}, a full sentence." if j % 2 == 0 else ""
        items.append(Item(f"slow-{j}", title, site.url(f"/slow{j}"), NOW, text))
    site.feed("/feed", rss("Slow Wire", items))
    return items


def visible_seeds(settings: Settings) -> dict[str, dict[str, str]]:
    paths = (settings.seeds_dir / "feeds").rglob("*.json")
    found = [json.loads(p.read_text("utf-8")) for p in paths if not p.name.startswith(".")]
    return {seed["title"]: seed for seed in found}


def test_a_slow_feed_is_bounded_by_the_budget_and_the_rest_comes_next_run(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    site, flight = Site(httpserver), InFlight()
    items = slow_newsroom(site, flight, 6)
    settings = settings_for(tmp_path, fetch_budget=1.2, fetch_timeout=2.0)
    feedlist.add_feeds(settings, [site.url("/feed")], now=NOW)
    started = time.monotonic()
    first = fetch(settings)
    took = time.monotonic() - started
    assert took < 1.2 + 2.0 + 1.0, took  # the budget plus one timeout, and some slack
    reached = {it.title for j, it in enumerate(items) if flight.arrived[f"site/slow{j}"]}
    assert 1 <= len(reached) < 6 and first.pages_waiting == 6 - len(reached)
    seeds = visible_seeds(settings)
    for it in items:
        if it.title in reached:
            assert body_of(it.title).split("\n\n")[0] in seeds[it.title]["text"]
        elif it.summary:  # not reached: the feed's text stands in now
            assert seeds[it.title]["text"] == it.summary
        else:  # nothing to send yet: it waits, out of the scan's sight
            assert it.title not in seeds
    roomy = settings_for(tmp_path, fetch_budget=60.0)
    second = fetch(roomy, days=1 / 24)  # the feed is unchanged (304): the pages still come
    assert second.pages_waiting == 0 and site.conditional("/feed") == 1
    seeds = visible_seeds(settings)
    for it in items:  # every page fetched once in all, its text now in the seed
        assert body_of(it.title).split("\n\n")[0] in seeds[it.title]["text"], it.title
    assert [flight.arrived[f"site/slow{j}"] for j in range(6)] == [1] * 6
    assert not list((settings.seeds_dir / "feeds").rglob(".*.json"))
    assert fetch(roomy, days=2 / 24).page_requests == 0


def test_feeds_the_budget_did_not_reach_stay_due(httpserver: HTTPServer, tmp_path: Path) -> None:
    site = Site(httpserver)
    site.feed("/feed", rss("Wire", [Item("1", "One", None, NOW, "Some text here.")]))
    settings = settings_for(tmp_path, fetch_budget=0.0)
    feedlist.add_feeds(settings, [site.url("/feed")], now=NOW)
    (result,) = fetch(settings).results
    assert result.late and "DIGEST_FETCH_BUDGET" in result.line and not result.problem
    assert site.hits("/feed") == 0
    (row,) = feedlist.list_feeds(settings)
    assert row.last_poll is None
    assert fetch(settings_for(tmp_path)).new == 1  # polled on the next run


def test_by_host_goes_from_host_to_host_in_order_and_stops_starting_at_the_deadline() -> None:
    seen: list[str] = []

    def job(item: str) -> str:
        seen.append(item)
        return item.upper()

    items = ["a1", "a2", "a3", "b1"]
    run = crew.by_host(items, lambda item: item[0], job, workers=1, deadline=9, clock=lambda: 0)
    assert dict(run) == {i: i.upper() for i in items}
    assert seen[0] == "a1" and [i for i in seen if i[0] == "a"] == ["a1", "a2", "a3"]
    seen.clear()
    clock = lambda: len(seen)  # noqa: E731 (a clock that ticks once per job)
    got = dict(crew.by_host(items, lambda item: item[0], job, workers=1, deadline=2, clock=clock))
    assert seen == ["a1", "b1"]  # then the budget is spent: nothing more starts
    assert got == {"a1": "A1", "b1": "B1", "a2": crew.UNREACHED, "a3": crew.UNREACHED}


def test_a_job_that_raises_raises_in_the_calling_thread() -> None:
    def job(item: int) -> int:
        raise ValueError(f"bug {item}")

    with pytest.raises(ValueError, match="bug 1"):
        list(crew.by_host([1], str, job, workers=2, deadline=time.monotonic() + 60))
