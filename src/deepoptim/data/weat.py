"""WEAT word sets and SEAT sentence templates for measuring social bias in sentence encoders.

The Word Embedding Association Test (Caliskan, Bryson & Narayanan, Science 2017) compares two
target sets X, Y (e.g. math and arts words) by their association with two attribute sets A, B
(e.g. male and female terms); SEAT (May et al., NAACL 2019) applies it to sentence encoders by
putting every word in short neutral templates ("This is John.", "This is a symphony."). Three
kinds of bias ship as data files in ``resources/`` (``weat.tsv``, ``seat_templates.tsv``), with
their sources and our deviations in the headers: the gender tests 6/6b/7/7b/8/8b used by
Kenneweg et al. (ICPRAM 2023), Caliskan et al.'s race tests 3/4/5 (European- against
African-American names, pleasant against unpleasant words) and four religion tests in the style
of Liang et al. (ACL 2020; Christianity against Islam and Judaism terms). Every set has 8 words
and every kind of word 8 templates.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

_RESOURCES = Path(__file__).with_name("resources")


@dataclasses.dataclass(frozen=True)
class WordSet:
    """A named WEAT word set; ``kind`` ("names" or "terms") selects its SEAT templates."""

    name: str
    kind: str
    words: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class WeatTest:
    """A WEAT test: targets ``x``, ``y`` and attributes ``a``, ``b``."""

    name: str
    x: WordSet
    y: WordSet
    a: WordSet
    b: WordSet


#: The kinds of bias :func:`weat_tests` has tests for.
WEAT_BIASES: tuple[str, ...] = ("gender", "race", "religion")


def weat_tests(bias: str = "gender") -> dict[str, WeatTest]:
    """The tests of one kind of ``bias`` by name, each oriented so that ``d > 0`` is the
    stereotype's direction:

    * "gender": ``weat6``, ``weat6b``, ``weat7``, ``weat7b``, ``weat8``, ``weat8b`` (male/female
      names or terms against career/family; math/arts and science/arts against male/female);
    * "race": ``weat3``, ``weat4``, ``weat5`` (European-/African-American names against
      pleasant/unpleasant words);
    * "religion": ``religion1``, ``religion1b`` (Christianity/Islam terms) and ``religion2``,
      ``religion2b`` (Christianity/Judaism terms) against pleasant/unpleasant words.
    """
    if bias not in WEAT_BIASES:
        raise ValueError(f"Invalid bias value: {bias!r} (expected one of {list(WEAT_BIASES)})")
    return {name: test for kind, name, test in _load_weat() if kind == bias}


def seat_templates(kind: str) -> tuple[str, ...]:
    """The SEAT templates for ``kind`` ("names" or "terms"), with ``{w}``, ``{a}``, ``{A}``."""
    templates = _load_templates()
    if kind not in templates:
        raise ValueError(f"Invalid kind value: {kind!r} (expected one of {sorted(templates)})")
    return templates[kind]


def seat_sentences(words: WordSet) -> tuple[str, ...]:
    """Every word of ``words`` in every template of its kind, word by word (8 per word)."""
    sentences = []
    for word in words.words:
        article = "an" if word[0].lower() in "aeiou" else "a"
        for template in seat_templates(words.kind):
            sentences.append(template.format(w=word, a=article, A=article.capitalize()))
    return tuple(sentences)


def _records(filename: str) -> list[list[str]]:
    lines = (_RESOURCES / filename).read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines if line and not line.startswith("#")]


@functools.cache
def _load_weat() -> tuple[tuple[str, str, WeatTest], ...]:
    """``(bias, name, test)`` for every test; one :class:`WordSet` object per set name."""
    records = _records("weat.tsv")
    sets = {
        name: WordSet(name, kind, tuple(words.split()))
        for _, name, kind, words in (r for r in records if r[0] == "set")
    }
    return tuple(
        (bias, name, WeatTest(name, *(sets[s] for s in names)))
        for _, bias, name, *names in (r for r in records if r[0] == "test")
    )


@functools.cache
def _load_templates() -> dict[str, tuple[str, ...]]:
    templates: dict[str, list[str]] = {}
    for kind, template in _records("seat_templates.tsv"):
        templates.setdefault(kind, []).append(template)
    return {kind: tuple(found) for kind, found in templates.items()}
