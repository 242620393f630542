"""Input checks shared by the public API (private)."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: Tolerance on the total mass of a probability array.
NORMALIZATION_TOL = 1e-9


def as_probability_array(
    values: Any, *, name: str = "probabilities", normalize: bool = False
) -> NDArray[np.float64]:
    """Return ``values`` as a float64 array of probabilities, or raise ValueError.

    Checks, in order: numeric, finite, non-negative, positive total, and a total of 1 within
    :data:`NORMALIZATION_TOL` unless ``normalize`` is true (then it is divided by its total).
    A C-contiguous float64 input is returned without a copy when no normalization is needed.
    """
    try:
        arr = np.asarray(values)
    except ValueError as exc:  # ragged nested sequences
        raise ValueError(f"{name} must be a rectangular numeric array: {exc}") from exc
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} non-finite value(s) (NaN or inf)")
    if np.any(arr < 0):
        raise ValueError(f"{name} contains negative values (min {arr.min():.3g})")
    total = _total(arr)
    if normalize and not math.isfinite(total):
        # Entries near the float64 maximum: rescale first so that the total is finite.
        arr = arr / float(arr.max())
        total = _total(arr)
    if total <= 0:
        raise ValueError(f"{name} sums to {total}, so it cannot be normalized")
    if normalize:
        if total != 1.0:
            arr = arr / total
    elif abs(total - 1.0) > NORMALIZATION_TOL:
        raise ValueError(
            f"{name} sums to {total!r}, not 1 (tolerance {NORMALIZATION_TOL}); "
            "pass normalize=True to rescale"
        )
    return arr


def _total(arr: NDArray[np.float64]) -> float:
    """Sum of a finite non-negative array (exact for small ones); inf when it overflows."""
    if arr.size <= 4096:
        try:
            return math.fsum(arr.ravel().tolist())
        except OverflowError:
            return math.inf
    with np.errstate(over="ignore"):
        return float(arr.sum())


#: Largest thread count accepted (far above any machine; keeps the count a C int).
MAX_THREADS = 4096


def resolve_threads(threads: int | None) -> int:
    """Return a positive thread count; ``None`` means all cores available to this process."""
    if threads is None:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - non-Linux
            return max(1, os.cpu_count() or 1)
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)):
        raise TypeError(f"threads must be an int or None, got {type(threads).__name__}")
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    if threads > MAX_THREADS:
        raise ValueError(f"threads must be <= {MAX_THREADS}, got {threads}")
    return int(threads)


def log_base_factor(base: float | None) -> float:
    """Return the divisor turning nats into the requested unit (1.0 for nats).

    ``base`` must be a real number > 1: a base in (0, 1) would make every entropy and KL
    negative, which no caller of an information measure means.
    """
    if base is None:
        return 1.0
    if isinstance(base, (bool, np.bool_)) or not isinstance(
        base, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"base must be a real number > 1 or None, got {base!r}")
    value = float(base)
    if not math.isfinite(value) or value <= 1.0:
        raise ValueError(
            f"base must be a finite number > 1 (2 for bits, None for nats), got {base!r}"
        )
    return math.log(value)


def available_memory_bytes() -> int:
    """Best estimate of the memory this process may still allocate, in bytes."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - non-Linux
        pass
    try:  # pragma: no cover - non-Linux fallback
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 8 * 1024**3


def check_memory(need_bytes: float, what: str) -> None:
    """Raise MemoryError naming ``what`` when ``need_bytes`` exceeds the available memory."""
    limit = available_memory_bytes()
    if need_bytes > limit:
        raise MemoryError(
            f"{what} needs about {format_bytes(need_bytes)} but only {format_bytes(limit)} "
            "is available"
        )


def format_bytes(n: float) -> str:
    """Human-readable byte count."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover
