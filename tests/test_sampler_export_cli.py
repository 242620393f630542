"""``unmask export``: the values of for_sampler on the schedule the command chose; usage errors."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

import unmask
from unmask.cli import main
from unmask.export.encodings import split_blocks


def run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, ["export", *args])
    return res.exit_code, res.output


def test_export_llada_json_matches_the_library() -> None:
    code, out = run("markov", "--n", "16", "--for", "llada", "--steps", "4", "--block-width", "8")
    assert code == 0, out
    data = json.loads(out)
    assert data["exact"] is True and np.asarray(data["values"]).shape == (2, 2)
    assert [sum(r) for r in data["values"]] == [8, 8]
    assert data["blocks"] == data["values"]


def test_export_flat_samplers_and_python_format() -> None:
    for sampler in ("dream", "maskgit", "amused", "dllm", "mdlm", "md4", "sedd"):
        code, out = run("markov", "--n", "12", "--for", sampler, "--steps", "3")
        assert code == 0, out
        data = json.loads(out)
        assert data["sampler"] == sampler and data["exact"] == (sampler not in (
            "mdlm", "md4", "sedd"))
    code, out = run("markov", "--n", "12", "--for", "maskgit", "--steps", "3", "--format",
                    "python")
    assert code == 0 and "values = [" in out and "maskgit_schedule(values)" in out
    ns: dict[str, object] = {}
    exec(out.split("from maskgit")[0].split("from unmask.integrations")[0], ns)
    assert len(ns["values"]) == 3  # type: ignore[arg-type]


def test_export_same_schedule_as_schedule_command() -> None:
    out = CliRunner().invoke(main, ["schedule", "markov", "--n", "12", "--steps", "3"]).output
    sizes = json.loads(out)["sizes"]
    _, out = run("markov", "--n", "12", "--for", "maskgit", "--steps", "3")
    got = json.loads(out)["values"]
    want = unmask.export.for_sampler(unmask.Schedule(sizes), "maskgit").values.tolist()
    assert got == want
    _code, out = run("markov", "--n", "16", "--for", "llada2", "--steps", "4", "--block-width",
                    "8")
    data = json.loads(out)
    assert data["values"] == data["blocks"] and [sum(b) for b in data["blocks"]] == [8, 8]
    assert split_blocks(unmask.Schedule([x for b in data["blocks"] for x in b]), 8) == \
        data["blocks"]


def test_export_usage_errors() -> None:
    code, out = run("markov", "--n", "16", "--for", "llada", "--steps", "3", "--block-width",
                    "8")
    assert code == 2 and "multiple of the number of blocks" in out
    code, out = run("markov", "--n", "16", "--for", "llada", "--steps", "4")
    assert code == 2 and "--block-width" in out
    code, out = run("markov", "--n", "16", "--for", "gpt", "--steps", "4")
    assert code == 2 and "llada" in out
    code, out = run("markov", "--n", "16", "--for", "dream", "--steps", "4", "--noise", "cosine")
    assert code == 2 and "--noise applies" in out
    code, out = run("markov", "--n", "16", "--for", "dream", "--steps", "4", "--block-width", "8")
    assert code == 2
