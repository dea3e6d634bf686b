"""The folder transport through the interface: it stands in for the hub (no SeaweedFS),
lists what it cannot read, and is never led through a link."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fieldapp.domain.clock import FixedClock
from fieldapp.domain.ids import new_id
from fieldapp.errors import TransportError
from fieldapp.store import Change, Vault
from sync import hubsync, team
from sync.transports.base import Listed
from sync.transports.folder import FolderTransport
from sync.transports.s3 import INBOX
from tests.conftest import FAST_KDF, PASSPHRASE, T0


class FolderHub(FolderTransport):
    """A folder laid out as the hub is: ``inbox/<device>/<seq>.fbundle``."""

    def key_for(self, team_id: str, device_id: str, seq: int) -> str:
        return f"{INBOX}{device_id}/{seq:08d}.fbundle"


def test_a_folder_stands_in_for_the_hub(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    sup, _ = Vault.create(tmp_path / "sup", PASSPHRASE, kdf=FAST_KDF, clock=clock)
    worker, _ = Vault.create(tmp_path / "w", PASSPHRASE, kdf=FAST_KDF, clock=clock)
    _, device_code = team.join(worker, team.create_team(sup, "督导").code(), "社工")
    team.enrol(sup, device_code)
    rid = new_id()
    worker.commit([Change("resident", rid, {"name": "张三", "community": "史家社区"})])
    hub = FolderHub(tmp_path / "hub", folder="")
    (tmp_path / "hub").mkdir()
    assert hubsync.upload(worker, hub).delivered == [1]
    assert hub.list(INBOX) == [f"{INBOX}{worker.device_id}/00000001.fbundle"]
    summary = hubsync.fetch_and_merge(sup, hub)
    assert summary.count("applied") == 1 and summary.archived == 1
    assert sup.get(rid) is not None
    assert hub.list(INBOX) == [] and len(hub.list("archive/")) == 1
    again = hubsync.fetch_and_merge(sup, hub)
    assert again.outcomes == [] and again.listed == 0
    worker.close(compact=False)
    sup.close(compact=False)


def test_a_listing_names_what_it_cannot_read_and_enters_no_link(tmp_path: Path) -> None:
    folder = FolderTransport(tmp_path, folder="")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "1.fbundle").write_bytes(b"one")
    (tmp_path / "a" / "1.fbundle2.fbundle").write_bytes(b"two")
    os.mkfifo(tmp_path / "a" / "p.fbundle")
    os.symlink(tmp_path / "a", tmp_path / "linked")
    assert folder.scan("a/") == [
        Listed("a/1.fbundle", 3),
        Listed("a/1.fbundle2.fbundle", 3),
        Listed("a/p.fbundle", 0, "not_regular"),
    ]
    assert folder.list() == ["a/1.fbundle", "a/1.fbundle2.fbundle"]
    assert folder.scan("a/1.fbundle") == [Listed("a/1.fbundle", 3)]  # a whole key: alone
    assert folder.scan("linked/") == []
    assert folder.get("a/1.fbundle", limit=1) == b"on"  # bounded: limit + 1
    with pytest.raises(TransportError) as info:
        folder.get("a/p.fbundle")
    assert info.value.params["problem"] == "not_regular"


def test_the_folder_moves_a_merged_bundle_once(tmp_path: Path) -> None:
    folder = FolderTransport(tmp_path / "stick")
    with pytest.raises(TransportError):
        folder.probe()  # no stick plugged in
    folder.put("inbox/d/00000001.fbundle", b"bundle")
    folder.probe()
    folder.archive("inbox/d/00000001.fbundle", "archive/d/00000001-x.fbundle")
    folder.archive("inbox/d/00000001.fbundle", "archive/d/00000001-x.fbundle")  # done
    assert folder.list() == ["archive/d/00000001-x.fbundle"]
    assert folder.get("archive/d/00000001-x.fbundle") == b"bundle"
