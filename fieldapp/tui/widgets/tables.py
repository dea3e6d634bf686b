"""Tables that are filled again (after a dialog, a save, a merge) keep the worker's place:
the cursor stays on the same record, never jumps back to the first row under them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

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
