"""Benchmark: all 2^n subset entropies (issue 2).

Compares, in the same run and on the same laws:
  * unmask.subset_entropies (C++ lattice walk, all cores, and 1 thread),
  * the numpy code a researcher writes: every subset's marginal summed from a cached superset
    one variable larger (level by level, run where the cache fits in memory),
  * dit's per-subset entropy (n <= --dit-max-n).
Asserts equal results (1e-12 relative), prints times, ratios and peak RSS of isolated runs.

    python bench/bench_entropy.py            # the issue's cases
    python bench/bench_entropy.py --quick    # small cases only
"""

from __future__ import annotations

import argparse
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import current_rss_mib, hwm_rss_mib, isolated, reset_peak_rss, table, timed


def make_law(n: int, q: int) -> np.ndarray:
    import unmask

    return np.asarray(unmask.joints.random(n, q, concentration=0.5, seed=n * 31 + q).probs)


def numpy_baseline(P: np.ndarray) -> np.ndarray:
    """Each subset's marginal from a cached superset one variable larger, level by level."""
    n = P.ndim
    full = (1 << n) - 1
    out = np.zeros(1 << n)
    p = P[P > 0]
    out[full] = -(p * np.log(p)).sum()
    cache = {full: P}
    for _ in range(n - 1, 0, -1):
        nxt = {}
        for sup, table_ in cache.items():
            # children of sup whose *lowest* missing variable is above every removed one keep
            # each subset reached once: remove a variable smaller than sup's smallest missing one
            missing = [j for j in range(n) if not (sup >> j) & 1]
            limit = missing[0] if missing else n
            present = [j for j in range(n) if (sup >> j) & 1]
            for j in range(limit):
                sub = sup & ~(1 << j)
                m = table_.sum(axis=present.index(j))
                nxt[sub] = m
                v = m[m > 0]
                out[sub] = -(v * np.log(v)).sum()
        cache = nxt
    return out


def baseline_cache_bytes(n: int, q: int) -> float:
    return max(8.0 * math.comb(n, k) * q**k for k in range(n + 1))


def run_unmask(n: int, q: int, threads: int | None) -> dict:
    import unmask

    baseline = current_rss_mib()  # interpreter + numpy + unmask, before the law exists
    P = make_law(n, q)
    joint = unmask.Joint(P)
    reset_peak_rss()
    t, H = timed(
        lambda: unmask.subset_entropies(joint, threads=threads), repeat=2 if n <= 20 else 1
    )
    return {"time": t, "peak": hwm_rss_mib(), "before": baseline, "H": H}


def run_numpy(n: int, q: int) -> dict:
    before = current_rss_mib()
    P = make_law(n, q)
    reset_peak_rss()
    t, H = timed(lambda: numpy_baseline(P))
    return {"time": t, "peak": hwm_rss_mib(), "before": before, "H": H}


def run_dit(n: int, q: int) -> dict:
    import dit

    import unmask

    joint = unmask.Joint(make_law(n, q))
    dist = unmask.joints.to_dit(joint)

    def all_subsets() -> np.ndarray:
        out = np.zeros(1 << n)
        for A in range(1, 1 << n):
            out[A] = dit.shannon.entropy(dist, [j for j in range(n) if (A >> j) & 1])
        return out * math.log(2.0)  # dit reports bits

    t, H = timed(all_subsets)
    return {"time": t, "H": H}


def check(a: np.ndarray, b: np.ndarray, what: str) -> None:
    err = float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))
    assert err <= 1e-12, f"{what}: results differ (max rel err {err:.3g})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--dit-max-n", type=int, default=14)
    ap.add_argument("--numpy-max-bytes", type=float, default=6e9)
    args = ap.parse_args()
    cases = (
        [(10, 2), (12, 2), (8, 3)]
        if args.quick
        else [(12, 2), (14, 2), (16, 2), (18, 2), (20, 2), (22, 2), (12, 3), (10, 4)]
    )
    import unmask

    print(
        f"unmask {unmask.__version__}, kernel {unmask._core.plogp_kernel()}, "
        f"OpenMP {unmask._core.have_openmp()}, threads {unmask._core.max_threads()}"
    )
    rows = []
    for n, q in cases:
        ours = isolated(run_unmask, n, q, None)
        one = isolated(run_unmask, n, q, 1)
        check(ours["H"], one["H"], "threads")
        joint_mib = 8 * q**n / 2**20
        out_mib = 8 * 2**n / 2**20
        row = [f"{n}", f"{q}", ours["time"], one["time"]]
        if baseline_cache_bytes(n, q) <= args.numpy_max_bytes:
            base = isolated(run_numpy, n, q)
            check(ours["H"], base["H"], "numpy baseline")
            row += [base["time"], base["time"] / ours["time"]]
        else:
            row += ["(cache too big)", "-"]
        if n <= args.dit_max_n:
            d = isolated(run_dit, n, q)
            check(ours["H"], d["H"], "dit")
            row += [d["time"], d["time"] / ours["time"]]
        else:
            row += ["-", "-"]
        extra = ours["peak"] - ours["before"]
        row += [ours["peak"], (joint_mib + out_mib), extra / (joint_mib + out_mib)]
        rows.append(row)
        print(table([row], HEADER).splitlines()[-1], flush=True)
    print()
    print(table(rows, HEADER))


HEADER = [
    "n",
    "q",
    "unmask s",
    "1 thread s",
    "numpy s",
    "numpy/unmask",
    "dit s",
    "dit/unmask",
    "peak RSS MiB",
    "joint+out MiB",
    "peak growth/(joint+out)",
]

if __name__ == "__main__":
    main()
