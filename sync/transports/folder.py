"""A folder as a transport — a USB stick, a shared drive, a folder the supervisor merges
from — and the in-package fake for tests that would otherwise need a hub.

A stick is hostile: no part of the way to a key may be a link, reads are bounded and
take regular files only, and a listing names what it could not read.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from fieldapp.errors import BundleConflictError, TransportError
from fieldapp.store.fsio import (
    NotRegularFile,
    display,
    find_files,
    fsync_dir,
    read_regular,
    write_all,
)
from sync.transports.base import SUFFIX, Listed, Transport


class FolderTransport(Transport):
    """A folder: ``<root>/fieldapp/<team>/<device>/<seq>.fbundle``. With ``folder=""``
    keys are paths below ``root`` itself (any folder a supervisor merges from)."""

    def __init__(self, root: Path, *, folder: str = "fieldapp") -> None:
        self.root = Path(root)
        self.base = self.root / folder if folder else self.root

    def key_for(self, team_id: str, device_id: str, seq: int) -> str:
        """``<team>/<device>/<seq, 8 digits>.fbundle``."""
        return f"{team_id}/{device_id}/{seq:08d}{SUFFIX}"

    def _path(self, key: str) -> Path:
        """Where ``key`` lives on the stick. A stick is hostile: no part of the way
        there may be a link (a linked folder would put the bundle somewhere else)."""
        parts = key.split("/")
        if any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"bad key {key!r}")
        path = self.base
        for part in ("", *parts):
            path = path / part if part else path
            if path.is_symlink():
                raise TransportError(path=display(path), reason="a link on the stick")
        return path

    def put(self, key: str, data: bytes) -> None:
        """Write ``data`` under ``key``: create-only, fsynced, read back and compared."""
        if any(p.startswith(".") for p in key.split("/")):
            raise ValueError(f"bad key {key!r}")  # dot-names are our temp files
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

    def get(self, key: str, limit: int | None = None) -> bytes:
        """A regular file's bytes, never through a link, at most ``limit + 1``; without
        ``limit``, more than a bundle can be is refused. Something not a regular file
        raises ``TransportError`` with ``problem="not_regular"``."""
        from sync.bundle import MAX_BUNDLE

        try:
            data = read_regular(self._path(key), MAX_BUNDLE if limit is None else limit)
        except NotRegularFile as exc:
            raise TransportError(path=key, reason=str(exc), problem="not_regular") from None
        except OSError as exc:
            raise TransportError(path=key, reason=exc.strerror or str(exc)) from None
        if limit is None and len(data) > MAX_BUNDLE:
            raise TransportError(path=key, reason="larger than a bundle can be")
        return data

    def scan(self, prefix: str = "") -> list[Listed]:
        """Every entry named ``*.fbundle`` whose key starts with ``prefix``, links, FIFOs,
        devices and folders so named with their problem. Only the folder the prefix
        names is walked (a prefix naming a file: that entry alone); no link is followed."""
        if self.base.is_symlink() or not self.base.is_dir():
            return []
        folder, _, name = prefix.rpartition("/")
        try:
            start = self._path(folder) if folder else self.base
        except (TransportError, ValueError):
            return []  # a linked folder is not entered
        with contextlib.suppress(OSError):
            if name and not stat.S_ISDIR(os.lstat(start / name).st_mode):
                start = start / name
        found = []
        for entry in find_files(start, SUFFIX):
            key = entry.path.relative_to(self.base).as_posix()
            if key.startswith(prefix):
                found.append(Listed(key, entry.size, entry.problem))
        return sorted(found, key=lambda listed: listed.key)

    def where(self, key: str) -> str:
        """The key's path, with a name that is not UTF-8 shown as ``\\xNN`` escapes."""
        return display(self.base / key)

    def probe(self) -> None:
        """The folder answers when it is there (a stick that is plugged in)."""
        if not self.root.is_dir() or self.base.is_symlink():
            raise TransportError(path=display(self.root), reason="not a folder")

    def archive(self, key: str, target: str) -> None:
        """Rename ``key`` to ``target`` (never through a link), as a hub moves a merged
        bundle out of its inbox; a key renamed before is done."""
        source, dest = self._path(key), self._path(target)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(source, dest)
            except FileNotFoundError:
                return  # moved before: the answer was lost
            fsync_dir(dest.parent)
            fsync_dir(source.parent)
        except OSError as exc:
            raise TransportError(path=str(source), reason=exc.strerror or str(exc)) from None

    def clean_temp(self) -> int:
        """Remove half-written temp files of ours left by a pulled stick or a crash
        (regular files only, never through a link)."""
        removed = 0
        base = self.base
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
