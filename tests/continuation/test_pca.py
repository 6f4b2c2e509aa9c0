"""PCA initialisation: at lambda = 0 the autoencoder is the rank-k PCA projection (its error is
the PCA residual to rounding), decoder weights mirror the encoder's, biases are the constant;
bad shapes refused."""

import pytest
import torch
from torch import nn

from deepoptim.continuation import homotopize, pca_init

from .problems import DTYPE


def _autoencoder(widths=(12, 8, 5, 2)):
    torch.manual_seed(0)
    layers = []
    for a, b in zip(widths, widths[1:], strict=False):
        layers += [nn.Linear(a, b), nn.ReLU()]
    encoder = nn.Sequential(*layers[:-1])  # a linear code layer
    layers = []
    back = widths[::-1]
    for a, b in zip(back, back[1:], strict=False):
        layers += [nn.Linear(a, b), nn.ReLU()]
    decoder = nn.Sequential(*layers[:-1])  # a linear output layer
    return encoder.to(DTYPE), decoder.to(DTYPE)


def _data():
    generator = torch.Generator().manual_seed(3)
    scales = torch.logspace(0, -2, 12, dtype=DTYPE)
    return 2.0 + torch.randn(200, 12, generator=generator, dtype=DTYPE) * scales


def test_the_linear_autoencoder_starts_at_the_pca_optimum():
    encoder, decoder = _autoencoder()
    model = nn.Sequential(encoder, decoder)
    homotopize(model, lam=0.0)
    x = _data()
    mean = pca_init(encoder, decoder, x, bias=0.0)
    torch.testing.assert_close(mean, x.mean(dim=0), rtol=0, atol=0)
    centred = x - mean
    singular = torch.linalg.svdvals(centred)
    residual = float(singular[2:].square().sum()) / centred.numel()
    with torch.no_grad():
        error = float((model(centred) - centred).square().mean())
    assert abs(error - residual) <= 1e-12 * residual
    for e, d in zip([m for m in encoder if isinstance(m, nn.Linear)],
                    [m for m in decoder if isinstance(m, nn.Linear)][::-1], strict=True):
        assert torch.equal(d.weight, e.weight.T)
    basis = torch.linalg.svd(centred, full_matrices=False).Vh[:2]  # the code spans the top 2
    code = encoder[-1].weight @ encoder[-3].weight @ encoder[-5].weight
    torch.testing.assert_close(code @ code.T, torch.eye(2, dtype=DTYPE), rtol=0, atol=1e-12)
    torch.testing.assert_close(code.T @ code, basis.T @ basis, rtol=0, atol=1e-12)


def test_the_biases_are_the_reference_constant():
    encoder, decoder = _autoencoder()
    pca_init(encoder, decoder, _data())
    biases = [m.bias for m in [*encoder, *decoder] if isinstance(m, nn.Linear)]
    assert all(torch.all(b == 1e-4) for b in biases)


@pytest.mark.parametrize(("args", "error", "match"), [
    (dict(x=torch.zeros(10, 7, dtype=DTYPE)), ValueError, "Invalid x value: 7 features"),
    (dict(x=torch.zeros(10, dtype=DTYPE)), ValueError, "Invalid x value: shape \\(10,\\)"),
    (dict(x=[[0.0]]), TypeError, "x must be a torch.Tensor, got list"),
    (dict(x=torch.zeros(4, 12, dtype=DTYPE)), ValueError, "a layer of width 8 after an SVD of "
     "rank at most 4"),
    (dict(decoder=nn.Linear(2, 12)), ValueError, "Invalid decoder value: layer shapes"),
    (dict(decoder=nn.ReLU()), ValueError, "Invalid decoder value: no nn.Linear layer"),
    (dict(encoder=None), TypeError, "encoder must be a torch.nn.Module, got NoneType"),
    (dict(bias=float("nan")), ValueError, "Invalid bias value: nan"),
])
def test_bad_arguments_are_refused_before_any_work(args, error, match):
    encoder, decoder = _autoencoder()
    before = [p.clone() for p in [*encoder.parameters(), *decoder.parameters()]]
    arguments = dict(encoder=encoder, decoder=decoder, x=_data(), bias=1e-4) | args
    with pytest.raises(error, match=match):
        pca_init(arguments.pop("encoder"), arguments.pop("decoder"), arguments.pop("x"),
                 **arguments)
    after = [*encoder.parameters(), *decoder.parameters()]
    assert all(torch.equal(p, q) for p, q in zip(before, after, strict=True))
