"""BERT4Rec: a bidirectional encoder trained to fill in masked items (the cloze task)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from torch import nn

from seqrec.config import ConfigError, ModelConfig
from seqrec.data.batches import ClozeBatches, SequenceBatches
from seqrec.models.base import SequenceModel
from seqrec.models.blocks import POSITIONS, Dropout, PostNormBlock, position_ids, run_blocks


class BERT4Rec(SequenceModel):
    """Sun et al. (2019), with the defaults of "Turning Dross Into Gold Loss".

    Item ids: 0 padding, 1..n_items items, ``n_items + 1`` the mask token. At inference a mask
    token is appended after the history and its output scores the next item.

    ``mlm_head`` puts BERT's masked-LM transform (dense + GELU + layer norm) between the encoder
    and the tied output matrix; the paper's code (``BertModel`` plus a tied linear layer) has
    none. ``positions`` counts position ids from the window's last item (``from_end``) or, as
    right-padded input to ``BertModel`` does, from its first (``from_start``). ``mask_prob`` and
    ``mask_last_if_none`` shape the training batches (see ``ClozeBatches``); they are settings,
    not parameters.
    """

    name = "bert4rec"
    objective = "cloze"
    OPTIONS: ClassVar[dict[str, tuple[object, ...]]] = {
        "positions": POSITIONS,
        "mlm_head": (True, False),
        "mask_last_if_none": (True, False),
    }
    OWN_FIELDS: ClassVar[tuple[str, ...]] = ("mask_prob",)
    VARIANTS: ClassVar[dict[str, dict[str, object]]] = {
        # the code behind the paper: BertModel plus a tied linear layer, right-padded input
        "paper-code": {"mlm_head": False, "positions": "from_start", "mask_last_if_none": False},
    }

    def __init__(
        self,
        n_items: int,
        hidden: int = 64,
        blocks: int = 2,
        heads: int = 2,
        dropout: float = 0.1,
        max_length: int = 200,
        ff_hidden: int = 256,
        mlm_head: bool = True,
        positions: str = "from_end",
        mask_prob: float = 0.2,
        mask_last_if_none: bool = False,
    ) -> None:
        super().__init__(n_items, max_length)
        self.check_options(positions=positions)
        self.positions = positions
        self.mask_prob, self.mask_last_if_none = mask_prob, mask_last_if_none
        self.mask_token = n_items + 1
        self.item_embedding = nn.Embedding(n_items + 2, hidden, padding_idx=0)
        self.position_embedding = nn.Embedding(max_length, hidden)
        self.embedding_norm = nn.LayerNorm(hidden)
        self.embedding_dropout = Dropout(dropout)
        self.blocks = nn.ModuleList(
            PostNormBlock(hidden, heads, ff_hidden or 4 * hidden, dropout, "gelu") for _ in range(blocks)
        )
        # BERT's masked-LM head: dense + GELU + layer norm before the tied output matrix
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.LayerNorm(hidden)) if mlm_head else None
        self.reset_parameters()

    @classmethod
    def check_config(cls, config: ModelConfig) -> None:
        """The shared checks, then ``mask_prob`` in (0, 1)."""
        super().check_config(config)
        if not 0.0 < config.mask_prob < 1.0:
            raise ConfigError(f"model.mask_prob must be in (0, 1), got {config.mask_prob}")

    def reset_parameters(self) -> None:
        """Truncated-normal(0.02) weights as in BERT; zero biases; padding row zero."""
        for name, parameter in self.named_parameters():
            if parameter.dim() > 1:
                nn.init.trunc_normal_(parameter, std=0.02, a=-0.04, b=0.04)
            elif name.endswith("bias"):
                nn.init.zeros_(parameter)
        with torch.no_grad():
            self.item_embedding.weight[0].zero_()

    def encode(self, items: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """items [B, L] (left-padded, may hold mask tokens) -> hidden states [B, L, D]."""
        valid = items != 0  # [B, L]
        positions = position_ids(valid, self.max_length, self.positions)  # [L] or [B, L]
        x = self.item_embedding(items) + self.position_embedding(positions)  # [B, L, D]
        x = self.embedding_dropout(self.embedding_norm(x)) * valid[..., None]
        hidden = run_blocks(self.blocks, x, valid, causal=False, last_only=last_only)  # [B, L or 1, D]
        return hidden if self.head is None else self.head(hidden)

    def output_embeddings(self) -> torch.Tensor:
        """Tied output matrix [I + 1, D] (padding row 0, items 1..n; the mask token is no candidate)."""
        return self.item_embedding.weight[: self.n_items + 1]

    def score_next(self, history: torch.Tensor) -> torch.Tensor:
        """history [B, L] (left-padded) -> scores of every item as the next one [B, I + 1]."""
        mask = torch.full_like(history[:, :1], self.mask_token)
        items = torch.cat([history, mask], dim=1)[:, -self.max_length :]  # [B, <= max_length]
        hidden = self.encode(items, last_only=True)[:, -1]  # [B, D]
        return hidden @ self.output_embeddings().T

    def training_batches(
        self, items: np.ndarray, starts: np.ndarray, ends: np.ndarray, batch_size: int
    ) -> SequenceBatches:
        """Cloze batches: each user's last ``max_length`` items with fresh masks every epoch."""
        return ClozeBatches(
            items,
            starts,
            ends,
            self.max_length,
            batch_size,
            mask_token=self.mask_token,
            mask_prob=self.mask_prob,
            mask_last_if_none=self.mask_last_if_none,
        )
