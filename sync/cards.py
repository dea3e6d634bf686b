"""Team and device cards: the public halves of the keys, handed over as a file or a
short text code (DESIGN §3.6).

A card is canonical JSON signed with its owner's Ed25519 key and encoded as
``FT1-…`` (team) or ``FD1-…`` (device): base64url of zlib-compressed bytes. The
signature proves the card was not changed on the way; that it came from the right
person is confirmed out of band by reading the short fingerprint aloud.

Device cards come in two versions (DESIGN §3.7, docs/bundle-format.md): v1 carries the
device's signing key only; v2 also its receiving key (X25519), which downward bundles
are sealed to. Both are read; a device enrolled with v1 announces its receiving key
later in the header of an upward bundle, signed by its enrolled key.
"""

from __future__ import annotations

import base64
import hashlib
import re
import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from fieldapp.errors import CardError
from sync.bundle import SUITE

TEAM_PREFIX = "FT1-"
DEVICE_PREFIX = "FD1-"
MAX_CARD = 4096
DEVICE_CARD_VERSIONS = (1, 2)  # v2: the receiving key (recv_pub)


def b64(data: bytes) -> str:
    """Unpadded base64url: how cards and the vault write keys, signatures and card codes."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    """Bytes back from unpadded base64url (the inverse of ``b64``)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def raw_public(key: Ed25519PublicKey | X25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key, as a card carries it."""
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def canonical(obj: Any) -> bytes:
    """Compact JSON with sorted keys: the one encoding a card's signature and fingerprint cover."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def fingerprint(payload: dict[str, Any]) -> str:
    """Twelve characters to read aloud when handing a card over: ``AB12-CD34-EF56``."""
    digest = hashlib.sha256(canonical(payload)).hexdigest()[:12].upper()
    return "-".join(digest[i : i + 4] for i in range(0, 12, 4))


@dataclass(frozen=True)
class SupervisorDevice:
    """A supervisor's device as the team card names it: its signing key (downward bundles
    are signed with it) and whether it was revoked."""

    sign_pub: bytes
    revoked: bool = False


@dataclass(frozen=True)
class TeamCard:
    """The card a supervisor hands to workers: the team's id and name, its public encryption
    and signing keys, the hub's address when the team uses one, and the supervisor
    devices that may send downward bundles (device id → signing key and whether revoked;
    none on cards made before downward bundles existed)."""

    team_id: str
    name: str
    enc_pub: bytes
    sign_pub: bytes
    hub: dict[str, str] | None = None
    supervisors: dict[str, SupervisorDevice] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """What the team's signature and the fingerprint cover (keys as base64url;
        ``supervisors`` only when there are some, so an older card keeps its fingerprint)."""
        payload: dict[str, Any] = {
            "v": 1,
            "kind": "team",
            "team_id": self.team_id,
            "name": self.name,
            "enc_pub": b64(self.enc_pub),
            "sign_pub": b64(self.sign_pub),
            "hub": self.hub,
        }
        if self.supervisors:
            payload["supervisors"] = {
                did: {"sign_pub": b64(dev.sign_pub), "revoked": dev.revoked}
                for did, dev in self.supervisors.items()
            }
        return payload

    def encryption_key(self) -> X25519PublicKey:
        """The team's public key: bundles and devices' hub credentials are sealed to it."""
        return X25519PublicKey.from_public_bytes(self.enc_pub)

    @property
    def fingerprint(self) -> str:
        """Read aloud when the card is handed over, so the worker knows it is the team's."""
        return fingerprint(self.payload())


@dataclass(frozen=True)
class DeviceCard:
    """A worker's device as it asks to be enrolled: team, device id and name, the device's
    public signing key, on newer cards its hub credentials sealed to the team and, on v2
    cards, its public receiving key (X25519)."""

    team_id: str
    device_id: str
    name: str
    sign_pub: bytes
    # The device's hub credentials, HPKE-sealed to the team key (only the supervisor
    # can read them); absent on cards made before the hub existed.
    hub_cred: bytes | None = None
    # The device's receiving key: downward bundles are sealed to it. ``None``: a v1 card.
    recv_pub: bytes | None = None

    @property
    def version(self) -> int:
        """2 when the card carries the receiving key, else 1."""
        return 1 if self.recv_pub is None else 2

    def payload(self) -> dict[str, Any]:
        """What the device's signature and the fingerprint cover (``hub_cred`` and
        ``recv_pub`` when present; a v1 card is byte for byte what v1 code made)."""
        payload: dict[str, Any] = {
            "v": self.version,
            "kind": "device",
            "team_id": self.team_id,
            "device_id": self.device_id,
            "name": self.name,
            "sign_pub": b64(self.sign_pub),
        }
        if self.hub_cred is not None:
            payload["hub_cred"] = b64(self.hub_cred)
        if self.recv_pub is not None:
            payload["recv_pub"] = b64(self.recv_pub)
        return payload

    def receiving_key(self) -> X25519PublicKey | None:
        """The device's public receiving key, or ``None`` on a v1 card."""
        return None if self.recv_pub is None else X25519PublicKey.from_public_bytes(self.recv_pub)

    @property
    def fingerprint(self) -> str:
        """Read aloud when the card is handed over, so the supervisor enrols the right device."""
        return fingerprint(self.payload())


def encode(prefix: str, payload: dict[str, Any], key: Ed25519PrivateKey) -> str:
    """A card code: ``payload`` signed with ``key``, zlib-compressed and base64url-encoded
    after ``prefix``."""
    body = canonical(payload)
    signed = canonical({"card": payload, "sig": b64(key.sign(body))})
    return prefix + b64(zlib.compress(signed, 9))


def _decode(
    prefix: str, text: str, versions: tuple[int, ...] = (1,)
) -> tuple[dict[str, Any], bytes]:
    code = "".join(text.split())
    if not code.startswith(prefix) or len(code) > MAX_CARD:
        raise CardError(what="format")
    try:
        raw = zlib.decompressobj().decompress(unb64(code[len(prefix) :]), MAX_CARD * 4)
        outer = orjson.loads(raw)
        payload = outer["card"]
        sig = unb64(outer["sig"])
    except (ValueError, KeyError, TypeError, zlib.error, orjson.JSONDecodeError):
        raise CardError(what="format") from None
    if not isinstance(payload, dict) or payload.get("v") not in versions:
        raise CardError(what="format")
    if type(payload["v"]) is not int:
        raise CardError(what="format")  # ``True == 1``: not a version
    return payload, sig


def _verify(sign_pub: bytes, payload: dict[str, Any], sig: bytes) -> None:
    try:
        Ed25519PublicKey.from_public_bytes(sign_pub).verify(sig, canonical(payload))
    except (InvalidSignature, ValueError):
        raise CardError(what="signature") from None


def read_team_card(text: str) -> TeamCard:
    """The team card in a ``FT1-…`` code, its signature checked against the team's own key;
    ``CardError`` when it is malformed or was altered."""
    payload, sig = _decode(TEAM_PREFIX, text)
    try:
        card = TeamCard(
            team_id=str(payload["team_id"]),
            name=str(payload["name"]),
            enc_pub=unb64(payload["enc_pub"]),
            sign_pub=unb64(payload["sign_pub"]),
            hub=payload.get("hub"),
            supervisors=_supervisors(payload.get("supervisors", {})),
        )
        X25519PublicKey.from_public_bytes(card.enc_pub)
    except (KeyError, ValueError, TypeError, AttributeError):
        raise CardError(what="format") from None
    if payload.get("kind") != "team":
        raise CardError(what="format")
    _verify(card.sign_pub, payload, sig)
    return card


def _supervisors(raw: dict[str, Any]) -> dict[str, SupervisorDevice]:
    out = {}
    for did, dev in raw.items():
        if not re.fullmatch(r"[A-Za-z0-9]{1,64}", did) or type(dev["revoked"]) is not bool:
            raise ValueError(did)
        out[did] = SupervisorDevice(unb64(dev["sign_pub"]), dev["revoked"])
        Ed25519PublicKey.from_public_bytes(out[did].sign_pub)
    return out


def read_device_card(text: str) -> DeviceCard:
    """The device card in a ``FD1-…`` code (v1 or v2), its signature checked against the
    device's own key; ``CardError`` when it is malformed, was altered or has an invalid
    device id. A v2 card must carry a valid receiving key, a v1 card none."""
    payload, sig = _decode(DEVICE_PREFIX, text, DEVICE_CARD_VERSIONS)
    if ("recv_pub" in payload) != (payload["v"] == 2):
        raise CardError(what="format")
    try:
        card = DeviceCard(
            team_id=str(payload["team_id"]),
            device_id=str(payload["device_id"]),
            name=str(payload["name"]),
            sign_pub=unb64(payload["sign_pub"]),
            hub_cred=unb64(payload["hub_cred"]) if "hub_cred" in payload else None,
            recv_pub=unb64(payload["recv_pub"]) if "recv_pub" in payload else None,
        )
        card.receiving_key()  # 32 bytes of an X25519 key, when present
    except (KeyError, ValueError, TypeError):
        raise CardError(what="format") from None
    if payload.get("kind") != "device" or not re.fullmatch(r"[A-Za-z0-9]{1,64}", card.device_id):
        raise CardError(what="format")
    _verify(card.sign_pub, payload, sig)  # proves the device holds the private key
    return card


@dataclass
class TeamSecrets:
    """What only the supervisor's vault holds."""

    team_id: str
    name: str
    enc_key: X25519PrivateKey
    sign_key: Ed25519PrivateKey
    hub: dict[str, str] | None = None
    # The supervisor devices that send downward bundles, named on the card.
    supervisors: dict[str, SupervisorDevice] = field(default_factory=dict)

    def card(self) -> TeamCard:
        """The public team card for these keys, hub and supervisor devices."""
        return TeamCard(
            self.team_id,
            self.name,
            raw_public(self.enc_key.public_key()),
            raw_public(self.sign_key.public_key()),
            self.hub,
            dict(self.supervisors),
        )

    def code(self) -> str:
        """The team card as a signed ``FT1-…`` code to hand to workers."""
        return encode(TEAM_PREFIX, self.card().payload(), self.sign_key)

    def to_json(self) -> dict[str, Any]:
        """The team as the supervisor's vault stores it, private keys included."""
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        def raw(key: X25519PrivateKey | Ed25519PrivateKey) -> str:
            return b64(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))

        data: dict[str, Any] = {
            "team_id": self.team_id,
            "name": self.name,
            "enc": raw(self.enc_key),
            "sign": raw(self.sign_key),
            "hub": self.hub,
        }
        if self.supervisors:
            data["supervisors"] = self.card().payload()["supervisors"]
        return data

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TeamSecrets:
        """The team back from what the supervisor's vault stores (see ``to_json``)."""
        enc = X25519PrivateKey.from_private_bytes(unb64(d["enc"]))
        sign = Ed25519PrivateKey.from_private_bytes(unb64(d["sign"]))
        supervisors = _supervisors(d.get("supervisors", {}))
        return cls(d["team_id"], d["name"], enc, sign, d.get("hub"), supervisors)

    @classmethod
    def generate(cls, team_id: str, name: str, hub: dict[str, str] | None = None) -> TeamSecrets:
        """A new team with fresh encryption and signing key pairs."""
        return cls(team_id, name, X25519PrivateKey.generate(), Ed25519PrivateKey.generate(), hub)


HUB_CRED_INFO = b"fieldapp hub credentials v1|"


def seal_hub_credentials(
    access_key: str, secret_key: str, team_key: X25519PublicKey, device_id: str
) -> bytes:
    """A device's hub credentials sealed to the team key and bound to ``device_id``, for its
    device card: only the supervisor can open them."""
    body = canonical({"access_key": access_key, "secret_key": secret_key})
    return SUITE.encrypt(body, team_key, info=HUB_CRED_INFO + device_id.encode())


def open_hub_credentials(
    sealed: bytes, team_key: X25519PrivateKey, device_id: str
) -> dict[str, str]:
    """The credentials a device card carries; ``CardError`` when they do not open."""
    try:
        data = orjson.loads(
            SUITE.decrypt(sealed, team_key, info=HUB_CRED_INFO + device_id.encode())
        )
        access, secret = str(data["access_key"]), str(data["secret_key"])
    except Exception:  # any failure to open is a bad card
        raise CardError(what="format") from None
    if not (valid_key(access) and valid_key(secret)):
        raise CardError(what="format")
    return {"access_key": access, "secret_key": secret}


def valid_key(text: str) -> bool:
    """What S3 services use for access and secret keys (AWS secrets hold + and /)."""
    return re.fullmatch(r"[A-Za-z0-9+/=._-]{1,128}", text) is not None


def device_key_to_json(key: Ed25519PrivateKey) -> str:
    """A device's private signing key as its vault stores it."""
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    return b64(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))


def device_key_from_json(text: str) -> Ed25519PrivateKey:
    """A device's private signing key back from what its vault stores."""
    return Ed25519PrivateKey.from_private_bytes(unb64(text))


def recv_key_to_json(key: X25519PrivateKey) -> str:
    """A device's private receiving key as its vault stores it."""
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    return b64(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))


def recv_key_from_json(text: str) -> X25519PrivateKey:
    """A device's private receiving key back from what its vault stores."""
    return X25519PrivateKey.from_private_bytes(unb64(text))


def device_code(card: DeviceCard, key: Ed25519PrivateKey) -> str:
    """The device card as a ``FD1-…`` code, signed with the device's own key."""
    return encode(DEVICE_PREFIX, card.payload(), key)
