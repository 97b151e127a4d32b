"""SASRec: causal self-attention over a user's items, next item scored with the item embeddings
(tied to the input table, or a separate output table)."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from seqrec.data.batches import CausalBatches, SequenceBatches
from seqrec.models.base import SequenceModel
from seqrec.models.blocks import BLOCKS, POSITIONS, Dropout, LiGRBlock, block_class, position_ids, run_blocks


class SASRec(SequenceModel):
    """Kang & McAuley (2018), with the defaults of "Turning Dross Into Gold Loss" on ML-1M.

    ``block`` picks the block layout (see ``seqrec.models.blocks.BLOCKS``), ``init`` the weight
    initialisation (Xavier-normal as SASRec.pytorch, N(0, 0.02), N(0, 0.02) but for the
    attention input projection, or PyTorch's own per module as gSASRec-pytorch), ``positions``
    where position ids are counted from.
    ``tie_embeddings = False`` scores items with a separate output table ``output_embedding``
    ([I + 1, D], padding row 0 zero, initialised like the input table) instead of the input
    ``item_embedding`` (gSASRec's default); the input table then only embeds the history.
    """

    name = "sasrec"
    objective = "causal"
    OPTIONS: ClassVar[dict[str, tuple[object, ...]]] = {
        "block": tuple(BLOCKS),
        "init": ("xavier", "normal", "normal_torch_mha", "torch_default"),
        "positions": POSITIONS,
        "tie_embeddings": (True, False),
    }
    VARIANTS: ClassVar[dict[str, dict[str, object]]] = {
        # the SASRec.pytorch code (configs/ablation-ml-1m-sasrec-ce-paper-code.toml)
        "paper-code": {"block": "sasrec_pytorch", "init": "normal_torch_mha", "positions": "from_start"},
    }

    def __init__(
        self,
        n_items: int,
        hidden: int = 64,
        blocks: int = 2,
        heads: int = 1,
        dropout: float = 0.1,
        max_length: int = 200,
        ff_hidden: int = 0,
        block: str = "pre_norm",
        init: str = "normal_torch_mha",
        positions: str = "from_end",
        tie_embeddings: bool = True,
    ) -> None:
        super().__init__(n_items, max_length)
        layout = block_class(block)
        self.check_options(init=init, positions=positions, tie_embeddings=tie_embeddings)
        self.init, self.positions = init, positions
        self.item_embedding = nn.Embedding(n_items + 1, hidden, padding_idx=0)
        # untied: the output table; absent when tied, so a tied model's weights are those of seqrec 0.1
        self.output_embedding = None if tie_embeddings else nn.Embedding(n_items + 1, hidden, padding_idx=0)
        self.position_embedding = nn.Embedding(max_length, hidden)
        self.embedding_dropout = Dropout(dropout)
        self.blocks = nn.ModuleList(layout(hidden, heads, ff_hidden or hidden, dropout, "relu") for _ in range(blocks))
        self.final_norm = nn.LayerNorm(hidden, eps=layout.eps)
        self.scale = math.sqrt(hidden)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Weight matrices Xavier-normal (``xavier``, SASRec.pytorch) or N(0, 0.02) (``normal``, BERT,
        GPT-2); ``normal_torch_mha`` is N(0, 0.02) except the attention's packed query/key/value
        projection, which keeps ``nn.MultiheadAttention``'s own Xavier-uniform (the code behind
        "Turning Dross Into Gold Loss" initialises every Linear, Conv1d and Embedding with N(0, 0.02)
        but never that matrix). Biases zero; padding rows zero; LiGR gates 1/2 (``LiGRBlock.reset_gates``).
        On a catalog of 54,542 items the item table's std is about 0.006 with ``xavier`` against 0.02
        with the normal inits. ``torch_default`` keeps each module's own PyTorch initialisation
        (``nn.Embedding`` N(0, 1), ``nn.Linear`` Kaiming-uniform with its uniform bias), as
        gSASRec-pytorch does: an item table some 50 times wider than the normal inits'."""
        for name, parameter in self.named_parameters():
            if self.init == "torch_default":
                continue
            if parameter.dim() > 1:
                if self.init == "xavier":
                    nn.init.xavier_normal_(parameter)
                elif self.init == "normal_torch_mha" and name.endswith("attention.qkv.weight"):
                    nn.init.xavier_uniform_(parameter)
                else:
                    nn.init.normal_(parameter, std=0.02)
            elif name.endswith("bias"):
                nn.init.zeros_(parameter)
        if self.init == "torch_default":
            for module in self.modules():
                if isinstance(module, (nn.Embedding, nn.Linear, nn.LayerNorm)):
                    module.reset_parameters()  # PyTorch's own
        with torch.no_grad():
            self.item_embedding.weight[0].zero_()
            if self.output_embedding is not None:
                self.output_embedding.weight[0].zero_()
        for block in self.blocks:
            if isinstance(block, LiGRBlock):
                block.reset_gates()

    def encode(self, items: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """items [B, L] (left-padded, L <= max_length) -> hidden states [B, L, D] ([B, 1, D] with ``last_only``)."""
        valid = items != 0  # [B, L]
        positions = position_ids(valid, self.max_length, self.positions)  # [L] or [B, L]
        x = self.item_embedding(items) * self.scale + self.position_embedding(positions)  # [B, L, D]
        x = self.embedding_dropout(x) * valid[..., None]
        return self.final_norm(run_blocks(self.blocks, x, valid, causal=True, last_only=last_only))

    def output_embeddings(self) -> torch.Tensor:
        """Output matrix [I + 1, D] (the input table when tied); row 0 is padding and never a candidate."""
        table = self.item_embedding if self.output_embedding is None else self.output_embedding
        return table.weight

    def score_next(self, history: torch.Tensor) -> torch.Tensor:
        """history [B, L] (left-padded) -> scores of every item as the next one [B, I + 1]."""
        hidden = self.encode(history[:, -self.max_length :], last_only=True)[:, -1]  # [B, D]
        return hidden @ self.output_embeddings().T

    def training_batches(
        self, items: np.ndarray, starts: np.ndarray, ends: np.ndarray, batch_size: int
    ) -> SequenceBatches:
        """Next-item batches: each user's last ``max_length + 1`` items, inputs shifted from targets."""
        return CausalBatches(items, starts, ends, self.max_length, batch_size)
