"""Sync through the hub, both ends.

Worker: probe the hub (one short request), and when it answers cut what is pending and
upload every bundle in the outbox, in order; each leaves the outbox only once the hub
confirmed it (``sync.outbox.deliver``).

Supervisor: list ``inbox/`` on the hub, fetch what is new into the vault (sealed, as it
came), merge it, then move the hub copy to ``archive/``. A fetched bundle stays in the
vault until its merge committed, so a crash or a dropped connection never loses one and
never merges one twice (a second receive is a duplicate, a no-op).
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fieldapp.errors import (
    BundleError,
    BundleMalformed,
    BundleTooLarge,
    CardError,
    FieldappError,
    HubClockWrong,
    HubDenied,
    HubNotConfigured,
    HubUnreachable,
)
from fieldapp.store import Vault
from sync import counts, outbox, scope
from sync.aggregates import MAX_BUNDLE as COUNTS_MAX
from sync.bundle import MAX_BUNDLE, digest
from sync.cards import TeamCard
from sync.locking import sync_lock
from sync.merge import Merger, Outcome, jsonable
from sync.team import HUB_LOCAL, device_hub_credentials, hub_admin, team_card, team_secrets
from sync.transports.base import Transport
from sync.transports.endpoint import Credentials, HubAddress
from sync.transports.s3 import ARCHIVE, INBOX, S3Transport

FETCHED = "recv/fetched/"
TO_ARCHIVE = "hub/to_archive/"  # one entry per merged hub key: [key, archive target]
FETCH_BATCH_BYTES = 8 * 1024 * 1024


def worker_transport(vault: Vault, card: TeamCard | None = None, **options: Any) -> S3Transport:
    """This device's way to the team hub (address from the team card, credentials from
    the vault); with ``card``, to that team's hub instead (a lower office's way to the
    level above: ``sync.levels.upper_transport``)."""
    card = card or team_card(vault)
    if card is None:
        raise CardError(what="not_joined")
    address = HubAddress.from_card(card.hub)
    if address is None:
        raise HubNotConfigured()
    creds = Credentials.from_json(device_hub_credentials(vault))
    assert creds is not None
    options.setdefault("probe_key", f"{INBOX}{vault.device_id}/.probe")
    options.setdefault("sleep", vault.clock.sleep)  # retry waits on this party's clock
    return S3Transport(address, creds, **options)


def _is_here(address: HubAddress, port: int) -> bool:
    """Does the team's hub address point at the hub this machine runs?"""
    import socket
    from urllib.parse import urlsplit

    from sync.hub import lan_address

    host = urlsplit(address.endpoint).hostname or ""
    here = {"127.0.0.1", "localhost", "::1", socket.gethostname(), lan_address("0.0.0.0")}
    return address.port == port and host in here


def supervisor_transport(vault: Vault, **options: Any) -> S3Transport:
    """The supervisor's reading access: the hub it runs itself, else the team's hub."""
    team = team_secrets(vault)
    if team is None:
        raise CardError(what="no_team")
    local = vault.get_meta(HUB_LOCAL)
    address = HubAddress.from_card(team.hub)
    if local and (address is None or _is_here(address, local["port"])):
        address = HubAddress(local["endpoint"], local["bucket"])  # the hub runs here
    if address is None:
        raise HubNotConfigured()
    creds = Credentials.from_json(hub_admin(vault))
    assert creds is not None
    options.setdefault("sleep", vault.clock.sleep)
    return S3Transport(address, creds, **options)


# ------------------------------------------------------------------ worker


def note_contact(vault: Vault, online: bool) -> None:
    """Remember whether the hub answered (shown on the status line); written only when
    it changes, so an offline laptop does not commit every probe."""
    status = dict(vault.get_meta(outbox.STATUS, {}))
    if status.get("online") == online and not online:
        return
    status["online"] = online
    if online:
        status["last_contact"] = vault.clock.now().isoformat(timespec="seconds")
        if str(status.get("last_error") or "").startswith("hub."):
            status.update(last_error=None, last_error_params={})  # it answers again
    vault.put_meta(outbox.STATUS, status)


def upload(vault: Vault, transport: Transport) -> outbox.SyncResult:
    """One pass: probe, then cut and upload. ``HubUnreachable``/``HubDenied`` when the
    probe fails (nothing was cut or sent); errors during the upload are in the result."""
    try:
        transport.probe()
    except (HubUnreachable, HubDenied, HubClockWrong) as exc:
        note_contact(vault, False)
        status = dict(vault.get_meta(outbox.STATUS, {}))
        if status.get("last_error") != exc.msg_id:
            status.update(last_error=exc.msg_id, last_error_params=jsonable(exc.params))
            vault.put_meta(outbox.STATUS, status)
        raise
    result = outbox.sync_to(vault, transport)
    note_contact(vault, not isinstance(result.failure, HubUnreachable | HubDenied))
    return result


# ------------------------------------------------------------------ supervisor


@dataclass
class FetchSummary:
    """What one supervisor pass did: keys listed, fetched, archived, and every outcome."""

    listed: int = 0
    fetched: int = 0
    archived: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    # Merged all the same; what is missing is tried again on the next pass.
    fetch_error: FieldappError | None = None
    archive_error: FieldappError | None = None
    scope: Any = None  # what the scope cut after the merge did (sync.scope.ScopeCut)
    scope_error: FieldappError | None = None  # or what stopped it (cut again next pass)

    def count(self, kind: str) -> int:
        """How many outcomes were of ``kind`` (applied, duplicate, held, quarantined)."""
        return sum(1 for o in self.outcomes if o.kind == kind)

    @property
    def ops(self) -> int:
        """Ops applied in the pass."""
        return sum(o.ops for o in self.outcomes if o.kind == "applied")


# What a device can have put in the inbox; anything else (its probe object, junk) is
# neither fetched nor touched.
BUNDLE_KEY = re.compile(r"inbox/([A-Za-z0-9]{1,64})/([0-9]{8})\.fbundle")  # fullmatch
HEAD_BYTES = 65536  # of an oversized object: enough to see what it is


# An office enrolled for counts puts its aggregate bundles under its inbox too
# (``sync.counts.hub_key_for``): ``inbox/<device>/aggregates/<team>/<device>/<seq>.fbundle``.
COUNTS_KEY = re.compile(
    r"inbox/([A-Za-z0-9]{1,64})/aggregates/[A-Za-z0-9_-]{1,64}/\1/([0-9]{8})\.fbundle"
)


def _parse(key: str) -> tuple[str, int] | None:
    match = BUNDLE_KEY.fullmatch(key) or COUNTS_KEY.fullmatch(key)
    return (match[1], int(match[2])) if match else None


def _is_counts(key: str) -> bool:
    return COUNTS_KEY.fullmatch(key) is not None


def _limit(key: str) -> int:
    """The most a bundle under ``key`` may hold (an aggregate bundle is smaller)."""
    return COUNTS_MAX if _is_counts(key) else MAX_BUNDLE


def _slot(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def _queued(vault: Vault) -> dict[str, list[str]]:
    """Hub keys merged and waiting to be archived: key → [key, archive target]."""
    queued = {}
    for meta_key in vault.meta_keys(TO_ARCHIVE):
        entry = vault.get_meta(meta_key)
        queued[entry[0]] = [meta_key, entry[1]]
    return queued


def fetch(
    vault: Vault, transport: Transport, max_bytes: int = 4 * FETCH_BATCH_BYTES
) -> tuple[FetchSummary, bool]:
    """Copy up to ``max_bytes`` of new bundles from the hub's inbox into the vault
    (sealed, as they came). Returns the summary and whether more is waiting.

    Every bundle key is fetched until it has been merged and archived — even one whose
    sequence was merged before: a different bundle under that name (a laptop restored
    from a backup) must reach the merge and its alarm, not be skipped. An object that
    cannot be read (empty, or refused by the service) is recorded as such and refused
    in the merge, so it can never stop the pass for the others."""
    summary = FetchSummary()
    listed = {e.key: e.size for e in transport.scan(INBOX) if e.problem is None and _parse(e.key)}
    summary.listed = len(listed)
    waiting = _queued(vault)
    have = {vault.get_meta(k)["key"] for k in vault.meta_keys(FETCHED)}
    batch: dict[str, Any] = {}
    size = total = 0
    more = False
    for key in sorted(listed, key=lambda k: _parse(k) or ("", 0)):
        if key in waiting or key in have:
            continue
        if total >= max_bytes:
            more = True
            break
        limit = _limit(key)
        oversized = listed[key] > limit
        unreadable = ""
        data = b""
        if listed[key] > 0:  # a range request on an empty object is an error (416)
            try:
                data = transport.get(key, limit=HEAD_BYTES if oversized else limit)
            except (HubUnreachable, HubDenied):
                raise
            except FieldappError as exc:
                unreadable = str(exc.params.get("reason", "unreadable"))
        if len(data) > limit:
            oversized = True  # grew since the listing
        batch[FETCHED + _slot(key)] = {
            "data": base64.b64encode(data[:HEAD_BYTES] if oversized else data).decode(),
            "key": key,
            "size": max(len(data), listed[key]) if oversized else len(data),
            "unreadable": unreadable,
        }
        size += len(data)
        total += len(data)
        summary.fetched += 1
        if size >= FETCH_BATCH_BYTES:
            vault.commit((), kv=batch)
            batch, size = {}, 0
    if batch:
        vault.commit((), kv=batch)
    return summary, more


def merge_fetched(vault: Vault) -> list[Outcome]:
    """Merge every fetched bundle (by device and sequence); each leaves the fetched list
    once merged, held or quarantined — all three keep their own copy in the vault —
    in the same commit that queues its hub copy for archiving. A bundle held past the
    quota is not kept: it stays in the hub's inbox and is fetched again."""
    entries = []
    for meta_key in vault.meta_keys(FETCHED):
        entry = vault.get_meta(meta_key)
        entries.append((_parse(entry["key"]) or ("", 0), meta_key, entry))
    entries.sort(key=lambda item: item[0])
    merger = Merger(vault)
    outcomes: list[Outcome] = []
    for (device, seq), meta_key, entry in entries:
        data = base64.b64decode(entry["data"])
        source = f"hub:{entry['key']}"
        limit = _limit(entry["key"])
        if entry.get("unreadable"):
            refused: BundleError = BundleMalformed(what=entry["unreadable"])
            outcomes.append(merger.refuse(data, refused, source, entry["size"]))
        elif entry["size"] > limit:
            refused = BundleTooLarge(limit=limit, size=entry["size"])
            outcomes.append(merger.refuse(data, refused, source, entry["size"]))
        else:
            if _is_counts(entry["key"]):  # an office's counts (sync.counts), not ops
                received = [counts.receive(merger, data, source)]
            else:
                received = merger.receive(data, source)
            outcomes += received
            if not received[0].kept:  # held past the quota: left in the inbox for later
                vault.commit((), kv={meta_key: None})
                continue
        # Archived under its digest: a different bundle under the same name (restored
        # laptop) never replaces the one archived before.
        kind = "counts-" if _is_counts(entry["key"]) else ""
        target = f"{ARCHIVE}{device}/{kind}{seq:08d}-{digest(data)[:16]}.fbundle"
        vault.commit(
            (), kv={meta_key: None, TO_ARCHIVE + _slot(entry["key"]): [entry["key"], target]}
        )
    outcomes += merger.settle()
    return outcomes


def archive_merged(vault: Vault, transport: Transport) -> tuple[int, FieldappError | None]:
    """Move merged bundles from ``inbox/`` to ``archive/`` on the hub. One that cannot
    be moved does not hold up the others; the first such error is returned (the hub
    being unreachable ends the round)."""
    done = 0
    first_error: FieldappError | None = None
    for key, (meta_key, target) in sorted(_queued(vault).items()):
        try:
            transport.archive(key, target)
        except (HubUnreachable, HubDenied) as exc:
            return done, exc
        except FieldappError as exc:
            if "NoSuchKey" not in str(exc.params.get("reason", "")):
                first_error = first_error or exc
                continue
        vault.put_meta(meta_key, None)
        done += 1
    return done, first_error


def fetch_and_merge(
    vault: Vault,
    transport: Transport,
    archive: bool = True,
    should_stop: Callable[[], bool] = lambda: False,
) -> FetchSummary:
    """The supervisor's pass: fetch and merge in rounds of a bounded size (whatever was
    fetched before and not merged yet is merged too), then archive on the hub —
    best effort: what is not archived now is archived on the next pass. A failure
    after the first round ends the pass but keeps what was merged (``fetch_error``);
    ``should_stop`` ends it between rounds (the app is closing)."""
    with sync_lock(vault):  # two passes at once would fetch and archive the same keys
        summary = FetchSummary()
        summary.outcomes += merge_fetched(vault)  # left over from an interrupted pass
        more = True
        while more and not should_stop():
            try:
                fetched, more = fetch(vault, transport)
            except FieldappError as exc:
                if not summary.outcomes:
                    raise
                summary.fetch_error = exc
                break
            summary.listed = summary.listed or fetched.listed
            summary.fetched += fetched.fetched
            summary.outcomes += merge_fetched(vault)
        if archive and not should_stop() and summary.fetch_error is None:
            summary.archived, summary.archive_error = archive_merged(vault, transport)
        summary.scope, summary.scope_error = scope.try_cut(vault)
    return summary


class AutoSync:
    """When to try the hub next: every ``interval`` seconds while it answers (to send
    what was typed since), backing off exponentially, with jitter, while it does not —
    so a laptop without a connection spends almost nothing on trying."""

    def __init__(
        self,
        interval: float = 60.0,
        first_retry: float = 15.0,
        max_retry: float = 600.0,
        rng: random.Random | None = None,
    ) -> None:
        self.interval = interval
        self.first_retry = first_retry
        self.max_retry = max_retry
        self.failures = 0
        self.rng = rng or random.Random()

    def after(self, ok: bool) -> float:
        """Seconds until the next attempt, after one that succeeded or failed."""
        if ok:
            self.failures = 0
            return self.interval
        self.failures += 1
        ceiling = min(self.max_retry, self.first_retry * 2 ** (self.failures - 1))
        return float(ceiling / 2 + self.rng.uniform(0, ceiling / 2))
