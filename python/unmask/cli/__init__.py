"""The ``unmask`` command line (click + rich).

Commands: ``verify`` (the embedded verification suite), ``profile`` (the exact or given profile
of a law, a samples file or a curve), ``schedule`` (a K-step schedule in the encoding a sampler
consumes) and ``frontier`` (the optimal error for every K). Bad arguments, unreadable files and a
missing optional dependency exit with code 2 and a one-line message; exit code 1 means a check
of ``unmask verify`` failed, and nothing else.
"""

from __future__ import annotations

import contextlib
import csv
import importlib
import io
import json
import math
import os
import sys
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, overload

import click
import numpy as np

import unmask
from unmask._validation import MAX_THREADS
from unmask.laws import joints
from unmask.laws.joint import Joint
from unmask.profiles.profile import Profile
from unmask.schedules.schedule import Schedule

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class CliError(click.ClickException):
    """A one-line error that is not a failed check: exit code 2 (1 is for failed checks)."""

    exit_code = 2


#: Values whose magnitude is below this fraction of the largest ``|h|`` (or of 1) print as 0 in
#: tables: they are round-off of sums of logarithms, not information (``--json`` keeps them).
NOISE_FLOOR = 1e-12


def _floor_noise(value: float, scale: float) -> float:
    """``value``, or 0.0 when it is below the noise floor at this scale."""
    return 0.0 if abs(value) < NOISE_FLOOR * max(1.0, abs(scale)) else value


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False, soft_wrap=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = max(console.width, 112)  # pipes and files: room for the tables
    return console


@contextlib.contextmanager
def _busy(label: str) -> Iterator[None]:
    """A spinner with the elapsed time on stderr while a long computation runs (terminals only).

    The C++ core reports no progress, so this is an activity indicator, not a fraction done.
    """
    console = _console(stderr=True)
    if not console.is_terminal:
        yield
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn(label), TimeElapsedColumn(), console=console,
                  transient=True) as bar:
        bar.add_task(label, total=None)
        yield


def _quoted(text: str, limit: int = 40) -> str:
    """``repr(text)``, or its head and its length when longer than ``limit`` characters."""
    return repr(text) if len(text) <= limit else f"{text[:12]!r}... ({len(text)} characters)"


class IntRange(click.IntRange):
    """``click.IntRange`` that quotes an over-long argument by its length, not in full."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        """Parse ``value``; refuse an over-long string before reading it as an integer."""
        if isinstance(value, str) and len(value.strip()) > 24:
            text = value.strip()
            self.fail(f"{text[:12]}... ({len(text)} characters) is not an integer in the range "
                      f"{self._describe_range()}", param, ctx)
        return super().convert(value, param, ctx)


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if math.isinf(v):
            return "inf"
        if abs(v) < 1e-12:
            return "0"
        return f"{v:.4g}"
    return str(v)


def _fmt_table(v: Any) -> str:
    if isinstance(v, float):
        return "0" if v == 0 else f"{v:.6g}"
    return str(v)


#: Longest table printed in full; longer ones show their head and tail (``--json`` has all).
TABLE_MAX_ROWS = 60


def _echo_table(title: str, columns: list[str], rows: Sequence[list[Any]],
                note: str | None = None) -> None:
    from rich.table import Table

    captions = []
    total = len(rows)
    if total > TABLE_MAX_ROWS:  # rows may be computed on access: touch only those shown
        head, tail = TABLE_MAX_ROWS * 2 // 3, TABLE_MAX_ROWS // 3
        captions.append(f"{total - head - tail} of {total} rows not shown; --json has all")
        rows = [*(rows[i] for i in range(head)), ["..."] * len(columns),
                *(rows[i] for i in range(total - tail, total))]
    table = Table(title=title, caption="\n".join(captions) or None)
    for col in columns:
        table.add_column(col, justify="right")
    for row in rows:
        table.add_row(*[_fmt_table(v) for v in row])
    console = _console()
    console.print(table)
    if note:
        console.print(note, soft_wrap=True, markup=False, highlight=False)


class _Group(click.Group):
    """The command group; Ctrl-C exits with 130 (the shell's SIGINT code), not click's 1.

    Exit code 1 is reserved for failed checks of ``unmask verify``.
    """

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; an interrupt becomes exit code 130 with one line on stderr."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


@click.group(cls=_Group, context_settings=CONTEXT)
@click.version_option(unmask.__version__, prog_name="unmask")
def main() -> None:
    """Exact profiles, sampler laws, bounds and optimal schedules for masked diffusion.

    Start with `unmask verify`: it checks the whole theory end to end on an embedded suite.
    """


# -------------------------------------------------------------------------------------------
# Inputs: built-in laws and files
# -------------------------------------------------------------------------------------------
BUILTIN_LAWS = (
    "all-equal", "parity", "independent", "markov", "ising", "random", "copy-pair", "mixture",
    "digits",
)
INPUT_KINDS = ("auto", "joint", "samples", "h", "loss-curve")


#: What ``--param`` means for each built-in law, and its default (None: the law takes none).
LAW_PARAMS: dict[str, tuple[str, float] | None] = {
    "all-equal": None,
    "parity": None,
    "independent": None,
    "markov": ("stay probability in [0, 1]", 0.9),
    "ising": ("finite nearest-neighbour coupling", 0.5),
    "random": ("Dirichlet concentration > 0", 0.5),
    "copy-pair": None,
    "mixture": ("number of components, an integer >= 1", 3.0),
    "digits": None,
}
#: Laws whose length or alphabet is fixed (n, q); None = free.
_FIXED_SHAPE: dict[str, tuple[int | None, int | None]] = {
    "parity": (None, 2), "ising": (None, 2), "copy-pair": (3, 2), "digits": (16, 2),
}


def _law_param(name: str, param: float | None) -> float:
    """Validate ``--param`` for law ``name`` and fill in the default (never silently replaced)."""
    spec = LAW_PARAMS[name]
    if spec is None:
        if param is not None:
            raise click.BadParameter(f"the {name} law takes no parameter", param_hint="--param")
        return math.nan
    meaning, default = spec
    if param is None:
        return default
    ok = math.isfinite(param)
    if name == "markov":
        ok = ok and 0.0 <= param <= 1.0
    elif name == "random":
        ok = ok and param > 0
    elif name == "mixture":
        ok = ok and param >= 1 and param == int(param)
    if not ok:
        raise click.BadParameter(f"the {name} law's parameter is the {meaning}, got {param!r}",
                                 param_hint="--param")
    return param


def _markov_transition(q: int, stay: float) -> np.ndarray:
    P = np.full((q, q), (1 - stay) / (q - 1))
    np.fill_diagonal(P, stay)
    return P


#: Above this length the ``markov`` law is given by its exact nearest-neighbour profile
#: (:func:`unmask.markov_profile`, any length) instead of a dense joint and the subset lattice.
MARKOV_DENSE_MAX_N = 16


def build_law(name: str, n: int | None, q: int, seed: int, param: float | None) -> Joint:
    """Build one of the built-in laws by name (used by several commands).

    ``n`` defaults to 8 (``copy-pair`` has n = 3, ``digits`` n = 16). ``param`` is the stay
    probability of ``markov`` (default 0.9), the coupling of the ``ising`` chain (0.5), the
    Dirichlet concentration of ``random`` (0.5) and the number of components of ``mixture``
    (3); the other laws take none. A parameter, length or alphabet a law cannot honour raises
    :class:`click.BadParameter` (exit code 2) instead of being silently replaced.
    """
    if name not in LAW_PARAMS:
        raise click.BadParameter(f"unknown law {name!r}")  # pragma: no cover - caller checks
    fixed_n, fixed_q = _FIXED_SHAPE.get(name, (None, None))
    if fixed_q is not None and q != fixed_q:
        raise click.BadParameter(f"the {name} law is on {{0,1}}: q is {fixed_q}, got {q}",
                                 param_hint="--q")
    if fixed_n is not None and n is not None and n != fixed_n:
        raise click.BadParameter(f"the {name} law has n = {fixed_n}, got {n}", param_hint="--n")
    value = _law_param(name, param)
    n = 8 if n is None else n
    if name == "all-equal":
        return joints.all_equal(n, q)
    if name == "parity":
        return joints.parity(n)
    if name == "independent":
        rng = np.random.default_rng(seed)
        return joints.independent(rng.dirichlet(np.ones(q), size=n))
    if name == "markov":
        return joints.markov_chain(_markov_transition(q, value), n)
    if name == "ising":
        J = np.zeros((n, n))
        for j in range(n - 1):
            J[j, j + 1] = J[j + 1, j] = value
        return joints.ising(J)
    if name == "random":
        return joints.random(n, q, concentration=value, seed=seed)
    if name == "copy-pair":
        p = np.zeros((2, 2, 2))
        p[0, 0, :] = p[1, 1, :] = 0.25
        return Joint(p)
    if name == "mixture":
        comps = int(value)
        from unmask._validation import check_memory

        # the (comps, n, q) components and their copy, before drawing them (--param 3e8)
        check_memory(16.0 * comps * n * q, f"{comps} mixture components on [{q}]^{n}")
        rng = np.random.default_rng(seed)
        return joints.mixture_of_products(
            np.full(comps, 1.0 / comps), rng.dirichlet(np.ones(q), size=(comps, n))
        )
    try:
        datasets = importlib.import_module("unmask.laws.datasets")
    except ModuleNotFoundError as exc:
        raise CliError("the digit-patch law needs unmask.datasets") from exc
    jt: Joint = datasets.digit_patches()
    return jt


def _read_text(path: Path) -> str:
    from unmask._io import MAX_TABLE_BYTES

    try:
        size = path.stat().st_size
        if size > MAX_TABLE_BYTES:
            raise click.BadParameter(
                f"{path} is {size / 2**20:.0f} MiB; text sources above "
                f"{MAX_TABLE_BYTES // 2**20} MiB are not read (save the array as .npy)",
                param_hint="SOURCE")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise click.BadParameter(f"{path} is not a text file ({exc.reason})",
                                 param_hint="SOURCE") from exc
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc.strerror or exc}",
                                 param_hint="SOURCE") from exc


def _read_csv(path: Path) -> tuple[list[str] | None, np.ndarray]:
    """:func:`unmask._io.read_table` with its errors as usage errors (exit code 2)."""
    from unmask._io import TableError, read_table

    try:
        return read_table(path)
    except TableError as exc:
        raise click.BadParameter(str(exc), param_hint="SOURCE") from exc
    except MemoryError as exc:
        raise click.UsageError(str(exc)) from exc


def _reject_json_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows (write a finite number)")


def _read_json(path: Path) -> Any:
    text = _read_text(path)
    try:
        # parse_int=float: an integer of thousands of digits becomes inf (refused as not
        # finite) instead of tripping Python's int-to-str digit limit.
        return json.loads(text, parse_int=float, parse_constant=_reject_json_constant)
    except RecursionError as exc:
        raise click.BadParameter(f"{path}: JSON nested too deeply to read",
                                 param_hint="SOURCE") from exc
    except ValueError as exc:  # JSONDecodeError and the rejected constants
        raise click.BadParameter(f"{path} is not valid JSON for unmask: {exc}",
                                 param_hint="SOURCE") from exc


def _load_npy(path: Path) -> np.ndarray:
    """Load a ``.npy`` array after checking its header against the file size and memory."""
    from unmask._validation import check_memory, format_bytes

    fmt = np.lib.format
    try:
        with open(path, "rb") as fh:
            lead = fh.read(4)
            fh.seek(0)
            if lead.startswith(b"PK"):
                raise click.BadParameter(
                    f"{path} is a zip archive (an .npz), not a .npy array: save one array "
                    "with numpy.save", param_hint="SOURCE")
            try:
                version = fmt.read_magic(fh)
                if version == (1, 0):
                    shape, _, dtype = fmt.read_array_header_1_0(fh)
                elif version == (2, 0):
                    shape, _, dtype = fmt.read_array_header_2_0(fh)
                else:
                    shape, dtype = None, None
                data_start = fh.tell()
            except (ValueError, SyntaxError, TypeError, RecursionError) as exc:
                raise click.BadParameter(f"{path} is not a .npy array: {exc}",
                                         param_hint="SOURCE") from exc
        if shape is not None and dtype is not None:
            if dtype.hasobject:
                raise click.BadParameter(f"{path} holds Python objects, not numbers",
                                         param_hint="SOURCE")
            need = math.prod(shape) * dtype.itemsize
            have = path.stat().st_size - data_start
            if need > have:
                raise click.BadParameter(
                    f"{path} is truncated: its header announces shape {shape} "
                    f"({format_bytes(need)}) but only {format_bytes(have)} follow",
                    param_hint="SOURCE")
            check_memory(float(need), f"loading {path}")
        arr = np.load(path, allow_pickle=False)
    except MemoryError as exc:
        raise click.UsageError(str(exc)) from exc
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise click.BadParameter(f"cannot read {path} as .npy: {exc}",
                                 param_hint="SOURCE") from exc
    if not isinstance(arr, np.ndarray):  # pragma: no cover - .npz caught above
        raise click.BadParameter(f"{path} is not a single .npy array", param_hint="SOURCE")
    return arr


#: Built-in laws that draw random parameters (``--seed`` applies to them only).
SEEDED_LAWS = ("independent", "random", "mixture")


def load_source(
    source: str, kind: str, n: int | None, q: int | None, seed: int | None, param: float | None,
    info: dict[str, Any] | None = None,
) -> Joint | Profile:
    """Resolve SOURCE: a built-in law name, a .npy joint/samples/h, a .csv, or a .json h.

    ``q`` and ``seed`` are None when not given (a built-in law then uses q = 2 and seed 0). An
    option that the source cannot use is refused, never ignored: ``--seed`` for a law without
    randomness or a file, ``--n`` for a file that is not a loss curve (unless it matches the
    file), ``--q`` for a file (unless it matches the file's alphabet).

    ``info``, when given, receives ``"logged"``: ``(positions, losses)`` of a loss-curve
    source (positions ``i = (1 - ratio) n``), for figures that mark the logged points.

    Raises click errors (exit code 2) for unknown names, missing files, unreadable content and
    options that do not apply.
    """
    if source in BUILTIN_LAWS:
        if kind not in ("auto", "joint"):
            raise click.BadParameter(f"{source!r} is a built-in law, not a {kind} file",
                                     param_hint="--kind")
        if seed is not None and source not in SEEDED_LAWS:
            raise click.BadParameter(
                f"the {source} law has no randomness; --seed applies to "
                f"{', '.join(SEEDED_LAWS)}", param_hint="--seed")
        qq = 2 if q is None else q
        try:
            if source == "markov" and n is not None and n > MARKOV_DENSE_MAX_N:
                stay = _law_param("markov", param)
                with _busy(f"exact Markov profile (n={n})"):
                    prof: Profile = unmask.markov_profile(_markov_transition(qq, stay), n)
                return prof
            with _busy(f"building the {source} law"):
                return build_law(source, n, qq, 0 if seed is None else seed, param)
        except (ValueError, MemoryError) as exc:
            raise click.UsageError(f"cannot build the {source} law: {exc}") from exc
    if param is not None:
        raise click.BadParameter(f"--param applies to the built-in laws, not to the file {source}",
                                 param_hint="--param")
    if seed is not None:
        raise click.BadParameter(f"--seed applies to the built-in random laws, not to the file "
                                 f"{source}", param_hint="--seed")
    if not source.strip():
        raise click.BadParameter("SOURCE is empty: give a built-in law name or a file",
                                 param_hint="SOURCE")
    path = Path(source)
    if not path.exists():
        raise click.BadParameter(
            f"no built-in law or file named {source!r}: file not found: {path} "
            f"(built-in laws: {', '.join(BUILTIN_LAWS)})",
            param_hint="SOURCE",
        )
    if path.is_dir():
        raise click.BadParameter(f"{path} is a directory, not a file", param_hint="SOURCE")
    obj, n_used = _load_file(path, kind, n, info)
    _check_file_shape(obj, path, None if n_used else n, q)
    return obj


def _check_file_shape(obj: Joint | Profile, path: Path, n: int | None, q: int | None) -> None:
    """Refuse ``--n`` / ``--q`` that contradict (or cannot apply to) what the file holds."""
    if n is not None and n != obj.n:
        raise click.BadParameter(
            f"{path} holds n = {obj.n} variables; --n sets the length of a built-in law or of "
            "a loss-curve profile", param_hint="--n")
    if q is not None:
        if not isinstance(obj, Joint):
            raise click.BadParameter(
                f"{path} is an h curve, which has no alphabet; --q sets the alphabet of a "
                "built-in law", param_hint="--q")
        if q != obj.q:
            raise click.BadParameter(
                f"{path} has alphabet size q = {obj.q}; --q sets the alphabet of a built-in law",
                param_hint="--q")


def _load_file(path: Path, kind: str, n: int | None,
               info: dict[str, Any] | None = None) -> tuple[Joint | Profile, bool]:
    """What the file holds, and whether ``n`` was used (a loss curve needs it)."""
    suffix = path.suffix.lower()
    if suffix == ".npy":
        arr = _load_npy(path)
        return _from_array(arr, kind, path, n), kind == "loss-curve"
    if suffix == ".json":
        if kind not in ("auto", "h"):
            raise click.BadParameter(f"{path}: a .json source is an h curve, not {kind}",
                                     param_hint="--kind")
        obj = _read_json(path)
        h = obj.get("h") if isinstance(obj, dict) else obj
        if h is None:
            raise click.BadParameter(f"{path}: expected a list of h values or an object with 'h'",
                                     param_hint="SOURCE")
        stderr = obj.get("stderr") if isinstance(obj, dict) else None
        return _profile_or_usage(h, stderr=stderr, source=str(path)), False
    if suffix in (".csv", ".txt"):
        header, data = _read_csv(path)
        if kind == "loss-curve" or (
            kind == "auto" and header is not None and any("loss" in c for c in header)
        ):
            from unmask.cli import _evidence

            prof = _evidence.loss_curve_from_table(header, data, path, n)
            if info is not None and prof.evidence is not None:
                pooled = prof.evidence.pooled
                info["logged"] = (pooled.x.copy(), pooled.y.copy())
            return prof, True
        if kind == "h" or (kind == "auto" and (data.shape[1] == 1 or data.shape[0] == 1)):
            from unmask.cli import _evidence

            return (_profile_or_usage(_evidence.h_column(header, data, path), source=str(path)),
                    False)
        if kind in ("auto", "samples"):
            if not np.all(data == np.round(data)):
                raise click.BadParameter(
                    f"{path}: samples must be integers (or pass --kind h / loss-curve)"
                )
            if np.any(np.abs(data) > 2**53):
                raise click.BadParameter(
                    f"{path}: sample symbols must be small non-negative integers, got "
                    f"{float(np.max(np.abs(data))):g}"
                )
            return _samples_joint(data.astype(np.int64), path), False
        raise click.BadParameter(f"{path}: a .csv holds samples, an h curve or a loss curve",
                                 param_hint="--kind")
    raise click.BadParameter(
        f"{path}: unsupported file type {suffix!r} (use .npy, .csv or .json)", param_hint="SOURCE"
    )


def _profile_or_usage(h: Any, stderr: Any = None, source: str = "") -> Profile:
    try:
        arr = np.asarray(h)
        if arr.dtype.kind not in "fiu":  # complex, bool, strings, objects: not an h curve
            if arr.dtype.kind == "O" and arr.size:
                arr = np.asarray(h, dtype=np.float64)  # a JSON list with nulls, for instance
            elif arr.size:
                raise ValueError(f"h must be real numbers, got dtype {arr.dtype}")
        return Profile(arr.astype(np.float64), stderr=stderr, source=source)
    except (ValueError, TypeError, OverflowError) as exc:
        raise click.BadParameter(f"{source}: not a valid h curve: {exc}",
                                 param_hint="SOURCE") from exc


def _samples_joint(x: np.ndarray, path: Path) -> Joint:
    try:
        return joints.from_samples(x)
    except (ValueError, MemoryError) as exc:
        raise click.BadParameter(f"{path}: {exc}", param_hint="SOURCE") from exc


def _from_array(arr: np.ndarray, kind: str, path: Path, n: int | None) -> Joint | Profile:
    if kind == "auto":
        if arr.ndim == 1:
            kind = "h"
        elif arr.ndim == 2 and np.issubdtype(arr.dtype, np.integer):
            kind = "samples"
        elif len(set(arr.shape)) == 1:
            kind = "joint"
        else:
            raise click.BadParameter(
                f"{path}: cannot tell what an array of shape {arr.shape} is; pass --kind",
                param_hint="--kind",
            )
    if kind == "h":
        return _profile_or_usage(arr, source=str(path))
    if kind == "samples":
        return _samples_joint(arr, path)
    if kind == "loss-curve":
        from unmask.cli import _evidence

        return _evidence.loss_curve_from_array(arr, path, n)
    try:
        return Joint(arr)
    except (ValueError, TypeError) as exc:
        # The Python hint (normalize=True) means nothing on the command line.
        msg = str(exc).replace("; pass normalize=True to rescale", "")
        if msg != str(exc):
            msg += "; save it rescaled, p / p.sum(), in float64"
            if arr.dtype.kind == "f" and arr.dtype.itemsize < 8:
                msg += f" ({arr.dtype} is too coarse to sum to 1 within 1e-9)"
        raise click.BadParameter(f"{path}: not a valid joint law: {msg}",
                                 param_hint="SOURCE") from exc


def _as_profile(obj: Joint | Profile, base: float | None, threads: int | None) -> Profile:
    if isinstance(obj, Profile):
        if base is None:
            return obj
        if obj.base is not None:  # pragma: no cover - files and built-in profiles are in nats
            raise click.BadParameter(f"the profile is already in base {obj.base}",
                                     param_hint="--base")
        try:
            return obj.in_base(base)
        except (ValueError, TypeError) as exc:
            raise click.BadParameter(str(exc), param_hint="--base") from exc
    try:
        with _busy(f"exact profile (n={obj.n}, q={obj.q})"):
            return unmask.profile(obj, base=base, threads=threads)
    except (ValueError, MemoryError) as exc:
        raise click.UsageError(str(exc)) from exc


NONMONOTONE = ("project", "plain", "raise")


def _monotone_profile(prof: Profile, nonmonotone: str) -> tuple[Profile, bool]:
    """Apply the ``--nonmonotone`` policy (theory section 7); return ``(profile, projected)``.

    An exact profile is non-increasing (Han); an estimated or user-given one may not be, and
    its costs ``g(a, b)`` can then be negative. The default projects it (pool adjacent
    violators) so that every cost printed is that of the same, projected curve, and says so.
    """
    if prof.is_monotone:
        return prof, False
    worst = float(np.max(np.diff(prof.h)))
    what = f"h is not non-increasing (largest increase {worst:.3g})"
    if nonmonotone == "raise":
        raise click.BadParameter(f"{what}; pass --nonmonotone project or plain",
                                 param_hint="--nonmonotone")
    if nonmonotone == "project":
        click.echo(f"note: {what}: projected onto non-increasing curves (pool adjacent "
                   "violators); every cost below is that of the projected h", err=True)
        return prof.monotone(), True
    click.echo(f"note: {what}: kept as given (plain DP); its costs can be negative", err=True)
    return prof, False


def _nonmonotone_option(func: Any) -> Any:
    return click.option(
        "--nonmonotone", type=click.Choice(NONMONOTONE), default="project", show_default=True,
        help="What to do with an h that is not non-increasing (an estimated curve): project it "
             "(pool adjacent violators), keep it (plain DP) or refuse it.",
    )(func)


def source_options(func: Any) -> Any:
    """Options shared by the commands that take a SOURCE."""
    opts = [
        click.argument("source"),
        click.option("--n", "n", type=IntRange(1, 10**7), default=None,
                     help="Length of a built-in law (default 8) or of a loss-curve profile."),
        click.option("--q", "q", type=IntRange(2, 16), default=None,
                     help="Alphabet size of a built-in law (default 2)."),
        click.option("--seed", type=IntRange(0, 2**63 - 1), default=None,
                     help="Seed of the random, independent and mixture laws (default 0)."),
        click.option("--param", type=float, default=None,
                     help="Law parameter: markov stay prob. (0.9), ising coupling (0.5), random "
                          "concentration (0.5), mixture components (3); other laws take none."),
        click.option("--kind", type=click.Choice(INPUT_KINDS), default="auto",
                     show_default=True, help="How to read a SOURCE file."),
        click.option("--threads", type=IntRange(1, MAX_THREADS), default=None,
                     help="Threads for the C++ core (default: all cores)."),
    ]
    for opt in reversed(opts):
        func = opt(func)
    from unmask.cli._evidence import loss_curve_options

    return loss_curve_options(func)


SOURCE_HELP = (
    "SOURCE is a built-in law (" + ", ".join(BUILTIN_LAWS) + "), a .npy file (a joint of shape "
    "(q,)*n, an int samples array (m, n), or a 1-d h curve), a .csv (integer samples, one h "
    "column, or a 'ratio,loss' loss curve with --n: ratio = fraction of tokens still masked, "
    "loss = nats per masked token) or a .json h curve (a list or {\"h\": [...]})."
)


# -------------------------------------------------------------------------------------------
# unmask profile
# -------------------------------------------------------------------------------------------
@main.command("profile", epilog=SOURCE_HELP,
              short_help="Entropy profile h and information profile f.")
@source_options
@click.option("--base", type=float, default=None, callback=lambda ctx, p, v: _check_base(v),
              help="Log base, a number > 1 (default nats; 2 for bits). An h file is read "
                   "in nats.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, writable=True),
              default=None, help="Write a PNG of h and f to this file.")
def profile_cmd(
    source: str, n: int | None, q: int | None, seed: int | None, param: float | None, kind: str,
    threads: int | None,
    base: float | None, as_json: bool, plot_path: str | None,
) -> None:
    """Entropy profile h and information profile f of SOURCE."""
    _check_plot_file(plot_path)
    info: dict[str, Any] = {}
    obj = load_source(source, kind, n, q, seed, param, info=info)
    prof = _as_profile(obj, base, threads)
    qq = obj.q if isinstance(obj, Joint) else None
    if plot_path is not None:
        from unmask.plotting import plot_profile

        logged = info.get("logged")
        if logged is not None and base is not None:
            logged = (logged[0], logged[1] / math.log(base))
        points = {} if logged is None else {"logged": np.clip(logged[0], 0, prof.n - 1),
                                            "logged_values": logged[1]}
        _save(plot_profile(prof, title=f"{source} (n={prof.n})", **points), plot_path)
    if as_json:
        payload = {
            "source": source, "n": prof.n, "q": qq, "unit": prof.unit,
            "h": prof.h.tolist(), "f": prof.f.tolist(), **prof.summary(),
            "monotone": prof.is_monotone,
        }
        payload["n"] = prof.n
        click.echo(json.dumps(payload, indent=2))
        return
    rows = _ProfileRows(prof)
    qtxt = f", q={qq}" if qq else ""
    _echo_table(f"{source} (n={prof.n}{qtxt}) profile in {prof.unit}", ["i", "h(i)", "f(i)"],
                rows, note=f"values below {NOISE_FLOOR:g} x max(1, h(0)) in magnitude print as "
                           "0 (round-off); --json has the raw numbers")
    s = prof.summary()

    def val(key: str, scale: float) -> str:
        return _fmt_table(_floor_noise(float(s[key]), scale))

    big = max(1.0, abs(float(s["entropy"])))
    click.echo(
        f"H = {val('entropy', big)}  TC = {val('tc', big * prof.n)}  "
        f"DTC = {val('dtc', big * prof.n)}  "
        f"sum_j I(X_j;X_-j) = {val('mi_sum', big * prof.n)}  ({prof.unit})"
    )


class _ProfileRows(Sequence[list[Any]]):
    """Rows ``(i, h(i), f(i))`` made on access (a profile can have 10^7 of them)."""

    def __init__(self, prof: Profile) -> None:
        self.h, self.f = prof.h, prof.f
        self.scale = float(np.max(np.abs(self.h))) if self.h.size else 1.0

    def __len__(self) -> int:
        return int(self.h.size)

    @overload
    def __getitem__(self, i: int) -> list[Any]: ...
    @overload
    def __getitem__(self, i: slice) -> list[list[Any]]: ...
    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        f = _floor_noise(float(self.f[i]), self.scale) if i < self.f.size else "-"
        return [i, _floor_noise(float(self.h[i]), self.scale), f]


def _check_base(base: float | None) -> float | None:
    if base is not None and not (math.isfinite(base) and base > 1):
        raise click.BadParameter(f"the log base must be a finite number > 1 (2 for bits), "
                                 f"got {base!r}", param_hint="--base")
    return base


def _need_matplotlib() -> None:
    """Exit 2 with the install command when matplotlib is missing (before any work)."""
    try:
        importlib.import_module("matplotlib")
    except ImportError as exc:
        raise CliError('--plot needs matplotlib, an optional dependency: '
                       'pip install "unmask[plot]"') from exc


def _writable_dir(directory: Path, what: str, hint: str) -> None:
    """Refuse unless ``directory`` is (or can be created as) a folder we can write into.

    Tried for real, with a temporary file in the deepest folder that exists: permission bits
    say nothing for root or for special file systems.
    """
    import tempfile

    probe = directory
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        raise click.BadParameter(f"cannot write {what}: {probe} is not a directory",
                                 param_hint=hint)
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as exc:
        raise click.BadParameter(f"cannot write {what}: {probe}: {exc.strerror or exc}",
                                 param_hint=hint) from exc


def _check_plot_file(path: str | None) -> None:
    """Check a ``--plot`` file target before the computation: matplotlib, format, folder."""
    if path is None:
        return
    _need_matplotlib()
    from matplotlib.backend_bases import FigureCanvasBase

    target = Path(path)
    suffix = target.suffix.lower().lstrip(".")
    formats = FigureCanvasBase.get_supported_filetypes()
    if suffix and suffix not in formats:
        raise click.BadParameter(
            f"cannot write a figure as .{suffix}; use one of "
            f"{', '.join('.' + k for k in sorted(formats))}", param_hint="--plot")
    if target.is_dir():
        raise click.BadParameter(f"{path} is a directory", param_hint="--plot")
    parent = target.parent
    if not parent.is_dir():
        raise click.BadParameter(f"cannot write {path}: no directory {parent}",
                                 param_hint="--plot")
    if target.exists():
        try:
            with open(target, "ab"):
                pass
        except OSError as exc:
            raise click.BadParameter(f"cannot write {path}: {exc.strerror or exc}",
                                     param_hint="--plot") from exc
    else:
        _writable_dir(parent, path, "--plot")


def _save(fig: Any, path: str) -> None:
    """Save at exactly ``path`` (a name without a suffix gets PNG data, not a new name)."""
    try:
        fig.savefig(path, dpi=150, format=None if Path(path).suffix else "png")
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from exc
    click.echo(f"wrote {path}", err=True)


# -------------------------------------------------------------------------------------------
# unmask schedule
# -------------------------------------------------------------------------------------------
def _optional(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise


_SCHEDULES = _optional("unmask.schedules.families")
#: The suite's names first, then every other family of :data:`unmask.schedules.FAMILIES`
#: that gives one schedule ("randomized" gives a law over schedules).
FAMILY_CHOICES = (
    "optimal", "constant", "cosine", "geometric-unmasked", "geometric-masked", "sqrt",
    *(k for k in (getattr(_SCHEDULES, "FAMILIES", None) or {})
      if k not in ("optimal", "constant", "cosine", "sqrt", "randomized")),
)
ENCODINGS = ("counts", "cumulative", "remaining-masked", "mask-ratios", "alpha", "blocks",
             "all")
ENCODING_CONVENTION = {
    "counts": "per step: tokens unmasked at step k, k = 1..K",
    "cumulative": "cumulative: tokens unmasked after step k, k = 1..K (last = n)",
    "remaining-masked": "cumulative: tokens still masked after step k (last = 0)",
    "mask-ratios": "cumulative: fraction of tokens still masked after step k (last = 0)",
    "alpha": "masking curve: fraction unmasked alpha(t_k) at t_k = k/K, k = 0..K "
             "(alpha = 0 at t = 0, 1 at t = 1; t is sampling time, MDLM's diffusion time is "
             "1 - t); piecewise linear between knots",
    "blocks": "per step, per semi-autoregressive block of --block-width tokens "
              "(every block boundary must be a step boundary)",
    "all": "every encoding (see unmask.export.to_dict)",
}


def _make_schedule(family: str, prof: Profile, steps: int, threads: int | None,
                   nonmonotone: str = "project") -> Schedule:
    from unmask.verification import FAMILIES, _Ingredients, _Missing

    if steps > prof.n:
        raise click.BadParameter(f"--steps {steps} exceeds n = {prof.n}", param_hint="--steps")
    try:
        if family == "optimal" and nonmonotone == "plain" and not prof.is_monotone:
            plain: Schedule = unmask.optimal_schedule(prof, steps, nonmonotone="plain",
                                                      threads=threads)
            return plain
        if family in FAMILIES:
            return _Ingredients().schedule(family, prof, steps, threads)
        sched: Schedule = _SCHEDULES.get(family, prof, steps)
        return sched
    except _Missing as exc:
        raise CliError(f"schedule family {family!r} {exc}") from exc
    except ValueError as exc:
        raise click.UsageError(f"cannot build a {family} schedule: {exc}") from exc


def _encode(sched: Schedule, encoding: str, block_width: int | None) -> Any:
    if encoding == "counts":
        return sched.counts().tolist()
    if encoding == "cumulative":
        return sched.cumulative().tolist()
    if encoding == "remaining-masked":
        return (sched.n - sched.cumulative()).tolist()
    if encoding == "mask-ratios":
        return sched.mask_ratios().tolist()
    if encoding == "alpha":
        return (sched.boundaries / sched.n).tolist()
    export = _optional("unmask.export.encodings")
    if export is None:
        raise CliError(f"--encoding {encoding} needs unmask.export")
    if encoding == "blocks" and block_width is None:
        raise click.UsageError("--encoding blocks needs --block-width")
    try:
        if encoding == "blocks":
            return export.split_blocks(sched, block_width)
        return export.to_dict(sched, block_width=block_width)
    except ValueError as exc:
        hint = ""
        if "straddles" in str(exc):
            hint = ("; the default --family optimal with --encoding blocks gives the best "
                    "schedule whose steps stay inside blocks")
        raise click.UsageError(f"{exc}{hint}") from exc


@main.command("schedule", epilog=SOURCE_HELP,
              short_help="A K-step schedule (optimal by default) in a sampler's encoding.")
@source_options
@click.option("--steps", "-K", "steps", type=IntRange(1, None), required=True,
              help="Number of steps K.")
@click.option("--family", type=click.Choice(FAMILY_CHOICES), default="optimal",
              show_default=True,
              help="Schedule family: optimal (minimum exact E KL for the profile), constant "
                   "(LLaDA's even split), geometric-unmasked / dtc (geometric in the revealed "
                   "count), geometric-masked / tc (geometric in the masked count), two-sided "
                   "(small relative to both counts), sqrt (square-root rule), or a masking "
                   "curve alpha(t) on a uniform time grid (cosine, linear, loglinear, power, "
                   "polynomial, geometric); see unmask.schedules.")
@click.option("--encoding", type=click.Choice(ENCODINGS), default="counts", show_default=True,
              help="counts: tokens unmasked at each step; cumulative: tokens unmasked after "
                   "each step; remaining-masked: tokens still masked after each step; "
                   "mask-ratios: fraction still masked after each step; alpha: fraction "
                   "unmasked at t = k/K, k = 0..K; blocks: per-step counts for each block of "
                   "--block-width tokens (with --family optimal: the best schedule giving "
                   "every block steps/blocks steps, as LLaDA does); all: every encoding.")
@click.option("--block-width", type=IntRange(1, None), default=None,
              help="Block width for --encoding blocks (the last block is shorter when it does "
                   "not divide n).")
@click.option("--steps-per-block", type=click.Choice(("equal", "free")), default="equal",
              show_default=True,
              help="With --encoding blocks and --family optimal: the same steps in every block "
                   "(LLaDA) or the best allocation of the K steps over the blocks. The cost is "
                   "exact (block profiles) for joint laws and the built-in markov chain.")
@click.option("--format", "fmt", type=click.Choice(("json", "csv")), default="json",
              show_default=True, help="JSON (with the convention and the expected KL) or CSV.")
@_nonmonotone_option
def schedule_cmd(
    source: str, n: int | None, q: int | None, seed: int | None, param: float | None, kind: str,
    threads: int | None,
    steps: int, family: str, encoding: str, block_width: int | None, steps_per_block: str,
    fmt: str, nonmonotone: str,
) -> None:
    """A K-step schedule for SOURCE (default: optimal) in a sampler's encoding.

    The expected KL reported is the exact E_sigma KL(p || q_sigma) of random-order sampling
    (theory section 5) for the profile the schedule was chosen on.
    """
    if steps_per_block != "equal" and not (encoding == "blocks" and family == "optimal"):
        raise click.UsageError("--steps-per-block applies to --encoding blocks --family optimal")
    if block_width is not None and encoding not in ("blocks", "all"):
        raise click.BadParameter(
            f"--block-width applies to --encoding blocks (or all), not {encoding}",
            param_hint="--block-width")
    given = _as_profile(load_source(source, kind, n, q, seed, param), None, threads)
    prof, projected = _monotone_profile(given, nonmonotone)
    blockwise: dict[str, Any] = {}
    with _busy(f"{family} schedule (n={prof.n}, K={steps})"):
        if encoding == "blocks" and family == "optimal":
            # exact block profiles whenever the source allows (theory section 10)
            from unmask.cli.blocks import blockwise_optimal

            bsched, approximate = blockwise_optimal(
                source, kind, n, q, seed, param, steps, block_width, nonmonotone, threads,
                steps_per_block,
            )
            sched = bsched.flat
            blockwise = {"exact_blockwise": not approximate, "steps_per_block": steps_per_block,
                         "blockwise_expected_kl": bsched.cost}
        else:
            sched = _make_schedule(family, prof, steps, threads, nonmonotone)
    values = bsched.blocks if blockwise else _encode(sched, encoding, block_width)
    ekl = blockwise.get("blockwise_expected_kl", None)
    if ekl is None:
        ekl = unmask.expected_kl(prof, sched, nonmonotone="plain")  # policy applied above
    from unmask.cli import _evidence

    estimate = _evidence.estimate_report(prof, sched, family, threads)
    if estimate is not None:
        _evidence.echo_estimate(estimate)
    if fmt == "json":
        payload: dict[str, Any] = {
            "source": source, "n": sched.n, "steps": sched.steps, "family": family,
            "encoding": encoding, "convention": ENCODING_CONVENTION[encoding],
            "values": values, "sizes": list(sched.sizes),
            "expected_kl": ekl, "unit": prof.unit,
            "monotone": given.is_monotone, "projected": projected,
        }
        if blockwise:
            payload["exact_blockwise"] = blockwise["exact_blockwise"]
            payload["steps_per_block"] = steps_per_block
        if estimate is not None:
            payload["estimated"] = estimate
        if encoding == "alpha":
            payload["t"] = (np.arange(sched.steps + 1) / sched.steps).tolist()
        click.echo(json.dumps(payload, indent=2))
        return
    if encoding == "all":
        click.echo(_optional("unmask.export.encodings").to_csv(sched), nl=False)
        return
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if encoding == "blocks":
        writer.writerow(["block", "step", "unmasked_at_step"])
        for b, counts in enumerate(values):
            for k, c in enumerate(counts, start=1):
                writer.writerow([b, k, c])
    elif encoding == "alpha":
        writer.writerow(["t", "alpha_unmasked_fraction"])
        for k, v in enumerate(values):
            writer.writerow([repr(k / sched.steps), repr(v)])
    else:
        col = {"counts": "unmasked_at_step", "cumulative": "cumulative_unmasked",
               "remaining-masked": "remaining_masked",
               "mask-ratios": "remaining_mask_ratio"}[encoding]
        writer.writerow(["step", col])
        for k, v in enumerate(values, start=1):
            writer.writerow([k, v])
    click.echo(buf.getvalue(), nl=False)


# -------------------------------------------------------------------------------------------
# unmask frontier
# -------------------------------------------------------------------------------------------
def _frontier_costs(prof: Profile, max_steps: int, nonmonotone: str = "project") -> list[float]:
    fn = getattr(unmask, "optimal_frontier", None)
    if fn is None:
        raise CliError("the frontier needs unmask.optimal_frontier")
    from unmask.verification import _frontier_costs as costs_of

    return costs_of(fn(prof, max_steps, nonmonotone=nonmonotone))


@main.command("frontier", epilog=SOURCE_HELP,
              short_help="Optimal vs constant error for every K up to --max-steps.")
@source_options
@click.option("--max-steps", "-K", "max_steps", type=IntRange(1, None), default=None,
              help="Largest K (default min(n, 32)).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, writable=True),
              default=None, help="Write a PNG of the error versus K to this file.")
@_nonmonotone_option
def frontier_cmd(
    source: str, n: int | None, q: int | None, seed: int | None, param: float | None, kind: str,
    threads: int | None,
    max_steps: int | None, as_json: bool, plot_path: str | None, nonmonotone: str,
) -> None:
    """Optimal error for every K = 1..max-steps, next to the constant schedule.

    Errors are the exact E_sigma KL(p || q_sigma) of random-order sampling (theory section 5).
    """
    _check_plot_file(plot_path)
    given = _as_profile(load_source(source, kind, n, q, seed, param), None, threads)
    prof, projected = _monotone_profile(given, nonmonotone)
    kmax = min(prof.n, 32) if max_steps is None else max_steps
    if kmax > prof.n:
        raise click.BadParameter(f"--max-steps {kmax} exceeds n = {prof.n}",
                                 param_hint="--max-steps")
    with _busy(f"frontier (n={prof.n}, K=1..{kmax})"):
        optimal = _frontier_costs(prof, kmax, nonmonotone)
        constant = [unmask.expected_kl(prof, Schedule.constant(prof.n, k), nonmonotone="plain")
                    for k in range(1, kmax + 1)]
    if plot_path is not None:
        from unmask.plotting import plot_frontier

        _save(plot_frontier(optimal, compare={"constant": constant},
                            title=f"{source} (n={prof.n})", unit=prof.unit), plot_path)
    if as_json:
        click.echo(json.dumps({
            "source": source, "n": prof.n, "unit": prof.unit,
            "K": list(range(1, kmax + 1)), "optimal": optimal, "constant": constant,
            "monotone": given.is_monotone, "projected": projected,
        }, indent=2))
        return
    rows: list[list[Any]] = []
    scale = max([abs(v) for v in (*optimal, *constant) if math.isfinite(v)], default=1.0)
    for k in range(1, kmax + 1):
        o = _floor_noise(optimal[k - 1], scale)
        c = _floor_noise(constant[k - 1], scale)
        rows.append([k, o, c, f"{c / o:.3g}" if o > 0 else "-"])
    _echo_table(f"{source} (n={prof.n}): exact expected KL in {prof.unit}, random order",
                ["K", "optimal", "constant", "constant/optimal"], rows,
                note=f"values below {NOISE_FLOOR:g} x max(1, largest value) in magnitude print "
                     "as 0 (round-off); --json has the raw numbers")


# -------------------------------------------------------------------------------------------
# unmask verify
# -------------------------------------------------------------------------------------------
def _verify_law_names() -> list[str]:
    from unmask.verification import default_suite

    return [s.name for s in default_suite()] + ["section-9"]


@main.command("verify", short_help="Check the whole theory end to end (start here).")
@click.option("--quick", is_flag=True, help="Smaller laws, K in (2, 4): a few seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
@click.option("--plot", "plot_dir", type=click.Path(file_okay=False, writable=True),
              default=None, help="Write PNG figures into this directory.")
@click.option("--law", "laws", multiple=True, type=click.Choice(_verify_law_names()),
              help="Only this law (repeatable).")
@click.option("--steps", "-K", "ks", multiple=True, type=IntRange(1, None),
              help="Step counts to evaluate (repeatable; default 2, 3, 4, 8).")
@click.option("--threads", type=IntRange(1, MAX_THREADS), default=None,
              help="Threads for the C++ core (default 1: the suite's laws are small).")
@click.option("--verbose", "-v", is_flag=True, help="Also list every case and check.")
@click.option("--no-progress", is_flag=True, help="Do not show the progress bar.")
@click.option("--sweep", type=click.IntRange(1, None), default=None,
              help="Instead: check every rigorous bound on this many random laws.")
@click.option("--executor", default="local", show_default=True,
              help="With --sweep: 'threads:N', 'processes:N', 'dask-local:N' or tcp://HOST:PORT.")
@click.option("--seed", type=int, default=0, show_default=True, help="With --sweep: root seed.")
def verify_cmd(
    quick: bool, as_json: bool, plot_dir: str | None, laws: tuple[str, ...],
    ks: tuple[int, ...], threads: int | None, verbose: bool, no_progress: bool,
    sweep: int | None, executor: str, seed: int,
) -> None:
    """Check the theory end to end: exact errors, every bound, closed forms.

    Exits with code 1 when a rigorous bound is violated, a closed form of the theory fails or
    an identity breaks; checks whose ingredient is missing from this build are reported as
    skipped, not passed.
    """
    if sweep is not None:
        from unmask.cli.sweep import run_sweep

        run_sweep(sweep, executor, seed, as_json, no_progress)
        return
    from unmask.verification import verify

    if plot_dir is not None:
        _need_matplotlib()
        if Path(plot_dir).exists() and not Path(plot_dir).is_dir():
            raise click.BadParameter(f"{plot_dir} is not a directory", param_hint="--plot")
        _writable_dir(Path(plot_dir), f"figures to {plot_dir}", "--plot")
    kwargs: dict[str, Any] = {"quick": quick}
    if threads is not None:
        kwargs["threads"] = threads
    if laws:
        kwargs["laws"] = list(laws)
    if ks:
        kwargs["ks"] = list(ks)
    try:
        result = _run_with_progress(verify, kwargs, enabled=not no_progress)
    except ValueError as exc:  # e.g. a law of the full suite asked for with --quick
        raise click.UsageError(str(exc)) from exc
    _note_steps_beyond_n(result, ks)
    ran = {law.name for law in result.laws}
    for name in laws:
        if name not in ran and name != "section-9":
            same = [r for r in ran if r.split(" n=")[0] == name.split(" n=")[0]]
            if same:
                click.echo(f"note: {name!r} runs as {same[0]!r} in this suite", err=True)
    if plot_dir is not None:
        try:
            from unmask.plotting import save_verification_figures

            files = _run_with_progress(
                save_verification_figures, {"result": result, "directory": plot_dir},
                enabled=not no_progress, label="plot",
            )
        except ImportError as exc:
            raise CliError(str(exc)) from exc
        except OSError as exc:
            raise CliError(f"cannot write figures to {plot_dir}: {exc.strerror or exc}") from exc
        click.echo(f"wrote {len(files)} figures to {plot_dir}", err=True)
    if as_json:
        click.echo(json.dumps(result.to_dict(), separators=(",", ":")))
    else:
        _print_verify(result, verbose)
    if not result.ok:
        sys.exit(1)


def _note_steps_beyond_n(result: Any, ks: tuple[int, ...]) -> None:
    """Say which laws left out a ``-K`` above their length; refuse a K no law can use."""
    if not ks or not result.laws:
        return
    for k in sorted(set(ks)):
        short = [f"{law.name} (n={law.n})" for law in result.laws if law.n < k]
        if len(short) == len(result.laws):
            raise click.BadParameter(
                f"K = {k} exceeds n of every selected law (largest n = "
                f"{max(law.n for law in result.laws)})", param_hint="--steps")
        if short:
            click.echo(f"note: K = {k} exceeds n, so it is left out for: {', '.join(short)}",
                       err=True)


def _run_with_progress(fn: Any, kwargs: dict[str, Any], enabled: bool,
                       label: str = "verify") -> Any:
    console = _console(stderr=True)
    if not enabled or not console.is_terminal:
        return fn(**kwargs)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn(f"[bold]{label}[/] {{task.description:<16}}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("", total=None)

        def progress(desc: str, done: int, total: int) -> None:
            bar.update(task, description=desc, completed=done, total=total)

        return fn(progress=progress, **kwargs)


def _print_verify(result: Any, verbose: bool) -> None:
    from rich import box
    from rich.table import Table

    console = _console()
    by_law: dict[str, dict[str, int]] = {}
    for c in result.checks:
        d = by_law.setdefault(c.law, {"pass": 0, "fail": 0, "skipped": 0})
        d[c.status] += 1
    # Fits in 80 columns: short headers, no outer padding; the legend below says what they mean.
    table = Table(
        title="unmask verify: exact errors in nats",
        box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, show_edge=False,
        collapse_padding=True,
        caption_justify="left",
    )
    table.add_column("law", no_wrap=True)
    for col in ("n", "q", "K", "TC", "const", "opt", "KL(qbar)", "checks"):
        table.add_column(col, justify="right", no_wrap=True)
    for law in result.laws:
        cases = [c for c in result.cases if c.law == law.name]
        ks = sorted({c.steps for c in cases})
        nontrivial = [k for k in ks if k < law.n] or ks
        k = 4 if 4 in nontrivial else (nontrivial[-1] if nontrivial else None)
        const = next((c for c in cases if c.steps == k and c.family == "constant"), None)
        opt = next((c for c in cases if c.steps == k and c.family == "optimal"), None)
        cnt = by_law.get(law.name, {"pass": 0, "fail": 0, "skipped": 0})
        fail = f"[red]{cnt['fail']}[/]" if cnt["fail"] else "0"
        table.add_row(
            law.name, str(law.n), str(law.q) if law.q else "-", _fmt(k),
            _fmt(law.profile.tc), _fmt(const.expected_kl if const else None),
            _fmt(opt.expected_kl if opt else None), _fmt(const.mixture_kl if const else None),
            f"{cnt['pass']}/{fail}/{cnt['skipped']}",
        )
    console.print(table)
    _legend(console, [
        "const, opt: E_sigma KL(p||q_sigma), random order, constant / optimal schedule",
        "KL(qbar): exact KL of the random-order law itself (constant schedule)",
        "checks: passed/failed/skipped",
    ])
    _print_bound_summary(result, console)
    from unmask.cli.adaptive import print_adaptive_section

    print_adaptive_section(result, console)
    from unmask.cli.planner import print_planner_section

    print_planner_section(result, console)
    if verbose:
        _print_all(result, console)
    counts = result.counts()
    for v in result.violations:
        console.print(f"[red]FAIL[/] {v.law} | {v.schedule or ''} K={v.steps or '-'} | "
                      f"{v.name}: {_fmt(v.value)} {v.relation} {_fmt(v.reference)} "
                      f"({v.detail})", soft_wrap=True)
    if result.missing:
        console.print("[yellow]skipped[/] (not in this build): " + "; ".join(result.missing),
                      soft_wrap=True)
    status = "[green]OK[/]" if result.ok else "[red]FAILED[/]"
    console.print(f"{status}: {counts['pass']} checks passed, {counts['fail']} failed, "
                  f"{counts['skipped']} skipped, in {result.elapsed:.1f} s")


def _print_bound_summary(result: Any, console: Any) -> None:
    from rich.table import Table

    stats: dict[str, dict[str, Any]] = {}
    for case in result.cases:
        if case.expected_kl is None:
            continue
        for b in case.bounds:
            if b.kind == "prediction" and case.family != "optimal":
                continue  # a prediction of the optimum is compared with the optimum only
            s = stats.setdefault(b.name, {"kind": b.kind, "n": 0, "held": 0, "ratio": 0.0,
                                          "source": b.source})
            s["n"] += 1
            if b.kind == "rigorous":
                s["held"] += int(case.expected_kl <= b.value + 1e-9 * max(1.0, abs(b.value)))
            if b.value > 1e-12 and math.isfinite(b.value):
                s["ratio"] = max(s["ratio"], case.expected_kl / b.value)
    if not stats:
        return
    from rich import box

    wide = console.width >= 120  # the sources fit beside the rows; else they follow the table
    table = Table(title="bounds (theory section 6) vs the exact E KL, all cases",
                  box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, show_edge=False,
                  collapse_padding=True)
    cols = ("bound", "kind", "held", "max exact/value", *(("source",) if wide else ()))
    for col in cols:
        table.add_column(col, justify="left" if col in ("bound", "kind", "source") else "right",
                         no_wrap=col != "source")
    sources = []
    for name, s in stats.items():
        if s["kind"] == "exact":
            continue
        held = f"{s['held']}/{s['n']}" if s["kind"] == "rigorous" else "-"
        table.add_row(name, s["kind"], held, f"{s['ratio']:.3g}",
                      *((s["source"],) if wide else ()))
        sources.append(f"  {name}: {s['source']}")
    console.print(table)
    _legend(console, [
        "held: cases where the bound was >= the exact value (rigorous rows only)",
        "max exact/value: max over cases of exact E KL / value (<= 1 when a bound holds)",
        *(["sources:", *sources] if not wide else []),
    ])


def _legend(console: Any, lines: list[str]) -> None:
    """Legend lines under a table (plain text, never squeezed into the table's width)."""
    console.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)


def _print_all(result: Any, console: Any) -> None:
    console.print("[bold]cases[/] (law | family | K | sizes | E KL | KL(p||qbar))")
    for c in result.cases:
        sizes = "-" if c.sizes is None else ",".join(map(str, c.sizes))
        console.print(f"  {c.law} | {c.family} | {c.steps} | {sizes} | {_fmt(c.expected_kl)} | "
                      f"{_fmt(c.mixture_kl)}" + (f" | {c.note}" if c.note else ""),
                      soft_wrap=True, markup=False)
    console.print("[bold]checks[/] (status | law | schedule K | check: value rel reference)")
    for c in result.checks:
        where = f"{c.schedule} K={c.steps}" if c.schedule else "-"
        body = (f"{_fmt(c.value)} {c.relation} {_fmt(c.reference)}"
                if c.value is not None else "")
        console.print(f"  {c.status} | {c.law} | {where} | {c.name}: {body} ({c.detail})",
                      soft_wrap=True, markup=False)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


# Commands that live in their own modules register themselves on ``main`` when imported.
# One import line per module, kept at the end so the shared helpers above are defined first.
from unmask.cli import adaptive  # noqa: E402,F401,I001
from unmask.cli import blocks  # noqa: E402,F401
from unmask.cli import planner  # noqa: E402,F401
from unmask.cli import export as _export_command  # noqa: E402,F401
