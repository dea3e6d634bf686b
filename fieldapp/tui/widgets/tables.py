"""Tables that are filled again (after a dialog, a save, a merge) keep the worker's place:
the cursor stays on the same record, never jumps back to the first row under them; and a
table filled with :func:`fill` is drawn at its final size from its first frame."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

from rich.text import Text
from textual.geometry import Size
from textual.render import measure
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


def fill(
    table: DataTable[object], labels: Sequence[str], rows: Iterable[tuple[str, Sequence[Text]]]
) -> None:
    """Empty ``table`` and fill it with columns headed ``labels`` and ``rows`` ((key, cells)),
    each column already as wide as its widest cell and the table as tall as its rows.

    A DataTable measures new rows only once its message queue is idle: a frame drawn
    before that (the first one after unlocking, while the search index is being built)
    shows the columns at their headings' widths and the table one line high, and the
    layout jumps a moment later. Here the sizes are what that measurement will find."""
    rows = list(rows)
    console = table.app.console
    table.clear(columns=True)
    for i, label in enumerate(labels):
        width = max(
            [measure(console, Text.from_markup(label), 1)]
            + [measure(console, cells[i], 1) for _, cells in rows]
        )
        table.add_column(label, width=width)
    for key, cells in rows:
        table.add_row(*cells, key=key)
    header = table.header_height if table.show_header else 0
    table.virtual_size = Size(
        sum(column.get_render_width(table) for column in table.ordered_columns),
        table.row_count + header,
    )
