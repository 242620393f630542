"""Slow, independent numpy oracles for subset entropies and profiles (test-only).

Each subset's marginal is summed directly from the joint (no lattice walk, no C++), and each
entropy uses numpy's log; profiles average conditional entropies H(X_j | X_A) over subsets
directly from the definition h(i) = E[H(X_j | X_A)], not through level averages.
"""

from __future__ import annotations

import itertools
import math

import numpy as np


def marginal(P: np.ndarray, mask: int) -> np.ndarray:
    n = P.ndim
    drop = tuple(j for j in range(n) if not (mask >> j) & 1)
    return P.sum(axis=drop) if drop else P


def entropy_of(table: np.ndarray) -> float:
    p = table[table > 0]
    return float(-(p * np.log(p)).sum())


def subset_entropies(P: np.ndarray) -> np.ndarray:
    n = P.ndim
    return np.array([entropy_of(marginal(P, A)) if A else 0.0 for A in range(1 << n)])


def profile_h(P: np.ndarray) -> np.ndarray:
    """h(i) = average over |A| = i and j not in A of H(X_{A+j}) - H(X_A), by definition."""
    n = P.ndim
    H = subset_entropies(P)
    h = np.zeros(n)
    for i in range(n):
        vals = []
        for A in itertools.combinations(range(n), i):
            mask = sum(1 << a for a in A)
            for j in range(n):
                if not (mask >> j) & 1:
                    vals.append(H[mask | (1 << j)] - H[mask])
        h[i] = math.fsum(vals) / len(vals)
    return h
