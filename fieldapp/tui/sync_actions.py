"""Sync from the app: to a USB stick or folder, and joining a team. The work runs in
threads; the app only shows what happened."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fieldapp.errors import FieldappError
from fieldapp.i18n import t
from fieldapp.services.supervision import merge_text
from fieldapp.services.workspace import Workspace
from fieldapp.tui.workers import background

if TYPE_CHECKING:
    from fieldapp.tui.app import FieldApp

LAST_FOLDER = "sync/last_folder"


@dataclass
class HubView:
    """What the app knows of the hub right now (not stored)."""

    state: str = "unknown"  # unknown | checking | online | offline | denied | no_hub
    next_try: float | None = None  # the app clock's monotonic() of the next attempt


def _wait_text(seconds: float) -> str:
    if seconds < 90:
        return t("ui.in_seconds", n=max(1, round(seconds)))
    return t("ui.in_minutes", n=round(seconds / 60))


def status_line(workspace: Workspace, hub: HubView | None = None) -> str:
    """The sync status line: hub online/offline, pending changes and bundles, last
    delivery, last error."""
    from sync import outbox, team

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
    if s.last_error and not (hub is not None and hub.state == "offline"):  # said already
        params = workspace.vault.get_meta(outbox.STATUS, {}).get("last_error_params", {})
        line += " · " + t("ui.sync_error", error=t(s.last_error, **params))
    return line


class SyncActions:
    """Mixed into the app: background sync with the hub, "Sync now", "Sync to USB",
    "Join a team", and the supervisor's merges."""

    hub: HubView
    _auto_sync: Any = None
    _hub_timer: Any = None
    _hub_transport: Any = None
    _quitting = False

    # ------------------------------------------------------------------ the hub

    def start_auto_sync(self: FieldApp) -> None:  # type: ignore[misc]
        """Begin trying the hub in the background (a worker uploads, a supervisor fetches
        and merges). Never blocks typing: every attempt runs in a thread."""
        from sync.hubsync import AutoSync

        self.hub = HubView()
        self._auto_sync = AutoSync()
        self._schedule_hub(1.0)

    def _schedule_hub(self: FieldApp, delay: float) -> None:  # type: ignore[misc]
        if self._auto_sync is None:
            return  # background sync is off (``auto_sync=False``): only "Sync now" tries
        if self._hub_timer is not None:
            self._hub_timer.stop()
        self.hub.next_try = self.clock.monotonic() + delay
        self._hub_timer = self.set_timer(delay, self._hub_tick, name="hub-sync")

    def _hub_tick(self: FieldApp) -> None:  # type: ignore[misc]
        if self.workspace is None:
            return
        self.hub_pass(manual=False)

    def action_sync_now(self: FieldApp) -> None:  # type: ignore[misc]
        if self.workspace is None or self.locked:
            return
        if self._auto_sync is None:
            self.start_auto_sync()
        self._auto_sync.failures = 0
        self.hub_pass(manual=True)

    def _transport_for_hub(self: FieldApp) -> Any:  # type: ignore[misc]
        """The hub transport, kept between attempts (boto3 is slow to set up)."""
        from sync import hubsync

        workspace = self.workspace
        assert workspace is not None
        make = hubsync.supervisor_transport if self.supervisor else hubsync.worker_transport
        fresh = make(workspace.vault, attempts=3, connect_timeout=3.0, read_timeout=20.0)
        old = self._hub_transport
        if old is None or (old.address, old.credentials) != (fresh.address, fresh.credentials):
            self._hub_transport = fresh
        return self._hub_transport

    @background("hub")
    def hub_pass(self: FieldApp, manual: bool = False) -> None:  # type: ignore[misc]
        """One attempt: a worker uploads its outbox, a supervisor fetches and merges."""
        from fieldapp.errors import (
            CardError,
            HubClockWrong,
            HubDenied,
            HubNotConfigured,
            HubUnreachable,
        )
        from sync import hubsync

        workspace = self.workspace
        if workspace is None or self._quitting:
            return
        previous = self.hub.state
        self.hub.state = "checking"
        self.call_from_thread(self.refresh_sync_status)
        ok, message, severity = False, "", "information"
        try:
            transport = self._transport_for_hub()
            if self.supervisor:
                transport.probe()
                summary = hubsync.fetch_and_merge(
                    workspace.vault, transport, should_stop=lambda: self._quitting
                )
                if summary.outcomes:
                    workspace.build_index()
                    message = merge_text(summary, workspace.vault)
                    severity = "warning" if summary.count("quarantined") else "information"
                elif manual:
                    message = t("ui.hub_nothing_new")
                trouble = summary.fetch_error or summary.archive_error
                if trouble is not None and (manual or summary.outcomes):
                    message = (message + "\n" + trouble.render()).strip()
                    severity = "warning"
            else:
                result = hubsync.upload(workspace.vault, transport)
                if result.failure is not None:
                    raise result.failure
                if manual:  # automatic passes only update the status line
                    message = t(
                        "cli.sync_result",
                        cut=result.cut,
                        delivered=len(result.delivered),
                        pending=result.pending,
                    )
            self.hub.state = "online"
            ok = True
        except (HubNotConfigured, CardError) as exc:
            self.hub.state = "no_hub"
            if manual:
                what = exc.params.get("what")
                texts = {"not_joined": "ui.sync_not_joined", "no_hub": "ui.hub_none"}
                message = t(texts[what]) if what in texts else exc.render()
                severity = "warning"
        except (HubDenied, HubClockWrong) as exc:
            self.hub.state = "clock" if isinstance(exc, HubClockWrong) else "denied"
            if manual or previous != self.hub.state:  # said once, not at every retry
                message, severity = exc.render(), "error"
        except HubUnreachable as exc:
            self.hub.state = "offline"
            if manual:
                text = t("ui.hub_unreachable_sup", **exc.params) if self.supervisor else None
                message, severity = text or exc.render(), "warning"
        except FieldappError as exc:  # a conflict alarm, a bad bundle: say it, keep going
            self.hub.state = "online"
            message, severity = exc.render(), "error"
        except Exception as exc:  # never let one odd failure stop syncing for good
            self.hub.state = "offline"
            message, severity = t("ui.hub_failed", error=type(exc).__name__), "error"
        delay = self._auto_sync.after(ok)
        self.call_from_thread(self._hub_done, delay, message, severity)

    def stop_auto_sync(self: FieldApp) -> None:  # type: ignore[misc]
        """On quit: no new attempt starts (one under way finishes)."""
        self._quitting = True
        if self._hub_timer is not None:
            self._hub_timer.stop()

    def _hub_done(self: FieldApp, delay: float, message: str, severity: str) -> None:  # type: ignore[misc]
        if self._quitting:
            return
        self._schedule_hub(delay)
        if message:
            self.notify(message, severity=severity, timeout=10)  # type: ignore[arg-type]
        self.refresh_sync_status()
        if self.supervisor:
            self._refresh_team()

    # ------------------------------------------------------------------ USB

    def action_sync_usb(self: FieldApp) -> None:  # type: ignore[misc]
        from fieldapp.tui.dialogs.ask import AskDialog

        if self.workspace is None or self.locked:
            return
        last = self.workspace.vault.get_meta(LAST_FOLDER, "")

        def chosen(folder: str | None) -> None:
            if folder:
                self.sync_to_folder(folder)

        self.push_screen(
            AskDialog(t("ui.sync_folder_question"), last, t("ui.sync_folder_hint")), chosen
        )

    @background("sync")
    def sync_to_folder(self: FieldApp, folder: str) -> None:  # type: ignore[misc]
        from sync import outbox, team
        from sync.transports.folder import FolderTransport

        workspace = self.workspace
        assert workspace is not None
        try:
            root = Path(folder).expanduser()
            if not root.is_dir():
                raise FieldappError("ui.sync_no_folder", path=str(root))
            stick = FolderTransport(root)
            stick.clean_temp()
            workspace.vault.put_meta(LAST_FOLDER, str(root))
            result = outbox.sync_to(workspace.vault, stick)
            name = workspace.records.profile().get("name", "")
            code = team.my_device_code(workspace.vault, name)
            if code:  # the supervisor enrols this device from the card on the stick
                (root / "fieldapp" / "cards").mkdir(parents=True, exist_ok=True)
                (root / "fieldapp" / "cards" / f"{workspace.vault.device_id}.fdevice").write_text(
                    code + "\n"
                )
        except (FieldappError, OSError) as exc:
            text = exc.render() if isinstance(exc, FieldappError) else str(exc)
            self.call_from_thread(self.notify, text, severity="error", timeout=12)
        else:
            message = t(
                "cli.sync_result",
                cut=result.cut,
                delivered=len(result.delivered),
                pending=result.pending,
            )
            severity = "warning" if result.error else "information"
            self.call_from_thread(
                self.notify,
                message + (f"\n{result.error}" if result.error else ""),
                severity=severity,
                timeout=10,
            )
        self.call_from_thread(self.refresh_sync_status)

    def action_join_team(self: FieldApp) -> None:  # type: ignore[misc]
        from fieldapp.tui.dialogs.ask import AskDialog

        if self.workspace is None or self.locked:
            return

        def pasted(code: str | None) -> None:
            if code:
                self.join_team(code)

        self.push_screen(AskDialog(t("ui.join_question"), "", t("ui.join_hint")), pasted)

    @background("sync")
    def join_team(self: FieldApp, code: str) -> None:  # type: ignore[misc]
        from fieldapp.tui.dialogs.ask import MessageDialog
        from sync import team

        workspace = self.workspace
        assert workspace is not None
        name = workspace.records.profile().get("name", "") or workspace.vault.device_id
        try:
            card, device_code = team.join(workspace.vault, code, name)
        except FieldappError as exc:
            self.call_from_thread(self.notify, exc.render(), severity="error", timeout=12)
            return
        body = t("ui.joined_body", team=card.name, fingerprint=card.fingerprint, code=device_code)
        self.call_from_thread(self.push_screen, MessageDialog(t("ui.joined_title"), body))
        self.call_from_thread(self._schedule_hub, 0.5)  # the new card may name a hub
        self.call_from_thread(self.refresh_sync_status)

    def action_merge_folder(self: FieldApp) -> None:  # type: ignore[misc]
        from fieldapp.tui.dialogs.ask import AskDialog

        if self.workspace is None or self.locked:
            return
        last = self.workspace.vault.get_meta(LAST_FOLDER, "")

        def chosen(folder: str | None) -> None:
            if folder:
                self.merge_folder(folder)

        self.push_screen(
            AskDialog(t("ui.merge_folder_question"), last, t("ui.sync_folder_hint")), chosen
        )

    @background("sync")
    def merge_folder(self: FieldApp, folder: str) -> None:  # type: ignore[misc]
        from sync.sources import merge_sources

        workspace = self.workspace
        assert workspace is not None
        root = Path(folder).expanduser()
        try:
            if not root.exists():
                raise FieldappError("ui.sync_no_folder", path=str(root))
            workspace.vault.put_meta(LAST_FOLDER, str(root))
            summary = merge_sources(workspace.vault, [root])
            workspace.build_index()
        except FieldappError as exc:
            self.call_from_thread(self.notify, exc.render(), severity="error", timeout=12)
            return
        text = merge_text(summary, workspace.vault)
        severity = (
            "warning" if summary.count("quarantined") or summary.count("held") else "information"
        )
        self.call_from_thread(self.notify, text, severity=severity, timeout=15)
        self.call_from_thread(self._refresh_team)

    def _refresh_team(self: FieldApp) -> None:  # type: ignore[misc]
        from fieldapp.tui.screens.team import TeamScreen

        for screen in self.screen_stack:
            if isinstance(screen, TeamScreen):
                screen.load()

    def action_export(self: FieldApp) -> None:  # type: ignore[misc]
        from fieldapp.tui.dialogs.export import ExportDialog

        if self.workspace is not None and not self.locked:
            self.push_screen(ExportDialog())

    def refresh_sync_status(self: FieldApp) -> None:  # type: ignore[misc]
        from fieldapp.tui.screens.today import TodayScreen

        for screen in self.screen_stack:
            if isinstance(screen, TodayScreen):
                screen.load_sync_status()
