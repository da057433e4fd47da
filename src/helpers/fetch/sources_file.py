"""The sources file (`fetch.yaml`): every address `chinaflows fetch` reads, and how it reads them.

Each source has a URL template whose placeholders are filled per fund (`{ticker}`, and the ids
the issuer needs: iShares' `{portfolio_id}`, Invesco's `{cusip}`; the SEC's `{series_id}`,
`{cik}` and `{accession}`), a size cap, and the funds it serves. The file is validated on load:
an unknown key, a missing or unknown placeholder, or a missing fund id is refused, naming the
key, before anything is downloaded.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import string
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

SEC_USER_AGENT_ENV_VAR = "CHINAFLOWS_SEC_USER_AGENT"

# The issuer sources, each with the ids its address needs per fund (beside the ticker).
ISSUER_FUND_IDS: dict[str, tuple[str, ...]] = {
    "ishares": ("portfolio_id",),
    "xtrackers": (),
    "invesco_navs": (),
    "invesco_prices": ("cusip",),
}
SEC_SOURCE = "sec_nport"
# The SEC's addresses and the placeholders each needs.
SEC_PLACEHOLDERS: dict[str, frozenset[str]] = {
    "tickers_url": frozenset(),
    "filings_url": frozenset({"series_id"}),
    "document_url": frozenset({"cik", "accession"}),
}
# The SEC asks every automated client to name a person or organisation and an e-mail address.
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")

Ticker = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,5}$")]
Address = Annotated[str, StringConstraints(pattern=r"^https?://[^/\s]+")]


class SourcesFileError(ValueError):
    """The sources file is missing, not YAML, or breaks its schema; the message names the file
    and each key that is wrong."""

    def __init__(self, path: Path, problems: list[str]):
        self.path = path
        self.problems = problems
        super().__init__("\n".join(f"{path}: {problem}" for problem in problems))


class _Strict(BaseModel):
    """A section of the sources file: unknown keys are refused, values are not changed later."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Timeouts(_Strict):
    """How long to wait for a connection and for each read of an answer."""

    connect_seconds: float = Field(gt=0)
    read_seconds: float = Field(gt=0)


class Retries(_Strict):
    """Retries of a request that timed out or was answered 429 or 5xx (nothing else is
    retried): at most `attempts` more tries, waiting `backoff_seconds` x 2^(n-1) before the
    n-th after the first (or what the server's Retry-After says), never more than
    `max_wait_seconds` at a time."""

    attempts: int = Field(ge=0, le=10)
    backoff_seconds: float = Field(ge=0)
    max_wait_seconds: float = Field(gt=0)


class IssuerSource(_Strict):
    """An issuer's download: its address template, its size cap and the funds it serves, each
    with the ids the address needs."""

    url: Address
    max_bytes: int = Field(gt=0)
    funds: dict[Ticker, dict[str, str]]

    def address(self, ticker: str) -> str:
        """The address for `ticker`: the template filled with the ticker and its ids."""
        return self.url.format(ticker=ticker, **self.funds[ticker])


class SecSource(_Strict):
    """The SEC's N-PORT filings: the ticker list, a series' filing list, a filing's document."""

    tickers_url: Address
    filings_url: Address
    document_url: Address
    max_bytes: int = Field(gt=0)
    requests_per_second: int = Field(gt=0, le=10)  # the SEC's limit is 10
    # Filings filed before this date are not fetched (their report dates are earlier still).
    reports_from: dt.date | None = None


class Sources(_Strict):
    """The five sources, by the name their downloads are kept under in data/raw/fetched/."""

    ishares: IssuerSource
    xtrackers: IssuerSource
    invesco_navs: IssuerSource
    invesco_prices: IssuerSource
    sec_nport: SecSource

    @model_validator(mode="after")
    def _check_templates_and_ids(self) -> Sources:
        problems = []
        for name, ids in ISSUER_FUND_IDS.items():
            source: IssuerSource = getattr(self, name)
            problems += _placeholder_problems(
                f"sources.{name}.url", source.url, frozenset(ids), optional={"ticker"}
            )
            for ticker, given in source.funds.items():
                where = f"sources.{name}.funds.{ticker}"
                problems += [f"{where}: missing {key!r}" for key in ids if key not in given]
                problems += [
                    f"{where}: unknown key {key!r} (this source takes {_listed(ids)})"
                    for key in given
                    if key not in ids
                ]
        for key, needed in SEC_PLACEHOLDERS.items():
            problems += _placeholder_problems(
                f"sources.{SEC_SOURCE}.{key}", getattr(self.sec_nport, key), needed, optional=set()
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def issuer(self, name: str) -> IssuerSource:
        """The issuer source `name` (a key of ISSUER_FUND_IDS)."""
        return getattr(self, name)


class FetchConfig(_Strict):
    """The whole sources file."""

    user_agent: str = Field(min_length=1)  # sent to the issuers
    sec_user_agent: str = ""  # a name and an e-mail; CHINAFLOWS_SEC_USER_AGENT overrides it
    timeouts: Timeouts
    retries: Retries
    sources: Sources
    # Funds whose issuer publishes nothing in a documented format: said in the summary, with why.
    not_fetched: dict[Ticker, str] = {}

    def resolved_sec_user_agent(self) -> str:
        """The SEC User-Agent: $CHINAFLOWS_SEC_USER_AGENT, else the file's; '' when neither
        names an e-mail address (the SEC sources are then skipped)."""
        chosen = os.environ.get(SEC_USER_AGENT_ENV_VAR, "").strip() or self.sec_user_agent.strip()
        return chosen if _EMAIL.search(chosen) and _EMAIL.sub("", chosen).strip() else ""


def _listed(names: tuple[str, ...] | frozenset[str]) -> str:
    return ", ".join(f"{{{n}}}" for n in sorted(names)) or "no ids"


def _placeholder_problems(
    where: str, template: str, needed: frozenset[str], optional: set[str]
) -> list[str]:
    """What is wrong with the placeholders of `template`: missing, unknown, or not a name."""
    try:
        found = {
            field for _, field, _, _ in string.Formatter().parse(template) if field is not None
        }
    except ValueError as error:
        return [f"{where}: not a valid template ({error})"]
    problems = [
        f"{where}: the placeholder {{{name}}} is missing" for name in sorted(needed - found)
    ]
    unknown = sorted(found - needed - optional)
    if unknown:
        allowed = needed | optional
        problems.append(
            f"{where}: unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)}"
            f" (this address takes {_listed(frozenset(allowed))})"
        )
    return problems


def load_sources_file(path: Path) -> FetchConfig:
    """Read and validate the sources file at `path`; raises SourcesFileError naming each
    problem with its key (e.g. `sources.ishares.url: the placeholder {portfolio_id} is
    missing`)."""
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourcesFileError(path, ["no such file (the sources of `chinaflows fetch`)"]) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise SourcesFileError(path, [f"not a readable YAML file: {error}"]) from None
    if not isinstance(content, dict):
        raise SourcesFileError(path, ["expected a mapping of settings at the top"])
    try:
        return FetchConfig.model_validate(content)
    except ValidationError as error:
        raise SourcesFileError(path, [_describe(problem) for problem in error.errors()]) from None


def _describe(problem: dict) -> str:
    """One pydantic problem as `key.path: what is wrong`."""
    where = ".".join(str(part) for part in problem["loc"])
    if problem["type"] == "extra_forbidden":
        return f"{where}: unknown key"
    message = problem["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
