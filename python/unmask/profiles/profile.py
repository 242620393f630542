"""The entropy/information profile h(i), f(i) of a law (theory section 4)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask._validation import log_base_factor

__all__ = ["Profile"]


def _unit_name(base: float | None) -> str:
    if base is None or base == math.e:
        return "nats"
    if base == 2:
        return "bits"
    if base == 10:
        return "hartleys"
    return f"log{base:g}"


class Profile:
    """Entropy profile ``h(i)`` (length n) and information profile ``f(i)`` (length n-1).

    ``h(i) = E[H(X_j | X_A)]`` with ``A`` a uniform i-subset and ``j`` uniform outside it;
    ``f(i) = h(i) - h(i+1)``. Everything downstream (expected KL, bounds, optimal schedules)
    is a function of ``h``.

    Parameters
    ----------
    h : array_like
        The curve ``h(0), ..., h(n-1)``: real numbers (not bool, str or complex), finite,
        non-negative, with ``n * max h`` finite; ``i`` counts the variables already *unmasked*
        (known) when one more, still masked, is revealed.
    base : float, optional
        Logarithm base the values are expressed in (None: nats).
    stderr : array_like, optional
        Standard error of each ``h(i)`` when the curve is an estimate.
    lower, upper : array_like, optional
        A confidence band around ``h`` (defaults to ``h -/+ 1.96 stderr`` when ``stderr`` is given).
    source : str, optional
        Free text saying where the curve came from (shown in the repr).

    Notes
    -----
    An exact profile is non-increasing (Han's inequality); an estimated one may not be.
    :attr:`is_monotone` tells, and :meth:`monotone` returns the projection onto the
    non-increasing cone (pool adjacent violators, weighted by ``1/stderr**2`` when known).

    Raises
    ------
    TypeError
        For a non-numeric curve or base.
    ValueError
        For a curve that is not 1-d, is empty, non-finite or negative, whose ``n * max h``
        overflows float64, a base that is not a number > 1, a band of another shape or an
        inverted band (``lower > upper``).

    Examples
    --------
    >>> import unmask
    >>> p = unmask.Profile([1.0, 0.6, 0.5])  # nats
    >>> p.f.tolist(), round(p.tc, 12), round(p.dtc, 12)
    ([0.4, 0.09999999999999998], 0.9, 0.6)
    """

    __slots__ = ("_base", "_evidence", "_h", "_lower", "_source", "_stderr", "_upper")

    def __init__(
        self,
        h: Any,
        *,
        base: float | None = None,
        stderr: Any = None,
        lower: Any = None,
        upper: Any = None,
        source: str = "",
        evidence: Any = None,
    ) -> None:
        arr = _real_curve(h, "h")
        if arr.ndim != 1 or arr.size < 1:
            raise ValueError(f"h must be a 1-d array of length n >= 1, got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError("h contains NaN or infinite values")
        if not math.isfinite(float(np.max(np.abs(arr))) * arr.size):
            # n * h(0) and H(X) = sum h must stay finite: every cost, bound and DP uses them.
            raise ValueError(
                f"h is too large: n * max|h| = {arr.size} * {float(np.max(np.abs(arr))):.3g} "
                "overflows float64 (conditional entropies are at most log q per token)"
            )
        if np.any(arr < -1e-12):
            raise ValueError(f"h must be non-negative (conditional entropies); min is {arr.min()}")
        with np.errstate(over="ignore"):
            if not math.isfinite(float(np.sum(np.abs(arr)))):
                raise ValueError("h is too large: the sum of its values overflows float64")
        if base is not None:
            log_base_factor(base)  # raises for a base that is not a number > 1
        arr = np.maximum(arr, 0.0)
        arr.flags.writeable = False
        self._h = arr
        self._base = base
        self._source = "" if source is None else str(source)
        self._evidence = _checked_evidence(evidence, arr.size)
        self._stderr = self._optional_curve(stderr, "stderr", nonneg=True)
        if self._stderr is not None and lower is None and upper is None:
            lower = arr - 1.96 * self._stderr
            upper = arr + 1.96 * self._stderr
        self._lower = self._optional_curve(lower, "lower")
        self._upper = self._optional_curve(upper, "upper")
        if (
            self._lower is not None
            and self._upper is not None
            and np.any(self._lower > self._upper)
        ):
            raise ValueError("the band is inverted: lower must be <= upper everywhere")

    def _optional_curve(self, values: Any, name: str, nonneg: bool = False) -> Any:
        if values is None:
            return None
        arr = _real_curve(values, name)
        if arr.shape != self._h.shape:
            raise ValueError(f"{name} must have the shape of h {self._h.shape}, got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or infinite values")
        if nonneg and np.any(arr < 0):
            raise ValueError(f"{name} must be non-negative")
        arr.flags.writeable = False
        return arr

    # -- constructors -------------------------------------------------------------------------
    @classmethod
    def from_h(cls, h: Any, **kwargs: Any) -> Profile:
        """Build a profile from a given ``h`` curve (same as the constructor).

        The explicit form of the one rule of :func:`unmask.profiles.as_profile`: wherever a
        profile is accepted, a plain 1-d array is read exactly like ``Profile.from_h(array)``.
        """
        return cls(h, **kwargs)

    @classmethod
    def from_f(cls, f: Any, h_last: float = 0.0, **kwargs: Any) -> Profile:
        """Build a profile from ``f`` (length n-1) and the last value ``h(n-1)``.

        ``h(i) = h_last + sum_{l >= i} f(l)``.
        """
        farr = _real_curve(f, "f")
        if farr.ndim != 1:
            raise ValueError(f"f must be 1-d, got shape {farr.shape}")
        if not np.all(np.isfinite(farr)):
            raise ValueError("f contains NaN or infinite values")
        tail = np.concatenate([np.cumsum(farr[::-1])[::-1], [0.0]])
        return cls(tail + float(h_last), **kwargs)

    @classmethod
    def from_subset_entropies(cls, entropies: Any, **kwargs: Any) -> Profile:
        """Build the exact profile from all 2^n subset entropies (bitmask-indexed)."""
        ent = _real_curve(entropies, "entropies")
        size = ent.size
        n = size.bit_length() - 1
        if ent.ndim != 1 or size < 2 or (1 << n) != size:
            raise ValueError(f"expected 2^n subset entropies, got shape {ent.shape}")
        if not np.all(np.isfinite(ent)):
            raise ValueError("entropies contain NaN or infinite values")
        if abs(ent[0]) > 1e-12:
            raise ValueError(f"entry 0 is H(empty set) and must be 0, got {ent[0]!r}")
        pop = np.zeros(size, dtype=np.int64)
        for j in range(n):
            pop += (np.arange(size) >> j) & 1
        sums = np.bincount(pop, weights=ent, minlength=n + 1)
        counts = np.array([math.comb(n, k) for k in range(n + 1)], dtype=np.float64)
        avg = sums / counts  # H_k
        return cls(np.diff(avg), **kwargs)

    # -- data ---------------------------------------------------------------------------------
    @property
    def h(self) -> NDArray[np.float64]:
        """``h(i)``, i = 0..n-1 (read-only)."""
        return self._h

    @property
    def f(self) -> NDArray[np.float64]:
        """``f(i) = h(i) - h(i+1)``, i = 0..n-2."""
        return self._h[:-1] - self._h[1:]

    @property
    def n(self) -> int:
        """Sequence length."""
        return int(self._h.size)

    @property
    def base(self) -> float | None:
        """Logarithm base of the values (None: nats)."""
        return self._base

    @property
    def unit(self) -> str:
        """Name of the unit ("nats", "bits", ...)."""
        return _unit_name(self._base)

    @property
    def stderr(self) -> NDArray[np.float64] | None:
        """Standard errors of ``h`` (None for an exact profile)."""
        return self._stderr  # type: ignore[no-any-return]

    @property
    def lower(self) -> NDArray[np.float64] | None:
        """Lower edge of the confidence band of ``h`` (None when exact)."""
        return self._lower  # type: ignore[no-any-return]

    @property
    def upper(self) -> NDArray[np.float64] | None:
        """Upper edge of the confidence band of ``h`` (None when exact)."""
        return self._upper  # type: ignore[no-any-return]

    @property
    def evidence(self) -> Any:
        """The noisy evidence the curve was estimated from (None for an exact profile).

        An :class:`unmask.profiles.evidence.Evidence` (two independent halves of the
        measurements): with it :func:`unmask.optimal_schedule` chooses a schedule robustly
        (:func:`unmask.robust_schedule`, theory section 13) instead of fitting the noise.
        """
        return self._evidence

    @property
    def source(self) -> str:
        """Where the curve came from."""
        return self._source

    @property
    def cumulative(self) -> NDArray[np.float64]:
        """``C[i] = h(0) + ... + h(i-1)``, length n+1 (so ``C[n] = H(X)``)."""
        c = np.zeros(self.n + 1)
        c[1:] = np.cumsum(self._h)
        return c

    @property
    def entropy(self) -> float:
        """Joint entropy ``H(X) = sum_i h(i)``."""
        return math.fsum(self._h.tolist())

    @property
    def tc(self) -> float:
        """Total correlation ``sum_j H(X_j) - H(X) = n h(0) - H(X) = sum_i (n-1-i) f(i)``.

        Clamped at 0: a non-monotone (estimated) curve can make the formula negative.
        """
        return max(0.0, self.n * float(self._h[0]) - self.entropy)

    @property
    def dtc(self) -> float:
        """Dual total correlation ``H(X) - sum_j H(X_j | X_-j) = H(X) - n h(n-1)``.

        Equal to ``sum_i (i+1) f(i)``; clamped at 0 like :attr:`tc`.
        """
        return max(0.0, self.entropy - self.n * float(self._h[-1]))

    @property
    def mi_sum(self) -> float:
        """``sum_j I(X_j ; X_-j) = n (h(0) - h(n-1)) = n sum_i f(i)``, clamped at 0.

        Note the factor ``n``: theory section 4 states ``sum_i f(i)`` as the average
        ``(1/n) sum_j I(X_j ; X_-j)``; this is the sum.
        """
        return max(0.0, self.n * (float(self._h[0]) - float(self._h[-1])))

    @property
    def information_curve(self) -> NDArray[np.float64]:
        """Chen-Cong-Li information curve ``Z_j = h(0) - h(j-1)``, j = 1..n."""
        return float(self._h[0]) - self._h

    @property
    def is_monotone(self) -> bool:
        """Whether ``h`` is non-increasing (always true for an exact profile, up to 1e-12)."""
        scale = max(1.0, float(np.max(np.abs(self._h))))
        return bool(np.all(np.diff(self._h) <= 1e-12 * scale))

    # -- transformations ----------------------------------------------------------------------
    def monotone(self) -> Profile:
        """Projection of ``h`` onto non-increasing curves (weighted pool adjacent violators)."""
        if self.is_monotone:
            return self
        weights = None if self._stderr is None else 1.0 / np.maximum(self._stderr, 1e-12) ** 2
        proj = pava_nonincreasing(self._h, weights)
        return Profile(
            proj,
            base=self._base,
            stderr=self._stderr,
            lower=self._lower,
            upper=self._upper,
            source=(self._source + " (monotone projection)").strip(),
            evidence=self._evidence,
        )

    def in_base(self, base: float | None) -> Profile:
        """The same profile expressed in another logarithm base."""
        from_nats = log_base_factor(self._base)
        to_nats = log_base_factor(base)
        factor = from_nats / to_nats

        def scaled(a: Any) -> Any:
            return None if a is None else a * factor

        return Profile(
            self._h * factor,
            base=base,
            stderr=scaled(self._stderr),
            lower=scaled(self._lower),
            upper=scaled(self._upper),
            source=self._source,
            evidence=None if self._evidence is None else self._evidence.scaled(factor, base),
        )

    def summary(self) -> dict[str, float]:
        """The scalar summaries as a dict (``n``, an int; entropy, tc, dtc, mi_sum, h0, h_last)."""
        return {
            "n": self.n,
            "entropy": self.entropy,
            "tc": self.tc,
            "dtc": self.dtc,
            "mi_sum": self.mi_sum,
            "h0": float(self._h[0]),
            "h_last": float(self._h[-1]),
        }

    def plot(self, *, ax: Any = None, title: str | None = None) -> Any:
        """Plot ``h`` and ``f`` side by side (needs matplotlib: ``pip install 'unmask[plot]'``).

        Parameters
        ----------
        ax : pair of matplotlib Axes, optional
            Where to draw (default: a new two-panel figure).
        title : str, optional
            Figure title.

        Returns
        -------
        matplotlib.figure.Figure
            Save it with ``fig.savefig("profile.png")``.

        Raises
        ------
        ImportError
            When matplotlib is missing; the message names the ``unmask[plot]`` extra.

        Examples
        --------
        >>> import unmask
        >>> fig = unmask.profile(unmask.joints.all_equal(4)).plot(title="all-equal")
        >>> [a.get_title() for a in fig.axes][0]
        'entropy profile h'
        """
        from unmask.plotting import plot_profile

        return plot_profile(self, ax=ax, title=title)

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        # TC and DTC below 1e-12 of n max(1, H) are round-off of sums of logs: shown as 0.
        src = f", source={self._source!r}" if self._source else ""
        band = ", with band" if self._lower is not None else ""
        floor = 1e-12 * self.n * max(1.0, abs(self.entropy))

        def shown(v: float) -> str:
            return "0" if abs(v) < floor else f"{v:.6g}"

        return (
            f"Profile(n={self.n}, H={self.entropy:.6g} {self.unit}, TC={shown(self.tc)} "
            f"{self.unit}, DTC={shown(self.dtc)} {self.unit}{band}{src})"
        )


def _checked_evidence(evidence: Any, n: int) -> Any:
    if evidence is None:
        return None
    from unmask.profiles.evidence import Evidence

    if not isinstance(evidence, Evidence):
        raise TypeError(f"evidence must be an Evidence, got {type(evidence).__name__}")
    if evidence.n != n:
        raise ValueError(f"evidence is for n = {evidence.n} but h has length {n}")
    return evidence


def _real_curve(values: Any, name: str) -> NDArray[np.float64]:
    """A float64 copy of a real numeric array; TypeError naming ``name`` otherwise."""
    arr = np.array(values, copy=True)
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    return arr.astype(np.float64)


def pava_nonincreasing(y: Any, weights: Any = None) -> NDArray[np.float64]:
    """Weighted least-squares projection of ``y`` onto non-increasing sequences (PAVA)."""
    vals = np.asarray(y, dtype=np.float64)
    w = np.ones_like(vals) if weights is None else np.asarray(weights, dtype=np.float64)
    # Work on the reversed sequence, which must be non-decreasing.
    means: list[float] = []
    wts: list[float] = []
    lens: list[int] = []
    for v, wt in zip(vals[::-1].tolist(), w[::-1].tolist(), strict=True):
        means.append(v)
        wts.append(wt)
        lens.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            m2, w2, l2 = means.pop(), wts.pop(), lens.pop()
            m1, w1, l1 = means.pop(), wts.pop(), lens.pop()
            wt_sum = w1 + w2
            means.append((m1 * w1 + m2 * w2) / wt_sum)
            wts.append(wt_sum)
            lens.append(l1 + l2)
    out = np.repeat(np.array(means), np.array(lens))
    return np.ascontiguousarray(out[::-1])
