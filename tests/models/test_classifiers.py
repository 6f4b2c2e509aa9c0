import pytest
import torch
from torch import nn

from deepoptim.models import (
    MLP,
    CNN1d,
    DigitsCNN,
    GRUClassifier,
    LogisticRegression,
    count_parameters,
)

MNIST1D_MODELS = [LogisticRegression, MLP, CNN1d, GRUClassifier]


def linear_size(n_in, n_out):
    return n_in * n_out + n_out


def conv_size(c_in, c_out, kernel):
    return c_in * c_out * kernel + c_out


def gru_direction_size(n_in, hidden):
    # three gates (reset, update, new), each with input and hidden weights and two biases
    return 3 * (hidden * n_in + hidden * hidden + 2 * hidden)


@pytest.mark.parametrize("model_class", MNIST1D_MODELS)
@pytest.mark.parametrize("shape", [(5, 40), (5, 1, 40)])
def test_mnist1d_models_accept_both_layouts(model_class, shape):
    torch.manual_seed(0)
    model = model_class()
    x = torch.randn(*shape)
    logits = model(x)
    assert logits.shape == (5, 10)
    torch.testing.assert_close(model(x.reshape(5, 40)), logits)


def test_mnist1d_parameter_counts_match_the_paper_baselines():
    expected = {
        LogisticRegression: linear_size(40, 10),
        MLP: linear_size(40, 100) + linear_size(100, 100) + linear_size(100, 10),
        CNN1d: conv_size(1, 25, 5) + 2 * conv_size(25, 25, 3) + linear_size(25 * 5, 10),
        GRUClassifier: 2 * gru_direction_size(1, 6) + linear_size(2 * 6 * 40, 10),
    }
    counts = {model_class: count_parameters(model_class()) for model_class in expected}
    assert counts == expected
    assert list(counts.values()) == [410, 15210, 5210, 5134]


def test_cnn1d_computes_its_readout_size_from_the_length():
    model = CNN1d(channels=4, length=64)  # 64 -> 31 -> 16 -> 8
    assert model.classifier.in_features == 4 * 8
    assert model(torch.randn(3, 64)).shape == (3, 10)
    with pytest.raises(ValueError, match="Invalid length value: 2"):
        CNN1d(length=2)


def test_gru_without_bidirectional():
    model = GRUClassifier(hidden_size=4, bidirectional=False, length=12, num_classes=3)
    assert count_parameters(model) == gru_direction_size(1, 4) + linear_size(4 * 12, 3)
    assert model(torch.randn(2, 1, 12)).shape == (2, 3)


@pytest.mark.parametrize("model_class", [CNN1d, GRUClassifier])
@pytest.mark.parametrize("shape", [(5, 39), (5, 2, 40), (40,)])
def test_sequence_models_reject_other_shapes(model_class, shape):
    with pytest.raises(ValueError, match="Invalid x value: a tensor of shape"):
        model_class()(torch.randn(*shape))


def test_mlp_widths_and_activation():
    model = MLP(in_features=64, hidden=(8,), num_classes=3, activation=nn.Tanh)
    assert [type(layer) for layer in model.layers] == [nn.Linear, nn.Tanh, nn.Linear]
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 3)
    assert count_parameters(MLP(hidden=())) == count_parameters(LogisticRegression())


def test_digits_cnn():
    model = DigitsCNN()
    assert model(torch.randn(4, 1, 8, 8)).shape == (4, 10)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 2
    expected = (
        conv_size(1, 16, 9) + 2 * 16 + conv_size(16, 32, 9) + 2 * 32 + linear_size(32 * 2 * 2, 10)
    )
    assert count_parameters(model) == expected
    assert DigitsCNN(channels=(4, 4, 4), num_classes=2)(torch.randn(2, 1, 8, 8)).shape == (2, 2)


@pytest.mark.parametrize("channels", [(), (2, 2, 2, 2)])
def test_digits_cnn_rejects_bad_depth(channels):
    with pytest.raises(ValueError, match="channels"):
        DigitsCNN(channels=channels)
