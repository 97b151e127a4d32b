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
    def forward(
        ctx: Any,
        hidden: torch.Tensor,
        weights: torch.Tensor,
        targets: torch.Tensor,
        rows: int,
        seen: torch.Tensor | None,
        sequence: torch.Tensor | None,
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
            if seen is not None and sequence is not None:
                hidden_items = seen[sequence[begin : begin + rows]]  # [n_c, I]: the row's seen items
                hidden_items[torch.arange(len(t), device=t.device), t] = False  # the target stays
                logits.masked_fill_(hidden_items, float("-inf"))
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
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        grad_hidden, grad_weights = ctx.saved_tensors
        return grad_hidden * grad_output, grad_weights * grad_output, None, None, None, None


def linear_cross_entropy(
    hidden: torch.Tensor,
    weights: torch.Tensor,
    targets: torch.Tensor,
    rows: int | None = None,
    seen: torch.Tensor | None = None,
    sequence: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean of -log softmax(hidden @ weights.T)[target]: hidden [N, D], weights [I, D], targets [N] in 0..I-1.

    With ``seen`` [B, I] (bool, columns as ``weights``' rows) and ``sequence`` [N] (each row's
    sequence in 0..B-1), a row's seen items other than its target get logit -inf: the mask is
    built one chunk of rows at a time, never N x I.
    """
    if hidden.shape[0] == 0:
        return hidden.sum() * 0.0
    rows = rows or chunk_rows(weights.shape[0])
    return _LinearCrossEntropy.apply(hidden, weights, targets, rows, seen, sequence)


class _SampledCrossEntropy(torch.autograd.Function):
    """Softmax over each position's target and its sequence's shared negatives, chunked by sequence."""

    @staticmethod
    def forward(
        ctx: Any,
        hidden: torch.Tensor,
        positive: torch.Tensor,
        negative: torch.Tensor,
        valid: torch.Tensor,
        negative_valid: torch.Tensor,
        rows: int,
        target_ids: torch.Tensor | None,
        negative_ids: torch.Tensor | None,
        negative_bias: torch.Tensor | None,
    ) -> torch.Tensor:
        n = max(int(valid.sum()), 1)
        grad_hidden, grad_positive, grad_negative = (torch.zeros_like(t) for t in (hidden, positive, negative))
        total = torch.zeros((), dtype=torch.float64, device=hidden.device)
        for begin in range(0, hidden.shape[0], rows):
            part = slice(begin, begin + rows)
            h, w_pos, w_neg = hidden[part], positive[part], negative[part]  # [b, L, D], [b, L, D], [b, n, D]
            pos = (h * w_pos).sum(-1)  # [b, L]
            logits = torch.bmm(h, w_neg.transpose(1, 2))  # [b, L, n]
            if negative_bias is not None:
                logits.add_(negative_bias[part][:, None, :])  # [b, 1, n]: the same shift at every position
            empty = ~negative_valid[part]  # [b, n]
            if empty.any():
                logits.masked_fill_(empty[:, None, :], float("-inf"))
            if target_ids is not None and negative_ids is not None:
                same = target_ids[part][:, :, None] == negative_ids[part][:, None, :]  # [b, L, n]
                if same.any():  # a negative that is the position's own target is no negative
                    logits.masked_fill_(same, float("-inf"))
            top = torch.maximum(logits.amax(-1), pos)  # [b, L]
            probs = logits.sub_(top[..., None]).exp_()  # unnormalised, in place
            pos_exp = (pos - top).exp()  # [b, L]
            norm = probs.sum(-1) + pos_exp  # [b, L]
            where = valid[part]
            total += (top + norm.log() - pos)[where].sum(dtype=torch.float64)
            scale = where / (norm * n)  # [b, L]: d(mean loss)/d(exp-logit), zero at padding
            probs.mul_(scale[..., None])  # d(mean loss)/d(negative logits)
            d_pos = pos_exp * scale - where / n  # [b, L]
            grad_hidden[part] = d_pos[..., None] * w_pos + torch.bmm(probs, w_neg)
            grad_positive[part] = d_pos[..., None] * h
            grad_negative[part] = torch.bmm(probs.transpose(1, 2), h)
        ctx.save_for_backward(grad_hidden, grad_positive, grad_negative)
        return (total / n).to(hidden.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        grad_hidden, grad_positive, grad_negative = ctx.saved_tensors
        grads = (grad_hidden * grad_output, grad_positive * grad_output, grad_negative * grad_output)
        return (*grads, None, None, None, None, None, None)


def sampled_cross_entropy(
    hidden: torch.Tensor,
    positive: torch.Tensor,
    negative: torch.Tensor,
    valid: torch.Tensor,
    negative_valid: torch.Tensor,
    chunk_bytes: int = 4 * DEFAULT_CHUNK_BYTES,
    target_ids: torch.Tensor | None = None,
    negative_ids: torch.Tensor | None = None,
    negative_bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean over ``valid`` positions of -log softmax([h.w_pos, h.w_neg_1, ..., h.w_neg_n])[0].

    hidden and positive [B, L, D] (the target's embedding per position), negative [B, n, D]
    (each sequence's shared negatives), valid [B, L] and negative_valid [B, n] booleans.
    With ``target_ids`` [B, L] and ``negative_ids`` [B, n], a negative equal to a position's
    target is left out of that position's softmax (so the target never counts twice).
    ``negative_bias`` [B, n] (finite) is added to every position's negative logits (logQ correction).
    The [B, L, n] logits exist one chunk of sequences at a time, and their gradients are
    formed in the same pass (as ``linear_cross_entropy`` does for the full catalog).
    """
    per_sequence = 4 * hidden.shape[1] * max(negative.shape[1], 1)
    rows = max(1, chunk_bytes // per_sequence)
    return _SampledCrossEntropy.apply(
        hidden, positive, negative, valid, negative_valid, rows, target_ids, negative_ids, negative_bias
    )


class _GatherRows(torch.autograd.Function):
    """``weights[ids]`` whose backward adds the gradient rows with ``index_add_``: on the CPU several
    times faster than the accumulating ``index_put_`` of plain indexing, for the same sums."""

    @staticmethod
    def forward(ctx: Any, weights: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(ids)
        ctx.rows = weights.shape[0]
        return weights[ids]  # [*ids.shape, D]

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        (ids,) = ctx.saved_tensors
        grad = grad_output.new_zeros(ctx.rows, grad_output.shape[-1])  # [I + 1, D]
        grad.index_add_(0, ids.reshape(-1), grad_output.reshape(-1, grad_output.shape[-1]))
        return grad, None


def gather_rows(weights: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """``weights[ids]`` ([*ids.shape, D]) with a fast backward into ``weights``."""
    return _GatherRows.apply(weights, ids)
