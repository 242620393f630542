"""Benchmark: blockwise decoding, exactly (issue 11).

Three targets, each against the baseline a user would otherwise run, in the same run, with the
results asserted equal:

1. block profiles of a binary law with n = 20 (W = 5): ``unmask.block_profiles`` within 1.5x the
   time of ``unmask.profile``; baseline: numpy marginals of the joint for every needed subset
   ``prefix + T`` (its results must match);
2. Markov block profiles, n = 4096, W = 32, in <= 1 s; baseline: a numpy implementation of the
   nearest-neighbour formula over every triple (l, j, r) and every level (O(W^4) per block);
3. free allocation of K = 1024 steps over blocks of W = 1024, n = 1e5, in <= 1 s; baseline: every
   block's full optimal frontier (``unmask.optimal_frontier`` up to K - blocks + 1 steps) and a
   plain numpy min-plus DP. Two sources: the exact Markov block profiles and a power-law profile
   used as the (distinct per block) proxy.

  python bench/bench_blocks.py            # the issue's cases
  python bench/bench_blocks.py --quick    # smaller cases
"""

from __future__ import annotations

import argparse
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import current_rss_mib, hwm_rss_mib, isolated, reset_peak_rss, table, timed

STICKY = np.array([[0.9, 0.1], [0.2, 0.8]])


# -- 1. block profiles of a dense law --------------------------------------------------------
def numpy_block_profiles(probs: np.ndarray, width: int) -> list[np.ndarray]:
    """Every H(prefix + T) from numpy marginals of the joint, then level averages."""
    n = probs.ndim
    out = []
    for start in range(0, n, width):
        w = min(width, n - start)
        sums = np.zeros(w + 1)
        counts = np.zeros(w + 1)
        for t in range(1 << w):
            keep = list(range(start)) + [start + v for v in range(w) if t >> v & 1]
            drop = tuple(v for v in range(n) if v not in keep)
            marg = probs.sum(axis=drop) if drop else probs
            pos = marg[marg > 0]
            k = bin(t).count("1")
            sums[k] += float(-(pos * np.log(pos)).sum()) if keep else 0.0
            counts[k] += 1
        out.append(np.diff(sums / counts))
    return out


def case_dense(n: int, width: int) -> dict:
    import unmask

    joint = unmask.joints.random(n, 2, 0.5, seed=3)
    unmask.profile(unmask.joints.random(8, 2, 0.5, seed=0))  # warm up
    before = current_rss_mib()
    reset_peak_rss()
    t_prof, _ = timed(lambda: unmask.profile(joint, threads=None), repeat=3)
    t_blocks, profs = timed(lambda: unmask.block_profiles(joint, width, threads=None), repeat=3)
    peak = hwm_rss_mib()
    t_np, ref = timed(lambda: numpy_block_profiles(joint.probs, width))
    err = max(float(np.max(np.abs(p.h - r))) for p, r in zip(profs, ref, strict=True))
    return {"t_prof": t_prof, "t_blocks": t_blocks, "t_numpy": t_np, "err": err,
            "peak": peak, "before": before}


# -- 2. Markov block profiles ------------------------------------------------------------------
def numpy_markov_block_profiles(P: np.ndarray, n: int, width: int) -> list[np.ndarray]:
    """Every (l, j, r) triple of every block with its binomial weight, per level, in numpy."""
    q = P.shape[0]
    evals, evecs = np.linalg.eig(P.T)
    mu = np.real(evecs[:, np.argmin(np.abs(evals - 1))])
    mu = mu / mu.sum()
    powers = [np.eye(q)]
    for _ in range(width + 1):
        powers.append(powers[-1] @ P)

    def row_entropy(M: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(M > 0, -M * np.log(np.where(M > 0, M, 1)), 0).sum(axis=1)

    e = np.array([row_entropy(M) for M in powers])  # e[d, x]
    hmu = float(-(mu * np.log(mu)).sum())
    cond = e @ mu  # H(X_{t+d} | X_t), stationary
    out = []
    for start in range(0, n, width):
        w = min(width, n - start)
        anchored = start > 0
        h = np.zeros(w)
        for i in range(w):
            total = 0.0
            norm = math.comb(w, i) * (w - i)
            # local positions 1..w; l in {0 (anchor or nothing), 1..w}, r in {l+2..w, none}
            for lpos in range(0, w + 1):
                for r in [*range(lpos + 2, w + 1), None]:
                    if lpos >= 1 and r is None and lpos == w:
                        continue
                    req = (lpos >= 1) + (r is not None)
                    free = (lpos - 1 if lpos >= 1 else 0) + (w - r if r is not None else 0)
                    if not 0 <= i - req <= free:
                        continue
                    weight = math.comb(free, i - req)
                    hi = r if r is not None else w + 1
                    for j in range(lpos + 1, hi):
                        left_known = lpos >= 1 or anchored
                        if r is None:
                            val = cond[j - lpos] if left_known else hmu
                        elif left_known:
                            val = cond[j - lpos] + cond[r - j] - cond[r - lpos]
                        else:
                            val = hmu + cond[r - j] - hmu
                        total += weight * val
            h[i] = total / norm
        out.append(h)
    return out


def case_markov(n: int, width: int, baseline_blocks: int) -> dict:
    import unmask

    unmask.markov_block_profiles(STICKY, 64, 8)  # warm up
    before = current_rss_mib()
    reset_peak_rss()
    t, profs = timed(lambda: unmask.markov_block_profiles(STICKY, n, width), repeat=5)
    peak = hwm_rss_mib()
    # the baseline on the first `baseline_blocks` blocks, scaled to all of them
    sub = baseline_blocks * width
    t_np, ref = timed(lambda: numpy_markov_block_profiles(STICKY, sub, width))
    err = max(float(np.max(np.abs(p.h - r))) for p, r in zip(profs, ref, strict=False))
    blocks = math.ceil(n / width)
    return {"t": t, "t_numpy": t_np * blocks / baseline_blocks, "err": err, "peak": peak,
            "before": before, "blocks": blocks}


# -- 3. free allocation --------------------------------------------------------------------------
def baseline_free(profs: list, steps: int) -> float:
    import unmask

    nb = len(profs)
    kmax = steps - nb + 1
    fronts = []
    cache: dict[bytes, np.ndarray] = {}
    for p in profs:
        key = p.h.tobytes()
        if key not in cache:
            cache[key] = unmask.optimal_frontier(p, min(p.n, kmax)).costs
        fronts.append(cache[key])
    D = np.full(steps + 1, np.inf)
    D[0] = 0.0
    for F in fronts:
        new = np.full(steps + 1, np.inf)
        for j in range(1, F.size + 1):
            new[j:] = np.minimum(new[j:], D[: steps + 1 - j] + F[j - 1])
        D = new
    return float(D[steps])


def case_free(n: int, width: int, steps: int, source: str) -> dict:
    import unmask

    if source == "markov":
        profs = unmask.markov_block_profiles(STICKY, n, width)
    else:
        f = 1.0 / np.arange(1, n) ** 1.5
        whole = unmask.Profile.from_f(f, h_last=0.05)
        starts = [*range(0, n, width), n]
        profs = [unmask.Profile(whole.h[a:b]) for a, b in zip(starts[:-1], starts[1:])]
    unmask.optimal_block_schedule(profs[:2], 4, steps_per_block="free")  # warm up
    before = current_rss_mib()
    reset_peak_rss()
    t, bs = timed(lambda: unmask.optimal_block_schedule(profs, steps, steps_per_block="free"),
                  repeat=3)
    peak = hwm_rss_mib()
    t_np, best = timed(lambda: baseline_free(profs, steps))
    return {"t": t, "t_numpy": t_np, "cost": float(bs.cost), "best": best, "peak": peak,
            "before": before, "max_steps": max(bs.steps_per_block)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    import unmask

    print(f"unmask {unmask.__version__}, OpenMP {unmask._core.have_openmp()}, "
          f"{os.cpu_count()} CPUs\n")
    failures = []

    n_dense = 16 if args.quick else 20
    d = isolated(case_dense, n_dense, 5)
    ratio = d["t_blocks"] / d["t_prof"]
    print(f"1. block profiles, binary n = {n_dense}, W = 5")
    print(table([["unmask.profile", d["t_prof"], ""],
                 ["unmask.block_profiles", d["t_blocks"], f"{ratio:.2f}x profile"],
                 ["numpy marginals (baseline)", d["t_numpy"],
                  f"{d['t_numpy'] / d['t_blocks']:.0f}x slower"]],
                ["method", "time (s)", "ratio"]))
    print(f"max |h - baseline| = {d['err']:.2e}, peak RSS {d['peak']:.0f} MiB "
          f"(before {d['before']:.0f})\n")
    assert d["err"] < 1e-10, d["err"]
    if ratio > 1.5:
        failures.append(f"block_profiles {ratio:.2f}x profile (target <= 1.5x)")

    n_m, w_m = (1024, 32) if args.quick else (4096, 32)
    m = isolated(case_markov, n_m, w_m, 3)
    print(f"2. Markov block profiles, n = {n_m}, W = {w_m} ({m['blocks']} blocks)")
    print(table([["unmask.markov_block_profiles", m["t"], ""],
                 ["numpy triples (baseline, scaled from 3 blocks)", m["t_numpy"],
                  f"{m['t_numpy'] / m['t']:.0f}x slower"]],
                ["method", "time (s)", "ratio"]))
    print(f"max |h - baseline| = {m['err']:.2e}, peak RSS {m['peak']:.0f} MiB "
          f"(before {m['before']:.0f})\n")
    assert m["err"] < 1e-10, m["err"]
    if m["t"] > 1.0:
        failures.append(f"markov_block_profiles {m['t']:.2f} s (target <= 1 s)")

    n_f, w_f, k_f = (20_000, 256, 256) if args.quick else (100_000, 1024, 1024)
    for source in ("markov", "proxy"):
        r = isolated(case_free, n_f, w_f, k_f, source)
        print(f"3. free allocation ({source} block profiles), n = {n_f}, W = {w_f}, K = {k_f}")
        print(table([["unmask.optimal_block_schedule(free)", r["t"], ""],
                     ["full frontiers + numpy min-plus (baseline)", r["t_numpy"],
                      f"{r['t_numpy'] / r['t']:.1f}x slower"]],
                    ["method", "time (s)", "ratio"]))
        print(f"cost {r['cost']:.12g} vs baseline {r['best']:.12g}; most steps in one block "
              f"{r['max_steps']}; peak RSS {r['peak']:.0f} MiB (before {r['before']:.0f})\n")
        assert math.isclose(r["cost"], r["best"], rel_tol=1e-9, abs_tol=1e-12), (r["cost"],
                                                                                r["best"])
        if r["t"] > 1.0:
            failures.append(f"free allocation ({source}) {r['t']:.2f} s (target <= 1 s)")

    if failures:
        print("TARGETS MISSED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("all targets met")


if __name__ == "__main__":
    main()
