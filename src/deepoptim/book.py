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
* what the kernel process itself writes to stderr (ipykernel's log, a crash's traceback:
  not the chapter's output, which the notebook records) goes to the chapter's log
  ``_build/logs/NN_slug.log`` instead of the terminal, so that parallel chapters do not
  interleave there and jupyter_client's interrupt before a kernel's shutdown, which ipykernel
  sometimes logs as "KeyboardInterrupt caught in kernel", does not look like an error; a
  failure names the log;
* the parameters cell and papermill's injected-parameters cell are tagged ``remove-cell``:
  the defaults would mislead a reader of a ``full``-profile book, so each chapter prints
  the parameters it actually ran with in its set-up cell instead.

Each chapter runs on its own kernel, started by papermill through jupyter_client with
CurveZMQ keys (``KernelManager.transport_encryption = "auto"``; ipykernel's kernelspec
declares support), so the kernel's messages are encrypted and ipykernel has no cause for its
"Kernel is running over TCP without encryption" warning.

:func:`run_chapters` executes several chapters at once (``jobs``): each in a worker process of
its own, so one chapter's kernel, working directory and environment never touch another's.
On a machine with several CUDA devices and ``device`` ``"auto"`` or ``"cuda"``, each worker
sees one device (``CUDA_VISIBLE_DEVICES``, round robin when there are more jobs than devices),
so the chapters' parameters, and with them their hashes, stay the same whatever device a
chapter lands on. Nothing else of a chapter's run changes (its kernel's thread count
included: that would change the order of sums, and with it the last digits), so its outputs
are those of ``jobs=1``. The runs come back in the order of the chapters, whichever finishes
first.

:func:`build` runs ``jupyter-book build . -W -n --all`` (warnings are errors; every page is
written again, so a changed style sheet is never served stale) and returns the path of
``index.html``; Jupyter Book's own report is shown only when the build fails. The command
line, which prints one line per chapter and, for ``build``, the path of the book::

    python -m deepoptim.book run [CHAPTER ...] [--profile quick] [--device auto] [--seed 0]
                                 [--jobs 1] [--force]
    python -m deepoptim.book build
    python -m deepoptim.book list

A chapter is named by its stem (``00_testbed``) or its number (``00``).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import dataclasses
import hashlib
import json
import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch

from ._checks import check_int_at_least
from .experiment import PROFILES, device_label

__all__ = [
    "ChapterRun",
    "build",
    "chapter_hash",
    "execute_chapter",
    "find_chapters",
    "find_root",
    "main",
    "run_chapters",
    "select_chapters",
    "worker_devices",
]

PARAMETER_NAMES = ("profile", "device", "seed")
EXECUTED_DIR = Path("book") / "executed"
METADATA_KEY = "deepoptim"
#: jupyter_client configuration for the chapters' kernels: CurveZMQ-encrypted channels.
KERNEL_CONFIG = {"KernelManager": {"transport_encryption": "auto"}}


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
    """The chapters named by stem or number, each once, in the order first named; all of
    them when ``names`` is empty."""
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
        if matches[0] not in selected:
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


@contextlib.contextmanager
def _stderr_to(log: Path):
    """Send file descriptor 2 (this process's stderr, inherited by the kernels it starts)
    to the file ``log`` for the duration of the block."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(log, "w") as stream:
            os.dup2(stream.fileno(), 2)
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


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
    from traitlets.config import Config

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
    log = root / "_build" / "logs" / f"{chapter.stem}.log"
    os.environ["DEEPOPTIM_PROGRESS"] = "0"  # the kernel inherits it: no progress bars in the book
    started = time.perf_counter()
    try:
        with _stderr_to(log):
            papermill.execute_notebook(
                notebook, str(scratch), parameters=parameters, cwd=str(chapter.parent),
                kernel_name="python3", language="python", progress_bar=False,
                config=Config(KERNEL_CONFIG),
            )
    except papermill.PapermillExecutionError as error:
        failed = root / "_build" / "failed" / scratch.name
        failed.parent.mkdir(parents=True, exist_ok=True)
        os.replace(scratch, failed)
        message = (f"cell {error.cell_index} (In [{error.exec_count}]) raised "
                   f"{error.ename}: {error.evalue}\n  the failed run is kept at {failed}, "
                   f"the kernel's log at {log}")
        return ChapterRun(chapter.stem, "failed", time.perf_counter() - started, output, message)
    seconds = time.perf_counter() - started

    executed = nbformat.read(scratch, as_version=4)
    for cell in executed.cells:
        tags = cell.metadata.get("tags", [])
        if "parameters" in tags or "injected-parameters" in tags:
            tags.append("remove-cell")
    executed.metadata[METADATA_KEY] = {"hash": key, "parameters": parameters,
                                       "ran_on": device_label(parameters.get("device", "auto")),
                                       "seconds": round(seconds, 2)}
    nbformat.write(executed, scratch)
    executed_dir.mkdir(parents=True, exist_ok=True)
    os.replace(scratch, output)
    return ChapterRun(chapter.stem, "executed", seconds, output)


def worker_devices(device: str, jobs: int, visible: str | None = None) -> list[str | None]:
    """The ``CUDA_VISIBLE_DEVICES`` of each of ``jobs`` workers; ``None``: leave it as it is.

    Only ``device`` ``"auto"`` or ``"cuda"`` is spread over the CUDA devices, one per worker
    in turn; ``"cpu"`` and a numbered ``"cuda:N"`` leave every worker as it is. ``visible``
    is the current ``CUDA_VISIBLE_DEVICES`` (default: read from the environment); when it is
    unset, the devices are those torch counts.
    """
    if device not in ("auto", "cuda"):
        return [None] * jobs
    visible = os.environ.get("CUDA_VISIBLE_DEVICES") if visible is None else visible
    if visible is None:
        devices = [str(index) for index in range(torch.cuda.device_count())]
    else:
        devices = [d.strip() for d in visible.split(",") if d.strip()]
    if not devices:
        return [None] * jobs
    return [devices[slot % len(devices)] for slot in range(jobs)]


def _claim_device(slots) -> None:
    """Worker initializer: take one slot of :func:`worker_devices` for this process."""
    device = slots.get()
    if device is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = device


def run_chapters(chapters: Sequence[Path], root: Path, parameters: dict, *,
                 force: bool = False, jobs: int = 1) -> Iterator[ChapterRun]:
    """Execute ``chapters`` with :func:`execute_chapter`, ``jobs`` at a time.

    Yields each chapter's :class:`ChapterRun` in the order of ``chapters``, as soon as it and
    every chapter before it are done. With ``jobs > 1`` each chapter runs in a worker process
    (spawned, so nothing of this process's state is shared), on one CUDA device of its own
    when there are several (:func:`worker_devices`); a script that calls this with
    ``jobs > 1`` must do so under ``if __name__ == "__main__":``, as for any spawned pool.
    """
    check_int_at_least("jobs", jobs, 1)
    jobs = min(jobs, len(chapters))
    if jobs <= 1:
        for chapter in chapters:
            yield execute_chapter(chapter, root, parameters, force=force)
        return
    context = multiprocessing.get_context("spawn")
    slots = context.Queue()
    for device in worker_devices(parameters.get("device", "auto"), jobs):
        slots.put(device)
    pool = concurrent.futures.ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_claim_device, initargs=(slots,))
    try:
        futures = [pool.submit(execute_chapter, chapter, root, parameters, force=force)
                   for chapter in chapters]
        for future in futures:
            yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def build(root: Path) -> Path:
    """Build the HTML book strictly (``jupyter-book build -W -n --all``); return ``index.html``.

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
               "build", str(root), "-W", "-n", "--keep-going", "--all"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"jupyter-book build failed:\n{result.stdout}\n{result.stderr}")
    return root / "_build" / "html" / "index.html"


def _run(args: argparse.Namespace, root: Path) -> int:
    """One line per chapter, in the chapters' order; a failure adds where its run is kept."""
    parameters = {"profile": args.profile, "device": args.device, "seed": args.seed}
    chapters = select_chapters(root, args.chapters)
    width = max((len(c.stem) for c in chapters), default=0)
    failures = 0
    runs = run_chapters(chapters, root, parameters, force=args.force, jobs=args.jobs)
    for number, run in enumerate(runs, 1):
        head = f"[{number}/{len(chapters)}] {run.name:<{width}}  {args.profile}:"
        if run.status == "cached":
            print(f"{head} cached (unchanged since its last run)", flush=True)
        elif run.status == "executed":
            print(f"{head} executed in {run.seconds:.1f} s", flush=True)
        else:
            failures += 1
            print(f"{head} FAILED after {run.seconds:.1f} s: {run.error}", flush=True)
    if failures:
        print(f"error: {failures} of {len(chapters)} chapters failed", file=sys.stderr)
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
    run.add_argument("--jobs", type=int, default=1, help="chapters executed at once, each on "
                     "its own kernel (and CUDA device, when there are several); default 1")
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
