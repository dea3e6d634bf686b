"""The outbox: this device's ops not yet delivered, cut into bundles that wait in the
vault (encrypted) until a transport confirms them.

- Cutting assigns sequence numbers and stores the bundles and the new outbox state in
  ONE vault commit: a crash leaves either no new bundles or all of them, so two
  different bundles can never share a sequence number.
- A bundle is immutable once cut; it leaves the outbox only after ``put`` returned
  (durable and read back) and that fact is committed.
- Once bundles are confirmed, residents leaving this device's scope whose ops they
  carried are purged (``sync.leaving.settle``): delivered first, then purged.
- A device that still has to announce its receiving key (made after it was enrolled
  with a v1 card) announces it in the first bundle it cuts — one with no ops when there
  are none — and stops announcing in that same commit.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import orjson

from fieldapp.domain import MODELS
from fieldapp.errors import CardError, FieldappError, TransportError
from fieldapp.store import Vault
from sync.bundle import MAX_OPS, MAX_RAW, MAX_VALUE, digest, seal
from sync.locking import sync_lock
from sync.team import DEVICE_RECV_ANNOUNCE, device_key, receiving_key, team_card, to_announce
from sync.transports.base import Transport

OUTBOX = "sync/outbox"
BUNDLE_PREFIX = "sync/bundle/"
STATUS = "sync/status"
MAX_OPS_PER_BUNDLE = 5_000
MAX_BYTES_PER_BUNDLE = 4 * 1024 * 1024  # of raw op JSON, before compression
# A run of one record's ops is kept whole, so a bundle may pass these by one record's
# fields (at most a model's fields × MAX_VALUE): still inside what a bundle may be.
_MOST_FIELDS = max(len(model.model_fields) for model in MODELS.values())
assert MAX_OPS_PER_BUNDLE + _MOST_FIELDS + 2 <= MAX_OPS
assert MAX_BYTES_PER_BUNDLE + (_MOST_FIELDS + 2) * (MAX_VALUE + 200) <= MAX_RAW


@dataclass
class OutboxState:
    next_seq: int = 1
    cut_hlc: int = 0
    last_digest: str = ""


@dataclass
class SyncStatus:
    """The outbox at a glance: ops not yet cut, bundles waiting for delivery, the last
    delivery and error (a message id), and how many bundles were delivered in all."""

    pending_ops: int
    pending_bundles: int
    last_delivery: str | None
    last_error: str | None
    delivered: int


@dataclass
class SyncResult:
    """What one sync did: bundles cut, the sequence numbers delivered, the bundles still in
    the outbox and, when delivery stopped, why."""

    cut: int = 0
    delivered: list[int] = field(default_factory=list)
    pending: int = 0
    error: str | None = None
    failure: FieldappError | None = None  # what stopped the delivery, when something did


def _state(vault: Vault) -> OutboxState:
    return OutboxState(**vault.get_meta(OUTBOX, {}))


def pending_ops(vault: Vault) -> list[Any]:
    """This device's ops not yet in a bundle, oldest first."""
    cut = _state(vault).cut_hlc
    if vault.hlc.last <= cut:
        return []  # no op of any device is newer than the last cut: skip reading history
    return [op for op in vault.all_ops() if op.device_id == vault.device_id and op.hlc > cut]


def pending_bundles(vault: Vault) -> list[int]:
    return sorted(int(k[len(BUNDLE_PREFIX) :]) for k in vault.meta_keys(BUNDLE_PREFIX))


def bundle_bytes(vault: Vault, seq: int) -> bytes:
    entry = vault.get_meta(f"{BUNDLE_PREFIX}{seq:08d}")
    return base64.b64decode(entry["data"])


def chunk_ops(ops: list[Any]) -> list[list[Any]]:
    """``ops`` (oldest first) in bundle-sized runs: at most MAX_OPS_PER_BUNDLE ops or
    MAX_BYTES_PER_BUNDLE bytes each, but a run of one record's ops is never cut in two
    (up to a model's fields); ``[[]]`` for no ops."""
    chunks: list[list[Any]] = [[]]
    size = 0
    run = 0  # ops of the same record in a row, at the end of the chunk
    for op in ops:
        row_size = len(orjson.dumps(op.value)) + 120
        full = len(chunks[-1]) >= MAX_OPS_PER_BUNDLE or size + row_size > MAX_BYTES_PER_BUNDLE
        run = run + 1 if chunks[-1] and chunks[-1][-1].record_id == op.record_id else 1
        # A record's fields saved together (one save: at most a model's fields) stay in
        # one bundle: the receiver checks each record as it will stand, and a new record
        # cut in two would be incomplete there.
        if chunks[-1] and full and (run == 1 or run > _MOST_FIELDS + 2):
            chunks.append([])
            size = 0
            run = 1
        chunks[-1].append(op)
        size += row_size
    return chunks


def cut(vault: Vault) -> int:
    """Cut every pending op into bundles (one atomic commit). Returns how many."""
    with sync_lock(vault):
        return _cut(vault)


def _cut(vault: Vault) -> int:
    card = team_card(vault)
    if card is None:
        raise CardError(what="not_joined")
    receiving_key(vault)  # a device made before receiving keys makes (and announces) it now
    announce = to_announce(vault)
    ops = pending_ops(vault)
    if not ops and announce is None:
        return 0
    key = device_key(vault)
    state = _state(vault)
    chunks = chunk_ops(ops)
    kv: dict[str, Any] = {}
    stamp = vault.clock.now().isoformat(timespec="seconds")
    for i, chunk in enumerate(chunks):
        data = seal(
            chunk,
            team_id=card.team_id,
            team_key=card.encryption_key(),
            device_id=vault.device_id,
            sign_key=key,
            seq=state.next_seq,
            prev=state.last_digest,
            announce=announce if i == 0 else None,
        )
        kv[f"{BUNDLE_PREFIX}{state.next_seq:08d}"] = {
            "data": base64.b64encode(data).decode(),
            "ops": len(chunk),
            "digest": digest(data),
            "cut": stamp,
            # The records it carries (ids only): what a resident leaving scope waits for.
            "records": sorted({op.record_id for op in chunk}),
        }
        cut_hlc = chunk[-1].hlc if chunk else state.cut_hlc
        state = OutboxState(state.next_seq + 1, cut_hlc, digest(data))
    kv[OUTBOX] = vars(state)
    if announce is not None:
        kv[DEVICE_RECV_ANNOUNCE] = None
    vault.commit((), kv=kv)
    return len(chunks)


def deliver(vault: Vault, transport: Transport) -> SyncResult:
    """Send pending bundles in order; each leaves the outbox only once confirmed."""
    with sync_lock(vault):
        return _deliver(vault, transport)


def _deliver(vault: Vault, transport: Transport) -> SyncResult:
    card = team_card(vault)
    if card is None:
        raise CardError(what="not_joined")
    result = SyncResult()
    status = dict(vault.get_meta(STATUS, {}))
    for seq in pending_bundles(vault):
        try:
            transport.put(
                transport.key_for(card.team_id, vault.device_id, seq), bundle_bytes(vault, seq)
            )
        except FieldappError as exc:
            result.error = exc.render("en")
            result.failure = exc
            status["last_error"] = exc.msg_id
            status["last_error_params"] = exc.params
            vault.put_meta(STATUS, status)
            break
        status.update(
            last_delivery=vault.clock.now().isoformat(timespec="seconds"),
            last_error=None,
            last_error_params={},
            delivered=int(status.get("delivered", 0)) + 1,
        )
        vault.commit((), kv={f"{BUNDLE_PREFIX}{seq:08d}": None, STATUS: status})
        result.delivered.append(seq)
    result.pending = len(pending_bundles(vault))
    if result.delivered:
        from sync import leaving  # it reads the outbox: imported when used

        # A resident leaving scope waited for these to go up; its receipt goes in the same
        # pass, not at the next one.
        if leaving.settle(vault) and cut(vault):
            more = _deliver(vault, transport)
            result.delivered += more.delivered
            result.error, result.failure, result.pending = more.error, more.failure, more.pending
    return result


def sync_to(vault: Vault, transport: Transport) -> SyncResult:
    """Cut what is pending, then deliver everything in the outbox (timestamps from the
    vault's clock)."""
    with sync_lock(vault):
        made = cut(vault)
        result = deliver(vault, transport)
    result.cut = made
    return result


def status(vault: Vault) -> SyncStatus:
    """This device's outbox status, from the vault (no pending ops before it joins a team)."""
    s = vault.get_meta(STATUS, {})
    return SyncStatus(
        pending_ops=len(pending_ops(vault)) if team_card(vault) else 0,
        pending_bundles=len(pending_bundles(vault)),
        last_delivery=s.get("last_delivery"),
        last_error=s.get("last_error"),
        delivered=int(s.get("delivered", 0)),
    )


__all__ = ["SyncResult", "SyncStatus", "TransportError", "cut", "deliver", "status", "sync_to"]
