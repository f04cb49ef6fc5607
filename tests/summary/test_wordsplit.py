"""digest.summary.wordsplit cuts words as NLTK's word tokenizer does, without NLTK's passes.

The reference is NLTK's own `NLTKWordTokenizer` kept to sumy's word tokens;
benchmarks/wordsplit_check.py compares the two on every sentence of the eval articles.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nltk.tokenize import NLTKWordTokenizer

from digest.summary.wordsplit import WORD, split_words

NLTK = NLTKWordTokenizer()


def nltk_words(sentence: str) -> tuple[str, ...]:
    return tuple(w for w in NLTK.tokenize(sentence) if WORD.match(w))


@pytest.mark.parametrize(
    "sentence",
    [
        "Good muffins cost $3.88 (roughly 3,36 euros) in New York.",
        "He said: \"I don't know, and I can't say.\"",
        "The students' union, led by O'Neill, said it wasn't gonna happen.",
        "'Hello,' she said. 'It's the well-known rock'n'roll singer's tour.'",
        "“Quoted,” he wrote — and then… nothing... at all--really.",
        "Prices rose 5% to $1,000,000; analysts (e.g. J.P. Morgan) cannot agree!",
        "Was it 'tis or 'twas? Lemme see, gimme a minute, I wanna know.",
        "A word,5 and a list,,of,:odd:,commas: here.",
        "U.S.-based firms said so. And then (in the U.S.) they didn't.",
        "He'll say they're sure we've seen I'm told you'd go, DON'T you think?",
        'He said "no." "',
        "It ended with a quote.'",
        "Ende. ‘Zitat’ und «guillemets» sowie „Anführung“ ... weiter*",
        "",
        "   ",
        "Email me at a@b.com #news &more <tags> [brackets] {braces}.",
    ],
)
def test_words_are_nltks(sentence: str) -> None:
    assert split_words(sentence) == nltk_words(sentence)


NEWS_CHARACTERS = st.sampled_from(
    list("abcdeNOTstn'\"`-.,:;!?()[]$%&*… 0123456789") + ["n't", "'s", "--", "“", "”", "‘", "’"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(NEWS_CHARACTERS, max_size=40).map("".join))
def test_words_are_nltks_on_any_mix_of_letters_and_punctuation(sentence: str) -> None:
    assert split_words(sentence) == nltk_words(sentence)
