"""Input checks shared by the public API (private)."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: Tolerance on the total mass of a probability array.
NORMALIZATION_TOL = 1e-9

#: Allocations below this are not checked against the memory limits (64 MiB).
_SMALL_BYTES = 64.0 * 2**20


def as_probability_array(
    values: Any, *, name: str = "probabilities", normalize: bool = False
) -> NDArray[np.float64]:
    """Return ``values`` as a float64 array of probabilities, or raise ValueError.

    Checks, in order: numeric, finite, non-negative, positive total, and a total of 1 within
    :data:`NORMALIZATION_TOL` unless ``normalize`` is true. **One rule for every law:** an
    accepted array whose total is not exactly 1.0 is divided by its total, so every function
    (entropies, sampler laws, ``kl``, ``tv``) sees the same normalised law. A C-contiguous
    float64 input whose total is exactly 1.0 is returned without a copy. The memory of the
    copies and temporaries is checked before they are made.
    """
    try:
        arr = np.asarray(values)
    except ValueError as exc:  # ragged nested sequences
        raise ValueError(f"{name} must be a rectangular numeric array: {exc}") from exc
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    copies = 0.0 if (arr.dtype == np.float64 and arr.flags.c_contiguous) else 1.0
    # the conversion, a boolean temporary per check, and the normalised copy
    need = float(arr.size) * (8.0 * copies + 1.0 + 8.0)
    if need > _SMALL_BYTES:  # small tables: not worth reading /proc and the cgroup files
        check_memory(need, f"{name} of {arr.size} entries")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
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
    if not normalize and abs(total - 1.0) > NORMALIZATION_TOL:
        raise ValueError(
            f"{name} sums to {total!r}, not 1 (tolerance {NORMALIZATION_TOL}); "
            "pass normalize=True to rescale"
        )
    if total != 1.0:
        arr = arr / total
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


#: Largest thread count accepted at all (keeps the count a C int; anything above is a mistake).
MAX_THREADS = 4096

#: Address space reserved per OpenMP worker thread when checking RLIMIT_AS: its stack
#: (RLIMIT_STACK, 8 MiB by default, what libgomp uses without OMP_STACKSIZE) plus a margin.
_THREAD_RESERVE_MARGIN = 1 << 20


def available_cores() -> int:
    """Cores this process may run on (the CPU affinity mask; ``os.cpu_count()`` elsewhere)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def resolve_threads(threads: int | None) -> int:
    """Return the number of threads a C++ call will use.

    ``None`` means all cores available to this process. An explicit count must be an int in
    ``1..MAX_THREADS`` (4096); it is then **capped** at the cores available to the process
    (more threads than cores never help, and every result is independent of the count) and at
    the number of thread stacks the address-space limit (``RLIMIT_AS``, ``ulimit -v``) still
    leaves room for. A thread team the OS refuses would otherwise end the process inside
    OpenMP (libgomp calls ``exit``), which no caller can catch.
    """
    if threads is None:
        count = available_cores()
    else:
        if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)):
            raise TypeError(f"threads must be an int or None, got {type(threads).__name__}")
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        if threads > MAX_THREADS:
            raise ValueError(f"threads must be <= {MAX_THREADS}, got {threads}")
        count = min(int(threads), available_cores())
    return max(1, min(count, _threads_address_space_allows()))


def _thread_stack_bytes() -> int:
    """Stack bytes one OpenMP worker reserves (OMP_STACKSIZE, else RLIMIT_STACK, else 8 MiB)."""
    spec = os.environ.get("OMP_STACKSIZE", "").strip().upper()
    if spec:
        units = {"B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
        unit = units.get(spec[-1], None)
        try:
            value = int(spec[:-1]) * unit if unit else int(spec) * 1024
            if value > 0:
                return value
        except ValueError:
            pass
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_STACK)[0]
        if soft != resource.RLIM_INFINITY and soft > 0:
            return int(soft)
    except (ImportError, OSError, ValueError):  # pragma: no cover - non-POSIX
        pass
    return 8 << 20


def _threads_address_space_allows() -> int:
    """How many more thread stacks fit under RLIMIT_AS (a large number when unlimited)."""
    headroom = _address_space_headroom()
    if headroom is None:
        return MAX_THREADS
    per_thread = _thread_stack_bytes() + _THREAD_RESERVE_MARGIN
    # Keep half of the headroom for the computation itself.
    return max(1, int(headroom // 2 // per_thread))


def _address_space_headroom() -> int | None:
    """Bytes of address space left under RLIMIT_AS, or None when there is no such limit."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    except (ImportError, OSError, ValueError):  # pragma: no cover - non-POSIX
        return None
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return None
    used = _vm_size_bytes()
    return max(0, int(soft) - used)


def _vm_size_bytes() -> int:
    """The process's current address-space size (VmSize), 0 when unknown."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):  # pragma: no cover - non-Linux
        pass
    return 0


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
    """Best estimate of the memory this process may still allocate, in bytes.

    The smallest of: ``MemAvailable`` (``/proc/meminfo``), the room left under the address-space
    limit (``RLIMIT_AS``, ``ulimit -v``), and the room left under the cgroup memory limit
    (cgroup v2 ``memory.max`` minus ``memory.current``, or cgroup v1
    ``memory.limit_in_bytes`` minus ``memory.usage_in_bytes``).
    """
    candidates = [_mem_available()]
    headroom = _address_space_headroom()
    if headroom is not None:
        candidates.append(headroom)
    cgroup = _cgroup_headroom()
    if cgroup is not None:
        candidates.append(cgroup)
    return max(0, min(candidates))


def _mem_available() -> int:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):  # pragma: no cover - non-Linux
        pass
    try:  # pragma: no cover - non-Linux fallback
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 8 * 1024**3


#: Where the memory controller of this process's cgroup is mounted (tests point it elsewhere).
CGROUP_ROOT = "/sys/fs/cgroup"


def _read_int(path: str) -> int | None:
    try:
        with open(path) as fh:
            text = fh.read().strip()
    except OSError:
        return None
    if not text or text == "max":
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _cgroup_paths() -> list[tuple[str, str]]:
    """(version, relative path) of this process's cgroups from /proc/self/cgroup."""
    out: list[tuple[str, str]] = []
    try:
        with open("/proc/self/cgroup") as fh:
            for line in fh:
                parts = line.rstrip("\n").split(":", 2)
                if len(parts) != 3:
                    continue
                _, controllers, path = parts
                if controllers == "":
                    out.append(("v2", path))
                elif "memory" in controllers.split(","):
                    out.append(("v1", path))
    except OSError:
        pass
    return out


def _cgroup_headroom() -> int | None:
    """Bytes left under the tightest cgroup memory limit on the way to the root, or None."""
    best: int | None = None
    # v1 limits above ~2^62 mean "unlimited" (the kernel reports PAGE_COUNTER_MAX pages).
    unlimited = 1 << 62
    for version, rel in _cgroup_paths() or [("v2", "/")]:
        if version == "v2":
            limit_name, usage_name, root = "memory.max", "memory.current", CGROUP_ROOT
        else:
            limit_name, usage_name = "memory.limit_in_bytes", "memory.usage_in_bytes"
            root = os.path.join(CGROUP_ROOT, "memory")
        rel = rel.strip("/")
        # Inside a container the cgroup namespace makes the own group the mount root: look at
        # the full path and, walking up, every ancestor that exists (the tightest one wins).
        parts = rel.split("/") if rel else []
        seen = set()
        for depth in range(len(parts), -1, -1):
            directory = os.path.join(root, *parts[:depth])
            if directory in seen:
                continue
            seen.add(directory)
            limit = _read_int(os.path.join(directory, limit_name))
            if limit is None or limit >= unlimited:
                continue
            usage = _read_int(os.path.join(directory, usage_name)) or 0
            room = max(0, limit - usage)
            best = room if best is None else min(best, room)
    return best


def check_memory(need_bytes: float, what: str) -> None:
    """Raise MemoryError naming ``what`` when ``need_bytes`` exceeds the available memory.

    Call it *before* allocating. The limit is :func:`available_memory_bytes` (physical memory,
    ``ulimit -v`` and cgroup limits, whichever is tightest).
    """
    limit = available_memory_bytes()
    if not need_bytes <= limit:  # also refuses NaN / inf estimates
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
