# ---
# jupyter:
#   jupytext:
#     text_representation: {extension: .py, format_name: percent}
#   kernelspec: {display_name: Python 3, language: python, name: python3}
# ---

# %% [markdown]
# (chapter-proxsgd)=
# # ProxSGD: sparse and constrained networks
#
# ```{admonition} In short
# :class: tip
# * ProxSGD solves the $\ell_1$ penalty exactly in its proximal step. The claim that it trains
#   much sparser networks than Adam with the penalty's subgradient, at comparable accuracy,
#   {glue:text}`sparsity_verdict` on an MNIST-1D MLP ({glue:text}`sparsity_numbers`) and
#   {glue:text}`cnn_claim_phrase` on a digits CNN, where ProxSGD leaves more weights below
#   $10^{-4}$ than Adam at {glue:text}`cnn_more_sparse_text` while at least
#   {glue:text}`cnn_prox_hat:.0%` of its last proximal point is exactly zero.
# * With box constraints and a smooth penalty towards $\pm 1$, {glue:text}`bnn_near:.0%` of a
#   tanh MLP's weights end with $|w| > 0.9$ (without the penalty
#   {glue:text}`bnn_near_none:.0%`); its sign-quantised copy reaches
#   {glue:text}`bnn_binary:.1%` against {glue:text}`bnn_binary_none:.1%` for the signs of the
#   same training without the penalty: the penalty {glue:text}`bnn_penalty_effect` the
#   accuracy of the signs.
# * This run: the {glue:text}`profile` profile, {glue:text}`seeds_text` per configuration,
#   {glue:text}`mlp_steps` steps on the MLP, {glue:text}`cnn_steps` on the CNN and
#   {glue:text}`bnn_steps` on the binarised MLP.
# ```
#
# Adding a penalty $\mu\|w\|_1$ to the loss is the textbook way to ask for a sparse network,
# but a (sub)gradient method does not deliver one: the subgradient of $|w_i|$ is
# $\operatorname{sign}(w_i)$, so a weight near zero is pushed back and forth across it and
# ends small, not zero. Proximal methods treat the non-smooth part exactly: they take a step
# on the smooth loss and then solve a small problem with the penalty in closed form, whose
# solution has exact zeros. ProxSGD {cite}`yang2020proxsgd`, part of
# {cite:t}`chatzimichailidis2023thesis`, is such a method for deep networks: momentum and an
# optional Adam-like curvature estimate for the smooth part, and a closed-form proximal step
# for $\ell_1$, elastic-net and box constraints (and the group lasso of the next chapter).
#
# This chapter derives the method, checks its special cases, and measures the paper's claim
# on a small scale: on an MLP for MNIST-1D and a CNN for the 8×8 digits, ProxSGD with
# $\ell_1$ or elastic-net regularisation against Adam with the same penalty added to the loss,
# over a range of regularisation strengths and seeds; then a binarised network trained with
# box constraints.

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | full
device = "auto"  # auto | cpu | cuda
seed = 0

# %% tags=["hide-input"]
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from myst_nb import glue
from torch import nn

from deepoptim import data, experiment, models, plotting, sparsity, studies, train
from deepoptim.claims import claims_table, glue_claims
from deepoptim.optim import ProxSGD

warnings.filterwarnings("ignore", category=UserWarning, module="seaborn")
warnings.filterwarnings("ignore", message="IProgress not found")  # no widgets in the book
exp = experiment.setup(profile, device, seed)
plotting.use_book_style()
torch.set_flush_denormal(True)  # saturated tanh units give denormal squared gradients
glue("profile", exp.profile.name, display=False)
glue("seeds_text", studies.seeds_phrase(exp.profile.n_seeds), display=False)
print(exp.describe())

# %% [markdown]
# ## The problem and the algorithm
#
# We minimise $F(x) = f(x) + r(x)$ over $x \in \mathcal X$, with $f$ the expected loss
# (seen through mini-batch gradients $g_t$), $r$ convex but possibly non-smooth, and
# $\mathcal X$ a box. At step $t$, ProxSGD builds a quadratic model of $f$ around $x_t$
# from a momentum estimate $v_t$ of the gradient and a diagonal curvature $\tau_t$, keeps
# $r$ and the constraint exact, and minimises:
#
# $$
# \hat x_t = \arg\min_{x \in \mathcal X}\; (x - x_t)^\top v_t
#   + \tfrac12 (x - x_t)^\top \operatorname{diag}(\tau_t) (x - x_t) + r(x)
#   = \operatorname{prox}_{r,\tau_t}\big(x_t - v_t / \tau_t\big).
# $$
#
# The new iterate moves only part of the way to $\hat x_t$. In full:
#
# $$
# \begin{aligned}
# v_t &= (1 - \rho_t)\, v_{t-1} + \rho_t\, g_t, \qquad v_{-1} = 0,\\
# s_t &= \beta s_{t-1} + (1-\beta) g_t^2, \qquad
#   \tau_t = \sqrt{s_t / (1 - \beta^{t+1})} + \delta \quad (\text{or } \tau_t = 1),\\
# \hat x_t &= \operatorname{prox}_{r,\tau_t}\big(x_t - v_t / \tau_t\big),\\
# x_{t+1} &= x_t + \epsilon_t\,(\hat x_t - x_t), \qquad
#   \epsilon_t = \frac{\epsilon_0}{(t + 4)^{a_\epsilon}}, \quad
#   \rho_t = \frac{\rho_0}{(t + 4)^{a_\rho}} .
# \end{aligned}
# $$
#
# For separable regularisers the proximal step is elementwise. With soft thresholding
# $S_\theta(b) = \operatorname{sign}(b)\max(|b| - \theta, 0)$:
#
# | $r(x)$, constraint | $\hat x$ |
# |---|---|
# | $\mu\|x\|_1$ | $S_{\mu/\tau}(b)$ |
# | $\mu\|x\|_1$, $l \le x \le u$ | $\operatorname{clip}(S_{\mu/\tau}(b), l, u)$ |
# | $\mu_1\|x\|_1 + \frac{\mu_2}{2}\|x\|_2^2$ | $S_{\mu_1/\tau}(b) / (1 + \mu_2/\tau)$ |
# | $l \le x \le u$ only | $\operatorname{clip}(b, l, u)$ |
#
# The paper proves that every limit point is stationary with probability one when
# $\epsilon_t$ and $\rho_t$ decay to zero with $\sum\epsilon_t = \sum\rho_t = \infty$,
# square-summable, $\epsilon_t/\rho_t \to 0$ and $\tau_t$ bounded: the momentum then tracks
# the true gradient. Its DenseNet experiment uses $\epsilon_0 = 0.2122$,
# $a_\epsilon = 0.5981$, $\rho_0 = 0.9$, $a_\rho = 0.5$, which satisfies these conditions;
# we use that schedule with the Adam-like $\tau_t$ throughout.
#
# **Exact zeros, but in $\hat x$.** Soft thresholding puts exact zeros into $\hat x_t$.
# The parameters, however, move a fraction $\epsilon_t$ of the way: a weight whose proximal
# point stays 0 decays as $x_{t+k} = x_t\prod_{j<k}(1 - \epsilon_{t+j})$, geometrically but
# never to zero. So we report sparsity both ways: the fraction of exact zeros in the last
# proximal point, and the fraction of weights with $|w| < 10^{-4}$ (the paper shows the
# distribution of weight values instead).
#
# **Special cases** (checked in the library's tests): with $r = 0$, no box,
# $\tau = 1$ and constant schedules it is SGD with momentum written as a moving average, equal
# to `torch.optim.SGD(lr=ε, momentum=1-ρ, dampening=1-ρ)` when $v_{-1} = g_0$
# (`momentum_init="gradient"`), because torch's first step uses the undamped gradient; with
# the paper's $v_{-1} = 0$ the momentum lags by $(1-\rho)^{t+1} g_0$. With the Adam-like
# $\tau_t$ it is Adam with $\beta_1 = 1-\rho_t$ and no first-moment bias correction.
#
# The implementation is `deepoptim.optim.ProxSGD`, the operators are in `deepoptim.prox`, and
# the baseline's penalised loss is `deepoptim.sparsity.penalized_loss`. Each step runs its
# passes over the parameters (momentum, $b$, the proximal operator, the update) as separate
# vectorised kernels; `ProxSGD(..., fused=True)` compiles the whole step into one loop with
# `torch.compile`, which pays on large models once its compilation is amortised and costs
# more than it saves on the small networks of this chapter (`benchmarks/bench_proxsgd.py`
# measures both, and the number of steps after which compiling pays).

# %% [markdown]
# ## Sparsity against accuracy on MNIST-1D
#
# The MLP is the testbed's (40-100-100-10, ReLU). ProxSGD applies $\mu\|w\|_1$ to every
# parameter; the baseline, as in the paper, is Adam (step size $10^{-2}$, the testbed's) on the
# loss plus the same penalty, i.e. with its subgradient. Each strength $\mu$ runs over
# {glue:text}`seeds_text`; the seed fixes the initialisation and the batch order.

# %%
PAPER_SCHEDULE = dict(lr=0.2122, lr_decay=0.5981, rho=0.9, rho_decay=0.5, adaptive=True)
ADAM_LR = 1e-2
THRESHOLD = 1e-4
mnist = data.mnist1d(device=exp.device)
digits = data.digits(device=exp.device)
mlp_steps = exp.profile.pick(smoke=20, quick=1000, full=6000)
cnn_steps = exp.profile.pick(smoke=10, quick=400, full=3000)


def sparse_run(model_name, dataset, method, regularizer, mu, mu2, run_seed, steps,
               batch_size=100, **model_kwargs):
    """Train one model; return a result record and its weights."""
    experiment.seed_everything(run_seed)
    model = models.build_model(model_name, **model_kwargs).to(exp.device)
    params = list(model.parameters())
    if method == "ProxSGD":
        optimizer = ProxSGD(params, regularizer=regularizer, mu=mu, mu2=mu2, **PAPER_SCHEDULE)
        loss_fn = F.cross_entropy
    else:
        optimizer = torch.optim.Adam(params, lr=ADAM_LR)
        loss_fn = sparsity.penalized_loss(F.cross_entropy, params, l1=mu, l2=mu2)
    history = train.train(model, optimizer, dataset, steps=steps, batch_size=batch_size,
                          loss_fn=loss_fn, seed=run_seed)
    _, test_acc = train.evaluate(model, dataset.x_test, dataset.y_test)
    last = history.steps[-1]
    record = {"method": method, "regularizer": regularizer or "none", "mu": mu, "mu2": mu2,
              "seed": run_seed, "test_acc": test_acc,
              "below_threshold": sparsity.threshold_sparsity(params, THRESHOLD),
              "exact_zero": sparsity.threshold_sparsity(params, 1e-300),
              "prox_zero": last.get("prox_zero_fraction", float("nan"))}
    weights = torch.cat([p.detach().flatten() for p in params]).cpu().numpy()
    return record, weights


mus = exp.profile.pick(smoke=[1e-4], quick=[1e-5, 1e-4, 1e-3],
                       full=[1e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3])
configs = [(m, None, 0.0, 0.0) for m in ("ProxSGD", "Adam")]
configs += [(m, "l1", mu, 0.0) for mu in mus for m in ("ProxSGD", "Adam")]
elastic_mus = exp.profile.pick(smoke=[], quick=[3e-4], full=[1e-4, 3e-4, 1e-3])
configs += [(m, "elastic_net", mu, 1e-2) for mu in elastic_mus for m in ("ProxSGD", "Adam")]
mlp_records, mlp_weights = [], {}
for method, regularizer, mu, mu2 in configs:
    for run_seed in exp.seeds():
        record, weights = sparse_run("mlp", mnist, method, regularizer, mu, mu2, run_seed,
                                     mlp_steps)
        mlp_records.append(record)
        mlp_weights[(method, regularizer or "none", mu)] = weights
mlp = pd.DataFrame(mlp_records)
mlp_summary = experiment.summarize(mlp, by=["method", "regularizer", "mu"],
                                   metrics=["test_acc", "below_threshold", "prox_zero",
                                            "exact_zero"])

# %% tags=["remove-input"]
REGULARIZERS = {"none": "none", "l1": "ℓ1", "elastic_net": "elastic net"}


def sparsity_table(summary):
    """A summary of sparse runs for readers: no proximal point for Adam, μ as written."""
    table = studies.results_table(
        summary.assign(regularizer=summary["regularizer"].map(REGULARIZERS),
                       mu=summary["mu"].map(lambda mu: f"{mu:.0e}" if mu else "0")),
        {"test accuracy": ("test_acc", ".1%"), "|w| < 1e-4": ("below_threshold", ".1%"),
         "zeros of x̂": ("prox_zero", ".1%")},
        {"method": "optimizer", "regularizer": "penalty", "mu": "μ"})
    table.loc[table["optimizer"] != "ProxSGD", "zeros of x̂"] = "–"
    return table


studies.show(sparsity_table(mlp_summary))

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
for row in mlp_summary.itertuples():
    print(f"{row.method:7s} {row.regularizer:11s} mu={row.mu:.0e} acc {row.test_acc_mean:.3f} "
          f"|w|<1e-4 {row.below_threshold_mean:.3f} prox zeros {row.prox_zero_mean:.3f}")

# %% tags=["hide-input"]
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), sharey=True)
for ax, regularizer in zip(axes, ["l1", "elastic_net"], strict=True):
    for method in ("ProxSGD", "Adam"):
        rows = mlp_summary[(mlp_summary["method"] == method)
                           & (mlp_summary["regularizer"] == regularizer)]
        if rows.empty:
            continue
        ax.errorbar(rows["below_threshold_mean"], rows["test_acc_mean"],
                    xerr=rows["below_threshold_std"], yerr=rows["test_acc_std"], marker="o",
                    color=plotting.color(method), label=f"{method}: $|w| < 10^{{-4}}$")
        if method == "ProxSGD":
            ax.errorbar(rows["prox_zero_mean"], rows["test_acc_mean"],
                        xerr=rows["prox_zero_std"], marker="s", linestyle="--",
                        color=plotting.color(method), mfc="white",
                        label="ProxSGD: zeros of $\\hat x$")
        for row in rows.itertuples():
            ax.annotate(f"{row.mu:.0e}", (row.below_threshold_mean, row.test_acc_mean),
                        fontsize=7, xytext=(3, 3), textcoords="offset points")
    for method in ("ProxSGD", "Adam"):
        base = mlp_summary[(mlp_summary["method"] == method)
                           & (mlp_summary["regularizer"] == "none")]
        ax.axhline(float(base["test_acc_mean"].iloc[0]), color=plotting.color(method),
                   linewidth=0.8, linestyle=":")
    ax.set(xlabel="fraction of sparse weights", title=f"MLP, {regularizer}")
axes[0].set_ylabel("test accuracy")
axes[0].legend(fontsize=8, loc="upper right")
fig.tight_layout()
glue("fig_tradeoff", fig, display=False)
plt.close(fig)

# %% tags=["remove-input"]
baseline_acc = {m: float(mlp_summary[(mlp_summary["method"] == m)
                                     & (mlp_summary["regularizer"] == "none")]
                         ["test_acc_mean"].iloc[0]) for m in ("ProxSGD", "Adam")}
TOLERANCE = 0.02  # accuracy within two points of the better unregularised run


def sparsest_at_accuracy(method: str, column: str) -> float:
    """The largest mean sparsity of an l1 run whose mean accuracy is within the tolerance
    (NaN when none is)."""
    rows = mlp_summary[(mlp_summary["method"] == method) & (mlp_summary["regularizer"] == "l1")
                       & (mlp_summary["test_acc_mean"]
                          >= max(baseline_acc.values()) - TOLERANCE)]
    return float(rows[column + "_mean"].max()) if len(rows) else float("nan")


prox_thr = sparsest_at_accuracy("ProxSGD", "below_threshold")
prox_hat = sparsest_at_accuracy("ProxSGD", "prox_zero")
adam_thr = sparsest_at_accuracy("Adam", "below_threshold")
glue("base_prox", baseline_acc["ProxSGD"], display=False)
glue("base_adam", baseline_acc["Adam"], display=False)
adam_exact_max = float(mlp[mlp["method"] == "Adam"]["exact_zero"].max())
glue("adam_exact_max", adam_exact_max, display=False)
glue("prox_exact_max", float(mlp[mlp["method"] == "ProxSGD"]["exact_zero"].max()),
     display=False)
glue("mlp_steps", mlp_steps, display=False)
glue("mlp_params", f"{len(next(iter(mlp_weights.values()))):,}", display=False)
glue("spread_text", studies.spread_phrase(exp.profile.n_seeds), display=False)
sparsity_verdict, sparsity_numbers, sparsity_claim_verdict = studies.sparsity_claim(
    prox_thr, adam_thr, TOLERANCE)
glue("sparsity_verdict", sparsity_verdict, display=False)
glue("sparsity_numbers", sparsity_numbers, display=False)
glue("matched_sparsity", studies.matched_sparsity_sentence(prox_thr, prox_hat, adam_thr, TOLERANCE),
     display=False)

# %% [markdown]
# ```{glue:figure} fig_tradeoff
# :name: fig-proxsgd-tradeoff
#
# Test accuracy against the fraction of sparse weights for the MNIST-1D MLP after
# {glue:text}`mlp_steps` steps, one point per regularisation strength $\mu$ (labelled,
# {glue:text}`spread_text`). Solid: weights with
# $|w| < 10^{-4}$; dashed (ProxSGD only): exact zeros of the last proximal point
# $\hat x$. Dotted lines: the unregularised runs. Right: elastic net with $\mu_2 = 10^{-2}$.
# ```
#
# Without regularisation ProxSGD reaches {glue:text}`base_prox:.1%` and Adam
# {glue:text}`base_adam:.1%`. {glue:text}`matched_sparsity` The paper's claim that ProxSGD
# is much sparser (here: by at least five points) {glue:text}`sparsity_verdict` at this
# scale. Exactly zero are at most {glue:text}`adam_exact_max:.2%` of Adam's weights and
# {glue:text}`prox_exact_max:.2%` of ProxSGD's, whose iterate, as explained above, only
# approaches its proximal point: ProxSGD's exact zeros are those of $\hat x$.

# %% tags=["hide-input"]
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
middle_mu = mus[len(mus) // 2]
curves = {"ProxSGD, $\\ell_1$": ("ProxSGD", "l1", middle_mu),
          "Adam + subgradient, $\\ell_1$": ("Adam", "l1", middle_mu),
          "Adam, no penalty": ("Adam", "none", 0.0)}
for label, key in curves.items():
    weights = np.abs(mlp_weights[key])
    values = np.sort(np.maximum(weights, 1e-12))
    axes[0].plot(values, np.arange(1, len(values) + 1) / len(values), label=label,
                 color=plotting.color(key[0]), linestyle="-" if key[1] == "l1" else ":")
    axes[1].hist(mlp_weights[key], bins=np.linspace(-0.3, 0.3, 121), histtype="step",
                 color=plotting.color(key[0]), linestyle="-" if key[1] == "l1" else ":",
                 label=label, density=True)
axes[0].axvline(THRESHOLD, color="0.5", linewidth=0.8)
axes[0].set(xscale="log", xlim=(1e-8, 1), xlabel="$|w|$", ylabel="fraction of weights below",
            title=f"cumulative distribution of $|w|$, $\\mu$ = {middle_mu:.0e}")
axes[1].set(yscale="log", xlabel="$w$", ylabel="density", title="weight values")
axes[0].legend(fontsize=8)
fig.tight_layout()
glue("fig_weights", fig, display=False)
glue("middle_mu", f"{middle_mu:.0e}", display=False)
plt.close(fig)
below = {method: float((np.abs(mlp_weights[method, "l1", middle_mu]) < THRESHOLD).mean())
         for method in ("ProxSGD", "Adam")}
glue("spike_prox", below["ProxSGD"], display=False)
glue("spike_adam", below["Adam"], display=False)
glue("spike_phrase", studies.weight_spike_phrase(below["ProxSGD"], below["Adam"]),
     display=False)

# %% [markdown]
# ```{glue:figure} fig_weights
# :name: fig-proxsgd-weights
#
# Distribution of the MLP's weights with $\mu$ = {glue:text}`middle_mu` (last seed). Left:
# the fraction of weights with magnitude below a value (the form of the paper's figure); the
# grey line is the threshold $10^{-4}$. Right: histogram of the values.
# ```
#
# With $\mu$ = {glue:text}`middle_mu`, ProxSGD leaves {glue:text}`spike_prox:.1%` of the
# weights below $10^{-4}$ and Adam {glue:text}`spike_adam:.1%`: {glue:text}`spike_phrase`.
#
# ## A CNN on the digits
#
# The same comparison for the testbed's digits CNN (two convolution blocks with batch
# normalisation), regularising every parameter, at {glue:text}`cnn_mus_text` of $\ell_1$
# and one elastic net, without an unregularised run: at each strength ProxSGD is set against
# Adam.

# %%
cnn_mus = exp.profile.pick(smoke=[1e-4], quick=[1e-4, 1e-3], full=[1e-5, 1e-4, 1e-3])
cnn_configs = [(m, "l1", mu, 0.0) for mu in cnn_mus for m in ("ProxSGD", "Adam")]
cnn_configs += [(m, "elastic_net", 1e-4, 1e-2) for m in ("ProxSGD", "Adam")]
cnn_records = [sparse_run("digits_cnn", digits, method, regularizer, mu, mu2, run_seed,
                          cnn_steps, batch_size=64)[0]
               for method, regularizer, mu, mu2 in cnn_configs for run_seed in exp.seeds()]
cnn = experiment.summarize(cnn_records, by=["method", "regularizer", "mu"],
                           metrics=["test_acc", "below_threshold", "prox_zero"])

# %% tags=["remove-input"]
studies.show(sparsity_table(cnn))

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
for row in cnn.itertuples():
    print(f"digits CNN {row.method:7s} {row.regularizer:11s} mu={row.mu:.0e} "
          f"acc {row.test_acc_mean:.3f} |w|<1e-4 {row.below_threshold_mean:.3f}")

# %% tags=["remove-input"]
cnn_l1 = cnn[cnn["regularizer"] == "l1"]
by_method = {m: cnn_l1[cnn_l1["method"] == m].set_index("mu") for m in ("ProxSGD", "Adam")}
sparser = by_method["ProxSGD"]["below_threshold_mean"] > by_method["Adam"]["below_threshold_mean"]
much_sparser = (by_method["ProxSGD"]["below_threshold_mean"]
                > by_method["Adam"]["below_threshold_mean"] + 0.05)
comparable = by_method["ProxSGD"]["test_acc_mean"] >= by_method["Adam"]["test_acc_mean"] - TOLERANCE
cnn_claim_hits = int((much_sparser & comparable).sum())
glue("cnn_steps", cnn_steps, display=False)
glue("cnn_mus_text", "one strength" if len(cnn_mus) == 1 else f"{len(cnn_mus)} strengths",
     display=False)
glue("cnn_more_sparse_text", studies.count_phrase(int(sparser.sum()), len(sparser), "strength"),
     display=False)
glue("cnn_claim_phrase", studies.holds_phrase(cnn_claim_hits, len(sparser), "strengths"),
     display=False)
glue("cnn_prox_hat", float(by_method["ProxSGD"]["prox_zero_mean"].min()), display=False)
glue("cnn_prox_thr_max", float(by_method["ProxSGD"]["below_threshold_mean"].max()),
     display=False)
glue("cnn_gap_phrase", studies.proximal_gap_phrase(
    float(by_method["ProxSGD"]["below_threshold_mean"].max()),
    float(by_method["ProxSGD"]["prox_zero_mean"].min())), display=False)

# %% [markdown]
# After {glue:text}`cnn_steps` steps (batch 64), ProxSGD leaves more weights below
# $10^{-4}$ than Adam at {glue:text}`cnn_more_sparse_text` of $\ell_1$ (at most
# {glue:text}`cnn_prox_thr_max:.1%` of its weights), while at least
# {glue:text}`cnn_prox_hat:.1%` of its last proximal point $\hat x$ is exactly zero:
# {glue:text}`cnn_gap_phrase`. The paper's claim (much sparser: by more than five points, at
# an accuracy no more than two points below Adam's) {glue:text}`cnn_claim_phrase` here. The
# table gives the accuracies at which either comes.
#
# ## Binarised networks from box constraints
#
# The paper's third experiment trains a network whose weights can be replaced by their
# signs. Each weight $x_i \in [-1, 1]$ gets an auxiliary $a_i \in [0, 1]$ and the smooth
# penalty $\frac{\mu}{4}\sum_i [a_i(x_i+1)^2 + (1-a_i)(x_i-1)^2]$; $r$ is linear in $a$,
# which ProxSGD drives to a vertex of its box, and the penalty then pulls each weight to
# $+1$ or $-1$. Weights and auxiliaries take ProxSGD steps with the box as the only
# constraint (`bounds=(-1, 1)` and `(0, 1)`); `deepoptim.sparsity.binarize` replaces the
# weights by their signs after training (biases stay real). The network is a tanh MLP
# (three hidden layers of 200) on the digits, whose pixel inputs are, like MNIST's, in
# $[0, 1]$; without the penalty ($\mu = 0$) the same box-constrained training shows what
# signs alone do.

# %%
bnn_steps = exp.profile.pick(smoke=10, quick=600, full=3000)
bnn_mus = exp.profile.pick(smoke=[0.0, 1e-2], quick=[0.0, 1e-2], full=[0.0, 1e-3, 1e-2, 1e-1])


def binarised_run(mu, run_seed):
    experiment.seed_everything(run_seed)
    model = models.build_model("mlp", in_features=64, hidden=(200, 200, 200),
                               activation=nn.Tanh).to(exp.device)
    linears = [layer for layer in model.layers if isinstance(layer, nn.Linear)]
    weights, biases = [lin.weight for lin in linears], [lin.bias for lin in linears]
    aux = sparsity.binarization_aux(weights)
    optimizer = ProxSGD([{"params": weights, "bounds": (-1.0, 1.0)},
                         {"params": aux, "bounds": (0.0, 1.0)}, {"params": biases}],
                        lr=0.06, lr_decay=0.5, rho=0.9, rho_decay=0.5, adaptive=True)

    def loss_fn(logits, targets):
        return F.cross_entropy(logits, targets) + sparsity.binarization_penalty(weights, aux, mu)

    train.train(model, optimizer, digits, steps=bnn_steps, batch_size=64, loss_fn=loss_fn,
                seed=run_seed)
    values = torch.cat([w.detach().flatten() for w in weights]).cpu()
    binary = sparsity.binarize(model, weights)
    return ({"mu": mu, "seed": run_seed,
             "real_acc": train.evaluate(model, digits.x_test, digits.y_test)[1],
             "binary_acc": train.evaluate(binary, digits.x_test, digits.y_test)[1],
             "near_pm1": float((values.abs() > 0.9).float().mean())}, values.numpy())


bnn_results = [binarised_run(mu, s) for mu in bnn_mus for s in exp.seeds()]
bnn = experiment.summarize([r for r, _ in bnn_results], by=["mu"],
                           metrics=["real_acc", "binary_acc", "near_pm1"])

# %% tags=["remove-input"]
studies.show(studies.results_table(
    bnn.assign(mu=bnn["mu"].map("{:g}".format)),
    {"real-valued accuracy": ("real_acc", ".1%"), "sign-quantised accuracy": ("binary_acc", ".1%"),
     "|w| > 0.9": ("near_pm1", ".1%")},
    {"mu": "penalty μ"}))

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
for row in bnn.itertuples():
    print(f"binarised MLP mu={row.mu:.0e}: real {row.real_acc_mean:.3f} "
          f"sign {row.binary_acc_mean:.3f} |w|>0.9 {row.near_pm1_mean:.3f}")

# %% tags=["hide-input"]
fig, ax = plt.subplots(figsize=(6.5, 3.4))
for mu in bnn_mus:
    values = next(v for r, v in bnn_results if r["mu"] == mu)
    ax.hist(values, bins=np.linspace(-1, 1, 81), histtype="step", density=True,
            label=f"$\\mu$ = {mu:g}")
ax.set(yscale="log", xlabel="weight", ylabel="density",
       title="weights of the box-constrained MLP")
ax.legend()
glue("fig_binary", fig, display=False)
plt.close(fig)

# %% tags=["remove-input"]
with_penalty = bnn[bnn["mu"] == max(bnn_mus)].iloc[0]
glue("bnn_mu", f"{max(bnn_mus):g}", display=False)
glue("bnn_near", float(with_penalty["near_pm1_mean"]), display=False)
glue("bnn_real", float(with_penalty["real_acc_mean"]), display=False)
glue("bnn_binary", float(with_penalty["binary_acc_mean"]), display=False)
glue("bnn_steps", bnn_steps, display=False)
keeps_most = with_penalty["binary_acc_mean"] >= 0.9 * with_penalty["real_acc_mean"]
glue("bnn_verdict", "holds" if keeps_most else "does not hold", display=False)
clustered = with_penalty["near_pm1_mean"] > 0.5
without_penalty = bnn[bnn["mu"] == 0.0].iloc[0]
glue("bnn_cluster", studies.binarised_weights_phrase(float(with_penalty["near_pm1_mean"]),
                                                     float(without_penalty["near_pm1_mean"])),
     display=False)
glue("bnn_binary_none", float(without_penalty["binary_acc_mean"]), display=False)
glue("bnn_near_none", float(without_penalty["near_pm1_mean"]), display=False)
penalty_effect = studies.penalty_effect_phrase(float(with_penalty["binary_acc_mean"]),
                                               float(without_penalty["binary_acc_mean"]))
glue("bnn_penalty_effect", penalty_effect, display=False)

# %% [markdown]
# ```{glue:figure} fig_binary
# :name: fig-proxsgd-binary
#
# Weight values of the box-constrained tanh MLP after {glue:text}`bnn_steps` steps, with and
# without the binarisation penalty (last seed).
# ```
#
# With $\mu$ = {glue:text}`bnn_mu`, {glue:text}`bnn_near:.1%` of the weights end with
# $|w| > 0.9$ (without the penalty {glue:text}`bnn_near_none:.1%`): the weights
# {glue:text}`bnn_cluster` after {glue:text}`bnn_steps` steps. The real-valued network
# reaches {glue:text}`bnn_real:.1%` test accuracy and its sign-quantised copy
# {glue:text}`bnn_binary:.1%`, where the signs of the unpenalised network reach
# {glue:text}`bnn_binary_none:.1%`: the penalty {glue:text}`bnn_penalty_effect` the
# accuracy of the signs (criterion: by more than one point). The expectation that the
# binarised network keeps at least 90% of the real-valued accuracy {glue:text}`bnn_verdict`
# here.
#
# ## The paper's claims beside what we measured
#
# The claims are those of {cite:t}`yang2020proxsgd`, shown there on CIFAR-10, MNIST and
# DenseNet-201; the published accuracies and sparsities are not restated here, only what the
# same comparison gives at this scale.

# %% tags=["remove-input"]
keeps_most_text = ("at least" if keeps_most else "less than") + " 90% of it"
prox_hat_any = float(mlp_summary[(mlp_summary["method"] == "ProxSGD")
                                 & (mlp_summary["regularizer"] == "l1")]["prox_zero_mean"].max())
claims = claims_table([
    {"claim": "ProxSGD trains much sparser networks than Adam with an ℓ1 penalty, at "
              "comparable accuracy (MNIST-1D MLP)",
     "source": "Yang et al. 2020",
     "ours": f"ProxSGD: {sparsity_numbers} (much: 5 points more)",
     "verdict": sparsity_claim_verdict},
    {"claim": "the same on a CNN (digits)",
     "source": "Yang et al. 2020",
     "ours": f"5 points more weights below 1e-4 at accuracy within {TOLERANCE:.0%} of Adam's "
             f"at {studies.count_phrase(cnn_claim_hits, len(sparser), 'ℓ1 strength')}; "
             "zeros of x̂ at least "
             f"{float(by_method['ProxSGD']['prox_zero_mean'].min()):.1%}",
     "verdict": studies.share_verdict(cnn_claim_hits, len(sparser))},
    {"claim": "the proximal step gives exact zeros, the subgradient does not",
     "source": "Yang et al. 2020",
     "ours": f"zeros of ProxSGD's x̂ up to {prox_hat_any:.1%} (MLP, ℓ1); exact zeros of "
             f"Adam's weights at most {adam_exact_max:.2%}",
     "verdict": studies.holds_verdict(prox_hat_any > 0 and adam_exact_max == 0)},
    {"claim": "box constraints and the penalty give a network whose signs keep its accuracy",
     "source": "Yang et al. 2020, binarised networks",
     "ours": f"signs {float(with_penalty['binary_acc_mean']):.1%} against real-valued "
             f"{float(with_penalty['real_acc_mean']):.1%}, {keeps_most_text}",
     "verdict": studies.holds_verdict(bool(keeps_most))},
    {"claim": "the penalty drives the weights to ±1",
     "source": "Yang et al. 2020, binarised networks",
     "ours": f"|w| > 0.9 for {float(with_penalty['near_pm1_mean']):.1%} of the weights "
             "(at ±1: more than half)",
     "verdict": studies.holds_verdict(bool(clustered))},
    {"claim": "the penalty makes the signs more accurate than box constraints alone",
     "source": "the reason for the penalty in Yang et al. 2020",
     "ours": f"signs {float(with_penalty['binary_acc_mean']):.1%} with the penalty, "
             f"{float(without_penalty['binary_acc_mean']):.1%} without (more: by one point)",
     "verdict": studies.holds_verdict(penalty_effect == "raises")},
])
glue_claims(claims, seeds=exp.seeds())
studies.show(claims.rename(columns={"ours": "measured here"}).drop(columns="published"))

# %% [markdown]
# Weights approach zero but the iterate never reaches it: this is a property of the update
# (the convex combination $x_t + \epsilon_t(\hat x_t - x_t)$), so sparsity by threshold
# depends on the threshold and on the training length (the accumulated $\sum_t
# \epsilon_t$), while sparsity of $\hat x$ does not.
#
# ## Limitations
#
# * Small scale: a {glue:text}`mlp_params`-parameter MLP and a digits CNN for
#   {glue:text}`mlp_steps` and {glue:text}`cnn_steps` steps, against the paper's CIFAR-10 CNN
#   and DenseNet-201; the `full` profile trains longer with more strengths and seeds.
# * One step size per method: ProxSGD uses the paper's DenseNet schedule, Adam the testbed's
#   step size; neither is tuned per $\mu$, and the trade-off curves depend on both.
# * The threshold $10^{-4}$ is a convention; {numref}`fig-proxsgd-weights` shows the whole
#   distribution.
# * The binarisation penalty is reconstructed from the gradient in the authors' code; we run
#   it on the digits (where the paper used MNIST), with a tanh MLP of three hidden layers.
