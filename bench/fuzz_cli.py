"""Fuzz the command line (issue 9): hypothesis-generated commands, options and input files.

Commands: profile, schedule, frontier, blocks, adaptive and planner (verify is not fuzzed).

Every generated call must end with exit code 0 or 2 (1 is reserved for a failed check of
``unmask verify``, which this fuzz does not run), never with a traceback, and a ``--json``
answer must be valid JSON without NaN. Input files are generated too: CSV tables whose cells
come from a pool of awkward tokens (``1_0``, ``nan``, ``0x10``, non-ASCII digits, thousands of
digits, ragged rows), ``.npy`` arrays of many shapes and dtypes (and ``.npz`` archives named
``.npy``), and JSON values (deep nesting, huge integers, NaN, wrong types).

  python bench/fuzz_cli.py                 # 10,000 calls
  python bench/fuzz_cli.py --calls 500     # a quick run
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

os.environ.setdefault("MPLBACKEND", "Agg")

from unmask.cli import main

CELLS = ["0", "1", "2", "0.5", "0.25", "-1", "1e-3", "1_0", "nan", "inf", "-inf", "0x10", "\u0661",
         "", " ", "abc", "1e999", "9" * 400, "1.0.0", "+.5", "1e", "\"1\"", "3", "7"]
BUILTINS = ["all-equal", "parity", "independent", "markov", "ising", "random", "copy-pair",
            "mixture", "digits"]
INTS = st.one_of(st.integers(-3, 20), st.sampled_from(["0", "-1", "abc", "1e3", "9" * 30,
                                                       "9" * 5000, "2.5", ""]))
FLOATS = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                   st.sampled_from(["nan", "inf", "-0.0", "1e999", "abc", "0.5", "2", "3e8",
                                    "1" * 500]))


#: Awkward comma-separated lists (--widths, --sizes, --frontier).
LISTS = ["", ",", "0", "-1,2", "a,b", "1,,2", "9" * 5000, "1e3", "0.5,nan", "1," * 300]


def mostly(valid: st.SearchStrategy[Any], weird: st.SearchStrategy[Any]) -> Any:
    """``valid`` three times in four, ``weird`` otherwise."""
    return st.integers(0, 3).flatmap(lambda i: weird if i == 0 else valid)


@st.composite
def csv_file(draw: st.DrawFn, tmp: Path) -> str:
    rows = draw(st.integers(0, 6))
    width = draw(st.integers(1, 4))
    lines = []
    if draw(st.booleans()):
        lines.append(",".join(draw(st.sampled_from(["ratio", "loss", "h", "a", "x"]))
                              for _ in range(width)))
    for _ in range(rows):
        w = width if draw(st.integers(0, 5)) else draw(st.integers(1, 5))
        lines.append(",".join(draw(st.sampled_from(CELLS)) for _ in range(w)))
    path = tmp / f"t{draw(st.integers(0, 10**9))}.csv"
    path.write_text("\n".join(lines) + ("\n" if draw(st.booleans()) else ""))
    return str(path)


@st.composite
def npy_file(draw: st.DrawFn, tmp: Path) -> str:
    path = tmp / f"a{draw(st.integers(0, 10**9))}.npy"
    kind = draw(st.sampled_from(["joint", "h", "samples", "weird", "npz", "garbage"]))
    if kind == "joint":
        q, n = draw(st.integers(1, 3)), draw(st.integers(0, 4))
        arr = np.random.default_rng(draw(st.integers(0, 99))).random((q,) * n)
        if draw(st.booleans()) and arr.size:
            arr = arr / arr.sum()
        np.save(path, arr.astype(draw(st.sampled_from(["f8", "f4", "f2", "i8"]))))
    elif kind == "h":
        vals = draw(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64),
                             max_size=8))
        np.save(path, np.array(vals, dtype=np.float64))
    elif kind == "samples":
        m, n = draw(st.integers(0, 6)), draw(st.integers(1, 5))
        np.save(path, np.random.default_rng(0).integers(-1, 4, size=(m, n)))
    elif kind == "weird":
        np.save(path, draw(st.sampled_from([np.array([1 + 2j]), np.array([True]),
                                            np.array(["a"]), np.float64(2.0),
                                            np.zeros((2, 3, 4))])))
    elif kind == "npz":
        with open(path, "wb") as fh:
            np.savez(fh, a=np.ones(3))
    else:
        path.write_bytes(draw(st.binary(max_size=64)))
    return str(path)


@st.composite
def json_file(draw: st.DrawFn, tmp: Path) -> str:
    path = tmp / f"j{draw(st.integers(0, 10**9))}.json"
    kind = draw(st.sampled_from(["list", "dict", "deep", "bigint", "nan", "junk"]))
    if kind == "list":
        text = json.dumps(draw(st.lists(st.floats(0, 2), max_size=6)))
    elif kind == "dict":
        text = json.dumps({"h": draw(st.lists(st.floats(0, 2), max_size=6)),
                           "stderr": draw(st.one_of(st.none(), st.just("x"),
                                                    st.lists(st.floats(0, 1), max_size=6)))})
    elif kind == "deep":
        d = draw(st.integers(1, 200_000))
        text = "[" * d + "]" * d
    elif kind == "bigint":
        text = "[" + "7" * draw(st.integers(300, 6000)) + ", 0.1]"
    elif kind == "nan":
        text = "[NaN, Infinity, 0.5]"
    else:
        text = draw(st.text(max_size=30))
    path.write_text(text)
    return str(path)


@st.composite
def command(draw: st.DrawFn, tmp: Path) -> list[str]:
    cmd = draw(st.sampled_from(["profile", "schedule", "frontier", "blocks", "adaptive",
                                "planner"]))
    source = draw(st.one_of(st.sampled_from(BUILTINS), st.sampled_from(BUILTINS),
                            st.sampled_from(["nope", "-", ""]), csv_file(tmp), npy_file(tmp),
                            json_file(tmp)))
    args = [cmd, source]
    n_max = (7 if cmd in ("adaptive", "planner") else 12) if source in BUILTINS else 40
    opts: dict[str, Any] = {
        "--n": mostly(st.integers(1, n_max).map(str), INTS.map(str)),
        "--q": mostly(st.integers(2, 4).map(str), INTS.map(str)),
        "--seed": mostly(st.integers(0, 9).map(str), INTS.map(str)),
        "--param": mostly(st.sampled_from(["0.5", "0.9", "2", "3"]), FLOATS),
        "--kind": mostly(st.just("auto"), st.sampled_from(["joint", "samples", "h",
                                                          "loss-curve", "bad"])),
        "--threads": mostly(st.integers(1, 2).map(str), INTS.map(str)),
        "--nonmonotone": st.sampled_from(["project", "plain", "raise"]),
    }
    if cmd == "profile":
        opts |= {"--base": mostly(st.sampled_from(["2", "10", "2.718281828459045"]), FLOATS)}
    if cmd == "schedule":
        opts |= {"-K": mostly(st.integers(1, 10).map(str), INTS.map(str)),
                 "--family": st.sampled_from(["optimal", "constant", "cosine", "sqrt",
                                              "geometric-masked", "bogus"]),
                 "--encoding": st.sampled_from(["counts", "cumulative", "alpha", "blocks",
                                                "mask-ratios", "all"]),
                 "--block-width": mostly(st.integers(1, 6).map(str), INTS.map(str)),
                 "--format": st.sampled_from(["json", "csv"])}
    if cmd == "frontier":
        opts |= {"-K": mostly(st.integers(1, 10).map(str), INTS.map(str))}
    if cmd in ("blocks", "adaptive", "planner"):
        opts.pop("--nonmonotone")
        opts |= {"-K": mostly(st.integers(1, 8).map(str), INTS.map(str))}
    if cmd == "blocks":
        opts |= {"--widths": mostly(st.lists(st.integers(1, 8), min_size=1, max_size=4).map(
                     lambda ws: ",".join(map(str, ws))), st.sampled_from(LISTS)),
                 "--nonmonotone": st.sampled_from(["project", "plain", "raise"])}
    if cmd in ("adaptive", "planner"):
        opts |= {"--block-width": mostly(st.integers(1, 6).map(str), INTS.map(str)),
                 "--sizes": mostly(st.lists(st.integers(1, 4), min_size=1, max_size=4).map(
                     lambda ws: ",".join(map(str, ws))), st.sampled_from(LISTS))}
    if cmd == "adaptive":
        opts |= {"--rule": st.sampled_from(["all", "random", "max-prob", "margin", "entropy",
                                             "sampled-prob", "threshold", "bogus"]),
                 "--threshold": mostly(st.sampled_from(["0.5", "0.9", "1"]), FLOATS),
                 "--frontier": mostly(st.sampled_from(["0.5", "0.6,0.9", "1"]),
                                      st.sampled_from(LISTS))}
    if cmd == "planner":
        opts |= {"--depth": mostly(st.integers(1, 3).map(str), INTS.map(str))}
    if cmd == "profile" and draw(st.booleans()):
        opts.pop("--nonmonotone")
    for name, strat in opts.items():
        if draw(st.integers(0, 4)) == 0:
            args += [name, draw(strat)]
    if cmd in ("schedule", "blocks") and "-K" not in args:
        args += ["-K", "2"]
    if cmd == "planner":
        args += ["--max-seconds", "5"]  # a law the DP would spend minutes on is refused
    if cmd != "schedule" and draw(st.booleans()):
        args.append("--json")
    if cmd not in ("schedule", "planner") and draw(st.integers(0, 15)) == 0:
        args += ["--plot", str(tmp / draw(st.sampled_from(["f.png", "f.xyz", "no/f.png",
                                                           "f", "f.pdf"])))]
    return args


def run_fuzz(calls: int) -> None:
    runner = CliRunner()
    stats = {"calls": 0, "exit0": 0, "exit2": 0}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)

        @settings(max_examples=calls, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(st.data())
        def one(data: st.DataObject) -> None:
            args = data.draw(command(tmp))
            result = runner.invoke(main, args, catch_exceptions=True)
            stats["calls"] += 1
            exc = result.exception
            if exc is not None and not isinstance(exc, SystemExit):
                raise AssertionError(f"{args!r} raised {exc!r}") from exc
            assert result.exit_code in (0, 2), (args, result.exit_code, result.output[-500:])
            stats[f"exit{result.exit_code}"] += 1
            if result.exit_code == 0 and "--json" in args:
                json.loads(result.stdout, parse_constant=lambda c: (_ for _ in ()).throw(
                    AssertionError(f"{args!r} printed {c} in JSON")))
            if result.exit_code == 2:
                last = result.output.strip().splitlines()[-1]
                assert last.startswith("Error:") or "interrupted" in last, (args, last)
                assert "Traceback" not in result.output

        one()
    print(f"{stats['calls']} calls: {stats['exit0']} exit 0, {stats['exit2']} exit 2, "
          "no traceback, no other exit code")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=10_000)
    t0 = time.perf_counter()
    run_fuzz(ap.parse_args().calls)
    print(f"in {time.perf_counter() - t0:.0f} s")
