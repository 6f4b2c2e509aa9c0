"""Homotopy activations: the identity at lambda = 0 and the activation at 1, exactly; a converted
network is affine at 0; no dead ReLU units below 1; one shared lambda; the derivative in lambda;
bad input refused."""

import math

import pytest
import torch
from torch import nn

from deepoptim.continuation import Homotopy, HomotopyActivation, homotopize

from .problems import DTYPE, homotopy_mlp

KINDS = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}


def _inputs():
    v = torch.linspace(-5, 5, 101, dtype=DTYPE)
    return torch.cat([v, torch.tensor([0.0, -0.0, 1e-300, -1e300, 1e300], dtype=DTYPE)])


@pytest.mark.parametrize("kind", KINDS)
def test_the_ends_are_exactly_the_identity_and_the_activation(kind):
    homotopy = Homotopy(0.0)
    act, v = HomotopyActivation(kind, homotopy), _inputs()
    assert torch.equal(act(v), v)
    homotopy.lam = 1.0
    assert torch.equal(act(v), KINDS[kind](v))
    homotopy.lam = 0.3
    torch.testing.assert_close(act(v[:101]), 0.7 * v[:101] + 0.3 * KINDS[kind](v[:101]),
                               rtol=0, atol=1e-15)


@pytest.mark.parametrize("activation", [nn.ReLU, nn.Tanh, nn.Sigmoid])
def test_a_converted_network_is_affine_at_lambda_zero(activation):
    model, homotopy = homotopy_mlp(activation)
    assert sum(isinstance(m, HomotopyActivation) for m in model.modules()) == 2
    generator = torch.Generator().manual_seed(1)
    x, y = torch.randn(2, 5, 1, generator=generator, dtype=DTYPE)
    a, b = 0.7, -1.9
    zero = torch.zeros_like(x)
    torch.testing.assert_close(model(a * x + b * y),
                               a * model(x) + b * model(y) + (1 - a - b) * model(zero),
                               rtol=0, atol=1e-13)
    jacobian = [torch.autograd.functional.jacobian(model, torch.full((1, 1), t, dtype=DTYPE))
                for t in (-3.0, 0.0, 0.4, 2.5)]
    assert all(torch.allclose(j, jacobian[0], rtol=0, atol=1e-14) for j in jacobian)
    homotopy.lam = 1.0  # the original network, which is not affine
    assert not torch.allclose(model(a * x + b * y),
                              a * model(x) + b * model(y) + (1 - a - b) * model(zero))


def test_at_lambda_one_the_converted_network_is_the_original():
    def plain():
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(1, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(inplace=True),
                             nn.Linear(8, 1)).to(DTYPE)

    converted, original = plain(), plain()
    homotopy = homotopize(converted, lam=1.0)
    assert homotopy.lam == 1.0 and converted[1].homotopy is homotopy is converted[3].homotopy
    x = torch.linspace(-2, 2, 17, dtype=DTYPE).unsqueeze(1)
    assert torch.equal(converted(x), original(x))


@pytest.mark.parametrize("lam", [0.0, 0.25, 0.999])
def test_the_relu_homotopy_has_no_dead_units_below_one(lam):
    v = _inputs()[:104].clone().requires_grad_(True)  # includes 0 and -0
    HomotopyActivation(nn.ReLU(inplace=True), Homotopy(lam))(v).sum().backward()
    assert torch.all(v.grad >= 1 - lam) and torch.all(v.grad > 0)
    assert set(v.grad.unique().tolist()) <= {1 - lam, 1.0}


def test_at_one_the_relu_units_can_die():
    v = torch.tensor([-1.0, 2.0], dtype=DTYPE, requires_grad=True)
    HomotopyActivation("relu", Homotopy(1.0))(v).sum().backward()
    assert v.grad.tolist() == [0.0, 1.0]


def test_one_lambda_is_shared_and_tracking_gives_its_derivative():
    model, homotopy = homotopy_mlp(nn.Tanh)
    x = torch.linspace(-1, 1, 7, dtype=DTYPE).unsqueeze(1)
    homotopy.lam = 0.4
    before = model(x)
    homotopy.lam = 0.6  # one assignment changes every layer
    assert not torch.equal(model(x), before)
    h, values = 1e-6, []
    for lam in (0.6 - h, 0.6 + h):
        homotopy.lam = lam
        with torch.no_grad():
            values.append(float(model(x).sum()))
    homotopy.lam = 0.6
    homotopy.tracking(True)
    model(x).sum().backward()
    assert math.isclose(float(homotopy.variable.grad), (values[1] - values[0]) / (2 * h),
                        rel_tol=1e-7)
    homotopy.tracking(False)
    assert homotopy.variable is None and homotopy.value == 0.6


@pytest.mark.parametrize("lam", [-0.1, 1.0000001, math.nan, math.inf, -math.inf])
def test_lambda_outside_the_unit_interval_is_refused(lam):
    with pytest.raises(ValueError, match=f"Invalid lam value: {lam!r}"):
        Homotopy(lam)
    homotopy = Homotopy(0.5)
    with pytest.raises(ValueError, match="expected 0 <= lam <= 1"):
        homotopy.lam = lam
    assert homotopy.lam == 0.5
    with pytest.raises(ValueError, match="Invalid lam value"):
        homotopize(nn.Sequential(nn.Linear(1, 1), nn.ReLU()), lam=lam)


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="lam must be a real number, got bool"):
        Homotopy(True)
    with pytest.raises(TypeError, match="lam must be a real number, got Tensor"):
        Homotopy(torch.tensor(0.5))
    with pytest.raises(ValueError, match="Invalid activation value: 'gelu'"):
        HomotopyActivation("gelu", Homotopy())
    with pytest.raises(TypeError, match="got GELU"):
        HomotopyActivation(nn.GELU(), Homotopy())
    with pytest.raises(TypeError, match="homotopy must be a Homotopy, got float"):
        HomotopyActivation("relu", 0.5)
    with pytest.raises(ValueError, match="no nn.ReLU, nn.Tanh or nn.Sigmoid module"):
        homotopize(nn.Sequential(nn.Linear(2, 2), nn.GELU()))
    model, _ = homotopy_mlp()
    with pytest.raises(ValueError, match="homotopy activations already"):
        homotopize(model)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        homotopize(lambda x: x)


def test_the_holder_saves_and_restores_lambda():
    homotopy = Homotopy(0.25)
    other = Homotopy()
    other.load_state_dict(homotopy.state_dict())
    assert other.lam == 0.25 and repr(other) == "Homotopy(lam=0.25)"
