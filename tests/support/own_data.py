"""A project that published its report from a researcher's own fund files instead of the sample:
the four other core ETFs in one file and KWEB's history in another, 2 to 12 January 2026 (the
bad-input corpus's others.csv and kweb_plain.csv, in tests/end_to_end/bad_inputs/files/). Its
researcher also typed markup into the data (HOSTILE: an event's title, which reaches the
sentences of 01, and a publisher, which reaches the sources table of 04), which every page must
show as text.

Its run is shared (the session fixture `own_data_run` in conftest.py): the end-to-end test of
your own data and the browser's test of markup in the data read it, and each case of the
bad-input corpus starts from a copy of it. The run starts from the published run's step store
(project_runs.seed_from_published_run): its survey is the shipped one, so the survey notebook is
served from the store.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

from built_once import process_to_json
from project_runs import run, seed_from_published_run

from helpers.paths import RAW_FILES, USER_FUND_HISTORY_DIR, copy_project_inputs

CORPUS_FILES = Path(__file__).parents[1] / "end_to_end" / "bad_inputs" / "files"
PROJECT_NAME = "china-tech-flows"  # the project's folder: messages name files below it
# Where each own file goes under data/raw/ -> its file in CORPUS_FILES.
OWN_FILES = {
    f"{USER_FUND_HISTORY_DIR}/others.csv": "others.csv",
    f"{USER_FUND_HISTORY_DIR}/KWEB.csv": "kweb_plain.csv",
}

# KWEB's history (kweb_plain.csv, and every messy variant of it in the corpus).
KWEB_DAYS = [dt.date(2026, 1, d) for d in (2, 5, 6, 7, 8, 9, 12)]
KWEB_NAVS = [30.10, 30.45, 29.80, 31.05, 31.20, 30.95, 31.60]
KWEB_SHARES = [1_000_000, 1_050_000, 1_100_000, 1_075_000, 1_150_000, 1_150_000, 1_200_000]
KWEB_FILE = Path("data/raw") / USER_FUND_HISTORY_DIR / "KWEB.csv"

HOSTILE = "<script>window.__pwned=1</script><b>bold</b>"
# The raw file -> the column of its first row that holds HOSTILE instead.
HOSTILE_CELLS = {RAW_FILES["events"]: "event", RAW_FILES["reported_flows"]: "source_publisher"}


def kweb_year_to_date_flow(as_of: dt.date) -> float:
    """Sum of (shares today - shares yesterday) x NAV today, 1 January to `as_of`."""
    return sum(
        (KWEB_SHARES[i] - KWEB_SHARES[i - 1]) * KWEB_NAVS[i]
        for i in range(1, len(KWEB_DAYS))
        if dt.date(as_of.year, 1, 1) <= KWEB_DAYS[i] <= as_of
    )


def set_first_row(csv_file: Path, column: str, value: str) -> None:
    """Writes `value` into `column` of the first row of `csv_file`."""
    with csv_file.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rows[0][column] = value
    with csv_file.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def build_own_data_run(folder: Path) -> dict:
    """A copy of the project in `folder` with the own files in place and HOSTILE in the data,
    and its `chinaflows run` (as built_once's `build` returns them)."""
    project = copy_project_inputs(folder / PROJECT_NAME)
    for destination, source in OWN_FILES.items():
        target = project / "data" / "raw" / destination
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CORPUS_FILES / source, target)
    for raw_file, column in HOSTILE_CELLS.items():
        set_first_row(project / "data" / "raw" / raw_file, column, HOSTILE)
    seed_from_published_run(folder, project)
    return {"project": str(project), "result": process_to_json(run(project))}
