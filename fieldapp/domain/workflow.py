"""The status workflows.

The needs list: open → in_progress → resolved, and referred or closed from either of the
first two; a need solved on the spot goes from open to resolved directly (the note is
asked for all the same). A closed, resolved or referred need can be reopened (a worker
finds the problem is back); every other move is refused with the ``transition`` code.

Supervision notes (督导意见): new → acknowledged → done, set by the worker; a note done
straight away is acknowledged in the same move (new → done). Done is final — the
supervisor writes a new note if more is needed — and any other move is refused with the
``note_transition`` code.
"""

from __future__ import annotations

from fieldapp.domain.enums import NeedStatus, NoteStatus
from fieldapp.errors import FieldProblem, RecordInvalid

S = NeedStatus

TRANSITIONS: dict[NeedStatus, frozenset[NeedStatus]] = {
    S.OPEN: frozenset({S.IN_PROGRESS, S.RESOLVED, S.REFERRED, S.CLOSED}),
    S.IN_PROGRESS: frozenset({S.RESOLVED, S.REFERRED, S.CLOSED}),
    S.RESOLVED: frozenset({S.OPEN}),
    S.REFERRED: frozenset({S.OPEN}),
    S.CLOSED: frozenset({S.OPEN}),
}

NOTE_TRANSITIONS: dict[NoteStatus, frozenset[NoteStatus]] = {
    NoteStatus.NEW: frozenset({NoteStatus.ACKNOWLEDGED, NoteStatus.DONE}),
    NoteStatus.ACKNOWLEDGED: frozenset({NoteStatus.DONE}),
    NoteStatus.DONE: frozenset(),
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


def note_allowed_next(status: NoteStatus) -> frozenset[NoteStatus]:
    """The statuses a supervision note in ``status`` may move to."""
    return NOTE_TRANSITIONS[status]


def check_note_transition(old: NoteStatus, new: NoteStatus) -> None:
    """Raise :class:`RecordInvalid` unless a note may move ``old → new`` (same status is a
    no-op)."""
    if old != new and new not in NOTE_TRANSITIONS[old]:
        raise RecordInvalid(
            [FieldProblem("status", "note_transition", {"old": old.value, "new": new.value})]
        )
