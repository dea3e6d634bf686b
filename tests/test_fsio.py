"""The durable writes of ``fieldapp.store.fsio``: what ``atomic_write`` and
``replace_outside`` promise, pinned so that their shared tail can change safely."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from fieldapp.store import fsio


@pytest.mark.parametrize("write", [fsio.atomic_write, fsio.replace_outside])
def test_a_write_replaces_the_file_readable_by_the_user_alone_and_leaves_no_temp(
    tmp_path: Path, write: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    target = tmp_path / "card.fdevice"
    target.write_bytes(b"old")
    write(target, b"new")  # type: ignore[operator]
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["card.fdevice"]
    assert len(synced) == 2  # the file, then the folder that holds the rename


@pytest.mark.parametrize("write", [fsio.atomic_write, fsio.replace_outside])
def test_a_failed_write_keeps_the_old_file_and_removes_the_temp(
    tmp_path: Path, write: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fsio, "write_all", full)
    target = tmp_path / "card.fdevice"
    target.write_bytes(b"old")
    with pytest.raises(OSError):
        write(target, b"new")  # type: ignore[operator]
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["card.fdevice"]


def test_replace_outside_replaces_a_planted_link_and_never_writes_through_it(
    tmp_path: Path,
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"not yours")
    stick = tmp_path / "stick"
    stick.mkdir()
    os.symlink(elsewhere, stick / "card.fdevice")
    fsio.replace_outside(stick / "card.fdevice", b"card")
    assert not (stick / "card.fdevice").is_symlink()
    assert (stick / "card.fdevice").read_bytes() == b"card"
    assert elsewhere.read_bytes() == b"not yours"


def test_replace_outside_takes_a_fresh_random_temp_and_refuses_a_planted_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"not yours")
    stick = tmp_path / "stick"
    stick.mkdir()
    monkeypatch.setattr(fsio.secrets, "token_hex", lambda n: "planted0")  # a guessed name
    os.symlink(elsewhere, stick / ".card.fdevice.planted0.tmp")
    with pytest.raises(FileExistsError):
        fsio.replace_outside(stick / "card.fdevice", b"card")
    assert elsewhere.read_bytes() == b"not yours"
    assert not (stick / "card.fdevice").exists()
