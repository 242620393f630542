"""Adapters that make real samplers run an unmask schedule (no hard dependency).

Each adapter imports its framework (torch, diffusers, dllm, jax) only when called, so
``import unmask.integrations`` works without any of them; install ``unmask[torch]`` or
``unmask[diffusers]`` for the ones that need them.

* :class:`BlockTransferTokens`: a block-aware drop-in for LLaDA's / Fast-dLLM's (and dllm's)
  ``get_num_transfer_tokens`` (torch).
* :func:`dllm_alpha_scheduler`: a dllm ``BaseAlphaScheduler`` whose rounded counts are the
  schedule's (torch; subclasses dllm's class when dllm is installed).
* :func:`ratio_amused_scheduler`: a diffusers ``AmusedScheduler`` taking remaining-mask ratios.
* :func:`block_refinement_scheduler`: a diffusers ``BlockRefinementScheduler`` running
  per-block counts (LLaDA2Pipeline).
* :func:`llada2_transfer_schedule`: the same for the LLaDA2 remote code's ``generate``.
* :func:`maskgit_schedule`: a drop-in for MaskGIT's ``mask_schedule.schedule`` (jax or numpy).

The values come from :func:`unmask.export.for_sampler` (theory section 14).

Distributed engines (each needs its optional extra; neither is imported here):
:mod:`unmask.integrations.dask` (``unmask[dask]``) runs shard plans on a
``dask.distributed.Client``; :mod:`unmask.integrations.torch_distributed` (``unmask[torch]``)
splits them over the ranks of a ``torch.distributed`` process group;
:mod:`unmask.integrations.torch_mdm` (``unmask[model]``) is a small masked diffusion model used
as a real client of the estimators.
"""

from __future__ import annotations

from unmask.integrations.adapters import (
    BlockTransferTokens,
    block_refinement_scheduler,
    dllm_alpha_scheduler,
    llada2_transfer_schedule,
    maskgit_schedule,
    ratio_amused_scheduler,
)

__all__ = [
    "BlockTransferTokens",
    "block_refinement_scheduler",
    "dllm_alpha_scheduler",
    "llada2_transfer_schedule",
    "maskgit_schedule",
    "ratio_amused_scheduler",
]
