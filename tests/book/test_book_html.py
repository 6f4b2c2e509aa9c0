"""The book's HTML settings on a tiny book built with the repository's own configuration.

The tiny book has the real ``_config.yml``, style sheets and bibliography, and two numbered
chapters with a figure and display math each; it is built by :func:`deepoptim.book.build`
(strict). The built pages must load MathJax from the book itself (a reader offline sees
rendered math, not LaTeX), link the book's style sheet, and number chapters, sections and
figures per chapter. The real book's numbering is checked on its smoke build in
``tests/chapters``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import matplotlib
import pytest
import yaml

from deepoptim import book

matplotlib.use("agg")  # this process only draws the tiny book's figure file
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TOC = """format: jb-book
root: intro
parts:
  - caption: Part one
    numbered: true
    chapters:
      - file: first
      - file: second
"""
CHAPTER = """# {title}

A formula in the text, $\\eta_k = \\beta \\eta_{{k-1}}$, and one on its own line:

$$
g_k = \\nabla f_k(w_k), \\qquad w_{{k+1}} = w_k - \\eta_k g_k .
$$

## A section

```{{figure}} dot.png
:name: fig-{name}

A dot.
```

{{numref}}`fig-{name}` shows a dot.
"""


@pytest.fixture(scope="module")
def tiny_html(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny_html")
    shutil.copy2(ROOT / "_config.yml", root / "_config.yml")
    shutil.copytree(ROOT / "book" / "_static", root / "book" / "_static")
    shutil.copy2(ROOT / "book" / "references.bib", root / "book" / "references.bib")
    (root / "notebooks").mkdir()
    (root / "_toc.yml").write_text(TOC)
    (root / "intro.md").write_text("# A tiny book\n\nIts two chapters follow.\n")
    for name, title in (("first", "First chapter"), ("second", "Second chapter")):
        (root / f"{name}.md").write_text(CHAPTER.format(title=title, name=name))
    figure, axes = plt.subplots(figsize=(1, 1))
    axes.plot([0], [0], "o")
    figure.savefig(root / "dot.png")
    plt.close(figure)
    assert book.build(root) == root / "_build" / "html" / "index.html"
    return root / "_build" / "html"


def scripts(page: Path) -> list[str]:
    return re.findall(r'<script[^>]*src="([^"]+)"', page.read_text())


def test_math_is_served_by_the_book_itself(tiny_html):
    for name in ("first", "second"):
        page = tiny_html / f"{name}.html"
        sources = [s.split("?")[0] for s in scripts(page) if "mathjax" in s.lower()]
        assert sources == ["_static/mathjax/tex-chtml.js"], sources  # "?v=<checksum>" aside
        assert (tiny_html / "_static" / "mathjax" / "tex-chtml.js").stat().st_size > 100_000
    every_page = "".join(p.read_text() for p in tiny_html.glob("*.html"))
    assert not re.search(r"https?://[^\"']*mathjax", every_page, re.IGNORECASE)


def test_pages_link_the_books_style_sheet(tiny_html):
    page = (tiny_html / "first.html").read_text()
    assert re.search(r'<link[^>]*href="_static/math\.css', page)
    assert (tiny_html / "_static" / "math.css").read_text() == (
        ROOT / "book" / "_static" / "math.css").read_text()


def test_chapters_sections_and_figures_are_numbered_per_chapter(tiny_html):
    second = (tiny_html / "second.html").read_text()
    numbers = re.findall(r'<span class="section-number">([^<]*)</span>', second)
    assert numbers[:2] == ["2. ", "2.1. "]
    assert re.search(r'<span class="caption-number">Fig\. 2\.1 </span>', second)
    assert re.search(r"Fig\. 2\.1</span>", second)  # the {numref} resolves to it


def test_the_real_toc_numbers_every_part_but_the_back_matter():
    parts = yaml.safe_load((ROOT / "_toc.yml").read_text())["parts"]
    numbered = {part["caption"]: part.get("numbered", False) for part in parts}
    assert numbered.pop("Back matter") is False
    assert numbered and all(value is True for value in numbered.values()), numbered


def test_build_prints_only_the_path_of_the_book(tiny_html, capsys):
    root = tiny_html.parents[1]
    assert book.main(["--root", str(root), "build"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert out.startswith("book built in ") and out.rstrip().endswith(
        str(root / "_build" / "html" / "index.html"))
