"""The one clock (DESIGN §3.0).

Everything that asks "what time is it" asks a :class:`Clock`: the vault's hybrid
logical clock, the merge's clock-skew bound, "today" in the schedule and on every
screen, the hub's retry waits, the app's idle lock. A party of a scenario (one
laptop, one supervisor) is a vault opened with a clock; its services read the
vault's clock. Production uses :data:`SYSTEM`; tests set a clock for every party.

- :class:`SystemClock` — the machine's clock (optionally shifted, e.g. a laptop whose
  clock runs days ahead).
- :class:`FixedClock` — stands still until told to move; waiting moves it instead of
  sleeping, so a test of a ten-minute back-off takes no time.

Wall time is local, naive ``datetime`` (what a worker reads on the wall); the epoch
milliseconds behind it are what the HLC stamps. ``monotonic`` is for measuring waits
(idle lock, retry countdown) and never jumps when the wall clock is set.
"""

from __future__ import annotations

import datetime as dt
import threading
import time


class Clock:
    """What every part of fieldapp reads the time from."""

    def wall_ms(self) -> int:
        """Milliseconds since the Unix epoch (what the HLC stamps)."""
        raise NotImplementedError

    def monotonic(self) -> float:
        """Seconds on a clock that never steps back (for waits and timeouts)."""
        raise NotImplementedError

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a retry's back-off)."""
        raise NotImplementedError

    def now(self) -> dt.datetime:
        """Local wall time, naive, to the microsecond."""
        ms = self.wall_ms()
        return dt.datetime.fromtimestamp(ms // 1000).replace(microsecond=(ms % 1000) * 1000)

    def today(self) -> dt.date:
        """The local date."""
        return self.now().date()


class SystemClock(Clock):
    """The machine's clock, ``offset`` seconds ahead (negative: behind)."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def wall_ms(self) -> int:
        """The machine's epoch milliseconds, moved by ``offset``."""
        return time.time_ns() // 1_000_000 + int(self.offset * 1000)

    def monotonic(self) -> float:
        """The machine's monotonic clock; the offset does not apply to waits."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Really wait ``seconds`` (a negative wait is no wait)."""
        time.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        """``SystemClock()``, with the offset when the clock is shifted."""
        return f"SystemClock(offset={self.offset!r})" if self.offset else "SystemClock()"


class FixedClock(Clock):
    """A clock that stands at ``start`` until :meth:`advance` or :meth:`set` moves it.

    ``sleep`` advances it at once; ``monotonic`` moves with it (and never back).
    Thread-safe: the app's workers and the test read it at once.
    """

    def __init__(self, start: dt.datetime | dt.date) -> None:
        self._lock = threading.Lock()
        self._ms = _to_ms(start)
        self._mono = 1000.0  # any value: only differences mean something

    def wall_ms(self) -> int:
        """Where the wall clock stands, in epoch milliseconds."""
        with self._lock:
            return self._ms

    def monotonic(self) -> float:
        """The monotonic reading; only :meth:`advance` (and so :meth:`sleep`) moves it."""
        with self._lock:
            return self._mono

    def sleep(self, seconds: float) -> None:
        """Advance the clock by ``seconds`` at once instead of waiting."""
        self.advance(seconds)

    def advance(self, seconds: float = 0.0, *, days: float = 0.0) -> None:
        """Move forward by ``seconds`` (and ``days``)."""
        step = seconds + days * 86_400
        if step < 0:
            raise ValueError("a fixed clock advances; use set() to put it back")
        with self._lock:
            self._ms += round(step * 1000)
            self._mono += step

    def set(self, when: dt.datetime | dt.date) -> None:
        """Put the wall clock at ``when`` (also backwards: a laptop reset to 1970).
        The monotonic clock does not move."""
        with self._lock:
            self._ms = _to_ms(when)

    def __repr__(self) -> str:
        """Where the clock stands, so a failing test says what time it was."""
        return f"FixedClock({self.now().isoformat()})"


def _to_ms(when: dt.datetime | dt.date) -> int:
    if not isinstance(when, dt.datetime):
        when = dt.datetime(when.year, when.month, when.day, 12)  # a date: its noon
    return int(when.timestamp() * 1000)


SYSTEM: Clock = SystemClock()
"""The machine's clock: what the CLI and the app use unless told otherwise."""
