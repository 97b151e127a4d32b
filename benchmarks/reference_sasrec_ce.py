"""An independent SASRec+ (full softmax cross-entropy) on ML-1M, built from torch built-ins only.

It shares no code with seqrec: its own file reading, leave-one-out split, right-padded
batches, ``nn.MultiheadAttention`` blocks in the SASRec.pytorch layout (the layout of the
code behind "Turning Dross Into Gold Loss"), N(0, 0.02) initialisation, a softmax over every
embedding row (the padding row included, as there) and its own whole-catalog metrics. Its
purpose is a cross-check: if seqrec's SASRec+ and this script land at the same quality, a
gap to the paper's figure is not a seqrec bug.

    python benchmarks/reference_sasrec_ce.py --data ../shared/data/ml-1m.txt.gz \
        --epochs 100 --out results/ablation/ml-1m-sasrec-ce-reference

Writes ``log.jsonl`` (validation and test metrics after every epoch) and ``metrics.json``
(test metrics at the best validation epoch, with early stopping at the given patience).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def read_sequences(path: Path) -> list[list[int]]:
    """'user item' lines in chronological order -> one item list per user (items 1..I)."""
    opener = gzip.open if path.suffix == ".gz" else open
    by_user: dict[int, list[int]] = {}
    with opener(path, "rt") as handle:
        for line in handle:
            user, item = line.split()[:2]
            by_user.setdefault(int(user), []).append(int(item))
    return [by_user[user] for user in sorted(by_user)]


def right_padded(rows: list[list[int]]) -> torch.Tensor:
    """Item lists -> [B, L] LongTensor, padded with 0 on the right."""
    out = torch.zeros(len(rows), max(len(r) for r in rows), dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.tensor(row)
    return out


class Block(nn.Module):
    """q = LN(x); x = q + MHA(q, x, x); x = LN(x); x = x + FFN(x) (the SASRec.pytorch block)."""

    def __init__(self, hidden: int, dropout: float) -> None:
        super().__init__()
        self.attention_norm = nn.LayerNorm(hidden, eps=1e-8)
        self.attention = nn.MultiheadAttention(hidden, 1, dropout=dropout, batch_first=True)
        self.ffn_norm = nn.LayerNorm(hidden, eps=1e-8)
        self.ffn = nn.Sequential(
            nn.Linear(hidden, hidden), nn.Dropout(dropout), nn.ReLU(), nn.Linear(hidden, hidden), nn.Dropout(dropout)
        )

    def forward(self, x: torch.Tensor, causal: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        query = self.attention_norm(x)  # [B, L, D]
        attended, _ = self.attention(query, x, x, attn_mask=causal, need_weights=False)
        x = self.ffn_norm(query + attended)
        return (x + self.ffn(x)) * real  # padding positions back to zero


class ReferenceSASRec(nn.Module):
    def __init__(
        self, n_items: int, hidden: int = 64, blocks: int = 2, max_length: int = 200, dropout: float = 0.1
    ) -> None:
        super().__init__()
        self.items = nn.Embedding(n_items + 1, hidden, padding_idx=0)
        self.positions = nn.Embedding(max_length, hidden)
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(hidden, dropout) for _ in range(blocks))
        self.final_norm = nn.LayerNorm(hidden, eps=1e-8)
        for module in self.modules():
            if isinstance(module, nn.Linear | nn.Embedding):
                nn.init.normal_(module.weight, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
        for name, parameter in self.named_parameters():  # the attention's own projections
            if name.endswith("in_proj_weight"):
                nn.init.normal_(parameter, std=0.02)
            elif name.endswith("in_proj_bias"):
                nn.init.zeros_(parameter)
        with torch.no_grad():
            self.items.weight[0].zero_()

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """inputs [B, L] right-padded -> logits over every embedding row [B, L, I + 1]."""
        length = inputs.shape[1]
        real = (inputs != 0).unsqueeze(-1)  # [B, L, 1]
        x = self.items(inputs) * math.sqrt(self.items.embedding_dim)
        x = self.dropout(x + self.positions(torch.arange(length))) * real
        causal = torch.ones(length, length, dtype=torch.bool).triu(1)  # True = may not attend
        for block in self.blocks:
            x = block(x, causal, real)
        return self.final_norm(x) @ self.items.weight.T


@torch.no_grad()
def evaluate(
    model: ReferenceSASRec, histories: list[list[int]], targets: list[int], max_length: int, n_items: int
) -> dict[str, float]:
    """Whole-catalog ranking of each target after its history, history items removed."""
    model.eval()
    ndcg = hits = rr = 0.0
    for begin in range(0, len(histories), 256):
        rows = histories[begin : begin + 256]
        inputs = right_padded([r[-max_length:] for r in rows])
        last = (inputs != 0).sum(1) - 1  # [B]
        scores = model(inputs)[torch.arange(len(rows)), last]  # [B, I + 1]
        scores.scatter_(1, right_padded(rows), -torch.inf)  # the whole history, and padding (0)
        target = torch.tensor(targets[begin : begin + 256])
        rank = (scores > scores[torch.arange(len(rows)), target][:, None]).sum(1) + 1  # [B]
        hits += float((rank <= 10).sum())
        ndcg += float(torch.where(rank <= 10, 1.0 / torch.log2(rank + 1.0), 0.0).sum())
        rr += float((1.0 / rank).sum())
    model.train()
    n = len(histories)
    return {"hr@10": hits / n, "ndcg@10": ndcg / n, "mrr": rr / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-length", type=int, default=200)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    sequences = read_sequences(args.data)
    n_items = max(max(s) for s in sequences)
    train = [s[:-2][-(args.max_length + 1) :] for s in sequences]
    model = ReferenceSASRec(n_items, max_length=args.max_length)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    args.out.mkdir(parents=True, exist_ok=True)
    log = (args.out / "log.jsonl").open("w")
    best, best_epoch, started = -1.0, 0, time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        tick = time.perf_counter()
        total = 0.0
        order = rng.permutation(len(train))
        for begin in range(0, len(order), 128):
            batch = right_padded([train[i] for i in order[begin : begin + 128]])  # [B, L + 1]
            inputs, labels = batch[:, :-1], batch[:, 1:].masked_fill(batch[:, 1:] == 0, -100)
            logits = model(inputs)  # [B, L, I + 1]
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        seconds = time.perf_counter() - tick
        valid = evaluate(model, [s[:-2] for s in sequences], [s[-2] for s in sequences], args.max_length, n_items)
        test = evaluate(model, [s[:-1] for s in sequences], [s[-1] for s in sequences], args.max_length, n_items)
        row = {
            "epoch": epoch,
            "loss": total / math.ceil(len(order) / 128),
            "valid": valid,
            "test": test,
            "epoch_seconds": seconds,
            "elapsed_seconds": time.perf_counter() - started,
        }
        log.write(json.dumps(row) + "\n")
        log.flush()
        print(
            f"epoch {epoch:3d} loss {row['loss']:.4f} valid ndcg@10 {valid['ndcg@10']:.4f} "
            f"test ndcg@10 {test['ndcg@10']:.4f} {seconds:.0f}s",
            flush=True,
        )
        if valid["ndcg@10"] > best:
            best, best_epoch, best_test = valid["ndcg@10"], epoch, test
        elif epoch - best_epoch >= args.patience:
            break
    result = {"best_epoch": best_epoch, "epochs": epoch, "valid_ndcg@10": best, "test": best_test}
    (args.out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
