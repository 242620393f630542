"""Blockwise schedules (theory section 10): the BlockSchedule type and LLaDA's per-block rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import unmask
from unmask import BlockSchedule, Schedule


def llada_counts(width: int, spb: int) -> list[int]:
    """LLaDA's get_num_transfer_tokens for one block, written out step by step (oracle)."""
    counts = [width // spb] * spb
    for k in range(width % spb):
        counts[k] += 1
    return counts


def test_exports() -> None:
    assert unmask.BlockSchedule is BlockSchedule
    assert unmask.schedules.BlockSchedule is BlockSchedule
    assert "BlockSchedule" in unmask.__all__


def test_attributes() -> None:
    bs = BlockSchedule([[2, 2], [3, 1], [1]])
    assert bs.blocks == [[2, 2], [3, 1], [1]]
    assert bs.widths == [4, 4, 1]
    assert bs.steps == 5
    assert bs.n == 9
    assert bs.flat == Schedule([2, 2, 3, 1, 1])
    assert bs.starts.tolist() == [0, 4, 8, 9]
    assert bs.steps_per_block == [2, 2, 1]
    # blocks is a copy: mutating it does not change the schedule
    bs.blocks[0][0] = 99
    assert bs.blocks[0] == [2, 2]


def test_equality_hash_repr() -> None:
    a = BlockSchedule([[2, 2], [3, 1]])
    b = BlockSchedule([(2, 2), Schedule([3, 1])])
    c = BlockSchedule([[2, 2, 3, 1]])
    assert a == b and hash(a) == hash(b)
    assert a != c  # same flat schedule, different blocks
    assert a.flat == c.flat
    assert len({a, b, c}) == 2
    assert repr(a) == "BlockSchedule([[2, 2], [3, 1]], n=8, steps=4)"
    assert eval(repr(a).split(", n=")[0] + ")", {"BlockSchedule": BlockSchedule}) == a
    big = BlockSchedule([[1] * 20] * 20)
    assert "..." in repr(big) and len(repr(big)) < 200


@given(
    st.integers(1, 12).flatmap(
        lambda nb: st.tuples(
            st.just(nb), st.integers(1, 6), st.integers(1, 10), st.integers(0, 9)
        )
    )
)
def test_llada_rule(args: tuple[int, int, int, int]) -> None:
    nb, spb, width, short = args
    width = max(width, spb)
    last = width if short == 0 or nb == 1 else max(spb, min(width, short))
    n = width * (nb - 1) + last
    bs = BlockSchedule.llada(n, nb * spb, width)
    expected_widths = [width] * (nb - 1) + [last]
    if last == width:
        assert bs.widths == [width] * nb
    else:
        assert bs.widths == expected_widths
    assert bs.n == n and bs.steps == nb * spb
    for w, block in zip(bs.widths, bs.blocks, strict=True):
        assert block == llada_counts(w, spb)


def test_llada_examples() -> None:
    assert BlockSchedule.llada(8, 4, 4).blocks == [[2, 2], [2, 2]]
    assert BlockSchedule.llada(10, 4, 5).blocks == [[3, 2], [3, 2]]
    assert BlockSchedule.llada(10, 6, 4).blocks == [[2, 2], [2, 2], [1, 1]]
    assert BlockSchedule.llada(6, 3, 6).blocks == [[2, 2, 2]]


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((8, 3, 4), "steps = 3 is not a multiple of the number of blocks 2"),
        ((8, 1, 4), "steps = 1 is fewer than the 2 blocks"),
        ((8, 2, 16), "block_width = 16 exceeds n = 8"),
        ((8, 10, 4), "5 steps per block exceed the 4 positions of block 0"),
        ((9, 6, 4), "2 steps per block exceed the 1 positions of block 2"),
        ((0, 1, 1), "n must be a positive integer"),
        ((8, 0, 4), "steps must be a positive integer"),
        ((8, 2, 0), "block_width must be a positive integer"),
    ],
)
def test_llada_errors(args: tuple[int, int, int], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        BlockSchedule.llada(*args)


def test_constructor_errors() -> None:
    with pytest.raises(ValueError, match="at least one block"):
        BlockSchedule([])
    with pytest.raises(ValueError, match="block 1 is empty"):
        BlockSchedule([[1], []])
    with pytest.raises(ValueError, match="block 0: every step must unmask at least one"):
        BlockSchedule([[0, 2]])
    with pytest.raises(ValueError, match=r"block widths \[2, 2\] sum to 4, not to n = 5"):
        BlockSchedule([[2], [1, 1]], n=5)
    with pytest.raises(ValueError, match="block 0 must be a list"):
        BlockSchedule([3, 4])
    with pytest.raises(ValueError, match="sum to 3, not to its width 4"):
        BlockSchedule.from_widths([4], [[2, 1]])
    assert BlockSchedule.from_widths([4, 2], [[2, 2], [2]]).blocks == [[2, 2], [2]]


# -- exact block profiles, the identity and the law, against brute force ----------------------
import itertools  # noqa: E402

import numpy as np  # noqa: E402
from hypothesis import example, settings  # noqa: E402
from oracle_blocks import block_profile_direct, blockwise_brute_force  # noqa: E402
from oracle_sampler import exact_cond, kl_direct  # noqa: E402

from unmask.testing import joints as joint_strategy  # noqa: E402


def _random_block_schedule(rng: np.random.Generator, widths: list[int]) -> BlockSchedule:
    blocks = []
    for w in widths:
        cuts = sorted(rng.choice(np.arange(1, w), size=rng.integers(0, w), replace=False).tolist())
        edges = [0, *cuts, w]
        blocks.append([b - a for a, b in zip(edges[:-1], edges[1:], strict=True)])
    return BlockSchedule(blocks)


def _widths(rng: np.random.Generator, n: int) -> list[int]:
    cuts = sorted(rng.choice(np.arange(1, n), size=rng.integers(0, min(n - 1, 3) + 1),
                             replace=False).tolist()) if n > 1 else []
    edges = [0, *cuts, n]
    return [b - a for a, b in zip(edges[:-1], edges[1:], strict=True)]


@settings(max_examples=25, deadline=None)
@given(joint_strategy(min_n=1, max_n=5, max_q=3), st.integers(0, 2**32 - 1))
def test_block_profiles_match_their_definition(joint, seed) -> None:
    rng = np.random.default_rng(seed)
    ws = _widths(rng, joint.n)
    got = unmask.block_profiles(joint, widths=ws)
    want = block_profile_direct(joint.probs, ws)
    assert [p.n for p in got] == ws
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.h, w, rtol=1e-9, atol=1e-12)
        assert g.is_monotone  # Han's inequality given the prefix
    # the chain rule: block entropies add up to H(X)
    assert sum(p.entropy for p in got) == pytest.approx(unmask.entropy(joint), abs=1e-10)


@settings(max_examples=12, deadline=None)
@given(joint_strategy(min_n=2, max_n=5, max_q=2), st.integers(0, 2**32 - 1))
@example(unmask.joints.all_equal(4, 2), 0)
def test_identity_and_law_against_all_within_block_orders(joint, seed) -> None:
    rng = np.random.default_rng(seed)
    bs = _random_block_schedule(rng, _widths(rng, joint.n))
    want_kl, want_law = blockwise_brute_force(joint.probs, bs.blocks)
    assert unmask.expected_kl(joint, bs) == pytest.approx(want_kl, rel=1e-9, abs=1e-12)
    law = unmask.sampler_law(joint, bs)
    np.testing.assert_allclose(law.probs, want_law, rtol=1e-9, atol=1e-14)
    # KL of the mixture <= the order average (convexity)
    assert unmask.kl(joint, law) <= want_kl + 1e-12


def test_identity_with_learned_conditionals_against_brute_force() -> None:
    p = unmask.joints.random(5, 2, 0.5, seed=3)
    p_hat = unmask.joints.random(5, 2, 1.0, seed=4)
    bs = BlockSchedule([[2, 1], [1, 1]])
    want_kl, want_law = blockwise_brute_force(p.probs, bs.blocks, exact_cond(p_hat.probs))
    assert unmask.expected_kl(p, bs, conditionals=p_hat) == pytest.approx(want_kl, rel=1e-10)
    law = unmask.sampler_law(p, bs, conditionals=p_hat)
    np.testing.assert_allclose(law.probs, want_law, atol=1e-14)
    eps = unmask.learning_errors(p, p_hat, blocks=bs)
    assert [e.size for e in eps] == [3, 2]
    # the learning part is the difference of the two identities
    exact_part = unmask.expected_kl(p, bs)
    learn = sum(s * eps[b][i] for b, block in enumerate(bs.blocks)
                for i, s in zip(np.cumsum([0, *block[:-1]]).tolist(), block, strict=True))
    assert exact_part + learn == pytest.approx(want_kl, rel=1e-10)


def test_fixed_order_law_and_decompose() -> None:
    p = unmask.joints.random(6, 2, 0.4, seed=7)
    bs = BlockSchedule([[2, 1], [2, 1]])
    order = [2, 0, 1, 4, 5, 3]
    steps = [[2, 0], [1], [4, 5], [3]]
    from oracle_sampler import partition_law

    want = partition_law(6, 2, steps, exact_cond(p.probs))
    law = unmask.sampler_law(p, bs, order=order)
    np.testing.assert_allclose(law.probs, want, atol=1e-14)
    d = unmask.decompose(p, bs, order=order)
    assert d.total == pytest.approx(kl_direct(p.probs, want), rel=1e-10)
    with pytest.raises(ValueError, match="leaves block 0"):
        unmask.sampler_law(p, bs, order=[3, 0, 1, 2, 4, 5])
    with pytest.raises(ValueError, match="within-block random order"):
        unmask.decompose(p, bs, order="random")


def test_sample_follows_the_exact_law() -> None:
    p = unmask.joints.random(5, 2, 0.5, seed=3)
    bs = BlockSchedule([[2, 1], [2]])
    law = unmask.sampler_law(p, bs).flat
    x = unmask.sample(p, bs, 40_000, seed=1)
    counts = np.bincount(np.ravel_multi_index(x.T, (2,) * 5), minlength=32)
    expected = law * x.shape[0]
    keep = expected > 5
    chi2 = float(np.sum((counts[keep] - expected[keep]) ** 2 / expected[keep]))
    assert chi2 < 31 + 6 * np.sqrt(2 * 31)  # far beyond the 99.9% quantile would be a bug
    # blockwise: the first block never depends on the second (left to right)
    first = unmask.sample(p, BlockSchedule([[3], [1, 1]]), 1000, seed=2)
    assert first.min() >= 0


def test_one_block_is_random_order() -> None:
    p = unmask.joints.random(5, 2, 0.3, seed=11)
    sched = Schedule([2, 2, 1])
    bs = BlockSchedule([list(sched.sizes)])
    assert unmask.expected_kl(p, bs) == pytest.approx(unmask.expected_kl(p, sched), rel=1e-12)
    np.testing.assert_allclose(
        unmask.sampler_law(p, bs).probs, unmask.sampler_law(p, sched).probs, atol=1e-15
    )
    (prof,) = unmask.block_profiles(p, 5)
    np.testing.assert_allclose(prof.h, unmask.profile(p).h, atol=1e-13)


# -- the counter-examples to the proxy --------------------------------------------------
def test_sticky_markov_proxy_is_off_by_2x() -> None:
    P = np.array([[0.9, 0.1], [0.2, 0.8]])
    joint = unmask.joints.markov_chain(P, 8)
    bs = BlockSchedule.llada(8, 4, 4)
    assert bs.blocks == [[2, 2], [2, 2]]
    truth = unmask.expected_kl(joint, bs)
    proxy = unmask.expected_kl(unmask.profile(joint), bs.flat)
    assert round(truth, 3) == 0.402 and round(proxy, 3) == 0.214
    # the proxy's own pick reports the proxy value and says it is approximate
    picked = unmask.optimal_block_schedule(unmask.profile(joint), 4, 4)
    assert picked.approximate and picked.cost == pytest.approx(proxy)
    exact = unmask.optimal_block_schedule(joint, 4, 4)
    assert not exact.approximate and exact.cost <= truth
    assert exact.cost == pytest.approx(unmask.expected_kl(joint, exact), rel=1e-12)


def test_cross_block_copy_costs_nothing() -> None:
    p = np.zeros((2,) * 6)
    for a, b, c in itertools.product(range(2), repeat=3):
        p[a, b, c, a, b, c] = 1 / 8
    joint = unmask.Joint(p)
    bs = BlockSchedule([[3], [3]])
    assert unmask.expected_kl(joint, bs) == pytest.approx(0.0, abs=1e-12)
    assert kl_direct(p, unmask.sampler_law(joint, bs).probs) == pytest.approx(0.0, abs=1e-12)
    proxy = unmask.optimal_block_schedule(unmask.profile(joint), 2, 3)
    assert proxy.cost > 0.8  # the random-order profile sees a dependence blockwise never pays


def test_dirichlet_law_where_the_proxy_picks_wrong() -> None:
    joint = unmask.joints.random(8, 2, 0.3, seed=1)
    proxy = unmask.optimal_block_schedule(unmask.profile(joint), 4, 4)
    exact = unmask.optimal_block_schedule(joint, 4, 4)
    assert proxy.blocks == [[3, 1], [2, 2]] and exact.blocks == [[2, 2], [2, 2]]
    assert round(unmask.expected_kl(joint, proxy), 4) == 0.2292
    assert round(exact.cost, 4) == 0.2271


# -- optimal block schedules ------------------------------------------------------------------
def _all_block_schedules(widths: list[int], steps: int, equal: bool):
    from oracle_dp import compositions

    nb = len(widths)
    for alloc in itertools.product(*[range(1, w + 1) for w in widths]):
        if sum(alloc) != steps or (equal and len(set(alloc)) > 1):
            continue
        per_block = [list(compositions(w, k)) for w, k in zip(widths, alloc, strict=True)]
        for combo in itertools.product(*per_block):
            yield [list(c) for c in combo]
    del nb


@settings(max_examples=15, deadline=None)
@given(joint_strategy(min_n=4, max_n=6, max_q=2), st.integers(0, 2**32 - 1))
def test_optimal_block_schedule_against_enumeration(joint, seed) -> None:
    rng = np.random.default_rng(seed)
    n = joint.n
    width = int(rng.integers(1, n + 1))
    ws = [width] * (n // width) + ([n % width] if n % width else [])
    nb = len(ws)
    for mode in ("equal", "free"):
        ks = [k for k in range(nb, n + 1) if mode == "free" or (k % nb == 0 and k // nb <= min(ws))]
        if not ks:
            continue
        k = int(rng.choice(ks))
        got = unmask.optimal_block_schedule(joint, k, width, steps_per_block=mode)
        costs = [
            unmask.expected_kl(joint, BlockSchedule(b))
            for b in _all_block_schedules(ws, k, mode == "equal")
        ]
        assert got.steps == k and got.widths == ws
        assert got.cost == pytest.approx(min(costs), rel=1e-9, abs=1e-12)
        assert unmask.expected_kl(joint, got) == pytest.approx(got.cost, rel=1e-12, abs=1e-15)
        if mode == "equal":
            assert len(set(got.steps_per_block)) == 1


def test_free_allocation_beats_or_ties_equal_and_llada() -> None:
    P = np.array([[0.9, 0.1], [0.2, 0.8]])
    profs = unmask.markov_block_profiles(P, 64, 16)
    for k in (4, 8, 16, 32):
        free = unmask.optimal_block_schedule(profs, k, steps_per_block="free")
        equal = unmask.optimal_block_schedule(profs, k, steps_per_block="equal")
        llada = unmask.expected_kl(profs, BlockSchedule.llada(64, k, 16))
        assert free.cost <= equal.cost + 1e-12 <= llada + 2e-12


def test_free_allocation_cap_doubling_matches_the_full_dp() -> None:
    from unmask.schedules.blocks import _frontier, _min_plus

    rng = np.random.default_rng(5)
    profs = []
    for w in (40, 40, 25):
        f = rng.gamma(0.3, size=w - 1) / np.arange(1, w) ** rng.uniform(0.5, 2)
        profs.append(unmask.Profile.from_f(f, h_last=0.1))
    for k in (3, 10, 30, 60, 104, 105):
        got = unmask.optimal_block_schedule(profs, k, steps_per_block="free")
        fronts = [_frontier(p, min(p.n, k - 2), None)[0] for p in profs]
        # the oracle: every allocation, by brute force over (k_0, k_1) (k_2 is what is left)
        brute = min(
            float(fronts[0][a - 1] + fronts[1][b - 1] + fronts[2][k - a - b - 1])
            for a in range(1, fronts[0].size + 1)
            for b in range(1, fronts[1].size + 1)
            if 1 <= k - a - b <= fronts[2].size
        )
        alloc = _min_plus(fronts, k)
        best = sum(float(f[a - 1]) for f, a in zip(fronts, alloc, strict=True))
        assert best == pytest.approx(brute, rel=1e-12, abs=1e-12)
        assert got.cost == pytest.approx(best, rel=1e-10, abs=1e-12)


# -- Markov block profiles ---------------------------------------------------------------------
@settings(max_examples=20, deadline=None)
@given(st.integers(2, 3), st.integers(1, 7), st.integers(0, 2**32 - 1), st.booleans())
def test_markov_block_profiles_match_the_lattice(q, n, seed, stationary) -> None:
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.full(q, 0.5), size=q)
    P = np.maximum(P, 1e-3)
    P /= P.sum(axis=1, keepdims=True)
    init = None if stationary else rng.dirichlet(np.ones(q))
    ws = _widths(rng, n)
    joint = unmask.joints.markov_chain(P, n, initial=init)
    want = unmask.block_profiles(joint, widths=ws)
    got = unmask.markov_block_profiles(P, n, initial=init, widths=ws)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.h, w.h, rtol=1e-9, atol=1e-12)


def test_markov_block_profiles_one_block_is_markov_profile() -> None:
    P = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]])
    (one,) = unmask.markov_block_profiles(P, 300, 300)
    np.testing.assert_allclose(one.h, unmask.markov_profile(P, 300).h, rtol=1e-9, atol=1e-12)
    many = unmask.markov_block_profiles(P, 300, 64, base=2)
    assert [p.n for p in many] == [64, 64, 64, 64, 44]
    total = sum(p.entropy for p in many)
    assert total == pytest.approx(unmask.markov_profile(P, 300, base=2).entropy, rel=1e-10)


# -- estimated block profiles ------------------------------------------------------------------
def test_estimated_block_profiles_cover_the_truth() -> None:
    from oracle_models import joint_model

    joint = unmask.joints.random(6, 2, 0.5, seed=2)
    model = joint_model(joint)
    data = joint.sample(4000, seed=3)
    est = unmask.estimate_block_profiles(
        model, data, 6, 3, samples_per_level=400, estimator="entropy", seed=4
    )
    exact = unmask.block_profiles(joint, 3)
    inside = total = 0
    for e, x in zip(est, exact, strict=True):
        assert e.stderr is not None and e.lower is not None and e.upper is not None
        inside += int(np.sum((e.lower - 1e-12 <= x.h) & (x.h <= e.upper + 1e-12)))
        total += x.n
        np.testing.assert_allclose(e.h, x.h, atol=6 * float(e.stderr.max()) + 1e-3)
    assert inside >= total - 2  # a 95% band misses rarely


# -- errors --------------------------------------------------------------------------------------
def test_bad_input_names_the_numbers() -> None:
    joint = unmask.joints.random(6, 2, 0.5, seed=0)
    with pytest.raises(ValueError, match=r"block widths \[2, 2\] sum to 4, not to n = 6"):
        unmask.block_profiles(joint, widths=[2, 2])
    with pytest.raises(ValueError, match="steps = 2 is fewer than the 3 blocks"):
        unmask.optimal_block_schedule(joint, 2, 2)
    with pytest.raises(ValueError, match="steps = 4 is not a multiple of the number of blocks"):
        unmask.optimal_block_schedule(joint, 4, 2)
    with pytest.raises(ValueError, match=r"is for n = 4 .* has n = 6"):
        unmask.expected_kl(joint, BlockSchedule([[2], [2]]))
    with pytest.raises(ValueError, match="is for n = 4"):
        unmask.sampler_law(joint, BlockSchedule([[2], [2]]))
    with pytest.raises(ValueError, match="a single profile does not determine"):
        unmask.expected_kl(unmask.profile(joint), BlockSchedule([[3], [3]]))
    with pytest.raises(ValueError, match="steps_per_block must be 'equal' or 'free'"):
        unmask.optimal_block_schedule(joint, 3, 2, steps_per_block="even")
    with pytest.raises(ValueError, match=r"the block profiles have widths \[3, 3\]"):
        unmask.expected_kl(unmask.block_profiles(joint, 3), BlockSchedule([[2], [4]]))
    with pytest.raises(ValueError, match="block_width = 9 exceeds n = 6"):
        unmask.markov_block_profiles(np.eye(2) * 0.5 + 0.25, 6, 9)


# -- block width and the command line ----------------------------------------------------------
def test_block_width_frontier_matches_per_width_optima(tmp_path) -> None:
    joint = unmask.joints.random(8, 2, 0.3, seed=1)
    fr = unmask.block_width_frontier(joint, 4, [2, 4, 8])
    assert fr.widths == [2, 4, 8] and not fr.approximate
    for i, w in enumerate(fr.widths):
        free = unmask.optimal_block_schedule(joint, 4, w, steps_per_block="free").cost
        assert fr.free[i] == pytest.approx(free, rel=1e-12)
        llada = unmask.expected_kl(joint, BlockSchedule.llada(8, 4, w))
        assert fr.llada[i] == pytest.approx(llada, rel=1e-12)
    assert fr.equal[0] == fr.llada[0]  # W = 2, 1 step per block: nothing to choose
    # one block of the whole sequence is random order
    assert fr.free[2] == pytest.approx(
        unmask.expected_kl(joint, unmask.optimal_schedule(joint, 4)), rel=1e-10
    )
    fig = fr.plot()
    fig.savefig(tmp_path / "w.png")
    assert (tmp_path / "w.png").read_bytes()[:4] == b"\x89PNG"
    P = np.array([[0.9, 0.1], [0.2, 0.8]])
    fr2 = unmask.block_width_frontier(
        lambda ws: unmask.markov_block_profiles(P, 8, widths=ws), 4, [4], n=8
    )
    assert fr2.llada[0] == pytest.approx(0.4017720834904728, rel=1e-12)


def test_cli_blocks_table_and_json() -> None:
    import json

    from click.testing import CliRunner

    from unmask.cli import main

    runner = CliRunner()
    res = runner.invoke(main, ["blocks", "markov", "--n", "8", "--q", "2", "--steps", "4",
                               "--widths", "4,8", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["approximate"] is False
    # the built-in chain: stay probability 0.9 on both symbols
    joint = unmask.joints.markov_chain(np.array([[0.9, 0.1], [0.1, 0.9]]), 8)
    row = data["rows"][0]
    assert row["width"] == 4
    assert row["llada"] == pytest.approx(unmask.expected_kl(joint, BlockSchedule.llada(8, 4, 4)))
    assert row["free"] == pytest.approx(
        unmask.optimal_block_schedule(joint, 4, 4, steps_per_block="free").cost
    )
    res = runner.invoke(main, ["blocks", "markov", "--n", "4096", "--steps", "256",
                               "--widths", "32,64"])
    assert res.exit_code == 0 and "exact" in res.output and "best width" in res.output
    for args, message in (
        (["--steps", "4", "--widths", "4,x"], "comma-separated positive integers"),
        (["--steps", "4", "--widths", "16"], "block width 16 exceeds n = 8"),
        (["--steps", "9", "--widths", "4"], "--steps 9 exceeds n = 8"),
    ):
        res = runner.invoke(main, ["blocks", "markov", "--n", "8", *args])
        assert res.exit_code == 2 and message in res.output, res.output


def test_verify_has_a_blockwise_section() -> None:
    result = unmask.verify(quick=True, laws=["markov", "random-1", "copy-pair"], ks=[2])
    names = {(c.law, c.name): c for c in result.checks}
    for law in ("markov", "random-1"):
        for check in ("blockwise identity = order average", "blockwise KL(p || qbar) <= E KL",
                      "blockwise optimal (equal) <= LLaDA split",
                      "blockwise optimal (free) <= optimal (equal)", "one block = random order"):
            assert names[(law, check)].status == "pass", (law, check)
    # the order average the suite computes is the identity (independent of verify's code path)
    joint = unmask.joints.markov_chain(np.array([[0.9, 0.1], [0.1, 0.9]]), 8)
    bs = BlockSchedule.llada(8, 4, 4)
    ident = names[("markov", "blockwise identity = order average")]
    assert ident.reference == pytest.approx(unmask.expected_kl(joint, bs), rel=1e-12)


def test_exports_take_a_block_schedule() -> None:
    from unmask.export import encodings as E

    bs = BlockSchedule([[2, 2], [3, 1], [1, 1]])
    assert E.counts_per_step(bs) == [2, 2, 3, 1, 1, 1]
    assert E.cumulative_unmasked(bs) == [2, 4, 7, 8, 9, 10]
    assert E.split_blocks(bs) == bs.blocks == E.split_blocks(bs, 4)
    d = E.to_dict(bs)
    assert d["block_widths"] == [4, 4, 2] and d["counts_per_block"] == bs.blocks
    assert E.from_dict(d) == bs.flat
    with pytest.raises(ValueError, match=r"widths \[4, 4, 2\], not blocks of 3"):
        E.split_blocks(bs, 3)


def test_block_lattice_walk_matches_the_full_lattice() -> None:
    from unmask.profiles import blocks as B

    joint = unmask.joints.random(7, 3, 0.5, seed=3)
    ent = unmask.subset_entropies(joint)
    for ws in ([7], [3, 4], [1, 1, 5], [2, 2, 2, 1]):
        walked = B._block_entropies(joint, ws)
        start = 0
        for w, vals in zip(ws, walked, strict=True):
            idx = ((1 << start) - 1) | (np.arange(1 << w) << start)
            np.testing.assert_allclose(vals, ent[idx], rtol=1e-12, atol=1e-12)
            start += w


def test_cli_schedule_blocks_free_allocation() -> None:
    import json

    from click.testing import CliRunner

    from unmask.cli import main

    runner = CliRunner()
    res = runner.invoke(main, ["schedule", "markov", "--n", "64", "--steps", "8",
                               "--encoding", "blocks", "--block-width", "16",
                               "--steps-per-block", "free"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    P = np.array([[0.9, 0.1], [0.1, 0.9]])
    want = unmask.optimal_block_schedule(unmask.markov_block_profiles(P, 64, 16), 8,
                                         steps_per_block="free")
    assert data["values"] == want.blocks and data["exact_blockwise"] is True
    assert data["expected_kl"] == pytest.approx(want.cost, rel=1e-12)
    res = runner.invoke(main, ["schedule", "markov", "--n", "64", "--steps", "8",
                               "--steps-per-block", "free"])
    assert res.exit_code == 2 and "--steps-per-block applies to --encoding blocks" in res.output


def test_schedules_chosen_from_estimated_block_profiles_are_judged_by_true_cost() -> None:
    # known truth: a sticky chain where the whole-sequence proxy picks a poor free allocation;
    # over seeds, schedules chosen from estimated block profiles pay close to the exact optimum
    from oracle_models import joint_model

    P = np.array([[0.9, 0.1], [0.1, 0.9]])
    joint = unmask.joints.markov_chain(P, 8)
    best = unmask.optimal_block_schedule(joint, 4, 4, steps_per_block="free").cost
    proxy = unmask.optimal_block_schedule(unmask.profile(joint), 4, 4, steps_per_block="free")
    proxy_true = unmask.expected_kl(joint, proxy)
    assert proxy_true > 1.5 * best
    ratios, robust_ratios = [], []
    for seed in range(6):
        data = joint.sample(2000, seed=seed + 100)
        est = unmask.estimate_block_profiles(joint_model(joint), data, 8, 4,
                                             samples_per_level=200, estimator="entropy",
                                             seed=seed)
        # the exact solve of the (precise) curves; the robust default keeps 4-wide blocks at
        # their constant compositions (too few levels for a significant cross-fitted gain)
        chosen = unmask.optimal_block_schedule(est, 4, steps_per_block="free", robust=False)
        assert chosen.widths == [4, 4] and chosen.cost_kind == "curves"
        ratios.append(unmask.expected_kl(joint, chosen) / best)
        robust = unmask.optimal_block_schedule(est, 4, steps_per_block="free")
        assert robust.cost_kind == "estimate"
        robust_ratios.append(unmask.expected_kl(joint, robust) / best)
    assert np.mean(ratios) < 1.1 and max(ratios) < proxy_true / best
    assert max(robust_ratios) < proxy_true / best


def test_estimated_block_profiles_errors_and_torch() -> None:
    def uniform(values, mask):  # type: ignore[no-untyped-def]
        return np.full((*values.shape, 2), 0.5)

    data = np.random.default_rng(0).integers(0, 2, size=(50, 6))
    est = unmask.estimate_block_profiles(uniform, data, 6, 4, samples_per_level=4)
    assert [p.n for p in est] == [4, 2]
    for p in est:
        np.testing.assert_allclose(p.h, np.log(2))
    with pytest.raises(ValueError, match="samples_per_level must be >= 2"):
        unmask.estimate_block_profiles(uniform, data, 6, 3, samples_per_level=1)
    with pytest.raises(ValueError, match="give exactly one of block_width= and widths="):
        unmask.estimate_block_profiles(uniform, data, 6)
    with pytest.raises(ValueError, match="estimator must be"):
        unmask.estimate_block_profiles(uniform, data, 6, 3, estimator="mle")

    def bad(values, mask):  # type: ignore[no-untyped-def]
        return np.full((*values.shape, 2), 0.7)

    with pytest.raises(ValueError, match="not normalised"):
        unmask.estimate_block_profiles(bad, data, 6, 3, samples_per_level=4)
    try:
        import torch  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="to_torch=True needs torch"):
            unmask.estimate_block_profiles(uniform, data, 6, 3, to_torch=True)


def test_block_width_frontier_from_a_single_profile_is_the_flagged_proxy(tmp_path) -> None:
    import json

    from click.testing import CliRunner
    from oracle_dp import schedule_cost_direct

    from unmask.cli import main

    joint = unmask.joints.random(8, 2, 0.3, seed=1)
    prof = unmask.profile(joint)
    fr = unmask.block_width_frontier(prof, 4, [2, 4])
    assert fr.approximate
    bs = fr.schedules[("equal", 4)]
    assert bs.approximate
    # the proxy cost is the random-order identity of the flat schedule, from h itself
    assert fr.equal[1] == pytest.approx(schedule_cost_direct(prof.h, bs.sizes), rel=1e-12)
    path = tmp_path / "h.json"
    path.write_text(json.dumps(prof.h.tolist()))
    res = CliRunner().invoke(main, ["blocks", str(path), "--steps", "4", "--widths", "2,4",
                                    "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["approximate"] is True
    assert data["rows"][1]["equal"] == pytest.approx(fr.equal[1], rel=1e-12)


# -- command line: plot targets, repeated widths, why a cell is empty ---------------------------
@pytest.mark.parametrize("target, expect", [
    ("no-such-dir/cost.png", "no directory"),
    ("cost.txt", "cannot write a figure as .txt"),
])
def test_cli_blocks_bad_plot_target_is_a_usage_error(tmp_path, monkeypatch, target, expect):
    from click.testing import CliRunner

    from unmask.cli import main

    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, ["blocks", "parity", "--steps", "4", "--widths", "4",
                                    "--plot", target])
    assert res.exit_code == 2, res.output
    assert expect in res.output and "Traceback" not in res.output
    assert not (tmp_path / target).exists()


def test_cli_blocks_repeated_width_is_one_row_and_empty_cells_are_explained():
    from click.testing import CliRunner

    from unmask.cli import main

    res = CliRunner().invoke(main, ["blocks", "markov", "--steps", "4", "--widths", "4,3,4",
                                    "--json"])
    assert res.exit_code == 0, res.output
    import json

    rows = json.loads(res.output)["rows"]
    assert [r["width"] for r in rows] == [4, 3]
    assert rows[1]["equal"] is None and rows[1]["free"] is not None  # 4 steps, 3 blocks
    res = CliRunner().invoke(main, ["blocks", "markov", "--steps", "4", "--widths", "3,2"])
    assert res.exit_code == 0, res.output
    assert "not a multiple of its 3 blocks" in res.output


def test_block_profile_sources_stay_short_at_many_blocks():
    # formatting every width into every block's source made markov_block_profiles quadratic in n
    P = np.array([[0.9, 0.1], [0.2, 0.8]])
    profs = unmask.markov_block_profiles(P, 4000, 4)
    assert len(profs) == 1000
    assert max(len(p.source) for p in profs) < 120
    assert "(1000 blocks)" in profs[-1].source
    exact = unmask.markov_block_profiles(P, 12, 4)
    assert np.allclose(profs[1].h, exact[1].h, atol=1e-13)


def test_markov_block_profiles_refuse_huge_block_counts_before_allocating():
    P = np.array([[0.9, 0.1], [0.2, 0.8]])
    # 1.25e11 widths: refused with the numbers before the list is built (was a bare MemoryError)
    with pytest.raises(MemoryError, match=r"125000000001 blocks \(n = 1000000000000, block_w"):
        unmask.markov_block_profiles(P, 10**12, 8)
    # 1e9 blocks of width 1: the per-block profiles count too, checked before the list is built
    with pytest.raises(MemoryError, match=r"1000000001 blocks \(n = 1000000000, block_width = 1"):
        unmask.markov_block_profiles(P, 10**9, 1)


def test_llada_refuses_a_block_count_beyond_memory_before_building_it():
    # 1e11 blocks: the bare MemoryError of a list that could not be built is now named up front
    with pytest.raises(MemoryError, match=r"llada with 100000000000 blocks \(n = 1000000000000"):
        BlockSchedule.llada(10**12, 10**11, 10)
    assert BlockSchedule.llada(10, 6, 4).blocks == [[2, 2], [2, 2], [1, 1]]
