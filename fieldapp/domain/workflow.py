"""The needs list's status workflow: open → in_progress → resolved, and referred or closed
from either of the first two; a need solved on the spot goes from open to resolved directly
(the note is asked for all the same).

A closed, resolved or referred need can be reopened (a worker finds the problem is
back); every other move is refused with the ``transition`` code.
"""

from __future__ import annotations

from fieldapp.domain.enums import NeedStatus
from fieldapp.errors import FieldProblem, RecordInvalid

S = NeedStatus

TRANSITIONS: dict[NeedStatus, frozenset[NeedStatus]] = {
    S.OPEN: frozenset({S.IN_PROGRESS, S.RESOLVED, S.REFERRED, S.CLOSED}),
    S.IN_PROGRESS: frozenset({S.RESOLVED, S.REFERRED, S.CLOSED}),
    S.RESOLVED: frozenset({S.OPEN}),
    S.REFERRED: frozenset({S.OPEN}),
    S.CLOSED: frozenset({S.OPEN}),
}


def allowed_next(status: NeedStatus) -> frozenset[NeedStatus]:
    """The statuses a need in ``status`` may move to (for menus)."""
    return TRANSITIONS[status]


def check_transition(old: NeedStatus, new: NeedStatus) -> None:
    """Raise :class:`RecordInvalid` unless ``old → new`` is allowed (same status is a no-op)."""
    if old != new and new not in TRANSITIONS[old]:
        raise RecordInvalid(
            [FieldProblem("status", "transition", {"old": old.value, "new": new.value})]
        )
