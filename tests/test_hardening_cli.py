"""Hardening, as a user meets it (issue 11): one writer at a time whatever is deleted,
a translated message where a traceback was (read-only disk, full disk, a folder where a
file belongs and back, an ASCII terminal), exports nobody else can read, and
``passwd --rekey``."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldapp import cli, i18n
from fieldapp.cli import common as cli_common
from fieldapp.domain.ids import new_id
from fieldapp.errors import VaultLocked, VaultReadOnly, WrongPassphrase
from fieldapp.services import export
from fieldapp.store import Change, Vault, fsio
from tests.children import Child
from tests.conftest import FAST_KDF, PASSPHRASE, ROOT, python


def fieldapp(
    *args: str, stdin: str = PASSPHRASE + "\n", lang: str = "en", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python(), "-m", "fieldapp", "--lang", lang, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env=env,
    )


def files_digest(path: Path) -> dict[str, str]:
    return {
        f.name: hashlib.sha256(f.read_bytes()).hexdigest()
        for f in sorted(path.iterdir())
        if f.is_file()
    }


@pytest.fixture
def filled(vault: Vault, vault_path: Path) -> Iterator[Path]:
    for i in range(3):
        vault.commit([Change("resident", new_id(), {"name": f"居民{i}", "community": "史家社区"})])
    vault.close()
    yield vault_path


# ---------------------------------------------------------------- 6. one writer


def test_one_writer_at_a_time_whatever_is_deleted_or_renamed(filled: Path, tmp_path: Path) -> None:
    v = Vault.open(filled, PASSPHRASE)
    try:
        for leftover in filled.iterdir():  # no lock file to delete any more: the folder is it
            assert leftover.name != "vault.lock"
        probe = (
            "from fieldapp.store import Vault; import sys\n"
            "try:\n    Vault.open(sys.argv[1], sys.argv[2])\n"
            "except Exception as e:\n    print(type(e).__name__)\n"
        )
        out = subprocess.run(
            [python(), "-c", probe, str(filled), PASSPHRASE],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert out.stdout.strip() == "VaultLocked", out.stderr
        moved = tmp_path / "moved"
        os.rename(filled, moved)  # the open vault's folder, under another name
        out = subprocess.run(
            [python(), "-c", probe, str(moved), PASSPHRASE],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert out.stdout.strip() == "VaultLocked", out.stderr
        with pytest.raises(VaultLocked):
            Vault.open(moved, PASSPHRASE)
    finally:
        v.close()


# ---------------------------------------------------------------- 8. messages, not tracebacks


@pytest.fixture
def immutable(filled: Path) -> Iterator[Path]:
    """The vault's files made immutable (chattr +i): every write fails for real, even
    for root, as on a read-only disk."""
    files = [str(f) for f in filled.iterdir()]
    done = subprocess.run(["chattr", "+i", *files], capture_output=True)
    if done.returncode:
        pytest.skip(f"chattr +i is not available here: {done.stderr!r}")
    try:
        yield filled
    finally:
        subprocess.run(["chattr", "-i", *files], check=True)


def test_a_vault_that_cannot_be_written_is_opened_read_only_on_request(
    immutable: Path, tmp_path: Path
) -> None:
    before = files_digest(immutable)
    with pytest.raises(VaultReadOnly) as info:
        Vault.open(immutable, PASSPHRASE)
    assert "read-only" in info.value.render("en") and "只读" in info.value.render("zh_CN")
    with Vault.open(immutable, PASSPHRASE, read_only=True) as v:
        assert v.count("resident") == 3
        with pytest.raises(VaultReadOnly):
            v.commit([Change("resident", new_id(), {"name": "新", "community": "史家社区"})])
        with pytest.raises(VaultReadOnly):
            v.compact()
    # The command line: refused with the message, or read-only to export.
    refused = fieldapp(
        "--vault", str(immutable), "export", "resident", "--to", str(tmp_path / "r.csv")
    )
    assert (
        refused.returncode == 1
        and "--read-only" in refused.stderr
        and "Traceback" not in refused.stderr
    )
    done = fieldapp(
        "--vault",
        str(immutable),
        "--read-only",
        "export",
        "resident",
        "--to",
        str(tmp_path / "r.csv"),
    )
    assert done.returncode == 0, done.stderr
    assert "Exported 3 rows" in done.stdout
    assert files_digest(immutable) == before  # not one byte written


def test_a_write_refused_by_the_disk_is_read_only_too(
    filled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*args: object) -> int:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(os, "pwrite", refused)
    with pytest.raises(VaultReadOnly):
        Vault.open(filled, PASSPHRASE)
    monkeypatch.undo()
    with Vault.open(filled, PASSPHRASE) as v:  # and nothing was harmed
        assert v.count("resident") == 3


def _full(*args: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_init_on_a_full_disk_says_so_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "new"
    monkeypatch.setattr(fsio, "atomic_write", _full)
    monkeypatch.setattr(
        sys, "stdin", io.StringIO("seven words are easy to remember\n" * 2 + "李娜\n史家社区\n")
    )
    from fieldapp.store import crypto

    monkeypatch.setattr(crypto, "calibrate", lambda: FAST_KDF)
    code = cli.main(["--lang", "zh_CN", "--vault", str(target), "init"])
    err = capsys.readouterr().err
    assert code == 1 and "保存失败" in err and "No space left" in err and "Traceback" not in err
    assert not target.exists()


def test_an_export_on_a_full_disk_says_so_and_leaves_nothing(
    filled: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(export, "write_all", _full)
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSPHRASE + "\n"))
    target = tmp_path / "out" / "r.csv"
    target.parent.mkdir()
    code = cli.main(
        ["--lang", "en", "--vault", str(filled), "export", "resident", "--to", str(target)]
    )
    err = capsys.readouterr().err
    assert code == 1 and "No space left" in err and "Traceback" not in err
    assert list(target.parent.iterdir()) == []  # no file, no plaintext temp file


def test_a_config_or_template_that_is_a_folder_is_reported_and_left_alone(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = Path(os.environ["FIELDAPP_HOME"])
    (home / "config.toml").mkdir(parents=True)
    (home / "templates" / "mine.toml").mkdir(parents=True)
    import argparse

    monkeypatch.setattr(cli_common, "BROKEN_CONFIG", [])
    args = argparse.Namespace(lang=None, read_only=False)
    config = cli_common.settings(args)  # what the app starts on
    assert "config.toml" in capsys.readouterr().err
    assert (
        config.language in ("zh_CN", "en")
        and cli_common.run_options(args)["save_settings"] is False
    )
    assert (home / "config.toml").is_dir()  # and it is never written over
    from fieldapp.services.templates import load_templates

    errors: list[object] = []
    templates = load_templates(home / "templates", errors)  # type: ignore[arg-type]
    assert "general_intake" in templates and len(errors) == 1
    assert "mine.toml" in errors[0].render("en")  # type: ignore[attr-defined]


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_a_vault_path_that_is_a_file_or_below_one(tmp_path: Path, lang: str) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    for path in (a_file, a_file / "vault"):
        for args in (["init"], ["export", "summary", "--to", str(tmp_path / "s.csv")], ["sync"]):
            run = fieldapp("--vault", str(path), *args, lang=lang, stdin="")
            assert run.returncode == 1, (path, args, run.stderr)
            assert "Traceback" not in run.stderr
            assert ("a vault is a folder" if lang == "en" else "保险库必须是文件夹") in run.stderr
    assert a_file.read_text() == "x"


@pytest.mark.parametrize(
    "args", [["--help"], ["--lang", "zh_CN", "--help"], ["--lang", "zh_CN", "demo", "--summary"]]
)
def test_an_ascii_only_terminal_gets_text_not_a_traceback(tmp_path: Path, args: list[str]) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LC_", "LANG", "PYTHONUTF8", "PYTHONIOENCODING"))
    }
    # C locale with Python's UTF-8 mode off: stdout really is ASCII (UTF-8 mode would
    # otherwise switch itself on in the C locale and hide the problem).
    env.update(LC_ALL="C", LANG="C", PYTHONUTF8="0")
    if "demo" in args:
        args = [*args, "--dir", str(tmp_path / "demo")]
    run = subprocess.run(
        [python(), "-m", "fieldapp", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        encoding="utf-8",
        errors="replace",
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr and run.stdout.strip()
    if "zh_CN" in args:
        assert "\\u" in run.stdout or "\\x" in run.stdout  # shown as escapes, not a crash


def test_merging_a_path_that_does_not_exist_says_so_and_exits_non_zero(
    filled: Path, tmp_path: Path
) -> None:
    from sync import team

    with Vault.open(filled, PASSPHRASE) as v:
        team.create_team(v, "督导")
    run = fieldapp("--vault", str(filled), "merge", str(tmp_path / "no" / "such"))
    assert run.returncode != 0 and "There is no file or folder" in run.stderr
    assert "Merged" not in run.stdout


def test_export_resident_to_a_table_is_the_residents_table(filled: Path, tmp_path: Path) -> None:
    target = tmp_path / "residents.csv"
    run = fieldapp("--vault", str(filled), "export", "resident", "--to", str(target))
    assert run.returncode == 0, run.stderr
    assert "Exported 3 rows" in run.stdout and "居民0" in target.read_text("utf-8-sig")
    needs_id = fieldapp(
        "--vault", str(filled), "export", "resident", "--to", str(tmp_path / "one.json")
    )
    assert needs_id.returncode == 2 and "resident's id" in needs_id.stderr


# ---------------------------------------------------------------- 9. exports


CHILD = """
import os, sys, time
from fieldapp.services import export
from fieldapp.store import Vault
vault = Vault.open(sys.argv[1], sys.argv[2])
real = os.replace
def stuck(src, dst):
    print("READY", flush=True)
    time.sleep(600)
os.replace = stuck
export.export_kind(vault, export.RecordKind.RESIDENT, sys.argv[3])
"""


def test_an_export_killed_mid_write_leaves_no_plaintext_after_the_next_start(
    filled: Path, tmp_path: Path
) -> None:
    target = tmp_path / "out" / "residents.csv"
    target.parent.mkdir()
    child = Child([python(), "-c", CHILD, str(filled), PASSPHRASE, str(target)])
    child.wait_for_line("READY")
    assert child.kill() == -signal.SIGKILL
    [left] = list(target.parent.iterdir())  # the complete plaintext, under a temp name
    assert "居民0" in left.read_text("utf-8-sig") and oct(left.stat().st_mode & 0o777) == "0o600"
    from fieldapp.services.workspace import Workspace

    with Vault.open(filled, PASSPHRASE) as v:
        Workspace(v)  # the next start
        assert not left.exists()
        export.export_kind(v, export.RecordKind.RESIDENT, target)
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in target.parent.iterdir()] == ["residents.csv"]


def test_exports_are_readable_by_the_user_alone_whatever_the_umask(
    filled: Path, tmp_path: Path
) -> None:
    old = os.umask(0o022)
    try:
        with Vault.open(filled, PASSPHRASE) as v:
            for name in ("r.csv", "r.xlsx"):
                export.export_kind(v, export.RecordKind.RESIDENT, tmp_path / name)
                assert oct((tmp_path / name).stat().st_mode & 0o777) == "0o600"
            rid = next(iter(v.iter_records("resident")))[0]
            export.export_resident(v, rid, tmp_path / "one.json")
            assert oct((tmp_path / "one.json").stat().st_mode & 0o777) == "0o600"
    finally:
        os.umask(old)


# ---------------------------------------------------------------- 11. a new data key


def test_rekey_rewrites_everything_and_the_old_key_file_opens_nothing(filled: Path) -> None:
    old_key = (filled / "vault.key").read_bytes()
    old_files = {f.name: f.read_bytes() for f in filled.iterdir()}
    with Vault.open(filled, PASSPHRASE) as v:
        before = {rid: dict(doc) for rid, doc in v.iter_records("resident")}
        history = len(v.all_ops())
        recovery = v.rekey("a brand new passphrase", kdf=FAST_KDF)
        assert len(recovery.split("-")) == 14
        v.commit([Change("resident", new_id(), {"name": "之后", "community": "史家社区"})])
    with Vault.open(filled, "a brand new passphrase") as v:
        now = {rid: dict(doc) for rid, doc in v.iter_records("resident")}
        assert {k: now[k] for k in before} == before and len(now) == 4
        assert len(v.all_ops()) == history + 2  # the history came along, re-encrypted
    for f in filled.iterdir():  # every file rewritten
        assert old_files.get(f.name) != f.read_bytes(), f.name
    assert not [p for p in filled.parent.iterdir() if p.name.startswith(".vault.")]
    with pytest.raises(WrongPassphrase):
        Vault.open(filled, PASSPHRASE)
    new_key = (filled / "vault.key").read_bytes()
    (filled / "vault.key").write_bytes(old_key)  # a leaked old key file and passphrase
    with pytest.raises(Exception) as info:
        Vault.open(filled, PASSPHRASE)
    assert type(info.value).__name__ == "VaultTampered"  # decrypts nothing
    (filled / "vault.key").write_bytes(new_key)
    Vault.recover(filled, recovery, "recovered passphrase", kdf=FAST_KDF).close()  # the new one


REKEY_CHILD = """
import sys
from fieldapp.store import Vault, KdfParams
v = Vault.open(sys.argv[1], sys.argv[2])
print("READY", flush=True)
v.rekey(sys.argv[3], kdf=KdfParams(1024, 1, 1))
print("DONE", flush=True)
"""


@pytest.mark.slow
def test_kill_9_during_a_rekey_leaves_the_old_vault_or_the_new_one(filled: Path) -> None:
    with Vault.open(filled, PASSPHRASE) as v:
        expected = {rid: dict(doc) for rid, doc in v.iter_records("resident")}
    current = PASSPHRASE
    outcomes = set()
    window = 0.05  # seconds after READY; moved towards where the rekey ends
    rng = random.Random(11)
    for round_no in range(16):
        new = f"passphrase number {round_no}"
        child = Child([python(), "-c", REKEY_CHILD, str(filled), current, new])
        child.wait_for_line("READY")
        time.sleep(rng.uniform(0, window))
        child.kill()
        for passphrase in (new, current):
            try:
                v = Vault.open(filled, passphrase)
            except WrongPassphrase:
                continue
            with v:
                assert {rid: dict(doc) for rid, doc in v.iter_records("resident")} == expected
            finished = passphrase == new
            outcomes.add(finished)
            window = window / 1.5 if finished else window * 1.5
            current = passphrase
            break
        else:
            raise AssertionError(f"round {round_no}: neither passphrase opens the vault")
        assert not [p for p in filled.parent.iterdir() if p.name.startswith(".vault.")]
    assert outcomes == {True, False}, "the kills never fell both before and after the swap"


def test_rekey_cut_between_its_two_renames_is_finished_at_the_next_open(
    filled: Path, tmp_path: Path
) -> None:
    """The state a power cut leaves between the renames: the old vault set aside, the
    new one complete beside it. Opening finishes the swap."""
    child = """
import os, sys
from fieldapp.store import Vault, KdfParams
v = Vault.open(sys.argv[1], sys.argv[2])
real, calls = os.rename, []
def cut(src, dst):
    calls.append(src)
    if len(calls) == 2:
        os.kill(os.getpid(), 9)
    real(src, dst)
os.rename = cut
v.rekey("after the power cut", kdf=KdfParams(1024, 1, 1))
"""
    done = subprocess.run(
        [python(), "-c", child, str(filled), PASSPHRASE], capture_output=True, cwd=ROOT
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert not filled.exists()  # the cut fell between the renames
    with Vault.open(filled, "after the power cut") as v:
        assert v.count("resident") == 3
    assert not [p for p in filled.parent.iterdir() if p.name.startswith(".vault.")]


def test_passwd_rekey_from_the_command_line(
    filled: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class First:
        def sample(self, population: range, k: int) -> list[int]:
            return [0, 1]

    from fieldapp.store import crypto

    raw, text = crypto.new_recovery_key()
    monkeypatch.setattr(crypto, "new_recovery_key", lambda: (raw, text))
    monkeypatch.setattr(cli_common.secrets, "SystemRandom", First)
    monkeypatch.setattr(crypto, "calibrate", lambda: FAST_KDF)
    groups = text.split("-")
    lines = [PASSPHRASE, "a rekeyed passphrase", "a rekeyed passphrase", f"{groups[0]} {groups[1]}"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))
    assert cli.main(["--lang", "en", "--vault", str(filled), "passwd", "--rekey"]) == 0
    out = capsys.readouterr().out
    assert text in out and "new data key" in out
    with Vault.open(filled, "a rekeyed passphrase") as v:
        assert v.count("resident") == 3
    assert "新数据密钥" in i18n.t("cli.rekey_done", "zh_CN")
