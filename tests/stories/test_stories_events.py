"""Reports of one event in other words are one entry; different events and teasers are not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_stories import BRIDGE, DAM_ROW, NOW, WIRE, article, digest_of

from digest.edition.compose import Digest
from digest.records import Article
from digest.stories.evidence import evidence, figures, leads, names, sentences

# Each pair: one event told by two outlets in their own words (same people, places, figures).
TRAM = (
    [
        "The city council on Tuesday approved the Market Street tram line by a vote of 9–2, "
        "ending two years of argument over the $1.2 billion project.",
        "Mayor Helen Okafor called the decision a turning point for the east side.",
        "Councillor Dan Whitfield, who voted against, said the cost would fall on renters.",
        "Construction is due to begin next spring.",
    ],
    [
        "Helen Okafor's long-promised tram along Market Street cleared its last hurdle "
        "when councillors backed it 9-2 late on Tuesday.",
        "The line will cost $1.2 billion, most of it from state and federal grants.",
        "Dan Whitfield, one of the two who opposed it, warned that fares and rents would rise.",
        "The mayor said work would start in the spring.",
    ],
)
FERRY = (
    [
        "A ferry carrying 214 passengers ran aground off Kellsey Point early on Sunday, "
        "and all on board were brought ashore by lifeboat crews.",
        "The operator, Northern Isles Shipping, said the MV Aurora lost steering in heavy fog.",
        "Captain Rosa Lindqvist stayed with the vessel until the last passenger was off.",
    ],
    [
        "Lifeboats rescued 214 people from the MV Aurora after it struck rocks near Kellsey "
        "Point on Sunday morning.",
        "Northern Isles Shipping blamed a steering failure in thick fog.",
        "Rosa Lindqvist, the ship's captain, was the last to leave, coastguards said.",
    ],
)
MERGER = (
    [
        "Brightwater Foods agreed to buy the dairy group Halvorsen for $3.4 billion, the two "
        "companies said on Monday.",
        "Chief executive Amara Nwosu said the deal would make Brightwater the region's largest "
        "maker of cheese and yoghurt.",
        "Halvorsen shareholders will receive $41.50 a share in cash.",
    ],
    [
        "Halvorsen, the dairy business, is being sold to Brightwater Foods in a deal worth "
        "$3.4 billion.",
        "Investors in Halvorsen get $41.50 for each share, according to Monday's announcement.",
        "Amara Nwosu, who runs Brightwater, said the combined firm would lead the cheese market.",
    ],
)
# Two different council votes in the same week, same city, same mayor.
LIBRARY = [
    "The city council on Thursday voted 7–4 to close the Elm Road library branch and move "
    "its books to a new reading room in the civic centre.",
    "Mayor Helen Okafor said the $3 million saving would keep the other branches open longer.",
    "Councillor Priya Raman, who opposed the closure, said older readers would lose out.",
]


def background() -> list[Article]:
    """Other stories of the same digest: a run never sees two reports alone."""
    return [
        article(WIRE, title="Reservoir at a thirty-year low", n=10, source="Valley Post"),
        article(BRIDGE, title="Elm Street bridge to be replaced", n=11, source="City News"),
        article(DAM_ROW, title="Anglers fight river dam", n=12, source="River News"),
    ]


def together(*articles: Article) -> Digest:
    return digest_of([*articles, *background()])


def entry_of(digest: Digest, source: str) -> tuple[str | None, ...]:
    """The sources of the entry whose lead or "also reported by" holds this source."""
    for entry in digest.entries:
        found = (entry.article.source, *(a.source for a in entry.also))
        if source in found:
            return found
    raise AssertionError(source)


@pytest.mark.parametrize("pair", [TRAM, FERRY, MERGER], ids=["tram", "ferry", "merger"])
def test_two_reports_of_one_event_in_other_words_are_one_entry(
    pair: tuple[list[str], list[str]],
) -> None:
    first = article(pair[0], title=pair[0][0][:50], n=1, source="East Side News")
    second = article(
        pair[1],
        title=pair[1][0][:50],
        n=2,
        source="City Wire",
        published=NOW - timedelta(hours=5),
    )
    digest = together(first, second)
    assert len(digest.entries) == 4
    assert sorted(entry_of(digest, "City Wire"), key=str) == ["City Wire", "East Side News"]


def test_the_fuller_report_leads() -> None:
    short = article(TRAM[1][:3], title="Tram wins vote", n=1, source="City Wire")
    full = article(TRAM[0], title="Council approves tram", n=2, source="East Side News")
    digest = together(short, full)
    (entry,) = [e for e in digest.entries if e.also]
    assert entry.article is full and entry.also == (short,)


def test_two_council_votes_in_one_week_are_two_entries() -> None:
    tram = article(TRAM[0], title="Council approves tram", n=1, source="East Side News")
    library = article(
        LIBRARY,
        title="Council closes Elm Road library",
        n=2,
        source="Town Crier",
        published=NOW - timedelta(days=2),
    )
    digest = together(tram, library)
    assert len(digest.entries) == 5
    assert all(e.also == () for e in digest.entries)


def test_a_vote_where_the_tram_votes_councillor_speaks_is_another_entry() -> None:
    """The library vote shares the mayor and a councillor with the tram vote (two names,
    enough to merge on), but each leads with a tally and a sum the other never gives."""
    tram = article(TRAM[0], title="Council approves tram", n=1, source="East Side News")
    library = article(
        [
            *LIBRARY[:2],
            "Councillor Dan Whitfield, who opposed the closure, said older readers would lose out.",
        ],
        title="Council closes Elm Road library",
        n=2,
        source="Town Crier",
        published=NOW - timedelta(days=2),
    )
    digest = together(tram, library)
    assert len(digest.entries) == 5
    assert all(e.also == () for e in digest.entries)


def test_a_vote_without_figures_is_not_brought_to_the_tram_vote_by_borrowing() -> None:
    """Sharing the mayor and a councillor (cosine 0.33), the two reports are each other's
    closest in a small digest; borrowing each other alone lifted them to 0.59 (one entry)."""
    tram = article(TRAM[0], title="Council approves tram", n=1, source="East Side News")
    library = article(
        [
            "The city council on Thursday voted to close the Elm Road library branch and move "
            "its books to a new reading room in the civic centre.",
            "Mayor Helen Okafor said the saving would keep the other branches open longer.",
            "Councillor Dan Whitfield, who opposed the closure, said older readers would lose out.",
        ],
        title="Council closes Elm Road library",
        n=2,
        source="Town Crier",
        published=NOW - timedelta(days=2),
    )
    digest = together(tram, library)
    assert len(digest.entries) == 5
    assert all(e.also == () for e in digest.entries)


def test_a_headline_alone_joins_the_story_whose_one_name_it_gives() -> None:
    """It names one place only, so it cannot share two names; sharing all it has is enough."""
    full = article(TRAM[0], title="Council approves tram", n=1, source="East Side News")
    other = article(TRAM[1], title="Okafor's tram clears last hurdle", n=2, source="City Wire")
    title = "Council backs Market Street tram line"
    headline = article([title], title=title, n=3, source="Metro Briefs")
    digest = together(full, other, headline)
    assert len(digest.entries) == 4
    assert len(entry_of(digest, "Metro Briefs")) == 3


def test_two_short_teasers_of_different_items_are_two_entries() -> None:
    link = article(["A link that is no web page."], title="A link that is no web page.", n=1)
    local = article(["A local file is no web page."], title="A local file is no web page.", n=2)
    digest = together(link, local)
    assert len(digest.entries) == 5
    assert all(e.also == () for e in digest.entries)


def test_names_stop_at_sentences_and_the_title_and_leave_out_titles() -> None:
    text = (
        "The vote came on Tuesday. Mayor Helen Okafor's plan passed."
        " Councillor Dan Whitfield objected."
    )
    found = [n for s in sentences(text) for n in names(s)]
    assert found == ["helen okafor", "dan whitfield"]
    keys = evidence("Council backs tram", text)
    assert {"n:helen okafor", "n:okafor", "n:dan whitfield", "n:whitfield"} <= set(keys)
    assert not any(
        "tuesday" in k or "mayor" in k or "tram" in k for k in keys if k.startswith("n:")
    )


def test_a_report_leads_with_names_people_and_figures() -> None:
    lead = leads("Council backs tram", " ".join(TRAM[0]))
    assert {"n:okafor", "n:whitfield", "n:street"} <= lead.names
    assert lead.people == frozenset()  # "Okafor" and "Whitfield" never stand alone here
    assert lead.figures == {"q:9-2", "q:1.2 billion"}
    text = (
        "France Telecom said on Monday that Amara Nwosu would lead its Middle East arm. "
        "Nwosu joins from Brightwater. France Telecom shares rose."
    )
    assert leads("Telecom hires", text).people == {"n:nwosu"}


def test_a_sentence_is_not_cut_at_an_initial() -> None:
    assert sentences("Sheriff Rosco P. Coltrane gave chase. Nobody was hurt.") == [
        "Sheriff Rosco P. Coltrane gave chase.",
        "Nobody was hurt.",
    ]


def test_figures_keep_their_magnitude_and_scores_and_dates() -> None:
    found = set(
        figures("Passed 9–2 on Nov. 30, 2009 at 9:36 for $1.2 billion, 23 seats and 5 more.")
    )
    assert found == {"q:9-2", "d:nov 30", "y:2009", "q:1.2 billion", "q:23"}


# A third outlet's angle on the tram vote: the riders, few of the same words, the line's name
# and the vote; it resembles the two reports of the vote less than each resembles the other.
TRAM_RIDERS = [
    "Commuters from the east side have waited ten years for a faster way into town, and many "
    "said on Wednesday they would believe it when they saw it.",
    "Buses on the corridor run late two days in five, according to the transport authority's "
    "own figures.",
    "The Market Street line, approved 9-2, is meant to halve the trip to the centre.",
]
# A second report of the library vote, in other words.
LIBRARY_OTHER = [
    "Elm Road's library branch will shut after councillors voted 7-4 on Thursday to move "
    "its shelves into the civic centre.",
    "Priya Raman, who voted against, said older readers would be the ones to lose out.",
    "Helen Okafor said the $3 million saved would keep the other branches open for longer.",
]


def test_a_report_joins_the_reports_it_resembles_through_them() -> None:
    """Its own cosine to the two reports averages under 0.23 (the rule before: two entries);
    through the reports it resembles, it is one story with them."""
    full = article(TRAM[0], title="Council approves tram", n=1, source="East Side News")
    other = article(TRAM[1], title="Okafor's tram clears last hurdle", n=2, source="City Wire")
    riders = article(TRAM_RIDERS, title="Riders have waited a decade", n=3, source="Metro Briefs")
    digest = together(full, other, riders)
    assert len(digest.entries) == 4
    assert sorted(entry_of(digest, "Metro Briefs"), key=str) == [
        "City Wire",
        "East Side News",
        "Metro Briefs",
    ]


def test_two_votes_each_with_its_own_reports_stay_two_entries() -> None:
    votes = [
        article(TRAM[0], title="Council approves tram", n=1, source="East Side News"),
        article(TRAM[1], title="Okafor's tram clears last hurdle", n=2, source="City Wire"),
        article(TRAM_RIDERS, title="Riders have waited a decade", n=3, source="Metro Briefs"),
        article(LIBRARY, title="Council closes Elm Road library", n=4, source="Town Crier"),
        article(LIBRARY_OTHER, title="Elm Road library to shut", n=5, source="Valley Post"),
    ]
    digest = together(*votes)
    assert len(digest.entries) == 5
    assert sorted(entry_of(digest, "Town Crier"), key=str) == ["Town Crier", "Valley Post"]
    assert len(entry_of(digest, "Metro Briefs")) == 3


# Two players of one team arrested on one weekend: the same team, road, charge and patrol;
# the reports of the second name the first in passing, but each event's reports lead with its
# own man.
BREVIK = (
    [
        "Harbour City Mariners receiver Tomas Brevik was arrested on suspicion of drunk driving "
        "early on Saturday, a day before the team's playoff game.",
        "Brevik was stopped on Route 52 at 2.30 a.m., the highway patrol said.",
        "The Mariners said Brevik would still play on Sunday.",
    ],
    [
        "Tomas Brevik, the Mariners' leading receiver, was arrested on suspicion of drunk "
        "driving on Route 52 at 2.30 a.m. on Saturday, on the eve of the playoff game.",
        "Highway patrol officers said Brevik failed a roadside sobriety test.",
        "Coach Ellen Marsh said the Mariners would deal with it internally.",
    ],
)
ADEYEMI = (
    [
        "Mariners defensive tackle Joel Adeyemi was arrested on suspicion of drunk driving on "
        "Monday, the team's second such arrest in three days.",
        "Adeyemi was stopped for speeding on Route 94, the highway patrol said.",
        "He was released on bail on Monday afternoon and is due in court next month.",
        "The team said it was aware of the arrest and was gathering information.",
        "Receiver Tomas Brevik was arrested on Route 52 on Saturday and played on Sunday.",
    ],
    [
        "Joel Adeyemi of the Harbour City Mariners faces drunk driving charges after officers "
        "stopped him on Route 94 early on Monday.",
        "Adeyemi failed a roadside sobriety test, the highway patrol said.",
        "Officers said he was driving at 90 miles an hour in a 65 zone.",
        "The Mariners declined to comment beyond a short statement.",
        "It is the Mariners' second arrest since Tomas Brevik's on Saturday.",
    ],
)


def test_two_arrests_each_leading_with_its_own_man_stay_two_entries() -> None:
    """Alike enough to be one story on their evidence alone (they were, before `Subjects`)."""
    reports = [
        article(
            BREVIK[0],
            title="Mariners receiver arrested",
            n=1,
            source="Harbour Post",
            published=NOW - timedelta(hours=50),
        ),
        article(
            BREVIK[1],
            title="Brevik held after playoff eve arrest",
            n=2,
            source="City Wire",
            published=NOW - timedelta(hours=46),
        ),
        article(
            ADEYEMI[0],
            title="Second Mariners player arrested",
            n=3,
            source="Bay Times",
            published=NOW - timedelta(hours=3),
        ),
        article(
            ADEYEMI[1],
            title="Adeyemi faces charges",
            n=4,
            source="Metro Briefs",
            published=NOW - timedelta(hours=2),
        ),
    ]
    digest = together(*reports)
    assert len(digest.entries) == 5
    assert sorted(entry_of(digest, "City Wire"), key=str) == ["City Wire", "Harbour Post"]
    assert sorted(entry_of(digest, "Metro Briefs"), key=str) == ["Bay Times", "Metro Briefs"]
