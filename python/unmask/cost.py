"""The exact expected KL of random-order sampling from a profile (theory section 5)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask.profile import Profile
from unmask.schedule import BernoulliSizes, CompositionLaw, Schedule

__all__ = ["as_profile", "block_cost", "expected_kl", "step_costs"]


def as_profile(obj: Any, base: float | None = None) -> Profile:
    """A :class:`Profile` from a Profile, a Joint (exact profile) or a plain ``h`` array."""
    if isinstance(obj, Profile):
        return obj
    from unmask.joint import Joint

    if isinstance(obj, Joint):
        from unmask.entropy import profile

        return profile(obj, base=base)
    arr = np.asarray(obj)
    if arr.ndim == 1:
        return Profile(arr, base=base)
    from unmask.entropy import profile

    return profile(Joint(arr), base=base)


def block_cost(prof: Profile, a: int, b: int) -> float:
    """Block cost ``g(a, b) = sum_{l=a}^{b-1} (h(a) - h(l))``.

    The expected KL of unmasking ``b - a`` tokens at once after ``a`` are unmasked (random
    order, exact conditionals).
    """
    h = prof.h
    if not 0 <= a < b <= prof.n:
        raise ValueError(f"need 0 <= a < b <= n = {prof.n}, got a={a}, b={b}")
    return math.fsum((h[a] - h[a:b]).tolist())


def step_costs(prof: Profile, schedule: Schedule) -> NDArray[np.float64]:
    """Per-step terms ``g(i_k, i_k + s_k)`` of the identity of section 5."""
    if schedule.n != prof.n:
        raise ValueError(f"schedule is for n = {schedule.n} but the profile has n = {prof.n}")
    return np.array([block_cost(prof, a, a + s) for a, s in schedule.blocks()])


def expected_kl(joint_or_profile: Any, schedule: Any, base: float | None = None) -> float:
    """Exact ``E_sigma KL(p || q_sigma)`` for random-order sampling with exact conditionals.

    Parameters
    ----------
    joint_or_profile : Joint, Profile or array_like
        The law (its exact profile is computed), its profile, or an ``h`` curve.
    schedule : Schedule, sequence of int, CompositionLaw or BernoulliSizes
        Fixed sizes, or random sizes (a law over compositions, or the time-grid Bernoulli
        sampler); for random sizes the result is the expectation over the sizes too.
    base : float, optional
        Log base when a joint is given (None: nats); a profile keeps its own unit.

    Returns
    -------
    float
        ``sum_k g(i_k, i_k + s_k)`` with ``g(a, b) = sum_{l=a}^{b-1} (h(a) - h(l))``. This is the
        *order-averaged* KL, an upper bound on ``KL(p || E_sigma q_sigma)`` (convexity).

    Examples
    --------
    >>> import unmask
    >>> round(unmask.expected_kl(unmask.joints.all_equal(4, 2), [2, 2]), 12)  # (s_1 - 1) log 2
    0.69314718056
    """
    prof = as_profile(joint_or_profile, base=base)
    if isinstance(schedule, CompositionLaw):
        _check_n(schedule.n, prof.n)
        return math.fsum(w * expected_kl(prof, s) for w, s in schedule)
    if isinstance(schedule, BernoulliSizes):
        _check_n(schedule.n, prof.n)
        return _bernoulli_expected_kl(prof, schedule)
    sched = schedule if isinstance(schedule, Schedule) else Schedule(schedule)
    _check_n(sched.n, prof.n)
    return math.fsum(step_costs(prof, sched).tolist())


def _check_n(got: int, want: int) -> None:
    if got != want:
        raise ValueError(f"schedule is for n = {got} but the profile has n = {want}")


def _bernoulli_expected_kl(prof: Profile, sizes: BernoulliSizes) -> float:
    n = prof.n
    h = prof.h
    C = prof.cumulative
    state = np.zeros(n + 1)  # law of the number unmasked before the step
    state[0] = 1.0
    total = 0.0
    for k in range(sizes.steps):
        new = np.zeros(n + 1)
        for i in np.nonzero(state > 0)[0].tolist():
            probs = sizes.step_probabilities(k, n - i)
            b = i + np.arange(probs.size)
            g = (b - i) * h[i] - (C[b] - C[i]) if i < n else np.zeros(1)
            total += state[i] * float(probs @ np.maximum(g, 0.0))
            new[i : i + probs.size] += state[i] * probs
        state = new
    return total
