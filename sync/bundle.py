"""Bundles: a contiguous range of one device's ops, compressed, encrypted to the team
and signed by the device (DESIGN §3.4, docs/bundle-format.md).

    magic "FBN1" | header_len u16 | header (canonical JSON) | ct_len u32 | HPKE ciphertext
    | Ed25519 signature (64 bytes) over everything before it

HPKE: base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM; the header is
bound in ``info``. The payload is zlib-compressed JSON rows ``[kind, record_id, field,
value, hlc, base]``; the device and op ids follow from the header.

Version 2 adds two header keys: ``to`` (the recipient device of a downward bundle, ``""``
for an upward one, to the team) and ``recv`` (the sender's receiving key, announced by a
device enrolled with a v1 card; ``""`` when none) — and a seventh column to each row,
the op's author, so a downward bundle carries ops of any author with their original
ids. An upward bundle is still cut as v1 unless it announces a key.

Version 3 is a level's upward bundle (DESIGN §3.8): a lower team's supervisor forwards
the ops of its team to the upper team, with their original ids, authors and clocks. Its
header is v2's (``to`` and ``recv`` empty); the payload is ``{"roster": {device:
{"name", "role"}}, "rows": [7-column rows]}``: the roster — the authors it may forward,
``worker`` or ``supervisor`` — is signed and sealed with the ops, and every row's author
is on it or is the sender.

Opening checks, in this order, and refuses with a typed error at the first failure:
size limits → structure → team → recipient → enrolment → signature → sequence and
previous hash → decrypt → decompressed size → every op (shape, device, order, domain
validation).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import struct
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from fieldapp.domain.ops import OP_ID, Op, make_op_id
from fieldapp.errors import (
    BadSignature,
    BundleError,
    BundleMalformed,
    BundleTooLarge,
    ChainBroken,
    DecryptFailed,
    DeviceRevoked,
    DuplicateBundle,
    OpInvalid,
    SequenceConflict,
    SequenceGap,
    UnknownDevice,
    WrongRecipient,
    WrongTeam,
)
from fieldapp.store import limits as vault_limits

MAGIC = b"FBN1"
VERSION = 1
VERSION_2 = 2  # a recipient (``to``), a key announcement (``recv``), rows with authors
VERSION_3 = 3  # a level's upward bundle: a signed roster beside rows with authors
MAX_ROSTER = 10_000  # devices on one roster
ROSTER_ROLES = frozenset({"worker", "supervisor"})
SIG_LEN = 64
MAX_HEADER = 4096
# The limits follow from the vault's: a bundle accepted is applied in ONE vault commit,
# its rows re-encoded as journal rows (op id and device added: at most ROW_EXTRA more
# bytes each) beside the merge's bookkeeping (chain, stats, conflict index: KV_HEADROOM).
# All of it must fit one frame, or the vault refuses the commit (and the bundle is
# quarantined) — never a frame that open() could not read back.
MAX_OPS = 100_000
ROW_EXTRA = 160
KV_HEADROOM = 8 * 1024 * 1024
MAX_RAW = 32 * 1024 * 1024  # decompressed payload
MAX_BUNDLE = MAX_RAW + MAX_RAW // 100 + 64 * 1024  # on the wire: zlib's worst case + HPKE
MAX_VALUE = vault_limits.MAX_VALUE  # one op's value, encoded
assert MAX_RAW + MAX_OPS * ROW_EXTRA + KV_HEADROOM <= vault_limits.MAX_PAYLOAD
INFO = b"fieldapp bundle v1|"
INFO_2 = b"fieldapp bundle v2|"
INFO_3 = b"fieldapp bundle v3|"
INFOS = {VERSION: INFO, VERSION_2: INFO_2, VERSION_3: INFO_3}
SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
HEADER_KEYS = frozenset({"v", "team", "device", "seq", "prev", "ops", "hlc", "raw"})
HEADER_KEYS_2 = HEADER_KEYS | {"to", "recv"}
_DEVICE_ID = re.compile(r"[A-Za-z0-9]{1,64}")
_RAW_KEY = re.compile(r"[A-Za-z0-9_-]{43}")  # 32 bytes, unpadded base64url


@dataclass(frozen=True)
class Header:
    """A bundle's signed, unencrypted header: team and sending device, its place in the
    device's chain (``seq``, ``prev``), and its op count, newest HLC stamp and payload size;
    from v2 the recipient (``to``, ``""`` for the team) and the sender's announced
    receiving key (``recv``, base64url, ``""`` when none)."""

    v: int
    team: str
    device: str
    seq: int
    prev: str
    ops: int
    hlc: int
    raw: int
    to: str = ""
    recv: str = ""

    def announced_key(self) -> bytes | None:
        """The receiving key (32 raw bytes) this header announces, or ``None``."""
        if not self.recv:
            return None
        return base64.urlsafe_b64decode(self.recv + "=")


@dataclass(frozen=True)
class Enrolled:
    """What the receiver knows of a device."""

    sign_pub: bytes
    revoked: bool = False


@dataclass(frozen=True)
class Opened:
    """A bundle that passed every check: its header, its ops as validated, its digest and,
    for a level's bundle (v3), its roster: device → ``{"name", "role"}``."""

    header: Header
    ops: list[Op]
    digest: str  # sha256 of the bundle bytes: the next bundle's ``prev``
    roster: Mapping[str, Mapping[str, str]] | None = None


def digest(data: bytes) -> str:
    """The SHA-256 (hex) of a bundle's bytes, which the device's next bundle names as ``prev``."""
    return hashlib.sha256(data).hexdigest()


def seal(
    ops: list[Op],
    *,
    team_id: str,
    team_key: X25519PublicKey,
    device_id: str,
    sign_key: Ed25519PrivateKey,
    seq: int,
    prev: str,
    to: str = "",
    announce: bytes | None = None,
    roster: Mapping[str, Mapping[str, str]] | None = None,
) -> bytes:
    """Cut one bundle, sealed to ``team_key``: the team's key for an upward bundle, the
    recipient's receiving key for a downward one (``to``, a device id: version 2).

    Upward, ``ops`` must all come from ``device_id``, oldest first; downward they may
    come from any author, in ``(hlc, author)`` order. ``announce`` (32 raw bytes, upward
    only) is the sender's receiving key, carried in the signed header (version 2); a
    bundle that announces may hold no ops. With ``roster`` (a lower team's supervisor
    forwarding to the level above: version 3), the ops' authors are the sender and the
    roster's devices, in ``(hlc, author)`` order."""
    if len(ops) > MAX_OPS or not (ops or announce):
        raise ValueError("a bundle holds 1 to MAX_OPS ops")
    if to and announce is not None:
        raise ValueError("only an upward bundle announces a key")
    if roster is not None and (to or announce is not None or not ops):
        raise ValueError("a level's bundle goes up, announces nothing and holds ops")
    if roster is not None:
        version = VERSION_3
    else:
        version = VERSION_2 if to or announce is not None else VERSION
    rows: list[list[Any]] = []
    for op in ops:
        if not to and op.device_id != device_id and (roster is None or op.device_id not in roster):
            raise ValueError("an upward bundle carries its sender's (and roster's) ops only")
        row: list[Any] = [op.kind, op.record_id, op.field, op.value, op.hlc, op.base]
        rows.append(row if version == VERSION else [*row, op.device_id])
    if roster is not None:
        raw = orjson.dumps({"roster": roster, "rows": rows}, option=orjson.OPT_SORT_KEYS)
    else:
        raw = orjson.dumps(rows)
    fields: dict[str, Any] = {
        "v": version,
        "team": team_id,
        "device": device_id,
        "seq": seq,
        "prev": prev,
        "ops": len(ops),
        "hlc": max((op.hlc for op in ops), default=0),
        "raw": len(raw),
    }
    if version != VERSION:
        fields["to"] = to
        fields["recv"] = "" if announce is None else _b64url(announce)
    header = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
    info = INFOS[version] + header
    ciphertext = SUITE.encrypt(zlib.compress(raw, 9), team_key, info=info)
    body = MAGIC + struct.pack(">H", len(header)) + header + struct.pack(">I", len(ciphertext))
    body += ciphertext
    return body + sign_key.sign(body)


def split_frame(
    data: bytes, *, magic: bytes, max_size: int, max_header: int
) -> tuple[bytes, bytes, bytes, bytes]:
    """The framing every signed, sealed format here shares — ``magic | header_len u16 |
    header | ct_len u32 | ciphertext | signature (64)`` — split into header bytes,
    ciphertext, the signed part and the signature; :class:`BundleTooLarge` or
    :class:`BundleMalformed` (magic, header, length) otherwise. Nothing is verified."""
    if len(data) > max_size:
        raise BundleTooLarge(limit=max_size, size=len(data))
    if len(data) < len(magic) + 2 + 4 + SIG_LEN or data[: len(magic)] != magic:
        raise BundleMalformed(what="magic")
    start = len(magic)
    (hlen,) = struct.unpack_from(">H", data, start)
    if hlen > max_header or start + 2 + hlen + 4 > len(data):
        raise BundleMalformed(what="header")
    header_bytes = data[start + 2 : start + 2 + hlen]
    (clen,) = struct.unpack_from(">I", data, start + 2 + hlen)
    end = start + 2 + hlen + 4 + clen
    if end + SIG_LEN != len(data):
        raise BundleMalformed(what="length")
    return header_bytes, data[start + 2 + hlen + 4 : end], data[:end], data[end:]


def read_header(data: bytes) -> tuple[Header, bytes, bytes, bytes, bytes]:
    """Structure only (no keys): header, header bytes, ciphertext, signed part, signature."""
    header_bytes, ciphertext, signed, signature = split_frame(
        data, magic=MAGIC, max_size=MAX_BUNDLE, max_header=MAX_HEADER
    )
    try:
        h = orjson.loads(header_bytes)
    except orjson.JSONDecodeError:
        raise BundleMalformed(what="header") from None
    if not isinstance(h, dict) or set(h) not in (HEADER_KEYS, HEADER_KEYS_2):
        raise BundleMalformed(what="header")
    ints = ("v", "seq", "ops", "hlc", "raw")
    strs = ("team", "device", "prev", "to", "recv") if "to" in h else ("team", "device", "prev")
    if any(type(h[k]) is not int or h[k] < 0 for k in ints) or not all(
        isinstance(h[k], str) for k in strs
    ):
        raise BundleMalformed(what="header")
    if orjson.dumps(h, option=orjson.OPT_SORT_KEYS) != header_bytes:
        raise BundleMalformed(what="header")  # one canonical encoding: no malleability
    header = Header(**h)
    if header.v not in ((VERSION_2, VERSION_3) if "to" in h else (VERSION,)):
        raise BundleMalformed(what="version")
    if header.v == VERSION_3 and (header.to or header.recv or header.ops == 0):
        raise BundleMalformed(what="header")  # a level's bundle: upward, with ops
    if header.v == VERSION_2 and not (
        (header.to == "" or _DEVICE_ID.fullmatch(header.to))
        and (header.recv == "" or (_RAW_KEY.fullmatch(header.recv) and not header.to))
        and (header.ops > 0 or header.recv)
    ):
        raise BundleMalformed(what="header")
    if header.v == VERSION and header.ops == 0:
        raise BundleMalformed(what="header")
    if header.ops > MAX_OPS or header.raw > MAX_RAW:
        raise BundleTooLarge(limit=MAX_OPS, size=header.ops)
    return header, header_bytes, ciphertext, signed, signature


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def peek_header(data: bytes) -> tuple[str, int]:
    """(device, seq) from the start of what claims to be a bundle — for sorting and for
    saying what was refused — or ``("", 0)``. Nothing here is verified."""
    try:
        (hlen,) = struct.unpack_from(">H", data, 4)
        if data[:4] != MAGIC or hlen > MAX_HEADER or len(data) < 6 + hlen:
            return "", 0
        h = orjson.loads(data[6 : 6 + hlen])
        device, seq = h["device"], h["seq"]
    except (struct.error, orjson.JSONDecodeError, KeyError, TypeError):
        return "", 0
    if isinstance(device, str) and type(seq) is int and 0 <= seq < 2**63:
        return device[:64], seq
    return "", 0


class Chain:
    """The receiver's view of one device's sequence (for the order checks)."""

    def __init__(
        self, last_seq: int = 0, last_digest: str = "", seen: Mapping[int, str] | None = None
    ) -> None:
        self.last_seq = last_seq
        self.last_digest = last_digest
        self.seen = dict(seen or {})


def open_bundle(
    data: bytes,
    *,
    team_id: str,
    team_key: X25519PrivateKey,
    devices: Mapping[str, Enrolled],
    chain: Callable[[str], Chain],
    validate_op: Callable[[Op], Op],
    recipient: str = "",
) -> Opened:
    """Verify, decrypt and validate a bundle, or raise the first reason to refuse it.

    ``recipient`` is who opens it: ``""`` for the team's supervisor (upward bundles),
    else this device's id (a downward bundle, sealed to ``team_key``, this device's
    receiving key); a bundle addressed to anyone else is refused (``WrongRecipient``).
    ``devices`` are the senders accepted: enrolled devices upward, the team's supervisor
    devices downward.

    A refusal raised once the signature has verified is marked ``authentic`` (the
    sender really sent it: worth keeping whole, within a quota); before that, anybody
    holding the stick could have made it."""
    header, header_bytes, ciphertext, signed, signature = read_header(data)
    this = digest(data)
    if chain(header.device).seen.get(header.seq) == this:
        # Byte for byte a bundle applied before: a no-op whoever sent it — even from a
        # device revoked since (the stick merged again after a revocation).
        raise DuplicateBundle(device=header.device, seq=header.seq)
    if header.team != team_id:
        raise WrongTeam(team=header.team)
    if header.to != recipient:
        raise WrongRecipient(device=header.device, to=header.to or team_id)
    device = devices.get(header.device)
    # Downward (``recipient``): the sender must be a supervisor device of the team.
    if device is None:
        raise UnknownDevice(
            "bundle.unknown_supervisor" if recipient else None, device=header.device
        )
    if device.revoked:
        raise DeviceRevoked(
            "bundle.revoked_supervisor" if recipient else None, device=header.device
        )
    try:
        Ed25519PublicKey.from_public_bytes(device.sign_pub).verify(signature, signed)
    except (InvalidSignature, ValueError):
        raise BadSignature(device=header.device) from None
    try:
        return _open_signed(header, header_bytes, ciphertext, this, team_key, chain, validate_op)
    except DecryptFailed as exc:
        exc.authentic = True
        if recipient:
            exc.msg_id = "bundle.decrypt_failed_device"  # not sealed to this device's key
        raise
    except BundleError as exc:
        exc.authentic = True
        raise


def _open_signed(
    header: Header,
    header_bytes: bytes,
    ciphertext: bytes,
    this: str,
    team_key: X25519PrivateKey,
    chain: Callable[[str], Chain],
    validate_op: Callable[[Op], Op],
) -> Opened:
    check_chain(chain(header.device), header.device, header.seq, header.prev, this)
    raw = unseal(ciphertext, team_key, INFOS[header.v] + header_bytes, header.raw, header.device)
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise OpInvalid(index=0, reason="json") from None
    roster = None
    if header.v == VERSION_3:
        roster, payload = _roster(payload, header)
    return Opened(header, _ops(payload, header, validate_op, roster), this, roster)


def check_chain(state: Chain, device: str, seq: int, prev: str, this: str) -> None:
    """A signed bundle's place in its sender's chain (``this``: its digest): a duplicate,
    another bundle under a number used (the alarm), a gap, or a broken link is raised."""
    if seq <= state.last_seq:
        if state.seen.get(seq) == this:
            raise DuplicateBundle(device=device, seq=seq)
        raise SequenceConflict(device=device, seq=seq)
    if seq > state.last_seq + 1:
        raise SequenceGap(device=device, missing=state.last_seq + 1, seq=seq)
    if prev != state.last_digest:
        raise ChainBroken(device=device, seq=seq)


def unseal(ciphertext: bytes, key: X25519PrivateKey, info: bytes, raw: int, device: str) -> bytes:
    """Decrypt (HPKE, ``info`` bound) and decompress to exactly ``raw`` bytes, as the
    signed header says: :class:`DecryptFailed`, :class:`BundleMalformed` or
    :class:`BundleTooLarge` (a bomb, or a header that lies) otherwise."""
    try:
        compressed = SUITE.decrypt(ciphertext, key, info=info)
    except (InvalidTag, ValueError):
        raise DecryptFailed(device=device) from None
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(compressed, raw + 1)
    except zlib.error:
        raise BundleMalformed(what="payload") from None
    if len(out) != raw or inflater.unconsumed_tail or not inflater.eof:
        raise BundleTooLarge(limit=raw, size=len(out))
    return out


def _roster(payload: Any, header: Header) -> tuple[dict[str, dict[str, str]], Any]:
    """A level's payload split into its roster (checked: device ids, a name, a role; not
    the sender) and its rows; ``OpInvalid`` (reason ``roster``) for anything else."""
    if not isinstance(payload, dict) or set(payload) != {"roster", "rows"}:
        raise OpInvalid(index=0, reason="roster")
    roster = payload["roster"]
    if not isinstance(roster, dict) or len(roster) > MAX_ROSTER or header.device in roster:
        raise OpInvalid(index=0, reason="roster")
    for device, entry in roster.items():
        if not (
            _DEVICE_ID.fullmatch(device)
            and isinstance(entry, dict)
            and set(entry) == {"name", "role"}
            and isinstance(entry["name"], str)
            and 0 < len(entry["name"]) <= 100
            and isinstance(entry["role"], str)
            and entry["role"] in ROSTER_ROLES
        ):
            raise OpInvalid(index=0, reason="roster")
    return roster, payload["rows"]


def _ops(
    rows: Any,
    header: Header,
    validate_op: Callable[[Op], Op],
    roster: Mapping[str, Any] | None = None,
) -> list[Op]:
    if not isinstance(rows, list) or len(rows) != header.ops:
        raise OpInvalid(index=0, reason="count")
    ops: list[Op] = []
    last: tuple[int, str] = (0, "")
    width = 6 if header.v == VERSION else 7
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            raise OpInvalid(index=i, reason="shape")
        kind, record_id, field, value, hlc, base = row[:6]
        author = row[6] if width == 7 else header.device
        if not (isinstance(kind, str) and isinstance(record_id, str) and isinstance(field, str)):
            raise OpInvalid(index=i, reason="shape")
        if not (isinstance(author, str) and _DEVICE_ID.fullmatch(author)):
            raise OpInvalid(index=i, reason="author")
        if not header.to and author != header.device and (roster is None or author not in roster):
            # Upward: the sender's own ops only; a level's bundle, its roster's too.
            raise OpInvalid(index=i, reason="author")
        if type(hlc) is not int or hlc < 1 or (hlc, author) <= last or hlc > header.hlc:
            raise OpInvalid(index=i, reason="order")  # stamps (and op ids) only increase
        if base is not None and not (isinstance(base, str) and OP_ID.fullmatch(base)):
            raise OpInvalid(index=i, reason="base")
        last = (hlc, author)
        op = Op(make_op_id(hlc, author), kind, record_id, field, value, hlc, author, base)
        try:
            ops.append(validate_op(op))  # the value stored is the value validated
        except OpInvalid as exc:
            exc.params["index"] = i
            raise
    return ops


def domain_validator(
    today: Callable[[], dt.date] | None = None, *, resolutions: bool = True
) -> Callable[[Op], Op]:
    """Check an op against the domain model and return it with the value as validated
    and normalised (``"30"`` where a number belongs is stored as ``30``, or refused).

    Field names come from the models only, plus the reserved ``_deleted`` (a boolean)
    and, when ``resolutions``, ``_resolved_<a field of that kind>`` (the conflict
    heads a resolution settles: 1 to MAX_RESOLVED op ids). ``today`` is the receiver's
    date (its clock) for checks such as "an ID number's birth date is not in the future".
    """
    from pydantic import TypeAdapter, ValidationError

    from fieldapp.domain import kinds as registry
    from fieldapp.domain.ids import is_record_id
    from fieldapp.domain.ops import DELETED, MAX_RESOLVED, RESOLVED_PREFIX
    from fieldapp.domain.validation import problems_of

    adapters: dict[tuple[str, str], TypeAdapter[Any]] = {}
    for spec in registry.all_kinds():  # every registered kind, by its model
        for name, info in spec.model.model_fields.items():
            if name != "id":
                annotation: Any = _annotated(info) if info.metadata else info.annotation
                adapters[(spec.kind, name)] = TypeAdapter(annotation)
    kinds = {spec.kind for spec in registry.all_kinds()}

    def resolution(op: Op) -> Op:
        name = op.field.removeprefix(RESOLVED_PREFIX)
        if (op.kind, name) not in adapters:
            raise OpInvalid(reason=f"field {op.field[:80]}")
        heads = op.value
        if not (
            isinstance(heads, list)
            and 1 <= len(heads) <= MAX_RESOLVED
            and all(isinstance(h, str) and OP_ID.fullmatch(h) for h in heads)
        ):
            raise OpInvalid(reason=f"{op.field}: heads")
        return op

    def check(op: Op) -> Op:
        if op.kind not in kinds:
            raise OpInvalid(reason="kind")
        if not is_record_id(op.record_id):
            raise OpInvalid(reason="record_id")
        if op.field == DELETED:
            if not isinstance(op.value, bool):
                raise OpInvalid(reason=f"{op.field}")
            return op
        if resolutions and op.field.startswith(RESOLVED_PREFIX):
            return resolution(op)
        adapter = adapters.get((op.kind, op.field))
        if adapter is None:
            raise OpInvalid(reason=f"field {op.field[:80]}")
        try:
            valid = adapter.validate_python(op.value, context={"today": today()} if today else None)
        except ValidationError as exc:
            problem = problems_of(exc)[0] if problems_of(exc) else None
            raise OpInvalid(
                reason=f"{op.field}: {problem.code if problem else 'invalid'}"
            ) from None
        value = adapter.dump_python(valid, mode="json")
        if len(orjson.dumps(value)) > MAX_VALUE:
            raise OpInvalid(reason=f"{op.field}: too_large")
        return Op(op.op_id, op.kind, op.record_id, op.field, value, op.hlc, op.device_id, op.base)

    return check


def _annotated(info: Any) -> Any:
    from typing import Annotated

    return Annotated[(info.annotation, *info.metadata)]
