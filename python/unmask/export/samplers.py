"""A schedule in the exact form a named sampler consumes, with its rounding proven.

:func:`for_sampler` turns a :class:`~unmask.Schedule` (or a :class:`~unmask.BlockSchedule` for
the blockwise samplers) into the values a sampler's own code takes, states what they replace in
that code, and says whether the sampler then reproduces the counts exactly or only in
expectation (theory section 14).

Every encoding whose counts pass through floating point is checked here, at export time, by
running the consumer's own arithmetic (in float32 and float64) on the exported values: an export
that would not reproduce the counts raises instead of returning. The tests re-implement each
consumer independently (named by upstream repository, file and function) and check every
``(n, m)`` pair or random compositions for ``n <= 2048``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask.schedules.blocks import BlockSchedule
from unmask.schedules.schedule import Schedule

__all__ = ["SAMPLERS", "SamplerSchedule", "for_sampler"]

#: The samplers :func:`for_sampler` knows, with the upstream code whose rule it reproduces.
SAMPLERS: dict[str, str] = {
    "llada": "ML-GSAI/LLaDA generate.py: get_num_transfer_tokens, rebuilt per block",
    "fast-dllm": "NVlabs/Fast-dLLM llada/generate.py: get_num_transfer_tokens, get_transfer_index",
    "llada2": "diffusers LLaDA2Pipeline + BlockRefinementScheduler (and the LLaDA2 remote code)",
    "dllm": "dllm core/samplers/utils.py: get_num_transfer_tokens with an alpha scheduler",
    "dream": "Dream generation_utils.py: _sample, timesteps = linspace(1, eps, steps + 1)",
    "mdlm": "kuleshov-group/mdlm diffusion.py: _sample, _ddpm_update (time grid)",
    "md4": "google-deepmind/md4 md4.py: get_sampling_grid, MaskingSchedule (time grid)",
    "sedd": "louaaron/Score-Entropy-Discrete-Diffusion sampling.py: get_pc_sampler (time grid)",
    "maskgit": "google-research/maskgit parallel_decode.py: decode, mask_schedule.schedule",
    "amused": "diffusers AmusedScheduler.step",
}
_BLOCKWISE = ("llada", "fast-dllm", "llada2")
_TIME_GRID = ("mdlm", "md4", "sedd")
_DREAM_ALGS = ("maskgit_plus", "topk_margin", "entropy", "origin")
#: Largest remaining count for which a float32 midpoint ratio is proven to floor right
#: (the error of two float32 roundings is below (m + 1/2) * 2**-23 < 1/2).
_F32_PROVEN = 2**22


@dataclass(frozen=True)
class SamplerSchedule:
    """A schedule in one sampler's own encoding (see :func:`for_sampler`).

    Attributes
    ----------
    sampler : str
        The sampler's name (a key of :data:`SAMPLERS`).
    values : numpy.ndarray
        The schedule in the sampler's form: per-block per-step counts (int64, shape
        ``[num_blocks, steps_per_block]``) for llada / fast-dllm / llada2 (and dllm with blocks
        that differ), remaining-mask ratios after each step (length ``K``) for maskgit / amused,
        a time grid ``t_0 = 1 > ... > t_K`` (length ``K + 1``) for dream / mdlm / md4 / sedd, the
        unmasked fraction ``alpha(j / K)``, ``j = 0..K`` (``t = 1`` fully masked) for dllm.
    argument : str
        What the values replace in the sampler's code.
    exact : bool
        True when the sampler reproduces the schedule's counts exactly, False when only in
        expectation (random Bernoulli reveals, or counts that are minima under a threshold).
    notes : tuple of str
        Conventions, constraints and caveats.
    snippet : str
        Code to paste into (or around) the sampler.
    schedule : Schedule or BlockSchedule
        The schedule that was exported.
    options : dict
        Sampler options used (steps per block, eps, thresholds, ...).
    """

    sampler: str
    values: NDArray[Any]
    argument: str
    exact: bool
    notes: tuple[str, ...]
    snippet: str
    schedule: Schedule | BlockSchedule
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (plain ints, floats and strings).

        Returns
        -------
        dict
            Keys ``sampler``, ``values``, ``argument``, ``exact``, ``notes``, ``snippet``,
            ``options``, ``n`` and ``steps``.
        """
        return {
            "sampler": self.sampler,
            "n": self.schedule.n,
            "steps": self.schedule.steps,
            "values": self.values.tolist(),
            "argument": self.argument,
            "exact": self.exact,
            "notes": list(self.notes),
            "snippet": self.snippet,
            "options": {k: v for k, v in self.options.items() if _jsonable(v)},
        }

    def __repr__(self) -> str:
        return (
            f"SamplerSchedule(sampler={self.sampler!r}, n={self.schedule.n}, "
            f"steps={self.schedule.steps}, shape={self.values.shape}, exact={self.exact})"
        )


def _jsonable(v: Any) -> bool:
    try:
        json.dumps(v)
    except (TypeError, ValueError):
        return False
    return True


# -------------------------------------------------------------------------------------------
# Input handling
# -------------------------------------------------------------------------------------------
def _known(sampler: Any) -> str:
    if not isinstance(sampler, str):
        raise TypeError(f"sampler must be a string, one of {sorted(SAMPLERS)}; got {sampler!r}")
    key = sampler.strip().lower().replace("_", "-")
    key = {"fastdllm": "fast-dllm", "fast-dlm": "fast-dllm"}.get(key, key)
    if key not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; known samplers: {', '.join(SAMPLERS)}")
    return key


def _flat(schedule: Any, sampler: str) -> Schedule:
    if isinstance(schedule, BlockSchedule):
        if schedule.num_blocks == 1:
            return schedule.flat
        raise ValueError(
            f"{sampler} decodes the whole sequence at once; a BlockSchedule with "
            f"{schedule.num_blocks} blocks has no {sampler} encoding (use its .flat only if "
            "the sampler itself is run block by block)"
        )
    return schedule if isinstance(schedule, Schedule) else Schedule(schedule)


def _blocks(schedule: Any, sampler: str) -> BlockSchedule:
    if isinstance(schedule, BlockSchedule):
        return schedule
    s = schedule if isinstance(schedule, Schedule) else Schedule(schedule)
    raise ValueError(
        f"{sampler} decodes block by block and needs a BlockSchedule, got a flat schedule of "
        f"n = {s.n}, K = {s.steps}: build one with unmask.BlockSchedule([[...], [...]]) (one "
        f"composition per block), unmask.BlockSchedule.llada(n, steps, block_width), "
        f"unmask.optimal_block_schedule(profile, steps, block_width), or "
        f"unmask.BlockSchedule([{list(s.sizes)[:4]}{'...' if s.steps > 4 else ''}]) for a "
        "single block spanning the whole sequence"
    )


def _take(options: dict[str, Any], allowed: dict[str, Any], sampler: str) -> dict[str, Any]:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(
            f"for_sampler(..., {sampler!r}) got unknown option(s) {unknown}; "
            f"it takes {sorted(allowed) or 'none'}"
        )
    return {**allowed, **options}


def _check_memory(count: float, what: str) -> None:
    from unmask._validation import check_memory

    check_memory(64.0 * (float(count) + 1.0), what)


def _remaining(s: Schedule) -> NDArray[np.int64]:
    """Masked counts before each step and after the last: ``[n, M_1, ..., M_K = 0]``."""
    return np.asarray(s.n - s.boundaries, dtype=np.int64)


# -------------------------------------------------------------------------------------------
# Consumers' arithmetic, vectorised (the export checks its values with these)
# -------------------------------------------------------------------------------------------
def floor_ratio_counts(total: Any, ratios: Any, dtype: Any = np.float32) -> NDArray[np.int64]:
    """``floor(total * ratio)`` in ``dtype`` (MaskGIT's and diffusers' mask length).

    Parameters
    ----------
    total : int or array_like of int
        Token count the ratio multiplies (MaskGIT: masked tokens at the start; aMUSEd: the
        sequence length).
    ratios : array_like of float
        Remaining-mask ratios.
    dtype : numpy dtype, default float32
        Arithmetic type (JAX and torch default to float32).

    Returns
    -------
    numpy.ndarray
        int64 mask lengths (tokens left masked after each step).
    """
    r = np.asarray(ratios, dtype=np.float64).astype(dtype)
    tot = np.asarray(total).astype(dtype)
    return np.asarray(np.floor(tot * r), dtype=np.int64)


def dream_counts(masked: Any, t: Any, s: Any, dtype: Any = np.float32) -> NDArray[np.int64]:
    """Dream's ``int(num_mask_token * (1 - s / t))`` in ``dtype`` (truncation toward zero).

    Parameters
    ----------
    masked : array_like of int
        Masked tokens before each step.
    t, s : array_like of float
        Grid times at the start and the end of each step (``s < t``).
    dtype : numpy dtype, default float32
        Arithmetic type of the grid tensor.

    Returns
    -------
    numpy.ndarray
        int64 counts.
    """
    tt = np.asarray(t, dtype=np.float64).astype(dtype)
    ss = np.asarray(s, dtype=np.float64).astype(dtype)
    m = np.asarray(masked).astype(dtype)
    one = np.asarray(1.0, dtype=dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = m * (one - ss / tt)
    return np.asarray(np.trunc(x), dtype=np.int64)


def dllm_counts(masked: Any, alpha_t: Any, alpha_s: Any, dtype: Any = np.float64) -> NDArray[
    np.int64
]:
    """Dllm's ``round(masked * (1 - (1 - alpha_s) / (1 - alpha_t)))`` (half to even).

    Parameters
    ----------
    masked : array_like of int
        Masked tokens before each step (dllm's running ``mask_num``).
    alpha_t, alpha_s : array_like of float
        Unmasked fraction at the step's start time ``t`` and end time ``s < t``.
    dtype : numpy dtype, default float64
        Type the scheduler's ``alpha`` values are computed in (the product with the count is
        float64 in dllm).

    Returns
    -------
    numpy.ndarray
        int64 counts.
    """
    at = np.asarray(alpha_t, dtype=np.float64).astype(dtype)
    as_ = np.asarray(alpha_s, dtype=np.float64).astype(dtype)
    one = np.asarray(1.0, dtype=dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (one - as_) / (one - at)
    prob = 1.0 - ratio.astype(np.float64)
    return np.asarray(np.rint(np.asarray(masked, dtype=np.float64) * prob), dtype=np.int64)


def _refuse(sampler: str, what: str, n: int) -> None:
    raise ValueError(
        f"{sampler}: the exported values do not reproduce the counts under {what} for n = {n} "
        f"(proven only for fewer than {_F32_PROVEN} masked tokens in float32)"
    )


# -------------------------------------------------------------------------------------------
# Flat encodings
# -------------------------------------------------------------------------------------------
def midpoint_mask_ratios(schedule: Any, total: int | None = None) -> NDArray[np.float64]:
    """Remaining-mask ratios ``(M_k + 1/2) / total`` after each step, last entry 0.

    Parameters
    ----------
    schedule : Schedule or sequence of int
        The schedule; ``M_k`` tokens are still masked after step ``k``.
    total : int, optional
        The count the sampler multiplies the ratio by (default ``n``); at least ``n``.

    Returns
    -------
    numpy.ndarray
        Length ``K``. ``floor(total * ratio_k) = M_k`` exactly, in float32 for
        ``M_k < 2**22`` and in float64 for ``M_k < 2**51``: the product lands half a token
        above ``M_k``, and two roundings move it by at most ``(M_k + 1/2) * 2**-23``.
        The last step of MaskGIT and aMUSEd reveals everything whatever its ratio.
    """
    s = schedule if isinstance(schedule, Schedule) else Schedule(schedule)
    tot = s.n if total is None else int(total)
    rem = _remaining(s)[1:].astype(np.float64)
    out = (rem + 0.5) / float(tot)
    out[-1] = 0.0
    return out


def _export_ratio(s: Schedule, sampler: str, total: int) -> NDArray[np.float64]:
    ratios = midpoint_mask_ratios(s, total)
    want = _remaining(s)[1:-1]
    for dtype, name in ((np.float32, "float32"), (np.float64, "float64")):
        if not np.array_equal(floor_ratio_counts(total, ratios[:-1], dtype), want):
            _refuse(sampler, f"{name} floor(total * ratio)", s.n)
    return ratios


def dream_grid(schedule: Any, alg: str = "maskgit_plus") -> NDArray[np.float64]:
    """Dream's time grid ``t_0 = 1 > t_1 > ... > t_K`` for a schedule (float32 values).

    Parameters
    ----------
    schedule : Schedule or sequence of int
        The schedule (``M_k`` masked after step ``k``, ``c_k`` revealed at step ``k``).
    alg : str, default "maskgit_plus"
        Dream's ``alg``. For the count rules (``maskgit_plus``, ``topk_margin``, ``entropy``)
        the grid is floor-safe: ``t_{k+1} / t_k = (M_{k+1} - 1/2) / M_k``, so Dream's
        ``M_k (1 - s/t)`` is ``c_k + 1/2`` up to float32 rounding and truncates to ``c_k``.
        For ``origin`` (independent reveals with probability ``1 - s/t``) the grid is the
        masked fraction ``M_k / n``: exact in expectation.

    Returns
    -------
    numpy.ndarray
        Length ``K + 1``, float64 holding float32-representable values; ``t_K = 0`` (Dream
        never divides by it: its last step takes every remaining token).
    """
    s = schedule if isinstance(schedule, Schedule) else Schedule(schedule)
    rem = _remaining(s).astype(np.float64)
    k = s.steps
    if alg == "origin":
        t = rem / float(s.n)
    else:
        t = np.empty(k + 1)
        t[0] = 1.0
        if k > 1:
            ratios = (rem[1:k] - 0.5) / rem[: k - 1]
            t[1:k] = np.cumprod(ratios)
        t[k] = 0.0
    return t.astype(np.float32).astype(np.float64)


def _export_dream(s: Schedule, alg: str) -> NDArray[np.float64]:
    grid = dream_grid(s, alg)
    if alg != "origin" and s.steps > 1:
        rem = _remaining(s)
        want = np.asarray(s.sizes[:-1], dtype=np.int64)
        for dtype, name in ((np.float32, "float32"), (np.float64, "float64")):
            got = dream_counts(rem[:-2], grid[:-2], grid[1:-1], dtype)
            if not np.array_equal(got, want):
                _refuse("dream", f"{name} int(num_mask * (1 - s / t))", s.n)
    return grid


def dllm_alpha(schedule: Any) -> NDArray[np.float64]:
    """Dllm's ``alpha(j / K)``, ``j = 0..K`` (unmasked fraction, ``t = 1`` fully masked).

    Parameters
    ----------
    schedule : Schedule or sequence of int
        The schedule.

    Returns
    -------
    numpy.ndarray
        Length ``K + 1``: ``alpha(j / K) = 1 - M_{K-j} / n`` where ``M_k`` tokens are masked
        after step ``k`` (so ``alpha(0) = 1``, ``alpha(1) = 0``). dllm's step from ``t = j/K``
        to ``s = (j-1)/K`` takes ``round(mask_num (1 - (1 - alpha(s)) / (1 - alpha(t))))``
        = ``round(M (1 - M' / M))`` = ``M - M'`` up to rounding errors far below 1/2.
    """
    s = schedule if isinstance(schedule, Schedule) else Schedule(schedule)
    rem = _remaining(s).astype(np.float64)  # masked after step k, k = 0..K
    return np.asarray((1.0 - rem / float(s.n))[::-1], dtype=np.float64)


def _export_dllm_alpha(s: Schedule) -> NDArray[np.float64]:
    alpha = dllm_alpha(s)
    rem = _remaining(s)
    # dllm step j (0-based) runs from t = (K-j)/K to s = (K-j-1)/K.
    a_t = alpha[::-1][:-1]
    a_s = alpha[::-1][1:]
    want = np.asarray(s.sizes, dtype=np.int64)
    for dtype, name in ((np.float32, "float32"), (np.float64, "float64")):
        got = np.minimum(dllm_counts(rem[:-1], a_t, a_s, dtype), rem[:-1])
        if not np.array_equal(got, want):
            _refuse("dllm", f"{name} round(mask_num * (1 - (1 - alpha_s) / (1 - alpha_t)))", s.n)
    return alpha


# -------------------------------------------------------------------------------------------
# Blockwise encodings
# -------------------------------------------------------------------------------------------
def block_counts(schedule: BlockSchedule, steps_per_block: int | None = None) -> NDArray[np.int64]:
    """Per-block per-step counts, shape ``[num_blocks, steps_per_block]``, zero-padded.

    Parameters
    ----------
    schedule : BlockSchedule
        The per-block compositions.
    steps_per_block : int, optional
        Row length (default: the most steps any block has); shorter blocks end in zeros.

    Returns
    -------
    numpy.ndarray
        int64; row ``b`` is block ``b``'s composition followed by zeros.
    """
    spb = max(schedule.steps_per_block)
    width = spb if steps_per_block is None else int(steps_per_block)
    if width < spb:
        raise ValueError(f"steps_per_block = {width} is fewer than the {spb} steps of a block")
    _check_memory(schedule.num_blocks * width, "the per-block count table")
    out = np.zeros((schedule.num_blocks, width), dtype=np.int64)
    for b, sizes in enumerate(schedule.blocks):
        out[b, : len(sizes)] = sizes
    return out


def _equal_widths(bs: BlockSchedule, sampler: str, first_may_be_short: bool = False) -> int:
    widths = bs.widths
    w = max(widths)
    rest = widths[1:] if first_may_be_short else widths
    if any(x != w for x in rest):
        extra = " (only the first block, which the prompt may share, may be narrower)" if (
            first_may_be_short) else ""
        raise ValueError(
            f"{sampler} uses one block length for every block; this BlockSchedule has widths "
            f"{widths[:8]}{'...' if len(widths) > 8 else ''}{extra}: "
            "the generation length must be a multiple of the block length"
        )
    return w


# -------------------------------------------------------------------------------------------
# Snippets
# -------------------------------------------------------------------------------------------
def _snippet(sampler: str, v: SamplerSchedule | None, opts: dict[str, Any]) -> str:
    n = opts["n"]
    if sampler in ("llada", "fast-dllm"):
        module = "generate" if sampler == "llada" else "llada.generate"
        call = "generate" if sampler == "llada" else "generate  # or generate_with_dual_cache"
        return (
            f"import {module} as sampler_module  # {SAMPLERS[sampler].split(':')[0]}\n"
            "from unmask.integrations import BlockTransferTokens\n"
            "# get_num_transfer_tokens is rebuilt per block and not told which block it is in:\n"
            "# this drop-in returns block b's row on its b-th call of each generation\n"
            "sampler_module.get_num_transfer_tokens = BlockTransferTokens(exported.values)\n"
            f"out = sampler_module.{call}(model, prompt, steps={opts['steps_total']}, "
            f"gen_length={n}, block_length={opts['block_length']}"
            + (", threshold=None)" if sampler == "fast-dllm" else ")")
        )
    if sampler == "llada2":
        return (
            "from diffusers import LLaDA2Pipeline\n"
            "from unmask.integrations import block_refinement_scheduler\n"
            "pipe.scheduler = block_refinement_scheduler(exported.values)\n"
            f"out = pipe(prompt, gen_length={n}, block_length={opts['block_length']}, "
            f"num_inference_steps={opts['steps_per_block']}, threshold={opts['threshold']!r}, "
            "editing_threshold=None)\n"
            "# LLaDA2 remote code (trust_remote_code): instead\n"
            "# from unmask.integrations import llada2_transfer_schedule\n"
            "# model._get_num_transfer_tokens = llada2_transfer_schedule(exported.values)\n"
            f"# model.generate(..., block_length={opts['block_length']}, "
            f"steps={opts['steps_per_block']}, threshold={opts['threshold']!r})"
        )
    if sampler == "dllm":
        if opts.get("per_block_counts"):
            return (
                "import dllm.core.samplers.mdlm as mdlm_sampler  # ZHZisZZ/dllm\n"
                "from unmask.integrations import BlockTransferTokens\n"
                "mdlm_sampler.get_num_transfer_tokens = BlockTransferTokens(exported.values)\n"
                f"# then sample with block_size={opts['block_length']}, "
                f"steps={opts['steps_total']}"
            )
        return (
            "from unmask.integrations import dllm_alpha_scheduler\n"
            "scheduler = dllm_alpha_scheduler(exported.values)  # a BaseAlphaScheduler\n"
            f"# pass scheduler=scheduler to dllm's sampler with steps={opts['steps']} "
            f"(per block of {opts['block_length']} tokens)"
        )
    if sampler == "dream":
        return (
            "# Dream generation_utils.py, in _sample: replace\n"
            "#     timesteps = torch.linspace(1, eps, steps + 1, device=x.device)\n"
            "# with\n"
            "timesteps = torch.tensor(exported.values, dtype=torch.float32, device=x.device)\n"
            f"# and call diffusion_generate(..., steps={opts['steps']}, alg={opts['alg']!r})"
        )
    if sampler in ("maskgit", "amused"):
        if sampler == "amused":
            return (
                "from unmask.integrations import ratio_amused_scheduler\n"
                "pipe.scheduler = ratio_amused_scheduler(exported.values, "
                "mask_token_id=pipe.scheduler.config.mask_token_id)\n"
                f"image = pipe(prompt, num_inference_steps={opts['steps']}).images[0]"
            )
        return (
            "from unmask.integrations import maskgit_schedule\n"
            "from maskgit.libml import mask_schedule  # google-research/maskgit\n"
            "mask_schedule.schedule = maskgit_schedule(exported.values)\n"
            f"# then decode with num_iter={opts['steps']}"
        )
    raise AssertionError(sampler)  # pragma: no cover  (time grids build their own)


# -------------------------------------------------------------------------------------------
# Public entry point
# -------------------------------------------------------------------------------------------
def for_sampler(schedule: Any, sampler: str, **options: Any) -> SamplerSchedule:
    """A schedule in the form ``sampler`` consumes, with the counts it then reproduces.

    Parameters
    ----------
    schedule : Schedule, BlockSchedule or sequence of int
        The schedule. llada, fast-dllm and llada2 decode block by block and need a
        :class:`~unmask.BlockSchedule`; dllm takes either; the others a flat schedule (or a
        one-block BlockSchedule).
    sampler : str
        One of :data:`SAMPLERS`: ``"llada"``, ``"fast-dllm"``, ``"llada2"``, ``"dllm"``,
        ``"dream"``, ``"mdlm"``, ``"md4"``, ``"sedd"``, ``"maskgit"``, ``"amused"``.
    **options
        Sampler options. llada: ``pad`` (bool, default False: zero-count steps at the end
        of shorter blocks; LLaDA runs a forward pass for each). fast-dllm: ``threshold``,
        ``factor`` (default None; either makes the counts ignored). llada2: ``threshold``
        (default 1.0, which keeps counts exact), ``editing_threshold`` (default None).
        dream: ``alg`` (default ``"maskgit_plus"``). amused: ``seq_len`` (tokens in the
        sequence, default ``n``). maskgit: ``total`` (masked tokens at the start, default
        ``n``). mdlm / md4 / sedd: the options of :func:`unmask.export.time_grid`
        (``noise``, ``eps``, ``noise_eps``, ``exponent``, ``profile``, ...).

    Returns
    -------
    SamplerSchedule
        ``.values`` in the sampler's own form, ``.argument`` (what they replace),
        ``.exact``, ``.notes`` and ``.snippet``.

    Raises
    ------
    ValueError
        Unknown sampler (the message lists them); a flat schedule where blocks are needed (the
        message says how to build a BlockSchedule); blocks whose widths or step counts the
        sampler cannot run (the constraint is named); values that would not reproduce the counts
        under the sampler's float32 arithmetic (beyond ``2**22`` masked tokens).
    TypeError
        An option the sampler does not take.

    Notes
    -----
    Each export is O(K). The rounding arguments are in theory section 14:

    * maskgit / amused: ratios ``(M_k + 1/2) / N`` floor to ``M_k`` (the product lies half a
      token above ``M_k``; float32 rounding moves it by at most ``(M_k + 1/2) 2**-23``);
      plain ratios ``M_k / N`` floor to ``M_k - 1`` whenever the product rounds down.
    * dream: ``t_{k+1} / t_k = (M_{k+1} - 1/2) / M_k`` makes ``M_k (1 - s/t) = c_k + 1/2``.
    * dllm: ``alpha = 1 - M / n`` makes ``M (1 - M'/M)`` land within far less than 1/2 of
      ``M - M'``, which ``round`` recovers.
    * llada / fast-dllm / llada2: integer counts, nothing rounds.

    Examples
    --------
    >>> import unmask
    >>> e = for_sampler(unmask.Schedule([3, 2, 1]), "maskgit")
    >>> e.values.tolist(), e.exact
    ([0.5833333333333334, 0.25, 0.0], True)
    >>> for_sampler(unmask.BlockSchedule([[3, 1], [2, 2]]), "llada").values.tolist()
    [[3, 1], [2, 2]]
    """
    key = _known(sampler)
    if key in _TIME_GRID:
        from unmask.export.time_grid import time_grid

        grid = time_grid(_flat(schedule, key), sampler=key, **options)
        return SamplerSchedule(
            sampler=key, values=grid.t, argument=grid.argument, exact=False,
            notes=grid.notes, snippet=grid.snippet, schedule=grid.schedule,
            options=grid.options,
        )
    if key in _BLOCKWISE:
        return _blockwise(_blocks(schedule, key), key, options)
    if key == "dllm":
        return _dllm(schedule, options)
    s = _flat(schedule, key)
    _check_memory(s.steps, f"a {key} export of {s.steps} steps")
    if key == "dream":
        opts = _take(options, {"alg": "maskgit_plus"}, key)
        alg = opts["alg"]
        if alg not in _DREAM_ALGS:
            raise ValueError(f"unknown Dream alg {alg!r}; known: {', '.join(_DREAM_ALGS)}")
        values = _export_dream(s, alg)
        exact = alg != "origin"
        notes = (
            "values: Dream's time grid t_0 = 1 > t_1 > ... > t_K (float32-representable)",
            "count rule: int(num_mask * (1 - s/t)) in float32, truncated; the last step takes "
            "every remaining token (t_K = 0 is never divided by)",
            "grid ratio t_{k+1}/t_k = (M_{k+1} - 1/2)/M_k puts each product half a token "
            "above the count, so truncation cannot fall short"
            if exact else
            "alg='origin' reveals each masked token with probability 1 - s/t: the grid "
            "t_k = M_k/n is exact in expectation only",
        )
        opts.update(n=s.n, steps=s.steps)
        argument = "timesteps = torch.linspace(1, eps, steps + 1) in Dream's _sample"
        return SamplerSchedule(key, values, argument, exact, notes, _snippet(key, None, opts),
                               s, opts)
    # maskgit / amused
    if key == "maskgit":
        opts = _take(options, {"total": None}, key)
        total = s.n if opts["total"] is None else _count(opts["total"], "total")
        argument = ("mask_ratio = mask_schedule.schedule(ratio, unknown_number_in_the_beginning,"
                    " method) in MaskGIT's decode")
    else:
        opts = _take(options, {"seq_len": None}, key)
        total = s.n if opts["seq_len"] is None else _count(opts["seq_len"], "seq_len")
        argument = ("mask_ratio = cos(ratio * pi / 2) (or 1 - ratio) in "
                    "diffusers.AmusedScheduler.step")
    if total < s.n:
        raise ValueError(f"{key}: the token count {total} is smaller than n = {s.n}")
    values = _export_ratio(s, key, total)
    opts.update(n=s.n, steps=s.steps, total=total)
    notes = (
        "values: remaining-mask ratio after each step (fraction of the "
        f"{total} tokens still masked), length K; the last entry is 0 (the last step "
        "reveals everything)",
        "midpoint ratios (M_k + 1/2)/N: floor(N * ratio) = M_k in float32 and float64; "
        "ratios M_k/N would floor to M_k - 1 whenever N * ratio rounds down",
        "the sampler clamps mask_len to [1, still masked - 1]: inactive, every step reveals "
        "at least one token",
    )
    return SamplerSchedule(key, values, argument, True, notes, _snippet(key, None, opts), s,
                           opts)


def _count(v: Any, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name} must be a positive integer, got {v!r}")
    return int(v)


def _blockwise(bs: BlockSchedule, key: str, options: dict[str, Any]) -> SamplerSchedule:
    _check_memory(bs.num_blocks * max(bs.steps_per_block), f"a {key} export")
    spb = bs.steps_per_block
    uneven = len(set(spb)) > 1
    if key == "llada":
        opts = _take(options, {"pad": False}, key)
        width = _equal_widths(bs, key)
        if uneven and not opts["pad"]:
            raise ValueError(
                f"LLaDA gives every block steps // num_blocks steps, but these blocks have "
                f"{sorted(set(spb))[:6]} steps: steps must split evenly over the "
                f"{bs.num_blocks} blocks; pass pad=True to end shorter blocks with zero-count "
                "steps (LLaDA still runs a forward pass for each)"
            )
        exact = True
        notes: list[str] = [
            "values: per-block per-step counts, int64 [num_blocks, steps_per_block]",
            "LLaDA asserts gen_length % block_length == 0 and steps % num_blocks == 0",
        ]
        if uneven:
            notes.append("shorter blocks end in zero-count steps: each still costs a forward "
                         "pass in LLaDA's fixed loop")
        argument = "num_transfer_tokens = get_num_transfer_tokens(block_mask_index, steps)"
    elif key == "fast-dllm":
        opts = _take(options, {"threshold": None, "factor": None}, key)
        width = _equal_widths(bs, key)
        exact = opts["threshold"] is None and opts["factor"] is None
        notes = [
            "values: per-block per-step counts, int64 [num_blocks, steps_per_block]",
            "Fast-dLLM leaves a block as soon as it is fully unmasked, so the zero counts "
            "ending shorter blocks cost nothing",
        ]
        if not exact:
            notes.append("with threshold or factor Fast-dLLM ignores the counts (parallel "
                         "decoding by confidence): the schedule is not reproduced")
        argument = "num_transfer_tokens = get_num_transfer_tokens(block_mask_index, steps)"
    else:  # llada2
        opts = _take(options, {"threshold": 1.0, "editing_threshold": None}, key)
        width = _equal_widths(bs, key, first_may_be_short=True)
        thr = opts["threshold"]
        if not isinstance(thr, (int, float)) or isinstance(thr, bool) or not np.isfinite(thr):
            raise ValueError(f"threshold must be a finite number, got {thr!r}")
        editing = opts["editing_threshold"]
        exact = thr >= 1.0 and (editing is None or editing <= 0.0)
        notes = [
            "values: per-block per-step counts, int64 [num_blocks, steps_per_block]; "
            "num_inference_steps is per block",
            "BlockRefinementScheduler commits every token above `threshold` when at least "
            "the count are: counts are minima; threshold >= 1 (no probability exceeds 1) and "
            "editing_threshold=None make them exact",
            "a block with fewer steps than the widest ends early, after one more forward pass "
            "that commits nothing (LLaDA2Pipeline checks for masks before its step)",
            "the first block may be narrower (prompt tokens sharing it); every other block has "
            "the block length, including the last (its tail beyond gen_length is masked too)",
        ]
        if not exact:
            notes.append("threshold < 1 or editing on: counts are minima, not reproduced")
        argument = ("BlockRefinementScheduler._transfer_schedule (set_timesteps: an even split "
                    "of block_length, one row for every block)")
    values = block_counts(bs)
    opts.update(n=bs.n, block_length=width, num_blocks=bs.num_blocks,
                steps_per_block=int(values.shape[1]),
                steps_total=int(values.shape[1]) * bs.num_blocks)
    return SamplerSchedule(key, values, argument, exact, tuple(notes), _snippet(key, None, opts),
                           bs, opts)


def _dllm(schedule: Any, options: dict[str, Any]) -> SamplerSchedule:
    opts = _take(options, {}, "dllm")
    if isinstance(schedule, BlockSchedule) and len(set(map(tuple, schedule.blocks))) > 1:
        bs = schedule
        width = _equal_widths(bs, "dllm")
        table = block_counts(bs)
        opts.update(n=bs.n, block_length=width, per_block_counts=True,
                    steps_total=int(table.shape[1]) * bs.num_blocks,
                    steps_per_block=int(table.shape[1]))
        notes: tuple[str, ...] = (
            "blocks differ: dllm's alpha scheduler is not told which block it is in, so the "
            "export is per-block counts for a drop-in get_num_transfer_tokens",
            "dllm drops zero counts, so shorter blocks cost no extra steps",
        )
        argument = "get_num_transfer_tokens(mask_index, steps, scheduler, stochastic)"
        return SamplerSchedule("dllm", table, argument, True, notes,
                               _snippet("dllm", None, opts), bs, opts)
    if isinstance(schedule, BlockSchedule):
        s = schedule.schedules[0]
        blocks = schedule.num_blocks
    else:
        s = schedule if isinstance(schedule, Schedule) else Schedule(schedule)
        blocks = 1
    _check_memory(s.steps, f"a dllm export of {s.steps} steps")
    values = _export_dllm_alpha(s)
    opts.update(n=s.n * blocks, block_length=s.n, steps=s.steps, steps_total=s.steps * blocks)
    notes = (
        "values: alpha(j/K), j = 0..K, the unmasked fraction at dllm time t = j/K (t = 1 fully "
        "masked); dllm_alpha_scheduler turns them into a BaseAlphaScheduler",
        "dllm's count is round(mask_num * (1 - (1 - alpha(s))/(1 - alpha(t)))) on t = j/steps: "
        "run it with steps = K per block and block_size = the schedule's n",
        "with stochastic=True dllm draws Binomial counts: exact in expectation only",
    )
    argument = "scheduler= (a BaseAlphaScheduler) of get_num_transfer_tokens"
    return SamplerSchedule("dllm", values, argument, True, notes, _snippet("dllm", None, opts),
                           schedule if isinstance(schedule, BlockSchedule) else s, opts)
