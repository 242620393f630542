"""Hypothesis strategies shared by the sampler tests."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import unmask


@st.composite
def laws(draw, max_n: int = 5, max_q: int = 3, max_states: int = 243):
    """A random joint with exact zeros (small Dirichlet concentration, small entries cut)."""
    q = draw(st.integers(2, max_q))
    n = draw(st.integers(1, max_n))
    while q**n > max_states:
        n -= 1
    conc = draw(st.sampled_from([0.05, 0.2, 1.0]))
    seed = draw(st.integers(0, 2**31 - 1))
    p = unmask.joints.random(n, q, concentration=conc, seed=seed).probs.copy()
    cut = draw(st.sampled_from([0.0, 0.02, 0.1]))
    flat = p.reshape(-1)
    flat[flat < cut * flat.max()] = 0.0
    return unmask.Joint(p, normalize=True)


@st.composite
def compositions(draw, n: int):
    """A random composition of n."""
    sizes = []
    left = n
    while left:
        s = draw(st.integers(1, left))
        sizes.append(s)
        left -= s
    return sizes


def make_callable(p_hat: np.ndarray):
    """A user callable built from a second law, written independently of unmask."""
    n = p_hat.ndim
    q = p_hat.shape[0]

    def fn(x, j):
        out = np.empty((x.shape[0], q))
        for r, row in enumerate(x):
            sel = tuple(slice(None) if (v == j or row[v] < 0) else int(row[v]) for v in range(n))
            sub = p_hat[sel]
            # axes left: masked variables in increasing order; keep j's axis
            masked = [v for v in range(n) if v == j or row[v] < 0]
            axis = masked.index(j)
            other = tuple(a for a in range(len(masked)) if a != axis)
            law = sub.sum(axis=other) if other else sub
            out[r] = law / law.sum() if law.sum() > 0 else 1.0 / q
        return out

    return fn
