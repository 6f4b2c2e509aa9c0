"""E2E-style data-to-text: restaurant meaning representations and their realisations, generated.

The E2E NLG Challenge (Novikova et al., 2017) asks a model to turn a *meaning representation*
(MR) such as ``name[The Amber Fox], eatType[pub], food[Italian], area[riverside]`` into a
sentence ("The Amber Fox is an Italian pub by the river."), and scores it against several human
references per MR. The challenge's data cannot be downloaded here, so :func:`e2e_data`
generates a set of the same form, deterministically from a seed:

* **Slots** (:data:`SLOTS`): the seven of the E2E schema that need no currency symbol, in E2E's
  order, ``name eatType food priceRange area familyFriendly near``; the values of each are in
  :data:`VALUES` (E2E's, with priceRange restricted to ``cheap``/``moderate``/``high``, so every
  text is ASCII and one byte is one character). ``name`` is always present; each other slot is
  present with probability ``slot_probability`` and at least two are.
* **Names** are invented, ``The <Word> <Noun>``. The words are split between the splits
  (:data:`NAME_WORDS`): a test name never occurs in training, and neither does its first word,
  so a model must copy it from the MR.
* **Unseen combinations**: an MR's *combination* is its set of (slot, value) pairs other than
  ``name`` and ``near``. Dev MRs use combinations that no training MR uses, and test MRs
  combinations that neither a training nor a dev MR uses.
* **References**: each MR gets ``references`` different realisations, drawn from four sentence
  plans (:data:`PLANS`) with varied wording; every slot value is said in exactly one of the
  fixed phrasings of :data:`PHRASES`, so every reference has slot error 0 (a test checks it).

:func:`slot_errors` measures the same thing on any text by exact matching: it finds every
phrasing of every value (case-insensitive, on word boundaries, longest match first, matches
never overlap) and every known name; an MR value found is *realised*, one not found *missing*,
and a distinct value found that the MR does not hold is *hallucinated* (a wrong value, e.g.
French for Italian, therefore counts once as missing and once as hallucinated, where E2E's slot
error counts it once as "wrong"). Names a model makes up that are not in the name pool are not
detected; the MR's own names are found wherever they occur (``near`` needs no "near" before it).
The slot error rate is (missing + hallucinated) / MR slots.
"""

from __future__ import annotations

import dataclasses
import functools
import random
import re
from collections.abc import Callable, Iterable, Sequence

from deepoptim._checks import check_in_range, check_int_at_least

SLOTS = ("name", "eatType", "food", "priceRange", "area", "familyFriendly", "near")
VALUES = {
    "eatType": ("coffee shop", "pub", "restaurant"),
    "food": ("Chinese", "English", "Fast food", "French", "Indian", "Italian", "Japanese"),
    "priceRange": ("cheap", "high", "moderate"),
    "area": ("city centre", "riverside"),
    "familyFriendly": ("no", "yes"),
}
# First words of venue names, per split (names are "The <word> <noun>" with any noun).
NAME_WORDS = {
    "train": "Amber Blue Copper Crimson Golden Green Hidden Iron Lucky Maple Old Purple Quiet "
    "Royal Rusty Silver",
    "dev": "Velvet Winter Scarlet",
    "test": "Cobalt Jade Marble Northern Olive Sunny",
}
NAME_NOUNS = (
    "Anchor Badger Bell Crown Falcon Fox Harbour Heron Kettle Lantern Lion Mill Oak Otter "
    "Pearl Raven Rose Swan Thistle Willow"
)

# How each value is said, by grammatical role. Only these phrasings count as realising a value.
PHRASES = {
    "eatType": {v: {"noun": (v,)} for v in VALUES["eatType"]},
    "food": {v: {"adj": (v.lower() if v == "Fast food" else v,)} for v in VALUES["food"]},
    "priceRange": {
        "cheap": {"adj": ("cheap", "inexpensive"), "noun": ("low prices",)},
        "moderate": {"adj": ("moderately priced",), "noun": ("moderate prices", "average prices")},
        "high": {"adj": ("expensive", "high-priced"), "noun": ("high prices",)},
    },
    "area": {
        "city centre": {"place": ("in the city centre", "in the centre of the city")},
        "riverside": {"place": ("in the riverside area", "by the river", "on the riverside")},
    },
    "familyFriendly": {
        "yes": {"adj": ("family-friendly", "kid friendly"),
                "clause": ("it is family friendly", "children are welcome")},
        "no": {"adj": ("adults-only",),
               "clause": ("it is not family friendly", "children are not welcome")},
    },
}
# Words of the phrasings that match a value (the rest, "in the", "it is", is connective tissue).
_CORE = {
    "in the city centre": "city centre",
    "in the centre of the city": "centre of the city",
    "in the riverside area": "riverside",
    "on the riverside": "riverside",
    "it is family friendly": "family friendly",
    "it is not family friendly": "not family friendly",
}
_NEAR = ("near {}", "close to {}", "not far from {}")
_SPLITS = ("train", "dev", "test")


@dataclasses.dataclass(frozen=True)
class MeaningRepresentation:
    """An MR: ``(slot, value)`` pairs in the order of :data:`SLOTS`, ``name`` first.

    ``str(mr)`` is the E2E format, ``name[The Amber Fox], eatType[pub], ...``;
    :meth:`parse` reads it back.
    """

    pairs: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        slots = [slot for slot, _ in self.pairs]
        if not slots or slots[0] != "name" or sorted(slots, key=SLOTS.index) != slots or len(
            set(slots)
        ) != len(slots):
            raise ValueError(
                f"Invalid pairs value: {self.pairs!r} (expected distinct slots of {SLOTS} in "
                "that order, name first)"
            )
        for slot, value in self.pairs:
            if slot in VALUES and value not in VALUES[slot]:
                raise ValueError(
                    f"Invalid {slot} value: {value!r} (expected one of {VALUES[slot]})"
                )

    def __getitem__(self, slot: str) -> str:
        return dict(self.pairs)[slot]

    def __contains__(self, slot: object) -> bool:
        return any(s == slot for s, _ in self.pairs)

    def __str__(self) -> str:
        return ", ".join(f"{slot}[{value}]" for slot, value in self.pairs)

    @property
    def combination(self) -> frozenset[tuple[str, str]]:
        """The (slot, value) pairs other than ``name`` and ``near``."""
        return frozenset(p for p in self.pairs if p[0] not in ("name", "near"))

    @classmethod
    def parse(cls, text: str) -> MeaningRepresentation:
        """The MR written as ``str(mr)``."""
        pairs = re.findall(r"(\w+)\[([^\]]*)\]", text)
        return cls(tuple(sorted(pairs, key=lambda p: SLOTS.index(p[0]) if p[0] in SLOTS else -1)))


@dataclasses.dataclass(frozen=True)
class E2EExample:
    """One MR and its reference realisations."""

    mr: MeaningRepresentation
    references: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class E2EData:
    """Train, dev and test examples; see the module docstring for how they differ."""

    train: tuple[E2EExample, ...]
    dev: tuple[E2EExample, ...]
    test: tuple[E2EExample, ...]

    def pairs(self, split: str = "train") -> list[tuple[str, str]]:
        """``(str(mr), reference)`` for every reference of every MR of ``split``: the
        fine-tuning pairs."""
        if split not in _SPLITS:
            raise ValueError(f"Invalid split value: {split!r} (expected one of {_SPLITS})")
        return [(str(ex.mr), ref) for ex in getattr(self, split) for ref in ex.references]


@dataclasses.dataclass(frozen=True)
class SlotErrors:
    """Slot counts of one or more texts: MR slots, and those missing or hallucinated."""

    slots: int
    missing: int
    hallucinated: int

    @property
    def realised(self) -> int:
        """MR slots found in the text."""
        return self.slots - self.missing

    @property
    def rate(self) -> float:
        """(missing + hallucinated) / slots."""
        return (self.missing + self.hallucinated) / self.slots

    def __add__(self, other: SlotErrors) -> SlotErrors:
        return SlotErrors(*(a + b for a, b in zip(dataclasses.astuple(self),
                                                   dataclasses.astuple(other), strict=True)))


def venue_names(split: str) -> tuple[str, ...]:
    """The venue names of ``split`` (``"train"``, ``"dev"`` or ``"test"``), sorted."""
    if split not in _SPLITS:
        raise ValueError(f"Invalid split value: {split!r} (expected one of {_SPLITS})")
    return tuple(
        f"The {word} {noun}" for word in sorted(NAME_WORDS[split].split())
        for noun in sorted(NAME_NOUNS.split())
    )


def e2e_data(
    *,
    train: int = 300,
    dev: int = 60,
    test: int = 100,
    references: int = 3,
    slot_probability: float = 0.6,
    seed: int = 0,
) -> E2EData:
    """Generate ``train``/``dev``/``test`` distinct MRs with ``references`` realisations each.

    The same arguments give the same data. Names of a split come only from that split's pool;
    combinations of dev and test are unseen in the splits before them (module docstring).
    """
    for name, value, low in (("train", train, 1), ("dev", dev, 1), ("test", test, 1),
                             ("references", references, 1), ("seed", seed, 0)):
        check_int_at_least(name, value, low)
    check_in_range("references", references, 1, len(PLANS) * 2, high_inclusive=True)
    check_in_range("slot_probability", slot_probability, 0.0, 1.0,
                   low_inclusive=False, high_inclusive=True)
    rng = random.Random(seed)
    seen: set[frozenset[tuple[str, str]]] = set()
    splits = []
    for split, size in zip(_SPLITS, (train, dev, test), strict=True):
        earlier = frozenset(seen)
        mrs = _draw_mrs(rng, size, venue_names(split), slot_probability, avoid=earlier)
        seen |= {mr.combination for mr in mrs}
        splits.append(tuple(E2EExample(mr, _references(mr, references, rng)) for mr in mrs))
    return E2EData(*splits)


def _draw_mrs(
    rng: random.Random,
    size: int,
    pool: Sequence[str],
    probability: float,
    avoid: frozenset[frozenset[tuple[str, str]]],
) -> list[MeaningRepresentation]:
    mrs: dict[MeaningRepresentation, None] = {}
    for _ in range(100 * size):
        if len(mrs) == size:
            return list(mrs)
        pairs = [("name", rng.choice(pool))]
        for slot in SLOTS[1:-1]:
            if rng.random() < probability:
                pairs.append((slot, rng.choice(VALUES[slot])))
        if rng.random() < probability:
            pairs.append(("near", rng.choice([n for n in pool if n != pairs[0][1]])))
        mr = MeaningRepresentation(tuple(pairs))
        if len(pairs) >= 3 and mr.combination not in avoid:
            mrs[mr] = None
    raise ValueError(
        f"Invalid size value: {size} (only {len(mrs)} distinct MRs with unseen combinations "
        "could be drawn; ask for fewer)"
    )


# ---------------------------------------------------------------- realisation


def _article(word: str) -> str:
    return "an" if word[0].lower() in "aeiou" else "a"


def _noun_phrase(
    mr: MeaningRepresentation, rng: random.Random, *, price: bool, family: bool
) -> str:
    """``a [price] [family] [food] <eatType or "place">``, with the modifiers asked for."""
    words = []
    if price and "priceRange" in mr:
        words.append(rng.choice(PHRASES["priceRange"][mr["priceRange"]]["adj"]))
    if family and "familyFriendly" in mr:
        words.append(rng.choice(PHRASES["familyFriendly"][mr["familyFriendly"]]["adj"]))
    if "food" in mr:
        words.append(PHRASES["food"][mr["food"]]["adj"][0])
    words.append(mr["eatType"] if "eatType" in mr else rng.choice(("place", "venue")))
    return f"{_article(words[0])} {' '.join(words)}"


def _place(mr: MeaningRepresentation, rng: random.Random) -> str:
    """`` in the city centre near The X`` (either part only when its slot is present)."""
    parts = []
    if "area" in mr:
        parts.append(rng.choice(PHRASES["area"][mr["area"]]["place"]))
    if "near" in mr:
        parts.append(rng.choice(_NEAR).format(mr["near"]))
    return "".join(f" {part}" for part in parts)


def _family_sentence(mr: MeaningRepresentation, rng: random.Random) -> str:
    if "familyFriendly" not in mr:
        return ""
    clause = rng.choice(PHRASES["familyFriendly"][mr["familyFriendly"]]["clause"])
    return f" {clause[0].upper()}{clause[1:]}."


def _price_sentence(mr: MeaningRepresentation, rng: random.Random, subject: str) -> str:
    if "priceRange" not in mr:
        return ""
    return f" {subject} has {rng.choice(PHRASES['priceRange'][mr['priceRange']]['noun'])}."


def _plan_is_a(mr: MeaningRepresentation, rng: random.Random) -> str:
    """The X is a cheap family-friendly Italian pub by the river near The Y."""
    family_inline = rng.random() < 0.5
    text = f"{mr['name']} is {_noun_phrase(mr, rng, price=True, family=family_inline)}"
    text += _place(mr, rng) + "."
    return text + ("" if family_inline else _family_sentence(mr, rng))


def _plan_there_is(mr: MeaningRepresentation, rng: random.Random) -> str:
    """There is an Italian pub called The X by the river. It has low prices. ..."""
    text = f"There is {_noun_phrase(mr, rng, price=False, family=True)} called {mr['name']}"
    return text + _place(mr, rng) + "." + _price_sentence(mr, rng, "It")


def _plan_located(mr: MeaningRepresentation, rng: random.Random) -> str:
    """By the river near The Y, The X is an expensive pub. Children are welcome."""
    place = _place(mr, rng).strip()
    noun_phrase = _noun_phrase(mr, rng, price=True, family=False)
    if place:
        text = f"{place[0].upper()}{place[1:]}, {mr['name']} is {noun_phrase}."
    else:
        text = f"{mr['name']} is {noun_phrase}."
    return text + _family_sentence(mr, rng)


def _plan_serves(mr: MeaningRepresentation, rng: random.Random) -> str:
    """The X serves Italian food. The pub has high prices and is by the river."""
    kind = mr["eatType"] if "eatType" in mr else "place"
    if "food" in mr:
        verb = rng.choice(("serves", "offers"))
        dish = rng.choice(("food", "cuisine")) if mr["food"] != "Fast food" else ""
        food = " ".join(filter(None, (PHRASES["food"][mr["food"]]["adj"][0], dish)))
        text = f"{mr['name']} is {_article(kind)} {kind} that {verb} {food}"
    else:
        text = f"{mr['name']} is {_article(kind)} {kind}"
    return text + _place(mr, rng) + "." + _price_sentence(mr, rng, f"The {kind}") + (
        _family_sentence(mr, rng)
    )


PLANS: tuple[Callable[[MeaningRepresentation, random.Random], str], ...] = (
    _plan_is_a, _plan_there_is, _plan_located, _plan_serves,
)


def _references(mr: MeaningRepresentation, count: int, rng: random.Random) -> tuple[str, ...]:
    plans = list(PLANS)
    rng.shuffle(plans)
    texts: dict[str, None] = {}
    for attempt in range(50 * count):
        texts[plans[attempt % len(plans)](mr, rng)] = None
        if len(texts) == count:
            return tuple(texts)
    raise ValueError(
        f"Invalid references value: {count} (only {len(texts)} distinct realisations of {mr})"
    )


# ---------------------------------------------------------------- slot errors


@functools.cache
def _patterns() -> tuple[tuple[str, str, str], ...]:
    """``(phrase, slot, value)`` for every value phrasing and pool name (lower case)."""
    found = {
        (_CORE.get(phrase, phrase).lower(), slot, value)
        for slot, by_value in PHRASES.items()
        for value, by_role in by_value.items()
        for phrases in by_role.values()
        for phrase in phrases
    }
    # Matched forms that the realiser does not produce but a model plausibly writes.
    found |= {
        ("family friendly", "familyFriendly", "yes"),
        ("not family-friendly", "familyFriendly", "no"),
        ("adults only", "familyFriendly", "no"),
    }
    found |= {(n.lower(), "<name>", n) for split in _SPLITS for n in venue_names(split)}
    return tuple(found)


@functools.cache
def _regex(phrase: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(phrase)}(?!\w)")


def _mentions(text: str, extra_names: Iterable[str]) -> set[tuple[str, str]]:
    """Distinct (slot, value) found in ``text``; names come as ``("<name>", name)``."""
    text = " ".join(text.lower().split())
    patterns = set(_patterns()) | {(n.lower(), "<name>", n) for n in extra_names}
    taken = [False] * len(text)
    found = set()
    present = (p for p in patterns if p[0] in text)  # a fast filter before the regexes
    for phrase, slot, value in sorted(present, key=lambda p: (-len(p[0]), p)):
        for match in _regex(phrase).finditer(text):
            span = range(match.start(), match.end())
            if not any(taken[i] for i in span):
                for i in span:
                    taken[i] = True
                found.add((slot, value))
    return found


def slot_errors(mr: MeaningRepresentation, text: str) -> SlotErrors:
    """How many of ``mr``'s slots ``text`` misses, and how many values it adds (see the module
    docstring for the matching rules)."""
    if not isinstance(mr, MeaningRepresentation):
        raise TypeError(f"mr must be a MeaningRepresentation, got {type(mr).__name__}")
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    own_names = [v for s, v in mr.pairs if s in ("name", "near")]
    found = _mentions(text, own_names)
    wanted = {("<name>" if s in ("name", "near") else s, v) for s, v in mr.pairs}
    return SlotErrors(
        slots=len(mr.pairs),
        missing=len(wanted - found),
        hallucinated=len(found - wanted),
    )


def slot_error_rate(mrs: Sequence[MeaningRepresentation], texts: Sequence[str]) -> float:
    """Corpus slot error rate: summed (missing + hallucinated) over summed MR slots."""
    if len(mrs) != len(texts) or not mrs:
        raise ValueError(
            f"Invalid texts value: {len(texts)} texts (expected one per MR, {len(mrs)}, at least 1)"
        )
    total = functools.reduce(SlotErrors.__add__, map(slot_errors, mrs, texts))
    return total.rate
