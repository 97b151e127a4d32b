"""The LiGR block (``model.block = "ligr"``): gated residuals and a SwiGLU feed-forward, checked by
hand on a tiny tensor; shapes, causal masking, the gates' starting value and gradient flow."""

from __future__ import annotations

import math
from typing import cast

import pytest
import torch

from seqrec.config import ModelConfig
from seqrec.models import build_model
from seqrec.models.blocks import BLOCKS, LiGRBlock, SwiGLU, attention_mask
from seqrec.models.sasrec import SASRec


def ligr_sasrec(init: str = "normal_torch_mha", dropout: float = 0.0) -> SASRec:
    torch.manual_seed(0)
    model = SASRec(
        20, hidden=8, blocks=2, heads=2, dropout=dropout, max_length=6, block="ligr", ff_hidden=16, init=init
    )
    return model.eval()


def randomise_gates(model: SASRec) -> None:
    """Gates away from their zero start, so that the tests below see them read the residual stream."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for block in model.blocks:
            for gate in (cast(LiGRBlock, block).gate1, cast(LiGRBlock, block).gate2):
                gate.weight.copy_(torch.randn(gate.weight.shape, generator=generator))
                gate.bias.copy_(torch.randn(gate.bias.shape, generator=generator))


def test_ligr_is_a_registered_layout_and_a_config_value() -> None:
    assert BLOCKS["ligr"] is LiGRBlock
    model = build_model(ModelConfig(block="ligr", hidden=8, max_length=5, ff_hidden=12), n_items=9)
    block = cast(LiGRBlock, cast(SASRec, model).blocks[0])
    assert isinstance(block, LiGRBlock) and isinstance(block.feed_forward[0], SwiGLU)
    assert block.swiglu.inner.weight.shape == (24, 8)  # W_gate and W_value, 12 rows each
    assert block.swiglu.outer.weight.shape == (8, 12)


def test_gate_and_swiglu_arithmetic_by_hand() -> None:
    # D = 2, one head, F = 1, one position per sequence (attention weight 1 on the only key), two sequences.
    # Set by hand: q, k = 0, v = identity, attention output = identity (biases 0); layer norms weight 1, bias 0;
    # gate1: σ(x0 - 1, ln 3); gate2: σ(0, x1 - 3.75 + ln 3); SwiGLU: gate = LN(x)_1, value = 2 LN(x)_1,
    # W_out = [1, -1]^T.
    block = LiGRBlock(2, 1, 1, 0.0, "relu").eval()
    with torch.no_grad():
        block.attention.qkv.weight.copy_(torch.tensor([[0.0, 0], [0, 0], [0, 0], [0, 0], [1, 0], [0, 1]]))
        block.attention.qkv.bias.zero_()
        block.attention.out.weight.copy_(torch.eye(2))
        block.attention.out.bias.zero_()
        block.gate1.weight.copy_(torch.tensor([[1.0, 0], [0, 0]]))
        block.gate1.bias.copy_(torch.tensor([-1.0, math.log(3)]))
        block.gate2.weight.copy_(torch.tensor([[0.0, 0], [0, 1]]))
        block.gate2.bias.copy_(torch.tensor([0.0, -3.75 + math.log(3)]))
        block.swiglu.inner.weight.copy_(torch.tensor([[0.0, 1], [0, 2]]))  # rows: W_gate, W_value
        block.swiglu.outer.weight.copy_(torch.tensor([[1.0], [-1]]))
    x = torch.tensor([[[1.0, 3.0]], [[5.0, 1.0]]])  # [B=2, L=1, D=2]
    # sequence 0: LN([1, 3]) = [-1, 1] (mean 2, variance 1) = Attn; gate1 = σ([0, ln 3]) = [1/2, 3/4];
    #   x1 = [1 - 1/2, 3 + 3/4] = [0.5, 3.75]; LN(x1) = [-1, 1]; SwiGLU: silu(1) * 2 = 2 σ(1) = 1.4621172,
    #   FFN = [1.4621172, -1.4621172]; gate2 = σ([0, 3.75 - 3.75 + ln 3]) = [1/2, 3/4];
    #   out = [0.5 + 0.7310586, 3.75 - 1.0965879] = [1.2310586, 2.6534121]
    # sequence 1: LN([5, 1]) = [1, -1] = Attn; gate1 = σ([4, ln 3]) = [0.9820138, 3/4];
    #   x1 = [5.9820138, 0.25]; LN(x1) = [1, -1]; SwiGLU: silu(-1) * (-2) = 2 σ(-1) = 0.5378828,
    #   FFN = [0.5378828, -0.5378828]; gate2 = σ([0, 0.25 - 3.75 + ln 3]) = σ([0, -2.4013877]) = [1/2, 0.0830669];
    #   out = [5.9820138 + 0.2689414, 0.25 - 0.0446803] = [6.2509552, 0.2053197]
    expected = torch.tensor([[[1.2310586, 2.6534121]], [[6.2509552, 0.2053197]]])
    mask = attention_mask(torch.ones(2, 1, dtype=torch.bool), causal=True)  # [2, 1, 1, 1]
    with torch.no_grad():
        torch.testing.assert_close(block(x, mask), expected, atol=5e-5, rtol=0)  # LN's eps: ~1e-5 off
        torch.testing.assert_close(block(x, mask, last_only=True), expected, atol=5e-5, rtol=0)


def test_output_shapes_and_the_last_position_shortcut() -> None:
    model = ligr_sasrec()
    randomise_gates(model)
    items = torch.tensor([[0, 0, 3, 4, 5], [1, 2, 3, 4, 5], [0, 7, 8, 9, 10]])  # [3, 5]
    with torch.no_grad():
        full = model.encode(items)
        assert full.shape == (3, 5, 8)
        assert model.score_next(items).shape == (3, 21)
        torch.testing.assert_close(model.encode(items, last_only=True), full[:, -1:])


def test_causal_an_output_does_not_change_when_later_items_change() -> None:
    model = ligr_sasrec()
    randomise_gates(model)
    before = torch.tensor([[0, 3, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6]])
    after = before.clone()
    after[:, 3:] = torch.tensor([[11, 12, 13], [17, 18, 19]])  # positions 3.. replaced in both sequences
    with torch.no_grad():
        old, new = model.encode(before), model.encode(after)
    torch.testing.assert_close(new[:, :3], old[:, :3])  # positions 0..2 see only themselves and earlier
    assert (new[:, 3:] - old[:, 3:]).abs().amax(dim=-1).min() > 1e-3  # and the changed ones did change


def test_gates_start_at_one_half() -> None:
    # G = 0 and b = 0 after the model's own initialisation (which draws every other matrix), whatever the init
    for init in ("normal_torch_mha", "normal", "xavier"):
        model = ligr_sasrec(init=init)
        x = torch.randn(3, 5, 8)  # [B, L, D]
        for module in model.blocks:
            block = cast(LiGRBlock, module)
            for gate in (block.gate1, block.gate2):
                assert gate.weight.abs().sum() == 0 and gate.bias.abs().sum() == 0
                assert torch.equal(torch.sigmoid(gate(x)), torch.full((3, 5, 8), 0.5))
        assert cast(LiGRBlock, model.blocks[0]).attention.qkv.weight.abs().sum() > 0  # the rest is drawn


def test_gates_start_halving_each_branch_of_the_pre_norm_block() -> None:
    # with every gate 1/2 the block is x + Attn(LN x) / 2, then x + FFN(LN x) / 2 (FFN: SwiGLU)
    torch.manual_seed(2)
    block = LiGRBlock(8, 2, 16, 0.0, "relu").eval()
    x = torch.randn(2, 4, 8)
    mask = attention_mask(torch.ones(2, 4, dtype=torch.bool), causal=True)
    with torch.no_grad():
        h = x + block.attention(block.norm1(x), mask) / 2
        expected = h + block.feed_forward(block.norm2(h)) / 2
        torch.testing.assert_close(block(x, mask), expected)


def test_gradient_reaches_every_parameter() -> None:
    model = ligr_sasrec().train()
    items = torch.tensor([[0, 3, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6]])
    hidden = model.encode(items)  # [2, 6, 8]
    scores = hidden @ model.output_embeddings().T  # [2, 6, 21]
    loss = torch.nn.functional.cross_entropy(scores.reshape(-1, 21), torch.arange(1, 13))
    loss.backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        if name != "position_embedding.weight":  # rows of unused positions stay 0; the used ones are checked below
            assert parameter.grad.abs().sum() > 0, name
    assert model.position_embedding.weight.grad is not None
    assert model.position_embedding.weight.grad[-6:].abs().sum(dim=1).min() > 0  # positions 0..5 from the end
    block = cast(LiGRBlock, model.blocks[0])
    assert block.gate1.weight.grad is not None and block.gate1.weight.grad.abs().sum() > 0  # zero gates still learn


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_training_mode_runs_with_and_without_dropout(dropout: float) -> None:
    model = ligr_sasrec(dropout=dropout).train()
    out = model.encode(torch.tensor([[0, 3, 4, 5], [1, 2, 3, 4]]))
    assert out.shape == (2, 4, 8) and torch.isfinite(out).all()
