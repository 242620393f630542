"""Mergeable, exact state of a Monte Carlo profile estimate.

A Monte Carlo estimate is a set of *cells* (one per mask level ``i``, or one per ``(block, level)``
pair) and, in each cell, i.i.d. per-sequence values. The state keeps, per shard and per cell, the
count, the **exact** sum and the **exact** sum of squares of those values (Python integers in
units of ``2**-1074`` and ``2**-2148``: every finite float64 and its square are integer multiples
of these), and the values themselves. Merging two states is the union of their shards, and every
total is an integer sum, so the merged mean and variance do not depend on the order in which
shards were computed or merged: they are functions of the set of values only, rounded once.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["EstimateState", "ShardResult", "exact_sums"]

#: every finite float64 is an integer multiple of 2**-1074, its square of 2**-2148
_SCALE1 = 1074
_SCALE2 = 2 * _SCALE1


def exact_sums(values: Any) -> tuple[int, int]:
    """Exact ``sum v`` and ``sum v**2`` of finite float64 values, as scaled integers.

    Parameters
    ----------
    values : array_like
        Finite real numbers (converted to float64).

    Returns
    -------
    tuple of int
        ``(S1, S2)`` with ``sum v = S1 * 2**-1074`` and ``sum v**2 = S2 * 2**-2148`` exactly.

    Raises
    ------
    ValueError
        If a value is NaN or infinite.

    Examples
    --------
    >>> from unmask.profiles.estimate_state import exact_sums
    >>> s1, s2 = exact_sums([0.1, 0.2])
    >>> s1 / 2**1074 == 0.1 + 0.2  # the exact sum, rounded once, is 0.30000000000000004
    True
    """
    arr = np.asarray(values, dtype=np.float64).ravel()
    if not np.all(np.isfinite(arr)):
        raise ValueError("exact_sums needs finite values")
    s1 = 0
    s2 = 0
    for v in arr.tolist():
        num, den = v.as_integer_ratio()
        d = den.bit_length() - 1  # den = 2**d with d <= 1074
        s1 += num << (_SCALE1 - d)
        s2 += (num * num) << (_SCALE2 - 2 * d)
    return s1, s2


@dataclass(frozen=True)
class ShardResult:
    """What one shard contributes: per cell, its values and their exact sums.

    Attributes
    ----------
    shard : int
        Index of the shard in its plan (its random stream is the ``shard``-th child of the
        user's seed sequence).
    cells : tuple of int
        Indices (into the state's ``keys``) of the cells this shard drew samples for.
    values : tuple of numpy.ndarray
        Per cell of ``cells``, the per-sequence values in the order they were drawn.
    sums, sumsqs : tuple of int
        Per cell, the exact scaled sums of the values and of their squares (see
        :func:`exact_sums`).
    q : int or None
        Alphabet size the model's outputs had (None when the shard drew nothing).
    """

    shard: int
    cells: tuple[int, ...]
    values: tuple[NDArray[np.float64], ...]
    sums: tuple[int, ...] = field(default=())
    sumsqs: tuple[int, ...] = field(default=())
    q: int | None = None

    @classmethod
    def from_values(
        cls,
        shard: int,
        cells: Sequence[int],
        values: Sequence[NDArray[np.float64]],
        q: int | None = None,
    ) -> ShardResult:
        """Build a shard result, computing the exact sums of ``values``."""
        vals = tuple(np.asarray(v, dtype=np.float64) for v in values)
        if len(vals) != len(cells):
            raise ValueError(f"{len(cells)} cells but {len(vals)} value arrays")
        pairs = [exact_sums(v) for v in vals]
        return cls(
            shard=int(shard),
            cells=tuple(int(c) for c in cells),
            values=vals,
            sums=tuple(p[0] for p in pairs),
            sumsqs=tuple(p[1] for p in pairs),
            q=q,
        )


class EstimateState:
    """Exact, mergeable accumulators of a Monte Carlo estimate, cell by cell, shard by shard.

    Parameters
    ----------
    keys : sequence of hashable
        One key per cell, e.g. the levels ``i`` of :func:`~unmask.estimate_profile`, or
        ``(block, level)`` pairs for a block profile.
    shards : iterable of ShardResult, optional
        The shards already computed (their indices must be distinct).
    expected_shards : int, optional
        Number of shards in the plan (for :attr:`complete`).

    Notes
    -----
    Every statistic is a function of the *set* of per-sequence values: the sums are exact
    integers, combined by integer addition, and each statistic is rounded once at the end
    (Python's integer division is correctly rounded). Hence a state merged from shards computed
    on any workers, in any order, equals the serial one bit for bit. The per-sequence values are
    kept, per shard, for analyses that need more than means and variances (split halves,
    bootstraps, robust schedules): :meth:`values`, :meth:`restrict`.

    Examples
    --------
    >>> from unmask.profiles.estimate_state import EstimateState, ShardResult
    >>> a = ShardResult.from_values(0, [0, 1], [[1.0, 2.0], [0.5]])
    >>> b = ShardResult.from_values(1, [1], [[1.5, 1.0]])
    >>> s = EstimateState([0, 1], [a]).merge(EstimateState([0, 1], [b]))
    >>> s.counts.tolist(), s.means().tolist()
    ([2, 3], [1.5, 1.0])
    """

    __slots__ = ("_expected", "_keys", "_shards")

    def __init__(
        self,
        keys: Sequence[Hashable],
        shards: Iterable[ShardResult] = (),
        *,
        expected_shards: int | None = None,
    ) -> None:
        self._keys: tuple[Hashable, ...] = tuple(keys)
        if len(set(self._keys)) != len(self._keys):
            raise ValueError("the cell keys of an EstimateState must be distinct")
        self._shards: dict[int, ShardResult] = {}
        self._expected = expected_shards
        for s in shards:
            self._add(s)

    def _add(self, s: ShardResult) -> None:
        if s.shard in self._shards:
            raise ValueError(f"shard {s.shard} is merged twice")
        if any(c < 0 or c >= len(self._keys) for c in s.cells):
            raise ValueError(f"shard {s.shard} refers to a cell outside 0..{len(self._keys) - 1}")
        self._shards[s.shard] = s

    # -- structure ---------------------------------------------------------------------------
    @property
    def keys(self) -> tuple[Hashable, ...]:
        """The cell keys (levels, or ``(block, level)`` pairs)."""
        return self._keys

    @property
    def shards(self) -> tuple[int, ...]:
        """Indices of the shards merged so far, ascending."""
        return tuple(sorted(self._shards))

    @property
    def expected_shards(self) -> int | None:
        """Number of shards in the plan, when known."""
        return self._expected

    @property
    def complete(self) -> bool:
        """Whether every shard of the plan ``0..expected_shards-1`` has been merged."""
        return self._expected is not None and set(self._shards) == set(range(self._expected))

    def shard_results(self) -> tuple[ShardResult, ...]:
        """The merged shards' results, by shard index."""
        return tuple(self._shards[k] for k in sorted(self._shards))

    @property
    def q(self) -> int | None:
        """Alphabet size seen by the shards (None when no shard drew samples)."""
        seen = {s.q for s in self._shards.values() if s.q is not None}
        if len(seen) > 1:
            raise ValueError(f"the shards saw different alphabet sizes {sorted(seen)}")
        return seen.pop() if seen else None

    def merge(self, other: EstimateState) -> EstimateState:
        """The union of two states over the same cells (their shards must be disjoint)."""
        if not isinstance(other, EstimateState):
            raise TypeError(f"can only merge an EstimateState, got {type(other).__name__}")
        if other._keys != self._keys:
            raise ValueError("cannot merge estimate states over different cells")
        exp = self._expected if self._expected is not None else other._expected
        out = EstimateState(self._keys, self._shards.values(), expected_shards=exp)
        for s in other._shards.values():
            out._add(s)
        return out

    __add__ = merge

    def restrict(self, shards: Iterable[int]) -> EstimateState:
        """The state of a subset of the shards (e.g. even and odd shards for split halves)."""
        wanted = {int(k) for k in shards}
        missing = wanted - set(self._shards)
        if missing:
            raise ValueError(f"shards {sorted(missing)} are not in this state")
        return EstimateState(self._keys, (self._shards[k] for k in sorted(wanted)))

    def select(
        self, keys: Sequence[Hashable], rename: Sequence[Hashable] | None = None
    ) -> EstimateState:
        """The state of some cells only (e.g. one block's levels), optionally renamed.

        Parameters
        ----------
        keys : sequence of hashable
            Cells of this state, in the order the new state lists them.
        rename : sequence of hashable, optional
            New keys for them (default: the same keys).

        Returns
        -------
        EstimateState
            Over ``rename`` (or ``keys``), holding every shard that drew values for one of
            them, with those values and exact sums unchanged (nothing is recomputed).

        Examples
        --------
        >>> from unmask.profiles.estimate_state import EstimateState, ShardResult
        >>> r = ShardResult.from_values(0, [0, 1], [[1.0], [2.0]])
        >>> s = EstimateState([(0, 0), (1, 0)], [r])
        >>> s.select([(1, 0)], rename=[0]).means().tolist()
        [2.0]
        """
        keys = tuple(keys)
        new = keys if rename is None else tuple(rename)
        if len(new) != len(keys):
            raise ValueError(f"{len(keys)} keys but {len(new)} new names")
        index = {k: c for c, k in enumerate(self._keys)}
        missing = [k for k in keys if k not in index]
        if missing:
            raise KeyError(f"no cells {missing} in this state")
        where = {index[k]: pos for pos, k in enumerate(keys)}
        out = EstimateState(new)
        for k in sorted(self._shards):
            s = self._shards[k]
            picked = [j for j, c in enumerate(s.cells) if c in where]
            if picked:
                out._add(ShardResult(
                    shard=s.shard,
                    cells=tuple(where[s.cells[j]] for j in picked),
                    values=tuple(s.values[j] for j in picked),
                    sums=tuple(s.sums[j] for j in picked),
                    sumsqs=tuple(s.sumsqs[j] for j in picked),
                    q=s.q,
                ))
        return out

    # -- exact totals --------------------------------------------------------------------------
    def _totals(self) -> tuple[list[int], list[int], list[int]]:
        m = len(self._keys)
        cnt, s1, s2 = [0] * m, [0] * m, [0] * m
        for s in self._shards.values():
            for c, v, a, b in zip(s.cells, s.values, s.sums, s.sumsqs, strict=True):
                cnt[c] += int(v.size)
                s1[c] += a
                s2[c] += b
        return cnt, s1, s2

    @property
    def counts(self) -> NDArray[np.int64]:
        """Number of per-sequence values per cell."""
        return np.asarray(self._totals()[0], dtype=np.int64)

    def means(self) -> NDArray[np.float64]:
        """Exact mean per cell, correctly rounded (NaN for an empty cell)."""
        cnt, s1, _ = self._totals()
        return np.array(
            [a / (c << _SCALE1) if c else math.nan for c, a in zip(cnt, s1, strict=True)],
            dtype=np.float64,
        )

    def variances(self) -> NDArray[np.float64]:
        """Exact unbiased sample variance per cell, rounded once (NaN below two values)."""
        cnt, s1, s2 = self._totals()
        out = []
        for c, a, b in zip(cnt, s1, s2, strict=True):
            if c < 2:
                out.append(math.nan)
                continue
            num = c * b - a * a  # (c sum v^2 - (sum v)^2) * 2**2148, exact and >= 0
            out.append(num / ((c * (c - 1)) << _SCALE2))
        return np.asarray(out, dtype=np.float64)

    def stderrs(self) -> NDArray[np.float64]:
        """Standard error of each cell's mean, ``sqrt(variance / count)``."""
        var = self.variances()
        cnt = self.counts
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(np.sqrt(var / np.maximum(cnt, 1)), dtype=np.float64)

    def values(self, key: Hashable) -> NDArray[np.float64]:
        """The per-sequence values of one cell, shard by shard in shard order."""
        try:
            c = self._keys.index(key)
        except ValueError:
            raise KeyError(f"no cell {key!r} in this state") from None
        parts = []
        for k in sorted(self._shards):
            s = self._shards[k]
            parts += [v for cc, v in zip(s.cells, s.values, strict=True) if cc == c]
        return np.concatenate(parts) if parts else np.empty(0)

    def as_dict(self) -> Mapping[str, Any]:
        """Keys, counts, means, variances and standard errors as plain lists."""
        return {
            "keys": list(self._keys),
            "counts": self.counts.tolist(),
            "means": self.means().tolist(),
            "variances": self.variances().tolist(),
            "stderrs": self.stderrs().tolist(),
            "shards": list(self.shards),
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EstimateState):
            return NotImplemented
        if self._keys != other._keys or set(self._shards) != set(other._shards):
            return False
        for k, s in self._shards.items():
            t = other._shards[k]
            if (s.cells, s.sums, s.sumsqs, s.q) != (t.cells, t.sums, t.sumsqs, t.q):
                return False
            if not all(np.array_equal(a, b) for a, b in zip(s.values, t.values, strict=True)):
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        exp = f"/{self._expected}" if self._expected is not None else ""
        return (
            f"EstimateState({len(self._keys)} cells, {len(self._shards)}{exp} shards, "
            f"{int(self.counts.sum())} values)"
        )
