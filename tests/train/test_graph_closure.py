"""Closures keep the gradient's graph for an optimizer that asks for it (``create_graph``), so
the training loop runs SGD-PH, whose probes differentiate the gradient again."""

import torch
from torch import nn

from deepoptim import data, models, train
from deepoptim.optim import SGDPH, channelwise_param_groups


def test_closure_keeps_the_graph_only_for_an_optimizer_that_asks():
    weight = nn.Parameter(torch.tensor([1.0, 2.0]))
    loss_of = lambda: (weight ** 3).sum()  # noqa: E731
    plain = torch.optim.SGD([weight], lr=0.1)
    train.closure_of(loss_of, plain)()
    assert weight.grad.grad_fn is None
    graph = SGDPH([{"params": [weight], "precondition": True}])
    assert SGDPH.create_graph is True
    train.closure_of(loss_of, graph)()
    assert weight.grad.grad_fn is not None
    # the gradient's graph gives the Hessian's diagonal, 6 w
    (second,) = torch.autograd.grad(weight.grad.sum(), weight)
    torch.testing.assert_close(second, 6 * weight.detach())


def test_train_runs_sgdph_on_a_batchnorm_network_and_records_its_probes():
    torch.manual_seed(0)
    digits = data.digits()
    model = models.build_model("digits_cnn", channels=(4,))
    optimizer = SGDPH(channelwise_param_groups(model), lr=0.05)
    history = train.train(model, optimizer, digits, steps=3, batch_size=32, progress=False)
    steps = history.steps_frame()
    assert list(steps["refreshes"]) == [1, 2, 3]
    assert (steps["preconditioner_seconds"] > 0).all()
    assert not history.diverged
