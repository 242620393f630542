"""Benchmark: the best deterministic planner (unmask.optimal_planner, issue 16).

In the same run: a plain Python DP written here (memoised recursion over (A, x_A, k), the
conditional tables from numpy marginals: what a researcher writes first) at sizes it can do,
asserted equal to unmask (1e-10 relative); then unmask alone at the issue's target sizes
(binary n = 10, K = 4 and q = 3, n = 7, each asserted <= 10 s), and the growth of the time with
n and K. Peak memory is the high-water mark of the resident set during the call. Usage:

    python bench/bench_planner.py            # everything (about a minute on 2 cores)
    python bench/bench_planner.py --quick    # the comparisons and the targets only
"""

from __future__ import annotations

import argparse
import functools
import itertools
import math
import sys
import time

import numpy as np
from _common import hwm_rss_mib, reset_peak_rss, table

import unmask
from unmask._core_loader import core

TARGET_SECONDS = 10.0


def python_dp(p: np.ndarray, budget: int) -> float:
    """min over deterministic planners with at most `budget` steps of E_p sum_k TC(X_T | x_A)."""
    n, q = p.ndim, p.shape[0]

    @functools.cache
    def marginal(keep: tuple[int, ...]) -> np.ndarray:
        drop = tuple(v for v in range(n) if v not in keep)
        return p.sum(axis=drop) if drop else p

    def entropy(v: np.ndarray) -> float:
        live = v[v > 0]
        return float(-np.sum(live * np.log(live)))

    @functools.cache
    def value(assigned: tuple[tuple[int, int], ...], k: int) -> float:
        if len(assigned) == n:
            return 0.0
        if k == 0:
            return math.inf
        fixed = dict(assigned)
        masked = [j for j in range(n) if j not in fixed]
        best = math.inf
        for r in range(1, len(masked) + 1):
            for tset in itertools.combinations(masked, r):
                keep = tuple(sorted([*fixed, *tset]))
                block = marginal(keep)[tuple(fixed[j] if j in fixed else slice(None)
                                             for j in keep)]
                block = block / block.sum()
                tc = -entropy(block.ravel()) + sum(
                    entropy(block.sum(axis=tuple(a for a in range(r) if a != i)))
                    for i in range(r))
                future = 0.0
                for xs in itertools.product(range(q), repeat=r):
                    if block[xs] > 0:
                        future += block[xs] * value(
                            tuple(sorted((*assigned, *zip(tset, xs)))), k - 1)
                best = min(best, max(tc, 0.0) + future)
        return best

    return value((), budget)


def run_unmask(p: unmask.Joint, steps: int, threads: int | None = None) -> tuple[float, float,
                                                                                 float]:
    reset_peak_rss()
    before = hwm_rss_mib()
    t0 = time.perf_counter()
    best = unmask.optimal_planner(p, steps, threads=threads)
    seconds = time.perf_counter() - t0
    return seconds, best.kl, hwm_rss_mib() - before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(f"threads available: {core.max_threads()}")

    print("\n## unmask against the plain Python DP (equal results asserted)\n")
    rows = []
    for n, q, k in [(6, 2, 3), (7, 2, 3), (5, 3, 3)] + ([] if args.quick else [(8, 2, 3)]):
        p = unmask.joints.random(n, q, concentration=0.5, seed=n + 10 * q)
        t0 = time.perf_counter()
        ref = python_dp(p.probs, k)
        t_py = time.perf_counter() - t0
        t_c, got, _ = run_unmask(p, k)
        assert abs(got - ref) <= 1e-10 * max(1.0, ref), (n, q, k, got, ref)
        rows.append([n, q, k, f"{got:.6f}", t_py, t_c, t_py / t_c])
    print(table(rows, ["n", "q", "K", "best KL", "python s", "unmask s", "ratio"]))

    print("\n## targets of issue 16 (each <= 10 s)\n")
    rows = []
    for n, q, k in [(10, 2, 4), (7, 3, 4), (7, 3, 7)]:
        p = unmask.joints.random(n, q, concentration=0.5, seed=1)
        seconds, kl, mem = run_unmask(p, k)
        assert seconds <= TARGET_SECONDS, (n, q, k, seconds)
        # the identity: the DP's value is the KL of the planner's exact law
        best = unmask.optimal_planner(p, k)
        assert abs(unmask.kl(p, best.law) - kl) <= 1e-9 * max(1.0, kl)
        work = core.planner_work(n, q, k, [], 0)
        rows.append([n, q, k, f"{kl:.6f}", seconds, f"{work:.3g}", mem])
    print(table(rows, ["n", "q", "K", "best KL", "unmask s", "evaluations (no pruning)",
                       "peak MiB"]))
    if args.quick:
        return 0

    print("\n## growth with n (binary, K = 4; one thread and all cores)\n")
    rows = []
    for n in range(6, 13):
        p = unmask.joints.random(n, 2, concentration=0.5, seed=n)
        t1, kl, mem = run_unmask(p, 4, threads=1)
        tall, _, _ = run_unmask(p, 4)
        work = core.planner_work(n, 2, 4, [], 0)
        rows.append([n, f"{kl:.6f}", t1, tall, f"{3**n:.3g}", f"{work:.3g}", mem])
    print(table(rows, ["n", "best KL", "1 thread s", "all s", "states 3^n",
                       "evaluations (5^n (K+1))", "peak MiB"]))

    print("\n## growth with K (binary n = 10; the constant schedule of K steps for comparison)\n")
    rows = []
    p = unmask.joints.random(10, 2, concentration=0.5, seed=3)
    for k in (1, 2, 3, 4, 6, 8, 10):
        t, kl, _ = run_unmask(p, k)
        t0 = time.perf_counter()
        sched = unmask.optimal_planner(p, unmask.Schedule.constant(10, k)).kl
        ts = time.perf_counter() - t0
        rows.append([k, f"{kl:.6f}", t, f"{sched:.6f}", ts])
    print(table(rows, ["K", "best KL (free sizes)", "s", "best KL (constant schedule)", "s"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
