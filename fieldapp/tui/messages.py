"""Messages between the app and its screens (small dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass

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
