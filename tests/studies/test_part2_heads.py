"""Part II's heads chapter: its experiment code on tiny made-up tasks, its sentences on
made-up results (both directions, ties and missing values)."""

import math
from types import SimpleNamespace

import optuna
import pytest
import torch
from torch import nn

from deepoptim import models, studies
from deepoptim.data.text import TokenizedSplits, Tokens

NAN = math.nan


def _task(n=40, n_test=20, tokens=6, dim=8, classes=3, seed=0):
    """A cached task whose class is written in the first feature of the real tokens."""
    generator = torch.Generator().manual_seed(seed)

    def split(count):
        labels = torch.arange(count) % classes
        hidden = 0.5 * torch.randn(count, tokens, dim, generator=generator)
        hidden[:, :, 0] += 6.0 * labels[:, None].float()
        lengths = torch.randint(2, tokens + 1, (count,), generator=generator)
        mask = (torch.arange(tokens)[None] < lengths[:, None]).long()
        return studies.CachedTokens(hidden, mask, labels)

    return studies.CachedTask("toy", classes, split(n), split(n_test), 0.0)


def test_train_head_learns_a_separable_task_and_is_seeded():
    task = _task()
    results = []
    for _ in range(2):
        torch.manual_seed(0)
        head = models.build_head(8, 3, mlp_layers=2, mlp_hidden=16)
        results.append(studies.train_head(head, task, epochs=30, lr=1e-2, batch_size=8, seed=1))
    assert results[0]["test_acc"] >= 0.7  # chance is 1/3
    assert results[0]["train_loss"] == results[1]["train_loss"]
    assert results[0]["params"] == sum(p.numel() for p in head.parameters())
    assert results[0]["seconds"] > 0
    seen = []
    studies.train_head(models.build_head(8, 3), task, epochs=3, lr=1e-2,
                       on_epoch=lambda epoch, acc: seen.append(epoch))
    assert seen == [1, 2, 3]
    with pytest.raises(ValueError, match="Invalid epochs value"):
        studies.train_head(models.build_head(8, 3), task, epochs=0, lr=1e-2)


def test_validation_split_holds_out_part_of_the_training_set_only():
    task = _task(n=50)
    valid = studies.validation_split(task, 0.2, seed=3)
    assert len(valid.train.labels) == 40 and len(valid.test.labels) == 10
    rows = torch.cat([valid.train.hidden, valid.test.hidden]).flatten(1)
    assert sorted(map(tuple, rows.tolist())) == sorted(map(tuple, task.train.hidden.flatten(1)
                                                           .tolist()))
    again = studies.validation_split(task, 0.2, seed=3)
    assert torch.equal(again.test.hidden, valid.test.hidden)
    with pytest.raises(ValueError, match="Invalid fraction value"):
        studies.validation_split(task, 1.0)


class _FakeEncoder(nn.Module):
    def forward(self, input_ids, attention_mask):
        return SimpleNamespace(last_hidden_state=input_ids[..., None].float().repeat(1, 1, 4))


def test_cache_hidden_states_runs_the_encoder_over_both_splits():
    ids = torch.arange(30).reshape(10, 3)
    splits = TokenizedSplits(Tokens(ids[:6], torch.ones(6, 3, dtype=torch.long),
                                    torch.arange(6) % 2),
                             Tokens(ids[6:], torch.ones(4, 3, dtype=torch.long),
                                    torch.arange(4) % 2))
    task = SimpleNamespace(name="fake", num_classes=2, tokenize=lambda tok, length: splits)
    cached = studies.cache_hidden_states(_FakeEncoder(), None, task, batch_size=4, max_test=3)
    assert cached.train.hidden.shape == (6, 3, 4) and cached.test.hidden.shape == (3, 3, 4)
    assert torch.equal(cached.train.hidden[:, :, 0], ids[:6].float())
    assert torch.equal(cached.test.labels, splits.test.labels[:3])


def test_suggest_head_draws_only_the_settings_of_the_stages_present():
    settings = studies.suggest_head(optuna.trial.FixedTrial(
        {"transformer_layers": 0, "conv_layers": 0, "pooling": "max", "mlp_layers": 1,
         "lr": 1e-3}), lr_range=(1e-4, 1e-2))
    assert settings == {"transformer_layers": 0, "conv_layers": 0, "pooling": "max",
                        "mlp_layers": 1, "lr": 1e-3}
    settings = studies.suggest_head(optuna.trial.FixedTrial(
        {"transformer_layers": 2, "num_heads": 4, "conv_layers": 1, "conv_hidden": 40,
         "kernel_size": 11, "skip": True, "pooling": "mean", "mlp_layers": 2,
         "mlp_hidden": 30, "lr": 5e-5}))
    models.build_head(384, 2, **{k: v for k, v in settings.items() if k != "lr"})
    with pytest.raises(ValueError, match="Invalid lr_range value"):
        studies.suggest_head(optuna.trial.FixedTrial({}), lr_range=(1e-2, 1e-3))


def test_search_heads_runs_its_trials_and_returns_buildable_settings(tmp_path):
    task = studies.validation_split(_task(n=30), 0.3)
    space = {"max_transformer_layers": 1, "max_conv_layers": 1, "max_mlp_layers": 2,
             "lr_range": (1e-3, 1e-2)}
    found = studies.search_heads(task, num_trials=3, epochs=2, seed=0, batch_size=8,
                                 path=tmp_path / "s.db", space=space)
    assert found["trials"] == 3 and 0 <= found["pruned"] <= 3 and found["seconds"] > 0
    assert 0.0 <= found["value"] <= 1.0
    settings = dict(found["settings"])
    settings.pop("lr")
    models.build_head(8, 3, **{k: v for k, v in settings.items()})
    again = studies.search_heads(task, num_trials=3, epochs=2, seed=0, batch_size=8,
                                 path=tmp_path / "t.db", space=space)
    assert again["settings"] == found["settings"] and again["value"] == found["value"]


def test_batch_dependence_separates_our_head_from_sequence_first_attention():
    torch.manual_seed(0)
    a, b = _task(n=4, n_test=4, dim=8).train, _task(n=4, n_test=4, dim=8, seed=1).train
    head = models.build_head(8, 3, transformer_layers=1, num_heads=2, dim_feedforward=16,
                             conv_layers=1, conv_hidden=4, kernel_size=3, skip=True).eval()
    assert studies.batch_dependence(head, a.hidden, a.attention_mask, b.hidden,
                                    b.attention_mask) < 1e-5
    attention = nn.MultiheadAttention(8, 1).eval()  # batch_first=False, fed (B, T, D)

    def authors(hidden, mask):
        return attention(hidden, hidden, hidden)[0]

    assert studies.batch_dependence(authors, a.hidden, a.attention_mask, b.hidden,
                                    b.attention_mask) > 1e-3
    with pytest.raises(ValueError, match="Invalid hidden value"):
        studies.batch_dependence(head, a.hidden[:1], a.attention_mask[:1], b.hidden[:1],
                                 b.attention_mask[:1])
    with pytest.raises(ValueError, match="Invalid other_hidden value"):
        studies.batch_dependence(head, a.hidden, a.attention_mask, b.hidden[:, :3],
                                 b.attention_mask[:, :3])


def test_head_description_names_each_stage():
    assert studies.head_description(studies.PAPER_HEAD) == (
        "4 transformer blocks with 1 head, a Conv1d of 40 channels (kernel 11) with skip, mean "
        "pooling and a linear layer")
    assert studies.head_description({"transformer_layers": 1, "num_heads": 8, "conv_layers": 2,
                                     "conv_hidden": 7, "kernel_size": 3, "skip": False,
                                     "pooling": "cls", "mlp_layers": 3, "mlp_hidden": 20}) == (
        "1 transformer block with 8 heads, 2 Conv1d layers of 7 channels (kernel 3) without "
        "skip, cls pooling and an MLP of 3 layers (width 20)")
    assert studies.head_description({}) == "mean pooling and a linear layer"


def test_batch_mixing_phrase_reads_both_heads_both_ways():
    phrase = studies.batch_mixing_phrase(1e-7, 0.5)
    assert "our head’s logits are unchanged" in phrase and "outputs move by up to 0.5" in phrase
    phrase = studies.batch_mixing_phrase(0.2, 1e-9)
    assert "logits move by up to 0.2" in phrase and "outputs are unchanged" in phrase
    assert "logits are unchanged (exactly)" in studies.batch_mixing_phrase(0.0, 0.5)
    assert "not measured" in studies.batch_mixing_phrase(NAN, 0.5)
    with pytest.raises(ValueError, match="Invalid tolerance value"):
        studies.batch_mixing_phrase(0.1, 0.1, tolerance=0.0)


def test_versus_linear_reads_each_task_both_ways():
    assert studies.versus_linear({"a": 3.0, "b": 2.5}) == (
        "is clearly more accurate than the linear head on a and b", "agrees")
    assert studies.versus_linear({"a": -3.0}) == (
        "is clearly less accurate than the linear head on a", "disagrees")
    phrase, verdict = studies.versus_linear({"a": 3.0, "b": 0.0})
    assert phrase == ("compared with the linear head, is clearly more accurate on a and not "
                      "clearly different on b") and verdict == "partly"
    assert studies.versus_linear({"a": 0.0, "b": NAN})[1] == "disagrees"
    assert studies.versus_linear({"a": 1.0, "b": -1.0}) == (
        "is not clearly different from the linear head on a and b", "disagrees")
    assert studies.versus_linear({"a": NAN}) == (
        "differs from the linear head by an unknown amount on a (one seed, or runs that all "
        "agree)", "not measured")
    with pytest.raises(ValueError, match="Invalid statistics value"):
        studies.versus_linear({})


@pytest.mark.parametrize("head, encoder, share, verdict", [
    (0.3, 1.0, 0.1, "agrees"), (0.6, 1.0, 0.2, "disagrees"), (0.0, 2.0, 0.0, "agrees")])
def test_cost_verdict_compares_with_a_fine_tuning_epoch(head, encoder, share, verdict):
    measured, words = studies.cost_verdict(head, encoder)
    assert measured == pytest.approx(share) and words == verdict


def test_cost_verdict_without_a_measurement():
    share, verdict = studies.cost_verdict(NAN, 1.0)
    assert math.isnan(share) and verdict == "not measured"
    with pytest.raises(ValueError, match="Invalid encoder_seconds value"):
        studies.cost_verdict(1.0, 0.0)
