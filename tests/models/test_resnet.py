import pytest
import torch

from deepoptim.curvature import KroneckerFactors
from deepoptim.models import BasicBlock, ResNet, build_model, count_parameters


def test_shapes_and_parameter_count_of_the_default():
    model = ResNet()
    assert model(torch.randn(5, 1, 8, 8)).shape == (5, 10)
    assert count_parameters(model) == 19_706
    # global average pooling: any image side works
    assert model(torch.randn(2, 1, 12, 12)).shape == (2, 10)
    assert isinstance(build_model("resnet"), ResNet)


def test_stages_and_blocks():
    model = ResNet(channels=(8, 16, 24), blocks=2, in_channels=3, num_classes=4)
    assert len(model.stages) == 6
    assert model(torch.randn(2, 3, 8, 8)).shape == (2, 4)
    strides = [block.conv1.stride[0] for block in model.stages]
    assert strides == [1, 1, 2, 1, 2, 1]
    projections = [not isinstance(block.shortcut, torch.nn.Identity) for block in model.stages]
    assert projections == [False, False, True, False, True, False]


def test_a_zero_residual_branch_leaves_the_identity_shortcut():
    torch.manual_seed(0)
    block = BasicBlock(6, 6, zero_init_residual=True).train()
    x = torch.rand(4, 6, 5, 5)  # non-negative, as after a ReLU
    torch.testing.assert_close(block(x), x)
    projected = BasicBlock(6, 8, stride=2, zero_init_residual=True).train()
    shortcut = projected.shortcut(x)
    assert shortcut.shape == (4, 8, 3, 3)
    torch.testing.assert_close(projected(x), torch.relu(shortcut))


def test_every_convolution_and_the_classifier_are_recorded_by_kronecker_hooks():
    model = ResNet()
    factors = KroneckerFactors(model)
    convolutions = [name for name, m in model.named_modules()
                    if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert sorted(factors.layers) == sorted(convolutions)


@pytest.mark.parametrize("shape", [(3, 64), (3, 2, 8, 8), (1, 8, 8)])
def test_bad_inputs_are_refused(shape):
    with pytest.raises(ValueError, match="Invalid x value"):
        ResNet()(torch.randn(*shape))


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        ResNet()([[0.0]])
    for kwargs in ({"channels": ()}, {"channels": (8, 0)}, {"blocks": 0},
                   {"in_channels": 1.5}, {"num_classes": True}):
        with pytest.raises(ValueError, match="Invalid"):
            ResNet(**kwargs)
    with pytest.raises(ValueError, match="Invalid stride value"):
        BasicBlock(4, 4, stride=0)
