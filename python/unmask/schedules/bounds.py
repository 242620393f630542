"""Every bound of theory section 6 as a function ``(profile, schedule) -> float``.

Each function takes a :class:`unmask.Profile` (or an ``h`` array, or a :class:`unmask.Joint`,
whose exact profile is computed) and a schedule (:class:`unmask.Schedule`, a list of sizes, or a
:class:`unmask.CompositionLaw`: the bound is then averaged over the law, which bounds the
averaged exact value because the exact value is linear in the law). Values are in the unit of the
profile. :func:`all_bounds` puts them side by side with the exact expected KL.

Kinds: ``rigorous`` (a theorem: always >= the exact value), ``reference`` (order of magnitude of a
published rate whose constants we do not have: may be below the exact value) and ``prediction``
(a continuum approximation of the *optimal* cost with this many steps, not a bound).

Every theorem here assumes a non-increasing ``h`` (true of every exact profile, Han's
inequality). An *estimated* curve that goes up somewhere is used as given, without projection:
its ``f`` has negative entries, the section-5 "exact" value is then only the identity evaluated
on that curve (it can even be negative) and the ``rigorous`` rows carry no guarantee. Check
``profile.is_monotone`` and pass ``profile.monotone()`` (pool adjacent violators) to get the
values of the nearest valid profile.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from unmask.profiles.inputs import as_profile
from unmask.profiles.profile import Profile
from unmask.schedules.cost import expected_kl
from unmask.schedules.schedule import BernoulliSizes, CompositionLaw, Schedule

__all__ = [
    "BoundRow",
    "BoundsTable",
    "all_bounds",
    "dimension_free",
    "dimension_free_alphabet",
    "dtc_bound",
    "dtc_eps",
    "exact",
    "li_cai_factor",
    "mutual_information",
    "randomized_dtc",
    "randomized_tc",
    "sqrt_rule_prediction",
    "tc_bound",
    "tc_eps",
]


def _as_schedule(schedule: Any) -> Schedule:
    if isinstance(schedule, CompositionLaw):
        raise TypeError(
            "this function takes one schedule, not a CompositionLaw (apply it to each member)"
        )
    if isinstance(schedule, BernoulliSizes):
        raise TypeError(
            "this bound needs fixed sizes or a CompositionLaw, not BernoulliSizes "
            "(use unmask.expected_kl for the exact value under Bernoulli sizes)"
        )
    return schedule if isinstance(schedule, Schedule) else Schedule(schedule)


def _averaged(prof: Profile, schedule: Any, fn: Callable[[Profile, Schedule], float]) -> float:
    if isinstance(schedule, CompositionLaw):
        _check_n(prof, schedule.n)
        return math.fsum(w * fn(prof, s) for w, s in schedule)
    sched = _as_schedule(schedule)
    _check_n(prof, sched.n)
    return fn(prof, sched)


def _check_n(prof: Profile, n: int) -> None:
    if prof.n != n:
        raise ValueError(f"schedule is for n = {n} but the profile has n = {prof.n}")


def _monotone_f_sum(prof: Profile) -> float:
    return max(0.0, float(prof.h[0]) - float(prof.h[-1]))


# -- dimension-free -------------------------------------------------------------------------------
def dimension_free(profile: Any, schedule: Any) -> float:
    """Lavenant-Zanella dimension-free bound ``(s_max - 1) (h(0) - h(n-1))``.

    Parameters
    ----------
    profile : Profile, Joint or array_like
        The profile (or a law, or an ``h`` curve).
    schedule : Schedule, sequence of int or CompositionLaw
        The step sizes.

    Returns
    -------
    float
        The bound, in the profile's unit.

    Raises
    ------
    ValueError
        Schedule and profile lengths differ.

    Notes
    -----
    Rigorous for random order and exact conditionals whenever ``h`` is non-increasing (every
    exact profile): ``w(l) <= s_max - 1`` and ``sum_l f(l) = h(0) - h(n-1)`` (theory section 6;
    Lavenant & Zanella, arXiv 2510.25544). Attained by the all-equal law when the first step is
    the largest.

    Examples
    --------
    >>> import unmask
    >>> round(dimension_free(unmask.joints.all_equal(4, 2), [3, 1]), 6)  # 2 log 2
    1.386294
    """
    prof = as_profile(profile)
    return _averaged(prof, schedule, lambda p, s: (s.max_size - 1) * _monotone_f_sum(p))


def dimension_free_alphabet(profile: Any, schedule: Any, q: int) -> float:
    """Weaker dimension-free form ``(s_max - 1) log q``.

    Parameters
    ----------
    profile : Profile, Joint or array_like
        Used for its length and unit (``log q`` is expressed in the profile's base).
    schedule : Schedule, sequence of int or CompositionLaw
        The step sizes.
    q : int
        Alphabet size (>= 2).

    Returns
    -------
    float
        The bound.

    Raises
    ------
    ValueError
        ``q < 2`` or a length mismatch.

    Notes
    -----
    ``h(0) - h(n-1) <= h(0) <= log q`` (theory section 6, Lavenant-Zanella). Rigorous. For the
    constant schedule it is ``(ceil(n/K) - 1) log q``, independent of ``n`` at fixed ``n/K``.

    Examples
    --------
    >>> round(dimension_free_alphabet([1.0, 0.5, 0.0, 0.0], [2, 2], q=2), 6)
    0.693147
    """
    if isinstance(q, bool) or not isinstance(q, (int, np.integer)) or q < 2:
        raise ValueError(f"alphabet size q must be an integer >= 2, got {q!r}")
    prof = as_profile(profile)
    log_q = math.log(int(q)) / (1.0 if prof.base is None else math.log(prof.base))
    return _averaged(prof, schedule, lambda p, s: (s.max_size - 1) * log_q)


# -- exact ----------------------------------------------------------------------------------------
def exact(profile: Any, schedule: Any) -> float:
    """Compute the exact expected KL (Chen-Cong-Li identity, theory section 5).

    Parameters
    ----------
    profile : Profile, Joint or array_like
        The profile (or a law, or an ``h`` curve).
    schedule : Schedule, sequence of int, CompositionLaw or BernoulliSizes
        The step sizes (fixed or random).

    Returns
    -------
    float
        ``E_sigma KL(p || q_sigma) = sum_k g(i_k, i_k + s_k)``, via :func:`unmask.expected_kl`.

    Notes
    -----
    An identity, not a bound: random order, exact conditionals (Chen, Cong & Li, arXiv
    2511.04647; a left-Riemann error of the information curve).

    Examples
    --------
    >>> import unmask
    >>> round(exact(unmask.joints.parity(4), [1, 1, 2]), 6)  # log 2 when the last step >= 2
    0.693147
    """
    return expected_kl(as_profile(profile), schedule)


# -- TC / DTC -------------------------------------------------------------------------------------
def tc_eps(schedule: Any) -> float:
    """Smallest ``eps`` with ``w(l) <= eps (n - 1 - l)`` for all ``l``: ``max_k (s_k-1)/(n-1-i_k)``.

    Parameters
    ----------
    schedule : Schedule or sequence of int
        The step sizes.

    Returns
    -------
    float
        In [0, 1]; 0 for the one-token-per-step schedule, 1 when the last step has >= 2 tokens.

    Raises
    ------
    TypeError
        A :class:`unmask.CompositionLaw` or :class:`unmask.BernoulliSizes` (one schedule only).

    Notes
    -----
    ``w(l) = i_k + s_k - 1 - l`` inside step ``k`` (theory section 6); ``w(l) / (n - 1 - l)``
    decreases along a step, so the maximum is at ``l = i_k``. Steps of size 1 have ``w = 0``.

    Examples
    --------
    >>> tc_eps([4, 2, 1, 1])
    0.42857142857142855
    """
    s = _as_schedule(schedule)
    n = s.n
    best = 0.0
    for i, size in s.blocks():
        if size > 1:
            best = max(best, (size - 1) / (n - 1 - i))
    return best


def dtc_eps(schedule: Any) -> float:
    """Smallest ``eps`` with ``w(l) <= eps (l + 1)`` for all ``l``: ``max_k (s_k-1)/(i_k+1)``.

    Parameters
    ----------
    schedule : Schedule or sequence of int
        The step sizes.

    Returns
    -------
    float
        ``>= 0``; ``s_1 - 1`` already for the first step.

    Raises
    ------
    TypeError
        A :class:`unmask.CompositionLaw` or :class:`unmask.BernoulliSizes` (one schedule only).

    Notes
    -----
    ``w(l) / (l + 1)`` decreases along a step, so the maximum is at ``l = i_k`` (section 6).

    Examples
    --------
    >>> dtc_eps([1, 1, 2, 4])  # the last step: 3 / 5
    0.6
    """
    s = _as_schedule(schedule)
    return max((size - 1) / (i + 1) for i, size in s.blocks())


def tc_bound(profile: Any, schedule: Any) -> float:
    """Chen-Cong-Li TC bound ``eps_TC * TC`` with the tightest ``eps`` of this schedule.

    Parameters
    ----------
    profile : Profile, Joint or array_like
        The profile.
    schedule : Schedule, sequence of int or CompositionLaw
        Any schedule (not only a TC schedule).

    Returns
    -------
    float
        ``tc_eps(schedule) * TC``, ``TC = sum_l (n-1-l) f(l)``.

    Notes
    -----
    Rigorous for every schedule and every law with non-increasing ``h``: ``E KL = sum_l w(l) f(l)``
    with ``f >= 0`` and ``w(l) <= eps_TC (n - 1 - l)`` (Chen, Cong & Li, arXiv 2511.04647; theory
    section 6).

    Examples
    --------
    >>> import unmask
    >>> p = unmask.joints.parity(4)
    >>> round(tc_bound(p, [1, 1, 2]), 6)  # eps_TC = 1, TC = log 2
    0.693147
    """
    prof = as_profile(profile)
    return _averaged(prof, schedule, lambda p, s: tc_eps(s) * p.tc)


def dtc_bound(profile: Any, schedule: Any) -> float:
    """Chen-Cong-Li DTC bound ``eps_DTC * DTC`` with the tightest ``eps`` of this schedule.

    Parameters
    ----------
    profile : Profile, Joint or array_like
        The profile.
    schedule : Schedule, sequence of int or CompositionLaw
        Any schedule.

    Returns
    -------
    float
        ``dtc_eps(schedule) * DTC``, ``DTC = sum_l (l+1) f(l)``.

    Notes
    -----
    Rigorous for every schedule and every law with non-increasing ``h``, as :func:`tc_bound` with
    ``w(l) <= eps_DTC (l + 1)`` (Chen, Cong & Li; theory section 6).

    Examples
    --------
    >>> import unmask
    >>> round(dtc_bound(unmask.joints.all_equal(4, 2), [1, 1, 2]), 6)  # eps_DTC = 1/3
    0.231049
    """
    prof = as_profile(profile)
    return _averaged(prof, schedule, lambda p, s: dtc_eps(s) * p.dtc)


# -- references and predictions -------------------------------------------------------------------
def li_cai_factor(s_max: int) -> int:
    """The step factor ``2^ceil(log2 s_max) - 1`` of the Li-Cai bound (0 for ``s_max = 1``).

    Parameters
    ----------
    s_max : int
        Largest step size, >= 1.

    Returns
    -------
    int
        ``2^ceil(log2 s_max) - 1``: 0, 1, 3, 3, 7, 7, 7, 7, 15, ... for ``s_max = 1, 2, ...``.

    Examples
    --------
    >>> [li_cai_factor(s) for s in range(1, 10)]
    [0, 1, 3, 3, 7, 7, 7, 7, 15]
    """
    if isinstance(s_max, bool) or not isinstance(s_max, (int, np.integer)) or s_max < 1:
        raise ValueError(f"s_max must be an integer >= 1, got {s_max!r}")
    return (1 << (int(s_max) - 1).bit_length()) - 1


def mutual_information(profile: Any, schedule: Any) -> float:
    """Li-Cai bound ``(2^ceil(log2 s_max) - 1) / n * sum_i I(X_i ; X_-i)``.

    Parameters
    ----------
    profile : Profile, Joint or array_like
        The profile (``sum_i I(X_i; X_-i) = n (h(0) - h(n-1))``, theory section 4).
    schedule : Schedule, sequence of int or CompositionLaw
        The step sizes.

    Returns
    -------
    float
        ``(2^ceil(log2 s_max) - 1) (h(0) - h(n-1))``, in the profile's unit.

    Notes
    -----
    Li & Cai, arXiv 2505.21400 (v2, revised December 2025), bound the KL error of
    random-position sampling by ``(2^ceil(log2 s_max) - 1) / n * sum_i I(X_i ; X_-i)`` plus a
    training-error term; with exact conditionals (the setting of this module) the training
    error is 0. In profile terms ``sum_i I(X_i; X_-i) / n = sum_l f(l) = h(0) - h(n-1)``
    (theory section 4), so the row is ``(2^ceil(log2 s_max) - 1) sum_l f(l)``. It is
    rigorous here by our own argument as well: ``2^ceil(log2 s) - 1 >= s - 1``, so it is at
    least the Lavenant-Zanella dimension-free bound :func:`dimension_free` (equal when
    ``s_max`` is a power of two, less than twice it otherwise); theory section 6.

    Examples
    --------
    >>> round(mutual_information([1.0, 0.5, 0.0, 0.0], [3, 1]), 6)  # (4 - 1) * (1 - 0)
    3.0
    """
    prof = as_profile(profile)
    return _averaged(prof, schedule,
                     lambda p, s: li_cai_factor(s.max_size) * _monotone_f_sum(p))


def randomized_tc(profile: Any, schedule: Any) -> float:
    """Zhao-Cai randomized-size rate ``O~(TC / K)``, shown as ``TC log(n) / K``.

    Parameters
    ----------
    profile : Profile, Joint or array_like
        The profile.
    schedule : Schedule, sequence of int or CompositionLaw
        Only its number of steps ``K`` is used.

    Returns
    -------
    float
        ``TC * max(1, log n) / K``.

    Notes
    -----
    Reference only (Zhao & Cai, arXiv 2602.20126): the rate of their randomized schedule with
    the log factor written as ``log n`` and constant 1; it is not a bound on an arbitrary
    schedule and may fall below the exact value.

    Examples
    --------
    >>> round(randomized_tc([1.0, 0.0], [1, 1]), 6)  # TC = 1, log 2 < 1
    0.5
    """
    prof = as_profile(profile)
    return _averaged(prof, schedule, lambda p, s: p.tc * max(1.0, math.log(p.n)) / s.steps)


def randomized_dtc(profile: Any, schedule: Any) -> float:
    """Zhao-Cai randomized-size rate ``O~(DTC / K)``, shown as ``DTC log(n) / K``.

    Parameters
    ----------
    profile : Profile, Joint or array_like
        The profile.
    schedule : Schedule, sequence of int or CompositionLaw
        Only its number of steps ``K`` is used.

    Returns
    -------
    float
        ``DTC * max(1, log n) / K``.

    Notes
    -----
    Reference only, as :func:`randomized_tc`.

    Examples
    --------
    >>> round(randomized_dtc([1.0, 0.0], [2]), 6)  # DTC = 1
    1.0
    """
    prof = as_profile(profile)
    return _averaged(prof, schedule, lambda p, s: p.dtc * max(1.0, math.log(p.n)) / s.steps)


def sqrt_rule_prediction(profile: Any, schedule: Any) -> float:
    """Continuum prediction of the optimal cost with ``K`` steps (square-root rule).

    Parameters
    ----------
    profile : Profile, Joint or array_like
        The profile (negative ``f`` values of an estimated curve are clipped to 0).
    schedule : Schedule, sequence of int, CompositionLaw or int
        Only the number of steps ``K`` is used (an int is accepted).

    Returns
    -------
    float
        ``(sum_l sqrt f(l))^2 / (2K) - (1/2) sum_l f(l)``, floored at 0.

    Raises
    ------
    ValueError
        An int ``K`` outside ``1..n``, or a schedule for another ``n``.
    TypeError
        A bool, or :class:`unmask.BernoulliSizes`.

    Notes
    -----
    A prediction, not a bound (theory section 6, Lavenant-Zanella continuum analysis): accurate
    for ``n >> K`` when ``f`` varies slowly on the scale of a step; it approximates the *optimal*
    cost, not the cost of the given schedule.

    Examples
    --------
    >>> round(sqrt_rule_prediction([2.0, 1.0, 0.0], 1), 6)  # (1 + 1)^2 / 2 - 1
    1.0
    """
    prof = as_profile(profile)
    if isinstance(schedule, bool):
        raise TypeError("schedule must be a Schedule, a list of sizes or an int K, got bool")
    if isinstance(schedule, (int, np.integer)):
        k = int(schedule)
        if not 1 <= k <= prof.n:
            raise ValueError(f"steps must be >= 1 and at most n = {prof.n}, got {k}")
    elif isinstance(schedule, CompositionLaw):
        _check_n(prof, schedule.n)
        return math.fsum(w * sqrt_rule_prediction(prof, s) for w, s in schedule)
    else:
        sched = _as_schedule(schedule)
        _check_n(prof, sched.n)
        k = sched.steps
    f = np.clip(prof.f, 0.0, None)
    root = math.fsum(np.sqrt(f).tolist())
    return max(0.0, root * root / (2.0 * k) - 0.5 * math.fsum(f.tolist()))


# -- the table ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BoundRow:
    """One row of :class:`BoundsTable`.

    Attributes
    ----------
    name : str
        Short name of the bound.
    value : float
        Its value, in the profile's unit.
    kind : str
        ``"exact"``, ``"rigorous"``, ``"reference"`` or ``"prediction"``.
    holds : bool or None
        For ``rigorous`` rows, whether ``value >= exact`` (relative tolerance 1e-9); None for
        the exact row, for ``reference`` rows (orders of magnitude, never checked, so never
        "failed") and for predictions (which predict the optimum, not this schedule).
    source : str
        Where the formula comes from.
    """

    name: str
    value: float
    kind: str
    holds: bool | None
    source: str


class BoundsTable:
    """Bounds side by side with the exact expected KL; iterate or index it by name.

    Parameters
    ----------
    rows : list of BoundRow
        The rows, the exact value first.
    unit : str
        Unit of the values.

    Examples
    --------
    >>> import unmask
    >>> t = all_bounds(unmask.joints.all_equal(4, 2), [2, 1, 1])
    >>> t["dimension-free"].holds, t.exact == t["exact"].value
    (True, True)
    """

    __slots__ = ("_rows", "_unit")

    def __init__(self, rows: list[BoundRow], unit: str = "nats") -> None:
        self._rows = tuple(rows)
        self._unit = unit

    @property
    def rows(self) -> tuple[BoundRow, ...]:
        """All rows."""
        return self._rows

    @property
    def exact(self) -> float:
        """The exact expected KL."""
        return self["exact"].value

    @property
    def unit(self) -> str:
        """Unit of the values."""
        return self._unit

    def __getitem__(self, name: str) -> BoundRow:
        for r in self._rows:
            if r.name == name:
                return r
        raise KeyError(f"no bound named {name!r}; have {[r.name for r in self._rows]}")

    def __iter__(self) -> Iterator[BoundRow]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ``{"unit", "exact", "rows": [{name, value, kind, holds, source}]}``.

        Infinite values are kept as ``float('inf')`` (``json.dumps`` writes ``Infinity``).
        """
        return {
            "unit": self._unit,
            "exact": self.exact,
            "rows": [asdict(r) for r in self._rows],
        }

    def __repr__(self) -> str:
        """Text table; values below ``1e-12 x max(1, largest |value|)`` print as 0 (round-off).

        The rows keep the raw numbers.
        """
        finite = [abs(r.value) for r in self._rows if math.isfinite(r.value)]
        floor = _PRINT_FLOOR * max([1.0, *finite])

        def shown(v: float) -> str:
            return "0" if abs(v) < floor else f"{v:.6g}"

        head = ("bound", f"value ({self._unit})", "kind", "holds", "source")
        body = [
            (
                r.name,
                shown(r.value),
                r.kind,
                "-" if r.holds is None else ("yes" if r.holds else "NO"),
                r.source,
            )
            for r in self._rows
        ]
        widths = [max(len(x[c]) for x in [head, *body]) for c in range(len(head))]
        lines = [
            "  ".join(x[c].ljust(widths[c]) for c in range(len(head))).rstrip()
            for x in [head, *body]
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)


#: Printed tables show values below this (relative to the largest value, at least 1) as 0.
_PRINT_FLOOR = 1e-12


def _holds(value: float, exact_value: float) -> bool:
    return value >= exact_value - 1e-9 * max(1.0, abs(exact_value))


def all_bounds(
    profile_or_joint: Any, schedule: Any, *, nonmonotone: str = "raise"
) -> BoundsTable:
    """Every bound of section 6 for one schedule, next to the exact expected KL.

    Parameters
    ----------
    profile_or_joint : Profile, Joint or array_like
        A profile (or ``h`` curve), or a law (its exact profile is computed and its alphabet
        size adds the ``(s_max - 1) log q`` row).
    schedule : Schedule, sequence of int or CompositionLaw
        The schedule (a law over schedules: bounds averaged over it).
    nonmonotone : {"raise", "project", "plain"}, optional
        For an ``h`` that increases somewhere (an estimate): refuse it (default), use its
        monotone projection, or evaluate every formula on it as given; with ``"plain"`` no
        row is checked (``holds`` is None): the guarantees need a non-increasing ``h``.

    Returns
    -------
    BoundsTable
        Rows ``exact``, ``dimension-free``, (``dimension-free log q``), ``TC``, ``DTC``,
        ``Li-Cai MI``, ``Zhao-Cai TC/K``, ``Zhao-Cai DTC/K``, ``sqrt-rule optimum``.

    Raises
    ------
    ValueError
        Length mismatch between schedule and profile; a non-monotone ``h`` with
        ``nonmonotone="raise"``.
    TypeError
        :class:`unmask.BernoulliSizes` (use :func:`unmask.expected_kl` for its exact value).

    Notes
    -----
    A plain 1-d array is an ``h`` curve, a plain array with two or more axes a joint law (the
    rule of :func:`unmask.profiles.as_profile`).

    Examples
    --------
    >>> import unmask
    >>> t = all_bounds(unmask.joints.parity(4), [2, 2])
    >>> [r.name for r in t.rows if r.kind == "rigorous" and not r.holds]
    []
    """
    from unmask.laws.joint import Joint

    q = profile_or_joint.q if isinstance(profile_or_joint, Joint) else None
    from unmask.profiles.inputs import apply_nonmonotone

    prof = apply_nonmonotone(as_profile(profile_or_joint), nonmonotone, what="the exact row")
    checked = prof.is_monotone  # "plain" on a non-monotone h: formulas only, nothing checked
    ex = expected_kl(prof, schedule, nonmonotone="plain")
    rows = [
        BoundRow(
            "exact",
            ex,
            "exact",
            None,
            "Chen-Cong-Li identity (section 5)"
            if checked
            else "identity evaluated on a non-monotone h (not a KL)",
        )
    ]

    def add(name: str, value: float, kind: str, source: str) -> None:
        holds = _holds(value, ex) if kind == "rigorous" and checked else None
        rows.append(BoundRow(name, value, kind, holds, source))

    add(
        "dimension-free",
        dimension_free(prof, schedule),
        "rigorous",
        "Lavenant-Zanella: (s_max-1)(h(0)-h(n-1))",
    )
    if q is not None:
        add(
            "dimension-free log q",
            dimension_free_alphabet(prof, schedule, int(q)),
            "rigorous",
            "Lavenant-Zanella: (s_max-1) log q",
        )
    add("TC", tc_bound(prof, schedule), "rigorous", "Chen-Cong-Li: eps_TC * TC")
    add("DTC", dtc_bound(prof, schedule), "rigorous", "Chen-Cong-Li: eps_DTC * DTC")
    add(
        "Li-Cai MI",
        mutual_information(prof, schedule),
        "rigorous",
        "Li-Cai (v2): (2^ceil(log2 s_max)-1)(h(0)-h(n-1))",
    )
    add(
        "Zhao-Cai TC/K",
        randomized_tc(prof, schedule),
        "reference",
        "Zhao-Cai O~(TC/K) rate, shown as TC log(n)/K",
    )
    add(
        "Zhao-Cai DTC/K",
        randomized_dtc(prof, schedule),
        "reference",
        "Zhao-Cai O~(DTC/K) rate, shown as DTC log(n)/K",
    )
    add(
        "sqrt-rule optimum",
        sqrt_rule_prediction(prof, schedule),
        "prediction",
        "continuum optimum for K steps (section 6)",
    )
    return BoundsTable(rows, unit=prof.unit)
