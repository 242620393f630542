"""Exports: a schedule in the encodings samplers consume, and JSON / CSV round trips.

Counts, cumulative counts, mask ratios, alpha(t) knots and per-block counts;
:func:`for_sampler` and :func:`time_grid` give a schedule in one named sampler's own form.
The encodings live in :mod:`unmask.export.encodings` and are re-exported here.
"""

from __future__ import annotations

from unmask.export.encodings import (
    alpha_function,
    alpha_knots,
    counts_per_step,
    cumulative_unmasked,
    from_dict,
    llada_block_counts,
    remaining_mask_ratios,
    remaining_masked,
    split_blocks,
    tile_blocks,
    to_csv,
    to_dict,
)
from unmask.export.samplers import SAMPLERS, SamplerSchedule, for_sampler
from unmask.export.time_grid import NOISES, TimeGrid, time_grid

__all__ = [
    "NOISES",
    "SAMPLERS",
    "SamplerSchedule",
    "TimeGrid",
    "alpha_function",
    "alpha_knots",
    "counts_per_step",
    "cumulative_unmasked",
    "for_sampler",
    "from_dict",
    "llada_block_counts",
    "remaining_mask_ratios",
    "remaining_masked",
    "split_blocks",
    "tile_blocks",
    "time_grid",
    "to_csv",
    "to_dict",
]
