"""Hypothesis fuzz of the public Python API: no crash, no hang, no silent non-finite result.

Every public entry point (profiles, entropies, expected KL, sampler laws, divergences, solver,
frontier, bounds, schedule families, exports, Conditionals, markov_profile, estimate_profile,
Schedule, Joint, ...) is called with generated arguments, valid and adversarial (NaN, inf,
negative and huge numbers, bools, strings, None, wrong shapes, tiny atoms, float32, unnormalised
tables, huge thread counts and sizes). A call passes when it

* returns a result that passes the entry point's check (finite where a finite number is the
  only correct answer, no NaN anywhere, no negative KL, laws normalised, entropies >= 0), or
* raises one of the documented exception types: ValueError, TypeError, MemoryError, IndexError.

Anything else is a finding: another exception type (including RuntimeError, an internal
failure), a bad result, a call running past the per-call time guard (a hang), or a worker
process that dies (a crash: segfault, abort, ``exit`` inside OpenMP). Each entry point runs in
its own worker process under an address-space limit (``RLIMIT_AS``, 4 GiB), so a crash is
caught and attributed, and the memory checks are exercised against that limit.

Run: ``python bench/fuzz_api.py`` (about 10,000 calls; a few minutes on 2 cores).
Options: ``--calls N`` total calls (split over the entry points), ``--seed S``,
``--only NAME`` (one entry point), ``--list``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ALLOWED = (ValueError, TypeError, MemoryError, IndexError)
TIME_GUARD_S = 20.0
AS_LIMIT = 4 * 1024**3


class Hang(BaseException):
    """Raised by the time guard (a BaseException, so that no ``except Exception`` eats it)."""


class BadResult(AssertionError):
    """A result that fails the entry point's check."""


# -- argument strategies ------------------------------------------------------------------------
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=3),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.integers(-3, 3), max_size=3),
    st.just(object()),
    st.just(1 + 2j),
)
bad_float = st.sampled_from([math.nan, math.inf, -math.inf, -1.0, 0.0, 1e-320, 1e308, -0.0])


def mostly(valid: Any, bad: Any) -> Any:
    """Valid three times in four: adversarial arguments must not hide the valid paths."""
    return st.integers(0, 3).flatmap(lambda i: bad if i == 3 else valid)


threads_arg = mostly(
    st.sampled_from([None, 1, 2]),
    st.sampled_from([0, -1, 600, 4096, 4097, 10**6, True, 1.5, "2"]),
)
base_arg = mostly(st.sampled_from([None, 2, 10, math.e]),
                  st.sampled_from([0.5, 1, -1, math.nan, "2", True]))

#: Sub-calls refused with a documented exception (counted, not findings).
SUB_REFUSED: dict[str, int] = {}


def sub(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A secondary call of an entry point: a documented refusal is counted, None returned."""
    try:
        return fn(*args, **kwargs)
    except ALLOWED as exc:
        SUB_REFUSED[type(exc).__name__] = SUB_REFUSED.get(type(exc).__name__, 0) + 1
        return None


@st.composite
def law_tables(draw: Any, max_n: int = 5) -> Any:
    """A joint law table; often valid, sometimes adversarial."""
    q = draw(st.integers(2, 3))
    n = draw(st.integers(1, max_n if q == 2 else 4))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(
        st.sampled_from(
            ["dirichlet", "dirichlet", "sparse", "tiny", "point", "uniform", "float32", "bad",
             "shape", "unnormalised", "ising", "ising"]
        )
    )
    shape = (q,) * n
    if kind == "dirichlet":
        p = rng.dirichlet(np.full(q**n, draw(st.sampled_from([0.05, 0.5, 1.0, 5.0]))))
    elif kind == "sparse":
        p = rng.random(q**n) * (rng.random(q**n) < 0.3)
        p[rng.integers(q**n)] += 1.0
        p /= p.sum()
    elif kind == "tiny":
        p = rng.random(q**n)
        p[rng.random(q**n) < 0.5] = draw(st.sampled_from([1e-300, 1e-200, 1e-160, 5e-324]))
        p /= p.sum()
    elif kind == "point":
        p = np.zeros(q**n)
        p[rng.integers(q**n)] = 1.0
    elif kind == "uniform":
        p = np.full(q**n, 1.0 / q**n)
    elif kind == "float32":
        p = rng.dirichlet(np.ones(q**n)).astype(np.float32)
    elif kind == "ising":
        spins = 2 * ((np.arange(q**n)[:, None] >> np.arange(n)[::-1]) & 1) - 1 if q == 2 else None
        if spins is None:
            p = np.full(q**n, 1.0 / q**n)
        else:
            coupling = draw(st.sampled_from([1.0, 40.0, 200.0]))
            e = coupling * np.sum(spins[:, :-1] * spins[:, 1:], axis=1) if n > 1 else np.zeros(2)
            w = np.exp(e - e.max())
            p = w / w.sum()
    elif kind == "unnormalised":
        p = rng.random(q**n) * draw(st.sampled_from([2.0, 1 + 5e-10, 1 + 1e-8, 1e-3]))
    elif kind == "shape":
        return draw(
            st.sampled_from(
                [np.ones((2, 3)) / 6, np.array(0.5), np.array([]), np.ones((1, 1)),
                 [[0.5, 0.5], [0.5]], np.full((2,) * 3, 0.125).tolist()]
            )
        )
    else:  # bad values
        p = rng.dirichlet(np.ones(q**n))
        p[rng.integers(q**n)] = draw(bad_float)
    return np.asarray(p).reshape(shape)


@st.composite
def joints_or_tables(draw: Any, max_n: int = 5) -> Any:
    import unmask

    table = draw(law_tables(max_n))
    if draw(st.booleans()):
        try:
            return unmask.Joint(table, normalize=draw(st.booleans()))
        except ALLOWED:
            return table
    return table


@st.composite
def h_curves(draw: Any) -> Any:
    n = draw(st.integers(1, 40))
    kind = draw(st.sampled_from(["monotone"] * 5 + ["nonmonotone", "zeros", "bad", "huge", "2d",
                                                    "list"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    if kind == "monotone":
        h = np.sort(rng.random(n) * draw(st.sampled_from([1.0, 3.0, 1e-12, 1e6])))[::-1]
    elif kind == "nonmonotone":
        h = rng.random(n)
    elif kind == "zeros":
        h = np.zeros(n)
    elif kind == "huge":
        h = np.full(n, draw(st.sampled_from([1e300, 1e307, 1.7e308])))
    elif kind == "2d":
        return np.sort(rng.random((n, 1)), axis=0)[::-1]
    elif kind == "list":
        return np.sort(rng.random(n))[::-1].tolist()
    else:
        h = np.sort(rng.random(n))[::-1].copy()
        h[rng.integers(n)] = draw(bad_float)
    return h


@st.composite
def profile_args(draw: Any) -> Any:
    import unmask

    choice = draw(st.sampled_from(["h", "h", "profile", "law", "junk"]))
    if choice == "h":
        return draw(h_curves())
    if choice == "profile":
        h = draw(h_curves())
        try:
            return unmask.Profile(h)
        except ALLOWED:
            return h
    if choice == "law":
        return draw(joints_or_tables(4))
    return draw(junk)


@st.composite
def schedule_args(draw: Any, n: int | None) -> Any:
    import unmask

    kind = draw(
        st.sampled_from(["valid", "valid", "valid", "wrong_sum", "zero", "float", "huge",
                         "bernoulli", "law", "junk", "schedule"])
    )
    n_eff = n if isinstance(n, int) and n >= 1 else draw(st.integers(1, 8))
    if kind in ("valid", "schedule", "law", "bernoulli"):
        cuts = sorted(draw(st.sets(st.integers(1, max(1, n_eff - 1)), max_size=n_eff - 1)))
        cuts = [c for c in cuts if 0 < c < n_eff]
        sizes = np.diff([0, *cuts, n_eff]).tolist()
        if kind == "schedule":
            return unmask.Schedule(sizes)
        if kind == "law":
            return unmask.CompositionLaw([sizes, [n_eff]], [0.5, 0.5])
        if kind == "bernoulli":
            alpha = [0.0, *sorted(draw(st.lists(st.floats(0, 1), max_size=4))), 1.0]
            return unmask.BernoulliSizes(alpha, n_eff)
        return sizes
    if kind == "wrong_sum":
        return [n_eff + 1]
    if kind == "zero":
        return [0, n_eff]
    if kind == "float":
        return [float(n_eff) + draw(st.sampled_from([0.0, 0.5, math.nan]))]
    if kind == "huge":
        return [2**70]
    return draw(junk)


def _len_of(obj: Any) -> int | None:
    """The n a profile argument stands for (h length, law's variables), None if unreadable."""
    if hasattr(obj, "n") and isinstance(obj.n, int):
        return int(obj.n)
    try:
        arr = np.asarray(obj)
    except Exception:
        return None
    if arr.ndim == 1:
        return int(arr.size)
    return int(arr.ndim) if arr.ndim >= 2 else None


def _steps(data: Any, n: int | None) -> Any:
    hi = n if isinstance(n, int) and n >= 1 else 8
    return data.draw(mostly(st.integers(1, hi), st.one_of(st.integers(-1, hi + 3), junk)))


def _n_of(obj: Any) -> int | None:
    try:
        arr = np.asarray(obj.probs if hasattr(obj, "probs") else obj)
        return int(arr.ndim) if arr.ndim >= 1 else None
    except Exception:
        return None


# -- result checks ------------------------------------------------------------------------------
def check_float(
    x: Any, *, nonneg: bool = False, finite: bool = False, upper: float | None = None
) -> None:
    if not isinstance(x, float):
        raise BadResult(f"expected a Python float, got {type(x).__name__}")
    if math.isnan(x):
        raise BadResult("NaN result")
    if finite and not math.isfinite(x):
        raise BadResult(f"non-finite result {x}")
    if nonneg and x < 0:
        raise BadResult(f"negative result {x}")
    if upper is not None and x > upper:
        raise BadResult(f"result {x} above {upper}")


def check_profile(prof: Any) -> None:
    h = np.asarray(prof.h)
    if not np.all(np.isfinite(h)) or np.any(h < 0):
        raise BadResult(f"profile h not finite / negative: {h[:5]}")


def check_joint(j: Any) -> None:
    p = np.asarray(j.probs)
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise BadResult("law with non-finite or negative entries")
    if abs(math.fsum(p.ravel().tolist()) - 1.0) > 1e-9:
        raise BadResult(f"law sums to {p.sum()}")


def check_array(a: Any, *, nonneg: bool = True, allow_inf: bool = False) -> None:
    arr = np.asarray(a, dtype=np.float64)
    if np.any(np.isnan(arr)):
        raise BadResult("NaN in result")
    if not allow_inf and not np.all(np.isfinite(arr)):
        raise BadResult("inf in result")
    if nonneg and np.any(arr < 0):
        raise BadResult(f"negative entries {arr[arr < 0][:3]}")


def check_schedule(s: Any) -> None:
    import unmask

    members = s.schedules if isinstance(s, unmask.CompositionLaw) else [s]
    for m in members:
        if not isinstance(m, unmask.Schedule) or min(m.sizes) < 1 or sum(m.sizes) != m.n:
            raise BadResult(f"invalid schedule {m!r}")


# -- entry points -------------------------------------------------------------------------------
Entry = Callable[[Any], Any]
ENTRIES: dict[str, Entry] = {}


def entry(fn: Entry) -> Entry:
    ENTRIES[fn.__name__] = fn
    return fn


@entry
def profile(data: Any) -> Any:
    import unmask

    law = data.draw(joints_or_tables(), label="law")
    prof = unmask.profile(law, base=data.draw(base_arg), threads=data.draw(threads_arg))
    check_profile(prof)
    return prof


@entry
def subset_entropies(data: Any) -> Any:
    import unmask

    law = data.draw(mostly(joints_or_tables(), junk), label="law")
    out = unmask.subset_entropies(law, base=data.draw(base_arg), threads=data.draw(threads_arg))
    check_array(out)
    check_float(unmask.entropy(law), nonneg=True, finite=True)


@entry
def expected_kl(data: Any) -> Any:
    import unmask

    prof = data.draw(profile_args(), label="profile")
    sched = data.draw(schedule_args(_len_of(prof)))
    nonmono = data.draw(mostly(st.sampled_from(["raise", "project", "plain"]), st.just("bogus")))
    value = unmask.expected_kl(prof, sched, nonmonotone=nonmono)
    check_float(value, nonneg=nonmono != "plain", finite=True)


@entry
def sampler_law(data: Any) -> Any:
    import unmask

    law = data.draw(joints_or_tables(4), label="law")
    n = _n_of(law)
    sched = data.draw(schedule_args(n))
    order = data.draw(mostly(st.sampled_from(["random", "left-to-right"]),
                             st.sampled_from(["bogus", None, [0], [1, 0], list(range(n or 1))])))
    cond_kind = data.draw(mostly(st.sampled_from([None, "p_hat", "tempered"]),
                                 st.sampled_from(["callable", "junk"])))
    cond: Any = None
    if cond_kind == "p_hat":
        cond = data.draw(joints_or_tables(4))
        cond = unmask.Joint(cond, normalize=True) if not isinstance(cond, unmask.Joint) else cond
    elif cond_kind == "tempered":
        cond = unmask.Conditionals.tempered(law, data.draw(mostly(
            st.sampled_from([0.5, 2.0, 1e-3, 1e-300, 0.05]),
            st.sampled_from([1e-320, math.nan, "1.5", True]))))
    elif cond_kind == "callable":
        table = np.asarray(law.probs if hasattr(law, "probs") else law, dtype=object)
        q = int(table.shape[0]) if table.ndim else 2  # the harness's own q, never an error
        bad = data.draw(st.sampled_from([None, math.nan, -1.0, "shape", "f32"]))

        def fn(x: Any, j: int) -> Any:
            out = np.full((x.shape[0], q), 1.0 / q)
            if bad == "shape":
                return out[:, :1]
            if bad == "f32":
                return out.astype(np.float32)
            if bad is not None:
                out[0, 0] = bad
            return out

        cond = fn
    elif cond_kind == "junk":
        cond = data.draw(junk)
    out = unmask.sampler_law(law, sched, order=order, conditionals=cond,
                             threads=data.draw(threads_arg))
    check_joint(out)
    value = unmask.kl(law, out)
    check_float(value, nonneg=True)


@entry
def divergences(data: Any) -> Any:
    import unmask

    p = data.draw(law_tables(4), label="p")
    q = data.draw(st.one_of(law_tables(4), st.just(p)), label="q")
    if data.draw(st.booleans()):
        q = np.asarray(q)
        if np.asarray(p).shape == q.shape:
            q = np.asarray(p) * 0.5 + q * 0.5
    value = unmask.kl(p, q, base=data.draw(base_arg))
    check_float(value, nonneg=True)
    check_float(unmask.reverse_kl(p, q), nonneg=True)
    check_float(unmask.tv(p, q), nonneg=True, finite=True, upper=1.0)


@entry
def optimal_schedule(data: Any) -> Any:
    import unmask

    prof = data.draw(profile_args(), label="profile")
    steps = _steps(data, _len_of(prof))
    method = data.draw(mostly(st.sampled_from(["auto", "lagrangian", "layers", "plain"]),
                              st.just("smawk")))
    nonmono = data.draw(st.sampled_from(["project", "plain", "raise"]))
    sched, info = unmask.optimal_schedule(prof, steps, method=method, nonmonotone=nonmono,
                                          return_info=True, threads=data.draw(threads_arg))
    check_schedule(sched)
    check_float(float(info.cost), nonneg=nonmono != "plain", finite=True)


@entry
def optimal_frontier(data: Any) -> Any:
    import unmask

    prof = data.draw(profile_args(), label="profile")
    k = _steps(data, _len_of(prof))
    nonmono = data.draw(st.sampled_from(["project", "plain", "raise"]))
    fr = unmask.optimal_frontier(prof, k, schedules=data.draw(st.booleans()),
                                 nonmonotone=nonmono, threads=data.draw(threads_arg))
    check_array(fr.costs, nonneg=nonmono != "plain")


@entry
def all_bounds(data: Any) -> Any:
    import unmask

    prof = data.draw(profile_args(), label="profile")
    sched = data.draw(schedule_args(_len_of(prof)))
    nonmono = data.draw(st.sampled_from(["raise", "project", "plain"]))
    table = unmask.all_bounds(prof, sched, nonmonotone=nonmono)
    for row in table:
        if math.isnan(row.value):
            raise BadResult(f"NaN in row {row.name}")
    if nonmono != "plain":
        check_float(table.exact, nonneg=True, finite=True)
        if not all(r.holds for r in table if r.kind == "rigorous"):
            raise BadResult("a rigorous bound fails on a monotone profile")


@entry
def schedule_families(data: Any) -> Any:
    from unmask import schedules as S

    name = data.draw(mostly(st.sampled_from(sorted(S.FAMILIES)),
                            st.sampled_from(["bogus", "COSINE", "two_sided"])))
    arg = data.draw(mostly(st.integers(1, 300), st.one_of(profile_args(), junk)),
                    label="n_or_profile")
    steps = _steps(data, arg if isinstance(arg, int) and not isinstance(arg, bool)
                   else _len_of(arg))
    params = data.draw(mostly(st.just({}), st.sampled_from(
        [{"exponent": 2.0}, {"bogus": 1}, {"phases": 3}, {"phases": 10**9}, {"eps": 0.1},
         {"exponent": "2"}, {"sigma_min": 1e-3}])))
    out = S.get(name, arg, steps, **params)
    check_schedule(out)
    n = data.draw(mostly(st.integers(1, 300), st.one_of(st.integers(-1, 0), junk)))
    k = data.draw(st.one_of(st.integers(1, 40), st.none(), junk))
    fam = data.draw(st.sampled_from([S.geometric_unmasked, S.geometric_masked,
                                     S.two_sided_geometric]))
    eps = data.draw(st.one_of(st.none(), bad_float, st.floats(0.01, 1)))
    out = sub(fam, n, k, eps=eps)
    if out is not None:
        check_schedule(out)


@entry
def schedule_objects(data: Any) -> Any:
    import unmask

    sizes = data.draw(st.one_of(schedule_args(None), st.lists(st.integers(-2, 5), max_size=5)))
    s = unmask.Schedule(sizes) if not isinstance(
        sizes, (unmask.BernoulliSizes, unmask.CompositionLaw)) else unmask.Schedule([1])
    check_schedule(s)
    cum = data.draw(st.one_of(st.lists(st.integers(-1, 9), max_size=5), junk))
    out = sub(unmask.Schedule.from_cumulative, cum)
    if out is not None:
        check_schedule(out)
    ratios = data.draw(st.one_of(st.lists(st.floats(allow_nan=True), max_size=4), junk))
    out = sub(unmask.Schedule.from_mask_ratios, ratios, data.draw(st.integers(-1, 20)))
    if out is not None:
        check_schedule(out)


@entry
def exports(data: Any) -> Any:
    from unmask import export

    sched = data.draw(schedule_args(None), label="schedule")
    fn = data.draw(st.sampled_from(["to_csv", "to_dict", "counts_per_step", "cumulative_unmasked",
                                    "remaining_masked", "remaining_mask_ratios", "alpha_knots",
                                    "split_blocks", "tile_blocks", "llada", "from_dict"]))
    if fn == "split_blocks":
        out = export.split_blocks(sched, data.draw(st.one_of(st.integers(-1, 9), junk)))
    elif fn == "tile_blocks":
        out = export.tile_blocks(sched, data.draw(st.one_of(st.integers(-1, 9), junk)))
        check_schedule(out)
    elif fn == "llada":
        out = export.llada_block_counts(data.draw(st.one_of(st.integers(-1, 64), junk)),
                                        data.draw(st.one_of(st.integers(-1, 64), junk)),
                                        data.draw(st.one_of(st.none(), st.integers(-1, 16), junk)))
    elif fn == "from_dict":
        d = data.draw(st.one_of(
            st.fixed_dictionaries({"counts_per_step_unmasked": st.lists(st.integers(-1, 4))}),
            st.fixed_dictionaries({"cumulative_unmasked": st.lists(st.integers(-1, 9)),
                                   "n": st.one_of(st.integers(-1, 9), junk)}),
            st.fixed_dictionaries({"remaining_mask_ratio": st.lists(st.floats(allow_nan=True)),
                                   "n": st.one_of(st.integers(-1, 9), junk)}),
            junk))
        check_schedule(export.from_dict(d))
        return
    else:
        out = getattr(export, fn)(sched)
        if fn == "to_dict":
            assert export.from_dict(out).sizes == tuple(export.counts_per_step(sched))
    if fn == "remaining_mask_ratios" or fn == "alpha_knots":
        vals = out if fn == "remaining_mask_ratios" else np.concatenate(out)
        check_array(vals)


@entry
def conditionals(data: Any) -> Any:
    import unmask

    law = data.draw(joints_or_tables(4), label="law")
    kind = data.draw(st.sampled_from(["exact", "tempered", "from_joint", "callable"]))
    C = unmask.Conditionals
    if kind == "exact":
        cond = C.exact(law)
    elif kind == "from_joint":
        cond = C.from_joint(law)
    elif kind == "tempered":
        cond = C.tempered(law, data.draw(mostly(st.floats(1e-300, 1e3), st.one_of(bad_float,
                                                                                 junk))))
    else:
        q = data.draw(st.one_of(st.integers(1, 3), junk))
        cond = C.from_callable(lambda x, j: np.full((x.shape[0], 3), 1 / 3), 4, q,
                               tol=data.draw(st.sampled_from([1e-8, 1e-5, 0.0, 2.0, math.nan])))
    joint = law if isinstance(law, unmask.Joint) else unmask.Joint(law, normalize=True)
    eps = unmask.learning_errors(joint, cond, threads=data.draw(threads_arg))
    check_array(eps, allow_inf=True)
    if joint.n >= 1:
        d = unmask.decompose(joint, [joint.n], conditionals=cond)
        check_float(d.total, nonneg=True)


@entry
def markov_profile(data: Any) -> Any:
    import unmask

    q = data.draw(mostly(st.integers(2, 4), st.just(1)))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    P: Any = rng.dirichlet(np.full(q, data.draw(st.sampled_from([0.1, 1.0]))), size=q)
    mod = data.draw(mostly(st.none(), st.sampled_from(["nan", "neg", "rect", "junk", "float32"])))
    if mod == "nan":
        P[0, 0] = math.nan
    elif mod == "neg":
        P[0, 0] = -0.1
    elif mod == "rect":
        P = P[:, :1]
    elif mod == "junk":
        P = data.draw(junk)
    elif mod == "float32":
        P = P.astype(np.float32)
    n = data.draw(mostly(st.integers(1, 300), st.one_of(
        st.sampled_from([0, -1, 10**7, 2**64, 10**15]), junk)))
    initial = data.draw(mostly(st.one_of(st.none(), st.just(np.eye(max(q, 1))[0])), junk))
    prof = unmask.markov_profile(P, n, initial, base=data.draw(base_arg),
                                 threads=data.draw(threads_arg))
    check_profile(prof)


@entry
def estimate_profile(data: Any) -> Any:
    import unmask

    law = unmask.joints.random(4, 3, seed=data.draw(st.integers(0, 100)))
    probs = np.asarray(law.probs)
    output = data.draw(mostly(st.sampled_from(["probs", "log_probs", "logits"]), st.just("bogus")))
    flaw = data.draw(mostly(st.none(), st.sampled_from(["nan", "shape", "probs_as_logits",
                                                        "unnormalised"])))

    def model(values: Any, mask: Any) -> Any:
        values = np.asarray(values)
        b, n = values.shape
        out = np.empty((b, n, 3))
        for r in range(b):
            for j in range(n):
                keep = [v for v in range(n) if not mask[r, v] and v != j]
                m = probs.sum(axis=tuple(v for v in range(n) if v not in keep and v != j))
                idx = tuple(values[r, v] if v in keep else slice(None) for v in sorted([*keep, j]))
                row = np.asarray(m[idx], dtype=np.float64).reshape(-1)
                row = row / row.sum() if row.sum() > 0 else np.full(3, 1 / 3)
                out[r, j] = row
        if flaw == "nan":
            out[0, 0, 0] = math.nan
        elif flaw == "shape":
            return out[:, :, :2]
        elif flaw == "unnormalised":
            out *= 1.1
        if output == "log_probs":
            return np.log(np.maximum(out, 1e-300))
        if output == "logits" and flaw != "probs_as_logits":
            return np.log(np.maximum(out, 1e-300)) + 2.0
        return out

    rng = np.random.default_rng(0)
    idx = rng.choice(probs.size, size=40, p=probs.ravel())
    samples = np.stack(np.unravel_index(idx, probs.shape), axis=1)
    data_arg = data.draw(mostly(st.just("good"), st.sampled_from(["float", "bad_symbol"])))
    if data_arg == "float":
        samples = samples.astype(np.float64) + 0.5
    elif data_arg == "bad_symbol":
        samples = samples.copy()
        samples[0, 0] = 7
    prof = unmask.estimate_profile(
        model, samples, 4,
        samples_per_level=data.draw(mostly(st.sampled_from([4, 8]), st.sampled_from([0, -1]))),
        batch_size=data.draw(mostly(st.sampled_from([4, 1]), st.just(0))), output=output,
        tol=data.draw(mostly(st.sampled_from([1e-6, 0.2]), st.sampled_from([0.0, math.nan]))),
        seed=0,
        monotone=data.draw(st.booleans()),
    )
    check_profile(prof)


@entry
def joint_and_profile_objects(data: Any) -> Any:
    import unmask

    table = data.draw(mostly(law_tables(), junk), label="table")
    j = sub(unmask.Joint, table, normalize=data.draw(st.booleans()))
    if j is not None:
        check_joint(j)
    h = data.draw(mostly(h_curves(), junk), label="h")
    prof = sub(unmask.Profile, h, base=data.draw(base_arg))
    if prof is not None:
        check_profile(prof)
        check_profile(prof.monotone())
        check_float(prof.tc, nonneg=True, finite=True)
        check_float(prof.dtc, nonneg=True, finite=True)
    out = sub(unmask.Profile.from_f, data.draw(mostly(h_curves(), junk)))
    if out is not None:
        check_profile(out)
    check_profile(unmask.as_profile(data.draw(profile_args())))


@entry
def cost_matrix(data: Any) -> Any:
    import unmask

    n = data.draw(st.integers(0, 8))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    mat = np.triu(rng.random((n + 1, n + 1)) * data.draw(st.sampled_from([1.0, 1e300, 1e308])), 1)
    if data.draw(st.booleans()) and n > 0:
        mat[0, n] = data.draw(bad_float)
    cm = unmask.CostMatrix(mat)
    sched = unmask.optimal_schedule(cm, _steps(data, n))
    check_schedule(sched)


@entry
def sampling(data: Any) -> Any:
    import unmask

    law = data.draw(joints_or_tables(4), label="law")
    sched = data.draw(schedule_args(_n_of(law)))
    size = data.draw(mostly(st.integers(1, 50), st.one_of(st.sampled_from([0, -1, 10**12]),
                                                          junk)))
    x = unmask.sample(law, sched, size, seed=data.draw(mostly(st.integers(0, 9), junk)))
    arr = np.asarray(x)
    if arr.ndim != 2 or arr.shape[0] != size:
        raise BadResult(f"sample shape {arr.shape}")


@entry
def loss_curve(data: Any) -> Any:
    import unmask

    m = data.draw(mostly(st.integers(2, 8), st.integers(0, 1)))
    ratios = data.draw(mostly(st.lists(st.floats(0.0, 1.0), min_size=m, max_size=m, unique=True),
                              st.one_of(st.lists(st.floats(-0.5, 1.5), min_size=m, max_size=m),
                                        junk)))
    losses = data.draw(mostly(st.lists(st.floats(0, 5), min_size=m, max_size=m), st.one_of(
        st.lists(st.floats(allow_nan=True), min_size=m, max_size=m), junk)))
    n = data.draw(mostly(st.integers(1, 64), st.one_of(st.integers(-1, 0), junk)))
    prof = unmask.profile_from_loss_curve(ratios, losses, n)
    check_profile(prof)


@entry
def fixed_order_and_blocks(data: Any) -> Any:
    import unmask

    law = data.draw(joints_or_tables(4), label="law")
    cm = unmask.fixed_order_costs(law, threads=data.draw(threads_arg))
    n = cm.n
    sched = unmask.optimal_schedule(cm, data.draw(st.integers(1, max(1, n))))
    check_schedule(sched)
    prof = data.draw(profile_args())
    n_prof = _len_of(prof) or 4
    widths = [w for w in range(1, n_prof + 1) if n_prof % w == 0]
    width = data.draw(mostly(st.sampled_from(widths), st.one_of(st.integers(-1, 0), junk)))
    valid_width = isinstance(width, int) and not isinstance(width, bool) and width > 0
    blocks = n_prof // width if valid_width else 1
    steps = data.draw(mostly(st.integers(1, 4).map(lambda m: m * max(1, blocks)),
                             st.one_of(st.integers(-1, 0), junk)))
    out = unmask.optimal_block_schedule(prof, steps, width)
    check_schedule(out)


@entry
def law_builders(data: Any) -> Any:
    import unmask
    from unmask import joints

    n = data.draw(mostly(st.integers(1, 6), st.one_of(st.integers(-1, 0), st.just(40), junk)))
    q = data.draw(mostly(st.integers(2, 3), st.one_of(st.integers(-1, 1), junk)))
    name = data.draw(st.sampled_from(["random", "all_equal", "parity", "independent", "ising",
                                      "markov_chain", "mixture"]))
    value = data.draw(mostly(st.floats(1e-3, 1e3), st.one_of(bad_float, junk,
                                                            st.sampled_from([1e-300, 1e308]))))
    rng = np.random.default_rng(0)
    if name == "random":
        law = joints.random(n, q, concentration=value, seed=data.draw(st.integers(0, 9)))
    elif name == "all_equal":
        law = joints.all_equal(n, q)
    elif name == "parity":
        law = joints.parity(n)
    elif name == "independent":
        m = rng.dirichlet(np.ones(3), size=4)
        if data.draw(st.booleans()):
            m[0, 0] = value
        law = joints.independent(m)
    elif name == "ising":
        size = max(1, min(n, 6)) if isinstance(n, int) and not isinstance(n, bool) else 3
        c = np.triu(np.full((size, size), value), 1) if isinstance(value, float) else value
        law = joints.ising(c + c.T if isinstance(c, np.ndarray) else c)
    elif name == "markov_chain":
        P = rng.dirichlet(np.ones(2), size=2)
        P[0] = [1 - 1e-300, 1e-300] if data.draw(st.booleans()) else P[0]
        law = joints.markov_chain(P, n)
    else:
        law = joints.mixture_of_products([0.5, 0.5], rng.dirichlet(np.ones(2), size=(2, 4)))
    check_joint(law)
    check_profile(unmask.profile(law))


# -- worker: one entry point under hypothesis ---------------------------------------------------
def _guard(_signum: int, _frame: Any) -> None:
    raise Hang(f"call exceeded the {TIME_GUARD_S:.0f} s time guard")


def run_worker(name: str, calls: int, seed: int, last_call_path: str) -> dict[str, Any]:
    import warnings

    warnings.simplefilter("ignore")  # a warning is not a finding; errors and results are
    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))
    signal.signal(signal.SIGALRM, _guard)
    fn = ENTRIES[name]
    stats: dict[str, Any] = {"calls": 0, "ok": 0, "refused": {}, "findings": []}

    @settings(max_examples=calls, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    @given(st.data())
    def body(data: Any) -> None:
        drawn: list[str] = []
        orig_draw = data.draw

        def draw(strategy: Any, label: Any = None) -> Any:
            value = orig_draw(strategy, label)
            text = repr(value)
            drawn.append(text if len(text) < 300 else text[:300] + "...")
            return value

        data.draw = draw
        stats["calls"] += 1
        with open(last_call_path, "w") as fh:
            fh.write(f"{name} call {stats['calls']} (drawing arguments)\n")
        signal.setitimer(signal.ITIMER_REAL, TIME_GUARD_S)
        try:
            fn(data)
            stats["ok"] += 1
        except Hang as exc:
            stats["findings"].append({"kind": "hang", "error": str(exc), "args": drawn})
        except BadResult as exc:
            stats["findings"].append({"kind": "bad result", "error": str(exc), "args": drawn})
        except ALLOWED as exc:
            key = type(exc).__name__
            stats["refused"][key] = stats["refused"].get(key, 0) + 1
            msg = f"{key}: {str(exc)[:70]}"
            stats.setdefault("messages", {})[msg] = stats.get("messages", {}).get(msg, 0) + 1
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            if type(exc).__module__.startswith("hypothesis"):  # its own control flow
                stats["calls"] -= 1
                raise
            stats["findings"].append({
                "kind": "crash" if not isinstance(exc, AssertionError) else "bad result",
                "error": f"{type(exc).__name__}: {exc}"[:500],
                "args": drawn,
                "where": traceback.format_exc(limit=3)[-800:],
            })
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        with open(last_call_path, "a") as fh:
            fh.write("args: " + " | ".join(drawn) + "\n")

    # record the arguments before the call too, for a crash that kills the process
    body()
    stats["sub_refused"] = SUB_REFUSED
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=10_500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default=None)
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--why", action="store_true", help="print the commonest refusals")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--last-call", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.list:
        print("\n".join(ENTRIES))
        return
    if args.worker:
        stats = run_worker(args.worker, args.calls, args.seed, args.last_call)
        print("FUZZ-RESULT " + json.dumps(stats))
        return
    names = [args.only] if args.only else list(ENTRIES)
    per = max(1, math.ceil(args.calls / len(names)))
    total_calls, total_ok, total_sub, findings = 0, 0, 0, []
    refused: dict[str, int] = {}
    start = time.perf_counter()
    for name in names:
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
            last = fh.name
        t0 = time.perf_counter()
        env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", name, "--calls", str(per),
             "--seed", str(args.seed), "--last-call", last],
            capture_output=True, text=True, env=env, check=False,
            timeout=per * TIME_GUARD_S + 600,
        )
        line = [x for x in proc.stdout.splitlines() if x.startswith("FUZZ-RESULT ")]
        if proc.returncode != 0 or not line:
            with open(last) as fh:
                context = fh.read()[-1500:]
            findings.append({"entry": name, "kind": "worker died",
                             "error": f"exit {proc.returncode}: {proc.stderr[-1500:]}",
                             "args": [context]})
            print(f"{name:26s} WORKER DIED (exit {proc.returncode})")
            os.unlink(last)
            continue
        os.unlink(last)
        stats = json.loads(line[0][len("FUZZ-RESULT "):])
        total_calls += stats["calls"]
        total_ok += stats["ok"]
        for k, v in stats["refused"].items():
            refused[k] = refused.get(k, 0) + v
        total_sub += sum(stats.get("sub_refused", {}).values())
        for f in stats["findings"]:
            findings.append({"entry": name, **f})
        if args.why:
            common = sorted(stats.get("messages", {}).items(), key=lambda kv: -kv[1])[:6]
            for msg, count in common:
                print(f"    {count:4d}  {msg}")
        print(f"{name:26s} {stats['calls']:6d} calls  {stats['ok']:6d} ok  "
              f"{sum(stats['refused'].values()):6d} refused  {len(stats['findings']):3d} findings  "
              f"({time.perf_counter() - t0:.1f} s)")
    elapsed = time.perf_counter() - start
    print(f"\n{total_calls} calls in {elapsed:.0f} s: {total_ok} returned checked results, "
          f"{sum(refused.values())} refused with documented exceptions {refused} "
          f"(and {total_sub} secondary calls refused), {len(findings)} findings")
    for f in findings[:40]:
        print(f"- [{f['entry']}] {f['kind']}: {f['error']}\n    args: {f['args']}")
        if "where" in f:
            print("    " + f["where"].replace("\n", "\n    "))
    sys.exit(1 if findings else 0)


if __name__ == "__main__":
    main()
