"""Every message id the code uses exists in both catalogs, and the catalogs agree."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from fieldapp import domain, i18n
from fieldapp.domain.validation import OUR_CODES
from fieldapp.errors import FieldappError
from tests.conftest import ROOT

MSG = re.compile(r"(field|hint|ui|cmd|invalid|enum)(\.[A-Za-z_]*[a-z])+")
ID = re.compile(r"^[a-z_]+(\.[A-Za-z_ ]+)+$")


def literal_ids() -> set[str]:
    """String literals in the code that look like message ids and are passed to t()/errors."""
    found: set[str] = set()
    for file in [*(ROOT / "fieldapp").rglob("*.py"), *(ROOT / "sync").rglob("*.py")]:
        tree = ast.parse(file.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and node.args:
                first = node.args[0]
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name in {"t", "_say", "_ask", "_ask_fmt"} and isinstance(first, ast.Constant):
                    found.add(first.value)
            # FieldSpec labels and hints: ids passed on to t() later.
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and MSG.fullmatch(node.value)
            ):
                found.add(node.value)
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Binding":
                for kw in node.keywords:
                    if kw.arg == "id" and isinstance(kw.value, ast.Constant):
                        found |= {f"key.{kw.value.value}", f"tip.{kw.value.value}"}
            if isinstance(node, ast.Assign) and any(
                getattr(t, "id", "") == "msg_id" for t in node.targets
            ):
                assert isinstance(node.value, ast.Constant)
                found.add(node.value.value)
    return found


def error_classes() -> list[type[FieldappError]]:
    out, todo = [], [FieldappError]
    while todo:
        cls = todo.pop()
        out.append(cls)
        todo += cls.__subclasses__()
    return out


def test_catalogs_have_the_same_ids() -> None:
    assert set(i18n.catalog("en")) == set(i18n.catalog("zh_CN"))


def test_ids_used_in_code_exist() -> None:
    used = literal_ids() | {cls.msg_id for cls in error_classes()}
    used |= {f"invalid.{code}" for code in OUR_CODES | {"unknown_resident", "unknown_record"}}
    assert len(used) > 250
    for lang in i18n.LANGUAGES:
        missing = sorted(m for m in used if m not in i18n.catalog(lang))
        assert not missing, f"{lang} lacks {missing}"


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_enum_value_has_a_label(lang: str) -> None:
    enums = [getattr(domain, n) for n in domain.__all__]
    enums = [
        e for e in enums if isinstance(e, type) and issubclass(e, str) and hasattr(e, "__members__")
    ]
    assert len(enums) >= 10
    for enum in enums:
        for member in enum:
            assert f"enum.{enum.__name__}.{member.value}" in i18n.catalog(lang)


def test_the_two_languages_really_differ() -> None:
    en, zh = i18n.catalog("en"), i18n.catalog("zh_CN")
    same = [k for k in en if en[k] == zh[k] and re.search("[a-zA-Z]{4}", en[k])]
    assert not same, f"untranslated in zh_CN: {same}"
    # Nothing English left in Chinese text, apart from names, commands and formats.
    for key, text in zh.items():
        words = re.sub(
            r"`[^`]*`|{\w+}|fieldapp|config\.toml|\[keymap\]|Ctrl\+[A-Z]|English", "", text
        )
        words = re.sub(r"YYYY-MM-DD( HH:MM)?|zs / zhangsan|CSV|XLSX|JSON|USB|Enter|ID|X", "", words)
        if re.search("[A-Za-z]{3}", words):
            raise AssertionError(f"{key} has untranslated English: {text!r}")


def test_placeholders_match_between_languages() -> None:
    en, zh = i18n.catalog("en"), i18n.catalog("zh_CN")
    for key in en:
        assert set(re.findall(r"{(\w+)}", en[key])) == set(re.findall(r"{(\w+)}", zh[key])), key


def test_missing_id_shows_itself_not_a_crash() -> None:
    assert i18n.t("no.such.id", "en") == "no.such.id"
    assert i18n.t("vault.locked", "en").startswith("The vault in")  # missing param: raw text


def test_catalog_files_are_the_only_source(tmp_path: Path) -> None:
    files = sorted(p.name for p in (ROOT / "fieldapp" / "locales").glob("*.toml"))
    assert files == ["en.toml", "zh_CN.toml"]


def test_open_report_messages_exist() -> None:
    from fieldapp.store import OpenReport

    report = OpenReport(torn_tail_bytes=12, unacknowledged_frames_kept=1, state_slot_damaged=True)
    assert len(report.messages()) == 3
    for lang in i18n.LANGUAGES:
        for msg_id, params in report.messages():
            assert msg_id in i18n.catalog(lang)
            assert "{" not in i18n.t(msg_id, lang, **params)
