"""A trained masked diffusion transformer (torch, CPU) as the client: profile estimation,
exact sampler laws with the network as conditionals, LLaDA blocks and the Monte Carlo gap, each
against a brute-force oracle computed here from the network's raw outputs or the data law."""

from __future__ import annotations

import itertools
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import unmask
from unmask import Schedule
from unmask.integrations import torch_mdm as mdm

N = 6


@pytest.fixture(scope="module")
def law() -> unmask.Joint:
    p = np.asarray(unmask.datasets.digit_patches().probs)
    # the top-left 2 x 3 pixels of the 4 x 4 patches (variables 0, 1, 2, 4, 5, 6)
    keep = [0, 1, 2, 4, 5, 6]
    marg = p.sum(axis=tuple(j for j in range(16) if j not in keep))
    return unmask.Joint(marg, normalize=True)


@pytest.fixture(scope="module")
def client(law):  # type: ignore[no-untyped-def]
    data = law.sample(4000, seed=0)
    cl, losses = mdm.train_mdm(
        data, 2, d_model=32, layers=2, heads=2, steps=60, batch_size=128, lr=1e-2, seed=0,
        threads=1,
    )
    assert np.mean(losses[-20:]) < np.mean(losses[:20])  # it learned something
    return cl


@pytest.fixture(scope="module")
def raw_table(client):  # type: ignore[no-untyped-def]
    """q_j(. | x_A) for every context, straight from the network (one row per context)."""
    ctx = np.array(list(itertools.product(range(3), repeat=N)))  # 2 = masked
    probs = np.exp(client(np.minimum(ctx, 1), ctx == 2))
    return {tuple(r): probs[k] for k, r in enumerate(ctx.tolist())}


def _ctx(x, known):  # type: ignore[no-untyped-def]
    return tuple(int(x[j]) if j in known else 2 for j in range(N))


def test_profile_of_the_network_matches_its_exact_cross_entropy(client, law) -> None:  # type: ignore[no-untyped-def]
    def sampler(size, rng):  # type: ignore[no-untyped-def]
        return law.sample(size, seed=rng)

    kw = {"samples_per_level": 400, "output": "log_probs", "seed": 3, "monotone": False,
          "shard_size": 600}
    est = unmask.estimate_profile(client, sampler, N, **kw)
    with ThreadPoolExecutor(2) as ex:
        par = unmask.estimate_profile(client, sampler, N, executor=ex, **kw)
    np.testing.assert_array_equal(par.h, est.h)  # a real network, sharded: bit for bit
    # oracle: E_{A, x ~ p} mean_{j not in A} -log q_j(x_j | x_A), enumerated
    p = np.asarray(law.probs)
    xs = list(itertools.product(range(2), repeat=N))
    A_all = [list(a) for i in range(N) for a in itertools.combinations(range(N), i)]
    ctx = np.array([[x[j] if j in a else 2 for j in range(N)] for a in A_all for x in xs])
    logq = client(np.minimum(ctx, 1), ctx == 2).reshape(len(A_all), len(xs), N, 2)
    target = np.zeros(N)
    for ai, a in enumerate(A_all):
        free = [j for j in range(N) if j not in a]
        for xi, x in enumerate(xs):
            ce = -np.mean([logq[ai, xi, j, x[j]] for j in free])
            target[len(a)] += p[x] * ce / math.comb(N, len(a))
    assert np.all(np.abs(est.h - target) <= 5 * est.stderr + 1e-12)
    # a learned model's cross-entropy lies above the data's exact profile on average
    assert target.sum() > unmask.profile(law).h.sum()


def test_network_as_conditionals_gives_the_brute_force_sampler_law(client, law, raw_table) -> None:  # type: ignore[no-untyped-def]
    cond = mdm.mdm_conditionals(client)
    got = np.asarray(unmask.sampler_law(law, [3, 3], conditionals=cond).probs)
    # oracle: uniform first block B, then the rest given x_B, straight from the network
    want = np.zeros((2,) * N)
    blocks = list(itertools.combinations(range(N), 3))
    for x in itertools.product(range(2), repeat=N):
        total = 0.0
        for b in blocks:
            first = np.prod([raw_table[_ctx(x, ())][j, x[j]] for j in b])
            rest = np.prod([raw_table[_ctx(x, b)][j, x[j]] for j in range(N) if j not in b])
            total += first * rest
        want[x] = total / len(blocks)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-15)


def test_llada_block_law_against_oracles(law, client) -> None:  # type: ignore[no-untyped-def]
    p = np.asarray(law.probs)
    # one token per step is exact with exact conditionals, whatever the blocks
    np.testing.assert_allclose(mdm.llada_block_law(law, 3, 6).probs, p, atol=1e-12)
    # one block is the random-order sampler with LLaDA's counts
    np.testing.assert_allclose(
        mdm.llada_block_law(law, 6, 2, mdm.mdm_conditionals(client)).probs,
        unmask.sampler_law(law, [3, 3], conditionals=mdm.mdm_conditionals(client)).probs,
        atol=1e-13,
    )
    # two blocks of one step each: product of marginals in block 1, then block 2 given it
    got = np.asarray(mdm.llada_block_law(law, 3, 2).probs)
    m1 = [p.sum(axis=tuple(k for k in range(N) if k != j)) for j in range(3)]
    b1 = p.sum(axis=(3, 4, 5))
    want = np.zeros_like(p)
    for x in itertools.product(range(2), repeat=N):
        first = np.prod([m1[j][x[j]] for j in range(3)])
        if b1[x[:3]] == 0:
            continue
        cond = p[x[:3]] / b1[x[:3]]  # law of block 2 given block 1
        rest = np.prod([cond.sum(axis=tuple(k for k in range(3) if k != j))[x[3 + j]]
                        for j in range(3)])
        want[x] = first * rest
    np.testing.assert_allclose(got[b1 > 0], want[b1 > 0], atol=1e-12)
    with pytest.raises(ValueError, match="must divide"):
        mdm.llada_block_schedule(6, 4, 2)
    with pytest.raises(ValueError, match="multiple of the 2 blocks"):
        mdm.llada_block_schedule(6, 3, 3)


def test_monte_carlo_gap_matches_exact_kl_of_the_networks_samplers(client, raw_table) -> None:  # type: ignore[no-untyped-def]
    schedules = [Schedule([3, 3]), Schedule([2, 2, 2]), Schedule([1] * N)]
    mean, se = mdm.parallel_gap(client, schedules, samples=3000, seed=1)
    assert mean[2] == 0.0 and se[2] == 0.0  # one token per step is the sequential sampler
    xs = np.array(list(itertools.product(range(2), repeat=N)))  # (64, N)
    ctx = list(itertools.product(range(3), repeat=N))
    table = np.array([raw_table[c] for c in ctx])  # (3^N, N, 2), row = base-3 code
    pw = 3 ** np.arange(N - 1, -1, -1)
    rows = np.arange(len(xs))

    def cond(known, j):  # type: ignore[no-untyped-def]
        # q_j(x_j | x_known) for every x, from the network's raw outputs
        code = (np.where(np.isin(np.arange(N), list(known)), xs, 2) * pw).sum(axis=1)
        return table[code, j, xs[:, j]]

    for s_idx, sched in enumerate(schedules[:2]):
        exact = 0.0
        perms = list(itertools.permutations(range(N)))
        for sigma in perms:
            seq = np.prod([cond(sigma[:t], j) for t, j in enumerate(sigma)], axis=0)
            par = np.ones(len(rows))
            i = 0
            for s in sched.sizes:
                for j in sigma[i : i + s]:
                    par = par * cond(sigma[:i], j)
                i += s
            exact += float(np.sum(seq * np.log(seq / par))) / len(perms)
        assert abs(mean[s_idx] - exact) <= 5 * se[s_idx], (sched.sizes, mean[s_idx], exact)
        assert exact > 0


def test_kjv_text_is_read_from_the_package() -> None:
    text = mdm.kjv_text(max_verses=2)
    assert text.startswith("In the beginning God created the heaven")
    codes = mdm.encode_text(text)
    assert codes.max() < len(mdm.KJV_ALPHABET) and codes[0] == mdm.KJV_ALPHABET.index("i")
    win = mdm.text_windows(codes, 16, 5, seed=0)
    assert win.shape == (5, 16)
    # every window is a substring of the text
    decoded = ["".join(mdm.KJV_ALPHABET[c] for c in row) for row in win]
    plain = "".join(mdm.KJV_ALPHABET[c] for c in codes)
    assert all(d in plain for d in decoded)
