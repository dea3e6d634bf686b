"""Commands that move data between laptops: team (create, join, hub, credentials,
enrol, revoke, list), sync, hub and merge."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from fieldapp.cli.common import (
    ask,
    card_text,
    close_keeping,
    confirm,
    create_vault,
    open_vault,
    print_card,
    say,
    vault_path,
)
from fieldapp.i18n import t

if TYPE_CHECKING:
    from fieldapp.store import Vault
    from sync.downward import Delivery
    from sync.levels import UpwardResult
    from sync.transports.base import Transport


def cmd_team(args: argparse.Namespace) -> int:
    """The team's membership: create a team, join one, set its hub, store this device's hub
    credentials, enrol or revoke a device, or list the devices (the default)."""
    from sync import team

    vault = _supervisors_vault(args) if args.team_command == "create" else open_vault(args)
    if vault is None:
        return 1
    try:
        if args.team_command == "create":
            hub = _hub_of(args) if args.hub else None
            secrets = team.create_team(vault, args.name, hub)
            code = secrets.code()
            say("cli.team_created", name=args.name, fingerprint=secrets.card().fingerprint)
            print_card(code, args.out)
        elif args.team_command == "join":
            from fieldapp.services.records import RecordService

            name = RecordService(vault).profile().get("name") or vault.device_id
            pasted = card_text(args.card)
            card, previous = team.card_change(vault, pasted)
            if previous is not None:  # a new hub, or not the supervisor's card: ask
                from fieldapp.errors import TeamCardChanged

                print(
                    TeamCardChanged(old=previous.fingerprint, new=card.fingerprint).render(),
                    file=sys.stderr,
                )
                if not confirm("cli.card_changed_confirm"):
                    print(t("cli.card_change_refused"), file=sys.stderr)
                    return 1
            card, code = team.join(vault, pasted, name, accept_change=True)
            say("cli.team_joined", name=card.name, fingerprint=card.fingerprint)
            print_card(code, args.out)
        elif args.team_command == "hub":
            secrets = team.set_hub(vault, _hub_of(args))
            code = secrets.code()
            say("cli.hub_set", endpoint=args.hub, fingerprint=secrets.card().fingerprint)
            print_card(code, args.out)
        elif args.team_command == "credentials":
            access = ask("cli.access_key").strip()
            secret = ask("cli.secret_key", secret=True).strip()
            team.set_device_hub_credentials(vault, access, secret)
            say("cli.credentials_set")
        elif args.team_command == "enrol":
            device = team.enrol(vault, card_text(args.card), args.flow)
            say(
                "cli.device_enrolled",
                name=device.name,
                device=device.device_id,
                fingerprint=device.fingerprint,
            )
            _refresh_hub(vault)
        elif args.team_command == "join-upper":
            _join_upper(vault, card_text(args.card), args.out, args.flow)
        elif args.team_command == "forward":
            if not _forward(vault, args.to_folder, args.period, hub=args.hub):
                return 1
        elif args.team_command == "revoke":
            if not _revoke(vault, args.device):
                return 1
        else:
            mine = team.team_secrets(vault)
            if mine is not None:
                say(
                    "cli.team_line",
                    name=mine.name,
                    team=mine.team_id,
                    fingerprint=mine.card().fingerprint,
                )
            for entry in team.devices(vault):
                state = (
                    t("cli.revoked_on", date=entry.revoked) if entry.revoked else t("cli.active")
                )
                flow = f"  {t('cli.flow_' + entry.flow)}" if entry.flow else ""
                print(f"  {entry.device_id}  {entry.name}  {entry.enrolled}  {state}{flow}")
    finally:
        close_keeping(vault)
    return 0


def _join_upper(vault: Vault, pasted: str, out: str | None, flow: str) -> None:
    """A lower office joins the level above: its device card for the upper supervisor."""
    from sync import levels, team
    from sync.cards import read_team_card

    mine = team.team_secrets(vault)
    name = mine.name if mine is not None else vault.device_id
    card, previous = (levels.upper_card(vault), None)
    new = read_team_card(pasted)
    if card is not None and card.team_id == new.team_id and card.fingerprint != new.fingerprint:
        previous = card
    if previous is not None:
        from fieldapp.errors import TeamCardChanged

        print(
            TeamCardChanged(old=previous.fingerprint, new=new.fingerprint).render(), file=sys.stderr
        )
        if not confirm("cli.card_changed_confirm"):
            print(t("cli.card_change_refused"), file=sys.stderr)
            return
    joined, code = levels.join_upper(vault, pasted, name, flow=flow, accept_change=True)
    say("cli.upper_joined", name=joined.name, fingerprint=joined.fingerprint)
    print_card(code, out)


def _forward_counts(
    vault: Vault, stick: Transport, period: str | None, *, hub: bool = False
) -> UpwardResult | None:
    """An office enrolled for counts: one month's tables (``period``, ``YYYY-MM``; by
    default the last whole month: a month still running would be sent again, and two
    versions of one month can be told apart), sealed and delivered."""
    import datetime as dt

    from sync import counts

    today = vault.clock.today()
    try:
        start = (
            dt.date.fromisoformat(period + "-01")
            if period
            else (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        )
    except ValueError:
        print(t("cli.bad_period", period=period), file=sys.stderr)
        return None
    end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    try:
        counts.cut(vault, start, end)
    except ValueError:  # tables the receiver's schema would refuse: never sent
        print(t("cli.counts_refused"), file=sys.stderr)
        return None
    result = counts.deliver(vault, stick, hub=hub)
    result.cut = 1
    return result


def _forward(vault: Vault, folder: str | None, period: str | None, *, hub: bool) -> bool:
    """A lower office's round trip with the level above, by a stick or a folder: its
    team's records up, then what the level above left for it (feedback, notes), which
    its scope cut carries on to the workers holding those residents."""
    from fieldapp.errors import FieldappError
    from fieldapp.services import syncing
    from sync import downward, levels, scope, team
    from sync.transports.folder import FolderTransport

    stick: Transport
    if hub:  # the level above's hub
        stick = levels.upper_transport(vault)
    else:
        assert folder is not None
        folder_transport = FolderTransport(Path(folder).expanduser())
        folder_transport.clean_temp()
        stick = folder_transport
    if levels.upper_flow(vault) == team.AGGREGATES:
        result = _forward_counts(vault, stick, period, hub=hub)
        if result is None:
            return False
    else:
        result = levels.forward(vault, stick)
    if result.failure is not None:
        print(result.failure.render(), file=sys.stderr)
        return False
    say("cli.forwarded", bundles=len(result.delivered), path=folder or stick.where(""))
    try:
        received = levels.fetch(vault, stick, downward.HUB_PREFIX if hub else downward.STICK_PREFIX)
    except FieldappError as exc:  # the hub went away between the two halves
        print(exc.render(), file=sys.stderr)
        return False
    say("cli.from_above", applied=received.count("applied"), ops=received.ops)
    scope.try_cut(vault)  # on to the workers at their next sync
    for line in syncing.refusals(received):
        print(line)
    return not received.count("quarantined")


def _supervisors_vault(args: argparse.Namespace) -> Vault | None:
    """The vault a new team's keys go into: this laptop's, or — on a fresh machine — one
    made now, as ``fieldapp init`` makes it, once the supervisor says yes (``None`` when
    not: nothing is created)."""
    from fieldapp.services import session

    path = vault_path(args)
    if session.exists(path):
        return open_vault(args)
    say("cli.team_no_vault", path=str(path))
    if not confirm("cli.team_create_vault_confirm"):
        print(t("cli.team_no_vault_hint"), file=sys.stderr)
        return None
    return create_vault(path)


def _revoke(vault: Vault, who: str) -> bool:
    """Revoke the device ``who`` names: by its id at once; by its worker's name after showing
    which device it is and a yes. A name two devices share changes nothing."""
    from fieldapp.errors import CardError
    from sync import team

    found = team.devices_named(vault, who)
    if not found:
        raise CardError(what="unknown_device")
    if len(found) > 1:
        print(t("cli.revoke_ambiguous", name=who), file=sys.stderr)
        for entry in found:
            print(f"  {entry.device_id}  {entry.name}  {entry.enrolled}", file=sys.stderr)
        return False
    device = found[0]
    if device.device_id != who.strip():
        say("cli.revoke_which", name=device.name, device=device.device_id, date=device.enrolled)
        if not confirm("cli.revoke_confirm"):
            print(t("cli.revoke_not_done"), file=sys.stderr)
            return False
    team.revoke(vault, device.device_id)
    say("cli.device_revoked", device=f"{device.name} ({device.device_id})")
    _refresh_hub(vault)
    return True


def _hub_of(args: argparse.Namespace) -> dict[str, str]:
    from sync.transports.endpoint import HubAddress

    return HubAddress.parse(args.hub, args.bucket, args.region, args.style).to_card()


def _refresh_hub(vault: Vault) -> None:
    """After enrol/revoke: the hub this supervisor runs learns the new identities."""
    from sync.hub import refresh_identities

    if refresh_identities(vault):
        say("cli.hub_reloaded")


# Exit codes of `fieldapp sync` (for cron and scripts); 4: a bundle was refused, as merge.
SYNC_OK, SYNC_ERROR, SYNC_LEFT, SYNC_OFFLINE, SYNC_DENIED, SYNC_CLOCK = 0, 1, 3, 5, 6, 7
SYNC_REFUSED = 4


def cmd_sync(args: argparse.Namespace) -> int:
    """One pass: to a folder (USB stick) when given, else to the team's hub; both ways:
    this device's bundles go, then what the supervisor addressed to it is applied."""
    from fieldapp.errors import HubClockWrong, HubDenied, HubUnreachable
    from fieldapp.services import syncing
    from fieldapp.services.records import RecordService
    from sync import downward

    vault = open_vault(args)
    try:
        if args.to_folder:  # with this device's card, as from the app
            name = RecordService(vault).profile().get("name", "")
            done = syncing.sync_to_folder(vault, args.to_folder, name=name)
            result, received = done.result, done.received
            if done.card_error is not None:  # the bundles are there all the same
                print(done.card_error.render(), file=sys.stderr)
        else:
            from sync.hubsync import upload, worker_transport

            try:
                transport = worker_transport(vault)
                result = upload(vault, transport)
            except HubUnreachable as exc:
                print(exc.render(), file=sys.stderr)
                return SYNC_OFFLINE
            except HubDenied as exc:
                print(exc.render(), file=sys.stderr)
                return SYNC_DENIED
            except HubClockWrong as exc:
                print(exc.render(), file=sys.stderr)
                return SYNC_CLOCK
            received = syncing.Received()
            if result.failure is None:  # the hub answered: what it holds for this device
                received = syncing.receive_from(vault, transport, downward.HUB_PREFIX)
    finally:
        close_keeping(vault)
    say("cli.sync_result", cut=result.cut, delivered=len(result.delivered), pending=result.pending)
    if result.failure is not None:
        print(result.failure.render(), file=sys.stderr)
        if isinstance(result.failure, HubUnreachable) and not result.delivered:
            return SYNC_OFFLINE  # the connection went between the probe and the upload
        if isinstance(result.failure, HubDenied):
            return SYNC_DENIED
        return SYNC_LEFT  # something is still in the outbox
    print(syncing.received_text(received))
    for line in syncing.refusals(received.summary):
        print(line)
    if received.failure is not None:
        return SYNC_ERROR
    if received.quarantined:
        return SYNC_REFUSED
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
        vault = open_vault(args)
    except VaultLocked:
        if not (hub_dir / hub.IDENTITIES).exists():
            raise
        say("cli.hub_from_files")  # the app has the vault open: use what the hub knows
        running = hub.start_existing(hub_dir, host=args.listen, port=args.port)
    else:
        try:
            running = hub.start_for(vault, hub_dir, host=args.listen, port=args.port)
        finally:
            vault.close()  # the hub runs without the vault: enrol and supervise stay possible
    say("cli.hub_started", endpoint=running.endpoint, bucket=running.bucket, path=str(hub_dir))
    if args.listen not in ("127.0.0.1", "localhost"):
        say("cli.hub_listen", host=hub.lan_address(args.listen), port=args.port)
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
        say("cli.hub_died", path=str(process.log_path))
        return 1
    say("cli.hub_stopped")
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    """Supervisor: receive every bundle in the given folders/files (and/or fetched from
    the hub) and merge it; then deliver every downward bundle waiting — onto the first
    stick merged (the replies are left on it), and what still waits to the hub."""
    from fieldapp.services import syncing
    from fieldapp.services.supervision import merge_text
    from sync import downward
    from sync.merge import Summary
    from sync.sources import merge_sources

    if not args.paths and not args.from_hub:
        say("cli.merge_nothing")
        return 2
    vault = open_vault(args)
    deliveries = []
    try:
        summary = merge_sources(vault, [Path(p) for p in args.paths]) if args.paths else Summary()
        # The replies onto the stick in hand first (its workers take them from it), even
        # when the hub then does not answer; whatever still waits goes to the hub.
        for path in args.paths:
            if syncing.reply_root(path) is not None:
                deliveries.append(syncing.deliver_to_stick(vault, path))
                break
        hub = None
        if args.from_hub:
            from fieldapp.errors import HubUnreachable
            from sync.hubsync import fetch_and_merge, supervisor_transport

            try:
                hub = supervisor_transport(vault)
                fetched = fetch_and_merge(vault, hub)
            except HubUnreachable as exc:
                print(t("ui.hub_unreachable_sup", **exc.params), file=sys.stderr)
                for delivery in deliveries:  # the stick's replies went all the same
                    _say_delivery(delivery)
                return SYNC_OFFLINE
            summary.outcomes += fetched.outcomes
            say(
                "cli.fetch_summary",
                listed=fetched.listed,
                fetched=fetched.fetched,
                archived=fetched.archived,
            )
            for trouble in (fetched.fetch_error, fetched.archive_error):
                if trouble is not None:  # merged all the same; retried next time
                    print(trouble.render(), file=sys.stderr)
        print(merge_text(summary, vault))
        if hub is not None:
            deliveries.append(syncing.deliver_down(vault, hub, downward.HUB_PREFIX))
        for delivery in deliveries:
            _say_delivery(delivery)
    finally:
        close_keeping(vault)
    for line in syncing.refusals(summary):
        print(line)
    if summary.count("quarantined"):
        return 4
    return SYNC_LEFT if any(d.failure is not None for d in deliveries) else 0


def _say_delivery(delivery: Delivery) -> None:
    """How a supervisor's replies went (nothing when there were none to send)."""
    from fieldapp.services import syncing

    said = syncing.delivery_text(delivery)
    if said:
        print(said, file=sys.stderr if delivery.failure is not None else sys.stdout)
