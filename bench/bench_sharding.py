"""Benchmark: sharded estimation and sub-lattice entropies on executors (issue 14).

1. estimate_profile of a numpy model (exact Markov-chain conditionals, tests/oracle_models.py)
   serially, on a ThreadPoolExecutor(2), a spawn ProcessPoolExecutor(2) and a Dask LocalCluster
   (2 worker processes): asserts every result equals the serial one bit for bit, and the estimate
   lies within 5 standard errors of unmask.markov_profile; prints wall times and ratios.
   The baseline is the serial path of the same call (what a user runs without an executor).
   The same for estimate_block_profiles (cells (block, level)) against markov_block_profiles.
2. subset_entropies_sharded (2**split independent sub-lattices) on a process pool and on Dask
   against the local engine subset_entropies (one thread per task / one thread locally, the
   single-machine baseline): asserts bitwise equality, prints the ratio and the peak RSS.

    python bench/bench_sharding.py            # n = 256 estimate, binary n = 22 lattice
    python bench/bench_sharding.py --quick
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing as mp
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np

HERE = os.path.dirname(__file__)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from _common import peak_rss_mib, table


def chain(q: int) -> np.ndarray:
    rng = np.random.default_rng(q)
    P = rng.dirichlet(np.full(q, 0.5), size=q)
    return 0.5 * P + 0.5 * np.eye(q)


class Lazy:
    """A picklable wrapper of a tests/oracle_models closure (built on first use in a process)."""

    def __init__(self, factory: str, *args) -> None:
        self.factory, self.args, self.fn = factory, args, None

    def __getstate__(self):
        return {"factory": self.factory, "args": self.args, "fn": None}

    def __call__(self, *a):
        if self.fn is None:
            import oracle_models

            self.fn = getattr(oracle_models, self.factory)(*self.args)
        return self.fn(*a)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    import distributed

    import unmask
    from unmask.profiles.lattice_shards import subset_entropies_sharded

    n, q = (64, 4) if args.quick else (256, 4)
    spl, levels = (64, 16) if args.quick else (256, 32)
    P = chain(q)
    model, sampler = Lazy("markov_model", P, n), Lazy("markov_sampler", P, n)
    kw = {"levels": levels, "samples_per_level": spl, "batch_size": 64, "seed": 11,
          "shard_size": 256}
    exact = unmask.markov_profile(P, n).h
    cl = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=logging.ERROR)
    client = distributed.Client(cl)
    rows = []
    try:
        t0 = time.perf_counter()
        serial = unmask.estimate_profile(model, sampler, n, **kw)
        ts = time.perf_counter() - t0
        lv = np.asarray(serial.estimate.keys)
        se = serial.estimate.stderrs()
        assert np.all(np.abs(serial.estimate.means() - exact[lv]) <= 5 * se + 1e-12)
        rows.append(["serial", f"{ts:.2f}", "1.00", "-"])
        ex_threads = ThreadPoolExecutor(2)
        ex_procs = ProcessPoolExecutor(2, mp_context=mp.get_context("spawn"))
        ex_procs.submit(int, 0).result()  # start the workers outside the timing
        for name, ex in (("threads(2)", ex_threads), ("processes(2)", ex_procs),
                         ("dask LocalCluster(2)", client)):
            t0 = time.perf_counter()
            est = unmask.estimate_profile(model, sampler, n, executor=ex, **kw)
            t = time.perf_counter() - t0
            assert est.estimate == serial.estimate and np.array_equal(est.h, serial.h)
            rows.append([name, f"{t:.2f}", f"{ts / t:.2f}", "yes"])
        print(f"estimate_profile, Markov q={q} n={n}, {levels} levels x {spl} samples, "
              f"{len(serial.estimate.shards)} shards")
        print(table(rows, ["executor", "wall s", "serial/this", "bitwise equal"]), flush=True)

        # block profiles on the same machinery: cells (block, level), checked against the
        # exact block profiles of the chain (markov_block_profiles, an independent algorithm)
        nb, wb, spb = (32, 8, 32) if args.quick else (128, 32, 64)
        bmodel, bsampler = Lazy("markov_model", P, nb), Lazy("markov_sampler", P, nb)
        bkw = {"samples_per_level": spb, "batch_size": 64, "seed": 12, "shard_size": 256,
               "estimator": "entropy"}
        bexact = unmask.markov_block_profiles(P, nb, wb)
        t0 = time.perf_counter()
        bserial = unmask.estimate_block_profiles(bmodel, bsampler, nb, wb, **bkw)
        tbs = time.perf_counter() - t0
        for e, x in zip(bserial, bexact, strict=True):
            assert np.all(np.abs(e.estimate.means() - x.h) <= 5 * e.estimate.stderrs() + 1e-12)
            assert e.evidence is not None
        brows = [["serial", f"{tbs:.2f}", "1.00", "-"]]
        for name, ex in (("threads(2)", ex_threads), ("processes(2)", ex_procs),
                         ("dask LocalCluster(2)", client)):
            t0 = time.perf_counter()
            est_b = unmask.estimate_block_profiles(bmodel, bsampler, nb, wb, executor=ex, **bkw)
            t = time.perf_counter() - t0
            assert all(a.estimate == b.estimate and np.array_equal(a.h, b.h)
                       for a, b in zip(est_b, bserial, strict=True))
            brows.append([name, f"{t:.2f}", f"{tbs / t:.2f}", "yes"])
        nshards = len(set().union(*(p.estimate.shards for p in bserial)))
        print(f"\nestimate_block_profiles, Markov q={q} n={nb} W={wb}, {nb} (block, level) "
              f"cells x {spb} samples, {nshards} shards")
        print(table(brows, ["executor", "wall s", "serial/this", "bitwise equal"]), flush=True)

        nl = 16 if args.quick else 22
        law = unmask.joints.random(nl, 2, concentration=0.5, seed=1)
        t0 = time.perf_counter()
        local = unmask.subset_entropies(law, threads=1)
        tl = time.perf_counter() - t0
        lrows = [["local engine, 1 thread", f"{tl:.2f}", "1.00", "-"]]
        for name, ex in (("processes(2), split 3", ex_procs), ("dask(2), split 3", client)):
            t0 = time.perf_counter()
            got = subset_entropies_sharded(law, executor=ex, split=3, threads=1)
            t = time.perf_counter() - t0
            assert np.array_equal(got, local)
            lrows.append([name, f"{t:.2f}", f"{tl / t:.2f}", "yes"])
        print(f"\nsubset entropies, binary n={nl} (2^{nl} outputs), 8 sub-lattices")
        print(table(lrows, ["engine", "wall s", "local/this", "bitwise equal"]), flush=True)
        ex_threads.shutdown()
        ex_procs.shutdown()
    finally:
        client.close()
        cl.close()
    print(f"peak RSS of this process {peak_rss_mib():.0f} MiB; machine load "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
