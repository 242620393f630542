"""Exact subset entropies and information profiles of a joint law (theory sections 4 and 8)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask._core_loader import core
from unmask._validation import check_memory, log_base_factor, resolve_threads
from unmask.joint import Joint
from unmask.profile import Profile

__all__ = ["entropy", "profile", "subset_entropies"]

#: Largest n accepted by the dense engine (2^n outputs are indexed by a 64-bit mask).
MAX_N = 40


def _as_joint(joint: Any) -> Joint:
    if isinstance(joint, Joint):
        return joint
    if hasattr(joint, "outcomes") and hasattr(joint, "pmf"):  # a dit.Distribution
        from unmask.joints import from_dit

        return from_dit(joint)
    return Joint(joint)


def subset_entropies(
    joint: Any, base: float | None = None, threads: int | None = None
) -> NDArray[np.float64]:
    """Entropies ``H(X_A)`` of every subset ``A`` of the variables.

    Parameters
    ----------
    joint : Joint or array_like
        The law on [q]^n (an array of shape ``(q,)*n`` is wrapped in :class:`Joint`).
    base : float, optional
        Logarithm base (None: nats, 2: bits).
    threads : int, optional
        Threads for the C++ core (None: all available cores). The result does not depend on it.

    Returns
    -------
    numpy.ndarray
        Length ``2**n``; entry ``A`` (bit ``j`` set = variable ``j`` in A) is ``H(X_A)``, and
        ``H(empty) = 0``.

    Raises
    ------
    MemoryError
        Before any allocation, when the output and the working tables do not fit in memory.

    Notes
    -----
    Walks the subset lattice depth-first (theory section 8): each marginal is its parent's with
    one axis summed out. Time about ``q (q+1)**n``; memory the joint, the ``2**n`` output and
    about ``q**n`` per thread, never the ``(q+1)**n`` tables at once.

    Examples
    --------
    >>> import unmask
    >>> H = unmask.subset_entropies(unmask.joints.all_equal(3, 2), base=2)
    >>> H.round(12).tolist()
    [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    """
    jt = _as_joint(joint)
    n, q = jt.n, jt.q
    if n > MAX_N:
        raise ValueError(f"subset_entropies supports n <= {MAX_N}, got n = {n}")
    nthreads = resolve_threads(threads)
    need = 8.0 * (1 << n) + float(core.subset_entropies_workspace_bytes(n, q, nthreads))
    check_memory(need, f"subset entropies for n={n}, q={q} with {nthreads} thread(s)")
    out = np.empty(1 << n, dtype=np.float64)
    core.subset_entropies(jt.flat, n, q, out, nthreads)
    factor = log_base_factor(base)
    if factor != 1.0:
        out /= factor
    return out


def entropy(joint: Any, base: float | None = None) -> float:
    """Joint entropy ``H(X)`` of a law (nats unless ``base`` is given)."""
    jt = _as_joint(joint)
    return -float(core.plogp_sum(jt.flat)) / log_base_factor(base)


def profile(joint: Any, base: float | None = None, threads: int | None = None) -> Profile:
    """Exact entropy and information profile of a joint law.

    Parameters
    ----------
    joint : Joint or array_like
        The law on [q]^n.
    base : float, optional
        Logarithm base (None: nats).
    threads : int, optional
        Threads for the C++ core (None: all cores).

    Returns
    -------
    Profile
        ``h(i) = H_{i+1} - H_i`` where ``H_k`` is the average entropy of the k-subsets
        (compensated sums), with ``f``, ``tc``, ``dtc``, ``mi_sum``, ``entropy``.

    Examples
    --------
    >>> import unmask
    >>> p = unmask.profile(unmask.joints.parity(4), base=2)
    >>> p.f.round(12).tolist()
    [0.0, 0.0, 1.0]
    """
    jt = _as_joint(joint)
    ent = subset_entropies(jt, base=None, threads=threads)
    n = jt.n
    sums = np.asarray(core.level_sums(ent, n))
    counts = np.array([math.comb(n, k) for k in range(n + 1)], dtype=np.float64)
    levels = sums / counts
    h = np.diff(levels) / log_base_factor(base)
    # Han's inequality makes h non-increasing; remove rounding-level violations only.
    return Profile(np.maximum(h, 0.0), base=base, source=f"exact (n={n}, q={jt.q})")
