"""Shared fixtures: data and config in tmp_path, cheap KDF parameters for vaults, and
a fixed clock for every party (DESIGN §3.0: no test reads the calendar)."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldapp.domain.clock import FixedClock
from fieldapp.store import KdfParams, Vault

ROOT = Path(__file__).resolve().parent.parent
# The production floor is ≥ 64 MiB / ≥ 150 ms (calibrated at init); tests that are
# not about the KDF use cheap parameters, which the key slot records like any other.
FAST_KDF = KdfParams(memory_kib=1024, iterations=1, lanes=1)
PASSPHRASE = "correct horse battery"
# The moment most scenarios happen at: a weekday morning. Tests that need real time
# (the hub: SeaweedFS checks request signatures against its own clock) use SystemClock.
T0 = dt.datetime(2026, 11, 29, 10, 30)
pytest_plugins = ["tests.hubfix"]  # the real hub's fixtures


# Fixtures that start the real hub. SeaweedFS checks request signatures against the real
# time, so the shifted-clock passes (-m "not hub") must leave out every test using one.
HUB_FIXTURES = {"hub_team"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that starts the real hub is a hub test, whether its module says so or not."""
    for item in items:
        if HUB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.hub)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIELDAPP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FIELDAPP_LANG", "en")


@pytest.fixture(autouse=True)
def _reset_language() -> Iterator[None]:
    """Whatever language a test set (an app started in Chinese sets it for the process)
    is forgotten after it: the next test reads ``FIELDAPP_LANG`` again."""
    yield
    from fieldapp import i18n

    i18n._current = None


@pytest.fixture
def vault_path(tmp_path: Path) -> Path:
    return tmp_path / "vault"


@pytest.fixture
def clock() -> FixedClock:
    """The scenario's clock, standing at :data:`T0` until a test moves it."""
    return FixedClock(T0)


@pytest.fixture
def vault(vault_path: Path, clock: FixedClock) -> Iterator[Vault]:
    v, _ = Vault.create(vault_path, PASSPHRASE, kdf=FAST_KDF, clock=clock)
    yield v
    v.close(compact=False)


def python() -> str:
    return sys.executable


def kill_child_at_random(
    script: str, args: list[str], after: float, *, may_finish: bool = False
) -> list[str]:
    """Start ``tests/<script>``, wait for its READY, let it work ``after`` seconds,
    then kill -9 it (the outbox, merge and hub loops). Returns every line it printed.
    ``may_finish``: the child has an end, and may reach it before the kill."""
    import signal
    import time

    from tests.children import Child

    child = Child.python(script, *args)
    child.wait_for_line("READY")
    time.sleep(after)
    code = child.kill()
    assert code == -signal.SIGKILL or (may_finish and code == 0), child.stderr
    return child.out
