"""What the user is told when the hub fails: plain sentences in their language, never a
library's name for the failure; that name goes to the error log (issue 13)."""

from __future__ import annotations

import pytest

from fieldapp.errors import HubClockWrong, HubDenied, HubUnreachable
from fieldapp.i18n import t
from fieldapp.services import errorlog, syncing
from fieldapp.services.syncing import HubSync
from fieldapp.services.workspace import Workspace
from fieldapp.store import Vault

LIBRARY_NAMES = ("EndpointConnectionError", "SignatureDoesNotMatch", "RequestTimeTooSkewed")
HUB = "http://127.0.0.1:8333/fieldapp/inbox/x"


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_hub_refusals_are_plain_sentences(lang: str) -> None:
    for error in (
        HubUnreachable(path=HUB, reason="EndpointConnectionError"),
        HubDenied(path=HUB, reason="SignatureDoesNotMatch"),
        HubClockWrong(path=HUB, reason="RequestTimeTooSkewed"),
    ):
        text = error.render(lang)
        assert text and not any(name in text for name in LIBRARY_NAMES), text
    said = t("ui.hub_unreachable_sup", lang, reason="EndpointConnectionError")
    assert "EndpointConnectionError" not in said
    for message_id in ("ui.hub_failed", "ui.worker_failed", "ui.crashed"):
        text = t(message_id, lang, error="KeyError", place="today.py:90")
        assert "KeyError" not in text and "today.py" not in text


@pytest.mark.parametrize(
    "failure",
    [ValueError("a resident's name"), HubUnreachable(path=HUB, reason="EndpointConnectionError")],
)
def test_a_failed_hub_pass_logs_the_detail_and_says_a_sentence(
    vault: Vault, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    def failing(*args: object, **kwargs: object) -> object:
        raise failure

    sync = HubSync(Workspace(vault), supervisor=False)
    monkeypatch.setattr(sync, "transport", failing)
    done = sync.run(manual=True)
    assert not done.ok and done.notice is not None
    assert not any(name in done.notice.text for name in (*LIBRARY_NAMES, "ValueError"))
    log = errorlog.log_path().read_text("utf-8")
    name = "ValueError" if isinstance(failure, ValueError) else "EndpointConnectionError"
    assert name in log and "a resident's name" not in log
    assert syncing  # the module under test
