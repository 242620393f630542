from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import unmask
import unmask._validation as validation
from unmask.samplers.conditionals import Conditionals

sys.path.insert(0, str(Path(__file__).parent))
import oracle_sampler as oracle
from _sampler_strategies import compositions, laws, make_callable


def coupled_pair() -> np.ndarray:
    p = np.zeros((2, 2, 2))
    p[0, 0, :] = p[1, 1, :] = 0.25
    return p


def oracle_cond(kind: str, p: np.ndarray, p_hat: np.ndarray):
    n = p.ndim
    if kind == "exact":
        return None, oracle.exact_cond(p)
    if kind == "p_hat":
        return unmask.Conditionals.from_joint(p_hat), oracle.exact_cond(p_hat)
    if kind == "tempered":
        return unmask.Conditionals.tempered(p, 0.7), oracle.exact_cond(p, temperature=0.7)
    fn = make_callable(p_hat)
    return unmask.Conditionals.from_callable(fn, n, p.shape[0]), oracle.callable_cond(fn, n)


# -- closed forms (theory section 9) ----------------------------------------------------------
def test_coupled_pair_both_numbers():
    p = coupled_pair()
    law = unmask.sampler_law(p, [2, 1])
    assert unmask.kl(p, law) == pytest.approx(math.log(6 / 5), abs=1e-14)
    assert unmask.kl(p, law) == pytest.approx(0.1823, abs=5e-5)
    per_order = [
        unmask.kl(p, unmask.sampler_law(p, [2, 1], order=s))
        for s in itertools.permutations(range(3))
    ]
    assert np.mean(per_order) == pytest.approx(math.log(2) / 3, abs=1e-14)
    assert np.mean(per_order) == pytest.approx(0.2310, abs=5e-5)
    assert unmask.expected_kl(unmask.Joint(p), [2, 1]) == pytest.approx(np.mean(per_order))
    np.testing.assert_allclose(law.probs, oracle.random_order_law(3, 2, [2, 1],
                                                                   oracle.exact_cond(p)))


@pytest.mark.parametrize(("n", "q", "sizes"), [(4, 2, [2, 2]), (4, 3, [3, 1]), (3, 2, [1, 2])])
def test_all_equal_order_average(n, q, sizes):
    p = unmask.joints.all_equal(n, q)
    kls = [unmask.kl(p, unmask.sampler_law(p, sizes, order=s))
           for s in itertools.permutations(range(n))]
    assert np.mean(kls) == pytest.approx((sizes[0] - 1) * math.log(q), abs=1e-12)


@pytest.mark.parametrize("sizes", [[2, 2], [3, 1], [1, 3], [1, 1, 2]])
def test_parity_order_average(sizes):
    p = unmask.joints.parity(4)
    kls = [unmask.kl(p, unmask.sampler_law(p, sizes, order=s))
           for s in itertools.permutations(range(4))]
    want = math.log(2) if sizes[-1] >= 2 else 0.0
    assert np.mean(kls) == pytest.approx(want, abs=1e-12)


def test_independent_law_is_reproduced_by_any_schedule():
    p = unmask.joints.independent([[0.2, 0.8], [0.5, 0.5], [0.9, 0.1], [0.3, 0.7]])
    for sizes in ([4], [2, 2], [1, 3]):
        np.testing.assert_allclose(unmask.sampler_law(p, sizes).probs, p.probs, atol=1e-15)


# -- oracle agreement ----------------------------------------------------------------------------
@settings(max_examples=25)
@given(data=st.data(), kind=st.sampled_from(["exact", "p_hat", "tempered", "callable"]))
@example(data=None, kind="exact")
def test_random_order_law_matches_partition_oracle(data, kind):
    if data is None:
        p = unmask.Joint(coupled_pair())
        sizes = [2, 1]
    else:
        p = data.draw(laws(max_n=4, max_states=81))
        sizes = data.draw(compositions(p.n))
    p_hat = unmask.joints.random(p.n, p.q, concentration=0.5, seed=7).probs
    cond, ocond = oracle_cond(kind, p.probs, p_hat)
    law = unmask.sampler_law(p, sizes, conditionals=cond)
    want = oracle.random_order_law(p.n, p.q, sizes, ocond)
    np.testing.assert_allclose(law.probs, want, rtol=1e-10, atol=1e-14)


@settings(max_examples=25)
@given(data=st.data(), kind=st.sampled_from(["exact", "p_hat", "tempered", "callable"]))
def test_fixed_order_law_matches_oracle(data, kind):
    p = data.draw(laws(max_n=4, max_states=81))
    sizes = data.draw(compositions(p.n))
    sigma = data.draw(st.permutations(list(range(p.n))))
    p_hat = unmask.joints.random(p.n, p.q, concentration=0.5, seed=11).probs
    cond, ocond = oracle_cond(kind, p.probs, p_hat)
    law = unmask.sampler_law(p, sizes, order=sigma, conditionals=cond)
    want = oracle.partition_law(p.n, p.q, oracle.blocks_of(sigma, sizes), ocond)
    np.testing.assert_allclose(law.probs, want, rtol=1e-10, atol=1e-14)


@settings(max_examples=20)
@given(data=st.data(), learned=st.booleans())
def test_identity_and_convexity(data, learned):
    p = data.draw(laws(max_n=4, max_states=81))
    sizes = data.draw(compositions(p.n))
    p_hat = unmask.joints.random(p.n, p.q, concentration=2.0, seed=3)
    cond = unmask.Conditionals.from_joint(p_hat) if learned else None
    ocond = oracle.exact_cond(p_hat.probs) if learned else oracle.exact_cond(p.probs)
    average = oracle.order_average_kl(p.probs, sizes, ocond)
    assert unmask.expected_kl(p, sizes, conditionals=cond) == pytest.approx(
        average, rel=1e-9, abs=1e-12
    )
    mixture = unmask.sampler_law(p, sizes, conditionals=cond)
    assert unmask.kl(p, mixture) <= average + 1e-12


@settings(max_examples=20)
@given(p=laws(max_n=5))
def test_all_ones_gives_p_and_one_step_gives_product(p):
    np.testing.assert_allclose(unmask.sampler_law(p, [1] * p.n).probs, p.probs, atol=1e-14)
    np.testing.assert_allclose(
        unmask.sampler_law(p, [p.n]).probs, oracle.product_of_marginals(p.probs), atol=1e-14
    )


def test_zero_probability_contexts_give_no_nan():
    p = unmask.joints.all_equal(5, 3)
    law = unmask.sampler_law(p, [2, 1, 2])
    assert np.all(np.isfinite(law.probs))
    assert math.fsum(law.flat.tolist()) == pytest.approx(1.0, abs=1e-12)
    assert np.isfinite(unmask.kl(p, law))


# -- random sizes --------------------------------------------------------------------------------
@pytest.mark.parametrize("order", ["random", "left-to-right", (2, 0, 3, 1)])
def test_bernoulli_sizes_match_mixture_over_compositions(order):
    p = unmask.joints.random(4, 2, concentration=0.3, seed=5)
    alpha = [0.0, 0.25, 0.6, 1.0]
    sizes = unmask.BernoulliSizes(alpha, 4)
    law = unmask.sampler_law(p, sizes, order=order)
    cond = oracle.exact_cond(p.probs)
    want = np.zeros((2,) * 4)
    for comp, w in oracle.bernoulli_compositions(sizes.betas.tolist(), 4).items():
        if order == "random":
            want += w * oracle.random_order_law(4, 2, list(comp), cond)
        else:
            sigma = range(4) if order == "left-to-right" else order
            want += w * oracle.partition_law(4, 2, oracle.blocks_of(list(sigma), comp), cond)
    np.testing.assert_allclose(law.probs, want, rtol=1e-10, atol=1e-15)


def test_bernoulli_expected_kl_with_learned_conditionals():
    p = unmask.joints.random(4, 2, concentration=0.5, seed=8)
    p_hat = unmask.joints.random(4, 2, concentration=2.0, seed=9)
    sizes = unmask.BernoulliSizes([0.0, 0.3, 0.7, 1.0], 4)
    ocond = oracle.exact_cond(p_hat.probs)
    want = sum(
        w * oracle.order_average_kl(p.probs, list(comp), ocond)
        for comp, w in oracle.bernoulli_compositions(sizes.betas.tolist(), 4).items()
    )
    got = unmask.expected_kl(p, sizes, conditionals=unmask.Conditionals.from_joint(p_hat))
    assert got == pytest.approx(want, rel=1e-9)


def test_composition_law():
    p = unmask.joints.random(4, 3, concentration=0.3, seed=1)
    law = unmask.CompositionLaw([[2, 2], [1, 3], [4]], [0.5, 0.3, 0.2])
    got = unmask.sampler_law(p, law)
    cond = oracle.exact_cond(p.probs)
    want = (0.5 * oracle.random_order_law(4, 3, [2, 2], cond)
            + 0.3 * oracle.random_order_law(4, 3, [1, 3], cond)
            + 0.2 * oracle.random_order_law(4, 3, [4], cond))
    np.testing.assert_allclose(got.probs, want, rtol=1e-10, atol=1e-15)


# -- threads -------------------------------------------------------------------------------------
def test_thread_count_does_not_change_results():
    p = unmask.joints.random(10, 2, concentration=0.3, seed=4)
    a = unmask.sampler_law(p, [2, 3, 2, 3], threads=1).probs
    b = unmask.sampler_law(p, [2, 3, 2, 3], threads=2).probs
    c = unmask.sampler_law(p, [2, 3, 2, 3], threads=3).probs
    np.testing.assert_allclose(a, b, rtol=1e-14, atol=0)
    np.testing.assert_allclose(a, c, rtol=1e-14, atol=0)


# -- bad input -----------------------------------------------------------------------------------
def test_schedule_not_summing_to_n():
    with pytest.raises(ValueError, match="schedule is for n = 4 but the joint has n = 3"):
        unmask.sampler_law(coupled_pair(), [2, 2])
    with pytest.raises(ValueError, match="at least one token"):
        unmask.sampler_law(coupled_pair(), [3, 0])


@pytest.mark.parametrize(
    "order", [(0, 0, 1), (0, 1), (0, 1, 3), "backwards", (0.0, 1.0, 2.0), [True, False, 2]]
)
def test_bad_permutation(order):
    with pytest.raises(ValueError, match="order must be"):
        unmask.sampler_law(coupled_pair(), [2, 1], order=order)


def test_conditionals_for_another_law():
    cond = unmask.Conditionals.exact(unmask.joints.all_equal(4, 2))
    with pytest.raises(ValueError, match="conditionals are for n=4, q=2"):
        unmask.sampler_law(coupled_pair(), [2, 1], conditionals=cond)
    with pytest.raises(TypeError, match="conditionals must be None"):
        unmask.sampler_law(coupled_pair(), [2, 1], conditionals=3)


def _constant(values):
    def fn(x, j):
        return np.broadcast_to(np.asarray(values, dtype=float), (x.shape[0], len(values)))

    return fn


@pytest.mark.parametrize(
    ("fn", "match"),
    [
        (lambda x, j: np.full((x.shape[0], 3), 1 / 3), r"must have shape \(\d+, 2\)"),
        (_constant([np.nan, 1.0]), "NaN or infinite"),
        (_constant([0.4, 0.4]), "not normalised"),
        (_constant([1.5, -0.5]), "negative"),
    ],
)
def test_bad_callable_conditionals(fn, match):
    for order in ("random", "left-to-right"):
        with pytest.raises(ValueError, match=match):
            unmask.sampler_law(coupled_pair(), [1, 2], order=order, conditionals=fn)


def test_callable_result_type():
    with pytest.raises(TypeError, match="must be real numbers"):
        unmask.sampler_law(
            coupled_pair(), [3], conditionals=lambda x, j: np.full((x.shape[0], 2), "a")
        )


def test_bad_conditional_constructors_and_contexts():
    with pytest.raises(ValueError, match="temperature must be"):
        unmask.Conditionals.tempered(coupled_pair(), 0.0)
    with pytest.raises(TypeError, match="fn must be callable"):
        unmask.Conditionals.from_callable(3, 3, 2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="q must be an integer"):
        unmask.Conditionals.from_callable(_constant([1.0]), 3, 1)
    cond = Conditionals.exact(coupled_pair())
    with pytest.raises(ValueError, match="must be masked"):
        cond(np.array([[0, 0, 0]]), 2)
    with pytest.raises(ValueError, match=r"shape \(m, 3\)"):
        cond(np.array([[0, -1]]), 1)
    with pytest.raises(ValueError, match="context values must lie"):
        cond(np.array([[5, -1, -1]]), 1)
    with pytest.raises(ValueError, match="context level"):
        cond.table(3)


def test_memory_is_refused_before_allocating(monkeypatch):
    p = unmask.joints.random(6, 2, seed=0)  # built first: the check under test is the sampler's
    monkeypatch.setattr(validation, "available_memory_bytes", lambda: 1000)
    with pytest.raises(MemoryError, match=r"needs about .* but only 1000 B is available"):
        unmask.sampler_law(p, [2, 2, 2])


def test_memory_estimate_names_the_random_order_law(monkeypatch):
    p = unmask.joints.random(8, 2, seed=0)
    cond = unmask.Conditionals.exact(p)
    cond.marginals(range(9))  # cached: only the DP states remain to allocate
    monkeypatch.setattr(validation, "available_memory_bytes", lambda: 20_000)
    with pytest.raises(MemoryError, match=r"random-order law of schedule \(4, 4\)"):
        unmask.sampler_law(p, [4, 4], conditionals=cond)


@pytest.mark.parametrize("sizes", [[1, 2], [2, 1], [3], [1, 1, 1]])
def test_subnormal_context_probabilities(sizes):
    p = np.zeros((2, 2, 2))
    p[0, 0, 0] = 0.5
    p[1, 1, 1] = 0.5 - 3e-310
    p[1, 0, 1] = 3e-310  # context probabilities below DBL_MIN: divided, not inverted
    law = unmask.sampler_law(p, sizes)
    want = oracle.random_order_law(3, 2, sizes, oracle.exact_cond(p))
    np.testing.assert_allclose(law.probs, want, rtol=1e-12, atol=1e-300)


def test_ctrl_c_interrupts_a_long_law():
    import _thread
    import threading

    p = unmask.joints.random(16, 2, concentration=0.5, seed=0)
    cond = unmask.Conditionals.exact(p)
    cond.marginals(range(17))  # so that the interrupt lands in the level DP itself
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            unmask.sampler_law(p, [4, 4, 4, 4], conditionals=cond)  # about 10 s of work
    finally:
        timer.cancel()
    small = unmask.joints.random(3, 2, seed=1)
    np.testing.assert_allclose(unmask.sampler_law(small, [1, 1, 1]).probs, small.probs, atol=1e-15)


# -- review 3: regressions ------------------------------------------------------------------------
@pytest.mark.parametrize("temperature", [1e-3, 0.02, 1e-300])
def test_small_temperatures_do_not_underflow_to_uniform(temperature):
    # p(x_A, x_j)^(1/T) underflowed to 0 for every x_j at once, so the context read as one of
    # probability 0 and got the uniform law. The oracle tempers in logs, shifted by the maximum.
    p = unmask.joints.random(4, 2, concentration=0.5, seed=1)
    cond = Conditionals.tempered(p, temperature)
    ocond = oracle.exact_cond(p.probs, temperature=temperature)
    law = unmask.sampler_law(p, [2, 1, 1], conditionals=cond)
    want = oracle.random_order_law(4, 2, [2, 1, 1], ocond)
    np.testing.assert_allclose(law.probs, want, rtol=1e-9, atol=1e-14)
    sigma = (3, 1, 0, 2)
    fixed = unmask.sampler_law(p, [2, 1, 1], order=sigma, conditionals=cond)
    want_fixed = oracle.partition_law(4, 2, oracle.blocks_of(sigma, [2, 1, 1]), ocond)
    np.testing.assert_allclose(fixed.probs, want_fixed, rtol=1e-9, atol=1e-14)
    if temperature == 1e-300:  # greedy: Monte Carlo runs stay on the (tiny) support of the law
        x = unmask.sample(cond, [2, 1, 1], 500, seed=0)
        assert np.all(law.probs[tuple(x.T)] > 0)


def test_fixed_order_reads_no_level_marginals(monkeypatch):
    # A fixed order needs one marginal per context set, not every subset of each level
    # ((q+1)^n values: 28 GB at binary n = 20).
    import unmask.samplers.conditionals as conditionals_module

    def refuse(*args, **kwargs):
        raise AssertionError("level marginals computed for a fixed order")

    monkeypatch.setattr(conditionals_module.core, "level_marginals", refuse)
    p = unmask.joints.random(4, 3, concentration=0.3, seed=2)
    p_hat = unmask.joints.random(4, 3, concentration=1.0, seed=3)
    sigma = (2, 0, 3, 1)
    for cond, ocond in [
        (Conditionals.exact(p), oracle.exact_cond(p.probs)),
        (Conditionals.from_joint(p_hat), oracle.exact_cond(p_hat.probs)),
        (Conditionals.tempered(p, 0.5), oracle.exact_cond(p.probs, temperature=0.5)),
    ]:
        law = unmask.sampler_law(p, [1, 2, 1], order=sigma, conditionals=cond)
        want = oracle.partition_law(4, 3, oracle.blocks_of(sigma, [1, 2, 1]), ocond)
        np.testing.assert_allclose(law.probs, want, rtol=1e-10, atol=1e-15)
        d = unmask.decompose(p, [1, 2, 1], sigma, cond)
        assert d.total == pytest.approx(oracle.kl_direct(p.probs, want), rel=1e-9, abs=1e-12)


@settings(max_examples=15)
@given(data=st.data(), kind=st.sampled_from(["exact", "p_hat", "tempered", "callable"]))
def test_block_matches_oracle_conditionals(data, kind):
    p = data.draw(laws(max_n=4, max_states=81))
    j = data.draw(st.integers(0, p.n - 1))
    avars = data.draw(st.lists(st.sampled_from([v for v in range(p.n) if v != j] or [0]),
                               unique=True)) if p.n > 1 else []
    p_hat = unmask.joints.random(p.n, p.q, concentration=0.5, seed=5).probs
    cond, ocond = oracle_cond(kind, p.probs, p_hat)
    cond = cond if cond is not None else Conditionals.exact(p)
    got = cond.block(list(reversed(avars)), j)
    avars = sorted(avars)
    want = [ocond(avars, xa, j) for xa in itertools.product(range(p.q), repeat=len(avars))]
    np.testing.assert_allclose(got, np.array(want).reshape(-1, p.q), rtol=1e-12, atol=1e-15)


def test_block_and_call_reject_bad_variables():
    cond = Conditionals.exact(coupled_pair())
    with pytest.raises(ValueError, match="distinct variables other than j"):
        cond.block([0, 0], 2)
    with pytest.raises(ValueError, match="distinct variables other than j"):
        cond.block([2], 2)
    with pytest.raises(ValueError, match=r"context variable must lie in 0..2, got 3"):
        cond.block([3], 1)
    with pytest.raises(TypeError, match="context variable must be an integer"):
        cond.block([0.0], 1)
    with pytest.raises(TypeError, match=r"variable j must be an integer, got 1\.5"):
        cond(np.array([[0, -1, -1]]), 1.5)
    with pytest.raises(TypeError, match="variable j must be an integer"):
        cond(np.array([[0, -1, -1]]), True)
    with pytest.raises(ValueError, match=r"variable j must lie in 0\.\.2, got -1"):
        cond(np.array([[0, -1, -1]]), -1)


def test_exact_conditionals_have_exactly_zero_learning_error():
    p = unmask.joints.random(4, 3, concentration=0.5, seed=6)
    assert unmask.learning_errors(p, None).tolist() == [0.0] * 4
    assert unmask.learning_errors(p, Conditionals.exact(p.probs.copy())).tolist() == [0.0] * 4
    d = unmask.decompose(p, [2, 1, 1], (1, 3, 0, 2))
    assert d.learning.tolist() == [0.0] * 3
    assert np.all(d.factorization >= 0.0)
    # learned conditionals: every term is a KL, never below 0 from rounding
    p_hat = unmask.joints.random(4, 3, concentration=50.0, seed=7)
    assert np.all(unmask.learning_errors(p, p_hat) >= 0.0)
    assert np.all(unmask.decompose(p, [1, 1, 1, 1], conditionals=p_hat).learning >= 0.0)


@pytest.mark.parametrize(
    ("n", "q", "sizes", "kind"),
    [
        (6, 2, [2, 2, 2], "exact"),
        (6, 2, [3, 1, 2], "p_hat"),
        (5, 3, [2, 3], "tempered"),
        (4, 4, [2, 2], "exact"),
        (4, 4, [1, 3], "callable"),
    ],
)
def test_random_order_law_against_partitions_up_to_n6(n, q, sizes, kind):
    # The issue asks for the brute force over ordered set partitions up to n = 6; the
    # property tests above stop at n = 4.
    p = unmask.joints.random(n, q, concentration=0.3, seed=n + q)
    p_hat = unmask.joints.random(n, q, concentration=1.0, seed=1).probs
    cond, ocond = oracle_cond(kind, p.probs, p_hat)
    law = unmask.sampler_law(p, sizes, conditionals=cond)
    want = oracle.random_order_law(n, q, sizes, ocond)
    np.testing.assert_allclose(law.probs, want, rtol=1e-10, atol=1e-15)


def test_level_accessors_reject_bad_levels():
    cond = Conditionals.exact(coupled_pair())
    with pytest.raises(ValueError, match=r"marginal level must lie in 0\.\.3, got 4"):
        cond.marginals([4])
    with pytest.raises(ValueError, match=r"marginal level must lie in 0\.\.3, got -1"):
        cond.marginals([-1])
    with pytest.raises(TypeError, match="marginal level must be an integer"):
        cond.marginals([1.0])
    with pytest.raises(TypeError, match="context level must be an integer"):
        cond.table(1.5)


# -- hardening: overflow in the size-2 kernel, internal failures, thread teams -----------------
def _ising_chain(n: int, coupling: float) -> np.ndarray:
    spins = np.array(list(itertools.product([-1, 1], repeat=n)))
    energy = coupling * np.sum(spins[:, :-1] * spins[:, 1:], axis=1)
    w = np.exp(energy - energy.max())
    return (w / w.sum()).reshape((2,) * n)


def _hits_overflow_window(p: np.ndarray) -> bool:
    """Some context marginal p(x_A) lies in (1e-308, 1e-154), where 1/p(x_A)^2 overflows."""
    n = p.ndim
    for size in range(1, n):
        for keep in itertools.combinations(range(n), size):
            m = p.sum(axis=tuple(v for v in range(n) if v not in keep))
            if np.any((m > 1e-308) & (m < 1e-154)):
                return True
    return False


def test_size_two_steps_on_a_strongly_coupled_chain_match_brute_force() -> None:
    # inv * inv overflowed for 1e-308 < p(x_A) < 1e-154, and the error blamed the user's law
    p = _ising_chain(6, 60.0)
    assert _hits_overflow_window(p)
    law = unmask.sampler_law(p, [2, 2, 2])
    want = oracle.random_order_law(6, 2, [2, 2, 2], oracle.exact_cond(p))
    assert np.all(np.isfinite(law.flat))
    np.testing.assert_allclose(law.probs, want, rtol=1e-12, atol=1e-300)
    assert unmask.kl(p, law) == pytest.approx(oracle.kl_direct(p, want), rel=1e-10, abs=1e-15)


def test_ising_eight_spins_coupling_forty_matches_the_generic_path() -> None:
    # the case: fast size-2 kernel (marginals) against the generic table kernel
    p = unmask.Joint(_ising_chain(8, 40.0), normalize=True)
    fast = unmask.sampler_law(p, [2, 2, 2, 2])
    exact = Conditionals.exact(p)
    generic = unmask.sampler_law(p, [2, 2, 2, 2], conditionals=lambda x, j: exact(x, j))
    np.testing.assert_allclose(fast.probs, generic.probs, rtol=1e-11, atol=1e-300)
    assert unmask.kl(p, fast) <= unmask.expected_kl(p, [2, 2, 2, 2]) + 1e-12


def test_an_internal_failure_is_not_blamed_on_the_law(monkeypatch: pytest.MonkeyPatch) -> None:
    import unmask.samplers.law as law_module

    real = law_module.core.law_step

    def broken(src, dst, *args):  # an engine defect: NaN in the output
        real(src, dst, *args)
        dst[0] = np.nan

    monkeypatch.setattr(law_module.core, "law_step", broken)
    with pytest.raises(RuntimeError, match=r"internal error.*defect of unmask") as info:
        unmask.sampler_law(unmask.joints.parity(3), [2, 1])
    assert "joint law contains" not in str(info.value)


_THREADS_UNDER_AS_LIMIT = r"""
import resource, sys
import numpy as np
import unmask
from unmask._validation import resolve_threads
limit = 4 * 1024**3
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
assert resolve_threads(600) <= 512  # 4 GiB holds at most ~450 8 MiB stacks, half kept free
p = unmask.joints.random(12, 2, seed=0)
many = unmask.sampler_law(p, [3] * 4, threads=600)
one = unmask.sampler_law(p, [3] * 4, threads=1)
assert np.allclose(many.probs, one.probs, rtol=1e-12, atol=1e-300)
print("survived")
"""


def test_threads_beyond_what_the_os_grants_do_not_kill_the_process() -> None:
    # libgomp calls exit(1) when it cannot create a thread team: 600 threads with 8 MiB stacks
    # under a 4 GiB address-space limit used to end the interpreter
    import subprocess

    run = subprocess.run(
        [sys.executable, "-c", _THREADS_UNDER_AS_LIMIT],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "survived" in run.stdout


def test_thread_counts_are_capped_at_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validation, "available_cores", lambda: 3)
    assert validation.resolve_threads(600) <= 3
    assert validation.resolve_threads(None) <= 3
    with pytest.raises(ValueError, match="<= 4096"):
        validation.resolve_threads(10**6)


def test_float32_softmax_rows_are_accepted_with_a_tolerance() -> None:
    # the fixed 1e-8 row tolerance refused every float32 softmax
    p = unmask.joints.random(3, 3, seed=7)
    exact = Conditionals.exact(p)

    def float32_rows(x, j):
        logits = np.log(np.maximum(exact(x, j), 1e-30)).astype(np.float32)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)  # float32, rows sum to 1 within ~1e-7

    with pytest.raises(ValueError, match=r"tol=1e-5"):
        unmask.sampler_law(p, [2, 1], conditionals=float32_rows)
    cond = Conditionals.from_callable(float32_rows, 3, 3, tol=1e-5)
    got = unmask.sampler_law(p, [2, 1], conditionals=cond)
    want = unmask.sampler_law(p, [2, 1])
    np.testing.assert_allclose(got.probs, want.probs, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match=r"tol must be a number in \(0, 1\)"):
        Conditionals.from_callable(float32_rows, 3, 3, tol=2.0)


def test_progress_reports_every_step_of_the_level_dp() -> None:
    p = unmask.joints.random(6, 2, seed=1)
    calls: list[tuple[int, int]] = []
    got = unmask.sampler_law(p, [2, 1, 3], progress=lambda d, t: calls.append((d, t)))
    assert calls[0] == (0, 3) and calls[-1] == (3, 3)
    np.testing.assert_array_equal(got.probs, unmask.sampler_law(p, [2, 1, 3]).probs)
    with pytest.raises(TypeError, match="progress must be None or a callable"):
        unmask.sampler_law(p, [6], progress=3)
