"""BERT4Rec's variants against an independent reference: BERT's encoder written with
torch.nn.TransformerEncoderLayer on right-padded input, positions counted from the first item,
as ``BertModel`` runs it in the code behind the paper."""

from __future__ import annotations

from typing import cast

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seqrec.config import Config
from seqrec.models import build_model
from seqrec.models.bert4rec import BERT4Rec
from seqrec.models.blocks import Block


def reference_forward(model: BERT4Rec, items: torch.Tensor) -> torch.Tensor:
    """items [B, L] right-padded -> [B, L, D]: embeddings + positions 0.., layer norm, then
    post-norm GELU encoder layers with the padding keys masked; no output transform."""
    batch, length = items.shape
    hidden = model.item_embedding.embedding_dim
    x = model.item_embedding(items) + model.position_embedding(torch.arange(length))  # [B, L, D]
    x = F.layer_norm(x, (hidden,), model.embedding_norm.weight, model.embedding_norm.bias)
    for module in model.blocks:
        block = cast(Block, module)
        linear1, linear2 = cast(nn.Linear, block.feed_forward[0]), cast(nn.Linear, block.feed_forward[3])
        layer = nn.TransformerEncoderLayer(
            hidden,
            block.attention.heads,
            linear1.out_features,
            dropout=0.0,
            activation="gelu",
            batch_first=True,
            norm_first=False,
        )
        layer.self_attn.in_proj_weight.data.copy_(block.attention.qkv.weight)
        layer.self_attn.in_proj_bias.data.copy_(block.attention.qkv.bias)
        layer.self_attn.out_proj.weight.data.copy_(block.attention.out.weight)
        layer.self_attn.out_proj.bias.data.copy_(block.attention.out.bias)
        layer.linear1.load_state_dict(linear1.state_dict())
        layer.linear2.load_state_dict(linear2.state_dict())
        layer.norm1.load_state_dict(block.norm1.state_dict())
        layer.norm2.load_state_dict(block.norm2.state_dict())
        layer.eval()
        x = layer(x, src_key_padding_mask=items == 0)
    return x


def paper_variant() -> BERT4Rec:
    torch.manual_seed(5)
    model = BERT4Rec(
        12, hidden=8, blocks=2, heads=2, dropout=0.0, max_length=6, ff_hidden=16, mlm_head=False, positions="from_start"
    )
    return model.eval()


def test_paper_variant_matches_the_reference_encoder() -> None:
    model = paper_variant()
    right = torch.tensor([[3, 4, 5, 0, 0], [7, 1, 2, 9, 11]])
    left = torch.tensor([[0, 0, 3, 4, 5], [7, 1, 2, 9, 11]])
    with torch.no_grad():
        expected = reference_forward(model, right)  # [2, 5, 8]
        got = model.encode(left)
        last = model.encode(left, last_only=True)[:, -1]
    torch.testing.assert_close(got[0, 2:], expected[0, :3])
    torch.testing.assert_close(got[1], expected[1])
    torch.testing.assert_close(last, got[:, -1])


def test_scores_use_the_encoder_output_of_the_appended_mask() -> None:
    model = paper_variant()
    with torch.no_grad():
        scores = model.score_next(torch.tensor([[0, 3, 4, 5]]))  # [1, 13]
        hidden = reference_forward(model, torch.tensor([[3, 4, 5, model.mask_token]]))[0, -1]  # [8]
    torch.testing.assert_close(scores[0], model.item_embedding.weight[:13] @ hidden)


def test_positions_from_start_ignore_leading_padding_and_from_end_do_not_shift() -> None:
    model = paper_variant()
    with torch.no_grad():
        short = model.score_next(torch.tensor([[5, 6, 7]]))
        padded = model.score_next(torch.tensor([[0, 0, 5, 6, 7]]))
    torch.testing.assert_close(short, padded)
    # from_end puts the appended mask at max_length - 1, from_start at the history's length
    torch.manual_seed(5)
    from_end = BERT4Rec(12, hidden=8, blocks=2, heads=2, dropout=0.0, max_length=6, ff_hidden=16, mlm_head=False).eval()
    from_end.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert not torch.allclose(from_end.score_next(torch.tensor([[5, 6, 7]])), short)


def test_mlm_head_adds_dense_gelu_norm_on_top_of_the_encoder() -> None:
    torch.manual_seed(5)
    with_head = BERT4Rec(
        12, hidden=8, blocks=2, heads=2, dropout=0.0, max_length=6, ff_hidden=16, positions="from_start"
    ).eval()
    without = paper_variant()
    without.load_state_dict({k: v for k, v in with_head.state_dict().items() if not k.startswith("head.")})
    items = torch.tensor([[0, 3, 4, 5]])
    assert with_head.head is not None
    dense, norm = with_head.head[0], cast(nn.LayerNorm, with_head.head[2])
    with torch.no_grad():
        encoded = without.encode(items)  # [1, 4, 8]
        expected = F.layer_norm(F.gelu(dense(encoded)), (8,), norm.weight, norm.bias)
        torch.testing.assert_close(with_head.encode(items), expected)
    # 8 * 8 + 8 dense, 8 + 8 layer norm
    assert sum(p.numel() for p in with_head.parameters()) - sum(p.numel() for p in without.parameters()) == 88


def test_config_reaches_the_model() -> None:
    config = Config()
    config.model.name, config.model.mlm_head, config.model.positions = "bert4rec", False, "from_start"
    model = build_model(config.model, n_items=10)
    assert isinstance(model, BERT4Rec)
    assert model.head is None and model.positions == "from_start"
    with pytest.raises(ValueError, match="positions"):
        BERT4Rec(10, positions="middle")
