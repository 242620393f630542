"""Sharded profile estimation over the ranks of a ``torch.distributed`` process group.

Each rank evaluates the shards ``k`` of the plan with ``k % world_size == rank`` (its model may
sit on its own GPU), then the ranks exchange their shard results (an all-gather of the exact
per-level sums and values) and every rank merges the same set: the result is bit for bit the
serial :func:`~unmask.estimate_profile` for the same seed and plan. Needs the ``unmask[torch]``
extra and an initialised process group (any backend; ``gloo`` on CPU).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from unmask.profiles.estimate import EstimatedProfile, estimate_state, profile_from_state
from unmask.profiles.estimate_state import EstimateState

__all__ = ["allreduce_state", "estimate_profile_distributed"]


def _dist(group: Any) -> Any:
    try:
        import torch.distributed as dist
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "unmask.integrations.torch_distributed needs torch (pip install 'unmask[torch]')"
        ) from exc
    if not dist.is_available() or not dist.is_initialized():
        raise RuntimeError(
            "torch.distributed is not initialised: call torch.distributed.init_process_group "
            "first (e.g. backend='gloo' on CPU)"
        )
    return dist


def allreduce_state(state: EstimateState, group: Any = None) -> EstimateState:
    """Merge the estimate states of all ranks; every rank gets the same merged state.

    Parameters
    ----------
    state : EstimateState
        This rank's state (its shards only).
    group : torch.distributed.ProcessGroup, optional
        The group (default: the world).

    Returns
    -------
    EstimateState
        The union of every rank's shards (exact: integer sums; see
        :class:`~unmask.profiles.estimate_state.EstimateState`).

    Raises
    ------
    RuntimeError
        Without an initialised process group.
    ValueError
        When two ranks computed the same shard or the ranks' cells differ.
    """
    dist = _dist(group)
    world = dist.get_world_size(group)
    gathered: list[Any] = [None] * world
    # The exact sums are Python integers of a few thousand bits: exchanged as objects.
    dist.all_gather_object(gathered, state, group=group)
    merged = EstimateState(state.keys, expected_shards=state.expected_shards)
    for other in gathered:
        merged = merged.merge(other)
    return merged


def estimate_profile_distributed(
    model: Callable[[Any, Any], Any],
    data: Any,
    n: int,
    *,
    group: Any = None,
    confidence: float = 0.95,
    monotone: bool = True,
    base: float | None = None,
    progress: Callable[[int, int], Any] | None = None,
    **kwargs: Any,
) -> EstimatedProfile:
    """:func:`~unmask.estimate_profile` with the shards spread over the ranks of a group.

    Call it on every rank with the same arguments (and the same integer ``seed``). Rank ``r``
    evaluates shards ``r, r + world, ...``; the states are all-gathered and merged.

    Parameters
    ----------
    model, data, n
        As in :func:`~unmask.estimate_profile` (``model`` may be this rank's copy of the
        network, on this rank's device).
    group : torch.distributed.ProcessGroup, optional
        Default: the world.
    confidence, monotone, base
        As in :func:`~unmask.estimate_profile`.
    progress : callable, optional
        ``progress(done, total)`` over this rank's shards.
    **kwargs
        The sampling arguments of :func:`~unmask.profiles.estimate.estimate_state`
        (``levels``, ``samples_per_level``, ``batch_size``, ``estimator``, ``output``, ``q``,
        ``tol``, ``to_torch``, ``seed``, ``shard_size``). ``seed`` must be given (an int or a
        SeedSequence): every rank must draw from the same root stream.

    Returns
    -------
    EstimatedProfile
        The same on every rank, equal bit for bit to the serial estimate.

    Raises
    ------
    RuntimeError
        Without an initialised process group.
    ValueError
        Without a seed, or with an ``executor`` argument (the ranks are the executor).
    """
    dist = _dist(group)
    if kwargs.get("seed") is None:
        raise ValueError("estimate_profile_distributed needs an explicit seed shared by all ranks")
    if "executor" in kwargs:
        raise ValueError("estimate_profile_distributed runs on the ranks; pass no executor")
    rank = dist.get_rank(group)
    world = dist.get_world_size(group)
    state = estimate_state(
        model, data, n, progress=progress, _shard_filter=(rank, world), **kwargs
    )
    merged = allreduce_state(state, group)
    estimator = kwargs.get("estimator", "cross_entropy")
    return profile_from_state(
        merged, n, confidence=confidence, monotone=monotone, base=base, estimator=estimator
    )
