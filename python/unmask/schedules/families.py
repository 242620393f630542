"""Schedule families: the step sizes samplers use, and the ones the theory suggests.

Every family returns a :class:`unmask.Schedule` (a composition of ``n``: per-step *unmasked*
counts), except :func:`randomized`, which returns a :class:`unmask.CompositionLaw`.

* :func:`constant`: even split, remainder to the first steps (LLaDA).
* :func:`from_curve`: a masking curve ``alpha(t)`` (fraction *unmasked* at sampling time
  ``t``, ``alpha(0) = 0``, ``alpha(1) = 1``) on a time grid, turned into integer counts by the
  rounding rule of :func:`from_alpha_values`; named curves in :data:`CURVES`.
* :func:`geometric_unmasked` (the DTC schedule) and :func:`geometric_masked` (the TC schedule)
  of theory section 6.
* :func:`sqrt_rule`: the continuum optimum of section 6 from a profile.
* :func:`randomized`: randomized step sizes (our own construction, see its docstring).
* :func:`optimal`: the exact optimum (delegates to
  :func:`unmask.schedules.solver.optimal_schedule`).
* :func:`get`: pick any of them by name (used by the CLI).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask.schedules.schedule import BernoulliSizes, CompositionLaw, Schedule

__all__ = [
    "CURVES",
    "FAMILIES",
    "alpha_grid",
    "bernoulli",
    "constant",
    "from_alpha_values",
    "from_curve",
    "geometric_masked",
    "geometric_unmasked",
    "get",
    "optimal",
    "randomized",
    "randomized_draw",
    "sqrt_rule",
    "two_sided_geometric",
]

FloatArray = NDArray[np.float64]


# -- validation helpers ---------------------------------------------------------------------------
#: Bytes per step budgeted before building a schedule: the Schedule's tuple of Python ints plus
#: the few float64 / int64 work arrays of length K + 1 the families use.
_BYTES_PER_STEP = 128.0


def _check_schedule_memory(steps: int, what: str) -> None:
    """Refuse, before allocating, a schedule with more steps than memory holds."""
    from unmask._validation import check_memory

    check_memory(_BYTES_PER_STEP * (float(steps) + 1.0), f"{what} with {steps} steps")


def _check_n_steps(n: Any, steps: Any) -> tuple[int, int]:
    for name, v in (("n", n), ("steps", steps)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{name} must be an integer, got {type(v).__name__}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if steps > n:
        raise ValueError(f"steps = {steps} > n = {n}: every step must unmask at least one token")
    _check_schedule_memory(int(steps), "a schedule")
    return int(n), int(steps)


def _profile_arg(profile: Any) -> Any:
    from unmask.profiles.inputs import as_profile

    return as_profile(profile)


def _repair_cumulative(cum: NDArray[np.int64], n: int) -> NDArray[np.int64]:
    """Smallest change making ``0 = c_0 < c_1 < ... < c_K = n`` strictly increasing.

    A forward pass lifts each count to at least one more than the previous one, a backward pass
    caps it at one less than the next; entries already strictly increasing are unchanged.
    """
    c: NDArray[np.int64] = np.array(cum, dtype=np.int64, copy=True)
    k = c.size - 1
    c[0], c[-1] = 0, n
    for j in range(1, k + 1):
        c[j] = max(c[j], c[j - 1] + 1)
    c[-1] = n
    for j in range(k - 1, 0, -1):
        c[j] = min(c[j], c[j + 1] - 1)
    return c


# -- constant -------------------------------------------------------------------------------------
def constant(n: int, steps: int) -> Schedule:
    """Even split of ``n`` tokens into ``steps`` steps, remainder to the first steps (LLaDA).

    Parameters
    ----------
    n : int
        Sequence length.
    steps : int
        Number of steps ``K``, ``1 <= K <= n``.

    Returns
    -------
    Schedule
        Per-step unmasked counts ``n // K + 1`` for the first ``n % K`` steps, ``n // K`` after.

    Raises
    ------
    ValueError
        If ``steps < 1`` or ``steps > n``.

    Notes
    -----
    Same counts as LLaDA's ``get_num_transfer_tokens`` (``masked // steps``, remainder added to
    the first steps).

    Examples
    --------
    >>> constant(10, 4).sizes
    (3, 3, 2, 2)
    """
    n, steps = _check_n_steps(n, steps)
    return Schedule.constant(n, steps)


# -- masking curves -------------------------------------------------------------------------------
def _curve_linear(u: FloatArray) -> FloatArray:
    return u


def _curve_cosine(u: FloatArray) -> FloatArray:
    return 1.0 - np.cos(0.5 * math.pi * u)


def _curve_loglinear(u: FloatArray, eps: float = 1e-3) -> FloatArray:
    if not 0.0 <= eps < 1.0:
        raise ValueError(f"loglinear eps must lie in [0, 1), got {eps}")
    # MDLM: unmasked fraction exp(-sigma(t)) = 1 - (1 - eps) t with t = 1 - u; normalised to
    # [0, 1] it is exactly u (returned as such so that counts match "linear" even at ties)
    return np.array(u, dtype=np.float64, copy=True)


def _curve_power(u: FloatArray, exponent: float = 2.0) -> FloatArray:
    if not (math.isfinite(exponent) and exponent > 0):
        raise ValueError(f"power exponent must be a positive number, got {exponent}")
    return 1.0 - (1.0 - u) ** exponent


def _curve_geometric(u: FloatArray, sigma_min: float = 1e-4, sigma_max: float = 20.0) -> FloatArray:
    if not (0 < sigma_min < sigma_max and math.isfinite(sigma_max)):
        raise ValueError(f"need 0 < sigma_min < sigma_max, got {sigma_min}, {sigma_max}")
    t = 1.0 - u
    sigma = sigma_min ** (1.0 - t) * sigma_max**t
    lo, hi = math.exp(-sigma_max), math.exp(-sigma_min)
    return (np.exp(-sigma) - lo) / (hi - lo)


#: Named masking curves ``alpha(u)``: fraction of tokens *unmasked* at sampling progress ``u``
#: (``u = 0``: all masked, ``u = 1``: all unmasked). Extra keyword parameters in parentheses.
CURVES: dict[str, Callable[..., FloatArray]] = {
    "linear": _curve_linear,
    "cosine": _curve_cosine,
    "loglinear": _curve_loglinear,
    "power": _curve_power,
    "polynomial": _curve_power,
    "geometric": _curve_geometric,
}


def _uniform_or_checked_grid(grid: Any, steps: int) -> FloatArray:
    if grid is None:
        return np.linspace(0.0, 1.0, steps + 1)
    g = np.asarray(grid, dtype=np.float64)
    if g.ndim != 1 or g.size != steps + 1:
        raise ValueError(f"time grid must be 1-d of length steps + 1 = {steps + 1}, got {g.shape}")
    if not np.all(np.isfinite(g)):
        raise ValueError("time grid contains NaN or infinite values")
    if g[0] != 0.0 or g[-1] != 1.0:
        raise ValueError(f"time grid must start at 0 and end at 1, got {g[0]} and {g[-1]}")
    if np.any(np.diff(g) <= 0):
        raise ValueError("time grid must be strictly increasing")
    return g


def alpha_grid(
    curve: str | Callable[[FloatArray], Any], steps: int, *, grid: Any = None, **params: Any
) -> FloatArray:
    """Values of a masking curve on a sampling grid: ``alpha(t_0), ..., alpha(t_K)``.

    Parameters
    ----------
    curve : str or callable
        A name from :data:`CURVES` or a vectorised function ``alpha(u)`` giving the fraction of
        tokens *unmasked* at sampling progress ``u`` in [0, 1].
    steps : int
        Number of steps ``K``.
    grid : array_like, optional
        ``0 = t_0 < t_1 < ... < t_K = 1``; default uniform.
    **params
        Curve parameters (``eps`` for loglinear, ``exponent`` for power, ``sigma_min`` and
        ``sigma_max`` for geometric).

    Returns
    -------
    numpy.ndarray
        Length ``K + 1``, cumulative unmasked *fractions* (not counts), validated to be finite,
        non-decreasing, in [0, 1], starting at 0 and ending at 1 (tolerance 1e-9, then snapped).

    Raises
    ------
    ValueError
        Unknown curve name, bad grid, or a curve that is not a valid unmasked fraction.
    MemoryError
        Before allocating, when ``K + 1`` grid values cannot fit in memory.

    Examples
    --------
    >>> alpha_grid("linear", 4).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    _check_schedule_memory(int(steps), "a masking-curve grid")
    t = _uniform_or_checked_grid(grid, int(steps))
    if isinstance(curve, str):
        if curve not in CURVES:
            raise ValueError(f"unknown masking curve {curve!r}; known: {sorted(CURVES)}")
        fn = CURVES[curve]
        import inspect

        known = [name for name in inspect.signature(fn).parameters if name != "u"]
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise TypeError(
                f"masking curve {curve!r} takes "
                + (f"the parameters {known}" if known else "no parameters")
                + f", got {unknown}"
            )
        for key, value in params.items():
            if isinstance(value, (bool, np.bool_)) or not isinstance(
                value, (int, float, np.integer, np.floating)
            ):
                raise TypeError(
                    f"masking curve parameter {key} must be a real number, got {value!r}"
                )
        values = fn(t, **{k: float(v) for k, v in params.items()})
    else:
        if params:
            raise TypeError("curve parameters are only accepted with a named curve")
        values = curve(t)
    return _check_alpha_values(values, int(steps) + 1)


def _check_alpha_values(values: Any, length: int | None = None) -> FloatArray:
    raw = np.asarray(values)
    if raw.dtype == np.bool_ or not (
        np.issubdtype(raw.dtype, np.floating) or np.issubdtype(raw.dtype, np.integer)
    ):
        raise TypeError(f"alpha values must be real numbers, got dtype {raw.dtype}")
    a = np.array(raw, dtype=np.float64, copy=True)
    if a.ndim != 1 or a.size < 2:
        raise ValueError(f"alpha values must be 1-d of length K + 1 >= 2, got shape {a.shape}")
    if length is not None and a.size != length:
        raise ValueError(f"alpha values must have length {length}, got {a.size}")
    if not np.all(np.isfinite(a)):
        raise ValueError("alpha values contain NaN or infinite values")
    tol = 1e-9
    if abs(a[0]) > tol or abs(a[-1] - 1.0) > tol:
        raise ValueError(f"alpha (unmasked fraction) must go from 0 to 1, got {a[0]} to {a[-1]}")
    if np.any(np.diff(a) < -tol):
        raise ValueError("alpha (unmasked fraction) must be non-decreasing")
    a = np.clip(a, 0.0, 1.0)
    a[0], a[-1] = 0.0, 1.0
    return np.maximum.accumulate(a)


def from_alpha_values(alpha: Any, n: int, *, exact_steps: bool = True) -> Schedule:
    """Integer schedule from unmasked fractions ``alpha_0 = 0 <= ... <= alpha_K = 1``.

    Parameters
    ----------
    alpha : array_like
        Cumulative unmasked *fractions* after each grid step (length ``K + 1``).
    n : int
        Sequence length.
    exact_steps : bool, default True
        Keep exactly ``K`` steps (needs ``K <= n``); otherwise steps that round to zero tokens are
        dropped (dllm's convention) and fewer steps may result.

    Returns
    -------
    Schedule
        Per-step unmasked counts.

    Raises
    ------
    ValueError
        Invalid ``alpha`` (see :func:`alpha_grid`), or ``K > n`` with ``exact_steps``.
    TypeError
        ``alpha`` not real numbers (bool, str).

    Notes
    -----
    Rounding rule: cumulative unmasked counts ``c_k = floor(n alpha_k + 1/2)`` (nearest integer,
    halves up), so the per-step counts never drift from the curve by more than one token and sum
    to ``n`` exactly. With ``exact_steps`` a zero-size step is then *merged forward*: a forward
    pass sets ``c_k = max(c_k, c_{k-1} + 1)`` and a backward pass ``c_k = min(c_k, c_{k+1} - 1)``
    (``c_K = n``), the smallest change giving ``K`` steps of at least one token; curves whose
    rounded counts are already strictly increasing are unchanged.

    Examples
    --------
    >>> from_alpha_values([0.0, 0.5, 1.0], 5).sizes
    (3, 2)
    >>> from_alpha_values([0.0, 0.01, 1.0], 5).sizes  # a zero-size first step is lifted to one
    (1, 4)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    a = _check_alpha_values(alpha)
    k = a.size - 1
    cum = np.floor(n * a + 0.5).astype(np.int64)
    cum = np.maximum.accumulate(np.clip(cum, 0, n))
    cum[0], cum[-1] = 0, n
    if exact_steps:
        if k > n:
            raise ValueError(f"{k} steps > n = {n}: pass exact_steps=False to drop empty steps")
        cum = _repair_cumulative(cum, int(n))
    return Schedule.from_counts(np.diff(cum), n=int(n), drop_zeros=True)


def from_curve(
    curve: str | Callable[[FloatArray], Any],
    n: int,
    steps: int,
    *,
    grid: Any = None,
    exact_steps: bool = True,
    **params: Any,
) -> Schedule:
    """Schedule from a masking curve ``alpha(t)`` on a time grid.

    Parameters
    ----------
    curve : str or callable
        ``"linear"`` (``u``), ``"cosine"`` (``1 - cos(pi u / 2)``, MaskGIT / MD4),
        ``"loglinear"`` (MDLM's log-linear noise ``sigma(t) = -log(1 - (1 - eps) t)``; its
        unmasked fraction is affine in time, so after normalisation to [0, 1] it coincides with
        linear; the name is kept for MDLM users), ``"power"`` / ``"polynomial"``
        (``1 - (1 - u)^exponent``, MD4's polyK read in sampling progress), ``"geometric"`` (MDLM's
        ``sigma(t) = sigma_min^(1-t) sigma_max^t``, unmasked fraction ``exp(-sigma)`` normalised
        to [0, 1]), or a vectorised callable. ``alpha`` is the fraction *unmasked*, ``u`` the
        sampling progress (0 = all masked).
    n : int
        Sequence length.
    steps : int
        Number of grid steps ``K``.
    grid : array_like, optional
        Time grid ``0 = t_0 < ... < t_K = 1``; uniform by default.
    exact_steps : bool, default True
        See :func:`from_alpha_values` (the rounding rule is stated there).
    **params
        Curve parameters.

    Returns
    -------
    Schedule
        Per-step unmasked counts, ``K`` steps when ``exact_steps``.

    Raises
    ------
    ValueError
        ``steps < 1``, ``steps > n`` (with ``exact_steps``), a bad grid, or a bad curve.

    Notes
    -----
    Shapes (uniform grid): linear is constant up to rounding; cosine is *back-loaded* in
    unmasked tokens (sizes non-decreasing: few tokens first while the remaining-mask ratio
    ``cos(pi u / 2)`` stays near 1, as in MaskGIT); power with exponent > 1 is front-loaded (sizes
    non-increasing); geometric reveals most tokens early in sampling time. Step ``k`` reveals
    about ``n (alpha(t_k) - alpha(t_{k-1}))`` tokens (theory section 1).

    Examples
    --------
    >>> from_curve("cosine", 100, 4).sizes
    (8, 21, 33, 38)
    >>> from_curve("power", 100, 4, exponent=2.0).sizes
    (44, 31, 19, 6)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if exact_steps and steps > n:
        raise ValueError(f"steps = {steps} > n = {n}: every step must unmask at least one token")
    a = alpha_grid(curve, int(steps), grid=grid, **params)
    return from_alpha_values(a, int(n), exact_steps=exact_steps)


def bernoulli(
    curve: str | Callable[[FloatArray], Any], n: int, steps: int, *, grid: Any = None, **params: Any
) -> BernoulliSizes:
    """Build the MDLM / MD4 random-size sampler of a masking curve (Binomial counts).

    Parameters
    ----------
    curve, steps, grid, **params
        As in :func:`from_curve`.
    n : int
        Sequence length.

    Returns
    -------
    BernoulliSizes
        Each still-masked token is revealed at step ``k`` with probability
        ``(alpha_k - alpha_{k-1}) / (1 - alpha_{k-1})``; usable with :func:`unmask.expected_kl`.

    Examples
    --------
    >>> bernoulli("linear", 8, 4).betas.tolist()
    [0.25, 0.3333333333333333, 0.5, 1.0]
    """
    return BernoulliSizes(alpha_grid(curve, steps, grid=grid, **params), n)


# -- geometric (TC / DTC) schedules ---------------------------------------------------------------
def _greedy(n: int, allowance: Callable[[int], int], cap: int) -> list[int] | None:
    """Largest allowed step from each start; None as soon as more than ``cap`` steps."""
    sizes: list[int] = []
    i = 0
    while i < n:
        if len(sizes) >= cap:
            return None
        s = max(1, min(n - i, allowance(i)))
        sizes.append(s)
        i += s
    return sizes


def _split_to(sizes: list[int], steps: int) -> list[int]:
    """Split the largest step in two (first half the larger) until there are ``steps`` steps.

    Splitting keeps every TC / DTC / two-sided step condition valid (the pieces start no earlier
    and are no larger than the step they come from).
    """
    out = list(sizes)
    while len(out) < steps:
        j = max(range(len(out)), key=lambda r: (out[r], -r))
        s = out[j]
        out[j : j + 1] = [s - s // 2, s // 2]
    return out


def _at(reach: Callable[[int, float], int], eps: float) -> Callable[[int], int]:
    return lambda i: reach(i, eps)


def _geometric(
    n: int, steps: int | None, eps: float | None, reach: Callable[[int, float], int], what: str
) -> Schedule:
    if (steps is None) == (eps is None):
        raise ValueError(f"{what}: give exactly one of steps or eps")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    n = int(n)
    if eps is not None:
        if isinstance(eps, bool) or not isinstance(eps, (int, float, np.integer, np.floating)):
            raise TypeError(f"eps must be a real number, got {type(eps).__name__}")
        if not (math.isfinite(eps) and eps >= 0):
            raise ValueError(f"eps must be a finite number >= 0, got {eps}")
        e = float(eps)
        # Every greedy step multiplies the unmasked count + 1 (DTC) or shrinks the masked count
        # - 1 (TC) by at least 1 + eps, so K <= 4 + 2 log(n + 1) / log(1 + eps) for all three
        # conditions (and K <= n); refuse before the loop what memory cannot hold.
        bound = 4.0 + 2.0 * math.log(n + 1.0) / math.log1p(e) if e > 0.0 else math.inf
        most = n if bound >= n else math.ceil(bound)
        _check_schedule_memory(most, f"the {what} for n={n}, eps={e:g}")
        sizes = _greedy(n, _at(reach, e), n)
        assert sizes is not None
        return Schedule(sizes)
    assert steps is not None
    n, k = _check_n_steps(n, steps)
    if k == n:
        return Schedule([1] * n)
    # eps = 0 gives n steps and eps = n one step for every condition; the greedy step count
    # is non-increasing in eps, so bisect for the smallest eps needing at most k steps
    lo, hi = 0.0, float(n)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if _greedy(n, _at(reach, mid), k) is None:
            lo = mid
        else:
            hi = mid
    sizes = _greedy(n, _at(reach, hi), k)
    assert sizes is not None
    return Schedule(_split_to(sizes, k))


def geometric_unmasked(n: int, steps: int | None = None, *, eps: float | None = None) -> Schedule:
    """Build the DTC schedule: steps small relative to what is *unmasked* (sizes grow).

    Parameters
    ----------
    n : int
        Sequence length.
    steps : int, optional
        Exact number of steps ``K`` (the smallest ``eps`` that needs at most ``K`` steps is
        found by bisection, then the largest steps are halved until there are exactly ``K``).
    eps : float, optional
        Tolerance; give exactly one of ``steps`` and ``eps``.

    Returns
    -------
    Schedule
        Greedy largest steps with ``s_k - 1 <= eps (i_k + 1)``.

    Raises
    ------
    ValueError
        Neither or both of ``steps`` / ``eps``; ``steps`` outside ``1..n``; negative, NaN or
        infinite ``eps``.
    TypeError
        ``eps`` not a real number (a bool or str).
    MemoryError
        Before building, when the schedule cannot fit in memory (huge ``n`` with tiny ``eps``).

    Notes
    -----
    Chen-Cong-Li (theory section 6): the condition gives ``w(l) <= eps (l + 1)`` for every
    ``l``, hence ``E KL <= eps DTC`` for every law; the unmasked count grows geometrically
    (factor about ``1 + eps``), so about ``log(n) / eps`` steps. The guarantee the result
    actually carries is :func:`unmask.bounds.dtc_eps` of it.

    Examples
    --------
    >>> geometric_unmasked(20, eps=0.5).sizes
    (1, 2, 3, 4, 6, 4)
    >>> geometric_unmasked(20, 4).steps
    4
    """
    return _geometric(n, steps, eps, lambda i, e: 1 + math.floor(e * (i + 1)), "DTC schedule")


def geometric_masked(n: int, steps: int | None = None, *, eps: float | None = None) -> Schedule:
    """Build the TC schedule: steps small relative to what stays *masked* (sizes shrink).

    Parameters
    ----------
    n : int
        Sequence length.
    steps : int, optional
        Exact number of steps ``K`` (found as in :func:`geometric_unmasked`).
    eps : float, optional
        Tolerance; give exactly one of ``steps`` and ``eps``.

    Returns
    -------
    Schedule
        Greedy largest steps with ``s_k - 1 <= eps (n - 1 - i_k)``.

    Raises
    ------
    ValueError
        Neither or both of ``steps`` / ``eps``; ``steps`` outside ``1..n``; negative, NaN or
        infinite ``eps``.
    TypeError
        ``eps`` not a real number (a bool or str).
    MemoryError
        Before building, when the schedule cannot fit in memory (huge ``n`` with tiny ``eps``).

    Notes
    -----
    Chen-Cong-Li (theory section 6). ``w(l) / (n - 1 - l)`` is largest at the first index of a
    step, so the condition is exactly ``w(l) <= eps (n - 1 - l)``, hence ``E KL <= eps TC``
    (slightly weaker than the section's ``s_k - 1 <= eps (n - i_k - s_k)``, same guarantee). The
    masked count shrinks geometrically, so about ``log(n) / eps`` steps.

    Examples
    --------
    >>> geometric_masked(20, eps=0.5).sizes
    (10, 5, 3, 1, 1)
    """
    return _geometric(
        n,
        steps,
        eps,
        lambda i, e: 1 + math.floor(e * (n - 1 - i)),
        "TC schedule",
    )


def two_sided_geometric(n: int, steps: int | None = None, *, eps: float | None = None) -> Schedule:
    """Build steps small relative to *both* the unmasked and the masked counts.

    Parameters
    ----------
    n : int
        Sequence length.
    steps : int, optional
        Exact number of steps.
    eps : float, optional
        Tolerance; give exactly one of ``steps`` and ``eps``.

    Returns
    -------
    Schedule
        Greedy largest steps with ``s_k - 1 <= eps min(i_k + 1, n - 1 - i_k)``.

    Raises
    ------
    ValueError
        As :func:`geometric_unmasked`.

    Notes
    -----
    Satisfies both conditions of section 6 at once, hence ``E KL <= eps min(TC, DTC)`` without
    knowing which is smaller (about ``2 log(n) / eps`` steps). Our construction, used as the
    base of :func:`randomized`.

    Examples
    --------
    >>> two_sided_geometric(20, eps=0.5).sizes
    (1, 2, 3, 4, 5, 3, 1, 1)
    """
    return _geometric(
        n,
        steps,
        eps,
        lambda i, e: 1 + math.floor(e * min(i + 1, n - 1 - i)),
        "two-sided schedule",
    )


# -- square-root rule -----------------------------------------------------------------------------
def sqrt_rule(profile: Any, steps: int, *, unit_floor: bool = True) -> Schedule:
    """Build the continuum-optimal schedule: sizes proportional to ``f^(-1/2)``.

    Parameters
    ----------
    profile : Profile or array_like
        The profile (or its ``h`` curve); a non-monotone ``h`` has negative ``f`` values, which
        are clipped to 0 here.
    steps : int
        Number of steps ``K``, ``1 <= K <= n``.
    unit_floor : bool, default True
        Respect that a step has at least one token: where the rule asks for steps smaller than
        one token, spend exactly one step per token and share the remaining steps by the rule
        (water-filling). ``False`` gives the plain rule of theory section 6.

    Returns
    -------
    Schedule
        Exactly ``K`` steps.

    Raises
    ------
    ValueError
        ``steps`` outside ``1..n`` or an invalid ``h``.

    Notes
    -----
    Theory section 6 (continuum prediction): step density ``rho(l) = sqrt(f(l)) / c`` per token
    (``c`` such that the densities sum to ``K``); with ``unit_floor`` the density is
    ``min(1, sqrt(f(l)) / c)``, ``c`` found by bisection. With ``N(x)`` the piecewise-linear
    cumulative density (``N(0) = 0``; token ``n - 1`` has no ``f`` and gets density 0),
    boundary ``k`` is the first ``x`` with ``N(x) = (k / K) N(n)``, rounded to the nearest
    integer (halves up); then the one-token repair of :func:`from_alpha_values` makes every step
    at least one token. When ``f = 0`` everywhere (no dependence) the constant schedule is
    returned. For ``n >> K`` with ``f`` smooth on the scale of a step its cost approaches the
    predicted optimum ``(sum sqrt f)^2 / (2K) - (1/2) sum f``.

    Examples
    --------
    >>> import unmask
    >>> prof = unmask.Profile.from_f(1.0 / np.arange(1, 100) ** 2)
    >>> sqrt_rule(prof, 4).sizes
    (2, 5, 20, 73)
    """
    prof = _profile_arg(profile)
    n, k = _check_n_steps(prof.n, steps)
    root = np.sqrt(np.clip(prof.f, 0.0, None))
    total = math.fsum(root.tolist())
    if n == 1 or total <= 0.0:
        return Schedule.constant(n, k)
    density = root / total * k
    if unit_floor and float(density.max()) > 1.0:
        positive = int(np.count_nonzero(root > 0))
        if positive <= k:
            density = (root > 0).astype(np.float64)
        else:  # sum(min(1, root / c)) = k, decreasing in c on (0, max root]
            lo, hi = 0.0, float(root.max())
            for _ in range(100):
                mid = 0.5 * (lo + hi)
                if float(np.minimum(1.0, root / mid).sum()) > k:
                    lo = mid
                else:
                    hi = mid
            density = np.minimum(1.0, root / hi)
    N = np.concatenate([[0.0], np.cumsum(density), [0.0]])  # N(0..n-1), then N(n)
    N[-1] = N[-2]
    N = N / N[-1]
    x = np.arange(n + 1, dtype=np.float64)
    targets = np.arange(k + 1) / k
    # first crossing: interpolate on the strictly increasing part of N
    keep = np.concatenate([[True], np.diff(N) > 0])
    pos = np.interp(targets, N[keep], x[keep])
    cum = np.floor(pos + 0.5).astype(np.int64)
    cum = np.maximum.accumulate(np.clip(cum, 0, n))
    return Schedule.from_cumulative(_repair_cumulative(cum, n)[1:], n=n)


# -- randomized -----------------------------------------------------------------------------------
def _two_sided_quantiles(n: int, u: FloatArray) -> FloatArray:
    """Quantiles ``x(u)`` of the density ``1 / min(x + 1, n - x + 1)`` on ``[0, n]`` (closed form).

    Its CDF is ``log(x + 1) / (2 L)`` for ``x <= n/2`` and ``1 - log(n - x + 1) / (2 L)`` above,
    with ``L = log(n/2 + 1)``; the inverse is therefore ``expm1(2 L u)`` for ``u <= 1/2`` and
    ``n - expm1(2 L (1 - u))`` above. O(len(u)) time and memory, whatever ``n``.
    """
    half = math.log1p(0.5 * n)
    lower = np.expm1(2.0 * half * np.minimum(u, 0.5))
    upper = float(n) - np.expm1(2.0 * half * (1.0 - np.maximum(u, 0.5)))
    return np.where(u <= 0.5, lower, upper)


def _phase_schedule(n: int, steps: int, phase: float) -> Schedule:
    if steps == 1:
        return Schedule([n])
    u = (np.arange(1, steps) - 1 + phase) / (steps - 1)
    cuts = _two_sided_quantiles(n, u)
    cum = np.concatenate([[0], np.floor(cuts + 0.5).astype(np.int64), [n]])
    cum = np.maximum.accumulate(np.clip(cum, 0, n))
    return Schedule.from_cumulative(_repair_cumulative(cum, n)[1:], n=n)


#: Largest ``phases * steps`` :func:`randomized` builds (about 10 s of work).
MAX_PHASE_WORK = 2e7


def randomized(
    n: int, steps: int, *, phases: int = 16, progress: Any = None
) -> CompositionLaw:
    """Randomized step sizes: a random-phase two-sided geometric schedule (a law).

    Parameters
    ----------
    n : int
        Sequence length.
    steps : int
        Number of steps of every member.
    phases : int, default 16
        Number of equally spaced phases ``theta_r = (r + 1/2) / phases``, each with weight
        ``1 / phases`` (identical schedules are merged). The work is ``phases * steps``;
        above :data:`MAX_PHASE_WORK` (2e7) it is refused with the estimate.
    progress : callable, optional
        ``progress(done, total)`` over the phases (see :mod:`unmask._progress`).

    Returns
    -------
    CompositionLaw
        A law over compositions of ``n`` with exactly ``steps`` steps; use it with
        :func:`unmask.expected_kl` (expectation over the sizes).

    Raises
    ------
    ValueError
        ``steps`` outside ``1..n``, ``phases < 1``, or ``phases * steps`` above
        :data:`MAX_PHASE_WORK`.

    Notes
    -----
    **Not the published construction.** Zhao & Cai (arXiv 2602.20126) randomize the step sizes
    and prove ``O~(TC/K)`` and ``O~(DTC/K)``; their exact construction was not at hand, so this
    is our own distribution-agnostic randomized schedule: cut points at the quantiles
    ``(k - 1 + theta) / (K - 1)``, ``k = 1..K-1``, of the density ``1 / min(x + 1, n - x + 1)``
    on ``[0, n]`` (steps small near both ends, so every member is small relative to both the
    masked and the unmasked count; quantiles in closed form, ``expm1(2 L u)`` for ``u <= 1/2``
    and ``n - expm1(2 L (1 - u))`` above, ``L = log(1 + n/2)``, so O(K) work whatever ``n``),
    with a uniformly random phase ``theta``; rounding and the
    one-token repair as in :func:`from_alpha_values`. Guarantee claimed: only what every member
    carries, the any-schedule bounds ``E KL <= eps_TC(S) TC`` and ``E KL <= eps_DTC(S) DTC`` of
    :mod:`unmask.bounds`, averaged over the members; no ``O~(TC/K)`` constant is claimed.

    Examples
    --------
    >>> law = randomized(64, 8, phases=4)
    >>> all(s.steps == 8 and s.n == 64 for s in law.schedules)
    True
    """
    n, k = _check_n_steps(n, steps)
    if isinstance(phases, bool) or not isinstance(phases, (int, np.integer)) or phases < 1:
        raise ValueError(f"phases must be a positive integer, got {phases!r}")
    work = float(phases) * float(k)
    if work > MAX_PHASE_WORK:
        raise ValueError(
            f"randomized(n={n}, steps={k}, phases={phases}) would build phases * steps = "
            f"{work:.3g} cut points (limit {MAX_PHASE_WORK:.3g}, about 10 s); use "
            f"phases <= {int(MAX_PHASE_WORK // k)}"
        )
    from unmask._progress import Progress

    bar = Progress(progress, total=int(phases))
    counts: dict[Schedule, int] = {}
    for r in range(int(phases)):
        s = _phase_schedule(n, k, (r + 0.5) / phases)
        counts[s] = counts.get(s, 0) + 1
        bar.advance()
    bar.finish()
    scheds = list(counts)
    weights = np.array([counts[s] for s in scheds], dtype=np.float64) / phases
    return CompositionLaw(scheds, weights / weights.sum())


def randomized_draw(n: int, steps: int, seed: Any = None) -> Schedule:
    """One draw of :func:`randomized` with a continuous uniform phase (seeded).

    Parameters
    ----------
    n, steps : int
        As in :func:`randomized`.
    seed : int or numpy.random.Generator, optional
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    Schedule
        Exactly ``steps`` steps.

    Raises
    ------
    ValueError
        ``steps`` outside ``1..n``.

    Examples
    --------
    >>> randomized_draw(64, 8, seed=0) == randomized_draw(64, 8, seed=0)
    True
    """
    n, k = _check_n_steps(n, steps)
    theta = float(np.random.default_rng(seed).uniform(0.0, 1.0))
    return _phase_schedule(n, k, theta)


# -- optimal --------------------------------------------------------------------------------------
def optimal(profile: Any, steps: int) -> Schedule:
    """Return the exact minimiser of the section-5 expected KL with ``steps`` steps.

    Parameters
    ----------
    profile : Profile or array_like
        Profile or ``h`` curve.
    steps : int
        Number of steps.

    Returns
    -------
    Schedule
        :func:`unmask.schedules.solver.optimal_schedule` ``(profile, steps)``.

    Raises
    ------
    ImportError
        If the solver module is not available in this build.

    Notes
    -----
    Imported lazily: the solver lives in :mod:`unmask.solver` (theory section 7).

    Examples
    --------
    >>> import unmask
    >>> optimal(unmask.Profile.from_f([1.0, 0.0, 0.0]), 2).sizes
    (1, 3)
    """
    from unmask.schedules.solver import optimal_schedule  # type: ignore[import-not-found,unused-ignore]

    out = optimal_schedule(profile, steps)
    return out if isinstance(out, Schedule) else Schedule(out)


# -- registry -------------------------------------------------------------------------------------
def _n_of(profile_or_n: Any) -> int:
    if isinstance(profile_or_n, (bool, float, np.floating)):
        raise TypeError(
            f"profile_or_n must be an int n or a profile / h curve, got "
            f"{type(profile_or_n).__name__} {profile_or_n!r}"
        )
    if isinstance(profile_or_n, (int, np.integer)):
        return int(profile_or_n)
    return int(_profile_arg(profile_or_n).n)


def _need_profile(profile_or_n: Any, name: str) -> Any:
    if isinstance(profile_or_n, (int, np.integer)):
        raise ValueError(f"schedule family {name!r} needs a profile, not just n")
    return _profile_arg(profile_or_n)


FAMILIES: dict[str, str] = {
    "constant": "even split, remainder first (LLaDA)",
    "linear": "masking curve alpha(u) = u",
    "cosine": "masking curve alpha(u) = 1 - cos(pi u / 2)",
    "loglinear": "MDLM log-linear noise (same counts as linear)",
    "power": "masking curve alpha(u) = 1 - (1 - u)^exponent",
    "polynomial": "alias of power",
    "geometric": "MDLM geometric noise curve",
    "dtc": "geometric in the unmasked count (E KL <= eps DTC)",
    "tc": "geometric in the masked count (E KL <= eps TC)",
    "two-sided": "small relative to both counts (E KL <= eps min(TC, DTC))",
    "sqrt": "square-root rule from a profile (continuum optimum)",
    "randomized": "random-phase two-sided geometric law (not Zhao-Cai's construction)",
    "optimal": "exact DP optimum from a profile",
}


def get(name: str, profile_or_n: Any, steps: int, **params: Any) -> Schedule | CompositionLaw:
    """Build a schedule of any family by name (the CLI's entry point).

    Parameters
    ----------
    name : str
        A key of :data:`FAMILIES`.
    profile_or_n : int, Profile or array_like
        The sequence length, or a profile / ``h`` curve (required by ``sqrt`` and ``optimal``;
        for the others only its length is used).
    steps : int
        Number of steps.
    **params
        Family parameters (curve parameters, ``grid``, ``exact_steps``, ``phases``).

    Returns
    -------
    Schedule or CompositionLaw
        A law only for ``randomized``.

    Raises
    ------
    ValueError
        Unknown name, or a profile-based family given only ``n``.
    TypeError
        ``name`` not a str, ``profile_or_n`` a float or bool, or parameters given to a family
        that takes none here (``constant``, ``dtc``, ``tc``, ``two-sided``, ``sqrt``,
        ``optimal``).

    Examples
    --------
    >>> get("constant", 10, 3).sizes
    (4, 3, 3)
    >>> get("power", 100, 4, exponent=2.0) == from_curve("power", 100, 4, exponent=2.0)
    True
    """
    if not isinstance(name, str):
        raise TypeError(f"family name must be a str, got {type(name).__name__}")
    key = name.lower().replace("_", "-")
    if key not in FAMILIES:
        raise ValueError(f"unknown schedule family {name!r}; known: {sorted(FAMILIES)}")
    if params and key not in CURVES and key != "randomized":
        # silently ignoring e.g. eps= for "dtc" would return another schedule than asked for
        raise TypeError(
            f"schedule family {key!r} takes no parameters here, got {sorted(params)}; call "
            "the family's own function (e.g. geometric_unmasked(n, eps=...)) for its options"
        )
    if key in ("sqrt", "optimal"):
        prof = _need_profile(profile_or_n, key)
        return sqrt_rule(prof, steps) if key == "sqrt" else optimal(prof, steps)
    n = _n_of(profile_or_n)
    if key == "constant":
        return constant(n, steps)
    if key in CURVES:
        return from_curve(key, n, steps, **params)
    if key == "dtc":
        return geometric_unmasked(n, steps)
    if key == "tc":
        return geometric_masked(n, steps)
    if key == "two-sided":
        return two_sided_geometric(n, steps)
    return randomized(n, steps, **params)
