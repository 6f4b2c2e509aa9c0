import dataclasses

import pytest
import torch

from deepoptim.data import ClassificationData


def make(num_train=6, num_test=4, shape=(3,)):
    return ClassificationData(
        name="toy",
        x_train=torch.randn(num_train, *shape),
        y_train=torch.arange(num_train) % 2,
        x_test=torch.randn(num_test, *shape),
        y_test=torch.arange(num_test) % 2,
        num_classes=2,
    )


def test_properties_and_repr_show_shapes_not_values():
    data = make(shape=(1, 5))
    assert (data.num_train, data.num_test, data.input_shape) == (6, 4, (1, 5))
    text = repr(data)
    assert text.startswith("ClassificationData(name='toy', x_train=(6, 1, 5)")
    assert "num_classes=2" in text and "tensor(" not in text


def test_to_casts_features_but_keeps_int64_labels():
    data = make()
    moved = data.to("meta", dtype=torch.float64)
    assert moved.x_train.device.type == moved.y_test.device.type == "meta"
    assert moved.x_train.dtype == moved.x_test.dtype == torch.float64
    assert moved.y_train.dtype == torch.int64
    assert data.x_train.device.type == "cpu"  # the original is unchanged
    assert data.to().x_train is data.x_train


def test_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        make().name = "other"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"y_train": torch.zeros(5, dtype=torch.int64)}, r"y_train value: 5 samples \(expected 6"),
        ({"y_test": torch.zeros(4)}, "y_test value: a torch.float32 tensor.*1-D int64"),
        ({"x_test": torch.zeros(4, 3, dtype=torch.int64)}, "x_test value: .*floating point"),
        ({"x_test": torch.zeros(4, 2)}, r"x_test value: samples of shape \(2,\) \(expected \(3,\)"),
        ({"num_classes": 0}, "num_classes value: 0"),
    ],
)
def test_invalid_fields_raise(change, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(make(), **change)


def test_to_rejects_integer_dtype():
    with pytest.raises(ValueError, match="dtype value: torch.int32"):
        make().to(dtype=torch.int32)
