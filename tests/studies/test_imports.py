"""Only the book's chapters use the studies: no module of the library imports them."""

import ast
from pathlib import Path

import pytest

import deepoptim

PACKAGE = Path(deepoptim.__file__).parent


def imported_names(source: str, package: str) -> set[str]:
    """The absolute names of the modules, and of the names in them, that ``source`` imports;
    ``package`` is the package the source lies in (relative imports are resolved in it)."""
    parts = package.split(".")
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = parts[:len(parts) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def imports_studies(path: Path) -> bool:
    package = ".".join(path.relative_to(PACKAGE.parent).parts[:-1])
    return any(name == "deepoptim.studies" or name.startswith("deepoptim.studies.")
               for name in imported_names(path.read_text(), package))


def test_the_library_never_imports_the_studies():
    studies = PACKAGE / "studies"
    library = [path for path in sorted(PACKAGE.rglob("*.py")) if studies not in path.parents]
    assert len(library) > 20  # the scan reads the package
    assert [str(path.relative_to(PACKAGE)) for path in library if imports_studies(path)] == []
    assert imports_studies(studies / "__init__.py")  # which does import its modules


@pytest.mark.parametrize("source, package, found", [
    ("from deepoptim.studies import runs", "deepoptim", True),
    ("import deepoptim.studies.part1", "deepoptim.curvature", True),
    ("from . import studies", "deepoptim", True),
    ("from .studies.runs import Runs", "deepoptim", True),
    ("from ..studies import Runs", "deepoptim.curvature", True),
    ("from .studies import Runs", "deepoptim.curvature", False),  # deepoptim.curvature.studies
    ("from .. import registry, train", "deepoptim.studies", False),
])
def test_the_scan_resolves_relative_and_absolute_imports(source, package, found):
    names = imported_names(source, package)
    assert any(n == "deepoptim.studies" or n.startswith("deepoptim.studies.")
               for n in names) is found
