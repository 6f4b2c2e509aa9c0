"""Every chapter runs in the smoke profile through the book's own code path.

The chapters are executed with :func:`deepoptim.book.execute_chapter` (the function behind
``python -m deepoptim.book run``) into a staged copy of the book, which is then built
strictly with :func:`deepoptim.book.build` (``jupyter-book build -W -n``), whose pages must
number each chapter and its figures and load MathJax from the book itself, and every
executed notebook is re-executed by nbval (``pytest --nbval-lax``) to show that the cells
marked ``# NBVAL_CHECK_OUTPUT`` give the same output twice on this machine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from deepoptim import book

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = book.find_chapters(ROOT)
SMOKE = {"profile": "smoke", "device": "cpu", "seed": 0}
BOOK_SOURCES = ("_config.yml", "_toc.yml", "book")

pytestmark = pytest.mark.slow


def test_there_are_chapters():
    assert CHAPTERS, f"no chapters found in {ROOT / 'notebooks'}"


def test_every_chapter_is_in_the_table_of_contents():
    toc = (ROOT / "_toc.yml").read_text()
    missing = [c.stem for c in CHAPTERS if f"book/executed/{c.stem}" not in toc]
    assert not missing, f"chapters missing from _toc.yml: {missing}"


def test_no_notebook_outputs_are_committed():
    tracked = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True,
                             text=True).stdout.split()
    assert not tracked, f"committed notebooks (outputs are generated): {tracked}"


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory) -> Path:
    """A copy of the book's sources (config, toc, prose) with an empty executed directory."""
    root = tmp_path_factory.mktemp("smoke_book")
    for name in BOOK_SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("executed"))
        else:
            shutil.copy2(source, root / name)
    (root / "notebooks").mkdir()
    return root


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_executes_in_smoke_profile(chapter, smoke_book):
    run = book.execute_chapter(chapter, smoke_book, SMOKE, force=True,
                               executed_dir=smoke_book / book.EXECUTED_DIR)
    assert run.status == "executed", f"{chapter.stem} failed: {run.error}"
    assert run.output.is_file()


def test_smoke_book_builds_strictly(smoke_book):
    executed = {p.stem for p in (smoke_book / book.EXECUTED_DIR).glob("*.ipynb")}
    missing = sorted({c.stem for c in CHAPTERS} - executed)
    if missing:
        pytest.fail(f"chapters did not execute, so the book cannot build: {missing}")
    shutil.copytree(ROOT / "notebooks", smoke_book / "notebooks", dirs_exist_ok=True)
    index = book.build(smoke_book)
    assert index.is_file()


def test_smoke_book_numbers_chapters_and_figures_and_serves_its_math(smoke_book):
    html = smoke_book / "_build" / "html"
    pages = sorted((html / book.EXECUTED_DIR).glob("*.html"))
    if len(pages) != len(CHAPTERS):
        pytest.fail(f"the smoke book was not built: {len(pages)} of {len(CHAPTERS)} chapters")
    for page in pages:
        text = page.read_text()
        number = re.search(r'<h1>\s*<span class="section-number">(\d+)\. </span>', text)
        assert number, f"{page.name}: the chapter's title has no number"
        figures = re.findall(r'<span class="caption-number">Fig\. (\d+)\.(\d+) </span>', text)
        assert all(chapter == number.group(1) for chapter, _ in figures), (page.name, figures)
        assert [int(k) for _, k in figures] == list(range(1, len(figures) + 1)), page.name
        assert not re.search(r"https?://[^\"']*mathjax", text, re.IGNORECASE), page.name


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_gives_the_same_numbers_twice(chapter, smoke_book):
    notebook = smoke_book / book.EXECUTED_DIR / f"{chapter.stem}.ipynb"
    if not notebook.is_file():
        pytest.fail(f"{chapter.stem} was not executed")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-q",
         "-p", "no:cacheprovider", "--rootdir", str(notebook.parent), str(notebook)],
        cwd=chapter.parent, capture_output=True, text=True,
        env={**os.environ, "DEEPOPTIM_PROGRESS": "0"},
    )
    assert result.returncode == 0, f"nbval found differences:\n{result.stdout[-6000:]}"
