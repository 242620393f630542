"""Exact laws of adaptive unmasking rules against a brute force over every draw and tie-break."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from oracle_adaptive import (
    brute_force_law,
    callable_conditional,
    exact_conditional,
    tie_classes,
)

import unmask
from unmask import joints
from unmask.testing import compositions, probability_tables

FIXED = ("random", "max-prob", "margin", "entropy", "sampled-prob")
TAKE = ("random", "max-prob", "margin", "entropy")

LAWS = {
    "random-4x2": joints.random(4, 2, seed=1),
    "peaked-5x2": joints.random(5, 2, concentration=0.3, seed=3),
    "random-3x3": joints.random(3, 3, seed=2),
    "all-equal-4x2": joints.all_equal(4, 2),  # every score ties
    "parity-5": joints.parity(5),  # ties until the last token
    "uniform-4x2": joints.independent([[0.5, 0.5]] * 4),
    "markov-4x3": joints.markov_chain([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]], 4),
}


def _assert_same(got: unmask.AdaptiveLaw, law: np.ndarray, steps: np.ndarray) -> None:
    np.testing.assert_allclose(got.law.flat, law, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.steps_pmf, steps, rtol=0, atol=1e-12)


def _schedules(n: int) -> list[list[int]]:
    return [[1] * n, [2] + [1] * (n - 2), [n], [1, n - 1], [n - 2, 2]]


# -- agreement with the brute force ----------------------------------------------------------
@pytest.mark.parametrize("name", sorted(LAWS))
@pytest.mark.parametrize("rule", FIXED)
def test_fixed_size_rules_match_brute_force(name: str, rule: str) -> None:
    p = LAWS[name]
    for sizes in _schedules(p.n):
        law, steps = brute_force_law(p.probs, rule, sizes)
        _assert_same(unmask.adaptive_law(p, rule, sizes), law, steps)


@pytest.mark.parametrize("name", sorted(LAWS))
@pytest.mark.parametrize("tau", [0.2, 0.5, 0.7, 0.95, 1.0])
def test_threshold_rule_matches_brute_force(name: str, tau: float) -> None:
    p = LAWS[name]
    law, steps = brute_force_law(p.probs, "threshold", tau=tau)
    _assert_same(unmask.adaptive_law(p, "threshold", threshold=tau), law, steps)


@pytest.mark.parametrize("width", [1, 2, 3])
@pytest.mark.parametrize("name", ["random-4x2", "parity-5", "random-3x3"])
def test_blockwise_threshold_matches_brute_force(name: str, width: int) -> None:
    p = LAWS[name]
    blocks = [v // width for v in range(p.n)]
    for tau in (0.4, 0.8):
        law, steps = brute_force_law(p.probs, "threshold", tau=tau, block_of=blocks)
        got = unmask.adaptive_law(p, "threshold", threshold=tau, block_width=width)
        _assert_same(got, law, steps)
        assert got.block_width == width


@pytest.mark.parametrize("rule", FIXED)
def test_block_schedules_match_brute_force(rule: str) -> None:
    for p, bs in [
        (joints.random(5, 2, seed=3), unmask.BlockSchedule([[1, 1], [2, 1]])),
        (joints.parity(5), unmask.BlockSchedule([[2], [1, 2]])),
        (joints.random(4, 3, seed=4), unmask.BlockSchedule.llada(4, 4, 2)),
    ]:
        blocks = [b for b, w in enumerate(bs.widths) for _ in range(w)]
        law, steps = brute_force_law(p.probs, rule, list(bs.sizes), block_of=blocks)
        got = unmask.adaptive_law(p, rule, bs)
        _assert_same(got, law, steps)
        assert got.schedule == bs


def test_random_rule_in_blocks_is_the_blockwise_sampler() -> None:
    p = joints.random(6, 2, seed=13)
    for bs in (unmask.BlockSchedule.llada(6, 4, 3), unmask.BlockSchedule([[1, 2], [1, 1, 1]])):
        got = unmask.adaptive_law(p, "random", bs)
        np.testing.assert_allclose(got.law.flat, unmask.sampler_law(p, bs).flat, atol=1e-13)


def test_steps_and_block_width_mean_llada_blocks() -> None:
    p = joints.random(6, 2, seed=14)
    got = unmask.adaptive_law(p, "sampled-prob", 4, block_width=3)
    assert got.schedule == unmask.BlockSchedule.llada(6, 4, 3)
    ref = unmask.adaptive_law(p, "sampled-prob", unmask.BlockSchedule.llada(6, 4, 3))
    np.testing.assert_array_equal(got.law.flat, ref.law.flat)
    with pytest.raises(ValueError, match="not a multiple of the number of blocks"):
        unmask.adaptive_law(p, "sampled-prob", 3, block_width=4)
    with pytest.raises(ValueError, match="block_width is set by the BlockSchedule"):
        unmask.adaptive_law(p, "max-prob", unmask.BlockSchedule.llada(6, 4, 3), block_width=3)
    with pytest.raises(ValueError, match="needs the number of steps K"):
        unmask.adaptive_law(p, "max-prob", [3, 3], block_width=3)


@pytest.mark.parametrize("rule", ["sampled-prob", "threshold", "max-prob"])
def test_long_runs_of_ties_match_brute_force(rule: str) -> None:
    # Six candidates all tied: the engine integrates the tie factor (Gauss-Legendre) instead
    # of expanding the polynomial; parity ties until the last token, a uniform law always.
    for p in (joints.parity(6), joints.independent([[0.5, 0.5]] * 6)):
        for sizes in ([1] * 6, [2, 2, 2], [3, 1, 1, 1]):
            kwargs = {"threshold": 0.5} if rule == "threshold" else {}
            law, steps = brute_force_law(
                p.probs, rule, None if rule == "threshold" else sizes, tau=kwargs.get("threshold")
            )
            got = unmask.adaptive_law(p, rule, None if rule == "threshold" else sizes, **kwargs)
            _assert_same(got, law, steps)


@st.composite
def _law_and_schedule(draw: st.DrawFn) -> tuple[unmask.Joint, unmask.Schedule]:
    q = draw(st.integers(2, 3))
    table = draw(probability_tables(min_n=2, max_n=5 if q == 2 else 3, min_q=q, max_q=q))
    p = unmask.Joint(table, normalize=True)
    return p, draw(compositions(p.n))


@settings(max_examples=25)
@given(_law_and_schedule(), st.sampled_from(FIXED))
@example((joints.independent([[0.5, 0.5]] * 3), unmask.Schedule([2, 1])), "sampled-prob")
def test_hypothesis_fixed_size_rules(case: tuple[unmask.Joint, unmask.Schedule], rule: str) -> None:
    p, sched = case
    law, steps = brute_force_law(p.probs, rule, list(sched.sizes))
    _assert_same(unmask.adaptive_law(p, rule, sched), law, steps)


@settings(max_examples=25)
@given(
    probability_tables(min_n=2, max_n=4, max_q=3),
    st.sampled_from([0.1, 0.3, 0.5, 0.75, 0.9, 1.0]),
    st.sampled_from([None, 1, 2]),
)
def test_hypothesis_threshold(table: np.ndarray, tau: float, width: int | None) -> None:
    p = unmask.Joint(table, normalize=True)
    blocks = None if width is None else [v // width for v in range(p.n)]
    law, steps = brute_force_law(p.probs, "threshold", tau=tau, block_of=blocks)
    _assert_same(unmask.adaptive_law(p, "threshold", threshold=tau, block_width=width), law, steps)


# -- conditionals of a model -----------------------------------------------------------------
def test_learned_tempered_and_callable_conditionals_match_brute_force() -> None:
    p = joints.random(4, 2, seed=5)
    p_hat = joints.random(4, 2, seed=6)
    tempered = unmask.Conditionals.tempered(p, 0.5)

    def smoothed(x: np.ndarray, j: int) -> np.ndarray:
        exact = unmask.Conditionals.exact(p)(x, j)
        return 0.8 * exact + 0.1  # rows still sum to 1

    cases = [
        (p_hat, exact_conditional(p_hat.probs)),
        (tempered, exact_conditional(p.probs, temperature=0.5)),
        (smoothed, callable_conditional(smoothed, 4)),
    ]
    for cond, oracle in cases:
        for rule in ("max-prob", "sampled-prob"):
            law, steps = brute_force_law(p.probs, rule, [2, 1, 1], cond=oracle)
            got = unmask.adaptive_law(p, rule, [2, 1, 1], conditionals=cond)
            _assert_same(got, law, steps)
            assert got.kl == pytest.approx(unmask.kl(p, got.law), abs=1e-15)
        law, steps = brute_force_law(p.probs, "threshold", tau=0.6, cond=oracle)
        _assert_same(unmask.adaptive_law(p, "threshold", threshold=0.6, conditionals=cond),
                     law, steps)


def test_callable_scoring_rule_matches_brute_force() -> None:
    p = joints.random(4, 3, seed=7)

    def leftmost_confident(probs: np.ndarray, positions: np.ndarray) -> np.ndarray:
        return probs.max(axis=1) - 0.05 * positions  # a planner mixing confidence and position

    for sizes in ([1, 1, 1, 1], [2, 2], [1, 3]):
        law, steps = brute_force_law(p.probs, leftmost_confident, sizes)
        got = unmask.adaptive_law(p, leftmost_confident, sizes)
        _assert_same(got, law, steps)
        assert got.rule == "callable"


def test_scoring_rule_that_ranks_like_max_prob_gives_max_prob() -> None:
    p = joints.random(5, 2, seed=8)
    got = unmask.adaptive_law(p, lambda probs, pos: probs.max(axis=1), [2, 2, 1])
    ref = unmask.adaptive_law(p, "max-prob", [2, 2, 1])
    np.testing.assert_allclose(got.law.flat, ref.law.flat, atol=1e-14)


# -- identities ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(LAWS))
def test_random_rule_is_the_random_order_sampler(name: str) -> None:
    p = LAWS[name]
    for sizes in _schedules(p.n):
        got = unmask.adaptive_law(p, "random", sizes)
        np.testing.assert_allclose(got.law.flat, unmask.sampler_law(p, sizes).flat, atol=1e-13)


@pytest.mark.parametrize("rule", TAKE)
def test_take_then_draw_one_token_per_step_is_exact(rule: str) -> None:
    for p in (joints.random(6, 2, seed=4), joints.random(4, 3, seed=9), joints.parity(5)):
        got = unmask.adaptive_law(p, rule, [1] * p.n)
        np.testing.assert_allclose(got.law.flat, p.flat, atol=1e-13)
        assert got.kl == pytest.approx(0.0, abs=1e-12)
        assert got.tv == pytest.approx(0.0, abs=1e-12)


def test_sampled_prob_is_biased_at_one_token_per_step() -> None:
    # Documented example (theory section 11): keeping a draw depends on its own value.
    p = joints.random(5, 2, seed=0)
    biased = unmask.adaptive_law(p, "sampled-prob", [1] * 5)
    assert biased.kl > 0.1
    law, _ = brute_force_law(p.probs, "sampled-prob", [1] * 5)
    assert biased.kl == pytest.approx(unmask.kl(p, unmask.Joint(law.reshape((2,) * 5))), rel=1e-10)
    # threshold 1 keeps only the most probable draw: the same sampler
    one = unmask.adaptive_law(p, "threshold", threshold=1.0)
    np.testing.assert_allclose(one.law.flat, biased.law.flat, atol=1e-14)
    assert one.steps_pmf[5] == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize("a", [0.6, 0.9, 0.99])
def test_sampled_prob_bias_closed_form(a: float) -> None:
    # X0 ~ Bernoulli(a), a > 1/2, X1 a fair coin, one token per step: X0's draw is kept at
    # step 1 when it is 1 (score a > 1/2), otherwise X1's; then X0 is drawn again. So
    # P(X0 = 1) = a + (1 - a) a and KL = -a log(2 - a) - (1 - a) log(1 - a) (theory section 11).
    p = joints.independent([[1 - a, a], [0.5, 0.5]])
    got = unmask.adaptive_law(p, "sampled-prob", [1, 1])
    assert got.law.marginal([0])[1] == pytest.approx(a * (2 - a), rel=1e-14)
    closed = -a * math.log(2 - a) - (1 - a) * math.log(1 - a)
    assert got.kl == pytest.approx(closed, rel=1e-12)


def test_documented_example_on_a_random_5_bit_law() -> None:
    # docs/adaptive.md: a peaked random 5-bit law with steps [2, 2, 1]. On this law choosing
    # the confident positions before sampling beats random order; keeping the confident draws
    # (LLaDA) is far worse, even at one token per step. Values checked against brute force.
    p = joints.random(5, 2, concentration=0.3, seed=5)
    kls = {}
    for rule, sizes in [(r, [2, 2, 1]) for r in FIXED] + [("sampled-prob", [1] * 5)]:
        got = unmask.adaptive_law(p, rule, sizes)
        law, _ = brute_force_law(p.probs, rule, sizes)
        assert got.kl == pytest.approx(unmask.kl(p, unmask.Joint(law.reshape((2,) * 5))),
                                       rel=1e-9)
        kls[(rule, len(sizes))] = got.kl
    assert kls[("max-prob", 3)] < kls[("random", 3)] / 3
    assert kls[("random", 3)] <= unmask.expected_kl(p, [2, 2, 1]) + 1e-12  # convexity
    assert kls[("sampled-prob", 3)] > 10 * kls[("random", 3)]
    assert kls[("sampled-prob", 5)] > 1.0  # biased at one token per step


def test_every_law_sums_to_one_and_steps_pmf_matches_schedule() -> None:
    p = joints.random(5, 3, seed=11)
    for rule in FIXED:
        got = unmask.adaptive_law(p, rule, [2, 1, 2])
        assert math.fsum(got.law.flat.tolist()) == pytest.approx(1.0, abs=1e-12)
        assert got.steps_pmf.tolist() == [0, 0, 0, 1, 0, 0]
        assert got.expected_steps == 3
    for tau in (0.3, 0.6, 0.9):
        got = unmask.adaptive_law(p, "threshold", threshold=tau)
        assert math.fsum(got.steps_pmf.tolist()) == pytest.approx(1.0, abs=1e-12)
        assert got.steps_pmf[0] == 0.0
        assert 1.0 <= got.expected_steps <= 5.0


def test_threads_do_not_change_the_law() -> None:
    p = joints.random(9, 2, seed=12)
    for rule, kwargs in (("sampled-prob", {"schedule": [2, 2, 2, 2, 1]}),
                         ("threshold", {"threshold": 0.6})):
        one = unmask.adaptive_law(p, rule, threads=1, **kwargs)
        two = unmask.adaptive_law(p, rule, threads=2, **kwargs)
        np.testing.assert_allclose(one.law.flat, two.law.flat, rtol=1e-13, atol=1e-16)
        np.testing.assert_allclose(one.steps_pmf, two.steps_pmf, rtol=1e-13, atol=1e-16)


def test_progress_is_reported() -> None:
    seen: list[tuple[int, int]] = []
    unmask.adaptive_law(joints.random(4, 2, seed=0), "threshold", threshold=0.5,
                        progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_integer_steps_mean_a_constant_schedule() -> None:
    p = joints.random(6, 2, seed=2)
    got = unmask.adaptive_law(p, "margin", 3)
    ref = unmask.adaptive_law(p, "margin", [2, 2, 2])
    np.testing.assert_array_equal(got.law.flat, ref.law.flat)


def test_tie_classes_chain_neighbours() -> None:
    assert tie_classes([0.5, 0.5 + 1e-13, 0.3, 0.5 + 2e-13]) == [0.5, 0.5, 0.3, 0.5]


# -- frontier --------------------------------------------------------------------------------
def test_threshold_frontier_matches_the_laws() -> None:
    p = joints.random(5, 2, seed=0)
    fr = unmask.threshold_frontier(p, [0.55, 0.8], rules=("max-prob", "sampled-prob"))
    for t, tau in enumerate([0.55, 0.8]):
        law = unmask.adaptive_law(p, "threshold", threshold=tau)
        assert fr.kl[t] == law.kl
        assert fr.expected_steps[t] == law.expected_steps
    best = unmask.optimal_frontier(p, 5, schedules=True)
    np.testing.assert_allclose(fr.optimal, best.costs)
    for k in range(1, 6):
        law = unmask.adaptive_law(p, "max-prob", best.schedule(k))
        assert fr.fixed["max-prob"][k - 1] == law.kl
    assert fr.fixed["max-prob"][-1] == pytest.approx(0.0, abs=1e-12)


def test_blockwise_threshold_frontier_uses_optimal_block_schedules() -> None:
    p = joints.random(6, 2, seed=1)
    fr = unmask.threshold_frontier(p, [0.7], block_width=3, rules=("random",))
    assert np.isnan(fr.optimal[0]) and np.isnan(fr.fixed["random"][0])  # 2 blocks need 2 steps
    for k in range(2, 7):
        bs = unmask.optimal_block_schedule(p, k, 3, steps_per_block="free")
        assert fr.optimal[k - 1] == pytest.approx(bs.cost, abs=1e-12)
        law = unmask.adaptive_law(p, "random", bs)
        assert fr.fixed["random"][k - 1] == law.kl
        assert law.kl <= bs.cost + 1e-12  # the law of the mixture is below the averaged KL
    law = unmask.adaptive_law(p, "threshold", threshold=0.7, block_width=3)
    assert fr.kl[0] == law.kl and fr.expected_steps[0] == law.expected_steps


# -- bad input -------------------------------------------------------------------------------
def test_bad_input_is_refused_with_clear_errors() -> None:
    p = joints.random(4, 2, seed=0)
    with pytest.raises(ValueError, match=r"unknown rule 'confidence'.*max-prob.*threshold"):
        unmask.adaptive_law(p, "confidence", [2, 2])
    with pytest.raises(TypeError, match=r"rule must be one of"):
        unmask.adaptive_law(p, 3, [2, 2])
    for tau in (0.0, -0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"threshold must lie in \(0, 1\]"):
            unmask.adaptive_law(p, "threshold", threshold=tau)
    with pytest.raises(ValueError, match="needs threshold"):
        unmask.adaptive_law(p, "threshold")
    with pytest.raises(ValueError, match="needs a schedule"):
        unmask.adaptive_law(p, "sampled-prob")
    with pytest.raises(ValueError, match="n = 5 but the joint has n = 4"):
        unmask.adaptive_law(p, "max-prob", [2, 3])
    with pytest.raises(ValueError, match="takes no schedule"):
        unmask.adaptive_law(p, "threshold", [2, 2], threshold=0.5)
    with pytest.raises(ValueError, match="threshold= is for rule 'threshold'"):
        unmask.adaptive_law(p, "max-prob", [2, 2], threshold=0.5)
    with pytest.raises(ValueError, match=r"block_width must lie in 1\.\.4"):
        unmask.adaptive_law(p, "threshold", threshold=0.5, block_width=5)
    with pytest.raises(ValueError, match=r"steps must lie in 1\.\.4"):
        unmask.adaptive_law(p, "max-prob", 0)
    with pytest.raises(ValueError, match="one score per row"):
        unmask.adaptive_law(p, lambda probs, pos: probs, [2, 2])
    with pytest.raises(ValueError, match="NaN or infinite"):
        unmask.adaptive_law(p, lambda probs, pos: probs[:, 0] * np.nan, [2, 2])
    with pytest.raises(ValueError, match="conditionals are for n=3"):
        unmask.adaptive_law(p, "max-prob", [2, 2], conditionals=joints.random(3, 2, seed=0))
    with pytest.raises(ValueError, match=r"thresholds must lie|threshold must lie"):
        unmask.threshold_frontier(p, [0.5, 2.0])
    with pytest.raises(ValueError, match="fixed-size rules"):
        unmask.threshold_frontier(p, [0.5], rules=("threshold",))


def test_memory_is_checked_before_allocating(monkeypatch: pytest.MonkeyPatch) -> None:
    from unmask import _validation as validation

    p = joints.random(6, 2, seed=0)
    monkeypatch.setattr(validation, "available_memory_bytes", lambda: 2000)
    with pytest.raises(MemoryError, match=r"adaptive law of rule 'max-prob' on \[2\]\^6 needs"):
        unmask.adaptive_law(p, "max-prob", [3, 3])
    with pytest.raises(MemoryError, match=r"the threshold law on \[2\]\^6 needs"):
        unmask.adaptive_law(p, "threshold", threshold=0.5)


# -- states of subnormal mass (a kept product that underflows was divided: 0 / 0 = NaN) ------
def _subnormal_law() -> unmask.Joint:
    table = np.full((3, 3), 5e-324)
    table[1, 1] = 1.0 - 8 * 5e-324
    return unmask.Joint(table)


@pytest.mark.parametrize("rule, tau", [("sampled-prob", None), ("threshold", 0.5),
                                       ("threshold", 1.0)])
def test_draw_then_keep_on_subnormal_masses_matches_brute_force(rule: str, tau: float | None
                                                                ) -> None:
    p = _subnormal_law()
    got = (unmask.adaptive_law(p, rule, [1, 1]) if tau is None
           else unmask.adaptive_law(p, rule, threshold=tau))
    law, steps = brute_force_law(p.probs, rule, [1, 1] if tau is None else None, tau=tau)
    _assert_same(got, law, steps)
    assert math.isfinite(got.tv) and got.tv < 1e-300
    fr = unmask.threshold_frontier(p, [0.5, 1.0])
    assert not np.isnan(fr.kl).any()
