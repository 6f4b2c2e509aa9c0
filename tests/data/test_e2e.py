"""E2E-style data-to-text: fixed disjoint splits, realisations, slot errors by construction."""

from __future__ import annotations

import pytest

from deepoptim.data import (
    MeaningRepresentation,
    SlotErrors,
    e2e_data,
    slot_error_rate,
    slot_errors,
    venue_names,
)
from deepoptim.data.e2e import _patterns

SPLITS = ("train", "dev", "test")


@pytest.fixture(scope="module")
def data():
    return e2e_data(train=200, dev=40, test=60, references=3, seed=1)


def _mr(**slots):
    order = ("name", "eatType", "food", "priceRange", "area", "familyFriendly", "near")
    return MeaningRepresentation(tuple((s, slots[s]) for s in order if s in slots))


def test_same_seed_same_data_and_another_seed_other_data(data):
    assert e2e_data(train=200, dev=40, test=60, references=3, seed=1) == data
    assert e2e_data(train=200, dev=40, test=60, references=3, seed=2).train != data.train


def test_sizes_and_distinct_mrs(data):
    for split, size in zip(SPLITS, (200, 40, 60), strict=True):
        examples = getattr(data, split)
        assert len(examples) == size
        assert len({ex.mr for ex in examples}) == size
        for ex in examples:
            assert len(ex.references) == len(set(ex.references)) == 3
            assert ex.mr.pairs[0][0] == "name" and len(ex.mr.pairs) >= 3
    assert len(data.pairs("dev")) == 3 * 40
    assert data.pairs("test")[0] == (str(data.test[0].mr), data.test[0].references[0])


def test_names_unseen_between_splits(data):
    pools = {split: set(venue_names(split)) for split in SPLITS}
    assert not (pools["train"] & pools["dev"] or pools["train"] & pools["test"]
                or pools["dev"] & pools["test"])
    for split in SPLITS:
        used = {v for ex in getattr(data, split) for s, v in ex.mr.pairs if s in ("name", "near")}
        assert used <= pools[split]
    # not even the first word of a test name occurs in a training name
    train_words = {name.split()[1] for name in pools["train"]}
    assert not train_words & {name.split()[1] for name in pools["test"]}


def test_combinations_unseen_in_earlier_splits(data):
    combos = {split: {ex.mr.combination for ex in getattr(data, split)} for split in SPLITS}
    assert not combos["dev"] & combos["train"]
    assert not combos["test"] & (combos["train"] | combos["dev"])


def test_every_reference_realises_its_mr_exactly(data):
    for split in SPLITS:
        for ex in getattr(data, split):
            for ref in ex.references:
                assert slot_errors(ex.mr, ref) == SlotErrors(len(ex.mr.pairs), 0, 0), ref


def test_matching_is_unambiguous():
    """No name holds a value phrasing or another name, so every match has one meaning."""
    pool = [n for split in SPLITS for n in venue_names(split)]
    phrases = [phrase for phrase, slot, _ in _patterns() if slot != "<name>"]
    for name in pool:
        assert not any(phrase in name.lower() for phrase in phrases), name
        assert sum(name in other for other in pool) == 1, name


def test_mr_text_round_trip_and_bad_mrs(data):
    for ex in data.dev:
        assert MeaningRepresentation.parse(str(ex.mr)) == ex.mr
    assert str(_mr(name="The Amber Fox", food="Italian")) == "name[The Amber Fox], food[Italian]"
    with pytest.raises(ValueError, match="name first"):
        MeaningRepresentation((("food", "Italian"), ("name", "The Amber Fox")))
    with pytest.raises(ValueError, match="Invalid food value: 'Thai'"):
        _mr(name="The Amber Fox", food="Thai")


MR = _mr(name="The Amber Fox", eatType="pub", food="Italian", priceRange="cheap",
         familyFriendly="yes", near="The Blue Bell")


@pytest.mark.parametrize(
    ("text", "missing", "hallucinated"),
    [
        ("The Amber Fox is a cheap, family-friendly Italian pub near The Blue Bell.", 0, 0),
        # case and spacing do not matter; a repeated value counts once
        ("THE AMBER FOX is  a CHEAP Italian pub near the blue bell. Cheap! Kid friendly.", 0, 0),
        ("", 6, 0),
        # food wrong (1 missing, 1 added), price, family and near missing
        ("The Amber Fox is a French pub.", 4, 1),
        # the longest phrasing wins: "not family friendly" is a "no", not a "yes"
        ("The Amber Fox is a cheap Italian pub near The Blue Bell. It is not family friendly.",
         1, 1),
        # an added slot (area) and an added known name
        ("The Amber Fox is an inexpensive kid friendly Italian pub by the river near The Blue "
         "Bell and The Cobalt Oak.", 0, 2),
        # "Fast food" is two words; "food" alone is no value
        ("The Amber Fox is a cheap pub with fast food and good food near The Blue Bell. "
         "Children are welcome.", 1, 1),
    ],
)
def test_slot_errors_by_construction(text, missing, hallucinated):
    errors = slot_errors(MR, text)
    assert errors == SlotErrors(6, missing, hallucinated)
    assert errors.realised == 6 - missing
    assert errors.rate == pytest.approx((missing + hallucinated) / 6)


def test_corpus_rate_sums_counts():
    other = _mr(name="The Jade Swan", area="riverside", familyFriendly="no")
    texts = ["The Amber Fox is a French pub.", "The Jade Swan is by the river. Adults only."]
    assert slot_errors(other, texts[1]) == SlotErrors(3, 0, 0)
    assert slot_error_rate([MR, other], texts) == pytest.approx((4 + 1) / (6 + 3))
    with pytest.raises(ValueError, match="one per MR"):
        slot_error_rate([MR], texts)
    with pytest.raises(TypeError, match="mr must be a MeaningRepresentation"):
        slot_errors(str(MR), "text")


def test_bad_arguments_rejected_before_work():
    with pytest.raises(ValueError, match="Invalid train value: 0"):
        e2e_data(train=0)
    with pytest.raises(ValueError, match="Invalid slot_probability value"):
        e2e_data(slot_probability=0.0)
    with pytest.raises(ValueError, match="Invalid split value"):
        venue_names("valid")
    # with every slot present there are 3 * 7 * 3 * 2 * 2 = 252 combinations: 2000 training
    # MRs use them all, and no dev MR can have an unseen one
    with pytest.raises(ValueError, match="distinct MRs with unseen combinations"):
        e2e_data(train=2000, dev=1, references=1, slot_probability=1.0)
