"""The ``fieldapp`` command: init, passwd, recover, demo."""

from __future__ import annotations

import argparse
import getpass
import secrets
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from fieldapp import i18n
from fieldapp.errors import FieldappError, WrongPassphrase
from fieldapp.i18n import t

if TYPE_CHECKING:
    from fieldapp.config import Config
    from fieldapp.store import Vault

TRIES = 3


def _say(msg_id: str, **params: object) -> None:
    print(t(msg_id, **params))


def _ask(prompt_id: str, secret: bool = False) -> str:
    prompt = t(prompt_id) + " "
    if sys.stdin.isatty():
        return getpass.getpass(prompt) if secret else input(prompt)
    # Scripted use (tests, pipes): read a line from stdin; never echo a secret.
    print(prompt, end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\n")


def _new_passphrase() -> str:
    from fieldapp.store.vault import check_passphrase

    for _ in range(TRIES):
        first = _ask("cli.new_passphrase", secret=True)
        try:
            check_passphrase(first)
        except FieldappError as exc:
            print(exc.render(), file=sys.stderr)
            continue
        if _ask("cli.repeat_passphrase", secret=True) == first:
            return first
        print(t("cli.passphrases_differ"), file=sys.stderr)
    raise SystemExit(1)


def _with_retries(action: Callable[[str], object], prompt_id: str) -> object:
    for attempt in range(TRIES):
        try:
            return action(_ask(prompt_id, secret=True))
        except WrongPassphrase as exc:
            if attempt == TRIES - 1:
                raise  # main() prints it
            print(exc.render(), file=sys.stderr)
    raise AssertionError("unreachable")


def _tell_report(vault: Vault) -> None:
    """Say what opening repaired (an interrupted save, a damaged state copy)."""
    for msg_id, params in vault.report.messages():
        print(t(msg_id, **params), file=sys.stderr)


def _vault_path(args: argparse.Namespace) -> Path:
    from fieldapp import paths
    from fieldapp.errors import VaultNotAFolder

    path = Path(args.vault) if args.vault else paths.vault_dir()
    for part in (path, *path.parents):  # a file where a folder must be (or above it)
        if part.exists():
            if not part.is_dir():
                raise VaultNotAFolder(path=str(path))
            break
    return path


def cmd_init(args: argparse.Namespace) -> int:
    from fieldapp.errors import VaultExists
    from fieldapp.services.records import RecordService
    from fieldapp.store import Vault
    from fieldapp.store.vault import KEY_FILE

    path = _vault_path(args)
    if (path / KEY_FILE).exists():
        raise VaultExists(path=str(path))
    passphrase = _new_passphrase()
    name = _ask("cli.worker_name").strip()
    community = _ask("cli.worker_community").strip()
    _say("cli.creating")
    vault, recovery = Vault.create(path, passphrase)
    try:
        if not _show_recovery_key(recovery):
            vault.close(compact=False)
            shutil.rmtree(path)
            print(t("cli.init_abandoned"), file=sys.stderr)
            return 1
        RecordService(vault).set_profile(name or "—", community or "—")
    finally:
        vault.close()
    _say("cli.init_done", path=str(path))
    return 0


def _show_recovery_key(recovery: str) -> bool:
    """Show the recovery key once and have two of its groups typed back."""
    _say("cli.recovery_key_intro")
    print("\n    " + recovery + "\n")
    groups = recovery.split("-")
    for _ in range(TRIES):
        a, b = sorted(secrets.SystemRandom().sample(range(len(groups)), 2))
        typed = _ask_fmt("cli.recovery_confirm", a=a + 1, b=b + 1).upper().split()
        if typed == [groups[a], groups[b]]:
            return True
        print(t("cli.recovery_mismatch"), file=sys.stderr)
    return False


def _ask_fmt(prompt_id: str, **params: object) -> str:
    prompt = t(prompt_id, **params) + " "
    if sys.stdin.isatty():
        return input(prompt)
    print(prompt, end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().rstrip("\n")


def cmd_passwd(args: argparse.Namespace) -> int:
    from fieldapp.store import Vault

    path = _vault_path(args)
    vault = _with_retries(lambda p: Vault.open(path, p), "cli.current_passphrase")
    assert isinstance(vault, Vault)
    _tell_report(vault)
    try:
        new = _new_passphrase()
        if args.rekey:
            # A new data key (the old passphrase or key file may have leaked): the new
            # recovery key is shown and confirmed before anything is rewritten.
            from fieldapp.store.crypto import new_recovery_key

            recovery = new_recovery_key()
            if not _show_recovery_key(recovery[1]):
                print(t("cli.rekey_abandoned"), file=sys.stderr)
                return 1
            _say("cli.rekeying")
            vault.rekey(new, recovery=recovery)
        else:
            _say("cli.creating")
            vault.change_passphrase(new)
    finally:
        vault.close(compact=False)
    _say("cli.rekey_done" if args.rekey else "cli.passwd_done")
    return 0


def cmd_recover(args: argparse.Namespace) -> int:
    from fieldapp.store import Vault
    from fieldapp.store.crypto import parse_recovery_key

    path = _vault_path(args)
    for attempt in range(TRIES):
        key = _ask("cli.recovery_key")
        try:
            parse_recovery_key(key)
            break
        except FieldappError as exc:
            print(exc.render(), file=sys.stderr)
            if attempt == TRIES - 1:
                return 1
    new = _new_passphrase()
    _say("cli.creating")
    Vault.recover(path, key, new).close(compact=False)
    _say("cli.recover_done")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from fieldapp import paths
    from fieldapp.services.demo import DEMO_PASSPHRASE, build_demo
    from fieldapp.services.records import RecordService
    from fieldapp.services.schedule import overdue
    from fieldapp.store import Vault
    from fieldapp.store.vault import KEY_FILE

    path = Path(args.dir) if args.dir else paths.demo_dir()
    if args.keep and (path / KEY_FILE).exists():
        vault = Vault.open(path, DEMO_PASSPHRASE)
        _tell_report(vault)
    else:
        if (path / KEY_FILE).exists():
            Vault.open(path, DEMO_PASSPHRASE).close(compact=False)  # only ever wipe a demo vault
            shutil.rmtree(path)
        _say("cli.demo_building", path=str(path))
        vault, _ = Vault.create(path, DEMO_PASSPHRASE)
        build_demo(RecordService(vault), vault.clock.today())
    if not args.summary and sys.stdin.isatty() and sys.stdout.isatty():
        from fieldapp.tui.app import run

        run(path, _config(args), vault, **_run_options(args))  # straight into the app
        return 0
    with vault:
        service = RecordService(vault)
        from fieldapp.domain import RecordKind

        counts = {k.value: service.count(k) for k in RecordKind}
        _say("cli.demo_summary", path=str(path), passphrase=DEMO_PASSPHRASE, **counts)
        late = overdue(vault, vault.clock.today())
        _say("cli.demo_overdue", count=len(late))
        for item in late[:10]:
            doc = vault.get(item.resident_id) or {}
            print(
                f"  {item.due.isoformat()}  {t('enum.Activity.' + item.activity.value):<8} "
                f"{doc.get('name', '')}  ({doc.get('community', '')})"
            )
    return 0


_BROKEN_CONFIG: list[bool] = []  # set when the config file could not be read


def _config(args: argparse.Namespace) -> Config:
    """The settings; a broken config file is reported and left as it is (the app runs
    on the defaults and does not write over it)."""
    from fieldapp.config import Config, load_config
    from fieldapp.errors import ConfigInvalid

    try:
        config = load_config()
    except ConfigInvalid as exc:
        print(exc.render(), file=sys.stderr)
        config = Config()
        _BROKEN_CONFIG.append(True)
    if args.lang:
        config.language = args.lang
    elif not _config_exists():
        config.language = i18n.language_from_env()
    return config


def _run_options(args: argparse.Namespace) -> dict[str, bool]:
    """How the app runs: read-only (``--read-only``), and whether it may save its
    settings (not over a config file it could not read)."""
    return {"read_only": bool(args.read_only), "save_settings": not _BROKEN_CONFIG}


def _config_exists() -> bool:
    from fieldapp.config import config_path

    return config_path().exists()


def cmd_export(args: argparse.Namespace) -> int:
    """Export a record kind, the team summary, or one resident's complete file."""
    from fieldapp.domain import RecordKind
    from fieldapp.services import export

    target = Path(args.to)
    if not target.parent.is_dir():
        print(t("ui.export_bad_path"), file=sys.stderr)
        return 2
    vault = _open_vault(args)
    try:
        one = args.what == "resident" and (args.id or target.suffix.lower() == ".json")
        if one:  # one resident's complete file (JSON); the residents table is CSV/XLSX
            if not args.id:
                print(t("cli.export_needs_id"), file=sys.stderr)
                return 2
            try:
                export.export_resident(vault, args.id, target)
            except KeyError:
                print(t("invalid.unknown_resident"), file=sys.stderr)
                return 1
            count = 1
        elif args.what == "summary":
            count = export.export_summary(vault, target, vault.clock.today())
        else:
            count = export.export_kind(vault, RecordKind(args.what), target, redact=args.redact)
    finally:
        vault.close()
    _say("ui.exported", n=count, path=str(target))
    return 0


def cmd_supervise(args: argparse.Namespace) -> int:
    """The supervisor's app on their own vault: the team view, conflicts, quarantine."""
    from fieldapp.tui.app import run

    run(_vault_path(args), _config(args), supervisor=True, **_run_options(args))
    return 0


def cmd_app(args: argparse.Namespace) -> int:
    """No command: the worker's app on their own vault (first run or unlock)."""
    from fieldapp.tui.app import run

    run(_vault_path(args), _config(args), **_run_options(args))
    return 0


def _open_vault(args: argparse.Namespace) -> Vault:
    from fieldapp.store import Vault

    path = _vault_path(args)
    if not (path / "vault.key").exists():
        from fieldapp.errors import VaultNotFound

        raise VaultNotFound(path=str(path))
    read_only = bool(getattr(args, "read_only", False))
    vault = _with_retries(
        lambda p: Vault.open(path, p, read_only=read_only), "cli.current_passphrase"
    )
    assert isinstance(vault, Vault)
    _tell_report(vault)
    if read_only:
        print(t("cli.read_only"), file=sys.stderr)
    return vault


def _card_text(value: str) -> str:
    """A card given as its code or as the path of a file holding it."""
    if value.strip().startswith(("FT1-", "FD1-")):
        return value
    try:
        return Path(value).read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return value  # not a readable file: let the card parser say what is wrong


def _print_card(code: str, out: str | None) -> None:
    print(code)
    if out:
        Path(out).write_text(code + "\n", "utf-8")
        _say("cli.card_written", path=out)


def cmd_team(args: argparse.Namespace) -> int:
    from sync import team

    vault = _open_vault(args)
    try:
        if args.team_command == "create":
            hub = _hub_of(args) if args.hub else None
            secrets = team.create_team(vault, args.name, hub)
            code = secrets.code()
            _say("cli.team_created", name=args.name, fingerprint=secrets.card().fingerprint)
            _print_card(code, args.out)
        elif args.team_command == "join":
            from fieldapp.services.records import RecordService

            name = RecordService(vault).profile().get("name") or vault.device_id
            card, code = team.join(vault, _card_text(args.card), name)
            _say("cli.team_joined", name=card.name, fingerprint=card.fingerprint)
            _print_card(code, args.out)
        elif args.team_command == "hub":
            secrets = team.set_hub(vault, _hub_of(args))
            code = secrets.code()
            _say("cli.hub_set", endpoint=args.hub, fingerprint=secrets.card().fingerprint)
            _print_card(code, args.out)
        elif args.team_command == "credentials":
            access = _ask("cli.access_key").strip()
            secret = _ask("cli.secret_key", secret=True).strip()
            team.set_device_hub_credentials(vault, access, secret)
            _say("cli.credentials_set")
        elif args.team_command == "enrol":
            device = team.enrol(vault, _card_text(args.card))
            _say(
                "cli.device_enrolled",
                name=device.name,
                device=device.device_id,
                fingerprint=device.fingerprint,
            )
            _refresh_hub(vault)
        elif args.team_command == "revoke":
            team.revoke(vault, args.device)
            _say("cli.device_revoked", device=args.device)
            _refresh_hub(vault)
        else:
            secrets = team.team_secrets(vault)
            if secrets is not None:
                _say(
                    "cli.team_line",
                    name=secrets.name,
                    team=secrets.team_id,
                    fingerprint=secrets.card().fingerprint,
                )
            for entry in team.devices(vault):
                state = (
                    t("cli.revoked_on", date=entry.revoked) if entry.revoked else t("cli.active")
                )
                print(f"  {entry.device_id}  {entry.name}  {entry.enrolled}  {state}")
    finally:
        vault.close()
    return 0


def _hub_of(args: argparse.Namespace) -> dict[str, str]:
    from sync.transports.endpoint import HubAddress

    return HubAddress.parse(args.hub, args.bucket, args.region, args.style).to_card()


def _refresh_hub(vault: Vault) -> None:
    """After enrol/revoke: the hub this supervisor runs learns the new identities."""
    from sync.hub import refresh_identities

    if refresh_identities(vault):
        _say("cli.hub_reloaded")


# Exit codes of `fieldapp sync` (for cron and scripts).
SYNC_OK, SYNC_ERROR, SYNC_LEFT, SYNC_OFFLINE, SYNC_DENIED, SYNC_CLOCK = 0, 1, 3, 5, 6, 7


def cmd_sync(args: argparse.Namespace) -> int:
    """One pass: to a folder (USB stick) when given, else to the team's hub."""
    from fieldapp.errors import HubClockWrong, HubDenied, HubUnreachable
    from sync.outbox import sync_to
    from sync.transports.folder import FolderTransport

    vault = _open_vault(args)
    try:
        if args.to_folder:
            transport = FolderTransport(Path(args.to_folder))
            transport.clean_temp()
            result = sync_to(vault, transport)
        else:
            from sync.hubsync import upload, worker_transport

            try:
                result = upload(vault, worker_transport(vault))
            except HubUnreachable as exc:
                print(exc.render(), file=sys.stderr)
                return SYNC_OFFLINE
            except HubDenied as exc:
                print(exc.render(), file=sys.stderr)
                return SYNC_DENIED
            except HubClockWrong as exc:
                print(exc.render(), file=sys.stderr)
                return SYNC_CLOCK
    finally:
        vault.close()
    _say("cli.sync_result", cut=result.cut, delivered=len(result.delivered), pending=result.pending)
    if result.failure is not None:
        print(result.failure.render(), file=sys.stderr)
        if isinstance(result.failure, HubUnreachable) and not result.delivered:
            return SYNC_OFFLINE  # the connection went between the probe and the upload
        if isinstance(result.failure, HubDenied):
            return SYNC_DENIED
        return SYNC_LEFT  # something is still in the outbox
    return SYNC_OK


def cmd_hub(args: argparse.Namespace) -> int:
    """Supervisor: run the team's hub (SeaweedFS) until Ctrl+C."""
    import signal
    import time

    from fieldapp import paths
    from fieldapp.errors import VaultLocked
    from sync import hub

    stop = False
    running: hub.HubProcess | None = None

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True
        if running is None:  # still starting: unwind (start() stops SeaweedFS on the way)
            raise KeyboardInterrupt

    signals = [signal.SIGTERM, signal.SIGINT]
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # `nohup fieldapp hub`
        signals.append(signal.SIGHUP)
    for signum in signals:
        signal.signal(signum, on_signal)

    hub_dir = Path(args.dir) if args.dir else paths.data_dir() / "hub"
    try:
        vault = _open_vault(args)
    except VaultLocked:
        if not (hub_dir / hub.IDENTITIES).exists():
            raise
        _say("cli.hub_from_files")  # the app has the vault open: use what the hub knows
        running = hub.start_existing(hub_dir, host=args.listen, port=args.port)
    else:
        try:
            running = hub.start_for(vault, hub_dir, host=args.listen, port=args.port)
        finally:
            vault.close()  # the hub runs without the vault: enrol and supervise stay possible
    _say("cli.hub_started", endpoint=running.endpoint, bucket=running.bucket, path=str(hub_dir))
    if args.listen not in ("127.0.0.1", "localhost"):
        _say("cli.hub_listen", host=hub.lan_address(args.listen), port=args.port)
    process = running

    def healthy() -> bool:
        forwarder = process.forwarder
        return process.process.poll() is None and (forwarder is None or forwarder.alive())

    try:
        while not stop and healthy():
            time.sleep(0.2)
    finally:
        died = not healthy()
        process.stop()
    if died and not stop:
        _say("cli.hub_died", path=str(process.log_path))
        return 1
    _say("cli.hub_stopped")
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    """Supervisor: receive every bundle in the given folders/files (and/or fetched from
    the hub) and merge it."""
    from fieldapp.services.supervision import merge_text
    from sync.merge import Summary
    from sync.sources import merge_sources

    if not args.paths and not args.from_hub:
        _say("cli.merge_nothing")
        return 2
    vault = _open_vault(args)
    try:
        summary = merge_sources(vault, [Path(p) for p in args.paths]) if args.paths else Summary()
        if args.from_hub:
            from fieldapp.errors import HubUnreachable
            from sync.hubsync import fetch_and_merge, supervisor_transport

            try:
                fetched = fetch_and_merge(vault, supervisor_transport(vault))
            except HubUnreachable as exc:
                print(t("ui.hub_unreachable_sup", **exc.params), file=sys.stderr)
                return SYNC_OFFLINE
            summary.outcomes += fetched.outcomes
            _say(
                "cli.fetch_summary",
                listed=fetched.listed,
                fetched=fetched.fetched,
                archived=fetched.archived,
            )
            for trouble in (fetched.fetch_error, fetched.archive_error):
                if trouble is not None:  # merged all the same; retried next time
                    print(trouble.render(), file=sys.stderr)
        print(merge_text(summary, vault))
    finally:
        vault.close()
    for outcome in summary.outcomes:
        if outcome.kind in ("held", "quarantined") and outcome.reason is not None:
            print(f"  {t('cli.merge_' + outcome.kind)} {outcome.source}: {outcome.reason.render()}")
    return 4 if summary.count("quarantined") else 0


def _kinds() -> list[object]:
    from fieldapp.domain import RecordKind

    return list(RecordKind)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fieldapp", description=t("cli.description"))
    parser.add_argument("--lang", choices=i18n.LANGUAGES, help=t("cli.help_lang"))
    parser.add_argument("--vault", metavar="DIR", help=t("cli.help_vault"))
    parser.add_argument("--read-only", action="store_true", help=t("cli.help_read_only"))
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("init", help=t("cli.help_init")).set_defaults(func=cmd_init)
    passwd = sub.add_parser("passwd", help=t("cli.help_passwd"))
    passwd.add_argument("--rekey", action="store_true", help=t("cli.help_rekey"))
    passwd.set_defaults(func=cmd_passwd)
    sub.add_parser("recover", help=t("cli.help_recover")).set_defaults(func=cmd_recover)
    demo = sub.add_parser("demo", help=t("cli.help_demo"))
    demo.add_argument("--keep", action="store_true", help=t("cli.help_keep"))
    demo.add_argument("--dir", metavar="DIR", help=t("cli.help_demo_dir"))
    demo.add_argument("--summary", action="store_true", help=t("cli.help_summary"))
    demo.set_defaults(func=cmd_demo)
    team_parser = sub.add_parser("team", help=t("cli.help_team"))
    team_sub = team_parser.add_subparsers(dest="team_command")
    create = team_sub.add_parser("create", help=t("cli.help_team_create"))
    create.add_argument("name")
    create.add_argument("--hub", metavar="URL", help=t("cli.help_hub"))
    create.add_argument("--bucket", default="fieldapp", help=t("cli.help_bucket"))
    create.add_argument("--region", default="us-east-1", help=t("cli.help_region"))
    create.add_argument(
        "--style", choices=["auto", "path", "virtual"], default="auto", help=t("cli.help_style")
    )
    create.add_argument("--out", metavar="FILE", help=t("cli.help_out"))
    hub_set = team_sub.add_parser("hub", help=t("cli.help_team_hub"))
    hub_set.add_argument("hub", metavar="URL", help=t("cli.help_hub"))
    hub_set.add_argument("--bucket", default="fieldapp", help=t("cli.help_bucket"))
    hub_set.add_argument("--region", default="us-east-1", help=t("cli.help_region"))
    hub_set.add_argument(
        "--style", choices=["auto", "path", "virtual"], default="auto", help=t("cli.help_style")
    )
    hub_set.add_argument("--out", metavar="FILE", help=t("cli.help_out"))
    team_sub.add_parser("credentials", help=t("cli.help_team_credentials"))
    join = team_sub.add_parser("join", help=t("cli.help_team_join"))
    join.add_argument("card", metavar="CARD")
    join.add_argument("--out", metavar="FILE", help=t("cli.help_out"))
    enrol_parser = team_sub.add_parser("enrol", help=t("cli.help_team_enrol"))
    enrol_parser.add_argument("card", metavar="DEVICE_CARD")
    revoke_parser = team_sub.add_parser("revoke", help=t("cli.help_team_revoke"))
    revoke_parser.add_argument("device", metavar="DEVICE")
    team_sub.add_parser("list", help=t("cli.help_team_list"))
    team_parser.set_defaults(func=cmd_team, team_command="list")
    sync_parser = sub.add_parser("sync", help=t("cli.help_sync"))
    sync_parser.add_argument("--to-folder", metavar="PATH", help=t("cli.help_to_folder"))
    sync_parser.set_defaults(func=cmd_sync)
    hub_parser = sub.add_parser("hub", help=t("cli.help_hub_cmd"))
    hub_parser.add_argument(
        "--listen", default="127.0.0.1", metavar="HOST", help=t("cli.help_listen")
    )
    hub_parser.add_argument("--port", type=int, default=8333, help=t("cli.help_port"))
    hub_parser.add_argument("--dir", metavar="DIR", help=t("cli.help_hub_dir"))
    hub_parser.set_defaults(func=cmd_hub)
    merge_parser = sub.add_parser("merge", help=t("cli.help_merge"))
    merge_parser.add_argument("paths", nargs="*", metavar="PATH", help=t("cli.help_merge_paths"))
    merge_parser.add_argument("--from-hub", action="store_true", help=t("cli.help_from_hub"))
    merge_parser.set_defaults(func=cmd_merge)
    sub.add_parser("supervise", help=t("cli.help_supervise")).set_defaults(func=cmd_supervise)
    exp = sub.add_parser("export", help=t("cli.help_export"))
    exp.add_argument("what", choices=["summary", "resident", *[k.value for k in _kinds()]])
    exp.add_argument("id", nargs="?", help=t("cli.help_export_id"))
    exp.add_argument("--to", required=True, metavar="FILE", help=t("cli.help_export_to"))
    exp.add_argument("--redact", action="store_true", help=t("ui.export_redact"))
    exp.set_defaults(func=cmd_export)
    return parser


def _safe_streams() -> None:
    """A terminal that cannot show Chinese (``LC_ALL=C``) gets escapes, not a crash."""
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None) or "ascii"
        try:
            "社工".encode(encoding)
        except (UnicodeEncodeError, LookupError):
            reconfigure = getattr(stream, "reconfigure", None)
            if reconfigure is not None:
                reconfigure(errors="backslashreplace")


def main(argv: list[str] | None = None) -> int:
    _safe_streams()
    argv = sys.argv[1:] if argv is None else argv
    if "--lang" in argv[:-1] and argv[argv.index("--lang") + 1] in i18n.LANGUAGES:
        i18n.set_language(argv[argv.index("--lang") + 1])  # so --help is translated too
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.lang:
        i18n.set_language(args.lang)
    if not getattr(args, "func", None):
        args.func = cmd_app
    try:
        code: int = args.func(args)
        return code
    except FieldappError as exc:
        print(exc.render(), file=sys.stderr)
        return 1
    except OSError as exc:  # a full disk, no permission, a file where a folder must be
        where = exc.filename if isinstance(exc.filename, str) else ""
        print(
            t("cli.os_error", reason=exc.strerror or type(exc).__name__, path=where),
            file=sys.stderr,
        )
        return 1
    except (EOFError, KeyboardInterrupt):
        print(file=sys.stderr)
        return 130
