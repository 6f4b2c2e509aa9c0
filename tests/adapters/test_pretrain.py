"""Pretraining the GPT: the corpus, bits per byte, learning, and the on-disk checkpoint cache."""

import math

import pytest
import torch
from torch import nn

from deepoptim.adapters import (
    LanguageModelTask,
    PretrainRecipe,
    bits_per_byte,
    pretrained_gpt,
    pretraining_log,
    pydoc_corpus,
)
from deepoptim.adapters import pretrain as pretrain_module
from deepoptim.data._cache import cache_dir
from deepoptim.models import GPT, GPTConfig

RECIPE = PretrainRecipe(steps=30, batch_size=8, lr=3e-3)


def test_corpus_holds_out_the_last_tenth_of_every_topic():
    from pydoc_data.topics import topics

    train, valid = pydoc_corpus()
    assert train.dtype == torch.long and valid.dtype == torch.long
    text = bytes(train.tolist()).decode()
    held_out = bytes(valid.tolist()).decode()
    for name in ("for", "while", "typesseq"):
        topic = topics[name]
        assert topic[:len(topic) * 9 // 10 - 1] in text
        assert topic[-len(topic) // 10 + 1:] in held_out
    separators = 2 * 2 * (len(topics) - 1)
    assert len(train) + len(valid) == sum(len(t.encode()) for t in topics.values()) + separators
    assert 0.08 < len(valid) / (len(train) + len(valid)) < 0.12


class Uniform(nn.Module):
    def forward(self, ids):
        return torch.zeros(*ids.shape, 256, dtype=torch.float64)


def test_bits_per_byte_of_a_uniform_model_is_eight():
    ids = torch.randint(0, 256, (100,))
    assert math.isclose(bits_per_byte(Uniform(), ids, context=9), 8.0, rel_tol=1e-12)
    with pytest.raises(ValueError, match="at least context \\+ 1"):
        bits_per_byte(Uniform(), ids[:5], context=9)


def test_batches_are_windows_of_the_stream_and_seeded():
    stream = torch.arange(50) % 256
    task = LanguageModelTask(stream, stream, context=7, batch_size=4)
    batch = next(task.batches(torch.Generator().manual_seed(3)))
    assert batch.shape == (4, 8)
    assert (batch[:, 1:] - batch[:, :-1] == 1).all()
    again = next(task.batches(torch.Generator().manual_seed(3)))
    assert torch.equal(batch, again)


def test_checkpoint_is_cached_and_keyed(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPOPTIM_CACHE", str(tmp_path))
    first = pretrained_gpt("tiny", RECIPE, progress=False)
    assert len(list(cache_dir().glob("gpt-pretrained-*.npz"))) == 1
    log = pretraining_log("tiny", RECIPE)
    assert list(log["step"]) == list(range(1, 31))
    # pretraining learned something: below the 8 bits of a uniform guess, and below its start
    assert log["valid_bits_per_byte"][-1] < min(8.0, log["valid_bits_per_byte"][0])

    def no_training(*args, **kwargs):
        raise AssertionError("the cached checkpoint should have been loaded")

    monkeypatch.setattr(pretrain_module, "pretrain_gpt", no_training)
    second = pretrained_gpt("tiny", RECIPE, progress=False)
    assert second is not first and not second.training
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items(),
                                 strict=True):
        assert torch.equal(a, b), name
    assert second.head.weight is second.embed.weight
    with pytest.raises(AssertionError, match="should have been loaded"):
        pretrained_gpt(GPTConfig(n_layers=2, dim=16, n_heads=2, context=16), RECIPE)
    with pytest.raises(AssertionError, match="should have been loaded"):
        pretrained_gpt("tiny", PretrainRecipe(steps=31, batch_size=8, lr=3e-3))
    monkeypatch.setattr(pretrain_module, "_CODE_HASH", "changed code")
    with pytest.raises(AssertionError, match="should have been loaded"):
        pretrained_gpt("tiny", RECIPE)


def test_pretraining_is_reproducible(tmp_path, monkeypatch):
    recipe = PretrainRecipe(steps=3, batch_size=2)
    a, _ = pretrain_module.pretrain_gpt("tiny", recipe, progress=False)
    b, _ = pretrain_module.pretrain_gpt("tiny", recipe, progress=False)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))
    assert isinstance(a, GPT)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="Invalid steps value: 0"):
        PretrainRecipe(steps=0)
    with pytest.raises(ValueError, match="Invalid lr value"):
        PretrainRecipe(lr=0.0)
    with pytest.raises(ValueError, match="Invalid train value"):
        LanguageModelTask(torch.arange(5), torch.arange(50), context=8)
