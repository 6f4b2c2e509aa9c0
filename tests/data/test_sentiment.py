"""The sentiment task from VADER's lexicon: what it keeps, how it labels, templates and split."""

from __future__ import annotations

import importlib.resources
import math
import re
import sys

import pytest
import torch

from deepoptim.data import (
    SENTIMENT_TEMPLATES,
    sentiment_sentence,
    vader_lexicon,
    vader_sentiment,
)


def _means() -> dict[str, float]:
    """The lexicon file parsed here on its own (a repeated token: the later line)."""
    path = importlib.resources.files("vaderSentiment") / "vader_lexicon.txt"
    return {line.split("\t")[0]: float(line.split("\t")[1])
            for line in path.read_text(encoding="utf-8").splitlines()}


MEANS = _means()
WORD_OF = {sentiment_sentence(w): w for w in MEANS if w.isalpha()}


def _words(texts: tuple[str, ...]) -> list[str]:
    return [WORD_OF[text] for text in texts]


def test_lexicon_is_the_installed_file():
    lexicon = vader_lexicon()
    assert lexicon == MEANS
    assert len(lexicon) == 7506
    assert min(lexicon.values()) == -3.9 and max(lexicon.values()) == 3.4
    assert sum(w.isalpha() for w in lexicon) == 7209
    lexicon["good"] = -4.0  # a fresh dict: the next call is unchanged
    assert vader_lexicon()["good"] == MEANS["good"] > 0


def test_sizes_and_class_balance_as_documented():
    task = vader_sentiment()
    assert task.class_names == ("negative", "positive")
    assert (task.num_train, task.num_test) == (3220, 806)
    total = torch.bincount(torch.cat([task.y_train, task.y_test]), minlength=2).tolist()
    assert total == [2221, 1805]
    # stratified: each class's test share is 20% up to rounding
    for count, size in zip(torch.bincount(task.y_test).tolist(), total, strict=True):
        assert abs(count - 0.2 * size) <= 1


@pytest.mark.parametrize("threshold", [0.05, 1.5, 2.5, 3.2])
def test_threshold_keeps_exactly_the_rated_words_and_labels_are_their_sign(threshold):
    task = vader_sentiment(threshold=threshold)
    words = _words(task.texts_train + task.texts_test)
    expected = {w for w, mean in MEANS.items() if w.isalpha() and abs(mean) >= threshold}
    assert len(words) == len(set(words)) and set(words) == expected
    labels = torch.cat([task.y_train, task.y_test]).tolist()
    assert labels == [int(MEANS[w] > 0) for w in words]
    assert all(MEANS[w] != 0 for w in words)  # the sign is defined for every kept word


def test_a_word_on_the_threshold_is_kept():
    on_it = {w for w, mean in MEANS.items() if w.isalpha() and abs(mean) == 1.5}
    assert on_it  # e.g. means of exactly +1.5 or -1.5 exist
    task = vader_sentiment(threshold=1.5)
    assert on_it <= set(_words(task.texts_train + task.texts_test))
    assert not on_it & set(_words(vader_sentiment(threshold=1.51).texts_train))


def test_split_is_by_word_deterministic_and_seeded():
    first, again, other = vader_sentiment(), vader_sentiment(), vader_sentiment(seed=1)
    assert not set(_words(first.texts_train)) & set(_words(first.texts_test))
    assert first.texts_train == again.texts_train and first.texts_test == again.texts_test
    assert torch.equal(first.y_train, again.y_train) and torch.equal(first.y_test, again.y_test)
    assert other.texts_test != first.texts_test
    assert set(other.texts_train + other.texts_test) == set(first.texts_train + first.texts_test)
    assert vader_sentiment(test_fraction=0.5).num_test == 4026 // 2


def test_templates_carry_no_rated_word():
    for template in SENTIMENT_TEMPLATES:
        assert template.count("{w}") == 1
        text = template.replace("{w}", " ")
        pieces = set(re.findall(r"[a-z']+", text.lower())) | set(text.lower().split())
        assert not pieces & set(MEANS), template  # not even a weakly rated one


def test_sentence_is_fixed_by_the_word_and_every_template_serves_both_classes():
    assert sentiment_sentence("triumphed") == sentiment_sentence("triumphed")
    assert sentiment_sentence("triumphed") in {t.format(w="triumphed") for t in SENTIMENT_TEMPLATES}
    task = vader_sentiment()
    texts, labels = task.texts_train + task.texts_test, torch.cat([task.y_train, task.y_test])
    share = labels.float().mean().item()
    for template in SENTIMENT_TEMPLATES:
        prefix = template.split("{w}")[0]
        used = torch.tensor([t.startswith(prefix) and t.endswith(template.split("{w}")[1])
                             for t in texts])
        assert used.sum() > 300  # about 4026 / 8 each
        assert abs(labels[used].float().mean().item() - share) < 0.1  # not a label cue
    with pytest.raises(TypeError, match="word must be a str, got int"):
        sentiment_sentence(3)


def test_small_keeps_the_class_balance():
    task = vader_sentiment()
    small = task.small(500)
    assert torch.bincount(small.y_train).tolist() == [276, 224]  # 55% / 45% as the whole
    assert set(small.texts_train) <= set(task.texts_train) and small.texts_test == task.texts_test


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"threshold": 0}, ValueError, "Invalid threshold value: 0 "),
    ({"threshold": -1.5}, ValueError, "Invalid threshold value: -1.5 "),
    ({"threshold": math.nan}, ValueError, "Invalid threshold value: nan "),
    ({"threshold": "1.5"}, TypeError, "threshold must be a real number, got str"),
    ({"threshold": 3.5}, ValueError,
     r"Invalid threshold value: 3.5 \(keeps 22 negative and 0 positive words"),
    ({"test_fraction": 1.0}, ValueError, "Invalid test_fraction value: 1.0 "),
    ({"seed": -1}, ValueError, "Invalid seed value: -1 "),
])
def test_bad_arguments_are_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        vader_sentiment(**kwargs)


def test_a_missing_package_names_the_pip_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "vaderSentiment", None)
    for load in (vader_lexicon, vader_sentiment):
        with pytest.raises(ImportError, match=r"pip install vaderSentiment==3\.3\.2"):
            load()


def test_every_sentence_fits_in_twelve_minilm_tokens(tokenizer):
    task = vader_sentiment(threshold=0.05)  # every alphabetic word
    lengths = [len(ids) for ids in tokenizer(list(task.texts_train + task.texts_test))["input_ids"]]
    assert max(lengths) == 12  # with [CLS] and [SEP], as documented
