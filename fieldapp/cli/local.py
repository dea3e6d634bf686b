"""Commands on this laptop's own vault: init, passwd, recover, demo, export, and
starting the app (the worker's, or the supervisor's team view)."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from fieldapp.cli.common import (
    TRIES,
    ask,
    create_vault,
    new_passphrase,
    open_vault,
    run_options,
    say,
    settings,
    show_recovery_key,
    tell_report,
    vault_path,
    with_retries,
)
from fieldapp.errors import FieldappError
from fieldapp.i18n import t


def cmd_init(args: argparse.Namespace) -> int:
    """A new vault for this worker, as the app's first run makes it."""
    from fieldapp.errors import VaultExists
    from fieldapp.services import session

    path = vault_path(args)
    if session.exists(path):
        raise VaultExists(path=str(path))
    vault = create_vault(path)
    if vault is None:
        return 1
    vault.close()
    say("cli.init_done", path=str(path))
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    """Change the vault's passphrase; with ``--rekey``, give the vault a new data key and a new
    recovery key as well."""
    from fieldapp.services import session
    from fieldapp.store import Vault

    path = vault_path(args)
    vault = with_retries(lambda p: session.open_vault(path, p), "cli.current_passphrase")
    assert isinstance(vault, Vault)
    tell_report(vault)
    try:
        new = new_passphrase()
        if args.rekey:
            # A new data key (the old passphrase or key file may have leaked): the new
            # recovery key is shown and confirmed before anything is rewritten.
            from fieldapp.store.crypto import new_recovery_key

            recovery = new_recovery_key()
            if not show_recovery_key(recovery[1]):
                print(t("cli.rekey_abandoned"), file=sys.stderr)
                return 1
            say("cli.rekeying")
            vault.rekey(new, recovery=recovery)
        else:
            say("cli.creating")
            vault.change_passphrase(new)
    finally:
        vault.close(compact=False)
    say("cli.rekey_done" if args.rekey else "cli.passwd_done")
    return 0


def cmd_recover(args: argparse.Namespace) -> int:
    """Set a new passphrase with the recovery key, for a worker who forgot theirs."""
    from fieldapp.store import Vault
    from fieldapp.store.crypto import parse_recovery_key

    path = vault_path(args)
    for attempt in range(TRIES):
        key = ask("cli.recovery_key", secret=True)  # never echoed at a terminal
        try:
            parse_recovery_key(key)
            break
        except FieldappError as exc:
            print(exc.render(), file=sys.stderr)
            if attempt == TRIES - 1:
                return 1
    new = new_passphrase()
    say("cli.creating")
    Vault.recover(path, key, new).close(compact=False)
    say("cli.recover_done")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Build the demo vault of invented residents in the app's language (``--lang``, else the
    settings'), or keep it with ``--keep``, and open the app on it; with ``--summary`` or no
    terminal, print what it holds."""
    from fieldapp import paths
    from fieldapp.services.demo import DEMO_PASSPHRASE, build_demo
    from fieldapp.services.records import RecordService
    from fieldapp.services.schedule import overdue
    from fieldapp.store import Vault
    from fieldapp.store.vault import KEY_FILE

    path = Path(args.dir) if args.dir else paths.demo_dir()
    config = settings(args)  # the demo is written in the language the app will show
    if args.keep and (path / KEY_FILE).exists():
        vault = Vault.open(path, DEMO_PASSPHRASE)
        tell_report(vault)
    else:
        if (path / KEY_FILE).exists():
            Vault.open(path, DEMO_PASSPHRASE).close(compact=False)  # only ever wipe a demo vault
            shutil.rmtree(path)
        say("cli.demo_building", path=str(path))
        vault, _ = Vault.create(path, DEMO_PASSPHRASE)
        build_demo(RecordService(vault), vault.clock.today(), language=config.language)
    if not args.summary and sys.stdin.isatty() and sys.stdout.isatty():
        from fieldapp.tui.launch import run

        run(path, config, vault, **run_options(args))  # straight into the app
        return 0
    with vault:
        service = RecordService(vault)
        from fieldapp.domain import RecordKind

        counts = {k.value: service.count(k) for k in RecordKind}
        say("cli.demo_summary", path=str(path), passphrase=DEMO_PASSPHRASE, **counts)
        late = overdue(vault, vault.clock.today())
        say("cli.demo_overdue", count=len(late))
        for item in late[:10]:
            doc = vault.get(item.resident_id) or {}
            print(
                f"  {item.due.isoformat()}  {t('enum.Activity.' + item.activity.value):<8} "
                f"{doc.get('name', '')}  ({doc.get('community', '')})"
            )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export a record kind, the team summary, or one resident's complete file."""
    from fieldapp.domain import RecordKind
    from fieldapp.services import export

    target = Path(args.to)
    if not target.parent.is_dir():
        print(t("ui.export_bad_path"), file=sys.stderr)
        return 2
    vault = open_vault(args)
    try:
        one = args.what == "resident" and (args.id or target.suffix.lower() == ".json")
        if one:  # one resident's complete file (JSON); the residents table is CSV/XLSX
            if not args.id:
                print(t("cli.export_needs_id"), file=sys.stderr)
                return 2
            found = export.residents_named(vault, args.id)
            if not found:
                print(t("invalid.unknown_resident"), file=sys.stderr)
                return 1
            if len(found) > 1:  # two people share the name: nothing is written
                print(t("cli.export_ambiguous", name=args.id), file=sys.stderr)
                for rid, doc in found:
                    born = doc.get("birth_date") or doc.get("birth_year") or ""
                    print(f"  {rid}  {doc.get('name', '')}  {doc.get('community', '')}  {born}")
                return 1
            export.export_resident(vault, found[0][0], target)
            count = 1
        elif args.what == "summary":
            count = export.export_summary(vault, target, vault.clock.today())
        else:
            count = export.export_kind(vault, RecordKind(args.what), target, redact=args.redact)
    finally:
        vault.close()
    say("ui.exported", n=count, path=str(target))
    return 0


def cmd_supervise(args: argparse.Namespace) -> int:
    """The supervisor's app on their own vault: the team view, conflicts, quarantine."""
    from fieldapp.tui.launch import run

    run(vault_path(args), settings(args), supervisor=True, **run_options(args))
    return 0


def cmd_app(args: argparse.Namespace) -> int:
    """No command: the worker's app on their own vault (first run or unlock)."""
    from fieldapp.tui.launch import run

    run(vault_path(args), settings(args), **run_options(args))
    return 0
