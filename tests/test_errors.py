"""One exception tree (STYLE.md): every error fieldapp raises on purpose lives in
``fieldapp/errors.py``, is drawn in its docstring, and says itself in both languages."""

from __future__ import annotations

import ast
import inspect
import re

from fieldapp import errors
from fieldapp.i18n import catalog
from tests.conftest import ROOT


def _ours() -> dict[str, type]:
    return {
        name: cls
        for name, cls in vars(errors).items()
        if inspect.isclass(cls) and issubclass(cls, errors.FieldappError)
    }


def test_every_error_class_is_in_the_tree_drawn_in_the_docstring() -> None:
    drawn = set(re.findall(r"[├└]── (\w+)", errors.__doc__ or "")) | {"FieldappError"}
    assert drawn == set(_ours())


def test_no_error_class_lives_outside_errors_py() -> None:
    found = []
    for package in ("fieldapp", "sync"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name == "errors.py":
                continue
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.ClassDef):
                    bases = {getattr(b, "id", getattr(b, "attr", "")) for b in node.bases}
                    if bases & (set(_ours()) | {"Exception"}):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not found


def test_every_error_has_a_message_in_both_languages() -> None:
    for lang in ("en", "zh_CN"):
        messages = catalog(lang)
        for name, cls in _ours().items():
            assert cls.msg_id in messages, (lang, name, cls.msg_id)
