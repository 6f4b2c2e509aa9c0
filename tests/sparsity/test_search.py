"""The cell-based search space: operation groups span cells, pruning operations keeps the
function of the supernet with zeroed groups, random architectures have the requested size."""

from __future__ import annotations

import pytest
import torch

from deepoptim import sparsity
from deepoptim.models.cells import OPERATIONS, CellNet1d
from deepoptim.optim import ProxSGD


def supernet() -> CellNet1d:
    torch.manual_seed(0)
    return CellNet1d(channels=4, cells=2, nodes=2).double()


def test_supernet_groups_one_operation_across_all_cells():
    net = supernet()
    groups = net.operation_parameters()
    assert len(groups) == 3 * len(OPERATIONS)  # 3 edges for 2 nodes
    assert len(groups[(0, "conv3")]) == 2 * 3  # conv weight, bn weight, bn bias in each cell
    assert len(groups[(2, "skip")]) == 2
    param_groups = sparsity.operation_param_groups(net, mu=0.1)
    counted = sum(p.numel() for g in param_groups for p in g["params"])
    assert counted == sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("train_mode", [False, True], ids=["eval", "train"])
def test_pruned_operations_equal_supernet_with_zeroed_groups(train_mode):
    net = supernet()
    groups = net.operation_parameters()
    with torch.no_grad():
        for key in [(0, "conv5"), (1, "skip"), (2, "max_pool3"), (2, "dil_conv3")]:
            for p in groups[key]:
                p.zero_()
    pruned = sparsity.prune_operations(net, threshold=0.0)
    assert int(pruned.mask.sum()) == 3 * len(OPERATIONS) - 4
    x = torch.randn(6, 40, dtype=torch.float64)
    net.train(train_mode)
    pruned.train(train_mode)
    torch.testing.assert_close(pruned(x), net(x))
    assert sum(p.numel() for p in pruned.parameters()) < sum(p.numel() for p in net.parameters())


def test_group_lasso_step_removes_operations_whose_group_is_below_mu():
    """One step with lr = 1 lands on the proximal point: every operation group is zero."""
    net = supernet()
    optimizer = ProxSGD(sparsity.operation_param_groups(net, mu=50.0), lr=1.0, lr_decay=0.0)
    x, y = torch.randn(16, 40, dtype=torch.float64), torch.randint(0, 10, (16,))
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(net(x), y).backward()
    optimizer.step()
    assert optimizer.state["diagnostics"]["prox_zero_groups"] == 1.0
    assert not sparsity.found_architecture(net).any()
    assert sparsity.operation_norms(net).max() == 0


def test_random_architecture_and_errors():
    generator = torch.Generator().manual_seed(0)
    mask = sparsity.random_architecture(6, 5, 7, generator)
    assert mask.shape == (6, 5) and int(mask.sum()) == 7
    with pytest.raises(ValueError, match="Invalid count value: 31"):
        sparsity.random_architecture(6, 5, 31)
    with pytest.raises(ValueError, match="Invalid mask value"):
        CellNet1d(nodes=2, mask=torch.ones(2, 6, dtype=torch.bool))
    with pytest.raises(ValueError, match="Invalid operation value: 'conv7'"):
        CellNet1d(operations=("conv3", "conv7"))
