"""Brute-force oracles for the factorized sampler (test-only; never imported by the package).

Everything is plain numpy / itertools over all sequences, all orders and all ordered set
partitions, written independently of unmask's level DP and marginal tables. Meant for n <= 6.
"""

from __future__ import annotations

import itertools
import math

import numpy as np


# -- conditionals ----------------------------------------------------------------------------
def exact_cond(p: np.ndarray, temperature: float = 1.0):
    """cond(avars, xa, j) -> law of x_j given x_A = xa (uniform if p(x_A) = 0), tempered."""
    n = p.ndim
    q = p.shape[0]

    def cond(avars, xa, j):
        keep = sorted([*avars, j])
        drop = tuple(v for v in range(n) if v not in keep)
        marg = p.sum(axis=drop) if drop else p
        out = np.empty(q)
        for x in range(q):
            values = dict(zip(avars, xa, strict=True))
            values[j] = x
            out[x] = marg[tuple(values[v] for v in keep)]
        if temperature != 1.0 and out.max() > 0:
            # in logs, shifted by the largest term: out ** (1/T) underflows for small T
            logs = np.log(np.where(out > 0, out, 1.0)) / temperature
            top = logs[out > 0].max()
            out = np.where(out > 0, np.exp(logs - top), 0.0)
        total = out.sum()
        return out / total if total > 0 else np.full(q, 1.0 / q)

    return cond


def callable_cond(fn, n: int):
    """Adapt a user callable fn(x, j) to the oracle's cond(avars, xa, j)."""

    def cond(avars, xa, j):
        row = np.full((1, n), -1, dtype=np.int64)
        for v, x in zip(avars, xa, strict=True):
            row[0, v] = x
        return np.asarray(fn(row, j), dtype=np.float64)[0]

    return cond


# -- laws ------------------------------------------------------------------------------------
def partition_law(n: int, q: int, blocks, cond) -> np.ndarray:
    """q(x) = prod_k prod_{j in B_k} cond(A_k, x_{A_k}, j)[x_j], by looping over all x."""
    out = np.zeros((q,) * n)
    for x in itertools.product(range(q), repeat=n):
        prob = 1.0
        done: list[int] = []
        for block in blocks:
            avars = sorted(done)
            xa = tuple(x[v] for v in avars)
            for j in block:
                prob *= cond(avars, xa, j)[x[j]]
            done.extend(block)
        out[x] = prob
    return out


def blocks_of(order, sizes):
    out, start = [], 0
    for s in sizes:
        out.append(list(order[start : start + s]))
        start += s
    return out


def ordered_set_partitions(variables, sizes):
    """Every ordered partition of `variables` into blocks of the given sizes."""
    if not sizes:
        yield []
        return
    for first in itertools.combinations(variables, sizes[0]):
        rest = [v for v in variables if v not in first]
        for tail in ordered_set_partitions(rest, sizes[1:]):
            yield [list(first), *tail]


def random_order_law(n: int, q: int, sizes, cond) -> np.ndarray:
    """The mixture over uniform orders: average over all ordered set partitions."""
    laws = [partition_law(n, q, b, cond) for b in ordered_set_partitions(list(range(n)), sizes)]
    return np.mean(laws, axis=0)


def order_average_kl(p: np.ndarray, sizes, cond) -> float:
    """E_sigma KL(p || q_sigma) over all n! orders."""
    n, q = p.ndim, p.shape[0]
    kls = [kl_direct(p, partition_law(n, q, blocks_of(perm, sizes), cond))
           for perm in itertools.permutations(range(n))]
    return float(np.mean(kls))


def kl_direct(p: np.ndarray, r: np.ndarray) -> float:
    total = 0.0
    for a, b in zip(p.ravel().tolist(), r.ravel().tolist(), strict=True):
        if a > 0:
            if b == 0:
                return math.inf
            total += a * math.log(a / b)
    return total


def bernoulli_compositions(betas, n: int) -> dict[tuple[int, ...], float]:
    """Law of the sizes (zero steps dropped) when each masked token is revealed w.p. beta_k."""
    law: dict[tuple[tuple[int, ...], int], float] = {((), 0): 1.0}
    for beta in betas:
        new: dict[tuple[tuple[int, ...], int], float] = {}
        for (comp, done), w in law.items():
            left = n - done
            for s in range(left + 1):
                pr = math.comb(left, s) * beta**s * (1 - beta) ** (left - s)
                if pr == 0:
                    continue
                key = (comp + ((s,) if s else ()), done + s)
                new[key] = new.get(key, 0.0) + w * pr
        law = new
    out: dict[tuple[int, ...], float] = {}
    for (comp, done), w in law.items():
        assert done == n
        out[comp] = out.get(comp, 0.0) + w
    return out


def product_of_marginals(p: np.ndarray) -> np.ndarray:
    n = p.ndim
    out = np.ones(())
    for j in range(n):
        out = np.multiply.outer(out, p.sum(axis=tuple(v for v in range(n) if v != j)))
    return out
