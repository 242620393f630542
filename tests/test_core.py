"""Low-level behaviour of the compiled core (unmask._core)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from unmask import _core


def test_build_information() -> None:
    assert isinstance(_core.have_openmp(), bool)
    assert _core.max_threads() >= 1
    assert _core.plogp_kernel() == _core.plogp_kernels()[0]
    assert "scalar" in _core.plogp_kernels()


KERNELS = _core.plogp_kernels()


@pytest.mark.parametrize("kernel", KERNELS)
def test_vector_log_matches_numpy_to_a_few_ulps(kernel: str) -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [
            np.exp(rng.uniform(-700, 700, 100_000)),
            rng.uniform(0.5, 2.0, 100_000),
            1.0 + rng.uniform(-1e-9, 1e-9, 1000),
            [np.finfo(float).tiny, np.finfo(float).max, 1.0, 2.0, 0.5, math.sqrt(2)],
        ]
    )
    got = _core.log_array(x, kernel)
    want = np.log(x)
    err = np.abs(got - want)
    assert np.all(err <= 4 * np.spacing(np.maximum(np.abs(want), np.finfo(float).tiny)) + 1e-300)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("length", [0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 100, 4099])
def test_plogp_sum_handles_zeros_tiny_values_and_tails(length: int, kernel: str) -> None:
    rng = np.random.default_rng(length)
    x = rng.random(length)
    x[rng.random(length) < 0.3] = 0.0
    if length > 2:
        x[1] = 1e-310  # subnormal: contributes ~ -7e-308, below any tolerance here
    mask = x > 0
    want = math.fsum((x[mask] * np.log(x[mask])).tolist())
    got = _core.plogp_sum(x, kernel)
    assert math.isfinite(got)
    assert abs(got - want) <= 1e-14 * max(1.0, abs(want))


def test_unknown_kernel_is_refused() -> None:
    with pytest.raises(ValueError, match="not available"):
        _core.plogp_sum(np.ones(3), "sse9")


def test_level_sums_and_argument_checks() -> None:
    vals = np.arange(16, dtype=float)
    sums = _core.level_sums(vals, 4)
    pop = np.array([bin(a).count("1") for a in range(16)])
    np.testing.assert_array_equal(sums, [vals[pop == k].sum() for k in range(5)])
    with pytest.raises(ValueError, match="expected 16"):
        _core.level_sums(np.zeros(15), 4)
    out = np.empty(8)
    with pytest.raises(ValueError, match="joint has 4 entries, expected 8"):
        _core.subset_entropies(np.full(4, 0.25), 3, 2, out, 1)
    with pytest.raises(ValueError, match="out has 8 entries, expected 4"):
        _core.subset_entropies(np.full(4, 0.25), 2, 2, out, 1)


def test_ctrl_c_interrupts_a_long_walk() -> None:
    import _thread
    import threading

    import unmask

    joint = unmask.joints.random(22, 2, seed=0)  # a walk of several seconds
    timer = threading.Timer(0.2, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            unmask.subset_entropies(joint)
    finally:
        timer.cancel()


@pytest.mark.parametrize("kernel", [k for k in KERNELS if k != KERNELS[0]])
def test_fallback_kernels_give_the_same_entropies(kernel: str) -> None:
    """UNMASK_KERNEL caps the dispatch: the slower paths must agree with the oracle too."""
    import json
    import os
    import subprocess
    import sys

    code = (
        "import json, unmask\n"
        "from unmask import _core\n"
        "out = {'kernel': _core.plogp_kernel()}\n"
        "for n, q in [(11, 2), (6, 3), (14, 2)]:\n"
        "    law = unmask.joints.random(n, q, concentration=0.3, seed=n)\n"
        "    out[f'{n},{q}'] = unmask.subset_entropies(law, threads=2).tolist()\n"
        "print(json.dumps(out))\n"
    )
    env = {**os.environ, "UNMASK_KERNEL": kernel}
    res = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    got = json.loads(res.stdout)
    assert got["kernel"] == kernel
    from oracle_entropy import subset_entropies as oracle

    import unmask

    for n, q in [(11, 2), (6, 3)]:
        law = unmask.joints.random(n, q, concentration=0.3, seed=n)
        want = oracle(law.probs)
        err = np.abs(np.array(got[f"{n},{q}"]) - want)
        assert np.all(err <= 1e-12 * np.maximum(1.0, np.abs(want)))
    # n = 14 takes the threaded path; compare with the default kernel (oracle-checked above)
    want = unmask.subset_entropies(unmask.joints.random(14, 2, concentration=0.3, seed=14))
    np.testing.assert_allclose(got["14,2"], want, rtol=1e-12, atol=1e-12)
