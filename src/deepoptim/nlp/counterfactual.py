"""Counterfactual sentences: swap the words of definitional pairs (he <-> she, man <-> woman).

Kenneweg et al. 2023 (ICPRAM) pair each sentence that contains a word of a definitional pair
with a copy in which that word is replaced by its counterpart, and train the embedder to map
both to the same embedding (:func:`deepoptim.nlp.debias_loss`). Their code matched words with
``word in sentence`` and ``sentence.replace``, substring operations that turn "the" into
"tshe" and match "his" in "this". Here a word is matched only as a whole word (regex ``\\b``
boundaries, Unicode aware, case-insensitive), every listed word in one pass (so "he" and "she"
swap instead of both becoming one), and the replacement takes the case of the word it
replaces: "he" -> "she", "He" -> "She", "HE" -> "SHE" (a mixed-case word like "McDonald"
gets its counterpart capitalised only). "He's" becomes "She's"; "hero" and "the" stay.

Pairs are swapped both ways and compared in lower case; a word may belong to only one pair
(with "her" in her/his and her/him the counterpart would be ambiguous). A word is letters,
digits or underscores, optionally joined by single spaces, hyphens or apostrophes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

__all__ = ["counterfactual", "counterfactual_pairs"]

_WORD = re.compile(r"\w+(?:[ '\-]\w+)*")


def _swap_table(pairs: Sequence[tuple[str, str]]) -> tuple[re.Pattern[str], dict[str, str]]:
    """The pattern matching every listed word and the counterpart of each (lower case)."""
    if isinstance(pairs, str) or not isinstance(pairs, Sequence):
        raise TypeError(f"pairs must be a sequence of (word, word) tuples, got "
                        f"{type(pairs).__name__}")
    if len(pairs) == 0:
        raise ValueError("Invalid pairs value: [] (expected at least one pair of words)")
    table: dict[str, str] = {}
    for pair in pairs:
        if isinstance(pair, str) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise ValueError(f"Invalid pairs value: {pair!r} (expected a pair of two words)")
        for word in pair:
            if not isinstance(word, str) or not _WORD.fullmatch(word):
                raise ValueError(f"Invalid pairs value: {word!r} in {pair!r} (expected a word: "
                                 "letters, digits or _, joined by single spaces, - or ')")
        first, second = pair[0].lower(), pair[1].lower()
        if first == second:
            raise ValueError(f"Invalid pairs value: {pair!r} (a word paired with itself)")
        for word, counterpart in ((first, second), (second, first)):
            if table.setdefault(word, counterpart) != counterpart:
                raise ValueError(f"Invalid pairs value: {word!r} is paired with both "
                                 f"{table[word]!r} and {counterpart!r}")
    # Longest first, so that a word inside a listed phrase does not win over the phrase.
    words = sorted(table, key=len, reverse=True)
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b", re.IGNORECASE)
    return pattern, table


def _with_case_of(word: str, replacement: str) -> str:
    if len(word) > 1 and word.isupper():
        return replacement.upper()
    if word[0].isupper():
        return replacement[0].upper() + replacement[1:]
    return replacement


def _swap(sentence: str, pattern: re.Pattern[str], table: dict[str, str]) -> str:
    return pattern.sub(lambda m: _with_case_of(m[0], table[m[0].lower()]), sentence)


def counterfactual(sentence: str, pairs: Sequence[tuple[str, str]]) -> str:
    """``sentence`` with every whole word of ``pairs`` replaced by its counterpart.

    E.g. ``counterfactual("He thanked his mother.", [("he", "she"), ("his", "her"),
    ("mother", "father")])`` is ``"She thanked her father."``. A sentence without a listed
    word is returned unchanged.
    """
    if not isinstance(sentence, str):
        raise TypeError(f"sentence must be a str, got {type(sentence).__name__}")
    return _swap(sentence, *_swap_table(pairs))


def counterfactual_pairs(sentences: Iterable[str], pairs: Sequence[tuple[str, str]]
                         ) -> list[tuple[str, str]]:
    """``(sentence, counterfactual)`` for every sentence that contains a word of ``pairs``.

    Sentences without one are left out (their pair would be identical).
    """
    pattern, table = _swap_table(pairs)
    sentences = list(sentences)
    for i, sentence in enumerate(sentences):
        if not isinstance(sentence, str):
            raise TypeError(f"sentences[{i}] must be a str, got {type(sentence).__name__}")
    return [(sentence, _swap(sentence, pattern, table))
            for sentence in sentences if pattern.search(sentence)]
