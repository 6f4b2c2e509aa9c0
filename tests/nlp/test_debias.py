"""Counterfactual sentences by whole-word swaps, the pair loss, and Sent-Debias."""

import pytest
import torch

from deepoptim.nlp import (
    bias_subspace,
    counterfactual,
    counterfactual_pairs,
    debias_loss,
    remove_subspace,
)

PAIRS = [("he", "she"), ("his", "her"), ("man", "woman"), ("mother", "father"),
         ("Mary", "John")]


@pytest.mark.parametrize(("sentence", "expected"), [
    ("He thanked his mother.", "She thanked her father."),  # case, several pairs
    ("he said HE was tired", "she said SHE was tired"),  # lower, upper
    ("She and he, he and she.", "He and she, she and he."),  # a swap, both ways, repeated
    ("He's here; (he) left!", "She's here; (she) left!"),  # punctuation is a boundary
    ("The hero shed his theme: this helps", "The hero shed her theme: this helps"),  # substrings
    ("A man, a woman and a manager", "A woman, a man and a manager"),
    ("Mary met john.", "John met mary."),  # pairs match in any case
    ("Nothing to swap here.", "Nothing to swap here."),
])
def test_counterfactual(sentence, expected):
    assert counterfactual(sentence, PAIRS) == expected


def test_counterfactual_pairs_skip_sentences_without_a_word():
    sentences = ["The theme is hers.", "He sings.", "This is the hero."]
    assert counterfactual_pairs(iter(sentences), PAIRS) == [("He sings.", "She sings.")]


def test_phrases_and_unicode_words():
    pairs = [("grand father", "grand mother"), ("señor", "señora")]
    assert counterfactual("My Grand father, el Señor.", pairs) == "My Grand mother, el Señora."
    assert counterfactual("señorita", pairs) == "señorita"


def test_bad_pairs_name_the_value():
    with pytest.raises(ValueError, match="'her' is paired with both 'his' and 'him'"):
        counterfactual("her", [("his", "her"), ("him", "her")])
    with pytest.raises(ValueError, match=r"Invalid pairs value: \[\]"):
        counterfactual("he", [])
    with pytest.raises(ValueError, match=r"Invalid pairs value: 'he\.'"):
        counterfactual("he", [("he.", "she")])
    with pytest.raises(ValueError, match=r"Invalid pairs value: \('he', 'she', 'they'\)"):
        counterfactual("he", [("he", "she", "they")])
    with pytest.raises(ValueError, match="a word paired with itself"):
        counterfactual("he", [("he", "He")])
    with pytest.raises(TypeError, match="sentences\\[1\\] must be a str, got int"):
        counterfactual_pairs(["he", 3], PAIRS)


def test_loss_is_zero_for_identical_pairs_and_positive_otherwise():
    g = torch.Generator().manual_seed(0)
    e = torch.randn(4, 5, generator=g, dtype=torch.float64, requires_grad=True)
    loss = debias_loss(e, e.detach().clone())
    assert loss.item() == 0.0
    other = torch.randn(4, 5, generator=g, dtype=torch.float64)
    loss = debias_loss(e, other)
    assert loss.item() == pytest.approx((e - other).abs().mean().item())
    assert loss.item() > 0
    (grad,) = torch.autograd.grad(loss, e)
    torch.testing.assert_close(grad, torch.sign(e - other).detach() / e.numel())
    assert torch.autograd.gradcheck(debias_loss, (e, other.requires_grad_()))


def test_loss_bad_input():
    with pytest.raises(ValueError, match=r"Invalid counterfactuals value: shape \(3, 5\)"):
        debias_loss(torch.ones(4, 5), torch.ones(3, 5))
    with pytest.raises(ValueError, match="Invalid embeddings value: a torch.float32 tensor of "
                                         r"shape \(0, 5\)"):
        debias_loss(torch.ones(0, 5), torch.ones(0, 5))
    with pytest.raises(TypeError, match="counterfactuals must be a Tensor, got list"):
        debias_loss(torch.ones(1, 2), [[1.0, 2.0]])


def _planted_pairs(n=10, dim=6, seed=0):
    """Pair embeddings b_i +- g_i v: they differ only along the unit direction v."""
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(dim, generator=g, dtype=torch.float64)
    v = v / v.norm()
    base = torch.randn(n, dim, generator=g, dtype=torch.float64)
    gap = torch.rand(n, 1, generator=g, dtype=torch.float64) + 0.5
    return torch.stack([base + gap * v, base - gap * v], dim=1), v


def test_sent_debias_removes_the_planted_direction_exactly():
    pairs, v = _planted_pairs()
    directions = bias_subspace(pairs, k=1)
    assert directions.shape == (1, 6)
    assert abs(float(directions[0] @ v)) == pytest.approx(1.0, abs=1e-12)
    flat = pairs.reshape(-1, 6)
    debiased = remove_subspace(flat, directions)
    torch.testing.assert_close(debiased @ v, torch.zeros(20, dtype=torch.float64),
                               atol=1e-12, rtol=0)
    # The component orthogonal to v is untouched, and the pairs now coincide.
    torch.testing.assert_close(debiased, flat - torch.outer(flat @ v, v), atol=1e-12, rtol=0)
    torch.testing.assert_close(debiased[0::2], debiased[1::2], atol=1e-12, rtol=0)
    assert debias_loss(debiased[0::2], debiased[1::2]).item() < 1e-12


def test_sent_debias_with_sets_of_different_sizes():
    pairs, v = _planted_pairs(seed=1)
    triple = torch.stack([pairs[0, 0], pairs[0, 1], pairs[0, 0] + 2 * v])  # still along v
    directions = bias_subspace([triple, *pairs[1:].unbind(0)], k=1)
    assert abs(float(directions[0] @ v)) == pytest.approx(1.0, abs=1e-12)


def test_sent_debias_subspace_of_two_planted_directions():
    g = torch.Generator().manual_seed(2)
    basis, _ = torch.linalg.qr(torch.randn(8, 2, generator=g, dtype=torch.float64))
    base = torch.randn(12, 8, generator=g, dtype=torch.float64)
    offsets = torch.randn(12, 2, generator=g, dtype=torch.float64) @ basis.T
    directions = bias_subspace(torch.stack([base + offsets, base - offsets], dim=1), k=2)
    torch.testing.assert_close(directions @ directions.T, torch.eye(2, dtype=torch.float64))
    # Same span: projecting the planted basis onto the subspace keeps it whole.
    torch.testing.assert_close(remove_subspace(basis.T, directions),
                               torch.zeros(2, 8, dtype=torch.float64), atol=1e-12, rtol=0)


def test_sent_debias_bad_input():
    pairs, _ = _planted_pairs()
    with pytest.raises(ValueError, match=r"Invalid k value: 2 \(the centred embeddings have "
                                         "rank 1\\)"):
        bias_subspace(pairs, k=2)
    with pytest.raises(ValueError, match="Invalid k value: 7"):
        bias_subspace(pairs, k=7)
    with pytest.raises(ValueError, match=r"Invalid sets\[1\] value: 1 embedding"):
        bias_subspace([pairs[0], pairs[1, :1]])
    with pytest.raises(ValueError, match=r"Invalid sets\[1\] value: vectors of dimension 3"):
        bias_subspace([pairs[0], torch.ones(2, 3)])
    with pytest.raises(ValueError, match="Invalid sets value: no sets"):
        bias_subspace([])
    with pytest.raises(ValueError, match="Invalid directions value: rows that are not"):
        remove_subspace(pairs[0], 2 * torch.eye(6, dtype=torch.float64)[:1])
    with pytest.raises(ValueError, match="Invalid directions value: vectors of dimension 5"):
        remove_subspace(pairs[0], torch.eye(5, dtype=torch.float64)[:1])
