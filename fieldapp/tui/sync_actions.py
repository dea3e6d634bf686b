"""Sync from the app: to a USB stick or folder, and joining a team. The work runs in
threads; the app only shows what happened."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work

from fieldapp.errors import FieldappError
from fieldapp.i18n import t
from fieldapp.services.workspace import Workspace

if TYPE_CHECKING:
    from fieldapp.tui.app import FieldApp

LAST_FOLDER = "sync/last_folder"


def status_line(workspace: Workspace) -> str:
    """The sync status line: pending changes and bundles, last delivery, last error."""
    from sync import outbox, team

    if team.team_card(workspace.vault) is None:
        return t("ui.sync_not_joined")
    s = outbox.status(workspace.vault)
    line = t(
        "ui.sync_line",
        changes=s.pending_ops,
        bundles=s.pending_bundles,
        last=s.last_delivery.replace("T", " ") if s.last_delivery else t("ui.never"),
    )
    if s.last_error:
        params = workspace.vault.get_meta(outbox.STATUS, {}).get("last_error_params", {})
        line += " · " + t("ui.sync_error", error=t(s.last_error, **params))
    return line


class SyncActions:
    """Mixed into the app: the "Sync to USB" and "Join a team" commands."""

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

    @work(thread=True, exit_on_error=False, group="sync")
    def sync_to_folder(self: FieldApp, folder: str) -> None:  # type: ignore[misc]
        from sync import outbox, team
        from sync.transport import FolderTransport

        workspace = self.workspace
        assert workspace is not None
        try:
            root = Path(folder).expanduser()
            if not root.is_dir():
                raise FieldappError("ui.sync_no_folder", path=str(root))
            stick = FolderTransport(root)
            stick.clean_temp()
            workspace.vault.put_meta(LAST_FOLDER, str(root))
            result = outbox.sync_to(workspace.vault, stick, dt.datetime.now())
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

    @work(thread=True, exit_on_error=False, group="sync")
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

    @work(thread=True, exit_on_error=False, group="sync")
    def merge_folder(self: FieldApp, folder: str) -> None:  # type: ignore[misc]
        from sync.merge import merge_sources

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
        text = t(
            "cli.merge_summary",
            applied=summary.count("applied"),
            ops=summary.ops,
            duplicates=summary.count("duplicate"),
            held=summary.count("held"),
            quarantined=summary.count("quarantined"),
            conflicts=sum(len(v) for v in workspace.vault.get_meta("conflicts", {}).values()),
        )
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
