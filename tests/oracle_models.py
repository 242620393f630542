"""Exact conditional "models" for the estimator tests and benches (plain numpy, independent of
the package's profile code): q_j(. | x_A) computed straight from a joint law or a Markov chain."""

from __future__ import annotations

import numpy as np


def joint_model(joint, temperature: float = 1.0):
    """model(values, mask) -> (B, n, q) with p(x_j | x_A) from the support of a dense joint.

    temperature != 1 returns the tempered conditionals q_j ∝ p(x_j | x_A)^(1/T) (an imperfect
    model with known direction of bias)."""
    probs = np.asarray(joint.probs)
    _n, q = probs.ndim, probs.shape[0]
    flat = probs.reshape(-1)
    idx = np.nonzero(flat)[0]
    support = np.stack(np.unravel_index(idx, probs.shape), axis=1)  # (s, n)
    weights = flat[idx]
    onehot = np.eye(q)[support]  # (s, n, q)

    def model(values, mask):
        values = np.asarray(values)
        mask = np.asarray(mask)
        agree = (support[None, :, :] == values[:, None, :]) | mask[:, None, :]  # (B, s, n)
        w = np.where(agree.all(axis=2), weights[None, :], 0.0)  # (B, s)
        cond = np.einsum("bs,snq->bnq", w, onehot)
        cond /= w.sum(axis=1)[:, None, None]
        if temperature != 1.0:
            with np.errstate(divide="ignore"):
                cond = np.where(cond > 0, cond ** (1.0 / temperature), 0.0)
            cond /= cond.sum(axis=2, keepdims=True)
        return cond

    return model


def markov_model(transition, n: int, initial=None):
    """Exact conditionals of a Markov chain: q_j(x) ∝ m_j-or-P^(j-l)[x_l, x] * P^(r-j)[x, x_r],
    with l, r the nearest unmasked positions (brute-force matrix powers, numpy only)."""
    P = np.asarray(transition, dtype=np.float64)
    q = P.shape[0]
    if initial is None:
        w, v = np.linalg.eig(P.T)
        pi = np.real(v[:, np.argmin(np.abs(w - 1.0))])
        mu = pi / pi.sum()
    else:
        mu = np.asarray(initial, dtype=np.float64)
    powers = np.empty((n + 1, q, q))
    powers[0] = np.eye(q)
    for d in range(1, n + 1):
        powers[d] = powers[d - 1] @ P
    marg = np.einsum("a,dab->db", mu, powers[:n])  # law of X_t

    def model(values, mask):
        values = np.asarray(values)
        mask = np.asarray(mask)
        B = values.shape[0]
        pos = np.arange(n)
        left = np.where(~mask, pos[None, :], -1)
        left = np.maximum.accumulate(left, axis=1)
        right = np.where(~mask, pos[None, :], n)
        right = np.minimum.accumulate(right[:, ::-1], axis=1)[:, ::-1]
        rows = np.arange(B)[:, None]
        has_l = left >= 0
        has_r = right < n
        xl = values[rows, np.where(has_l, left, 0)]
        xr = values[rows, np.where(has_r, right, 0)]
        dl = np.where(has_l, pos[None, :] - left, 0)
        dr = np.where(has_r, right - pos[None, :], 0)
        left_part = np.where(has_l[..., None], powers[dl, xl], marg[None, :, :])  # (B, n, q)
        right_part = np.where(has_r[..., None], powers[dr, :, xr], 1.0)
        out = left_part * right_part
        return out / out.sum(axis=2, keepdims=True)

    return model


def markov_sampler(transition, n: int, initial=None):
    """data(size, rng) -> (size, n) draws of the chain."""
    P = np.asarray(transition, dtype=np.float64)
    q = P.shape[0]
    if initial is None:
        w, v = np.linalg.eig(P.T)
        pi = np.real(v[:, np.argmin(np.abs(w - 1.0))])
        mu = pi / pi.sum()
    else:
        mu = np.asarray(initial, dtype=np.float64)
    cum = np.cumsum(P, axis=1)

    def sample(size, rng):
        x = np.empty((size, n), dtype=np.int64)
        x[:, 0] = rng.choice(q, size=size, p=mu)
        u = rng.random((size, n))
        for t in range(1, n):
            x[:, t] = np.minimum((u[:, t, None] > cum[x[:, t - 1]]).sum(axis=1), q - 1)
        return x

    return sample
