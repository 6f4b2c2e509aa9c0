"""Generic conformance tests, run over every record and configuration of ``optim_db.OPTIM_DB``.

Each test implements one check of research/anchors.md, section B5 (C1-C3, C5, C7-C9, C11-C14,
C18-C26: those that apply to any optimizer); its docstring starts with the check's number.
Method-specific checks (line-search conditions, references to SciPy, ...) belong in each
method's own test file. The problem is torch's descent problem, ``||W x + b||^2`` in W (10x5)
and b (10), and every step is ``optimizer.step(closure)`` with a closure in the package convention
(``deepoptim.optim._base``): it zeroes the grads and back-propagates only when grad mode is on.

A record or one of its configurations opts out of a test by naming it in its ``skips``; the
autouse fixture ``_honour_skips`` then calls ``pytest.skip`` with the stated reason.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch
from torch.optim.lr_scheduler import ReduceLROnPlateau, StepLR
from torch.optim.optimizer import (
    register_optimizer_step_post_hook,
    register_optimizer_step_pre_hook,
)

from deepoptim.optim import loss_only

from .optim_db import BASE_ERRORS, OPTIM_DB, ErrorCase, OptimInfo, OptimInput


@dataclass
class Quadratic:
    """The loss ``||W x + b||^2`` in the parameters W (10x5) and b (10) at a fixed input x."""

    weight: torch.Tensor
    bias: torch.Tensor
    x: torch.Tensor

    @classmethod
    def make(cls, *, dtype=torch.float32, contiguous=True, seed=0) -> Quadratic:
        """Random parameters; non-contiguous ones are strided views, as in torch's test."""
        gen = torch.Generator().manual_seed(seed)

        def leaf(*shape: int) -> torch.Tensor:
            if contiguous:
                return torch.randn(*shape, generator=gen, dtype=dtype).requires_grad_()
            return torch.randn(*shape, 2, generator=gen, dtype=dtype)[..., 0].requires_grad_()

        return cls(leaf(10, 5), leaf(10), torch.randn(5, generator=gen, dtype=dtype))

    @property
    def params(self) -> list[torch.Tensor]:
        """The trained parameters, in the order the optimizer gets them."""
        return [self.weight, self.bias]

    def loss_at(self, params: list[torch.Tensor]) -> torch.Tensor:
        """The loss at any point, for references that evaluate their own parameters."""
        weight, bias = params
        return (weight @ self.x + bias).pow(2).sum()

    def loss(self) -> torch.Tensor:
        """The loss at the current parameters."""
        return self.loss_at(self.params)

    def clone(self) -> Quadratic:
        """The same problem on fresh leaf copies of the parameters."""
        weight, bias = (p.detach().clone().requires_grad_() for p in self.params)
        return Quadratic(weight, bias, self.x)


def make_closure(optimizer, loss_fn, after_backward: Callable[[], None] | None = None):
    """A closure in the package convention; ``after_backward`` may then edit the gradients."""

    def closure() -> torch.Tensor:
        loss = loss_fn()
        if torch.is_grad_enabled():
            optimizer.zero_grad()
            loss.backward()
            if after_backward is not None:
                after_backward()
        return loss

    return closure


def primed(info: OptimInfo, config: OptimInput, *, steps: int = 2, **problem_kwargs):
    """A problem, its optimizer after ``steps`` steps, and the closure that drives it."""
    problem = Quadratic.make(**problem_kwargs)
    optimizer = info.cls(problem.params, **config.kwargs)
    closure = make_closure(optimizer, problem.loss)
    for _ in range(steps):
        optimizer.step(closure)
    return problem, optimizer, closure


def snapshot(params: list[torch.Tensor]) -> list[torch.Tensor]:
    """Detached copies of the current values."""
    return [p.detach().clone() for p in params]


def went_right_way(config: OptimInput, before: torch.Tensor, after: torch.Tensor) -> bool:
    """The loss fell, or rose for a configuration that maximizes."""
    return bool(after > before) if config.kwargs.get("maximize") else bool(after < before)


def assert_identical(actual, expected) -> None:
    """Exact equality of nested dicts, lists and tuples of tensors (dtype included) and values."""
    if isinstance(expected, torch.Tensor):
        torch.testing.assert_close(actual, expected, rtol=0, atol=0, equal_nan=True)
    elif isinstance(expected, dict):
        assert actual.keys() == expected.keys()
        for key in expected:
            assert_identical(actual[key], expected[key])
    elif isinstance(expected, (list, tuple)):
        assert type(actual) is type(expected) and len(actual) == len(expected)
        for a, e in zip(actual, expected, strict=True):
            assert_identical(a, e)
    else:
        assert actual == expected


def state_signature(optimizer, params) -> list[dict]:
    """Per parameter, each state entry's shape and dtype (tensors) or type (other values)."""
    return [
        {
            key: (tuple(v.shape), v.dtype) if isinstance(v, torch.Tensor) else type(v)
            for key, v in optimizer.state[p].items()
        }
        for p in params
    ]


CONFIGS = [
    pytest.param(info, config, id=f"{info.name}-{config.desc}")
    for info in OPTIM_DB
    for config in info.inputs
]
RECORDS = [pytest.param(info, id=info.name) for info in OPTIM_DB]
ERRORS = [
    pytest.param(info, case, id=f"{info.name}-{case.id}")
    for info in OPTIM_DB
    for case in [*info.errors, *BASE_ERRORS]
]
per_config = pytest.mark.parametrize(("info", "config"), CONFIGS)
per_record = pytest.mark.parametrize("info", RECORDS)


@pytest.fixture(autouse=True)
def _honour_skips(request):
    """Skip a test that the record or the configuration opts out of, with its reason."""
    callspec = getattr(request.node, "callspec", None)
    chosen = callspec.params if callspec else {}
    for owner in (chosen.get("info"), chosen.get("config")):
        reason = owner.skips.get(request.node.originalname) if owner else None
        if reason:
            pytest.skip(reason)


def test_database_is_complete():
    """Every record has inputs with distinct names, error cases, and a maximize input iff it
    supports maximize."""
    assert OPTIM_DB
    for info in OPTIM_DB:
        descs = [config.desc for config in info.inputs]
        assert descs and len(set(descs)) == len(descs), info.name
        assert info.errors, info.name
        maximizes = any(config.kwargs.get("maximize") for config in info.inputs)
        assert maximizes == info.supports_maximize, info.name


def test_skips_name_existing_tests():
    """A skip that names no test would silently do nothing."""
    tests = {name for name in globals() if name.startswith("test_")}
    for info in OPTIM_DB:
        for owner in (info, *info.inputs):
            assert set(owner.skips) <= tests, (info.name, set(owner.skips) - tests)


def expect(case: ErrorCase):
    """The pytest context that checks the declared exception or warning."""
    if issubclass(case.exc, Warning):
        return pytest.warns(case.exc, match=case.match)
    return pytest.raises(case.exc, match=case.match)


@pytest.mark.parametrize(("info", "case"), ERRORS)
def test_rejects_invalid_input(info, case):
    """C1: every error case fails as declared; construction errors also with ``params=None``,
    which proves hyperparameters are validated before ``super().__init__``."""
    problem = Quadratic.make()
    if case.on == "step":
        optimizer = info.cls(problem.params, **case.kwargs)
        with expect(case):
            optimizer.step(make_closure(optimizer, problem.loss))
        return
    with expect(case):
        info.cls(case.params() if case.params else problem.params, **case.kwargs)
    if case.params is None:
        with expect(case):
            info.cls(None, **case.kwargs)


@per_record
def test_rejects_unknown_keyword(info):
    """C2: no ``**kwargs``: a misspelt hyperparameter is a ``TypeError``."""
    with pytest.raises(TypeError):
        info.cls(Quadratic.make().params, lrr=0.1)


@pytest.mark.parametrize("contiguous", [True, False], ids=["contiguous", "strided"])
@per_config
def test_goes_right_direction(info, config, contiguous):
    """C3: 20 steps lower the loss (raise it when maximizing), for strided params too."""
    problem, optimizer, closure = primed(info, config, steps=0, contiguous=contiguous)
    assert problem.weight.is_contiguous() == contiguous
    initial = loss_only(closure)
    for _ in range(20):
        optimizer.step(closure)
    assert went_right_way(config, initial, loss_only(closure))


@per_config
def test_matches_reference(info, config):
    """C5: in float64, parameters and state equal the record's reference after each of 7 steps."""
    assert info.reference is not None, f"{info.name}: add a reference, or skip with a reason"
    problem, optimizer, closure = primed(info, config, steps=0, dtype=torch.float64)
    reference = info.reference(problem.params, **config.kwargs)
    for step in range(1, 8):
        optimizer.step(closure)
        reference.step(problem.loss_at)
        torch.testing.assert_close(problem.params, reference.params, msg=f"step {step}")
        for p, expected in zip(problem.params, reference.state, strict=True):
            actual = optimizer.state[p]
            assert actual.keys() == expected.keys(), f"step {step}"
            for key, value in expected.items():
                torch.testing.assert_close(
                    torch.as_tensor(actual[key], dtype=torch.float64),
                    torch.as_tensor(value, dtype=torch.float64),
                    msg=f"state {key!r} at step {step}",
                )


@per_config
def test_resume_equals_continue(info, config):
    """C7: an optimizer loaded from a copied state_dict continues bit for bit."""
    problem, optimizer, closure = primed(info, config, steps=3)
    saved = copy.deepcopy(optimizer.state_dict())
    twin = problem.clone()
    resumed = info.cls(twin.params, **config.kwargs)
    resumed.load_state_dict(saved)
    twin_closure = make_closure(resumed, twin.loss)
    for _ in range(3):
        optimizer.step(closure)
        resumed.step(twin_closure)
        assert_identical(twin.params, problem.params)
    assert_identical(resumed.state_dict(), optimizer.state_dict())


@per_config
def test_state_dict_survives_weights_only_load(info, config):
    """C8: the state_dict holds only tensors and plain values, so the safe loader reads it."""
    _, optimizer, _ = primed(info, config)
    buffer = io.BytesIO()
    torch.save(optimizer.state_dict(), buffer)
    buffer.seek(0)
    assert_identical(torch.load(buffer, weights_only=True), optimizer.state_dict())


@per_config
def test_load_state_dict_validates_and_keeps_input(info, config):
    """C9: loading leaves its argument unchanged; a wrong group count or size is a ValueError."""
    problem, optimizer, _ = primed(info, config)
    saved = optimizer.state_dict()
    pristine = copy.deepcopy(saved)
    fresh = info.cls(problem.clone().params, **config.kwargs)
    fresh.load_state_dict(saved)
    assert_identical(saved, pristine)

    extra_group = copy.deepcopy(pristine)
    extra_group["param_groups"].append({**pristine["param_groups"][0], "params": []})
    with pytest.raises(ValueError, match="different number of parameter groups"):
        fresh.load_state_dict(extra_group)
    short_group = copy.deepcopy(pristine)
    short_group["param_groups"][0]["params"].pop()
    with pytest.raises(ValueError, match="doesn't match the size"):
        fresh.load_state_dict(short_group)


@per_config
def test_per_group_lr_is_honoured(info, config):
    """C11: with the default lr at 1e-28, the group given its own lr descends and a group with
    random gradients under the default lr stays bitwise unchanged. A method without an lr
    argument (a line search, whose group lr multiplies the searched step) gets the 1e-28 as the
    second group's own lr, and 1 for the first."""
    problem = Quadratic.make()
    gen = torch.Generator().manual_seed(1)
    irrelevant = torch.randn(2, 2, generator=gen).requires_grad_()
    own_lr = config.kwargs.get("lr", 0.01) if info.lr_argument else 1.0
    groups = [
        {"params": problem.params, "lr": own_lr},
        {"params": [irrelevant]} if info.lr_argument else {"params": [irrelevant], "lr": 1e-28},
    ]
    if not info.supports_param_groups:
        with pytest.raises(ValueError):
            info.cls(groups, **config.kwargs)
        pytest.skip(f"{info.name} does not support parameter groups")
    before = irrelevant.detach().clone()
    kwargs = {**config.kwargs, "lr": 1e-28} if info.lr_argument else config.kwargs
    optimizer = info.cls(groups, **kwargs)

    def random_irrelevant_grad() -> None:
        irrelevant.grad = torch.randn(2, 2, generator=gen)

    closure = make_closure(optimizer, problem.loss, after_backward=random_irrelevant_grad)
    initial = loss_only(closure)
    for _ in range(20):
        optimizer.step(closure)
    assert went_right_way(config, initial, loss_only(closure))
    assert_identical(irrelevant.detach(), before)


@per_config
def test_params_without_grads_are_skipped(info, config):
    """C12: a frozen param and one with no gradient stay unchanged and get no state."""
    problem = Quadratic.make()
    frozen = torch.ones(3)
    unused = torch.ones(4, requires_grad=True)
    optimizer = info.cls([*problem.params, frozen, unused], **config.kwargs)
    closure = make_closure(optimizer, problem.loss)
    for _ in range(2):
        optimizer.step(closure)
    assert_identical([frozen, unused.detach()], [torch.ones(3), torch.ones(4)])
    assert unused.grad is None
    assert not optimizer.state.get(frozen) and not optimizer.state.get(unused)


@per_config
def test_zero_grads_leave_params_unchanged(info, config):
    """C13: a step on zero gradients (and no weight decay) does not move the parameters."""
    problem = Quadratic.make()
    optimizer = info.cls(problem.params, **config.kwargs)
    before = snapshot(problem.params)

    def zero_grads() -> None:
        for p in problem.params:
            p.grad = torch.zeros_like(p)

    optimizer.step(make_closure(optimizer, problem.loss, after_backward=zero_grads))
    assert_identical(snapshot(problem.params), before)


@per_config
def test_closure_contract(info, config):
    """C14: step(closure) returns the closure's first loss, evaluated with grad enabled;
    step() without a closure raises for closure-only methods and returns None otherwise."""
    problem, optimizer, inner = primed(info, config, steps=0)
    calls = []

    def closure() -> torch.Tensor:
        loss = inner()
        calls.append((loss, torch.is_grad_enabled()))
        return loss

    returned = optimizer.step(closure)
    first_loss, grad_enabled = calls[0]
    assert isinstance(returned, torch.Tensor) and torch.equal(returned, first_loss)
    assert grad_enabled
    if info.step_requires_closure:
        with pytest.raises(RuntimeError, match="requires a closure"):
            optimizer.step()
    else:
        inner()
        assert optimizer.step() is None


def _run(info, config, returned, steps=3):
    """Parameters after ``steps`` steps whose closure returns ``returned(loss)``."""
    problem = Quadratic.make()
    optimizer = info.cls(problem.params, **config.kwargs)
    inner = make_closure(optimizer, problem.loss)
    for _ in range(steps):
        optimizer.step(lambda: returned(inner()))
    return snapshot(problem.params)


@per_config
@pytest.mark.parametrize("form", ["shape [1]", "python number"])
def test_closure_may_return_any_one_element_loss(info, config, form):
    """C14: a loss of shape [1], or a Python number (as torch.optim.LBFGS allows), gives the
    steps of a 0-dim loss exactly."""
    reshape = (lambda loss: loss.reshape(1)) if form == "shape [1]" else (
        lambda loss: loss.item())
    assert_identical(_run(info, config, reshape), _run(info, config, lambda loss: loss))


@per_record
def test_closure_returning_several_numbers_is_refused(info):
    """C14: a closure that returns a non-scalar loss gets an error that names its shape."""
    if info.cls.__module__.startswith("torch."):
        pytest.skip(f"torch's {info.name} ignores the loss the closure returns")
    problem = Quadratic.make()
    optimizer = info.cls(problem.params, **info.inputs[0].kwargs)
    inner = make_closure(optimizer, problem.loss)
    with pytest.raises(ValueError, match=r"a tensor of shape \(2,\)"):
        optimizer.step(lambda: inner().repeat(2))


@per_record
def test_a_torch_style_closure_works_or_is_explained(info):
    """C14: a closure that always calls backward() (torch.optim's examples) runs wherever
    gradients are wanted; under a line search's no_grad trial evaluations it fails with a
    message that says what to change."""
    problem = Quadratic.make()
    optimizer = info.cls(problem.params, **info.inputs[0].kwargs)

    def closure():
        optimizer.zero_grad()
        loss = problem.loss()
        loss.backward()
        return loss

    if info.step_requires_closure:
        with pytest.raises(RuntimeError, match="guard the backward pass with `if "
                                               "torch.is_grad_enabled\\(\\):`"):
            optimizer.step(closure)
    else:
        optimizer.step(closure)
        assert torch.isfinite(problem.loss())


@per_record
def test_complex_params_work_or_are_refused(info):
    """C18: complex parameters either give the steps of their real view (torch) or are refused
    when added, with a ValueError naming them."""
    gen = torch.Generator().manual_seed(0)
    start = torch.randn(4, generator=gen, dtype=torch.complex64)
    target = torch.randn(4, generator=gen, dtype=torch.complex64)
    kwargs = info.inputs[0].kwargs
    complex_param = start.clone().requires_grad_()
    if not info.supports_complex:
        with pytest.raises(ValueError, match=r"parameter 0 is complex"):
            info.cls([complex_param], **kwargs)
        return
    real_param = torch.view_as_real(start.clone()).requires_grad_()
    runs = []
    for param, loss_of in ((complex_param, lambda p: (p - target).abs().pow(2).sum()),
                           (real_param, lambda p: (p - torch.view_as_real(target)).pow(2).sum())):
        optimizer = info.cls([param], **kwargs)
        closure = make_closure(optimizer, lambda p=param, f=loss_of: f(p))
        for _ in range(4):
            optimizer.step(closure)
        runs.append(param.detach())
    torch.testing.assert_close(torch.view_as_real(runs[0]), runs[1])


@per_record
def test_tensor_lr_works_or_is_refused(info):
    """C1/C11: an lr given as a one-element tensor (in the constructor, or in a group for
    methods without an lr argument) equals the float, or is refused with what to pass instead."""
    kwargs = dict(info.inputs[0].kwargs)
    lr = kwargs.pop("lr", 0.01) if info.lr_argument else 1.0

    def build(params, value):
        if info.lr_argument:
            return info.cls(params, lr=value, **kwargs)
        return info.cls([{"params": params, "lr": value}], **kwargs)

    if not info.supports_tensor_lr:
        with pytest.raises(ValueError, match="a tensor lr is not supported; pass a Python float"):
            build(Quadratic.make().params, torch.tensor(lr))
        return
    runs = []
    for value in (lr, torch.tensor(lr)):
        problem = Quadratic.make()
        optimizer = build(problem.params, value)
        closure = make_closure(optimizer, problem.loss)
        for _ in range(3):
            optimizer.step(closure)
        runs.append(snapshot(problem.params))
    torch.testing.assert_close(runs[1], runs[0])


@per_record
def test_sparse_grads_rejected(info):
    """C19: a sparse gradient is a RuntimeError at step time."""
    problem, optimizer, _ = primed(info, info.inputs[0], steps=0)

    def sparsify() -> None:
        problem.weight.grad = problem.weight.grad.to_sparse()

    with pytest.raises(RuntimeError, match="does not support sparse gradients"):
        optimizer.step(make_closure(optimizer, problem.loss, after_backward=sparsify))


@per_record
def test_zero_grad(info):
    """C20: zero_grad zeroes (no graph) or clears gradients, and the test closures use it:
    repeated calls do not accumulate, and a call under no_grad leaves the gradients alone."""
    problem, optimizer, closure = primed(info, info.inputs[0], steps=0)
    closure()
    once = snapshot([p.grad for p in problem.params])
    closure()
    loss_only(closure)
    assert_identical([p.grad for p in problem.params], once)

    optimizer.zero_grad(set_to_none=False)
    for p in problem.params:
        assert p.grad.grad_fn is None and not p.grad.any()
    optimizer.zero_grad()
    assert all(p.grad is None for p in problem.params)


SCHEDULERS = {
    "StepLR": lambda optimizer: StepLR(optimizer, step_size=10, gamma=0.9),
    # threshold=1 makes every step a plateau (a positive loss never falls below 0): lr halves.
    "ReduceLROnPlateau": lambda optimizer: ReduceLROnPlateau(
        optimizer, factor=0.5, patience=0, threshold=1.0
    ),
}


@pytest.mark.parametrize("scheduler_name", list(SCHEDULERS))
@per_config
def test_schedulers_keep_progress(info, config, scheduler_name):
    """C21: under StepLR or ReduceLROnPlateau (fed the loss) the loss still goes the right way
    and the schedulers lower every group's lr."""
    _, optimizer, closure = primed(info, config, steps=0)
    scheduler = SCHEDULERS[scheduler_name](optimizer)
    initial_lrs = [group["lr"] for group in optimizer.param_groups]
    initial = loss_only(closure)
    for _ in range(20):
        loss = optimizer.step(closure)
        if isinstance(scheduler, ReduceLROnPlateau):
            scheduler.step(loss.item())
        else:
            scheduler.step()
    assert went_right_way(config, initial, loss_only(closure))
    for group, initial_lr in zip(optimizer.param_groups, initial_lrs, strict=True):
        assert group["lr"] < initial_lr


@per_config
def test_scheduled_lr_is_used_by_next_step(info, config):
    """C21: a scheduler's lr change alters the very next step: with the lr halved after step 1,
    step 1 matches an unscheduled run and step 2 does not."""
    runs = []
    for scheduled in (False, True):
        problem, optimizer, closure = primed(info, config, steps=0)
        scheduler = StepLR(optimizer, step_size=1, gamma=0.5) if scheduled else None
        trajectory = []
        for _ in range(2):
            optimizer.step(closure)
            trajectory.append(snapshot(problem.params))
            if scheduler is not None:
                scheduler.step()
        runs.append(trajectory)
    plain, scheduled = runs
    assert_identical(scheduled[0], plain[0])
    assert not all(torch.equal(a, b) for a, b in zip(scheduled[1], plain[1], strict=True))


@per_record
def test_step_hooks(info):
    """C22: global and local step hooks fire once per step, in torch's order, however often
    the closure runs; removing their handles stops them."""
    _, optimizer, inner = primed(info, info.inputs[0], steps=0)
    fired, evaluations = [], []

    def closure() -> torch.Tensor:
        evaluations.append(None)
        return inner()

    def hook(name: str):
        return lambda *args: fired.append(name)

    handles = [
        register_optimizer_step_pre_hook(hook("global pre")),
        optimizer.register_step_pre_hook(hook("pre")),
        optimizer.register_step_post_hook(hook("post")),
        register_optimizer_step_post_hook(hook("global post")),
    ]
    try:
        for _ in range(2):
            optimizer.step(closure)
        assert fired == ["global pre", "pre", "post", "global post"] * 2
        assert len(evaluations) >= 2
        for handle in handles:
            handle.remove()
        optimizer.step(closure)
        assert len(fired) == 8
    finally:
        for handle in handles:
            handle.remove()


@per_config
def test_repr_and_deepcopy(info, config):
    """C23: repr works; a deepcopy of a primed optimizer keeps its public attributes and
    continues exactly as the original does."""
    problem, optimizer, closure = primed(info, config)
    assert info.name in repr(optimizer)
    twin_problem, twin = copy.deepcopy((problem, optimizer))
    assert twin.param_groups[0]["params"][0] is twin_problem.weight
    assert {k for k in vars(twin) if not k.startswith("_")} == {
        k for k in vars(optimizer) if not k.startswith("_")
    }
    twin_closure = make_closure(twin, twin_problem.loss)
    for _ in range(3):
        optimizer.step(closure)
        twin.step(twin_closure)
        assert_identical(twin_problem.params, problem.params)


@per_config
def test_state_created_and_stable(info, config):
    """C24: after one step every trained param has state, whose keys, shapes and dtypes are
    the same after five steps."""
    problem, optimizer, closure = primed(info, config, steps=1)
    assert all(optimizer.state[p] for p in problem.params)
    first = state_signature(optimizer, problem.params)
    for _ in range(4):
        optimizer.step(closure)
    assert state_signature(optimizer, problem.params) == first


@per_config
def test_seeded_runs_are_identical(info, config):
    """C25: two fresh runs under the same global seed agree bit for bit."""
    runs = []
    for _ in range(2):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            problem, optimizer, _ = primed(info, config, steps=5)
        runs.append((snapshot(problem.params), optimizer.state_dict()))
    assert_identical(runs[0], runs[1])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@per_config
def test_dtype_is_preserved(info, config, dtype):
    """C26: params keep their dtype, and state tensors shaped like a param share its dtype
    (scalar counters such as Adam's ``step`` follow torch's own rule)."""
    problem, optimizer, _ = primed(info, config, dtype=dtype)
    for p in problem.params:
        assert p.dtype == dtype
        for key, value in optimizer.state[p].items():
            if isinstance(value, torch.Tensor) and value.shape == p.shape:
                assert value.dtype == dtype, key
