"""The command line: outputs, exit codes (0, 1, 2), files, plots, bad arguments."""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import unmask
from unmask.cli import main
from unmask.schedules import cost

os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, str(Path(__file__).parent))
from oracle_dp import schedule_cost_direct

LOG2 = math.log(2)


def run(*args: str) -> tuple[int, str]:
    """Exit code and everything printed (stdout and stderr)."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def run_stdout(*args: str) -> tuple[int, str]:
    """Exit code and stdout only (what a pipe would receive)."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout


# -- verify ----------------------------------------------------------------------------------
def test_verify_quick_json_structure() -> None:
    code, out = run("verify", "--quick", "--json", "--no-progress")
    assert code == 0, out
    data = json.loads(out)
    assert data["ok"] is True and data["quick"] is True
    assert data["counts"]["fail"] == 0 and data["counts"]["pass"] > 50
    names = [law["name"] for law in data["laws"]]
    assert {"all-equal", "parity", "independent", "copy-pair", "random-1", "random-2",
            "markov", "ising", "mixture"} <= set(names)
    for case in data["cases"]:
        assert set(case) == {"law", "family", "steps", "sizes", "expected_kl", "mixture_kl",
                             "bounds", "note"}
        if case["sizes"] is not None:
            assert sum(case["sizes"]) == data["laws"][names.index(case["law"])]["n"]
    statuses = {c["status"] for c in data["checks"]}
    assert statuses <= {"pass", "fail", "skipped"}


def test_verify_table_output() -> None:
    code, out = run("verify", "--quick", "--law", "copy-pair", "--law", "parity")
    assert code == 0
    assert "copy-pair" in out and "parity" in out
    assert "OK:" in out and "0 failed" in out
    # the closed form (1/3) log 2 of section 9 appears in the K=2 row of copy-pair
    assert "0.231" in out


def test_verify_exits_1_on_an_injected_violation(monkeypatch: pytest.MonkeyPatch) -> None:
    real = cost.expected_kl
    monkeypatch.setattr(cost, "expected_kl", lambda *a, **k: real(*a, **k) * 1.01 + 1e-3)
    code, out = run("verify", "--quick", "--law", "all-equal", "-K", "2")
    assert code == 1
    assert "FAIL" in out and "E KL = (s_1 - 1) log q" in out
    code, out = run("verify", "--quick", "--law", "all-equal", "-K", "2", "--json")
    assert code == 1 and json.loads(out)["ok"] is False


def test_verify_plot_writes_pngs(tmp_path: Path) -> None:
    out_dir = tmp_path / "figs"
    code, out = run("verify", "--quick", "--law", "markov", "--law", "copy-pair",
                    "--plot", str(out_dir))
    assert code == 0, out
    files = sorted(p.name for p in out_dir.iterdir())
    assert "02-markov-profile.png" in files and "02-markov-error-vs-K.png" in files
    assert "schedule-shapes.png" in files
    for p in out_dir.iterdir():
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 2000


def test_verify_verbose_lists_checks() -> None:
    code, out = run("verify", "--quick", "--law", "copy-pair", "-K", "2", "-v")
    assert code == 0
    assert "checks" in out and "E KL = (1/3) log 2" in out


def test_real_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "unmask"
    assert script.exists(), "the unmask console script is not installed next to python"
    proc = subprocess.run(
        [str(script), "verify", "--quick", "--law", "copy-pair", "--json"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    ekl = next(c for c in data["checks"] if c["name"] == "E KL = (1/3) log 2")
    assert ekl["status"] == "pass" and ekl["value"] == pytest.approx(LOG2 / 3, rel=1e-12)
    bad = subprocess.run([str(script), "verify", "--law", "nope"], capture_output=True,
                         text=True, timeout=60, check=False)
    assert bad.returncode == 2 and "Usage:" in bad.stderr


# -- bad arguments and missing files ---------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["verify", "--law", "no-such-law"], "no-such-law"),
        (["verify", "--steps", "0"], "--steps"),
        (["profile"], "Missing argument 'SOURCE'"),
        (["profile", "markov", "--q", "1"], "--q"),
        (["profile", "markov", "--kind", "bogus"], "--kind"),
        (["schedule", "markov"], "Missing option '--steps'"),
        (["schedule", "markov", "--steps", "3", "--encoding", "zigzag"], "--encoding"),
        (["schedule", "markov", "--n", "6", "--steps", "7", "--family", "constant"],
         "exceeds n = 6"),
        (["frontier", "markov", "--max-steps", "0"], "--max-steps"),
        (["nonsense-command"], "No such command"),
        (["profile", "parity", "--n", "1"], "parity needs n >= 2"),
        (["profile", "all-equal", "--n", "60", "--q", "16"], "needs about"),
    ],
)
def test_bad_arguments_exit_2_with_usage(args: list[str], message: str) -> None:
    code, out = run(*args)
    assert code == 2
    assert "Usage:" in out and message in out


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_profile.json"
    for cmd in (["profile", str(missing)], ["schedule", str(missing), "-K", "2"],
                ["frontier", str(missing)]):
        code, out = run(*cmd)
        assert code == 2
        assert "file not found" in out and "no_such_profile.json" in out


def test_unreadable_files_are_usage_errors(tmp_path: Path) -> None:
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    code, out = run("profile", str(bad_json))
    assert code == 2 and "not valid JSON" in out
    neg = tmp_path / "neg.json"
    neg.write_text(json.dumps({"h": [0.5, -1.0]}))
    code, out = run("profile", str(neg))
    assert code == 2 and "non-negative" in out
    odd = tmp_path / "x.parquet"
    odd.write_text("")
    code, out = run("profile", str(odd))
    assert code == 2 and "unsupported file type" in out
    ragged = tmp_path / "ragged.npy"
    np.save(ragged, np.ones((2, 3)))
    code, out = run("profile", str(ragged))
    assert code == 2 and "--kind" in out


# -- profile -----------------------------------------------------------------------------------
def test_profile_builtin_json_matches_closed_form() -> None:
    code, out = run("profile", "all-equal", "--n", "5", "--q", "3", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["n"] == 5 and data["q"] == 3 and data["unit"] == "nats"
    np.testing.assert_allclose(data["f"], [math.log(3), 0, 0, 0], atol=1e-12)
    assert data["tc"] == pytest.approx(4 * math.log(3), rel=1e-12)


def test_profile_of_a_joint_npy_and_bits(tmp_path: Path) -> None:
    path = tmp_path / "parity.npy"
    np.save(path, unmask.joints.parity(4).probs)
    code, out = run("profile", str(path), "--base", "2", "--json")
    assert code == 0
    data = json.loads(out)
    np.testing.assert_allclose(data["f"], [0, 0, 1.0], atol=1e-12)  # section 9, in bits
    assert data["unit"] == "bits"


def test_profile_of_samples_csv_and_npy(tmp_path: Path) -> None:
    # Empirical law: X_0 = X_1 = X_2 with a fair coin -> the all-equal law (section 9).
    rows = ["x0,x1,x2"] + ["0,0,0", "1,1,1"] * 5
    csv_path = tmp_path / "samples.csv"
    csv_path.write_text("\n".join(rows) + "\n")
    code, out = run("profile", str(csv_path), "--json")
    assert code == 0, out
    np.testing.assert_allclose(json.loads(out)["f"], [LOG2, 0.0], atol=1e-12)
    npy = tmp_path / "samples.npy"
    np.save(npy, np.array([[0, 0, 0], [1, 1, 1]] * 3, dtype=np.int64))
    code, out = run("profile", str(npy), "--json")
    assert code == 0
    np.testing.assert_allclose(json.loads(out)["f"], [LOG2, 0.0], atol=1e-12)


def test_profile_table_and_plot(tmp_path: Path) -> None:
    png = tmp_path / "p.png"
    code, out = run("profile", "parity", "--n", "4", "--plot", str(png))
    assert code == 0
    assert "h(i)" in out and "TC" in out
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 2000


def test_profile_json_round_trips_into_schedule(tmp_path: Path) -> None:
    code, out = run("profile", "markov", "--n", "9", "--json")
    prof_path = tmp_path / "p.json"
    prof_path.write_text(out)
    code, out = run("schedule", str(prof_path), "-K", "4", "--family", "constant")
    assert code == 0
    data = json.loads(out)
    h = np.array(json.loads(prof_path.read_text())["h"])
    assert data["values"] == [3, 2, 2, 2] == data["sizes"]  # LLaDA: remainder first
    assert data["expected_kl"] == pytest.approx(schedule_cost_direct(h, data["sizes"]),
                                                rel=1e-12)
    assert "per step" in data["convention"]


# -- schedule encodings ------------------------------------------------------------------------
def test_schedule_encodings_are_consistent(tmp_path: Path) -> None:
    h_path = tmp_path / "h.csv"
    h_path.write_text("\n".join(str(v) for v in np.linspace(1.0, 0.1, 12)) + "\n")
    enc = {}
    for encoding in ("counts", "cumulative", "mask-ratios", "alpha"):
        code, out = run("schedule", str(h_path), "-K", "5", "--family", "constant",
                        "--encoding", encoding)
        assert code == 0, out
        enc[encoding] = json.loads(out)["values"]
    counts = enc["counts"]
    assert sum(counts) == 12 and len(counts) == 5
    assert enc["cumulative"] == np.cumsum(counts).tolist()
    np.testing.assert_allclose(enc["mask-ratios"], 1 - np.cumsum(counts) / 12)
    np.testing.assert_allclose(enc["alpha"], np.concatenate([[0], np.cumsum(counts) / 12]))
    code, out = run("schedule", str(h_path), "-K", "5", "--family", "constant",
                    "--encoding", "cumulative", "--format", "csv")
    lines = out.strip().splitlines()
    assert lines[0] == "step,cumulative_unmasked"
    assert [int(row.split(",")[1]) for row in lines[1:]] == enc["cumulative"]


# -- Python side -------------------------------------------------------------------------------
def test_profile_plot_method_and_missing_matplotlib(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prof = unmask.profile(unmask.joints.markov_chain([[0.8, 0.2], [0.3, 0.7]], 6))
    fig = prof.plot(title="markov")
    assert len(fig.axes) == 2
    path = tmp_path / "prof.png"
    fig.savefig(path)
    assert path.stat().st_size > 2000
    band = unmask.Profile(prof.h, stderr=np.full(prof.n, 0.01))
    assert len(band.plot().axes[0].collections) == 1  # the confidence band
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"unmask\[plot\]"):
        prof.plot()


# -- solver-backed commands (optimal schedules, frontier) -------------------------------------
def _h_of(source_args: list[str]) -> np.ndarray:
    code, out = run("profile", *source_args, "--json")
    assert code == 0
    return np.array(json.loads(out)["h"])


def test_frontier_json_matches_the_plain_dp_oracle(tmp_path: Path) -> None:
    from oracle_dp import plain_frontier

    args = ["markov", "--n", "10", "--param", "0.8"]
    h = _h_of(args)
    png = tmp_path / "frontier.png"
    code, out = run_stdout("frontier", *args, "--max-steps", "6", "--json", "--plot",
                           str(png))
    assert code == 0, out
    data = json.loads(out)
    assert data["K"] == [1, 2, 3, 4, 5, 6]
    np.testing.assert_allclose(data["optimal"], plain_frontier(h, 6), rtol=1e-9, atol=1e-12)
    for k, c in zip(data["K"], data["constant"], strict=True):
        sizes = unmask.Schedule.constant(10, k).sizes
        assert c == pytest.approx(schedule_cost_direct(h, sizes), rel=1e-9, abs=1e-12)
    assert png.read_bytes()[:4] == b"\x89PNG"
    code, out = run("frontier", *args, "--max-steps", "4")
    assert code == 0 and "constant/optimal" in out


def test_optimal_schedule_matches_brute_force() -> None:
    from oracle_dp import brute_force_optimum

    args = ["random", "--n", "9", "--seed", "4", "--param", "0.4"]
    h = _h_of(args)
    code, out = run("schedule", *args, "--steps", "3")
    assert code == 0, out
    data = json.loads(out)
    best_cost, _ = brute_force_optimum(h, 3)
    assert data["family"] == "optimal" and sum(data["sizes"]) == 9
    assert data["expected_kl"] == pytest.approx(best_cost, rel=1e-9, abs=1e-12)
    assert schedule_cost_direct(h, data["sizes"]) == pytest.approx(best_cost, rel=1e-9,
                                                                   abs=1e-12)


def test_schedule_blocks_and_all_encodings() -> None:
    code, out = run("schedule", "markov", "--n", "16", "--steps", "4", "--family", "constant",
                    "--encoding", "blocks", "--block-width", "8")
    assert code == 0, out
    assert json.loads(out)["values"] == [[4, 4], [4, 4]]
    code, out = run("schedule", "markov", "--n", "16", "--steps", "3", "--family", "constant",
                    "--encoding", "blocks", "--block-width", "8")
    assert code == 2 and "straddles" in out
    code, out = run("schedule", "markov", "--n", "16", "--steps", "4", "--family", "constant",
                    "--encoding", "blocks")
    assert code == 2 and "--block-width" in out
    code, out = run("schedule", "markov", "--n", "12", "--steps", "3", "--family", "constant",
                    "--encoding", "all")
    values = json.loads(out)["values"]
    assert values["counts_per_step_unmasked"] == [4, 4, 4]
    assert values["cumulative_unmasked"] == [4, 8, 12]
    assert values["remaining_masked"] == [8, 4, 0]
    code, out = run("schedule", "markov", "--n", "12", "--steps", "3", "--family", "constant",
                    "--encoding", "all", "--format", "csv")
    assert out.splitlines()[0].startswith("step,unmasked_at_step,cumulative_unmasked")
    assert len(out.strip().splitlines()) == 4


def test_every_family_of_the_registry_is_reachable() -> None:
    h = _h_of(["markov", "--n", "12"])
    from oracle_dp import brute_force_optimum

    best, _ = brute_force_optimum(h, 4)
    for family in ("constant", "cosine", "geometric-unmasked", "geometric-masked", "sqrt",
                   "linear", "dtc", "tc"):
        code, out = run("schedule", "markov", "--n", "12", "--steps", "4", "--family", family)
        assert code == 0, (family, out)
        data = json.loads(out)
        assert sum(data["sizes"]) == 12 and len(data["sizes"]) == 4
        assert data["expected_kl"] >= best - 1e-12  # nothing beats the optimum


# -- real-length sources ------------------------------------------------------------------------
def test_schedule_from_a_loss_curve_csv(tmp_path: Path) -> None:
    path = tmp_path / "loss.csv"
    path.write_text("ratio,loss\n1.0,3.0\n0.5,2.0\n0.1,1.5\n")
    code, out = run_stdout("schedule", str(path), "--n", "10", "--steps", "2", "--family",
                           "constant", "--loss-fit", "interpolate", "--extrapolate", "constant")
    assert code == 0, out
    data = json.loads(out)
    # h(i) is the loss at ratio 1 - i/n, linear in between (--loss-fit interpolate);
    # constant (5, 5): g(0,5) + g(5,10) from that curve, term by term.
    h = np.interp(1 - np.arange(10) / 10, [0.1, 0.5, 1.0], [1.5, 2.0, 3.0])
    assert data["expected_kl"] == pytest.approx(schedule_cost_direct(h, [5, 5]), rel=1e-9)
    code, out = run("schedule", str(path), "--steps", "2")
    assert code == 2 and "--n" in out


def test_progress_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from rich.console import Console

    from unmask import cli

    buf = io.StringIO()
    monkeypatch.setattr(cli, "_console", lambda stderr=False: Console(
        file=buf, force_terminal=True, width=100))
    calls: list[tuple[str, int, int]] = []

    def fake_verify(progress: object = None, **kwargs: object) -> str:
        assert callable(progress)
        for done in range(3):
            progress(f"law{done}", done, 3)
            calls.append((f"law{done}", done, 3))
        return "result"

    assert cli._run_with_progress(fake_verify, {}, enabled=True) == "result"
    assert len(calls) == 3 and "verify" in buf.getvalue()
    # Without a terminal (pipes, CI logs) no bar is drawn and no callback is passed.
    monkeypatch.setattr(cli, "_console", lambda stderr=False: Console(file=io.StringIO()))
    assert cli._run_with_progress(lambda **kw: sorted(kw), {"x": 1}, enabled=True) == ["x"]


def test_bad_loss_curve_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "loss.csv"
    path.write_text("ratio,loss\n1.0,3.0\n0.5,-2.0\n")
    code, out = run("schedule", str(path), "--n", "10", "--steps", "2")
    assert code == 2 and "not a valid loss curve" in out


def test_profile_of_the_digit_patch_law() -> None:
    code, out = run("profile", "digits", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["n"] == 16 and data["q"] == 2
    p = unmask.datasets.digit_patches().flat
    p = p[p > 0]
    assert sum(data["h"]) == pytest.approx(float(-(p * np.log(p)).sum()), rel=1e-9)


# -- review: adversarial inputs (each a bug found in review) ----------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        # a parameter the law cannot honour used to be replaced silently by the default
        (["markov", "--param", "1.5"], "stay probability in [0, 1], got 1.5"),
        (["markov", "--param", "nan"], "stay probability"),
        (["mixture", "--param", "2.5"], "number of components"),
        (["random", "--param", "0"], "Dirichlet concentration > 0"),
        (["parity", "--param", "0.3"], "takes no parameter"),
        # a length or alphabet the law cannot honour used to be ignored silently
        (["parity", "--q", "3"], "q is 2, got 3"),
        (["ising", "--q", "3", "--n", "4"], "q is 2, got 3"),
        (["copy-pair", "--n", "7"], "has n = 3, got 7"),
        (["digits", "--n", "8"], "has n = 16, got 8"),
        (["random", "--seed", "-1"], "--seed"),  # was numpy's "expected non-negative integer"
        # q**n beyond any memory used to end in OverflowError: int too large to convert
        (["all-equal", "--n", "10000000"], "about 10^3010300 entries"),
        (["all-equal", "--n", "2000"], "about 10^602 entries"),
    ],
)
def test_law_options_are_validated(args: list[str], message: str) -> None:
    code, out = run("profile", *args)
    assert code == 2, out
    assert "Usage:" in out and message in out


@pytest.mark.parametrize(("param", "f0"), [("1.0", LOG2), ("0.0", LOG2), ("0.5", 0.0)])
def test_markov_param_is_honoured_at_the_ends(param: str, f0: float) -> None:
    # stay 1 or 0: every token is a function of X_0, the all-equal profile of section 9;
    # stay 1/2: independent fair bits, f = 0. (The old code replaced 1.0 and 0.0 by 0.9.)
    code, out = run_stdout("profile", "markov", "--n", "6", "--param", param, "--json")
    assert code == 0, out
    np.testing.assert_allclose(json.loads(out)["f"], [f0, 0, 0, 0, 0], atol=1e-12)


def test_mixture_of_one_component_is_independent() -> None:
    code, out = run_stdout("profile", "mixture", "--n", "5", "--param", "1", "--json")
    assert code == 0, out
    np.testing.assert_allclose(json.loads(out)["f"], np.zeros(4), atol=1e-12)


def test_unreadable_sources_are_usage_errors(tmp_path: Path) -> None:
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\x89\xff\xfe\x00 binary")
    code, out = run("profile", str(binary))  # was a UnicodeDecodeError traceback
    assert code == 2 and "bin.csv is not a text file" in out
    huge = tmp_path / "huge.csv"
    huge.write_text("0,1\n1,1e300\n")
    code, out = run("profile", str(huge))  # was cast to int64 min and misreported
    assert code == 2 and "small non-negative integers, got 1e+300" in out
    cplx = tmp_path / "c.npy"
    np.save(cplx, np.array([1.0 + 1.0j, 0.5]))
    code, out = run("profile", str(cplx))  # the imaginary part was dropped silently
    assert code == 2 and "real numbers" in out and "complex" in out
    h_json = tmp_path / "h.json"
    h_json.write_text("[1.0, 0.5]")
    code, out = run("profile", str(h_json), "--kind", "samples")  # --kind was ignored
    assert code == 2 and "--kind" in out and "h curve" in out
    code, out = run("profile", str(h_json), "--param", "0.3")  # --param was ignored
    assert code == 2 and "--param applies to the built-in laws" in out
    strings = tmp_path / "s.json"
    strings.write_text('{"h": ["a", "b"]}')
    code, out = run("profile", str(strings))
    assert code == 2 and "real numbers" in out


def _pava_by_hand() -> np.ndarray:
    # h = (0.1, 0.2, 0.05, 0.3, 0.0): the first four pool to their mean 0.65/4, then 0.
    return np.array([0.1625, 0.1625, 0.1625, 0.1625, 0.0])


def test_non_monotone_h_is_projected_and_said(tmp_path: Path) -> None:
    from oracle_dp import brute_force_optimum, plain_frontier

    h = np.array([0.1, 0.2, 0.05, 0.3, 0.0])
    path = tmp_path / "h.csv"
    path.write_text("\n".join(map(repr, h.tolist())) + "\n")
    # default: project (pool adjacent violators), and report every cost on the projected h;
    # the old command printed the optimum of the projected h with the raw h's cost (-0.25).
    result = CliRunner().invoke(main, ["schedule", str(path), "-K", "2"])
    assert result.exit_code == 0, result.output
    assert "projected onto non-increasing" in result.stderr
    data = json.loads(result.stdout)
    assert data["monotone"] is False and data["projected"] is True
    best, _ = brute_force_optimum(_pava_by_hand(), 2)
    assert data["expected_kl"] == pytest.approx(best, abs=1e-12)
    assert data["expected_kl"] >= 0.0
    result = CliRunner().invoke(main, ["frontier", str(path), "--json"])
    data = json.loads(result.stdout)
    np.testing.assert_allclose(data["optimal"], plain_frontier(_pava_by_hand(), 5), atol=1e-12)
    assert all(o <= c + 1e-12 for o, c in zip(data["optimal"], data["constant"], strict=True))
    # plain: the raw curve with the plain DP, costs on that same curve (negative here)
    result = CliRunner().invoke(main, ["schedule", str(path), "-K", "2", "--nonmonotone",
                                       "plain"])
    data = json.loads(result.stdout)
    best, _ = brute_force_optimum(h, 2)
    assert data["projected"] is False and "kept as given" in result.stderr
    assert data["expected_kl"] == pytest.approx(best, abs=1e-12) and best < 0
    assert data["expected_kl"] == pytest.approx(schedule_cost_direct(h, data["sizes"]),
                                                abs=1e-12)
    result = CliRunner().invoke(main, ["frontier", str(path), "--json", "--nonmonotone",
                                       "plain"])
    np.testing.assert_allclose(json.loads(result.stdout)["optimal"], plain_frontier(h, 5),
                               atol=1e-12)
    code, out = run("schedule", str(path), "-K", "2", "--nonmonotone", "raise")
    assert code == 2 and "not non-increasing (largest increase 0.25)" in out
    code, out = run_stdout("profile", str(path), "--json")
    assert code == 0 and json.loads(out)["monotone"] is False


def test_verify_bad_plot_dir_and_quick_only_names(tmp_path: Path) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("")
    code, out = run("verify", "--quick", "--law", "parity", "--plot", str(blocker / "sub"))
    assert code == 2  # was a NotADirectoryError traceback; exit 1 is for failed checks only
    assert "cannot write figures to" in out and "afile" in out
    # a law of the full suite that the quick suite lacks (listed by --help): it runs
    code, out = run("verify", "--quick", "--law", "random-5", "-K", "2")
    assert code == 0 and "random-5" in out


def test_busy_spinner_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from rich.console import Console

    from unmask import cli

    buf = io.StringIO()
    monkeypatch.setattr(cli, "_console", lambda stderr=False: Console(
        file=buf, force_terminal=True, width=100))
    with cli._busy("exact profile (n=3)"):
        pass
    assert "exact profile (n=3)" in buf.getvalue()
    quiet = io.StringIO()
    monkeypatch.setattr(cli, "_console", lambda stderr=False: Console(file=quiet))
    with cli._busy("exact profile (n=3)"):
        pass
    assert quiet.getvalue() == ""


def test_every_documented_command_line_runs(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # Each `unmask ...` line of docs/command-line.md, in order, with the files the page
    # assumes (samples.csv, joint.npy, loss.csv); the full `verify` runs with --quick here.
    import shlex

    page = Path(__file__).resolve().parent.parent / "docs" / "command-line.md"
    lines, fence = [], None
    for raw in page.read_text().splitlines():
        if raw.startswith("```"):
            fence = raw[3:] if fence is None else None
        elif fence == "" and raw.startswith("unmask "):
            lines.append(raw.split("#")[0].strip())
    assert len(lines) >= 10
    monkeypatch.chdir(tmp_path)
    (tmp_path / "samples.csv").write_text("a,b,c\n" + "0,0,1\n1,1,0\n0,0,0\n" * 4)
    np.save(tmp_path / "joint.npy", unmask.joints.parity(4).probs)
    (tmp_path / "loss.csv").write_text(
        "ratio,loss\n1.0,3.0\n0.8,2.7\n0.6,2.4\n0.4,2.1\n0.2,1.8\n0.05,1.4\n")
    for line in lines:
        args = shlex.split(line)[1:]
        target = None
        if ">" in args:
            target = tmp_path / args[args.index(">") + 1]
            args = args[: args.index(">")]
        if args[0] == "verify" and "--quick" not in args:
            args.append("--quick")
        if args[0] == "verify" and "--plot" in args:
            args += ["--law", "copy-pair"]  # every law's figures take ~10 s: one law here
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, (line, result.output)
        if target is not None:
            target.write_text(result.stdout)
    assert (tmp_path / "figs").is_dir() and (tmp_path / "frontier.png").stat().st_size > 2000


@pytest.mark.parametrize(("q", "stay"), [(2, 0.8), (3, 0.6)])
def test_long_markov_source_uses_the_exact_chain_profile(q: int, stay: float) -> None:
    # `profile markov --n 64` (documented) used to be refused: 2^64 dense entries. Beyond
    # n = 16 the chain's exact profile is used; H(X) = H(X_0) + (n-1) H(X_1 | X_0) for the
    # stationary (uniform) start, and TC = n log q - H(X), both by hand.
    n = 40
    code, out = run_stdout("profile", "markov", "--n", str(n), "--q", str(q), "--param",
                           str(stay), "--json")
    assert code == 0, out
    data = json.loads(out)
    row = np.array([stay] + [(1 - stay) / (q - 1)] * (q - 1))
    entropy = math.log(q) + (n - 1) * float(-(row * np.log(row)).sum())
    assert data["n"] == n and len(data["h"]) == n
    assert sum(data["h"]) == pytest.approx(entropy, rel=1e-12)
    assert data["tc"] == pytest.approx(n * math.log(q) - entropy, rel=1e-9)


def test_long_tables_show_head_and_tail() -> None:
    # A real-length profile used to print every row (10^7 rows took minutes and GBs).
    from unmask.cli import TABLE_MAX_ROWS

    n = 5000
    code, out = run_stdout("profile", "markov", "--n", str(n))
    assert code == 0
    assert f"of {n} rows not shown; --json has all" in " ".join(out.split())
    assert out.count("\n") < TABLE_MAX_ROWS + 30
    prof = unmask.markov_profile(np.array([[0.9, 0.1], [0.1, 0.9]]), n)
    last = next(ln for ln in out.splitlines() if f" {n - 1} " in ln)  # last row shown
    assert f"{prof.h[-1]:.6g}" in last


def test_plot_helpers_refuse_bad_input(tmp_path: Path) -> None:
    from unmask.plotting import plot_error_vs_steps, plot_frontier, save_verification_figures

    with pytest.raises(ValueError, match="curve 'c' has 1 values for 2 steps"):
        plot_error_vs_steps([1, 2], {"c": [1.0]})
    with pytest.raises(ValueError, match="bound 'b' has 1 values for 2 steps"):
        plot_error_vs_steps([1, 2], {"c": [1.0, 0.5]}, bounds={"b": [1.0]})
    with pytest.raises(ValueError, match="optimal has 3 values"):
        plot_error_vs_steps([1, 2], {}, optimal=[1.0, 0.5, 0.1])
    with pytest.raises(ValueError, match="1-d"):
        plot_frontier([[1.0, 0.5], [0.2, 0.0]])  # was raveled into K = 1..4 silently
    with pytest.raises(ValueError, match="NaN"):
        plot_frontier([float("nan"), 0.0])
    with pytest.raises(TypeError, match="VerifyResult"):
        save_verification_figures("not a result", tmp_path)  # type: ignore[arg-type]


def test_frontier_plot_method(tmp_path: Path) -> None:
    from oracle_dp import plain_frontier

    prof = unmask.profile(unmask.joints.markov_chain([[0.8, 0.2], [0.3, 0.7]], 7))
    fr = unmask.optimal_frontier(prof, 7)
    const = [cost.expected_kl(prof, unmask.Schedule.constant(7, k)) for k in range(1, 8)]
    fig = fr.plot(compare={"constant": const}, title="markov")
    lines = {ln.get_label(): ln for ln in fig.axes[0].get_lines()}
    # the drawn optimum is the plain DP's, zeros (K = n) left off the log axis
    y = np.asarray(lines["optimal (DP)"].get_ydata(), dtype=float)
    ref = np.asarray(plain_frontier(prof.h, 7), dtype=float)
    np.testing.assert_allclose(y[ref > 0], ref[ref > 0], rtol=1e-9)
    assert "constant" in lines
    path = tmp_path / "fr.png"
    fig.savefig(path)
    assert path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="curve 'constant' has 2 values for 7 steps"):
        fr.plot(compare={"constant": const[:2]})


# -- found by a new user: optimal schedules per LLaDA block, float32 joints ---------------------
def test_optimal_blocks_match_brute_force_over_block_respecting_schedules() -> None:
    from oracle_blocks import block_profile_direct
    from oracle_dp import compositions

    from unmask.cli import build_law

    args = ["random", "--n", "12", "--seed", "2", "--param", "0.4"]
    code, out = run("schedule", *args, "--steps", "6", "--encoding", "blocks",
                    "--block-width", "4")
    assert code == 0, out
    data = json.loads(out)
    assert data["exact_blockwise"] is True
    # every schedule LLaDA can run (2 steps in each block of 4), costed blockwise (theory
    # section 10) from block profiles computed straight from their definition
    hb = block_profile_direct(build_law("random", 12, 2, 2, 0.4).probs, [4, 4, 4])
    per_block = list(compositions(4, 2))
    best = min(
        sum(schedule_cost_direct(h, c) for h, c in zip(hb, combo, strict=True))
        for combo in itertools.product(per_block, repeat=3)
    )
    assert data["expected_kl"] == pytest.approx(best, rel=1e-9, abs=1e-12)
    assert [sum(b) for b in data["values"]] == [4, 4, 4]
    assert all(len(b) == 2 for b in data["values"])


def test_optimal_blocks_from_an_h_curve_are_the_flagged_proxy(tmp_path: Path) -> None:
    from oracle_dp import compositions

    args = ["random", "--n", "12", "--seed", "2", "--param", "0.4"]
    h = _h_of(args)
    path = tmp_path / "h.json"
    path.write_text(json.dumps({"h": h.tolist()}))
    code, out = run("schedule", str(path), "--steps", "6", "--encoding", "blocks",
                    "--block-width", "4")
    assert code == 0, out
    data = json.loads(out)
    assert data["exact_blockwise"] is False
    allowed = []
    for sizes in compositions(12, 6):
        ends = np.cumsum(sizes)
        if all(int(np.sum((ends > 4 * b) & (ends <= 4 * b + 4))) == 2 for b in range(3)):
            allowed.append(sizes)
    best = min(schedule_cost_direct(h, s) for s in allowed)
    assert tuple(data["sizes"]) in {tuple(s) for s in allowed}
    assert data["expected_kl"] == pytest.approx(best, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--steps", "5", "--block-width", "4"], "not a multiple of the number of blocks"),
        (["--steps", "9", "--block-width", "5"], "3 steps per block > block width 2"),
        (["--steps", "24", "--block-width", "4"], "8 steps per block > block width 4"),
        (["--steps", "6"], "needs --block-width"),
    ],
)
def test_optimal_blocks_bad_arguments(extra: list[str], message: str) -> None:
    code, out = run("schedule", "markov", "--n", "12", "--encoding", "blocks", *extra)
    assert code == 2 and message in out, out


def test_straddling_family_points_to_the_blockwise_optimum() -> None:
    code, out = run("schedule", "markov", "--n", "16", "--steps", "3", "--family", "constant",
                    "--encoding", "blocks", "--block-width", "8")
    assert code == 2 and "straddles" in out and "--family optimal" in out


def test_float32_joint_gets_a_command_line_hint(tmp_path: Path) -> None:
    law = unmask.datasets.digit_patches()
    path = tmp_path / "joint32.npy"
    np.save(path, law.probs.astype(np.float32))
    code, out = run("profile", str(path))
    assert code == 2, out
    assert "normalize=True" not in out
    assert "p / p.sum(), in float64" in out and "float32 is too coarse" in out
    np.save(path, (law.probs / law.probs.sum()).astype(np.float64))
    code, out = run("profile", str(path), "--json")
    assert code == 0 and json.loads(out)["n"] == 16


def test_loss_curve_columns_are_found_by_name(tmp_path: Path) -> None:
    path = tmp_path / "loss.csv"
    path.write_text("loss,mask_ratio\n3.0,1.0\n2.0,0.5\n1.5,0.1\n")
    code, out = run_stdout("schedule", str(path), "--n", "10", "--steps", "2", "--family",
                           "constant", "--loss-fit", "interpolate", "--extrapolate", "constant")
    assert code == 0, out
    h = np.interp(1 - np.arange(10) / 10, [0.1, 0.5, 1.0], [1.5, 2.0, 3.0])
    assert json.loads(out)["expected_kl"] == pytest.approx(schedule_cost_direct(h, [5, 5]),
                                                           rel=1e-9)


def test_help_texts_are_complete() -> None:
    # found by a new user: truncated command summaries, options without any help
    code, out = run("--help")
    commands = out.split("Commands:")[1]
    assert code == 0 and "..." not in commands
    code, out = run("schedule", "--help")
    for text in ("fraction still masked after each step", "LLaDA's even split",
                 "JSON (with the convention", "the last block is shorter"):
        assert text in " ".join(out.split()), text


# -- input files: strict numbers, streaming, clear errors ------------------------------------
def test_csv_numbers_are_strict(tmp_path: Path) -> None:
    # Python's float() reads '1_0' as 10; a table of measurements must not
    for text, where in (("1_0\n0.5\n", "line 1, column 1"),
                        ("h\n0.7\n1_0\n", "line 3, column 1"),
                        ("0.7\nnan\n", "line 2, column 1"),
                        ("0.7\n0x10\n", "line 2, column 1")):
        path = tmp_path / "h.csv"
        path.write_text(text)
        code, out = run("profile", str(path))
        assert code == 2 and where in out, out
        assert "Traceback" not in out
    from unmask._io import parse_number

    assert parse_number(" -1.5e3 ") == -1500.0
    for bad in ("1_0", "inf", "NaN", "0x1p3", "\u0661", "1e999", ""):
        with pytest.raises(ValueError):
            parse_number(bad)


def test_ragged_csv_says_ragged_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "loss.csv"
    path.write_text("ratio,loss\n0.5,1.0\n1.0,2.0,3.0\n")
    code, out = run("schedule", str(path), "--n", "8", "-K", "2")
    assert code == 2 and "ragged" in out and "line 3 has 3 columns" in out
    assert "non-numeric" not in out


def test_read_table_streams_into_one_float_array(tmp_path: Path) -> None:
    from unmask._io import TableError, read_table

    rng = np.random.default_rng(0)
    data = rng.random((2000, 3))
    path = tmp_path / "t.csv"
    np.savetxt(path, data, delimiter=",", header="a,B,c", comments="# note\n")
    header, values = read_table(path)
    assert header == ["a", "b", "c"]
    np.testing.assert_array_equal(values, data)  # repr round trip through numpy's reader
    # a whitespace-only line and comments: read by the careful path, same numbers
    path.write_text("x\n1.5 # first\n   \n2.5\n")
    assert read_table(path)[1].tolist() == [[1.5], [2.5]]
    with pytest.raises(TableError, match="is 22 B; tables above 8 B are not read"):
        read_table(path, max_bytes=8)
    path.write_text("a,b\n")
    with pytest.raises(TableError, match="no data rows"):
        read_table(path)
    # a byte-order mark before the first value: a number, not a header (the value was lost)
    path.write_bytes("\ufeff0.5\n0.25\n".encode())
    header, values = read_table(path)
    assert header is None and values.tolist() == [[0.5], [0.25]]
    code, out = run_stdout("profile", str(path), "--json")
    assert code == 0 and json.loads(out)["h"] == [0.5, 0.25]
    path.write_bytes("\ufeffratio,loss\n1,0.5\n".encode())
    assert read_table(path)[0] == ["ratio", "loss"]
    path.write_bytes(b"\xff\xfe1,2\n")
    with pytest.raises(TableError, match="not a text file"):
        read_table(path)


def test_read_table_memory_is_the_array_not_python_lists(tmp_path: Path) -> None:
    import tracemalloc

    from unmask._io import read_table

    rows = 200_000
    path = tmp_path / "big.csv"
    np.savetxt(path, np.arange(rows * 2, dtype=np.float64).reshape(rows, 2) / 7,
               delimiter=",")
    tracemalloc.start()
    _, values = read_table(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert values.shape == (rows, 2)
    # the float64 result is 3.2 MB; csv rows and Python float lists took ~30x that
    assert peak < 2 * values.nbytes, peak


def test_npy_json_and_number_edge_cases_are_usage_errors(tmp_path: Path) -> None:
    np.savez(tmp_path / "arch.npz", a=np.ones(3))
    (tmp_path / "arch.npz").rename(tmp_path / "arch.npy")
    np.save(tmp_path / "j.npy", np.full((2, 2, 2), 1 / 8))
    (tmp_path / "cut.npy").write_bytes((tmp_path / "j.npy").read_bytes()[:-16])
    (tmp_path / "deep.json").write_text("[" * 50_000 + "]" * 50_000)
    (tmp_path / "big.json").write_text("[" + "7" * 5000 + ", 0.5]")
    (tmp_path / "nan.json").write_text("[NaN, 0.5]")
    cases = [
        (("profile", str(tmp_path / "arch.npy")), "zip archive"),
        (("profile", str(tmp_path / "cut.npy")), "truncated"),
        (("profile", str(tmp_path / "deep.json")), "nested too deeply"),
        (("profile", str(tmp_path / "big.json")), "not a valid h curve"),
        (("profile", str(tmp_path / "nan.json")), "NaN is not a number"),
        (("profile", "parity", "--threads", "9" * 5000), "(5000 characters)"),
        (("schedule", "parity", "-K", "1" * 400), "(400 characters)"),
        (("profile", "random", "--seed", "1" * 30), "(30 characters)"),
    ]
    for args, message in cases:
        code, out = run(*args)
        assert code == 2, (args, out)
        assert message in out, (args, out)
        assert len(out.strip().splitlines()[-1]) < 300


def test_base_below_one_is_a_usage_error(tmp_path: Path) -> None:
    np.save(tmp_path / "h.npy", np.array([0.6, 0.3, 0.1]))
    for base in ("0.5", "1", "inf", "nan", "-2"):
        code, out = run("profile", str(tmp_path / "h.npy"), "--base", base)
        assert code == 2 and "finite number > 1" in out, out
    code, out = run_stdout("profile", str(tmp_path / "h.npy"), "--base", "2", "--json")
    assert code == 0
    np.testing.assert_allclose(json.loads(out)["h"], np.array([0.6, 0.3, 0.1]) / LOG2)


def test_plot_target_checked_before_the_computation(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from unmask import cli

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("the computation ran before the --plot check")

    monkeypatch.setattr(cli, "load_source", boom)
    blocker = tmp_path / "afile"
    blocker.write_text("")
    for target, message in ((tmp_path / "x.xyz", "cannot write a figure as .xyz"),
                            (tmp_path / "no" / "x.png", "no directory"),
                            (blocker / "x.png", "no directory"),
                            (tmp_path, "is a directory")):
        for cmd in ("profile", "frontier"):
            code, out = run(cmd, "parity", "--plot", str(target))
            assert code == 2 and message in out, (cmd, target, out)


def test_missing_matplotlib_names_the_extra(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails as if not installed
    for args in (("profile", "parity", "--plot", str(tmp_path / "p.png")),
                 ("verify", "--quick", "--law", "parity", "--plot", str(tmp_path / "d"))):
        code, out = run(*args)
        assert code == 2 and 'pip install "unmask[plot]"' in out, out
        assert not (tmp_path / "p.png").exists()


def test_plot_without_suffix_writes_png_at_that_name(tmp_path: Path) -> None:
    target = tmp_path / "figure"
    code, out = run("profile", "parity", "--n", "4", "--plot", str(target))
    assert code == 0, out
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_options_a_source_cannot_use_are_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "h.npy", np.array([0.6, 0.3, 0.1]))
    np.save(tmp_path / "j.npy", np.full((3, 3), 1 / 9))
    h, j = str(tmp_path / "h.npy"), str(tmp_path / "j.npy")
    cases = [
        (("profile", h, "--n", "5"), "--n", "holds n = 3"),
        (("profile", h, "--q", "3"), "--q", "no alphabet"),
        (("profile", j, "--q", "2"), "--q", "q = 3"),
        (("profile", h, "--seed", "1"), "--seed", "not to the file"),
        (("profile", "parity", "--seed", "1"), "--seed", "no randomness"),
        (("schedule", "parity", "-K", "2", "--block-width", "2"), "--block-width",
         "applies to --encoding blocks"),
    ]
    for args, option, message in cases:
        code, out = run(*args)
        assert code == 2 and option in out and message in out, (args, out)
    code, out = run("profile", "")
    assert code == 2 and "SOURCE is empty" in out  # was "'.' is a directory"
    # values that agree with the file are accepted
    assert run("profile", j, "--q", "3", "--n", "2")[0] == 0
    assert run("profile", "random", "--seed", "3")[0] == 0


def test_verify_steps_beyond_n_are_said_or_refused() -> None:
    result = CliRunner().invoke(main, ["verify", "--quick", "--law", "copy-pair", "--law",
                                       "parity", "-K", "2", "-K", "5"])
    assert result.exit_code == 0
    assert "K = 5 exceeds n, so it is left out for: copy-pair (n=3)" in result.stderr
    code, out = run("verify", "--quick", "--law", "parity", "-K", "50")
    assert code == 2 and "K = 50 exceeds n of every selected law" in out


def test_verify_accepts_every_law_its_help_lists() -> None:
    from unmask.cli import _verify_law_names

    code, out = run_stdout("verify", "--quick", "--law", "markov n=2000", "-K", "4", "--json",
                           "--no-progress")
    assert code == 0, out
    assert [law["name"] for law in json.loads(out)["laws"]] == ["markov n=200"]
    result = CliRunner().invoke(main, ["verify", "--quick", "--law", "markov n=2000", "-K", "4"])
    assert "note: 'markov n=2000' runs as 'markov n=200'" in result.stderr
    assert "markov n=2000" in _verify_law_names()


def test_verify_table_fits_80_columns() -> None:
    env = {**os.environ, "COLUMNS": "80"}
    proc = subprocess.run([sys.executable, "-c", "from unmask.cli import main; main()",
                           "verify", "--quick", "--no-progress"], capture_output=True, text=True,
                          env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in proc.stdout  # nothing truncated
    assert "max exact/value: max over cases of exact E KL / value" in proc.stdout
    ref = [line for line in lines if " reference " in line]
    assert ref and all("NO" not in line.split() for line in ref)


def test_profile_table_prints_round_off_as_zero() -> None:
    code, out = run_stdout("profile", "parity", "--n", "6")
    assert code == 0
    rows = [line.split("│")[1:4] for line in out.splitlines() if line.startswith("│")]
    f_values = [r[2].strip() for r in rows[:-1]]
    assert f_values[:4] == ["0", "0", "0", "0"] and f_values[4] == "0.693147"
    assert not any("e-1" in "".join(r) for r in rows)  # no 1e-16 noise printed as data
    assert "print as 0" in out
    code, out = run_stdout("profile", "parity", "--n", "6", "--json")
    data = json.loads(out)
    assert isinstance(data["n"], int) and data["n"] == 6


def test_interrupt_exits_130_not_the_failed_check_code(monkeypatch: pytest.MonkeyPatch) -> None:
    from unmask import cli

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "load_source", interrupted)
    result = CliRunner().invoke(main, ["profile", "parity"])
    assert result.exit_code == 130 and "interrupted" in result.output


def test_alpha_times_are_rounded_the_same_in_every_output() -> None:
    # K = 5: linspace gives t_3 = 0.6000000000000001, the quotient 3/5 gives 0.6
    from unmask.export import encodings

    code, out = run_stdout("schedule", "markov", "--n", "10", "-K", "5", "--encoding", "alpha")
    assert code == 0
    t_json = json.loads(out)["t"]
    code, out = run_stdout("schedule", "markov", "--n", "10", "-K", "5", "--encoding", "alpha",
                           "--format", "csv")
    t_csv = [float(line.split(",")[0]) for line in out.strip().splitlines()[1:]]
    code, out = run_stdout("schedule", "markov", "--n", "10", "-K", "5", "--encoding", "all",
                           "--format", "csv")
    t_all = [float(line.split(",")[5]) for line in out.strip().splitlines()[1:]]
    exact = [k / 5 for k in range(6)]
    assert t_json == exact and t_csv == exact and t_all == exact[1:]
    assert encodings.alpha_knots([2, 2, 2, 2, 2])[0].tolist() == exact


def test_mixture_components_are_checked_before_they_are_drawn() -> None:
    # --param 3e8 drew 2.3 GB of components before any check (issue 9, item 13)
    code, out = run("profile", "mixture", "--param", "3e8")
    assert code == 2
    assert "300000000 mixture components on [2]^8 needs about" in out


@pytest.mark.parametrize("args", [
    ["blocks", "parity", "--steps", "9" * 5000],
    ["adaptive", "parity", "--steps", "9" * 5000],
    ["planner", "parity", "--steps", "9" * 5000],
    ["planner", "parity", "--steps", "2", "--block-width", "9" * 5000],
    ["blocks", "parity", "--steps", "2", "--widths", "9" * 5000],
    ["adaptive", "parity", "--rule", "max-prob", "--sizes", "x" * 5000],
    ["planner", "parity", "--sizes", "x" * 5000],
    ["adaptive", "parity", "--frontier", "x" * 5000],
])
def test_over_long_arguments_of_the_newer_commands_are_quoted_by_length(args: list[str]) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    last = result.output.strip().splitlines()[-1]
    assert "(5000 characters)" in last and len(last) < 200, last
