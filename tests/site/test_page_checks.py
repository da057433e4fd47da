"""The checks every published page passes (tests/support/page_checks.py), each shown to fire."""

from __future__ import annotations

from pathlib import Path

import pytest
from page_checks import reader_defects

CLEAN = """<html><head><title>T</title><style>td { color: red }</style></head><body>
<h1 id="T">Flows</h1><p>KWEB took in +$2.30bn; FXI \u2212$2.30bn from 2025-01-02 to
2025-12-31 (p-value 0.014, run with -p as_of=2025-06-30).</p>
<h2>Who bought?</h2><table><caption>Net flows</caption><thead><tr>
<th class="col_heading">Net flow</th></tr></thead><tbody><tr><th class="row_heading">KWEB</th>
<td>+$2.30bn</td></tr></tbody></table>
<h2>Who sold?</h2><p>FXI.</p></body></html>"""


def test_a_page_for_readers_has_no_defect():
    assert reader_defects(CLEAN) == []


@pytest.mark.parametrize(
    ("change", "defect"),
    [
        (
            '<div class="jp-OutputArea-executeResult" data-mime-type="text/plain">'
            "<pre>PosixPath('data/processed/x.json')</pre></div>",
            "a cell's bare return value: \"PosixPath('data/processed/x.json')\"",
        ),
        ("<h2>Load inputs</h2><h2>Compute</h2>", "an empty section: 'Load inputs'"),
        (
            '<table><tbody><tr><th class="row_heading">11</th><td>x</td></tr>'
            '<tr><th class="row_heading">25</th><td>y</td></tr></tbody></table>',
            "a row-number index in 'a table': ['11', '25']",
        ),
        (
            '<table><thead><tr><th class="col_heading">total_flow_usd</th></tr></thead></table>',
            "a column header with an underscore: 'total_flow_usd'",
        ),
        ("<p>2025-01-21 00:00:00</p>", "a time of 00:00:00"),
        ("<p>see FACTS.md</p>", "names FACTS.md"),
        ("<p>Flows (SAMPLE DATA (SYNTHETIC))</p>", "the sample mark in a double parenthesis"),
        ("<p>an outflow of -$3.70bn</p>", "a hyphen as a minus sign"),
        ("<td>-0.7</td>", "a hyphen as a minus sign"),
    ],
)
def test_each_defect_is_found(change, defect):
    page = CLEAN.replace("</body>", f"{change}</body>")
    found = reader_defects(page)
    assert len(found) == 1 and found[0].startswith(defect), found


def test_a_heading_followed_by_a_deeper_one_is_not_empty():
    page = CLEAN.replace("<h2>Who sold?</h2>", "<h2>Who sold?</h2><h3>In April</h3>")
    assert reader_defects(page) == []


@pytest.mark.pipeline
def test_every_page_of_a_run_on_your_own_fund_data_reads_for_people(own_data_run):
    project, result = own_data_run
    assert result.returncode == 0, result.stderr
    report = Path(result.stdout.strip().splitlines()[-1]).parent
    pages = sorted(report.glob("*.html"))
    assert len(pages) >= 5
    for page in pages:
        assert reader_defects(page.read_text(encoding="utf-8")) == [], page.name
