"""Block profiles of blockwise (semi-autoregressive) decoding (theory section 10).

Block ``b`` of a blockwise sampler is revealed after every earlier block; inside it the sampler
runs a random order. Its cost is the section-5 identity built from the **block profile**

    h_b(i) = mean over S in B_b, |S| = i, j in B_b minus S of H(X_j | X_{B_<b}, X_S),

computed here exactly from subset entropies (:func:`block_profiles`), at any length for a Markov
chain (:func:`markov_block_profiles`), or estimated from a black-box model
(:func:`estimate_block_profiles`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from unmask._core_loader import core
from unmask._validation import as_probability_array, check_memory, log_base_factor
from unmask.profiles.estimate import EstimatedProfile
from unmask.profiles.estimate_state import EstimateState
from unmask.profiles.lattice import MAX_N, _as_joint, subset_entropies
from unmask.profiles.profile import Profile

__all__ = [
    "block_profiles",
    "block_profiles_from_state",
    "estimate_block_profiles",
    "estimate_block_state",
    "markov_block_profiles",
    "resolve_widths",
]


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


#: Bytes of one small Profile object besides its h array (measured: about 350).
PROFILE_BYTES = 400.0


def resolve_widths(
    n: int, block_width: Any = None, widths: Any = None, *, per_block_bytes: float = 0.0
) -> list[int]:
    """Block widths from ``block_width`` or an explicit ``widths`` list (exactly one of them).

    With ``block_width`` the last block is shorter when it does not divide ``n``; ``widths``
    must sum to ``n``. ``per_block_bytes`` is what the caller will allocate per block: the
    memory check (before the list is built) counts it with the list itself.

    Raises
    ------
    ValueError
        Both or neither given, a non-positive width, ``block_width > n``, or widths not summing
        to ``n``.

    Examples
    --------
    >>> resolve_widths(10, 4)
    [4, 4, 2]
    >>> resolve_widths(6, widths=[1, 5])
    [1, 5]
    """
    if (block_width is None) == (widths is None):
        raise ValueError("give exactly one of block_width= and widths=")
    if widths is None:
        w = _positive_int(block_width, "block_width")
        if w > n:
            raise ValueError(f"block_width = {w} exceeds n = {n}")
        check_memory((n // w + 1) * (8.0 + per_block_bytes),
                     f"{n // w + 1} blocks (n = {n}, block_width = {w})")
        out = [w] * (n // w)
        if n % w:
            out.append(n % w)
        return out
    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__iter__"):
        raise ValueError(f"widths must be a list of positive integers, got {widths!r}")
    out = [_positive_int(v, f"widths[{b}]") for b, v in enumerate(widths)]
    if not out:
        raise ValueError("widths is empty: a block schedule needs at least one block")
    if sum(out) != n:
        raise ValueError(f"block widths {short_widths(out)} sum to {sum(out)}, not to n = {n}")
    return out


def short_widths(ws: Sequence[int]) -> str:
    """Block widths for a message: the list when short, else the distinct widths and a count.

    Messages and ``Profile.source`` strings stay short at any number of blocks (formatting
    the whole list once per block made block profiles quadratic in ``n``).
    """
    return str(list(ws)) if len(ws) <= 6 else f"{sorted(set(ws))} ({len(ws)} blocks)"


def _clean(h: NDArray[np.float64]) -> NDArray[np.float64]:
    """Han's inequality holds within a block given the prefix: remove rounding-level breaks."""
    out: NDArray[np.float64] = np.minimum.accumulate(np.maximum(h, 0.0))
    return out


def block_profiles(
    joint: Any,
    block_width: int | None = None,
    widths: Any = None,
    *,
    base: float | None = None,
    threads: int | None = None,
) -> list[Profile]:
    """Exact block profiles ``h_b`` of a joint law (theory section 10).

    Parameters
    ----------
    joint : Joint, array_like or dit.Distribution
        The law on ``[q]^n``.
    block_width : int, optional
        Width ``W`` of every block (the last one shorter when ``W`` does not divide ``n``).
    widths : sequence of int, optional
        Explicit block widths summing to ``n`` (instead of ``block_width``).
    base : float, optional
        Logarithm base (None: nats).
    threads : int, optional
        Threads for the C++ subset-entropy walk (None: all cores).

    Returns
    -------
    list of Profile
        ``profiles[b].h[i] = mean over S in B_b, |S| = i, j in B_b outside S of
        H(X_j | X_{B_<b}, X_S)``, ``i = 0..W_b - 1``. They add up to the entropy:
        ``sum_b profiles[b].entropy == H(X)``.

    Raises
    ------
    ValueError
        Bad law, widths (see :func:`resolve_widths`) or base.
    MemoryError
        Before any allocation when the subset entropies do not fit.

    Notes
    -----
    ``H(X_j | X_{B_<b}, X_S) = H(B_<b + S + j) - H(B_<b + S)``, so with ``H^b_k`` the average
    of ``H(B_<b + T)`` over ``T subset B_b``, ``|T| = k``, ``h_b(i) = H^b_{i+1} - H^b_i``
    (each ``T`` of size ``i + 1`` arises from ``i + 1`` pairs ``(S, j)``). The subset entropies
    come from the lattice engine of :func:`unmask.subset_entropies`; only ``sum_b 2^{W_b}`` of
    them are read.

    Examples
    --------
    >>> import unmask
    >>> law = unmask.joints.all_equal(4, 2)            # X0 = X1 = X2 = X3
    >>> [p.h.round(6).tolist() for p in unmask.block_profiles(law, 2)]
    [[0.693147, 0.0], [0.0, 0.0]]
    """
    jt = _as_joint(joint)
    n = jt.n
    ws = resolve_widths(n, block_width, widths)
    factor = log_base_factor(base)
    if n > MAX_N:
        raise ValueError(f"block_profiles supports n <= {MAX_N}, got n = {n}")
    q = jt.q
    # Only sum_b 2^{W_b} subsets are needed. Walking each block's own lattice (one axis summed
    # out at a time, from the marginal of prefix + block) touches about q^{a_b} (q+1)^{W_b}
    # values per block; the full lattice about q (q+1)^n. Take the cheaper.
    starts = np.concatenate([[0], np.cumsum(ws)]).tolist()
    direct = sum(float(q) ** a * (q + 1.0) ** w for a, w in zip(starts[:-1], ws, strict=True))
    what = f"exact (n={n}, q={q})"
    if direct <= 0.25 * q * (q + 1.0) ** n:
        check_memory(8.0 * 3 * q**n, f"block marginals of a law on [{q}]^{n}")
        values = _block_entropies(jt, ws)
        return _profiles_from_block_entropies(values, ws, factor, base, what)
    ent = subset_entropies(jt, base=None, threads=threads)
    return _profiles_from_entropies(ent, ws, factor, base, what)


def _block_entropies(jt: Any, ws: Sequence[int]) -> list[NDArray[np.float64]]:
    """For each block, ``H(prefix + T)`` for every subset ``T`` of the block (bit v = position v).

    A depth-first walk from the marginal of prefix + block sums out one block axis at a time.
    """
    n, q = jt.n, jt.q
    flat = np.ascontiguousarray(jt.flat)
    mass = float(np.sum(flat))
    out = []
    start = 0
    for w in ws:
        a = start
        top = flat.reshape(q ** (a + w), -1).sum(axis=1).reshape((q**a,) + (q,) * w)
        values = np.zeros(1 << w)
        _walk(top, list(range(w)), (1 << w) - 1, 0, values, a > 0)
        if mass != 1.0:
            nonempty = np.arange(1 << w) > 0 if a == 0 else np.ones(1 << w, dtype=bool)
            values[nonempty] = values[nonempty] / mass + math.log(mass)
        np.maximum(values, 0.0, out=values)
        out.append(values)
        start += w
    del n
    return out


def _walk(
    arr: NDArray[np.float64],
    present: list[int],
    mask: int,
    nxt: int,
    values: NDArray[np.float64],
    has_prefix: bool,
) -> None:
    """Record ``H`` of ``arr`` at ``mask``, then visit each subset without a later axis once."""
    if mask or has_prefix:
        values[mask] = -float(core.plogp_sum(np.ascontiguousarray(arr).reshape(-1)))
    for pos, v in enumerate(present):
        if v < nxt:
            continue
        child = arr.sum(axis=1 + pos)
        _walk(child, present[:pos] + present[pos + 1 :], mask & ~(1 << v), v + 1, values,
              has_prefix)


def _profiles_from_block_entropies(
    values: list[NDArray[np.float64]],
    ws: Sequence[int],
    factor: float,
    base: float | None,
    what: str,
) -> list[Profile]:
    out = []
    short = short_widths(ws)
    for b, (vals, w) in enumerate(zip(values, ws, strict=True)):
        sums = np.asarray(core.level_sums(np.ascontiguousarray(vals), w))
        counts = np.array([math.comb(w, k) for k in range(w + 1)], dtype=np.float64)
        h = _clean(np.diff(sums / counts) / factor)
        out.append(Profile(h, base=base, source=f"block {b} of widths {short}, {what}"))
    return out


def _profiles_from_entropies(
    ent: NDArray[np.float64], ws: Sequence[int], factor: float, base: float | None, what: str
) -> list[Profile]:
    values = []
    start = 0
    for w in ws:
        prefix = (1 << start) - 1
        sub = np.arange(1 << w, dtype=np.int64) << start
        values.append(np.ascontiguousarray(ent[prefix | sub]))
        start += w
    return _profiles_from_block_entropies(values, ws, factor, base, what)


# -- Markov chains ---------------------------------------------------------------------------
def _row_entropies(P: NDArray[np.float64], dmax: int) -> NDArray[np.float64]:
    """``E[x, d] = H(P^d[x, :])`` for ``d = 0..dmax`` (column 0 is 0)."""
    q = P.shape[0]
    E = np.zeros((q, dmax + 1))
    power = np.eye(q)
    for d in range(1, dmax + 1):
        power = power @ P
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(power > 0, -power * np.log(np.where(power > 0, power, 1.0)), 0.0)
        E[:, d] = terms.sum(axis=1)
    return E


def _entropy_rows(m: NDArray[np.float64]) -> NDArray[np.float64]:
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(m > 0, -m * np.log(np.where(m > 0, m, 1.0)), 0.0)
    out: NDArray[np.float64] = terms.sum(axis=1)
    return out


def _log_binom(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """``log C(a, b)`` for integer-valued arrays, ``-inf`` where ``b < 0`` or ``b > a``."""
    top = int(np.max(a)) if np.size(a) else 0
    logfact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, top + 1, dtype=np.float64)))])
    ok = (b >= 0) & (b <= a)
    ai = np.asarray(a, dtype=np.int64)
    bi = np.where(ok, b, 0).astype(np.int64)
    val = logfact[ai] - logfact[bi] - logfact[np.maximum(ai - bi, 0)]
    out: NDArray[np.float64] = np.where(ok, val, -np.inf)
    return out


def _markov_block_h(
    D: NDArray[np.float64], Hm: NDArray[np.float64], anchored: bool, w: int
) -> NDArray[np.float64]:
    """Block profile of ``w`` consecutive positions of a Markov chain.

    Row ``u`` of ``D`` and entry ``u`` of ``Hm`` describe local position ``u``: 0 is the anchor
    (the last token of the prefix, known; a dummy row in block 0), ``1..w`` the block.
    ``D[u, d] = H(X_{u+d} | X_u)`` (d = 0..w), ``Hm[u] = H(X_u)``.
    """
    start = 1
    loc = np.arange(w + 1)
    glob = loc
    # C[u, v] = H(X_v | X_u) for local u < v (u = 0 is the anchor when anchored).
    U, V = np.meshgrid(loc, loc, indexing="ij")
    gap = V - U
    valid = gap > 0
    uu = np.where(valid, U, 1)
    gg = np.where(valid, gap, 0)
    if anchored:
        C = np.where(valid, D[glob[uu], gg], 0.0)
    else:
        C = np.where(valid & (U >= 1), D[np.maximum(glob[uu], 0), gg], 0.0)
    # window sums A[l, r] = sum_{l<j<r} H(X_j | X_l, X_r) = sum_j C[l,j] + C[j,r] - C[l,r]
    # (for l = 0 without an anchor: H(X_j | X_r) = H(X_j) + C[j, r] - H(X_r)).
    left = np.cumsum(C, axis=1)  # left[l, r-1] = sum_{j<=r-1} C[l, j] = sum_{l<j<r} C[l, j]
    right = np.cumsum(C, axis=0)  # right[r-1, r] = sum_{j<=r-1} C[j, r]
    Hloc = np.zeros(w + 1)
    Hloc[1:] = Hm[start : start + w]
    cumH = np.cumsum(Hloc)
    h = np.zeros(w)
    ivals = np.arange(w, dtype=np.float64)
    log_norm = _log_binom(np.full(w, float(w)), ivals) + np.log(w - ivals)
    terms: list[NDArray[np.float64]] = []
    # both neighbours inside the block: 1 <= l < r <= w, free = (l-1) + (w-r), two required
    L2, R2 = np.meshgrid(np.arange(1, w + 1), np.arange(1, w + 1), indexing="ij")
    both = R2 - L2 >= 2
    if np.any(both):
        li, ri = L2[both], R2[both]
        A = (left[li, ri - 1] - left[li, li]) + (right[ri - 1, ri] - right[li, ri]) - (
            ri - li - 1
        ) * C[li, ri]
        free = (li - 1) + (w - ri)
        bins = np.asarray(np.bincount(free, weights=A, minlength=w), dtype=np.float64)
        terms.append(_weighted(bins, 2, ivals, log_norm))
    # right neighbour only (left: the anchor, or nothing in block 0): free = w - r, one required
    r1 = np.arange(1, w + 1)
    if anchored:
        A1 = left[0, r1 - 1] + (right[r1 - 1, r1] - right[0, r1]) - (r1 - 1) * C[0, r1]
    else:
        A1 = (cumH[r1 - 1]) + right[r1 - 1, r1] - (r1 - 1) * Hloc[r1]
    bins1 = np.asarray(np.bincount(w - r1, weights=A1, minlength=w), dtype=np.float64)
    # left neighbour only, inside the block: l in 1..w, j in l+1..w, free = l - 1
    l1 = np.arange(1, w + 1)
    A2 = left[l1, w] - left[l1, l1]
    bins1 = bins1 + np.bincount(l1 - 1, weights=A2, minlength=w)
    terms.append(_weighted(bins1, 1, ivals, log_norm))
    # no neighbour in the block: only i = 0
    h0 = left[0, w] if anchored else cumH[w]
    h[0] += h0 / w
    for t in terms:
        h += t
    return h


def _weighted(
    bins: NDArray[np.float64], req: int, ivals: NDArray[np.float64], log_norm: NDArray[np.float64]
) -> NDArray[np.float64]:
    """``sum_f bins[f] C(f, i - req) / (C(w, i) (w - i))`` for every i."""
    f = np.arange(bins.size, dtype=np.float64)
    lw = _log_binom(f[None, :], ivals[:, None] - req) - log_norm[:, None]
    weights = np.exp(lw)
    out: NDArray[np.float64] = weights @ bins
    return out


def markov_block_profiles(
    transition: Any,
    n: int,
    block_width: int | None = None,
    initial: Any = None,
    *,
    widths: Any = None,
    base: float | None = None,
) -> list[Profile]:
    """Exact block profiles of a Markov chain ``X_0 -> ... -> X_{n-1}`` at any length.

    Parameters
    ----------
    transition : array_like
        Row-stochastic ``(q, q)`` matrix ``P[a, b] = P(X_{t+1} = b | X_t = a)``.
    n : int
        Length of the chain.
    block_width : int, optional
        Block width ``W`` (the last block shorter when it does not divide ``n``).
    initial : array_like, optional
        Law of ``X_0`` (default: the stationary law, as :func:`unmask.markov_profile`).
    widths : sequence of int, optional
        Explicit block widths (instead of ``block_width``).
    base : float, optional
        Logarithm base (None: nats).

    Returns
    -------
    list of Profile
        As :func:`block_profiles` of the chain's joint law, without enumerating it.

    Raises
    ------
    TypeError, ValueError
        As :func:`unmask.markov_profile`; bad widths as :func:`resolve_widths`.
    MemoryError
        When the ``n x (W_max + 1)`` table of conditional entropies does not fit.

    Notes
    -----
    Given the earlier blocks, a Markov chain's block depends on them only through the last
    token before the block (the *anchor*, always known). With ``l < j < r`` the nearest known
    positions around a masked ``j`` (``l`` may be the anchor, ``r`` may be absent),
    ``H(X_j | known) = H(X_j | X_l) + H(X_r | X_j) - H(X_r | X_l)`` and
    ``H(X_v | X_u) = sum_x P(X_u = x) H(P^{v-u}[x, :])``. For a uniform ``i``-subset ``S`` of
    the block, the number of subsets whose nearest members around ``j`` are ``l`` and ``r``
    is ``C(free, i - req)`` with ``free`` the positions left of ``l`` and right of ``r`` and
    ``req`` the neighbours that must be in ``S``; window sums grouped by ``free`` make each
    block ``O(W^2)`` after ``O(n W q)`` for the conditional entropies.

    Examples
    --------
    >>> import numpy as np, unmask
    >>> P = np.array([[0.9, 0.1], [0.2, 0.8]])
    >>> exact = unmask.block_profiles(unmask.joints.markov_chain(P, 6), 3)
    >>> fast = unmask.markov_block_profiles(P, 6, 3)
    >>> all(np.allclose(a.h, b.h, atol=1e-13) for a, b in zip(exact, fast))
    True
    """
    from unmask.laws.joints import _check_transition, stationary_distribution

    P = np.ascontiguousarray(_check_transition(transition), dtype=np.float64)
    q = P.shape[0]
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    n = int(n)
    ws = resolve_widths(n, block_width, widths, per_block_bytes=PROFILE_BYTES)
    if initial is None:
        mu = stationary_distribution(P)
    else:
        mu = as_probability_array(initial, name="initial")
        if mu.shape != (q,):
            raise ValueError(f"initial must have length q = {q}, got shape {mu.shape}")
    factor = log_base_factor(base)
    wmax = max(ws)
    check_memory(  # the tables, then one Profile (PROFILE_BYTES and its h) per block
        8.0 * (n * q + 16.0 * (wmax + 1) ** 2 + 2 * q * (wmax + 1))
        + len(ws) * PROFILE_BYTES + 8.0 * n,
        f"markov_block_profiles (n = {n}, q = {q}, W = {wmax})",
    )
    # marginals m[t] = mu P^t
    from unmask.profiles.markov import STATIONARY_TOL

    if float(np.max(np.abs(mu @ P - mu))) <= STATIONARY_TOL:
        m = np.tile(mu, (n, 1))  # stationary: every position has the law mu (as markov_profile)
    else:
        m = np.empty((n, q))
        m[0] = mu
        for t in range(1, n):
            m[t] = m[t - 1] @ P
        np.clip(m, 0.0, None, out=m)
    E = _row_entropies(P, wmax)
    out = []
    start = 0
    # a block depends on the chain only through the marginals of its anchor and positions: for a
    # stationary chain (or once the marginals have converged bit for bit) blocks repeat
    seen: dict[tuple[int, bytes], NDArray[np.float64]] = {}
    short = short_widths(ws)
    for b, w in enumerate(ws):
        lo = max(start - 1, 0)
        key = (w if start > 0 else -w, m[lo : start + w].tobytes())
        if key not in seen:
            rows = np.zeros((w + 1, q))
            rows[1:] = m[start : start + w]
            if start > 0:
                rows[0] = m[start - 1]
            D = rows @ E[:, : w + 1]  # D[u, d] = H(X_{u+d} | X_u), local positions
            Hm = _entropy_rows(rows)
            seen[key] = _clean(_markov_block_h(D, Hm, start > 0, w) / factor)
        h = seen[key].copy()
        out.append(
            Profile(h, base=base, source=f"markov block {b} of widths {short} (q={q}, n={n})")
        )
        start += w
    return out


# -- from a black-box model --------------------------------------------------------------------
def estimate_block_profiles(
    model: Callable[[Any, Any], Any],
    data: Any,
    n: int,
    block_width: int | None = None,
    *,
    widths: Any = None,
    samples_per_level: int = 256,
    batch_size: int = 256,
    estimator: str = "cross_entropy",
    output: str = "probs",
    q: int | None = None,
    tol: float = 1e-6,
    confidence: float = 0.95,
    monotone: bool = True,
    to_torch: bool = False,
    seed: Any = None,
    base: float | None = None,
    executor: Any = None,
    shard_size: int | None = None,
    progress: Callable[[int, int], Any] | None = None,
    timeout: float | None = None,
) -> list[EstimatedProfile]:
    """Monte Carlo block profiles from a black-box conditional model, sharded and mergeable.

    For block ``b`` and level ``i``, each sampled sequence ``x ~ p`` has every earlier block
    unmasked, a uniform ``i``-subset ``S`` of block ``b`` unmasked, and the rest of block ``b``
    and every later block masked; the model's prediction of every masked position of block
    ``b`` is scored as in :func:`unmask.estimate_profile` (cross entropy ``-log q_j(x_j | .)``,
    or the entropy of ``q_j``), averaged over those positions. Later blocks are masked, as in
    blockwise decoding, and do not enter the context.

    Parameters
    ----------
    model, data, samples_per_level, batch_size, estimator, output, q, tol, confidence,
    monotone, to_torch, seed, base, executor, shard_size, progress, timeout
        As in :func:`unmask.estimate_profile`. The cells of the shard plan are the
        ``(block, level)`` pairs, block by block, ``samples_per_level`` sequences each.
    n : int
        Sequence length.
    block_width : int, optional
        Block width (the last block shorter when it does not divide ``n``).
    widths : sequence of int, optional
        Explicit block widths (instead of ``block_width``).

    Returns
    -------
    list of EstimatedProfile
        One per block, ``h`` on ``i = 0..W_b - 1`` with ``stderr`` and a confidence band;
        ``monotone=True`` projects each onto non-increasing curves (weights ``1/stderr^2``).
        ``profiles[b].estimate`` is the block's part of the mergeable state, keyed by level
        ``i`` (the whole ``(block, level)`` state is :func:`estimate_block_state`);
        ``profiles[b].evidence`` holds its two independent halves (alternate draws of every
        level, when each level has at least 4 samples) for the robust schedule choice of
        theory section 13. The result depends on the seed and the shard plan only: serial,
        thread, process and Dask runs agree bit for bit.

    Raises
    ------
    ValueError, TypeError, ShardError, ExecutorError, MemoryError, ImportError
        As :func:`unmask.estimate_profile`, and bad widths (see :func:`resolve_widths`).

    Examples
    --------
    >>> import numpy as np, unmask
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> def model(values, mask):  # independent fair bits
    ...     return np.full(values.shape + (2,), 0.5)
    >>> data = np.random.default_rng(0).integers(0, 2, size=(50, 6))
    >>> serial = unmask.estimate_block_profiles(model, data, 6, 4, samples_per_level=8, seed=1)
    >>> with ThreadPoolExecutor(2) as ex:
    ...     threads = unmask.estimate_block_profiles(
    ...         model, data, 6, 4, samples_per_level=8, seed=1, executor=ex, shard_size=16)
    >>> [p.n for p in serial], bool(np.allclose(serial[0].h, np.log(2)))
    ([4, 2], True)
    >>> serial[1].estimate.keys, threads[1].estimate.counts.tolist()
    ((0, 1), [8, 8])
    """
    from unmask.profiles.estimate import _check_positive_int, _is_real_number

    n = _check_positive_int(n, "n")
    ws = resolve_widths(n, block_width, widths)
    # checked before any model call (estimate_profile checks these in the same order)
    spl = _check_positive_int(samples_per_level, "samples_per_level")
    if spl < 2:
        raise ValueError(f"samples_per_level must be >= 2, got {spl}")
    if not (_is_real_number(confidence) and 0.0 < confidence < 1.0):
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    factor = log_base_factor(base)
    state = estimate_block_state(
        model, data, n, widths=ws, samples_per_level=spl, batch_size=batch_size,
        estimator=estimator, output=output, q=q, tol=tol, to_torch=to_torch, seed=seed,
        executor=executor, shard_size=shard_size, progress=progress, timeout=timeout,
    )
    return block_profiles_from_state(
        state, confidence=confidence, monotone=monotone, base=base, estimator=estimator,
        _factor=factor,
    )


def estimate_block_state(
    model: Callable[[Any, Any], Any],
    data: Any,
    n: int,
    block_width: int | None = None,
    *,
    widths: Any = None,
    samples_per_level: int = 256,
    batch_size: int = 256,
    estimator: str = "cross_entropy",
    output: str = "probs",
    q: int | None = None,
    tol: float = 1e-6,
    to_torch: bool = False,
    seed: Any = None,
    executor: Any = None,
    shard_size: int | None = None,
    progress: Callable[[int, int], Any] | None = None,
    timeout: float | None = None,
) -> EstimateState:
    """The mergeable state behind :func:`estimate_block_profiles`, cells ``(block, level)``.

    Takes the sampling arguments of :func:`estimate_block_profiles` and runs the shards of
    :func:`unmask.profiles.estimate.estimate_state` (the same shard function, streams and
    plan rules), with the cells ``(b, i)`` for ``b`` over the blocks and ``i = 0..W_b - 1``.
    :func:`block_profiles_from_state` turns it (or a merge of its shards) into the profiles.

    Examples
    --------
    >>> import numpy as np
    >>> from unmask.profiles.blocks import estimate_block_state
    >>> def model(values, mask):
    ...     return np.full(values.shape + (2,), 0.5)
    >>> st = estimate_block_state(model, np.zeros((4, 5), dtype=int), 5, 3,
    ...                           samples_per_level=4, shard_size=8, seed=0)
    >>> st.keys, st.shards
    (((0, 0), (0, 1), (0, 2), (1, 0), (1, 1)), (0, 1, 2))
    """
    from unmask.profiles.estimate import _check_positive_int, estimate_state

    n = _check_positive_int(n, "n")
    ws = resolve_widths(n, block_width, widths)
    return estimate_state(
        model, data, n, samples_per_level=samples_per_level, batch_size=batch_size,
        estimator=estimator, output=output, q=q, tol=tol, to_torch=to_torch, seed=seed,
        executor=executor, shard_size=shard_size, progress=progress, timeout=timeout,
        _widths=ws,
    )


def block_profiles_from_state(
    state: EstimateState,
    *,
    confidence: float = 0.95,
    monotone: bool = True,
    base: float | None = None,
    estimator: str = "cross_entropy",
    _factor: float | None = None,
) -> list[EstimatedProfile]:
    """The block profiles of a (merged) state whose cells are ``(block, level)`` pairs.

    Parameters
    ----------
    state : EstimateState
        From :func:`estimate_block_state` (or merged from its shards): keys ``(b, i)``, block
        ``b`` holding the levels ``0..W_b - 1``; every cell needs at least two values.
    confidence, monotone, base, estimator
        As in :func:`estimate_block_profiles`.

    Returns
    -------
    list of EstimatedProfile
        As :func:`estimate_block_profiles`; ``profiles[b].estimate`` is
        ``state.select`` of block ``b``'s cells, renamed to their levels.

    Raises
    ------
    ValueError
        Keys that are not ``(block, level)`` pairs covering ``0..W_b - 1`` for consecutive
        blocks, or a cell with fewer than two values.
    """
    from unmask.profiles.estimate import profile_from_state

    keys = state.keys
    ok = all(
        isinstance(k, tuple) and len(k) == 2
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in k)
        for k in keys
    )
    widths: list[int] = []
    if ok:
        for key in keys:
            b, i = cast("tuple[int, int]", key)
            if b == len(widths) - 1 and i == widths[-1]:
                widths[-1] += 1
            elif b == len(widths) and i == 0:
                widths.append(1)
            else:
                ok = False
                break
    if not ok or not widths:
        raise ValueError(
            "the state's cells must be (block, level) pairs: blocks 0, 1, ... in order, each "
            f"with levels 0..W_b - 1; got {list(keys)[:8]}"
        )
    out = []
    short = short_widths(widths)  # one label for all blocks (listing every width is quadratic)
    for b, w in enumerate(widths):
        part = state.select([(b, i) for i in range(w)], rename=list(range(w)))
        out.append(profile_from_state(
            part, w, confidence=confidence, monotone=monotone, base=base, estimator=estimator,
            _factor=_factor, _what=f"estimate_block_profiles block {b} of widths {short}",
        ))
    return out
