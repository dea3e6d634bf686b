"""The aggregates flow between levels (DESIGN §3.8): an office enrolled at the level
above for ``aggregates`` sends counts only (``sync.aggregates``: the tables, their
suppression and the signed, sealed format), never its records.

Lower side: ``cut`` seals one period's tables, in the office's chain of aggregate
bundles (``counts/state``: seq and previous hash, a chain of its own beside its level
bundles'), stored with that state in ONE commit; ``deliver`` puts each on a transport
under ``aggregates/<team>/<device>/<seq>.fbundle`` and it leaves the outbox only once
confirmed.

Upper side: ``receive`` opens one (only from a device enrolled with the ``aggregates``
flow, not revoked), and keeps its tables under ``counts/tables/<device>/<period>``
with the chain's new state in one commit; a period sent again replaces the tables kept
for it. Duplicates are no-ops, a gap leaves the bundle where it is (read again next
time), anything refused is quarantined by the merge's quarantine (bounded). What is
kept holds no name: the schema refuses any text but enum values and community labels
checked by pattern.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from fieldapp.errors import BundleError, CardError, DuplicateBundle, SequenceGap
from fieldapp.store import Vault
from sync import aggregates, levels
from sync.bundle import Chain, digest
from sync.levels import UpwardResult, upper_card
from sync.locking import sync_lock
from sync.team import AGGREGATES, device_key, devices, team_secrets
from sync.transports.base import SUFFIX, Transport

if TYPE_CHECKING:
    from sync.merge import Merger, Outcome

COUNTS_STATE = "counts/state"  # {"seq": last cut, "digest": its hash}
COUNTS_BUNDLE = "counts/bundle/"  # + seq (8 digits): waiting for delivery
COUNTS_CHAIN = "counts/chain/"  # + device: the receiver's view of its aggregate chain
COUNTS_TABLES = "counts/tables/"  # + device/period: the tables received
PREFIX = "aggregates/"
KEY = re.compile(r"(?:^|/)aggregates/[A-Za-z0-9_-]{1,64}/([A-Za-z0-9]{1,64})/([0-9]{8})\.fbundle$")


def key_for(team_id: str, device_id: str, seq: int) -> str:
    """Where an aggregate bundle travels (beside op bundles, never mistaken for one)."""
    return f"{PREFIX}{team_id}/{device_id}/{seq:08d}{SUFFIX}"


def hub_key_for(team_id: str, device_id: str, seq: int) -> str:
    """Where it goes on the level above's hub: under this device's inbox there (the only
    place its credentials may write), the same name after it (:data:`KEY` finds it)."""
    return f"inbox/{device_id}/{key_for(team_id, device_id, seq)}"


# ------------------------------------------------------------------ lower side


def cut(vault: Vault, period_start: dt.date, period_end: dt.date) -> int:
    """Seal this office's tables of one period for the level above (one commit with the
    chain's state); returns the sequence number. ``CardError`` (``not_joined``) before
    it joins a level above."""
    with sync_lock(vault):
        card = upper_card(vault)
        if card is None:
            raise CardError(what="not_joined")
        tables = aggregates.compute(vault, period_start, period_end, today=vault.clock.today())
        state = vault.get_meta(COUNTS_STATE, {"seq": 0, "digest": ""})
        seq = int(state["seq"]) + 1
        data = aggregates.seal_aggregates(
            tables,
            team_pub=card.encryption_key(),
            device_key=device_key(vault),
            device_id=vault.device_id,
            team_id=card.team_id,
            seq=seq,
            prev=str(state["digest"]),
        )
        made = digest(data)
        vault.commit(
            (),
            kv={
                f"{COUNTS_BUNDLE}{seq:08d}": {"data": base64.b64encode(data).decode()},
                COUNTS_STATE: {"seq": seq, "digest": made},
            },
        )
        return seq


def pending(vault: Vault) -> list[int]:
    """The aggregate bundles waiting for delivery."""
    return levels.pending(vault, COUNTS_BUNDLE)


def deliver(vault: Vault, transport: Transport, *, hub: bool = False) -> UpwardResult:
    """Put every waiting aggregate bundle on ``transport`` (a stick or folder; with
    ``hub``, the level above's hub), in order; each leaves the outbox only once the
    transport confirmed it."""
    return levels.deliver_waiting(vault, transport, COUNTS_BUNDLE, hub_key_for if hub else key_for)


# ------------------------------------------------------------------ upper side


def chain_of(vault: Vault, device: str) -> Chain:
    """Where ``device``'s chain of aggregate bundles stands here."""
    state = vault.get_meta(COUNTS_CHAIN + device)
    if not state:
        return Chain()
    return Chain(state["seq"], state["digest"], {int(k): v for k, v in state["seen"].items()})


def receive(merger: Merger, data: bytes, source: str = "") -> Outcome:
    """Open one aggregate bundle into the merger's vault (see the module docstring)."""
    from sync.merge import Outcome

    vault = merger.vault
    secrets = team_secrets(vault)
    if secrets is None:
        raise CardError(what="no_team")
    senders = {
        d.device_id: Ed25519PublicKey.from_public_bytes(d.sign_pub)
        for d in devices(vault)
        if d.flow == AGGREGATES and d.revoked is None
    }
    with sync_lock(vault):
        try:
            opened = aggregates.open_aggregates(
                data,
                team_priv=secrets.enc_key,
                enrolled=senders,
                team_id=secrets.team_id,
                chain=lambda d: chain_of(vault, d),
            )
        except DuplicateBundle as exc:
            return Outcome("duplicate", exc.params["device"], exc.params["seq"], source=source)
        except SequenceGap as exc:  # left where it is: read again once the gap is filled
            device, seq = exc.params["device"], exc.params["seq"]
            return Outcome("held", device, seq, reason=exc, source=source, kept=False)
        except BundleError as exc:
            return merger.refuse(data, exc, source, len(data))
        header = opened.header
        chain = chain_of(vault, header.device)
        seen = {str(k): v for k, v in chain.seen.items()}
        seen[str(header.seq)] = opened.digest
        kv: dict[str, Any] = {
            COUNTS_CHAIN + header.device: {
                "seq": header.seq,
                "digest": opened.digest,
                "seen": seen,
            },
            f"{COUNTS_TABLES}{header.device}/{header.period}": {
                "received": vault.clock.now().isoformat(timespec="seconds"),
                "seq": header.seq,
                "tables": aggregates.payload(opened.tables),
            },
        }
        vault.commit((), kv=kv)
        return Outcome("applied", header.device, header.seq, source=source)


def received(vault: Vault) -> dict[str, dict[str, Any]]:
    """Device → period → what was kept of its tables (the latest received per period)."""
    out: dict[str, dict[str, Any]] = {}
    for key in vault.meta_keys(COUNTS_TABLES):
        device, _, period = key[len(COUNTS_TABLES) :].partition("/")
        out.setdefault(device, {})[period] = vault.get_meta(key)
    return out
