"""Memory checks honour every limit: MemAvailable, RLIMIT_AS (ulimit -v) and cgroup v1/v2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import unmask._validation as validation


def _fake_cgroup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str, limit: str, usage: str
) -> None:
    monkeypatch.setattr(validation, "CGROUP_ROOT", str(tmp_path))
    monkeypatch.setattr(validation, "_cgroup_paths", lambda: [(version, "/job/step")])
    if version == "v2":
        group = tmp_path / "job" / "step"
        names = ("memory.max", "memory.current")
        (tmp_path / "job").mkdir()
        (tmp_path / "job" / "memory.max").write_text("max\n")
    else:
        group = tmp_path / "memory" / "job" / "step"
        names = ("memory.limit_in_bytes", "memory.usage_in_bytes")
    group.mkdir(parents=True)
    (group / names[0]).write_text(limit + "\n")
    (group / names[1]).write_text(usage + "\n")


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_cgroup_limit_bounds_the_available_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str
) -> None:
    _fake_cgroup(tmp_path, monkeypatch, version, str(300 * 2**20), str(100 * 2**20))
    assert validation._cgroup_headroom() == 200 * 2**20
    assert validation.available_memory_bytes() <= 200 * 2**20
    with pytest.raises(MemoryError, match=r"needs about 256.0 MiB but only 200.0 MiB"):
        validation.check_memory(256 * 2**20, "a table")
    validation.check_memory(150 * 2**20, "a table")


def test_unlimited_cgroup_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_cgroup(tmp_path, monkeypatch, "v2", "max", "12345")
    assert validation._cgroup_headroom() is None
    _fake_cgroup(tmp_path / "b", monkeypatch, "v1", str(2**63 - 4096), "12345")
    assert validation._cgroup_headroom() is None


def test_an_address_space_limit_is_honoured() -> None:
    # only MemAvailable was read: under ulimit -v the work started and died later
    script = (
        "import resource\n"
        "import unmask\n"
        "from unmask._validation import available_memory_bytes\n"
        "lim = 2 * 1024**3\n"
        "resource.setrlimit(resource.RLIMIT_AS, (lim, lim))\n"
        "assert available_memory_bytes() < lim\n"
        "try:\n"
        "    unmask.joints.random(29, 2, seed=0)\n"
        "except MemoryError as exc:\n"
        "    print('refused:', exc)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr
    assert "refused:" in run.stdout and "needs about" in run.stdout  # ours, not numpy's


def test_nan_estimates_are_refused() -> None:
    with pytest.raises(MemoryError):
        validation.check_memory(float("nan"), "an estimate")
