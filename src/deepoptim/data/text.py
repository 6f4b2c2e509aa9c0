"""Real text classification offline: Python's own documentation, labelled by where it comes from.

Two corpora are read from ``resources/corpus.json.gz`` (built once by :mod:`._text_corpus` from
CPython 3.11.7 and committed, since both sources change between Python versions):

* :func:`python_doc_passages`: 940 paragraphs of the help topics (``pydoc_data.topics``,
  ``help('if')`` and so on), labelled by the part of the documentation they come from, 5
  classes: built-in types 221, compound statements 148, data model 298, expressions 172,
  simple statements 101.
* :func:`stdlib_docstrings`: 1537 docstrings of public standard-library functions, classes and
  methods, labelled by the family of the module that defines them, 8 classes: concurrency
  307, data 105, files 178, formats 191, math 211, net 323, text 122, time 100. The module's own
  name is masked as ``<module>`` where it names the module.

Both are real technical English with the deterministic, version-free labels an optimizer study
needs (the chosen topics and modules, and why, are listed in :mod:`._text_corpus`). A task of a
different kind, the sentiment of human-rated words placed in sentences, is
:func:`~deepoptim.data.vader_sentiment` (:mod:`.sentiment`).

The train/test split is stratified by class and fixed by ``seed`` (scikit-learn's
``train_test_split``, as for :func:`~deepoptim.data.digits`); :meth:`TextClassificationData.small`
gives the 500-example training sets of the small-data experiments (Kenneweg et al., IJCNN
2023). :meth:`TextClassificationData.tokenize` turns the texts into padded token-id tensors once
per tokenizer and length and keeps them in memory.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import json
from pathlib import Path
from typing import NamedTuple

import torch

from deepoptim._checks import check_in_range, check_int_at_least

CORPUS_PATH = Path(__file__).with_name("resources") / "corpus.json.gz"


class Tokens(NamedTuple):
    """One split as tensors: ``input_ids`` and ``attention_mask`` of shape (N, T), ``labels``
    of shape (N,), all ``int64``; the mask is 1 on tokens and 0 on padding."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor


class TokenizedSplits(NamedTuple):
    """The tokenised training and test sets, padded to the same length T."""

    train: Tokens
    test: Tokens


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class TextClassificationData:
    """A text classification problem: texts with ``int64`` labels in ``[0, num_classes)``.

    ``class_names[k]`` names label ``k``. Instances are immutable; the token cache of
    :meth:`tokenize` lives with the instance.
    """

    name: str
    texts_train: tuple[str, ...]
    y_train: torch.Tensor
    texts_test: tuple[str, ...]
    y_test: torch.Tensor
    class_names: tuple[str, ...]
    _tokens: dict[tuple[str, int], TokenizedSplits] = dataclasses.field(
        default_factory=dict, init=False
    )

    def __post_init__(self) -> None:
        names = self.class_names
        if not isinstance(names, tuple) or not names or not all(isinstance(n, str) for n in names):
            raise TypeError(
                f"class_names must be a non-empty tuple of str, got {type(names).__name__}"
            )
        for split in ("train", "test"):
            texts, y = getattr(self, f"texts_{split}"), getattr(self, f"y_{split}")
            if not isinstance(texts, tuple) or not all(isinstance(t, str) for t in texts):
                raise TypeError(f"texts_{split} must be a tuple of str, got {type(texts).__name__}")
            if y.dtype != torch.int64 or y.dim() != 1 or len(y) != len(texts):
                raise ValueError(
                    f"Invalid y_{split} value: a {y.dtype} tensor of shape {tuple(y.shape)} "
                    f"(expected a 1-D int64 tensor of length {len(texts)}, one label per text)"
                )
            if len(y) and not (0 <= int(y.min()) and int(y.max()) < len(self.class_names)):
                raise ValueError(
                    f"Invalid y_{split} value: labels in [{int(y.min())}, {int(y.max())}] "
                    f"(expected [0, {len(self.class_names)}), one per class name)"
                )

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    @property
    def num_train(self) -> int:
        """Number of training texts."""
        return len(self.texts_train)

    @property
    def num_test(self) -> int:
        """Number of test texts."""
        return len(self.texts_test)

    def small(self, n: int = 500, *, seed: int = 0) -> TextClassificationData:
        """The same problem with ``n`` training texts: a stratified sample drawn with ``seed``.

        Classes keep their proportions (to within one text); the texts keep their order; the
        test set is unchanged.
        """
        check_int_at_least("n", n, self.num_classes)
        check_in_range("n", n, self.num_classes, self.num_train)
        check_int_at_least("seed", seed, 0)
        from sklearn.model_selection import train_test_split

        chosen, _ = train_test_split(
            list(range(self.num_train)),
            train_size=n,
            random_state=seed,
            stratify=self.y_train.numpy(),
        )
        chosen = sorted(chosen)
        return TextClassificationData(
            name=f"{self.name}_small{n}",
            texts_train=tuple(self.texts_train[i] for i in chosen),
            y_train=self.y_train[chosen],
            texts_test=self.texts_test,
            y_test=self.y_test,
            class_names=self.class_names,
        )

    def tokenize(self, tokenizer: object, max_length: int = 128) -> TokenizedSplits:
        """Token ids of both splits, cut to ``max_length`` tokens and padded to the longest.

        ``tokenizer`` is a fast (Rust-backed) ``transformers`` tokenizer, e.g. MiniLM's. Both
        splits are padded to one length T, the longest text's token count (at most
        ``max_length``). The first call for a tokenizer and length tokenises; later calls with
        an equal tokenizer (same vocabulary, rules and padding/truncation sides) and length
        return the same tensors.
        """
        check_int_at_least("max_length", max_length, 2)  # room for [CLS] and [SEP]
        backend = getattr(tokenizer, "backend_tokenizer", None)
        if backend is None or getattr(tokenizer, "pad_token_id", None) is None:
            raise TypeError(
                "tokenizer must be a fast transformers tokenizer with a padding token, "
                f"got {type(tokenizer).__name__}"
            )
        key = (_fingerprint(tokenizer), max_length)
        if key not in self._tokens:
            encoded = tokenizer(
                list(self.texts_train + self.texts_test),
                truncation=True,
                max_length=max_length,
                padding="longest",
                return_tensors="pt",
            )
            ids, mask = encoded["input_ids"].long(), encoded["attention_mask"].long()
            n = self.num_train
            self._tokens[key] = TokenizedSplits(
                train=Tokens(ids[:n], mask[:n], self.y_train),
                test=Tokens(ids[n:], mask[n:], self.y_test),
            )
        return self._tokens[key]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, num_train={self.num_train}, "
            f"num_test={self.num_test}, class_names={self.class_names!r})"
        )


def _fingerprint(tokenizer: object) -> str:
    """A hash of what decides a tokenizer's output here: its vocabulary and rules (the backend's
    state without the truncation and padding settings, which each call sets) and its sides."""
    state = json.loads(tokenizer.backend_tokenizer.to_str())
    state.pop("truncation", None)
    state.pop("padding", None)
    state["sides"] = [tokenizer.padding_side, tokenizer.truncation_side]
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def python_doc_passages(*, test_fraction: float = 0.2, seed: int = 0) -> TextClassificationData:
    """Paragraphs of Python's help topics labelled by documentation part (940 texts, 5 classes).

    The split is stratified by class and determined by ``seed``; the default gives 752
    training and 188 test passages.
    """
    return _load("python_doc_passages", "documentation", test_fraction, seed)


def stdlib_docstrings(*, test_fraction: float = 0.2, seed: int = 0) -> TextClassificationData:
    """Standard-library docstrings labelled by module family (1537 texts, 8 classes).

    The split is stratified by class and determined by ``seed``; the default gives 1229
    training and 308 test docstrings.
    """
    return _load("stdlib_docstrings", "docstrings", test_fraction, seed)


def _load(name: str, corpus: str, test_fraction: float, seed: int) -> TextClassificationData:
    check_split(test_fraction, seed)
    return split_texts(name, *_corpus(corpus), test_fraction=test_fraction, seed=seed)


def check_split(test_fraction: float, seed: int) -> None:
    """Check the arguments of :func:`split_texts` (before any work starts)."""
    check_in_range("test_fraction", test_fraction, 0.0, 1.0, low_inclusive=False)
    check_int_at_least("seed", seed, 0)


def split_texts(name: str, texts: tuple[str, ...], labels: tuple[str, ...], *,
                test_fraction: float, seed: int) -> TextClassificationData:
    """Texts with their class names as labels, split stratified by class with ``seed``; the
    classes are numbered in sorted order of their names."""
    from sklearn.model_selection import train_test_split

    class_names = tuple(sorted(set(labels)))
    y = torch.tensor([class_names.index(label) for label in labels], dtype=torch.int64)
    train, test = train_test_split(
        list(range(len(texts))), test_size=test_fraction, random_state=seed, stratify=y.numpy()
    )
    return TextClassificationData(
        name=name,
        texts_train=tuple(texts[i] for i in train),
        y_train=y[train],
        texts_test=tuple(texts[i] for i in test),
        y_test=y[test],
        class_names=class_names,
    )


@functools.cache
def _corpus(corpus: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    content = json.loads(gzip.decompress(CORPUS_PATH.read_bytes()))[corpus]
    return tuple(content["texts"]), tuple(content["labels"])
