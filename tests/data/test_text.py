"""Text classification corpora (Python's documentation) and the WEAT/SEAT word lists."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from deepoptim.data import (
    TextClassificationData,
    python_doc_passages,
    seat_sentences,
    seat_templates,
    stdlib_docstrings,
    weat_tests,
)

# The class sizes documented in deepoptim.data.text.
DOCUMENTED = {
    python_doc_passages: {
        "built-in types": 221,
        "compound statements": 148,
        "data model": 298,
        "expressions": 172,
        "simple statements": 101,
    },
    stdlib_docstrings: {
        "concurrency": 307,
        "data": 105,
        "files": 178,
        "formats": 191,
        "math": 211,
        "net": 323,
        "text": 122,
        "time": 100,
    },
}
LOADERS = list(DOCUMENTED)


def _counts(names: tuple[str, ...], labels: torch.Tensor) -> dict[str, int]:
    return {names[k]: int(c) for k, c in enumerate(torch.bincount(labels, minlength=len(names)))}


@pytest.mark.parametrize("load", LOADERS)
def test_classes_and_sizes_as_documented(load):
    data = load()
    assert data.class_names == tuple(sorted(DOCUMENTED[load]))
    assert data.num_classes == len(DOCUMENTED[load])
    total = Counter(_counts(data.class_names, data.y_train))
    total.update(_counts(data.class_names, data.y_test))
    assert dict(total) == DOCUMENTED[load]
    # stratified 80/20: every class's test share is 20% up to rounding
    for name, count in _counts(data.class_names, data.y_test).items():
        assert abs(count - 0.2 * DOCUMENTED[load][name]) <= 1


@pytest.mark.parametrize("load", LOADERS)
def test_split_is_deterministic_disjoint_and_seeded(load):
    first, again, other = load(), load(), load(seed=1)
    assert first.texts_train == again.texts_train and first.texts_test == again.texts_test
    assert torch.equal(first.y_train, again.y_train) and torch.equal(first.y_test, again.y_test)
    assert not set(first.texts_train) & set(first.texts_test)
    assert len(set(first.texts_train + first.texts_test)) == first.num_train + first.num_test
    assert other.texts_test != first.texts_test
    assert set(other.texts_train + other.texts_test) == set(first.texts_train + first.texts_test)
    assert load(test_fraction=0.5).num_test == (first.num_train + first.num_test + 1) // 2


def test_labels_follow_the_texts():
    # the same text has the same label in two different splits
    a, b = stdlib_docstrings(), stdlib_docstrings(seed=3)
    label_of = dict(
        zip(a.texts_train + a.texts_test, torch.cat([a.y_train, a.y_test]).tolist(), strict=True)
    )
    for text, label in zip(b.texts_train, b.y_train.tolist(), strict=True):
        assert label_of[text] == label


def test_docstrings_mask_their_module():
    data = stdlib_docstrings()
    texts = data.texts_train + data.texts_test
    assert sum("<module>" in text for text in texts) > 10
    assert not any("json.dumps" in text or "os.path.join" in text for text in texts)


@pytest.mark.parametrize("load", LOADERS)
def test_small_is_stratified_seeded_subset(load):
    data = load()
    small = data.small()
    assert small.num_train == 500 and small.name.endswith("_small500")
    assert small.texts_test == data.texts_test and torch.equal(small.y_test, data.y_test)
    full = _counts(data.class_names, data.y_train)
    for name, count in _counts(small.class_names, small.y_train).items():
        assert abs(count - 500 * full[name] / data.num_train) <= 1
    position = {text: i for i, text in enumerate(data.texts_train)}
    indices = [position[text] for text in small.texts_train]
    assert indices == sorted(indices)  # a subsequence of the training set
    assert torch.equal(small.y_train, data.y_train[indices])
    assert data.small().texts_train == small.texts_train
    assert data.small(seed=1).texts_train != small.texts_train
    assert data.small(100).num_train == 100


def test_bad_input_is_rejected():
    data = python_doc_passages()
    with pytest.raises(ValueError, match="Invalid n value"):
        data.small(data.num_train)
    with pytest.raises(ValueError, match="Invalid n value"):
        data.small(data.num_classes - 1)
    with pytest.raises(TypeError, match="n must be an int"):
        data.small(500.0)
    with pytest.raises(ValueError, match="Invalid test_fraction value"):
        python_doc_passages(test_fraction=1.0)
    with pytest.raises(TypeError, match="tokenizer must be a fast transformers tokenizer"):
        data.tokenize(str.split)
    with pytest.raises(TypeError, match="class_names must be a non-empty tuple of str"):
        TextClassificationData("x", ("a",), torch.tensor([0]), (), torch.tensor([0])[:0], ())
    with pytest.raises(ValueError, match="Invalid y_train value"):
        TextClassificationData(
            "x", ("a", "b"), torch.tensor([0, 2]), (), torch.tensor([0])[:0], ("p", "q")
        )


def test_tokenize_shapes_padding_and_cache(tokenizer):
    data = python_doc_passages().small(60)
    tokens = data.tokenize(tokenizer, max_length=32)
    train, test = tokens
    assert train.input_ids.shape == (60, 32) and test.input_ids.shape == (data.num_test, 32)
    for split, texts in ((train, data.texts_train), (test, data.texts_test)):
        assert split.input_ids.dtype == split.attention_mask.dtype == torch.int64
        assert split.attention_mask.shape == split.input_ids.shape
        lengths = split.attention_mask.sum(1)
        for row, length, text in zip(split.input_ids, lengths.tolist(), texts, strict=True):
            expected = tokenizer(text, truncation=True, max_length=32)["input_ids"]
            assert row[:length].tolist() == expected
            assert (row[length:] == tokenizer.pad_token_id).all()
        # the mask is ones then zeros
        assert torch.equal(split.attention_mask, (torch.arange(32) < lengths[:, None]).long())
    assert torch.equal(train.labels, data.y_train) and torch.equal(test.labels, data.y_test)
    # passages are long: truncation happens, so T equals max_length
    assert int(train.attention_mask.sum(1).max()) == 32

    assert data.tokenize(tokenizer, max_length=32) is tokens
    assert data.tokenize(tokenizer, max_length=16) is not tokens
    assert data.tokenize(tokenizer, max_length=32) is tokens  # other lengths kept beside


def test_tokenize_pads_to_the_longest_text(tokenizer):
    short = TextClassificationData(
        "tiny",
        ("This is John.", "A cat."),
        torch.tensor([0, 1]),
        ("Here is Amy.",),
        torch.tensor([1]),
        ("a", "b"),
    )
    train, test = short.tokenize(tokenizer, max_length=64)
    # [CLS] this is john . [SEP] is the longest: both splits are padded to its 6 tokens
    assert train.input_ids.shape == (2, 6) and test.input_ids.shape == (1, 6)
    assert train.attention_mask.tolist() == [[1] * 6, [1, 1, 1, 1, 1, 0]]


def test_tokenize_cache_is_keyed_by_tokenizer_content(tokenizer):
    transformers = pytest.importorskip("transformers")
    data = python_doc_passages().small(40)
    tokens = data.tokenize(tokenizer, max_length=16)
    twin = transformers.AutoTokenizer.from_pretrained(tokenizer.name_or_path, local_files_only=True)
    assert data.tokenize(twin, max_length=16) is tokens  # an equal tokenizer hits the cache
    twin.add_tokens(["zzqxv"])
    assert data.tokenize(twin, max_length=16) is not tokens  # a changed vocabulary does not


def test_weat_word_lists():
    tests = weat_tests()
    assert list(tests) == ["weat6", "weat6b", "weat7", "weat7b", "weat8", "weat8b"]
    for test in tests.values():
        for words in (test.x, test.y, test.a, test.b):
            assert len(words.words) == len(set(words.words)) == 8
            assert words.kind in ("names", "terms")
    weat6, weat7, weat8 = tests["weat6"], tests["weat7"], tests["weat8"]
    assert (weat6.x.name, weat6.y.name, weat6.a.name, weat6.b.name) == (
        "MaleNames",
        "FemaleNames",
        "Career",
        "Family",
    )
    assert weat6.x.words[0] == "John" and weat6.b.words[-1] == "relatives"
    assert "sculpture" in weat7.y.words and "Shakespeare" in weat8.y.words
    assert weat7.a.words == ("male", "man", "boy", "brother", "he", "him", "his", "son")
    assert weat8.b.words == (
        "sister",
        "mother",
        "aunt",
        "grandmother",
        "daughter",
        "she",
        "hers",
        "her",
    )
    assert tests["weat7b"].a is tests["weat6"].x  # one set object per name


def test_seat_sentences():
    assert len(seat_templates("names")) == len(seat_templates("terms")) == 8
    with pytest.raises(ValueError, match="Invalid kind value"):
        seat_templates("plural")
    tests = weat_tests()
    names = seat_sentences(tests["weat6"].x)
    assert len(names) == 64 and names[:2] == ("This is John.", "That is John.")
    assert "The person's name is Bill." in names
    career = seat_sentences(tests["weat6"].a)
    assert career[0] == "This is an executive." and "An office is a thing." in career
    assert "This is a salary." in career and "{" not in "".join(career)


def test_committed_corpus_is_rebuilt_exactly():
    # the shipped file is what the documented recipe produces on the Python it names
    import gzip
    import json
    import platform

    from deepoptim.data import _text_corpus
    from deepoptim.data.text import CORPUS_PATH

    shipped = json.loads(gzip.decompress(CORPUS_PATH.read_bytes()))
    if platform.python_version() != shipped["python"]:
        pytest.skip(f"the corpus was built on Python {shipped['python']}")
    assert _text_corpus.build() == shipped
