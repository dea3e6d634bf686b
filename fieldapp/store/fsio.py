"""Durable file primitives: every write that returns is on the disk.

All vault writes go through :func:`write_all` so tests can inject a failing disk.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def write_all(fd: int, data: bytes) -> None:
    """Write every byte (os.write may write fewer) or raise OSError."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: temp file + fsync + rename + directory fsync.

    A crash leaves either the old file or the new one, never a mix; the temp file holds
    only what the caller passed (already encrypted for anything personal).
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    _write_and_replace(fd, tmp, path, data)


def replace_outside(path: Path, data: bytes) -> None:
    """Replace ``path`` on a stick or another folder we do not own with ``data``, like
    ``atomic_write`` but never through a link planted there: the temp file has a random
    name and is created exclusively (``O_EXCL | O_NOFOLLOW``), and ``rename`` replaces
    a link at ``path`` itself rather than what it points to."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    _write_and_replace(fd, tmp, path, data)


def _write_and_replace(fd: int, tmp: Path, path: Path, data: bytes) -> None:
    """The tail of both writes: ``data`` into the open temp file ``fd`` (at ``tmp``), the
    file fsynced and closed, renamed over ``path``, and the directory fsynced. A failure
    before the rename closes and removes the temp file. How ``tmp`` is opened (and so
    whether a planted link is refused) is the caller's."""
    try:
        write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


# ---------------------------------------------------------------- reading outside input


class NotRegularFile(OSError):
    """A FIFO, a device, a socket or a directory where a file was expected."""


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of the regular file ``path`` — never through a link (``O_NOFOLLOW``),
    never blocking on a FIFO — at most ``limit + 1`` of them, so that the caller can tell
    a file over the limit without reading it all (``/dev/zero`` has no end)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(f"not a regular file: {display(path)}")
        chunks = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Entry:
    """A directory entry named like what was looked for. ``problem`` is None for a
    regular file (not read yet), else ``link`` or ``not_regular``."""

    path: Path
    problem: str | None
    size: int = 0


def find_files(
    root: Path, suffix: str, *, max_entries: int = 100_000, max_depth: int = 16
) -> Iterator[Entry]:
    """Every entry below ``root`` whose name ends with ``suffix`` (dot-names skipped:
    temp files of an interrupted copy), depth first, sorted. Links are never followed:
    a linked folder is not entered, a linked file is reported as ``link``. Bounded in
    entries and depth; an unreadable folder is skipped, never an exception."""
    seen = 0
    try:
        info = os.lstat(root)
    except OSError:
        return
    if not stat.S_ISDIR(info.st_mode):
        if root.name.endswith(suffix):
            yield _entry(root, info)
        return
    stack: list[tuple[Path, int]] = [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name, reverse=True)
        except OSError:
            continue
        for item in entries:
            seen += 1
            if seen > max_entries:
                return
            if item.name.startswith("."):
                continue
            try:
                info = item.stat(follow_symlinks=False)
            except OSError:
                continue
            path = Path(item.path)
            if stat.S_ISDIR(info.st_mode):
                if item.name.endswith(suffix):
                    yield Entry(path, "not_regular")
                elif depth + 1 < max_depth:
                    stack.append((path, depth + 1))
            elif item.name.endswith(suffix):
                yield _entry(path, info)


def _entry(path: Path, info: os.stat_result) -> Entry:
    if stat.S_ISLNK(info.st_mode):
        return Entry(path, "link")
    if not stat.S_ISREG(info.st_mode):
        return Entry(path, "not_regular")
    return Entry(path, None, info.st_size)


def display(path: Path) -> str:
    """A path as text that can always be shown and stored: a name that is not UTF-8
    (a stick written on Windows in GBK) keeps its bytes as ``\\xNN`` escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")
