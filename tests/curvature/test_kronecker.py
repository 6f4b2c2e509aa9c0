"""Kronecker factors: A kron G equals the dense Fisher / Gauss-Newton block where KFAC is exact,
the factors equal explicit sums over examples and positions, and hooks leave no trace."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from deepoptim import curvature as cv

ATOL = 1e-12


def column_vec(matrix: torch.Tensor) -> torch.Tensor:
    return matrix.T.reshape(-1)


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _no_hooks(model: nn.Module) -> bool:
    return all(not m._forward_hooks and not m._forward_pre_hooks and not m._backward_hooks
               for m in model.modules())


def _mlp(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3)).double()


def test_one_example_gives_the_empirical_fisher_block_of_every_layer():
    """With one example KFAC's independence assumption holds exactly:
    vec(grad) vec(grad)^T = (a a^T) kron (g g^T) for each layer (bias as last column)."""
    model = _mlp()
    x = torch.randn(1, 4, generator=_generator(1), dtype=torch.float64)
    y = torch.tensor([2])
    factors = cv.KroneckerFactors(model)
    with factors.record():
        F.cross_entropy(model(x), y).backward()
    assert list(factors.factors) == ["0", "2"]
    for name in ("0", "2"):
        layer = model.get_submodule(name)
        gradient = column_vec(cv.layer_matrix(layer, layer.weight.grad, layer.bias.grad))
        found = factors.factors[name]
        torch.testing.assert_close(torch.kron(found.a, found.g), torch.outer(gradient, gradient),
                                   rtol=0, atol=ATOL)
        assert found.updates == 1
    assert _no_hooks(model)


def test_the_gauss_newton_factor_of_a_linear_gaussian_model_is_its_hessian():
    """For s = W a + b with loss 1/N sum 1/2 ||s - y||^2 the Hessian is (1/N sum a a^T) kron I.
    Back-propagating each output column (the factorisation of the output Hessian I), one pass
    each, makes G the exact expectation: A kron G equals the dense Hessian."""
    torch.manual_seed(0)
    layer = nn.Linear(3, 4).double()
    x = torch.randn(20, 3, generator=_generator(2), dtype=torch.float64)
    y = torch.randn(20, 4, generator=_generator(3), dtype=torch.float64)

    def loss_fn(out, target):
        return 0.5 * ((out - target) ** 2).sum(dim=1).mean()

    dense = cv.dense_hessian(layer, loss_fn, x, y)
    rows, columns = 4, 3 + 1  # [W b] is 4 x 4; its column-major vec against the flat order
    flat = torch.cat([torch.arange(rows * 3).reshape(rows, 3),
                      rows * 3 + torch.arange(rows).unsqueeze(1)], dim=1)
    order = column_vec(flat)
    factors = cv.KroneckerFactors(layer)
    with factors.record():
        out = layer(x)
        for c in range(rows):
            torch.autograd.grad(out[:, c].mean(), layer.weight, retain_graph=True)
    found = factors.factors[""]
    torch.testing.assert_close(found.g, torch.eye(rows, dtype=torch.float64), rtol=0, atol=ATOL)
    torch.testing.assert_close(torch.kron(found.a, found.g), dense[order][:, order], rtol=0,
                               atol=ATOL)
    assert columns == len(found.a)


def _conv2d_patches(x, kernel, stride, dilation, padding):
    """Every (example, output pixel) patch, channel-major, by explicit slicing."""
    n, c, h, w = x.shape
    padded = torch.zeros(n, c, h + 2 * padding, w + 2 * padding, dtype=x.dtype)
    padded[:, :, padding:padding + h, padding:padding + w] = x
    extent = dilation * (kernel - 1) + 1
    out_h = (h + 2 * padding - extent) // stride + 1
    out_w = (w + 2 * padding - extent) // stride + 1
    patches = [padded[:, :, i * stride:i * stride + extent:dilation,
                      j * stride:j * stride + extent:dilation].reshape(n, -1)
               for i in range(out_h) for j in range(out_w)]
    return torch.stack(patches, dim=1), out_h * out_w  # (n, T, c k k)


def _conv1d_circular_patches(x, kernel):
    """Every (example, position) patch of a 'same', circular, stride-1 convolution."""
    pad = (kernel - 1) // 2
    padded = torch.cat([x[..., -pad:], x, x[..., :pad]], dim=-1)
    length = x.shape[-1]
    patches = [padded[:, :, t:t + kernel].reshape(len(x), -1) for t in range(length)]
    return torch.stack(patches, dim=1), length


class _ConvNet(nn.Module):
    def __init__(self, conv: nn.Module, features: int) -> None:
        super().__init__()
        self.conv = conv
        self.head = nn.Linear(features, 3)

    def forward(self, x):
        return self.head(torch.tanh(self.conv(x)).flatten(1))


@pytest.mark.parametrize("kind", ["conv2d", "conv1d"])
def test_convolution_factors_are_sums_over_examples_and_positions(kind):
    """A = 1/N sum_{i,t} a a^T, G = 1/(N T) sum_{i,t} g g^T over explicitly sliced patches,
    in the layout of the weight: sum_{i,t} dL/ds_{i,t} a_{i,t}^T is the weight's gradient."""
    torch.manual_seed(0)
    generator = _generator(4)
    if kind == "conv2d":
        conv = nn.Conv2d(2, 3, 3, stride=2, dilation=2, padding=1)
        x = torch.randn(5, 2, 9, 8, generator=generator, dtype=torch.float64)
        patches, positions = _conv2d_patches(x, 3, 2, 2, 1)
        features = 3 * 4 * 3
    else:
        conv = nn.Conv1d(2, 3, 3, padding="same", padding_mode="circular")
        x = torch.randn(5, 2, 7, generator=generator, dtype=torch.float64)
        patches, positions = _conv1d_circular_patches(x, 3)
        features = 3 * 7
    model = _ConvNet(conv, features).double()
    y = torch.randint(0, 3, (5,), generator=generator)
    factors = cv.KroneckerFactors(model, layers=["conv"])
    outputs = {}
    handle = conv.register_forward_hook(lambda m, i, o: outputs.setdefault("s", o))
    with factors.record():
        loss = F.cross_entropy(model(x), y)
        outputs["s"].retain_grad()
        loss.backward()
    handle.remove()
    a = torch.cat([patches, torch.ones(5, positions, 1, dtype=torch.float64)], dim=2)
    g = outputs["s"].grad.movedim(1, -1).reshape(5, positions, 3)
    torch.testing.assert_close(torch.einsum("itc,itd->cd", g, a),
                               cv.layer_matrix(conv, conv.weight.grad, conv.bias.grad),
                               rtol=0, atol=ATOL)
    found = factors.factors["conv"]
    torch.testing.assert_close(found.a, torch.einsum("itc,itd->cd", a, a) / 5, rtol=0,
                               atol=ATOL)
    torch.testing.assert_close(found.g, torch.einsum("itc,itd->cd", 5 * g, 5 * g)
                               / (5 * positions), rtol=0, atol=ATOL)
    assert _no_hooks(conv)


def test_a_convolution_on_one_example_at_one_position_gives_its_fisher_block():
    torch.manual_seed(1)
    conv = nn.Conv2d(2, 3, (3, 2))
    model = _ConvNet(conv, 3).double()
    x = torch.randn(1, 2, 3, 2, generator=_generator(5), dtype=torch.float64)
    factors = cv.KroneckerFactors(model, layers=["conv"])
    with factors.record():
        F.cross_entropy(model(x), torch.tensor([1])).backward()
    gradient = column_vec(cv.layer_matrix(conv, conv.weight.grad, conv.bias.grad))
    found = factors.factors["conv"]
    torch.testing.assert_close(torch.kron(found.a, found.g), torch.outer(gradient, gradient),
                               rtol=0, atol=ATOL)


def test_a_linear_layer_over_tokens_treats_tokens_as_positions():
    torch.manual_seed(2)
    layer = nn.Linear(4, 2, bias=False).double()
    x = torch.randn(3, 5, 4, generator=_generator(6), dtype=torch.float64)  # N=3, T=5
    target = torch.randn(3, 5, 2, generator=_generator(7), dtype=torch.float64)
    factors = cv.KroneckerFactors(layer)
    with factors.record():
        out = layer(x)
        out.retain_grad()
        ((out - target) ** 2).sum(dim=(1, 2)).mean().backward()
    found = factors.factors[""]
    assert found.a.shape == (4, 4) and found.g.shape == (2, 2)  # no bias coordinate
    torch.testing.assert_close(found.a, torch.einsum("itc,itd->cd", x, x) / 3, rtol=0,
                               atol=ATOL)
    g = 3 * out.grad
    torch.testing.assert_close(found.g, torch.einsum("itc,itd->cd", g, g) / 15, rtol=0,
                               atol=ATOL)


def test_factors_are_symmetric_positive_semidefinite_with_the_documented_shapes():
    model = _mlp(3)
    x = torch.randn(16, 4, generator=_generator(8), dtype=torch.float64)
    factors = cv.KroneckerFactors(model)
    with factors.record():
        F.cross_entropy(model(x), torch.arange(16) % 3).backward()
    shapes = {name: (f.a.shape, f.g.shape) for name, f in factors.factors.items()}
    assert shapes == {"0": ((5, 5), (5, 5)), "2": ((6, 6), (3, 3))}
    for found in factors.factors.values():
        for matrix in (found.a, found.g):
            assert torch.equal(matrix, matrix.T)
            assert float(torch.linalg.eigvalsh(matrix)[0]) > -ATOL


def test_a_sum_loss_gives_the_mean_loss_factors_with_reduction_sum():
    model = _mlp(4)
    x = torch.randn(8, 4, generator=_generator(9), dtype=torch.float64)
    y = torch.arange(8) % 3
    by_mean, by_sum = cv.KroneckerFactors(model), cv.KroneckerFactors(model, reduction="sum")
    with by_mean.record():
        F.cross_entropy(model(x), y).backward()
    with by_sum.record():
        F.cross_entropy(model(x), y, reduction="sum").backward()
    for name in ("0", "2"):
        torch.testing.assert_close(by_sum.factors[name].g, by_mean.factors[name].g, rtol=1e-12,
                                   atol=ATOL)


def _record(factors, model, x, y):
    with factors.record():
        F.cross_entropy(model(x), y).backward()


def test_the_moving_average_of_successive_recordings():
    model = _mlp(5)
    batches = [(torch.randn(6, 4, generator=_generator(10 + k), dtype=torch.float64),
                torch.arange(6) % 3) for k in range(2)]
    averaged = cv.KroneckerFactors(model, decay=0.9)
    singles = []
    for x, y in batches:
        _record(averaged, model, x, y)
        single = cv.KroneckerFactors(model)
        _record(single, model, x, y)
        singles.append(single.factors["2"])
    found = averaged.factors["2"]
    assert found.updates == 2
    torch.testing.assert_close(found.a, 0.9 * singles[0].a + 0.1 * singles[1].a, rtol=0,
                               atol=ATOL)
    torch.testing.assert_close(found.g, 0.9 * singles[0].g + 0.1 * singles[1].g, rtol=0,
                               atol=ATOL)
    last = cv.KroneckerFactors(model)  # decay None: the last recording only
    for x, y in batches:
        _record(last, model, x, y)
    assert torch.equal(last.factors["2"].a, singles[1].a) and last.factors["2"].updates == 1


def test_what_is_not_recorded():
    """Forward passes without grad, backward passes after the block, and layers no backward
    pass reaches leave the factors alone."""
    model = _mlp(6)
    x = torch.randn(6, 4, generator=_generator(12), dtype=torch.float64)
    y = torch.arange(6) % 3
    reference = cv.KroneckerFactors(model)
    _record(reference, model, x, y)
    factors = cv.KroneckerFactors(model)
    with factors.record():
        with torch.no_grad():
            model(10 * x)  # not counted
        F.cross_entropy(model(x), y).backward()
    for name in ("0", "2"):
        assert torch.equal(factors.factors[name].a, reference.factors[name].a)
    late = cv.KroneckerFactors(model)
    with late.record():
        loss = F.cross_entropy(model(x), y)
    loss.backward()  # after the block: not seen
    assert late.factors == {}
    frozen_head = cv.KroneckerFactors(model)
    with frozen_head.record():
        hidden = model[1](model[0](x))
        hidden.sum().backward()  # reaches layer 0 only; layer 2 ran no forward
    assert list(frozen_head.factors) == ["0"]


def test_hooks_are_removed_and_factors_kept_after_an_error():
    model = _mlp(7)
    x = torch.randn(4, 4, generator=_generator(13), dtype=torch.float64)
    factors = cv.KroneckerFactors(model)
    _record(factors, model, x, torch.arange(4) % 3)
    before = {name: (f.a.clone(), f.g.clone()) for name, f in factors.factors.items()}
    with pytest.raises(RuntimeError, match="inside"):
        with factors.record():
            F.cross_entropy(model(x), torch.arange(4) % 3).backward()
            raise RuntimeError("an error inside the block")
    assert _no_hooks(model)
    for name, (a, g) in before.items():
        assert torch.equal(factors.factors[name].a, a) and torch.equal(factors.factors[name].g, g)
    bad = x.clone()
    bad[0, 0] = float("inf")
    with pytest.raises(cv.FactorError, match="not finite for layers"):
        _record(factors, model, bad, torch.arange(4) % 3)
    assert _no_hooks(model)
    for name, (a, _) in before.items():
        assert torch.equal(factors.factors[name].a, a)


def test_layer_matrices_round_trip():
    torch.manual_seed(8)
    for layer in (nn.Linear(3, 2), nn.Linear(3, 2, bias=False), nn.Conv2d(2, 4, 3),
                  nn.Conv1d(1, 2, 5, bias=False)):
        matrix = cv.layer_matrix(layer, layer.weight, layer.bias)
        assert matrix.shape == (len(layer.weight),
                                layer.weight[0].numel() + (layer.bias is not None))
        weight, bias = cv.split_layer_matrix(layer, matrix)
        assert torch.equal(weight, layer.weight)
        assert (bias is None) == (layer.bias is None)
        if bias is not None:
            assert torch.equal(bias, layer.bias)


def test_bad_input_is_rejected():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2), nn.Conv1d(2, 2, 1, groups=2))
    with pytest.raises(ValueError, match="Invalid layers 'x' value|Invalid layers value"):
        cv.KroneckerFactors(model, layers=["x"])
    with pytest.raises(ValueError, match="a BatchNorm1d"):
        cv.KroneckerFactors(model, layers=["1"])
    with pytest.raises(ValueError, match="groups=2"):
        cv.KroneckerFactors(model, layers=["2"])
    with pytest.raises(ValueError, match="Invalid decay value: 1.0"):
        cv.KroneckerFactors(model, layers=["0"], decay=1.0)
    with pytest.raises(ValueError, match="Invalid reduction value: 'max'"):
        cv.KroneckerFactors(model, layers=["0"], reduction="max")
    with pytest.raises(ValueError, match="no supported layer"):
        cv.KroneckerFactors(nn.Tanh())
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        cv.KroneckerFactors("model")
    factors = cv.KroneckerFactors(model, layers=["0"])
    with pytest.raises(RuntimeError, match="already active"), factors.record(), \
            factors.record():
        pass
    assert _no_hooks(model)
    with pytest.raises(ValueError, match="Invalid matrix value: shape"):
        cv.split_layer_matrix(model[0], torch.zeros(2, 2))
