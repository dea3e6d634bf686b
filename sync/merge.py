"""The supervisor's side: receive bundles and merge them (DESIGN §3.2, §3.4).

Per bundle: open it (verify → sequence/previous hash → decrypt → validate every op),
then apply all its ops and advance the device's high-water mark in ONE vault commit.
Duplicates are no-ops; a bundle after a gap is held (encrypted, in the vault) until
the gap is filled; anything refused goes to quarantine with its reason and nothing
from it is applied.

Merge is a fold: per field, last writer wins by ``(hlc, device)`` — the same code as
the worker's vault — so delivery order and duplication do not change the result.
A field has a **conflict** when, among the ops written to it, two or more "heads"
(ops no other op builds on through ``base``) hold different values: concurrent edits.
A resolution is a new op on the field plus an op on ``_resolved_<field>`` listing the
heads it settles, so it syncs like any change.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fieldapp.errors import BundleError, DuplicateBundle, OpInvalid, SequenceConflict, SequenceGap
from fieldapp.store import Vault
from sync.bundle import MAX_BUNDLE, Chain, Opened, domain_validator, open_bundle, read_header
from sync.hlc import physical_ms
from sync.locking import sync_lock
from sync.ops import Op
from sync.team import enrolled_keys, team_secrets

CHAIN = "recv/chain/"
HELD = "recv/held/"
QUARANTINE = "recv/quarantine/"
CONFLICTS = "conflicts"
STATS = "recv/stats/"
RESOLVED_PREFIX = "_resolved_"
# An HLC this far ahead of the supervisor's clock is refused: a device whose clock is
# days off must not win every later conflict.
MAX_AHEAD_MS = 24 * 3600 * 1000


class ClockAhead(BundleError):
    msg_id = "bundle.clock_ahead"


@dataclass
class Outcome:
    kind: str  # applied | duplicate | held | quarantined
    device: str = ""
    seq: int = 0
    ops: int = 0
    reason: BundleError | None = None
    source: str = ""


@dataclass
class Summary:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for o in self.outcomes if o.kind == kind)

    @property
    def ops(self) -> int:
        return sum(o.ops for o in self.outcomes if o.kind == "applied")


def chain_of(vault: Vault, device: str) -> Chain:
    state = vault.get_meta(CHAIN + device)
    if not state:
        return Chain()
    return Chain(state["seq"], state["digest"], {int(k): v for k, v in state["seen"].items()})


def _chain_kv(chain: Chain, opened: Opened) -> dict[str, Any]:
    seen = {str(k): v for k, v in chain.seen.items()}
    seen[str(opened.header.seq)] = opened.digest
    return {"seq": opened.header.seq, "digest": opened.digest, "seen": seen}


def _stats_kv(vault: Vault, opened: Opened) -> dict[str, Any]:
    """What the team view shows per device: bundles, ops, the last one and when."""
    stats = dict(vault.get_meta(STATS + opened.header.device, {}))
    stats["bundles"] = int(stats.get("bundles", 0)) + 1
    stats["ops"] = int(stats.get("ops", 0)) + len(opened.ops)
    stats["last_seq"] = opened.header.seq
    stats["last_at"] = vault.clock.now().isoformat(timespec="seconds")
    return stats


class Merger:
    """Receives bundles into a supervisor's vault. Its time (the clock-skew bound, when
    a bundle arrived) is the vault's clock."""

    def __init__(self, vault: Vault) -> None:
        team = team_secrets(vault)
        if team is None:
            from fieldapp.errors import CardError

            raise CardError(what="no_team")
        self.vault = vault
        self.team = team
        self.devices = enrolled_keys(vault)
        self.validate = domain_validator(extra_fields=_is_resolution_field, today=vault.clock.today)

    def receive(self, data: bytes, source: str = "") -> list[Outcome]:
        """Take one bundle; returns what happened to it (and to held bundles it released)."""
        with sync_lock(self.vault):
            outcome = self._receive_one(data, source)
            outcomes = [outcome]
            if outcome.kind == "applied":
                outcomes += self._release_held(outcome.device)
        return outcomes

    def _receive_one(self, data: bytes, source: str) -> Outcome:
        try:
            opened = open_bundle(
                data,
                team_id=self.team.team_id,
                team_key=self.team.enc_key,
                devices=self.devices,
                chain=lambda d: chain_of(self.vault, d),
                validate_op=self.validate,
            )
            self._check_clock(opened)
            self._check_kinds(opened)
        except DuplicateBundle as exc:
            return Outcome("duplicate", exc.params["device"], exc.params["seq"], source=source)
        except SequenceGap as exc:
            key = f"{HELD}{exc.params['device']}/{exc.params['seq']:08d}"
            held = self.vault.get_meta(key)
            if held is not None and held["data"] != _b64(data):
                # Two different bundles under one number while waiting: the alarm, and
                # the one held first stays.
                conflict = SequenceConflict(device=exc.params["device"], seq=exc.params["seq"])
                self._quarantine(data, conflict, source)
                return Outcome(
                    "quarantined",
                    conflict.params["device"],
                    conflict.params["seq"],
                    reason=conflict,
                    source=source,
                )
            self.vault.put_meta(key, {"data": _b64(data), "source": source})
            return Outcome(
                "held", exc.params["device"], exc.params["seq"], reason=exc, source=source
            )
        except BundleError as exc:
            self._quarantine(data, exc, source)
            device, seq = _who(data)
            return Outcome("quarantined", device, seq, reason=exc, source=source)
        return self._apply(opened, source)

    def _check_kinds(self, opened: Opened) -> None:
        """A record keeps its kind: an op claiming a resident's id for a need is refused."""
        seen: dict[str, str] = {}
        for index, op in enumerate(opened.ops):
            kind = seen.setdefault(op.record_id, self.vault.kind_of(op.record_id) or op.kind)
            if kind != op.kind:
                raise OpInvalid(index=index, reason="kind")

    def _check_clock(self, opened: Opened) -> None:
        ahead = physical_ms(opened.header.hlc) - self.vault.clock.wall_ms()
        if ahead > MAX_AHEAD_MS:
            raise ClockAhead(device=opened.header.device, hours=ahead // 3_600_000)

    def _apply(self, opened: Opened, source: str) -> Outcome:
        device = opened.header.device
        chain = chain_of(self.vault, device)
        kv: dict[str, Any] = {
            CHAIN + device: _chain_kv(chain, opened),
            STATS + device: _stats_kv(self.vault, opened),
        }
        held_key = f"{HELD}{device}/{opened.header.seq:08d}"
        if self.vault.get_meta(held_key) is not None:
            kv[held_key] = None
        kv[CONFLICTS] = self._conflicts_after(opened.ops)
        # Ops, high-water mark, conflict index: one frame, all or nothing.
        self.vault.commit_ops(opened.ops, kv)
        return Outcome("applied", device, opened.header.seq, len(opened.ops), source=source)

    def _release_held(self, device: str) -> list[Outcome]:
        """Apply held bundles that now follow on, one after another (a loop: a stick can
        hold thousands of them)."""
        out: list[Outcome] = []
        while True:
            chain = chain_of(self.vault, device)
            key = f"{HELD}{device}/{chain.last_seq + 1:08d}"
            entry = self.vault.get_meta(key)
            if entry is None:
                return out
            result = self._receive_one(base64.b64decode(entry["data"]), entry.get("source", ""))
            out.append(result)
            if result.kind != "applied":
                self.vault.put_meta(key, None)  # quarantined (or otherwise settled): not held
                return out

    def refuse(self, data: bytes, exc: BundleError, source: str, size: int) -> Outcome:
        """Quarantine what was refused before it could be opened (an object too large
        to fetch whole: ``data`` is its start, ``size`` its real size)."""
        with sync_lock(self.vault):
            self._quarantine(data, exc, source, size)
        device, seq = _who(data)
        return Outcome("quarantined", device, seq, reason=exc, source=source)

    def _quarantine(
        self, data: bytes, exc: BundleError, source: str, size: int | None = None
    ) -> None:
        from sync.bundle import digest

        device, seq = _who(data)
        kept = data
        if len(data) > MAX_BUNDLE:
            # Not a bundle by size; its source (a stick, the hub's archive/) keeps it
            # whole — the vault keeps the start, enough to see what it is.
            kept = data[:65536]
        self.vault.put_meta(
            QUARANTINE + digest(data)[:16],
            {
                "reason": exc.msg_id,
                "params": jsonable(exc.params),
                "device": device,
                "seq": seq,
                "source": source,
                "at": self.vault.clock.now().isoformat(timespec="seconds"),
                "data": _b64(kept),
                "size": size or len(data),
            },
        )

    def _conflicts_after(self, incoming: list[Op]) -> dict[str, list[str]]:
        """The conflict index (record → fields) once ``incoming`` is applied."""
        index: dict[str, list[str]] = {
            k: list(v) for k, v in self.vault.get_meta(CONFLICTS, {}).items()
        }
        touched: dict[str, set[str]] = {}
        for op in incoming:
            name = op.field.removeprefix(RESOLVED_PREFIX)
            touched.setdefault(op.record_id, set()).add(name)
        by_record: dict[str, list[Op]] = {}
        for op in incoming:
            by_record.setdefault(op.record_id, []).append(op)
        for rid, fields in touched.items():
            # A record new to this vault has no history to load (the common case).
            known = self.vault.kind_of(rid) is not None
            ops = (self.vault.history(rid) if known else []) + by_record[rid]
            current = set(index.get(rid, []))
            for name in fields:
                if len(heads(ops, name)) > 1:
                    current.add(name)
                else:
                    current.discard(name)
            if current:
                index[rid] = sorted(current)
            else:
                index.pop(rid, None)
        return index


def heads(ops: Iterable[Op], field_name: str) -> list[Op]:
    """The ops on a field that nothing builds on, one per distinct value, in LWW order.

    More than one means concurrent edits with different values: a conflict.
    """
    on_field: dict[str, Op] = {}
    settled: set[str] = set()
    for op in ops:
        if op.field == field_name:
            on_field[op.op_id] = op
        elif op.field == RESOLVED_PREFIX + field_name and isinstance(op.value, list):
            settled.update(str(v) for v in op.value)
    built_on = {op.base for op in on_field.values() if op.base} | settled
    tips = [op for op in on_field.values() if op.op_id not in built_on]
    tips.sort(key=lambda op: op.stamp, reverse=True)
    distinct: list[Op] = []
    values: list[Any] = []
    for op in tips:
        if op.value not in values:
            values.append(op.value)
            distinct.append(op)
    return distinct


def conflicts(vault: Vault) -> dict[str, list[str]]:
    """Records with unresolved conflicts: record id → fields."""
    return dict(vault.get_meta(CONFLICTS, {}))


def merge_sources(vault: Vault, paths: Iterable[Path]) -> Summary:
    """Receive every bundle found in files and folders (sorted by device and sequence)."""
    merger = Merger(vault)
    found: list[tuple[tuple[str, int], bytes, str]] = []
    for path in paths:
        files = [path] if path.is_file() else sorted(path.rglob("*.fbundle"))
        for file in files:
            if file.name.startswith("."):
                continue  # a temp file of an interrupted copy
            data = file.read_bytes()
            found.append((_who(data), data, str(file)))
    found.sort(key=lambda item: item[0])
    summary = Summary()
    for _, data, source in found:
        summary.outcomes += merger.receive(data, source)
    return summary


def _who(data: bytes) -> tuple[str, int]:
    try:
        header = read_header(data)[0]
        return header.device, header.seq
    except BundleError:
        return "", 0


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def jsonable(params: dict[str, Any]) -> dict[str, Any]:
    """Error parameters as JSON the vault can store."""
    return {
        k: v if isinstance(v, str | int | float | bool) or v is None else str(v)
        for k, v in params.items()
    }


def _is_resolution_field(kind: str, name: str, value: Any) -> bool:
    return (
        name.startswith(RESOLVED_PREFIX)
        and isinstance(value, list)
        and all(isinstance(v, str) and len(v) < 80 for v in value)
    )
