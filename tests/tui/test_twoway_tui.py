"""The app's sync passes carry both directions (issue 14, "Transports"): the automatic hub
pass and "Sync to USB" apply what the supervisor addressed to this device, Today's inbox
and its status line show it, and a refused bundle is reported and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from textual.widgets import Static

from fieldapp.domain import NoteAction
from fieldapp.domain.clock import Clock, FixedClock, SystemClock
from fieldapp.services.workspace import Workspace
from fieldapp.store import Vault
from fieldapp.tui.screens.today import TodayScreen
from sync import downward, team
from sync.transports.folder import FolderTransport
from tests import test_downward
from tests.conftest import FAST_KDF, PASSPHRASE, T0
from tests.hubfix import free_port
from tests.test_downward import forge, good_rows, resident, snapshot
from tests.tui.conftest import make_app, settle
from tests.tui.test_hub_tui import started, wait_for

LINE = {
    "en": ("received 1 from the supervisor", "1 from the supervisor refused"),
    "zh_CN": ("收到督导 1 个", "督导来件 1 个被拒收"),
}
TOAST = {
    "en": ("Received 1 bundle(s) from the supervisor", "refused and quarantined"),
    "zh_CN": ("收到督导的 1 个数据包", "被拒收并隔离"),
}


def join(
    worker_path: Path, sup_path: Path, hub: dict[str, str] | None, clock: Clock
) -> tuple[Vault, str]:
    """A supervisor's team (with ``hub`` when given) on ``clock``; the worker at
    ``worker_path`` joins and is enrolled. Returns the supervisor's open vault and the
    worker's device id."""
    sup, _ = Vault.create(sup_path, PASSPHRASE, kdf=FAST_KDF, clock=clock)
    code = team.create_team(sup, "督导", hub).code()
    worker = Vault.open(worker_path, PASSPHRASE)
    _, device_code = team.join(worker, code, "李娜")
    device = worker.device_id
    worker.close(compact=False)
    team.enrol(sup, device_code)
    return sup, device


def note_for(sup: Vault, device: str) -> str:
    """The supervisor's resident and note on it, cut for ``device``; the note's id."""
    rid = resident(sup, "督导的居民")
    note = Workspace(sup).write_note(rid, NoteAction.CALL, "请电话回访。")
    downward.cut_for(sup, device, [*sup.history(rid), *sup.history(note.id)])
    return note.id


def sync_line(app: object) -> str:
    """Today's status line, read as one line."""
    box = app.screen.query_one("#sync-status", Static)  # type: ignore[attr-defined]
    return str(box.render()).replace("\n", " · ")


def inbox(app: object) -> list[str]:
    """The note ids in Today's inbox, as shown."""
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, TodayScreen) and screen.summary is not None
    return [row.id for row in screen.summary.notes]


@pytest.mark.hub
@pytest.mark.filterwarnings("ignore::DeprecationWarning:botocore")
@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_the_automatic_hub_pass_brings_the_supervisors_note_to_today(
    demo_vault: Path, tmp_path: Path, lang: str, toasts: list[tuple[str, str]]
) -> None:
    from sync import hub as hubmod
    from sync.hubsync import supervisor_transport

    port = free_port()
    hub = {"endpoint": f"http://127.0.0.1:{port}", "bucket": "fieldapp"}
    sup, device = join(demo_vault, tmp_path / "sup", hub, SystemClock())  # the hub's time
    running = hubmod.start_for(sup, tmp_path / "hub", port=port)
    try:
        note_id = note_for(sup, device)
        sent = downward.deliver(sup, supervisor_transport(sup), downward.HUB_PREFIX)
        assert sent.delivered == [(device, 1)]
        app = make_app(demo_vault, lang, clock=started())
        app.auto_sync = True  # the first try comes by itself
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: LINE[lang][0] in sync_line(app))
            await wait_for(pilot, lambda: note_id in inbox(app))
            assert [s for s, text in toasts if TOAST[lang][0] in text] == ["information"]
            app.close_vault()
    finally:
        running.kill()
        sup.close(compact=False)


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_sync_to_usb_takes_the_reply_and_refuses_a_forgery(
    demo_vault: Path, tmp_path: Path, lang: str, toasts: list[tuple[str, str]]
) -> None:
    stick = tmp_path / "stick"
    sup, device = join(demo_vault, tmp_path / "sup", None, FixedClock(T0))  # the app's
    note_id = note_for(sup, device)
    sent = downward.deliver(sup, FolderTransport(stick), downward.STICK_PREFIX)
    assert sent.delivered == [(device, 1)] and downward.recipients(sup) == []
    app = make_app(demo_vault, lang)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert note_id not in inbox(app)
        app.sync_to_folder(str(stick))  # what "u" runs once the stick is chosen
        await wait_for(pilot, lambda: LINE[lang][0] in sync_line(app))
        await wait_for(pilot, lambda: note_id in inbox(app))
        assert any(s == "information" and TOAST[lang][0] in text for s, text in toasts)

        # A bundle under the supervisor's name, not signed by it: refused, said, nothing applied.
        ws = app.workspace
        assert ws is not None
        t = test_downward.Team(sup, ws.vault, ws.vault)
        forged = forge(t, good_rows(t), to=device, seq=2, key=Ed25519PrivateKey.generate())
        folder = stick / "fieldapp" / "to" / device / sup.device_id
        (folder / "00000002.fbundle").write_bytes(forged)
        before = snapshot(ws.vault)
        toasts.clear()
        app.sync_to_folder(str(stick))
        await wait_for(pilot, lambda: LINE[lang][1] in sync_line(app))
        assert [s for s, text in toasts if TOAST[lang][1] in text] == ["warning"]
        assert snapshot(ws.vault) == before
        app.close_vault()
    sup.close(compact=False)


async def test_the_supervisors_merge_of_a_stick_leaves_the_replies_on_it(
    tmp_path: Path, toasts: list[tuple[str, str]]
) -> None:
    """ "Merge" in the supervisor's app (what ``m`` runs once the stick is chosen): the
    worker's bundle is merged and the reply cut for it is left on the same stick."""
    from fieldapp.config import Config
    from fieldapp.tui.app import FieldApp
    from sync import outbox

    clock = FixedClock(T0)
    stick = tmp_path / "stick"
    worker, _ = Vault.create(tmp_path / "w", PASSPHRASE, kdf=FAST_KDF, clock=clock)
    resident(worker, "张三")
    worker.close(compact=False)
    sup, device = join(tmp_path / "w", tmp_path / "sup", None, clock)
    worker = Vault.open(tmp_path / "w", PASSPHRASE, clock=clock)
    outbox.sync_to(worker, FolderTransport(stick))  # the worker's half of the round trip
    worker.close(compact=False)
    note_for(sup, device)
    sup.close(compact=False)
    app = FieldApp(
        config=Config(language="en"),
        vault_path=tmp_path / "sup",
        workspace=Workspace(Vault.open(tmp_path / "sup", PASSPHRASE, clock=clock)),
        save_settings=False,
        supervisor=True,
        auto_sync=False,
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.merge_folder(str(stick))
        await wait_for(pilot, lambda: any("Replies sent" in text for _, text in toasts))
        (text,) = [text for _, text in toasts if "Replies sent" in text]
        assert "Merged 1 bundle(s)" in text
        assert "Replies sent: 1 bundle(s) to 1 worker(s), 0 still waiting." in text
        ws = app.workspace
        assert ws is not None and downward.recipients(ws.vault) == []
        app.close_vault()
    assert (stick / "fieldapp" / "to" / device).is_dir()
    back = Vault.open(tmp_path / "w", PASSPHRASE, clock=clock)
    assert [
        o.kind for o in downward.fetch(back, FolderTransport(stick), downward.STICK_PREFIX).outcomes
    ] == ["applied"]
    back.close(compact=False)
