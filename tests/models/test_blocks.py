"""The fast dropout mask and the additive attention mask."""

import torch

from seqrec.models.blocks import attention_mask, dropout, keep_mask


def test_keep_mask_keeps_one_minus_p() -> None:
    torch.manual_seed(0)
    kept = keep_mask(torch.Size([1000, 1000]), 0.1, torch.device("cpu")).float().mean().item()
    # 1e6 draws: standard error 3e-4; p is exact to 2**-16
    assert abs(kept - 0.9) < 0.002


def test_dropout_zeroes_and_rescales() -> None:
    torch.manual_seed(0)
    x = torch.ones(100, 1000)
    y = dropout(x, 0.2, training=True)
    assert set(torch.unique(y).tolist()) == {0.0, 1.25}
    assert abs(y.mean().item() - 1.0) < 0.01  # expectation preserved
    assert dropout(x, 0.2, training=False) is x


def test_attention_mask_causal_with_padding() -> None:
    # one sequence: padding, then items at positions 1 and 2
    mask = attention_mask(torch.tensor([[False, True, True]]), causal=True)[0, 0]
    allowed = (mask == 0).tolist()
    # the padding query sees only itself; real queries see real keys up to themselves
    assert allowed == [[True, False, False], [False, True, False], [False, True, True]]
    assert mask[1, 0] == float("-inf")


def test_last_position_attention_in_training_mode_with_dropout() -> None:
    # the dropout path builds its own [B * H, queries, keys] scores: with last_only there is one query
    from seqrec.models.blocks import MultiHeadSelfAttention, attention_mask

    torch.manual_seed(0)
    attention = MultiHeadSelfAttention(8, 2, dropout=0.5).train()
    x = torch.randn(3, 5, 8)
    mask = attention_mask(torch.ones(3, 5, dtype=torch.bool), causal=True)
    assert attention(x, mask, last_only=True).shape == (3, 1, 8)
    attention.dropout = 0.0  # without dropout the last-position shortcut is the full output's last position
    torch.testing.assert_close(attention(x, mask, last_only=True), attention(x, mask)[:, -1:])
