"""Child processes for the kill -9 loops and the CLI tests, read through ONE stream each.

Reading a pipe partly through its text wrapper (``child.stdout.readline()``) and then
with ``communicate()`` (which reads the raw file descriptor) loses whatever the wrapper
had already buffered: under load, the very ACK lines a kill -9 test counts. Here each
of stdout and stderr has one reader thread that reads it line by line to the end; the
test waits on the lines collected, and after the child ends it has all of them.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
WAIT = 120.0  # seconds a child may take to say something, even on a loaded machine


class Child:
    """A running child whose output is collected line by line (``out``, ``err``)."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        stdin: str | None = None,
        env: dict[str, str] | None = None,
        cwd: Path = ROOT,
    ) -> None:
        self.args = list(args)
        self.process = subprocess.Popen(
            self.args,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=env,
            cwd=cwd,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        if stdin is not None:
            assert self.process.stdin is not None
            self.process.stdin.write(stdin)
            self.process.stdin.flush()

    @classmethod
    def python(cls, script: str, *args: str, **options: object) -> Child:
        """``python tests/<script> args…``."""
        return cls([sys.executable, str(ROOT / "tests" / script), *args], **options)  # type: ignore[arg-type]

    def _read(self, stream: IO[str] | None, into: list[str]) -> None:
        assert stream is not None
        for line in stream:  # to the end: nothing is left in a buffer
            with self._changed:
                into.append(line.rstrip("\n"))
                self._changed.notify_all()
        stream.close()
        with self._changed:
            self._changed.notify_all()

    def _reading(self) -> bool:
        return any(reader.is_alive() for reader in self._readers)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = WAIT) -> str:
        """The first stdout line for which ``predicate`` holds; fails with what the child
        wrote to stderr if it ends or stays silent for ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._changed:
            while True:
                for line in self.out[seen:]:
                    if predicate(line):
                        return line
                seen = len(self.out)
                left = deadline - time.monotonic()
                if left <= 0 or not self._reading():
                    break
                self._changed.wait(min(left, 1.0))
        self.kill()
        raise AssertionError(
            f"{self.args[1:]} never printed what was expected; "
            f"stdout {self.out[-5:]!r}, stderr {self.err[-20:]!r}"
        )

    def wait_for_line(self, text: str, timeout: float = WAIT) -> str:
        return self.wait_for(lambda line: line.strip() == text, timeout)

    def finish(self, timeout: float = WAIT) -> int:
        """Wait for the child to end and for every line it wrote; its exit code."""
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"{self.args[1:]} did not end; stderr {self.err[-20:]!r}"
            ) from None
        for reader in self._readers:
            reader.join(timeout)
        if self.process.stdin is not None:
            self.process.stdin.close()
        return code

    def kill(self) -> int:
        """kill -9, then collect everything it wrote before it died."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        return self.finish()

    def terminate(self) -> int:
        """SIGTERM (a clean stop), then everything it wrote."""
        if self.process.poll() is None:
            self.process.terminate()
        return self.finish()

    @property
    def stdout(self) -> str:
        return "\n".join(self.out)

    @property
    def stderr(self) -> str:
        return "\n".join(self.err)
