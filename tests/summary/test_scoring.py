"""Tests for sentence hygiene and the "news" choice (digest.summary.scoring)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digest.intake.files import parse_article
from digest.records import FileVersion
from digest.summary import nlp, scoring
from digest.summary import summarizer as summarize


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("(CNN)The TV season is winding down.", "The TV season is winding down."),
        ("Moscow (CNN)A Russian TV channel aired it.", "A Russian TV channel aired it."),
        ("Charleston, South Carolina (CNN)Police officers came.", "Police officers came."),
        ("LONDON, England (CNN) -- Britain voted.", "Britain voted."),
        ("WASHINGTON (AP) — The Senate voted.", "The Senate voted."),
        ("SAN SALVADOR — The president spoke.", "The president spoke."),
        ("BEIJING, China (Reuters) - Shares fell.", "Shares fell."),
        ("(Rolling Stone)One summer a few years ago.", "One summer a few years ago."),
        ('(CNN)"Sell all that you own," he said.', '"Sell all that you own," he said.'),
        ("(CNN)2015 was a long year.", "2015 was a long year."),
        # not datelines
        ("Pelosi (D-CA) said no.", "Pelosi (D-CA) said no."),
        ("NASA said the launch was delayed.", "NASA said the launch was delayed."),
        ("NASA — the agency — said no.", "NASA — the agency — said no."),
        ("The (CNN) show was cancelled.", "The (CNN) show was cancelled."),
        ("(CNN)", "(CNN)"),
    ],
)
def test_strip_dateline(sentence: str, expected: str) -> None:
    assert scoring.strip_dateline(sentence) == expected


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("CNN's Dave Alsup and Greg Morrison contributed to this report.", True),
        ("CNN's Masoud Popalzai contributed to this report from Kabul, Afghanistan.", True),
        ("Bryony Jones contributed to this report .", True),
        ("Creating the sounds of 'Star Wars' CNN's Henry Hanks contributed to this story.", True),
        ("READ MORE: Social media react to Hillary Clinton logo .", True),
        ('Click here for more on "Mad Men."', True),
        ("Follow @CNNPhotos on Twitter to join the conversation about photography.", True),
        ("Copyright © 2015 Rolling Stone.", True),
        ("Lack of education is a major contributor to this poverty.", False),
        ("Gangs are contributing to the vicious cycle of violence.", False),
        ("He said the report was wrong.", False),
    ],
)
def test_is_boilerplate(sentence: str, expected: bool) -> None:
    assert scoring.is_boilerplate(sentence) is expected


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("1.", True),
        ("ET, Sunday, HBO .", True),
        ("Why?", True),
        ('"Scorpion," 8 p.m.', True),
        ("The storm is over.", False),
        ("She didn't say 2,000 people.", False),
    ],
)
def test_is_fragment(sentence: str, expected: bool) -> None:
    assert scoring.is_fragment(sentence) is expected


def stems(*sentences: str) -> list[list[str]]:
    return [s.split() for s in sentences]


# The mechanism under test, independent of the constants cross-validation ships in NEWS.
SQRT = scoring.Weights(position=0.5, words_per_sentence=35, length=0.0)


def test_equal_centrality_goes_to_the_earliest() -> None:
    words = stems("a b", "c d", "e f", "g h")
    assert scoring.choose([1.0, 1.0, 1.0, 1.0], words, [2, 2, 2, 2], 2, SQRT) == [0, 1]


def test_a_much_more_central_sentence_beats_an_earlier_one() -> None:
    words = stems("a b", "c d", "e f", "g h")
    # Weight (1 + 3) ** -0.5 = 0.5: the fourth sentence needs more than twice the centrality.
    assert scoring.choose([1.0, 0.2, 0.2, 2.1], words, [2, 2, 2, 2], 2, SQRT) == [0, 3]
    # ... a little more central is not enough against the opening sentence.
    assert scoring.choose([1.0, 0.2, 0.2, 1.9], words, [2, 2, 2, 2], 1, SQRT) == [0]


def test_without_a_position_prior_centrality_alone_decides() -> None:
    words = stems("a b", "c d", "e f", "g h")
    flat = scoring.Weights(position=0.0, words_per_sentence=35, length=0.0)
    assert scoring.choose([1.0, 0.2, 0.2, 1.1], words, [2, 2, 2, 2], 1, flat) == [3]


def test_a_length_prior_prefers_longer_sentences_up_to_a_cap() -> None:
    words = stems("a b", "c d")
    longer = scoring.Weights(position=0.0, words_per_sentence=1000, length=0.5)
    assert scoring.choose([1.0, 0.8], words, [4, 16], 1, longer) == [1]
    # Past LONG_SENTENCE words, length no longer counts: centrality decides.
    cap = scoring.LONG_SENTENCE
    assert scoring.choose([1.0, 0.8], words, [cap, 4 * cap], 1, longer) == [0]


def test_near_identical_sentences_are_chosen_once() -> None:
    words = stems("storm closes harbour", "storm closes the harbour", "boats stay in port")
    assert scoring.choose([3.0, 3.0, 1.0], words, [3, 4, 4], 2, SQRT) == [0, 2]


def test_the_word_budget_skips_long_sentences_but_never_the_first_pick() -> None:
    budget = 3 * SQRT.words_per_sentence
    long, short = budget // 2, budget // 10
    words = stems("a", "b", "c", "d")
    lengths = [long, short, long, short]
    assert scoring.choose([1.0, 0.9, 0.8, 0.1], words, lengths, 3, SQRT) == [0, 1, 3]
    assert scoring.choose([1.0], words[:1], [10_000], 3, SQRT) == [0]


def test_nothing_to_choose() -> None:
    assert scoring.choose([], [], [], 3) == []
    assert scoring.choose([0.0, 0.0], stems("a", "b"), [1, 1], 0) == []


@given(
    ratings=st.lists(st.floats(min_value=0, max_value=1e6), max_size=30),
    count=st.integers(min_value=0, max_value=5),
)
def test_choose_gives_ascending_distinct_indexes(ratings: list[float], count: int) -> None:
    words = [[f"w{i}", "x"] for i in range(len(ratings))]
    chosen = scoring.choose(ratings, words, [10] * len(ratings), count)
    assert chosen == sorted(set(chosen))
    assert len(chosen) == min(count, len(ratings))
    assert all(0 <= i < len(ratings) for i in chosen)


def test_centrality_is_sumys_reduction_rating() -> None:
    from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
    from sumy.summarizers.reduction import ReductionSummarizer

    text = (
        "A winter storm closed the harbour on Tuesday. The harbour master said the storm "
        "would pass by Friday. Fishermen said the closure of the harbour was costing them "
        "money. Shops sold out of bread. The storm is the second this month, and the harbour "
        "has been closed twice."
    )
    tokenizer = nlp.tokenizer("english")
    sentences = summarize.split_sentences(text, "english")
    stem, stop_words = nlp.stemmer("english"), nlp.stop_words("english")
    words = [
        [stem(w.lower()) for w in tokenizer.to_words(s) if w.lower() not in stop_words]
        for s in sentences
    ]
    document = ObjectDocumentModel([Paragraph([Sentence(s, tokenizer) for s in sentences])])
    sumy = ReductionSummarizer(stem)
    sumy.stop_words = stop_words
    expected = sumy.rate_sentences(document)
    assert scoring.centrality(words) == pytest.approx([expected[s] for s in document.sentences])
    assert max(scoring.centrality(words)) > 0


def test_the_shipped_constants_are_what_summarize_uses() -> None:
    """summarize.scorable + scoring.choose(NEWS) is the news summary (eval.py relies on it)."""
    text = (
        "A winter storm closed the harbour of Port Ellis on Tuesday. The coast guard said waves "
        "of up to nine metres were expected overnight. Fishermen said the closure was costing "
        "them thousands of pounds a day. Many had already lost a week of work to an earlier "
        "storm this month. The harbour master said the harbour would reopen once the waves "
        "dropped. Local shops reported a rush on bread, candles and batteries. Forecasters "
        "warned that a second storm could reach the harbour next week."
    )
    seed = ('{"title": "Storm shuts harbour", "text": "' + text + '"}').encode()
    article = parse_article(FileVersion("a.json", len(seed), 0, 0), seed)
    found = summarize.scorable(article, 2)
    assert found.ranked
    chosen = scoring.choose(found.centrality, found.stems, found.lengths, 2, scoring.NEWS)
    expected = summarize.Summarizer("news").summarize(article, 2).sentences
    assert tuple(found.sentences[i] for i in chosen) == expected


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("But the council said no.", True),
        ("However, the vote was close.", True),
        ("Still, nobody was hurt.", True),
        ("He resigned on Friday.", True),
        ('"They were gone," she said.', True),
        ("That was the last train.", True),
        ("In addition, two bridges closed.", True),
        ("Hers was one of many messages.", True),
        ("Another program trains local forces.", True),
        ("Anotherland opened on Friday.", False),
        ("This year the fair opened early.", False),
        ("That night the river rose.", False),
        ("Theresa May spoke first.", False),
        ("Hearts won the cup.", False),
        ("The mayor said no.", False),
    ],
)
def test_points_back(sentence: str, expected: bool) -> None:
    assert scoring.points_back(sentence) is expected


def test_a_sentence_pointing_back_comes_with_the_one_before_or_not_at_all() -> None:
    words = stems("a b", "c d", "e f", "g h")
    leans = [False, False, False, True]  # the fourth opens "He ..."
    ratings = [1.0, 0.1, 0.5, 5.0]
    assert scoring.choose(ratings, words, [2, 2, 2, 2], 3, SQRT, leans) == [0, 2, 3]
    # with room for two, it brings its referent and the opening gives way
    assert scoring.choose(ratings, words, [2, 2, 2, 2], 2, SQRT, leans) == [2, 3]
    # with room for one, it cannot come with its referent: left out
    assert scoring.choose(ratings, words, [2, 2, 2, 2], 1, SQRT, leans) == [0]
    # ... as before issue 19 it came alone
    before = scoring.Weights(0.5, 35, 0.0, standalone=False)
    assert scoring.choose(ratings, words, [2, 2, 2, 2], 1, before, leans) == [3]


def test_a_chain_of_sentences_pointing_back_comes_whole() -> None:
    words = stems("a b", "c d", "e f", "g h", "i j")
    leans = [False, False, True, True, False]
    assert scoring.choose([1.0, 0.1, 0.1, 9.0, 0.1], words, [2] * 5, 4, SQRT, leans) == [0, 1, 2, 3]
    assert scoring.dangling([0, 1, 2, 3], leans) is False
    assert scoring.dangling([0, 3], leans) is True
    assert scoring.dangling([0, 1], leans) is False
