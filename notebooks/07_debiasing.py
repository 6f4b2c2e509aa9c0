# ---
# jupyter:
#   jupytext:
#     text_representation: {extension: .py, format_name: percent}
#   kernelspec: {display_name: Python 3, language: python, name: python3}
# ---

# %% [markdown]
# (chapter-debiasing)=
# # Debiasing sentence embeddings
#
# ```{admonition} In short
# :class: tip
# * On all-MiniLM-L6-v2 the mean |d| over the six gender SEAT tests is
#   {glue:text}`bias_before:.2f` ({glue:text}`significant_before` at the 5% level).
# * Training the top {glue:text}`top_layers_text` with the counterfactual pair loss (plus an
#   anchor that keeps neutral sentences in place), the mean |d| {glue:text}`bias_phrase`;
#   Sent-Debias's projection gives {glue:text}`bias_sent:.2f`.
# * A linear probe reads the gender of held-out sentences with {glue:text}`probe_before:.0%`
#   accuracy before; after the contrastive debiasing it {glue:text}`probe_phrase`
#   (Sent-Debias: {glue:text}`probe_sent:.0%`).
# * Downstream, a linear head on the frozen encoder classifies docstrings with
#   {glue:text}`acc_before:.1%` accuracy before and {glue:text}`acc_after` after: its
#   accuracy {glue:text}`acc_phrase` (Sent-Debias: {glue:text}`acc_sent:.1%`).
# * Race and religion, measured with the same kind of tests: on the original encoder race bias
#   {glue:text}`race_presence` and religion bias {glue:text}`religion_presence`. After the
#   gender debiasing the race score {glue:text}`race_after_gender` and the religion score
#   {glue:text}`religion_after_gender`. Debiasing with Christian/Muslim/Jewish pairs instead,
#   the religion score {glue:text}`religion_after_religion`, and the gender score
#   {glue:text}`gender_after_religion`.
# * This run: the {glue:text}`profile` profile, {glue:text}`seeds_text`,
#   {glue:text}`debias_steps` steps of debiasing per seed.
# ```
#
# Sentence encoders learn from human text and pick up its associations: "nurse" sits closer
# to "she" than to "he", "engineer" the other way round. {cite:t}`kenneweg2023debiasing`
# propose a simple remedy, part of {cite:t}`kenneweg2025thesis`: build for each sentence
# that mentions a gendered word its *counterfactual*, the same sentence with the word
# swapped ("He washed his car." and "She washed her car."), and fine-tune the encoder until
# both get the same embedding. They report that this removes linear and non-linear bias
# information "without impacting downstream performance". This chapter defines the measures
# of bias the paper uses, applies the method to a small sentence encoder, compares it with
# the projection method Sent-Debias {cite:p}`liang2020sentdebias`, and measures both halves
# of the claim. The same tests, with other word lists, measure race and religion bias: how
# the gender debiasing moves them, and what the method does when its pairs are religious
# terms instead.

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | full
device = "auto"  # auto | cpu | cuda
seed = 0

# %% tags=["hide-input"]
import re
import time
import warnings

import matplotlib.pyplot as plt
import pandas as pd
import torch
import transformers
from myst_nb import glue

from deepoptim import data, experiment, models, nlp, plotting, studies
from deepoptim.claims import claims_table, glue_claims

warnings.filterwarnings("ignore", category=UserWarning, module="seaborn")
warnings.filterwarnings("ignore", message="IProgress not found")  # no widgets in the book
transformers.utils.logging.disable_progress_bar()
exp = experiment.setup(profile, device, seed)
plotting.use_book_style()
started = time.perf_counter()
glue("profile", exp.profile.name, display=False)
glue("seeds_text", studies.seeds_phrase(exp.profile.n_seeds), display=False)
print(exp.describe())

# %% [markdown]
# ## Measuring bias
#
# **WEAT and SEAT.** The Word Embedding Association Test {cite:p}`caliskan2017weat` takes two
# equal-size sets of *target* words $X, Y$ (career and family words) and two sets of
# *attribute* words $A, B$ (male and female names). With $\cos$ the cosine similarity, a
# word's association is
#
# $$
# s(w, A, B) = \operatorname*{mean}_{a\in A} \cos(w, a) - \operatorname*{mean}_{b\in B}
# \cos(w, b),
# $$
#
# and the effect size compares the two target sets in units of the spread of $s$:
#
# $$
# d = \frac{\operatorname{mean}_{x\in X} s(x, A, B) - \operatorname{mean}_{y\in Y}
#     s(y, A, B)}{\operatorname{std}_{w\in X\cup Y} s(w, A, B)},
# $$
#
# with the sample standard deviation (ddof = 1). $d > 0$ when $X$ is closer to $A$ and $Y$ to
# $B$; swapping $X$ and $Y$ (or $A$ and $B$) flips the sign; $|d| \le 2$, and above 0.8 is
# a large effect. The one-sided p-value asks how often an equal-size re-partition
# $(X_i, Y_i)$ of $X \cup Y$ gives a larger statistic
# $S(X_i, Y_i) = \sum_{x\in X_i} s(x) - \sum_{y\in Y_i} s(y)$ than the observed one; with 64
# sentences per set there are $\binom{128}{64}$ partitions, so we draw
# {glue:text}`permutations` at random. SEAT {cite:p}`may2019seat` runs the same test on a
# sentence encoder by putting each word into eight bland templates ("This is a {w}.",
# "{w} is here."). The gender tests are WEAT 6 (career/family against male/female names),
# 7 (maths/arts against male/female terms) and 8 (science/arts against male/female kin
# terms), and their "b" variants, which swap names and terms. Following the paper, the
# *gender bias score* is the mean of $|d|$ over the six tests. The race tests are WEAT 3, 4
# and 5 of {cite:t}`caliskan2017weat`, European-American against African-American first
# names with pleasant against unpleasant words; the religion tests follow the style of
# {cite:t}`liang2020sentdebias`: Christian against Muslim terms (tests 1 and 1b) and
# Christian against Jewish terms (2 and 2b) with the same pleasant and unpleasant words. The
# *race* and *religion bias scores* are again the mean $|d|$ over their tests. Every test is
# oriented so that $d > 0$ is the stereotype's direction.
#
# **MAC** {cite:p}`manzini2019mac` is the mean, over target sentences $t$ and attribute sets
# $A_j$, of the mean cosine distance $1 - \cos(t, a)$; the paper reads a larger MAC as less
# bias. Here the targets are the sentences of the five neutral word sets (career, family,
# maths, arts, science) and the attribute sets the male and the female terms.
#
# **Probes.** A classifier trained to predict the gender of a sentence from its embedding
# measures how much gender information is still *recoverable*, whether or not it shows in
# cosines. Its test accuracy is compared with chance.
#
# ## Debiasing
#
# **Counterfactual pairs.** Given definitional pairs (woman/man, she/he, her/his,
# mother/father, ...), each sentence that contains one of the words is paired with a copy
# in which every such word is replaced by its counterpart. The replacement must match whole
# words: the paper's code tested `word in sentence` and called `sentence.replace`, substring
# operations that turn "the" into "tshe" (via "he") and match "his" inside "this". We match
# on word boundaries, swap all words in one pass (so that "he" and "she" trade places rather
# than both becoming one), and keep the capitalisation.
#
# **The pair loss.** With $e$ the encoder's sentence embedding and $(x_i, x'_i)$ a batch of
# $n$ pairs in dimension $D$,
#
# $$
# L_{\text{pair}} = \frac1{nD} \sum_{i=1}^n \sum_{k=1}^D \big| e(x_i)_k - e(x'_i)_k \big|,
# $$
#
# the mean absolute difference, zero when every pair is embedded alike. On its own this loss
# has a trivial minimiser, an encoder that maps every sentence to the same point. The paper
# interleaves the debias steps with steps of a downstream task; we debias without a task and
# add instead an *anchor* term that keeps neutral sentences $z$ (sentences of Python's
# documentation) at their original embeddings $e_0(z)$, as in the distillation-style
# debiasing of {cite:t}`kaneko2021debiasing`:
#
# $$
# L = L_{\text{pair}} + \lambda \operatorname*{mean}_z \lVert e(z) - e_0(z) \rVert^2 .
# $$
#
# **Sent-Debias** {cite:p}`liang2020sentdebias`, the baseline, leaves the encoder alone and
# edits its output. Centre the embeddings of each pair on the pair's mean, stack them, and
# take the top $k$ principal directions $V$: the *bias subspace*. Every embedding $h$ is
# then replaced by $h - V^\top V h$.
#
# ```{admonition} Algorithm: contrastive debiasing of the top layers
# Definitional pairs $P$, training sentences, neutral anchor sentences, the encoder
# $e_0$ with $L$ layers, the number $m$ of top layers to train, weight $\lambda$.
# 1. Make the counterfactual pairs $(x, x')$ by whole-word swaps with $P$; drop sentences
#    without a listed word.
# 2. Run layers $1, \dots, L - m$ of $e_0$ once on every sentence and cache their output.
# 3. Repeat for the step budget: draw a batch of pairs and a batch of anchors; compute
#    $L = L_{\text{pair}} + \lambda \operatorname{mean}\lVert e(z) - e_0(z)\rVert^2$
#    through the top $m$ layers (dropout on); take an Adam step on those layers.
# 4. The debiased encoder is $e_0$'s lower layers followed by the trained top layers.
# ```
#
# ## In deepoptim
#
# `deepoptim.nlp` holds the measures and the methods, all on tensors of embeddings:
# `weat(X, Y, A, B)` (effect size and permutation p-value), `mac`, `linear_probe` and
# `mlp_probe`, `counterfactual_pairs(sentences, pairs)`, `debias_loss` and Sent-Debias's
# `bias_subspace` and `remove_subspace`. `deepoptim.data` ships the WEAT word sets
# (`weat_tests(bias)` for "gender", "race" or "religion") and the SEAT templates
# (`seat_sentences(word_set)`);
# `deepoptim.models.load_minilm()` loads all-MiniLM-L6-v2 offline. The chapter's experiment
# code (the cached lower layers, the training loop, the SEAT table, `group_pairs` for the
# counterfactuals between three religions) is in `deepoptim.studies.part2_debiasing`.
#
# ## The encoder and the sentences
#
# The encoder is all-MiniLM-L6-v2 {cite:p}`wang2020minilm`, a 6-layer BERT with width 384,
# whose sentence embedding is the mean of its last hidden states over the tokens,
# normalised to length 1. The paper uses BERT-base and news sentences; neither fits here.
# Python's documentation, the only text corpus we have offline, contains
# {glue:text}`corpus_pairs` gendered sentences in {glue:text}`corpus_sentences` (one of
# them about the "man page", whose counterfactual is a "woman page"), so the training
# sentences are built from templates: {glue:text}`n_subjects` subjects ("He", "The man",
# "My father", "John", ...) times {glue:text}`n_activities` activities ("washed his car on
# Sunday"). The last {glue:text}`held_out` activities are held out to measure the probe;
# none of the sentences uses a SEAT template or a WEAT word other than the group words, so
# the sentences that train and those that measure are disjoint. The religion pairs are built
# the same way, from {glue:text}`n_religion_subjects` subjects in their Christian form ("The
# priest", "A visitor from the church", ...) swapped between the Christian, Muslim and
# Jewish forms of five concepts (church/mosque/synagogue, priest/imam/rabbi, ...), the
# definitional religion triples of {cite:t}`manzini2019mac`.

# %%
encoder, tokenizer = models.load_minilm()
encoder = encoder.to(exp.device)
N_LAYERS = encoder.config.num_hidden_layers
TOP_LAYERS = exp.profile.pick(smoke=1, quick=1, full=N_LAYERS)  # trained top layers
FIRST = N_LAYERS - TOP_LAYERS
HELD_OUT = 10  # activities kept for measuring

train_sentences, held_sentences = studies.pair_sentences(HELD_OUT)
train_pairs = nlp.counterfactual_pairs(train_sentences, studies.GENDER_PAIRS)
held_pairs = nlp.counterfactual_pairs(held_sentences, studies.GENDER_PAIRS)
religion_sentences, _ = studies.pair_sentences(HELD_OUT, subjects=studies.RELIGION_SUBJECTS)
religion_pairs = studies.group_pairs(religion_sentences, studies.RELIGION_TERMS)
for original, swapped in train_pairs[:3] + religion_pairs[3::len(religion_sentences)]:
    print(f"{original:45s} -> {swapped}")

# %% tags=["hide-input"]
docs = data.python_doc_passages()
doc_sentences = [s.strip() for text in docs.texts_train + docs.texts_test
                 for s in re.split(r"(?<=[.!?])\s+", text) if 20 < len(s.strip()) < 120]
corpus_pairs = nlp.counterfactual_pairs(doc_sentences, studies.GENDER_PAIRS)
n_anchors = exp.profile.pick(smoke=64, quick=512, full=2048)
neutral = [s for s in doc_sentences if nlp.counterfactual(s, studies.GENDER_PAIRS) == s]
anchor_sentences = neutral[::max(1, len(neutral) // n_anchors)]
anchor_sentences = anchor_sentences[:n_anchors]
glue("corpus_pairs", len(corpus_pairs), display=False)
glue("corpus_sentences", f"{len(doc_sentences):,}", display=False)
glue("n_subjects", len(studies.SUBJECTS), display=False)
glue("n_religion_subjects", len(studies.RELIGION_SUBJECTS), display=False)
religion_train = religion_pairs[::exp.profile.pick(smoke=10, quick=1, full=1)]
glue("n_religion_pairs", len(religion_train), display=False)
glue("n_activities", len(studies.ACTIVITIES), display=False)
glue("held_out", HELD_OUT, display=False)
glue("n_train_pairs", len(train_pairs), display=False)
glue("n_held_pairs", len(held_pairs), display=False)
glue("n_anchors", len(anchor_sentences), display=False)
glue("top_layers_text", "layer" if TOP_LAYERS == 1 else f"{TOP_LAYERS} layers",
     display=False)

# %% [markdown]
# Every sentence the chapter embeds goes once through the frozen lower
# {glue:text}`first_layers` layers; only the top layers run again for each encoder. The
# original encoder is the untrained copy of the top layers.

# %%
MAX_LENGTH = 48
BIAS_OF = {name: bias for bias in data.WEAT_BIASES for name in data.weat_tests(bias)}
tests = {name: test for bias in data.WEAT_BIASES for name, test in data.weat_tests(bias).items()}
word_sets = {ws.name: ws for test in tests.values() for ws in (test.x, test.y, test.a, test.b)}
seat_texts = sorted({s for ws in word_sets.values() for s in data.seat_sentences(ws)})
assert not set(seat_texts) & {s for pair in train_pairs + religion_pairs for s in pair}

downstream = data.stdlib_docstrings().small(exp.profile.pick(smoke=40, quick=500, full=1200))
n_test = exp.profile.pick(smoke=80, quick=downstream.num_test, full=downstream.num_test)
texts = {
    "train_a": [a for a, _ in train_pairs], "train_b": [b for _, b in train_pairs],
    "religion_a": [a for a, _ in religion_train], "religion_b": [b for _, b in religion_train],
    "held": [s for pair in held_pairs for s in pair], "anchor": anchor_sentences,
    "seat": seat_texts, "task_train": list(downstream.texts_train),
    "task_test": list(downstream.texts_test[:n_test]),
}
cache = {name: studies.encode_hidden(encoder, tokenizer, t, layer=FIRST, max_length=MAX_LENGTH)
         for name, t in texts.items()}
original = studies.TopEncoder(encoder, FIRST).to(exp.device)

# %% tags=["hide-input"]
glue("first_layers", FIRST, display=False)
held_labels = torch.tensor([0, 1] * len(held_pairs))  # 0: male form, 1: its counterfactual
y_task_train, y_task_test = downstream.y_train, downstream.y_test[:n_test]
PERMUTATIONS = exp.profile.pick(smoke=1_000, quick=10_000, full=100_000)
glue("permutations", f"{PERMUTATIONS:,}", display=False)
NEUTRAL = ("Career", "Family", "Math", "Arts", "Science")


def embeddings_of(top, project=None):
    """Every cached text set through the top layers ``top``, optionally projected."""
    out = {name: top.embed(*cache[name]) for name in cache}
    return {name: project(e) if project else e for name, e in out.items()}


def measure(emb):
    """SEAT table, bias score, MAC, probe and downstream accuracy of one set of embeddings."""
    index = {s: i for i, s in enumerate(seat_texts)}

    def embed(sentences):
        return emb["seat"][[index[s] for s in sentences]]

    seat = studies.seat_table(embed, tests, data.seat_sentences, samples=PERMUTATIONS,
                              seed=seed)
    seat.insert(0, "bias", seat["test"].map(BIAS_OF))
    mean_d = seat["d"].abs().groupby(seat["bias"]).mean()
    targets = torch.cat([embed(data.seat_sentences(word_sets[n])) for n in NEUTRAL])
    attributes = [embed(data.seat_sentences(word_sets[n])) for n in ("MaleTerms", "FemaleTerms")]
    held = emb["held"].double()
    held = (held - held.mean(dim=0)) / held.std(dim=0).clamp(min=1e-12)  # scale-free probe
    probe = nlp.linear_probe(held, held_labels, seed=seed)
    accuracy = studies.linear_head_accuracy(emb["task_train"], y_task_train,
                                            emb["task_test"], y_task_test)
    return seat, {**{bias: float(mean_d[bias]) for bias in data.WEAT_BIASES},
                  "mac": nlp.mac(targets, attributes),
                  "probe": probe.test_accuracy, "chance": probe.chance,
                  "task_acc": accuracy}


emb_original = embeddings_of(original)
seat_original, scores_original = measure(emb_original)
gender_original = seat_original[seat_original["bias"] == "gender"]

# %% [markdown]
# ## Bias before debiasing
#
# The six gender SEAT tests on the original encoder (effect size $d$, positive in the
# stereotypical direction: male with career, maths and science; p-value from
# {glue:text}`permutations` random partitions).

# %% tags=["remove-input"]
studies.show(gender_original.drop(columns="bias").rename(
    columns={"test": "test", "d": "effect size d", "p": "p-value"}),
    {"effect size d": ".3f", "p-value": ".4f"})

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
for row in gender_original.itertuples():
    print(f"{row.test}: d {row.d:.3f}")

# %% tags=["remove-input"]
significant = int((gender_original["p"] < 0.05).sum())
glue("bias_before", scores_original["gender"], display=False)
glue("significant_before", f"{studies.count_phrase(significant, len(gender_original))} tests "
     "significant", display=False)
positive = int((gender_original["d"] > 0).sum())
glue("positive_before", studies.count_phrase(positive, len(gender_original)), display=False)
strongest = gender_original.loc[gender_original["d"].abs().idxmax()]
glue("strongest", f"{strongest['test']} (d = {strongest['d']:.2f})", display=False)

# %% [markdown]
# {glue:text}`positive_before` effect sizes point in the stereotypical direction, the
# strongest being {glue:text}`strongest`; the bias score, the mean $|d|$, is
# {glue:text}`bias_before:.2f`.
#
# ## Debiasing the top layer
#
# Each seed trains a fresh copy of the top {glue:text}`top_layers_text` on the
# {glue:text}`n_train_pairs` training pairs and {glue:text}`n_anchors` anchor sentences for
# {glue:text}`debias_steps` steps of Adam (batch 16 pairs and 16 anchors, learning rate
# {glue:text}`debias_lr`, $\lambda$ = {glue:text}`anchor_weight`). Sent-Debias takes its
# bias subspace ($k$ = 1) from the original embeddings of the same training pairs.

# %%
DEBIAS_STEPS = exp.profile.pick(smoke=5, quick=150, full=1000)
DEBIAS_LR = 1e-4
ANCHOR_WEIGHT = 1.0
pairs_cache = (*cache["train_a"], *cache["train_b"])
rows, seats, curves = [], [], []
for run_seed in exp.seeds():
    top, history = studies.debias_top_layers(
        encoder, FIRST, pairs_cache, cache["anchor"], steps=DEBIAS_STEPS, lr=DEBIAS_LR,
        anchor_weight=ANCHOR_WEIGHT, seed=run_seed)
    seat, scores = measure(embeddings_of(top))
    rows.append({"config": "contrastive", "seed": run_seed, **scores})
    seats.append(seat.assign(seed=run_seed))
    curves.append(history.assign(seed=run_seed, config="contrastive"))

stacked = torch.stack([emb_original["train_a"], emb_original["train_b"]], dim=1)
subspace = nlp.bias_subspace(stacked, k=1)
seat_sent, scores_sent = measure(embeddings_of(
    original, lambda e: nlp.remove_subspace(e, subspace)))
records = pd.DataFrame([{"config": "original", "seed": seed, **scores_original},
                        *rows, {"config": "Sent-Debias", "seed": seed, **scores_sent}])
summary = experiment.summarize(records, by=["config"],
                               metrics=["gender", "mac", "probe", "task_acc"])

# %% tags=["remove-input"]
glue("debias_steps", DEBIAS_STEPS, display=False)
glue("debias_lr", f"{DEBIAS_LR:g}", display=False)
glue("anchor_weight", f"{ANCHOR_WEIGHT:g}", display=False)
studies.show(studies.results_table(
    summary, {"bias score (mean |d|)": ("gender", ".3f"), "MAC": ("mac", ".4f"),
              "probe accuracy": ("probe", ".1%"), "downstream accuracy": ("task_acc", ".1%")},
    {"config": "encoder"}))

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
for row in summary.itertuples():
    print(f"{row.config:12s} bias {row.gender_mean:.2f} probe {row.probe_mean:.2f} "
          f"acc {row.task_acc_mean:.2f}")

# %% [markdown]
# The encoders side by side: the original, the contrastively debiased one
# ({glue:text}`spread_text`) and the original with Sent-Debias's projection. The probe is
# a logistic regression on the {glue:text}`n_held_pairs` held-out pairs (both members, so
# chance is {glue:text}`chance:.0%`); the downstream accuracy is that of a logistic
# regression on the frozen embeddings of {glue:text}`n_task_train` standard-library
# docstrings, classifying the family of their module ({glue:text}`n_classes` classes), on
# {glue:text}`n_task_test` test docstrings.

# %% tags=["hide-input"]
seat_all = pd.concat([seat_original.assign(config="original"),
                      pd.concat(seats).assign(config="contrastive"),
                      seat_sent.assign(config="Sent-Debias")])
per_test = (seat_all[seat_all["bias"] == "gender"]
            .groupby(["config", "test"], sort=False)["d"].mean().unstack(0))
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
per_test.plot.bar(ax=axes[0], color=[plotting.color(c) for c in per_test.columns], rot=0)
axes[0].axhline(0, color="black", linewidth=0.8)
axes[0].set(xlabel="SEAT test", ylabel="effect size d (mean over seeds)")
curve = pd.concat(curves)
curve["pair_loss"] = curve.groupby("seed")["pair_loss"].transform(
    lambda s: s.rolling(10, min_periods=1).mean())
plotting.mean_band(axes[1], curve, x="step", y="pair_loss", hue="config")
axes[1].set(ylabel="pair loss (rolling mean of 10)")
fig.tight_layout()
glue("fig_debias", fig, display=False)
plt.close(fig)

# %% tags=["remove-input"]
def scores_of(config, metric):
    return records.loc[records["config"] == config, metric].tolist()


n_seeds = len(exp.seeds())
glue("spread_text", studies.spread_phrase(n_seeds), display=False)
glue("chance", scores_original["chance"], display=False)
glue("n_task_train", downstream.num_train, display=False)
glue("n_task_test", n_test, display=False)
glue("n_classes", downstream.num_classes, display=False)
bias_phrase, bias_verdict = studies.bias_change_verdict(scores_original["gender"],
                                                        scores_of("contrastive", "gender"))
glue("bias_phrase", bias_phrase, display=False)
glue("bias_sent", scores_sent["gender"], display=False)
glue("sent_phrase", studies.direction_phrase(scores_original["gender"], scores_sent["gender"]),
     display=False)
probe_phrase, probe_claim = studies.probe_verdict(scores_of("contrastive", "probe"),
                                                  scores_original["chance"])
glue("probe_phrase", probe_phrase, display=False)
glue("probe_before", scores_original["probe"], display=False)
glue("probe_sent", scores_sent["probe"], display=False)
mac_after = sum(scores_of("contrastive", "mac")) / n_seeds
glue("mac_phrase", studies.direction_phrase(scores_original["mac"], mac_after,
                                            tolerance=5e-4), display=False)
glue("mac_sent_phrase", studies.direction_phrase(scores_original["mac"], scores_sent["mac"],
                                                 tolerance=5e-4), display=False)
acc_phrase, acc_verdict = studies.accuracy_kept_verdict(scores_original["task_acc"],
                                                        scores_of("contrastive", "task_acc"))
glue("acc_phrase", acc_phrase, display=False)
glue("acc_before", scores_original["task_acc"], display=False)
row = summary.set_index("config").loc["contrastive"]
glue("acc_after", studies.mean_spread(row["task_acc_mean"], row["task_acc_std"],
                                      int(row["n"]), ".1%"), display=False)
glue("acc_sent", scores_sent["task_acc"], display=False)
sent_acc_phrase, sent_acc_verdict = studies.accuracy_kept_verdict(
    scores_original["task_acc"], [scores_sent["task_acc"]])
glue("sent_acc_phrase", sent_acc_phrase, display=False)
final_pair = curve.groupby("seed")["pair_loss"].last().mean()
first_pair = curve.groupby("seed")["pair_loss"].first().mean()
glue("pair_phrase", studies.direction_phrase(first_pair, final_pair, tolerance=1e-4),
     display=False)

# %% [markdown]
# ```{glue:figure} fig_debias
# :name: fig-debias-seat
#
# Left: the effect size of each gender SEAT test for the original encoder, the
# contrastively debiased one (mean over {glue:text}`seeds_text`) and Sent-Debias. Right:
# the pair loss of the debiasing runs during training (rolling mean over 10 steps,
# {glue:text}`spread_text`).
# ```
#
# **Bias.** The pair loss {glue:text}`pair_phrase` over training. The bias score
# {glue:text}`bias_phrase`; with Sent-Debias it {glue:text}`sent_phrase`. MAC
# {glue:text}`mac_phrase` with the contrastive method and {glue:text}`mac_sent_phrase` with
# Sent-Debias; a larger MAC means target sentences further from both the male and the
# female terms, so it moves with the geometry of the whole space, not only with bias.
#
# **Probe.** The gender of a held-out sentence is a single swapped word, and the original
# embeddings give it away to a linear probe with {glue:text}`probe_before:.0%` accuracy.
# After the contrastive debiasing the probe {glue:text}`probe_phrase`; after Sent-Debias's
# projection it reaches {glue:text}`probe_sent:.0%`. The probe sees standardised
# embeddings (each coordinate centred and scaled to unit variance over the held-out
# sentences), so that shrinking the gender difference without removing it does not pass
# for removal just because a regularised probe cannot resolve small differences. Each
# test sentence has its counterfactual, of the other label, among the probe's training
# sentences or in its test set; when the two are embedded almost alike, the probe can do
# worse than chance.
#
# **Downstream.** The linear head's accuracy {glue:text}`acc_phrase`. With Sent-Debias it
# {glue:text}`sent_acc_phrase`.
#
# ## Race and religion
#
# The same encoders, measured with the race and the religion tests: does removing one bias
# move the others? On the original encoder, race bias {glue:text}`race_presence`, and
# religion bias {glue:text}`religion_presence`. To see what debiasing for religion does, a
# fresh copy of the top {glue:text}`top_layers_text` is trained exactly as for gender, on the
# {glue:text}`n_religion_pairs` religion pairs instead of the gender ones
# ({glue:text}`religion_seeds_text`). Race is only measured: a counterfactual of a name
# swaps it for a name of the other group, and which name to pair with which is a choice
# without a definitional answer.

# %%
RELIGION_SEEDS = exp.seeds()[:exp.profile.pick(smoke=1, quick=1, full=exp.profile.n_seeds)]
religion_cache = (*cache["religion_a"], *cache["religion_b"])
religion_rows, religion_seats = [], []
for run_seed in RELIGION_SEEDS:
    top, _ = studies.debias_top_layers(
        encoder, FIRST, religion_cache, cache["anchor"], steps=DEBIAS_STEPS, lr=DEBIAS_LR,
        anchor_weight=ANCHOR_WEIGHT, seed=run_seed)
    seat, scores = measure(embeddings_of(top))
    religion_rows.append({"config": "religion", "seed": run_seed, **scores})
    religion_seats.append(seat.assign(seed=run_seed, config="religion"))
records = pd.concat([records, pd.DataFrame(religion_rows)], ignore_index=True)
cross = experiment.summarize(records, by=["config"],
                             metrics=["gender", "race", "religion", "task_acc"])

# %% tags=["remove-input"]
NAMES = {"original": "original", "contrastive": "debiased for gender",
         "Sent-Debias": "Sent-Debias (gender)", "religion": "debiased for religion"}
studies.show(studies.results_table(
    cross.assign(config=cross["config"].map(NAMES)),
    {"gender (mean |d|)": ("gender", ".3f"), "race (mean |d|)": ("race", ".3f"),
     "religion (mean |d|)": ("religion", ".3f"), "downstream accuracy": ("task_acc", ".1%")},
    {"config": "encoder"}))

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
for row in cross.itertuples():
    print(f"{row.config:12s} gender {row.gender_mean:.2f} race {row.race_mean:.2f} "
          f"religion {row.religion_mean:.2f}")

# %% [markdown]
# The bias scores of each encoder (mean over its seeds). Per test, the effect size and the
# largest p-value over the seeds (a test counts as significant for an encoder when it is in
# every seed):

# %% tags=["remove-input"]
seat_other = pd.concat([seat_all, *religion_seats])
seat_other = seat_other[seat_other["bias"] != "gender"]
SHOWN = ("original", "contrastive", "religion")
by_test = seat_other.groupby(["bias", "test", "config"], sort=False).agg(
    d=("d", "mean"), p=("p", "max")).unstack("config")
by_test = by_test.reindex(columns=[(m, c) for c in SHOWN for m in ("d", "p")])
by_test.columns = [f"{NAMES[c]}: {'d' if m == 'd' else 'p'}" for m, c in by_test.columns]
studies.show(by_test.reset_index(), {c: ".3f" if c.endswith("d") else ".4f"
                                     for c in by_test.columns})

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
for (_, test), row in by_test.iterrows():
    print(f"{test}: " + " ".join(f"{round(row[f'{NAMES[c]}: d'], 2) + 0.0:.2f}"
                                 for c in SHOWN))

# %% tags=["remove-input"]
def other_bias(bias):
    """The original encoder's tests of one bias and their significance phrase."""
    rows = seat_original[seat_original["bias"] == bias]
    return studies.significance_phrase(rows["d"], rows["p"])


def still_significant(bias, config):
    """How many tests of ``bias`` are significant in every seed of ``config``."""
    rows = seat_other[(seat_other["bias"] == bias) & (seat_other["config"] == config)]
    largest = rows.groupby("test")["p"].max()
    return studies.count_phrase(int((largest < 0.05).sum()), len(largest))


def change(bias, config):
    return studies.bias_change_verdict(scores_original[bias], scores_of(config, bias))


glue("race_presence", other_bias("race"), display=False)
glue("religion_presence", other_bias("religion"), display=False)
glue("religion_seeds_text", studies.seeds_phrase(len(RELIGION_SEEDS)), display=False)
for bias in ("race", "religion"):
    glue(f"{bias}_after_gender", change(bias, "contrastive")[0], display=False)
    glue(f"{bias}_after_sent", studies.direction_phrase(scores_original[bias],
                                                        scores_sent[bias]), display=False)
    for config in ("original", "contrastive", "religion"):
        glue(f"{bias}_significant_{config}", still_significant(bias, config), display=False)
for bias in ("gender", "race", "religion"):
    glue(f"{bias}_after_religion", change(bias, "religion")[0], display=False)
religion_verdict = change("religion", "religion")[1]
gender_ratio = (sum(scores_of("religion", "gender")) / len(RELIGION_SEEDS)) / (
    sum(scores_of("contrastive", "gender")) / n_seeds)
glue("gender_religion_vs_gender", studies.relative_to(gender_ratio, "after the gender "
                                                      "debiasing"), display=False)
religion_acc_phrase, _ = studies.accuracy_kept_verdict(scores_original["task_acc"],
                                                       scores_of("religion", "task_acc"))
glue("religion_acc_phrase", religion_acc_phrase, display=False)

# %% [markdown]
# **Gender debiasing, seen from race and religion.** After the contrastive gender
# debiasing, the race score {glue:text}`race_after_gender`, and the religion score
# {glue:text}`religion_after_gender`; {glue:text}`race_significant_contrastive` race and
# {glue:text}`religion_significant_contrastive` religion tests are significant in every
# seed (before: {glue:text}`race_significant_original` and
# {glue:text}`religion_significant_original`). With Sent-Debias's gender projection the race
# score {glue:text}`race_after_sent` and the religion score {glue:text}`religion_after_sent`.
#
# **Religion debiasing.** Trained on the religion pairs, the religion score
# {glue:text}`religion_after_religion`, with {glue:text}`religion_significant_religion`
# religion tests significant. Its side effects: the gender score
# {glue:text}`gender_after_religion` (a mean |d| {glue:text}`gender_religion_vs_gender`),
# and the race score {glue:text}`race_after_religion`.
# The downstream accuracy {glue:text}`religion_acc_phrase`.
#
# ## The thesis's claims beside what we measured
#
# The claims are those of the debiasing paper's abstract {cite:p}`kenneweg2023debiasing`.
# The paper's absolute numbers come from BERT-base on news sentences and GLUE tasks, not
# from this set-up, and are not restated.

# %% tags=["remove-input"]
after_bias = scores_of("contrastive", "gender")
claims = claims_table([
    {"claim": "contrastive debiasing removes (cosine-measured) gender bias",
     "source": "Kenneweg et al. 2023, abstract",
     "ours": f"mean |d| over 6 gender SEAT tests: {scores_original['gender']:.3f} before, "
             f"{studies.joined([f'{b:.3f}' for b in after_bias])} after (per seed); "
             "criterion: each seed lowers it by at least 20%",
     "verdict": bias_verdict},
    {"claim": "it removes the gender information a linear probe reads",
     "source": "Kenneweg et al. 2023, abstract (linear and non-linear bias information)",
     "ours": f"linear probe accuracy on held-out pairs: {scores_original['probe']:.1%} "
             f"before, {studies.joined([f'{p:.1%}' for p in scores_of('contrastive', 'probe')])}"
             f" after; chance {scores_original['chance']:.0%}; criterion: within 10 points of "
             "chance for each seed",
     "verdict": probe_claim},
    {"claim": "without impacting downstream performance",
     "source": "Kenneweg et al. 2023, abstract",
     "ours": f"linear head on frozen embeddings, docstring families: "
             f"{scores_original['task_acc']:.1%} before, "
             f"{studies.joined([f'{a:.1%}' for a in scores_of('contrastive', 'task_acc')])} "
             "after; criterion: each seed loses at most 1 point",
     "verdict": acc_verdict},
    {"claim": "Sent-Debias (the baseline) removes bias",
     "source": "Liang et al. 2020, as the paper's baseline",
     "ours": f"mean |d| {scores_original['gender']:.3f} before, {scores_sent['gender']:.3f} "
             "after; criterion: lower by at least 20%",
     "verdict": studies.bias_change_verdict(scores_original["gender"],
                                            [scores_sent["gender"]])[1]},
    {"claim": "contrastive debiasing removes (cosine-measured) bias: here religion bias, "
              "with religion word pairs",
     "source": "Kenneweg et al. 2023, abstract (the method applied to religion)",
     "ours": f"mean |d| over 4 religion SEAT tests: {scores_original['religion']:.3f} before, "
             f"{studies.joined([f'{b:.3f}' for b in scores_of('religion', 'religion')])} "
             "after (per seed); criterion: each seed lowers it by at least 20%",
     "verdict": religion_verdict},
])
glue_claims(claims, seeds=exp.seeds())
studies.show(claims.rename(columns={"ours": "measured here"}))
elapsed = time.perf_counter() - started
glue("elapsed", f"{elapsed:.0f} s", display=False)

# %% [markdown]
# ## Limitations
#
# * **One small model, one layer.** all-MiniLM-L6-v2 instead of BERT-base, and only its top
#   {glue:text}`top_layers_text` trained in this profile (the full profile trains all
#   layers), on {glue:text}`n_train_pairs` templated pairs rather than thousands of news
#   sentences. The anchor term replaces the paper's interleaved task loss; its weight and
#   the learning rate were set by hand, not tuned.
# * **English, three attributes, short binary word lists**: the definitional pairs, the WEAT
#   sets (8 words each, cut down from Caliskan et al.'s longer race lists) and the eight SEAT
#   templates decide what "bias" means here. Race is measured, never debiased. The religion
#   tests and pairs are our own, in the style of Sent-Debias's, and three religions stand in
#   for many; the religion debiasing runs on {glue:text}`religion_seeds_text`.
# * **Small tests.** A SEAT test has 64 sentences per set, built from 8 words, so its
#   sentences are far from independent and the p-values overstate the evidence; the probe
#   sees {glue:text}`n_held_pairs` held-out pairs.
# * **Downstream** is one task (docstring families) with a linear head on frozen
#   embeddings; the paper fine-tunes on GLUE tasks. This run took {glue:text}`elapsed` on
#   {glue:text}`seeds_text`.
