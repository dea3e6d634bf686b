"""``fieldapp assign``: the supervisor assigns a resident to a worker's device, shares the
file with others or stops sharing, or takes it back (a thin shell over
``fieldapp.services.assignments``)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from fieldapp.cli.common import close_keeping, open_vault, say
from fieldapp.i18n import t

if TYPE_CHECKING:
    from fieldapp.services.assignments import Assigned
    from fieldapp.store import Vault


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``assign`` subcommand and its options."""
    parser = sub.add_parser("assign", help=t("assign.help"))
    parser.add_argument("resident", metavar="RESIDENT", help=t("assign.help_resident"))
    parser.add_argument("worker", metavar="WORKER", nargs="?", help=t("assign.help_worker"))
    parser.add_argument(
        "--share", metavar="WORKER", action="append", default=[], help=t("assign.help_share")
    )
    parser.add_argument(
        "--unshare", metavar="WORKER", action="append", default=[], help=t("assign.help_unshare")
    )
    parser.add_argument("--take-back", action="store_true", help=t("assign.help_take_back"))
    parser.set_defaults(func=cmd_assign)


def cmd_assign(args: argparse.Namespace) -> int:
    """Assign, share, unshare or take back one resident; then say who holds the file and
    what was sealed for the devices."""
    from fieldapp.errors import AssignmentRefused
    from fieldapp.services import assignments
    from fieldapp.services.export import residents_named

    vault = open_vault(args)
    try:
        if not assignments.is_supervisor(vault):
            raise AssignmentRefused("assign.not_supervisor")
        found = residents_named(vault, args.resident)
        if not found:
            raise AssignmentRefused("assign.unknown_resident")
        if len(found) > 1:
            print(t("assign.ambiguous_resident", name=args.resident), file=sys.stderr)
            for rid, doc in found:
                born = doc.get("birth_date") or doc.get("birth_year") or ""
                print(f"  {rid}  {doc.get('name', '')}  {doc.get('community', '')}  {born}")
            return 1
        rid, doc = found[0]
        done: list[Assigned] = []
        if args.take_back:
            done.append(assignments.take_back(vault, rid))
        elif args.worker:
            device = assignments.worker_named(vault, args.worker).device_id
            done.append(assignments.assign(vault, rid, device))
        for who in args.share:
            device = assignments.worker_named(vault, who).device_id
            done.append(assignments.share(vault, rid, device))
        for who in args.unshare:
            device = _named_or_id(vault, who)
            done.append(assignments.unshare(vault, rid, device))
        _tell(vault, rid, str(doc.get("name", "")), done)
    finally:
        close_keeping(vault)
    return 0


def _named_or_id(vault: Vault, who: str) -> str:
    """The device ``who`` names to stop sharing with: a revoked one too (it must lose it)."""
    from sync import team

    found = team.devices_named(vault, who)
    return found[0].device_id if len(found) == 1 else who.strip()


def _tell(vault: Vault, rid: str, name: str, done: list[Assigned]) -> None:
    from fieldapp.services import assignments
    from sync import team

    held = assignments.current(vault, rid)
    names = {d.device_id: d.name for d in team.devices(vault)}
    worker = names.get(held.worker, held.worker) if held and held.worker else None
    shared = [names.get(d, d) for d in (held.shared_with if held else [])]
    say(
        "assign.done",
        resident=name,
        worker=worker or t("assign.nobody"),
        shared=t("assign.sep").join(shared) if shared else t("assign.no_one_else"),
    )
    bundles = 0
    devices: set[str] = set()
    for result in done:
        if result.cut_error is not None:
            print(t("assign.cut_failed", reason=result.cut_error.render()), file=sys.stderr)
        elif result.cut is not None:
            bundles += result.cut.total
            devices |= set(result.cut.bundles)
    if bundles:
        say("assign.cut", bundles=bundles, devices=len(devices))
