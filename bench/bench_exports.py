"""for_sampler / time_grid at K = 1e6 steps against the plain-Python loop a user would write.

Every export is O(K) and self-checks its values under the sampler's float32 and float64
arithmetic; the baseline builds the same values step by step in Python (without the check). The
run asserts equal values, prints times, the ratio and peak memory, and asserts the issue's target:
each export of 1e6 steps under a second.
"""

from __future__ import annotations

import math
import sys

import numpy as np
from _common import hwm_rss_mib, reset_peak_rss, table, timed

import unmask
from unmask.export import for_sampler

TARGET_S = 1.0


def composition(n: int, k: int, seed: int = 0) -> unmask.Schedule:
    rng = np.random.default_rng(seed)
    cuts = np.sort(rng.choice(np.arange(1, n), size=k - 1, replace=False))
    return unmask.Schedule(np.diff(np.concatenate([[0], cuts, [n]])))


def naive_ratios(s: unmask.Schedule) -> list[float]:
    n = s.n
    out, masked = [], n
    for c in s.sizes:
        masked -= c
        out.append((masked + 0.5) / n if masked else 0.0)
    return out


def naive_dream(s: unmask.Schedule) -> list[float]:
    out, t, masked = [1.0], 1.0, s.n
    for c in s.sizes[:-1]:
        t = t * (masked - c - 0.5) / masked
        masked -= c
        out.append(float(np.float32(t)))
    out.append(0.0)
    return out


def naive_dllm(s: unmask.Schedule) -> list[float]:
    n = s.n
    out, masked = [0.0], n
    for c in s.sizes:
        masked -= c
        out.append(1.0 - masked / n)
    return out[::-1]


def naive_mdlm(s: unmask.Schedule, eps: float) -> list[float]:
    n = s.n
    out, masked = [1.0], n
    for c in s.sizes[:-1]:
        masked -= c
        out.append((1 - 1e-3) * masked / n / (1 - 1e-3))
    out.append(eps)
    return out


def naive_blocks(bs: unmask.BlockSchedule) -> list[list[int]]:
    width = max(bs.steps_per_block)
    return [list(b) + [0] * (width - len(b)) for b in bs.blocks]


def main(k: int = 1_000_000) -> None:
    n = 2 * k
    s = composition(n, k)
    cases = [
        ("maskgit", lambda: for_sampler(s, "maskgit").values, lambda: naive_ratios(s)),
        ("amused", lambda: for_sampler(s, "amused").values, lambda: naive_ratios(s)),
        ("dream", lambda: for_sampler(s, "dream").values, lambda: naive_dream(s)),
        ("dllm", lambda: for_sampler(s, "dllm").values, lambda: naive_dllm(s)),
        ("mdlm", lambda: for_sampler(s, "mdlm", eps=1e-8).values,
         lambda: naive_mdlm(s, 1e-8)),
    ]
    blocks = unmask.BlockSchedule([list(composition(2000, 1000, seed=b).sizes)
                                   for b in range(k // 1000)])
    for name in ("llada", "fast-dllm", "llada2"):
        cases.append((name, lambda name=name: for_sampler(blocks, name).values,
                      lambda: naive_blocks(blocks)))
    rows = []
    ok = True
    for name, fast, slow in cases:
        reset_peak_rss()
        base_rss = hwm_rss_mib()
        t_fast, got = timed(fast, repeat=2)
        peak = hwm_rss_mib() - base_rss
        t_slow, want = timed(slow)
        want = np.asarray(want)
        if got.dtype.kind == "f":
            assert np.allclose(got, want, rtol=1e-12, atol=0), name
            if name != "mdlm":
                assert np.array_equal(got, want), name
        else:
            assert np.array_equal(got, want), name
        rows.append([name, f"{k:.0e}", t_fast, t_slow, f"{t_slow / t_fast:.1f}x", peak])
        ok = ok and t_fast < TARGET_S
    print(table(rows, ["sampler", "K", "export s", "python loop s", "ratio",
                       "peak RSS MiB above start"]))
    print("exports include the float32 and float64 self-check; the loop does not")
    assert ok, f"an export of {k} steps took {TARGET_S} s or more"
    assert math.isfinite(sum(r[2] for r in rows))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
