"""Blockwise (semi-autoregressive) schedules: one composition per block (theory section 10).

LLaDA, Fast-dLLM, dllm and BD3LM decode a sequence of length ``n`` in consecutive blocks, left to
right; inside block ``b`` (width ``W_b``) the block's positions are unmasked over that block's own
steps. A :class:`BlockSchedule` holds one composition of ``W_b`` per block.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask.schedules.schedule import Schedule, _as_count

__all__ = ["BlockSchedule"]


class BlockSchedule:
    """Per-block step sizes of a blockwise sampler: block ``b`` is a composition of its width.

    Parameters
    ----------
    blocks : sequence of sequences of int, or sequence of Schedule
        ``blocks[b]`` lists the tokens unmasked at each step of block ``b`` (all positive); its
        sum is the width ``W_b`` of block ``b``. Blocks are consecutive: block ``b`` covers
        positions ``sum(W_0..W_{b-1}) .. sum(W_0..W_b) - 1``. Widths may differ (the last block
        may be shorter).
    n : int, optional
        Expected sequence length; a mismatch raises ValueError.

    Attributes
    ----------
    blocks : list of list of int
        The per-block compositions (a fresh copy on every access).
    widths : list of int
        Block widths ``W_b``.
    steps : int
        Total number of steps ``K`` (over all blocks).
    n : int
        Sequence length ``sum(W_b)``.
    flat : Schedule
        All steps in decoding order (block 0's steps, then block 1's, ...).

    Raises
    ------
    ValueError
        No blocks, an empty block, a non-positive or non-integer size, or a wrong ``n``.

    Examples
    --------
    >>> bs = BlockSchedule([[2, 2], [3, 1]])
    >>> bs.widths, bs.steps, bs.n, bs.flat.sizes
    ([4, 4], 4, 8, (2, 2, 3, 1))
    >>> BlockSchedule.llada(8, 4, 4) == bs
    False
    >>> BlockSchedule.llada(8, 4, 4).blocks
    [[2, 2], [2, 2]]
    """

    __slots__ = ("_blocks",)

    def __init__(self, blocks: Any, *, n: int | None = None) -> None:
        if isinstance(blocks, BlockSchedule):
            blocks = blocks.blocks
        if isinstance(blocks, (str, bytes)) or not hasattr(blocks, "__iter__"):
            raise ValueError(
                f"a block schedule is a list of per-block compositions, got {blocks!r}"
            )
        parsed: list[tuple[int, ...]] = []
        for b, block in enumerate(blocks):
            if isinstance(block, Schedule):
                parsed.append(block.sizes)
                continue
            if isinstance(block, (str, bytes)) or not hasattr(block, "__len__"):
                raise ValueError(
                    f"block {b} must be a list of step sizes, got {block!r}"
                )
            if len(block) == 0:
                raise ValueError(f"block {b} is empty: every block needs at least one step")
            try:
                sched = Schedule(list(block) if not isinstance(block, np.ndarray) else block)
            except ValueError as exc:
                raise ValueError(f"block {b}: {exc}") from None
            parsed.append(sched.sizes)
        if not parsed:
            raise ValueError("a block schedule needs at least one block, got none")
        if n is not None:
            n = _as_count(n, "n")
            total = sum(sum(s) for s in parsed)
            if total != n:
                widths = [sum(s) for s in parsed]
                raise ValueError(f"block widths {widths} sum to {total}, not to n = {n}")
        self._blocks: tuple[tuple[int, ...], ...] = tuple(parsed)

    # -- constructors -------------------------------------------------------------------------
    @classmethod
    def llada(cls, n: int, steps: int, block_width: int) -> BlockSchedule:
        """LLaDA's blockwise rule: equal steps per block, counts split evenly in each block.

        ``num_blocks = ceil(n / block_width)`` blocks of ``block_width`` positions (the last one
        shorter when ``block_width`` does not divide ``n``); each block gets
        ``steps // num_blocks`` steps (``steps`` must be a multiple of ``num_blocks``, as LLaDA
        asserts); block ``b``'s counts are ``W_b // spb`` per step with the remainder
        ``W_b % spb`` added one each to the *first* steps (LLaDA's ``get_num_transfer_tokens``
        applied to the block's ``W_b`` masked positions).

        LLaDA itself asserts ``n % block_width == 0``. When the last block is shorter, this
        constructor applies the same rule to it (the same number of steps, its own even split):
        what LLaDA's per-block count rule produces on a block with ``W_b`` masked positions.

        Parameters
        ----------
        n : int
            Sequence (generation) length.
        steps : int
            Total number of steps over all blocks.
        block_width : int
            Block length ``W``, ``1 <= W <= n``.

        Returns
        -------
        BlockSchedule

        Raises
        ------
        ValueError
            Non-positive arguments, ``block_width > n``, ``steps`` not a multiple of the number
            of blocks, or more steps per block than positions in a block (LLaDA would run steps
            that unmask nothing).

        Examples
        --------
        >>> BlockSchedule.llada(10, 6, 4).blocks
        [[2, 2], [2, 2], [1, 1]]
        """
        n = _as_count(n, "n")
        steps = _as_count(steps, "steps")
        block_width = _as_count(block_width, "block_width")
        if block_width > n:
            raise ValueError(f"block_width = {block_width} exceeds n = {n}")
        num_blocks = -(-n // block_width)
        if steps % num_blocks != 0:
            raise ValueError(
                f"steps = {steps} is not a multiple of the number of blocks "
                f"{num_blocks} (n = {n}, block_width = {block_width})"
            )
        spb = steps // num_blocks
        widths = [block_width] * (n // block_width)
        if n % block_width:
            widths.append(n % block_width)
        blocks = []
        for b, w in enumerate(widths):
            if spb > w:
                raise ValueError(
                    f"{spb} steps per block exceed the {w} positions of block {b} "
                    f"(n = {n}, steps = {steps}, block_width = {block_width}): "
                    "some steps would unmask nothing"
                )
            base, rem = divmod(w, spb)
            blocks.append([base + 1] * rem + [base] * (spb - rem))
        return cls(blocks)

    @classmethod
    def from_widths(cls, widths: Any, schedules: Any) -> BlockSchedule:
        """Pair block widths with one Schedule (or size list) per block, checking each width.

        Parameters
        ----------
        widths : sequence of int
            Block widths.
        schedules : sequence of Schedule or size lists
            One composition per block; ``schedules[b]`` must sum to ``widths[b]``.

        Returns
        -------
        BlockSchedule

        Raises
        ------
        ValueError
            Lengths differ or a composition does not sum to its width.
        """
        ws = [_as_count(w, f"widths[{b}]") for b, w in enumerate(widths)]
        scheds = list(schedules)
        if len(ws) != len(scheds):
            raise ValueError(f"{len(ws)} widths but {len(scheds)} block schedules")
        blocks = []
        for b, (w, s) in enumerate(zip(ws, scheds, strict=True)):
            sizes = Schedule(s).sizes
            if sum(sizes) != w:
                raise ValueError(f"block {b} sizes sum to {sum(sizes)}, not to its width {w}")
            blocks.append(list(sizes))
        return cls(blocks)

    # -- views ----------------------------------------------------------------------------------
    @property
    def blocks(self) -> list[list[int]]:
        """Per-block compositions (a fresh list of lists)."""
        return [list(b) for b in self._blocks]

    @property
    def schedules(self) -> list[Schedule]:
        """Per-block compositions as :class:`Schedule` objects."""
        return [Schedule(b) for b in self._blocks]

    @property
    def widths(self) -> list[int]:
        """Block widths ``W_b``."""
        return [sum(b) for b in self._blocks]

    @property
    def num_blocks(self) -> int:
        """Number of blocks."""
        return len(self._blocks)

    @property
    def steps_per_block(self) -> list[int]:
        """Number of steps of each block."""
        return [len(b) for b in self._blocks]

    @property
    def steps(self) -> int:
        """Total number of steps ``K``."""
        return sum(len(b) for b in self._blocks)

    @property
    def n(self) -> int:
        """Sequence length."""
        return sum(sum(b) for b in self._blocks)

    @property
    def starts(self) -> NDArray[np.int64]:
        """First position of each block, then ``n`` (length ``num_blocks + 1``)."""
        return np.concatenate([[0], np.cumsum(self.widths)]).astype(np.int64)

    @property
    def flat(self) -> Schedule:
        """All steps in decoding order, as one :class:`Schedule` of ``n``."""
        return Schedule([s for b in self._blocks for s in b])

    def __len__(self) -> int:
        return len(self._blocks)

    def __iter__(self) -> Iterator[list[int]]:
        return (list(b) for b in self._blocks)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, BlockSchedule):
            return self._blocks == other._blocks
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("BlockSchedule", self._blocks))

    def __repr__(self) -> str:
        def short(b: tuple[int, ...]) -> str:
            if len(b) <= 8:
                return "[" + ", ".join(map(str, b)) + "]"
            return "[" + ", ".join(map(str, b[:4])) + ", ..., " + ", ".join(map(str, b[-2:])) + "]"

        if len(self._blocks) <= 8:
            body = ", ".join(short(b) for b in self._blocks)
        else:
            head = ", ".join(short(b) for b in self._blocks[:4])
            tail = ", ".join(short(b) for b in self._blocks[-2:])
            body = f"{head}, ..., {tail}"
        return f"BlockSchedule([{body}], n={self.n}, steps={self.steps})"
