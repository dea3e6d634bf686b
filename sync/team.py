"""Enrolment (DESIGN §3.6, §3.7): the supervisor's team keys and device list, the
worker's device keys and imported team card — all kept in the vault (encrypted), never
in a plaintext file.

A device has two keys: a signing key (Ed25519, its bundles and card) and a receiving
key (X25519, what downward bundles are sealed to). A device made before receiving keys
existed (enrolled with a v1 card) makes its receiving key the first time it is needed
and announces it in the signed header of its next upward bundle; the supervisor's merge
records it on the enrolment (``announced_kv``) — its signature is the enrolled key's."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from fieldapp.errors import CardError, TeamCardChanged
from fieldapp.store import Vault
from sync.bundle import Enrolled
from sync.cards import (
    DeviceCard,
    SupervisorDevice,
    TeamCard,
    TeamSecrets,
    b64,
    device_code,
    device_key_from_json,
    device_key_to_json,
    open_hub_credentials,
    raw_public,
    read_device_card,
    read_team_card,
    recv_key_from_json,
    recv_key_to_json,
    seal_hub_credentials,
    unb64,
    valid_key,
)

TEAM_SECRETS = "team/secrets"
TEAM_DEVICES = "team/devices"
TEAM_CARD = "team/card"
DEVICE_KEY = "device/key"
DEVICE_RECV = "device/recv"  # this device's receiving key (X25519, private)
# Set while the receiving key is still to be announced upward (made after the device
# joined, so the card it was enrolled with may not carry it); cleared by the cut of
# the bundle that announces it.
DEVICE_RECV_ANNOUNCE = "device/recv-announce"
DEVICE_HUB = "device/hub"  # this device's hub credentials (worker)
HUB_ADMIN = "hub/admin"  # the supervisor's own hub credentials
HUB_LOCAL = "hub/local"  # where the supervisor reaches a hub it runs itself
# What an enrolled device sends up (DESIGN §3.8): a worker's device its own records (no
# flow); a lower team's supervisor device its team's records, or counts only.
RECORDS = "records"
AGGREGATES = "aggregates"
FLOWS = frozenset({RECORDS, AGGREGATES})


@dataclass(frozen=True)
class DeviceEntry:
    """A device on the supervisor's list: id, name, signing key, the date it was enrolled,
    the date it was revoked (``None`` while it may send), its receiving key (``None``
    until a v2 card or an announcement brought it) and its flow: ``""`` for a worker's
    device, else a lower team's supervisor device sending ``records`` or ``aggregates``."""

    device_id: str
    name: str
    sign_pub: bytes
    enrolled: str
    revoked: str | None
    recv_pub: bytes | None = None
    flow: str = ""

    def enrolled_key(self) -> Enrolled:
        """What a merge checks this device's bundles against: its key and whether revoked."""
        return Enrolled(self.sign_pub, self.revoked is not None)


# ------------------------------------------------------------------ supervisor


def create_team(vault: Vault, name: str, hub: dict[str, str] | None = None) -> TeamSecrets:
    """Make this vault the supervisor's of a new team, with fresh keys and no devices yet;
    ``CardError`` when it already holds a team."""
    if vault.get_meta(TEAM_SECRETS) is not None:
        raise CardError(what="team_exists")
    team = TeamSecrets.generate(secrets.token_hex(8), name, hub)
    team.supervisors[vault.device_id] = SupervisorDevice(raw_public(device_key(vault).public_key()))
    vault.commit((), kv={TEAM_SECRETS: team.to_json(), TEAM_DEVICES: {}, "role": "supervisor"})
    return team


def team_secrets(vault: Vault) -> TeamSecrets | None:
    """The team's private keys when this is the supervisor's vault, else ``None``."""
    data = vault.get_meta(TEAM_SECRETS)
    return TeamSecrets.from_json(data) if data else None


def supervisor_device(vault: Vault) -> Ed25519PrivateKey:
    """This supervisor's device key, which signs its downward bundles; a team made before
    downward bundles existed names the device on its card from now on (the card's
    fingerprint changes: workers import it again). ``CardError`` when this vault holds no
    team or this device was revoked as a supervisor device."""
    team = _require_team(vault)
    key = device_key(vault)
    known = team.supervisors.get(vault.device_id)
    if known is None:
        team.supervisors[vault.device_id] = SupervisorDevice(raw_public(key.public_key()))
        vault.commit((), kv={TEAM_SECRETS: team.to_json()})
    elif known.revoked or known.sign_pub != raw_public(key.public_key()):
        raise CardError(what="device_conflict")
    return key


def revoke_supervisor(vault: Vault, device_id: str) -> TeamSecrets:
    """Mark a supervisor device revoked on the team card: workers who import the new card
    refuse its downward bundles."""
    team = _require_team(vault)
    known = team.supervisors.get(device_id)
    if known is None:
        raise CardError(what="unknown_device")
    team.supervisors[device_id] = SupervisorDevice(known.sign_pub, revoked=True)
    vault.commit((), kv={TEAM_SECRETS: team.to_json()})
    return team


def _require_team(vault: Vault) -> TeamSecrets:
    team = team_secrets(vault)
    if team is None:
        raise CardError(what="no_team")
    return team


def enrol(vault: Vault, code: str, flow: str = "") -> DeviceCard:
    """Enrol a worker's device from its card (a re-enrolment of a revoked device is refused);
    with ``flow`` (``records`` or ``aggregates``), a lower team's supervisor device, which
    sends its team's records or counts only (DESIGN §3.8). Enrolling a device again sets
    its flow anew."""
    team = _require_team(vault)
    if flow and flow not in FLOWS:
        raise CardError(what="flow")
    card = read_device_card(code)
    if card.team_id != team.team_id:
        raise CardError(what="other_team")
    if card.device_id == vault.device_id:
        raise CardError(what="device_conflict")  # its ops would pass for the supervisor's
    devices: dict[str, Any] = dict(vault.get_meta(TEAM_DEVICES, {}))
    known = devices.get(card.device_id)
    if known is not None and (known["revoked"] or unb64(known["sign_pub"]) != card.sign_pub):
        raise CardError(what="device_conflict")
    recv = (known or {}).get("recv_pub")
    if card.recv_pub is not None:
        if recv is not None and unb64(recv) != card.recv_pub:
            raise CardError(what="device_conflict")  # one receiving key a device
        recv = b64(card.recv_pub)
    hub = None
    if card.hub_cred is not None:
        hub = open_hub_credentials(card.hub_cred, team.enc_key, card.device_id)
        admin = vault.get_meta(HUB_ADMIN) or {}
        if hub["access_key"].startswith("FASUP") or hub["access_key"] == admin.get("access_key"):
            raise CardError(what="device_conflict")  # it would pass for the supervisor
        for other, entry in devices.items():
            if (
                other != card.device_id
                and (entry.get("hub") or {}).get("access_key") == hub["access_key"]
            ):
                raise CardError(what="device_conflict")
    devices[card.device_id] = {
        "name": card.name,
        "sign_pub": b64(card.sign_pub),
        "enrolled": vault.clock.today().isoformat(),
        "revoked": None,
        "hub": hub or (known or {}).get("hub"),
        "recv_pub": recv,
    }
    if flow:
        devices[card.device_id]["flow"] = flow
    vault.commit((), kv={TEAM_DEVICES: devices})
    return card


def announced_kv(vault: Vault, device_id: str, recv_pub: bytes) -> dict[str, Any]:
    """The device list with ``recv_pub`` recorded on ``device_id``'s enrolment, for the
    commit that applies the bundle announcing it (whose signature, by the enrolled key,
    was verified); empty when there is nothing to record. A device keeps the first
    receiving key recorded: a later, different announcement changes nothing."""
    devices: dict[str, Any] = dict(vault.get_meta(TEAM_DEVICES, {}))
    entry = devices.get(device_id)
    if entry is None or entry.get("recv_pub") is not None:
        return {}
    devices[device_id] = {**entry, "recv_pub": b64(recv_pub)}
    return {TEAM_DEVICES: devices}


def revoke(vault: Vault, device_id: str) -> None:
    """Revoke an enrolled device as of today: merges refuse its new bundles and the hub
    identities leave it no rights. The device stays on the list."""
    devices: dict[str, Any] = dict(vault.get_meta(TEAM_DEVICES, {}))
    if device_id not in devices:
        raise CardError(what="unknown_device")
    devices[device_id] = {**devices[device_id], "revoked": vault.clock.today().isoformat()}
    vault.commit((), kv={TEAM_DEVICES: devices})


def devices_named(vault: Vault, who: str) -> list[DeviceEntry]:
    """The devices ``who`` names: the one with that device id, else the devices not yet
    revoked whose worker has that name (case and surrounding spaces aside) — several when
    two workers share a name, none when nobody has it."""
    entries = devices(vault)
    by_id = [e for e in entries if e.device_id == who.strip()]
    if by_id:
        return by_id
    wanted = who.strip().casefold()
    return [e for e in entries if e.revoked is None and e.name.strip().casefold() == wanted]


def set_hub(vault: Vault, hub: dict[str, str] | None) -> TeamSecrets:
    """Point the team at a hub (endpoint, bucket, region); the team card changes with it,
    so workers import the new card (``fieldapp team join`` again)."""
    team = _require_team(vault)
    team.hub = hub
    vault.commit((), kv={TEAM_SECRETS: team.to_json()})
    return team


def hub_admin(vault: Vault) -> dict[str, str]:
    """The supervisor's own hub credentials: read and list everything (created once)."""
    creds: dict[str, str] | None = vault.get_meta(HUB_ADMIN)
    if not creds:
        creds = {"access_key": "FASUP" + secrets.token_hex(8).upper(), "secret_key": _secret()}
        vault.put_meta(HUB_ADMIN, creds)
    return creds


def hub_identities(vault: Vault, bucket: str) -> dict[str, Any]:
    """SeaweedFS ``s3.json``: the supervisor reads and lists everything; each enrolled,
    not revoked device may only write and read under ``inbox/<device-id>/*`` and read
    and list under ``outbox/<device-id>/*`` (its downward bundles)."""
    admin = hub_admin(vault)
    identities: list[dict[str, Any]] = [
        {
            "name": "supervisor",
            "credentials": [{"accessKey": admin["access_key"], "secretKey": admin["secret_key"]}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }
    ]
    for entry in devices(vault):
        hub = vault.get_meta(TEAM_DEVICES, {})[entry.device_id].get("hub")
        if not hub:
            continue
        scope = f"{bucket}/inbox/{entry.device_id}/*"  # the trailing /* matters
        down = f"{bucket}/outbox/{entry.device_id}/*"  # what the supervisor sends it
        identity = {
            "name": f"device-{entry.device_id}",
            "credentials": [{"accessKey": hub["access_key"], "secretKey": hub["secret_key"]}],
            "actions": [f"Write:{scope}", f"Read:{scope}", f"Read:{down}", f"List:{down}"],
        }
        if entry.revoked:
            # A reload (SIGHUP) updates identities but never drops one, so a revoked
            # device stays listed with no rights and a secret nobody knows.
            identity["credentials"] = [
                {"accessKey": hub["access_key"], "secretKey": _secret() + _secret()}
            ]
            identity["actions"] = []
        identities.append(identity)
    return {"identities": identities}


def _secret() -> str:
    return secrets.token_hex(20)


def devices(vault: Vault) -> list[DeviceEntry]:
    """Every device enrolled in the team, revoked ones included, by device id."""
    return [
        DeviceEntry(
            did,
            d["name"],
            unb64(d["sign_pub"]),
            d["enrolled"],
            d["revoked"],
            unb64(d["recv_pub"]) if d.get("recv_pub") else None,
            d.get("flow", ""),
        )
        for did, d in sorted(vault.get_meta(TEAM_DEVICES, {}).items())
    ]


def enrolled_keys(vault: Vault) -> dict[str, Enrolled]:
    """Each enrolled device's signing key and revocation, by id: what a merge opens bundles with."""
    return {d.device_id: d.enrolled_key() for d in devices(vault)}


# ------------------------------------------------------------------ worker


def device_key(vault: Vault) -> Ed25519PrivateKey:
    """This device's signing key, created in the vault on first use."""
    stored = vault.get_meta(DEVICE_KEY)
    if stored:
        return device_key_from_json(stored)
    key = Ed25519PrivateKey.generate()
    vault.put_meta(DEVICE_KEY, device_key_to_json(key))
    return key


def receiving_key(vault: Vault) -> X25519PrivateKey:
    """This device's receiving key, created in the vault on first use (at setup for a
    new device; on the first sync or card of a device made before receiving keys, which
    then announces it upward: see ``DEVICE_RECV_ANNOUNCE``)."""
    stored = vault.get_meta(DEVICE_RECV)
    if stored:
        return recv_key_from_json(stored)
    key = X25519PrivateKey.generate()
    kv: dict[str, Any] = {DEVICE_RECV: recv_key_to_json(key)}
    if vault.get_meta(TEAM_CARD) is not None:
        kv[DEVICE_RECV_ANNOUNCE] = True  # joined already: enrolled, maybe with a v1 card
    vault.commit((), kv=kv)
    return key


def to_announce(vault: Vault) -> bytes | None:
    """This device's public receiving key while it is still to be announced, else ``None``."""
    if not vault.get_meta(DEVICE_RECV_ANNOUNCE):
        return None
    return raw_public(receiving_key(vault).public_key())


def device_hub_credentials(vault: Vault) -> dict[str, str]:
    """This device's hub credentials, created in the vault on first use. They reach the
    supervisor sealed inside the device card, never in plaintext."""
    creds: dict[str, str] | None = vault.get_meta(DEVICE_HUB)
    if not creds:
        creds = {"access_key": "FA" + vault.device_id.upper(), "secret_key": _secret()}
        vault.put_meta(DEVICE_HUB, creds)
    return creds


def set_device_hub_credentials(vault: Vault, access_key: str, secret_key: str) -> None:
    """Credentials issued by the hub's operator (AWS, Aliyun OSS: keys cannot be chosen)."""
    if not (valid_key(access_key) and valid_key(secret_key)):
        raise CardError(what="credentials")
    vault.put_meta(DEVICE_HUB, {"access_key": access_key, "secret_key": secret_key})


def card_change(vault: Vault, team_code: str) -> tuple[TeamCard, TeamCard | None]:
    """The team card in ``team_code`` and, when this device joined the same team with a card
    of another fingerprint, that earlier card (else ``None``); ``CardError`` when the code
    is not a valid card or belongs to another team than the one joined."""
    card = read_team_card(team_code)
    current = team_card(vault)
    if current is not None and current.team_id != card.team_id:
        raise CardError(what="other_team")
    changed = current is not None and current.fingerprint != card.fingerprint
    return card, current if changed else None


def join(
    vault: Vault, team_code: str, name: str, *, accept_change: bool = False
) -> tuple[TeamCard, str]:
    """Import the team card; returns it and this device's card code for the supervisor.
    A card of the same team with another fingerprint than the one joined raises
    ``TeamCardChanged`` (both fingerprints) unless ``accept_change``: the user checks it
    with the supervisor first."""
    card, previous = card_change(vault, team_code)
    if previous is not None and not accept_change:
        raise TeamCardChanged(old=previous.fingerprint, new=card.fingerprint)
    receiving_key(vault)  # before the card: the card made below carries it (nothing to announce)
    vault.commit((), kv={TEAM_CARD: "".join(team_code.split())})
    code = my_device_code(vault, name)
    assert code is not None
    return card, code


def supervisor_keys(vault: Vault) -> dict[str, Enrolled]:
    """The supervisor devices this worker takes downward bundles from, as its team card
    names them (none before it joins, or with a card made before downward bundles)."""
    card = team_card(vault)
    if card is None:
        return {}
    return {did: Enrolled(dev.sign_pub, dev.revoked) for did, dev in card.supervisors.items()}


def team_card(vault: Vault) -> TeamCard | None:
    """The team card this device joined with, or ``None`` before it joins."""
    code = vault.get_meta(TEAM_CARD)
    return read_team_card(code) if code else None


def my_device_code(vault: Vault, name: str, card: TeamCard | None = None) -> str | None:
    """This device's card code (v2: its signing and receiving keys) for the supervisor of
    ``card``'s team (default: the team this device joined) to enrol, its hub credentials
    sealed inside; ``None`` before it joins a team."""
    card = card or team_card(vault)
    if card is None:
        return None
    key = device_key(vault)
    recv = raw_public(receiving_key(vault).public_key())
    creds = device_hub_credentials(vault)
    sealed = seal_hub_credentials(
        creds["access_key"], creds["secret_key"], card.encryption_key(), vault.device_id
    )
    return device_code(
        DeviceCard(card.team_id, vault.device_id, name, raw_public(key.public_key()), sealed, recv),
        key,
    )
