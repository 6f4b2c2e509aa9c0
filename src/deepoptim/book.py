"""The book pipeline: execute the chapters with papermill, build the HTML with Jupyter Book.

Chapters are Jupytext percent-format sources ``notebooks/NN_slug.py`` with one cell
tagged ``parameters`` (``profile``, ``device``, ``seed``). :func:`execute_chapter` reads a
source with Jupytext, runs it with papermill and the given parameters, and writes
``book/executed/NN_slug.ipynb``:

* the executed notebook records, in its metadata under ``deepoptim``, a hash of the
  chapter source, the library sources (every ``.py`` file of the installed ``deepoptim``)
  and the parameters; a chapter whose hash is unchanged is not run again unless forced;
* the notebook is executed into a scratch file and moved into place only on success, so
  a failing chapter leaves its previous executed notebook and the rest of the book
  intact; the failed run is kept under ``_build/failed/`` and the failing cell is named;
* the parameters cell and papermill's injected-parameters cell are tagged ``remove-cell``:
  the defaults would mislead a reader of a ``full``-profile book, so each chapter prints
  the parameters it actually ran with in its set-up cell instead.

:func:`build` runs ``jupyter-book build . -W -n`` (warnings are errors). The command line::

    python -m deepoptim.book run [CHAPTER ...] [--profile quick] [--device auto] [--seed 0]
                                 [--force]
    python -m deepoptim.book build
    python -m deepoptim.book list

A chapter is named by its stem (``00_testbed``) or its number (``00``).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .experiment import PROFILES

__all__ = [
    "ChapterRun",
    "build",
    "chapter_hash",
    "execute_chapter",
    "find_chapters",
    "find_root",
    "main",
    "select_chapters",
]

PARAMETER_NAMES = ("profile", "device", "seed")
EXECUTED_DIR = Path("book") / "executed"
METADATA_KEY = "deepoptim"


def find_root(start: Path | None = None) -> Path:
    """The nearest directory at or above ``start`` with ``_toc.yml`` and ``notebooks/``."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "_toc.yml").is_file() and (candidate / "notebooks").is_dir():
            return candidate
    raise FileNotFoundError(
        f"no book root (a directory with _toc.yml and notebooks/) at or above {here}"
    )


def find_chapters(root: Path) -> list[Path]:
    """Every chapter source ``notebooks/NN_slug.py``, in order."""
    return sorted(p for p in (root / "notebooks").glob("[0-9][0-9]_*.py"))


def select_chapters(root: Path, names: Sequence[str]) -> list[Path]:
    """The chapters named by stem or number; all of them when ``names`` is empty."""
    chapters = find_chapters(root)
    if not names:
        return chapters
    selected = []
    for name in names:
        matches = [c for c in chapters if name in (c.stem, c.stem.split("_", 1)[0], c.name)]
        if len(matches) != 1:
            raise ValueError(
                f"Invalid chapter value: {name!r} (choose from {[c.stem for c in chapters]})"
            )
        selected.append(matches[0])
    return selected


def _library_files() -> list[Path]:
    package = Path(__file__).resolve().parent
    return sorted(package.rglob("*.py"))


def chapter_hash(chapter: Path, parameters: dict) -> str:
    """sha256 of the chapter source, every library source file and the parameters."""
    digest = hashlib.sha256()
    digest.update(chapter.read_bytes())
    package = Path(__file__).resolve().parent
    for path in _library_files():
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    digest.update(json.dumps(parameters, sort_keys=True).encode())
    return digest.hexdigest()


@dataclasses.dataclass
class ChapterRun:
    """The outcome of one chapter: ``status`` is ``"executed"``, ``"cached"`` or ``"failed"``."""

    name: str
    status: str
    seconds: float
    output: Path
    error: str = ""


def _recorded_hash(path: Path) -> str | None:
    if not path.is_file():
        return None
    try:
        metadata = json.loads(path.read_text())["metadata"]
        return metadata.get(METADATA_KEY, {}).get("hash")
    except (ValueError, KeyError, TypeError):
        return None


def _check_parameters_cell(notebook, chapter: Path) -> None:
    cells = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"{chapter.name}: needs exactly one cell tagged 'parameters'")
    missing = [n for n in PARAMETER_NAMES if f"{n} =" not in cells[0].source]
    if missing:
        raise ValueError(f"{chapter.name}: the parameters cell does not set {missing}")


def execute_chapter(chapter: Path, root: Path, parameters: dict, *, force: bool = False,
                    executed_dir: Path | None = None) -> ChapterRun:
    """Execute one chapter into ``<executed_dir>/<stem>.ipynb`` unless its hash is unchanged.

    ``executed_dir`` defaults to ``<root>/book/executed``. A chapter whose execution
    fails returns status ``"failed"`` with the failing cell and error in ``error``; the
    previous executed notebook is left as it was.
    """
    import jupytext
    import nbformat
    import papermill

    unknown = set(parameters) - set(PARAMETER_NAMES)
    if unknown:
        raise ValueError(f"Invalid parameters value: {sorted(unknown)} (allowed {PARAMETER_NAMES})")
    executed_dir = executed_dir or root / EXECUTED_DIR
    output = executed_dir / f"{chapter.stem}.ipynb"
    key = chapter_hash(chapter, parameters)
    if not force and _recorded_hash(output) == key:
        return ChapterRun(chapter.stem, "cached", 0.0, output)

    notebook = jupytext.read(chapter)
    _check_parameters_cell(notebook, chapter)
    scratch = root / "_build" / "running" / f"{chapter.stem}.ipynb"
    scratch.parent.mkdir(parents=True, exist_ok=True)
    os.environ["DEEPOPTIM_PROGRESS"] = "0"  # the kernel inherits it: no progress bars in the book
    started = time.perf_counter()
    try:
        papermill.execute_notebook(
            notebook, str(scratch), parameters=parameters, cwd=str(chapter.parent),
            kernel_name="python3", language="python", progress_bar=False,
        )
    except papermill.PapermillExecutionError as error:
        failed = root / "_build" / "failed" / scratch.name
        failed.parent.mkdir(parents=True, exist_ok=True)
        os.replace(scratch, failed)
        message = (f"cell {error.cell_index} (In [{error.exec_count}]) raised "
                   f"{error.ename}: {error.evalue}\n  the failed run is kept at {failed}")
        return ChapterRun(chapter.stem, "failed", time.perf_counter() - started, output, message)
    seconds = time.perf_counter() - started

    executed = nbformat.read(scratch, as_version=4)
    for cell in executed.cells:
        tags = cell.metadata.get("tags", [])
        if "parameters" in tags or "injected-parameters" in tags:
            tags.append("remove-cell")
    executed.metadata[METADATA_KEY] = {"hash": key, "parameters": parameters,
                                       "seconds": round(seconds, 2)}
    nbformat.write(executed, scratch)
    executed_dir.mkdir(parents=True, exist_ok=True)
    os.replace(scratch, output)
    return ChapterRun(chapter.stem, "executed", seconds, output)


def build(root: Path, *, quiet: bool = False) -> Path:
    """Build the HTML book strictly (``jupyter-book build -W -n``); return ``index.html``.

    Raises ``FileNotFoundError`` naming the chapters that have no executed notebook,
    and ``RuntimeError`` with Jupyter Book's output when the build fails.
    """
    missing = [c.stem for c in find_chapters(root)
               if not (root / EXECUTED_DIR / f"{c.stem}.ipynb").is_file()]
    if missing:
        raise FileNotFoundError(
            f"chapters not executed yet: {missing}; run `python -m deepoptim.book run` first"
        )
    from .ledger import write_pages  # here: the ledger reads this module's constants

    write_pages(root)
    command = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
               "build", str(root), "-W", "-n", "--keep-going"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"jupyter-book build failed:\n{result.stdout}\n{result.stderr}")
    if not quiet:
        print(result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "")
    return root / "_build" / "html" / "index.html"


def _run(args: argparse.Namespace, root: Path) -> int:
    parameters = {"profile": args.profile, "device": args.device, "seed": args.seed}
    chapters = select_chapters(root, args.chapters)
    failures = 0
    total = time.perf_counter()
    for number, chapter in enumerate(chapters, 1):
        print(f"[{number}/{len(chapters)}] {chapter.stem} ({args.profile}) ...", flush=True)
        run = execute_chapter(chapter, root, parameters, force=args.force)
        if run.status == "cached":
            print(f"    cached: unchanged since its last run -> {run.output.relative_to(root)}")
        elif run.status == "executed":
            print(f"    executed in {run.seconds:.1f} s -> {run.output.relative_to(root)}")
        else:
            failures += 1
            print(f"    FAILED after {run.seconds:.1f} s: {run.error}", flush=True)
    print(f"{len(chapters) - failures}/{len(chapters)} chapters ready "
          f"in {time.perf_counter() - total:.1f} s")
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: ``run``, ``build`` and ``list``."""
    parser = argparse.ArgumentParser(prog="python -m deepoptim.book", description=__doc__.split(
        "\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=None, help="book root (default: found "
                        "from the current directory)")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="execute chapters with papermill")
    run.add_argument("chapters", nargs="*", help="stems or numbers (default: all)")
    run.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    run.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--force", action="store_true", help="re-run unchanged chapters too")
    commands.add_parser("build", help="build the HTML book with jupyter-book (strict)")
    commands.add_parser("list", help="list the chapters and their executed state")
    args = parser.parse_args(argv)
    try:
        return _dispatch(args)
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace) -> int:
    root = args.root.resolve() if args.root else find_root()
    if args.command == "run":
        return _run(args, root)
    if args.command == "build":
        started = time.perf_counter()
        index = build(root)
        print(f"book built in {time.perf_counter() - started:.1f} s: {index}")
        return 0
    for chapter in find_chapters(root):
        executed = root / EXECUTED_DIR / f"{chapter.stem}.ipynb"
        state = "executed" if executed.is_file() else "not executed"
        if executed.is_file():
            meta = json.loads(executed.read_text())["metadata"].get(METADATA_KEY, {})
            state += f" ({meta.get('parameters')}, {meta.get('seconds')} s)"
        print(f"{chapter.stem}: {state}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
