"""An independent float64 re-implementation of the line-search family, for test C5.

One plain loop per concern, written from the method's math, sharing no code with
``deepoptim.optim``: the direction (gradient, momentum, Adam or sign), the starting step (reset
rule or growth), the slope (exact or forward difference), the smoothed Armijo/Goldstein
backtracking with the family's decisions (non-finite trials rejected, a decrease within four
machine epsilons of the loss accepted as a stall, failure restores the start; only a measured
decrease, or an untested step, sets the step size kept for the next reset), SaLSa's cadence and
the final move.

``ReferenceLineSearch(params, method=..., **hyperparameters)`` with ``method`` one of ``"sls"``,
``"adamsls"``, ``"kensls"``, ``"salsa"`` or ``"linesearch"`` (the generic driver, whose
``direction`` object is read for its kind and hyperparameters only); PLASLS with one part is
``"adamsls"``. Each record binds the method and its defaults with ``functools.partial``.
"""

from __future__ import annotations

import math

import torch

from .optim_info import LossFn, gradients


class ReferenceLineSearch:
    """One parameter group, float64, every hyperparameter of the family (unused ones ignored)."""

    def __init__(self, params, *, method, lr=1.0, init_step_size=1.0, c=0.1, betas=(0.9, 0.999),
                 eps=1e-8, beta_b=0.9, gamma=2.0, n_batches_per_epoch=500, reset="grow",
                 condition="armijo", beta_f=2.0, beta_s=0.0, max_step_size=math.inf,
                 max_trials=100, variant="published", growth=1.0, slope="exact", fd_eps=None,
                 use_mv=False, cadence=True, warmup_steps=0, direction=None, apply="trial"):
        self.params = [p.detach().clone() for p in params]
        self.state = [{} for _ in self.params]
        self.method, self.lr, self.c, self.betas, self.eps = method, lr, c, betas, eps
        self.beta_b, self.beta_f, self.beta_s = beta_b, beta_f, beta_s
        self.condition, self.max_step, self.max_trials = condition, max_step_size, max_trials
        self.gamma, self.n_b, self.reset = gamma, n_batches_per_epoch, reset
        self.init = init_step_size
        self.variant, self.growth, self.slope_kind, self.fd_eps = variant, growth, slope, fd_eps
        self.use_mv, self.cadence = use_mv, cadence
        self.direction, self.apply = direction, apply
        if method == "linesearch" and direction is not None and direction.name == "adam":
            self.betas, self.eps = direction.betas, direction.eps
        self.eta, self.h, self.s, self.k = init_step_size, 0.0, 0.0, 0
        self.fast = self.slow = 1e-8
        self.since = 100

    # --- directions -------------------------------------------------------------------------
    def _adam(self, grads):
        """Adam's moments updated; returns (D^-1 g, D^-1 m_hat) per tensor."""
        beta1, beta2 = self.betas
        gradient, update = [], []
        for g, st in zip(grads, self.state, strict=True):
            t = st.get("step", 0) + 1
            m = beta1 * st.get("exp_avg", torch.zeros_like(g)) + (1 - beta1) * g
            v = beta2 * st.get("exp_avg_sq", torch.zeros_like(g)) + (1 - beta2) * g * g
            st.update(step=t, exp_avg=m, exp_avg_sq=v)
            denominator = (v / (1 - beta2**t)).sqrt() + self.eps
            gradient.append(g / denominator)
            update.append(m / (1 - beta1**t) / denominator)
        return gradient, update

    def _momentum(self, grads):
        """torch.optim.SGD's buffer: b = g first, then mu b + (1 - dampening) g."""
        mu, dampening = self.direction.momentum, self.direction.dampening
        update = []
        for g, st in zip(grads, self.state, strict=True):
            b = g.clone() if "momentum_buffer" not in st else (
                mu * st["momentum_buffer"] + (1 - dampening) * g)
            st["momentum_buffer"] = b
            update.append(g + mu * b if self.direction.nesterov else b)
        return update

    def _generic(self, grads):
        """(search, update) of the generic driver's direction, before the lr."""
        kind = "gradient" if self.direction is None else self.direction.name
        if kind == "gradient":
            return grads, grads
        if kind == "sign":
            signs = [g.sign() for g in grads]
            return signs, signs
        if kind == "momentum":
            update = self._momentum(grads)
            return update, update
        gradient, update = self._adam(grads)
        return (gradient if self.direction.search_along == "gradient" else update), update

    # --- the step ---------------------------------------------------------------------------
    def step(self, loss_fn: LossFn) -> None:
        grads = gradients(loss_fn, self.params)
        self.k += 1
        origin = [p.clone() for p in self.params]
        if self.method == "sls":
            search = update = [self.lr * g for g in grads]
        elif self.method == "linesearch":
            search, update = self._generic(grads)
            search, update = [self.lr * d for d in search], [self.lr * u for u in update]
        else:
            gradient, update = self._adam(grads)
            update = [self.lr * u for u in update]
            along_gradient = (self.method == "adamsls" and self.variant == "published") or (
                self.method == "salsa" and not self.use_mv)
            search = [self.lr * r for r in gradient] if along_gradient else update
        start = self._start()
        if self.method == "salsa" and not self._salsa_searches():
            self._place(origin, update, start)
            return
        loss = float(loss_fn(origin))
        slope = sum(float((g * d).sum()) for g, d in zip(grads, search, strict=True))
        if (self.method in ("kensls", "linesearch") and self.slope_kind == "finite_difference"
                and slope != 0 and self.max_trials > 0):
            slope = self._forward_difference(loss_fn, origin, search, loss)
        eta, moved, measured = self._backtrack(loss_fn, origin, search, loss, slope, start)
        if measured:
            self.eta = eta
        if self.method == "salsa":
            self.fast = 0.9 * self.fast + 0.1 * self.eta
            self.slow = 0.99 * self.slow + 0.01 * self.eta
        applies_update = ((self.method == "adamsls" and self.variant == "published")
                          or (self.method == "linesearch" and self.apply == "update"))
        if not moved:
            self._place(origin, search, 0.0)
        elif applies_update:
            self._place(origin, update, eta)
        else:
            self._place(origin, search, eta)

    def _start(self):
        if self.method in ("kensls", "salsa"):
            return min(self.growth * self.eta, self.max_step)
        growth = self.growth if self.method == "linesearch" else self.gamma ** (1 / self.n_b)
        rule = {"keep": self.eta, "grow": self.eta * growth, "initial": self.init}[self.reset]
        return min(rule, self.max_step)

    def _salsa_searches(self):
        self.since += 1
        ratio = max(self.fast / self.slow, self.slow / self.fast)
        period = min(10, 1 / (ratio - 1 + 1e-8))
        searches = not self.cadence or self.k <= 10 or self.since >= period
        if searches:
            self.since = 0
        return searches

    def _place(self, origin, direction, eta):
        self.params = [w - eta * d for w, d in zip(origin, direction, strict=True)]

    def _forward_difference(self, loss_fn, origin, direction, loss):
        norm_w = math.sqrt(sum(float((w * w).sum()) for w in origin))
        norm_d = math.sqrt(sum(float((d * d).sum()) for d in direction))
        epsilon = self.fd_eps or math.sqrt(torch.finfo(torch.float64).eps) * (1 + norm_w) / norm_d
        probe = float(loss_fn([w - epsilon * d for w, d in zip(origin, direction, strict=True)]))
        return (loss - probe) / epsilon

    def _backtrack(self, loss_fn, origin, direction, loss, slope, start):
        """(step size, whether the parameters move, whether the step size is kept for the next
        reset) by the family's backtracking."""
        if self.max_trials == 0:
            return start, True, True
        s = self.beta_s * self.s + (1 - self.beta_s) * slope
        if not math.isfinite(s):
            return start, False, False
        self.s = s
        if s <= 0:
            return start, False, False
        eta, best, best_decrease = start, 0.0, 0.0
        for _ in range(self.max_trials):
            trial = float(loss_fn([w - eta * d for w, d in zip(origin, direction, strict=True)]))
            decrease = loss - trial
            if 0 <= decrease <= 4 * torch.finfo(torch.float64).eps * abs(loss):  # rounding
                return eta, True, False
            smoothed = self.beta_s * self.h + (1 - self.beta_s) * decrease
            armijo = math.isfinite(decrease) and smoothed >= self.c * eta * s
            short = self.condition == "goldstein" and smoothed > (1 - self.c) * eta * s
            if armijo and not short:
                self.h = smoothed
                return eta, True, True
            last = eta
            if armijo:
                if eta > best:
                    best, best_decrease = eta, decrease
                eta = min(eta * self.beta_f, self.max_step)
            else:
                eta = eta * self.beta_b
        if best > 0:
            self.h = self.beta_s * self.h + (1 - self.beta_s) * best_decrease
            return best, True, True
        return last, False, False
