"""`unmask adaptive` and the adaptive section of `unmask verify`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from oracle_adaptive import brute_force_law

import unmask
from unmask.cli import main
from unmask.samplers import adaptive as adaptive_module
from unmask.verification import verify


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_cli_rules_side_by_side_match_the_library() -> None:
    code, out = _run("adaptive", "random", "--n", "5", "--steps", "3", "--json")
    assert code == 0
    payload = json.loads(out)
    p = unmask.joints.random(5, 2, concentration=0.5, seed=0)  # the CLI's random law
    rows = {row["rule"]: row for row in payload["laws"]}
    assert sorted(rows) == sorted(["random", "max-prob", "margin", "entropy", "sampled-prob"])
    for rule, row in rows.items():
        law, _ = brute_force_law(p.probs, rule, [2, 2, 1])
        assert row["kl"] == pytest.approx(unmask.kl(p, unmask.Joint(law.reshape((2,) * 5))),
                                          rel=1e-9, abs=1e-14)
        assert row["schedule"] == [2, 2, 1] and row["expected_steps"] == 3


def test_cli_threshold_and_blocks() -> None:
    code, out = _run("adaptive", "random", "--n", "5", "--rule", "threshold",
                     "--threshold", "0.7", "--block-width", "2", "--json")
    assert code == 0
    row = json.loads(out)["laws"][0]
    p = unmask.joints.random(5, 2, concentration=0.5, seed=0)
    _, steps = brute_force_law(p.probs, "threshold", tau=0.7, block_of=[0, 0, 1, 1, 2])
    np.testing.assert_allclose(row["steps_pmf"], steps, atol=1e-12)
    assert row["block_width"] == 2 and row["threshold"] == 0.7
    code, out = _run("adaptive", "random", "--n", "6", "--rule", "sampled-prob", "--steps", "4",
                     "--block-width", "3", "--json")
    assert code == 0
    assert json.loads(out)["laws"][0]["schedule"] == [[2, 1], [2, 1]]
    code, out = _run("adaptive", "parity", "--n", "4", "--rule", "max-prob", "--sizes", "2,1,1")
    assert code == 0 and "max-prob" in out


def test_cli_frontier_table_json_and_plot(tmp_path: pytest.TempPathFactory) -> None:
    png = tmp_path / "frontier.png"  # type: ignore[operator]
    code, out = _run("adaptive", "random", "--n", "4", "--frontier", "0.6,0.9", "--json")
    assert code == 0
    payload = json.loads(out)
    fr = unmask.threshold_frontier(unmask.joints.random(4, 2, concentration=0.5, seed=0),
                                   [0.6, 0.9])
    assert [t["kl"] for t in payload["threshold"]] == fr.kl.tolist()
    assert [row["optimal_expected_kl"] for row in payload["fixed"]] == fr.optimal.tolist()
    code, _ = _run("adaptive", "random", "--n", "4", "--frontier", "0.6", "--plot", str(png))
    assert code == 0 and png.stat().st_size > 1000  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rule", "threshold"], "needs --threshold"),
        (["--rule", "threshold", "--threshold", "1.5"], "threshold must lie in (0, 1]"),
        (["--rule", "threshold", "--threshold", "0.5", "--steps", "2"], "takes no --steps"),
        (["--rule", "max-prob"], "exactly one of --steps K or --sizes"),
        (["--rule", "max-prob", "--steps", "2", "--threshold", "0.5"], "--rule threshold only"),
        (["--sizes", "2,2"], "the schedule is for n = 4 but the joint has n = 5"),
        (["--sizes", "2,x"], "comma-separated"),
        (["--steps", "4", "--block-width", "2"], "not a multiple of the number of blocks"),
        (["--rule", "bogus"], "Invalid value for '--rule'"),
        (["--plot", "x.png", "--steps", "2"], "--plot draws the threshold frontier"),
    ],
)
def test_cli_bad_input_is_a_usage_error(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["adaptive", "random", "--n", "5", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_cli_refuses_a_profile_source(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "h.json"  # type: ignore[operator]
    path.write_text("[0.6, 0.5, 0.4]")
    result = CliRunner().invoke(main, ["adaptive", str(path), "--steps", "2"])
    assert result.exit_code == 2 and "needs a joint law" in result.output


def test_verify_adaptive_section_passes_and_reports_rules() -> None:
    res = verify(quick=True, laws=["random-1", "copy-pair"], ks=[2, 3])
    assert res.ok
    names = {c.name for c in res.checks if c.law == "random-1"}
    for expected in ("random rule = sampler_law", "max-prob, one token per step: KL = 0",
                     "threshold 1 = sampled-prob one per step", "sampled-prob: P(K steps) = 1"):
        assert expected in names
    report = next(law for law in res.laws if law.name == "random-1")
    ad = report.curves["adaptive"]
    assert ad["K"] == [2, 3]
    p = unmask.joints.random(5, 2, 0.3, seed=0)
    assert ad["rules"]["sampled-prob"][0] == unmask.adaptive_law(
        p, "sampled-prob", unmask.Schedule.constant(5, 2)).kl
    assert json.dumps(res.to_dict())  # JSON-ready
    code, out = _run("verify", "--quick", "--law", "random-1", "--no-progress")
    assert code == 0 and "adaptive rules (section 11)" in out


def test_verify_catches_a_wrong_adaptive_law(monkeypatch: pytest.MonkeyPatch) -> None:
    real = adaptive_module.adaptive_law

    def skewed(joint, rule, *args, **kwargs):  # type: ignore[no-untyped-def]
        law = real(joint, rule, *args, **kwargs)
        if rule != "random":
            return law
        flat = law.law.flat.copy()
        flat[0] += 1e-3
        return adaptive_module.AdaptiveLaw(unmask.Joint(flat.reshape(law.law.probs.shape),
                                                        normalize=True),
                                           law.steps_pmf, law.target, law.rule, law.schedule)

    monkeypatch.setattr(adaptive_module, "adaptive_law", skewed)
    res = verify(quick=True, laws=["random-1"], ks=[2])
    failed = {v.name for v in res.violations}
    assert "random rule = sampler_law" in failed


@pytest.mark.parametrize("target, expect", [
    ("no-such-dir/frontier.png", "no directory"),
    ("frontier.txt", "cannot write a figure as .txt"),
])
def test_cli_frontier_bad_plot_target_is_a_usage_error_before_the_work(
    tmp_path, monkeypatch, target, expect
) -> None:
    monkeypatch.chdir(tmp_path)
    calls = []
    monkeypatch.setattr(unmask, "threshold_frontier",
                        lambda *a, **k: calls.append(a))  # must not be reached
    code, out = _run("adaptive", "parity", "--n", "4", "--frontier", "0.5", "--plot", target)
    assert code == 2, out
    assert expect in out and not calls


def test_threshold_frontier_reports_progress_to_the_end() -> None:
    p = unmask.joints.random(4, 2, seed=0)
    calls: list[tuple[int, int]] = []
    fr = unmask.threshold_frontier(p, [0.6, 0.9], rules=("random", "max-prob"),
                                   progress=lambda d, t: calls.append((d, t)))
    total = 2 + 1 + 4 * 2  # thresholds, the optimal schedules, rules x K
    assert calls[0] == (0, total) and calls[-1] == (total, total)
    assert all(t == total for _, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    again = unmask.threshold_frontier(p, [0.6, 0.9], rules=("random", "max-prob"))
    np.testing.assert_array_equal(fr.kl, again.kl)


def test_cli_frontier_json_marks_undefined_cells_null() -> None:
    # two blocks of width 2 cannot run K = 1: those cells are undefined, JSON null (not "nan")
    code, out = _run("adaptive", "random", "--n", "4", "--frontier", "0.5", "--block-width", "2",
                     "--json")
    assert code == 0, out
    first = json.loads(out)["fixed"][0]
    assert first["steps"] == 1 and first["optimal_expected_kl"] is None and first["random"] is None
    second = json.loads(out)["fixed"][1]
    assert isinstance(second["random"], float) and second["random"] >= 0
