"""Review of issue 2 (foundation): bad inputs, near-normalised laws, exact Han's inequality.

Every bug found in review is pinned here against an independent oracle (numpy sums over
subsets, closed forms of theory section 9) or a precise error message.
"""

from __future__ import annotations

import itertools
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

LOG2 = math.log(2.0)

# -- log base: only numbers > 1 -------------------------------------------------------------


@pytest.mark.parametrize("base", [0.5, 1.0, 0.0, -2.0, float("inf"), float("nan")])
def test_base_not_above_one_is_refused_everywhere(base: float) -> None:
    """A base in (0, 1) used to give negative entropies and an all-zero profile (clamped)."""
    law = joints.parity(3)
    for call in (
        lambda: unmask.subset_entropies(law, base=base),
        lambda: unmask.profile(law, base=base),
        lambda: unmask.entropy(law, base=base),
        lambda: unmask.Profile([1.0, 0.5], base=base),
        lambda: unmask.Profile([1.0, 0.5]).in_base(base),
    ):
        with pytest.raises(ValueError, match="base must be a finite number > 1"):
            call()


@pytest.mark.parametrize("base", ["2", True, 2 + 0j, None])
def test_non_numeric_base_is_refused(base: object) -> None:
    if base is None:  # None is nats: the reference everything else is checked against
        assert unmask.entropy(joints.parity(3), base=base) == pytest.approx(2 * LOG2)
        return
    with pytest.raises(TypeError, match="base must be a real number > 1"):
        unmask.subset_entropies(joints.parity(3), base=base)  # type: ignore[arg-type]


def test_profile_in_base_matches_direct_computation() -> None:
    law = joints.random(5, 3, concentration=0.4, seed=2)
    ent = oracle_subset_entropies(law.probs) / math.log(10)
    direct = unmask.profile(law, base=10)
    via = unmask.profile(law).in_base(10)
    np.testing.assert_allclose(via.h, direct.h, rtol=1e-12, atol=1e-15)
    assert math.isclose(direct.entropy, ent[-1], rel_tol=1e-12)
    assert direct.unit == "hartleys"


def test_bad_base_is_refused_before_the_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    calls: list[int] = []
    entropy_module = sys.modules["unmask.profiles.lattice"]

    real = entropy_module.subset_entropies

    def spy(*args: object, **kwargs: object) -> np.ndarray:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(entropy_module, "subset_entropies", spy)
    with pytest.raises(ValueError, match="base"):
        unmask.profile(joints.parity(4), base=1.0)
    assert calls == []


# -- threads --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("threads", "exc", "match"),
    [
        (10**6, ValueError, "threads must be <= 4096"),
        (2**40, ValueError, "threads must be <= 4096"),
        (True, TypeError, "threads must be an int"),
        ("2", TypeError, "threads must be an int"),
    ],
)
def test_thread_counts_out_of_range(threads: object, exc: type, match: str) -> None:
    """2**40 used to reach pybind11 and fail with an 'incompatible function arguments' TypeError."""
    with pytest.raises(exc, match=match):
        unmask.subset_entropies(joints.parity(3), threads=threads)  # type: ignore[arg-type]


# -- laws that sum to 1 within the tolerance -------------------------------------------------


@given(
    joint_laws(min_n=1, max_n=6, max_q=3),
    st.floats(-9e-10, 9e-10).filter(lambda e: e != 0.0),
)
@example(joints.independent(np.full((6, 2), 0.5)), 9e-10)
def test_near_normalised_tables_give_the_entropies_of_the_law(
    joint: unmask.Joint, eps: float
) -> None:
    """Joint accepts a total of 1 +- 1e-9 without copying; the results are those of p / total.

    Before the fix the pinned example (independent fair bits times 1 + 9e-10) gave
    f(0) = -9e-10 (Han's inequality broken, is_monotone False) and H off by 3e-9.
    """
    scaled = joint.probs * (1.0 + eps)
    total = math.fsum(scaled.ravel().tolist())
    assert abs(total - 1.0) <= 1e-9  # accepted as a law
    law = unmask.Joint(scaled)
    want = oracle_subset_entropies(scaled / total)
    got = unmask.subset_entropies(law)
    assert np.all(np.abs(got - want) <= 1e-12 * np.maximum(1.0, np.abs(want)))
    assert abs(unmask.entropy(law) - want[-1]) <= 1e-12 * max(1.0, want[-1])
    prof = unmask.profile(law)
    assert np.all(np.abs(prof.h - profile_h(scaled / total)) <= 1e-11)
    assert prof.is_monotone and np.all(prof.f >= 0.0)


# -- Han's inequality holds exactly ---------------------------------------------------------


@given(joint_laws(min_n=2, max_n=7, max_q=3))
@example(joints.parity(12))
@example(joints.independent(np.tile([0.2, 0.3, 0.5], (6, 1))))
def test_exact_profiles_have_f_nonnegative_and_entropies_nonnegative(
    joint: unmask.Joint,
) -> None:
    """Rounding used to leave f(i) ~ -1e-16 (188 of 200 random independent laws; and in
    ``unmask profile parity --n 12``)."""
    prof = unmask.profile(joint)
    assert np.all(prof.f >= 0.0)
    assert np.all(np.diff(prof.h) <= 0.0)
    assert np.all(unmask.subset_entropies(joint) >= 0.0)
    want = profile_h(joint.probs)
    assert np.all(np.abs(prof.h - want) <= 1e-11 * max(1.0, float(want.max())))


def test_independent_laws_have_exactly_zero_information() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        prof = unmask.profile(joints.independent(rng.dirichlet(np.ones(3), size=6)))
        assert np.all(prof.f >= 0.0) and float(prof.f.max()) < 1e-14


# -- Joint ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("probs", "exc", "match"),
    [
        (None, TypeError, "real numeric array, got dtype object"),
        ("ab", TypeError, "real numeric array"),
        ([[0.5], [0.25, 0.25]], ValueError, "rectangular"),
        (np.array([0.5, 0.5], dtype=complex), TypeError, "complex"),
    ],
)
def test_joint_rejects_non_arrays_clearly(probs: object, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        unmask.Joint(probs)


def test_joint_normalize_survives_huge_entries() -> None:
    """fsum used to overflow ('intermediate overflow in fsum') on entries near 1e308."""
    law = unmask.Joint(np.array([1e308, 1e308, 0.0, 5e307]), normalize=True)
    np.testing.assert_allclose(law.probs, [0.4, 0.4, 0.0, 0.2], rtol=1e-15)
    with pytest.raises(ValueError, match="sums to inf"):
        unmask.Joint(np.array([1e308, 1e308]))


@pytest.mark.parametrize(
    ("variables", "exc", "match"),
    [
        ([1.5], TypeError, "variable indices must be ints"),
        ("01", TypeError, "bitmask int or an iterable"),
        (True, TypeError, "bitmask int or an iterable"),
        ([True], TypeError, "variable indices must be ints"),
        ([3], ValueError, r"0\.\.2"),
        ([-1], ValueError, r"0\.\.2"),
    ],
)
def test_marginal_rejects_ambiguous_variables(variables: object, exc: type, match: str) -> None:
    """[1.5] used to be read as variable 1 and "01" as variables 0 and 1."""
    with pytest.raises(exc, match=match):
        joints.parity(3).marginal(variables)


def test_marginal_against_direct_sums() -> None:
    law = joints.random(4, 3, seed=5)
    for k in range(5):
        for keep in itertools.combinations(range(4), k):
            drop = tuple(j for j in range(4) if j not in keep)
            want = law.probs.sum(axis=drop) if drop else law.probs
            np.testing.assert_allclose(law.marginal(list(keep)), want, rtol=1e-14)
            np.testing.assert_allclose(
                law.marginal(np.array(keep, dtype=np.int64)), want, rtol=1e-14
            )


def test_permute_and_sample_validation() -> None:
    law = joints.parity(3)
    with pytest.raises(ValueError, match="given as integers"):
        law.permute([0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="size must be >= 0"):
        law.sample(-1)
    with pytest.raises(TypeError, match="size must be an int"):
        law.sample(1.5)  # type: ignore[arg-type]
    with pytest.raises(MemoryError, match="samples of length 3"):
        law.sample(10**15)
    assert law.sample(0).shape == (0, 3)


# -- Profile --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"h": "abc"}, TypeError, "h must be a real numeric array"),
        ({"h": [True, False]}, TypeError, "h must be a real numeric array"),
        ({"h": [1 + 1j]}, TypeError, "h must be a real numeric array"),
        ({"h": [1e308, 1e308]}, ValueError, "overflows"),
        ({"h": [1.0], "base": "2"}, TypeError, "base"),
        ({"h": [1.0], "lower": [2.0], "upper": [0.0]}, ValueError, "inverted"),
        ({"h": [1.0], "stderr": ["x"]}, TypeError, "stderr must be a real numeric array"),
    ],
)
def test_profile_constructor_rejects(kwargs: dict, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        unmask.Profile(**kwargs)


def test_profile_from_subset_entropies_checks_its_input() -> None:
    with pytest.raises(ValueError, match="H\\(empty set\\) and must be 0"):
        unmask.Profile.from_subset_entropies([5.0, 1.0, 1.0, 1.5])
    with pytest.raises(ValueError, match="NaN or infinite"):
        unmask.Profile.from_subset_entropies([0.0, np.nan, 1.0, 1.0])
    with pytest.raises(TypeError, match="entropies must be a real numeric array"):
        unmask.Profile.from_subset_entropies(["0", "1", "1", "1"])
    # X_0 = X_1 a fair bit: H = (0, log 2, log 2, log 2), h = (log 2, 0)
    prof = unmask.Profile.from_subset_entropies([0.0, LOG2, LOG2, LOG2])
    np.testing.assert_allclose(prof.h, [LOG2, 0.0], atol=1e-16)


def test_profile_scalars_on_closed_forms() -> None:
    """TC, DTC and sum_j I(X_j; X_-j) of all-equal laws: (n-1) log q, (n-1) log q, n log q."""
    for n, q in [(2, 2), (4, 3), (6, 2)]:
        prof = unmask.profile(joints.all_equal(n, q))
        lq = math.log(q)
        assert math.isclose(prof.tc, (n - 1) * lq, rel_tol=1e-12)
        assert math.isclose(prof.dtc, lq, rel_tol=1e-12)
        assert math.isclose(prof.mi_sum, n * lq, rel_tol=1e-12)
        # Chen-Cong-Li curve Z_j = h(0) - h(j-1): log q for every j >= 2
        np.testing.assert_allclose(prof.information_curve, [0.0] + [lq] * (n - 1), atol=1e-12)


# -- standard laws --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: joints.ising(np.ones((2, 2)), beta=float("nan")), ValueError, "beta"),
        (lambda: joints.ising(np.ones((2, 2)), beta=float("inf")), ValueError, "beta"),
        (lambda: joints.ising(np.ones((2, 2)), beta="x"), TypeError, "beta"),
        (lambda: joints.ising(np.full((2, 2), 1e308), [1e308, 1e308]), ValueError, "overflows"),
        (lambda: joints.random(3, 2, concentration="a"), TypeError, "concentration"),
        (lambda: joints.random(3, 2, concentration=None), TypeError, "concentration"),
        (lambda: joints.from_samples([[0, 1]], q=2.7), ValueError, "q must be an integer >= 2"),
        (lambda: joints.from_samples([[0, 1]], q=True), ValueError, "q must be an integer"),
        (lambda: joints.from_samples([[0, 0]], q=0), ValueError, "q must be an integer"),
        (lambda: joints.from_samples([["a", "b"]]), TypeError, "integer array"),
        (lambda: joints.from_samples(np.array([[0, None]])), TypeError, "integer array"),
        (lambda: joints.parity(True), ValueError, "n >= 2"),
        (lambda: joints.to_dit(joints.parity(3), min_prob=0.5), ValueError, "min_prob"),
    ],
)
def test_standard_laws_reject_bad_parameters(call: object, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        call()  # type: ignore[operator]


def test_ising_memory_counts_the_spin_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """The (2^n, n) spin table is n times the joint: it must be part of the estimate."""
    import unmask._validation as validation

    limit = 8 * (1 << 12) * 3  # room for the joint, not for the spins at n = 12
    monkeypatch.setattr(validation, "available_memory_bytes", lambda: limit)
    with pytest.raises(MemoryError, match="Ising energies"):
        joints.ising(np.zeros((12, 12)))


def test_ising_negative_beta_flips_the_coupling() -> None:
    ferro = joints.ising([[0.0, 1.0], [1.0, 0.0]], beta=-0.5)
    anti = joints.ising([[0.0, -1.0], [-1.0, 0.0]], beta=0.5)
    np.testing.assert_allclose(ferro.probs, anti.probs, rtol=1e-15)
    e = math.exp(-0.5)
    np.testing.assert_allclose(ferro.probs[0, 0], e / (2 * e + 2 / e), rtol=1e-15)


def test_to_dit_accepts_arrays_and_round_trips() -> None:
    import dit  # noqa: F401  # a test dependency: missing, the test fails, never skips
    P = joints.random(3, 2, seed=1).probs
    back = joints.from_dit(joints.to_dit(P))
    np.testing.assert_allclose(back.probs, P, atol=1e-15)


# -- the private core's in-place output -----------------------------------------------------


@pytest.mark.parametrize(
    "make_out",
    [
        lambda: np.zeros(8)[::2],  # float64 but not contiguous
        lambda: np.zeros(4, dtype=np.float32),
        lambda: np.zeros(4, dtype=np.int64),
    ],
    ids=["strided", "float32", "int64"],
)
def test_core_refuses_an_output_it_would_have_to_copy(make_out: object) -> None:
    """Such an `out` used to be converted to a temporary: the call 'succeeded', out stayed 0."""
    out = make_out()  # type: ignore[operator]
    with pytest.raises(TypeError, match="incompatible function arguments"):
        unmask._core.subset_entropies(np.full(4, 0.25), 2, 2, out, 1)
    assert not np.any(out)


def test_core_argument_ranges() -> None:
    good = np.full(4, 0.25)
    for n, q in [(-1, 2), (0, 2), (63, 2)]:
        with pytest.raises(ValueError, match=r"n must be in 1\.\.62"):
            unmask._core.subset_entropies(good, n, q, np.zeros(4), 1)
    with pytest.raises(ValueError, match="q must be >= 2"):
        unmask._core.subset_entropies(good, 2, 0, np.zeros(4), 1)
    for n in (-1, 63):
        with pytest.raises(ValueError, match="level_sums needs 0 <= n <= 62"):
            unmask._core.level_sums(np.zeros(1), n)
    ro = np.zeros(4)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        unmask._core.subset_entropies(good, 2, 2, ro, 1)
    out = np.zeros(4)
    unmask._core.subset_entropies(good, 2, 2, out, 1)
    np.testing.assert_allclose(out, [0.0, LOG2, LOG2, 2 * LOG2], rtol=1e-15)


# -- unmask.testing -------------------------------------------------------------------------


@given(joint_laws(min_n=1, max_n=1, max_q=3))
def test_joints_strategy_respects_max_n_one(joint: unmask.Joint) -> None:
    """joints(max_n=1) used to draw n = 2 structured laws as well."""
    assert joint.n == 1 and 2 <= joint.q <= 3


@given(joint_laws(min_n=3, max_n=4, max_q=2))
def test_joints_strategy_respects_its_ranges(joint: unmask.Joint) -> None:
    assert 3 <= joint.n <= 4 and joint.q == 2
    assert abs(math.fsum(joint.flat.tolist()) - 1.0) <= 1e-12


def test_joints_strategy_rejects_empty_ranges() -> None:
    with pytest.raises(ValueError, match="min_n <= max_n"):
        joint_laws(min_n=3, max_n=2)
    with pytest.raises(ValueError, match="max_q >= 2"):
        joint_laws(max_q=1)


def test_builders_count_their_temporaries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Room for two tables of 2^16 entries: enough for all_equal, not for the builders whose
    temporaries need three or more (they used to pass the check, then allocate)."""
    import unmask._validation as validation

    table = 8 * (1 << 16)
    monkeypatch.setattr(validation, "available_memory_bytes", lambda: 2 * table)
    assert joints.all_equal(16).n == 16
    for build in (
        lambda: joints.random(16, 2),
        lambda: joints.parity(16),
        lambda: joints.markov_chain([[0.9, 0.1], [0.1, 0.9]], 16),
        lambda: joints.independent(np.full((16, 2), 0.5)),
        lambda: joints.mixture_of_products([1.0], np.full((1, 16, 2), 0.5)),
        lambda: joints.from_samples(np.zeros((3, 16), dtype=np.int64), q=2),
    ):
        with pytest.raises(MemoryError, match=r"\[2\]\^16"):
            build()
