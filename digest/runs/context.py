"""What one run carries from stage to stage: settings, state, clock, reporter, delivery."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from digest.settings import Settings

if TYPE_CHECKING:
    from digest.delivery.queue import Delivery
    from digest.store import Store

T = TypeVar("T")
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Reporter:
    """Where a run tells the operator what it does; the CLI swaps in a progress bar."""

    def __init__(self, echo: Callable[[str], None] | None = None) -> None:
        self._echo = echo or (lambda line: print(line, file=sys.stderr))

    def say(self, line: str) -> None:
        self._echo(line)

    def track(self, items: Sequence[T], label: str) -> Iterable[T]:
        return items


@dataclass(frozen=True)
class RunContext:
    """One run's surroundings, chosen once at its start and handed to every stage."""

    settings: Settings
    store: Store
    delivery: Delivery
    clock: Clock = utc_now
    reporter: Reporter = Reporter()
