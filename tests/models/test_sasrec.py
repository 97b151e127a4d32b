"""SASRec's variants against an independent reference: the SASRec.pytorch forward pass, written
with torch.nn.MultiheadAttention on right-padded input, as in the code behind the paper."""

from __future__ import annotations

import math
from typing import cast

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seqrec.models.blocks import Block
from seqrec.models.sasrec import SASRec


def reference_forward(model: SASRec, items: torch.Tensor) -> torch.Tensor:
    """items [B, L] right-padded -> [B, L, D]: SASRec.pytorch's layout, positions 0.. from the
    window's first item, no key padding mask (causality already hides the trailing padding)."""
    batch, length = items.shape
    hidden = model.item_embedding.embedding_dim
    keep = (items != 0)[..., None]  # [B, L, 1]
    x = model.item_embedding(items) * math.sqrt(hidden) + model.position_embedding(torch.arange(length))
    x = x * keep
    future = ~torch.ones(length, length, dtype=torch.bool).tril()  # True = may not attend
    for module in model.blocks:
        block = cast(Block, module)
        attention = nn.MultiheadAttention(hidden, block.attention.heads, batch_first=True)
        attention.in_proj_weight.data.copy_(block.attention.qkv.weight)
        attention.in_proj_bias.data.copy_(block.attention.qkv.bias)
        attention.out_proj.weight.data.copy_(block.attention.out.weight)
        attention.out_proj.bias.data.copy_(block.attention.out.bias)
        attention.eval()
        query = F.layer_norm(x, (hidden,), block.norm1.weight, block.norm1.bias, eps=1e-8)
        x = query + attention(query, x, x, attn_mask=future, need_weights=False)[0]
        x = F.layer_norm(x, (hidden,), block.norm2.weight, block.norm2.bias, eps=1e-8)
        x = (x + block.feed_forward(x)) * keep
    return F.layer_norm(x, (hidden,), model.final_norm.weight, model.final_norm.bias, eps=1e-8)


def paper_variant(heads: int = 2) -> SASRec:
    torch.manual_seed(3)
    model = SASRec(
        12,
        hidden=8,
        blocks=2,
        heads=heads,
        dropout=0.0,
        max_length=6,
        block="sasrec_pytorch",
        init="normal",
        positions="from_start",
    )
    return model.eval()


@pytest.mark.parametrize("heads", [1, 2])
def test_sasrec_pytorch_layout_matches_the_reference(heads: int) -> None:
    model = paper_variant(heads)
    right = torch.tensor([[3, 4, 5, 0, 0], [7, 1, 2, 9, 11]])
    left = torch.tensor([[0, 0, 3, 4, 5], [7, 1, 2, 9, 11]])
    with torch.no_grad():
        expected = reference_forward(model, right)  # [2, 5, 8]
        got = model.encode(left)
    torch.testing.assert_close(got[0, 2:], expected[0, :3])
    torch.testing.assert_close(got[1], expected[1])
    # and the inference shortcut gives the same last state
    with torch.no_grad():
        torch.testing.assert_close(model.encode(left, last_only=True)[:, 0], got[:, -1])


def test_positions_from_start_ignore_leading_padding() -> None:
    model = paper_variant()
    with torch.no_grad():
        short = model.score_next(torch.tensor([[5, 6, 7]]))
        padded = model.score_next(torch.tensor([[0, 0, 5, 6, 7]]))
    torch.testing.assert_close(short, padded)


def test_normal_init_draws_weights_with_std_002_and_xavier_does_not() -> None:
    torch.manual_seed(0)
    normal = SASRec(3000, hidden=64, init="normal")
    xavier = SASRec(3000, hidden=64, init="xavier")
    assert normal.position_embedding.weight.std().item() == pytest.approx(0.02, rel=0.1)
    assert cast(Block, normal.blocks[0]).attention.qkv.weight.std().item() == pytest.approx(0.02, rel=0.1)
    # Xavier on a [192, 64] matrix: sqrt(2 / 256) = 0.088
    assert cast(Block, xavier.blocks[0]).attention.qkv.weight.std().item() == pytest.approx(0.088, rel=0.1)
    assert normal.item_embedding.weight[0].abs().sum().item() == 0.0


def test_unknown_variant_is_rejected() -> None:
    with pytest.raises(ValueError, match="layout"):
        SASRec(10, block="post_lm")
    with pytest.raises(ValueError, match="positions"):
        SASRec(10, positions="middle")


def test_normal_torch_mha_init_on_a_catalog_of_beautys_size() -> None:
    # Beauty: 54,542 items, hidden 64. N(0, 0.02) for embeddings, feed-forward and attention output;
    # the packed q/k/v projection [192, 64] Xavier-uniform: bound sqrt(6 / (64 + 192)) = 0.1531,
    # std bound / sqrt(3) = sqrt(2 / 256) = 0.0884; biases 0, padding row 0, layer norms 1 and 0.
    torch.manual_seed(0)
    model = SASRec(54542, hidden=64, blocks=2, max_length=50, init="normal_torch_mha")
    block = cast(Block, model.blocks[0])
    assert model.item_embedding.weight[1:].std().item() == pytest.approx(0.02, rel=0.01)
    assert model.item_embedding.weight[0].abs().sum().item() == 0.0
    assert model.position_embedding.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert block.attention.qkv.weight.std().item() == pytest.approx(0.0884, rel=0.03)
    assert block.attention.qkv.weight.abs().max().item() <= 0.1531
    assert block.attention.out.weight.std().item() == pytest.approx(0.02, rel=0.05)
    for linear in (block.feed_forward[0], block.feed_forward[3]):
        assert cast(nn.Linear, linear).weight.std().item() == pytest.approx(0.02, rel=0.05)
    biases = [p for name, p in model.named_parameters() if name.endswith("bias") and "norm" not in name]
    assert biases and all(b.abs().sum().item() == 0.0 for b in biases)
    # Xavier-normal (the default before 0.2) gives the item table std sqrt(2 / (54543 + 64)) = 0.00605,
    # 3.3x smaller
    xavier = SASRec(54542, hidden=64, blocks=2, max_length=50, init="xavier")
    assert xavier.item_embedding.weight[1:].std().item() == pytest.approx(0.00605, rel=0.02)


def test_torch_default_init_keeps_pytorchs_own_per_module() -> None:
    # gSASRec-pytorch's initialisation: nn.Embedding N(0, 1) (item table [3001, 64]: std 1, padding
    # row 0 zero), nn.Linear Kaiming-uniform with a = sqrt(5): bound 1 / sqrt(fan_in), here the
    # feed-forward's first Linear [64, 64]: 1 / 8 = 0.125, std 0.125 / sqrt(3) = 0.0722, and its
    # bias uniform within the same bound (not zero); layer norms 1 and 0.
    torch.manual_seed(0)
    model = SASRec(3000, hidden=64, blocks=2, max_length=50, init="torch_default", tie_embeddings=False)
    block = cast(Block, model.blocks[0])
    assert model.item_embedding.weight[1:].std().item() == pytest.approx(1.0, rel=0.02)
    assert model.output_embedding is not None
    assert model.output_embedding.weight[1:].std().item() == pytest.approx(1.0, rel=0.02)
    assert model.item_embedding.weight[0].abs().sum().item() == 0.0
    assert model.output_embedding.weight[0].abs().sum().item() == 0.0
    assert model.position_embedding.weight.std().item() == pytest.approx(1.0, rel=0.05)
    first = cast(nn.Linear, block.feed_forward[0])
    assert first.weight.std().item() == pytest.approx(0.0722, rel=0.05)
    assert first.weight.abs().max().item() <= 0.125
    assert 0.0 < first.bias.abs().max().item() <= 0.125
    assert model.final_norm.weight.eq(1.0).all() and model.final_norm.bias.eq(0.0).all()


def test_default_init_is_the_papers_code_and_xavier_stays_reachable() -> None:
    from seqrec.config import ModelConfig

    assert ModelConfig().init == "normal_torch_mha" and SASRec(10).init == "normal_torch_mha"
    assert ModelConfig().mask_last_if_none is False
    torch.manual_seed(0)
    # item table [3001, 64]: N(0, 0.02) by default, Xavier-normal sqrt(2 / (3001 + 64)) = 0.0255 by name
    assert SASRec(3000).item_embedding.weight[1:].std().item() == pytest.approx(0.02, rel=0.03)
    assert SASRec(3000, init="xavier").item_embedding.weight[1:].std().item() == pytest.approx(0.0255, rel=0.03)
