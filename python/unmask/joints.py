"""Standard joint laws on [q]^n, built densely (memory is checked before allocating)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask._validation import NORMALIZATION_TOL, as_probability_array
from unmask.joint import Joint, check_dense_size

__all__ = [
    "all_equal",
    "from_dit",
    "from_samples",
    "independent",
    "ising",
    "markov_chain",
    "mixture_of_products",
    "parity",
    "random",
    "stationary_distribution",
    "to_dit",
]


def independent(marginals: Any) -> Joint:
    """Product law of independent variables.

    Parameters
    ----------
    marginals : array_like
        Shape ``(n, q)``: row ``j`` is the law of ``X_j``.
    """
    m = np.asarray(marginals, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] < 2 or m.shape[0] < 1:
        raise ValueError(f"marginals must have shape (n, q) with q >= 2, got {m.shape}")
    n, q = m.shape
    check_dense_size(n, q)
    rows = [as_probability_array(row, name=f"marginal {j}") for j, row in enumerate(m)]
    out = rows[0]
    for row in rows[1:]:
        out = np.multiply.outer(out, row)
    return Joint(out.reshape((q,) * n), normalize=True)


def all_equal(n: int, q: int = 2) -> Joint:
    """``X_0 = X_1 = ... = X_{n-1}``, uniform on ``q`` symbols (theory section 9)."""
    size = check_dense_size(n, q)
    flat = np.zeros(size)
    step = sum(q**k for k in range(n))  # index of (x, x, ..., x) is x * step
    flat[np.arange(q) * step] = 1.0 / q
    return Joint(flat.reshape((q,) * n))


def parity(n: int) -> Joint:
    """Uniform law on binary strings of even parity (``n >= 2``)."""
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"parity needs n >= 2, got {n!r}")
    size = check_dense_size(n, 2)
    idx = np.arange(size, dtype=np.uint64)
    bits = np.zeros(size, dtype=np.uint64)
    for j in range(n):
        bits ^= (idx >> np.uint64(j)) & np.uint64(1)
    flat = np.where(bits == 0, 1.0 / (size // 2), 0.0)
    return Joint(flat.reshape((2,) * n))


def stationary_distribution(transition: Any) -> NDArray[np.float64]:
    """A stationary law ``pi = pi P`` of a row-stochastic matrix (least squares, then clipped)."""
    P = _check_transition(transition)
    q = P.shape[0]
    A = np.vstack([P.T - np.eye(q), np.ones((1, q))])
    b = np.zeros(q + 1)
    b[-1] = 1.0
    pi, *_ = np.linalg.lstsq(A, b, rcond=None)
    pi = np.clip(pi, 0.0, None)
    return np.asarray(pi / pi.sum(), dtype=np.float64)


def _check_transition(transition: Any) -> NDArray[np.float64]:
    raw = np.asarray(transition)
    # Checked before converting: numpy would silently turn booleans into 0/1 and drop the
    # imaginary part of complex entries.
    if raw.dtype == np.bool_ or not (
        np.issubdtype(raw.dtype, np.floating) or np.issubdtype(raw.dtype, np.integer)
    ):
        raise TypeError(f"transition must be a real numeric matrix, got dtype {raw.dtype}")
    P = np.asarray(raw, dtype=np.float64)
    if P.ndim != 2 or P.shape[0] != P.shape[1] or P.shape[0] < 2:
        raise ValueError(f"transition must be a square (q, q) matrix with q >= 2, got {P.shape}")
    for i, row in enumerate(P):
        # finite, non-negative, positive total; the total itself is checked here so that the
        # message does not point to a normalize= argument these functions do not have
        as_probability_array(row, name=f"transition row {i}", normalize=True)
        total = math.fsum(row.tolist())
        if abs(total - 1.0) > NORMALIZATION_TOL:
            raise ValueError(
                f"transition row {i} sums to {total!r}, not 1 (tolerance {NORMALIZATION_TOL}); "
                "rescale the rows, e.g. P / P.sum(axis=1, keepdims=True)"
            )
    return P


def markov_chain(transition: Any, n: int, initial: Any = None) -> Joint:
    """Law of a first-order Markov chain ``X_0 -> X_1 -> ... -> X_{n-1}``.

    Parameters
    ----------
    transition : array_like
        Row-stochastic ``(q, q)`` matrix, ``P[a, b] = P(X_{t+1} = b | X_t = a)``.
    n : int
        Length of the chain.
    initial : array_like, optional
        Law of ``X_0``; default the stationary law of ``transition``.
    """
    P = _check_transition(transition)
    q = P.shape[0]
    check_dense_size(n, q)
    pi = (
        stationary_distribution(P)
        if initial is None
        else as_probability_array(initial, name="initial")
    )
    if pi.shape != (q,):
        raise ValueError(f"initial must have length q = {q}, got shape {pi.shape}")
    out = pi
    for _ in range(n - 1):
        out = out[..., :, None] * P.reshape((1,) * (out.ndim - 1) + (q, q))
    return Joint(np.ascontiguousarray(out), normalize=True)


def ising(couplings: Any, fields: Any = None, beta: float = 1.0) -> Joint:
    """Binary Ising law ``p(x) ∝ exp(beta (sum_{i<j} J_ij s_i s_j + sum_i h_i s_i))``, ``s = 2x-1``.

    Parameters
    ----------
    couplings : array_like
        Symmetric ``(n, n)`` matrix ``J`` (the diagonal is ignored).
    fields : array_like, optional
        Length-``n`` external fields ``h`` (default zeros).
    beta : float
        Inverse temperature.
    """
    J = np.asarray(couplings, dtype=np.float64)
    if J.ndim != 2 or J.shape[0] != J.shape[1] or J.shape[0] < 1:
        raise ValueError(f"couplings must be a square (n, n) matrix, got shape {J.shape}")
    if not np.all(np.isfinite(J)) or not np.allclose(J, J.T, rtol=0, atol=1e-12):
        raise ValueError("couplings must be finite and symmetric")
    n = J.shape[0]
    h = np.zeros(n) if fields is None else np.asarray(fields, dtype=np.float64)
    if h.shape != (n,) or not np.all(np.isfinite(h)):
        raise ValueError(f"fields must be a finite vector of length {n}")
    size = check_dense_size(n, 2)
    idx = np.arange(size)
    spins = np.empty((size, n))
    for j in range(n):
        spins[:, j] = 2.0 * ((idx >> (n - 1 - j)) & 1) - 1.0  # variable 0 is the slowest axis
    Ju = np.triu(J, 1)
    energy = np.einsum("si,ij,sj->s", spins, Ju, spins) + spins @ h
    logits = beta * energy
    w = np.exp(logits - logits.max())
    return Joint((w / w.sum()).reshape((2,) * n), normalize=True)


def mixture_of_products(weights: Any, components: Any) -> Joint:
    """Mixture of product laws ``sum_c w_c prod_j components[c, j, x_j]``.

    Parameters
    ----------
    weights : array_like
        Mixture weights, length ``C``.
    components : array_like
        Shape ``(C, n, q)``; ``components[c, j]`` is the law of ``X_j`` in component ``c``.
    """
    w = as_probability_array(weights, name="mixture weights")
    comp = np.asarray(components, dtype=np.float64)
    if comp.ndim != 3 or comp.shape[0] != w.size:
        raise ValueError(
            f"components must have shape (C, n, q) with C = {w.size}, got {comp.shape}"
        )
    _, n, q = comp.shape
    check_dense_size(n, q)
    total = np.zeros((q,) * n)
    for c in range(w.size):
        total += w[c] * independent(comp[c]).probs
    return Joint(total, normalize=True)


def random(n: int, q: int = 2, concentration: float = 1.0, seed: Any = None) -> Joint:
    """A random law: Dirichlet(``concentration``) weights on all ``q**n`` sequences.

    Small concentrations give peaked laws with strong dependence; large ones nearly uniform.
    """
    if not np.isfinite(concentration) or concentration <= 0:
        raise ValueError(f"concentration must be a positive number, got {concentration!r}")
    size = check_dense_size(n, q)
    rng = np.random.default_rng(seed)
    g = rng.gamma(concentration, size=size)
    if g.sum() == 0:  # pragma: no cover - astronomically unlikely underflow
        g[rng.integers(size)] = 1.0
    return Joint((g / g.sum()).reshape((q,) * n), normalize=True)


def from_samples(samples: Any, q: int | None = None) -> Joint:
    """Empirical law of integer samples of shape ``(m, n)`` with values in ``0..q-1``."""
    x = np.asarray(samples)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"samples must have shape (m, n) with m, n >= 1, got {x.shape}")
    if not np.issubdtype(x.dtype, np.integer):
        if not np.all(np.isfinite(x)) or not np.all(x == np.round(x)):
            raise ValueError("samples must be integers")
        x = x.astype(np.int64)
    if x.min() < 0:
        raise ValueError(f"samples must be non-negative symbols, min is {x.min()}")
    qq = int(max(2, x.max() + 1)) if q is None else int(q)
    if x.max() >= qq:
        raise ValueError(f"samples contain symbol {x.max()} >= q = {qq}")
    n = x.shape[1]
    size = check_dense_size(n, qq)
    flat = np.ravel_multi_index(tuple(x.T.astype(np.intp)), (qq,) * n)
    counts = np.bincount(flat, minlength=size).astype(np.float64)
    return Joint((counts / counts.sum()).reshape((qq,) * n), normalize=True)


def from_dit(dist: Any) -> Joint:
    """Convert a ``dit.Distribution`` whose outcomes are length-n sequences of symbols.

    Symbols of each variable are sorted and mapped to ``0..q-1`` with one common ``q`` (the
    largest alphabet); missing outcomes get probability 0.
    """
    outcomes = list(dist.outcomes)
    if not outcomes:
        raise ValueError("the dit distribution has no outcomes")
    n = len(outcomes[0])
    alphabets = [sorted({o[j] for o in outcomes}) for j in range(n)]
    q = max(2, *(len(a) for a in alphabets))
    size = check_dense_size(n, q)
    index = [{s: i for i, s in enumerate(a)} for a in alphabets]
    flat = np.zeros(size)
    pmf = np.asarray(dist.copy(base="linear").pmf, dtype=np.float64)
    for o, p in zip(outcomes, pmf, strict=True):
        flat[np.ravel_multi_index(tuple(index[j][o[j]] for j in range(n)), (q,) * n)] += p
    return Joint(flat.reshape((q,) * n), normalize=True)


def to_dit(joint: Joint, min_prob: float = 0.0) -> Any:
    """Convert to a ``dit.Distribution`` over tuples of ints (needs the optional ``dit``)."""
    try:
        import dit
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("to_dit needs the optional dependency dit (pip install dit)") from exc
    flat = joint.flat
    keep = np.nonzero(flat > min_prob)[0]
    outcomes = [tuple(int(v) for v in np.unravel_index(i, joint.probs.shape)) for i in keep]
    return dit.Distribution(outcomes, flat[keep].tolist())
