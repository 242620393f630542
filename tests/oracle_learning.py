"""Slow oracle for ``unmask.learning_errors``: the original loop over all pairs ``(A, j)``.

Each pair sums the dense joint down to the one marginal of ``A + j`` and evaluates
``E_p KL(p(. | X_A) || q_j(. | X_A))`` with ``math.fsum`` (``O(n 2^(n-1) q^n)`` time). Tests and
the benchmark import it as the reference the vectorised path must reproduce.
"""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np

import unmask
from unmask.samplers.conditionals import Conditionals, as_conditionals


def learning_term(p: unmask.Joint, cond: Conditionals, prefix: tuple[int, ...], j: int) -> float:
    """``E_p[KL(p(. | X_A) || q_j(. | X_A))]`` for ``A = prefix``, summed with ``math.fsum``."""
    q = p.q
    avars = sorted(prefix)
    joint_aj = p.marginal([*avars, j])
    pos = sorted([*avars, j]).index(j)
    table = np.moveaxis(joint_aj, pos, -1).reshape(-1, q)  # rows: x_A (C order), cols: x_j
    pa = table.sum(axis=1)
    live = pa > 0
    log_qj = cond._log_block(avars, j)  # logs: strong tempering underflows q, not log q
    pj, log_qv, pa_live = table[live], log_qj[live], pa[live][:, None]
    support = pj > 0
    if np.any(np.isneginf(log_qv[support])):
        return math.inf
    terms = np.where(
        support,
        pj * (np.log(np.where(support, pj, 1.0)) - np.log(pa_live)
              - np.where(support, log_qv, 0.0)),
        0.0,
    )
    return max(0.0, math.fsum(terms.ravel().tolist()))


def learning_errors_loop(joint: unmask.Joint, conditionals: object) -> np.ndarray:
    """``eps(i)`` in nats by the plain loop over every ``(A, j)`` (no exact shortcut)."""
    p = joint if isinstance(joint, unmask.Joint) else unmask.Joint(joint)
    cond = as_conditionals(conditionals, p)
    n = p.n
    out = np.zeros(n)
    for i in range(n):
        terms = [
            learning_term(p, cond, prefix, j)
            for prefix in combinations(range(n), i)
            for j in range(n)
            if j not in prefix
        ]
        out[i] = math.inf if any(math.isinf(t) for t in terms) else math.fsum(terms) / len(terms)
    return out
