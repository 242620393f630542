"""The ``unmask`` command line."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
import numpy as np

import unmask
from unmask import joints


def _echo_table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col in columns:
        table.add_column(col, justify="right")
    for row in rows:
        table.add_row(*[f"{v:.6g}" if isinstance(v, float) else str(v) for v in row])
    Console().print(table)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(unmask.__version__, prog_name="unmask")
def main() -> None:
    """Exact profiles, sampler laws, bounds and optimal schedules for masked diffusion."""


BUILTIN_LAWS = ("all-equal", "parity", "independent", "markov", "ising", "random")


def build_law(name: str, n: int, q: int, seed: int, param: float) -> unmask.Joint:
    """Build one of the built-in laws by name (used by several commands)."""
    if name == "all-equal":
        return joints.all_equal(n, q)
    if name == "parity":
        return joints.parity(n)
    if name == "independent":
        rng = np.random.default_rng(seed)
        return joints.independent(rng.dirichlet(np.ones(q), size=n))
    if name == "markov":
        stay = param if 0 < param < 1 else 0.9
        P = np.full((q, q), (1 - stay) / (q - 1))
        np.fill_diagonal(P, stay)
        return joints.markov_chain(P, n)
    if name == "ising":
        J = np.zeros((n, n))
        for j in range(n - 1):
            J[j, j + 1] = J[j + 1, j] = param if param else 0.5
        return joints.ising(J)
    if name == "random":
        return joints.random(n, q, concentration=param if param > 0 else 0.5, seed=seed)
    raise click.BadParameter(f"unknown law {name!r}")  # pragma: no cover - click checks choices


@main.command("profile")
@click.argument("law", type=click.Choice(BUILTIN_LAWS))
@click.option("--n", "n", type=click.IntRange(1, 30), default=8, show_default=True)
@click.option("--q", "q", type=click.IntRange(2, 16), default=2, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--param", type=float, default=0.0, help="Law parameter (stay prob., coupling, ...).")
@click.option("--base", type=float, default=None, help="Log base (default nats; 2 for bits).")
@click.option("--threads", type=click.IntRange(1, None), default=None)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def profile_cmd(
    law: str, n: int, q: int, seed: int, param: float, base: float | None,
    threads: int | None, as_json: bool,
) -> None:
    """Print the exact entropy/information profile of a built-in LAW."""
    try:
        joint = build_law(law, n, q, seed, param)
        prof = unmask.profile(joint, base=base, threads=threads)
    except (ValueError, MemoryError) as exc:
        raise click.UsageError(str(exc)) from exc
    if as_json:
        payload = {
            "law": law, "n": n, "q": joint.q, "unit": prof.unit,
            "h": prof.h.tolist(), "f": prof.f.tolist(), **prof.summary(),
        }
        click.echo(json.dumps(payload, indent=2))
        return
    rows: list[list[Any]] = []
    f = prof.f
    for i in range(prof.n):
        rows.append([i, float(prof.h[i]), float(f[i]) if i < f.size else "-"])
    _echo_table(f"{law} (n={n}, q={joint.q}) profile in {prof.unit}", ["i", "h(i)", "f(i)"], rows)
    s = prof.summary()
    click.echo(
        f"H = {s['entropy']:.6g}  TC = {s['tc']:.6g}  DTC = {s['dtc']:.6g}  "
        f"sum_j I(X_j;X_-j) = {s['mi_sum']:.6g}  ({prof.unit})"
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
