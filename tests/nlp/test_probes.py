"""Linear and MLP probes: perfect on separable data, chance on noise, the MLP sees non-linear
information the linear probe cannot."""

import pytest
import torch

from deepoptim.nlp import ProbeResult, linear_probe, mlp_probe


def _clusters(n=200, dim=8, seed=0):
    """Two classes at +-3 along the first axis, unit noise: separable with a wide margin."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 2
    x = torch.randn(n, dim, generator=g)
    x[:, 0] = (2 * labels - 1) * (3 + torch.rand(n, generator=g))
    return x, labels


def _ring(n=300, dim=8, seed=0):
    """The class is whether |x_{1,2}| exceeds the median radius: not linearly separable."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dim, generator=g)
    radius = x[:, :2].norm(dim=1)
    return x, (radius > radius.median()).long()


def test_probes_are_perfect_on_separable_data():
    x, labels = _clusters()
    assert linear_probe(x, labels) == ProbeResult(1.0, 1.0, 0.5)
    assert mlp_probe(x, labels, steps=100) == ProbeResult(1.0, 1.0, 0.5)


def test_probes_are_near_chance_on_random_labels():
    g = torch.Generator().manual_seed(1)
    x, labels = torch.randn(400, 8, generator=g), torch.randint(0, 2, (400,), generator=g)
    for result in (linear_probe(x, labels), mlp_probe(x, labels, steps=100)):
        assert abs(result.test_accuracy - result.chance) < 0.12  # 80 test examples: SE 0.056


def test_mlp_probe_finds_non_linear_information():
    x, labels = _ring()
    linear, mlp = linear_probe(x, labels), mlp_probe(x, labels, steps=300)
    assert abs(linear.test_accuracy - linear.chance) < 0.12
    assert mlp.test_accuracy > linear.test_accuracy + 0.2


def test_probes_are_seeded_and_keep_the_global_rng():
    x, labels = _ring(n=100)
    state = torch.random.get_rng_state()
    first = mlp_probe(x, labels, steps=20, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert mlp_probe(x, labels, steps=20, seed=3) == first
    assert linear_probe(x, labels, seed=3) == linear_probe(x, labels, seed=3)


def test_labels_may_be_any_integers():
    x, labels = _clusters(n=60)
    assert linear_probe(x, 10 * labels - 7).test_accuracy == 1.0


def test_bad_input_names_the_value():
    x, labels = _clusters(n=20)
    with pytest.raises(ValueError, match="Invalid labels value: 19 labels"):
        linear_probe(x, labels[:19])
    with pytest.raises(ValueError, match="Invalid embeddings value: 0 vectors"):
        mlp_probe(x[:0], labels[:0])
    with pytest.raises(ValueError, match=r"Invalid labels value: classes \[0\]"):
        linear_probe(x, torch.zeros(20, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"Invalid labels value: classes \[0, 1\] with counts "
                                         r"\[19, 1\]"):
        linear_probe(x, (torch.arange(20) == 0).long())
    with pytest.raises(ValueError, match="Invalid labels value: a torch.float32"):
        linear_probe(x, labels.float())
    with pytest.raises(ValueError, match="Invalid test_fraction value: 1.0"):
        mlp_probe(x, labels, test_fraction=1.0)
    with pytest.raises(ValueError, match="Invalid hidden width value: 0"):
        mlp_probe(x, labels, hidden=(20, 0))
