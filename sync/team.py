"""Enrolment (DESIGN §3.6): the supervisor's team keys and device list, the worker's
device key and imported team card — all kept in the vault (encrypted), never in a
plaintext file."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldapp.errors import CardError
from fieldapp.store import Vault
from sync.bundle import Enrolled
from sync.cards import (
    DeviceCard,
    TeamCard,
    TeamSecrets,
    b64,
    device_code,
    device_key_from_json,
    device_key_to_json,
    raw_public,
    read_device_card,
    read_team_card,
    unb64,
)

TEAM_SECRETS = "team/secrets"
TEAM_DEVICES = "team/devices"
TEAM_CARD = "team/card"
DEVICE_KEY = "device/key"


@dataclass(frozen=True)
class DeviceEntry:
    device_id: str
    name: str
    sign_pub: bytes
    enrolled: str
    revoked: str | None

    def enrolled_key(self) -> Enrolled:
        return Enrolled(self.sign_pub, self.revoked is not None)


# ------------------------------------------------------------------ supervisor


def create_team(vault: Vault, name: str, hub: dict[str, str] | None = None) -> TeamSecrets:
    if vault.get_meta(TEAM_SECRETS) is not None:
        raise CardError(what="team_exists")
    team = TeamSecrets.generate(secrets.token_hex(8), name, hub)
    vault.commit((), kv={TEAM_SECRETS: team.to_json(), TEAM_DEVICES: {}, "role": "supervisor"})
    return team


def team_secrets(vault: Vault) -> TeamSecrets | None:
    data = vault.get_meta(TEAM_SECRETS)
    return TeamSecrets.from_json(data) if data else None


def _require_team(vault: Vault) -> TeamSecrets:
    team = team_secrets(vault)
    if team is None:
        raise CardError(what="no_team")
    return team


def enrol(vault: Vault, code: str, today: dt.date | None = None) -> DeviceCard:
    """Enrol a worker's device from its card (a re-enrolment of a revoked device is refused)."""
    team = _require_team(vault)
    card = read_device_card(code)
    if card.team_id != team.team_id:
        raise CardError(what="other_team")
    if card.device_id == vault.device_id:
        raise CardError(what="device_conflict")  # its ops would pass for the supervisor's
    devices: dict[str, Any] = dict(vault.get_meta(TEAM_DEVICES, {}))
    known = devices.get(card.device_id)
    if known is not None and (known["revoked"] or unb64(known["sign_pub"]) != card.sign_pub):
        raise CardError(what="device_conflict")
    devices[card.device_id] = {
        "name": card.name,
        "sign_pub": b64(card.sign_pub),
        "enrolled": (today or dt.date.today()).isoformat(),
        "revoked": None,
    }
    vault.commit((), kv={TEAM_DEVICES: devices})
    return card


def revoke(vault: Vault, device_id: str, today: dt.date | None = None) -> None:
    devices: dict[str, Any] = dict(vault.get_meta(TEAM_DEVICES, {}))
    if device_id not in devices:
        raise CardError(what="unknown_device")
    devices[device_id] = {**devices[device_id], "revoked": (today or dt.date.today()).isoformat()}
    vault.commit((), kv={TEAM_DEVICES: devices})


def devices(vault: Vault) -> list[DeviceEntry]:
    return [
        DeviceEntry(did, d["name"], unb64(d["sign_pub"]), d["enrolled"], d["revoked"])
        for did, d in sorted(vault.get_meta(TEAM_DEVICES, {}).items())
    ]


def enrolled_keys(vault: Vault) -> dict[str, Enrolled]:
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


def join(vault: Vault, team_code: str, name: str) -> tuple[TeamCard, str]:
    """Import the team card; returns it and this device's card code for the supervisor."""
    card = read_team_card(team_code)
    current = vault.get_meta(TEAM_CARD)
    if current and read_team_card(current).team_id != card.team_id:
        raise CardError(what="other_team")
    key = device_key(vault)
    vault.commit((), kv={TEAM_CARD: "".join(team_code.split())})
    return card, device_code(
        DeviceCard(card.team_id, vault.device_id, name, raw_public(key.public_key())), key
    )


def team_card(vault: Vault) -> TeamCard | None:
    code = vault.get_meta(TEAM_CARD)
    return read_team_card(code) if code else None


def my_device_code(vault: Vault, name: str) -> str | None:
    card = team_card(vault)
    if card is None:
        return None
    key = device_key(vault)
    return device_code(
        DeviceCard(card.team_id, vault.device_id, name, raw_public(key.public_key())), key
    )
