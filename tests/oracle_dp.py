"""Slow, obviously-correct schedule oracles (test-only; never imported by the package).

* :func:`block_cost_direct` evaluates g(a, b) = sum_{l=a}^{b-1} (h(a) - h(l)) term by term.
* :func:`brute_force_optimum` enumerates every composition of n with K parts.
* :func:`plain_dp` is the O(K n^2) dynamic program a researcher would write in numpy; it also
  serves as the baseline of bench/.
"""

from __future__ import annotations

import itertools
import math

import numpy as np


def block_cost_direct(h: np.ndarray, a: int, b: int) -> float:
    return math.fsum(float(h[a] - h[l]) for l in range(a, b))


def schedule_cost_direct(h: np.ndarray, sizes: list[int] | tuple[int, ...]) -> float:
    total, a = 0.0, 0
    for s in sizes:
        total += block_cost_direct(h, a, a + s)
        a += s
    return total


def compositions(n: int, k: int):
    """Every composition of n into k positive parts (as tuples)."""
    for cuts in itertools.combinations(range(1, n), k - 1):
        bounds = (0, *cuts, n)
        yield tuple(bounds[i + 1] - bounds[i] for i in range(k))


def brute_force_optimum(h: np.ndarray, k: int) -> tuple[float, tuple[int, ...]]:
    """Minimal schedule cost with exactly k steps, and one minimiser, by enumeration."""
    n = len(h)
    best = (math.inf, ())
    for comp in compositions(n, k):
        c = schedule_cost_direct(h, comp)
        if c < best[0]:
            best = (c, comp)
    return best


def cost_matrix(h: np.ndarray) -> np.ndarray:
    """G[a, b] = g(a, b) for 0 <= a < b <= n (inf elsewhere), vectorised with prefix sums."""
    h = np.asarray(h, dtype=np.float64)
    n = h.size
    C = np.concatenate([[0.0], np.cumsum(h)])
    a = np.arange(n + 1)[:, None]
    b = np.arange(n + 1)[None, :]
    h_ext = np.concatenate([h, [0.0]])
    G = (b - a) * h_ext[a] - (C[b] - C[a])
    return np.where(b > a, G, np.inf)


def plain_dp(h: np.ndarray, k: int, costs: np.ndarray | None = None):
    """O(K n^2) DP: (optimal cost, sizes) with exactly k steps. ``costs`` overrides g."""
    n = len(h)
    G = cost_matrix(h) if costs is None else costs
    D = np.full(n + 1, np.inf)
    D[0] = 0.0
    arg = np.zeros((k + 1, n + 1), dtype=np.int64)
    for step in range(1, k + 1):
        cand = D[:, None] + G  # cand[a, b]
        arg[step] = np.argmin(cand, axis=0)
        D = cand[arg[step], np.arange(n + 1)]
    bounds = [n]
    for step in range(k, 0, -1):
        bounds.append(int(arg[step, bounds[-1]]))
    bounds = bounds[::-1]
    sizes = tuple(bounds[i + 1] - bounds[i] for i in range(k))
    return float(D[n]), sizes


def plain_frontier(h: np.ndarray, max_k: int) -> np.ndarray:
    """Optimal cost for every K = 1..max_k (plain DP, one layer at a time)."""
    n = len(h)
    G = cost_matrix(h)
    D = np.full(n + 1, np.inf)
    D[0] = 0.0
    out = []
    for _ in range(max_k):
        D = np.min(D[:, None] + G, axis=0)
        out.append(D[n])
    return np.array(out)
