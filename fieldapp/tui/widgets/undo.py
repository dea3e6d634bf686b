"""Undo and redo for one-line text boxes (Textual's ``Input`` has none; ``TextArea``
has its own). The app keeps, for each box, the values it held as the worker typed —
in memory only, never for a passphrase box — and Ctrl+Z / Ctrl+Y step through them."""

from __future__ import annotations

from weakref import WeakKeyDictionary

from textual.widgets import Input

MOST = 200  # values kept per box; the oldest go first


class _Steps:
    """One box's values: ``done`` ends with the current one; ``undone`` can come back."""

    def __init__(self, value: str) -> None:
        self.done = [value]
        self.undone: list[str] = []


class InputHistory:
    """What every text box of the app held, so that a slip of the keyboard (a field
    cleared, a word typed over) can be taken back."""

    def __init__(self) -> None:
        self._boxes: WeakKeyDictionary[Input, _Steps] = WeakKeyDictionary()
        self._restoring: Input | None = None

    def changed(self, box: Input, value: str) -> None:
        """``box`` now holds ``value`` (typed, pasted or restored from a draft)."""
        if box.password or box is self._restoring:
            return
        steps = self._boxes.get(box)
        if steps is None:
            self._boxes[box] = _Steps(value)
            return
        if steps.done[-1] == value:
            return
        steps.done.append(value)
        steps.undone.clear()
        del steps.done[:-MOST]

    def seen(self, box: Input) -> None:
        """Start the history of ``box`` at what it holds when first focused."""
        if not box.password and box not in self._boxes:
            self._boxes[box] = _Steps(box.value)

    def undo(self, box: Input) -> bool:
        """Put back the value before the last change; False when there is none."""
        steps = self._boxes.get(box)
        if steps is None or len(steps.done) < 2:
            return False
        steps.undone.append(steps.done.pop())
        self._set(box, steps.done[-1])
        return True

    def redo(self, box: Input) -> bool:
        """Put back what the last undo took away; False when nothing was undone."""
        steps = self._boxes.get(box)
        if steps is None or not steps.undone:
            return False
        steps.done.append(steps.undone.pop())
        self._set(box, steps.done[-1])
        return True

    def _set(self, box: Input, value: str) -> None:
        self._restoring = box
        try:
            box.value = value
            box.cursor_position = len(value)
        finally:
            self._restoring = None
