"""Sequential2D: special cases equal the networks they write (bit for bit, float64), the
feed-forward maps reach their fixed point after ``depth`` iterations, parameter counts add up,
and bad input is refused."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from deepoptim.models import (
    Diagonal,
    LowRankLinear,
    MaskedLinear,
    ScaledIdentity,
    Sequential2D,
    count_effective_parameters,
    count_parameters,
)


@pytest.fixture(autouse=True)
def float64():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(0)
    yield
    torch.set_default_dtype(previous)


def make_sequential() -> nn.Sequential:
    return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 7), nn.Tanh(), nn.Dropout(0.0),
                         nn.Linear(7, 7), nn.ReLU(), nn.Linear(7, 3))


def randomize(model: nn.Module) -> nn.Module:
    """Every parameter drawn at random (the skip blocks start at zero, which tests nothing)."""
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.5)
    return model


def linear_size(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


# ---- MLP: bit-identical to nn.Sequential ---------------------------------------------------

@pytest.mark.parametrize("keep_input, iterations", [(True, None), (True, 9), (False, 4)])
def test_from_sequential_gives_identical_outputs_and_gradients(keep_input, iterations):
    sequential = make_sequential()
    ours = Sequential2D.from_sequential(copy.deepcopy(sequential), keep_input=keep_input,
                                        iterations=iterations)
    x = torch.randn(6, 5)
    out_theirs, out_ours = sequential(x), ours(x)
    assert torch.equal(out_ours, out_theirs)
    out_theirs.square().sum().backward()
    out_ours.square().sum().backward()
    for p_ours, p_theirs in zip(ours.parameters(), sequential.parameters(), strict=True):
        assert torch.equal(p_ours.grad, p_theirs.grad)


def test_from_sequential_shares_the_modules():
    sequential = make_sequential()
    ours = Sequential2D.from_sequential(sequential)
    assert [ours.block(k, k + 1) for k in range(4)] == [sequential[i] for i in (0, 2, 5, 7)]
    assert ours.sizes == [5, 8, 7, 7, 3] and ours.depth == 4 and ours.iterations == 4
    assert isinstance(ours.activations["2"], nn.Sequential)  # Tanh then Dropout
    assert "4" not in ours.activations  # no activation on the output slot


@pytest.mark.parametrize("optimizer", [
    lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
    lambda p: torch.optim.Adam(p, lr=0.01),
])
def test_training_gives_identical_weights(optimizer):
    sequential = make_sequential()
    ours = Sequential2D.from_sequential(copy.deepcopy(sequential))
    data = [(torch.randn(6, 5), torch.randint(0, 3, (6,))) for _ in range(5)]
    for model in (sequential, ours):
        opt = optimizer(model.parameters())
        for x, y in data:
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    for p_ours, p_theirs in zip(ours.parameters(), sequential.parameters(), strict=True):
        assert torch.equal(p_ours, p_theirs)
    assert not torch.equal(ours.block(0, 1).weight, make_sequential()[0].weight)  # it trained


def test_mlp_constructor_is_the_sequential_of_its_blocks():
    ours = Sequential2D.mlp([5, 9, 9, 2], activation=nn.Tanh)
    sequential = plain_mlp(ours)
    x = torch.randn(4, 5)
    assert torch.equal(ours(x), sequential(x))
    assert [type(m) for m in sequential] == [nn.Linear, nn.Tanh] * 2 + [nn.Linear]
    assert isinstance(ours.block(0, 0), nn.Identity) and ours.depth == 3


def test_a_deep_copy_computes_with_its_own_blocks():
    model = Sequential2D.mlp([4, 5, 3])
    clone = copy.deepcopy(model)
    x = torch.randn(2, 4)
    assert torch.equal(clone(x), model(x))
    with torch.no_grad():
        clone.block(1, 2).bias.add_(1.0)
    torch.testing.assert_close(clone(x), model(x) + 1.0, rtol=0, atol=1e-15)
    assert clone.state_dict().keys() == model.state_dict().keys()


# ---- fixed point after depth iterations ----------------------------------------------------

FEEDFORWARD = {
    "mlp": lambda: Sequential2D.mlp([4, 6, 6, 6, 3]),
    "skip_mlp": lambda: randomize(Sequential2D.skip_mlp([4, 6, 6, 6, 3], 2)),
    "dense": lambda: randomize(Sequential2D.dense([4, 6, 5, 6, 3])),
}


@pytest.mark.parametrize("name", sorted(FEEDFORWARD))
def test_feedforward_map_reaches_its_fixed_point_after_depth_iterations(name):
    model = FEEDFORWARD[name]()
    assert model.depth == 4
    x = torch.randn(3, 4)
    start = [x] + [None] * 4
    before, at = model.iterate(start, 3), model.iterate(start, 4)
    # one step short, the output is empty (chain) or lacks the longest path (dense)
    assert before[-1] is None or not torch.equal(before[-1], at[-1])
    recomputed = model.step(at)  # every block evaluated again, nothing reused
    for slot, again in zip(at, recomputed, strict=True):
        assert torch.equal(slot, again)
    later = model.iterate(start, 9)
    assert all(torch.equal(a, b) for a, b in zip(at, later, strict=True))
    # the map is nilpotent apart from the held input: any initial hidden state is forgotten
    noise = [x] + [torch.randn(3, size) for size in model.sizes[1:]]
    assert all(torch.equal(a, b) for a, b in zip(at, model.iterate(noise, 4), strict=True))
    assert not torch.equal(model.iterate(noise, 3)[-1], at[-1])


def test_without_keep_input_the_output_is_lost_after_depth_iterations():
    model = Sequential2D.mlp([4, 5, 3], keep_input=False)
    assert model.depth == 2
    x = torch.randn(2, 4)
    assert model.iterate([x, None, None], 2)[-1] is not None
    assert model.iterate([x, None, None], 3) == [None, None, None]


# ---- skips, DenseNet, weight-shared map, RNN: equal to hand-written networks ---------------

@pytest.mark.parametrize("distance, skip, hidden_only", [
    (2, ScaledIdentity, True),
    (3, Diagonal, True),
    (2, lambda i, o: LowRankLinear(i, o, rank=2), False),
    (3, lambda i, o: MaskedLinear.random(i, o, density=0.5), False),
])
def test_skip_mlp_equals_the_hand_written_network(distance, skip, hidden_only):
    model = randomize(Sequential2D.skip_mlp([4, 6, 6, 6, 6, 3], distance, skip, nn.ReLU,
                                            hidden_only=hidden_only))
    first, last = (1, 4) if hidden_only else (0, 5)
    skips = {(i, i + distance) for i in range(first, last - distance + 1)}
    assert {(i, j) for i in range(6) for j in range(i + 2, 6) if model.block(i, j)} == skips
    x = torch.randn(5, 4)
    h = [x]
    for j in range(1, 6):
        z = model.block(j - 1, j)(h[j - 1])
        if (j - distance, j) in skips:
            z = model.block(j - distance, j)(h[j - distance]) + z  # slots add in source order
        h.append(torch.relu(z) if j < 5 else z)
    assert torch.equal(model(x), h[-1])


def plain_mlp(model: Sequential2D) -> nn.Sequential:
    """The superdiagonal of ``model`` and its slot activations as an ``nn.Sequential``."""
    n = model.n_slots
    modules = [model.block(k - 1, k) for k in range(1, n)]
    activations = [model.activations[str(k)] for k in range(1, n - 1)]
    pairs = zip(modules[:-1], activations, strict=True)
    return nn.Sequential(*[m for pair in pairs for m in pair], modules[-1])


@pytest.mark.parametrize("make", [
    lambda sizes: Sequential2D.skip_mlp(sizes, 2, ScaledIdentity),
    lambda sizes: Sequential2D.skip_mlp(sizes, 3, Diagonal),
    lambda sizes: Sequential2D.skip_mlp(sizes, 2, lambda i, o: LowRankLinear(i, o, 3),
                                        hidden_only=False),
    lambda sizes: Sequential2D.dense(sizes),
])
def test_skips_start_at_zero_so_the_network_starts_as_the_mlp(make):
    model = make([4, 6, 6, 6, 6, 3])
    x = torch.randn(3, 4)
    assert torch.equal(model(x), plain_mlp(model)(x))
    assert count_parameters(model) > count_parameters(plain_mlp(model))


def test_dense_equals_a_linear_map_of_the_concatenated_earlier_slots():
    sizes = [4, 6, 5, 6, 3]
    model = randomize(Sequential2D.dense(sizes, nn.Tanh))
    x = torch.randn(7, 4)
    h = [x]
    for j in range(1, 5):
        weight = torch.cat([model.block(i, j).weight for i in range(j)], dim=1)
        z = torch.cat(h, dim=1) @ weight.T + model.block(j - 1, j).bias
        h.append(torch.tanh(z) if j < 4 else z)
        assert (model.block(j - 2, j) is None) == (j < 2)
        assert j < 2 or model.block(j - 2, j).bias is None  # one bias per slot
    torch.testing.assert_close(model(x), h[-1], rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("iterations", [2, 3, 6])
def test_iterative_map_is_a_weight_tied_deep_network(iterations):
    model = randomize(Sequential2D.iterative(4, 5, 3, iterations=iterations))
    U, W, V = model.block(0, 1), model.block(1, 1), model.block(1, 2)
    x = torch.randn(2, 4)
    h = torch.tanh(U(x))
    for _ in range(iterations - 2):
        h = torch.tanh(U(x) + W(h))
    assert torch.equal(model(x), V(h))
    assert model.depth is None  # the hidden block is a cycle


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_equals_torch_rnn(nonlinearity):
    rnn = nn.RNN(3, 5, nonlinearity=nonlinearity)
    model = Sequential2D.from_rnn(rnn)
    sequence = torch.randn(8, 4, 3)
    out_theirs, h_theirs = rnn(sequence)
    out_ours, state = model.scan(sequence)
    assert torch.equal(out_ours, out_theirs) and torch.equal(state[1], h_theirs[0])
    h0 = torch.randn(1, 4, 5)
    out_theirs, _ = rnn(sequence, h0)
    assert torch.equal(model.scan(sequence, [None, h0[0]])[0], out_theirs)
    out_theirs.sum().backward()
    model.scan(sequence, [None, h0[0]])[0].sum().backward()
    assert torch.equal(model.block(1, 1).weight.grad, rnn.weight_hh_l0.grad)
    assert torch.equal(model.block(1, 1).bias.grad, rnn.bias_hh_l0.grad)
    # torch projects all T tokens in one product: the input gradients sum in another order
    torch.testing.assert_close(model.block(0, 1).weight.grad, rnn.weight_ih_l0.grad,
                               rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(model.block(0, 1).bias.grad, rnn.bias_ih_l0.grad,
                               rtol=1e-13, atol=1e-13)


def test_rnn_with_internal_iterations_applies_the_cell_k_times_per_token():
    rnn = nn.RNN(3, 4)
    model = Sequential2D.from_rnn(rnn, iterations=2)
    W_ih, W_hh = model.block(0, 1), model.block(1, 1)
    sequence = torch.randn(5, 2, 3)
    h, outputs = torch.zeros(2, 4), []
    for x in sequence:
        for _ in range(2):
            h = torch.tanh(W_ih(x) + W_hh(h))
        outputs.append(h)
    assert torch.equal(model.scan(sequence)[0], torch.stack(outputs))


# ---- parameter counts -----------------------------------------------------------------------

def test_parameter_counts_add_up_block_by_block():
    sizes = [5, 6, 6, 6, 2]
    mlp = Sequential2D.mlp(sizes)
    mlp_count = sum(linear_size(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    assert count_parameters(mlp) == count_effective_parameters(mlp) == mlp_count
    assert count_parameters(Sequential2D.mlp([784, 128, 128, 10])) == 118_282  # notes §9.2
    # distance 2: one skip between hidden slots (1 -> 3), three between all slots
    assert count_parameters(Sequential2D.skip_mlp(sizes, 2, ScaledIdentity)) == mlp_count + 1
    assert count_parameters(Sequential2D.skip_mlp(sizes, 2, Diagonal)) == mlp_count + 6
    low_rank = Sequential2D.skip_mlp(sizes, 2, lambda i, o: LowRankLinear(i, o, rank=3),
                                     hidden_only=False)
    assert count_parameters(low_rank) == mlp_count + 3 * ((5 + 6) + (6 + 6) + (6 + 2))
    dense = Sequential2D.dense(sizes)  # six extra bias-free blocks above the superdiagonal
    extra = sum(sizes[i] * sizes[j] for j in range(2, 5) for i in range(j - 1))
    assert count_parameters(dense) == mlp_count + extra


def test_masked_blocks_count_their_mask_and_shared_blocks_count_once():
    generator = torch.Generator().manual_seed(0)
    sizes = [5, 6, 6, 2]
    model = Sequential2D.dense(sizes, skip=lambda i, o: MaskedLinear.random(
        i, o, 0.3, bias=False, generator=generator))
    masks = [model.block(i, j).mask for j in range(2, 4) for i in range(j - 1)]
    kept = sum(int(mask.sum()) for mask in masks)
    assert 0 < kept < sum(mask.numel() for mask in masks)
    assert count_effective_parameters(model) == \
        linear_size(5, 6) + linear_size(6, 6) + linear_size(6, 2) + kept
    assert count_parameters(model) == count_effective_parameters(model) - kept + \
        sum(mask.numel() for mask in masks)  # the dense count ignores the masks
    shared = nn.Linear(4, 4)
    tied = Sequential2D([[nn.Identity(), shared, None], [None, None, shared], [None, None, None]])
    assert count_effective_parameters(tied) == linear_size(4, 4)


# ---- blocks ---------------------------------------------------------------------------------

def test_masked_linear_is_a_linear_layer_with_the_masked_weight():
    layer = MaskedLinear.random(6, 4, density=0.5)
    x = torch.randn(3, 6)
    dense = nn.functional.linear(x, layer.weight * layer.mask, layer.bias)
    assert torch.equal(layer(x), dense)
    assert torch.equal(layer.weight * (1 - layer.mask), torch.zeros(4, 6))
    layer(x).square().sum().backward()
    assert torch.equal(layer.weight.grad * (1 - layer.mask), torch.zeros(4, 6))
    assert layer.weight.grad.abs().sum() > 0


def test_skip_blocks_compute_their_maps():
    x = torch.randn(3, 4)
    assert torch.equal(ScaledIdentity(4, init=0.5)(x), 0.5 * x)
    diagonal = Diagonal(4, init=2.0)
    assert torch.equal(diagonal(x), 2.0 * x)
    low = randomize(LowRankLinear(4, 5, rank=2, bias=True))
    torch.testing.assert_close(low(x), x @ (low.B @ low.A).T + low.bias, rtol=1e-14, atol=1e-14)


# ---- bad input ------------------------------------------------------------------------------

def lin(a, b):
    return nn.Linear(a, b)


BAD = [
    (lambda: Sequential2D([[None, lin(2, 3)], [None]]), ValueError,
     r"Invalid blocks value: row 1 has 1 entries \(expected 2"),
    (lambda: Sequential2D([[None, "W"], [None, None]]), TypeError,
     r"blocks\[0\]\[1\] must be an nn.Module or None, got str"),
    (lambda: Sequential2D([[None, lin(2, 3), None], [None, None, lin(4, 1)], [None] * 3]),
     ValueError, r"block \(1, 2\) needs 4 features in slot 1, but block \(0, 1\) gives it 3"),
    (lambda: Sequential2D([[nn.Identity(), lin(2, 3)], [lin(3, 3), None]]), ValueError,
     r"block \(1, 0\) needs 3 features in slot 0, but block \(0, 1\) gives it 2"),
    (lambda: Sequential2D([[None, lin(2, 3)], [None, None]], [nn.ReLU()]), ValueError,
     r"Invalid activations value: 1 entries \(expected 2, one per slot\)"),
    (lambda: Sequential2D([[None, lin(2, 3)], [None, None]], iterations=0), ValueError,
     r"Invalid iterations value: 0"),
    (lambda: Sequential2D.mlp([4, 5, 5, 3], iterations=2), ValueError,
     r"Invalid iterations value: 2 \(expected iterations >= 3\)"),
    (lambda: Sequential2D.mlp([4, 5, 5, 3], keep_input=False, iterations=4), ValueError,
     r"Invalid iterations value: 4 \(expected 3: without keep_input"),
    (lambda: Sequential2D.mlp([4]), ValueError, r"Invalid sizes value: \[4\]"),
    (lambda: Sequential2D.mlp([4, 0, 3]), ValueError, r"Invalid sizes entry value: 0"),
    (lambda: Sequential2D.skip_mlp([4, 5, 5, 3], 2), ValueError,
     r"Invalid distance value: 2 \(no two hidden slots"),
    (lambda: Sequential2D.skip_mlp([4, 5, 5, 5, 3], 1), ValueError,
     r"Invalid distance value: 1 \(expected distance >= 2\)"),
    (lambda: Sequential2D.skip_mlp([4, 5, 6, 6, 3], 2), ValueError,
     r"Invalid out_features value: 6 \(expected 5 = in_features"),
    (lambda: Sequential2D.iterative(3, 4, 2, iterations=1), ValueError,
     r"Invalid iterations value: 1 \(expected iterations >= 2\)"),
    (lambda: Sequential2D.from_sequential(nn.Sequential(nn.Flatten(), lin(2, 3))), ValueError,
     r"module 0 \(Flatten\) comes before the first layer"),
    (lambda: Sequential2D.from_sequential([lin(2, 3)]), TypeError,
     r"sequential must be an nn.Sequential, got list"),
    (lambda: Sequential2D.from_rnn(nn.RNN(2, 3, num_layers=2)), ValueError,
     r"Invalid rnn value: num_layers=2 \(expected 1\)"),
    (lambda: Sequential2D.from_rnn(nn.GRU(2, 3)), TypeError, r"rnn must be an nn.RNN, got GRU"),
    (lambda: MaskedLinear(3, 2, torch.ones(3, 2)), ValueError,
     r"Invalid mask value: a tensor of shape \(3, 2\) \(expected 0/1 entries, shape \(2, 3\)\)"),
    (lambda: MaskedLinear.random(3, 2, density=0.0), ValueError, r"Invalid density value: 0.0"),
    (lambda: LowRankLinear(3, 2, rank=0), ValueError, r"Invalid rank value: 0"),
]


@pytest.mark.parametrize("make, error, message", BAD)
def test_bad_construction_is_refused_naming_the_value(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_bad_slots_are_refused_naming_the_value():
    model = Sequential2D.mlp([4, 5, 3])
    with pytest.raises(ValueError, match=r"Invalid slots value: 2 entries \(expected 3, one"):
        model.iterate([torch.randn(2, 4), None])
    with pytest.raises(ValueError, match=r"Invalid slots value: slot 0 has shape \(2, 6\) "
                                         r"\(expected 4 features"):
        model(torch.randn(2, 6))
    with pytest.raises(TypeError, match=r"slots\[1\] must be a Tensor or None, got list"):
        model.iterate([torch.randn(2, 4), [1.0], None])
    with pytest.raises(TypeError, match=r"slots must be a list of tensors or None, got Tensor"):
        model.iterate(torch.randn(2, 4))
    with pytest.raises(ValueError, match=r"Invalid iterations value: 0"):
        model.iterate([torch.randn(2, 4), None, None], 0)
    with pytest.raises(RuntimeError, match=r"output slot 2 is empty after 1 iterations"):
        Sequential2D(
            [[nn.Identity(), lin(4, 5), None], [None, None, lin(5, 3)], [None] * 3])(
            torch.randn(2, 4))
