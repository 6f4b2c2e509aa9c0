"""Builds ``resources/corpus.json.gz``, the two text corpora :mod:`deepoptim.data.text` loads.

Run ``python -m deepoptim.data._text_corpus`` to rebuild the file from the running Python. The
file is committed because both sources change between Python versions (the shipped one was
built with CPython 3.11.7); the loaders never call this module.

* **Documentation passages** (``pydoc_data.topics``, the text of ``help('TOPIC')``): every
  topic is split into paragraphs at blank lines; a paragraph becomes a passage when, with its
  whitespace collapsed, it has at least ``MIN_PASSAGE_CHARS`` characters of which at least half
  are letters (this drops grammar rules, tables and most code). A passage's label is the
  documentation chapter its topic comes from (:data:`TOPIC_CHAPTERS`). Topics repeat each other
  (``compound`` holds ``if``, ``while``, ...; ``specialnames`` holds ``customization``, ...), so
  passages are deduplicated; a passage found under two chapters would be dropped (none is).
* **Docstrings** of public functions, classes and methods of the standard-library modules in
  :data:`MODULE_FAMILIES`, labelled by the family of the module that defines the object
  (``obj.__module__``, so re-exports are attributed to their source). Docstrings shorter than
  ``MIN_DOCSTRING_CHARS`` are dropped; duplicates are kept once and a text found in two families
  is dropped. The defining module's name is masked where it names the module (``json.dumps``,
  "the json module") as ``<module>``, so the label cannot be read off the text.
"""

from __future__ import annotations

import gzip
import importlib
import inspect
import json
import platform
import re
from collections.abc import Iterator

from .text import CORPUS_PATH

MIN_PASSAGE_CHARS = 100
MIN_DOCSTRING_CHARS = 40

# The part of the Python documentation each help topic is taken from. The language reference's
# lexical-analysis topics (literals, identifiers) join its expressions chapter: alone they give
# only 43 passages. Left out: the execution model ("dynamic-features exceptions execmodel naming",
# 29 passages, too few for a class) and "debugger" (pdb's manual, a different kind of text).
_CHAPTER_TOPICS = {
    "expressions": "atom-identifiers atom-literals attribute-references await binary bitwise "
    "booleans calls comparisons conversions dict exprlists floating identifiers id-classes "
    "imaginary in integers lambda lists numbers operator-summary power shifting slicings "
    "strings subscriptions unary",
    "data model": "attribute-access callable-types context-managers customization numeric-types "
    "objects sequence-types specialnames types",
    "simple statements": "assert assignment augassign break continue del global import nonlocal "
    "pass raise return yield",
    "compound statements": "async class compound else for function if try while with",
    "built-in types": "bltin-code-objects bltin-ellipsis-object bltin-null-object "
    "bltin-type-objects formatstrings specialattrs string-methods truth typesfunctions "
    "typesmapping typesmethods typesmodules typesseq typesseq-mutable",
}
TOPIC_CHAPTERS = {
    topic: chapter for chapter, topics in _CHAPTER_TOPICS.items() for topic in topics.split()
}

MODULE_FAMILIES = {
    "text": "re string textwrap difflib shlex unicodedata codecs",
    "math": "math cmath decimal fractions numbers random statistics",
    "files": "os posixpath pathlib shutil glob fnmatch tempfile filecmp io",
    "data": "collections heapq bisect array copy enum dataclasses weakref pprint",
    "net": "socket ssl http.client http.server http.cookiejar urllib.request urllib.parse "
    "smtplib ftplib ipaddress socketserver",
    "concurrency": "threading multiprocessing concurrent.futures asyncio queue subprocess",
    "formats": "json csv configparser xml.etree.ElementTree html.parser pickle plistlib "
    "base64 struct zipfile tarfile",
    "time": "time datetime calendar zoneinfo",
}


def documentation_passages() -> Iterator[tuple[str, str]]:
    """``(passage, chapter)`` for every kept paragraph of every mapped help topic."""
    from pydoc_data.topics import topics

    for topic, chapter in sorted(TOPIC_CHAPTERS.items()):
        for paragraph in re.split(r"\n\s*\n", topics[topic]):
            text = " ".join(paragraph.split())
            letters = sum(char.isalpha() for char in text)
            if len(text) >= MIN_PASSAGE_CHARS and letters >= len(text) / 2:
                yield text, chapter


def docstrings() -> Iterator[tuple[str, str]]:
    """``(docstring, family)`` for the public objects defined in :data:`MODULE_FAMILIES`."""
    family_of = {m: family for family, names in MODULE_FAMILIES.items() for m in names.split()}
    for name in sorted(family_of):
        module = importlib.import_module(name)
        public = getattr(module, "__all__", None) or [n for n in vars(module) if n[0] != "_"]
        for attribute in sorted(public):
            obj = getattr(module, attribute, None)
            source = _defining_module(obj, family_of)
            if source is None:
                continue
            members = [obj]
            if inspect.isclass(obj):
                members += [
                    member
                    for key, member in sorted(vars(obj).items())
                    if key[0] != "_" and callable(member)
                ]
            for member in members:
                text = inspect.cleandoc(getattr(member, "__doc__", None) or "")
                if len(text) >= MIN_DOCSTRING_CHARS:
                    yield _mask(text, source), family_of[source]


def _defining_module(obj: object, family_of: dict[str, str]) -> str | None:
    if not (inspect.isclass(obj) or inspect.isroutine(obj)):
        return None
    defined_in = getattr(obj, "__module__", None) or ""
    for name in family_of:
        if defined_in == name or defined_in.startswith(name + ".") or defined_in == "_" + name:
            return name
    return None


def _mask(text: str, module: str) -> str:
    names = {module, module.split(".")[-1]}
    if module == "posixpath":  # os.path's implementation
        names |= {"os.path", "os"}
    pattern = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
    text = re.sub(rf"\b(?:{pattern})(?=\.\w)", "<module>", text)
    return re.sub(rf"\b(?:{pattern})(?= module\b)", "<module>", text)


def _unique(pairs: Iterator[tuple[str, str]]) -> dict[str, list[str]]:
    labels: dict[str, set[str]] = {}
    for text, label in pairs:
        labels.setdefault(text, set()).add(label)
    kept = sorted((text, next(iter(found))) for text, found in labels.items() if len(found) == 1)
    return {"texts": [text for text, _ in kept], "labels": [label for _, label in kept]}


def build() -> dict[str, object]:
    """The corpus file's content: both corpora and the Python version they were read from."""
    return {
        "python": platform.python_version(),
        "documentation": _unique(documentation_passages()),
        "docstrings": _unique(docstrings()),
    }


if __name__ == "__main__":
    CORPUS_PATH.parent.mkdir(exist_ok=True)
    payload = json.dumps(build(), ensure_ascii=False, sort_keys=True).encode()
    CORPUS_PATH.write_bytes(gzip.compress(payload, compresslevel=9, mtime=0))
    print(f"wrote {CORPUS_PATH} ({CORPUS_PATH.stat().st_size} bytes)")
