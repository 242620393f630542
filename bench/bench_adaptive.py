"""Benchmark: exact laws of adaptive unmasking rules (unmask.adaptive_law, issue 13).

Targets (asserted): binary n = 14 with steps of 2 under "sampled-prob" in <= 10 s on 2 cores,
and "threshold" on binary n = 12 in <= 10 s; peak memory O((q+1)^n). In the same run a plain
Python/numpy forward pass, the one a user would write (every joint draw of the masked tokens
enumerated with numpy at every state), runs on a smaller n; both results are asserted equal
(max abs difference <= 1e-12) and the ratio is printed. Each case runs in its own process so
that its peak RSS is its own. Usage:

    python bench/bench_adaptive.py            # the targets and the baselines
    python bench/bench_adaptive.py --quick    # small sizes only (seconds)
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from collections import defaultdict

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import hwm_rss_mib, isolated, reset_peak_rss, table, timed

TARGET_SECONDS = 10.0


# -- the baseline a user would write ---------------------------------------------------------
def numpy_forward(p: np.ndarray, rule: str, sizes: list[int] | None, tau: float | None):
    """Law and steps pmf by a forward pass over states, every joint draw enumerated (numpy).

    Assumes no ties between scores (a random law), as a quick user script would.
    """
    n, q = p.ndim, p.shape[0]
    marg_cache: dict[tuple[int, ...], np.ndarray] = {}

    def conditionals(x: tuple[int, ...], cands: list[int]) -> np.ndarray:
        out = np.empty((len(cands), q))
        known = [v for v in range(n) if x[v] >= 0]
        for a, j in enumerate(cands):
            keep = tuple(sorted([*known, j]))
            if keep not in marg_cache:
                drop = tuple(v for v in range(n) if v not in keep)
                marg_cache[keep] = p.sum(axis=drop) if drop else p
            idx = tuple(x[v] if v != j else slice(None) for v in keep)
            row = marg_cache[keep][idx]
            total = row.sum()
            out[a] = row / total if total > 0 else 1.0 / q
        return out

    law = np.zeros(q**n)
    steps = np.zeros(n + 1)
    front: dict[tuple[tuple[int, ...], int], float] = {((-1,) * n, 0): 1.0}
    while front:
        nxt: dict[tuple[tuple[int, ...], int], float] = defaultdict(float)
        for (x, k), w in front.items():
            cands = [v for v in range(n) if x[v] < 0]
            if not cands:
                law[np.ravel_multi_index(x, (q,) * n)] += w
                steps[k] += w
                continue
            m = len(cands)
            c = conditionals(x, cands)
            draws = np.array(list(itertools.product(range(q), repeat=m)))  # (q^m, m)
            probs = c[np.arange(m), draws]  # (q^m, m)
            weight = w * probs.prod(axis=1)
            if rule == "sampled-prob":
                s = sizes[k]
                keep = np.argsort(-probs, axis=1, kind="stable")[:, :s]
                mask = np.zeros_like(probs, dtype=bool)
                np.put_along_axis(mask, keep, True, axis=1)
            else:
                mask = probs > tau
                none = ~mask.any(axis=1)
                best = np.argmax(probs, axis=1)
                mask[none, best[none]] = True
            for r in np.nonzero(weight > 0)[0]:
                y = list(x)
                for a in np.nonzero(mask[r])[0]:
                    y[cands[a]] = int(draws[r, a])
                nxt[(tuple(y), k + 1)] += weight[r]
        front = nxt
    return law, steps


# -- cases -----------------------------------------------------------------------------------
def law_of(kind: str, n: int) -> np.ndarray:
    import unmask

    if kind == "random":
        return unmask.joints.random(n, 2, seed=0).probs
    if kind == "peaked":
        return unmask.joints.random(n, 2, concentration=0.1, seed=0).probs
    return unmask.joints.parity(n).probs  # every score tied until the last token


def run_engine(kind: str, n: int, rule: str, tau: float | None, threads: int) -> dict:
    import unmask

    p = unmask.Joint(law_of(kind, n))
    reset_peak_rss()
    base = hwm_rss_mib()
    sched = [2] * (n // 2) + [1] * (n % 2) if rule == "sampled-prob" else None
    cpu0 = time.process_time()
    seconds, got = timed(lambda: unmask.adaptive_law(p, rule, sched, threshold=tau,
                                                     threads=threads), repeat=1 if n > 10 else 3)
    cpu = (time.process_time() - cpu0) / (1 if n > 10 else 3)
    return {"seconds": seconds, "cpu": cpu, "peak_mib": hwm_rss_mib() - base, "kl": got.kl,
            "law": got.law.flat.tolist(), "steps": got.steps_pmf.tolist(),
            "expected_steps": got.expected_steps}


def run_baseline(kind: str, n: int, rule: str, tau: float | None) -> dict:
    p = law_of(kind, n)
    sched = [2] * (n // 2) + [1] * (n % 2) if rule == "sampled-prob" else None
    seconds, (law, steps) = timed(lambda: numpy_forward(p, rule, sched, tau))
    return {"seconds": seconds, "law": law.tolist(), "steps": steps.tolist()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    args = parser.parse_args()
    threads = min(2, os.cpu_count() or 1)
    # (label, law kind, rule, tau, n of the target, n of the numpy baseline, asserted)
    cases = [
        ("sampled-prob, steps of 2", "random", "sampled-prob", None, 14, 8, True),
        ("sampled-prob, steps of 2", "peaked", "sampled-prob", None, 14, 8, True),
        ("sampled-prob, all tied", "parity", "sampled-prob", None, 14, 0, False),
        ("threshold 0.5", "random", "threshold", 0.5, 12, 7, True),
        ("threshold 0.9", "random", "threshold", 0.9, 12, 7, True),
        ("threshold 0.5, all tied", "parity", "threshold", 0.5, 12, 0, False),
    ]
    if args.quick:
        cases = [(lab, k, r, t, min(n, 10), min(b, 6), False) for lab, k, r, t, n, b, _ in cases]
    rows, failures = [], []
    for label, kind, rule, tau, n, nb, asserted in cases:
        big = isolated(run_engine, kind, n, rule, tau, threads)
        q_states = 3**n
        # Memory: subset marginals (every level) plus the state levels, a few (q+1)^n doubles;
        # the threshold rule also keeps the number of steps taken, up to n + 1 slots a state.
        factor = 4 if rule == "sampled-prob" else n + 4
        limit_mib = 8.0 * q_states * factor / 2**20 + 16
        if big["peak_mib"] > limit_mib:
            failures.append(f"{label} n={n}: peak {big['peak_mib']:.1f} MiB > {limit_mib:.1f}")
        ratio, small_s, base_s = "-", "-", "-"
        if nb:
            small = isolated(run_engine, kind, nb, rule, tau, 1)
            base = isolated(run_baseline, kind, nb, rule, tau)
            diff = max(np.max(np.abs(np.subtract(small["law"], base["law"]))),
                       np.max(np.abs(np.subtract(small["steps"], base["steps"]))))
            assert diff <= 1e-12, f"{label}: engine and numpy baseline differ by {diff}"
            ratio = f"{base['seconds'] / small['seconds']:.0f}x"
            small_s, base_s = small["seconds"], base["seconds"]
        if asserted and big["seconds"] > TARGET_SECONDS:
            failures.append(f"{label} n={n}: {big['seconds']:.2f} s > {TARGET_SECONDS} s")
        rows.append([label, kind, n, big["seconds"], big["cpu"], big["peak_mib"],
                     8.0 * q_states / 2**20, round(big["expected_steps"], 3),
                     round(big["kl"], 4), nb or "-", small_s, base_s, ratio])
    print(f"threads = {threads}; cpu s = CPU time of all threads (the wall time on an idle "
          f"machine is about cpu s / threads); (q+1)^n doubles = 8 * 3^n bytes")
    print(table(rows, ["case", "law", "n", "seconds", "cpu s", "peak MiB", "3^n doubles MiB",
                       "E[K]", "KL", "baseline n", "unmask s", "numpy s", "ratio"]))
    if failures:
        raise SystemExit("FAILED: " + "; ".join(failures))
    print("all targets met" + (" (quick: targets not asserted)" if args.quick else ""))


if __name__ == "__main__":
    main()
