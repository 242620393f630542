"""Every ```python block of docs/*.md and README.md runs (blocks of a page share a namespace)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
PAGES = sorted(DOCS.glob("*.md"))
README = DOCS.parent / "README.md"


def test_every_capability_has_a_page() -> None:
    names = {p.stem for p in PAGES}
    assert {"profiles", "sampler-laws", "schedules-and-bounds", "real-lengths",
            "command-line"} <= names
    for page in PAGES:
        if page.stem == "theory":  # the mathematics reference: formulas, not code
            continue
        assert BLOCK.search(page.read_text()), f"{page.name} has no runnable example"


@pytest.mark.parametrize("page", [*PAGES, README], ids=[*(p.stem for p in PAGES), "README"])
def test_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # examples that save figures write here
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for idx, match in enumerate(BLOCK.finditer(page.read_text())):
        code = compile(match.group(1), f"{page.name}[block {idx}]", "exec")
        exec(code, namespace)
    for name in re.findall(r'savefig\("([^"]+)"', page.read_text()):
        assert (tmp_path / name).stat().st_size > 1000, f"{name} was not written"
