"""The worker's sync status line against a real hub: offline → online → synced, with
the counts of what waits (issue 6).

SeaweedFS checks request signatures against the real time, so the parties that talk
to it read clocks derived from the machine's: the worker's stands at the moment the
test began (so the line it shows can be checked to the minute), the supervisor's is
the machine's."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from fieldapp.domain.clock import FixedClock, SystemClock
from fieldapp.i18n import t
from fieldapp.store import Vault
from sync import outbox, team
from tests.conftest import FAST_KDF, PASSPHRASE
from tests.hubfix import free_port
from tests.tui.conftest import make_app, running, settle

pytestmark = [
    pytest.mark.hub,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:botocore"),
]


def started() -> FixedClock:
    """A worker's clock standing at the real time, to the minute."""
    return FixedClock(SystemClock().now().replace(second=0, microsecond=0))


@pytest.fixture
def joined(demo_vault: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The demo worker joined to a team whose hub is on a free port (not started)."""
    port = free_port()
    sup, _ = Vault.create(tmp_path / "sup", PASSPHRASE, kdf=FAST_KDF, clock=SystemClock())
    code = team.create_team(
        sup, "督导", {"endpoint": f"http://127.0.0.1:{port}", "bucket": "fieldapp"}
    ).code()
    worker = Vault.open(demo_vault, PASSPHRASE)
    _, device_code = team.join(worker, code, "李娜")
    pending = outbox.status(worker).pending_ops
    worker.close(compact=False)
    team.enrol(sup, device_code)
    yield sup, port, pending
    sup.close(compact=False)


async def wait_for(pilot, predicate, tries: int = 100) -> None:  # type: ignore[no-untyped-def]
    for _ in range(tries):
        await settle(pilot)
        if predicate():
            return
        await pilot.pause(0.1)
    raise AssertionError("the app never got there")


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_status_line_offline_then_online_then_synced(
    demo_vault: Path, joined, tmp_path: Path, lang: str
) -> None:  # type: ignore[no-untyped-def]
    from sync import hub as hubmod

    sup, port, pending = joined
    assert pending > 100
    clock = started()
    app = make_app(demo_vault, lang, clock=clock)
    app.auto_sync = True  # as in real use: the first try comes by itself
    running = None
    async with app.run_test(size=(80, 24)) as pilot:
        status = app.screen.query_one("#sync-status", Static)
        await wait_for(pilot, lambda: app.hub.state == "offline")
        # On as many rows as 80 columns need, broken between its parts: read it as one.
        line = str(status.render()).replace("\n", " · ")
        if lang == "en":
            assert "Hub: offline · retry in" in line
            assert f"{pending} changes, 0 bundles waiting · last sync never" in line
            assert "last error" not in line  # "offline" says it; the line stays short
        else:
            assert "同步中心：离线" in line and f"{pending} 条修改、0 个数据包待送" in line
            assert "上次同步 从未" in line
        # Typing is never blocked: the app answers keys while the hub is away.
        await pilot.press("r")
        await settle(pilot)
        assert type(app.screen).__name__ == "ResidentsScreen"
        await pilot.press("escape")
        await settle(pilot)
        # The hub comes up; "Sync now".
        running = hubmod.start_for(sup, tmp_path / "hub", port=port)
        status = app.screen.query_one("#sync-status", Static)
        await pilot.press("s")
        await wait_for(pilot, lambda: app.hub.state == "online")
        await settle(pilot)
        line = str(status.render()).replace("\n", " · ")
        if lang == "en":
            assert line.startswith("Hub: online · 0 changes, 0 bundles waiting")
            assert f"last sync {clock.now():%m-%d %H:%M}" in line and "error" not in line
        else:
            assert line.startswith("同步中心：在线 · 0 条修改、0 个数据包待送")
            assert f"上次同步 {clock.now():%m-%d %H:%M}" in line and "错误" not in line
        worker_status = outbox.status(app.workspace.vault)  # type: ignore[union-attr]
        assert (worker_status.pending_ops, worker_status.pending_bundles) == (0, 0)
        assert worker_status.delivered >= 1
        app.close_vault()
    try:
        from sync.hubsync import fetch_and_merge, supervisor_transport

        summary = fetch_and_merge(sup, supervisor_transport(sup))
        assert summary.ops == pending  # every change arrived, once
    finally:
        running.kill()


async def test_a_refused_device_is_told_and_keeps_its_changes(
    demo_vault: Path, joined, tmp_path: Path, toasts: list[tuple[str, str]]
) -> None:  # type: ignore[no-untyped-def]
    from sync import hub as hubmod

    sup, port, pending = joined
    devices = team.devices(sup)
    team.revoke(sup, devices[0].device_id)
    running = hubmod.start_for(sup, tmp_path / "hub", port=port)
    try:
        app = make_app(demo_vault, clock=started())
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("s")
            await wait_for(pilot, lambda: app.hub.state == "denied")
            line = str(app.screen.query_one("#sync-status", Static).render())
            assert "Hub: refused this device" in line and f"{pending} changes" in line
            assert [severity for severity, _ in toasts] == ["error"]  # said once
            assert outbox.status(app.workspace.vault).pending_ops == pending  # type: ignore[union-attr]
            app.close_vault()
    finally:
        running.kill()


async def test_an_unexpected_failure_does_not_stop_background_sync(
    demo_vault: Path, joined, monkeypatch: pytest.MonkeyPatch, toasts: list[tuple[str, str]]
) -> None:  # type: ignore[no-untyped-def]
    from sync import hubsync

    calls: list[int] = []

    def broken(*args: object, **kwargs: object) -> None:
        calls.append(1)
        raise ValueError("something odd")

    monkeypatch.setattr(hubsync, "upload", broken)
    async with running(demo_vault) as (app, pilot, _ws):
        await pilot.press("s")
        await wait_for(pilot, lambda: bool(calls) and app.hub.state == "offline")
        assert app._hub_timer is not None and app.hub.next_try is not None  # rescheduled
        assert toasts == [("error", t("ui.hub_failed", error="ValueError"))]
        await pilot.press("s")  # and it keeps trying
        await wait_for(pilot, lambda: len(calls) == 2)
        assert "something odd" not in str(toasts)  # an exception's text may hold anything


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_snapshot_today_with_the_hub_line(
    snap_compare, demo_vault: Path, joined, lang: str
) -> None:  # type: ignore[no-untyped-def]
    """Today at 80×24 with the hub's status line (online, changes waiting)."""
    app = make_app(demo_vault, lang)
    app.hub.state = "online"

    async def run(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)

    try:
        assert snap_compare(app, terminal_size=(80, 24), run_before=run)
    finally:
        app.close_vault()


async def test_sync_now_says_what_to_do_when_there_is_no_team_or_no_hub(
    demo_vault: Path, tmp_path: Path
) -> None:
    async with running(demo_vault) as (app, pilot, _ws):
        await pilot.press("s")
        await wait_for(pilot, lambda: app.hub.state == "no_hub")
        messages = [n.message for n in app._notifications]
        assert any("not joined to a team yet" in m for m in messages), messages
        # Joined, but the team card names no hub.
        sup, _ = Vault.create(tmp_path / "sup", PASSPHRASE, kdf=FAST_KDF)
        team.join(app.workspace.vault, team.create_team(sup, "督导").code(), "李娜")  # type: ignore[union-attr]
        sup.close()
        app.hub.state = "unknown"
        await pilot.press("s")
        await wait_for(pilot, lambda: app.hub.state == "no_hub")
        messages = [n.message for n in app._notifications]
        assert any("no hub yet: sync with a USB stick" in m for m in messages), messages
