"""The small byte-level GPT: shapes, causality, weight tying, bytes in and out, greedy decoding."""

import pytest
import torch

from deepoptim.models import (
    GPT,
    GPT_CONFIGS,
    GPTConfig,
    decode_bytes,
    encode_bytes,
    gpt_config,
)
from deepoptim.nlp import greedy_continue


def tiny(**changes) -> GPT:
    torch.manual_seed(0)
    config = GPTConfig(**{**vars(GPT_CONFIGS["tiny"]), **changes})
    return GPT(config).double()


def test_shapes_and_projection_names():
    model = GPT("tiny")
    ids = torch.randint(0, 256, (3, 20))
    assert model(ids).shape == (3, 20, 256)
    assert len(model.blocks) == GPT_CONFIGS["tiny"].n_layers
    names = {name for name, _ in model.named_modules()}
    assert {"blocks.0.attn.q", "blocks.0.attn.k", "blocks.0.attn.v", "blocks.0.attn.o"} <= names


def test_later_tokens_never_change_earlier_logits():
    model = tiny()
    ids = torch.randint(0, 256, (2, 24))
    logits = model(ids)
    for t in (0, 7, 23):
        changed = ids.clone()
        changed[:, t:] = (changed[:, t:] + 1) % 256
        other = model(changed)
        assert torch.equal(other[:, :t], logits[:, :t])
        assert not torch.allclose(other[:, t], logits[:, t])


def test_tied_and_untied_heads():
    tied, untied = tiny(), tiny(tied=False)
    assert tied.head.weight is tied.embed.weight
    assert untied.head.weight is not untied.embed.weight
    count = sum(p.numel() for p in untied.parameters()) - sum(p.numel() for p in tied.parameters())
    assert count == 256 * GPT_CONFIGS["tiny"].dim


def test_bytes_round_trip_any_text():
    text = "def f(x): return x ** 2  # é, ∑, 🐍"
    ids = encode_bytes(text)
    assert ids.dtype == torch.long and int(ids.max()) < 256
    assert len(ids) == len(text.encode("utf-8"))
    assert decode_bytes(ids) == text


def test_greedy_continuation_of_the_gpt_is_its_argmax_chain():
    """Prompts of different lengths batched (right-padded) continue exactly as each alone by
    the argmax of the GPT's logits: its causal mask makes the padding invisible."""
    model = tiny()
    prompts = [torch.randint(0, 256, (length,)) for length in (5, 2, 7)]
    new = greedy_continue(model, prompts, 6)
    for prompt, continuation in zip(prompts, new, strict=True):
        ids = prompt[None]
        for _ in range(6):
            ids = torch.cat([ids, model(ids)[:, -1].argmax(-1, keepdim=True)], dim=1)
        assert torch.equal(continuation, ids[0, len(prompt):])
    assert model.training


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="n_heads"):
        GPTConfig(dim=30, n_heads=4)
    with pytest.raises(ValueError, match="Invalid config value: 'huge'"):
        gpt_config("huge")
    with pytest.raises(TypeError, match="config must be"):
        GPT(3)
    model = tiny()
    with pytest.raises(ValueError, match="at most the context"):
        model(torch.zeros(1, 33, dtype=torch.long))
    with pytest.raises(ValueError, match="int64 tensor"):
        model(torch.zeros(1, 4))
    with pytest.raises(TypeError, match="text must be a str"):
        encode_bytes(b"x")
