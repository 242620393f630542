"""Running shard plans on a ``dask.distributed.Client`` (the ``unmask[dask]`` extra).

Used by :func:`unmask.profiles.sharding.run_shards` when ``executor`` is a Dask client: the
shared arguments (model, data, settings) are sent to the cluster once, as tasks of their own
(so that they survive a worker's death), each shard becomes
one task with a unique key (``pure=False``), and the results are gathered as they finish. A
worker that dies takes its running shards with it; the scheduler runs them again elsewhere and,
since a shard's random stream is fixed by its index, the result is unchanged.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from unmask.profiles.sharding import ExecutorError, ShardSpec

__all__ = ["submit_shards"]


def _hold(obj: Any) -> Any:
    """Identity: a task whose result is ``obj`` (recomputable, unlike scattered data)."""
    return obj


def submit_shards(
    client: Any,
    fn: Callable[..., Any],
    specs: Sequence[ShardSpec],
    streams: Sequence[np.random.SeedSequence],
    shared: Sequence[Any],
    timeout: float | None,
) -> tuple[list[Any], Callable[[], None], Callable[[set[Any]], set[Any]]]:
    """Submit one task per shard; return the futures, a canceller and a waiter.

    Parameters
    ----------
    client : dask.distributed.Client
        A connected client.
    fn, specs, streams, shared
        As in :func:`~unmask.profiles.sharding.run_shards` (``streams[k]`` for shard ``k``).
    timeout : float or None
        Seconds the waiter waits for the next finished shard (None: no limit).

    Returns
    -------
    tuple
        ``(futures, cancel, wait_next)``: ``wait_next(pending)`` returns the finished futures
        among ``pending`` (empty after ``timeout`` seconds without one).

    Raises
    ------
    ExecutorError
        When the client is not connected or the shared arguments cannot be sent.
    """
    import importlib

    distributed: Any = importlib.import_module("distributed")
    status = getattr(client, "status", "running")
    if status != "running":
        raise ExecutorError(
            f"the Dask client is not connected to a scheduler (status {status!r}); "
            "start the cluster or pass another executor"
        )
    token = uuid.uuid4().hex[:12]
    # The shared arguments become tasks of their own (not `scatter`ed data): the scheduler can
    # recompute a task's result when the worker holding it dies, while scattered data would be
    # lost with that worker. Each is embedded in the graph once, not once per shard.
    try:
        with warnings.catch_warnings():
            # "Sending large graph": the data are embedded once, as this warning recommends
            warnings.filterwarnings("ignore", message="Sending large graph")
            held = [
                client.submit(_hold, obj, pure=False, key=f"unmask-shared-{token}-{i}")
                for i, obj in enumerate(shared)
            ]
    except Exception as exc:
        raise ExecutorError(
            f"could not send the model and data to the Dask cluster: {type(exc).__name__}: {exc}"
        ) from exc
    futures = [
        client.submit(
            fn, spec, stream, *held, pure=False, key=f"unmask-shard-{token}-{spec.index}"
        )
        for spec, stream in zip(specs, streams, strict=True)
    ]

    def cancel() -> None:
        try:
            client.cancel(futures)
        except Exception:  # the cluster may already be gone: nothing left to cancel
            pass

    def wait_next(pending: set[Any]) -> set[Any]:
        try:
            result = distributed.wait(list(pending), timeout=timeout, return_when="FIRST_COMPLETED")
        except TimeoutError:
            return set()
        except Exception as exc:
            raise ExecutorError(
                f"lost contact with the Dask cluster: {type(exc).__name__}: {exc}"
            ) from exc
        return set(result.done)

    return futures, cancel, wait_next
