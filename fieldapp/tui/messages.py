"""Messages between the app and its screens (small dataclasses)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from textual.dom import DOMNode
from textual.message import Message


@dataclass
class WorkerFailed(Message):
    """A background worker of ``node`` raised ``error`` while doing ``group``'s work.

    Posted to the app, whose one handler logs it (without personal data), tells the
    user in their language and lets ``node`` make itself usable again."""

    node: DOMNode
    group: str
    error: BaseException


# ---------------------------------------------------------------- app → screens


class AppEvent(Message, bubble=False):
    """Something changed that screens may show: published by the app through its
    :class:`Broadcast`; every subscribed screen receives its own copy."""


class SyncStatusChanged(AppEvent):
    """The outbox or the hub's state changed: redraw the sync status line."""


class TeamChanged(AppEvent):
    """Bundles were merged or a device enrolled: reload the team view."""


class RecordsArrived(AppEvent):
    """Records came from elsewhere (the supervisor's bundles applied on this worker):
    reload what shows them."""


class IndexReady(AppEvent):
    """The search index (pinyin) is built: run the search again."""


class Broadcast:
    """App → screens without the app knowing its screens. A screen subscribes once it
    is mounted; a removed screen is forgotten (weakly held, and skipped once it is no
    longer attached)."""

    def __init__(self) -> None:
        self._events: WeakKeyDictionary[DOMNode, None] = WeakKeyDictionary()
        self._leaving: WeakKeyDictionary[DOMNode, Callable[[], None]] = WeakKeyDictionary()

    def subscribe(self, screen: DOMNode) -> None:
        """Have ``screen`` receive its own copy of every event published from now on."""
        self._events[screen] = None

    def publish(self, kind: type[AppEvent]) -> None:
        """Post a new ``kind`` to every subscribed screen (none: nothing happens)."""
        for screen in self._live(self._events):
            screen.post_message(kind())

    def before_leaving(self, screen: DOMNode, callback: Callable[[], None]) -> None:
        """Run ``callback`` (now, in order) whenever the app locks or quits: a form
        keeps what is typed as a draft before anything else happens."""
        self._leaving[screen] = callback

    def leaving(self) -> None:
        """The app is about to lock or quit: every ``before_leaving`` callback runs."""
        for screen in self._live(self._leaving):
            self._leaving[screen]()

    @staticmethod
    def _live(nodes: WeakKeyDictionary[DOMNode, Any]) -> list[DOMNode]:
        return [node for node in list(nodes) if node.is_attached]


# ---------------------------------------------------------------- screens → app


@dataclass
class OpenResident(Message):
    """Show this resident's file (from a list, the palette, a due visit); at one of its
    supervision notes when ``note_id`` is given (from Today's inbox)."""

    resident_id: str
    note_id: str | None = None


class FirstScreenShown(Message):
    """The home screen is up: the app may now build the search index."""
