"""Profile and Schedule objects: validation, encodings, PAVA against brute force."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import unmask
from unmask.profiles.profile import pava_nonincreasing
from unmask.testing import compositions, profiles


@pytest.mark.parametrize(
    ("h", "match"),
    [
        ([], "length n >= 1"),
        ([[1.0]], "1-d"),
        ([1.0, np.nan], "NaN"),
        ([1.0, -0.5], "non-negative"),
    ],
)
def test_profile_rejects_bad_curves(h: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        unmask.Profile(h)


def test_profile_band_and_units() -> None:
    p = unmask.Profile([1.0, 0.8, 0.9], stderr=[0.1, 0.1, 0.2], source="estimate")
    assert not p.is_monotone
    np.testing.assert_allclose(p.lower, [0.804, 0.604, 0.508])
    m = p.monotone()
    assert m.is_monotone and m.lower is not None and "monotone" in m.source
    # weights 1/se^2 = 100, 25: pooled mean (0.8*100 + 0.9*25)/125 = 0.82
    np.testing.assert_allclose(m.h, [1.0, 0.82, 0.82])
    bits = p.in_base(2)
    np.testing.assert_allclose(bits.h, p.h / math.log(2))
    assert bits.unit == "bits" and p.unit == "nats"
    with pytest.raises(ValueError, match="stderr must have the shape"):
        unmask.Profile([1.0, 0.5], stderr=[0.1])
    assert "Profile(n=3" in repr(p)


def _brute_force_isotonic(y: np.ndarray, w: np.ndarray) -> float:
    """Least-squares over all non-increasing step functions with levels from block means."""
    n = len(y)
    best = math.inf
    for cuts in itertools.chain.from_iterable(
        itertools.combinations(range(1, n), k) for k in range(n)
    ):
        bounds = [0, *cuts, n]
        means = [np.average(y[a:b], weights=w[a:b]) for a, b in zip(bounds, bounds[1:])]
        if all(x >= z for x, z in zip(means, means[1:])):
            fit = np.concatenate([[m] * (b - a) for m, a, b in zip(means, bounds, bounds[1:])])
            best = min(best, float((w * (y - fit) ** 2).sum()))
    return best


@given(st.lists(st.floats(0, 10), min_size=1, max_size=7), st.data())
def test_pava_is_the_least_squares_projection(ys: list[float], data: st.DataObject) -> None:
    y = np.array(ys)
    w = np.array(data.draw(st.lists(st.floats(0.1, 5), min_size=len(ys), max_size=len(ys))))
    fit = pava_nonincreasing(y, w)
    assert np.all(np.diff(fit) <= 1e-12)
    loss = float((w * (y - fit) ** 2).sum())
    assert loss <= _brute_force_isotonic(y, w) + 1e-9


@given(profiles(max_n=40))
def test_profile_identities_from_h(p: unmask.Profile) -> None:
    i = np.arange(p.n - 1)
    assert math.isclose(p.tc, float(((p.n - 1 - i) * p.f).sum()), rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(p.dtc, float(((i + 1) * p.f).sum()), rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(p.entropy, float(p.cumulative[-1]), rel_tol=1e-12, abs_tol=1e-12)
    assert p.is_monotone


# -- Schedule --------------------------------------------------------------------------------


@given(st.integers(1, 30).flatmap(lambda n: compositions(n)))
def test_schedule_encodings_round_trip(s: unmask.Schedule) -> None:
    assert unmask.Schedule.from_counts(s.counts()) == s
    assert unmask.Schedule.from_cumulative(s.cumulative()) == s
    assert unmask.Schedule.from_cumulative(s.boundaries) == s  # a leading 0 is accepted
    assert unmask.Schedule.from_mask_ratios(s.mask_ratios(), s.n) == s
    assert s.boundaries[0] == 0 and s.boundaries[-1] == s.n
    assert [a for a, _ in s.blocks()] == s.boundaries[:-1].tolist()
    assert s.mask_ratios()[-1] == 0.0


def test_schedule_constant_follows_llada() -> None:
    # LLaDA: masked // steps each, remainder added to the first steps
    assert unmask.Schedule.constant(10, 4).sizes == (3, 3, 2, 2)
    assert unmask.Schedule.constant(8, 8).sizes == (1,) * 8
    with pytest.raises(ValueError, match="1 <= steps <= n"):
        unmask.Schedule.constant(4, 5)


@pytest.mark.parametrize(
    ("sizes", "kwargs", "match"),
    [
        ([], {}, "non-empty"),
        ([2, 0, 1], {}, "at least one token"),
        ([2, -1], {}, "at least one token"),
        ([1.5, 1], {}, "integers"),
        ([True, True], {}, "booleans"),
        (["a"], {}, "integers"),
        ([2, 2], {"n": 5}, "sum to 4, not to n = 5"),
    ],
)
def test_schedule_rejects_bad_sizes(sizes: list, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        unmask.Schedule(sizes, **kwargs)


def test_schedule_other_constructors_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        unmask.Schedule.from_cumulative([2, 2, 4])
    with pytest.raises(ValueError, match="last remaining-mask ratio must be 0"):
        unmask.Schedule.from_mask_ratios([0.5, 0.25], 4)
    with pytest.raises(ValueError, match="non-increasing"):
        unmask.Schedule.from_mask_ratios([0.25, 0.5, 0.0], 4)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        unmask.Schedule.from_mask_ratios([1.5, 0.0], 4)
    assert unmask.Schedule.from_counts([2, 0, 2], drop_zeros=True).sizes == (2, 2)
    with pytest.raises(ValueError, match="at least one token"):
        unmask.Schedule.from_counts([2, 0, 2])
    s = unmask.Schedule([1] * 20)
    assert "..." in repr(s) and s.max_size == 1 and len(s) == 20 and s[3] == 1


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        # review 3: each of these was accepted (silently wrong) or failed with a numpy message
        (lambda: unmask.Schedule.constant(4.5, 2), ValueError, "n must be a positive integer"),
        (lambda: unmask.Schedule.constant("4", 2), ValueError, "n must be a positive integer"),
        (lambda: unmask.Schedule.constant(4, 2.7), ValueError, "steps must be a positive integer"),
        (lambda: unmask.Schedule.constant(True, 1), ValueError, "n must be a positive integer"),
        (lambda: unmask.Schedule.constant(4, 0), ValueError, "steps must be a positive integer"),
        (lambda: unmask.Schedule.constant(10**18, 10**18), MemoryError, "10+ steps needs about"),
        (lambda: unmask.Schedule([True, 1]), ValueError, "booleans"),
        (lambda: unmask.Schedule([1e300]), ValueError, "integers"),
        (lambda: unmask.Schedule([1], n=True), ValueError, "n must be a positive integer"),
        (lambda: unmask.Schedule([1, 1], n=2.0), ValueError, "n must be a positive integer"),
        (lambda: unmask.Schedule.from_cumulative(["a"]), TypeError, "integers, got dtype"),
        (lambda: unmask.Schedule.from_cumulative([True]), ValueError, "booleans"),
        (lambda: unmask.Schedule.from_mask_ratios([0.5, 0.0], 0), ValueError, "n must be a"),
        (lambda: unmask.Schedule.from_mask_ratios([0.5, 0.0], 2.5), ValueError, "n must be a"),
        (lambda: unmask.Schedule.from_mask_ratios(["a"], 4), ValueError, "real numbers"),
        (lambda: unmask.BernoulliSizes([False, True], 3), ValueError, "alpha must be real"),
        (lambda: unmask.BernoulliSizes(["0", "1"], 3), ValueError, "alpha must be real"),
        (lambda: unmask.CompositionLaw(3), TypeError, "sequence of schedules, got int"),
        (lambda: unmask.CompositionLaw("ab"), TypeError, "sequence of schedules, got str"),
    ],
)
def test_schedule_constructors_reject_bad_types(call, exc, match) -> None:
    with pytest.raises(exc, match=match):
        call()


def test_composition_law_weight_errors_do_not_suggest_a_missing_option() -> None:
    with pytest.raises(ValueError, match=r"sums to 0.4, not 1 \(tolerance 1e-09\)$"):
        unmask.CompositionLaw([[1, 1], [2]], [0.2, 0.2])
    assert unmask.Schedule.constant(np.int64(6), np.int32(4)).sizes == (2, 2, 1, 1)


def test_repr_states_the_unit_of_every_summary() -> None:
    # found by a new user: TC and DTC were printed without their unit
    bits = unmask.profile(unmask.joints.all_equal(4, 2), base=2)
    text = repr(bits)
    # all-equal on 4 bits: H = 1, TC = 4 - 1 = 3, DTC = 1 - 0 = 1 bit (theory section 9)
    assert "H=1 bits" in text and "TC=3 bits" in text and "DTC=1 bits" in text


def test_summary_n_is_an_int() -> None:
    summary = unmask.profile(unmask.joints.parity(4)).summary()
    assert type(summary["n"]) is int and summary["n"] == 4


def test_mask_ratios_are_correctly_rounded_like_every_encoding() -> None:
    from fractions import Fraction

    from unmask.export import encodings

    for sizes in ([1, 2, 4], [3, 3, 1], [1] * 7, [5, 1, 1, 2, 1, 3]):
        sched = unmask.Schedule(sizes)
        n = sched.n
        exact = [float(Fraction(n - int(c), n)) for c in sched.cumulative()]
        assert sched.mask_ratios().tolist() == exact  # 1 - 6/7 rounds to 0.8571428571428572
        assert encodings.remaining_mask_ratios(sched) == exact


def test_repr_prints_round_off_as_zero() -> None:
    prof = unmask.profile(unmask.joints.independent([[0.3, 0.7]] * 5))
    assert abs(prof.tc) < 1e-13  # exact value 0, up to round-off of the lattice sums
    assert "TC=0 nats, DTC=0 nats" in repr(prof)
    assert "TC=0.693147 nats" in repr(unmask.profile(unmask.joints.parity(6)))
