"""Reading and writing the study's tables and results in data/processed.

Tables are Parquet, results JSON; every write is atomic (written aside, then renamed), with the
engine's writers, so a reader never finds a half-written file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from notebook_pipeline.files import read_json, write_atomically, write_json

__all__ = ["read_json", "read_table", "write_json", "write_table"]


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a DataFrame as Parquet, atomically."""
    return write_atomically(Path(path), lambda tmp: table.to_parquet(tmp, index=False))


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a Parquet table written by `write_table`."""
    return pd.read_parquet(path)
