"""One visual style for every chart, the sample mark on charts of synthetic data, and the
captioned vector figure a page shows (`show_chart`)."""

from __future__ import annotations

import base64
import html
import io
import textwrap
from pathlib import Path

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from helpers.present.show import SAMPLE_MARK, sample_caption, with_minus
from notebook_pipeline.files import write_atomically

USD_BN = plt.FuncFormatter(lambda v, _: "0" if v == 0 else with_minus(f"{v / 1e9:+.2f}"))
PERCENT = plt.FuncFormatter(lambda v, _: "0%" if v == 0 else with_minus(f"{v:+.0f}%"))

# The darker Okabe-Ito hues: told apart with any colour vision, each at least 3:1 against the
# white background (its orange, sky blue and yellow are not).
OKABE_ITO = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "bluish green": "#009E73",
    "reddish purple": "#CC79A7",
}
COHORT_COLOURS = {
    "technology": OKABE_ITO["blue"],
    "broad": OKABE_ITO["bluish green"],
    "traditional": OKABE_ITO["vermillion"],
    "other": OKABE_ITO["reddish purple"],
}
INFLOW, OUTFLOW = OKABE_ITO["blue"], OKABE_ITO["vermillion"]
# Diverging, blue for inflows and red for outflows: no red against green.
DIVERGING = "RdBu"


def use_style() -> None:
    """The project's chart style; call once per notebook."""
    sns.set_theme(style="whitegrid", context="notebook")
    plt.rcParams.update(
        {
            "figure.figsize": (10, 4.8),
            "figure.dpi": 110,
            "savefig.dpi": 160,
            "axes.titleweight": "bold",
            "axes.titlelocation": "left",
            # Text stays text in the SVG (small, sharp, selectable); the page's font draws it.
            "svg.fonttype": "none",
            # Fixed element ids: the same chart gives the same bytes on every run.
            "svg.hashsalt": "china-tech-flows",
        }
    )


def chart_svg(figure: Figure) -> bytes:
    """The chart as SVG, the same bytes on every run (no date; fixed ids, see use_style)."""
    svg = io.BytesIO()
    figure.savefig(svg, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return svg.getvalue()


def write_chart(figure: Figure, path: str | Path) -> Path:
    """Write the chart to `path` as SVG, whole or not at all (a file an index page shows)."""
    svg = chart_svg(figure)
    return write_atomically(Path(path), lambda temporary: temporary.write_bytes(svg))


def show_chart(figure: Figure, caption: str, sample: bool = False) -> None:
    """Show a chart as a captioned figure: vector (SVG), so it is sharp on any screen density,
    embedded in the page (no file beside it, no request), its caption also its alt text.

    The caption says what the chart shows; it carries the sample mark when the data are
    synthetic, like a table's caption. The figure is closed afterwards."""
    from IPython.display import HTML, display

    svg = chart_svg(figure)
    plt.close(figure)
    source = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
    text = html.escape(sample_caption(caption, sample))
    display(
        HTML(
            # On a narrow screen the chart scrolls sideways rather than shrink unreadably; the
            # box takes the keyboard's focus, so that it scrolls without a mouse too.
            '<figure class="chart" tabindex="0" style="margin:1em 0;overflow-x:auto">'
            f'<img src="{source}" alt="{text}" style="max-width:100%;min-width:640px;height:auto">'
            f'<figcaption style="color:#57606a;font-size:0.95em">{text}</figcaption>'
            "</figure>"
        )
    )


def mark_sample(figure: Figure, sample: bool) -> Figure:
    """Stamp 'sample data (synthetic)' across a chart built from the synthetic sample."""
    if sample:
        figure.text(
            0.5,
            0.5,
            SAMPLE_MARK.upper(),
            transform=figure.transFigure,
            fontsize=28,
            color="#d4a72c",
            alpha=0.35,
            ha="center",
            va="center",
            rotation=18,
            weight="bold",
        )
        figure.text(
            0.99,
            0.01,
            SAMPLE_MARK,
            transform=figure.transFigure,
            fontsize=10,
            color="#7d4e00",
            ha="right",
            va="bottom",
            weight="bold",
        )
    return figure


def usd_bn_axis(axis) -> None:
    """Label a chart's y axis in US$ bn."""
    axis.yaxis.set_major_formatter(USD_BN)
    axis.set_ylabel("US$ bn")


def bar_flows(
    totals: pd.Series,
    title: str,
    sample: bool,
    colours: list[str] | None = None,
    percent: bool = False,
) -> Figure:
    """Horizontal bars of flows by ticker or cohort, in US$ (or in percent with `percent`);
    inflows right, outflows left."""
    figure, axis = plt.subplots(figsize=(9, 0.5 * len(totals) + 1.6))
    colours = colours or [INFLOW if v >= 0 else OUTFLOW for v in totals]
    axis.barh(totals.index.astype(str), totals.values, color=colours)
    axis.axvline(0, color="#1f2328", linewidth=0.8)
    axis.xaxis.set_major_formatter(PERCENT if percent else USD_BN)
    axis.set_xlabel("% of starting net assets" if percent else "US$ bn")
    axis.invert_yaxis()
    axis.set_title(title)
    figure.tight_layout()
    return mark_sample(figure, sample)


def cumulative_with_events(
    cumulative: pd.DataFrame, events: pd.DataFrame, title: str, sample: bool
) -> Figure:
    """Cumulative flows per cohort over time, with each event marked on its trading day
    (`session`, see market_calendar.align_events) and numbered in the order of `events`."""
    figure, axis = plt.subplots(figsize=(11, 5.5))
    for cohort in cumulative.columns:
        line = cumulative[cohort].dropna()
        colour = COHORT_COLOURS.get(cohort)
        axis.plot(line.index, line.values, linewidth=2, color=colour)
        if len(line):  # named at its end, in its colour: no legend to look up
            axis.annotate(
                cohort,
                (line.index[-1], line.iloc[-1]),
                xytext=(5, 0),
                textcoords="offset points",
                va="center",
                color=colour,
                fontsize=10,
                weight="bold",
            )
    axis.axhline(0, color="#1f2328", linewidth=0.8)
    top = axis.get_ylim()[1]
    for number, (_, event) in enumerate(events.iterrows(), start=1):
        axis.axvline(event["session"], color="#6e7781", linewidth=0.7, linestyle=":")
        axis.text(event["session"], top, str(number), fontsize=9, ha="center", va="bottom")
    usd_bn_axis(axis)
    axis.xaxis.set_major_formatter(mdates.DateFormatter("%b"))
    axis.set_title(title, pad=18)
    figure.tight_layout()
    return mark_sample(figure, sample)


def net_assets_lines(daily: pd.DataFrame, title: str, sample: bool) -> Figure:
    """Net assets per ETF over time: jumps here point at data problems or large flows."""
    figure, axis = plt.subplots(figsize=(11, 4.8))
    for ticker, rows in daily.dropna(subset=["net_assets_usd"]).groupby("ticker"):
        axis.plot(rows["date"], rows["net_assets_usd"], label=ticker, linewidth=1.6)
    axis.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v / 1e9:.0f}"))
    axis.set_ylabel("US$ bn")
    axis.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    axis.legend(loc="upper left", ncols=5)
    axis.set_title(title)
    figure.tight_layout()
    return mark_sample(figure, sample)


def heatmap_flows(by_month: pd.DataFrame, title: str, sample: bool) -> Figure:
    """Heat map of flows (US$ bn): rows tickers, columns months."""
    data = by_month.T / 1e9
    data.columns = [c.strftime("%b") for c in data.columns]
    figure, axis = plt.subplots(figsize=(11, 0.55 * len(data) + 1.8))
    limit = max(abs(data.min().min()), abs(data.max().max()))
    sns.heatmap(
        data,
        ax=axis,
        cmap=DIVERGING,
        center=0,
        vmin=-limit,
        vmax=limit,
        annot=data.map(lambda v: "" if pd.isna(v) else with_minus(f"{v:+.2f}")),
        fmt="",
        cbar_kws={"label": "US$ bn"},
    )
    axis.set_ylabel("")
    axis.set_title(title)
    figure.tight_layout()
    return mark_sample(figure, sample)


def proportions_with_intervals(table: pd.DataFrame, title: str) -> Figure:
    """Point estimates (percent) with interval whiskers; rows labelled by `label`."""
    figure, axis = plt.subplots(figsize=(11, 0.62 * len(table) + 1.6))
    y = range(len(table))
    labels = [textwrap.fill(label, 55) for label in table["label"]]
    axis.errorbar(
        table["share_pct"],
        list(y),
        xerr=[table["share_pct"] - table["ci_low_pct"], table["ci_high_pct"] - table["share_pct"]],
        fmt="o",
        color="#0969da",
        capsize=4,
    )
    axis.set_yticks(list(y), labels, fontsize=9)
    axis.set_xlim(0, 100)
    axis.set_xlabel("% of respondents (95% Wilson interval)")
    axis.invert_yaxis()
    axis.set_title(title)
    figure.tight_layout()
    return figure


def cohort_period_bars(by_cohort: pd.DataFrame, title: str, sample: bool) -> Figure:
    """One panel per cohort: net flow per period (rows of `by_cohort`) as bars."""
    figure, axes = plt.subplots(
        len(by_cohort.columns), 1, figsize=(11, 1.9 * len(by_cohort.columns) + 1), sharex=True
    )
    for axis, cohort in zip(np.atleast_1d(axes), by_cohort.columns, strict=True):
        values = by_cohort[cohort].fillna(0.0)
        axis.bar(values.index, values.values, width=5, color=COHORT_COLOURS.get(cohort, "#6e7781"))
        axis.axhline(0, color="#1f2328", linewidth=0.8)
        usd_bn_axis(axis)
        axis.set_title(cohort, fontsize=10, loc="left")
    axis.xaxis.set_major_formatter(mdates.DateFormatter("%b"))
    figure.suptitle(title, x=0.01, ha="left", weight="bold")
    figure.tight_layout()
    return mark_sample(figure, sample)


def event_window_bars(windows: pd.DataFrame, days: int, title: str, sample: bool) -> Figure:
    """One panel per cohort: for each numbered event, flows in the window before and after."""
    cohorts = list(dict.fromkeys(windows["cohort"]))
    figure, axes = plt.subplots(
        len(cohorts), 1, figsize=(11, 2.1 * len(cohorts) + 1), sharex=True, squeeze=False
    )
    for axis, cohort in zip(axes[:, 0], cohorts, strict=True):
        rows = windows[windows["cohort"] == cohort]
        x = np.arange(len(rows))
        axis.bar(
            x - 0.2, rows["before_usd"], width=0.4, color="#afb8c1", label=f"{days} days before"
        )
        axis.bar(
            x + 0.2,
            rows["after_usd"],
            width=0.4,
            color=COHORT_COLOURS.get(cohort, "#6e7781"),
            label=f"day 0 and {days - 1} after",
        )
        axis.axhline(0, color="#1f2328", linewidth=0.8)
        usd_bn_axis(axis)
        axis.set_title(cohort, fontsize=10, loc="left")
        axis.legend(loc="upper right", fontsize=9, ncols=2)
        axis.set_xticks(x, rows["number"].astype(str))
    axes[-1, 0].set_xlabel("event (numbered as in the events table)")
    figure.suptitle(title, x=0.01, ha="left", weight="bold")
    figure.tight_layout()
    return mark_sample(figure, sample)


# seaborn draws a regression's 95% band from bootstrap resamples: a fixed seed gives the same
# band, and the same page, on every run.
BAND_SEED = 2025


def flow_return_scatter(pairs: pd.DataFrame, cohorts, title: str, sample: bool) -> Figure:
    """One panel per cohort: each ETF-period's flow (% of net assets) against the previous
    period's NAV return, with a least-squares line and its 95% band."""
    figure, axes = plt.subplots(1, len(cohorts), figsize=(11, 4), sharey=True, squeeze=False)
    for axis, cohort in zip(axes[0], cohorts, strict=True):
        chosen = pairs[pairs["ticker"].isin(cohorts[cohort])]
        if len(chosen) >= 2:
            sns.regplot(
                data=chosen,
                x="previous_return_pct",
                y="flow_pct_of_assets",
                ax=axis,
                color=COHORT_COLOURS.get(cohort, "#6e7781"),
                scatter_kws={"s": 12, "alpha": 0.6},
                seed=BAND_SEED,
            )
        axis.axhline(0, color="#1f2328", linewidth=0.6)
        axis.axvline(0, color="#1f2328", linewidth=0.6)
        axis.set_title(cohort, fontsize=10, loc="left")
        axis.set_xlabel("previous period's NAV return (%)")
        axis.set_ylabel("")
    axes[0, 0].set_ylabel("flow (% of net assets)")
    figure.suptitle(title, x=0.01, ha="left", weight="bold")
    figure.tight_layout()
    return mark_sample(figure, sample)


SPREAD_COLOUR = "#1f2328"  # the spread beside the cohorts: near-black, a diamond marker


def _series_style(name: str) -> dict:
    """A cohort's colour and a round marker; the spread near-black with a diamond."""
    if name in COHORT_COLOURS:
        return {"color": COHORT_COLOURS[name], "marker": "o"}
    return {"color": SPREAD_COLOUR, "marker": "D"}


def combination_dots(figures: pd.DataFrame, title: str, sample: bool) -> Figure:
    """One row per combination (rows of `figures`, labelled by its index): each column (a
    cohort's total flow, the spread) as a dot on a shared US$ bn axis, in the given order."""
    figure, axis = plt.subplots(figsize=(11, 0.42 * len(figures) + 2.2))
    rows = np.arange(len(figures))
    for name in figures.columns:
        axis.scatter(figures[name], rows, s=46, label=name, zorder=3, **_series_style(name))
    axis.axvline(0, color="#1f2328", linewidth=0.8)
    axis.set_yticks(rows, [textwrap.fill(str(label), 60) for label in figures.index], fontsize=10)
    axis.invert_yaxis()
    axis.xaxis.set_major_formatter(USD_BN)
    axis.set_xlabel("US$ bn")
    axis.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=len(figures.columns))
    axis.set_title(title, pad=34)
    figure.tight_layout()
    return mark_sample(figure, sample)


def figures_over_time(figures: pd.DataFrame, title: str, sample: bool) -> Figure:
    """Each column of `figures` (a cohort's total flow, the spread; US$) as a line over its
    datetime index, a dot at each date, named at its end in its colour (no legend)."""
    figure, axis = plt.subplots(figsize=(11, 5))
    for name in figures.columns:
        line = figures[name].dropna()
        style = _series_style(name)
        axis.plot(line.index, line.values, linewidth=2, **style)
        if len(line):
            axis.annotate(
                name,
                (line.index[-1], line.iloc[-1]),
                xytext=(8, 0),
                textcoords="offset points",
                va="center",
                color=style["color"],
                fontsize=11,
                weight="bold",
            )
    axis.axhline(0, color="#1f2328", linewidth=0.8)
    usd_bn_axis(axis)
    axis.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
    axis.set_xticks(figures.index)
    axis.tick_params(axis="x", rotation=30)
    axis.set_title(title)
    figure.tight_layout()
    return mark_sample(figure, sample)


def p_values_by_base(by_base: pd.DataFrame, level: float, title: str) -> Figure:
    """One row per survey base (the index of `by_base`): its p-value as a dot, a bar from its
    lowest to its highest where they differ (`lowest_p_value`, `highest_p_value`), and a dashed
    line at the significance `level`."""
    figure, axis = plt.subplots(figsize=(11, 0.6 * len(by_base) + 1.9))
    rows = np.arange(len(by_base))
    low, high = by_base["lowest_p_value"], by_base["highest_p_value"]
    axis.hlines(rows, low, high, color=OKABE_ITO["blue"], linewidth=3)
    axis.scatter(high, rows, s=60, color=OKABE_ITO["blue"], zorder=3)
    axis.scatter(low, rows, s=60, color=OKABE_ITO["blue"], zorder=3)
    axis.axvline(level, color=OKABE_ITO["vermillion"], linestyle="--", linewidth=1.2)
    axis.annotate(
        f"{level:g}",
        (level, 1.0),
        xycoords=("data", "axes fraction"),
        xytext=(4, -2),
        textcoords="offset points",
        va="top",
        color=OKABE_ITO["vermillion"],
        fontsize=11,
    )
    axis.set_yticks(rows, [str(base) for base in by_base.index], fontsize=11)
    axis.set_ylim(len(by_base) - 0.5, -0.5)
    axis.set_xlim(0, max(2 * level, 1.2 * float(high.max())))
    axis.set_xlabel("p-value of the survey's shift (two-sided z-test)")
    axis.set_title(title)
    figure.tight_layout()
    return figure
