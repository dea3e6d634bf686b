"""Assigning residents to workers' devices (DESIGN §3.7, scope): the supervisor assigns a
resident to one worker, reassigns, shares the file with other devices or stops sharing,
and takes it back. Each change is the resident's one assignment record
(:func:`~fieldapp.domain.models.assignment_id`), saved through the vault's normal commit
— so it is in the history and syncs — and is followed by the scope cut
(``sync.scope.cut``), which seals to each device what its scope now needs.

Only a supervisor's device (one that holds the team) assigns; a worker's device is
refused (:class:`~fieldapp.errors.AssignmentRefused`), and its merge would refuse an
assignment from a worker anyway (``sync.preview.check_writers``)."""

from __future__ import annotations

from dataclasses import dataclass

from fieldapp.domain import RecordKind, validate
from fieldapp.domain.models import Assignment, assignment_id
from fieldapp.errors import AssignmentRefused, FieldappError
from fieldapp.store import Change, Vault
from sync import scope, team
from sync.scope import ScopeCut
from sync.team import DeviceEntry

KEEP = object()  # ``worker=KEEP``: the worker stays as it is


@dataclass(frozen=True)
class Assigned:
    """An assignment as saved, and what the scope cut after it did (or what stopped it: the
    assignment stands, the next merge pass or assignment cuts again)."""

    assignment: Assignment
    cut: ScopeCut | None
    cut_error: FieldappError | None = None


def is_supervisor(vault: Vault) -> bool:
    """Whether this vault is a supervisor's (it holds the team)."""
    return team.team_secrets(vault) is not None


def workers(vault: Vault) -> list[DeviceEntry]:
    """The team's enrolled workers' devices that may hold files (not revoked), by name."""
    return sorted(
        (d for d in team.devices(vault) if d.revoked is None), key=lambda d: (d.name, d.device_id)
    )


def worker_named(vault: Vault, who: str) -> DeviceEntry:
    """The one enrolled, not revoked device that ``who`` names (its id, or its worker's name);
    :class:`AssignmentRefused` when none, several or only a revoked one do."""
    found = team.devices_named(vault, who)
    if not found:  # a revoked device is named by its id only: say so when it is its name
        wanted = who.strip().casefold()
        if any(d.name.strip().casefold() == wanted for d in team.devices(vault)):
            raise AssignmentRefused("assign.revoked", who=who.strip())
        raise AssignmentRefused("assign.unknown_worker", who=who)
    if len(found) > 1:
        raise AssignmentRefused("assign.ambiguous_worker", who=who)
    if found[0].revoked is not None:
        raise AssignmentRefused("assign.revoked", who=found[0].name or who)
    return found[0]


def current(vault: Vault, resident_id: str) -> Assignment | None:
    """The resident's assignment as it stands, or None (never assigned)."""
    rid = assignment_id(resident_id)
    doc = vault.get(rid)
    return None if doc is None else Assignment.from_fields(rid, doc)


def assign(vault: Vault, resident_id: str, worker: str | None) -> Assigned:
    """Assign the resident to the worker's ``device`` (reassign from whoever held it), or take
    it back with None; the devices it is shared with stay (but the new worker's own)."""
    held = current(vault, resident_id)
    shared = [d for d in (held.shared_with if held else []) if d != worker]
    return _save(vault, resident_id, worker, shared, held)


def share(vault: Vault, resident_id: str, device: str) -> Assigned:
    """Share the resident's file with another device besides its worker."""
    held = current(vault, resident_id)
    worker = held.worker if held else None
    shared = list(held.shared_with if held else [])
    if device != worker and device not in shared:
        shared.append(device)
    return _save(vault, resident_id, worker, shared, held)


def unshare(vault: Vault, resident_id: str, device: str) -> Assigned:
    """Stop sharing the resident's file with ``device`` (it leaves that device's scope)."""
    held = current(vault, resident_id)
    worker = held.worker if held else None
    shared = [d for d in (held.shared_with if held else []) if d != device]
    return _save(vault, resident_id, worker, shared, held)


def take_back(vault: Vault, resident_id: str) -> Assigned:
    """Take the resident back from its worker and from everyone it was shared with."""
    held = current(vault, resident_id)
    return _save(vault, resident_id, None, [], held)


def _save(
    vault: Vault,
    resident_id: str,
    worker: str | None,
    shared: list[str],
    held: Assignment | None,
) -> Assigned:
    if not is_supervisor(vault):
        raise AssignmentRefused("assign.not_supervisor")
    if vault.kind_of(resident_id) != RecordKind.RESIDENT.value or vault.get(resident_id) is None:
        raise AssignmentRefused("assign.unknown_resident")
    known = {d.device_id for d in workers(vault)}
    before = held.holders() if held else frozenset()
    for device in {worker, *shared} - {None} - before:  # a device newly given the file
        if device not in known:
            raise AssignmentRefused("assign.unknown_worker", who=str(device))
    changed = held is None or held.worker != worker
    stamp = vault.clock.now().replace(microsecond=0)
    assignment = validate(
        Assignment,
        {
            "id": assignment_id(resident_id),
            "resident_id": resident_id,
            "worker": worker,
            "shared_with": shared,
            "assigned_at": stamp if changed or held is None else held.assigned_at,
        },
        today=stamp.date(),
    )
    fields = assignment.to_fields()
    vault.commit([Change(RecordKind.ASSIGNMENT.value, assignment.id, fields)])
    cut, error = scope.try_cut(vault)
    return Assigned(assignment, cut, error)
