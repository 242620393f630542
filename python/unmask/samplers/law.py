"""The factorized sampler: its exact law, its error split, and a Monte Carlo run of it.

Theory sections 2, 3, 5 and 8: :func:`sampler_law` (exact output law, random or fixed order,
fixed or random sizes), :func:`decompose` (factorization + learning error of a fixed order),
:func:`learning_errors` (``eps(i)`` of random order) and :func:`sample` (batched simulation).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask._core_loader import core
from unmask._validation import check_memory, log_base_factor, resolve_threads
from unmask.laws.joint import Joint, check_dense_size
from unmask.samplers.conditionals import Conditionals, _rank_table, as_conditionals, level_masks
from unmask.schedules.schedule import BernoulliSizes, CompositionLaw, Schedule

__all__ = ["Decomposition", "decompose", "learning_errors", "sample", "sampler_law"]

SizeLaw = Schedule | CompositionLaw | BernoulliSizes


# -- argument resolution -------------------------------------------------------------------------
def _as_joint(joint: Any) -> Joint:
    return joint if isinstance(joint, Joint) else Joint(joint)


def _as_sizes(schedule: Any, n: int) -> SizeLaw:
    if isinstance(schedule, (CompositionLaw, BernoulliSizes)):
        sizes: SizeLaw = schedule
    else:
        sizes = schedule if isinstance(schedule, Schedule) else Schedule(schedule)
    if sizes.n != n:
        raise ValueError(f"the schedule is for n = {sizes.n} but the joint has n = {n}")
    return sizes


def _as_order(order: Any, n: int) -> tuple[int, ...] | None:
    """None for random order, else the permutation."""
    if isinstance(order, str):
        if order == "random":
            return None
        if order == "left-to-right":
            return tuple(range(n))
        raise ValueError(
            f"order must be 'random', 'left-to-right' or a permutation, got {order!r}"
        )
    if isinstance(order, (list, tuple)) and any(isinstance(v, (bool, np.bool_)) for v in order):
        raise ValueError(f"order must be a permutation of 0..{n - 1} (integers), got {order!r}")
    arr = np.asarray(order)
    if (
        arr.ndim != 1
        or arr.size != n
        or not np.issubdtype(arr.dtype, np.integer)
        or sorted(arr.tolist()) != list(range(n))
    ):
        raise ValueError(f"order must be a permutation of 0..{n - 1}, got {order!r}")
    return tuple(int(v) for v in arr.tolist())


def _states(n: int, q: int, level: int) -> int:
    return int(math.comb(n, level) * q**level)


# -- exact law -----------------------------------------------------------------------------------
def sampler_law(
    joint: Any,
    schedule: Any,
    order: Any = "random",
    conditionals: Any = None,
    threads: int | None = None,
) -> Joint:
    r"""Exact output law of the factorized (parallel) sampler.

    Parameters
    ----------
    joint : Joint or array_like
        The target law ``p`` on ``[q]^n`` (it fixes ``n``, ``q`` and the default conditionals).
    schedule : Schedule, sequence of int, CompositionLaw, BernoulliSizes or BlockSchedule
        Per-step counts ``(s_1, ..., s_K)`` (tokens unmasked *at* each step), a law over such
        compositions, the time-grid Bernoulli sampler of MDLM/MD4, or a
        :class:`~unmask.BlockSchedule` (blockwise decoding: blocks left to right, ``"random"``
        order inside each block; see :func:`unmask.samplers.blocks.block_sampler_law`).
    order : {"random", "left-to-right"} or sequence of int
        ``"random"``: a uniform permutation (each block a uniform subset of the masked tokens);
        otherwise the fixed order in which tokens are unmasked.
    conditionals : Conditionals, Joint, callable or None
        ``q_j(. | x_A)``; None means the exact conditionals of ``joint``, a Joint ``p_hat`` its
        exact conditionals, a callable ``fn(x, j)`` as in :meth:`Conditionals.from_callable`.
    threads : int, optional
        Threads of the C++ level DP (None: all cores). Results do not depend on it.

    Returns
    -------
    Joint
        Fixed order: ``q_sigma(x) = prod_k prod_{j in B_k} q_j(x_j | x_{A_k})``. Random order:
        the mixture ``qbar = E_sigma q_sigma``. Random sizes: further averaged over the sizes.

    Raises
    ------
    ValueError
        Schedule not summing to ``n``, bad order, conditionals for another ``n``/``q`` or invalid
        values returned by a callable.
    TypeError
        ``conditionals`` of another type, or a callable returning non-real values.
    MemoryError
        Before allocating, when the states of the level DP do not fit.

    Notes
    -----
    Random order uses the level DP of theory section 8 on states ``(A, x_A)``:
    ``W_{k+1}(B, x_B) = sum_{A subset B, |B\A| = s_k} W_k(A, x_A) / C(n - i_k, s_k)
    prod_{j in B\A} q_j(x_j | x_A)``, in C++ (OpenMP, GIL released). The states of level ``i``
    number ``C(n, i) q^i``. Bernoulli sizes reveal a uniform ``s``-subset with probability
    ``Binomial(s; n - i, beta_k)``: every step then moves mass from every level to every
    higher one, so the cost is about ``K`` times that of all step sizes at once (exact studies,
    ``n`` up to about 12 binary). Fixed orders are evaluated densely in numpy from one
    marginal of ``p`` per context set ``A_k + j`` (``O(n q^n)`` time, a few dense copies of
    memory: binary ``n = 20`` in about 0.1 s). Use
    :func:`unmask.kl` on the result for ``KL(p || qbar)``, which is at most the order-averaged
    :func:`unmask.expected_kl` (convexity, section 3).

    Examples
    --------
    >>> import numpy as np, unmask
    >>> p = np.zeros((2, 2, 2)); p[0, 0, :] = p[1, 1, :] = 0.25   # X0 = X1, X2 independent
    >>> law = unmask.sampler_law(p, [2, 1])
    >>> round(unmask.kl(p, law), 4)                               # log(6/5)
    0.1823
    """
    from unmask.schedules.blocks import BlockSchedule

    if isinstance(schedule, BlockSchedule):  # blockwise decoding (theory section 10)
        from unmask.samplers.blocks import block_sampler_law

        resolve_threads(threads)
        return block_sampler_law(joint, schedule, order, conditionals)
    p = _as_joint(joint)
    n, q = p.n, p.q
    sizes = _as_sizes(schedule, n)
    sigma = _as_order(order, n)
    cond = as_conditionals(conditionals, p)
    nthreads = resolve_threads(threads)
    if isinstance(sizes, CompositionLaw):
        total = np.zeros(q**n)
        for w, sched in sizes:
            if w > 0:
                total += w * sampler_law(p, sched, order, cond, threads).flat
        return Joint(total.reshape((q,) * n), normalize=True)
    if sigma is not None:
        # law, factor, broadcast products; a callable also gets q^i context rows of n int64
        # (three copies) for contexts up to i = n - 1.
        per_entry = 4 + (3 * n) / q if not cond.uses_marginals else 8
        check_memory(8.0 * q**n * per_entry, f"the fixed-order law on [{q}]^{n}")
        if isinstance(sizes, BernoulliSizes):
            return _fixed_order_bernoulli(sigma, sizes, cond)
        return Joint(_fixed_order_law(sigma, sizes, cond).reshape((q,) * n), normalize=True)
    if isinstance(sizes, BernoulliSizes):
        return _random_order_bernoulli(sizes, cond, nthreads)
    return _random_order_fixed(sizes, cond, nthreads)


def _level_inputs(
    cond: Conditionals, levels: Sequence[int], threads: int
) -> tuple[dict[int, NDArray[np.float64]], float]:
    """Marginals needed for contexts at the given levels (empty for callables), temperature."""
    if cond.uses_marginals:
        wanted = [i + 1 for i in levels]
        if cond.temperature == 1.0:
            wanted += list(levels)
        return cond.marginals(wanted, threads), cond.temperature
    return {}, 1.0


def _estimate(cond: Conditionals, levels: Sequence[int], state_bytes: float, what: str) -> None:
    n, q = cond.n, cond.q
    need = state_bytes
    if cond.uses_marginals:
        wanted = {i + 1 for i in levels} | (set(levels) if cond.temperature == 1.0 else set())
        need += 8.0 * sum(_states(n, q, lv) for lv in wanted)
        if cond.temperature != 1.0:
            need += max(8.0 * _states(n, q, i) * (n - i) * q for i in set(levels))
        else:
            need += max(8.0 * _states(n, q, i) for i in set(levels))
    else:
        need += max(8.0 * _states(n, q, i) * (n - i) * q * 1.5 for i in set(levels))
    check_memory(need, what)


def _step(
    cond: Conditionals,
    marg: dict[int, NDArray[np.float64]],
    temperature: float,
    src: NDArray[np.float64],
    dst: NDArray[np.float64],
    i: int,
    s: int,
    weight: float,
    threads: int,
    tables: dict[int, NDArray[np.float64]],
) -> None:
    n, q = cond.n, cond.q
    if cond.uses_marginals:
        cur = marg[i] if temperature == 1.0 else None
        core.law_step(src, dst, n, q, i, s, weight, cur, marg[i + 1], temperature, None, threads)
    else:
        if i not in tables:
            tables.clear()
            tables[i] = np.ascontiguousarray(cond.table(i).reshape(-1))
        core.law_step(src, dst, n, q, i, s, weight, None, None, 1.0, tables[i], threads)


def _random_order_fixed(sched: Schedule, cond: Conditionals, threads: int) -> Joint:
    n, q = cond.n, cond.q
    starts = [i for i, _ in sched.blocks()]
    peak = max(_states(n, q, i) + _states(n, q, i + s) for i, s in sched.blocks())
    _estimate(cond, starts, 8.0 * peak, f"the random-order law of schedule {sched.sizes}")
    marg, temperature = _level_inputs(cond, starts, threads)
    tables: dict[int, NDArray[np.float64]] = {}
    w = np.ones(1)
    for i, s in sched.blocks():
        dst = np.zeros(_states(n, q, i + s))
        _step(cond, marg, temperature, w, dst, i, s, 1.0 / math.comb(n - i, s), threads, tables)
        w = dst
    return Joint(w.reshape((q,) * n), normalize=True)


def _random_order_bernoulli(sizes: BernoulliSizes, cond: Conditionals, threads: int) -> Joint:
    n, q = cond.n, cond.q
    every = list(range(n))
    all_states = sum(_states(n, q, i) for i in range(n + 1))
    _estimate(cond, every, 8.0 * 2 * all_states, "the random-order law of Bernoulli sizes")
    marg, temperature = _level_inputs(cond, every, threads)
    tables: dict[int, NDArray[np.float64]] = {}
    states: dict[int, NDArray[np.float64]] = {0: np.ones(1)}
    for k in range(sizes.steps):
        new: dict[int, NDArray[np.float64]] = {}
        for i in sorted(states):
            src = states[i]
            probs = sizes.step_probabilities(k, n - i)
            for s in np.nonzero(probs > 0)[0].tolist():
                b = i + s
                if b not in new:
                    new[b] = np.zeros(_states(n, q, b))
                if s == 0:
                    new[b] += probs[0] * src
                else:
                    weight = float(probs[s]) / math.comb(n - i, s)
                    _step(cond, marg, temperature, src, new[b], i, s, weight, threads, tables)
        states = new
    return Joint(states[n].reshape((q,) * n), normalize=True)


def _conditional_block(cond: Conditionals, prefix: Sequence[int], j: int) -> NDArray[np.float64]:
    """``q_j(x_j | x_A)`` for every ``x_A`` as an n-dim array (q on A and j, 1 elsewhere)."""
    n, q = cond.n, cond.q
    avars = sorted(prefix)
    values = cond.block(avars, j).reshape((q,) * len(avars) + (q,))
    axes = [*avars, j]
    arr = np.transpose(values, np.argsort(axes))
    shape = [q if (v in avars or v == j) else 1 for v in range(n)]
    return arr.reshape(shape)


def _fixed_order_law(
    sigma: Sequence[int], sched: Schedule, cond: Conditionals
) -> NDArray[np.float64]:
    n = cond.n
    law = np.ones((1,) * n)
    for i, s in sched.blocks():
        factor = np.ones((1,) * n)
        for j in sigma[i : i + s]:
            factor = factor * _conditional_block(cond, sigma[:i], j)
        law = law * factor
    return np.ascontiguousarray(law.reshape(-1))


def _fixed_order_bernoulli(
    sigma: Sequence[int], sizes: BernoulliSizes, cond: Conditionals
) -> Joint:
    n, q = cond.n, cond.q
    cache: dict[tuple[int, int], NDArray[np.float64]] = {}
    states: dict[int, NDArray[np.float64]] = {0: np.ones((1,) * n)}
    for k in range(sizes.steps):
        new: dict[int, NDArray[np.float64]] = {}
        for i, src in states.items():
            probs = sizes.step_probabilities(k, n - i)
            for s in np.nonzero(probs > 0)[0].tolist():
                term = probs[s] * src
                for j in sigma[i : i + s]:
                    if (i, j) not in cache:
                        cache[(i, j)] = _conditional_block(cond, sigma[:i], j)
                    term = term * cache[(i, j)]
                new[i + s] = new[i + s] + term if i + s in new else term
        states = new
    law = np.broadcast_to(states[n], (q,) * n)
    return Joint(np.ascontiguousarray(law), normalize=True)


# -- error decomposition -------------------------------------------------------------------------
@dataclass(frozen=True)
class Decomposition:
    """Per-step split of ``KL(p || q_sigma)`` for a fixed order (theory section 3).

    Attributes
    ----------
    factorization : numpy.ndarray
        ``F_k = E_p[TC(X_{B_k} | X_{A_k})]``, one entry per step.
    learning : numpy.ndarray
        ``L_k = sum_{j in B_k} E_p[KL(p(. | X_{A_k}) || q_j(. | X_{A_k}))]`` per step (may be inf).
    order : tuple of int
        The order ``sigma``.
    schedule : Schedule
        The sizes.
    """

    factorization: NDArray[np.float64]
    learning: NDArray[np.float64]
    order: tuple[int, ...]
    schedule: Schedule

    @property
    def factorization_total(self) -> float:
        """``F_sigma = sum_k F_k``."""
        return math.fsum(self.factorization.tolist())

    @property
    def learning_total(self) -> float:
        """``L_sigma = sum_k L_k`` (inf when a learned conditional misses p's support)."""
        return math.inf if np.any(np.isinf(self.learning)) else math.fsum(self.learning.tolist())

    @property
    def total(self) -> float:
        """``F_sigma + L_sigma = KL(p || q_sigma)``."""
        return self.factorization_total + self.learning_total

    def __repr__(self) -> str:
        return (
            f"Decomposition(steps={self.schedule.steps}, total={self.total:.6g}, "
            f"factorization={self.factorization_total:.6g}, learning={self.learning_total:.6g})"
        )


def _accurate_sum(values: NDArray[np.float64]) -> float:
    """Correctly rounded sum up to 2^22 terms; numpy's pairwise sum beyond (no 32-byte floats)."""
    if values.size <= 1 << 22:
        return math.fsum(values.ravel().tolist())
    return float(np.sum(values))


def _entropy_of(marginal: NDArray[np.float64]) -> float:
    v = marginal[marginal > 0]
    return -_accurate_sum(v * np.log(v))


def _learning_term(p: Joint, cond: Conditionals, prefix: Sequence[int], j: int) -> float:
    """``E_p[KL(p(. | X_A) || q_j(. | X_A))]`` for the context set ``A = prefix``."""
    q = p.q
    avars = sorted(prefix)
    joint_aj = p.marginal([*avars, j])
    pos = sorted([*avars, j]).index(j)
    table = np.moveaxis(joint_aj, pos, -1).reshape(-1, q)  # rows: x_A in C order; cols: x_j
    pa = table.sum(axis=1)
    live = pa > 0
    log_qj = cond._log_block(avars, j)  # in logs: strong tempering underflows q, not log q
    pj, log_qv, pa_live = table[live], log_qj[live], pa[live][:, None]
    support = pj > 0
    if np.any(np.isneginf(log_qv[support])):
        return math.inf
    terms = np.where(
        support,
        pj * (np.log(np.where(support, pj, 1.0)) - np.log(pa_live)
              - np.where(support, log_qv, 0.0)),
        0.0,
    )
    # A KL is >= 0 (Gibbs): what falls below is rounding.
    return max(0.0, _accurate_sum(terms))


def _is_exact_for(cond: Conditionals, p: Joint) -> bool:
    """True when ``cond`` are the exact conditionals of ``p`` itself (learning error 0)."""
    return cond.kind == "exact" and cond.joint is not None and cond.joint == p


def _check_work_memory(p: Joint, cond: Conditionals, what: str) -> None:
    n, q = p.n, p.q
    per_entry = 8.0 if cond.uses_marginals else 8.0 + (3 * n) / q
    check_memory(8.0 * q**n * per_entry, f"{what} on [{q}]^{n}")


def decompose(
    joint: Any,
    schedule: Any,
    order: Any = "left-to-right",
    conditionals: Any = None,
    base: float | None = None,
) -> Decomposition:
    """Split ``KL(p || q_sigma)`` of a fixed order into factorization and learning error.

    Parameters
    ----------
    joint : Joint or array_like
        The target law ``p``.
    schedule : Schedule, sequence of int or BlockSchedule
        Per-step counts ``(s_1, ..., s_K)`` (fixed sizes).
    order : "left-to-right" or sequence of int
        The fixed order ``sigma`` (``"random"`` is refused: use :func:`unmask.expected_kl`).
    conditionals : Conditionals, Joint, callable or None
        The sampler's ``q_j``; None = exact conditionals of ``joint`` (learning error 0).
    base : float, optional
        Log base (None: nats).

    Returns
    -------
    Decomposition
        Arrays ``factorization`` (``F_k``) and ``learning`` (``L_k``) per step, with totals;
        ``total == kl(p, sampler_law(p, schedule, order, conditionals))`` up to rounding.

    Raises
    ------
    ValueError
        Random order, random sizes, bad order or schedule.

    Notes
    -----
    Theory section 3, the chain rule: ``F_k = sum_{j in B_k} H(X_j | X_{A_k}) - H(X_{B_k} |
    X_{A_k})`` and ``L_k = sum_{j in B_k} E_p KL(p(. | X_{A_k}) || q_j(. | X_{A_k}))``, where
    ``A_k`` is the first ``i_k`` variables of ``sigma`` and ``B_k`` the next ``s_k``. Only
    contexts with ``p(x_A) > 0`` count.

    Examples
    --------
    >>> import unmask
    >>> d = unmask.decompose(unmask.joints.all_equal(3, 2), [2, 1])
    >>> round(d.factorization_total, 6), d.learning_total   # TC of the first block: log 2
    (0.693147, 0.0)
    """
    from unmask.schedules.blocks import BlockSchedule

    p = _as_joint(joint)
    n = p.n
    if isinstance(schedule, BlockSchedule):
        # a fixed blockwise order is a fixed order whose steps never cross a block boundary
        from unmask.samplers.blocks import _check_n, block_order

        _check_n(schedule, n)
        if block_order(schedule, order) is None:
            raise ValueError(
                "decompose is for a fixed order; for within-block random order use "
                "unmask.expected_kl with the block schedule (and conditionals=)"
            )
        schedule = schedule.flat
    if isinstance(schedule, (CompositionLaw, BernoulliSizes)):
        raise ValueError("decompose needs fixed sizes (a Schedule), not random sizes")
    sched = _as_sizes(schedule, n)
    assert isinstance(sched, Schedule)
    sigma = _as_order(order, n)
    if sigma is None:
        raise ValueError(
            "decompose is for a fixed order; for random order use unmask.expected_kl "
            "(with conditionals=) for the order average"
        )
    check_dense_size(n, p.q)
    cond = as_conditionals(conditionals, p)
    factor = log_base_factor(base)
    exact = _is_exact_for(cond, p)
    # marginal copies, masks, logs and the learning terms' tables: a few dense copies at once
    _check_work_memory(p, cond, "decompose")
    fac, learn = [], []
    for i, s in sched.blocks():
        prefix, block = sigma[:i], sigma[i : i + s]
        h_a = _entropy_of(p.marginal(list(prefix))) if i else 0.0
        singles = [_entropy_of(p.marginal([*prefix, j])) - h_a for j in block]
        h_ab = _entropy_of(p.marginal([*prefix, *block])) - h_a
        # F_k is a conditional total correlation, >= 0: what falls below is rounding.
        fac.append(max(0.0, math.fsum(singles) - h_ab) / factor)
        if exact:
            learn.append(0.0)
        else:
            learn.append(math.fsum(_learning_term(p, cond, prefix, j) for j in block) / factor)
    return Decomposition(np.array(fac), np.array(learn), sigma, sched)


def learning_errors(
    joint: Any,
    conditionals: Any,
    base: float | None = None,
    threads: int | None = None,
    *,
    blocks: Any = None,
) -> Any:
    """Average learning error ``eps(i)`` of random-order sampling at context size ``i``.

    Parameters
    ----------
    joint : Joint or array_like
        The target law ``p``.
    conditionals : Conditionals, Joint, callable or None
        The learned ``q_j`` (None: exact, giving zeros).
    base : float, optional
        Log base (None: nats).
    threads : int, optional
        Threads for the subset marginals (None: all cores). The result does not depend on it.
    blocks : BlockSchedule or sequence of int, optional
        Blockwise decoding (theory section 10): a block schedule or the block widths. Then a
        list with one array ``eps_b`` per block is returned (see
        :func:`unmask.samplers.blocks.block_learning_errors`).

    Returns
    -------
    numpy.ndarray
        Length ``n``: ``eps(i) = E_{A, j} E_p KL(p(. | X_A) || q_j(. | X_A))`` with ``A`` a uniform
        ``i``-subset and ``j`` uniform outside ``A`` (``+inf`` where a learned conditional is 0 on
        ``p``'s support). Indexed by the number of *unmasked* tokens ``i``.

    Raises
    ------
    MemoryError
        When the level marginals and work arrays would not fit in memory (checked first).

    Notes
    -----
    With it the identity of theory section 5 extends to learned conditionals:
    ``E_sigma KL(p || q_sigma) = sum_k g(i_k, i_k + s_k) + sum_k s_k eps(i_k)``
    (see ``unmask.expected_kl(..., conditionals=)``). Every pair ``(A, j)`` is the pair
    ``(S - j, j)`` of a subset ``S = A + j`` of size ``i + 1``, so level ``i`` is read at once from
    the subset marginals ``p(x_S)`` of level ``i + 1`` (computed in C++, ``O((q+1)^n)`` values in
    all): ``KL_{A,j} = sum_{x_S : p(x_S) > 0} p(x_S) [log p(x_S) - log p(x_A) - log q_j(x_j |
    x_A)]``, with ``p(x_A)`` the sum over ``x_j`` and ``log q_j`` from the learned law's own
    level marginals, normalised in logs (tempering ``1/T`` included), or from one table per
    level (a callable, :meth:`Conditionals.table`: one call of it per variable and level). Each
    pair's KL is a Neumaier-compensated sum in C++ (OpenMP over subsets, sequential inside one,
    so the result does not depend on ``threads``), clipped at 0 (Gibbs); the pairs are added
    with ``math.fsum``. Work is ``O(n (q+1)^n)`` (binary ``n = 14``: about 0.5 s on 2 cores)
    instead of ``O(n 2^(n-1) q^n)`` for the loop over pairs; memory is the level marginals of
    ``p`` and of the learned law, about ``16 (q+1)^n`` bytes (binary ``n = 16``: 0.7 GB).
    Exact conditionals of ``joint`` itself return zeros at once.

    Examples
    --------
    >>> import unmask
    >>> p = unmask.joints.all_equal(3, 2)
    >>> unmask.learning_errors(p, None).tolist()
    [0.0, 0.0, 0.0]
    >>> fair = unmask.joints.independent([[0.5, 0.5]] * 3)   # q_j = 1/2 whatever the context
    >>> [round(float(e), 6) for e in unmask.learning_errors(p, fair)]   # 0, then log 2
    [0.0, 0.693147, 0.693147]
    """
    if blocks is not None:
        from unmask.samplers.blocks import block_learning_errors
        from unmask.schedules.blocks import BlockSchedule

        widths = blocks.widths if isinstance(blocks, BlockSchedule) else blocks
        return block_learning_errors(joint, conditionals, widths, base=base)
    p = _as_joint(joint)
    n, q = p.n, p.q
    check_dense_size(n, q)
    cond = as_conditionals(conditionals, p)
    factor = log_base_factor(base)
    out = np.zeros(n)
    if _is_exact_for(cond, p):
        return out
    nthreads = resolve_threads(threads)
    # level marginals of p and of the learned law, (q+1)^n values each; for a callable also
    # one level's table, its log, its gathered copy and the contexts table() builds
    widest = max(math.comb(n, k) * q**k for k in range(n + 1))
    need = 16.0 * (q + 1) ** n + 16.0 * widest
    if not cond.uses_marginals:
        need += 16.0 * widest + max(
            8.0 * math.comb(n, i) * q**i * (2 * (n - i) * q + 2 * n) for i in range(n)
        )
    check_memory(need, f"learning_errors on [{q}]^{n}")
    levels = list(range(1, n + 1))
    c_levels: dict[int, NDArray[np.float64]] = {}
    if cond.uses_marginals:
        c_levels = cond.marginals(levels, nthreads)
        same = cond.joint == p
    else:
        same = False
    if same:
        p_levels = c_levels
    else:
        got = core.level_marginals(p.flat, n, q, levels, nthreads)
        p_levels = {int(lv): np.asarray(arr) for lv, arr in got.items()}
    ranks = _rank_table(n)
    for i in range(n):
        count = math.comb(n, i + 1)
        p_marg = np.ascontiguousarray(p_levels[i + 1], dtype=np.float64)
        log_table: NDArray[np.float64] | None = None
        if not cond.uses_marginals:
            with np.errstate(divide="ignore"):
                log_table = np.log(cond.table(i))  # (A, x_A, j outside A, x_j)
        if log_table is None:  # the whole level in one call, logs taken once
            pair = core.learning_level_kl_marginals(
                p_marg, c_levels[i + 1], cond.temperature, count, i + 1, q, nthreads
            )
            values = [np.asarray(pair)]
        else:
            values = []
            for t in range(i + 1):  # j = the t-th variable of S = A + j
                a, b = q**t, q ** (i - t)
                a_masks, js = _pair_layout(n, i + 1, t)
                rows = log_table[ranks[a_masks], :, js - t, :]  # (S, x_A, x_j)
                log_q = np.ascontiguousarray(rows.reshape(count, a, b, q).transpose(0, 1, 3, 2))
                values.append(np.asarray(core.learning_pair_kl(p_marg, log_q, count, a, q, b,
                                                               nthreads)))
        kls = np.concatenate(values)
        if np.any(np.isinf(kls)):
            out[i] = math.inf
        else:
            out[i] = math.fsum(kls.tolist()) / (count * (i + 1)) / factor
    return out


def _pair_layout(n: int, size: int, t: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """For the subsets ``S`` of ``size`` variables (mask order): ``A = S - j`` and ``j``.

    ``j`` is the ``t``-th smallest variable of each ``S``.
    """
    masks = level_masks(n, size)
    rest = masks.copy()
    for _ in range(t):
        rest &= rest - 1  # drop the lowest variable
    low = rest & -rest
    j = np.zeros_like(masks)
    for b in range(n):
        j += ((low >> b) & 1) * b
    return masks ^ low, j


# -- Monte Carlo ---------------------------------------------------------------------------------
def sample(
    source: Any,
    schedule: Any,
    size: int,
    order: Any = "random",
    seed: Any = None,
) -> NDArray[np.int64]:
    """Run the factorized sampler ``size`` times (batched numpy Monte Carlo).

    Parameters
    ----------
    source : Joint, array_like or Conditionals
        A joint (its exact conditionals are used) or the conditionals ``q_j`` to sample with.
    schedule : Schedule, sequence of int, CompositionLaw, BernoulliSizes or BlockSchedule
        Per-step counts (tokens unmasked *at* each step), random sizes, or a block schedule
        (blocks left to right; ``"random"`` order is then uniform inside each block).
    size : int
        Number of independent runs.
    order : {"random", "left-to-right"} or sequence of int
        Unmasking order; ``"random"`` draws an independent uniform permutation per run.
    seed : int, numpy.random.Generator or None
        Seed of ``numpy.random.default_rng``; a fixed seed gives reproducible output.

    Returns
    -------
    numpy.ndarray
        int64 array of shape ``(size, n)``, one sequence per row.

    Raises
    ------
    ValueError
        Bad size, schedule, order or conditionals.
    TypeError
        A bare callable as ``source`` (wrap it with :meth:`Conditionals.from_callable`).
    MemoryError
        When the batch (about ``96 size n`` bytes) cannot be held.

    Notes
    -----
    The process of theory section 2, vectorised over the batch: at each step every run draws
    the tokens of its block independently from ``q_j(. | x_A)`` with ``A`` its tokens unmasked
    before the step. Its law is :func:`sampler_law`, which the test suite checks by chi-square.

    Examples
    --------
    >>> import unmask
    >>> x = unmask.sample(unmask.joints.all_equal(4, 2), [1, 1, 1, 1], 5, seed=0)
    >>> bool((x == x[:, :1]).all())                  # exact one-at-a-time sampling
    True
    """
    if callable(source) and not isinstance(source, (Conditionals, Joint)):
        raise TypeError(
            "a conditional callable does not say n and q: pass "
            "unmask.Conditionals.from_callable(fn, n, q) as the source"
        )
    from unmask.schedules.blocks import BlockSchedule

    if isinstance(schedule, BlockSchedule):  # blockwise decoding (theory section 10)
        from unmask.samplers.blocks import block_sample

        return block_sample(source, schedule, size, order, seed)
    cond = source if isinstance(source, Conditionals) else Conditionals.exact(_as_joint(source))
    n = cond.n
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0:
        raise ValueError(f"size must be a non-negative integer, got {size!r}")
    sizes = _as_sizes(schedule, n)
    sigma = _as_order(order, n)
    rng = np.random.default_rng(seed)
    m = int(size)
    # orders, draws, contexts and the conditional look-up's (m, n) temporaries
    check_memory(8.0 * m * n * 12, f"a Monte Carlo batch of {m} runs")
    if sigma is None:
        perms = np.argsort(rng.random((m, n)), axis=1)
    else:
        perms = np.broadcast_to(np.asarray(sigma, dtype=np.int64), (m, n))
    fixed = sigma is not None and cond.uses_marginals
    x = np.full((m, n), -1, dtype=np.int64)
    done = np.zeros(m, dtype=np.int64)
    rows = np.arange(m)
    if isinstance(sizes, BernoulliSizes):
        for k in range(sizes.steps):
            beta = float(sizes.betas[k])
            counts = rng.binomial(n - done, beta) if beta < 1 else n - done
            _sample_step(
                cond, x, perms, done, np.asarray(counts, dtype=np.int64), rows, rng, fixed
            )
        return x
    if isinstance(sizes, CompositionLaw):
        which = rng.choice(len(sizes.schedules), size=m, p=sizes.weights)
        kmax = max(s.steps for s in sizes.schedules)
        table = np.zeros((len(sizes.schedules), kmax), dtype=np.int64)
        for r, sched in enumerate(sizes.schedules):
            table[r, : sched.steps] = sched.sizes
        per_step = table[which]
    else:
        per_step = np.broadcast_to(np.asarray(sizes.sizes, dtype=np.int64), (m, sizes.steps))
    for k in range(per_step.shape[1]):
        _sample_step(cond, x, perms, done, per_step[:, k], rows, rng, fixed)
    return x


def _fixed_order_probs(
    cond: Conditionals, context: NDArray[np.int64], j: int
) -> NDArray[np.float64]:
    """``cond(context, j)`` read from one marginal per context set (a fixed order has few).

    ``cond(x, j)`` reads the marginals of every subset of each level it meets ((q+1)^n values
    over a run); a fixed order only ever conditions on prefixes of the order.
    """
    q = cond.q
    weights = 1 << np.arange(cond.n, dtype=np.int64)
    masks = (context >= 0).astype(np.int64) @ weights
    out = np.empty((context.shape[0], q))
    for amask in np.unique(masks).tolist():
        rows = masks == amask
        avars = [v for v in range(cond.n) if amask >> v & 1]
        table = cond.block(avars, j)
        if avars:
            idx = np.ravel_multi_index(context[rows][:, avars].T, (q,) * len(avars))
            out[rows] = table[idx]
        else:
            out[rows] = table[0]
    return out


def _sample_step(
    cond: Conditionals,
    x: NDArray[np.int64],
    perms: NDArray[np.int64],
    done: NDArray[np.int64],
    counts: NDArray[np.int64],
    rows: NDArray[np.int64],
    rng: np.random.Generator,
    fixed: bool,
) -> None:
    q = cond.q
    context = x.copy()
    for t in range(int(counts.max(initial=0))):
        active = rows[counts > t]
        targets = perms[active, done[active] + t]
        for j in np.unique(targets).tolist():
            sel = active[targets == j]
            probs = _fixed_order_probs(cond, context[sel], j) if fixed else cond(context[sel], j)
            cdf = np.cumsum(probs, axis=1)
            u = rng.random(sel.size)[:, None] * cdf[:, -1:]
            x[sel, j] = np.minimum((u >= cdf).sum(axis=1), q - 1)
    done += counts
