"""Compute backends: what was built, how backend= is resolved, and the CUDA engine vs the CPU.

The tests marked ``cuda`` need a GPU: they compare the CUDA lattice walk with the CPU engine
(and with the numpy oracle) and check that it is deterministic. Where no device is present
they are skipped with the runtime's own reason; bench/device_check.sh runs them on a GPU
machine.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from oracle_entropy import subset_entropies as subset_entropies_bruteforce

import unmask
from unmask import _backends

INFO = unmask.backends()
HAVE_GPU = bool(INFO["cuda"]["available"])
needs_gpu = pytest.mark.skipif(
    not HAVE_GPU, reason=f"no usable CUDA device: {INFO['cuda']['reason']}"
)


def test_backends_reports_cpu_and_cuda() -> None:
    info = unmask.backends()
    assert info["cpu"]["available"] is True
    assert info["cpu"]["threads"] >= 1
    assert set(info["cuda"]) == {"available", "compiled", "devices", "reason", "runtime_version"}
    if info["cuda"]["available"]:
        assert info["cuda"]["compiled"] and info["cuda"]["devices"] and info["cuda"]["reason"] == ""
    else:
        assert info["cuda"]["devices"] == [] and info["cuda"]["reason"]


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="no CUDA compiler on PATH at test time")
def test_cuda_backend_is_built_where_a_cuda_compiler_exists() -> None:
    # The install (UNMASK_CUDA=AUTO) builds the CUDA module whenever nvcc is found: on a
    # machine with nvcc a missing module means the build silently skipped it.
    assert unmask.backends()["cuda"]["compiled"], unmask.backends()["cuda"]["reason"]


@pytest.mark.parametrize("bad", ["gpu", "CPU", None, 1])
def test_unknown_backend_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="backend must be one of"):
        unmask.subset_entropies(unmask.joints.random(4, 2, seed=0), backend=bad)  # type: ignore[arg-type]


def test_auto_and_cpu_agree_bitwise_on_small_laws() -> None:
    law = unmask.joints.random(9, 3, seed=4)
    auto = unmask.subset_entropies(law)
    cpu = unmask.subset_entropies(law, backend="cpu")
    assert np.array_equal(auto, cpu)  # small laws stay on the CPU under "auto"
    assert np.array_equal(unmask.profile(law).h, unmask.profile(law, backend="cpu").h)


@pytest.mark.skipif(HAVE_GPU, reason="a CUDA device is present: the refusal path cannot be seen")
def test_cuda_without_a_device_says_why() -> None:
    with pytest.raises(RuntimeError, match="backend='cuda' cannot run here"):
        unmask.subset_entropies(unmask.joints.random(5, 2, seed=0), backend="cuda")


def test_cuda_memory_is_refused_before_allocation(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_device = {"index": 0, "name": "fake", "total_memory": 1 << 20, "free_memory": 1 << 20,
                   "compute_capability": (9, 0)}
    fake = {"compiled": True, "available": True, "runtime_version": 13000,
            "devices": [fake_device], "reason": ""}
    monkeypatch.setattr(_backends, "backends", lambda: {"cpu": {}, "cuda": fake})
    with pytest.raises(MemoryError, match="device memory"):
        _backends.resolve_backend("cuda", lattice_entries=1e12, device_bytes=8e9)
    # "auto" falls back to the CPU rather than failing when the device is too small.
    assert _backends.resolve_backend("auto", lattice_entries=1e12, device_bytes=8e9) == "cpu"
    assert _backends.resolve_backend("auto", lattice_entries=1e12, device_bytes=1e3) == "cuda"
    assert _backends.resolve_backend("auto", lattice_entries=10.0, device_bytes=1e3) == "cpu"


@pytest.mark.cuda
@needs_gpu
@pytest.mark.parametrize(("n", "q"), [(1, 2), (3, 2), (8, 2), (12, 2), (14, 2), (18, 2), (6, 3),
                                      (9, 3), (5, 4), (4, 7), (2, 50)])
def test_cuda_subset_entropies_match_the_cpu_engine(n: int, q: int) -> None:
    law = unmask.joints.random(n, q, seed=n * 31 + q)
    gpu = unmask.subset_entropies(law, backend="cuda")
    cpu = unmask.subset_entropies(law, backend="cpu")
    np.testing.assert_allclose(gpu, cpu, rtol=1e-12, atol=1e-13)
    if q**n <= 4096:
        oracle = subset_entropies_bruteforce(law.probs)
        np.testing.assert_allclose(gpu, oracle, rtol=1e-12, atol=1e-13)


@pytest.mark.cuda
@needs_gpu
def test_cuda_results_are_deterministic_and_exact_on_closed_forms() -> None:
    law = unmask.joints.random(16, 2, seed=7)
    first = unmask.subset_entropies(law, backend="cuda")
    second = unmask.subset_entropies(law, backend="cuda")
    assert np.array_equal(first, second)
    parity = unmask.subset_entropies(unmask.joints.parity(15), backend="cuda", base=2)
    sizes = np.array([bin(a).count("1") for a in range(1 << 15)])
    expected = np.where(sizes == 15, 14.0, sizes.astype(float))
    np.testing.assert_allclose(parity, expected, rtol=1e-12, atol=1e-12)
