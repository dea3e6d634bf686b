"""Fixtures for driving the app headless: a demo vault on a fixed clock, deterministic
ids, no cursor blink, and a test that fails when the app shows an error toast or a
worker fails — unless the test asks for those (the ``toasts`` and ``worker_failures``
fixtures) and checks them itself."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.reactive import reactive
from textual.widgets import Input, TextArea
from textual.worker import WorkerCancelled
from textual.worker import WorkerFailed as FailedWorker

from fieldapp.config import Config
from fieldapp.domain.clock import FixedClock
from fieldapp.services import demo
from fieldapp.services.workspace import Workspace
from fieldapp.store import Vault
from fieldapp.tui.app import FieldApp
from fieldapp.tui.messages import WorkerFailed
from fieldapp.tui.screens.resident_file import ResidentFileScreen
from tests.conftest import FAST_KDF, PASSPHRASE, T0

TODAY = T0.date()
NOON = dt.datetime.combine(TODAY, dt.time(12))  # when the demo vault was built


def counting_ids() -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"01a20000-0000-7000-8000-{next(counter):012d}"


@pytest.fixture
def lang() -> str:
    """The language of a test that does not choose one. A test parametrized on ``lang``
    overrides this, and its :func:`demo_vault` is then written in that language, as
    ``fieldapp demo`` writes it in the language the app shows."""
    return "zh_CN"


@pytest.fixture
def demo_vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str) -> Iterator[Path]:
    """A demo vault built at noon on :data:`TODAY` with predictable ids (for snapshots), its
    texts in the test's ``lang``."""
    monkeypatch.setattr(demo, "new_id", counting_ids())
    path = tmp_path / "demo"
    vault, _ = Vault.create(
        path, PASSPHRASE, kdf=FAST_KDF, device_id="demo0000device01", clock=FixedClock(NOON)
    )
    workspace = Workspace(vault)
    demo.build_demo(workspace.records, TODAY, residents=60, language=lang)
    vault.close()
    yield path


@pytest.fixture(autouse=True)
def _no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    """A blinking cursor makes screens differ from one moment to the next."""
    for widget in (Input, TextArea):
        steady: reactive[bool] = reactive(False, init=False)
        steady.__set_name__(widget, "cursor_blink")
        monkeypatch.setattr(widget, "cursor_blink", steady)


@pytest.fixture
def toasts() -> list[tuple[str, str]]:
    """(severity, text) of every notification shown; asking for it means the test
    checks the error toasts it expects."""
    return []


@pytest.fixture
def worker_failures() -> list[WorkerFailed]:
    """Every worker that ended in error; asking for it means the test expects some."""
    return []


@pytest.fixture(autouse=True)
def _fail_on_errors(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    shown: list[tuple[str, str]] = (
        request.getfixturevalue("toasts") if "toasts" in request.fixturenames else []
    )
    failed: list[WorkerFailed] = (
        request.getfixturevalue("worker_failures")
        if "worker_failures" in request.fixturenames
        else []
    )
    notify = FieldApp.notify
    handler = FieldApp.on_worker_failed

    def recording_notify(self: FieldApp, message: str, **kwargs: object) -> None:
        shown.append((str(kwargs.get("severity", "information")), str(message)))
        notify(self, message, **kwargs)  # type: ignore[arg-type]

    def recording_handler(self: FieldApp, message: WorkerFailed) -> None:
        failed.append(message)
        handler(self, message)

    monkeypatch.setattr(FieldApp, "notify", recording_notify)
    monkeypatch.setattr(FieldApp, "on_worker_failed", recording_handler)
    yield
    if "worker_failures" not in request.fixturenames:
        assert not failed, f"a worker failed: {[(f.group, f.error) for f in failed]!r}"
    if "toasts" not in request.fixturenames:
        errors = [text for severity, text in shown if severity == "error"]
        assert not errors, f"the app showed an error: {errors!r}"


def make_app(
    path: Path, lang: str = "en", clock: FixedClock | None = None, **config: object
) -> FieldApp:
    """The worker's app on ``path``, opened at :data:`T0` (or ``clock``)."""
    clock = clock or FixedClock(T0)
    vault = Vault.open(path, PASSPHRASE, clock=clock)
    app = FieldApp(
        config=Config(language=lang, **config),  # type: ignore[arg-type]
        vault_path=path,
        workspace=Workspace(vault),
        save_settings=False,
        auto_sync=False,  # the hub tests start it themselves
    )
    return app


async def settle(pilot: Pilot[None]) -> None:
    """Wait for every worker and for the messages they posted (never a fixed sleep). A worker
    cancelled meanwhile is done too: an exclusive reload gives way to a newer one. So is
    one that failed: what it raised is the app's to report (``on_worker_failed``), and the
    ``worker_failures`` fixture fails every test that did not expect it — here it would
    only be raised again, or not, depending on whether the worker was still listed."""
    for _ in range(3):
        for _ in range(10):
            try:
                await pilot.app.workers.wait_for_complete()
                break
            except (WorkerCancelled, FailedWorker):
                continue
        await pilot.pause()


@asynccontextmanager
async def running(
    path: Path, lang: str = "en", **config: object
) -> AsyncIterator[tuple[FieldApp, Pilot[None], Workspace]]:
    """The worker's app on ``path`` at 80×24, settled on its first screen: (app, pilot,
    workspace). The vault is closed when the block ends."""
    app = make_app(path, lang, **config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.workspace is not None
        yield app, pilot, app.workspace
    app.close_vault()


async def open_file(pilot: Pilot[None], resident_id: str) -> ResidentFileScreen:
    """Open the file of ``resident_id`` as the app opens it from a list, wait until it has
    loaded, and return it (failing when the app showed something else)."""
    app = pilot.app
    assert isinstance(app, FieldApp)
    app.open_resident(resident_id)
    await settle(pilot)
    assert isinstance(app.screen, ResidentFileScreen), app.screen
    return app.screen


async def type_into(pilot: Pilot[None], selector: str, text: str) -> None:
    """Focus the field ``selector`` of the current screen, empty it if it is a one-line
    input, and type ``text`` there key by key as a worker would."""
    widget = pilot.app.screen.query_one(selector)
    widget.focus()
    await pilot.pause()
    if isinstance(widget, Input):
        widget.value = ""
    if text:
        await pilot.press(*text)
