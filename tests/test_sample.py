from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

import unmask


def _chi_square_pvalue(samples: np.ndarray, law: unmask.Joint) -> float:
    q, n = law.q, law.n
    idx = np.ravel_multi_index(samples.T, (q,) * n)
    observed = np.bincount(idx, minlength=q**n).astype(float)
    expected = law.flat * samples.shape[0]
    assert observed[expected == 0].sum() == 0  # never outside the exact law's support
    big = expected >= 5
    obs = np.append(observed[big], observed[~big].sum())
    exp = np.append(expected[big], expected[~big].sum())
    if exp[-1] == 0:
        obs, exp = obs[:-1], exp[:-1]
    return float(scipy.stats.chisquare(obs, exp).pvalue)


@pytest.mark.parametrize(
    ("source", "schedule", "order", "seed"),
    [
        ("coupled", [2, 1], "random", 1),
        ("random", [2, 1, 1], "random", 2),
        ("random", [3, 1], (3, 1, 0, 2), 3),
        ("random", "bernoulli", "random", 4),
        ("tempered", "composition", "random", 5),
        ("callable", [1, 3], "random", 6),
    ],
)
def test_monte_carlo_agrees_with_exact_law(source, schedule, order, seed):
    if source == "coupled":
        p = np.zeros((2, 2, 2))
        p[0, 0, :] = p[1, 1, :] = 0.25
        joint = unmask.Joint(p)
        cond = unmask.Conditionals.exact(joint)
    else:
        joint = unmask.joints.random(4, 2, concentration=0.4, seed=seed)
        cond = {
            "random": unmask.Conditionals.exact(joint),
            "tempered": unmask.Conditionals.tempered(joint, 1.5),
            "callable": unmask.Conditionals.from_callable(
                lambda x, j: np.tile([0.3, 0.7], (x.shape[0], 1)), 4, 2
            ),
        }[source]
    if schedule == "bernoulli":
        schedule = unmask.BernoulliSizes([0.0, 0.4, 0.7, 1.0], joint.n)
    elif schedule == "composition":
        schedule = unmask.CompositionLaw([[2, 2], [1, 1, 2], [4]], [0.5, 0.3, 0.2])
    law = unmask.sampler_law(joint, schedule, order=order, conditionals=cond)
    x = unmask.sample(cond, schedule, 20000, order=order, seed=seed)
    assert x.shape == (20000, joint.n) and x.dtype == np.int64
    assert _chi_square_pvalue(x, law) > 1e-3


def test_seeded_and_joint_source():
    p = unmask.joints.random(3, 3, concentration=0.5, seed=0)
    a = unmask.sample(p, [2, 1], 100, seed=42)
    b = unmask.sample(p, [2, 1], 100, seed=42)
    assert np.array_equal(a, b)
    assert a.min() >= 0 and a.max() <= 2
    assert unmask.sample(p, [2, 1], 0, seed=1).shape == (0, 3)


def test_bad_input():
    p = unmask.joints.all_equal(3, 2)
    with pytest.raises(ValueError, match="size must be a non-negative integer"):
        unmask.sample(p, [2, 1], -1)
    with pytest.raises(ValueError, match="n = 4 but the joint has n = 3"):
        unmask.sample(p, [2, 2], 10)
    with pytest.raises(ValueError, match="order must be"):
        unmask.sample(p, [2, 1], 10, order=[0, 0, 1])


@pytest.mark.parametrize("kind", ["exact", "p_hat", "tempered"])
def test_fixed_order_monte_carlo_reads_one_marginal_per_context(kind, monkeypatch):
    # A fixed order conditions only on prefixes of the order: no level marginals ((q+1)^n
    # values, 28 GB at binary n = 20) are needed, and the draws still follow the exact law.
    import unmask.samplers.conditionals as conditionals_module

    def refuse(*args, **kwargs):
        raise AssertionError("level marginals computed for a fixed order")

    monkeypatch.setattr(conditionals_module.core, "level_marginals", refuse)
    joint = unmask.joints.random(4, 2, concentration=0.4, seed=9)
    cond = {
        "exact": unmask.Conditionals.exact(joint),
        "p_hat": unmask.Conditionals.from_joint(unmask.joints.random(4, 2, seed=10)),
        "tempered": unmask.Conditionals.tempered(joint, 0.6),
    }[kind]
    sizes = unmask.BernoulliSizes([0.0, 0.3, 0.8, 1.0], 4)
    order = (2, 0, 3, 1)
    law = unmask.sampler_law(joint, sizes, order=order, conditionals=cond)
    x = unmask.sample(cond, sizes, 20000, order=order, seed=11)
    assert _chi_square_pvalue(x, law) > 1e-3


def test_bare_callable_source_is_refused_clearly():
    with pytest.raises(TypeError, match=r"Conditionals\.from_callable\(fn, n, q\)"):
        unmask.sample(lambda x, j: np.full((x.shape[0], 2), 0.5), [1, 1], 3)
