"""Fixtures: a tiny GPT in float64 and a batch of random bytes."""

import pytest
import torch

from deepoptim.models import GPT


@pytest.fixture
def base() -> GPT:
    torch.manual_seed(0)
    return GPT("tiny").double()


@pytest.fixture
def ids() -> torch.Tensor:
    return torch.randint(0, 256, (3, 16), generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="session")
def minilm():
    """all-MiniLM-L6-v2 (loaded once) and a padded batch of two sentences."""
    from deepoptim.models import load_minilm

    encoder, tokenizer = load_minilm()
    batch = tokenizer(["a short sentence", "and another, longer one"], return_tensors="pt",
                      padding=True)
    return encoder, dict(batch)
