"""What each page's header says of the study's data (pipeline.yaml: study.page_facts).

A page resting on the fund flows says where they came from, and above all when they are the
synthetic sample; every page says where the reported figures, survey and events come from. A
repository path is named only where the reader's own data replaced the sample.
"""

from __future__ import annotations

import html
from pathlib import Path

from helpers import paths
from helpers.present.show import SAMPLE_MARK

PROCESSED_DIR = "data/processed"  # as pipeline.yaml's processed_dir
_DAILY_FLOWS = paths.processed_path(PROCESSED_DIR, "daily_flows")


def read_flows_source(processed_dir: Path) -> str | None:
    """Where the fund flows in `processed_dir` came from, as the cleaning notebook decided:
    "sample" or "user" (None before it has written the daily flows)."""
    daily = paths.processed_path(processed_dir, "daily_flows")
    if not daily.exists():
        return None
    import pandas as pd

    from helpers.ingest import cleaning

    return cleaning.flows_source(pd.read_parquet(daily, columns=["is_synthetic"]))


def page_facts(root: Path, rests_on: set[str]) -> list[tuple[str, str]]:
    """The header rows (label, HTML) of a page in the project at `root` that rests on the files
    `rests_on` (project-relative paths, see notebook_pipeline.spec.step_lineage)."""
    facts = []
    if _DAILY_FLOWS.as_posix() in rests_on:
        source = read_flows_source(root / PROCESSED_DIR)
        if source == "sample":
            facts.append(
                (
                    "fund flows",
                    f'<span class="sample-mark">{html.escape(SAMPLE_MARK)}</span>, made by a '
                    "seeded script and calibrated to the reported figures; not market data",
                )
            )
        elif source == "user":
            facts.append(("fund flows", "your own data (data/raw/fund_history/, data/raw/flows/)"))
    facts.append(
        (
            "reported figures, survey, events",
            "news, issuer and data-provider pages, each figure with its source "
            "(the summary page lists them all)",
        )
    )
    return facts
