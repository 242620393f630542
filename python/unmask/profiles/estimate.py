"""Profiles at real sequence lengths: Monte Carlo from a model, and from a training loss curve."""

from __future__ import annotations

import math
from collections.abc import Callable
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask._validation import check_memory, log_base_factor
from unmask.profiles.profile import Profile, pava_nonincreasing

__all__ = ["estimate_profile"]

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
    progress: Any = None,
) -> Profile:
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
    seed : int or numpy.random.Generator, optional
        Randomness for the data rows and the masks.
    base : float, optional
        Logarithm base of the result (None: nats).
    progress : callable, optional
        ``progress(done, total)`` over the model calls (batches) of all levels; see
        :mod:`unmask._progress`.

    Returns
    -------
    Profile
        ``h`` on ``i = 0..n-1`` (i = number of **unmasked** positions), with ``stderr`` (the
        standard error of each level mean) and ``lower``/``upper``: the pointwise confidence
        band ``mean -/+ z stderr`` of the raw level means (clipped at 0), interpolated like ``h``.
        It carries its :class:`~unmask.profiles.evidence.Evidence` (``profile.evidence``: the
        samples of every level in two independent halves, alternate draws) when every level has
        at least 4 samples, so that :func:`unmask.optimal_schedule` on it chooses robustly
        (theory section 13).

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

    Notes
    -----
    Theory section 4: ``h(i) = E[H(X_j | X_A)]`` with ``A`` a uniform i-subset and ``j`` uniform
    outside ``A``. Each sampled sequence contributes the average over *all* its masked
    positions, so sequences are i.i.d. and the standard error is the sample standard deviation
    over sequences divided by ``sqrt(samples_per_level)``. With exact conditionals both
    estimators are unbiased for ``h(i)``; with a learned model the cross-entropy estimates
    ``h(i) + eps(i)`` (section 5), an upper bound on average. The band assumes the level means
    are close to normal: with symbols of very small conditional probability the per-sequence
    cross-entropy is heavy-tailed and the band is optimistic unless ``samples_per_level`` is
    large; the ``"entropy"`` estimator is bounded by ``log q`` and behaves better there.

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
    bsz = _check_positive_int(batch_size, "batch_size")
    if estimator not in _ESTIMATORS:
        raise ValueError(f"estimator must be one of {_ESTIMATORS}, got {estimator!r}")
    if output not in _OUTPUTS:
        raise ValueError(f"output must be one of {_OUTPUTS}, got {output!r}")
    if not (_is_real_number(confidence) and 0.0 < confidence < 1.0):
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    if not (_is_real_number(tol) and math.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a positive number, got {tol!r}")
    if q is not None:
        q = _check_positive_int(q, "q")
        if q < 2:
            raise ValueError(f"q must be >= 2, got {q}")
    if not callable(model):
        raise TypeError("model must be a callable model(values, mask) -> (B, n, q) array")
    factor = log_base_factor(base)
    level_list = _resolve_levels(levels, n)
    rng = np.random.default_rng(seed)
    draw = _data_drawer(data, n)
    torch_mod = _import_torch() if to_torch else None
    # Per batch: the rows drawn, their random keys and ranks, the mask and the shown values
    # (int64/float64 except the bool mask), refused before the first draw.
    rows_per_call = min(bsz, spl)
    check_memory(
        41.0 * rows_per_call * n, f"masked batches of {rows_per_call} x {n} (batch_size x n)"
    )
    check_memory(16.0 * spl, f"the per-sequence values of one level ({spl} samples_per_level)")

    from unmask._progress import Progress

    bar = Progress(progress, total=level_list.size * -(-spl // bsz))
    means = np.empty(level_list.size)
    errs = np.empty(level_list.size)
    halves = np.empty((2, 3, level_list.size))  # per half: count, mean, sum of squared deviations
    for idx, i in enumerate(level_list.tolist()):
        values_all: list[NDArray[np.float64]] = []
        remaining = spl
        while remaining > 0:
            b = min(bsz, remaining)
            remaining -= b
            x = draw(b, rng)
            if q is not None and x.max() >= q:
                raise ValueError(f"data contain symbol {int(x.max())} >= q = {q}")
            # A uniform i-subset of unmasked positions per row: the i smallest random keys.
            ranks = np.argsort(rng.random((b, n)), axis=1)
            mask = np.ones((b, n), dtype=bool)
            np.put_along_axis(mask, ranks[:, :i], False, axis=1)
            shown = np.where(mask, 0, x)
            if q is not None:
                check_memory(8.0 * 3 * b * n * q, f"model output of batch {b} x {n} x {q}")
            # the model gets its own copy of the mask: one that edits its inputs in place (or a
            # torch tensor sharing their memory) cannot change which positions are scored
            if torch_mod is not None:
                raw = model(torch_mod.from_numpy(shown), torch_mod.from_numpy(mask.copy()))
            else:
                raw = model(shown, mask.copy())
            logp, probs = _validated_output(raw, b, n, q, output, tol, mask, i)
            if q is None:
                q = probs.shape[1]
                if x.max() >= q:
                    raise ValueError(
                        f"data contain symbol {int(x.max())} >= q = {q} (model output size)"
                    )
            values_all.append(_per_sequence(logp, probs, x, mask, estimator, i))
            bar.advance()
        vals = np.concatenate(values_all)
        means[idx] = math.fsum(vals.tolist()) / vals.size
        errs[idx] = float(np.std(vals, ddof=1)) / math.sqrt(vals.size)
        for part, half in enumerate((vals[0::2], vals[1::2])):  # independent halves
            halves[part, :, idx] = half.size, half.mean(), float(np.sum((half - half.mean()) ** 2))

    bar.finish()
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    lower_pts = np.maximum(means - z * errs, 0.0)
    upper_pts = means + z * errs
    point = pava_nonincreasing(means, 1.0 / np.maximum(errs, 1e-12) ** 2) if monotone else means
    grid = np.arange(n, dtype=np.float64)
    lv = level_list.astype(np.float64)

    def interp(y: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(np.interp(grid, lv, y), dtype=np.float64) / factor

    what = "monotone" if monotone else "raw"
    from unmask.profiles.budget import evidence_from_halves

    unit = np.array([1.0, factor, factor**2])[:, None]  # counts, means, squares in `base`
    evidence = evidence_from_halves(n, level_list, halves / unit, base=base,
                                    source="estimate_profile")
    return Profile(
        np.maximum(interp(point), 0.0),
        base=base,
        stderr=interp(errs),
        lower=interp(lower_pts),
        upper=interp(upper_pts),
        source=(
            f"estimate_profile ({estimator}, {what}, {level_list.size} levels x {spl} samples, "
            f"{confidence:.0%} band)"
        ),
        evidence=evidence,
    )


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
    level: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return (log-probs, probs) of the masked positions after checking them.

    Both have shape (masked count, q), rows in the row-major order of ``mask``.
    """
    out = _to_numpy(raw)
    where = f"model output at level i = {level}"
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
    level: int,
) -> NDArray[np.float64]:
    """Average over each row's masked positions of the chosen per-position estimate.

    ``logp`` and ``probs`` hold the masked positions only, in the row-major order of ``mask``.
    """
    rows, _ = np.nonzero(mask)
    if estimator == "cross_entropy":
        picked = logp[np.arange(rows.size), x[mask]]
        if np.isneginf(picked).any():
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
        raise ValueError(
            f"the model's {estimator.replace('_', '-')} at level i = {level} overflows float64: "
            "it gives an observed symbol a probability below about 1e-300; smooth the model or "
            "use estimator='entropy'"
        )
    return means
