"""estimate_profile and profile_from_loss_curve: exact models, bias, validation, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle_models import joint_model, markov_model, markov_sampler

import unmask
from unmask import joints
from unmask.profiles.profile import pava_nonincreasing


def _uniform_model(values, mask):  # type: ignore[no-untyped-def]
    return np.full((*np.shape(values), 2), 0.5)


DATA2 = np.random.default_rng(0).integers(0, 2, size=(50, 6))


# -- exact models: the band covers the exact profile ------------------------------------------
@pytest.mark.parametrize("stationary", [True, False])
def test_markov_exact_model_inside_band(stationary: bool) -> None:
    P = np.array([[0.85, 0.1, 0.05], [0.2, 0.7, 0.1], [0.3, 0.3, 0.4]])
    mu = None if stationary else np.array([1.0, 0.0, 0.0])
    n = 60
    est = unmask.estimate_profile(
        markov_model(P, n, mu),
        markov_sampler(P, n, mu),
        n,
        samples_per_level=200,
        seed=3 + stationary,
        monotone=False,
    )
    exact = unmask.markov_profile(P, n, mu).h
    assert est.lower is not None and est.upper is not None and est.stderr is not None
    misses = np.count_nonzero((exact < est.lower) | (exact > est.upper))
    # 95% pointwise band: 3 expected misses of 60; P(more than 9) < 0.2%
    assert misses <= 9
    assert np.all(np.abs(est.h - exact) <= 5 * est.stderr + 1e-12)


def test_markov_long_sequence_grid_levels() -> None:
    P = np.array([[0.95, 0.05], [0.1, 0.9]])
    n = 512
    est = unmask.estimate_profile(
        markov_model(P, n), markov_sampler(P, n), n, samples_per_level=64, batch_size=64, seed=5
    )
    exact = unmask.markov_profile(P, n).h
    assert est.is_monotone
    # interpolated between grid levels; the profile is smooth at this length
    assert np.max(np.abs(est.h - exact)) < 0.05
    evaluated = int(est.source.split(" levels")[0].rsplit(" ", 1)[1])
    assert 64 <= evaluated <= 72  # 64 evenly spaced, plus the four at each end


@given(seed=st.integers(0, 2**32 - 1), q=st.integers(2, 3), n=st.integers(2, 5))
@settings(max_examples=15)
def test_both_estimators_match_exact_profile_of_random_law(seed: int, q: int, n: int) -> None:
    # mixed with 20% uniform: -log p(x_j | x_A) stays bounded, so the level means are close to
    # normal (a law with very rare symbols gives a skewed cross-entropy and an optimistic band)
    raw = joints.random(n, q, concentration=0.5, seed=seed).probs
    law = unmask.Joint(0.8 * raw + 0.2 / raw.size, normalize=True)
    exact = unmask.profile(law).h
    model = joint_model(law)

    def sampler(size, rng):  # type: ignore[no-untyped-def]
        return law.sample(size, seed=rng)

    for estimator in ("cross_entropy", "entropy"):
        est = unmask.estimate_profile(
            model,
            sampler,
            n,
            samples_per_level=300,
            seed=seed,
            estimator=estimator,
            monotone=False,
        )
        assert est.stderr is not None
        assert np.all(np.abs(est.h - exact) <= 5.0 * est.stderr + 1e-9)


def test_entropy_estimator_of_uniform_model_is_exact() -> None:
    est = unmask.estimate_profile(
        _uniform_model, DATA2, 6, samples_per_level=8, estimator="entropy"
    )
    np.testing.assert_allclose(est.h, math.log(2), rtol=1e-15)
    assert est.stderr is not None and np.all(est.stderr < 1e-15)


# -- output forms, interpolation, smoothing ---------------------------------------------------
@given(seed=st.integers(0, 2**32 - 1), shift=st.floats(-50, 50))
@settings(max_examples=10)
def test_probs_log_probs_and_logits_agree(seed: int, shift: float) -> None:
    law = joints.random(4, 3, seed=seed)
    model = joint_model(law)
    data = law.sample(200, seed=seed)

    def as_log(values, mask):  # type: ignore[no-untyped-def]
        with np.errstate(divide="ignore"):
            return np.log(model(values, mask))

    def as_logits(values, mask):  # type: ignore[no-untyped-def]
        return as_log(values, mask) + shift

    kw = {"samples_per_level": 40, "seed": seed, "monotone": False}
    a = unmask.estimate_profile(model, data, 4, **kw)
    b = unmask.estimate_profile(as_log, data, 4, output="log_probs", **kw)
    c = unmask.estimate_profile(as_logits, data, 4, output="logits", **kw)
    np.testing.assert_allclose(b.h, a.h, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(c.h, a.h, rtol=1e-10, atol=1e-10)


def test_levels_and_interpolation() -> None:
    P = np.array([[0.9, 0.1], [0.2, 0.8]])
    n = 30
    kw = {"samples_per_level": 50, "seed": 0, "monotone": False}
    full = unmask.estimate_profile(markov_model(P, n), markov_sampler(P, n), n, **kw)
    two = unmask.estimate_profile(markov_model(P, n), markov_sampler(P, n), n, levels=[0, 29], **kw)
    line = np.interp(np.arange(n), [0, 29], [two.h[0], two.h[-1]])
    np.testing.assert_allclose(two.h, line, rtol=1e-13)
    assert full.n == two.n == n
    k = unmask.estimate_profile(markov_model(P, n), markov_sampler(P, n), n, levels=4, **kw)
    assert "4 levels" in k.source


def test_monotone_is_weighted_pava_of_raw_means() -> None:
    law = unmask.datasets.digit_patches()
    kw = {"samples_per_level": 30, "seed": 1}
    data = law.sample(500, seed=2)
    raw = unmask.estimate_profile(joint_model(law), data, 16, monotone=False, **kw)
    smooth = unmask.estimate_profile(joint_model(law), data, 16, monotone=True, **kw)
    assert raw.stderr is not None
    want = pava_nonincreasing(raw.h, 1.0 / np.maximum(raw.stderr, 1e-12) ** 2)
    np.testing.assert_allclose(smooth.h, want, rtol=1e-12)
    assert smooth.is_monotone
    np.testing.assert_array_equal(smooth.lower, raw.lower)  # the band is the raw means' band


def test_seed_reproducible_and_confidence_widens_band() -> None:
    a = unmask.estimate_profile(
        joint_model(joints.random(4, 2, seed=1)),
        joints.random(4, 2, seed=1).sample(100, seed=0),
        4,
        seed=7,
    )
    b = unmask.estimate_profile(
        joint_model(joints.random(4, 2, seed=1)),
        joints.random(4, 2, seed=1).sample(100, seed=0),
        4,
        seed=7,
        confidence=0.99,
    )
    np.testing.assert_array_equal(a.h, b.h)
    assert a.upper is not None and b.upper is not None
    assert np.all(b.upper - b.h >= a.upper - a.h - 1e-15)
    bits = unmask.estimate_profile(
        joint_model(joints.random(4, 2, seed=1)),
        joints.random(4, 2, seed=1).sample(100, seed=0),
        4,
        seed=7,
        base=2,
    )
    np.testing.assert_allclose(bits.h, a.h / math.log(2), rtol=1e-14)


def test_torch_like_outputs_and_to_torch() -> None:
    class FakeTensor:
        def __init__(self, arr: np.ndarray) -> None:
            self.arr = arr

        def detach(self) -> FakeTensor:
            return self

        def cpu(self) -> FakeTensor:
            return self

        def numpy(self) -> np.ndarray:
            return self.arr

    def model(values, mask):  # type: ignore[no-untyped-def]
        return FakeTensor(_uniform_model(values, mask))

    est = unmask.estimate_profile(model, DATA2, 6, samples_per_level=4)
    np.testing.assert_allclose(est.h, math.log(2))
    try:
        import torch
    except ImportError:
        with pytest.raises(ImportError, match="to_torch=True needs torch"):
            unmask.estimate_profile(_uniform_model, DATA2, 6, to_torch=True)
    else:  # pragma: no cover - depends on the environment
        seen = []

        def tmodel(values, mask):  # type: ignore[no-untyped-def]
            seen.append(type(values).__name__)
            return torch.full((*values.shape, 2), 0.5, dtype=torch.float64)

        est = unmask.estimate_profile(tmodel, DATA2, 6, samples_per_level=4, to_torch=True)
        assert seen[0] == "Tensor"
        np.testing.assert_allclose(est.h, math.log(2))


# -- errors -----------------------------------------------------------------------------------
def _const(arr_fn):  # type: ignore[no-untyped-def]
    def model(values, mask):  # type: ignore[no-untyped-def]
        return arr_fn(np.shape(values))

    return model


@pytest.mark.parametrize(
    ("model", "kwargs", "match"),
    [
        (_const(lambda s: np.full(s, 0.5)), {}, r"must have shape \(\d+, 6, q\)"),
        (_const(lambda s: np.full((s[0], 5, 2), 0.5)), {}, "must have shape"),
        (_const(lambda s: np.full((*s, 3), 1 / 3)), {"q": 2}, "expected q = 2"),
        (_const(lambda s: np.full((*s, 2), np.nan)), {}, "NaN or infinite probabilities"),
        (_const(lambda s: np.stack([np.full(s, 1.5), np.full(s, -0.5)], -1)), {}, "negative"),
        (_const(lambda s: np.full((*s, 2), 0.6)), {}, "not normalised.*sum to 1.2"),
        (
            _const(lambda s: np.full((*s, 2), np.log(0.6))),
            {"output": "log_probs"},
            "not normalised",
        ),
        (_const(lambda s: np.full((*s, 2), np.nan)), {"output": "logits"}, "NaN or \\+inf"),
        (_const(lambda s: np.full((*s, 2), -np.inf)), {"output": "logits"}, "every symbol"),
        (_const(lambda s: np.full((*s, 2), "a")), {}, "real numeric array"),
        (_const(lambda s: np.stack([np.ones(s), np.zeros(s)], -1)), {}, "probability 0"),
        (_uniform_model, {"samples_per_level": 1}, "samples_per_level must be >= 2"),
        (_uniform_model, {"batch_size": 0}, "batch_size must be an integer >= 1"),
        (_uniform_model, {"estimator": "mse"}, "estimator must be one of"),
        (_uniform_model, {"output": "scores"}, "output must be one of"),
        (_uniform_model, {"confidence": 1.0}, "confidence must lie in"),
        (_uniform_model, {"tol": -1.0}, "tol must be a positive number"),
        (_uniform_model, {"q": 1}, "q must be >= 2"),
        (_uniform_model, {"levels": [0, 6]}, "levels must lie in 0..n-1"),
        (_uniform_model, {"levels": [0.5]}, "levels must be None, an int"),
        (_uniform_model, {"levels": 0}, "levels must be >= 1"),
        (_const(lambda s: np.full((*s, 2), 0.5)), {"q": 3}, "expected q = 3"),
    ],
)
def test_model_and_argument_errors(model, kwargs, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        unmask.estimate_profile(
            model, DATA2, 6, samples_per_level=kwargs.pop("samples_per_level", 4), **kwargs
        )


def test_zero_probability_is_fine_for_entropy_estimator() -> None:
    model = _const(lambda s: np.stack([np.ones(s), np.zeros(s)], -1))
    est = unmask.estimate_profile(model, DATA2, 6, samples_per_level=4, estimator="entropy")
    np.testing.assert_array_equal(est.h, 0.0)


def test_data_errors() -> None:
    with pytest.raises(ValueError, match=r"data must be an int array of shape \(m, 6\)"):
        unmask.estimate_profile(_uniform_model, np.zeros((5, 4), dtype=int), 6)
    with pytest.raises(ValueError, match="integer symbols"):
        unmask.estimate_profile(_uniform_model, np.zeros((5, 6)), 6)
    with pytest.raises(ValueError, match="negative symbol"):
        unmask.estimate_profile(_uniform_model, -np.ones((5, 6), dtype=int), 6)
    with pytest.raises(ValueError, match="symbol 2 >= q = 2"):
        unmask.estimate_profile(_uniform_model, np.full((5, 6), 2), 6)
    with pytest.raises(ValueError, match="symbol 2 >= q = 2"):
        unmask.estimate_profile(_uniform_model, np.full((5, 6), 2), 6, q=2)
    with pytest.raises(
        ValueError, match=r"sampler's output must be an int array of shape \(24, 6\)"
    ):  # the 6 levels x 4 samples share one batch of the one shard
        unmask.estimate_profile(
            _uniform_model,
            lambda size, rng: np.zeros((size + 1, 6), dtype=int),
            6,
            samples_per_level=4,
        )
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        unmask.estimate_profile(_uniform_model, DATA2, 0)
    with pytest.raises(TypeError, match="model must be a callable"):
        unmask.estimate_profile("model", DATA2, 6)  # type: ignore[arg-type]


# -- loss curves ------------------------------------------------------------------------------
def test_loss_curve_on_every_level_recovers_profile() -> None:
    exact = unmask.markov_profile(np.array([[0.9, 0.1], [0.4, 0.6]]), 50)
    n = exact.n
    ratios = 1.0 - np.arange(n) / n  # masked fraction for i unmasked
    got = unmask.profile_from_loss_curve(ratios[::-1], exact.h[::-1], n, fit="interpolate")
    np.testing.assert_allclose(got.h, exact.h, rtol=0, atol=1e-15)


@pytest.mark.filterwarnings("ignore::unmask.profiles.loss_curve.CoverageWarning")
@pytest.mark.filterwarnings("ignore:.*appear more than once:UserWarning")
@given(
    pts=st.lists(st.tuples(st.floats(0.01, 1.0), st.floats(0.0, 10.0)), min_size=1, max_size=12),
    n=st.integers(1, 300),
)
def test_loss_curve_interpolates_monotone_projection(pts, n) -> None:  # type: ignore[no-untyped-def]
    r = np.array([p[0] for p in pts])
    y = np.array([p[1] for p in pts])
    old = {"fit": "interpolate", "extrapolate": "constant"}  # the rule before issue 10
    prof = unmask.profile_from_loss_curve(r, y, n, **old)
    assert prof.is_monotone and prof.n == n
    # oracle: pool equal positions, isotonic fit by brute-force PAVA on the sorted points,
    # then np.interp on i = (1 - r) n
    xs = (1.0 - r) * n
    uniq = np.unique(xs)
    means = np.array([y[xs == u].mean() for u in uniq])
    counts = np.array([np.count_nonzero(xs == u) for u in uniq], dtype=float)
    fit = _isotonic_nonincreasing(means, counts)
    np.testing.assert_allclose(prof.h, np.interp(np.arange(n), uniq, fit), rtol=1e-12, atol=1e-12)
    raw = unmask.profile_from_loss_curve(r, y, n, monotone=False, **old)
    np.testing.assert_allclose(raw.h, np.interp(np.arange(n), uniq, means), rtol=1e-12, atol=1e-12)


def _isotonic_nonincreasing(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Minimum-violator by repeated averaging of adjacent blocks (slow, obviously correct)."""
    blocks = [[float(v), float(wt), 1] for v, wt in zip(y, w, strict=True)]
    changed = True
    while changed:
        changed = False
        for k in range(len(blocks) - 1):
            if blocks[k][0] < blocks[k + 1][0] - 1e-15:
                a, b = blocks[k], blocks[k + 1]
                wt = a[1] + b[1]
                blocks[k : k + 2] = [[(a[0] * a[1] + b[0] * b[1]) / wt, wt, a[2] + b[2]]]
                changed = True
                break
    return np.repeat([b[0] for b in blocks], [b[2] for b in blocks])


@pytest.mark.filterwarnings("ignore::unmask.profiles.loss_curve.CoverageWarning")
def test_loss_curve_stderr_band_and_base() -> None:
    prof = unmask.profile_from_loss_curve([1.0, 0.5], [2.0, 1.0], 4, stderr=[0.1, 0.2], base=2,
                                          fit="interpolate", extrapolate="constant")
    assert prof.unit == "bits"
    np.testing.assert_allclose(prof.h, [2.0, 1.5, 1.0, 1.0])
    assert prof.stderr is not None
    np.testing.assert_allclose(prof.stderr, [0.1, 0.15, 0.2, 0.2])
    assert prof.upper is not None
    np.testing.assert_allclose(prof.upper, prof.h + 1.96 * prof.stderr)


@pytest.mark.parametrize(
    ("ratios", "losses", "n", "kw", "match"),
    [
        ([0.5, 1.0], [1.0], 10, {}, "same length"),
        ([[0.5]], [[1.0]], 10, {}, "1-d"),
        ([], [], 10, {}, "non-empty"),
        ([0.0, 0.5], [1.0, 1.0], 10, {}, r"in \(0, 1\]"),
        ([1.2], [1.0], 10, {}, r"in \(0, 1\]"),
        ([np.nan], [1.0], 10, {}, r"in \(0, 1\]"),
        ([0.5], [-1.0], 10, {}, "non-negative"),
        ([0.5], [np.inf], 10, {}, "finite"),
        ([0.5], [1.0], 0, {}, "n must be an integer >= 1"),
        ([0.5], [1.0], 10, {"stderr": [-1.0]}, "stderr must be"),
        ([0.5], [1.0], 10, {"stderr": [0.1, 0.1]}, "stderr must be"),
    ],
)
def test_loss_curve_errors(ratios, losses, n, kw, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        unmask.profile_from_loss_curve(ratios, losses, n, **kw)


# -- review: the learning-error bias against an exact oracle ---------------------------------
def _tempered_cross_entropy(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Exact E[-log q_j(X_j | X_A)] per level i for tempered conditionals (brute force).

    q_j(. | x_A) is proportional to p(. | x_A)^(1/T); the average runs over every i-subset A and
    every j outside it, with (X_A, X_j) ~ p. Plain numpy on the dense table.
    """
    from itertools import combinations

    n = probs.ndim
    out = np.empty(n)
    for i in range(n):
        terms = []
        for subset in combinations(range(n), i):
            for j in (v for v in range(n) if v not in subset):
                keep = (*subset, j)
                drop = tuple(v for v in range(n) if v not in keep)
                # axes of the marginal are sorted; move j last
                joint = np.moveaxis(probs.sum(axis=drop), sorted(keep).index(j), -1)
                cond = joint / joint.sum(axis=-1, keepdims=True)
                tempered = cond ** (1.0 / temperature)
                tempered /= tempered.sum(axis=-1, keepdims=True)
                terms.append(float(-(joint * np.log(tempered)).sum()))
        out[i] = math.fsum(terms) / len(terms)
    return out


@pytest.mark.parametrize("temperature", [0.5, 2.0])
def test_cross_entropy_estimates_h_plus_learning_kl(temperature: float) -> None:
    # h(i) + eps(i) for a tempered model, computed exactly; the estimate must sit on it (and
    # clearly above the exact h: the learning-error bias the docstring states)
    raw = joints.random(4, 3, concentration=0.3, seed=11).probs
    law = unmask.Joint(0.9 * raw + 0.1 / raw.size, normalize=True)
    target = _tempered_cross_entropy(np.asarray(law.probs), temperature)
    exact = unmask.profile(law).h
    assert np.all(target > exact + 1e-3)  # eps(i) > 0 at every level for this law

    def sampler(size, rng):  # type: ignore[no-untyped-def]
        return law.sample(size, seed=rng)

    est = unmask.estimate_profile(
        joint_model(law, temperature), sampler, 4, samples_per_level=1500, seed=5, monotone=False
    )  # 1500: the combined z of the bias is about 9 (600 gave about 6, the threshold)
    assert est.stderr is not None
    assert np.all(np.abs(est.h - target) <= 5.0 * est.stderr)
    z = (est.h - exact) / est.stderr
    assert np.all(z > 0) and z.sum() / 2.0 > 6.0  # the exact h is rejected


# -- review: argument types and sizes refused by name ----------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"confidence": "0.9"}, "confidence must lie in"),
        ({"confidence": True}, "confidence must lie in"),
        ({"tol": "1e-6"}, "tol must be a positive number"),
        ({"tol": float("nan")}, "tol must be a positive number"),
    ],
)
def test_non_numeric_confidence_and_tol(kwargs, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        unmask.estimate_profile(_uniform_model, DATA2, 6, samples_per_level=4, **kwargs)


def test_huge_batches_refused_before_drawing() -> None:
    calls = []

    def sampler(size, rng):  # type: ignore[no-untyped-def]
        calls.append(size)
        return np.zeros((size, 10**11), dtype=np.int8)

    with pytest.raises(MemoryError, match=r"masked batches of 256 x 100000000000"):
        unmask.estimate_profile(_uniform_model, sampler, 10**11, levels=[0])
    assert calls == []  # refused before the sampler (or numpy) allocated anything
    with pytest.raises(MemoryError, match="batch_size x n"):
        unmask.estimate_profile(
            _uniform_model, DATA2, 6, samples_per_level=10**13, batch_size=10**13
        )
    with pytest.raises(MemoryError, match="per-sequence values of one level"):
        unmask.estimate_profile(_uniform_model, DATA2, 6, samples_per_level=10**13)


@pytest.mark.parametrize(
    ("ratios", "losses", "kw", "match"),
    [
        ([True, False], [1.0, 2.0], {}, "mask_ratios must be a real numeric array, got dtype bool"),
        (["0.5"], [1.0], {}, "mask_ratios must be a real numeric array"),
        ([0.5 + 0j], [1.0], {}, "mask_ratios must be a real numeric array, got dtype complex"),
        ([0.5], [True], {}, "losses must be a real numeric array, got dtype bool"),
        ([0.5], [1.0], {"stderr": [True]}, "stderr must be a real numeric array"),
    ],
)
def test_loss_curve_refuses_non_real_arrays(ratios, losses, kw, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match=match):
        unmask.profile_from_loss_curve(ratios, losses, 10, **kw)


def test_loss_curve_base_and_huge_n() -> None:
    for base in (-1.0, 1.0, 0.0):
        with pytest.raises(ValueError, match="base must be a finite number > 1"):
            unmask.profile_from_loss_curve([0.5], [1.0], 10, base=base)
    with pytest.raises(MemoryError, match="a profile of length n = 10000000000000"):
        unmask.profile_from_loss_curve([0.5], [1.0], 10**13)


@pytest.mark.filterwarnings("ignore::unmask.profiles.loss_curve.CoverageWarning")
def test_loss_curve_zero_stderr_stays_zero() -> None:
    prof = unmask.profile_from_loss_curve(
        [1.0, 0.5, 0.5], [2.0, 1.0, 1.0], 4, stderr=[0.2, 0.1, 0.0], fit="interpolate",
        extrapolate="constant",
    )
    assert prof.stderr is not None
    # i = 0: 0.2; i = 2: an exact point (pooled with a noisy one) -> 0; linear in between
    np.testing.assert_allclose(prof.stderr, [0.2, 0.1, 0.0, 0.0], rtol=0, atol=1e-15)


def test_tensor_output_in_a_dtype_numpy_lacks_is_widened() -> None:
    class Bf16LikeTensor:  # .numpy() refuses, as torch does for bfloat16; .float() converts
        def __init__(self, arr: np.ndarray, widened: bool = False) -> None:
            self.arr, self.widened = arr, widened

        def detach(self) -> Bf16LikeTensor:
            return self

        def cpu(self) -> Bf16LikeTensor:
            return self

        def float(self) -> Bf16LikeTensor:
            return Bf16LikeTensor(self.arr.astype(np.float32), widened=True)

        def numpy(self) -> np.ndarray:
            if not self.widened:
                raise TypeError("Got unsupported ScalarType BFloat16")
            return self.arr

    def model(values, mask):  # type: ignore[no-untyped-def]
        return Bf16LikeTensor(_uniform_model(values, mask))

    est = unmask.estimate_profile(model, DATA2, 6, samples_per_level=4)
    np.testing.assert_allclose(est.h, math.log(2), rtol=1e-7)


def test_astronomically_small_probability_of_observed_symbol() -> None:
    def model(values, mask):  # type: ignore[no-untyped-def]
        out = np.zeros((*np.shape(values), 2))
        out[..., 0] = -1e308  # every observed symbol is 0 in the data below: -log q = 1e308
        return out

    data = np.zeros((20, 6), dtype=np.int64)
    with pytest.raises(ValueError, match="cross-entropy at level i = 0 overflows float64"):
        unmask.estimate_profile(model, data, 6, output="logits", samples_per_level=4)
    # the entropy estimator is bounded by log q and is fine with the same model
    est = unmask.estimate_profile(
        model, data, 6, output="logits", samples_per_level=4, estimator="entropy"
    )
    np.testing.assert_array_equal(est.h, 0.0)


def test_model_editing_its_inputs_in_place_changes_nothing() -> None:
    law = joints.random(5, 2, seed=3)
    exact_model = joint_model(law)

    def vandal(values, mask):  # type: ignore[no-untyped-def]
        out = exact_model(values.copy(), mask.copy())
        mask[:] = False  # would leave no masked position to score
        values[:] = 1
        return out

    data = law.sample(100, seed=0)
    kw = {"samples_per_level": 20, "seed": 4, "monotone": False}
    a = unmask.estimate_profile(exact_model, data, 5, **kw)
    b = unmask.estimate_profile(vandal, data, 5, **kw)
    np.testing.assert_array_equal(a.h, b.h)


def test_probabilities_passed_as_logits_are_refused() -> None:
    # a second softmax of probabilities put h off by ~50% without a word
    law = joints.random(4, 3, seed=2)
    data = _draw(law, 200)
    model = joint_model(law)
    with pytest.raises(ValueError, match="output='logits' but every masked row is already"):
        unmask.estimate_profile(model, data, 4, samples_per_level=20, seed=0, output="logits")

    def logits(values, mask):
        return np.log(np.maximum(model(values, mask), 1e-300)) + 3.0  # real logits: accepted

    est = unmask.estimate_profile(logits, data, 4, samples_per_level=20, seed=0, output="logits")
    ref = unmask.estimate_profile(model, data, 4, samples_per_level=20, seed=0)
    np.testing.assert_allclose(est.h, ref.h, rtol=1e-9, atol=1e-12)


def _draw(law: unmask.Joint, m: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    idx = rng.choice(law.flat.size, size=m, p=law.flat)
    return np.stack(np.unravel_index(idx, law.probs.shape), axis=1).astype(np.int64)


def test_estimate_reports_progress_over_its_model_calls() -> None:
    law = joints.random(4, 3, seed=2)
    calls: list[tuple[int, int]] = []
    unmask.estimate_profile(joint_model(law), _draw(law, 50), 4, samples_per_level=8,
                            batch_size=4, seed=0, progress=lambda d, t: calls.append((d, t)))
    # in sequences, as shards finish: 4 levels x 8 samples, non-decreasing, ending complete
    assert calls and calls[-1] == (32, 32)
    assert all(t == 32 for _, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
