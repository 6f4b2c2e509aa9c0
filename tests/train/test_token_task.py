"""The token-batch task: batches of (input_ids, attention_mask, labels) through the one loop, an
evaluation equal to a hand computation, and bad input refused."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from deepoptim import train
from deepoptim.data import TokenizedSplits, Tokens
from deepoptim.models import mean_pool


class BagOfTokens(nn.Module):
    """Embeddings, mean over the real tokens, a linear layer: ``model(input_ids, mask)``."""

    def __init__(self, vocabulary: int = 12, width: int = 6, classes: int = 2) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.embed, self.out = nn.Embedding(vocabulary, width), nn.Linear(width, classes)

    def forward(self, input_ids, attention_mask):
        return self.out(mean_pool(self.embed(input_ids), attention_mask))


def tokens(n: int, seed: int) -> Tokens:
    """Class 1 sentences contain token 7, class 0 ones do not; random lengths, padding 0."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 2
    ids = torch.randint(1, 7, (n, 5), generator=generator)
    ids[labels == 1, 0] = 7
    lengths = torch.randint(2, 6, (n,), generator=generator)
    mask = (torch.arange(5) < lengths[:, None]).long()
    return Tokens(ids * mask, mask, labels)


def splits() -> TokenizedSplits:
    return TokenizedSplits(tokens(40, 1), tokens(20, 2))


def test_batches_are_token_triples_of_the_training_set():
    task = train.TokenClassificationTask(splits(), batch_size=8)
    batch = next(task.batches(torch.Generator().manual_seed(0)))
    assert isinstance(batch, Tokens) and batch.input_ids.shape == (8, 5)
    train_ids = splits().train.input_ids
    assert all(any(torch.equal(row, other) for other in train_ids) for row in batch.input_ids)


def test_evaluation_equals_the_loss_and_accuracy_computed_by_hand():
    model, data = BagOfTokens(), splits()
    metrics = train.TokenClassificationTask(data, eval_batch_size=7).evaluate(model)
    with torch.no_grad():
        logits = model(data.test.input_ids, data.test.attention_mask)
    assert metrics["test_loss"] == pytest.approx(float(F.cross_entropy(logits, data.test.labels)),
                                                 rel=1e-6)
    assert metrics["test_acc"] == int((logits.argmax(1) == data.test.labels).sum()) / 20
    assert set(metrics) == {"train_loss", "train_acc", "test_loss", "test_acc"}


def test_the_loop_trains_on_token_batches():
    model = BagOfTokens()
    history = train.fit(train.TokenClassificationTask(splits(), batch_size=8), model,
                        torch.optim.Adam(model.parameters(), lr=0.1), steps=40, progress=False)
    assert history.evals[-1]["train_loss"] < 0.5 * history.evals[0]["train_loss"]
    assert history.evals[-1]["test_acc"] == 1.0


def test_bad_input_is_refused():
    with pytest.raises(TypeError, match="data must be a TokenizedSplits, got tuple"):
        train.TokenClassificationTask((1, 2))
    with pytest.raises(ValueError, match="Invalid batch_size value: 0"):
        train.TokenClassificationTask(splits(), batch_size=0)
