"""Shared fixtures: data and config in tmp_path, cheap KDF parameters for vaults."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldapp.store import KdfParams, Vault

ROOT = Path(__file__).resolve().parent.parent
# The production floor is ≥ 64 MiB / ≥ 150 ms (calibrated at init); tests that are
# not about the KDF use cheap parameters, which the key slot records like any other.
FAST_KDF = KdfParams(memory_kib=1024, iterations=1, lanes=1)
PASSPHRASE = "correct horse battery"
pytest_plugins = ["tests.hubfix"]  # the real hub's fixtures


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIELDAPP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FIELDAPP_LANG", "en")


@pytest.fixture
def vault_path(tmp_path: Path) -> Path:
    return tmp_path / "vault"


@pytest.fixture
def vault(vault_path: Path) -> Iterator[Vault]:
    v, _ = Vault.create(vault_path, PASSPHRASE, kdf=FAST_KDF)
    yield v
    v.close(compact=False)


def python() -> str:
    return sys.executable


def kill_child_at_random(script: str, args: list[str], after: float) -> None:
    """Start ``tests/<script>``, wait for its READY, let it work ``after`` seconds,
    then kill -9 it (the crash and outbox loops)."""
    import signal
    import subprocess
    import time

    child = subprocess.Popen(
        [python(), str(ROOT / "tests" / script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "READY", child.stderr
    time.sleep(after)
    child.send_signal(signal.SIGKILL)
    _, err = child.communicate()
    assert child.returncode == -signal.SIGKILL, err
