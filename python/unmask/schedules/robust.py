"""Schedules chosen from noisy evidence that do not lose to the constant schedule (section 13).

The optimal schedule of a noisy profile fits the noise: its true cost can exceed the constant
schedule's. :func:`robust_schedule` chooses among candidates

* the constant schedule,
* the optimal schedule of the evidence smoothed at several strengths ``rho``,
* the convex combinations ``t`` of their boundaries with the constant schedule's,

by **cross-fitting**: a candidate fitted on one independent half of the evidence is scored on the
other half (and vice versa), where its estimated cost is unbiased (the cost of a fixed schedule
is linear in ``h``). The best candidate replaces the constant schedule only when its estimated
gain is significant (regret-safe: otherwise the constant schedule is returned).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask.profiles.evidence import Evidence, EvidencePoints
from unmask.profiles.profile import Profile
from unmask.schedules.schedule import Schedule

__all__ = ["CostEstimate", "RobustSchedule", "estimate_cost", "estimate_gain", "robust_schedule"]

#: Mixing weights t tried between the constant schedule (t = 0) and a smoothed optimum (t = 1).
MIX_GRID = (0.25, 0.5, 0.75, 1.0)
#: Extra smoothing (log10 steps above the cross-validated strength) tried for the candidates.
SMOOTHING_STEPS = (0.0, 1.0, 2.0)
#: Smallest cross-fitted gain, relative to the constant schedule's cost, that is acted on.
MIN_GAIN = 0.005
#: Candidates compared (smoothing steps x mixes).
CANDIDATES = 12
#: One-sided z of the significance gate on the cross-fitted gain: 0.5% overall, Bonferroni
#: over the candidates (the best of several noisy scores is optimistic). Strict on purpose: when
#: the constant schedule is exactly optimal every false alarm costs, and real gains stand far
#: clear of it (their z is typically 10 or more in bench/bench_evidence.py).
GATE_Z = NormalDist().inv_cdf(1.0 - 0.005 / CANDIDATES)


@dataclass(frozen=True)
class CostEstimate:
    """An estimate of a true cost (or gain) with its standard error and confidence interval.

    Attributes
    ----------
    value : float
        The estimate (in the unit of the evidence).
    stderr : float
        Its standard error (sampling noise of the evidence only).
    lower, upper : float
        The interval ``value -/+ z stderr`` at level ``confidence``.
    confidence : float
        Level of the interval.
    """

    value: float
    stderr: float
    lower: float
    upper: float
    confidence: float

    @classmethod
    def normal(cls, value: float, stderr: float, confidence: float) -> CostEstimate:
        """The normal interval ``value -/+ z stderr``."""
        z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
        return cls(float(value), float(stderr), value - z * stderr, value + z * stderr, confidence)

    def __str__(self) -> str:
        pct = f"{self.confidence:.0%}"
        return f"{self.value:.6g} ({pct} CI {self.lower:.6g} .. {self.upper:.6g})"


@dataclass(frozen=True)
class RobustSchedule:
    """What :func:`robust_schedule` chose, and why.

    Attributes
    ----------
    schedule : Schedule
        The schedule to use.
    constant : Schedule
        The constant schedule with the same number of steps.
    cost, constant_cost : CostEstimate
        Estimated true cost (order-averaged expected KL, theory section 5) of ``schedule`` and of
        ``constant`` on all the evidence.
    gain : CostEstimate
        ``constant_cost - cost`` (paired: positive means the schedule is better). Measured on the
        evidence the schedule was fitted on, so slightly optimistic.
    cv_gain : CostEstimate
        The cross-fitted score the choice was made on: the gain of the candidate fitted on one
        half, measured on the other half's smoothed curve (less noisy than ``gain`` but not
        free of smoothing bias; it refers to schedules fitted on half the evidence).
    rho : float or None
        log10 smoothing strength of the chosen candidate (None: interpolated points).
    mix : float
        Weight ``t`` of the smoothed optimum against the constant schedule (0: constant).
    fallback : bool
        True when the constant schedule was returned because no candidate's cross-fitted gain
        was significant.
    samples_needed : int or None
        For model evidence: total samples at which the cross-fitted gain of the best candidate
        would reach three standard errors (None when no candidate gains or for loss curves).
    """

    schedule: Schedule
    constant: Schedule
    cost: CostEstimate
    constant_cost: CostEstimate
    gain: CostEstimate
    cv_gain: CostEstimate
    rho: float | None
    mix: float
    fallback: bool
    samples_needed: int | None

    def summary(self) -> dict[str, Any]:
        """The figures as a JSON-friendly dict."""

        def est(e: CostEstimate) -> dict[str, float]:
            return {"value": e.value, "stderr": e.stderr, "lower": e.lower, "upper": e.upper}

        return {
            "sizes": list(self.schedule.sizes),
            "cost": est(self.cost),
            "constant_cost": est(self.constant_cost),
            "gain": est(self.gain),
            "cv_gain": est(self.cv_gain),
            "confidence": self.cost.confidence,
            "rho": self.rho,
            "mix": self.mix,
            "fallback": self.fallback,
            "samples_needed": self.samples_needed,
        }


def cost_weights(schedule: Schedule) -> NDArray[np.float64]:
    """``w`` with ``cost(schedule) = w @ h`` (theory section 5; the cost is linear in ``h``)."""
    w = -np.ones(schedule.n)
    starts = schedule.boundaries[:-1]
    w[starts] += np.asarray(schedule.sizes, dtype=np.float64)
    return w


def blend(constant: Schedule, other: Schedule, t: float) -> Schedule:
    """Boundaries ``(1 - t) * constant + t * other`` rounded half up (strictly increasing)."""
    if t <= 0.0:
        return constant
    if t >= 1.0:
        return other
    bc = constant.boundaries.astype(np.float64)
    bo = other.boundaries.astype(np.float64)
    cum = np.floor((1.0 - t) * bc + t * bo + 0.5).astype(np.int64)
    return Schedule(np.diff(cum))


def _evidence_of(obj: Any) -> Evidence:
    if isinstance(obj, Evidence):
        return obj
    if isinstance(obj, Profile) and obj.evidence is not None:
        return obj.evidence  # type: ignore[no-any-return]
    raise TypeError(
        "robust_schedule needs evidence: an Evidence, or a Profile from estimate_profile, "
        "estimate_evidence or profile_from_loss_curve (which carry it); an exact profile "
        "needs no robustness: use optimal_schedule"
    )


def _linear_estimate(
    ev: Evidence,
    pts: EvidencePoints,
    w: NDArray[np.float64],
    rho: float | None = None,
    extrapolate: str | None = None,
) -> tuple[float, float]:
    """``w @ h_eval(pts)`` and its standard error."""
    emat, d = ev.evaluator(pts, rho, extrapolate)
    v = np.sum(emat * w[:, None], axis=0)  # emat' w without a threaded BLAS call
    value = math.fsum((v * pts.y).tolist()) + math.fsum((w * d).tolist())
    return value, float(np.sqrt(np.sum((v * pts.se) ** 2)))


def estimate_cost(evidence: Any, schedule: Any, *, confidence: float = 0.95) -> CostEstimate:
    """Estimated true cost of a fixed schedule from noisy evidence, with an interval.

    Parameters
    ----------
    evidence : Evidence or Profile
        An :class:`~unmask.profiles.evidence.Evidence` or a profile that carries one.
    schedule : Schedule or sequence of int
        A schedule for the evidence's ``n``.
    confidence : float
        Level of the interval.

    Returns
    -------
    CostEstimate
        ``w @ h`` (the cost is linear in ``h``, theory section 13) with ``h`` the pooled points
        interpolated linearly: unbiased for independent unbiased points, up to the
        interpolation between them, with an exact standard error. Beyond the points ``h``
        follows the fitted extrapolation, whose model error the interval does not include.
        (Smoothed curves give narrower but biased intervals, so they are not used here.)
    """
    ev = _evidence_of(evidence)
    sched = schedule if isinstance(schedule, Schedule) else Schedule(schedule)
    if sched.n != ev.n:
        raise ValueError(f"schedule is for n = {sched.n} but the evidence has n = {ev.n}")
    _check_confidence(confidence)
    value, se = _linear_estimate(ev, ev.pooled, cost_weights(sched))
    return CostEstimate.normal(value, se, confidence)


def estimate_gain(
    evidence: Any, schedule: Any, reference: Any = None, *, confidence: float = 0.95
) -> CostEstimate:
    """Estimated true gain ``cost(reference) - cost(schedule)`` (paired), with an interval.

    Parameters
    ----------
    evidence : Evidence or Profile
        As in :func:`estimate_cost`.
    schedule, reference : Schedule or sequence of int
        The schedules compared; ``reference`` defaults to the constant schedule with as many
        steps as ``schedule``.
    confidence : float
        Level of the interval.

    Returns
    -------
    CostEstimate
        Positive when ``schedule`` is estimated to be better. Paired: the noise common to both
        costs cancels, so the interval is much narrower than that of either cost.
    """
    ev = _evidence_of(evidence)
    sched = schedule if isinstance(schedule, Schedule) else Schedule(schedule)
    ref = Schedule.constant(sched.n, sched.steps) if reference is None else (
        reference if isinstance(reference, Schedule) else Schedule(reference))
    for s in (sched, ref):
        if s.n != ev.n:
            raise ValueError(f"schedule is for n = {s.n} but the evidence has n = {ev.n}")
    _check_confidence(confidence)
    diff, se = _linear_estimate(ev, ev.pooled, cost_weights(ref) - cost_weights(sched))
    return CostEstimate.normal(diff, se, confidence)


def robust_schedule(
    evidence: Any,
    steps: int,
    *,
    confidence: float = 0.95,
    gate: float = GATE_Z,
    min_gain: float = MIN_GAIN,
    threads: int | None = None,
) -> RobustSchedule:
    """A K-step schedule from noisy evidence that does not lose to the constant schedule.

    Parameters
    ----------
    evidence : Evidence or Profile
        An :class:`~unmask.profiles.evidence.Evidence`, or a profile that carries one (from
        :func:`unmask.estimate_profile`, :func:`unmask.estimate_evidence` or
        :func:`unmask.profile_from_loss_curve`).
    steps : int
        Number of steps K (``1 <= K <= n``).
    confidence : float
        Level of the reported intervals.
    gate : float
        The best candidate is used only if its cross-fitted gain exceeds ``gate`` standard
        errors (default 3.34: one-sided 0.5% with a Bonferroni correction for the 12
        candidates); 0 always takes the best candidate.
    min_gain : float
        The best candidate is used only if its cross-fitted gain is also at least this fraction
        of the constant schedule's estimated cost (default 0.005): smaller differences are
        within the smoothing and extrapolation biases that the standard error does not see.
    threads : int, optional
        Threads for the solver.

    Returns
    -------
    RobustSchedule
        The schedule, estimated true costs with intervals (chosen and constant), the gain.

    Raises
    ------
    TypeError
        ``evidence`` carries no evidence (an exact profile: use :func:`unmask.optimal_schedule`).
    ValueError
        Bad ``steps``, ``confidence`` or ``gate``.

    Notes
    -----
    Theory section 13. Candidates: the optimal schedules of the smoothed halves (smoothing
    strengths ``rho`` from interpolation to nearly linear) mixed with the constant schedule at
    ``t`` in :data:`MIX_GRID`. Each is fitted on one half and scored on the other: the score is
    the estimated cost difference with the constant schedule, unbiased because a fixed
    schedule's cost is linear in ``h``. The chosen ``(rho, t)`` is then refitted on all the
    evidence.

    Examples
    --------
    >>> import numpy as np, unmask
    >>> r = np.linspace(0.002, 1.0, 40)  # the whole range (else a CoverageWarning)
    >>> loss = 0.5 + 2.0 * r ** 2 + np.random.default_rng(0).normal(0, 0.005, r.size)
    >>> prof = unmask.profile_from_loss_curve(r, loss, 256)
    >>> res = unmask.robust_schedule(prof, 16)
    >>> res.schedule.n, res.schedule.steps
    (256, 16)
    """
    ev = _evidence_of(evidence)
    n = ev.n
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= steps <= n:
        raise ValueError(f"steps must be an integer in 1..n = 1..{n}, got {steps!r}")
    _check_confidence(confidence)
    if not (isinstance(gate, (int, float)) and not isinstance(gate, bool) and gate >= 0):
        raise ValueError(f"gate must be a number >= 0, got {gate!r}")
    if not (isinstance(min_gain, (int, float)) and not isinstance(min_gain, bool)
            and 0 <= min_gain < 1):
        raise ValueError(f"min_gain must be a number in [0, 1), got {min_gain!r}")
    k = int(steps)
    const = Schedule.constant(n, k)
    zero = CostEstimate.normal(0.0, 0.0, confidence)
    const_cost = estimate_cost(ev, const, confidence=confidence)
    if k in (1, n):  # a single schedule exists
        return RobustSchedule(const, const, const_cost, const_cost, zero, zero, None, 0.0,
                              False, None)
    if min(p.size for p in (*ev.halves, ev.pooled)) < 3:  # no evidence about the shape of f
        return RobustSchedule(const, const, const_cost, const_cost, zero, zero, None, 0.0,
                              True, None)

    score, score_se, rho_best, t_best = _best_candidate(ev, const, threads)
    cv_gain = CostEstimate.normal(-score, score_se, confidence)
    needed = None
    if ev.samples > 0 and score < 0:
        needed = math.ceil(ev.samples * (3.0 * score_se / -score) ** 2)
    accept = score < 0 and -score > max(gate * score_se, min_gain * abs(const_cost.value))
    if not accept:
        return RobustSchedule(const, const, const_cost, const_cost, zero, cv_gain, rho_best,
                              0.0, True, needed)
    chosen = blend(const, _optimal(ev.fit(ev.pooled, rho_best), k, threads), t_best)
    cost = estimate_cost(ev, chosen, confidence=confidence)
    return RobustSchedule(
        chosen, const, cost, const_cost, estimate_gain(ev, chosen, const, confidence=confidence),
        cv_gain, rho_best, t_best, False, needed,
    )


def _best_candidate(
    ev: Evidence, const: Schedule, threads: int | None
) -> tuple[float, float, float | None, float]:
    """``(score, stderr, rho, t)`` of the mix with the lowest cross-fitted cost change.

    Each half is smoothed at its own strength (leave-one-out cross-validation of the fit);
    only the mix ``t`` is chosen on the other half, which keeps the selection noise small.
    """
    k = const.steps
    wc = cost_weights(const)
    half_a, half_b = ev.halves
    rho_a, rho_b = ev.loo_rho(half_a), ev.loo_rho(half_b)
    # beyond the evidence nothing is known: a candidate must gain under the evidence's own
    # extrapolation and under the end slopes (the worse of the two scores counts)
    modes: tuple[str | None, ...] = (None,)
    if ev.uncovered() and ev.extrapolate != "linear":
        modes = (None, "linear")
    best: tuple[float, float, float | None, float] | None = None
    for extra in SMOOTHING_STEPS:
        opt_a = _optimal(ev.fit(half_a, rho_a + extra), k, threads)
        opt_b = _optimal(ev.fit(half_b, rho_b + extra), k, threads)
        for t in MIX_GRID:
            wa = cost_weights(blend(const, opt_a, t)) - wc
            wb = cost_weights(blend(const, opt_b, t)) - wc
            score, se = -math.inf, 0.0
            for mode in modes:
                on_b, se_b = _linear_estimate(ev, half_b, wa, rho_b, mode)
                on_a, se_a = _linear_estimate(ev, half_a, wb, rho_a, mode)
                if 0.5 * (on_a + on_b) > score:
                    score, se = 0.5 * (on_a + on_b), 0.5 * math.hypot(se_a, se_b)
            if best is None or score < best[0]:
                # the refit on all the evidence uses the strength that was validated
                best = (score, se, 0.5 * (rho_a + rho_b) + extra, t)
    assert best is not None
    return best


def candidate_direction(evidence: Any, steps: int) -> NDArray[np.float64]:
    """Per-point weights ``v`` of the best candidate's estimated gain ``v @ y`` (pooled points).

    Used to allocate samples (:func:`unmask.estimate_evidence`): the variance of the gain is
    ``sum v_l^2 se_l^2``.
    """
    ev = _evidence_of(evidence)
    const = Schedule.constant(ev.n, steps)
    _, _, rho, t = _best_candidate(ev, const, None)
    chosen = blend(const, _optimal(ev.fit(ev.pooled, rho), steps, None), t)
    emat, _ = ev.evaluator(ev.pooled)
    diff = cost_weights(chosen) - cost_weights(const)
    return np.asarray(np.sum(emat * diff[:, None], axis=0), dtype=np.float64)


def _optimal(h: NDArray[np.float64], steps: int, threads: int | None) -> Schedule:
    from unmask.schedules.solver import optimal_schedule

    return optimal_schedule(Profile(h), steps, nonmonotone="project", threads=threads)


def _check_confidence(confidence: Any) -> None:
    ok = isinstance(confidence, (int, float)) and not isinstance(confidence, bool)
    if not (ok and 0.0 < confidence < 1.0):
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
