"""The network of :mod:`unmask.integrations.torch_mdm` (imports torch: load it lazily)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["MDMNet"]


class MDMNet(nn.Module):
    """Bidirectional transformer: tokens ``(B, n)`` in ``0..q`` (``q`` = mask) -> logits.

    The logits have shape ``(B, n, q)``.

    Parameters
    ----------
    n, q : int
        Sequence length and alphabet size.
    d_model, layers, heads : int
        Width, depth and attention heads (pre-norm layers, no dropout).
    """

    def __init__(self, n: int, q: int, d_model: int = 64, layers: int = 2, heads: int = 4) -> None:
        super().__init__()
        self.n, self.q = n, q
        self.embed = nn.Embedding(q + 1, d_model)
        self.pos = nn.Parameter(torch.zeros(n, d_model))
        layer = nn.TransformerEncoderLayer(
            d_model, heads, dim_feedforward=4 * d_model, dropout=0.0, batch_first=True,
            norm_first=True,
        )
        self.body = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, q)
        nn.init.normal_(self.pos, std=1.0)  # as visible as the token embeddings

    def forward(self, tokens: Any) -> Any:
        """Logits of every position."""
        h = self.embed(tokens) + self.pos
        return self.head(self.norm(self.body(h)))
