"""Where fieldapp keeps its data. Nothing is created at import time.

``FIELDAPP_HOME`` points everything (vault, demo vault, config) at another directory;
tests and the demo use it.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    home = os.environ.get("FIELDAPP_HOME")
    if home:
        return Path(home)
    import platformdirs

    return platformdirs.user_data_path("fieldapp")


def vault_dir() -> Path:
    return data_dir() / "vault"


def demo_dir() -> Path:
    return data_dir() / "demo"
