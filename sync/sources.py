"""The supervisor's pass over sticks and folders: every bundle found through the folder
transport, in device and sequence order, each hostile entry refused on its own."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from fieldapp.errors import BundleTooLarge, CardError, NotAFile, SourceNotFound, TransportError
from fieldapp.store import Vault, fsio
from sync import counts as sync_counts
from sync import scope
from sync.aggregates import MAX_BUNDLE as COUNTS_MAX
from sync.bundle import MAX_BUNDLE, peek_header
from sync.merge import Merger, Outcome, Summary
from sync.transports.base import Listed, Transport
from sync.transports.folder import FolderTransport

HEAD_PEEK = 8192  # enough of a file to read its header (MAX_HEADER + framing)


def merge_sources(vault: Vault, paths: Iterable[Path]) -> Summary:
    """Receive every bundle found in files and folders (sorted by device and sequence).

    A stick is hostile until verified: only regular files named ``*.fbundle`` are read,
    never through a link, each at most MAX_BUNDLE + 1 bytes, one at a time; anything
    else so named (a link, a FIFO, a device, a directory) is refused on its own, and
    one bad entry never stops the others. A path that does not exist is
    :class:`~fieldapp.errors.SourceNotFound` (nothing is merged)."""
    places = []
    for path in paths:
        try:
            root = Path(path).resolve(strict=True)  # the user's own choice: followed
        except (OSError, RuntimeError):
            raise SourceNotFound(path=fsio.display(Path(path))) from None
        places.append(_place(root))
    merger = Merger(vault)
    upper = _upper_team(vault)
    found: list[tuple[tuple[str, int], str, Transport, Listed]] = []
    tallies: list[tuple[str, Transport, Listed]] = []  # aggregate bundles (sync.counts)
    for transport, prefix in places:
        for entry in transport.scan(prefix):
            if _DOWNWARD.search(entry.key):
                continue  # left on the stick for a worker (to/<device>/…), not for this merge
            if upper and _team_of(entry.key) == upper:
                continue  # this office's own bundles for the level above, on the same stick
            if sync_counts.KEY.search(entry.key):
                tallies.append((transport.where(entry.key), transport, entry))
                continue
            head = b""
            if entry.problem is None:
                try:
                    head = transport.get(entry.key, limit=HEAD_PEEK)
                except TransportError:
                    pass  # refused below, when it is read
            found.append((peek_header(head), transport.where(entry.key), transport, entry))
    found.sort(key=lambda item: (item[0], item[1]))
    summary = Summary()
    for _, source, transport, entry in found:
        summary.outcomes += _receive_entry(merger, transport, entry, source)
    summary.outcomes += merger.settle()
    for source, transport, entry in sorted(tallies, key=lambda item: item[2].key):
        summary.outcomes += _receive_entry(merger, transport, entry, source, counts=True)
    summary.scope, summary.scope_error = scope.try_cut(vault)
    return summary


# A downward bundle waiting on the stick for its device (sync.downward.STICK_PREFIX).
_DOWNWARD = re.compile(r"(^|/)to/[A-Za-z0-9]{1,64}/[A-Za-z0-9]{1,64}/[0-9]{8}\.fbundle$")


# Where a bundle on a stick names its team: ``[fieldapp/]<team>/<device>/<seq>.fbundle``
# (op bundles) or ``[fieldapp/]aggregates/<team>/<device>/<seq>.fbundle`` (counts).
_TEAM_OF = re.compile(
    r"(?:^|/)(?:aggregates/)?([A-Za-z0-9_-]{1,64})/[A-Za-z0-9]{1,64}/[0-9]{8}\.fbundle$"
)


def _team_of(key: str) -> str | None:
    match = _TEAM_OF.search(key)
    return match[1] if match else None


def _upper_team(vault: Vault) -> str | None:
    """The team of the level above, when this office has joined one: its own bundles
    for it may sit on the stick it merges its workers' from, and are not for it."""
    from sync.levels import upper_card

    try:
        card = upper_card(vault)
    except CardError:  # a damaged card: merged as before, refused where it is read
        return None
    return card.team_id if card is not None else None


def _place(root: Path) -> tuple[Transport, str]:
    """A folder chosen to merge from is read whole; a file, as the one key of its folder."""
    if root.is_dir():
        return FolderTransport(root, folder=""), ""
    return FolderTransport(root.parent, folder=""), root.name


def _receive_entry(
    merger: Merger, transport: Transport, entry: Listed, source: str, *, counts: bool = False
) -> list[Outcome]:
    """One entry read (at most its limit) and received: an op bundle, or with ``counts``
    an aggregate bundle (``sync.counts``)."""
    if entry.problem is not None:
        return [merger.refuse(b"", NotAFile(what=entry.problem), source, 0)]
    limit = COUNTS_MAX if counts else MAX_BUNDLE
    try:
        data = transport.get(entry.key, limit=limit)
    except TransportError as exc:
        if exc.params.get("problem") == "not_regular":
            refusal = NotAFile(what="not_regular")
        else:
            refusal = NotAFile(what="unreadable", reason=exc.params.get("reason", ""))
        return [merger.refuse(b"", refusal, source, 0)]
    if len(data) > limit:
        size = entry.size or len(data)
        return [merger.refuse(data, BundleTooLarge(limit=limit, size=size), source, size)]
    if counts:
        return [sync_counts.receive(merger, data, source)]
    return merger.receive(data, source)
