"""Optimal-schedule solver against the plain numpy O(K n^2) DP a researcher would write.

Each case runs in its own process (peak RSS is that side's own) and asserts equal optimal costs
(1e-9 relative). Cases (issue 4):

1. n = 1024, 2048, 4096, K = 64: ``optimal_schedule`` (Lagrangian) vs ``oracle_dp.plain_dp``.
2. n = 1e5, K = 1024: Lagrangian. The numpy DP would need an n x n matrix (80 GB), so the
   reference is our own per-layer divide-and-conquer frontier (a second algorithm), also timed.
3. Frontier K = 1..256 at n = 1e4: ``optimal_frontier`` (layers) vs ``oracle_dp.plain_frontier``.

Run: ``.venv/bin/python bench/bench_solver.py`` (``--quick`` skips the two slowest references).
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _common import flush, isolated, peak_rss_mib, table, timed


def curve(n: int) -> np.ndarray:
    """h built from f(l) = 1/(l+1) (theory section 9), a profile with slowly decaying f."""
    f = 1.0 / np.arange(1, n, dtype=np.float64)
    return np.concatenate([np.cumsum(f[::-1])[::-1], [0.0]])


def run_ours_schedule(n: int, k: int, threads: int) -> dict[str, Any]:
    import unmask

    h = curve(n)
    unmask.optimal_schedule(h[:64], 8)  # warm-up (import, first call)
    sec, (sched, info) = timed(lambda: unmask.optimal_schedule(h, k, return_info=True), 3)
    assert sched.steps == k and sched.n == n
    return {"sec": sec, "cost": info.cost, "iters": info.iterations, "rss": peak_rss_mib()}


def run_ours_layers(n: int, k: int, threads: int) -> dict[str, Any]:
    import unmask

    h = curve(n)
    sec, fr = timed(lambda: unmask.optimal_frontier(h, k, threads=threads))
    return {"sec": sec, "costs": fr.costs.tolist(), "rss": peak_rss_mib()}


def run_plain_dp(n: int, k: int) -> dict[str, Any]:
    from oracle_dp import plain_dp

    h = curve(n)
    sec, (cost, sizes) = timed(lambda: plain_dp(h, k))
    assert sum(sizes) == n and len(sizes) == k
    return {"sec": sec, "cost": cost, "rss": peak_rss_mib()}


def run_plain_frontier(n: int, k: int) -> dict[str, Any]:
    from oracle_dp import plain_frontier

    h = curve(n)
    sec, costs = timed(lambda: plain_frontier(h, k))
    return {"sec": sec, "costs": np.asarray(costs).tolist(), "rss": peak_rss_mib()}


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the slowest references")
    parser.add_argument("--threads", type=int, default=None, help="threads for the core")
    args = parser.parse_args()
    import unmask

    threads = args.threads or unmask._validation.resolve_threads(None)
    print(f"# unmask {unmask.__version__}, {platform.processor() or platform.machine()}, "
          f"{threads} thread(s), python {platform.python_version()}")
    print("# profile: h from f(l) = 1/(l+1); costs asserted equal to 1e-9 relative\n")
    flush()

    rows = []
    for n in (1024, 2048, 4096):
        k = 64
        ours = isolated(run_ours_schedule, n, k, threads)
        base = isolated(run_plain_dp, n, k)
        assert close(ours["cost"], base["cost"]), (n, ours["cost"], base["cost"])
        rows.append([
            f"optimal_schedule n={n} K={k}", ours["sec"], base["sec"],
            f"{base['sec'] / ours['sec']:.0f}x", ours["rss"], base["rss"], "numpy plain_dp",
        ])
        print(rows[-1])
        flush()

    n, k = 100_000, 1024
    ours = isolated(run_ours_schedule, n, k, threads)
    if args.quick:
        rows.append([f"optimal_schedule n={n} K={k}", ours["sec"], "-", "-", ours["rss"], "-",
                     "(skipped)"])
    else:
        ref = isolated(run_ours_layers, n, k, threads)
        assert close(ours["cost"], ref["costs"][-1]), (ours["cost"], ref["costs"][-1])
        rows.append([f"optimal_schedule n={n} K={k}", ours["sec"], ref["sec"],
                     f"{ref['sec'] / ours['sec']:.0f}x", ours["rss"], ref["rss"],
                     "layer D&C frontier"])
    print(rows[-1], f"(Lagrangian: {ours['iters']} penalised DPs)")
    flush()

    n, k = 10_000, 256
    ours = isolated(run_ours_layers, n, k, threads)
    kb = 32 if args.quick else k
    base = isolated(run_plain_frontier, n, kb)
    assert all(close(a, b) for a, b in zip(ours["costs"][:kb], base["costs"], strict=True))
    label = "numpy plain_frontier" + ("" if kb == k else f" (K<={kb} only)")
    ratio = f"{base['sec'] / ours['sec']:.0f}x" if kb == k else "-"
    rows.append([f"optimal_frontier n={n} K=1..{k}", ours["sec"], base["sec"], ratio,
                 ours["rss"], base["rss"], label])
    print(rows[-1])
    print()
    print(table(rows, ["case", "ours s", "baseline s", "ratio", "ours MiB", "baseline MiB",
                       "baseline"]))


if __name__ == "__main__":
    main()
