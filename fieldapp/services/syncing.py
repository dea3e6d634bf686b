"""Sync as the worker and the supervisor use it, from the app and the command line alike:
the hub pass and what it tells the user, the status line, a pass to a USB stick (with
this device's card, so the supervisor can enrol it from the stick), a supervisor's merge
of a folder, and joining a team.

Both directions in one pass (DESIGN §3.7): a worker's pass sends its bundles, then takes
what the supervisor addressed to it (``outbox/<device>/`` on the hub, ``to/<device>/`` on
the stick) and applies it; a supervisor's pass merges, then delivers every downward
bundle waiting, to the hub or to the same stick (the replies are left on it).

Each function does one pass and returns what happened; the caller (a worker thread of
the app, or ``fieldapp sync``) decides when to run it and how to show the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from fieldapp.errors import (
    CardError,
    FieldappError,
    HubClockWrong,
    HubDenied,
    HubNotConfigured,
    HubUnreachable,
    TransportError,
)
from fieldapp.i18n import t
from fieldapp.services import errorlog
from fieldapp.services.supervision import merge_text
from fieldapp.services.workspace import Workspace
from fieldapp.store import Vault
from fieldapp.store.fsio import display, replace_outside
from sync import downward, hubsync, outbox, team
from sync.cards import TeamCard
from sync.downward import Delivery
from sync.merge import Summary
from sync.outbox import SyncResult
from sync.sources import merge_sources
from sync.transports.base import Transport
from sync.transports.folder import FolderTransport
from sync.transports.s3 import S3Transport

LAST_FOLDER = "sync/last_folder"  # the stick or folder used last time, offered again
CARDS = "cards"  # on a stick: fieldapp/cards/<device>.fdevice, public, for enrolment
RECEIVED = "sync/received"  # the last pass that took something from the supervisor

Severity = Literal["information", "warning", "error"]
HubState = Literal["unknown", "checking", "online", "offline", "denied", "clock", "no_hub"]


@dataclass(frozen=True)
class Notice:
    """What a pass tells the user: a translated text and how loud it is."""

    text: str
    severity: Severity = "information"


@dataclass
class HubView:
    """What the app knows of the hub right now (not stored)."""

    state: HubState = "unknown"
    next_try: float | None = None  # the clock's monotonic() of the next attempt


def _wait_text(seconds: float) -> str:
    if seconds < 90:
        return t("ui.in_seconds", n=max(1, round(seconds)))
    return t("ui.in_minutes", n=round(seconds / 60))


def status_line(workspace: Workspace, hub: HubView | None = None) -> str:
    """The sync status line: hub online/offline, pending changes and bundles, last
    delivery, last error."""
    card = team.team_card(workspace.vault)
    if card is None:
        return t("ui.sync_not_joined")
    s = outbox.status(workspace.vault)
    last = s.last_delivery.replace("T", " ")[5:16] if s.last_delivery else t("ui.never")
    if card.hub and hub is not None and hub.state != "no_hub":
        contact = workspace.vault.get_meta(outbox.STATUS, {}).get("last_contact")
        if contact and not s.pending_ops and not s.pending_bundles:
            last = contact.replace("T", " ")[5:16]  # everything was on the hub then
        state = t(f"ui.hub_state.{hub.state}")
        if hub.state in ("offline", "denied", "clock") and hub.next_try is not None:
            wait = hub.next_try - workspace.clock.monotonic()
            state += " · " + t("ui.hub_retry", wait=_wait_text(wait))
        line = t(
            "ui.hub_line", state=state, changes=s.pending_ops, bundles=s.pending_bundles, last=last
        )
    else:
        line = t("ui.sync_line", changes=s.pending_ops, bundles=s.pending_bundles, last=last)
    line += _received_part(workspace.vault)
    if s.last_error and not (hub is not None and hub.state == "offline"):  # said already
        params = workspace.vault.get_meta(outbox.STATUS, {}).get("last_error_params", {})
        line += " · " + t("ui.sync_error", error=t(s.last_error, **params))
    return line


def _received_part(vault: Vault) -> str:
    """The downward half of the status line: what the last pass that brought anything
    took from the supervisor (nothing before the first)."""
    last = vault.get_meta(RECEIVED)
    if not last:
        return ""
    parts = []
    if last.get("applied"):
        when = str(last.get("at", "")).replace("T", " ")[5:16]
        parts.append(t("ui.down_status", n=last["applied"], when=when))
    if last.get("quarantined"):
        parts.append(t("ui.down_status_refused", n=last["quarantined"]))
    return "".join(" · " + part for part in parts)


def result_text(result: SyncResult) -> str:
    """ "3 changes cut, 2 bundles delivered, 1 waiting" in the user's language."""
    return t(
        "cli.sync_result", cut=result.cut, delivered=len(result.delivered), pending=result.pending
    )


# ---------------------------------------------------------------- both directions


@dataclass
class Received:
    """What a worker's pass took from the supervisor: the bundles opened, or why it could
    not look (its own bundles went all the same)."""

    summary: Summary = field(default_factory=Summary)
    failure: FieldappError | None = None

    @property
    def applied(self) -> int:
        """Bundles applied."""
        return self.summary.count("applied")

    @property
    def quarantined(self) -> int:
        """Bundles refused (quarantined, nothing applied)."""
        return self.summary.count("quarantined")

    @property
    def news(self) -> bool:
        """Something to tell even an automatic pass: a bundle applied, held or refused."""
        return any(o.kind != "duplicate" for o in self.summary.outcomes)


def receive_from(vault: Vault, transport: Transport, prefix: str) -> Received:
    """Take what ``transport`` holds for this device under ``prefix`` (``downward.fetch``)
    and apply it; remembered for the status line when it brought anything. Never raises:
    a failure is in the result (the pass's upload is not undone by it)."""
    try:
        summary = downward.fetch(vault, transport, prefix)
    except FieldappError as exc:
        return Received(failure=exc)
    received = Received(summary)
    if received.news:
        vault.put_meta(
            RECEIVED,
            {
                "at": vault.clock.now().isoformat(timespec="seconds"),
                "applied": received.applied,
                "ops": summary.ops,
                "held": summary.count("held"),
                "quarantined": received.quarantined,
            },
        )
    return received


def received_text(received: Received) -> str:
    """What a worker's pass took from the supervisor, in the user's language: received,
    held, refused, nothing new, or why it could not look."""
    if received.failure is not None:
        return t("ui.down_failed", error=received.failure.render())
    summary = received.summary
    lines = []
    if received.applied:
        lines.append(t("ui.down_received", n=received.applied, ops=summary.ops))
    if summary.count("held"):
        lines.append(t("ui.down_held", n=summary.count("held")))
    if received.quarantined:
        lines.append(t("ui.down_refused", n=received.quarantined))
    return "\n".join(lines) or t("ui.down_nothing")


def refusals(summary: Summary) -> list[str]:
    """One line per bundle held or refused: what it was and why (translated)."""
    return [
        f"  {t('cli.merge_' + o.kind)} {o.source}: {o.reason.render()}"
        for o in summary.outcomes
        if o.kind in ("held", "quarantined") and o.reason is not None
    ]


def deliver_down(vault: Vault, transport: Transport, prefix: str) -> Delivery:
    """A supervisor's pass, after merging: every downward bundle waiting, for every
    recipient, onto ``transport`` (``downward.deliver``: each leaves the outbox only once
    the transport confirmed it). Nothing to send when this vault has no team."""
    if team.team_secrets(vault) is None:
        return Delivery()
    return downward.deliver(vault, transport, prefix)


def delivery_text(delivery: Delivery) -> str:
    """What a supervisor's delivery did ("" when there was nothing to send)."""
    failure = delivery.failure
    if failure is not None:
        error = failure.render()
        if isinstance(failure, HubUnreachable):  # said as to a supervisor, not a worker
            error = t("ui.hub_unreachable_sup", **failure.params)
        return t("ui.down_delivery_failed", pending=delivery.pending, error=error)
    if not delivery.delivered:
        return ""
    workers = len({recipient for recipient, _ in delivery.delivered})
    return t(
        "ui.down_delivered",
        n=len(delivery.delivered),
        workers=workers,
        pending=delivery.pending,
    )


# ---------------------------------------------------------------------------- the hub


@dataclass(frozen=True)
class HubPass:
    """One attempt's outcome: did the hub answer, what to say, and whether records
    were merged (the team view and the search index changed)."""

    ok: bool
    notice: Notice | None
    merged: bool = False


class HubSync:
    """The hub passes of one open vault: a worker uploads its outbox, a supervisor
    fetches and merges. Keeps the hub's state for the status line and the retry delay
    (``hubsync.AutoSync``); the transport is kept between attempts (it is slow to set
    up).

    ``supervisor`` chooses the pass (fetch and merge, else upload); ``view`` is the hub
    state to keep current, shared with whoever shows it (a new one when not given)."""

    def __init__(
        self, workspace: Workspace, *, supervisor: bool, view: HubView | None = None
    ) -> None:
        self.workspace = workspace
        self.supervisor = supervisor
        self.view = view if view is not None else HubView()
        self.retry = hubsync.AutoSync()
        self._transport: S3Transport | None = None

    def transport(self) -> S3Transport:
        """The hub transport, renewed only when the team card's address or this
        device's credentials changed."""
        make = hubsync.supervisor_transport if self.supervisor else hubsync.worker_transport
        fresh = make(self.workspace.vault, attempts=3, connect_timeout=3.0, read_timeout=20.0)
        old = self._transport
        if old is None or (old.address, old.credentials) != (fresh.address, fresh.credentials):
            self._transport = fresh
        return self._transport or fresh

    def run(self, *, manual: bool, should_stop: Callable[[], bool] = lambda: False) -> HubPass:
        """One attempt. Automatic passes only say what changed (a merge, a hub that
        started refusing); a manual one ("Sync now") always says how it went. Never
        raises: every failure becomes the hub's state and a notice."""
        previous = self.view.state
        notice: Notice | None = None
        merged = False
        try:
            transport = self.transport()
            if self.supervisor:
                notice, merged = self._fetch_and_merge(transport, manual, should_stop)
            else:
                notice, merged = self._upload_and_receive(transport, manual)
            self.view.state = "online"
            return HubPass(True, notice, merged)
        except (HubNotConfigured, CardError) as exc:
            self.view.state = "no_hub"
            if manual:
                what = exc.params.get("what")
                texts = {"not_joined": "ui.sync_not_joined", "no_hub": "ui.hub_none"}
                notice = Notice(t(texts[what]) if what in texts else exc.render(), "warning")
        except (HubDenied, HubClockWrong) as exc:
            self.view.state = "clock" if isinstance(exc, HubClockWrong) else "denied"
            if manual or previous != self.view.state:  # said once, not at every retry
                notice = Notice(exc.render(), "error")
                self._log(exc)
        except HubUnreachable as exc:
            self.view.state = "offline"
            if manual or previous != self.view.state:
                self._log(exc)  # the library's name for it: the sentence says it plainly
            if manual:
                text = t("ui.hub_unreachable_sup", **exc.params) if self.supervisor else None
                notice = Notice(text or exc.render(), "warning")
        except FieldappError as exc:  # a conflict alarm, a bad bundle: say it, keep going
            self.view.state = "online"
            notice = Notice(exc.render(), "error")
        except Exception as exc:  # never let one odd failure stop syncing for good
            self.view.state = "offline"
            errorlog.record(exc, "hub", self.workspace.clock)
            notice = Notice(t("ui.hub_failed"), "error")
        return HubPass(False, notice, merged)

    def _log(self, exc: FieldappError) -> None:
        """Log a hub refusal with the library's name for it (``reason``: an S3 error code
        or a botocore exception's type, never personal data)."""
        detail = str(exc.params.get("reason", ""))
        errorlog.record(exc, "hub", self.workspace.clock, detail=detail)

    def _upload_and_receive(self, transport: Transport, manual: bool) -> tuple[Notice | None, bool]:
        """A worker's pass: its bundles up, then what the supervisor sent it down. An
        automatic pass says only what came down (received, held, refused)."""
        vault = self.workspace.vault
        result = hubsync.upload(vault, transport)
        if result.failure is not None:
            raise result.failure
        received = receive_from(vault, transport, downward.HUB_PREFIX)
        if received.applied:
            self.workspace.build_index()
        loud: Severity = (
            "warning" if received.quarantined or received.failure is not None else "information"
        )
        notice: Notice | None = None
        if manual:
            notice = Notice(result_text(result) + "\n" + received_text(received), loud)
        elif received.news:
            notice = Notice(received_text(received), loud)
        return notice, received.applied > 0

    def _fetch_and_merge(
        self, transport: Transport, manual: bool, should_stop: Callable[[], bool]
    ) -> tuple[Notice | None, bool]:
        vault = self.workspace.vault
        transport.probe()
        summary = hubsync.fetch_and_merge(vault, transport, should_stop=should_stop)
        notice: Notice | None = None
        if summary.outcomes:
            self.workspace.build_index()
            trouble_cut = summary.count("quarantined") or summary.scope_error is not None
            loud: Severity = "warning" if trouble_cut else "information"
            notice = Notice(merge_text(summary, vault), loud)
        elif manual:
            notice = Notice(t("ui.hub_nothing_new"))
        trouble = summary.fetch_error or summary.archive_error
        if trouble is not None and (manual or summary.outcomes):
            text = ((notice.text if notice else "") + "\n" + trouble.render()).strip()
            notice = Notice(text, "warning")
        if not should_stop():  # the replies, after the merge (DESIGN §3.7)
            delivery = deliver_down(vault, transport, downward.HUB_PREFIX)
            said = delivery_text(delivery)
            if said and (manual or notice is not None or delivery.failure is not None):
                text = ((notice.text if notice else "") + "\n" + said).strip()
                loud = notice.severity if notice else "information"
                notice = Notice(text, "warning" if delivery.failure is not None else loud)
        return notice, bool(summary.outcomes)


# ---------------------------------------------------------------------------- a stick


def last_folder(vault: Vault) -> str:
    """The stick or folder synced or merged last (offered as the default)."""
    return str(vault.get_meta(LAST_FOLDER, ""))


def stick_folder(folder: str | Path) -> Path:
    """The folder a worker typed, refused (translated) when it is not there: a typo or
    a stick not mounted."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise FieldappError("ui.sync_no_folder", path=str(root))
    return root


@dataclass(frozen=True)
class StickSync:
    """A pass to a stick: the outbox's result, where this device's card was left (or why
    it could not be), and what the supervisor had left on the stick for this device."""

    result: SyncResult
    card: Path | None = None
    card_error: FieldappError | None = None
    received: Received = field(default_factory=Received)


def sync_to_folder(vault: Vault, folder: str | Path, *, name: str) -> StickSync:
    """A worker's pass to a USB stick or folder: cut what is pending, deliver the outbox
    there, and leave this device's card beside it (``fieldapp/cards/<device>.fdevice``)
    so the supervisor can enrol the device from the stick; ``name`` is the worker's name
    on the card. Then it takes and applies what the supervisor left there for this device
    (``fieldapp/to/<device>/``): one round trip serves both directions. A delivery that
    fails leaves the bundles in the outbox (the result says so); not being in a team
    raises ``CardError``."""
    root = Path(folder).expanduser()
    stick = FolderTransport(root)
    stick.clean_temp()
    result = outbox.sync_to(vault, stick)
    vault.put_meta(LAST_FOLDER, str(root))
    received = receive_from(vault, stick, downward.STICK_PREFIX)  # a read-only stick too
    code = team.my_device_code(vault, name)
    if result.error or code is None:
        return StickSync(result, received=received)
    try:
        card = _put_card(root, vault.device_id, code)
    except TransportError as exc:  # the bundles are there all the same
        return StickSync(result, card_error=exc, received=received)
    return StickSync(result, card=card, received=received)


def _put_card(root: Path, device_id: str, code: str) -> Path:
    """This device's card on the stick, replacing an older one (its sealed hub
    credentials may have changed). A stick is hostile: no link on the way there."""
    folder = root / "fieldapp" / CARDS
    try:
        for part in (root / "fieldapp", folder):
            if part.is_symlink():
                raise TransportError(path=display(part), reason="a link on the stick")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{device_id}.fdevice"
        replace_outside(path, (code + "\n").encode())
        return path
    except OSError as exc:
        raise TransportError(path=display(folder), reason=exc.strerror or str(exc)) from None


def stick_notice(done: StickSync) -> Notice:
    """What a pass to a stick tells the worker."""
    result = done.result
    lines = [result_text(result), *([result.error] if result.error else [])]
    if done.card_error is not None:
        lines.append(done.card_error.render())
    received = done.received
    lines.append(received_text(received))
    trouble = result.error or done.card_error or received.quarantined or received.failure
    loud: Severity = "warning" if trouble else "information"
    return Notice("\n".join(lines), loud)


def reply_root(path: str | Path) -> Path | None:
    """Where a supervisor leaves the replies on the stick a merge read from ``path``: the
    folder holding its ``fieldapp`` folder (the worker's pass reads ``fieldapp/to/`` there),
    found from the stick itself, its ``fieldapp`` folder or anything below it
    (``fieldapp/<team>/<device>/…``). A folder that is none of these is taken as the
    stick. ``None`` for a lone bundle file elsewhere: replies are not scattered beside a
    file mailed or copied by hand."""
    here = Path(path).expanduser()
    if here.is_dir() and (here / "fieldapp").is_dir():
        return here
    for candidate in [here, *here.parents][:4]:  # fieldapp/<team>/<device>/<seq>.fbundle
        if candidate.name == "fieldapp" and candidate.is_dir():
            return candidate.parent
    return here if here.is_dir() else None


def deliver_to_stick(vault: Vault, path: str | Path) -> Delivery:
    """The supervisor's replies onto the stick the merge read from ``path``
    (``fieldapp/to/<device>/``); nothing when it was a lone file (``reply_root``)."""
    root = reply_root(path)
    if root is None:
        return Delivery(
            pending=sum(len(downward.pending_for(vault, r)) for r in downward.recipients(vault))
        )
    stick = FolderTransport(root)
    stick.clean_temp()
    return deliver_down(vault, stick, downward.STICK_PREFIX)


@dataclass(frozen=True)
class FolderMerge:
    """A supervisor's merge of a stick: what was merged and how the replies went."""

    summary: Summary
    delivery: Delivery


def merge_folder(workspace: Workspace, folder: str | Path) -> FolderMerge:
    """A supervisor merges every bundle on a stick or in a folder, re-indexes, then leaves
    the replies (every downward bundle waiting) on the same stick."""
    root = Path(folder).expanduser()
    if not root.exists():
        raise FieldappError("ui.sync_no_folder", path=str(root))
    workspace.vault.put_meta(LAST_FOLDER, str(root))
    summary = merge_sources(workspace.vault, [root])
    workspace.build_index()
    return FolderMerge(summary, deliver_to_stick(workspace.vault, root))


def merge_notice(summary: Summary, vault: Vault, delivery: Delivery | None = None) -> Notice:
    """What a merge tells the supervisor (and how its replies went), louder when something
    was held or refused or a reply could not be sent."""
    held = summary.count("quarantined") or summary.count("held")
    failed = (delivery is not None and delivery.failure is not None) or bool(summary.scope_error)
    text = merge_text(summary, vault)
    said = delivery_text(delivery) if delivery is not None else ""
    text = text + "\n" + said if said else text
    return Notice(text, "warning" if held or failed else "information")


def join_team(
    workspace: Workspace, code: str, *, accept_change: bool = False
) -> tuple[TeamCard, str]:
    """Join the team whose card ``code`` is: returns the card and this device's own
    code for the supervisor to enrol. A card whose fingerprint differs from the one joined
    raises ``TeamCardChanged`` unless ``accept_change`` (the user said yes to it)."""
    name = workspace.records.profile().get("name", "") or workspace.vault.device_id
    return team.join(workspace.vault, code, name, accept_change=accept_change)
