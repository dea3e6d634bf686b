"""User settings: TOML in the user config dir (or ``$FIELDAPP_HOME/config.toml``).

No personal data goes here — only preferences. Read with tomllib, written with
tomlkit (keeps the user's comments), validated by :class:`Config`.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fieldapp.errors import ConfigInvalid

CONFIG_VERSION = 1


class Config(BaseModel):
    """Everything a worker can set in ``config.toml``."""

    model_config = ConfigDict(extra="forbid")

    version: int = CONFIG_VERSION
    """Format version of this file (for migrations)."""
    language: str = Field(default="zh_CN", pattern="^(zh_CN|en)$")
    """Language of the interface: ``zh_CN`` or ``en``."""
    theme: str = "textual-dark"
    """Colour theme; ``fieldapp-high-contrast`` for bright sunlight or low vision."""
    idle_lock_minutes: int = Field(default=10, ge=1, le=240)
    """Lock the app (hide all data) after this many minutes without a key press."""
    keymap: dict[str, str] = Field(default_factory=dict)
    """Binding id → keys, e.g. ``"residents.search" = "ctrl+f"`` (see the help screen)."""


def config_path() -> Path:
    """Where ``config.toml`` lives: in ``$FIELDAPP_HOME`` when set, else the user config dir."""
    home = os.environ.get("FIELDAPP_HOME")
    if home:
        return Path(home) / "config.toml"
    import platformdirs

    return platformdirs.user_config_path("fieldapp") / "config.toml"


def load_config(path: Path | None = None) -> Config:
    """The config, or the defaults when there is no file yet."""
    path = path or config_path()
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return Config()
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigInvalid(path=str(path), detail=str(exc)) from None
    except OSError as exc:  # a folder where the file should be, no permission…
        raise ConfigInvalid(path=str(path), detail=exc.strerror or type(exc).__name__) from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigInvalid(path=str(path), detail=detail) from None


def save_config(config: Config, path: Path | None = None) -> None:
    """Write the settings that differ from the file, keeping the user's comments."""
    import tomlkit

    path = path or config_path()
    try:
        doc = tomlkit.parse(path.read_text("utf-8"))
    except FileNotFoundError:
        doc = tomlkit.document()
    for key, value in config.model_dump().items():
        doc[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(tomlkit.dumps(doc), "utf-8")
    os.replace(tmp, path)
