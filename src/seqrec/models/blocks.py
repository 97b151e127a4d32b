"""Transformer pieces shared by SASRec and BERT4Rec: fast dropout, self-attention (through
scaled_dot_product_attention), one class per block layout, position ids and masks."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, cast

import torch
import torch.nn.functional as F
from torch import nn


def keep_mask(shape: torch.Size, p: float, device: torch.device) -> torch.Tensor:
    """Boolean mask, each entry True with probability 1 - p (to within 2**-16).

    Each 64-bit random draw is cut into four 16-bit numbers: on CPU this is several times
    faster than ``bernoulli_``, a float ``rand`` or one integer draw per entry.
    """
    numel = shape.numel()
    words = torch.empty((numel + 3) // 4, dtype=torch.int64, device=device).random_(-(2**63), None)
    draws = words.view(torch.int16)[:numel].view(shape)  # uniform over -32768..32767
    return draws >= round(p * 65536) - 32768


def dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Inverted dropout with the fast mask above: one multiply by the mask as x's dtype, 1 / (1 - p)
    where kept and 0 where dropped (the same values as masking, then scaling; a boolean factor
    would be converted in the multiply of the forward pass and again in the backward pass)."""
    if not training or p == 0.0:
        return x
    return x * keep_mask(x.shape, p, x.device).to(x.dtype).mul_(1.0 / (1.0 - p))


class Dropout(nn.Module):
    """``nn.Dropout`` with the faster mask above."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training)


class MultiHeadSelfAttention(nn.Module):
    """Self-attention with an additive mask (0 = may attend, -inf = may not)."""

    def __init__(self, hidden: int, heads: int, dropout: float) -> None:
        super().__init__()
        if hidden % heads:
            raise ValueError(f"hidden size {hidden} is not divisible by {heads} heads")
        self.heads = heads
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.dropout = dropout

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor, last_only: bool = False, source: torch.Tensor | None = None
    ) -> torch.Tensor:
        """x [B, L, D] -> [B, L, D], or [B, 1, D] for the last position only (``last_only``).

        Queries come from ``x``; keys and values from ``source`` when given (same shape as x),
        else from ``x``.
        """
        batch, length, hidden = x.shape
        size = hidden // self.heads
        if source is None:
            qkv = self.qkv(x).view(batch, length, 3, self.heads, size)  # [B, L, 3, H, Dh]
            q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each [B, H, L, Dh]
        else:
            weight, bias = self.qkv.weight, self.qkv.bias
            q = F.linear(x, weight[:hidden], bias[:hidden]).view(batch, length, self.heads, size).transpose(1, 2)
            kv = F.linear(source, weight[hidden:], bias[hidden:]).view(batch, length, 2, self.heads, size)
            k, v = kv.permute(2, 0, 3, 1, 4)  # each [B, H, L, Dh]
        if last_only:
            q, mask = q[:, :, -1:], mask[:, :, -1:]  # [B, H, 1, Dh], [B, 1, 1, L]
            length = 1
        if self.training and self.dropout > 0:
            # explicit softmax so that attention dropout uses the fast mask; the mask, the
            # scaling and q k^T in one baddbmm
            heads, keys = self.heads, k.shape[2]  # queries: length (1 with last_only), keys: L
            additive = mask.to(q.dtype).expand(batch, heads, length, keys).reshape(batch * heads, length, keys)
            scores = torch.baddbmm(
                additive,
                q.reshape(batch * heads, length, size),
                k.reshape(batch * heads, keys, size).transpose(1, 2),
                alpha=size**-0.5,
            )  # [B * H, L or 1, L]
            weights = torch.softmax(scores, dim=-1).view(batch, heads, length, keys)
            kept = weights * keep_mask(weights.shape, self.dropout, weights.device).to(weights.dtype)  # 0 or 1
            y = (kept @ v) * (1.0 / (1.0 - self.dropout))  # [B, H, L, Dh]
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask.to(q.dtype))  # [B, H, L, Dh]
        return self.out(y.transpose(1, 2).reshape(batch, length, hidden))  # [B, L, D]


class Block(nn.Module, ABC):
    """Attention + position-wise feed-forward, each with a residual, dropout and a layer norm.

    The classic layouts have the same submodules (hence the same parameter names, so that weight
    files load whatever the layout); such a subclass only says where the norms go (``forward``)
    and their epsilon (``eps``). ``ligr`` adds gates and a SwiGLU feed-forward (``LiGRBlock``).
    """

    layout: ClassVar[str]
    eps: ClassVar[float] = 1e-5

    def __init__(self, hidden: int, heads: int, ff_hidden: int, dropout: float, activation: str) -> None:
        super().__init__()
        self.attention = MultiHeadSelfAttention(hidden, heads, dropout)
        self.feed_forward = nn.Sequential(
            nn.Linear(hidden, ff_hidden),
            nn.GELU() if activation == "gelu" else nn.ReLU(),
            Dropout(dropout),
            nn.Linear(ff_hidden, hidden),
        )
        self.norm1 = nn.LayerNorm(hidden, eps=self.eps)
        self.norm2 = nn.LayerNorm(hidden, eps=self.eps)
        self.dropout = Dropout(dropout)

    @abstractmethod
    def forward(self, x: torch.Tensor, mask: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """x [B, L, D] -> [B, L, D]; with ``last_only`` (inference) only the last position, [B, 1, D]."""


class PreNormBlock(Block):
    """x + Attn(LN(x)), then x + FFN(LN(x)) (GPT-2 style; SASRec's default here)."""

    layout = "pre_norm"

    def forward(self, x: torch.Tensor, mask: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        residual = x[:, -1:] if last_only else x  # [B, L or 1, D]
        x = residual + self.dropout(self.attention(self.norm1(x), mask, last_only))  # [B, L or 1, D]
        return x + self.dropout(self.feed_forward(self.norm2(x)))


class PostNormBlock(Block):
    """LN(x + Attn(x)), then LN(x + FFN(x)) (BERT)."""

    layout = "post_norm"

    def forward(self, x: torch.Tensor, mask: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        residual = x[:, -1:] if last_only else x  # [B, L or 1, D]
        x = self.norm1(residual + self.dropout(self.attention(x, mask, last_only)))  # [B, L or 1, D]
        return self.norm2(x + self.dropout(self.feed_forward(x)))


class SASRecPytorchBlock(Block):
    """The block of the widely used SASRec.pytorch code (and of the code behind "Turning Dross
    Into Gold Loss"): q = LN(x); x = q + Attn(q, keys=x, values=x); x = LN(x); x + FFN(x), with
    layer-norm epsilon 1e-8 and no dropout after attention."""

    layout = "sasrec_pytorch"
    eps = 1e-8

    def forward(self, x: torch.Tensor, mask: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        query = self.norm1(x)  # [B, L, D]
        x = (query[:, -1:] if last_only else query) + self.attention(query, mask, last_only, source=x)
        x = self.norm2(x)  # [B, L or 1, D]
        return x + self.dropout(self.feed_forward(x))


class SwiGLU(nn.Module):
    """Feed-forward W_out (SiLU(W_gate x) ⊙ W_value x), no biases, dropout before W_out (Shazeer,
    "GLU Variants Improve Transformer", 2020). ``inner`` holds W_gate (first ``ff_hidden`` rows)
    and W_value (the rest) as one matrix, so both come from one matmul."""

    def __init__(self, hidden: int, ff_hidden: int, dropout: float) -> None:
        super().__init__()
        self.inner = nn.Linear(hidden, 2 * ff_hidden, bias=False)
        self.outer = nn.Linear(ff_hidden, hidden, bias=False)
        self.dropout = Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, value = self.inner(x).chunk(2, dim=-1)  # each [B, L, F]
        return self.outer(self.dropout(F.silu(gate) * value))  # [B, L, D]


class LiGRBlock(Block):
    """Pre-norm sublayers with a learned sigmoid gate on each residual branch and a SwiGLU
    feed-forward, the LiGR layer ("From Features to Transformers: Redefining Ranking for Scalable
    Impact", LinkedIn 2025) that eSASRec (Tikhonov et al., RecSys 2025) builds on:

        x = x + σ(G1 x + b1) ⊙ Attn(LN(x)),   then   x + σ(G2 x + b2) ⊙ SwiGLU(LN(x)).

    The gates (``gate1``, ``gate2``) read the residual stream itself, per position and channel.
    They start with G = 0 and b = 0 (``reset_gates``), so every gate is σ(0) = 1/2 until trained:
    at initialisation the block is the pre-norm block with each branch halved. ``activation`` is
    unused (the feed-forward is SwiGLU, ``ff_hidden`` wide).
    """

    layout = "ligr"

    def __init__(self, hidden: int, heads: int, ff_hidden: int, dropout: float, activation: str) -> None:
        super().__init__(hidden, heads, ff_hidden, dropout, activation)
        self.feed_forward = nn.Sequential(SwiGLU(hidden, ff_hidden, dropout))  # in place of Block's
        self.gate1 = nn.Linear(hidden, hidden)
        self.gate2 = nn.Linear(hidden, hidden)
        self.reset_gates()

    @property
    def swiglu(self) -> SwiGLU:
        """The feed-forward (``feed_forward[0]``)."""
        return cast(SwiGLU, self.feed_forward[0])

    def reset_gates(self) -> None:
        """Gate weights and biases to zero: every gate 1/2 (a model's own init calls this after its own)."""
        for gate in (self.gate1, self.gate2):
            nn.init.zeros_(gate.weight)
            nn.init.zeros_(gate.bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        residual = x[:, -1:] if last_only else x  # [B, L or 1, D]
        branch = self.dropout(self.attention(self.norm1(x), mask, last_only))  # [B, L or 1, D]
        x = residual + torch.sigmoid(self.gate1(residual)) * branch
        return x + torch.sigmoid(self.gate2(x)) * self.dropout(self.feed_forward(self.norm2(x)))


BLOCKS: dict[str, type[Block]] = {
    cls.layout: cls for cls in (PreNormBlock, PostNormBlock, SASRecPytorchBlock, LiGRBlock)
}
"""Block layouts by the name ``model.block`` uses; a new layout is a Block subclass listed here."""


def block_class(layout: str) -> type[Block]:
    """The block class of ``layout``; ValueError naming the known layouts otherwise."""
    if layout not in BLOCKS:
        raise ValueError(f"unknown block layout {layout!r}; known: {', '.join(BLOCKS)}")
    return BLOCKS[layout]


POSITIONS = ("from_end", "from_start")
"""The position-id schemes of :func:`position_ids`."""


def position_ids(valid: torch.Tensor, max_length: int, scheme: str) -> torch.Tensor:
    """Position ids for left-padded input valid [B, L]: ``from_end`` puts the last item at
    ``max_length - 1`` ([L]); ``from_start`` puts the window's first item at 0, as right
    padding does ([B, L]). Either way leading padding changes nothing."""
    length = valid.shape[1]
    if scheme == "from_end":
        return torch.arange(max_length - length, max_length, device=valid.device)  # [L]
    first = length - valid.sum(1, keepdim=True)  # [B, 1]
    return (torch.arange(length, device=valid.device) - first).clamp_(min=0)  # [B, L]


def attention_mask(valid: torch.Tensor, causal: bool) -> torch.Tensor:
    """[B, 1, L, L] additive mask, 0 where attention is allowed and -inf elsewhere: real keys
    only (causal if asked); every position sees itself.

    Letting padding queries attend to themselves keeps their softmax defined; their outputs
    are zeroed by the caller and never reach a real position.
    """
    length = valid.shape[1]
    eye = torch.eye(length, dtype=torch.bool, device=valid.device)
    mask = valid[:, None, None, :] | eye  # [B, 1, L, L]
    if causal:
        mask = mask & torch.ones(length, length, dtype=torch.bool, device=valid.device).tril()
    return torch.zeros(mask.shape, device=valid.device).masked_fill_(~mask, float("-inf"))


def run_blocks(
    blocks: nn.ModuleList, x: torch.Tensor, valid: torch.Tensor, causal: bool, last_only: bool = False
) -> torch.Tensor:
    """Embedded sequence x [B, L, D] through the blocks; padding positions kept at zero.

    With ``last_only`` the final block computes the last position alone ([B, 1, D]): all that
    scoring the next item needs, at a fraction of the final block's cost.
    """
    mask = attention_mask(valid, causal)  # [B, 1, L, L]
    for index, block in enumerate(blocks):
        last = last_only and index == len(blocks) - 1
        x = block(x, mask, last) * valid[:, -1:, None] if last else block(x, mask) * valid[..., None]
    return x
