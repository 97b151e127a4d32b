"""Transformer blocks shared by SASRec and BERT4Rec (attention through scaled_dot_product_attention)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqrec.config import ModelConfig

_LEVELS = 10000  # dropout probabilities are exact to 1e-4


def keep_mask(shape: torch.Size, p: float, device: torch.device) -> torch.Tensor:
    """Boolean mask, each entry True with probability 1 - p, from 16-bit integer draws.

    Several times faster on CPU than ``bernoulli_`` or a float ``rand`` of the same size.
    """
    draws = torch.randint(0, _LEVELS, shape, dtype=torch.int16, device=device)
    return draws >= round(p * _LEVELS)


def dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Inverted dropout with the fast mask above."""
    if not training or p == 0.0:
        return x
    return torch.where(keep_mask(x.shape, p, x.device), x, 0.0) * (1.0 / (1.0 - p))


class Dropout(nn.Module):
    """``nn.Dropout`` with the faster mask above."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training)


class MultiHeadSelfAttention(nn.Module):
    """Self-attention with a boolean mask (True = may attend)."""

    def __init__(self, hidden: int, heads: int, dropout: float) -> None:
        super().__init__()
        if hidden % heads:
            raise ValueError(f"hidden size {hidden} is not divisible by {heads} heads")
        self.heads = heads
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, length, hidden = x.shape
        qkv = self.qkv(x).view(batch, length, 3, self.heads, hidden // self.heads)  # [B, L, 3, H, Dh]
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each [B, H, L, Dh]
        if self.training and self.dropout > 0:
            # explicit softmax so that attention dropout uses the fast mask
            scores = (q @ k.transpose(-1, -2)) * (q.shape[-1] ** -0.5)  # [B, H, L, L]
            weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
            kept = torch.where(keep_mask(weights.shape, self.dropout, weights.device), weights, 0.0)
            y = (kept @ v) * (1.0 / (1.0 - self.dropout))  # [B, H, L, Dh]
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # [B, H, L, Dh]
        return self.out(y.transpose(1, 2).reshape(batch, length, hidden))  # [B, L, D]


class TransformerBlock(nn.Module):
    """Attention + position-wise feed-forward, each with residual, dropout and layer norm.

    ``norm_first=True`` is the pre-norm layout of SASRec's reference code; ``False`` the
    post-norm layout of BERT.
    """

    def __init__(
        self, hidden: int, heads: int, ff_hidden: int, dropout: float, activation: str, norm_first: bool
    ) -> None:
        super().__init__()
        self.attention = MultiHeadSelfAttention(hidden, heads, dropout)
        self.feed_forward = nn.Sequential(
            nn.Linear(hidden, ff_hidden),
            nn.GELU() if activation == "gelu" else nn.ReLU(),
            Dropout(dropout),
            nn.Linear(ff_hidden, hidden),
        )
        self.norm1 = nn.LayerNorm(hidden)
        self.norm2 = nn.LayerNorm(hidden)
        self.dropout = Dropout(dropout)
        self.norm_first = norm_first

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.norm_first:
            x = x + self.dropout(self.attention(self.norm1(x), mask))  # [B, L, D]
            return x + self.dropout(self.feed_forward(self.norm2(x)))
        x = self.norm1(x + self.dropout(self.attention(x, mask)))
        return self.norm2(x + self.dropout(self.feed_forward(x)))


def attention_mask(valid: torch.Tensor, causal: bool) -> torch.Tensor:
    """[B, 1, L, L] boolean mask: real keys only (causal if asked); every position sees itself.

    Letting padding queries attend to themselves keeps their softmax defined; their outputs
    are zeroed by the caller and never reach a real position.
    """
    length = valid.shape[1]
    eye = torch.eye(length, dtype=torch.bool, device=valid.device)
    mask = valid[:, None, None, :] | eye  # [B, 1, L, L]
    if causal:
        mask = mask & torch.ones(length, length, dtype=torch.bool, device=valid.device).tril()
    return mask


def run_blocks(blocks: nn.ModuleList, x: torch.Tensor, valid: torch.Tensor, causal: bool) -> torch.Tensor:
    """Embedded sequence x [B, L, D] through the blocks; padding positions kept at zero."""
    mask = attention_mask(valid, causal)  # [B, 1, L, L]
    for block in blocks:
        x = block(x, mask) * valid[..., None]
    return x


class SequenceModel(nn.Module):
    """What SASRec and BERT4Rec share: construction from a config, ``forward`` = ``encode``."""

    def __init__(self, n_items: int, max_length: int) -> None:
        super().__init__()
        self.n_items = n_items
        self.max_length = max_length

    @classmethod
    def from_config(cls, config: ModelConfig, n_items: int) -> SequenceModel:
        return cls(  # type: ignore[call-arg]
            n_items,
            hidden=config.hidden,
            blocks=config.blocks,
            heads=config.heads,
            dropout=config.dropout,
            max_length=config.max_length,
            ff_hidden=config.ff_hidden,
        )

    def encode(self, items: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, items: torch.Tensor) -> torch.Tensor:
        """Same as ``encode`` (what DistributedDataParallel calls)."""
        return self.encode(items)
