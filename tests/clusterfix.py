"""A real SeaweedFS cluster on 127.0.0.1, started by the tests: one ``weed master``
(``-defaultReplication=001``), two ``weed volume`` servers on the same rack, and
``weed filer -s3`` with the team's identities — the commands of docs/hub.md, "A cluster
for a district or a city".

Each process runs in its own process group with its output in ``<dir>/<name>.log``;
:meth:`Cluster.close` kills every group, whatever state the test left them in.
Readiness is polled (with a deadline), never slept for.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from sync import hub as hubmod
from tests.hubfix import free_port

READY_TIMEOUT = 30.0
RACK = "rack1"  # both volume servers: 001 = one more copy on another server, same rack


class ClusterError(AssertionError):
    """A cluster process died or did not become ready in time (its log is named)."""


@dataclass
class Proc:
    """One weed process of the cluster, and how to start it again."""

    name: str
    args: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it (again), appending to its log, in a process group of its own."""
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.log_path.parent,
                start_new_session=True,
                preexec_fn=hubmod._death_signal(),  # none left behind if pytest is killed
            )

    def alive(self) -> bool:
        """Whether it is running."""
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL its whole process group and reap it (a power cut, or teardown)."""
        if self.process is None or self.process.poll() is not None:
            return  # already gone and reaped: its group id may be someone else's by now
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def check(self) -> None:
        """``ClusterError`` (with its log) when it has died."""
        if not self.alive():
            tail = self.log_path.read_bytes()[-2000:].decode(errors="replace")
            raise ClusterError(f"weed {self.name} died; {self.log_path}:\n{tail}")


@dataclass
class Cluster:
    """The running cluster: ``endpoint`` is the S3 gateway, ``volumes`` the two servers."""

    root: Path
    master_port: int
    s3_port: int
    master: Proc
    volumes: list[Proc]
    filer: Proc
    volume_ports: list[int]
    killed: Proc | None = None  # the volume server killed on purpose (not a failure)

    @property
    def endpoint(self) -> str:
        """The S3 URL teams are pointed at."""
        return f"http://127.0.0.1:{self.s3_port}"

    @property
    def procs(self) -> list[Proc]:
        """Every process, master first."""
        return [self.master, *self.volumes, self.filer]

    def status(self) -> dict[str, Any]:
        """The master's view of its volume servers (``/dir/status``)."""
        url = f"http://127.0.0.1:{self.master_port}/dir/status"
        with urllib.request.urlopen(url, timeout=2) as answer:
            doc: dict[str, Any] = orjson.loads(answer.read())
        return doc

    def volume_ids(self) -> dict[str, str]:
        """Each volume server the master currently counts (``host:port``) → the ids of
        the volumes it holds, as the master writes them (``" 1-4"``)."""
        nodes: dict[str, str] = {}
        topology = self.status().get("Topology", {})
        for dc in topology.get("DataCenters") or []:
            for rack in dc.get("Racks") or []:
                for node in rack.get("DataNodes") or []:
                    nodes[str(node["Url"])] = str(node.get("VolumeIds", "")).strip()
        return nodes

    def live_volume_servers(self) -> set[str]:
        """The volume servers (``host:port``) the master currently counts."""
        return set(self.volume_ids())

    def _layouts(self, collection: str) -> list[dict[str, Any]]:
        layouts = self.status().get("Topology", {}).get("Layouts") or []
        return [lay for lay in layouts if lay.get("collection") == collection]

    def replication(self, collection: str) -> set[str]:
        """The replication settings of the volumes the master keeps for ``collection``."""
        return {str(lay["replication"]) for lay in self._layouts(collection)}

    def writable(self, collection: str) -> list[int]:
        """The volumes of ``collection`` the master would place a write on now."""
        return [int(v) for lay in self._layouts(collection) for v in lay.get("writables") or []]

    def wait_until(
        self, what: str, ready: Callable[[], bool], timeout: float = READY_TIMEOUT
    ) -> None:
        """Poll ``ready`` until it holds; ``ClusterError`` when a process dies or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if ready():
                    return
            except (OSError, urllib.error.URLError, ValueError):
                pass  # not answering yet
            for proc in self.procs:
                if proc.process is not None and proc is not self.killed:
                    proc.check()
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"cluster not ready ({what}) after {timeout} s; logs in {self.root}"
                )
            time.sleep(0.1)

    def kill_volume(self, i: int) -> None:
        """SIGKILL volume server ``i``, and wait until the master has dropped it."""
        proc = self.volumes[i]
        proc.kill()
        self.killed = proc
        gone = f"127.0.0.1:{self.volume_ports[i]}"
        self.wait_until(
            "master drops the killed volume", lambda: gone not in self.live_volume_servers()
        )

    def restart_volume(self, i: int) -> None:
        """Start volume server ``i`` again on its directory and port; wait until it is counted."""
        self.volumes[i].start()
        self.killed = None
        back = f"127.0.0.1:{self.volume_ports[i]}"
        self.wait_until("restarted volume", lambda: back in self.live_volume_servers())

    def close(self) -> None:
        """Kill every process group (filer first, master last)."""
        for proc in reversed(self.procs):
            proc.kill()


def master_command(port: int, mdir: Path) -> list[str]:
    """``weed master``: replication 001 unless a write asks otherwise, small volumes."""
    return [
        *"master -ip=127.0.0.1 -ip.bind=127.0.0.1 -peers=none -telemetry=false".split(),
        *"-defaultReplication=001 -volumeSizeLimitMB=64".split(),
        f"-port={port}",
        f"-mdir={mdir}",
    ]


def volume_command(port: int, vdir: Path, master: str) -> list[str]:
    """``weed volume``: at most a few volumes, on the rack both servers share."""
    return [
        *"volume -ip=127.0.0.1 -ip.bind=127.0.0.1 -max=4 -dataCenter=dc1".split(),
        f"-rack={RACK}",
        f"-port={port}",
        f"-dir={vdir}",
        f"-master={master}",
    ]


def filer_command(port: int, s3_port: int, root: Path, master: str, config: Path) -> list[str]:
    """``weed filer -s3``: the S3 gateway with the team's identities and nothing else
    (no IAM API, no Iceberg or Lance listeners); its sockets in ``root``, not /tmp."""
    return [
        *"filer -ip=127.0.0.1 -ip.bind=127.0.0.1".split(),
        f"-port={port}",
        f"-master={master}",
        f"-defaultStoreDir={root / 'filer'}",
        f"-localSocket={root / 'filer.sock'}",
        *"-s3 -s3.iam=false -s3.port.iceberg=0 -s3.port.lance=0".split(),
        f"-s3.port={s3_port}",
        f"-s3.config={config}",
        f"-s3.localSocket={root / 's3.sock'}",
    ]


def _answers_http(url: str) -> bool:
    """Whether ``url`` answers 200."""
    with urllib.request.urlopen(url, timeout=2) as answer:
        return bool(answer.status == 200)


def shell_script(bucket: str) -> str:
    """What ``weed shell`` is given once the filer runs: the team's bucket, and every write
    to it fsync'd by the volume servers before the answer (as ``fieldapp hub`` has it)."""
    return (
        f"s3.bucket.create -name {bucket}\n"
        f"fs.configure -locationPrefix=/buckets/{bucket}/ -fsync=true -apply\n"
    )


def _shell(weed: str, master: str, script: str, log_path: Path) -> None:
    """Run ``script`` in ``weed shell``; ``ClusterError`` unless the bucket was made and
    fsync is on."""
    try:
        done = subprocess.run(
            [weed, "shell", f"-master={master}"],
            input=script.encode(),
            capture_output=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        raise ClusterError(f"weed shell did not finish: {script!r}") from None
    log_path.write_bytes(done.stdout + done.stderr)
    if done.returncode != 0 or not re.search(rb'"fsync":\s*true', done.stdout):
        raise ClusterError(f"weed shell failed; {log_path}")


def _ports(count: int) -> list[int]:
    """``count`` distinct free ports, each with its gRPC companion (+10000) free too."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if not {port, port + 10000} & {p for q in ports for p in (q, q + 10000)}:
            ports.append(port)
    return ports


def start_cluster(
    root: Path, identities: dict[str, Any], bucket: str, ready: Callable[[str], bool]
) -> Cluster:
    """Start master, two volume servers and filer + S3 under ``root``, make ``bucket``
    (:func:`shell_script`); ``ready(endpoint)`` says when the S3 gateway serves it (the
    caller's probe: it has the credentials). Every process is killed again when
    starting fails."""
    weed = str(hubmod.weed_binary())
    config = hubmod.write_identities(root / "s3", identities)
    master_port, filer_port, s3_port, *volume_ports = _ports(5)
    master_addr = f"127.0.0.1:{master_port}"
    for sub in ("master", "filer", "volume0", "volume1"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    master = Proc(
        "master", [weed, *master_command(master_port, root / "master")], root / "master.log"
    )
    volumes = [
        Proc(f"volume{i}", [weed, *volume_command(port, root / f"volume{i}", master_addr)],
             root / f"volume{i}.log")
        for i, port in enumerate(volume_ports)
    ]  # fmt: skip
    filer_args = filer_command(filer_port, s3_port, root, master_addr, config)
    filer = Proc("filer", [weed, *filer_args], root / "filer.log")
    cluster = Cluster(root, master_port, s3_port, master, volumes, filer, volume_ports)
    try:
        master.start()
        cluster.wait_until("master", lambda: "Topology" in cluster.status())
        for v in volumes:
            v.start()
        want = {f"127.0.0.1:{p}" for p in volume_ports}
        cluster.wait_until("volumes", lambda: cluster.live_volume_servers() >= want)
        filer.start()
        filer_url = f"http://127.0.0.1:{filer_port}/"
        cluster.wait_until("filer", lambda: _answers_http(filer_url))
        _shell(weed, master_addr, shell_script(bucket), root / "shell.log")
        cluster.wait_until("s3", lambda: ready(cluster.endpoint))
        return cluster
    except BaseException:
        cluster.close()
        raise
