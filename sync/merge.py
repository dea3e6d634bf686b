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

What is kept of a refusal is bounded (anyone holding a stick can add junk): a bundle
whose signature verified is kept whole while the quarantine's quota lasts, anything
else only by its start, digest, source and reason; past QUARANTINE_MAX entries
refusals are counted, not kept. Held bundles have a quota too; one not kept stays
where it came from (the stick, the hub's inbox) and is read again next time.

The checks an opened bundle passes before it is applied are in ``sync.preview``; the
pass over sticks and folders is ``sync.sources``.

The same ``Merger`` opens a worker's downward bundles (``sync.downward``): only who
may send, the key they are sealed to and the recipient differ (a ``Receiver``); the
checks, the one-commit apply, the held and the quarantined are the same code.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from fieldapp.domain.ops import Op
from fieldapp.errors import (
    BundleError,
    ClockAhead,
    CommitRefused,
    DuplicateBundle,
    FieldappError,
    OpInvalid,
    RecordIncomplete,
    SequenceConflict,
    SequenceGap,
    TooLargeToApply,
)
from fieldapp.store import Vault
from sync.bundle import (
    MAX_BUNDLE,
    Chain,
    Enrolled,
    Opened,
    digest,
    domain_validator,
    open_bundle,
    peek_header,
    read_header,
)
from sync.levels import check_level, roster_kv
from sync.locking import sync_lock
from sync.preview import check_bundle, check_writers, complete_records
from sync.team import announced_kv, enrolled_keys, team_secrets

CHAIN = "recv/chain/"
HELD = "recv/held/"
WAITING = "recv/waiting/"  # bundles whose new records are not complete yet
QUARANTINE = "recv/quarantine/"
QUARANTINE_TALLY = "recv/quarantine-tally"  # refusals counted, not kept (past the quota)
CONFLICTS = "conflicts"
STATS = "recv/stats/"
QUARANTINE_KEEP = 4096  # bytes kept of a refused file that nobody signed
QUARANTINE_WHOLE = 64 * 1024 * 1024  # all signed refused bundles kept whole, together
QUARANTINE_MAX = 1000  # entries
HELD_QUOTA = 64 * 1024 * 1024  # bytes of held bundles, all devices
HELD_MAX = 2000  # held bundles


@dataclass
class Outcome:
    """What happened to one bundle, where it came from, and why when it was not applied."""

    kind: str  # applied | duplicate | held | quarantined
    device: str = ""
    seq: int = 0
    ops: int = 0
    reason: BundleError | None = None
    source: str = ""
    kept: bool = True  # a held bundle past the quota is not kept: read again next time


@dataclass
class Summary:
    """The outcomes of one merge pass; after a supervisor's pass over sticks and folders,
    what the scope cut did (``scope``: a ``sync.scope.ScopeCut``) or what stopped it
    (``scope_error``: the merge stands, the next pass cuts again)."""

    outcomes: list[Outcome] = field(default_factory=list)
    scope: Any = None
    scope_error: FieldappError | None = None

    def count(self, kind: str) -> int:
        """How many outcomes were of ``kind`` (applied, duplicate, held, quarantined)."""
        return sum(1 for o in self.outcomes if o.kind == kind)

    @property
    def ops(self) -> int:
        """Ops applied in the pass."""
        return sum(o.ops for o in self.outcomes if o.kind == "applied")


def chain_of(vault: Vault, device: str) -> Chain:
    """Where ``device``'s chain of bundles stands in this vault (empty before its first)."""
    state = vault.get_meta(CHAIN + device)
    if not state:
        return Chain()
    return Chain(state["seq"], state["digest"], {int(k): v for k, v in state["seen"].items()})


def _chain_kv(chain: Chain, opened: Opened) -> dict[str, Any]:
    seen = {str(k): v for k, v in chain.seen.items()}
    seen[str(opened.header.seq)] = opened.digest
    return {"seq": opened.header.seq, "digest": opened.digest, "seen": seen}


def _stats_kv(vault: Vault, opened: Opened) -> dict[str, Any]:
    """What the team view shows per device: bundles, ops, the last one, when it was received
    (``last_at``) and its newest change's HLC stamp (``last_hlc``, when it was made)."""
    stats = dict(vault.get_meta(STATS + opened.header.device, {}))
    stats["bundles"] = int(stats.get("bundles", 0)) + 1
    stats["ops"] = int(stats.get("ops", 0)) + len(opened.ops)
    stats["last_seq"] = opened.header.seq
    stats["last_at"] = vault.clock.now().isoformat(timespec="seconds")
    stats["last_hlc"] = opened.header.hlc
    return stats


@dataclass(frozen=True)
class Receiver:
    """Who opens bundles and from whom: the team, the key they are sealed to, the senders
    accepted and the recipient a bundle must name (``""``: the team's supervisor)."""

    team_id: str
    key: X25519PrivateKey
    devices: Mapping[str, Enrolled]
    recipient: str = ""


def supervisor_receiver(vault: Vault) -> Receiver:
    """The supervisor's side: upward bundles of the enrolled devices, sealed to the team."""
    team = team_secrets(vault)
    if team is None:
        from fieldapp.errors import CardError

        raise CardError(what="no_team")
    return Receiver(team.team_id, team.enc_key, enrolled_keys(vault))


class Merger:
    """Receives bundles into a vault: a supervisor's (upward bundles, the default) or a
    worker's (downward bundles, with ``receiver``). Its time (the clock-skew bound, when
    a bundle arrived) is the vault's clock."""

    def __init__(self, vault: Vault, receiver: Receiver | None = None) -> None:
        self.vault = vault
        self.receiver = receiver or supervisor_receiver(vault)
        self.devices = self.receiver.devices
        # A worker may be up to a day ahead (preview.MAX_AHEAD_MS): its "today" is not in the
        # future. Read once: a merge pass is short.
        self._day = vault.clock.today() + dt.timedelta(days=1)
        self.validate = domain_validator(today=self._today)
        # What the quarantine and the held bundles use now (their quotas).
        self._quarantined = {k: vault.get_meta(k) for k in vault.meta_keys(QUARANTINE)}
        self._whole_bytes = sum(
            int(q.get("kept", 0)) for q in self._quarantined.values() if q.get("authentic")
        )
        self._held = {
            k: len(vault.get_meta(k)["data"]) * 3 // 4
            for prefix in (HELD, WAITING)
            for k in vault.meta_keys(prefix)
        }
        self._touched: set[str] = set()  # records applied since the waiting were retried

    def _today(self) -> dt.date:
        return self._day

    def receive(self, data: bytes, source: str = "") -> list[Outcome]:
        """Take one bundle; returns what happened to it (and to held bundles it released)."""
        with sync_lock(self.vault):
            outcome = self._receive_one(data, source)
            outcomes = [outcome]
            if outcome.kind == "applied":
                outcomes += self._release_held(outcome.device)
                outcomes += self._release_waiting()
        return outcomes

    def _receive_one(
        self, data: bytes, source: str, completable: frozenset[str] = frozenset()
    ) -> Outcome:
        try:
            opened = open_bundle(
                data,
                team_id=self.receiver.team_id,
                team_key=self.receiver.key,
                devices=self.devices,
                chain=lambda d: chain_of(self.vault, d),
                validate_op=self.validate,
                recipient=self.receiver.recipient,
            )
            if not self.receiver.recipient:  # upward: a worker's device, or a lower office's
                check_level(self.vault, opened)
                check_writers(opened, self.vault)
            conflicted, new = check_bundle(self.vault, opened, self._day, conflicts(self.vault))
            incomplete = [r for r in new if r not in completable]
            if incomplete:
                return self._wait(data, opened, incomplete, source)
        except DuplicateBundle as exc:
            return Outcome("duplicate", exc.params["device"], exc.params["seq"], source=source)
        except SequenceGap as exc:
            return self._hold(data, exc, source)
        except BundleError as exc:
            if not exc.authentic and isinstance(exc, ClockAhead | OpInvalid):
                exc.authentic = True  # raised on an opened (signed) bundle
            return self._refused(data, exc, source)
        try:
            return self._apply(opened, source, conflicted)
        except CommitRefused:
            # Signed and valid, but the vault could not take it as one readable frame.
            refusal = TooLargeToApply(device=opened.header.device, seq=opened.header.seq)
            refusal.authentic = True
            return self._refused(data, refusal, source)

    def _refused(self, data: bytes, exc: BundleError, source: str) -> Outcome:
        self._quarantine(data, exc, source)
        device, seq = peek_header(data)
        return Outcome("quarantined", device, seq, reason=exc, source=source)

    def _hold(self, data: bytes, exc: SequenceGap, source: str) -> Outcome:
        device, seq = exc.params["device"], exc.params["seq"]
        key = f"{HELD}{device}/{seq:08d}"
        held = self.vault.get_meta(key)
        if held is not None:
            if held["data"] == _b64(data):
                return Outcome("held", device, seq, reason=exc, source=source)
            # Two different bundles under one number while waiting: the alarm, and the
            # one held first stays.
            conflict = SequenceConflict(device=device, seq=seq)
            conflict.authentic = True
            return self._refused(data, conflict, source)
        if len(self._held) >= HELD_MAX or sum(self._held.values()) + len(data) > HELD_QUOTA:
            # Not kept: it stays where it came from and is read again next time.
            return Outcome("held", device, seq, reason=exc, source=source, kept=False)
        self.vault.put_meta(key, {"data": _b64(data), "source": source})
        self._held[key] = len(data)
        return Outcome("held", device, seq, reason=exc, source=source)

    def _apply(self, opened: Opened, source: str, conflicted: dict[str, list[str]]) -> Outcome:
        device = opened.header.device
        chain = chain_of(self.vault, device)
        kv: dict[str, Any] = {
            CHAIN + device: _chain_kv(chain, opened),
            STATS + device: _stats_kv(self.vault, opened),
        }
        held_keys = [f"{prefix}{device}/{opened.header.seq:08d}" for prefix in (HELD, WAITING)]
        for key in held_keys:
            if self.vault.get_meta(key) is not None:
                kv[key] = None
        kv[CONFLICTS] = conflicted
        kv.update(roster_kv(opened))  # a lower office's roster, with the ops it vouches for
        announced = opened.header.announced_key()
        if announced is not None and not self.receiver.recipient:
            # Signed by the enrolled key (verified): the device's receiving key.
            kv.update(announced_kv(self.vault, device, announced))
        # Ops, high-water mark, conflict index (and an announced key): one frame. Ops the
        # vault holds already (a resident's file sent again) are not journalled twice.
        self.vault.commit_ops(unseen(self.vault, opened.ops), kv)
        for key in held_keys:
            self._held.pop(key, None)
        self._touched.update(op.record_id for op in opened.ops)
        return Outcome("applied", device, opened.header.seq, len(opened.ops), source=source)

    def _wait(self, data: bytes, opened: Opened, records: list[str], source: str) -> Outcome:
        """Keep a bundle whose new records are not complete yet until they are."""
        device, seq = opened.header.device, opened.header.seq
        reason = RecordIncomplete(device=device, seq=seq, record=records[0][-12:])
        key = f"{WAITING}{device}/{seq:08d}"
        if self.vault.get_meta(key) is None:
            if len(self._held) >= HELD_MAX or sum(self._held.values()) + len(data) > HELD_QUOTA:
                return Outcome("held", device, seq, reason=reason, source=source, kept=False)
            self.vault.put_meta(key, {"data": _b64(data), "source": source, "records": records})
            self._held[key] = len(data)
        return Outcome("held", device, seq, reason=reason, source=source)

    def settle(self) -> list[Outcome]:
        """At the end of a pass: bundles that wait on each other (each completes a
        record the other's ops touch — devices that heard of each other's new records, or
        one sender's bundles that a record was cut across, the later held behind the
        first) are applied together when, all of them taken, those records are complete.
        What nothing completes (a record only ever sent in part) goes on waiting."""
        with sync_lock(self.vault):
            out: list[Outcome] = []
            while True:
                entries = {k: self.vault.get_meta(k) for k in self._held if k.startswith(WAITING)}
                if not entries:
                    return out
                bundles = {k: base64.b64decode(e["data"]) for k, e in entries.items()}
                ops = [op for data in bundles.values() for op in self._peek_ops(data)]
                # A record cut in two across one sender's bundles: the first waits for the
                # rest, which is held behind it (the gap). Taken together they complete it.
                # Only the held bundles that follow on from a waiting one, without a gap.
                for key in entries:
                    device, seq = key[len(WAITING) :].rsplit("/", 1)
                    after = int(seq) + 1
                    while (entry := self.vault.get_meta(f"{HELD}{device}/{after:08d}")) is not None:
                        ops += self._peek_ops(base64.b64decode(entry["data"]))
                        after += 1
                completable = complete_records(self.vault, ops)
                progress = False
                for key in sorted(entries, key=lambda k: k.rsplit("/", 2)[1:]):
                    if not set(entries[key].get("records", ())) <= completable:
                        continue
                    result = self._receive_one(bundles[key], entries[key]["source"], completable)
                    if result.kind == "held" and isinstance(result.reason, RecordIncomplete):
                        continue
                    progress = True
                    out.append(result)
                    if result.kind == "applied":
                        out += self._release_held(result.device)
                    else:
                        self.vault.put_meta(key, None)
                        self._held.pop(key, None)
                out += self._release_waiting()
                if not progress:
                    return out

    def _peek_ops(self, data: bytes) -> list[Op]:
        """The ops of a bundle already opened once (it waits in the vault)."""
        try:
            header = read_header(data)[0]
            return open_bundle(
                data,
                team_id=self.receiver.team_id,
                team_key=self.receiver.key,
                devices=self.devices,
                chain=lambda d: Chain(header.seq - 1, header.prev),  # only its ops matter
                validate_op=self.validate,
                recipient=self.receiver.recipient,
            ).ops
        except BundleError:
            return []

    def _release_waiting(self) -> list[Outcome]:
        """Retry the bundles waiting for records that bundles applied since have touched
        (and, once one applies, its device's held bundles that follow on)."""
        out: list[Outcome] = []
        while self._touched:
            touched, self._touched = self._touched, set()
            for key in list(self._held):
                if not key.startswith(WAITING):
                    continue
                entry = self.vault.get_meta(key)
                if entry is None or not touched & set(entry.get("records", ())):
                    continue
                result = self._receive_one(base64.b64decode(entry["data"]), entry["source"])
                if (
                    result.kind == "held"
                    and result.reason is not None
                    and isinstance(result.reason, RecordIncomplete)
                ):
                    continue  # still waiting (its entry stays)
                out.append(result)
                if result.kind == "applied":
                    out += self._release_held(result.device)
                else:
                    self.vault.put_meta(key, None)
                    self._held.pop(key, None)
        return out

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
                self._held.pop(key, None)
                return out

    def refuse(self, data: bytes, exc: BundleError, source: str, size: int) -> Outcome:
        """Quarantine what was refused before it could be opened (an object too large
        to fetch whole, a file that is not one: ``data`` is its start or nothing,
        ``size`` its real size)."""
        with sync_lock(self.vault):
            self._quarantine(data, exc, source, size)
        device, seq = peek_header(data)
        return Outcome("quarantined", device, seq, reason=exc, source=source)

    def _quarantine(
        self, data: bytes, exc: BundleError, source: str, size: int | None = None
    ) -> None:
        whole = digest(data)
        key = QUARANTINE + (whole if data else digest(source.encode()))[:16]
        if key in self._quarantined:
            return  # the same refusal again (a stick merged twice): kept once
        at = self.vault.clock.now().isoformat(timespec="seconds")
        if len(self._quarantined) >= QUARANTINE_MAX:
            tally = dict(self.vault.get_meta(QUARANTINE_TALLY, {}))
            tally.update(
                count=int(tally.get("count", 0)) + 1,
                bytes=int(tally.get("bytes", 0)) + (size or len(data)),
                last=at,
                last_reason=exc.msg_id,
            )
            self.vault.put_meta(QUARANTINE_TALLY, tally)
            return
        authentic = exc.authentic and len(data) <= MAX_BUNDLE
        if authentic and self._whole_bytes + len(data) <= QUARANTINE_WHOLE:
            kept = data  # signed by an enrolled device: the evidence, whole
        else:
            # Anyone with the stick could have made it: its start says what it is; the
            # stick (or the hub's archive) keeps it whole.
            kept = data[:QUARANTINE_KEEP]
            authentic = False
        device, seq = peek_header(data)
        entry = {
            "reason": exc.msg_id,
            "params": jsonable(exc.params),
            "device": device,
            "seq": seq,
            "source": source,
            "at": at,
            "data": _b64(kept),
            "kept": len(kept),
            "size": size or len(data),
            "digest": whole,
            "authentic": authentic,
        }
        self.vault.put_meta(key, entry)
        self._quarantined[key] = entry
        if authentic:
            self._whole_bytes += len(kept)


def unseen(vault: Vault, ops: list[Op]) -> list[Op]:
    """The ops of ``ops`` that ``vault`` does not hold yet (by op id)."""
    known: dict[str, set[str]] = {}
    out = []
    for op in ops:
        if vault.kind_of(op.record_id) is not None:
            ids = known.get(op.record_id)
            if ids is None:
                ids = known[op.record_id] = {o.op_id for o in vault.history(op.record_id)}
            if op.op_id in ids:
                continue
        out.append(op)
    return out


def conflicts(vault: Vault) -> dict[str, list[str]]:
    """Records with unresolved conflicts: record id → fields."""
    return dict(vault.get_meta(CONFLICTS, {}))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def jsonable(params: dict[str, Any]) -> dict[str, Any]:
    """Error parameters as JSON the vault can store."""
    return {
        k: v if isinstance(v, str | int | float | bool) or v is None else str(v)
        for k, v in params.items()
    }
