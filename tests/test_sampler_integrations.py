"""The real diffusers classes (AmusedScheduler, BlockRefinementScheduler inside LLaDA2Pipeline)
run an exported schedule and produce exactly its counts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from diffusers import AmusedScheduler, BlockRefinementScheduler, LLaDA2Pipeline

import unmask
from unmask import export as E
from unmask.integrations import (
    block_refinement_scheduler,
    maskgit_schedule,
    ratio_amused_scheduler,
)

MASK = 7


def random_composition(rng: np.random.Generator, n: int, k: int | None = None) -> unmask.Schedule:
    k = int(rng.integers(1, n + 1)) if k is None else k
    cuts = np.sort(rng.choice(np.arange(1, n), size=k - 1, replace=False)) if k > 1 else []
    return unmask.Schedule(np.diff(np.concatenate([[0], cuts, [n]])).astype(np.int64))


def run_amused(scheduler: AmusedScheduler, seq_len: int, steps: int, seed: int) -> list[int]:
    """The AmusedPipeline denoising loop: set_timesteps, then step() per timestep with random
    logits; returns the tokens revealed at each step."""
    gen = torch.Generator().manual_seed(seed)
    scheduler.set_timesteps(steps)
    sample = torch.full((2, seq_len), MASK, dtype=torch.long)
    revealed = []
    for t in scheduler.timesteps:
        logits = torch.randn(2, seq_len, 6, generator=gen)
        before = int((sample[0] == MASK).sum())
        sample = scheduler.step(logits, t, sample, generator=gen).prev_sample
        assert int((sample[0] == MASK).sum()) == int((sample[1] == MASK).sum())
        revealed.append(before - int((sample[0] == MASK).sum()))
    return revealed


@pytest.mark.parametrize("masking_schedule", ["linear", "cosine"])
def test_real_amused_scheduler_runs_exported_ratios(masking_schedule: str) -> None:
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 10, 37, 256, 1024):
        s = random_composition(rng, n, min(n, int(rng.integers(1, 24))))
        e = E.for_sampler(s, "amused")
        sched = ratio_amused_scheduler(e, mask_token_id=MASK, masking_schedule=masking_schedule)
        assert isinstance(sched, AmusedScheduler)
        assert run_amused(sched, n, s.steps, seed=n) == list(s.sizes)


def test_plain_amused_ratios_are_what_the_subclass_fixes() -> None:
    """The unmodified AmusedScheduler ('linear') reveals floor-based counts that differ from an
    even schedule whenever n * (1 - (k+1)/K) rounds down; our subclass gives the exact ones."""
    n, k = 1000, 7
    plain = run_amused(AmusedScheduler(mask_token_id=MASK, masking_schedule="linear"), n, k, 1)
    ideal = [(n * (j + 1)) // k - (n * j) // k for j in range(k)]
    s = unmask.Schedule(ideal)
    ours = run_amused(ratio_amused_scheduler(E.for_sampler(s, "amused"), MASK), n, k, 1)
    assert ours == ideal and sum(plain) == n


def test_amused_with_known_tokens() -> None:
    """seq_len > n: some tokens are given (inpainting); ratios are relative to seq_len."""
    s = unmask.Schedule([5, 3, 2])
    e = E.for_sampler(s, "amused", seq_len=16)
    sched = ratio_amused_scheduler(e, MASK)
    gen = torch.Generator().manual_seed(2)
    sched.set_timesteps(3)
    sample = torch.full((1, 16), MASK, dtype=torch.long)
    sample[0, :6] = 1
    got = []
    for t in sched.timesteps:
        before = int((sample == MASK).sum())
        sample = sched.step(torch.randn(1, 16, 6, generator=gen), t, sample, generator=gen
                            ).prev_sample
        got.append(before - int((sample == MASK).sum()))
    assert got == [5, 3, 2]


def test_amused_refuses_wrong_steps() -> None:
    sched = ratio_amused_scheduler(E.for_sampler(unmask.Schedule([2, 2]), "amused"), MASK)
    with pytest.raises(ValueError, match="2 steps"):
        sched.set_timesteps(3)


# --- LLaDA2Pipeline with the block-count scheduler -------------------------------------------
class _Out:
    def __init__(self, logits: torch.Tensor) -> None:
        self.logits = logits


class TinyModel(torch.nn.Module):
    """A stand-in denoiser: random logits (the pipeline only needs .logits)."""

    def __init__(self, vocab: int = 11, seed: int = 0) -> None:
        super().__init__()
        self.vocab = vocab
        self.gen = torch.Generator().manual_seed(seed)
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    @property
    def device(self) -> torch.device:  # diffusers asks its components for .device
        return self.dummy.device

    def forward(self, x: torch.Tensor, attention_mask=None, position_ids=None) -> _Out:
        logits = torch.randn(*x.shape, self.vocab, generator=self.gen)
        logits[..., MASK] = -torch.inf  # a denoiser never predicts the mask token
        return _Out(logits)


def run_llada2(scheduler, bs: unmask.BlockSchedule, block_length: int, steps: int,
               prompt_len: int) -> list[list[int]]:
    pipe = LLaDA2Pipeline(model=TinyModel(), scheduler=scheduler, tokenizer=None)
    pipe.set_progress_bar_config(disable=True)
    counts: list[list[int]] = []

    def record(pipeline, global_step, step_idx, kw):
        if step_idx == 0:
            counts.append([])
        counts[-1].append(int(kw["transfer_index"][0].sum()))
        return {}

    prompt = torch.arange(1, prompt_len + 1).unsqueeze(0) % 5 + 1
    out = pipe(input_ids=prompt, use_chat_template=False, gen_length=bs.n,
        block_length=block_length, num_inference_steps=steps,
        threshold=1.0, editing_threshold=None, mask_token_id=MASK, eos_early_stop=False,
        output_type="seq", callback_on_step_end=record,
        callback_on_step_end_tensor_inputs=["transfer_index"])
    assert not bool((out.sequences == MASK).any())  # every generated token was committed
    return counts


def test_real_llada2_pipeline_runs_block_counts() -> None:
    rng = np.random.default_rng(4)
    for blocks, width in ((1, 8), (3, 8), (4, 5)):
        comps = [list(random_composition(rng, width, int(rng.integers(1, width + 1))).sizes)
                 for _ in range(blocks)]
        bs = unmask.BlockSchedule(comps)
        e = E.for_sampler(bs, "llada2")
        assert e.exact
        sched = block_refinement_scheduler(e)
        assert isinstance(sched, BlockRefinementScheduler)
        got = run_llada2(sched, bs, width, e.values.shape[1], prompt_len=width)
        # a block with fewer steps than the widest one ends with one empty pass: the
        # pipeline checks for masks before its step
        for row, comp in zip(got, comps):
            assert row[: len(comp)] == comp and row[len(comp):] in ([], [0])


def test_llada2_default_scheduler_gives_even_split() -> None:
    """Control: the stock scheduler gives every block the even split, whatever we wanted."""
    bs = unmask.BlockSchedule([[5, 1, 1, 1], [1, 1, 1, 5]])
    got = run_llada2(BlockRefinementScheduler(block_length=8), bs, 8, 4, prompt_len=8)
    assert got == [[2, 2, 2, 2], [2, 2, 2, 2]]
    ours = run_llada2(block_refinement_scheduler(E.for_sampler(bs, "llada2")), bs, 8, 4, 8)
    assert ours == bs.blocks


def test_llada2_threshold_makes_counts_minima() -> None:
    e = E.for_sampler(unmask.BlockSchedule([[4, 4]]), "llada2", threshold=0.5)
    assert not e.exact


def test_maskgit_schedule_drop_in() -> None:
    s = unmask.Schedule([3, 2, 2, 1])
    f = maskgit_schedule(E.for_sampler(s, "maskgit"))
    k = s.steps
    masked_after = [int(np.floor(np.float32(8) * np.float32(f((j + 1) / k, 8))))
                    for j in range(k - 1)]
    assert masked_after == [5, 3, 1]


def llada2_remote_generate_counts(model_fn, gen_length: int, block_length: int, steps: int,
                                  threshold: float = 1.0) -> list[list[int]]:
    """ZHZisZZ/dllm dllm/pipelines/llada2/models/modeling_llada2_moe.py, generate(): one schedule
    from _get_num_transfer_tokens(block_length, steps) for all blocks; per step commit every
    token above threshold if at least num_to_transfer are, else the top-k (random confidences)."""
    gen = torch.Generator().manual_seed(5)
    schedule = model_fn(block_length, steps)
    x = torch.full((1, gen_length), MASK)
    out = []
    for b in range(gen_length // block_length):
        cur = x[:, b * block_length:(b + 1) * block_length]
        row = []
        for step in range(steps):
            active = cur == MASK
            if active.sum() == 0:
                break
            conf = torch.where(active, torch.rand(cur.shape, generator=gen), -torch.inf)
            num = schedule[step].item()
            high = conf[0] > threshold
            if high.sum().item() >= num:
                take = high
            else:
                _, idx = torch.topk(conf[0], k=min(num, int(active.sum())))
                take = torch.zeros_like(high)
                take[idx] = True
            cur[0, take] = 1
            row.append(int(take.sum()))
        out.append(row)
    return out


def test_llada2_remote_code_drop_in() -> None:
    from unmask.integrations import llada2_transfer_schedule

    comps = [[5, 2, 1], [1, 3, 4], [2, 2, 4]]
    e = E.for_sampler(unmask.BlockSchedule(comps), "llada2")
    f = llada2_transfer_schedule(e)
    assert llada2_remote_generate_counts(f, 24, 8, 3) == comps
    with pytest.raises(ValueError, match="3"):
        f(8, 4)
