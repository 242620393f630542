"""unmask: exact theory of parallel sampling in masked diffusion models.

Exact enumeration of small laws (subset entropies, information profiles, the law of the
factorized sampler and its KL), every published bound side by side with the exact values, and
optimal unmasking schedules from a profile at real sequence lengths.
"""

from __future__ import annotations

from unmask import bounds, export, joints, schedules
from unmask._core_loader import core as _core
from unmask.bounds import all_bounds
from unmask.cost import expected_kl
from unmask.entropy import entropy, profile, subset_entropies
from unmask.joint import Joint
from unmask.profile import Profile
from unmask.schedule import BernoulliSizes, CompositionLaw, Schedule
from unmask.verification import VerifyResult, verify

__version__: str = _core.__version__

__all__ = [
    "BernoulliSizes",
    "CompositionLaw",
    "Joint",
    "Profile",
    "Schedule",
    "VerifyResult",
    "__version__",
    "all_bounds",
    "bounds",
    "entropy",
    "expected_kl",
    "export",
    "joints",
    "profile",
    "schedules",
    "subset_entropies",
    "verify",
]
