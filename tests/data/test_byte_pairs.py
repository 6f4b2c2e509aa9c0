"""Prompt/text pairs as byte-level LM batches: loss only on the text and its end."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from deepoptim.data import encode_pairs, prompt_ids, text_of
from deepoptim.data.byte_pairs import EOS, IGNORE_INDEX, SEP

PAIRS = [("name[The Amber Fox]", "A pub."), ("food[Italian], area[riverside]", "Caf\u00e9 food.")]


def test_inputs_are_the_sequence_and_targets_only_the_text():
    batch = encode_pairs(PAIRS, length=48)
    assert batch.inputs.shape == batch.targets.shape == (2, 48)
    for row, (prompt, text) in enumerate(PAIRS):
        sequence = [*prompt.encode(), SEP, *text.encode(), EOS]
        n = len(sequence) - 1
        assert batch.inputs[row, :n].tolist() == sequence[:-1]
        assert (batch.inputs[row, n:] == EOS).all()  # padding
        scored = batch.targets[row] != IGNORE_INDEX
        # the scored targets are exactly the text's bytes and EOS, in place
        assert batch.targets[row, scored].tolist() == [*text.encode(), EOS]
        assert scored.nonzero().squeeze(1).tolist() == list(range(len(prompt.encode()), n))
        # and the input at each scored position is the byte before its target
        assert batch.inputs[row, len(prompt.encode())].item() == SEP


def test_cross_entropy_ignores_prompt_and_padding():
    batch = encode_pairs(PAIRS, length=48)
    logits = torch.randn(2, 48, 256, generator=torch.Generator().manual_seed(0))
    loss = F.cross_entropy(logits.flatten(0, 1), batch.targets.flatten())
    # a different prompt of the same length changes no scored term
    other = encode_pairs([("name[The Jade Bell]", "A pub."), PAIRS[1]], length=48)
    assert torch.equal(other.targets, batch.targets)
    mask = batch.targets != IGNORE_INDEX
    manual = -logits.log_softmax(-1)[mask].gather(1, batch.targets[mask][:, None]).mean()
    torch.testing.assert_close(loss, manual)


def test_generation_helpers():
    ids = prompt_ids("name[X]")
    assert ids.tolist() == [*b"name[X]", SEP] and ids.dtype == torch.long
    assert text_of(torch.tensor([*b"A pub.", EOS, 65, 66])) == "A pub."
    assert text_of([*b"no end"]) == "no end"
    assert text_of([0xC3]) == "\ufffd"  # a cut multi-byte character is replaced, not raised


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="needs 26 inputs"):
        encode_pairs(PAIRS[:1], length=20)
    with pytest.raises(ValueError, match="holds the byte SEP or EOS"):
        encode_pairs([("a\x02b", "c")], length=20)
    with pytest.raises(ValueError, match="at least one"):
        encode_pairs([], length=20)
    with pytest.raises(TypeError, match="text must be a str"):
        prompt_ids(3)
