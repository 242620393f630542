"""``unmask verify --sweep N --executor ...``: every rigorous bound on N random laws.

A helper of the ``verify`` command (not a command of its own): parses the executor
specification, runs :func:`unmask.verification_sweep.verify_sweep` with a rich progress bar,
prints the worst ratio ``bound / exact`` per bound, and exits 1 when a check fails.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any

import click

__all__ = ["executor_from_spec", "run_sweep"]

EXECUTOR_HELP = (
    "Where the sweep runs: 'local' (default), 'threads:N', 'processes:N', 'dask-local:N' "
    "(a Dask LocalCluster of N worker processes) or a Dask scheduler address 'tcp://HOST:PORT'."
)


@contextlib.contextmanager
def executor_from_spec(spec: str) -> Iterator[Any]:
    """The executor named by ``spec`` (see :data:`EXECUTOR_HELP`), shut down on exit.

    Raises
    ------
    click.UsageError
        For a malformed specification or a missing optional dependency.
    """
    import concurrent.futures as cf

    kind, _, arg = spec.partition(":")
    if spec == "local":
        yield None
        return
    if kind in ("threads", "processes", "dask-local"):
        try:
            workers = int(arg)
        except ValueError:
            raise click.UsageError(f"--executor {spec!r}: expected {kind}:N with N >= 1") from None
        if workers < 1:
            raise click.UsageError(f"--executor {spec!r}: expected {kind}:N with N >= 1")
        if kind == "threads":
            with cf.ThreadPoolExecutor(workers) as ex:
                yield ex
            return
        if kind == "processes":
            import multiprocessing as mp

            with cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as ex:
                yield ex
            return
    if kind in ("dask-local", "tcp", "tls", "dask"):
        try:
            import importlib

            distributed: Any = importlib.import_module("distributed")
        except ImportError:
            raise click.UsageError(
                "--executor: Dask is not installed (pip install 'unmask[dask]')"
            ) from None
        if kind == "dask-local":
            with distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, dashboard_address=":0"
            ) as cluster, distributed.Client(cluster) as client:
                yield client
            return
        address = arg if kind == "dask" else spec
        try:
            client = distributed.Client(address, timeout=10)
        except OSError as exc:
            raise click.UsageError(
                f"--executor: cannot reach the scheduler {address}: {exc}"
            ) from exc
        try:
            yield client
        finally:
            client.close()
        return
    raise click.UsageError(f"--executor {spec!r}: {EXECUTOR_HELP}")


def run_sweep(count: int, executor: str, seed: int, as_json: bool, no_progress: bool) -> None:
    """Run the sweep for the ``verify`` command; exits 1 on a failed check, 130 on Ctrl-C."""
    from rich.console import Console
    from rich.table import Table

    from unmask.profiles.sharding import ExecutorError, ShardError
    from unmask.verification_sweep import verify_sweep

    console = Console(stderr=True)
    try:
        with executor_from_spec(executor) as ex:
            if no_progress or not console.is_terminal:
                result = verify_sweep(count, executor=ex, seed=seed)
            else:
                from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

                with Progress(TextColumn("[bold]sweep[/]"), BarColumn(),
                              TextColumn("{task.completed}/{task.total} laws"),
                              TimeElapsedColumn(), console=console, transient=True) as bar:
                    task = bar.add_task("", total=count)
                    result = verify_sweep(
                        count, executor=ex, seed=seed,
                        progress=lambda d, t: bar.update(task, completed=d, total=t),
                    )
    except KeyboardInterrupt:
        click.echo("interrupted: pending tasks cancelled", err=True)
        sys.exit(130)
    except (ExecutorError, ShardError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps({
            "laws": result.laws,
            "ok": result.ok,
            "worst": {k: {"ratio": v[0], "law": v[1], "schedule": v[2], "steps": v[3]}
                      for k, v in result.worst.items()},
            "failures": [c.to_dict() for c in result.failures],
        }, separators=(",", ":")))
    else:
        table = Table(title=f"unmask verify --sweep {count}: worst bound / exact per bound")
        for col in ("bound", "worst ratio", "law", "schedule", "K"):
            table.add_column(col)
        for name, (ratio, law, sched, k) in sorted(result.worst.items()):
            table.add_row(name.removeprefix("bound "), f"{ratio:.6g}", law, str(sched), str(k))
        Console().print(table)
        click.echo(f"{len(result.checks)} bound checks on {result.laws} random laws, "
                   f"{len(result.failures)} failed")
    if not result.ok:
        sys.exit(1)
