"""Command-line side of loss curves and estimated profiles (theory section 13).

Loss-curve sources: columns chosen by name, units and conventions, coverage notes, and the
``--nonmonotone`` policy; for estimated profiles the estimated true cost of the chosen and the
constant schedule with intervals, and the gain.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import click
import numpy as np

import unmask
from unmask.profiles.profile import Profile

RATIO_NAMES = ("mask_ratio", "ratio", "mask", "t")
LOSS_NAMES = ("loss",)
STDERR_NAMES = ("stderr", "se", "std_err", "sem")


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    ctx.meta[f"unmask.{param.name}"] = value
    return value


def loss_curve_options(func: Any) -> Any:
    """The options of loss-curve sources (shared by every command that takes a SOURCE).

    Their values are kept in the context (not passed to the command), for the loss-curve path.
    """
    opts = [
        _option("--loss-columns", default=None, metavar="RATIO,LOSS[,STDERR]",
                     help="Loss-curve CSV: names of the mask-ratio, loss and (optional) "
                          "standard-error columns (default: found by name: 'ratio'/'mask', "
                          "'loss', 'stderr'/'se')."),
        _option("--loss-unit", type=click.Choice(("nats", "bits")), default="nats",
                     show_default=True, help="Unit of the logged losses."),
        _option("--loss-convention",
                     type=click.Choice(("cross_entropy", "elbo", "elbo_per_token")),
                     default="cross_entropy", show_default=True,
                     help="What was logged: cross-entropy per masked token, or the ELBO-"
                          "weighted loss (per masked token, or per token as in MDLM/MD4)."),
        _option("--alpha", "alpha_schedule", type=click.Choice(("linear", "cosine")),
                     default="linear", show_default=True,
                     help="Masking schedule behind the ELBO weight (--loss-convention elbo*)."),
        _option("--loss-fit", type=click.Choice(("smooth", "interpolate")), default="smooth",
                show_default=True,
                help="Loss curve: a smooth monotone fit (noise modelled; needs 4 or more "
                     "ratios) or linear interpolation of the points (exact curves)."),
        _option("--extrapolate", type=click.Choice(("fit", "linear", "constant", "raise")),
                     default="fit", show_default=True,
                     help="Beyond the logged mask ratios: a monotone power law fitted to all "
                          "points, the end slope, the end values, or refuse."),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


def _option(*decls: str, **kwargs: Any) -> Any:
    return click.option(*decls, expose_value=False, callback=_remember, **kwargs)


def _params() -> dict[str, Any]:
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return {}
    out = dict(ctx.params)
    out.update({k.split(".", 1)[1]: v for k, v in ctx.meta.items() if k.startswith("unmask.")})
    return out


def _column(header: list[str], names: tuple[str, ...], what: str, path: Path,
            required: bool = True) -> int | None:
    for name in names:  # exact names first, then names that contain them
        if name in header:
            return header.index(name)
    for name in names:
        if len(name) > 2:
            hits = [k for k, c in enumerate(header) if name in c]
            if len(hits) == 1:
                return hits[0]
    if required:
        raise click.BadParameter(
            f"{path}: no {what} column among {header}; name it or pass --loss-columns",
            param_hint="SOURCE")
    return None


def loss_curve_from_table(header: list[str] | None, data: np.ndarray, path: Path,
                          n: int | None) -> Profile:
    """A loss-curve profile from a parsed CSV table, its columns chosen by name."""
    params = _params()
    chosen = params.get("loss_columns")
    se_col: int | None = None
    if chosen:
        names = [c.strip().lower() for c in str(chosen).split(",")]
        if len(names) not in (2, 3) or header is None:
            raise click.BadParameter(
                "--loss-columns takes RATIO,LOSS[,STDERR] names of a CSV with a header",
                param_hint="--loss-columns")
        missing = [c for c in names if c not in header]
        if missing:
            raise click.BadParameter(f"{path}: no column named {missing[0]!r} (columns: "
                                     f"{', '.join(header)})", param_hint="--loss-columns")
        cols = [header.index(c) for c in names]
        r_col, l_col = cols[0], cols[1]
        se_col = cols[2] if len(cols) == 3 else None
    elif header is not None:
        l_col = _column(header, LOSS_NAMES, "loss", path)  # type: ignore[assignment]
        others = [c if k != l_col else "" for k, c in enumerate(header)]
        r_col = _column(others, RATIO_NAMES, "mask-ratio", path)  # type: ignore[assignment]
        se_col = _column(header, STDERR_NAMES, "stderr", path, required=False)
    elif data.shape[1] == 2:
        r_col, l_col = 0, 1
    else:
        raise click.BadParameter(
            f"{path}: a loss curve without a header has two columns (ratio, loss); name the "
            "columns in a header line (ratio, loss, stderr) or pass --loss-columns",
            param_hint="SOURCE")
    stderr = data[:, se_col] if se_col is not None else None
    return loss_curve_profile(data[:, r_col], data[:, l_col], n, stderr=stderr)


def loss_curve_from_array(arr: np.ndarray, path: Path, n: int | None) -> Profile:
    """A loss-curve profile from an ``(m, 2)`` or ``(m, 3)`` array (ratio, loss[, stderr])."""
    if arr.ndim != 2 or arr.shape[1] not in (2, 3):
        raise click.BadParameter(
            f"{path}: a loss curve is an (m, 2) or (m, 3) array of (ratio, loss[, stderr]), "
            f"got shape {arr.shape}")
    stderr = arr[:, 2] if arr.shape[1] == 3 else None
    return loss_curve_profile(arr[:, 0], arr[:, 1], n, stderr=stderr)


def loss_curve_profile(ratios: np.ndarray, losses: np.ndarray, n: int | None,
                       stderr: np.ndarray | None = None) -> Profile:
    """Call profile_from_loss_curve with the command's options; warnings become notes."""
    if n is None:
        raise click.UsageError("a loss curve needs the sequence length: pass --n")
    params = _params()
    # --nonmonotone is applied by the command to the unprojected fit (so that "projected"
    # reports what happened); commands without the option get the projected fit
    monotone = "nonmonotone" not in params
    base = 2.0 if params.get("loss_unit") == "bits" else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            prof = unmask.profile_from_loss_curve(
                ratios, losses, n, stderr=stderr, base=base, monotone=monotone,
                extrapolate=params.get("extrapolate", "fit"),
                fit=params.get("loss_fit", "smooth"),
                convention=params.get("loss_convention", "cross_entropy"),
                alpha=params.get("alpha_schedule", "linear"),
            )
        except (ValueError, TypeError) as exc:
            raise click.BadParameter(f"not a valid loss curve: {exc}",
                                     param_hint="SOURCE") from exc
    for w in caught:
        click.echo(f"note: {w.message}", err=True)
    return prof if base is None else prof.in_base(None)


def h_column(header: list[str] | None, data: np.ndarray, path: Path) -> np.ndarray:
    """The h curve of a CSV: one column (or row), or the column named 'h' of a wider table."""
    if data.shape[1] == 1 or data.shape[0] == 1:
        return np.asarray(data.ravel())
    if header is not None and "h" in header:
        return np.asarray(data[:, header.index("h")])
    raise click.BadParameter(
        f"{path}: --kind h needs one column of h values (or a column named 'h'); this table "
        f"has {data.shape[1]} columns" + (f" ({', '.join(header)})" if header else ""),
        param_hint="--kind")


def estimate_report(prof: Profile, sched: Any, family: str,
                    threads: int | None) -> dict[str, Any] | None:
    """Estimated true costs (this schedule, constant) with intervals and the gain."""
    if prof.evidence is None or sched.steps in (1, prof.n):
        return None
    from unmask.schedules.robust import estimate_cost, estimate_gain

    def est(e: Any) -> dict[str, float]:
        return {"value": e.value, "stderr": e.stderr, "lower": e.lower, "upper": e.upper}

    const = unmask.Schedule.constant(prof.n, sched.steps)
    out: dict[str, Any] = {
        "cost": est(estimate_cost(prof, sched)),
        "constant_cost": est(estimate_cost(prof, const)),
        "gain": est(estimate_gain(prof, sched, const)),
        "confidence": 0.95, "unit": prof.unit,
    }
    if family == "optimal":
        res = unmask.robust_schedule(prof, sched.steps, threads=threads)
        out["robust"] = {"fallback": res.fallback, "cv_gain": est(res.cv_gain),
                         "rho": res.rho, "mix": res.mix, "samples_needed": res.samples_needed}
    return out


def echo_estimate(report: dict[str, Any]) -> None:
    """Print the estimated costs on stderr (the CSV output stays machine-readable)."""
    unit = report["unit"]
    pct = f"{report['confidence']:.0%}"

    def fmt(e: dict[str, float]) -> str:
        return f"{e['value']:.6g} {unit} ({pct} CI {e['lower']:.6g} .. {e['upper']:.6g})"

    click.echo(f"estimated true cost of this schedule: {fmt(report['cost'])}", err=True)
    click.echo(f"estimated true cost of the constant schedule: {fmt(report['constant_cost'])}",
               err=True)
    click.echo(f"estimated gain over constant: {fmt(report['gain'])}", err=True)
    robust = report.get("robust")
    if robust is not None and robust["fallback"]:
        click.echo("note: no significant gain over the constant schedule on held-out evidence "
                   "(cross-fitted gain " + fmt(robust["cv_gain"]) + "): the constant schedule "
                   "is returned", err=True)
