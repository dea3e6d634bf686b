"""Search-as-you-type over residents: name, pinyin (full and initials), address,
community, vulnerability tags (both languages), phones and the last four characters of
the ID number.

Each resident has one lower-case haystack string; a query is split into words that must
all occur in it. Typing narrows the previous result set instead of scanning again.
Pinyin comes from pypinyin one character at a time (cached), so 50 000 names index in
well under a second; pypinyin itself is imported lazily (≈ 0.2 s, 60 MB).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from fieldapp.i18n import LANGUAGES, t

SEP = "\x1f"


class Pinyin:
    """Per-character pinyin with a cache: ``("zhangsan", "zs")`` for 张三."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()
        self._lazy: Any = None
        self._first: Any = None

    def _load(self) -> None:
        from pypinyin import Style, lazy_pinyin

        self._first = Style.FIRST_LETTER
        self._lazy = lazy_pinyin

    def __call__(self, text: str) -> tuple[str, str]:
        """The full pinyin and the initials of the Chinese characters in ``text``; others are
        skipped."""
        full: list[str] = []
        initials: list[str] = []
        for ch in text:
            hit = self._cache.get(ch)
            if hit is None:
                if not ("\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"):
                    continue
                with self._lock:
                    if self._lazy is None:
                        self._load()
                    spelled = self._lazy(ch)[0]
                    hit = self._cache[ch] = (spelled, spelled[:1])
            full.append(hit[0])
            initials.append(hit[1])
        return "".join(full), "".join(initials)


_TAG_WORDS: dict[str, str] = {}


def tag_words(tag: str) -> str:
    """Both languages' labels of a tag, so 独居 and "alone" both find it."""
    words = _TAG_WORDS.get(tag)
    if words is None:
        words = _TAG_WORDS[tag] = " ".join(
            t(f"enum.Vulnerability.{tag}", lang) for lang in LANGUAGES
        ).lower()
    return words


class ResidentIndex:
    """The haystacks of every live resident, kept in step with saves. ``pinyin`` is the
    speller to use (one with its own cache when not given)."""

    def __init__(self, pinyin: Pinyin | None = None) -> None:
        self.pinyin = pinyin or Pinyin()
        self._hay: dict[str, str] = {}
        # What filters and sorting need, kept beside the haystack: no document look-ups.
        self.info: dict[str, tuple[str, str, tuple[str, ...]]] = {}  # name, community, tags
        self.archived: set[str] = set()  # the residents archived (left out of the lists)
        self._last: tuple[str, list[str]] | None = None

    def haystack(self, doc: dict[str, Any]) -> str:
        """The lower-case text a resident is found by: name, its pinyin, address, community, tag
        labels, phones, the ID number's last four."""
        name = doc.get("name", "")
        full, initials = self.pinyin(name)
        id_number = doc.get("id_number") or ""
        parts = [
            name,
            full,
            initials,
            doc.get("address", ""),
            doc.get("community", ""),
            *(tag_words(tag) for tag in doc.get("tags") or ()),
            *(doc.get("phones") or ()),
            id_number[-4:],
        ]
        return SEP.join(parts).lower()

    def build(self, residents: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Index every resident afresh (the last results are forgotten)."""
        hay: dict[str, str] = {}
        info: dict[str, tuple[str, str, tuple[str, ...]]] = {}
        archived: set[str] = set()
        for rid, doc in residents:
            hay[rid] = self.haystack(doc)
            info[rid] = _info(doc)
            if doc.get("archived"):
                archived.add(rid)
        self._hay, self.info, self.archived = hay, info, archived
        self._last = None

    def update(self, rid: str, doc: dict[str, Any] | None) -> None:
        """Re-index one resident after a save (``None``: deleted)."""
        if doc is None:
            self._hay.pop(rid, None)
            self.info.pop(rid, None)
            self.archived.discard(rid)
        else:
            self._hay[rid] = self.haystack(doc)
            self.info[rid] = _info(doc)
            if doc.get("archived"):
                self.archived.add(rid)
            else:
                self.archived.discard(rid)
        self._last = None

    def __len__(self) -> int:
        """How many residents are indexed."""
        return len(self._hay)

    def search(self, query: str) -> list[str]:
        """Ids of residents matching every word of ``query`` (all of them when empty)."""
        q = " ".join(query.lower().split())
        if not q:
            return list(self._hay)
        terms = q.split(" ")
        last = self._last
        if last is not None and q.startswith(last[0]):
            # Typing on only lengthens words or adds words: narrow the previous hits.
            candidates: Iterable[str] = last[1]
        else:
            candidates = self._hay
        hay = self._hay
        if len(terms) == 1:
            term = terms[0]
            hits = [rid for rid in candidates if term in hay.get(rid, "")]
        else:
            hits = [rid for rid in candidates if all(w in hay.get(rid, "") for w in terms)]
        self._last = (q, hits)
        return hits


def _info(doc: dict[str, Any]) -> tuple[str, str, tuple[str, ...]]:
    return (doc.get("name", ""), doc.get("community", ""), tuple(doc.get("tags") or ()))


def naive_search(residents: Iterable[tuple[str, dict[str, Any]]], query: str) -> list[str]:
    """The baseline: build each resident's text (incl. pinyin via pypinyin) per query."""
    from pypinyin import Style, lazy_pinyin

    q = query.lower()
    hits = []
    for rid, doc in residents:
        name = doc.get("name", "")
        text = " ".join(
            [
                name,
                "".join(lazy_pinyin(name)),
                "".join(lazy_pinyin(name, style=Style.FIRST_LETTER)),
                doc.get("address", ""),
                doc.get("community", ""),
            ]
        ).lower()
        if q in text:
            hits.append(rid)
    return hits
