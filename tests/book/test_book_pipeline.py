"""The book pipeline on a tiny book: caching by hash, failures, chapter selection, CLI."""

import json
from pathlib import Path

import nbformat
import pytest

from deepoptim import book

HEADER = """# ---
# jupyter:
#   jupytext:
#     text_representation: {extension: .py, format_name: percent}
#   kernelspec: {display_name: Python 3, language: python, name: python3}
# ---
"""
PARAMETERS = '# %% tags=["parameters"]\nprofile = "quick"\ndevice = "auto"\nseed = 0\n'
SMOKE = {"profile": "smoke", "device": "cpu", "seed": 0}


def write_chapter(root: Path, stem: str, body: str, parameters: str = PARAMETERS) -> Path:
    path = root / "notebooks" / f"{stem}.py"
    path.write_text(HEADER + "\n" + parameters + "\n# %%\n" + body + "\n")
    return path


@pytest.fixture
def tiny_book(tmp_path) -> Path:
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    write_chapter(tmp_path, "00_first", "print(profile, seed * 2)")
    write_chapter(tmp_path, "01_second", "x = 1")
    return tmp_path


def test_find_root_walks_up(tiny_book):
    assert book.find_root(tiny_book / "notebooks") == tiny_book


def test_find_root_fails_clearly_outside_a_book(tmp_path):
    with pytest.raises(FileNotFoundError, match="no book root"):
        book.find_root(tmp_path)


def test_chapters_are_selected_by_stem_or_number(tiny_book):
    assert [c.stem for c in book.select_chapters(tiny_book, [])] == ["00_first", "01_second"]
    assert [c.stem for c in book.select_chapters(tiny_book, ["01", "00_first"])] == [
        "01_second", "00_first"]
    with pytest.raises(ValueError, match=r"Invalid chapter value: '7'.*00_first"):
        book.select_chapters(tiny_book, ["7"])


def test_hash_changes_with_source_and_parameters(tiny_book):
    chapter = tiny_book / "notebooks" / "00_first.py"
    key = book.chapter_hash(chapter, SMOKE)
    assert book.chapter_hash(chapter, SMOKE) == key
    assert book.chapter_hash(chapter, {**SMOKE, "seed": 1}) != key
    chapter.write_text(chapter.read_text() + "\n# an edit\n")
    assert book.chapter_hash(chapter, SMOKE) != key


def test_execute_then_cache_then_force(tiny_book):
    chapter = tiny_book / "notebooks" / "00_first.py"
    run = book.execute_chapter(chapter, tiny_book, SMOKE)
    assert run.status == "executed"
    executed = nbformat.read(run.output, as_version=4)
    outputs = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert any("smoke 0" in o.get("text", "") for o in outputs)  # papermill's parameters won
    for tag in ("parameters", "injected-parameters"):  # the book shows neither
        cell = next(c for c in executed.cells if tag in c.metadata.get("tags", []))
        assert "remove-cell" in cell.metadata["tags"]
    assert executed.metadata["deepoptim"]["parameters"] == SMOKE

    assert book.execute_chapter(chapter, tiny_book, SMOKE).status == "cached"
    assert book.execute_chapter(chapter, tiny_book, SMOKE, force=True).status == "executed"
    assert book.execute_chapter(chapter, tiny_book, {**SMOKE, "seed": 3}).status == "executed"


def test_a_failing_chapter_names_the_cell_and_keeps_the_previous_output(tiny_book):
    chapter = tiny_book / "notebooks" / "00_first.py"
    good = book.execute_chapter(chapter, tiny_book, SMOKE)
    before = good.output.read_bytes()
    write_chapter(tiny_book, "00_first", "x = 1\n\n# %%\nraise ValueError('boom')")
    run = book.execute_chapter(chapter, tiny_book, SMOKE)
    assert run.status == "failed"
    assert "ValueError: boom" in run.error and "cell" in run.error
    assert good.output.read_bytes() == before
    assert (tiny_book / "_build" / "failed" / "00_first.ipynb").is_file()
    assert not (tiny_book / "_build" / "running" / "00_first.ipynb").exists()


def test_a_chapter_without_the_parameters_cell_is_rejected(tiny_book):
    chapter = write_chapter(tiny_book, "02_bad", "x = 1", parameters="# %%\nprofile = 'quick'\n")
    with pytest.raises(ValueError, match="tagged 'parameters'"):
        book.execute_chapter(chapter, tiny_book, SMOKE)


def test_unknown_parameters_are_rejected_before_running(tiny_book):
    with pytest.raises(ValueError, match="Invalid parameters value"):
        book.execute_chapter(tiny_book / "notebooks" / "00_first.py", tiny_book,
                             {**SMOKE, "epochs": 3})


def test_build_names_chapters_that_were_not_executed(tiny_book):
    with pytest.raises(FileNotFoundError, match="00_first"):
        book.build(tiny_book)


def test_command_line_runs_and_lists(tiny_book, capsys):
    assert book.main(["--root", str(tiny_book), "run", "01", "--profile", "smoke"]) == 0
    assert "executed in" in capsys.readouterr().out
    assert book.main(["--root", str(tiny_book), "run", "01", "--profile", "smoke"]) == 0
    assert "cached" in capsys.readouterr().out
    assert book.main(["--root", str(tiny_book), "list"]) == 0
    listing = capsys.readouterr().out
    assert "01_second: executed" in listing and "00_first: not executed" in listing
    assert book.main(["--root", str(tiny_book), "run", "nope"]) == 1
    assert "Invalid chapter value" in capsys.readouterr().err
    meta = json.loads((tiny_book / "book/executed/01_second.ipynb").read_text())["metadata"]
    assert meta["deepoptim"]["parameters"]["profile"] == "smoke"
