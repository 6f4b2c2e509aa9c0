import pytest
import torch

from deepoptim.data import digits


@pytest.fixture(scope="module")
def data():
    return digits()


def test_shapes_dtypes_and_scaling(data):
    assert data.name == "digits" and data.num_classes == 10
    assert data.num_train + data.num_test == 1797 and data.input_shape == (1, 8, 8)
    assert data.x_train.dtype == torch.float32 and data.y_test.dtype == torch.int64
    pixels = torch.cat([data.x_train, data.x_test]) * 16
    assert pixels.min() == 0 and pixels.max() == 16
    assert torch.equal(pixels, pixels.round())  # 0..16 intensities divided by 16


def test_split_is_stratified(data):
    assert data.num_test == pytest.approx(0.2 * 1797, abs=1)
    fraction = data.y_test.bincount() / (data.y_train.bincount() + data.y_test.bincount())
    assert torch.all((fraction - 0.2).abs() < 0.02)


def test_split_is_deterministic_per_seed(data):
    assert torch.equal(digits().x_test, data.x_test)
    other = digits(seed=1, test_fraction=0.5)
    assert other.num_test == 899 and not torch.equal(other.y_test[:20], data.y_test[:20])


def test_device_argument():
    assert digits(device="meta").x_train.device.type == "meta"


@pytest.mark.parametrize("value", [0, 1, 1.5, -0.1])
def test_bad_test_fraction(value):
    with pytest.raises(ValueError, match=f"Invalid test_fraction value: {value}"):
        digits(test_fraction=value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"test_fraction": "0.2"}, "test_fraction must be a real number, got str"),
     ({"seed": 1.0}, "seed must be an int, got float")],
)
def test_wrong_types_raise_type_error(kwargs, message):
    with pytest.raises(TypeError, match=message):
        digits(**kwargs)
