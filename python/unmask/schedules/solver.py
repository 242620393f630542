"""Optimal unmasking schedules from a profile or a cost matrix (theory sections 4, 5 and 7).

The cost of a schedule with boundaries ``0 = i_1 < ... < i_{K+1} = n`` is
``sum_k g(i_k, i_{k+1})`` with ``g(a, b) = (b - a) h(a) - (C[b] - C[a])`` (section 5, the exact
order-averaged KL of random-order sampling with exact conditionals). Minimising it is a K-link
shortest path on ``0..n``. For a non-increasing ``h``, ``g`` satisfies the quadrangle inequality,
so the C++ core uses monotone argmins: the Lagrangian relaxation with exact recovery for one K,
and per-layer divide and conquer for the whole frontier. Anything else gets the plain DP.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, overload

import numpy as np
from numpy.typing import NDArray

from unmask._core_loader import core
from unmask._validation import check_memory, resolve_threads
from unmask.profiles.inputs import as_profile
from unmask.profiles.profile import Profile
from unmask.schedules.blocks import optimal_block_schedule
from unmask.schedules.schedule import Schedule

__all__ = [
    "CostMatrix",
    "OptimalFrontier",
    "SolverInfo",
    "fixed_order_costs",
    "optimal_block_schedule",
    "optimal_frontier",
    "optimal_schedule",
]

Method = Literal["auto", "lagrangian", "layers", "plain"]
NonMonotone = Literal["project", "plain", "raise"]

_METHODS = ("auto", "lagrangian", "layers", "plain")

#: Penalised DPs the Lagrangian method may run before falling back to the layer DP (typically
#: 5-20 are needed: the chord iteration finds a new vertex of the convex frontier each time).
_LAGRANGIAN_MAX_ITERATIONS = 200
_NONMONOTONE = ("project", "plain", "raise")


class CostMatrix:
    """A general block cost: ``matrix[a, b]`` = cost of unmasking positions ``a..b-1`` at once.

    Use it for costs that do not come from a random-order profile, such as the fixed-order costs
    of :func:`fixed_order_costs` (theory section 4). These are not Monge in general, so the
    solvers use the plain ``O(K n^2)`` DP on them.

    Parameters
    ----------
    matrix : array_like
        Real numbers of shape ``(n+1, n+1)``; the entries with ``a < b`` must be finite, the
        others are ignored.
    order : sequence of int, optional
        The variable order the costs refer to (informational).
    source : str, optional
        Free text shown in the repr.

    Attributes
    ----------
    matrix : numpy.ndarray
        Read-only float64 copy with ``inf`` on and below the diagonal.
    n : int
        Sequence length.

    Raises
    ------
    TypeError
        A non-numeric (bool, str, complex) matrix.
    ValueError
        A wrong shape, or NaN/inf above the diagonal.

    Examples
    --------
    >>> import numpy as np
    >>> cm = CostMatrix(np.zeros((4, 4)))
    >>> cm.n, cm.cost(0, 3)
    (3, 0.0)
    """

    __slots__ = ("_matrix", "_order", "_source")

    def __init__(self, matrix: Any, *, order: Any = None, source: str = "") -> None:
        raw = np.asarray(matrix)
        if raw.dtype == np.bool_ or not (
            np.issubdtype(raw.dtype, np.floating) or np.issubdtype(raw.dtype, np.integer)
        ):
            raise TypeError(f"a cost matrix must be a real numeric array, got dtype {raw.dtype}")
        arr = np.array(raw, dtype=np.float64, copy=True)
        if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] < 2:
            raise ValueError(
                f"a cost matrix must have shape (n+1, n+1) with n >= 1, got {arr.shape}"
            )
        upper = np.triu(np.ones(arr.shape, dtype=bool), k=1)
        if not np.all(np.isfinite(arr[upper])):
            raise ValueError("cost matrix entries with a < b must be finite (found NaN or inf)")
        n_steps = arr.shape[0] - 1
        biggest = float(np.max(np.abs(arr[upper])))
        if not math.isfinite(biggest * n_steps * 2.0):
            # A path sums up to n entries; the DP compares such sums: they must stay finite.
            raise ValueError(
                f"cost matrix entries are too large: the largest, {biggest:.3g}, times the "
                f"n = {n_steps} steps a schedule can sum overflows float64; rescale the costs"
            )
        arr[~upper] = np.inf
        arr.flags.writeable = False
        self._matrix = arr
        self._order = None if order is None else tuple(int(v) for v in order)
        self._source = str(source)

    @property
    def matrix(self) -> NDArray[np.float64]:
        """The ``(n+1, n+1)`` block costs (``inf`` where ``a >= b``)."""
        return self._matrix

    @property
    def n(self) -> int:
        """Sequence length."""
        return int(self._matrix.shape[0]) - 1

    @property
    def order(self) -> tuple[int, ...] | None:
        """Variable order of fixed-order costs (None when not given)."""
        return self._order

    def cost(self, a: int, b: int) -> float:
        """Cost of the block ``a..b-1`` (``0 <= a < b <= n``)."""
        for name, v in (("a", a), ("b", b)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"{name} must be an int, got {type(v).__name__}")
        if not 0 <= a < b <= self.n:
            raise ValueError(f"need 0 <= a < b <= n = {self.n}, got a={a}, b={b}")
        return float(self._matrix[a, b])

    def schedule_cost(self, schedule: Any) -> float:
        """Sum of block costs of a schedule (compensated sum)."""
        sched = schedule if isinstance(schedule, Schedule) else Schedule(schedule)
        if sched.n != self.n:
            raise ValueError(f"schedule is for n = {sched.n} but the cost matrix has n = {self.n}")
        return math.fsum(self.cost(a, a + s) for a, s in sched.blocks())

    def __repr__(self) -> str:
        extra = f", order={list(self._order)}" if self._order is not None else ""
        src = f", source={self._source!r}" if self._source else ""
        return f"CostMatrix(n={self.n}{extra}{src})"


@dataclass(frozen=True)
class SolverInfo:
    """What :func:`optimal_schedule` did.

    Attributes
    ----------
    cost : float
        Cost of the returned schedule under the curve (or matrix) actually optimised: the
        projected ``h`` when ``projected`` is true.
    method : str
        ``"lagrangian"``, ``"layers"`` or ``"plain"``.
    monotone : bool
        Whether the input ``h`` was non-increasing (up to 1e-12 relative); always False for a
        cost matrix.
    projected : bool
        Whether ``h`` was replaced by its non-increasing projection (pool adjacent violators).
    iterations : int
        Penalised DPs run by the Lagrangian method (0 otherwise).
    spliced : bool
        Whether the Lagrangian result was spliced from two penalised optima (exact recovery).
    fallback : bool
        Whether the Lagrangian iteration hit its cap before isolating the facet of the convex
        frontier that contains K, so that the layer DP was run instead (``method`` is then
        ``"layers"``).
    """

    cost: float
    method: str
    monotone: bool
    projected: bool
    iterations: int = 0
    spliced: bool = False
    fallback: bool = False


class OptimalFrontier:
    """Optimal costs (and optionally schedules) for every number of steps ``K = 1..max_steps``.

    Attributes
    ----------
    steps : numpy.ndarray
        ``[1, 2, ..., max_steps]``.
    costs : numpy.ndarray
        ``costs[K-1]`` = minimal section-5 cost (order-averaged expected KL) with exactly K
        steps. Non-increasing and convex in K for a non-increasing ``h``.
    schedules : tuple of Schedule or None
        ``schedules[K-1]`` is an optimal K-step schedule, when requested.
    method, monotone, projected
        As in :class:`SolverInfo`.

    Examples
    --------
    >>> import unmask
    >>> fr = unmask.optimal_frontier([1.0, 0.5, 0.25, 0.0], 3)
    >>> fr.costs.round(6).tolist()
    [2.25, 0.75, 0.25]
    """

    __slots__ = ("_costs", "_method", "_monotone", "_n", "_projected", "_schedules")

    def __init__(
        self,
        costs: NDArray[np.float64],
        schedules: tuple[Schedule, ...] | None,
        *,
        n: int,
        method: str,
        monotone: bool,
        projected: bool,
    ) -> None:
        arr = np.array(costs, dtype=np.float64, copy=True)
        arr.flags.writeable = False
        self._costs = arr
        self._schedules = schedules
        self._n = n
        self._method = method
        self._monotone = monotone
        self._projected = projected

    @property
    def costs(self) -> NDArray[np.float64]:
        """Optimal cost for K = 1..max_steps (index K-1)."""
        return self._costs

    @property
    def steps(self) -> NDArray[np.int64]:
        """The step counts ``1..max_steps``."""
        return np.arange(1, self._costs.size + 1, dtype=np.int64)

    @property
    def schedules(self) -> tuple[Schedule, ...] | None:
        """Optimal schedules (index K-1) or None when not requested."""
        return self._schedules

    @property
    def n(self) -> int:
        """Sequence length."""
        return self._n

    @property
    def max_steps(self) -> int:
        """Largest K solved."""
        return int(self._costs.size)

    @property
    def method(self) -> str:
        """Algorithm used (``"layers"`` or ``"plain"``)."""
        return self._method

    @property
    def monotone(self) -> bool:
        """Whether the input ``h`` was non-increasing."""
        return self._monotone

    @property
    def projected(self) -> bool:
        """Whether ``h`` was projected onto non-increasing curves first."""
        return self._projected

    def cost(self, steps: int) -> float:
        """Optimal cost with exactly ``steps`` steps."""
        self._check(steps)
        return float(self._costs[steps - 1])

    def schedule(self, steps: int) -> Schedule:
        """Optimal schedule with exactly ``steps`` steps (needs ``schedules=True``)."""
        self._check(steps)
        if self._schedules is None:
            raise ValueError("schedules were not kept; call optimal_frontier(..., schedules=True)")
        return self._schedules[steps - 1]

    def plot(
        self,
        *,
        compare: Mapping[str, Sequence[float | None]] | None = None,
        ax: Any = None,
        title: str | None = None,
        unit: str = "nats",
        log: bool = True,
    ) -> Any:
        """Plot the optimal cost versus ``K`` (needs matplotlib: ``pip install 'unmask[plot]'``).

        Parameters
        ----------
        compare : mapping of str to sequence, optional
            Other curves over ``K = 1..max_steps`` (e.g. the constant schedule's costs).
        ax : matplotlib Axes, optional
            Where to draw (default: a new figure).
        title : str, optional
            Axes title.
        unit : str
            Unit of the costs shown on the y axis (the profile's: ``"nats"`` by default).
        log : bool
            Logarithmic y axis (zero costs are not drawn on it).

        Returns
        -------
        matplotlib.figure.Figure

        Raises
        ------
        ImportError
            When matplotlib is missing; the message names the ``unmask[plot]`` extra.
        ValueError
            When a ``compare`` curve does not have one value per ``K``.

        Examples
        --------
        >>> import unmask
        >>> fr = unmask.optimal_frontier([1.0, 0.5, 0.25, 0.0], 3)
        >>> fig = fr.plot(compare={"constant": [2.25, 1.0, 0.25]})
        >>> fig.axes[0].get_xlabel()
        'K (steps)'
        """
        from unmask.plotting import plot_frontier

        return plot_frontier(self, compare=compare, ax=ax, title=title, unit=unit, log=log)

    def _check(self, steps: int) -> None:
        if not 1 <= steps <= self.max_steps:
            raise ValueError(f"steps must be in 1..{self.max_steps}, got {steps}")

    def __len__(self) -> int:
        return self.max_steps

    def __repr__(self) -> str:
        k = self.max_steps
        shown = ", ".join(f"{c:.6g}" for c in self._costs[: min(k, 6)].tolist())
        more = ", ..." if k > 6 else ""
        tags = " projected" if self._projected else ""
        sched = ", with schedules" if self._schedules is not None else ""
        return (
            f"OptimalFrontier(n={self._n}, K=1..{k}, method={self._method!r}{tags}{sched}, "
            f"costs=[{shown}{more}])"
        )


def fixed_order_costs(
    joint: Any, order: Any = None, *, base: float | None = None, threads: int | None = None
) -> CostMatrix:
    """Block costs of fixed-order sampling with exact conditionals (theory section 4).

    Parameters
    ----------
    joint : Joint or array_like
        The law on [q]^n (n up to about 20: all 2^n subset entropies are computed).
    order : sequence of int, optional
        The permutation ``sigma`` (default: left to right, ``0..n-1``).
    base : float, optional
        Logarithm base (None: nats).
    threads : int, optional
        Threads for the subset-entropy engine.

    Returns
    -------
    CostMatrix
        ``cost(a, b) = sum_{j=a}^{b-1} H(X_{sigma_j} | X_{P_a}) - H(X_{sigma_a..sigma_{b-1}} |
        X_{P_a})`` with ``P_a = {sigma_0, ..., sigma_{a-1}}``: the expected conditional total
        correlation of block ``a..b-1`` given the first ``a`` variables. The sum over a
        schedule's blocks is ``KL(p || q_sigma)`` of the fixed-order sampler (section 3,
        factorization error).

    Raises
    ------
    ValueError
        When ``order`` is not a permutation of ``0..n-1`` given as ints.

    Notes
    -----
    Built from prefix entropies ``H(P_a)`` and ``H(P_a + sigma_j)``; tiny negative values from
    rounding are clipped to 0 (a total correlation is non-negative). These costs are not Monge
    in general, so :func:`optimal_schedule` solves them with the plain DP.

    Examples
    --------
    >>> import unmask
    >>> cm = unmask.fixed_order_costs(unmask.joints.all_equal(3, 2), base=2)
    >>> round(cm.cost(0, 3), 12), round(cm.cost(1, 3), 12)
    (2.0, 0.0)
    """
    from unmask.profiles.lattice import _as_joint, subset_entropies

    jt = _as_joint(joint)
    n = jt.n
    if order is None:
        sigma = list(range(n))
    else:
        raw = np.asarray(order)
        if raw.ndim != 1 or raw.dtype == np.bool_ or not np.issubdtype(raw.dtype, np.integer):
            raise ValueError(
                f"order must be a 1-d sequence of ints (a permutation of 0..{n - 1}), got "
                f"{raw.tolist()!r}"
            )
        sigma = [int(v) for v in raw.tolist()]
        if sorted(sigma) != list(range(n)):
            raise ValueError(f"order must be a permutation of 0..{n - 1}, got {sigma}")
    ent = subset_entropies(jt, base=base, threads=threads)
    masks = [0]
    for j in sigma:
        masks.append(masks[-1] | (1 << j))
    prefix = ent[np.array(masks, dtype=np.int64)]
    mat = np.full((n + 1, n + 1), np.inf)
    for a in range(n):
        singles = np.array([ent[masks[a] | (1 << sigma[j])] for j in range(a, n)]) - prefix[a]
        sums = np.cumsum(singles)  # sums[m] = sum_{j=a}^{a+m} H(X_sigma_j | X_P_a)
        b = np.arange(a + 1, n + 1)
        mat[a, a + 1 :] = np.maximum(sums[b - a - 1] - (prefix[b] - prefix[a]), 0.0)
    return CostMatrix(mat, order=sigma, source=f"fixed order (n={n}, q={jt.q})")


@dataclass(frozen=True)
class _Problem:
    h: NDArray[np.float64] | None  # profile curve actually optimised
    matrix: CostMatrix | None
    n: int
    monotone: bool
    projected: bool


def _prepare(profile: Any, method: str, nonmonotone: str) -> _Problem:
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if nonmonotone not in _NONMONOTONE:
        raise ValueError(f"nonmonotone must be one of {_NONMONOTONE}, got {nonmonotone!r}")
    if isinstance(profile, CostMatrix):
        if method not in ("auto", "plain"):
            raise ValueError(
                f"method {method!r} needs a profile (quadrangle inequality); a cost matrix is "
                "solved with method='plain'"
            )
        return _Problem(None, profile, profile.n, False, False)
    prof: Profile = as_profile(profile)
    h = np.ascontiguousarray(prof.h, dtype=np.float64)
    if not np.all(np.isfinite(h)):  # pragma: no cover - Profile already rejects these
        raise ValueError("h contains NaN or infinite values")
    if prof.is_monotone:
        return _Problem(h, None, prof.n, True, False)
    if nonmonotone == "raise":
        worst = float(np.max(np.diff(h)))
        raise ValueError(
            f"h is not non-increasing (largest increase {worst:.3g}); pass "
            "nonmonotone='project' (pool adjacent violators) or nonmonotone='plain' (plain DP)"
        )
    if nonmonotone == "project":
        proj = np.ascontiguousarray(prof.monotone().h, dtype=np.float64)
        return _Problem(proj, None, prof.n, False, True)
    if method in ("lagrangian", "layers"):
        raise ValueError(
            f"method {method!r} needs a non-increasing h; this one is not (use "
            "nonmonotone='project' or method='plain')"
        )
    return _Problem(h, None, prof.n, False, False)


def _check_steps(steps: Any, n: int, name: str) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(steps).__name__}")
    k = int(steps)
    if k < 1:
        raise ValueError(f"{name} must be >= 1, got {k}")
    if k > n:
        raise ValueError(f"{name} = {k} exceeds n = {n}: every step unmasks at least one token")
    return k


def _table_bytes(k: int, n: int) -> float:
    return 4.0 * k * (n + 1) + 32.0 * (n + 1)


#: Default cap on the estimated work of a layer or plain DP (about 25 s on one core at the
#: 1.2e8 units per second measured on the development machine).
MAX_DP_WORK = 3e9

_DP_UNITS_PER_SECOND = 1.2e8


def _check_dp_work(method: str, n: int, k: int, max_work: float | None, what: str) -> None:
    """Refuse a DP whose estimated work exceeds ``max_work`` (None: :data:`MAX_DP_WORK`)."""
    limit = MAX_DP_WORK if max_work is None else max_work
    if isinstance(limit, bool) or not isinstance(limit, (int, float, np.number)):
        raise TypeError(f"max_work must be a number or None, got {type(limit).__name__}")
    if method == "layers":
        work = float(k) * n * math.log2(n + 1.0)
    else:
        work = float(k) * n * n / 2.0
    if work > float(limit):
        seconds = work / _DP_UNITS_PER_SECOND
        raise ValueError(
            f"{what} with the {method} DP is estimated at {work:.3g} work units, about "
            f"{seconds:.3g} s on one core, above max_work = {float(limit):.3g}; ask for fewer "
            "steps, use optimal_schedule (Lagrangian, O(n log n)) for single K, or pass a "
            "larger max_work"
        )


def _schedule_from_bounds(bounds: Any) -> Schedule:
    return Schedule(np.diff(np.asarray(bounds, dtype=np.int64)))


def _bounds_cost(prob: _Problem, bounds: Any) -> float:
    if prob.matrix is not None:
        b = np.asarray(bounds, dtype=np.int64)
        return math.fsum(prob.matrix.matrix[b[:-1], b[1:]].tolist())
    assert prob.h is not None
    return float(core.schedule_path_cost(prob.h, np.asarray(bounds, dtype=np.int64)))


@overload
def optimal_schedule(
    profile: Any,
    steps: int,
    *,
    method: Method = ...,
    nonmonotone: NonMonotone = ...,
    return_info: Literal[False] = ...,
    threads: int | None = ...,
    max_work: float | None = ...,
    robust: bool | None = ...,
) -> Schedule: ...


@overload
def optimal_schedule(
    profile: Any,
    steps: int,
    *,
    method: Method = ...,
    nonmonotone: NonMonotone = ...,
    return_info: Literal[True],
    threads: int | None = ...,
    max_work: float | None = ...,
    robust: bool | None = ...,
) -> tuple[Schedule, SolverInfo]: ...


def optimal_schedule(
    profile: Any,
    steps: int,
    *,
    method: Method = "auto",
    nonmonotone: NonMonotone = "project",
    return_info: bool = False,
    threads: int | None = None,
    max_work: float | None = None,
    robust: bool | None = None,
) -> Schedule | tuple[Schedule, SolverInfo]:
    """The schedule with exactly ``steps`` steps of minimal expected KL (theory sections 5, 7).

    Parameters
    ----------
    profile : Profile, array_like, Joint or CostMatrix
        An entropy profile, a plain ``h`` curve of length n (``h(i)`` = average conditional
        entropy of a masked token given ``i`` unmasked ones), a joint law (its exact profile is
        computed), or a :class:`CostMatrix` (e.g. :func:`fixed_order_costs`).
    steps : int
        Number of steps K, ``1 <= K <= n``.
    method : {"auto", "lagrangian", "layers", "plain"}
        ``"auto"``: Lagrangian for a profile, plain DP for a cost matrix or a non-monotone ``h``
        kept as is. ``"layers"``: per-layer divide and conquer (``O(K n log n)``, K x (n+1)
        int32 parent table). ``"plain"``: the ``O(K n^2)`` DP (any cost).
    nonmonotone : {"project", "plain", "raise"}
        What to do with an ``h`` that is not non-increasing (estimated curves; the quadrangle
        inequality then fails): optimise its pool-adjacent-violators projection (default),
        run the plain DP on ``h`` as given, or raise ValueError.
    return_info : bool
        Also return a :class:`SolverInfo` (cost, method, whether ``h`` was projected).
    threads : int, optional
        Threads for the layer and plain DPs (None: all cores); results do not depend on it.
    max_work : float, optional
        Refuse, before any work, a layer or plain DP whose estimated work (``K n log2 n`` or
        ``K n^2 / 2``) exceeds this (default :data:`MAX_DP_WORK`, 3e9: about 25 s on one
        core); the message gives the estimate. The Lagrangian method is not capped.
    robust : bool or None
        For an estimated profile that carries its evidence (``profile.evidence``, from
        :func:`unmask.estimate_profile`, :func:`unmask.estimate_evidence` or
        :func:`unmask.profile_from_loss_curve`): None or True returns the robust choice of
        :func:`unmask.robust_schedule` (theory section 13; never worse than the constant
        schedule unless the evidence says so), False the exact optimum of the curve as given
        (which fits its noise). Exact profiles always get the exact optimum.

    Returns
    -------
    Schedule or (Schedule, SolverInfo)
        Per-step counts ``(s_1, ..., s_K)`` (the unmasked count before step k is
        ``i_k = s_1 + ... + s_{k-1}``) minimising ``sum_k g(i_k, i_k + s_k)``.

    Raises
    ------
    ValueError
        NaN/inf or negative ``h``, or ``n * max h`` overflowing float64; ``steps < 1`` or
        ``steps > n``; an unknown method; a non-monotone ``h`` with ``nonmonotone="raise"`` or
        with a Monge-only method.
    TypeError
        ``steps`` is not an int; ``h`` is not a real numeric array (bool, str, complex).
    MemoryError
        Before allocating, when the parent table of ``method="layers"``/``"plain"`` does not fit.

    Notes
    -----
    Cost (section 5): ``g(a, b) = (b - a) h(a) - (C[b] - C[a])`` with ``C`` the compensated
    prefix sums of ``h``; the total is the order-averaged ``E_sigma KL(p || q_sigma)`` of
    random-order sampling with exact conditionals. For non-increasing ``h``, ``g`` satisfies the
    quadrangle inequality (section 7; Lavenant-Zanella, Chen-Cong-Li), so the optimal cost is
    convex in K. The Lagrangian method minimises ``sum_k (g + lambda)`` over any number of steps
    (``O(n log n)`` per ``lambda``, monotone candidate queue), moves ``lambda`` along chords of
    the convex frontier until a penalised optimum has exactly K steps, and otherwise splices two
    penalised optima that bracket K, which the quadrangle inequality makes exactly optimal.
    ``info.spliced`` tells when that happened.

    Examples
    --------
    >>> import numpy as np, unmask
    >>> f = 1.0 / np.arange(1, 400) ** 2
    >>> prof = unmask.Profile.from_f(f)
    >>> sched, info = unmask.optimal_schedule(prof, 16, return_info=True)
    >>> sched.steps, sched.n, round(info.cost, 4), info.method
    (16, 400, 0.8385, 'lagrangian')
    """
    if robust is not None and not isinstance(robust, bool):
        raise TypeError(f"robust must be None, True or False, got {robust!r}")
    if robust is not False and isinstance(profile, Profile) and profile.evidence is not None:
        return _robust(profile, steps, method, nonmonotone, return_info, threads)
    if robust:
        raise ValueError(
            "robust=True needs a profile that carries its evidence (from estimate_profile, "
            "estimate_evidence or profile_from_loss_curve)"
        )
    prob = _prepare(profile, method, nonmonotone)
    k = _check_steps(steps, prob.n, "steps")
    nthreads = resolve_threads(threads)  # validated even when the Lagrangian ignores it
    n = prob.n
    chosen = method
    if method == "auto":
        chosen = "lagrangian" if prob.monotone or prob.projected else "plain"
    iterations, spliced, fallback = 0, False, False
    if chosen == "lagrangian":
        assert prob.h is not None
        check_memory(64.0 * (n + 1), f"the Lagrangian solver for n={n}")
        bounds, cost, iterations, spliced, _, converged = core.schedule_lagrangian(
            prob.h, k, _LAGRANGIAN_MAX_ITERATIONS
        )
        if not converged:  # never seen in tests or benchmarks; kept as a safety net
            chosen, fallback = "layers", True
    if chosen != "lagrangian":
        check_memory(_table_bytes(k, n), f"the {chosen} DP parent table for K={k}, n={n}")
        _check_dp_work(chosen, n, k, max_work, f"optimal_schedule (K={k}, n={n})")
        if chosen == "layers":
            assert prob.h is not None
            _, table = core.schedule_layers(prob.h, k, True, nthreads)
        else:
            mat = None if prob.matrix is None else np.ascontiguousarray(prob.matrix.matrix)
            _, table = core.schedule_plain(prob.h, mat, n, k, True, nthreads)
        assert table is not None
        bounds = core.schedule_reconstruct(table, n, k)
        cost = _bounds_cost(prob, bounds)
    sched = _schedule_from_bounds(bounds)
    if not return_info:
        return sched
    info = SolverInfo(
        cost=float(cost),
        method=chosen,
        monotone=prob.monotone,
        projected=prob.projected,
        iterations=int(iterations),
        spliced=bool(spliced),
        fallback=fallback,
    )
    return sched, info


def _robust(
    prof: Profile, steps: Any, method: str, nonmonotone: str, return_info: bool,
    threads: int | None,
) -> Schedule | tuple[Schedule, SolverInfo]:
    """optimal_schedule on an estimated profile: the robust choice of theory section 13."""
    from unmask.schedules.robust import robust_schedule

    _prepare(prof, method, nonmonotone)  # the same argument checks as the exact path
    k = _check_steps(steps, prof.n, "steps")
    sched = robust_schedule(prof, k, threads=threads).schedule
    if not return_info:
        return sched
    from unmask.schedules.cost import expected_kl

    monotone = prof.is_monotone
    cost = expected_kl(prof if monotone else prof.monotone(), sched)
    return sched, SolverInfo(cost=cost, method="robust", monotone=monotone,
                             projected=not monotone)


def optimal_frontier(
    profile: Any,
    max_steps: int,
    schedules: bool = False,
    *,
    method: Literal["auto", "layers", "plain"] = "auto",
    nonmonotone: NonMonotone = "project",
    threads: int | None = None,
    max_work: float | None = None,
) -> OptimalFrontier:
    """Optimal cost (and optionally schedule) for every number of steps ``K = 1..max_steps``.

    Parameters
    ----------
    profile : Profile, array_like, Joint or CostMatrix
        As in :func:`optimal_schedule`.
    max_steps : int
        Largest K, ``1 <= max_steps <= n``.
    schedules : bool
        Also keep an optimal schedule for every K (needs a ``max_steps x (n+1)`` int32 table,
        and ``max_steps (max_steps + 1) / 2`` sizes in all for the schedules).
    method : {"auto", "layers", "plain"}
        ``"auto"``: per-layer divide and conquer for a non-increasing (or projected) ``h``, the
        plain DP otherwise.
    nonmonotone : {"project", "plain", "raise"}
        As in :func:`optimal_schedule`.
    threads : int, optional
        Threads (None: all cores); results do not depend on it.
    max_work : float, optional
        Refuse, before any work, a frontier whose estimated work (``K n log2 n`` for layers,
        ``K n^2 / 2`` for the plain DP) exceeds this (default :data:`MAX_DP_WORK`, 3e9: about
        25 s on one core; ``K = n = 1e5`` is about 1.7e11, half an hour); the message gives
        the estimate.

    Returns
    -------
    OptimalFrontier
        ``.costs[K-1]`` = minimal section-5 cost (order-averaged expected KL) with exactly K
        steps; ``.schedules[K-1]`` the per-step counts of an optimum when requested.

    Raises
    ------
    ValueError
        As in :func:`optimal_schedule`, with ``max_steps`` in place of ``steps``.
    TypeError
        As in :func:`optimal_schedule`.
    MemoryError
        When the schedules' parent table does not fit in memory (checked before allocating).

    Notes
    -----
    Layer ``k`` of the DP is ``D_k(b) = min_{a<b} D_{k-1}(a) + g(a, b)``. Under the quadrangle
    inequality the argmin is non-decreasing in ``b``, so each layer is solved by divide and
    conquer in ``O(n log n)``: ``O(max_steps n log n)`` for the whole frontier, which is
    non-increasing and convex in K (section 7).

    Examples
    --------
    >>> import unmask
    >>> fr = unmask.optimal_frontier(unmask.Profile.from_f([0.0, 0.0, 1.0]), 4, schedules=True)
    >>> fr.costs.round(12).tolist(), fr.schedule(2).sizes  # parity-like: last step must be 1
    ([1.0, 0.0, 0.0, 0.0], (3, 1))
    """
    if method not in ("auto", "layers", "plain"):
        raise ValueError(f"method must be one of ('auto', 'layers', 'plain'), got {method!r}")
    prob = _prepare(profile, method, nonmonotone)
    k = _check_steps(max_steps, prob.n, "max_steps")
    n = prob.n
    chosen: str = method
    if method == "auto":
        chosen = "layers" if prob.monotone or prob.projected else "plain"
    # With schedules: the parent table plus the K Schedules themselves (K(K+1)/2 sizes in all,
    # a tuple slot and an int object each, about 40 bytes).
    need = _table_bytes(k, n) + 20.0 * k * (k + 1) if schedules else 32.0 * (n + 1)
    check_memory(need, f"the {chosen} frontier for K=1..{k}, n={n}")
    _check_dp_work(chosen, n, k, max_work, f"optimal_frontier (K=1..{k}, n={n})")
    nthreads = resolve_threads(threads)
    if chosen == "layers":
        assert prob.h is not None
        costs, table = core.schedule_layers(prob.h, k, bool(schedules), nthreads)
    else:
        mat = None if prob.matrix is None else np.ascontiguousarray(prob.matrix.matrix)
        costs, table = core.schedule_plain(prob.h, mat, n, k, bool(schedules), nthreads)
    scheds = None
    if schedules:
        assert table is not None
        scheds = tuple(
            _schedule_from_bounds(core.schedule_reconstruct(table, n, kk)) for kk in range(1, k + 1)
        )
    return OptimalFrontier(
        np.asarray(costs, dtype=np.float64),
        scheds,
        n=n,
        method=chosen,
        monotone=prob.monotone,
        projected=prob.projected,
    )
