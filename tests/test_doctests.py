"""Run the Examples sections of every public module's docstrings (against the installed package)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import unmask


def _has_examples(name: str) -> bool:
    module = importlib.import_module(name)
    return any(t.examples for t in doctest.DocTestFinder().find(module))


MODULES = sorted(
    name
    for _, name, _ in pkgutil.walk_packages(unmask.__path__, prefix="unmask.")
    if not name.split(".")[-1].startswith("_") and _has_examples(name)
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
