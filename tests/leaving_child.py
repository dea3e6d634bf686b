"""Child process for the kill -9 test of leaving scope (tests/test_leaving_crash.py): in a
loop, a resident's file is made (resident, need, visit, an interview with a resident who
stays), an assignment taking it elsewhere is applied, and a sync cuts, delivers and so
purges it. Usage: leaving_child.py VAULT PASSPHRASE STICK START"""

from __future__ import annotations

import sys
from pathlib import Path

from fieldapp.domain import Interview, Need, NeedCategory, Resident, Visit
from fieldapp.domain.clock import FixedClock
from fieldapp.domain.enums import VisitKind
from fieldapp.domain.models import Assignment, assignment_id
from fieldapp.domain.ops import Op, make_op_id
from fieldapp.services.records import RecordService
from fieldapp.store import Vault
from sync import leaving, outbox
from sync.transports.folder import FolderTransport
from tests.conftest import T0

SUPERVISOR = "supervisordevice0"  # the author of the assignments (as a downward bundle's)
STAYING = "00000000-0000-7000-8900-000000000000"


def ids(i: int) -> dict[str, str]:
    """The records of round ``i`` (UUIDv7-shaped, so the parent can predict them)."""
    return {
        kind: f"00000000-0000-7000-8{k}00-{i:012d}"
        for k, kind in enumerate(("resident", "need", "visit", "interview"))
    }


def name(i: int) -> str:
    """Round ``i``'s resident's name: what no file may hold once it is purged."""
    return f"离开测试{i:05d}号"


def make_file(vault: Vault, i: int) -> None:
    """Round ``i``'s resident and its file, in one commit."""
    r = ids(i)
    resident = Resident(id=r["resident"], name=name(i), community="史家社区")
    need = Need(
        id=r["need"],
        resident_id=resident.id,
        category=NeedCategory.HEALTH,
        description=f"需求 {name(i)}",
        opened_on=T0.date(),
    )
    visit = Visit(
        id=r["visit"],
        resident_id=resident.id,
        kind=VisitKind.HOME,
        started_at=T0,
        duration_minutes=20,
        purpose="家访",
    )
    interview = Interview(
        id=r["interview"],
        resident_ids=[resident.id, STAYING],
        held_on=T0.date(),
        template_id="weekly",
    )
    RecordService(vault).save_many([resident, need, visit, interview])


def assign_away(vault: Vault, i: int) -> None:
    """The assignment a downward bundle would bring: round ``i``'s resident elsewhere."""
    rid = ids(i)["resident"]
    fields = Assignment(
        id=assignment_id(rid), resident_id=rid, worker="elsewhere0", assigned_at=T0
    ).to_fields()
    ops = []
    for field, value in fields.items():
        hlc = vault.hlc.now()
        ops.append(
            Op(
                make_op_id(hlc, SUPERVISOR),
                "assignment",
                assignment_id(rid),
                field,
                value,
                hlc,
                SUPERVISOR,
                None,
            )
        )
    vault.commit_ops(ops)


def main() -> None:
    """Run rounds from START until killed."""
    path, passphrase, stick, start = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    vault = Vault.open(Path(path), passphrase, clock=FixedClock(T0))
    transport = FolderTransport(Path(stick))
    print("READY", flush=True)
    i = start
    while True:
        print(f"BEGIN {i}", flush=True)
        make_file(vault, i)
        assign_away(vault, i)
        leaving.settle(vault)  # leaving, not purged: its ops have not gone up
        print(f"LEAVING {i}", flush=True)
        result = outbox.sync_to(vault, transport)  # cut, deliver, confirm: purged
        assert result.error is None, result.error
        print(f"PURGED {i}", flush=True)
        i += 1


if __name__ == "__main__":
    main()
