"""Tests for digest.stories: copies merged, sent copies dropped, events grouped, ranks, sections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import make_article
from hypothesis import given, settings
from hypothesis import strategies as st

from digest import stories
from digest.edition.compose import Digest, compose, demote, plan
from digest.intake.files import parse_article
from digest.records import Article, FileVersion, Summary

NOW = datetime(2024, 3, 5, 7, 0, tzinfo=UTC)

WIRE = [
    "The regional water authority said on Tuesday that reservoir levels in the northern "
    "valley had fallen to their lowest point in thirty years after a dry winter.",
    "Engineers at the Millbrook dam reported that inflows were less than half of the "
    "seasonal average, and warned that farms downstream could face restrictions by June.",
    "Authority chair Helen Ortiz told reporters that households would be asked to cut "
    "their use by a tenth, with hosepipe bans likely in three districts.",
    "Farmers' groups said the cuts would hit fruit growers hardest, since orchards need "
    "steady irrigation through the spring blossom.",
    "The authority plans to reopen two disused wells near Carver Creek and to bring forward "
    "repairs to leaking mains, which lose about a fifth of all treated water.",
    "Environmental campaigners welcomed the repairs but said the region had relied for too "
    "long on a single reservoir and needed a plan for drier decades ahead.",
    "A public meeting on the measures is set for next Thursday in the town hall, and the "
    "authority will publish weekly figures on its website until the levels recover.",
]
UPDATE = [
    "Late on Tuesday the state governor declared a drought emergency for the valley, "
    "releasing funds for water trucks and for emergency pipes from the southern lakes.",
    "The declaration lets the authority override local rules on well drilling and "
    "requires golf courses and car washes to cut their use by half from next week.",
    "Officials said the trucks would first supply the hill villages of Alder and Pine "
    "Hollow, whose springs have already run dry, before serving the outlying farms.",
    "The governor also ordered a review of the authority's spending on repairs, after "
    "auditors found that money set aside for the mains had been moved to other projects.",
]
BRIDGE = [
    "The city council voted on Monday to replace the ageing Elm Street bridge, which "
    "engineers closed to lorries last autumn after finding cracks in its supports.",
    "Councillor Raj Patel said the new crossing would carry a bus lane and a separate "
    "cycle path, and should open within three years if the tender goes smoothly.",
    "Shop owners near the bridge said the closure had cut their trade, and asked the "
    "council to keep one footpath open throughout the building work.",
    "The project will cost about forty million, most of it from a national transport "
    "fund, with the rest borrowed against future parking income.",
]
DAM_ROW = [
    "Fishermen on the lower river say a new hydroelectric scheme proposed by the energy "
    "company Voltaris would block salmon from their spawning grounds for good.",
    "The company argues the turbines would power forty thousand homes and that a fish "
    "ladder built into the design would let most of the salmon pass upstream.",
    "An inquiry into the scheme opens in May, and a decision is not expected before the "
    "end of next year, according to the planning inspectorate.",
]
OTHER_REPORT = [
    "Reservoir levels in the northern valley are the lowest in thirty years, the regional "
    "water authority warned, after months with almost no rain or snow.",
    "Helen Ortiz, who chairs the authority, asked households to use a tenth less water and "
    "said hosepipe bans were likely in three districts.",
    "At the Millbrook dam, inflows are running at less than half the seasonal average.",
    "Two old wells near Carver Creek will be reopened, the authority said.",
]


def article(
    paragraphs: list[str],
    *,
    title: str = "Reservoir at a thirty-year low",
    n: int = 0,
    source: str | None = None,
    url: str | None = None,
    section: str | None = None,
    published: datetime = NOW - timedelta(hours=2),
) -> Article:
    return make_article(
        id=f"a{n}",
        path=Path(f"{n}.txt"),
        title=title,
        paragraphs=tuple(paragraphs),
        modified=published,
        section=section,
        source=source,
        url=url,
        published=published,
    )


def scraped(text: str, n: int) -> Article:
    """A .txt seed file in the scraper layout, read the way a run reads it."""
    data = text.encode()
    return parse_article(FileVersion(f"copy-{n}.txt", len(data), 0, n), data)


def edited_copies() -> list[Article]:
    """Five scraped copies: new headlines, chrome, a cut or added paragraph, quotes, spacing."""
    p = WIRE
    reworded = p[2].replace("told reporters", "said").replace("likely", "expected")
    return [
        scraped("News\n\nDrought: reservoir hits record low\n\n" + "\n\n".join(p), 0),
        scraped(
            "Advertisement\n\nWater crisis looms\n\n"
            + "\n\n".join([*p[:3], *p[4:]])
            + "\n\nCopyright © 2024 Valley Post. All rights reserved.\n\nSource link",
            1,
        ),
        scraped(
            "Dry winter empties Millbrook dam\n\n"
            + "\n\n".join([p[0], p[1], reworded, *p[3:]]).replace("'", "’")
            + "\n\nThis story has been updated with additional reporting.",
            2,
        ),
        scraped(
            "BREAKING | Valley reservoir at its lowest\n\n"
            + "\n\n".join("  ".join(x.split(" ")) for x in p[:-1])
            + "\n\nRelated Posts\n\nOther story",
            3,
        ),
        scraped(
            "Households asked to save water\n\n"
            + "\n\n".join(x.replace(", ", " , ").replace(" the ", "\nthe ", 1) for x in p)
            .replace("said", "stated", 2)
            .replace("'", '"'),
            4,
        ),
    ]


def digest_of(articles: list[Article], sent: list[stories.Sketch] | None = None) -> Digest:
    """The digest of these articles, each summarized by its first paragraph."""
    planned = plan(articles, 10, now=NOW, sent=sent or ())
    summaries = {a.id: Summary(a.paragraphs[:1], "english", "lead") for a in planned.leads}
    return compose(planned, summaries, created=NOW)


def test_five_edited_copies_are_one_entry() -> None:
    copies = edited_copies()
    assert len({a.id for a in copies}) == 5  # each copy is a different text to the loader
    digest = digest_of(copies)
    assert len(digest.entries) == 1 and not digest.more
    assert len(digest.entries[0].also) == 4


def test_same_text_pairs_are_found() -> None:
    sketches = [stories.sketch(a.text) for a in edited_copies()]
    assert stories.copies(sketches) == [0] * 5


def test_two_unrelated_articles_on_one_topic_are_two_entries() -> None:
    water = article(WIRE, n=1, source="Valley Post")
    dam = article(DAM_ROW, title="Anglers fight river dam", n=2, source="River News")
    digest = digest_of([water, dam])
    assert len(digest.entries) == 2
    assert all(e.also == () for e in digest.entries)


def test_a_copy_of_a_sent_article_is_not_sent_again() -> None:
    sent = [stories.sketch(article(WIRE).text)]
    again = edited_copies()[1]
    assert stories.against_sent([stories.sketch(again.text)], sent) == ["repeat"]
    digest = digest_of([again], sent)
    assert digest.is_empty


def test_an_updated_version_is_one_entry_marked_updated() -> None:
    sent = [stories.sketch(article(WIRE).text)]
    updated = article([*WIRE[:2], *UPDATE, *WIRE[2:]], n=1, title="Drought emergency declared")
    copy = article([*WIRE, *UPDATE], n=2, title="Governor acts on drought", source="Wire")
    assert stories.against_sent([stories.sketch(updated.text)], sent) == ["updated"]
    digest = digest_of([updated, copy], sent)
    (entry,) = digest.entries
    assert entry.updated


def test_a_paragraph_added_is_not_an_update() -> None:
    sent = [stories.sketch(article(WIRE).text)]
    added = article([*WIRE, "Additional reporting by the news desk in the capital."], n=3)
    assert stories.against_sent([stories.sketch(added.text)], sent) == ["repeat"]


def test_reports_of_one_event_are_one_entry_with_the_fuller_one_leading() -> None:
    long_one = article(WIRE, n=1, source="Valley Post", url="https://valley.example/a")
    short_one = article(OTHER_REPORT, n=2, source="Metro", url="https://metro.example/b")
    digest = digest_of([short_one, long_one])
    (entry,) = digest.entries
    assert entry.article is long_one and entry.also == (short_one,)


def test_reports_days_apart_are_different_stories() -> None:
    old = article(OTHER_REPORT, n=2, published=NOW - timedelta(days=10))
    digest = digest_of([article(WIRE, n=1), old])
    assert len(digest.entries) == 2


def test_rank_counts_outlets_then_freshness_then_length() -> None:
    fresh, stale = NOW - timedelta(hours=1), NOW - timedelta(days=3)
    assert stories.rank_of(article(WIRE, published=stale), 2, NOW) > stories.rank_of(
        article(WIRE, published=fresh), 1, NOW
    )
    assert stories.rank_of(article(BRIDGE, published=fresh), 1, NOW) > stories.rank_of(
        article(WIRE, published=stale), 1, NOW
    )
    long_text, short_text = article(WIRE * 3), article(WIRE[:1])
    assert stories.rank_of(long_text, 1, NOW) > stories.rank_of(short_text, 1, NOW)


def test_more_outlets_rank_first() -> None:
    covered = [article(WIRE, n=1, source="A"), article(OTHER_REPORT, n=2, source="B")]
    alone = article(BRIDGE, title="Bridge to be replaced", n=3, published=NOW)
    digest = digest_of([alone, *covered])
    assert [e.article.id for e in digest.entries] == ["a1", "a3"]
    assert digest.entries[0].rank > digest.entries[1].rank


def test_sections_group_entries_and_unlabelled_stories_find_theirs() -> None:
    water = article(WIRE, n=1, section="Environment", source="A")
    dam = article(DAM_ROW, title="Anglers fight river dam", n=2, section="Environment")
    bridge = article(BRIDGE, title="Bridge to be replaced", n=3, section="Local")
    more_bridge = article(
        [BRIDGE[1], BRIDGE[3]], title="Elm Street bridge tender", n=4, published=NOW
    )
    digest = digest_of([water, dam, bridge, more_bridge])
    names = [name for name, _ in digest.sections]
    assert sorted(names) == ["Environment", "Local"]
    flat = [e.section for e in digest.entries]
    assert flat == sorted(flat, key=lambda name: names.index(name or ""))  # one block per section


def test_no_sections_given_means_one_default_section() -> None:
    digest = digest_of([article(WIRE, n=1), article(BRIDGE, title="Bridge", n=2)])
    assert [name for name, _ in digest.sections] == [stories.ONLY_SECTION]


def test_demote_moves_the_lowest_ranked_entry() -> None:
    covered = [article(WIRE, n=1, source="A"), article(OTHER_REPORT, n=2, source="B")]
    bridge = article(BRIDGE, title="Bridge", n=3, section="Local")
    digest = digest_of([bridge, *covered])
    low = min(digest.entries, key=lambda e: e.rank)
    assert demote(digest, 1).more[0] is low.article


def test_shares_from_jaccard() -> None:
    assert stories.shares(0.5, 100, 200) == pytest.approx((1.0, 0.5))
    assert stories.shares(0.0, 0, 10) == (0.0, 0.0)


def test_empty_text_has_an_empty_sketch_that_matches_nothing() -> None:
    empty = stories.sketch("")
    assert empty.size == 0
    assert stories.copies([empty, empty]) == [0, 1]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(WIRE + BRIDGE + DAM_ROW), min_size=1, max_size=8))
def test_sketch_is_blind_to_case_quotes_and_spacing(paragraphs: list[str]) -> None:
    text = "\n\n".join(paragraphs)
    restyled = "  ".join(text.upper().replace("'", "’").split(" "))
    assert stories.sketch(text) == stories.sketch(restyled)
