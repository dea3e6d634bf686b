"""The ``fieldapp`` command line: ``fieldapp`` alone starts the app on this laptop's
vault; the subcommands set up a vault (init, passwd, recover, demo), export, run the
team's sync (team, sync, hub, merge), the supervisor's app (supervise) and its
assignments (assign). Each command
is a thin shell over a service: what it does is in ``fieldapp.services`` and ``sync``."""

from __future__ import annotations

import argparse
import sys

from fieldapp import i18n
from fieldapp.cli import assign
from fieldapp.cli.local import (
    cmd_app,
    cmd_demo,
    cmd_export,
    cmd_init,
    cmd_passwd,
    cmd_recover,
    cmd_supervise,
)
from fieldapp.cli.syncing import cmd_hub, cmd_merge, cmd_sync, cmd_team
from fieldapp.errors import FieldappError
from fieldapp.i18n import t

__all__ = ["build_parser", "main"]


def _kinds() -> list[str]:
    from fieldapp.domain import RecordKind

    return [k.value for k in RecordKind]


def export_target(text: str) -> str:
    """What ``fieldapp export`` is asked for, as its choices spell it: ``needs``, ``Needs``,
    ``case-plans`` and ``caseplan`` are ``need`` and ``case_plan``."""
    word = text.strip().lower().replace("-", "_")
    for choice in ("summary", *_kinds()):
        if word in (choice, choice + "s", choice.replace("_", ""), choice.replace("_", "") + "s"):
            return choice
    return text  # argparse says it is not one of the choices


def build_parser() -> argparse.ArgumentParser:
    """The ``fieldapp`` argument parser: the global options and every subcommand, translated."""
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
    # `fieldapp demo --lang en` as well as `fieldapp --lang en demo`; unset, the global one holds.
    demo.add_argument(
        "--lang", choices=i18n.LANGUAGES, default=argparse.SUPPRESS, help=t("cli.help_demo_lang")
    )
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
    join.add_argument("card", metavar="CARD", nargs="*", help=t("cli.help_card"))
    join.add_argument("--out", metavar="FILE", help=t("cli.help_out"))
    enrol_parser = team_sub.add_parser("enrol", help=t("cli.help_team_enrol"))
    enrol_parser.add_argument("card", metavar="DEVICE_CARD", nargs="*", help=t("cli.help_card"))
    enrol_parser.add_argument(
        "--flow", choices=["records", "aggregates"], default="", help=t("cli.help_flow")
    )
    upper = team_sub.add_parser("join-upper", help=t("cli.help_team_join_upper"))
    upper.add_argument("card", metavar="CARD", nargs="*", help=t("cli.help_card"))
    upper.add_argument("--out", metavar="FILE", help=t("cli.help_out"))
    upper.add_argument(
        "--flow", choices=["records", "aggregates"], default="records", help=t("cli.help_flow")
    )
    forward = team_sub.add_parser("forward", help=t("cli.help_team_forward"))
    where = forward.add_mutually_exclusive_group(required=True)
    where.add_argument("--to-folder", metavar="PATH", help=t("cli.help_to_folder"))
    where.add_argument("--hub", action="store_true", help=t("cli.help_forward_hub"))
    forward.add_argument("--period", metavar="YYYY-MM", help=t("cli.help_period"))
    revoke_parser = team_sub.add_parser("revoke", help=t("cli.help_team_revoke"))
    revoke_parser.add_argument("device", metavar="DEVICE", help=t("cli.help_revoke_device"))
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
    assign.add_parser(sub)
    exp = sub.add_parser("export", help=t("cli.help_export"))
    exp.add_argument("what", type=export_target, choices=["summary", *_kinds()])
    exp.add_argument("id", nargs="?", metavar="NAME_OR_ID", help=t("cli.help_export_id"))
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


CARD_COMMANDS = ("join", "enrol", "join-upper")  # `team join CARD…`, `team enrol CARD…`
# What else those take, and its arity.
CARD_OPTIONS = {"--out": 1, "--flow": 1, "-h": 0, "--help": 0}


def card_words_last(argv: list[str]) -> list[str]:
    """``team join``/``team enrol`` with the card's words moved after ``--``: a card pasted
    as printed comes in groups, and a group may begin with ``-`` (base64url), which
    argparse would take for an option."""
    for i in range(len(argv) - 1):
        if argv[i] == "team" and argv[i + 1] in CARD_COMMANDS:
            break
    else:
        return argv
    head, options, words = argv[: i + 2], list[str](), list[str]()
    rest = iter(argv[i + 2 :])
    for word in rest:
        if word == "--":
            words.extend(rest)
        elif word in CARD_OPTIONS:
            options.append(word)
            options.extend(next(rest, "") for _ in range(CARD_OPTIONS[word]))
        elif word.startswith("--out="):
            options.append(word)
        else:
            words.append(word)
    return [*head, *options, "--", *words] if words else [*head, *options]


def main(argv: list[str] | None = None) -> int:
    """Run one ``fieldapp`` command and return its exit code; a fieldapp or disk error is printed
    in the user's language, never as a traceback."""
    _safe_streams()
    argv = card_words_last(sys.argv[1:] if argv is None else argv)
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
