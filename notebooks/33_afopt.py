# ---
# jupyter:
#   jupytext:
#     text_representation: {extension: .py, format_name: percent}
#   kernelspec: {display_name: Python 3, language: python, name: python3}
# ---

# %% [markdown]
# (chapter-afopt)=
# # AFOpt: steps in attention space
#
# ```{admonition} In short
# :class: tip
# * AFOpt is known only from one sentence of a thesis abstract; this chapter reconstructs it.
#   The gradient step is taken on an attention layer's logits and pulled back to the query
#   and key weights by least squares, which gives a two-sided preconditioner whose factors
#   are the Gram matrices of the tokens and of the keys. The library's pulled-back step
#   equals the least-squares solution of `torch.linalg.lstsq` to {glue:text}`lstsq_gap:.0e`.
# * On a tiny vision transformer for the 8×8 digits, AFOpt's final training loss
#   {glue:text}`loss_phrase_short` (AFOpt {glue:text}`loss_afopt`, AdamW
#   {glue:text}`loss_adamw`, SGD {glue:text}`loss_sgd`); its test accuracy is
#   {glue:text}`acc_afopt` against {glue:text}`acc_adamw` and {glue:text}`acc_sgd`, each
#   method at its tuned learning rate.
#   With the factors replaced by the identity (the rest of the step unchanged) the loss is
#   {glue:text}`loss_plain`, and AFOpt's is {glue:text}`pull_back_effect`.
# * Timed side by side, a step of AFOpt takes {glue:text}`bench_ratio:.2f` times as long as
#   one of AdamW; over blocks of rounds, {glue:text}`cost_phrase`. Refreshing the factors every
#   {glue:text}`slow_interval` steps brings it to {glue:text}`bench_ratio_slow:.2f`.
# * The token Gram matrices are nearly singular, so the damping shapes much of the step: the
#   pulled-back direction {glue:text}`turn_momentum`.
# * This run: the {glue:text}`profile` profile, {glue:text}`seeds_text`,
#   {glue:text}`train_steps` steps per run.
# ```
#
# The other chapters of this part precondition every layer of a network the same way, with
# statistics of its inputs and of its gradients. An attention layer has more structure. Its
# logits are a product of two linear maps of the same tokens, and a small change of the
# query weights changes the logits through the keys as much as through the tokens. The
# abstract of {cite:t}`sun2024thesis` names an "Attention-Feature-based Optimizer (AFOpt)", an
# "attention-feature-based preconditioned approach for transformer structures". Nothing more
# of it is public: no paper, no code, no hyperparameters. What follows is therefore **a
# reconstruction**, one principled reading of that sentence, and its results speak for this
# reading, not for the thesis's method. The closest published method is MAC
# {cite:p}`seung2025mac`, which preconditions attention layers with Kronecker factors built
# from their activations and attention scores.
#
# The reconstruction takes a gradient step where the attention is computed, on the logits,
# and finds the change of the query and key weights that comes closest to it. The chapter
# derives the resulting update, checks the library's implementation against a generic
# least-squares solver, trains a small vision transformer with it, with tuned AdamW
# {cite:p}`loshchilov2019decoupled` and with SGD with momentum, and looks at what the
# preconditioner does to the step.

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | full
device = "auto"  # auto | cpu | cuda
seed = 0

# %% tags=["hide-input"]
import copy
import inspect
import math
import time
import warnings

import matplotlib.pyplot as plt
import pandas as pd
import torch
import torch.nn.functional as F
from myst_nb import glue

from deepoptim import data, experiment, models, plotting, studies
from deepoptim.claims import claims_table, glue_claims
from deepoptim.optim import AFOpt, attention_layers
from deepoptim.schedules import make_schedule
from deepoptim.train import train

warnings.filterwarnings("ignore", category=UserWarning, module="seaborn")
warnings.filterwarnings("ignore", message="IProgress not found")  # no widgets in the book
exp = experiment.setup(profile, device, seed)
plotting.use_book_style()
glue("profile", exp.profile.name, display=False)
glue("seeds_text", studies.seeds_phrase(exp.profile.n_seeds), display=False)
print(exp.describe())

# %% [markdown]
# ## A gradient step on the logits, pulled back
#
# Take one head of a self-attention layer with tokens $X \in \mathbb R^{n\times d}$ (one
# sequence, one token per row), queries $Q = X W_q$ and keys $K = X W_k$ with
# $W_q, W_k \in \mathbb R^{d\times d_k}$, and logits
#
# $$
# S = \frac{Q K^\top}{\sqrt{d_k}} = \frac{X W_q K^\top}{\sqrt{d_k}} .
# $$
#
# For fixed keys, $S$ is linear in $W_q$, so with $G = \nabla_S L$ the chain rule gives
#
# $$
# \nabla_{W_q} L = \frac{X^\top G K}{\sqrt{d_k}} .
# $$
#
# A gradient step on the weights, $\Delta W_q = -\eta\nabla_{W_q}L$, moves the logits by
# $X \Delta W_q K^\top/\sqrt{d_k} = -\eta\, X X^\top G K K^\top/d_k$: not along $-G$, the
# steepest descent direction for the logits, but along $-G$ filtered on both sides by the
# tokens and the keys. Where the tokens crowd in a few directions, the logits move a lot
# along them and hardly at all in others. The reconstruction asks instead for the change of
# the weights whose change of the logits comes closest to the gradient step on the logits,
# $\Delta S = -\eta G$:
#
# $$
# \min_{\Delta W} \Big\lVert \frac{X \Delta W K^\top}{\sqrt{d_k}} - \Delta S \Big\rVert_F .
# $$
#
# Its normal equations are $X^\top X\, \Delta W\, K^\top K/d_k = X^\top \Delta S\, K/\sqrt{d_k}
# = -\eta \nabla_{W_q}L$, so with damping $\lambda_X, \lambda_K > 0$ (and exactly when they
# are zero and both Gram matrices are invertible)
#
# $$
# \Delta W_q = -\eta\, \big(X^\top X + \lambda_X I\big)^{-1}\, \nabla_{W_q}L\,
#   \big(K^\top K/d_k + \lambda_K I\big)^{-1} .
# $$
#
# This is a two-sided preconditioner of the KFAC kind {cite:p}`martens2015kfac`, in vector
# form $(K^\top K/d_k \otimes X^\top X)^{-1}$. Its input factor $X^\top X$ is KFAC's
# activation factor, but its other factor is the Gram matrix of the *keys*, a feature of the
# attention, where KFAC uses the covariance of the gradients at the layer's output. The
# logits are symmetric in the two projections, $S^\top = X W_k Q^\top/\sqrt{d_k}$, so the key
# weights take the same rule with the roles swapped: the Gram matrix of their own input and
# $Q^\top Q/d_k$. With several heads each head has its own keys and its own factor
# $K_h^\top K_h/d_k$, while the tokens' factor is shared.
#
# Two special cases show what the preconditioner does. If the tokens and the keys have
# orthonormal columns ($X^\top X = I$, $K^\top K = d_k I$), the rule is the gradient step
# scaled by $1/((1+\lambda_X)(1+\lambda_K))$: AFOpt differs from a gradient step exactly as
# much as the tokens and keys are far from orthonormal, that is, by the conditioning of the
# two Gram matrices. And over a batch of $N$ sequences the exact pull-back couples
# $\sum_b K_b^\top K_b \otimes X_b^\top X_b$, which does not factor; the reconstruction keeps
# the product of the averages, KFAC's approximation, which is exact for one sequence.
#
# ```{admonition} Algorithm: one step of AFOpt (as reconstructed here)
# With AdamW's learning rate $\eta$, moments $\beta_1, \beta_2$, $\epsilon$ and decoupled
# weight decay $\lambda_{\mathrm{wd}}$; the relative damping $\delta$, the factors' decay
# $\beta$ and the refresh interval $T$.
# 1. Compute the loss and the gradients. Every $T$ steps, forward hooks on the query and key
#    projections record their inputs and outputs during this forward pass. For a query
#    weight, $F_X = \frac1N\sum_b X_b^\top X_b$ (its input) and, per head,
#    $F_{K,h} = \frac1N\sum_b K_{b,h}^\top K_{b,h}/d_k$ (the keys); for a key weight, its own
#    input and the queries. The first recording sets the factors, later ones average them in,
#    $F \leftarrow \beta F + (1-\beta)F_{\mathrm{new}}$; their damped inverses
#    $(F + \delta\,\lambda_{\max}(F)\, I)^{-1}$ are recomputed by eigendecomposition.
# 2. Every parameter updates AdamW's moments $m, v$ of its gradient and decays,
#    $W \leftarrow (1-\eta\lambda_{\mathrm{wd}})W$.
# 3. Every parameter except the query and key weights takes AdamW's step (the projections'
#    biases included).
# 4. A query or key weight takes the pulled-back direction of its momentum,
#    $D = (F_K + \lambda_K I)^{-1}\, m\, (F_X + \lambda_X I)^{-1}$ head by head, with the
#    length of AdamW's update $U = \eta\,\hat m \oslash (\sqrt{\hat v} + \epsilon)$ (hats:
#    bias-corrected): $W \leftarrow W - \lVert U\rVert_F\, D/\lVert D\rVert_F$.
# 5. A step with a non-finite loss or gradient is skipped; a factor whose damped inverse
#    cannot be computed keeps its previous inverse, or, before it has one, leaves the weight
#    to AdamW's step.
# ```
#
# Step 4 makes two choices of its own. It preconditions the momentum rather than the
# gradient, and it *grafts* the step {cite:p}`agarwal2020disentangling`: the logit-space
# geometry sets the direction, AdamW's update sets the length. The learning rate then means
# what it means for AdamW, and a nearly singular factor cannot blow up the step. Only the
# query and key weights are preconditioned; the values, the output projection, the MLPs and
# everything else are trained by AdamW.
#
# ## In deepoptim
#
# `deepoptim.optim.AFOpt(model.parameters(), model=model, lr=...)` finds the attention layers
# of `model` (modules with `nn.Linear` attributes `query` and `key` and an int `num_heads`,
# such as `deepoptim.models.SelfAttention`), or takes them as `attention=[...]`. Its
# hyperparameters are AdamW's (`lr`, `betas`, `eps`, `weight_decay`) and `damping`
# ($\delta$, default {glue:text}`damping`), `factor_decay` ($\beta$) and `update_interval`
# ($T$, default 1). `step` needs a closure, during which the hooks record. `pull_back(weight,
# M)` applies the current preconditioner to a matrix `M`. Torch's `nn.Linear` stores the
# transpose of $W$ above, so for a weight of shape $(d_{\text{out}}, d_{\text{in}})$ the
# library computes $(F_K + \lambda_K I)^{-1} M (F_X + \lambda_X I)^{-1}$. The registry's
# `"AFOpt"` passes the model on by itself.
#
# ## The pulled-back step is the least-squares solution
#
# A check in float64 on one head with {glue:text}`demo_tokens` tokens of width
# {glue:text}`demo_width`, a random input and a linear loss of the layer's output. We compute
# the logits and their gradient $G$ by hand, let AFOpt record its factors in one step
# without damping, and compare its pull-back of the gradient of each projection with the
# least-squares solution of $X \Delta W^\top P^\top/\sqrt{d_k} = G$ ($P = K$ for the query
# weight; $P = Q$ and $G^\top$ for the key weight), written as one dense linear system with a
# Kronecker product.

# %%
torch.manual_seed(seed)
n, d = 12, 6  # tokens and width; one head, so d_k = d
layer = models.SelfAttention(d, num_heads=1).double()
x = torch.randn(1, n, d, dtype=torch.float64)
target = torch.randn(1, n, d, dtype=torch.float64)

q, k = layer.query(x)[0], layer.key(x)[0]  # the attention, written out
logits = q @ k.T / math.sqrt(d)
logits.retain_grad()
output = layer.out(logits.softmax(-1) @ layer.value(x)[0])
(output * target[0]).sum().backward()
G = logits.grad


def closure():
    layer.zero_grad()
    loss = (layer(x) * target).sum()
    loss.backward()
    return loss


optimizer = AFOpt(layer.parameters(), attention=[layer], damping=0.0)
optimizer.step(closure)  # records F_X, F_K at the same weights, then steps
gaps = []
with torch.no_grad():
    for weight, partner, g in ((layer.query.weight, k, G), (layer.key.weight, q, G.T)):
        system = torch.kron(x[0], partner / math.sqrt(d))  # row-major vec of X A P^T
        solution = torch.linalg.lstsq(system, g.reshape(-1, 1)).solution.reshape(d, d).T
        pulled = optimizer.pull_back(weight, weight.grad)
        gaps.append(float((pulled - solution).abs().max() / solution.abs().max()))
print("largest relative difference:", max(gaps))

# %% [markdown]
# And the special case: tokens with orthonormal columns and projections $\sqrt{d_k}$ times
# an orthogonal matrix (no bias) give $X^\top X = I$ and $K^\top K/d_k = Q^\top Q/d_k = I$.
# With the default damping $\delta$, $\lambda = \delta$ on both sides, and the pull-back of
# any matrix $M$ should be $M/(1+\delta)^2$.

# %%
x = torch.linalg.qr(torch.randn(n, d, dtype=torch.float64)).Q[None]
with torch.no_grad():
    for projection in (layer.query, layer.key):
        orthogonal = torch.linalg.qr(torch.randn(d, d, dtype=torch.float64)).Q
        projection.weight.copy_(math.sqrt(d) * orthogonal)
        projection.bias.zero_()
optimizer = AFOpt(layer.parameters(), attention=[layer])  # default damping
optimizer.step(closure)
delta = optimizer.defaults["damping"]
scaled_gaps = []
for weight in (layer.query.weight, layer.key.weight):
    M = torch.randn_like(weight)
    scaled_gaps.append(float((optimizer.pull_back(weight, M) - M / (1 + delta) ** 2)
                             .abs().max() / M.abs().max()))
print("largest relative difference from M / (1 + δ)²:", max(scaled_gaps))

# %% tags=["remove-input"]
glue("lstsq_gap", max(gaps), display=False)
glue("scaled_gap", max(scaled_gaps), display=False)
glue("demo_tokens", n, display=False)
glue("demo_width", d, display=False)
glue("damping", f"{inspect.signature(AFOpt).parameters['damping'].default:g}", display=False)
lstsq_words = studies.holds_verdict(max(gaps) < 1e-9)
scaled_words = studies.holds_verdict(max(scaled_gaps) < 1e-9)
glue("lstsq_sentence", "equal" if lstsq_words == "agrees" else "differ", display=False)
glue("scaled_sentence", "is" if scaled_words == "agrees" else "is not", display=False)

# %% [markdown]
# The library's pull-back and the least-squares solution {glue:text}`lstsq_sentence` to a
# relative {glue:text}`lstsq_gap:.0e` for both projections, and with orthonormal features
# the preconditioner {glue:text}`scaled_sentence` the scaling by $1/(1+\delta)^2$ (largest
# relative difference {glue:text}`scaled_gap:.0e`). In that case AFOpt's step is the
# momentum's direction with AdamW's length; the least-squares view matters only where the
# tokens and keys are far from orthonormal.

# %% [markdown]
# ## Training a tiny vision transformer
#
# The model is the book's tiny vision transformer on the 8×8 digits
# {cite:p}`dosovitskiy2021image`: each image is cut into 16 patches of 2×2 pixels, one token
# each, embedded to width 32 with a learned position embedding, followed by two pre-norm
# blocks of two-head self-attention and an MLP, and a linear classifier of the mean token
# ({glue:text}`vit_params` parameters). Its two attention layers have four projections that
# AFOpt preconditions. All methods train with batch 64 and the warm-up cosine schedule of
# Part I for {glue:text}`train_steps` steps. AdamW uses decoupled weight decay $10^{-2}$
# (PyTorch's default), as does AFOpt, with its default damping and fresh factors every
# step; SGD uses momentum 0.9 and weight decay $5\cdot10^{-4}$ as a reference. Each method's
# peak learning rate is swept over a small grid of its own and the one with the lowest mean
# final training loss over {glue:text}`seeds_text` is kept.
#
# One more configuration separates the pull-back from the rest of AFOpt's step. With a
# damping of $10^6$ both damped factors are multiples of the identity to within $10^{-6}$,
# so the query and key weights step along their momentum with AdamW's length, and every other
# parameter takes AdamW's step, as in AFOpt: everything but the attention features. Its
# learning rate is tuned on its own grid too.

# %%
digits = data.digits(device=exp.device)
VIT = {"input_shape": (8, 8), "patch_size": 2}  # 16 tokens of 2x2 pixels
train_steps = exp.profile.pick(smoke=10, quick=300, full=3000)
eval_every = exp.profile.pick(smoke=5, quick=25, full=100)
ADAMW_GRID = exp.profile.pick(smoke=[3e-3], quick=[1e-3, 3e-3, 1e-2],
                              full=[3e-4, 1e-3, 3e-3, 1e-2, 3e-2])
AFOPT_GRID = exp.profile.pick(smoke=[3e-2], quick=[1e-2, 3e-2, 1e-1],
                              full=[1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1])
SGD_GRID = exp.profile.pick(smoke=[0.1], quick=[0.03, 0.1, 0.3],
                            full=[0.01, 0.03, 0.1, 0.3, 1.0])
ADAMW_KWARGS = {"weight_decay": 1e-2, "decoupled_weight_decay": True}  # torch's AdamW
SGD_KWARGS = {"weight_decay": 5e-4}
shared = {"steps": train_steps, "batch_size": 64, "schedule": "warmup_cosine",
          "model_kwargs": VIT}
best_adam, sweep_adam = studies.tune_lr("vit", digits, {"Adam": ADAMW_GRID}, exp.seeds(),
                                        optimizer_kwargs=ADAMW_KWARGS, **shared)
best_afopt, sweep_afopt = studies.tune_lr("vit", digits, {"AFOpt": AFOPT_GRID}, exp.seeds(),
                                          **shared)
NO_PULL_BACK = {"damping": 1e6}  # factors ≈ multiples of I: the momentum, grafted
NO_PULL_BACK_GRID = exp.profile.pick(smoke=[3e-3], quick=[1e-3, 3e-3, 1e-2],
                                     full=[3e-4, 1e-3, 3e-3, 1e-2, 3e-2])
best_plain, sweep_plain = studies.tune_lr("vit", digits, {"AFOpt": NO_PULL_BACK_GRID},
                                          exp.seeds(), optimizer_kwargs=NO_PULL_BACK, **shared)
best_sgd, sweep_sgd = studies.tune_lr("vit", digits, {"SGD": SGD_GRID}, exp.seeds(),
                                      optimizer_kwargs=SGD_KWARGS, **shared)
configs = {
    "AdamW": {"optimizer": "Adam", "optimizer_kwargs": {**ADAMW_KWARGS,
                                                        "lr": best_adam["Adam"]}},
    "AFOpt": {"optimizer": "AFOpt", "optimizer_kwargs": {"lr": best_afopt["AFOpt"]}},
    "SGD": {"optimizer": "SGD", "optimizer_kwargs": {**SGD_KWARGS, "lr": best_sgd["SGD"]}},
    "AFOpt without pull-back": {"optimizer": "AFOpt", "optimizer_kwargs": {
        **NO_PULL_BACK, "lr": best_plain["AFOpt"]}},
}
runs = studies.run_grid("vit", digits, configs, exp.seeds(), eval_every=eval_every, **shared)
records = runs.records.assign(step_ms=1e3 * runs.records["time"] / train_steps)
summary = experiment.summarize(records, by=["config"],
                               metrics=["train_loss", "test_acc", "step_ms"])

# %% tags=["remove-input"]
sweep = pd.concat([sweep_adam.assign(optimizer="AdamW"), sweep_afopt,
                   sweep_plain.assign(optimizer="AFOpt without pull-back"), sweep_sgd],
                  ignore_index=True)
studies.show(studies.results_table(
    sweep.assign(lr=sweep["lr"].map("{:g}".format)),
    {"final training loss": ("train_loss", ".4f")},
    {"optimizer": "optimizer", "lr": "peak learning rate"}))

# %% tags=["remove-input"]
best = {"AdamW": best_adam["Adam"], "AFOpt": best_afopt["AFOpt"],
        "AFOpt without pull-back": best_plain["AFOpt"], "SGD": best_sgd["SGD"]}
edges = studies.at_grid_edge(best, {"AdamW": ADAMW_GRID, "AFOpt": AFOPT_GRID,
                                    "AFOpt without pull-back": NO_PULL_BACK_GRID,
                                    "SGD": SGD_GRID})
glue("train_steps", train_steps, display=False)
glue("vit_params", models.count_parameters(models.build_model("vit", **VIT)), display=False)
glue("best_lrs", studies.joined([f"{name} {lr:g}" for name, lr in best.items()]),
     display=False)
glue("edge_sentence", "Every best value lies inside its grid." if not edges else
     f"The best value of {studies.joined(edges)} lies at the edge of its grid, so a wider "
     "grid might find a better one.", display=False)
adam_type = ("AdamW", "AFOpt without pull-back")
glue("largest_lr_sentence", "AFOpt's is the largest of the three Adam-type methods: with the "
     "pull-back, the step tolerates a larger learning rate than without it."
     if all(best["AFOpt"] > best[name] for name in adam_type) else "AFOpt's is not larger "
     "than both other Adam-type methods'.", display=False)

# %% [markdown]
# The sweep's final training loss ({glue:text}`seeds_text` per value; a diverged run shows
# as NaN). The best peak learning rates are {glue:text}`best_lrs`.
# {glue:text}`largest_lr_sentence` {glue:text}`edge_sentence`

# %% tags=["remove-input"]
results = studies.results_table(
    summary, {"final training loss": ("train_loss", ".4f"), "test accuracy": ("test_acc", ".1%"),
              "ms per step": ("step_ms", ".1f")},
    {"config": "method"})
studies.show(results)

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
for row in summary.itertuples():
    print(f"{row.config:6s} train loss {row.train_loss_mean:.3f} "
          f"test acc {row.test_acc_mean:.3f}")

# %% tags=["hide-input"]
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
evals = runs.evals
plotting.mean_band(axes[0], evals, x="step", y="train_loss", hue="config", logy=True)
plotting.mean_band(axes[1], evals, x="step", y="test_acc", hue="config")
plotting.against_time(axes[2], evals, y="train_loss")
axes[0].set(ylabel="training loss (whole set)")
axes[1].set(ylabel="test accuracy")
axes[2].set(xlabel="wall time (s)", ylabel="training loss (whole set)", yscale="log")
axes[0].legend(fontsize=8)
fig.tight_layout()
glue("fig_training", fig, display=False)
plt.close(fig)

# %% tags=["remove-input"]
def mean(config, metric):
    return studies.mean_of(summary, metric, config=config)


def welch(config, reference, metric):
    return studies.standardized_difference(summary, config, reference, metric=metric)


loss_phrase, _ = studies.versus_baselines(
    "AFOpt", {name: welch("AFOpt", name, "train_loss") for name in ("AdamW", "SGD")})
acc_phrase, _ = studies.versus_baselines(
    "AFOpt", {name: welch("AFOpt", name, "test_acc") for name in ("AdamW", "SGD")},
    better="higher")
loss_claim = studies.versus_baselines(
    "AFOpt", {"AdamW": welch("AFOpt", "AdamW", "train_loss")})[1]
acc_claim = studies.versus_baselines(
    "AFOpt", {"AdamW": welch("AFOpt", "AdamW", "test_acc")}, better="higher")[1]
glue("loss_phrase_short", loss_phrase.removeprefix("AFOpt's "), display=False)
pull_back_statistic = welch("AFOpt", "AFOpt without pull-back", "train_loss")
pull_back_claim = studies.versus_baselines("AFOpt", {"no pull-back": pull_back_statistic})[1]
glue("pull_back_effect", {
    "clearly lower": "clearly lower than without it: the attention features make the "
                     "difference",
    "clearly higher": "clearly higher than without it: the attention features hurt here",
    "not clearly different": "not clearly different from the loss without it: the "
                             "attention features make no clear difference here",
    "unknown": "of unknown difference from the loss without it (one seed)"}[
        studies.clear_difference(pull_back_statistic)], display=False)
glue("acc_phrase_short", acc_phrase.removeprefix("AFOpt's "), display=False)
for key, config in (("afopt", "AFOpt"), ("adamw", "AdamW"), ("sgd", "SGD"),
                    ("plain", "AFOpt without pull-back")):
    row = summary.set_index("config").loc[config]
    glue(f"loss_{key}", studies.mean_spread(row["train_loss_mean"], row["train_loss_std"],
                                            int(row["n"]), ".4f"), display=False)
    glue(f"acc_{key}", studies.mean_spread(row["test_acc_mean"], row["test_acc_std"],
                                           int(row["n"]), ".1%"), display=False)
glue("time_ratio", mean("AFOpt", "step_ms") / mean("AdamW", "step_ms"), display=False)
glue("machine", studies.machine_phrase(exp.device), display=False)

# %% [markdown]
# ```{glue:figure} fig_training
# :name: fig-afopt-training
#
# The tiny vision transformer on the digits, each method at its tuned learning rate:
# training loss on the whole training set (left) and test accuracy (middle) against the
# step, mean ± one standard deviation over {glue:text}`seeds_text`; right, the training loss
# against wall time (means over seeds; time spent in evaluation excluded; the runs ran one
# after another on a shared machine, so their times carry its changing load).
# ```
#
# After {glue:text}`train_steps` steps, AFOpt's final training loss,
# {glue:text}`loss_afopt`, {glue:text}`loss_phrase_short` (AdamW {glue:text}`loss_adamw`,
# SGD {glue:text}`loss_sgd`; "clearly" means by more than two standard errors). Its test
# accuracy, {glue:text}`acc_afopt`, {glue:text}`acc_phrase_short` (AdamW
# {glue:text}`acc_adamw`, SGD {glue:text}`acc_sgd`). Without the pull-back, at its own
# tuned learning rate, the final training loss is {glue:text}`loss_plain` (test accuracy
# {glue:text}`acc_plain`); with it, AFOpt's is {glue:text}`pull_back_effect`.
#
# ## What a step costs
#
# Over the whole runs above a step of AFOpt took {glue:text}`time_ratio:.2f` times as long
# as one of AdamW (the ms per step of the table). Those runs ran one after another on a
# shared machine, so any change of its load between them enters that ratio. We therefore
# time the steps side by side: the same model and batches, one step of each method in turn,
# {glue:text}`bench_rounds` rounds, with the forward and backward pass alone as the floor,
# and AFOpt with its factors refreshed every step and every {glue:text}`slow_interval`
# steps (`update_interval`). The medians of {glue:text}`bench_blocks` consecutive blocks of
# rounds give the spread of the ratio.

# %%
SLOW_INTERVAL = 10
rounds = exp.profile.pick(smoke=5, quick=60, full=200)
synchronize = torch.cuda.synchronize if exp.device.type == "cuda" else (lambda: None)
experiment.seed_everything(exp.seeds()[0])
initial = models.build_model("vit", **VIT).to(exp.device)
bench = {}
for name, make in {
        "forward and backward": None,
        "AdamW": lambda p, m: torch.optim.AdamW(p, lr=best_adam["Adam"]),
        "AFOpt": lambda p, m: AFOpt(p, model=m, lr=best_afopt["AFOpt"]),
        f"AFOpt, factors every {SLOW_INTERVAL} steps": lambda p, m: AFOpt(
            p, model=m, lr=best_afopt["AFOpt"], update_interval=SLOW_INTERVAL)}.items():
    model = copy.deepcopy(initial)
    bench[name] = (model, make and make(model.parameters(), model), [])
batches = torch.randint(digits.num_train, (rounds, 64), generator=torch.Generator()
                        .manual_seed(exp.seeds()[0]))
for indices in batches:
    x, y = digits.x_train[indices], digits.y_train[indices]
    for model, optimizer, times in bench.values():
        def closure(model=model, x=x, y=y):
            model.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            return loss

        synchronize()
        started = time.perf_counter()
        if optimizer is None:
            closure()
        else:
            optimizer.step(closure)
        synchronize()
        times.append(1e3 * (time.perf_counter() - started))
step_times = pd.DataFrame([{"step": name, "median ms": float(pd.Series(times).median())}
                           for name, (_, _, times) in bench.items()])
BLOCKS = exp.profile.pick(smoke=1, quick=4, full=4)
block_medians = {name: torch.tensor(times).reshape(BLOCKS, -1).median(dim=1).values
                 for name, (_, _, times) in bench.items()}
block_ratios = (block_medians["AFOpt"] / block_medians["AdamW"]).tolist()

# %% tags=["remove-input"]
floor, adamw_ms, afopt_ms, slow_ms = step_times["median ms"]
glue("bench_rounds", rounds, display=False)
glue("bench_blocks", BLOCKS, display=False)
cost_phrase, cost_verdict = studies.step_cost_verdict(block_ratios, cases="blocks of rounds")
glue("cost_phrase", cost_phrase, display=False)
glue("slow_interval", SLOW_INTERVAL, display=False)
glue("bench_ratio", afopt_ms / adamw_ms, display=False)
glue("bench_ratio_slow", slow_ms / adamw_ms, display=False)
glue("floor_ms", floor, display=False)
glue("adamw_extra", adamw_ms - floor, display=False)
glue("afopt_extra", afopt_ms - floor, display=False)
glue("slow_extra", slow_ms - floor, display=False)
glue("optimizer_share", (afopt_ms - floor) / afopt_ms, display=False)
glue("refresh_effect", studies.relative_to(slow_ms / afopt_ms, "with a refresh every step"),
     display=False)
studies.show(step_times.assign(**{"beyond forward and backward (ms)": step_times["median ms"]
                                  - floor}),
             {"median ms": ".2f", "beyond forward and backward (ms)": ".2f"})

# %% [markdown]
# Median time of one step over {glue:text}`bench_rounds` rounds, and what it adds to the
# forward and backward pass. Side by side, AFOpt's step takes {glue:text}`bench_ratio:.2f`
# times as long as AdamW's; over blocks of rounds, {glue:text}`cost_phrase`. Beyond the
# {glue:text}`floor_ms:.1f` ms of the forward and backward pass, AdamW adds
# {glue:text}`adamw_extra:.2f` ms and AFOpt {glue:text}`afopt_extra:.2f` ms,
# {glue:text}`optimizer_share:.0%` of its step: the hooks that keep the projections' inputs
# and outputs, the Gram matrices, their eigendecompositions (a 32×32 matrix and two 16×16
# ones per projection), the pull-back and the norms of the grafting. With the factors
# refreshed every {glue:text}`slow_interval` steps, a step's time is
# {glue:text}`refresh_effect` ({glue:text}`bench_ratio_slow:.2f` times AdamW's). The times
# are those of {glue:text}`machine`, for a model so small that the optimizer's bookkeeping
# weighs more than it would beside a large forward pass.
#
# ## What the preconditioner does to the step
#
# How much the pull-back changes the step depends on how far the two Gram matrices are from
# multiples of the identity. We train once more with AFOpt at its tuned learning rate (the
# configuration of the first seed above) and, every {glue:text}`eval_every` steps, read each
# projection's factors: their condition numbers, the share of their eigenvalues below the
# damping $\delta\lambda_{\max}$ (directions in which the damping, not the data, sets the
# preconditioner), and two cosines: between the pulled-back direction $P(m)$ and the
# momentum $m$ it starts from, and between $P(m)$ and AdamW's update
# $\hat m \oslash(\sqrt{\hat v}+\epsilon)$ from the same moments.

# %%
def cosine(a, b):
    return float((a * b).sum() / (a.norm() * b.norm()))


def condition(factor):
    values = torch.linalg.eigvalsh(factor.double())
    return values, float(values[-1] / values[0]) if values[0] > 0 else math.inf


def read_factors(step, model, optimizer):
    if step % eval_every:
        return
    group = optimizer.param_groups[0]
    beta2, eps = group["betas"][1], group["eps"]
    for index, attention in enumerate(attention_layers(model)):
        for role in ("query", "key"):
            state = optimizer.state[getattr(attention, role).weight]
            if "input_factor" not in state:
                continue
            m, v, t = state["exp_avg"], state["exp_avg_sq"], state["step"]
            adamw = m / ((v / (1 - beta2 ** t)).sqrt() + eps)
            pulled = optimizer.pull_back(getattr(attention, role).weight, m)
            x_values, x_condition = condition(state["input_factor"])
            heads = [condition(f) for f in state["head_factor"]]
            below = [(x_values < delta * x_values[-1]).float().mean()]
            below += [(values < delta * values[-1]).float().mean() for values, _ in heads]
            factor_rows.append({
                "step": step, "projection": f"layer {index + 1} {role}",
                "condition_tokens": x_condition,
                "condition_partner": max(c for _, c in heads),
                "below_tokens": float(below[0]), "below_partner": float(max(below[1:])),
                "cos_momentum": cosine(pulled, m), "cos_adamw": cosine(pulled, adamw)})


factor_rows = []
experiment.seed_everything(exp.seeds()[0])
model = models.build_model("vit", **VIT).to(exp.device)
optimizer = AFOpt(model.parameters(), model=model, lr=best_afopt["AFOpt"])
scheduler = make_schedule(optimizer, "warmup_cosine", train_steps)
train(model, optimizer, digits, steps=train_steps, batch_size=64, scheduler=scheduler,
      seed=exp.seeds()[0], callback=read_factors)
factors = pd.DataFrame(factor_rows)

# %% tags=["remove-input"]
last = factors[factors["step"] == factors["step"].max()]
FACTOR_COLUMNS = {"projection": "projection",
                  "condition_tokens": "cond. of the tokens' factor",
                  "condition_partner": "cond. of the partner's factor (worst head)",
                  "below_tokens": "tokens' eigenvalues below damping",
                  "cos_momentum": "cos(P(m), m)", "cos_adamw": "cos(P(m), AdamW's update)"}
studies.show(last[list(FACTOR_COLUMNS)].rename(columns=FACTOR_COLUMNS),
             {FACTOR_COLUMNS["condition_tokens"]: ".1e",
              FACTOR_COLUMNS["condition_partner"]: ".1e",
              FACTOR_COLUMNS["below_tokens"]: ".0%", FACTOR_COLUMNS["cos_momentum"]: ".2f",
              FACTOR_COLUMNS["cos_adamw"]: ".2f"})

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
for row in last.itertuples():
    print(f"{row.projection}: below damping {row.below_tokens:.1f} "
          f"cos momentum {row.cos_momentum:.1f}")

# %% tags=["hide-input"]
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
colors = dict(zip(factors["projection"].unique(), plt.rcParams["axes.prop_cycle"].by_key()
                  ["color"], strict=False))
for name, group in factors.groupby("projection", sort=False):
    if name.endswith("query"):  # a layer's query and key weights share their input
        axes[0].plot(group["step"], group["below_tokens"], color=colors[name],
                     label=f"{name.removesuffix(' query')}: tokens")
    axes[0].plot(group["step"], group["below_partner"], color=colors[name], ls="--",
                 label=f"{name}: {'keys' if name.endswith('query') else 'queries'}")
    axes[1].plot(group["step"], group["cos_momentum"], color=colors[name], label=name)
    axes[1].plot(group["step"], group["cos_adamw"], color=colors[name], ls="--")
axes[0].set(xlabel="step", ylabel="share of eigenvalues below damping", ylim=(0, 1))
axes[1].set(xlabel="step", ylabel="cosine with P(m)", ylim=(-0.05, 1.05))
axes[0].legend(fontsize=7)
axes[1].legend(fontsize=7, title="solid: m, dashed: AdamW's update", title_fontsize=7)
fig.tight_layout()
glue("fig_factors", fig, display=False)
plt.close(fig)

# %% tags=["remove-input"]
glue("eval_every", eval_every, display=False)
glue("turn_momentum", studies.turn_phrase(float(factors["cos_momentum"].min()),
                                          float(factors["cos_momentum"].max()),
                                          "the momentum's direction"), display=False)
glue("turn_adamw", studies.turn_phrase(float(factors["cos_adamw"].min()),
                                       float(factors["cos_adamw"].max()), "AdamW's update"),
     display=False)
glue("cond_tokens_low", float(factors["condition_tokens"].min()), display=False)
glue("cond_tokens_high", float(factors["condition_tokens"].max()), display=False)
glue("cond_partner_low", float(factors["condition_partner"].min()), display=False)
glue("cond_partner_high", float(factors["condition_partner"].max()), display=False)
glue("below_tokens", studies.damped_share_phrase(float(factors["below_tokens"].mean())),
     display=False)
glue("below_partner", studies.damped_share_phrase(float(factors["below_partner"].mean())),
     display=False)
glue("damping_floor", 1 + 1 / delta, display=False)

# %% [markdown]
# Each projection's factors at the last step of the first seed's run: the condition
# numbers of the tokens' Gram matrix $F_X$ and of the partner's (the keys' for a query
# weight, the queries' for a key weight; the worst head), the share of $F_X$'s eigenvalues
# below the damping, and the two cosines.
#
# ```{glue:figure} fig_factors
# :name: fig-afopt-factors
#
# Over the first seed's AFOpt run, every {glue:text}`eval_every` steps. Left: the share of
# the eigenvalues below the damping $\delta\lambda_{\max}$, for the tokens' factor $F_X$ of
# each layer (solid; its query and key weights share it) and for each projection's partner
# factor, the keys' or the queries' (dashed; the worst head). Right: per projection, the
# cosine of the pulled-back momentum $P(m)$ with the momentum $m$ (solid) and with AdamW's
# update from the same moments (dashed).
# ```
#
# The tokens' Gram matrices are nearly singular: over the run their condition numbers lie
# between {glue:text}`cond_tokens_low:.0e` and {glue:text}`cond_tokens_high:.0e` (float32
# resolves about $10^7$), and on average {glue:text}`below_tokens`. There is a plain reason
# for it. The projections' input is the output of a layer normalisation, whose tokens have
# zero mean over their features before its affine map; at initialisation, with unit scales
# and zero shifts, every token is orthogonal to the vector of ones and $X^\top X$ is exactly
# singular. In the first block the tokens are also made of only four pixels and a position.
# The partners' factors are better conditioned (condition numbers
# {glue:text}`cond_partner_low:.0e` to {glue:text}`cond_partner_high:.0e`; on average
# {glue:text}`below_partner`). The damping caps the condition number of each damped factor at
# $1 + 1/\delta$ = {glue:text}`damping_floor:.0f`: every direction below it gets about the
# same, largest weight, up to that many times the weight of the top direction, so the
# pull-back amplifies the directions the tokens barely occupy, as far as the damping lets
# it. The pulled-back direction {glue:text}`turn_momentum` and {glue:text}`turn_adamw`.
# AFOpt's step is thus a different step, not AdamW's with a small correction; the training
# curves above show what it did to the loss.
#
# ## The thesis's claims beside what we measured
#
# The thesis {cite}`sun2024thesis`, titled for the design of *effective* preconditioned
# optimizers, names AFOpt in its abstract as its attention-feature-based preconditioned
# approach for transformers. No published number, method detail or baseline exists to
# compare with, so the claims below are our modest readings of that sentence, tested on
# this reconstruction.

# %% tags=["remove-input"]
claims = claims_table([
    {"claim": "preconditioning the attention projections with attention features trains "
              "transformers faster than AdamW (lower training loss at the same step budget)",
     "source": "Sun 2024, thesis abstract (AFOpt; our reconstruction)",
     "ours": f"final training loss after {train_steps} steps: AFOpt "
             f"{mean('AFOpt', 'train_loss'):.4f}, AdamW {mean('AdamW', 'train_loss'):.4f} "
             "(criterion: AFOpt lower by more than two standard errors)",
     "verdict": loss_claim},
    {"claim": "preconditioning the attention projections with attention features gives "
              "transformers a higher test accuracy than AdamW",
     "source": "Sun 2024, thesis abstract (AFOpt; our reconstruction)",
     "ours": f"test accuracy: AFOpt {mean('AFOpt', 'test_acc'):.1%}, AdamW "
             f"{mean('AdamW', 'test_acc'):.1%} (criterion: AFOpt higher by more than two "
             "standard errors)",
     "verdict": acc_claim},
    {"claim": "the attention features make the difference: the same step without the "
              "pull-back (identity factors) trains worse",
     "source": "Sun 2024, thesis abstract (attention-feature-based; our reconstruction)",
     "ours": f"final training loss: AFOpt {mean('AFOpt', 'train_loss'):.4f}, without the "
             f"pull-back {mean('AFOpt without pull-back', 'train_loss'):.4f}, each at its "
             "tuned learning rate (criterion: AFOpt lower by more than two standard errors)",
     "verdict": pull_back_claim},
    {"claim": "AFOpt is at least as good as AdamW (training loss)",
     "source": "Sun 2024, thesis abstract (AFOpt; our reconstruction)",
     "ours": f"final training loss: AFOpt {mean('AFOpt', 'train_loss'):.4f}, AdamW "
             f"{mean('AdamW', 'train_loss'):.4f} (criterion: disagrees only if AFOpt's is "
             "higher by more than two standard errors)",
     "verdict": studies.not_worse_verdict(welch("AFOpt", "AdamW", "train_loss"),
                                          better="lower")},
    {"claim": "the preconditioner's extra cost per step is small",
     "source": "Sun 2024, thesis abstract (an effective preconditioner)",
     "ours": f"time per step, steps timed side by side: {min(block_ratios):.2f}× to "
             f"{max(block_ratios):.2f}× AdamW's over {BLOCKS} blocks of rounds with factors "
             f"every step ({slow_ms / adamw_ms:.2f}× every {SLOW_INTERVAL} steps); "
             f"{studies.machine_phrase(exp.device)} (criterion: at most 1.25× AdamW's with "
             "the default refresh every step)",
     "verdict": cost_verdict},
])
glue_claims(claims, seeds=exp.seeds())
studies.show(claims.rename(columns={"ours": "measured here"}))

# %% [markdown]
# ## Limitations
#
# * **A reconstruction.** The thesis's AFOpt is known by name and one sentence. The
#   least-squares pull-back, the Kronecker approximation over the batch, the damping, the
#   grafting onto AdamW and the choice of the momentum are this book's; the thesis's method
#   may differ in any of them, and nothing here confirms or refutes its results.
# * **Which weights.** Only the query and key weights are preconditioned. The values and the
#   output projection have a pull-back of their own (for $O = A X W_v$ with attention $A$,
#   the left factor would be $(AX)^\top AX$, attention-weighted features), not implemented
#   here; they, the MLPs, the embeddings and the normalisations are trained by AdamW.
# * **A tiny model.** Two blocks of width 32 on 16 tokens of the 8×8 digits,
#   {glue:text}`train_steps` steps and {glue:text}`seeds_text`; transformers of practical
#   size have wider, better filled token spaces and longer sequences, where both the
#   conditioning of the factors and the cost of their eigendecompositions differ. With few
#   seeds, "clearly" (two standard errors) rests on rough estimates of the spread.
# * **Hyperparameters.** Only the learning rate is tuned, on a small grid per method; the
#   damping, which the nearly singular token factors make decisive, keeps its default, and
#   so do the factors' decay and AdamW's moments.
# * **Wall time** is that of {glue:text}`machine` with a model so small that the optimizer's
#   bookkeeping weighs heavily; the ratios say little about a large model on a GPU.
