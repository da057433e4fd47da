"""Parsing cells: numbers, dates and tickers, a whole column at a time.

Typed cells (numbers and dates from XLSX or Parquet) are used as they are; text is cleaned
("$1,234.5", "(1,234)", "--") and parsed, each distinct value once where that is cheaper. In a
workbook, a number in a date column is an Excel serial date (1900 date system) up to Excel's
last date; numbers above it, and numbers elsewhere, are read as digits like 20260112 (YYYYMMDD).
"""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.errors import InvalidParameterError
from helpers.ingest.fund_files.layout import TICKER_PATTERN

NO_VALUE = {"", "-", "--", "—", "n/a", "na", "nan", "none", "null"}
_GROUPED_NUMBER = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?"
_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%fZ",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%d %H:%M:%S",
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",
    "%d-%b-%Y",
    "%d-%B-%Y",
    "%d-%b-%y",
    "%d %b %Y",
    "%d %B %Y",
    "%Y%m%d",
    "%Y/%m/%d",
)
DAY_US = 86_400_000_000  # microseconds in a day
# Excel's serial number of 9999-12-31, its last date; YYYYMMDD numbers start at 10000101.
_LAST_EXCEL_SERIAL = 2_958_465
_SLASH_DATE = r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})$"
_DAY_FIRST = ("%d/%m/%Y", "%d/%m/%y")
_MONTH_FIRST = ("%m/%d/%Y", "%m/%d/%y")
_MISSING, _TEXT, _NUMBER, _DATE, _OTHER = range(5)


@dataclass
class Parsed:
    """Parsed values with masks of empty cells and of cells that could not be parsed."""

    values: np.ndarray
    missing: np.ndarray
    bad: np.ndarray
    problem: str = ""  # a problem with the whole column (e.g. ambiguous dates)
    example: str = ""  # a cell that did parse, to show what the column looks like


def _cell_kind(value: object) -> int:
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return _MISSING
    if isinstance(value, str):
        return _TEXT
    if isinstance(value, bool | np.bool_):
        return _OTHER
    if isinstance(value, int | float | decimal.Decimal | np.number):
        return _NUMBER
    if isinstance(value, dt.date):  # datetime.datetime and pd.Timestamp included
        return _DATE
    return _OTHER


def _cell_kinds(column: pd.Series) -> np.ndarray:
    """The kind of each cell of a column: typed columns at once, object columns cell by cell."""
    if pd.api.types.is_bool_dtype(column):
        return np.where(column.isna(), _MISSING, _OTHER)
    if pd.api.types.is_numeric_dtype(column):
        return np.where(column.isna(), _MISSING, _NUMBER)
    if pd.api.types.is_datetime64_any_dtype(column):
        return np.where(column.isna(), _MISSING, _DATE)
    if column.dtype == object:
        return column.map(_cell_kind).to_numpy(np.int8)
    return np.where(column.isna(), _MISSING, _TEXT)


def as_text(column: pd.Series, mask: np.ndarray) -> pd.Series:
    """The cells under `mask` as stripped text (others missing)."""
    return column.where(mask).astype("str").str.strip()


def parse_numbers(column: pd.Series) -> Parsed:
    """A column of numbers, typed or written as text ('$1,234.5', '(1,234)', '1e6', '--')."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(float, na_value=np.nan)  # typed: no text round trip
        missing = np.isnan(values)
        return Parsed(values, missing, np.isinf(values))
    kinds = _cell_kinds(column)
    values = np.full(len(column), np.nan)
    numbers = kinds == _NUMBER
    if numbers.any():
        values[numbers] = column[numbers].astype(float).to_numpy(float)
    texts = kinds == _TEXT
    missing = kinds == _MISSING
    if texts.any():
        from_text, missing[texts] = _numbers_from_text(as_text(column, texts)[texts])
        values[texts] = from_text
    return Parsed(values, missing, ~missing & ~np.isfinite(values))


def _plain_numbers(text: pd.Series) -> np.ndarray | None:
    """Text of plain numbers (the usual case) converted at once by Arrow, else None."""
    import pyarrow as pa

    try:
        numbers = pa.array(text.array).cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
        return None  # some cell needs cleaning (or is not a number)
    return np.array(numbers.to_numpy(zero_copy_only=False), dtype=float)


def _numbers_from_text(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(numbers, missing) from text like '$1,234.5', '(1,234)', '1e6', '--'."""
    missing = text.str.lower().isin(NO_VALUE).to_numpy(bool)
    plain = _plain_numbers(text.where(~missing))
    if plain is not None:
        return plain, missing
    text = text.str.replace(r"[\"'$]", "", regex=True).str.strip()
    negative = text.str.fullmatch(r"\([^()+-][^()]*\)").fillna(False).to_numpy(bool)
    text = text.str.replace(r"^\((.*)\)$", r"\1", regex=True).str.strip()
    grouped = text.str.fullmatch(_GROUPED_NUMBER).fillna(False)
    text = text.where(~grouped, text.str.replace(",", "", regex=False))
    numbers = np.array(pd.to_numeric(text, errors="coerce"), dtype=float)  # a writable copy
    numbers[missing] = np.nan
    return np.where(negative, -numbers, numbers), missing


def parse_dates(
    column: pd.Series, header: str, date_format: str, *, excel_serials: bool = False
) -> Parsed:
    """A column of dates as midnight datetime64[us]: typed, or text in one format throughout.

    `date_format` (may be "") is tried first; ambiguous slash dates without it are a problem of
    the whole column (`Parsed.problem`). With `excel_serials` (a workbook's column), numbers up
    to Excel's last serial date are Excel serial dates.
    """
    if pd.api.types.is_datetime64_any_dtype(column):  # typed: no text round trip
        values = _typed_dates(column)
        return Parsed(values, np.isnat(values), np.zeros(len(values), dtype=bool))
    kinds = _cell_kinds(column)
    values = np.full(len(column), np.datetime64("NaT"), dtype="datetime64[us]")
    typed = kinds == _DATE
    if typed.any():
        values[typed] = _typed_dates(pd.to_datetime(column[typed]))
    serial = _excel_serials(column, kinds) if excel_serials else np.zeros(len(column), bool)
    if serial.any():
        values[serial] = _excel_dates(column[serial])
    texts = (kinds == _TEXT) | ((kinds == _NUMBER) & ~serial)
    missing = kinds == _MISSING
    parsed = Parsed(values, missing, np.zeros(len(column), dtype=bool))
    if texts.any():
        text = _date_text(column, kinds)[texts]
        from_text = _dates_from_text(text, header, date_format)
        values[texts] = from_text.values
        missing[texts] = from_text.missing
        parsed.problem, parsed.example = from_text.problem, from_text.example
    parsed.bad = ~missing & np.isnat(values)
    return parsed


def _typed_dates(dates: pd.Series) -> np.ndarray:
    """Typed dates as midnight datetime64[us] (a time of day is dropped)."""
    if dates.dt.tz is not None:
        dates = dates.dt.tz_localize(None)  # the date where the data was recorded
    values = dates.to_numpy("datetime64[us]")
    known = values[~np.isnat(values)]
    if np.any(known.view(np.int64) % DAY_US):
        values = dates.dt.normalize().to_numpy("datetime64[us]")
    return values


def _excel_serials(column: pd.Series, kinds: np.ndarray) -> np.ndarray:
    """Which cells are numbers in the range of Excel serial dates (1 to 9999-12-31's)."""
    serial = kinds == _NUMBER
    if serial.any():
        number = pd.to_numeric(column[serial].astype(float)).to_numpy(float)
        serial[serial] = (number >= 1) & (number <= _LAST_EXCEL_SERIAL)
    return serial


def _excel_dates(serials: pd.Series) -> np.ndarray:
    """Excel serial numbers (1900 date system, its 1900-02-29 quirk included) as midnight
    datetime64[us], converted by openpyxl for each distinct number; a time of day is dropped."""
    from openpyxl.utils.datetime import from_excel

    codes, distinct = pd.factorize(serials.astype(float))
    dates = pd.DatetimeIndex([from_excel(number) for number in distinct]).normalize()
    return dates.to_numpy("datetime64[us]")[codes]


def _date_text(column: pd.Series, kinds: np.ndarray) -> pd.Series:
    """Date cells as text; whole numbers become digits so that 20260112 reads as a date."""
    text = as_text(column, kinds == _TEXT)
    numbers = kinds == _NUMBER
    if numbers.any():
        number = pd.to_numeric(column[numbers].astype(float))
        whole = number.where(number.eq(number.round()))
        text[numbers] = whole.astype("Int64").astype("str").fillna("not a whole number")
    return text


def _dates_from_text(text: pd.Series, header: str, date_format: str) -> Parsed:
    """Parse a column of date text with the one format that fits it (tried on distinct values)."""
    missing = text.str.lower().isin(NO_VALUE).fillna(True).to_numpy(bool)
    codes, distinct = pd.factorize(text.where(~missing))
    formats, problem = _date_formats(pd.Series(distinct, dtype="str"), header, date_format)
    best, best_count = None, -1
    for date_format_tried in formats:
        parsed = _to_dates(distinct, date_format_tried, date_format)
        count = int(parsed.notna().sum())
        if count > best_count:
            best, best_count = parsed, count
        if count == len(distinct):
            break
    if best is None or problem:
        values = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[us]")
        return Parsed(values, missing, ~missing, problem)
    lookup = np.append(best.normalize().to_numpy("datetime64[us]"), np.datetime64("NaT"))
    example = str(distinct[np.flatnonzero(best.notna())[0]]) if best_count > 0 else ""
    values = lookup[codes]  # code -1 (missing) picks the NaT appended last
    return Parsed(values, missing, ~missing & np.isnat(values), example=example)


def _to_dates(distinct: pd.Index, format_tried: str, date_format: str) -> pd.DatetimeIndex:
    try:
        return pd.DatetimeIndex(pd.to_datetime(distinct, format=format_tried, errors="coerce"))
    except (ValueError, TypeError) as error:
        if format_tried == date_format:
            message = f"date_format {date_format!r} is not usable: {error}"
            raise InvalidParameterError(message) from error
        raise


def _date_formats(distinct: pd.Series, header: str, date_format: str) -> tuple[tuple, str]:
    """The formats to try on a date column, or a problem when slash dates are ambiguous."""
    if date_format:
        return (date_format, *_DATE_FORMATS), ""
    fields = distinct.str.extract(_SLASH_DATE)
    if distinct.empty or fields[0].isna().any():
        return _DATE_FORMATS, ""
    first, second = fields[0].astype(int), fields[1].astype(int)
    day_first, month_first = bool((first > 12).any()), bool((second > 12).any())
    if day_first and not month_first:
        return _DAY_FIRST, ""
    if month_first and not day_first:
        return _MONTH_FIRST, ""
    advice = "state the format with the date_format parameter (e.g. '%d/%m/%Y')"
    if day_first:
        return (), (
            f"column '{header}': mixes day-first dates (like '{distinct[first > 12].iloc[0]}')"
            f" and month-first dates (like '{distinct[second > 12].iloc[0]}'); {advice}"
        )
    return (), (
        f"column '{header}': dates like '{distinct.iloc[0]}' can be day-first or month-first;"
        f" {advice}"
    )


@dataclass
class Tickers:
    """Each row's ticker as a code into the sorted distinct `names`, with masks of bad cells."""

    codes: np.ndarray  # index into `names` per row, -1 where empty
    names: np.ndarray  # distinct tickers, sorted
    missing: np.ndarray
    bad: np.ndarray


def parse_tickers(column: pd.Series) -> Tickers:
    """A column of tickers, stripped and upper case; 2 to 5 letters each."""
    codes, distinct = pd.factorize(column)
    clean = pd.Index(distinct).astype("str").str.strip().str.upper()
    name_codes, names = pd.factorize(clean, sort=True)
    valid = np.asarray(clean.str.fullmatch(TICKER_PATTERN), dtype=bool)
    empty = np.asarray(clean == "", dtype=bool)
    # Per-row lookups in the small tables of distinct values; code -1 (empty) picks the last.
    row_codes = np.append(name_codes, -1).astype(np.int64)[codes]
    missing = np.append(empty, True)[codes] if empty.any() else codes < 0
    bad = ~missing & ~np.append(valid, True)[codes] if not valid.all() else np.zeros_like(missing)
    return Tickers(row_codes, np.asarray(names, dtype=object), missing, bad)
