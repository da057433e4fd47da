"""What notebooks show: captioned tables (helpers.present.show) and captioned charts
(plots.show_chart)."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ElementTree

import IPython.display
import matplotlib.pyplot as plt
import pandas as pd
import pytest

from helpers.present import plots, show


def test_a_long_table_shows_its_first_rows_and_says_so():
    frame = pd.DataFrame({"ticker": [f"T{i}" for i in range(1200)], "flow_usd": 1.0})
    styler = show.table(frame, "Flagged fund-days", sample=True, first_rows=50)
    assert len(styler.data) == 50
    assert (
        styler.caption == "Flagged fund-days (the first 50 of 1,200) \u2014 SAMPLE DATA (SYNTHETIC)"
    )


def test_a_short_table_is_shown_whole():
    frame = pd.DataFrame({"flow_usd": [1.0, 2.0]})
    styler = show.table(frame, "Gaps", first_rows=50)
    assert len(styler.data) == 2
    assert styler.caption == "Gaps (the first 2 of 2)"
    assert show.table(frame, "Gaps").caption == "Gaps"


# --- charts: vector, captioned, reproducible ------------------------------------------------------


def shown_chart(monkeypatch, caption: str, sample: bool = False) -> str:
    """The HTML that plots.show_chart displays for a small bar chart."""
    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj.data))
    plots.use_style()
    figure = plots.bar_flows(pd.Series({"KWEB": 2.3e9, "FXI": -2.3e9}), "Flows", sample)
    plots.show_chart(figure, caption, sample)
    assert not plt.fignum_exists(figure.number), "the figure must be closed once shown"
    (html_text,) = shown
    return html_text


def embedded_svg(html_text: str) -> str:
    (encoded,) = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html_text)
    return base64.b64decode(encoded).decode("utf-8")


def test_a_chart_is_an_embedded_vector_image_with_its_caption(monkeypatch):
    html_text = shown_chart(monkeypatch, "Net flow per ETF, in US$ bn")
    assert html_text.startswith('<figure class="chart"')
    assert "<figcaption" in html_text and "Net flow per ETF, in US$ bn</figcaption>" in html_text
    assert 'alt="Net flow per ETF, in US$ bn"' in html_text
    svg = ElementTree.fromstring(embedded_svg(html_text))
    assert svg.tag.endswith("svg")
    # Text is kept as text (svg.fonttype "none"): the tick labels are readable in the file.
    assert "KWEB" in embedded_svg(html_text)


def test_a_chart_of_sample_data_says_so_in_its_caption(monkeypatch):
    html_text = shown_chart(monkeypatch, "Net flow per ETF", sample=True)
    assert f"Net flow per ETF \u2014 {show.SAMPLE_MARK.upper()}</figcaption>" in html_text
    assert show.SAMPLE_MARK in embedded_svg(html_text)  # and on the chart itself


def test_a_chart_caption_from_data_is_text(monkeypatch):
    html_text = shown_chart(monkeypatch, 'Flows of <script>alert("x")</script> & "co"')
    assert "<script>" not in html_text
    assert "&lt;script&gt;" in html_text and "&amp;" in html_text and "&quot;co&quot;" in html_text


def test_the_same_chart_gives_the_same_bytes(monkeypatch):
    assert shown_chart(monkeypatch, "Flows") == shown_chart(monkeypatch, "Flows")


def test_the_flow_return_band_is_the_same_on_every_run():
    """The regression band is bootstrapped: drawn twice from the same pairs, the SVG is equal."""
    import io

    import matplotlib
    import numpy as np
    import pandas as pd

    from helpers.present import plots

    rng = np.random.default_rng(1)
    pairs = pd.DataFrame(
        {
            "ticker": ["AAA"] * 30,
            "previous_return_pct": rng.normal(size=30),
            "flow_pct_of_assets": rng.normal(size=30),
        }
    )

    def drawn() -> bytes:
        figure = plots.flow_return_scatter(pairs, {"technology": ["AAA"]}, "t", sample=False)
        out = io.BytesIO()
        figure.savefig(out, format="svg", metadata={"Date": None})
        return out.getvalue()

    with matplotlib.rc_context():  # the page style (fixed SVG ids), for this test only
        plots.use_style()
        assert drawn() == drawn()


def test_money_and_percentages_carry_a_true_minus_sign():
    assert show.usd_bn(-1.4e9) == "\u2212\u2060$1.40bn"
    assert show.usd_bn(2.3e9) == "+\u2060$2.30bn"
    assert show.usd_bn(-5e8, signed=False) == "\u2212\u2060$0.50bn"
    assert show.usd_bn(4.2e6) == "+\u2060$4.2mn"  # not "+$0.00bn"
    assert show.usd_bn(0.0) == "+\u2060$0.00bn"
    assert show.pct(-3.25, signed=True) == "\u22123.2%"
    assert show.pct(12.345) == "12.3%"
    assert "-" not in show.usd_bn(-1.4e9) + show.pct(-1.0)


# --- tables for people ----------------------------------------------------------------------------


def _cells(styler) -> tuple[list[str], list[str]]:
    """The header texts and the cell texts of a rendered table."""
    page = styler.to_html()
    return re.findall(r"<th[^>]*>(.*?)</th>", page), re.findall(r"<td[^>]*>(.*?)</td>", page)


def test_a_table_reads_for_people():
    frame = pd.DataFrame(
        {
            "ticker": ["KWEB", "FXI"],
            "flow_usd": [2.3e9, -1.4e9],
            "last_net_assets_usd": [1e10, 2e10],
            "flag_stale_nav": [True, False],
            "date": pd.to_datetime(["2025-01-21", "2025-02-03"]),
            "largest_inflow_month": pd.to_datetime(["2025-01-01", None]),
            "rows_read": [3, 1200],
            "difference": [-0.5, 1.25],
        },
        index=[11, 25],  # what a filtered table keeps: row numbers that mean nothing to a reader
    )
    headers, cells = _cells(show.table(frame, "Flows"))
    assert headers == [
        "ETF", "Net flow", "Net assets, last day", "Flag: stale nav", "Date",
        "Largest inflow (month)", "Rows read", "Difference",
    ]  # fmt: skip
    assert cells[:8] == [
        "KWEB", "+\u2060$2.30bn", "$10.00bn", "yes", "2025-01-21", "2025-01-01", "3", "\u22120.50",
    ]  # fmt: skip
    assert cells[8:] == [
        "FXI",
        "\u2212\u2060$1.40bn",
        "$20.00bn",
        "no",
        "2025-02-03",
        "",
        "1,200",
        "1.25",
    ]
    assert "00:00:00" not in show.table(frame, "Flows").to_html()


def test_an_empty_table_of_text_columns_is_shown():
    """A window without events gives an empty table; its text columns hold Arrow strings."""
    frame = pd.DataFrame(
        {"date": pd.to_datetime([]), "event": pd.Series([], dtype="string[pyarrow]")}
    )
    headers, cells = _cells(show.table(frame, "Events marked on the chart"))
    assert headers == ["Date", "Event"] and cells == []


def test_a_meaningful_index_is_kept_and_labelled():
    frame = pd.DataFrame({"flow_usd": [1e9]}, index=pd.Index(["technology"], name="cohort"))
    headers, cells = _cells(show.table(frame, "Cohorts"))
    assert "Cohort" in headers and "technology" in headers + cells


def test_numbers_are_right_aligned_and_text_wraps():
    frame = pd.DataFrame({"note": ["a long explanation " * 5], "flow_usd": [1e9]})
    page = show.table(frame, "Notes").to_html()
    assert re.search(r"col0 \{[^}]*text-align: left;[^}]*white-space: normal", page)
    assert re.search(r"col1 \{[^}]*text-align: right;[^}]*white-space: nowrap", page)
    assert re.search(r"th\.col_heading\.col1 \{\s*text-align: right", page)


def test_a_notebooks_own_format_wins_and_keeps_a_true_minus():
    frame = pd.DataFrame({"organic_growth_pct": [-3.21]})
    _, cells = _cells(show.table(frame, "Growth", formats={"organic_growth_pct": "{:+.1f}%"}))
    assert cells == ["\u22123.2%"]


# --- generated text -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("interval -0.7 to +28.7", "interval \u22120.7 to +28.7"),
        ("an outflow of -$3.2bn", "an outflow of \u2212$3.2bn"),
        ("(-1.5)", "(\u22121.5)"),
        ("2025-01-21, 2024-2025, well-known, x-1", "2025-01-21, 2024-2025, well-known, x-1"),
    ],
)
def test_true_minus_signs_in_text_but_not_in_dates_ranges_or_words(text, expected):
    assert show.true_minus(text) == expected


def test_findings_are_a_list_under_their_heading(monkeypatch):
    shown = []
    monkeypatch.setattr(show, "display", lambda obj: shown.append(obj.data))
    show.findings(["KWEB took in $2.3bn.", "FXI lost -$2.3bn."])
    assert shown == [
        f"## {show.FINDINGS_HEADING}\n\n- KWEB took in \\$2.3bn.\n- FXI lost \u2212\\$2.3bn."
    ]


# --- sources a reader can follow ------------------------------------------------------------------


def test_a_column_of_addresses_is_a_column_of_links():
    frame = pd.DataFrame(
        {
            "source_url": ["https://news.example/a?x=1&y=2", None, "not an address"],
            "source_note": ["also at https://repost.example/b", "plain", "<b>bold</b>"],
        }
    )
    styler = show.table(frame, "Sources")
    page = styler.to_html()
    _, cells = _cells(styler)
    assert cells == [
        '<a href="https://news.example/a?x=1&amp;y=2">https://news.example/a?x=1&amp;y=2</a>',
        "also at https://repost.example/b",  # an address inside a note stays text
        "",
        "plain",
        "not an address",
        "&lt;b&gt;bold&lt;/b&gt;",
    ]
    assert page.count("<a ") == 1
    # A long address breaks anywhere, in a column not squeezed below a readable width.
    assert re.search(r"col0 \{[^}]*overflow-wrap: anywhere;[^}]*min-width: 14em", page)


def test_a_source_text_links_the_address_that_ends_it():
    frame = pd.DataFrame(
        {
            "source": [
                "Paper & Co <i> (2025-12-18): https://paper.example/story",
                "Wire (date not stated): address not recorded",
                "sample data (synthetic): scripts/make_sample.py, seed 1",
            ],
            "claim source": ['Site (date not stated): https://site.example/"q"', None, None],
        }
    )
    _, cells = _cells(show.table(frame, "Sources"))
    assert cells == [
        "Paper &amp; Co &lt;i&gt; (2025-12-18): "
        '<a href="https://paper.example/story">https://paper.example/story</a>',
        "Site (date not stated): "
        '<a href="https://site.example/&quot;q&quot;">https://site.example/&quot;q&quot;</a>',
        "Wire (date not stated): address not recorded",
        "",
        "sample data (synthetic): scripts/make_sample.py, seed 1",
        "",
    ]


def test_only_http_addresses_become_links():
    frame = pd.DataFrame(
        {
            "source_url": ["javascript:alert(1)", "ftp://files.example/x", "https://ok.example"],
            "source": ["A (date not stated): javascript:alert(1)", "B: x https://b.example y", "C"],
        }
    )
    page = show.table(frame, "Sources").to_html()
    assert re.findall(r'<a href="([^"]*)"', page) == ["https://ok.example"]
    assert "javascript:alert(1)" in page  # shown, as text


def test_dates_in_a_row_index_of_several_levels_read_as_dates():
    index = pd.MultiIndex.from_arrays(
        [[1, 2], pd.to_datetime(["2025-01-21", "2025-02-03"])], names=["number", "session"]
    )
    page = show.table(pd.DataFrame({"flow_usd": [1e9, -1e9]}, index=index), "Events").to_html()
    assert "2025-01-21" in page and "00:00:00" not in page
