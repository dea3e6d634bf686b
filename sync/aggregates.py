"""Aggregates upward (DESIGN §3.8): what a street or district enrolled at the level
above with the flow ``aggregates`` sends — counts, never a name, phone, ID number,
address or free text (docs/aggregates.md).

    magic "FAG1" | header_len u16 | header (canonical JSON) | ct_len u32 | HPKE ciphertext
    | Ed25519 signature (64 bytes) over everything before it

The header is ``{v, team, device, seq, prev, period, raw}``; ``seq``/``prev`` chain a
device's aggregate bundles as op bundles are chained (sync/bundle.py), in a chain of
their own. HPKE is sync/bundle.py's ``SUITE``, sealed to the team key, the header bound
in ``info``. The payload is zlib-compressed JSON, checked against a strict schema: only
known keys, enum values from the enums, counts that are non-negative integers or null,
community labels of a conservative pattern. A bundle that breaks it is refused whole.

The tables (:func:`compute`), for one period:

- ``needs``: for each need status, community × need category, with row totals, column
  totals and the grand total;
- visits: community × vulnerability, the residents carrying the tag and how many of
  them were visited in the period.

Small counts (1 to 4) are suppressed (published as null), with complementary
suppression so that nothing suppressed follows linearly from what is published
(:func:`suppress`). Opening checks, in this order, and refuses with a typed error at the
first failure: size limits → structure → team → enrolment → signature → sequence and
previous hash → decrypt → decompressed size → strict schema (which also refuses a
published small count, or a suppressed one that the others would give away).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import heapq
import re
import struct
import unicodedata
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from fieldapp.domain import NeedCategory, NeedStatus, RecordKind, Vulnerability
from fieldapp.domain.kinds import with_defaults
from fieldapp.errors import (
    AggregateInvalid,
    BadSignature,
    BundleError,
    BundleMalformed,
    BundleTooLarge,
    UnknownDevice,
    WrongTeam,
)
from fieldapp.store import Vault
from sync.bundle import SUITE, Chain, check_chain, digest, split_frame, unseal

MAGIC = b"FAG1"
VERSION = 1
MAX_HEADER = 1024
MAX_COMMUNITIES = 1000  # rows of one table: a district's communities, with room to spare
MAX_COUNT = 2**31  # no count of people or needs comes near it
# The largest payload the schema admits: 5 status tables of (rows+1) × (categories+1)
# counts and 2 of rows × vulnerabilities, each count at most 11 bytes of JSON, plus the
# labels (40 characters, 3 bytes each in UTF-8, quoted).
MAX_RAW = (
    len(NeedStatus) * (MAX_COMMUNITIES + 1) * (len(NeedCategory) + 1) * 12
    + 2 * MAX_COMMUNITIES * len(Vulnerability) * 12
    + MAX_COMMUNITIES * 124
    + 4096
)
MAX_BUNDLE = MAX_RAW + MAX_RAW // 100 + 64 * 1024  # zlib's worst case + HPKE
INFO = b"fieldapp aggregates v1|"
HEADER_KEYS = frozenset({"v", "team", "device", "seq", "prev", "period", "raw"})
PAYLOAD_KEYS = frozenset(
    {"v", "communities", "categories", "needs", "vulnerabilities", "residents", "visited"}
)
SMALL = 5  # counts 1 to SMALL - 1 are never published
_DEVICE_ID = re.compile(r"[A-Za-z0-9]{1,64}")
_TEAM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PREV = re.compile(r"(?:[0-9a-f]{64})?")
_PERIOD = re.compile(r"(\d{4}-\d{2}-\d{2})/(\d{4}-\d{2}-\d{2})")
# A community label as it may travel: CJK ideographs, Tibetan, ASCII letters and digits,
# spaces and · - ( ). Nothing else: no @, no punctuation of an address or a note.
_LABEL = re.compile(r"[A-Za-z0-9\u3400-\u4dbf\u4e00-\u9fff\u0f00-\u0fff ·()\-]{1,40}")
# Six digits in a row (Arabic, Tibetan or Chinese numerals) could be a phone or ID number.
_DIGIT_RUN = re.compile(r"[\d〇零一二三四五六七八九]{6}")
GENERIC = "community-{}"  # what a label that may not travel is sent as (see compute)
_GENERIC = re.compile(r"community-\d+")

Grid = list[list[int | None]]
Cell = tuple[int, int]


def label_ok(label: str) -> bool:
    """Whether a community label may travel: NFC, 1 to 40 characters of the conservative
    pattern, no leading, trailing or doubled space, and no run of six digits."""
    return (
        unicodedata.is_normalized("NFC", label)
        and _LABEL.fullmatch(label) is not None
        and label == " ".join(label.split())
        and _DIGIT_RUN.search(label) is None
    )


@dataclass(frozen=True)
class AggregateTables:
    """One period's counts, as published (suppressed counts are ``None``).

    ``needs[status]`` is a grid of ``len(communities) + 1`` rows by ``len(categories) + 1``
    columns: the last row holds the column totals, the last column the row totals, the
    corner the grand total. ``residents`` and ``visited`` are ``len(communities)`` by
    ``len(vulnerabilities)``, without totals."""

    period_start: dt.date
    period_end: dt.date
    communities: list[str]
    categories: list[str]
    needs: dict[str, Grid]
    vulnerabilities: list[str]
    residents: Grid
    visited: Grid


@dataclass(frozen=True)
class Header:
    """An aggregate bundle's signed header: team, sending device, its place in the
    device's aggregate chain (``seq``, ``prev``), the period and the payload's size."""

    v: int
    team: str
    device: str
    seq: int
    prev: str
    period: str
    raw: int

    @property
    def span(self) -> tuple[dt.date, dt.date]:
        """The period's first and last day (a header is only made once its period parses)."""
        span = _period(self.period)
        assert span is not None
        return span


@dataclass(frozen=True)
class Opened:
    """An aggregate bundle that passed every check: its header, its tables, its digest
    (the next aggregate bundle's ``prev``)."""

    header: Header
    tables: AggregateTables
    digest: str


# ------------------------------------------------------------------ computing


def compute(
    vault: Vault, period_start: dt.date, period_end: dt.date, *, today: dt.date
) -> AggregateTables:
    """The tables of one period as they may be published: :func:`tally`'s counts, with
    the small ones suppressed (:func:`publish`), ready to seal."""
    return publish(tally(vault, period_start, period_end, today=today))


def publish(tables: AggregateTables) -> AggregateTables:
    """``tables`` with every need table suppressed (:func:`suppress`) and the visit
    table too (:func:`suppress_rates`).

    Each status's table is protected on its own, and no table summing across statuses
    is published: the 2-D argument of :func:`suppress` holds for one table with its
    margins, and a cross-status total would link the tables into a 3-D one where it
    does not. For the same reason, two bundles whose periods overlap can be
    differenced: cut aggregates for periods that do not overlap (months)."""
    residents, visited = suppress_rates(tables.residents, tables.visited)
    return dataclasses.replace(
        tables,
        needs={status: suppress(grid) for status, grid in tables.needs.items()},
        residents=residents,
        visited=visited,
    )


def tally(
    vault: Vault, period_start: dt.date, period_end: dt.date, *, today: dt.date
) -> AggregateTables:
    """The counts of one period (``period_start`` to ``period_end``, both included), from
    what ``vault`` holds on ``today``, nothing suppressed yet: never to be sent as they are.

    Archived residents, and their needs and visits, are left out, as every list leaves
    them out. Which needs count: those **opened in the period** (``opened_on`` within
    it), each under the status it has on ``today`` — "the needs that came up this month,
    and where they stand now". A need has no dated history of its status, so "open at
    some time in the period" could not be told exactly; reporting a past period again
    later gives the same rows with the statuses moved on. Visits: a resident carrying a
    tag counts once in that tag's column; they were visited if any visit of theirs
    started in the period. A resident with several tags counts in each.

    Community labels are the residents' free text, normalised (NFC, spaces collapsed). A
    label that may not travel (:func:`label_ok`), that equals a resident's or household
    member's name, phone, ID number or address, or that could pass for a generic label,
    is sent as ``community-1``, ``community-2`` … (in the order of the labels it
    replaces): never the label itself."""
    if period_start > period_end or period_start > today:
        raise ValueError("a period runs forward and has begun")
    residents, personal = _residents(vault)
    labels = _labels({label for label, _ in residents.values()}, personal)
    communities = sorted(set(labels.values()))
    index = {name: i for i, name in enumerate(communities)}
    row = {rid: index[labels[label]] for rid, (label, _) in residents.items()}
    categories = [c.value for c in NeedCategory]
    needs = {s.value: _zeros(len(communities) + 1, len(categories) + 1) for s in NeedStatus}
    for _, doc in vault.iter_records(RecordKind.NEED.value):
        doc = with_defaults(RecordKind.NEED.value, doc)
        r = row.get(str(doc.get("resident_id")))
        opened = _date(doc.get("opened_on"))
        status, category = doc.get("status"), doc.get("category")
        if r is None or opened is None or status not in needs or category not in categories:
            continue  # archived, or a damaged record: never a crash
        if period_start <= opened <= period_end:
            _add(needs[status], r, categories.index(category))
    visited = _visited(vault, period_start, period_end)
    vulnerabilities = [v.value for v in Vulnerability]
    counted = _zeros(len(communities), len(vulnerabilities))
    seen = _zeros(len(communities), len(vulnerabilities))
    for rid, (_, tags) in residents.items():
        for tag in tags:
            r, c = row[rid], vulnerabilities.index(tag)
            counted[r][c] = (counted[r][c] or 0) + 1
            seen[r][c] = (seen[r][c] or 0) + (rid in visited)
    return AggregateTables(
        period_start, period_end, communities, categories, needs, vulnerabilities, counted, seen
    )


def _residents(vault: Vault) -> tuple[dict[str, tuple[str, set[str]]], set[str]]:
    """Each resident not archived → (community label, tags), and the personal strings of
    every resident (archived too) that no label may equal."""
    residents: dict[str, tuple[str, set[str]]] = {}
    personal: set[str] = set()
    for rid, doc in vault.iter_records(RecordKind.RESIDENT.value):
        personal |= _personal(doc)
        if doc.get("archived"):
            continue
        tags = doc.get("tags")
        known = {t for t in tags if t in _VULNERABILITIES} if isinstance(tags, list) else set()
        residents[rid] = (_normal(doc.get("community")), known)
    return residents, personal


def _visited(vault: Vault, period_start: dt.date, period_end: dt.date) -> set[str]:
    """The residents with a visit that started in the period."""
    out: set[str] = set()
    for _, doc in vault.iter_records(RecordKind.VISIT.value):
        started = _date(doc.get("started_at"))
        if started is not None and period_start <= started <= period_end:
            out.add(str(doc.get("resident_id")))
    return out


_VULNERABILITIES = frozenset(v.value for v in Vulnerability)


def _normal(value: Any) -> str:
    return " ".join(unicodedata.normalize("NFC", value).split()) if isinstance(value, str) else ""


def _personal(doc: dict[str, Any]) -> set[str]:
    """A resident's names, phones, ID number and address, normalised like labels."""
    out = {doc.get("name"), doc.get("id_number"), doc.get("address")}
    phones = doc.get("phones")
    out |= set(phones) if isinstance(phones, list) else set()
    household = doc.get("household")
    for member in household if isinstance(household, list) else ():
        if isinstance(member, dict):
            out |= {member.get("name"), member.get("phone")}
    return {_normal(v) for v in out if isinstance(v, str) and v}


def _labels(found: set[str], personal: set[str]) -> dict[str, str]:
    """Each label found → the label sent: itself, or a generic one (see compute)."""
    unsafe = sorted(
        label
        for label in found
        if not label_ok(label) or label in personal or _GENERIC.fullmatch(label)
    )
    out = {label: label for label in found}
    out.update({label: GENERIC.format(i) for i, label in enumerate(unsafe, 1)})
    return out


def _date(value: Any) -> dt.date | None:
    """The date of a stored ``YYYY-MM-DD`` or ISO date-time, or None."""
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _zeros(rows: int, cols: int) -> Grid:
    return [[0] * cols for _ in range(rows)]


def _add(grid: Grid, r: int, c: int) -> None:
    """Count one in cell (r, c) and in its margins (the last row and column)."""
    last_r, last_c = len(grid) - 1, len(grid[0]) - 1
    for i, j in ((r, c), (r, last_c), (last_r, c), (last_r, last_c)):
        grid[i][j] = (grid[i][j] or 0) + 1


# ------------------------------------------------------------------ suppression


def suppress(grid: Grid) -> Grid:
    """The table ``grid`` (last row and column the totals) as it may be published: every
    count from 1 to 4 suppressed, and enough others that none of them can be worked out.

    Seen as a bipartite graph — a node per row (the totals row too) and per column (the
    totals column too), an edge per cell — the published counts fix the suppressed ones
    through the line sums; a suppressed cell is determined by them exactly when its edge
    is a bridge of the graph of suppressed edges (the line constraints are its incidence
    matrix). So while a suppressed edge is a bridge, the cheapest path of published cells
    joining its ends is suppressed too, closing a cycle through it: cheapest meaning the
    fewest zeros (a suppressed zero protects least), then the fewest totals, then the
    smallest sum of counts, then the fewest cells."""
    rows, cols = len(grid), len(grid[0])
    value = [[int(v or 0) for v in line] for line in grid]
    hidden = {(i, j) for i in range(rows) for j in range(cols) if 0 < value[i][j] < SMALL}
    while bridges := _bridges(rows, cols, hidden):
        for cell in sorted(bridges):
            hidden |= _cheapest_path(value, hidden, cell)
    return [[None if (i, j) in hidden else value[i][j] for j in range(cols)] for i in range(rows)]


def exposed(grid: Grid) -> set[Cell]:
    """The suppressed cells of a published ``grid`` that its published cells determine
    (the bridges of its graph of suppressed cells): empty for a safe table."""
    rows, cols = len(grid), len(grid[0])
    return _bridges(
        rows, cols, {(i, j) for i in range(rows) for j in range(cols) if grid[i][j] is None}
    )


def _bridges(rows: int, cols: int, edges: set[Cell]) -> set[Cell]:
    """The bridges of the bipartite graph with an edge row i — column j per cell (Tarjan's
    low-link, iterative: a district's table is deeper than Python's recursion)."""
    adjacent: dict[int, list[tuple[int, Cell]]] = {}
    for i, j in edges:
        adjacent.setdefault(i, []).append((rows + j, (i, j)))
        adjacent.setdefault(rows + j, []).append((i, (i, j)))
    order: dict[int, int] = {}
    low: dict[int, int] = {}
    out: set[Cell] = set()
    for root in adjacent:
        if root in order:
            continue
        order[root] = low[root] = len(order)
        stack: list[tuple[int, Cell | None, int]] = [(root, None, 0)]
        while stack:
            node, via, k = stack[-1]
            if k < len(adjacent[node]):
                stack[-1] = (node, via, k + 1)
                nxt, edge = adjacent[node][k]
                if edge == via:
                    continue
                if nxt in order:
                    low[node] = min(low[node], order[nxt])
                else:
                    order[nxt] = low[nxt] = len(order)
                    stack.append((nxt, edge, 0))
                continue
            stack.pop()
            if stack and via is not None:
                parent = stack[-1][0]
                low[parent] = min(low[parent], low[node])
                if low[node] > order[parent]:
                    out.add(via)
    return out


def _cheapest_path(value: list[list[int]], hidden: set[Cell], cell: Cell) -> set[Cell]:
    """The published cells on the cheapest path (see :func:`suppress`) from ``cell``'s
    row to its column that does not use ``cell``: none when suppressed cells already join
    them. Dijkstra over the complete bipartite graph, costs added component-wise."""
    rows, cols = len(value), len(value[0])
    start, goal = cell[0], rows + cell[1]
    best: dict[int, tuple[int, int, int, int]] = {start: (0, 0, 0, 0)}
    came: dict[int, tuple[int, Cell]] = {}
    queue: list[tuple[tuple[int, int, int, int], int]] = [((0, 0, 0, 0), start)]
    done: set[int] = set()
    while queue:
        cost, node = heapq.heappop(queue)
        if node in done:
            continue
        if node == goal:
            break
        done.add(node)
        if node < rows:
            steps = [(rows + j, (node, j)) for j in range(cols)]
        else:
            steps = [(i, (i, node - rows)) for i in range(rows)]
        for nxt, edge in steps:
            if edge == cell or nxt in done:
                continue
            step = _cost(value, hidden, edge, rows, cols)
            total = (cost[0] + step[0], cost[1] + step[1], cost[2] + step[2], cost[3] + step[3])
            if nxt not in best or total < best[nxt]:
                best[nxt] = total
                came[nxt] = (node, edge)
                heapq.heappush(queue, (total, nxt))
    path: set[Cell] = set()
    node = goal
    while node != start:  # a path always exists: both sides have a totals node
        node, edge = came[node]
        if edge not in hidden:
            path.add(edge)
    return path


def _cost(
    value: list[list[int]], hidden: set[Cell], edge: Cell, rows: int, cols: int
) -> tuple[int, int, int, int]:
    if edge in hidden:
        return (0, 0, 0, 0)
    v = value[edge[0]][edge[1]]
    is_total = edge[0] == rows - 1 or edge[1] == cols - 1
    return (int(v == 0), int(is_total), v, 1)


def determinable(grid: Grid) -> set[Cell]:
    """The suppressed cells of a published ``grid`` that its published cells determine,
    by linear algebra alone — the check on :func:`suppress`, sharing nothing with it.

    The constraints are the table's: each row's cells sum to its total (the totals row
    too), each column's cells to its total (the totals column too). Restricted to the
    unknowns and brought to reduced row echelon form over the rationals, a cell is
    determined exactly when its unit vector is in the row space: when its pivot row has
    no other non-zero entry."""
    rows, cols = len(grid), len(grid[0])
    unknown = [(i, j) for i in range(rows) for j in range(cols) if grid[i][j] is None]
    index = {cell: k for k, cell in enumerate(unknown)}
    lines = [[(i, j) for j in range(cols - 1)] + [(i, cols - 1)] for i in range(rows)]
    lines += [[(i, j) for i in range(rows - 1)] + [(rows - 1, j)] for j in range(cols)]
    matrix: list[list[Fraction]] = []
    for line in lines:
        coefficients = [Fraction(0)] * len(unknown)
        for k, cell in enumerate(line):
            if cell in index:
                coefficients[index[cell]] = Fraction(-1 if k == len(line) - 1 else 1)
        matrix.append(coefficients)
    pivots = _reduce(matrix, len(unknown))
    return {
        unknown[col]
        for r, col in pivots.items()
        if all(x == 0 for k, x in enumerate(matrix[r]) if k != col)
    }


def _reduce(matrix: list[list[Fraction]], width: int) -> dict[int, int]:
    """Gauss-Jordan in place; returns pivot row → pivot column."""
    pivots: dict[int, int] = {}
    r = 0
    for col in range(width):
        pivot = next((k for k in range(r, len(matrix)) if matrix[k][col] != 0), None)
        if pivot is None:
            continue
        matrix[r], matrix[pivot] = matrix[pivot], matrix[r]
        head = matrix[r][col]
        matrix[r] = [x / head for x in matrix[r]]
        for k in range(len(matrix)):
            if k != r and matrix[k][col] != 0:
                factor = matrix[k][col]
                matrix[k] = [a - factor * b for a, b in zip(matrix[k], matrix[r], strict=True)]
        pivots[r] = col
        r += 1
    return pivots


def suppress_rates(residents: Grid, visited: Grid) -> tuple[Grid, Grid]:
    """The visit table as it may be published: a cell's pair (residents, visited) is
    suppressed whole when there are 1 to 4 residents, 1 to 4 visited, or 1 to 4 not
    visited (the difference would give the small count away).

    No totals are published for it. A resident with several tags counts in several
    columns, so a row has no meaningful total; and a column total (a tag across the
    communities) would let a suppressed cell be worked out from the others, asking for
    complementary suppression on a table of pairs — the level above adds up what it
    needs from the published cells."""
    shown_r: Grid = []
    shown_v: Grid = []
    for line_r, line_v in zip(residents, visited, strict=True):
        shown_r.append([])
        shown_v.append([])
        for n, k in zip(line_r, line_v, strict=True):
            hide = n is None or k is None or not _pair_ok(n, k)
            shown_r[-1].append(None if hide else n)
            shown_v[-1].append(None if hide else k)
    return shown_r, shown_v


def _pair_ok(n: int, k: int) -> bool:
    return all(not 0 < x < SMALL for x in (n, k, n - k)) and 0 <= k <= n


# ------------------------------------------------------------------ the bundle


def seal_aggregates(
    tables: AggregateTables,
    *,
    team_pub: X25519PublicKey,
    device_key: Ed25519PrivateKey,
    device_id: str,
    team_id: str,
    seq: int,
    prev: str,
) -> bytes:
    """Cut one aggregate bundle of ``tables``, sealed to ``team_pub`` and signed by
    ``device_key``; ``seq`` and ``prev`` (the digest of this device's previous aggregate
    bundle, ``""`` for the first) place it in the device's chain.

    Refuses (``ValueError``) tables that :func:`open_aggregates` would refuse: the payload
    is checked with the receiver's own schema before it is sealed."""
    raw = orjson.dumps(payload(tables))
    fields = {
        "v": VERSION,
        "team": team_id,
        "device": device_id,
        "seq": seq,
        "prev": prev,
        "period": f"{tables.period_start.isoformat()}/{tables.period_end.isoformat()}",
        "raw": len(raw),
    }
    header_bytes = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
    try:
        header = _header(header_bytes)
        _tables(raw, header)
    except BundleError as exc:
        raise ValueError(f"these tables may not be sent: {exc.params}") from None
    ciphertext = SUITE.encrypt(zlib.compress(raw, 9), team_pub, info=INFO + header_bytes)
    body = MAGIC + struct.pack(">H", len(header_bytes)) + header_bytes
    body += struct.pack(">I", len(ciphertext)) + ciphertext
    return body + device_key.sign(body)


def payload(tables: AggregateTables) -> dict[str, Any]:
    """The tables as the payload carries them (JSON: what a receiver keeps too)."""
    return {
        "v": VERSION,
        "communities": tables.communities,
        "categories": tables.categories,
        "needs": tables.needs,
        "vulnerabilities": tables.vulnerabilities,
        "residents": tables.residents,
        "visited": tables.visited,
    }


def open_aggregates(
    data: bytes,
    *,
    team_priv: X25519PrivateKey,
    enrolled: Mapping[str, Ed25519PublicKey],
    team_id: str,
    chain: Callable[[str], Chain],
) -> Opened:
    """Verify, decrypt and check an aggregate bundle, or raise the first reason to refuse
    it (the order is the module docstring's). ``enrolled`` are the devices enrolled at
    this team with the flow ``aggregates``; ``chain`` gives the receiver's view of a
    device's aggregate chain. A refusal after the signature verified is ``authentic``."""
    header, header_bytes, ciphertext, signed, signature = read_header(data)
    if header.team != team_id:
        raise WrongTeam(team=header.team)
    key = enrolled.get(header.device)
    if key is None:
        raise UnknownDevice(device=header.device)
    try:
        key.verify(signature, signed)
    except InvalidSignature:
        raise BadSignature(device=header.device) from None
    try:
        return _open_signed(data, header, header_bytes, ciphertext, team_priv, chain(header.device))
    except BundleError as exc:
        exc.authentic = True
        raise


def read_header(data: bytes) -> tuple[Header, bytes, bytes, bytes, bytes]:
    """Structure only (no keys): header, header bytes, ciphertext, signed part, signature."""
    header_bytes, ciphertext, signed, signature = split_frame(
        data, magic=MAGIC, max_size=MAX_BUNDLE, max_header=MAX_HEADER
    )
    return _header(header_bytes), header_bytes, ciphertext, signed, signature


def _header(header_bytes: bytes) -> Header:
    try:
        h = orjson.loads(header_bytes)
    except orjson.JSONDecodeError:
        raise BundleMalformed(what="header") from None
    if not isinstance(h, dict) or set(h) != HEADER_KEYS:
        raise BundleMalformed(what="header")
    if any(type(h[k]) is not int for k in ("v", "seq", "raw")) or not all(
        isinstance(h[k], str) for k in ("team", "device", "prev", "period")
    ):
        raise BundleMalformed(what="header")
    if orjson.dumps(h, option=orjson.OPT_SORT_KEYS) != header_bytes:
        raise BundleMalformed(what="header")  # one canonical encoding: no malleability
    header = Header(**h)
    if header.v != VERSION:
        raise BundleMalformed(what="version")
    if not (
        _TEAM_ID.fullmatch(header.team)
        and _DEVICE_ID.fullmatch(header.device)
        and _PREV.fullmatch(header.prev)
        and 1 <= header.seq < 2**63
        and header.raw >= 0
        and _period(header.period) is not None
    ):
        raise BundleMalformed(what="header")
    if header.raw > MAX_RAW:
        raise BundleTooLarge(limit=MAX_RAW, size=header.raw)
    return header


def _period(text: str) -> tuple[dt.date, dt.date] | None:
    match = _PERIOD.fullmatch(text)
    if match is None:
        return None
    try:
        start, end = dt.date.fromisoformat(match[1]), dt.date.fromisoformat(match[2])
    except ValueError:
        return None
    return (start, end) if start <= end else None


def _open_signed(
    data: bytes,
    header: Header,
    header_bytes: bytes,
    ciphertext: bytes,
    team_priv: X25519PrivateKey,
    state: Chain,
) -> Opened:
    this = digest(data)
    check_chain(state, header.device, header.seq, header.prev, this)
    raw = unseal(ciphertext, team_priv, INFO + header_bytes, header.raw, header.device)
    return Opened(header, _tables(raw, header), this)


# ------------------------------------------------------------------ the strict schema


def _tables(raw: bytes, header: Header) -> AggregateTables:
    """The payload as tables, or :class:`AggregateInvalid` naming the first thing wrong."""

    def refuse(reason: str) -> AggregateInvalid:
        return AggregateInvalid(device=header.device, reason=reason)

    try:
        p = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise refuse("json") from None
    if not isinstance(p, dict) or set(p) != PAYLOAD_KEYS:
        raise refuse("keys")
    if type(p["v"]) is not int or p["v"] != VERSION:
        raise refuse("version")
    communities = p["communities"]
    if not (
        isinstance(communities, list)
        and len(communities) <= MAX_COMMUNITIES
        and all(isinstance(c, str) and label_ok(c) for c in communities)
        and len(set(communities)) == len(communities)
    ):
        raise refuse("communities")
    categories = _enum_list(p["categories"], {c.value for c in NeedCategory})
    vulnerabilities = _enum_list(p["vulnerabilities"], _VULNERABILITIES)
    if categories is None or vulnerabilities is None:
        raise refuse("enum")
    needs = p["needs"]
    if not isinstance(needs, dict) or set(needs) != {s.value for s in NeedStatus}:
        raise refuse("statuses")
    for grid in needs.values():
        if not _grid(grid, len(communities) + 1, len(categories) + 1):
            raise refuse("counts")
        if any(isinstance(v, int) and 0 < v < SMALL for line in grid for v in line):
            raise refuse("small_count")
        if exposed(grid):
            raise refuse("determinable")
    residents, visited = p["residents"], p["visited"]
    for grid in (residents, visited):
        if not _grid(grid, len(communities), len(vulnerabilities)):
            raise refuse("counts")
    for line_r, line_v in zip(residents, visited, strict=True):
        for n, k in zip(line_r, line_v, strict=True):
            if (n is None) != (k is None) or (n is not None and not _pair_ok(n, k)):
                raise refuse("small_count")
    start, end = header.span
    return AggregateTables(
        start, end, communities, categories, needs, vulnerabilities, residents, visited
    )


def _enum_list(value: Any, allowed: set[str] | frozenset[str]) -> list[str] | None:
    if (
        isinstance(value, list)
        and 0 < len(value) <= len(allowed)
        and all(isinstance(v, str) and v in allowed for v in value)
        and len(set(value)) == len(value)
    ):
        return value
    return None


def _grid(value: Any, rows: int, cols: int) -> bool:
    """Whether ``value`` is ``rows`` lists of ``cols`` counts (non-negative ints or null)."""
    return (
        isinstance(value, list)
        and len(value) == rows
        and all(
            isinstance(line, list)
            and len(line) == cols
            and all(v is None or (type(v) is int and 0 <= v < MAX_COUNT) for v in line)
            for line in value
        )
    )
