"""The exact expected KL of random-order sampling from a profile (theory section 5)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask.profiles.profile import Profile
from unmask.schedules.schedule import BernoulliSizes, CompositionLaw, Schedule

__all__ = ["as_profile", "block_cost", "expected_kl", "step_costs"]


def as_profile(obj: Any, base: float | None = None) -> Profile:
    """A :class:`Profile` from a Profile, a Joint (exact profile) or a plain ``h`` array."""
    if isinstance(obj, Profile):
        return obj
    from unmask.laws.joint import Joint

    if isinstance(obj, Joint):
        from unmask.profiles.lattice import profile

        return profile(obj, base=base)
    arr = np.asarray(obj)
    if arr.ndim == 1:
        return Profile(arr, base=base)
    from unmask.profiles.lattice import profile

    try:
        joint = Joint(arr)
    except ValueError as exc:
        # A 2-d h (a column or a row) lands here: say both readings, not only the joint one.
        raise ValueError(
            f"expected a profile (a 1-d h curve of length n) or a joint law of shape (q,)*n; "
            f"got an array of shape {arr.shape} that is not a valid joint law: {exc}"
        ) from exc
    return profile(joint, base=base)


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
    costs = np.array([block_cost(prof, a, a + s) for a, s in schedule.blocks()])
    # For a non-increasing h every term h(a) - h(l) is >= 0: what falls below is rounding
    # (an exact profile is monotone only up to ulps). An estimated, non-monotone curve keeps
    # its raw (possibly negative) terms, so that the caller can see it.
    return np.maximum(costs, 0.0) if prof.is_monotone else costs


def expected_kl(
    joint_or_profile: Any,
    schedule: Any,
    base: float | None = None,
    conditionals: Any = None,
) -> float:
    """Exact ``E_sigma KL(p || q_sigma)`` for random-order sampling with exact conditionals.

    Parameters
    ----------
    joint_or_profile : Joint, Profile or array_like
        The law (its exact profile is computed), its profile, or an ``h`` curve.
    schedule : Schedule, sequence of int, CompositionLaw, BernoulliSizes or BlockSchedule
        Fixed sizes, or random sizes (a law over compositions, or the time-grid Bernoulli
        sampler); for random sizes the result is the expectation over the sizes too. A
        :class:`~unmask.BlockSchedule` gives the exact cost of blockwise decoding (theory
        section 10): ``joint_or_profile`` is then the joint or the list of block profiles.
    base : float, optional
        Log base when a joint is given (None: nats); a profile keeps its own unit.
    conditionals : Conditionals, Joint, callable or None, optional
        Learned conditionals ``q_j`` of the sampler (needs a joint, not a profile). None: exact
        conditionals.

    Returns
    -------
    float
        ``sum_k g(i_k, i_k + s_k)`` with ``g(a, b) = sum_{l=a}^{b-1} (h(a) - h(l))``, plus
        ``sum_k s_k eps(i_k)`` when ``conditionals`` is given (``eps`` from
        :func:`unmask.learning_errors`; ``+inf`` if a learned conditional misses p's support).
        This is the *order-averaged* KL, an upper bound on ``KL(p || E_sigma q_sigma)``
        (convexity).

    Raises
    ------
    ValueError
        Schedule for another ``n``; ``conditionals`` given with a profile instead of a joint.

    Examples
    --------
    >>> import unmask
    >>> round(unmask.expected_kl(unmask.joints.all_equal(4, 2), [2, 2]), 12)  # (s_1 - 1) log 2
    0.69314718056
    """
    from unmask.schedules.blocks import BlockSchedule, _is_profile_list, block_expected_kl

    if isinstance(schedule, BlockSchedule) or _is_profile_list(joint_or_profile):
        # blockwise decoding: exact through the block profiles (theory section 10)
        return block_expected_kl(
            joint_or_profile, BlockSchedule(schedule), base=base, conditionals=conditionals
        )
    prof = as_profile(joint_or_profile, base=base)
    eps = None
    if conditionals is not None:
        from unmask.laws.joint import Joint
        from unmask.samplers.law import learning_errors

        if isinstance(joint_or_profile, Profile) or np.ndim(joint_or_profile) == 1:
            raise ValueError("conditionals= needs the joint law, not a profile or an h curve")
        eps = learning_errors(Joint(joint_or_profile), conditionals, base=base)
    return _expected_kl(prof, schedule, eps)


def _expected_kl(prof: Profile, schedule: Any, eps: NDArray[np.float64] | None) -> float:
    if isinstance(schedule, CompositionLaw):
        _check_n(schedule.n, prof.n)
        return _sum_with_inf([w * _expected_kl(prof, s, eps) for w, s in schedule if w > 0])
    if isinstance(schedule, BernoulliSizes):
        _check_n(schedule.n, prof.n)
        return _bernoulli_expected_kl(prof, schedule, eps)
    sched = schedule if isinstance(schedule, Schedule) else Schedule(schedule)
    _check_n(sched.n, prof.n)
    terms = step_costs(prof, sched).tolist()
    if eps is not None:
        terms += [s * float(eps[i]) for i, s in sched.blocks()]
    return _sum_with_inf(terms)


def _sum_with_inf(terms: list[float]) -> float:
    return math.inf if any(math.isinf(t) for t in terms) else math.fsum(terms)


def _check_n(got: int, want: int) -> None:
    if got != want:
        raise ValueError(f"schedule is for n = {got} but the profile has n = {want}")


def _bernoulli_expected_kl(
    prof: Profile, sizes: BernoulliSizes, eps: NDArray[np.float64] | None = None
) -> float:
    n = prof.n
    h = prof.h
    C = prof.cumulative
    floor = 0.0 if prof.is_monotone else -np.inf  # as step_costs: clip rounding, not estimates
    state = np.zeros(n + 1)  # law of the number unmasked before the step
    state[0] = 1.0
    total = 0.0
    for k in range(sizes.steps):
        new = np.zeros(n + 1)
        for i in np.nonzero(state > 0)[0].tolist():
            probs = sizes.step_probabilities(k, n - i)
            b = i + np.arange(probs.size)
            g = (b - i) * h[i] - (C[b] - C[i]) if i < n else np.zeros(1)
            total += state[i] * float(probs @ np.maximum(g, floor))
            if eps is not None and i < n:
                mean_revealed = float(probs @ np.arange(probs.size))
                if mean_revealed > 0:
                    total += state[i] * mean_revealed * float(eps[i])
            new[i : i + probs.size] += state[i] * probs
        state = new
    return float(total)
