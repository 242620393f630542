"""unmask: exact theory of parallel sampling in masked diffusion models.

Exact enumeration of small laws (subset entropies, information profiles, the law of the
factorized sampler and its KL), every published bound side by side with the exact values, and
optimal unmasking schedules from a profile at real sequence lengths.
"""

from __future__ import annotations

from unmask import export, laws, profiles, samplers, schedules
from unmask._backends import backends
from unmask._core_loader import core as _core
from unmask.laws import datasets, joints
from unmask.laws.joint import Joint
from unmask.profiles.blocks import block_profiles, estimate_block_profiles, markov_block_profiles
from unmask.profiles.budget import estimate_evidence
from unmask.profiles.estimate import estimate_profile
from unmask.profiles.estimate_state import EstimateState
from unmask.profiles.evidence import Evidence
from unmask.profiles.inputs import as_profile
from unmask.profiles.lattice import entropy, profile, subset_entropies
from unmask.profiles.loss_curve import CoverageWarning, profile_from_loss_curve
from unmask.profiles.markov import markov_profile
from unmask.profiles.profile import Profile
from unmask.profiles.sharding import ExecutorError, ShardError
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
from unmask.schedules import bounds
from unmask.schedules.blocks import BlockSchedule, BlockWidthFrontier, block_width_frontier
from unmask.schedules.bounds import all_bounds
from unmask.schedules.cost import expected_kl
from unmask.schedules.robust import CostEstimate, RobustSchedule, estimate_cost, robust_schedule
from unmask.schedules.schedule import BernoulliSizes, CompositionLaw, Schedule
from unmask.schedules.solver import (
    CostMatrix,
    OptimalFrontier,
    SolverInfo,
    fixed_order_costs,
    optimal_block_schedule,
    optimal_frontier,
    optimal_schedule,
)
from unmask.verification import VerifyResult, verify

__version__: str = _core.__version__

__all__ = [
    "AdaptiveLaw",
    "BernoulliSizes",
    "BlockSchedule",
    "BlockWidthFrontier",
    "CompositionLaw",
    "Conditionals",
    "CostEstimate",
    "CostMatrix",
    "CoverageWarning",
    "Decomposition",
    "EstimateState",
    "Evidence",
    "ExecutorError",
    "Joint",
    "OptimalFrontier",
    "Planner",
    "Profile",
    "RobustSchedule",
    "Schedule",
    "ShardError",
    "SolverInfo",
    "ThresholdFrontier",
    "VerifyResult",
    "__version__",
    "adaptive_law",
    "all_bounds",
    "as_profile",
    "backends",
    "block_profiles",
    "block_width_frontier",
    "bounds",
    "datasets",
    "decompose",
    "entropy",
    "estimate_block_profiles",
    "estimate_cost",
    "estimate_evidence",
    "estimate_profile",
    "expected_kl",
    "export",
    "fixed_order_costs",
    "joints",
    "kl",
    "laws",
    "learning_errors",
    "markov_block_profiles",
    "markov_profile",
    "optimal_block_schedule",
    "optimal_frontier",
    "optimal_planner",
    "optimal_schedule",
    "planner_kl",
    "planner_law",
    "profile",
    "profile_from_loss_curve",
    "profiles",
    "reverse_kl",
    "robust_schedule",
    "sample",
    "sampler_law",
    "samplers",
    "schedules",
    "score_policy",
    "subset_entropies",
    "threshold_frontier",
    "tv",
    "verify",
]
