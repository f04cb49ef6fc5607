"""One story, one entry: merge copies of one text, group reports of one event, rank, section.

Pure functions over articles and plain values; the only package that uses numpy.

- `sketches`: a MinHash sketch of each body's word 3-shingles (`sketch`); which
  texts are copies of one another (`copies`) or of one sent before (`against_sent`).
- `evidence`: what paraphrase keeps of an event: names, figures, dates, headline words;
  and what a report leads with (`leads`: its names, people, figures);
- `closeness`: TF-IDF cosines of the evidence, each report filled in by its closest;
- `events`: different texts whose evidence is close that way and in time are one
  story, joined by average closeness, unless each story's reports lead with their own
  person (`Subjects`); the best-written text leads it.
- `arrange`: sections and rank; `arrange` gives the stories of a digest and every
  article's sketch, `by_section` their reading order.

The thresholds were measured by benchmarks/dedupe_eval.py (benchmarks/RESULTS.md).
"""

from digest.stories.arrange import (
    DEFAULT_SECTION,
    ONLY_SECTION,
    Arrangement,
    Story,
    arrange,
    assign_sections,
    by_section,
    rank_of,
)
from digest.stories.events import SAME_EVENT, events
from digest.stories.sketches import (
    MIN_JACCARD,
    SAME_TEXT,
    UPDATE_SHARE,
    Sketch,
    Status,
    against_sent,
    copies,
    same_text,
    shares,
    sketch,
)
from digest.text import words

__all__ = [
    "DEFAULT_SECTION",
    "MIN_JACCARD",
    "ONLY_SECTION",
    "SAME_EVENT",
    "SAME_TEXT",
    "UPDATE_SHARE",
    "Arrangement",
    "Sketch",
    "Status",
    "Story",
    "against_sent",
    "arrange",
    "assign_sections",
    "by_section",
    "copies",
    "events",
    "rank_of",
    "same_text",
    "shares",
    "sketch",
    "words",
]
