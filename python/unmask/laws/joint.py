"""The dense joint law on [q]^n."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask._validation import (
    as_probability_array,
    available_memory_bytes,
    check_memory,
    format_bytes,
)

__all__ = ["Joint", "check_dense_size"]


def check_dense_size(n: int, q: int, *, what: str = "a joint law", copies: float = 1.0) -> int:
    """Validate ``n`` and ``q`` and check that ``copies`` tables of q**n float64 fit in memory.

    Returns the number of entries.  Raises ValueError for bad parameters and MemoryError,
    before anything is allocated, when the dense tables cannot be held (``copies`` counts the
    temporaries a builder makes besides the result).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if isinstance(q, bool) or not isinstance(q, (int, np.integer)) or q < 2:
        raise ValueError(f"q must be an integer >= 2, got {q!r}")
    if int(n) * math.log2(int(q)) > 80:
        # Far beyond any memory; q**n itself may not even fit in a float (q=2, n=10**7), so
        # refuse without forming it or printing all of its digits.
        exponent = int(n) * math.log10(int(q))
        raise MemoryError(
            f"{what} on [{q}]^{n} (about 10^{exponent:.0f} entries) needs about "
            f"10^{exponent + math.log10(8.0):.0f} bytes but only "
            f"{format_bytes(available_memory_bytes())} is available"
        )
    size: int = int(q) ** int(n)
    check_memory(8.0 * size * copies, f"{what} on [{q}]^{n} ({size} entries)")
    return size


class Joint:
    """A probability law on [q]^n stored densely.

    Parameters
    ----------
    probs : array_like
        Array of shape ``(q,) * n`` with ``q >= 2`` and ``n >= 1``: entry
        ``probs[x0, ..., x_{n-1}]`` is the probability of that sequence. It must be finite,
        non-negative and sum to 1 within 1e-9 (unless ``normalize`` is true).
    normalize : bool, optional
        Divide by the total mass instead of rejecting an unnormalized array.

    Attributes
    ----------
    n : int
        Number of variables.
    q : int
        Alphabet size.
    probs : numpy.ndarray
        Read-only float64 view of shape ``(q,) * n``. A C-contiguous float64 input is not copied.

    Raises
    ------
    TypeError
        For a non-numeric array (strings, objects, complex, bool).
    ValueError
        For a ragged or wrongly shaped array, non-finite or negative entries, or a total that
        is not 1 within 1e-9 (without ``normalize``) or not positive.

    Notes
    -----
    The flat index of ``x`` is ``sum_j x_j q**(n-1-j)`` (C order): variable 0 is the slowest axis.
    Subsets of variables are bitmasks with bit ``j`` standing for variable ``j``.
    A table accepted with a total of ``1 +- 1e-9`` (and not exactly 1.0) is divided by its
    total: the Joint holds the normalised law, and every function (entropies, sampler laws,
    :func:`unmask.kl`, :func:`unmask.tv`) uses that same law. A C-contiguous float64 table
    whose total is exactly 1.0 is not copied; the Joint then shares memory with the caller's
    array: writing to that array afterwards changes the law behind the Joint's back (and skips
    validation), so don't. The memory of a copy is checked before it is made (MemoryError).

    Examples
    --------
    >>> import numpy as np
    >>> import unmask
    >>> J = unmask.Joint(np.array([[0.5, 0.0], [0.25, 0.25]]))
    >>> J.n, J.q, J.support_size
    (2, 2, 3)
    >>> J.marginal([1]).tolist()  # law of X_1
    [0.75, 0.25]
    """

    __slots__ = ("_probs",)

    _probs: NDArray[np.float64]

    def __init__(self, probs: Any, *, normalize: bool = False) -> None:
        if isinstance(probs, Joint):
            probs = probs.probs
        try:
            arr = np.asarray(probs)
        except ValueError as exc:  # ragged nested sequences
            raise ValueError(f"joint probabilities must be a rectangular array: {exc}") from exc
        if arr.dtype == np.bool_ or not (
            np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
        ):
            raise TypeError(
                f"joint probabilities must be a real numeric array, got dtype {arr.dtype}"
            )
        if arr.ndim < 1:
            raise ValueError("a joint law needs at least one variable (got a 0-d array)")
        q = arr.shape[0]
        if q < 2:
            raise ValueError(f"the alphabet size q must be >= 2, got shape {arr.shape}")
        if any(s != q for s in arr.shape):
            raise ValueError(
                f"a joint law on [q]^n must have shape (q,)*n with one q for all axes; "
                f"got shape {arr.shape}"
            )
        arr = as_probability_array(arr, name="joint law", normalize=normalize)
        view = arr.view()
        view.flags.writeable = False
        self._probs = view

    @property
    def probs(self) -> NDArray[np.float64]:
        """Read-only array of shape ``(q,) * n``."""
        return self._probs

    @property
    def n(self) -> int:
        """Number of variables."""
        return int(self._probs.ndim)

    @property
    def q(self) -> int:
        """Alphabet size."""
        return int(self._probs.shape[0])

    @property
    def flat(self) -> NDArray[np.float64]:
        """Read-only flat view of length ``q**n`` (C order)."""
        return self._probs.reshape(-1)

    @property
    def support_size(self) -> int:
        """Number of sequences with positive probability."""
        return int(np.count_nonzero(self._probs))

    def marginal(self, variables: Any) -> NDArray[np.float64]:
        """Marginal law of the given variables.

        Parameters
        ----------
        variables : int or iterable of int
            A bitmask (bit ``j`` set = variable ``j`` kept) or the indices to keep
            (duplicates are ignored).

        Returns
        -------
        numpy.ndarray
            A new array with one axis per kept variable, in increasing variable order
            (0-d, equal to the total mass, for the empty set).

        Raises
        ------
        ValueError
            When a bitmask or an index is out of range.
        TypeError
            When ``variables`` is not an int or an iterable of ints (bools, floats and strings
            are refused).

        Examples
        --------
        >>> import unmask
        >>> unmask.joints.all_equal(3).marginal([0, 2]).tolist()
        [[0.5, 0.0], [0.0, 0.5]]
        """
        keep = _as_variable_list(variables, self.n)
        drop = tuple(j for j in range(self.n) if j not in keep)
        return np.asarray(self._probs.sum(axis=drop)) if drop else self._probs.copy()

    def permute(self, order: Any) -> Joint:
        """Law of ``(X_{order[0]}, ..., X_{order[n-1]})``.

        Parameters
        ----------
        order : sequence of int
            A permutation of ``0..n-1``: new variable ``k`` is old variable ``order[k]``.

        Returns
        -------
        Joint
            The permuted law (a new C-contiguous table).

        Raises
        ------
        ValueError
            When ``order`` is not a permutation of ``0..n-1`` given as integers.

        Examples
        --------
        >>> import unmask
        >>> J = unmask.Joint([[0.5, 0.25], [0.25, 0.0]]).permute([1, 0])
        >>> J.probs.tolist()
        [[0.5, 0.25], [0.25, 0.0]]
        """
        perm = np.asarray(order)
        if (
            perm.shape != (self.n,)
            or not np.issubdtype(perm.dtype, np.integer)
            or sorted(perm.tolist()) != list(range(self.n))
        ):
            raise ValueError(
                f"order must be a permutation of 0..{self.n - 1} given as integers, got {order!r}"
            )
        return Joint(np.ascontiguousarray(np.transpose(self._probs, perm)))

    def sample(self, size: int, seed: Any = None) -> NDArray[np.int64]:
        """Draw ``size`` i.i.d. sequences from the law.

        Parameters
        ----------
        size : int
            Number of sequences, ``>= 0``.
        seed : int or numpy.random.Generator, optional
            Seed for ``numpy.random.default_rng``.

        Returns
        -------
        numpy.ndarray
            int64 array of shape ``(size, n)``; row ``r`` holds the symbols ``x_0..x_{n-1}``.

        Raises
        ------
        ValueError
            When ``size`` is not a non-negative integer, or the samples would not fit in memory.

        Examples
        --------
        >>> import unmask
        >>> x = unmask.joints.all_equal(4, 3).sample(5, seed=0)
        >>> x.shape, bool((x == x[:, :1]).all())
        ((5, 4), True)
        """
        if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)):
            raise TypeError(f"size must be an int, got {type(size).__name__}")
        if size < 0:
            raise ValueError(f"size must be >= 0, got {size}")
        check_memory(8.0 * int(size) * (2 * self.n + 2), f"{size} samples of length {self.n}")
        rng = np.random.default_rng(seed)
        idx = rng.choice(self.flat.size, size=size, p=self.flat)
        return np.stack(np.unravel_index(idx, self._probs.shape), axis=1).astype(np.int64)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Joint):
            return NotImplemented
        return self._probs.shape == other._probs.shape and bool(
            np.array_equal(self._probs, other._probs)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Joint(n={self.n}, q={self.q}, support={self.support_size}/{self.flat.size})"


def _as_variable_list(variables: Any, n: int) -> list[int]:
    if isinstance(variables, (bool, np.bool_, str, bytes)):
        raise TypeError(
            f"variables must be a bitmask int or an iterable of int indices, got {variables!r}"
        )
    if isinstance(variables, (int, np.integer)):
        mask = int(variables)
        if mask < 0 or mask >= (1 << n):
            raise ValueError(f"subset bitmask {mask} out of range for n={n}")
        return [j for j in range(n) if mask >> j & 1]
    items = list(variables)
    if any(isinstance(j, (bool, np.bool_)) or not isinstance(j, (int, np.integer)) for j in items):
        raise TypeError(f"variable indices must be ints, got {items!r}")
    out = sorted({int(j) for j in items})
    if out and (out[0] < 0 or out[-1] >= n):
        raise ValueError(f"variable indices must lie in 0..{n - 1}, got {out}")
    return out
