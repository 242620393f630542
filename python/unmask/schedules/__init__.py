"""Schedules: step sizes, the families samplers use, the exact cost, the solver and the bounds.

:class:`~unmask.schedules.schedule.Schedule` (and the random size laws) live in
:mod:`unmask.schedules.schedule`; the named families (``constant``, ``cosine``, ...) in
:mod:`unmask.schedules.families`, re-exported here so ``unmask.schedules.constant(n, K)`` works;
the exact expected KL in :mod:`unmask.schedules.cost`; the optimal schedules in
:mod:`unmask.schedules.solver`; every published bound in :mod:`unmask.schedules.bounds`.
"""

from __future__ import annotations

from unmask.schedules.blocks import BlockSchedule, BlockWidthFrontier, block_width_frontier
from unmask.schedules.families import (
    CURVES,
    FAMILIES,
    alpha_grid,
    bernoulli,
    constant,
    from_alpha_values,
    from_curve,
    geometric_masked,
    geometric_unmasked,
    get,
    optimal,
    randomized,
    randomized_draw,
    sqrt_rule,
    two_sided_geometric,
)
from unmask.schedules.robust import CostEstimate, RobustSchedule, estimate_cost, robust_schedule
from unmask.schedules.schedule import BernoulliSizes, CompositionLaw, Schedule

__all__ = [
    "CURVES",
    "FAMILIES",
    "BernoulliSizes",
    "BlockSchedule",
    "BlockWidthFrontier",
    "CompositionLaw",
    "CostEstimate",
    "RobustSchedule",
    "Schedule",
    "alpha_grid",
    "bernoulli",
    "block_width_frontier",
    "constant",
    "estimate_cost",
    "from_alpha_values",
    "from_curve",
    "geometric_masked",
    "geometric_unmasked",
    "get",
    "optimal",
    "randomized",
    "randomized_draw",
    "robust_schedule",
    "sqrt_rule",
    "two_sided_geometric",
]
