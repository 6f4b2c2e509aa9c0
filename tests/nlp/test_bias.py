"""WEAT/SEAT effect size and permutation p-value, MAC: hand computations and brute force."""

import itertools
import math

import numpy as np
import pytest
import torch

from deepoptim.nlp import WeatResult, association, effect_size, mac, weat

E1, E2 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
# Attributes scaled on purpose: cosines ignore the norm. s(w) = cos(w, e1) - cos(w, e2).
A = torch.stack([E1, 2 * E1])
B = torch.stack([E2, 3 * E2])
X = torch.tensor([[1.0, 0.0], [3.0, 4.0]])  # s = 1, 0.6 - 0.8 = -0.2
Y = torch.tensor([[0.0, 1.0], [4.0, 3.0]])  # s = -1, 0.8 - 0.6 = 0.2


def test_association_by_hand():
    s = association(torch.cat([X, Y]), A, B)
    assert s.dtype == torch.float64
    torch.testing.assert_close(s, torch.tensor([1.0, -0.2, -1.0, 0.2], dtype=torch.float64))


def test_effect_size_by_hand_and_its_sign():
    # mean_X s - mean_Y s = 0.4 - (-0.4) = 0.8; the s values have mean 0, so the sample
    # variance is (1 + 0.04 + 1 + 0.04) / 3 (ddof=1).
    expected = 0.8 / math.sqrt(2.08 / 3)
    assert effect_size(X, Y, A, B) == pytest.approx(expected, rel=1e-12)
    assert effect_size(Y, X, A, B) == pytest.approx(-expected, rel=1e-12)
    assert effect_size(X, Y, B, A) == pytest.approx(-expected, rel=1e-12)
    assert effect_size(Y, X, B, A) == pytest.approx(expected, rel=1e-12)


def test_p_value_by_hand():
    # s = (a, b, c, d) = (1, -0.2, -1, 0.2) and S = sum_X s - sum_Y s = 1.6. The six
    # partitions {first set} give S_i = 2 sum(first) - 0: ab 1.6, ac 0, ad 2.4, bc -2.4,
    # bd 0, cd -1.6. Only ad exceeds 1.6 (ab ties: not counted).
    result = weat(X, Y, A, B)
    assert result == WeatResult(effect_size=pytest.approx(0.8 / math.sqrt(2.08 / 3)),
                                p_value=pytest.approx(1 / 6), exact=True, partitions=6)
    # Swapped: S = -1.6, exceeded by ab, ac, ad, bd.
    assert weat(Y, X, A, B).p_value == pytest.approx(4 / 6)


def _brute_force(X, Y, A, B):
    """d and the exact p-value with NumPy loops, straight from the definitions."""
    def cos(u, v):
        return u @ v / np.linalg.norm(u) / np.linalg.norm(v)

    def s(w):
        return np.mean([cos(w, a) for a in A]) - np.mean([cos(w, b) for b in B])

    words = [*X, *Y]
    values = [s(w) for w in words]
    n = len(X)
    d = (np.mean(values[:n]) - np.mean(values[n:])) / np.std(values, ddof=1)

    def statistic(first):
        return sum(values[i] for i in first) - sum(values[i] for i in range(2 * n)
                                                   if i not in first)

    observed = statistic(range(n))
    partitions = list(itertools.combinations(range(2 * n), n))
    exceeding = sum(statistic(first) > observed + 1e-12 for first in partitions)
    return d, exceeding / len(partitions)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_p_value_equals_brute_force(seed):
    g = np.random.default_rng(seed)
    X, Y, A, B = (g.normal(size=(n, 5)) for n in (4, 4, 3, 2))
    d, p = _brute_force(X, Y, A, B)
    result = weat(*(torch.from_numpy(v) for v in (X, Y, A, B)))
    assert result.exact and result.partitions == math.comb(8, 4)
    assert result.effect_size == pytest.approx(d, rel=1e-10)
    assert result.p_value == p  # both are counts over 70
    # Complementary partitions: p(X, Y) + p(Y, X) = 1 - P(tie) = 1 - 1/70 without other ties.
    swapped = weat(*(torch.from_numpy(v) for v in (Y, X, A, B)))
    assert result.p_value + swapped.p_value == pytest.approx(1 - 1 / 70)


def _planted(targets, attributes, dim, strength, seed):
    """Random sets with X shifted towards the mean of A and Y towards that of B."""
    g = torch.Generator().manual_seed(seed)
    A, B = (torch.randn(attributes, dim, generator=g) for _ in range(2))
    X = torch.randn(targets, dim, generator=g) + strength * A.mean(0)
    Y = torch.randn(targets, dim, generator=g) + strength * B.mean(0)
    return X, Y, A, B


def test_sampled_p_value_is_seeded_and_close_to_exact():
    X, Y, A, B = _planted(6, 4, 6, strength=0.3, seed=3)  # mild: p is neither 0 nor 1
    exact = weat(X, Y, A, B)
    assert exact.exact and exact.partitions == 924 and 0.01 < exact.p_value < 0.99
    state = torch.random.get_rng_state()
    sampled = weat(X, Y, A, B, exact_limit=923, samples=20_000, seed=5)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global RNG is untouched
    assert not sampled.exact and sampled.partitions == 20_000
    assert sampled.effect_size == exact.effect_size
    standard_error = math.sqrt(exact.p_value * (1 - exact.p_value) / 20_000)
    assert abs(sampled.p_value - exact.p_value) < 4 * standard_error
    assert weat(X, Y, A, B, exact_limit=923, samples=20_000, seed=5) == sampled


def test_strong_planted_bias_is_significant():
    X, Y, A, B = _planted(8, 8, 16, strength=2.0, seed=0)
    result = weat(X, Y, A, B)
    assert result.effect_size > 1.5 and result.p_value < 0.001
    assert weat(Y, X, A, B).p_value > 0.999


def test_mac_on_orthogonal_and_identical_vectors():
    targets = torch.eye(3)[:2]
    assert mac(targets, [torch.eye(3)[2:]]) == pytest.approx(1.0)  # orthogonal: distance 1
    assert mac(targets, [3 * targets]) == pytest.approx(0.5)  # each target: 0 and 1
    assert mac(targets[:1], [targets[:1], 2 * targets[:1]]) == pytest.approx(0.0)
    # A mean over sets of means: sets of different sizes weigh the same.
    sets = [torch.eye(3)[:1], torch.eye(3)[1:]]  # distances 0 | 1, 1
    assert mac(torch.eye(3)[:1], sets) == pytest.approx(0.5)


def test_bad_input_names_the_value():
    with pytest.raises(ValueError, match="Invalid Y value: 3 vectors"):
        weat(X, torch.cat([Y, Y[:1]]), A, B)
    with pytest.raises(ValueError, match="Invalid X value: 0 vectors"):
        effect_size(X[:0], Y[:0], A, B)
    with pytest.raises(ValueError, match="Invalid B value: vectors of dimension 3"):
        weat(X, Y, A, torch.ones(2, 3))
    with pytest.raises(ValueError, match="Invalid A value: contains a zero vector"):
        effect_size(X, Y, torch.zeros(1, 2), B)
    with pytest.raises(TypeError, match="X must be a Tensor, got list"):
        weat([[1.0, 0.0]], Y, A, B)
    with pytest.raises(ValueError, match="Invalid X value: every target has the same"):
        effect_size(X[:1], X[:1], A, B)
    with pytest.raises(ValueError, match="Invalid samples value: 0"):
        weat(X, Y, A, B, samples=0)
    with pytest.raises(ValueError, match=r"Invalid attribute_sets value: \[\]"):
        mac(X, [])
    with pytest.raises(ValueError, match=r"Invalid attribute_sets\[1\] value: 0 vectors"):
        mac(X, [A, A[:0]])
    with pytest.raises(TypeError, match="attribute_sets must be a sequence of Tensors"):
        mac(X, A)
