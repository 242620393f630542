"""Regenerate docs/img/evidence_true_cost_vs_budget.png (the figure of docs/evidence.md).

True cost (exact expected KL on the exact profile) of schedules chosen from a Monte Carlo estimate
of a 3-state Markov chain (n = 128, exact conditionals), against the samples per level: the robust
choice (``optimal_schedule`` on the estimate, the default), the exact optimum of the estimated
curve (``robust=False``), the constant schedule and the true optimum. Mean over 10 seeds, K = 16
and K = 64. Run from the repository root: ``python docs/img/make_evidence_figure.py`` (needs
matplotlib; about two minutes).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from bench_evidence import chain, markov_model, markov_sampler

import unmask

N, SEEDS, BUDGETS, KS = 128, 10, (8, 16, 32, 64, 128, 256), (16, 64)
P = chain("sticky3")
truth = unmask.markov_profile(P, N)
model, data = markov_model(P, N), markov_sampler(P, N)
fig, axes = plt.subplots(1, len(KS), figsize=(8.5, 3.4), sharey=False)
for ax, k in zip(axes, KS, strict=True):
    best = unmask.expected_kl(truth, unmask.optimal_schedule(truth, k))
    const = unmask.expected_kl(truth, unmask.Schedule.constant(N, k)) / best
    robust, naive = [], []
    for spl in BUDGETS:
        r, v = [], []
        for seed in range(SEEDS):
            prof = unmask.estimate_profile(model, data, N, samples_per_level=spl, seed=seed)
            r.append(unmask.expected_kl(truth, unmask.optimal_schedule(prof, k)) / best)
            v.append(unmask.expected_kl(truth, unmask.optimal_schedule(prof, k, robust=False))
                     / best)
        robust.append(np.mean(r))
        naive.append(np.mean(v))
        print(f"K={k} {spl}/level: robust {robust[-1]:.3f} naive {naive[-1]:.3f} "
              f"constant {const:.3f}", flush=True)
    ax.axhline(1.0, color="black", lw=1, label="true optimum")
    ax.axhline(const, color="tab:gray", ls="--", label="constant")
    ax.plot(BUDGETS, naive, "s:", color="tab:red", label="optimum of the estimate")
    ax.plot(BUDGETS, robust, "o-", color="tab:blue", label="robust (default)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(BUDGETS, [str(b) for b in BUDGETS])
    ax.set_xlabel("samples per level")
    ax.set_title(f"K = {k}")
axes[0].set_ylabel("true cost / optimal cost")
axes[0].legend(fontsize=8, loc="center right")
fig.suptitle(f"3-state Markov chain, n = {N}: mean true cost over {SEEDS} seeds", fontsize=10)
fig.tight_layout()
out = Path(__file__).with_name("evidence_true_cost_vs_budget.png")
fig.savefig(out, dpi=90)
print(f"wrote {out} ({out.stat().st_size} bytes)")
