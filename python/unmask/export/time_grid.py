"""Time grids for the Bernoulli samplers MDLM, MD4 and SEDD, through their trained noise schedule.

These samplers condition the network on ``t`` and reveal each masked token independently with
probability ``(m(t) - m(s)) / m(t)``, ``m`` the masked fraction of the forward process (theory
sections 2 and 14). A schedule therefore becomes a grid of *times*: ``t_k`` with
``m(t_k) = m(1) M_k / n`` (``M_k`` tokens still masked after step ``k``), found by inverting the
model's own ``m``. Counts are then right in expectation (Binomial), never exactly; the exact
expected KL of those Binomial counts is :func:`unmask.expected_kl` of the grid's
:class:`~unmask.BernoulliSizes`, reported beside the fixed-count value.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask.schedules.schedule import BernoulliSizes, Schedule

__all__ = ["NOISES", "TimeGrid", "time_grid"]

FloatArray = NDArray[np.float64]

#: Noise schedules each sampler was trained with (a callable alpha(t) is accepted for any).
NOISES: dict[str, tuple[str, ...]] = {
    "mdlm": ("loglinear", "cosine", "linear", "geometric"),
    "sedd": ("loglinear", "geometric"),
    "md4": ("linear", "cosine", "polynomial"),
}
#: The sampler's own last grid time (MDLM / SEDD: linspace(1, eps, steps + 1); MD4 ends at 0).
SAMPLER_EPS = {"mdlm": 1e-5, "sedd": 1e-5, "md4": 0.0}
#: Default noise-schedule epsilon (MDLM / SEDD LogLinearNoise, CosineNoise: 1e-3; MD4: 1e-4).
NOISE_EPS = {"mdlm": 1e-3, "sedd": 1e-3, "md4": 1e-4}
_DEFAULT_NOISE = {"mdlm": "loglinear", "sedd": "loglinear", "md4": "cosine"}


@dataclass(frozen=True)
class TimeGrid:
    """A schedule as a time grid of a Bernoulli sampler (see :func:`time_grid`).

    Attributes
    ----------
    t : numpy.ndarray
        ``t_0 = 1 > t_1 > ... > t_K`` (length ``K + 1``), in the sampler's direction (``t = 1``
        fully masked); ``t_K`` is the sampler's own last time (its ``eps``).
    masked_fraction : numpy.ndarray
        ``m(t_k)``, the forward process's masked fraction at each grid time.
    alpha : numpy.ndarray
        The unmasked fraction in *sampling* order for :class:`~unmask.BernoulliSizes`:
        ``1 - m(t_k) / m(t_0)``, last entry 1 (the final step and the sampler's clean-up
        reveal everything).
    bernoulli : BernoulliSizes
        The law of the random counts this grid produces.
    expected_counts : numpy.ndarray
        ``n (alpha_k - alpha_{k-1})``: equals the schedule's counts up to rounding.
    expected_kl, fixed_kl : float or None
        With a profile: the exact expected KL under the Binomial counts, and under the
        schedule's fixed counts.
    argument, notes, snippet : str, tuple of str, str
        What the grid replaces, conventions, and code to paste.
    schedule : Schedule
        The exported schedule.
    options : dict
        Sampler, noise and eps values used.
    """

    t: FloatArray
    masked_fraction: FloatArray
    alpha: FloatArray
    bernoulli: BernoulliSizes
    expected_counts: FloatArray
    expected_kl: float | None
    fixed_kl: float | None
    argument: str
    notes: tuple[str, ...]
    snippet: str
    schedule: Schedule
    options: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        kl = "" if self.expected_kl is None else (
            f", expected_kl={self.expected_kl:.6g}, fixed_kl={self.fixed_kl:.6g}")
        return f"TimeGrid(n={self.schedule.n}, steps={self.schedule.steps}{kl})"


# -------------------------------------------------------------------------------------------
# Masked fraction m(t) and its inverse, per sampler and noise
# -------------------------------------------------------------------------------------------
def _closed_form(sampler: str, noise: str, ne: float, p: dict[str, float]) -> tuple[
    Callable[[FloatArray], FloatArray], Callable[[FloatArray], FloatArray]
]:
    half_pi = math.pi / 2.0
    if noise == "loglinear":  # MDLM / SEDD LogLinearNoise: sigma = -log1p(-(1 - eps) t)
        return (lambda t: (1.0 - ne) * t), (lambda m: m / (1.0 - ne))
    if noise == "geometric":  # GeometricNoise: sigma = smin^(1-t) smax^t
        lo, hi = p["sigma_min"], p["sigma_max"]
        span = math.log(hi / lo)
        return (
            (lambda t: -np.expm1(-(lo ** (1.0 - t)) * hi**t)),
            (lambda m: np.log(-np.log1p(-m) / lo) / span),
        )
    if sampler == "mdlm" and noise == "cosine":  # MDLM CosineNoise: alpha = eps + (1-eps) cos
        return (
            (lambda t: (1.0 - ne) * (1.0 - np.cos(half_pi * t))),
            (lambda m: np.arccos(1.0 - m / (1.0 - ne)) / half_pi),
        )
    if sampler == "mdlm" and noise == "linear":  # MDLM Linear: sigma = smin + t (smax - smin)
        lo, hi = p["sigma_min"], p["sigma_max"]
        return (
            (lambda t: -np.expm1(-(lo + t * (hi - lo)))),
            (lambda m: (-np.log1p(-m) - lo) / (hi - lo)),
        )
    # MD4 MaskingSchedule: alpha = (1 - 2 eps) alpha_raw(t) + eps, m = 1 - alpha
    scale = 1.0 - 2.0 * ne
    if noise == "linear":
        return (lambda t: scale * t + ne), (lambda m: (m - ne) / scale)
    if noise == "cosine":
        return (
            (lambda t: scale * np.sin(half_pi * t) + ne),
            (lambda m: np.arcsin(np.clip((m - ne) / scale, -1.0, 1.0)) / half_pi),
        )
    expo = p["exponent"]  # polynomial
    return (
        (lambda t: scale * t**expo + ne),
        (lambda m: np.power(np.maximum((m - ne) / scale, 0.0), 1.0 / expo)),
    )


def _callable_noise(alpha: Callable[[Any], Any]) -> tuple[
    Callable[[FloatArray], FloatArray], Callable[[FloatArray], FloatArray]
]:
    def m_of(t: FloatArray) -> FloatArray:
        out = np.asarray(alpha(np.asarray(t, dtype=np.float64)), dtype=np.float64)
        if out.shape != np.shape(t):
            out = np.broadcast_to(out, np.shape(t)).astype(np.float64)
        return np.asarray(1.0 - out, dtype=np.float64)

    probe = np.linspace(0.0, 1.0, 1025)
    m = m_of(probe)
    if not np.all(np.isfinite(m)):
        raise ValueError("the noise callable alpha(t) returned NaN or infinite values on [0, 1]")
    if np.any(np.diff(m) < 0):
        k = int(np.argmax(np.diff(m) < 0))
        raise ValueError(
            "the noise callable alpha(t) (unmasked fraction, t = 1 masked) must be "
            f"non-increasing on [0, 1]; it rises between t = {probe[k]:.4g} and "
            f"t = {probe[k + 1]:.4g}, so it has no inverse"
        )

    def inverse(target: FloatArray) -> FloatArray:
        lo = np.zeros_like(target)
        hi = np.ones_like(target)
        for _ in range(60):  # bisection to 2**-60: vectorised over all steps
            mid = 0.5 * (lo + hi)
            below = m_of(mid) < target
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        return 0.5 * (lo + hi)

    return m_of, inverse


# -------------------------------------------------------------------------------------------
def time_grid(
    schedule: Any,
    noise: str | Callable[[Any], Any] | None = None,
    *,
    sampler: str = "mdlm",
    eps: float | None = None,
    noise_eps: float | None = None,
    exponent: float = 2.0,
    sigma_min: float | None = None,
    sigma_max: float | None = None,
    profile: Any = None,
) -> TimeGrid:
    """Time grid that makes MDLM / MD4 / SEDD reveal a schedule's counts in expectation.

    Parameters
    ----------
    schedule : Schedule or sequence of int
        The schedule (``M_k`` tokens still masked after step ``k``).
    noise : str or callable, optional
        The model's trained noise schedule. ``"loglinear"`` (MDLM / SEDD LogLinearNoise,
        ``m(t) = (1 - eps_n) t``), ``"geometric"`` (MDLM / SEDD GeometricNoise,
        ``sigma = sigma_min^(1-t) sigma_max^t``), ``"cosine"`` (MDLM CosineNoise
        ``alpha = eps_n + (1 - eps_n) cos(pi t / 2)``; MD4 ``alpha = (1 - 2 eps_n)(1 -
        sin(pi t / 2)) + eps_n``), ``"linear"`` (MDLM Linear ``sigma = sigma_min + t (sigma_max
        - sigma_min)``; MD4 ``alpha = (1 - 2 eps_n)(1 - t) + eps_n``), ``"polynomial"`` (MD4
        polyK, ``alpha = (1 - 2 eps_n)(1 - t^K) + eps_n``), or a callable ``alpha(t)``: the
        **unmasked** fraction at time ``t`` (``t = 1`` fully masked), vectorised and
        non-increasing. Default: loglinear (MDLM, SEDD), cosine (MD4).
    sampler : {"mdlm", "md4", "sedd"}, default "mdlm"
        Sets the direction (``t = 1`` masked for all three), the last grid time and the
        noise-schedule defaults.
    eps : float, optional
        The sampler's last time ``t_K`` (MDLM / SEDD ``linspace(1, eps, steps + 1)``: 1e-5;
        MD4: 0).
    noise_eps : float, optional
        The noise schedule's epsilon (MDLM / SEDD 1e-3, MD4 1e-4).
    exponent : float, default 2.0
        Exponent of the polynomial schedule.
    sigma_min, sigma_max : float, optional
        Geometric (default 1e-4, 20, SEDD's configuration) and MDLM linear (default 0, 10)
        noise levels.
    profile : Profile, Joint or array_like, optional
        When given, report the exact expected KL under the grid's Binomial counts and under
        the fixed counts (:func:`unmask.expected_kl`).

    Returns
    -------
    TimeGrid

    Raises
    ------
    ValueError
        Unknown sampler or a noise it was not trained with (the message lists them); a noise
        schedule whose inverse does not exist on the range the schedule needs (a target masked
        fraction below ``m(0)`` or above ``m(1)``, a rising callable); grid times not above
        ``eps``.

    Notes
    -----
    Step ``k`` reveals each still-masked token with probability
    ``1 - m(t_k) / m(t_{k-1})``; with ``m(t_k) = m(1) M_k / n`` the probabilities are
    ``c_k / M_{k-1}`` and the expected counts equal the schedule's (theory section 14). The
    network is told ``t_k`` (or ``sigma(t_k)``), the time at which the masked fraction it was
    trained on matches the sampler's state.

    Examples
    --------
    >>> import unmask
    >>> g = time_grid(unmask.Schedule([2, 1, 1]), "loglinear", sampler="mdlm")
    >>> g.t.round(6).tolist()
    [1.0, 0.5, 0.25, 1e-05]
    >>> g.expected_counts.round(9).tolist()
    [2.0, 1.0, 1.0]
    """
    if not isinstance(sampler, str) or sampler.lower() not in NOISES:
        raise ValueError(f"time grids are for samplers {sorted(NOISES)}, got {sampler!r}")
    sampler = sampler.lower()
    s = schedule if isinstance(schedule, Schedule) else Schedule(schedule)
    from unmask._validation import check_memory

    check_memory(96.0 * (s.steps + 1.0), f"a time grid of {s.steps} steps")
    t_end = SAMPLER_EPS[sampler] if eps is None else float(eps)
    if not (math.isfinite(t_end) and 0.0 <= t_end < 1.0):
        raise ValueError(f"eps (the last grid time) must be in [0, 1), got {eps!r}")
    ne = NOISE_EPS[sampler] if noise_eps is None else float(noise_eps)
    if not (math.isfinite(ne) and 0.0 <= ne < 0.5):
        raise ValueError(f"noise_eps must be in [0, 0.5), got {noise_eps!r}")
    opts: dict[str, Any] = {"sampler": sampler, "eps": t_end, "noise_eps": ne}
    if noise is None:
        noise = _DEFAULT_NOISE[sampler]
    if callable(noise):
        m_of, inverse = _callable_noise(noise)
        opts["noise"] = getattr(noise, "__name__", "callable")
    else:
        if not isinstance(noise, str) or noise not in NOISES[sampler]:
            raise ValueError(
                f"{sampler} noise schedules: {', '.join(NOISES[sampler])} or a callable "
                f"alpha(t); got {noise!r}"
            )
        params = {"exponent": float(exponent)}
        if noise == "geometric":
            params.update(sigma_min=1e-4 if sigma_min is None else float(sigma_min),
                          sigma_max=20.0 if sigma_max is None else float(sigma_max))
        elif noise == "linear" and sampler == "mdlm":
            params.update(sigma_min=0.0 if sigma_min is None else float(sigma_min),
                          sigma_max=10.0 if sigma_max is None else float(sigma_max))
        if noise == "polynomial" and not (math.isfinite(exponent) and exponent > 0):
            raise ValueError(f"exponent must be a positive number, got {exponent!r}")
        if "sigma_min" in params and not (
            0.0 <= params["sigma_min"] < params["sigma_max"] < math.inf
            and (noise != "geometric" or params["sigma_min"] > 0)
        ):
            raise ValueError(
                f"need 0 {'<' if noise == 'geometric' else '<='} sigma_min < sigma_max < inf, "
                f"got {params['sigma_min']}, {params['sigma_max']}"
            )
        m_of, inverse = _closed_form(sampler, noise, ne, params)
        opts.update(noise=noise, **params)
    m_start = float(m_of(np.array([1.0]))[0])
    m_zero = float(m_of(np.array([0.0]))[0])
    if not m_start > 0.0:
        raise ValueError(f"the noise schedule masks nothing at t = 1 (m(1) = {m_start})")
    rem = s.n - s.boundaries.astype(np.float64)  # [n, M_1, ..., M_K = 0]
    target = m_start * rem[1:-1] / float(s.n)
    if target.size and (target.min() < m_zero or target.max() > m_start):
        bad = float(target.min()) if target.min() < m_zero else float(target.max())
        raise ValueError(
            f"the {opts['noise']} noise schedule has no inverse at masked fraction {bad:.6g}: "
            f"its range on [0, 1] is [{m_zero:.6g}, {m_start:.6g}] (n = {s.n}; a smaller "
            "noise_eps or sigma_min widens it)"
        )
    t = np.empty(s.steps + 1)
    t[0] = 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        t[1:-1] = inverse(target)
    t[-1] = t_end
    if not np.all(np.isfinite(t)):
        raise ValueError(f"the {opts['noise']} noise schedule has no inverse on the range needed")
    if s.steps > 1 and (np.any(np.diff(t[:-1]) >= 0) or t[-2] <= t_end):
        raise ValueError(
            f"grid times must decrease from 1 to above eps = {t_end}; the inverse gave "
            f"{t[-2]:.6g} for the last interior time (the noise schedule is flat there, or "
            "eps is too large)"
        )
    masked = np.asarray(m_of(t), dtype=np.float64)
    alpha = 1.0 - masked / masked[0]
    alpha[0], alpha[-1] = 0.0, 1.0
    alpha = np.maximum.accumulate(np.clip(alpha, 0.0, 1.0))
    bern = BernoulliSizes(alpha, s.n)
    expected = s.n * np.diff(alpha)
    ekl = fkl = None
    if profile is not None:
        from unmask.schedules.cost import expected_kl

        ekl = float(expected_kl(profile, bern))
        fkl = float(expected_kl(profile, s))
        opts.update(expected_kl=ekl, fixed_kl=fkl)
    argument, snippet = _argument_snippet(sampler, s.steps)
    notes = (
        "values: grid times t_0 = 1 > ... > t_K in the sampler's direction (t = 1 fully "
        f"masked), t_K = eps = {t_end}",
        "m(t_k) = m(1) M_k / n: each masked token is revealed with probability "
        "1 - m(t_k)/m(t_{k-1}) = c_k / M_{k-1}, so counts are Binomial and right in "
        "expectation only (exact = False)",
        "the network is conditioned on t_k (or sigma(t_k)) from the model's own noise "
        "schedule: never re-time a uniform grid",
        "grid steps are not uniform: pass dt = t_k - t_{k+1} per step (MDLM / SEDD use a "
        "constant dt)",
    )
    return TimeGrid(t, masked, alpha, bern, expected, ekl, fkl, argument, notes, snippet, s,
                    opts)


def _argument_snippet(sampler: str, steps: int) -> tuple[str, str]:
    if sampler == "md4":
        return (
            "MD4.get_sampling_grid(i, timesteps) (uniform or cosine grid)",
            "import jax.numpy as jnp\n"
            "grid = jnp.asarray(exported.values)\n"
            "def get_sampling_grid(self, i, timesteps):  # md4/models/diffusion/md4.py\n"
            "    return grid[i + 1], grid[i]\n"
            "MD4.get_sampling_grid = get_sampling_grid\n"
            f"# and set model.timesteps = {steps}",
        )
    if sampler == "sedd":
        return (
            "timesteps = torch.linspace(1, eps, steps + 1) and dt = (1 - eps) / steps in "
            "sampling.py get_pc_sampler",
            "timesteps = torch.tensor(exported.values, device=device)\n"
            "for i in range(len(timesteps) - 1):  # in pc_sampler, replacing its loop\n"
            "    t = timesteps[i] * torch.ones(x.shape[0], 1, device=device)\n"
            "    x = predictor.update_fn(sampling_score_fn, x, t, timesteps[i] - timesteps[i + 1])",
        )
    return (
        "timesteps = torch.linspace(1, eps, num_steps + 1) and dt = (1 - eps) / num_steps in "
        "diffusion.py _sample",
        "timesteps = torch.tensor(exported.values, device=self.device)\n"
        "for i in range(len(timesteps) - 1):  # in Diffusion._sample, replacing its loop\n"
        "    t = timesteps[i] * torch.ones(x.shape[0], 1, device=self.device)\n"
        "    x = self._ddpm_update(x, t, timesteps[i] - timesteps[i + 1])",
    )
