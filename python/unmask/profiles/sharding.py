"""Shard plans and running shards on an executor (local, ``concurrent.futures`` or Dask).

A *shard plan* cuts a Monte Carlo computation into shards of whole sequences; shard ``k`` draws
its randomness from the ``k``-th child of ``numpy.random.SeedSequence(seed).spawn``. A shard's
result therefore depends on the seed and the plan only, never on which worker ran it, when, or
how often (a shard lost with its worker is simply run again). :func:`run_shards` runs the shards
inline (``executor=None``), on any :class:`concurrent.futures.Executor`, or on a
``dask.distributed.Client``; the results come back in shard order.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import time
from collections.abc import Callable, Collection, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "ExecutorError",
    "ShardError",
    "ShardSpec",
    "check_executor",
    "plan_shards",
    "run_shards",
    "seed_sequence",
]


class ShardError(RuntimeError):
    """A shard's task raised on the executor; ``__cause__`` is the original exception.

    Attributes
    ----------
    shard : int
        Index of the failing shard in its plan.
    cells : tuple
        The cells (e.g. levels) that shard was drawing samples for.
    """

    def __init__(self, message: str, shard: int = -1, cells: tuple[Hashable, ...] = ()) -> None:
        super().__init__(message)
        self.shard = shard
        self.cells = cells

    def __reduce__(self) -> Any:
        return (type(self), (str(self), self.shard, self.cells))


class ExecutorError(RuntimeError):
    """The executor itself failed: a broken process pool, a cluster that went away, a timeout."""


@dataclass(frozen=True)
class ShardSpec:
    """One shard of a plan: ``rows`` sequences for each of some cells.

    Attributes
    ----------
    index : int
        Position in the plan (and of its random stream among the seed's children).
    items : tuple of (int, int)
        ``(cell, rows)`` pairs: draw ``rows`` sequences for cell index ``cell``.
    """

    index: int
    items: tuple[tuple[int, int], ...]

    @property
    def rows(self) -> int:
        """Total number of sequences the shard draws."""
        return sum(r for _, r in self.items)


def plan_shards(rows_per_cell: Sequence[int], shard_size: int) -> list[ShardSpec]:
    """Pack the cells' sequences, in cell order, into shards of ``shard_size`` sequences.

    Parameters
    ----------
    rows_per_cell : sequence of int
        Sequences wanted per cell (each ``>= 0``).
    shard_size : int
        Sequences per shard (the last shard may hold fewer). A cell may straddle shards and a
        shard may hold several cells.

    Returns
    -------
    list of ShardSpec

    Raises
    ------
    ValueError
        For a negative row count or a shard size below 1.

    Examples
    --------
    >>> from unmask.profiles.sharding import plan_shards
    >>> [s.items for s in plan_shards([3, 3, 2], 4)]
    [((0, 3), (1, 1)), ((1, 2), (2, 2))]
    """
    if isinstance(shard_size, bool) or not isinstance(shard_size, (int, np.integer)):
        raise ValueError(f"shard_size must be an integer >= 1, got {shard_size!r}")
    if shard_size < 1:
        raise ValueError(f"shard_size must be an integer >= 1, got {shard_size}")
    specs: list[ShardSpec] = []
    items: list[tuple[int, int]] = []
    room = int(shard_size)
    for cell, rows in enumerate(rows_per_cell):
        rows = int(rows)
        if rows < 0:
            raise ValueError(f"cell {cell} asks for {rows} < 0 sequences")
        while rows > 0:
            take = min(rows, room)
            items.append((cell, take))
            rows -= take
            room -= take
            if room == 0:
                specs.append(ShardSpec(len(specs), tuple(items)))
                items, room = [], int(shard_size)
    if items:
        specs.append(ShardSpec(len(specs), tuple(items)))
    return specs


def seed_sequence(seed: Any) -> np.random.SeedSequence:
    """The root seed sequence of an estimate.

    ``None`` draws fresh entropy; an int, a sequence of ints or a ``SeedSequence`` is used as is;
    a ``numpy.random.Generator`` contributes four 63-bit integers drawn from it (so the result
    depends on its state, as with a generator passed to the serial code).
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(seed.integers(0, 2**63 - 1, size=4).tolist())
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, bool):
        raise TypeError("seed must be an int, a SeedSequence, a Generator or None, got a bool")
    if isinstance(seed, (int, np.integer)):
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        return np.random.SeedSequence(int(seed))
    try:
        return np.random.SeedSequence(seed)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"seed must be an int, a SeedSequence, a Generator or None, got {type(seed).__name__}"
        ) from exc


# ---------------------------------------------------------------------------------------------
# Executors
# ---------------------------------------------------------------------------------------------
def _is_dask_client(obj: Any) -> bool:
    mod = type(obj).__module__ or ""
    return mod.split(".")[0] == "distributed" and type(obj).__name__ == "Client"


def check_executor(executor: Any) -> str:
    """Kind of ``executor``: ``"local"`` (None), ``"futures"`` or ``"dask"``.

    Raises
    ------
    TypeError
        For anything else (the message names the type).
    """
    if executor is None:
        return "local"
    if isinstance(executor, cf.Executor):
        return "futures"
    if _is_dask_client(executor):
        return "dask"
    raise TypeError(
        "executor must be None, a concurrent.futures.Executor or a dask.distributed.Client, "
        f"got {type(executor).__name__}"
    )


_LOST = ("KilledWorker", "CancelledError", "CommClosedError", "BrokenProcessPool",
         "BrokenThreadPool", "BrokenExecutor", "FutureCancelledError")


def _is_infrastructure(exc: BaseException) -> bool:
    return any(type(exc).__name__ == name for name in _LOST) or isinstance(
        exc, (cf.CancelledError, cf.BrokenExecutor)
    )


def run_shards(
    fn: Callable[..., Any],
    specs: Sequence[ShardSpec],
    root: np.random.SeedSequence,
    shared: Sequence[Any] = (),
    *,
    executor: Any = None,
    progress: Callable[[int, int], Any] | None = None,
    timeout: float | None = None,
    describe: Callable[[ShardSpec], str] | None = None,
    select: Collection[int] | None = None,
) -> list[Any]:
    """Run ``fn(spec, stream, *shared)`` for every shard; results in shard order.

    Parameters
    ----------
    fn : callable
        A module-level (picklable) function of the shard spec, the shard's
        ``SeedSequence`` (child ``spec.index`` of ``root``) and the shared arguments.
    specs : sequence of ShardSpec
        The plan (``specs[k].index == k``).
    root : numpy.random.SeedSequence
        The root stream; shard ``k`` gets ``root.spawn(len(specs))[k]`` (computed without
        advancing ``root``).
    shared : sequence
        Arguments every shard needs (the model, the data, settings). On Dask they are sent
        to the cluster once (as recomputable tasks).
    executor : None, concurrent.futures.Executor or dask.distributed.Client
        Where the shards run. None: inline, in order, exceptions propagate unchanged.
    progress : callable, optional
        ``progress(done, total)`` in sequences, called as shards finish.
    timeout : float, optional
        Seconds to wait for the next shard to finish before giving up with
        :class:`ExecutorError` (None: wait as long as shards keep running).
    describe : callable, optional
        ``describe(spec)`` for error messages (default: its cells).
    select : collection of int, optional
        Run only these shards (e.g. one rank's share); their streams are those of the full
        plan.

    Returns
    -------
    list
        ``fn``'s results in shard order (of the selected shards).

    Raises
    ------
    TypeError
        An executor that is none of the three kinds.
    ShardError
        A shard raised on the executor (the original exception is its ``__cause__``).
    ExecutorError
        The executor broke down (lost cluster, broken pool) or no shard finished within
        ``timeout`` seconds.
    KeyboardInterrupt
        After cancelling the shards not yet finished.
    """
    kind = check_executor(executor)
    if any(s.index != k for k, s in enumerate(specs)):
        raise ValueError("shard specs must be numbered 0, 1, ... in order")
    nplan = len(specs)
    if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    # SeedSequence.spawn advances the parent's counter; spawn from an equal copy instead so
    # that the streams depend on the root's value only.
    streams = np.random.SeedSequence(
        root.entropy, spawn_key=root.spawn_key, pool_size=root.pool_size
    ).spawn(len(specs))
    if select is not None:
        chosen = sorted({int(k) for k in select})
        if any(k < 0 or k >= len(specs) for k in chosen):
            raise ValueError(f"select names shards outside 0..{len(specs) - 1}")
        specs = [specs[k] for k in chosen]
        streams = [streams[k] for k in chosen]
    total = sum(s.rows for s in specs)
    done = 0

    def tell() -> None:
        if progress is not None:
            progress(done, total)

    def what(spec: ShardSpec) -> str:
        if describe is not None:
            return describe(spec)
        return "cells " + ", ".join(str(c) for c, _ in spec.items)

    results: list[Any] = [None] * len(specs)
    tell()
    if kind == "local":
        for pos, (spec, stream) in enumerate(zip(specs, streams, strict=True)):
            results[pos] = fn(spec, stream, *shared)
            done += spec.rows
            tell()
        return results

    if kind == "dask":
        from unmask.integrations.dask import submit_shards

        futures, cancel, wait_next = submit_shards(executor, fn, specs, streams, shared, timeout)
    else:
        futures = [executor.submit(fn, spec, stream, *shared) for spec, stream in
                   zip(specs, streams, strict=True)]

        def cancel() -> None:
            for f in futures:
                f.cancel()

        def wait_next(pending: set[Any]) -> set[Any]:
            finished, _ = cf.wait(pending, timeout=timeout, return_when=cf.FIRST_COMPLETED)
            return set(finished)

    index_of = {id(f): k for k, f in enumerate(futures)}
    pending = set(futures)
    started = time.monotonic()
    try:
        while pending:
            finished = wait_next(pending)
            if not finished:
                raise ExecutorError(
                    f"no shard finished within timeout = {timeout} s "
                    f"({len(pending)} of {len(specs)} shards pending after "
                    f"{time.monotonic() - started:.1f} s); is the executor still alive?"
                )
            for f in sorted(finished, key=lambda f: index_of[id(f)]):
                pos = index_of[id(f)]
                spec = specs[pos]
                k = spec.index
                pending.discard(f)
                try:
                    results[pos] = f.result()
                except Exception as exc:
                    if _is_infrastructure(exc):
                        raise ExecutorError(
                            f"the executor lost shard {k} of {nplan} ({what(spec)}): "
                            f"{type(exc).__name__}: {exc}"
                        ) from exc
                    hint = (
                        " (a process pool or a cluster needs a picklable model and data: "
                        "module-level functions or classes, not closures)"
                        if "pickle" in str(exc).lower() else ""
                    )
                    raise ShardError(
                        f"shard {k} of {nplan} ({what(spec)}) failed on the executor: "
                        f"{type(exc).__name__}: {exc}{hint}",
                        shard=k,
                        cells=tuple(c for c, _ in spec.items),
                    ) from exc
                done += spec.rows
                tell()
    except BaseException:
        cancel()
        raise
    return results


def default_shard_size(total_rows: int, batch_size: int) -> int:
    """Sequences per shard when the user gives none: four model batches, at least 256.

    It depends on the work only (never on the executor), so that serial and sharded runs of the
    same call share one plan and agree bit for bit.
    """
    return max(256, 4 * int(batch_size), math.ceil(total_rows / 4096))
