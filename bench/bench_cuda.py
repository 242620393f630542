"""Benchmark: the CUDA backend's subset entropies against the CPU engine (issue 15).

Runs on a machine with a CUDA device (bench/device_check.sh runs it there). For each case it
times unmask.subset_entropies with backend="cuda" and backend="cpu" (all cores) in the same
run, asserts equal results (1e-12 relative) and bitwise-equal repeated GPU runs, prints the
ratio and the device memory the walk needed, and asserts the issue's targets:
binary n = 24 <= 1 s and n = 26 <= 10 s on the GPU, and >= 20x the CPU engine on the same
machine (measured at n = 22 and 24, where the CPU run stays affordable).

    python bench/bench_cuda.py            # the issue's cases (GPU machine)
    python bench/bench_cuda.py --quick    # n <= 20 only
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import table

import unmask
from unmask._backends import _cuda_module


def timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    info = unmask.backends()
    print("backends:", info)
    if not info["cuda"]["available"]:
        print(f"no usable CUDA device: {info['cuda']['reason']}")
        return 1
    mod = _cuda_module()
    assert mod is not None
    cases = [(16, 2, True), (18, 2, True), (20, 2, True), (12, 3, True)]
    if not args.quick:
        cases += [(22, 2, True), (24, 2, True), (26, 2, False), (14, 3, True)]
    rows, failures = [], []
    for n, q, with_cpu in cases:
        law = unmask.joints.random(n, q, concentration=0.5, seed=n * 31 + q)
        unmask.subset_entropies(unmask.joints.random(4, 2, seed=0), backend="cuda")  # warm up
        t_gpu, gpu = timed(lambda law=law: unmask.subset_entropies(law, backend="cuda"))
        _, again = timed(lambda law=law: unmask.subset_entropies(law, backend="cuda"))
        if not np.array_equal(gpu, again):
            failures.append(f"n={n} q={q}: two GPU runs differ")
        t_cpu, ratio, err = float("nan"), float("nan"), float("nan")
        if with_cpu:
            t_cpu, cpu = timed(lambda law=law: unmask.subset_entropies(law, backend="cpu"))
            err = float(np.max(np.abs(gpu - cpu) / np.maximum(np.abs(cpu), 1e-300)))
            ratio = t_cpu / t_gpu
            if not np.allclose(gpu, cpu, rtol=1e-12, atol=1e-13):
                failures.append(f"n={n} q={q}: GPU and CPU differ (max rel {err:.2e})")
        mib = mod.subset_entropies_device_bytes(n, q) / 2**20
        rows.append(
            [n, q, f"{t_gpu:.3f}", f"{t_cpu:.3f}", f"{ratio:.1f}x", f"{err:.1e}", f"{mib:.0f}"]
        )
        if q == 2 and n == 24 and t_gpu > 1.0:
            failures.append(f"binary n=24 took {t_gpu:.2f} s on the GPU (target <= 1 s)")
        if q == 2 and n == 26 and t_gpu > 10.0:
            failures.append(f"binary n=26 took {t_gpu:.2f} s on the GPU (target <= 10 s)")
        if q == 2 and n in (22, 24) and with_cpu and ratio < 20.0:
            failures.append(f"binary n={n}: GPU only {ratio:.1f}x the CPU engine (target >= 20x)")
    print(table(rows, ["n", "q", "GPU s", "CPU s", "CPU/GPU", "max rel err", "device MiB"]))
    for f in failures:
        print("FAILED:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
