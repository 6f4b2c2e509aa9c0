"""Solo-Connection: connection sets, identity at step 0, the chained-skip formula, gradients at
step 1, gates, a frozen base, causality and errors."""

import copy

import pytest
import torch
from torch import nn

from deepoptim.adapters import (
    SoloConnected,
    SoloConnection,
    connections,
    count_trainable,
    find_blocks,
)
from deepoptim.models import GPT
from deepoptim.train import Task, fit

from .helpers import gradient_norms, train_steps


@pytest.mark.parametrize(("layers", "stride", "expected"), [
    (6, 2, [(2, 4), (4, 6)]),
    (6, 1, [(1, 2), (2, 3), (3, 4), (4, 5), (5, 6)]),
    (8, 2, [(2, 4), (4, 6), (6, 8)]),
    (7, 3, [(3, 6)]),
    (4, 2, [(2, 4)]),
])
def test_connection_set(layers, stride, expected):
    assert connections(layers, stride) == expected
    assert len(expected) == layers // stride - 1


def test_connection_set_of_gpt2_medium_has_eleven_skips():
    assert len(connections(24, 2)) == 11


def randomize(solo: SoloConnection) -> None:
    """Give every adapter parameter a nonzero random value (the path then changes outputs)."""
    with torch.no_grad():
        for parameter in solo.parameters():
            parameter.copy_(torch.randn_like(parameter) * 0.3)


@pytest.mark.parametrize("init", ["lora", "reference"])
@pytest.mark.parametrize(("gate", "options"), [
    ("trainable", {}), ("fixed", {}), ("schedule", {"gate_steps": 5})])
@pytest.mark.parametrize("shared", [True, False])
def test_identity_at_initialisation(base, ids, init, gate, options, shared):
    expected = base(ids)
    adapted = SoloConnected(copy.deepcopy(base), rank=3, stride=1, init=init, gate=gate,
                            shared=shared, **options).double()
    assert torch.equal(adapted(ids), expected)


def test_forward_is_the_chained_skip_formula(base, ids):
    adapted = SoloConnected(copy.deepcopy(base), rank=3, stride=1).double()
    solo = adapted.solo
    randomize(solo)
    # written out: h_j += g_c v_c * D(u_c * E(h_{j-1})), h_{j-1} taken after its own skip
    h = base.embed(ids) + base.pos(torch.arange(ids.shape[1]))
    outputs = []
    for j, block in enumerate(base.blocks, start=1):
        h = block(h)
        if j >= 2:
            c = j - 2
            e = solo.encoders[0].weight @ outputs[-1].unsqueeze(-1)
            z = (e.squeeze(-1) + solo.encoders[0].bias) * solo.u[c]
            h = h + solo.gates[c] * solo.v[c] * (z @ solo.decoders[0].weight.T
                                                 + solo.decoders[0].bias)
        outputs.append(h)
    expected = base.head(base.ln_f(h))
    torch.testing.assert_close(adapted(ids), expected, rtol=1e-12, atol=1e-12)
    assert not torch.allclose(adapted(ids), base(ids))


def test_unshared_connections_use_their_own_pair(base, ids):
    adapted = SoloConnected(copy.deepcopy(base), rank=2, stride=1, shared=False).double()
    solo = adapted.solo
    assert len(solo.encoders) == len(solo.decoders) == 3
    randomize(solo)
    h = torch.randn(2, 5, 32, dtype=torch.float64)
    for c in range(3):
        z = solo.encoders[c](h) * solo.u[c]
        torch.testing.assert_close(solo.contribution(c, h),
                                   solo.gates[c] * solo.v[c] * solo.decoders[c](z))


@pytest.mark.parametrize(("init", "receiving"), [
    ("lora", {"solo.decoders.0.weight", "solo.decoders.0.bias"}),
    ("reference", {"solo.v"}),
])
def test_which_parameters_receive_gradient_at_step_one(base, ids, init, receiving):
    adapted = SoloConnected(copy.deepcopy(base), rank=3, stride=2, init=init).double()
    norms = gradient_norms(adapted, ids)
    assert set(norms) == {"solo.encoders.0.weight", "solo.encoders.0.bias",
                          "solo.decoders.0.weight", "solo.decoders.0.bias", "solo.u", "solo.v",
                          "solo.gates"}
    assert {name for name, norm in norms.items() if norm > 0} == receiving
    assert all(p.grad is None for p in adapted.base.parameters())


def test_base_weights_unchanged_after_training(base, ids):
    adapted = SoloConnected(copy.deepcopy(base), rank=3, stride=2).double()
    before = copy.deepcopy(adapted.base.state_dict())
    solo_before = copy.deepcopy(adapted.solo.state_dict())
    train_steps(adapted, ids)
    for name, tensor in adapted.base.state_dict().items():
        assert torch.equal(tensor, before[name]), name
    assert not torch.equal(adapted.solo.decoders[0].weight, solo_before["decoders.0.weight"])
    assert not torch.allclose(adapted(ids), base(ids))
    # removing the hooks gives the base model back
    assert torch.equal(adapted.remove()(ids), base(ids))


def test_causality_with_the_skips(base, ids):
    adapted = SoloConnected(copy.deepcopy(base), rank=3, stride=1).double()
    randomize(adapted.solo)
    changed = ids.clone()
    changed[:, 9:] = (changed[:, 9:] + 7) % 256
    assert torch.equal(adapted(changed)[:, :9], adapted(ids)[:, :9])


def test_gate_modes():
    trainable = SoloConnection(8, 2, 6, 2)
    assert isinstance(trainable.gates, nn.Parameter)
    assert torch.equal(trainable.gates, torch.full((2,), 0.1))
    fixed = SoloConnection(8, 2, 6, 2, gate="fixed")
    assert not isinstance(fixed.gates, nn.Parameter) and torch.equal(fixed.gates, torch.ones(2))
    assert "gates" not in dict(fixed.named_parameters())
    assert torch.equal(SoloConnection(8, 2, 6, 2, gate="fixed", gate_init=0.5).gates,
                       torch.full((2,), 0.5))
    scheduled = SoloConnection(8, 2, 6, 2, gate="schedule", gate_steps=4)
    assert torch.equal(scheduled.gates, torch.zeros(2))
    for step, value in [(1, 0.25), (2, 0.5), (4, 1.0), (9, 1.0), (0, 0.0)]:
        scheduled.set_step(step)
        assert torch.equal(scheduled.gates, torch.full((2,), value))


class _RecordGates(Task):
    """Random-byte batches; each step records the schedule's gate it ran with."""

    def __init__(self, model: SoloConnected, ids: torch.Tensor) -> None:
        self.model, self.ids = model, ids

    def batches(self, generator):
        while True:
            yield self.ids

    def loss(self, model, batch):
        logits = model(batch[:, :-1])
        return nn.functional.cross_entropy(logits.flatten(0, 1), batch[:, 1:].flatten())

    def evaluate(self, model):
        return {"gate": float(self.model.solo.gates[0])}

    def step(self, model, optimizer, batch, search_batch):
        gate = float(self.model.solo.gates[0])
        return {**super().step(model, optimizer, batch, search_batch), "gate": gate}


def test_schedule_follows_fit_steps(base, ids):
    adapted = SoloConnected(copy.deepcopy(base), rank=2, stride=2, gate="schedule",
                            gate_steps=4).double()
    optimizer = torch.optim.SGD([p for p in adapted.parameters() if p.requires_grad], lr=0.1)
    history = fit(_RecordGates(adapted, ids), adapted, optimizer, steps=6,
                  callback=adapted.solo.gate_callback, progress=False)
    assert [record["gate"] for record in history.steps] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]


def test_minilm_blocks_and_parameter_count(minilm):
    encoder, batch = minilm
    expected = encoder(**batch).last_hidden_state
    adapted = SoloConnected(copy.deepcopy(encoder), rank=8, stride=2)
    assert adapted.solo.pairs == [(2, 4), (4, 6)]
    assert count_trainable(adapted).trainable == 7322
    assert torch.equal(adapted(**batch).last_hidden_state, expected)


def test_bad_inputs_raise(base):
    with pytest.raises(ValueError, match="Invalid stride value: 3"):
        connections(5, 3)
    with pytest.raises(ValueError, match="Invalid gate value: 'sometimes'"):
        SoloConnection(8, 2, 6, gate="sometimes")
    with pytest.raises(ValueError, match="Invalid init value"):
        SoloConnection(8, 2, 6, init="random")
    with pytest.raises(TypeError, match="gate_steps must be an int"):
        SoloConnection(8, 2, 6, gate="schedule")
    with pytest.raises(ValueError, match="Invalid gate_steps value"):
        SoloConnection(8, 2, 6, gate_steps=10)
    with pytest.raises(ValueError, match="Invalid gate_init value"):
        SoloConnection(8, 2, 6, gate="schedule", gate_steps=3, gate_init=0.5)
    with pytest.raises(ValueError, match="Invalid rank value: 0"):
        SoloConnected(base, rank=0)
    with pytest.raises(RuntimeError, match="gate='schedule'"):
        SoloConnection(8, 2, 6).set_step(3)
    solo = SoloConnection(32, 2, 4)
    with pytest.raises(ValueError, match="Invalid blocks value: 3 blocks"):
        solo.attach(base.blocks[:3])
    solo.attach(base.blocks)
    with pytest.raises(RuntimeError, match="already attached"):
        solo.attach(base.blocks)
    with pytest.raises(ValueError, match="0 block lists"):
        find_blocks(nn.Sequential(nn.Linear(2, 2)))
    with pytest.raises(TypeError, match="base must be an nn.Module"):
        SoloConnected("gpt", rank=2)
    assert isinstance(find_blocks(GPT("tiny")), nn.ModuleList)
