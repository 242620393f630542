from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import unmask

sys.path.insert(0, str(Path(__file__).parent))
import oracle_sampler as oracle
from _sampler_strategies import compositions, laws, make_callable


def _entropy(p: np.ndarray, keep) -> float:
    drop = tuple(v for v in range(p.ndim) if v not in keep)
    m = (p.sum(axis=drop) if drop else p).ravel()
    m = m[m > 0]
    return float(-(m * np.log(m)).sum())


def _factorization_direct(p: np.ndarray, sigma, sizes) -> list[float]:
    """F_k = sum_j H(X_j | X_A) - H(X_B | X_A) from plain numpy marginal entropies."""
    out, start = [], 0
    for s in sizes:
        a, b = list(sigma[:start]), list(sigma[start : start + s])
        ha = _entropy(p, a) if a else 0.0
        out.append(sum(_entropy(p, [*a, j]) - ha for j in b) - (_entropy(p, a + b) - ha))
        start += s
    return out


@settings(max_examples=30)
@given(data=st.data(), kind=st.sampled_from(["exact", "p_hat", "callable"]))
def test_decomposition_sums_to_kl(data, kind):
    p = data.draw(laws(max_n=4, max_states=81))
    sizes = data.draw(compositions(p.n))
    sigma = data.draw(st.permutations(list(range(p.n))))
    p_hat = unmask.joints.random(p.n, p.q, concentration=1.0, seed=2)
    cond = {
        "exact": None,
        "p_hat": unmask.Conditionals.from_joint(p_hat),
        "callable": make_callable(p_hat.probs),
    }[kind]
    d = unmask.decompose(p, sizes, sigma, cond)
    np.testing.assert_allclose(
        d.factorization, _factorization_direct(p.probs, sigma, sizes), atol=1e-12
    )
    ocond = oracle.exact_cond(p.probs if kind == "exact" else p_hat.probs)
    want = oracle.kl_direct(p.probs, oracle.partition_law(p.n, p.q,
                                                          oracle.blocks_of(sigma, sizes), ocond))
    if math.isinf(want):
        assert d.total == math.inf
    else:
        assert d.total == pytest.approx(want, rel=1e-9, abs=1e-12)
    if kind == "exact":
        assert d.learning_total == 0.0 or abs(d.learning_total) < 1e-14
    assert len(d.factorization) == len(d.learning) == len(sizes)


def test_closed_forms():
    d = unmask.decompose(unmask.joints.all_equal(3, 2), [2, 1])
    assert d.factorization_total == pytest.approx(math.log(2))
    assert d.learning.tolist() == [0.0, 0.0]
    d1 = unmask.decompose(unmask.joints.all_equal(3, 2), [1, 1, 1])
    assert d1.total == pytest.approx(0.0, abs=1e-15)
    bits = unmask.decompose(unmask.joints.all_equal(3, 2), [3], base=2)
    assert bits.factorization_total == pytest.approx(2.0)  # TC of three copies of a fair bit
    assert "Decomposition(steps=1, total=2" in repr(bits)


def test_learning_error_infinite_when_q_misses_support():
    p = unmask.joints.all_equal(2, 2)

    def stubborn(x, j):
        out = np.zeros((x.shape[0], 2))
        out[:, 0] = 1.0
        return out

    d = unmask.decompose(p, [1, 1], "left-to-right", stubborn)
    assert d.learning_total == math.inf and d.total == math.inf
    assert unmask.kl(p, unmask.sampler_law(p, [1, 1], "left-to-right", stubborn)) == math.inf
    eps = unmask.learning_errors(p, stubborn)
    assert np.all(np.isinf(eps))
    assert unmask.expected_kl(p, [1, 1], conditionals=stubborn) == math.inf


def test_bad_input():
    p = unmask.joints.all_equal(3, 2)
    with pytest.raises(ValueError, match="fixed order"):
        unmask.decompose(p, [2, 1], "random")
    with pytest.raises(ValueError, match="fixed sizes"):
        unmask.decompose(p, unmask.BernoulliSizes([0, 0.5, 1], 3))
    with pytest.raises(ValueError, match="order must be a permutation"):
        unmask.decompose(p, [2, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="n = 4 but the joint has n = 3"):
        unmask.decompose(p, [2, 2])
    with pytest.raises(ValueError, match="needs the joint law"):
        unmask.expected_kl(unmask.profile(p), [2, 1], conditionals=p)


def test_memory_is_refused_before_the_dense_work(monkeypatch):
    import unmask._validation as validation

    p = unmask.joints.random(6, 2, seed=0)
    monkeypatch.setattr(validation, "available_memory_bytes", lambda: 2000)
    with pytest.raises(MemoryError, match=r"decompose on \[2\]\^6 needs about"):
        unmask.decompose(p, [3, 3], conditionals=unmask.joints.random(6, 2, seed=1))
    with pytest.raises(MemoryError, match=r"learning_errors on \[2\]\^6 needs about"):
        unmask.learning_errors(p, unmask.joints.random(6, 2, seed=1))
    with pytest.raises(MemoryError, match=r"the fixed-order law on \[2\]\^6 needs about"):
        unmask.sampler_law(p, [3, 3], order="left-to-right")


def _tempered_learning_oracle(p: np.ndarray, prefix, j, temperature: float) -> float:
    """E_p KL(p(. | X_A) || q_j(. | X_A)), q_j ∝ p(. | x_A)^(1/T), all in logs (scipy)."""
    from scipy.special import logsumexp

    keep = sorted([*prefix, j])
    drop = tuple(v for v in range(p.ndim) if v not in keep)
    m = p.sum(axis=drop) if drop else p
    m = np.moveaxis(m, keep.index(j), -1).reshape(-1, p.shape[0])
    total = 0.0
    for row in m:
        if row.sum() == 0:
            continue
        logs = np.log(row[row > 0])
        log_q = logs / temperature - logsumexp(logs / temperature)
        total += float(np.sum(row[row > 0] * (logs - np.log(row.sum()) - log_q)))
    return total


@pytest.mark.parametrize("temperature", [1e-3, 0.05, 3.0])
def test_strongly_tempered_learning_error_is_finite_and_exact(temperature):
    # (v / max)^(1/T) underflows to 0 for T = 1e-3 although q_j > 0: read from those zeros the
    # learning KL was inf. It is finite (about 1/T times a log ratio), computed in logs.
    p = unmask.joints.random(3, 3, concentration=1.0, seed=4)  # full support
    cond = unmask.Conditionals.tempered(p, temperature)
    sigma, sizes = (2, 0, 1), [1, 2]
    d = unmask.decompose(p, sizes, sigma, cond)
    want = [
        _tempered_learning_oracle(p.probs, (), 2, temperature),
        _tempered_learning_oracle(p.probs, (2,), 0, temperature)
        + _tempered_learning_oracle(p.probs, (2,), 1, temperature),
    ]
    assert np.all(np.isfinite(d.learning))
    np.testing.assert_allclose(d.learning, want, rtol=1e-9)
    eps = unmask.learning_errors(p, cond)
    want0 = np.mean([_tempered_learning_oracle(p.probs, (), j, temperature) for j in range(3)])
    assert eps[0] == pytest.approx(want0, rel=1e-9)
