"""``unmask planner``: the best deterministic unmasking planner of a law (theory section 12)."""

from __future__ import annotations

import json
import math
from typing import Any

import click

import unmask
from unmask._progress import rich_progress
from unmask.cli import (
    SOURCE_HELP,
    IntRange,
    _echo_table,
    _quoted,
    load_source,
    main,
    source_options,
)
from unmask.laws.joint import Joint


def _cell(v: float | None) -> float | str:
    return "-" if v is None else _num(v)


def _sizes_text(sizes: Any) -> str:
    """``2,1`` for a schedule, ``(1,1)(2)`` for a block schedule, ``-`` for none."""
    if sizes is None:
        return "-"
    if sizes and isinstance(sizes[0], list):
        return "".join("(" + ",".join(map(str, b)) + ")" for b in sizes)
    return ",".join(map(str, sizes))


def _num(v: float) -> float | str:
    return "inf" if math.isinf(v) else (0.0 if abs(v) < 1e-12 else v)


@main.command("planner", epilog=SOURCE_HELP,
              short_help="The best value-dependent unmasking planner and its exact KL.")
@source_options
@click.option("--steps", "-K", "steps", type=IntRange(1, None), default=None,
              help="At most K steps, sizes chosen by the planner.")
@click.option("--sizes", "sizes_text", default=None,
              help="Fixed per-step counts instead of --steps, e.g. 2,2,1 (positions chosen).")
@click.option("--block-width", "block_width", type=IntRange(1, None), default=None,
              help="Blocks of this width decoded left to right; each step inside the current "
                   "block.")
@click.option("--depth", type=IntRange(1, 10), default=2, show_default=True,
              help="Steps described by the explanation.")
@click.option("--max-seconds", type=float, default=600.0, show_default=True,
              help="Refuse when the estimated time exceeds this.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--no-progress", is_flag=True, help="Do not show the progress bar.")
def planner_cmd(
    source: str, n: int | None, q: int | None, seed: int | None, param: float | None, kind: str,
    threads: int | None, steps: int | None, sizes_text: str | None, block_width: int | None,
    depth: int, max_seconds: float, as_json: bool, no_progress: bool,
) -> None:
    """The best deterministic take-then-draw planner of a joint law SOURCE.

    A planner picks the positions to unmask from the values unmasked so far, then draws them
    independently from their conditionals. Its KL is the expected sum of the conditional total
    correlations of its steps; the best one is found exactly by a dynamic program over the
    (q+1)^n partial assignments. Its KL is a floor for every confidence, margin or entropy rule
    with the same budget. The table compares it, for every budget up to K, with the optimal
    fixed schedule of random-order sampling.
    """
    if (steps is None) == (sizes_text is None):
        raise click.UsageError("give exactly one of --steps K or --sizes s1,s2,...")
    if not (max_seconds > 0):
        raise click.BadParameter(f"must be > 0, got {max_seconds}", param_hint="--max-seconds")
    obj = load_source(source, kind, n, q, seed, param)
    if not isinstance(obj, Joint):
        raise click.UsageError("unmask planner needs a joint law (a built-in law or a .npy "
                               "joint), not a profile")
    target: int | unmask.Schedule
    if sizes_text is not None:
        try:
            sizes = [int(v) for v in sizes_text.replace(" ", "").split(",") if v]
        except ValueError:
            raise click.BadParameter(f"expected positive integers like 2,2,1, got "
                                     f"{_quoted(sizes_text)}", param_hint="--sizes") from None
        try:
            target = unmask.Schedule(sizes)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--sizes") from exc
    else:
        assert steps is not None
        if steps > obj.n:
            raise click.BadParameter(f"--steps {steps} exceeds n = {obj.n} (at most one step "
                                     "per position)", param_hint="--steps")
        target = steps
    with rich_progress("planner DP", enabled=not no_progress) as progress:
        try:
            best = unmask.optimal_planner(obj, target, block_width=block_width, threads=threads,
                                          progress=progress, max_seconds=max_seconds)
        except (ValueError, MemoryError) as exc:
            text = str(exc).replace("above max_seconds = ", "above --max-seconds ")
            text = text.replace("pass a larger max_seconds (or None)",
                                "pass a larger --max-seconds")
            raise click.UsageError(text) from exc
    rows: list[dict[str, Any]] = []
    front = best.frontier
    if front is not None:
        prof = unmask.profile(obj, threads=threads)
        nblocks = 1 if block_width is None else -(-obj.n // block_width)
        for k in range(1, len(front) + 1):
            row: dict[str, Any] = {"K": k, "best_planner_kl": float(front[k - 1]),
                                   "random_order_expected_kl": None,
                                   "random_order_mixture_kl": None, "optimal_schedule": None}
            sched: Any
            if block_width is None:
                sched = unmask.optimal_schedule(prof, min(k, obj.n))
                row["optimal_schedule"] = list(sched.sizes)
            elif k >= nblocks:  # the same blocks: blockwise random order, steps allocated best
                sched = unmask.optimal_block_schedule(obj, min(k, obj.n), block_width,
                                                      steps_per_block="free", threads=threads)
                row["optimal_schedule"] = sched.blocks
            else:
                sched = None  # fewer steps than blocks
            if sched is not None:
                row["random_order_expected_kl"] = float(unmask.expected_kl(obj, sched))
                row["random_order_mixture_kl"] = float(unmask.kl(
                    obj, unmask.sampler_law(obj, sched, threads=threads)))
            rows.append(row)
    law_kl = unmask.kl(obj, best.law)
    payload: dict[str, Any] = {
        "source": source, "n": obj.n, "q": obj.q,
        "steps": steps,
        "sizes": list(best.schedule.sizes) if best.schedule is not None else None,
        "block_width": block_width, "kl": _num(best.kl), "kl_of_law": _num(law_kl),
        "first_step": list(best.policy([-1] * obj.n, [True] * obj.n)),
        "frontier": [{k: _num(v) if isinstance(v, float) else v for k, v in r.items()}
                     for r in rows],
        "explanation": best.explain(depth=depth).splitlines(),
    }
    if as_json:
        click.echo(json.dumps(payload, indent=2))
        return
    if rows:
        blocks = "" if block_width is None else f", blocks of {block_width} (both)"
        _echo_table(f"{source} (n={obj.n}, q={obj.q}{blocks}): best planner vs random order on "
                    "the optimal schedule, nats",
                    ["K", "best planner KL", "random order E KL", "KL(p||qbar)", "schedule"],
                    [[r["K"], _cell(r["best_planner_kl"]), _cell(r["random_order_expected_kl"]),
                      _cell(r["random_order_mixture_kl"]), _sizes_text(r["optimal_schedule"])]
                     for r in rows])
    click.echo(best.explain(depth=depth))
    click.echo(f"KL of the planner's exact law: {law_kl:.6g} nats (the DP value: "
               f"{best.kl:.6g})")


def print_planner_section(result: Any, console: Any) -> None:
    """The planners of ``unmask verify`` side by side (theory section 12)."""
    from rich import box
    from rich.table import Table

    rows = [(law.name, law.curves["planners"]) for law in result.laws
            if "planners" in law.curves]
    if not rows:
        return
    short = {
        "best planner (floor)": "best", "best planner, optimal-schedule sizes": "best@s",
        "random order E KL": "E KL", "random order KL(p||qbar)": "qbar",
        "confidence planner (deterministic)": "conf", "margin planner (deterministic)": "margin",
        "entropy planner (deterministic)": "ent", "max-prob rule (random ties)": "maxp~",
        "margin rule (random ties)": "margin~", "entropy rule (random ties)": "ent~",
    }
    # margin and entropy rules are in --json; on two symbols they order as confidence does
    names = [k for k in dict.fromkeys(k for _, pl in rows for k in pl["strategies"])
             if not k.startswith(("margin", "entropy"))]
    table = Table(title="planners (section 12): exact KL, nats, on the optimal schedule's sizes",
                  caption="best: best deterministic planner, sizes free (the floor); best@s: "
                          "on the optimal schedule's sizes;\nE KL, qbar: random order, "
                          "E_sigma KL and KL(p||qbar); "
                          "conf: deterministic confidence rule (ties to the smaller "
                          "position);\nmaxp~: the adaptive rule, ties at random (randomized "
                          "planners, not bound by the floor)",
                  box=box.SIMPLE_HEAD, padding=(0, 1), caption_justify="left")
    table.add_column("law", overflow="fold", max_width=13)
    table.add_column("K", justify="right", min_width=2, no_wrap=True)
    for key in names:
        table.add_column(short.get(key, key), justify="right", no_wrap=True, min_width=6)
    for name, pl in rows:
        for i, k in enumerate(pl["K"]):
            cells = []
            for key in names:
                vals = pl["strategies"].get(key)
                v = None if vals is None else vals[i]
                cells.append("-" if v is None else str(_num(v)) if isinstance(_num(v), str)
                             else f"{_num(v):.3g}")
            table.add_row(name if i == 0 else "", str(k), *cells)
    console.print(table)
