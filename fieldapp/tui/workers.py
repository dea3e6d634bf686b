"""Background work for the app and its screens.

Every blocking call (the KDF, a save, a merge, a sync) runs in a thread worker made
with :func:`background`. Whatever such a worker raises reaches ONE handler, the app's
``on_worker_failed`` (a :class:`~fieldapp.tui.messages.WorkerFailed` message): it is
never lost the way an ``exit_on_error=False`` worker's exception otherwise is. A node
that must recover (a form left "saving") defines ``worker_failed(group)``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from textual import work

from fieldapp.domain.clock import Clock
from fieldapp.tui.messages import WorkerFailed


def background(group: str, *, exclusive: bool = False) -> Callable[[Callable[..., Any]], Any]:
    """``@work(thread=True, exit_on_error=False, group=group)``, with every exception
    reported to the app. ``exclusive`` only where the newest request should win
    (search-as-you-type, reloading a view) — never for saves."""

    def decorate(method: Callable[..., Any]) -> Any:
        @functools.wraps(method)
        def run(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except Exception as exc:
                self.app.post_message(WorkerFailed(self, group, exc))
                raise  # the worker ends in ERROR, as it should

        return work(thread=True, exit_on_error=False, group=group, exclusive=exclusive)(run)

    return decorate


class FailureReporter:
    """What the app says when a worker failed: the failure is logged (type and code
    places only, never personal data), the screen that ran it recovers, and the same
    failure again within 30 s (a view loaded twice) is logged but said once."""

    def __init__(self) -> None:
        self._last: tuple[tuple[str, str, str], float] = (("", "", ""), 0.0)

    def report(self, message: WorkerFailed, clock: Clock) -> str | None:
        """Log ``message``'s failure and let its screen recover; the text to show, or
        None when it was just said."""
        from fieldapp.errors import FieldappError
        from fieldapp.i18n import t
        from fieldapp.services import errorlog

        error = message.error
        log = errorlog.record(error, message.group, clock)
        recover = getattr(message.node, "worker_failed", None)
        if callable(recover):
            recover(message.group)
        said = (message.group, type(error).__name__, errorlog.place(error))
        if said == self._last[0] and clock.monotonic() - self._last[1] < 30:
            return None
        self._last = (said, clock.monotonic())
        if isinstance(error, FieldappError):
            return error.render()  # a refusal we know how to explain
        text = t("ui.worker_failed")  # the exception's name and place: in the log
        if log is not None:
            text += " " + t("ui.worker_failed_log", path=str(log))
        return text
