"""Writers for data/processed: each file is written whole or not at all (temp file + rename)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

PUBLISHED_FILE_MODE = 0o644


def _write_atomically(path: Path, write: Callable[[Path], None]) -> Path:
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


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a DataFrame as Parquet, atomically."""
    return _write_atomically(Path(path), lambda tmp: table.to_parquet(tmp, index=False))


def read_table(path: str | Path) -> pd.DataFrame:
    return pd.read_parquet(path)


def write_json(content: Any, path: str | Path) -> Path:
    """Write JSON (UTF-8, indented), atomically."""
    text = json.dumps(content, indent=2, ensure_ascii=False, default=str)
    return _write_atomically(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))
