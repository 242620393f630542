"""Divergences between two laws on the same space: forward/reverse KL and total variation."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask._validation import as_probability_array, log_base_factor
from unmask.laws.joint import Joint

__all__ = ["kl", "reverse_kl", "tv"]


def _pair(p: Any, q: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    a = p.probs if isinstance(p, Joint) else p
    b = q.probs if isinstance(q, Joint) else q
    pa = as_probability_array(a, name="p")
    qa = as_probability_array(b, name="q")
    if pa.shape != qa.shape:
        raise ValueError(f"p and q must have the same shape, got {pa.shape} and {qa.shape}")
    return pa.reshape(-1), qa.reshape(-1)


def _accurate_sum(values: NDArray[np.float64]) -> float:
    if values.size <= 1 << 22:
        return math.fsum(values.tolist())
    return float(np.sum(values))  # pragma: no cover - pairwise summation for huge laws


def kl(p: Any, q: Any, base: float | None = None) -> float:
    """Forward Kullback-Leibler divergence ``KL(p || q) = sum_x p(x) log(p(x) / q(x))``.

    Parameters
    ----------
    p, q : Joint or array_like
        Two laws of the same shape (finite, non-negative, each summing to 1 within 1e-9).
    base : float, optional
        Log base (None: nats, 2: bits).

    Returns
    -------
    float
        The divergence, ``+inf`` when ``q(x) = 0`` for some ``x`` with ``p(x) > 0``; never NaN.
        Terms with ``p(x) = 0`` contribute 0. Rounding below 0 is reported as 0 (Gibbs).

    Raises
    ------
    ValueError
        When the shapes differ or an argument is not a probability array.

    Notes
    -----
    In the sampler setting ``p`` is the target law and ``q`` the law of the sampler: this is the
    error of theory section 3. Summation is exact-rounded (``math.fsum``) up to 2^22 entries.

    Examples
    --------
    >>> import unmask
    >>> round(unmask.kl([0.5, 0.5], [0.25, 0.75], base=2), 6)
    0.207519
    >>> unmask.kl([0.5, 0.5], [1.0, 0.0])
    inf
    """
    pa, qa = _pair(p, q)
    factor = log_base_factor(base)
    support = pa > 0
    if np.any(qa[support] == 0):
        return math.inf
    ps, qs = pa[support], qa[support]
    terms = ps * (np.log(ps) - np.log(qs))
    return max(0.0, _accurate_sum(terms)) / factor


def reverse_kl(p: Any, q: Any, base: float | None = None) -> float:
    """Reverse Kullback-Leibler divergence ``KL(q || p)`` (arguments in the order of :func:`kl`).

    Parameters
    ----------
    p, q : Joint or array_like
        Target law ``p`` and sampler law ``q``, same shape.
    base : float, optional
        Log base (None: nats).

    Returns
    -------
    float
        ``sum_x q(x) log(q(x) / p(x))``; ``+inf`` when ``q`` puts mass where ``p`` has none.

    Raises
    ------
    ValueError
        When the shapes differ or an argument is not a probability array.

    Notes
    -----
    Equal to ``kl(q, p)``. It measures how much of the sampler's output is implausible under ``p``
    (mode-seeking), while the forward KL of :func:`kl` measures missed mass.

    Examples
    --------
    >>> import unmask
    >>> unmask.reverse_kl([0.5, 0.5], [1.0, 0.0]) == unmask.kl([1.0, 0.0], [0.5, 0.5])
    True
    """
    return kl(q, p, base=base)


def tv(p: Any, q: Any) -> float:
    """Total variation distance ``(1/2) sum_x |p(x) - q(x)|``, in [0, 1].

    Parameters
    ----------
    p, q : Joint or array_like
        Two laws of the same shape.

    Returns
    -------
    float
        The distance (symmetric; no log base involved).

    Raises
    ------
    ValueError
        When the shapes differ or an argument is not a probability array.

    Notes
    -----
    Pinsker: ``tv(p, q) <= sqrt(kl(p, q) / 2)`` (nats).

    Examples
    --------
    >>> import unmask
    >>> unmask.tv([0.5, 0.5], [0.25, 0.75])
    0.25
    """
    pa, qa = _pair(p, q)
    return min(1.0, 0.5 * _accurate_sum(np.abs(pa - qa)))
