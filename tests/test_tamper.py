"""Tampering and damage: every mutation of every vault file is refused with a clear
VaultTampered, or recovered with the data intact and the repair reported.
Never garbage, never another exception, never a change to the files on refusal."""

from __future__ import annotations

import os
import shutil
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldapp.domain.ids import new_id
from fieldapp.errors import VaultTampered, WrongPassphrase
from fieldapp.store import Change, Vault
from fieldapp.store.frames import JOURNAL_MAGIC, STATE_SLOT
from tests.conftest import FAST_KDF, PASSPHRASE
from tests.test_vault import files_digest

Mutation = Callable[[Path], None]


def build(path: Path) -> dict[str, dict[str, object]]:
    """A vault with an archive, a snapshot and a journal of 6 frames; returns its records."""
    v, _ = Vault.create(path, PASSPHRASE, kdf=FAST_KDF)
    ids = [new_id() for _ in range(9)]
    for i in range(3):
        v.commit([Change("resident", ids[i], {"name": f"早期{i}", "community": "史家"})])
    v.close()  # compaction: ops-000000, snap-000001, journal-000001
    v = Vault.open(path, PASSPHRASE)
    for i in range(3, 9):
        v.commit([Change("resident", ids[i], {"name": f"居民{i}", "community": "演乐"})])
    v.commit([Change("resident", ids[0], {"name": "改名"})])
    state = {rid: dict(v.get(rid) or {}) for rid in ids}
    v.close(compact=False)
    return state


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, object]]]:
    path = tmp_path_factory.mktemp("pristine") / "vault"
    return path, build(path)


def frames(journal: bytes) -> list[tuple[int, int]]:
    """(start, end) of each frame in a journal file."""
    out, pos = [], len(JOURNAL_MAGIC)
    while pos < len(journal):
        (n,) = struct.unpack_from(">I", journal, pos)
        out.append((pos, pos + 4 + n))
        pos += 4 + n
    return out


def flip(name: str, where: Callable[[bytes], int]) -> Mutation:
    def mutate(path: Path) -> None:
        data = bytearray((path / name).read_bytes())
        data[where(bytes(data))] ^= 0x01
        (path / name).write_bytes(bytes(data))

    mutate.__name__ = f"flip {name}"
    return mutate


def truncate(name: str, where: Callable[[bytes], int]) -> Mutation:
    def mutate(path: Path) -> None:
        data = (path / name).read_bytes()
        (path / name).write_bytes(data[: where(data)])

    return mutate


def swap_frames(i: int, j: int) -> Mutation:
    def mutate(path: Path) -> None:
        p = path / "journal-000001.fv"
        data = p.read_bytes()
        spans = frames(data)
        parts = [data[s:e] for s, e in spans]
        parts[i], parts[j] = parts[j], parts[i]
        p.write_bytes(data[: spans[0][0]] + b"".join(parts))

    return mutate


def delete(name: str) -> Mutation:
    return lambda path: (path / name).unlink()


def key_slot(data: bytes) -> int:
    return data.index(b'"wrapped"') + 20


def last_frame(data: bytes) -> int:
    return frames(data)[-1][0] + 40


REFUSED: dict[str, Mutation] = {
    "key header": flip("vault.key", lambda d: 20),
    "key slot": flip("vault.key", key_slot),
    "key tail": flip("vault.key", lambda d: len(d) - 10),
    "key truncated": truncate("vault.key", lambda d: len(d) // 2),
    "key empty": truncate("vault.key", lambda d: 0),
    "both state slots": lambda p: (
        flip("vault.state", lambda d: 40)(p),
        flip("vault.state", lambda d: STATE_SLOT + 40)(p),
    ),
    "state deleted": delete("vault.state"),
    "snapshot header": flip("snap-000001.fv", lambda d: 3),
    "snapshot body": flip("snap-000001.fv", lambda d: len(d) // 2),
    "snapshot tail": flip("snap-000001.fv", lambda d: len(d) - 1),
    "snapshot truncated": truncate("snap-000001.fv", lambda d: len(d) - 100),
    "snapshot deleted": delete("snap-000001.fv"),
    "journal header": flip("journal-000001.fv", lambda d: 2),
    "journal first frame length": flip("journal-000001.fv", lambda d: len(JOURNAL_MAGIC) + 3),
    "journal body": flip("journal-000001.fv", lambda d: frames(d)[2][0] + 30),
    "journal tail (last acknowledged frame)": flip("journal-000001.fv", last_frame),
    "journal last byte": flip("journal-000001.fv", lambda d: len(d) - 1),
    "journal truncated mid-frame": truncate("journal-000001.fv", lambda d: frames(d)[3][0] + 10),
    "journal truncated at a frame boundary": truncate(
        "journal-000001.fv", lambda d: frames(d)[-1][0]
    ),
    "journal truncated to its header": truncate("journal-000001.fv", lambda d: len(JOURNAL_MAGIC)),
    "journal frames swapped": swap_frames(1, 2),
    "journal deleted": delete("journal-000001.fv"),
}


@pytest.mark.parametrize("mutation", list(REFUSED), ids=list(REFUSED))
def test_damage_is_refused_clearly_and_changes_nothing(
    pristine: tuple[Path, dict[str, dict[str, object]]], tmp_path: Path, mutation: str
) -> None:
    source, _ = pristine
    path = tmp_path / "vault"
    shutil.copytree(source, path)
    REFUSED[mutation](path)
    before = files_digest(path)
    with pytest.raises(VaultTampered) as info:
        Vault.open(path, PASSPHRASE)
    for lang in ("en", "zh_CN"):
        text = info.value.render(lang)
        assert info.value.params["file"] in text
        assert "vault.damage" not in text and "vault.tampered" not in text
    assert files_digest(path) == before
    # The lock is released: a second attempt gives the same answer, not "locked".
    with pytest.raises(VaultTampered):
        Vault.open(path, PASSPHRASE)


def test_archive_damage_is_refused_when_history_is_read(
    pristine: tuple[Path, dict[str, dict[str, object]]], tmp_path: Path
) -> None:
    source, state = pristine
    path = tmp_path / "vault"
    shutil.copytree(source, path)
    flip("ops-000000.fv", lambda d: len(d) // 2)(path)
    with Vault.open(path, PASSPHRASE) as v:
        assert {rid: v.get(rid) for rid in state} == state  # records come from the snapshot
        with pytest.raises(VaultTampered) as info:
            v.history(next(iter(state)))
        assert info.value.params["file"] == "ops-000000.fv"


@pytest.mark.parametrize(
    "tail",
    [b"\x00" * 37, b"\x00\x00\x01\x00garbage", b"\x00\x00"],
    ids=["zeros", "short garbage", "two bytes"],
)
def test_torn_tail_is_cut_and_reported(
    pristine: tuple[Path, dict[str, dict[str, object]]], tmp_path: Path, tail: bytes
) -> None:
    source, state = pristine
    path = tmp_path / "vault"
    shutil.copytree(source, path)
    journal = path / "journal-000001.fv"
    journal.write_bytes(journal.read_bytes() + tail)
    with Vault.open(path, PASSPHRASE) as v:
        assert v.report.torn_tail_bytes == len(tail)
        assert [m for m, _ in v.report.messages()] == ["vault.report.torn_tail"]
        assert {rid: v.get(rid) for rid in state} == state
    with Vault.open(path, PASSPHRASE) as v:
        assert v.report.torn_tail_bytes == 0


def test_half_written_unacknowledged_frame_is_a_torn_tail(
    pristine: tuple[Path, dict[str, dict[str, object]]], tmp_path: Path
) -> None:
    source, state = pristine
    path = tmp_path / "vault"
    shutil.copytree(source, path)
    journal = path / "journal-000001.fv"
    data = journal.read_bytes()
    start, end = frames(data)[-1]
    # Pretend the last frame was a second copy being appended when the power went.
    journal.write_bytes(data + data[start : (start + end) // 2])
    with Vault.open(path, PASSPHRASE) as v:
        assert v.report.torn_tail_bytes == (end - start) // 2
        assert {rid: v.get(rid) for rid in state} == state


def test_one_damaged_state_slot_is_recovered_from_the_other(
    pristine: tuple[Path, dict[str, dict[str, object]]], tmp_path: Path
) -> None:
    source, state = pristine
    for slot in (0, 1):
        path = tmp_path / f"vault{slot}"
        shutil.copytree(source, path)
        flip("vault.state", lambda d, s=slot: s * STATE_SLOT + 40)(path)
        with Vault.open(path, PASSPHRASE) as v:
            assert {rid: v.get(rid) for rid in state} == state
            assert v.report.state_slot_damaged or v.report.frames_replayed > 0


def test_restoring_older_copies_is_refused_or_harmless(tmp_path: Path) -> None:
    path = tmp_path / "vault"
    v, _ = Vault.create(path, PASSPHRASE, kdf=FAST_KDF)
    rid = new_id()
    v.commit([Change("resident", rid, {"name": "一", "community": "史家"})])
    old = {p.name: p.read_bytes() for p in path.iterdir()}
    v.commit([Change("resident", rid, {"name": "二"})])
    v.change_passphrase("a newer passphrase", kdf=FAST_KDF)
    v.commit([Change("resident", rid, {"name": "三"})])
    v.close()  # new generation: the old snapshot/journal names no longer exist
    v = Vault.open(path, "a newer passphrase")
    v.commit([Change("resident", rid, {"name": "四"})])
    v.close(compact=False)

    copies = iter(range(100))

    def restore(name: str, rename: str | None = None) -> Path:
        target = tmp_path / f"restored-{next(copies)}"
        shutil.copytree(path, target)
        (target / (rename or name)).write_bytes(old[name])
        return target

    # An older key file: the old passphrase unwraps it, but it is older than the data.
    with pytest.raises(VaultTampered) as info:
        Vault.open(restore("vault.key"), PASSPHRASE)
    assert info.value.params["what"] == "older than the vault"
    with pytest.raises(WrongPassphrase):
        Vault.open(restore("vault.key"), "a newer passphrase")
    # An older state file points at a generation whose files are gone.
    with pytest.raises(VaultTampered):
        Vault.open(restore("vault.state"), "a newer passphrase")
    # An older journal or snapshot put in place of the current one does not verify.
    with pytest.raises(VaultTampered):
        Vault.open(restore("journal-000000.fv", "journal-000001.fv"), "a newer passphrase")
    with pytest.raises(VaultTampered):
        Vault.open(restore("snap-000000.fv", "snap-000001.fv"), "a newer passphrase")
    with Vault.open(path, "a newer passphrase") as current:
        assert current.get(rid)["name"] == "四"


def test_frame_from_another_vault_does_not_verify(tmp_path: Path) -> None:
    a_path, b_path = tmp_path / "a", tmp_path / "b"
    a, _ = Vault.create(a_path, PASSPHRASE, kdf=FAST_KDF)
    b, _ = Vault.create(b_path, PASSPHRASE, kdf=FAST_KDF)
    a.commit([Change("resident", new_id(), {"name": "甲", "community": "x"})])
    b.commit([Change("resident", new_id(), {"name": "乙", "community": "x"})])
    a.close(compact=False)
    b.close(compact=False)
    shutil.copy(a_path / "journal-000000.fv", b_path / "journal-000000.fv")
    with pytest.raises(VaultTampered):
        Vault.open(b_path, PASSPHRASE)


# ------------------------------------------------------------------ property: any damage

FILES = ["vault.key", "vault.state", "snap-000001.fv", "journal-000001.fv"]


@settings(
    max_examples=int(os.environ.get("FIELDAPP_DAMAGE_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    name=st.sampled_from(FILES),
    kind=st.sampled_from(["flip", "truncate", "append", "overwrite"]),
    position=st.floats(0, 1, exclude_max=True),
    payload=st.binary(min_size=1, max_size=64),
)
def test_any_damage_is_refused_or_harmless(
    pristine: tuple[Path, dict[str, dict[str, object]]],
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    kind: str,
    position: float,
    payload: bytes,
) -> None:
    source, state = pristine
    path = tmp_path_factory.mktemp("prop") / "vault"
    shutil.copytree(source, path)
    target = path / name
    data = bytearray(target.read_bytes())
    at = int(position * len(data))
    if kind == "flip":
        data[at] ^= payload[0] or 1
    elif kind == "truncate":
        del data[at:]
    elif kind == "append":
        data += payload
    else:
        data[at : at + len(payload)] = payload
    target.write_bytes(bytes(data))
    try:
        v = Vault.open(path, PASSPHRASE)
    except VaultTampered as exc:
        assert exc.render("zh_CN") and exc.params["file"] in FILES
        return
    except WrongPassphrase:
        # Only a key slot edited so that its checksum still matches can say this.
        assert name == "vault.key"
        return
    with v:
        assert {rid: v.get(rid) for rid in state} == state


def test_a_flipped_version_digit_is_damage_not_a_newer_format(
    pristine: tuple[Path, dict[str, dict[str, object]]], tmp_path: Path
) -> None:
    """Found by the property test: flipping the key "version" gave "written by a newer fieldapp"."""
    source, _ = pristine
    path = tmp_path / "vault"
    shutil.copytree(source, path)
    key = path / "vault.key"
    key.write_bytes(key.read_bytes().replace(b'"version"', b'"versioo"', 1))
    with pytest.raises(VaultTampered):
        Vault.open(path, PASSPHRASE)
