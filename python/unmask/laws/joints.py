"""Standard joint laws on [q]^n, built densely (memory is checked before allocating)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask._validation import NORMALIZATION_TOL, as_probability_array, check_memory
from unmask.laws.joint import Joint, check_dense_size

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
        Shape ``(n, q)``: row ``j`` is the law of ``X_j`` (each row sums to 1 within 1e-9).

    Returns
    -------
    Joint
        ``p(x) = prod_j marginals[j, x_j]``; its information profile is ``f = 0``.

    Raises
    ------
    ValueError
        For a wrong shape or a row that is not a probability vector.
    MemoryError
        Before allocating, when ``q**n`` entries do not fit in memory.

    Examples
    --------
    >>> from unmask import joints
    >>> joints.independent([[0.5, 0.5], [0.9, 0.1]]).probs.tolist()
    [[0.45, 0.05], [0.45, 0.05]]
    """
    m = np.asarray(marginals, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] < 2 or m.shape[0] < 1:
        raise ValueError(f"marginals must have shape (n, q) with q >= 2, got {m.shape}")
    n, q = m.shape
    check_dense_size(n, q, copies=3)
    rows = [as_probability_array(row, name=f"marginal {j}") for j, row in enumerate(m)]
    out = rows[0]
    for row in rows[1:]:
        out = np.multiply.outer(out, row)
    return Joint(out.reshape((q,) * n), normalize=True)


def all_equal(n: int, q: int = 2) -> Joint:
    """``X_0 = X_1 = ... = X_{n-1}``, uniform on ``q`` symbols (theory section 9).

    Its information profile is ``f(0) = log q``, ``f(i) = 0`` for ``i >= 1``.

    Examples
    --------
    >>> from unmask import joints
    >>> joints.all_equal(2, 3).probs.round(4).tolist()
    [[0.3333, 0.0, 0.0], [0.0, 0.3333, 0.0], [0.0, 0.0, 0.3333]]
    """
    size = check_dense_size(n, q)
    flat = np.zeros(size)
    step = sum(q**k for k in range(n))  # index of (x, x, ..., x) is x * step
    flat[np.arange(q) * step] = 1.0 / q
    return Joint(flat.reshape((q,) * n))


def parity(n: int) -> Joint:
    """Uniform law on binary strings of even parity (``n >= 2``).

    Any ``n - 1`` of the bits are independent fair bits; its information profile is
    ``f(n-2) = log 2``, else 0 (theory section 9).

    Examples
    --------
    >>> from unmask import joints
    >>> joints.parity(2).probs.tolist()
    [[0.5, 0.0], [0.0, 0.5]]
    """
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"parity needs n >= 2, got {n!r}")
    size = check_dense_size(n, 2, copies=4)
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

    Returns
    -------
    Joint
        ``p(x) = initial[x_0] prod_t P[x_t, x_{t+1}]`` on [q]^n.

    Examples
    --------
    >>> from unmask import joints
    >>> joints.markov_chain([[0.9, 0.1], [0.1, 0.9]], 2).probs.round(12).tolist()
    [[0.45, 0.05], [0.05, 0.45]]
    """
    P = _check_transition(transition)
    q = P.shape[0]
    check_dense_size(n, q, copies=3)
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
        Inverse temperature (finite; negative values flip the couplings and fields).

    Returns
    -------
    Joint
        The law on {0,1}^n, variable ``j`` being spin ``s_j = 2 x_j - 1``.

    Raises
    ------
    ValueError
        For a non-square or asymmetric ``J``, wrong ``fields``, a non-finite ``beta``, or an
        energy that overflows float64.
    MemoryError
        Before allocating, when the ``2**n`` states and their spins do not fit in memory.

    Examples
    --------
    >>> from unmask import joints
    >>> law = joints.ising([[0.0, 1.0], [1.0, 0.0]])
    >>> round(float(law.probs[0, 0]), 6)  # e / (2 e + 2 / e)
    0.440399
    """
    if isinstance(beta, (bool, np.bool_)) or not isinstance(
        beta, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"beta must be a real number, got {beta!r}")
    if not math.isfinite(float(beta)):
        raise ValueError(f"beta must be finite, got {beta!r}")
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
    # the spins table (size x n) and a few size-long work arrays besides the joint itself
    check_memory(8.0 * size * (n + 4), f"the Ising energies on {{0,1}}^{n}")
    idx = np.arange(size)
    spins = np.empty((size, n))
    for j in range(n):
        spins[:, j] = 2.0 * ((idx >> (n - 1 - j)) & 1) - 1.0  # variable 0 is the slowest axis
    Ju = np.triu(J, 1)
    with np.errstate(over="ignore", invalid="ignore"):
        energy = np.einsum("si,ij,sj->s", spins, Ju, spins) + spins @ h
        logits = float(beta) * energy
    if not np.all(np.isfinite(logits)):
        raise ValueError("beta * energy overflows float64: couplings or fields are too large")
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

    Returns
    -------
    Joint
        The mixture law on [q]^n.

    Examples
    --------
    >>> from unmask import joints
    >>> comps = [[[1.0, 0.0], [1.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]]]
    >>> joints.mixture_of_products([0.5, 0.5], comps) == joints.all_equal(2)
    True
    """
    w = as_probability_array(weights, name="mixture weights")
    comp = np.asarray(components, dtype=np.float64)
    if comp.ndim != 3 or comp.shape[0] != w.size:
        raise ValueError(
            f"components must have shape (C, n, q) with C = {w.size}, got {comp.shape}"
        )
    _, n, q = comp.shape
    check_dense_size(n, q, copies=4)
    total = np.zeros((q,) * n)
    for c in range(w.size):
        total += w[c] * independent(comp[c]).probs
    return Joint(total, normalize=True)


def random(n: int, q: int = 2, concentration: float = 1.0, seed: Any = None) -> Joint:
    """A random law: Dirichlet(``concentration``) weights on all ``q**n`` sequences.

    Small concentrations give peaked laws with strong dependence; large ones nearly uniform.

    Parameters
    ----------
    n, q : int
        Number of variables (>= 1) and alphabet size (>= 2).
    concentration : float
        Dirichlet parameter, > 0.
    seed : int or numpy.random.Generator, optional
        Seed for ``numpy.random.default_rng``: the same seed gives the same law.

    Returns
    -------
    Joint

    Examples
    --------
    >>> from unmask import joints
    >>> law = joints.random(3, 2, seed=0)
    >>> (law.n, law.q, law == joints.random(3, 2, seed=0))
    (3, 2, True)
    """
    if isinstance(concentration, (bool, np.bool_)) or not isinstance(
        concentration, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"concentration must be a positive number, got {concentration!r}")
    if not math.isfinite(float(concentration)) or concentration <= 0:
        raise ValueError(f"concentration must be a positive number, got {concentration!r}")
    size = check_dense_size(n, q, copies=3)
    rng = np.random.default_rng(seed)
    g = rng.gamma(concentration, size=size)
    top = float(g.max())
    if top == 0:  # pragma: no cover - astronomically unlikely underflow
        g[rng.integers(size)] = 1.0
        top = 1.0
    g /= top  # a huge concentration gives draws near 1e308: their sum would overflow to inf
    return Joint((g / g.sum()).reshape((q,) * n), normalize=True)


def from_samples(samples: Any, q: int | None = None) -> Joint:
    """Empirical law of integer samples of shape ``(m, n)`` with values in ``0..q-1``.

    Parameters
    ----------
    samples : array_like of int
        Row ``r`` is one sequence ``x_0..x_{n-1}``; integral floats are accepted.
    q : int, optional
        Alphabet size, >= 2 (default: the largest symbol + 1, at least 2).

    Returns
    -------
    Joint
        ``p(x)`` = fraction of rows equal to ``x``.

    Raises
    ------
    ValueError
        For a wrong shape, non-integral or negative symbols, a symbol ``>= q`` or a bad ``q``.
    TypeError
        For non-numeric samples.
    MemoryError
        Before allocating, when the ``q**n`` table does not fit in memory.

    Examples
    --------
    >>> from unmask import joints
    >>> joints.from_samples([[0, 1], [0, 1], [1, 1], [1, 0]]).probs.tolist()
    [[0.0, 0.5], [0.25, 0.25]]
    """
    x = np.asarray(samples)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"samples must have shape (m, n) with m, n >= 1, got {x.shape}")
    if q is not None and (
        isinstance(q, (bool, np.bool_)) or not isinstance(q, (int, np.integer)) or q < 2
    ):
        raise ValueError(f"q must be an integer >= 2 or None, got {q!r}")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_) or np.issubdtype(
        x.dtype, np.complexfloating
    ):
        raise TypeError(f"samples must be an integer array, got dtype {x.dtype}")
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
    size = check_dense_size(n, qq, copies=3)
    flat = np.ravel_multi_index(tuple(x.T.astype(np.intp)), (qq,) * n)
    counts = np.bincount(flat, minlength=size).astype(np.float64)
    return Joint((counts / counts.sum()).reshape((qq,) * n), normalize=True)


def from_dit(dist: Any) -> Joint:
    """Convert a ``dit.Distribution`` whose outcomes are length-n sequences of symbols.

    Symbols of each variable are sorted and mapped to ``0..q-1`` with one common ``q`` (the
    largest alphabet); missing outcomes get probability 0. The relabelling of each variable
    changes no entropy.

    Raises
    ------
    ValueError
        When the distribution has no outcomes or outcomes of different lengths.

    Examples
    --------
    >>> import dit
    >>> from unmask import joints
    >>> joints.from_dit(dit.Distribution(["00", "11"], [0.5, 0.5])).probs.tolist()
    [[0.5, 0.0], [0.0, 0.5]]
    """
    outcomes = list(dist.outcomes)
    if not outcomes:
        raise ValueError("the dit distribution has no outcomes")
    n = len(outcomes[0])
    if n < 1 or any(len(o) != n for o in outcomes):
        raise ValueError(
            "dit outcomes must all be sequences of the same length n >= 1, got lengths "
            f"{sorted({len(o) for o in outcomes})}"
        )
    alphabets = [sorted({o[j] for o in outcomes}) for j in range(n)]
    q = max(2, *(len(a) for a in alphabets))
    size = check_dense_size(n, q)
    index = [{s: i for i, s in enumerate(a)} for a in alphabets]
    flat = np.zeros(size)
    pmf = np.asarray(dist.copy(base="linear").pmf, dtype=np.float64)
    for o, p in zip(outcomes, pmf, strict=True):
        flat[np.ravel_multi_index(tuple(index[j][o[j]] for j in range(n)), (q,) * n)] += p
    return Joint(flat.reshape((q,) * n), normalize=True)


def to_dit(joint: Any, min_prob: float = 0.0) -> Any:
    """Convert to a ``dit.Distribution`` over tuples of ints (needs the optional ``dit``).

    Outcomes with probability ``<= min_prob`` are left out (dit then renormalises nothing:
    keep ``min_prob = 0`` for an exact copy).

    Raises
    ------
    ValueError
        When no outcome has probability above ``min_prob``.

    Examples
    --------
    >>> from unmask import joints
    >>> d = joints.to_dit(joints.parity(2))
    >>> sorted(d.outcomes)
    [(0, 0), (1, 1)]
    """
    joint = joint if isinstance(joint, Joint) else Joint(joint)
    try:
        import dit
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("to_dit needs the optional dependency dit (pip install dit)") from exc
    flat = joint.flat
    keep = np.nonzero(flat > min_prob)[0]
    if keep.size == 0:
        raise ValueError(f"no outcome has probability above min_prob = {min_prob}")
    outcomes = [tuple(int(v) for v in np.unravel_index(i, joint.probs.shape)) for i in keep]
    return dit.Distribution(outcomes, flat[keep].tolist())
