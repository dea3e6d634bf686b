"""Where bundles go: one small interface, a folder implementation (USB stick, shared
drive) that also serves as the test fake; S3 is in ``sync.s3``.

A transport confirms a delivery only when the bytes are durably there and read back
equal; until then the bundle stays in the outbox.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Protocol

from fieldapp.errors import BundleConflictError, TransportError
from fieldapp.store.fsio import display, find_files, fsync_dir, read_regular, write_all

SUFFIX = ".fbundle"


class Transport(Protocol):
    def key_for(self, team_id: str, device_id: str, seq: int) -> str:
        """Where this transport keeps a device's bundle ``seq``."""

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` (create-only); return only once it is durable."""

    def get(self, key: str) -> bytes: ...

    def list(self, prefix: str) -> list[str]: ...


class FolderTransport:
    """A folder: ``<root>/fieldapp/<team>/<device>/<seq>.fbundle``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def key_for(self, team_id: str, device_id: str, seq: int) -> str:
        return f"{team_id}/{device_id}/{seq:08d}{SUFFIX}"

    def _path(self, key: str) -> Path:
        """Where ``key`` lives on the stick. A stick is hostile: no part of the way
        there may be a link (a linked folder would put the bundle somewhere else)."""
        parts = key.split("/")
        if any(p in ("", ".", "..") or p.startswith(".") for p in parts):
            raise ValueError(f"bad key {key!r}")
        path = self.root / "fieldapp"
        for part in ("", *parts):
            path = path / part if part else path
            if path.is_symlink():
                raise TransportError(path=display(path), reason="a link on the stick")
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        try:
            if path.exists():
                if read_regular(path, len(data)) == data:
                    return  # delivered before, the acknowledgement was lost
                raise BundleConflictError(path=str(path))
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, path)  # create-only: fails if the name appeared meanwhile
                tmp.unlink()
            except FileExistsError:
                tmp.unlink(missing_ok=True)
                return self.put(key, data)
            except OSError:
                # FAT/exFAT sticks have no hard links; one writer per device folder, so a
                # check then rename is enough there.
                if path.exists():
                    tmp.unlink(missing_ok=True)
                    return self.put(key, data)
                os.rename(tmp, path)
            fsync_dir(path.parent)
            # Read back through a fresh open: a stick that lies about writes is caught here.
            if read_regular(path, len(data)) != data:
                raise TransportError(path=str(path), reason="read-back differs")
        except TransportError:
            raise
        except OSError as exc:
            raise TransportError(path=str(path), reason=exc.strerror or str(exc)) from None

    def get(self, key: str) -> bytes:
        from sync.bundle import MAX_BUNDLE

        try:
            data = read_regular(self._path(key), MAX_BUNDLE)
        except OSError as exc:
            raise TransportError(path=key, reason=exc.strerror or str(exc)) from None
        if len(data) > MAX_BUNDLE:
            raise TransportError(path=key, reason="larger than a bundle can be")
        return data

    def list(self, prefix: str = "") -> list[str]:
        base = self.root / "fieldapp"
        if base.is_symlink() or not base.is_dir():
            return []
        keys = []
        for entry in find_files(base, SUFFIX):
            key = entry.path.relative_to(base).as_posix()
            if entry.problem is None and key.startswith(prefix):
                keys.append(key)
        return sorted(keys)

    def clean_temp(self) -> int:
        """Remove half-written temp files of ours left by a pulled stick or a crash
        (regular files only, never through a link)."""
        removed = 0
        base = self.root / "fieldapp"
        if base.is_symlink() or not base.is_dir():
            return 0
        stack = [base]
        while stack:
            folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
                    stack.append(Path(entry.path))
                elif (
                    entry.name.startswith(".")
                    and entry.name.endswith(".tmp")
                    and entry.is_file(follow_symlinks=False)
                ):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                        removed += 1
        return removed
