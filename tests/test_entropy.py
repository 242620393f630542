"""Subset entropies and profiles against the slow oracle, closed forms, identities and dit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from oracle_entropy import profile_h
from oracle_entropy import subset_entropies as oracle_subset_entropies

import unmask
from unmask import joints
from unmask.testing import joints as joint_laws
from unmask.testing import probability_tables

LOG2 = math.log(2.0)


def assert_close(got: np.ndarray, want: np.ndarray, rel: float = 1e-12) -> None:
    got = np.asarray(got)
    want = np.asarray(want)
    err = np.abs(got - want)
    assert np.all(err <= rel * np.maximum(1.0, np.abs(want))), float(err.max())


@given(probability_tables(min_n=1, max_n=8, max_q=4).filter(lambda P: P.size <= 4**6))
@example(np.array([1.0, 0.0]))
@example(np.eye(3).reshape(3, 3) / 3.0)
def test_subset_entropies_match_oracle(P: np.ndarray) -> None:
    joint = unmask.Joint(P, normalize=True)
    assert_close(unmask.subset_entropies(joint), oracle_subset_entropies(joint.probs))


@given(joint_laws(max_n=6, max_q=3))
def test_profile_matches_definition(joint: unmask.Joint) -> None:
    prof = unmask.profile(joint)
    assert_close(prof.h, profile_h(joint.probs), rel=1e-11)


# n >= 15 takes the task-parallel walk (see below for the tables shared by all threads)
@pytest.mark.parametrize(
    ("n", "q"), [(1, 2), (2, 5), (9, 2), (6, 3), (5, 4), (12, 2), (15, 2), (9, 4), (17, 2)]
)
def test_thread_count_does_not_change_results(n: int, q: int) -> None:
    joint = joints.random(n, q, concentration=0.3, seed=n * q)
    ref = unmask.subset_entropies(joint, threads=1)
    for threads in (2, 3) if n >= 14 else (2, 3, 4):
        np.testing.assert_array_equal(unmask.subset_entropies(joint, threads=threads), ref)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_tables_shared_by_threads_give_identical_results(threads: int) -> None:
    """The piece-parallel path for big tables (forced here by a low cut) changes no bit."""
    joint = joints.random(15, 2, concentration=0.3, seed=7)
    ref = unmask.subset_entropies(joint, threads=1)
    out = np.empty(1 << 15)
    unmask._core.subset_entropies(joint.flat, 15, 2, out, threads, 1 << 12)
    np.testing.assert_array_equal(out, ref)


def test_larger_law_against_oracle() -> None:
    joint = joints.random(12, 2, concentration=0.2, seed=3)
    assert_close(unmask.subset_entropies(joint), oracle_subset_entropies(joint.probs))


def test_bits_and_empty_set() -> None:
    joint = joints.random(5, 3, seed=1)
    nats = unmask.subset_entropies(joint)
    bits = unmask.subset_entropies(joint, base=2)
    assert nats[0] == 0.0 and bits[0] == 0.0
    assert_close(bits, nats / LOG2)
    assert math.isclose(unmask.entropy(joint), nats[-1], rel_tol=1e-13)


# -- closed forms (theory section 9) ---------------------------------------------------------


@pytest.mark.parametrize(("n", "q"), [(1, 2), (2, 2), (5, 2), (4, 3), (3, 5)])
def test_all_equal_profile(n: int, q: int) -> None:
    prof = unmask.profile(joints.all_equal(n, q))
    want_f = np.zeros(n - 1)
    if n > 1:
        want_f[0] = math.log(q)
    assert_close(prof.f, want_f)
    assert math.isclose(prof.entropy, math.log(q), rel_tol=1e-13)


@pytest.mark.parametrize("n", [2, 3, 6, 10])
def test_parity_profile(n: int) -> None:
    prof = unmask.profile(joints.parity(n), base=2)
    want = np.zeros(n - 1)
    want[n - 2] = 1.0
    assert_close(prof.f, want)
    assert math.isclose(prof.entropy, n - 1, rel_tol=1e-13)
    assert math.isclose(prof.tc, 1.0, rel_tol=1e-12)  # sum_j H(X_j) - H = n - (n-1)
    assert math.isclose(prof.dtc, n - 1, rel_tol=1e-12)  # H - sum_j H(X_j|X_-j) = n - 1 - 0


def test_independent_profile_is_flat() -> None:
    rng = np.random.default_rng(0)
    marg = rng.dirichlet(np.ones(3), size=5)
    prof = unmask.profile(joints.independent(marg))
    mean_h = np.mean([-(m * np.log(m)).sum() for m in marg])
    assert_close(prof.h, np.full(5, mean_h))
    assert_close(prof.f, np.zeros(4))
    assert prof.tc < 1e-12 and prof.dtc < 1e-12


# -- identities ------------------------------------------------------------------------------


@given(joint_laws(min_n=2, max_n=7, max_q=3))
def test_profile_identities(joint: unmask.Joint) -> None:
    n = joint.n
    prof = unmask.profile(joint)
    H = oracle_subset_entropies(joint.probs)
    full = (1 << n) - 1
    singles = [H[1 << j] for j in range(n)]
    cond_last = [H[full] - H[full & ~(1 << j)] for j in range(n)]
    f, i = prof.f, np.arange(n - 1)
    tol = 1e-10 * max(1.0, H[full])
    assert abs(prof.entropy - H[full]) <= tol
    assert abs(prof.tc - (sum(singles) - H[full])) <= tol
    assert abs(prof.dtc - (H[full] - sum(cond_last))) <= tol
    assert abs(prof.tc - float(((n - 1 - i) * f).sum())) <= tol
    assert abs(prof.dtc - float(((i + 1) * f).sum())) <= tol
    mi = [H[1 << j] + H[full & ~(1 << j)] - H[full] for j in range(n)]
    assert abs(prof.mi_sum - sum(mi)) <= tol
    assert np.all(f >= -1e-12)  # Han's inequality: h is non-increasing
    assert f.sum() <= math.log(joint.q) + 1e-12


@given(joint_laws(min_n=2, max_n=6, max_q=3), st.randoms(use_true_random=False))
def test_invariance_under_permutation_and_relabelling(joint: unmask.Joint, rnd) -> None:
    n, q = joint.n, joint.q
    perm = list(range(n))
    rnd.shuffle(perm)
    permuted = joint.permute(perm)
    P = joint.probs
    for axis in range(n):  # relabel the symbols of each variable independently
        relabel = list(range(q))
        rnd.shuffle(relabel)
        P = np.take(P, relabel, axis=axis)
    relabelled = unmask.Joint(np.ascontiguousarray(P))
    ref = unmask.profile(joint)
    assert_close(unmask.profile(permuted).h, ref.h, rel=1e-11)
    assert_close(unmask.profile(relabelled).h, ref.h, rel=1e-11)
    # subset entropies move with the permutation: new variable k is old variable perm[k]
    H_old = unmask.subset_entropies(joint)
    H_new = unmask.subset_entropies(permuted)
    for A in range(1 << n):
        old = sum(1 << perm[k] for k in range(n) if (A >> k) & 1)
        assert abs(H_new[A] - H_old[old]) <= 1e-11 * max(1.0, H_old[old])


def test_profile_from_subset_entropies_and_from_h() -> None:
    joint = joints.random(7, 2, concentration=0.5, seed=11)
    prof = unmask.profile(joint)
    again = unmask.Profile.from_subset_entropies(unmask.subset_entropies(joint))
    assert_close(again.h, prof.h)
    from_h = unmask.Profile(prof.h)
    assert from_h.n == 7 and math.isclose(from_h.tc, prof.tc)
    from_f = unmask.Profile.from_f(prof.f, h_last=float(prof.h[-1]))
    assert_close(from_f.h, prof.h)


# -- dit cross-checks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "joint",
    [
        joints.random(4, 2, concentration=0.4, seed=5),
        joints.random(3, 3, concentration=1.0, seed=6),
        joints.markov_chain([[0.9, 0.1], [0.2, 0.8]], 5),
        joints.parity(4),
    ],
    ids=["random-binary", "random-ternary", "markov", "parity"],
)
def test_against_dit(joint: unmask.Joint) -> None:
    import dit  # a test dependency (pip install ".[test]"): missing, the test fails, never skips
    dist = joints.to_dit(joint)
    n = joint.n
    H = unmask.subset_entropies(joint, base=2)
    for A in range(1, 1 << n):
        rvs = [j for j in range(n) if (A >> j) & 1]
        assert math.isclose(H[A], dit.shannon.entropy(dist, rvs), rel_tol=1e-9, abs_tol=1e-12)
    prof = unmask.profile(joint, base=2)
    assert math.isclose(prof.tc, dit.multivariate.total_correlation(dist), abs_tol=1e-9)
    assert math.isclose(prof.dtc, dit.multivariate.dual_total_correlation(dist), abs_tol=1e-9)
    back = unmask.joints.from_dit(dist)
    np.testing.assert_allclose(back.probs, joint.probs, atol=1e-15)


# -- errors ----------------------------------------------------------------------------------


def test_memory_is_refused_before_allocation(monkeypatch: pytest.MonkeyPatch) -> None:
    import unmask._validation as validation

    joint = joints.random(10, 2, seed=0)
    monkeypatch.setattr(validation, "available_memory_bytes", lambda: 1000)
    with pytest.raises(MemoryError, match=r"subset entropies for n=10, q=2.*needs about"):
        unmask.subset_entropies(joint)
    with pytest.raises(MemoryError, match=r"needs about .* only"):
        joints.all_equal(20, 2)


def test_huge_standard_law_is_refused() -> None:
    with pytest.raises(MemoryError, match=r"\[2\]\^45"):
        joints.all_equal(45, 2)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"base": 1.0}, ValueError, "base"),
        ({"base": -2.0}, ValueError, "base"),
        ({"threads": 0}, ValueError, "threads"),
        ({"threads": 1.5}, TypeError, "threads"),
    ],
)
def test_bad_arguments(kwargs: dict, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        unmask.subset_entropies(joints.parity(3), **kwargs)


def test_plain_arrays_and_dit_objects_are_accepted() -> None:
    P = joints.parity(3).probs
    np.testing.assert_array_equal(
        unmask.subset_entropies(P), unmask.subset_entropies(joints.parity(3))
    )
    with pytest.raises(ValueError, match="sums to"):
        unmask.subset_entropies(P * 2)


def test_dit_distribution_is_accepted_directly() -> None:
    import dit  # a test dependency (pip install ".[test]"): missing, the test fails, never skips
    dist = dit.Distribution(["000", "011", "101", "110"], [0.25] * 4)  # even parity, n = 3
    prof = unmask.profile(dist, base=2)
    np.testing.assert_allclose(prof.f, [0.0, 1.0], atol=1e-12)
