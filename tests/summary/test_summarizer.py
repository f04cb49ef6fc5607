"""Tests for the summarize stage: offline sentence splitting and sumy's rankers."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import helpers
import pytest
from conftest import run_cli
from helpers import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest.errors import SettingsError
from digest.intake.files import parse_article
from digest.records import Article, FileVersion, Summary
from digest.settings import load_settings
from digest.summary import nlp, scoring
from digest.summary import summarizer as summarize
from digest.summary.language import NO_MODEL_LANGUAGES
from digest.summary.summarizer import (
    METHODS,
    Summarizer,
    detect_language,
    languages,
    split_sentences,
    summarize_text,
    supported_language,
)

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

FRENCH = """Le gouvernement a présenté jeudi un projet de loi pour rénover les logements les \
plus anciens du pays. Selon le ministère, près de cinq millions de logements sont mal isolés et \
coûtent trop cher à chauffer.

Les propriétaires pourront recevoir une aide de l'État pour changer les fenêtres et isoler les \
murs. Les associations de locataires estiment que les loyers risquent d'augmenter après les \
travaux.

La ministre a promis que les premières aides seraient versées dès le mois de septembre. Elle a \
aussi annoncé la création d'un guichet unique dans chaque département. L'opposition juge le \
budget insuffisant pour atteindre les objectifs fixés par l'Union européenne."""

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
    return helpers.make_article(
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


LANGUAGE_ARTICLES = [
    (GERMAN, "german"),
    (SPANISH, "spanish"),
    (FRENCH, "french"),
    (RUSSIAN, "russian"),
]


@pytest.mark.parametrize(("text", "language"), LANGUAGE_ARTICLES)
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
        ("uk", "ukrainian"),
        ("zh-TW", "chinese"),
        ("Arabic", "arabic"),
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
        ("Кішка і собака вдома, але їх немає.", "ukrainian"),
        ("De hond en de kat zijn in het huis, maar niet met mij.", "dutch"),
        ("Hunden og katten er i huset, men ikke med mig efter det.", "danish"),
        ("Koira ja kissa ovat talossa, mutta ei minun kanssa, että se on.", "finnish"),
        ("Köpek ve kedi evde, ama benimle değil, bu çok daha iyi.", "turkish"),
        ("A kutya és a macska a házban van, de nem velem, és ez is jó.", "hungarian"),
        ("Câinele și pisica sunt în casă, dar nu cu mine, care este.", "romanian"),
        ("الكلب والقطة في البيت.", "arabic"),
        ("הכלב והחתול בבית.", "hebrew"),
        ("狗和猫在家里。", "chinese"),
        ("犬と猫は家にいます。", "japanese"),
        ("개와 고양이는 집에 있다.", "korean"),
        ("สุนัขและแมวอยู่ในบ้าน", "thai"),
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
    with pytest.raises(ValueError, match="'klingon'.*german"):
        Summarizer(language="klingon")


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


@pytest.mark.parametrize("method", ["news", "lexrank", "kl"])
def test_many_sentences_stay_bounded(method: str) -> None:
    text = " ".join(f"Sentence number {i} talks about item {i % 7}." for i in range(20_000))
    summary = summarize_text(text, 3, method)
    # To "news" these sentences say the same thing (the numbers are not words): one is shown.
    assert len(summary.sentences) == (1 if method == "news" else 3)
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
from digest.summary.summarizer import METHODS, summarize_text

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
        "import sys, digest.summary.summarizer\n"
        "heavy = {'sumy', 'numpy', 'nltk', 'punkt'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# --- the "news" method, sentence hygiene, short articles and languages ------------------------

ARABIC = (
    "أعلنت الحكومة يوم الثلاثاء عن خطة جديدة لدعم المزارعين. وقال الوزير إن الخطة ستبدأ في "
    "الشهر المقبل. ويأمل المزارعون أن تساعدهم الخطة على مواجهة الجفاف. وانتقدت المعارضة "
    "الخطة ووصفتها بأنها متأخرة. وسيتم تقييم النتائج في نهاية العام."
)
CHINESE = (
    "政府周二宣布了一项支持农民的新计划。部长说，该计划将于下个月开始实施。"
    "农民们希望这项计划能帮助他们应对干旱。反对党批评该计划来得太晚。年底将对结果进行评估。"
)
UKRAINIAN = (
    "У вівторок уряд оголосив нову програму підтримки фермерів. Міністр сказав, що програма "
    "почне діяти наступного місяця. Фермери сподіваються, що вона допоможе їм пережити посуху. "
    "Опозиція розкритикувала програму як запізнілу. Результати оцінять наприкінці року."
)
CNN_STYLE = (
    "Moscow (CNN)A Russian TV channel aired a campaign video with a rating stamp for mature "
    "audiences. The channel said it did not want to break a controversial law. 1. Critics said "
    "the decision showed how far the law reaches into everyday television. The video was "
    "released over the weekend and features two men holding hands. Rights groups have called "
    "the law discriminatory since it was passed in 2013. ET, Sunday, HBO . The channel said "
    "it would keep the rating until lawyers had reviewed the case. CNN's Jane Doe and John "
    "Roe contributed to this report."
)


def test_news_is_the_default() -> None:
    assert METHODS[0] == "news"
    assert Summarizer().method == "news"
    assert summarize_text("\n\n".join(ENGLISH[1:]), 3).method == "news"
    assert load_settings({}, None).summarizer == "news"


@pytest.mark.parametrize(("text", "language"), LANGUAGE_ARTICLES)
def test_each_language_gets_its_own_model_stemmer_and_stop_words(text: str, language: str) -> None:
    assert summarize.has_model(language)
    tokenizer = nlp.tokenizer(language)
    words = [w.lower() for s in split_sentences(text, language) for w in tokenizer.to_words(s)]
    stem = nlp.stemmer(language)
    assert {stem(w) for w in words} != set(words)  # a real stemmer, not just lower case
    assert nlp.stop_words(language) & set(words)
    summary = Summarizer().summarize(make_article(text, title="Nachricht"), 3)
    assert (summary.language, summary.method) == (language, "news")
    assert len(summary.sentences) == 3
    assert_in_order(summary.sentences, text)


def test_a_forced_language_wins_over_the_article_and_detection() -> None:
    article = make_article(SPANISH, language="es")
    assert Summarizer(language="de").summarize(article, 2).language == "german"
    assert Summarizer(language="German").language == "german"


@pytest.mark.parametrize(
    ("text", "language"), [(ARABIC, "arabic"), (CHINESE, "chinese"), (UKRAINIAN, "ukrainian")]
)
def test_a_language_without_a_model_shows_its_lead_and_says_so(
    text: str, language: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert language in NO_MODEL_LANGUAGES and language in languages()
    assert not summarize.has_model(language)
    caplog.set_level(logging.INFO, logger="digest")
    summary = Summarizer().summarize(make_article(text, title="-"), 2)
    assert (summary.language, summary.method) == (language, "lead")
    assert summary.sentences == tuple(split_sentences(text, language)[:2])
    assert len(split_sentences(text, language)) == 5
    assert f"no sentence model for {language}" in caplog.text


@pytest.mark.parametrize("method", METHODS)
def test_a_short_article_shows_its_first_sentences(method: str) -> None:
    body = ENGLISH[1:3]  # four sentences
    summary = Summarizer(method).summarize(make_article(body), 3)
    assert summary.sentences == tuple(split_sentences("\n\n".join(body), "english")[:3])
    assert summary.method == "lead"
    five = Summarizer(method).summarize(make_article(ENGLISH[1:3] + ENGLISH[4:5]), 3)
    assert five.method == method


def seed_json(title: str, text: str) -> Article:
    data = json.dumps({"title": title, "text": text}).encode()
    return parse_article(FileVersion("story.json", len(data), 0, 0), data)


@pytest.mark.parametrize("method", METHODS)
def test_sentences_are_clean_in_every_method(method: str) -> None:
    article = seed_json("", CNN_STYLE)
    assert article.title.startswith("Moscow (CNN)A Russian")  # the loader's stand-in title
    everything = Summarizer(method).summarize(article, 50).sentences
    assert everything[0].startswith("A Russian TV channel aired")  # kept, without dateline
    assert "1." not in everything and "ET, Sunday, HBO ." not in everything
    assert not any("contributed to this report" in s for s in everything)
    summary = Summarizer(method).summarize(article, 3)
    assert len(summary.sentences) == 3
    assert set(summary.sentences) <= set(everything)


def test_news_starts_with_the_opening_sentence() -> None:
    summary = Summarizer().summarize(seed_json("", CNN_STYLE), 2)
    assert summary.sentences[0].startswith("A Russian TV channel")
    assert summary.sentences[1].startswith("The channel said")


def test_summarize_json_shows_what_the_digest_shows(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "cnn.json").write_text(json.dumps({"title": "", "text": CNN_STYLE}))
    (seeds / "storm.txt").write_text("\n\n".join(ENGLISH[1:]) + "\n")
    (seeds / "energie.json").write_text(json.dumps({"title": "Energie", "text": GERMAN}))
    env = {"DIGEST_SETTLE_SECONDS": "0"}
    preview = run_cli("preview", "--json", env=env)
    assert preview.code == 0, preview.err
    shown = {e["title"]: e["summary"] for e in json.loads(preview.out)["entries"]}
    paths = sorted(str(p) for p in seeds.iterdir())
    printed = run_cli("summarize", "--json", *paths, env=env)
    assert printed.code == 0, printed.err
    records = [json.loads(line) for line in printed.out.splitlines()]
    assert {r["title"]: r["summary"] for r in records} == shown
    assert len(shown) == 3 and all(len(s) == 3 for s in shown.values())


def test_digest_language_setting_is_checked() -> None:
    assert load_settings({}, None).language is None
    assert load_settings({"DIGEST_LANGUAGE": "pt-BR"}, None).language == "portuguese"
    with pytest.raises(SettingsError, match="DIGEST_LANGUAGE.*unknown language.*german"):
        load_settings({"DIGEST_LANGUAGE": "klingon"}, None)


# --- the same words, stems and stop words as sumy's own (without importing sumy's code) ------


@pytest.mark.parametrize("language", ["english", "german", "french", "spanish", "czech", "greek"])
def test_stop_words_are_sumys_own(language: str) -> None:
    from sumy.utils import get_stop_words

    assert nlp.stop_words(language) == get_stop_words(language)


@pytest.mark.parametrize("language", ["english", "german", "french", "russian", "czech"])
def test_stems_are_sumys_own(language: str) -> None:
    from sumy.nlp.stemmers import Stemmer

    words = sorted(nlp.stop_words(language))[:50] + ["running", "organization", "adding"]
    theirs = Stemmer(language)
    assert [nlp.stemmer(language)(w) for w in words] == [theirs(w) for w in words]


def test_a_language_guess_counts_stop_words_english_first() -> None:
    assert detect_language("le chat et la maison de la ville sont dans le jardin") == "french"
    assert detect_language("the cat and the house are in the garden of the town") == "english"
    assert detect_language("xyzzy plugh frobozz zork") == "english"  # no stop words at all


HARBOUR = [
    "The harbour board met on Monday to settle the future of the old fish market on the quay.",
    "Board members heard from traders, residents and the port's engineers for most of the day.",
    "Ferry times will not change during the works, the operator said.",
    "Pieter Vos, a trader for forty years, spoke last.",
    "He told the board that the fish market, the quay and the harbour traders had kept the port "
    "alive, and that closing the fish market would empty the harbour quay of traders.",
    "The board will publish its decision on the fish market and the quay in March.",
    "Parking near the station remains free on Sundays.",
]


def test_a_sentence_pointing_back_is_shown_with_the_one_it_points_to() -> None:
    article = make_article(tuple(HARBOUR), title="Fish market’s future")
    summary = Summarizer().summarize(article, 3)
    assert summary.sentences == (HARBOUR[0], HARBOUR[3], HARBOUR[4])
    # the article does test the rule: without it, "He told ..." comes without Pieter Vos
    found = summarize.scorable(article, 3)
    before = replace(scoring.NEWS, standalone=False)
    chosen = scoring.choose(found.centrality, found.stems, found.lengths, 3, before, found.leans)
    assert chosen == [0, 1, 4] and scoring.dangling(chosen, found.leans)
