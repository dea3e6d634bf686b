"""Levels (DESIGN §3.8): a street team joins a district team the way a worker joins a
street, and a district a city.

The lower supervisor's vault imports the upper team's card under its own key
(``upper/card``: ``team/card`` is a worker's) and hands its device card — the same
device and receiving keys it signs its downward bundles with — to the upper supervisor,
who enrols it with a flow (``fieldapp team enrol CODE --flow records|aggregates``).

Records upward (this module): the lower supervisor forwards the ops of its team — those
written by the devices on its roster and by itself, with their original ids, authors and
clocks — in level bundles (``sync.bundle`` version 3) sealed to the upper team and signed
by its device; the roster (device → name and role) travels signed and sealed with them.
Ops it received from above (written by the upper supervisors) are not sent back up, nor
the notes between this office and the offices below it (``office_note``): only its own
answers to the notes written to it.

- The roster is every device enrolled in the lower team (revoked ones too: their ops
  from before still go up) and, for a district forwarding to a city, the rosters its own
  lower offices sent: every author whose ops it may forward.
- ``up/state`` keeps the position in the vault's op log forwarded to and the chain (seq,
  previous hash); it is stored in the same commit as the bundles it made (``up/bundle/``),
  so a crash leaves the old state and no bundles, or the new state and all of them. A
  bundle leaves the outbox only once the transport confirmed it (``deliver``).

Upper side (``check_level``, called by the merge on every upward bundle): a level bundle
only from a device enrolled with the ``records`` flow; no records at all from one
enrolled for ``aggregates``; a roster may not claim a device enrolled at the upper team
itself, the upper vault's own device, or a device on another office's roster. Each
refusal quarantines the whole bundle. The roster of the last bundle applied is kept
(``levels/roster/<device>``, in the same commit as its ops). An op that reaches the upper
team by two routes (forwarded twice, or re-sent) is applied once: ops are deduplicated
by id, and the fold is the same everywhere.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from fieldapp.domain.enums import RecordKind
from fieldapp.domain.ops import Op
from fieldapp.errors import CardError, FieldappError, LevelRefused, TeamCardChanged
from fieldapp.store import Vault
from sync.bundle import MAX_OPS, MAX_RAW, MAX_ROSTER, Enrolled, Opened, digest, seal
from sync.cards import TeamCard, read_team_card
from sync.locking import sync_lock
from sync.outbox import MAX_BYTES_PER_BUNDLE, MAX_OPS_PER_BUNDLE
from sync.team import (
    AGGREGATES,
    FLOWS,
    RECORDS,
    TEAM_DEVICES,
    device_key,
    devices,
    my_device_code,
    receiving_key,
    team_secrets,
)
from sync.transports.base import Transport

if TYPE_CHECKING:
    from sync.merge import Receiver, Summary

UPPER_CARD = "upper/card"  # the upper team's card, on a lower supervisor's vault
UPPER_FLOW = "upper/flow"  # what this office sends up: records (the default) or aggregates
UP_STATE = "up/state"  # {"pos": log position forwarded to, "seq": last cut, "digest": its hash}
UP_BUNDLE = "up/bundle/"  # + seq (8 digits): a level bundle waiting for delivery
OFFICE_NOTE = RecordKind.OFFICE_NOTE.value
ROSTER = "levels/roster/"  # + lower device: the roster of its last bundle applied here
# Past these a run is cut even inside a record (a bundle may never exceed MAX_OPS/MAX_RAW).
HARD_OPS = MAX_OPS // 2
HARD_BYTES = MAX_RAW // 2


@dataclass
class UpwardResult:
    """What one forward did: bundles cut, the sequence numbers delivered, the bundles still
    waiting and, when delivery stopped, why."""

    cut: int = 0
    delivered: list[int] = field(default_factory=list)
    pending: int = 0
    failure: FieldappError | None = None


# ------------------------------------------------------------------ lower side


def upper_card(vault: Vault) -> TeamCard | None:
    """The card of the team this office reports to, or ``None`` before it joins one."""
    code = vault.get_meta(UPPER_CARD)
    return read_team_card(code) if code else None


def join_upper(
    vault: Vault,
    team_code: str,
    name: str,
    *,
    flow: str = RECORDS,
    accept_change: bool = False,
) -> tuple[TeamCard, str]:
    """Join the level above with its team card: returns the card and this office's device
    card code for the upper supervisor to enrol (with a flow). ``CardError`` unless this
    vault holds a team (``no_team``), for this office's own card (``upper_is_own``) or a
    card of another team than the one joined (``other_team``); a card of the same team
    with another fingerprint raises ``TeamCardChanged`` unless ``accept_change``. ``flow``
    is what this office sends up (``records`` or ``aggregates``: the upper supervisor
    enrols it the same way); kept as ``upper/flow``."""
    if flow not in FLOWS:
        raise CardError(what="flow")
    own = team_secrets(vault)
    if own is None:
        raise CardError(what="no_team")
    card = read_team_card(team_code)
    if card.team_id == own.team_id:
        raise CardError(what="upper_is_own")
    current = upper_card(vault)
    if current is not None and current.team_id != card.team_id:
        raise CardError(what="other_team")
    if current is not None and current.fingerprint != card.fingerprint and not accept_change:
        raise TeamCardChanged(old=current.fingerprint, new=card.fingerprint)
    receiving_key(vault)  # what the upper team seals its feedback to: on the card below
    vault.commit((), kv={UPPER_CARD: "".join(team_code.split()), UPPER_FLOW: flow})
    code = my_device_code(vault, name, card)
    assert code is not None
    return card, code


def upper_flow(vault: Vault) -> str:
    """What this office sends to the level above: ``records`` or ``aggregates``."""
    return str(vault.get_meta(UPPER_FLOW) or RECORDS)


def roster(vault: Vault) -> dict[str, dict[str, str]]:
    """Device → ``{"name", "role"}`` of every author this office forwards besides itself:
    its enrolled devices (``worker``, or ``supervisor`` for a lower office) and the devices
    on its lower offices' rosters."""
    out: dict[str, dict[str, str]] = {}
    for key in vault.meta_keys(ROSTER):
        for device, entry in (vault.get_meta(key) or {}).items():
            out[device] = {"name": str(entry["name"]), "role": str(entry["role"])}
    for entry in devices(vault):
        role = "supervisor" if entry.flow else "worker"
        out[entry.device_id] = {"name": (entry.name or entry.device_id)[:100], "role": role}
    out.pop(vault.device_id, None)
    return out


def cut(vault: Vault) -> int:
    """Cut what this office has not forwarded yet into level bundles (one atomic commit
    with the new state); returns how many. ``CardError`` (``not_joined``) before it joins
    a level above."""
    with sync_lock(vault):
        card = upper_card(vault)
        if card is None:
            raise CardError(what="not_joined")
        if upper_flow(vault) != RECORDS:
            raise CardError(what="counts_only")  # this office sends counts only
        state = vault.get_meta(UP_STATE, {"pos": 0, "seq": 0, "digest": ""})
        log, end = vault.ops_since(int(state["pos"]))
        names = roster(vault)
        if len(names) > MAX_ROSTER:  # the level above would refuse every bundle: say so
            raise CardError(what="roster_too_large")
        mine = {vault.device_id, *names}
        unique = {op.op_id: op for op in log if op.device_id in mine and not _lower_note(vault, op)}
        ordered = sorted(unique.values(), key=lambda op: (op.hlc, op.device_id))
        seq, prev = int(state["seq"]), str(state["digest"])
        kv: dict[str, Any] = {}
        if ordered:
            key = device_key(vault)
            stamp = vault.clock.now().isoformat(timespec="seconds")
            for chunk in chunks(ordered):
                seq += 1
                data = seal(
                    chunk,
                    team_id=card.team_id,
                    team_key=card.encryption_key(),
                    device_id=vault.device_id,
                    sign_key=key,
                    seq=seq,
                    prev=prev,
                    roster=names,
                )
                prev = digest(data)
                kv[f"{UP_BUNDLE}{seq:08d}"] = {
                    "data": base64.b64encode(data).decode(),
                    "ops": len(chunk),
                    "digest": prev,
                    "cut": stamp,
                }
        made = seq - int(state["seq"])
        if made or end != int(state["pos"]):
            kv[UP_STATE] = {"pos": end, "seq": seq, "digest": prev}
            vault.commit((), kv=kv)
        return made


def _lower_note(vault: Vault, op: Op) -> bool:
    """Whether ``op`` is part of a note between this office and an office below it (an
    ``office_note`` not written to this office): the business of those two levels, never
    forwarded — the level above answers for none of it, and would refuse it. The
    office's own answers to the notes from above go up."""
    if op.kind != OFFICE_NOTE:
        return False
    return (vault.fields_of(op.record_id) or {}).get("office") != vault.device_id


def chunks(ops: list[Op]) -> list[list[Op]]:
    """``ops`` in ``(hlc, author)`` order, in bundle-sized runs (``sync.outbox``'s sizes)
    that never end inside one author's run of ops on one record — what one save wrote:
    the upper team checks each record as it will stand after each bundle (required
    fields, cross-field rules such as a resolved need's note), so a save cut in two would
    be held, or refused. Several authors' ops interleave in this order, so
    ``chunk_ops``'s runs do not do. A run goes past the usual size until every save it
    began is whole; only at the hard limit of a bundle is it cut regardless (the
    receiver's settling then applies the two together)."""
    # continues[i]: the same author's next op is on the same record (the save goes on).
    continues = [False] * len(ops)
    last: dict[str, int] = {}  # author → index of their latest op so far
    for i, op in enumerate(ops):
        before = last.get(op.device_id)
        if before is not None and ops[before].record_id == op.record_id:
            continues[before] = True
        last[op.device_id] = i
    out: list[list[Op]] = [[]]
    size = 0
    open_saves: set[str] = set()  # authors whose save is not whole in this run yet
    for i, op in enumerate(ops):
        row = len(orjson.dumps(op.value)) + 120
        full = len(out[-1]) >= MAX_OPS_PER_BUNDLE or size + row > MAX_BYTES_PER_BUNDLE
        hard = len(out[-1]) >= HARD_OPS or size + row > HARD_BYTES
        if out[-1] and ((full and not open_saves) or hard):
            out.append([])
            size = 0
            open_saves.clear()
        out[-1].append(op)
        size += row
        if continues[i]:
            open_saves.add(op.device_id)
        else:
            open_saves.discard(op.device_id)
    return out


def pending(vault: Vault, outbox: str = UP_BUNDLE) -> list[int]:
    """The bundles waiting in ``outbox`` (the level bundles by default), by sequence."""
    return sorted(int(k[len(outbox) :]) for k in vault.meta_keys(outbox))


def deliver(vault: Vault, transport: Transport) -> UpwardResult:
    """Send the waiting level bundles in order, where the upper team's merge reads its
    devices' bundles (a stick, a folder, the hub); each leaves the outbox only once the
    transport confirmed it."""
    return deliver_waiting(vault, transport, UP_BUNDLE, transport.key_for)


def deliver_waiting(
    vault: Vault, transport: Transport, outbox: str, key_for: Callable[[str, str, int], str]
) -> UpwardResult:
    """Put every bundle waiting in ``outbox`` on ``transport`` under ``key_for(team,
    device, seq)``, in order; each leaves the outbox only once confirmed. What stops the
    pass (a transport error) is in the result; nothing is lost."""
    result = UpwardResult()
    with sync_lock(vault):
        card = upper_card(vault)
        if card is None:
            raise CardError(what="not_joined")
        for seq in pending(vault, outbox):
            key = f"{outbox}{seq:08d}"
            data = base64.b64decode(vault.get_meta(key)["data"])
            try:
                transport.put(key_for(card.team_id, vault.device_id, seq), data)
            except FieldappError as exc:
                result.failure = exc
                break
            vault.commit((), kv={key: None})
            result.delivered.append(seq)
        result.pending = len(pending(vault, outbox))
    return result


def forward(vault: Vault, transport: Transport) -> UpwardResult:
    """Cut what is new, then deliver everything waiting."""
    with sync_lock(vault):
        made = cut(vault)
        result = deliver(vault, transport)
    result.cut = made
    return result


def upper_receiver(vault: Vault) -> Receiver:
    """This office as the recipient of the level above's downward bundles (feedback,
    assignments, notes: DESIGN §3.8, the machinery of §3.7): the upper team, this device's
    receiving key, the supervisor devices the upper card names."""
    from sync.merge import Receiver

    card = upper_card(vault)
    if card is None:
        raise CardError(what="not_joined")
    senders = {did: Enrolled(dev.sign_pub, dev.revoked) for did, dev in card.supervisors.items()}
    return Receiver(card.team_id, receiving_key(vault), senders, vault.device_id)


def upper_transport(vault: Vault, **options: Any) -> Transport:
    """This office's way to the level above's hub: the address on the upper card, this
    device's hub credentials (sealed in the device card the upper supervisor enrolled,
    so the hub lets it write its own inbox and read its own outbox only)."""
    from sync.hubsync import worker_transport

    card = upper_card(vault)
    if card is None:
        raise CardError(what="not_joined")
    options.setdefault("sleep", vault.clock.sleep)
    return worker_transport(vault, card, **options)


def fetch(vault: Vault, transport: Transport, prefix: str) -> Summary:
    """Open what the level above left for this office on ``transport`` (under
    ``<prefix><this device>/``). Its own scope cut then carries it on to the workers who
    hold those residents; no resident leaves this office by what comes from above."""
    from sync import downward

    return downward.fetch(vault, transport, prefix, receiver=upper_receiver(vault))


# ------------------------------------------------------------------ upper side


def check_level(vault: Vault, opened: Opened) -> None:
    """What the upper team takes from an enrolled device (see the module docstring):
    :class:`LevelRefused` for the whole bundle otherwise."""
    enrolled: Mapping[str, Any] = vault.get_meta(TEAM_DEVICES, {})
    device = opened.header.device
    flow = (enrolled.get(device) or {}).get("flow", "")
    refusal: LevelRefused | None = None
    if flow == AGGREGATES:
        refusal = LevelRefused("bundle.aggregates_only", device=device)
    elif opened.roster is not None and flow != RECORDS:
        refusal = LevelRefused("bundle.not_a_level", device=device)
    elif opened.roster is not None:
        refusal = _roster_refusal(vault, device, opened.roster, enrolled)
    if refusal is not None:
        refusal.authentic = True  # raised on an opened (signed) bundle
        raise refusal


def _roster_refusal(
    vault: Vault, device: str, claims: Mapping[str, Any], enrolled: Mapping[str, Any]
) -> LevelRefused | None:
    others = {
        key[len(ROSTER) :]: set(vault.get_meta(key) or {})
        for key in vault.meta_keys(ROSTER)
        if key[len(ROSTER) :] != device
    }
    secrets = team_secrets(vault)
    supervisors = set(secrets.supervisors) if secrets is not None else set()
    for claimed in sorted(claims):
        if claimed == vault.device_id or claimed in enrolled or claimed in supervisors:
            return LevelRefused("bundle.roster_enrolled", device=device, claimed=claimed)
        for other, theirs in sorted(others.items()):
            if claimed in theirs:
                name = (enrolled.get(other) or {}).get("name") or other
                return LevelRefused(
                    "bundle.roster_other", device=device, claimed=claimed, other=name
                )
    return None


def roster_kv(opened: Opened) -> dict[str, Any]:
    """What the commit applying a level bundle keeps of it: its roster."""
    if opened.roster is None:
        return {}
    return {ROSTER + opened.header.device: {d: dict(e) for d, e in opened.roster.items()}}


def level_names(vault: Vault) -> dict[str, str]:
    """Device → name of every author on the rosters the lower offices sent (for history)."""
    out: dict[str, str] = {}
    for key in vault.meta_keys(ROSTER):
        for device, entry in (vault.get_meta(key) or {}).items():
            out[device] = str(entry.get("name") or device)
    return out
