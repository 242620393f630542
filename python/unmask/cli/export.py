"""``unmask export``: a schedule for SOURCE in the form a named sampler consumes."""

from __future__ import annotations

import json
from typing import Any

import click

import unmask
from unmask.cli import (
    FAMILY_CHOICES,
    SOURCE_HELP,
    _as_profile,
    _busy,
    _make_schedule,
    _monotone_profile,
    _nonmonotone_option,
    load_source,
    main,
    source_options,
)
from unmask.export.samplers import SAMPLERS, SamplerSchedule, for_sampler
from unmask.profiles.profile import Profile
from unmask.schedules.blocks import BlockSchedule

_BLOCK_SAMPLERS = ("llada", "fast-dllm", "llada2")


def _block_schedule(prof: Profile, steps: int, width: int, family: str, threads: int | None,
                    nonmonotone: str) -> BlockSchedule:
    from unmask.export.encodings import split_blocks

    try:
        if family == "constant":
            return BlockSchedule.llada(prof.n, steps, width)
        if family != "optimal":
            raise click.UsageError(
                f"--family {family} has no blockwise form; block samplers take optimal or constant")
        sched = unmask.optimal_block_schedule(
            prof, steps, width, nonmonotone="plain" if nonmonotone == "plain" else "project",
            threads=threads)
        return BlockSchedule(split_blocks(sched, width))
    except ValueError as exc:
        hint = "--block-width" if "block" in str(exc) and "steps" not in str(exc) else "--steps"
        raise click.BadParameter(str(exc), param_hint=hint) from exc


def _python(e: SamplerSchedule) -> str:
    values = json.dumps(e.values.tolist())
    head = [
        f"# unmask export: {e.sampler} (n = {e.schedule.n}, K = {e.schedule.steps}, "
        f"exact = {e.exact})",
        *(f"# {note}" for note in e.notes),
        f"values = {values}",
        "",
    ]
    body = e.snippet.replace("exported.values", "values").replace("(exported)", "(values)")
    return "\n".join(head) + body + "\n"


@main.command("export", epilog=SOURCE_HELP,
              short_help="A schedule in the exact form a named sampler consumes.")
@source_options
@click.option("--for", "sampler", type=click.Choice(list(SAMPLERS)), required=True,
              help="The sampler: " + "; ".join(f"{k}: {v}" for k, v in SAMPLERS.items()) + ".")
@click.option("--steps", "-K", "steps", type=click.IntRange(1, None), required=True,
              help="Total number of steps K (over all blocks for block samplers).")
@click.option("--block-width", type=click.IntRange(1, None), default=None,
              help="Block length (llada, fast-dllm, llada2; optional for dllm). Must divide n, "
                   "and --steps must be a multiple of the number of blocks.")
@click.option("--family", type=click.Choice(FAMILY_CHOICES), default="optimal",
              show_default=True, help="Schedule family (block samplers: optimal or constant).")
@click.option("--noise", default=None,
              help="Noise schedule of mdlm / md4 / sedd (loglinear, cosine, linear, geometric, "
                   "polynomial).")
@click.option("--alg", default=None, help="Dream's alg (maskgit_plus, topk_margin, entropy, "
                                          "origin).")
@click.option("--format", "fmt", type=click.Choice(("json", "python")), default="json",
              show_default=True, help="JSON (values, exactness, notes, snippet) or Python code.")
@_nonmonotone_option
def export_cmd(
    source: str, n: int | None, q: int, seed: int, param: float | None, kind: str,
    threads: int | None, sampler: str, steps: int, block_width: int | None, family: str,
    noise: str | None, alg: str | None, fmt: str, nonmonotone: str,
) -> None:
    """A K-step schedule for SOURCE (default: optimal) in the form --for SAMPLER consumes.

    The values reproduce the schedule's counts under the sampler's own arithmetic (exact: true)
    or in expectation (mdlm, md4, sedd: exact: false).
    """
    given = _as_profile(load_source(source, kind, n, q, seed, param), None, threads)
    prof, _ = _monotone_profile(given, nonmonotone)
    blockwise = sampler in _BLOCK_SAMPLERS or (sampler == "dllm" and block_width is not None)
    if sampler in _BLOCK_SAMPLERS and block_width is None:
        raise click.UsageError(f"--for {sampler} decodes block by block: give --block-width")
    if block_width is not None and not blockwise:
        raise click.UsageError(f"--block-width applies to llada, fast-dllm, llada2, dllm, "
                               f"not to {sampler}")
    if block_width is not None:
        if block_width > prof.n or prof.n % block_width:
            raise click.BadParameter(f"block width {block_width} must divide n = {prof.n}",
                                     param_hint="--block-width")
        blocks = prof.n // block_width
        if steps % blocks:
            raise click.BadParameter(
                f"--steps {steps} must be a multiple of the number of blocks ({blocks} = "
                f"n {prof.n} / block width {block_width})", param_hint="--steps")
    options: dict[str, Any] = {}
    if noise is not None:
        if sampler not in ("mdlm", "md4", "sedd"):
            raise click.UsageError("--noise applies to mdlm, md4 and sedd")
        options["noise"] = noise
    if alg is not None:
        if sampler != "dream":
            raise click.UsageError("--alg applies to dream")
        options["alg"] = alg
    ekl: float | None
    with _busy(f"{family} schedule (n={prof.n}, K={steps})"):
        if blockwise:
            assert block_width is not None
            sched: Any = _block_schedule(prof, steps, block_width, family, threads, nonmonotone)
            ekl = None  # blockwise error needs block profiles (theory section 10)
        else:
            sched = _make_schedule(family, prof, steps, threads, nonmonotone)
            ekl = unmask.expected_kl(prof, sched)
    try:
        e = for_sampler(sched, sampler, **options)
    except (ValueError, TypeError) as exc:
        raise click.UsageError(str(exc)) from exc
    if fmt == "python":
        click.echo(_python(e), nl=False)
        return
    payload = {"source": source, "family": family, **e.to_dict(), "unit": prof.unit}
    if ekl is not None:
        payload["expected_kl"] = ekl
    if isinstance(sched, BlockSchedule):
        payload["blocks"] = sched.blocks
    click.echo(json.dumps(payload, indent=2))
