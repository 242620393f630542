"""Brute-force law of adaptive unmasking rules (test oracle; n <= 6, q <= 3).

Every trajectory is followed: at each state every joint draw of the candidates (all q^m of
them), every selection and every tie-break is enumerated, in plain Python. Conditionals are
computed here from the joint by summing axes (or by calling the user's callable one context at
a time); nothing is read from unmask's engine. The only shared convention is the definition of
a tie: scores are sorted, neighbours closer than 1e-12 * max(1, |score|) form one chain, and a
chain's scores all count as its smallest.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

TOL = 1e-12


def tie_classes(values: Sequence[float]) -> list[float]:
    """Representative of each value's tie chain (the chain's smallest value)."""
    order = sorted(range(len(values)), key=lambda t: values[t])
    out = [0.0] * len(values)
    rep = prev = None
    for t in order:
        v = values[t]
        if rep is None or v - prev > TOL * max(1.0, abs(v)):
            rep = v
        out[t] = rep
        prev = v
    return out


def exact_conditional(p: np.ndarray, temperature: float = 1.0) -> Callable[[tuple, int], list]:
    """``p(x_j = . | x_A)`` by summing ``p`` over the other masked axes (tempered if asked)."""
    n, q = p.ndim, p.shape[0]
    cache: dict[tuple[tuple[int, ...], int], list[float]] = {}

    def cond(x: tuple[int, ...], j: int) -> list[float]:
        key = (x, j)
        if key not in cache:
            index: list[Any] = [v if v >= 0 else slice(None) for v in x]
            index[j] = slice(None)
            sub = p[tuple(index)]  # axes: the masked variables, in increasing order
            masked = [v for v in range(n) if x[v] < 0]
            others = tuple(t for t, v in enumerate(masked) if v != j)
            vals = sub.sum(axis=others) if others else sub
            vals = [float(v) for v in np.asarray(vals).reshape(q)]
            if temperature != 1.0:
                top = max(vals)
                vals = [(v / top) ** (1.0 / temperature) if v > 0 else 0.0 for v in vals]
            total = sum(vals)
            cache[key] = [v / total for v in vals] if total > 0 else [1.0 / q] * q
        return cache[key]

    return cond


def callable_conditional(fn: Callable[..., Any], n: int) -> Callable[[tuple, int], list]:
    """One call of a user's ``fn(x, j)`` per context."""

    def cond(x: tuple[int, ...], j: int) -> list[float]:
        return [float(v) for v in np.asarray(fn(np.array([x], dtype=np.int64), j))[0]]

    return cond


def _score(rule: Any, probs: list[float], j: int) -> float:
    if rule == "random":
        return 0.0
    if rule == "max-prob":
        return max(probs)
    if rule == "margin":
        top = sorted(probs, reverse=True)
        return top[0] - top[1]
    if rule == "entropy":
        return sum(v * math.log(v) for v in probs if v > 0)
    return float(np.asarray(rule(np.array([probs]), np.array([j])))[0])


def _top_sets(cands: list[int], score: dict[int, float], s: int) -> list[tuple[int, ...]]:
    """Every s-subset that a 'take the s best' rule may pick (all equally likely)."""
    out = []
    for t in itertools.combinations(cands, s):
        rest = [score[j] for j in cands if j not in t]
        if not rest or min(score[j] for j in t) >= max(rest):
            out.append(t)
    return out


def brute_force_law(
    p: Any,
    rule: Any,
    sizes: Sequence[int] | None = None,
    tau: float | None = None,
    block_of: Sequence[int] | None = None,
    cond: Callable[[tuple, int], list] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Law (flat, C order) and steps pmf (index k = P(K = k)) of an adaptive rule.

    ``rule``: "random", "max-prob", "margin", "entropy", "sampled-prob", "threshold" or a
    scoring callable ``fn(probs, positions)``; ``sizes``: tokens per step (fixed-size rules);
    ``tau``: threshold; ``block_of``: block of each variable (decoded left to right).
    """
    p = np.asarray(p, dtype=float)
    n, q = p.ndim, p.shape[0]
    blocks = list(block_of) if block_of is not None else [0] * n
    cond = cond or exact_conditional(p)
    law = np.zeros(q**n)
    steps = np.zeros(n + 1)
    front: dict[tuple[tuple[int, ...], int], float] = {((-1,) * n, 0): 1.0}
    while front:
        nxt: dict[tuple[tuple[int, ...], int], float] = defaultdict(float)
        for (x, k), w in front.items():
            if -1 not in x:
                law[int(np.ravel_multi_index(x, (q,) * n))] += w
                steps[k] += w
                continue
            first = x.index(-1)
            cands = [v for v in range(n) if x[v] < 0 and blocks[v] == blocks[first]]
            probs = {j: cond(x, j) for j in cands}
            for x2, pr in _moves(rule, x, cands, probs, q, sizes[k] if sizes else 0, tau):
                if pr > 0:
                    nxt[(x2, k + 1)] += w * pr
        front = nxt
    return law, steps


def _moves(rule, x, cands, probs, q, s, tau):  # type: ignore[no-untyped-def]
    def reveal(values: dict[int, int]) -> tuple[int, ...]:
        y = list(x)
        for j, v in values.items():
            y[j] = v
        return tuple(y)

    if rule not in ("sampled-prob", "threshold"):  # take the s best, then draw them
        raw = [_score(rule, probs[j], j) for j in cands]
        score = dict(zip(cands, tie_classes(raw)))
        sets = _top_sets(cands, score, s)
        for t in sets:
            for ys in itertools.product(range(q), repeat=s):
                pr = math.prod(probs[j][y] for j, y in zip(t, ys)) / len(sets)
                yield reveal(dict(zip(t, ys))), pr
        return
    keys = [(j, y) for j in cands for y in range(q)]
    rep = dict(zip(keys, tie_classes([probs[j][y] for j, y in keys])))
    for ys in itertools.product(range(q), repeat=len(cands)):
        pr = math.prod(probs[j][y] for j, y in zip(cands, ys))
        if pr == 0:
            continue
        drawn = dict(zip(cands, ys))
        score = {j: rep[(j, drawn[j])] for j in cands}
        if rule == "sampled-prob":
            sets = _top_sets(cands, score, s)
            for t in sets:
                yield reveal({j: drawn[j] for j in t}), pr / len(sets)
            continue
        kept = [j for j in cands if score[j] - tau > TOL * max(1.0, tau)]
        if kept:
            yield reveal({j: drawn[j] for j in kept}), pr
            continue
        best = max(score.values())
        top = [j for j in cands if score[j] == best]
        for j in top:
            yield reveal({j: drawn[j]}), pr / len(top)
