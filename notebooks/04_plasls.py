# ---
# jupyter:
#   jupytext:
#     text_representation: {extension: .py, format_name: percent}
#   kernelspec: {display_name: Python 3, language: python, name: python3}
# ---

# %% [markdown]
# (chapter-plasls)=
# # PLASLS: a layer-wise line search
#
# ```{admonition} In short
# :class: tip
# * PLASLS gives every part of a network (here: every layer) its own step size, found by an
#   Armijo test on that part alone, one part per step, at the cost of ADAMSLS:
#   {glue:text}`forwards_plasls_mlp:.2f` against {glue:text}`forwards_adamsls_mlp:.2f`
#   forward passes per step on the MNIST-1D MLP.
# * Against ADAMSLS, {glue:text}`plasls_vs_adamsls`. {glue:text}`overall_verdict`
# * Against SGD and Adam with tuned step sizes, over the three problems
#   {glue:text}`baseline_verdict` (geometric means of the final training loss).
# * This run: the {glue:text}`profile` profile, {glue:text}`seeds_phrase`,
#   {glue:text}`steps_mlp` steps on the MLP.
# ```
#
# A line search on the whole network finds one step size for all its parameters. The layers
# of a network are not alike: their weights have different scales, their gradients different
# sizes and the loss different curvature along them, so the step that suits the stiffest
# layer is too short for the others. PLASLS, the layer-wise variant of ADAMSLS introduced in
# the same paper {cite}`kenneweg2023faster` and part of the thesis
# {cite}`kenneweg2025thesis`, splits the network into parts, gives every part its own step
# size, and finds it with an Armijo test on that part alone, searching one part per step in
# rotation so that a step still costs about one extra forward pass.
#
# This chapter shows how a network is split, derives the per-part test, states the
# algorithm and the decision we took where the authors' code makes every part's test measure
# the other parts' moves too, and measures PLASLS against ADAMSLS and against SGD and Adam
# with tuned step sizes and a warm-up cosine schedule, on MNIST-1D with an MLP and a CNN and
# on the digits with a BatchNorm CNN, over several seeds.

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | full
device = "auto"  # auto | cpu | cuda
seed = 0

# %% tags=["hide-input"]
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from myst_nb import glue

from deepoptim import data, experiment, models, plotting, studies, train
from deepoptim.claims import claims_table, glue_claims
from deepoptim.optim import PLASLS, AdamSLS, split_parameters

warnings.filterwarnings("ignore", category=UserWarning, module="seaborn")
pd.set_option("display.max_colwidth", None)
exp = experiment.setup(profile, device, seed)
plotting.use_book_style()
print(exp.describe())

# %% [markdown]
# ## Splitting a network into parts
#
# The parts are parameter groups, built by `deepoptim.optim.split_parameters(model, rule,
# num_parts)` from the order in which the model registers its parameters:
#
# * `rule="layer"`: one part per module that owns parameters itself (each `Linear`, `Conv`,
#   BatchNorm, embedding);
# * `rule="child"`: one part per top-level child module;
# * `rule="blocks"`: embeddings | one part per block of the longest `nn.ModuleList` | the
#   rest, for transformers;
# * `num_parts=K` merges consecutive units into $K$ contiguous parts with balanced parameter
#   counts (with `"blocks"`, it keeps the first and last parts and chunks the blocks, the
#   authors' split of BERT: embeddings | encoder layers in $K-2$ chunks | head).
#
# `split_by_prefix(model, prefixes)` builds parts from parameter names instead. The authors
# split BERT-base into $K = 10$ parts: the embeddings, the twelve encoder layers in eight
# chunks, and the classification head. Our three testbed models split by layer as follows
# (a BatchNorm layer's scale and shift form a part of their own).

# %% tags=["hide-input"]
MODEL_NAMES = {"MNIST-1D MLP": "mlp", "MNIST-1D CNN": "cnn1d", "digits CNN": "digits_cnn"}


def describe_split(groups):
    """(name, parameter count) of each part."""
    return [(group["name"], sum(p.numel() for p in group["params"])) for group in groups]


splits = {problem: {"layer": describe_split(split_parameters(models.build_model(name), "layer")),
                    "2 parts": describe_split(split_parameters(models.build_model(name),
                                                               "layer", num_parts=2))}
          for problem, name in MODEL_NAMES.items()}
studies.show(pd.DataFrame([
    {"model": problem, "split": rule, "part": j, "layers": part, "parameters": size}
    for problem, rules in splits.items() for rule, parts in rules.items()
    for j, (part, size) in enumerate(parts)]))

# %% [markdown]
# ## The per-part Armijo test
#
# Split the parameters into parts, $w = (w_1, \dots, w_K)$, with gradients $g_j$ and Adam's
# diagonal preconditioners $D_j$. ADAMSLS searches one step size $\eta$ along the
# preconditioned gradient $r = (r_1, \dots, r_K)$, $r_j = D_j^{-1} g_j$, with the test
#
# $$
# f(w) - f(w - \eta r) \;\ge\; c\,\eta\, g^\top r, \qquad g^\top r = \sum_j g_j^\top r_j .
# $$
#
# On a quadratic model with Hessian blocks $H_{ij}$, the left side is
# $\eta\, g^\top r - \tfrac{\eta^2}{2}\, r^\top H r$, so the test accepts
# $\eta \le 2(1-c)\, g^\top r / r^\top H r$. Without the coupling blocks $H_{ij}$, $i \ne j$,
# the bound's ratio is $\sum_j a_j / \sum_j b_j$ with $a_j = g_j^\top r_j$ and
# $b_j = r_j^\top H_{jj} r_j$: an average of the parts' own ratios $a_j / b_j$ weighted by
# their curvature $b_j$, so the stiffest parts set the one step size for all. PLASLS tests
# each part on its own, moving part $i$ alone:
#
# $$
# f(w) - f(w_1, \dots, w_i - \eta\, r_i, \dots, w_K) \;\ge\; c\,\eta\, g_i^\top r_i ,
# \tag{1}
# $$
#
# which on the same model accepts
#
# $$
# \eta_i \;\le\; \frac{2(1-c)\; g_i^\top r_i}{r_i^\top H_{ii}\, r_i} :
# $$
#
# each part gets the step its own diagonal block of curvature allows. Two things are lost.
# The parts move together, but no test sees the combined move, so the coupling terms
# $\eta_i \eta_j\, r_i^\top H_{ij} r_j$ between parts are never checked; and as in ADAMSLS the
# step is searched along $D^{-1} g$ but applied along Adam's direction $D^{-1}\hat m$.
#
# ## The algorithm
#
# Hyperparameters (the paper's): $c = 0.1$, $\eta_0 = 0.1$, backtracking $\beta_b = 0.9$,
# reset growth $\gamma^{1/n_b} = 2^{1/500}$ per step, Adam's $\beta_1 = 0.9$,
# $\beta_2 = 0.999$, $\epsilon = 10^{-8}$, a warm-up of $T_w = 6$ steps. At step $k$:
#
# 1. compute $f_k(w)$ and $g_k$ (one forward and one backward pass), update Adam's moments
#    and form, per part, $r_j = D_j^{-1} g_j$ and $u_j = D_j^{-1}\hat m_j$;
# 2. reset every part's step size, $\eta_j \leftarrow 2^{1/500}\,\eta_j$;
# 3. **warm-up** ($k \le T_w$): one global search over all parts together,
#    $f(w) - f(w - \eta r) \ge c\,\eta \sum_j g_j^\top r_j$, backtracking
#    $\eta \leftarrow 0.9\,\eta$ from the reset step size (all $\eta_j$ are equal during the
#    warm-up), and every part takes the accepted step size;
#    **rotation** ($k > T_w$): the part $i = (k - T_w - 1) \bmod K$ alone is searched with the
#    test (1), from its reset $\eta_i$; the other parts keep their reset step sizes;
# 4. every part moves along Adam's direction, $w_j \leftarrow w_j - \eta_j u_j$.
#
# A step costs the forward-backward pass for $g_k$ plus the trials of one search: the same
# as ADAMSLS. With one part, PLASLS is ADAMSLS (a test checks it step for step).
#
# **In deepoptim.** `deepoptim.optim.PLASLS` is the method; `split_parameters` and
# `split_by_prefix` of `deepoptim.optim`, which split any network into parts, build its
# parameter groups; the Armijo search (`deepoptim.optim.ArmijoSearch`) and Adam's direction
# (`deepoptim.optim.directions.Adam`) are shared with SLS, ADAMSLS and SaLSa. Per step PLASLS
# records the step each part took (`part_step_sizes[j]`, 0 if it did not move), the part it
# searched (`part`, $-1$ in the warm-up), the trials and loss evaluations.
#
# ### Where we differ from the authors' code
#
# The algorithm above follows the authors' published code {cite}`kenneweg2023fastercode`,
# where it differs from the paper's description only in the points below; where that code
# is unsafe or makes a test measure something else, we decided as follows.
#
# * **Each part's test measures only that part's move.** Their step updated the parts in
#   place, one after another, in a loop; when the loop reached the searched part $i$, parts
#   $0, \dots, i-1$ had already taken their steps, so the left side of (1) also contained
#   their moves, $f(w) - f(w_{<i} - \eta_{<i} u_{<i},\, w_i - \eta r_i,\, w_{>i})$, while the
#   right side held part $i$'s slope only. The earlier parts' contribution,
#   $\delta = f(w) - f(w_{<i} - \eta_{<i} u_{<i}, w_{\ge i})$, does not shrink with $\eta$. If
#   their moves raised the batch loss ($\delta < 0$), a short step of part $i$ cannot make up
#   for it and the search backtracks to its trial limit; if they lowered it ($\delta > 0$), any
#   step of part $i$ that raises the loss by less than $\delta$ passes; the first case makes
#   a search backtrack to its trial limit and costs up to 100 forward passes. We search
#   before any part moves, so the test of part $i$ measures exactly (1).
# * **The warm-up's slope.** Their global warm-up search used the last part's slope only; ours
#   uses the slope of the whole move, $\sum_j g_j^\top r_j$.
# * **A failed search** (100 trials) leaves that part where it was (the other parts still
#   move) and keeps the last step size tried; theirs shrank $\eta_i$ by $0.9^{100}$ and moved
#   anyway.
# * **Not offered:** merging parts whose step sizes fall below a threshold (their
#   `combine_threshold`), smoothing per part, and schedules other than the rotation.
#
# The warm-up and the rotation on the MLP, whose layer split has three parts: the part searched
# at each of the first steps ($-1$: the global warm-up search).

# %% tags=["hide-input"]
mnist = data.mnist1d(device=exp.device)
demo = studies.run_classifier("mlp", mnist, "PLASLS", steps=exp.profile.pick(
    smoke=12, quick=12, full=12), seed=exp.seed)[1].steps_frame()
glue("warmup_steps", PLASLS.__init__.__kwdefaults__["warmup_steps"], display=False)
studies.show(pd.DataFrame({"step": demo["step"].astype(int),
                           "part searched (−1: all parts)": demo["part"].astype(int),
                           "forward passes": demo["loss_evals"].astype(int)}))

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
for problem, rules in splits.items():
    for rule, parts in rules.items():
        print(f"{problem:13s} {rule:8s}", parts)
print("part searched at steps 1-12:", [int(p) for p in demo["part"]])
print("forward passes at steps 1-12:", [int(n) for n in demo["loss_evals"]])

# %% [markdown]
# During the first {glue:text}`warmup_steps` steps one global search runs over all parts;
# afterwards the parts take turns, and every step costs the gradient's forward pass plus the
# trials of one search.
#
# ## Experiments
#
# ### Problems, budgets and baselines
#
# The problems and baselines are those of every chapter of Part I
# (`deepoptim.studies.setup_comparison`): MNIST-1D {cite}`greydanus2020scaling` with the MLP
# and the CNN (batch 100) and the digits with the BatchNorm CNN (batch 64); SGD with momentum
# 0.9 and Adam {cite}`kingma2015adam` with a linear warm-up over 10% of the steps and cosine
# decay {cite}`loshchilov2017sgdr`, their step sizes tuned on the MLP by final training loss
# and reused on the CNNs. ADAMSLS and PLASLS (one part per layer) run with the published
# defaults and no schedule, as in the paper.

# %%
comparison = studies.setup_comparison(exp)  # Part I's problems and tuned baselines
PROBLEMS, seeds = comparison.problems, comparison.seeds
MLP = "MNIST-1D MLP"

# %% tags=["remove-input"]
for key, value in comparison.glue_values().items():
    glue(key, value, display=False)
comparison.sweep_table()

# %% [markdown]
# The sweep ({glue:text}`sweep_seeds_phrase`, final training loss of the MLP) picks SGD with
# $\eta =$ {glue:text}`best_lr_SGD:g` and Adam with $\eta =$ {glue:text}`best_lr_Adam:g`.
# {glue:text}`bracket_verdict`.

# %%
MAIN = ["SGD", "Adam", "AdamSLS", "PLASLS"]
configs = {**comparison.baseline_configs(), "AdamSLS": {}, "PLASLS": {}}


def with_costs(runs):
    """The runs' records with forward passes per step and the fraction of failed searches."""
    # PyTorch's SGD and Adam record no diagnostics: one forward pass per step
    return studies.with_step_means(runs, {"loss_evals": 1.0, "failed": 0.0},
                                   keys=["problem", "config", "seed"]).rename(
        columns={"loss_evals": "forwards"})


runs = studies.concat_runs(comparison.run(problem, configs) for problem in PROBLEMS)
evals, steps = runs.evals, runs.steps
records = with_costs(runs)
summary = experiment.summarize(records, by=["problem", "config"],
                               metrics=["train_loss", "test_acc", "forwards", "failed"])
means = summary.set_index(["problem", "config"])

# %% [markdown]
# ### Training curves

# %% tags=["remove-input"]
fig = plotting.training_curves({problem: (steps[steps["problem"] == problem],
                                          evals[evals["problem"] == problem])
                                for problem in PROBLEMS}, loss="full")
glue("fig_plasls_curves", fig, display=False)
plt.close(fig)
studies.show(studies.results_table(
    summary, {"final training loss": ("train_loss", ".3g"), "test accuracy": ("test_acc", ".1%"),
              "forward passes per step": ("forwards", ".2f")},
    {"problem": "problem", "config": "method"}))

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
for row in summary.itertuples():
    print(f"{row.problem:13s} {row.config:8s} train loss {row.train_loss_mean:.4f} "
          f"test acc {row.test_acc_mean:.4f} forwards/step {row.forwards_mean:.3f}")

# %% tags=["remove-input"]
steps_of = {name: problem.steps for name, problem in PROBLEMS.items()}
KEYS = dict(zip(PROBLEMS, ("mlp", "cnn", "digits"), strict=True))


versus_adamsls = {p: means.loc[(p, "PLASLS"), "train_loss_mean"]
                  / means.loc[(p, "AdamSLS"), "train_loss_mean"] for p in PROBLEMS}
t_versus_adamsls = {p: studies.standardized_difference(summary, "PLASLS", "AdamSLS", problem=p)
                    for p in PROBLEMS}
acc_versus_adamsls = {p: means.loc[(p, "PLASLS"), "test_acc_mean"]
                      - means.loc[(p, "AdamSLS"), "test_acc_mean"] for p in PROBLEMS}
plasls_better = [p for p in PROBLEMS if versus_adamsls[p] < 1]
overall_verdict, no_improvement_verdict = studies.layerwise_verdict(t_versus_adamsls)
for problem, key in KEYS.items():
    glue(f"steps_{key}", steps_of[problem], display=False)
    glue(f"ratio_adamsls_{key}", float(versus_adamsls[problem]), display=False)
    glue(f"t_adamsls_{key}", t_versus_adamsls[problem], display=False)
    glue(f"t_text_{key}", "unknown with one seed" if np.isnan(t_versus_adamsls[problem])
         else f"{t_versus_adamsls[problem]:.1f}", display=False)
    glue(f"acc_adamsls_{key}", float(acc_versus_adamsls[problem]), display=False)
    for config in MAIN:
        glue(f"loss_{config}_{key}", float(means.loc[(problem, config), "train_loss_mean"]),
             display=False)
ratio_adam = {name: studies.loss_ratio(summary, name, "Adam") for name in ("PLASLS", "AdamSLS")}
ratio_sgd = {name: studies.loss_ratio(summary, name, "SGD") for name in ("PLASLS", "AdamSLS")}
glue("ratio_plasls_adam", ratio_adam["PLASLS"], display=False)
glue("ratio_adamsls_adam", ratio_adam["AdamSLS"], display=False)
glue("ratio_plasls_sgd", ratio_sgd["PLASLS"], display=False)
glue("ratio_adamsls_sgd", ratio_sgd["AdamSLS"], display=False)
glue("ratio_plasls_adamsls", studies.loss_ratio(summary, "PLASLS", "AdamSLS"), display=False)
glue("n_seeds", len(seeds), display=False)
glue("plasls_vs_adamsls", f"PLASLS ends lower on "
     f"{studies.count_phrase(len(plasls_better), len(PROBLEMS))} problems"
     + (f" (the {studies.joined(plasls_better)})" if plasls_better else ""), display=False)
glue("overall_verdict", overall_verdict, display=False)
glue("baseline_verdict", studies.better_than_baselines(
    {"PLASLS": ratio_adam["PLASLS"], "ADAMSLS": ratio_adam["AdamSLS"]}, "tuned Adam"),
    display=False)
best_per_problem = {p: str(means.loc[p].loc[MAIN, "train_loss_mean"].idxmin())
                    for p in PROBLEMS}
glue("best_on_problems", ", ".join(f"{b} on the {p}" for p, b in best_per_problem.items()),
     display=False)

# %% [markdown]
# ```{glue:figure} fig_plasls_curves
# :name: fig-plasls-curves
#
# Training loss on the full training set (top, log scale) and test accuracy (bottom), mean ±
# one standard deviation over {glue:text}`seeds_phrase`: the MLP for
# {glue:text}`steps_mlp` steps, the MNIST-1D CNN for {glue:text}`steps_cnn` and the digits
# CNN for {glue:text}`steps_digits`.
# ```
#
# At the end of training the lowest mean training loss belongs to
# {glue:text}`best_on_problems`. PLASLS's final training loss is
# {glue:text}`ratio_adamsls_mlp:.2f` times ADAMSLS's on the MLP
# (standardised difference {glue:text}`t_text_mlp`), {glue:text}`ratio_adamsls_cnn:.2f`
# times on the CNN ({glue:text}`t_text_cnn`) and {glue:text}`ratio_adamsls_digits:.2f`
# times on the digits ({glue:text}`t_text_digits`): {glue:text}`plasls_vs_adamsls`.
# Over the three problems PLASLS ends at {glue:text}`ratio_plasls_adam:.2f` times tuned
# Adam's loss and ADAMSLS at {glue:text}`ratio_adamsls_adam:.2f` times (geometric means);
# against tuned SGD the ratios are {glue:text}`ratio_plasls_sgd:.2f` and
# {glue:text}`ratio_adamsls_sgd:.2f`.
#
# ### The step size of each part

# %% tags=["remove-input"]
def part_columns(frame):
    return sorted((c for c in frame.columns if c.startswith("part_step_sizes[")),
                  key=lambda c: int(c[len("part_step_sizes["):-1]))


plasls_steps = steps[steps["config"] == "PLASLS"]
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
warmup = PLASLS.__init__.__kwdefaults__["warmup_steps"]
spread = {}
for ax, problem in zip(axes, PROBLEMS, strict=True):
    run = plasls_steps[(plasls_steps["problem"] == problem)
                       & (plasls_steps["seed"] == exp.seed)].dropna(axis=1, how="all")
    names = splits[problem]["layer"]
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(names)))
    late = run[run["step"] > steps_of[problem] // 2]
    medians = []
    for column, (name, size), color in zip(part_columns(run), names, colors, strict=True):
        taken = run[column].where(run[column] > 0)
        ax.plot(run["step"], taken, color=color, linewidth=1.0, label=f"{name} ({size})")
        medians.append(float(late[column][late[column] > 0].median()))
    adamsls = steps[(steps["problem"] == problem) & (steps["config"] == "AdamSLS")
                    & (steps["seed"] == exp.seed)]
    ax.plot(adamsls["step"], adamsls["step_size"].where(adamsls["step_size"] > 0),
            color=plotting.color("AdamSLS"), linestyle="--", linewidth=1.0,
            label="ADAMSLS (one step size)")
    ax.axvline(warmup, color="0.5", linestyle=":", linewidth=1)
    ax.set(yscale="log", title=problem, xlabel="step", ylabel=r"step size $\eta_j$")
    ax.legend(fontsize=7, loc="best")
    spread[problem] = max(medians) / min(medians) if min(medians) > 0 else float("nan")
fig.tight_layout()
glue("fig_plasls_parts", fig, display=False)
plt.close(fig)
late_all = steps[steps["step"] > steps["problem"].map(steps_of) // 2]
global_step = {p: float(late_all[(late_all["problem"] == p) & (late_all["config"] == "AdamSLS")
                                 & (late_all["step_size"] > 0)]["step_size"].median())
               for p in PROBLEMS}
late_parts = {p: late_all[(late_all["problem"] == p) & (late_all["config"] == "PLASLS")
                         ].dropna(axis=1, how="all") for p in PROBLEMS}
part_median = {p: float(np.median(np.concatenate([
    frame[c][frame[c] > 0].to_numpy() for c in part_columns(frame)])))
    for p, frame in late_parts.items()}
adam_lr = {p: float(steps.loc[(steps["problem"] == p) & (steps["config"] == "Adam"), "lr"].mean())
           for p in PROBLEMS}
for problem, key in KEYS.items():
    glue(f"parts_{key}", len(splits[problem]["layer"]), display=False)
    glue(f"spread_{key}", float(spread[problem]), display=False)
    glue(f"parts_over_global_{key}", part_median[problem] / global_step[problem], display=False)
    glue(f"adamsls_over_adam_{key}", global_step[problem] / adam_lr[problem], display=False)
    glue(f"plasls_over_adam_{key}", part_median[problem] / adam_lr[problem], display=False)
def shorter_on(ratios):
    """The problems on which a method's step is shorter than tuned Adam's mean step size."""
    return [p for p in PROBLEMS if ratios[p] < 1]


shorter = {"ADAMSLS": shorter_on({p: global_step[p] / adam_lr[p] for p in PROBLEMS}),
           "PLASLS": shorter_on({p: part_median[p] / adam_lr[p] for p in PROBLEMS})}
glue("schedule_verdict", "; ".join(
    f"{name}'s steps are shorter than the tuned schedule's on "
    + ("every problem" if len(problems) == len(PROBLEMS) else
       "none of the problems" if not problems else "the " + " and the ".join(problems))
    for name, problems in shorter.items()), display=False)
longer = all(part_median[p] > global_step[p] for p in PROBLEMS)
glue("longer_verdict", "Testing a part alone admits longer steps than testing the whole "
     "network on every problem: the whole-network test also pays for the coupling between the "
     "parts, and its curvature-weighted average is set by the stiffest parts."
     if longer else "Testing a part alone does not admit longer steps on every problem.",
     display=False)
most_gain = min(PROBLEMS, key=lambda p: versus_adamsls[p])
most_spread = max(PROBLEMS, key=lambda p: spread[p])
glue("gain_link", f"PLASLS gains most over ADAMSLS on the {most_gain}, "
     + ("which is also where its parts' step sizes differ most" if most_gain == most_spread
        else f"while its parts' step sizes differ most on the {most_spread}"), display=False)

# %% [markdown]
# ```{glue:figure} fig_plasls_parts
# :name: fig-plasls-parts
#
# The step size each part of the layer split took at every step (seed {glue:text}`seed_shown`;
# legend: part and parameter count), with ADAMSLS's single step size (dashed). The dotted line
# ends the global warm-up. A part grows by $2^{1/500}$ per step between its searches and is
# searched every $K$-th step.
# ```
#
# In the second half of training the parts' median step sizes differ by a factor of
# {glue:text}`spread_mlp:.1f` on the MLP, {glue:text}`spread_cnn:.1f` on the CNN and
# {glue:text}`spread_digits:.1f` on the digits CNN, and the parts' typical step is
# {glue:text}`parts_over_global_mlp:.1f`, {glue:text}`parts_over_global_cnn:.1f` and
# {glue:text}`parts_over_global_digits:.1f` times ADAMSLS's single step size.
# {glue:text}`longer_verdict`
#
# Both methods move along Adam's direction $D^{-1}\hat m$, so a step size $\eta$ is exactly
# Adam's learning rate. ADAMSLS settles at {glue:text}`adamsls_over_adam_mlp:.2f`,
# {glue:text}`adamsls_over_adam_cnn:.2f` and {glue:text}`adamsls_over_adam_digits:.2f` times
# the mean step size of tuned Adam's schedule (MLP, CNN, digits), PLASLS's parts at
# {glue:text}`plasls_over_adam_mlp:.2f`, {glue:text}`plasls_over_adam_cnn:.2f` and
# {glue:text}`plasls_over_adam_digits:.2f` times: {glue:text}`schedule_verdict`.

# %% tags=["remove-input"]
glue("seed_shown", exp.seed, display=False)
cost = summary[summary["config"].isin(["AdamSLS", "PLASLS"])].pivot(
    index="problem", columns="config", values="forwards_mean").reindex(list(PROBLEMS))
for problem, key in KEYS.items():
    glue(f"forwards_plasls_{key}", float(cost.loc[problem, "PLASLS"]), display=False)
    glue(f"forwards_adamsls_{key}", float(cost.loc[problem, "AdamSLS"]), display=False)
failed = float(summary.loc[summary["config"] == "PLASLS", "failed_mean"].max())
glue("failed_plasls", failed, display=False)
cost_ratio = cost["PLASLS"] / cost["AdamSLS"]
differs = [p for p in PROBLEMS if abs(cost_ratio[p] - 1) >= 0.1]
glue("cost_verdict", "PLASLS costs what ADAMSLS costs, within 10% on every problem: one "
     "search per step either way" if not differs else "PLASLS's cost differs from ADAMSLS's "
     "by more than 10% on the " + studies.joined(
         [f"{p} ({studies.relative_phrase(cost_ratio[p])})" for p in differs]), display=False)
studies.show(cost.reset_index().rename(columns={"AdamSLS": "ADAMSLS"}).rename_axis(columns=None),
             {"ADAMSLS": ".3f", "PLASLS": ".3f"})

# %% [markdown]
# ### Loss evaluations per step
#
# PLASLS makes {glue:text}`forwards_plasls_mlp:.2f`, {glue:text}`forwards_plasls_cnn:.2f` and
# {glue:text}`forwards_plasls_digits:.2f` forward passes per step on the three problems,
# ADAMSLS {glue:text}`forwards_adamsls_mlp:.2f`, {glue:text}`forwards_adamsls_cnn:.2f` and
# {glue:text}`forwards_adamsls_digits:.2f`: {glue:text}`cost_verdict`. At most
# {glue:text}`failed_plasls:.1%` of PLASLS's steps had a failed search.
#
# ### How many parts?
#
# One part is ADAMSLS; the layer split gives {glue:text}`parts_mlp` parts on the MLP,
# {glue:text}`parts_cnn` on the MNIST-1D CNN and {glue:text}`parts_digits` on the digits CNN.
# Between them, `split_parameters(model, "layer", num_parts=2)` merges consecutive layers
# into two parts of balanced size (see the split table above). We
# train the two-part split with the same seeds on the two MNIST-1D models, seeding everything
# as `deepoptim.studies.run_classifier` does.

# %%
def run_split(problem, num_parts, run_seed, label):
    """PLASLS on a coarser layer split; seeded as studies.run_classifier seeds its runs."""
    spec = PROBLEMS[problem]
    experiment.seed_everything(run_seed)
    model = models.build_model(spec.model).to(exp.device)
    optimizer = PLASLS(split_parameters(model, "layer", num_parts=num_parts))
    history = train.train(model, optimizer, spec.dataset, steps=spec.steps,
                          batch_size=spec.batch_size, eval_every=spec.eval_every,
                          seed=run_seed)
    labels = {"problem": problem, "config": label, "optimizer": "PLASLS", "seed": run_seed}
    final = {k: v for k, v in history.final().items() if k != "step"}
    return studies.Runs(pd.DataFrame([{**labels, **final}]),
                        history.evals_frame().assign(**labels),
                        history.steps_frame().assign(**labels))


TWO_PARTS = "PLASLS, 2 parts"
split_problems = [MLP, "MNIST-1D CNN"]
two_parts = studies.concat_runs(run_split(problem, 2, run_seed, TWO_PARTS)
                                for problem in split_problems for run_seed in seeds)
parts_records = pd.concat([records[records["problem"].isin(split_problems)
                                   & records["config"].isin(["AdamSLS", "PLASLS"])],
                           with_costs(two_parts)], ignore_index=True)
parts_records["parts"] = [1 if config == "AdamSLS" else 2 if config == TWO_PARTS
                          else len(splits[problem]["layer"])
                          for problem, config in zip(parts_records["problem"],
                                                     parts_records["config"], strict=True)]
parts_summary = experiment.summarize(parts_records, by=["problem", "parts"],
                                     metrics=["train_loss", "test_acc", "forwards"])

# %% tags=["remove-input"]
fig, ax = plt.subplots(figsize=(6.5, 3.6))
for problem, group in parts_summary.groupby("problem", sort=False):
    group = group.sort_values("parts")
    ax.errorbar(group["parts"], group["train_loss_mean"], yerr=group["train_loss_std"],
                marker="o", capsize=3, label=problem)
ax.set(xlabel="number of parts $K$ (1 = ADAMSLS)", ylabel="final training loss",
       yscale="log", xticks=sorted(parts_summary["parts"].unique()))
ax.legend(fontsize=8)
glue("fig_plasls_parts_count", fig, display=False)
plt.close(fig)

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
for row in parts_summary.sort_values(["problem", "parts"]).itertuples():
    print(f"{row.problem:13s} K={row.parts} train loss {row.train_loss_mean:.4f} "
          f"test acc {row.test_acc_mean:.4f} forwards/step {row.forwards_mean:.3f}")

# %% tags=["remove-input"]
loss_by_parts = parts_summary.set_index(["problem", "parts"])["train_loss_mean"]
best_parts = {p: int(loss_by_parts.loc[p].idxmin()) for p in split_problems}
glue("best_parts", ", ".join(f"K = {k} on the {p}" for p, k in best_parts.items()),
     display=False)
monotone = all(loss_by_parts.loc[p].is_monotonic_decreasing for p in split_problems)
glue("parts_verdict", "more parts give a lower loss on both models" if monotone
     else "more parts are not uniformly better", display=False)

# %% [markdown]
# ```{glue:figure} fig_plasls_parts_count
# :name: fig-plasls-parts-count
#
# Final training loss against the number of parts (mean ± std over
# {glue:text}`seeds_phrase`): one part (ADAMSLS), two merged parts, and one part per layer.
# ```
#
# The lowest mean loss is reached with {glue:text}`best_parts`: {glue:text}`parts_verdict`.
#
# ### Sensitivity to $c$
#
# Both searches use $c = 0.1$ as published. We vary it on the MLP for PLASLS and ADAMSLS alike
# (one seed).

# %%
c_values = [0.05, 0.1, 0.2, 0.4]
default_c = PLASLS.__init__.__kwdefaults__["c"]
assert default_c == AdamSLS.__init__.__kwdefaults__["c"]
c_configs = {f"{name}, c = {c:g}": {"optimizer": name, "optimizer_kwargs": {"c": c}}
             for name in ("AdamSLS", "PLASLS") for c in c_values if c != default_c}
c_records = comparison.run(MLP, c_configs, [exp.seed]).records
c_records = pd.concat([
    records[(records["problem"] == MLP) & records["config"].isin(["AdamSLS", "PLASLS"])
            & (records["seed"] == exp.seed)].assign(c=default_c),
    c_records.assign(c=[c_configs[config]["optimizer_kwargs"]["c"]
                        for config in c_records["config"]])], ignore_index=True)
c_records = c_records.sort_values(["optimizer", "c"], ignore_index=True)

# %% tags=["remove-input"]
fig, ax = plt.subplots(figsize=(6.5, 3.6))
for name, group in c_records.groupby("optimizer", sort=False):
    ax.plot(group["c"], group["train_loss"], "o-", color=plotting.color(name), label=name)
ax.axhline(means.loc[(MLP, "Adam"), "train_loss_mean"], color=plotting.color("Adam"),
           linestyle="--", linewidth=1, label="tuned Adam (mean over seeds)")
ax.set(xscale="log", xlabel="sufficient-decrease constant $c$",
       ylabel="final training loss (MLP)", xticks=c_values, xticklabels=[f"{c:g}" for c in
                                                                     c_values])
ax.minorticks_off()
ax.legend(fontsize=8)
glue("fig_plasls_c", fig, display=False)
plt.close(fig)

# %% tags=["remove-input"]
studies.show(c_records[["optimizer", "c", "train_loss", "test_acc"]].replace(
    {"optimizer": {"AdamSLS": "ADAMSLS"}}).rename(columns={
        "optimizer": "method", "train_loss": "final training loss", "test_acc": "test accuracy"}),
    {"c": "g", "final training loss": ".4f", "test accuracy": ".1%"})

# %% tags=["remove-input"]
c_spread = c_records.groupby("optimizer")["train_loss"].agg(lambda x: x.max() / x.min())
c_best = {name: float(group.loc[group["train_loss"].idxmin(), "c"])
          for name, group in c_records.groupby("optimizer")}
for name in ("AdamSLS", "PLASLS"):
    glue(f"c_spread_{name}", float(c_spread[name]), display=False)
    glue(f"c_best_{name}", c_best[name], display=False)

# %% [markdown]
# ```{glue:figure} fig_plasls_c
# :name: fig-plasls-c
#
# Final training loss of the MLP against $c$ for PLASLS and ADAMSLS (one seed), with tuned
# Adam for reference.
# ```
#
# Over $c \in [0.05, 0.4]$ the final loss varies by a factor of
# {glue:text}`c_spread_PLASLS:.2f` for PLASLS (best at $c =$ {glue:text}`c_best_PLASLS:g`) and
# {glue:text}`c_spread_AdamSLS:.2f` for ADAMSLS (best at $c =$ {glue:text}`c_best_AdamSLS:g`).
# With one seed, differences of the size of the seed-to-seed spread in the main comparison
# are not meaningful.
#
# ## The claims beside our numbers

# %% tags=["remove-input"]
beats_adam = {name: ratio_adam[name] < 1 and ratio_sgd[name] < 1 for name in ratio_adam}
talk = "Kenneweg et al., IJCNN 2023 talk (slides in the authors' code repository)"
claims = claims_table([
    {"claim": "PLASLS does not significantly outperform ADAMSLS",
     "source": talk,
     "published": "qualitative (BERT fine-tuning on GLUE tasks)",
     "ours": "; ".join(f"{p}: loss × {versus_adamsls[p]:.2f} ("
                       + ("standard error unknown" if np.isnan(t_versus_adamsls[p])
                          else f"{t_versus_adamsls[p]:+.1f} s.e.")
                       + f"), accuracy {100 * acc_versus_adamsls[p]:+.1f} points"
                       for p in PROBLEMS),
     "verdict": no_improvement_verdict},
    {"claim": "ADAMSLS and PLASLS beat Adam and SGD even with a tuned schedule",
     "source": talk + "; Kenneweg et al. 2023, abstract (small data, small budgets)",
     "published": "qualitative",
     "ours": f"loss × tuned Adam: PLASLS {ratio_adam['PLASLS']:.2f}, ADAMSLS "
             f"{ratio_adam['AdamSLS']:.2f}; × tuned SGD: PLASLS {ratio_sgd['PLASLS']:.2f}, "
             f"ADAMSLS {ratio_sgd['AdamSLS']:.2f} (geometric means over the problems)",
     "verdict": "; ".join(f"{label}: {studies.holds_verdict(beats_adam[name])}"
                          for name, label in (("PLASLS", "PLASLS"), ("AdamSLS", "ADAMSLS")))},
    {"claim": "about one extra forward pass per step",
     "source": talk,
     "published": "≈ 2 forward passes per step",
     "ours": ", ".join(f"{p} {cost.loc[p, 'PLASLS']:.2f}" for p in PROBLEMS),
     "verdict": studies.holds_verdict(cost["PLASLS"].max() < 2.5)},
])
glue_claims(claims, seeds=seeds)
studies.show(claims)

# %% [markdown]
# The claims come from the IJCNN'23 paper's abstract {cite}`kenneweg2023faster` and from the
# slides of its conference talk, published with the authors' code
# {cite}`kenneweg2023fastercode`; the paper fine-tuned BERT on GLUE tasks, the small-data
# variants on the first 500 training samples. Our problems train small networks from scratch
# for {glue:text}`steps_digits` to {glue:text}`steps_mlp` steps, so only the direction of an
# effect carries over. Against ADAMSLS, {glue:text}`plasls_vs_adamsls`; with
# {glue:text}`seeds_phrase` the standard error is itself uncertain, so only a large
# standardised difference counts. {glue:text}`overall_verdict` {glue:text}`gain_link`.
# Against SGD and Adam with step sizes tuned for the budget, {glue:text}`baseline_verdict`
# (geometric means of the final training loss); the paper's Adam used one fixed step size,
# $2\cdot 10^{-5}$, for every task.
#
# ## Limitations
#
# * **Scale.** This run (the {glue:text}`profile` profile) trains for {glue:text}`steps_mlp`
#   (MLP), {glue:text}`steps_cnn` (CNN) and {glue:text}`steps_digits` (digits) steps with
#   {glue:text}`seeds_phrase`; the `full` profile trains for
#   {glue:text}`full_steps_mnist` ({glue:text}`full_steps_digits` on the digits) with
#   {glue:text}`full_seeds` seeds. The paper's results concern BERT fine-tuning over five epochs.
# * **Parts.** Our models have {glue:text}`parts_mlp` to {glue:text}`parts_digits` parts;
#   BERT has ten in the paper's split, and the
#   benefit of separate step sizes may grow with the number and the diversity of the parts.
#   The two-part split is measured on the MNIST-1D models only, and the sensitivity to $c$
#   with one seed.
# * **Tuning.** The baselines' step sizes are tuned on the MLP alone, by final training loss,
#   and reused on the CNNs; the line searches use their published defaults.
# * **One implementation.** We run `deepoptim`'s PLASLS, which differs from the authors' code
#   in the decisions above, notably in what each part's test measures.
