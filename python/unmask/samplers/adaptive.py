"""Exact laws of adaptive unmasking rules: confidence, margin, entropy and threshold samplers.

Theory section 11. The samplers people run choose the positions to unmask from the model's own
outputs, so the order depends on the values and the order-averaged identity of section 5 no
longer applies. :func:`adaptive_law` computes the exact output law of such a rule by a forward
pass over partial assignments ``(A, x_A)`` in C++; :func:`threshold_frontier` compares the
threshold rule (random number of steps) with well-chosen fixed schedules.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask._core_loader import core
from unmask._progress import Progress as ProgressReporter
from unmask._progress import check_progress
from unmask._validation import check_memory, resolve_threads
from unmask.laws.joint import Joint, check_dense_size
from unmask.samplers.conditionals import Conditionals, as_conditionals, level_masks
from unmask.samplers.divergence import kl, reverse_kl, tv
from unmask.schedules.blocks import BlockSchedule
from unmask.schedules.schedule import Schedule

__all__ = ["RULES", "AdaptiveLaw", "ThresholdFrontier", "adaptive_law", "threshold_frontier"]

#: The named rules, in the order the docs list them.
RULES: tuple[str, ...] = (
    "random",
    "max-prob",
    "margin",
    "entropy",
    "sampled-prob",
    "threshold",
)

#: Rules that choose the positions first and then draw them.
TAKE_THEN_DRAW: tuple[str, ...] = ("random", "max-prob", "margin", "entropy")

_RULE_IDS = {"random": 0, "max-prob": 1, "margin": 2, "entropy": 3, "sampled-prob": 5}
_SCORED = 4

ScoreFn = Callable[[NDArray[np.float64], NDArray[np.int64]], Any]
Progress = Callable[[int, int], None]


@dataclass(frozen=True, eq=False)
class AdaptiveLaw:
    """Exact output law of an adaptive unmasking rule, with its number of steps.

    Attributes
    ----------
    law : Joint
        The law of the sequence the sampler returns.
    steps_pmf : numpy.ndarray
        ``steps_pmf[k]`` = probability that the sampler finishes in exactly ``k`` steps
        (length ``n + 1``; one entry 1 for a fixed-size schedule).
    target : Joint
        The law ``p`` the sampler targets (the one :attr:`kl` compares with).
    rule : str
        The rule's name (``"callable"`` for a user scoring rule).
    schedule : Schedule, BlockSchedule or None
        The sizes of a fixed-size rule (None for ``"threshold"``).
    threshold : float or None
        ``tau`` of the threshold rule.
    block_width : int or None
        Width of the blocks of a blockwise threshold rule.
    """

    law: Joint
    steps_pmf: NDArray[np.float64]
    target: Joint
    rule: str
    schedule: Any = None
    threshold: float | None = None
    block_width: int | None = None
    _cache: dict[str, float] = field(default_factory=dict, repr=False, compare=False)

    @property
    def expected_steps(self) -> float:
        """``E[K] = sum_k k P(K = k)``."""
        return math.fsum((np.arange(self.steps_pmf.size) * self.steps_pmf).tolist())

    @property
    def kl(self) -> float:
        """``KL(p || law)`` in nats (``inf`` when the law misses part of p's support)."""
        if "kl" not in self._cache:
            self._cache["kl"] = kl(self.target, self.law)
        return self._cache["kl"]

    @property
    def reverse_kl(self) -> float:
        """``KL(law || p)`` in nats (``inf`` when the law puts mass outside p's support)."""
        if "reverse_kl" not in self._cache:
            self._cache["reverse_kl"] = reverse_kl(self.target, self.law)
        return self._cache["reverse_kl"]

    @property
    def tv(self) -> float:
        """Total variation distance between ``p`` and the law."""
        if "tv" not in self._cache:
            self._cache["tv"] = tv(self.target, self.law)
        return self._cache["tv"]

    def __repr__(self) -> str:
        what = f"tau={self.threshold}" if self.threshold is not None else f"{self.schedule!r}"
        return (
            f"AdaptiveLaw(rule={self.rule!r}, {what}, kl={self.kl:.6g}, "
            f"expected_steps={self.expected_steps:.6g})"
        )


# -- argument resolution -------------------------------------------------------------------------
def _rule_name(rule: Any) -> str:
    if isinstance(rule, str):
        if rule not in RULES:
            raise ValueError(f"unknown rule {rule!r}; rules: {', '.join(RULES)} or a callable")
        return rule
    if callable(rule):
        return "callable"
    raise TypeError(
        f"rule must be one of {', '.join(RULES)} or a callable scoring rule, "
        f"got {type(rule).__name__}"
    )


def _check_width(block_width: Any, n: int) -> int:
    if isinstance(block_width, (bool, np.bool_)) or not isinstance(
        block_width, (int, np.integer)
    ):
        raise TypeError(f"block_width must be an integer, got {block_width!r}")
    if not 1 <= block_width <= n:
        raise ValueError(f"block_width must lie in 1..{n}, got {block_width}")
    return int(block_width)


def _check_threshold(threshold: Any) -> float:
    if threshold is None:
        raise ValueError("rule 'threshold' needs threshold=tau with 0 < tau <= 1")
    if isinstance(threshold, (bool, np.bool_)) or not isinstance(
        threshold, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"threshold must be a number in (0, 1], got {threshold!r}")
    tau = float(threshold)
    if not 0.0 < tau <= 1.0:
        raise ValueError(f"threshold must lie in (0, 1], got {threshold!r}")
    return tau


def _resolve_schedule(
    schedule: Any, block_width: int | None, n: int
) -> tuple[Any, list[tuple[int, int]], list[int]]:
    """(schedule object, steps as (level, size), block of each variable)."""
    if schedule is None:
        raise ValueError(
            "a fixed-size rule needs a schedule: per-step counts, a Schedule, a BlockSchedule "
            "or a number of steps K"
        )
    if isinstance(schedule, BlockSchedule):
        if block_width is not None:
            raise ValueError("block_width is set by the BlockSchedule; do not pass both")
        if schedule.n != n:
            raise ValueError(f"the schedule is for n = {schedule.n} but the joint has n = {n}")
        block_of: list[int] = []
        for b, width in enumerate(schedule.widths):
            block_of += [b] * int(width)
        return schedule, list(schedule.flat.blocks()), block_of
    if isinstance(schedule, (int, np.integer)) and not isinstance(schedule, (bool, np.bool_)):
        steps = int(schedule)
        if not 1 <= steps <= n:
            raise ValueError(f"the number of steps must lie in 1..{n}, got {steps}")
        if block_width is not None:
            return _resolve_schedule(BlockSchedule.llada(n, steps, block_width), None, n)
        schedule = Schedule.constant(n, steps)
    elif block_width is not None:
        raise ValueError(
            "block_width with a fixed-size rule needs the number of steps K (schedule=K) "
            "or a BlockSchedule, not per-step counts"
        )
    sched = schedule if isinstance(schedule, Schedule) else Schedule(schedule)
    if sched.n != n:
        raise ValueError(f"the schedule is for n = {sched.n} but the joint has n = {n}")
    return sched, list(sched.blocks()), [0] * n


def _states(n: int, q: int, level: int) -> int:
    return int(math.comb(n, level) * q**level)


def _positions(n: int, level: int) -> NDArray[np.int64]:
    """Variables outside each subset of the level: shape ``(C(n, level), n - level)``."""
    masks = level_masks(n, level)
    out = np.empty((masks.size, n - level), dtype=np.int64)
    for r, a in enumerate(masks.tolist()):
        out[r] = [v for v in range(n) if not a >> v & 1]
    return out


def _score_table(
    fn: ScoreFn, table: NDArray[np.float64], n: int, q: int, level: int
) -> NDArray[np.float64]:
    """A user's scores of every (context, candidate) pair of a level, validated."""
    rows = table.reshape(-1, q)
    pos = np.broadcast_to(
        _positions(n, level)[:, None, :], (math.comb(n, level), q**level, n - level)
    ).reshape(-1)
    got = np.asarray(fn(rows.copy(), np.ascontiguousarray(pos)))
    if got.shape != (rows.shape[0],):
        raise ValueError(
            f"the scoring rule must return one score per row: shape ({rows.shape[0]},), "
            f"got {got.shape}"
        )
    if got.dtype == np.bool_ or not (
        np.issubdtype(got.dtype, np.floating) or np.issubdtype(got.dtype, np.integer)
    ):
        raise TypeError(f"the scoring rule must return real numbers, got dtype {got.dtype}")
    scores = np.asarray(got, dtype=np.float64)
    if not np.all(np.isfinite(scores)):
        raise ValueError("the scoring rule returned NaN or infinite scores")
    return np.ascontiguousarray(scores)


class _Source:
    """Conditionals of each level, in the form the C++ engine reads them."""

    def __init__(self, cond: Conditionals, levels: Sequence[int], threads: int, table: bool):
        self.cond = cond
        self.use_table = table or not cond.uses_marginals
        self.marg: dict[int, NDArray[np.float64]] = {}
        if not self.use_table:
            self.marg = cond.marginals([i + 1 for i in levels], threads)

    def level(self, i: int) -> tuple[Any, float, Any]:
        """(marg_next, temperature, table) for contexts of size ``i``."""
        if self.use_table:
            return None, 1.0, np.ascontiguousarray(self.cond.table(i).reshape(-1))
        return self.marg[i + 1], self.cond.temperature, None


def _estimate(
    cond: Conditionals, levels: Sequence[int], state_bytes: float, table: bool, what: str
) -> None:
    n, q = cond.n, cond.q
    need = state_bytes
    if table or not cond.uses_marginals:
        # one level's table, the contexts table() builds, and (scoring rule) the scores
        need += max(8.0 * _states(n, q, i) * ((n - i) * (q + 2) + 2 * n) for i in levels)
    else:
        need += 8.0 * sum(_states(n, q, i + 1) for i in set(levels))
    check_memory(need, what)


# -- the exact law -------------------------------------------------------------------------------
def adaptive_law(
    joint: Any,
    rule: Any,
    schedule: Any = None,
    *,
    threshold: float | None = None,
    block_width: int | None = None,
    conditionals: Any = None,
    threads: int | None = None,
    progress: Progress | None = None,
) -> AdaptiveLaw:
    r"""Exact output law of an adaptive (value-dependent) unmasking rule.

    Parameters
    ----------
    joint : Joint or array_like
        The target law ``p`` on ``[q]^n`` (it fixes ``n``, ``q`` and the default conditionals).
    rule : str or callable
        Which masked positions a step unmasks (the *candidates* are the masked positions, or
        those of the current block):

        * ``"random"``: a uniformly random set (the random-order sampler of
          :func:`unmask.sampler_law`);
        * ``"max-prob"``, ``"margin"``, ``"entropy"``: score each candidate by its conditional
          ``c_j = q_j(. | x_A)`` (``max_x c_j(x)``; top-1 minus top-2 probability; minus the
          entropy), take the ``s_k`` highest, then draw them;
        * ``"sampled-prob"``: draw ``y_j ~ c_j`` for every candidate and keep the ``s_k``
          draws with the highest ``c_j(y_j)``, the rest stay masked (LLaDA
          ``low_confidence``, MaskGIT);
        * ``"threshold"``: draw every candidate, keep every draw with ``c_j(y_j) > tau`` and
          always the most probable one (Fast-dLLM); the number of steps is random;
        * a callable ``score(probs, positions)`` for a user planner: ``probs`` is an
          ``(m, q)`` array of conditionals, ``positions`` the ``(m,)`` masked positions they
          belong to; it returns ``m`` real scores; the ``s_k`` highest are taken, then drawn.

        Ties are broken uniformly at random (scores within ``1e-12`` relative are tied).
    schedule : Schedule, sequence of int, BlockSchedule or int
        Tokens per step of a fixed-size rule; an int ``K`` means ``Schedule.constant(n, K)``
        (with ``block_width``: ``BlockSchedule.llada(n, K, block_width)``). A BlockSchedule
        decodes its blocks left to right, the rule applied inside the current block.
        Not used by ``"threshold"``.
    threshold : float, optional
        ``tau`` in ``(0, 1]`` of the ``"threshold"`` rule (``tau = 1``: one token per step).
    block_width : int, optional
        Blocks of this width (the last may be shorter), decoded left to right.
    conditionals : Conditionals, Joint, callable or None
        The model's ``q_j(. | x_A)``, used for the scores and the draws; None means the exact
        conditionals of ``joint``.
    threads : int, optional
        Threads of the C++ pass (None: all cores). Results agree to the last few ulps.
    progress : callable, optional
        ``progress(done, total)`` after each step (fixed-size) or level (threshold).

    Returns
    -------
    AdaptiveLaw
        ``.law`` (a Joint), ``.steps_pmf``, ``.expected_steps``, ``.kl`` (``KL(p || law)``),
        ``.reverse_kl`` and ``.tv``.

    Raises
    ------
    ValueError
        An unknown rule (the message lists them), a threshold outside ``(0, 1]``, a missing
        schedule for a fixed-size rule, a schedule whose ``n`` differs from the law's, a step
        larger than what its block has left, conditionals for another ``n``/``q``.
    TypeError
        A rule, threshold or width of the wrong type.
    MemoryError
        Before allocating, when the states of the pass do not fit.

    Notes
    -----
    A forward pass over partial assignments (theory section 11): the mass of state
    ``(A, x_A)`` is pushed to ``(A + T, x_{A+T})`` with the probability that the rule reveals
    ``T`` with those values. For take-then-draw rules that is the tie-breaking probability of
    ``T`` times ``prod_{j in T} c_j(y_j)``. For draw-then-keep rules, with ``v`` the smallest
    kept score and ``t`` the kept draws scoring ``v``,
    ``P(T, y_T) = prod_{j in T} c_j(y_j) sum_U prod_{j in U} E_j(v) prod_{j not in T+U}
    L_j(v) / C(t + |U|, t)`` over the sets ``U`` of other candidates whose draw ties at ``v``
    (``L_j(v)``, ``E_j(v)``: probability that ``j``'s draw scores below, at ``v``), so no
    enumeration over the ``q^m`` joint draws is needed. States number ``(q+1)^n`` in all;
    the threshold rule also keeps the number of steps taken (``O(n (q+1)^n)`` memory).

    Examples
    --------
    >>> import unmask
    >>> p = unmask.joints.random(4, 2, seed=1)
    >>> one = unmask.adaptive_law(p, "max-prob", [1, 1, 1, 1])   # one token per step: exact
    >>> round(one.kl, 12)
    0.0
    >>> biased = unmask.adaptive_law(p, "sampled-prob", [1, 1, 1, 1])
    >>> biased.kl > 0.01                                         # keeps likely values
    True
    >>> fast = unmask.adaptive_law(p, "threshold", threshold=0.9)
    >>> round(float(fast.steps_pmf.sum()), 12), 1 <= fast.expected_steps <= 4
    (1.0, True)
    """
    p = joint if isinstance(joint, Joint) else Joint(joint)
    n, q = p.n, p.q
    name = _rule_name(rule)
    check_dense_size(n, q)
    cond = as_conditionals(conditionals, p)
    nthreads = resolve_threads(threads)
    if name == "threshold":
        tau = _check_threshold(threshold)
        if schedule is not None:
            raise ValueError("rule 'threshold' takes no schedule (its number of steps is random)")
        width = _check_width(block_width, n) if block_width is not None else None
        block_of = [v // width for v in range(n)] if width is not None else [0] * n
        law, pmf = _threshold_pass(cond, tau, block_of, nthreads, progress)
        return AdaptiveLaw(law, pmf, p, name, None, tau, width)
    if threshold is not None:
        raise ValueError(f"threshold= is for rule 'threshold', not {name!r}")
    if block_width is not None:
        block_width = _check_width(block_width, n)
    sched, steps, block_of = _resolve_schedule(schedule, block_width, n)
    law = _fixed_pass(cond, rule, name, steps, block_of, nthreads, progress)
    pmf = np.zeros(n + 1)
    pmf[len(steps)] = 1.0
    return AdaptiveLaw(law, pmf, p, name, sched, None, block_width)


def _fixed_pass(
    cond: Conditionals,
    rule: Any,
    name: str,
    steps: list[tuple[int, int]],
    block_of: list[int],
    threads: int,
    progress: Progress | None,
) -> Joint:
    n, q = cond.n, cond.q
    scored = name == "callable"
    starts = [i for i, _ in steps]
    peak = max(_states(n, q, i) + _states(n, q, i + s) for i, s in steps)
    _estimate(cond, starts, 8.0 * peak, scored, f"the adaptive law of rule {name!r} on [{q}]^{n}")
    source = _Source(cond, starts, threads, scored)
    rule_id = _SCORED if scored else _RULE_IDS[name]
    w = np.ones(1)
    for k, (i, s) in enumerate(steps):
        marg, temperature, table = source.level(i)
        scores = _score_table(rule, table, n, q, i) if scored else None
        dst = np.zeros(_states(n, q, i + s))
        core.adaptive_step(
            rule_id, w, dst, n, q, i, s, block_of, marg, temperature, table, scores, threads
        )
        w = dst
        if progress is not None:
            progress(k + 1, len(steps))
    return Joint(w.reshape((q,) * n), normalize=True)


def _threshold_pass(
    cond: Conditionals,
    tau: float,
    block_of: list[int],
    threads: int,
    progress: Progress | None,
) -> tuple[Joint, NDArray[np.float64]]:
    n, q = cond.n, cond.q
    levels = list(range(n))
    size = sum(_states(n, q, lv) * (lv + 1) for lv in range(n + 1))
    _estimate(cond, levels, 8.0 * size, False, f"the threshold law on [{q}]^{n}")
    source = _Source(cond, levels, threads, False)
    offsets = core.threshold_offsets(n, q)
    buf = np.zeros(int(offsets[-1]))
    buf[0] = 1.0
    for i in levels:
        marg, temperature, table = source.level(i)
        core.adaptive_threshold_level(
            buf, n, q, i, tau, block_of, marg, temperature, table, threads
        )
        if progress is not None:
            progress(i + 1, n)
    final = buf[int(offsets[n]) :].reshape(q**n, n + 1)
    pmf = final.sum(axis=0)
    law = final.sum(axis=1)
    total = math.fsum(pmf.tolist())
    return Joint(law.reshape((q,) * n), normalize=True), pmf / total


# -- threshold versus fixed schedules ------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ThresholdFrontier:
    """Threshold rule against fixed schedules: (expected steps, exact KL) pairs.

    Attributes
    ----------
    thresholds : numpy.ndarray
        The ``tau`` values.
    expected_steps : numpy.ndarray
        ``E[K]`` of the threshold rule at each ``tau``.
    kl : numpy.ndarray
        ``KL(p || law)`` of the threshold rule at each ``tau``.
    steps : numpy.ndarray
        ``K = 1..max_steps`` of the fixed schedules.
    optimal : numpy.ndarray
        Exact ``E_sigma KL`` of the optimal schedule with ``K`` steps (random order, section 5:
        :func:`unmask.optimal_frontier`; with blocks, section 10:
        :func:`unmask.optimal_block_schedule` with the free allocation of steps over blocks).
    fixed : dict of str to numpy.ndarray
        Exact ``KL(p || law)`` of each fixed-size rule run with that optimal schedule, per ``K``
        (``nan`` where ``K`` is below the number of blocks).
    block_width : int or None
        Width of the blocks (None: one block).
    """

    thresholds: NDArray[np.float64]
    expected_steps: NDArray[np.float64]
    kl: NDArray[np.float64]
    steps: NDArray[np.int64]
    optimal: NDArray[np.float64]
    fixed: dict[str, NDArray[np.float64]]
    block_width: int | None = None

    def plot(self, *, ax: Any = None, title: str | None = None, log: bool = False) -> Any:
        """Plot KL against (expected) steps (needs matplotlib: ``pip install 'unmask[plot]'``).

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw (default: a new figure).
        title : str, optional
            Axes title.
        log : bool
            Logarithmic y axis.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from unmask.plotting import _new_axes

        fig, axes = _new_axes(ax)
        a = axes[0]
        live = ~np.isnan(self.optimal)
        a.plot(self.steps[live], self.optimal[live], "k-o", ms=3,
               label="optimal schedule, E KL (random order)")
        colors = ["tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:olive"]
        for t, name in enumerate(sorted(self.fixed)):
            vals = self.fixed[name]
            ok = ~np.isnan(vals)
            a.plot(self.steps[ok], vals[ok], "--", marker=".", color=colors[t % len(colors)],
                   label=f"{name}, optimal schedule")
        a.plot(self.expected_steps, self.kl, "-s", color="tab:red", ms=4,
               label="threshold (x = E[K])")
        for tau, x, y in zip(self.thresholds, self.expected_steps, self.kl, strict=True):
            a.annotate(f"{tau:g}", (x, y), textcoords="offset points", xytext=(3, 3), fontsize=7)
        a.set_xlabel("K (steps; expected steps for the threshold rule)")
        a.set_ylabel("KL(p || law) (nats)")
        if log:
            a.set_yscale("log")
        width = "" if self.block_width is None else f", block width {self.block_width}"
        a.set_title(title or f"threshold rule vs fixed schedules{width}")
        a.legend(fontsize=7)
        return fig

    def __repr__(self) -> str:
        return (
            f"ThresholdFrontier({self.thresholds.size} thresholds, K = 1..{self.steps.size}, "
            f"rules {sorted(self.fixed)})"
        )


def threshold_frontier(
    joint: Any,
    thresholds: Any,
    block_width: int | None = None,
    *,
    rules: Sequence[str] = ("random", "max-prob", "margin", "entropy", "sampled-prob"),
    max_steps: int | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
) -> ThresholdFrontier:
    """Expected steps and exact KL of the threshold rule per ``tau``, against fixed schedules.

    Parameters
    ----------
    joint : Joint or array_like
        The target law ``p`` (exact conditionals).
    thresholds : sequence of float
        Values of ``tau`` in ``(0, 1]``.
    block_width : int, optional
        Blockwise decoding (threshold inside the current block; fixed schedules allocate their
        steps over the blocks optimally).
    rules : sequence of str
        Fixed-size rules to run with the optimal schedule of each ``K``.
    max_steps : int, optional
        Largest ``K`` of the fixed schedules (default ``n``).
    threads : int, optional
        Threads of the C++ passes.
    progress : callable, optional
        Called as ``progress(done, total)`` with ``total`` = one unit per threshold, one for
        the optimal schedules and one per fixed-size rule and ``K``.

    Returns
    -------
    ThresholdFrontier
        Does thresholding beat a well-chosen schedule at the same expected number of steps?

    Raises
    ------
    ValueError
        A threshold outside ``(0, 1]``, an unknown or non-fixed-size rule, a bad ``max_steps``.

    Examples
    --------
    >>> import unmask
    >>> fr = unmask.threshold_frontier(unmask.joints.random(4, 2, seed=0), [0.6, 0.9])
    >>> fr.kl.shape, fr.optimal.shape, sorted(fr.fixed)[:2]
    ((2,), (4,), ['entropy', 'margin'])
    """
    from unmask.schedules.blocks import optimal_block_schedule
    from unmask.schedules.solver import optimal_frontier

    p = joint if isinstance(joint, Joint) else Joint(joint)
    n = p.n
    taus = np.atleast_1d(np.asarray(thresholds, dtype=object))
    if taus.ndim != 1 or taus.size == 0:
        raise ValueError("thresholds must be a non-empty sequence of numbers in (0, 1]")
    tau_values = [_check_threshold(t) for t in taus.tolist()]
    for r in rules:
        if _rule_name(r) not in _RULE_IDS:
            raise ValueError(f"rules must be fixed-size rules among {sorted(_RULE_IDS)}, got {r!r}")
    kmax = n if max_steps is None else int(max_steps)
    if not 1 <= kmax <= n:
        raise ValueError(f"max_steps must lie in 1..{n}, got {max_steps}")
    width = _check_width(block_width, n) if block_width is not None else None
    bar = ProgressReporter(check_progress(progress), len(tau_values) + 1 + kmax * len(rules))
    exp_steps, kls = [], []
    for tau in tau_values:
        law = adaptive_law(p, "threshold", threshold=tau, block_width=width, threads=threads)
        exp_steps.append(law.expected_steps)
        kls.append(law.kl)
        bar.advance()
    optimal = np.full(kmax, np.nan)
    fixed = {r: np.full(kmax, np.nan) for r in rules}
    schedules: list[Any] = []
    if width is None:
        fr = optimal_frontier(p, kmax, schedules=True, threads=threads)
        optimal[:] = fr.costs
        schedules = [fr.schedule(k) for k in range(1, kmax + 1)]
    else:
        nblocks = -(-n // width)
        for k in range(1, kmax + 1):
            if k < nblocks:
                schedules.append(None)  # every block needs a step
                continue
            best = optimal_block_schedule(p, k, width, steps_per_block="free", threads=threads)
            optimal[k - 1] = best.cost
            schedules.append(best)
    bar.advance()
    for k, sched in enumerate(schedules, start=1):
        if sched is not None:
            for r in rules:
                fixed[r][k - 1] = adaptive_law(p, r, sched, threads=threads).kl
                bar.advance()
        else:
            bar.advance(len(rules))
    bar.finish()
    return ThresholdFrontier(
        np.asarray(tau_values),
        np.asarray(exp_steps),
        np.asarray(kls),
        np.arange(1, kmax + 1),
        optimal,
        fixed,
        width,
    )
