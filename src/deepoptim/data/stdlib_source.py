"""Real text for a domain shift: the source code of Python's standard library, split by module.

A model pretrained on English prose (Python's documentation) is adapted to Python code: a real
corpus, offline, with no labels. :func:`stdlib_source` reads the ``.py`` files of the fixed
modules of :data:`SOURCE_MODULES` from the running Python and splits them *by module*, so the
test code comes from modules never seen in training:

* train: argparse, bisect, colorsys, configparser, copy, csv, fnmatch, glob, pprint, queue,
  sched, shutil, string, textwrap (330,653 characters in CPython 3.11.7);
* dev: calendar, graphlib (34,398 characters);
* test: dataclasses, tokenize (84,637 characters).

The modules were chosen pure-Python and ASCII-only, so one UTF-8 byte is one character and a
byte-level model's bits per byte are its bits per character; the loader raises if a file of the
running Python is not ASCII. The files change between Python versions: :attr:`SourceCode.python`
records the version read and :attr:`SourceCode.digest` a SHA-256 of the three texts.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.util
import platform
from pathlib import Path

SOURCE_MODULES = {
    "train": "argparse bisect colorsys configparser copy csv fnmatch glob pprint queue sched "
    "shutil string textwrap",
    "dev": "calendar graphlib",
    "test": "dataclasses tokenize",
}


@dataclasses.dataclass(frozen=True)
class SourceCode:
    """The three splits as text: each split's files in :data:`SOURCE_MODULES` order, joined by
    a blank line."""

    train: str
    dev: str
    test: str
    python: str

    @property
    def digest(self) -> str:
        """SHA-256 of the train, dev and test texts (they depend on the Python version)."""
        return hashlib.sha256("\0".join((self.train, self.dev, self.test)).encode()).hexdigest()


@functools.cache
def stdlib_source() -> SourceCode:
    """The standard-library source of :data:`SOURCE_MODULES`, read from the running Python."""
    return SourceCode(
        *("\n\n".join(_read(name) for name in SOURCE_MODULES[split].split())
          for split in ("train", "dev", "test")),
        python=platform.python_version(),
    )


def _read(module: str) -> str:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        raise RuntimeError(f"the standard-library module {module!r} has no .py source here")
    text = Path(spec.origin).read_text(encoding="utf-8")
    if not text.isascii():
        raise RuntimeError(
            f"{spec.origin} is not ASCII in Python {platform.python_version()}: bytes would not "
            "be characters"
        )
    return text
