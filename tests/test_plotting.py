"""Figures: zeros and round-off, distinct series styles, bound panels, integer axes, names."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

import unmask
from unmask.plotting import (
    NOISE_FLOOR,
    denoise,
    figure_stem,
    plot_error_vs_steps,
    plot_frontier,
    plot_profile,
    save_verification_figures,
    series_style,
)

os.environ.setdefault("MPLBACKEND", "Agg")  # matplotlib is a test dependency: no skip


def _ydata(axis: object) -> dict[str, np.ndarray]:
    return {ln.get_label(): np.asarray(ln.get_ydata(), dtype=float)
            for ln in axis.get_lines()  # type: ignore[attr-defined]
            if not ln.get_label().startswith("_")}


def test_zero_errors_stay_visible_on_the_log_axis() -> None:
    # all-equal law: the optimum is exactly 0 from K = 2 on; a log axis used to drop it
    fig = plot_frontier([math.log(2) * 3, 0.0, 0.0, 0.0], compare={"constant": [2.0, 1.0, 0.5, 0]})
    axis = fig.axes[0]
    assert axis.get_yscale() == "symlog"
    lo, _ = axis.get_ylim()
    opt = _ydata(axis)["optimal (DP)"]
    assert np.all(np.isfinite(opt)) and opt[1:].tolist() == [0.0, 0.0, 0.0]
    assert lo <= 0.0  # the zeros are inside the drawn range


def test_round_off_is_drawn_as_zero_not_as_data() -> None:
    assert denoise([1.0, 1e-16, -3e-17, 5e-13, None]).tolist()[:4] == [1.0, 0.0, 0.0, 0.0]
    assert denoise([1.0, 2e-12])[1] == 2e-12  # above the floor: data
    fig = plot_error_vs_steps([1, 2, 3], {"constant": [1.0, 1e-17, 1e-32]})
    y = _ydata(fig.axes[0])["constant"]
    assert y.tolist() == [1.0, 0.0, 0.0]
    # the parity profile's f has 1e-16 noise before the last entry; the figure shows zeros
    prof = unmask.profile(unmask.joints.parity(6))
    f_line = plot_profile(prof).axes[1].get_lines()[0]
    f_drawn = np.asarray(f_line.get_ydata(), dtype=float)
    assert f_drawn[:-1].tolist() == [0.0] * 4 and f_drawn[-1] == pytest.approx(math.log(2))
    assert NOISE_FLOOR * math.log(2) > 1e-15


def test_many_series_get_distinct_styles() -> None:
    styles = [tuple(series_style(i).values()) for i in range(70)]
    assert len(set(styles)) == 70
    curves = {f"family {i}": [1.0 / (i + k) for k in range(1, 6)] for i in range(14)}
    fig = plot_error_vs_steps([1, 2, 3, 4, 5], curves)
    lines = [ln for ln in fig.axes[0].get_lines() if not ln.get_label().startswith("_")]
    drawn = {(ln.get_color(), ln.get_marker(), ln.get_linestyle()) for ln in lines}
    assert len(drawn) == 14


def test_bounds_have_their_own_panel_with_the_exact_value_they_bound() -> None:
    fig = plot_error_vs_steps(
        [1, 2, 3], {"constant": [2.0, 1.0, 0.0], "cosine": [2.0, 0.8, 0.0]},
        optimal=[2.0, 0.7, 0.0], bounds={"TC": [3.0, 2.0, 1.0], "ref": [0.1, 0.1, 0.1]},
        bound_kinds={"TC": "rigorous", "ref": "reference"})
    assert len(fig.axes) == 2
    main, side = fig.axes
    assert "TC (rigorous)" not in _ydata(main)
    assert set(_ydata(side)) == {"exact (constant)", "TC (rigorous)", "ref (reference)"}
    assert _ydata(side)["exact (constant)"].tolist() == [2.0, 1.0, 0.0]
    assert "constant schedule" in side.get_title()


def test_integer_axes_have_integer_ticks() -> None:
    fig = plot_error_vs_steps([1, 2, 3], {"constant": [1.0, 0.5, 0.1]})
    ticks = fig.axes[0].get_xticks()
    assert np.all(ticks == np.round(ticks))
    fig = plot_profile(unmask.profile(unmask.joints.all_equal(3)))
    for axis in fig.axes:
        ticks = axis.get_xticks()
        assert np.all(ticks == np.round(ticks))


def test_loss_curve_points_are_marked() -> None:
    prof = unmask.Profile.from_f([0.5, 0.25, 0.125, 0.0625], h_last=0.1)
    fig = plot_profile(prof, logged=[0, 2, 4])
    marked = _ydata(fig.axes[0])["logged points (3)"]
    np.testing.assert_allclose(marked, prof.h[[0, 2, 4]])
    fig = plot_profile(prof, logged=[0.5, 3.2], logged_values=[0.9, 0.2])
    line = next(ln for ln in fig.axes[0].get_lines() if ln.get_label() == "logged points (2)")
    assert list(line.get_xdata()) == [0.5, 3.2] and list(line.get_ydata()) == [0.9, 0.2]
    with pytest.raises(ValueError, match="logged positions"):
        plot_profile(prof, logged=[7])


def test_cli_loss_curve_plot_marks_the_logged_points(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    import unmask.plotting as plotting
    from unmask.cli import main

    path = tmp_path / "loss.csv"
    path.write_text("ratio,loss\n1.0,0.69\n0.75,0.6\n0.5,0.45\n0.25,0.3\n")
    figure = tmp_path / "loss.png"
    seen: dict[str, object] = {}
    real = plotting.plot_profile

    def spy(*args: object, **kwargs: object) -> object:
        seen.update(kwargs)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(plotting, "plot_profile", spy)
    result = CliRunner().invoke(main, ["profile", str(path), "--n", "8", "--plot", str(figure)])
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(seen["logged"], [0.0, 2.0, 4.0, 6.0])  # i = (1 - ratio) n
    np.testing.assert_allclose(seen["logged_values"], [0.69, 0.6, 0.45, 0.3])
    assert figure.read_bytes()[:4] == b"\x89PNG"


def test_figure_names_are_readable(tmp_path: Path) -> None:
    assert figure_stem("sec9 f=1/(l+1)^2") == "sec9-f-1-over-l-plus-1-squared"
    assert figure_stem("markov n=2000") == "markov-n-2000"
    res = unmask.verify(quick=True, laws=["copy-pair", "markov"], ks=[2])
    names = sorted(p.name for p in save_verification_figures(res, tmp_path))
    assert names == ["01-copy-pair-error-vs-K.png", "01-copy-pair-planners.png",
                     "01-copy-pair-profile.png", "02-markov-error-vs-K.png",
                     "02-markov-planners.png", "02-markov-profile.png", "schedule-shapes.png"]
    for name in names:
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
