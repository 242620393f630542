"""markov_profile against the lattice engine, closed forms and direct large-n oracles."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import unmask
from unmask import joints


def _random_chain(seed: int, q: int, zeros: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.full(q, 0.7), size=q)
    if zeros:  # forbid some transitions (keeping rows stochastic)
        P[rng.random((q, q)) < 0.3] = 0.0
        P[np.arange(q), rng.integers(0, q, size=q)] += 0.5
        P /= P.sum(axis=1, keepdims=True)
    mu = rng.dirichlet(np.ones(q))
    return P, mu


@pytest.mark.parametrize("q", [2, 3])
@pytest.mark.parametrize("stationary", [True, False])
def test_matches_lattice_engine_n14(q: int, stationary: bool) -> None:
    P, mu = _random_chain(10 * q + stationary, q)
    initial = None if stationary else mu
    exact = unmask.profile(joints.markov_chain(P, 14, initial))
    got = unmask.markov_profile(P, 14, initial)
    np.testing.assert_allclose(got.h, exact.h, rtol=0, atol=1e-12)


@given(
    seed=st.integers(0, 2**32 - 1),
    q=st.integers(2, 3),
    n=st.integers(1, 9),
    stationary=st.booleans(),
    zeros=st.booleans(),
)
@example(seed=0, q=2, n=1, stationary=False, zeros=False)
@example(seed=0, q=3, n=2, stationary=True, zeros=True)
@example(seed=5, q=2, n=3, stationary=False, zeros=True)
def test_matches_lattice_engine(seed: int, q: int, n: int, stationary: bool, zeros: bool) -> None:
    P, mu = _random_chain(seed, q, zeros)
    initial = None if stationary else mu
    exact = unmask.profile(joints.markov_chain(P, n, initial))
    got = unmask.markov_profile(P, n, initial)
    np.testing.assert_allclose(got.h, exact.h, rtol=0, atol=1e-12)


def test_stationary_initial_given_explicitly_equals_default() -> None:
    P, _ = _random_chain(3, 3)
    pi = joints.stationary_distribution(P)
    a = unmask.markov_profile(P, 300)
    b = unmask.markov_profile(P, 300, initial=pi)
    c = unmask.markov_profile(P, 300, initial=pi + np.array([1e-9, -1e-9, 0.0]))  # general path
    np.testing.assert_allclose(b.h, a.h, rtol=0, atol=1e-12)
    np.testing.assert_allclose(c.h, a.h, rtol=0, atol=1e-7)
    assert "non-stationary" in c.source and "non-stationary" not in a.source


@pytest.mark.parametrize("q", [2, 5])
def test_closed_forms_at_large_n(q: int) -> None:
    n = 2000
    # identity: all variables equal -> h(0) = log q, h(i >= 1) = 0 (theory section 9)
    h = unmask.markov_profile(np.eye(q), n, initial=np.full(q, 1.0 / q)).h
    assert math.isclose(h[0], math.log(q), abs_tol=1e-12)
    assert np.max(np.abs(h[1:])) < 1e-12
    # rows equal to a law: independent variables, h constant = H(law)
    law = np.arange(1.0, q + 1) / np.arange(1.0, q + 1).sum()
    h = unmask.markov_profile(np.tile(law, (q, 1)), n, initial=law).h
    np.testing.assert_allclose(h, -np.sum(law * np.log(law)), rtol=0, atol=1e-11)
    # a deterministic cycle with a uniform start: same as all-equal
    cycle = np.roll(np.eye(q), 1, axis=1)
    h = unmask.markov_profile(cycle, n).h
    assert math.isclose(h[0], math.log(q), abs_tol=1e-12)
    assert np.max(np.abs(h[1:])) < 1e-11


def _entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


@pytest.mark.parametrize("stationary", [True, False])
def test_end_levels_against_direct_sums_at_n_400(stationary: bool) -> None:
    """h(0) = mean_j H(X_j), h(1) and h(n-1) = mean_j H(X_j | X_-j), computed directly."""
    n, q = 400, 3
    P, mu = _random_chain(7, q)
    initial = None if stationary else mu
    m0 = joints.stationary_distribution(P) if stationary else mu
    marg = [m0]
    for _ in range(n - 1):
        marg.append(marg[-1] @ P)
    marg_arr = np.array(marg)
    h = unmask.markov_profile(P, n, initial).h
    assert math.isclose(h[0], np.mean([_entropy(m) for m in marg_arr]), abs_tol=1e-12)

    def cond_entropy(joint2: np.ndarray) -> float:  # H(second | first) of a (q, q) table
        return _entropy(joint2.ravel()) - _entropy(joint2.sum(axis=1))

    # h(n-1): each j given all others = given its two neighbours (one at the ends)
    terms = []
    for j in range(n):
        if j == 0:
            t = _entropy((marg_arr[0][:, None] * P).ravel()) - _entropy(marg_arr[1])
        elif j == n - 1:
            t = cond_entropy(marg_arr[j - 1][:, None] * P)
        else:
            trip = marg_arr[j - 1][:, None, None] * P[:, :, None] * P[None, :, :]
            t = _entropy(trip.ravel()) - _entropy(trip.sum(axis=1).ravel())
        terms.append(t)
    assert math.isclose(h[n - 1], math.fsum(terms) / n, abs_tol=1e-10)
    # h(1): average over the unmasked k and masked j != k of H(X_j | X_k) = H(X_j, X_k) - H(X_k)
    powers = [np.eye(q)]
    for _ in range(n):
        powers.append(powers[-1] @ P)
    total = 0.0
    row_ent = np.array([[_entropy(pw[a]) for a in range(q)] for pw in powers])
    for k in range(n):
        # j > k: H(X_j | X_k) = sum_a m_k(a) H(P^(j-k)[a])
        total += float(marg_arr[k] @ row_ent[1 : n - k].sum(axis=0))
        # j < k: H(X_j | X_k) = H(X_j) + H(X_k | X_j) - H(X_k)
        js = np.arange(k)
        total += float(
            sum(_entropy(marg_arr[j]) + marg_arr[j] @ row_ent[k - j] for j in js)
            - k * _entropy(marg_arr[k])
        )
    assert math.isclose(h[1], total / (n * (n - 1)), abs_tol=1e-10)


@given(seed=st.integers(0, 2**32 - 1), q=st.integers(2, 4), n=st.integers(2, 400))
def test_non_increasing_and_bounded(seed: int, q: int, n: int) -> None:
    P, mu = _random_chain(seed, q, zeros=bool(seed % 2))
    h = unmask.markov_profile(P, n, initial=mu if seed % 3 else None).h
    assert np.all(np.diff(h) <= 1e-12)
    assert h[-1] >= -1e-12 and h[0] <= math.log(q) + 1e-12


def test_threads_and_base() -> None:
    P, mu = _random_chain(11, 3)
    one = unmask.markov_profile(P, 2500, mu, threads=1)
    two = unmask.markov_profile(P, 2500, mu, threads=2)
    np.testing.assert_array_equal(one.h, two.h)
    bits = unmask.markov_profile(P, 2500, mu, base=2)
    np.testing.assert_allclose(bits.h, one.h / math.log(2), rtol=1e-15)
    assert bits.unit == "bits"


def test_length_ten_thousand_is_finite_and_monotone() -> None:
    P, mu = _random_chain(2, 2)
    h = unmask.markov_profile(P, 10_000, mu).h
    assert h.shape == (10_000,) and np.all(np.isfinite(h)) and np.all(np.diff(h) <= 1e-12)


@pytest.mark.parametrize(
    ("transition", "n", "initial", "exc", "match"),
    [
        (np.ones((2, 3)) / 3, 5, None, ValueError, "square"),
        ([[0.5, 0.6], [0.5, 0.5]], 5, None, ValueError, "transition row 0 sums"),
        ([[1.5, -0.5], [0.5, 0.5]], 5, None, ValueError, "negative"),
        ([[np.nan, 0.5], [0.5, 0.5]], 5, None, ValueError, "non-finite"),
        ([[0.5, 0.5], [0.5, 0.5]], 0, None, ValueError, "n must be an integer >= 1"),
        ([[0.5, 0.5], [0.5, 0.5]], 2.5, None, ValueError, "n must be an integer >= 1"),
        ([[0.5, 0.5], [0.5, 0.5]], 5, [1.0], ValueError, "initial must have length q = 2"),
        ([[0.5, 0.5], [0.5, 0.5]], 5, [0.7, 0.7], ValueError, "initial sums"),
    ],
)
def test_bad_input(transition, n, initial, exc, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(exc, match=match):
        unmask.markov_profile(transition, n, initial)


def test_memory_refused_before_allocating() -> None:
    with pytest.raises(MemoryError, match="markov_profile"):
        unmask.markov_profile(np.full((4, 4), 0.25), 10**15)


def test_bad_base_and_threads() -> None:
    with pytest.raises(ValueError, match="base"):
        unmask.markov_profile(np.full((2, 2), 0.5), 4, base=1.0)
    with pytest.raises(ValueError, match="threads"):
        unmask.markov_profile(np.full((2, 2), 0.5), 4, threads=0)


def test_ctrl_c_interrupts_a_long_computation() -> None:
    import _thread
    import threading

    P, mu = _random_chain(1, 3)
    timer = threading.Timer(0.2, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            unmask.markov_profile(P, 200_000, mu, max_work=None)  # a minute's work
    finally:
        timer.cancel()
    # and the core still works afterwards
    assert unmask.markov_profile(P, 5, mu).n == 5


def _cond_entropy_oracle(P: np.ndarray, mu: np.ndarray, n: int, levels: list[int]) -> list[float]:
    """h(i) by brute force over the nearest revealed neighbours (l, r) of each masked j.

    Independent of the C++ decomposition: explicit (X_l, X_j, X_r) tables from numpy matrix
    powers, and the probability that l and r are consecutive members of a uniform i-subset
    (C(n - (r-l+1), i-2), or C(n-1-r, i-1) / C(l, i-1) with one side empty) as exact integers.
    """
    from fractions import Fraction

    q = P.shape[0]
    powers = [np.eye(q)]
    for _ in range(n):
        powers.append(powers[-1] @ P)
    marg = [mu @ powers[t] for t in range(n)]

    def ent(t: np.ndarray) -> float:
        t = t[t > 0]
        return float(-(t * np.log(t)).sum())

    both = {}  # (l, r) -> sum_{l<j<r} H(X_j | X_l, X_r)
    for l in range(n):
        for r in range(l + 2, n):
            total = 0.0
            for j in range(l + 1, r):
                t = marg[l][:, None, None] * powers[j - l][:, :, None] * powers[r - j][None, :, :]
                total += ent(t) - ent(t.sum(axis=1))
            both[(l, r)] = total
    right_only = []  # r -> sum_{j<r} H(X_j | X_r)
    left_only = []  # l -> sum_{j>l} H(X_j | X_l)
    for k in range(n):
        right_only.append(
            sum(ent(marg[j][:, None] * powers[k - j]) - ent(marg[k]) for j in range(k))
        )
        left_only.append(
            sum(ent(marg[k][:, None] * powers[j - k]) - ent(marg[k]) for j in range(k + 1, n))
        )
    out = []
    for i in levels:
        den = math.comb(n, i) * (n - i)
        acc = [float(Fraction(math.comb(n - 1 - r, i - 1), den)) * right_only[r] for r in range(n)]
        acc += [float(Fraction(math.comb(l, i - 1), den)) * left_only[l] for l in range(n)]
        if i >= 2:
            acc += [
                float(Fraction(math.comb(n - (r - l + 1), i - 2), den)) * v
                for (l, r), v in both.items()
            ]
        out.append(math.fsum(acc))
    return out


@pytest.mark.parametrize("stationary", [True, False])
def test_middle_levels_against_neighbour_oracle_n_40(stationary: bool) -> None:
    # n = 40 is past the lattice engine; q = 3 reaches the bitwise fixed point of P^d (the
    # early exit of the power loop) at d ~ 30 < n, so the copied row entropies are checked too
    n, q = 40, 3
    P, mu = _random_chain(21, q)
    init = joints.stationary_distribution(P) if stationary else mu
    levels = [1, 2, 5, 13, 20, 31, 38, 39]
    got = unmask.markov_profile(P, n, None if stationary else mu).h
    want = _cond_entropy_oracle(P, init, n, levels)
    np.testing.assert_allclose(got[levels], want, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("transition", "match"),
    [
        (np.eye(2, dtype=bool), "transition must be a real numeric matrix, got dtype bool"),
        (np.eye(2) + 0j, "got dtype complex128"),
        ([["a", "b"], ["c", "d"]], "got dtype <U1"),
    ],
)
def test_non_real_transition_is_refused_not_cast(transition, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match=match):
        unmask.markov_profile(transition, 5)
    with pytest.raises(TypeError, match=match):
        joints.markov_chain(transition, 3)


def test_float32_rows_get_a_usable_message() -> None:
    P32 = np.array([[0.9, 0.1], [0.3, 0.7]], dtype=np.float32)  # rows sum to 1 - 2e-8
    with pytest.raises(ValueError, match=r"transition row 0 sums to .*rescale the rows"):
        unmask.markov_profile(P32, 5)
    P = P32.astype(np.float64)
    fixed = unmask.markov_profile(P / P.sum(axis=1, keepdims=True), 5)
    assert fixed.n == 5


def test_default_law_checked_for_stationarity(monkeypatch: pytest.MonkeyPatch) -> None:
    # if the least-squares stationary law were off, the fast path (every X_t has law pi) would
    # be wrong; the general path must be taken and match the lattice engine with that start
    import unmask.profiles.markov as markov_module

    P, _ = _random_chain(4, 3)
    pi = joints.stationary_distribution(P)
    off = np.array([pi[0] + 1e-6, pi[1] - 1e-6, pi[2]])
    monkeypatch.setattr(markov_module, "stationary_distribution", lambda _P: off)
    got = unmask.markov_profile(P, 8)
    assert "non-stationary" in got.source
    exact = unmask.profile(joints.markov_chain(P, 8, off))
    np.testing.assert_allclose(got.h, exact.h, rtol=0, atol=1e-12)


def test_huge_n_is_a_value_error_not_a_binding_signature() -> None:
    # markov_profile(P, 2**64) surfaced the private pybind signature (TypeError)
    with pytest.raises(ValueError, match=r"n must be at most 2\*\*62"):
        unmask.markov_profile(np.full((2, 2), 0.5), 2**64)


def test_cost_is_estimated_and_refused_up_front() -> None:
    # non-stationary n = 1e6 ran for hours; the refusal must come at once, with the estimate
    P = np.array([[0.9, 0.1], [0.2, 0.8]])
    with pytest.raises(ValueError, match=r"non-stationary, O\(n\^2 q\).*about 8e\+03 s on one"):
        unmask.markov_profile(P, 10**6, [1.0, 0.0])
    with pytest.raises(ValueError, match=r"stationary, O\(n log n\).*max_work"):
        unmask.markov_profile(P, 10**7)
    from unmask.profiles.markov import markov_work

    assert markov_work(1000, 2, False) == pytest.approx(1000 * 8 + 2e6)
    # below the cap nothing changes
    assert unmask.markov_profile(P, 50, [1.0, 0.0], max_work=1e5).n == 50
    with pytest.raises(ValueError, match="max_work"):
        unmask.markov_profile(P, 50, [1.0, 0.0], max_work=1e3)
