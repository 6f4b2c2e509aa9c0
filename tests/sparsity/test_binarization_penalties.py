"""The binarisation penalty has the gradients of the paper's code; binarize takes signs; the
subgradient baseline's penalised loss."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deepoptim import sparsity


def test_penalty_gradients():
    x = torch.randn(5, dtype=torch.float64, requires_grad=True)
    (a,) = sparsity.binarization_aux([x], value=0.3)
    mu = 0.8
    sparsity.binarization_penalty([x], [a], mu).backward()
    torch.testing.assert_close(x.grad, mu / 2 * (x.detach() + 2 * a.detach() - 1))
    torch.testing.assert_close(a.grad, mu * x.detach())


def test_binarize_replaces_only_the_chosen_weights():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    binary = sparsity.binarize(model, [model[0].weight, model[2].weight])
    assert set(binary[0].weight.unique().tolist()) <= {-1.0, 1.0}
    assert torch.equal(binary[0].bias, model[0].bias)
    assert not torch.equal(binary[0].weight, model[0].weight)
    with pytest.raises(ValueError, match="Invalid weights value"):
        sparsity.binarize(model, [torch.zeros(2)])
    with pytest.raises(ValueError, match="Invalid value value: 1.5"):
        sparsity.binarization_aux([torch.zeros(2)], value=1.5)


def test_penalized_loss_adds_l1_and_l2():
    w = torch.tensor([1.0, -2.0])
    loss = sparsity.penalized_loss(lambda logits, y: logits.sum(), [w], l1=0.5, l2=0.2)
    assert float(loss(torch.tensor([3.0]), None)) == pytest.approx(3 + 0.5 * 3 + 0.1 * 5)
    with pytest.raises(ValueError, match="Invalid l1 value: -1"):
        sparsity.penalized_loss(lambda logits, y: logits, [w], l1=-1)
