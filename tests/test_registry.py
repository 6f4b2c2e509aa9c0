"""The registry covers every optimizer of deepoptim.optim, and each entry builds, has a fixed
colour, a conformance record, and names a chapter of the book unless its chapter is not written."""

import inspect
import re
from pathlib import Path

import pytest
import torch
from torch import nn

from deepoptim import optim, plotting, registry
from optim.optim_db import OPTIM_DB  # tests/optim: the conformance database

ROOT = Path(__file__).parents[1]


def tiny_model() -> nn.Module:
    return nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 3))


def public_optimizer_classes() -> list[type[torch.optim.Optimizer]]:
    """Every name of deepoptim.optim.__all__ that is a torch.optim.Optimizer subclass."""
    members = [getattr(optim, name) for name in optim.__all__]
    return [m for m in members if isinstance(m, type) and issubclass(m, torch.optim.Optimizer)]


def test_every_public_optimizer_class_has_an_entry_and_a_conformance_record():
    classes = public_optimizer_classes()
    assert optim.SLS in classes and optim.ProxSGD in classes  # the scan finds classes
    registered = {entry.cls for entry in registry.OPTIMIZERS.values()}
    recorded = {record.cls for record in OPTIM_DB}
    assert [c.__name__ for c in classes if c not in registered] == [], "no registry entry"
    assert [c.__name__ for c in classes if c not in recorded] == [], "no conformance record"


def test_every_entry_has_a_conformance_record_and_is_keyed_by_its_name():
    recorded = {record.cls for record in OPTIM_DB}
    for name, entry in registry.OPTIMIZERS.items():
        assert entry.name == name
        assert entry.cls in recorded, name


def test_every_entry_has_a_fixed_colour_not_the_fallback():
    for name, entry in registry.OPTIMIZERS.items():
        assert name in plotting.OPTIMIZER_COLORS, name
        assert entry.color == plotting.OPTIMIZER_COLORS[name] == plotting.color(name)


def test_every_chapter_an_entry_names_is_a_chapter_of_the_book():
    toc = set(re.findall(r"^\s*- file: book/executed/(\S+)\s*$",
                         (ROOT / "_toc.yml").read_text(), flags=re.MULTILINE))
    assert "01_sls" in toc  # the pattern reads the table of contents
    chapters = {name: entry.chapter for name, entry in
                {**registry.OPTIMIZERS, **registry.PEERS}.items()}
    assert chapters["SLS"] == "01_sls" and chapters["ProxSGD"] == "12_proxsgd"
    for name, chapter in chapters.items():
        if chapter is None:  # the library has the method; its chapter is not written yet
            continue
        assert (ROOT / "notebooks" / f"{chapter}.py").is_file(), (name, chapter)
        assert chapter in toc, (name, chapter)


@pytest.mark.parametrize("name", list(registry.OPTIMIZERS))
def test_every_entry_builds_with_its_defaults_and_overrides_win(name):
    entry = registry.OPTIMIZERS[name]
    built = registry.make_optimizer(name, tiny_model())
    assert type(built) is entry.cls
    assert all(built.defaults[key] == value for key, value in entry.defaults.items())
    key = "lr" if "lr" in inspect.signature(entry.cls).parameters else "init_step_size"
    overridden = registry.make_optimizer(name, tiny_model(), **{key: 0.125})
    assert overridden.defaults[key] == 0.125


def test_baselines_are_sgd_with_momentum_and_adam():
    sgd = registry.make_optimizer("SGD", tiny_model())
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["momentum"] == 0.9
    adam = registry.make_optimizer("Adam", tiny_model(), lr=0.5)
    assert isinstance(adam, torch.optim.Adam) and adam.defaults["lr"] == 0.5
    assert set(registry.BASELINES) <= set(registry.OPTIMIZERS)


def test_layerwise_method_gets_one_group_per_layer():
    plasls = registry.make_optimizer("PLASLS", tiny_model())
    assert isinstance(plasls, optim.PLASLS)
    assert len(plasls.param_groups) == 2  # the two Linear layers
    sls = registry.make_optimizer("SLS", tiny_model())
    assert len(sls.param_groups) == 1 and len(sls.param_groups[0]["params"]) == 4


def test_unknown_optimizer_is_rejected_with_the_choices():
    with pytest.raises(ValueError, match=r"Invalid optimizer value: 'Nadam'.*'Adam'"):
        registry.make_optimizer("Nadam", tiny_model())


@pytest.mark.parametrize("name", list(registry.PEERS))
def test_peers_build_their_package_class_with_a_fixed_colour(name):
    pytorch_optimizer = pytest.importorskip("pytorch_optimizer")
    entry = registry.PEERS[name]
    built = registry.make_optimizer(name, tiny_model(), lr=0.125)
    assert type(built) is getattr(pytorch_optimizer, name)
    assert built.defaults["lr"] == 0.125
    assert name not in registry.OPTIMIZERS and name in plotting.OPTIMIZER_COLORS
    assert entry.color == plotting.OPTIMIZER_COLORS[name]
    assert not hasattr(optim, name)  # a peer, not one of ours
