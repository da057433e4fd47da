"""Readers for the raw files: each returns a validated, typed table or raises InvalidDataError."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from helpers import paths
from helpers.errors import InvalidDataError, InvalidParameterError
from helpers.ingest import fund_files
from helpers.ingest.schemas import FUND_HISTORY_SCHEMA, RAW_SCHEMAS
from helpers.tickers import as_tickers

NO_ADDRESS = "address not recorded"  # what a page shows for a source whose address is unknown
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


def _parse_flags(table: pd.DataFrame, schema: pa.DataFrameSchema, path: Path) -> pd.DataFrame:
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


def describe_source(table: pd.DataFrame) -> pd.Series:
    """One readable `source` string per row from the source columns."""
    date = table["source_date"].dt.strftime("%Y-%m-%d").fillna("date not stated")
    url = table["source_url"].fillna(NO_ADDRESS)
    return table["source_publisher"] + " (" + date + "): " + url


def read_raw_table(path: str | Path, name: str) -> pd.DataFrame:
    """Read and validate the raw facts table `name` (a key of helpers.paths.RAW_FILES)."""
    path = Path(path)
    schema = RAW_SCHEMAS[name]
    table = _parse_flags(read_csv_text(path), schema, path)
    table = validate(table, schema, path)
    table["source"] = describe_source(table)
    if "tickers" in table:
        table["tickers"] = table["tickers"].map(as_tickers)
    return table


def read_reported_flows(path: str | Path) -> pd.DataFrame:
    """The reported flow figures, with `tickers` as tuples."""
    return read_raw_table(path, "reported_flows")


def read_facts(raw_dir: str | Path) -> dict[str, pd.DataFrame]:
    """Every raw facts table in `raw_dir`, validated, by name."""
    return {name: read_raw_table(paths.raw_path(raw_dir, name), name) for name in paths.RAW_FILES}


def user_fund_files(raw_dir: str | Path, folder: str | None = None) -> list[Path]:
    """The researcher's own files in `folder` (fund_history/ or flows/; default both), sorted by
    name. Dotfiles, README files and sub-folders are ignored."""
    folders = [folder] if folder else [paths.USER_FUND_HISTORY_DIR, paths.USER_FLOWS_DIR]
    found = []
    for name in folders:
        directory = Path(raw_dir) / name
        if directory.is_dir():
            found += sorted(
                p
                for p in directory.iterdir()
                if p.is_file() and not p.name.startswith((".", "README"))
            )
    return found


def read_sample_fund_history(raw_dir: str | Path) -> pd.DataFrame:
    """The synthetic sample fund history shipped in data/raw/sample (validated)."""
    path = Path(raw_dir) / paths.SAMPLE_FUND_HISTORY
    table = _parse_flags(read_csv_text(path), FUND_HISTORY_SCHEMA, path)
    return validate(table, FUND_HISTORY_SCHEMA, path)


DUPLICATE_DATES = ("refuse", "flag")
USER_SOURCE = "your data: "  # + the file's path in the raw folder: the `source` of user rows
_VALUES = {"history": ["nav", "shares_outstanding"], "flows": ["flow_usd"]}
_FOLDER_KIND = {paths.USER_FUND_HISTORY_DIR: "history", paths.USER_FLOWS_DIR: "flows"}


@dataclass
class FundData:
    """The fund data of a run: NAV histories and/or ready-made daily flows, and their origin.

    `source` is categorical, with the same categories in both tables (one per file read): the
    same few texts on millions of rows.
    """

    history: pd.DataFrame  # date, ticker, nav, shares_outstanding, is_synthetic, source
    ready_flows: pd.DataFrame  # date, ticker, flow_usd, is_synthetic, source
    origin: str  # "sample" or "user"
    files: list[str]  # the files read, relative to the raw folder
    duplicates_dropped: int = 0  # rows repeated with identical values in another file

    @property
    def tables(self) -> list[pd.DataFrame]:
        """Both tables, histories first."""
        return [self.history, self.ready_flows]


def _read_user_files(
    raw_dir: Path, folder: str, date_format: str, sources: pd.CategoricalDtype
) -> tuple[pd.DataFrame, list[str]]:
    """The files of `folder` in one table, and the tickers found in more than one of them."""
    kind = _FOLDER_KIND[folder]
    frames, file_codes = [], []
    for path in user_fund_files(raw_dir, folder):
        frames.append(fund_files.read_fund_file(path, kind, date_format=date_format))
        file_codes.append(sources.categories.get_loc(_user_source(raw_dir, path)))
    if not frames:
        empty = _empty_fund_table(kind, sources).assign(source_row=pd.Series(dtype="int64"))
        return empty, []
    tickers = pd.Series(np.concatenate([frame["ticker"].unique() for frame in frames]))
    shared = tickers[tickers.duplicated()].unique().tolist()
    table = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    codes = np.repeat(file_codes, [len(frame) for frame in frames])
    source = pd.Categorical.from_codes(codes, dtype=sources)
    return table.assign(is_synthetic=False, source=source), shared


def _user_source(raw_dir: Path, path: Path) -> str:
    return USER_SOURCE + path.relative_to(raw_dir).as_posix()


def _empty_fund_table(kind: str, sources: pd.CategoricalDtype) -> pd.DataFrame:
    """No rows, but the columns and types of a fund table of `kind`."""
    columns = {"date": "datetime64[us]", "ticker": str}
    columns |= {name: "float64" for name in _VALUES[kind]}
    columns |= {"is_synthetic": bool, "source": sources}
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})


def _resolve_duplicates(
    table: pd.DataFrame, kind: str, duplicate_dates: str, raw_dir: Path, shared: list[str]
) -> tuple[pd.DataFrame, int]:
    """Rows repeating a (ticker, date) of an earlier file: identical ones are dropped; conflicting
    ones are refused, or with duplicate_dates="flag" the last file's row is kept and flagged.

    A file holds no (ticker, date) twice (fund_files refuses or drops repeats), so only rows of
    the `shared` tickers, found in several files, are compared.
    """
    values = _VALUES[kind]
    table = table.assign(flag_duplicate_conflict=False)
    in_several_files = table[table["ticker"].isin(shared)] if shared else table.iloc[:0]
    if not in_several_files.duplicated(["ticker", "date"]).any():
        return table, 0
    identical = table.duplicated(["ticker", "date", *values], keep="first")
    table = table[~identical]
    repeated = table.duplicated(["ticker", "date"], keep=False)
    if repeated.any() and duplicate_dates == "refuse":
        problems = []
        for (ticker, date), rows in table[repeated].groupby(["ticker", "date"]):
            where = " and ".join(
                f"{row.source.removeprefix(USER_SOURCE)} row {row.source_row}"
                for row in rows.itertuples()
            )
            problems.append(
                f"{ticker} on {date:%Y-%m-%d} has different values in {where}; remove one, or "
                "run with -p duplicate_dates=flag to keep the last file's row and flag it"
            )
        raise InvalidDataError(raw_dir, problems)
    last = ~table.duplicated(["ticker", "date"], keep="last")
    table = table[last].copy()
    table.loc[repeated[last], "flag_duplicate_conflict"] = True
    return table, int(identical.sum())


def read_fund_data(
    raw_dir: str | Path, date_format: str = "", duplicate_dates: str = "refuse"
) -> FundData:
    """The researcher's files in fund_history/ and flows/ if there are any, else the sample.

    Each file is read by helpers.ingest.fund_files (its format recognised from its content). A
    ticker may come from one folder only; a (ticker, date) in several files is resolved as
    described in `_resolve_duplicates`.
    """
    if duplicate_dates not in DUPLICATE_DATES:
        raise InvalidParameterError(
            f"duplicate_dates must be 'refuse' or 'flag'; got {duplicate_dates!r}"
        )
    raw_dir = Path(raw_dir)
    files = user_fund_files(raw_dir)
    if not files:
        history = read_sample_fund_history(raw_dir)
        history["source"] = history["source"].astype("category")
        no_flows = _empty_fund_table("flows", history["source"].dtype)
        return FundData(history, no_flows, "sample", [paths.SAMPLE_FUND_HISTORY.as_posix()])

    sources = pd.CategoricalDtype([_user_source(raw_dir, path) for path in files])
    dropped = 0
    tables = {}
    for folder, kind in _FOLDER_KIND.items():
        table, shared = _read_user_files(raw_dir, folder, date_format, sources)
        tables[kind], count = _resolve_duplicates(table, kind, duplicate_dates, raw_dir, shared)
        dropped += count
    history_tickers, flow_tickers = (set(tables[k]["ticker"].unique()) for k in _VALUES)
    both = sorted(history_tickers & flow_tickers)
    if both:
        raise InvalidDataError(
            raw_dir,
            f"ticker(s) {', '.join(both)} appear in both {paths.USER_FUND_HISTORY_DIR}/ and "
            f"{paths.USER_FLOWS_DIR}/: keep each ticker in one folder",
        )
    relative = [p.relative_to(raw_dir).as_posix() for p in files]
    history, ready = (tables[k].drop(columns="source_row") for k in ("history", "flows"))
    return FundData(history, ready, "user", relative, dropped)
