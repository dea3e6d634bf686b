"""A Hypothesis state machine over a supervisor's vault (issue 11): bundles from several
devices, good and hostile, junk files, duplicates, compaction, crashes (the process
gone between two steps: nothing closed, nothing compacted) and reopening, in any order.

Invariants after every step: the vault holds exactly the ops of the bundles it
accepted (a reference vault that applied only those agrees field by field), so every
refused bundle changed nothing; the vault always opens; and every view runs on it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from fieldapp.domain.clock import FixedClock
from fieldapp.store import Vault
from sync import team
from sync.merge import Merger
from tests.conftest import FAST_KDF, PASSPHRASE, T0
from tests.test_hardening import Hostile, every_view_runs, state
from tests.test_merge import supervisor

HOSTILE = [
    ("resident", "name", "x", "_resolved_name;evil", ["0000010000000100-0000000000000007"]),
    ("resident", "name", "x", "notes", "\x00\x1b"),  # control characters in text
    ("resident", "name", "x", "tags", ["x"] * 1000),
    ("resident", "name", "x", "birth_date", "2999-01-01"),
    ("need", "resident_id", "not an id", "status", "resolved"),
    ("visit", "duration_minutes", "thirty", "purpose", "例行"),
]


class SupervisorVault(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="machine-"))
        self.secrets = team.TeamSecrets.generate("team0001", "督导")
        self.devices = [Hostile(n) for n in (1, 2, 3)]
        self.path = self.dir / "sup"
        v = supervisor(self.path, self.secrets.to_json(), self.devices)
        v.close(compact=False)
        self.vault = self._open(self.path)
        reference, _ = Vault.create(
            self.dir / "ref", PASSPHRASE, kdf=FAST_KDF, clock=FixedClock(T0)
        )
        self.reference = reference
        self.sent: list[bytes] = []  # bundles accepted, for duplicates
        self.counter = 0

    @staticmethod
    def _open(path: Path) -> Vault:
        return Vault.open(path, PASSPHRASE, clock=FixedClock(T0))

    def _rid(self) -> str:
        self.counter += 1
        return f"019a0000-0000-7000-8000-{self.counter:012d}"

    def _deliver(self, device: Hostile, expect_applied: bool) -> None:
        seq, prev, sent = device.seq, device.prev, device.sent
        data = device.next_bundle(self.secrets)
        outcomes = Merger(self.vault).receive(data)
        first = outcomes[0]
        if expect_applied:
            assert first.kind == "applied", (first.kind, first.reason)
            opened = [op for save in device.saves[sent:] for op in save]
            self.reference.commit_ops(opened)
            self.sent.append(data)
        else:
            assert first.kind in ("quarantined", "held"), first.kind
            # The device never sent it, as far as its chain goes: its next bundle
            # takes the same number (nothing of this one was recorded as received).
            device.seq, device.prev = seq, prev
            del device.saves[sent:]
            device.sent = sent

    @rule(n=st.integers(0, 2), residents=st.integers(1, 3), with_need=st.booleans())
    def good_bundle(self, n: int, residents: int, with_need: bool) -> None:
        device = self.devices[n]
        for _ in range(residents):
            rid = self._rid()
            device.resident(rid, notes=f"第{self.counter}位")
            if with_need:
                nid = self._rid()
                save = [
                    device.raw("need", nid, "resident_id", rid),
                    device.raw("need", nid, "category", "housing"),
                    device.raw("need", nid, "description", "屋顶漏雨"),
                ]
                del device.saves[-3:]
                device.saves.append(save)
        self._deliver(device, expect_applied=True)

    @rule(n=st.integers(0, 2), which=st.integers(0, len(HOSTILE) - 1))
    def hostile_bundle(self, n: int, which: int) -> None:
        device = self.devices[n]
        kind, field, value, other, bad = HOSTILE[which]
        rid = self._rid()
        if kind == "resident":
            device.resident(rid)
            device.raw(kind, rid, other, bad)
        else:
            device.raw(kind, rid, field, value)
            device.raw(kind, rid, other, bad)
        before = state(self.vault)
        self._deliver(device, expect_applied=False)
        assert state(self.vault) == before

    @rule(junk=st.binary(max_size=5000))
    def junk_file(self, junk: bytes) -> None:
        before = state(self.vault)
        outcome = Merger(self.vault).receive(junk, source="/media/usb/junk.fbundle")
        assert outcome[0].kind == "quarantined"
        assert state(self.vault) == before

    @precondition(lambda self: bool(self.sent))
    @rule(i=st.integers(0, 10**6))
    def duplicate(self, i: int) -> None:
        data = self.sent[i % len(self.sent)]
        assert Merger(self.vault).receive(data)[0].kind == "duplicate"

    @rule()
    def compact(self) -> None:
        self.vault.compact()

    @rule(compact=st.booleans())
    def reopen(self, compact: bool) -> None:
        self.vault.close(compact=compact)
        self.vault = self._open(self.path)

    @rule()
    def crash(self) -> None:
        """The process dies between two steps: nothing closed, nothing compacted (every
        commit that returned is already on the disk)."""
        self.vault._close_files()
        self.vault = self._open(self.path)

    @rule()
    def views(self) -> None:
        every_view_runs(self.vault)

    @invariant()
    def holds_exactly_what_it_accepted(self) -> None:
        records = state(self.vault)
        assert records == state(self.reference)

    def teardown(self) -> None:
        import shutil

        self.vault.close(compact=False)
        self.reference.close(compact=False)
        every = self._open(self.path)  # it opens, one last time
        every_view_runs(every)
        every.close(compact=False)
        shutil.rmtree(self.dir, ignore_errors=True)


TestSupervisorVault = SupervisorVault.TestCase
TestSupervisorVault.settings = settings(
    max_examples=int(os.environ.get("FIELDAPP_MACHINE_EXAMPLES", "12")),
    stateful_step_count=20,
    deadline=None,
)
