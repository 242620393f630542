"""Exact entropy profile of a first-order Markov chain at any length (theory section 4)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from unmask._core_loader import core
from unmask._validation import (
    as_probability_array,
    check_memory,
    log_base_factor,
    resolve_threads,
)
from unmask.laws.joints import _check_transition, stationary_distribution
from unmask.profiles.profile import Profile

__all__ = ["markov_profile", "markov_work"]

#: Largest deviation ``max |mu P - mu|`` for which ``initial`` is treated as stationary.
STATIONARY_TOL = 1e-13

#: Default cap on the estimated work (see :func:`markov_work`): about 40 s on one core at the
#: 2.5e8 units per second measured on the development machine.
MAX_WORK = 1e10

#: Measured throughput, work units per second on one core.
_UNITS_PER_SECOND = 2.5e8

#: Largest n accepted (int64 counts inside the core).
MAX_N = 2**62


def markov_work(n: int, q: int, stationary: bool) -> float:
    """Estimated work of :func:`markov_profile`, in units of about 4 ns on one core.

    ``n q^3`` for the matrix powers (an upper bound: they usually stop early), plus
    ``n^2 q`` for a non-stationary chain, or ``min(n^2, 1400 n log n)`` for a stationary one
    (the binomial weights of level ``i`` fall below 1e-300 after about ``690 n / i`` terms).
    """
    nn, qq = float(n), float(q)
    powers = nn * qq**3
    if stationary:
        return powers + min(nn * nn, 1400.0 * nn * math.log(nn + 1.0))
    return powers + nn * nn * qq


def markov_profile(
    transition: Any,
    n: int,
    initial: Any = None,
    *,
    base: float | None = None,
    threads: int | None = None,
    max_work: float | None = MAX_WORK,
) -> Profile:
    """Exact entropy profile of the Markov chain ``X_0 -> X_1 -> ... -> X_{n-1}``.

    Parameters
    ----------
    transition : array_like
        Row-stochastic ``(q, q)`` matrix, ``P[a, b] = P(X_{t+1} = b | X_t = a)``.
    n : int
        Length of the chain (``n >= 1``); ``n = 10**4`` takes well under a second.
    initial : array_like, optional
        Law of ``X_0`` (length ``q``). Default: the stationary law of ``transition`` (the one
        :func:`unmask.joints.stationary_distribution` returns, as :func:`unmask.joints.markov_chain`
        uses), and then every ``X_t`` has that law. Any ``initial`` (default or given) with
        ``max |mu P - mu| <= 1e-13`` takes the stationary fast path; otherwise the laws of the
        ``X_t`` are propagated (the Profile's ``source`` says which).
    base : float, optional
        Logarithm base of the result (None: nats).
    threads : int, optional
        Threads for the C++ core (None: all cores). The result does not depend on it.
    max_work : float or None, optional
        Refuse, before any work, a call whose estimated cost :func:`markov_work` exceeds this
        (default 1e10, about 40 s on one core: a stationary chain up to ``n`` of about 5e5, a
        non-stationary binary one up to about 7e4; ``n = 1e6`` non-stationary would take
        hours). The message gives the estimate. None removes the cap.

    Returns
    -------
    Profile
        ``h(i) = E[H(X_j | X_A)]`` with ``A`` a uniform i-subset of *unmasked* positions and ``j``
        uniform among the masked ones, ``i = 0..n-1`` (the same convention as
        :func:`unmask.profile`, which computes it by enumeration for small ``n``).

    Raises
    ------
    TypeError
        If ``transition`` or ``initial`` is not real numeric (bool, complex, strings).
    ValueError
        If the estimated work exceeds ``max_work``; if ``transition`` is
        not a square row-stochastic matrix (rows summing to 1 within
        ``1e-9``: rescale float32 rows first), ``initial`` is not a law on ``q`` symbols, or
        ``n`` is not an integer ``>= 1``.
    MemoryError
        If the workspace (about ``32 n q`` bytes) does not fit in memory.

    Notes
    -----
    By the Markov property, ``H(X_j | X_A) = H(X_j | X_l, X_r)`` where ``l < j < r`` are the
    nearest members of ``A`` around ``j`` (either may be absent), and
    ``H(X_j | X_l, X_r) = H(X_j | X_l) + H(X_r | X_j) - H(X_r | X_l)``, each term a weighted row
    entropy of a matrix power ``P^d``. For a uniform i-subset, the probability that ``l`` and
    ``r`` are in ``A`` and everything between them is not is ``C(n - (r-l+1), i-2) / C(n, i)``;
    with only ``r`` (all positions before it masked) it is ``C(n-1-r, i-1) / C(n, i)``, and
    symmetrically on the left. Hence

    ``(n - i) h(i) = sum_L w_i(L) S(L) + sum_k v_i(k) T(k)``,

    with ``S(L)`` the sum over windows of gap ``L = r - l`` of the conditional entropies inside
    and ``T(k)`` the one-sided sums. The binomial ratios are built as running products of
    factors in ``[0, 1]`` (no overflow, stopped once below 1e-300). Cost: ``O(n q^3)`` for the
    powers of ``P``, then ``O(n^2)`` when the chain is stationary or ``O(n^2 q)`` otherwise (the
    positions' marginals enter through convolutions); memory ``O(n q + q^2)``. The powers stop
    early once ``P^d`` repeats bit for bit, which small chains usually reach; otherwise the
    ``O(n q^3)`` term dominates for large alphabets (``q`` in the hundreds), and such a call can
    be interrupted with Ctrl-C.

    Examples
    --------
    >>> import numpy as np, unmask
    >>> P = np.array([[0.9, 0.1], [0.2, 0.8]])
    >>> exact = unmask.profile(unmask.joints.markov_chain(P, 6))
    >>> bool(np.allclose(unmask.markov_profile(P, 6).h, exact.h, atol=1e-13))
    True
    >>> unmask.markov_profile(P, 10_000).n
    10000
    """
    P = np.ascontiguousarray(_check_transition(transition), dtype=np.float64)
    q = P.shape[0]
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    n = int(n)
    if n > MAX_N:
        raise ValueError(f"n must be at most 2**62, got {n}")
    if max_work is not None and (
        isinstance(max_work, bool) or not isinstance(max_work, (int, float, np.number))
    ):
        raise TypeError(f"max_work must be a number or None, got {type(max_work).__name__}")
    if initial is None:
        mu = stationary_distribution(P)
    else:
        mu = as_probability_array(initial, name="initial")
        if mu.shape != (q,):
            raise ValueError(f"initial must have length q = {q}, got shape {mu.shape}")
    # Also for the default law: a least-squares solution of an ill-conditioned chain that misses
    # stationarity takes the general path (marginals propagated) instead of being assumed exact.
    stationary = bool(np.max(np.abs(mu @ P - mu)) <= STATIONARY_TOL)
    factor = log_base_factor(base)
    nthreads = resolve_threads(threads)
    # the core's own estimate (32 n q + 24 n + 16 q^2 bytes), in floats: n may be huge
    need = 8.0 * (4.0 * (n + 1.0) * q + 3.0 * n + 2.0 * q * q) + 8.0 * n
    check_memory(need, f"markov_profile (n = {n}, q = {q})")
    work = markov_work(n, q, stationary)
    if max_work is not None and work > float(max_work):
        seconds = work / _UNITS_PER_SECOND
        kind = "stationary, O(n log n)" if stationary else "non-stationary, O(n^2 q)"
        raise ValueError(
            f"markov_profile (n = {n}, q = {q}, {kind}) is estimated at {work:.3g} work units, "
            f"about {seconds:.3g} s on one core ({seconds / nthreads:.3g} s on {nthreads}), "
            f"above max_work = {float(max_work):.3g}; pass max_work=None to run it anyway"
        )
    h = np.asarray(core.markov_profile(P, np.ascontiguousarray(mu), n, stationary, nthreads))
    kind = "stationary" if stationary else "non-stationary"
    return Profile(h / factor, base=base, source=f"markov_profile ({kind}, q={q}, n={n})")
