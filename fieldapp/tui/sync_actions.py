"""The sync half of the app: when to try the hub, "Sync now", "Sync to USB", "Join a
team" and the supervisor's merge of a folder. What each pass does and what it says is
``fieldapp.services.syncing``'s; here the passes run in worker threads and their
results become toasts and :mod:`fieldapp.tui.messages` events for the screens."""

from __future__ import annotations

from textual.app import App
from textual.timer import Timer

from fieldapp.domain.clock import Clock
from fieldapp.errors import FieldappError, TeamCardChanged
from fieldapp.i18n import t
from fieldapp.services import syncing
from fieldapp.services.syncing import HubSync, HubView, Notice
from fieldapp.services.workspace import Workspace
from fieldapp.tui.dialogs.ask import AskDialog, MessageDialog
from fieldapp.tui.dialogs.confirm import ConfirmDialog
from fieldapp.tui.messages import Broadcast, RecordsArrived, SyncStatusChanged, TeamChanged
from fieldapp.tui.workers import background


class SyncingApp(App[None]):
    """Background sync with the hub and the sync commands; ``FieldApp`` builds on it."""

    workspace: Workspace | None
    clock: Clock
    supervisor: bool
    locked: bool
    events: Broadcast
    hub_sync: HubSync | None = None
    _auto_on = False  # background attempts are scheduled (else only "Sync now" tries)
    _hub_timer: Timer | None = None
    _quitting = False
    hub: HubView  # the hub's state as the status line shows it (one per app)

    def say(self, notice: Notice | None, timeout: float = 10) -> None:
        """Show a pass's notice, if it has one."""
        if notice is not None:
            self.notify(notice.text, severity=notice.severity, timeout=timeout)

    def refresh_sync_status(self) -> None:
        """Screens showing the status line redraw it."""
        self.events.publish(SyncStatusChanged)

    # ------------------------------------------------------------------ the hub

    def start_auto_sync(self) -> None:
        """Begin trying the hub in the background (a worker uploads, a supervisor fetches
        and merges). Never blocks typing: every attempt runs in a thread."""
        self._auto_on = True
        self._schedule_hub(1.0)

    def _schedule_hub(self, delay: float) -> None:
        if not self._auto_on or self.hub_sync is None:
            return
        if self._hub_timer is not None:
            self._hub_timer.stop()
        self.hub.next_try = self.clock.monotonic() + delay
        self._hub_timer = self.set_timer(delay, self._hub_tick, name="hub-sync")

    def _hub_tick(self) -> None:
        if self.workspace is not None:
            self.hub_pass(manual=False)

    def action_sync_now(self) -> None:
        """Try the hub now, and say how it went."""
        if self.workspace is None or self.locked or self.hub_sync is None:
            return
        if not self._auto_on:
            self.start_auto_sync()
        self.hub_sync.retry.failures = 0
        self.hub_pass(manual=True)

    @background("hub")
    def hub_pass(self, manual: bool = False) -> None:
        """One attempt in a worker thread: a worker uploads, a supervisor merges."""
        sync = self.hub_sync
        if sync is None or self._quitting:
            return
        sync.view.state = "checking"
        self.call_from_thread(self.refresh_sync_status)
        done = sync.run(manual=manual, should_stop=lambda: self._quitting)
        delay = sync.retry.after(done.ok)
        self.call_from_thread(self._hub_done, delay, done.notice, done.merged)

    def stop_auto_sync(self) -> None:
        """On quit: no new attempt starts (one under way finishes)."""
        self._quitting = True
        if self._hub_timer is not None:
            self._hub_timer.stop()

    def _hub_done(self, delay: float, notice: Notice | None, merged: bool = False) -> None:
        if self._quitting:
            return
        self._schedule_hub(delay)
        self.say(notice)
        self.refresh_sync_status()
        if self.supervisor:
            self.events.publish(TeamChanged)
        elif merged:  # the supervisor's bundles were applied here
            self.events.publish(RecordsArrived)

    # ------------------------------------------------------------------ USB

    def action_sync_usb(self) -> None:
        """Ask for the stick (the last one offered), then sync to it."""
        if self.workspace is None or self.locked:
            return

        def chosen(folder: str | None) -> None:
            if folder:
                self.sync_to_folder(folder)

        self.push_screen(
            AskDialog(
                t("ui.sync_folder_question"),
                syncing.last_folder(self.workspace.vault),
                t("ui.sync_folder_hint"),
            ),
            chosen,
        )

    @background("sync")
    def sync_to_folder(self, folder: str) -> None:
        """Deliver the outbox to ``folder``, leave this device's card there, and apply what
        the supervisor left on it for this device."""
        workspace = self.workspace
        assert workspace is not None
        try:
            root = syncing.stick_folder(folder)
            name = workspace.records.profile().get("name", "")
            done = syncing.sync_to_folder(workspace.vault, root, name=name)
            if done.received.applied:
                workspace.build_index()
        except (FieldappError, OSError) as exc:
            text = exc.render() if isinstance(exc, FieldappError) else str(exc)
            self.call_from_thread(self.notify, text, severity="error", timeout=12)
        else:
            self.call_from_thread(self.say, syncing.stick_notice(done))
            if done.received.applied:
                self.call_from_thread(self.events.publish, RecordsArrived)
        self.call_from_thread(self.refresh_sync_status)

    def action_join_team(self) -> None:
        """Ask for the team card, then join."""
        if self.workspace is None or self.locked:
            return

        def pasted(code: str | None) -> None:
            if code:
                self.join_team(code)

        self.push_screen(
            AskDialog(t("ui.join_question"), "", t("ui.join_hint"), whole_paste=True), pasted
        )

    @background("sync")
    def join_team(self, code: str, accept_change: bool = False) -> None:
        """Join the team and show this device's code for the supervisor; a card whose
        fingerprint changed is first shown with both fingerprints to accept or refuse."""
        workspace = self.workspace
        assert workspace is not None
        try:
            card, device_code = syncing.join_team(workspace, code, accept_change=accept_change)
        except TeamCardChanged as exc:
            self.call_from_thread(self._ask_card_change, code, exc)
            return
        except FieldappError as exc:
            self.call_from_thread(self.notify, exc.render(), severity="error", timeout=12)
            return
        body = t("ui.joined_body", team=card.name, fingerprint=card.fingerprint, code=device_code)
        self.call_from_thread(self.push_screen, MessageDialog(t("ui.joined_title"), body))
        self.call_from_thread(self._schedule_hub, 0.5)  # the new card may name a hub
        self.call_from_thread(self.refresh_sync_status)

    def _ask_card_change(self, code: str, change: TeamCardChanged) -> None:
        """Show both fingerprints; yes joins with the new card, no leaves the old one."""

        def answered(accept: bool | None) -> None:
            if accept:
                self.join_team(code, accept_change=True)
            else:
                self.notify(t("ui.join_change_refused"))

        question = f"{t('ui.join_changed_title')}\n\n{change.render()}"
        dialog = ConfirmDialog(question, t("ui.join_accept_new"), t("ui.join_keep_old"))
        self.push_screen(dialog, answered)

    def action_merge_folder(self) -> None:
        """Supervisor: ask for the stick or folder, then merge what is on it."""
        if self.workspace is None or self.locked:
            return

        def chosen(folder: str | None) -> None:
            if folder:
                self.merge_folder(folder)

        self.push_screen(
            AskDialog(
                t("ui.merge_folder_question"),
                syncing.last_folder(self.workspace.vault),
                t("ui.sync_folder_hint"),
            ),
            chosen,
        )

    @background("sync")
    def merge_folder(self, folder: str) -> None:
        """Merge every bundle in ``folder``, leave the replies on it, and say what came of
        it."""
        workspace = self.workspace
        assert workspace is not None
        try:
            merged = syncing.merge_folder(workspace, folder)
        except FieldappError as exc:
            self.call_from_thread(self.notify, exc.render(), severity="error", timeout=12)
            return
        notice = syncing.merge_notice(merged.summary, workspace.vault, merged.delivery)
        self.call_from_thread(self.say, notice, 15)
        self.call_from_thread(self.events.publish, TeamChanged)
