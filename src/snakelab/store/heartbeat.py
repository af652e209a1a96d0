"""One background thread per process that flushes running units' metrics and heartbeats.

Each :class:`~snakelab.store.lineage.RunContext` registers itself with its interval
(``store.flush_seconds``); the thread calls its ``flush()`` whenever that many seconds have passed
since the last one. A single shared thread instead of one per run keeps a short unit's overhead
at a dictionary insert (starting a thread costs ≈1.4 ms).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

log = logging.getLogger("snakelab.store")


class Flushable(Protocol):
    """What the heartbeat thread drives: a run with a ``uid`` and a ``flush()``."""

    uid: str

    def flush(self) -> None: ...


class Heartbeat:
    """The scheduler: ``add(run, interval_s)`` when a unit starts, ``remove(run)`` before it ends."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: dict[int, tuple[Flushable, float, float]] = {}
        self._busy: dict[int, threading.Lock] = {}
        self._thread: threading.Thread | None = None

    def add(self, run: Flushable, interval_s: float) -> None:
        """Flush ``run`` every ``interval_s`` seconds (nothing when ``interval_s`` <= 0)."""
        if interval_s <= 0:
            return
        with self._cond:
            self._due[id(run)] = (run, interval_s, time.monotonic() + interval_s)
            self._busy.setdefault(id(run), threading.Lock())
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="snakelab-heartbeat", daemon=True)
                self._thread.start()
            self._cond.notify()

    def remove(self, run: Flushable) -> None:
        """Stop flushing ``run``; returns once a flush of it that is under way has finished."""
        with self._cond:
            self._due.pop(id(run), None)
            busy = self._busy.pop(id(run), None)
        if busy is not None:
            with busy:
                pass

    def _loop(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                due = [(key, entry) for key, entry in self._due.items() if entry[2] <= now]
                if not due:
                    next_at = min((entry[2] for entry in self._due.values()), default=now + 60.0)
                    self._cond.wait(timeout=max(0.0, next_at - now))
                    continue
                for key, (run, interval, _) in due:
                    self._due[key] = (run, interval, now + interval)
                work = [(run, self._busy[key]) for key, (run, _, _) in due if key in self._busy]
            for run, busy in work:
                with busy:
                    try:
                        run.flush()
                    except Exception as exc:  # keep the run going; its final transaction retries
                        log.warning("run %s: heartbeat/metrics flush failed: %s", run.uid, exc)


#: the process-wide scheduler.
HEARTBEAT = Heartbeat()
