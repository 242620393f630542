"""Review of issue 4 (solver, families, bounds, exports): bad inputs and independent oracles."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import unmask
import unmask._validation as validation
from unmask import CostMatrix, Profile, Schedule
from unmask import export as E
from unmask.schedules import bounds as B
from unmask.schedules import families as S

sys.path.insert(0, str(Path(__file__).resolve().parent))
from oracle_dp import compositions, plain_frontier


@pytest.fixture
def little_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend only 1 MiB is free: anything sized by a huge K or n must be refused up front."""
    monkeypatch.setattr(validation, "available_memory_bytes", lambda: 1 << 20)


# -- h curves of the wrong kind -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("h", "dtype"),
    [
        (np.array([True, False, False]), "bool"),
        (["1.0", "0.5", "0.0"], "<U3"),
        (np.array([1.0 + 1.0j, 0.5, 0.0]), "complex128"),
        (np.array([1.0, 0.5, 0.0], dtype=object), "object"),
    ],
)
def test_non_numeric_h_is_rejected(h: object, dtype: str) -> None:
    # before: bool and str curves were silently converted to numbers and solved
    for call in (
        lambda: unmask.optimal_schedule(h, 2),
        lambda: unmask.optimal_frontier(h, 2),
        lambda: S.sqrt_rule(h, 2),
        lambda: B.all_bounds(h, [2, 1]),
    ):
        with pytest.raises(TypeError, match=f"real numeric array, got dtype {dtype}"):
            call()


def test_h_whose_sum_overflows_is_rejected() -> None:
    # before: the prefix sums overflowed and SolverInfo.cost was NaN ("plain" even raised an
    # unrelated "boundaries must increase" error from the reconstruction)
    h = np.linspace(1e308, 0.0, 10)
    for method in ("lagrangian", "layers", "plain"):
        with pytest.raises(ValueError, match="h is too large"):
            unmask.optimal_schedule(h, 3, method=method)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="h is too large"):
        B.all_bounds(h, [5, 5])


def test_largest_accepted_h_gives_finite_costs() -> None:
    # n * max h just below the float64 limit: every method returns a finite, equal optimum
    n = 8
    h = np.linspace(1.0, 0.0, n) * (1e308 / n)
    costs = [
        unmask.optimal_schedule(h, 3, method=m, return_info=True)[1].cost  # type: ignore[arg-type]
        for m in ("lagrangian", "layers", "plain")
    ]
    assert all(math.isfinite(c) for c in costs)
    assert costs[0] == pytest.approx(costs[1], rel=1e-12) == pytest.approx(costs[2], rel=1e-12)


# -- cost matrices and fixed orders ---------------------------------------------------------------


def test_cost_matrix_rejects_non_numeric_and_non_int_indices() -> None:
    with pytest.raises(TypeError, match="real numeric array, got dtype bool"):
        CostMatrix(np.ones((3, 3), dtype=bool))
    with pytest.raises(TypeError, match="real numeric array"):
        CostMatrix([["a", "b"], ["c", "d"]])
    cm = CostMatrix(np.zeros((4, 4)))
    with pytest.raises(TypeError, match="a must be an int, got float"):
        cm.cost(0.5, 2)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="b must be an int, got bool"):
        cm.cost(0, True)
    assert cm.cost(np.int64(0), np.int32(3)) == 0.0


def test_fixed_order_rejects_non_integer_orders() -> None:
    joint = unmask.joints.parity(3)
    # before: [0.5, 1, 2] was truncated to the permutation [0, 1, 2]
    with pytest.raises(ValueError, match="order must be a 1-d sequence of ints"):
        unmask.fixed_order_costs(joint, [0.5, 1, 2])
    with pytest.raises(ValueError, match="order must be a 1-d sequence of ints"):
        unmask.fixed_order_costs(joint, [True, False, True])
    with pytest.raises(ValueError, match="order must be a 1-d sequence of ints"):
        unmask.fixed_order_costs(joint, [[0, 1, 2]])
    assert unmask.fixed_order_costs(joint, np.array([2, 0, 1])).order == (2, 0, 1)


# -- huge K or n is refused before allocating -----------------------------------------------------


def test_families_refuse_huge_step_counts_before_allocating(little_memory: None) -> None:
    # before: from_curve("linear", 10**9, 10**9) was killed by the OOM killer
    with pytest.raises(MemoryError, match="masking-curve grid with 1000000000 steps"):
        S.from_curve("linear", 10**9, 10**9)
    with pytest.raises(MemoryError, match="masking-curve grid"):
        S.alpha_grid("cosine", 10**12)
    with pytest.raises(MemoryError, match="a schedule with 100000000 steps"):
        S.constant(10**9, 10**8)
    for family in (S.geometric_unmasked, S.geometric_masked, S.two_sided_geometric):
        with pytest.raises(MemoryError, match="a schedule with"):
            family(10**9, 10**8)
    with pytest.raises(MemoryError, match="DTC schedule for n=1000000000, eps=0"):
        S.geometric_unmasked(10**9, eps=0.0)
    with pytest.raises(MemoryError, match="TC schedule for n=1000000000, eps=1e-09"):
        S.geometric_masked(10**9, eps=1e-9)
    with pytest.raises(MemoryError, match="a schedule with"):
        S.randomized(10**9, 10**8)
    with pytest.raises(MemoryError, match="tiling 10000000000 blocks"):
        E.tile_blocks([1], 10**10)
    with pytest.raises(MemoryError, match="LLaDA block counts"):
        E.llada_block_counts(10**10, 10**10)


def test_few_steps_at_huge_n_need_little_memory(little_memory: None) -> None:
    # O(K) memory whatever n: before, randomized() tabulated a CDF on 4n + 1 points (30 GiB at
    # n = 1e9) and a large-eps geometric schedule was sized by n
    n = 10**9
    law = S.randomized(n, 6, phases=4)
    assert all(s.n == n and s.steps == 6 for s in law.schedules)
    assert S.geometric_unmasked(n, eps=0.5).n == n
    assert S.geometric_masked(n, 8).steps == 8
    assert S.from_curve("cosine", n, 16).steps == 16


# -- randomized: closed-form quantiles ------------------------------------------------------------


@given(st.integers(2, 5000), st.floats(0.0, 1.0))
@example(n=1000, u=0.5)
def test_two_sided_quantiles_invert_the_cdf(n: int, u: float) -> None:
    # oracle: the CDF of rho(x) = 1 / min(x + 1, n - x + 1) by adaptive quadrature (scipy)
    from scipy.integrate import quad

    def rho(t: float) -> float:
        return 1.0 / min(t + 1.0, n - t + 1.0)

    def mass(a: float, b: float) -> float:
        mid = 0.5 * n  # the kink of rho
        parts = [(a, min(b, mid)), (max(a, mid), b)]
        return math.fsum(quad(rho, lo, hi, epsabs=1e-13)[0] for lo, hi in parts if hi > lo)

    x = float(S._two_sided_quantiles(n, np.array([u]))[0])
    assert 0.0 <= x <= n * (1 + 1e-12)
    assert mass(0.0, x) / mass(0.0, float(n)) == pytest.approx(u, abs=1e-9)


def test_randomized_members_are_symmetric_in_the_phase() -> None:
    # rho is symmetric about n/2, so phase theta and 1 - theta give mirrored schedules (up to
    # the rounding of halves): cuts x(u) and n - x(1 - u)
    n, k = 1001, 9
    for theta in (0.1, 0.25, 0.4):
        a = S._phase_schedule(n, k, theta)
        b = S._phase_schedule(n, k, 1.0 - theta)
        assert np.max(np.abs(np.array(a.sizes) - np.array(b.sizes[::-1]))) <= 1


# -- schedule families: wrong types ---------------------------------------------------------------


def test_geometric_eps_types() -> None:
    with pytest.raises(TypeError, match="eps must be a real number, got bool"):
        S.geometric_unmasked(10, eps=True)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="eps must be a real number, got str"):
        S.geometric_masked(10, eps="0.5")  # type: ignore[arg-type]
    assert S.two_sided_geometric(20, eps=np.float64(0.5)) == S.two_sided_geometric(20, eps=0.5)


@given(st.integers(1, 3000), st.floats(1e-6, 5.0))
@example(n=30, eps=5e-324)  # log1p(eps) underflows the bound to inf: was an OverflowError
def test_greedy_step_count_bound_used_for_the_memory_check(n: int, eps: float) -> None:
    # the memory check sizes eps-mode schedules by K <= 4 + 2 log(n + 1) / log(1 + eps)
    bound = 4.0 + 2.0 * math.log(n + 1.0) / math.log1p(eps) if eps > 0 else math.inf
    for family in (S.geometric_unmasked, S.geometric_masked, S.two_sided_geometric):
        sched = family(n, eps=eps)
        assert sched.n == n and sched.steps <= min(n, bound)


def test_alpha_values_must_be_real_numbers() -> None:
    with pytest.raises(TypeError, match="alpha values must be real numbers, got dtype bool"):
        S.from_alpha_values([False, True], 10)
    with pytest.raises(TypeError, match="alpha values must be real numbers"):
        S.from_curve(lambda u: np.array(["a"] * len(u)), 10, 2)


def test_registry_rejects_what_it_would_ignore() -> None:
    # before: get("dtc", 10, 2, eps=0.5) silently ignored eps and returned the K = 2 schedule
    with pytest.raises(TypeError, match=r"'dtc' takes no parameters here, got \['eps'\]"):
        S.get("dtc", 10, 2, eps=0.5)
    with pytest.raises(TypeError, match="'constant' takes no parameters"):
        S.get("constant", 10, 2, exponent=2.0)
    with pytest.raises(TypeError, match="family name must be a str, got int"):
        S.get(3, 10, 2)  # type: ignore[arg-type]
    # before: a float n reached the joint-law constructor ("needs at least one variable")
    with pytest.raises(TypeError, match=r"an int n or a profile / h curve, got float 10\.0"):
        S.get("constant", 10.0, 2)
    with pytest.raises(TypeError, match="got bool"):
        S.get("linear", True, 1)
    assert S.get("power", 50, 4, exponent=3.0) == S.from_curve("power", 50, 4, exponent=3.0)


# -- bounds ---------------------------------------------------------------------------------------


def test_sqrt_prediction_step_range_and_types() -> None:
    prof = Profile.from_f([0.5, 0.2, 0.1])
    with pytest.raises(ValueError, match="steps must be >= 1 and at most n = 4, got 5"):
        B.sqrt_rule_prediction(prof, 5)
    with pytest.raises(TypeError, match="got bool"):
        B.sqrt_rule_prediction(prof, True)
    assert B.sqrt_rule_prediction(prof, np.int64(2)) == B.sqrt_rule_prediction(prof, [2, 2])


def test_eps_of_a_law_is_a_clear_error() -> None:
    law = unmask.CompositionLaw([[2, 2], [1, 3]], [0.5, 0.5])
    for fn in (B.tc_eps, B.dtc_eps):
        with pytest.raises(TypeError, match="one schedule, not a CompositionLaw"):
            fn(law)


def test_non_monotone_profile_bounds_are_the_formulas_on_the_raw_curve() -> None:
    # refused by default; with nonmonotone="plain" the exact row is the identity on the raw
    # curve, by the term-by-term oracle (negative), and no rigorous row claims to hold
    h = np.array([0.1, 0.5, 0.2, 0.0])
    assert not Profile(h).is_monotone
    with pytest.raises(ValueError, match="not non-increasing"):
        B.all_bounds(h, [2, 2])
    table = B.all_bounds(h, [2, 2], nonmonotone="plain")
    raw = (0.1 - 0.1) + (0.1 - 0.5) + (0.2 - 0.2) + (0.2 - 0.0)
    assert table.exact == pytest.approx(raw, abs=1e-15) and table.exact < 0
    assert all(r.holds is None for r in table)
    assert "not a KL" in table["exact"].source
    projected = B.all_bounds(Profile(h).monotone(), [2, 2])
    assert projected.exact >= 0
    assert all(r.holds for r in projected if r.kind == "rigorous")


@given(st.integers(2, 9), st.data())
def test_tc_dtc_bounds_against_an_independent_weight_oracle(n: int, data: st.DataObject) -> None:
    # E KL = sum_l w(l) f(l) (section 6) evaluated with w built by hand, on a random profile;
    # the bounds must dominate it and the identity must equal it
    f = np.array(data.draw(st.lists(st.floats(0.0, 1.0), min_size=n - 1, max_size=n - 1)))
    prof = Profile.from_f(f)
    k = data.draw(st.integers(1, n))
    sizes = data.draw(st.sampled_from(list(compositions(n, k))))
    w, i = [], 0
    for s in sizes:
        w.extend(i + s - 1 - pos for pos in range(i, i + s))
        i += s
    weights = np.array(w[: n - 1], dtype=np.float64)
    exact = math.fsum((weights * f).tolist())
    ell = np.arange(n - 1)
    tc = math.fsum(((n - 1 - ell) * f).tolist())
    dtc = math.fsum(((ell + 1) * f).tolist())
    tol = 1e-12 * max(1.0, exact)
    assert B.exact(prof, sizes) == pytest.approx(exact, abs=tol)
    assert B.tc_bound(prof, sizes) >= exact - tol
    assert B.dtc_bound(prof, sizes) >= exact - tol
    assert B.tc_bound(prof, sizes) == pytest.approx(B.tc_eps(sizes) * tc, abs=1e-12)
    assert B.dtc_bound(prof, sizes) == pytest.approx(B.dtc_eps(sizes) * dtc, abs=1e-12)


# -- exports --------------------------------------------------------------------------------------


def test_from_dict_validates_its_input() -> None:
    with pytest.raises(TypeError, match="needs a dict"):
        E.from_dict([2, 2])  # type: ignore[arg-type]
    # before: n = "4" gave "schedule sizes sum to 4, not to n = 4"
    with pytest.raises(ValueError, match="n must be a positive integer, got '4'"):
        E.from_dict({"n": "4", "counts_per_step_unmasked": [2, 2]})
    # before: n = 4.7 was truncated to 4
    with pytest.raises(ValueError, match=r"n must be a positive integer, got 4\.7"):
        E.from_dict({"n": 4.7, "remaining_mask_ratio": [0.5, 0.0]})
    assert E.from_dict({"n": np.int64(4), "remaining_mask_ratio": [0.5, 0.0]}) == [2, 2]


# -- solver: frontier and single K against the plain numpy DP on structured curves ----------------


@pytest.mark.parametrize("offset", [0.0, 1.0, 1e3])
def test_solver_on_flat_and_step_profiles(offset: float) -> None:
    # flat stretches (many exact ties) and a single jump: every K against the plain numpy DP
    n = 48
    for f in (np.zeros(n - 1), np.eye(1, n - 1, 20).ravel(), np.repeat([0.3, 0.0, 0.1], 16)[:-1]):
        h = np.concatenate([np.cumsum(f[::-1])[::-1], [0.0]]) + offset
        want = plain_frontier(h, n)
        got = unmask.optimal_frontier(h, n).costs
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9 * max(1.0, offset))
        for k in range(1, n + 1):
            sched, info = unmask.optimal_schedule(h, k, return_info=True)
            assert sched.steps == k
            assert abs(info.cost - want[k - 1]) <= 1e-9 * max(1.0, offset)


def test_schedule_of_a_frontier_is_a_schedule() -> None:
    fr = unmask.optimal_frontier(Profile.from_f(1.0 / np.arange(1, 30) ** 2), 5, schedules=True)
    assert all(isinstance(s, Schedule) for s in fr.schedules or ())


def test_frontier_memory_check_counts_the_schedules(monkeypatch: pytest.MonkeyPatch) -> None:
    # K = n = 4000 with schedules: the int32 table is 64 MB but the 4000 schedules hold 8e6
    # sizes (~320 MB of Python objects); with 128 MiB free it must be refused up front
    monkeypatch.setattr(validation, "available_memory_bytes", lambda: 128 << 20)
    h = np.linspace(1.0, 0.0, 4000)
    with pytest.raises(MemoryError, match=r"frontier for K=1\.\.4000, n=4000"):
        unmask.optimal_frontier(h, 4000, schedules=True)
    assert unmask.optimal_frontier(h[:400], 400, schedules=True).max_steps == 400


def test_threads_are_validated_whatever_the_method() -> None:
    # before: the Lagrangian path (the default) ignored threads=-1 or threads=1.5 silently
    h = np.linspace(1.0, 0.0, 20)
    with pytest.raises(ValueError, match="threads must be >= 1, got -1"):
        unmask.optimal_schedule(h, 3, threads=-1)
    with pytest.raises(TypeError, match="threads must be an int or None, got float"):
        unmask.optimal_schedule(h, 3, threads=1.5)  # type: ignore[arg-type]


def test_reconstruct_refuses_a_corrupt_parent_table() -> None:
    # before: a parent outside 0..b-1 was followed, reading outside the table's buffer
    from unmask import _core

    with pytest.raises(IndexError, match="corrupt parent table: layer 2 points from 10 to 99"):
        _core.schedule_reconstruct(np.full((2, 11), 99, dtype=np.int32), 10, 2)
    with pytest.raises(IndexError, match="layer 2 points from 10 to -1"):
        _core.schedule_reconstruct(np.full((2, 11), -1, dtype=np.int32), 10, 2)
    table = np.zeros((2, 11), dtype=np.int32)
    table[1, 10] = 4
    assert _core.schedule_reconstruct(table, 10, 2).tolist() == [0, 4, 10]


@pytest.mark.parametrize(
    ("arr", "detail"),
    [
        (np.linspace(1.0, 0.0, 6)[:, None], r"shape \(6, 1\).*must have shape \(q,\)\*n"),
        (np.ones((5, 5)), r"shape \(5, 5\).*sums to 25\.0, not 1"),
        (np.array(0.5), r"shape \(\).*at least one variable"),
    ],
)
def test_a_2d_h_gets_a_message_about_profiles(arr: object, detail: str) -> None:
    # before: only the joint-law reading was mentioned ("the alphabet size q must be >= 2")
    for call in (lambda: unmask.optimal_schedule(arr, 1), lambda: B.all_bounds(arr, [1])):
        with pytest.raises(ValueError, match=r"expected a profile \(a 1-d h curve.*" + detail):
            call()


def test_a_str_h_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="real numeric array, got dtype <U3"):
        unmask.optimal_schedule("abc", 1)


def test_cumulative_counts_must_be_numbers() -> None:
    # before: [True, 2] was read as [1, 2]; ["a", 2] failed inside numpy's isfinite
    with pytest.raises(ValueError, match="cumulative counts must be integers, got booleans"):
        E.from_dict({"cumulative_unmasked": [True, False]})
    with pytest.raises(TypeError, match="cumulative counts must be integers, got dtype <U"):
        E.from_dict({"cumulative_unmasked": ["a", "2"]})
    assert Schedule.from_cumulative(np.array([2.0, 3.0])) == [2, 1]
