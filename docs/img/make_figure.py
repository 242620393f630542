"""Regenerate docs/img/digit_patches_error_vs_K.png (the README figure).

Run from the repository root: ``python docs/img/make_figure.py`` (needs matplotlib).
"""

from __future__ import annotations

from pathlib import Path

import unmask
from unmask.plotting import plot_error_vs_steps

result = unmask.verify(laws=["digit-patches"])
assert result.ok, result
law = result.laws[0]
curves = law.curves
fig = plot_error_vs_steps(
    curves["K"], curves["families"], optimal=curves["optimal"], bounds=curves["bounds"],
    bound_kinds=curves["bound_kinds"], bounds_for="constant",
    title="digit patches (n=16): exact expected KL versus the number of steps",
)
out = Path(__file__).with_name("digit_patches_error_vs_K.png")
fig.savefig(out, dpi=90)
print(f"wrote {out} ({out.stat().st_size} bytes)")
