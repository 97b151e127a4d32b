"""``model.tie_embeddings = false``: SASRec scores items with its own output table, which every
caller of ``output_embeddings`` (losses, scoring, ``similar``, ``export``) then reads, and which
survives the model file; tied models keep the weights of before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

import seqrec.export
from seqrec.api import SASRec as SASRecEstimator
from seqrec.api import load
from seqrec.config import ConfigError, ModelConfig, load_config
from seqrec.data.synthetic import synthetic_interactions
from seqrec.models import build_model, check_model_config
from seqrec.models.sasrec import SASRec
from seqrec.similar import item_vectors


def network(tie: bool, block: str = "pre_norm") -> SASRec:
    torch.manual_seed(0)
    return SASRec(6, hidden=4, blocks=1, dropout=0.0, max_length=5, block=block, tie_embeddings=tie).eval()


def test_a_separate_table_with_its_own_zero_padding_row() -> None:
    untied, tied = network(False), network(True)
    assert untied.output_embedding is not None and tied.output_embedding is None
    assert untied.output_embeddings() is untied.output_embedding.weight
    assert tied.output_embeddings() is tied.item_embedding.weight
    assert untied.output_embeddings().shape == (7, 4)  # [I + 1, D]
    assert untied.output_embedding.weight[0].abs().sum() == 0 and untied.item_embedding.weight[0].abs().sum() == 0
    assert not torch.equal(untied.output_embedding.weight[1:], untied.item_embedding.weight[1:])
    # the output table is drawn like the input one: N(0, 0.02) by default
    big = SASRec(3000, hidden=64, tie_embeddings=False)
    assert big.output_embeddings()[1:].std().item() == pytest.approx(0.02, rel=0.03)
    # a tied model has the state dict it always had; the untied one one entry more
    assert "output_embedding.weight" not in tied.state_dict()
    assert list(untied.state_dict())[:2] == ["item_embedding.weight", "output_embedding.weight"]


def test_scores_use_the_output_table_and_the_input_table_only_embeds() -> None:
    model = network(False)
    history = torch.tensor([[0, 1, 2], [3, 4, 5]])  # two users
    output = model.output_embedding
    assert output is not None
    with torch.no_grad():
        output.weight.copy_(
            torch.tensor(
                [[0.0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, 1, 0, 0], [2, 0, 0, 0]]
            )
        )
        hidden = model.encode(history, last_only=True)[:, -1]  # [2, D]
        scores = model.score_next(history)  # [2, 7]
        # by hand: item 1 scores h_0, item 5 h_0 + h_1, item 6 2 h_0, padding 0
        torch.testing.assert_close(scores[:, 1], hidden[:, 0])
        torch.testing.assert_close(scores[:, 5], hidden[:, 0] + hidden[:, 1])
        torch.testing.assert_close(scores[:, 6], 2 * hidden[:, 0])
        assert scores[:, 0].abs().sum() == 0
        # item 6 is in no history: its input row changes nothing when untied ...
        model.item_embedding.weight[6] += 1.0
        torch.testing.assert_close(model.score_next(history), scores)
        # ... and its score when tied
        tied = network(True)
        before = tied.score_next(history)
        tied.item_embedding.weight[6] += 1.0
        after = tied.score_next(history)
    assert not torch.equal(after[:, 6], before[:, 6]) and torch.equal(after[:, :6], before[:, :6])


def test_the_switch_is_sasrecs_and_defaults_to_tied() -> None:
    assert ModelConfig().tie_embeddings is True
    model = build_model(ModelConfig(hidden=8, max_length=4, tie_embeddings=False), n_items=9)
    assert isinstance(model, SASRec) and model.output_embedding is not None
    with pytest.raises(ConfigError, match="model.tie_embeddings applies to sasrec only"):
        check_model_config(ModelConfig(name="bert4rec", tie_embeddings=False))
    with pytest.raises(ConfigError, match="model.tie_embeddings: expected bool, got int 1"):
        load_config(None, ["model.tie_embeddings=1"])


def interaction_frame() -> pd.DataFrame:
    """120 users over ~40 items, int ids."""
    x = synthetic_interactions(n_users=120, n_items=40, min_length=4, max_length=20, seed=5)
    return pd.DataFrame({"user_id": np.repeat(x.user_ids, x.lengths), "item_id": x.item_ids[x.items]})


@pytest.mark.parametrize("block", ["pre_norm", "ligr"])
def test_fit_save_load_similar_and_export_with_the_output_table(block: str, tmp_path: Path) -> None:
    torch.set_num_threads(1)
    options: dict[str, Any] = {"hidden": 16, "max_length": 10, "batch_size": 32, "ff_hidden": 32, "validation": False}
    fitted = SASRecEstimator(max_epochs=2, tie_embeddings=False, block=block, **options).fit(interaction_frame())
    net = fitted.model_
    assert isinstance(net, SASRec) and net.output_embedding is not None
    assert net.output_embedding.weight[0].abs().sum() == 0  # the padding row never trains
    assert not torch.equal(net.output_embedding.weight, net.item_embedding.weight)
    # the model file round trip keeps the separate table and the recommendations
    loaded = load(fitted.save(tmp_path / "model.pt"))
    assert loaded.config.model.tie_embeddings is False and loaded.config.model.block == block
    loaded_net = loaded.model_
    assert isinstance(loaded_net, SASRec) and loaded_net.output_embedding is not None
    torch.testing.assert_close(loaded_net.output_embedding.weight, net.output_embedding.weight)
    pd.testing.assert_frame_equal(loaded.recommend([0, 7, 11], k=5), fitted.recommend([0, 7, 11], k=5))
    # seqrec similar compares the output vectors
    torch.testing.assert_close(item_vectors(net, "dot"), net.output_embedding.weight.detach())
    # seqrec export: items.npy is the output table, and the ONNX encoder matches score_next
    np.testing.assert_array_equal(seqrec.export.item_matrix(net), net.output_embedding.weight[1:].detach().numpy())
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    encoder = seqrec.export.ServingEncoder(net)
    seqrec.export.export_onnx(encoder, tmp_path / "encoder.onnx")
    session = onnxruntime.InferenceSession(str(tmp_path / "encoder.onnx"), providers=["CPUExecutionProvider"])
    history = torch.randint(1, net.n_items + 1, (5, 13), generator=torch.Generator().manual_seed(0))  # [5, 13]
    history[0, :12] = 0  # a single item, left-padded
    got = session.run(None, {"history": history.numpy()})[0] @ seqrec.export.item_matrix(net).T  # [5, I]
    with torch.no_grad():
        expected = net.eval().score_next(history)[:, 1:].numpy()  # [5, I]
    assert np.abs(got - expected).max() < 1e-4
