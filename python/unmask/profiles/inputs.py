"""The one place that turns user input into a :class:`Profile` (or a law).

**The rule.** Wherever a function accepts "a profile or a law" (:func:`unmask.expected_kl`,
:func:`unmask.all_bounds` and every function of :mod:`unmask.bounds`,
:func:`unmask.optimal_schedule`, :func:`unmask.optimal_frontier`, the profile-based schedule
families), the argument is read by :func:`as_profile`:

* a :class:`Profile` is used as it is;
* a :class:`~unmask.Joint` (or a ``dit`` distribution) is a law: its exact profile is computed;
* a plain array is read by its number of axes: **one axis is an h curve**
  ``h(0), ..., h(n-1)`` (the same as ``Profile.from_h(h)``), two or more axes are a joint law
  table of shape ``(q,) * n``.

A law on a single variable is therefore never a plain 1-d array in these functions: wrap it,
``Joint(p)``. Conversely the functions that need a law and return a profile
(:func:`unmask.profile`) refuse a plain 1-d array instead of silently reading an ``h`` curve
as a law on ``[q]^1``; functions that only take laws (``sampler_law``, ``kl``, ``tv``,
``subset_entropies``) have no second reading and accept any law.

**Non-monotone curves.** An exact profile is non-increasing (Han's inequality); an estimated or
hand-made one may not be, and then the identity of theory section 5 can give negative "KL"
values and the bounds lose their guarantee. :func:`apply_nonmonotone` implements the policy
the public functions take as ``nonmonotone=``: ``"raise"`` (refuse), ``"project"`` (use the
pool-adjacent-violators projection :meth:`Profile.monotone`, and say so in the result's
source) or ``"plain"`` (evaluate the formulas on the curve as given: diagnostics, not KLs).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from unmask.profiles.profile import Profile

__all__ = ["NONMONOTONE", "apply_nonmonotone", "as_joint", "as_profile"]

NonMonotone = Literal["raise", "project", "plain"]

#: Accepted values of ``nonmonotone=``.
NONMONOTONE: tuple[str, ...] = ("raise", "project", "plain")

_H_HINT = "an h curve is Profile.from_h(h)"


def _is_dit(obj: Any) -> bool:
    return hasattr(obj, "outcomes") and hasattr(obj, "pmf")


def as_joint(obj: Any, *, allow_1d: bool = True, what: str = "this function") -> Any:
    """A :class:`~unmask.Joint` from a Joint, a ``dit`` distribution or a plain array.

    Parameters
    ----------
    obj : Joint, dit.Distribution or array_like
        The law.
    allow_1d : bool, optional
        False for functions that turn a law into a profile: a plain 1-d array is then refused
        (by the rule of this module it is an ``h`` curve, not a law on one variable).
    what : str, optional
        The caller's name, for messages.

    Returns
    -------
    Joint

    Raises
    ------
    ValueError
        A plain 1-d array when ``allow_1d`` is false, or an invalid law (see :class:`Joint`).
    """
    from unmask.laws.joint import Joint

    if isinstance(obj, Joint):
        return obj
    if _is_dit(obj):
        from unmask.laws.joints import from_dit

        return from_dit(obj)
    if isinstance(obj, Profile):
        raise TypeError(f"{what} needs a joint law, got a Profile")
    if not allow_1d and np.ndim(obj) == 1:
        raise ValueError(
            f"{what} needs a joint law, and a plain 1-d array is read as an h curve everywhere "
            f"in unmask (see unmask.profiles.as_profile): {_H_HINT}; a law on a single "
            "variable is Joint(p)"
        )
    return Joint(obj)


def as_profile(obj: Any, base: float | None = None, *, threads: int | None = None) -> Profile:
    """Read ``obj`` as a profile by the one rule of :mod:`unmask.profiles.inputs`.

    Parameters
    ----------
    obj : Profile, Joint, dit.Distribution or array_like
        A profile; a law (its exact profile is computed); a plain 1-d array (an ``h`` curve,
        as :meth:`Profile.from_h`); or a plain array with two or more axes (a joint law table of
        shape ``(q,) * n``).
    base : float, optional
        Log base of the exact profile of a law, or of a plain ``h`` curve (None: nats). A
        Profile keeps its own unit.
    threads : int, optional
        Threads for the exact profile of a law.

    Returns
    -------
    Profile

    Raises
    ------
    TypeError
        Non-numeric input.
    ValueError
        An array that is neither a valid ``h`` curve (1 axis) nor a valid joint law table.

    Examples
    --------
    >>> import numpy as np, unmask
    >>> unmask.profiles.as_profile(np.array([0.7, 0.5, 0.2])).h.tolist()   # 1 axis: an h curve
    [0.7, 0.5, 0.2]
    >>> unmask.profiles.as_profile(np.full((2, 2), 0.25)).n                # 2 axes: a law
    2
    """
    if isinstance(obj, Profile):
        return obj
    from unmask.laws.joint import Joint

    if isinstance(obj, Joint) or _is_dit(obj):
        from unmask.profiles.lattice import profile

        return profile(as_joint(obj), base=base, threads=threads)
    try:
        arr = np.asarray(obj)
    except ValueError as exc:
        raise ValueError(f"expected a rectangular numeric array: {exc}") from exc
    if arr.ndim == 1:
        return Profile.from_h(arr, base=base)
    from unmask.profiles.lattice import profile

    try:
        joint = Joint(arr)
    except ValueError as exc:
        raise ValueError(
            f"expected a profile (a 1-d h curve of length n) or a joint law of shape (q,)*n; "
            f"got an array of shape {arr.shape} that is not a valid joint law: {exc} "
            "(an array with other than one axis is read as a joint law; flatten a column or "
            "row of h values, or pass Profile.from_h(h))"
        ) from exc
    return profile(joint, base=base, threads=threads)


def apply_nonmonotone(prof: Profile, nonmonotone: str, *, what: str = "the result") -> Profile:
    """Apply the ``nonmonotone=`` policy to ``prof`` (see the module docstring).

    Returns ``prof`` itself when it is non-increasing (up to 1e-12 relative) or the policy is
    ``"plain"``; its projection for ``"project"`` (the projected profile's ``source`` says so).
    Raises ValueError for ``"raise"`` with a non-monotone ``h``, naming the largest increase.
    """
    if nonmonotone not in NONMONOTONE:
        raise ValueError(f"nonmonotone must be one of {NONMONOTONE}, got {nonmonotone!r}")
    if prof.is_monotone or nonmonotone == "plain":
        return prof
    diffs = np.diff(prof.h)
    at = int(np.argmax(diffs))
    if nonmonotone == "raise":
        raise ValueError(
            f"h is not non-increasing (h({at + 1}) - h({at}) = {float(diffs[at]):.3g} > 0), so "
            f"{what} would not be a KL (it can come out negative) and no bound is guaranteed; "
            "an exact profile never increases. Pass nonmonotone='project' to use its monotone "
            "projection (Profile.monotone()), or nonmonotone='plain' to evaluate the formula "
            "on the curve as given (a diagnostic, not a KL)"
        )
    return prof.monotone()
