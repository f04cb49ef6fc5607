"""Run `digest run` in this process with a timer around each phase; write the totals as JSON.

For subscribers_bench.py: `python phases.py OUT.json` in the benchmark's workspace.
The timers wrap the functions that do each phase (a perf_counter pair per call,
negligible beside the work); SMTP runs in several threads, so its total is the
sum of the connections' busy time.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from digest.cli import main as cli
from digest.delivery import dkim, personalize, smtp
from digest.edition import publish
from digest.readers import tokens
from digest.store import Store
from digest.summary import cache as summaries

TOTALS: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)
_LOCK = threading.Lock()


def timed(owner: Any, name: str, phase: str) -> None:
    inner: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent = time.perf_counter() - started
            with _LOCK:
                TOTALS[phase] += spent
                CALLS[phase] += 1

    setattr(owner, name, wrapper)


def main(out: str) -> None:
    timed(summaries, "summarize_all", "summarize")
    timed(publish, "build", "build")  # summarize + compose + render + fit
    timed(personalize.Template, "fill", "personalize")
    timed(tokens, "make", "personalize")
    timed(dkim, "_signed", "sign")
    timed(smtp.SmtpSender, "send", "smtp")
    state = ("mark_deliveries", "recipient_statuses", "queue_personal", "remember_message_id")
    for method in state:
        timed(Store, method, "state")
    code = 0
    try:
        cli.main(["run"])
    except SystemExit as exc:
        code = int(exc.code or 0)
    with open(out, "w", encoding="utf-8") as fh:
        json.dump({"totals": TOTALS, "calls": CALLS}, fh)
    sys.exit(code)


if __name__ == "__main__":
    main(sys.argv[1])
