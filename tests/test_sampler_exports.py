"""for_sampler / time_grid: each sampler's own arithmetic, re-implemented here from its upstream
code (repository, file and function named on each oracle), reproduces the exported counts.

Rounding is checked exhaustively: every (n, m) pair for n <= 2048 where the count depends on
(n, m) only (MaskGIT, aMUSEd), random compositions of every n <= 2048 where it depends on the
path (Dream, dllm), in float32 and float64.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import unmask
from unmask import export as E

N_MAX = 2048


def random_composition(rng: np.random.Generator, n: int) -> unmask.Schedule:
    k = int(rng.integers(1, n + 1))
    cuts = np.sort(rng.choice(np.arange(1, n), size=k - 1, replace=False)) if k > 1 else []
    b = np.concatenate([[0], cuts, [n]]).astype(np.int64)
    return unmask.Schedule(np.diff(b))


def all_pairs() -> tuple[np.ndarray, np.ndarray]:
    """Every (n, m) with 1 <= m < n <= N_MAX (m: tokens still masked after a step)."""
    n = np.repeat(np.arange(2, N_MAX + 1), np.arange(1, N_MAX))
    start = np.repeat(np.cumsum(np.arange(1, N_MAX)) - np.arange(1, N_MAX), np.arange(1, N_MAX))
    m = np.arange(n.size) - start + 1
    return n, m


# --- oracles: each sampler's count rule, rewritten from its upstream code ----------------------
def maskgit_mask_len(total: np.ndarray, ratio: np.ndarray, dtype: type) -> np.ndarray:
    """google-research/maskgit maskgit/libml/parallel_decode.py, decode(): mask_len =
    floor(unknown_number_in_the_beginning * mask_ratio) (jax float32 unless x64 is enabled)."""
    return np.floor(np.asarray(total).astype(dtype) * np.asarray(ratio).astype(dtype)).astype(
        np.int64)


def amused_mask_len(seq_len: int, mask_ratio: torch.Tensor) -> torch.Tensor:
    """diffusers schedulers/scheduling_amused.py, AmusedScheduler.step():
    mask_len = (seq_len * mask_ratio).floor()."""
    return (seq_len * mask_ratio).floor().to(torch.int64)


def dream_count(num_mask: torch.Tensor, t: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Dream generation_utils.py (HKUNLP Dream, as vendored in NVlabs/Fast-dLLM
    dream/model/generation_utils.py), _sample(): number_transfer_tokens =
    int(num_mask_token * (1 - s / t)); num_mask_token = mask_index.sum() / batch (float32)."""
    return (num_mask * (1 - s / t)).to(torch.int64)  # int() of a tensor truncates toward zero


def dllm_counts(mask_num: int, steps: int, scheduler) -> list[int]:
    """ZHZisZZ/dllm dllm/core/samplers/utils.py, get_num_transfer_tokens(stochastic=False):
    t = j/steps down to s = (j-1)/steps, count = round(mask_num * (1 - reverse_mask_prob)),
    clipped to mask_num, stop when none left, zero counts dropped."""
    out = []
    left = torch.tensor(mask_num)
    for t, s in zip(range(steps, 0, -1), range(steps - 1, -1, -1)):
        p = 1 - scheduler.reverse_mask_prob(s=s / steps, t=t / steps)
        c = torch.round(left.to(torch.float64) * p).to(torch.int64)
        c = torch.minimum(c, left)
        out.append(int(c))
        left = left - c
        if int(left) == 0:
            break
    return [c for c in out if c > 0]


# --- MaskGIT and aMUSEd: every (n, m) pair ------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_midpoint_ratios_floor_right_for_every_pair(dtype: type) -> None:
    n, m = all_pairs()
    got = maskgit_mask_len(n, (m + 0.5) / n, dtype)
    assert np.array_equal(got, m)
    naive = maskgit_mask_len(n, m / n, dtype)
    wrong = float(np.mean(naive != m))
    assert 0.03 < wrong < 0.045  # the m/n encoding floors to m - 1 for ~3.7% of pairs
    assert np.all(naive[naive != m] == m[naive != m] - 1)


def test_amused_midpoint_ratios_in_torch_float32_for_every_pair() -> None:
    n, m = all_pairs()
    ratios = torch.tensor((m + 0.5) / n, dtype=torch.float64).to(torch.float32)
    got = (torch.from_numpy(n) * ratios).floor().to(torch.int64).numpy()
    assert np.array_equal(got, m)


def test_maskgit_export_values_and_loop() -> None:
    rng = np.random.default_rng(1)
    for n in [*list(range(1, 60)), 2048]:
        s = random_composition(rng, n)
        e = E.for_sampler(s, "maskgit")
        assert e.exact and e.values.shape == (s.steps,) and e.values[-1] == 0.0
        # MaskGIT's decode loop: mask_len clamped to [1, unknown - 1]; last step keeps all
        unknown = n
        for k, r in enumerate(e.values):
            if k == s.steps - 1:
                revealed = unknown
            else:
                mask_len = int(maskgit_mask_len(n, r, np.float32))
                mask_len = max(1, min(unknown - 1, mask_len))
                revealed = unknown - mask_len
            assert revealed == s.sizes[k]
            unknown -= revealed


# --- Dream: random compositions of every n <= 2048 ------------------------------------------
def _dream_check(grid: np.ndarray, s: unmask.Schedule, dtype: torch.dtype) -> np.ndarray:
    rem = s.n - s.boundaries
    t = torch.tensor(grid, dtype=torch.float64).to(dtype)
    num_mask = torch.tensor(rem[:-1]) / 1  # Dream divides by the batch size: float32
    got = dream_count(num_mask[:-1], t[:-2], t[1:-1]).numpy()
    return got == np.asarray(s.sizes[:-1])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dream_grid_every_n(dtype: torch.dtype) -> None:
    rng = np.random.default_rng(7)
    naive_wrong = naive_total = 0
    for n in range(2, N_MAX + 1):
        s = random_composition(rng, n)
        if s.steps == 1:
            continue
        grid = E.for_sampler(s, "dream").values
        assert grid[0] == 1.0 and np.all(np.diff(grid) < 0)
        assert np.all(_dream_check(grid, s, dtype))
        naive = (n - s.boundaries) / n  # the masked fraction as the grid
        ok = _dream_check(naive, s, dtype)
        naive_wrong += int(np.sum(~ok))
        naive_total += ok.size
    if dtype == torch.float32:
        assert naive_wrong / naive_total > 0.05  # the naive grid does truncate wrong


def test_dream_loop_with_flush() -> None:
    """Dream's _sample loop: counts at every step, the last step takes all that remain."""
    rng = np.random.default_rng(3)
    for n in (1, 2, 5, 64, 333):
        s = random_composition(rng, n)
        ts = torch.tensor(E.for_sampler(s, "dream", alg="entropy").values, dtype=torch.float32)
        masked, got = n, []
        for i in range(s.steps):
            num = torch.tensor(masked) / 1
            c = int(num * (1 - ts[i + 1] / ts[i])) if i < s.steps - 1 else int(num)
            got.append(c)
            masked -= c
        assert got == list(s.sizes)


def test_dream_origin_is_in_expectation() -> None:
    s = unmask.Schedule([4, 3, 1])
    e = E.for_sampler(s, "dream", alg="origin")
    assert not e.exact
    t = e.values
    # expected reveals: M_k (1 - t_{k+1}/t_k) equals the counts
    rem = s.n - s.boundaries
    assert np.allclose(rem[:-2] * (1 - t[1:-1] / t[:-2]), s.sizes[:-1], rtol=1e-6)


# --- dllm: its own loop with our alpha scheduler ------------------------------------------------
def test_dllm_alpha_scheduler_loop() -> None:
    from unmask.integrations import dllm_alpha_scheduler

    rng = np.random.default_rng(11)
    for n in [*range(1, 25), 97, 256]:
        s = random_composition(rng, int(n))
        sched = dllm_alpha_scheduler(E.for_sampler(s, "dllm"))
        assert dllm_counts(s.n, s.steps, sched) == list(s.sizes)


def test_dllm_alpha_scheduler_every_n() -> None:
    """dllm's per-step rule through the scheduler's own reverse_mask_prob, all steps at once
    (tensor arguments), for a random composition of every n <= 2048."""
    from unmask.integrations import dllm_alpha_scheduler

    rng = np.random.default_rng(12)
    for n in range(1, N_MAX + 1):
        s = random_composition(rng, n)
        sched = dllm_alpha_scheduler(E.for_sampler(s, "dllm"))
        k = s.steps
        t = torch.arange(k, 0, -1, dtype=torch.float64) / k
        sv = torch.arange(k - 1, -1, -1, dtype=torch.float64) / k
        p = 1 - sched.reverse_mask_prob(s=sv, t=t)
        left = torch.tensor(n - s.boundaries[:-1], dtype=torch.float64)
        got = torch.round(left * p).to(torch.int64)
        assert got.tolist() == list(s.sizes)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dllm_rounding_every_triple_small_n(dtype: type) -> None:
    """All (n, M, M') with 0 <= M' < M <= n <= 160: round(M (1 - (1 - a_s)/(1 - a_t))) with
    alpha = 1 - M/n evaluated in float32 / float64 is M - M'."""
    rows = []
    for n in range(1, 161):
        mm = np.arange(1, n + 1)
        big = np.repeat(mm, mm)
        small = np.concatenate([np.arange(0, m) for m in mm])
        rows.append((np.full(big.size, n), big, small))
    n = np.concatenate([r[0] for r in rows]).astype(np.float64)
    big = np.concatenate([r[1] for r in rows])
    small = np.concatenate([r[2] for r in rows])
    a_t = (1.0 - big / n).astype(dtype)
    a_s = (1.0 - small / n).astype(dtype)
    one = np.asarray(1.0, dtype=dtype)
    prob = 1.0 - ((one - a_s) / (one - a_t)).astype(np.float64)
    assert np.array_equal(np.rint(big * prob).astype(np.int64), big - small)


# --- LLaDA / Fast-dLLM: the drop-in inside LLaDA's generate loop ------------------------------
def llada_generate_counts(gen_length: int, block_length: int, steps: int, fn) -> list[list[int]]:
    """ML-GSAI/LLaDA generate.py, generate(): blocks left to right, steps // num_blocks steps
    each, num_transfer_tokens = get_num_transfer_tokens(block_mask_index, steps) per block, and
    top-k of the confidence per step (here random confidences, batch of 2)."""
    x = torch.full((2, gen_length), -1)
    assert gen_length % block_length == 0
    num_blocks = gen_length // block_length
    assert steps % num_blocks == 0
    steps = steps // num_blocks
    gen = torch.Generator().manual_seed(0)
    out = []
    for b in range(num_blocks):
        block_mask_index = x[:, b * block_length:(b + 1) * block_length] == -1
        num_transfer_tokens = fn(block_mask_index, steps)
        row = []
        for i in range(steps):
            mask_index = x == -1
            conf = torch.rand(x.shape, generator=gen)
            conf[:, (b + 1) * block_length:] = -math.inf
            conf = torch.where(mask_index, conf, torch.tensor(-math.inf))
            before = int(mask_index[0].sum())
            for j in range(2):
                _, idx = torch.topk(conf[j], k=int(num_transfer_tokens[j, i]))
                x[j, idx] = 1
            row.append(before - int((x[0] == -1).sum()))
        out.append(row)
    return out


@given(st.data())
@settings(max_examples=25, deadline=None)
def test_llada_drop_in(data: st.DataObject) -> None:
    from unmask.integrations import BlockTransferTokens

    width = data.draw(st.integers(1, 12))
    blocks = data.draw(st.integers(1, 4))
    spb = data.draw(st.integers(1, width))
    comps = []
    for _ in range(blocks):
        cuts = sorted(data.draw(st.sets(st.integers(1, width - 1), min_size=spb - 1,
                                        max_size=spb - 1))) if spb > 1 else []
        b = [0, *cuts, width]
        comps.append([b[i + 1] - b[i] for i in range(spb)])
    bs = unmask.BlockSchedule(comps)
    e = E.for_sampler(bs, "llada")
    assert e.exact and e.values.dtype == np.int64 and e.values.shape == (blocks, spb)
    fn = BlockTransferTokens(e)
    got = llada_generate_counts(bs.n, width, spb * blocks, fn)
    assert got == comps
    assert llada_generate_counts(bs.n, width, spb * blocks, fn) == comps  # cycles per call


def test_llada_drop_in_refuses_wrong_layout() -> None:
    from unmask.integrations import BlockTransferTokens

    fn = BlockTransferTokens(E.for_sampler(unmask.BlockSchedule([[2, 2], [3, 1]]), "llada"))
    with pytest.raises(ValueError, match="steps per block"):
        fn(torch.ones(1, 4, dtype=torch.bool), 3)
    with pytest.raises(ValueError, match="masked tokens"):
        fn(torch.ones(1, 5, dtype=torch.bool), 2)


def test_fast_dllm_pads_free_and_threshold_not_exact() -> None:
    bs = unmask.BlockSchedule([[3, 1], [2, 1, 1]])
    e = E.for_sampler(bs, "fast-dllm")
    assert e.exact and e.values.tolist() == [[3, 1, 0], [2, 1, 1]]
    assert not E.for_sampler(bs, "fast-dllm", threshold=0.9).exact
    # Fast-dLLM llada/generate.py generate(): while True ... break when the block is unmasked:
    for row, comp in zip(e.values.tolist(), bs.blocks):
        left, i, taken = sum(comp), 0, []
        while True:
            taken.append(row[i])
            left -= row[i]
            i += 1
            if left == 0:
                break
        assert taken == comp


# --- bad input ----------------------------------------------------------------------------------
def test_bad_input() -> None:
    s = unmask.Schedule([2, 2])
    with pytest.raises(ValueError, match="known samplers: llada, fast-dllm"):
        E.for_sampler(s, "gpt")
    with pytest.raises(ValueError, match=r"BlockSchedule\.llada"):
        E.for_sampler(s, "llada")
    with pytest.raises(ValueError, match="multiple of the block length"):
        E.for_sampler(unmask.BlockSchedule([[2, 2], [3]]), "llada")
    with pytest.raises(ValueError, match="split evenly"):
        E.for_sampler(unmask.BlockSchedule([[2, 2], [4]]), "llada")
    with pytest.raises(TypeError, match="unknown option"):
        E.for_sampler(s, "maskgit", seq_len=3)
    with pytest.raises(ValueError, match="smaller than n"):
        E.for_sampler(s, "amused", seq_len=3)
    with pytest.raises(ValueError, match="alg"):
        E.for_sampler(s, "dream", alg="greedy")
    with pytest.raises(ValueError, match="no inverse"):
        E.time_grid(unmask.Schedule([1] * 30000), "linear", sampler="md4")
    with pytest.raises(ValueError, match="non-increasing"):
        E.time_grid(s, lambda t: t, sampler="mdlm")
    with pytest.raises(ValueError, match="noise schedules"):
        E.time_grid(s, "polynomial", sampler="sedd")


# --- time grids ---------------------------------------------------------------------------------
def mdlm_move_chance(t: np.ndarray, eps: float = 1e-3) -> np.ndarray:
    """kuleshov-group/mdlm noise_schedule.py LogLinearNoise.total_noise, diffusion.py
    _ddpm_update: move_chance = 1 - exp(-sigma(t)), sigma = -log1p(-(1 - eps) t)."""
    return 1 - np.exp(np.log1p(-(1 - eps) * t))


def md4_alpha(t: np.ndarray, kind: str, eps: float = 1e-4, p: float = 2.0) -> np.ndarray:
    """google-deepmind/md4 md4/models/diffusion/md4.py MaskingSchedule.alpha."""
    raw = {"linear": 1 - t, "cosine": 1 - np.cos(np.pi / 2 * (1 - t)), "poly": 1 - t**p}[kind]
    return (1 - 2 * eps) * raw + eps


@pytest.mark.parametrize(("sampler", "noise"), [
    ("mdlm", "loglinear"), ("mdlm", "cosine"), ("mdlm", "linear"), ("mdlm", "geometric"),
    ("sedd", "loglinear"), ("sedd", "geometric"), ("md4", "linear"), ("md4", "cosine"),
    ("md4", "polynomial"),
])
def test_time_grid_expected_counts(sampler: str, noise: str) -> None:
    rng = np.random.default_rng(5)
    for n in (1, 7, 300):
        s = random_composition(rng, n)
        g = E.time_grid(s, noise, sampler=sampler)
        assert g.t[0] == 1.0 and np.all(np.diff(g.t) < 0)
        # the reveal probability of step k is 1 - m(t_k)/m(t_{k-1}); product over steps
        m = g.masked_fraction
        beta = 1 - m[1:] / m[:-1]
        beta[-1] = 1.0
        survive = np.concatenate([[1.0], np.cumprod(1 - beta)])
        assert np.allclose(n * -np.diff(survive), s.sizes, atol=1e-6)
        assert np.allclose(g.expected_counts, s.sizes, atol=1e-6)
    e = E.for_sampler(s, sampler, noise=noise)
    assert not e.exact and np.array_equal(e.values, E.time_grid(s, noise, sampler=sampler).t)


def test_time_grid_uses_the_models_own_noise() -> None:
    s = unmask.Schedule([5, 3, 2])
    g = E.time_grid(s, "loglinear", sampler="mdlm")
    m = mdlm_move_chance(g.t)
    assert np.allclose(m[1:-1] / m[0], [0.5, 0.2])
    for kind, noise in (("linear", "linear"), ("cosine", "cosine"), ("poly", "polynomial")):
        g = E.time_grid(s, noise, sampler="md4", exponent=2.0)
        masked = 1 - md4_alpha(g.t, kind)
        assert np.allclose(masked[1:-1] / masked[0], [0.5, 0.2])
    # SEDD: louaaron/Score-Entropy-Discrete-Diffusion noise_lib.py LogLinearNoise /
    # GeometricNoise total_noise; absorbing graph: masked with probability 1 - exp(-sigma)
    g = E.time_grid(s, "loglinear", sampler="sedd")
    m = 1 - np.exp(np.log1p(-(1 - 1e-3) * g.t))
    assert np.allclose(m[1:-1] / m[0], [0.5, 0.2])
    g = E.time_grid(s, "geometric", sampler="sedd", sigma_min=1e-4, sigma_max=20.0)
    m = 1 - np.exp(-(1e-4 ** (1 - g.t)) * 20.0**g.t)
    assert np.allclose(m[1:-1] / m[0], [0.5, 0.2])
    # a callable alpha (unmasked fraction) inverted numerically
    g = E.time_grid(s, lambda t: 1 - t**3, sampler="mdlm")
    assert np.allclose(g.t[1:-1] ** 3, [0.5, 0.2])


def test_time_grid_reports_binomial_kl() -> None:
    joint = unmask.joints.markov(6, 2, 0.8) if hasattr(unmask.joints, "markov") else \
        unmask.joints.all_equal(6, 2)
    s = unmask.Schedule([3, 2, 1])
    g = E.time_grid(s, "loglinear", sampler="mdlm", profile=joint)
    assert g.fixed_kl == pytest.approx(unmask.expected_kl(joint, s), rel=1e-12)
    # oracle: sum over compositions drawn by the Bernoulli sampler, enumerated exactly
    alpha = g.alpha
    total = 0.0

    def walk(k: int, masked: int, sizes: list[int], prob: float) -> None:
        nonlocal total
        if k == s.steps:
            if masked == 0:
                kept = [c for c in sizes if c > 0]
                total += prob * unmask.expected_kl(joint, kept)
            return
        beta = 1.0 if k == s.steps - 1 else (alpha[k + 1] - alpha[k]) / (1 - alpha[k])
        for c in range(masked + 1):
            p = math.comb(masked, c) * beta**c * (1 - beta) ** (masked - c)
            if p > 0:
                walk(k + 1, masked - c, [*sizes, c], prob * p)

    walk(0, s.n, [], 1.0)
    assert g.expected_kl == pytest.approx(total, rel=1e-9)
    assert g.expected_kl > g.fixed_kl  # random counts cost more here


def test_exports_are_linear_time() -> None:
    s = unmask.Schedule([1] * 50_000)
    for sampler in ("maskgit", "amused", "dream", "dllm", "mdlm"):
        e = E.for_sampler(s, sampler)
        assert e.values.shape[0] in (s.steps, s.steps + 1)


def test_every_snippet_is_python_naming_real_adapters() -> None:
    import ast

    import unmask.integrations as integrations

    flat = unmask.Schedule([4, 2, 1, 1])
    blocks = unmask.BlockSchedule([[4, 2, 2], [3, 3, 2]])
    for sampler in E.SAMPLERS:
        src = blocks if sampler in ("llada", "fast-dllm", "llada2") else flat
        e = E.for_sampler(src, sampler)
        tree = ast.parse(e.snippet)  # valid Python
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "unmask.integrations":
                for alias in node.names:
                    assert hasattr(integrations, alias.name), (sampler, alias.name)
        assert e.argument and e.notes and e.to_dict()["sampler"] == sampler
