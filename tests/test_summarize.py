"""Tests for the summarize stage: offline sentence splitting and sumy's rankers."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest.sources import Article
from digest.summarize import (
    METHODS,
    Summarizer,
    Summary,
    detect_language,
    split_sentences,
    summarize_text,
    supported_language,
)

ROOT = Path(__file__).resolve().parent.parent
REAL_SEED = ROOT / "seeds" / "000_49638b6ecd2811bf.txt"

HEADLINE = "Storm closes the harbour as fishermen wait for news"
ENGLISH = (
    HEADLINE,  # page extraction sometimes leaves the headline in the body
    "A winter storm closed the harbour of Port Ellis on Tuesday, keeping the fishing fleet "
    "in port for a third day. The coast guard said waves of up to nine metres were expected "
    "overnight.",
    "Fishermen said the closure was costing them thousands of pounds a day. Many had already "
    "lost a week of work to an earlier storm this month.",
    "The harbour master, Mr. Alan Price, said the harbour would reopen once the waves dropped "
    "below three metres. He expected that to happen by Friday.",
    "Local shops reported a rush on bread, candles and batteries. The school in the village "
    "will stay closed until the storm has passed.",
    "Forecasters warned that a second storm could reach the coast next week. Residents were "
    "asked to keep their boats tied up and to stay away from the sea wall.",
)

GERMAN = """Die Bundesregierung hat am Mittwoch ein neues Gesetz zur Förderung erneuerbarer \
Energien beschlossen. Nach Angaben des Wirtschaftsministeriums sollen bis zum Jahr 2030 \
mindestens achtzig Prozent des Stroms aus Wind und Sonne stammen.

Kritiker bemängeln, dass der Ausbau der Stromnetze nicht mit dem Tempo der neuen Anlagen \
mithalten kann. Vor allem im Süden des Landes fehlen Leitungen, die den Windstrom aus dem \
Norden transportieren.

Der Minister sagte, die Regierung werde die Genehmigungsverfahren deutlich vereinfachen. \
Außerdem sollen Kommunen stärker an den Einnahmen der Windparks beteiligt werden. Die \
Opposition sprach von einem Schritt in die richtige Richtung, der aber zu spät komme."""

SPANISH = """El Gobierno aprobó el martes un plan para reducir el consumo de agua en las \
regiones más afectadas por la sequía. Según el ministerio, las reservas de los embalses están \
por debajo del treinta por ciento de su capacidad.

Los agricultores advierten de que las restricciones pondrán en peligro miles de empleos en el \
campo. La organización de productores pidió ayudas directas para compensar las pérdidas de la \
cosecha.

La ministra explicó que el plan incluye inversiones en plantas desaladoras y en la \
modernización de los regadíos. También se prevén campañas para que los ciudadanos ahorren agua \
en sus casas. Los ecologistas consideran que las medidas llegan tarde y son insuficientes."""

RUSSIAN = """В среду правительство объявило о новой программе поддержки малого бизнеса. По \
словам министра экономики, предприниматели смогут получить льготные кредиты на развитие \
производства.

Эксперты считают, что программа поможет сохранить рабочие места в регионах. Однако многие \
владельцы компаний жалуются на сложные правила оформления документов.

Министр пообещал, что заявки будут рассматриваться не дольше двух недель. Кроме того, часть \
процентов по кредитам будет компенсирована из федерального бюджета. Первые результаты \
программы подведут в конце года."""


def make_article(
    paragraphs: tuple[str, ...] | str, title: str = HEADLINE, language: str | None = None
) -> Article:
    if isinstance(paragraphs, str):
        paragraphs = tuple(p for p in paragraphs.split("\n\n") if p.strip())
    return Article(
        id="test",
        path=Path("article.txt"),
        title=title,
        paragraphs=paragraphs,
        modified=datetime(2024, 1, 1, tzinfo=UTC),
        language=language,
    )


def normalise(text: str) -> str:
    return " ".join(text.split())


def assert_in_order(sentences: tuple[str, ...], source: str) -> None:
    """Every sentence is a substring of the source, each found after the one before."""
    haystack = normalise(source)
    position = 0
    for sentence in sentences:
        found = haystack.find(sentence, position)
        assert found >= 0, f"{sentence!r} is not in the text after position {position}"
        position = found + len(sentence)


@pytest.mark.parametrize("method", METHODS)
def test_summary_is_in_article_order_without_headline(method: str) -> None:
    article = make_article(ENGLISH)
    summary = Summarizer(method).summarize(article, 3)
    assert summary == Summary(summary.sentences, "english", method)
    assert len(summary.sentences) == 3
    assert HEADLINE not in summary.sentences
    assert_in_order(summary.sentences, article.text)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("count", [0, 1, 2, 5, 9, 10, 50])
def test_count_is_honoured(method: str, count: int) -> None:
    body = ENGLISH[1:]  # 10 sentences
    summary = Summarizer(method).summarize(make_article(body), count)
    assert len(summary.sentences) == min(count, 10)
    if count >= 10:
        assert list(summary.sentences) == split_sentences("\n\n".join(body), "english")


@pytest.mark.parametrize("method", METHODS)
def test_real_seed(method: str) -> None:
    if not REAL_SEED.exists():
        pytest.skip("the real seed article is not in this checkout")
    blocks = [b.strip() for b in REAL_SEED.read_text(encoding="utf-8").split("\n\n") if b.strip()]
    title, body = blocks[1], tuple(blocks[2:])  # blocks[0] is the "Featured" label
    summary = Summarizer(method).summarize(make_article(body, title), 3)
    assert summary.language == "english"
    assert summary.method == method
    assert len(summary.sentences) == 3
    assert_in_order(summary.sentences, "\n\n".join(body))


@pytest.mark.parametrize(
    ("text", "language"), [(GERMAN, "german"), (SPANISH, "spanish"), (RUSSIAN, "russian")]
)
@pytest.mark.parametrize("method", METHODS)
def test_other_languages_are_detected_and_summarized(text: str, language: str, method: str) -> None:
    assert detect_language(text) == language
    summary = Summarizer(method).summarize(make_article(text, title="Nachricht"), 2)
    assert summary.language == language
    assert summary.method == method
    assert len(summary.sentences) == 2
    assert_in_order(summary.sentences, text)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("de", "german"),
        ("de-AT", "german"),
        ("German", "german"),
        ("xx", "spanish"),
        (None, "spanish"),
    ],
)
def test_article_language_wins_when_supported(given: str | None, expected: str) -> None:
    summary = Summarizer().summarize(make_article(SPANISH, language=given), 2)
    assert summary.language == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("english", "english"),
        ("EN", "english"),
        ("en_GB", "english"),
        ("pt-BR", "portuguese"),
        ("ru", "russian"),
        ("el", "greek"),
        ("klingon", None),
        ("", None),
        (None, None),
    ],
)
def test_supported_language(given: str | None, expected: str | None) -> None:
    assert supported_language(given) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "english"),
        ("Hello", "english"),
        ("12345 !!! ???", "english"),
        ("Der Hund und die Katze sind in dem Haus, aber nicht mit mir.", "german"),
        ("Le chat et le chien sont dans la maison avec nous.", "french"),
        ("Il cane e il gatto sono nella casa con noi.", "italian"),
        ("O cão e o gato estão em casa com você, não com eles.", "portuguese"),
        ("Pies i kot są w domu, ale nie ze mną.", "polish"),
        ("Hunden och katten är i huset, men inte med mig.", "swedish"),
        ("Η γάτα και ο σκύλος είναι στο σπίτι.", "greek"),
        ("Кошка и собака дома.", "russian"),
    ],
)
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        (
            "Mr. Smith went to Washington. He arrived on Monday.",
            "english",
            ["Mr. Smith went to Washington.", "He arrived on Monday."],
        ),
        ("This is e.g. a test. It works.", "english", ["This is e.g. a test.", "It works."]),
        (
            "First  line\nwrapped. Second.\n\n\n  Third paragraph  ",
            "english",
            ["First line wrapped.", "Second.", "Third paragraph"],
        ),
        (
            "Das ist z.B. ein Satz. Und noch einer.",
            "de",
            ["Das ist z.B. ein Satz.", "Und noch einer."],
        ),
        ("Τι κάνεις; Καλά είμαι.", "greek", ["Τι κάνεις;", "Καλά είμαι."]),
        ("", "english", []),
        (" \n\n \t ", "english", []),
    ],
)
def test_split_sentences(text: str, language: str, expected: list[str]) -> None:
    assert split_sentences(text, language) == expected


def test_unknown_names_are_refused() -> None:
    with pytest.raises(ValueError, match="'bogus'.*lexrank"):
        Summarizer("bogus")
    with pytest.raises(ValueError, match="'bogus'"):
        summarize_text("Some text.", 1, method="bogus")
    with pytest.raises(ValueError, match="'klingon'.*english"):
        split_sentences("Some text.", "klingon")


@pytest.mark.parametrize("method", METHODS)
def test_one_sentence_article_returns_it(method: str) -> None:
    article = make_article(("  The only   sentence here.  ",))
    assert Summarizer(method).summarize(article, 3).sentences == ("The only sentence here.",)


def test_repeated_sentences_are_given_once() -> None:
    text = "Boats stay in port. " * 5 + "\n\nThe storm is over. Boats stay in port."
    summary = summarize_text(text, 3)
    assert summary.sentences == ("Boats stay in port.", "The storm is over.")


ODD_TEXTS = {
    "empty": "",
    "one word": "hello",
    "punctuation": "... !!! ??? ,,, ;;;",
    "emoji": "😀 🎉. 🚀🚀! 🙈? 👍. 🎉🎉.",
    "arabic": "مرحبا بالعالم. كيف حالك؟ أنا بخير. شكرا جزيلا. إلى اللقاء.",
    "hebrew": "שלום עולם. מה שלומך? אני בסדר. תודה רבה.",
    "numbers": "1. 2. 3. 4. 5. 6.",
    "control characters": "a\x00b. c\x1fd. e\u2028f. g\u2029h. i\x85j. k\rl.",
    "chinese": "我爱北京天安门。天安门上太阳升。伟大领袖毛主席。指引我们向前进。",
    "mixed scripts": "Привет. Hello there friend. Καλημέρα. Guten Tag. Olá.",
    "5 MB single line": "word " * 1_000_000,
}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("text", ODD_TEXTS.values(), ids=ODD_TEXTS.keys())
def test_odd_text_never_raises(method: str, text: str) -> None:
    summary = summarize_text(text, 2, method)
    assert len(summary.sentences) <= 2
    assert all(summary.sentences)
    assert_in_order(summary.sentences, text)


@pytest.mark.parametrize("method", ["lexrank", "kl"])
def test_many_sentences_stay_bounded(method: str) -> None:
    text = " ".join(f"Sentence number {i} talks about item {i % 7}." for i in range(20_000))
    summary = summarize_text(text, 3, method)
    assert len(summary.sentences) == 3
    assert_in_order(summary.sentences, text)


WORDS = ["Mr.", "storm", "harbour", "the", "Die", "und", "в", "и", "😀", "U.S.", "1.5", "'"]
SEPARATORS = [" ", "  ", ". ", "! ", "? ", "\n", "\n\n", "\t", "...", "; ", "\u00a0"]
prose = st.lists(st.sampled_from(WORDS + SEPARATORS), max_size=80).map("".join)
# The autouse clean_env fixture is harmless to share between examples.
fuzz = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@fuzz
@given(
    text=st.one_of(st.text(max_size=300), prose),
    count=st.integers(min_value=0, max_value=4),
    method=st.sampled_from(METHODS),
    language=st.sampled_from([None, "english", "german", "russian", "greek", "polish"]),
)
def test_any_text_gives_ordered_substrings(
    text: str, count: int, method: str, language: str | None
) -> None:
    summary = summarize_text(text, count, method, language)
    assert len(summary.sentences) <= count
    assert all(s == normalise(s) and s for s in summary.sentences)
    assert_in_order(summary.sentences, text)


@fuzz
@given(text=st.one_of(st.text(max_size=300), prose))
def test_split_sentences_are_ordered_substrings(text: str) -> None:
    sentences = split_sentences(text, "english")
    assert_in_order(tuple(sentences), text)
    assert "".join(text.split()) == "".join("".join(sentences).split())


OFFLINE_SCRIPT = """
import sys

def offline(event, args):
    if event.startswith("socket.") and event != "socket.__new__":
        raise RuntimeError(f"network use: {event} {args}")
    if event == "open" and "nltk_data" in str(args[0]):
        raise RuntimeError(f"NLTK data use: {args[0]}")

sys.addaudithook(offline)
from digest.summarize import METHODS, summarize_text

for text in (sys.argv[1], sys.argv[2]):
    for method in METHODS:
        summary = summarize_text(text, 2, method)
        assert len(summary.sentences) == 2, (method, summary)
print("ok")
"""


def test_works_offline_without_nltk_data(tmp_path: Path) -> None:
    empty = tmp_path / "nltk_data"
    empty.mkdir()
    env = {**os.environ, "NLTK_DATA": str(empty), "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", OFFLINE_SCRIPT, "\n\n".join(ENGLISH), RUSSIAN],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_import_is_cheap() -> None:
    code = (
        "import sys, digest.summarize\n"
        "heavy = {'sumy', 'numpy', 'nltk', 'punkt'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
