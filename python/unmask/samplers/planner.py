"""The best deterministic take-then-draw planner, exactly (theory section 12).

A *planner* chooses, from the current partial assignment ``x_A``, a set ``T`` of masked positions
and draws ``x_T ~ prod_{j in T} q_j(x_j | x_A)``. For a deterministic planner the path to a final
``x`` is unique, and the forward KL is additive along it:

    KL(p || q_pi) = E_p sum_k [ TC(X_{T_k} | x_{A_{k-1}})
                                + sum_{j in T_k} KL(p_j || q_j)(x_{A_{k-1}}) ]

(the second term only for learned conditionals). :func:`planner_kl` evaluates the right-hand side
for any planner, :func:`planner_law` its exact law, and :func:`optimal_planner` minimises it by a
dynamic program over partial assignments (C++, OpenMP, GIL released), returning a
:class:`Planner`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask._core_loader import core
from unmask._validation import (
    available_memory_bytes,
    check_memory,
    format_bytes,
    resolve_threads,
)
from unmask.laws.joint import Joint
from unmask.samplers.conditionals import Conditionals, as_conditionals
from unmask.schedules.schedule import Schedule

__all__ = ["Planner", "optimal_planner", "planner_kl", "planner_law", "score_policy"]

#: A deterministic planner: ``policy(values, mask)`` -> the positions unmasked next.
#: ``values`` holds the unmasked values (entries under ``mask`` are ignored), ``mask`` is True
#: where a position is still masked.
Policy = Callable[[NDArray[np.int64], NDArray[np.bool_]], Iterable[int]]

#: Seconds per candidate-set evaluation of the DP on one core (measured on the 2-core build
#: machine; the estimate is an upper bound: branch and bound usually skips most evaluations).
SECONDS_PER_EVALUATION = 4e-9

#: Default refusal threshold of :func:`optimal_planner` for the estimated time, in seconds.
DEFAULT_MAX_SECONDS = 600.0

_TOL = 1e-12


# -- shared helpers ------------------------------------------------------------------------------
def _check_policy(policy: Any) -> None:
    if not callable(policy):
        raise TypeError("policy must be a callable policy(values, mask) -> positions to unmask, "
                        f"got {type(policy).__name__}")


def _as_joint(joint: Any) -> Joint:
    return joint if isinstance(joint, Joint) else Joint(joint)


def code_marginals(p: Joint) -> NDArray[np.float64]:
    """``p(X_A = x_A)`` for every partial assignment, indexed by its code.

    The code of ``x_A`` has digit ``x_j`` (base ``q + 1``, variable 0 slowest) for ``j`` in
    ``A`` and digit ``q`` for a masked position: the array has ``(q+1)^n`` entries.
    """
    n, q = p.n, p.q
    arr = np.zeros((q + 1,) * n)
    arr[(slice(0, q),) * n] = p.probs
    for j in range(n):
        src: list[Any] = [slice(None)] * n
        src[j] = slice(0, q)
        dst: list[Any] = [slice(None)] * n
        dst[j] = q
        arr[tuple(dst)] = arr[tuple(src)].sum(axis=j)
    return arr.reshape(-1)


def _weights(n: int, q: int) -> list[int]:
    return [(q + 1) ** (n - 1 - j) for j in range(n)]


def _code_of(values: Sequence[int], masked: Sequence[bool], q: int) -> int:
    code = 0
    for v, m in zip(values, masked, strict=True):
        code = code * (q + 1) + (q if m else int(v))
    return code


def _decode(code: int, n: int, q: int) -> tuple[list[int], list[bool]]:
    digits = [0] * n
    for j in range(n - 1, -1, -1):
        digits[j] = code % (q + 1)
        code //= q + 1
    return [d if d < q else -1 for d in digits], [d == q for d in digits]


def _value_tuples(size: int, q: int) -> list[tuple[int, ...]]:
    """Every ``x_T`` for ``|T| = size`` (C order over ``T``), as tuples of values."""
    return [tuple(int(v) for v in t) for t in np.ndindex(*((q,) * size))]


def _child_code(code: int, tset: Sequence[int], values: Sequence[int], q: int,
                w: Sequence[int]) -> int:
    return code - sum((q - v) * w[j] for j, v in zip(tset, values, strict=True))


def _check_set(chosen: Any, masked: Sequence[bool], n: int, where: str) -> list[int]:
    try:
        items = [int(j) for j in chosen]
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"a policy must return positions (integers); got {chosen!r} {where}"
        ) from exc
    tset = sorted(set(items))
    if len(tset) != len(items):
        raise ValueError(f"the policy returned repeated positions {items} {where}")
    if not tset:
        raise ValueError(f"the policy returned no position {where}")
    for j in tset:
        if not 0 <= j < n or not masked[j]:
            raise ValueError(f"the policy returned position {j}, which is not masked, {where}")
    return tset


def _learned(cond: Conditionals, p: Joint) -> bool:
    return not (cond.kind == "exact" and cond.joint is not None and cond.joint == p)


def _row_conditionals(cond: Conditionals | None, marg: NDArray[np.float64], code: int,
                      values: list[int], tset: Sequence[int], n: int, q: int,
                      w: Sequence[int]) -> list[NDArray[np.float64]]:
    """``q_j(. | x_A)`` for each ``j`` in ``T``: exact ones from the marginals, else ``cond``."""
    out = []
    mc = float(marg[code])
    for j in tset:
        if cond is None:
            row = np.array([marg[code - (q - v) * w[j]] for v in range(q)])
            out.append(row / mc if mc > 0 else np.full(q, 1.0 / q))
        else:
            x = np.array([values], dtype=np.int64)
            out.append(np.asarray(cond(x, j))[0])
    return out


# -- any deterministic planner -------------------------------------------------------------------
def planner_kl(joint: Any, policy: Policy, *, conditionals: Any = None) -> float:
    r"""``KL(p || q_pi)`` of a deterministic planner through the additivity identity.

    Parameters
    ----------
    joint : Joint or array_like
        The target law ``p``.
    policy : callable
        ``policy(values, mask)`` -> the positions unmasked next (a non-empty set of masked
        positions). ``values`` is an int array of length ``n`` (entries under ``mask`` are
        ``-1``), ``mask`` a bool array, True where still masked. It is called once per partial
        assignment of positive probability under ``p`` that the planner reaches; a
        :class:`Planner`'s :meth:`Planner.policy` can be passed.
    conditionals : Conditionals, Joint, callable or None
        The conditionals the sampler draws from (None: the exact ones of ``joint``).

    Returns
    -------
    float
        ``E_p sum_k [ TC(X_{T_k} | x_{A_{k-1}}) + sum_{j in T_k} KL(p_j || q_j)(x_{A_{k-1}}) ]``
        in nats (the learning term vanishes for exact conditionals); ``inf`` when a learned
        conditional is 0 where ``p`` is not.

    Raises
    ------
    ValueError, TypeError
        When the policy returns an empty set, a repeated or unmasked position, or non-integers.

    Notes
    -----
    Theory section 12: the path of a deterministic planner to a final ``x`` is unique, so
    ``log p(x) / q_pi(x)`` splits into one term per step; its expectation given the state is the
    step's conditional total correlation (plus the learning KL). The walk visits every state of
    positive probability the planner reaches, ``O((q+1)^n)`` at most; exact work for small ``n``.

    Examples
    --------
    >>> import unmask
    >>> p = unmask.joints.all_equal(3)
    >>> kl = unmask.planner_kl(p, lambda values, mask: [j for j in range(3) if mask[j]])
    >>> round(kl, 12)                                  # one step: TC = 2 log 2
    1.38629436112
    """
    _check_policy(policy)
    p = _as_joint(joint)
    n, q = p.n, p.q
    cond = as_conditionals(conditionals, p)
    learned = _learned(cond, p)
    marg = code_marginals(p)
    w = _weights(n, q)
    terms: list[float] = []
    stack = [(q + 1) ** n - 1]
    while stack:
        code = stack.pop()
        mc = float(marg[code])
        values, masked = _decode(code, n, q)
        if not any(masked):
            continue
        where = f"at values={values}"
        tset = _check_set(policy(np.array(values, dtype=np.int64), np.array(masked)), masked,
                          n, where)
        hsum, learn = 0.0, 0.0
        qrows = _row_conditionals(cond if learned else None, marg, code, values, tset, n, q, w)
        for t, j in enumerate(tset):
            pj = np.array([marg[code - (q - v) * w[j]] for v in range(q)]) / mc
            live = pj > 0
            hsum -= float(np.sum(pj[live] * np.log(pj[live])))
            if learned:
                qj = qrows[t]
                if np.any(live & (qj <= 0)):
                    return math.inf
                learn += float(np.sum(pj[live] * np.log(pj[live] / qj[live])))
        hjoint = 0.0
        for xs in _value_tuples(len(tset), q):
            child = _child_code(code, tset, xs, q, w)
            r = float(marg[child]) / mc
            if r > 0:
                hjoint -= r * math.log(r)
                stack.append(child)
        terms.append(mc * (max(hsum - hjoint, 0.0) + learn))
    return math.fsum(terms)


def planner_law(joint: Any, policy: Policy, *, conditionals: Any = None) -> Joint:
    r"""Exact output law ``q_pi`` of a deterministic take-then-draw planner.

    Parameters
    ----------
    joint : Joint or array_like
        The law ``p`` (its exact conditionals are drawn from unless ``conditionals`` is given;
        where ``p(x_A) = 0`` the exact conditionals are uniform, as in :class:`Conditionals`).
    policy : callable
        As in :func:`planner_kl`; here called at every state of positive probability under the
        sampler.
    conditionals : Conditionals, Joint, callable or None
        The conditionals the sampler draws from.

    Returns
    -------
    Joint
        ``q_pi(x) = prod_k prod_{j in T_k} q_j(x_j | x_{A_{k-1}})`` along the unique path of
        ``x``, computed by a forward pass over partial assignments.

    Examples
    --------
    >>> import unmask
    >>> p = unmask.joints.all_equal(2)
    >>> unmask.planner_law(p, lambda values, mask: [0, 1]).probs.tolist()   # both at once
    [[0.25, 0.25], [0.25, 0.25]]
    """
    _check_policy(policy)
    p = _as_joint(joint)
    n, q = p.n, p.q
    cond = as_conditionals(conditionals, p)
    learned = _learned(cond, p)
    marg = code_marginals(p)
    w = _weights(n, q)
    mass: dict[int, float] = {(q + 1) ** n - 1: 1.0}
    out = np.zeros(q**n)
    # children have smaller codes: visit states in decreasing code order
    while mass:
        code = max(mass)
        m = mass.pop(code)
        values, masked = _decode(code, n, q)
        if not any(masked):
            out[int(np.ravel_multi_index(values, (q,) * n))] += m
            continue
        where = f"at values={values}"
        tset = _check_set(policy(np.array(values, dtype=np.int64), np.array(masked)), masked,
                          n, where)
        rows = _row_conditionals(cond if learned else None, marg, code, values, tset, n, q, w)
        for xs in _value_tuples(len(tset), q):
            pr = m
            for t, v in enumerate(xs):
                pr *= float(rows[t][v])
            if pr > 0:
                child = _child_code(code, tset, xs, q, w)
                mass[child] = mass.get(child, 0.0) + pr
    return Joint(out.reshape((q,) * n), normalize=True)


def score_policy(joint: Any, schedule: Any, score: str = "confidence") -> Policy:
    """A take-then-draw rule as a deterministic planner: the ``s_k`` best-scored positions.

    Parameters
    ----------
    joint : Joint or array_like
        The law whose exact conditionals ``p_j = p(. | x_A)`` are scored.
    schedule : Schedule or sequence of int
        Step sizes; at a state with ``i`` unmasked positions the step is the one that starts at
        ``i`` (a state between two boundaries is refused).
    score : {"confidence", "margin", "entropy"}
        ``max_x p_j(x)``, top-1 minus top-2 probability, or minus the entropy of ``p_j``
        (theory section 11); ties go to the smaller position.

    Returns
    -------
    callable
        ``policy(values, mask)`` for :func:`planner_kl` and :func:`planner_law`.

    Examples
    --------
    >>> import unmask
    >>> p = unmask.joints.random(4, seed=1)
    >>> pol = unmask.score_policy(p, [2, 2])
    >>> round(unmask.planner_kl(p, pol) - unmask.kl(p, unmask.planner_law(p, pol)), 12)
    0.0
    """
    p = _as_joint(joint)
    n, q = p.n, p.q
    sched = schedule if isinstance(schedule, Schedule) else Schedule(schedule)
    if sched.n != n:
        raise ValueError(f"the schedule is for n = {sched.n} but the joint has n = {n}")
    if score not in ("confidence", "margin", "entropy"):
        raise ValueError(f"score must be 'confidence', 'margin' or 'entropy', got {score!r}")
    size_at = dict(zip(sched.boundaries[:-1].tolist(), sched.sizes, strict=True))
    marg = code_marginals(p)
    w = _weights(n, q)

    def policy(values: NDArray[np.int64], mask: NDArray[np.bool_]) -> list[int]:
        masked = [bool(v) for v in mask]
        unmasked = n - sum(masked)
        if unmasked not in size_at:
            raise ValueError(f"{unmasked} positions unmasked is not a step boundary of {sched}")
        code = _code_of([int(v) for v in values], masked, q)
        mc = float(marg[code])
        scored = []
        for j in range(n):
            if not masked[j]:
                continue
            pj = (np.array([marg[code - (q - v) * w[j]] for v in range(q)]) / mc if mc > 0
                  else np.full(q, 1.0 / q))
            top = np.sort(pj)[::-1]
            if score == "confidence":
                s = float(top[0])
            elif score == "margin":
                s = float(top[0] - top[1])
            else:
                live = pj[pj > 0]
                s = float(np.sum(live * np.log(live)))
            scored.append((-s, j))
        scored.sort()
        return sorted(j for _, j in scored[: size_at[unmasked]])

    return policy


# -- the best planner ----------------------------------------------------------------------------
class Planner:
    """The best deterministic take-then-draw planner of a law (from :func:`optimal_planner`).

    Attributes
    ----------
    kl : float
        ``KL(p || q_pi)`` of the best planner, in nats: the floor for every deterministic
        planner of the same kind (budget, schedule, blocks), confidence rules included.
    frontier : numpy.ndarray or None
        Free sizes: entry ``k - 1`` is the best KL with at most ``k`` steps, ``k = 1..K``
        (``inf`` where blocks need more steps). None for a fixed schedule.
    law : Joint
        The planner's exact output law (computed on first access).
    steps : int
        The budget ``K`` (free sizes) or the schedule's number of steps.
    schedule : Schedule or None
        The fixed sizes, if any.
    block_width : int or None
        Steps stay inside the current block of this width.
    """

    def __init__(self, *, joint: Joint, marg: NDArray[np.float64], value: NDArray[np.float64],
                 choice: NDArray[np.uint32], budget: int, schedule: Schedule | None,
                 block_width: int | None, cond_table: NDArray[np.float64] | None,
                 conditionals: Conditionals, steps: int) -> None:
        self._joint = joint
        self._marg = marg
        self._value = value
        self._choice = choice
        self._budget = budget
        self._schedule = schedule
        self._block_width = block_width
        self._cond_table = cond_table
        self._conditionals = conditionals
        self._steps = steps
        self._law: Joint | None = None
        self._cols = 1 if schedule is not None else budget

    # -- values ---------------------------------------------------------------------------------
    @property
    def joint(self) -> Joint:
        """The target law ``p``."""
        return self._joint

    @property
    def steps(self) -> int:
        """The budget ``K`` (free sizes) or the schedule's number of steps."""
        return self._steps

    @property
    def schedule(self) -> Schedule | None:
        """The fixed step sizes (None for a free budget)."""
        return self._schedule

    @property
    def block_width(self) -> int | None:
        """Width of the blocks steps stay inside (None: no blocks)."""
        return self._block_width

    def _root(self) -> int:
        return int((self._joint.q + 1) ** self._joint.n - 1)

    @property
    def kl(self) -> float:
        """``KL(p || q_pi)`` of the best planner (nats)."""
        return float(self._value[self._root() * self._cols + self._cols - 1])

    @property
    def frontier(self) -> NDArray[np.float64] | None:
        """Best KL with at most ``k`` steps for ``k = 1..K`` (None for a fixed schedule)."""
        if self._schedule is not None:
            return None
        row: NDArray[np.float64] = np.array(
            self._value[self._root() * self._cols:(self._root() + 1) * self._cols], dtype=np.float64
        )
        if self._steps > self._budget:
            row = np.concatenate([row, np.full(self._steps - self._budget, row[-1])])
        return row

    @property
    def law(self) -> Joint:
        """The exact law ``q_pi`` of the best planner."""
        if self._law is None:
            p = self._joint
            sizes = list(self._schedule.sizes) if self._schedule is not None else []
            flat = core.planner_law(self._marg, self._cond_table, p.n, p.q, self._budget, sizes,
                                    self._block_width or 0, self._choice)
            self._law = Joint(np.asarray(flat).reshape((p.q,) * p.n), normalize=True)
        return self._law

    # -- the policy -----------------------------------------------------------------------------
    def _steps_left(self, code: int, values: list[int], masked: list[bool]) -> int:
        """Budget left when the planner reaches ``code`` (replayed from the start)."""
        n, q = self._joint.n, self._joint.q
        w = _weights(n, q)
        cur, k = self._root(), self._budget
        while cur != code:
            tset = int(self._choice[cur * self._cols + k - 1])
            chosen = [j for j in range(n) if tset >> j & 1]
            if k < 1 or not chosen or any(masked[j] for j in chosen):
                raise ValueError(
                    f"the planner never reaches values={values} (it unmasks {chosen} where that "
                    "assignment still has them masked); pass steps_left="
                )
            cur = _child_code(cur, chosen, [values[j] for j in chosen], q, w)
            k -= 1
        return k

    def policy(self, values: Any, mask: Any, steps_left: int | None = None) -> tuple[int, ...]:
        """The positions the planner unmasks next.

        Parameters
        ----------
        values : array_like of int
            Length ``n``; the values of the unmasked positions (entries under ``mask`` are
            ignored).
        mask : array_like of bool
            Length ``n``, True where the position is still masked.
        steps_left : int, optional
            Free sizes only: the budget left. None: the budget the planner has when it reaches
            this assignment (a ValueError if it never does).

        Returns
        -------
        tuple of int
            The positions, increasing; empty when nothing is masked.

        Examples
        --------
        >>> import unmask
        >>> best = unmask.optimal_planner(unmask.joints.all_equal(3), 2)
        >>> best.policy([-1, -1, -1], [True, True, True])     # one position first
        (0,)
        >>> best.policy([1, -1, -1], [False, True, True])     # then the rest: they copy it
        (1, 2)
        """
        n, q = self._joint.n, self._joint.q
        vals = np.asarray(values)
        msk = np.asarray(mask)
        if vals.shape != (n,) or msk.shape != (n,):
            raise ValueError(f"values and mask must have length {n}, got {vals.shape}, "
                             f"{msk.shape}")
        if msk.dtype != np.bool_:
            raise TypeError(f"mask must be booleans (True = masked), got dtype {msk.dtype}")
        if not np.issubdtype(vals.dtype, np.integer):
            raise TypeError(f"values must be integers, got dtype {vals.dtype}")
        masked = [bool(b) for b in msk.tolist()]
        vlist = [int(v) if not m else -1 for v, m in zip(vals.tolist(), masked, strict=True)]
        if any(not 0 <= v < q for v, m in zip(vlist, masked, strict=True) if not m):
            raise ValueError(f"unmasked values must lie in 0..{q - 1}, got {vlist}")
        if not any(masked):
            return ()
        code = _code_of(vlist, masked, q)
        if self._schedule is not None:
            if steps_left is not None:
                raise ValueError("steps_left applies to a free budget only")
            col = 0
        else:
            k = self._steps_left(code, vlist, masked) if steps_left is None else int(steps_left)
            if not 1 <= k <= self._budget:
                raise ValueError(f"steps_left must be in 1..{self._budget}, got {k}")
            col = k - 1
        tset = int(self._choice[code * self._cols + col])
        chosen = tuple(j for j in range(n) if tset >> j & 1)
        if not chosen or any(not masked[j] for j in chosen) or math.isnan(
                float(self._value[code * self._cols + col])):
            raise ValueError(f"values={vlist} is not a state of this planner's kind (schedule "
                             "boundary or block shape)")
        return chosen

    # -- explanation ----------------------------------------------------------------------------
    def _step_cost(self, code: int, tset: Sequence[int]) -> float:
        """``TC(X_T | x_A)`` (+ learning KL) at ``code``, recomputed from the marginals."""
        n, q = self._joint.n, self._joint.q
        w = _weights(n, q)
        marg = self._marg
        mc = float(marg[code])
        hsum, learn = 0.0, 0.0
        for j in tset:
            pj = np.array([marg[code - (q - v) * w[j]] for v in range(q)]) / mc
            live = pj > 0
            hsum -= float(np.sum(pj[live] * np.log(pj[live])))
            if self._cond_table is not None:
                qj = np.array([self._cond_table[(code - (q - v) * w[j]) * n + j]
                               for v in range(q)])
                with np.errstate(divide="ignore"):
                    learn += float(np.sum(pj[live] * np.log(pj[live] / qj[live])))
        hjoint = 0.0
        for xs in _value_tuples(len(tset), q):
            r = float(marg[_child_code(code, tset, xs, q, w)]) / mc
            if r > 0:
                hjoint -= r * math.log(r)
        return max(hsum - hjoint, 0.0) + learn

    def explain(self, depth: int = 2, max_branches: int = 4) -> str:
        """The first steps in words: which positions, and why.

        Parameters
        ----------
        depth : int
            Number of steps described (>= 1).
        max_branches : int
            For later steps, the most likely values of the earlier steps described (>= 1).

        Returns
        -------
        str
            One line per step and branch: the set, its own cost (conditional total correlation
            of the set, plus the learning KL for learned conditionals), and the expected cost of
            what follows; they add up to the value of the state (theory section 12).

        Examples
        --------
        >>> import unmask
        >>> print(unmask.optimal_planner(unmask.joints.all_equal(3), 2).explain(depth=1))
        best planner: KL = 0 nats with at most 2 steps
        step 1: unmask {0} (own cost TC = 0, then 0 expected): value 0 with 2 steps left
        """
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise ValueError(f"depth must be an integer >= 1, got {depth!r}")
        if isinstance(max_branches, bool) or not isinstance(max_branches, int) or max_branches < 1:
            raise ValueError(f"max_branches must be an integer >= 1, got {max_branches!r}")
        n, q = self._joint.n, self._joint.q
        w = _weights(n, q)
        kind = (f"schedule {list(self._schedule.sizes)}" if self._schedule is not None
                else f"at most {self._steps} steps")
        if self._block_width:
            kind += f", blocks of width {self._block_width}"
        lines = [f"best planner: KL = {_fmt(self.kl)} nats with {kind}"]
        what = "TC" if self._cond_table is None else "TC + learning KL"
        level: list[tuple[int, float, int, str]] = [(self._root(), 1.0, self._budget, "")]
        for step in range(1, depth + 1):
            nxt: list[tuple[int, float, int, str]] = []
            level.sort(key=lambda item: -item[1])
            for code, prob, k, label in level[:max_branches]:
                _, masked = _decode(code, n, q)
                if not any(masked):
                    continue
                col = 0 if self._schedule is not None else k - 1
                tset = int(self._choice[code * self._cols + col])
                chosen = [j for j in range(n) if tset >> j & 1]
                value = float(self._value[code * self._cols + col])
                own = self._step_cost(code, chosen)
                where = f" if {label} (p = {prob:.3g})" if label else ""
                left = "" if self._schedule is not None else f" with {k} steps left"
                lines.append(
                    f"step {step}{where}: unmask {{{', '.join(map(str, chosen))}}} "
                    f"(own cost {what} = {_fmt(own)}, then {_fmt(max(value - own, 0.0))} "
                    "expected): "
                    f"value {_fmt(value)}{left}"
                )
                mc = float(self._marg[code])
                for xs in _value_tuples(len(chosen), q):
                    child = _child_code(code, chosen, xs, q, w)
                    r = float(self._marg[child]) / mc
                    if r > 0:
                        part = ", ".join(f"x{j}={v}" for j, v in zip(chosen, xs, strict=True))
                        nxt.append((child, prob * r, k - 1, f"{label}, {part}" if label else part))
            level = nxt
            if not level:
                break
        return "\n".join(lines)

    def __repr__(self) -> str:
        kind = (f"schedule={list(self._schedule.sizes)}" if self._schedule is not None
                else f"steps<={self._steps}")
        blocks = f", block_width={self._block_width}" if self._block_width else ""
        return (f"Planner(n={self._joint.n}, q={self._joint.q}, {kind}{blocks}, "
                f"kl={_fmt(self.kl)} nats)")


def _fmt(x: float) -> str:
    if math.isinf(x):
        return "inf"
    if abs(x) < 1e-12:
        return "0"
    return f"{x:.6g}"


def _cond_table(cond: Conditionals, n: int, q: int) -> NDArray[np.float64]:
    """``q_j(x_j | x_{A-j})`` for every code and every unmasked ``j`` of it (code x n)."""
    size = (q + 1) ** n
    digits = np.stack(np.unravel_index(np.arange(size), (q + 1,) * n), axis=1).astype(np.int64)
    table = np.full(size * n, np.nan)
    w = np.array(_weights(n, q), dtype=np.int64)
    codes = np.arange(size, dtype=np.int64)
    for j in range(n):
        ctx = digits[:, j] == q  # contexts: j masked
        rows = np.where(digits[ctx] == q, -1, digits[ctx])
        got = np.asarray(cond(rows, j), dtype=np.float64)
        for v in range(q):
            table[(codes[ctx] - (q - v) * w[j]) * n + j] = got[:, v]
    return table


def _block_boundaries(n: int, width: int) -> list[int]:
    return [*range(width, n, width), n]


def optimal_planner(
    joint: Any,
    steps_or_schedule: Any,
    *,
    block_width: int | None = None,
    conditionals: Any = None,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    max_seconds: float | None = DEFAULT_MAX_SECONDS,
) -> Planner:
    r"""The best deterministic take-then-draw planner of a small law, exactly.

    Parameters
    ----------
    joint : Joint or array_like
        The target law ``p`` on ``[q]^n`` (``n <= 31``).
    steps_or_schedule : int, Schedule or sequence of int
        An int ``K``: at most ``K`` steps, sizes free (the planner chooses how many positions
        each step takes). A Schedule (or its sizes): the sizes are fixed, the planner chooses
        the positions.
    block_width : int, optional
        Semi-autoregressive decoding: blocks ``[bW, (b+1)W)`` are decoded left to right and each
        step takes positions of the current block only (the first block with a masked position).
    conditionals : Conditionals, Joint, callable or None
        The conditionals the sampler draws from (None: the exact ones of ``joint``). Learned
        conditionals add ``sum_{j in T} KL(p_j || q_j)`` to each step's cost.
    threads : int, optional
        Threads of the C++ DP (None: all cores). Results do not depend on it.
    progress : callable, optional
        Called as ``progress(done, total)`` (states solved) while the DP runs.
    max_seconds : float or None
        Refuse (ValueError) when the estimated time exceeds it; None never refuses on time.

    Returns
    -------
    Planner
        With :attr:`Planner.kl`, :attr:`Planner.frontier`, :attr:`Planner.law`,
        :meth:`Planner.policy` and :meth:`Planner.explain`.

    Raises
    ------
    ValueError
        A budget below 1, a schedule whose ``n`` differs from the law's, a budget or schedule
        that the blocks cannot follow (fewer steps than blocks, a step crossing a block
        boundary), or an estimated time above ``max_seconds`` (the message names the
        estimated memory and time).
    MemoryError
        Before allocating, when the tables do not fit (the message names the estimated memory
        and time).
    TypeError
        For arguments of the wrong type.

    Notes
    -----
    Theory section 12. ``V(x_A, k) = min_T [ TC(X_T | x_A) + E_{x_T | x_A} V(x_{A+T}, k-1) ]``
    over the ``(q+1)^n`` partial assignments, solved level by level in C++ with the conditional
    marginals of each state computed once and branch and bound on the candidate sets (a set
    whose own TC exceeds the best value found for every budget is never expanded). Memory:
    about ``(q+1)^n (34 + 12 C)`` bytes, ``C = K`` columns for free sizes and 1 for a schedule
    (plus ``24 n (q+1)^n`` for learned conditionals). Time: at most ``(2q+1)^n (K+1)`` candidate
    evaluations for free sizes, far fewer with a schedule or blocks. Ties between sets go to
    the larger set (fewer steps).

    Examples
    --------
    >>> import unmask
    >>> p = unmask.joints.random(5, seed=3)
    >>> best = unmask.optimal_planner(p, 3)
    >>> abs(best.kl - unmask.kl(p, best.law)) < 1e-12       # the identity, checked exactly
    True
    >>> bool(best.frontier[-1] <= best.frontier[0])
    True
    """
    p = _as_joint(joint)
    n, q = p.n, p.q
    if n > 31:
        raise ValueError(f"the planner DP handles n <= 31 positions, got n = {n}")
    schedule: Schedule | None
    if isinstance(steps_or_schedule, (bool, np.bool_)):
        raise TypeError(
            f"steps_or_schedule must be an int or a Schedule, got {steps_or_schedule!r}"
        )
    if isinstance(steps_or_schedule, (int, np.integer)):
        steps = int(steps_or_schedule)
        if steps < 1:
            raise ValueError(f"the budget must be at least 1 step, got {steps}")
        schedule = None
        budget = min(steps, n)
        # the frontier repeats the last value for budgets beyond n: make sure that fits
        check_memory(8.0 * steps, f"a frontier of K = {steps} budgets (n = {n})")
    elif isinstance(steps_or_schedule, Schedule) or isinstance(steps_or_schedule, (list, tuple,
                                                                                    np.ndarray)):
        schedule = (steps_or_schedule if isinstance(steps_or_schedule, Schedule)
                    else Schedule(steps_or_schedule))
        if schedule.n != n:
            raise ValueError(f"the schedule is for n = {schedule.n} but the joint has n = {n}")
        steps = schedule.steps
        budget = steps
    else:
        raise TypeError("steps_or_schedule must be an int (a budget) or a Schedule, got "
                        f"{type(steps_or_schedule).__name__}")
    width = 0
    if block_width is not None:
        if isinstance(block_width, (bool, np.bool_)) or not isinstance(block_width,
                                                                      (int, np.integer)):
            raise TypeError(f"block_width must be an int or None, got {block_width!r}")
        width = int(block_width)
        if not 1 <= width <= n:
            raise ValueError(f"block_width must be in 1..{n}, got {width}")
        blocks = _block_boundaries(n, width)
        if schedule is None and steps < len(blocks):
            raise ValueError(f"{len(blocks)} blocks of width {width} need at least {len(blocks)} "
                             f"steps, got a budget of {steps}")
        if schedule is not None:
            cum = set(schedule.boundaries.tolist())
            missing = [b for b in blocks if b not in cum]
            if missing:
                raise ValueError(
                    f"schedule {list(schedule.sizes)} has a step crossing a block boundary: its "
                    f"cumulative counts {schedule.boundaries.tolist()[1:]} must include every "
                    f"block boundary {blocks}"
                )
    if max_seconds is not None and (isinstance(max_seconds, bool) or not isinstance(
            max_seconds, (int, float)) or not max_seconds > 0):
        raise ValueError(f"max_seconds must be a positive number or None, got {max_seconds!r}")
    nthreads = resolve_threads(threads)
    cond = as_conditionals(conditionals, p)
    learned = _learned(cond, p)
    # estimate memory and time before allocating anything large
    codes = (q + 1) ** n
    cols = 1 if schedule is not None else budget
    # marginals 8, m log m pairs 16, value 8 C, choice 4 C, the law's pass 10 (bytes per state)
    need = codes * (34.0 + 12.0 * cols) + 3 * 8.0 * q**n
    if learned:
        need += codes * n * 24.0  # the learned table and the contexts that fill it
    sizes = list(schedule.sizes) if schedule is not None else []
    work = float(core.planner_work(n, q, budget, sizes, width)) if codes < 2**40 else math.inf
    seconds = work * SECONDS_PER_EVALUATION / nthreads
    what = (f"the planner DP for n = {n}, q = {q} ({codes:.3g} partial assignments, "
            f"{cols} budget column(s))")
    limit = available_memory_bytes()
    if need > limit:
        raise MemoryError(f"{what} needs about {format_bytes(need)} and about {seconds:.3g} s, "
                          f"but only {format_bytes(limit)} of memory is available")
    if max_seconds is not None and seconds > max_seconds:
        raise ValueError(f"{what} needs about {format_bytes(need)} and an estimated "
                         f"{seconds:.3g} s, above max_seconds = {max_seconds}; pass a larger "
                         "max_seconds (or None) to run it")
    marg = code_marginals(p)
    table = _cond_table(cond, n, q) if learned else None
    value = np.full(codes * cols, np.nan)
    choice = np.zeros(codes * cols, dtype=np.uint32)
    total = _state_count(n, q, budget, sizes, width)
    core.planner_solve(marg, table, n, q, budget, sizes, width, value, choice, nthreads,
                       progress, total)
    return Planner(joint=p, marg=marg, value=value, choice=choice, budget=budget,
                   schedule=schedule, block_width=width or None, cond_table=table,
                   conditionals=cond, steps=steps)


def _state_count(n: int, q: int, budget: int, sizes: list[int], width: int) -> int:
    """States the DP solves (for progress reports)."""
    levels = set(range(1, n + 1))
    if sizes:
        levels = {n - int(i) for i in np.cumsum([0, *sizes[:-1]])}
    total = 0
    for m in levels:
        if width:
            # masked sets of block shape: a non-empty subset of the current block, later blocks all
            count = 0
            for b in range(0, n, width):
                hi = min(n, b + width)
                inside = m - (n - hi)
                if 1 <= inside <= hi - b:
                    count += math.comb(hi - b, inside)
            total += count * q ** (n - m)
        else:
            total += math.comb(n, m) * q ** (n - m)
    return total
