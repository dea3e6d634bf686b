"""What every ``fieldapp`` command shares: prompts (scripted or at a terminal), the
passphrase rules, finding and opening the vault, the settings, cards given as files."""

from __future__ import annotations

import argparse
import getpass
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from fieldapp import i18n
from fieldapp.errors import FieldappError, WrongPassphrase
from fieldapp.i18n import t

if TYPE_CHECKING:
    from fieldapp.config import Config
    from fieldapp.store import Vault

TRIES = 3


def say(msg_id: str, **params: object) -> None:
    """Print a message from the catalogue to standard output."""
    print(t(msg_id, **params))


def ask(prompt_id: str, secret: bool = False) -> str:
    """Ask the user for a line (without echo when ``secret``); from a pipe, read stdin and raise
    EOFError at its end."""
    prompt = t(prompt_id) + " "
    if sys.stdin.isatty():
        return getpass.getpass(prompt) if secret else input(prompt)
    # Scripted use (tests, pipes): read a line from stdin; never echo a secret.
    print(prompt, end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\n")


def ask_fmt(prompt_id: str, **params: object) -> str:
    """Ask for a line with a prompt that takes parameters (an empty answer at the end of a pipe)."""
    prompt = t(prompt_id, **params) + " "
    if sys.stdin.isatty():
        return input(prompt)
    print(prompt, end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().rstrip("\n")


def new_passphrase() -> str:
    """A new passphrase, typed twice and long enough; exits after three failed tries."""
    from fieldapp.store.vault import check_passphrase

    for _ in range(TRIES):
        first = ask("cli.new_passphrase", secret=True)
        try:
            check_passphrase(first)
        except FieldappError as exc:
            print(exc.render(), file=sys.stderr)
            continue
        if ask("cli.repeat_passphrase", secret=True) == first:
            return first
        print(t("cli.passphrases_differ"), file=sys.stderr)
    raise SystemExit(1)


def with_retries(action: Callable[[str], object], prompt_id: str) -> object:
    """Run ``action`` with a typed passphrase, asking again on a wrong one (three tries)."""
    for attempt in range(TRIES):
        try:
            return action(ask(prompt_id, secret=True))
        except WrongPassphrase as exc:
            if attempt == TRIES - 1:
                raise  # main() prints it
            print(exc.render(), file=sys.stderr)
    raise AssertionError("unreachable")


def tell_report(vault: Vault) -> None:
    """Say what opening repaired (an interrupted save, a damaged state copy)."""
    for msg_id, params in vault.report.messages():
        print(t(msg_id, **params), file=sys.stderr)


def vault_path(args: argparse.Namespace) -> Path:
    """The vault folder: ``--vault`` when given, else this laptop's default."""
    from fieldapp import paths
    from fieldapp.services.session import check_folder

    return check_folder(Path(args.vault) if args.vault else paths.vault_dir())


def open_vault(args: argparse.Namespace) -> Vault:
    """Open the vault of ``--vault`` (read-only with ``--read-only``), asking for the passphrase,
    and say what opening repaired."""
    from fieldapp.errors import VaultNotFound
    from fieldapp.services import session
    from fieldapp.store import Vault

    path = vault_path(args)
    if not session.exists(path):
        raise VaultNotFound(path=str(path))
    read_only = bool(getattr(args, "read_only", False))
    vault = with_retries(
        lambda p: session.open_vault(path, p, read_only=read_only), "cli.current_passphrase"
    )
    assert isinstance(vault, Vault)
    tell_report(vault)
    if read_only:
        print(t("cli.read_only"), file=sys.stderr)
    return vault


def show_recovery_key(recovery: str) -> bool:
    """Show the recovery key once and have two of its groups typed back."""
    say("cli.recovery_key_intro")
    print("\n    " + recovery + "\n")
    groups = recovery.split("-")
    for _ in range(TRIES):
        a, b = sorted(secrets.SystemRandom().sample(range(len(groups)), 2))
        typed = ask_fmt("cli.recovery_confirm", a=a + 1, b=b + 1).upper().split()
        if typed == [groups[a], groups[b]]:
            clear_recovery_key()
            return True
        print(t("cli.recovery_mismatch"), file=sys.stderr)
    return False


def create_vault(path: Path) -> Vault | None:
    """Make a new vault at ``path`` as ``fieldapp init`` does (passphrase, name, community,
    the recovery key shown and confirmed) and return it open; ``None`` when the recovery
    key was not confirmed (then no vault is left behind)."""
    import shutil

    from fieldapp.services import session

    passphrase = new_passphrase()
    name = ask("cli.worker_name").strip()
    community = ask("cli.worker_community").strip()
    say("cli.creating")
    vault, recovery = session.create(path, passphrase, name=name, community=community)
    try:
        confirmed = show_recovery_key(recovery)
    except BaseException:  # Ctrl+C, the end of the input: the vault stays, closed
        vault.close()
        raise
    if not confirmed:
        vault.close(compact=False)
        shutil.rmtree(path)
        print(t("cli.init_abandoned"), file=sys.stderr)
        return None
    return vault


# Erase the screen and the terminal's scrollback, then home the cursor: the recovery key
# must not stay readable over the worker's shoulder or scrolled back to later.
CLEAR_SCREEN = "\x1b[H\x1b[2J\x1b[3J"


def clear_recovery_key() -> None:
    """Once the recovery key is confirmed, wipe it from the terminal (a pipe is left alone:
    the script that reads it wants it)."""
    if sys.stdout.isatty():
        print(CLEAR_SCREEN, end="", flush=True)
        say("cli.recovery_key_cleared")


BROKEN_CONFIG: list[bool] = []  # set when the config file could not be read


def settings(args: argparse.Namespace) -> Config:
    """The settings; a broken config file is reported and left as it is (the app runs
    on the defaults and does not write over it)."""
    from fieldapp.config import Config, load_config
    from fieldapp.errors import ConfigInvalid

    try:
        config = load_config()
    except ConfigInvalid as exc:
        print(exc.render(), file=sys.stderr)
        config = Config()
        BROKEN_CONFIG.append(True)
    if args.lang:
        config.language = args.lang
    elif not config_exists():
        config.language = i18n.language_from_env()
    return config


class RunOptions(TypedDict):
    """How the app is started (``fieldapp.tui.app.run``'s keyword arguments)."""

    read_only: bool
    save_settings: bool


def run_options(args: argparse.Namespace) -> RunOptions:
    """How the app runs: read-only (``--read-only``), and whether it may save its
    settings (not over a config file it could not read)."""
    return RunOptions(read_only=bool(args.read_only), save_settings=not BROKEN_CONFIG)


def config_exists() -> bool:
    """Whether the user has a settings file yet."""
    from fieldapp.config import config_path

    return config_path().exists()


def card_text(parts: list[str]) -> str:
    """A card given as its code (pasted as printed: spaces and line breaks are the card
    reader's to drop), as the path of a file holding it, or — when nothing is given —
    pasted at the prompt and ended by an empty line."""
    if not parts:
        return read_pasted()
    value = " ".join(parts)
    if value.strip().startswith(("FT1-", "FD1-")):
        return value
    try:
        return Path(value).read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return value  # not a readable file: let the card parser say what is wrong


def read_pasted() -> str:
    """Lines pasted at the prompt up to the first empty line after some text (or the end
    of the input), joined with line breaks."""
    print(t("cli.paste_card"), file=sys.stderr, flush=True)
    lines: list[str] = []
    while True:
        if sys.stdin.isatty():
            try:
                line = input()
            except EOFError:
                break
        else:
            raw = sys.stdin.readline()
            if not raw:
                break
            line = raw.rstrip("\n")
        if not line.strip():
            if lines:
                break
            continue
        lines.append(line)
    return "\n".join(lines)


def confirm(prompt_id: str, **params: object) -> bool:
    """A yes/no question, no by default: only an answer starting with y (or 是) is a yes;
    an empty answer or the end of the input is a no."""
    prompt = t(prompt_id, **params) + " "
    if sys.stdin.isatty():
        try:
            answer = input(prompt)
        except EOFError:
            return False
    else:
        print(prompt, end="", file=sys.stderr, flush=True)
        answer = sys.stdin.readline()
    return answer.strip().lower().startswith(("y", "是"))


def print_card(code: str, out: str | None) -> None:
    """Print a card's code, and also write it to ``out`` when given."""
    print(code)
    if out:
        Path(out).write_text(code + "\n", "utf-8")
        say("cli.card_written", path=out)


def close_keeping(vault: Vault) -> None:
    """Close ``vault`` as the app closes it after a command that saved something (a sync, a
    merge, an assignment): a worker's keeps Today's index and inbox, a supervisor's the
    team view's index, so the next unlock draws its home screen before the records are
    read. Best effort: when working that out fails (a damaged record), the vault closes
    without it, and the next start works it out itself and says what is wrong there."""
    from fieldapp.services.workspace import Workspace
    from sync.team import team_secrets

    try:
        workspace = Workspace(vault)
        supervisor = team_secrets(vault) is not None
        if supervisor:
            workspace.team_index()  # held: kept at the close below
        workspace.close(keep_today=not supervisor, keep_team=supervisor)
    except Exception:  # nothing kept; the close itself must happen
        vault.close()
