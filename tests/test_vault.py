"""The vault: round trips, ops and history, keys, locking, write failures."""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import os
import subprocess
import textwrap
from pathlib import Path

import orjson
import pytest
from tinydb import Query

from fieldapp.domain.clock import FixedClock
from fieldapp.domain.ids import new_id
from fieldapp.domain.ops import DELETED, make_op_id
from fieldapp.errors import (
    RecoveryKeyMistyped,
    VaultExists,
    VaultLocked,
    VaultNotFound,
    VaultUnsupported,
    VaultWriteFailed,
    WeakPassphrase,
    WrongPassphrase,
    WrongRecoveryKey,
)
from fieldapp.store import Change, Vault, crypto, fsio
from fieldapp.store.crypto import MIN_MEMORY_KIB, new_recovery_key
from fieldapp.store.vault import KEY_FILE
from tests.conftest import FAST_KDF, PASSPHRASE, python


def files_digest(path: Path, exclude: tuple[str, ...] = ("vault.lock",)) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.iterdir())
        if p.name not in exclude
    }


def resident(name: str, community: str = "史家社区") -> dict[str, object]:
    return {"name": name, "community": community, "tags": ["elderly_alone"]}


def test_saves_survive_reopen_with_and_without_compaction(vault: Vault, vault_path: Path) -> None:
    a, b = new_id(), new_id()
    vault.commit([Change("resident", a, resident("张三")), Change("resident", b, resident("李四"))])
    vault.commit([Change("resident", a, {"name": "张三丰"})])
    vault.close(compact=False)

    reopened = Vault.open(vault_path, PASSPHRASE)
    assert reopened.report.frames_replayed == 2
    assert reopened.get(a) == {**resident("张三丰")}
    assert reopened.get(b) == resident("李四")
    reopened.close()  # compacts: snapshot + archived ops, empty journal
    assert sorted(p.name for p in vault_path.glob("*.fv")) == [
        "journal-000001.fv",
        "ops-000000.fv",
        "snap-000001.fv",
    ]

    again = Vault.open(vault_path, PASSPHRASE)
    assert again.report.frames_replayed == 0
    assert again.get(a)["name"] == "张三丰"
    assert [e.value for e in again.history(a) if e.field == "name"] == ["张三", "张三丰"]
    again.close(compact=False)


def test_ops_are_field_level_with_hlc_device_and_base(vault: Vault) -> None:
    rid = new_id()
    first = vault.commit([Change("resident", rid, resident("王五"))])
    assert {op.field for op in first} == {"name", "community", "tags"}
    assert all(op.base is None and op.device_id == vault.device_id for op in first)
    hlcs = [op.hlc for op in first]
    assert hlcs == sorted(hlcs) and len(set(hlcs)) == len(hlcs)
    assert all(op.op_id == make_op_id(op.hlc, op.device_id) for op in first)

    # Unchanged fields make no op; a changed one names the op it replaced as its base.
    second = vault.commit([Change("resident", rid, {**resident("王五"), "name": "王五二"})])
    assert [(op.field, op.value) for op in second] == [("name", "王五二")]
    name_op = next(op for op in first if op.field == "name")
    assert second[0].base == name_op.op_id
    assert second[0].hlc > max(hlcs)
    assert vault.commit([Change("resident", rid, {"name": "王五二"})]) == []


def test_delete_is_a_tombstone_op(vault: Vault, vault_path: Path) -> None:
    rid = new_id()
    vault.commit([Change("resident", rid, resident("赵六"))])
    vault.commit([Change("resident", rid, {DELETED: True})])
    assert vault.get(rid) is None
    assert vault.count("resident") == 0
    assert vault.history(rid)[-1].field == DELETED
    vault.close()
    with Vault.open(vault_path, PASSPHRASE) as v:
        assert v.get(rid) is None and v.kind_of(rid) == "resident"


def test_tinydb_is_the_query_layer(vault: Vault) -> None:
    for i, community in enumerate(["史家社区", "演乐社区", "史家社区"]):
        vault.commit([Change("resident", new_id(), resident(f"居民{i}", community))])
    found = vault.table("resident").search(Query().community == "史家社区")
    assert sorted(d["name"] for d in found) == ["居民0", "居民2"]
    assert vault.count("resident") == 3


def test_meta_values_persist_and_delete(vault: Vault, vault_path: Path) -> None:
    vault.put_meta("draft/visit-1", {"purpose": "例行探访"})
    vault.put_meta("draft/visit-2", {"purpose": "x"})
    vault.put_meta("draft/visit-2", None)
    vault.close(compact=False)
    with Vault.open(vault_path, PASSPHRASE) as v:
        assert v.meta_keys("draft/") == ["draft/visit-1"]
        assert v.get_meta("draft/visit-1") == {"purpose": "例行探访"}


def test_wrong_passphrase_changes_nothing(vault: Vault, vault_path: Path) -> None:
    vault.commit([Change("resident", new_id(), resident("张三"))])
    vault.close(compact=False)
    before = files_digest(vault_path)
    with pytest.raises(WrongPassphrase) as info:
        Vault.open(vault_path, "not the passphrase")
    assert "passphrase" in info.value.render("en").lower()
    assert "口令" in info.value.render("zh_CN")
    assert files_digest(vault_path) == before
    Vault.open(vault_path, PASSPHRASE).close(compact=False)  # the lock was released


def test_recovery_key_sets_a_new_passphrase(vault_path: Path) -> None:
    v, recovery = Vault.create(vault_path, PASSPHRASE, kdf=FAST_KDF)
    rid = new_id()
    v.commit([Change("resident", rid, resident("张三"))])
    v.close(compact=False)

    with pytest.raises(RecoveryKeyMistyped):
        Vault.recover(vault_path, recovery[:-1] + ("0" if recovery[-1] != "0" else "1"), "x" * 12)
    with pytest.raises(WrongRecoveryKey):
        Vault.recover(vault_path, new_recovery_key()[1], "another passphrase", kdf=FAST_KDF)
    with pytest.raises(WeakPassphrase):
        Vault.recover(vault_path, recovery, "short", kdf=FAST_KDF)

    # Case, spaces and the O/0 I/1 confusions do not matter.
    typed = recovery.lower().replace("-", " ").replace("0", "o")
    Vault.recover(vault_path, typed, "a brand new passphrase", kdf=FAST_KDF).close(compact=False)
    with pytest.raises(WrongPassphrase):
        Vault.open(vault_path, PASSPHRASE)
    with Vault.open(vault_path, "a brand new passphrase") as v2:
        assert v2.get(rid) == resident("张三")
    # The recovery key keeps working after a passphrase change.
    Vault.recover(vault_path, recovery, "third passphrase!", kdf=FAST_KDF).close(compact=False)


def test_passphrase_change_rewraps_only(vault: Vault, vault_path: Path) -> None:
    vault.commit([Change("resident", new_id(), resident("张三"))])
    data_files = ("vault.key", "vault.state", "vault.lock")
    before = files_digest(vault_path, exclude=data_files)
    key_before = (vault_path / KEY_FILE).read_bytes()
    vault.change_passphrase("new secret words", kdf=FAST_KDF)
    assert files_digest(vault_path, exclude=data_files) == before
    assert (vault_path / KEY_FILE).read_bytes() != key_before
    vault.close(compact=False)
    with pytest.raises(WrongPassphrase):
        Vault.open(vault_path, PASSPHRASE)
    Vault.open(vault_path, "new secret words").close(compact=False)


def test_create_refuses_weak_passphrase_and_existing_vault(vault: Vault, vault_path: Path) -> None:
    with pytest.raises(VaultExists):
        Vault.create(vault_path, PASSPHRASE, kdf=FAST_KDF)
    with pytest.raises(WeakPassphrase):
        Vault.create(vault_path.parent / "other", "1234567", kdf=FAST_KDF)
    with pytest.raises(VaultNotFound):
        Vault.open(vault_path.parent / "nowhere", PASSPHRASE)


def test_default_kdf_is_calibrated_to_the_floor(vault_path: Path) -> None:
    v, _ = Vault.create(vault_path, PASSPHRASE)
    v.close(compact=False)
    slot = orjson.loads((vault_path / KEY_FILE).read_bytes())["slots"]["passphrase"]
    assert slot["kdf"] == "argon2id"
    assert slot["memory_kib"] >= MIN_MEMORY_KIB
    assert slot["iterations"] >= 2  # 64 MiB at t=1 is far below 150 ms on any machine


def test_newer_format_is_refused_clearly(vault: Vault, vault_path: Path) -> None:
    vault.close(compact=False)
    header = orjson.loads((vault_path / KEY_FILE).read_bytes())
    header.pop("checksum")
    header["version"] = 99
    header["checksum"] = crypto.sha256(crypto.canonical(header))
    (vault_path / KEY_FILE).write_bytes(orjson.dumps(header))
    with pytest.raises(VaultUnsupported) as info:
        Vault.open(vault_path, PASSPHRASE)
    assert "99" in info.value.render("en")


def test_second_process_is_locked_out(vault: Vault, vault_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        from fieldapp.store import Vault
        from fieldapp.errors import VaultLocked
        try:
            Vault.open({str(vault_path)!r}, {PASSPHRASE!r})
        except VaultLocked as exc:
            print("LOCKED", exc.render("zh_CN"))
        """
    )
    out = subprocess.run([python(), "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("LOCKED") and "另一个" in out.stdout
    with pytest.raises(VaultLocked):
        Vault.open(vault_path, PASSPHRASE)


def test_disk_full_on_save_changes_nothing(
    vault: Vault, vault_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = new_id()
    vault.commit([Change("resident", kept, resident("张三"))])
    real_write_all = fsio.write_all

    def half_then_enospc(fd: int, data: bytes) -> None:
        real_write_all(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(fsio, "write_all", half_then_enospc)
    lost = new_id()
    with pytest.raises(VaultWriteFailed) as info:
        vault.commit(
            [Change("resident", lost, resident("李四")), Change("resident", kept, {"name": "改"})]
        )
    assert "No space" in info.value.render("en")
    assert vault.get(lost) is None and vault.get(kept)["name"] == "张三"
    monkeypatch.setattr(fsio, "write_all", real_write_all)

    after = new_id()
    vault.commit([Change("resident", after, resident("王五"))])  # the vault still works
    vault.close(compact=False)
    with Vault.open(vault_path, PASSPHRASE) as v:
        assert v.report.torn_tail_bytes == 0
        assert v.get(lost) is None and v.get(kept)["name"] == "张三"
        assert v.get(after)["name"] == "王五"


def test_failed_fsync_refuses_further_saves_until_reopened(
    vault: Vault, vault_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def eio(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fdatasync", eio)
    with pytest.raises(VaultWriteFailed):
        vault.commit([Change("resident", new_id(), resident("张三"))])
    monkeypatch.undo()
    with pytest.raises(VaultWriteFailed) as info:
        vault.commit([Change("resident", new_id(), resident("李四"))])
    assert info.value.params["reason"] == "reopen"
    vault.close(compact=False)
    with Vault.open(vault_path, PASSPHRASE) as v:
        assert v.count("resident") == 0
        v.commit([Change("resident", new_id(), resident("王五"))])
        assert v.count("resident") == 1


def test_hlc_never_goes_back_across_reopen(
    vault: Vault, vault_path: Path, clock: FixedClock
) -> None:
    rid = new_id()
    ops = vault.commit([Change("resident", rid, resident("张三"))])
    vault.close()
    clock.set(dt.datetime(1970, 1, 2))  # a laptop whose clock was reset to 1970
    with Vault.open(vault_path, PASSPHRASE, clock=clock) as v:
        assert v.hlc.last >= max(op.hlc for op in ops)  # the snapshot remembers
        later = v.commit([Change("resident", rid, {"name": "张三二"})])
        assert later[0].hlc > max(op.hlc for op in ops)
        assert v.get(rid)["name"] == "张三二"


def test_check_passphrase_for_the_lock_screen(vault: Vault) -> None:
    assert vault.check_passphrase(PASSPHRASE)
    assert not vault.check_passphrase(PASSPHRASE + "x")
    vault.change_passphrase("changed passphrase", kdf=FAST_KDF)
    assert vault.check_passphrase("changed passphrase")
    assert not vault.check_passphrase(PASSPHRASE)


def test_create_with_a_recovery_key_shown_beforehand(vault_path: Path) -> None:
    recovery = new_recovery_key()
    v, shown = Vault.create(vault_path, PASSPHRASE, kdf=FAST_KDF, recovery=recovery)
    assert shown == recovery[1]
    v.close()
    Vault.recover(vault_path, recovery[1], "another passphrase", kdf=FAST_KDF).close()


def test_reads_in_other_threads_never_see_a_half_applied_save(vault: Vault) -> None:
    import threading

    ids = [new_id() for _ in range(300)]
    for rid in ids[:100]:
        vault.commit([Change("resident", rid, resident("起始"))])
    errors: list[BaseException] = []
    done = threading.Event()

    def reader() -> None:
        try:
            while not done.is_set():
                for rid, _ in vault.iter_records("resident"):
                    held = vault.get(rid)
                    assert held is not None and {"name", "community"} <= set(held)
                vault.meta_keys("draft/")
                vault.history(ids[0])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for th in threads:
        th.start()
    for i, rid in enumerate(ids[100:]):
        vault.commit(
            [
                Change("resident", rid, resident(f"居民{i}")),
                Change("resident", ids[i % 100], {"name": f"改{i}"}),
            ]
        )
        vault.put_meta(f"draft/{i}", {"x": i})
    done.set()
    for th in threads:
        th.join()
    assert not errors, errors[0]
    assert vault.count("resident") == 300


def test_a_full_disk_does_not_keep_a_long_journal_from_opening(
    vault: Vault, vault_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fieldapp.store import vault as vault_module

    for i in range(20):
        vault.commit([Change("resident", new_id(), resident(f"居民{i}"))])
    vault.close(compact=False)
    monkeypatch.setattr(vault_module, "COMPACT_BYTES", 100)

    def full(path: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fsio, "atomic_write", full)
    with Vault.open(vault_path, PASSPHRASE) as v:
        assert v.count("resident") == 20
        assert "compaction_skipped" in v.report.notes


def test_a_failed_generation_switch_refuses_further_saves(
    vault: Vault, vault_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rid = new_id()
    vault.commit([Change("resident", rid, resident("张三"))])

    def eio(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fdatasync", eio)
    with pytest.raises(VaultWriteFailed):
        vault.compact()
    monkeypatch.undo()
    with pytest.raises(VaultWriteFailed):
        vault.commit([Change("resident", new_id(), resident("李四"))])
    vault.close(compact=False)
    with Vault.open(vault_path, PASSPHRASE) as v:
        assert v.get(rid)["name"] == "张三"
