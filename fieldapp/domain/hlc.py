"""Hybrid logical clock (Kulkarni et al. 2014) packed into one int.

``stamp = physical_ms << 16 | logical``. Stamps from one clock strictly increase,
even when the wall clock steps back; ``observe`` folds in a stamp from elsewhere so
that causally later edits get later stamps.
"""

from __future__ import annotations

from collections.abc import Callable

from fieldapp.domain.clock import SYSTEM

LOGICAL_BITS = 16
LOGICAL_MASK = (1 << LOGICAL_BITS) - 1


def pack(physical_ms: int, logical: int = 0) -> int:
    """A stamp from wall-clock milliseconds and a logical counter."""
    return (physical_ms << LOGICAL_BITS) | logical


def physical_ms(stamp: int) -> int:
    """The wall-clock milliseconds a stamp carries."""
    return stamp >> LOGICAL_BITS


def to_seconds(stamp: int) -> float:
    """Wall-clock seconds since the epoch of a stamp (for showing "when")."""
    return physical_ms(stamp) / 1000.0


class HybridClock:
    """A monotonic HLC over a wall clock (the party's :class:`~fieldapp.domain.clock.Clock`).
    Not thread-safe: the vault's writer lock serialises it.

    ``last`` is the newest stamp issued or observed so far; ``wall_ms`` reads the party's
    wall clock in epoch milliseconds."""

    def __init__(self, last: int = 0, wall_ms: Callable[[], int] = SYSTEM.wall_ms) -> None:
        self.last = last
        self._wall_ms = wall_ms

    def now(self) -> int:
        """A stamp later than every stamp this clock has issued or observed."""
        candidate = pack(self._wall_ms())
        # The logical part overflowing simply carries into the millisecond: still monotonic.
        self.last = candidate if candidate > self.last else self.last + 1
        return self.last

    def observe(self, stamp: int) -> None:
        """Fold in a stamp seen elsewhere (a received op)."""
        if stamp > self.last:
            self.last = stamp
