"""Both directions in the product's sync passes, by stick (DESIGN §3.7, issue 14
"Transports"): a worker's `fieldapp sync --to-folder` puts its bundles and takes what is
addressed to it (``fieldapp/to/<device>/``); the supervisor's `fieldapp merge` takes the
bundles and leaves every downward bundle waiting on the same stick, each leaving its
outbox only once the stick confirmed it."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldapp.domain import NoteAction
from fieldapp.errors import TransportError
from fieldapp.services import syncing
from fieldapp.services.workspace import Workspace
from fieldapp.store import Vault
from sync import downward, team
from sync.merge import QUARANTINE
from sync.transports.folder import FolderTransport
from tests import test_downward
from tests.conftest import FAST_KDF, PASSPHRASE, ROOT, python
from tests.test_downward import forge, good_rows, resident, snapshot


def fieldapp(vault: Path, *args: str, lang: str = "en") -> subprocess.CompletedProcess[str]:
    """The command line on ``vault``, the passphrase typed."""
    return subprocess.run(
        [python(), "-m", "fieldapp", "--lang", lang, "--vault", str(vault), *args],
        input=PASSPHRASE + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


@dataclass
class Paths:
    """A supervisor and two workers' vaults on disk (closed), enrolled."""

    sup: Path
    a: Path
    b: Path
    a_id: str
    b_id: str
    sup_id: str


def open_(path: Path) -> Vault:
    """One of the team's vaults, opened."""
    return Vault.open(path, PASSPHRASE)


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    sup, _ = Vault.create(tmp_path / "sup", PASSPHRASE, kdf=FAST_KDF)
    secrets = team.create_team(sup, "史家社区督导")
    ids = []
    for name in ("a", "b"):
        worker, _ = Vault.create(tmp_path / name, PASSPHRASE, kdf=FAST_KDF)
        _, code = team.join(worker, secrets.code(), name)
        team.enrol(sup, code)
        ids.append(worker.device_id)
        worker.close(compact=False)
    sup_id = sup.device_id
    sup.close(compact=False)
    return Paths(tmp_path / "sup", tmp_path / "a", tmp_path / "b", *ids, sup_id)


def note_for_a(p: Paths, text: str = "请下周回访，并核实低保材料。") -> tuple[str, str]:
    """The supervisor writes a resident and a supervision note on it and cuts both for A
    (as the scope code will); returns (resident id, note id)."""
    sup = open_(p.sup)
    try:
        rid = resident(sup, "李四")
        note = Workspace(sup).write_note(rid, NoteAction.CALL, text)
        ops = [*sup.history(rid), *sup.history(note.id)]
        assert downward.cut_for(sup, p.a_id, ops) == 1
        return rid, note.id
    finally:
        sup.close(compact=False)


def test_a_supervisor_note_reaches_the_worker_in_one_stick_round_trip(
    paths: Paths, tmp_path: Path
) -> None:
    p = paths
    stick = tmp_path / "stick"
    stick.mkdir()
    a = open_(p.a)
    mine = resident(a, "张三")
    a.close(compact=False)
    rid, note_id = note_for_a(p)

    # A puts its bundle; nothing is addressed to it yet.
    first = fieldapp(p.a, "sync", "--to-folder", str(stick))
    assert first.returncode == 0, first.stderr
    assert "1 new bundle(s) cut, 1 delivered, 0 still waiting" in first.stdout
    assert "Nothing new from the supervisor." in first.stdout

    # The supervisor's merge takes A's bundle and leaves the reply on the same stick.
    merged = fieldapp(p.sup, "merge", str(stick))
    assert merged.returncode == 0, merged.stderr
    assert "Merged 1 bundle(s)" in merged.stdout
    assert "Replies sent: 1 bundle(s) to 1 worker(s), 0 still waiting." in merged.stdout
    reply = stick / "fieldapp" / "to" / p.a_id / p.sup_id / "00000001.fbundle"
    assert reply.is_file()
    sup = open_(p.sup)
    assert downward.recipients(sup) == [] and sup.get(mine) is not None  # confirmed: gone
    sup.close(compact=False)
    again = fieldapp(p.sup, "merge", str(stick))  # the reply is not merged, nor sent again
    assert again.returncode == 0 and "Replies sent" not in again.stdout
    assert "Merged 0 bundle(s)" in again.stdout

    # A's next pass takes it: the note is in its vault and on its Today.
    second = fieldapp(p.a, "sync", "--to-folder", str(stick))
    assert second.returncode == 0, second.stderr
    assert "Received 1 bundle(s) from the supervisor (" in second.stdout
    zh = fieldapp(p.a, "sync", "--to-folder", str(stick), lang="zh_CN")
    assert zh.returncode == 0 and "督导没有新的数据包。" in zh.stdout  # applied once only
    a = open_(p.a)
    try:
        sup = open_(p.sup)
        assert a.get(rid) == sup.get(rid) and a.get(note_id) == sup.get(note_id)
        sup.close(compact=False)
        inbox = Workspace(a).today_summary().notes
        assert [row.id for row in inbox] == [note_id]
    finally:
        a.close(compact=False)

    # B, on the same stick, finds nothing for itself.
    other = fieldapp(p.b, "sync", "--to-folder", str(stick))
    assert other.returncode == 0 and "Nothing new from the supervisor." in other.stdout
    b = open_(p.b)
    assert b.get(rid) is None and b.get(note_id) is None
    b.close(compact=False)


def test_a_stick_that_turns_read_only_keeps_the_rest_for_next_time(
    paths: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = paths
    stick = tmp_path / "stick"
    stick.mkdir()
    sup = open_(p.sup)
    ws = Workspace(sup)
    first, later = resident(sup, "周一"), resident(sup, "吴二")
    downward.cut_for(sup, p.a_id, sup.history(first))
    downward.cut_for(sup, p.a_id, sup.history(later))
    downward.cut_for(sup, p.b_id, sup.history(first))
    waiting = {
        (r, s): downward.bundle_for(sup, r, s)
        for r in (p.a_id, p.b_id)
        for s in (1, 2)
        if s in downward.pending_for(sup, r)
    }
    assert len(waiting) == 3
    real_put = FolderTransport.put
    puts: list[str] = []

    def read_only_after_one(self: FolderTransport, key: str, data: bytes) -> None:
        if puts:  # the stick was remounted read-only after the first bundle
            raise TransportError(path=str(self.base / key), reason="Read-only file system")
        real_put(self, key, data)
        puts.append(key)

    monkeypatch.setattr(FolderTransport, "put", read_only_after_one)
    done = syncing.merge_folder(ws, stick)
    assert len(done.delivery.delivered) == 1 and done.delivery.pending == 2
    assert done.delivery.failure is not None
    notice = syncing.merge_notice(done.summary, sup, done.delivery)
    assert notice.severity == "warning" and "Replies not all sent (2 still waiting" in notice.text
    left = {(r, s) for r in (p.a_id, p.b_id) for s in downward.pending_for(sup, r)}
    assert left == set(waiting) - set(done.delivery.delivered)  # only the confirmed one left
    for recipient, seq in left:  # kept as cut, byte for byte
        assert downward.bundle_for(sup, recipient, seq) == waiting[(recipient, seq)]

    monkeypatch.setattr(FolderTransport, "put", real_put)  # writable again: the rest go
    again = syncing.merge_folder(ws, stick)
    assert sorted(again.delivery.delivered) == sorted(left) and again.delivery.pending == 0
    assert downward.recipients(sup) == []
    sup.close(compact=False)

    a = open_(p.a)
    took = syncing.sync_to_folder(a, stick, name="a")
    assert [o.kind for o in took.received.summary.outcomes] == ["applied", "applied"]
    assert a.get(first) is not None and a.get(later) is not None
    a.close(compact=False)


def test_a_forged_downward_bundle_is_refused_reported_and_changes_nothing(
    paths: Paths, tmp_path: Path
) -> None:
    p = paths
    stick = tmp_path / "stick"
    folder = stick / "fieldapp" / "to" / p.a_id
    vaults = [open_(p.sup), open_(p.a), open_(p.b)]
    t = test_downward.Team(vaults[0], vaults[2], vaults[1])  # the forgeries go to A
    impostor = "f0f0f0f0f0f0f0f0"
    unknown = forge(t, good_rows(t), sender=impostor, key=Ed25519PrivateKey.generate())
    forged = forge(t, good_rows(t), key=Ed25519PrivateKey.generate())  # the sup's name
    for sender, data in ((impostor, unknown), (p.sup_id, forged)):
        (folder / sender).mkdir(parents=True)
        (folder / sender / "00000001.fbundle").write_bytes(data)
    before = snapshot(vaults[1])
    for vault in vaults:
        vault.close(compact=False)

    refused = fieldapp(p.a, "sync", "--to-folder", str(stick))
    assert refused.returncode == 4, refused.stderr
    assert "2 bundle(s) from the supervisor refused and quarantined" in refused.stdout
    assert refused.stdout.count("  refused ") == 2
    zh = fieldapp(p.a, "sync", "--to-folder", str(stick), lang="zh_CN")
    assert "督导的" in zh.stdout and "被拒收并隔离" in zh.stdout  # refused again, still not applied
    a = open_(p.a)
    try:
        assert snapshot(a) == before
        assert len(a.meta_keys(QUARANTINE)) >= 2
        line = syncing.status_line(Workspace(a))
        assert "2 from the supervisor refused" in line
    finally:
        a.close(compact=False)


def test_replies_go_beside_the_sticks_fieldapp_folder_and_never_beside_a_lone_file(
    tmp_path: Path,
) -> None:
    stick = tmp_path / "stick"
    deep = stick / "fieldapp" / "team1" / "dev1"
    deep.mkdir(parents=True)
    bundle = deep / "00000001.fbundle"
    bundle.write_bytes(b"x")
    lone = tmp_path / "mail" / "00000001.fbundle"
    lone.parent.mkdir()
    lone.write_bytes(b"x")
    assert syncing.reply_root(stick) == stick
    assert syncing.reply_root(stick / "fieldapp") == stick
    assert syncing.reply_root(deep) == stick
    assert syncing.reply_root(bundle) == stick
    assert syncing.reply_root(lone) is None
    assert syncing.reply_root(lone.parent) == lone.parent  # a folder is taken as a stick
