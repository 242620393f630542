"""Benchmark: Monte Carlo profile estimation throughput (issue 5).

The model is a numpy one: the exact conditionals of a Markov chain (tests/oracle_models.py), so
the estimate can be checked against unmask.markov_profile. For each case it times, in the same
run,
  * unmask.estimate_profile (validation of every output, both bands, PAVA),
  * the plain loop a user would write (draw, mask, call, gather -log q, mean and std), and
  * the model alone on batches of the same size,
and prints model calls per second, the estimator's overhead over the model alone, and peak RSS.
Asserts both estimates agree with the exact profile within 5 standard errors.

    python bench/bench_estimate.py            # the issue's cases
    python bench/bench_estimate.py --quick
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(__file__)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from _common import hwm_rss_mib, isolated, reset_peak_rss, table


def chain(q: int) -> np.ndarray:
    rng = np.random.default_rng(q)
    P = rng.dirichlet(np.full(q, 0.5), size=q)
    return 0.5 * P + 0.5 * np.eye(q)  # sticky: long-range dependence


def plain_loop(model, sampler, n: int, levels: np.ndarray, per_level: int, batch: int, seed: int):
    rng = np.random.default_rng(seed)
    means, errs = [], []
    for i in levels.tolist():
        vals = []
        for _ in range(per_level // batch):
            x = sampler(batch, rng)
            order = np.argsort(rng.random((batch, n)), axis=1)
            mask = np.ones((batch, n), dtype=bool)
            np.put_along_axis(mask, order[:, :i], False, axis=1)
            probs = model(np.where(mask, 0, x), mask)
            picked = np.take_along_axis(probs, x[:, :, None], axis=2)[:, :, 0]
            vals.append(np.where(mask, -np.log(picked), 0.0).sum(axis=1) / mask.sum(axis=1))
        v = np.concatenate(vals)
        means.append(v.mean())
        errs.append(v.std(ddof=1) / math.sqrt(v.size))
    return np.array(means), np.array(errs)


def run_case(n: int, q: int, batch: int, per_level: int, n_levels: int) -> dict:
    from oracle_models import markov_model, markov_sampler

    import unmask

    P = chain(q)
    model = markov_model(P, n)
    sampler = markov_sampler(P, n)
    levels = np.unique(np.round(np.linspace(0, n - 1, n_levels)).astype(np.int64))
    calls = levels.size * (per_level // batch)
    exact = unmask.markov_profile(P, n).h[levels]

    reset_peak_rss()
    t0 = time.perf_counter()
    est = unmask.estimate_profile(
        model,
        sampler,
        n,
        levels=levels,
        samples_per_level=per_level,
        batch_size=batch,
        seed=1,
        monotone=False,
    )
    t_est = time.perf_counter() - t0
    peak = hwm_rss_mib()
    t0 = time.perf_counter()
    base_mean, base_err = plain_loop(model, sampler, n, levels, per_level, batch, 2)
    t_base = time.perf_counter() - t0

    # the model alone on the same number of batches (data and masks drawn beforehand)
    rng = np.random.default_rng(3)
    x = sampler(batch, rng)
    masks = [rng.random((batch, n)) < (1.0 - i / n) for i in levels.tolist()]
    t0 = time.perf_counter()
    for m in masks:
        for _ in range(per_level // batch):
            model(np.where(m, 0, x), m)
    t_model = time.perf_counter() - t0

    ours = est.h[levels]
    se = est.stderr[levels]
    assert np.all(np.abs(ours - exact) <= 5 * se + 1e-12), "estimate_profile off the exact h"
    assert np.all(np.abs(base_mean - exact) <= 5 * base_err + 1e-12), "plain loop off exact h"
    return {
        "calls": calls,
        "t_est": t_est,
        "t_base": t_base,
        "t_model": t_model,
        "peak": peak,
        "max_z": float(np.max(np.abs(ours - exact) / np.maximum(se, 1e-15))),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    cases = (
        [(256, 2, 64, 128, 16)]
        if args.quick
        else [
            (256, 2, 64, 256, 32),
            (256, 8, 256, 512, 32),
            (1024, 2, 64, 256, 32),
            (1024, 8, 256, 512, 16),
        ]
    )
    rows = []
    for n, q, batch, per_level, n_levels in cases:
        r = isolated(run_case, n, q, batch, per_level, n_levels)
        rows.append(
            [
                n,
                q,
                batch,
                r["calls"],
                r["calls"] / r["t_est"],
                r["calls"] / r["t_base"],
                r["calls"] / r["t_model"],
                r["t_est"] / r["t_model"],
                r["t_est"] / r["t_base"],
                r["peak"],
                r["max_z"],
            ]
        )
        print(table([rows[-1]], HEADER).splitlines()[-1], flush=True)
    print()
    print(table(rows, HEADER))


HEADER = [
    "n",
    "q",
    "batch",
    "calls",
    "estimate calls/s",
    "plain loop calls/s",
    "model-only calls/s",
    "estimate/model time",
    "estimate/plain time",
    "peak RSS MiB",
    "max |z| vs exact",
]

if __name__ == "__main__":
    main()
