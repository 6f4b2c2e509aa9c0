"""The standard library's source as a domain-shift corpus: fixed, disjoint, ASCII splits."""

from __future__ import annotations

import importlib.util
import platform
from pathlib import Path

from deepoptim.data import stdlib_source
from deepoptim.data.stdlib_source import SOURCE_MODULES


def test_splits_are_the_documented_modules_and_disjoint():
    modules = {split: SOURCE_MODULES[split].split() for split in ("train", "dev", "test")}
    assert not (set(modules["train"]) & set(modules["dev"]) or set(modules["train"])
                & set(modules["test"]) or set(modules["dev"]) & set(modules["test"]))
    source = stdlib_source()
    for split, names in modules.items():
        files = [Path(importlib.util.find_spec(n).origin).read_text() for n in names]
        assert getattr(source, split) == "\n\n".join(files)
        assert getattr(source, split).isascii()
    assert source.python == platform.python_version()


def test_fixed_and_sized_as_documented():
    source = stdlib_source()
    assert stdlib_source() is source  # read once
    if source.python == "3.11.7":  # the version the docstring's sizes are for
        assert (len(source.train), len(source.dev), len(source.test)) == (330653, 34398, 84637)
        assert source.digest == (
            "413b4f637030cfd754c43cf09ad763d5233b99d64dc8f7288303ad3412e4d7f0"
        )
