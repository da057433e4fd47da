"""Reading and validating the raw files (helpers.ingest.load, helpers.ingest.schemas).

Expected counts and values come from the CSVs read with the csv module, or are typed in here;
error messages are checked for the file, the line (header = line 1), the column and the fault.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.errors import InvalidDataError
from helpers.ingest import load
from helpers.paths import DEFAULT_LAYOUT, RAW_FILES

RAW_DIR = DEFAULT_LAYOUT.raw_dir
RAW_TABLES = {
    "etf_universe": "etf_universe.csv",
    "reported_flows": "reported_flows.csv",
    "flow_claims": "flow_claims.csv",
    "survey_editions": "survey_editions.csv",
    "survey_figures": "survey_figures.csv",
    "survey_claims": "survey_claims.csv",
    "events": "events.csv",
}


def test_raw_file_names_are_the_documented_ones():
    assert RAW_FILES == RAW_TABLES


FUND_HEADER = ["date", "ticker", "nav", "shares_outstanding", "is_synthetic", "source"]


def read_rows(path: Path) -> list[list[str]]:
    """Header and records of a CSV, blank records skipped."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return [row for row in csv.reader(handle) if row]


def write_rows(path: Path, rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def set_cell(rows: list[list[str]], data_row: int, column: str, value: str) -> None:
    """Set `column` of data row `data_row` (1-based; data row n is on line n + 1)."""
    rows[data_row][rows[0].index(column)] = value


@pytest.fixture
def flows_rows() -> list[list[str]]:
    return read_rows(RAW_DIR / "reported_flows.csv")


def refused(path: Path, name: str = "reported_flows") -> InvalidDataError:
    with pytest.raises(InvalidDataError) as caught:
        load.read_raw_table(path, name)
    assert caught.value.file == str(path)
    assert str(path) in str(caught.value)
    return caught.value


# --- the shipped raw files -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def facts() -> dict[str, pd.DataFrame]:
    return load.read_facts(RAW_DIR)


def test_read_facts_returns_every_table(facts):
    assert sorted(facts) == sorted(RAW_TABLES)


@pytest.mark.parametrize("name", sorted(RAW_TABLES))
def test_shipped_table_has_every_row_and_column(facts, name):
    rows = read_rows(RAW_DIR / RAW_TABLES[name])
    header, records = rows[0], rows[1:]
    table = facts[name]
    assert len(records) > 0
    assert len(table) == len(records)
    assert list(table.columns) == [*header, "source"]
    assert list(table.index) == list(range(len(records)))


@pytest.mark.parametrize("name", sorted(RAW_TABLES))
def test_shipped_rows_name_their_source(facts, name):
    table = facts[name]
    for column in ("source_publisher", "source_kind", "source"):
        values = table[column]
        assert values.notna().all(), column
        assert (values.str.strip() != "").all(), column
    assert set(table["source_kind"]) <= {"primary", "news", "secondary", "aggregator", "mirror"}


def test_source_column_reads_publisher_date_and_address(facts):
    flows = facts["reported_flows"].set_index("figure_id")
    assert flows.at["ytd_kweb", "source"] == (
        "CLS (Cailian Press) (2025-12-18): "
        "https://yuantrends.com/us-capital-flooding-into-chinese-tech-etfs"
    )
    claims = facts["flow_claims"].set_index("claim_id")
    assert claims.at["cqqq_2025_inflow_peaks_apr_aug", "source"] == (
        "CLS (Cailian Press) (date not stated): address not recorded"
    )


def test_shipped_values_are_typed(facts):
    flows = facts["reported_flows"].set_index("figure_id")
    assert flows.at["ytd_kweb", "tickers"] == ("KWEB",)
    assert flows.at["ytd_fxi", "amount_usd"] == -2_300_000_000.0
    assert flows.at["ytd_kweb", "start"] == pd.Timestamp("2025-01-01")
    assert flows.at["ytd_kweb", "verified"] is np.True_
    editions = facts["survey_editions"].set_index("edition")
    assert editions.at[2025, "respondents_total"] == 141
    universe = facts["etf_universe"]
    assert sorted(universe.loc[universe["core"], "ticker"]) == [
        "ASHR",
        "CQQQ",
        "FXI",
        "KWEB",
        "MCHI",
    ]


# --- error messages ------------------------------------------------------------------------------


def test_non_number_amount_names_file_line_column_and_value(tmp_path, flows_rows):
    set_cell(flows_rows, 3, "amount_usd", "lots")
    path = write_rows(tmp_path / "reported_flows.csv", flows_rows)
    error = refused(path)
    assert error.problems == ["line 4, column 'amount_usd': 'lots' is not a number"]
    assert str(error) == f"{path}: line 4, column 'amount_usd': 'lots' is not a number"


def test_copied_file_without_changes_is_accepted(tmp_path, flows_rows):
    path = write_rows(tmp_path / "reported_flows.csv", flows_rows)
    assert len(load.read_reported_flows(path)) == len(flows_rows) - 1


def test_bad_date_is_reported_once_and_plainly(tmp_path, flows_rows):
    set_cell(flows_rows, 3, "start", "2025-02-30")
    error = refused(write_rows(tmp_path / "reported_flows.csv", flows_rows))
    # Not also a confusing failure of the end-after-start check on uncoerced text.
    assert error.problems == ["line 4, column 'start': '2025-02-30' is not a date (YYYY-MM-DD)"]


def test_empty_required_cell(tmp_path, flows_rows):
    set_cell(flows_rows, 2, "subject", "")
    error = refused(write_rows(tmp_path / "reported_flows.csv", flows_rows))
    assert error.problems == ["line 3, column 'subject': the cell is empty"]


def test_a_source_address_must_be_an_address(tmp_path, flows_rows):
    # A page known only by its name belongs in source_note: pages make every address a link.
    set_cell(flows_rows, 2, "source_url", "TradingView symbol page")
    error = refused(write_rows(tmp_path / "reported_flows.csv", flows_rows))
    assert error.problems == [
        "line 3, column 'source_url': 'TradingView symbol page' fails the check "
        "'an address starts with http:// or https:// and has no spaces'"
    ]
    set_cell(flows_rows, 2, "source_url", "")
    table = load.read_reported_flows(write_rows(tmp_path / "empty.csv", flows_rows))
    assert table.at[1, "source"].endswith(": address not recorded")


def test_cell_of_spaces_counts_as_empty(tmp_path, flows_rows):
    set_cell(flows_rows, 1, "source_publisher", "   ")
    error = refused(write_rows(tmp_path / "reported_flows.csv", flows_rows))
    assert error.problems == ["line 2, column 'source_publisher': the cell is empty"]


def test_bad_boolean(tmp_path, flows_rows):
    set_cell(flows_rows, 3, "verified", "maybe")
    error = refused(write_rows(tmp_path / "reported_flows.csv", flows_rows))
    assert error.problems == ["line 4, column 'verified': 'maybe' is not true or false"]


def test_empty_boolean(tmp_path, flows_rows):
    set_cell(flows_rows, 5, "verified", "")
    error = refused(write_rows(tmp_path / "reported_flows.csv", flows_rows))
    assert error.problems == ["line 6, column 'verified': the cell is empty"]


def test_a_table_read_again_is_the_same_and_a_changed_file_is_read_anew(tmp_path, flows_rows):
    """The tables read before are kept by content: a copy is handed out, which the caller may
    change, and a file whose bytes changed is parsed and validated again."""
    path = write_rows(tmp_path / "reported_flows.csv", flows_rows)
    first = load.read_raw_table(path, "reported_flows")
    first.loc[first.index[0], "verified"] = not first["verified"].iloc[0]
    again = load.read_raw_table(path, "reported_flows")
    assert again["verified"].tolist() == [c.lower() == "true" for c in read_column(flows_rows)]

    set_cell(flows_rows, 1, "verified", "maybe")
    write_rows(path, flows_rows)
    assert refused(path).problems == ["line 2, column 'verified': 'maybe' is not true or false"]


def read_column(rows: list[list[str]], column: str = "verified") -> list[str]:
    return [row[rows[0].index(column)] for row in rows[1:]]


def test_booleans_are_case_insensitive(tmp_path, flows_rows):
    set_cell(flows_rows, 1, "verified", "TRUE")
    set_cell(flows_rows, 2, "verified", "False")
    table = load.read_raw_table(write_rows(tmp_path / "r.csv", flows_rows), "reported_flows")
    assert table["verified"].tolist()[:2] == [True, False]


def test_missing_required_column(tmp_path, flows_rows):
    drop = flows_rows[0].index("bound")
    rows = [[cell for i, cell in enumerate(row) if i != drop] for row in flows_rows]
    error = refused(write_rows(tmp_path / "reported_flows.csv", rows))
    assert error.problems == ["required column 'bound' is missing"]


def test_unexpected_extra_column(tmp_path, flows_rows):
    rows = [[*row, "x"] for row in flows_rows]
    rows[0][-1] = "comment"
    error = refused(write_rows(tmp_path / "reported_flows.csv", rows))
    assert error.problems == ["unexpected column 'comment'"]


def test_duplicated_figure_id_names_both_lines(tmp_path, flows_rows):
    first_id = flows_rows[2][flows_rows[0].index("figure_id")]
    set_cell(flows_rows, 3, "figure_id", first_id)
    error = refused(write_rows(tmp_path / "reported_flows.csv", flows_rows))
    assert sorted(error.problems) == [
        f"line 3, column 'figure_id': {first_id!r} is duplicated",
        f"line 4, column 'figure_id': {first_id!r} is duplicated",
    ]


def test_end_before_start_is_one_problem_per_line(tmp_path, flows_rows):
    set_cell(flows_rows, 3, "start", "2025-03-01")
    set_cell(flows_rows, 3, "end", "2025-02-28")
    error = refused(write_rows(tmp_path / "reported_flows.csv", flows_rows))
    assert error.problems == ["line 4: end is before start"]


def test_end_equal_to_start_is_accepted(tmp_path, flows_rows):
    set_cell(flows_rows, 3, "start", "2025-03-01")
    set_cell(flows_rows, 3, "end", "2025-03-01")
    table = load.read_raw_table(write_rows(tmp_path / "r.csv", flows_rows), "reported_flows")
    assert table.at[2, "end"] == pd.Timestamp("2025-03-01")


def test_bound_outside_allowed_values(tmp_path, flows_rows):
    set_cell(flows_rows, 3, "bound", "about")
    error = refused(write_rows(tmp_path / "reported_flows.csv", flows_rows))
    assert len(error.problems) == 1
    problem = error.problems[0]
    assert problem.startswith("line 4, column 'bound': 'about' ")
    for allowed in ("point", "at_most", "at_least"):
        assert allowed in problem


def test_bad_ticker_list(tmp_path, flows_rows):
    set_cell(flows_rows, 2, "tickers", "kweb, fxi")
    error = refused(write_rows(tmp_path / "reported_flows.csv", flows_rows))
    assert len(error.problems) == 1
    assert error.problems[0].startswith("line 3, column 'tickers': 'kweb, fxi' ")


def test_every_problem_is_reported_at_once(tmp_path, flows_rows):
    set_cell(flows_rows, 3, "amount_usd", "lots")
    set_cell(flows_rows, 5, "start", "soon")
    set_cell(flows_rows, 6, "bound", "about")
    error = refused(write_rows(tmp_path / "reported_flows.csv", flows_rows))
    assert len(error.problems) == 3
    message = str(error)
    for expected in (
        "line 4, column 'amount_usd'",
        "line 6, column 'start'",
        "line 7, column 'bound'",
    ):
        assert expected in message


def test_empty_and_bad_cells_of_one_column_are_both_reported(tmp_path, flows_rows):
    set_cell(flows_rows, 3, "amount_usd", "lots")
    set_cell(flows_rows, 5, "amount_usd", "")
    error = refused(write_rows(tmp_path / "reported_flows.csv", flows_rows))
    assert sorted(error.problems) == [
        "line 4, column 'amount_usd': 'lots' is not a number",
        "line 6, column 'amount_usd': the cell is empty",
    ]


def test_line_numbers_count_blank_lines(tmp_path, flows_rows):
    set_cell(flows_rows, 3, "amount_usd", "lots")
    path = write_rows(tmp_path / "reported_flows.csv", flows_rows)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join([*lines[:2], "\n", *lines[2:]]), encoding="utf-8")
    error = refused(path)
    assert error.problems == ["line 5, column 'amount_usd': 'lots' is not a number"]


def test_line_numbers_count_cells_spanning_lines(tmp_path, flows_rows):
    set_cell(flows_rows, 1, "source_note", "first line\nsecond line\nthird line")
    set_cell(flows_rows, 3, "amount_usd", "lots")
    error = refused(write_rows(tmp_path / "reported_flows.csv", flows_rows))
    assert error.problems == ["line 6, column 'amount_usd': 'lots' is not a number"]


def test_bad_count_is_reported_without_the_sum_check(tmp_path):
    rows = read_rows(RAW_DIR / "survey_editions.csv")
    set_cell(rows, 1, "central_banks", "fifty")
    error = refused(write_rows(tmp_path / "survey_editions.csv", rows), "survey_editions")
    assert error.problems == ["line 2, column 'central_banks': 'fifty' is not a number"]


def test_respondents_not_adding_up(tmp_path):
    rows = read_rows(RAW_DIR / "survey_editions.csv")
    total = int(rows[2][rows[0].index("respondents_total")])
    set_cell(rows, 2, "respondents_total", str(total + 1))
    error = refused(write_rows(tmp_path / "survey_editions.csv", rows), "survey_editions")
    assert error.problems == [
        "line 3: respondents_total is not sovereign_wealth_funds + central_banks"
    ]


def test_empty_file(tmp_path):
    path = tmp_path / "reported_flows.csv"
    path.write_bytes(b"")
    error = refused(path)
    assert len(error.problems) == 1
    assert error.problems[0].startswith("not a readable CSV file")


def test_file_not_found(tmp_path):
    error = refused(tmp_path / "nowhere" / "reported_flows.csv")
    assert error.problems == ["file not found"]


def test_read_facts_names_the_bad_file(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(RAW_DIR, raw)
    rows = read_rows(raw / "events.csv")
    set_cell(rows, 2, "date", "yesterday")
    write_rows(raw / "events.csv", rows)
    with pytest.raises(InvalidDataError) as caught:
        load.read_facts(raw)
    assert caught.value.file == str(raw / "events.csv")
    assert caught.value.problems == [
        "line 3, column 'date': 'yesterday' is not a date (YYYY-MM-DD)"
    ]


def test_error_message_caps_the_list_of_problems():
    error = InvalidDataError("f.csv", [f"problem {i}" for i in range(13)])
    lines = str(error).splitlines()
    assert len(lines) == 11
    assert lines[0] == "f.csv: problem 0"
    assert lines[-1] == "f.csv: ... and 3 more problem(s)"
    assert len(error.problems) == 13


# --- fund history --------------------------------------------------------------------------------


def write_sample(raw: Path, records: list[list[str]]) -> Path:
    return write_rows(raw / "sample" / "fund_history_sample.csv", [FUND_HEADER, *records])


def test_read_sample_fund_history_types_the_columns(tmp_path):
    write_sample(
        tmp_path,
        [
            ["2025-01-02", "AAA", "10.5", "100", "true", "made up"],
            ["2025-01-03", "AAA", "11", "120", "true", "made up"],
            ["2025-01-02", "BBB", "20", "50", "false", "made up"],
        ],
    )
    table = load.read_sample_fund_history(tmp_path)
    assert table["date"].tolist() == [
        pd.Timestamp("2025-01-02"),
        pd.Timestamp("2025-01-03"),
        pd.Timestamp("2025-01-02"),
    ]
    assert table["nav"].tolist() == [10.5, 11.0, 20.0]
    assert table["shares_outstanding"].tolist() == [100.0, 120.0, 50.0]
    assert table["is_synthetic"].tolist() == [True, True, False]
    assert table["is_synthetic"].dtype == bool


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("nav", "0", "line 3, column 'nav': 0.0 fails the check 'NAV must be positive'"),
        ("nav", "-1.5", "line 3, column 'nav': -1.5 fails the check 'NAV must be positive'"),
        (
            "shares_outstanding",
            "0",
            "line 3, column 'shares_outstanding': 0.0 fails the check "
            "'shares outstanding must be positive'",
        ),
        (
            "shares_outstanding",
            "-100",
            "line 3, column 'shares_outstanding': -100.0 fails the check "
            "'shares outstanding must be positive'",
        ),
    ],
)
def test_sample_refuses_non_positive_nav_or_shares(tmp_path, column, value, problem):
    record = {"date": "2025-01-03", "ticker": "AAA", "nav": "11", "shares_outstanding": "120"}
    record[column] = value
    path = write_sample(
        tmp_path,
        [
            ["2025-01-02", "AAA", "10", "100", "true", "made up"],
            [*record.values(), "true", "made up"],
        ],
    )
    with pytest.raises(InvalidDataError) as caught:
        load.read_sample_fund_history(tmp_path)
    assert caught.value.file == str(path)
    assert caught.value.problems == [problem]


def test_sample_refuses_a_day_given_twice(tmp_path):
    write_sample(
        tmp_path,
        [
            ["2025-01-02", "AAA", "10", "100", "true", "made up"],
            ["2025-01-02", "AAA", "11", "120", "true", "made up"],
        ],
    )
    with pytest.raises(InvalidDataError) as caught:
        load.read_sample_fund_history(tmp_path)
    assert len(caught.value.problems) >= 1
    assert all("is duplicated" in p for p in caught.value.problems)
    assert any(p.startswith("line 3, ") for p in caught.value.problems)


def test_user_fund_files_ignores_dotfiles_readmes_and_folders(tmp_path):
    history, flows = tmp_path / "fund_history", tmp_path / "flows"
    for name in ("README.md", ".gitkeep", ".DS_Store", "b.csv", "a.xlsx"):
        write_rows(history / name, [["x"]])
    (history / "nested").mkdir()
    for name in ("README", ".hidden.csv", "flows_2025.csv"):
        write_rows(flows / name, [["x"]])
    assert load.user_fund_files(tmp_path) == [
        history / "a.xlsx",
        history / "b.csv",
        flows / "flows_2025.csv",
    ]


def test_user_fund_files_without_the_folders(tmp_path):
    assert load.user_fund_files(tmp_path) == []


def test_read_fund_history_uses_the_sample_when_user_folders_are_empty(tmp_path):
    write_sample(tmp_path, [["2025-01-02", "AAA", "10", "100", "true", "made up"]])
    for folder in ("fund_history", "flows"):
        write_rows(tmp_path / folder / "README.md", [["drop your files here"]])
        (tmp_path / folder / ".gitkeep").write_text("", encoding="utf-8")
    data = load.read_fund_data(tmp_path)
    assert data.origin == "sample"
    assert data.history["ticker"].tolist() == ["AAA"]
    assert data.ready_flows.empty


def test_shipped_sample_fund_history_validates(tmp_path):
    rows = read_rows(RAW_DIR / "sample" / "fund_history_sample.csv")
    shutil.copytree(RAW_DIR / "sample", tmp_path / "sample")  # without a researcher's own files
    data = load.read_fund_data(tmp_path)
    table = data.history
    assert data.origin == "sample"
    assert data.files == ["sample/fund_history_sample.csv"]
    assert len(table) == len(rows) - 1
    dates = [record[0] for record in rows[1:]]
    assert table["date"].max() == pd.Timestamp(max(dates))
    assert table["is_synthetic"].all()
