"""AdaNKFAC in float64: AdamW's step on NKFAC's preconditioned direction (an AdamW fed NKFAC's
directions is the reference), exactly torch.optim.AdamW with nothing preconditioned, resume
bit for bit, and NKFAC's fallbacks."""

from __future__ import annotations

import copy

import pytest
import torch

from deepoptim.optim import DIAGNOSTICS, NKFAC, AdaNKFAC

from .kronecker_problems import (
    batch,
    check_poisoned_factor,
    check_resume_equals_continuing,
    check_trains,
    classifier,
    closure_for,
    train,
    twin,
)

PRECONDITIONER = dict(damping=0.01, stat_decay=0.9, cov_interval=2, inv_interval=3,
                      exact_interval=2)


def nkfac_direction(model, nkfac, x, y) -> list[torch.Tensor]:
    """The direction NKFAC (lr 1, no momentum, no decay) applies to ``model`` on this batch."""
    before = [p.detach().clone() for p in model.parameters()]
    nkfac.step(closure_for(model, nkfac, x, y))
    return [b - p.detach() for b, p in zip(before, model.parameters(), strict=True)]


def test_each_step_is_adamw_on_nkfacs_direction():
    """A twin NKFAC, synchronised to AdaNKFAC's parameters before every step, gives the
    direction; torch.optim.AdamW stepped on it as the gradient gives the reference."""
    model = classifier()
    adankfac = AdaNKFAC(model.parameters(), model=model, lr=0.01, weight_decay=0.1,
                        **PRECONDITIONER)
    shadow, nkfac = twin(model, NKFAC, lr=1.0, momentum=0.0, **PRECONDITIONER)
    reference = copy.deepcopy(model)
    adamw = torch.optim.AdamW(reference.parameters(), lr=0.01, weight_decay=0.1, foreach=False)
    for step in range(12):  # refreshes at t = 0, 3, 6 (exact, the warm-up) and 9 (Newton)
        x, y = batch(30 + step)
        with torch.no_grad():
            for target, source in zip(shadow.parameters(), reference.parameters(), strict=True):
                target.copy_(source)
        directions = nkfac_direction(shadow, nkfac, x, y)
        for p, direction in zip(reference.parameters(), directions, strict=True):
            p.grad = direction
        adamw.step()
        adankfac.step(closure_for(model, adankfac, x, y))
        for mine, theirs in zip(model.parameters(), reference.parameters(), strict=True):
            # the direction is read back as a difference of parameters: rounding of |p| eps,
            # which Adam's division by sqrt(v) enlarges for the smallest entries
            torch.testing.assert_close(mine, theirs, rtol=1e-8, atol=1e-10)
    diagnostics = adankfac.state[DIAGNOSTICS]
    assert diagnostics["inverse_refreshes"] == 4 and diagnostics["newton_inversions"] > 0
    assert diagnostics["fallbacks"] == 0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_with_nothing_preconditioned_it_is_torch_adamw_bit_for_bit(dtype):
    plain, reference = classifier(dtype=dtype), classifier(dtype=dtype)
    adankfac = AdaNKFAC(plain.parameters(), model=None, lr=0.02, betas=(0.8, 0.99))
    adamw = torch.optim.AdamW(reference.parameters(), lr=0.02, betas=(0.8, 0.99),
                              foreach=False)
    train(plain, adankfac, 5)
    train(reference, adamw, 5)
    assert all(torch.equal(a, b) for a, b in zip(plain.parameters(), reference.parameters(),
                                                  strict=True))


def test_resume_from_state_dict_equals_continuing():
    check_resume_equals_continuing(AdaNKFAC, **PRECONDITIONER)


@pytest.mark.parametrize("poison", ["nan", "indefinite"])
def test_a_poisoned_factor_keeps_the_previous_inverse_and_is_recorded(poison):
    check_poisoned_factor(AdaNKFAC, poison, 4, cov_interval=2, inv_interval=1)


def test_trains_and_refuses_sgd_options():
    model, _ = check_trains(AdaNKFAC, torch.float64, lr=0.05, cov_interval=1, inv_interval=1)
    with pytest.raises(TypeError, match="momentum"):
        AdaNKFAC(model.parameters(), model=model, momentum=0.9)
    with pytest.raises(ValueError, match="Invalid betas|Invalid beta parameter"):
        AdaNKFAC(model.parameters(), model=model, betas=(0.9, 1.5))
