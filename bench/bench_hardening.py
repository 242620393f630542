"""Issue 9 (hardening): exports linear in K, BernoulliSizes expected KL in O(n K).

Each part runs the plain-Python baseline in the same run (the per-row CSV writer with repr and
the per-state loop over the law of the unmasked count, both as the first release had them),
asserts equal results and the issue's target, and prints times (wall and CPU: the development
machine is shared, so CPU time is the fairer figure), ratios and peak memory.

Run: ``python bench/bench_hardening.py`` (about a minute; ``--quick`` for a smaller baseline).
"""

from __future__ import annotations

import csv
import io
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from _common import peak_rss_mib

import unmask
from unmask import export


def _both(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall and CPU seconds of one call, and its result."""
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w, time.process_time() - c, out


def csv_baseline(s: unmask.Schedule) -> str:
    """The first release's writer, with n summed once (it summed the sizes per element)."""
    n = sum(s.sizes)
    t = np.linspace(0.0, 1.0, s.steps + 1)
    cum, acc = [], 0
    for size in s.sizes:
        acc += size
        cum.append(acc)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        [
            "step",
            "unmasked_at_step",
            "cumulative_unmasked",
            "remaining_masked",
            "remaining_mask_ratio",
            "t",
            "alpha_unmasked_fraction",
        ]
    )
    for k, (size, c) in enumerate(zip(s.sizes, cum, strict=True), start=1):
        w.writerow([k, size, c, n - c, repr((n - c) / n), repr(float(t[k])), repr(c / n)])
    return buf.getvalue()


def bernoulli_baseline(h: np.ndarray, sizes: unmask.BernoulliSizes) -> float:
    """The first release's loop: the law of the unmasked count, state by state."""
    n = h.size
    C = np.concatenate([[0.0], np.cumsum(h)])
    state = np.zeros(n + 1)
    state[0] = 1.0
    total = 0.0
    for k in range(sizes.steps):
        new = np.zeros(n + 1)
        for i in np.nonzero(state > 0)[0].tolist():
            probs = sizes.step_probabilities(k, n - i)
            b = i + np.arange(probs.size)
            g = (b - i) * h[i] - (C[b] - C[i]) if i < n else np.zeros(1)
            total += state[i] * float(probs @ np.maximum(g, 0.0))
            new[i : i + probs.size] += state[i] * probs
        state = new
    return total


def exports(k: int = 1_000_000, baseline_k: int = 200_000) -> None:
    rng = np.random.default_rng(0)
    s = unmask.Schedule(rng.integers(1, 4, size=k))
    wall, cpu, text = _both(lambda: export.to_csv(s))
    dwall, dcpu, data = _both(lambda: export.to_dict(s))
    assert text.count("\n") == k + 1 and len(data["remaining_mask_ratio"]) == k
    small = unmask.Schedule(s.sizes[:baseline_k])
    _, bcpu, want = _both(lambda: csv_baseline(small))
    _, ocpu, got = _both(lambda: export.to_csv(small))
    assert got == want, "CSV differs from the plain-Python writer"
    print(f"to_csv  K = {k}: {wall:.3f} s wall, {cpu:.3f} s CPU; to_dict {dwall:.3f} s wall, "
          f"{dcpu:.3f} s CPU")
    print(f"to_csv  K = {baseline_k}: ours {ocpu:.3f} s CPU, plain-Python writer {bcpu:.3f} s "
          f"CPU: {bcpu / ocpu:.1f}x, identical text")
    assert cpu < 1.0 and dcpu < 1.0, "issue 9 target: K = 1e6 exports in under a second"


def bernoulli(n: int = 4096, k: int = 64, baseline_n: int = 1024) -> None:
    h = unmask.Profile.from_f(1.0 / np.arange(1, n) ** 1.5).h
    sizes = unmask.BernoulliSizes(np.linspace(0.0, 1.0, k + 1), n)
    wall, cpu, got = _both(lambda: unmask.expected_kl(h, sizes))
    small_h = h[:baseline_n]
    small = unmask.BernoulliSizes(np.linspace(0.0, 1.0, k + 1), baseline_n)
    _, bcpu, want = _both(lambda: bernoulli_baseline(small_h, small))
    _, ocpu, ours = _both(lambda: unmask.expected_kl(small_h, small))
    assert abs(ours - want) <= 1e-10 * max(1.0, abs(want)), (ours, want)
    print(f"BernoulliSizes n = {n}, K = {k}: {wall:.3f} s wall, {cpu:.3f} s CPU, E KL = {got:.6g}")
    print(f"BernoulliSizes n = {baseline_n}, K = {k}: ours {ocpu:.4f} s CPU, per-state loop "
          f"{bcpu:.2f} s CPU: {bcpu / ocpu:.0f}x, equal to 1e-10")
    assert cpu < 0.1, "issue 9 target: n = 4096, K = 64 in under 0.1 s"


def main() -> None:
    quick = "--quick" in sys.argv
    exports(baseline_k=50_000 if quick else 200_000)
    bernoulli(baseline_n=256 if quick else 1024)
    print(f"peak RSS {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
