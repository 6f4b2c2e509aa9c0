import pytest
import torch

from deepoptim.models import MODELS, build_model, count_parameters


@pytest.mark.parametrize("name", sorted(MODELS))
def test_build_model_by_name(name):
    model = build_model(name)
    assert isinstance(model, MODELS[name])
    x = torch.randn(3, 1, 8, 8) if name in ("digits_cnn", "resnet") else torch.randn(3, 40)
    assert model(x).shape == (3, 10)


def test_build_model_passes_keyword_arguments():
    assert build_model("mlp", hidden=(7,), num_classes=4).layers[-1].out_features == 4


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="Invalid name value: 'lstm' .*'logreg', 'mlp', "
                                         "'cnn1d', 'gru', 'digits_cnn', 'resnet'"):
        build_model("lstm")


def test_count_parameters_counts_only_trainable_ones():
    model = build_model("logreg")
    model.linear.bias.requires_grad_(False)
    assert count_parameters(model) == 400
