"""The last-writer-wins fold, in memory (no files, no keys): any order of delivery and
any duplication give the same records; a preview is exactly what applying gives."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from fieldapp.domain.ops import Op, make_op_id
from fieldapp.store.fold import Fold

RIDS = [f"019a0000-0000-7000-8000-{i:012d}" for i in range(3)]
DEVICES = ["aaaa", "bbbb", "cccc"]
INTS = st.integers(-(2**63), 2**63 - 1)

ops = st.lists(
    st.builds(
        lambda rid, field, value, hlc, device: Op(
            make_op_id(hlc, device), "resident", rid, field, value, hlc, device, None
        ),
        st.sampled_from(RIDS),
        st.sampled_from(["name", "notes", "tags"]),
        st.one_of(st.text(max_size=3), INTS, st.lists(INTS, max_size=2)),  # what a commit allows
        st.integers(1, 8),  # few stamps: ties between devices and values happen
        st.sampled_from(DEVICES),
    ),
    max_size=25,
)


def folded(batches: list[list[Op]]) -> Fold:
    fold = Fold()
    for batch in batches:
        fold.apply(batch)
    return fold


@settings(max_examples=300, deadline=None)
@given(ops, st.randoms(use_true_random=False), st.integers(1, 4))
def test_any_order_any_duplication_any_batching_same_records(
    history: list[Op], rnd: random.Random, batches: int
) -> None:
    expected = folded([history]).docs
    again = history + rnd.sample(history, k=min(3, len(history)))
    rnd.shuffle(again)
    cuts = sorted(rnd.randrange(len(again) + 1) for _ in range(batches - 1))
    split = [again[a:b] for a, b in zip([0, *cuts], [*cuts, len(again)], strict=True)]
    assert folded(split).docs == expected


@settings(max_examples=200, deadline=None)
@given(ops, ops)
def test_a_preview_is_what_applying_gives_and_changes_nothing(
    first: list[Op], then: list[Op]
) -> None:
    fold = folded([first])
    before = {rid: dict(doc) for rid, doc in fold.docs.items()}
    preview = fold.preview(then)
    assert fold.docs == before  # nothing changed
    touched = fold.apply(then)
    assert preview == touched


@given(ops)
def test_the_last_writer_wins_by_hlc_then_device(history: list[Op]) -> None:
    fold = folded([history])
    for rid in {op.record_id for op in history}:
        for name in {op.field for op in history if op.record_id == rid}:
            on_field = [op for op in history if op.record_id == rid and op.field == name]
            top = max(op.stamp for op in on_field)
            values = [op.value for op in on_field if op.stamp == top]
            assert fold.docs[rid][name] in values
            assert fold.author(rid, name) == top[1] and fold.stamp(rid, name) == top[0]


def test_packed_stamps_survive_a_reload() -> None:
    fold = folded(
        [[Op(make_op_id(5, "aaaa"), "resident", RIDS[0], "name", "张三", 5, "aaaa", None)]]
    )
    again = Fold()
    again.load(fold.rows(), fold.devices, 2)
    assert again.docs == fold.docs and again.author(RIDS[0], "name") == "aaaa"
    assert again.base_of(RIDS[0], "name") == make_op_id(5, "aaaa")
