"""Where fieldapp keeps its data. Nothing is created at import time.

``FIELDAPP_HOME`` points everything (vault, demo vault, config) at another directory;
tests and the demo use it.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """The folder that holds the vault and the demo: ``$FIELDAPP_HOME``, else the user data dir."""
    home = os.environ.get("FIELDAPP_HOME")
    if home:
        return Path(home)
    import platformdirs

    return platformdirs.user_data_path("fieldapp")


def vault_dir() -> Path:
    """The folder of the worker's own vault."""
    return data_dir() / "vault"


def demo_dir() -> Path:
    """Where ``fieldapp demo`` puts the demo vault unless told another folder."""
    return data_dir() / "demo"
