"""The book's ledger on synthetic executed chapters: toc order, chapters without a claims record,
verdict counts, escaping, unchanged pages left alone, bad input, and a strict Jupyter Book build
of a tiny book that shows both generated pages."""

import html
import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from deepoptim import book, claims, ledger

ROOT = Path(__file__).resolve().parents[2]
ODD_TITLE = "A | title with `code`, $x$ and *stars*"
ODD_CLAIM = "loss <b>halves</b> | twice\nas fast & $2x$ with `c` and {{ x }} *not bold* [a](b)"
RUNS = {"01_odd": {"profile": "quick", "device": "cpu", "seed": 0},
        "02_plain": {"profile": "full", "device": "cuda", "seed": 3},
        "03_silent": {"profile": "quick", "device": "cpu", "seed": 0}}
RECORDS = {
    "01_odd": {"seeds": [0, 1], "claims": [
        {"claim": ODD_CLAIM, "source": "Paper 2020, Table 1", "published": "0.5",
         "ours": "0.49 ± 0.01", "verdict": "agrees"},
        {"claim": "fewer forward passes", "source": "Paper 2020", "ours": "2.3",
         "verdict": "disagrees: every step searches"},
        {"claim": "no tuning needed", "source": "Paper 2020", "ours": "1 of 3",
         "verdict": "Partly"}]},
    "02_plain": {"seeds": [3], "claims": [
        {"claim": "sparser", "source": "Paper 2021", "ours": "60%", "verdict": "agrees."},
        {"claim": "as accurate", "source": "Paper 2021", "ours": "-2 points",
         "verdict": "comparable only at equal budgets"}]},
}
TOC = """format: jb-book
root: book/intro
parts:
  - caption: Part A
    chapters:
      - file: book/executed/02_plain
      - file: book/executed/01_odd
  - caption: Part B
    chapters:
      - file: book/prose
      - file: book/executed/03_silent
  - caption: Back matter
    chapters:
      - file: book/generated/claims
"""
INTRO = "# Tiny\n\n```{include} generated/at_a_glance.md\n```\n\nSee {ref}`claims-and-verdicts`.\n"


def glue_output(name: str, value) -> dict:
    """A glue output as papermill stores it: the repr of the value under its record mime type."""
    return nbformat.v4.new_output(
        "display_data", data={"application/papermill.record/text/plain": repr(value)},
        metadata={"scrapbook": {"mime_prefix": "application/papermill.record/", "name": name}})


def write_executed(root: Path, stem: str, title: str, run: dict, record: dict | None,
                   ran_on: str | None = None) -> Path:
    """An executed chapter as the pipeline leaves it: a title, code cells with glued values, the
    run's parameters (and the device it ran on, when given) in the notebook's metadata, and the
    claims record when there is one."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    notebook.metadata[book.METADATA_KEY] = {"hash": "0" * 64, "parameters": run, "seconds": 1.0}
    if ran_on is not None:
        notebook.metadata[book.METADATA_KEY]["ran_on"] = ran_on
    notebook.cells = [
        nbformat.v4.new_markdown_cell(f"(chapter-{stem})=\n# {title}\n\nWhat it does."),
        nbformat.v4.new_code_cell("glue('loss', 0.25)", outputs=[glue_output("loss", 0.25)]),
    ]
    if record is not None:
        table = claims.claims_table(record["claims"])
        value = json.dumps({"seeds": record["seeds"], "claims": table.to_dict("records")})
        notebook.cells.append(nbformat.v4.new_code_cell(
            "glue_claims(table, seeds)", outputs=[glue_output(claims.CLAIMS_KEY, value)]))
    path = root / book.EXECUTED_DIR / f"{stem}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


@pytest.fixture
def ledger_book(tmp_path) -> Path:
    """A book whose toc lists two chapters out of file order, a prose page and a chapter that
    recorded no claims; its config parses Markdown with the real book's MyST extensions."""
    parse = yaml.safe_load((ROOT / "_config.yml").read_text())["parse"]
    config = {"title": "Tiny", "only_build_toc_files": True, "exclude_patterns": ["_build"],
              "execute": {"execute_notebooks": "off"}, "parse": parse}
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config))
    (tmp_path / "_toc.yml").write_text(TOC)
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "intro.md").write_text(INTRO)
    (tmp_path / "book" / "prose.md").write_text("# Prose\n\nNot a chapter.\n")
    write_executed(tmp_path, "01_odd", ODD_TITLE, RUNS["01_odd"], RECORDS["01_odd"])
    write_executed(tmp_path, "02_plain", "Plain", RUNS["02_plain"], RECORDS["02_plain"])
    write_executed(tmp_path, "03_silent", "Silent", RUNS["03_silent"], None)
    return tmp_path


def test_the_chapters_are_read_in_toc_order_with_their_runs_and_records(ledger_book):
    assert ledger.toc_chapters(ledger_book) == [
        "book/executed/02_plain", "book/executed/01_odd", "book/executed/03_silent"]
    chapters = ledger.read_chapters(ledger_book)
    assert [c.title for c in chapters] == ["Plain", ODD_TITLE, "Silent"]
    assert [c.run for c in chapters] == [RUNS["02_plain"], RUNS["01_odd"], RUNS["03_silent"]]
    assert chapters[1].seeds == (0, 1) and chapters[1].claims[0]["claim"] == ODD_CLAIM
    assert chapters[1].claims[1]["published"] == ""  # filled in as claims_table does
    assert chapters[2].claims is None and chapters[2].seeds == ()


def test_the_claims_page_has_every_chapter_in_toc_order(ledger_book):
    ledger.write_pages(ledger_book)
    page = (ledger_book / ledger.CLAIMS_PAGE).read_text()
    headings = [line for line in page.splitlines() if line.startswith("## ")]
    assert headings == [
        "## [Plain](/book/executed/02_plain.ipynb)",
        f"## [{ledger.markdown_text(ODD_TITLE)}](/book/executed/01_odd.ipynb)",
        "## [Silent](/book/executed/03_silent.ipynb)",
        "## Verdicts across the book",
    ]
    sections = page.split("\n## ")
    assert "Run: profile `full`, device `cuda`, seed 3." in sections[1]
    assert "Run: profile `quick`, device `cpu`, seeds 0, 1." in sections[2]
    assert "This chapter records no claims table." in sections[3]
    assert "| disagrees: every step searches |" in sections[2]
    assert "records no claims table" not in sections[1] + sections[2]


def test_the_run_line_names_the_device_the_chapter_ran_on(ledger_book):
    run = {"profile": "full", "device": "auto", "seed": 0}
    write_executed(ledger_book, "02_plain", "Plain", run, RECORDS["02_plain"],
                   ran_on="cuda:0 (NVIDIA H200)")
    write_executed(ledger_book, "01_odd", ODD_TITLE, run, RECORDS["01_odd"])  # recorded none
    chapters = ledger.read_chapters(ledger_book)
    assert chapters[0].run["device"] == "cuda:0 (NVIDIA H200)"
    assert chapters[1].run["device"] == "auto"
    ledger.write_pages(ledger_book)
    page = (ledger_book / ledger.CLAIMS_PAGE).read_text()
    assert "Run: profile `full`, device `cuda:0 (NVIDIA H200)`, seed 3." in page
    assert "Run: profile `full`, device `auto`, seeds 0, 1." in page


def test_verdicts_are_counted_by_kind(ledger_book):
    ledger.write_pages(ledger_book)
    page = (ledger_book / ledger.CLAIMS_PAGE).read_text()
    counts = page.split("## Verdicts across the book")[1]
    for row in ("| agrees | 2 |", "| partly | 1 |", "| disagrees | 1 |", "| other | 1 |",
                "| all | 5 |"):
        assert row in counts
    assert "Chapters: 3, of which 1 records no claims table." in counts
    glance = (ledger_book / ledger.AT_A_GLANCE_PAGE).read_text().splitlines()
    assert glance[0] == "| Chapter | Claims | Agree | Partly | Disagree | Other | Profile |"
    assert glance[2:] == [
        "| [Plain](/book/executed/02_plain.ipynb) | 2 | 1 | 0 | 0 | 1 | full |",
        f"| [{ledger.markdown_text(ODD_TITLE)}](/book/executed/01_odd.ipynb) "
        "| 3 | 1 | 1 | 1 | 0 | quick |",
        "| [Silent](/book/executed/03_silent.ipynb) | none | – | – | – | – | quick |",
        "| **All chapters** | **5** | **2** | **1** | **1** | **1** | full, quick |",
    ]


@pytest.mark.parametrize(("verdict", "kind"), [
    ("agrees", "agrees"), ("Agrees.", "agrees"), ("agrees for the initial step", "agrees"),
    ("disagrees: the exact slope is free", "disagrees"), ("partly;", "partly"),
    ("disagreement", "other"), ("", "other"), ("3.5 points higher", "other"),
    ("MLP: agrees; CNN: disagrees", "partly"), ("PLASLS: disagrees; ADAMSLS: disagrees",
                                               "disagrees"),
    ("final training loss: agrees", "agrees"), ("for η₀: AGREES; c takes its place", "agrees"),
    ("against tuned Adam: disagrees: no lower loss; at the paper's setting: agrees", "partly"),
])
def test_a_verdict_counts_by_the_kinds_it_names(verdict, kind):
    assert ledger.verdict_kind(verdict) == kind


def test_markdown_text_escapes_what_breaks_a_table_and_nothing_else():
    assert ledger.markdown_text("a | b\n  c") == r"a \| b c"
    assert ledger.markdown_text("plain 0.49 ± 0.01, 60% (MLP)") == "plain 0.49 ± 0.01, 60% (MLP)"
    assert ledger.markdown_text("$x$ `c` {{ s }} <b> &amp; *e* _u_ [l](t) #8") == (
        r"\$x\$ \`c\` \{\{ s \}\} \<b\> \&amp; \*e\* \_u\_ \[l\](t) \#8")


def test_unchanged_pages_are_not_rewritten(ledger_book):
    written = ledger.write_pages(ledger_book)
    assert written == [ledger_book / ledger.CLAIMS_PAGE, ledger_book / ledger.AT_A_GLANCE_PAGE]
    stamps = [path.stat().st_mtime_ns for path in written]
    assert ledger.write_pages(ledger_book) == []
    assert [path.stat().st_mtime_ns for path in written] == stamps

    record = {**RECORDS["02_plain"], "claims": RECORDS["02_plain"]["claims"][:1]}
    write_executed(ledger_book, "02_plain", "Plain", RUNS["02_plain"], record)
    assert ledger.write_pages(ledger_book) == written
    assert "| **All chapters** | **4** |" in written[1].read_text()
    leftovers = [p.name for p in written[0].parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_only_changed_pages_are_rewritten(ledger_book):
    ledger.write_pages(ledger_book)
    edited = [dict(row) for row in RECORDS["01_odd"]["claims"]]
    edited[0]["ours"] = "0.48 ± 0.01"  # the same verdicts: the at-a-glance counts stay
    write_executed(ledger_book, "01_odd", ODD_TITLE, RUNS["01_odd"],
                   {"seeds": [0, 1], "claims": edited})
    assert ledger.write_pages(ledger_book) == [ledger_book / ledger.CLAIMS_PAGE]


def test_bad_input_is_refused_before_anything_is_written(ledger_book):
    with pytest.raises(TypeError, match="root must be a path, got int"):
        ledger.write_pages(3)
    ledger.write_pages(ledger_book)
    before = (ledger_book / ledger.CLAIMS_PAGE).read_text()

    missing = ledger_book / book.EXECUTED_DIR / "03_silent.ipynb"
    missing.unlink()
    with pytest.raises(FileNotFoundError, match=r"not executed yet: \['book/executed/03_silent'\]"):
        ledger.write_pages(ledger_book)

    path = write_executed(ledger_book, "03_silent", "Silent", RUNS["03_silent"], None)
    notebook = json.loads(path.read_text())
    del notebook["metadata"][book.METADATA_KEY]
    path.write_text(json.dumps(notebook))
    with pytest.raises(ValueError, match=r"Invalid chapter value: '.*03_silent.ipynb' \(no run"):
        ledger.write_pages(ledger_book)

    write_executed(ledger_book, "03_silent", "Silent", RUNS["03_silent"], None)
    bad = {"seeds": [0], "claims": [{"claim": "c", "source": "s", "ours": "o"}]}
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(
        "", outputs=[glue_output(claims.CLAIMS_KEY, json.dumps(bad))]))
    nbformat.write(notebook, path)
    with pytest.raises(ValueError, match=r"03_silent.ipynb' \(its claims record .*verdict"):
        ledger.write_pages(ledger_book)
    assert (ledger_book / ledger.CLAIMS_PAGE).read_text() == before


def _cells(page: str) -> list[list[str]]:
    """The text of every table row's cells in a built HTML page."""
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page, flags=re.S)
    return [[html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
             for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S)]
            for row in rows]


def test_a_tiny_book_with_the_ledger_builds_strictly(ledger_book):
    ledger.write_pages(ledger_book)
    index = book.build(ledger_book)  # jupyter-book build -W -n: warnings fail it
    built = index.parent / "book"
    claims_rows = _cells((built / "generated" / "claims.html").read_text())
    # every claim's text comes through as it was recorded, in five cells, markup and all
    odd = next(row for row in claims_rows if row[1] == "Paper 2020, Table 1")
    assert odd == [" ".join(ODD_CLAIM.split()), "Paper 2020, Table 1", "0.5", "0.49 ± 0.01",
                   "agrees"]
    assert ["all", "5"] in claims_rows
    intro = (built / "intro.html").read_text()
    glance_rows = _cells(intro)
    assert [row[0] for row in glance_rows] == [
        "Chapter", "Plain", " ".join(ODD_TITLE.split()), "Silent", "All chapters"]
    assert 'href="executed/01_odd.html"' in intro
    assert 'href="generated/claims.html#claims-and-verdicts"' in intro
