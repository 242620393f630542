"""Samplers: the conditionals a sampler reads, the exact law it draws from, and divergences.

:class:`~unmask.samplers.conditionals.Conditionals` (exact, learned, tempered, callable);
:mod:`unmask.samplers.law` (the exact law of random- and fixed-order parallel sampling, its
decomposition into factorization and learning error, Monte Carlo draws);
:mod:`unmask.samplers.divergence` (KL, reverse KL, TV with infinities reported, never NaN).
"""

from __future__ import annotations

from unmask.samplers.adaptive import (
    AdaptiveLaw,
    ThresholdFrontier,
    adaptive_law,
    threshold_frontier,
)
from unmask.samplers.conditionals import Conditionals
from unmask.samplers.divergence import kl, reverse_kl, tv
from unmask.samplers.law import Decomposition, decompose, learning_errors, sample, sampler_law
from unmask.samplers.planner import (
    Planner,
    optimal_planner,
    planner_kl,
    planner_law,
    score_policy,
)

__all__ = [
    "AdaptiveLaw",
    "Conditionals",
    "Decomposition",
    "Planner",
    "ThresholdFrontier",
    "adaptive_law",
    "decompose",
    "kl",
    "learning_errors",
    "optimal_planner",
    "planner_kl",
    "planner_law",
    "reverse_kl",
    "sample",
    "sampler_law",
    "score_policy",
    "threshold_frontier",
    "tv",
]
