# ---
# jupyter:
#   jupytext:
#     text_representation: {extension: .py, format_name: percent}
#   kernelspec: {display_name: Python 3, language: python, name: python3}
# ---

# %% [markdown]
# (chapter-landscapes)=
# # Loss landscapes and optimizer trajectories
#
# ```{admonition} In short
# :class: tip
# * On an MNIST-1D MLP, the loss changes {glue:text}`anisotropy_ends:.1f` times as much along
#   the top Hessian eigenvector as along the bottom one, and {glue:text}`anisotropy_random:.2f`
#   times as much along one filter-normalised random direction as along the other (verdict
#   on the claim that eigenvector planes show curvature that random planes hide:
#   {glue:text}`anisotropy_verdict`).
# * The plane of a path's two principal directions holds {glue:text}`explained_SGD:.0%` (SGD),
#   {glue:text}`explained_Adam:.0%` (Adam) and {glue:text}`explained_SLS:.0%` (SLS) of its
#   squared distance from the end point.
# * Between independently trained minima, a loss barrier near the middle
#   {glue:text}`verdict_barrier`, and more negative curvature there than at the ends
#   {glue:text}`verdict_negative`.
# * This run: the {glue:text}`profile` profile, {glue:text}`steps` training steps per run,
#   one seed per optimizer and {glue:text}`n_pairs_text` of minima.
# ```
#
# A network's loss is a function of some $10^4$ to $10^9$ parameters; a picture of it is a
# slice through one point along one or two chosen directions. What the slice shows depends
# almost entirely on that choice. A random direction drawn at the same scale for every
# parameter is dominated by the largest layers and ignores that ReLU networks are invariant to
# rescaling a layer's weights by $c$ and the next layer's by $1/c$; {cite:t}`li2018visualizing`
# therefore rescale random directions filter by filter to the weights' own size. GradVis
# {cite}`chatzimichailidis2019gradvis`, part of {cite:t}`chatzimichailidis2023thesis`, adds
# directions that carry second-order meaning, the Hessian's eigenvectors, and shows an
# optimizer's path on the plane of its checkpoints' principal directions next to the
# Hessian's eigenvalue density, frame by frame.
#
# This chapter builds all of these with `deepoptim.landscape` on one network, the MNIST-1D MLP
# of the testbed, and measures what the pictures claim: how random and eigenvector planes of
# the same minimum differ, whether the curvature a raw eigen-plane shows is the eigenvalue,
# how much of SGD's, Adam's and a line search's paths a plane can hold, and what lies on the
# straight line between two independently trained minima.

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | full
device = "auto"  # auto | cpu | cuda
seed = 0

# %% tags=["hide-input"]
import copy
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from IPython.display import HTML
from myst_nb import glue

from deepoptim import curvature, data, experiment, landscape, models, plotting, studies, train
from deepoptim.claims import claims_table, glue_claims
from deepoptim.optim import SLS

warnings.filterwarnings("ignore", category=UserWarning, module="seaborn")
warnings.filterwarnings("ignore", message="IProgress not found")  # no widgets in the book
exp = experiment.setup(profile, device, seed)
plotting.use_book_style()
torch.set_flush_denormal(True)  # Adam's second moments of dead ReLU units turn denormal: slow
glue("profile", exp.profile.name, display=False)
glue("n_pairs_text", "one pair" if exp.profile.n_seeds == 1 else f"{exp.profile.n_seeds} pairs",
     display=False)
print(exp.describe())

# %% [markdown]
# ## Surfaces, directions and their scale
#
# Around a centre $\theta_c \in \mathbb{R}^n$ (all trainable parameters, flattened) and for
# directions $\delta, \eta \in \mathbb{R}^n$ the surface is
#
# $$
# f(\alpha, \beta) = L(\theta_c + \alpha\,\delta + \beta\,\eta), \qquad
# L(\theta) = \frac{1}{|S|}\sum_{i \in S} \ell\big(f_\theta(x_i), y_i\big),
# $$
#
# on a fixed data set $S$, together with the accuracy at the same points. Three families of
# directions, each with an explicit scale:
#
# * **Random, filter-normalised** {cite}`li2018visualizing`: $d \sim \mathcal N(0, I)$, then
#   every filter $d_{i}$ of a weight tensor (a row of a linear layer, an output channel of a
#   convolution) is rescaled to the norm of the same filter of the centre,
#   $d_{i} \leftarrow d_{i}\,\|\theta_{c,i}\| / \|d_{i}\|$; biases are not moved. A step of
#   $\alpha = 1$ then changes every filter by as much as its own size, whatever the layer's
#   scale. GradVis normalises *layer-wise* instead, one tensor at a time and biases included.
# * **Hessian eigenvectors**: $H v_i = \lambda_i v_i$ at $\theta_c$, $\|v_i\| = 1$. Along a unit
#   eigenvector of a minimum the second-order model is
#   $L(\theta_c + a\, v_i) \approx L(\theta_c) + \tfrac12 \lambda_i a^2$ (the gradient is
#   nearly zero), so the central second difference
#
#   $$
#   \frac{L(\theta_c + h v_i) - 2 L(\theta_c) + L(\theta_c - h v_i)}{h^2}
#   = \lambda_i + O(h^2)
#   $$
#
#   recovers the eigenvalue. This holds only for *raw* unit eigenvectors: a filter- or
#   layer-normalised eigenvector is no longer an eigenvector, and its curvature is not
#   $\lambda_i$. The pair (top, bottom) shows the most and the least curved directions, the
#   latter negative at a saddle.
# * **Principal directions of a trajectory**: for checkpoints $\theta_0, \dots, \theta_T$ and
#   the centre $\theta_c = \theta_T$, the top right singular vectors of the mean-centred
#   offsets $M_t = \theta_t - \theta_T$ (PCA, {cite:t}`li2018visualizing`). Each checkpoint is
#   drawn at its least-squares coordinates
#
#   $$
#   c_t = \arg\min_c \|D c - (\theta_t - \theta_T)\|, \qquad
#   E = 1 - \frac{\sum_t \|D c_t - (\theta_t - \theta_T)\|^2}{\sum_t \|\theta_t - \theta_T\|^2},
#   $$
#
#   where $D$ holds the two directions as columns and $E \in [0, 1]$ is the share of the
#   path's squared distance from the centre that the plane holds: a path drawn on a plane
#   with small $E$ is mostly somewhere else.
#
# The straight line between two points, $\theta(\alpha) = (1 - \alpha)\theta_A + \alpha\,\theta_B$,
# is the one-dimensional case with $\delta = \theta_B - \theta_A$.
#
# ## Evaluating a grid in batches
#
# A $41 \times 41$ grid is 1681 full passes over $S$. Writing each point's parameters into the
# model and calling it is the usual loop. `deepoptim.landscape` instead treats the network as
# a function of its parameters (`torch.func.functional_call`) and maps it with `torch.vmap`
# over a chunk of $P$ grid points, so each layer runs as one batched matrix product for the
# whole chunk:
#
# $$
# \begin{aligned}
# &\textbf{for } \text{each chunk } C = \{c^{(1)}, \dots, c^{(P)}\} \text{ of grid coordinates:}\\
# &\quad \Theta \leftarrow \mathbf 1\,\theta_c^\top + C\,[\delta\;\eta]^\top
#   \in \mathbb{R}^{P \times n} \quad \text{(one fused multiply-add in the model's dtype)}\\
# &\quad \textbf{for } \text{each data batch } B \subset S:\quad
#   \big(L_B(\Theta_p)\big)_{p=1}^P \leftarrow \operatorname{vmap}_p\big[
#   \ell\big(\operatorname{functional\_call}(f, \Theta_p, x_B), y_B\big)\big]\\
# &\quad L(\Theta_p) \leftarrow \textstyle\sum_B \frac{|B|}{|S|} L_B(\Theta_p)
# \end{aligned}
# $$
#
# No copy of the model is made and the model is never written to; at $c = 0$ the point is the
# centre exactly. The arithmetic is that of the loop (one point costs the same multiply-adds
# either way): batching removes per-call overhead and gives each kernel enough work for
# several threads or a GPU. On a CPU that overhead matters only while one point's forward pass
# is small, so the default (`method="auto"`) batches on a GPU, and on a CPU only for small
# passes; otherwise it runs the loop, writing each point into the model and restoring the
# parameters bit for bit afterwards.
#
# The code is `deepoptim.landscape`: its modules `directions` (normalisations, random,
# eigenvector and PCA directions), `surface` (batched evaluation), `trajectory` (checkpoint
# recording, least-squares projection), `interpolation` and `spectra` (the line between
# minima and its barrier, spectral densities through `deepoptim.curvature.slq`); the figures
# and the training animation are drawn by `deepoptim.plotting`. The library's tests check
# the surface at the origin against the loss at the centre,
# filter norms, the second difference against the eigenvalue, exact reconstruction of a path
# that lies in the plane, batched against one-point evaluation, and that the model is left bit
# for bit as it was.

# %% [markdown]
# ## The network and its minimum
#
# The MLP of the testbed (40-100-100-10, ReLU) on MNIST-1D, trained with Adam (step size
# $10^{-2}$, batch 100) from the chapter's seed. Its final parameters are the centre
# $\theta_A$ of the first surfaces; surfaces and Hessians use a fixed subset of the training
# set.

# %%
mnist = data.mnist1d(device=exp.device)
steps = exp.profile.train_steps
every = exp.profile.pick(smoke=5, quick=100, full=200)
num_eval = exp.profile.pick(smoke=100, quick=1000, full=4000)
num_hessian = exp.profile.pick(smoke=100, quick=500, full=2000)
grid_size = exp.profile.pick(smoke=5, quick=41, full=51)
path_size = exp.profile.pick(smoke=5, quick=31, full=41)
slq_probes = exp.profile.pick(smoke=2, quick=6, full=10)
slq_steps = exp.profile.pick(smoke=5, quick=40, full=80)
x_eval, y_eval = mnist.x_train[:num_eval], mnist.y_train[:num_eval]
x_hess, y_hess = mnist.x_train[:num_hessian], mnist.y_train[:num_hessian]
loss_fn = F.cross_entropy

OPTIMIZERS = {
    "SGD": lambda params: torch.optim.SGD(params, lr=0.05, momentum=0.9),
    "Adam": lambda params: torch.optim.Adam(params, lr=1e-2),
    "SLS": lambda params: SLS(params, n_batches_per_epoch=mnist.num_train // 100),
}


def train_run(name, run_seed):
    """Train the MLP from a seeded initialisation; return it, its history and checkpoints."""
    experiment.seed_everything(run_seed)
    model = models.build_model("mlp").to(exp.device)
    recorder = landscape.CheckpointRecorder(every=every)
    history = train.train(model, OPTIMIZERS[name](model.parameters()), mnist, steps=steps,
                          batch_size=100, seed=run_seed, callback=recorder)
    return model.eval(), history, recorder


runs = {name: train_run(name, exp.seed) for name in OPTIMIZERS}
model = runs["Adam"][0]
theta_a = landscape.flat_parameters(model)
center_loss, center_acc = train.evaluate(model, x_eval, y_eval)
print(f"Adam after {steps} steps: loss {center_loss:.4f} on the {num_eval}-sample subset, "
      f"test accuracy {runs['Adam'][1].final()['test_acc']:.3f}")

# %% tags=["remove-input"]
glue("steps", steps, display=False)
glue("num_eval", num_eval, display=False)
glue("num_hessian", num_hessian, display=False)
glue("num_params", models.count_parameters(model), display=False)
glue("center_loss", float(center_loss), display=False)
glue("center_test_acc", float(runs["Adam"][1].final()["test_acc"]), display=False)

# %% [markdown]
# ## Random planes against eigenvector planes
#
# At $\theta_A$ ({glue:text}`num_params` parameters, {glue:text}`steps` Adam steps, loss
# {glue:text}`center_loss:.3f` on the {glue:text}`num_eval`-sample subset) we compute the two
# largest eigenpairs and the smallest one of the Hessian over {glue:text}`num_hessian` training
# samples with Lanczos (`deepoptim.curvature.eigsh`), and draw four planes
# through the same point: random directions normalised filter-wise (Li et al.) and layer-wise
# (GradVis) over $[-1, 1]^2$, and the raw unit eigenvectors $(v_1, v_2)$ and $(v_1, v_n)$
# over $[-r, r]^2$, with $r$ chosen so that the quadratic model rises by 2 along $v_1$ at the
# edge, $\tfrac12 \lambda_1 r^2 = 2$.

# %%
hessian = curvature.HessianOperator(model, loss_fn, x_hess, y_hess, cache=True)
top = landscape.eigen_directions(hessian, 2, "LA")
bottom = landscape.eigen_directions(hessian, 1, "SA")
lam1, lam2 = (float(v) for v in top.eigenvalues)
lam_min = float(bottom.eigenvalues[0])
radius = float(np.sqrt(2 * 2.0 / lam1))
unit_axis = torch.linspace(-1.0, 1.0, grid_size)
eigen_axis = torch.linspace(-radius, radius, grid_size)
planes = {
    "random, filter-normalised": (landscape.random_directions(model, 2, seed=exp.seed),
                                  unit_axis),
    "random, layer-normalised": (landscape.random_directions(model, 2, seed=exp.seed,
                                                             normalization="layer"), unit_axis),
    "eigenvectors $(v_1, v_2)$": (top.vectors, eigen_axis),
    "eigenvectors $(v_1, v_n)$": (torch.stack([top.vectors[0], bottom.vectors[0]]),
                                  eigen_axis),
}
surfaces = {name: landscape.loss_surface(model, loss_fn, x_eval, y_eval, directions, axis, axis)
            for name, (directions, axis) in planes.items()}

# %% tags=["hide-input"]
fig, axes = plt.subplots(1, 4, figsize=(14, 3.6), layout="constrained")
names = list(surfaces)
for pair in (names[:2], names[2:]):  # one colour scale per pair of planes
    log_losses = torch.cat([surfaces[name].loss.log10().reshape(-1) for name in pair])
    levels = np.linspace(float(log_losses.min()), float(log_losses.max()), 20)
    pair_axes = [axes[names.index(name)] for name in pair]
    for ax, name in zip(pair_axes, pair, strict=True):
        contours = plotting.plot_surface(ax, surfaces[name], levels=levels)
        ax.set_title(name, fontsize=10)
        ax.set_aspect("equal")
    fig.colorbar(contours, ax=pair_axes, shrink=0.8, label="$\\log_{10}$ loss", format="%.2f")
glue("fig_planes", fig, display=False)
plt.close(fig)

# %% tags=["remove-input"]
glue("eigen_converged", "converged" if top.converged and bottom.converged
     else "did not all converge", display=False)
glue("lam1", lam1, display=False)
glue("lam2", lam2, display=False)
glue("lam_min", lam_min, display=False)
glue("radius", radius, display=False)


def edge_rises(surface):
    """Mean loss rise at the two ends of each axis through the centre: (along x, along y)."""
    middle = grid_size // 2
    base = surface.loss[middle, middle]
    along_x = (surface.loss[middle, 0] + surface.loss[middle, -1]) / 2 - base
    along_y = (surface.loss[0, middle] + surface.loss[-1, middle]) / 2 - base
    return float(along_x), float(along_y)


rises = pd.DataFrame([(name, *edge_rises(s)) for name, s in surfaces.items()],
                     columns=["plane", "rise along direction 1", "rise along direction 2"])
for key, name in (("filter", "random, filter-normalised"), ("layer", "random, layer-normalised"),
                  ("top2", "eigenvectors $(v_1, v_2)$"), ("ends", "eigenvectors $(v_1, v_n)$")):
    rise_x, rise_y = edge_rises(surfaces[name])
    glue(f"rise_{key}_1", rise_x, display=False)
    glue(f"rise_{key}_2", rise_y, display=False)
glue("predicted_v2", 0.5 * lam2 * radius**2, display=False)
quadratic_factor = 2.0 / edge_rises(surfaces["eigenvectors $(v_1, v_2)$"])[0]
glue("quadratic_factor", quadratic_factor, display=False)
glue("quadratic_verdict", studies.quadratic_model_phrase(quadratic_factor), display=False)
anisotropy_random = abs(edge_rises(surfaces["random, filter-normalised"])[0]
                        / edge_rises(surfaces["random, filter-normalised"])[1])
anisotropy_ends = abs(edge_rises(surfaces["eigenvectors $(v_1, v_n)$"])[0]
                      / edge_rises(surfaces["eigenvectors $(v_1, v_n)$"])[1])
glue("anisotropy_random", anisotropy_random, display=False)
glue("anisotropy_ends", anisotropy_ends, display=False)
glue("anisotropy_verdict", studies.anisotropy_verdict(anisotropy_ends, anisotropy_random),
     display=False)
random_unit = planes["random, filter-normalised"][0][0].double()
cosine = float((random_unit @ top.vectors[0].double()).abs() / random_unit.norm())
glue("cos_random_v1", cosine, display=False)
glue("cos_typical", float(1 / np.sqrt(theta_a.numel())), display=False)
glue("cos_phrase", studies.random_cosine_phrase(cosine, theta_a.numel()), display=False)
PLANE_NAMES = {"$(v_1, v_2)$": "(v₁, v₂)", "$(v_1, v_n)$": "(v₁, vₙ)"}
studies.show(rises.assign(plane=[" ".join(PLANE_NAMES.get(w, w) for w in name.split(" ", 1))
                                 for name in rises["plane"]]),
             {"rise along direction 1": ".3f", "rise along direction 2": ".3f"})

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
print(f"lambda_1 {lam1:.3f}  lambda_2 {lam2:.3f}  lambda_min {lam_min:.4f}  r {radius:.3f}")
for name, surface in surfaces.items():
    print(f"{name:28s} centre loss {float(surface.loss[grid_size // 2, grid_size // 2]):.4f}"
          f"  max loss {float(surface.loss.max()):.3f}")

# %% [markdown]
# ```{glue:figure} fig_planes
# :name: fig-landscape-planes
#
# The loss ($\log_{10}$) around Adam's minimum (star) on four planes through it. Left two:
# random directions, normalised filter-wise and layer-wise, coordinates in units of the
# weights' own size. Right two: raw unit Hessian eigenvectors, coordinates in parameter-space
# distance. Each pair has its own colour scale.
# ```
#
# The top eigenvalue is $\lambda_1 =$ {glue:text}`lam1:.3f`, the second
# $\lambda_2 =$ {glue:text}`lam2:.3f`, and the smallest $\lambda_n =$ {glue:text}`lam_min:.4f`
# (Lanczos {glue:text}`eigen_converged`). At the ends of the axes through the centre, the loss
# rises by {glue:text}`rise_filter_1:.3f` and {glue:text}`rise_filter_2:.3f` along the two
# filter-normalised random directions and by {glue:text}`rise_layer_1:.3f` and
# {glue:text}`rise_layer_2:.3f` along the layer-normalised ones, at distance 1 in units of the
# weights. The eigen-planes span only $r =$ {glue:text}`radius:.3f` in plain parameter
# distance, and over it the loss rises by {glue:text}`rise_top2_1:.3f` along $v_1$ (the
# quadratic model predicts 2), by {glue:text}`rise_top2_2:.3f` along $v_2$ (predicted
# {glue:text}`predicted_v2:.3f`) and by {glue:text}`rise_ends_2:.4f` along $v_n$; along
# $v_1$ the prediction over the measurement is {glue:text}`quadratic_factor:.2f`.
# {glue:text}`quadratic_verdict` The first
# random direction's cosine with $v_1$ is {glue:text}`cos_random_v1:.4f`; a direction drawn
# uniformly at random in $\mathbb{R}^n$ has a cosine of about $1/\sqrt{n} =$
# {glue:text}`cos_typical:.4f` with any fixed vector. The random direction's cosine is
# {glue:text}`cos_phrase`.
#
# ### Does the raw eigen-plane show the eigenvalue?
#
# On a float64 copy of the network, the central second difference along the unit
# eigenvectors $v_1, v_2$ for shrinking $h$, against the Lanczos eigenvalues; and the same for
# the MLP with tanh units instead of ReLU, trained the same way, whose loss is smooth.

# %%
def second_differences_along(net, directions, eigenvalues, labels, steps_h):
    """Central second differences of the loss along unit directions, on a float64 copy."""
    net64 = copy.deepcopy(net).double()
    found = []
    for h in steps_h:
        for label, vector, value in zip(labels, directions, eigenvalues, strict=True):
            line = landscape.loss_surface(net64, loss_fn, x_hess.double(), y_hess,
                                          vector.double(), [-h, 0.0, h], accuracy=False)
            second = float(line.loss[0] - 2 * line.loss[1] + line.loss[2]) / h**2
            found.append({"direction": label, "h": h, "second_difference": second,
                          "eigenvalue": float(value),
                          "relative_error": abs(second - float(value)) / abs(float(value))})
    return pd.DataFrame(found)


def observed_order(frame):
    """The order p of error ~ h^p along v_1 between the largest and the smallest h."""
    rows = frame[frame["direction"] == "v_1"]
    errors, hs = rows["relative_error"].to_numpy(), rows["h"].to_numpy()
    return float(np.log(errors[0] / errors[-1]) / np.log(hs[0] / hs[-1]))


steps_h = [radius * f for f in (0.1, 0.03, 0.01, 0.003, 0.001)]
relu_check = second_differences_along(model, top.vectors, top.eigenvalues, ["v_1", "v_2"],
                                      steps_h)
experiment.seed_everything(exp.seed)
tanh_model = models.build_model("mlp", activation=torch.nn.Tanh).to(exp.device)
train.train(tanh_model, torch.optim.Adam(tanh_model.parameters(), lr=1e-2), mnist, steps=steps,
            batch_size=100, seed=exp.seed)
tanh_top = landscape.eigen_directions(
    curvature.HessianOperator(tanh_model.eval(), loss_fn, x_hess, y_hess, cache=True), 2, "LA")
tanh_check = second_differences_along(tanh_model, tanh_top.vectors, tanh_top.eigenvalues,
                                      ["v_1", "v_2"], steps_h)
checks = pd.concat([relu_check.assign(activation="ReLU"), tanh_check.assign(activation="tanh")])

# %% tags=["remove-input"]
for name, frame in (("relu", relu_check), ("tanh", tanh_check)):
    v1 = frame[frame["direction"] == "v_1"]
    glue(f"sd_{name}_best", float(v1["relative_error"].min()), display=False)
    glue(f"sd_{name}_last", float(v1["relative_error"].iloc[-1]), display=False)
    glue(f"sd_{name}_order", observed_order(frame), display=False)
glue("sd_h_first", float(steps_h[0]), display=False)
glue("sd_h_last", float(steps_h[-1]), display=False)
relu_converges = observed_order(relu_check) >= 1.5
tanh_converges = observed_order(tanh_check) >= 1.5
glue("sd_relu_verdict", studies.smooth_convergence_phrase(observed_order(relu_check)),
     display=False)
glue("sd_relu_explanation",
     "At these step lengths the kinks did not disturb the second difference." if relu_converges
     else "Fewer boundaries are crossed as the step shrinks, but each weighs more, so the "
          "second difference scatters around the eigenvalue instead of converging to it, and "
          "the eigen-plane of a ReLU network is quantitative only to that extent.",
     display=False)
glue("sd_tanh_verdict", studies.smooth_convergence_phrase(observed_order(tanh_check)),
     display=False)
glue("sd_tanh_consequence", "along raw unit eigenvectors the plane's curvature is the "
     "Hessian's" if tanh_converges else "even for a smooth loss, the plane's curvature departs "
     "from the Hessian's at these step lengths", display=False)

# %% tags=["hide-input"]
fig, ax = plt.subplots(figsize=(6, 3.4))
for (activation, direction), frame in checks.groupby(["activation", "direction"]):
    ax.loglog(frame["h"], frame["relative_error"], "o-" if direction == "v_1" else "s--",
              color=plotting.color("SGD" if activation == "ReLU" else "Adam"),
              label=f"{activation}, ${direction}$")
ax.loglog(steps_h, [(h / steps_h[0]) ** 2 * 0.1 for h in steps_h], ":", color="0.5",
          label="slope 2")
ax.set(xlabel="$h$", ylabel="relative error of the second difference")
ax.legend(fontsize=8)
glue("fig_second_difference", fig, display=False)
plt.close(fig)

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
for row in checks.itertuples():
    print(f"{row.activation:4s} {row.direction} h={row.h:.5f} second difference "
          f"{row.second_difference:.3f} eigenvalue {row.eigenvalue:.3f}")

# %% [markdown]
# ```{glue:figure} fig_second_difference
# :name: fig-landscape-second-difference
#
# Relative error of the central second difference along the raw unit eigenvectors $v_1, v_2$
# against the Lanczos eigenvalue, for the ReLU MLP and the same MLP with tanh units (trained
# the same way), as $h$ shrinks.
# ```
#
# For the tanh network the second difference {glue:text}`sd_tanh_verdict` (observed order
# {glue:text}`sd_tanh_order:.2f` between $h =$ {glue:text}`sd_h_first:.4f` and
# {glue:text}`sd_h_last:.5f`, relative error {glue:text}`sd_tanh_last:.1e` at the smallest
# $h$): {glue:text}`sd_tanh_consequence`. For the ReLU
# network it {glue:text}`sd_relu_verdict` (observed order {glue:text}`sd_relu_order:.2f`, best
# relative error {glue:text}`sd_relu_best:.1e`, {glue:text}`sd_relu_last:.1e` at the smallest
# $h$). A ReLU network's loss is only piecewise smooth: the Hessian, computed by automatic
# differentiation, is the curvature between activation boundaries, while a segment of length
# $2h$ may cross boundaries, each adding a jump of the slope divided by $h$ to the second
# difference. {glue:text}`sd_relu_explanation`
#
# ## Trajectories on their principal planes
#
# SGD with momentum (step size 0.05), Adam ($10^{-2}$) and the stochastic Armijo line search
# SLS {cite}`vaswani2019painless` (`deepoptim.optim.SLS`, its published defaults) train the
# same initialisation on the same batches for {glue:text}`steps` steps; a
# `landscape.CheckpointRecorder` passed as `train`'s callback keeps the parameters every
# {glue:text}`every` steps. Each path gets its own PCA plane through its final point, and the
# surface on that plane.

# %%
trajectory_rows, panels = [], {}
for name, (run_model, history, recorder) in runs.items():
    points = recorder.points
    pca = landscape.pca_directions(points, 2)
    projection = landscape.project(points, pca.vectors, pca.center)
    x_axis, y_axis = landscape.path_grid(projection.coords, path_size, margin=0.3)
    surface = landscape.loss_surface(run_model, loss_fn, x_eval, y_eval, pca.vectors, x_axis,
                                     y_axis, center=pca.center)
    panels[name] = (surface, projection)
    offsets = (points - points[-1]).double().norm(dim=1) ** 2
    trajectory_rows.append({
        "optimizer": name,
        "early share": float(offsets[: len(offsets) // 4].sum() / offsets.sum()),
        "test accuracy": history.final()["test_acc"],
        "PC1 + PC2 variance": float(pca.explained_variance_ratio.sum()),
        "share of the path in the plane E": projection.explained,
        "distance travelled": float((points[-1] - points[0]).norm()),
    })
trajectories = pd.DataFrame(trajectory_rows).set_index("optimizer")

# %% tags=["hide-input"]
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
for ax, (name, (surface, projection)) in zip(axes, panels.items(), strict=True):
    plotting.plot_surface(ax, surface, levels=15)
    plotting.plot_path(ax, projection.coords, color=plotting.color(name), label=name)
    ax.set_title(f"{name}: E = {projection.explained:.2f}", fontsize=10)
    ax.set(xlabel="PC 1", ylabel="PC 2")
fig.tight_layout()
glue("fig_trajectories", fig, display=False)
plt.close(fig)

# %% tags=["remove-input"]
glue("every", every, display=False)
for name, row in trajectories.iterrows():
    glue(f"explained_{name}", float(row["share of the path in the plane E"]), display=False)
    glue(f"pca_{name}", float(row["PC1 + PC2 variance"]), display=False)
    glue(f"acc_{name}", float(row["test accuracy"]), display=False)
    glue(f"early_{name}", float(row["early share"]), display=False)
glue("early_phrase", studies.early_share_phrase(dict(trajectories["early share"])),
     display=False)
studies.show(trajectories.reset_index()[
    ["optimizer", "test accuracy", "PC1 + PC2 variance", "share of the path in the plane E",
     "early share", "distance travelled"]].rename(
         columns={"early share": "share of the first quarter"}),
    {"test accuracy": ".1%", "PC1 + PC2 variance": ".1%",
     "share of the path in the plane E": ".1%", "share of the first quarter": ".0%",
     "distance travelled": ".2f"})

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
for name, row in trajectories.iterrows():
    print(f"{name:5s} test acc {row['test accuracy']:.4f}  PCA {row['PC1 + PC2 variance']:.4f}"
          f"  E {row['share of the path in the plane E']:.4f}"
          f"  travelled {row['distance travelled']:.3f}")

# %% [markdown]
# ```{glue:figure} fig_trajectories
# :name: fig-landscape-trajectories
#
# Each optimizer's path (open circle: initialisation; dot: final point, the star) projected by
# least squares onto the plane of its first two principal directions, over the loss
# ($\log_{10}$) on that plane. $E$ is the share of the path's squared distance from the end
# point that lies in the plane.
# ```
#
# The first two principal directions hold {glue:text}`pca_SGD:.0%` of the spread of SGD's
# checkpoints, {glue:text}`pca_Adam:.0%` of Adam's and {glue:text}`pca_SLS:.0%` of SLS's, and
# the planes through the end points hold $E =$ {glue:text}`explained_SGD:.0%`,
# {glue:text}`explained_Adam:.0%` and {glue:text}`explained_SLS:.0%` of the paths. Both
# measures weigh checkpoints by their squared distance from the end point,
# {glue:text}`early_phrase`: the first quarter of the checkpoints carries
# {glue:text}`early_SGD:.0%` (SGD), {glue:text}`early_Adam:.0%` (Adam) and
# {glue:text}`early_SLS:.0%` (SLS) of that squared distance, and a plane can explain a path
# well while saying little about its last, short steps. Test accuracies: SGD
# {glue:text}`acc_SGD:.3f`, Adam {glue:text}`acc_Adam:.3f`, SLS {glue:text}`acc_SLS:.3f` (one
# seed).
#
# ## Between two minima
#
# Pairs of Adam runs from different seeds (different initialisations and batch orders) end at
# minima $\theta_A$ and $\theta_B$; the first pair starts from the minimum of the planes
# above. On the line $\theta(\alpha) = (1-\alpha)\theta_A + \alpha\theta_B$,
# $\alpha \in [-0.25, 1.25]$, we evaluate loss and accuracy on the training subset and the
# test set, and the Hessian's spectral density (SLQ with {glue:text}`slq_probes` probes of
# {glue:text}`slq_steps` Lanczos steps, the same probes at every point) at
# $\alpha \in \{0, 0.25, 0.5, 0.75, 1\}$. The barrier is the largest excess of the loss over
# the straight line between its end values, $\max_{0 \le \alpha \le 1} L(\theta(\alpha)) -
# [(1-\alpha) L(\theta_A) + \alpha L(\theta_B)]$ {cite}`frankle2020linear`, computed by
# `landscape.loss_barrier` over the grid points of the segment.

# %%
per_unit = exp.profile.pick(smoke=4, quick=20, full=40)  # points per unit of alpha
alphas = torch.arange(-per_unit // 4, 5 * per_unit // 4 + 1, dtype=torch.float64) / per_unit
at = {float(a): i for i, a in enumerate(alphas)}  # 0, 0.5 and 1 are exact grid points
spectrum_alphas = [0.0, 0.25, 0.5, 0.75, 1.0]
minima = {exp.seed: model}


def adam_minimum(run_seed):
    if run_seed not in minima:
        minima[run_seed] = train_run("Adam", run_seed)[0]
    return minima[run_seed]


pair_records, examples = [], []
for pair in range(exp.profile.n_seeds):
    seed_a, seed_b = exp.seed + 2 * pair, exp.seed + 2 * pair + 1
    model_a = adam_minimum(seed_a)
    theta_pair_a = landscape.flat_parameters(model_a)
    theta_pair_b = landscape.flat_parameters(adam_minimum(seed_b))
    on_train = landscape.interpolate(model_a, loss_fn, x_eval, y_eval, theta_pair_a,
                                     theta_pair_b, alphas)
    on_test = landscape.interpolate(model_a, loss_fn, mnist.x_test, mnist.y_test, theta_pair_a,
                                    theta_pair_b, alphas)
    spectra = landscape.spectra_along(model_a, loss_fn, x_hess, y_hess, theta_pair_a,
                                      theta_pair_b, spectrum_alphas, num_probes=slq_probes,
                                      num_steps=slq_steps, seed=exp.seed)
    examples.append((on_train, on_test, spectra))
    barrier = landscape.loss_barrier(on_train)
    tops = [float(s.nodes.max()) for s in spectra]
    bottoms = [float(s.nodes.min()) for s in spectra]
    pair_records.append({
        "seeds": f"{seed_a}-{seed_b}", "end_loss": max(barrier.loss_a, barrier.loss_b),
        "loss_a": barrier.loss_a, "loss_b": barrier.loss_b, "barrier": barrier.height,
        "barrier_alpha": barrier.alpha,
        "end_test_acc": float(min(on_test.accuracy[at[0.0]], on_test.accuracy[at[1.0]])),
        "mid_test_acc": float(on_test.accuracy[at[0.5]]),
        "top_a": tops[0], "top_mid": tops[2], "top_b": tops[4],
        "bottom_a": bottoms[0], "bottom_mid": bottoms[2], "bottom_b": bottoms[4],
    })
pairs = pd.DataFrame(pair_records)
pairs["has_barrier"] = (pairs["barrier"] > 0.1 * pairs["end_loss"]) & pairs[
    "barrier_alpha"].between(0.25, 0.75)
pairs["more_negative"] = pairs["bottom_mid"] < pairs[["bottom_a", "bottom_b"]].min(axis=1)
pairs["sharper"] = pairs["top_mid"] > pairs[["top_a", "top_b"]].max(axis=1)

# %% tags=["hide-input"]
on_train, on_test, spectra = examples[0]
sigma = plotting.default_sigma(spectra)
grid = curvature.density_grid(spectra, sigma, num_points=400)
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 3.8))
for surface, style, label in ((on_train, "-", "train subset"), (on_test, "--", "test")):
    left.plot(alphas, surface.loss, style, color=plotting.color("Adam"), label=f"loss, {label}")
twin = left.twinx()
for surface, style, label in ((on_train, "-", "train subset"), (on_test, "--", "test")):
    twin.plot(alphas, surface.accuracy, style, color="0.4", label=f"accuracy, {label}")
twin.set_ylabel("accuracy")
twin.grid(False)
left.set(xlabel="$\\alpha$", ylabel="loss", title="$(1-\\alpha)\\theta_A + \\alpha\\theta_B$")
left.legend(loc="upper left", fontsize=8)
twin.legend(loc="upper right", fontsize=8)
colors = plt.cm.viridis(np.linspace(0, 0.9, len(spectra)))
for alpha, density, color in zip(spectrum_alphas, spectra, colors, strict=True):
    plotting.plot_density(right, density, grid, sigma, color=color,
                           label=f"$\\alpha$ = {alpha}")
right.axvline(0.0, color="0.5", linewidth=0.6)
right.set(xlabel="eigenvalue", ylabel="density", title="Hessian spectral density (SLQ)")
right.legend(fontsize=8)
fig.tight_layout()
glue("fig_interpolation", fig, display=False)
plt.close(fig)

# %% tags=["remove-input"]
first = pairs.iloc[0]
for key in ("barrier", "barrier_alpha", "end_loss", "end_test_acc", "mid_test_acc", "top_mid",
            "bottom_mid"):
    glue(f"pair_{key}", float(first[key]), display=False)
glue("pair_end_top", float(max(first["top_a"], first["top_b"])), display=False)
glue("pair_end_bottom", float(min(first["bottom_a"], first["bottom_b"])), display=False)
glue("pair_seeds", str(first["seeds"]), display=False)
glue("n_pairs", len(pairs), display=False)
glue("barrier_mean", float(pairs["barrier"].mean()), display=False)
glue("barrier_text", studies.mean_spread(
    float(pairs["barrier"].mean()), float(pairs["barrier"].std(ddof=1)), len(pairs), ".3f")
    + (" (mean ± standard deviation)" if len(pairs) > 1 else ""), display=False)
for key, column in (("barrier", "has_barrier"), ("negative", "more_negative"),
                    ("sharper", "sharper")):
    glue(f"verdict_{key}", studies.every_phrase("holds", int(pairs[column].sum()), len(pairs),
                                                "pair"), display=False)
ends_frame = pd.concat([  # every minimum once: its training-subset loss and top Ritz value
    pairs[["seeds", "loss_a", "top_a"]].set_axis(["seeds", "loss", "top"], axis=1),
    pairs[["seeds", "loss_b", "top_b"]].set_axis(["seeds", "loss", "top"], axis=1)],
    ignore_index=True)
flattest, sharpest = ends_frame.loc[ends_frame["top"].idxmin()], ends_frame.loc[
    ends_frame["top"].idxmax()]
for name, row in (("flat", flattest), ("sharp", sharpest)):
    glue(f"{name}_top", float(row["top"]), display=False)
    glue(f"{name}_loss", float(row["loss"]), display=False)
rank = ends_frame[["loss", "top"]].corr(method="spearman").iloc[0, 1]
glue("loss_top_rank", float(rank), display=False)
glue("flat_verdict", studies.flatness_phrase(float(rank), len(ends_frame)), display=False)
glue("slq_probes", slq_probes, display=False)
glue("slq_steps", slq_steps, display=False)
PAIR_COLUMNS = {
    "seeds": "seeds", "barrier": "barrier", "barrier_alpha": "barrier at α",
    "end_loss": "larger end loss", "end_test_acc": "test accuracy, ends",
    "mid_test_acc": "test accuracy, α = 0.5", "top_a": "top Ritz, A",
    "top_mid": "top Ritz, α = 0.5", "top_b": "top Ritz, B", "bottom_a": "bottom Ritz, A",
    "bottom_mid": "bottom Ritz, α = 0.5", "bottom_b": "bottom Ritz, B"}
studies.show(pairs[list(PAIR_COLUMNS)].rename(columns=PAIR_COLUMNS),
             {"barrier": ".3f", "barrier at α": ".2f", "larger end loss": ".3f",
              "test accuracy, ends": ".1%", "test accuracy, α = 0.5": ".1%"})

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
for row in pairs.itertuples():
    print(f"seeds {row.seeds}: barrier {row.barrier:.4f} at alpha {row.barrier_alpha:.2f}, "
          f"end loss {row.end_loss:.4f}; top {row.top_a:.3f} / {row.top_mid:.3f} / "
          f"{row.top_b:.3f}; bottom {row.bottom_a:.3f} / {row.bottom_mid:.3f} / "
          f"{row.bottom_b:.3f}")

# %% [markdown]
# ```{glue:figure} fig_interpolation
# :name: fig-landscape-interpolation
#
# Left: loss and accuracy on the straight line between the minima of the first pair (seeds
# {glue:text}`pair_seeds`, $\theta_A$ at $\alpha = 0$, $\theta_B$ at $\alpha = 1$), on the
# training subset (solid) and the test set (dashed). Right: the Hessian's smoothed spectral
# density at five points of the segment (logarithmic axis; the bulk near zero is orders of
# magnitude above the outliers).
# ```
#
# For the first pair the loss on the segment exceeds the straight line between its end
# values by up to {glue:text}`pair_barrier:.3f` at $\alpha =$
# {glue:text}`pair_barrier_alpha:.2f` (end losses at most {glue:text}`pair_end_loss:.3f`);
# the test accuracy goes from at least {glue:text}`pair_end_test_acc:.3f` at the ends to
# {glue:text}`pair_mid_test_acc:.3f` at the midpoint. There the largest Ritz value is
# {glue:text}`pair_top_mid:.3f` and the smallest {glue:text}`pair_bottom_mid:.3f`, against
# at most {glue:text}`pair_end_top:.3f` and at least {glue:text}`pair_end_bottom:.3f` at the
# two minima. Over {glue:text}`n_pairs_text` the barrier is {glue:text}`barrier_text`.
#
# The minima themselves differ as much as the paths between them: the largest Ritz value at
# the end points ranges from {glue:text}`flat_top:.3f` (training-subset loss
# {glue:text}`flat_loss:.4f`) to {glue:text}`sharp_top:.3f` (loss
# {glue:text}`sharp_loss:.4f`), and the rank correlation between an end point's loss and its
# top Ritz value is {glue:text}`loss_top_rank:.2f`: {glue:text}`flat_verdict`.
#
# What is expected for independently trained networks whose units are not aligned
# {cite}`goodfellow2015qualitatively,frankle2020linear,entezari2022role`, and what the thesis
# examines with spectra between minima, set against our runs:
#
# * a loss barrier near the middle of the segment (our criterion: an excess over the straight
#   line of more than 10% of the end losses, at $0.25 \le \alpha \le 0.75$):
#   {glue:text}`verdict_barrier`;
# * more negative curvature between the minima than at them (smallest Ritz value at
#   $\alpha = 0.5$ below both ends): {glue:text}`verdict_negative`;
# * a sharper top of the spectrum in between (largest Ritz value at $\alpha = 0.5$ above both
#   ends): {glue:text}`verdict_sharper`.
#
# The usual explanation is the networks' symmetry: hidden units can be permuted without
# changing the function, two independent runs end in differently permuted solutions, and
# averaging them mixes unrelated units {cite}`entezari2022role`. Curved paths of low loss
# between such minima have been found {cite}`garipov2018loss,draxler2018essentially`; this
# chapter only measures the straight one.
#
# ## Training as an animation
#
# GradVis's videos show, frame by frame, where the optimizer is on the landscape and what the
# Hessian looks like there. Here: SGD's path on its principal plane (the surface of the
# figure above) next to the spectral density at each shown checkpoint, on one fixed axis.

# %% tags=["hide-input"]
frames = exp.profile.pick(smoke=3, quick=11, full=21)
sgd_model, _, sgd_recorder = runs["SGD"]
shown = np.unique(np.linspace(0, len(sgd_recorder) - 1, frames).round().astype(int))
sgd_surface, sgd_projection = panels["SGD"]
frame_spectra = landscape.spectra_at(sgd_model, loss_fn, x_hess, y_hess,
                                     sgd_recorder.points[shown], num_probes=slq_probes,
                                     num_steps=slq_steps, seed=exp.seed)
movie = plotting.training_animation(
    sgd_surface, sgd_projection.coords[shown], frame_spectra,
    titles=[f"SGD, step {sgd_recorder.steps[i]}" for i in shown],
    axis_labels=("PC 1", "PC 2"), color=plotting.color("SGD"), figsize=(8.0, 3.0), dpi=72)
HTML(movie.to_html())

# %% tags=["remove-input"]
top_over_training = [float(s.nodes.max()) for s in frame_spectra]
glue("frames", len(shown), display=False)
glue("top_first", top_over_training[0], display=False)
glue("top_peak", max(top_over_training), display=False)
glue("top_last", top_over_training[-1], display=False)

# %% [markdown]
# Over the {glue:text}`frames` frames the largest Ritz value goes from
# {glue:text}`top_first:.2f` at initialisation to a peak of {glue:text}`top_peak:.2f` and ends
# at {glue:text}`top_last:.2f`. The animation is
# HTML and JavaScript with its frames embedded (`FuncAnimation.to_jshtml`), so it plays in this
# page without any external tool.
#
# ## What the thesis claims and what we measured
#
# The claims of GradVis {cite}`chatzimichailidis2019gradvis` and the thesis
# {cite}`chatzimichailidis2023thesis`, with those of the works they build on
# {cite}`li2018visualizing,goodfellow2015qualitatively,frankle2020linear`, beside this
# chapter's measurements on one MLP:

# %% tags=["remove-input"]
PLANE_SHARE = 0.8  # a plane that holds at least this share of a path describes it well
described = sum(float(e) >= PLANE_SHARE for e in trajectories["share of the path in the plane E"])
n_pairs = len(pairs)
hits = {column: int(pairs[column].sum()) for column in ("has_barrier", "more_negative", "sharper")}
claims = claims_table([
    {"claim": "eigenvector planes show second-order structure that random planes hide",
     "source": "Chatzimichailidis et al. 2019 (GradVis)",
     "ours": f"the loss changes {anisotropy_ends:.1f} times as much along v₁ as along vₙ, "
             f"{anisotropy_random:.2f} times as much along one random direction as the other "
             "(hides: a ratio at least twice the random one)",
     "verdict": studies.anisotropy_verdict(anisotropy_ends, anisotropy_random)},
    {"claim": "along a raw unit eigenvector of a smooth network the plane's curvature is the "
              "eigenvalue",
     "source": "the second-order model (derived above)",
     "ours": f"tanh network: observed order {observed_order(tanh_check):.2f}, relative error "
             f"{float(tanh_check[tanh_check['direction'] == 'v_1']['relative_error'].iloc[-1]):.1e}"
             " at the smallest h (smooth: order at least 1.5)",
     "verdict": studies.holds_verdict(tanh_converges)},
    {"claim": "optimizer trajectories are well described by the plane of their two principal "
              "directions",
     "source": "Li et al. 2018; Chatzimichailidis et al. 2019 (GradVis)",
     "ours": ", ".join(f"{name} E = {float(e):.0%}" for name, e in
                       trajectories["share of the path in the plane E"].items())
             + f" (well described: E ≥ {PLANE_SHARE:.0%})",
     "verdict": studies.share_verdict(described, len(trajectories))},
    {"claim": "between independently trained minima the loss rises to a barrier",
     "source": "Goodfellow et al. 2015; Frankle et al. 2020",
     "ours": "barrier near the middle for "
             f"{studies.count_phrase(hits['has_barrier'], n_pairs, 'pair')} (more than 10% of "
             "the end losses, at 0.25 ≤ α ≤ 0.75)",
     "verdict": studies.share_verdict(hits["has_barrier"], n_pairs)},
    {"claim": "between the minima the curvature is more negative than at them",
     "source": "Chatzimichailidis 2023, thesis: spectra between minima",
     "ours": f"smallest Ritz value at α = 0.5 below both ends for "
             f"{studies.count_phrase(hits['more_negative'], n_pairs, 'pair')}",
     "verdict": studies.share_verdict(hits["more_negative"], n_pairs)},
    {"claim": "between the minima the top of the spectrum is sharper than at them",
     "source": "Chatzimichailidis 2023, thesis: spectra between minima",
     "ours": f"largest Ritz value at α = 0.5 above both ends for "
             f"{studies.count_phrase(hits['sharper'], n_pairs, 'pair')}",
     "verdict": studies.share_verdict(hits["sharper"], n_pairs)},
])
glue_claims(claims, seeds=sorted(minima))
studies.show(claims.rename(columns={"ours": "measured here"}).drop(columns="published"))

# %% [markdown]
# The second difference along a raw unit eigenvector reproduces the eigenvalue for the
# smooth (tanh) network to {glue:text}`sd_tanh_last:.1e` relative error, and for the ReLU
# network to {glue:text}`sd_relu_best:.1e` at best. Normalising eigenvectors filter- or
# layer-wise (as GradVis does before plotting) makes the axes comparable to random planes but
# removes this quantitative meaning; the library keeps both and its tests pin down the
# difference. The share $E$ of a path in its plane is a least-squares measure that the usual
# cosine projection does not report.
#
# ## Limitations
#
# * One network, one seed per optimizer for the planes and trajectories,
#   {glue:text}`n_pairs_text` of seeds between minima, and a {glue:text}`num_eval`-sample
#   subset for the surfaces ({glue:text}`num_hessian` for the Hessians); the `full` profile
#   uses more data, steps, pairs and SLQ probes. Most numbers describe single runs, not a
#   distribution over seeds.
# * SLQ with few probes resolves the outliers but only roughly the bulk near zero and its
#   negative part; the extreme Ritz values are estimates of $\lambda_{\max}$ and
#   $\lambda_{\min}$, better for the top than for the bottom.
# * A two-dimensional slice of a $10^4$-dimensional function can mislead however it is chosen:
#   the curvature of an eigen-plane is the eigenvalue only near the centre, and the principal
#   planes show the part of the path with the largest spread.
# * Surfaces are evaluated in eval mode with a fixed data subset; for networks with batch
#   normalisation, `train=True` gives the landscape the optimizer actually sees (batch
#   statistics), a different function.
