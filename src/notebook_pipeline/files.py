"""Writers that leave no half-written file or folder: data/processed, the reports and the run
cache are written aside and put in place by renames.

Part of the engine's public base: a study's steps write their outputs with these too.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

PUBLISHED_FILE_MODE = 0o644


def write_atomically(path: Path, write: Callable[[Path], None]) -> Path:
    """Call `write` on a temporary file beside `path`, then rename it to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(Path(temporary))
        os.chmod(temporary, PUBLISHED_FILE_MODE)  # mkstemp makes it private; outputs are shared
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def move_file(source: Path, destination: Path) -> Path:
    """Move `source` to `destination` (replacing it) by one rename, so that a reader sees the
    old file or the new one, never a part; across file systems, by a copy beside `destination`
    renamed over it. Returns `destination`."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(source, destination)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        write_atomically(destination, lambda temporary: shutil.copy2(source, temporary))
        source.unlink()
    return destination


def write_json(content: Any, path: str | Path) -> Path:
    """Write JSON (UTF-8, indented), atomically."""
    text = json.dumps(content, indent=2, ensure_ascii=False, default=str)
    return write_atomically(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))


def read_json(path: str | Path) -> Any:
    """Read a JSON file written by `write_json`."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


RETIRED_PREFIX = ".retired-"  # replace_folder's name for the folder it replaces


def replace_folder(built: Path, target: Path) -> Path:
    """Put the folder `built` in the place of `target` (two renames within one file system):
    a reader finds the old folder or the new one, never a mix. A process killed between the two
    renames leaves the old folder retired: `recover_replaced_folders` puts it back."""
    retired = target.with_name(f"{RETIRED_PREFIX}{target.name}-{uuid.uuid4().hex[:8]}")
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.rename(retired)
    built.rename(target)
    shutil.rmtree(retired, ignore_errors=True)
    return target


def recover_replaced_folders(parent: Path) -> None:
    """Finish what killed `replace_folder` calls left in `parent`: a retired folder whose place
    is empty goes back to it; one whose place was filled is deleted.

    Only while nothing else can be replacing folders in `parent` (the runner holds its lock)."""
    for retired in sorted(parent.glob(f"{RETIRED_PREFIX}*")):
        target = parent / retired.name.removeprefix(RETIRED_PREFIX).rsplit("-", 1)[0]
        if target.exists():
            shutil.rmtree(retired, ignore_errors=True)
        else:
            retired.rename(target)
