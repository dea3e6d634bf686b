"""`fieldapp team …` and `fieldapp sync --to-folder` as a supervisor and a worker run them."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

from fieldapp.domain.ids import new_id
from fieldapp.store import Change, Vault
from sync.transports.folder import FolderTransport
from tests.conftest import FAST_KDF, PASSPHRASE, ROOT, python

DAY = dt.date(2026, 12, 1)  # any day: what is kept holds on every day


def fieldapp(
    vault: Path, *args: str, stdin: str = PASSPHRASE + "\n"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python(), "-m", "fieldapp", "--lang", "en", "--vault", str(vault), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_team_enrolment_and_usb_sync_end_to_end(tmp_path: Path) -> None:
    sup, worker = tmp_path / "sup", tmp_path / "worker"
    Vault.create(sup, PASSPHRASE, kdf=FAST_KDF)[0].close()
    w, _ = Vault.create(worker, PASSPHRASE, kdf=FAST_KDF)
    w.commit([Change("resident", new_id(), {"name": "张三", "community": "史家社区"})])
    w.close()

    created = fieldapp(sup, "team", "create", "史家社区督导", "--out", str(tmp_path / "team.fteam"))
    assert created.returncode == 0, created.stderr
    assert "fingerprint" in created.stdout.lower() and (tmp_path / "team.fteam").exists()

    no_team = fieldapp(worker, "sync", "--to-folder", str(tmp_path / "stick"))
    assert no_team.returncode == 1 and "fieldapp team join" in no_team.stderr

    joined = fieldapp(
        worker, "team", "join", str(tmp_path / "team.fteam"), "--out", str(tmp_path / "me.fdevice")
    )
    assert joined.returncode == 0, joined.stderr
    assert "史家社区督导" in joined.stdout

    stick = tmp_path / "stick"
    stick.mkdir()
    synced = fieldapp(worker, "sync", "--to-folder", str(stick))
    assert synced.returncode == 0, synced.stderr
    assert "1 new bundle(s) cut, 1 delivered, 0 still waiting" in synced.stdout
    assert len(FolderTransport(stick).list()) == 1

    enrolled = fieldapp(sup, "team", "enrol", str(tmp_path / "me.fdevice"))
    assert enrolled.returncode == 0 and "Enrolled" in enrolled.stdout
    listed = fieldapp(sup, "team", "list")
    assert "active" in listed.stdout
    device = listed.stdout.splitlines()[-1].split()[0]
    revoked = fieldapp(sup, "team", "revoke", device)
    assert revoked.returncode == 0
    assert "revoked" in fieldapp(sup, "team", "list").stdout

    forged = fieldapp(sup, "team", "enrol", "FD1-AAAABBBBCCCC")
    assert forged.returncode == 1 and "not valid" in forged.stderr


def test_a_failed_sync_keeps_the_outbox(tmp_path: Path) -> None:
    sup, worker = tmp_path / "sup", tmp_path / "worker"
    Vault.create(sup, PASSPHRASE, kdf=FAST_KDF)[0].close()
    w, _ = Vault.create(worker, PASSPHRASE, kdf=FAST_KDF)
    w.commit([Change("resident", new_id(), {"name": "张三", "community": "史家社区"})])
    w.close()
    code = fieldapp(sup, "team", "create", "t").stdout.strip().splitlines()[-1]
    assert fieldapp(worker, "team", "join", code).returncode == 0
    stick = tmp_path / "stick"
    stick.write_text("not a folder: the stick was formatted wrongly, or unplugged")
    result = fieldapp(worker, "sync", "--to-folder", str(stick))
    assert result.returncode == 3, result.stderr
    assert "stay in the outbox" in result.stderr
    assert "0 delivered, 1 still waiting" in result.stdout
    stick.unlink()
    stick.mkdir()
    again = fieldapp(worker, "sync", "--to-folder", str(stick))
    assert again.returncode == 0 and "0 new bundle(s) cut, 1 delivered" in again.stdout


def test_pointing_the_team_at_a_hub_and_typing_in_issued_credentials(tmp_path: Path) -> None:
    from sync import team
    from sync.cards import read_team_card

    sup, worker = tmp_path / "sup", tmp_path / "worker"
    Vault.create(sup, PASSPHRASE, kdf=FAST_KDF)[0].close()
    Vault.create(worker, PASSPHRASE, kdf=FAST_KDF)[0].close()
    assert fieldapp(sup, "team", "create", "督导").returncode == 0
    no_hub = fieldapp(worker, "sync")
    assert no_hub.returncode == 1 and "fieldapp team join" in no_hub.stderr
    moved = fieldapp(
        sup,
        "team",
        "hub",
        "https://oss-cn-beijing.aliyuncs.com/",
        "--bucket",
        "shijia",
        "--region",
        "oss-cn-beijing",
        "--out",
        str(tmp_path / "team.fteam"),
    )
    assert moved.returncode == 0, moved.stderr
    card = read_team_card((tmp_path / "team.fteam").read_text())
    assert card.hub == {
        "endpoint": "https://oss-cn-beijing.aliyuncs.com",
        "bucket": "shijia",
        "region": "oss-cn-beijing",
    }
    joined = fieldapp(worker, "team", "join", str(tmp_path / "team.fteam"))
    assert joined.returncode == 0, joined.stderr
    typed = fieldapp(
        worker, "team", "credentials", stdin=f"{PASSPHRASE}\nLTAI5tIssuedKey\nIssuedSecret123\n"
    )
    assert typed.returncode == 0 and "stored in the vault" in typed.stdout
    v = Vault.open(worker, PASSPHRASE)
    try:
        assert team.device_hub_credentials(v) == {
            "access_key": "LTAI5tIssuedKey",
            "secret_key": "IssuedSecret123",
        }
    finally:
        v.close()
    # Nothing of it in any file of the vault in the clear.
    for path in worker.rglob("*"):
        if path.is_file():
            assert b"IssuedSecret123" not in path.read_bytes()


def test_a_team_without_a_hub_says_so(tmp_path: Path) -> None:
    sup, worker = tmp_path / "sup", tmp_path / "worker"
    Vault.create(sup, PASSPHRASE, kdf=FAST_KDF)[0].close()
    Vault.create(worker, PASSPHRASE, kdf=FAST_KDF)[0].close()
    created = fieldapp(sup, "team", "create", "督导", "--out", str(tmp_path / "team.fteam"))
    assert created.returncode == 0
    assert fieldapp(worker, "team", "join", str(tmp_path / "team.fteam")).returncode == 0
    no_hub = fieldapp(worker, "sync")
    assert no_hub.returncode == 1 and "no hub yet" in no_hub.stderr
    merged = fieldapp(sup, "merge", "--from-hub")
    assert merged.returncode == 1 and "no hub yet" in merged.stderr
    nothing = fieldapp(sup, "merge")
    assert nothing.returncode == 2 and "--from-hub" in nothing.stdout


def test_a_street_joins_the_district_and_forwards_by_stick(tmp_path: Path) -> None:
    """`team join-upper`, `team enrol --flow records`, `team forward --to-folder`, then the
    district's `merge` of that stick: the street's records are at the district, named."""
    street, district = tmp_path / "street", tmp_path / "district"
    for path in (street, district):
        Vault.create(path, PASSPHRASE, kdf=FAST_KDF)[0].close()
    assert (
        fieldapp(
            street, "team", "create", "八廓街道", "--out", str(tmp_path / "s.fteam")
        ).returncode
        == 0
    )
    made = fieldapp(district, "team", "create", "城关区", "--out", str(tmp_path / "d.fteam"))
    assert made.returncode == 0, made.stderr
    not_yet = fieldapp(street, "team", "forward", "--to-folder", str(tmp_path / "stick"))
    assert not_yet.returncode == 1 and "join a team first" in not_yet.stderr
    joined = fieldapp(
        street,
        "team",
        "join-upper",
        str(tmp_path / "d.fteam"),
        "--out",
        str(tmp_path / "s.fdevice"),
    )
    assert joined.returncode == 0 and "城关区" in joined.stdout, joined.stderr
    wrong = fieldapp(district, "team", "enrol", str(tmp_path / "s.fdevice"), "--flow", "all")
    assert wrong.returncode == 2  # argparse: not one of the choices
    enrolled = fieldapp(district, "team", "enrol", str(tmp_path / "s.fdevice"), "--flow", "records")
    assert enrolled.returncode == 0, enrolled.stderr
    assert "office: sends records" in fieldapp(district, "team", "list").stdout
    v = Vault.open(street, PASSPHRASE)
    rid = new_id()
    v.commit([Change("resident", rid, {"name": "格桑", "community": "八廓社区"})])
    v.close()
    stick = tmp_path / "stick"
    stick.mkdir()
    forwarded = fieldapp(street, "team", "forward", "--to-folder", str(stick))
    assert forwarded.returncode == 0, forwarded.stderr
    assert "1 bundle(s) for the level above" in forwarded.stdout
    merged = fieldapp(district, "merge", str(stick))
    assert merged.returncode == 0, merged.stdout + merged.stderr
    d = Vault.open(district, PASSPHRASE)
    assert d.get(rid)["name"] == "格桑"
    d.close()


def test_a_district_sends_the_city_counts_only(tmp_path: Path) -> None:
    """`team join-upper --flow aggregates` then `team forward --period`: the city merges a
    month's counts from the stick and no record; a bad month is a clear message."""
    district, city = tmp_path / "district", tmp_path / "city"
    for path in (district, city):
        Vault.create(path, PASSPHRASE, kdf=FAST_KDF)[0].close()
    fieldapp(district, "team", "create", "城关区")
    assert (
        fieldapp(city, "team", "create", "拉萨市", "--out", str(tmp_path / "c.fteam")).returncode
        == 0
    )
    joined = fieldapp(
        district,
        "team",
        "join-upper",
        str(tmp_path / "c.fteam"),
        "--flow",
        "aggregates",
        "--out",
        str(tmp_path / "d.fdevice"),
    )
    assert joined.returncode == 0, joined.stderr
    enrolled = fieldapp(city, "team", "enrol", str(tmp_path / "d.fdevice"), "--flow", "aggregates")
    assert enrolled.returncode == 0, enrolled.stderr
    v = Vault.open(district, PASSPHRASE)
    v.commit([Change("resident", new_id(), {"name": "格桑", "community": "八廓社区"})])
    v.close()
    stick = tmp_path / "stick"
    stick.mkdir()
    bad = fieldapp(district, "team", "forward", "--to-folder", str(stick), "--period", "11/2026")
    assert bad.returncode == 1 and "YYYY-MM" in bad.stderr and "11/2026" in bad.stderr
    sent = fieldapp(district, "team", "forward", "--to-folder", str(stick), "--period", "2026-11")
    assert sent.returncode == 0, sent.stderr
    merged = fieldapp(city, "merge", str(stick))
    assert merged.returncode == 0, merged.stdout + merged.stderr
    c = Vault.open(city, PASSPHRASE)
    assert c.count() == 0 and c.meta_keys("counts/tables/")
    c.close()


def test_after_a_sync_or_a_merge_by_command_the_next_unlock_has_its_home_to_draw(
    tmp_path: Path,
) -> None:
    """A worker's `fieldapp sync` and a supervisor's `fieldapp merge` save (the outbox, the
    merge) and close as the app does: what the next unlock draws before the records are
    read is kept at the revision they closed at — Today for the worker, the team view for
    the supervisor."""
    from fieldapp.services import team_view
    from fieldapp.services import today as day_summary

    sup, worker = tmp_path / "sup", tmp_path / "worker"
    Vault.create(sup, PASSPHRASE, kdf=FAST_KDF)[0].close()
    w, _ = Vault.create(worker, PASSPHRASE, kdf=FAST_KDF)
    w.commit([Change("resident", new_id(), {"name": "张三", "community": "史家社区"})])
    w.close()
    assert (
        fieldapp(sup, "team", "create", "督导", "--out", str(tmp_path / "t.fteam")).returncode == 0
    )
    joined = fieldapp(
        worker, "team", "join", str(tmp_path / "t.fteam"), "--out", str(tmp_path / "d")
    )
    assert joined.returncode == 0, joined.stderr
    assert fieldapp(sup, "team", "enrol", str(tmp_path / "d")).returncode == 0
    stick = tmp_path / "stick"
    stick.mkdir()
    assert fieldapp(worker, "sync", "--to-folder", str(stick)).returncode == 0
    merged = fieldapp(sup, "merge", str(stick))
    assert merged.returncode == 0, merged.stderr

    def drawn(path: Path, preview: object) -> list[object]:
        seen: list[object] = []
        Vault.open(
            path,
            PASSPHRASE,
            peek=lambda read: seen.append(preview(read, dt.date.today())),  # type: ignore[operator]
        ).close(compact=False)
        return seen

    (today,) = drawn(worker, day_summary.preview)
    assert today is not None and today.residents == 1  # type: ignore[attr-defined]
    (team_now,) = drawn(sup, team_view.preview)
    assert team_now is not None and [r.residents for r in team_now.rows] == [1]  # type: ignore[attr-defined]
