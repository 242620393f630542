"""Import of the compiled core with a helpful error (private)."""

from __future__ import annotations

try:
    from unmask import _core as core
except ImportError as exc:  # pragma: no cover - only without a build
    raise ImportError(
        "unmask's compiled core (unmask._core) is missing or broken. Install the package with "
        "`pip install .` (or `pip install -e . --no-build-isolation` for development) from the "
        "repository root; a C++17 compiler and CMake >= 3.18 are needed. "
        f"Original error: {exc}"
    ) from exc

__all__ = ["core"]
