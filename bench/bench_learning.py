"""Benchmark: learning errors eps(i) of random-order sampling (unmask.learning_errors).

Each case runs in its own process (peak RSS per case) and times, in the same run, unmask's
per-level path (subset marginals + C++ pair kernel, all cores, best of two) against the plain
loop over all n 2^(n-1) pairs (A, j) a user would write (tests/oracle_learning.py: each pair
sums the dense joint down to one marginal; it was unmask's own implementation before). Results
are asserted equal (relative 1e-10, inf at the same places). The loop is skipped where it would
take minutes (marked "-"). Usage:

    .venv/bin/python bench/bench_learning.py            # every case, a table
    .venv/bin/python bench/bench_learning.py --quick    # the small cases only
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from _common import hwm_rss_mib, isolated, reset_peak_rss, table

LOOP_MAX_WORK = 2e9  # n 2^(n-1) q^n: the loop's work, about 6 s at binary n = 12

CASES = [
    # (q, n, kind)
    (2, 8, "p_hat"), (2, 10, "p_hat"), (2, 10, "tempered"), (2, 10, "callable"),
    (2, 12, "p_hat"), (2, 12, "tempered"), (2, 12, "callable"),
    (2, 14, "p_hat"), (2, 14, "tempered"), (2, 16, "p_hat"),
    (3, 6, "p_hat"), (3, 8, "p_hat"), (3, 8, "callable"), (3, 10, "p_hat"),
]
QUICK = [(2, 8, "p_hat"), (2, 10, "tempered"), (3, 6, "p_hat")]


def _conditionals(kind: str, p: Any, p_hat: Any) -> Any:
    import unmask

    if kind == "p_hat":
        return p_hat
    if kind == "tempered":
        return unmask.Conditionals.tempered(p, 0.5)
    exact = unmask.Conditionals.exact(p_hat)  # a batched user callable
    return unmask.Conditionals.from_callable(lambda x, j: exact(x, j), p.n, p.q)


def run_case(q: int, n: int, kind: str) -> dict[str, Any]:
    from oracle_learning import learning_errors_loop

    import unmask

    p = unmask.joints.random(n, q, concentration=0.5, seed=1)
    p_hat = unmask.joints.random(n, q, concentration=0.5, seed=2)
    reset_peak_rss()
    base_rss = hwm_rss_mib()
    best, got = float("inf"), None
    for _ in range(2):  # a fresh Conditionals each time: no cached marginals
        cond = _conditionals(kind, p, p_hat)
        t0 = time.perf_counter()
        got = unmask.learning_errors(p, cond)
        best = min(best, time.perf_counter() - t0)
    rss = hwm_rss_mib() - base_rss
    out: dict[str, Any] = {"fast": best, "rss": rss, "loop": None}
    if n * 2 ** (n - 1) * q**n <= LOOP_MAX_WORK:
        cond = _conditionals(kind, p, p_hat)
        t0 = time.perf_counter()
        want = learning_errors_loop(p, cond)
        out["loop"] = time.perf_counter() - t0
        assert got is not None
        np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
        fin = np.isfinite(want)
        np.testing.assert_allclose(got[fin], want[fin], rtol=1e-10, atol=1e-13)
        out["maxrel"] = float(np.max(np.abs(got[fin] - want[fin]) / np.abs(want[fin])))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small cases only")
    args = ap.parse_args()
    import unmask

    print(f"unmask {unmask.__version__}, threads {unmask._core.max_threads()}")
    rows = []
    for q, n, kind in QUICK if args.quick else CASES:
        res = isolated(run_case, q, n, kind)
        loop = res["loop"]
        rows.append([
            q, n, kind, res["fast"], "-" if loop is None else loop,
            "-" if loop is None else f"{loop / res['fast']:.0f}x",
            "-" if loop is None else f"{res['maxrel']:.1e}", res["rss"],
        ])
        print(rows[-1], flush=True)
    print(table(rows, ["q", "n", "kind", "unmask s", "loop s", "ratio", "max rel diff",
                       "peak RSS MiB above start (unmask)"]))


if __name__ == "__main__":
    main()
