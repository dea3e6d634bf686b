"""Setup in the app (issue 13): a team card pasted into the join dialog as printed."""

from __future__ import annotations

from pathlib import Path

from textual import events
from textual.widgets import Input

from fieldapp.store import Vault
from tests.conftest import FAST_KDF, PASSPHRASE
from tests.test_cli_setup import as_printed
from tests.tui.conftest import make_app, settle


async def test_a_team_card_pasted_over_several_lines_joins(
    demo_vault: Path, tmp_path: Path
) -> None:
    from sync import team

    sup, _ = Vault.create(tmp_path / "sup", PASSPHRASE, kdf=FAST_KDF)
    card = team.create_team(sup, "史家社区督导")
    sup.close()
    app = make_app(demo_vault)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
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
        app.close_vault()
