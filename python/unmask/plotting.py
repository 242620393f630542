"""Figures: profiles, error versus number of steps, schedule shapes (matplotlib, optional).

matplotlib is imported only when a function here is called; without it they raise ImportError
naming the ``unmask[plot]`` extra. Figures are built with :class:`matplotlib.figure.Figure`
(no pyplot state, no GUI backend needed), so they work in scripts, servers and notebooks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from unmask.profiles.profile import Profile
    from unmask.schedules.schedule import Schedule
    from unmask.verification import VerifyResult

__all__ = [
    "NOISE_FLOOR",
    "denoise",
    "figure_stem",
    "plot_error_vs_steps",
    "plot_frontier",
    "plot_planners",
    "plot_profile",
    "plot_schedules",
    "save_verification_figures",
    "series_style",
]


def _figure_class() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            "plotting needs matplotlib, an optional dependency: pip install 'unmask[plot]'"
        ) from exc
    return Figure


def _new_axes(ax: Any, ncols: int = 1, width: float = 5.0) -> tuple[Any, list[Any]]:
    if ax is not None:
        axes = list(ax) if isinstance(ax, (list, tuple, np.ndarray)) else [ax]
        if len(axes) != ncols:
            raise ValueError(f"expected {ncols} matplotlib axes, got {len(axes)}")
        return axes[0].figure, axes
    Figure = _figure_class()
    fig = Figure(figsize=(width * ncols, 4.2), layout="constrained")
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    return fig, axes


#: Values below this fraction of a curve's largest magnitude are round-off (sums of logarithms
#: in float64), not information: they are drawn as exact zeros.
NOISE_FLOOR = 1e-12

#: Series styles: 10 colours x 7 markers (coprime: 70 distinct pairs) x 4 line styles.
_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
_LINESTYLES = ("-", "--", "-.", ":")


def series_style(index: int) -> dict[str, Any]:
    """Colour, marker and line style of the ``index``-th series (all distinct up to 70).

    Examples
    --------
    >>> from unmask.plotting import series_style
    >>> len({tuple(series_style(i).values()) for i in range(70)})
    70
    """
    return {"color": _COLORS[index % len(_COLORS)], "marker": _MARKERS[index % len(_MARKERS)],
            "ls": _LINESTYLES[(index // (len(_COLORS) * len(_MARKERS))) % len(_LINESTYLES)]}


def denoise(values: Any, scale: float | None = None) -> np.ndarray:
    """Values with magnitude below ``NOISE_FLOOR * scale`` set to exactly 0 (None -> NaN).

    ``scale`` defaults to the largest finite magnitude in ``values`` (at least 1e-300).

    Examples
    --------
    >>> from unmask.plotting import denoise
    >>> denoise([1.0, 1e-16, -2e-17, None, 0.5]).tolist()
    [1.0, 0.0, 0.0, nan, 0.5]
    """
    y = np.array([np.nan if v is None else float(v) for v in np.ravel(values)],
                 dtype=np.float64)
    finite = np.isfinite(y)
    if scale is None:
        scale = float(np.max(np.abs(y[finite]))) if finite.any() else 1.0
    y[finite & (np.abs(y) < NOISE_FLOOR * max(scale, 1e-300))] = 0.0
    return y


def _integer_ticks(axis: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.xaxis.set_major_locator(MaxNLocator(integer=True))


def _symlog(axis: Any, arrays: list[np.ndarray]) -> float | None:
    """Logarithmic above the smallest positive value, linear through 0: zeros stay visible.

    Returns the linear threshold; None when no value is 0 (a plain log axis) or every value is
    (a linear axis).
    """
    positive = np.concatenate([a[np.isfinite(a) & (a > 0)] for a in arrays] or [np.empty(0)])
    if positive.size == 0:
        return None
    if not any(np.any(a == 0) for a in arrays):  # nothing at 0: a plain log axis
        axis.set_yscale("log")
        return None
    lin = float(10.0 ** np.floor(np.log10(float(positive.min()))))
    axis.set_yscale("symlog", linthresh=lin, linscale=0.5)
    axis.set_ylim(bottom=0.0)
    axis.axhline(lin, color="0.85", lw=0.6, zorder=0)
    return lin


def plot_profile(profile: Profile, *, ax: Any = None, title: str | None = None,
                 logged: Sequence[float] | None = None,
                 logged_values: Sequence[float] | None = None) -> Any:
    """Plot ``h(i)`` and ``f(i)`` side by side.

    Parameters
    ----------
    profile : Profile
        The profile; its confidence band is drawn when it has one.
    ax : pair of matplotlib Axes, optional
        Where to draw (default: a new figure with two panels).
    title : str, optional
        Figure title.
    logged : sequence of float, optional
        Positions ``i`` (unmasked tokens, in ``[0, n-1]``) where ``h`` was observed, e.g. the
        logged points of a loss curve (``i = (1 - ratio) n``): marked on the ``h`` panel; the
        rest of the curve is interpolation.
    logged_values : sequence of float, optional
        The observed values at ``logged`` (e.g. the logged losses); default: the curve's ``h``
        at the nearest index.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (save it with ``fig.savefig(path)``). Values below :data:`NOISE_FLOOR`
        times the largest ``h`` are drawn as 0; both x axes have integer ticks.

    Raises
    ------
    ImportError
        When matplotlib is not installed (``pip install 'unmask[plot]'``).

    Examples
    --------
    >>> import unmask
    >>> fig = unmask.profile(unmask.joints.parity(5)).plot()
    >>> len(fig.axes)
    2
    """
    fig, (ax_h, ax_f) = _new_axes(ax, ncols=2)
    i = np.arange(profile.n)
    scale = max(float(np.max(np.abs(profile.h))), 1.0)
    mark = "o" if profile.n <= 40 else None
    ax_h.plot(i, denoise(profile.h, scale), marker=None if logged is not None else mark, ms=3,
              color=_COLORS[0], label="h(i)" if logged is None else "h(i), interpolated")
    if profile.lower is not None and profile.upper is not None:
        ax_h.fill_between(i, profile.lower, profile.upper, alpha=0.25, color=_COLORS[0],
                          label="band")
    if logged is not None:
        pos = np.asarray(list(logged), dtype=np.float64)
        if pos.ndim != 1 or (pos.size and not (np.all(np.isfinite(pos)) and pos.min() >= 0
                                               and pos.max() <= profile.n - 1)):
            raise ValueError(f"logged positions must lie in [0, {profile.n - 1}]")
        if logged_values is None:
            vals = denoise(profile.h, scale)[np.rint(pos).astype(np.int64)]
        else:
            vals = np.asarray(list(logged_values), dtype=np.float64)
            if vals.shape != pos.shape:
                raise ValueError(f"logged_values has {vals.size} values for {pos.size} "
                                 "positions")
        ax_h.plot(pos, vals, ls="none", marker="o", ms=5, mfc="white", mec="black", mew=1.0,
                  label=f"logged points ({pos.size})", zorder=3)
    ax_h.set_xlabel("i (unmasked tokens)")
    ax_h.set_ylabel(f"h(i) [{profile.unit}]")
    ax_h.set_title("entropy profile h")
    h_drawn = denoise(profile.h, scale)
    top = float(np.nanmax(h_drawn)) if np.isfinite(h_drawn).any() else 1.0
    ax_h.set_ylim(bottom=min(0.0, float(np.nanmin(h_drawn))), top=1.08 * top if top > 0 else 1)
    ax_h.legend(loc="best", fontsize="small")
    if profile.n > 1:
        ax_f.plot(i[:-1], denoise(profile.f, scale), marker=mark, ms=3, color=_COLORS[1])
        ax_f.axhline(0.0, color="0.7", lw=0.6, zorder=0)
    ax_f.set_xlabel("i (unmasked tokens)")
    ax_f.set_ylabel(f"f(i) [{profile.unit}]")
    ax_f.set_title("information profile f(i) = h(i) - h(i+1)")
    for axis in (ax_h, ax_f):
        _integer_ticks(axis)
        axis.grid(True, color="0.92", lw=0.6)
    if title:
        fig.suptitle(title)
    return fig


def plot_error_vs_steps(
    steps: Sequence[int],
    curves: Mapping[str, Sequence[float | None]],
    *,
    optimal: Sequence[float] | None = None,
    bounds: Mapping[str, Sequence[float | None]] | None = None,
    bound_kinds: Mapping[str, str] | None = None,
    bounds_for: str = "constant",
    ax: Any = None,
    title: str | None = None,
    unit: str = "nats",
    log: bool = True,
) -> Any:
    """Error versus number of steps ``K``: schedule families and the optimum; bounds beside them.

    Parameters
    ----------
    steps : sequence of int
        The ``K`` values (x axis, integer ticks).
    curves : mapping of str to sequence
        Family name -> exact expected KL at each ``K`` (None where undefined). Each series gets
        its own colour, marker and line style (:func:`series_style`).
    optimal : sequence of float, optional
        Optimal cost at each ``K`` (thick black line).
    bounds : mapping of str to sequence, optional
        Bound name -> value at each ``K``, drawn in a second panel next to the exact value of
        the schedule they bound (``curves[bounds_for]``).
    bound_kinds : mapping of str to str, optional
        Bound name -> ``"rigorous"`` (solid), ``"reference"`` (dotted) or ``"prediction"``
        (dash-dot); the kind is written in the legend.
    bounds_for : str
        The family the bounds were evaluated on (default ``"constant"``), named in the panel
        title.
    ax : matplotlib Axes, or a pair of them when ``bounds`` is given, optional
        Where to draw (default: a new figure, one panel, two with bounds).
    title : str, optional
        Figure title.
    unit : str
        Unit shown on the y axis.
    log : bool
        Logarithmic y axis; when some value is 0 (the optimum once K is large enough) it stays
        linear near 0 (symlog, threshold named on the axis) so that the zero is drawn at the
        bottom instead of vanishing. Values below :data:`NOISE_FLOOR` times the largest value
        are drawn as 0.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        When a curve, a bound or ``optimal`` does not have one value per ``K``, or ``ax`` has
        the wrong number of axes.

    Examples
    --------
    >>> from unmask.plotting import plot_error_vs_steps
    >>> fig = plot_error_vs_steps([1, 2, 3], {"constant": [1.0, 0.5, 0.0]}, optimal=[1, .4, 0])
    >>> fig.axes[0].get_xlabel(), fig.axes[0].get_yscale()
    ('K (steps)', 'symlog')
    """
    x = np.asarray(steps, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"steps must be a 1-d sequence of K values, got shape {x.shape}")
    for what, named in (("curve", curves), ("bound", bounds or {})):
        for name, vals in named.items():
            if len(vals) != len(x):
                raise ValueError(f"{what} {name!r} has {len(vals)} values for {len(x)} steps")
    if optimal is not None and len(optimal) != len(x):
        raise ValueError(f"optimal has {len(optimal)} values for {len(x)} steps")
    panels = 2 if bounds else 1
    fig, axes = _new_axes(ax, ncols=panels, width=5.2)
    many = len(x) > 24
    every = max(1, len(x) // 12)  # markers on about 12 points per curve
    all_values = [denoise(v) for v in curves.values()]
    if optimal is not None:
        all_values.append(denoise(optimal))
    scale = max((float(np.nanmax(np.abs(v))) for v in all_values if np.isfinite(v).any()),
                default=1.0)

    def draw(axis: Any, values: Sequence[float | None], drawn: list[np.ndarray],
             **kw: Any) -> None:
        y = denoise(values, scale)
        if np.any(np.isfinite(y)):
            axis.plot(x, y, **kw)
            drawn.append(y)

    main_axis = axes[0]
    drawn: list[np.ndarray] = []
    for idx, (name, vals) in enumerate(curves.items()):
        style = series_style(idx)
        draw(main_axis, vals, drawn, label=name, lw=1.3, ms=3.5,
             markevery=every if many else None, **style)
    if optimal is not None:
        draw(main_axis, optimal, drawn, label="optimal (DP)", color="black", lw=2.2,
             marker=None, zorder=5)
    main_axis.set_title("exact E KL, random order")
    panels_drawn = [(main_axis, drawn)]
    if bounds:
        bound_axis = axes[1]
        b_drawn: list[np.ndarray] = []
        styles = {"rigorous": "-", "reference": ":", "prediction": "-."}
        if bounds_for in curves:
            draw(bound_axis, curves[bounds_for], b_drawn, label=f"exact ({bounds_for})",
                 color="black", lw=2.2, marker=None, zorder=5)
        for idx, (name, vals) in enumerate(bounds.items()):
            kind = (bound_kinds or {}).get(name, "rigorous")
            style = series_style(idx)
            style["ls"] = styles.get(kind, "-")
            draw(bound_axis, vals, b_drawn, label=f"{name} ({kind})", lw=1.1, ms=3,
                 markevery=every if many else None, **style)
        bound_axis.set_title(f"bounds on the {bounds_for} schedule")
        panels_drawn.append((bound_axis, b_drawn))
    for axis, arrays in panels_drawn:
        lin = _symlog(axis, arrays) if log else None
        if not log and arrays:
            low = min(float(np.nanmin(a)) for a in arrays)
            axis.set_ylim(bottom=min(0.0, low))
        axis.set_xlabel("K (steps)")
        axis.set_ylabel(f"expected KL [{unit}]"
                        + ("" if lin is None else f"\n(linear below {lin:.0e})"))
        _integer_ticks(axis)
        axis.grid(True, color="0.92", lw=0.6)
        if axis.get_legend_handles_labels()[0]:  # below the panel: never over the data
            axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize="x-small",
                        frameon=False, ncols=3 if len(arrays) > 4 else 2)
    if title:
        fig.suptitle(title)
    return fig


def plot_frontier(
    frontier: Any,
    *,
    compare: Mapping[str, Sequence[float | None]] | None = None,
    ax: Any = None,
    title: str | None = None,
    unit: str = "nats",
    log: bool = True,
) -> Any:
    """Plot the optimal error for every ``K`` (the frontier), optionally against families.

    Parameters
    ----------
    frontier : object with ``.costs`` or sequence of float
        Optimal cost for ``K = 1..len(costs)`` (as returned by ``unmask.optimal_frontier``).
    compare : mapping of str to sequence, optional
        Other curves over the same ``K`` (e.g. the constant schedule).
    ax, title, unit, log
        As in :func:`plot_error_vs_steps`.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        When the costs are not 1-d or contain NaN.

    Examples
    --------
    >>> from unmask.plotting import plot_frontier
    >>> fig = plot_frontier([2.0, 0.7, 0.2, 0.0])
    >>> fig.axes[0].get_yscale()  # the zero at K = 4 stays visible
    'symlog'
    """
    arr = np.asarray(getattr(frontier, "costs", frontier), dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"frontier costs must be 1-d (one per K), got shape {arr.shape}")
    if np.any(np.isnan(arr)):
        raise ValueError("frontier costs contain NaN")
    costs = [float(c) for c in arr]
    ks = list(range(1, len(costs) + 1))
    return plot_error_vs_steps(ks, dict(compare or {}), optimal=costs, ax=ax, title=title,
                               unit=unit, log=log)


def plot_planners(
    steps: Sequence[int],
    strategies: Mapping[str, Sequence[float | None]],
    *,
    floor: str = "best planner (floor)",
    ax: Any = None,
    title: str | None = None,
    unit: str = "nats",
    log: bool = True,
) -> Any:
    """KL versus ``K`` for each unmasking strategy, the best deterministic planner as the floor.

    Parameters
    ----------
    steps : sequence of int
        The ``K`` values (x axis).
    strategies : mapping of str to sequence
        Strategy name -> exact KL at each ``K`` (None where not computed), as in the
        ``"planners"`` curves of :func:`unmask.verify`.
    floor : str
        The key of the best planner: drawn as a thick black line, with the region below it
        shaded (no deterministic planner reaches it; randomized ones can, theory section 12).
    ax, title, unit, log
        As in :func:`plot_error_vs_steps`.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        When a curve does not have one value per ``K``.

    Examples
    --------
    >>> from unmask.plotting import plot_planners
    >>> fig = plot_planners([1, 2], {"best planner (floor)": [0.4, 0.1], "random": [0.4, 0.2]})
    >>> fig.axes[0].get_ylabel()
    'KL(p || q) [nats]'
    """
    x = np.asarray(steps, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"steps must be a 1-d sequence of K values, got shape {x.shape}")
    for name, vals in strategies.items():
        if len(vals) != len(x):
            raise ValueError(f"strategy {name!r} has {len(vals)} values for {len(x)} steps")
    fig, (axis,) = _new_axes(ax, width=7.0)

    def values(vals: Sequence[float | None]) -> Any:
        y = np.array([np.nan if v is None else float(v) for v in vals], dtype=np.float64)
        return np.where(y > 0, y, np.nan) if log else y

    idx = 0
    for name, vals in strategies.items():
        if name == floor:
            continue
        y = values(vals)
        if np.any(np.isfinite(y)):
            axis.plot(x, y, label=name, lw=1.3, ms=4, **series_style(idx))
        idx += 1
    if floor in strategies:
        y = values(strategies[floor])
        if np.any(np.isfinite(y)):
            axis.plot(x, y, label=floor, color="black", lw=2.4)
            bottom = np.nanmin(y[np.isfinite(y)]) / 10 if log else 0.0
            axis.fill_between(x, bottom, np.where(np.isfinite(y), y, bottom), color="0.85",
                              lw=0, label="below every deterministic planner")
    if log:
        axis.set_yscale("log")
    axis.set_xlabel("K (steps)")
    axis.set_ylabel(f"KL(p || q) [{unit}]")
    if title:
        axis.set_title(title)
    if axis.get_legend_handles_labels()[0]:
        if ax is None:
            axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="x-small",
                        frameon=False)
        else:
            axis.legend(loc="best", fontsize="x-small")
    return fig


def plot_schedules(
    schedules: Mapping[str, Schedule], *, ax: Any = None, title: str | None = None
) -> Any:
    """Schedule shapes: fraction unmasked after each step versus ``k / K`` (piecewise linear).

    Parameters
    ----------
    schedules : mapping of str to Schedule
        The schedules to compare (same or different ``n`` and ``K``).
    ax : matplotlib Axes, optional
        Where to draw.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import unmask
    >>> from unmask.plotting import plot_schedules
    >>> fig = plot_schedules({"constant": unmask.Schedule.constant(12, 4)})
    >>> fig.axes[0].get_ylabel()
    'fraction unmasked after step k'
    """
    fig, (axis,) = _new_axes(ax)
    for idx, (name, sched) in enumerate(schedules.items()):
        k = np.arange(sched.steps + 1) / sched.steps
        frac = sched.boundaries / sched.n
        style = series_style(idx)
        if sched.steps > 32:
            style["marker"] = None
        axis.plot(k, frac, label=f"{name} {list(sched.sizes)}" if sched.steps <= 8 else name,
                  ms=4, lw=1.3, **style)
    axis.grid(True, color="0.92", lw=0.6)
    axis.set_xlabel("k / K")
    axis.set_ylabel("fraction unmasked after step k")
    if title:
        axis.set_title(title)
    if schedules:
        axis.legend(loc="best", fontsize="x-small")
    return fig


def save_verification_figures(
    result: VerifyResult,
    directory: str | Path,
    *,
    dpi: int = 110,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[Path]:
    """Write the PNG figures of a :func:`unmask.verify` run into ``directory``.

    For the ``j``-th law (``NN`` = ``j`` on two digits, ``<law>`` = :func:`figure_stem` of its
    name): ``NN-<law>-profile.png`` (h and f), ``NN-<law>-error-vs-K.png`` (each family's
    exact expected KL and the optimum versus ``K``, and in a second panel the bounds on the
    constant schedule next to its exact value) and ``NN-<law>-planners.png`` (KL versus ``K``
    per unmasking strategy, the best planner as the floor, for laws small enough for the
    planner DP); plus ``schedule-shapes.png`` (the shapes of the families for the law with most
    of them).

    Parameters
    ----------
    result : VerifyResult
        The run.
    directory : str or Path
        Created if needed.
    dpi : int
        Resolution.
    progress : callable, optional
        Called as ``progress(law, done, total)`` before each law's figures.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    TypeError
        When ``result`` is not a :class:`~unmask.verification.VerifyResult`.
    OSError
        When ``directory`` cannot be created or written.
    ImportError
        When matplotlib is missing.

    Examples
    --------
    >>> import tempfile, unmask
    >>> from unmask.plotting import save_verification_figures
    >>> res = unmask.verify(quick=True, laws=["copy-pair"], ks=[2])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     sorted(p.name for p in save_verification_figures(res, tmp))
    ['01-copy-pair-error-vs-K.png', '01-copy-pair-planners.png', '01-copy-pair-profile.png',
     'schedule-shapes.png']
    """
    from unmask.verification import VerifyResult

    if not isinstance(result, VerifyResult):
        raise TypeError(f"result must be a VerifyResult (unmask.verify()), got "
                        f"{type(result).__name__}")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for done, law in enumerate(result.laws):
        if progress is not None:
            progress(law.name, done, len(result.laws))
        stem = f"{done + 1:02d}-{figure_stem(law.name)}"
        fig = plot_profile(law.profile, title=f"{_title(law.name, law.n)}: {law.description}")
        path = out / f"{stem}-profile.png"
        fig.savefig(path, dpi=dpi)
        written.append(path)
        curves = law.curves
        if curves.get("K"):
            fig = plot_error_vs_steps(
                curves["K"], curves.get("families", {}), optimal=curves.get("optimal"),
                bounds=curves.get("bounds"), bound_kinds=curves.get("bound_kinds"),
                bounds_for="constant",
                title=f"{_title(law.name, law.n)}: exact expected KL versus the number of steps",
                unit=law.profile.unit,
            )
            path = out / f"{stem}-error-vs-K.png"
            fig.savefig(path, dpi=dpi)
            written.append(path)
        planners = curves.get("planners")
        if planners and planners.get("K"):
            fig = plot_planners(planners["K"], planners["strategies"],
                                title=_title(law.name, law.n) + ": planners (section 12)",
                                unit=law.profile.unit)
            path = out / f"{stem}-planners.png"
            fig.savefig(path, dpi=dpi)
            written.append(path)
    shapes = _schedule_shapes(result)
    if shapes:
        fig = plot_schedules(shapes[1], title=f"schedule shapes ({shapes[0]})")
        path = out / "schedule-shapes.png"
        fig.savefig(path, dpi=dpi)
        written.append(path)
    return written


_STEM_WORDS = (("^2", "-squared"), ("^", "-pow-"), ("/", "-over-"), ("+", "-plus-"),
               ("=", "-"))


def figure_stem(name: str) -> str:
    """A readable file-name stem for a law name: lower case, words joined by ``-``.

    Examples
    --------
    >>> from unmask.plotting import figure_stem
    >>> figure_stem("sec9 f=1/(l+1)^2"), figure_stem("markov n=200")
    ('sec9-f-1-over-l-plus-1-squared', 'markov-n-200')
    """
    text = name.lower()
    for old, new in _STEM_WORDS:
        text = text.replace(old, new)
    out = "".join(c if c.isalnum() else "-" for c in text)
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-") or "law"


def _title(name: str, n: int) -> str:
    return name if f"n={n}" in name else f"{name} (n={n})"


def _schedule_shapes(result: VerifyResult) -> tuple[str, dict[str, Schedule]] | None:
    """The (law, K) with the most families, then the largest K, then the largest n."""
    from unmask.schedules.schedule import Schedule

    by_key: dict[tuple[str, int], dict[str, Schedule]] = {}
    for case in result.cases:
        if case.sizes is not None:
            by_key.setdefault((case.law, case.steps), {})[case.family] = Schedule(case.sizes)
    if not by_key:
        return None
    (law, k), scheds = max(
        by_key.items(),
        key=lambda item: (len(item[1]), item[0][1], next(iter(item[1].values())).n),
    )
    n = next(iter(scheds.values())).n
    return f"{_title(law, n)}, K={k}", scheds
