"""Hypothesis strategies for property-testing code that consumes unmask objects.

Needs the optional dependency ``hypothesis`` (installed with ``unmask[test]``).

Examples
--------
>>> import unmask
>>> from hypothesis import given, settings
>>> from unmask.testing import joints
>>> @settings(max_examples=5, deadline=None)
... @given(joints(max_n=4))
... def test_entropy_nonnegative(joint):
...     assert unmask.entropy(joint) >= 0
>>> test_entropy_nonnegative()
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "unmask.testing needs hypothesis: pip install 'unmask[test]' or pip install hypothesis"
    ) from exc

from unmask.laws import joints as _laws
from unmask.laws.joint import Joint
from unmask.profiles.profile import Profile
from unmask.schedules.schedule import Schedule

__all__ = [
    "compositions",
    "joints",
    "probability_tables",
    "profiles",
    "random_joints",
    "schedules",
    "structured_joints",
]


@st.composite
def probability_tables(
    draw: Any,
    min_n: int = 1,
    max_n: int = 6,
    min_q: int = 2,
    max_q: int = 3,
    zero_fraction: float = 0.3,
) -> np.ndarray:
    """Arrays of shape ``(q,)*n`` that are valid laws, often with exact zeros.

    Weights are drawn as small integers (so exact sums and ties occur) or as floats spanning
    several orders of magnitude; a fraction of entries is zeroed (never all of them).

    Parameters
    ----------
    min_n, max_n : int
        Range of the number of variables (``1 <= min_n <= max_n``; the table has ``q**n``
        entries, so keep ``max_q**max_n`` small).
    min_q, max_q : int
        Range of the alphabet size (``2 <= min_q <= max_q``).
    zero_fraction : float
        Expected fraction of entries set to exactly 0.

    Returns
    -------
    hypothesis.strategies.SearchStrategy
        Float64 arrays summing to 1 up to rounding (wrap them with
        ``Joint(..., normalize=True)``, or use :func:`random_joints`).
    """
    n = draw(st.integers(min_n, max_n))
    q = draw(st.integers(min_q, max_q))
    size = q**n
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["integer", "lognormal", "dirichlet"]))
    if kind == "integer":
        w = rng.integers(0, 5, size=size).astype(np.float64)
    elif kind == "lognormal":
        w = np.exp(rng.normal(0.0, 3.0, size=size))
    else:
        w = rng.gamma(draw(st.sampled_from([0.05, 0.3, 1.0, 5.0])), size=size)
    if zero_fraction > 0:
        w[rng.random(size) < zero_fraction] = 0.0
    if w.sum() == 0:
        w[rng.integers(size)] = 1.0
    out: np.ndarray = (w / w.sum()).reshape((q,) * n)
    return out


@st.composite
def random_joints(draw: Any, /, **kwargs: Any) -> Joint:
    """Random laws (see :func:`probability_tables` for the keyword arguments)."""
    return Joint(draw(probability_tables(**kwargs)), normalize=True)


@st.composite
def structured_joints(draw: Any, min_n: int = 2, max_n: int = 6, max_q: int = 3) -> Joint:
    """Laws with known structure: all-equal, parity, independent, Markov, Ising, mixtures."""
    n = draw(st.integers(max(min_n, 2), max_n))
    q = draw(st.integers(2, max_q))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(
        st.sampled_from(["all_equal", "parity", "independent", "markov", "ising", "mixture"])
    )
    if kind == "all_equal":
        return _laws.all_equal(n, q)
    if kind == "parity":
        return _laws.parity(n)
    if kind == "independent":
        return _laws.independent(rng.dirichlet(np.ones(q), size=n))
    if kind == "markov":
        P = rng.dirichlet(np.full(q, 0.5), size=q)
        P = (P + 1e-3) / (P + 1e-3).sum(axis=1, keepdims=True)
        return _laws.markov_chain(P, n)
    if kind == "ising":
        J = rng.normal(0.0, 1.0, size=(n, n))
        return _laws.ising((J + J.T) / 2, rng.normal(0.0, 0.5, size=n))
    comps = rng.dirichlet(np.full(q, 0.4), size=(3, n))
    return _laws.mixture_of_products(rng.dirichlet(np.ones(3)), comps)


def joints(min_n: int = 1, max_n: int = 6, max_q: int = 3) -> Any:
    """Random or structured laws on [q]^n, with zeros (the strategy most tests want).

    Parameters
    ----------
    min_n, max_n : int
        Range of the number of variables, ``1 <= min_n <= max_n`` (structured laws need
        ``n >= 2`` and are only drawn when ``max_n >= 2``).
    max_q : int
        Largest alphabet size, ``>= 2``.

    Returns
    -------
    hypothesis.strategies.SearchStrategy
        Strategy of :class:`~unmask.Joint` with ``min_n <= n <= max_n`` and ``2 <= q <= max_q``.

    Raises
    ------
    ValueError
        When the ranges are empty.
    """
    if min_n < 1 or max_n < min_n or max_q < 2:
        raise ValueError(
            f"need 1 <= min_n <= max_n and max_q >= 2, got min_n={min_n}, max_n={max_n}, "
            f"max_q={max_q}"
        )
    randoms = random_joints(min_n=min_n, max_n=max_n, max_q=max_q)
    if max_n < 2:  # structured laws have n >= 2: never exceed the requested range
        return randoms
    return st.one_of(
        randoms,
        structured_joints(min_n=max(min_n, 2), max_n=max_n, max_q=max_q),
    )


@st.composite
def compositions(draw: Any, n: int, min_steps: int = 1, max_steps: int | None = None) -> Schedule:
    """Uniformly structured compositions of a given ``n`` as :class:`Schedule`."""
    hi = n if max_steps is None else min(n, max_steps)
    k = draw(st.integers(min(min_steps, hi), hi))
    cuts = (
        sorted(draw(st.sets(st.integers(1, n - 1), min_size=k - 1, max_size=k - 1)))
        if k > 1
        else []
    )
    bounds = [0, *cuts, n]
    return Schedule([bounds[i + 1] - bounds[i] for i in range(k)])


@st.composite
def schedules(draw: Any, min_n: int = 1, max_n: int = 12) -> Schedule:
    """Schedules for a random ``n`` in ``[min_n, max_n]``."""
    n = draw(st.integers(min_n, max_n))
    sched: Schedule = draw(compositions(n))
    return sched


@st.composite
def profiles(
    draw: Any, min_n: int = 1, max_n: int = 50, log_q: float = float(np.log(2))
) -> Profile:
    """Valid (non-increasing, non-negative) profiles built from a random non-negative ``f``."""
    n = draw(st.integers(min_n, max_n))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = draw(st.sampled_from(["power", "random", "spiky", "flat"]))
    if n == 1:
        return Profile([float(rng.uniform(0, log_q))])
    x = np.arange(n - 1, dtype=np.float64)
    if shape == "power":
        f = (x + 1.0) ** -draw(st.floats(0.5, 3.0))
    elif shape == "random":
        f = rng.exponential(1.0, size=n - 1)
    elif shape == "spiky":
        f = np.zeros(n - 1)
        f[rng.integers(0, n - 1, size=max(1, n // 10))] = 1.0
    else:
        f = np.zeros(n - 1)
    total = f.sum()
    if total > 0:
        f *= rng.uniform(0.05, 1.0) * log_q / total
    h_last = float(rng.uniform(0.0, log_q))
    return Profile.from_f(f, h_last=h_last)
