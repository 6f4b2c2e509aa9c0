"""The task protocol: a task whose batches are dicts of token tensors (as a sentence encoder's
fine-tuning sees them), batches moved to the model's device, and bad arguments of ``fit``."""

import collections
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from deepoptim import train

from .problems import tiny_data, tiny_model

VOCAB, LENGTH, KEY_TOKEN = 12, 6, 3


def token_split(count: int, seed: int) -> dict[str, torch.Tensor]:
    """Padded token sentences; the label says whether the key token occurs in the sentence."""
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(1, VOCAB, (count, LENGTH), generator=generator)
    lengths = torch.randint(2, LENGTH + 1, (count,), generator=generator)
    attention_mask = (torch.arange(LENGTH) < lengths.unsqueeze(1)).long()
    input_ids = input_ids * attention_mask  # 0 pads
    labels = ((input_ids == KEY_TOKEN) & attention_mask.bool()).any(dim=1).long()
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


class BagOfTokens(nn.Module):
    """Embeddings averaged over the unmasked tokens, then a linear read-out: ``model(**inputs)``."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Embedding(VOCAB, 8)
        self.head = nn.Linear(8, 2)

    def forward(self, input_ids, attention_mask):
        mask = attention_mask.unsqueeze(-1).to(self.embed.weight.dtype)
        pooled = (self.embed(input_ids) * mask).sum(1) / mask.sum(1)
        return self.head(pooled)


class TokenTask(train.Task):
    """Sentence classification from batches that are dicts of tensors; held-out accuracy."""

    def __init__(self, batch_size: int = 8) -> None:
        self.train_set, self.held_out = token_split(48, 0), token_split(24, 1)
        self.batch_size = batch_size

    def batches(self, generator):
        for index in train.minibatches(48, self.batch_size, generator):
            yield {key: value[index] for key, value in self.train_set.items()}

    def loss(self, model, batch):
        inputs = {key: value for key, value in batch.items() if key != "labels"}
        return F.cross_entropy(model(**inputs), batch["labels"])

    @torch.no_grad()
    def evaluate(self, model):
        was_training = model.training
        model.eval()
        held_out = self.to_device(self.held_out, next(model.parameters()).device)
        logits = model(held_out["input_ids"], held_out["attention_mask"])
        model.train(was_training)
        return {"test_loss": float(F.cross_entropy(logits, held_out["labels"])),
                "test_acc": float((logits.argmax(1) == held_out["labels"]).float().mean())}


def test_a_dict_batch_task_equals_a_plain_loop_with_a_scheduler():
    task, model = TokenTask(), BagOfTokens()
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.05)
    warmup = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / 4))
    history = train.fit(task, model, optimizer, steps=15, seed=2, scheduler=warmup,
                        eval_every=5, progress=False)

    reference = BagOfTokens()
    ref_optimizer = torch.optim.AdamW(reference.parameters(), lr=0.05)
    ref_warmup = torch.optim.lr_scheduler.LambdaLR(ref_optimizer,
                                                   lambda step: min(1.0, (step + 1) / 4))
    batches = task.batches(torch.Generator().manual_seed(2))
    losses, lrs = [], []
    for _ in range(15):
        batch = next(batches)
        ref_optimizer.zero_grad()
        loss = F.cross_entropy(reference(batch["input_ids"], batch["attention_mask"]),
                               batch["labels"])
        loss.backward()
        ref_optimizer.step()
        ref_warmup.step()
        losses.append(loss.item())
        lrs.append(ref_optimizer.param_groups[0]["lr"])
    assert [s["loss"] for s in history.steps] == losses
    assert [s["lr"] for s in history.steps] == lrs
    for p, q in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.equal(p, q)
    assert list(history.steps_frame()) == ["step", "loss", "lr", "time"]
    assert list(history.evals_frame()) == ["step", "time", "test_loss", "test_acc"]
    assert [e["step"] for e in history.evals] == [0, 5, 10, 15]
    assert history.final()["test_acc"] == task.evaluate(reference)["test_acc"]
    assert history.final()["test_loss"] < history.evals[0]["test_loss"]  # it learned


def test_a_line_search_on_dict_batches_gets_an_independent_search_batch():
    from deepoptim.optim import SLS

    runs = {}
    for mode in ("same", "independent"):
        model = BagOfTokens()
        runs[mode] = train.fit(TokenTask(), model, SLS(model.parameters()), steps=6,
                               search_batch=mode, progress=False).steps_frame()
    same, independent = runs["same"], runs["independent"]
    assert same.loss[0] == independent.loss[0]  # the gradient's batches are the same
    assert (same.loss_evals == 1 + same.trials).all()
    assert (independent.loss_evals == 2 + independent.trials).all()


def test_to_device_moves_every_tensor_and_keeps_the_structure():
    Pair = collections.namedtuple("Pair", "left right")
    batch = {"ids": torch.arange(3), "nested": (torch.ones(2), [torch.zeros(1), "text"]),
             "pair": Pair(torch.ones(1), 7)}
    moved = TokenTask().to_device(batch, torch.device("meta"))
    assert moved["ids"].device.type == "meta" and moved["nested"][0].device.type == "meta"
    assert isinstance(moved["nested"], tuple) and isinstance(moved["nested"][1], list)
    assert moved["nested"][1][0].device.type == "meta" and moved["nested"][1][1] == "text"
    assert isinstance(moved["pair"], Pair) and moved["pair"].right == 7
    assert moved["pair"].left.device.type == "meta"
    assert batch["ids"].device.type == "cpu"  # the batch itself is left as it was


class DeviceRecordingTask(TokenTask):
    """Records the device every batch is moved to."""

    def __init__(self) -> None:
        super().__init__()
        self.devices = []

    def to_device(self, batch, device):
        self.devices.append(device)
        return super().to_device(batch, device)


def test_batches_move_to_the_models_device():
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        task, model = DeviceRecordingTask(), BagOfTokens().to(device)
        history = train.fit(task, model, torch.optim.SGD(model.parameters(), lr=0.1), steps=3,
                            progress=False)
        assert task.devices[:3] == [torch.device(device, 0) if device == "cuda"
                                    else torch.device(device)] * 3
        assert len(history.steps) == 3 and all(math.isfinite(s["loss"]) for s in history.steps)


class TwoLosses(train.Task):
    """A step reporting two losses, the second non-finite from step 3, and a NaN diagnostic."""

    def __init__(self) -> None:
        self.calls = 0

    def batches(self, generator):
        while True:
            yield torch.ones(1)

    def loss(self, model, batch):
        return model(batch).sum()

    def evaluate(self, model):
        return {"weight": float(model.weight.detach())}

    def step(self, model, optimizer, batch, search_batch):
        self.calls += 1
        second = math.inf if self.calls >= 3 else 1.0
        return {"first_loss": super().step(model, optimizer, batch, search_batch)["loss"],
                "second_loss": second, "slope": math.nan}


def test_any_non_finite_loss_record_stops_the_run_and_other_records_do_not():
    model = nn.Linear(1, 1)
    history = train.fit(TwoLosses(), model, torch.optim.SGD(model.parameters(), lr=0.1),
                        steps=10, progress=False)
    assert history.diverged
    assert [s["step"] for s in history.steps] == [1, 2, 3]  # not stopped by the NaN slope
    assert [e["step"] for e in history.evals] == [0, 3]
    assert list(history.steps[0]) == ["step", "first_loss", "second_loss", "slope", "lr", "time"]


def _fit(**overrides):
    model = tiny_model()
    arguments = dict(task=train.ClassificationTask(tiny_data(), 8), model=model,
                     optimizer=torch.optim.SGD(model.parameters(), lr=0.1), steps=2,
                     progress=False)
    arguments.update(overrides)
    return train.fit(**arguments)


@pytest.mark.parametrize("overrides, error, match", [
    (dict(task=tiny_data()), TypeError, "task must be a Task, got ClassificationData"),
    (dict(model=lambda x: x), TypeError, "model must be a torch.nn.Module, got function"),
    (dict(optimizer=None), TypeError, "optimizer must be a torch.optim.Optimizer or a dict"),
    (dict(optimizer={}), ValueError, r"Invalid optimizer value: \{\}"),
    (dict(optimizer={"a": 1}), TypeError, r"optimizer\['a'\] must be a torch.optim.Optimizer"),
    (dict(optimizer={"a": torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1)}), TypeError,
     "optimizer must be a torch.optim.Optimizer for a task without its own step, got dict"),
    (dict(steps=0), ValueError, "Invalid steps value: 0"),
    (dict(eval_every=0), ValueError, "Invalid eval_every value: 0"),
    (dict(search_batch="other"), ValueError, "Invalid search_batch value: 'other'"),
    (dict(history=[]), TypeError, "history must be a History, got list"),
    (dict(history=train.History()), ValueError, "Invalid history value: 0 steps"),
    (dict(history=train.History(steps=[{"step": 1}], diverged=True)), ValueError,
     "diverged=True"),
    (dict(history=train.History(steps=[{"step": 1}, {"step": 2}])), ValueError,
     r"Invalid steps value: 2 \(expected steps > 2"),
])
def test_bad_arguments_of_fit_are_rejected_before_any_work(overrides, error, match):
    seen = []
    with pytest.raises(error, match=match):
        _fit(callback=lambda *args: seen.append(args), **overrides)
    assert seen == []  # not even the evaluation of step 0 ran


def test_a_task_needs_its_batches_loss_and_evaluation():
    class Incomplete(train.Task):
        def batches(self, generator):
            yield from ()

    with pytest.raises(TypeError, match="abstract"):
        Incomplete()


def test_classification_task_checks_its_arguments():
    with pytest.raises(TypeError, match="data must be a ClassificationData, got tuple"):
        train.ClassificationTask((1, 2))
    with pytest.raises(ValueError, match="Invalid batch_size value: 0"):
        train.ClassificationTask(tiny_data(), 0)
