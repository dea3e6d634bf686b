"""The footer: Textual's, drawn again only when the keys it would show change."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer as TextualFooter


class Footer(TextualFooter):
    """Textual's footer, recomposed only when the keys it would show differ from the ones it
    shows.

    Textual builds the footer again (a widget per key, each styled anew) whenever a screen's
    bindings may have changed, on every change of focus among others: on the first screen
    that was seven times for one and the same set of keys, on the way to its first paint."""

    _shown: tuple[object, ...] | None = None

    def _keys(self, screen: Screen[object]) -> tuple[object, ...]:
        """Everything the footer's keys are drawn from: the bindings shown, and the palette's."""
        app = screen.app
        return (
            self.show_command_palette,
            self.compact,
            tuple(
                (key, b.key, app.get_key_display(b), b.description, b.action, b.group, on, tip)
                for key, (_, b, on, tip) in screen.active_bindings.items()
                if b.show or key == app.COMMAND_PALETTE_BINDING
            ),
        )

    def compose(self) -> ComposeResult:
        """Textual's keys, noting what they were drawn from."""
        if self._bindings_ready:
            self._shown = self._keys(self.screen)
        yield from super().compose()

    def bindings_changed(self, screen: Screen[object]) -> None:
        """The bindings may have changed: build the keys again only if they did."""
        unchanged = (
            self._shown is not None
            and self.is_attached
            and screen is self.screen
            and self._keys(screen) == self._shown
        )
        if not unchanged:
            super().bindings_changed(screen)
