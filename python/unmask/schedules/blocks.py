"""Blockwise (semi-autoregressive) schedules: one composition per block (theory section 10).

LLaDA, Fast-dLLM, dllm and BD3LM decode a sequence of length ``n`` in consecutive blocks, left to
right; inside block ``b`` (width ``W_b``) the block's positions are unmasked over that block's own
steps. A :class:`BlockSchedule` holds one composition of ``W_b`` per block.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from unmask._validation import check_memory
from unmask.profiles.blocks import short_widths as _short
from unmask.schedules.schedule import Schedule, _as_count

__all__ = [
    "BlockSchedule",
    "BlockWidthFrontier",
    "block_expected_kl",
    "block_width_frontier",
    "optimal_block_schedule",
]

StepsPerBlock = Literal["equal", "free"]
NonMonotone = Literal["project", "plain", "raise"]
CostKind = Literal["exact", "proxy", "curves", "estimate"]


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

    __slots__ = ("_approximate", "_blocks", "_cost", "_cost_estimate", "_cost_kind")

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
        self._cost: float | None = None
        self._approximate = False
        self._cost_kind: CostKind | None = None
        self._cost_estimate: Any = None

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
        if steps < num_blocks:
            raise ValueError(
                f"steps = {steps} is fewer than the {num_blocks} blocks (n = {n}, "
                f"block_width = {block_width}): each block needs a step"
            )
        if steps % num_blocks != 0:
            raise ValueError(
                f"steps = {steps} is not a multiple of the number of blocks "
                f"{num_blocks} (n = {n}, block_width = {block_width})"
            )
        spb = steps // num_blocks
        # about 160 bytes per block (measured) and 8 per step, before the lists are built
        check_memory(200.0 * num_blocks + 16.0 * steps,
                     f"BlockSchedule.llada with {num_blocks} blocks (n = {n}, steps = {steps})")
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
    def sizes(self) -> tuple[int, ...]:
        """All step sizes in decoding order (``flat.sizes``)."""
        return tuple(s for b in self._blocks for s in b)

    @property
    def cost(self) -> float | None:
        """Expected KL attached by :func:`optimal_block_schedule` (None otherwise).

        What it is depends on :attr:`cost_kind`.
        """
        return self._cost

    @property
    def cost_kind(self) -> CostKind | None:
        """What :attr:`cost` is (None when no cost is attached).

        ``"exact"``: the exact expected KL under exact block profiles (a joint law, exact
        profiles). ``"proxy"``: the single-profile proxy's value (see :attr:`approximate`).
        ``"curves"``: the exact expected KL on estimated block curves taken as given
        (``robust=False``): an in-sample figure of curves the schedule was fitted to, optimistic
        about the true cost. ``"estimate"``: the estimated true cost from the blocks' evidence
        (theory section 13), with its interval in :attr:`cost_estimate`.
        """
        return self._cost_kind

    @property
    def cost_estimate(self) -> Any:
        """The interval of an estimated cost (None unless ``cost_kind == "estimate"``).

        A :class:`unmask.CostEstimate` (value, stderr, interval) of the true cost: the sum of
        the per-block estimates.
        """
        return self._cost_estimate

    @property
    def approximate(self) -> bool:
        """True when :attr:`cost` comes from the single-profile proxy, not block profiles."""
        return self._approximate

    def _with_cost(
        self, cost: float, approximate: bool, kind: CostKind | None = None,
        estimate: Any = None,
    ) -> BlockSchedule:
        out = BlockSchedule(self._blocks)
        out._cost = float(cost)
        out._approximate = bool(approximate)
        out._cost_kind = kind if kind is not None else ("proxy" if approximate else "exact")
        out._cost_estimate = estimate
        return out

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
        extra = ""
        if self._cost is not None:
            extra = f", cost={self._cost:.6g}" + (" (approximate)" if self._approximate else "")
            if self._cost_kind in ("curves", "estimate"):
                extra += f" ({self._cost_kind})"
        return f"BlockSchedule([{body}], n={self.n}, steps={self.steps}{extra})"


# -- block profiles from a source ---------------------------------------------------------------
def _is_profile_list(source: Any) -> bool:
    from unmask.profiles.profile import Profile

    return (
        isinstance(source, (list, tuple))
        and len(source) > 0
        and all(isinstance(p, Profile) for p in source)
    )


def block_profiles_for(
    source: Any, widths: Sequence[int], *, base: float | None = None, threads: int | None = None
) -> tuple[list[Any], bool]:
    """Block profiles of ``source`` for the given widths, and whether they are a proxy.

    ``source`` is a Joint (or an array of shape ``(q,)*n``: exact), a list of block Profiles
    (exact, widths checked), a callable ``source(widths) -> list of Profile`` (e.g. a
    :func:`unmask.markov_block_profiles` closure), or one Profile / ``h`` curve of the whole
    sequence: its segments ``h[start_b : start_b + W_b]`` are then used as a *proxy* (the
    random-order profile restricted to each block, not the block profile), flagged True.
    """
    from unmask.laws.joint import Joint
    from unmask.profiles.blocks import block_profiles
    from unmask.profiles.profile import Profile

    ws = list(widths)
    n = sum(ws)
    if _is_profile_list(source):
        got = [p.n for p in source]
        if got != ws:
            raise ValueError(f"the block profiles have widths {got}, the schedule {ws}")
        return list(source), False
    if callable(source) and not isinstance(source, (Joint, Profile)):
        profs = source(ws)
        if not _is_profile_list(profs) or [p.n for p in profs] != ws:
            raise ValueError(
                f"source(widths) must return one Profile per block of widths {_short(ws)}"
            )
        return list(profs), False
    if isinstance(source, Profile) or (not isinstance(source, Joint) and np.ndim(source) == 1):
        prof = source if isinstance(source, Profile) else Profile(np.asarray(source), base=base)
        if prof.n != n:
            raise ValueError(f"the block schedule is for n = {n} but the profile has n = {prof.n}")
        if len(ws) == 1:
            return [prof], False
        starts = np.concatenate([[0], np.cumsum(ws)])
        parts = [
            Profile(
                prof.h[a:b],
                base=prof.base,
                stderr=None if prof.stderr is None else prof.stderr[a:b],
                source=f"proxy: h[{a}:{b}] of the whole-sequence profile",
            )
            for a, b in zip(starts[:-1].tolist(), starts[1:].tolist(), strict=True)
        ]
        return parts, True
    from unmask.profiles.lattice import _as_joint

    joint = _as_joint(source)  # a Joint, an array of shape (q,)*n or a dit.Distribution
    if joint.n != n:
        raise ValueError(f"the block schedule is for n = {n} but the law has n = {joint.n}")
    return block_profiles(joint, widths=ws, base=base, threads=threads), False


def block_expected_kl(
    source: Any,
    schedule: BlockSchedule,
    *,
    base: float | None = None,
    conditionals: Any = None,
    threads: int | None = None,
) -> float:
    """Exact expected KL of blockwise decoding, within-block random order (theory section 10).

    ``sum_b sum_k g_b(i_k, i_k + s_{b,k})`` with ``g_b`` the section-5 block cost of the block
    profile ``h_b``; with ``conditionals`` (needs the joint) plus ``sum_b sum_k s_{b,k}
    eps_b(i_k)`` with ``eps_b`` the block learning errors. :func:`unmask.expected_kl` calls this
    for a :class:`BlockSchedule`.

    Raises
    ------
    ValueError
        A law or block profiles of another length or widths; a single whole-sequence profile
        with more than one block (it does not determine the blockwise cost: pass the joint or
        the block profiles, or ``schedule.flat`` for the random-order proxy).
    """
    from unmask.profiles.profile import Profile
    from unmask.schedules.cost import _expected_kl, _sum_with_inf

    sched = schedule if isinstance(schedule, BlockSchedule) else BlockSchedule(schedule)
    single = isinstance(source, Profile) or (
        not _is_profile_list(source) and not callable(source) and np.ndim(source) == 1
    )
    if single and sched.num_blocks > 1:
        raise ValueError(
            f"a single profile does not determine the cost of {sched.num_blocks} blocks; pass "
            "the joint law, unmask.block_profiles(...) / unmask.markov_block_profiles(...), or "
            "schedule.flat for the whole-sequence (random-order) proxy"
        )
    profs, _ = block_profiles_for(source, sched.widths, base=base, threads=threads)
    eps_list: list[Any] = [None] * sched.num_blocks
    if conditionals is not None:
        from unmask.laws.joint import Joint
        from unmask.samplers.blocks import block_learning_errors

        if _is_profile_list(source) or (callable(source) and not isinstance(source, Joint)):
            raise ValueError("conditionals= needs the joint law, not block profiles")
        eps_list = block_learning_errors(
            Joint(source) if not isinstance(source, Joint) else source,
            conditionals,
            widths=sched.widths,
            base=base,
        )
    terms = [
        _expected_kl(p, Schedule(block), eps)
        for p, block, eps in zip(profs, sched.blocks, eps_list, strict=True)
    ]
    return _sum_with_inf(terms)


# -- optimal block schedules ------------------------------------------------------------------
def _prepared(profs: list[Any], nonmonotone: str) -> tuple[list[Any], bool]:
    from unmask.profiles.profile import Profile

    if nonmonotone not in ("project", "plain", "raise"):
        raise ValueError(
            f"nonmonotone must be one of ('project', 'plain', 'raise'), got {nonmonotone!r}"
        )
    out = []
    convex = True
    for b, p in enumerate(profs):
        if p.is_monotone:
            out.append(p)
        elif nonmonotone == "raise":
            raise ValueError(
                f"block {b}'s h is not non-increasing; pass nonmonotone='project' or 'plain'"
            )
        elif nonmonotone == "project":
            out.append(p.monotone())
        else:
            out.append(Profile(p.h, base=p.base))
            convex = False
    return out, convex


def _block_cost(prof: Any, sizes: Sequence[int]) -> float:
    from unmask.schedules.cost import _expected_kl

    return _expected_kl(prof, Schedule(list(sizes)), None)


def _frontier(prof: Any, kmax: int, threads: int | None) -> tuple[NDArray[np.float64], Any]:
    """Optimal cost of block ``prof`` for 1..kmax steps, and the DP parent table."""
    from unmask._core_loader import core
    from unmask._validation import check_memory, resolve_threads

    n = prof.n
    h = np.ascontiguousarray(prof.h, dtype=np.float64)
    check_memory(4.0 * kmax * (n + 1) + 64.0 * (n + 1), f"a block frontier (W={n}, K<={kmax})")
    nthreads = resolve_threads(threads)
    if prof.is_monotone:
        costs, table = core.schedule_layers(h, kmax, True, nthreads)
    else:
        costs, table = core.schedule_plain(h, None, n, kmax, True, nthreads)
    return np.asarray(costs, dtype=np.float64), table


def _schedule_from_table(table: Any, n: int, k: int) -> list[int]:
    from unmask._core_loader import core

    bounds = np.asarray(core.schedule_reconstruct(table, n, k), dtype=np.int64)
    return [int(v) for v in np.diff(bounds).tolist()]


def _key(prof: Any) -> bytes:
    return bytes(np.ascontiguousarray(prof.h).tobytes())


def _initial_caps(profs: list[Any], steps: int, hi: list[int]) -> list[int]:
    """Starting caps from the square-root rule (theory section 6): k_b ~ sum sqrt f_b."""
    weights = np.array([float(np.sum(np.sqrt(np.maximum(p.f, 0.0)))) for p in profs])
    nb = len(profs)
    total = float(weights.sum())
    if not total > 0:
        guess = np.full(nb, steps / nb)
    else:
        guess = steps * weights / total
    return [min(h, int(2 * math.ceil(g)) + 4) for h, g in zip(hi, guess.tolist(), strict=True)]


def _free_allocation(
    profs: list[Any], steps: int, convex: bool, threads: int | None
) -> tuple[list[int], list[list[int]]]:
    """Steps per block minimising sum_b F_b(k_b), sum k_b = steps, 1 <= k_b <= W_b.

    Exact min-plus DP over blocks on the per-block frontiers ``F_b``. With convex frontiers
    (non-increasing ``h``, theory section 7) each ``F_b`` is computed only up to a cap (first
    guessed from the square-root rule) that is doubled for any block whose optimal allocation
    reaches it: an allocation strictly below every cap is optimal among all allocations (a
    convex ``F_b`` gains less from each further step than from the last one it was not given).
    Returns the allocation and each block's optimal schedule for it.
    """
    nb = len(profs)
    ws = [p.n for p in profs]
    hi = [min(w, steps - (nb - 1)) for w in ws]
    cap = _initial_caps(profs, steps, hi) if convex else list(hi)
    cache: dict[tuple[bytes, int], tuple[NDArray[np.float64], Any]] = {}
    while True:
        entries = []
        for p, c in zip(profs, cap, strict=True):
            key = (_key(p), c)
            if key not in cache:
                cache[key] = _frontier(p, c, threads)
            entries.append(cache[key])
        alloc = _min_plus([e[0] for e in entries], steps)
        grow = [b for b in range(nb) if alloc[b] == cap[b] and cap[b] < hi[b]]
        if not grow:
            blocks = [
                _schedule_from_table(e[1], p.n, k)
                for e, p, k in zip(entries, profs, alloc, strict=True)
            ]
            return alloc, blocks
        for b in grow:
            cap[b] = min(hi[b], 2 * cap[b])


def _min_plus(fronts: list[NDArray[np.float64]], steps: int) -> list[int]:
    """Exact DP: D_b(k) = min_j D_{b-1}(k - j) + F_b(j), j = 1..len(F_b); argmins kept."""
    from numpy.lib.stride_tricks import sliding_window_view

    inf = math.inf
    nb = len(fronts)
    D = np.full(steps + 1, inf)
    D[0] = 0.0
    choices = []
    for F in fronts:
        m = F.size
        padded = np.concatenate([np.full(m, inf), D])
        # window k holds D[k-m .. k-1]; reversed, column j-1 is D[k - j]
        M = sliding_window_view(padded, m)[: steps + 1, ::-1]
        cand = M + F[None, :]
        arg = np.argmin(cand, axis=1)
        D = cand[np.arange(steps + 1), arg]
        choices.append(arg + 1)
    if not math.isfinite(D[steps]):
        raise ValueError(
            f"no allocation of {steps} steps over {nb} blocks of widths "
            f"{_short([f.size for f in fronts])} (each block needs 1..W_b steps)"
        )
    alloc = [0] * nb
    k = steps
    for b in range(nb - 1, -1, -1):
        j = int(choices[b][k])
        alloc[b] = j
        k -= j
    return alloc


def _check_count(value: Any, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _source_n(source: Any) -> int:
    from unmask.laws.joint import Joint
    from unmask.profiles.profile import Profile

    if _is_profile_list(source):
        return sum(p.n for p in source)
    if isinstance(source, Profile):
        return source.n
    if isinstance(source, Joint):
        return source.n
    if callable(source):
        raise ValueError("a callable source needs widths= (it has no length of its own)")
    if hasattr(source, "outcomes") and hasattr(source, "pmf"):  # a dit.Distribution
        from unmask.profiles.lattice import _as_joint

        return _as_joint(source).n
    arr = np.asarray(source)
    return int(arr.size) if arr.ndim == 1 else int(arr.ndim)


def optimal_block_schedule(
    source: Any,
    steps: int,
    block_width: int | None = None,
    *,
    widths: Any = None,
    steps_per_block: StepsPerBlock = "equal",
    nonmonotone: NonMonotone = "project",
    base: float | None = None,
    threads: int | None = None,
    robust: bool | None = None,
) -> BlockSchedule:
    """The least expected KL that blockwise (semi-autoregressive) decoding can reach.

    Parameters
    ----------
    source : Joint, list of Profile, Profile or array_like
        A joint law (its exact block profiles, theory section 10), the block profiles
        themselves (:func:`unmask.block_profiles`, :func:`unmask.markov_block_profiles`,
        :func:`unmask.estimate_block_profiles`), or one profile / ``h`` curve of the whole
        sequence: then each block uses its segment of ``h`` (the random-order profile, a
        *proxy* of the block profile), and the result has ``approximate=True``.
    steps : int
        Total number of steps ``K`` over all blocks.
    block_width : int, optional
        Block width ``W`` (the last block shorter when ``W`` does not divide ``n``).
    widths : sequence of int, optional
        Explicit block widths (instead of ``block_width``); with block profiles, their widths
        are used when neither is given.
    steps_per_block : {"equal", "free"}
        ``"equal"``: every block gets ``steps / num_blocks`` steps (LLaDA's constraint; a
        multiple is required). ``"free"``: the best allocation of the ``K`` steps over the
        blocks, each at least one and at most its width (exact min-plus DP over the per-block
        optimal frontiers).
    nonmonotone : {"project", "plain", "raise"}
        Handling of a block curve that is not non-increasing (estimates), as in
        :func:`unmask.optimal_schedule`.
    base : float, optional
        Logarithm base when a joint is given.
    threads : int, optional
        Threads for the C++ solver.
    robust : bool or None
        For estimated block profiles that carry their evidence (``p.evidence``, from
        :func:`unmask.estimate_block_profiles`): None or True chooses each block's composition
        with :func:`unmask.robust_schedule` for that block's profile and step count (theory
        section 13: cross-fitted, regret-safe against the block's constant schedule, which is
        LLaDA's even split up to the rounding of its counts); False solves exactly on the
        curves as given (which fits their noise). Blocks without evidence always get the exact
        optimum. With ``steps_per_block="free"`` only the compositions are robust: the
        allocation of steps over blocks is the exact min-plus optimum of the given curves'
        frontiers, which can fit their noise (no regret guarantee for the allocation).

    Returns
    -------
    BlockSchedule
        With ``.cost`` and ``.cost_kind`` saying what it is: ``"exact"`` (the expected KL under
        a joint or exact block profiles), ``"proxy"`` (the single-profile proxy; also
        ``.approximate``), ``"curves"`` (exact on estimated curves taken as given,
        ``robust=False``: optimistic, fitted in-sample) or ``"estimate"`` (robust: the sum of
        the blocks' estimated true costs from their evidence, interval in ``.cost_estimate``).

    Raises
    ------
    ValueError
        Widths not summing to ``n``, fewer steps than blocks, ``steps`` not a multiple of the
        number of blocks in ``"equal"`` mode, more steps per block than a block's width, block
        profiles of other widths, an unknown mode.

    Notes
    -----
    The cost is a sum of per-block section-5 costs (theory section 10), so with a fixed
    allocation each block is an independent optimal-schedule problem; the free allocation
    minimises ``sum_b F_b(k_b)`` with ``F_b`` block ``b``'s optimal frontier.

    Examples
    --------
    >>> import unmask
    >>> law = unmask.joints.all_equal(4, 2)
    >>> bs = unmask.optimal_block_schedule(law, 3, 2, steps_per_block="free")
    >>> bs.blocks, round(bs.cost, 12)
    ([[1, 1], [2]], 0.0)
    """
    k = _check_count(steps, "steps")
    if steps_per_block not in ("equal", "free"):
        raise ValueError(
            f"steps_per_block must be 'equal' or 'free', got {steps_per_block!r}"
        )
    from unmask.profiles.blocks import resolve_widths

    if block_width is None and widths is None and _is_profile_list(source):
        ws = [p.n for p in source]
    else:
        ws = resolve_widths(_source_n(source) if widths is None else sum(
            _check_count(w, "widths entry") for w in widths
        ), block_width, widths)
    nb = len(ws)
    n = sum(ws)
    if k < nb:
        raise ValueError(f"steps = {k} is fewer than the {nb} blocks: each block needs a step")
    if steps_per_block == "equal":
        if k % nb:
            raise ValueError(
                f"steps = {k} is not a multiple of the number of blocks ({nb} blocks of widths "
                f"{_short(ws)}): blockwise decoding gives every block the same number of steps"
            )
        per = k // nb
        if per > min(ws):
            raise ValueError(f"{per} steps per block > block width {min(ws)}")
    if k > n:
        raise ValueError(f"steps = {k} exceeds n = {n}: every step unmasks at least one token")
    if robust is not None and not isinstance(robust, bool):
        raise TypeError(f"robust must be None, True or False, got {robust!r}")
    raw, approximate = block_profiles_for(source, ws, base=base, threads=threads)
    evidenced = [getattr(p, "evidence", None) is not None for p in raw]
    if robust and not any(evidenced):
        raise ValueError(
            "robust=True needs block profiles that carry their evidence (from "
            "estimate_block_profiles)"
        )
    profs, convex = _prepared(raw, nonmonotone)
    if steps_per_block == "equal":
        alloc = [k // nb] * nb
        blocks = _solve_blocks(profs, alloc, threads)
    else:
        alloc, blocks = _free_allocation(profs, k, convex, threads)
    if robust is not False and any(evidenced):
        return _robust_blocks(raw, evidenced, alloc, blocks, threads)
    cost = math.fsum(_block_cost(p, b) for p, b in zip(raw, blocks, strict=True))
    kind: CostKind = "proxy" if approximate else ("curves" if any(evidenced) else "exact")
    return BlockSchedule(blocks)._with_cost(cost, approximate, kind)


def _robust_blocks(
    raw: list[Any], evidenced: list[bool], alloc: list[int], exact: list[list[int]],
    threads: int | None,
) -> BlockSchedule:
    """Robust composition (theory section 13) of every block with evidence, at ``alloc``.

    The cost is the sum of the blocks' estimated true costs (:func:`unmask.estimate_cost` on
    each block's pooled evidence; exact for blocks without evidence); the blocks' evidence
    comes from independent samples, so the standard errors add in quadrature.
    """
    from unmask.schedules.robust import CostEstimate, estimate_cost, robust_schedule

    blocks: list[list[int]] = []
    values: list[float] = []
    variances: list[float] = []
    confidence = 0.95
    for p, has, kb, sizes in zip(raw, evidenced, alloc, exact, strict=True):
        if not has:
            blocks.append(sizes)
            values.append(_block_cost(p, sizes))
            continue
        chosen = robust_schedule(p, kb, confidence=confidence, threads=threads).schedule
        est = estimate_cost(p, chosen, confidence=confidence)
        blocks.append(list(chosen.sizes))
        values.append(est.value)
        variances.append(est.stderr**2)
    total = math.fsum(values)
    estimate = CostEstimate.normal(total, math.sqrt(math.fsum(variances)), confidence)
    return BlockSchedule(blocks)._with_cost(total, False, "estimate", estimate)


def _solve_blocks(profs: list[Any], alloc: list[int], threads: int | None) -> list[list[int]]:
    from unmask.schedules.solver import optimal_schedule

    cache: dict[tuple[bytes, int], list[int]] = {}
    out = []
    for p, kb in zip(profs, alloc, strict=True):
        key = (_key(p), kb)
        if key not in cache:
            cache[key] = list(optimal_schedule(p, kb, nonmonotone="plain", threads=threads,
                                               robust=False).sizes)
        out.append(cache[key])
    return out


# -- block width ------------------------------------------------------------------------------
class BlockWidthFrontier:
    """Exact cost of blockwise decoding with ``K`` steps for each block width.

    Attributes
    ----------
    widths : list of int
        The block widths compared.
    steps : int
        Total steps ``K``.
    equal : list of float or None
        Optimal cost with LLaDA's equal steps per block (None where ``K`` is not a multiple of
        the number of blocks or exceeds a block's width).
    free : list of float or None
        Optimal cost with the best allocation of steps over blocks (None where ``K`` is below
        the number of blocks).
    llada : list of float or None
        Cost of LLaDA's even split (:meth:`BlockSchedule.llada`).
    schedules : dict
        ``(mode, width) -> BlockSchedule`` for every finite entry.
    approximate : bool
        True when the costs come from the single-profile proxy.
    """

    def __init__(
        self,
        widths: list[int],
        steps: int,
        rows: dict[str, list[float | None]],
        schedules: dict[tuple[str, int], BlockSchedule],
        approximate: bool,
        unit: str,
    ) -> None:
        self.widths = widths
        self.steps = steps
        self.equal = rows["equal"]
        self.free = rows["free"]
        self.llada = rows["llada"]
        self.schedules = schedules
        self.approximate = approximate
        self.unit = unit

    def rows(self) -> list[dict[str, Any]]:
        """One dict per width: ``width, blocks, llada, equal, free``."""
        out = []
        for i, w in enumerate(self.widths):
            sched = self.schedules.get(("free", w)) or self.schedules.get(("equal", w))
            out.append(
                {
                    "width": w,
                    "blocks": None if sched is None else sched.num_blocks,
                    "llada": self.llada[i],
                    "equal": self.equal[i],
                    "free": self.free[i],
                }
            )
        return out

    def best(self, mode: str = "free") -> tuple[int, float]:
        """The width with the least cost in ``mode`` ("free", "equal" or "llada")."""
        values = {"free": self.free, "equal": self.equal, "llada": self.llada}[mode]
        pairs = [(c, w) for w, c in zip(self.widths, values, strict=True) if c is not None]
        if not pairs:
            raise ValueError(f"no width admits {self.steps} steps in mode {mode!r}")
        c, w = min(pairs)
        return w, c

    def plot(self, *, ax: Any = None, title: str | None = None, log: bool = False) -> Any:
        """Cost versus block width for each mode (needs matplotlib: ``unmask[plot]``).

        Returns
        -------
        matplotlib.figure.Figure
        """
        from unmask.plotting import _new_axes

        fig, axes = _new_axes(ax)
        a = axes[0]
        for label, values, style in (
            ("LLaDA even split", self.llada, "s:"),
            ("optimal, equal steps per block", self.equal, "o--"),
            ("optimal, free allocation", self.free, "^-"),
        ):
            xs = [w for w, c in zip(self.widths, values, strict=True) if c is not None]
            ys = [c for c in values if c is not None]
            if xs:
                a.plot(xs, ys, style, label=label)
        a.set_xscale("log", base=2)
        if log:
            a.set_yscale("log")
        a.set_xlabel("block width W")
        tag = " (proxy)" if self.approximate else ""
        a.set_ylabel(f"expected KL ({self.unit}){tag}")
        a.set_title(title or f"K = {self.steps} steps")
        a.legend()
        return fig

    def __repr__(self) -> str:
        return (
            f"BlockWidthFrontier(K={self.steps}, widths={self.widths}, "
            f"free={[None if c is None else round(c, 6) for c in self.free]})"
        )


def block_width_frontier(
    source: Any,
    steps: int,
    widths: Sequence[int],
    *,
    n: int | None = None,
    nonmonotone: NonMonotone = "project",
    base: float | None = None,
    threads: int | None = None,
    progress: Callable[[int, int], Any] | None = None,
) -> BlockWidthFrontier:
    """Exact cost of blockwise decoding with ``steps`` steps for each candidate block width.

    Parameters
    ----------
    source : Joint, Profile or callable
        A joint law (exact block profiles for every width), a callable
        ``source(widths) -> list of Profile`` (for instance
        ``lambda ws: unmask.markov_block_profiles(P, n, widths=ws)``), or one whole-sequence
        profile (the proxy; flagged ``approximate``).
    steps : int
        Total steps ``K``.
    widths : sequence of int
        Block widths to compare (each at most ``n``; the last block is shorter when one does
        not divide ``n``).
    n : int, optional
        Sequence length; needed only for a callable source.
    nonmonotone, base, threads
        As in :func:`optimal_block_schedule`. Block curves are solved exactly as given
        (``robust=False``), also when they are estimates: the rows then compare widths on the
        estimated curves (``cost_kind == "curves"`` on the schedules), not robust choices.
    progress : callable, optional
        ``progress(done, total)`` after each width.

    Returns
    -------
    BlockWidthFrontier

    Raises
    ------
    ValueError
        An empty width list, a width that is not a positive integer or exceeds ``n``.

    Examples
    --------
    >>> import numpy as np, unmask
    >>> P = np.array([[0.95, 0.05], [0.05, 0.95]])
    >>> src = lambda ws: unmask.markov_block_profiles(P, 64, widths=ws)
    >>> fr = unmask.block_width_frontier(src, 16, [4, 8, 16, 64], n=64)
    >>> fr.best("free")[0] in (4, 8, 16, 64)
    True
    """
    from unmask.laws.joint import Joint
    from unmask.profiles.blocks import resolve_widths
    from unmask.profiles.lattice import subset_entropies
    from unmask.profiles.profile import Profile

    k = _check_count(steps, "steps")
    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__iter__"):
        raise ValueError(f"widths must be a list of positive integers, got {widths!r}")
    wlist = [_check_count(w, "block width") for w in widths]
    if not wlist:
        raise ValueError("widths is empty: give at least one block width")
    if callable(source) and not isinstance(source, (Joint, Profile)):
        if n is None:
            raise ValueError("a callable source needs n=")
        total = _check_count(n, "n")
    else:
        if not isinstance(source, (Joint, Profile)) and np.ndim(source) > 1:
            source = Joint(source)
        if isinstance(source, (list, tuple)) and _is_profile_list(source):
            raise ValueError(
                "block profiles fix one set of widths; pass the joint law or a callable "
                "source(widths) to compare widths"
            )
        total = _source_n(source)
        if n is not None and _check_count(n, "n") != total:
            raise ValueError(f"n = {n} but the source has n = {total}")
    for w in wlist:
        if w > total:
            raise ValueError(f"block width {w} exceeds n = {total}")
    # a joint: compute the subset entropies once, then every width's block profiles from them
    provider: Any = source
    if isinstance(source, Joint):
        from unmask._validation import log_base_factor
        from unmask.profiles.blocks import _profiles_from_entropies

        ent = subset_entropies(source, threads=threads)
        factor = log_base_factor(base)

        def provider(ws: list[int]) -> list[Profile]:
            return _profiles_from_entropies(ent, ws, factor, base, "exact")

    rows: dict[str, list[float | None]] = {"equal": [], "free": [], "llada": []}
    scheds: dict[tuple[str, int], BlockSchedule] = {}
    approximate = False
    unit = "nats"
    for done, w in enumerate(wlist):
        ws = resolve_widths(total, w)
        raw, approx = block_profiles_for(provider, ws, base=base, threads=threads)
        approximate = approximate or approx
        unit = raw[0].unit
        for mode in ("equal", "free"):
            try:
                bs = optimal_block_schedule(
                    raw, k, steps_per_block=mode, nonmonotone=nonmonotone, threads=threads,
                    robust=False,
                )
            except ValueError:
                rows[mode].append(None)
                continue
            bs = bs._with_cost(float(bs.cost or 0.0), approx, None if approx else bs.cost_kind)
            rows[mode].append(bs.cost)
            scheds[(mode, w)] = bs
        try:
            ll = BlockSchedule.llada(total, k, w)
            cost = math.fsum(_block_cost(p, b) for p, b in zip(raw, ll.blocks, strict=True))
            rows["llada"].append(cost)
            kind: CostKind = "proxy" if approx else (
                "curves" if any(getattr(p, "evidence", None) is not None for p in raw)
                else "exact")
            scheds[("llada", w)] = ll._with_cost(cost, approx, kind)
        except ValueError:
            rows["llada"].append(None)
        if progress is not None:
            progress(done + 1, len(wlist))
    return BlockWidthFrontier(wlist, k, rows, scheds, approximate, unit)
