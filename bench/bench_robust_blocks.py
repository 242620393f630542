"""Benchmark: blockwise schedules from estimated block profiles, judged by TRUE cost (issue 10/11).

Known truth: sticky Markov chains whose exact block profiles come from
``unmask.markov_block_profiles``. A model with the chain's exact conditionals is queried through
``unmask.estimate_block_profiles`` at a small number of samples per level; from those estimates

* ``optimal_block_schedule(est, K, W)`` (robust by default: each block's composition from
  ``robust_schedule``, equal steps per block),
* ``optimal_block_schedule(est, K, W, robust=False)`` (the exact optimum of the noisy curves,
  what the library returned before),
* the same two with ``steps_per_block="free"`` (robust compositions at the exact allocation),

are evaluated on the exact block profiles, against LLaDA's even split (``BlockSchedule.llada``,
what a user runs otherwise) and the exact optimum of the truth (equal steps per block).
Asserted target: the robust equal-steps schedule's mean true cost is never above LLaDA's in any
scenario and no seed is more than 5% above it.

  python bench/bench_robust_blocks.py            # 10 seeds
  python bench/bench_robust_blocks.py --quick    # 3 seeds, one scenario
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from _common import table
from oracle_models import markov_model, markov_sampler

CHAINS = {
    "sticky3": np.array([[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9]]),
    "sticky2": np.array([[0.9, 0.1], [0.2, 0.8]]),
}


def scenario(chain: str, n: int, width: int, spl: int, ks: list[int], seeds: int) -> list[dict]:
    import unmask

    P = CHAINS[chain]
    truth = unmask.markov_block_profiles(P, n, width)
    ests = [
        unmask.estimate_block_profiles(markov_model(P, n), markov_sampler(P, n), n, width,
                                       samples_per_level=spl, seed=seed)
        for seed in range(seeds)
    ]
    rows = []
    for k in ks:
        llada = unmask.expected_kl(truth, unmask.BlockSchedule.llada(n, k, width))
        best = unmask.optimal_block_schedule(truth, k, width).cost
        assert best is not None and best <= llada + 1e-12
        ratios: dict[str, list[float]] = {m: [] for m in ("robust", "exact", "rfree", "efree")}
        for est in ests:
            for name, mode, robust in (("robust", "equal", None), ("exact", "equal", False),
                                       ("rfree", "free", None), ("efree", "free", False)):
                bs = unmask.optimal_block_schedule(est, k, width, steps_per_block=mode,
                                                   robust=robust)
                ratios[name].append(unmask.expected_kl(truth, bs) / llada)
        r = {m: np.asarray(v) for m, v in ratios.items()}
        rows.append({
            "chain": chain, "n": n, "W": width, "spl": spl, "K": k,
            "llada": llada, "opt_vs_llada": best / llada,
            "robust_mean": float(r["robust"].mean()), "robust_worst": float(r["robust"].max()),
            "robust_vs_opt_mean": float((r["robust"] * llada / best).mean()),
            "robust_vs_opt_worst": float((r["robust"] * llada / best).max()),
            "exact_mean": float(r["exact"].mean()), "exact_worst": float(r["exact"].max()),
            "rfree_mean": float(r["rfree"].mean()), "rfree_worst": float(r["rfree"].max()),
            "efree_mean": float(r["efree"].mean()), "efree_worst": float(r["efree"].max()),
        })
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    seeds = 3 if args.quick else 10
    plan = [("sticky3", 64, 16, 32, [8, 16, 32])]
    if not args.quick:
        plan += [("sticky3", 64, 16, 8, [8, 16, 32]), ("sticky3", 64, 16, 128, [8, 16, 32]),
                 ("sticky2", 64, 16, 8, [8, 16, 32]), ("sticky2", 64, 16, 32, [8, 16, 32]),
                 ("sticky3", 16, 8, 32, [4, 8]), ("sticky3", 256, 64, 32, [16, 64])]
    t0 = time.perf_counter()
    rows = [row for spec in plan for row in scenario(*spec, seeds=seeds)]
    elapsed = time.perf_counter() - t0
    fmt = "{:.3f}".format
    header = ["chain", "n", "W", "samples/level", "K", "opt/LLaDA",
              "robust/LLaDA mean (worst)", "robust/opt mean (worst)",
              "robust=False/LLaDA mean (worst)", "free robust/LLaDA",
              "free robust=False/LLaDA"]
    print(table(
        [[r["chain"], r["n"], r["W"], r["spl"], r["K"], fmt(r["opt_vs_llada"]),
          f"{fmt(r['robust_mean'])} ({fmt(r['robust_worst'])})",
          f"{fmt(r['robust_vs_opt_mean'])} ({fmt(r['robust_vs_opt_worst'])})",
          f"{fmt(r['exact_mean'])} ({fmt(r['exact_worst'])})",
          f"{fmt(r['rfree_mean'])} ({fmt(r['rfree_worst'])})",
          f"{fmt(r['efree_mean'])} ({fmt(r['efree_worst'])})"] for r in rows],
        header,
    ))
    print(f"{seeds} seeds per scenario; {elapsed:.1f} s in all")
    worst_mean = max(r["robust_mean"] for r in rows)
    worst_seed = max(r["robust_worst"] for r in rows)
    print(f"robust equal steps vs LLaDA: worst scenario mean {worst_mean:.4f}, "
          f"worst seed {worst_seed:.4f}")
    assert worst_mean <= 1.0 + 1e-12, f"robust mean true cost above LLaDA's: {worst_mean}"
    assert worst_seed <= 1.05, f"a seed more than 5% above LLaDA: {worst_seed}"


if __name__ == "__main__":
    main()
