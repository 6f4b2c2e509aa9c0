"""The GPT's key/value cache: feeding tokens chunk by chunk gives the full forward's logits."""

import pytest
import torch

from deepoptim.models import GPT, KVCache


@pytest.fixture
def model() -> GPT:
    torch.manual_seed(0)
    return GPT("tiny").double().eval()


@pytest.mark.parametrize("chunk", [1, 3, 7, 32])
def test_chunks_through_the_cache_equal_the_full_forward(model, chunk):
    ids = torch.randint(0, 256, (2, 32), generator=torch.Generator().manual_seed(1))
    cache = model.make_cache(2)
    pieces = [model(ids[:, start : start + chunk], cache) for start in range(0, 32, chunk)]
    torch.testing.assert_close(torch.cat(pieces, 1), model(ids), rtol=0, atol=1e-12)
    assert cache.lengths.tolist() == [32, 32]


def test_rewound_padding_is_invisible_to_each_row(model):
    """Right-padded prompts fed together, the padding rewound, then each row's own next tokens
    at its own positions: the logits of each row's full, unpadded forward."""
    g = torch.Generator().manual_seed(2)
    rows = [torch.randint(0, 256, (n,), generator=g) for n in (5, 11, 7)]
    prompt = (3, 9, 2)
    padded = torch.zeros(3, 9, dtype=torch.long)
    for i, (row, n) in enumerate(zip(rows, prompt, strict=True)):
        padded[i, :n] = row[:n]
    cache = model.make_cache(3)
    model(padded, cache)
    cache.rewind(torch.tensor(prompt))
    for step in range(2):
        nxt = torch.stack([row[n + step] for row, n in zip(rows, prompt, strict=True)])
        logits = model(nxt[:, None], cache)[:, 0]
        for i, (row, n) in enumerate(zip(rows, prompt, strict=True)):
            full = model(row[None, : n + step + 1])[0, -1]
            torch.testing.assert_close(logits[i], full, rtol=0, atol=1e-12)
    kept = cache.select(torch.tensor([False, True, True]))
    assert kept.batch == 2 and kept.lengths.tolist() == [11, 4]


def test_context_is_refused_with_the_uncached_message(model):
    cache = model.make_cache(1)
    model(torch.zeros(1, 30, dtype=torch.long), cache)
    with pytest.raises(ValueError, match="Invalid ids value: 33 tokens .*context, 32"):
        model(torch.zeros(1, 3, dtype=torch.long), cache)
    with pytest.raises(ValueError, match="Invalid ids value: 33 tokens .*context, 32"):
        model(torch.zeros(1, 33, dtype=torch.long))
    model(torch.zeros(1, 2, dtype=torch.long), cache)  # exactly the context fits
    assert cache.lengths.tolist() == [32]


def test_bad_cache_and_rewind_raise(model):
    ids = torch.zeros(2, 3, dtype=torch.long)
    with pytest.raises(ValueError, match="Invalid cache value"):
        model(ids, model.make_cache(3))
    with pytest.raises(ValueError, match="Invalid cache value"):
        model(ids, "cache")
    cache = model.make_cache(2)
    model(ids, cache)
    with pytest.raises(ValueError, match="Invalid lengths value"):
        cache.rewind(torch.tensor([4, 1]))
    assert isinstance(cache, KVCache) and cache.keys[0].dtype == torch.float64
