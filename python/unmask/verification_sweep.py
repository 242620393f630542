"""Every rigorous bound checked on many random laws, spread over an executor.

``unmask verify --sweep N --executor ...`` and :func:`verify_sweep`: law ``k`` of the sweep is a
random law whose size, alphabet and concentration come from child ``k`` of
``SeedSequence(seed)``; each batch of laws is one task running the verification suite's checks
(the exact order-averaged error of every schedule family and step count, and every bound of
theory section 6 against it). The report gives, per bound, the worst ratio ``bound / exact``
over all cases (a rigorous bound holds when it is ``>= 1``), and every failed check.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from unmask.laws import joints
from unmask.profiles.sharding import ShardSpec, check_executor, plan_shards, run_shards
from unmask.verification import FAMILIES, Check, LawSpec, _Ingredients, _Runner

__all__ = ["SweepResult", "verify_sweep"]


@dataclass(frozen=True)
class SweepResult:
    """Outcome of :func:`verify_sweep`.

    Attributes
    ----------
    laws : int
        Number of random laws checked.
    checks : tuple of Check
        Every bound check (kind ``"bound"``), law names ``"sweep-<k> (n=.., q=..)"``.
    failures : tuple of Check
        The failed checks of any kind (a violated bound, a broken identity).
    worst : dict
        Per bound name: ``(ratio, law, schedule, steps)`` of the smallest ``bound / exact``
        over cases with a positive exact error.
    """

    laws: int
    checks: tuple[Check, ...]
    failures: tuple[Check, ...]
    worst: dict[str, tuple[float, str, str | None, int | None]]

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return not self.failures


def _law_params(stream: np.random.SeedSequence, n_range: tuple[int, int],
                q_range: tuple[int, int]) -> tuple[int, int, float, int]:
    rng = np.random.default_rng(stream)
    q = int(rng.integers(q_range[0], q_range[1] + 1))
    n = int(rng.integers(n_range[0], n_range[1] + 1))
    # keep q^n moderate: the suite enumerates the law
    while n > 2 and q**n > 3**9:
        n -= 1
    conc = float(np.exp(rng.uniform(np.log(0.05), np.log(3.0))))
    return n, q, conc, int(rng.integers(0, 2**31 - 1))


@dataclass(frozen=True)
class _Builder:
    n: int
    q: int
    conc: float
    seed: int

    def __call__(self) -> Any:
        return joints.random(self.n, self.q, self.conc, seed=self.seed)


def verify_sweep(
    count: int,
    *,
    executor: Any = None,
    seed: int = 0,
    n_range: tuple[int, int] = (3, 8),
    q_range: tuple[int, int] = (2, 3),
    ks: Sequence[int] = (2, 3, 4),
    laws_per_task: int | None = None,
    progress: Callable[[int, int], Any] | None = None,
    timeout: float | None = None,
) -> SweepResult:
    """Check every rigorous bound on ``count`` random laws, as tasks on ``executor``.

    Parameters
    ----------
    count : int
        Number of random laws (>= 1).
    executor : None, concurrent.futures.Executor or dask.distributed.Client
        Where the batches run (None: here).
    seed : int
        Root seed: law ``k`` is drawn from child ``k`` of ``SeedSequence(seed)``, whatever the
        executor.
    n_range, q_range : tuple of int
        Inclusive ranges of the length and alphabet size (``q**n`` is capped at ``3**9``).
    ks : sequence of int
        Step counts (those above a law's ``n`` are left out for it).
    laws_per_task : int, optional
        Laws per task (default: ``ceil(count / 64)``, at least 1).
    progress : callable, optional
        ``progress(done, total)`` in laws.
    timeout : float, optional
        Seconds to wait for the next batch (see :func:`~unmask.profiles.sharding.run_shards`).

    Returns
    -------
    SweepResult

    Raises
    ------
    ValueError
        ``count < 1``, bad ranges or step counts.
    TypeError
        An executor of another kind.

    Examples
    --------
    >>> from unmask.verification_sweep import verify_sweep
    >>> res = verify_sweep(2, n_range=(3, 4), q_range=(2, 2), ks=(2,))
    >>> res.ok, res.laws
    (True, 2)
    """
    check_executor(executor)
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"count must be an integer >= 1, got {count!r}")
    lo, hi = (int(v) for v in n_range)
    if not 2 <= lo <= hi:
        raise ValueError(f"n_range must satisfy 2 <= lo <= hi, got {n_range}")
    qlo, qhi = (int(v) for v in q_range)
    if not 2 <= qlo <= qhi:
        raise ValueError(f"q_range must satisfy 2 <= lo <= hi, got {q_range}")
    steps = tuple(int(k) for k in ks)
    if not steps or min(steps) < 1:
        raise ValueError(f"ks must be non-empty step counts >= 1, got {list(ks)}")
    per = laws_per_task if laws_per_task is not None else max(1, math.ceil(count / 64))
    specs = plan_shards([1] * int(count), int(per))
    results = run_shards(
        _sweep_task_seeded,
        specs,
        np.random.SeedSequence(seed),
        (int(seed), int(count), (lo, hi), (qlo, qhi), steps),
        executor=executor,
        progress=progress,
        timeout=timeout,
        describe=lambda s: f"laws {s.items[0][0]}..{s.items[-1][0]}",
    )
    checks = [c for batch in results for c in batch]
    bounds = tuple(c for c in checks if c.kind == "bound")
    failures = tuple(c for c in checks if c.status == "fail")
    worst: dict[str, tuple[float, str, str | None, int | None]] = {}
    for c in bounds:
        if c.status != "pass" or c.value is None or c.reference is None or c.value <= 0:
            continue
        ratio = c.reference / c.value
        if c.name not in worst or ratio < worst[c.name][0]:
            worst[c.name] = (ratio, c.law, c.schedule, c.steps)
    return SweepResult(int(count), bounds, failures, worst)


def _sweep_task_seeded(spec: ShardSpec, stream: np.random.SeedSequence, seed: int, count: int,
                       n_range: tuple[int, int], q_range: tuple[int, int],
                       ks: tuple[int, ...]) -> list[Check]:
    """One batch of laws (runs on a worker): law ``k`` from child ``k`` of the seed."""
    del stream
    kids = np.random.SeedSequence(seed).spawn(count)
    runner = _Runner(_Ingredients(), ks, FAMILIES, 3**8, 1, steps_given=True)
    for k, _ in spec.items:
        n, q, conc, law_seed = _law_params(kids[k], n_range, q_range)
        name = f"sweep-{k} (n={n}, q={q}, conc={conc:.3g})"
        runner.run_law(LawSpec(name, _Builder(n, q, conc, law_seed), "random law"))
    return runner.checks
