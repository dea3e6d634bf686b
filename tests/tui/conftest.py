"""Fixtures for driving the app headless: a demo vault on a fixed clock, deterministic ids."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from fieldapp import i18n
from fieldapp.config import Config
from fieldapp.services import demo
from fieldapp.services.workspace import Workspace
from fieldapp.store import Vault
from fieldapp.tui.app import FieldApp
from tests.conftest import FAST_KDF, PASSPHRASE

TODAY = dt.date(2026, 11, 29)
NOON_MS = int(dt.datetime(2026, 11, 29, 12, 0).timestamp() * 1000)


def counting_ids() -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"01a20000-0000-7000-8000-{next(counter):012d}"


@pytest.fixture
def demo_vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A demo vault built on a fixed clock with predictable ids (for snapshots)."""
    monkeypatch.setattr(demo, "new_id", counting_ids())
    path = tmp_path / "demo"
    vault, _ = Vault.create(path, PASSPHRASE, kdf=FAST_KDF, device_id="demo0000device01")
    vault.clock._wall_ms = lambda: NOON_MS
    workspace = Workspace(vault, lambda: TODAY)
    demo.build_demo(workspace.records, TODAY, residents=60)
    vault.close()
    yield path


@pytest.fixture(autouse=True)
def _reset_language() -> Iterator[None]:
    yield
    i18n._current = None


def make_app(path: Path, lang: str = "en", **config: object) -> FieldApp:
    vault = Vault.open(path, PASSPHRASE)
    vault.clock._wall_ms = lambda: NOON_MS
    app = FieldApp(
        config=Config(language=lang, **config),  # type: ignore[arg-type]
        vault_path=path,
        workspace=Workspace(vault, lambda: TODAY, lambda: dt.datetime(2026, 11, 29, 10, 30)),
        today=lambda: TODAY,
        now=lambda: dt.datetime(2026, 11, 29, 10, 30),
        save_settings=False,
        auto_sync=False,  # the hub tests start it themselves
    )
    return app


async def settle(pilot: Pilot[None]) -> None:
    """Wait for every worker and for the messages they posted (never a fixed sleep)."""
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
