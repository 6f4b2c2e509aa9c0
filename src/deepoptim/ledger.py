"""The book's ledger: every chapter's claims and verdicts, assembled from the executed chapters.

Each chapter records its claims table with :func:`deepoptim.claims.glue_claims`. Before the
book is built, :func:`write_pages` reads that record back from every executed chapter
(``book/executed/*.ipynb``, in the order of ``_toc.yml``) together with the parameters the
chapter ran with (the ``deepoptim`` metadata :func:`deepoptim.book.execute_chapter` writes),
and generates two Markdown pages under ``book/generated/``:

* ``claims.md``, the "Claims and verdicts" page: per chapter, its title as a link to the
  chapter, its profile, device and seeds, and its claims table (claim, source, published
  value, what the chapter measured, verdict); then how many verdicts of each kind the book
  holds. A chapter that recorded no claims is listed as such.
* ``at_a_glance.md``, one table row per chapter (the claims it states, how many of their
  verdicts agree, partly agree, disagree or say something else, and its profile) and a row
  for the whole book; ``book/intro.md`` includes it.

The pages are made only of the chapters' recorded values, so the overview cannot disagree
with the chapters. A verdict is counted by the words ``agrees``, ``partly`` and ``disagrees``
it contains: one kind alone is that kind (``"disagrees: the exact slope is free"`` is a
disagreement, ``"MLP: agrees; CNN: agrees"`` an agreement), several kinds are ``partly``
(``"MLP: agrees; CNN: disagrees"``), none is ``other``; every verdict is shown in full on the
claims page.

A page is written atomically (a temporary file renamed into place) and only when its content
changes, so an unchanged ledger does not make Sphinx rebuild the pages that include it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .book import EXECUTED_DIR, METADATA_KEY
from .claims import COLUMNS, claims_table, read_claims

__all__ = [
    "AT_A_GLANCE_PAGE",
    "CLAIMS_PAGE",
    "GENERATED_DIR",
    "VERDICT_KINDS",
    "ChapterClaims",
    "at_a_glance",
    "claims_page",
    "markdown_text",
    "read_chapters",
    "toc_chapters",
    "verdict_kind",
    "write_if_changed",
    "write_pages",
]

#: Where the generated pages go, relative to the book root.
GENERATED_DIR = Path("book") / "generated"
CLAIMS_PAGE = GENERATED_DIR / "claims.md"
AT_A_GLANCE_PAGE = GENERATED_DIR / "at_a_glance.md"
#: The kinds a verdict is counted as (see :func:`verdict_kind`).
VERDICT_KINDS = ("agrees", "partly", "disagrees", "other")
_KIND_WORDS = re.compile(r"\b(agrees|partly|disagrees)\b", re.IGNORECASE)

_HEADERS = {"claim": "Claim", "source": "Source", "published": "Published",
            "ours": "What we measured", "verdict": "Verdict"}
# Characters that start inline markup in MyST (emphasis, code, roles, math, links, HTML,
# entities, substitutions, table cells, heading closers), each escaped with a backslash.
_MARKUP = re.compile(r"([\\`*_{}\[\]<>$|~!&#])")


@dataclasses.dataclass(frozen=True)
class ChapterClaims:
    """One executed chapter as the ledger shows it.

    ``doc`` is its path in the book without suffix (``book/executed/01_sls``), ``run`` the
    parameters it was executed with (``profile``, ``device``, ``seed``; ``device`` is the one
    it ran on, e.g. ``"cpu"`` for ``"auto"``, when the run recorded it), ``seeds`` and
    ``claims`` its recorded seeds and claims rows (``claims`` is ``None`` when it recorded none).
    """

    doc: str
    title: str
    run: dict[str, Any]
    seeds: tuple[int, ...] = ()
    claims: tuple[dict[str, str], ...] | None = None

    @property
    def link(self) -> str:
        """A Markdown link to the chapter, by its path from the book's source root."""
        return f"[{markdown_text(self.title)}](/{self.doc}.ipynb)"

    def counts(self) -> Counter:
        """How many of the chapter's verdicts are of each of :data:`VERDICT_KINDS`."""
        return Counter(verdict_kind(row["verdict"]) for row in self.claims or ())


def markdown_text(text: str) -> str:
    """``text`` as literal MyST inline text on one line: whitespace runs (newlines included)
    become one space and every markup character is backslash-escaped, so a ``|`` cannot split
    a table cell and a ``$`` or a backtick starts nothing."""
    return _MARKUP.sub(r"\\\1", " ".join(str(text).split()))


def verdict_kind(verdict: str) -> str:
    """The kind a verdict counts as, from the words ``agrees``, ``partly`` and ``disagrees``
    in it (whole words, any case): the one kind it names, ``"partly"`` when it names several
    (one case agrees, another does not), ``"other"`` when it names none."""
    kinds = {word.lower() for word in _KIND_WORDS.findall(str(verdict))}
    if not kinds:
        return "other"
    return kinds.pop() if len(kinds) == 1 else "partly"


def _toc_files(entry: Any) -> Iterator[str]:
    """Every ``file`` of a table-of-contents entry and its children, in order."""
    if isinstance(entry, dict):
        if "file" in entry:
            yield str(entry["file"])
        for value in entry.values():
            yield from _toc_files(value)
    elif isinstance(entry, list):
        for item in entry:
            yield from _toc_files(item)


def toc_chapters(root: Path) -> list[str]:
    """The executed chapters listed in ``<root>/_toc.yml``, as doc paths in the toc's order."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text())
    prefix = EXECUTED_DIR.as_posix() + "/"
    return [name.removesuffix(".ipynb") for name in _toc_files(toc) if name.startswith(prefix)]


def _title(notebook: dict, default: str) -> str:
    """The text of the notebook's first ``# `` heading."""
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", "")
        for line in ("".join(source) if isinstance(source, list) else source).splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return default


def read_chapters(root: Path) -> list[ChapterClaims]:
    """Every executed chapter in the toc's order, with its run parameters and claims record.

    A chapter in the toc without an executed notebook is a ``FileNotFoundError`` naming all
    such chapters; an executed notebook without the pipeline's run metadata, or a record whose
    claims are not a claims table, is a ``ValueError`` naming the notebook.
    """
    docs = toc_chapters(root)
    missing = [doc for doc in docs if not (root / f"{doc}.ipynb").is_file()]
    if missing:
        raise FileNotFoundError(f"chapters not executed yet: {missing}; run "
                                "`python -m deepoptim.book run` first")
    chapters = []
    for doc in docs:
        path = root / f"{doc}.ipynb"
        notebook = json.loads(path.read_text())
        metadata = notebook.get("metadata", {}).get(METADATA_KEY, {})
        run = metadata.get("parameters")
        if not isinstance(run, dict) or not {"profile", "device"} <= run.keys():
            raise ValueError(f"Invalid chapter value: {str(path)!r} (no run parameters under "
                             f"metadata[{METADATA_KEY!r}]; execute it with "
                             "`python -m deepoptim.book run`)")
        run = {**run, "device": metadata.get("ran_on", run["device"])}
        title = _title(notebook, default=Path(doc).name)
        record = read_claims(notebook)
        if record is None:
            chapters.append(ChapterClaims(doc, title, run))
            continue
        try:
            rows = claims_table(record["claims"]).to_dict("records")
            seeds = tuple(int(seed) for seed in record["seeds"])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"Invalid chapter value: {str(path)!r} (its claims record is not "
                             f"what glue_claims writes: {error})") from error
        chapters.append(ChapterClaims(doc, title, run, seeds, tuple(rows)))
    return chapters


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> list[str]:
    """A MyST pipe table; ``align`` has one letter per column, ``l`` or ``r``. The cells must
    already be Markdown (see :func:`markdown_text`)."""
    rule = [":--" if a == "l" else "--:" for a in align]
    return [f"| {' | '.join(cells)} |" for cells in (header, rule, *rows)]


def _run_line(chapter: ChapterClaims) -> str:
    run = chapter.run
    parts = [f"profile `{markdown_text(run['profile'])}`",
             f"device `{markdown_text(run['device'])}`"]
    if chapter.claims is not None:
        seeds = ", ".join(str(seed) for seed in chapter.seeds)
        parts.append(f"{'seed' if len(chapter.seeds) == 1 else 'seeds'} {seeds}")
    return "Run: " + ", ".join(parts) + "."


def claims_page(chapters: Sequence[ChapterClaims]) -> str:
    """The "Claims and verdicts" page (MyST Markdown) of the given chapters."""
    lines = [
        "(claims-and-verdicts)=",
        "# Claims and verdicts",
        "",
        "Every chapter ends by setting the claims of its sources beside what it measured. This "
        "page collects those tables from the executed chapters each time the book is built, so "
        "it shows the chapters' own numbers. A verdict holds for the run stated under the "
        "chapter's title (its profile, device and seeds); a larger run may reach another one.",
    ]
    totals: Counter = Counter()
    for chapter in chapters:
        lines += ["", f"## {chapter.link}", "", _run_line(chapter), ""]
        if chapter.claims is None:
            lines.append("This chapter records no claims table.")
            continue
        totals += chapter.counts()
        lines += _table([_HEADERS[column] for column in COLUMNS],
                        [[markdown_text(row[column]) for column in COLUMNS]
                         for row in chapter.claims], "l" * len(COLUMNS))
    silent = sum(chapter.claims is None for chapter in chapters)
    lines += ["", "## Verdicts across the book", "",
              "A verdict is counted by the words *agrees*, *partly* and *disagrees* in it: "
              "a verdict that names one of them counts as that one, a verdict that names "
              "several (one case agrees, another does not) as *partly*, and a verdict that "
              "names none as *other*.", ""]
    lines += _table(["Verdict", "Claims"],
                    [*([kind, str(totals[kind])] for kind in VERDICT_KINDS),
                     ["all", str(sum(totals.values()))]], "lr")
    lines += ["", f"Chapters: {len(chapters)}, of which {silent} "
                  f"{'records' if silent == 1 else 'record'} no claims table."]
    return "\n".join(lines) + "\n"


def at_a_glance(chapters: Sequence[ChapterClaims]) -> str:
    """The results-at-a-glance table (MyST Markdown): per chapter, its claims, how many of
    their verdicts are of each kind, and its profile; then the whole book."""
    rows, totals = [], Counter()
    for chapter in chapters:
        profile = markdown_text(chapter.run["profile"])
        if chapter.claims is None:
            rows.append([chapter.link, "none", *["–"] * len(VERDICT_KINDS), profile])
            continue
        counts = chapter.counts()
        totals += counts
        rows.append([chapter.link, str(len(chapter.claims)),
                     *(str(counts[kind]) for kind in VERDICT_KINDS), profile])
    profiles = sorted({str(chapter.run["profile"]) for chapter in chapters})
    rows.append(["**All chapters**", f"**{sum(totals.values())}**",
                 *(f"**{totals[kind]}**" for kind in VERDICT_KINDS),
                 markdown_text(", ".join(profiles))])
    header = ["Chapter", "Claims", "Agree", "Partly", "Disagree", "Other", "Profile"]
    return "\n".join(_table(header, rows, "lrrrrrl")) + "\n"


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` atomically (a temporary file in the same directory, renamed
    into place) unless the file already holds exactly ``text``; return whether it wrote."""
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, scratch = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(scratch, path)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise
    return True


def write_pages(root: Path) -> list[Path]:
    """Generate the claims page and the at-a-glance table of the book at ``root`` from its
    executed chapters; return the pages that were (re)written, none when both were current.

    Every chapter is read before anything is written, so a bad chapter leaves the pages as
    they were (see :func:`read_chapters` for the errors).
    """
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be a path, got {type(root).__name__}")
    root = Path(root)
    chapters = read_chapters(root)
    pages = {root / CLAIMS_PAGE: claims_page(chapters),
             root / AT_A_GLANCE_PAGE: at_a_glance(chapters)}
    return [path for path, text in pages.items() if write_if_changed(path, text)]
