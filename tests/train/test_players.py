"""Two players in one loop: a 2-D GAN toy whose task step alternates a discriminator step and a
generator step, each closure-driven with its own optimizer, with a regulariser that removes a
direction from the generator's gradient before its optimizer steps (as NuGAN does)."""

import functools

import torch
import torch.nn.functional as F
from torch import nn

from deepoptim import train

DTYPE = torch.float64
REAL_MEAN = torch.tensor([2.0, -1.0], dtype=DTYPE)


class GAN(nn.Module):
    """A linear generator from 2-D noise and a small tanh discriminator (logits), float64."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.generator = nn.Linear(2, 2).to(DTYPE)
        self.discriminator = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)).to(DTYPE)


def remove_direction(module: nn.Module, direction: torch.Tensor) -> None:
    """``g <- g - <g, v> v`` on the module's flattened gradient (``v`` of unit length)."""
    grads = [p.grad for p in module.parameters()]
    coefficient = torch.cat([g.flatten() for g in grads]) @ direction
    for g, v in zip(grads, direction.split([g.numel() for g in grads]), strict=True):
        g.sub_(coefficient * v.view_as(g))


def discriminator_loss(model, batch):
    fake = model.generator(batch["noise"]).detach()
    real_logits, fake_logits = model.discriminator(batch["real"]), model.discriminator(fake)
    return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


def generator_loss(model, batch):  # non-saturating
    logits = model.discriminator(model.generator(batch["noise"]))
    return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))


class GaussianGAN(train.Task):
    """Real samples N(REAL_MEAN, 0.1^2 I), noise N(0, I), both drawn from the loop's generator.

    The task's loss is the discriminator's; its step alternates the two players.
    """

    def __init__(self, direction: torch.Tensor | None = None, batch_size: int = 16) -> None:
        self.direction, self.batch_size = direction, batch_size

    def batches(self, generator):
        while True:
            real = REAL_MEAN + 0.1 * torch.randn(self.batch_size, 2, generator=generator,
                                                 dtype=DTYPE)
            yield {"real": real,
                   "noise": torch.randn(self.batch_size, 2, generator=generator, dtype=DTYPE)}

    def loss(self, model, batch):
        return discriminator_loss(model, batch)

    @torch.no_grad()
    def evaluate(self, model):
        noise = torch.randn(256, 2, generator=torch.Generator().manual_seed(99), dtype=DTYPE)
        return {"mean_error": float((model.generator(noise).mean(0) - REAL_MEAN).norm())}

    def step(self, model, optimizer, batch, search_batch):
        d_loss = train.optimizer_step(optimizer["discriminator"],
                                      functools.partial(self.loss, model), batch, search_batch)
        nudge = None
        if self.direction is not None:
            nudge = functools.partial(remove_direction, model.generator, self.direction)
        g_loss = train.optimizer_step(optimizer["generator"],
                                      functools.partial(generator_loss, model), batch,
                                      after_backward=nudge)
        return {"discriminator_loss": d_loss, "generator_loss": g_loss}


def players(model, g_lr=0.05):
    return {"discriminator": torch.optim.Adam(model.discriminator.parameters(), lr=1e-2,
                                              betas=(0.5, 0.999)),
            "generator": torch.optim.SGD(model.generator.parameters(), lr=g_lr)}


def unit_direction(seed=3):
    v = torch.randn(6, generator=torch.Generator().manual_seed(seed), dtype=DTYPE)
    return v / v.norm()


def test_two_players_equal_a_plain_alternating_loop():
    direction = unit_direction()
    task, model = GaussianGAN(direction), GAN()
    optimizers = players(model)
    history = train.fit(task, model, optimizers, steps=20, seed=4, eval_every=10, progress=False)

    reference = GAN()
    ref = players(reference)
    batches = task.batches(torch.Generator().manual_seed(4))
    d_losses, g_losses = [], []
    for _ in range(20):
        batch = next(batches)
        ref["discriminator"].zero_grad()
        d_loss = discriminator_loss(reference, batch)
        d_loss.backward()
        ref["discriminator"].step()
        ref["generator"].zero_grad()
        g_loss = generator_loss(reference, batch)
        g_loss.backward()
        remove_direction(reference.generator, direction)
        ref["generator"].step()
        d_losses.append(d_loss.item())
        g_losses.append(g_loss.item())
    assert [s["discriminator_loss"] for s in history.steps] == d_losses
    assert [s["generator_loss"] for s in history.steps] == g_losses
    for p, q in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.equal(p, q)
    assert list(history.steps_frame()) == ["step", "discriminator_loss", "generator_loss",
                                           "discriminator_lr", "generator_lr", "time"]
    assert list(history.evals_frame()) == ["step", "time", "mean_error"]
    assert [e["step"] for e in history.evals] == [0, 10, 20]


def test_the_regulariser_removes_its_direction_from_every_generator_step():
    direction = unit_direction()
    moves = {}
    for nudged in (True, False):
        model, params = GAN(), []

        def callback(step, seen_model, seen_optimizers, params=params):
            assert set(seen_optimizers) == {"discriminator", "generator"}
            params.append(torch.cat([p.detach().flatten()
                                     for p in seen_model.generator.parameters()]))

        train.fit(GaussianGAN(direction if nudged else None), model, players(model), steps=8,
                  callback=callback, progress=False)
        moves[nudged] = torch.stack(params).diff(dim=0)  # the generator's SGD steps
    along = {nudged: (move @ direction).abs() / move.norm(dim=1) for nudged, move in moves.items()}
    assert (moves[True].norm(dim=1) > 1e-4).all()
    assert float(along[True].max()) < 1e-12  # orthogonal to the removed direction
    assert float(along[False].min()) > 1e-3  # which a plain step is not


def test_a_line_search_player_gets_the_independent_search_batch():
    from deepoptim.optim import SLS

    model = GAN()
    optimizers = {"discriminator": SLS(model.discriminator.parameters()),
                  "generator": torch.optim.Adam(model.generator.parameters(), lr=1e-2)}
    history = train.fit(GaussianGAN(), model, optimizers, steps=6,
                        search_batch="independent", progress=False)
    frame = history.steps_frame()
    assert (frame.discriminator_loss_evals == 2 + frame.discriminator_trials).all()
    assert {"discriminator_step_size", "discriminator_failed", "generator_lr"} <= set(frame)
    assert not any(name.startswith("generator_") and name not in ("generator_loss", "generator_lr")
                   for name in frame)  # Adam keeps no diagnostics
