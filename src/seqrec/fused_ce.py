"""Full-catalog softmax cross-entropy without materialising all N x I logits.

Rows are processed in chunks. Each chunk's logits are turned into softmax probabilities in
place, and the gradients with respect to the hidden states and the item matrix are
accumulated in the same pass, so peak memory is one chunk of logits instead of N x I and no
separate backward pass over the logits is needed. Same value and gradients as
``F.cross_entropy(hidden @ weights.T, targets)`` up to float rounding.
"""

from __future__ import annotations

from typing import Any

import torch

DEFAULT_CHUNK_BYTES = 16 * 2**20  # logits held at once
MIN_CHUNK_ROWS = 64  # below this, re-reading the item matrix for every chunk dominates (huge catalogs)


def chunk_rows(n_items: int, chunk_bytes: int = DEFAULT_CHUNK_BYTES, min_rows: int = MIN_CHUNK_ROWS) -> int:
    """Rows per chunk: one chunk of float32 logits fits in ``chunk_bytes``, but never fewer than ``min_rows``."""
    return max(min_rows, chunk_bytes // (4 * max(n_items, 1)))


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, hidden: torch.Tensor, weights: torch.Tensor, targets: torch.Tensor, rows: int
    ) -> torch.Tensor:
        n = hidden.shape[0]
        needs_grad = hidden.requires_grad or weights.requires_grad
        grad_hidden = torch.empty_like(hidden) if needs_grad else None
        grad_weights = torch.zeros_like(weights) if needs_grad else None
        total = torch.zeros((), dtype=torch.float64, device=hidden.device)
        for begin in range(0, n, rows):
            h = hidden[begin : begin + rows]  # [n_c, D]
            t = targets[begin : begin + rows]  # [n_c]
            logits = h @ weights.T  # [n_c, I]
            target_logit = logits.gather(1, t[:, None])[:, 0]  # [n_c]
            top = logits.max(1, keepdim=True).values  # [n_c, 1]
            probs = logits.sub_(top).exp_()  # unnormalised, in place
            norm = probs.sum(1, keepdim=True)  # [n_c, 1]
            total += (top[:, 0] + norm[:, 0].log() - target_logit).sum(dtype=torch.float64)
            if grad_hidden is not None and grad_weights is not None:
                probs.div_(norm * n)  # softmax / N
                probs[torch.arange(len(t), device=t.device), t] -= 1.0 / n  # d(mean loss)/d logits
                grad_hidden[begin : begin + rows] = probs @ weights  # [n_c, D]
                grad_weights.addmm_(probs.T, h)  # [I, D]
        ctx.save_for_backward(grad_hidden, grad_weights)
        return (total / max(n, 1)).to(hidden.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        grad_hidden, grad_weights = ctx.saved_tensors
        return grad_hidden * grad_output, grad_weights * grad_output, None, None


def linear_cross_entropy(
    hidden: torch.Tensor, weights: torch.Tensor, targets: torch.Tensor, rows: int | None = None
) -> torch.Tensor:
    """Mean of -log softmax(hidden @ weights.T)[target]: hidden [N, D], weights [I, D], targets [N] in 0..I-1."""
    if hidden.shape[0] == 0:
        return hidden.sum() * 0.0
    rows = rows or chunk_rows(weights.shape[0])
    return _LinearCrossEntropy.apply(hidden, weights, targets, rows)  # type: ignore[no-any-return]
