"""The shipped digit-patch law, and the end-to-end flow of issue 5 on it: estimate the profile
with a model, solve for a schedule from the estimate, judge it with the exact profile."""

from __future__ import annotations

import math
import re
from importlib import resources

import numpy as np
import pytest
from oracle_dp import plain_dp
from oracle_models import joint_model

import unmask

N_PATCHES = 1797 * 25  # load_digits has 1797 8x8 images; 25 4x4 windows each at stride 1


@pytest.fixture(scope="module")
def law() -> unmask.Joint:
    return unmask.datasets.digit_patches()


@pytest.fixture(scope="module")
def exact(law: unmask.Joint) -> unmask.Profile:
    return unmask.profile(law)


def test_digit_patches_is_the_stated_empirical_law(law: unmask.Joint) -> None:
    assert (law.n, law.q) == (16, 2)
    assert math.isclose(math.fsum(law.flat.tolist()), 1.0, abs_tol=1e-12)
    counts = law.flat * N_PATCHES
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-7)  # an empirical law of 44925
    header = resources.files("unmask.laws.datasets").joinpath("digit_patches.txt").read_text()
    distinct = int(re.search(r"(\d+) distinct", header).group(1))  # type: ignore[union-attr]
    assert law.support_size == distinct


def test_exact_profile_shape(exact: unmask.Profile) -> None:
    assert exact.is_monotone and 0 < exact.h[-1] < exact.h[0] <= math.log(2)
    assert exact.tc > 1.0 and exact.dtc > 1.0  # strong dependence between pixels


def _sampler(law: unmask.Joint):  # type: ignore[no-untyped-def]
    def draw(size, rng):  # type: ignore[no-untyped-def]
        return law.sample(size, seed=rng)

    return draw


def test_estimate_then_schedule_end_to_end(law: unmask.Joint, exact: unmask.Profile) -> None:
    est = unmask.estimate_profile(
        joint_model(law), _sampler(law), 16, samples_per_level=400, seed=2026
    )
    assert est.lower is not None and est.upper is not None
    misses = np.count_nonzero((exact.h < est.lower) | (exact.h > est.upper))
    assert misses <= 4  # 95% band: 0.8 expected misses of 16; P(more than 4) < 0.1%
    for steps in (2, 4, 8):
        optimum, _ = plain_dp(exact.h, steps)  # independent oracle for the true optimum
        schedule = unmask.optimal_schedule(est, steps)
        achieved = unmask.expected_kl(exact, schedule)
        # the schedule chosen from the estimate is judged with the exact profile
        assert optimum - 1e-12 <= achieved <= 1.5 * optimum


def test_tempered_model_shows_learning_error_bias(law: unmask.Joint, exact: unmask.Profile) -> None:
    for temperature in (0.5, 2.0):
        est = unmask.estimate_profile(
            joint_model(law, temperature),
            _sampler(law),
            16,
            samples_per_level=400,
            seed=7,
            monotone=False,
        )
        assert est.stderr is not None
        z = (est.h - exact.h) / est.stderr
        # cross-entropy = h + learning KL >= h: every level above, far beyond noise overall
        assert np.count_nonzero(z > 0) >= 14
        assert z.sum() / math.sqrt(z.size) > 8.0
