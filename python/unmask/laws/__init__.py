"""Laws: exact joint distributions on [q]^n (the bottom floor of the data path).

``Joint`` holds a dense table; :mod:`unmask.laws.joints` builds the standard families
(independent, all-equal, parity, Markov chains, Ising, mixtures, random laws, dit interop) and
:mod:`unmask.laws.datasets` ships small real data sets.
"""

from __future__ import annotations

from unmask.laws import datasets, joints
from unmask.laws.joint import Joint

__all__ = ["Joint", "datasets", "joints"]
