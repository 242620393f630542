"""Blockwise schedules (theory section 10): the BlockSchedule type and LLaDA's per-block rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import unmask
from unmask import BlockSchedule, Schedule


def llada_counts(width: int, spb: int) -> list[int]:
    """LLaDA's get_num_transfer_tokens for one block, written out step by step (oracle)."""
    counts = [width // spb] * spb
    for k in range(width % spb):
        counts[k] += 1
    return counts


def test_exports() -> None:
    assert unmask.BlockSchedule is BlockSchedule
    assert unmask.schedules.BlockSchedule is BlockSchedule
    assert "BlockSchedule" in unmask.__all__


def test_attributes() -> None:
    bs = BlockSchedule([[2, 2], [3, 1], [1]])
    assert bs.blocks == [[2, 2], [3, 1], [1]]
    assert bs.widths == [4, 4, 1]
    assert bs.steps == 5
    assert bs.n == 9
    assert bs.flat == Schedule([2, 2, 3, 1, 1])
    assert bs.starts.tolist() == [0, 4, 8, 9]
    assert bs.steps_per_block == [2, 2, 1]
    # blocks is a copy: mutating it does not change the schedule
    bs.blocks[0][0] = 99
    assert bs.blocks[0] == [2, 2]


def test_equality_hash_repr() -> None:
    a = BlockSchedule([[2, 2], [3, 1]])
    b = BlockSchedule([(2, 2), Schedule([3, 1])])
    c = BlockSchedule([[2, 2, 3, 1]])
    assert a == b and hash(a) == hash(b)
    assert a != c  # same flat schedule, different blocks
    assert a.flat == c.flat
    assert len({a, b, c}) == 2
    assert repr(a) == "BlockSchedule([[2, 2], [3, 1]], n=8, steps=4)"
    assert eval(repr(a).split(", n=")[0] + ")", {"BlockSchedule": BlockSchedule}) == a
    big = BlockSchedule([[1] * 20] * 20)
    assert "..." in repr(big) and len(repr(big)) < 200


@given(
    st.integers(1, 12).flatmap(
        lambda nb: st.tuples(
            st.just(nb), st.integers(1, 6), st.integers(1, 10), st.integers(0, 9)
        )
    )
)
def test_llada_rule(args: tuple[int, int, int, int]) -> None:
    nb, spb, width, short = args
    width = max(width, spb)
    last = width if short == 0 or nb == 1 else max(spb, min(width, short))
    n = width * (nb - 1) + last
    bs = BlockSchedule.llada(n, nb * spb, width)
    expected_widths = [width] * (nb - 1) + [last]
    if last == width:
        assert bs.widths == [width] * nb
    else:
        assert bs.widths == expected_widths
    assert bs.n == n and bs.steps == nb * spb
    for w, block in zip(bs.widths, bs.blocks, strict=True):
        assert block == llada_counts(w, spb)


def test_llada_examples() -> None:
    assert BlockSchedule.llada(8, 4, 4).blocks == [[2, 2], [2, 2]]
    assert BlockSchedule.llada(10, 4, 5).blocks == [[3, 2], [3, 2]]
    assert BlockSchedule.llada(10, 6, 4).blocks == [[2, 2], [2, 2], [1, 1]]
    assert BlockSchedule.llada(6, 3, 6).blocks == [[2, 2, 2]]


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((8, 3, 4), "steps = 3 is not a multiple of the number of blocks 2"),
        ((8, 2, 16), "block_width = 16 exceeds n = 8"),
        ((8, 10, 4), "5 steps per block exceed the 4 positions of block 0"),
        ((9, 6, 4), "2 steps per block exceed the 1 positions of block 2"),
        ((0, 1, 1), "n must be a positive integer"),
        ((8, 0, 4), "steps must be a positive integer"),
        ((8, 2, 0), "block_width must be a positive integer"),
    ],
)
def test_llada_errors(args: tuple[int, int, int], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        BlockSchedule.llada(*args)


def test_constructor_errors() -> None:
    with pytest.raises(ValueError, match="at least one block"):
        BlockSchedule([])
    with pytest.raises(ValueError, match="block 1 is empty"):
        BlockSchedule([[1], []])
    with pytest.raises(ValueError, match="block 0: every step must unmask at least one"):
        BlockSchedule([[0, 2]])
    with pytest.raises(ValueError, match=r"block widths \[2, 2\] sum to 4, not to n = 5"):
        BlockSchedule([[2], [1, 1]], n=5)
    with pytest.raises(ValueError, match="block 0 must be a list"):
        BlockSchedule([3, 4])
    with pytest.raises(ValueError, match="sum to 3, not to its width 4"):
        BlockSchedule.from_widths([4], [[2, 1]])
    assert BlockSchedule.from_widths([4, 2], [[2, 2], [2]]).blocks == [[2, 2], [2]]
