"""Command palette: jump to a resident by name, pinyin, address, phone or ID digits."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import Hit, Hits, Provider
from textual.content import Content

from fieldapp.i18n import t

if TYPE_CHECKING:
    from fieldapp.tui.app import FieldApp


class ResidentCommands(Provider):
    async def search(self, query: str) -> Hits:
        app: FieldApp = self.app  # type: ignore[assignment]
        workspace = app.workspace
        if workspace is None or app.locked or not query.strip():
            return
        # The index answers in milliseconds even at 50 000 residents (bench/tui.py).
        rows, _ = workspace.find_residents(query, limit=20)
        for row in rows:
            yield Hit(
                1.0,
                Content(f"{row.name}  ·  {row.community}"),  # names are text, never markup
                partial(app.open_resident, row.id),
                help=t("cmd.jump_help"),
            )
