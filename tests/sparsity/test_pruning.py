"""Filter/neuron pruning: the pruned network equals the unpruned one with zeroed groups, the
groups are the rows ProxSGD shrinks together, and FLOPs and sparsity are counted exactly."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deepoptim import models, sparsity
from deepoptim.optim import ProxSGD


def cnn() -> nn.Sequential:
    torch.manual_seed(0)
    return sparsity.as_sequential(models.DigitsCNN(channels=(6, 8))).double()


def randomise_batch_norm(seq: nn.Sequential) -> None:
    """Non-trivial running statistics and affine parameters."""
    with torch.no_grad():
        for layer in seq:
            if isinstance(layer, nn.BatchNorm2d):
                layer.running_mean.uniform_(-1, 1)
                layer.running_var.uniform_(0.5, 2)
                layer.weight.uniform_(0.5, 1.5)
                layer.bias.uniform_(-0.5, 0.5)


@pytest.mark.parametrize("train_mode", [False, True], ids=["eval", "train"])
def test_pruned_cnn_equals_network_with_zeroed_filters(train_mode):
    seq = cnn()
    randomise_batch_norm(seq)
    with torch.no_grad():  # filters 1 and 4 of conv 0, filter 2 of conv 4: groups small
        for index, rows in ((0, [1, 4]), (4, [2])):
            for tensor in sparsity.unit_groups(seq)[index]:
                tensor[rows] *= 1e-7
    zeroed = sparsity.zero_small_units(seq, threshold=1e-5)
    assert zeroed == 3
    pruned, units = sparsity.prune_sequential(seq, threshold=1e-5)
    assert [len(k) for k in units.kept.values()] == [4, 7]
    assert pruned[0].weight.shape == (4, 1, 3, 3) and pruned[4].weight.shape == (7, 4, 3, 3)
    assert pruned[-1].in_features == 7 * 2 * 2
    x = torch.randn(5, 1, 8, 8, dtype=torch.float64)
    seq.train(train_mode)
    pruned.train(train_mode)
    torch.testing.assert_close(pruned(x), seq(x))
    assert models.count_parameters(pruned) < models.count_parameters(seq)


def test_pruned_mlp_equals_network_with_zeroed_neurons_and_input_is_untouched():
    torch.manual_seed(0)
    seq = sparsity.as_sequential(models.MLP(hidden=(10, 7))).double()
    with torch.no_grad():
        seq[1].weight[[0, 3, 9]] = 0
        seq[1].bias[[0, 3, 9]] = 0
    before = [p.clone() for p in seq.parameters()]
    pruned, units = sparsity.prune_sequential(seq)
    assert units.kept[1].tolist() == [1, 2, 4, 5, 6, 7, 8] and len(units.kept[3]) == 7
    assert units.fraction_kept == pytest.approx(14 / 17)
    x = torch.randn(4, 40, dtype=torch.float64)
    torch.testing.assert_close(pruned(x), seq(x))
    assert all(torch.equal(a, b) for a, b in zip(before, seq.parameters(), strict=True))


def test_unit_param_groups_match_proxsgd_row_groups():
    seq = cnn()
    groups = sparsity.unit_param_groups(seq, mu=0.1)
    assert [len(g["params"]) for g in groups] == [4, 4, 2]  # conv w, b, bn w, b; classifier
    optimizer = ProxSGD(groups)
    norms = sparsity.unit_norms(seq)
    for index, group_norms in zip(norms, optimizer.group_norms(), strict=False):
        torch.testing.assert_close(norms[index], group_norms)


def test_every_layer_keeps_at_least_one_unit():
    seq = cnn()
    with torch.no_grad():
        for tensor in sparsity.unit_groups(seq)[0]:
            tensor.zero_()
    pruned, units = sparsity.prune_sequential(seq)
    assert len(units.kept[0]) == 1
    assert pruned(torch.randn(2, 1, 8, 8, dtype=torch.float64)).shape == (2, 10)


def test_count_flops_by_hand():
    seq = nn.Sequential(nn.Conv1d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                        nn.Linear(4 * 10, 5))
    expected = 2 * (10 * 4 * 3 + 40 * 5)
    assert sparsity.count_flops(seq, torch.randn(7, 1, 10)) == expected


def test_threshold_sparsity():
    params = [torch.tensor([0.0, 1e-5, -2e-4]), torch.tensor([[0.5, -5e-5]])]
    assert sparsity.threshold_sparsity(params, 1e-4) == pytest.approx(3 / 5)


def test_invalid_inputs_name_the_value():
    with pytest.raises(ValueError, match="Invalid layer value: Sigmoid at index 1"):
        sparsity.prune_sequential(nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1)))
    with pytest.raises(ValueError, match="Invalid threshold value: -1"):
        sparsity.prune_sequential(cnn(), threshold=-1)
    with pytest.raises(ValueError, match="Invalid model value: a CNN1d"):
        sparsity.as_sequential(models.CNN1d())
    with pytest.raises(ValueError, match="grouped convolutions"):
        sparsity.unit_groups(nn.Sequential(nn.Conv1d(2, 4, 3, groups=2), nn.Conv1d(4, 1, 1)))


def test_fused_inference_network_equals_the_evaluated_one():
    """Batch norms folded into the convolutions, ReLUs moved after the pooling and channels-last
    weights give the same outputs as the network in evaluation mode, pruned or not, and leave
    it untouched."""
    seq = cnn()
    randomise_batch_norm(seq)
    with torch.no_grad():
        for tensor in sparsity.unit_groups(seq)[0]:  # three prunable filters
            tensor[:3] = 0
    seq.train()
    x = torch.randn(5, 1, 8, 8, dtype=torch.float64)
    before = [p.clone() for p in seq.state_dict().values()]
    for net in (seq, sparsity.prune_sequential(seq)[0]):
        fused = sparsity.fuse_for_inference(net)
        assert [type(layer) for layer in fused] == [
            nn.Conv2d, nn.MaxPool2d, nn.ReLU, nn.Conv2d, nn.MaxPool2d, nn.ReLU, nn.Flatten,
            nn.Linear]
        assert all(p.is_contiguous(memory_format=torch.channels_last if p.dim() == 4
                                   else torch.contiguous_format) for p in fused.parameters())
        with torch.no_grad():
            torch.testing.assert_close(fused(x), net.eval()(x), rtol=1e-12, atol=1e-12)
        net.train()
    assert seq.training
    for old, new in zip(before, seq.state_dict().values(), strict=True):
        assert torch.equal(old, new)
