"""Benchmark: exact profile of a Markov chain (issue 5).

* small n: unmask.markov_profile against the lattice engine a user would otherwise run
  (unmask.profile(unmask.joints.markov_chain(P, n))) in the same run; asserts equal results
  (1e-12 absolute) and prints both times and their ratio;
* real lengths n = 1e3 and 1e4: stationary and non-stationary chains, all cores and one
  thread (asserted bit-identical), peak RSS of isolated runs.

  python bench/bench_markov.py            # the issue's cases
  python bench/bench_markov.py --quick    # smaller cases
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import current_rss_mib, hwm_rss_mib, isolated, reset_peak_rss, table, timed


def chain(q: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.full(q, 0.7), size=q), rng.dirichlet(np.ones(q))


def run_lattice(n: int, q: int, stationary: bool) -> dict:
    import unmask

    P, mu = chain(q, n * 7 + q)
    init = None if stationary else mu
    before = current_rss_mib()
    reset_peak_rss()
    t, prof = timed(lambda: unmask.profile(unmask.joints.markov_chain(P, n, init)))
    return {"time": t, "h": prof.h.copy(), "peak": hwm_rss_mib(), "before": before}


def run_markov(n: int, q: int, stationary: bool, threads: int | None) -> dict:
    import unmask

    P, mu = chain(q, n * 7 + q)
    init = None if stationary else mu
    unmask.markov_profile(P, 8, init)  # warm up the import and the extension
    before = current_rss_mib()
    reset_peak_rss()
    t, prof = timed(lambda: unmask.markov_profile(P, n, init, threads=threads), repeat=5)
    return {"time": t, "h": prof.h.copy(), "peak": hwm_rss_mib(), "before": before}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    import unmask

    print(
        f"unmask {unmask.__version__}, OpenMP {unmask._core.have_openmp()}, "
        f"threads {unmask._core.max_threads()}"
    )
    small = [(10, 2), (12, 3)] if args.quick else [(10, 2), (14, 2), (10, 3), (14, 3)]
    rows = []
    for n, q in small:
        for stationary in (True, False):
            lat = isolated(run_lattice, n, q, stationary)
            ours = isolated(run_markov, n, q, stationary, None)
            err = float(np.max(np.abs(lat["h"] - ours["h"])))
            assert err <= 1e-12, f"n={n} q={q}: markov_profile differs from the lattice by {err}"
            rows.append(
                [
                    n,
                    q,
                    "yes" if stationary else "no",
                    lat["time"],
                    ours["time"],
                    lat["time"] / ours["time"],
                    f"{err:.1e}",
                    lat["peak"],
                    ours["peak"],
                ]
            )
            print(table([rows[-1]], HEADER_SMALL).splitlines()[-1], flush=True)
    print()
    print(table(rows, HEADER_SMALL))
    print()

    big = (
        [(1000, 2), (10_000, 2)]
        if args.quick
        else [(1000, 2), (1000, 3), (10_000, 2), (10_000, 3), (10_000, 16), (10_000, 64)]
    )
    rows = []
    cases = [(n, q, s) for n, q in big for s in (True, False)]
    if not args.quick:
        cases.append((100_000, 3, True))  # stationary only: the general path is O(n^2 q)
    for n, q, stationary in cases:
        if True:
            ours = isolated(run_markov, n, q, stationary, None)
            one = isolated(run_markov, n, q, stationary, 1)
            assert np.array_equal(ours["h"], one["h"]), "result depends on the thread count"
            h = ours["h"]
            assert np.all(np.isfinite(h)) and np.all(np.diff(h) <= 1e-12)
            rows.append(
                [
                    n,
                    q,
                    "yes" if stationary else "no",
                    ours["time"],
                    one["time"],
                    one["time"] / ours["time"],
                    ours["peak"],
                    ours["peak"] - ours["before"],
                ]
            )
            print(table([rows[-1]], HEADER_BIG).splitlines()[-1], flush=True)
    print()
    print(table(rows, HEADER_BIG))


HEADER_SMALL = [
    "n",
    "q",
    "stationary",
    "lattice s",
    "markov s",
    "lattice/markov",
    "max |diff|",
    "lattice peak MiB",
    "markov peak MiB",
]
HEADER_BIG = [
    "n",
    "q",
    "stationary",
    "markov s",
    "1 thread s",
    "speed-up",
    "peak RSS MiB",
    "growth MiB",
]

if __name__ == "__main__":
    main()
