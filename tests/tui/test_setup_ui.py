"""Setup in the app (issue 13): a team card pasted into the join dialog as printed."""

from __future__ import annotations

from pathlib import Path

from textual import events
from textual.widgets import Input

from fieldapp.store import Vault
from tests.conftest import FAST_KDF, PASSPHRASE
from tests.test_cli_setup import as_printed
from tests.tui.conftest import running, settle


async def test_a_team_card_pasted_over_several_lines_joins(
    demo_vault: Path, tmp_path: Path
) -> None:
    from sync import team

    sup, _ = Vault.create(tmp_path / "sup", PASSPHRASE, kdf=FAST_KDF)
    card = team.create_team(sup, "史家社区督导")
    sup.close()
    async with running(demo_vault) as (app, pilot, _ws):
        app.action_join_team()
        await settle(pilot)
        box = app.screen.query_one("#answer", Input)
        box.post_message(events.Paste(as_printed(card.code())))
        await settle(pilot)
        assert "".join(box.value.split()) == card.code()  # every line, once
        await pilot.press("enter")
        await settle(pilot)
        assert app.workspace is not None
        joined = team.team_card(app.workspace.vault)
        assert joined is not None and joined.fingerprint == card.card().fingerprint


async def test_rejoining_with_a_changed_card_asks_with_both_fingerprints(
    demo_vault: Path, tmp_path: Path
) -> None:
    """No leaves the card joined; yes joins with the new one (the CLI's question, in the app)."""
    from fieldapp.tui.dialogs.ask import MessageDialog
    from fieldapp.tui.dialogs.confirm import ConfirmDialog
    from sync import team

    sup, _ = Vault.create(tmp_path / "sup", PASSPHRASE, kdf=FAST_KDF)
    first = team.create_team(sup, "史家社区督导")
    moved = team.set_hub(sup, {"endpoint": "http://192.168.1.10:8333", "bucket": "fieldapp"})
    old, new = first.card().fingerprint, moved.card().fingerprint
    sup.close()
    assert old != new
    async with running(demo_vault) as (app, pilot, _ws):
        assert app.workspace is not None
        team.join(app.workspace.vault, first.code(), "李娜")
        for answer in ("n", "y"):
            app.action_join_team()
            await settle(pilot)
            app.screen.query_one("#answer", Input).value = moved.code()
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, ConfirmDialog)
            assert old in app.screen.question and new in app.screen.question
            await pilot.press(answer)
            await settle(pilot)
            joined = team.team_card(app.workspace.vault)
            assert joined is not None
            assert joined.fingerprint == (old if answer == "n" else new)
        assert isinstance(app.screen, MessageDialog)  # joined: this device's code to enrol
