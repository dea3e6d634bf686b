"""The one clock (DESIGN §3.0): every party reads its own, tests set it, and nothing in
the product reads the calendar behind its back."""

from __future__ import annotations

import ast
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

import pytest

from fieldapp.domain import hlc
from fieldapp.domain.clock import FixedClock, SystemClock
from fieldapp.domain.ids import new_id
from fieldapp.services.workspace import Workspace
from fieldapp.store import Change, Vault
from tests.conftest import FAST_KDF, PASSPHRASE, ROOT, T0


def test_a_fixed_clock_stands_still_until_moved() -> None:
    clock = FixedClock(T0)
    assert clock.now() == T0 and clock.today() == T0.date()
    mono = clock.monotonic()
    clock.sleep(90)  # waiting moves it, at once
    assert clock.now() == T0 + dt.timedelta(seconds=90)
    assert clock.monotonic() == mono + 90
    clock.advance(days=2)
    assert clock.today() == T0.date() + dt.timedelta(days=2)
    clock.set(dt.datetime(1970, 1, 2))  # the wall clock may be set back…
    assert clock.now() == dt.datetime(1970, 1, 2)
    assert clock.monotonic() == mono + 90 + 2 * 86_400  # …the monotonic one never is
    with pytest.raises(ValueError):
        clock.advance(-1)
    assert FixedClock(T0.date()).now() == dt.datetime.combine(T0.date(), dt.time(12))


def test_a_shifted_system_clock_runs_ahead_of_the_machine() -> None:
    ahead = SystemClock(offset=5 * 86_400)
    difference = ahead.wall_ms() - SystemClock().wall_ms()
    assert 5 * 86_400_000 - 1000 < difference <= 5 * 86_400_000
    assert ahead.now() - SystemClock().now() > dt.timedelta(days=4, hours=23)


def test_the_vault_stamps_ops_and_reports_days_on_its_own_clock(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    vault, _ = Vault.create(tmp_path / "v", PASSPHRASE, kdf=FAST_KDF, clock=clock)
    try:
        rid = new_id()
        [first] = vault.commit([Change("resident", rid, {"name": "张三"})])
        clock.advance(3600)
        [second] = vault.commit([Change("resident", rid, {"name": "张三丰"})])
        assert hlc.physical_ms(first.hlc) == int(T0.timestamp() * 1000)
        assert hlc.physical_ms(second.hlc) == int(T0.timestamp() * 1000) + 3_600_000
        workspace = Workspace(vault)
        assert workspace.today() == T0.date() and workspace.now() == T0 + dt.timedelta(hours=1)
        clock.advance(days=400)
        assert workspace.today() == T0.date() + dt.timedelta(days=400)
    finally:
        vault.close(compact=False)


def test_the_merge_bounds_clock_skew_by_the_supervisors_clock(tmp_path: Path) -> None:
    """A worker 23 h ahead is accepted; 25 h ahead is refused — measured against the
    supervisor's clock, whatever day the machine thinks it is."""
    from sync import outbox, sources, team
    from sync.transports.folder import FolderTransport

    supervisor_clock = FixedClock(T0)
    sup, _ = Vault.create(tmp_path / "sup", PASSPHRASE, kdf=FAST_KDF, clock=supervisor_clock)
    code = team.create_team(sup, "督导").code()
    outcomes = {}
    for hours in (23, 25):
        w, _ = Vault.create(
            tmp_path / f"w{hours}",
            PASSPHRASE,
            kdf=FAST_KDF,
            clock=FixedClock(T0 + dt.timedelta(hours=hours)),
        )
        _, device_code = team.join(w, code, f"社工{hours}")
        team.enrol(sup, device_code)
        w.commit([Change("resident", new_id(), {"name": "未来", "community": "史家社区"})])
        stick = tmp_path / f"stick{hours}"
        outbox.sync_to(w, FolderTransport(stick))
        w.close(compact=False)
        [outcome] = sources.merge_sources(sup, [stick]).outcomes
        outcomes[hours] = outcome.kind
    enrolled = [d.enrolled for d in team.devices(sup)]
    sup.close(compact=False)
    assert outcomes == {23: "applied", 25: "quarantined"}
    assert enrolled == [T0.date().isoformat()] * 2  # the supervisor's day, too


# Calls that read the wall clock without asking a Clock; only fieldapp/domain/clock.py
# may make them.
FORBIDDEN = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "localtime"),
    ("time", "gmtime"),
}


def test_nothing_in_the_product_reads_the_wall_clock_behind_the_clocks_back() -> None:
    found = []
    for package in ("fieldapp", "sync"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.relative_to(ROOT).as_posix() == "fieldapp/domain/clock.py":
                continue
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.Attribute):
                    owner = node.value
                    name = getattr(owner, "attr", getattr(owner, "id", ""))
                    if (name, node.attr) in FORBIDDEN:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}.{node.attr}")
    assert not found


@pytest.mark.skipif("CLOCKSHIFT_SECONDS" not in os.environ, reason="only in the shifted-clock pass")
def test_the_shifted_pass_really_moved_the_clock() -> None:
    """The kernel stamps a new file with the real time; our wall clock is the shifted
    one. Without this check a pass whose shift silently failed would prove nothing."""
    shift = int(os.environ["CLOCKSHIFT_SECONDS"])
    assert abs(shift) > 86_400
    with tempfile.NamedTemporaryFile() as f:
        real = os.stat(f.name).st_mtime
    assert abs(time.time() - real - shift) < 60
    assert abs(SystemClock().wall_ms() / 1000 - real - shift) < 60
