"""The app's themes: Textual's dark and light, and a high-contrast one for bright
sunlight and weak eyes (the command palette cycles through them)."""

from __future__ import annotations

from textual.theme import Theme

HIGH_CONTRAST = Theme(
    name="fieldapp-high-contrast",
    primary="#ffff00",
    secondary="#00ffff",
    accent="#ffff00",
    foreground="#ffffff",
    background="#000000",
    surface="#000000",
    panel="#1a1a1a",
    success="#00ff00",
    warning="#ffff00",
    error="#ff5555",
    dark=True,
)
THEMES = ("textual-dark", "textual-light", "fieldapp-high-contrast")
