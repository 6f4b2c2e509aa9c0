r"""AdamR: Adam in a rotated basis, the eigenbasis of Kronecker factors of the gradients.

**A reconstruction.** Ying Sun's thesis (PolyU 2024, "Designing effective preconditioned
optimizers for DNN training") names its third method "Adaptive learning rate method with a
Rotation transformation (AdamR)"; only the abstract is public, and no paper or code for it was
found. What follows is one principled reading of that description, derived below: it has
the properties below, which are tested, but it is not known to be the thesis'
algorithm (in particular where the rotation comes from and how often it is refreshed).

Why rotate. Diagonal adaptive methods (AdaGrad, Adam) have regret
:math:`O(D_\infty \sum_i \lVert g_{1:T,i}\rVert_2)`, which depends on the coordinates. Run in
the coordinates :math:`x' = Q^\top x` of an orthogonal :math:`Q`, the sum becomes
:math:`\sum_i \sqrt{q_i^\top S_T q_i}` with :math:`S_T = \sum_t g_t g_t^\top`. The diagonal of
:math:`Q^\top S_T Q` is majorised by the eigenvalues of :math:`S_T` (Schur-Horn) and
:math:`\sum_i \sqrt{\cdot}` is Schur-concave, so the sum is at least
:math:`\operatorname{tr}(S_T^{1/2})`, with equality when :math:`Q` diagonalises :math:`S_T`:
in the gradients' eigenbasis the diagonal method reaches full-matrix AdaGrad's term at a
diagonal method's cost per step. AdamR approximates that basis by a Kronecker product, one
rotation per side of each weight matrix.

The method, for a parameter with a matrix shape :math:`W \in \mathbb R^{m\times n}` (any
tensor of two or more dimensions, seen as ``p.reshape(len(p), -1)``; a convolution's kernel as
output channels by inputs), with gradient :math:`G`, step :math:`t = 1, 2, \ldots`:

.. math::

    L &\leftarrow \beta_s L + (1-\beta_s)\, G G^\top, \quad
    R \leftarrow \beta_s R + (1-\beta_s)\, G^\top G
        && \text{if } (t-1) \bmod T_{\mathrm{stat}} = 0 \quad (L, R \text{ start at } 0)\\
    Q_L, Q_R &\leftarrow \text{eigenvectors of } L, R
        && \text{if } (t-1) \bmod T_{\mathrm{rot}} = 0 \\
    \tilde G &= Q_L^\top G\, Q_R
        && \operatorname{vec}(\tilde G) = (Q_R \otimes Q_L)^\top \operatorname{vec}(G) \\
    M &\leftarrow \beta_1 M + (1-\beta_1)\tilde G, \quad
    V \leftarrow \beta_2 V + (1-\beta_2)\, \tilde G \odot \tilde G \\
    W &\leftarrow (1 - \eta\lambda)\, W - \frac{\eta}{1-\beta_1^t}\,
        Q_L \Big[ M \oslash \big(\sqrt{V / (1-\beta_2^t)} + \epsilon\big) \Big] Q_R^\top

with ``lr`` :math:`=\eta`, ``betas`` :math:`=(\beta_1, \beta_2)`, ``eps`` :math:`=\epsilon`,
``weight_decay`` :math:`=\lambda` (decoupled, as AdamW), ``factor_decay`` :math:`=\beta_s`,
``stat_interval`` :math:`=T_{\mathrm{stat}}`, ``rotation_interval`` :math:`=T_{\mathrm{rot}}`.
The rotation is refreshed at steps :math:`1, 1 + T_{\mathrm{rot}}, 1 + 2T_{\mathrm{rot}},
\ldots` (before the step's moments are updated, so the first step already has a basis: the
first gradient's singular vectors), and the factors are updated at steps
:math:`1, 1 + T_{\mathrm{stat}}, \ldots`. The factors' scale does not matter (only their
eigenvectors are used), so they start at zero without a bias correction. A side longer than
``max_dim`` is not rotated (:math:`Q = I` there, no factor kept), as Shampoo-type methods do
for embeddings. Parameters with fewer than two dimensions (biases, normalisation scales) are
stepped by AdamW exactly.

**Moments across a change of basis.** At a refresh from :math:`(Q_L, Q_R)` to
:math:`(Q_L', Q_R')`, with overlaps :math:`O_L = Q_L'^\top Q_L` and :math:`O_R = Q_R'^\top
Q_R`, the first moment is re-expressed exactly, :math:`M \leftarrow O_L M O_R^\top` (the same
matrix :math:`Q_L M Q_R^\top` in the original coordinates). The second moment is a diagonal
in the old basis; its transport keeps the diagonal of that diagonal matrix in the new basis,
:math:`V \leftarrow (O_L \odot O_L)\, V\, (O_R \odot O_R)^\top`: exact when the basis
change only permutes or flips basis vectors (so ``eigh``'s arbitrary signs do not matter;
up to the rounding of the overlaps),
non-negative, and preserving :math:`\sum V`. (SOAP keeps :math:`V` as it is.)

**Special cases and properties (tested).** With the identity rotation AdamR is
``torch.optim.AdamW``, bit for bit (:meth:`AdamR.set_rotation` fixes a rotation, e.g. the
identity). With a fixed rotation, AdamR on :math:`f(W)` is AdamW on
:math:`\tilde f(U) = f(Q_L U Q_R^\top)` mapped back, :math:`W_t = Q_L U_t Q_R^\top`; and with
the refreshed rotation it is equivariant: on the rotated problem
:math:`f(P_L^\top W P_R)` started at :math:`P_L W_0 P_R^\top` its iterates are
:math:`P_L W_t P_R^\top` (for factors with distinct eigenvalues). On a rotated,
ill-conditioned quadratic it beats AdamW, as the regret argument says.

**Compared with SOAP** (Vyas et al. 2024, "SOAP: Improving and stabilizing Shampoo using
Adam"; in ``pytorch-optimizer``), the published method AdamR resembles most: SOAP also runs
Adam in the eigenbasis of Shampoo's factors :math:`L = \sum GG^\top`,
:math:`R = \sum G^\top G`, refreshing the basis every 10 steps and re-expressing the first
moment. Differences: SOAP's defaults are ``betas=(0.95, 0.95)`` and ``lr=3e-3`` (AdamR keeps
AdamW's, so that the identity rotation is AdamW); SOAP refreshes the basis by one power
iteration and a QR decomposition warm-started from the previous basis, AdamR by a full
``eigh`` (:class:`deepoptim.curvature.SymmetricEigen`); SOAP leaves the second moment in
place at a refresh, AdamR transports it as above; SOAP's first step only builds the factors,
AdamR's first step already moves. The thesis' AdamR, descending from the group's AdaBK
(Yong, Sun, Zhang, CVPR 2023), may instead take its rotation from KFAC factors (inputs and
output gradients, as NKFAC collects them) or rotate the second moment only; these readings
are open.

**A known sensitivity (measured).** A factor of rank below its size (early steps, or a side
longer than the batch's rank) has a null space whose eigenvectors ``eigh`` chooses by
rounding. With ``rotation_interval > 1`` a later gradient can enter that space, where the
diagonal second moment then lives in an arbitrary basis: two runs that differ by rounding
(e.g. a DDP average against the full batch) diverged by 0.16 after 8 steps on a tiny MLP,
while with ``rotation_interval=1`` they agree to 1e-8. Runs are still deterministic.

**Numerical safety.** A step whose gradients are not all finite is skipped (parameters and
state unchanged; counted). An eigendecomposition that fails (``torch.linalg.eigh`` does not
converge, or a factor is not finite or not symmetric: :class:`~deepoptim.curvature.FactorError`)
keeps the previous rotation for that parameter and is counted as a fallback; the step then
proceeds in the old basis.

Diagnostics (``self.state[DIAGNOSTICS]``, after every step): ``step_size``
(:math:`\eta/(1-\beta_1^t)` of the first parameter stepped), ``rotated_params`` (parameters
stepped in a rotated basis this step), the running counts ``rotation_refreshes`` (successful
eigenbasis refreshes, summed over parameters), ``rotation_fallbacks`` and
``nonfinite_skips``, and, with ``timed=True``, ``preconditioner_seconds``: the wall time spent
so far updating factors, refreshing bases (``eigh``, moment transport) and rotating gradients
into them (rotating the update back costs as much again; off by default, as a wall time would
make a resumed run's state differ from a continued one).

Source: Y. Sun, "Designing effective preconditioned optimizers for DNN training", PhD thesis,
Hong Kong Polytechnic University, 2024 (abstract); the regret argument after Duchi, Hazan and
Singer (2011) and Kingma and Ba (2015); the Kronecker eigenbasis as in SOAP (Vyas et al.,
2024) and EKFAC (George et al., 2018).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import torch

from deepoptim._checks import (
    check_in_range,
    check_int_at_least,
    check_non_negative,
    check_positive,
)
from deepoptim.curvature import FactorError, SymmetricEigen
from deepoptim.optim._base import (
    DIAGNOSTICS,
    Closure,
    adamw_moments,
    add_checked_group,
    as_loss,
    check_betas,
    check_lr,
    check_real_params,
    dense_grads,
    loss_and_grad,
)

__all__ = ["AdamR"]

_SIDES = ("left", "right")


def _check_hyperparameters(group: dict[str, Any]) -> None:
    """Validate one parameter group's hyperparameters (or the defaults), naming the bad value."""
    check_lr(group["lr"])
    check_betas(group["betas"])
    check_positive("eps", group["eps"])
    check_non_negative("weight_decay", group["weight_decay"])
    check_in_range("factor_decay", group["factor_decay"], 0.0, 1.0)
    check_int_at_least("stat_interval", group["stat_interval"], 1)
    check_int_at_least("rotation_interval", group["rotation_interval"], 1)
    check_int_at_least("max_dim", group["max_dim"], 1)
    if not isinstance(group["maximize"], bool):
        raise TypeError(f"maximize must be a bool, got {type(group['maximize']).__name__}")


def _matrix_shape(p: torch.Tensor) -> tuple[int, int] | None:
    """``(m, n)`` of a parameter stepped as a matrix, ``None`` for one with < 2 dimensions."""
    return (p.shape[0], p[0].numel()) if p.dim() >= 2 else None


class AdamR(torch.optim.Optimizer):
    """Adam in the eigenbasis of Kronecker factors of the gradients (a reconstruction of Sun's
    AdamR); see the module docstring for the update, its properties and the diagnostics.

    Args:
        params: parameters or parameter groups; every hyperparameter below except ``timed``
            can be set per group.
        lr: the learning rate :math:`\\eta`.
        betas: :math:`(\\beta_1, \\beta_2)`, decay of the rotated moments.
        eps: :math:`\\epsilon`, added to the root of the second moment.
        weight_decay: decoupled weight decay :math:`\\lambda` (AdamW's).
        factor_decay: :math:`\\beta_s`, decay of the factors :math:`L, R`.
        stat_interval: :math:`T_{\\mathrm{stat}}`, update the factors every this many steps.
        rotation_interval: :math:`T_{\\mathrm{rot}}`, refresh the eigenbasis every this many
            steps.
        max_dim: a side of a matrix longer than this is not rotated.
        maximize: maximize the objective.
        timed: record ``preconditioner_seconds`` in the diagnostics.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]] | None,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        *,
        factor_decay: float = 0.95,
        stat_interval: int = 1,
        rotation_interval: int = 10,
        max_dim: int = 2048,
        maximize: bool = False,
        timed: bool = False,
    ) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        factor_decay=factor_decay, stat_interval=stat_interval,
                        rotation_interval=rotation_interval, max_dim=max_dim, maximize=maximize)
        _check_hyperparameters(defaults)
        if not isinstance(timed, bool):
            raise TypeError(f"timed must be a bool, got {type(timed).__name__}")
        super().__init__(params, defaults)
        self.defaults["timed"] = timed  # of the optimizer, not of a group; pickled with it

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group after validating its hyperparameters (defaults filled in); an invalid
        group is not added."""
        add_checked_group(self, param_group, self._check_group)

    def _check_group(self, group: dict[str, Any]) -> None:
        _check_hyperparameters(group)
        check_real_params(group["params"], type(self).__name__)

    # ------------------------------------------------------------------ state

    def _rotated_sides(self, p: torch.Tensor, group: dict[str, Any]) -> tuple[str, ...]:
        """The sides (``"left"``, ``"right"``) of ``p`` that are rotated."""
        shape = _matrix_shape(p)
        if shape is None:
            return ()
        return tuple(side for side, size in zip(_SIDES, shape, strict=True)
                     if size <= group["max_dim"])

    def _init_state(self, p: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = self.state[p]
        if state:
            return state
        sides = self._rotated_sides(p, group)
        shape = _matrix_shape(p) if sides else p.shape
        state["step"] = 0
        state["exp_avg"] = torch.zeros(shape, dtype=p.dtype, device=p.device)
        state["exp_avg_sq"] = torch.zeros(shape, dtype=p.dtype, device=p.device)
        if sides:
            sizes = dict(zip(_SIDES, shape, strict=True))
            for side in sides:
                eye = torch.eye(sizes[side], dtype=p.dtype, device=p.device)
                state[f"factor_{side}"] = torch.zeros_like(eye)
                state[f"rotation_{side}"] = eye
            state["rotation_fixed"] = False
        return state

    # ------------------------------------------------------------------ rotations

    @torch.no_grad()
    def set_rotation(self, p: torch.Tensor, left: torch.Tensor, right: torch.Tensor) -> None:
        """Step ``p`` in the fixed basis ``(left, right)`` from now on (no more refreshes).

        ``p`` is a parameter of this optimizer with a matrix shape ``(m, n)`` (see the module
        docstring) whose two sides are rotated; ``left`` (``m x m``) and ``right`` (``n x n``)
        are orthogonal matrices of its dtype. Its moments are carried into the new basis as
        at a refresh. ``set_rotation(p, eye(m), eye(n))`` makes ``p``'s steps AdamW's.
        """
        group = next((g for g in self.param_groups if any(q is p for q in g["params"])), None)
        if group is None:
            raise ValueError("Invalid p value: not a parameter of this optimizer")
        if self._rotated_sides(p, group) != _SIDES:
            raise ValueError(f"Invalid p value: a parameter of shape {tuple(p.shape)} is not "
                             f"rotated on both sides (max_dim={group['max_dim']})")
        shape = _matrix_shape(p)
        for name, q, size in (("left", left, shape[0]), ("right", right, shape[1])):
            if not isinstance(q, torch.Tensor):
                raise TypeError(f"{name} must be a torch.Tensor, got {type(q).__name__}")
            if q.shape != (size, size) or q.dtype != p.dtype:
                raise ValueError(f"Invalid {name} value: a {tuple(q.shape)} {q.dtype} tensor "
                                 f"(expected ({size}, {size}) {p.dtype})")
            error = float((q.T @ q - torch.eye(size, dtype=q.dtype, device=q.device)).abs().max())
            if not error <= torch.finfo(q.dtype).eps ** 0.5:
                raise ValueError(f"Invalid {name} value: not orthogonal (max |Q^T Q - I| = "
                                 f"{error:.3g})")
        state = self._init_state(p, group)
        _change_basis(state, {"left": left.to(p.device), "right": right.to(p.device)})
        state["rotation_fixed"] = True

    def _refresh(self, state: dict[str, Any], sides: tuple[str, ...]) -> bool:
        """Recompute the eigenbasis of ``state``'s factors and carry the moments into it;
        ``False`` (and nothing changed) if an eigendecomposition failed."""
        try:
            new = {side: SymmetricEigen.of(state[f"factor_{side}"], f"factor_{side}").vectors
                   for side in sides}
        except (FactorError, torch.linalg.LinAlgError):
            return False
        _change_basis(state, new)
        return True

    # ------------------------------------------------------------------ the step

    @torch.no_grad()
    def step(self, closure: Closure | None = None) -> torch.Tensor | None:
        """One AdamR step; ``closure`` (optional) re-evaluates the loss and its gradients."""
        loss = loss_and_grad(closure) if closure is not None else None
        if loss is not None:
            as_loss(loss)  # a closure must return one number
        previous = self.state.get(DIAGNOSTICS, {})
        counts = {key: previous.get(key, 0) for key in
                  ("rotation_refreshes", "rotation_fallbacks", "nonfinite_skips")}
        seconds = previous.get("preconditioner_seconds", 0.0)
        grads = dense_grads(self)
        if grads and not bool(torch.isfinite(torch.stack([g.sum() for g in grads])).all()):
            counts["nonfinite_skips"] += 1
            self.state[DIAGNOSTICS] = {**previous, **counts}
            return loss
        step_size, rotated = None, 0
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                started = time.perf_counter()
                sides = self._rotated_sides(p, group)
                state = self._init_state(p, group)
                state["step"] += 1
                grad = -p.grad if group["maximize"] else p.grad
                if sides:
                    grad, refreshed = self._rotate_gradient(state, group, sides, grad)
                    counts["rotation_refreshes"] += refreshed is True
                    counts["rotation_fallbacks"] += refreshed is False
                    rotated += 1
                seconds += time.perf_counter() - started
                size = self._adam_update(p, state, group, grad, sides)
                step_size = size if step_size is None else step_size
        diagnostics = {"step_size": step_size or 0.0, "rotated_params": rotated, **counts}
        if self.defaults["timed"]:
            diagnostics["preconditioner_seconds"] = seconds
        self.state[DIAGNOSTICS] = diagnostics
        return loss

    def _rotate_gradient(self, state: dict[str, Any], group: dict[str, Any],
                         sides: tuple[str, ...], grad: torch.Tensor
                         ) -> tuple[torch.Tensor, bool | None]:
        """Update the factors and the basis when due; the gradient in the basis, and whether a
        refresh succeeded (``None``: none was due)."""
        matrix = grad.reshape(_matrix_shape(grad))
        t, refreshed = state["step"], None
        if not state["rotation_fixed"]:
            if (t - 1) % group["stat_interval"] == 0:
                weight = 1 - group["factor_decay"]
                for side in sides:
                    moment = matrix @ matrix.T if side == "left" else matrix.T @ matrix
                    state[f"factor_{side}"].lerp_(moment, weight)
            if (t - 1) % group["rotation_interval"] == 0:
                refreshed = self._refresh(state, sides)
        if "rotation_left" in state:
            matrix = state["rotation_left"].T @ matrix
        if "rotation_right" in state:
            matrix = matrix @ state["rotation_right"]
        return matrix, refreshed

    @staticmethod
    def _adam_update(p: torch.Tensor, state: dict[str, Any], group: dict[str, Any],
                     grad: torch.Tensor, sides: tuple[str, ...]) -> float:
        """AdamW's update (torch's arithmetic, operation for operation) on the rotated
        gradient, rotated back; returns the step size :math:`\\eta/(1-\\beta_1^t)`."""
        step_size, denom = adamw_moments(p, state, group, grad)
        exp_avg = state["exp_avg"]
        if not sides:
            p.addcdiv_(exp_avg, denom, value=-step_size)
            return step_size
        update = (exp_avg * -step_size).div_(denom)  # addcdiv's (value * t1) / t2
        if "rotation_left" in state:
            update = state["rotation_left"] @ update
        if "rotation_right" in state:
            update = update @ state["rotation_right"].T
        p.add_(update.reshape(p.shape))
        return step_size


def _change_basis(state: dict[str, Any], new: dict[str, torch.Tensor]) -> None:
    """Replace the rotations of the sides in ``new``, carrying the moments over:
    :math:`M \\leftarrow O_L M O_R^\\top`, :math:`V \\leftarrow (O_L\\odot O_L) V
    (O_R\\odot O_R)^\\top` with :math:`O = Q_{\\mathrm{new}}^\\top Q_{\\mathrm{old}}`."""
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    for side, rotation in new.items():
        overlap = rotation.T @ state[f"rotation_{side}"]
        if side == "left":
            exp_avg, exp_avg_sq = overlap @ exp_avg, overlap.square() @ exp_avg_sq
        else:
            exp_avg, exp_avg_sq = exp_avg @ overlap.T, exp_avg_sq @ overlap.square().T
        state[f"rotation_{side}"] = rotation.clone()
    state["exp_avg"].copy_(exp_avg)
    state["exp_avg_sq"].copy_(exp_avg_sq)
