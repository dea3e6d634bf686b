"""Downward bundles (DESIGN §3.7): from a supervisor device to one worker's device.

The same format as upward bundles (version 2: the recipient in ``to``, each row with its
author, docs/bundle-format.md) and the same opening pipeline (``sync.bundle.open_bundle``
through ``sync.merge.Merger``); only the keys differ:

- sealed (HPKE) to the recipient's receiving key, not to the team;
- signed by the sending supervisor device's own key (``sync.team.supervisor_device``),
  which the team card names — a worker takes downward bundles only from the supervisor
  devices on its team's card, not revoked there;
- numbered in a chain per (sender, recipient): ``seq`` 1, 2, 3 … and the previous
  bundle's hash, as upward.

Supervisor side, an outbox per recipient (``sync.outbox``'s rules): ``cut_for`` seals
the ops given (any authors, with their original ids, authors and clocks, so applying
them twice changes nothing) and stores the bundles and the chain's new state in ONE
vault commit; a bundle is immutable once cut and leaves the outbox only when its
delivery is confirmed (``confirm``).

Worker side, ``receive``: verify the sender and the signature, check the recipient is
this device, the sequence and previous hash (a duplicate is a no-op, a gap is held, a
replay under a number already used is the alarm), decrypt with this device's receiving
key, validate every op as the supervisor's merge does, and apply all of them with the
chain's high-water mark in one commit. Every refusal is quarantined whole (within the
quota) with its translated reason, and nothing from the bundle is applied. After each
pass, residents an applied assignment took away from this device are marked leaving and
purged once delivered (``sync.leaving``).

Transports (``deliver``, ``fetch``): a downward bundle travels under
``<prefix><recipient>/<sender>/<seq, 8 digits>.fbundle`` — ``outbox/`` on the hub
(written by the supervisor, readable and listable only by that device: the hub's
identities), ``to/`` on a stick.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from fieldapp.domain.ops import Op
from fieldapp.errors import BundleTooLarge, CardError, FieldappError, NotAFile, TransportError
from fieldapp.store import Vault
from sync import leaving
from sync.bundle import MAX_BUNDLE, digest, seal
from sync.cards import unb64
from sync.locking import sync_lock
from sync.merge import Merger, Outcome, Receiver, Summary, chain_of
from sync.outbox import chunk_ops
from sync.team import (
    TEAM_DEVICES,
    receiving_key,
    supervisor_device,
    supervisor_keys,
    team_card,
    team_secrets,
)
from sync.transports.base import Transport

DOWN_STATE = "down/state/"  # + recipient: {"seq": last seq cut, "digest": its hash}
DOWN_BUNDLE = "down/bundle/"  # + recipient/seq (8 digits): a bundle waiting for delivery
HUB_PREFIX = "outbox/"  # on the hub: outbox/<recipient>/<sender>/<seq>.fbundle
STICK_PREFIX = "to/"  # on a stick (below its fieldapp folder): to/<recipient>/…
_KEY = re.compile(r"([A-Za-z0-9]{1,64})/([A-Za-z0-9]{1,64})/([0-9]{8})\.fbundle")


def transport_key(prefix: str, recipient: str, sender: str, seq: int) -> str:
    """Where a downward bundle travels: ``<prefix><recipient>/<sender>/<seq>.fbundle``."""
    return f"{prefix}{recipient}/{sender}/{seq:08d}.fbundle"


# ------------------------------------------------------------------ supervisor


def recipient_key(vault: Vault, recipient: str) -> X25519PublicKey:
    """The receiving key of an enrolled, not revoked device; ``CardError`` when it is not
    one (``unknown_device``, ``device_conflict`` when revoked) or has not announced its key
    yet (``no_receiving_key``: a device enrolled with a v1 card, before its next sync)."""
    entry = vault.get_meta(TEAM_DEVICES, {}).get(recipient)
    if entry is None:
        raise CardError(what="unknown_device")
    if entry["revoked"]:
        raise CardError(what="device_conflict")
    if not entry.get("recv_pub"):
        raise CardError(what="no_receiving_key")
    return X25519PublicKey.from_public_bytes(unb64(entry["recv_pub"]))


def cut_for(
    vault: Vault, recipient: str, ops: Iterable[Op], kv: dict[str, Any] | None = None
) -> int:
    """Seal ``ops`` to ``recipient`` in bundles of this supervisor device's chain to it
    (one atomic commit: the bundles, the chain's state and ``kv``, what the caller keeps
    with them); returns how many were cut. The ops keep their ids, authors and clocks;
    duplicates among them are dropped. No ops: nothing is cut and ``kv`` not stored."""
    with sync_lock(vault):
        team = team_secrets(vault)
        if team is None:
            raise CardError(what="no_team")
        key = supervisor_device(vault)
        recv = recipient_key(vault, recipient)
        unique = {op.op_id: op for op in ops}
        ordered = sorted(unique.values(), key=lambda op: (op.hlc, op.device_id))
        if not ordered:
            return 0
        state = vault.get_meta(DOWN_STATE + recipient, {"seq": 0, "digest": ""})
        seq, prev = int(state["seq"]), str(state["digest"])
        stamp = vault.clock.now().isoformat(timespec="seconds")
        kv = dict(kv or {})
        chunks = chunk_ops(ordered)
        for chunk in chunks:
            seq += 1
            data = seal(
                chunk,
                team_id=team.team_id,
                team_key=recv,
                device_id=vault.device_id,
                sign_key=key,
                seq=seq,
                prev=prev,
                to=recipient,
            )
            prev = digest(data)
            kv[f"{DOWN_BUNDLE}{recipient}/{seq:08d}"] = {
                "data": base64.b64encode(data).decode(),
                "ops": len(chunk),
                "digest": prev,
                "cut": stamp,
            }
        kv[DOWN_STATE + recipient] = {"seq": seq, "digest": prev}
        vault.commit((), kv=kv)
        return len(chunks)


def pending_for(vault: Vault, recipient: str) -> list[int]:
    """The sequence numbers of the bundles waiting for delivery to ``recipient``."""
    prefix = f"{DOWN_BUNDLE}{recipient}/"
    return sorted(int(k[len(prefix) :]) for k in vault.meta_keys(prefix))


def recipients(vault: Vault) -> list[str]:
    """The devices with downward bundles waiting for delivery."""
    return sorted({k[len(DOWN_BUNDLE) :].split("/")[0] for k in vault.meta_keys(DOWN_BUNDLE)})


def bundle_for(vault: Vault, recipient: str, seq: int) -> bytes:
    """The bytes of bundle ``seq`` to ``recipient``, as cut (``KeyError`` once delivered)."""
    entry = vault.get_meta(f"{DOWN_BUNDLE}{recipient}/{seq:08d}")
    if entry is None:
        raise KeyError(seq)
    return base64.b64decode(entry["data"])


def confirm(vault: Vault, recipient: str, seq: int) -> None:
    """The transport confirmed bundle ``seq`` to ``recipient`` (durable, read back): it
    leaves the outbox."""
    with sync_lock(vault):
        key = f"{DOWN_BUNDLE}{recipient}/{seq:08d}"
        if vault.get_meta(key) is not None:
            vault.put_meta(key, None)


# ------------------------------------------------------------------ worker


def worker_receiver(vault: Vault) -> Receiver:
    """This device as the recipient of downward bundles: its team, its receiving key, the
    supervisor devices its team card names; ``CardError`` before it joins a team."""
    card = team_card(vault)
    if card is None:
        raise CardError(what="not_joined")
    return Receiver(card.team_id, receiving_key(vault), supervisor_keys(vault), vault.device_id)


def receive(vault: Vault, data: bytes, source: str = "") -> list[Outcome]:
    """Open one downward bundle into this worker's vault; what happened to it (and to
    held bundles it released). Nothing from a refused bundle is applied."""
    merger = Merger(vault, worker_receiver(vault))
    outcomes = merger.receive(data, source)
    outcomes += merger.settle()
    leaving.settle(vault)
    return outcomes


def receive_all(vault: Vault, bundles: Iterable[tuple[bytes, str]]) -> Summary:
    """Open downward bundles (bytes, where they came from) in one pass, then settle those
    that wait on each other."""
    merger = Merger(vault, worker_receiver(vault))
    summary = Summary()
    for data, source in bundles:
        summary.outcomes += merger.receive(data, source)
    summary.outcomes += merger.settle()
    leaving.settle(vault)  # residents an assignment took away: purged once delivered
    return summary


# ------------------------------------------------------------------ transports


@dataclass
class Delivery:
    """What one delivery pass did: (recipient, seq) delivered, bundles still waiting, and
    what stopped it, when something did (the rest stay in the outbox)."""

    delivered: list[tuple[str, int]] = field(default_factory=list)
    pending: int = 0
    failure: FieldappError | None = None


def deliver(vault: Vault, transport: Transport, prefix: str) -> Delivery:
    """Put every waiting downward bundle on ``transport`` (create-only: it returns once
    the bytes are durable and read back), in order per recipient; each leaves the outbox
    only then. A transport error stops the pass; nothing is lost."""
    result = Delivery()
    with sync_lock(vault):
        for recipient in recipients(vault):
            for seq in pending_for(vault, recipient):
                key = transport_key(prefix, recipient, vault.device_id, seq)
                try:
                    transport.put(key, bundle_for(vault, recipient, seq))
                except FieldappError as exc:
                    result.failure = exc
                    break
                confirm(vault, recipient, seq)
                result.delivered.append((recipient, seq))
            if result.failure is not None:
                break
        result.pending = sum(len(pending_for(vault, r)) for r in recipients(vault))
    return result


def fetch(
    vault: Vault, transport: Transport, prefix: str, receiver: Receiver | None = None
) -> Summary:
    """Take what ``transport`` holds for this device (under ``<prefix><this device>/``)
    and open it (``receive_all``), oldest first per sender. A bundle below a sender's
    high-water mark is not fetched again; an entry that is not a regular file or is
    larger than a bundle may be is refused on its own (one bad entry never stops the
    others). ``receiver``: who opens them, when not this worker's device for its team (a
    lower office taking the level above's feedback: no resident leaves it by that)."""
    merger = Merger(vault, receiver or worker_receiver(vault))
    summary = Summary()
    mine = f"{prefix}{vault.device_id}/"
    wanted: list[tuple[tuple[str, int], Any]] = []
    for entry in transport.scan(mine):
        match = _KEY.fullmatch(entry.key[len(prefix) :])
        if match is None or match.group(1) != vault.device_id:
            continue  # not a downward bundle's name: nothing sent it
        sender, seq = match.group(2), int(match.group(3))
        if seq <= chain_of(vault, sender).last_seq:
            continue  # applied already (the hub keeps what the supervisor put)
        wanted.append(((sender, seq), entry))
    wanted.sort(key=lambda item: item[0])
    for _, entry in wanted:
        source = transport.where(entry.key)
        if entry.problem is not None:
            summary.outcomes.append(merger.refuse(b"", NotAFile(what=entry.problem), source, 0))
            continue
        if entry.size > MAX_BUNDLE:
            refusal = BundleTooLarge(limit=MAX_BUNDLE, size=entry.size)
            summary.outcomes.append(merger.refuse(b"", refusal, source, entry.size))
            continue
        try:
            data = transport.get(entry.key, limit=MAX_BUNDLE)
        except TransportError as exc:
            refused = NotAFile(what="unreadable", reason=exc.params.get("reason", ""))
            summary.outcomes.append(merger.refuse(b"", refused, source, 0))
            continue
        summary.outcomes += merger.receive(data, source)
    summary.outcomes += merger.settle()
    if receiver is None:
        leaving.settle(vault)  # residents an assignment took away: purged once delivered
    return summary
