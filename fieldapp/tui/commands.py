"""Command palette: jump to a resident by name, pinyin, address, phone or ID digits, and
the app's commands (PALETTE)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Protocol

from rich.align import Align
from rich.text import Text
from textual.app import App, SystemCommand
from textual.command import CommandList, CommandPalette, Hit, Hits, Provider
from textual.content import Content
from textual.widgets.option_list import Option

from fieldapp.i18n import t
from fieldapp.services.workspace import Workspace
from fieldapp.tui.messages import OpenResident


class Palette(CommandPalette):
    """Textual's command palette, saying that nothing matched in the user's language."""

    def _start_no_matches_countdown(self, search_value: str) -> None:
        """As Textual's own (textual 8.2, ``command.py``), with the text from the catalogue:
        the library hard-codes "No matches found". A test fails if the library changes."""
        self._stop_no_matches_countdown()

        def show_no_matches() -> None:
            if search_value:
                self.query_one(CommandList).add_option(
                    Option(
                        Align.center(Text(t("ui.palette_no_matches"), style="not bold")),
                        disabled=True,
                        id=self._NO_MATCHES,
                    )
                )
                self._list_visible = True
            else:  # browsing the commands: nothing to say
                self._list_visible = False

        self._no_matches_timer = self.set_timer(self._NO_MATCHES_COUNTDOWN, show_no_matches)


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


# The palette's commands: (catalogue name under [cmd], the app's method, when offered):
# "open" once a vault is open and not locked, "supervisor" for a supervisor's open vault.
PALETTE: tuple[tuple[str, str, str], ...] = (
    ("today", "action_go_today", "open"),
    ("residents", "action_go_residents", "open"),
    ("new_resident", "action_new_resident", "open"),
    ("needs", "action_go_needs", "open"),
    ("lock", "action_lock", "open"),
    ("sync_now", "action_sync_now", "open"),
    ("sync_usb", "action_sync_usb", "open"),
    ("join_team", "action_join_team", "open"),
    ("export", "action_export", "open"),
    ("conflicts", "show_conflicts", "open"),  # a worker's own records' conflicts too
    ("merge", "action_merge_folder", "supervisor"),
    ("quarantine", "show_quarantine", "supervisor"),
    ("language", "action_toggle_language", "always"),
    ("theme", "action_next_theme", "always"),
    ("help", "action_help", "always"),
    ("quit", "action_quit", "always"),
)


def system_commands(app: App[object], *, opened: bool, supervisor: bool) -> Iterator[SystemCommand]:
    """The palette's commands for this moment, titles and help in the user's language."""
    for name, method, when in PALETTE:
        if when == "always" or (opened and (when == "open" or supervisor)):
            yield SystemCommand(t(f"cmd.{name}"), t(f"cmd.{name}_help"), getattr(app, method))
