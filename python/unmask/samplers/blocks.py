"""The blockwise (semi-autoregressive) sampler: exact law, learning errors, Monte Carlo.

Blocks are decoded left to right; inside block ``b`` the sampler runs the block's own
composition with a uniformly random order of the block's positions (or a fixed order), every
step drawing its tokens independently from ``q_j(. | x_A)`` with ``A`` everything unmasked so far
(all earlier blocks and the block's revealed positions). Theory section 10.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask._validation import check_memory, log_base_factor
from unmask.laws.joint import Joint, check_dense_size
from unmask.samplers.conditionals import Conditionals, as_conditionals
from unmask.schedules.blocks import BlockSchedule

__all__ = [
    "block_learning_errors",
    "block_order",
    "block_sample",
    "block_sampler_law",
]


def _as_joint(joint: Any) -> Joint:
    return joint if isinstance(joint, Joint) else Joint(joint)


def _check_n(bs: BlockSchedule, n: int, what: str = "joint") -> None:
    if bs.n != n:
        raise ValueError(
            f"the block schedule is for n = {bs.n} (widths {bs.widths}) but the {what} has "
            f"n = {n}"
        )


def block_order(bs: BlockSchedule, order: Any) -> tuple[int, ...] | None:
    """None for within-block random order, else a full order that keeps blocks in place.

    ``"left-to-right"`` is the identity; a permutation of ``0..n-1`` must list block 0's
    positions first (in any order), then block 1's, and so on.
    """
    from unmask.samplers.law import _as_order

    sigma = _as_order(order, bs.n)
    if sigma is None:
        return None
    starts = bs.starts.tolist()
    for b in range(bs.num_blocks):
        got = sorted(sigma[starts[b] : starts[b + 1]])
        if got != list(range(starts[b], starts[b + 1])):
            raise ValueError(
                f"order {list(sigma)} leaves block {b} (positions {starts[b]}..{starts[b + 1] - 1})"
                ": a blockwise order permutes positions within their own block"
            )
    return sigma


def block_sampler_law(
    joint: Any, schedule: BlockSchedule, order: Any = "random", conditionals: Any = None
) -> Joint:
    """Exact output law of blockwise decoding.

    Parameters
    ----------
    joint : Joint or array_like
        The target law ``p``.
    schedule : BlockSchedule
        Per-block compositions.
    order : "random", "left-to-right" or sequence of int
        ``"random"``: a uniform order inside each block, independently per block (the law is
        the mixture over those orders); otherwise a fixed order keeping every block in place.
    conditionals : Conditionals, Joint, callable or None
        The sampler's ``q_j`` (None: exact conditionals of ``joint``).

    Returns
    -------
    Joint

    Notes
    -----
    Random order: a level DP inside each block on states ``(S, x_{B_<b}, x_S)``, ``S`` the
    block's revealed positions, ``W(S + T) += W(S) / C(W_b - |S|, s) prod_{j in T}
    q_j(x_j | x_{B_<b + S})`` over ``T`` of the step's size (the section-8 DP with the subsets
    restricted to the block). Dense arrays: meant for exact studies (``q^n`` up to about a
    million, blocks up to about 12 wide).
    """
    from unmask.samplers.law import _conditional_block, sampler_law

    p = _as_joint(joint)
    n, q = p.n, p.q
    _check_n(schedule, n)
    sigma = block_order(schedule, order)
    if sigma is not None:
        return sampler_law(p, schedule.flat, order=list(sigma), conditionals=conditionals)
    check_dense_size(n, q)
    cond = as_conditionals(conditionals, p)
    wmax = max(schedule.widths)
    live = math.comb(wmax, wmax // 2)
    # two levels of states and one level's conditional tables (one per state and position)
    check_memory(
        8.0 * q**n * (2 * live + live * wmax + 4),
        f"the blockwise law on [{q}]^{n} (blocks up to {wmax} wide)",
    )
    law = np.ones((1,) * n)
    starts = schedule.starts.tolist()
    for b, block in enumerate(schedule.blocks):
        a, w = starts[b], schedule.widths[b]
        prefix = list(range(a))
        states: dict[tuple[int, ...], NDArray[np.float64]] = {(): law}
        level = 0
        for s in block:
            new: dict[tuple[int, ...], NDArray[np.float64]] = {}
            weight = 1.0 / math.comb(w - level, s)
            cache: dict[tuple[tuple[int, ...], int], NDArray[np.float64]] = {}
            for S, src in states.items():
                rest = [v for v in range(a, a + w) if v not in S]
                for j in rest:
                    cache[(S, j)] = _conditional_block(cond, [*prefix, *S], j)
                for T in combinations(rest, s):
                    term = src * weight
                    for j in T:
                        term = term * cache[(S, j)]
                    key = tuple(sorted((*S, *T)))
                    new[key] = new[key] + term if key in new else term
            states = new
            level += s
        (law,) = states.values()
    full = np.broadcast_to(law, (q,) * n)
    return Joint(np.ascontiguousarray(full), normalize=True)


def block_learning_errors(
    joint: Any,
    conditionals: Any,
    widths: Any,
    base: float | None = None,
) -> list[NDArray[np.float64]]:
    """Learning errors of blockwise decoding: ``eps_b(i)`` for every block ``b``.

    ``eps_b(i)`` is the mean over ``S`` in block ``b`` with ``|S| = i`` and ``j`` in the block
    outside ``S`` of ``E_p KL(p(. | X_{B_<b + S}) || q_j(. | X_{B_<b + S}))`` (theory sections 3
    and 10). With within-block random order, the expected KL of blockwise decoding with learned
    conditionals is the exact block cost plus ``sum_b sum_k s_{b,k} eps_b(i_k)``.

    Parameters
    ----------
    joint : Joint or array_like
        The target law ``p``.
    conditionals : Conditionals, Joint, callable or None
        The learned ``q_j`` (None: zeros).
    widths : sequence of int
        Block widths (summing to ``n``).
    base : float, optional
        Log base (None: nats).

    Returns
    -------
    list of numpy.ndarray
        ``eps[b][i]``, ``i = 0..W_b - 1``; ``inf`` where a learned conditional misses ``p``'s
        support.
    """
    from unmask.profiles.blocks import resolve_widths
    from unmask.samplers.law import _is_exact_for, _learning_term

    p = _as_joint(joint)
    ws = resolve_widths(p.n, widths=widths)
    cond = as_conditionals(conditionals, p)
    factor = log_base_factor(base)
    out = []
    start = 0
    exact = _is_exact_for(cond, p)
    for w in ws:
        eps = np.zeros(w)
        if not exact:
            block = list(range(start, start + w))
            prefix = tuple(range(start))
            for i in range(w):
                vals = [
                    _learning_term(p, cond, (*prefix, *S), j)
                    for S in combinations(block, i)
                    for j in block
                    if j not in S
                ]
                eps[i] = (
                    math.inf if any(math.isinf(v) for v in vals) else math.fsum(vals) / len(vals)
                )
        out.append(eps / factor)
        start += w
    return out


def block_sample(
    source: Any,
    schedule: BlockSchedule,
    size: int,
    order: Any = "random",
    seed: Any = None,
) -> NDArray[np.int64]:
    """Run blockwise decoding ``size`` times (batched numpy Monte Carlo); see :func:`unmask.sample`.

    ``order="random"`` draws, per run, an independent uniform order inside every block.
    """
    from unmask.samplers.law import _sample_step

    if callable(source) and not isinstance(source, (Conditionals, Joint)):
        raise TypeError(
            "a conditional callable does not say n and q: pass "
            "unmask.Conditionals.from_callable(fn, n, q) as the source"
        )
    cond = source if isinstance(source, Conditionals) else Conditionals.exact(_as_joint(source))
    n = cond.n
    _check_n(schedule, n, "source")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0:
        raise ValueError(f"size must be a non-negative integer, got {size!r}")
    sigma = block_order(schedule, order)
    rng = np.random.default_rng(seed)
    m = int(size)
    check_memory(8.0 * m * n * 12, f"a Monte Carlo batch of {m} runs")
    if sigma is None:
        perms = np.empty((m, n), dtype=np.int64)
        starts = schedule.starts.tolist()
        for b in range(schedule.num_blocks):
            a, e = starts[b], starts[b + 1]
            perms[:, a:e] = a + np.argsort(rng.random((m, e - a)), axis=1)
    else:
        perms = np.broadcast_to(np.asarray(sigma, dtype=np.int64), (m, n))
    fixed = sigma is not None and cond.uses_marginals
    x = np.full((m, n), -1, dtype=np.int64)
    done = np.zeros(m, dtype=np.int64)
    rows = np.arange(m)
    for s in schedule.sizes:
        _sample_step(cond, x, perms, done, np.full(m, s, dtype=np.int64), rows, rng, fixed)
    return x
