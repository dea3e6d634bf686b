"""The error log: what went wrong where, and never with whom.

An unexpected exception (a bug, a record the code cannot read) is written here so the
team can find it, as the exception's type and the code locations it passed through —
never its message, arguments or local variables, which can hold a resident's name or
an ID number (DESIGN §3.3: no plaintext personal data on disk, logs included).
The file is bounded: past :data:`MAX_BYTES` it is moved to ``errors.log.1``.
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path

from fieldapp import paths
from fieldapp.domain.clock import SYSTEM, Clock

LOG_NAME = "errors.log"
MAX_BYTES = 64 * 1024
MAX_FRAMES = 12


def log_path() -> Path:
    """Where the error log is written: ``errors.log`` in the data folder."""
    return paths.data_dir() / LOG_NAME


def place(error: BaseException) -> str:
    """Where an exception was raised: ``file.py:line`` of its innermost frame."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{Path(last.filename).name}:{last.lineno}"


def describe(error: BaseException, what: str, clock: Clock = SYSTEM, detail: str = "") -> list[str]:
    """The lines logged for ``error``: when, what was being done, the exception's type,
    the ``detail`` a caller knows to be free of personal data (a library's name for the
    failure: ``EndpointConnectionError``, ``SignatureDoesNotMatch``) and the frames it
    passed through (file, line, function) — nothing else."""
    head = f"{clock.now().isoformat(timespec='seconds')} {what} {type(error).__name__}"
    lines = [f"{head} ({detail[:200]})" if detail else head]
    frames = traceback.extract_tb(error.__traceback__)[-MAX_FRAMES:]
    lines += [f"  {Path(f.filename).name}:{f.lineno} {f.name}" for f in frames]
    return lines


def record(error: BaseException, what: str, clock: Clock = SYSTEM, detail: str = "") -> Path | None:
    """Append ``error`` (and ``detail``, see :func:`describe`) to the log; returns the log's
    path, or None when it cannot be written (a full or read-only disk must not turn one
    failure into two)."""
    path = log_path()
    text = "\n".join(describe(error, what, clock, detail)) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            if path.stat().st_size + len(text) > MAX_BYTES:
                os.replace(path, path.with_name(LOG_NAME + ".1"))
        except FileNotFoundError:
            pass
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, text.encode("utf-8"))
        finally:
            os.close(fd)
    except OSError:
        return None
    return path
