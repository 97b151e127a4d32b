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
SAMPLED_CHUNK_BYTES = 4 * 2**20  # negative embeddings and logits of one chunk of sequences (sampled softmax)


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
    """Softmax over each position's target and its sequence's shared negatives, a few sequences at a time.

    Each chunk gathers its own rows of the output matrix (``index_select``) and adds their gradient
    straight into one dense [I + 1, D] gradient (``index_add_``): the [B, n, D] negative embeddings
    and their gradient are never held for the whole batch, and the temporaries of one chunk are
    small enough to be reused from chunk to chunk. Chunks take the sequences in the order of their
    first target position and skip the columns before it, so that positions without a target
    (padding) cost next to nothing.
    """

    @staticmethod
    def forward(
        ctx: Any,
        hidden: torch.Tensor,
        weights: torch.Tensor,
        targets: torch.Tensor,
        negatives: torch.Tensor,
        rows: int,
        check_targets: bool,
        negative_bias: torch.Tensor | None,
    ) -> torch.Tensor:
        valid = targets > 0  # [B, L]
        n = max(int(valid.sum()), 1)
        batch, length, width = *targets.shape, weights.shape[1]
        # each sequence's first target column (length: none); in this order, each chunk holds
        # sequences of similar length and drops the leading columns where none of them has a target
        first = torch.where(valid.any(1), valid.to(torch.uint8).argmax(1), length)  # [B]
        order = torch.argsort(first, stable=True)  # [B]
        grad_hidden = torch.zeros_like(hidden)  # [B, L, D]: zero where there is no target
        grad_weights = torch.zeros_like(weights)  # [I + 1, D]
        total = torch.zeros((), dtype=torch.float64, device=hidden.device)
        for begin in range(0, batch, rows):
            part = order[begin : begin + rows]  # [b]
            start = int(first[part].min())
            if start == length:
                break  # these sequences and the rest have no target
            h, t, ids = hidden[part, start:], targets[part, start:], negatives[part]  # [b, l, D], [b, l], [b, n]
            w_pos = weights.index_select(0, t.reshape(-1)).view(*t.shape, width)  # [b, l, D]
            w_neg = weights.index_select(0, ids.reshape(-1)).view(*ids.shape, width)  # [b, n, D]
            pos = (h * w_pos).sum(-1)  # [b, l]
            logits = torch.bmm(h, w_neg.transpose(1, 2))  # [b, l, n]
            if negative_bias is not None:
                logits.add_(negative_bias[part][:, None, :])  # [b, 1, n]: the same shift at every position
            empty = ids == 0  # [b, n]
            if empty.any():
                logits.masked_fill_(empty[:, None, :], float("-inf"))
            if check_targets:
                same = t[:, :, None] == ids[:, None, :]  # [b, l, n]
                if same.any():  # a negative that is the position's own target is no negative
                    logits.masked_fill_(same, float("-inf"))
            top = torch.maximum(logits.amax(-1), pos)  # [b, l]
            probs = logits.sub_(top[..., None]).exp_()  # unnormalised, in place
            pos_exp = (pos - top).exp()  # [b, l]
            norm = probs.sum(-1) + pos_exp  # [b, l]
            where = t > 0  # [b, l]
            total += (top + norm.log() - pos)[where].sum(dtype=torch.float64)
            scale = where / (norm * n)  # [b, l]: d(mean loss)/d(exp-logit), zero at padding
            probs.mul_(scale[..., None])  # d(mean loss)/d(negative logits)
            d_pos = (pos_exp * scale - where / n)[..., None]  # [b, l, 1]
            grad_hidden[part, start:] = torch.baddbmm(d_pos * w_pos, probs, w_neg)  # [b, l, D]
            grad_weights.index_add_(0, ids.reshape(-1), torch.bmm(probs.transpose(1, 2), h).view(-1, width))
            grad_weights.index_add_(0, t.reshape(-1), (d_pos * h).view(-1, width))
        ctx.grads = (grad_hidden, grad_weights)
        return (total / n).to(hidden.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        if ctx.grads is None:
            raise RuntimeError("sampled cross-entropy: backward through the same loss a second time")
        grad_hidden, grad_weights = ctx.grads
        ctx.grads = None  # scaled in place below: the gradients are handed on once, without a copy
        return grad_hidden.mul_(grad_output), grad_weights.mul_(grad_output), None, None, None, None, None


def sampled_cross_entropy(
    hidden: torch.Tensor,
    weights: torch.Tensor,
    targets: torch.Tensor,
    negatives: torch.Tensor,
    check_targets: bool = True,
    negative_bias: torch.Tensor | None = None,
    chunk_bytes: int = SAMPLED_CHUNK_BYTES,
) -> torch.Tensor:
    """Mean over target positions of -log softmax([h.w_target, h.w_neg_1, ..., h.w_neg_n])[0].

    hidden [B, L, D], weights [I + 1, D] (row 0 padding), targets [B, L] (0 = no target) and
    negatives [B, n] (each sequence's shared negatives, 0 = empty slot). With ``check_targets``,
    a negative equal to a position's target is left out of that position's softmax (so the
    target never counts twice). ``negative_bias`` [B, n] (finite) is added to every position's
    negative logits (logQ correction). The [B, L, n] logits and the [B, n, D] negative
    embeddings exist one chunk of sequences at a time (about ``chunk_bytes``), and their
    gradients are formed in the same pass (as ``linear_cross_entropy`` does for the full catalog).
    """
    per_sequence = hidden.element_size() * max(negatives.shape[1], 1) * (hidden.shape[1] + weights.shape[1])
    rows = max(1, chunk_bytes // per_sequence)
    return _SampledCrossEntropy.apply(hidden, weights, targets, negatives, rows, check_targets, negative_bias)
