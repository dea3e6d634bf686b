"""Translation helpers for widgets: bindings and labels follow the current language."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen

from fieldapp.domain.enums import ENUM_OF_FIELD
from fieldapp.i18n import current_language, listed, t
from fieldapp.services.search import tag_words  # noqa: F401 — re-exported for screens

# Keys of Textual's own widgets that the footer shows, which carry no id of ours: (the
# widget's class, the binding's action) → the id whose ``key.``/``tip.`` messages say it.
LIBRARY_BINDINGS = {("SelectOverlay", "dismiss"): "select.dismiss"}  # an open dropdown


def translate_bindings(node: DOMNode, tips: Mapping[str, str] | None = None) -> None:
    """Give every binding with an id its description and tooltip in the current language.

    BINDINGS hold English fallbacks; the catalogs hold ``key.<id>`` and ``tip.<id>``. The
    keys of Textual's widgets named in :data:`LIBRARY_BINDINGS` are given their id first.
    ``tips`` (binding id → text) replace the catalog's tip where one key means something
    else each time (the confirmation's ``y``: discard, delete, accept a card …).
    """
    bindings = node._bindings.key_to_bindings
    widget = type(node).__name__
    for key, items in bindings.items():
        bindings[key] = [_translated(b, widget, tips or {}) for b in items]


def _translated(binding: Binding, widget: str, tips: Mapping[str, str]) -> Binding:
    if not binding.id:
        library = LIBRARY_BINDINGS.get((widget, binding.action))
        if library is None:
            return binding
        binding = dataclasses.replace(binding, id=library)
    tip = tips.get(binding.id) or t(f"tip.{binding.id}")
    return dataclasses.replace(binding, description=t(f"key.{binding.id}"), tooltip=tip)


def keys_hint(screen: Screen[Any], ids: tuple[str, ...]) -> str:
    """A line naming the keys of the bindings ``ids`` on ``screen`` as the worker's keymap has
    them, each with its description (``^s Save  ·  esc Cancel``): for dialogs, which have no
    footer. Call it once the bindings are translated."""
    shown: dict[str, Binding] = {}
    for active in screen.active_bindings.values():
        if active.binding.id:
            shown.setdefault(active.binding.id, active.binding)
    return "  ·  ".join(
        f"{screen.app.get_key_display(shown[bid])} {t(f'key.{bid}')}" for bid in ids if bid in shown
    )


def label(enum_name: str, value: str) -> str:
    """A vocabulary value's label in the current language (``enum.<Name>.<value>``)."""
    return t(f"enum.{enum_name}.{value}")


def day(value: dt.date | None) -> str:
    """A date as the screens show it (ISO), or a dash for none."""
    return value.isoformat() if value else "—"


def lang() -> str:
    """The language the interface is in now."""
    return current_language()


def show_value(kind: str, field: str, value: object, names: dict[str, str] | None = None) -> str:
    """A stored field value as a worker should read it (labels, masked ID numbers)."""
    from fieldapp.domain.idcard import mask_id_number

    if value in (None, "", [], {}):
        return "—"
    enum = ENUM_OF_FIELD.get((kind, field))
    if enum and isinstance(value, list):
        return listed(label(enum, str(v)) for v in value)
    if enum:
        return label(enum, str(value))
    if field == "id_number":
        return mask_id_number(str(value))
    if field in ("resident_id", "resident_ids", "target_id") and names is not None:
        ids = value if isinstance(value, list) else [value]
        return listed(names.get(str(i), "?") for i in ids)
    if kind == "supervision_note" and field.endswith("_at"):  # written, acknowledged, done
        return str(value).replace("T", " ")[:16]
    if field == "_deleted":
        return t("ui.deleted") if value else "—"
    if kind == "resident" and field == "archived":
        return t("ui.archived_yes") if value else t("ui.archived_no")
    if isinstance(value, bool):
        return t("enum.CheckAnswer.yes") if value else t("enum.CheckAnswer.no")
    if isinstance(value, dict):
        if "status" in value and field == "consent":
            return f"{label('ConsentStatus', str(value['status']))} {value.get('on') or ''}".strip()
        return "; ".join(f"{k}={show_value(kind, k, v, names)}" for k, v in value.items())
    if isinstance(value, list):
        parts = []
        for item in value:
            if isinstance(item, dict) and "activity" in item:
                parts.append(
                    t(
                        "ui.every_days",
                        activity=label("Activity", item["activity"]),
                        n=item.get("every_days"),
                    )
                )
            elif isinstance(item, dict):
                parts.append(str(item.get("name") or item.get("text") or item.get("held_on") or ""))
            else:
                parts.append(str(item))
        return listed(parts)
    return str(value).replace("\n", " ")


def checklist_text(value: object, labels: dict[str, str]) -> str:
    """A visit's checklist as the worker filled it: each item's label from its template
    and the answer in words ("燃气阀门: 否"), never the stored ids."""
    if not isinstance(value, dict) or not value:
        return "—"
    parts = []
    for item_id, item in value.items():
        answer = item.get("answer") if isinstance(item, dict) else item
        text = labels.get(str(item_id), str(item_id))
        parts.append(f"{text}: {label('CheckAnswer', str(answer))}")
    return "; ".join(parts)


def cells(*values: object) -> list[Text]:
    """Table cells as plain text: a name or note containing [brackets] is not markup."""
    return [Text(str(v)) for v in values]


class Finishing:
    """For screens that close themselves when a worker is done: close only when on top.

    ``Screen.dismiss`` pops whatever screen is on top; a save finishing behind the lock
    screen (or behind help) must not pop that instead. The result waits until the
    screen is shown again.
    """

    _deferred: tuple[object] | None = None

    def finish(self, result: object) -> None:
        """Close the screen with ``result`` if it is on top, else as soon as it is shown again."""
        screen = self  # type: ignore[assignment]
        if screen.app.screen is screen:  # type: ignore[attr-defined]
            screen.dismiss(result)  # type: ignore[attr-defined]
        else:
            self._deferred = (result,)

    def on_screen_resume(self) -> None:
        """Shown again: close now with the result that waited, if one did."""
        if self._deferred is not None:
            (result,) = self._deferred
            self._deferred = None
            self.dismiss(result)  # type: ignore[attr-defined]
