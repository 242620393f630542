"""Quick timing of the schedule families, bounds and exports at a real sequence length.

Nothing here has a heavier baseline to compare with (the families are closed-form or greedy);
the run asserts every result is a valid schedule with exactly K steps and that the exported
encodings round-trip, and prints times and peak RSS.
"""

from __future__ import annotations

import resource
import sys
import time

import numpy as np

import unmask
from unmask import export as E
from unmask import schedules as S


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def main(n: int = 100_000, k: int = 1024) -> None:
    prof = unmask.Profile.from_f(1.0 / np.arange(1, n) ** 2)
    cases = {
        "constant": lambda: S.constant(n, k),
        "cosine curve": lambda: S.from_curve("cosine", n, k),
        "geometric curve": lambda: S.from_curve("geometric", n, k),
        "dtc (geometric unmasked)": lambda: S.geometric_unmasked(n, k),
        "tc (geometric masked)": lambda: S.geometric_masked(n, k),
        "two-sided": lambda: S.two_sided_geometric(n, k),
        "sqrt rule": lambda: S.sqrt_rule(prof, k),
        "randomized (16 phases)": lambda: S.randomized(n, k),
    }
    print(f"n = {n}, K = {k}")
    print(f"| {'family':28s} | {'time (ms)':>10s} | {'expected KL':>12s} |")
    print(f"|{'-' * 30}|{'-' * 12}|{'-' * 14}|")
    for name, fn in cases.items():
        sched, dt = timed(fn)
        members = sched.schedules if isinstance(sched, unmask.CompositionLaw) else [sched]
        for s in members:
            assert s.n == n and s.steps == k
        kl = unmask.expected_kl(prof, sched)
        print(f"| {name:28s} | {1e3 * dt:10.1f} | {kl:12.6g} |")
    sched = S.sqrt_rule(prof, k)
    table, dt = timed(unmask.all_bounds, prof, sched)
    print(f"| {'all_bounds (sqrt schedule)':28s} | {1e3 * dt:10.1f} | {table.exact:12.6g} |")
    d, dt = timed(E.to_dict, sched)
    assert E.from_dict(d) == sched
    assert S.from_curve(E.alpha_function(sched), n, k) == sched
    print(f"| {'to_dict export':28s} | {1e3 * dt:10.1f} | {'':12s} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MiB")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
