r"""Debiasing sentence embeddings (Part II, chapter 7): the experiment's pieces and its sentences.

Kenneweg, Schröder, Schulz and Hammer (ICPRAM 2023) fine-tune a sentence encoder so that each
sentence and its gender counterfactual ("He washed his car." / "She washed her car.") get the
same embedding. The chapter reproduces the idea on all-MiniLM-L6-v2 at CPU scale:

* :data:`GENDER_PAIRS`, the authors' definitional gender pairs, and :func:`pair_sentences`:
  training and held-out sentences built from our own templates (subjects x activities), kept
  apart from the SEAT sentences that measure bias (no SEAT template, no WEAT target word);
* :func:`encode_hidden` runs the frozen lower layers of the encoder once and caches their
  output; :class:`TopEncoder` is a trainable copy of the top layers on that cache, with
  MiniLM's own embedding (mean pooling over the real tokens, L2-normalised);
* :func:`debias_top_layers` trains it with the pair loss (:func:`deepoptim.nlp.debias_loss`)
  plus an anchor term that keeps neutral sentences where the original encoder put them;
* :data:`RELIGION_TERMS` and :data:`RELIGION_SUBJECTS`, the same construction for religion
  (Christian, Muslim and Jewish forms), and :func:`group_pairs`, the counterfactual pairs
  between every two of several groups;
* :func:`seat_table` runs SEAT tests (gender, race, religion) on any embedding function;
* :func:`linear_head_accuracy`: a logistic-regression head on frozen embeddings (downstream);
* the verdicts and phrases: :func:`bias_change_verdict`, :func:`accuracy_kept_verdict`,
  :func:`probe_verdict`, :func:`direction_phrase`, :func:`significance_phrase`, each covering
  both directions, ties and NaN.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
from collections.abc import Callable, Sequence

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_int_at_least, check_positive
from .verdicts import count_phrase, share_verdict

__all__ = [
    "ACTIVITIES",
    "GENDER_PAIRS",
    "RELIGION_SUBJECTS",
    "RELIGION_TERMS",
    "SUBJECTS",
    "TopEncoder",
    "accuracy_kept_verdict",
    "bias_change_verdict",
    "debias_top_layers",
    "direction_phrase",
    "encode_hidden",
    "group_pairs",
    "linear_head_accuracy",
    "pair_sentences",
    "probe_verdict",
    "seat_table",
    "significance_phrase",
]

#: The definitional gender pairs of Kenneweg et al. (2023), female word first.
GENDER_PAIRS: tuple[tuple[str, str], ...] = (
    ("woman", "man"), ("girl", "boy"), ("she", "he"), ("mother", "father"),
    ("daughter", "son"), ("gal", "guy"), ("female", "male"), ("her", "his"),
    ("herself", "himself"), ("Mary", "John"),
)

#: Sentence subjects in their male form; each holds exactly one word of :data:`GENDER_PAIRS`.
SUBJECTS: tuple[str, ...] = (
    "He", "The man", "The boy", "My father", "My son", "That guy", "John", "A male student",
)

#: Activities completing a subject into a sentence; "his"/"himself" agree with a male subject.
#: None holds a word of a WEAT set other than the group words (no career, family, maths, arts,
#: science, pleasant or unpleasant word).
ACTIVITIES: tuple[str, ...] = (
    "washed his car on Sunday", "waited for the bus in the rain", "bought bread at the market",
    "taught himself to swim", "forgot his umbrella again", "walked the dog after dinner",
    "planted tomatoes in the garden", "fixed the broken bicycle", "cooked pasta for everyone",
    "lost his keys near the station", "painted the fence green", "read the newspaper slowly",
    "booked a table for two", "cleaned the kitchen floor", "answered the phone politely",
    "ran a marathon last year", "missed the last train", "ordered a coffee with milk",
    "repaired the leaking tap", "wrote a letter to a colleague", "watched the rain from the window",
    "packed his bag for the trip", "climbed the hill before sunrise", "fed the cat twice",
    "sold his old guitar", "opened the window for fresh air", "visited the museum downtown",
    "carried the boxes upstairs", "locked the door behind himself", "finished the puzzle alone",
)


#: Definitional religion terms, one tuple per concept in the order (Christian, Muslim, Jewish):
#: the triples of Manzini et al. (NAACL 2019), with the adjective "Jewish" for their "jew".
RELIGION_TERMS: tuple[tuple[str, ...], ...] = (
    ("Christian", "Muslim", "Jewish"), ("Christianity", "Islam", "Judaism"),
    ("church", "mosque", "synagogue"), ("Bible", "Quran", "Torah"), ("priest", "imam", "rabbi"),
)

#: Sentence subjects in their Christian form, each holding exactly one word of
#: :data:`RELIGION_TERMS` and none of :data:`GENDER_PAIRS`; they complete :data:`ACTIVITIES`.
RELIGION_SUBJECTS: tuple[str, ...] = (
    "My Christian neighbour", "A Christian student", "A scholar of Christianity", "The priest",
    "The young priest", "Our priest", "The Bible teacher", "A visitor from the church",
)


def pair_sentences(held_out: int, *, activities: Sequence[str] = ACTIVITIES,
                   subjects: Sequence[str] = SUBJECTS) -> tuple[list[str], list[str]]:
    """Male-form sentences "<subject> <activity>." for training and for held-out measurement.

    The last ``held_out`` activities make the held-out sentences (every subject with each), the
    others the training sentences: no activity, hence no sentence, is in both. Their
    counterfactuals come from :func:`deepoptim.nlp.counterfactual_pairs` with
    :data:`GENDER_PAIRS`.
    """
    check_int_at_least("held_out", held_out, 1)
    if held_out >= len(activities):
        raise ValueError(f"Invalid held_out value: {held_out} (expected fewer than the "
                         f"{len(activities)} activities)")
    split = len(activities) - held_out

    def sentences(chosen: Sequence[str]) -> list[str]:
        return [f"{subject} {activity}." for activity in chosen for subject in subjects]

    return sentences(activities[:split]), sentences(activities[split:])


def group_pairs(sentences: Sequence[str], terms: Sequence[Sequence[str]]
                ) -> list[tuple[str, str]]:
    """Counterfactual pairs between every two of k groups, from sentences in group 0's words.

    ``terms`` holds one tuple of k words per concept, the i-th word being group i's (e.g.
    :data:`RELIGION_TERMS`). For groups i < j, each sentence is first written in group i's
    words, then paired with its version in group j's: k (k - 1) / 2 pairs per sentence that
    holds a listed word, in the order (0, 1), (0, 2), ..., (1, 2), ... The swaps are whole-word
    and keep the case (:func:`deepoptim.nlp.counterfactual`).
    """
    from deepoptim.nlp import counterfactual, counterfactual_pairs

    terms = [tuple(t) for t in terms]
    groups = len(terms[0]) if terms else 0
    if groups < 2 or any(len(t) != groups for t in terms):
        raise ValueError(f"Invalid terms value: {terms!r} (expected tuples of one word per "
                         "group, at least two groups, all of one length)")
    pairs: list[tuple[str, str]] = []
    for i, j in itertools.combinations(range(groups), 2):
        source = (list(sentences) if i == 0
                  else [counterfactual(s, [(t[0], t[i]) for t in terms]) for s in sentences])
        pairs += counterfactual_pairs(source, [(t[i], t[j]) for t in terms])
    return pairs


def _additive_mask(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """BERT's (B, 1, 1, T) additive attention mask: 0 on tokens, a large negative on padding."""
    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


@torch.no_grad()
def encode_hidden(encoder: nn.Module, tokenizer: object, texts: Sequence[str], *, layer: int,
                  max_length: int = 32, batch_size: int = 64
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """The input of the encoder's layer ``layer`` (0: the embeddings' output) for ``texts``.

    Returns ``(hidden, mask)``: (N, T, D) hidden states and the (N, T) attention mask, every
    text padded to the longest of them (at most ``max_length`` tokens). Run once, these cache
    the frozen lower layers for :class:`TopEncoder`.
    """
    check_int_at_least("layer", layer, 0)
    if layer > encoder.config.num_hidden_layers:
        raise ValueError(f"Invalid layer value: {layer} (the encoder has "
                         f"{encoder.config.num_hidden_layers} layers)")
    texts = list(texts)
    tokens = tokenizer(texts, truncation=True, max_length=max_length, padding="longest",
                       return_tensors="pt")
    ids, mask = tokens["input_ids"], tokens["attention_mask"]
    was_training = encoder.training
    encoder.eval()
    device = next(encoder.parameters()).device
    outputs = []
    for start in range(0, len(texts), batch_size):
        out = encoder(input_ids=ids[start:start + batch_size].to(device),
                      attention_mask=mask[start:start + batch_size].to(device),
                      output_hidden_states=True)
        outputs.append(out.hidden_states[layer])
    encoder.train(was_training)
    return torch.cat(outputs), mask.to(device)


class TopEncoder(nn.Module):
    """A trainable copy of the encoder's layers from ``first`` on, over cached hidden states.

    ``forward(hidden, mask)`` -> (B, D): the top layers, then the mean over the real tokens,
    L2-normalised (all-MiniLM-L6-v2's sentence embedding). With ``hidden`` from
    :func:`encode_hidden` (same ``layer``), it equals the whole encoder's embedding.
    """

    def __init__(self, encoder: nn.Module, first: int) -> None:
        super().__init__()
        layers = encoder.encoder.layer
        check_int_at_least("first", first, 0)
        if first >= len(layers):
            raise ValueError(f"Invalid first value: {first} (expected below {len(layers)}, "
                             "the number of layers)")
        self.layers = nn.ModuleList(copy.deepcopy(layers[i]) for i in range(first, len(layers)))

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        additive = _additive_mask(mask, hidden.dtype)
        for layer in self.layers:
            out = layer(hidden, attention_mask=additive)
            hidden = out[0] if isinstance(out, tuple) else out
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        return F.normalize(pooled, dim=-1)

    @torch.no_grad()
    def embed(self, hidden: torch.Tensor, mask: torch.Tensor, batch_size: int = 128
              ) -> torch.Tensor:
        """Embeddings of many cached texts, in eval mode and batches, without gradients."""
        was_training = self.training
        self.eval()
        out = torch.cat([self(hidden[i:i + batch_size], mask[i:i + batch_size])
                         for i in range(0, len(hidden), batch_size)])
        self.train(was_training)
        return out


def _trim(hidden: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch cut to its longest text (the cache is padded to the longest of all)."""
    length = int(mask.sum(dim=1).max())
    return hidden[:, :length], mask[:, :length]


def debias_top_layers(encoder: nn.Module, first: int, pairs: tuple[torch.Tensor, ...],
                      anchors: tuple[torch.Tensor, torch.Tensor], *, steps: int, lr: float,
                      batch_size: int = 16, anchor_weight: float = 1.0, seed: int = 0
                      ) -> tuple[TopEncoder, pd.DataFrame]:
    """Fine-tune the layers from ``first`` on with the counterfactual pair loss.

    Each step draws ``batch_size`` pairs and ``batch_size`` anchor sentences and takes one Adam
    step on

        L = mean |e(x) - e(x')|  +  anchor_weight * mean ||e(z) - e_0(z)||^2 ,

    the pair loss of Kenneweg et al. (MAE of the pair's embeddings) plus an anchor term that
    keeps neutral sentences z at their original embeddings e_0(z) (without it the pair loss
    is minimised by mapping every sentence to one point). Dropout is on (training mode), as
    in the authors' debias step.

    Args:
        encoder: the original encoder (only its top layers are copied; it is not changed).
        first: the first layer trained; the cached inputs are those of this layer.
        pairs: ``(hidden, mask, hidden', mask')`` of the sentences and their counterfactuals,
            from :func:`encode_hidden`.
        anchors: ``(hidden, mask)`` of neutral sentences.
        steps, lr, batch_size, anchor_weight: the training budget and Adam's learning rate.
        seed: seeds the copy's dropout and the batches (the global RNG is restored after).

    Returns:
        The trained :class:`TopEncoder` and a frame of the step's ``pair_loss`` and
        ``anchor_loss``.
    """
    check_int_at_least("steps", steps, 1)
    check_positive("lr", lr)
    check_int_at_least("batch_size", batch_size, 1)
    if anchor_weight < 0 or math.isnan(anchor_weight):
        raise ValueError(f"Invalid anchor_weight value: {anchor_weight!r} (expected >= 0)")
    hidden_a, mask_a, hidden_b, mask_b = pairs
    anchor_hidden, anchor_mask = anchors
    reference = TopEncoder(encoder, first)
    targets = reference.embed(anchor_hidden, anchor_mask)
    model = TopEncoder(encoder, first)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    rows = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model.train()
        for step in range(steps):
            i = torch.randint(len(hidden_a), (batch_size,), generator=generator)
            j = torch.randint(len(anchor_hidden), (batch_size,), generator=generator)
            pair_loss = F.l1_loss(model(*_trim(hidden_a[i], mask_a[i])),
                                  model(*_trim(hidden_b[i], mask_b[i])))
            moved = model(*_trim(anchor_hidden[j], anchor_mask[j])) - targets[j]
            anchor_loss = moved.pow(2).sum(dim=1).mean()
            loss = pair_loss + anchor_weight * anchor_loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            rows.append({"step": step + 1, "pair_loss": pair_loss.item(),
                         "anchor_loss": anchor_loss.item()})
    model.eval()
    return model, pd.DataFrame(rows)


def seat_table(embed: Callable[[Sequence[str]], torch.Tensor], tests: dict,
               sentences: Callable[[object], Sequence[str]], *, samples: int = 10_000,
               seed: int = 0) -> pd.DataFrame:
    """The SEAT tests on the embedding function ``embed`` (texts -> (N, D) tensor).

    ``tests`` maps names to :class:`~deepoptim.data.weat.WeatTest`; ``sentences`` turns a word
    set into its SEAT sentences (:func:`deepoptim.data.seat_sentences`). Returns one row per
    test: ``test``, ``d`` (effect size) and ``p`` (the sampled permutation p-value).
    """
    from deepoptim.nlp import weat

    rows = []
    for name, test in tests.items():
        X, Y, A, B = (embed(list(sentences(s))) for s in (test.x, test.y, test.a, test.b))
        result = weat(X, Y, A, B, samples=samples, seed=seed)
        rows.append({"test": name, "d": result.effect_size, "p": result.p_value})
    return pd.DataFrame(rows)


def linear_head_accuracy(train: torch.Tensor, y_train: torch.Tensor, test: torch.Tensor,
                         y_test: torch.Tensor, *, C: float = 10.0, max_iter: int = 2000
                         ) -> float:
    """Test accuracy of a logistic-regression head trained on frozen embeddings.

    The head is scikit-learn's L2-regularised ``LogisticRegression`` (convex, so the result
    depends on the embeddings only, not on a seed).
    """
    check_positive("C", C)
    from sklearn.linear_model import LogisticRegression

    head = LogisticRegression(C=C, max_iter=max_iter)
    head.fit(train.double().cpu().numpy(), y_train.cpu().numpy())
    return float(head.score(test.double().cpu().numpy(), y_test.cpu().numpy()))


# --- verdicts and phrases ------------------------------------------------------------------


def bias_change_verdict(before: float, after: Sequence[float], *, min_reduction: float = 0.2
                        ) -> tuple[str, str]:
    """The claim "the method removes bias", from a bias score (e.g. the mean |d| over the
    gender SEAT tests) before and, per seed, after.

    A seed reduces the bias when its score is at most ``(1 - min_reduction)`` times the score
    before. Returns a phrase ("falls from 0.52 to 0.21 on average (a drop of at least 20% in 2 of
    2 seeds)", "rises ...") and the verdict (:func:`share_verdict` of the seeds that reduce it;
    "not measured" for NaN or no seed).
    """
    if not 0 < min_reduction < 1:
        raise ValueError(f"Invalid min_reduction value: {min_reduction!r} (in (0, 1))")
    after = [float(a) for a in after]
    if not after or math.isnan(before) or any(math.isnan(a) for a in after):
        return "was not measured", "not measured"
    mean = sum(after) / len(after)
    hits = sum(a <= (1 - min_reduction) * before for a in after)
    same = f"{mean:.2f}" == f"{before:.2f}"  # a change too small to show in the phrase
    verb = ("stays" if same else "falls" if mean < before else "rises")
    where = "" if verb == "stays" else f" from {before:.2f} to {mean:.2f}"
    phrase = (f"{verb}{where} on average" if verb != "stays" else f"stays at {before:.2f}")
    phrase += (f" (a drop of at least {min_reduction:.0%} in {hits} of {len(after)} "
               f"seed{'s' if len(after) != 1 else ''})")
    return phrase, share_verdict(hits, len(after))


def accuracy_kept_verdict(before: float, after: Sequence[float], *, tolerance: float = 0.01
                          ) -> tuple[str, str]:
    """The claim "without impacting downstream performance", from the downstream accuracy
    before and, per seed, after.

    A seed keeps the accuracy when it loses at most ``tolerance`` (absolute; gains are kept).
    Returns a phrase ("changes by −0.3 to +0.2 points, within 1 point in 2 of 2 seeds") and
    the verdict (:func:`share_verdict`; "not measured" for NaN or no seed).
    """
    check_positive("tolerance", tolerance)
    after = [float(a) for a in after]
    if not after or math.isnan(before) or any(math.isnan(a) for a in after):
        return "was not measured", "not measured"
    changes = [100 * (a - before) for a in after]
    kept = sum(a >= before - tolerance - 1e-12 for a in after)
    low, high = min(changes), max(changes)
    span = f"{low:+.1f}" if f"{low:+.1f}" == f"{high:+.1f}" else f"{low:+.1f} to {high:+.1f}"
    phrase = (f"changes by {span} points, within {100 * tolerance:g} point"
              f"{'' if tolerance == 0.01 else 's'} of the original in {kept} of {len(after)} "
              f"seed{'s' if len(after) != 1 else ''}")
    return phrase, share_verdict(kept, len(after))


def probe_verdict(accuracies: Sequence[float], chance: float, *, margin: float = 0.1
                  ) -> tuple[str, str]:
    """The claim "the method removes the attribute information a probe can read", from the
    probe's test accuracy per seed after debiasing and its chance level.

    A seed removes it when the accuracy is at most ``chance + margin``. Returns a phrase
    ("still reads gender with 98% accuracy (chance 50%)", "is down to chance ...") and the
    verdict (:func:`share_verdict`; "not measured" for NaN or no seed).
    """
    accuracies = [float(a) for a in accuracies]
    if not accuracies or math.isnan(chance) or any(math.isnan(a) for a in accuracies):
        return "was not measured", "not measured"
    mean = sum(accuracies) / len(accuracies)
    hits = sum(a <= chance + margin for a in accuracies)
    state = ("is down to within {m:.0%} of chance" if hits == len(accuracies)
             else "still reads gender" if hits == 0 else "reads gender in some seeds only")
    phrase = (f"{state.format(m=margin)}, with {mean:.0%} test accuracy on average "
              f"(chance {chance:.0%})")
    return phrase, share_verdict(hits, len(accuracies))


def significance_phrase(effect_sizes: Sequence[float], p_values: Sequence[float], *,
                        level: float = 0.05) -> str:
    """Whether a bias is there to begin with, from its tests' effect sizes and p-values.

    Completes "<the bias> ...": "is significant at the 5% level in all 3 tests (mean |d|
    0.91)", "... in 1 of 3 tests only (mean |d| 0.35)", "is not significant at the 5% level in
    any of the 3 tests (mean |d| 0.21): there is no clear bias to remove"; "was not measured"
    for no test or a NaN. The p-values are one-sided, in the stereotype's direction.
    """
    if not 0 < level < 1:
        raise ValueError(f"Invalid level value: {level!r} (in (0, 1))")
    d = [float(x) for x in effect_sizes]
    p = [float(x) for x in p_values]
    if len(d) != len(p):
        raise ValueError(f"Invalid p_values value: {len(p)} values (expected {len(d)}, one per "
                         "effect size)")
    if not d or any(math.isnan(x) for x in d + p):
        return "was not measured"
    hits = sum(x < level for x in p)
    size = f"(mean |d| {sum(abs(x) for x in d) / len(d):.2f})"
    tests = f"test{'s' if len(d) != 1 else ''}"
    if hits == 0:
        return (f"is not significant at the {level:.0%} level in any of the {len(d)} {tests} "
                f"{size}: there is no clear bias to remove")
    where = (f"all {len(d)} {tests}" if hits == len(d) and len(d) > 1
             else f"{count_phrase(hits, len(d))} {tests}"
             + (" only" if hits < len(d) else ""))
    return f"is significant at the {level:.0%} level in {where} {size}"


def direction_phrase(before: float, after: float, *, tolerance: float = 0.005) -> str:
    """How a score moved: "rises from 0.41 to 0.52", "falls ...", "stays at 0.41" (within
    ``tolerance``), "was not measured" for NaN."""
    if math.isnan(before) or math.isnan(after):
        return "was not measured"
    if abs(after - before) <= tolerance:
        return f"stays at {before:.2f}"
    return f"{'rises' if after > before else 'falls'} from {before:.2f} to {after:.2f}"


def _has_word(sentence: str, words: Sequence[str]) -> bool:
    """Whether ``sentence`` contains one of ``words`` as a whole word (case-insensitive)."""
    pattern = r"\b(?:" + "|".join(map(re.escape, words)) + r")\b"
    return re.search(pattern, sentence, re.IGNORECASE) is not None
