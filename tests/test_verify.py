"""The embedded verification suite: structure, honesty of its verdicts, error paths."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

import unmask
from unmask import verification
from unmask.schedules import cost
from unmask.verification import BoundValue, Check, VerifyResult, default_suite, verify

sys.path.insert(0, str(Path(__file__).parent))
from oracle_dp import schedule_cost_direct


@pytest.fixture(scope="module")
def quick() -> VerifyResult:
    return verify(quick=True)


def test_quick_suite_passes_and_covers_every_law(quick: VerifyResult) -> None:
    assert quick.ok, quick
    names = {law.name for law in quick.laws}
    assert not quick.missing and not quick.skipped  # every ingredient is in this build
    assert {s.name for s in default_suite(quick=True)} <= names
    assert {"sec9 f=1/(l+1)^2", "sec9 f=1/(l+1)"} <= names
    kinds = {c.kind for c in quick.passed}
    assert kinds == {"closed-form", "identity", "bound"}
    assert quick.counts()["pass"] == len(quick.passed) > 50


def test_result_is_json_ready(quick: VerifyResult) -> None:
    d = quick.to_dict()
    text = json.dumps(d, allow_nan=False)  # no NaN/inf numbers may leak into JSON
    back = json.loads(text)
    assert back["ok"] is True
    assert set(back) >= {"ok", "counts", "laws", "cases", "checks", "missing", "elapsed_s"}
    law = back["laws"][0]
    assert set(law) >= {"name", "n", "q", "h", "f", "tc", "dtc", "entropy", "curves"}
    assert len(law["h"]) == law["n"] and len(law["f"]) == law["n"] - 1
    check = back["checks"][0]
    assert set(check) == {"law", "name", "kind", "status", "value", "reference", "relation",
                          "schedule", "steps", "detail"}
    assert sum(back["counts"].values()) == len(back["checks"])


def test_case_errors_match_the_direct_sum_oracle(quick: VerifyResult) -> None:
    # Every exact expected KL the suite reports equals the term-by-term sum of section 5.
    profiles = {law.name: law.profile for law in quick.laws}
    checked = 0
    for case in quick.cases:
        if case.expected_kl is None:
            continue
        h = profiles[case.law].h
        assert case.expected_kl == pytest.approx(
            schedule_cost_direct(h, case.sizes), rel=1e-9, abs=1e-9
        )
        checked += 1
    assert checked >= 20


def test_closed_forms_of_section_9_are_checked(quick: VerifyResult) -> None:
    by_name = {(c.law, c.name): c for c in quick.checks}
    c = by_name[("copy-pair", "E KL = (1/3) log 2")]
    assert c.status == "pass" and c.reference == pytest.approx(0.2310, abs=1e-4)
    assert by_name[("all-equal", "f = (log q, 0, ..., 0)")].status == "pass"
    assert by_name[("parity", "f = (0, ..., 0, log 2)")].status == "pass"
    assert by_name[("sec9 f=1/(l+1)", "constant schedule cost")].reference == 105.30


def test_injected_engine_error_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = cost.expected_kl

    def off_by_a_bit(*args: object, **kwargs: object) -> float:
        return real(*args, **kwargs) + 1e-3  # type: ignore[arg-type]

    monkeypatch.setattr(cost, "expected_kl", off_by_a_bit)
    res = verify(quick=True, laws=["all-equal", "copy-pair"], ks=[2])
    assert not res.ok
    failed = {(v.law, v.name) for v in res.violations}
    assert ("all-equal", "E KL = (s_1 - 1) log q") in failed
    assert ("copy-pair", "E KL = (1/3) log 2") in failed
    assert all(v.status == "fail" for v in res.violations)
    assert "FAILED" in repr(res)


def test_violated_rigorous_bound_is_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    def tight_bounds(self: object, prof: unmask.Profile, sched: unmask.Schedule, q: int):
        exact = unmask.expected_kl(prof, sched)
        return [
            BoundValue("too-small", exact - 0.1, "rigorous", False, "injected"),
            BoundValue("prediction", exact - 0.1, "prediction", None, "injected"),
        ]

    monkeypatch.setattr(verification._Ingredients, "bounds_of", tight_bounds)
    res = verify(quick=True, laws=["markov"], ks=[2], families=["constant"])
    bad = [v for v in res.violations if v.kind == "bound"]
    assert bad and all(v.name == "bound too-small" for v in bad)
    assert all(v.relation == "<=" and v.value > v.reference for v in bad)
    # A prediction that undershoots is reported, never counted as a violation.
    assert not any("prediction" in v.name for v in res.violations)


def test_missing_ingredient_is_skipped_not_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(unmask, "sampler_law", None, raising=False)
    res = verify(quick=True, laws=["copy-pair"], ks=[2], families=["constant"])
    mixture_checks = [c for c in res.checks if "qbar" in c.name]
    assert mixture_checks and all(c.status == "skipped" for c in mixture_checks)
    assert any("sampler_law" in m for m in res.missing)
    assert all(case.mixture_kl is None for case in res.cases)
    assert res.ok  # skipped is not a failure ...
    assert all(c not in res.passed for c in mixture_checks)  # ... and not a pass


def test_progress_callback_reaches_the_total() -> None:
    seen: list[tuple[str, int, int]] = []
    verify(quick=True, laws=["parity", "independent"], ks=[2],
           progress=lambda d, done, total: seen.append((d, done, total)))
    assert seen[-1][1] == seen[-1][2] == 2  # the two laws asked for
    assert [s[1] for s in seen] == sorted(s[1] for s in seen)


def test_curves_for_plots_have_one_value_per_k(quick: VerifyResult) -> None:
    law = next(x for x in quick.laws if x.name == "markov")
    ks = law.curves["K"]
    assert ks == list(range(1, law.n + 1))
    const = law.curves["families"]["constant"]
    assert len(const) == len(ks)
    # K = 1 costs TC, K = n costs nothing (sections 2 and 5).
    assert const[0] == pytest.approx(law.profile.tc, rel=1e-9)
    assert const[-1] == pytest.approx(0.0, abs=1e-12)


def test_check_to_dict_maps_infinity_to_a_string() -> None:
    c = Check("x", "kl", "identity", "fail", value=math.inf, reference=0.0, relation="==")
    assert c.to_dict()["value"] == "inf"
    assert json.dumps(c.to_dict(), allow_nan=False)
    assert Check("x", "y", "identity", "pass", value=float("nan")).to_dict()["value"] == "nan"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"laws": ["no-such-law"]}, "unknown law"),
        ({"families": ["zigzag"]}, "unknown schedule family"),
        ({"ks": [0]}, "step counts must be >= 1"),
        ({"ks": []}, "ks is empty"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        verify(quick=True, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        # these used to run: 2.5 truncated to 2, True read as K = 1, "markov" as 6 letters
        ({"ks": [2.5]}, "step counts must be integers, got 2.5"),
        ({"ks": [True]}, "step counts must be integers, got True"),
        ({"ks": [float("nan")]}, "step counts must be integers"),
        ({"ks": 2}, "ks must be a sequence"),
        ({"laws": "markov"}, "laws must be a sequence of law names"),
        ({"families": "constant"}, "families must be a sequence"),
    ],
)
def test_bad_argument_types(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(TypeError, match=match):
        verify(quick=True, **kwargs)  # type: ignore[arg-type]


def test_explicit_ks_apply_to_the_real_length_law() -> None:
    # The Markov chain at a real length has its own default K (4, 16, 64); an explicit ks
    # used to be ignored for it.
    res = verify(quick=True, laws=["markov n=200"], ks=[2, 5])
    assert sorted({c.steps for c in res.cases}) == [2, 5]
    res = verify(quick=True, laws=["markov n=200"], families=["constant"])
    assert sorted({c.steps for c in res.cases}) == [4, 16, 64]


def test_laws_filter_and_section9_selection() -> None:
    res = verify(quick=True, laws=["section-9"])
    assert [x.name for x in res.laws] == ["sec9 f=1/(l+1)^2", "sec9 f=1/(l+1)"]
    const = [c for c in res.cases if c.family == "constant"]
    ref = {"sec9 f=1/(l+1)^2": 36.84, "sec9 f=1/(l+1)": 105.30}
    for c in const:
        f = np.asarray(res.laws[0 if "^2" in c.law else 1].profile.f)
        h = np.concatenate([np.cumsum(f[::-1])[::-1], [0.0]])
        assert schedule_cost_direct(h, c.sizes) == pytest.approx(ref[c.law], abs=5e-3)


def test_exact_mixture_kl_is_checked_against_section_9(quick: VerifyResult) -> None:
    by_name = {(c.law, c.name): c for c in quick.checks}
    c = by_name[("copy-pair", "KL(p||qbar) = log(6/5)")]
    assert c.status == "pass" and c.value == pytest.approx(math.log(6 / 5), rel=1e-12)
    c = by_name[("copy-pair", "order average = E KL")]
    assert c.status == "pass" and c.value == pytest.approx(math.log(2) / 3, rel=1e-12)
    computed = [case for case in quick.cases if case.mixture_kl is not None]
    assert computed and all(case.mixture_kl <= case.expected_kl + 1e-12 for case in computed)


def test_every_rigorous_bound_is_checked_on_every_case(quick: VerifyResult) -> None:
    for case in quick.cases:
        if case.expected_kl is None:
            continue
        rigorous = [b for b in case.bounds if b.kind == "rigorous"]
        names = {b.name for b in rigorous}
        assert {"dimension-free", "TC", "DTC"} <= names
        checked = {c.name for c in quick.checks if c.law == case.law
                   and c.schedule == case.family and c.steps == case.steps and c.kind == "bound"}
        assert {f"bound {n}" for n in names} <= checked
        for b in rigorous:  # independently: every rigorous bound is >= the exact value
            assert case.expected_kl <= b.value + 1e-9 * max(1.0, b.value)


def test_optimal_never_loses_to_a_family(quick: VerifyResult) -> None:
    best = {(c.law, c.steps): c.expected_kl for c in quick.cases if c.family == "optimal"}
    for c in quick.cases:
        if c.expected_kl is not None and (c.law, c.steps) in best:
            assert best[(c.law, c.steps)] <= c.expected_kl + 1e-12


def test_every_listed_law_runs_under_quick() -> None:
    # random-6 exists in the full suite only; markov n=2000 is markov n=200 in the quick one
    res = verify(quick=True, laws=["random-6", "markov n=2000"], ks=[2])
    assert res.ok
    assert [law.name for law in res.laws] == ["markov n=200", "random-6"]
    assert {law.name: law.n for law in res.laws}["random-6"] == 11


def test_progress_names_the_adaptive_planner_and_blockwise_sections() -> None:
    # the later sections of a law take most of its time: the bar says which one runs
    seen: list[tuple[str, int, int]] = []
    verify(quick=True, laws=["parity", "random-1"], ks=[2],
           progress=lambda d, done, total: seen.append((d, done, total)))
    names = [d for d, _, _ in seen]
    for law in ("parity", "random-1"):
        got = [d.split(": ", 1)[1] for d in names if d.startswith(f"{law}: ")]
        assert got == ["adaptive", "planners", "blockwise"], names
    assert [s[1] for s in seen] == sorted(s[1] for s in seen)
    assert seen[-1][1] == seen[-1][2]
