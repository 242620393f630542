"""Schedule exports: round trips through every encoding, LLaDA's block split, errors."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import unmask
from unmask import export as E
from unmask.schedules import families as S


@st.composite
def schedules(draw: st.DrawFn, max_n: int = 200) -> unmask.Schedule:
    n = draw(st.integers(1, max_n))
    cuts = draw(st.sets(st.integers(1, n - 1), max_size=min(n - 1, 60))) if n > 1 else set()
    b = [0, *sorted(cuts), n]
    return unmask.Schedule([b[i + 1] - b[i] for i in range(len(b) - 1)])


def llada_num_transfer_tokens(mask_num: int, steps: int) -> list[int]:
    """LLaDA's get_num_transfer_tokens for one row, rewritten from its description."""
    base = mask_num // steps
    remainder = mask_num % steps
    out = np.full(steps, base, dtype=np.int64)
    out[:remainder] += 1
    return out.tolist()


@given(schedules())
def test_round_trips(s: unmask.Schedule) -> None:
    n, k = s.n, s.steps
    assert E.counts_per_step(s) == list(s.sizes)
    assert unmask.Schedule.from_cumulative(E.cumulative_unmasked(s), n=n) == s
    assert unmask.Schedule.from_cumulative(E.cumulative_unmasked(s, include_start=True)) == s
    assert unmask.Schedule.from_mask_ratios(E.remaining_mask_ratios(s), n) == s
    assert [n - m for m in E.remaining_masked(s)] == E.cumulative_unmasked(s)
    t, a = E.alpha_knots(s)
    assert t.shape == a.shape == (k + 1,)
    assert S.from_alpha_values(a, n) == s
    assert S.from_curve(E.alpha_function(s), n, k) == s  # the piecewise-linear curve
    assert E.from_dict(json.loads(json.dumps(E.to_dict(s)))) == s


@given(schedules())
def test_dict_encodings_are_consistent(s: unmask.Schedule) -> None:
    d = E.to_dict(s)
    for key in ("counts_per_step_unmasked", "cumulative_unmasked", "remaining_mask_ratio"):
        assert E.from_dict({"n": s.n, key: d[key]}) == s
    counts = np.array(d["counts_per_step_unmasked"])
    np.testing.assert_array_equal(np.cumsum(counts), d["cumulative_unmasked"])
    np.testing.assert_allclose(
        1 - np.array(d["cumulative_unmasked"]) / s.n, d["remaining_mask_ratio"], atol=1e-15
    )
    np.testing.assert_allclose(np.diff(np.array(d["alpha_unmasked_fraction"])) * s.n, counts)


@given(schedules(max_n=60))
def test_alpha_function_interpolates(s: unmask.Schedule) -> None:
    alpha = E.alpha_function(s)
    k = s.steps
    mid = (np.arange(k) + 0.5) / k
    expected = (s.boundaries[:-1] + 0.5 * np.array(s.sizes)) / s.n
    np.testing.assert_allclose(alpha(mid), expected, atol=1e-12)
    assert float(alpha(0.0)) == 0.0 and float(alpha(1.0)) == 1.0


@given(schedules())
def test_csv_matches_the_other_exports(s: unmask.Schedule) -> None:
    rows = list(csv.DictReader(io.StringIO(E.to_csv(s))))
    assert [int(r["step"]) for r in rows] == list(range(1, s.steps + 1))
    assert [int(r["unmasked_at_step"]) for r in rows] == list(s.sizes)
    assert [int(r["cumulative_unmasked"]) for r in rows] == E.cumulative_unmasked(s)
    assert [int(r["remaining_masked"]) for r in rows] == E.remaining_masked(s)
    assert [float(r["remaining_mask_ratio"]) for r in rows] == E.remaining_mask_ratios(s)
    assert [float(r["alpha_unmasked_fraction"]) for r in rows] == E.alpha_knots(s)[1][1:].tolist()


@given(schedules(max_n=30), st.integers(1, 6))
def test_blocks_round_trip(block: unmask.Schedule, m: int) -> None:
    full = E.tile_blocks(block, m)
    assert full.n == m * block.n and full.steps == m * block.steps
    assert E.split_blocks(full, block.n) == [list(block.sizes)] * m
    d = E.to_dict(full, block_width=block.n)
    assert d["counts_per_block"] == [list(block.sizes)] * m


@given(st.integers(1, 8), st.integers(1, 64), st.data())
def test_llada_block_counts(num_blocks: int, width: int, data: st.DataObject) -> None:
    per_block = data.draw(st.integers(1, width))
    n = num_blocks * width
    rows = E.llada_block_counts(n, per_block * num_blocks, block_width=width)
    assert rows == [llada_num_transfer_tokens(width, per_block)] * num_blocks


def test_export_errors() -> None:
    with pytest.raises(ValueError, match="block width 3 does not divide n = 8"):
        E.split_blocks([4, 4], 3)
    with pytest.raises(ValueError, match="straddles the block boundary at 4"):
        E.split_blocks([3, 2, 3], 4)
    with pytest.raises(ValueError, match="block_width must be a positive integer"):
        E.split_blocks([4, 4], 0)
    with pytest.raises(ValueError, match="num_blocks must be a positive integer"):
        E.tile_blocks([2, 1], 0)
    with pytest.raises(ValueError, match="not a multiple of the number of blocks"):
        E.llada_block_counts(8, 3, block_width=4)
    with pytest.raises(ValueError, match="does not divide"):
        E.llada_block_counts(10, 4, block_width=4)
    with pytest.raises(ValueError, match="steps per block > block width"):
        E.llada_block_counts(8, 10, block_width=4)
    with pytest.raises(ValueError, match="t contains NaN"):
        E.alpha_function([2, 2])(float("nan"))
    with pytest.raises(ValueError, match="no schedule encoding found"):
        E.from_dict({"n": 4})
    with pytest.raises(ValueError, match="needs 'n'"):
        E.from_dict({"remaining_mask_ratio": [0.5, 0.0]})
    with pytest.raises(ValueError, match="sum to 5, not to n = 4"):
        E.from_dict({"n": 4, "counts_per_step_unmasked": [3, 2]})
    with pytest.raises(ValueError, match="at least one token"):
        E.counts_per_step([2, 0, 1])


@pytest.mark.parametrize(
    "module", ["unmask.schedules.families", "unmask.schedules.bounds", "unmask.export.encodings"]
)
def test_docstring_examples_run(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 10
    assert result.failed == 0
