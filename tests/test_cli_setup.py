"""Setup as a newcomer meets it at the command line (issue 13): cards pasted as printed,
a team card whose fingerprint changed, revoking by name, `team create` without a vault,
the recovery key on screen, and exports a person can read."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from fieldapp.domain.ids import new_id
from fieldapp.store import Change, Vault
from sync import team
from sync.cards import TeamSecrets
from tests.conftest import FAST_KDF, PASSPHRASE, ROOT, python

P = PASSPHRASE + "\n"


def fieldapp(
    vault: Path, *args: str, stdin: str = P, lang: str = "en"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python(), "-m", "fieldapp", "--lang", lang, "--vault", str(vault), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def as_printed(code: str) -> str:
    """A card as a handout prints it: five lines, in groups of eight with spaces."""
    width = -(-len(code) // 5)
    lines = [code[i : i + width] for i in range(0, len(code), width)]
    return "\n".join(" ".join(line[j : j + 8] for j in range(0, len(line), 8)) for line in lines)


@pytest.fixture
def sup_and_worker(tmp_path: Path) -> tuple[Path, Path, str]:
    """A supervisor's vault with a team, and a worker's vault that has not joined yet."""
    sup, worker = tmp_path / "sup", tmp_path / "worker"
    s, _ = Vault.create(sup, PASSPHRASE, kdf=FAST_KDF)
    code = team.create_team(s, "史家社区督导").code()
    s.close()
    w, _ = Vault.create(worker, PASSPHRASE, kdf=FAST_KDF)
    w.commit([Change("resident", new_id(), {"name": "张三", "community": "史家社区"})])
    w.close()
    return sup, worker, code


# ---------------------------------------------------------------- 1. cards as printed


def test_a_team_card_pasted_as_printed_is_accepted(sup_and_worker: tuple[Path, Path, str]) -> None:
    sup, worker, code = sup_and_worker
    printed = as_printed(code)
    assert printed.count("\n") == 4 and " " in printed
    # Pasted after the command: the shell hands over the groups as separate words.
    words = fieldapp(worker, "team", "join", *printed.split())
    assert words.returncode == 0, words.stderr
    assert "史家社区督导" in words.stdout
    # A group that begins with "-" (base64url has them) is a word of the card, not an option.
    other = next(
        c for c in iter(lambda: TeamSecrets.generate("0f", "t").code(), "") if "-" in c[4:]
    )
    dash = other.index("-", len("FT1-"))
    newcomer = worker.parent / "newcomer"
    Vault.create(newcomer, PASSPHRASE, kdf=FAST_KDF)[0].close()
    out = worker.parent / "me.fdevice"
    dashed = fieldapp(newcomer, "team", "join", other[:dash], other[dash:], "--out", str(out))
    assert dashed.returncode == 0, dashed.stderr
    assert out.read_text().startswith("FD1-")
    # Pasted at the prompt, line breaks and all, ended by an empty line.
    pasted = fieldapp(worker, "team", "join", stdin=P + printed + "\n\n")
    assert pasted.returncode == 0, pasted.stderr
    device = pasted.stdout.strip().splitlines()[-1]
    assert device.startswith("FD1-")
    # The supervisor pastes the device card as printed too.
    enrolled = fieldapp(sup, "team", "enrol", stdin=P + as_printed(device) + "\n\n")
    assert enrolled.returncode == 0, enrolled.stderr
    assert "Enrolled" in enrolled.stdout


# ---------------------------------------------------------------- 2. a changed fingerprint


def test_rejoining_with_a_changed_card_shows_both_fingerprints_and_asks(
    sup_and_worker: tuple[Path, Path, str],
) -> None:
    sup, worker, first = sup_and_worker
    assert fieldapp(worker, "team", "join", first).returncode == 0
    same = fieldapp(worker, "team", "join", first)
    assert same.returncode == 0 and "differs" not in same.stderr + same.stdout  # silent
    s = Vault.open(sup, PASSPHRASE)
    moved = team.set_hub(s, {"endpoint": "http://192.168.1.10:8333", "bucket": "fieldapp"})
    second, old_fp, new_fp = moved.code(), team.read_team_card(first).fingerprint, None
    new_fp = moved.card().fingerprint
    s.close()
    assert old_fp != new_fp

    for answer in ("n\n", "", "\n"):  # no, the end of the input, just Enter: all refuse
        refused = fieldapp(worker, "team", "join", second, stdin=P + answer)
        assert refused.returncode == 1, refused.stdout
        assert old_fp in refused.stderr and new_fp in refused.stderr
        assert "[y/N]" in refused.stderr and "not changed" in refused.stderr
        with Vault.open(worker, PASSPHRASE) as w:
            assert team.team_card(w).fingerprint == old_fp  # type: ignore[union-attr]

    accepted = fieldapp(worker, "team", "join", second, stdin=P + "y\n")
    assert accepted.returncode == 0, accepted.stderr
    assert new_fp in accepted.stdout
    with Vault.open(worker, PASSPHRASE) as w:
        assert team.team_card(w).fingerprint == new_fp  # type: ignore[union-attr]
        with pytest.raises(team.TeamCardChanged):  # the app's path refuses it unconfirmed
            team.join(w, first, "李娜")
    chinese = fieldapp(worker, "team", "join", first, stdin=P + "否\n", lang="zh_CN")
    assert chinese.returncode == 1 and "指纹" in chinese.stderr


# ---------------------------------------------------------------- 3. revoke by name


def test_revoke_by_the_workers_name_shows_the_device_and_asks(tmp_path: Path) -> None:
    sup = tmp_path / "sup"
    s, _ = Vault.create(sup, PASSPHRASE, kdf=FAST_KDF)
    code = team.create_team(s, "督导").code()
    ids = {}
    for i, name in enumerate(["李娜", "王芳", "王芳"]):
        w, _ = Vault.create(tmp_path / f"w{i}", PASSPHRASE, kdf=FAST_KDF)
        _, device = team.join(w, code, name)
        ids[i] = w.device_id
        w.close()
        team.enrol(s, device)
    s.close()

    def revoked() -> set[str]:
        with Vault.open(sup, PASSPHRASE) as v:
            return {d.device_id for d in team.devices(v) if d.revoked}

    kept = fieldapp(sup, "team", "revoke", "李娜", stdin=P + "n\n")
    assert kept.returncode == 1 and "Nothing was revoked" in kept.stderr
    with Vault.open(sup, PASSPHRASE) as v:
        enrolled = next(d.enrolled for d in team.devices(v) if d.device_id == ids[0])
    assert ids[0] in kept.stdout and "李娜" in kept.stdout and enrolled in kept.stdout
    assert revoked() == set()
    gone = fieldapp(sup, "team", "revoke", " 李娜 ", stdin=P + "y\n")
    assert gone.returncode == 0, gone.stderr
    assert revoked() == {ids[0]}

    ambiguous = fieldapp(sup, "team", "revoke", "王芳", stdin=P + "y\n")
    assert ambiguous.returncode == 1
    assert ids[1] in ambiguous.stderr and ids[2] in ambiguous.stderr
    assert revoked() == {ids[0]}
    by_id = fieldapp(sup, "team", "revoke", ids[2])  # the id needs no question
    assert by_id.returncode == 0 and revoked() == {ids[0], ids[2]}
    nobody = fieldapp(sup, "team", "revoke", "赵六")
    assert nobody.returncode == 1 and "no such device" in nobody.stderr


# ---------------------------------------------------------------- 5. the recovery key on screen


class Terminal:
    """``fieldapp`` run at a terminal (a pseudo-terminal that is its controlling tty), so
    that prompts, getpass and echo behave as for a person typing."""

    def __init__(self, *args: str) -> None:
        import fcntl
        import os
        import termios

        self.master, slave = os.openpty()

        def take_tty() -> None:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            [python(), "-u", "-m", "fieldapp", "--lang", "en", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=ROOT,
            start_new_session=True,
            preexec_fn=take_tty,
        )
        os.close(slave)
        self.seen = ""

    def wait_for(self, pattern: str) -> re.Match[str]:
        """Read until ``pattern`` appears in what the terminal has shown so far."""
        import os
        import select

        while True:
            match = re.search(pattern, self.seen)
            if match:
                return match
            ready, _, _ = select.select([self.master], [], [], 60)
            assert ready, "the command stopped talking: " + self.seen
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                chunk = b""
            assert chunk, "the command ended early: " + self.seen
            self.seen += chunk.decode("utf-8", "replace")

    def type(self, line: str) -> None:
        """Type a line and press Enter."""
        import os

        os.write(self.master, line.encode() + b"\r")

    def finish(self) -> int:
        """Read what is left and wait for the exit code."""
        import contextlib
        import os

        with contextlib.suppress(AssertionError, OSError):
            self.wait_for(r"\Z(?!x)x")  # until the terminal closes
        code = self.proc.wait(timeout=60)
        os.close(self.master)
        return code


KEY = r"[0-9A-Z]{4}(?:-[0-9A-Z]{4}){13}"


def test_init_clears_the_recovery_key_and_recover_does_not_echo_it(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    phrase = "seven words are easy to remember"
    term = Terminal("--vault", str(vault), "init")
    for prompt in ("New passphrase:", "Repeat the passphrase:"):
        term.wait_for(prompt)
        term.type(phrase)
    term.wait_for("Your name")
    term.type("李娜")
    term.wait_for("community")
    term.type("史家社区")
    key = term.wait_for(KEY).group(0)
    ask = term.wait_for(r"groups (\d+) and (\d+)")
    groups = key.split("-")
    term.type(f"{groups[int(ask.group(1)) - 1]} {groups[int(ask.group(2)) - 1]}")
    term.wait_for("ready")
    assert term.finish() == 0, term.seen
    after = term.seen[term.seen.index(key) + len(key) :]
    assert "\x1b[2J" in after and "\x1b[3J" in after  # screen and scrollback erased
    assert "cleared from the screen" in after
    assert key not in after

    term = Terminal("--vault", str(vault), "recover")
    term.wait_for("Recovery key:")
    term.type(key)
    term.wait_for("New passphrase:")
    assert key not in term.seen and groups[-1] not in term.seen  # typed, never shown
    for prompt in ("New passphrase:", "Repeat the passphrase:"):
        term.wait_for(prompt)
        term.type("another good passphrase")
        term.seen = term.seen.replace(prompt, "", 1)
    term.wait_for("New passphrase set")
    assert term.finish() == 0
    Vault.open(vault, "another good passphrase").close()


# ---------------------------------------------------------------- 4. team create, fresh machine


def test_team_create_on_a_fresh_machine_offers_the_supervisors_vault(tmp_path: Path) -> None:
    fresh = tmp_path / "sup"
    declined = fieldapp(fresh, "team", "create", "督导", stdin="n\n")
    assert declined.returncode == 1
    assert "no vault" in declined.stdout and "[y/N]" in declined.stderr
    assert "fieldapp init" in declined.stderr and not fresh.exists()
    assert fieldapp(fresh, "team", "create", "督导", stdin="").returncode == 1  # EOF: no
    assert not fresh.exists()

    term = Terminal("--vault", str(fresh), "team", "create", "史家社区督导")
    term.wait_for(r"\[y/N\]")
    term.type("y")
    for prompt in ("New passphrase:", "Repeat the passphrase:"):
        term.wait_for(prompt)
        term.type(PASSPHRASE)
    term.wait_for("Your name")
    term.type("王督导")
    term.wait_for("community")
    term.type("史家社区")
    key = term.wait_for(KEY).group(0).split("-")
    ask = term.wait_for(r"groups (\d+) and (\d+)")
    term.type(f"{key[int(ask.group(1)) - 1]} {key[int(ask.group(2)) - 1]}")
    term.wait_for(r"FT1-")
    assert term.finish() == 0, term.seen
    card = re.findall(r"FT1-\S+", term.seen)[-1]
    assert "Team “史家社区督导” created" in term.seen
    with Vault.open(fresh, PASSPHRASE) as v:
        mine = team.team_secrets(v)
        assert mine is not None and mine.name == "史家社区督导"
    assert team.read_team_card(card).team_id == mine.team_id


# ---------------------------------------------------------------- 6. exports a person can read


@pytest.fixture
def filled(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A worker's vault: 张三 (consent given, ID number, phone) with a need and a visit, and
    two residents called 李四."""
    import datetime as dt

    from fieldapp.domain import Need, Resident, Visit
    from fieldapp.domain.idcard import make_id_number
    from fieldapp.services.records import RecordService
    from tests.conftest import T0

    path = tmp_path / "worker"
    v, _ = Vault.create(path, PASSPHRASE, kdf=FAST_KDF)
    records = RecordService(v)
    zhang = Resident(
        name="张三",
        community="史家社区",
        birth_year=1950,
        phones=["13812345678"],
        id_number=make_id_number("110101", dt.date(1950, 1, 2), 7),
        consent={"status": "given", "on": dt.date(2026, 3, 1), "note": "签字存档"},
    )
    records.save(zhang)
    ids = {"zhang": zhang.id}
    for n in (1, 2):
        li = Resident(name="李四", community=f"社区{n}")
        records.save(li)
        ids[f"li{n}"] = li.id
    need = Need(
        resident_id=zhang.id,
        category="health",
        description="需要陪同就医",
        opened_on=dt.date(2026, 11, 2),
    )
    records.save(need)
    records.save(
        Visit(
            resident_id=zhang.id,
            kind="home",
            started_at=T0,
            duration_minutes=45,
            purpose="月家访",
        )
    )
    v.close()
    return path, ids


def test_exports_name_the_resident_spell_out_consent_and_keep_numbers(
    filled: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    import csv
    import datetime as dt

    from openpyxl import load_workbook

    from fieldapp.domain import RecordKind
    from fieldapp.services import export

    path, ids = filled
    with Vault.open(path, PASSPHRASE) as v:
        export.export_kind(v, RecordKind.NEED, tmp_path / "needs.csv")
        export.export_kind(v, RecordKind.NEED, tmp_path / "hidden.csv", redact=True)
        export.export_kind(v, RecordKind.RESIDENT, tmp_path / "residents.csv")
        export.export_kind(v, RecordKind.RESIDENT, tmp_path / "residents.xlsx")
        export.export_kind(v, RecordKind.NEED, tmp_path / "needs.xlsx")
        export.export_kind(v, RecordKind.VISIT, tmp_path / "visits.xlsx")

    def table(name: str) -> list[dict[str, str]]:
        return list(csv.DictReader((tmp_path / name).read_text("utf-8-sig").splitlines()))

    need = table("needs.csv")[0]
    assert need["Resident"] == "张三" and need["Resident id"] == ids["zhang"]
    hidden = (tmp_path / "hidden.csv").read_text("utf-8-sig")
    assert "张三" not in hidden and ids["zhang"] in hidden  # redacted: no name
    zhang = next(r for r in table("residents.csv") if r["id"] == ids["zhang"])
    assert zhang["Consent"] == "Given" and zhang["Consent date"] == "2026-03-01"
    assert zhang["Consent note"] == "签字存档"
    assert "{" not in (tmp_path / "residents.csv").read_text("utf-8-sig").split("\n")[1]

    def sheet(name: str) -> dict[str, list[object]]:
        ws = load_workbook(tmp_path / name).active
        rows = list(ws.iter_rows(values_only=True))
        return {str(h): [r[i] for r in rows[1:]] for i, h in enumerate(rows[0])}

    residents = sheet("residents.xlsx")
    row = residents["id"].index(ids["zhang"])
    assert residents["Year of birth"][row] == 1950
    assert residents["Consent date"][row] == dt.datetime(2026, 3, 1)
    needs = sheet("needs.xlsx")
    assert needs["Resident"] == ["张三"] and needs["Listed on"] == [dt.datetime(2026, 11, 2)]
    visits = sheet("visits.xlsx")
    assert visits["Minutes"] == [45] and isinstance(visits["Date and time"][0], dt.datetime)


def test_export_takes_plural_kinds_and_a_residents_name(
    filled: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    import orjson

    path, ids = filled
    for word, rows in (("needs", 1), ("residents", 3), ("Visits", 1), ("case-plans", 0)):
        run = fieldapp(path, "export", word, "--to", str(tmp_path / f"{word}.csv"))
        assert run.returncode == 0, run.stderr
        assert f"Exported {rows} " in run.stdout, run.stdout
    helped = fieldapp(path, "export", "--help")
    choices = helped.stdout[helped.stdout.index("{") : helped.stdout.index("}")]
    assert choices.count("resident") == 1

    one = fieldapp(path, "export", "resident", " 张三 ", "--to", str(tmp_path / "zhang.json"))
    assert one.returncode == 0, one.stderr
    assert orjson.loads((tmp_path / "zhang.json").read_bytes())["resident"]["id"] == ids["zhang"]
    by_id = fieldapp(path, "export", "resident", ids["li1"], "--to", str(tmp_path / "li.json"))
    assert by_id.returncode == 0, by_id.stderr
    two = fieldapp(path, "export", "resident", "李四", "--to", str(tmp_path / "li4.json"))
    assert two.returncode == 1 and "nothing was exported" in two.stderr
    assert ids["li1"] in two.stdout and ids["li2"] in two.stdout and "社区2" in two.stdout
    assert not (tmp_path / "li4.json").exists()
    nobody = fieldapp(path, "export", "resident", "王五", "--to", str(tmp_path / "w.json"))
    assert nobody.returncode == 1 and not (tmp_path / "w.json").exists()
