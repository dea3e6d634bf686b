"""Exports: CSV (UTF-8 with BOM, so Excel shows Chinese correctly) and XLSX, per record
kind and for the team summary; optional redaction of ID numbers and phones; one
resident's complete file as JSON (for a data-subject request).

Exports are decrypted on purpose, so they are written only where the user points,
readable by the user alone (mode 0600): a temp file of the same mode beside the target,
then renamed — never left in a temp directory. The temp file's name is noted in the
vault first, so one left by a crash or a kill mid-write is removed at the next export
or start (:func:`remove_stale`).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import os
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson

from fieldapp.domain import MODELS, RecordKind, kinds
from fieldapp.domain.enums import ENUM_OF_FIELD, ConsentStatus
from fieldapp.domain.idcard import mask_id_number
from fieldapp.errors import FieldappError
from fieldapp.i18n import field_label, listed, t
from fieldapp.services.supervision import WorkerRow, team_report
from fieldapp.store import Vault
from fieldapp.store.fsio import fsync_dir, write_all

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def defuse(text: str) -> str:
    """Text that a spreadsheet would run as a formula (=HYPERLINK(…)) is kept as text."""
    return "'" + text if isinstance(text, str) and text.startswith(FORMULA_STARTS) else text


def mask_phone(phone: str) -> str:
    """A phone number as a redacted export shows it: the first three and last four digits."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


def cell(kind: str, name: str, value: Any, redact: bool) -> str:
    """A stored value as a spreadsheet cell: labels for codes, lists joined, dicts as JSON."""
    if value is None:
        return ""
    if redact and name == "id_number":
        return mask_id_number(str(value))
    if redact and name == "phones":
        return ", ".join(mask_phone(str(p)) for p in value)
    enum = ENUM_OF_FIELD.get((kind, name))
    if enum and isinstance(value, list):
        return listed(t(f"enum.{enum}.{v}") for v in value)
    if enum:
        return t(f"enum.{enum}.{value}")
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    if isinstance(value, list | dict):
        if redact and name == "household":
            value = [
                {**m, "phone": mask_phone(str(m["phone"])) if m.get("phone") else None}
                if isinstance(m, dict)
                else m
                for m in value
            ]
        return orjson.dumps(value).decode()
    return str(value)


Cell = str | int | float | dt.date | dt.datetime  # what a spreadsheet cell is given


def typed(kind: str, name: str, value: Any) -> Cell | None:
    """A stored number, date or time as itself, so a spreadsheet can sort and sum it (XLSX
    stores it as a number or a date, CSV writes it as before); ``None`` for anything else,
    or for a stored value that does not read as its field's type."""
    if isinstance(value, bool) or value is None:
        return None
    model = MODELS.get(RecordKind(kind)) if kind in KIND_NAMES else None
    info = model.model_fields.get(name) if model is not None else None
    wanted = (
        {a for a in getattr(info.annotation, "__args__", ()) or (info.annotation,)}
        if info
        else set()
    )
    try:
        if isinstance(value, int | float) and wanted & {int, float}:
            return value
        if isinstance(value, str) and dt.datetime in wanted:
            return dt.datetime.fromisoformat(value).replace(tzinfo=None)
        if isinstance(value, str) and dt.date in wanted:
            return dt.date.fromisoformat(value)
    except ValueError:
        return None
    return None


KIND_NAMES = {k.value for k in RecordKind}


def _columns(kind: RecordKind) -> list[tuple[str, str]]:
    """The table's columns as (field, part): a resident link becomes the resident's name and
    id; consent becomes its status, date and note; every other field one column."""
    columns: list[tuple[str, str]] = []
    for f in MODELS[kind].model_fields:
        if f == "id":
            continue
        if f in RESIDENT_LINKS:
            columns += [(f, "name"), (f, "id")]
        elif f == "consent":
            columns += [(f, part) for part in CONSENT_PARTS]
        else:
            columns.append((f, ""))
    return columns


RESIDENT_LINKS = ("resident_id", "resident_ids")  # the fields that name residents by id
CONSENT_PARTS = ("status", "on", "note")
CONSENT_STATUSES = {s.value for s in ConsentStatus}


def _column_label(kind: RecordKind, field: str, part: str) -> str:
    if field in RESIDENT_LINKS:
        return t(f"ui.export_col_resident_{part}")
    if field == "consent":
        return t(f"ui.export_col_consent_{part}")
    return field_label(kind.value, field)


def record_table(
    vault: Vault, kind: RecordKind, redact: bool = False
) -> tuple[list[str], list[list[Cell]]]:
    """Every live record of ``kind`` as a table: the header (field labels) and one row per
    record, by id. A linked resident shows as name and id, consent as readable columns;
    when ``redact``, ID numbers and phones are masked and linked residents' names left out."""
    columns = _columns(kind)
    header = ["id", *[_column_label(kind, f, part) for f, part in columns]]
    names: dict[str, str] = {}
    if not redact and any(f in RESIDENT_LINKS for f, _ in columns):
        for rid, doc in vault.iter_records(RecordKind.RESIDENT.value):
            names[rid] = str(doc.get("name", ""))
    rows: list[list[Cell]] = []
    for rid, doc in sorted(vault.iter_records(kind.value), key=lambda item: item[0]):
        row: list[Cell] = [rid]
        for f, part in columns:
            row.append(_part_cell(kind.value, f, part, doc.get(f), redact, names))
        rows.append(row)
    return header, rows


def _part_cell(
    kind: str, field: str, part: str, value: Any, redact: bool, names: dict[str, str]
) -> Cell:
    if field in RESIDENT_LINKS:
        ids = [str(v) for v in (value if isinstance(value, list) else [value]) if v]
        return ", ".join(names.get(i, "") if part == "name" else i for i in ids).strip(", ")
    if field == "consent":
        consent = value if isinstance(value, dict) else {}
        got = consent.get(part)
        if part == "status" and got in CONSENT_STATUSES:
            return t(f"enum.ConsentStatus.{got}")
        if part == "on" and isinstance(got, str):
            with contextlib.suppress(ValueError):
                return dt.date.fromisoformat(got)
        return "" if got is None else str(got)
    number = typed(kind, field, value)
    return number if number is not None else cell(kind, field, value, redact)


def summary_table(vault: Vault, today: dt.date) -> tuple[list[str], list[list[Cell]]]:
    """The team at a glance as a table: one row per worker (see :func:`team_report`)."""
    header = [t(f"ui.team_col_{c}") for c in TEAM_COLUMNS]
    return header, [[_team_cell(r, c) for c in TEAM_COLUMNS] for r in team_report(vault, today)]


TEAM_COLUMNS = (
    "name",
    "last_made",
    "last_at",
    "bundles",
    "ops",
    "residents",
    "needs_listed",
    "needs_resolved",
    "needs_open",
    "visits_this_month",
    "overdue",
    "conflicts",
    "notes_open",
    "notes_ack_days",
)


def _team_cell(row: WorkerRow, column: str) -> Cell:
    value = getattr(row, column)
    return "" if value is None else value if isinstance(value, int | float) else str(value)


def write_table(
    vault: Vault, path: Path, header: Sequence[str], rows: Iterable[Sequence[Cell]], sheet: str = ""
) -> None:
    """CSV (by suffix .csv) or XLSX, written atomically where the user pointed; numbers and
    dates stay numbers and dates in XLSX."""
    path = Path(path)
    header = [defuse(h) for h in header]
    rows = [[defuse(c) if isinstance(c, str) else c for c in row] for row in rows]
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        ws = book.active
        ws.title = (sheet or "fieldapp")[:31]
        ws.append(list(header))
        for row in rows:
            ws.append(list(row))
        for number, column in enumerate(zip(*rows, strict=True), start=1):
            style = _date_style(column)
            if style:
                for row_cells in ws.iter_rows(min_row=2, min_col=number, max_col=number):
                    row_cells[0].number_format = style
        buffer = io.BytesIO()
        book.save(buffer)  # in memory: openpyxl would create its file world-readable
        data = buffer.getvalue()
    else:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(header)
        writer.writerows([[_as_text(c) for c in row] for row in rows])
        data = text.getvalue().encode("utf-8-sig")
    write_private(vault, path, data)


def _as_text(value: Cell) -> str:
    """A cell as CSV writes it: dates in ISO form, as they are stored."""
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _date_style(column: Sequence[Cell]) -> str:
    """How XLSX shows a column of dates or times (openpyxl's default hides a time's date)."""
    if any(isinstance(c, dt.datetime) for c in column):
        return "yyyy-mm-dd hh:mm"
    if any(isinstance(c, dt.date) for c in column):
        return "yyyy-mm-dd"
    return ""


PENDING = "export/pending"  # temp files of exports being written


def write_private(vault: Vault, path: Path, data: bytes) -> None:
    """``data`` at ``path``, mode 0600, atomically; the temp file beside it is noted in
    the vault first and removed whatever happens (or at the next start)."""
    remove_stale(vault)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.fieldapp-export")
    noted = not vault.read_only  # a vault opened read-only cannot note it
    if noted:
        vault.put_meta(PENDING, [str(tmp)])
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            os.fchmod(fd, 0o600)  # whatever the umask
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    if noted:
        vault.put_meta(PENDING, None)


def remove_stale(vault: Vault) -> None:
    """Remove the temp file of an export that was killed mid-write (plaintext)."""
    for name in vault.get_meta(PENDING) or ():
        with contextlib.suppress(OSError):
            Path(name).unlink(missing_ok=True)
    if vault.get_meta(PENDING) is not None:
        with contextlib.suppress(FieldappError):
            vault.put_meta(PENDING, None)


def export_kind(vault: Vault, kind: RecordKind, path: Path, redact: bool = False) -> int:
    """Write every live record of ``kind`` to ``path`` (CSV or XLSX); returns how many."""
    header, rows = record_table(vault, kind, redact)
    write_table(vault, path, header, rows, sheet=t(f"enum.RecordKind.{kind.value}"))
    return len(rows)


def export_summary(vault: Vault, path: Path, today: dt.date) -> int:
    """Write the team summary to ``path`` (CSV or XLSX); returns how many workers."""
    header, rows = summary_table(vault, today)
    write_table(vault, path, header, rows, sheet=t("ui.team_title"))
    return len(rows)


def resident_file(vault: Vault, rid: str) -> dict[str, Any]:
    """Everything held about one resident, with the history of every change."""
    doc = vault.get(rid)
    if doc is None or vault.kind_of(rid) != RecordKind.RESIDENT.value:
        raise KeyError(rid)
    linked: dict[str, list[dict[str, Any]]] = {}
    ids = [rid]
    for spec in kinds.resident_file_kinds():
        for other, d in vault.iter_records(spec.table, include_deleted=True):  # deleted too
            if spec.belongs_to(d, rid):
                linked.setdefault(spec.kind, []).append({"id": other, **d})
                ids.append(other)
    history = [
        {
            "record": op.record_id,
            "field": op.field,
            "value": op.value,
            "device": op.device_id,
            "when": dt.datetime.fromtimestamp(op.hlc / 65536 / 1000).isoformat(timespec="seconds"),
        }
        for i in ids
        for op in vault.history(i)
    ]
    return {"resident": {"id": rid, **doc}, "records": linked, "history": history}


def residents_named(vault: Vault, who: str) -> list[tuple[str, dict[str, Any]]]:
    """The residents ``who`` names: the one with that id, else those whose name is ``who``
    (NFC, case and surrounding spaces aside), by id — several when two share a name."""
    doc = vault.get(who.strip())
    if doc is not None and vault.kind_of(who.strip()) == RecordKind.RESIDENT.value:
        return [(who.strip(), doc)]
    wanted = unicodedata.normalize("NFC", who).strip().casefold()
    return sorted(
        (rid, d)
        for rid, d in vault.iter_records(RecordKind.RESIDENT.value)
        if unicodedata.normalize("NFC", str(d.get("name", ""))).strip().casefold() == wanted
    )


def export_resident(vault: Vault, rid: str, path: Path) -> None:
    """Write one resident's complete file, history included, to ``path`` as JSON."""
    write_private(vault, path, orjson.dumps(resident_file(vault, rid), option=orjson.OPT_INDENT_2))
