"""Compute backends: the C++/OpenMP core and the optional CUDA backend.

The CUDA backend is a separate extension, ``unmask._cuda``, built when a CUDA compiler is found
at install time (CMake option ``UNMASK_CUDA``: AUTO, ON or OFF). It links the CUDA runtime
statically, so the same install imports on machines without a GPU; :func:`backends` says what
was compiled and which devices are usable. Functions that accept ``backend=`` take

* ``"cpu"``: the C++/OpenMP core;
* ``"cuda"``: the CUDA backend, or a ``RuntimeError`` saying why it cannot run here;
* ``"auto"`` (default): CUDA when it is compiled, a device is present, the problem is large
  enough to gain from it and fits the device's free memory; the CPU otherwise.

Results agree with the CPU engine within 1e-12 relative, and the CUDA reductions run in a fixed
order, so the same input gives the same bits (theory section 8).
"""

from __future__ import annotations

import functools
from types import ModuleType
from typing import Any

from unmask._core_loader import core

__all__ = ["BACKENDS", "backends", "resolve_backend"]

BACKENDS = ("auto", "cpu", "cuda")

#: Smallest lattice (entries (q+1)^n) for which "auto" sends subset entropies to a GPU: below
#: it the CPU finishes in well under a tenth of a second and the device's start-up dominates.
AUTO_CUDA_MIN_LATTICE = 3**17


@functools.lru_cache(maxsize=1)
def _cuda_module() -> ModuleType | None:
    try:
        from unmask import _cuda  # type: ignore[attr-defined]
    except ImportError:
        return None
    return _cuda  # type: ignore[no-any-return]


def backends() -> dict[str, dict[str, Any]]:
    """What this install can compute with.

    Returns
    -------
    dict
        ``{"cpu": {...}, "cuda": {...}}``. ``cpu`` gives ``openmp``, ``threads`` and the
        vector ``kernel`` of the logarithm; ``cuda`` gives ``compiled`` (the backend was built),
        ``available`` (compiled and at least one device usable), ``runtime_version``,
        ``devices`` (index, name, total and free memory, compute capability) and ``reason``
        (why it is not available, "" when it is).

    Examples
    --------
    >>> import unmask
    >>> info = unmask.backends()
    >>> info["cpu"]["available"]
    True
    >>> sorted(info["cuda"])
    ['available', 'compiled', 'devices', 'reason', 'runtime_version']
    """
    cpu = {
        "available": True,
        "openmp": bool(core.have_openmp()),
        "threads": int(core.max_threads()),
        "kernel": str(core.plogp_kernel()),
    }
    mod = _cuda_module()
    if mod is None:
        cuda: dict[str, Any] = {
            "compiled": False,
            "available": False,
            "runtime_version": None,
            "devices": [],
            "reason": "the CUDA backend was not built (no CUDA compiler at install time, or "
            "UNMASK_CUDA=OFF); reinstall with nvcc on PATH to build it",
        }
    else:
        devices = list(mod.devices())
        reason = "" if devices else (mod.device_error() or "no CUDA device is present")
        cuda = {
            "compiled": True,
            "available": bool(devices),
            "runtime_version": int(mod.runtime_version()),
            "devices": devices,
            "reason": reason,
        }
    return {"cpu": cpu, "cuda": cuda}


def resolve_backend(backend: Any, *, lattice_entries: float, device_bytes: float) -> str:
    """Turn a ``backend=`` argument into ``"cpu"`` or ``"cuda"`` for one computation.

    ``lattice_entries`` sizes the work (for "auto"); ``device_bytes`` is the device memory the
    CUDA path would allocate, checked against the first device's free memory *before* any
    allocation.
    """
    if not isinstance(backend, str) or backend not in BACKENDS:
        choices = ", ".join(map(repr, BACKENDS))
        raise ValueError(f"backend must be one of {choices}, got {backend!r}")
    if backend == "cpu":
        return "cpu"
    info = backends()["cuda"]
    if backend == "auto":
        if not info["available"] or lattice_entries < AUTO_CUDA_MIN_LATTICE:
            return "cpu"
        free = int(info["devices"][0]["free_memory"])
        return "cuda" if device_bytes <= 0.9 * free else "cpu"
    if not info["available"]:
        raise RuntimeError(f"backend='cuda' cannot run here: {info['reason']}")
    free = int(info["devices"][0]["free_memory"])
    if device_bytes > 0.9 * free:
        from unmask._validation import format_bytes

        raise MemoryError(
            f"the CUDA backend needs about {format_bytes(device_bytes)} of device memory but "
            f"device 0 ({info['devices'][0]['name']}) has {format_bytes(free)} free"
        )
    return "cuda"


def cuda_module() -> ModuleType:
    """The compiled CUDA module (only after :func:`resolve_backend` returned ``"cuda"``)."""
    mod = _cuda_module()
    if mod is None:  # pragma: no cover - resolve_backend refuses first
        raise RuntimeError("the CUDA backend was not built")
    return mod
