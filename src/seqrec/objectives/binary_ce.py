"""Binary cross-entropy over per-position negatives (``bce``, ``gbce``), chunked, gradients in one pass.

Each target position n has its own k negatives. The loss is

    mean_n [ β softplus(-s⁺_n) + Σ_k softplus(s⁻_nk) ],   s = h_n · w_item,

with β = 1 for BCE and gSASRec's β for gBCE. Two ways to get the negative logits of a chunk of
positions, chosen by cost:

- *gathered*: the chunk's [c, k, D] negative embeddings (``index_select``) and their gradient
  (``index_add_``): memory traffic k·D per position, cheap for a few negatives (BCE's one);
- *dense*: the chunk's logits against the whole catalog ([c, I + 1], one matmul) and their
  gradient scattered back into that dense block: 3 matmuls of I·D per position, cheaper once k
  is a noticeable share of the catalog (gBCE's 256 of ML-1M's 3,416 items), because the matmuls
  run at full speed while the gathers of [c, k, D] are bound by memory.

Either way the chunk's temporaries are freed before the next chunk, and the gradients with
respect to the hidden states and the item matrix are formed in the same pass (as
``fused_ce.linear_cross_entropy`` does), so no [N, k, D] tensor or its gradient is ever held.
Same value and gradients as the plain formula up to float rounding (tested).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

CHUNK_BYTES = 8 * 2**20  # float32 temporaries of one chunk: [c, k, D] gathered or [c, I + 1] dense
DENSE_SHARE = 1 / 48  # dense once k >= this share of the catalog rows (timed on ML-1M and Beauty sizes)


def use_dense(n_negatives: int, n_rows: int) -> bool:
    """Whether the dense path is the cheaper one for ``n_negatives`` per position over ``n_rows`` item rows."""
    return n_negatives >= DENSE_SHARE * n_rows


class _BinaryCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        hidden: torch.Tensor,
        weights: torch.Tensor,
        targets: torch.Tensor,
        negatives: torch.Tensor,
        beta: float,
        dense: bool,
        rows: int,
    ) -> torch.Tensor:
        n, width = hidden.shape[0], weights.shape[1]
        grad_hidden = torch.empty_like(hidden)  # [N, D]
        grad_weights = torch.zeros_like(weights)  # [I + 1, D]
        total = torch.zeros((), dtype=torch.float64, device=hidden.device)
        for begin in range(0, n, rows):
            h, t, ids = hidden[begin : begin + rows], targets[begin : begin + rows], negatives[begin : begin + rows]
            w_pos = weights.index_select(0, t)  # [c, D]
            pos = (h * w_pos).sum(-1)  # [c]
            if dense:
                scores = h @ weights.T  # [c, I + 1]
                neg = scores.gather(1, ids)  # [c, k]
            else:
                w_neg = weights.index_select(0, ids.reshape(-1)).view(*ids.shape, width)  # [c, k, D]
                neg = torch.bmm(w_neg, h[:, :, None])[:, :, 0]  # [c, k]
            total += (beta * F.softplus(-pos)).sum(dtype=torch.float64)
            total += F.softplus(neg).sum(dtype=torch.float64)
            d_pos = -beta * torch.sigmoid(-pos) / n  # [c]: d(mean loss)/d s⁺
            d_neg = torch.sigmoid(neg).div_(n)  # [c, k]: d(mean loss)/d s⁻
            grad_weights.index_add_(0, t, d_pos[:, None] * h)
            if dense:
                d_scores = scores.zero_().scatter_add_(1, ids, d_neg)  # [c, I + 1], reusing the block
                grad_hidden[begin : begin + rows] = torch.addmm(d_pos[:, None] * w_pos, d_scores, weights)
                grad_weights.addmm_(d_scores.T, h)
            else:
                grad_hidden[begin : begin + rows] = torch.baddbmm(
                    (d_pos[:, None] * w_pos)[:, None, :], d_neg[:, None, :], w_neg
                )[:, 0]  # [c, D]
                grad_weights.index_add_(0, ids.reshape(-1), (d_neg[:, :, None] * h[:, None, :]).view(-1, width))
        ctx.grads = (grad_hidden, grad_weights)
        return (total / max(n, 1)).to(hidden.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        if ctx.grads is None:
            raise RuntimeError("binary cross-entropy: backward through the same loss a second time")
        grad_hidden, grad_weights = ctx.grads
        ctx.grads = None  # scaled in place: handed on once, without a copy
        return grad_hidden.mul_(grad_output), grad_weights.mul_(grad_output), None, None, None, None, None


def binary_cross_entropy(
    hidden: torch.Tensor,
    weights: torch.Tensor,
    targets: torch.Tensor,
    negatives: torch.Tensor,
    beta: float = 1.0,
    dense: bool | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> torch.Tensor:
    """mean_n [β softplus(-h_n·w_{t_n}) + Σ_k softplus(h_n·w_{neg_nk})]: hidden [N, D], weights
    [I + 1, D], targets [N] and negatives [N, k] index rows of ``weights``. ``dense`` picks the
    path (None: by cost, ``use_dense``); both give the same value and gradients."""
    if hidden.shape[0] == 0:
        return hidden.sum() * 0.0
    k = max(negatives.shape[1], 1)
    dense = use_dense(k, weights.shape[0]) if dense is None else dense
    per_row = weights.shape[0] if dense else k * weights.shape[1]
    rows = max(1, chunk_bytes // (hidden.element_size() * per_row))
    return _BinaryCrossEntropy.apply(hidden, weights, targets, negatives, beta, dense, rows)
