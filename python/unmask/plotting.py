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
    "plot_error_vs_steps",
    "plot_frontier",
    "plot_planners",
    "plot_profile",
    "plot_schedules",
    "save_verification_figures",
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
    fig = Figure(figsize=(width * ncols, 3.6), layout="constrained")
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    return fig, axes


def plot_profile(profile: Profile, *, ax: Any = None, title: str | None = None) -> Any:
    """Plot ``h(i)`` and ``f(i)`` side by side.

    Parameters
    ----------
    profile : Profile
        The profile; its confidence band is drawn when it has one.
    ax : pair of matplotlib Axes, optional
        Where to draw (default: a new figure with two panels).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (save it with ``fig.savefig(path)``).

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
    ax_h.plot(i, profile.h, marker="o" if profile.n <= 40 else None, ms=3, label="h(i)")
    if profile.lower is not None and profile.upper is not None:
        ax_h.fill_between(i, profile.lower, profile.upper, alpha=0.25, label="band")
    ax_h.set_xlabel("i (unmasked tokens)")
    ax_h.set_ylabel(f"h(i) [{profile.unit}]")
    ax_h.set_title("entropy profile h")
    ax_h.legend(loc="best", fontsize="small")
    if profile.n > 1:
        ax_f.plot(i[:-1], profile.f, marker="o" if profile.n <= 40 else None, ms=3,
                  color="C1")
    ax_f.set_xlabel("i (unmasked tokens)")
    ax_f.set_ylabel(f"f(i) [{profile.unit}]")
    ax_f.set_title("information profile f = h(i) - h(i+1)")
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
    ax: Any = None,
    title: str | None = None,
    unit: str = "nats",
    log: bool = True,
) -> Any:
    """Error versus number of steps ``K``: schedule families, the optimum, and bounds.

    Parameters
    ----------
    steps : sequence of int
        The ``K`` values (x axis).
    curves : mapping of str to sequence
        Family name -> exact expected KL at each ``K`` (None where undefined); solid lines.
    optimal : sequence of float, optional
        Optimal cost at each ``K`` (thick black line).
    bounds : mapping of str to sequence, optional
        Bound name -> value at each ``K``.
    bound_kinds : mapping of str to str, optional
        Bound name -> ``"rigorous"`` (dashed), ``"reference"`` (dotted) or ``"prediction"``
        (dash-dot).
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure with the legend on the right).
    title : str, optional
        Axes title.
    unit : str
        Unit shown on the y axis.
    log : bool
        Logarithmic y axis (zeros are not drawn on it).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        When a curve, a bound or ``optimal`` does not have one value per ``K``.

    Examples
    --------
    >>> from unmask.plotting import plot_error_vs_steps
    >>> fig = plot_error_vs_steps([1, 2, 3], {"constant": [1.0, 0.5, 0.0]}, optimal=[1, .4, 0])
    >>> fig.axes[0].get_xlabel()
    'K (steps)'
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
    fig, (axis,) = _new_axes(ax, width=7.0)
    many = len(x) > 20

    def draw(values: Sequence[float | None], **kw: Any) -> None:
        y = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
        if log:
            y = np.where(y > 0, y, np.nan)
        if np.any(np.isfinite(y)):
            axis.plot(x, y, **kw)

    for idx, (name, vals) in enumerate(curves.items()):
        draw(vals, label=name, color=_FAMILY_COLORS[idx % len(_FAMILY_COLORS)],
             marker=None if many else ".", lw=1.4)
    if optimal is not None:
        draw(optimal, label="optimal (DP)", color="black", lw=2.4)
    styles = {"rigorous": "--", "reference": ":", "prediction": "-."}
    for idx, (name, vals) in enumerate((bounds or {}).items()):
        kind = (bound_kinds or {}).get(name, "rigorous")
        draw(vals, label=f"{name} ({kind})", ls=styles.get(kind, "--"), lw=1.1,
             color=_BOUND_COLORS[idx % len(_BOUND_COLORS)])
    if log:
        axis.set_yscale("log")
    axis.set_xlabel("K (steps)")
    axis.set_ylabel(f"expected KL [{unit}]")
    if title:
        axis.set_title(title)
    if axis.get_legend_handles_labels()[0]:
        if ax is None:
            axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="x-small",
                        frameon=False)
        else:
            axis.legend(loc="best", fontsize="x-small")
    return fig


_FAMILY_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
_BOUND_COLORS = ("#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ff9896", "#98df8a", "#c5b0d5",
                 "#c49c94")


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
    >>> fig.axes[0].get_yscale()
    'log'
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
            axis.plot(x, y, label=name, color=_FAMILY_COLORS[idx % len(_FAMILY_COLORS)],
                      marker=".", lw=1.3, ls="-" if "random" not in name else "--")
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
    for name, sched in schedules.items():
        k = np.arange(sched.steps + 1) / sched.steps
        frac = sched.boundaries / sched.n
        axis.plot(k, frac, label=f"{name} {list(sched.sizes)}" if sched.steps <= 8 else name,
                  marker="." if sched.steps <= 32 else None)
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

    For each law: ``<law>_profile.png`` (h and f), ``<law>_error_vs_K.png`` (each family's exact
    expected KL, the optimum and the bounds of the constant schedule versus ``K``),
    ``<law>_planners.png`` (KL versus ``K`` per unmasking strategy, the best planner as the floor,
    for laws small enough for the planner DP); plus
    ``schedules.png`` (the shapes of the families for the first law with all of them).

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
    ['copy-pair_error_vs_K.png', 'copy-pair_planners.png', 'copy-pair_profile.png', 'schedules.png']
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
        stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in law.name)
        fig = plot_profile(law.profile, title=f"{_title(law.name, law.n)}: {law.description}")
        path = out / f"{stem}_profile.png"
        fig.savefig(path, dpi=dpi)
        written.append(path)
        curves = law.curves
        if curves.get("K"):
            fig = plot_error_vs_steps(
                curves["K"], curves.get("families", {}), optimal=curves.get("optimal"),
                bounds=curves.get("bounds"), bound_kinds=curves.get("bound_kinds"),
                title=_title(law.name, law.n) + " (bounds: constant schedule)",
                unit=law.profile.unit,
            )
            path = out / f"{stem}_error_vs_K.png"
            fig.savefig(path, dpi=dpi)
            written.append(path)
        planners = curves.get("planners")
        if planners and planners.get("K"):
            fig = plot_planners(planners["K"], planners["strategies"],
                                title=_title(law.name, law.n) + ": planners (section 12)",
                                unit=law.profile.unit)
            path = out / f"{stem}_planners.png"
            fig.savefig(path, dpi=dpi)
            written.append(path)
    shapes = _schedule_shapes(result)
    if shapes:
        fig = plot_schedules(shapes[1], title=f"schedule shapes ({shapes[0]})")
        path = out / "schedules.png"
        fig.savefig(path, dpi=dpi)
        written.append(path)
    return written


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
