"""The section-5 identity: closed forms, random sizes against enumeration, errors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from oracle_dp import schedule_cost_direct

import unmask
from unmask import joints
from unmask.testing import compositions, profiles

LOG2 = math.log(2.0)


@pytest.mark.parametrize(("n", "q"), [(4, 2), (5, 3), (6, 2)])
def test_all_equal_closed_form(n: int, q: int) -> None:
    law = joints.all_equal(n, q)
    for sizes in [(1,) * n, (n,), (2, n - 2), (n - 1, 1), (1, n - 1)]:
        assert math.isclose(
            unmask.expected_kl(law, sizes), (sizes[0] - 1) * math.log(q), abs_tol=1e-12
        )


@pytest.mark.parametrize("n", [3, 5, 7])
def test_parity_closed_form(n: int) -> None:
    law = joints.parity(n)
    for sizes in itertools.islice(
        (
            c
            for k in range(1, n + 1)
            for c in itertools.product(range(1, n + 1), repeat=k)
            if sum(c) == n
        ),
        60,
    ):
        want = LOG2 if sizes[-1] >= 2 else 0.0
        assert math.isclose(unmask.expected_kl(law, sizes), want, abs_tol=1e-12)


def test_copy_bit_example() -> None:
    # X0 = X1 a fair bit, X2 an independent fair bit, schedule (2, 1): (1/3) log 2
    P = np.zeros((2, 2, 2))
    P[0, 0, :] = P[1, 1, :] = 0.25
    assert math.isclose(unmask.expected_kl(P, [2, 1]), LOG2 / 3, rel_tol=1e-12)
    assert math.isclose(unmask.expected_kl(P, [2, 1]), 0.2310490601866484, rel_tol=1e-12)


def test_independent_law_costs_nothing() -> None:
    law = joints.independent(np.random.default_rng(1).dirichlet(np.ones(3), size=5))
    assert abs(unmask.expected_kl(law, [5])) < 1e-12


@given(profiles(max_n=25), st.data())
def test_identity_equals_direct_sum(p: unmask.Profile, data: st.DataObject) -> None:
    s = data.draw(compositions(p.n))
    assert math.isclose(
        unmask.expected_kl(p, s), schedule_cost_direct(p.h, s.sizes), rel_tol=1e-10, abs_tol=1e-12
    )
    assert math.isclose(unmask.expected_kl(p.h, s), unmask.expected_kl(p, s), rel_tol=1e-15)


def _bernoulli_oracle(h: np.ndarray, betas: np.ndarray) -> float:
    """Enumerate every sequence of per-step reveal counts with its binomial probability."""
    n = len(h)
    total = 0.0

    def rec(k: int, unmasked: int, prob: float, acc: float) -> None:
        nonlocal total
        if k == len(betas):
            assert unmasked == n
            total += prob * acc
            return
        masked = n - unmasked
        for s in range(masked + 1):
            pr = math.comb(masked, s) * betas[k] ** s * (1 - betas[k]) ** (masked - s)
            if pr == 0:
                continue
            cost = sum(h[unmasked] - h[l] for l in range(unmasked, unmasked + s)) if s else 0.0
            rec(k + 1, unmasked + s, prob * pr, acc + cost)

    rec(0, 0, 1.0, 0.0)
    return total


@given(profiles(min_n=1, max_n=6), st.lists(st.floats(0.0, 1.0), min_size=1, max_size=3))
def test_bernoulli_sizes_against_enumeration(p: unmask.Profile, cuts: list[float]) -> None:
    alpha = np.concatenate([[0.0], np.sort(cuts), [1.0]])
    sizes = unmask.BernoulliSizes(alpha, p.n)
    want = _bernoulli_oracle(p.h, sizes.betas)
    assert math.isclose(unmask.expected_kl(p, sizes), want, rel_tol=1e-10, abs_tol=1e-12)


def test_composition_law_is_the_weighted_average() -> None:
    law = joints.random(5, 2, concentration=0.3, seed=2)
    mix = unmask.CompositionLaw([[2, 3], [1, 1, 3], [5]], [0.5, 0.3, 0.2])
    want = sum(
        w * unmask.expected_kl(law, s) for w, s in zip([0.5, 0.3, 0.2], [[2, 3], [1, 1, 3], [5]])
    )
    assert math.isclose(unmask.expected_kl(law, mix), want, rel_tol=1e-13)


def test_errors() -> None:
    with pytest.raises(ValueError, match="schedule is for n = 3 but the profile has n = 4"):
        unmask.expected_kl(joints.parity(4), [2, 1])
    with pytest.raises(ValueError, match="same n"):
        unmask.CompositionLaw([[1, 1], [3]])
    with pytest.raises(ValueError, match="one weight per schedule"):
        unmask.CompositionLaw([[1, 1], [2]], [0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match="start at 0 and end at 1"):
        unmask.BernoulliSizes([0.1, 1.0], 4)
    with pytest.raises(ValueError, match="non-decreasing"):
        unmask.BernoulliSizes([0.0, 0.6, 0.4, 1.0], 4)
    with pytest.raises(ValueError, match="NaN"):
        unmask.BernoulliSizes([0.0, np.nan, 1.0], 4)
    with pytest.raises(ValueError, match="positive integer"):
        unmask.BernoulliSizes([0.0, 1.0], 0)
    with pytest.raises(ValueError, match="schedule is for n = 5"):
        unmask.expected_kl(joints.parity(4), unmask.BernoulliSizes([0, 1], 5))


def test_rounding_never_makes_an_exact_expected_kl_negative() -> None:
    from oracle_dp import compositions as all_compositions

    # exact profiles are monotone only up to ulps: no schedule may get a negative cost
    for law in (joints.parity(6), joints.parity(8), joints.all_equal(7, 3)):
        for k in range(1, law.n + 1):
            for sizes in all_compositions(law.n, k):
                assert unmask.expected_kl(law, sizes) >= 0.0
    raw = unmask.Profile([0.5, 0.7, 0.2])  # not monotone: refused unless asked for "plain"
    with pytest.raises(ValueError, match=r"not non-increasing \(h\(1\) - h\(0\) = 0.2"):
        unmask.expected_kl(raw, [2, 1])
    assert unmask.expected_kl(raw, [2, 1], nonmonotone="plain") < 0  # the formula, as asked
    projected = unmask.expected_kl(raw, [2, 1], nonmonotone="project")
    assert projected == pytest.approx(unmask.expected_kl(raw.monotone(), [2, 1]))
    assert projected >= 0


@pytest.mark.parametrize("n", [70, 500, 1500])
def test_bernoulli_sizes_at_real_lengths(n: int) -> None:
    # step_probabilities took np.log of Python ints: C(n, s) above 2^63 (n >= 67) raised
    # TypeError. Closed form for the all-equal law (h = [log 2, 0, ...]): only the first step
    # that reveals anything costs, g(0, s) = (s - 1) log 2, and E[(S - 1)^+] = n beta - 1 +
    # (1 - beta)^n for S ~ Binomial(n, beta).
    h = np.zeros(n)
    h[0] = LOG2
    sizes = unmask.BernoulliSizes([0.0, 0.001, 0.01, 0.3, 1.0], n)
    want, none_yet = 0.0, 1.0
    for beta in sizes.betas.tolist():
        want += none_yet * (n * beta - 1 + (1 - beta) ** n) * LOG2
        none_yet *= (1 - beta) ** n
    assert math.isclose(unmask.expected_kl(h, sizes), want, rel_tol=1e-11)


@pytest.mark.parametrize(
    ("masked", "beta"),
    [(1, 0.5), (4, 0.3), (13, 0.97), (70, 0.3), (1001, 0.25), (3000, 1e-4), (2500, 0.999)],
)
def test_step_probabilities_against_exact_binomial(masked: int, beta: float) -> None:
    from fractions import Fraction

    sizes = unmask.BernoulliSizes([0.0, beta, 1.0], 3000)
    got = sizes.step_probabilities(0, masked)
    b = Fraction(float(sizes.betas[0]))
    mode = int((masked + 1) * float(b))
    check = range(masked + 1) if masked < 20 else {0, 1, max(mode - 40, 0), mode, masked}
    for s in {*check, min(mode + 40, masked)}:
        exact = float(math.comb(masked, s) * b**s * (1 - b) ** (masked - s))
        assert got[s] == pytest.approx(exact, rel=1e-13, abs=1e-300)
    assert math.fsum(got.tolist()) == pytest.approx(1.0, abs=1e-13)


def test_step_probabilities_reject_out_of_range() -> None:
    sizes = unmask.BernoulliSizes([0.0, 0.5, 1.0], 4)
    with pytest.raises(ValueError, match=r"step k must be an integer in 0..1, got 2"):
        sizes.step_probabilities(2, 4)
    with pytest.raises(ValueError, match=r"masked must be an integer in 0..4, got -1"):
        sizes.step_probabilities(0, -1)
    with pytest.raises(ValueError, match=r"masked must be an integer in 0..4, got 5"):
        sizes.step_probabilities(0, 5)
    with pytest.raises(ValueError, match="step k must be an integer"):
        sizes.step_probabilities(0.0, 4)  # type: ignore[arg-type]


def test_bernoulli_expected_kl_is_a_python_float() -> None:
    got = unmask.expected_kl(joints.parity(4), unmask.BernoulliSizes([0.0, 0.5, 1.0], 4))
    assert type(got) is float


def test_bernoulli_and_fixed_sizes_treat_non_monotone_curves_alike() -> None:
    raw = unmask.Profile([0.2, 0.9, 0.1])  # an estimate that is not non-increasing
    all_at_once = unmask.BernoulliSizes([0.0, 1.0], 3)  # reveals all 3 tokens in one step
    plain = {"nonmonotone": "plain"}
    assert unmask.expected_kl(raw, [3], **plain) == pytest.approx(3 * 0.2 - 1.2)  # as asked
    assert unmask.expected_kl(raw, all_at_once, **plain) == pytest.approx(
        unmask.expected_kl(raw, [3], **plain)
    )
    for sched in ([3], all_at_once):  # the default refuses: no negative "KL" is ever reported
        with pytest.raises(ValueError, match="not non-increasing"):
            unmask.expected_kl(raw, sched)


# -- Bernoulli sizes: O(n K) closed form against the per-state loop ------------------------------
def _bernoulli_loop_oracle(h: np.ndarray, sizes: unmask.BernoulliSizes, eps=None) -> float:
    """The former implementation: the law of the unmasked count, state by state."""
    n = h.size
    C = np.concatenate([[0.0], np.cumsum(h)])
    state = np.zeros(n + 1)
    state[0] = 1.0
    total = 0.0
    for k in range(sizes.steps):
        new = np.zeros(n + 1)
        for i in np.nonzero(state > 0)[0].tolist():
            probs = sizes.step_probabilities(k, n - i)
            b = i + np.arange(probs.size)
            g = (b - i) * h[i] - (C[b] - C[i]) if i < n else np.zeros(1)
            total += state[i] * float(probs @ g)
            if eps is not None and i < n:
                total += state[i] * float(probs @ np.arange(probs.size)) * float(eps[i])
            new[i : i + probs.size] += state[i] * probs
        state = new
    return total


@given(profiles(min_n=1, max_n=40), st.lists(st.floats(0.0, 1.0), min_size=0, max_size=6))
def test_bernoulli_expected_kl_matches_the_state_loop(prof, cuts) -> None:
    alpha = [0.0, *sorted(cuts), 1.0]
    sizes = unmask.BernoulliSizes(alpha, prof.n)
    want = _bernoulli_loop_oracle(prof.h, sizes)
    assert unmask.expected_kl(prof, sizes) == pytest.approx(want, rel=1e-9, abs=1e-12)


def test_bernoulli_expected_kl_with_learning_errors_and_progress() -> None:
    p = joints.random(5, 2, seed=3)
    p_hat = joints.random(5, 2, seed=4)
    sizes = unmask.BernoulliSizes([0.0, 0.2, 0.7, 1.0], 5)
    eps = unmask.learning_errors(p, p_hat)
    want = _bernoulli_loop_oracle(unmask.profile(p).h, sizes, eps)
    calls: list[tuple[int, int]] = []
    got = unmask.expected_kl(
        p, sizes, conditionals=p_hat, progress=lambda d, t: calls.append((d, t))
    )
    assert got == pytest.approx(want, rel=1e-12)
    assert calls[0] == (0, 3) and calls[-1] == (3, 3)
