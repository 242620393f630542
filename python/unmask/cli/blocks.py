"""``unmask blocks``: exact cost of blockwise decoding per block width (theory section 10)."""

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
    _console,
    _floor_noise,
    _law_param,
    _markov_transition,
    _nonmonotone_option,
    _quoted,
    _save,
    load_source,
    main,
    source_options,
)
from unmask.laws.joint import Joint
from unmask.profiles.profile import Profile


def block_source(
    source: str, kind: str, n: int | None, q: int | None, seed: int | None, param: float | None
) -> tuple[Any, int, bool]:
    """What the blockwise solvers take for SOURCE: ``(source, n, approximate)``.

    The built-in ``markov`` law gives exact Markov block profiles at any length; any other
    joint law its exact block profiles; a profile-only source (an h curve, samples' estimate,
    a loss curve) the whole-sequence proxy, flagged approximate.
    """
    if source == "markov" and kind in ("auto", "joint"):
        stay = _law_param("markov", param)
        length = 8 if n is None else n
        P = _markov_transition(2 if q is None else q, stay)

        def markov(widths: list[int]) -> list[Profile]:
            return unmask.markov_block_profiles(P, length, widths=widths)

        return markov, length, False
    obj = load_source(source, kind, n, q, seed, param)
    if isinstance(obj, Joint):
        return obj, obj.n, False
    return obj, obj.n, True


def _bad(exc: ValueError) -> click.ClickException:
    text = str(exc)
    hint = "--block-width" if "block" in text and "width" in text else "--steps"
    return click.BadParameter(text, param_hint=hint)


def blockwise_optimal(
    source: str, kind: str, n: int | None, q: int | None, seed: int | None, param: float | None,
    steps: int, block_width: int | None, nonmonotone: str, threads: int | None,
    steps_per_block: str = "equal",
) -> tuple[Any, bool]:
    """The optimal BlockSchedule for ``unmask schedule --encoding blocks`` (and its flag)."""
    if block_width is None:
        raise click.UsageError("--encoding blocks needs --block-width")
    src, length, approximate = block_source(source, kind, n, q, seed, param)
    try:
        if callable(src) and not isinstance(src, (Joint, Profile)):
            src = src(unmask.profiles.blocks.resolve_widths(length, block_width))
        bs = unmask.optimal_block_schedule(
            src, steps, block_width, steps_per_block=steps_per_block,  # type: ignore[arg-type]
            nonmonotone="plain" if nonmonotone == "plain" else "project", threads=threads,
        )
    except (ValueError, MemoryError) as exc:
        if isinstance(exc, MemoryError):
            raise click.UsageError(str(exc)) from exc
        raise _bad(exc) from exc
    return bs, approximate


def _parse_widths(text: str) -> list[int]:
    try:
        out = [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise click.BadParameter(
            f"expected comma-separated positive integers, got {_quoted(text)}",
            param_hint="--widths",
        ) from None
    if not out or min(out) < 1:
        raise click.BadParameter(
            f"expected comma-separated positive integers, got {_quoted(text)}",
            param_hint="--widths",
        )
    return list(dict.fromkeys(out))  # a width given twice is one row


@main.command("blocks", epilog=SOURCE_HELP,
              short_help="Exact cost of blockwise (LLaDA) decoding for each block width.")
@source_options
@click.option("--steps", "-K", "steps", type=IntRange(1, None), required=True,
              help="Total number of steps K over all blocks.")
@click.option("--widths", "widths_text", default="8,16,32,64", show_default=True,
              help="Comma-separated block widths to compare (each at most n).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, writable=True),
              default=None, help="Write a PNG of the cost versus block width to this file.")
@_nonmonotone_option
def blocks_cmd(
    source: str, n: int | None, q: int | None, seed: int | None, param: float | None, kind: str,
    threads: int | None, steps: int, widths_text: str, as_json: bool, plot_path: str | None,
    nonmonotone: str,
) -> None:
    """Expected KL of blockwise decoding with K steps, for each block width.

    Columns: LLaDA's even split (same steps per block, counts split evenly), the optimal
    schedule with the same steps per block, and the optimal one with a free allocation of the
    K steps over the blocks. Exact (theory section 10) for joint laws and the built-in Markov
    chain at any --n; for a profile-only SOURCE the whole-sequence profile is used as a proxy
    and the output says so.
    """
    widths = _parse_widths(widths_text)
    _check_plot_file(plot_path)
    src, length, approximate = block_source(source, kind, n, q, seed, param)
    too_wide = [w for w in widths if w > length]
    if too_wide:
        raise click.BadParameter(f"block width {too_wide[0]} exceeds n = {length}",
                                 param_hint="--widths")
    if steps > length:
        raise click.BadParameter(f"--steps {steps} exceeds n = {length}", param_hint="--steps")
    try:
        with rich_progress("block widths") as progress:
            fr = unmask.block_width_frontier(
                src, steps, widths, n=length, nonmonotone=nonmonotone,  # type: ignore[arg-type]
                threads=threads, progress=progress,
            )
    except MemoryError as exc:
        raise click.UsageError(str(exc)) from exc
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    rows = fr.rows()
    if plot_path is not None:
        _save(fr.plot(), plot_path)
    if as_json:
        payload = {
            "source": source, "n": length, "steps": steps, "unit": fr.unit,
            "approximate": approximate, "rows": rows,
            "schedules": {
                f"{mode}:{w}": bs.blocks for (mode, w), bs in fr.schedules.items()
            },
        }
        click.echo(json.dumps(payload, indent=2))
        return
    from rich.table import Table

    tag = " (proxy: whole-sequence profile)" if approximate else " (exact)"
    table = Table(title=f"{source}: n = {length}, K = {steps}, expected KL in {fr.unit}{tag}")
    for col in ("width", "blocks", "LLaDA even split", "optimal, equal", "optimal, free"):
        table.add_column(col, justify="right")

    scale = max([abs(v) for r in rows for v in (r["llada"], r["equal"], r["free"])
                 if v is not None and np.isfinite(v)], default=1.0)

    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{_floor_noise(v, scale):.6g}"

    notes = []
    for r in rows:
        count = -(-length // r["width"])
        table.add_row(str(r["width"]), str(count),
                      fmt(r["llada"]), fmt(r["equal"]), fmt(r["free"]))
        if r["free"] is None:
            notes.append(f"width {r['width']}: K = {steps} is fewer than its {count} blocks "
                         "(each block needs a step)")
        elif r["equal"] is None:
            notes.append(f"width {r['width']}: K = {steps} is not a multiple of its {count} "
                         "blocks (no equal split)")
    out = _console()
    out.print(table)
    if notes:
        out.print("-: " + "; ".join(notes), soft_wrap=True, markup=False, highlight=False)
    finite = [c for c in fr.free if c is not None and np.isfinite(c)]
    if finite:
        w, c = fr.best("free")
        out.print(f"best width (free allocation): {w}, {_floor_noise(c, scale):.6g} {fr.unit}")
