"""Benchmark: reading a numeric CSV (issue 9, item 14).

Baseline: what the command line did before, and what a user writes by hand: the whole text,
``csv.reader`` rows and a list of Python floats per row, then ``np.array``. New:
:func:`unmask._io.read_table` (strict syntax, numpy's C reader straight into one float64
array). Both run in isolated processes on the same file; the results are asserted equal and
the times, peak RSS above the interpreter's baseline and their ratios are printed. Target:
peak memory at most 3x the float64 result (the baseline needs ~20x) and faster than the
baseline.

  python bench/bench_read_table.py            # 110 MB of text (the issue's file size)
  python bench/bench_read_table.py --quick    # 11 MB
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import current_rss_mib, hwm_rss_mib, isolated, reset_peak_rss, table, timed


def baseline(path: str) -> dict:
    before = current_rss_mib()
    reset_peak_rss()

    def read() -> np.ndarray:
        with open(path) as fh:
            text = fh.read()
        rows = [r for r in csv.reader(io.StringIO(text)) if r]
        return np.array([[float(c) for c in r] for r in rows], dtype=np.float64)

    t, data = timed(read)
    return {"time": t, "peak": hwm_rss_mib() - before, "sum": float(data.sum()),
            "shape": data.shape, "head": data[:3].tolist()}


def streamed(path: str) -> dict:
    from unmask._io import read_table

    before = current_rss_mib()
    reset_peak_rss()
    t, (_, data) = timed(lambda: read_table(path))
    return {"time": t, "peak": hwm_rss_mib() - before, "sum": float(data.sum()),
            "shape": data.shape, "head": data[:3].tolist(), "nbytes": data.nbytes}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    rows = 400_000 if args.quick else 4_000_000
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "table.csv")
        with open(path, "w") as fh:
            for start in range(0, rows, 200_000):
                block = rng.random((min(200_000, rows - start), 3))
                np.savetxt(fh, block, delimiter=",", fmt="%.10g")
        size = os.path.getsize(path) / 2**20
        old = isolated(baseline, path)
        new = isolated(streamed, path)
    assert old["shape"] == new["shape"] and old["head"] == new["head"]
    assert old["sum"] == new["sum"], (old["sum"], new["sum"])
    result_mib = new["nbytes"] / 2**20
    print(f"file: {size:.0f} MiB of text, {rows} rows x 3 columns ({result_mib:.0f} MiB float64)")
    print(table([
        ["csv + float lists (before)", old["time"], old["peak"], old["peak"] / result_mib],
        ["unmask._io.read_table", new["time"], new["peak"], new["peak"] / result_mib],
    ], ["reader", "time (s)", "peak RSS (MiB)", "peak / result"]))
    print(f"time ratio {old['time'] / new['time']:.1f}x, "
          f"memory ratio {old['peak'] / max(new['peak'], 1e-9):.1f}x")
    assert new["peak"] <= 3 * result_mib + 16, new["peak"]
    assert new["time"] < old["time"], (new["time"], old["time"])


if __name__ == "__main__":
    main()
