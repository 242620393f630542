"""The one schedule type of the library: a composition of n (theory section 1)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Schedule"]


#: Largest float that is still an exact integer neighbourhood (2^53).
_EXACT_FLOAT_INT = float(2**53)

#: Bound on n (int64 boundaries and counts).
_MAX_N = 2**63


def _as_count(value: Any, name: str) -> int:
    """A positive integer (Python or numpy int, not bool), or ValueError naming it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _refuse_bools(values: Any, what: str) -> None:
    """Refuse booleans in a plain list (numpy turns ``[True, 2]`` into ``[1, 2]``)."""
    if isinstance(values, (list, tuple)) and any(
        isinstance(v, (bool, np.bool_)) for v in values
    ):
        raise ValueError(f"{what} must be integers, got booleans in {list(values)!r}")


class Schedule:
    """How many tokens are unmasked at each step: a composition ``(s_1, ..., s_K)`` of ``n``.

    Parameters
    ----------
    sizes : sequence of int
        Positive integers; their sum is the sequence length ``n``.
    n : int, optional
        Expected total; a mismatch raises ValueError (useful to catch schedules for the wrong
        length).

    Attributes
    ----------
    sizes : tuple of int
        Tokens unmasked at each step (the *per-step counts* encoding).
    steps : int
        Number of steps ``K``.
    n : int
        Sequence length.
    boundaries : numpy.ndarray
        ``[i_1, ..., i_{K+1}] = [0, s_1, s_1+s_2, ..., n]``, length ``K+1``: the number of
        tokens already unmasked before each step, then ``n``.

    Examples
    --------
    >>> s = Schedule([2, 1, 1])
    >>> s.n, s.steps, s.boundaries.tolist()
    (4, 3, [0, 2, 3, 4])
    >>> Schedule.from_cumulative([2, 3, 4]).sizes
    (2, 1, 1)
    """

    __slots__ = ("_bounds", "_n", "_sizes")

    def __init__(self, sizes: Any, *, n: int | None = None) -> None:
        if isinstance(sizes, Schedule):
            sizes = sizes.sizes
        _refuse_bools(sizes, "schedule sizes")
        if n is not None:
            n = _as_count(n, "n")
        try:
            arr = np.asarray(sizes)
        except (ValueError, OverflowError) as exc:  # ragged nesting
            raise ValueError(f"a schedule is a non-empty 1-d list of sizes: {exc}") from None
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"a schedule is a non-empty 1-d list of sizes, got shape {arr.shape}")
        if arr.dtype == object and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in arr.tolist()
        ):
            big = max(arr.tolist(), key=abs)
            raise ValueError(
                f"schedule size {big} is too large: sizes and their sum n must be below 2**63"
            )
        if arr.dtype == np.bool_:
            raise ValueError("schedule sizes must be integers, got booleans")
        if np.issubdtype(arr.dtype, np.floating):
            if (
                not np.all(np.isfinite(arr))
                or not np.all(arr == np.round(arr))
                or np.any(np.abs(arr) > _EXACT_FLOAT_INT)
            ):
                raise ValueError(f"schedule sizes must be integers, got {arr.tolist()}")
        elif not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"schedule sizes must be integers, got dtype {arr.dtype}")
        values = tuple(int(v) for v in arr.tolist())
        if min(values) < 1:
            raise ValueError(f"every step must unmask at least one token; got sizes {values}")
        if sum(values) >= _MAX_N:
            raise ValueError(
                f"schedule sizes sum to {sum(values)}: the length n must be below 2**63"
            )
        if n is not None and sum(values) != n:
            raise ValueError(f"schedule sizes sum to {sum(values)}, not to n = {n}")
        self._sizes = values
        self._n = sum(values)  # cached: exports read it once per element
        # The boundaries from the validated array (not from the tuple: converting a million
        # Python ints again costs more than everything an export does with them).
        self._bounds: NDArray[np.int64] | None = None
        if sum(values) < 2**62:
            bounds = np.zeros(len(values) + 1, dtype=np.int64)
            np.cumsum(arr.astype(np.int64), out=bounds[1:])
            self._bounds = bounds

    # -- constructors -------------------------------------------------------------------------
    @classmethod
    def from_counts(
        cls, counts: Any, *, n: int | None = None, drop_zeros: bool = False
    ) -> Schedule:
        """From per-step counts (LLaDA's ``num_transfer_tokens`` row).

        Parameters
        ----------
        counts : sequence of int
            Tokens unmasked *at* each step (per-step convention, not cumulative).
        n : int, optional
            Expected sequence length (checked against the sum).
        drop_zeros : bool, optional
            Remove steps that unmask nothing (as dllm does) instead of rejecting them.

        Returns
        -------
        Schedule

        Raises
        ------
        ValueError
            Non-integer or negative counts, a zero count without ``drop_zeros``, a wrong sum.

        Examples
        --------
        >>> Schedule.from_counts([3, 0, 1], drop_zeros=True).sizes
        (3, 1)
        """
        arr = np.asarray(counts)
        if drop_zeros:
            arr = arr[arr != 0]
        return cls(arr, n=n)

    @classmethod
    def from_cumulative(cls, cumulative: Any, *, n: int | None = None) -> Schedule:
        """From cumulative unmasked counts ``[i_2, ..., i_{K+1} = n]`` (a leading 0 is accepted).

        Parameters
        ----------
        cumulative : sequence of int
            Tokens unmasked *after* each step (cumulative convention), strictly increasing;
            the last entry is ``n``.
        n : int, optional
            Expected sequence length (checked against the last entry).

        Returns
        -------
        Schedule

        Raises
        ------
        ValueError
            Non-integer, not strictly increasing, or not ending at ``n``.

        Examples
        --------
        >>> Schedule.from_cumulative([0, 2, 3, 4]).sizes
        (2, 1, 1)
        """
        _refuse_bools(cumulative, "cumulative counts")
        arr = np.asarray(cumulative)
        if arr.dtype == np.bool_ or not (
            np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
        ):
            raise TypeError(f"cumulative counts must be integers, got dtype {arr.dtype}")
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError("cumulative counts must be a non-empty 1-d list")
        if not np.issubdtype(arr.dtype, np.integer):
            if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
                raise ValueError(f"cumulative counts must be integers, got {arr.tolist()}")
        full = np.concatenate([[0], arr.astype(np.int64)]) if int(arr[0]) != 0 else arr
        diffs = np.diff(np.asarray(full, dtype=np.int64))
        if np.any(diffs <= 0):
            raise ValueError(f"cumulative counts must be strictly increasing, got {arr.tolist()}")
        return cls(diffs, n=n)

    @classmethod
    def from_mask_ratios(cls, ratios: Any, n: int) -> Schedule:
        """From remaining-mask ratios ``1 - i_{k+1}/n`` after each step (last one 0).

        Parameters
        ----------
        ratios : sequence of float
            Fraction of the ``n`` tokens still *masked* after each step (MaskGIT's gamma),
            non-increasing in ``[0, 1]``, last entry 0.
        n : int
            Sequence length.

        Returns
        -------
        Schedule
            Ratios are rounded to the nearest count; steps that round to nothing are dropped.

        Raises
        ------
        ValueError
            Non-finite, out of ``[0, 1]``, increasing, last ratio not 0, or a bad ``n``.

        Examples
        --------
        >>> Schedule.from_mask_ratios([0.75, 0.5, 0.0], 8).sizes
        (2, 2, 4)
        """
        n = _as_count(n, "n")
        try:
            arr = np.asarray(ratios, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"mask ratios must be real numbers, got {ratios!r}") from None
        if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
            raise ValueError("mask ratios must be a non-empty 1-d list of finite numbers")
        if np.any((arr < 0) | (arr > 1)):
            raise ValueError("mask ratios must lie in [0, 1]")
        if np.any(np.diff(arr) > 0):
            raise ValueError("remaining-mask ratios must be non-increasing")
        if arr[-1] != 0:
            raise ValueError("the last remaining-mask ratio must be 0 (everything unmasked)")
        unmasked = np.rint((1.0 - arr) * n).astype(np.int64)
        cum = np.unique(unmasked[unmasked > 0])
        return cls.from_cumulative(cum, n=n)

    @classmethod
    def constant(cls, n: int, steps: int) -> Schedule:
        """Even split of ``n`` into ``steps`` sizes, remainder to the first steps (as LLaDA).

        Parameters
        ----------
        n : int
            Sequence length, ``n >= 1``.
        steps : int
            Number of steps ``K``, ``1 <= K <= n``.

        Returns
        -------
        Schedule
            ``n // K`` tokens per step, plus one on each of the first ``n % K`` steps.

        Raises
        ------
        ValueError
            When ``n`` or ``steps`` is not a positive integer or ``steps > n``.
        MemoryError
            When the ``steps`` sizes cannot be held.

        Examples
        --------
        >>> Schedule.constant(10, 4).sizes
        (3, 3, 2, 2)
        """
        n = _as_count(n, "n")
        steps = _as_count(steps, "steps")
        if steps > n:
            raise ValueError(f"need 1 <= steps <= n, got n={n}, steps={steps}")
        from unmask._validation import check_memory

        check_memory(40.0 * steps, f"a schedule of {steps} steps")
        base, rem = divmod(int(n), int(steps))
        return cls([base + 1] * rem + [base] * (steps - rem))

    # -- encodings ----------------------------------------------------------------------------
    @property
    def sizes(self) -> tuple[int, ...]:
        """Per-step counts ``(s_1, ..., s_K)``."""
        return self._sizes

    @property
    def steps(self) -> int:
        """Number of steps ``K``."""
        return len(self._sizes)

    @property
    def n(self) -> int:
        """Sequence length (sum of the sizes)."""
        return self._n

    @property
    def max_size(self) -> int:
        """Largest step size ``s_max``."""
        return max(self._sizes)

    @property
    def boundaries(self) -> NDArray[np.int64]:
        """``[0, i_2, ..., i_{K+1} = n]``: unmasked counts before each step, then n."""
        if self._bounds is None:
            out = np.zeros(self.steps + 1, dtype=np.int64)
            out[1:] = np.cumsum(self._sizes)
            self._bounds = out
        fresh: NDArray[np.int64] = self._bounds.copy()  # cached sum, a fresh array for the caller
        return fresh

    def counts(self) -> NDArray[np.int64]:
        """Per-step counts as an int64 array (convention: tokens unmasked *at* step k)."""
        return np.asarray(self._sizes, dtype=np.int64)

    def cumulative(self) -> NDArray[np.int64]:
        """Cumulative unmasked counts *after* each step: ``[i_2, ..., i_{K+1} = n]``."""
        return self.boundaries[1:]

    def mask_ratios(self) -> NDArray[np.float64]:
        """Remaining-mask ratios *after* each step: ``(n - i_{k+1}) / n`` (last entry 0).

        Each entry is the correctly rounded quotient of two integers, the same value
        :func:`unmask.export.remaining_mask_ratios` gives (``1 - i/n`` would round differently).
        """
        return (self.n - self.boundaries[1:]) / self.n

    def blocks(self) -> Iterator[tuple[int, int]]:
        """Iterate over ``(i_k, s_k)``: tokens unmasked before the step, and the step size."""
        start = 0
        for s in self._sizes:
            yield start, s
            start += s

    # -- protocol -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.steps

    def __iter__(self) -> Iterator[int]:
        return iter(self._sizes)

    def __getitem__(self, k: int) -> int:
        return self._sizes[k]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Schedule):
            return self._sizes == other._sizes
        if isinstance(other, (list, tuple)):
            return self._sizes == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._sizes)

    def __repr__(self) -> str:
        if self.steps <= 12:
            body = ", ".join(map(str, self._sizes))
        else:
            head = ", ".join(map(str, self._sizes[:6]))
            tail = ", ".join(map(str, self._sizes[-3:]))
            body = f"{head}, ..., {tail}"
        return f"Schedule([{body}], n={self.n}, steps={self.steps})"


class CompositionLaw:
    """A law over schedules: ``schedules[r]`` is used with probability ``weights[r]``.

    Parameters
    ----------
    schedules : sequence of Schedule (or of size lists)
        Compositions of the same ``n``.
    weights : array_like, optional
        Probabilities (default uniform); must sum to 1.

    Raises
    ------
    ValueError
        No schedule, schedules for different ``n``, or weights that are not a probability
        vector with one entry per schedule.
    TypeError
        When ``schedules`` is not a sequence, or the weights are not real numbers.

    Notes
    -----
    Each run of the sampler first draws its schedule from this law, then unmasks with it
    (theory section 2, random sizes (b)); exact laws and expected KLs are the weighted averages
    over the schedules.

    Examples
    --------
    >>> import unmask
    >>> law = unmask.CompositionLaw([[2, 2], [1, 3]], [0.25, 0.75])
    >>> p = unmask.joints.all_equal(4, 2)
    >>> round(unmask.expected_kl(p, law), 6) == round(0.25 * 0.693147 + 0.75 * 0.0, 6)
    True
    """

    __slots__ = ("_schedules", "_weights")

    def __init__(self, schedules: Any, weights: Any = None) -> None:
        if isinstance(schedules, (str, bytes)) or not hasattr(schedules, "__iter__"):
            raise TypeError(
                f"schedules must be a sequence of schedules, got {type(schedules).__name__}"
            )
        scheds = [s if isinstance(s, Schedule) else Schedule(s) for s in schedules]
        if not scheds:
            raise ValueError("a law over schedules needs at least one schedule")
        ns = {s.n for s in scheds}
        if len(ns) != 1:
            raise ValueError(f"all schedules must have the same n, got {sorted(ns)}")
        if weights is None:
            w = np.full(len(scheds), 1.0 / len(scheds))
        else:
            from unmask._validation import as_probability_array

            try:
                w = as_probability_array(weights, name="schedule weights")
            except ValueError as err:  # no normalize= here: drop that hint
                msg = str(err).replace("; pass normalize=True to rescale", "")
                raise ValueError(msg) from None
            if w.shape != (len(scheds),):
                raise ValueError(f"need one weight per schedule ({len(scheds)}), got {w.shape}")
        self._schedules = tuple(scheds)
        self._weights = w

    @property
    def n(self) -> int:
        """Sequence length."""
        return self._schedules[0].n

    @property
    def schedules(self) -> tuple[Schedule, ...]:
        """The possible schedules."""
        return self._schedules

    @property
    def weights(self) -> NDArray[np.float64]:
        """Their probabilities."""
        return self._weights

    def __iter__(self) -> Iterator[tuple[float, Schedule]]:
        return iter(zip(self._weights.tolist(), self._schedules, strict=True))

    def __repr__(self) -> str:
        return f"CompositionLaw({len(self._schedules)} schedules, n={self.n})"


class BernoulliSizes:
    """The time-grid sampler of MDLM/MD4: random step sizes from a masking curve.

    At step ``k`` every still-masked token is revealed independently with probability
    ``beta_k = (alpha_k - alpha_{k-1}) / (1 - alpha_{k-1})`` (theory section 2), where
    ``alpha`` is the fraction *unmasked* on the time grid; the last step reveals everything
    (``beta_K = 1``). Steps that reveal nothing are allowed.

    Parameters
    ----------
    alpha : array_like
        ``alpha_0 = 0 <= alpha_1 <= ... <= alpha_K = 1`` on the sampling grid (length K+1):
        the fraction *unmasked* (not masked) at each grid time, in sampling order.
    n : int
        Sequence length.

    Raises
    ------
    ValueError
        A grid that is not real, finite, non-decreasing from 0 to 1, or a bad ``n``.

    Examples
    --------
    >>> import unmask
    >>> sizes = unmask.BernoulliSizes([0.0, 0.5, 1.0], 4)
    >>> sizes.betas.tolist()
    [0.5, 1.0]
    >>> sizes.step_probabilities(0, 4).round(12).tolist()   # Binomial(4, 1/2)
    [0.0625, 0.25, 0.375, 0.25, 0.0625]
    """

    __slots__ = ("_alpha", "_n")

    def __init__(self, alpha: Any, n: int) -> None:
        raw = np.asarray(alpha)
        if raw.dtype == np.bool_ or not (
            np.issubdtype(raw.dtype, np.integer) or np.issubdtype(raw.dtype, np.floating)
        ):
            raise ValueError(f"alpha must be real numbers, got dtype {raw.dtype}")
        a = np.asarray(raw, dtype=np.float64)
        if a.ndim != 1 or a.size < 2:
            raise ValueError(f"alpha must be a 1-d grid of length K+1 >= 2, got shape {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError("alpha contains NaN or infinite values")
        if abs(a[0]) > 1e-12 or abs(a[-1] - 1.0) > 1e-12:
            raise ValueError(f"alpha must start at 0 and end at 1, got {a[0]} and {a[-1]}")
        if np.any(np.diff(a) < -1e-12):
            raise ValueError("alpha (the unmasked fraction) must be non-decreasing")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        a = np.clip(a, 0.0, 1.0)
        a[0], a[-1] = 0.0, 1.0
        self._alpha = a
        self._n = int(n)

    @property
    def n(self) -> int:
        """Sequence length."""
        return self._n

    @property
    def steps(self) -> int:
        """Number of grid steps ``K`` (some may reveal nothing)."""
        return int(self._alpha.size - 1)

    @property
    def alpha(self) -> NDArray[np.float64]:
        """The unmasked fraction on the grid, length K+1."""
        return self._alpha

    @property
    def betas(self) -> NDArray[np.float64]:
        """Per-step reveal probabilities of a still-masked token (last one 1)."""
        a = self._alpha
        denom = 1.0 - a[:-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            b = np.where(denom > 0, (a[1:] - a[:-1]) / np.where(denom > 0, denom, 1.0), 1.0)
        b = np.clip(b, 0.0, 1.0)
        b[-1] = 1.0
        return b

    def step_probabilities(self, k: int, masked: int) -> NDArray[np.float64]:
        """Binomial law of the number revealed at step ``k`` (0-based) given ``masked`` masked.

        Parameters
        ----------
        k : int
            Step index, ``0 <= k < steps``.
        masked : int
            Tokens still masked before the step, ``0 <= masked <= n``.

        Returns
        -------
        numpy.ndarray
            Length ``masked + 1``: entry ``s`` is ``Binomial(s; masked, beta_k)``, the
            probability that the step reveals ``s`` tokens.

        Raises
        ------
        ValueError
            When ``k`` or ``masked`` is out of range or not an integer.
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < self.steps:
            raise ValueError(f"step k must be an integer in 0..{self.steps - 1}, got {k!r}")
        if (
            isinstance(masked, bool)
            or not isinstance(masked, (int, np.integer))
            or not 0 <= masked <= self._n
        ):
            raise ValueError(f"masked must be an integer in 0..{self._n}, got {masked!r}")
        return binomial_pmf(int(masked), float(self.betas[k]))

    def __repr__(self) -> str:
        return f"BernoulliSizes(n={self._n}, steps={self.steps})"


def binomial_pmf(m: int, beta: float) -> NDArray[np.float64]:
    """``Binomial(s; m, beta)`` for ``s = 0..m`` without big integers or overflow.

    ``pmf(s+1)/pmf(s) = (m-s)/(s+1) * beta/(1-beta)``: cumulative products outward from the
    mode (the largest term, so nothing overflows; far tails underflow to 0), then normalised.
    Where the mass lies that is a few dozen roundings, fewer than exp() of a log-coefficient
    near 700 costs; and no big integers (C(1030, 515) overflows a double).
    """
    if beta >= 1.0:
        out = np.zeros(m + 1)
        out[-1] = 1.0
        return out
    if beta <= 0.0:
        out = np.zeros(m + 1)
        out[0] = 1.0
        return out
    ratio = beta / (1.0 - beta)
    mode = min(m, int((m + 1) * beta))
    out = np.empty(m + 1)
    out[mode] = 1.0
    up = np.arange(mode, m, dtype=np.float64)
    out[mode + 1 :] = np.cumprod((m - up) / (up + 1.0) * ratio)
    down = np.arange(mode, 0, -1, dtype=np.float64)
    out[:mode][::-1] = np.cumprod(down / (m - down + 1.0) / ratio)
    # Pairwise summation of positive terms: relative error ~ log2(m) ulps (math.fsum is exact
    # but slow on tails spanning 600 decades, and the expected KL sums many of these laws).
    return out / float(np.sum(out))
