"""The adapters of :mod:`unmask.integrations` (frameworks imported lazily, inside calls)."""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "BlockTransferTokens",
    "block_refinement_scheduler",
    "dllm_alpha_scheduler",
    "llada2_transfer_schedule",
    "maskgit_schedule",
    "ratio_amused_scheduler",
]


def _need(module: str, extra: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            f"this adapter needs {module.split('.')[0]}: pip install 'unmask[{extra}]'"
        ) from exc


def _values(values: Any) -> Any:
    """``SamplerSchedule.values`` from either the export object or its values."""
    return getattr(values, "values", values)


def _count_table(values: Any) -> NDArray[np.int64]:
    arr = np.asarray(_values(values))
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            "per-block counts must be a non-empty integer table [num_blocks, steps_per_block], "
            f"got shape {arr.shape} and dtype {arr.dtype}"
        )
    if np.any(arr < 0) or np.any(arr.sum(axis=1) < 1):
        raise ValueError("per-block counts must be non-negative with every block non-empty")
    return np.asarray(arr, dtype=np.int64)


class BlockTransferTokens:
    """Block-aware drop-in for ``get_num_transfer_tokens(mask_index, steps, ...)``.

    LLaDA (``generate.py``) and Fast-dLLM (``llada/generate.py``) rebuild the per-step counts
    at the start of each block by calling ``get_num_transfer_tokens(block_mask_index, steps)``,
    which is not told which block it is in. This callable returns block ``b``'s row on its
    ``b``-th call and starts again after the last block, so one instance serves every
    generation. dllm's ``get_num_transfer_tokens(mask_index, steps, scheduler, stochastic)``
    is replaced the same way (extra arguments are ignored).

    Parameters
    ----------
    values : array_like of int or SamplerSchedule
        Per-block per-step counts ``[num_blocks, steps_per_block]``
        (:func:`unmask.export.for_sampler` ``(..., "llada")``).
    drop_zeros : bool, default False
        Return each block's row without its trailing zero counts (dllm runs as many steps
        as columns; LLaDA needs exactly ``steps`` columns).

    Raises
    ------
    ValueError
        On a call: a block whose masked count differs from its row's sum (another prompt or
        block layout), or ``steps`` that differs from the row length (LLaDA's ``steps`` is the
        per-block count: pass ``steps = steps_per_block * num_blocks`` to ``generate``).

    Examples
    --------
    >>> import torch
    >>> fn = BlockTransferTokens([[3, 1], [2, 2]])
    >>> mask = torch.ones(1, 4, dtype=torch.bool)
    >>> fn(mask, 2).tolist(), fn(mask, 2).tolist(), fn(mask, 2).tolist()
    ([[3, 1]], [[2, 2]], [[3, 1]])
    """

    def __init__(self, values: Any, *, drop_zeros: bool = False) -> None:
        self.table = _count_table(values)
        self.drop_zeros = bool(drop_zeros)
        self.calls = 0

    @property
    def num_blocks(self) -> int:
        """Number of blocks (rows)."""
        return int(self.table.shape[0])

    def reset(self) -> None:
        """Start again at block 0 (e.g. after an interrupted generation)."""
        self.calls = 0

    def __call__(self, mask_index: Any, steps: int, *args: Any, **kwargs: Any) -> Any:
        """Counts ``[batch, steps]`` (int64) of the next block, for ``mask_index`` [batch, W]."""
        torch = _need("torch", "torch")
        block = self.calls % self.num_blocks
        row = self.table[block]
        if self.drop_zeros:
            row = row[row > 0]
        elif int(steps) != row.size:
            raise ValueError(
                f"get_num_transfer_tokens was asked for {steps} steps but block {block} has "
                f"{row.size}: pass steps = {row.size} * {self.num_blocks} (steps per block "
                "times blocks) to generate"
            )
        masked = mask_index.sum(dim=1).tolist()
        if any(int(m) != int(row.sum()) for m in masked):
            raise ValueError(
                f"block {block} has {masked} masked tokens but its schedule unmasks "
                f"{int(row.sum())}: the block layout differs from the exported BlockSchedule"
            )
        self.calls += 1
        out = torch.as_tensor(row, dtype=torch.int64, device=mask_index.device)
        return out.unsqueeze(0).repeat(mask_index.shape[0], 1)


# -------------------------------------------------------------------------------------------
# dllm
# -------------------------------------------------------------------------------------------
def _alpha_table(values: Any) -> NDArray[np.float64]:
    a = np.asarray(_values(values), dtype=np.float64)
    if a.ndim != 1 or a.size < 2 or not np.all(np.isfinite(a)):
        raise ValueError(f"alpha knots must be a finite 1-d array of length K + 1 >= 2, got {a!r}")
    if abs(a[0] - 1.0) > 1e-12 or abs(a[-1]) > 1e-12 or np.any(np.diff(a) > 1e-15):
        raise ValueError("dllm alpha knots run from alpha(0) = 1 down to alpha(1) = 0")
    return a


class _AlphaKnots:
    """alpha(t) through knots at t = j/K: the knot value on (float32) grid times, linear between.

    Mixed into a dllm ``BaseAlphaScheduler`` subclass (or used alone with the same API).
    """

    knots: NDArray[np.float64]

    def _alpha(self, i: Any) -> Any:
        torch = _need("torch", "torch")
        k = self.knots.size - 1
        t = np.asarray(i.detach().cpu().numpy(), dtype=np.float64)
        pos = t * k
        j = np.rint(pos)
        on_knot = np.abs(pos - j) < 1e-4  # a float32 grid time j/K is within 1e-7 K of j
        lin = np.interp(t, np.linspace(0.0, 1.0, k + 1), self.knots)
        out = np.where(on_knot, self.knots[np.clip(j, 0, k).astype(np.int64)], lin)
        return torch.as_tensor(out, dtype=torch.float64, device=i.device)

    def _alpha_derivative(self, i: Any) -> Any:
        torch = _need("torch", "torch")
        k = self.knots.size - 1
        t = np.asarray(i.detach().cpu().numpy(), dtype=np.float64)
        seg = np.clip(np.floor(t * k), 0, k - 1).astype(np.int64)
        slope = (self.knots[seg + 1] - self.knots[seg]) * k
        return torch.as_tensor(slope, dtype=torch.float64, device=i.device)


def _standalone_base() -> type:
    """Dllm's BaseAlphaScheduler API (alpha, reverse_mask_prob, ...) for when dllm is absent."""
    torch = _need("torch", "torch")

    class StandaloneAlphaScheduler:
        def __call__(self, t: Any) -> Any:
            return self.alpha(t)

        def _as(self, x: Any) -> Any:
            return torch.as_tensor(x, dtype=torch.float32,
                                   device=x.device if isinstance(x, torch.Tensor) else None)

        def alpha(self, i: Any) -> Any:
            i_t = self._as(i)
            if not torch.all((0.0 <= i_t) & (i_t <= 1.0)):
                raise ValueError(f"i={i} not in [0,1]")
            out = self._alpha(i_t)  # type: ignore[attr-defined]
            return out.item() if isinstance(i, float) else out

        def alpha_derivative(self, i: Any) -> Any:
            out = self._alpha_derivative(self._as(i))  # type: ignore[attr-defined]
            return out.item() if isinstance(i, float) else out

        def reverse_mask_prob(self, s: Any, t: Any) -> Any:
            t_t, s_t = self._as(t), self._as(s)
            if not torch.all((0.0 <= s_t) & (s_t < t_t) & (t_t <= 1.0)):
                raise ValueError(f"(t={t}, s={s}) out of range")
            out = (1 - self(s_t)) / (1 - self(t_t))
            return out.item() if isinstance(t, float) and isinstance(s, float) else out

        def weight(self, i: Any) -> Any:
            return -self.alpha_derivative(i) / (1 - self.alpha(i) + 1e-6)

    return StandaloneAlphaScheduler


_DLLM_CLASS: dict[str, type] = {}


def dllm_alpha_scheduler(values: Any) -> Any:
    """A dllm alpha scheduler whose rounded counts are the exported schedule's.

    Parameters
    ----------
    values : array_like or SamplerSchedule
        ``alpha(j / K)``, ``j = 0..K`` from :func:`unmask.export.for_sampler` ``(..., "dllm")``.

    Returns
    -------
    object
        An instance of a ``dllm.core.schedulers.BaseAlphaScheduler`` subclass when dllm is
        installed (else a class with the same methods: ``alpha``, ``alpha_derivative``,
        ``reverse_mask_prob``, ``weight``). ``_alpha`` returns the knot value on dllm's grid
        ``t = j / K`` (in float64) and interpolates linearly elsewhere.

    Examples
    --------
    >>> import unmask
    >>> from unmask.export import for_sampler
    >>> sched = dllm_alpha_scheduler(for_sampler(unmask.Schedule([3, 1]), "dllm"))
    >>> round(1 - sched.reverse_mask_prob(s=0.5, t=1.0), 12)   # first step: 3 of 4
    0.75
    """
    knots = _alpha_table(values)
    if "cls" not in _DLLM_CLASS:
        try:
            base: type = importlib.import_module("dllm.core.schedulers").BaseAlphaScheduler
        except ModuleNotFoundError:
            base = _standalone_base()
        _DLLM_CLASS["cls"] = type("UnmaskAlphaScheduler", (_AlphaKnots, base), {})
    obj: Any = object.__new__(_DLLM_CLASS["cls"])
    obj.knots = knots
    return obj


# -------------------------------------------------------------------------------------------
# diffusers
# -------------------------------------------------------------------------------------------
def _ratios(values: Any) -> NDArray[np.float64]:
    r = np.asarray(_values(values), dtype=np.float64)
    if r.ndim != 1 or r.size == 0 or not np.all(np.isfinite(r)) or np.any(r < 0) or np.any(
            r > 1):
        raise ValueError("mask ratios must be a non-empty 1-d array of numbers in [0, 1]")
    return r


_DIFFUSERS: dict[str, type] = {}


def _amused_class() -> type:
    if "amused" in _DIFFUSERS:
        return _DIFFUSERS["amused"]
    torch = _need("torch", "diffusers")
    base = _need("diffusers", "diffusers").AmusedScheduler

    class RatioAmusedScheduler(base):  # type: ignore[misc, valid-type]
        """diffusers' AmusedScheduler running given remaining-mask ratios.

        ``step`` hands the parent a ``starting_mask_ratio`` that turns its own linear (or
        cosine) ratio into ours, so diffusers' code computes ``floor(seq_len * ratio)``.
        """

        mask_ratios: NDArray[np.float64]

        def set_timesteps(self, num_inference_steps: int, *args: Any, **kwargs: Any) -> None:
            if int(num_inference_steps) != self.mask_ratios.size:
                raise ValueError(
                    f"num_inference_steps = {num_inference_steps}, but the schedule has "
                    f"{self.mask_ratios.size} steps"
                )
            super().set_timesteps(num_inference_steps, *args, **kwargs)

        def step(self, model_output: Any, timestep: Any, sample: Any,
                 starting_mask_ratio: float = 1.0, generator: Any = None,
                 return_dict: bool = True) -> Any:
            factor = starting_mask_ratio
            if int(timestep) != 0:
                step_idx = (self.timesteps == timestep).nonzero()
                ratio = (step_idx + 1) / len(self.timesteps)
                if self.config.masking_schedule == "cosine":
                    own = torch.cos(ratio * math.pi / 2)
                else:
                    own = 1 - ratio
                target = float(self.mask_ratios[int(step_idx.reshape(-1)[0])])
                factor = starting_mask_ratio * target / float(own.reshape(-1)[0])
            return super().step(model_output, timestep, sample, starting_mask_ratio=factor,
                                generator=generator, return_dict=return_dict)

    _DIFFUSERS["amused"] = RatioAmusedScheduler
    return RatioAmusedScheduler


def ratio_amused_scheduler(values: Any, mask_token_id: int,
                           masking_schedule: str = "linear") -> Any:
    """A diffusers ``AmusedScheduler`` subclass instance that runs remaining-mask ratios.

    Parameters
    ----------
    values : array_like or SamplerSchedule
        Remaining-mask ratios after each step (:func:`unmask.export.for_sampler`
        ``(..., "amused")``), length = ``num_inference_steps``.
    mask_token_id : int
        The model's mask token.
    masking_schedule : {"linear", "cosine"}, default "linear"
        The parent's own curve, which ``step`` rescales to the given ratios.

    Returns
    -------
    AmusedScheduler
        Drop it into ``AmusedPipeline.scheduler``.
    """
    cls = _amused_class()
    obj = cls(mask_token_id=mask_token_id, masking_schedule=masking_schedule)
    obj.mask_ratios = _ratios(values)
    return obj


def _refinement_class() -> type:
    if "refine" in _DIFFUSERS:
        return _DIFFUSERS["refine"]
    torch = _need("torch", "diffusers")
    base = _need("diffusers", "diffusers").BlockRefinementScheduler

    class BlockCountsRefinementScheduler(base):  # type: ignore[misc, valid-type]
        """diffusers' BlockRefinementScheduler with one count row per block.

        The pipeline calls ``step`` with ``timestep = 0`` at the start of each block; that is
        where the next row is installed as the parent's ``_transfer_schedule``.
        """

        block_counts: NDArray[np.int64]
        _block: int

        def set_timesteps(self, num_inference_steps: int, device: Any = None,
                          block_length: int | None = None) -> None:
            cols = self.block_counts.shape[1]
            if int(num_inference_steps) != cols:
                raise ValueError(
                    f"num_inference_steps = {num_inference_steps}, but the exported blocks have "
                    f"{cols} steps each (num_inference_steps is per block)"
                )
            super().set_timesteps(num_inference_steps, device=device, block_length=block_length)
            self._block = -1
            self._device = device

        def step(self, model_output: Any, timestep: Any, sample: Any, **kwargs: Any) -> Any:
            step_index = int(timestep.item()) if isinstance(timestep, torch.Tensor) else int(
                timestep)
            mask_token_id = kwargs.get("mask_token_id")
            if step_index == 0 and mask_token_id is not None:
                self._block += 1
                if self._block >= self.block_counts.shape[0]:
                    raise ValueError(
                        f"the pipeline runs more than the {self.block_counts.shape[0]} exported "
                        "blocks: gen_length or block_length differs from the BlockSchedule"
                    )
                row = self.block_counts[self._block]
                masked = (sample == mask_token_id).sum(dim=-1).tolist()
                if any(int(m) != int(row.sum()) for m in masked):
                    raise ValueError(
                        f"block {self._block} has {masked} masked tokens but its schedule "
                        f"unmasks {int(row.sum())}"
                    )
                self._transfer_schedule = torch.as_tensor(
                    row, dtype=torch.long, device=sample.device)
            return super().step(model_output, timestep, sample, **kwargs)

    _DIFFUSERS["refine"] = BlockCountsRefinementScheduler
    return BlockCountsRefinementScheduler


def block_refinement_scheduler(values: Any, **config: Any) -> Any:
    """A diffusers ``BlockRefinementScheduler`` running per-block counts (LLaDA2Pipeline).

    Parameters
    ----------
    values : array_like of int or SamplerSchedule
        Per-block per-step counts (:func:`unmask.export.for_sampler` ``(..., "llada2")``).
    **config
        Passed to ``BlockRefinementScheduler`` (``block_length``, ``threshold``, ...); the
        defaults here are ``threshold=1.0`` and ``editing_threshold=None`` (counts exact).

    Returns
    -------
    BlockRefinementScheduler
        Assign it to ``LLaDA2Pipeline.scheduler``; call the pipeline with
        ``num_inference_steps`` = steps per block, ``threshold=1.0``,
        ``editing_threshold=None``.
    """
    table = _count_table(values)
    cls = _refinement_class()
    settings = {"block_length": int(table.sum(axis=1).max()),
                "num_inference_steps": int(table.shape[1]), "threshold": 1.0,
                "editing_threshold": None, **config}
    obj = cls(**settings)
    obj.block_counts = table
    obj._block = -1
    return obj


class _BlockRows:
    """Indexable like LLaDA2's count row; moves to the next block's row when step 0 is read."""

    def __init__(self, table: NDArray[np.int64]) -> None:
        self.table = table
        self.block = -1

    def __len__(self) -> int:
        return int(self.table.shape[1])

    def __getitem__(self, step: int) -> Any:
        torch = _need("torch", "torch")
        if int(step) == 0:
            self.block = (self.block + 1) % self.table.shape[0]
        return torch.tensor(int(self.table[max(self.block, 0), int(step)]))


def llada2_transfer_schedule(values: Any) -> Callable[[int, int], Any]:
    """Drop-in for the LLaDA2 remote code's ``_get_num_transfer_tokens(block_length, steps)``.

    The remote ``generate`` (``modeling_llada2_moe.py``) builds one count row for all blocks and
    reads ``schedule[step].item()`` from step 0 in every block. The returned function gives an
    object that serves block ``b``'s row after its ``b``-th read of step 0.

    Parameters
    ----------
    values : array_like of int or SamplerSchedule
        Per-block counts (:func:`unmask.export.for_sampler` ``(..., "llada2")``).

    Returns
    -------
    callable
        ``f(block_length, steps)``; assign ``model._get_num_transfer_tokens = f`` and call
        ``model.generate(..., steps=steps_per_block, threshold=1.0)``.

    Raises
    ------
    ValueError
        When called with ``steps`` other than the exported steps per block.
    """
    table = _count_table(values)

    def get_num_transfer_tokens(block_length: int, steps: int) -> Any:
        if int(steps) != table.shape[1]:
            raise ValueError(f"steps = {steps}, but the exported blocks have {table.shape[1]}")
        return _BlockRows(table)

    return get_num_transfer_tokens


# -------------------------------------------------------------------------------------------
# MaskGIT (jax)
# -------------------------------------------------------------------------------------------
def maskgit_schedule(values: Any) -> Callable[..., Any]:
    """Drop-in for MaskGIT's ``mask_schedule.schedule(ratio, total_unknown, method)``.

    Parameters
    ----------
    values : array_like or SamplerSchedule
        Remaining-mask ratios after each step (:func:`unmask.export.for_sampler`
        ``(..., "maskgit")``), length ``num_iter``.

    Returns
    -------
    callable
        ``schedule(ratio, total_unknown, method=None)``: MaskGIT's decode passes
        ``ratio = (step + 1) / num_iter``; the function returns entry ``step`` (jax arrays
        when jax is installed, traced or not; numpy otherwise).

    Examples
    --------
    >>> f = maskgit_schedule([0.625, 0.375, 0.0])
    >>> float(f(1 / 3, 4)), float(f(2 / 3, 4))
    (0.625, 0.375)
    """
    table = _ratios(values)
    try:
        xp: Any = importlib.import_module("jax.numpy")
    except ModuleNotFoundError:
        xp = np
    ratios = xp.asarray(table, dtype=xp.float32)
    k = table.size

    def schedule(ratio: Any, total_unknown: Any = None, method: Any = None) -> Any:
        index = xp.clip(xp.round(xp.asarray(ratio) * k).astype(xp.int32) - 1, 0, k - 1)
        return ratios[index]

    return schedule
