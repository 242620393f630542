"""learning_errors (per level, C++ kernel) against the original loop over pairs (A, j)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import unmask
from unmask import Conditionals
from unmask._core_loader import core

sys.path.insert(0, str(Path(__file__).parent))
from _sampler_strategies import laws, make_callable
from oracle_learning import learning_errors_loop


def assert_same(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape
    assert not np.any(np.isnan(got))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    fin = np.isfinite(want)
    np.testing.assert_allclose(got[fin], want[fin], rtol=1e-10, atol=1e-13)
    assert np.all(got >= 0.0)


def _second_law(draw, p: unmask.Joint) -> unmask.Joint:
    """A law of p's shape, sometimes with zeros where p has mass (infinite learning KL)."""
    seed = draw(st.integers(0, 2**31 - 1))
    conc = draw(st.sampled_from([0.1, 1.0, 20.0]))
    other = unmask.joints.random(p.n, p.q, concentration=conc, seed=seed).probs.copy()
    if draw(st.booleans()):
        flat = other.reshape(-1)
        flat[flat < 0.05 * flat.max()] = 0.0
    return unmask.Joint(other, normalize=True)


@given(data=st.data())
def test_p_hat_and_exact_of_another_law_match_the_loop(data):
    p = data.draw(laws(max_n=6, max_q=3, max_states=729))
    p_hat = _second_law(data.draw, p)
    want = learning_errors_loop(p, p_hat)
    assert_same(unmask.learning_errors(p, p_hat), want)
    assert_same(unmask.learning_errors(p, Conditionals.exact(p_hat)), want)
    assert_same(unmask.learning_errors(p, Conditionals.from_joint(p_hat)), want)


@given(
    p=laws(max_n=6, max_q=3, max_states=729),
    temperature=st.sampled_from([1e-3, 0.05, 0.5, 1.0, 3.0]),
)
def test_tempered_matches_the_loop_and_stays_finite(p, temperature):
    cond = Conditionals.tempered(p, temperature)
    got = unmask.learning_errors(p, cond)
    assert_same(got, learning_errors_loop(p, cond))
    # q_j > 0 wherever p(x_j | x_A) > 0, however strong the tempering: never inf
    assert np.all(np.isfinite(got))
    if temperature == 1.0:
        np.testing.assert_allclose(got, 0.0, atol=1e-13)


@given(data=st.data(), temperature=st.sampled_from([1e-3, 0.3, 2.0]))
def test_tempered_second_law_matches_the_loop(data, temperature):
    p = data.draw(laws(max_n=5, max_q=3, max_states=243))
    cond = Conditionals.tempered(_second_law(data.draw, p), temperature)
    assert_same(unmask.learning_errors(p, cond), learning_errors_loop(p, cond))


@given(data=st.data())
def test_callable_matches_the_loop(data):
    p = data.draw(laws(max_n=5, max_q=3, max_states=243))
    p_hat = _second_law(data.draw, p)
    fn = make_callable(p_hat.probs)
    want = learning_errors_loop(p, fn)
    assert_same(unmask.learning_errors(p, fn), want)
    # the same conditionals read from marginals (an independent code path)
    assert_same(unmask.learning_errors(p, p_hat), want)


@given(p=laws(max_n=5, max_q=3, max_states=243))
def test_one_hot_callable_is_inf_exactly_where_the_loop_is(p):
    exact = Conditionals.exact(p)

    def greedy(x, j):  # argmax of the exact conditional: 0 on part of p's support
        rows = exact(x, j)
        out = np.zeros_like(rows)
        out[np.arange(rows.shape[0]), np.argmax(rows, axis=1)] = 1.0
        return out

    assert_same(unmask.learning_errors(p, greedy), learning_errors_loop(p, greedy))


def test_exact_conditionals_shortcut_and_the_loop_agree_on_zero():
    p = unmask.joints.random(5, 3, concentration=0.3, seed=3)
    assert unmask.learning_errors(p, None).tolist() == [0.0] * 5
    np.testing.assert_allclose(learning_errors_loop(p, None), 0.0, atol=1e-14)
    # tempered at T = 1 takes the general path and must find 0 as well
    np.testing.assert_allclose(unmask.learning_errors(p, Conditionals.tempered(p, 1.0)), 0.0,
                               atol=1e-14)


def test_uniform_model_on_copies_closed_form():
    # p: n copies of one fair bit. q_j uniform: KL = log 2 given any context (p(x_j | x_A) is
    # one-hot once A is not empty, uniform when A is empty: then KL = 0).
    n = 4
    p = unmask.joints.all_equal(n, 2)
    eps = unmask.learning_errors(p, unmask.joints.independent([[0.5, 0.5]] * n), base=2)
    np.testing.assert_allclose(eps, [0.0] + [1.0] * (n - 1), rtol=1e-14)


def test_results_do_not_depend_on_the_thread_count():
    p = unmask.joints.random(8, 2, concentration=0.5, seed=11)
    p_hat = unmask.joints.random(8, 2, concentration=0.5, seed=12)
    for cond in (p_hat, Conditionals.tempered(p, 0.2)):
        one = unmask.learning_errors(p, cond, threads=1)
        two = unmask.learning_errors(p, cond, threads=2)
        assert one.tolist() == two.tolist()


def test_kernel_rejects_a_bad_layout():
    p = np.full(8, 1 / 8)
    with pytest.raises(ValueError, match="p has 8 entries, expected 12"):
        core.learning_pair_kl(p, p, 3, 2, 2, 1, 1)
    with pytest.raises(ValueError, match="log_q has 8 entries, expected 4"):
        core.learning_pair_kl(p[:4], p, 1, 2, 2, 1, 1)
    with pytest.raises(ValueError, match="count, a, q, b must be"):
        core.learning_pair_kl(p, p, 4, 0, 2, 1, 1)
    with pytest.raises(ValueError, match="marginals has 4 entries, expected 8"):
        core.learning_level_kl_marginals(p, p[:4], 1.0, 2, 2, 2, 1)
    with pytest.raises(ValueError, match="p has 8 entries, expected 16"):
        core.learning_level_kl_marginals(p, p, 1.0, 2, 3, 2, 1)
    with pytest.raises(ValueError, match="bad count, size or q"):
        core.learning_level_kl_marginals(p, p, 1.0, 2, 0, 2, 1)
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        core.learning_level_kl_marginals(p, p, math.nan, 4, 1, 2, 1)


def test_context_of_mass_zero_under_the_learned_law_is_no_warning():
    # Both laws put no mass on x_0 = 1, so that context gets the uniform law and p never reaches
    # it. Read in logs it used to compute -inf - (-inf): a RuntimeWarning (an error under
    # pytest) in decompose and the old loop. Closed form: KL((.5, .5) || (.3, .7)) at step 2.
    p = unmask.Joint(np.array([[0.5, 0.5], [0.0, 0.0]]))
    p_hat = unmask.Joint(np.array([[0.3, 0.7], [0.0, 0.0]]))
    want = 0.5 * math.log(0.5 / 0.3) + 0.5 * math.log(0.5 / 0.7)
    d = unmask.decompose(p, [1, 1], "left-to-right", p_hat)
    np.testing.assert_allclose(d.learning, [0.0, want], rtol=1e-14, atol=1e-16)
    # eps(1): pairs (A, j) = ({0}, 1) -> want, ({1}, 0) -> 0 (x_0 = 0 surely under both)
    eps = unmask.learning_errors(p, p_hat)
    np.testing.assert_allclose(eps, [0.5 * (0.0 + _kl_x1()), want / 2], rtol=1e-14)
    assert_same(eps, learning_errors_loop(p, p_hat))


def _kl_x1() -> float:
    """eps(0) pair j = 1: KL(p(x_1) || p_hat(x_1)) = KL((.5, .5) || (.3, .7)); j = 0 gives 0."""
    return 0.5 * math.log(0.5 / 0.3) + 0.5 * math.log(0.5 / 0.7)


# -- tempering towards T -> 0 ---------------------------------------------------------------------
def test_temperatures_below_the_floor_or_not_numbers_are_refused() -> None:
    # T = 1e-320 returned the learning errors of another temperature; "1.5" and True were taken
    p = unmask.joints.random(3, 2, seed=0)
    for bad in (1e-320, 5e-301, 0.0, -1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="temperature must be a finite number >= 1e-300"):
            Conditionals.tempered(p, bad)
    for bad in ("1.5", True, None):
        with pytest.raises(TypeError, match="temperature must be a real number"):
            Conditionals.tempered(p, bad)  # type: ignore[arg-type]


def test_learning_errors_at_the_floor_follow_the_argmax_limit() -> None:
    # As T -> 0, T * KL(p_j || q_j) -> E_p[log(max_x p(x | A) / p(x_j | A))]: the loop oracle at
    # a moderate T gives that constant (its 1/T part dominates), the floor must agree
    p = unmask.joints.random(4, 3, seed=5)
    floor = unmask.learning_errors(p, Conditionals.tempered(p, 1e-300))
    small = learning_errors_loop(p, Conditionals.tempered(p, 1e-9))
    assert np.all(np.isfinite(floor))
    np.testing.assert_allclose(floor * 1e-300, small * 1e-9, rtol=1e-6)
    assert np.all(floor[:-1] > 0)
