"""Headers, units and the file's layout: which column holds the date, ticker, values and unit.

Headers are matched in any case, ignoring punctuation, spacing and unit words; the first name
listed for a role wins when several columns match. A unit (currency and scale) may be named in a
header, e.g. "Net Flow (USD mn)".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from helpers.errors import InvalidDataError

FileKind = Literal["history", "flows"]
HEADER_SEARCH_ROWS = 50  # the header row must be among a sheet's (or CSV's) first 50 rows


_ROLE_HEADERS: dict[str, tuple[str, ...]] = {
    "date": ("Date", "As Of", "As Of Date", "AsOf", "Trade Date", "NAV Date", "Effective Date"),
    "ticker": ("Ticker", "Fund Ticker", "Symbol", "Fund"),
    "nav": ("NAV per Share", "NAV", "NAV/Share", "Net Asset Value per Share", "Net Asset Value"),
    "shares_outstanding": ("Shares Outstanding", "Outstanding Shares", "Shares Out", "Shares"),
    "net_assets": ("Net Assets", "Total Net Assets", "Fund Net Assets", "AUM"),
    "flow_usd": (
        "Net Flows",
        "Net Flow",
        "Net Fund Flows",
        "Net Fund Flow",
        "Fund Flows",
        "Fund Flow",
        "Flows",
        "Flow",
    ),
    "unit": ("Unit", "Units"),
}
_ROLE_LABELS = {
    "date": "date",
    "ticker": "ticker",
    "nav": "NAV",
    "shares_outstanding": "shares outstanding",
    "net_assets": "net assets",
    "flow_usd": "flows",
}
_CURRENCY_WORDS = {
    **dict.fromkeys(("usd", "us", "dollar", "dollars"), "USD"),  # '$' alone: see parse_unit
    **dict.fromkeys(("eur", "euro", "euros", "€"), "EUR"),
    **dict.fromkeys(("cny", "rmb", "yuan", "cnh"), "CNY"),
    **dict.fromkeys(("hkd", "hk"), "HKD"),
    **dict.fromkeys(("jpy", "yen"), "JPY"),
    **{"gbp": "GBP", "£": "GBP", "¥": "JPY or CNY", "chf": "CHF", "cad": "CAD", "aud": "AUD"},
}
_SCALE_WORDS = {
    **dict.fromkeys(("thousand", "thousands", "k", "th", "000", "000s"), 1e3),
    **dict.fromkeys(("million", "millions", "mn", "mm", "m", "mil", "mln", "mio"), 1e6),
    **dict.fromkeys(("billion", "billions", "bn", "b", "bln"), 1e9),
}
_FILLER_WORDS = {"in"}
_UNIT_WORDS = {*_CURRENCY_WORDS, *_SCALE_WORDS, *_FILLER_WORDS, "$"}
_NOT_TICKERS = {"ETF", "ETFS", "MSCI", "FTSE", "CSI", "NAV", "USD", "AUM", "CSV", "XLS", "XLSX"}
TICKER_PATTERN = r"[A-Z]{2,5}"


def _tokens(text: object) -> list[str]:
    return re.findall(r"[a-z]+|\d+[a-z]*|[$€£¥]", str(text).casefold())


def header_name(text: object) -> str:
    """A header without case, punctuation or unit words: 'Net Flow (USD mn)' -> 'net flow'."""
    return " ".join(t for t in _tokens(text) if t not in _UNIT_WORDS)


_NAME_PRIORITIES = {
    header_name(header): priority
    for headers in _ROLE_HEADERS.values()
    for priority, header in enumerate(headers)
}
_NAME_ROLES = {
    header_name(header): role for role, headers in _ROLE_HEADERS.items() for header in headers
}


def header_roles(values: Sequence[object]) -> set[str]:
    """The roles named by a row's text cells (a header row names at least the date)."""
    return {
        _NAME_ROLES[name]
        for value in values
        if isinstance(value, str) and (name := header_name(value)) in _NAME_ROLES
    }


def header_index(rows: Sequence[Sequence[object]]) -> int | None:
    """The header among the first rows: the first naming the date and another column, else the
    first naming the date (so that a note like 'As Of, Jan 12 2026' above it is passed over)."""
    dated = [
        (index, roles)
        for index, values in enumerate(rows[:HEADER_SEARCH_ROWS])
        if "date" in (roles := header_roles(values))
    ]
    if not dated:
        return None
    return next((index for index, roles in dated if len(roles) > 1), dated[0][0])


@dataclass(frozen=True)
class Unit:
    """A unit named in a header or a 'Unit' cell: currency (None if not named) and scale."""

    currency: str | None
    scale: float | None
    problem: str = ""


def parse_unit(text: object) -> Unit:
    """The currency and scale named in a header or a 'Unit' cell ('USD mn' -> USD, 1e6)."""
    tokens = [t for t in _tokens(text) if t not in _FILLER_WORDS]
    named = {_CURRENCY_WORDS[t] for t in tokens if t in _CURRENCY_WORDS}
    if "$" in tokens and not named - {"USD"}:
        named.add("USD")  # '$' is US dollars unless another currency is named ('HK$')
    scales = {_SCALE_WORDS[t] for t in tokens if t in _SCALE_WORDS}
    if len(named) > 1:
        return Unit(None, None, f"names several currencies ({', '.join(sorted(named))})")
    if len(scales) > 1:
        return Unit(None, None, "names several scales")
    return Unit(next(iter(named), None), next(iter(scales), None))


@dataclass(frozen=True)
class Column:
    """A column given a role: where it is, its header as written, and the unit it names."""

    position: int
    header: str
    unit: Unit


@dataclass
class Layout:
    """Which column holds what; `ticker` is None when the ticker comes from the file name."""

    date: Column
    values: dict[str, Column]
    ticker: Column | None = None
    file_ticker: str = ""  # the ticker of every row: stated above the header, or the file name's
    unit: Column | None = None
    positions: list[int] = field(default_factory=list)


def ticker_from_file_name(path: str | Path) -> str:
    """The first whole token of 2-5 capital letters in the file's name ('' if none)."""
    for token in re.split(r"[_\-\s.]+", Path(path).stem):
        if re.fullmatch(TICKER_PATTERN, token) and token not in _NOT_TICKERS:
            return token
    return ""


def ticker_stated_above(rows: Sequence[tuple[int, Sequence[object]]], path: Path) -> str:
    """The ticker a "Ticker:" label names in the rows above a header ("Ticker:", "ASHR" in
    Xtrackers' exports), or "" if no row has the label. A label followed by no ticker is refused.
    """
    for number, values in rows:
        for position, value in enumerate(values):
            if not (isinstance(value, str) and re.fullmatch(r"\s*ticker\s*:\s*", value, re.I)):
                continue
            stated = next((v for v in values[position + 1 :] if str(v or "").strip()), None)
            ticker = str(stated or "").strip().upper()
            if not re.fullmatch(TICKER_PATTERN, ticker):
                found = f"{str(stated).strip()!r}" if stated is not None else "nothing"
                problem = f"'Ticker:' is followed by {found}, not a ticker (2 to 5 letters)"
                raise InvalidDataError(path, f"row {number}: {problem}")
            return ticker
    return ""


def _find_columns(headers: Sequence[object]) -> dict[str, list[tuple[int, int, str]]]:
    """role -> [(priority, position, header)] of the columns whose header names that role."""
    found: dict[str, list[tuple[int, int, str]]] = {}
    for position, header in enumerate(headers):
        name = header_name(header)
        if name in _NAME_ROLES:
            entry = (_NAME_PRIORITIES[name], position, str(header).strip())
            found.setdefault(_NAME_ROLES[name], []).append(entry)
    return found


def _pick(found: dict, role: str, problems: list[str]) -> Column | None:
    candidates = sorted(found.get(role, []))
    if not candidates:
        return None
    priority, position, header = candidates[0]
    twins = [h for p, _, h in candidates[1:] if p == priority]
    if twins:
        problems.append(
            f"two columns could be the {_ROLE_LABELS.get(role, role)}: '{header}' and '{twins[0]}'"
        )
    return Column(position, header, parse_unit(header))


def _missing_column(role: str, headers: Sequence[object], also: str = "") -> str:
    looked = looked_for(role)
    found = ", ".join(f"'{str(h).strip()}'" for h in headers if h is not None and str(h).strip())
    return (
        f"required column missing: {_ROLE_LABELS[role]} (looked for {looked}{also});"
        f" columns found: {found or 'none'}"
    )


_NO_TICKER = "no ticker: add a 'Ticker' column or name the file after the fund's ticker"


def find_layout(
    headers: Sequence[object], kind: FileKind, path: Path, *, stated_ticker: str = ""
) -> Layout:
    """Assign the file's columns to roles, or refuse naming what is missing or unclear.

    Without a ticker column, the ticker is `stated_ticker` (a 'Ticker:' row above the header),
    else the file name's.
    """
    found = _find_columns(headers)
    problems: list[str] = []
    date = _pick(found, "date", problems)
    if date is None:
        problems.append(_missing_column("date", headers))
    ticker = _pick(found, "ticker", problems)
    file_ticker = "" if ticker else (stated_ticker or ticker_from_file_name(path))
    if not ticker and not file_ticker:
        problems.append(f"{_NO_TICKER} (e.g. MCHI_fund.xls)")
    values = (
        _history_columns(found, headers, problems)
        if kind == "history"
        else _flow_columns(found, headers, problems)
    )
    unit = _pick(found, "unit", problems) if kind == "flows" else None
    if problems:
        raise InvalidDataError(path, problems)
    assert date is not None  # for type checkers: a missing date column was refused above
    layout = Layout(date, values, ticker, file_ticker, unit)
    columns = [date, ticker, unit, *values.values()]
    layout.positions = sorted({c.position for c in columns if c is not None})
    return layout


def fixed_layout(headers: Sequence[str], roles: dict[str, int], path: Path) -> Layout:
    """The layout of a format whose columns are known by name (JSON keys): `roles` maps each
    role to its position in `headers`; the ticker is the file name's."""
    ticker = ticker_from_file_name(path)
    if not ticker:
        raise InvalidDataError(
            path, "no ticker: name the file after the fund's ticker (e.g. CQQQ_navs.json)"
        )
    unitless = Unit(None, None)
    columns = {role: Column(p, headers[p], unitless) for role, p in roles.items()}
    date = columns.pop("date")
    return Layout(date, columns, file_ticker=ticker, positions=sorted(roles.values()))


def _history_columns(found: dict, headers: Sequence[object], problems: list[str]) -> dict:
    nav = _pick(found, "nav", problems)
    shares = _pick(found, "shares_outstanding", problems)
    net_assets = None if shares else _pick(found, "net_assets", problems)
    if nav is None:
        problems.append(_missing_column("nav", headers))
    if shares is None and net_assets is None:
        also = ", or 'Net Assets' with 'NAV'"
        problems.append(_missing_column("shares_outstanding", headers, also))
    for column, rule in ((nav, _nav_unit), (shares, _shares_unit), (net_assets, money_unit)):
        if column is not None and (problem := rule(column.unit)):
            problems.append(f"column '{column.header}': {problem}")
    values = {"nav": nav, "shares_outstanding": shares, "net_assets": net_assets}
    return {name: column for name, column in values.items() if column is not None}


def _flow_columns(found: dict, headers: Sequence[object], problems: list[str]) -> dict:
    flow = _pick(found, "flow_usd", problems)
    if flow is None:
        problems.append(_missing_column("flow_usd", headers, ", with the unit"))
        return {}
    if flow.unit.currency and (problem := money_unit(flow.unit)):
        problems.append(f"column '{flow.header}': {problem}")
    elif flow.unit.problem:
        problems.append(f"column '{flow.header}': the header {flow.unit.problem}")
    elif not flow.unit.currency and "unit" not in found:
        problems.append(unit_not_stated(flow.header, flow.unit))
    return {"flow_usd": flow}


def unit_not_stated(header: str, unit: Unit) -> str:
    """The problem of a flows column whose header states no currency (and no 'Unit' column)."""
    missing = "currency" if unit.scale else "unit"
    return (
        f"column '{header}': the {missing} is not stated; name it e.g. 'Flow (USD millions)'"
        " or add a 'Unit' column"
    )


def money_unit(unit: Unit) -> str:
    """The problem with a unit of money ('' when it is US dollars or names no currency)."""
    if unit.problem:
        return f"the unit {unit.problem}"
    if unit.currency not in (None, "USD"):
        return f"the amounts are in {unit.currency}; only US dollars are read (convert them first)"
    return ""


def _nav_unit(unit: Unit) -> str:
    if unit.scale is not None:
        return "a NAV is a price per share: a scale (thousands, millions, ...) makes no sense"
    return money_unit(unit)


def _shares_unit(unit: Unit) -> str:
    if unit.currency is not None:
        return "shares outstanding are a count of shares, not an amount of money"
    return f"the unit {unit.problem}" if unit.problem else ""


def looked_for(role: str) -> str:
    """The headers recognised for a role, quoted, for messages: "'Date', 'As Of', ..."."""
    return ", ".join(f"'{h}'" for h in _ROLE_HEADERS[role])
