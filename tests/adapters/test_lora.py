"""LoRA through peft on our GPT and on MiniLM: identity at step 0, only the adapters train,
disable_adapter runs the base, merging equals the unmerged model, counts, errors."""

import copy

import pytest
import torch
from torch import nn

from deepoptim.adapters import add_lora, count_trainable, lora_parameter_count, lora_targets

from .helpers import gradient_norms, train_steps


def test_targets_are_query_and_value(base, minilm):
    assert lora_targets(base) == ["q", "v"]
    assert lora_targets(minilm[0]) == ["query", "value"]


def test_identity_at_init_and_only_adapters_get_gradient(base, ids):
    expected = base(ids)
    adapted = add_lora(copy.deepcopy(base), rank=2)
    assert torch.equal(adapted(ids), expected)
    norms = gradient_norms(adapted, ids)
    assert norms and all("lora_A" in name or "lora_B" in name for name in norms)
    # B = 0 at init: only B receives gradient at step 1, as for LoRA's own analysis
    assert {name for name, norm in norms.items() if norm > 0} == {
        name for name in norms if "lora_B" in name}
    targeted = {name.split(".lora_")[0] for name in norms}
    assert len(targeted) == 2 * len(base.blocks)
    assert all(name.endswith((".q", ".v")) for name in targeted)


def test_training_leaves_base_weights_and_disable_adapter_runs_them(base, ids):
    adapted = add_lora(copy.deepcopy(base), rank=2)
    frozen = {name: p.detach().clone() for name, p in adapted.named_parameters()
              if not p.requires_grad}
    train_steps(adapted, ids)
    for name, p in adapted.named_parameters():
        if name in frozen:
            assert torch.equal(p, frozen[name]), name
    assert not torch.allclose(adapted(ids), base(ids))
    with adapted.disable_adapter():
        assert torch.equal(adapted(ids), base(ids))


def test_merge_equals_unmerged(base, ids):
    adapted = add_lora(copy.deepcopy(base).float(), rank=4, alpha=8.0)
    train_steps(adapted, ids)
    adapted.eval()
    unmerged = adapted(ids)
    merged = adapted.merge_and_unload()
    assert type(merged).__name__ == "GPT"
    assert not any("lora" in name for name, _ in merged.named_parameters())
    torch.testing.assert_close(merged(ids), unmerged, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("rank", [1, 2, 4])
def test_count_is_4Ldr(base, rank):
    adapted = add_lora(copy.deepcopy(base), rank=rank)
    layers, dim = base.config.n_layers, base.config.dim
    count = count_trainable(adapted)
    assert count.trainable == count.adapter == 4 * layers * dim * rank
    assert count.trainable == lora_parameter_count([(dim, dim)] * 2 * layers, rank)
    assert count.frozen == sum(p.numel() for p in base.parameters())


def test_minilm_rank_8_has_73728_parameters_and_a_trainable_head(minilm):
    encoder, batch = minilm
    model = nn.ModuleDict({"encoder": copy.deepcopy(encoder), "head": nn.Linear(384, 3)})
    adapted = add_lora(model, rank=8, targets=["query", "value"], head=model["head"])
    count = count_trainable(adapted, head=model["head"])
    assert count.adapter == 73728
    assert count.head == 384 * 3 + 3
    with adapted.disable_adapter():
        hidden = adapted.base_model.model["encoder"](**batch).last_hidden_state
    assert torch.equal(hidden, encoder(**batch).last_hidden_state)


def test_bad_inputs_raise(base):
    with pytest.raises(ValueError, match="Invalid rank value: 0"):
        add_lora(base, rank=0)
    with pytest.raises(ValueError, match="Invalid alpha value"):
        add_lora(base, rank=2, alpha=-1.0)
    with pytest.raises(ValueError, match="no linear map named"):
        lora_targets(nn.Sequential(nn.Linear(3, 3)))
    with pytest.raises(TypeError, match="head must be an nn.Module or None"):
        add_lora(base, rank=2, head="head")
