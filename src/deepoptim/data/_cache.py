"""On-disk cache for generated arrays, keyed by a hash of everything that determines them.

Files are ``<name>-<digest>.npz`` under :func:`cache_dir`. A file is written to a temporary
file in the same directory and moved into place with :func:`os.replace`, so a reader sees
either nothing or a complete file; a file that cannot be read is regenerated and overwritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

# Bump when the layout of cached files changes, so old files are never read.
_FORMAT_VERSION = 1


def cache_dir() -> Path:
    """The directory for cached data, created on demand.

    ``$DEEPOPTIM_CACHE`` if set, else ``$XDG_CACHE_HOME/deepoptim``, else
    ``~/.cache/deepoptim`` (empty variables count as unset).
    """
    if explicit := os.environ.get("DEEPOPTIM_CACHE"):
        path = Path(explicit)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        path = Path(base) / "deepoptim"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cached_arrays(
    name: str, key: Mapping[str, object], make: Callable[[], Mapping[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """Return the arrays cached for ``(name, key)``, calling ``make()`` and caching on a miss.

    ``key`` must be JSON-serialisable and hold every argument that affects the arrays
    (including versions of the code that generates them).
    """
    blob = json.dumps([name, _FORMAT_VERSION, key], sort_keys=True).encode()
    path = cache_dir() / f"{name}-{hashlib.sha256(blob).hexdigest()[:24]}.npz"
    arrays = _read(path)
    if arrays is None:
        arrays = dict(make())
        try:
            _write_atomically(path, arrays)
        except OSError as err:
            warnings.warn(f"Could not write cache file {path}: {err}", RuntimeWarning, stacklevel=2)
    return arrays


def _read(path: Path) -> dict[str, np.ndarray] | None:
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        warnings.warn(
            f"Corrupt cache file {path} ({err}); regenerating", RuntimeWarning, stacklevel=3
        )
        return None


def _write_atomically(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            np.savez(file, **arrays)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
