"""Blockwise schedules from estimated block profiles: robust by default, judged by true cost."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from oracle_models import markov_model, markov_sampler

import unmask
from unmask import BlockSchedule

STICKY = np.array([[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9]])
N, W = 16, 8


def _estimate(seed: int, spl: int = 32) -> list[unmask.Profile]:
    return unmask.estimate_block_profiles(
        markov_model(STICKY, N), markov_sampler(STICKY, N), N, W, samples_per_level=spl,
        seed=seed,
    )


def _direct_cost(h: np.ndarray, sizes: list[int]) -> float:
    """Section-5 cost summed straight from its definition: sum_k sum_{j<s_k} h(i_k) - h(i_k+j)."""
    total, a = 0.0, 0
    for s in sizes:
        total += math.fsum((h[a] - h[a : a + s]).tolist())
        a += s
    return total


def _brute_optimum(h: np.ndarray, k: int) -> float:
    """Least cost over every composition of len(h) into k parts (enumeration)."""
    n = h.size
    best = math.inf
    for cuts in itertools.combinations(range(1, n), k - 1):
        bounds = (0, *cuts, n)
        best = min(best, _direct_cost(h, [b - a for a, b in itertools.pairwise(bounds)]))
    return best


@pytest.mark.parametrize("k", [4, 8])
def test_robust_equal_steps_never_loses_to_llada_in_true_cost(k: int) -> None:
    truth = unmask.markov_block_profiles(STICKY, N, W)
    llada = BlockSchedule.llada(N, k, W)
    base = unmask.expected_kl(truth, llada)
    ratios = []
    for seed in range(5):
        est = _estimate(seed)
        bs = unmask.optimal_block_schedule(est, k, W)
        assert bs.cost_kind == "estimate" and bs.steps_per_block == [k // 2] * 2
        ratios.append(unmask.expected_kl(truth, bs) / base)
    assert float(np.mean(ratios)) <= 1.0 + 1e-12, ratios
    assert max(ratios) <= 1.05, ratios


def test_robust_blocks_are_the_per_block_robust_choice() -> None:
    est = _estimate(7)
    bs = unmask.optimal_block_schedule(est, 8, W)
    costs = []
    for p, sizes in zip(est, bs.blocks, strict=True):
        chosen = unmask.robust_schedule(p, 4).schedule
        assert list(chosen.sizes) == sizes
        costs.append(unmask.estimate_cost(p, chosen))
    assert bs.cost == pytest.approx(math.fsum(c.value for c in costs), rel=1e-12)
    assert bs.cost_estimate.stderr == pytest.approx(
        math.sqrt(sum(c.stderr**2 for c in costs)), rel=1e-12)
    assert bs.cost_estimate.lower < bs.cost < bs.cost_estimate.upper
    assert "(estimate)" in repr(bs)


def test_robust_false_is_the_exact_optimum_of_the_curves() -> None:
    est = _estimate(3, spl=16)
    for k in (4, 6, 8):
        bs = unmask.optimal_block_schedule(est, k, W, robust=False)
        assert bs.cost_kind == "curves"
        # cost: exact on the curves as given; optimality: on their monotone projections
        given = math.fsum(_direct_cost(p.h, s) for p, s in zip(est, bs.blocks, strict=True))
        assert bs.cost == pytest.approx(given, rel=1e-10, abs=1e-12)
        proj = math.fsum(_direct_cost(p.monotone().h, s)
                         for p, s in zip(est, bs.blocks, strict=True))
        best = math.fsum(_brute_optimum(p.monotone().h, k // 2) for p in est)
        assert proj == pytest.approx(best, rel=1e-10, abs=1e-12)


def test_free_allocation_is_exact_and_compositions_robust() -> None:
    est = _estimate(5)
    exact = unmask.optimal_block_schedule(est, 6, W, steps_per_block="free", robust=False)
    robust = unmask.optimal_block_schedule(est, 6, W, steps_per_block="free")
    assert robust.steps_per_block == exact.steps_per_block
    assert robust.cost_kind == "estimate" and exact.cost_kind == "curves"
    for p, kb, sizes in zip(est, robust.steps_per_block, robust.blocks, strict=True):
        assert list(unmask.robust_schedule(p, kb).schedule.sizes) == sizes


def test_exact_block_profiles_stay_exact() -> None:
    truth = unmask.markov_block_profiles(STICKY, N, W)
    bs = unmask.optimal_block_schedule(truth, 8, W)
    assert bs.cost_kind == "exact" and bs.cost_estimate is None
    assert bs.cost == pytest.approx(unmask.expected_kl(truth, bs), rel=1e-12)
    assert bs == unmask.optimal_block_schedule(truth, 8, W, robust=False)
    with pytest.raises(ValueError, match="robust=True needs block profiles"):
        unmask.optimal_block_schedule(truth, 8, W, robust=True)
    with pytest.raises(TypeError, match="robust must be None, True or False"):
        unmask.optimal_block_schedule(truth, 8, W, robust="yes")  # type: ignore[arg-type]
    proxy = unmask.optimal_block_schedule(unmask.markov_profile(STICKY, N), 8, W)
    assert proxy.cost_kind == "proxy" and proxy.approximate
