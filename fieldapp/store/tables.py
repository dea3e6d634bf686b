"""TinyDB as the query layer over the decrypted vault state.

TinyDB's default table rebuilds the whole table (and its storage re-serialises every
table) on every write. Our :class:`RecordTable` keeps its documents in one dict that the
vault updates in place, so a save costs O(fields), not O(records); reads, ``search``
and queries are TinyDB's own. Documents are keyed by the record's UUIDv7.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tinydb import TinyDB
from tinydb.storages import MemoryStorage
from tinydb.table import Table


class RecordTable(Table):
    """The live records of one kind as a TinyDB table over a dict the vault updates in place (see
    the module docstring); made by :class:`VaultDB` with TinyDB's arguments."""

    # Record ids are UUIDv7 strings; TinyDB annotates ids as int but only calls this class.
    document_id_class = str  # type: ignore[assignment]

    def __init__(self, storage: Any, name: str, **kwargs: Any) -> None:
        super().__init__(storage, name, **kwargs)
        self.docs: dict[str, dict[str, Any]] = {}

    def _read_table(self) -> dict[str, Mapping[str, Any]]:
        return self.docs  # type: ignore[return-value]

    def _update_table(self, updater: Callable[[dict[str, Any]], None]) -> None:  # type: ignore[override]
        updater(self.docs)
        self.clear_cache()

    def _get_next_id(self) -> str:
        raise TypeError("records are inserted with their own id")

    def put(self, record_id: str, doc: dict[str, Any]) -> None:
        """Insert or replace one document (the vault's write path)."""
        self.docs[record_id] = doc
        self.clear_cache()

    def drop(self, record_id: str) -> None:
        """Remove one record's document (the record was deleted)."""
        if self.docs.pop(record_id, None) is not None:
            self.clear_cache()


class VaultDB(TinyDB):
    """The in-memory TinyDB over the decrypted vault: one :class:`RecordTable` per kind."""

    table_class = RecordTable  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__(storage=MemoryStorage)

    def records(self, kind: str) -> RecordTable:
        """The table of the live records of ``kind`` (made on first use)."""
        table = self.table(kind, cache_size=0)
        assert isinstance(table, RecordTable)
        return table
