"""First run on a new laptop: language, passphrase, recovery key, who you are.

The recovery key is generated and confirmed before the vault exists, so quitting
half-way leaves nothing behind; the vault is created (KDF calibrated) in a worker.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Button, ContentSwitcher, Footer, Input, ProgressBar, Static

from fieldapp import i18n
from fieldapp.domain.clock import Clock
from fieldapp.errors import FieldappError
from fieldapp.i18n import t
from fieldapp.services import session
from fieldapp.services.workspace import Workspace
from fieldapp.store import KdfParams
from fieldapp.store.crypto import new_recovery_key
from fieldapp.store.keyfile import MIN_PASSPHRASE, check_passphrase
from fieldapp.tui.i18n import translate_bindings
from fieldapp.tui.workers import background


def strength(passphrase: str) -> int:
    """0–4: a rough guide (length and variety), shown as a bar while typing."""
    if len(passphrase) < MIN_PASSPHRASE:
        return 0
    kinds = sum(
        any(test(c) for c in passphrase)
        for test in (
            str.islower,
            str.isupper,
            str.isdigit,
            lambda c: not c.isalnum(),
            lambda c: ord(c) > 0x2E80,
        )
    )
    score = 1 + (len(passphrase) >= 12) + (len(passphrase) >= 16) + (kinds >= 3)
    return min(4, score)


class FirstRunScreen(Screen[Workspace | None]):
    """The steps of a first run; dismisses with the new vault's workspace.

    ``vault_path`` is where the vault goes (None: the default folder); ``clock`` is the
    party's clock; ``kdf`` None calibrates on this machine (tests pass cheap parameters);
    ``set_language`` switches the whole app when a language is chosen."""

    BINDINGS = [Binding("ctrl+q", "app.quit", "Quit", id="first_run.quit")]

    def __init__(
        self,
        vault_path: Path | None,
        *,
        clock: Clock,
        kdf: KdfParams | None = None,
        set_language: Callable[[str], Awaitable[None]],
    ) -> None:
        super().__init__()
        self.vault_path = vault_path
        self.clock = clock
        self.kdf = kdf
        self.set_language = set_language
        self.passphrase = ""
        self.recovery = new_recovery_key()
        self.asked = sorted(secrets.SystemRandom().sample(range(14), 2))

    def compose(self) -> ComposeResult:
        """Every step, one shown at a time: language, passphrase with its strength, the recovery
        key to copy down and confirm, the worker's name and community, creating."""
        groups = self.recovery[1].split("-")
        with Center(), Vertical(id="first-run"):
            yield Static(t("ui.welcome"), id="first-title")
            with ContentSwitcher(initial="step-language", id="steps"):
                with Vertical(id="step-language"):
                    yield Static(t("ui.choose_language"))
                    yield Button("中文", id="lang-zh_CN", variant="primary")
                    yield Button("English", id="lang-en")
                with Vertical(id="step-passphrase"):
                    yield Static(t("ui.choose_passphrase", min=MIN_PASSPHRASE))
                    yield Input(password=True, id="pass1", placeholder=t("ui.passphrase"))
                    yield ProgressBar(total=4, show_eta=False, show_percentage=False, id="strength")
                    yield Static("", id="strength-label", markup=False)
                    yield Input(password=True, id="pass2", placeholder=t("ui.repeat_passphrase"))
                    yield Static("", id="pass-error", classes="error", markup=False)
                with Vertical(id="step-recovery"):
                    yield Static(t("ui.recovery_intro"), id="recovery-intro")
                    yield Static(
                        "\n".join(" ".join(groups[i : i + 7]) for i in (0, 7)),
                        id="recovery-key",
                    )
                    yield Static(t("ui.recovery_confirm", a=self.asked[0] + 1, b=self.asked[1] + 1))
                    yield Input(id="recovery-check")
                    yield Static("", id="recovery-error", classes="error", markup=False)
                with Vertical(id="step-profile"):
                    yield Static(t("ui.your_name"))
                    yield Input(id="worker-name")
                    yield Static(t("ui.your_community"))
                    yield Input(id="worker-community")
                    yield Static("", id="profile-error", classes="error", markup=False)
                with Vertical(id="step-creating"):
                    yield Static(t("ui.creating_vault"), id="creating")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        """Label the quit key in the current language."""
        translate_bindings(self)

    async def relabel(self) -> None:
        """Redraw every step in the new language, on the same step, keeping what is typed."""
        current = self.query_one("#steps", ContentSwitcher).current
        values = {i.id: i.value for i in self.query(Input)}
        await self.recompose()
        self.query_one("#steps", ContentSwitcher).current = current
        for box in self.query(Input):
            box.value = values.get(box.id, "")

    def worker_failed(self, group: str) -> None:
        """Creating the vault failed: back to the passphrase step, to try again."""
        if group == "create":  # back to a step the user can act on
            self._show("step-passphrase", "#pass1")

    def _show(self, step: str, focus: str | None = None) -> None:
        self.query_one("#steps", ContentSwitcher).current = step
        if focus:
            self.query_one(focus).focus()

    @on(Button.Pressed)
    async def _language(self, event: Button.Pressed) -> None:
        lang = (event.button.id or "").removeprefix("lang-")
        if lang in i18n.LANGUAGES:
            await self.set_language(lang)
            self._show("step-passphrase", "#pass1")

    @on(Input.Changed, "#pass1")
    def _strength(self, event: Input.Changed) -> None:
        score = strength(event.value)
        self.query_one("#strength", ProgressBar).update(progress=score)
        self.query_one("#strength-label", Static).update(t(f"ui.strength_{score}"))

    @on(Input.Submitted, "#pass1")
    def _pass1(self) -> None:
        self.query_one("#pass2").focus()

    @on(Input.Submitted, "#pass2")
    def _pass2(self) -> None:
        first = self.query_one("#pass1", Input).value
        error = self.query_one("#pass-error", Static)
        try:
            check_passphrase(first)
        except FieldappError as exc:
            error.update(exc.render())
            self.query_one("#pass1").focus()
            return
        if self.query_one("#pass2", Input).value != first:
            error.update(t("cli.passphrases_differ"))
            return
        self.passphrase = first
        error.update("")
        self._show("step-recovery", "#recovery-check")

    @on(Input.Submitted, "#recovery-check")
    def _recovery(self, event: Input.Submitted) -> None:
        groups = self.recovery[1].split("-")
        typed = event.value.upper().split()
        if typed != [groups[self.asked[0]], groups[self.asked[1]]]:
            self.query_one("#recovery-error", Static).update(t("cli.recovery_mismatch"))
            return
        self._show("step-profile", "#worker-name")

    @on(Input.Submitted, "#worker-name")
    def _name(self) -> None:
        self.query_one("#worker-community").focus()

    @on(Input.Submitted, "#worker-community")
    def _profile(self) -> None:
        name = self.query_one("#worker-name", Input).value.strip()
        community = self.query_one("#worker-community", Input).value.strip()
        if not name or not community:
            self.query_one("#profile-error", Static).update(t("invalid.required"))
            return
        self._show("step-creating")
        self.create_vault(name, community)

    @background("create")
    def create_vault(self, name: str, community: str) -> None:
        """Create the vault in a worker (calibrating the KDF takes a moment) and dismiss with its
        workspace; a refusal is shown and the passphrase step comes back."""
        from fieldapp import paths

        path = self.vault_path or paths.vault_dir()
        try:
            vault, _ = session.create(
                path,
                self.passphrase,
                name=name,
                community=community,
                kdf=self.kdf,
                recovery=self.recovery,
                clock=self.clock,
            )
        except FieldappError as exc:
            self.app.call_from_thread(self.app.notify, exc.render(), severity="error")
            self.app.call_from_thread(self._show, "step-passphrase", "#pass1")
            return
        self.app.call_from_thread(self.dismiss, Workspace(vault))
