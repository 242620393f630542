"""The ``progress=`` protocol shared by long computations (private).

A public function whose work can exceed about two seconds accepts ``progress=None`` or a
callable ``progress(done, total)`` with two ints, ``0 <= done <= total``. The function calls it
with ``done = 0`` before the work starts, with increasing ``done`` while it runs (at most a few
times per second), and with ``done == total`` once when it finishes. ``total`` is fixed for the
whole computation and counts units the function names in its docstring (steps, rows, levels).
An exception raised by the callable stops the computation and propagates unchanged, so a caller
may cancel work by raising (e.g. ``KeyboardInterrupt``).

Use::

    from unmask._progress import ProgressCallback, Progress

    def heavy(n: int, *, progress: ProgressCallback | None = None) -> float:
        bar = Progress(progress, total=n)        # calls progress(0, n) at once
        for i in range(n):
            ...
            bar.advance()                        # or bar.update(done)
        bar.finish()                             # calls progress(n, n) exactly once
        ...

The command line turns the protocol into a rich progress bar with :func:`rich_progress`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

#: The type of a ``progress=`` argument: ``progress(done, total)``.
ProgressCallback = Callable[[int, int], Any]

#: Minimum seconds between two intermediate calls (the first and last call are never skipped).
MIN_INTERVAL_S = 0.1


def check_progress(progress: object, *, name: str = "progress") -> ProgressCallback | None:
    """Return ``progress`` when it is None or callable, else raise TypeError."""
    if progress is None or callable(progress):
        return progress
    raise TypeError(
        f"{name} must be None or a callable progress(done, total), got {type(progress).__name__}"
    )


class Progress:
    """Throttled reporter for one computation of ``total`` units.

    Parameters
    ----------
    progress
        None (then every method is a no-op) or a callable ``progress(done, total)``.
    total
        Number of units of the whole computation (>= 0).
    min_interval
        Minimum seconds between two intermediate calls.
    """

    __slots__ = ("_callback", "_done", "_finished", "_last", "_min_interval", "total")

    def __init__(
        self,
        progress: ProgressCallback | None,
        total: int,
        *,
        min_interval: float = MIN_INTERVAL_S,
    ) -> None:
        self._callback = check_progress(progress)
        self.total = max(0, int(total))
        self._done = 0
        self._finished = False
        self._min_interval = float(min_interval)
        self._last = time.monotonic()
        if self._callback is not None:
            self._callback(0, self.total)

    @property
    def active(self) -> bool:
        """True when a callback is attached."""
        return self._callback is not None

    @property
    def done(self) -> int:
        """Units reported done so far."""
        return self._done

    def update(self, done: int) -> None:
        """Report ``done`` units finished (clipped to ``[0, total]``; never goes backwards)."""
        done = min(max(int(done), self._done), self.total)
        self._done = done
        if self._callback is None or self._finished:
            return
        now = time.monotonic()
        if now - self._last >= self._min_interval and done < self.total:
            self._last = now
            self._callback(done, self.total)

    def advance(self, units: int = 1) -> None:
        """Report ``units`` more units finished."""
        self.update(self._done + int(units))

    def finish(self) -> None:
        """Report the computation finished: ``progress(total, total)``, once."""
        self._done = self.total
        if self._callback is not None and not self._finished:
            self._finished = True
            self._callback(self.total, self.total)


@contextmanager
def rich_progress(description: str, *, enabled: bool = True) -> Iterator[ProgressCallback | None]:
    """Yield a ``progress(done, total)`` callable that drives a rich bar on stderr.

    Yields None when ``enabled`` is false, stderr is not a terminal (pipes, files, tests) or
    rich is not installed, so the caller can pass the result straight to a ``progress=``
    argument. The bar is transient: it leaves nothing behind on stdout or stderr.
    """
    if not enabled:
        yield None
        return
    try:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import (
            Progress as RichProgress,
        )
    except ImportError:  # pragma: no cover - rich is a dependency of the command line
        yield None
        return
    console = Console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    with RichProgress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=None)

        def callback(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield callback
