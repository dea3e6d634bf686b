"""What a screen fails to show: labels cut at the edge of their box, table headers cut
or columns pushed off the screen, footer keys past the right edge, one-line texts that
wrap. Used by ``test_fit.py`` on every screen at 80×24 in both languages.

The check reads the screen as the terminal would show it (the compositor's own lines)
and compares it with what each widget means to show, so it catches clipping whatever
its cause: a fixed width, a long translation, a parent too narrow or a footer too full.
"""

from __future__ import annotations

import re

from rich.cells import cell_len
from rich.text import Text
from textual.content import Content
from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Button, DataTable, Footer, Input, Static, Tab
from textual.widgets._footer import FooterKey

_SPACE = re.compile(r"\s+")
# Texts that are meant to run over several rows: help, explanations, notes, messages.
PROSE = "prose"


def _plain(renderable: object) -> str | None:
    if isinstance(renderable, (Text, Content)):
        return renderable.plain
    if isinstance(renderable, str):
        return Content.from_markup(renderable).plain
    return None


def _screen_lines(screen: Screen[object]) -> list[Strip]:
    return screen._compositor.render_strips()


def _shown(lines: list[Strip], region: Region) -> list[str]:
    rows = []
    for y in range(region.y, region.bottom):
        if 0 <= y < len(lines):
            rows.append(lines[y].crop(region.x, region.right).text)
    return rows


def _subsequence(wanted: str, shown: str) -> bool:
    it = iter(shown)
    return all(ch in it for ch in wanted)


def _source(widget: Widget) -> str | None:
    if isinstance(widget, FooterKey):
        return f"{widget.key_display} {widget.description}"
    if isinstance(widget, (Button, Tab)):
        return _plain(widget.label)
    if isinstance(widget, Static):
        return _plain(widget.render())
    return None


def _label(widget: Widget) -> str:
    return f"{type(widget).__name__}#{widget.id or '?'}"


def problems(screen: Screen[object]) -> list[str]:
    """Every label, header or key that the screen does not show whole."""
    found: list[str] = []
    lines = _screen_lines(screen)
    size = screen.size
    if screen.virtual_size.height > size.height or screen.virtual_size.width > size.width:
        found.append(
            f"{type(screen).__name__}: the screen itself scrolls ({screen.virtual_size} in"
            f" {size}): what is below the fold, the footer too, is hidden"
        )
    visible = screen._compositor.visible_widgets
    for widget, (region, clip) in visible.items():
        if widget.screen is not screen:
            continue
        if isinstance(widget, DataTable):
            found += _table_problems(widget)
            continue
        if isinstance(widget, Input):
            found += _input_problems(widget)
            continue
        if isinstance(widget, Footer):
            right = max((k.region.right for k in widget.query(FooterKey)), default=0)
            if right > size.width:
                found.append(f"footer: keys run {right - size.width} cells past the edge")
            continue
        text = _source(widget)
        if not text or not text.strip():
            continue
        if region.y < clip.y or region.bottom > clip.bottom:
            continue  # scrolled partly out of view: the rest is a scroll away
        if region.right > clip.right or region.x < clip.x:
            found.append(f"{_label(widget)} {text.strip()[:30]!r}: cut by its container")
            continue
        inner = widget.content_region
        rows = _shown(lines, inner.intersection(clip))
        wanted = _SPACE.sub("", text)
        if not _subsequence(wanted, _SPACE.sub("", "".join(rows))):
            found.append(f"{_label(widget)} {text.strip()[:30]!r}: clipped")
            continue
        meant = len(text.strip().splitlines())
        filled = [r for r in rows if r.strip()]
        if len(filled) > meant and not _is_prose(widget):
            found.append(
                f"{_label(widget)} {text.strip()[:30]!r}: {meant} line(s) wrap over"
                f" {len(filled)} rows"
            )
    return found


def _is_prose(widget: Widget) -> bool:
    return any(node.has_class(PROSE) for node in widget.ancestors_with_self)


def _table_problems(table: DataTable[object]) -> list[str]:
    out = []
    total = 0
    for column in table.columns.values():
        label = column.label.plain
        widest = max((cell_len(line) for line in label.splitlines()), default=0)
        if not column.auto_width and widest > column.width:
            out.append(f"DataTable#{table.id}: header {label!r} cut to {column.width} cells")
        if len(label.splitlines()) > table.header_height:
            out.append(f"DataTable#{table.id}: header {label!r} has more lines than the header")
        total += column.get_render_width(table)
    room = table.scrollable_content_region.width
    if total > room:
        out.append(
            f"DataTable#{table.id}: columns need {total} cells, {room} shown "
            f"(last columns off the screen)"
        )
    return out


def _input_problems(box: Input) -> list[str]:
    if box.value or not box.placeholder:
        return []
    room = box.content_region.width
    if cell_len(box.placeholder) > room:
        return [f"Input#{box.id}: placeholder {box.placeholder[:30]!r} cut to {room} cells"]
    return []
