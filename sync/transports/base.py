"""The transport interface (httpx ``_transports/base.py`` shape): a place that keeps
bundles under keys. ``folder.py`` implements it on a folder, ``s3.py`` on the hub.

A transport confirms a delivery only when the bytes are durably there and read back
equal; until then the bundle stays in the outbox. Reads are bounded and a listing names
the entries it cannot read, so one hostile entry never stops the others.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

SUFFIX = ".fbundle"


@dataclass(frozen=True)
class Listed:
    """One entry of a listing: its key and size, and why it cannot be read (``link``,
    ``not_regular``: what a hostile stick holds) or ``None`` when it can."""

    key: str
    size: int = 0
    problem: str | None = None


class Transport(ABC):
    """Bundles under keys: create-only writes, bounded reads, listings."""

    @abstractmethod
    def key_for(self, team_id: str, device_id: str, seq: int) -> str:
        """Where this transport keeps a device's bundle ``seq``."""

    @abstractmethod
    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` (create-only); return only once it is durable.
        The same bytes there already are a success (an acknowledgement was lost);
        different bytes raise :class:`~fieldapp.errors.BundleConflictError`."""

    @abstractmethod
    def get(self, key: str, limit: int | None = None) -> bytes:
        """The bytes under ``key``; with ``limit``, at most ``limit + 1`` of them, so an
        oversized entry is recognised without being read whole."""

    @abstractmethod
    def scan(self, prefix: str = "") -> list[Listed]:
        """Every entry under ``prefix``, sorted by key, those that cannot be read too."""

    @abstractmethod
    def where(self, key: str) -> str:
        """``key`` as a person finds it (a path, a URL): text safe to show and store."""

    @abstractmethod
    def probe(self) -> None:
        """Return when the place answers; raise a ``TransportError`` when it does not."""

    @abstractmethod
    def archive(self, key: str, target: str) -> None:
        """Move a merged bundle from ``key`` to ``target`` (the hub's inbox to its archive)."""

    def list(self, prefix: str = "") -> list[str]:
        """The keys under ``prefix`` that can be read, sorted."""
        return [entry.key for entry in self.scan(prefix) if entry.problem is None]
