"""The best deterministic planner (theory section 12) against independent oracles.

Oracles (tests/oracle_planner.py): every deterministic policy enumerated for n <= 4 with its KL
computed from its simulated law; a top-down Python recursion for n <= 6; closed forms.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from oracle_planner import (
    brute_force_best,
    kl_direct,
    maxprob_policy,
    policy_law,
    recursion_best,
)

import unmask
from unmask.testing import probability_tables

TOL = 1e-10


def _close(a: float, b: float, tol: float = TOL) -> bool:
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= tol * max(1.0, abs(b))


def _zeroed(n: int, q: int, seed: int, fraction: float = 0.3) -> unmask.Joint:
    rng = np.random.default_rng(seed)
    w = rng.gamma(0.5, size=q**n)
    w[rng.random(q**n) < fraction] = 0.0
    if w.sum() == 0:
        w[0] = 1.0
    return unmask.Joint((w / w.sum()).reshape((q,) * n), normalize=True)


TINY_LAWS = {
    "random-4": lambda: unmask.joints.random(4, seed=1),
    "random-4-peaked": lambda: unmask.joints.random(4, concentration=0.2, seed=7),
    "zeros-4": lambda: _zeroed(4, 2, seed=3),
    "parity-4": lambda: unmask.joints.parity(4),
    "ternary-3": lambda: unmask.joints.random(3, 3, seed=2),
    "ternary-zeros-3": lambda: _zeroed(3, 3, seed=5, fraction=0.4),
}


# -- every deterministic policy ----------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(TINY_LAWS))
def test_free_budget_equals_brute_force_over_every_policy(name: str) -> None:
    p = TINY_LAWS[name]()
    for budget in range(1, min(p.n, 3) + 1):
        brute, count = brute_force_best(p.probs, budget=budget)
        assert count >= 1
        best = unmask.optimal_planner(p, budget)
        assert _close(best.kl, brute), (name, budget, best.kl, brute, count)


@pytest.mark.parametrize(("name", "sizes"), [
    ("random-4", (2, 1, 1)), ("random-4", (1, 2, 1)), ("random-4", (2, 2)),
    ("zeros-4", (1, 3)), ("parity-4", (3, 1)), ("ternary-3", (2, 1)),
    ("ternary-zeros-3", (1, 2)),
])
def test_schedule_equals_brute_force_over_every_policy(name: str, sizes: tuple[int, ...]) -> None:
    p = TINY_LAWS[name]()
    brute, count = brute_force_best(p.probs, sizes=sizes)
    best = unmask.optimal_planner(p, unmask.Schedule(sizes))
    assert best.frontier is None
    assert _close(best.kl, brute), (name, sizes, best.kl, brute, count)


@pytest.mark.parametrize(("name", "budget", "width", "sizes"), [
    ("random-4", 2, 2, None), ("random-4", 3, 2, None), ("random-4-peaked", 3, 3, None),
    ("zeros-4", 3, 2, None), ("random-4", None, 2, (1, 1, 2)), ("ternary-3", 2, 2, None),
])
def test_blocks_equal_brute_force_over_every_policy(name: str, budget: int | None, width: int,
                                                     sizes: tuple[int, ...] | None) -> None:
    p = TINY_LAWS[name]()
    brute, _ = brute_force_best(p.probs, budget=budget, sizes=sizes, width=width)
    arg = budget if sizes is None else list(sizes)
    best = unmask.optimal_planner(p, arg, block_width=width)
    assert _close(best.kl, brute), (name, budget, width, best.kl, brute)


def test_full_budget_brute_force_n4() -> None:
    p = unmask.joints.random(4, seed=11)
    brute, count = brute_force_best(p.probs, budget=4)
    assert count == 4335  # every deterministic policy of 4 binary positions
    assert _close(unmask.optimal_planner(p, 4).kl, brute, 1e-9)
    assert unmask.optimal_planner(p, 4).kl == 0.0


# -- an independent recursion up to n = 6 ------------------------------------------------------
@settings(max_examples=12)
@given(st.one_of(probability_tables(min_n=2, max_n=5, max_q=2),
                 probability_tables(min_n=2, max_n=3, min_q=3, max_q=3)),
       st.integers(1, 5))
@example(np.full((2, 2, 2), 0.125), 2)
def test_dp_equals_independent_recursion(table: np.ndarray, budget: int) -> None:
    p = unmask.Joint(table, normalize=True)
    budget = min(budget, p.n)
    best = unmask.optimal_planner(p, budget)
    assert best.frontier is not None
    for k in range(1, budget + 1):
        ref = recursion_best(p.probs, budget=k)
        assert _close(float(best.frontier[k - 1]), ref), (k, best.frontier, ref)


@pytest.mark.parametrize(("n", "q", "steps", "width"), [
    (6, 2, 2, None), (6, 2, 3, None), (6, 2, [2, 2, 2], None), (6, 2, [3, 1, 2], None),
    (6, 2, 3, 3), (6, 2, [1, 2, 1, 2], 3), (4, 3, 2, None), (4, 3, [2, 1, 1], 2),
])
def test_dp_equals_recursion_n6(n: int, q: int, steps: int | list[int], width: int | None) -> None:
    p = unmask.joints.random(n, q, concentration=0.5, seed=n * 10 + q)
    best = unmask.optimal_planner(p, steps, block_width=width)
    if isinstance(steps, int):
        ref = recursion_best(p.probs, budget=steps, width=width)
    else:
        ref = recursion_best(p.probs, sizes=tuple(steps), width=width)
    assert _close(best.kl, ref), (best.kl, ref)


# -- properties ----------------------------------------------------------------------------------
@settings(max_examples=15)
@given(probability_tables(min_n=2, max_n=6, max_q=2))
def test_frontier_monotone_and_zero_at_one_token_per_step(table: np.ndarray) -> None:
    p = unmask.Joint(table, normalize=True)
    best = unmask.optimal_planner(p, p.n + 2)
    front = best.frontier
    assert front is not None and len(front) == p.n + 2
    # ties within 1e-12 go to the larger set (fewer steps), so "equal" means up to that
    assert np.all(np.diff(front) <= 1e-12)
    assert 0.0 <= front[p.n - 1] <= 1e-12  # one token per step samples p exactly
    assert unmask.optimal_planner(p, [1] * p.n).kl == 0.0  # no tie: every set is a singleton
    # K = 1: everything at once, the total correlation of p
    assert _close(float(front[0]), unmask.profile(p).tc, 1e-9)


def test_closed_forms() -> None:
    log2 = math.log(2)
    # all-equal: one position, then the rest copy it
    eq = unmask.joints.all_equal(5, 3)
    assert _close(unmask.optimal_planner(eq, 1).kl, 4 * math.log(3))
    assert unmask.optimal_planner(eq, 2).kl == 0.0
    # parity: n-1 independent fair bits at once, the last is then determined
    par = unmask.joints.parity(5)
    best = unmask.optimal_planner(par, 2)
    assert best.kl == 0.0 and best.policy([-1] * 5, [True] * 5) == (0, 1, 2, 3)
    # while random order with a last step of 2 pays log 2 (theory section 9)
    assert _close(unmask.expected_kl(unmask.profile(par), [3, 2]), log2)
    assert _close(unmask.optimal_planner(par, [3, 2]).kl, log2)
    # independent variables: everything at once is free
    ind = unmask.joints.independent([[0.3, 0.7]] * 4)
    assert unmask.optimal_planner(ind, 1).kl < 1e-15


def test_identity_equals_exact_law_kl() -> None:
    p = unmask.joints.random(6, concentration=0.4, seed=4)
    cases = [(3, None), ([2, 2, 2], None), (4, 2), ([1, 1, 2, 2], 2), ([3, 3], 3)]
    for steps, width in cases:
        best = unmask.optimal_planner(p, steps, block_width=width)
        direct = unmask.kl(p, best.law)
        assert _close(best.kl, direct, 1e-9), (steps, width, best.kl, direct)
        # the identity function on the planner's own policy gives the same number
        assert _close(unmask.planner_kl(p, best.policy), best.kl, 1e-9)
        # the C++ forward pass and the Python one agree on the law
        slow = unmask.planner_law(p, best.policy)
        assert np.max(np.abs(slow.probs - best.law.probs)) < 1e-13


@pytest.mark.parametrize("score", ["confidence", "margin", "entropy"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rule_identity_and_floor(score: str, seed: int) -> None:
    p = unmask.joints.random(5, concentration=0.5, seed=seed)
    sizes = [2, 2, 1]
    policy = unmask.score_policy(p, sizes, score)
    via_identity = unmask.planner_kl(p, policy)
    law = unmask.planner_law(p, policy)
    assert _close(via_identity, unmask.kl(p, law), 1e-9)
    floor = unmask.optimal_planner(p, sizes).kl
    assert floor <= via_identity + 1e-12
    assert unmask.optimal_planner(p, 3).kl <= floor + 1e-12  # free sizes do at least as well


def test_maxprob_identity_against_oracle_law() -> None:
    for seed in range(4):
        p = unmask.joints.random(5, concentration=0.3, seed=seed)
        sizes = (2, 2, 1)
        oracle = kl_direct(p.probs, policy_law(p.probs, maxprob_policy(p.probs, sizes)))
        mine = unmask.planner_kl(p, unmask.score_policy(p, list(sizes), "confidence"))
        assert _close(mine, oracle, 1e-9), (seed, mine, oracle)


def test_learned_conditionals() -> None:
    p = unmask.joints.random(5, concentration=0.5, seed=8)
    p_hat = unmask.joints.random(5, concentration=2.0, seed=9)
    for steps in (2, 3, [2, 2, 1]):
        best = unmask.optimal_planner(p, steps, conditionals=p_hat)
        if isinstance(steps, int):
            ref = recursion_best(p.probs, budget=steps, p_hat=p_hat.probs)
        else:
            ref = recursion_best(p.probs, sizes=tuple(steps), p_hat=p_hat.probs)
        assert _close(best.kl, ref, 1e-9), (steps, best.kl, ref)
        assert _close(unmask.kl(p, best.law), best.kl, 1e-9)
        assert _close(unmask.planner_kl(p, best.policy, conditionals=p_hat), best.kl, 1e-9)
    # learned conditionals can make one token per step cost something
    assert unmask.optimal_planner(p, 5, conditionals=p_hat).kl > 0
    # a tempered copy through the Conditionals object
    cond = unmask.Conditionals.tempered(p, 0.7)
    best = unmask.optimal_planner(p, 3, conditionals=cond)
    assert _close(unmask.kl(p, best.law), best.kl, 1e-9)


def test_learned_zero_gives_inf_not_nan() -> None:
    p = unmask.joints.random(3, seed=2)
    hat = np.zeros((2, 2, 2))
    hat[0, 0, 0] = 1.0
    best = unmask.optimal_planner(p, 2, conditionals=unmask.Joint(hat))
    assert best.kl == math.inf
    assert unmask.kl(p, best.law) == math.inf
    assert unmask.planner_kl(p, best.policy, conditionals=unmask.Joint(hat)) == math.inf


def test_threads_do_not_change_results() -> None:
    p = unmask.joints.random(7, concentration=0.5, seed=12)
    a = unmask.optimal_planner(p, 3, threads=1)
    b = unmask.optimal_planner(p, 3, threads=2)
    assert np.array_equal(a._value, b._value, equal_nan=True)
    assert np.array_equal(a._choice, b._choice)


# -- policy, explain, progress -------------------------------------------------------------------
def test_policy_replay_and_unreached_states() -> None:
    p = unmask.joints.all_equal(3)
    best = unmask.optimal_planner(p, 2)
    first = best.policy([-1, -1, -1], [True, True, True])
    assert len(first) == 1
    j = first[0]
    values = [-1, -1, -1]
    mask = [True, True, True]
    values[j], mask[j] = 1, False
    assert best.policy(values, mask) == tuple(k for k in range(3) if k != j)
    other = (j + 1) % 3
    bad_values = [-1, -1, -1]
    bad_values[other] = 0
    bad_mask = [k != other for k in range(3)]
    with pytest.raises(ValueError, match="never reaches"):
        best.policy(bad_values, bad_mask)
    assert len(best.policy(bad_values, bad_mask, steps_left=1)) == 2
    assert best.policy([0, 0, 0], [False] * 3) == ()
    with pytest.raises(TypeError, match="mask"):
        best.policy([0, 0, 0], [1, 1, 1])
    with pytest.raises(ValueError, match="length 3"):
        best.policy([0, 0], [True, True])


def test_explain_adds_up() -> None:
    p = unmask.joints.random(5, seed=0)
    best = unmask.optimal_planner(p, [2, 2, 1])
    text = best.explain(depth=2)
    lines = text.splitlines()
    assert lines[0].startswith("best planner: KL = ")
    assert lines[1].startswith("step 1: unmask {")
    assert any(line.startswith("step 2 if x") for line in lines)
    with pytest.raises(ValueError, match="depth"):
        best.explain(depth=0)
    assert "Planner(n=5, q=2" in repr(best)


def test_progress_is_reported() -> None:
    calls: list[tuple[float, float]] = []
    unmask.optimal_planner(unmask.joints.random(6, seed=1), 3,
                           progress=lambda d, t: calls.append((d, t)))
    assert calls and calls[-1][0] == calls[-1][1] > 0


# -- bad input -----------------------------------------------------------------------------------
def test_bad_input() -> None:
    p = unmask.joints.random(4, seed=0)
    with pytest.raises(ValueError, match="at least 1 step"):
        unmask.optimal_planner(p, 0)
    with pytest.raises(TypeError):
        unmask.optimal_planner(p, True)
    with pytest.raises(TypeError):
        unmask.optimal_planner(p, "3")
    with pytest.raises(ValueError, match="n = 5 but the joint has n = 4"):
        unmask.optimal_planner(p, unmask.Schedule([2, 2, 1]))
    with pytest.raises(ValueError, match="2 blocks of width 2 need at least 2"):
        unmask.optimal_planner(p, 1, block_width=2)
    with pytest.raises(ValueError, match="crossing a block boundary"):
        unmask.optimal_planner(p, [1, 2, 1], block_width=2)
    with pytest.raises(ValueError, match=r"block_width must be in 1\.\.4"):
        unmask.optimal_planner(p, 2, block_width=5)
    with pytest.raises(ValueError, match=r"needs about .* and an estimated .* s"):
        unmask.optimal_planner(unmask.joints.random(12, seed=0), 6, max_seconds=0.001)
    big = unmask.Joint(np.full((2,) * 20, 2.0**-20))
    with pytest.raises(MemoryError, match=r"needs about .* GiB and about .* s"):
        unmask.optimal_planner(big, 4)
    with pytest.raises(ValueError, match="not masked"):
        unmask.planner_kl(p, lambda values, mask: [0])
    with pytest.raises(ValueError, match="no position"):
        unmask.planner_kl(p, lambda values, mask: [])
    with pytest.raises(ValueError, match="score must be"):
        unmask.score_policy(p, [2, 2], "max")


# -- adaptive rules (cross-check with unmask.adaptive_law) -----------------------------------------
@pytest.mark.parametrize(("rule", "score"), [("max-prob", "confidence"), ("margin", "margin"),
                                             ("entropy", "entropy")])
@pytest.mark.parametrize("seed", [0, 1])
def test_identity_equals_adaptive_rule_exact_law(rule: str, score: str, seed: int) -> None:
    # continuous random weights: no ties, so the adaptive rule is a deterministic planner
    p = unmask.joints.random(4, 3, concentration=0.7, seed=seed)
    sizes = [2, 1, 1]
    exact = unmask.adaptive_law(p, rule, sizes)
    policy = unmask.score_policy(p, sizes, score)
    assert np.max(np.abs(unmask.planner_law(p, policy).probs - exact.law.probs)) < 1e-13
    assert _close(unmask.planner_kl(p, policy), exact.kl, 1e-9)
    assert unmask.optimal_planner(p, sizes).kl <= exact.kl + 1e-12


def test_random_ties_can_beat_the_deterministic_floor() -> None:
    # copy-pair (X0 = X1, X2 independent), sizes (2, 1): the best planner takes an independent
    # pair first, then the copy (KL 0); random order also draws {0, 1} together sometimes
    p = np.zeros((2, 2, 2))
    p[0, 0, :] = p[1, 1, :] = 0.25
    assert unmask.optimal_planner(p, [2, 1]).kl == 0.0
    assert _close(unmask.kl(p, unmask.sampler_law(p, [2, 1])), math.log(6 / 5))
    # the Ising grid is symmetric: its rules tie at the start and mix several planners, and
    # a mixture can go below every deterministic planner (convexity of KL, section 12)
    side = 3
    law = unmask.verification._ising_grid(side, 0.4)
    sched = unmask.optimal_schedule(unmask.profile(law), 2)
    mixed = unmask.adaptive_law(law, "max-prob", sched).kl
    floor = unmask.optimal_planner(law, sched).kl
    assert mixed < floor


# -- verify section, figure and command line ---------------------------------------------------
def test_verify_planner_section() -> None:
    res = unmask.verify(quick=True, laws=["random-1", "copy-pair"], ks=[2, 3])
    assert res.ok
    names = {c.name for c in res.checks}
    assert "best planner: DP value = KL of its law" in names
    assert "best planner <= confidence planner" in names
    law = next(r for r in res.laws if r.name == "random-1")
    strat = law.curves["planners"]["strategies"]
    assert law.curves["planners"]["K"] == [2, 3]
    for i in range(2):
        floor = strat["best planner (floor)"][i]
        assert floor <= strat["random order E KL"][i] + 1e-12
        assert floor <= strat["confidence planner (deterministic)"][i] + 1e-12
    assert "planners" in law.to_dict()["curves"]


def test_plot_planners(tmp_path: object) -> None:
    from unmask.plotting import plot_planners

    fig = plot_planners([1, 2, 3], {"best planner (floor)": [0.5, 0.1, 0.0],
                                    "random order E KL": [0.5, 0.3, None]})
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "best planner (floor)" in labels and "random order E KL" in labels
    with pytest.raises(ValueError, match="has 1 values for 3 steps"):
        plot_planners([1, 2, 3], {"x": [1.0]})


def test_cli_planner() -> None:
    import json

    from click.testing import CliRunner

    from unmask.cli import main

    runner = CliRunner()
    res = runner.invoke(main, ["planner", "random", "--n", "5", "--steps", "3", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    p = unmask.joints.random(5, 2, 0.5, seed=0)
    best = unmask.optimal_planner(p, 3)
    assert _close(out["kl"], best.kl) and _close(out["kl_of_law"], best.kl, 1e-9)
    assert [r["K"] for r in out["frontier"]] == [1, 2, 3]
    assert all(r["best_planner_kl"] <= r["random_order_expected_kl"] + 1e-12
               for r in out["frontier"])
    res = runner.invoke(main, ["planner", "random", "--n", "4", "--sizes", "2,1,1",
                               "--block-width", "2"])
    assert res.exit_code == 0, res.output
    assert "best planner: KL =" in res.output
    for bad in (["--steps", "0"], ["--steps", "1", "--block-width", "2"], ["--sizes", "2,3"],
                [], ["--steps", "2", "--sizes", "2,2"], ["--sizes", "a"]):
        res = runner.invoke(main, ["planner", "random", "--n", "4", *bad])
        assert res.exit_code == 2, (bad, res.output)


def test_an_error_in_progress_stops_the_dp() -> None:
    # the callback runs inside the C++ poll (with the GIL); its exception cancels the DP and
    # reaches the caller unchanged, as Ctrl-C does
    class Stop(Exception):
        pass

    def progress(done: int, total: int) -> None:
        raise Stop(f"{done}/{total}")

    p = unmask.joints.random(10, seed=4)
    with pytest.raises(Stop):
        unmask.optimal_planner(p, 4, threads=1, progress=progress)


def test_policy_refuses_states_of_another_shape() -> None:
    p = unmask.joints.random(4, seed=6)
    sched = unmask.optimal_planner(p, [2, 2])
    with pytest.raises(ValueError, match="not a state of this planner's kind"):
        sched.policy([0, -1, -1, -1], [False, True, True, True])  # 1 unmasked: no boundary
    with pytest.raises(ValueError, match="steps_left applies to a free budget only"):
        sched.policy([-1] * 4, [True] * 4, steps_left=1)
    blocks = unmask.optimal_planner(p, 3, block_width=2)
    with pytest.raises(ValueError, match="not a state of this planner's kind"):
        blocks.policy([-1, -1, 0, -1], [True, True, False, True], steps_left=2)
    first = blocks.policy([-1] * 4, [True] * 4)
    assert set(first) <= {0, 1}


def test_budget_beyond_memory_is_refused_before_the_frontier_is_built() -> None:
    p = unmask.joints.random(3, seed=0)
    with pytest.raises(MemoryError, match=r"K = 1000000000000000 budgets"):
        unmask.optimal_planner(p, 10**15)
    best = unmask.optimal_planner(p, 5)  # beyond n the frontier repeats the value at n
    assert best.frontier is not None and len(best.frontier) == 5
    assert best.frontier[4] == best.frontier[2] == 0.0


def test_cli_steps_beyond_n_is_a_usage_error() -> None:
    from click.testing import CliRunner

    from unmask.cli import main

    res = CliRunner().invoke(main, ["planner", "parity", "--n", "4", "--steps", "10000000000"])
    assert res.exit_code == 2, res.output
    assert "exceeds n = 4" in res.output and "Traceback" not in res.output


@pytest.mark.parametrize("fn", [unmask.planner_kl, unmask.planner_law])
def test_policy_that_is_not_callable_is_a_type_error(fn) -> None:
    with pytest.raises(TypeError, match=r"policy must be a callable .* got int"):
        fn(unmask.joints.random(3, seed=0), 5)


def test_cli_time_refusal_names_the_option() -> None:
    from click.testing import CliRunner

    from unmask.cli import main

    res = CliRunner().invoke(main, ["planner", "random", "--n", "8", "--steps", "3",
                                    "--max-seconds", "1e-9"])
    assert res.exit_code == 2, res.output
    assert "above --max-seconds 1e-09" in res.output and "pass a larger --max-seconds" in res.output
    assert "max_seconds" not in res.output


def test_cli_blockwise_table_compares_with_blockwise_random_order(tmp_path) -> None:
    # with --block-width the random-order columns are blockwise too (same blocks as the
    # planner), so the best planner is a floor row by row; K below the block count has none
    import itertools
    import json

    from click.testing import CliRunner

    from unmask.cli import main

    p = unmask.joints.random(4, seed=0)
    np.save(tmp_path / "p.npy", p.probs)
    res = CliRunner().invoke(main, ["planner", str(tmp_path / "p.npy"), "--steps", "4",
                                    "--block-width", "2", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)["frontier"]
    assert rows[0]["best_planner_kl"] == "inf" and rows[0]["random_order_expected_kl"] is None
    comps = {1: [[2]], 2: [[1, 1]]}  # a block of width 2 in 1 or 2 steps
    for row in rows[1:]:
        k = row["K"]
        best = min(unmask.expected_kl(p, unmask.BlockSchedule([a, b]))
                   for k0 in (1, 2) for a, b in itertools.product(comps[k0], comps.get(k - k0, []))
                   )
        assert abs(row["random_order_expected_kl"] - best) < 1e-12, (k, row)
        assert row["best_planner_kl"] <= best + 1e-12
        assert all(sum(b) == 2 for b in row["optimal_schedule"])
