"""unmask: exact theory of parallel sampling in masked diffusion models.

Exact enumeration of small laws (subset entropies, information profiles, the law of the
factorized sampler and its KL), every published bound side by side with the exact values, and
optimal unmasking schedules from a profile at real sequence lengths.
"""

from __future__ import annotations

from unmask import joints
from unmask._core_loader import core as _core
from unmask.conditionals import Conditionals
from unmask.cost import expected_kl
from unmask.divergence import kl, reverse_kl, tv
from unmask.entropy import entropy, profile, subset_entropies
from unmask.joint import Joint
from unmask.profile import Profile
from unmask.sampler import Decomposition, decompose, learning_errors, sample, sampler_law
from unmask.schedule import BernoulliSizes, CompositionLaw, Schedule

__version__: str = _core.__version__

__all__ = [
    "BernoulliSizes",
    "CompositionLaw",
    "Conditionals",
    "Decomposition",
    "Joint",
    "Profile",
    "Schedule",
    "__version__",
    "decompose",
    "entropy",
    "expected_kl",
    "joints",
    "kl",
    "learning_errors",
    "profile",
    "reverse_kl",
    "sample",
    "sampler_law",
    "subset_entropies",
    "tv",
]
