"""Language names, codes and clues for `summarize`: plain data, no third-party library."""

from __future__ import annotations

import re

# Languages sumy has a stemmer or stop words for but punkt has no sentence model for: they
# are split at sentence-ending punctuation, and their articles show their first sentences.
NO_MODEL_LANGUAGES: tuple[str, ...] = (
    "arabic",
    "chinese",
    "hebrew",
    "hungarian",
    "japanese",
    "korean",
    "romanian",
    "slovak",
    "thai",
    "ukrainian",
)

ISO_CODES = {
    "ar": "arabic",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "et": "estonian",
    "fi": "finnish",
    "fr": "french",
    "he": "hebrew",
    "hu": "hungarian",
    "it": "italian",
    "iw": "hebrew",
    "ja": "japanese",
    "ko": "korean",
    "ml": "malayalam",
    "nb": "norwegian",
    "nl": "dutch",
    "nn": "norwegian",
    "no": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sk": "slovak",
    "sl": "slovene",
    "sv": "swedish",
    "th": "thai",
    "tr": "turkish",
    "uk": "ukrainian",
    "zh": "chinese",
}

# Frequent function words of the languages sumy has no stop-word list for: enough to tell
# the Latin-script ones apart, and the stop words their summaries ignore.
FUNCTION_WORDS: dict[str, frozenset[str]] = {
    name: frozenset(words.split())
    for name, words in {
        "danish": "og i at det er en som på de med for af til ikke der var han har den jeg "
        "men om så fra efter også kan vil blev havde skal være deres hun efter mod",
        "dutch": "de het een en van in is dat op te zijn niet met voor ook maar als bij aan "
        "er om dan nog wel werd door naar hij zij worden heeft wordt",
        "estonian": "ja on ei et see oli ka aga kui mis nii oma veel seda tema nad või siis "
        "pole üle kuid ning juba selle kes",
        "finnish": "ja on ei se että oli hän ovat mutta kun myös tai sen joka ole olla jo "
        "vain mukaan kanssa tämä nyt kuin sekä siitä hänen",
        "hungarian": "az és hogy nem is egy meg de van volt csak már mint el ki be fel még "
        "azt ezt pedig vagy kell lesz szerint amely után",
        "norwegian": "og i det er at en som på for med til av ikke den har de var seg men om "
        "så fra etter også kan vil ble hadde skal være sier hun",
        "romanian": "și în de la cu pe nu este din care o un mai ca sau pentru fost că au se "
        "sunt acest dar după fi această",
        "russian": "и в во не что он на я с со как а то все она так его но да к у же за бы по "
        "только ее было от еще нет о из ему когда даже ли если уже или ни быть был до для мы "
        "их чем была сам без чего тоже под будет тогда кто этот того потому этого при после "
        "над больше тот через эти нас про них это также года который которые",
        "slovene": "in je da se na za so ki ne pa bo tudi po kot iz ali še bil le sem smo "
        "bilo lahko tako",
        "turkish": "ve bir bu da de için ile olarak çok daha gibi olan en ama ne o kadar "
        "sonra ise göre değil her şey",
    }.items()
}

# Letters of the scripts that name a language (Han and kana together decide Chinese/Japanese).
_SCRIPTS = {
    name: re.compile(f"[{letters}]")
    for name, letters in {
        "cyrillic": "\u0400-\u052f",
        "greek": "\u0370-\u03ff\u1f00-\u1fff",
        "hebrew": "\u0590-\u05ff",
        "arabic": "\u0600-\u06ff",
        "malayalam": "\u0d00-\u0d7f",
        "thai": "\u0e00-\u0e7f",
        "korean": "\u1100-\u11ff\uac00-\ud7af",
        "kana": "\u3040-\u30ff",
        "han": "\u4e00-\u9fff",
    }.items()
}
_ANY_SCRIPT = re.compile("|".join(pattern.pattern for pattern in _SCRIPTS.values()))
_UKRAINIAN = re.compile("[іїєґІЇЄҐ]")
_SAMPLE = 10_000  # characters: plenty to see the script, cheap on a long article
#: The languages `by_script` names; the others are told apart by their stop words.
SCRIPT_LANGUAGES = frozenset(
    {"arabic", "chinese", "greek", "hebrew", "japanese", "korean", "malayalam", "russian"}
    | {"thai", "ukrainian"}
)


def by_script(text: str) -> str | None:
    """Name the language of a text mostly written in one non-Latin script, else None."""
    sample = text[:_SAMPLE]
    if _ANY_SCRIPT.search(sample) is None:
        return None  # most news here: Latin letters only, one scan instead of ten
    letters = sum(map(str.isalpha, sample))
    counts = {name: len(pattern.findall(sample)) for name, pattern in _SCRIPTS.items()}
    kana = counts.pop("kana")
    cjk = counts.pop("han") + kana
    counts["japanese" if kana * 10 > cjk else "chinese"] = cjk
    script, found = max(counts.items(), key=lambda item: item[1])
    if found == 0 or found * 2 <= letters:
        return None
    if script == "cyrillic":
        # Ukrainian writes і, ї, є and ґ all the time; Russian never does.
        return "ukrainian" if len(_UKRAINIAN.findall(sample)) * 100 >= found else "russian"
    return script
