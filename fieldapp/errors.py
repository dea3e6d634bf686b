"""The one exception tree of fieldapp.

Every error a user can cause carries a message id from the catalogs
(``fieldapp/locales``) and the parameters to fill it, so any front end can show
it in the user's language::

    FieldappError
    ├── VaultError
    │   ├── VaultNotFound          no vault in that directory
    │   ├── VaultNotAFolder        the vault's path is a file, or below one
    │   ├── VaultExists            init over an existing vault
    │   ├── WrongPassphrase
    │   ├── WrongRecoveryKey
    │   │   └── RecoveryKeyMistyped  a typo in it (told apart by its check)
    │   ├── WeakPassphrase
    │   ├── VaultLocked            another process has the vault open
    │   ├── VaultReadOnly          on a read-only disk or without permission (open read-only)
    │   ├── VaultTampered          a file was changed, truncated, swapped or rolled back
    │   ├── VaultUnsupported       written by a newer fieldapp
    │   ├── VaultWriteFailed       disk full, I/O error: nothing was saved
    │   └── CommitRefused          a change the vault could not read back whole: nothing saved
    ├── BundleError                a bundle was refused (nothing from it is applied)
    │   ├── BundleMalformed        truncated, not a bundle, bad header
    │   ├── BundleTooLarge         over the size / op count / decompressed limits
    │   ├── WrongTeam              for another team
    │   ├── WrongRecipient         addressed to another device (or a downward one upward)
    │   ├── UnknownDevice          sender not enrolled
    │   ├── DeviceRevoked
    │   ├── BadSignature           changed in transit or signed by someone else
    │   ├── DecryptFailed          not encrypted to this team's key
    │   ├── SequenceGap            an earlier bundle is missing (held until it comes)
    │   ├── DuplicateBundle        already received (a no-op)
    │   ├── SequenceConflict       same sequence, different content: an alarm
    │   ├── ChainBroken            previous-bundle hash does not match
    │   ├── ClockAhead             dated more than a day ahead of the receiver's clock
    │   ├── OpInvalid              an op fails validation (or a record as it would stand)
    │   ├── NotTheWriter           a worker's op on what only a supervisor writes
    │   ├── LevelRefused           what a lower office may not send up (roster, flow)
    │   ├── RecordIncomplete       a new record's other fields are not here yet (held)
    │   ├── NotAFile               named like a bundle, but a link, folder, FIFO or device
    │   ├── AggregateInvalid       an aggregate bundle's counts break its strict schema
    │   └── TooLargeToApply        valid, but more than one vault commit can hold
    ├── CardError                  a team or device card is damaged or forged
    │   ├── HubNotConfigured       the team card names no hub
    │   └── TeamCardChanged        re-joining with a card of another fingerprint (confirm)
    ├── TransportError             the USB stick / folder / hub failed; the outbox is intact
    │   ├── SourceNotFound         a folder or file to merge does not exist
    │   ├── BundleConflictError    another bundle under the same name: an alarm
    │   ├── HubUnreachable         no answer from the hub (offline, stopped)
    │   ├── HubClockWrong          the hub refused the request's time
    │   └── HubDenied              the hub refused this device's credentials
    ├── HubError                   ``fieldapp hub`` could not start or be reached
    ├── ConfigInvalid              config.toml cannot be read (the app runs on defaults)
    ├── TemplateInvalid            a team's template file is broken (skipped, reported)
    ├── RecordInvalid              a record failed validation; carries FieldProblems
    ├── AssignmentRefused          not a supervisor's device, no such resident or worker
    └── RecordDamaged              a stored record does not make a valid one (shown, not used)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any


class FieldappError(Exception):
    """Base of every error fieldapp raises on purpose.

    ``msg_id``, when given, replaces the class's message id; the keyword ``params`` fill
    its placeholders when :meth:`render` translates it."""

    msg_id = "error.generic"

    def __init__(self, msg_id: str | None = None, /, **params: Any) -> None:
        if msg_id is not None:
            self.msg_id = msg_id
        self.params: dict[str, Any] = params
        super().__init__(self.msg_id, params)

    def render(self, lang: str | None = None) -> str:
        """The message in ``lang`` (or the current language)."""
        from fieldapp.i18n import t

        return t(self.msg_id, lang, **self.params)

    def __str__(self) -> str:
        """The message in English, for logs and tracebacks."""
        return self.render("en")


class VaultError(FieldappError):
    """The vault could not be created, opened, unlocked or written."""

    msg_id = "vault.error"


class VaultNotFound(VaultError):
    """There is no vault in that folder (``path``): run ``fieldapp init`` first."""

    msg_id = "vault.not_found"


class VaultExists(VaultError):
    """A vault already exists where a new one was to be made (``path``): nothing changed."""

    msg_id = "vault.exists"


class WrongPassphrase(VaultError):
    """The passphrase does not unlock this vault; nothing was opened."""

    msg_id = "vault.wrong_passphrase"


class WrongRecoveryKey(VaultError):
    """The recovery key does not open this vault."""

    msg_id = "vault.wrong_recovery_key"


class RecoveryKeyMistyped(WrongRecoveryKey):
    """The recovery key fails its own check: a typing mistake, not another vault's key."""

    msg_id = "vault.recovery_key_mistyped"


class WeakPassphrase(VaultError):
    """A new passphrase is shorter than ``min`` characters."""

    msg_id = "vault.weak_passphrase"


class VaultLocked(VaultError):
    """Another fieldapp window or process has the vault in ``path`` open."""

    msg_id = "vault.locked"


class VaultReadOnly(VaultError):
    """The vault in ``path`` cannot be written (read-only disk, no permission); open read-only."""

    msg_id = "vault.read_only"


class VaultNotAFolder(VaultError):
    """The vault's ``path`` is a file, or lies inside one: a vault is a folder."""

    msg_id = "vault.not_a_folder"


class VaultTampered(VaultError):
    """A vault file failed verification; ``file`` names it, ``what`` says which part."""

    msg_id = "vault.tampered"

    def render(self, lang: str | None = None) -> str:
        """The message with ``what`` (which part failed) translated too."""
        from fieldapp.i18n import t

        what = t(f"vault.damage.{self.params.get('what', 'unknown')}", lang, **self.params)
        return t(self.msg_id, lang, file=self.params.get("file", "?"), what=what)


class VaultUnsupported(VaultError):
    """The vault was written by a newer fieldapp (format ``version``)."""

    msg_id = "vault.unsupported"


class VaultWriteFailed(VaultError):
    """Saving failed (disk full, I/O error: ``reason``); nothing was saved, earlier data is safe."""

    msg_id = "vault.write_failed"


class CommitRefused(VaultError, ValueError):
    """A commit refused before anything was written: ``what`` is ``too_large``,
    ``field_name``, ``kind`` (a record may not change kind) or ``value`` (not plain
    JSON: NaN, a huge integer, a lone surrogate…)."""

    msg_id = "vault.commit_refused"

    def render(self, lang: str | None = None) -> str:
        """The message with the reason (``what``) translated too."""
        from fieldapp.i18n import t

        what = t(f"vault.refused.{self.params.get('what', 'value')}", lang, **self.params)
        return t(self.msg_id, lang, what=what)


class BundleError(FieldappError):
    """A bundle was refused: nothing from it is applied. ``authentic`` tells whether its sender's
    signature had verified by then."""

    msg_id = "bundle.error"
    # True once the sender's signature verified: the bundle is really theirs.
    authentic = False


class BundleMalformed(BundleError):
    """Not a complete fieldapp bundle (cut short when copied, bad header, not a bundle)."""

    msg_id = "bundle.malformed"


class BundleTooLarge(BundleError):
    """A bundle over the size, op count or decompressed limits (``size`` > ``limit``)."""

    msg_id = "bundle.too_large"


class WrongTeam(BundleError):
    """A bundle for another team (``team``)."""

    msg_id = "bundle.wrong_team"


class WrongRecipient(BundleError):
    """A bundle from ``device`` addressed to ``to``, not to whoever opens it: another
    device's downward bundle, or a downward bundle put where upward ones go."""

    msg_id = "bundle.wrong_recipient"


class UnknownDevice(BundleError):
    """A bundle from a device that is not enrolled in the team (``device``)."""

    msg_id = "bundle.unknown_device"


class DeviceRevoked(BundleError):
    """A bundle from a device the supervisor revoked (``device``)."""

    msg_id = "bundle.revoked"


class BadSignature(BundleError):
    """A bundle whose signature does not match its sender: changed in transit, or forged."""

    msg_id = "bundle.bad_signature"


class DecryptFailed(BundleError):
    """A bundle not encrypted to this team's key."""

    msg_id = "bundle.decrypt_failed"


class SequenceGap(BundleError):
    """An earlier bundle from the device (``missing``) has not come: this one (``seq``) is held."""

    msg_id = "bundle.gap"


class DuplicateBundle(BundleError):
    """A bundle already received (``seq`` from ``device``): nothing changes."""

    msg_id = "bundle.duplicate"


class SequenceConflict(BundleError):
    """The alarm: a device sent two different bundles with the same number; the second is
    quarantined."""

    msg_id = "bundle.conflict"


class ChainBroken(BundleError):
    """A bundle whose previous-bundle hash does not match the one received before it."""

    msg_id = "bundle.chain"


class OpInvalid(BundleError):
    """Change number ``index`` of a bundle fails validation (``reason``), or the record it would
    leave does."""

    msg_id = "bundle.op_invalid"


class NotTheWriter(BundleError):
    """Change number ``index`` of an upward bundle from ``device`` writes what only a
    supervisor device may (DESIGN §3.7): an assignment (``bundle.assignment_by_worker``),
    or a supervision note's field ``field`` beyond the worker's answer — its status and
    when it was acknowledged or done (``bundle.note_by_worker``)."""

    msg_id = "bundle.note_by_worker"


class LevelRefused(BundleError):
    """A bundle between levels (DESIGN §3.8) that the upper team does not take, whole:
    a level's bundle from a device not enrolled for records (``bundle.not_a_level``),
    changes from an office enrolled for counts only (``bundle.aggregates_only``), or a
    roster that claims ``claimed``: a device enrolled here directly
    (``bundle.roster_enrolled``) or on another office's roster (``bundle.roster_other``,
    ``other`` that office's device)."""

    msg_id = "bundle.not_a_level"


class RecordIncomplete(BundleError):
    """A bundle creates a record without all of its fields: held until the rest of
    the record arrives (from another device: any order), applied then."""

    msg_id = "bundle.incomplete"


class NotAFile(BundleError):
    """``what``: ``link``, ``not_regular`` or ``unreadable`` (with ``reason``)."""

    msg_id = "bundle.not_a_file"

    def render(self, lang: str | None = None) -> str:
        """The message with ``what`` translated too."""
        from fieldapp.i18n import t

        what = t(f"bundle.not_a_file_what.{self.params.get('what', 'not_regular')}", lang)
        return t(self.msg_id, lang, what=what)


class AggregateInvalid(BundleError):
    """An aggregate bundle (DESIGN §3.8) from ``device`` whose payload breaks the strict
    schema (``reason``): an unknown key, a string or a fraction where a count belongs, a
    community label that could be personal data. Nothing from it is used."""

    msg_id = "bundle.aggregate_invalid"


class TooLargeToApply(BundleError):
    """A valid bundle with more than one vault commit can hold."""

    msg_id = "bundle.too_large_to_apply"


class CardError(FieldappError):
    """A card was refused; ``what`` says why (format, signature, other_team …)."""

    msg_id = "card.invalid"

    def render(self, lang: str | None = None) -> str:
        """The message with ``what`` translated too."""
        from fieldapp.i18n import t

        what = t(f"card.what.{self.params.get('what', 'format')}", lang)
        return t(self.msg_id, lang, what=what)


class TeamCardChanged(CardError):
    """This device joined the team with a card whose fingerprint (``old``) differs from the
    new card's (``new``): a new hub, or a forged card. Joined only once the user confirms."""

    msg_id = "card.changed"

    def render(self, lang: str | None = None) -> str:
        """The message with both fingerprints."""
        return FieldappError.render(self, lang)


class TransportError(FieldappError):
    """The USB stick, shared folder or hub failed (``path``, ``reason``); the outbox is intact."""

    msg_id = "transport.failed"


class SourceNotFound(TransportError):
    """A folder or file to merge from does not exist (``path``): is the stick plugged in?"""

    msg_id = "transport.no_source"


@dataclasses.dataclass(frozen=True)
class FieldProblem:
    """One reason a field was refused: the field's dotted path (``name``,
    ``household.0.phone``), a stable code, parameters."""

    path: str
    code: str
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def render(self, lang: str | None = None) -> str:
        """What is wrong with the field, in ``lang``; a refused status move names both statuses."""
        from fieldapp.i18n import t

        params = dict(self.params)
        if self.code == "transition":  # show status labels, not ids
            for key in ("old", "new"):
                params[key] = t(f"enum.NeedStatus.{params[key]}", lang)
        return t(f"invalid.{self.code}", lang, **params)


class RecordInvalid(FieldappError):
    """A record was refused; ``problems`` says which field and why."""

    msg_id = "invalid.record"

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = problems
        super().__init__(count=len(problems))

    def render(self, lang: str | None = None) -> str:
        """The count of problems, then one line per field: its path and what is wrong."""
        lines = [super().render(lang)]
        lines += [f"  {p.path}: {p.render(lang)}" for p in self.problems]
        return "\n".join(lines)

    def codes(self) -> dict[str, str]:
        """field path → first problem code, handy for forms and tests."""
        out: dict[str, str] = {}
        for p in self.problems:
            out.setdefault(p.path, p.code)
        return out


class AssignmentRefused(FieldappError):
    """An assignment that cannot be made: on a worker's device (``assign.not_supervisor``),
    for a resident this vault does not hold (``assign.unknown_resident``), or a worker
    ``who`` that names no enrolled device, several, or a revoked one
    (``assign.unknown_worker``, ``assign.ambiguous_worker``, ``assign.revoked``)."""

    msg_id = "assign.not_supervisor"


class RecordDamaged(FieldappError):
    """A stored record's fields do not make a valid record (an older fieldapp let it in,
    or half of it arrived): shown with what can be read, not opened as a form."""

    msg_id = "invalid.damaged"

    def render(self, lang: str | None = None) -> str:
        """The message with the record's kind as a label (``kind``, ``id``, ``field``)."""
        from fieldapp.i18n import t

        kind = t(f"enum.RecordKind.{self.params.get('kind', 'resident')}", lang)
        return t(self.msg_id, lang, **{**self.params, "kind": kind})


# ------------------------------------------------------------------ moved here: one tree


class ConfigInvalid(FieldappError):
    """``config.toml`` cannot be read or is not valid (``path``, ``detail``); the app runs on
    defaults."""

    msg_id = "config.invalid"


class TemplateInvalid(FieldappError):
    """A team's template file is broken (``source``, ``detail``): skipped and reported."""

    msg_id = "template.invalid"


class ClockAhead(BundleError):
    """A bundle dated more than a day ahead of the receiver's clock (``hours``): its sender's clock
    is wrong."""

    msg_id = "bundle.clock_ahead"


class BundleConflictError(TransportError):
    """A different bundle already sits under the same name: never overwrite, raise the alarm."""

    msg_id = "transport.conflict"


class HubUnreachable(TransportError):
    """No answer from the hub: offline, wrong address, hub stopped, or it kept failing."""

    msg_id = "hub.unreachable"


class HubClockWrong(TransportError):
    """The hub refused the request's time: this laptop's clock is off by minutes."""

    msg_id = "hub.clock"


class HubDenied(TransportError):
    """The hub answered and refused this device's credentials (revoked, or not enrolled yet)."""

    msg_id = "hub.denied"


class HubNotConfigured(CardError):
    """The team card names no hub, so there is nothing to sync with over the network."""

    def __init__(self) -> None:
        super().__init__(what="no_hub")


class HubError(FieldappError):
    """The hub could not start or be reached; ``what`` says why."""

    msg_id = "hub.error"

    def render(self, lang: str | None = None) -> str:
        """The message with ``what`` translated too."""
        from fieldapp.i18n import t

        what = t(f"hub.what.{self.params.get('what', 'failed')}", lang, **self.params)
        return t(self.msg_id, lang, what=what)
