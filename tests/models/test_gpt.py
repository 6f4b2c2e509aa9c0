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
    greedy_generate,
)


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


def test_greedy_generate_is_argmax_continuation_and_stops():
    model = tiny()
    prompt = torch.randint(0, 256, (2, 5))
    new = greedy_generate(model, prompt, 6, context=GPT_CONFIGS["tiny"].context)
    ids = prompt
    for _ in range(6):
        ids = torch.cat([ids, model(ids)[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(new, ids[:, 5:])
    stop = int(new[0, 1])
    stopped = greedy_generate(model, prompt, 6, context=32, stop=stop)
    first = int((stopped[0] == stop).nonzero()[0])
    assert (stopped[0, first:] == stop).all()
    # a context shorter than the prompt crops it
    cropped = greedy_generate(model, prompt, 1, context=2)
    assert torch.equal(cropped[:, 0], model(prompt[:, -2:])[:, -1].argmax(-1))
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
