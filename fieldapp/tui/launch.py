"""Start the app from the command line, and close the vault whatever way it ends."""

from __future__ import annotations

from pathlib import Path

from fieldapp.config import Config
from fieldapp.services.workspace import Workspace
from fieldapp.store import Vault
from fieldapp.tui.app import FieldApp


def run(
    vault_path: Path,
    config: Config,
    vault: Vault | None = None,
    supervisor: bool = False,
    read_only: bool = False,
    save_settings: bool = True,
) -> None:
    """Start the TUI on ``vault_path`` (first run, unlock) or on an already open vault."""
    workspace = Workspace(vault) if vault is not None else None
    app = FieldApp(
        config=config,
        vault_path=vault_path,
        workspace=workspace,
        supervisor=supervisor,
        read_only=read_only,
        save_settings=save_settings,
    )
    try:
        app.run()
    finally:
        if app.workspace is not None and app.workspace.vault.is_open:
            app.close_vault()
