"""CSV files read as text and validated against a declared schema (pandera): the way every raw
CSV enters the pipeline (the facts tables, the sample, the fetch manifests), so that a bad cell is
reported with its file, line and column instead of silently becoming NaN."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from helpers.errors import InvalidDataError

CSV_HEADER_LINES = 1  # a record with row label i starts on line i + 2 (see read_csv_text)
_BOOLEAN_TEXT = {"true": True, "false": False}


def _record_lines(path: Path) -> list[int]:
    """The line on which each data record starts (blank lines are skipped, as pandas does)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        lines, start = [], 1
        for record in reader:
            if record:
                lines.append(start)
            start = reader.line_num + 1
    return lines[CSV_HEADER_LINES:]


def read_csv_text(path: str | Path) -> pd.DataFrame:
    """Read a CSV with every cell as stripped text and empty cells as missing.

    Row labels are such that label + 2 is the line the record starts on, also after blank lines
    or cells spanning several lines (error messages name that line).
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidDataError(path, "file not found")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        lines = _record_lines(path)
    except (
        pd.errors.ParserError,
        pd.errors.EmptyDataError,
        UnicodeDecodeError,
        csv.Error,
    ) as error:
        raise InvalidDataError(path, f"not a readable CSV file ({error})") from error
    if len(lines) == len(table):
        table.index = pd.Index(lines) - (CSV_HEADER_LINES + 1)
    table.columns = [str(c).strip() for c in table.columns]
    table = table.apply(lambda column: column.str.strip())
    return table.replace("", pd.NA)


def parse_flags(table: pd.DataFrame, schema: pa.DataFrameSchema, path: Path) -> pd.DataFrame:
    """Turn 'true'/'false' text into booleans in the schema's boolean columns."""
    problems = []
    for name, column in schema.columns.items():
        if str(column.dtype) != "bool" or name not in table:
            continue
        parsed = table[name].str.lower().map(_BOOLEAN_TEXT)
        for row in parsed.index[parsed.isna()]:
            value = table.at[row, name]
            problem = "the cell is empty" if pd.isna(value) else f"{value!r} is not true or false"
            problems.append(f"line {row + CSV_HEADER_LINES + 1}, column '{name}': {problem}")
        table[name] = parsed
    if problems:
        raise InvalidDataError(path, problems)
    return table.astype({n: bool for n, c in schema.columns.items() if str(c.dtype) == "bool"})


def _describe_failure(case: pd.Series, line_offset: int) -> str:
    check = str(case["check"])
    column = case["column"]
    value = case["failure_case"]
    if check == "column_in_dataframe":
        return f"required column '{value}' is missing"
    if check == "column_in_schema":
        return f"unexpected column '{value}'"
    where = f"column '{column}'"
    if pd.notna(case["index"]):
        where = f"line {int(case['index']) + line_offset}, {where}"
    if check.startswith("coerce_dtype") or check.startswith("dtype"):
        wanted = "a date (YYYY-MM-DD)" if "datetime" in check else "a number"
        return f"{where}: {value!r} is not {wanted}"
    if check == "not_nullable":
        return f"{where}: the cell is empty"
    if "unique" in check or check.startswith("field_uniqueness"):
        return f"{where}: {value!r} is duplicated"
    return f"{where}: {value!r} fails the check '{check}'"


def validate(
    table: pd.DataFrame, schema: pa.DataFrameSchema, path: Path, line_offset: int = 2
) -> pd.DataFrame:
    """Validate (and coerce) `table` against `schema`, naming lines and columns on failure."""
    try:
        return schema.validate(table, lazy=True).reset_index(drop=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases.drop_duplicates(subset=["column", "check", "index"])
        checks = cases["check"].astype(str)
        # Checks across columns (e.g. end >= start) fail once per cell of a failing row.
        row_checks = {str(check.error or check.name) for check in schema.checks}
        across = cases["schema_context"].eq("DataFrameSchema") & checks.isin(row_checks)
        coerced = checks.str.startswith("coerce_dtype")
        if coerced.any():
            # A failed coercion is also reported as a failed dtype check: say it once. Other
            # checks of that column, and checks across columns, then ran on uncoerced text:
            # their failures mean nothing.
            uncoerced = cases["column"].isin(cases.loc[coerced, "column"]) & cases["index"].isna()
            keep = coerced | ~(checks.str.startswith("dtype(") | uncoerced | across)
            cases, across = cases[keep], across[keep]
        problems = [_describe_failure(case, line_offset) for _, case in cases[~across].iterrows()]
        for _, case in cases[across].drop_duplicates(subset=["check", "index"]).iterrows():
            if pd.notna(case["index"]):
                problems.append(f"line {int(case['index']) + line_offset}: {case['check']}")
            else:
                problems.append(f"{case['check']} (not checked: {case['failure_case']})")
        raise InvalidDataError(path, problems) from None
