import pytest
import torch

from deepoptim.models import SelfAttention, TinyViT, build_model


def test_mnist1d_signals_become_ten_tokens_and_ten_logits():
    model = build_model("vit")
    assert isinstance(model, TinyViT)
    x = torch.randn(5, 40)
    assert model.tokens(x).shape == (5, 10, 4)
    assert torch.equal(model.tokens(x)[:, 1], x[:, 4:8])
    assert model(x).shape == model(x.unsqueeze(1)).shape == (5, 10)


def test_digits_become_patches_of_two_by_two_pixels():
    model = TinyViT(input_shape=(8, 8), patch_size=2, dim=16, depth=1, num_heads=4)
    x = torch.arange(2 * 64, dtype=torch.float32).reshape(2, 1, 8, 8)
    tokens = model.tokens(x)
    assert tokens.shape == (2, 16, 4)
    assert torch.equal(tokens[1, 5], x[1, 0, 2:4, 2:4].flatten())  # patch row 1, column 1
    assert model(x).shape == (2, 10)


def test_gradient_reaches_every_parameter_including_queries_and_keys():
    torch.manual_seed(0)
    model = TinyViT(depth=2)
    torch.nn.functional.cross_entropy(model(torch.randn(4, 40)), torch.arange(4)).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    attention = [m for m in model.modules() if isinstance(m, SelfAttention)]
    assert len(attention) == 2 and attention[0].num_heads == 2


def test_attention_matches_torch_scaled_dot_product_attention():
    torch.manual_seed(0)
    layer = SelfAttention(dim=8, num_heads=2).double()
    x = torch.randn(3, 5, 8, dtype=torch.float64)

    def heads(t):
        return t.view(3, 5, 2, 4).transpose(1, 2)

    mixed = torch.nn.functional.scaled_dot_product_attention(
        heads(layer.query(x)), heads(layer.key(x)), heads(layer.value(x)))
    expected = layer.out(mixed.transpose(1, 2).reshape(3, 5, 8))
    torch.testing.assert_close(layer(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"patch_size": 3}, "Invalid patch_size value: 3"),
    ({"input_shape": (2, 2, 2)}, "Invalid input_shape value"),
    ({"dim": 10, "num_heads": 3}, "Invalid num_heads value: 3"),
])
def test_bad_configurations_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TinyViT(**kwargs)


def test_wrong_input_shape_is_refused():
    with pytest.raises(ValueError, match=r"Invalid x value: a tensor of shape \(2, 41\)"):
        TinyViT()(torch.randn(2, 41))
