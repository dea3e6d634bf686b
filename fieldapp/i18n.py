"""Message catalogs: every string a user sees comes from ``locales/<lang>.toml``.

Catalogs are flat TOML tables; ``t("vault.locked")`` looks up ``[vault] locked``.
Nothing is loaded at import time; the current language is chosen by the caller
(CLI flag, config, or the ``LANG`` environment variable as a last resort).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"

_current: str | None = None


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = str(value)
    return out


@cache
def catalog(lang: str) -> dict[str, str]:
    """The flattened catalog for ``lang`` (``zh_CN`` or ``en``)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    text = resources.files("fieldapp.locales").joinpath(f"{lang}.toml").read_text("utf-8")
    return _flatten(tomllib.loads(text))


def language_from_env() -> str:
    """zh_CN unless the environment asks for English (``LANG=en_US.UTF-8`` …)."""
    for var in ("FIELDAPP_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            return "en" if value.lower().startswith("en") else "zh_CN"
    return DEFAULT_LANGUAGE


def set_language(lang: str) -> None:
    """Choose the language of every later :func:`t` call (``zh_CN`` or ``en``)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    global _current
    _current = lang


def current_language() -> str:
    """The language chosen with :func:`set_language`, else the environment's."""
    return _current or language_from_env()


def t(msg_id: str, lang: str | None = None, /, **params: Any) -> str:
    """Translate ``msg_id``; a missing id shows as itself so it is noticed, never crashes."""
    text = catalog(lang or current_language()).get(msg_id)
    if text is None:
        return msg_id
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        return text


def listed(items: Iterable[str], lang: str | None = None) -> str:
    """Items joined as the language joins a list ("a, b"; "甲、乙"): ``ui.list_sep``."""
    return t("ui.list_sep", lang).join(items)


def field_label(kind: str, field: str, lang: str | None = None) -> str:
    """A stored field's name for people: the generic label, else the form's, else the id."""
    for msg_id in (f"field.any.{field}", f"field.{kind}.{field}"):
        text = t(msg_id, lang)
        if text != msg_id:
            return text
    return field
