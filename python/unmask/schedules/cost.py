"""The exact expected KL of random-order sampling from a profile (theory section 5)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask._progress import Progress, ProgressCallback, check_progress
from unmask.profiles.inputs import apply_nonmonotone, as_joint, as_profile
from unmask.profiles.profile import Profile
from unmask.schedules.schedule import BernoulliSizes, CompositionLaw, Schedule

__all__ = ["block_cost", "expected_kl", "step_costs"]


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
    *,
    nonmonotone: str = "raise",
    progress: Any = None,
) -> float:
    """Exact ``E_sigma KL(p || q_sigma)`` for random-order sampling with exact conditionals.

    Parameters
    ----------
    joint_or_profile : Joint, Profile or array_like
        The law (its exact profile is computed), its profile, or an ``h`` curve, read by the
        one rule of :func:`unmask.profiles.as_profile`: a plain 1-d array is an ``h`` curve, a
        plain array with two or more axes a joint law table.
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
    nonmonotone : {"raise", "project", "plain"}, optional
        What to do with an ``h`` that increases somewhere (an estimate; an exact profile never
        does): refuse it (default), use its monotone projection :meth:`Profile.monotone`, or
        evaluate the identity on it as given ("plain": a diagnostic that can be negative, not
        a KL).
    progress : callable, optional
        ``progress(done, total)`` over the grid steps of :class:`BernoulliSizes` (the only
        case that can take long); see :mod:`unmask._progress`.

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
        Schedule for another ``n``; ``conditionals`` given with a profile instead of a joint;
        a non-monotone ``h`` with ``nonmonotone="raise"``.

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
    prof = apply_nonmonotone(
        as_profile(joint_or_profile, base=base), nonmonotone, what="the expected KL"
    )
    eps = None
    if conditionals is not None:
        from unmask.laws.joint import Joint
        from unmask.samplers.law import learning_errors

        if isinstance(joint_or_profile, Profile) or (
            not isinstance(joint_or_profile, Joint) and np.ndim(joint_or_profile) == 1
        ):
            raise ValueError("conditionals= needs the joint law, not a profile or an h curve")
        eps = learning_errors(as_joint(joint_or_profile), conditionals, base=base)
    return _expected_kl(prof, schedule, eps, check_progress(progress))


def _expected_kl(
    prof: Profile,
    schedule: Any,
    eps: NDArray[np.float64] | None,
    progress: ProgressCallback | None = None,
) -> float:
    if isinstance(schedule, CompositionLaw):
        _check_n(schedule.n, prof.n)
        return _sum_with_inf([w * _expected_kl(prof, s, eps) for w, s in schedule if w > 0])
    if isinstance(schedule, BernoulliSizes):
        _check_n(schedule.n, prof.n)
        return _bernoulli_expected_kl(prof, schedule, eps, progress)
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
    prof: Profile,
    sizes: BernoulliSizes,
    eps: NDArray[np.float64] | None = None,
    progress: ProgressCallback | None = None,
) -> float:
    """Exact expected KL of the time-grid sampler in O(n K) time and O(n) memory.

    Every token is revealed independently, so before step ``k`` the number unmasked is
    ``i ~ Binomial(n, u_{k-1})`` and after it ``b ~ Binomial(n, u_k)``, with
    ``u_k = 1 - prod_{l <= k} (1 - beta_l)``; given ``i`` the step reveals
    ``s ~ Binomial(n - i, beta_k)``. The step's expected cost
    ``E[g(i, i + s)] = E[s h(i)] - E[C(b)] + E[C(i)]`` (``C`` the cumulative sum of ``h``)
    therefore needs only the two marginal binomial laws:
    ``E[s h(i)] = beta_k E[(n - i) h(i)]``. A step's cost is >= 0 for a non-increasing ``h``,
    so what falls below 0 there is rounding and is clipped (not for a "plain" curve).
    """
    n = prof.n
    h = prof.h
    C = prof.cumulative
    monotone = prof.is_monotone
    betas = sizes.betas
    masked_of = n - np.arange(n + 1, dtype=np.float64)  # n - i
    weighted_h = np.append(masked_of[:-1] * h, 0.0)  # (n - i) h(i), 0 at i = n
    eps_term = None if eps is None else np.append(masked_of[:-1] * eps, 0.0)
    bar = Progress(progress, total=sizes.steps)
    stay = 1.0  # prod (1 - beta_l): probability that a token is still masked
    before = _binomial_pmf(n, 0.0)
    terms: list[float] = []
    for k in range(sizes.steps):
        beta = float(betas[k])
        stay *= 1.0 - beta
        after = _binomial_pmf(n, 1.0 - stay if k < sizes.steps - 1 else 1.0)
        cost = math.fsum(
            [
                beta * _dot(before, weighted_h),
                -_dot(after, C),
                _dot(before, C),
            ]
        )
        terms.append(max(cost, 0.0) if monotone else cost)
        if eps_term is not None and beta > 0:
            terms.append(beta * _dot(before, eps_term))
        before = after
        bar.advance()
    bar.finish()
    return _sum_with_inf(terms)


def _dot(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    """``sum a * b`` of a probability vector and a non-negative, finite or +inf vector.

    ``0 * inf = 0``. All terms are >= 0 for the costs here (``h``, ``C`` and ``eps`` are), so
    pairwise summation is accurate to a few ulps of the result.
    """
    live = a > 0
    if np.any(np.isinf(b[live])):
        return math.inf
    return float(np.dot(a[live], b[live]))


def _binomial_pmf(m: int, p: float) -> NDArray[np.float64]:
    """``Binomial(s; m, p)``, ``s = 0..m`` (see :meth:`BernoulliSizes.step_probabilities`)."""
    from unmask.schedules.schedule import binomial_pmf

    return binomial_pmf(m, p)
