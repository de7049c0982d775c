"""Run calls at the same moment from several threads and collect how each ended.

One harness for the accept races of test_quotes_bookings.py and test_side_doors.py: each
call starts behind one barrier; an expected refusal is named, anything else (a deadlock, a
lock timeout) is recorded by its exception's class name so the assertion shows the bug.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence


def race(calls: Sequence[Callable[[], object]], *,
         refusals: tuple[type[BaseException], ...], timeout_s: float = 30.0) -> list[str]:
    """Outcomes sorted: "ok" per call that returned, "refused" per expected refusal."""
    barrier, outcomes = threading.Barrier(len(calls)), []
    lock = threading.Lock()

    def run(call: Callable[[], object]) -> None:
        barrier.wait()
        try:
            call()
            outcome = "ok"
        except refusals:
            outcome = "refused"
        except Exception as exc:  # the bug under test: recorded, not raised in a thread
            outcome = type(exc).__name__
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout_s)
    return sorted(outcomes)
