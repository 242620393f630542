"""Joint validation and the standard laws against direct constructions."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import unmask
from unmask import joints


def test_joint_is_a_zero_copy_read_only_view() -> None:
    P = np.full((2, 2, 2), 0.125)
    J = unmask.Joint(P)
    assert np.shares_memory(J.probs, P)
    assert not J.probs.flags.writeable
    assert (J.n, J.q, J.support_size) == (3, 2, 8)
    with pytest.raises(ValueError):
        J.probs[0, 0, 0] = 1.0


@pytest.mark.parametrize(
    ("probs", "exc", "match"),
    [
        (np.array(1.0), ValueError, "at least one variable"),
        (np.ones((1,)), ValueError, "alphabet size"),
        (np.full((2, 3), 1 / 6), ValueError, r"shape \(q,\)\*n"),
        (np.array([0.5, np.nan]), ValueError, "non-finite"),
        (np.array([0.5, np.inf]), ValueError, "non-finite"),
        (np.array([1.5, -0.5]), ValueError, "negative"),
        (np.array([0.3, 0.3]), ValueError, "sums to 0.6"),
        (np.array([0.0, 0.0]), ValueError, "cannot be normalized"),
        (np.array(["a", "b"]), TypeError, "numeric"),
        (np.array([True, False]), TypeError, "numeric"),
    ],
)
def test_joint_rejects_bad_input(probs: np.ndarray, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        unmask.Joint(probs)


def test_normalize_and_integer_input() -> None:
    J = unmask.Joint(np.array([[1, 1], [2, 0]]), normalize=True)
    np.testing.assert_allclose(J.probs, [[0.25, 0.25], [0.5, 0.0]])
    assert unmask.Joint(J) == J


def test_marginal_permute_sample() -> None:
    J = joints.random(4, 3, seed=2)
    np.testing.assert_allclose(J.marginal([0, 2]), J.probs.sum(axis=(1, 3)))
    np.testing.assert_allclose(J.marginal(0b0101), J.probs.sum(axis=(1, 3)))
    np.testing.assert_allclose(J.permute([3, 2, 1, 0]).probs, J.probs.transpose(3, 2, 1, 0))
    with pytest.raises(ValueError, match="permutation"):
        J.permute([0, 0, 1, 2])
    with pytest.raises(ValueError, match="out of range"):
        J.marginal(1 << 4)
    x = J.sample(50_000, seed=0)
    emp = joints.from_samples(x, q=3)
    assert 0.5 * np.abs(emp.probs - J.probs).sum() < 0.03


def test_all_equal_and_parity_supports() -> None:
    J = joints.all_equal(3, 4)
    for x in itertools.product(range(4), repeat=3):
        want = 0.25 if len(set(x)) == 1 else 0.0
        assert J.probs[x] == want
    P = joints.parity(5)
    for x in itertools.product(range(2), repeat=5):
        assert P.probs[x] == (1 / 16 if sum(x) % 2 == 0 else 0.0)
    with pytest.raises(ValueError, match="n >= 2"):
        joints.parity(1)


def test_markov_chain_by_direct_product() -> None:
    P = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]])
    init = np.array([0.2, 0.5, 0.3])
    J = joints.markov_chain(P, 4, initial=init)
    for x in itertools.product(range(3), repeat=4):
        want = init[x[0]] * P[x[0], x[1]] * P[x[1], x[2]] * P[x[2], x[3]]
        assert math.isclose(J.probs[x], want, rel_tol=1e-12, abs_tol=1e-300)
    pi = joints.stationary_distribution(P)
    np.testing.assert_allclose(pi @ P, pi, atol=1e-14)
    S = joints.markov_chain(P, 3)
    np.testing.assert_allclose(S.marginal([2]), pi, atol=1e-13)
    with pytest.raises(ValueError, match="transition row 1"):
        joints.markov_chain([[0.5, 0.5], [0.9, 0.2]], 3)
    with pytest.raises(ValueError, match="square"):
        joints.markov_chain(np.ones((2, 3)) / 3, 3)
    with pytest.raises(ValueError, match="initial must have length"):
        joints.markov_chain(P, 3, initial=[0.5, 0.5])


def test_ising_by_direct_enumeration() -> None:
    rng = np.random.default_rng(4)
    J = rng.normal(size=(4, 4))
    J = (J + J.T) / 2
    h = rng.normal(size=4)
    law = joints.ising(J, h, beta=0.7)
    w = {}
    for x in itertools.product(range(2), repeat=4):
        s = 2 * np.array(x) - 1
        e = sum(J[i, j] * s[i] * s[j] for i in range(4) for j in range(i + 1, 4)) + h @ s
        w[x] = math.exp(0.7 * e)
    z = sum(w.values())
    for x, v in w.items():
        assert math.isclose(law.probs[x], v / z, rel_tol=1e-12)
    with pytest.raises(ValueError, match="symmetric"):
        joints.ising(np.array([[0.0, 1.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="fields"):
        joints.ising(np.zeros((3, 3)), [1.0, 2.0])


def test_mixture_independent_random_from_samples() -> None:
    comps = np.array([[[0.9, 0.1], [0.8, 0.2]], [[0.1, 0.9], [0.3, 0.7]]])
    law = joints.mixture_of_products([0.25, 0.75], comps)
    for x in itertools.product(range(2), repeat=2):
        want = (
            0.25 * comps[0, 0, x[0]] * comps[0, 1, x[1]]
            + 0.75 * comps[1, 0, x[0]] * comps[1, 1, x[1]]
        )
        assert math.isclose(law.probs[x], want, rel_tol=1e-13)
    with pytest.raises(ValueError, match=r"shape \(C, n, q\)"):
        joints.mixture_of_products([1.0], comps)
    a = joints.random(3, 2, seed=9)
    assert a == joints.random(3, 2, seed=9)
    assert a != joints.random(3, 2, seed=10)
    with pytest.raises(ValueError, match="concentration"):
        joints.random(3, 2, concentration=0.0)
    emp = joints.from_samples([[0, 1], [0, 1], [1, 1], [2, 0]])
    assert emp.q == 3
    assert emp.probs[0, 1] == 0.5 and emp.probs[1, 1] == 0.25 and emp.probs[2, 0] == 0.25
    with pytest.raises(ValueError, match="symbol 3 >= q = 2"):
        joints.from_samples([[0, 3]], q=2)
    with pytest.raises(ValueError, match="non-negative"):
        joints.from_samples([[0, -1]])
    with pytest.raises(ValueError, match=r"shape \(m, n\)"):
        joints.from_samples([0, 1])
    with pytest.raises(ValueError, match="q must be an integer >= 2"):
        joints.all_equal(3, 1)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        joints.all_equal(0, 2)


@pytest.mark.parametrize(("n", "q", "digits"), [(10**7, 2, "3010300"), (2000, 2, "602"),
                                                 (100, 16, "120")])
def test_astronomical_sizes_are_refused_without_overflow(n: int, q: int, digits: str) -> None:
    # 8.0 * 2**(10**7) used to raise OverflowError (int too large to convert to float), and
    # printing q**n in full is refused by Python above 4300 digits.
    from unmask.laws.joint import check_dense_size

    with pytest.raises(MemoryError, match=rf"\[{q}\]\^{n} \(about 10\^{digits} entries\)"):
        check_dense_size(n, q)
    with pytest.raises(MemoryError, match="is available"):
        unmask.joints.all_equal(n, q)


# -- one normalised law for every function -------------------------------------------------------
def test_a_table_within_tolerance_is_the_normalised_law_everywhere() -> None:
    # kl/tv used the raw table while the entropies used p / sum(p): 5e-10 inconsistencies
    raw = np.full((2, 2), 0.25)
    raw[0, 0] += 4e-10
    law = unmask.Joint(raw)
    total = math.fsum(raw.ravel().tolist())
    normalised = [v / total for v in raw.ravel().tolist()]
    assert math.fsum(law.flat.tolist()) == pytest.approx(1.0, abs=1e-15)
    assert unmask.kl(law, raw) == 0.0 and unmask.tv(law, raw) == 0.0
    uniform = np.full((2, 2), 0.25)
    by_hand = math.fsum(p * math.log(p / 0.25) for p in normalised)
    assert unmask.kl(law, uniform) == pytest.approx(by_hand, abs=1e-16)
    assert unmask.kl(law, uniform) == pytest.approx(
        2 * math.log(2) - unmask.entropy(law), abs=1e-15
    )


def test_a_broadcast_table_is_refused_before_it_is_copied() -> None:
    # np.broadcast_to(1.0, (2,)*31) occupies 8 bytes; normalising it copied 16 GiB unchecked
    import subprocess
    import sys

    script = (
        "import resource, numpy as np, unmask\n"
        "lim = 3 * 1024**3\n"
        "resource.setrlimit(resource.RLIMIT_AS, (lim, lim))\n"
        "try:\n"
        "    unmask.Joint(np.broadcast_to(1.0, (2,) * 31), normalize=True)\n"
        "except MemoryError as exc:\n"
        "    print('refused:', exc)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr
    assert "refused:" in run.stdout and "2147483648 entries" in run.stdout


def test_random_law_with_a_huge_concentration_is_still_a_law() -> None:
    # draws near 1e308 overflowed their sum: "joint law sums to 0.0" blamed the law
    law = joints.random(4, 2, concentration=1e308, seed=0)
    assert np.all(np.isfinite(law.flat)) and math.fsum(law.flat.tolist()) == pytest.approx(1.0)
    assert unmask.tv(law, np.full((2,) * 4, 1 / 16)) < 1e-6  # huge concentration: near uniform
