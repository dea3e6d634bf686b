"""Ops: the unit of change, of history and of sync (DESIGN §3.1).

An op sets one field of one record: ``(op_id, kind, record_id, field, value, hlc,
device_id, base)``. ``base`` is the op id of the value the author saw for that field
(None for a new field). The op id is derived from ``(hlc, device_id)``, which a
device never repeats, so it is unique and sorts by time.

Deleting a record is an op on the reserved field ``DELETED``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

DELETED = "_deleted"
# A conflict resolution writes the field and ``_resolved_<field>``: the op ids of the
# heads it settles (sync.preview.heads), at most MAX_RESOLVED of them.
RESOLVED_PREFIX = "_resolved_"
MAX_RESOLVED = 16
# What ids from elsewhere may look like; always matched whole (``fullmatch``).
DEVICE_ID = re.compile(r"[A-Za-z0-9]{1,64}")
OP_ID = re.compile(r"[0-9a-f]{16,20}-[A-Za-z0-9]{1,64}")


def make_op_id(hlc: int, device_id: str) -> str:
    """The op id of a stamp and a device: the HLC in hex, a dash, the device id."""
    return f"{hlc:016x}-{device_id}"


@dataclass(frozen=True, slots=True)
class Op:
    """One change: ``field`` of one record set to ``value`` (see the module docstring)."""

    op_id: str
    kind: str
    record_id: str
    field: str
    value: Any
    hlc: int
    device_id: str
    base: str | None

    @property
    def stamp(self) -> tuple[int, str]:
        """The last-writer-wins order: ``(hlc, device_id)``."""
        return (self.hlc, self.device_id)

    def to_row(self) -> list[Any]:
        """Compact JSON form (journal frames, bundles)."""
        return [
            self.op_id,
            self.kind,
            self.record_id,
            self.field,
            self.value,
            self.hlc,
            self.device_id,
            self.base,
        ]

    @classmethod
    def from_row(cls, row: list[Any]) -> Op:
        """The op back from its compact JSON form (:meth:`to_row`), as it stands, unchecked."""
        op_id, kind, record_id, field, value, hlc, device_id, base = row
        return cls(op_id, kind, record_id, field, value, hlc, device_id, base)
