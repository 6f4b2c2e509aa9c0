"""Greedy decoding through the key/value cache gives the uncached tokens, with every adapter."""

import copy

import pytest
import torch

from deepoptim.adapters import SoloConnected, add_lora, bitfit
from deepoptim.models import GPT
from deepoptim.nlp import greedy_continue


def _perturbed(model, scale: float = 0.3):
    """``model`` with its trainable parameters drawn at random (adapters away from identity)."""
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.copy_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return model


def _models():
    torch.manual_seed(0)
    base = GPT("tiny").double()
    return {
        "gpt": base,
        "lora": _perturbed(add_lora(copy.deepcopy(base), rank=2)),
        "solo": _perturbed(SoloConnected(copy.deepcopy(base), rank=3, stride=1).double()),
        "bitfit": _perturbed(bitfit(copy.deepcopy(base)), 0.01),
    }


def _gpt_of(model) -> GPT:
    return next(m for m in model.modules() if isinstance(m, GPT))


@pytest.mark.parametrize("name", ["gpt", "lora", "solo", "bitfit"])
def test_cached_greedy_equals_uncached_token_for_token(name):
    model = _models()[name]
    g = torch.Generator().manual_seed(4)
    prompts = [torch.randint(0, 256, (n,), generator=g) for n in (3, 12, 1, 7, 9)]
    uncached = greedy_continue(model, prompts, 14, batch_size=3, cache=False)
    stop = int(uncached[0][-1])  # a token some rows emit: rows stop at different steps
    shapes: list[tuple[int, ...]] = []
    hook = _gpt_of(model).register_forward_pre_hook(lambda m, args: shapes.append(args[0].shape))
    for use_stop in (None, stop):
        expected = greedy_continue(model, prompts, 14, stop=use_stop, batch_size=3, cache=False)
        shapes.clear()
        got = greedy_continue(model, prompts, 14, stop=use_stop, batch_size=3)
        assert [t.tolist() for t in got] == [t.tolist() for t in expected]
        # the cache is used: each batch's padded prompts once, then one token per row a step
        assert [s for s in shapes if s[1] > 1] == [(3, 12), (2, 9)]
        assert len(shapes) > 2 + 13
    hook.remove()
    assert any(len(t) < 14 for t in got) and any(len(t) == 14 for t in got)
    assert model.training


@pytest.mark.parametrize(("length", "max_new"), [(30, 2), (30, 3), (30, 4), (33, 1)])
def test_context_limit_refused_identically(length, max_new):
    model = _models()["gpt"]
    prompts = [torch.zeros(length, dtype=torch.long), torch.ones(2, dtype=torch.long)]
    outcomes = []
    for cache in (False, True):
        try:
            outcomes.append([t.tolist() for t in greedy_continue(model, prompts, max_new,
                                                                 cache=cache)])
        except ValueError as error:
            outcomes.append(str(error))
    assert outcomes[0] == outcomes[1]
    assert isinstance(outcomes[0], str) == (length + max_new - 1 > 32)


def test_cache_flag_checked():
    with pytest.raises(TypeError, match="cache must be a bool"):
        greedy_continue(_models()["gpt"], [torch.tensor([1])], 2, cache=1)
