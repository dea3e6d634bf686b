"""The `fieldapp` command as a user runs it: init, passwd, recover, demo."""

from __future__ import annotations

import os
import re
import select
import subprocess
from pathlib import Path

import pytest

from fieldapp.services.records import RecordService
from fieldapp.store import Vault
from tests.conftest import ROOT, python

KEY = re.compile(r"[0-9A-Z]{4}(?:-[0-9A-Z]{4}){13}")


def fieldapp(*args: str, stdin: str = "", lang: str = "en") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python(), "-m", "fieldapp", "--lang", lang, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def read_until(fd: int, pattern: re.Pattern[str], buffer: list[str]) -> re.Match[str]:
    """Read a pipe until ``pattern`` appears (the prompts wait for us, so this ends)."""
    while True:
        match = pattern.search("".join(buffer))
        if match:
            return match
        ready, _, _ = select.select([fd], [], [], 60)
        assert ready, "the command stopped talking: " + "".join(buffer)
        chunk = os.read(fd, 4096)
        assert chunk, "the command ended early: " + "".join(buffer)
        buffer.append(chunk.decode("utf-8", "replace"))


def init(vault: Path, passphrase: str, confirm_wrong: bool = False) -> tuple[int, str, str]:
    proc = subprocess.Popen(
        [python(), "-u", "-m", "fieldapp", "--lang", "en", "--vault", str(vault), "init"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdin and proc.stdout and proc.stderr
    proc.stdin.write(f"{passphrase}\n{passphrase}\n李娜\n史家社区\n".encode())
    proc.stdin.flush()
    out: list[str] = []
    err: list[str] = []
    key = read_until(proc.stdout.fileno(), KEY, out).group(0)
    groups = key.split("-")
    for _attempt in range(3):
        ask = read_until(proc.stderr.fileno(), re.compile(r"groups (\d+) and (\d+)"), err)
        err.clear()
        a, b = int(ask.group(1)), int(ask.group(2))
        answer = "WRNG WRNG" if confirm_wrong else f"{groups[a - 1].lower()} {groups[b - 1]}"
        proc.stdin.write(f"{answer}\n".encode())
        proc.stdin.flush()
        if not confirm_wrong:
            break
    proc.stdin.close()
    rest_out = proc.stdout.read().decode()
    rest_err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    proc.stdout.close()
    proc.stderr.close()
    return proc.returncode, key, "".join(out) + rest_out + "".join(err) + rest_err


def test_init_shows_the_recovery_key_once_and_asks_to_confirm_it(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    code, key, output = init(vault, "seven words are easy to remember")
    assert code == 0, output
    assert "RECOVERY KEY" in output and "ready" in output
    with Vault.open(vault, "seven words are easy to remember") as v:
        assert RecordService(v).profile() == {"name": "李娜", "community": "史家社区"}
    # The key shown works for recovery.
    run = fieldapp(
        "--vault", str(vault), "recover", stdin=f"{key}\nnew passphrase ok\nnew passphrase ok\n"
    )
    assert run.returncode == 0, run.stderr
    Vault.open(vault, "new passphrase ok").close()


def test_init_without_confirming_the_key_leaves_no_vault(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    code, _, output = init(vault, "seven words are easy to remember", confirm_wrong=True)
    assert code == 1
    assert "does not match" in output and "no vault was created" in output
    assert not vault.exists()


def test_init_refuses_short_and_mismatched_passphrases(tmp_path: Path) -> None:
    run = fieldapp("--vault", str(tmp_path / "v"), "init", stdin="short\nlonger one here\nother\n")
    assert run.returncode != 0
    assert "too short" in run.stderr and "differ" in run.stderr
    assert not (tmp_path / "v" / "vault.key").exists()


def test_passwd_and_wrong_passphrase(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    Vault.create(vault, "first passphrase", kdf=None)[0].close()
    run = fieldapp("--vault", str(vault), "passwd", stdin="nope\nnope2\nnope3\n", lang="zh_CN")
    assert run.returncode == 1
    assert run.stderr.count("口令错误") == 3
    run = fieldapp(
        "--vault",
        str(vault),
        "passwd",
        stdin="wrong\nfirst passphrase\nsecond passphrase\nsecond passphrase\n",
    )
    assert run.returncode == 0, run.stderr
    assert "Wrong passphrase" in run.stderr and "Passphrase changed" in run.stdout
    Vault.open(vault, "second passphrase").close()


def test_recover_with_a_mistyped_key(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    Vault.create(vault, "first passphrase", kdf=None)[0].close()
    run = fieldapp("--vault", str(vault), "recover", stdin="ABCD-EFGH\nnot a key\nstill not\n")
    assert run.returncode == 1
    assert run.stderr.count("typing mistake") == 3


def test_missing_vault_is_explained(tmp_path: Path) -> None:
    run = fieldapp("--vault", str(tmp_path / "none"), "passwd", stdin="whatever\n", lang="zh_CN")
    assert run.returncode == 1 and "fieldapp init" in run.stderr and "没有保险库" in run.stderr


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_demo_builds_then_keeps(tmp_path: Path, lang: str) -> None:
    target = tmp_path / "demo"
    first = fieldapp("demo", "--summary", "--dir", str(target), lang=lang)
    assert first.returncode == 0, first.stderr
    assert re.search(r"3[0-9]{2}", first.stdout)  # ≥ 300 residents
    marker = (target / "vault.key").read_bytes()
    kept = fieldapp("demo", "--summary", "--dir", str(target), "--keep", lang=lang)
    assert kept.returncode == 0 and (target / "vault.key").read_bytes() == marker
    rebuilt = fieldapp("demo", "--summary", "--dir", str(target), lang=lang)
    assert rebuilt.returncode == 0 and (target / "vault.key").read_bytes() != marker


def test_demo_is_written_in_the_apps_language(tmp_path: Path) -> None:
    """``fieldapp --lang en demo`` and ``fieldapp demo --lang en`` both give an English demo;
    without ``--lang`` the app's language (here Chinese) is the demo's."""
    from fieldapp.domain import Need, Resident
    from fieldapp.services.demo import DEMO_PASSPHRASE

    cjk = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
    runs = {
        "en": fieldapp("demo", "--summary", "--dir", str(tmp_path / "en"), lang="en"),
        "en-after": fieldapp(
            "demo", "--summary", "--dir", str(tmp_path / "en-after"), "--lang", "en", lang="zh_CN"
        ),
        "zh_CN": fieldapp("demo", "--summary", "--dir", str(tmp_path / "zh_CN"), lang="zh_CN"),
    }
    for name, run in runs.items():
        assert run.returncode == 0, run.stderr
        with Vault.open(tmp_path / name, DEMO_PASSPHRASE) as vault:
            service = RecordService(vault)
            written = [r.notes for r in service.all(Resident)] + [
                r.community for r in service.all(Resident)
            ]
            written += [n.description for n in service.all(Need)]
        if name == "zh_CN":
            assert "社区)" in run.stdout and all(cjk.search(t) for t in written)
        else:
            assert "Community)" in run.stdout and "社区" not in run.stdout
            assert not [t for t in written if cjk.search(t)]
