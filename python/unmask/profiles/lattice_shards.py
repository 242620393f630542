"""Exact subset entropies split into independent sub-lattices that run on an executor.

The lattice walk of :func:`~unmask.profiles.lattice.subset_entropies` (theory section 8) sums out
missing variables from the highest index down. Fixing, for the ``split`` highest variables,
whether each is kept or summed out cuts the ``2**n`` subsets into ``2**split`` sub-lattices that
share nothing but the joint law: each is one task, and each reproduces the local engine's values
bit for bit (same tables, same kernels, same order of summation).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask._core_loader import core
from unmask._validation import check_memory, log_base_factor, resolve_threads
from unmask.profiles.lattice import (
    MAX_N,
    _as_joint,
    _renormalize_entropies,
    _total_mass,
)
from unmask.profiles.profile import Profile
from unmask.profiles.sharding import ShardSpec, check_executor, run_shards

__all__ = ["profile_sharded", "subset_entropies_sharded"]


def _subtree_task(
    spec: ShardSpec, stream: Any, flat: NDArray[np.float64], n: int, q: int, split: int,
    threads: int,
) -> NDArray[np.float64]:
    """Entropies of sub-lattice ``spec.index`` (its ``keep`` pattern); runs on a worker."""
    del stream  # exact: no randomness
    out = np.empty(1 << (n - split), dtype=np.float64)
    core.subset_entropies_subtree(flat, n, q, split, spec.index, out, threads)
    return out


def subset_entropies_sharded(
    joint: Any,
    *,
    executor: Any = None,
    split: int | None = None,
    base: float | None = None,
    threads: int | None = 1,
    progress: Callable[[int, int], Any] | None = None,
    timeout: float | None = None,
) -> NDArray[np.float64]:
    """:func:`~unmask.profiles.lattice.subset_entropies` as ``2**split`` independent tasks.

    Parameters
    ----------
    joint : Joint, array_like or dit.Distribution
        The law on [q]^n, ``n >= 2``.
    executor : None, concurrent.futures.Executor or dask.distributed.Client
        Where the sub-lattices run (None: here, one after the other). On Dask the joint is
        sent once; a process pool receives a copy per task.
    split : int, optional
        Number of highest variables whose keep/sum choice is fixed per task (``1..n-1``);
        ``2**split`` tasks of ``2**(n - split)`` entropies each. Default: ``min(4, n - 1)``.
    base : float, optional
        Logarithm base (None: nats).
    threads : int, optional
        C++ threads per task (default 1: the executor provides the parallelism; None: all
        cores of the worker).
    progress : callable, optional
        ``progress(done, total)`` in sub-lattices.
    timeout : float, optional
        Seconds to wait for the next sub-lattice (see
        :func:`~unmask.profiles.sharding.run_shards`).

    Returns
    -------
    numpy.ndarray
        Length ``2**n``, equal bit for bit to ``subset_entropies(joint, base)``.

    Raises
    ------
    ValueError
        An invalid law, ``n < 2`` or ``n > 40``, or ``split`` outside ``1..n-1``.
    TypeError
        An executor of another kind.
    MemoryError
        When the output and one task's tables do not fit in memory (checked first).

    Examples
    --------
    >>> import numpy as np, unmask
    >>> from unmask.profiles.lattice_shards import subset_entropies_sharded
    >>> law = unmask.joints.random(6, 2, seed=0)
    >>> H = subset_entropies_sharded(law, split=2)
    >>> bool(np.array_equal(H, unmask.subset_entropies(law)))
    True
    """
    check_executor(executor)
    jt = _as_joint(joint)
    n, q = jt.n, jt.q
    if n < 2 or n > MAX_N:
        raise ValueError(f"subset_entropies_sharded needs 2 <= n <= {MAX_N}, got n = {n}")
    if split is None:
        split = min(4, n - 1)
    if isinstance(split, bool) or not isinstance(split, (int, np.integer)) or not (
        1 <= split <= n - 1
    ):
        raise ValueError(f"split must be an integer in 1..n-1 = 1..{n - 1}, got {split!r}")
    split = int(split)
    nthreads = resolve_threads(threads)
    factor = log_base_factor(base)
    per_task = 8.0 * (1 << (n - split)) + float(
        core.subset_entropies_workspace_bytes(n, q, nthreads)
    )
    check_memory(8.0 * (1 << n) + per_task, f"sharded subset entropies for n={n}, q={q}")
    flat = np.ascontiguousarray(jt.flat, dtype=np.float64)
    specs = [ShardSpec(k, ((k, 1),)) for k in range(1 << split)]
    parts = run_shards(
        _subtree_task,
        specs,
        np.random.SeedSequence(0),
        (flat, n, q, split, nthreads),
        executor=executor,
        progress=progress,
        timeout=timeout,
        describe=lambda s: f"sub-lattice keep={s.index:0{split}b} of the {split} top variables",
    )
    out = np.concatenate(parts)
    _renormalize_entropies(out, _total_mass(jt))
    if factor != 1.0:
        out /= factor
    return out


def profile_sharded(
    joint: Any,
    *,
    executor: Any = None,
    split: int | None = None,
    base: float | None = None,
    threads: int | None = 1,
    progress: Callable[[int, int], Any] | None = None,
    timeout: float | None = None,
) -> Profile:
    """:func:`~unmask.profiles.lattice.profile` with the lattice walk on an executor.

    Parameters are those of :func:`subset_entropies_sharded`; the result equals
    ``unmask.profile(joint, base)`` bit for bit.

    Returns
    -------
    Profile

    Examples
    --------
    >>> import numpy as np, unmask
    >>> from unmask.profiles.lattice_shards import profile_sharded
    >>> law = unmask.joints.random(5, 2, seed=1)
    >>> bool(np.array_equal(profile_sharded(law, split=2).h, unmask.profile(law).h))
    True
    """
    jt = _as_joint(joint)
    factor = log_base_factor(base)
    ent = subset_entropies_sharded(
        jt, executor=executor, split=split, base=None, threads=threads, progress=progress,
        timeout=timeout,
    )
    n = jt.n
    # the same arithmetic as unmask.profile, on the same entropies
    sums = np.asarray(core.level_sums(ent, n))
    counts = np.array([math.comb(n, k) for k in range(n + 1)], dtype=np.float64)
    h = np.diff(sums / counts) / factor
    h = np.minimum.accumulate(np.maximum(h, 0.0))
    return Profile(h, base=base, source=f"exact (n={n}, q={jt.q}, sharded)")
