"""The command palette finds what a worker looks for by the word they would type."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldapp.tui.dialogs.export import ExportDialog
from fieldapp.tui.dialogs.help import HelpScreen
from fieldapp.tui.screens.unlock import LockScreen
from tests.tui.conftest import running, settle


@pytest.mark.parametrize(
    ("lang", "typed", "screen"),
    [
        ("zh_CN", "帮助", HelpScreen),
        ("en", "help", HelpScreen),
        ("zh_CN", "导出", ExportDialog),  # a worker exports too, not only a supervisor
        ("en", "export", ExportDialog),
        ("zh_CN", "锁定", LockScreen),
    ],
)
async def test_the_palette_finds_a_command_by_the_everyday_word(
    demo_vault: Path, lang: str, typed: str, screen: type
) -> None:
    async with running(demo_vault, lang) as (app, pilot, _ws):
        await pilot.press("ctrl+p")
        await pilot.press(*typed)
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, screen)
