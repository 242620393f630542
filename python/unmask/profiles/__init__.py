"""Profiles: the information profile h(i), f(i) of a law, however it is known.

Exact from a small law (:mod:`unmask.profiles.lattice`, every subset entropy), exact at real
lengths for Markov chains (:mod:`unmask.profiles.markov`), or estimated from a model or a training
loss curve (:mod:`unmask.profiles.estimate`). All of them return a
:class:`~unmask.profiles.profile.Profile`; :func:`~unmask.profiles.inputs.as_profile` is the one
place that reads user input (a Profile, a law, or a plain ``h`` curve) as a profile.
"""

from __future__ import annotations

from unmask.profiles.blocks import (
    block_profiles,
    block_profiles_from_state,
    estimate_block_profiles,
    estimate_block_state,
    markov_block_profiles,
)
from unmask.profiles.budget import estimate_evidence
from unmask.profiles.estimate import (
    EstimatedProfile,
    estimate_profile,
    estimate_state,
    profile_from_state,
)
from unmask.profiles.estimate_state import EstimateState
from unmask.profiles.evidence import Evidence, EvidencePoints
from unmask.profiles.inputs import as_profile
from unmask.profiles.lattice import entropy, profile, subset_entropies
from unmask.profiles.lattice_shards import profile_sharded, subset_entropies_sharded
from unmask.profiles.loss_curve import CoverageWarning, profile_from_loss_curve
from unmask.profiles.markov import markov_profile
from unmask.profiles.profile import Profile
from unmask.profiles.sharding import ExecutorError, ShardError

__all__ = [
    "CoverageWarning",
    "EstimateState",
    "EstimatedProfile",
    "Evidence",
    "EvidencePoints",
    "ExecutorError",
    "Profile",
    "ShardError",
    "as_profile",
    "block_profiles",
    "block_profiles_from_state",
    "entropy",
    "estimate_block_profiles",
    "estimate_block_state",
    "estimate_evidence",
    "estimate_profile",
    "estimate_state",
    "markov_block_profiles",
    "markov_profile",
    "profile",
    "profile_from_loss_curve",
    "profile_from_state",
    "profile_sharded",
    "subset_entropies",
    "subset_entropies_sharded",
]
