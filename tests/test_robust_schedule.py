"""Robust schedules from noisy evidence, judged by true cost; sample budgets; cost intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from oracle_models import markov_model, markov_sampler

import unmask
from unmask.profiles.budget import _merge_points, _points, evidence_from_halves, merge_evidence
from unmask.profiles.evidence import Evidence, EvidencePoints
from unmask.schedules.robust import blend, cost_weights, estimate_gain
from unmask.testing import compositions

STICKY = np.array([[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9]])


def _direct_cost(h: np.ndarray, sizes: tuple[int, ...]) -> float:
    total, a = 0.0, 0
    for s in sizes:
        total += math.fsum((h[a] - h[a : a + s]).tolist())
        a += s
    return total


# -- the linear cost functional and the blend -----------------------------------------------
@given(data=st.data(), n=st.integers(1, 40))
def test_cost_is_linear_in_h(data, n) -> None:  # type: ignore[no-untyped-def]
    sched = data.draw(compositions(n))
    h = np.sort(np.asarray(data.draw(st.lists(st.floats(0, 5), min_size=n, max_size=n))))[::-1]
    w = cost_weights(sched)
    assert float(w @ h) == pytest.approx(_direct_cost(h, sched.sizes), rel=1e-9, abs=1e-9)


@given(data=st.data(), n=st.integers(2, 60), t=st.floats(0.0, 1.0))
def test_blend_is_a_schedule_between_its_ends(data, n, t) -> None:  # type: ignore[no-untyped-def]
    k = data.draw(st.integers(1, n))
    other = data.draw(compositions(n, min_steps=k, max_steps=k))
    const = unmask.Schedule.constant(n, k)
    mixed = blend(const, other, t)
    assert mixed.n == n and mixed.steps == k and min(mixed.sizes) >= 1
    lo = np.minimum(const.boundaries, other.boundaries)
    hi = np.maximum(const.boundaries, other.boundaries)
    assert np.all(mixed.boundaries >= lo) and np.all(mixed.boundaries <= hi)
    assert blend(const, other, 0.0) == const and blend(const, other, 1.0) == other


# -- robust choice, judged by the true cost -------------------------------------------------
def _markov_estimate(n: int, spl: int, seed: int) -> unmask.Profile:
    return unmask.estimate_profile(markov_model(STICKY, n), markov_sampler(STICKY, n), n,
                                   samples_per_level=spl, seed=seed)


@pytest.mark.parametrize("k", [4, 8])
def test_model_estimate_never_loses_to_constant(k: int) -> None:
    n = 32
    truth = unmask.markov_profile(STICKY, n)
    const = unmask.expected_kl(truth, unmask.Schedule.constant(n, k))
    best = unmask.expected_kl(truth, unmask.optimal_schedule(truth, k))
    costs = []
    for seed in range(4):
        prof = _markov_estimate(n, 64, seed)
        sched = unmask.optimal_schedule(prof, k)  # robust by default on an estimate
        assert sched == unmask.robust_schedule(prof, k).schedule
        costs.append(unmask.expected_kl(truth, sched))
    assert max(costs) <= 1.05 * const
    assert np.mean(costs) <= const
    assert np.mean(costs) <= best + 0.5 * (const - best)  # and it does gain


def test_no_signal_returns_the_constant_schedule() -> None:
    # h linear in i (f constant): the constant schedule is exactly optimal, and every other
    # schedule is worse; pure noise around it must not move the choice
    n, k = 64, 8
    x = np.arange(n, dtype=float)
    truth = 2.0 - x / n
    const = unmask.Schedule.constant(n, k)
    rng = np.random.default_rng(3)
    for _ in range(5):
        halves = tuple(EvidencePoints(x, truth + rng.normal(0, 0.02, n), np.full(n, 0.02))
                       for _ in range(2))
        pooled = EvidencePoints(x, 0.5 * (halves[0].y + halves[1].y), np.full(n, 0.02 / 2**0.5))
        res = unmask.robust_schedule(Evidence(n, halves, pooled), k)  # type: ignore[arg-type]
        assert _direct_cost(truth, res.schedule.sizes) <= 1.001 * _direct_cost(truth, const.sizes)


def test_exact_evidence_gives_the_optimum() -> None:
    n, k = 128, 16
    truth = unmask.markov_profile(STICKY, n)
    x = np.arange(n, dtype=float)
    pts = EvidencePoints(x, truth.h, np.full(n, 1e-6))
    ev = Evidence(n, (pts, EvidencePoints(x, truth.h, np.full(n, 1e-6))), pts)
    res = unmask.robust_schedule(ev, k)
    best = unmask.expected_kl(truth, unmask.optimal_schedule(truth, k))
    assert unmask.expected_kl(truth, res.schedule) <= 1.02 * best
    assert not res.fallback
    # the estimated costs sit on the true ones (noise-free evidence)
    assert res.constant_cost.value == pytest.approx(
        unmask.expected_kl(truth, res.constant), rel=0.02)
    assert res.cost.value == pytest.approx(unmask.expected_kl(truth, res.schedule), rel=0.02)


def test_intervals_cover_the_true_costs() -> None:
    n, k = 48, 6
    truth = unmask.markov_profile(STICKY, n)
    const = unmask.Schedule.constant(n, k)
    true_const = unmask.expected_kl(truth, const)
    hits = 0
    for seed in range(6):
        prof = _markov_estimate(n, 64, 10 + seed)
        est = unmask.estimate_cost(prof, const)
        assert est.lower <= est.value <= est.upper and est.stderr > 0
        hits += est.lower <= true_const <= est.upper
        res = unmask.robust_schedule(prof, k)
        gain = estimate_gain(prof, res.schedule)
        assert gain.value == pytest.approx(res.constant_cost.value - res.cost.value, abs=1e-9)
    assert hits >= 4


def test_robust_only_for_profiles_with_evidence() -> None:
    truth = unmask.markov_profile(STICKY, 16)
    with pytest.raises(ValueError, match="robust=True needs a profile that carries"):
        unmask.optimal_schedule(truth, 4, robust=True)
    with pytest.raises(TypeError, match="robust_schedule needs evidence"):
        unmask.robust_schedule(truth, 4)
    prof = _markov_estimate(16, 16, 0)
    plain = unmask.optimal_schedule(prof, 4, robust=False)
    assert plain == unmask.optimal_schedule(unmask.Profile(prof.h), 4)
    with pytest.raises(ValueError, match=r"steps must be an integer in 1\.\.n"):
        unmask.robust_schedule(prof, 17)
    with pytest.raises(ValueError, match="gate must be"):
        unmask.robust_schedule(prof, 4, gate=-1.0)


def test_evidence_survives_unit_changes_and_projection() -> None:
    prof = _markov_estimate(16, 16, 1)
    bits = prof.in_base(2)
    assert bits.evidence is not None
    np.testing.assert_allclose(bits.evidence.pooled.y, prof.evidence.pooled.y / math.log(2))
    assert prof.monotone().evidence is prof.evidence


# -- merging and budgets --------------------------------------------------------------------
@given(st.lists(st.floats(-5, 5), min_size=2, max_size=20),
       st.lists(st.floats(-5, 5), min_size=2, max_size=20))
def test_merged_statistics_equal_those_of_all_samples(a, b) -> None:  # type: ignore[no-untyped-def]
    def stats(v: list[float]) -> EvidencePoints:
        arr = np.asarray(v)
        return _points([3.0], [arr.size], [arr.mean()], [float(np.sum((arr - arr.mean()) ** 2))])

    merged = _merge_points(stats(a), stats(b))
    both = np.asarray(a + b)
    assert merged.count is not None and merged.m2 is not None
    assert merged.count[0] == both.size
    assert merged.y[0] == pytest.approx(both.mean(), abs=1e-9)
    assert merged.m2[0] == pytest.approx(float(np.sum((both - both.mean()) ** 2)), abs=1e-7)


def test_estimate_profile_keeps_two_independent_halves() -> None:
    prof = _markov_estimate(12, 9, 2)
    ev = prof.evidence
    assert ev is not None and ev.samples == 12 * 9
    a, b = ev.halves
    assert a.count is not None and b.count is not None
    np.testing.assert_array_equal(a.count + b.count, 9)
    # the pooled mean of the halves is the raw level mean (n <= 128: every level)
    raw = unmask.estimate_profile(markov_model(STICKY, 12), markov_sampler(STICKY, 12), 12,
                                  samples_per_level=9, seed=2, monotone=False)
    np.testing.assert_allclose(ev.pooled.y, raw.h, rtol=1e-12)


def test_budget_is_spent_exactly_and_checked_first() -> None:
    n = 24
    calls: list[int] = []

    def counting_model(values, mask):  # type: ignore[no-untyped-def]
        calls.append(values.shape[0])
        return markov_model(STICKY, n)(values, mask)

    prof = unmask.estimate_evidence(counting_model, markov_sampler(STICKY, n), n, budget=960,
                                    levels=12, steps=4, seed=0)
    assert prof.evidence is not None and prof.evidence.samples <= 960
    assert sum(calls) == prof.evidence.samples >= 900
    with pytest.raises(ValueError, match=r"budget of 40 samples is too small for 12 levels: "
                                         r"at least 4 per level .* = 48"):
        unmask.estimate_evidence(counting_model, markov_sampler(STICKY, n), n, budget=40,
                                 levels=12)
    with pytest.raises(ValueError, match="pilot must lie in"):
        unmask.estimate_evidence(counting_model, markov_sampler(STICKY, n), n, budget=400,
                                 levels=12, pilot=0.0)


def test_merge_evidence_refuses_loss_curves() -> None:
    halves = np.array([[[2, 2], [1.0, 0.5], [0.1, 0.1]], [[2, 2], [1.1, 0.4], [0.1, 0.1]]])
    ev = evidence_from_halves(4, [0, 3], halves)
    assert ev is not None
    r = np.linspace(0.1, 1.0, 8)
    curve = unmask.profile_from_loss_curve(r, 1 + r, 4, fit="interpolate",
                                           extrapolate="constant")
    assert curve.evidence is not None
    with pytest.raises(ValueError, match="only Monte Carlo evidence"):
        merge_evidence(ev, curve.evidence)
    with pytest.raises(ValueError, match="different n"):
        merge_evidence(ev, evidence_from_halves(5, [0, 3], halves))  # type: ignore[arg-type]


@pytest.mark.parametrize("levels", [[3], [0, 9], [0, 4, 9], None])
def test_noise_free_or_sparse_evidence_is_handled(levels) -> None:  # type: ignore[no-untyped-def]
    # a model that is exactly right about fair independent bits: every sample agrees (zero
    # spread), which once broke the banded factorisation (found in review)
    def model(values, mask):  # type: ignore[no-untyped-def]
        return np.full((*values.shape, 2), 0.5)

    data = np.random.default_rng(0).integers(0, 2, (50, 10))
    prof = unmask.estimate_profile(model, data, 10, levels=levels, samples_per_level=8, seed=0)
    res = unmask.robust_schedule(prof, 3)
    # h is flat (independent bits): every schedule costs 0, and nothing beats the constant one
    assert res.fallback and res.schedule == unmask.Schedule.constant(10, 3)
    assert unmask.optimal_schedule(prof, 3) == res.schedule
    assert res.constant_cost.value == pytest.approx(0.0, abs=1e-9)
