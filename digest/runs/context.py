"""What one run carries from stage to stage: settings, state, delivery, clock, reporter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from digest.edition.compose import Arrangements
from digest.records import Clock, Reporter, utc_now
from digest.settings import Settings

if TYPE_CHECKING:
    from digest.delivery.queue import Delivery
    from digest.store import Store
    from digest.summary.summarizer import Summarizer


@dataclass(frozen=True)
class RunContext:
    """One run's surroundings, chosen once at its start and handed to every stage as one value."""

    settings: Settings
    store: Store
    delivery: Delivery
    clock: Clock = utc_now
    reporter: Reporter = Reporter()
    summarizer: Summarizer | None = None  # None: DIGEST_SUMMARIZER's, made where needed
    arrangements: Arrangements = field(default_factory=Arrangements)  # the run's stories
