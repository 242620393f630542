"""Profiles at real sequence lengths: Monte Carlo from a model, and from a training loss curve."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask._validation import check_memory, log_base_factor
from unmask.profiles.estimate_state import EstimateState, ShardResult
from unmask.profiles.profile import Profile, pava_nonincreasing
from unmask.profiles.sharding import (
    ShardSpec,
    check_executor,
    default_shard_size,
    plan_shards,
    run_shards,
    seed_sequence,
)

__all__ = [
    "EstimatedProfile",
    "estimate_profile",
    "estimate_state",
    "profile_from_state",
]

_ESTIMATORS = ("cross_entropy", "entropy")
_OUTPUTS = ("probs", "log_probs", "logits")


# ---------------------------------------------------------------------------------------------
# Monte Carlo estimation from a conditional model
# ---------------------------------------------------------------------------------------------
def estimate_profile(
    model: Callable[[Any, Any], Any],
    data: Any,
    n: int,
    *,
    levels: Any = None,
    samples_per_level: int = 256,
    batch_size: int = 256,
    estimator: str = "cross_entropy",
    output: str = "probs",
    q: int | None = None,
    tol: float = 1e-6,
    confidence: float = 0.95,
    monotone: bool = True,
    to_torch: bool = False,
    seed: Any = None,
    base: float | None = None,
    executor: Any = None,
    shard_size: int | None = None,
    progress: Callable[[int, int], Any] | None = None,
    timeout: float | None = None,
) -> EstimatedProfile:
    """Monte Carlo estimate of the entropy profile ``h(i)`` from a black-box conditional model.

    Parameters
    ----------
    model : callable
        ``model(values, mask) -> out``. ``values`` is an int64 array ``(B, n)`` of symbols,
        ``mask`` a bool array ``(B, n)`` with **True = masked** (to be predicted); entries of
        ``values`` at masked positions are set to 0 and carry no information. ``out`` has shape
        ``(B, n, q)``: for every masked position ``j`` the model's distribution
        ``q_j(. | x_A)`` over the ``q`` symbols, as probabilities (``output="probs"``),
        log-probabilities or unnormalised logits. Rows at unmasked positions are ignored. ``out``
        may be a numpy array or a torch tensor (converted with ``.detach().cpu().numpy()``,
        through ``.float()`` for dtypes numpy lacks such as bfloat16).
    data : array_like or callable
        Samples ``x ~ p``: an int array ``(m, n)`` (rows are drawn uniformly with replacement,
        i.e. from its empirical law) or a sampler ``data(size, rng) -> int array (size, n)``
        with ``rng`` a :class:`numpy.random.Generator`.
    n : int
        Sequence length.
    levels : None, int or array_like, optional
        Numbers ``i`` of unmasked positions at which ``h(i)`` is estimated. None: every
        ``i = 0..n-1`` when ``n <= 128``, else 64 evenly spaced levels plus the four at each end.
        An int ``k``: ``k`` evenly spaced levels from 0 to ``n-1``. An array: those levels.
        Between levels, ``h`` and its band are interpolated linearly (constant beyond the ends).
    samples_per_level : int
        Sequences drawn per level (``>= 2``); each gets its own uniform i-subset of unmasked
        positions. The model is called ``ceil(samples_per_level / batch_size)`` times per level.
    batch_size : int
        Rows per model call.
    estimator : {"cross_entropy", "entropy"}
        ``"cross_entropy"``: the mean over masked ``j`` of ``-log q_j(x_j | x_A)``; equals
        ``h(i)`` plus the average learning KL ``eps(i)`` (so it is biased upwards unless the model
        is exact). ``"entropy"``: the mean over masked ``j`` of ``H(q_j(. | x_A))``, which needs
        no ground-truth symbol and equals ``h(i)`` when the model is exact, but has no sign
        guarantee otherwise.
    output : {"probs", "log_probs", "logits"}
        What the model returns. With ``"logits"``, rows that are all already probability vectors
        (in [0, 1], summing to 1 within ``tol``) are refused: a second softmax would bias ``h``.
    q : int, optional
        Alphabet size; inferred from the model's output when omitted.
    tol : float
        Tolerance on the total mass of each predicted distribution (and on negative entries).
    confidence : float
        Level of the pointwise normal confidence band (default 0.95).
    monotone : bool
        Return the weighted pool-adjacent-violators projection of the level means (weights
        ``1/stderr^2``) as ``h``; False returns the raw means.
    to_torch : bool
        Pass ``values`` and ``mask`` to the model as torch tensors (needs torch).
    seed : int, numpy.random.SeedSequence or numpy.random.Generator, optional
        Randomness for the data rows and the masks: shard ``k`` of the plan draws from child
        ``k`` of ``SeedSequence(seed).spawn``, so the result depends on the seed and the shard
        plan only (not on the executor, the workers or the order they finish in).
    base : float, optional
        Logarithm base of the result (None: nats).
    executor : None, concurrent.futures.Executor or dask.distributed.Client, optional
        Where the shards run (None: here, in order). The model, the data (an array, or a
        sampler) must be picklable for process pools and clusters; on Dask they are sent
        once. A shard lost with its worker is run again and gives the same values.
    shard_size : int, optional
        Sequences per shard (a shard holds whole levels or parts of them; several levels
        share a model batch). Default: ``max(256, 4 batch_size, total / 4096)``, which depends
        on the work only, so serial and sharded runs agree bit for bit.
    progress : callable, optional
        ``progress(done, total)``, in sequences, called as shards finish.
    timeout : float, optional
        Seconds to wait for the next shard before raising
        :class:`~unmask.profiles.sharding.ExecutorError` (None: no limit).

    Returns
    -------
    EstimatedProfile
        A :class:`Profile`: ``h`` on ``i = 0..n-1`` (i = number of **unmasked** positions),
        with ``stderr`` (the standard error of each level mean) and ``lower``/``upper``: the
        pointwise confidence band ``mean -/+ z stderr`` of the raw level means (clipped at 0),
        interpolated like ``h``. Its ``estimate`` attribute is the mergeable
        :class:`~unmask.profiles.estimate_state.EstimateState` (exact per-level sums and the
        per-sequence values, per shard). It carries its
        :class:`~unmask.profiles.evidence.Evidence` (``profile.evidence``: the samples of every
        level in two independent halves, alternate draws) when every level has at least 4
        samples, so that :func:`unmask.optimal_schedule` on it chooses robustly (theory
        section 13).

    Raises
    ------
    ValueError
        Bad arguments, data of the wrong shape or with symbols outside ``0..q-1``, or a model
        output that has the wrong shape, is not finite, is negative, is not normalised within
        ``tol``, or (cross-entropy) gives probability 0 to an observed symbol.
    MemoryError
        When one batch (``batch_size x n`` rows, masks and, once ``q`` is known, the model
        output) does not fit in memory; checked before drawing it.
    ImportError
        ``to_torch=True`` without torch installed.
    TypeError
        An ``executor`` that is none of the accepted kinds.
    ShardError
        The model (or the data sampler) raised on an executor: the message names the shard and
        its levels, the original exception is the ``__cause__``. Without an executor the
        original exception propagates unchanged.
    ExecutorError
        The executor broke down (a lost cluster, a broken pool) or ``timeout`` passed.

    Notes
    -----
    Theory section 4: ``h(i) = E[H(X_j | X_A)]`` with ``A`` a uniform i-subset and ``j`` uniform
    outside ``A``. Each sampled sequence contributes the average over *all* its masked
    positions, so sequences are i.i.d. and the standard error is the sample standard deviation
    over sequences divided by ``sqrt(samples_per_level)``; both come from exact integer sums
    (:class:`~unmask.profiles.estimate_state.EstimateState`) and are rounded once. With exact
    conditionals both estimators are unbiased for ``h(i)``; with a learned model the
    cross-entropy estimates ``h(i) + eps(i)`` (section 5), an upper bound on average. The band
    assumes the level means are close to normal: with symbols of very small conditional
    probability the per-sequence cross-entropy is heavy-tailed and the band is optimistic
    unless ``samples_per_level`` is large; the ``"entropy"`` estimator is bounded by ``log q``
    and behaves better there.

    Examples
    --------
    >>> import numpy as np, unmask
    >>> def model(values, mask):  # independent fair bits: q_j = (1/2, 1/2)
    ...     return np.full(values.shape + (2,), 0.5)
    >>> data = np.random.default_rng(0).integers(0, 2, size=(100, 8))
    >>> prof = unmask.estimate_profile(model, data, 8, samples_per_level=16, seed=1)
    >>> bool(np.allclose(prof.h, np.log(2)))
    True
    """
    n = _check_positive_int(n, "n")
    spl = _check_positive_int(samples_per_level, "samples_per_level")
    if spl < 2:
        raise ValueError("samples_per_level must be >= 2 to estimate a standard error")
    if not (_is_real_number(confidence) and 0.0 < confidence < 1.0):
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    factor = log_base_factor(base)
    state = estimate_state(
        model,
        data,
        n,
        levels=levels,
        samples_per_level=spl,
        batch_size=batch_size,
        estimator=estimator,
        output=output,
        q=q,
        tol=tol,
        to_torch=to_torch,
        seed=seed,
        executor=executor,
        shard_size=shard_size,
        progress=progress,
        timeout=timeout,
    )
    return profile_from_state(
        state, n, confidence=confidence, monotone=monotone, base=base, estimator=estimator,
        _factor=factor,
    )


@dataclass(frozen=True)
class _Settings:
    """What every shard of :func:`estimate_state` needs besides the model and the data."""

    n: int
    levels: tuple[int, ...]
    batch_size: int
    estimator: str
    output: str
    q: int | None
    tol: float
    to_torch: bool
    #: per cell, the block ``[start, end)`` it scores (None: every cell scores ``[0, n)``).
    #: Positions before ``start`` are shown, ``levels[c]`` of the block are shown at random,
    #: the rest of the block is masked and scored, positions from ``end`` on are masked only.
    blocks: tuple[tuple[int, int], ...] | None = None


def estimate_state(
    model: Callable[[Any, Any], Any],
    data: Any,
    n: int,
    *,
    levels: Any = None,
    samples_per_level: int = 256,
    batch_size: int = 256,
    estimator: str = "cross_entropy",
    output: str = "probs",
    q: int | None = None,
    tol: float = 1e-6,
    to_torch: bool = False,
    seed: Any = None,
    executor: Any = None,
    shard_size: int | None = None,
    progress: Callable[[int, int], Any] | None = None,
    timeout: float | None = None,
    _shard_filter: tuple[int, int] | None = None,
    _widths: Sequence[int] | None = None,
) -> EstimateState:
    """The mergeable state behind :func:`estimate_profile`: exact per-level sums, per shard.

    Takes the arguments of :func:`estimate_profile` that concern sampling (see there) and
    returns an :class:`~unmask.profiles.estimate_state.EstimateState` whose cells are the levels
    (``state.keys``). :func:`profile_from_state` turns it into the profile; states of disjoint
    shards of one plan (computed on different machines) merge exactly with ``+``.

    Examples
    --------
    >>> import numpy as np
    >>> from unmask.profiles.estimate import estimate_state, profile_from_state
    >>> def model(values, mask):
    ...     return np.full(values.shape + (2,), 0.5)
    >>> data = np.zeros((10, 4), dtype=int)
    >>> st = estimate_state(model, data, 4, samples_per_level=8, shard_size=16, seed=0)
    >>> st.shards, st.counts.tolist()
    ((0, 1), [8, 8, 8, 8])
    >>> bool(np.allclose(profile_from_state(st, 4).h, np.log(2)))
    True
    """
    n = _check_positive_int(n, "n")
    spl = _check_positive_int(samples_per_level, "samples_per_level")
    if spl < 2:
        raise ValueError("samples_per_level must be >= 2 to estimate a standard error")
    bsz = _check_positive_int(batch_size, "batch_size")
    if estimator not in _ESTIMATORS:
        raise ValueError(f"estimator must be one of {_ESTIMATORS}, got {estimator!r}")
    if output not in _OUTPUTS:
        raise ValueError(f"output must be one of {_OUTPUTS}, got {output!r}")
    if not (_is_real_number(tol) and math.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a positive number, got {tol!r}")
    if q is not None:
        q = _check_positive_int(q, "q")
        if q < 2:
            raise ValueError(f"q must be >= 2, got {q}")
    if not callable(model):
        raise TypeError("model must be a callable model(values, mask) -> (B, n, q) array")
    check_executor(executor)
    if progress is not None and not callable(progress):
        raise TypeError("progress must be a callable progress(done, total) or None")
    blocks: tuple[tuple[int, int], ...] | None = None
    if _widths is None:
        level_list = _resolve_levels(levels, n)
        keys: tuple[Hashable, ...] = tuple(level_list.tolist())
    else:
        # cells (block, level) of estimate_block_state: every level of every block
        ends = np.cumsum(_widths).tolist()
        pairs = [(b, i) for b, w in enumerate(_widths) for i in range(w)]
        keys = tuple(pairs)
        level_list = np.array([i for _, i in pairs], dtype=np.int64)
        blocks = tuple((ends[b] - _widths[b], ends[b]) for b, _ in pairs)
    root = seed_sequence(seed)
    if not callable(data):
        data = _check_rows(data, n, None, "data")
        if q is not None and data.max() >= q:
            raise ValueError(f"data contain symbol {int(data.max())} >= q = {q}")
    if to_torch:
        _import_torch()
    total = level_list.size * spl
    if shard_size is None:
        shard_size = default_shard_size(total, bsz)
    specs = plan_shards([spl] * level_list.size, shard_size)
    # Per batch: the rows drawn, their random keys and ranks, the mask and the shown values
    # (int64/float64 except the bool mask), refused before the first draw.
    rows_per_call = min(bsz, max(s.rows for s in specs))
    check_memory(
        49.0 * rows_per_call * n, f"masked batches of {rows_per_call} x {n} (batch_size x n)"
    )
    check_memory(
        16.0 * total,
        f"the per-sequence values of one level ({spl} samples_per_level) x {level_list.size} "
        "levels",
    )
    settings = _Settings(n, tuple(level_list.tolist()), bsz, estimator, output, q, float(tol),
                         bool(to_torch), blocks)

    def describe(spec: ShardSpec) -> str:
        lv = [keys[c] for c, _ in spec.items]
        what = "levels i" if blocks is None else "(block, level)"
        return f"{what} = {lv[0]}..{lv[-1]}, {spec.rows} sequences"

    results = run_shards(
        _estimate_shard,
        specs,
        root,
        (model, data, settings),
        executor=executor,
        progress=progress,
        timeout=timeout,
        describe=describe,
        select=None if _shard_filter is None else range(
            _shard_filter[0], len(specs), _shard_filter[1]
        ),
    )
    state = EstimateState(keys, results, expected_shards=len(specs))
    seen = state.q  # raises when shards disagree on the alphabet
    if q is None and seen is not None and not callable(data) and data.max() >= seen:
        raise ValueError(
            f"data contain symbol {int(data.max())} >= q = {seen} (model output size)"
        )
    return state


def _level_text(lv: NDArray[np.int64], blk: NDArray[np.int64] | None = None) -> str:
    lo, hi = int(lv.min()), int(lv.max())
    text = f"level i = {lo}" if lo == hi else f"levels i = {lo}..{hi}"
    if blk is not None:
        b0, b1 = int(blk.min()), int(blk.max())
        text += f" of block {b0}" if b0 == b1 else f" of blocks {b0}..{b1}"
    return text


def _estimate_shard(
    spec: ShardSpec, stream: np.random.SeedSequence, model: Any, data: Any, cfg: _Settings
) -> ShardResult:
    """Draw and score the sequences of one shard (runs on a worker)."""
    rng = np.random.default_rng(stream)
    n = cfg.n
    draw = _data_drawer(data, n)
    torch_mod = _import_torch() if cfg.to_torch else None
    cells = np.repeat(
        np.array([c for c, _ in spec.items], dtype=np.int64),
        np.array([r for _, r in spec.items], dtype=np.int64),
    )
    row_levels = np.asarray(cfg.levels, dtype=np.int64)[cells]
    if cfg.blocks is not None:
        bounds_ = np.asarray(cfg.blocks, dtype=np.int64)[cells]
        row_start, row_end = bounds_[:, 0], bounds_[:, 1]
        # block index of each row (for messages): blocks are numbered by their start
        row_block = np.searchsorted(np.unique(np.asarray(cfg.blocks)[:, 0]), row_start)
        pos = np.arange(n)
    q = cfg.q
    vals = np.empty(cells.size)
    for start in range(0, cells.size, cfg.batch_size):
        lv = row_levels[start : start + cfg.batch_size]
        b = lv.size
        x = draw(b, rng)
        if q is not None and x.max() >= q:
            raise ValueError(f"data contain symbol {int(x.max())} >= q = {q}")
        # A uniform i-subset of unmasked positions per row: the i smallest random keys.
        keys = rng.random((b, n))
        scored: NDArray[np.bool_] | None = None
        if cfg.blocks is None:
            rank = np.argsort(np.argsort(keys, axis=1), axis=1)
            mask = rank >= lv[:, None]
            where = _level_text(lv)
        else:
            # blockwise: the prefix before the block ranks first (always shown), the positions
            # after it last (always masked, never scored); inside it the random keys decide
            s = row_start[start : start + b, None]
            e = row_end[start : start + b, None]
            keys = np.where(pos < s, -1.0, np.where(pos >= e, 2.0, keys))
            rank = np.argsort(np.argsort(keys, axis=1), axis=1)
            mask = rank >= s + lv[:, None]
            scored = mask & (pos < e)
            where = _level_text(lv, row_block[start : start + b])
        target = mask if scored is None else scored
        shown = np.where(mask, 0, x)
        if q is not None:
            check_memory(8.0 * 3 * b * n * q, f"model output of batch {b} x {n} x {q}")
        # the model gets its own copy of the mask: one that edits its inputs in place (or a
        # torch tensor sharing their memory) cannot change which positions are scored
        if torch_mod is not None:
            raw = model(torch_mod.from_numpy(shown), torch_mod.from_numpy(mask.copy()))
        else:
            raw = model(shown, mask.copy())
        logp, probs = _validated_output(raw, b, n, q, cfg.output, cfg.tol, target, where)
        if q is None:
            q = probs.shape[1]
            if x.max() >= q:
                raise ValueError(
                    f"data contain symbol {int(x.max())} >= q = {q} (model output size)"
                )
        vals[start : start + b] = _per_sequence(logp, probs, x, target, cfg.estimator, lv)
    bounds = np.cumsum([0] + [r for _, r in spec.items])
    return ShardResult.from_values(
        spec.index,
        [c for c, _ in spec.items],
        [vals[bounds[k] : bounds[k + 1]] for k in range(len(spec.items))],
        q=q,
    )


def profile_from_state(
    state: EstimateState,
    n: int,
    *,
    confidence: float = 0.95,
    monotone: bool = True,
    base: float | None = None,
    estimator: str = "cross_entropy",
    _factor: float | None = None,
    _what: str = "estimate_profile",
) -> EstimatedProfile:
    """The profile of a (merged) estimate state whose cells are levels ``i`` in ``0..n-1``.

    Parameters
    ----------
    state : EstimateState
        From :func:`estimate_state` (or merged from its shards); every cell needs >= 2 values.
    n : int
        Sequence length.
    confidence, monotone, base, estimator
        As in :func:`estimate_profile` (``estimator`` only names the source).

    Returns
    -------
    EstimatedProfile
        A :class:`~unmask.profiles.profile.Profile` whose ``estimate`` attribute is ``state``.

    Raises
    ------
    ValueError
        When a level has fewer than two values, or a key is not a level in ``0..n-1``.
    """
    n = _check_positive_int(n, "n")
    if not (_is_real_number(confidence) and 0.0 < confidence < 1.0):
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    factor = log_base_factor(base) if _factor is None else _factor
    keys = state.keys
    if not all(isinstance(k, (int, np.integer)) and 0 <= k < n for k in keys):
        raise ValueError(f"the state's cells must be levels in 0..{n - 1}, got {list(keys)}")
    lv = np.asarray(keys, dtype=np.float64)
    if np.any(np.diff(lv) <= 0):
        raise ValueError("the state's levels must be increasing")
    counts = state.counts
    if counts.min() < 2:
        raise ValueError(
            f"level i = {keys[int(np.argmin(counts))]} has {int(counts.min())} < 2 values "
            "(merge every shard of the plan first)"
        )
    means = state.means()
    errs = state.stderrs()
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    lower_pts = np.maximum(means - z * errs, 0.0)
    upper_pts = means + z * errs
    point = pava_nonincreasing(means, 1.0 / np.maximum(errs, 1e-12) ** 2) if monotone else means
    grid = np.arange(n, dtype=np.float64)

    def interp(y: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(np.interp(grid, lv, y), dtype=np.float64) / factor

    what = "monotone" if monotone else "raw"
    # Two independent halves of every level (alternate draws) for the robust schedule choice
    # of theory section 13; None when a half would have fewer than 2 samples.
    from unmask.profiles.budget import evidence_from_halves

    halves = np.empty((2, 3, len(keys)))
    for idx, key in enumerate(keys):
        vals = state.values(key)
        for part, half in enumerate((vals[0::2], vals[1::2])):
            mean = float(half.mean()) if half.size else 0.0
            halves[part, :, idx] = half.size, mean, float(np.sum((half - mean) ** 2))
    unit = np.array([1.0, factor, factor**2])[:, None]  # counts, means, squares in `base`
    evidence = evidence_from_halves(n, lv.astype(np.int64), halves / unit, base=base,
                                    source=_what)
    spl = int(counts.max())
    per = f"{spl} samples" if counts.min() == spl else f"{int(counts.min())}-{spl} samples"
    prof = EstimatedProfile(
        np.maximum(interp(point), 0.0),
        base=base,
        stderr=interp(errs),
        lower=interp(lower_pts),
        upper=interp(upper_pts),
        source=(
            f"{_what} ({estimator}, {what}, {len(keys)} levels x {per}, "
            f"{confidence:.0%} band, {len(state.shards)} shards)"
        ),
        evidence=evidence,
    )
    prof.estimate = state
    return prof


class EstimatedProfile(Profile):
    """A :class:`~unmask.profiles.profile.Profile` that also carries its estimate's state.

    Attributes
    ----------
    estimate : EstimateState
        The exact per-level accumulators and per-sequence values, shard by shard (see
        :class:`~unmask.profiles.estimate_state.EstimateState`).
    """

    __slots__ = ("estimate",)
    estimate: EstimateState


def _is_real_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _real_array(values: Any, name: str) -> NDArray[np.float64]:
    """``values`` as float64, refusing booleans, complex numbers and strings by name."""
    arr = np.asarray(values)
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    return np.asarray(arr, dtype=np.float64)


def _check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _resolve_levels(levels: Any, n: int) -> NDArray[np.int64]:
    if levels is None:
        if n <= 128:
            return np.arange(n, dtype=np.int64)
        grid = np.round(np.linspace(0, n - 1, 64)).astype(np.int64)
        ends = np.array([0, 1, 2, 3, n - 4, n - 3, n - 2, n - 1], dtype=np.int64)
        return np.unique(np.concatenate([grid, ends]))
    if isinstance(levels, (int, np.integer)) and not isinstance(levels, bool):
        if levels < 1:
            raise ValueError(f"levels must be >= 1, got {levels}")
        return np.unique(np.round(np.linspace(0, n - 1, int(levels))).astype(np.int64))
    arr = np.asarray(levels)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError("levels must be None, an int, or a non-empty 1-d array of integers")
    if arr.min() < 0 or arr.max() > n - 1:
        raise ValueError(f"levels must lie in 0..n-1 = 0..{n - 1}, got {arr.min()}..{arr.max()}")
    return np.unique(arr.astype(np.int64))


def _data_drawer(data: Any, n: int) -> Callable[[int, np.random.Generator], NDArray[np.int64]]:
    if callable(data):

        def from_sampler(size: int, rng: np.random.Generator) -> NDArray[np.int64]:
            return _check_rows(data(size, rng), n, size, "the data sampler's output")

        return from_sampler
    arr = _check_rows(data, n, None, "data")

    def from_array(size: int, rng: np.random.Generator) -> NDArray[np.int64]:
        return arr[rng.integers(0, arr.shape[0], size=size)]

    return from_array


def _check_rows(x: Any, n: int, size: int | None, what: str) -> NDArray[np.int64]:
    arr = np.asarray(x)
    want = f"({size}, {n})" if size is not None else f"(m, {n})"
    if (
        arr.ndim != 2
        or arr.shape[1] != n
        or arr.shape[0] < 1
        or (size is not None and arr.shape[0] != size)
    ):
        raise ValueError(f"{what} must be an int array of shape {want}, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{what} must contain integer symbols, got dtype {arr.dtype}")
    if arr.min() < 0:
        raise ValueError(f"{what} contain a negative symbol {int(arr.min())}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _import_torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise ImportError("to_torch=True needs torch installed (pip install torch)") from exc
    return torch


def _to_numpy(raw: Any) -> NDArray[np.float64]:
    if hasattr(raw, "detach") and hasattr(raw, "cpu"):
        tensor = raw.detach().cpu()
        try:
            raw = tensor.numpy()
        except TypeError:  # dtypes numpy lacks (torch.bfloat16): widen to float32 first
            raw = tensor.float().numpy()
    arr = np.asarray(raw)
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise ValueError(f"model output must be a real numeric array, got dtype {arr.dtype}")
    return np.asarray(arr, dtype=np.float64)


def _validated_output(
    raw: Any,
    b: int,
    n: int,
    q: int | None,
    output: str,
    tol: float,
    mask: NDArray[np.bool_],
    level: str,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return (log-probs, probs) of the masked positions after checking them.

    Both have shape (masked count, q), rows in the row-major order of ``mask``.
    """
    out = _to_numpy(raw)
    where = f"model output at {level}"
    if out.ndim != 3 or out.shape[0] != b or out.shape[1] != n or out.shape[2] < 2:
        want = f"({b}, {n}, {q if q is not None else 'q'})"
        raise ValueError(f"{where} must have shape {want} with q >= 2, got shape {out.shape}")
    if q is not None and out.shape[2] != q:
        raise ValueError(f"{where} has {out.shape[2]} symbols per position, expected q = {q}")
    rows = out[mask]  # (masked positions, q)
    if output == "probs":
        bad = ~np.isfinite(rows)
        if bad.any():
            raise ValueError(f"{where} contains {int(bad.sum())} NaN or infinite probabilities")
        if rows.min() < -tol:
            raise ValueError(f"{where} contains a negative probability ({rows.min():.3g})")
        rows = np.maximum(rows, 0.0)
        total = rows.sum(axis=1)
        worst = int(np.argmax(np.abs(total - 1.0)))
        if abs(total[worst] - 1.0) > tol:
            raise ValueError(
                f"{where} is not normalised: a masked position's probabilities sum to "
                f"{float(total[worst]):.12g}, not 1 (tolerance {tol})"
            )
        probs_rows = rows / total[:, None]
        with np.errstate(divide="ignore"):
            logp_rows = np.log(probs_rows)
    else:
        if np.isnan(rows).any() or np.isposinf(rows).any():
            raise ValueError(f"{where} contains NaN or +inf {output.replace('_', '-')}")
        if output == "logits" and _rows_are_probabilities(rows, tol):
            # softmax(p) != p: a model returning probabilities read as logits biases every h(i)
            raise ValueError(
                f"{where}: output='logits' but every masked row is already a probability vector "
                "(entries in [0, 1] summing to 1): softmaxing it again would give a wrong h. "
                "Pass output='probs' (or output='log_probs' for log-probabilities)"
            )
        top = rows.max(axis=1, keepdims=True)
        if not np.all(np.isfinite(top)):
            raise ValueError(f"{where} gives every symbol log-probability -inf at some position")
        with np.errstate(under="ignore"):
            lse = top[:, 0] + np.log(np.exp(rows - top).sum(axis=1))
        if output == "log_probs":
            worst = int(np.argmax(np.abs(lse)))
            if abs(lse[worst]) > tol:
                raise ValueError(
                    f"{where} is not normalised: a masked position's probabilities sum to "
                    f"{math.exp(lse[worst]):.12g}, not 1 (tolerance {tol})"
                )
        logp_rows = rows - lse[:, None]
        with np.errstate(under="ignore"):
            probs_rows = np.exp(logp_rows)
    return logp_rows, probs_rows


def _rows_are_probabilities(rows: NDArray[np.float64], tol: float) -> bool:
    """True when every row lies in [0, 1] and sums to 1 within ``tol`` (q >= 2 columns)."""
    if rows.size == 0 or rows.min() < 0.0 or rows.max() > 1.0:
        return False
    return bool(np.all(np.abs(rows.sum(axis=1) - 1.0) <= tol))


def _per_sequence(
    logp: NDArray[np.float64],
    probs: NDArray[np.float64],
    x: NDArray[np.int64],
    mask: NDArray[np.bool_],
    estimator: str,
    levels: NDArray[np.int64],
) -> NDArray[np.float64]:
    """Average over each row's masked positions of the chosen per-position estimate.

    ``logp`` and ``probs`` hold the masked positions only, in the row-major order of ``mask``.
    """
    rows, _ = np.nonzero(mask)
    if estimator == "cross_entropy":
        picked = logp[np.arange(rows.size), x[mask]]
        if np.isneginf(picked).any():
            level = int(levels[rows[int(np.argmax(np.isneginf(picked)))]])
            raise ValueError(
                f"the model gives probability 0 to an observed symbol at level i = {level}: the "
                "cross-entropy is infinite; smooth the model or use estimator='entropy'"
            )
        per_pos = -picked
    else:
        per_pos = -(probs * np.where(probs > 0, logp, 0.0)).sum(axis=1)
    with np.errstate(over="ignore"):
        sums = np.bincount(rows, weights=per_pos, minlength=mask.shape[0])
        means = np.asarray(sums / mask.sum(axis=1), dtype=np.float64)
    # a per-sequence mean beyond 1e300 cannot be averaged (or squared for a standard error)
    if not np.all(np.abs(means) < 1e300):
        level = int(levels[int(np.argmax(~(np.abs(means) < 1e300)))])
        raise ValueError(
            f"the model's {estimator.replace('_', '-')} at level i = {level} overflows float64: "
            "it gives an observed symbol a probability below about 1e-300; smooth the model or "
            "use estimator='entropy'"
        )
    return means

