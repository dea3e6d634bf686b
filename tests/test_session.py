"""fieldapp.services.session: the one way the first run and `fieldapp init` create a
vault, and the one way the app and the command line open it."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldapp.errors import VaultExists, VaultNotAFolder, VaultNotFound, WrongPassphrase
from fieldapp.services import session
from fieldapp.services.records import RecordService
from fieldapp.store.crypto import new_recovery_key
from sync.team import DEVICE_KEY
from tests.conftest import FAST_KDF, PASSPHRASE


def test_a_created_vault_has_its_profile_and_signing_key_from_the_first_moment(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v"
    vault, recovery = session.create(
        path, PASSPHRASE, name="卓玛", community="八廓街道", kdf=FAST_KDF
    )
    assert recovery.count("-") == 13
    profile = RecordService(vault).profile()
    assert (profile["name"], profile["community"]) == ("卓玛", "八廓街道")
    assert vault.get_meta(DEVICE_KEY)  # bundles can be signed at once
    vault.close()
    with pytest.raises(VaultExists):
        session.create(path, PASSPHRASE, name="x", community="y", kdf=FAST_KDF)
    workspace = session.open_workspace(path, PASSPHRASE)
    with pytest.raises(WrongPassphrase):
        session.unlock(workspace, PASSPHRASE + "x")
    session.unlock(workspace, PASSPHRASE)
    workspace.vault.close()


def test_a_key_confirmed_before_creation_is_the_one_used(tmp_path: Path) -> None:
    key = new_recovery_key()
    vault, shown = session.create(
        tmp_path / "v", PASSPHRASE, name="a", community="b", kdf=FAST_KDF, recovery=key
    )
    vault.close()
    assert shown == key[1]


def test_opening_where_there_is_no_vault_or_a_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(VaultNotFound):
        session.open_vault(tmp_path / "nothing", PASSPHRASE)
    (tmp_path / "file").write_text("x")
    with pytest.raises(VaultNotAFolder):
        session.open_vault(tmp_path / "file" / "v", PASSPHRASE)
    with pytest.raises(VaultNotAFolder):
        session.create(tmp_path / "file", PASSPHRASE, name="a", community="b", kdf=FAST_KDF)
    assert (tmp_path / "file").read_text() == "x"
