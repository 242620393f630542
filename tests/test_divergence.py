from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

import unmask


def _law(draw_values):
    arr = np.asarray(draw_values, dtype=float)
    return arr / arr.sum()


positive_laws = st.lists(st.floats(0.0, 1.0), min_size=2, max_size=12).filter(
    lambda v: sum(v) > 1e-3
)


@settings(max_examples=40)
@given(a=positive_laws, b=positive_laws, base=st.sampled_from([None, 2.0, 10.0]))
def test_kl_matches_scipy(a, b, base):
    m = min(len(a), len(b))
    p = _law(a[:m] if sum(a[:m]) > 1e-3 else [1.0] * m)
    q = _law(b[:m] if sum(b[:m]) > 1e-3 else [1.0] * m)
    want = scipy.stats.entropy(p, q, base=base)
    got = unmask.kl(p, q, base=base)
    if math.isinf(want):
        assert got == math.inf
    else:
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12)
    assert not math.isnan(got)
    assert unmask.reverse_kl(p, q, base=base) == unmask.kl(q, p, base=base)
    assert unmask.tv(p, q) == pytest.approx(0.5 * np.abs(p - q).sum(), abs=1e-15)
    if math.isfinite(got) and base is None:
        assert unmask.tv(p, q) <= math.sqrt(got / 2) + 1e-12  # Pinsker


def test_kl_is_infinite_when_q_misses_support():
    assert unmask.kl([0.5, 0.5, 0.0], [1.0, 0.0, 0.0]) == math.inf
    assert unmask.kl([1.0, 0.0], [0.5, 0.5]) == pytest.approx(math.log(2))
    assert unmask.reverse_kl([1.0, 0.0], [0.5, 0.5]) == math.inf


def test_joint_inputs_and_equal_laws():
    p = unmask.joints.random(3, 2, concentration=0.2, seed=1)
    assert unmask.kl(p, p) == 0.0
    assert unmask.tv(p, p.probs) == 0.0
    assert unmask.kl(p, unmask.joints.all_equal(3, 2)) == math.inf


def test_kl_in_bits():
    assert unmask.kl([0.5, 0.5], [0.25, 0.75], base=2) == pytest.approx(
        0.5 * math.log2(2) + 0.5 * math.log2(2 / 3)
    )


def test_shape_mismatch():
    with pytest.raises(ValueError, match="same shape"):
        unmask.kl(np.full((2, 2), 0.25), np.full(4, 0.25))
    with pytest.raises(ValueError, match="same shape"):
        unmask.tv([0.5, 0.5], [1.0, 0.0, 0.0])


@pytest.mark.parametrize(
    ("p", "q", "match"),
    [
        ([0.5, 0.6], [0.5, 0.5], "p sums to"),
        ([0.5, 0.5], [1.5, -0.5], "q contains negative"),
        ([np.nan, 1.0], [0.5, 0.5], "non-finite"),
    ],
)
def test_bad_laws(p, q, match):
    with pytest.raises(ValueError, match=match):
        unmask.kl(p, q)


def test_bad_base():
    with pytest.raises(ValueError, match="base must be"):
        unmask.kl([0.5, 0.5], [0.5, 0.5], base=1.0)
