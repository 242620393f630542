"""Optimal-schedule solver against brute force, the plain numpy DP and closed forms."""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import unmask
import unmask._validation as validation
from unmask import CostMatrix, Profile, Schedule, _core
from unmask.testing import profiles

sys.path.insert(0, str(Path(__file__).resolve().parent))
from oracle_dp import (
    brute_force_optimum,
    compositions,
    plain_dp,
    plain_frontier,
    schedule_cost_direct,
)

LOG2 = math.log(2.0)
METHODS = ["lagrangian", "layers", "plain"]


def close(a: float, b: float, rel: float = 1e-9) -> bool:
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


def h_from_f(f: np.ndarray, h_last: float = 0.0) -> np.ndarray:
    return np.concatenate([np.cumsum(f[::-1])[::-1], [0.0]]) + h_last


def integer_profile(seed: int, n: int) -> np.ndarray:
    """Profiles with exactly representable, heavily tied costs (the splice path of Aliens)."""
    rng = np.random.default_rng(seed)
    f = rng.integers(0, 3, size=n - 1).astype(np.float64) * (rng.random(n - 1) < 0.5)
    return h_from_f(f)


# -- exactness against brute force and the plain DP -------------------------------------------


@given(prof=profiles(min_n=1, max_n=12), k_fraction=st.floats(0.0, 1.0))
@example(prof=Profile.from_f([1.0, 2.0, 0.0, 2.0, 0.0, 1.0, 0.0]), k_fraction=0.5)
def test_optimum_equals_brute_force(prof: Profile, k_fraction: float) -> None:
    n = prof.n
    k = 1 + min(n - 1, int(k_fraction * n))
    for h in (prof.h, integer_profile(int(k_fraction * 1000), n) if n > 1 else prof.h):
        best, _ = brute_force_optimum(h, k)
        for method in METHODS:
            sched, info = unmask.optimal_schedule(h, k, method=method, return_info=True)
            assert sched.steps == k and sched.n == n
            assert info.method == method
            assert close(schedule_cost_direct(h, sched.sizes), best)
            assert close(info.cost, best)


@given(prof=profiles(min_n=2, max_n=300))
def test_frontier_equals_plain_numpy_dp(prof: Profile) -> None:
    n = prof.n
    max_k = min(n, 40)
    oracle = plain_frontier(prof.h, max_k)
    for method in ("layers", "plain"):
        fr = unmask.optimal_frontier(prof, max_k, schedules=True, method=method)
        np.testing.assert_allclose(fr.costs, oracle, rtol=1e-9, atol=1e-9)
        for k in (1, max_k // 2 + 1, max_k):
            assert fr.schedule(k).steps == k
            assert close(schedule_cost_direct(prof.h, fr.schedule(k).sizes), oracle[k - 1])


@given(prof=profiles(min_n=2, max_n=300), data=st.data())
def test_lagrangian_equals_plain_dp(prof: Profile, data: st.DataObject) -> None:
    k = data.draw(st.integers(1, prof.n))
    want, _ = plain_dp(prof.h, k)
    sched, info = unmask.optimal_schedule(prof, k, return_info=True)
    assert info.method == "lagrangian" and sched.steps == k and not info.fallback
    assert close(info.cost, want)
    assert close(unmask.expected_kl(prof, sched), want)


@pytest.mark.parametrize("seed", range(6))
def test_lagrangian_with_exact_ties_equals_layer_dp(seed: int) -> None:
    # Integer f makes many step counts tie for the same penalty: the exact-recovery splice runs.
    n = 40
    h = integer_profile(seed, n)
    fr = unmask.optimal_frontier(h, n, method="layers")
    spliced = 0
    for k in range(1, n + 1):
        sched, info = unmask.optimal_schedule(h, k, return_info=True)
        assert sched.steps == k
        assert close(info.cost, fr.cost(k))
        assert close(schedule_cost_direct(h, sched.sizes), fr.cost(k))
        spliced += info.spliced
    assert spliced > 0


def test_lagrangian_on_larger_profile_matches_layers() -> None:
    n = 3000
    h = h_from_f(1.0 / np.arange(1, n) ** 1.5, 0.1)
    fr = unmask.optimal_frontier(h, 64)
    for k in (2, 7, 31, 64):
        sched, info = unmask.optimal_schedule(h, k, return_info=True)
        assert sched.steps == k and close(info.cost, fr.cost(k))


def test_costs_are_accurate_under_a_large_offset() -> None:
    # g is invariant under h -> h + c; with c = 1e4 the prefix sums reach 5e7 while the optimal
    # cost is 0.06: the reported cost must still match the term-by-term fsum oracle.
    n = 5000
    h = h_from_f(1.0 / np.arange(1, n) ** 2)
    shifted_h = h + 1e4
    for k in (16, 200):
        _, base = unmask.optimal_schedule(h, k, return_info=True)
        sched, shifted = unmask.optimal_schedule(shifted_h, k, return_info=True)
        assert close(shifted.cost, schedule_cost_direct(shifted_h, sched.sizes), 1e-12)
        # The shift itself rounds h by up to 1e-12 per entry, hence the looser comparison.
        assert abs(base.cost - shifted.cost) <= 1e-7 * base.cost


def test_penalised_core_path_is_optimal_for_its_penalty() -> None:
    h = h_from_f(np.random.default_rng(3).exponential(size=59))
    oracle = plain_frontier(h, 60)
    for penalty in (0.0, 0.01, 0.3, 2.0, 100.0):
        for prefer_more in (False, True):
            bounds = _core.schedule_penalised(h, penalty, prefer_more)
            k = bounds.size - 1
            value = schedule_cost_direct(h, np.diff(bounds).tolist()) + penalty * k
            assert close(value, float(np.min(oracle + penalty * np.arange(1, 61))))


# -- closed forms (theory section 9) ----------------------------------------------------------


def test_section9_sanity_numbers() -> None:
    n, k = 400, 16
    f2 = Profile.from_f(1.0 / np.arange(1, n) ** 2)
    f1 = Profile.from_f(1.0 / np.arange(1, n))
    s2, i2 = unmask.optimal_schedule(f2, k, return_info=True)
    s1, i1 = unmask.optimal_schedule(f1, k, return_info=True)
    assert round(i2.cost, 4) == 0.8385
    assert round(i1.cost, 3) == 46.366
    assert round(unmask.expected_kl(f2, Schedule.constant(n, k)), 2) == 36.84
    assert round(unmask.expected_kl(f1, Schedule.constant(n, k)), 2) == 105.30
    assert close(unmask.expected_kl(f2, s2), i2.cost)
    assert close(unmask.expected_kl(f1, s1), i1.cost)


@pytest.mark.parametrize("n", [2, 5, 9])
def test_all_equal_law_closed_form(n: int) -> None:
    # E KL = (s_1 - 1) log q: the optimum is (n-1) log q for K = 1 and 0 (s_1 = 1) otherwise.
    joint = unmask.joints.all_equal(n, 3)
    fr = unmask.optimal_frontier(joint, n, schedules=True)
    assert close(fr.cost(1), (n - 1) * math.log(3))
    np.testing.assert_allclose(fr.costs[1:], 0.0, atol=1e-12)
    for k in range(2, n + 1):
        assert fr.schedule(k).sizes[0] == 1
        sched = unmask.optimal_schedule(joint, k)
        assert sched.sizes[0] == 1


@pytest.mark.parametrize("n", [3, 6, 8])
def test_parity_law_closed_form(n: int) -> None:
    # E KL = log 2 if s_K >= 2, else 0.
    joint = unmask.joints.parity(n)
    for k in range(1, n + 1):
        sched, info = unmask.optimal_schedule(joint, k, return_info=True)
        if k == 1:
            assert close(info.cost, LOG2)
        else:
            assert sched.sizes[-1] == 1 and abs(info.cost) <= 1e-12


@given(prof=profiles(min_n=2, max_n=120))
def test_frontier_non_increasing_and_convex(prof: Profile) -> None:
    costs = unmask.optimal_frontier(prof, prof.n).costs
    tol = 1e-9 * max(1.0, float(costs[0]))
    assert np.all(np.diff(costs) <= tol)
    assert np.all(np.diff(costs, 2) >= -tol)
    assert abs(costs[-1]) <= tol  # K = n: every block has one token, g(a, a+1) = 0


def test_results_do_not_depend_on_threads() -> None:
    # n large enough for the layer DP to split its columns across threads.
    h = h_from_f(np.random.default_rng(5).exponential(size=40_000 - 1))
    one = unmask.optimal_frontier(h, 5, schedules=True, threads=1)
    two = unmask.optimal_frontier(h, 5, schedules=True, threads=2)
    np.testing.assert_array_equal(one.costs, two.costs)
    assert one.schedules == two.schedules
    small = h[:2500]
    p1 = unmask.optimal_frontier(small, 3, method="plain", threads=1)
    p2 = unmask.optimal_frontier(small, 3, method="plain", threads=2)
    np.testing.assert_array_equal(p1.costs, p2.costs)


# -- non-monotone curves ----------------------------------------------------------------------


def bumpy_h(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    h = h_from_f(rng.exponential(size=n - 1), 0.2)
    return h + rng.normal(0, 0.5, size=n).clip(-0.2, None)


@pytest.mark.parametrize("seed", range(3))
def test_nonmonotone_projection(seed: int) -> None:
    h = bumpy_h(seed, 60)
    assert not Profile(h).is_monotone
    proj = Profile(h).monotone().h
    for k in (1, 5, 17):
        sched, info = unmask.optimal_schedule(h, k, return_info=True)
        assert info.projected and not info.monotone and info.method == "lagrangian"
        want, _ = plain_dp(proj, k)
        assert close(info.cost, want)
        assert close(schedule_cost_direct(proj, sched.sizes), want)
    fr = unmask.optimal_frontier(h, 20)
    assert fr.projected and "projected" in repr(fr)
    np.testing.assert_allclose(fr.costs, plain_frontier(proj, 20), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_nonmonotone_plain_dp_on_raw_curve(seed: int) -> None:
    h = bumpy_h(seed, 50)
    for k in (1, 4, 13):
        sched, info = unmask.optimal_schedule(h, k, nonmonotone="plain", return_info=True)
        assert info.method == "plain" and not info.projected and not info.monotone
        want, _ = plain_dp(h, k)
        assert close(info.cost, want)
        assert close(schedule_cost_direct(h, sched.sizes), want)
    fr = unmask.optimal_frontier(h, 10, nonmonotone="plain")
    assert fr.method == "plain" and not fr.projected
    np.testing.assert_allclose(fr.costs, plain_frontier(h, 10), rtol=1e-9, atol=1e-12)


def test_nonmonotone_errors() -> None:
    h = bumpy_h(0, 30)
    with pytest.raises(ValueError, match="not non-increasing"):
        unmask.optimal_schedule(h, 3, nonmonotone="raise")
    with pytest.raises(ValueError, match="not non-increasing"):
        unmask.optimal_frontier(h, 3, nonmonotone="raise")
    with pytest.raises(ValueError, match="needs a non-increasing h"):
        unmask.optimal_schedule(h, 3, method="lagrangian", nonmonotone="plain")
    with pytest.raises(ValueError, match="needs a non-increasing h"):
        unmask.optimal_frontier(h, 3, method="layers", nonmonotone="plain")


# -- bad input --------------------------------------------------------------------------------


def test_step_count_errors() -> None:
    h = h_from_f(np.ones(9))
    with pytest.raises(ValueError, match="exceeds n = 10"):
        unmask.optimal_schedule(h, 11)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        unmask.optimal_schedule(h, 0)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        unmask.optimal_schedule(h, -3)
    with pytest.raises(ValueError, match="max_steps = 12 exceeds n = 10"):
        unmask.optimal_frontier(h, 12)
    with pytest.raises(ValueError, match="max_steps must be >= 1"):
        unmask.optimal_frontier(h, 0)
    with pytest.raises(TypeError, match="steps must be an int"):
        unmask.optimal_schedule(h, 2.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="steps must be an int"):
        unmask.optimal_schedule(h, True)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_h_rejected(bad: float) -> None:
    h = h_from_f(np.ones(5))
    h[2] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        unmask.optimal_schedule(h, 2)
    with pytest.raises(ValueError, match="NaN or infinite"):
        unmask.optimal_frontier(h, 2)


def test_option_errors() -> None:
    h = h_from_f(np.ones(5))
    with pytest.raises(ValueError, match="method must be one of"):
        unmask.optimal_schedule(h, 2, method="smawk")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="method must be one of"):
        unmask.optimal_frontier(h, 2, method="lagrangian")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="nonmonotone must be one of"):
        unmask.optimal_schedule(h, 2, nonmonotone="ignore")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must be non-negative"):
        unmask.optimal_schedule(-h, 2)


def test_memory_is_checked_before_the_parent_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validation, "available_memory_bytes", lambda: 10_000)
    h = h_from_f(np.ones(999))
    with pytest.raises(MemoryError, match="parent table for K=64, n=1000"):
        unmask.optimal_schedule(h, 64, method="layers")
    with pytest.raises(MemoryError, match=r"frontier for K=1\.\.64, n=1000"):
        unmask.optimal_frontier(h, 64, schedules=True)


def test_frontier_object() -> None:
    fr = unmask.optimal_frontier([1.0, 0.5, 0.25, 0.0], 3)
    assert len(fr) == 3 and fr.n == 4 and fr.steps.tolist() == [1, 2, 3]
    assert fr.schedules is None and fr.method == "layers" and fr.monotone
    assert "OptimalFrontier(n=4, K=1..3, method='layers'" in repr(fr)
    with pytest.raises(ValueError, match="schedules were not kept"):
        fr.schedule(2)
    with pytest.raises(ValueError, match=r"steps must be in 1\.\.3"):
        fr.cost(4)


# -- fixed-order costs (theory section 4) -----------------------------------------------------


def fixed_order_kl_direct(probs: np.ndarray, order: list[int], sizes: tuple[int, ...]) -> float:
    """KL(p || q_sigma) with exact conditionals, by building q_sigma on the full grid."""
    n = probs.ndim
    q = np.ones_like(probs)
    start = 0
    for s in sizes:
        known = order[:start]
        p_known = probs.sum(axis=tuple(v for v in range(n) if v not in known), keepdims=True)
        for j in order[start : start + s]:
            axes = tuple(v for v in range(n) if v not in known and v != j)
            p_joint = probs.sum(axis=axes, keepdims=True)
            with np.errstate(divide="ignore", invalid="ignore"):
                q = q * np.where(p_known > 0, p_joint / p_known, 0.0)
        start += s
    mask = probs > 0
    return math.fsum((probs[mask] * np.log(probs[mask] / q[mask])).tolist())


@pytest.mark.parametrize("seed", range(4))
def test_fixed_order_costs_match_direct_kl(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 4
    probs = rng.dirichlet(np.full(2**n, 0.3)).reshape((2,) * n)
    order = rng.permutation(n).tolist()
    cm = unmask.fixed_order_costs(probs, order)
    assert cm.order == tuple(order) and cm.n == n
    for k in range(1, n + 1):
        for comp in compositions(n, k):
            assert close(cm.schedule_cost(comp), fixed_order_kl_direct(probs, order, comp), 1e-8)


def test_fixed_order_costs_average_to_random_order_costs() -> None:
    # Averaging the fixed-order block cost over all orders gives g(a, b) of the profile (sec. 5).
    probs = np.random.default_rng(7).dirichlet(np.full(81, 0.5)).reshape((3,) * 4)
    prof = unmask.profile(probs)
    mats = [unmask.fixed_order_costs(probs, o).matrix for o in itertools.permutations(range(4))]
    mean = np.mean(mats, axis=0)
    for a in range(4):
        for b in range(a + 1, 5):
            assert close(mean[a, b], unmask.schedules.cost.block_cost(prof, a, b), 1e-10)


@pytest.mark.parametrize("seed", range(4))
def test_fixed_order_dp_equals_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 7
    probs = rng.dirichlet(np.full(2**n, 0.2)).reshape((2,) * n)
    cm = unmask.fixed_order_costs(probs, rng.permutation(n))
    fr = unmask.optimal_frontier(cm, n, schedules=True)
    assert fr.method == "plain" and not fr.monotone
    for k in range(1, n + 1):
        best = min(cm.schedule_cost(c) for c in compositions(n, k))
        sched, info = unmask.optimal_schedule(cm, k, return_info=True)
        assert info.method == "plain" and sched.steps == k
        assert close(info.cost, best) and close(cm.schedule_cost(sched), best)
        assert close(fr.cost(k), best) and close(cm.schedule_cost(fr.schedule(k)), best)


def test_cost_matrix_errors() -> None:
    with pytest.raises(ValueError, match=r"shape \(n\+1, n\+1\)"):
        CostMatrix(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"shape \(n\+1, n\+1\)"):
        CostMatrix(np.zeros((1, 1)))
    bad = np.zeros((4, 4))
    bad[0, 2] = np.nan
    with pytest.raises(ValueError, match="must be finite"):
        CostMatrix(bad)
    cm = CostMatrix(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="needs a profile"):
        unmask.optimal_schedule(cm, 2, method="lagrangian")
    with pytest.raises(ValueError, match="exceeds n = 3"):
        unmask.optimal_schedule(cm, 4)
    with pytest.raises(ValueError, match="schedule is for n = 2"):
        cm.schedule_cost([1, 1])
    with pytest.raises(ValueError, match=r"permutation of 0\.\.2"):
        unmask.fixed_order_costs(unmask.joints.all_equal(3, 2), [0, 0, 1])


# -- against the schedule families (unmask.schedules) -----------------------------------------


@given(prof=profiles(min_n=2, max_n=200), k_fraction=st.floats(0.0, 1.0))
def test_optimum_beats_every_family(prof: Profile, k_fraction: float) -> None:
    n = prof.n
    k = 1 + min(n - 1, int(k_fraction * min(n, 32)))
    fr = unmask.optimal_frontier(prof, n)
    assert unmask.schedules.get("optimal", prof, k) == unmask.optimal_schedule(prof, k)
    for name in unmask.schedules.FAMILIES:
        # every family builds exactly k steps for 1 <= k <= n (no error to skip)
        built = unmask.schedules.get(name, prof, k)
        law = built if isinstance(built, unmask.CompositionLaw) else [(1.0, built)]
        for _, sched in law:
            assert sched.steps == k and sched.n == n, (name, sched)
            cost = unmask.expected_kl(prof, sched)
            assert fr.cost(sched.steps) <= cost + 1e-9 * max(1.0, cost), (name, sched)


@pytest.mark.parametrize("method", ["plain", "layers"])
def test_ctrl_c_interrupts_a_long_frontier(method: str) -> None:
    import _thread
    import threading

    # Several seconds of work either way (plain: O(K n^2); layers: O(K n log n)).
    n, k = (20_000, 200) if method == "plain" else (200_000, 1000)
    h = h_from_f(1.0 / np.arange(1, n))
    timer = threading.Timer(0.2, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            unmask.optimal_frontier(h, k, method=method, threads=1)  # type: ignore[arg-type]
    finally:
        timer.cancel()


def test_lagrangian_falls_back_to_layers_when_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    import unmask.schedules.solver as solver

    h = h_from_f(1.0 / np.arange(1, 500))
    want = plain_frontier(h, 20)[-1]
    monkeypatch.setattr(solver, "_LAGRANGIAN_MAX_ITERATIONS", 1)
    sched, info = unmask.optimal_schedule(h, 20, return_info=True)
    assert info.fallback and info.method == "layers" and sched.steps == 20
    assert close(info.cost, want)
    # The capped core still returns a valid 20-step (spliced, possibly suboptimal) schedule.
    bounds, cost, iters, spliced, _, converged = _core.schedule_lagrangian(h, 20, 1)
    assert iters == 1 and spliced and not converged and bounds.size == 21
    assert cost >= want - 1e-12


@given(profiles(min_n=12, max_n=12), st.sampled_from([(4, 3), (6, 2), (3, 2), (6, 4), (2, 1)]))
def test_optimal_block_schedule_against_brute_force(p, shape) -> None:
    from oracle_dp import compositions, schedule_cost_direct

    width, per_block = shape
    blocks = 12 // width
    got = unmask.optimal_block_schedule(p, per_block * blocks, block_width=width)
    allowed = []
    for sizes in compositions(12, per_block * blocks):
        ends = np.cumsum(sizes)
        inside = [
            int(np.sum((ends > width * b) & (ends <= width * (b + 1)))) for b in range(blocks)
        ]
        if all(c == per_block for c in inside) and all(
            width * b in {0, *ends} for b in range(blocks)
        ):
            allowed.append(sizes)
    assert got.sizes in set(allowed)
    best = min(schedule_cost_direct(p.h, s) for s in allowed)
    assert schedule_cost_direct(p.h, got.sizes) == pytest.approx(best, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    ("steps", "width", "message"),
    [
        (5, 4, "not a multiple of the number of blocks"),
        (9, 5, "3 steps per block > block width 2"),  # widths 5, 5, 2
        (24, 4, "8 steps per block > block width 4"),
        (0, 4, "steps must be a positive integer"),
        (6, True, "block_width must be a positive integer"),
    ],
)
def test_optimal_block_schedule_errors(steps, width, message) -> None:
    h = np.linspace(1.0, 0.0, 12)
    with pytest.raises(ValueError, match=message):
        unmask.optimal_block_schedule(h, steps, block_width=width)
    with pytest.raises(ValueError, match="not non-increasing"):
        unmask.optimal_block_schedule([0.1, 0.5, 0.2, 0.0], 2, 2, nonmonotone="raise")
