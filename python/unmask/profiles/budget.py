"""A sample budget spent where it improves the schedule most (theory section 13).

:func:`estimate_evidence` queries a model through :func:`unmask.estimate_profile` in two
rounds: a pilot spread evenly over the levels, then the rest of the budget allocated to the
levels in proportion to how much their noise moves the estimated gain of the candidate schedule
(Neyman allocation, half of it kept even so that no level is starved). The samples of every
level are kept in two independent halves, merged exactly across rounds (counts, means and sums
of squared deviations), for :func:`unmask.robust_schedule`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask.profiles.estimate import _check_positive_int, _resolve_levels, estimate_profile
from unmask.profiles.evidence import Evidence, EvidencePoints
from unmask.profiles.profile import Profile

__all__ = ["estimate_evidence", "evidence_from_halves", "merge_evidence"]

#: Smallest number of samples per level: two per independent half (a standard error needs 2).
MIN_PER_LEVEL = 4


def _points(x: Any, count: Any, mean: Any, m2: Any) -> EvidencePoints:
    c = np.asarray(count, dtype=np.float64)
    mu = np.asarray(mean, dtype=np.float64)
    dev = np.asarray(m2, dtype=np.float64)
    var = dev / np.maximum(c - 1.0, 1.0)
    se = np.sqrt(var / c)
    # a level whose samples all agree (e.g. i = 0 with a uniform marginal) is not exact: keep
    # its weight within 1e4 of the typical one so that the fits stay well conditioned
    positive = se[se > 0]
    floor = max(1e-9 * max(1.0, float(np.max(np.abs(mu)))),
                1e-2 * float(np.median(positive)) if positive.size else 0.0)
    return EvidencePoints(np.asarray(x, dtype=np.float64), mu, np.maximum(se, floor), c, dev)


def evidence_from_halves(
    n: int,
    levels: Any,
    halves: Any,
    *,
    base: float | None = None,
    source: str = "",
    extrapolate: str = "linear",
) -> Evidence | None:
    """Evidence from per-level statistics of two independent halves of Monte Carlo samples.

    Parameters
    ----------
    n : int
        Sequence length.
    levels : array_like of int
        The levels ``i`` (sorted, distinct).
    halves : array_like, shape (2, 3, L)
        For each half and level: sample count, mean, sum of squared deviations from the mean.
    base : float, optional
        Unit of the means (None: nats).
    source : str
        Free text.
    extrapolate : str
        As in :class:`~unmask.profiles.evidence.Evidence` (the levels usually cover ``0..n-1``).

    Returns
    -------
    Evidence or None
        None when a half has fewer than 2 samples at some level.
    """
    arr = np.asarray(halves, dtype=np.float64)
    x = np.asarray(levels, dtype=np.float64)
    if arr.shape != (2, 3, x.size):
        raise ValueError(f"halves must have shape (2, 3, {x.size}), got {arr.shape}")
    if np.any(arr[:, 0, :] < 2):
        return None
    a = _points(x, *arr[0])
    b = _points(x, *arr[1])
    return Evidence(
        n,
        (a, b),
        _merged(a, b),
        extrapolate=extrapolate,
        base=base,
        source=source,
        samples=int(arr[:, 0, :].sum()),
    )


def _merged(a: EvidencePoints, b: EvidencePoints) -> EvidencePoints:
    """Pool two sets of Monte Carlo points at the same levels (Chan's exact update)."""
    assert a.count is not None and b.count is not None and a.m2 is not None and b.m2 is not None
    c = a.count + b.count
    mean = (a.count * a.y + b.count * b.y) / c
    m2 = a.m2 + b.m2 + (b.y - a.y) ** 2 * a.count * b.count / c
    return _points(a.x, c, mean, m2)


def _merge_points(a: EvidencePoints, b: EvidencePoints) -> EvidencePoints:
    """Union of two Monte Carlo point sets; levels in both are pooled exactly."""
    x = np.union1d(a.x, b.x)
    stats = np.zeros((3, x.size))
    for p in (a, b):
        assert p.count is not None and p.m2 is not None
        idx = np.searchsorted(x, p.x)
        c0, m0, d0 = stats[0, idx], stats[1, idx], stats[2, idx]
        c = c0 + p.count
        mean = (c0 * m0 + p.count * p.y) / c
        d = d0 + p.m2 + (p.y - m0) ** 2 * c0 * p.count / c
        stats[0, idx], stats[1, idx], stats[2, idx] = c, mean, d
    return _points(x, *stats)


def merge_evidence(first: Evidence, second: Evidence) -> Evidence:
    """Merge the Monte Carlo evidence of two independent runs (half with half, exactly).

    Raises
    ------
    ValueError
        Evidence for different ``n`` or units, or evidence without sample counts (loss curves).
    """
    if first.n != second.n or first.base != second.base:
        raise ValueError("cannot merge evidence for different n or units")
    for ev in (first, second):
        if any(p.count is None for p in ev.halves):
            raise ValueError("only Monte Carlo evidence (with sample counts) can be merged")
    halves = (
        _merge_points(first.halves[0], second.halves[0]),
        _merge_points(first.halves[1], second.halves[1]),
    )
    return Evidence(
        first.n,
        halves,
        _merge_points(halves[0], halves[1]),
        extrapolate=first.extrapolate,
        base=first.base,
        source=first.source,
        samples=first.samples + second.samples,
    )


def estimate_evidence(
    model: Callable[[Any, Any], Any],
    data: Any,
    n: int,
    *,
    budget: int,
    steps: int | None = None,
    levels: Any = None,
    pilot: float = 0.5,
    seed: Any = None,
    base: float | None = None,
    progress: Callable[[int, int], Any] | None = None,
    **estimate_kwargs: Any,
) -> Profile:
    """Estimate a profile from a model with a total sample budget, allocated adaptively.

    Parameters
    ----------
    model, data, n
        As in :func:`unmask.estimate_profile`.
    budget : int
        Total number of sampled sequences (model rows), over all levels and rounds; at least
        ``4 * levels`` (two per independent half at every level).
    steps : int, optional
        The number of steps K the schedule is for: the second round then goes where it reduces
        the error of that schedule's estimated gain most. None: in proportion to each level's
        noise.
    levels : None, int or array_like
        As in :func:`unmask.estimate_profile`.
    pilot : float
        Fraction of the budget spent evenly in the first round (default 0.5).
    seed : int or numpy.random.Generator, optional
        Randomness (each call gets an independent child stream).
    base : float, optional
        Unit of the result (None: nats).
    progress : callable, optional
        ``progress(done, total)`` with sample counts, after every call of the model batch loop.
    **estimate_kwargs
        Passed to :func:`unmask.estimate_profile` (``estimator``, ``output``, ``batch_size``,
        ``q``, ``tol``, ``to_torch``).

    Returns
    -------
    Profile
        The smooth monotone fit of all samples (strength by cross-validation) with a band,
        carrying its :class:`~unmask.profiles.evidence.Evidence`, so that
        :func:`unmask.optimal_schedule` on it is robust.

    Raises
    ------
    ValueError
        A budget below ``4 * levels``, a ``pilot`` outside ``(0, 1]``, or anything
        :func:`unmask.estimate_profile` refuses.

    Notes
    -----
    Theory section 13. The estimated cost difference of two schedules is ``v @ y`` with ``y``
    the level means; its variance ``sum_l v_l^2 sigma_l^2 / m_l`` for ``m_l`` samples at level
    ``l`` is smallest for ``m_l`` proportional to ``|v_l| sigma_l`` (Neyman). Half of the second
    round follows that rule for ``v`` of the best candidate of the pilot, half follows
    ``sigma_l`` alone.

    Examples
    --------
    >>> import numpy as np, unmask
    >>> def model(values, mask):  # independent fair bits
    ...     return np.full(values.shape + (2,), 0.5)
    >>> data = np.random.default_rng(0).integers(0, 2, size=(100, 16))
    >>> prof = unmask.estimate_evidence(model, data, 16, budget=256, levels=8, seed=1)
    >>> prof.evidence.samples
    256
    """
    n = _check_positive_int(n, "n")
    budget = _check_positive_int(budget, "budget")
    if not (isinstance(pilot, (int, float)) and not isinstance(pilot, bool) and 0 < pilot <= 1):
        raise ValueError(f"pilot must lie in (0, 1], got {pilot!r}")
    if steps is not None:
        steps = _check_positive_int(steps, "steps")
        if steps > n:
            raise ValueError(f"steps must be <= n = {n}, got {steps}")
    lv = _resolve_levels(levels, n)
    if budget < MIN_PER_LEVEL * lv.size:
        raise ValueError(
            f"a budget of {budget} samples is too small for {lv.size} levels: at least "
            f"{MIN_PER_LEVEL} per level (2 per independent half) = {MIN_PER_LEVEL * lv.size}; "
            "raise the budget or pass fewer levels"
        )
    seeds = np.random.SeedSequence(seed if not isinstance(seed, np.random.Generator)
                                   else int(seed.integers(2**63)))
    first = max(MIN_PER_LEVEL, 2 * int(budget * pilot / (2 * lv.size)))
    done = 0

    def run(at: NDArray[np.int64], count: int) -> Evidence:
        nonlocal done
        prof = estimate_profile(
            model, data, n, levels=at, samples_per_level=count, monotone=False,
            seed=np.random.default_rng(seeds.spawn(1)[0]), base=base, **estimate_kwargs,
        )
        done += count * at.size
        if progress is not None:
            progress(done, budget)
        ev = prof.evidence
        assert ev is not None
        return ev  # type: ignore[no-any-return]

    ev = run(lv, first)
    rest = budget - first * lv.size
    if rest >= 2:
        alloc = _allocation(ev, steps, rest)
        for count in np.unique(alloc[alloc >= MIN_PER_LEVEL]).tolist():
            ev = merge_evidence(ev, run(lv[alloc == count], int(count)))
    return ev.profile()


def _allocation(ev: Evidence, steps: int | None, rest: int) -> NDArray[np.int64]:
    """Second-round samples per level: Neyman for the gain of the pilot's best candidate."""
    pooled = ev.pooled
    assert pooled.count is not None
    sigma = pooled.se * np.sqrt(pooled.count)
    score = sigma / max(float(sigma.sum()), 1e-300)
    if steps is not None and 1 < steps < ev.n:
        from unmask.schedules.robust import candidate_direction

        v = np.abs(candidate_direction(ev, steps))
        if float((v * sigma).sum()) > 0:
            score = 0.5 * score + 0.5 * (v * sigma) / float((v * sigma).sum())
    # counts in multiples of 4 (two per half), rounded by largest remainder, few distinct values
    units = rest // MIN_PER_LEVEL
    raw = score * units
    alloc = np.floor(raw).astype(np.int64)
    extra = units - int(alloc.sum())
    if extra > 0:
        alloc[np.argsort(raw - alloc)[::-1][:extra]] += 1
    # quantise to at most 8 distinct counts so that the model is called in few batches
    if np.unique(alloc).size > 8:
        edges = np.unique(np.quantile(alloc, np.linspace(0, 1, 9)))
        alloc = np.asarray(edges[np.clip(np.searchsorted(edges, alloc), 0, edges.size - 1)],
                           dtype=np.int64)
        over = int(alloc.sum()) - units
        while over > 0:  # never exceed the budget
            k = int(np.argmax(alloc))
            take = min(over, int(alloc[k]))
            alloc[k] -= take
            over -= take
    return alloc * MIN_PER_LEVEL
