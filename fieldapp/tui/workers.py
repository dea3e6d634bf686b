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
