"""What each page's header says of the study's data (pipeline.yaml: study.page_facts).

A page resting on the fund flows says where they came from, and above all when they are the
synthetic sample; per core ETF of the universe, which source and resolution its figures rest on
(linked where the source's address is known; other ETFs counted, their sources named), and
which core ETFs have no fund data at all. Every page says where the reported figures, survey
and events come from. A repository path is named only where the reader's own data replaced
the sample.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from helpers import paths
from helpers.ingest.fund_flows import flows_source
from helpers.present.show import SAMPLE_MARK

PROCESSED_DIR = "data/processed"  # as pipeline.yaml's processed_dir
_FUND_FLOWS = paths.processed_path(PROCESSED_DIR, "fund_flows")
# What the flows of each kind of source are, in a page's header.
KIND_WORDS = {
    "user": "your own data (data/raw/fund_history/, data/raw/flows/)",
    "issuer": "the issuers' files (chinaflows fetch)",
    "sec_nport": "SEC Form N-PORT filings (chinaflows fetch)",
}


def read_fund_sources(processed_dir: Path) -> pd.DataFrame | None:
    """What each fund's flows in `processed_dir` rest on (fund_sources.parquet, the summary of
    the canonical flows table that the cleaning notebook writes: small, whatever the number of
    rows), or None before it has written it."""
    path = paths.processed_path(processed_dir, "fund_sources")
    return pd.read_parquet(path) if path.exists() else None


def read_flows_source(processed_dir: Path) -> str | None:
    """Where the fund flows in `processed_dir` came from, as the cleaning notebook decided:
    "sample" or "user" (None before it has written them)."""
    sources = read_fund_sources(processed_dir)
    return None if sources is None else flows_source(sources)


def _link(text: str, address: str) -> str:
    """`text` as HTML, a link to `address` where that is a web address."""
    if address.startswith(("https://", "http://")):
        return f'<a href="{html.escape(address)}">{html.escape(text)}</a>'
    return html.escape(text)


def sources_html(sources: pd.DataFrame) -> str:
    """Per ETF, the sources and resolutions its flows rest on, with the days each covers (from
    helpers.ingest.fund_flows.fund_sources), one line per description: ETFs whose flows rest on
    the same are named together."""
    described = {
        ticker: "; ".join(
            f"{_link(part.source, part.source_address)}, {part.resolution}, "
            f"{part.first_day:%Y-%m-%d} to {part.last_day:%Y-%m-%d}"
            for part in parts.itertuples()
        )
        for ticker, parts in sources.groupby("ticker", sort=False)
    }
    by_description: dict[str, list[str]] = {}
    for ticker, description in described.items():
        by_description.setdefault(description, []).append(ticker)
    return "<br>".join(
        f"<strong>{html.escape(', '.join(tickers))}</strong>: {description}"
        for description, tickers in by_description.items()
    )


def _core_tickers(processed_dir: Path) -> list[str]:
    path = paths.processed_path(processed_dir, "etf_universe")
    if not path.exists():
        return []
    universe = pd.read_parquet(path, columns=["ticker", "core"])
    return universe.loc[universe["core"], "ticker"].tolist()


def _flows_facts(processed_dir: Path) -> list[tuple[str, str]]:
    sources = read_fund_sources(processed_dir)
    if sources is None:
        return []
    if flows_source(sources) == "sample":
        said = (
            f'<span class="sample-mark">{html.escape(SAMPLE_MARK)}</span>, made by a seeded '
            "script and calibrated to the reported figures; not market data"
        )
    else:
        kinds = sources["source_kind"].astype(str).unique()
        said = "; ".join(KIND_WORDS[kind] for kind in kinds if kind in KIND_WORDS)
    core = _core_tickers(processed_dir)
    detailed = sources[sources["ticker"].isin(core)] if core else sources
    described = sources_html(detailed)
    others = sources[~sources["ticker"].isin(detailed["ticker"])]
    if len(others):  # thousands of ETFs: counted, their sources named once
        labels = "; ".join(html.escape(label) for label in others["source"].unique()[:5])
        described += f"<br><strong>{others['ticker'].nunique():,} other ETFs</strong>: {labels}"
    facts = [("fund flows", said), ("fund flows per ETF", described)]
    missing = [t for t in core if t not in set(sources["ticker"])]
    if missing:
        facts.append(("no fund data", html.escape(", ".join(missing))))
    return facts


def page_facts(root: Path, rests_on: set[str]) -> list[tuple[str, str]]:
    """The header rows (label, HTML) of a page in the project at `root` that rests on the files
    `rests_on` (project-relative paths, see notebook_pipeline.spec.step_lineage)."""
    facts = _flows_facts(root / PROCESSED_DIR) if _FUND_FLOWS.as_posix() in rests_on else []
    facts.append(
        (
            "reported figures, survey, events",
            "news, issuer and data-provider pages, each figure with its source "
            "(the summary page lists them all)",
        )
    )
    return facts
