import pytest
import torch
from torch import nn

from deepoptim.models import (
    ConvBlocks,
    Pooling,
    SentenceHead,
    TransformerBlocks,
    build_head,
    max_pool,
    mean_pool,
)

DIM = 8


def heads():
    """One head of each design in the search space, in float64 and eval mode (no dropout)."""
    torch.manual_seed(0)
    designs = {
        "linear": SentenceHead(DIM, 3),
        "mlp-max": SentenceHead(DIM, 3, pooling="max", mlp_layers=3, mlp_hidden=5),
        "transformer-cls": build_head(DIM, 3, transformer_layers=2, num_heads=2,
                                      dim_feedforward=16, pooling="cls"),
        "conv-skip": build_head(DIM, 3, conv_layers=2, conv_hidden=6, kernel_size=3, skip=True),
        "conv-identity-skip": build_head(DIM, 3, conv_layers=1, conv_hidden=DIM, kernel_size=5,
                                         skip=True, pooling="max"),
        "paper-best": build_head(DIM, 3, transformer_layers=4, num_heads=1, dim_feedforward=16,
                                 conv_layers=1, conv_hidden=4, kernel_size=11, skip=True),
    }
    return {name: head.double().eval() for name, head in designs.items()}


def tokens(lengths, total, seed=1):
    """Hidden states (B, total, DIM) with random (garbage) vectors at padded positions too."""
    g = torch.Generator().manual_seed(seed)
    hidden = torch.randn(len(lengths), total, DIM, dtype=torch.float64, generator=g)
    mask = (torch.arange(total) < torch.tensor(lengths).unsqueeze(1)).long()
    return hidden, mask


@pytest.mark.parametrize("name", list(heads()))
def test_logits_have_one_row_per_example_and_one_column_per_class(name):
    hidden, mask = tokens([5, 3, 7, 1], 7)
    assert heads()[name](hidden, mask).shape == (4, 3)


@pytest.mark.parametrize("name", list(heads()))
def test_an_example_alone_gets_the_logits_it_gets_among_others(name):
    # The authors' heads attended across the examples of the batch (regression test).
    head = heads()[name]
    hidden, mask = tokens([6, 2, 9, 4], 9)
    batched = head(hidden, mask)
    for i, length in enumerate([6, 2, 9, 4]):
        alone = head(hidden[i:i + 1, :length], mask[i:i + 1, :length])
        torch.testing.assert_close(alone[0], batched[i], rtol=0, atol=1e-12)
    other = hidden.clone()
    other[1:] = torch.randn_like(other[1:])
    torch.testing.assert_close(head(other, mask)[0], batched[0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", list(heads()))
def test_padding_tokens_do_not_change_the_logits(name):
    head = heads()[name]
    hidden, mask = tokens([5, 2, 4], 5)
    padded, padded_mask = tokens([5, 2, 4], 12, seed=2)   # other garbage in the padding
    padded[:, :5] = torch.where(mask.bool().unsqueeze(-1), hidden, padded[:, :5])
    torch.testing.assert_close(head(padded, padded_mask), head(hidden, mask), rtol=0,
                               atol=1e-12)


def test_in_float32_eval_mode_the_fused_attention_path_is_batch_and_padding_independent():
    # nn.TransformerEncoderLayer takes a fused fast path in eval mode for float32 inputs.
    head = heads()["paper-best"].float()
    hidden, mask = tokens([6, 2, 4], 6)
    hidden = hidden.float()
    batched = head(hidden, mask)
    padded = torch.cat([hidden, torch.randn(3, 5, DIM)], dim=1)
    padded_mask = torch.cat([mask, torch.zeros(3, 5, dtype=mask.dtype)], dim=1)
    torch.testing.assert_close(head(padded, padded_mask), batched, rtol=0, atol=1e-5)
    torch.testing.assert_close(head(hidden[1:2, :2], mask[1:2, :2])[0], batched[1], rtol=0,
                               atol=1e-5)


def test_the_check_detects_attention_across_the_batch():
    # The bug itself: (B, T, D) fed to a sequence-first MultiheadAttention mixes examples.
    torch.manual_seed(0)
    attention = nn.MultiheadAttention(DIM, 1).double().eval()
    hidden, _ = tokens([4, 4, 4], 4)
    buggy = attention(hidden, hidden, hidden, need_weights=False)[0]
    other = hidden.clone()
    other[1:] = torch.randn_like(other[1:])
    assert not torch.allclose(attention(other, other, other, need_weights=False)[0][0], buggy[0])


def test_pooling_ignores_padding_and_matches_its_definition():
    hidden, mask = tokens([2, 3], 3)
    torch.testing.assert_close(mean_pool(hidden, mask)[0], hidden[0, :2].mean(0))
    torch.testing.assert_close(max_pool(hidden, mask)[0], hidden[0, :2].amax(0))
    torch.testing.assert_close(Pooling("cls")(hidden, mask), hidden[:, 0])
    assert torch.equal(Pooling("mean")(hidden, mask), mean_pool(hidden, mask))


def test_gradients_reach_every_parameter_of_the_paper_best_head():
    head = heads()["paper-best"].train()
    hidden, mask = tokens([5, 3], 5)
    nn.functional.cross_entropy(head(hidden, mask), torch.tensor([0, 2])).backward()
    for name, p in head.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_the_mlp_ends_in_a_linear_layer_not_a_relu():
    # The authors applied a ReLU to the logits of an MLP head with two or more layers.
    head = SentenceHead(DIM, 3, mlp_layers=3, mlp_hidden=5)
    assert isinstance(head.mlp[-1], nn.Linear)
    assert [type(m) for m in head.mlp] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    with torch.no_grad():
        head.mlp[-1].bias.fill_(-100.0)
    hidden, mask = tokens([3, 3], 3)
    assert (head.double()(hidden, mask) < 0).all()


def test_stages_chain_their_widths():
    conv = ConvBlocks(DIM, hidden=6, kernel_size=3)
    assert SentenceHead(DIM, 2, stages=[conv]).mlp[0].in_features == 6
    with pytest.raises(ValueError, match=r"Invalid stages\[1\] value: TransformerBlocks"):
        SentenceHead(DIM, 2, stages=[conv, TransformerBlocks(DIM)])
    with pytest.raises(ValueError, match=r"Invalid stages\[0\] value: Linear with in_dim=None"):
        SentenceHead(DIM, 2, stages=[nn.Linear(DIM, DIM)])


@pytest.mark.parametrize(("build", "error", "match"), [
    (lambda: SentenceHead(DIM, 2, pooling="sum"), ValueError, "Invalid pooling value: 'sum'"),
    (lambda: build_head(DIM, 2, transformer_layers=1, pooling="first"), ValueError,
     "Invalid pooling value: 'first'"),
    (lambda: build_head(DIM, 2, transformer_layers=2, num_heads=3), ValueError,
     "Invalid num_heads value: 3"),
    (lambda: build_head(DIM, 2, transformer_layers=1, conv_layers=1, kernel_size=4), ValueError,
     "Invalid kernel_size value: 4"),
    (lambda: build_head(DIM, 2, mlp_layers=0), ValueError, "Invalid mlp_layers value: 0"),
    (lambda: build_head(DIM, 2, transformer_layers=1, dropout=1.0), ValueError,
     "Invalid dropout value: 1.0"),
    (lambda: ConvBlocks(DIM, skip=1), TypeError, "skip must be a bool, got int"),
])
def test_bad_settings_fail_before_any_weight_is_drawn(build, error, match):
    torch.manual_seed(0)
    with pytest.raises(error, match=match):
        build()
    assert torch.equal(torch.get_rng_state(), torch.manual_seed(0).get_state())


def test_bad_token_shapes_are_reported():
    head = SentenceHead(DIM, 2)
    hidden, mask = tokens([2, 3], 3)
    with pytest.raises(ValueError, match=r"Invalid attention_mask value: \(2, 2\)"):
        head(hidden, mask[:, :2])
    with pytest.raises(ValueError, match=r"Invalid hidden value: \(2, 3\)"):
        head(hidden[..., 0], mask)
