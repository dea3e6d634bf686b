"""Tables that are filled again (after a dialog, a save, a merge) keep the worker's place:
the cursor stays on the same record, never jumps back to the first row under them; and
tables that fit the screen and are drawn at their final size from the first frame
(:class:`FitTable`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.geometry import Size
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey


def cursor_key(table: DataTable[object]) -> RowKey | None:
    """The key of the row under the cursor, or None in an empty table."""
    if table.row_count == 0:
        return None
    try:
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key
    except Exception:  # a cursor past the last row while the table is refilled
        return None


@contextmanager
def keeping_cursor(table: DataTable[object]) -> Iterator[None]:
    """Refill ``table`` inside this block; the cursor comes back to the row with the same
    key (or to the same position, when that record is gone)."""
    restore = remember_cursors(table)
    yield
    restore()


def remember_cursors(*tables: DataTable[object]) -> Callable[[], None]:
    """Note where each table's cursor is; the function returned puts them back."""
    saved = [(table, cursor_key(table), table.cursor_row) for table in tables]

    def restore() -> None:
        for table, key, row in saved:
            if table.row_count == 0:
                continue
            if key is not None and key in table.rows:
                table.move_cursor(row=table.get_row_index(key), animate=False)
            else:
                table.move_cursor(row=min(max(row, 0), table.row_count - 1), animate=False)

    return restore


Cell = str | Text


def _width(value: Cell) -> int:
    text = value.plain if isinstance(value, Text) else value
    return max((cell_len(line) for line in text.splitlines()), default=0)


def _lines(value: Cell) -> int:
    return len((value.plain if isinstance(value, Text) else value).splitlines()) or 1


def _one_line(value: Cell) -> Text:
    """A cell as plain text (a name or note holding [brackets] is not markup) that ends in
    "…" where its column is narrower."""
    text = value.copy() if isinstance(value, Text) else Text(value)
    text.no_wrap = True
    text.overflow = "ellipsis"
    return text


class FitTable(DataTable[Text]):
    """A table whose columns are sized from its rows before it is drawn, so the first
    paint is the final one, and that fits the screen: when the columns need more room
    than the table has, the free-text column (``stretch``, the last by default) gives way
    and its cells end in "…"; then the next one named in ``stretch``, if any. No column is
    narrower than its header (a header may take two lines: "Needs\nL/R/O"), and the table
    fits itself again when the terminal is resized."""

    def __init__(self, *args: Any, stretch: int | Sequence[int] = -1, **kwargs: Any) -> None:
        """``stretch``: the index (or indexes, in order) of the columns that give way; the
        rest as DataTable."""
        super().__init__(*args, **kwargs)
        self.stretch = [stretch] if isinstance(stretch, int) else list(stretch)
        self._filled: tuple[list[Cell], list[tuple[str, list[Cell]]]] | None = None
        self._fitted_for = 0

    def fill(self, headers: Sequence[Cell], rows: Iterable[tuple[str, Sequence[Cell]]]) -> None:
        """Replace the columns and rows: ``rows`` holds (key, cells) pairs."""
        kept = ([*headers], [(key, [*values]) for key, values in rows])
        self._filled = kept
        room = self._room()
        self._fitted_for = room
        header_list, row_list = kept
        widths = [_width(h) for h in header_list]
        for _key, values in row_list:
            for i, value in enumerate(values[: len(widths)]):
                widths[i] = max(widths[i], _width(value))
        excess = sum(widths) + 2 * self.cell_padding * len(widths) - room
        for index in self.stretch if widths else []:
            if excess <= 0:
                break
            i = index % len(widths)
            narrower = max(_width(header_list[i]), widths[i] - excess)
            excess -= widths[i] - narrower
            widths[i] = narrower
        self.clear(columns=True)
        self.header_height = max((_lines(h) for h in header_list), default=1)
        for header, width in zip(header_list, widths, strict=True):
            self.add_column(header, width=width)
        for key, values in row_list:
            self.add_row(*(_one_line(v) for v in values), key=key)
        # A DataTable measures new rows only once its message queue is idle: a frame drawn
        # before that (the first one after unlocking, while the search index is built)
        # would show the table one line high, and the layout jump a moment later. The
        # size is what that measurement will find.
        header = self.header_height if self.show_header else 0
        self.virtual_size = Size(
            sum(column.get_render_width(self) for column in self.ordered_columns),
            self.row_count + header,
        )

    def _room(self) -> int:
        """The cells the columns may use: the table's width (or, before the first layout,
        the screen's) less a vertical scrollbar."""
        width = self.size.width or self.app.size.width - 2
        return max(1, width - self.styles.scrollbar_size_vertical)

    def on_resize(self) -> None:
        """Fit the columns again to the new width, keeping the cursor on its row."""
        if self._filled is None or self._room() == self._fitted_for:
            return
        with keeping_cursor(self):
            self.fill(*self._filled)
