"""The book pipeline on a tiny book: caching by hash, failures, chapter selection, the
kernels' set-up, parallel runs, CLI."""

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
    assert [c.stem for c in book.select_chapters(tiny_book, ["01", "01_second", "00"])] == [
        "01_second", "00_first"]  # a chapter named twice runs once
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
    assert executed.metadata["deepoptim"]["ran_on"] == "cpu"

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
    log = tiny_book / "_build" / "logs" / "00_first.log"
    assert str(log) in run.error and log.is_file()
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


def outputs(notebook: Path) -> list[str]:
    """The text of every output of every code cell, in order."""
    executed = nbformat.read(notebook, as_version=4)
    return [o.get("text") or json.dumps(o.get("data", {}), sort_keys=True)
            for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def test_the_kernel_talks_over_encrypted_channels_and_logs_to_a_file(tiny_book):
    chapter = write_chapter(tiny_book, "02_kernel", (
        "from ipykernel.kernelapp import IPKernelApp\n"
        "print('curve key:', IPKernelApp.instance().curve_secretkey is not None)"))
    run = book.execute_chapter(chapter, tiny_book, SMOKE)
    assert run.status == "executed"
    assert any("curve key: True" in text for text in outputs(run.output))
    log = (tiny_book / "_build" / "logs" / "02_kernel.log").read_text()
    assert "without encryption" not in log


def test_worker_devices_spread_cuda_devices_one_per_worker():
    assert book.worker_devices("auto", 3, visible="0,1") == ["0", "1", "0"]
    assert book.worker_devices("cuda", 2, visible="4, 6") == ["4", "6"]
    assert book.worker_devices("cuda", 2, visible="") == [None, None]  # no device visible
    assert book.worker_devices("cpu", 2, visible="0,1") == [None, None]
    assert book.worker_devices("cuda:1", 2, visible="0,1") == [None, None]  # as asked


@pytest.fixture
def four_chapters(tiny_book) -> Path:
    for stem in ("02_third", "03_fourth"):
        write_chapter(tiny_book, stem, "import math\nprint(profile, math.factorial(seed + 5))")
    return tiny_book


def test_jobs_two_gives_the_outputs_of_jobs_one_in_the_chapters_order(four_chapters, tmp_path):
    chapters = book.find_chapters(four_chapters)
    one, two = tmp_path / "one", tmp_path / "two"
    sequential = list(book.run_chapters(chapters, one, SMOKE, jobs=1))
    parallel = list(book.run_chapters(chapters, two, SMOKE, jobs=2))
    assert [r.name for r in parallel] == [c.stem for c in chapters]
    assert {r.status for r in sequential + parallel} == {"executed"}
    for a, b in zip(sequential, parallel, strict=True):
        assert b.output == two / "book" / "executed" / f"{b.name}.ipynb"
        assert outputs(a.output) == outputs(b.output)


def test_parallel_workers_each_see_one_cuda_device(four_chapters, tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    for stem in ("02_third", "03_fourth"):
        write_chapter(four_chapters, stem, "import os\nprint(os.environ['CUDA_VISIBLE_DEVICES'])")
    chapters = book.select_chapters(four_chapters, ["02", "03"])
    runs = list(book.run_chapters(chapters, four_chapters, {**SMOKE, "device": "auto"}, jobs=2))
    for run in runs:
        seen = [t for t in outputs(run.output) if t.strip() in ("3", "5")]
        assert len(seen) == 1, outputs(run.output)  # one device, not "3,5"


def test_jobs_must_be_at_least_one(tiny_book, capsys):
    with pytest.raises(ValueError, match="Invalid jobs value: 0"):
        next(book.run_chapters(book.find_chapters(tiny_book), tiny_book, SMOKE, jobs=0))
    assert book.main(["--root", str(tiny_book), "run", "--jobs", "0"]) == 1
    assert "Invalid jobs value: 0" in capsys.readouterr().err


def test_command_line_prints_one_line_per_chapter_in_order(four_chapters, capsys):
    assert book.main(["--root", str(four_chapters), "run", "--profile", "smoke",
                      "--jobs", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["[1/4]", "00_first"], ["[2/4]", "01_second"], ["[3/4]", "02_third"],
        ["[4/4]", "03_fourth"]]
    assert all("smoke: executed in" in line for line in lines)
