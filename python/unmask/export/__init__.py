"""Exports: a schedule in the encodings samplers consume, and JSON / CSV round trips.

Counts, cumulative counts, mask ratios, alpha(t) knots and per-block counts.
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

__all__ = [
    "alpha_function",
    "alpha_knots",
    "counts_per_step",
    "cumulative_unmasked",
    "from_dict",
    "llada_block_counts",
    "remaining_mask_ratios",
    "remaining_masked",
    "split_blocks",
    "tile_blocks",
    "to_csv",
    "to_dict",
]
