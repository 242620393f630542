"""Profiles from a training loss curve: conventions, noise, coverage (theory section 13)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask._validation import check_memory, log_base_factor
from unmask.profiles.estimate import _check_positive_int, _real_array
from unmask.profiles.evidence import Evidence, EvidencePoints
from unmask.profiles.profile import Profile, pava_nonincreasing

__all__ = ["CoverageWarning", "elbo_weight", "profile_from_loss_curve"]

_FITS = ("smooth", "interpolate")
_EXTRAPOLATE = ("fit", "linear", "constant", "raise")
_CONVENTIONS = ("cross_entropy", "elbo", "elbo_per_token")
_ALPHAS = ("linear", "cosine")


class CoverageWarning(UserWarning):
    """The loss curve does not span all mask ratios: part of the profile is extrapolated."""


def elbo_weight(mask_ratios: Any, alpha: str = "linear") -> NDArray[np.float64]:
    """ELBO weight ``w = -alpha'(t) / (1 - alpha(t))`` at mask ratio ``r = 1 - alpha(t)``.

    Parameters
    ----------
    mask_ratios : array_like
        Masked fractions ``r`` in ``(0, 1]``.
    alpha : {"linear", "cosine"}
        The masking schedule: ``alpha(t) = 1 - t`` (MDLM's linear schedule; ``w = 1/r``) or
        ``alpha(t) = cos(pi t / 2)`` (the cosine schedule; ``w = (pi/2) sin(pi t/2) / r`` with
        ``cos(pi t/2) = 1 - r``).

    Returns
    -------
    numpy.ndarray
        The weights.

    Examples
    --------
    >>> elbo_weight([0.5, 1.0]).tolist()
    [2.0, 1.0]
    """
    r = np.asarray(mask_ratios, dtype=np.float64)
    if alpha == "linear":
        return 1.0 / r
    if alpha == "cosine":
        return (math.pi / 2.0) * np.sqrt(np.maximum(1.0 - (1.0 - r) ** 2, 0.0)) / r
    raise ValueError(f"alpha must be one of {_ALPHAS}, got {alpha!r}")


def profile_from_loss_curve(
    mask_ratios: Any,
    losses: Any,
    n: int,
    *,
    stderr: Any = None,
    monotone: bool = True,
    base: float | None = None,
    fit: str = "smooth",
    extrapolate: str = "fit",
    convention: str = "cross_entropy",
    alpha: str | Callable[[NDArray[np.float64]], Any] = "linear",
) -> Profile:
    """Entropy profile for length ``n`` from losses logged at masking ratios.

    Parameters
    ----------
    mask_ratios : array_like
        Fractions ``r`` of **masked** positions, each in ``(0, 1]`` (MDLM/LLaDA's ``t`` or
        ``1 - alpha_t``). A point at ratio ``r`` stands for ``i = (1 - r) n`` **unmasked**
        positions. A ratio may repeat (repeated measurements): its values are averaged, with a
        :class:`UserWarning` when they differ, and their spread estimates the noise.
    losses : array_like
        Same length: the losses, in the unit given by ``base`` (None: nats; 2: bits) and the
        convention given by ``convention``.
    n : int
        Sequence length the profile is wanted for.
    stderr : array_like, optional
        Standard errors of the losses (weights ``1/stderr^2``). Default: estimated from repeated
        ratios when there are any, else from the scatter of the points around a smooth curve.
    monotone : bool
        Project the fit onto non-increasing ``h`` (default). False keeps the unprojected fit.
    base : float, optional
        Logarithm base of the losses and of the result (None: nats).
    fit : {"smooth", "interpolate"}
        ``"smooth"``: a penalised least-squares (discrete cubic spline) fit with the smoothing
        chosen by leave-one-out cross-validation, then the monotone projection; needs at least 4
        distinct ratios. ``"interpolate"``: the monotone projection of the points, linearly
        interpolated (noise turns ``f`` into a staircase; for exact curves).
    extrapolate : {"fit", "linear", "constant", "raise"}
        Beyond the logged ratios: ``"fit"`` (default) continues with the shape of a monotone
        power law ``a + b r^c`` fitted to all points; ``"linear"`` with the end slope;
        ``"constant"`` holds the end values (then ``f = 0`` there, and a schedule optimised on
        it takes one huge step there); ``"raise"`` refuses. Every choice but ``"raise"`` warns
        (:class:`CoverageWarning`) naming the extrapolated range.
    convention : {"cross_entropy", "elbo", "elbo_per_token"}
        What was logged at ratio ``r``: the mean cross-entropy per masked token
        (``"cross_entropy"``); that times the ELBO weight ``w(r)`` (``"elbo"``); or the
        ELBO-weighted sum over masked tokens divided by all ``n`` tokens, ``w(r) r`` times it
        (``"elbo_per_token"``, the MDLM/MD4 per-token NELBO integrand). Theory section 13.
    alpha : {"linear", "cosine"} or callable
        The masking schedule behind the ELBO weight (:func:`elbo_weight`), or a callable
        ``w(r)`` returning the weights.

    Returns
    -------
    Profile
        ``h(i)`` for ``i = 0..n-1`` unmasked positions with a pointwise band, carrying its
        :class:`~unmask.profiles.evidence.Evidence` (alternate points as two independent halves),
        so that :func:`unmask.optimal_schedule` on it is robust (:func:`unmask.robust_schedule`).
        The evidence is attached when there are at least 4 distinct ratios.

    Raises
    ------
    TypeError
        ``mask_ratios``, ``losses`` or ``stderr`` not real numeric (bool, complex, strings).
    ValueError
        Arrays of different lengths or not 1-d, ratios outside ``(0, 1]``, losses negative or
        not finite, too few points to fit, ``extrapolate="raise"`` with a partial curve, ``n``
        not an integer ``>= 1``, or a bad ``base``/option.
    MemoryError
        When the length-``n`` curves do not fit in memory.

    Warns
    -----
    CoverageWarning
        The ratios do not span ``(0, 1]`` (to within one position): the message names the
        covered and the extrapolated ranges.
    UserWarning
        Repeated ratios with different values were averaged.

    Notes
    -----
    Assumptions the user should check: the masked set at ratio ``r`` is (close to) a uniform
    subset of ``r n`` positions of sequences of length ``n``; the model is near-optimal, so
    that the loss ``h(i) + eps(i)`` (theory section 5) is close to ``h(i)``.

    Examples
    --------
    >>> import numpy as np, unmask
    >>> r = np.linspace(0.1, 1.0, 10)
    >>> prof = unmask.profile_from_loss_curve(r, 1.0 + r, n=10, fit="interpolate")
    >>> prof.h[[0, 5, 9]].round(6).tolist()
    [2.0, 1.5, 1.1]
    """
    n = _check_positive_int(n, "n")
    log_base_factor(base)  # validates base; the losses are already in that unit
    if fit not in _FITS:
        raise ValueError(f"fit must be one of {_FITS}, got {fit!r}")
    if extrapolate not in _EXTRAPOLATE:
        raise ValueError(f"extrapolate must be one of {_EXTRAPOLATE}, got {extrapolate!r}")
    if convention not in _CONVENTIONS:
        raise ValueError(f"convention must be one of {_CONVENTIONS}, got {convention!r}")
    r = _real_array(mask_ratios, "mask_ratios")
    y = _real_array(losses, "losses")
    if r.ndim != 1 or y.ndim != 1 or r.size != y.size or r.size == 0:
        raise ValueError(
            "mask_ratios and losses must be non-empty 1-d arrays of the same length, got "
            f"shapes {r.shape} and {y.shape}"
        )
    if not np.all(np.isfinite(r)) or r.min() <= 0.0 or r.max() > 1.0:
        bad = r[~(np.isfinite(r) & (r > 0) & (r <= 1))]
        raise ValueError(
            "mask_ratios must be finite fractions of masked tokens in (0, 1], got "
            f"{float(bad[0])!r}"
        )
    if not np.all(np.isfinite(y)) or y.min() < 0.0:
        raise ValueError("losses must be finite and non-negative (cross-entropy per token)")
    se: NDArray[np.float64] | None = None
    if stderr is not None:
        se = _real_array(stderr, "stderr")
        if se.shape != y.shape or not np.all(np.isfinite(se)) or se.min() < 0:
            raise ValueError("stderr must be finite, non-negative and shaped like losses")
    if convention != "cross_entropy":
        w = np.asarray(alpha(r) if callable(alpha) else elbo_weight(r, alpha), dtype=np.float64)
        if w.shape != r.shape or not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ValueError("the ELBO weights w(r) must be finite and positive at every ratio")
        scale = w * r if convention == "elbo_per_token" else w
        y = y / scale
        se = None if se is None else se / scale
    # h, its grid, stderr and the band of the Profile: a handful of length-n float64 arrays
    check_memory(8.0 * 8 * n, f"a profile of length n = {n}")

    x_all = (1.0 - r) * n
    order = np.argsort(x_all, kind="stable")
    x_all, y = x_all[order], y[order]
    se = None if se is None else se[order]
    uniq, inverse, counts = np.unique(x_all, return_inverse=True, return_counts=True)
    pooled_y, pooled_se = _pool(uniq, inverse, counts, y, se)
    if fit == "smooth" and uniq.size < 4:
        raise ValueError(
            f"too few points to fit: {uniq.size} distinct mask ratio(s); a smooth fit needs at "
            "least 4 (pass fit='interpolate' for an exact curve)"
        )
    lo_r, hi_r = 1.0 - uniq[-1] / n, 1.0 - uniq[0] / n
    method = "constant" if extrapolate == "raise" else extrapolate
    evidence = None
    if uniq.size >= 4:
        halves = (
            EvidencePoints(uniq[0::2], pooled_y[0::2], pooled_se[0::2]),
            EvidencePoints(uniq[1::2], pooled_y[1::2], pooled_se[1::2]),
        )
        evidence = Evidence(
            n,
            halves,
            EvidencePoints(uniq, pooled_y, pooled_se),
            extrapolate=method,
            base=base,
            source=f"profile_from_loss_curve ({uniq.size} points, {fit})",
        )
    gaps = _uncovered(uniq, n)
    if gaps:
        where = " and ".join(f"{a:.4g}-{b:.4g}" for a, b in gaps)
        if extrapolate == "raise":
            raise ValueError(
                f"the loss curve covers mask ratios {lo_r:.4g}-{hi_r:.4g} only; mask ratios "
                f"{where} are not covered (pass extrapolate='fit', 'linear' or 'constant')"
            )
        warnings.warn(
            f"the loss curve covers mask ratios {lo_r:.4g}-{hi_r:.4g}; extrapolated by "
            f"{_DESCRIBE[method]} over mask ratios {where}",
            CoverageWarning,
            stacklevel=2,
        )
    if fit == "smooth":
        assert evidence is not None
        return evidence.profile(monotone=monotone)
    point = pava_nonincreasing(pooled_y, 1.0 / pooled_se**2) if monotone else pooled_y
    grid = np.arange(n, dtype=np.float64)
    h = np.interp(grid, uniq, point)
    if evidence is not None and method != "constant":
        h = h + evidence._extension(grid, float(uniq[0]), float(uniq[-1]), h, evidence.pooled)
        if monotone:
            h = pava_nonincreasing(h)
    elif uniq.size >= 2 and method != "constant":  # too few points for a fit: end slopes
        slope_lo = min(0.0, (point[1] - point[0]) / (uniq[1] - uniq[0]))
        slope_hi = min(0.0, (point[-1] - point[-2]) / (uniq[-1] - uniq[-2]))
        h = np.where(grid < uniq[0], h + slope_lo * (grid - uniq[0]), h)
        h = np.where(grid > uniq[-1], h + slope_hi * (grid - uniq[-1]), h)
    kwargs: dict[str, Any] = {}
    if stderr is not None:
        exact_pt = np.bincount(inverse, weights=np.asarray(se == 0.0, dtype=np.float64)) > 0
        kwargs["stderr"] = np.interp(grid, uniq, np.where(exact_pt, 0.0, pooled_se))
    return Profile(
        np.maximum(h, 0.0),
        base=base,
        source=f"profile_from_loss_curve ({uniq.size} points{', monotone' if monotone else ''})",
        evidence=evidence,
        **kwargs,
    )


_DESCRIBE = {
    "fit": "a monotone power law a + b r^c fitted to all points",
    "linear": "the end slope",
    "constant": "holding the end values",
}


def _uncovered(x: NDArray[np.float64], n: int) -> list[tuple[float, float]]:
    """Mask-ratio ranges beyond the points by more than one position."""
    out = []
    if x[-1] < n - 1.5:  # small ratios: many unmasked
        out.append((0.0, 1.0 - x[-1] / n))
    if x[0] > 0.5:  # large ratios
        out.append((1.0 - x[0] / n, 1.0))
    return out


def _pool(
    uniq: NDArray[np.float64],
    inverse: NDArray[np.int64],
    counts: NDArray[np.int64],
    y: NDArray[np.float64],
    se: NDArray[np.float64] | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Mean and standard error per distinct position (weighted by ``1/se^2`` when given)."""
    scale = max(1.0, float(np.max(np.abs(y))))
    floor = 1e-9 * scale
    if se is not None:
        w = 1.0 / np.maximum(se, floor) ** 2
        wsum = np.bincount(inverse, weights=w)
        mean = np.bincount(inverse, weights=w * y) / wsum
        pooled_se = 1.0 / np.sqrt(wsum)
    else:
        mean = np.bincount(inverse, weights=y) / counts
        resid = y - mean[inverse]
        dof = int(y.size - uniq.size)
        if dof >= 2:  # repeated measurements: their spread is the noise
            sigma = math.sqrt(float(resid @ resid) / dof)
        else:
            sigma = _rice_sigma(mean)
        pooled_se = np.full(uniq.size, max(sigma, floor)) / np.sqrt(counts)
    if np.any(counts > 1):
        spread = np.bincount(inverse, weights=np.abs(y - mean[inverse]))
        if np.any(spread > 1e-12 * scale):
            worst = float(np.max(np.abs(y - mean[inverse])))
            warnings.warn(
                f"{int(np.sum(counts > 1))} mask ratio(s) appear more than once with different "
                f"losses (up to {worst:.3g} from their mean): averaged",
                UserWarning,
                stacklevel=3,
            )
    return mean, np.maximum(pooled_se, floor / np.sqrt(counts))


def _rice_sigma(y: NDArray[np.float64]) -> float:
    """Noise level from second differences of consecutive points (Rice/Gasser estimator)."""
    if y.size < 3:
        return 0.0
    d2 = y[2:] - 2.0 * y[1:-1] + y[:-2]
    return math.sqrt(float(d2 @ d2) / (6.0 * d2.size))
