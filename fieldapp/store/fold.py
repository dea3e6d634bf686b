"""The records as the fold of their ops (DESIGN §3.1–3.2): per field, the last writer
wins by ``(hlc, device)`` — the same code on every laptop and supervisor, so any order
of delivery and any duplication give the same records. Pure: in memory, no I/O, no
keys (``tests/test_fold.py`` checks the laws with Hypothesis).

Each record keeps, per field, the stamp ``[hlc, device index]`` of the value it holds.
A record untouched since it was loaded keeps the packed string form of the snapshot
(:func:`pack_stamps`), which is much cheaper to load than a dict per record.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from fieldapp.domain.ops import DELETED, Op, make_op_id

# Of the snapshot: 2 packs each record's stamps length-prefixed (1 used separators,
# which a field name could break); version 1 snapshots are still read.
STAMPS_VERSION = 2


def canon(value: Any) -> bytes:
    """One encoding per value: what breaks a tie between two ops with one stamp."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def pack_stamps(stamps: dict[str, list[Any]]) -> str:
    """``{"name": [hlc, dev]}`` → ``"<len>:<name><hlc hex>.<dev>;…"`` (one string per
    record, cheap to load). The name is length-prefixed, so no name can break it."""
    return "".join(f"{len(name)}:{name}{hlc:x}.{dev};" for name, (hlc, dev) in stamps.items())


def unpack_stamps(packed: str) -> dict[str, list[Any]]:
    """The inverse of :func:`pack_stamps`."""
    out: dict[str, list[Any]] = {}
    pos, end = 0, len(packed)
    while pos < end:
        colon = packed.index(":", pos)
        start = colon + 1
        stop = start + int(packed[pos:colon])
        dot = packed.index(".", stop)
        semi = packed.index(";", dot)
        out[packed[start:stop]] = [int(packed[stop:dot], 16), int(packed[dot + 1 : semi])]
        pos = semi + 1
    return out


def find_stamp(packed: str, name: str) -> tuple[int, int] | None:
    """One field's ``(hlc, dev)`` from a record's packed stamps (:func:`pack_stamps`), or
    None, without unpacking the others: a report that asks one field of every record (who
    wrote it) would otherwise build, and keep, a dict of stamps per record."""
    pos, end, size = 0, len(packed), len(name)
    while pos < end:
        colon = packed.index(":", pos)
        start = colon + 1
        stop = start + int(packed[pos:colon])
        dot = packed.index(".", stop)
        semi = packed.index(";", dot)
        if stop - start == size and packed.startswith(name, start):
            return int(packed[stop:dot], 16), int(packed[dot + 1 : semi])
        pos = semi + 1
    return None


def unpack_stamps_v1(packed: str) -> tuple[dict[str, list[Any]], int]:
    """Version 1's ``"name=<hlc hex>.<dev>;…"``, and how many items could not be read:
    a name with ``;`` or ``=`` in it (let in by an old merge) broke them. Those stamps
    are dropped — the fields keep their values, the next op on them simply wins."""
    out: dict[str, list[Any]] = {}
    bad = 0
    for item in packed.split(";") if packed else ():
        name, _, rest = item.rpartition("=")
        hlc, _, dev = rest.partition(".")
        try:
            if not name:
                raise ValueError(item)
            out[name] = [int(hlc, 16), int(dev)]
        except ValueError:
            bad += 1
    return out, bad


class Fold:
    """Every record's fields and kind, and each field's stamp. Documents are
    copy-on-write: a reader holding one (or iterating a snapshot of them) never sees it
    change under it."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}  # record id → fields (tombstoned too)
        self.kinds: dict[str, str] = {}  # record id → kind
        self.stamps: dict[str, dict[str, list[Any]] | str] = {}  # id → field → [hlc, dev]
        self.devices: list[str] = []
        self.device_index: dict[str, int] = {}
        self.stamps_version = STAMPS_VERSION  # of the packed strings loaded
        self.repaired = 0  # version 1 stamps that could not be read (and were dropped)

    # ------------------------------------------------------------ loading and saving

    def load(
        self, records: Iterable[list[Any]], devices: list[str], version: int
    ) -> dict[str, dict[str, dict[str, Any]]]:
        """Adopt a snapshot's ``[kind, id, fields, packed stamps]`` rows as they are.
        Returns the live (not deleted) documents by kind, sorted out in the same pass: the
        vault's tables take them without walking every record a second time."""
        self.devices = devices
        self.device_index = {d: i for i, d in enumerate(devices)}
        self.stamps_version = version
        docs, kinds, stamps = self.docs, self.kinds, self.stamps
        live: dict[str, dict[str, dict[str, Any]]] = {}
        for kind, rid, doc, packed in records:
            docs[rid] = doc
            kinds[rid] = kind
            stamps[rid] = packed
            if not doc.get(DELETED):
                of_kind = live.get(kind)
                if of_kind is None:
                    of_kind = live[kind] = {}
                of_kind[rid] = doc
        return live

    def rows(self) -> list[list[Any]]:
        """The snapshot's rows: ``[kind, id, fields, packed stamps]`` per record."""
        return [[self.kinds[rid], rid, doc, self.packed(rid)] for rid, doc in self.docs.items()]

    def packed(self, rid: str) -> str:
        """A record's stamps in the snapshot's packed form (kept as loaded while untouched)."""
        stamps = self.stamps[rid]
        if isinstance(stamps, str) and self.stamps_version == STAMPS_VERSION:
            return stamps  # untouched since it was loaded: already in this form
        return pack_stamps(self.stamps_of(rid))

    def stamps_of(self, rid: str) -> dict[str, list[Any]]:
        """A record's stamps (unpacked on first use)."""
        stamps = self.stamps[rid]
        if isinstance(stamps, str):
            if self.stamps_version == 1:
                stamps, bad = unpack_stamps_v1(stamps)
                self.repaired += bad
            else:
                stamps = unpack_stamps(stamps)
            self.stamps[rid] = stamps
        return stamps

    def device_idx(self, device_id: str) -> int:
        """The index of ``device_id`` in the fold's device list, adding it when new."""
        idx = self.device_index.get(device_id)
        if idx is None:
            idx = self.device_index[device_id] = len(self.devices)
            self.devices.append(device_id)
        return idx

    # ------------------------------------------------------------ folding

    def apply(self, ops: Iterable[Op]) -> dict[str, dict[str, Any]]:
        """Fold ``ops`` in; returns the new documents of the records they touched."""
        touched: dict[str, dict[str, Any]] = {}
        for op in ops:
            rid = op.record_id
            doc = touched.get(rid)
            if doc is None:
                old = self.docs.get(rid)
                if old is None:
                    self.kinds[rid] = op.kind
                    self.stamps[rid] = {}
                doc = touched[rid] = dict(old) if old is not None else {}
            stamps = self.stamps_of(rid)
            current = stamps.get(op.field)
            if current is not None:
                held = (current[0], self.devices[current[1]])
                if held > op.stamp:
                    continue
                if held == op.stamp and canon(doc.get(op.field)) >= canon(op.value):
                    # The same op again — or a device that reused a stamp: the larger value
                    # wins everywhere, whatever the order of delivery.
                    continue
            stamps[op.field] = [op.hlc, self.device_idx(op.device_id)]
            doc[op.field] = op.value
        self.docs.update(touched)
        return touched

    def preview(self, ops: Iterable[Op]) -> dict[str, dict[str, Any]]:
        """What :meth:`apply` would make of the records ``ops`` touch, changing nothing."""
        touched: dict[str, dict[str, Any]] = {}
        held: dict[str, dict[str, tuple[int, str]]] = {}
        for op in ops:
            rid = op.record_id
            doc = touched.get(rid)
            if doc is None:
                old = self.docs.get(rid)
                doc = touched[rid] = dict(old) if old is not None else {}
                stamps = self.stamps_of(rid) if rid in self.stamps else {}
                held[rid] = {f: (h, self.devices[d]) for f, (h, d) in stamps.items()}
            current = held[rid].get(op.field)
            if current is not None:
                if current > op.stamp:
                    continue
                if current == op.stamp and canon(doc.get(op.field)) >= canon(op.value):
                    continue
            held[rid][op.field] = op.stamp
            doc[op.field] = op.value
        return touched

    # ------------------------------------------------------------ reading

    def base_of(self, rid: str, field: str) -> str | None:
        """The op id of the value ``field`` holds now (the ``base`` of a new op on it)."""
        if rid not in self.stamps:
            return None
        current = self.stamps_of(rid).get(field)
        return None if current is None else make_op_id(current[0], self.devices[current[1]])

    def field_stamp(self, rid: str, field: str) -> tuple[int, int] | list[Any] | None:
        """``field``'s ``(hlc, dev)`` now, or None. A record untouched since the snapshot
        was loaded is read in its packed form, and left in it (see :func:`find_stamp`)."""
        stamps = self.stamps.get(rid)
        if stamps is None:
            return None
        if isinstance(stamps, str) and self.stamps_version == STAMPS_VERSION:
            return find_stamp(stamps, field)
        return self.stamps_of(rid).get(field)

    def author(self, rid: str, field: str) -> str | None:
        """The device that wrote the value ``field`` holds now."""
        stamp = self.field_stamp(rid, field)
        return None if stamp is None else self.devices[stamp[1]]

    def stamp(self, rid: str, field: str) -> int | None:
        """The HLC of the value ``field`` holds now (when it was last set)."""
        stamp = self.field_stamp(rid, field)
        return None if stamp is None else int(stamp[0])
