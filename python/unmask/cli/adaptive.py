"""``unmask adaptive``: exact laws of adaptive unmasking rules (theory section 11)."""

from __future__ import annotations

import json
from typing import Any

import click
import numpy as np

import unmask
from unmask._progress import rich_progress
from unmask.cli import (
    SOURCE_HELP,
    IntRange,
    _check_plot_file,
    _echo_table,
    _quoted,
    _save,
    load_source,
    main,
    source_options,
)
from unmask.laws.joint import Joint
from unmask.samplers.adaptive import RULES, TAKE_THEN_DRAW

FIXED_RULES = (*TAKE_THEN_DRAW, "sampled-prob")


def _parse_list(text: str, kind: type, hint: str) -> list[Any]:
    try:
        out = [kind(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise click.BadParameter(f"expected a comma-separated list, got {_quoted(text)}",
                                 param_hint=hint) from None
    if not out:
        raise click.BadParameter(f"expected a comma-separated list, got {_quoted(text)}",
                                 param_hint=hint)
    return out


def _law_row(law: unmask.AdaptiveLaw) -> dict[str, Any]:
    return {
        "rule": law.rule,
        "schedule": None if law.schedule is None else (
            law.schedule.blocks if hasattr(law.schedule, "widths") else list(law.schedule.sizes)
        ),
        "threshold": law.threshold,
        "block_width": law.block_width,
        "expected_steps": law.expected_steps,
        "steps_pmf": law.steps_pmf.tolist(),
        "kl": law.kl,
        "reverse_kl": law.reverse_kl,
        "tv": law.tv,
    }


def _shown(value: float) -> float:
    """Rounding residue of an exact zero (|v| < 1e-12) shown as 0."""
    return 0.0 if abs(value) < 1e-12 else value


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not np.isfinite(value):  # JSON has no inf; nan: undefined
        return "inf" if value > 0 else ("-inf" if value < 0 else None)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


@main.command("adaptive", epilog=SOURCE_HELP,
              short_help="Exact law of confidence-, margin-, entropy- and threshold-ordered "
                         "samplers.")
@source_options
@click.option("--rule", type=click.Choice([*RULES, "all"]), default="all", show_default=True,
              help="Unmasking rule; 'all' shows every fixed-size rule side by side.")
@click.option("--steps", "-K", "steps", type=IntRange(1, None), default=None,
              help="Number of steps K of a fixed-size rule (constant schedule, or LLaDA's "
                   "blockwise split with --block-width).")
@click.option("--sizes", "sizes_text", default=None,
              help="Explicit per-step counts of a fixed-size rule, e.g. 2,2,1.")
@click.option("--threshold", "tau", type=float, default=None,
              help="tau in (0, 1] of --rule threshold.")
@click.option("--block-width", "block_width", type=IntRange(1, None), default=None,
              help="Blocks of this width decoded left to right (the rule acts inside a block).")
@click.option("--frontier", "frontier_text", default=None,
              help="Comma-separated thresholds: expected steps and KL of the threshold rule "
                   "against the optimal schedule and each fixed-size rule at every K.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, writable=True),
              default=None, help="With --frontier: write a PNG of the frontier to this file.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def adaptive_cmd(
    source: str, n: int | None, q: int | None, seed: int | None, param: float | None, kind: str,
    threads: int | None, rule: str, steps: int | None, sizes_text: str | None,
    tau: float | None, block_width: int | None, frontier_text: str | None,
    plot_path: str | None, as_json: bool,
) -> None:
    """Exact KL of an adaptive (value-dependent) unmasking rule on a joint law SOURCE.

    Take-then-draw rules (random, max-prob, margin, entropy) rank the masked positions by their
    conditional, take the s best and draw them; sampled-prob (LLaDA, MaskGIT) draws every
    masked position and keeps the s most probable draws; threshold (Fast-dLLM) keeps every
    draw above tau and at least the most probable one, so its number of steps is random.
    Computed exactly by a forward pass over partial assignments (about (q+1)^n states).
    """
    obj = load_source(source, kind, n, q, seed, param)
    if not isinstance(obj, Joint):
        raise click.UsageError("unmask adaptive needs a joint law (a built-in law or a .npy "
                               "joint), not a profile")
    if plot_path is not None and frontier_text is None:
        raise click.UsageError("--plot draws the threshold frontier: pass --frontier too")
    _check_plot_file(plot_path)
    if frontier_text is not None:
        _frontier(obj, source, frontier_text, block_width, threads, plot_path, as_json)
        return
    if rule == "threshold":
        if tau is None:
            raise click.UsageError("--rule threshold needs --threshold TAU (0 < TAU <= 1)")
        if steps is not None or sizes_text is not None:
            raise click.UsageError("--rule threshold takes no --steps/--sizes (its number of "
                                   "steps is random)")
        laws = [_run(obj, "threshold", None, tau, block_width, threads)]
    else:
        if tau is not None:
            raise click.UsageError("--threshold applies to --rule threshold only")
        if (steps is None) == (sizes_text is None):
            raise click.UsageError("a fixed-size rule needs exactly one of --steps K or --sizes")
        schedule: Any = steps
        if sizes_text is not None:
            if block_width is not None:
                raise click.UsageError("--block-width goes with --steps K (LLaDA's split), not "
                                       "with --sizes")
            schedule = _parse_list(sizes_text, int, "--sizes")
        names = FIXED_RULES if rule == "all" else (rule,)
        laws = [_run(obj, r, schedule, None, block_width, threads) for r in names]
    if as_json:
        payload = {"source": source, "n": obj.n, "q": obj.q, "unit": "nats",
                   "laws": [_law_row(law) for law in laws]}
        click.echo(json.dumps(_json_safe(payload), indent=2))
        return
    sched = laws[0].schedule
    what = (f"tau = {laws[0].threshold:g}" if sched is None else
            f"schedule {sched.blocks if hasattr(sched, 'widths') else list(sched.sizes)}")
    width = "" if block_width is None else f", block width {block_width}"
    rows = [[law.rule, law.expected_steps, *map(_shown, (law.kl, law.reverse_kl, law.tv))]
            for law in laws]
    _echo_table(f"{source} (n={obj.n}, q={obj.q}), {what}{width}: exact laws, nats",
                ["rule", "E[K]", "KL(p||law)", "KL(law||p)", "TV"], rows)
    if sched is None:
        pmf = laws[0].steps_pmf
        click.echo("P(K = k): " + ", ".join(f"{k}: {v:.4g}" for k, v in enumerate(pmf) if v > 0))


def _run(p: Joint, rule: str, schedule: Any, tau: float | None, block_width: int | None,
         threads: int | None) -> unmask.AdaptiveLaw:
    try:
        with rich_progress(rule) as progress:
            return unmask.adaptive_law(p, rule, schedule, threshold=tau, block_width=block_width,
                                       threads=threads, progress=progress)
    except (ValueError, MemoryError) as exc:
        raise click.UsageError(str(exc)) from exc


def _frontier(p: Joint, source: str, text: str, block_width: int | None, threads: int | None,
              plot_path: str | None, as_json: bool) -> None:
    taus = _parse_list(text, float, "--frontier")
    try:
        with rich_progress("threshold frontier") as progress:
            fr = unmask.threshold_frontier(p, taus, block_width, threads=threads,
                                           progress=progress)
    except (ValueError, MemoryError) as exc:
        raise click.UsageError(str(exc)) from exc
    if plot_path is not None:
        _save(fr.plot(), plot_path)
    rules = sorted(fr.fixed)
    if as_json:
        payload = {
            "source": source, "n": p.n, "q": p.q, "block_width": block_width, "unit": "nats",
            "threshold": [{"tau": float(t), "expected_steps": float(e), "kl": float(k)}
                          for t, e, k in zip(fr.thresholds, fr.expected_steps, fr.kl,
                                             strict=True)],
            "fixed": [{"steps": int(k), "optimal_expected_kl": float(fr.optimal[k - 1]),
                       **{r: float(fr.fixed[r][k - 1]) for r in rules}} for k in fr.steps],
        }
        click.echo(json.dumps(_json_safe(payload), indent=2))
        return
    _echo_table(f"{source}: threshold rule (exact), nats", ["tau", "E[K]", "KL(p||law)"],
                [[float(t), float(e), float(k)] for t, e, k in
                 zip(fr.thresholds, fr.expected_steps, fr.kl, strict=True)])
    _echo_table(f"{source}: fixed schedules (optimal per K), nats",
                ["K", "optimal E KL", *rules],
                [[int(k), _shown(float(fr.optimal[k - 1])),
                  *[_shown(float(fr.fixed[r][k - 1])) for r in rules]]
                 for k in fr.steps])


def print_adaptive_section(result: Any, console: Any) -> None:
    """The adaptive rules of ``unmask verify`` side by side (theory section 11)."""
    from rich import box
    from rich.table import Table

    rows = [(law.name, law.curves["adaptive"]) for law in result.laws
            if "adaptive" in law.curves]
    if not rows:
        return
    rules = list(rows[0][1]["rules"])
    taus = [t["tau"] for t in rows[0][1]["threshold"]]
    table = Table(title="adaptive rules (section 11): exact KL(p || law), nats",
                  caption="constant schedule; rand, maxp, margin, ent: take-then-draw rules;\n"
                          "sp: sampled-prob (LLaDA); sp1: sampled-prob with one token per step\n"
                          "(the take-then-draw rules give 0 there)",
                  box=box.SIMPLE_HEAD, padding=(0, 1), caption_justify="left")
    table.add_column("law", overflow="fold", max_width=14)
    table.add_column("K", justify="right", min_width=2, no_wrap=True)
    short = {"random": "rand", "max-prob": "maxp", "entropy": "ent", "sampled-prob": "sp",
             "sampled-prob, 1/step": "sp1"}
    for r in rules:
        table.add_column(short.get(r, r), justify="right", no_wrap=True)
    for name, ad in rows:
        for i, k in enumerate(ad["K"]):
            cells = [f"{_shown(v):.3g}" if (v := ad["rules"][r][i]) is not None else "-"
                     for r in rules]
            table.add_row(name if i == 0 else "", str(k), *cells)
    console.print(table)
    if not taus:
        return
    thresholds = Table(title="threshold rule (section 11): exact KL(p || law) @ expected steps",
                       box=box.SIMPLE_HEAD, padding=(0, 1))
    thresholds.add_column("law", overflow="fold", max_width=14)
    for tau in taus:
        thresholds.add_column(f"tau {tau:g}", justify="right", no_wrap=True)
    for name, ad in rows:
        thresholds.add_row(name, *[f"{_shown(t['kl']):.3g} @ {t['expected_steps']:.3g}"
                                   for t in ad["threshold"]])
    console.print(thresholds)
