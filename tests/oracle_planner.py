"""Independent oracles for deterministic planners (test-only; never imported by the package).

Written from the definitions of theory sections 2 and 12 with plain numpy sums over the joint
and Python recursion over dicts of assigned values, sharing no code with unmask's marginal
tables, C++ DP or identity:

* :func:`policy_law` - the law of a deterministic policy by simulating every path;
* :func:`all_policies` - every deterministic policy (as a tree) for tiny laws;
* :func:`brute_force_best` - the smallest ``KL(p || q_pi)`` over all of them, each KL computed
  from the policy's law (not through the additivity identity);
* :func:`recursion_best` - a memoised top-down recursion over ``(A, x_A, k)`` whose step cost is
  ``TC(X_T | x_A)`` read from numpy marginals (plus the learning KL of a second law).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Iterator

import numpy as np

Assigned = tuple[tuple[int, int], ...]  # sorted (position, value) pairs


def _marginal(p: np.ndarray, keep: tuple[int, ...]) -> np.ndarray:
    drop = tuple(v for v in range(p.ndim) if v not in keep)
    return p.sum(axis=drop) if drop else p


def prob_of(p: np.ndarray, assigned: Assigned) -> float:
    """p(X_A = x_A)."""
    return _prob_cached(p.tobytes(), p.shape, assigned)


@functools.lru_cache(maxsize=200_000)
def _prob_cached(raw: bytes, shape: tuple[int, ...], assigned: Assigned) -> float:
    p = np.frombuffer(raw, dtype=np.float64).reshape(shape)
    keep = tuple(j for j, _ in assigned)
    if not keep:
        return float(p.sum())
    return float(_marginal(p, keep)[tuple(v for _, v in assigned)])


def conditional(p: np.ndarray, assigned: Assigned, j: int) -> np.ndarray:
    """p(x_j | x_A), uniform where p(x_A) = 0."""
    q = p.shape[0]
    row = np.array([prob_of(p, tuple(sorted((*assigned, (j, v))))) for v in range(q)])
    total = row.sum()
    return row / total if total > 0 else np.full(q, 1.0 / q)


def _allowed(n: int, assigned: Assigned, width: int | None) -> list[int]:
    done = {j for j, _ in assigned}
    masked = [j for j in range(n) if j not in done]
    if width is None or not masked:
        return masked
    b = masked[0] // width
    return [j for j in masked if b * width <= j < (b + 1) * width]


def policy_law(p: np.ndarray, policy: Callable[[Assigned], tuple[int, ...]],
               cond_law: np.ndarray | None = None) -> np.ndarray:
    """Law of a deterministic policy: every path simulated, draws from ``cond_law``'s
    conditionals (default ``p``'s)."""
    n, q = p.ndim, p.shape[0]
    src = p if cond_law is None else cond_law
    out = np.zeros(p.shape)

    def walk(assigned: Assigned, mass: float) -> None:
        if len(assigned) == n:
            out[tuple(v for _, v in assigned)] += mass
            return
        tset = policy(assigned)
        rows = [conditional(src, assigned, j) for j in tset]
        for xs in itertools.product(range(q), repeat=len(tset)):
            pr = mass * math.prod(float(r[v]) for r, v in zip(rows, xs))
            if pr > 0:
                walk(tuple(sorted((*assigned, *zip(tset, xs)))), pr)

    walk((), 1.0)
    return out


def kl_direct(p: np.ndarray, q_law: np.ndarray) -> float:
    live = p > 0
    if np.any(live & (q_law <= 0)):
        return math.inf
    return float(np.sum(p[live] * np.log(p[live] / q_law[live])))


# -- every deterministic policy ----------------------------------------------------------------
def all_policies(p: np.ndarray, budget: int | None = None, sizes: tuple[int, ...] | None = None,
                 width: int | None = None) -> Iterator[dict[Assigned, tuple[int, ...]]]:
    """Every deterministic policy, as {state: set}, on the states of positive probability.

    Choices at states of probability 0 do not change ``q_pi`` on the support of ``p`` (each of
    its paths only passes through states of positive probability), so they are left out.
    """
    n, q = p.ndim, p.shape[0]

    def trees(assigned: Assigned, k: int) -> list[dict[Assigned, tuple[int, ...]]]:
        if len(assigned) == n:
            return [{}]
        if sizes is None and k == 0:
            return []
        allowed = _allowed(n, assigned, width)
        out: list[dict[Assigned, tuple[int, ...]]] = []
        if sizes is not None:
            step = len(sizes) - k
            options = [c for c in itertools.combinations(allowed, sizes[step])]
        else:
            options = [c for r in range(1, len(allowed) + 1)
                       for c in itertools.combinations(allowed, r)]
        for tset in options:
            kids = []
            for xs in itertools.product(range(q), repeat=len(tset)):
                child = tuple(sorted((*assigned, *zip(tset, xs))))
                if prob_of(p, child) > 0:
                    kids.append(trees(child, k - 1))
            for combo in itertools.product(*kids):
                tree = {assigned: tset}
                for sub in combo:
                    tree.update(sub)
                out.append(tree)
        return out

    k0 = len(sizes) if sizes is not None else budget
    assert k0 is not None
    yield from trees((), k0)


def brute_force_best(p: np.ndarray, budget: int | None = None,
                     sizes: tuple[int, ...] | None = None,
                     width: int | None = None) -> tuple[float, int]:
    """(smallest KL over every deterministic policy, number of policies)."""
    best, count = math.inf, 0
    for tree in all_policies(p, budget, sizes, width):
        count += 1
        law = policy_law(p, lambda a, t=tree: t[a] if a in t else _fallback(p, a, width))
        best = min(best, kl_direct(p, law))
    return best, count


def _fallback(p: np.ndarray, assigned: Assigned, width: int | None) -> tuple[int, ...]:
    # a state of probability 0: anything admissible (it does not change KL(p || q))
    return tuple(_allowed(p.ndim, assigned, width))


# -- an independent recursion ------------------------------------------------------------------
def _entropy(v: np.ndarray) -> float:
    live = v[v > 0]
    return float(-np.sum(live * np.log(live)))


def recursion_best(p: np.ndarray, budget: int | None = None,
                   sizes: tuple[int, ...] | None = None, width: int | None = None,
                   p_hat: np.ndarray | None = None) -> float:
    """min over policies of E_p sum_k [TC(X_T | x_A) + sum_j KL(p_j || p_hat_j)], top-down."""
    n, q = p.ndim, p.shape[0]

    @functools.cache
    def marginal(keep: tuple[int, ...]) -> np.ndarray:
        return _marginal(p, keep)

    def cond_block(assigned: Assigned, tset: tuple[int, ...]) -> np.ndarray:
        """p(x_T | x_A) as an array over T (sorted)."""
        keep = tuple(sorted([*(j for j, _ in assigned), *tset]))
        m = marginal(keep)
        fixed = dict(assigned)
        idx = tuple(fixed[j] if j in fixed else slice(None) for j in keep)
        block = np.asarray(m[idx], dtype=np.float64)
        return block / block.sum()

    @functools.cache
    def value(assigned: Assigned, k: int) -> float:
        if len(assigned) == n:
            return 0.0
        if sizes is None and k == 0:
            return math.inf
        allowed = _allowed(n, assigned, width)
        if sizes is not None:
            step = len(sizes) - k
            options = list(itertools.combinations(allowed, sizes[step]))
        else:
            options = [c for r in range(1, len(allowed) + 1)
                       for c in itertools.combinations(allowed, r)]
        best = math.inf
        for tset in options:
            joint_t = cond_block(assigned, tset)
            own = -_entropy(joint_t.ravel())
            for axis, j in enumerate(tset):
                pj = joint_t.sum(axis=tuple(a for a in range(len(tset)) if a != axis))
                own += _entropy(pj)
                if p_hat is not None:
                    qj = conditional(p_hat, assigned, j)
                    live = pj > 0
                    own += (math.inf if np.any(live & (qj <= 0))
                            else float(np.sum(pj[live] * np.log(pj[live] / qj[live]))))
            own = max(own, 0.0) if p_hat is None else own
            future = 0.0
            for xs in itertools.product(range(q), repeat=len(tset)):
                r = float(joint_t[xs])
                if r > 0:
                    future += r * value(tuple(sorted((*assigned, *zip(tset, xs)))), k - 1)
            best = min(best, own + future)
        return best

    k0 = len(sizes) if sizes is not None else budget
    assert k0 is not None
    return value((), k0)


def maxprob_policy(p: np.ndarray, sizes: tuple[int, ...]) -> Callable[[Assigned], tuple[int, ...]]:
    """Take the s_k masked positions with the largest max_x p(x_j = x | x_A) (ties: smaller j)."""
    n = p.ndim
    starts = dict(zip(itertools.accumulate((0, *sizes[:-1])), sizes))

    def policy(assigned: Assigned) -> tuple[int, ...]:
        done = {j for j, _ in assigned}
        scored = sorted((-float(conditional(p, assigned, j).max()), j)
                        for j in range(n) if j not in done)
        return tuple(sorted(j for _, j in scored[: starts[len(assigned)]]))

    return policy
