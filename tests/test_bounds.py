"""Bounds of theory section 6 against exact values from the engine on random laws."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import unmask
from unmask.schedules import bounds as B
from unmask.schedules import families as S


@st.composite
def composition_of(draw: st.DrawFn, n: int) -> list[int]:
    cuts = draw(st.sets(st.integers(1, n - 1), max_size=n - 1)) if n > 1 else set()
    b = [0, *sorted(cuts), n]
    return [b[i + 1] - b[i] for i in range(len(b) - 1)]


@st.composite
def law_and_schedule(draw: st.DrawFn) -> tuple[unmask.Joint, list[int]]:
    q = draw(st.integers(2, 3))
    n = draw(st.integers(2, 8 if q == 2 else 6))
    conc = draw(st.sampled_from([0.05, 0.2, 1.0]))
    seed = draw(st.integers(0, 2**32 - 1))
    joint = unmask.joints.random(n, q, concentration=conc, seed=seed)
    return joint, draw(composition_of(n))


def _w(sizes: list[int] | tuple[int, ...]) -> np.ndarray:
    """w(l) = i_k + s_k - 1 - l for l inside block k (theory section 6), l = 0..n-1."""
    out, i = [], 0
    for s in sizes:
        out.extend(i + s - 1 - pos for pos in range(i, i + s))
        i += s
    return np.array(out, dtype=np.float64)


RIGOROUS = ("dimension-free", "dimension-free log q", "TC", "DTC", "Li-Cai MI")


@given(law_and_schedule())
def test_rigorous_bounds_hold_on_random_laws(case: tuple[unmask.Joint, list[int]]) -> None:
    joint, sizes = case
    exact = unmask.expected_kl(joint, sizes)  # engine: subset entropies -> profile -> identity
    tol = 1e-10 * max(1.0, exact)
    prof = unmask.profile(joint)
    assert B.dimension_free(prof, sizes) >= exact - tol
    assert B.dimension_free_alphabet(prof, sizes, joint.q) >= exact - tol
    assert B.tc_bound(prof, sizes) >= exact - tol
    assert B.dtc_bound(prof, sizes) >= exact - tol
    assert B.exact(prof, sizes) == pytest.approx(exact, rel=1e-12, abs=1e-14)
    table = B.all_bounds(joint, sizes)
    assert table.exact == pytest.approx(exact, rel=1e-12, abs=1e-14)
    for name in RIGOROUS:
        assert table[name].kind == "rigorous"
        assert table[name].holds is True


@given(law_and_schedule(), st.integers(1, 4))
def test_rigorous_bounds_hold_for_a_law_over_schedules(
    case: tuple[unmask.Joint, list[int]], k: int
) -> None:
    joint, sizes = case
    n = joint.n
    law = unmask.CompositionLaw([sizes, S.constant(n, min(k, n))], [0.3, 0.7])
    exact = unmask.expected_kl(joint, law)
    prof = unmask.profile(joint)
    for fn in (B.dimension_free, B.tc_bound, B.dtc_bound):
        assert fn(prof, law) >= exact - 1e-10 * max(1.0, exact)


@given(st.integers(2, 30), st.data())
def test_eps_equal_brute_force_max_of_weights(n: int, data: st.DataObject) -> None:
    sizes = data.draw(composition_of(n))
    w = _w(sizes)[: n - 1]  # f is indexed l = 0..n-2
    ell = np.arange(n - 1)
    assert B.tc_eps(sizes) == pytest.approx(float(np.max(w / (n - 1 - ell))), abs=1e-15)
    assert B.dtc_eps(sizes) == pytest.approx(float(np.max(w / (ell + 1))), abs=1e-15)


@given(st.integers(2, 10), st.integers(2, 4), st.data())
def test_dimension_free_attained_by_all_equal(n: int, q: int, data: st.DataObject) -> None:
    if q**n > 200_000:
        n = 6
    sizes = data.draw(composition_of(n))
    sizes = sorted(sizes, reverse=True)  # largest step first: s_1 = s_max
    joint = unmask.joints.all_equal(n, q)
    exact = unmask.expected_kl(joint, sizes)
    closed_form = (sizes[0] - 1) * math.log(q)  # theory section 9
    assert exact == pytest.approx(closed_form, abs=1e-12)
    assert B.dimension_free(joint, sizes) == pytest.approx(closed_form, abs=1e-12)
    assert B.dimension_free_alphabet(joint, sizes, q) == pytest.approx(closed_form, abs=1e-12)


def test_closed_forms_parity_and_independent() -> None:
    parity = unmask.joints.parity(5)
    log2 = math.log(2)
    for sizes, expected in (([1, 1, 1, 2], log2), ([2, 2, 1], 0.0), ([5], log2)):
        table = B.all_bounds(parity, sizes)
        assert table.exact == pytest.approx(expected, abs=1e-12)
        assert all(r.holds for r in table.rows if r.kind == "rigorous")
    # parity(5): TC = log 2 (eps_TC = 1), DTC = 4 log 2 (eps_DTC = 1/4): both tight here
    assert B.tc_bound(parity, [1, 1, 1, 2]) == pytest.approx(log2, abs=1e-12)
    assert B.dtc_bound(parity, [1, 1, 1, 2]) == pytest.approx(log2, abs=1e-12)
    indep = unmask.joints.independent(np.full((4, 3), 1 / 3))
    for fn in (B.dimension_free, B.tc_bound, B.dtc_bound, B.mutual_information):
        assert fn(indep, [4]) == pytest.approx(0.0, abs=1e-12)


def test_bounds_hold_for_the_schedules_that_target_them() -> None:
    joint = unmask.joints.random(8, 2, concentration=0.1, seed=7)
    prof = unmask.profile(joint)
    for eps in (0.2, 0.5, 1.0):
        tc_sched = S.geometric_masked(8, eps=eps)
        dtc_sched = S.geometric_unmasked(8, eps=eps)
        assert unmask.expected_kl(prof, tc_sched) <= eps * prof.tc + 1e-12
        assert unmask.expected_kl(prof, dtc_sched) <= eps * prof.dtc + 1e-12


def test_units_follow_the_profile() -> None:
    joint = unmask.joints.all_equal(4, 2)
    bits = unmask.profile(joint, base=2)
    assert B.dimension_free_alphabet(bits, [3, 1], 2) == pytest.approx(2.0)
    assert B.dimension_free(bits, [3, 1]) == pytest.approx(2.0)
    assert B.all_bounds(bits, [3, 1]).unit == "bits"


def test_reference_rows_formulas() -> None:
    prof = unmask.Profile.from_f([0.5, 0.2, 0.1, 0.0, 0.05], h_last=0.3)
    sizes = [3, 2, 1]
    n, k = 6, 3
    # Li-Cai v2: (2^ceil(log2 s_max) - 1) / n * sum_i I(X_i; X_-i), s_max = 3 -> factor 3
    assert B.mutual_information(prof, sizes) == pytest.approx(
        (4 - 1) / n * n * (0.5 + 0.2 + 0.1 + 0.05)
    )
    assert B.randomized_tc(prof, sizes) == pytest.approx(prof.tc * math.log(n) / k)
    assert B.randomized_dtc(prof, sizes) == pytest.approx(prof.dtc * math.log(n) / k)
    f = np.array([0.5, 0.2, 0.1, 0.0, 0.05])
    pred = np.sqrt(f).sum() ** 2 / (2 * k) - f.sum() / 2
    assert B.sqrt_rule_prediction(prof, sizes) == pytest.approx(max(0.0, pred))
    assert B.sqrt_rule_prediction(prof, k) == B.sqrt_rule_prediction(prof, sizes)


def test_table_object() -> None:
    joint = unmask.joints.random(5, 2, concentration=0.3, seed=1)
    t = unmask.all_bounds(joint, [2, 2, 1])
    names = [r.name for r in t.rows]
    assert names[0] == "exact" and len(t) == len(names)
    assert {"dimension-free", "dimension-free log q", "TC", "DTC", "Li-Cai MI"} <= set(names)
    assert {r.kind for r in t} == {"exact", "rigorous", "reference", "prediction"}
    assert t["sqrt-rule optimum"].holds is None
    text = repr(t)
    assert "dimension-free" in text and "rigorous" in text and "nats" in text
    d = json.loads(json.dumps(t.to_dict()))
    assert d["exact"] == pytest.approx(t.exact)
    assert [r["name"] for r in d["rows"]] == names
    # a profile alone has no alphabet size: no log q row
    assert "dimension-free log q" not in [r.name for r in B.all_bounds(unmask.profile(joint), [5])]
    with pytest.raises(KeyError, match="no bound named"):
        t["nope"]


def test_bound_errors() -> None:
    prof = unmask.Profile.from_f([0.5, 0.2, 0.1])
    with pytest.raises(ValueError, match="schedule is for n = 3 but the profile has n = 4"):
        B.tc_bound(prof, [2, 1])
    with pytest.raises(TypeError, match="not BernoulliSizes"):
        B.dimension_free(prof, S.bernoulli("linear", 4, 2))
    with pytest.raises(ValueError, match="alphabet size q must be an integer >= 2"):
        B.dimension_free_alphabet(prof, [4], 1)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        B.sqrt_rule_prediction(prof, 0)
    with pytest.raises(ValueError, match="NaN"):
        B.all_bounds([0.5, float("nan"), 0.1], [3])
    with pytest.raises(ValueError, match="at least one token"):
        B.dtc_bound(prof, [4, 0])


# -- Li-Cai (v2) ----------------------------------------------------------------------------------
def _mi_sum_brute(joint: unmask.Joint) -> float:
    """sum_i I(X_i ; X_-i) = sum_i (H(X_i) + H(X_-i) - H(X)), from the table with numpy."""
    p = joint.probs
    n = p.ndim

    def ent(a: np.ndarray) -> float:
        a = a[a > 0]
        return float(-(a * np.log(a)).sum())

    total = ent(p.ravel())
    out = 0.0
    for i in range(n):
        others = tuple(j for j in range(n) if j != i)
        out += ent(p.sum(axis=others)) + ent(p.sum(axis=i)) - total
    return out


def test_li_cai_factor_is_the_next_power_of_two_minus_one() -> None:
    for s in range(1, 70):
        pow2 = 1
        while pow2 < s:
            pow2 *= 2
        assert B.li_cai_factor(s) == pow2 - 1
    with pytest.raises(ValueError, match="s_max must be an integer >= 1"):
        B.li_cai_factor(0)


@given(law_and_schedule())
def test_li_cai_is_rigorous_and_in_profile_terms(case: tuple[unmask.Joint, list[int]]) -> None:
    joint, sizes = case
    exact = unmask.expected_kl(joint, sizes)
    # the published form, with sum_i I(X_i; X_-i) from the joint table (independent of the
    # profile engine), equals the profile form (2^ceil(log2 s_max) - 1)(h(0) - h(n-1))
    published = B.li_cai_factor(max(sizes)) / joint.n * _mi_sum_brute(joint)
    value = B.mutual_information(joint, sizes)
    assert value == pytest.approx(published, rel=1e-9, abs=1e-12)
    assert value >= exact - 1e-10 * max(1.0, exact)
    assert value >= B.dimension_free(joint, sizes) - 1e-12  # never tighter than LZ
    row = B.all_bounds(joint, sizes)["Li-Cai MI"]
    assert row.kind == "rigorous" and row.holds is True and "2505.21400" not in row.name


def test_li_cai_holds_on_every_embedded_law() -> None:
    from unmask.verification import verify

    res = verify(quick=True, ks=[2, 3, 4])
    rows = [b for c in res.cases for b in c.bounds if b.name == "Li-Cai MI"]
    assert rows and all(b.kind == "rigorous" for b in rows)
    checked = [c for c in res.checks if c.name == "bound Li-Cai MI"]
    assert checked and all(c.status == "pass" for c in checked)


def test_reference_rows_never_fail() -> None:
    # the Zhao-Cai rates fall below the exact value here (all-equal, K = 2): still no "NO"
    joint = unmask.joints.all_equal(6, 2)
    table = B.all_bounds(joint, [5, 1])
    ref = [r for r in table.rows if r.kind == "reference"]
    assert ref and any(r.value < table.exact for r in ref)
    assert all(r.holds is None for r in ref)
    assert "NO" not in repr(table).split()


def test_table_prints_round_off_as_zero() -> None:
    # independent variables: every value is 0 up to 1e-15 of round-off in the profile
    table = B.all_bounds(unmask.joints.independent([[0.3, 0.7]] * 5), [3, 2])
    cells = [re.split(r"\s{2,}", line) for line in repr(table).splitlines()[2:]]
    shown = {c[0]: c[1] for c in cells}
    assert shown["exact"] == "0" and shown["TC"] == "0" and shown["dimension-free"] == "0"
    assert shown["dimension-free log q"] == "1.38629"
    assert abs(table.exact) < 1e-12  # the rows keep the raw numbers
