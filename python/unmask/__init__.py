"""unmask: exact theory of parallel sampling in masked diffusion models.

Exact enumeration of small laws (subset entropies, information profiles, the law of the
factorized sampler and its KL), every published bound side by side with the exact values, and
optimal unmasking schedules from a profile at real sequence lengths.
"""

from __future__ import annotations

from unmask import export, laws, profiles, samplers, schedules
from unmask._core_loader import core as _core
from unmask.laws import datasets, joints
from unmask.laws.joint import Joint
from unmask.profiles.estimate import estimate_profile, profile_from_loss_curve
from unmask.profiles.estimate_state import EstimateState
from unmask.profiles.lattice import entropy, profile, subset_entropies
from unmask.profiles.markov import markov_profile
from unmask.profiles.profile import Profile
from unmask.profiles.sharding import ExecutorError, ShardError
from unmask.samplers.conditionals import Conditionals
from unmask.samplers.divergence import kl, reverse_kl, tv
from unmask.samplers.law import Decomposition, decompose, learning_errors, sample, sampler_law
from unmask.schedules import bounds
from unmask.schedules.bounds import all_bounds
from unmask.schedules.cost import expected_kl
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
    "BernoulliSizes",
    "CompositionLaw",
    "Conditionals",
    "CostMatrix",
    "Decomposition",
    "EstimateState",
    "ExecutorError",
    "Joint",
    "OptimalFrontier",
    "Profile",
    "Schedule",
    "ShardError",
    "SolverInfo",
    "VerifyResult",
    "__version__",
    "all_bounds",
    "bounds",
    "datasets",
    "decompose",
    "entropy",
    "estimate_profile",
    "expected_kl",
    "export",
    "fixed_order_costs",
    "joints",
    "kl",
    "laws",
    "learning_errors",
    "markov_profile",
    "optimal_block_schedule",
    "optimal_frontier",
    "optimal_schedule",
    "profile",
    "profile_from_loss_curve",
    "profiles",
    "reverse_kl",
    "sample",
    "sampler_law",
    "samplers",
    "schedules",
    "subset_entropies",
    "tv",
    "verify",
]
