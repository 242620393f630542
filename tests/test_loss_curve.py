"""Loss curves: smooth monotone fits, coverage and extrapolation, units, ELBO conventions."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import unmask
from unmask.cli import main
from unmask.profiles.loss_curve import CoverageWarning, elbo_weight

N = 256


def _quiet(*args, **kwargs):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CoverageWarning)
        return unmask.profile_from_loss_curve(*args, **kwargs)


def _truth(r: np.ndarray) -> np.ndarray:
    return 0.5 + 2.0 * r**0.8


# -- coverage -------------------------------------------------------------------------------
def test_partial_coverage_warns_naming_the_range() -> None:
    r = np.linspace(0.15, 0.9, 20)
    with pytest.warns(CoverageWarning, match=r"covers mask ratios 0\.15-0\.9; extrapolated by"
                      r".* over mask ratios 0-0\.15 and 0\.9-1"):
        unmask.profile_from_loss_curve(r, _truth(r), N)
    with pytest.raises(ValueError, match=r"covers mask ratios 0\.15-0\.9 only"):
        unmask.profile_from_loss_curve(r, _truth(r), N, extrapolate="raise")


def test_full_coverage_does_not_warn() -> None:
    r = np.linspace(1.0 / N, 1.0, 30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prof = unmask.profile_from_loss_curve(r, _truth(r), N, extrapolate="raise")
    assert prof.is_monotone and prof.n == N


def test_extrapolations_against_closed_forms() -> None:
    r = np.linspace(0.2, 0.8, 13)
    i = np.arange(N)
    ratio = 1.0 - i / N
    # a straight line is continued exactly by "linear" (end slope) and held by "constant"
    line = 1.0 + 0.5 * r
    lin = _quiet(r, line, N, fit="interpolate", extrapolate="linear")
    np.testing.assert_allclose(lin.h, 1.0 + 0.5 * ratio, atol=1e-9)
    const = _quiet(r, line, N, fit="interpolate", extrapolate="constant")
    np.testing.assert_allclose(const.h[i < 0.2 * N], 1.0 + 0.5 * 0.8, atol=1e-12)
    np.testing.assert_allclose(const.h[i > 0.8 * N + 1], 1.0 + 0.5 * 0.2, atol=1e-12)
    # a power law a + b r^c is continued by "fit" (the family is fitted to all points)
    power = 0.3 + 1.7 * r**1.5
    fit = _quiet(r, power, N, fit="interpolate", extrapolate="fit")
    np.testing.assert_allclose(fit.h, 0.3 + 1.7 * ratio**1.5, atol=5e-3)


def test_constant_extrapolation_is_what_made_one_huge_step() -> None:
    # the failure: f = 0 beyond the data, so the exact solver merges that range
    r = np.linspace(0.15, 0.9, 40)
    y = _truth(r)
    held = _quiet(r, y, N, fit="interpolate", extrapolate="constant")
    fitted = _quiet(r, y, N)
    big_held = max(unmask.optimal_schedule(held, 16, robust=False).sizes)
    big_fit = max(unmask.optimal_schedule(fitted, 16, robust=False).sizes)
    assert big_held >= 0.1 * N and big_fit < 0.1 * N


# -- noise ----------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_smooth_fit_tracks_the_truth_without_a_staircase(seed: int) -> None:
    rng = np.random.default_rng(seed)
    r = np.linspace(1.0 / N, 1.0, 40)
    sd = 0.01
    y = _truth(r) + rng.normal(0.0, sd, r.size)
    smooth = unmask.profile_from_loss_curve(r, y, N)
    truth = _truth(1.0 - np.arange(N) / N)
    assert smooth.is_monotone
    assert np.max(np.abs(smooth.h - truth)) < 3 * sd
    # f of the interpolated points jumps at every point (a staircase); the smooth fit's does not
    interp = unmask.profile_from_loss_curve(r, y, N, fit="interpolate")
    tv_smooth = float(np.abs(np.diff(smooth.f)).sum())
    tv_interp = float(np.abs(np.diff(interp.f)).sum())
    tv_truth = float(np.abs(np.diff(-np.diff(truth))).sum())
    assert tv_smooth < 0.25 * tv_interp
    assert tv_smooth < 5 * tv_truth + 1e-3
    # the band covers the truth at most levels
    assert smooth.lower is not None and smooth.upper is not None
    inside = (smooth.lower - 1e-12 <= truth) & (truth <= smooth.upper + 1e-12)
    assert inside.mean() > 0.7  # pointwise, sampling noise only (not the smoothing bias)


def test_repeated_ratios_are_averaged_and_their_spread_is_the_noise() -> None:
    r = np.repeat(np.linspace(0.1, 1.0, 10), 3)
    y = _truth(r) + np.tile([-0.01, 0.0, 0.01], 10)
    with pytest.warns(UserWarning, match=r"10 mask ratio\(s\) appear more than once"):
        prof = _quiet(r, y, N, fit="interpolate", extrapolate="constant")
    ev = prof.evidence
    assert ev is not None
    np.testing.assert_allclose(ev.pooled.y, _truth(np.linspace(0.1, 1.0, 10))[::-1], atol=1e-12)
    # within-ratio squares 10 x 2e-4 over 30 - 10 = 20 degrees of freedom: sd 0.01, per mean of 3
    np.testing.assert_allclose(ev.pooled.se, math.sqrt(0.002 / 20) / math.sqrt(3), rtol=1e-9)


def test_standard_errors_weight_the_fit() -> None:
    r = np.linspace(0.05, 1.0, 20)
    y = _truth(r).copy()
    y[10] += 0.5  # an outlier, declared very uncertain
    se = np.full(r.size, 0.001)
    se[10] = 10.0
    prof = _quiet(r, y, N, stderr=se)
    truth = _truth(1.0 - np.arange(N) / N)
    assert np.max(np.abs(prof.h - truth)) < 0.01


# -- units and conventions ------------------------------------------------------------------
def test_bits_are_a_change_of_unit() -> None:
    r = np.linspace(0.05, 1.0, 20)
    nats = _quiet(r, _truth(r), N)
    bits = _quiet(r, _truth(r) / math.log(2), N, base=2)
    assert bits.unit == "bits"
    np.testing.assert_allclose(bits.in_base(None).h, nats.h, rtol=1e-9, atol=1e-12)


def _alpha_derivative(alpha, t: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    eps = 1e-6
    return (alpha(t + eps) - alpha(t - eps)) / (2 * eps)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_elbo_weights_from_the_masking_schedule(schedule: str) -> None:
    # oracle: w = -alpha'(t) / (1 - alpha(t)) by finite differences, at the t with 1-alpha = r
    if schedule == "linear":
        def alpha(t):  # type: ignore[no-untyped-def]
            return 1.0 - t

        def t_of(r):  # type: ignore[no-untyped-def]
            return r
    else:
        def alpha(t):  # type: ignore[no-untyped-def]
            return np.cos(np.pi * t / 2)

        def t_of(r):  # type: ignore[no-untyped-def]
            return 2 / np.pi * np.arccos(1 - r)
    r = np.linspace(0.05, 0.95, 19)
    t = t_of(r)
    want = -_alpha_derivative(alpha, t) / (1 - alpha(t))
    np.testing.assert_allclose(elbo_weight(r, schedule), want, rtol=1e-6)


@pytest.mark.parametrize("convention", ["elbo", "elbo_per_token"])
@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_elbo_conventions_convert_to_cross_entropy(convention: str, schedule: str) -> None:
    r = np.linspace(0.05, 1.0, 20)
    ce = _truth(r)
    w = elbo_weight(r, schedule)
    logged = ce * w if convention == "elbo" else ce * w * r
    got = _quiet(r, logged, N, convention=convention, alpha=schedule)
    want = _quiet(r, ce, N)
    np.testing.assert_allclose(got.h, want.h, rtol=1e-9, atol=1e-12)


# -- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ratios", "losses", "kw", "match"),
    [
        ([0.2, 0.5, 1.0], [1.0, 2.0, 3.0], {}, "too few points to fit: 3 distinct"),
        ([0.1, 0.5, 0.5, 0.5, 1.0], [1, 2, 2, 2, 3], {}, "too few points to fit: 3 distinct"),
        ([0.0, 0.5, 0.7, 1.0], [1, 2, 2, 3], {}, r"in \(0, 1\], got 0\.0"),
        ([0.2, 0.5, 0.7, 1.5], [1, 2, 2, 3], {}, r"in \(0, 1\], got 1\.5"),
        ([0.2, np.nan, 0.7, 1.0], [1, 2, 2, 3], {}, r"in \(0, 1\]"),
        ([0.2, 0.5, 0.7, 1.0], [1, np.nan, 2, 3], {}, "finite"),
        ([0.2, 0.5, 0.7, 1.0], [1, 2, 2, 3], {"extrapolate": "cubic"}, "extrapolate must be"),
        ([0.2, 0.5, 0.7, 1.0], [1, 2, 2, 3], {"fit": "spline"}, "fit must be"),
        ([0.2, 0.5, 0.7, 1.0], [1, 2, 2, 3], {"convention": "nll"}, "convention must be"),
        ([0.2, 0.5, 0.7, 1.0], [1, 2, 2, 3], {"convention": "elbo", "alpha": "sqrt"},
         "alpha must be"),
        ([0.2, 0.5, 0.7, 1.0], [1, 2, 2, 3], {"convention": "elbo", "alpha": lambda r: -r},
         "ELBO weights"),
    ],
)
def test_bad_loss_curves_are_refused(ratios, losses, kw, match) -> None:  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=match):
            unmask.profile_from_loss_curve(ratios, losses, 64, **kw)


# -- command line ---------------------------------------------------------------------------
def _run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, list(args))
    return res.exit_code, res.stdout, res.stderr


def _write_log(path: Path, header: str, rows: list[list[float]]) -> None:
    body = "\n".join(",".join(repr(float(v)) for v in r) for r in rows)
    path.write_text(header + "\n" + body + "\n")


def test_cli_multi_column_log_by_name(tmp_path: Path) -> None:
    r = np.linspace(0.15, 0.9, 25)
    y = _truth(r)
    path = tmp_path / "log.csv"
    _write_log(path, "step,mask_ratio,val_loss,lr", [[k, a, b, 1e-3] for k, (a, b) in
                                                      enumerate(zip(r, y, strict=True))])
    code, out, err = _run("schedule", str(path), "--n", str(N), "-K", "8")
    assert code == 0, err
    data = json.loads(out)
    want = _quiet(r, y, N, monotone=False)
    assert data["expected_kl"] == pytest.approx(unmask.expected_kl(want.monotone(), data["sizes"]))
    assert "covers mask ratios 0.15-0.9" in err
    assert "estimated true cost of the constant schedule" in err
    est = data["estimated"]
    assert est["constant_cost"]["lower"] <= est["constant_cost"]["value"]
    assert est["gain"]["value"] == pytest.approx(
        est["constant_cost"]["value"] - est["cost"]["value"], rel=1e-9, abs=1e-12)
    # explicit names, losses in bits
    code, out2, err = _run("schedule", str(path), "--n", str(N), "-K", "8", "--loss-columns",
                           "mask_ratio,val_loss", "--loss-unit", "bits", "--family", "constant")
    assert code == 0, err
    bits = _quiet(r, y, N, base=2, monotone=False).in_base(None).monotone()
    assert json.loads(out2)["expected_kl"] == pytest.approx(
        unmask.expected_kl(bits, unmask.Schedule.constant(N, 8)), rel=1e-9)
    code, _, err = _run("schedule", str(path), "--n", str(N), "-K", "8", "--loss-columns",
                        "ratio,val_loss")
    assert code == 2 and "no column named 'ratio'" in err


def test_cli_kind_h_does_not_flatten_a_table(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    _write_log(path, "a,b", [[1.0, 0.5], [0.8, 0.4], [0.6, 0.3]])
    code, _, err = _run("schedule", str(path), "--kind", "h", "-K", "2")
    assert code == 2 and "has 2 columns (a, b)" in err
    _write_log(path, "i,h", [[0, 1.0], [1, 0.8], [2, 0.6]])
    code, out, err = _run("schedule", str(path), "--kind", "h", "-K", "3")
    assert code == 0, err
    assert json.loads(out)["n"] == 3


def test_cli_honours_nonmonotone_for_loss_curves(tmp_path: Path) -> None:
    # a curve that rises in the middle: the unprojected smooth fit is not monotone
    r = np.linspace(0.05, 1.0, 20)
    y = _truth(r)
    y[8:12] -= 0.6
    path = tmp_path / "bump.csv"
    _write_log(path, "ratio,loss", [[a, b] for a, b in zip(r, y, strict=True)])
    raw = _quiet(r, y, 64, monotone=False)
    assert not raw.is_monotone
    code, _, err = _run("schedule", str(path), "--n", "64", "-K", "4", "--nonmonotone", "raise")
    assert code == 2 and "not non-increasing" in err
    code, out, err = _run("schedule", str(path), "--n", "64", "-K", "4")
    assert code == 0, err
    assert json.loads(out)["projected"] is True and json.loads(out)["monotone"] is False
    code, out, err = _run("schedule", str(path), "--n", "64", "-K", "4", "--nonmonotone",
                          "plain", "--family", "constant")
    assert code == 0, err
    assert json.loads(out)["projected"] is False
    assert json.loads(out)["expected_kl"] == pytest.approx(
        unmask.expected_kl(raw, unmask.Schedule.constant(64, 4), nonmonotone="plain"), rel=1e-9)
