"""Noisy evidence about a profile, kept in two independent halves (theory section 13).

A profile estimated from a model or read off a training loss curve is a set of noisy points
``(x, y, se)``: ``y`` measures ``h(x)`` (``x`` = number of unmasked positions, a real number in
``[0, n]``) with standard error ``se``. :class:`Evidence` keeps these points split into two
*independent* halves (two halves of the Monte Carlo samples at every level, or alternate points
of a loss curve) together with the pooled points. The halves are what lets
:func:`unmask.robust_schedule` judge a schedule fitted on one half on data it has not seen.

The smooth fit used everywhere is a penalised least-squares curve on a uniform grid of nodes
(weights ``1/se^2``, penalty ``lam * sum (second difference)^2``, i.e. a discrete cubic smoothing
spline), projected onto non-increasing curves (weighted pool adjacent violators) and clipped at 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask.profiles.profile import Profile, pava_nonincreasing

__all__ = ["Evidence", "EvidencePoints"]

_EXTRAPOLATE = ("fit", "linear", "constant")
#: Number of nodes of the smooth fit (fewer when n is smaller).
_MAX_NODES = 128


@dataclass(frozen=True)
class EvidencePoints:
    """Noisy measurements ``y[k]`` of ``h(x[k])`` with standard errors ``se[k]``.

    Attributes
    ----------
    x : numpy.ndarray
        Positions in unmasked-count units, sorted, distinct, in ``[0, n]``.
    y : numpy.ndarray
        Measured values (in the unit of the evidence).
    se : numpy.ndarray
        Standard errors (positive).
    count, m2 : numpy.ndarray or None
        For Monte Carlo evidence: the number of samples behind each point and the sum of their
        squared deviations from ``y`` (so that evidence from several runs can be merged).
    """

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    se: NDArray[np.float64]
    count: NDArray[np.float64] | None = None
    m2: NDArray[np.float64] | None = None

    def __post_init__(self) -> None:
        for name in ("x", "y", "se", "count", "m2"):
            if getattr(self, name) is None:
                continue
            arr = np.ascontiguousarray(getattr(self, name), dtype=np.float64)
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)
        if not (self.x.shape == self.y.shape == self.se.shape and self.x.ndim == 1):
            raise ValueError("x, y and se must be 1-d arrays of the same length")
        if self.x.size and np.any(np.diff(self.x) <= 0):
            raise ValueError("evidence positions x must be sorted and distinct")
        if not (np.all(np.isfinite(self.y)) and np.all(np.isfinite(self.se))):
            raise ValueError("evidence values and standard errors must be finite")
        if np.any(self.se <= 0):
            raise ValueError("evidence standard errors must be positive")

    @property
    def size(self) -> int:
        """Number of points."""
        return int(self.x.size)


@dataclass(frozen=True)
class Evidence:
    """Two independent halves of noisy points about ``h``, and the pooled points.

    Parameters
    ----------
    n : int
        Sequence length of the profile.
    halves : tuple of two EvidencePoints
        Independent measurements (two halves of the samples, or alternate loss-curve points).
    pooled : EvidencePoints
        All the measurements together.
    extrapolate : {"fit", "linear", "constant"}
        How a fit continues beyond the pooled points' range ``coverage``: ``"linear"`` with the
        fitted end slope, ``"constant"`` with the end value, ``"fit"`` with the shape of a
        monotone power law ``a + b r^c`` in the masked ratio ``r = 1 - x/n`` fitted to all points.
    base : float, optional
        Logarithm base of the values (None: nats).
    source : str
        Free text for reprs.
    samples : int
        Model samples behind the evidence (0 for a loss curve).
    """

    n: int
    halves: tuple[EvidencePoints, EvidencePoints]
    pooled: EvidencePoints
    extrapolate: str = "linear"
    base: float | None = None
    source: str = ""
    samples: int = 0
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.extrapolate not in _EXTRAPOLATE:
            raise ValueError(f"extrapolate must be one of {_EXTRAPOLATE}, got {self.extrapolate!r}")
        if len(self.halves) != 2:
            raise ValueError("evidence needs exactly two independent halves")
        for pts in (*self.halves, self.pooled):
            if pts.size < 1:
                raise ValueError("each half of the evidence needs at least one point")
            if pts.x[0] < 0 or pts.x[-1] > self.n:
                raise ValueError(f"evidence positions must lie in [0, n] = [0, {self.n}]")

    # -- coverage -----------------------------------------------------------------------------
    @property
    def coverage(self) -> tuple[float, float]:
        """Range ``(x_min, x_max)`` of the pooled points, in unmasked-count units."""
        return float(self.pooled.x[0]), float(self.pooled.x[-1])

    def uncovered(self) -> list[tuple[int, int]]:
        """Ranges ``[a, b]`` of levels ``i`` (inclusive) beyond the points (may be empty)."""
        lo, hi = self.coverage
        out: list[tuple[int, int]] = []
        if lo > 0.5:
            out.append((0, min(self.n - 1, math.ceil(lo - 0.5) - 1)))
        if hi < self.n - 1.5:
            out.append((max(0, math.floor(hi + 0.5) + 1), self.n - 1))
        return [(a, b) for a, b in out if a <= b]

    # -- fits ---------------------------------------------------------------------------------
    def lam_scale(self, pts: EvidencePoints) -> float:
        """Penalty ``lam`` of unit smoothing strength for these points (``10**rho`` times it)."""
        return self._system(pts).scale

    def fit(
        self,
        pts: EvidencePoints,
        rho: float | None,
        *,
        monotone: bool = True,
        extrapolate: str | None = None,
    ) -> NDArray[np.float64]:
        """Smooth, non-increasing, non-negative ``h`` on ``0..n-1`` from ``pts``.

        ``rho`` is the log10 smoothing strength (penalty ``10**rho`` times :meth:`lam_scale`);
        None interpolates the points linearly (after the monotone projection).
        ``extrapolate`` overrides the evidence's rule beyond the points.
        """
        mode = self.extrapolate if extrapolate is None else extrapolate
        key = ("fit", id(pts), rho, monotone, mode)
        if key in self._cache:
            return self._cache[key][1]  # type: ignore[no-any-return]
        grid = np.arange(self.n, dtype=np.float64)
        if pts.size < 2:  # one point says nothing about the shape: a flat curve through it
            h = np.full(self.n, max(float(pts.y[0]), 0.0))
            h.flags.writeable = False
            self._cache[key] = (pts, h)
            return h
        if rho is None:
            y = pava_nonincreasing(pts.y, 1.0 / pts.se**2) if monotone else pts.y
            h = np.interp(grid, pts.x, y)
            lo, hi = pts.x[0], pts.x[-1]
            h = h + self._extension(grid, lo, hi, h, pts, mode)
        else:
            z = self.node_values(pts, rho)
            nodes = self._nodes()
            wdiag = self._system(pts).bands[0]
            if monotone:
                z = pava_nonincreasing(z, wdiag + 1e-9 * max(float(wdiag.max()), 1e-300))
            h = np.interp(grid, nodes, z)
            if mode != "linear":
                lo, hi = pts.x[0], pts.x[-1]
                inside = np.interp(np.clip(grid, lo, hi), nodes, z)
                h = np.where((grid < lo) | (grid > hi), inside, h)
                h = h + self._extension(grid, lo, hi, inside, pts, mode)
        if monotone:
            h = pava_nonincreasing(h)
        h = np.maximum(h, 0.0)
        h.flags.writeable = False
        self._cache[key] = (pts, h)  # keeps pts alive, so that its id is not reused
        return h

    def _solve(self, pts: EvidencePoints, rho: float, rhs: Any) -> NDArray[np.float64]:
        """``(A'WA + lam D'D + ridge I)^-1 rhs`` for the penalty of strength ``rho``.

        The matrix is banded (bandwidth 2): a banded Cholesky factorisation in numpy, with no
        call into a threaded BLAS (which on a busy machine costs far more than the work).
        """
        sys_ = self._system(pts)
        lam = 10.0**rho * sys_.scale
        bands = [sys_.bands[d] + lam * sys_.penalty[d] for d in range(3)]
        bands[0] = bands[0] + 1e-10 * sys_.scale
        return _banded_solve(bands, np.asarray(rhs, dtype=np.float64))

    def node_values(self, pts: EvidencePoints, rho: float) -> NDArray[np.float64]:
        """The penalised least-squares values at the nodes (before the monotone projection)."""
        return self._solve(pts, rho, self._system(pts).aty)

    def _smoother(self, pts: EvidencePoints, rho: float) -> NDArray[np.float64]:
        """``S`` (nodes x points) with node values ``S @ pts.y``."""
        sys_ = self._system(pts)
        return self._solve(pts, rho, sys_.at_dense() * sys_.w[None, :])

    def node_stderr(self, pts: EvidencePoints, rho: float) -> NDArray[np.float64]:
        """Standard errors of :meth:`node_values` (the smoother is linear in the points)."""
        smoother = self._smoother(pts, rho)
        var = np.sum(smoother**2 * (pts.se**2)[None, :], axis=1)
        return np.asarray(np.sqrt(np.maximum(var, 0.0)), dtype=np.float64)

    def loo_score(self, pts: EvidencePoints, rho: float) -> float:
        """Generalised cross-validation score of the smoother at strength ``rho``.

        The weighted residual sum of squares over ``(1 - tr(H)/m)^2`` (``H`` the hat matrix):
        the rotation-invariant form of leave-one-out cross-validation, which stays stable where
        the fit nearly interpolates (there the plain leave-one-out shortcut divides 0 by 0).
        """
        sys_ = self._system(pts)
        at = sys_.at_dense()
        solved = self._solve(pts, rho, np.column_stack([sys_.aty, at]))
        resid = pts.y - sys_.apply(solved[:, 0])
        cols = np.arange(pts.size)
        diag = sys_.u * solved[sys_.k, 1 + cols] + sys_.v * solved[sys_.k + 1, 1 + cols]
        dof = float(np.sum(diag * sys_.w))
        m = pts.size
        if dof > 0.75 * m:  # nearly interpolating: GCV is unreliable there (it can collapse)
            return math.inf
        # a few very precise points (level 0 of a chain with a uniform marginal) must not
        # decide the smoothing of the whole curve alone: cap their say at 10x the median
        w = sys_.w
        crit = np.minimum(w, 10.0 * float(np.median(w)))
        return float(np.sum(crit * resid**2)) / (1.0 - dof / m) ** 2

    # -- evaluation ---------------------------------------------------------------------------
    def evaluator(
        self, pts: EvidencePoints, rho: float | None = None, extrapolate: str | None = None
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``(E, d)`` with ``h_eval = E @ pts.y + d``, a curve linear in the points.

        ``rho`` None: the points interpolated linearly (unbiased between them up to the
        interpolation); a number: the penalised least-squares fit at that strength, without the
        monotone projection (less noisy, slightly biased). Beyond the points' range ``h_eval``
        follows the shape of the pooled fit from the end value (extrapolated by the evidence's
        rule, or by ``extrapolate``). ``E`` has shape ``(n, m)``.
        """
        key = ("eval", id(pts), rho, extrapolate)
        if key in self._cache:
            return self._cache[key][1]  # type: ignore[no-any-return]
        grid = np.arange(self.n, dtype=np.float64)
        m = pts.size
        lo, hi = pts.x[0], pts.x[-1]
        if rho is None:
            emat = np.empty((self.n, m))
            eye = np.eye(m)
            for k in range(m):
                emat[:, k] = np.interp(grid, pts.x, eye[k])
        else:
            smoother = self._smoother(pts, rho)
            nodes = self._nodes()
            xc = np.clip(grid, max(lo, nodes[0]), min(hi, nodes[-1]))
            kk, tt = _locate(xc, nodes)
            emat = (1.0 - tt)[:, None] * smoother[kk] + tt[:, None] * smoother[kk + 1]
        shape = self.fit(self.pooled, self.default_rho(), extrapolate=extrapolate)
        clipped = np.clip(grid, lo, hi)
        d = shape - np.interp(clipped, grid, shape)
        d = np.where((grid < lo) | (grid > hi), d, 0.0)
        self._cache[key] = (pts, (emat, d))
        return emat, d

    def default_rho(self) -> float:
        """Smoothing strength chosen by generalised cross-validation on the pooled points."""
        return self.loo_rho(self.pooled)

    def loo_rho(self, pts: EvidencePoints) -> float:
        """Smoothing strength of ``pts`` chosen by generalised cross-validation."""
        key = ("rho", id(pts))
        if key not in self._cache:
            scores = np.array([self.loo_score(pts, r) for r in _RHO_GRID])
            # the smoothest strength whose score is within 5% of the best (GCV is often flat
            # over several decades; the smoother curve then has the steadier f)
            ok = np.nonzero(scores <= 1.05 * float(np.min(scores)))[0]
            self._cache[key] = (pts, float(_RHO_GRID[int(ok.max())]))
        return float(self._cache[key][1])

    def profile(self, rho: float | None = None, *, monotone: bool = True) -> Profile:
        """The pooled smooth fit as a :class:`Profile` with a band (``rho`` default: by LOO CV)."""
        r = self.default_rho() if rho is None else rho
        h = self.fit(self.pooled, r, monotone=monotone)
        se_nodes = self.node_stderr(self.pooled, r)
        grid = np.arange(self.n, dtype=np.float64)
        se = np.interp(grid, self._nodes(), se_nodes)
        return Profile(
            h,
            base=self.base,
            stderr=se,
            lower=np.maximum(h - 1.96 * se, 0.0),
            upper=h + 1.96 * se,
            source=self.source,
            evidence=self,
        )

    # -- internals ----------------------------------------------------------------------------
    def _nodes(self) -> NDArray[np.float64]:
        m = min(self.n, _MAX_NODES)
        if m < 2:
            return np.array([0.0, max(self.n - 1, 1)], dtype=np.float64)
        return np.linspace(0.0, self.n - 1.0, m)

    def _system(self, pts: EvidencePoints) -> _System:
        key = ("sys", id(pts))
        if key in self._cache:
            return self._cache[key][1]  # type: ignore[no-any-return]
        out = _System(pts, self._nodes())
        self._cache[key] = (pts, out)
        return out

    def _extension(
        self,
        grid: NDArray[np.float64],
        lo: float,
        hi: float,
        inside: NDArray[np.float64],
        pts: EvidencePoints,
        mode: str | None = None,
    ) -> NDArray[np.float64]:
        """What to add to the end value beyond ``[lo, hi]`` (0 inside)."""
        mode = self.extrapolate if mode is None else mode
        out = np.zeros_like(grid)
        below, above = grid < lo, grid > hi
        if not (below.any() or above.any()) or mode == "constant":
            return out
        if mode == "linear":
            # slope of a straight line through the points of the outer fifth of each end
            for mask, edge, sel in (
                (below, lo, pts.x <= lo + 0.2 * (hi - lo)),
                (above, hi, pts.x >= hi - 0.2 * (hi - lo)),
            ):
                if mask.any():
                    slope = _end_slope(pts, sel)
                    out[mask] = slope * (grid[mask] - edge)
            return out
        curve = self._power_law()
        for mask, edge in ((below, lo), (above, hi)):
            if mask.any():
                out[mask] = curve(grid[mask]) - curve(np.array([edge]))[0]
        return out

    def _power_law(self) -> Any:
        """Monotone power law ``a + b r^c`` (``b >= 0``) in the masked ratio, by least squares."""
        key = ("power",)
        if key in self._cache:
            return self._cache[key]
        pts = self.pooled
        r = np.clip(1.0 - pts.x / self.n, 0.0, 1.0)
        w = 1.0 / pts.se**2
        best = (math.inf, 0.0, 0.0, 1.0)
        grid = np.geomspace(0.1, 10.0, 61)
        for _ in range(4):  # a coarse grid of exponents, then three finer ones around the best
            for c in grid:
                basis = r**c
                sw = float(w.sum())
                mb, my = float(w @ basis) / sw, float(w @ pts.y) / sw
                vb = float(w @ (basis - mb) ** 2)
                b = max(0.0, float(w @ ((basis - mb) * (pts.y - my))) / vb) if vb > 0 else 0.0
                a = my - b * mb
                sse = float(w @ (pts.y - a - b * basis) ** 2)
                if sse < best[0]:
                    best = (sse, a, b, float(c))
            step = grid[1] / grid[0]
            grid = best[3] * np.geomspace(1.0 / step, step, 21)
        _, a, b, c = best
        n = self.n

        def curve(x: NDArray[np.float64]) -> NDArray[np.float64]:
            return np.asarray(a + b * np.clip(1.0 - x / n, 0.0, 1.0) ** c, dtype=np.float64)

        self._cache[key] = curve
        return curve

    def scaled(self, factor: float, base: float | None) -> Evidence:
        """The same evidence with every value multiplied by ``factor`` (a change of unit)."""

        def sc(p: EvidencePoints) -> EvidencePoints:
            m2 = None if p.m2 is None else p.m2 * factor**2
            return EvidencePoints(p.x, p.y * factor, p.se * factor, p.count, m2)

        return Evidence(
            self.n,
            (sc(self.halves[0]), sc(self.halves[1])),
            sc(self.pooled),
            extrapolate=self.extrapolate,
            base=base,
            source=self.source,
            samples=self.samples,
        )


#: Smoothing strengths (log10 of the penalty in units of the mean weight per node).
_RHO_GRID = np.arange(-1.0, 9.0, 1.0)


def _locate(
    x: NDArray[np.float64], nodes: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Left node index ``k`` and weight ``t`` of ``x`` between ``nodes[k]`` and ``nodes[k+1]``."""
    xc = np.clip(x, nodes[0], nodes[-1])
    k = np.clip(np.searchsorted(nodes, xc, side="right") - 1, 0, nodes.size - 2)
    t = (xc - nodes[k]) / (nodes[k + 1] - nodes[k])
    return k.astype(np.int64), t


class _System:
    """The banded normal equations of the penalised fit of some points on the nodes."""

    def __init__(self, pts: EvidencePoints, nodes: NDArray[np.float64]) -> None:
        size = nodes.size
        self.size = size
        self.k, self.v = _locate(pts.x, nodes)
        self.u = 1.0 - self.v
        self.w = 1.0 / pts.se**2
        k, u, v, w = self.k, self.u, self.v, self.w
        d0 = np.bincount(k, w * u * u, size) + np.bincount(k + 1, w * v * v, size)
        d1 = np.bincount(k, w * u * v, size)[: size - 1]
        self.bands = (d0, d1, np.zeros(max(size - 2, 0)))
        self.aty = np.bincount(k, w * u * pts.y, size) + np.bincount(k + 1, w * v * pts.y, size)
        self.scale = float(d0.sum()) / size
        # second differences (1, -2, 1) on rows r = 0..size-3: D'D as three bands
        rows = np.arange(max(size - 2, 0))
        p0 = (np.bincount(rows, minlength=size) + 4.0 * np.bincount(rows + 1, minlength=size)
              + np.bincount(rows + 2, minlength=size)).astype(np.float64)
        p1 = -2.0 * (np.bincount(rows, minlength=size) + np.bincount(rows + 1, minlength=size))
        p2 = np.bincount(rows, minlength=size).astype(np.float64)
        self.penalty = (p0, p1[: size - 1].astype(np.float64), p2[: max(size - 2, 0)])

    def at_dense(self) -> NDArray[np.float64]:
        """``A'`` as a dense (nodes x points) array (two entries per column)."""
        out = np.zeros((self.size, self.k.size))
        cols = np.arange(self.k.size)
        out[self.k, cols] += self.u
        out[self.k + 1, cols] += self.v
        return out

    def apply(self, z: NDArray[np.float64]) -> NDArray[np.float64]:
        """``A z``: node values interpolated at the points."""
        return np.asarray(self.u * z[self.k] + self.v * z[self.k + 1], dtype=np.float64)


def _banded_solve(
    bands: list[NDArray[np.float64]], rhs: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Solve ``M x = rhs`` for symmetric positive definite ``M`` of bandwidth 2.

    ``bands`` = (diagonal, first and second sub-diagonals). Cholesky ``M = L L'`` row by row,
    then two substitutions, vectorised over the columns of ``rhs``.
    """
    d0, d1, d2 = (np.asarray(b, dtype=np.float64) for b in bands)
    size = d0.size
    diag = np.empty(size)
    sub1 = np.zeros(size)  # L[i, i-1]
    sub2 = np.zeros(size)  # L[i, i-2]
    for i in range(size):
        if i >= 2:
            sub2[i] = d2[i - 2] / diag[i - 2]
        if i >= 1:
            sub1[i] = (d1[i - 1] - sub2[i] * sub1[i - 1]) / diag[i - 1]
        piv = d0[i] - sub1[i] ** 2 - sub2[i] ** 2
        # rounding can leave a tiny or negative pivot when the weights span many decades: treat
        # it as a ridge of 1e-12 relative to the diagonal entry
        diag[i] = math.sqrt(max(piv, 1e-12 * abs(float(d0[i])), 1e-300))
    y = np.array(rhs, dtype=np.float64, copy=True)
    for i in range(size):
        if i >= 1:
            y[i] -= sub1[i] * y[i - 1]
        if i >= 2:
            y[i] -= sub2[i] * y[i - 2]
        y[i] /= diag[i]
    for i in range(size - 1, -1, -1):
        if i + 1 < size:
            y[i] -= sub1[i + 1] * y[i + 1]
        if i + 2 < size:
            y[i] -= sub2[i + 2] * y[i + 2]
        y[i] /= diag[i]
    return y


def _end_slope(pts: EvidencePoints, sel: NDArray[np.bool_]) -> float:
    """Weighted least-squares slope of the selected points (at least the two nearest the end)."""
    if pts.size < 2:
        return 0.0
    idx = np.nonzero(sel)[0]
    if idx.size < 2:
        idx = np.arange(2) if sel[0] else np.arange(pts.size - 2, pts.size)
    x, y, w = pts.x[idx], pts.y[idx], 1.0 / pts.se[idx] ** 2
    mx, my = float(w @ x) / float(w.sum()), float(w @ y) / float(w.sum())
    vx = float(w @ (x - mx) ** 2)
    slope = float(w @ ((x - mx) * (y - my))) / vx if vx > 0 else 0.0
    return min(slope, 0.0)  # h is non-increasing: never extend upwards
