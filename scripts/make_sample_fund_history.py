"""Write data/raw/sample/fund_history_sample.csv: the calibrated SYNTHETIC sample fund history.

Reads the reported flow figures (data/raw/reported_flows.csv), builds the seeded sample with
`helpers.ingest.sample.make_sample_fund_history`, writes it, and prints how closely the flows
derived from the written file reproduce each reported figure.

    python scripts/make_sample_fund_history.py [--seed 2025] [--start 2024-10-31] [--end 2025-12-31]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from helpers.analysis.reconciliation import reconcile_reported_flows
from helpers.ingest.daily_flows import derive_daily_flows
from helpers.ingest.load import read_reported_flows, read_sample_fund_history
from helpers.ingest.sample import SAMPLE_END, SAMPLE_START, make_sample_fund_history
from helpers.paths import DEFAULT_LAYOUT, SAMPLE_FUND_HISTORY, raw_path


def write_sample_csv(history: pd.DataFrame, path: Path) -> None:
    """Write the sample: ISO dates, NAV with 4 decimals, integer shares, lower-case flags."""
    table = history.assign(
        date=history["date"].dt.strftime("%Y-%m-%d"),
        nav=history["nav"].map("{:.4f}".format),
        shares_outstanding=history["shares_outstanding"].astype("int64"),
        is_synthetic=history["is_synthetic"].map({True: "true", False: "false"}),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False, lineterminator="\n")


def calibration_table(history: pd.DataFrame, reported: pd.DataFrame) -> pd.DataFrame:
    """Each reported figure next to the flow derived from `history` (USD millions)."""
    checked = reconcile_reported_flows(derive_daily_flows(history), reported)
    return pd.DataFrame(
        {
            "figure": checked["figure_id"],
            "bound": checked["bound"],
            "reported_musd": checked["amount_usd"] / 1e6,
            "derived_musd": checked["computed_usd"] / 1e6,
            "diff_pct": checked["difference_pct"],
            "status": checked["status"],
        }
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--start", default=SAMPLE_START)
    parser.add_argument("--end", default=SAMPLE_END)
    parser.add_argument("--raw-dir", type=Path, default=DEFAULT_LAYOUT.raw_dir)
    args = parser.parse_args(argv)

    reported = read_reported_flows(raw_path(args.raw_dir, "reported_flows"))
    history = make_sample_fund_history(reported, args.start, args.end, seed=args.seed)
    output = args.raw_dir / SAMPLE_FUND_HISTORY
    write_sample_csv(history, output)

    written = read_sample_fund_history(args.raw_dir)  # read back and validated as the pipeline does
    table = calibration_table(written, reported)
    print(f"wrote {output} ({len(written)} rows, {written['ticker'].nunique()} funds)")
    print("calibration (flows derived from the written file vs reported figures):")
    text_width = {c: int(table[c].str.len().max()) for c in ("figure", "bound", "status")}
    with pd.option_context("display.width", 250, "display.max_colwidth", 120):
        print(
            table.to_string(
                index=False,
                justify="left",
                formatters={
                    **{c: f"{{:<{w}}}".format for c, w in text_width.items()},
                    "reported_musd": "{:,.1f}".format,
                    "derived_musd": "{:,.4f}".format,
                    "diff_pct": "{:+.6f}".format,
                },
            )
        )


if __name__ == "__main__":
    main()
