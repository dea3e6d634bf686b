"""Command palette: jump to a resident by name, pinyin, address, phone or ID digits."""

from __future__ import annotations

from functools import partial
from typing import Protocol

from textual.command import Hit, Hits, Provider
from textual.content import Content

from fieldapp.i18n import t
from fieldapp.services.workspace import Workspace
from fieldapp.tui.messages import OpenResident


class _Session(Protocol):
    """What the palette needs of the app (the app is never imported here)."""

    workspace: Workspace | None
    locked: bool


class ResidentCommands(Provider):
    """The palette finds residents as the residents screen does; a hit opens the file."""

    async def search(self, query: str) -> Hits:
        """Up to 20 residents matching ``query``."""
        app: _Session = self.app  # type: ignore[assignment]
        workspace = app.workspace
        if workspace is None or app.locked or not query.strip():
            return
        # The index answers in milliseconds even at 50 000 residents (bench/tui.py).
        rows, _ = workspace.find_residents(query, limit=20)
        for row in rows:
            yield Hit(
                1.0,
                Content(f"{row.name}  ·  {row.community}"),  # names are text, never markup
                partial(self.app.post_message, OpenResident(row.id)),
                help=t("cmd.jump_help"),
            )
