"""From data/raw to data/processed (helpers.ingest.cleaning) on a copy of the shipped raw files.

Expected counts are read from the sample CSV with the csv module, independently of the code.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pandas as pd
import pytest

from helpers import storage
from helpers.errors import InvalidParameterError
from helpers.ingest.cleaning import clean_inputs, write_processed
from helpers.ingest.fund_flows import flows_source
from helpers.paths import DEFAULT_LAYOUT, RAW_FILES

AS_OF = "2025-06-30"
SAMPLE_FILE = "sample/fund_history_sample.csv"
PROCESSED_TABLES = {
    "etf_universe.parquet",
    "reported_flows.parquet",
    "flow_claims.parquet",
    "survey_editions.parquet",
    "survey_figures.parquet",
    "survey_claims.parquet",
    "events.parquet",
    "fund_history.parquet",
    "daily_flows.parquet",
    "fund_flows.parquet",
    "fund_sources.parquet",
    "flow_crosscheck.parquet",
    "restatements.parquet",
    "calendar_gaps.parquet",
    "data_quality.parquet",
}


def records(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def raw_dir(tmp_path_factory) -> Path:
    raw = tmp_path_factory.mktemp("project") / "raw"
    shutil.copytree(DEFAULT_LAYOUT.raw_dir, raw)
    return raw


@pytest.fixture(scope="module")
def sample_rows(raw_dir) -> list[dict[str, str]]:
    return records(raw_dir / SAMPLE_FILE)


@pytest.fixture(scope="module")
def cut(raw_dir):
    return clean_inputs(raw_dir, as_of=AS_OF)


@pytest.fixture(scope="module")
def uncut(raw_dir):
    return clean_inputs(raw_dir)


def quality_row(cleaned, table: str) -> dict:
    rows = cleaned.quality[cleaned.quality["table"] == table]
    assert len(rows) == 1
    return rows.iloc[0].to_dict()


def test_as_of_keeps_only_dates_up_to_it(cut, sample_rows):
    kept = sorted(r["date"] for r in sample_rows if r["date"] <= AS_OF)
    history = cut.tables["fund_history"]
    assert len(history) == len(kept)
    assert history["date"].max() == pd.Timestamp(kept[-1])
    assert history["date"].min() == pd.Timestamp(kept[0])
    assert (history["date"] <= pd.Timestamp(AS_OF)).all()


def test_quality_table_reports_the_dropped_rows(cut, sample_rows):
    kept = sum(r["date"] <= AS_OF for r in sample_rows)
    assert 0 < kept < len(sample_rows)
    assert quality_row(cut, "fund data") == {
        "table": "fund data",
        "file": SAMPLE_FILE,
        "rows_read": len(sample_rows),
        "rows_kept": kept,
        "rows_dropped": len(sample_rows) - kept,
        "note": f"dropped: dated after the as-of date {AS_OF}",
    }


def test_quality_table_counts_every_fact_table_whole(cut, raw_dir):
    for name, file in RAW_FILES.items():  # RAW_FILES itself is pinned in test_load
        read = len(records(raw_dir / file))
        assert quality_row(cut, name) == {
            "table": name,
            "file": file,
            "rows_read": read,
            "rows_kept": read,
            "rows_dropped": 0,
            "note": "",
        }
        assert len(cut.tables[name]) == read


def test_daily_flows_cover_the_kept_days(cut, sample_rows):
    kept = [r for r in sample_rows if r["date"] <= AS_OF]
    tickers = {r["ticker"] for r in kept}
    daily = cut.tables["daily_flows"]
    assert len(daily) == len(kept)
    assert int(daily["flow_usd"].isna().sum()) == len(tickers)
    row = quality_row(cut, "daily_flows")
    assert (row["rows_read"], row["rows_kept"], row["rows_dropped"]) == (len(kept), len(kept), 0)
    assert row["note"].startswith(f"kept without a flow: {len(tickers)} row(s)")


def test_without_as_of_every_row_is_kept(uncut, sample_rows):
    assert len(uncut.tables["fund_history"]) == len(sample_rows)
    assert uncut.tables["fund_history"]["date"].max() == pd.Timestamp(
        max(r["date"] for r in sample_rows)
    )
    row = quality_row(uncut, "fund data")
    assert (row["rows_read"], row["rows_kept"], row["rows_dropped"], row["note"]) == (
        len(sample_rows),
        len(sample_rows),
        0,
        "",
    )


def test_as_of_on_the_first_date_keeps_that_day(raw_dir, sample_rows):
    first = min(r["date"] for r in sample_rows)
    cleaned = clean_inputs(raw_dir, as_of=first)
    assert len(cleaned.tables["fund_history"]) == sum(r["date"] == first for r in sample_rows)


def test_as_of_before_the_first_date_is_refused(raw_dir, sample_rows):
    first = min(r["date"] for r in sample_rows)
    day_before = (pd.Timestamp(first) - pd.Timedelta(days=1)).date().isoformat()
    with pytest.raises(InvalidParameterError) as caught:
        clean_inputs(raw_dir, as_of=day_before)
    assert str(caught.value) == (
        f"the as-of date {day_before} is before the first date in the fund data ({first});"
        f" choose {first} or later"
    )


def test_flows_source_is_sample(cut, uncut):
    assert cut.flows_source == "sample"
    assert uncut.flows_source == "sample"


def test_flows_source_is_sample_when_any_flow_rests_on_the_sample():
    assert flows_source(pd.DataFrame({"source_kind": ["sample", "sample"]})) == "sample"
    assert flows_source(pd.DataFrame({"source_kind": ["sample", "issuer"]})) == "sample"
    assert flows_source(pd.DataFrame({"source_kind": ["issuer", "sec_nport", "user"]})) == "user"


def test_cleaning_leaves_the_raw_folder_untouched(raw_dir):
    before = {p: p.read_bytes() for p in sorted(raw_dir.rglob("*")) if p.is_file()}
    clean_inputs(raw_dir, as_of=AS_OF)
    after = {p: p.read_bytes() for p in sorted(raw_dir.rglob("*")) if p.is_file()}
    assert after == before


def test_write_processed_writes_every_table_and_reads_back_equal(cut, tmp_path):
    processed = tmp_path / "processed"
    written = write_processed(cut, processed)
    assert {p.name for p in written} == PROCESSED_TABLES
    assert {p.name for p in processed.iterdir()} == PROCESSED_TABLES  # no temporary files left
    for name, table in {**cut.tables, "data_quality": cut.quality}.items():
        back = storage.read_table(processed / f"{name}.parquet")
        expected = table.reset_index(drop=True)
        pd.testing.assert_frame_equal(back, expected, check_dtype=True)
        if "tickers" in table:
            assert [tuple(t) for t in back["tickers"]] == list(expected["tickers"])


def test_write_processed_replaces_earlier_outputs(cut, uncut, tmp_path):
    write_processed(uncut, tmp_path)
    write_processed(cut, tmp_path)
    back = storage.read_table(tmp_path / "fund_history.parquet")
    assert back["date"].max() <= pd.Timestamp(AS_OF)
    assert len(back) == len(cut.tables["fund_history"])
