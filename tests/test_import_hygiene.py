"""The core (domain, store, services, sync) never imports the UI toolkit, and importing
fieldapp does nothing: no directories, no vault opened."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import ROOT, python

CORE = [
    "fieldapp.domain",
    "fieldapp.store",
    "fieldapp.services.records",
    "fieldapp.services.schedule",
    "fieldapp.services.demo",
    "sync",
    "fieldapp.domain.ops",
    "fieldapp.domain.hlc",
    "fieldapp.cli",
]


@pytest.mark.parametrize("module", CORE)
def test_core_does_not_import_textual_or_rich(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "print(bad)\n"
    )
    out = subprocess.run([python(), "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_import_has_no_side_effects(tmp_path: object) -> None:
    code = "import fieldapp, fieldapp.cli, fieldapp.store, fieldapp.paths; print('ok')"
    home = f"{tmp_path}/home"
    out = subprocess.run(
        [python(), "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"FIELDAPP_HOME": home, "PATH": "/usr/bin:/bin"},
    )
    assert out.stdout.strip() == "ok", out.stderr
    import os

    assert not os.path.exists(home)
