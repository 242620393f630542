"""Sharded Monte Carlo estimation: exact mergeable state, executors (threads, processes, Dask,
torch.distributed), failures, and the lattice walk split into sub-lattices."""

from __future__ import annotations

import logging
import math
import multiprocessing as mp
import os
import pickle
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import distributed  # the test extra installs it: a missing dask fails, never skips
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import unmask
from unmask import joints
from unmask.profiles.blocks import block_profiles_from_state, estimate_block_state
from unmask.profiles.estimate import estimate_state
from unmask.profiles.estimate_state import EstimateState, ShardResult, exact_sums
from unmask.profiles.lattice_shards import profile_sharded, subset_entropies_sharded
from unmask.profiles.sharding import ExecutorError, ShardError, plan_shards
from unmask.testing import joints as joint_strategy

LAW = joints.random(5, 3, concentration=0.7, seed=4)
DATA = LAW.sample(400, seed=1)
KW = {"samples_per_level": 40, "shard_size": 48, "batch_size": 32, "seed": 2024}


class JointModel:
    """Exact conditionals p(x_j | x_A) of a dense law (picklable: numpy only)."""

    def __init__(self, probs: np.ndarray) -> None:
        self.probs = np.asarray(probs)

    def __call__(self, values, mask):  # type: ignore[no-untyped-def]
        p = self.probs
        q, n = p.shape[0], p.ndim
        out = np.empty((*values.shape, q))
        for b in range(values.shape[0]):
            known = ~mask[b]
            idx = tuple(values[b, j] if known[j] else slice(None) for j in range(n))
            sub = p[idx]  # axes: the masked positions, ascending
            free = np.flatnonzero(mask[b])
            for a, j in enumerate(free):
                marg = sub.sum(axis=tuple(t for t in range(len(free)) if t != a))
                out[b, j] = marg / marg.sum()
            out[b, known] = 1.0 / q
        return out


class FailingModel(JointModel):
    """Raises on rows at one level (the shard that holds it fails)."""

    def __init__(self, probs: np.ndarray, bad_level: int) -> None:
        super().__init__(probs)
        self.bad_level = bad_level

    def __call__(self, values, mask):  # type: ignore[no-untyped-def]
        unmasked = (~mask).sum(axis=1)
        if np.any(unmasked == self.bad_level):
            raise ArithmeticError(f"model cannot score level {self.bad_level}")
        return super().__call__(values, mask)


class KillOnce(JointModel):
    """Kills the process it runs in the first time it is called anywhere (a marker file)."""

    def __init__(self, probs: np.ndarray, marker: str) -> None:
        super().__init__(probs)
        self.marker = marker

    def __call__(self, values, mask):  # type: ignore[no-untyped-def]
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            return super().__call__(values, mask)
        os.close(fd)
        os._exit(1)  # the worker dies mid-shard


class SlowModel(JointModel):
    def __call__(self, values, mask):  # type: ignore[no-untyped-def]
        threading.Event().wait(0.3)
        return super().__call__(values, mask)


MODEL = JointModel(LAW.probs)


@pytest.fixture(scope="module")
def serial():  # type: ignore[no-untyped-def]
    return unmask.estimate_profile(MODEL, DATA, 5, **KW)


@pytest.fixture(scope="module")
def client():  # type: ignore[no-untyped-def]
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.CRITICAL,
    )
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def _same(a, b) -> None:  # type: ignore[no-untyped-def]
    for name in ("h", "stderr", "lower", "upper"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.estimate == b.estimate


# -- the state ------------------------------------------------------------------------------
finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@given(
    values=st.lists(st.lists(finite, min_size=0, max_size=8), min_size=1, max_size=6),
    order=st.randoms(use_true_random=False),
)
@example(values=[[1e6, 1.0, -1e6, 1e-300]], order=__import__("random").Random(0))
def test_state_merge_is_exact_in_any_order(values, order) -> None:  # type: ignore[no-untyped-def]
    parts = [ShardResult.from_values(k, [0], [np.array(v)]) for k, v in enumerate(values)]
    order.shuffle(parts)
    state = EstimateState([0])
    for p in parts:
        state = state.merge(EstimateState([0], [p]))
    flat = [x for v in values for x in v]
    assert state.counts.tolist() == [len(flat)]
    if flat:  # oracle: rational arithmetic on the same values
        mean = sum(Fraction(x) for x in flat) / len(flat)
        assert state.means()[0] == float(mean)
    if len(flat) >= 2:
        var = sum((Fraction(x) - mean) ** 2 for x in flat) / (len(flat) - 1)
        assert state.variances()[0] == float(var)
    s1, s2 = exact_sums(flat)
    assert Fraction(s1, 2**1074) == sum(Fraction(x) for x in flat)
    assert Fraction(s2, 2**2148) == sum(Fraction(x) ** 2 for x in flat)


def test_state_refuses_bad_merges() -> None:
    a = ShardResult.from_values(0, [0], [np.ones(3)])
    with pytest.raises(ValueError, match="shard 0 is merged twice"):
        EstimateState([0], [a]).merge(EstimateState([0], [a]))
    with pytest.raises(ValueError, match="different cells"):
        EstimateState([0], [a]).merge(EstimateState([1], []))
    with pytest.raises(TypeError, match="EstimateState"):
        EstimateState([0]).merge(3)  # type: ignore[arg-type]


def test_plan_packs_rows_and_streams_depend_on_plan_only(serial) -> None:  # type: ignore[no-untyped-def]
    specs = plan_shards([40] * 5, 48)
    assert [s.rows for s in specs] == [48, 48, 48, 48, 8]
    assert serial.estimate.shards == tuple(range(5)) and serial.estimate.complete
    # the estimate is consistent with the exact profile (an independent algorithm)
    exact = unmask.profile(LAW).h
    assert np.all(np.abs(serial.h - exact) <= 5 * serial.stderr + 1e-9)
    # a generator seed is consumed like any other randomness: same state, same result
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    a = unmask.estimate_profile(MODEL, DATA, 5, **{**KW, "seed": g1})
    b = unmask.estimate_profile(MODEL, DATA, 5, **{**KW, "seed": g2})
    _same(a, b)
    # another plan draws other streams
    other = unmask.estimate_profile(MODEL, DATA, 5, **{**KW, "shard_size": 40})
    assert not np.array_equal(other.estimate.means(), serial.estimate.means())


def test_split_halves_from_shards(serial) -> None:  # type: ignore[no-untyped-def]
    st_ = serial.estimate
    even = st_.restrict(st_.shards[::2])
    odd = st_.restrict(st_.shards[1::2])
    merged = even + odd
    np.testing.assert_array_equal(merged.means(), st_.means())
    assert (even.counts + odd.counts).tolist() == st_.counts.tolist()
    vals = st_.values(2)
    assert vals.size == 40 and float(np.mean(vals)) == pytest.approx(st_.means()[2], rel=1e-12)


# -- executors ------------------------------------------------------------------------------
def test_threads_and_processes_equal_serial_bitwise(serial) -> None:  # type: ignore[no-untyped-def]
    with ThreadPoolExecutor(3) as ex:
        _same(unmask.estimate_profile(MODEL, DATA, 5, executor=ex, **KW), serial)
    with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as ex:
        _same(unmask.estimate_profile(MODEL, DATA, 5, executor=ex, **KW), serial)


def test_dask_equals_serial_bitwise(client, serial) -> None:  # type: ignore[no-untyped-def]
    seen: list[tuple[int, int]] = []
    est = unmask.estimate_profile(
        MODEL, DATA, 5, executor=client, progress=lambda d, t: seen.append((d, t)), **KW
    )
    _same(est, serial)
    assert seen[0] == (0, 200) and seen[-1] == (200, 200)
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))


def test_dask_worker_killed_mid_run_loses_nothing(client, serial, tmp_path) -> None:  # type: ignore[no-untyped-def]
    marker = tmp_path / "killed"
    model = KillOnce(LAW.probs, str(marker))
    est = unmask.estimate_profile(model, DATA, 5, executor=client, timeout=120, **KW)
    assert marker.exists()  # a worker did die
    _same(est, serial)


@pytest.mark.parametrize("where", ["threads", "dask"])
def test_model_error_surfaces_with_its_shard(where, client) -> None:  # type: ignore[no-untyped-def]
    model = FailingModel(LAW.probs, bad_level=3)
    # level 3 is the 4th cell: rows 120..159, i.e. shards 2 (120..143) and 3 (144..159)
    run = lambda ex: unmask.estimate_profile(model, DATA, 5, executor=ex, **KW)  # noqa: E731
    if where == "threads":
        with ThreadPoolExecutor(2) as ex, pytest.raises(ShardError) as info:
            run(ex)
    else:
        with pytest.raises(ShardError) as info:
            run(client)
    assert info.value.shard in (2, 3)
    assert f"shard {info.value.shard} of 5" in str(info.value)
    assert "cannot score level 3" in str(info.value)
    assert isinstance(info.value.__cause__, ArithmeticError)
    # without an executor the model's own exception propagates unchanged
    with pytest.raises(ArithmeticError, match="cannot score level 3"):
        unmask.estimate_profile(model, DATA, 5, **KW)


def test_cluster_gone_is_a_clear_error() -> None:
    cluster = distributed.LocalCluster(
        n_workers=1, processes=False, threads_per_worker=1, dashboard_address=":0",
        silence_logs=logging.CRITICAL,
    )
    c = distributed.Client(cluster)
    try:
        # the scheduler goes away while shards are running: an error, not a hang
        threading.Timer(0.5, cluster.close).start()
        with pytest.raises(ExecutorError):
            unmask.estimate_profile(
                SlowModel(LAW.probs), DATA, 5, executor=c, timeout=20, **KW
            )
    finally:
        c.close()
        cluster.close()
    # a client that is closed is refused before anything is sent
    with pytest.raises(ExecutorError, match="not connected"):
        unmask.estimate_profile(MODEL, DATA, 5, executor=c, **KW)


def test_broken_process_pool_is_an_executor_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ex = ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"))
    try:
        with pytest.raises(ExecutorError, match="lost shard"):
            unmask.estimate_profile(
                KillOnce(LAW.probs, str(tmp_path / "killed")),
                DATA, 5, executor=ex, **KW,
            )
    finally:
        ex.shutdown(cancel_futures=True)


@pytest.mark.parametrize("bad", ["local", object(), ThreadPoolExecutor, 3])
def test_not_an_executor_is_a_type_error(bad) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match="executor must be None"):
        unmask.estimate_profile(MODEL, DATA, 5, executor=bad, **KW)


def test_interrupt_cancels_pending_shards() -> None:
    calls: list[int] = []

    class Counting(JointModel):
        def __call__(self, values, mask):  # type: ignore[no-untyped-def]
            calls.append(1)
            return super().__call__(values, mask)

    def stop(done: int, total: int) -> None:
        if done > 0:
            raise KeyboardInterrupt

    with ThreadPoolExecutor(1) as ex, pytest.raises(KeyboardInterrupt):
        estimate_state(
            Counting(LAW.probs), DATA, 5, executor=ex, progress=stop,
            **{**KW, "shard_size": 32},
        )
    # 7 shards of one model call each; the interrupt came after the first finished
    assert len(calls) < 7


# -- torch.distributed ----------------------------------------------------------------------
def _rank_main(rank: int, world: int, store: str, out: str) -> None:
    import torch.distributed as dist

    from unmask.integrations.torch_distributed import estimate_profile_distributed

    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        est = estimate_profile_distributed(MODEL, DATA, 5, **KW)
        Path(f"{out}.{rank}").write_bytes(
            pickle.dumps((est.h, est.stderr, est.estimate, len(est.estimate.shards)))
        )
    finally:
        dist.destroy_process_group()


def test_torch_distributed_gloo_equals_serial(serial, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import torch.multiprocessing as tmp

    out = str(tmp_path / "rank")
    tmp.spawn(_rank_main, args=(2, str(tmp_path / "store"), out), nprocs=2, join=True)
    for rank in range(2):
        h, se, state, nshards = pickle.loads(Path(f"{out}.{rank}").read_bytes())
        np.testing.assert_array_equal(h, serial.h)
        np.testing.assert_array_equal(se, serial.stderr)
        assert state == serial.estimate and nshards == 5


# -- exact engines at the edge --------------------------------------------------------------
@given(jt=joint_strategy(min_n=2, max_n=7, max_q=3), data=st.data())
def test_sub_lattices_equal_local_engine_bitwise(jt, data) -> None:  # type: ignore[no-untyped-def]
    split = data.draw(st.integers(1, jt.n - 1))
    threads = data.draw(st.sampled_from([1, 2]))
    np.testing.assert_array_equal(
        subset_entropies_sharded(jt, split=split, threads=threads, base=2),
        unmask.subset_entropies(jt, base=2),
    )


def test_sub_lattices_on_executors(client) -> None:  # type: ignore[no-untyped-def]
    law = joints.random(12, 2, concentration=0.5, seed=3)
    local = unmask.subset_entropies(law)
    on_dask = subset_entropies_sharded(law, executor=client, split=3)
    np.testing.assert_array_equal(on_dask, local)
    with ThreadPoolExecutor(2) as ex:
        np.testing.assert_array_equal(profile_sharded(law, executor=ex, split=2).h,
                                      unmask.profile(law).h)
    # independent oracle for a few subsets: plain numpy marginals
    p = law.probs
    for mask in (0b1, 0b101, 0b111000111000, (1 << 12) - 1):
        keep = [j for j in range(12) if mask >> j & 1]
        marg = p.sum(axis=tuple(j for j in range(12) if j not in keep)).ravel()
        marg = marg[marg > 0]
        assert math.isclose(local[mask], float(-(marg * np.log(marg)).sum()), rel_tol=1e-12)


def test_sub_lattice_argument_errors() -> None:
    with pytest.raises(ValueError, match=r"split must be an integer in 1\.\.n-1"):
        subset_entropies_sharded(joints.random(4, 2, seed=0), split=4)
    with pytest.raises(ValueError, match="needs 2 <= n"):
        subset_entropies_sharded(np.array([0.5, 0.5]))
    with pytest.raises(TypeError, match="executor must be None"):
        subset_entropies_sharded(joints.random(4, 2, seed=0), executor="dask")


# -- verify --sweep -------------------------------------------------------------------------
def test_verify_sweep_same_on_every_executor(client) -> None:  # type: ignore[no-untyped-def]
    from unmask.verification_sweep import verify_sweep

    kw = {"seed": 7, "n_range": (3, 5), "q_range": (2, 3), "ks": (2, 3)}
    local = verify_sweep(5, laws_per_task=2, **kw)
    on_dask = verify_sweep(5, executor=client, laws_per_task=2, **kw)
    assert local.ok and on_dask.ok
    assert local.worst == on_dask.worst
    assert [c.to_dict() for c in local.checks] == [c.to_dict() for c in on_dask.checks]
    assert {c.law.split(" ")[0] for c in local.checks} == {f"sweep-{k}" for k in range(5)}
    # every rigorous bound holds: bound / exact >= 1 on every case
    assert all(ratio >= 1.0 for ratio, *_ in local.worst.values())


def test_verify_sweep_command_line() -> None:
    from click.testing import CliRunner

    from unmask.cli import main

    res = CliRunner().invoke(main, ["verify", "--sweep", "3", "--executor", "threads:2",
                                    "--json", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert '"laws":3' in res.output and '"ok":true' in res.output
    bad = CliRunner().invoke(main, ["verify", "--sweep", "3", "--executor", "threads:x"])
    assert bad.exit_code == 2 and "threads:N" in bad.output


def test_profile_from_partial_state(serial) -> None:  # type: ignore[no-untyped-def]
    from unmask.profiles.estimate import profile_from_state

    st_ = serial.estimate
    # shard 4 holds only level 4's last 8 sequences: without it level 4 still has 32 values
    part = st_.restrict([0, 1, 2, 3])
    assert not part.complete and part.counts.tolist() == [40, 40, 40, 40, 32]
    prof = profile_from_state(part, 5, monotone=False)
    np.testing.assert_array_equal(prof.h[:4], np.maximum(st_.means()[:4], 0.0))
    with pytest.raises(ValueError, match="level i = 3 has 0 < 2 values"):
        profile_from_state(st_.restrict([0, 1]), 5)
    with pytest.raises(ValueError, match=r"shards \[9\] are not in this state"):
        st_.restrict([9])
    with pytest.raises(ValueError, match=r"levels in 0\.\.3"):
        profile_from_state(st_, 4)


# -- block profiles on the same machinery ---------------------------------------------------------
class RecordingModel(JointModel):
    """Exact conditionals that also record every mask it is shown (serial runs only)."""

    def __init__(self, probs: np.ndarray) -> None:
        super().__init__(probs)
        self.masks: list[np.ndarray] = []

    def __call__(self, values, mask):  # type: ignore[no-untyped-def]
        self.masks.append(np.array(mask))
        return super().__call__(values, mask)


@pytest.fixture(scope="module")
def serial_blocks():  # type: ignore[no-untyped-def]
    return unmask.estimate_block_profiles(MODEL, DATA, 5, 3, **KW)


def _same_blocks(a, b) -> None:  # type: ignore[no-untyped-def]
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        _same(x, y)
        for hx, hy in zip(x.evidence.halves, y.evidence.halves, strict=True):
            np.testing.assert_array_equal(hx.y, hy.y)
            np.testing.assert_array_equal(hx.se, hy.se)


def test_block_estimates_equal_serial_on_threads_processes_and_dask(  # type: ignore[no-untyped-def]
    serial_blocks, client
) -> None:
    with ThreadPoolExecutor(3) as ex:
        _same_blocks(unmask.estimate_block_profiles(MODEL, DATA, 5, 3, executor=ex, **KW),
                     serial_blocks)
    with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as ex:
        _same_blocks(unmask.estimate_block_profiles(MODEL, DATA, 5, 3, executor=ex, **KW),
                     serial_blocks)
    seen: list[tuple[int, int]] = []
    est = unmask.estimate_block_profiles(
        MODEL, DATA, 5, 3, executor=client, progress=lambda d, t: seen.append((d, t)), **KW
    )
    _same_blocks(est, serial_blocks)
    assert seen[0] == (0, 200) and seen[-1] == (200, 200)
    # another plan draws other streams
    other = unmask.estimate_block_profiles(MODEL, DATA, 5, 3, **{**KW, "shard_size": 40})
    assert not np.array_equal(other[0].estimate.means(), serial_blocks[0].estimate.means())


def test_block_estimates_agree_with_exact_block_profiles(serial_blocks) -> None:  # type: ignore[no-untyped-def]
    exact = unmask.block_profiles(LAW, 3)  # an independent algorithm: the lattice engine
    for est, x in zip(serial_blocks, exact, strict=True):
        assert np.all(np.abs(est.h - x.h) <= 5 * est.stderr + 1e-9)
    # the block states: keys are levels, 40 values each, and they partition the whole state
    full = estimate_block_state(MODEL, DATA, 5, 3, **KW)
    assert full.keys == ((0, 0), (0, 1), (0, 2), (1, 0), (1, 1)) and full.complete
    assert [p.estimate.keys for p in serial_blocks] == [(0, 1, 2), (0, 1)]
    assert [p.estimate.counts.tolist() for p in serial_blocks] == [[40] * 3, [40] * 2]
    np.testing.assert_array_equal(
        np.concatenate([p.estimate.means() for p in serial_blocks]), full.means()
    )
    again = block_profiles_from_state(full)
    _same_blocks(again, serial_blocks)
    # the halves are the alternate draws of each level (oracle: numpy on the raw values)
    for p in serial_blocks:
        for i in range(p.n):
            vals = p.estimate.values(i)
            a, b = p.evidence.halves
            assert a.y[i] == pytest.approx(np.mean(vals[0::2]), rel=1e-12)
            assert b.y[i] == pytest.approx(np.mean(vals[1::2]), rel=1e-12)
            assert a.count[i] == b.count[i] == 20


def test_block_masks_show_the_prefix_and_a_uniform_subset_of_the_block() -> None:
    model = RecordingModel(LAW.probs)
    unmask.estimate_block_profiles(model, DATA, 5, widths=[2, 3], **KW)
    masks = np.concatenate(model.masks)
    seen: dict[tuple[int, int], int] = {}
    subsets: dict[tuple[int, int], set[tuple[int, ...]]] = {}
    for row in masks:
        shown = np.flatnonzero(~row)
        # block 0 = positions 0..1, block 1 = positions 2..4; later blocks are always masked
        # block 0 shows at most 1 of its 2 positions; block 1 shows all of block 0
        block = 1 if not row[0] and not row[1] else 0
        start, end = (0, 2) if block == 0 else (2, 5)
        assert not row[:start].any() and row[end:].all()
        inner = tuple(int(j) for j in shown if start <= j < end)
        key = (block, len(inner))
        seen[key] = seen.get(key, 0) + 1
        subsets.setdefault(key, set()).add(inner)
    assert seen == {(0, 0): 40, (0, 1): 40, (1, 0): 40, (1, 1): 40, (1, 2): 40}
    # every i-subset of the block occurs (40 draws of 2 or 3 subsets)
    assert subsets[(0, 1)] == {(0,), (1,)}
    assert subsets[(1, 1)] == {(2,), (3,), (4,)}
    assert subsets[(1, 2)] == {(2, 3), (2, 4), (3, 4)}


def test_one_block_equals_estimate_profile_bitwise(serial) -> None:  # type: ignore[no-untyped-def]
    (one,) = unmask.estimate_block_profiles(MODEL, DATA, 5, widths=[5], **KW)
    for name in ("h", "stderr", "lower", "upper"):
        np.testing.assert_array_equal(getattr(one, name), getattr(serial, name))
    np.testing.assert_array_equal(one.estimate.means(), serial.estimate.means())


def test_block_model_error_surfaces_with_its_shard() -> None:
    model = FailingModel(LAW.probs, bad_level=4)  # 4 shown positions: block 1 at level 1 only
    with ThreadPoolExecutor(2) as ex, pytest.raises(ShardError) as info:
        unmask.estimate_block_profiles(model, DATA, 5, 3, executor=ex, **KW)
    # cell (1, 1) is the 5th: rows 160..199, shards 3 (144..191) and 4 (192..199)
    assert info.value.shard in (3, 4)
    assert "(block, level) = " in str(info.value) and "cannot score level 4" in str(info.value)


def test_block_state_errors() -> None:
    full = estimate_block_state(MODEL, DATA, 5, 3, **KW)
    with pytest.raises(ValueError, match=r"\(block, level\) pairs"):
        block_profiles_from_state(EstimateState([0, 1]))
    with pytest.raises(ValueError, match=r"\(block, level\) pairs"):
        block_profiles_from_state(full.select([(0, 0), (0, 2)]))
    with pytest.raises(KeyError, match=r"no cells \[\(2, 0\)\]"):
        full.select([(2, 0)])
    with pytest.raises(ValueError, match="2 keys but 1 new names"):
        full.select([(0, 0), (0, 1)], rename=[0])
    with pytest.raises(TypeError, match="executor must be None"):
        unmask.estimate_block_profiles(MODEL, DATA, 5, 3, executor="threads", **KW)
