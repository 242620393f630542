"""Brute-force oracle for blockwise decoding (test-only; never imported by the package).

Enumerates every within-block order of every block (prod_b W_b! full orders), builds the fixed
-order sampler's law for each with the oracle of oracle_sampler (loops over all sequences) and
averages: the order-averaged KL and the mixture law of blockwise decoding with a uniformly random
order inside each block. Written independently of unmask. Meant for n <= 7.
"""

from __future__ import annotations

import itertools

import numpy as np
from oracle_sampler import exact_cond, kl_direct, partition_law


def block_orders(blocks: list[list[int]]):
    """Every ordered list of step sets: one permutation per block, cut by the block's sizes."""
    starts = np.concatenate([[0], np.cumsum([sum(b) for b in blocks])]).tolist()
    perms = [
        list(itertools.permutations(range(starts[b], starts[b + 1]))) for b in range(len(blocks))
    ]
    for choice in itertools.product(*perms):
        steps = []
        for b, perm in enumerate(choice):
            at = 0
            for s in blocks[b]:
                steps.append(list(perm[at : at + s]))
                at += s
        yield steps


def blockwise_brute_force(p: np.ndarray, blocks: list[list[int]], cond=None):
    """(order-averaged KL, mixture law) of blockwise decoding, by enumeration."""
    n, q = p.ndim, p.shape[0]
    cond = exact_cond(p) if cond is None else cond
    total_kl = 0.0
    mixture = np.zeros_like(p)
    count = 0
    for steps in block_orders(blocks):
        law = partition_law(n, q, steps, cond)
        total_kl += kl_direct(p, law)
        mixture += law
        count += 1
    return total_kl / count, mixture / count


def block_profile_direct(p: np.ndarray, widths: list[int]) -> list[np.ndarray]:
    """h_b(i) from its definition: mean over (S, j) of H(prefix + S + j) - H(prefix + S)."""
    from oracle_entropy import entropy_of, marginal

    n = p.ndim
    out = []
    start = 0
    for w in widths:
        block = list(range(start, start + w))
        prefix = sum(1 << v for v in range(start))
        h = np.zeros(w)
        for i in range(w):
            vals = []
            for S in itertools.combinations(block, i):
                base = prefix | sum(1 << v for v in S)
                for j in block:
                    if j in S:
                        continue
                    vals.append(
                        entropy_of(marginal(p, base | (1 << j))) - entropy_of(marginal(p, base))
                    )
            h[i] = np.mean(vals)
        out.append(h)
        start += w
    assert start == n
    return out
