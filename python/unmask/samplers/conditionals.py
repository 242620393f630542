"""Conditionals ``q_j(. | x_A)`` used by the factorized sampler, for exact studies (section 1).

One object, :class:`Conditionals`, covers the four kinds the theory needs: the exact
conditionals of a joint (the default of the sampler), those of a second joint ``p_hat`` (a model
that learned ``p_hat``), tempered exact conditionals, and a user callable. The sampler reads them
level by level (context size ``i``): exact, ``p_hat`` and tempered kinds through the subset
marginals of level ``i + 1`` (computed once in C++), a callable through a validated table.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask._core_loader import core
from unmask._validation import check_memory, resolve_threads
from unmask.laws.joint import Joint

__all__ = ["Conditionals", "as_conditionals", "context_rows", "level_masks"]

#: Default tolerance on the total of one conditional law returned by a user callable.
ROW_SUM_TOL = 1e-8

#: Smallest temperature accepted by :meth:`Conditionals.tempered` (see its Notes).
MIN_TEMPERATURE = 1e-300

ConditionalFn = Callable[[NDArray[np.int64], int], Any]


def level_masks(n: int, level: int) -> NDArray[np.int64]:
    """Bitmasks of the subsets of size ``level`` of ``n`` variables, in increasing order.

    This is the order in which every level table of the sampler stores its subsets.
    """
    masks = np.arange(1 << n, dtype=np.int64)
    pop = np.zeros(1 << n, dtype=np.int64)
    for j in range(n):
        pop += (masks >> j) & 1
    out: NDArray[np.int64] = masks[pop == level]
    return out


def context_rows(n: int, q: int, mask: int) -> NDArray[np.int64]:
    """All partially unmasked sequences with unmasked set ``mask``: shape ``(q**|A|, n)``.

    Masked positions hold ``-1``; the rows enumerate ``x_A`` in C order over A's variables
    (smallest index slowest), the order of the sampler's tables.
    """
    variables = [j for j in range(n) if mask >> j & 1]
    rows = np.full((q ** len(variables), n), -1, dtype=np.int64)
    if variables:
        grid = np.indices((q,) * len(variables)).reshape(len(variables), -1)
        rows[:, variables] = grid.T
    return rows


class Conditionals:
    """Conditional laws ``q_j(x_j | x_A)`` for every context ``(A, x_A)`` and ``j`` not in ``A``.

    Build one with :meth:`exact`, :meth:`from_joint`, :meth:`tempered` or :meth:`from_callable`.
    Calling the object, ``cond(x, j)``, evaluates the conditional of variable ``j`` for a batch of
    partially unmasked sequences ``x`` (shape ``(m, n)``, ``-1`` = masked, ``x[:, j]`` masked) and
    returns an ``(m, q)`` array of probabilities.

    Notes
    -----
    Exact conditionals are ``p(x_j | x_A) = p(x_{A+j}) / p(x_A)`` (theory section 1); tempered ones
    are ``q_j(x | x_A) proportional to p(x_j = x | x_A)^(1/T)``. A context of probability 0 under
    the law that defines them (``p(x_A) = 0``) has no conditional: the uniform law on ``[q]`` is
    used there. Such contexts are reached by parallel sampling (two coupled variables drawn
    independently), but only lead to sequences of probability 0 under ``p``, so the forward KL
    ``KL(p || q)`` does not depend on this choice; the law's mass outside ``p``'s support does.

    Examples
    --------
    >>> import numpy as np, unmask
    >>> cond = unmask.Conditionals.exact(unmask.joints.all_equal(3, 2))
    >>> cond(np.array([[1, -1, -1]]), 2).tolist()
    [[0.0, 1.0]]
    """

    __slots__ = ("_fn", "_joint", "_kind", "_levels", "_n", "_q", "_temperature", "_tol")

    def __init__(
        self,
        *,
        kind: str,
        n: int,
        q: int,
        joint: Joint | None = None,
        temperature: float = 1.0,
        fn: ConditionalFn | None = None,
        tol: float = ROW_SUM_TOL,
    ) -> None:
        self._kind = kind
        self._n = int(n)
        self._q = int(q)
        self._joint = joint
        self._temperature = float(temperature)
        self._fn = fn
        self._tol = float(tol)
        self._levels: dict[int, NDArray[np.float64]] = {}

    # -- constructors -------------------------------------------------------------------------
    @classmethod
    def exact(cls, joint: Any) -> Conditionals:
        """Build the exact conditionals ``p(x_j | x_A)`` of ``joint``.

        Parameters
        ----------
        joint : Joint or array_like
            The law ``p`` whose conditionals are used (the sampler's default).

        Returns
        -------
        Conditionals
            Kind ``"exact"``; read from subset marginals of ``joint`` (computed once, cached).
        """
        j = joint if isinstance(joint, Joint) else Joint(joint)
        return cls(kind="exact", n=j.n, q=j.q, joint=j)

    @classmethod
    def from_joint(cls, p_hat: Any) -> Conditionals:
        """Build the exact conditionals of a second law ``p_hat`` (a model that learned it).

        Parameters
        ----------
        p_hat : Joint or array_like
            The law the model learned; the sampler targets another law ``p`` of the same shape.

        Returns
        -------
        Conditionals
            Kind ``"p_hat"``. Its learning error against ``p`` is :func:`unmask.learning_errors`.
        """
        j = p_hat if isinstance(p_hat, Joint) else Joint(p_hat)
        return cls(kind="p_hat", n=j.n, q=j.q, joint=j)

    @classmethod
    def tempered(cls, joint: Any, temperature: float) -> Conditionals:
        """Build tempered exact conditionals ``q_j(x | x_A) ∝ p(x_j = x | x_A)^(1/T)``.

        Parameters
        ----------
        joint : Joint or array_like
            The law ``p``.
        temperature : float
            ``T >= MIN_TEMPERATURE`` (1e-300); ``T < 1`` sharpens, ``T > 1`` flattens, ``T = 1``
            is exact.

        Returns
        -------
        Conditionals
            Kind ``"tempered"`` (normalised over ``x`` for every context).

        Raises
        ------
        TypeError
            When ``T`` is not a real number (a str, a bool, None).
        ValueError
            When ``T`` is not finite or below :data:`MIN_TEMPERATURE`.

        Notes
        -----
        As ``T -> 0`` the conditionals tend to the argmax (uniform over ties); the learning
        error ``KL(p_j || q_j)`` then grows like ``1/T`` wherever ``p_j`` is not a point mass,
        and is ``+inf`` in the limit. Below ``1e-300`` the exponents ``log(v) / T`` leave the
        float64 range (``1/T`` itself overflows below about ``5.6e-309``), so such temperatures
        are refused instead of returning values of another temperature.
        """
        if isinstance(temperature, (bool, np.bool_)) or not isinstance(
            temperature, (int, float, np.integer, np.floating)
        ):
            raise TypeError(
                f"temperature must be a real number, got {type(temperature).__name__} "
                f"{temperature!r}"
            )
        t = float(temperature)
        if not math.isfinite(t) or t < MIN_TEMPERATURE:
            raise ValueError(
                f"temperature must be a finite number >= {MIN_TEMPERATURE:g} (the argmax limit "
                f"T -> 0 has infinite learning error), got {temperature!r}"
            )
        j = joint if isinstance(joint, Joint) else Joint(joint)
        return cls(kind="tempered", n=j.n, q=j.q, joint=j, temperature=t)

    @classmethod
    def from_callable(
        cls, fn: ConditionalFn, n: int, q: int, *, tol: float = ROW_SUM_TOL
    ) -> Conditionals:
        """Wrap a user callable ``fn(x, j) -> (m, q)`` array as conditionals.

        Parameters
        ----------
        fn : callable
            See below; called in batches (one call per variable ``j`` and context size).
        n, q : int
            Sequence length and alphabet size.
        tol : float, optional
            Tolerance on each returned row's total (default 1e-8); rows within it are divided
            by their total. Softmax rows computed in float32 sum to 1 within about 1e-6: pass
            ``tol=1e-5`` for them.

        Returns
        -------
        Conditionals
            Kind ``"callable"``.

        Raises
        ------
        TypeError, ValueError
            For a non-callable ``fn`` or bad ``n``/``q``; bad values returned by ``fn`` raise
            ValueError when they are used.

        Notes
        -----
        ``x`` is an int64 array of shape ``(m, n)`` of partially unmasked sequences (``-1`` marks a
        masked position; position ``j`` is always masked) and the result row ``r`` is the law of
        ``x_j`` given the unmasked entries of ``x[r]``. Results are checked (shape, finite,
        non-negative, rows summing to 1 within ``tol``) before use.
        """
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be an integer >= 1, got {n!r}")
        if isinstance(q, bool) or not isinstance(q, (int, np.integer)) or q < 2:
            raise ValueError(f"q must be an integer >= 2, got {q!r}")
        if isinstance(tol, (bool, np.bool_)) or not isinstance(
            tol, (int, float, np.integer, np.floating)
        ):
            raise TypeError(f"tol must be a real number, got {type(tol).__name__}")
        if not (math.isfinite(float(tol)) and 0 < float(tol) < 1):
            raise ValueError(f"tol must be a number in (0, 1), got {tol!r}")
        return cls(kind="callable", n=int(n), q=int(q), fn=fn, tol=float(tol))

    # -- properties ---------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        """One of ``"exact"``, ``"p_hat"``, ``"tempered"``, ``"callable"``."""
        return self._kind

    @property
    def n(self) -> int:
        """Number of variables."""
        return self._n

    @property
    def q(self) -> int:
        """Alphabet size."""
        return self._q

    @property
    def temperature(self) -> float:
        """Temperature ``T`` (1 for untempered kinds)."""
        return self._temperature

    @property
    def joint(self) -> Joint | None:
        """The joint defining the conditionals (None for a callable)."""
        return self._joint

    @property
    def uses_marginals(self) -> bool:
        """True when the conditionals are read from subset marginals of :attr:`joint`."""
        return self._joint is not None

    def __repr__(self) -> str:
        extra = f", T={self._temperature}" if self._kind == "tempered" else ""
        return f"Conditionals({self._kind}, n={self._n}, q={self._q}{extra})"

    # -- level data ---------------------------------------------------------------------------
    def marginals(self, levels: Any, threads: int | None = None) -> dict[int, NDArray[np.float64]]:
        """Subset marginals of :attr:`joint` for the given levels (cached), in mask order."""
        if self._joint is None:
            raise ValueError("callable conditionals have no subset marginals")
        levels = [_as_index(level, self._n + 1, "marginal level") for level in levels]
        want = sorted(set(levels) - set(self._levels))
        if want:
            need = sum(math.comb(self._n, lv) * self._q**lv for lv in want) * 8.0
            check_memory(need, f"subset marginals of levels {want}")
            got = core.level_marginals(
                self._joint.flat, self._n, self._q, want, resolve_threads(threads)
            )
            for lv, arr in got.items():
                self._levels[int(lv)] = np.asarray(arr)
        return {int(lv): self._levels[int(lv)] for lv in levels}

    def table(self, level: int) -> NDArray[np.float64]:
        """All conditionals at context size ``level``: shape ``(C(n,i), q**i, n-i, q)``.

        Axis 0 runs over the subsets ``A`` (mask order, see :func:`level_masks`), axis 1 over
        ``x_A`` (C order), axis 2 over the variables outside ``A`` in increasing order, axis 3 over
        the value of ``x_j``. Validated before it is returned.
        """
        n, q = self._n, self._q
        level = _as_index(level, n, "context level")
        ncontexts = math.comb(n, level) * q**level
        need = ncontexts * (n - level) * q * 8.0 + ncontexts * n * 8.0 * 2
        check_memory(need, f"the conditional table of level {level}")
        masks = level_masks(n, level)
        rows = np.concatenate([context_rows(n, q, int(a)) for a in masks.tolist()])
        owner = np.repeat(masks, q**level)
        out = np.empty((ncontexts, n - level, q))
        for j in range(n):
            sel = (owner >> j & 1) == 0
            if not np.any(sel):
                continue
            pos = j - _popcount_below(owner[sel], j)
            out[np.nonzero(sel)[0], pos] = self(rows[sel], j)
        return out.reshape(math.comb(n, level), q**level, n - level, q)

    def _log_block(self, avars: list[int], j: int) -> NDArray[np.float64]:
        """``log`` of :meth:`block`, computed in logs (``-inf`` where the conditional is 0).

        Strong tempering makes ``(v / max)^(1/T)`` underflow to 0 although the conditional is
        positive; a learning KL read from those zeros would be ``inf`` instead of finite.
        """
        if self._joint is None:
            with np.errstate(divide="ignore"):
                out: NDArray[np.float64] = np.log(self.block(avars, j))
            return out
        q = self._q
        keep = sorted([*avars, j])
        marg = self._joint.marginal(keep)
        raw = np.moveaxis(marg, keep.index(j), -1).reshape(-1, q)
        live = raw > 0
        logs = np.where(live, np.log(np.where(live, raw, 1.0)), -np.inf) / self._temperature
        empty: NDArray[np.bool_] = np.logical_not(live.any(axis=1, keepdims=True))
        top = np.where(empty, 0.0, np.max(np.where(live, logs, -np.inf), axis=1, keepdims=True))
        shifted = logs - top
        with np.errstate(divide="ignore"):
            lse = np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
        lse = np.where(empty, 0.0, lse)  # a context of mass 0: no -inf - (-inf) (NaN, warning)
        out = np.where(empty, -math.log(q), shifted - lse)
        return out

    # -- evaluation ---------------------------------------------------------------------------
    def __call__(self, x: Any, j: int) -> NDArray[np.float64]:
        """Conditional law of ``x_j`` for each row of ``x`` (``-1`` = masked): shape ``(m, q)``."""
        n, q = self._n, self._q
        arr = np.asarray(x)
        if arr.ndim != 2 or arr.shape[1] != n:
            raise ValueError(f"contexts must have shape (m, {n}), got {arr.shape}")
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"contexts must be integers, got dtype {arr.dtype}")
        if np.any((arr < -1) | (arr >= q)):
            raise ValueError(f"context values must lie in -1..{q - 1} (-1 = masked)")
        j = _as_index(j, n, "variable j")
        if np.any(arr[:, j] >= 0):
            raise ValueError(f"variable {j} must be masked (-1) in every context")
        xs = arr.astype(np.int64)
        if self._fn is not None:
            out = check_conditional_rows(
                self._fn(xs.copy(), j), xs.shape[0], q, j, tol=self._tol
            )
            return out
        return self._from_marginals(xs, j)

    def _from_marginals(self, x: NDArray[np.int64], j: int) -> NDArray[np.float64]:
        n, q = self._n, self._q
        m = x.shape[0]
        unmasked = x >= 0
        target = unmasked.copy()
        target[:, j] = True
        sizes = target.sum(axis=1)
        levels = np.unique(sizes).tolist()
        marg = self.marginals(levels)
        ranks = _rank_table(n)
        weights = 1 << np.arange(n, dtype=np.int64)
        smask = target.astype(np.int64) @ weights
        # index of x_S in C order over S: digit of v has weight q^(#S variables above v)
        above = np.cumsum(target[:, ::-1], axis=1)[:, ::-1] - target
        vals = np.where(unmasked, x, 0)
        qpow = np.int64(q) ** np.arange(n + 1, dtype=np.int64)
        base = np.sum(np.where(target, vals * qpow[above], 0), axis=1)
        step = qpow[above[:, j]]
        raw = np.empty((m, q))
        for lv in levels:
            sel = sizes == lv
            offsets = ranks[smask[sel]] * q**lv + base[sel]
            table = marg[int(lv)]
            for v in range(q):
                raw[sel, v] = table[offsets + v * step[sel]]
        return self._normalise(raw)

    def _normalise(self, raw: NDArray[np.float64]) -> NDArray[np.float64]:
        """Rows of marginal values ``m(x_A, x_j = .)`` -> conditional laws (tempered if asked)."""
        if self._kind == "tempered":
            # (v / max_x v)^(1/T), in logs: raw powers of small marginals underflow to 0 for
            # small T, and a context whose values all underflow would read as probability 0.
            top = raw.max(axis=1, keepdims=True)
            live = raw > 0
            ratio = np.where(live, raw, 1.0) / np.where(top > 0, top, 1.0)
            raw = np.where(live, np.exp(np.log(ratio) / self._temperature), 0.0)
        total = raw.sum(axis=1, keepdims=True)
        safe = np.where(total > 0, total, 1.0)
        out: NDArray[np.float64] = np.where(total > 0, raw / safe, 1.0 / self._q)
        return out

    def block(self, context: Any, j: int) -> NDArray[np.float64]:
        """All conditionals of variable ``j`` given one context set ``A``: shape ``(q**|A|, q)``.

        Parameters
        ----------
        context : iterable of int
            The unmasked variables ``A`` (any order; ``j`` not among them).
        j : int
            The masked variable.

        Returns
        -------
        numpy.ndarray
            Row ``r`` is ``q_j(. | x_A)`` for the ``r``-th ``x_A`` in C order over ``A``'s
            variables in increasing order (as :func:`context_rows`), column ``x`` the value of
            ``x_j``.

        Raises
        ------
        ValueError
            When ``j`` or a variable of ``A`` is out of range, repeated, or ``j`` is in ``A``.

        Notes
        -----
        The fixed-order paths use this: for the joint-based kinds it sums the joint down to the
        one marginal of ``A + j`` (``O(q^n)`` time, ``O(q^(|A|+1))`` memory) instead of the
        marginals of every subset of that size that ``cond(x, j)`` reads.

        Examples
        --------
        >>> import unmask
        >>> cond = unmask.Conditionals.exact(unmask.joints.all_equal(3, 2))
        >>> cond.block([0], 2).tolist()                  # x_2 copies x_0
        [[1.0, 0.0], [0.0, 1.0]]
        """
        n, q = self._n, self._q
        avars = sorted(_as_index(v, n, "context variable") for v in context)
        j = _as_index(j, n, "variable j")
        if len(set(avars)) != len(avars) or j in avars:
            raise ValueError(f"context {avars} must hold distinct variables other than j = {j}")
        if self._joint is None:
            return self(context_rows(n, q, sum(1 << v for v in avars)), j)
        keep = sorted([*avars, j])
        marg = self._joint.marginal(keep)
        raw = np.moveaxis(marg, keep.index(j), -1).reshape(-1, q)
        return self._normalise(np.ascontiguousarray(raw, dtype=np.float64))


def check_conditional_rows(
    values: Any, m: int, q: int, j: int, *, tol: float = ROW_SUM_TOL
) -> NDArray[np.float64]:
    """Validate what a conditional callable returned for ``m`` contexts of variable ``j``.

    Rows must sum to 1 within ``tol``; they are returned divided by their totals (float64).
    """
    arr = np.asarray(values)
    if arr.shape != (m, q):
        raise ValueError(
            f"conditionals of variable {j} must have shape ({m}, {q}), got {arr.shape}"
        )
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TypeError(f"conditionals of variable {j} must be real numbers, got {arr.dtype}")
    arr = np.asarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"conditionals of variable {j} contain NaN or infinite values")
    if np.any(arr < 0):
        raise ValueError(f"conditionals of variable {j} contain negative values")
    sums = arr.sum(axis=1)
    worst = float(np.max(np.abs(sums - 1.0))) if m else 0.0
    if worst > tol:
        raise ValueError(
            f"conditionals of variable {j} are not normalised: a row sums to "
            f"{float(sums[np.argmax(np.abs(sums - 1.0))])!r} (tolerance {tol}; float32 "
            "softmax rows need Conditionals.from_callable(fn, n, q, tol=1e-5))"
        )
    if m and worst > 0:
        arr = arr / sums[:, None]
    return arr


def as_conditionals(conditionals: Any, joint: Joint) -> Conditionals:
    """Resolve the ``conditionals=`` argument of the sampler functions against ``joint``.

    None means the exact conditionals of ``joint``; a :class:`Joint` means its exact conditionals
    (``p_hat``); a callable is wrapped with :meth:`Conditionals.from_callable`.
    """
    if conditionals is None:
        cond = Conditionals.exact(joint)
    elif isinstance(conditionals, Conditionals):
        cond = conditionals
    elif isinstance(conditionals, Joint):
        cond = Conditionals.from_joint(conditionals)
    elif callable(conditionals):
        cond = Conditionals.from_callable(conditionals, joint.n, joint.q)
    else:
        raise TypeError(
            "conditionals must be None, a Conditionals, a Joint (p_hat) or a callable, got "
            f"{type(conditionals).__name__}"
        )
    if (cond.n, cond.q) != (joint.n, joint.q):
        raise ValueError(
            f"conditionals are for n={cond.n}, q={cond.q} but the joint has n={joint.n}, "
            f"q={joint.q}"
        )
    return cond


def _as_index(value: Any, n: int, what: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what} must be an integer, got {value!r}")
    if not 0 <= value < n:
        raise ValueError(f"{what} must lie in 0..{n - 1}, got {value}")
    return int(value)


def _popcount_below(masks: NDArray[np.int64], j: int) -> NDArray[np.int64]:
    below = masks & ((1 << j) - 1)
    out = np.zeros_like(below)
    for b in range(j):
        out += (below >> b) & 1
    return out


_RANKS: dict[int, NDArray[np.int64]] = {}


def _rank_table(n: int) -> NDArray[np.int64]:
    """rank[A] = position of A among the subsets of its size, in increasing mask order."""
    if n not in _RANKS:
        masks = np.arange(1 << n, dtype=np.int64)
        pop = np.zeros(1 << n, dtype=np.int64)
        for j in range(n):
            pop += (masks >> j) & 1
        rank = np.empty(1 << n, dtype=np.int64)
        for level in range(n + 1):
            sel = pop == level
            rank[sel] = np.arange(int(sel.sum()))
        _RANKS[n] = rank
    return _RANKS[n]

