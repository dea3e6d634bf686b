"""The sync use cases (fieldapp.services.syncing) shared by the app and the command line:
the device card on the stick, a hostile stick, the hub pass's classification."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fieldapp.domain.ids import new_id
from fieldapp.services import syncing
from fieldapp.services.workspace import Workspace
from fieldapp.store import Change, Vault
from sync import team
from sync.cards import read_device_card
from sync.transports.folder import FolderTransport
from tests.conftest import FAST_KDF, PASSPHRASE
from tests.test_cli_sync import fieldapp


def _joined(tmp_path: Path) -> tuple[Vault, Vault]:
    sup, _ = Vault.create(tmp_path / "sup", PASSPHRASE, kdf=FAST_KDF)
    worker, _ = Vault.create(tmp_path / "worker", PASSPHRASE, kdf=FAST_KDF)
    secrets = team.create_team(sup, "史家社区督导")
    team.join(worker, secrets.code(), "卓玛")
    worker.commit([Change("resident", new_id(), {"name": "张三", "community": "史家社区"})])
    return sup, worker


def test_the_cli_leaves_the_device_card_on_the_stick_and_the_supervisor_enrols_it(
    tmp_path: Path,
) -> None:
    """A worker who joined and syncs by the command line gets the card onto the stick,
    as from the app (it used to be written by the app only)."""
    sup, worker = _joined(tmp_path)
    sup.close()
    worker.close()
    stick = tmp_path / "stick"
    stick.mkdir()
    synced = fieldapp(tmp_path / "worker", "sync", "--to-folder", str(stick))
    assert synced.returncode == 0, synced.stderr
    cards = list((stick / "fieldapp" / "cards").glob("*.fdevice"))
    assert len(cards) == 1
    assert oct(cards[0].stat().st_mode & 0o777) == "0o600"
    enrolled = fieldapp(tmp_path / "sup", "team", "enrol", str(cards[0]))
    assert enrolled.returncode == 0 and "Enrolled" in enrolled.stdout, enrolled.stderr
    assert len(FolderTransport(stick).list()) == 1  # the card is not taken for a bundle


def test_the_card_is_replaced_on_the_next_pass_and_names_the_worker(tmp_path: Path) -> None:
    sup, worker = _joined(tmp_path)
    stick = tmp_path / "stick"
    stick.mkdir()
    first = syncing.sync_to_folder(worker, stick, name="卓玛")
    assert first.card is not None and first.card_error is None
    card = read_device_card(first.card.read_text().strip())
    assert (card.device_id, card.name) == (worker.device_id, "卓玛")
    again = syncing.sync_to_folder(worker, stick, name="卓玛 (拉萨)")
    assert again.card == first.card and again.result.delivered == []
    assert read_device_card(first.card.read_text().strip()).name == "卓玛 (拉萨)"
    assert not [p for p in first.card.parent.iterdir() if p.name.endswith(".tmp")]
    assert syncing.last_folder(worker) == str(stick)
    worker.close()
    sup.close()


def test_a_linked_cards_folder_on_a_hostile_stick_is_never_followed(tmp_path: Path) -> None:
    """The bundles are delivered; the card is refused with a message, and nothing is
    written where the link points."""
    sup, worker = _joined(tmp_path)
    stick, elsewhere = tmp_path / "stick", tmp_path / "home"
    (stick / "fieldapp").mkdir(parents=True)
    elsewhere.mkdir()
    os.symlink(elsewhere, stick / "fieldapp" / "cards")
    done = syncing.sync_to_folder(worker, stick, name="卓玛")
    assert len(done.result.delivered) == 1 and done.result.error is None
    assert done.card is None and done.card_error is not None
    assert "link" in done.card_error.render("en")
    assert list(elsewhere.iterdir()) == []
    notice = syncing.stick_notice(done)
    assert notice.severity == "warning" and "1 delivered" in notice.text
    worker.close()
    sup.close()


def test_a_stick_that_is_not_there_is_refused_before_anything_changes(tmp_path: Path) -> None:
    with pytest.raises(Exception) as caught:
        syncing.stick_folder(tmp_path / "not-mounted")
    assert "not-mounted" in str(caught.value)


def test_a_pass_to_a_stick_that_is_a_file_keeps_the_outbox_and_writes_no_card(
    tmp_path: Path,
) -> None:
    sup, worker = _joined(tmp_path)
    stick = tmp_path / "stick"
    stick.write_text("a stick formatted wrongly")
    done = syncing.sync_to_folder(worker, stick, name="卓玛")
    assert done.result.error is not None and done.result.pending == 1
    assert done.card is None and done.card_error is None
    assert syncing.stick_notice(done).severity == "warning"
    worker.close()
    sup.close()


def test_a_hub_pass_without_a_team_says_so_only_when_asked(tmp_path: Path) -> None:
    vault, _ = Vault.create(tmp_path / "v", PASSPHRASE, kdf=FAST_KDF)
    hub = syncing.HubSync(Workspace(vault), supervisor=False)
    quiet = hub.run(manual=False)
    assert (quiet.ok, quiet.notice, hub.view.state) == (False, None, "no_hub")
    asked = hub.run(manual=True)
    assert asked.notice is not None and asked.notice.severity == "warning"
    assert "team" in asked.notice.text.lower()
    vault.close()
