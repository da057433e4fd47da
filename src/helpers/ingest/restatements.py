"""The same figures given more than once: in several downloads of an issuer's file, or in an
N-PORT filing and its amendments. The latest counts; where it differs from the one before, the
change is a restatement, kept in a table (data/processed/restatements.parquet) and reported on the
cleaning page, never a failure (issuers and filers correct their figures).
"""

from __future__ import annotations

import pandas as pd

RESTATEMENT_COLUMNS = [
    "ticker",
    "date",
    "source",
    "value",
    "old_value",
    "new_value",
    "old_file",
    "new_file",
]


def no_restatements() -> pd.DataFrame:
    """An empty restatements table, with its columns and types."""
    return pd.DataFrame(
        {
            "ticker": pd.Series(dtype=str),
            "date": pd.Series(dtype="datetime64[us]"),
            **{column: pd.Series(dtype=str) for column in ("source", "value")},
            **{column: pd.Series(dtype="float64") for column in ("old_value", "new_value")},
            **{column: pd.Series(dtype=str) for column in ("old_file", "new_file")},
        }
    )


def latest_values(
    rows: pd.DataFrame, key: list[str], values: list[str], order: list[str], date: str = "date"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """For each `key` of `rows`, the row that comes last in `order` (e.g. the time of download),
    and the restatements: every value of `values` that differs from the one given for the same
    key by the row before it in `order` (two missing values are equal).

    `rows` has the columns `key`, `values`, `order`, `date` (the figure's date, for the table),
    ticker, source and file (the file each row was read from, named in the restatements).
    Returns (the latest rows in the order of `key`, the restatements: RESTATEMENT_COLUMNS).
    """
    ordered = rows.sort_values([*key, *order], kind="stable", ignore_index=True)
    earlier = ordered.groupby(key, sort=False)[[*values, "file"]].shift()
    has_earlier = earlier["file"].notna()
    changes = []
    for value in values:
        new, old = ordered[value], earlier[value]
        changed = has_earlier & ~((new == old) | (new.isna() & old.isna()))
        if changed.any():
            changes.append(
                pd.DataFrame(
                    {
                        "ticker": ordered.loc[changed, "ticker"].astype(str),
                        "date": ordered.loc[changed, date],
                        "source": ordered.loc[changed, "source"].astype(str),
                        "value": value,
                        "old_value": old[changed].astype("float64"),
                        "new_value": new[changed].astype("float64"),
                        "old_file": earlier.loc[changed, "file"].astype(str),
                        "new_file": ordered.loc[changed, "file"].astype(str),
                    }
                )
            )
    latest = ordered.drop_duplicates(key, keep="last").reset_index(drop=True)
    if not changes:
        return latest, no_restatements()
    restated = pd.concat(changes, ignore_index=True)
    restated["date"] = restated["date"].astype("datetime64[us]")
    return latest, restated.sort_values(["ticker", "date", "value"], ignore_index=True)
