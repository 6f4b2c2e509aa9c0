"""The cell-based search space: a cell computes each operation's first stage once per node and
still computes the sum of its whole operations; the additive average pooling is PyTorch's."""

from __future__ import annotations

import collections

import pytest
import torch
from torch import nn

from deepoptim.models import cells
from deepoptim.models.cells import OPERATIONS, CellNet1d, Operation, avg_pool3


@pytest.mark.parametrize("length", [1, 2, 3, 40])
def test_avg_pool3_is_torch_average_pooling_without_padding(length):
    x = torch.randn(4, 3, length, dtype=torch.float64, requires_grad=True)
    reference = nn.AvgPool1d(3, 1, 1, count_include_pad=False)(x)
    ours = avg_pool3(x)
    torch.testing.assert_close(ours, reference)
    upstream = torch.randn_like(reference)
    expected = torch.autograd.grad(reference, x, upstream)[0]
    torch.testing.assert_close(torch.autograd.grad(ours, x, upstream)[0], expected)


def whole_operations_forward(cell: cells.Cell, x: torch.Tensor) -> torch.Tensor:
    """The cell by its definition: every operation applied as a whole to its edge's input."""
    states = [x]
    for j in range(1, cell.nodes + 1):
        incoming = [op(states[i]) for (i, target), ops in zip(cell.edges, cell.ops, strict=True)
                    if target == j for op in ops.values()]
        total = sum(incoming) if incoming else torch.zeros_like(x)
        states.append(total / (j * cell.candidates))
    return sum(states[1:]) / cell.nodes


@pytest.mark.parametrize("train_mode", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("masked", [False, True], ids=["supernet", "architecture"])
def test_cell_with_shared_stages_computes_its_whole_operations(train_mode, masked):
    torch.manual_seed(0)
    mask = torch.rand(6, len(OPERATIONS)) < 0.5 if masked else None
    net = CellNet1d(channels=4, cells=2, mask=mask).double().train(train_mode)
    x = torch.randn(5, 4, 40, dtype=torch.float64)
    for cell in net.cells:
        torch.testing.assert_close(cell(x), whole_operations_forward(cell, x))


def test_a_stage_is_computed_once_per_node(monkeypatch):
    calls = collections.Counter()
    for name, stage in cells.STAGES.items():
        def counted(x, name=name, stage=stage):
            calls[name] += 1
            return stage(x)
        monkeypatch.setitem(cells.STAGES, name, counted)
    net = CellNet1d(channels=2, cells=1, nodes=3)
    net(torch.randn(3, 40))
    # nodes 0, 1 and 2 each feed later nodes: one stage of each kind per node
    assert calls == {"relu": 3, "max_pool3": 3, "avg_pool3": 3, "identity": 3}


def test_operations_are_a_stage_and_a_body_with_the_parameters():
    net = CellNet1d(channels=4, cells=1, nodes=1)
    stages = {name: op.stage for name, op in net.cells[0].ops[0].items()}
    assert stages == {"conv3": "relu", "conv5": "relu", "dil_conv3": "relu",
                      "max_pool3": "max_pool3", "avg_pool3": "avg_pool3", "skip": "identity"}
    with pytest.raises(ValueError, match="Invalid stage value: 'tanh'"):
        Operation("tanh", nn.Identity())
