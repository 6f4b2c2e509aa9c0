"""Sentiment of human-rated words: the polarity of VADER's lexicon words, each in a sentence.

VADER (Hutto & Gilbert, ICWSM 2014) rates 7,506 English tokens (words, slang, emoticons) for
sentiment: ten people each rated every token from -4 (extremely negative) to +4 (extremely
positive), and the lexicon keeps the mean of the ten ratings. The ``vaderSentiment`` package
(MIT licence) ships the lexicon as ``vader_lexicon.txt``, one ``token<TAB>mean<TAB>std<TAB>
[ten ratings]`` line per token; :func:`vader_lexicon` reads it from the installed package (it is
neither downloaded nor copied here). Fourteen tokens appear twice; the later line counts, as in
VADER's own analyser.

:func:`vader_sentiment` turns it into a binary classification of sentences. A word is kept if it
is alphabetic (7,209 of the tokens; emoticons and tokens with digits, hyphens or apostrophes are
left out) and its mean rating is at least ``threshold`` away from neutral, ``|mean| >=
threshold``; its label is the sign of the mean, ``negative`` (0) or ``positive`` (1). At the
default threshold 1.5 this keeps 4,026 words: 2,221 negative and 1,805 positive (55% / 45%).

Each word becomes one sentence, ``template.format(w=word)``, so that an encoder sees the word in
context and the task stays the word's polarity. The lexicon mixes adjectives, nouns, verbs,
adverbs, interjections and slang ("sufferer", "triumphed", "woefully", "gratz"), so the templates
of :data:`SENTIMENT_TEMPLATES` do not use the word as one part of speech: they quote or name it
('Someone said "gratz".'). None of their own words is in the lexicon, so they carry no rated
sentiment. They are short (at most five of MiniLM's tokens besides the word) so that a sentence
takes at most 12 tokens with [CLS] and [SEP], the longest words included. The template of a word
is fixed by the word alone (the first eight bytes of the SHA-256 of the word, modulo the number
of templates: :func:`sentiment_sentence`), so it does not depend on the label, the threshold or
the seed, and each template serves both classes.

The split is by word: with one sentence per word, the stratified split of the sentences
(scikit-learn's ``train_test_split`` with ``seed``, as for the other text tasks) puts every word
either in the training set or in the test set. Related forms of one stem ("frustrated",
"frustration") are distinct words and may fall on both sides, so the test set measures
generalisation to new words, some of them relatives of training words.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources

from deepoptim._checks import check_positive

from .text import TextClassificationData, check_split, split_texts

PACKAGE = "vaderSentiment"
VERSION = "3.3.2"

#: The sentence templates; ``{w}`` is the word. None of their words is in VADER's lexicon.
SENTIMENT_TEMPLATES: tuple[str, ...] = (
    'Someone said "{w}".',
    "The word was {w}.",
    'She wrote "{w}".',
    "The note said: {w}.",
    "He read {w} aloud.",
    "The card said {w}.",
    "Next word: {w}.",
    'They typed "{w}".',
)
CLASS_NAMES = ("negative", "positive")


def vader_lexicon() -> dict[str, float]:
    """VADER's lexicon as ``{token: mean rating}`` (7,506 tokens, means in [-3.9, 3.4]), read
    from the installed ``vaderSentiment`` package; a fresh dict on each call."""
    try:
        import vaderSentiment
    except ImportError as error:
        raise ImportError(f"VADER's lexicon needs the {PACKAGE} package: "
                          f"pip install {PACKAGE}=={VERSION}") from error
    return dict(_read(str(importlib.resources.files(vaderSentiment) / "vader_lexicon.txt")))


@functools.cache
def _read(path: str) -> tuple[tuple[str, float], ...]:
    means = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            token, mean, *_ = line.rstrip("\r\n").split("\t")
            means[token] = float(mean)  # a repeated token: the later line wins, as in VADER
    return tuple(means.items())


def sentiment_sentence(word: str) -> str:
    """The sentence of ``word``: the template chosen by the word's SHA-256, filled with it."""
    if not isinstance(word, str):
        raise TypeError(f"word must be a str, got {type(word).__name__}")
    digest = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "big")
    return SENTIMENT_TEMPLATES[digest % len(SENTIMENT_TEMPLATES)].format(w=word)


def vader_sentiment(*, threshold: float = 1.5, test_fraction: float = 0.2,
                    seed: int = 0) -> TextClassificationData:
    """Polarity of VADER's alphabetic words with ``|mean rating| >= threshold``, one sentence
    per word (2 classes: negative, positive).

    The default keeps 4,026 words (2,221 negative, 1,805 positive); the split is by word,
    stratified by class and determined by ``seed``: 3,220 training and 806 test sentences.
    """
    check_positive("threshold", threshold)
    check_split(test_fraction, seed)
    kept = {word: mean for word, mean in sorted(vader_lexicon().items())
            if word.isalpha() and abs(mean) >= threshold}
    positive = sum(mean > 0 for mean in kept.values())
    negative = len(kept) - positive
    if min(positive, negative) < 2:
        raise ValueError(f"Invalid threshold value: {threshold!r} (keeps {negative} negative "
                         f"and {positive} positive words; the split needs at least 2 of each, "
                         "and the lexicon's means run from -3.9 to +3.4)")
    return split_texts(
        "vader_sentiment",
        tuple(sentiment_sentence(word) for word in kept),
        tuple(CLASS_NAMES[mean > 0] for mean in kept.values()),
        test_fraction=test_fraction,
        seed=seed,
    )
