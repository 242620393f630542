"""A schedule in the encodings that masked-diffusion samplers consume.

Conventions (every name says which one it uses):

* *per-step* values belong to one step (tokens unmasked **at** step ``k``);
  *cumulative* values count everything **up to and including** step ``k``;
* *unmasked* counts tokens already revealed, *masked* / *remaining* counts tokens still hidden;
* the masking curve ``alpha(t)`` is the fraction **unmasked** at sampling time ``t`` in [0, 1]
  (``t = 0``: all masked); MaskGIT's ``gamma`` ratio is ``1 - alpha``.

See ``ecosystem.md``: LLaDA consumes per-step counts (and per-block counts for semi-autoregressive
decoding), MaskGIT / diffusers a remaining-mask ratio, MDLM / MD4 / dllm a curve ``alpha(t)``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask.schedules.schedule import Schedule

__all__ = [
    "alpha_function",
    "alpha_knots",
    "counts_per_step",
    "cumulative_unmasked",
    "from_dict",
    "llada_block_counts",
    "remaining_mask_ratios",
    "remaining_masked",
    "split_blocks",
    "tile_blocks",
    "to_csv",
    "to_dict",
]


def _sched(schedule: Any) -> Schedule:
    from unmask.schedules.blocks import BlockSchedule

    if isinstance(schedule, BlockSchedule):  # every step in decoding order (theory section 10)
        return schedule.flat
    return schedule if isinstance(schedule, Schedule) else Schedule(schedule)


def _check_memory(steps: int, what: str) -> None:
    """Refuse, before allocating, a schedule with more steps than memory holds."""
    from unmask._validation import check_memory

    check_memory(128.0 * (float(steps) + 1.0), what)


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def counts_per_step(schedule: Any) -> list[int]:
    """Per-step **unmasked** counts ``[s_1, ..., s_K]`` (tokens revealed *at* each step).

    Parameters
    ----------
    schedule : Schedule or sequence of int
        The schedule.

    Returns
    -------
    list of int
        LLaDA's ``num_transfer_tokens`` row; sums to ``n``.

    Examples
    --------
    >>> counts_per_step(Schedule([3, 2, 1]))
    [3, 2, 1]
    """
    return list(_sched(schedule).sizes)


def cumulative_unmasked(schedule: Any, *, include_start: bool = False) -> list[int]:
    """**Cumulative unmasked** counts *after* each step ``[i_2, ..., i_{K+1} = n]``.

    Parameters
    ----------
    schedule : Schedule or sequence of int
        The schedule.
    include_start : bool, default False
        Prepend ``i_1 = 0`` (the count before the first step), giving length ``K + 1``.

    Returns
    -------
    list of int
        Strictly increasing, last entry ``n``. Inverse: :meth:`Schedule.from_cumulative`.

    Examples
    --------
    >>> cumulative_unmasked([3, 2, 1])
    [3, 5, 6]
    >>> cumulative_unmasked([3, 2, 1], include_start=True)
    [0, 3, 5, 6]
    """
    b = _sched(schedule).boundaries.tolist()
    return [int(v) for v in (b if include_start else b[1:])]


def remaining_masked(schedule: Any) -> list[int]:
    """**Cumulative masked** counts: tokens still masked *after* each step, ``n - i_{k+1}``.

    Parameters
    ----------
    schedule : Schedule or sequence of int
        The schedule.

    Returns
    -------
    list of int
        Strictly decreasing, last entry 0.

    Examples
    --------
    >>> remaining_masked([3, 2, 1])
    [3, 1, 0]
    """
    s = _sched(schedule)
    return [s.n - c for c in cumulative_unmasked(s)]


def remaining_mask_ratios(schedule: Any) -> list[float]:
    """Remaining-**mask** ratios *after* each step: ``1 - i_{k+1} / n`` (MaskGIT's gamma).

    Parameters
    ----------
    schedule : Schedule or sequence of int
        The schedule.

    Returns
    -------
    list of float
        Fraction of tokens still *masked* after step ``k``; last entry 0. Inverse:
        :meth:`Schedule.from_mask_ratios` (exact for ``n`` up to 2**52).

    Examples
    --------
    >>> remaining_mask_ratios([2, 1, 1])
    [0.5, 0.25, 0.0]
    """
    s = _sched(schedule)
    return [m / s.n for m in remaining_masked(s)]


def alpha_knots(schedule: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Knots of the piecewise-linear masking curve reproducing the schedule.

    Parameters
    ----------
    schedule : Schedule or sequence of int
        The schedule.

    Returns
    -------
    t : numpy.ndarray
        Uniform sampling times ``t_k = k / K``, ``k = 0..K`` (0 = all masked).
    alpha : numpy.ndarray
        **Cumulative unmasked fraction** at ``t_k``: ``i_{k+1} / n`` (``alpha_0 = 0``,
        ``alpha_K = 1``).

    Notes
    -----
    Step ``k`` reveals exactly ``n (alpha(t_k) - alpha(t_{k-1}))`` tokens, so
    :func:`unmask.schedules.from_alpha_values` (or ``from_curve`` with
    :func:`alpha_function` on the uniform ``K``-step grid) gives the schedule back.

    ``t`` is *sampling* time (0 = all masked, 1 = all unmasked). MDLM and MD4 run their
    diffusion time the other way (``t = 1`` is all masked) with the same meaning of
    ``alpha_t`` (fraction unmasked), so their ``alpha_t`` is this curve at ``1 - t``.

    Examples
    --------
    >>> t, a = alpha_knots([2, 1, 1])
    >>> t.tolist(), a.tolist()
    ([0.0, 0.3333333333333333, 0.6666666666666666, 1.0], [0.0, 0.5, 0.75, 1.0])
    """
    s = _sched(schedule)
    t = np.linspace(0.0, 1.0, s.steps + 1)
    return t, s.boundaries.astype(np.float64) / s.n


def alpha_function(schedule: Any) -> Callable[[Any], NDArray[np.float64]]:
    """Return the piecewise-linear masking curve ``alpha(t)`` through :func:`alpha_knots`.

    Parameters
    ----------
    schedule : Schedule or sequence of int
        The schedule.

    Returns
    -------
    callable
        ``alpha(t)``: **unmasked fraction** at sampling time ``t`` in [0, 1] (vectorised;
        ``t`` outside [0, 1] is clamped). Linear interpolation between the knots, so a sampler
        with ``K`` uniform steps reveals the schedule's per-step counts.

    Examples
    --------
    >>> alpha = alpha_function([2, 1, 1])
    >>> alpha([0.0, 1 / 6, 1.0]).tolist()
    [0.0, 0.25, 1.0]
    """
    t, a = alpha_knots(schedule)

    def alpha(time: Any) -> NDArray[np.float64]:
        u = np.asarray(time, dtype=np.float64)
        if not np.all(np.isfinite(u)):
            raise ValueError("alpha(t): t contains NaN or infinite values")
        return np.asarray(np.interp(u, t, a), dtype=np.float64)

    return alpha


def split_blocks(schedule: Any, block_width: int | None = None) -> list[list[int]]:
    """Per-step unmasked counts of a full-length schedule, split per semi-autoregressive block.

    Parameters
    ----------
    schedule : Schedule, sequence of int or BlockSchedule
        Schedule over the full length ``n``, with every block boundary (a multiple of
        ``block_width``) also a step boundary; a :class:`~unmask.BlockSchedule` gives its own
        blocks (``block_width`` optional, checked against its widths).
    block_width : int
        Width of each block; must divide ``n``.

    Returns
    -------
    list of list of int
        ``out[b]`` = **per-step unmasked counts** inside block ``b`` (its steps, in order).

    Raises
    ------
    ValueError
        ``block_width`` not positive or not dividing ``n``; a step straddling two blocks.

    Examples
    --------
    >>> split_blocks([2, 2, 3, 1], 4)
    [[2, 2], [3, 1]]
    """
    from unmask.schedules.blocks import BlockSchedule

    if isinstance(schedule, BlockSchedule):
        if block_width is not None and any(
            w != block_width for w in schedule.widths[:-1]
        ):
            raise ValueError(
                f"the block schedule has widths {schedule.widths}, not blocks of {block_width}"
            )
        return schedule.blocks
    s = _sched(schedule)
    width = _positive_int(block_width, "block_width")
    if s.n % width:
        raise ValueError(f"block width {width} does not divide n = {s.n}")
    out: list[list[int]] = [[] for _ in range(s.n // width)]
    for start, size in s.blocks():
        block = start // width
        if (start + size - 1) // width != block:
            raise ValueError(
                f"the step unmasking tokens {start}..{start + size - 1} straddles the block "
                f"boundary at {(block + 1) * width}; semi-autoregressive steps stay in one block"
            )
        out[block].append(size)
    return out


def tile_blocks(block_schedule: Any, num_blocks: int) -> Schedule:
    """Full-length schedule applying one within-block schedule to each of ``num_blocks`` blocks.

    Parameters
    ----------
    block_schedule : Schedule or sequence of int
        **Per-step unmasked counts** inside one block (its ``n`` is the block width).
    num_blocks : int
        Number of blocks.

    Returns
    -------
    Schedule
        The concatenation (``n = num_blocks * width``, ``K = num_blocks * steps_per_block``).

    Notes
    -----
    This is how LLaDA decodes semi-autoregressively: blocks left to right, each with the same
    number of steps. The returned composition is a bookkeeping device: its expected KL under
    :func:`unmask.expected_kl` (random order over all ``n`` tokens) is *not* the error of
    block-wise decoding.

    Examples
    --------
    >>> tile_blocks([3, 1], 2).sizes
    (3, 1, 3, 1)
    """
    s = _sched(block_schedule)
    m = _positive_int(num_blocks, "num_blocks")
    _check_memory(s.steps * m, f"tiling {m} blocks of {s.steps} steps")
    return Schedule(list(s.sizes) * m)


def llada_block_counts(n: int, steps: int, block_width: int | None = None) -> list[list[int]]:
    """LLaDA's per-block **per-step unmasked** counts (``get_num_transfer_tokens`` per block).

    Parameters
    ----------
    n : int
        Generation length.
    steps : int
        Total number of steps; must be a multiple of the number of blocks.
    block_width : int, optional
        Block length (default ``n``: one block); must divide ``n``.

    Returns
    -------
    list of list of int
        One row per block, ``steps / num_blocks`` entries each: even split of the block width,
        remainder to the first steps.

    Raises
    ------
    ValueError
        Width not dividing ``n``, ``steps`` not a multiple of the number of blocks, or more steps
        per block than tokens per block.

    Examples
    --------
    >>> llada_block_counts(8, 4, block_width=4)
    [[2, 2], [2, 2]]
    """
    n = _positive_int(n, "n")
    k = _positive_int(steps, "steps")
    width = n if block_width is None else _positive_int(block_width, "block_width")
    if n % width:
        raise ValueError(f"block width {width} does not divide n = {n}")
    blocks = n // width
    if k % blocks:
        raise ValueError(f"steps = {k} is not a multiple of the number of blocks ({blocks})")
    per_block = k // blocks
    if per_block > width:
        raise ValueError(f"{per_block} steps per block > block width {width}")
    _check_memory(k, f"LLaDA block counts for {k} steps")
    return split_blocks(tile_blocks(Schedule.constant(width, per_block), blocks), width)


def to_dict(schedule: Any, *, block_width: int | None = None) -> dict[str, Any]:
    """JSON-ready description of a schedule in every encoding (for the CLI).

    Parameters
    ----------
    schedule : Schedule, sequence of int or BlockSchedule
        The schedule (a block schedule also gives ``block_widths`` and ``counts_per_block``).
    block_width : int, optional
        Also split the per-step counts per block (see :func:`split_blocks`).

    Returns
    -------
    dict
        Keys: ``n``, ``steps``, ``counts_per_step_unmasked`` (per-step), ``cumulative_unmasked``
        (after each step), ``remaining_masked`` (after each step), ``remaining_mask_ratio``
        (after each step), ``alpha_t`` and ``alpha_unmasked_fraction`` (the knots of
        :func:`alpha_knots`, length ``K + 1``), and with ``block_width``: ``block_width`` and
        ``counts_per_block`` (per-step, per block). Plain ints and floats only.

    Examples
    --------
    >>> d = to_dict([2, 1, 1])
    >>> d["counts_per_step_unmasked"], d["remaining_mask_ratio"]
    ([2, 1, 1], [0.5, 0.25, 0.0])
    >>> from_dict(d).sizes
    (2, 1, 1)
    """
    from unmask.schedules.blocks import BlockSchedule

    s = _sched(schedule)
    t, a = alpha_knots(s)
    out: dict[str, Any] = {
        "n": s.n,
        "steps": s.steps,
        "counts_per_step_unmasked": counts_per_step(s),
        "cumulative_unmasked": cumulative_unmasked(s),
        "remaining_masked": remaining_masked(s),
        "remaining_mask_ratio": remaining_mask_ratios(s),
        "alpha_t": [float(v) for v in t.tolist()],
        "alpha_unmasked_fraction": [float(v) for v in a.tolist()],
    }
    if isinstance(schedule, BlockSchedule):
        out["block_widths"] = schedule.widths
        out["counts_per_block"] = split_blocks(schedule, block_width)
        if block_width is not None:
            out["block_width"] = int(block_width)
    elif block_width is not None:
        out["block_width"] = int(block_width)
        out["counts_per_block"] = split_blocks(s, block_width)
    return out


def from_dict(data: dict[str, Any]) -> Schedule:
    """Schedule back from :func:`to_dict` output (or any dict with one encoding).

    Parameters
    ----------
    data : dict
        Uses the first key present among ``counts_per_step_unmasked``,
        ``cumulative_unmasked``, ``remaining_mask_ratio`` (needs ``n``); when ``n`` is
        present it is checked.

    Returns
    -------
    Schedule
        The schedule.

    Raises
    ------
    TypeError
        ``data`` is not a dict.
    ValueError
        No known encoding, ``n`` not a positive integer, or inconsistent values.

    Examples
    --------
    >>> from_dict({"cumulative_unmasked": [2, 3, 4]}).sizes
    (2, 1, 1)
    """
    if not isinstance(data, dict):
        raise TypeError(f"from_dict needs a dict (as from to_dict), got {type(data).__name__}")
    n = data.get("n")
    if n is not None:
        n = _positive_int(n, "n")
    if "counts_per_step_unmasked" in data:
        return Schedule(data["counts_per_step_unmasked"], n=n)
    if "cumulative_unmasked" in data:
        return Schedule.from_cumulative(data["cumulative_unmasked"], n=n)
    if "remaining_mask_ratio" in data:
        if n is None:
            raise ValueError("remaining_mask_ratio needs 'n' to recover counts")
        return Schedule.from_mask_ratios(data["remaining_mask_ratio"], n)
    raise ValueError(
        "no schedule encoding found: expected one of 'counts_per_step_unmasked', "
        "'cumulative_unmasked', 'remaining_mask_ratio'"
    )


def to_csv(schedule: Any) -> str:
    """CSV text, one row per step (header included).

    Parameters
    ----------
    schedule : Schedule or sequence of int
        The schedule.

    Returns
    -------
    str
        Columns ``step`` (1-based), ``unmasked_at_step`` (per-step), ``cumulative_unmasked``,
        ``remaining_masked``, ``remaining_mask_ratio`` (all after the step), ``t`` and
        ``alpha_unmasked_fraction`` (the knot at the end of the step).

    Examples
    --------
    >>> print(to_csv([3, 1]).strip())
    step,unmasked_at_step,cumulative_unmasked,remaining_masked,remaining_mask_ratio,t,alpha_unmasked_fraction
    1,3,3,1,0.25,0.5,0.75
    2,1,4,0,0.0,1.0,1.0
    """
    s = _sched(schedule)
    t, a = alpha_knots(s)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        [
            "step",
            "unmasked_at_step",
            "cumulative_unmasked",
            "remaining_masked",
            "remaining_mask_ratio",
            "t",
            "alpha_unmasked_fraction",
        ]
    )
    rows = zip(
        counts_per_step(s),
        cumulative_unmasked(s),
        remaining_masked(s),
        remaining_mask_ratios(s),
        t[1:].tolist(),
        a[1:].tolist(),
        strict=True,
    )
    for k, (size, cum, rem, ratio, tk, ak) in enumerate(rows, start=1):
        w.writerow([k, size, cum, rem, repr(ratio), repr(tk), repr(ak)])
    return buf.getvalue()
