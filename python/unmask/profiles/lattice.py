"""Exact subset entropies and information profiles of a joint law (theory sections 4 and 8)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask import _backends
from unmask._backends import cuda_module, resolve_backend
from unmask._core_loader import core
from unmask._validation import check_memory, log_base_factor, resolve_threads
from unmask.laws.joint import Joint
from unmask.profiles.profile import Profile

__all__ = ["entropy", "profile", "subset_entropies"]

#: Largest n accepted by the dense engine (2^n outputs are indexed by a 64-bit mask).
MAX_N = 40


def _as_joint(joint: Any) -> Joint:
    from unmask.profiles.inputs import as_joint

    out: Joint = as_joint(joint)
    return out


def subset_entropies(
    joint: Any, base: float | None = None, threads: int | None = None, backend: str = "auto"
) -> NDArray[np.float64]:
    """Entropies ``H(X_A)`` of every subset ``A`` of the variables.

    Parameters
    ----------
    joint : Joint, array_like or dit.Distribution
        The law on [q]^n (an array of shape ``(q,)*n`` is wrapped in :class:`Joint`).
    base : float, optional
        Logarithm base, > 1 (None: nats, 2: bits).
    threads : int, optional
        Threads for the C++ core (None: all available cores). The result does not depend on it.
    backend : {"auto", "cpu", "cuda"}
        Where to compute (see :func:`unmask.backends`): "auto" uses a GPU when the CUDA backend
        is built, a device is present and the law is large enough to gain from it. The CUDA
        result agrees with the CPU engine within 1e-12 relative and is deterministic.

    Returns
    -------
    numpy.ndarray
        Length ``2**n``; entry ``A`` (bit ``j`` set = variable ``j`` in A) is ``H(X_A)``, and
        ``H(empty) = 0``.

    Raises
    ------
    ValueError
        For an invalid law (see :class:`Joint`), base, or thread count.
    TypeError
        For a non-numeric law, base or thread count.
    MemoryError
        Before any allocation, when the output and the working tables do not fit in memory
        (host memory, or the device's free memory for ``backend="cuda"``).
    RuntimeError
        For ``backend="cuda"`` where the CUDA backend is not built or no device is usable.

    Notes
    -----
    Walks the subset lattice depth-first (theory section 8): each marginal is its parent's with
    one axis summed out. Time about ``q (q+1)**n``; memory the joint, the ``2**n`` output and
    about ``q**n`` per thread, never the ``(q+1)**n`` tables at once. The entropies are those
    of the normalised law ``p / sum(p)`` (a :class:`Joint` may sum to 1 within 1e-9).

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
    factor = log_base_factor(base)
    where = _resolve_entropy_backend(backend, n, q)
    if where == "cuda":
        check_memory(8.0 * (1 << n), f"subset entropies for n={n}, q={q} (output)")
        out = np.empty(1 << n, dtype=np.float64)
        cuda_module().subset_entropies(jt.flat, n, q, out, 0)
    else:
        need = 8.0 * (1 << n) + float(core.subset_entropies_workspace_bytes(n, q, nthreads))
        check_memory(need, f"subset entropies for n={n}, q={q} with {nthreads} thread(s)")
        out = np.empty(1 << n, dtype=np.float64)
        core.subset_entropies(jt.flat, n, q, out, nthreads)
    _renormalize_entropies(out, _total_mass(jt))
    if factor != 1.0:
        out /= factor
    return out


def _resolve_entropy_backend(backend: Any, n: int, q: int) -> str:
    """Where the lattice walk runs: "cpu" or "cuda" (device memory checked first)."""
    lattice = float(q + 1) ** n
    if backend == "cpu":
        return "cpu"
    mod = _backends._cuda_module()
    device_bytes = float(mod.subset_entropies_device_bytes(n, q)) if mod is not None else 0.0
    return resolve_backend(backend, lattice_entries=lattice, device_bytes=device_bytes)


def _total_mass(jt: Joint) -> float:
    """Total mass of the table: 1 within the 1e-9 that :class:`Joint` tolerates."""
    return float(np.sum(jt.flat))


def _renormalize_entropies(values: NDArray[np.float64], mass: float) -> None:
    """Turn ``-sum m log m`` over marginals of total ``mass`` into entropies of the law.

    :class:`Joint` accepts tables whose total is 1 within 1e-9 without copying them; the
    entropies are those of the normalised law ``p / mass``:
    ``H(p / c) = (-sum p log p) / c + log c`` for every non-empty subset. Without this a
    total of 1 + 1e-9 shifts ``h(0)`` by about 1e-9 and can break Han's inequality.
    """
    if mass != 1.0:
        values[1:] = values[1:] / mass + math.log(mass)
    np.maximum(values, 0.0, out=values)  # entropies are >= 0; remove rounding-level negatives


def entropy(joint: Any, base: float | None = None) -> float:
    """Joint entropy ``H(X) = -sum_x p(x) log p(x)`` of a law.

    Parameters
    ----------
    joint : Joint, array_like or dit.Distribution
        The law on [q]^n.
    base : float, optional
        Logarithm base, > 1 (None: nats, 2: bits).

    Returns
    -------
    float
        The entropy of the whole vector, ``0 log 0 = 0``; equal to the last entry of
        :func:`subset_entropies` and to ``profile(joint).entropy`` up to rounding.

    Raises
    ------
    ValueError
        For an invalid law or base (see :class:`Joint`).

    Examples
    --------
    >>> import unmask
    >>> round(unmask.entropy(unmask.joints.parity(5), base=2), 12)
    4.0
    """
    jt = _as_joint(joint)
    factor = log_base_factor(base)
    value = np.array([0.0, -float(core.plogp_sum(jt.flat))])
    _renormalize_entropies(value, _total_mass(jt))
    return float(value[1]) / factor


def profile(
    joint: Any, base: float | None = None, threads: int | None = None, backend: str = "auto"
) -> Profile:
    """Exact entropy and information profile of a joint law.

    Parameters
    ----------
    joint : Joint, array_like or dit.Distribution
        The law on [q]^n: a Joint, or a plain array with ``n >= 2`` axes. A plain 1-d array is
        refused: everywhere in unmask it means an ``h`` curve (the rule of
        :func:`unmask.profiles.as_profile`); use ``Profile.from_h(h)`` for that, or
        ``Joint(p)`` for a law on a single variable.
    base : float, optional
        Logarithm base, > 1 (None: nats, 2: bits).
    threads : int, optional
        Threads for the C++ core (None: all cores). The result does not depend on it.
    backend : {"auto", "cpu", "cuda"}
        Where the subset entropies are computed (see :func:`subset_entropies`).

    Returns
    -------
    Profile
        ``h(i)``, i = 0..n-1, indexed by the number ``i`` of variables already *unmasked*
        (known) when a masked variable is revealed; ``f(i) = h(i) - h(i+1)``, i = 0..n-2;
        with ``tc``, ``dtc``, ``mi_sum`` and ``entropy`` in the same unit.

    Raises
    ------
    ValueError
        For an invalid law, base or thread count.
    MemoryError
        Before any allocation, when the subset entropies do not fit in memory.

    Notes
    -----
    ``h(i) = E[H(X_j | X_A)]`` with ``A`` a uniform i-subset and ``j`` uniform outside it,
    computed as ``H_{i+1} - H_i`` where ``H_k`` is the average of the subset entropies over
    ``|A| = k`` (compensated sums; theory section 4). Han's inequality makes ``h``
    non-increasing: rounding-level violations (ulps of ``H(X)``) are removed by a running
    minimum, so ``f >= 0`` holds exactly.

    Examples
    --------
    >>> import unmask
    >>> p = unmask.profile(unmask.joints.parity(4), base=2)
    >>> p.f.round(12).tolist()
    [0.0, 0.0, 1.0]
    """
    from unmask.profiles.inputs import as_joint

    jt: Joint = as_joint(joint, allow_1d=False, what="unmask.profile")
    factor = log_base_factor(base)  # refuse a bad base before the walk
    ent = subset_entropies(jt, base=None, threads=threads, backend=backend)
    n = jt.n
    sums = np.asarray(core.level_sums(ent, n))
    counts = np.array([math.comb(n, k) for k in range(n + 1)], dtype=np.float64)
    levels = sums / counts
    h = np.diff(levels) / factor
    # Han's inequality makes h non-increasing and non-negative; what the level differences
    # leave of a violation is rounding (ulps of H(X)). A running minimum removes it, so that
    # f >= 0 holds exactly, as the theory (and anyone checking it) expects.
    h = np.minimum.accumulate(np.maximum(h, 0.0))
    return Profile(h, base=base, source=f"exact (n={n}, q={jt.q})")
