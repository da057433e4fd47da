"""The static site's index pages: a run's index, the site's index of every run and sweep, and a
sweep's page; the templates and the links atop every page (a notebook's own page is
notebook_page's).

The site is static and self-contained: a page asks no other host for anything, so a report
folder works offline, from disk or from `chinaflows serve`. Index pages are jinja2 templates
(autoescaped: text from data is shown as text).

What a page says of the study comes from pipeline.yaml: the headline figures on the index pages
(`study.headline`) and the chart and files of a run's index (`pages.run_index`); these templates
know nothing else of it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from notebook_pipeline import files
from notebook_pipeline.spec import Pipeline, RunIndex, load_hook

TEMPLATES_DIR = Path(__file__).parent / "templates"
TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
)


def reader_time(stamp: str) -> str:
    """A run's ISO time stamp as a reader reads it, to the minute: '2026-01-05 19:51 UTC' (a
    stamp that is not an ISO time is shown as it is)."""
    try:
        moment = dt.datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return stamp
    if moment.utcoffset() is None:
        return f"{moment:%Y-%m-%d %H:%M}"
    return f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


TEMPLATES.filters["reader_time"] = reader_time


@dataclass(frozen=True)
class HeadlineHtml:
    """The study's headline figures as the index pages show them (study.headline): HTML the
    study rendered and escaped from its headline file."""

    as_of_note: str = ""  # follows "Data as of <date>" on the run index
    notice: str = ""  # a block under that line (a warning every reader must see)
    figures: str = ""  # the run index's tables of headline figures
    index_columns: list[str] = field(default_factory=list)  # the site index's column labels
    index_cells: str = ""  # this run's <td> cells under those columns

    def markup(self) -> dict[str, Any]:
        """Every fragment as Markup, so the templates insert it as the study escaped it."""
        return {
            "as_of_note": markupsafe.Markup(self.as_of_note),
            "notice": markupsafe.Markup(self.notice),
            "figures": markupsafe.Markup(self.figures),
            "index_columns": self.index_columns,
            "index_cells": markupsafe.Markup(self.index_cells),
        }


# The links atop a page: (label, address relative to it). A run's page: its run index and the
# site index; a run index: the site index.
RUN_PAGE_NAV = (("\u2190 this run", "index.html"), ("all runs", "../index.html"))
RUN_INDEX_NAV = (("\u2190 all runs", "../index.html"),)
SITE_INDEX_FROM_SWEEP = "../../index.html"  # from reports/sweeps/<sweep>/


def combination_page_nav(sweep_title: str) -> tuple[tuple[str, str], ...]:
    """The links atop a page of a sweep's combination (reports/sweeps/<sweep>/<combination>/):
    its run index, the sweep's page, the site index."""
    return (
        ("\u2190 this run", "index.html"),
        (f"sweep: {sweep_title}", "../index.html"),
        ("all runs", f"../{SITE_INDEX_FROM_SWEEP}"),
    )


def combination_index_nav(sweep_title: str) -> tuple[tuple[str, str], ...]:
    """The links atop a combination's run index: the sweep's page, the site index."""
    return (
        ("\u2190 sweep: " + sweep_title, "../index.html"),
        ("all runs", f"../{SITE_INDEX_FROM_SWEEP}"),
    )


def _write_page(template: str, target: Path, **context: Any) -> Path:
    """Render an index template to `target`."""
    page = TEMPLATES.get_template(template).render(**context)
    # Whole or not at all: reports/index.html is the published site's front page.
    return files.write_atomically(target, lambda path: path.write_text(page, encoding="utf-8"))


def render_run_index(
    report_dir: Path,
    run: dict[str, Any],
    headline: HeadlineHtml,
    declared: RunIndex,
    nav: tuple[tuple[str, str], ...] = RUN_INDEX_NAV,
) -> Path:
    """reports/<as_of>/index.html: the run's pages and headline figures under the links `nav`
    (label, address), opening with the chart pipeline.yaml declares (`declared`:
    pages.run_index) and linking its published files, each by its name in the report folder."""
    chart = {"name": Path(declared.chart).name, "caption": declared.chart_caption}
    return _write_page(
        "run_index.html.j2",
        report_dir / "index.html",
        run=run,
        headline=headline.markup(),
        chart=chart if declared.chart else None,
        files=[Path(path).name for path in declared.files],
        nav=nav,
    )


def headline_hook(pipeline: Pipeline) -> tuple[str | None, Callable[[dict], HeadlineHtml]]:
    """The name of the study's headline file in a report folder and its HTML (study.headline);
    none and empty fragments for a study without headline figures."""
    headline = pipeline.study.headline
    if headline is None:
        return None, lambda _: HeadlineHtml()
    return Path(headline.file).name, load_hook(headline.html)


def read_headline(folder: Path, headline_file: str | None) -> dict[str, Any]:
    """The content of the headline file `headline_file` (a file name) in a report folder; {}
    where there is none."""
    published = folder / headline_file if headline_file else None
    if published is None or not published.exists():
        return {}
    return json.loads(published.read_text(encoding="utf-8"))


def read_published_runs(reports_dir: Path, headline_file: str | None) -> list[dict[str, Any]]:
    """Every published run (a folder with run.json), newest as-of date first, each with the
    content of its `headline_file` (a file name; {} where it has none)."""
    runs = []
    for run_file in reports_dir.glob("*/run.json"):
        if run_file.parent.name.startswith((".", "_")):
            continue
        run = json.loads(run_file.read_text(encoding="utf-8"))
        run["headline"] = read_headline(run_file.parent, headline_file)
        run["folder"] = run_file.parent.name
        runs.append(run)
    return sorted(runs, key=lambda r: r["as_of"], reverse=True)


def render_site_index(
    reports_dir: Path, title: str, headline_file: str | None, headline_html
) -> Path:
    """reports/index.html: every published run, newest first, with the study's headline
    columns: `headline_html` turns a run's headline content into a HeadlineHtml."""
    runs = read_published_runs(reports_dir, headline_file)
    columns = headline_html({}).index_columns if runs else []
    for run in runs:
        run["headline"] = headline_html(run["headline"]).markup()
    return _write_page(
        "site_index.html.j2",
        reports_dir / "index.html",
        title=title,
        runs=runs,
        columns=columns,
        sweeps=read_published_sweeps(reports_dir),
    )


def read_published_sweeps(reports_dir: Path) -> list[dict[str, Any]]:
    """Every published sweep (reports/sweeps/<sweep>/sweep.json), by name: its folder, title
    and number of combinations."""
    sweeps = []
    for manifest in sorted(reports_dir.glob("sweeps/*/sweep.json")):
        content = json.loads(manifest.read_text(encoding="utf-8"))
        sweeps.append(
            {
                "folder": f"sweeps/{manifest.parent.name}",
                "title": content.get("title", manifest.parent.name),
                "combinations": len(content.get("combinations", [])),
            }
        )
    return sweeps


def sweep_as_of(combinations: list[dict[str, Any]]) -> str:
    """The as-of date a sweep's page states: its combinations' one date, or their range."""
    dates = sorted({c["as_of"] for c in combinations if c.get("as_of")})
    return dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}" if dates else ""


def sweep_combinations_html(manifest: dict[str, Any], heading: str) -> markupsafe.Markup:
    """A table of a sweep's combinations (sweep.json's content): each published one linked to
    its run index, each failed one with its first line of error."""
    return markupsafe.Markup(
        TEMPLATES.get_template("sweep_combinations.html.j2").render(
            heading=heading, axes=manifest["axes"], combinations=manifest["combinations"]
        )
    )


def link_missing_combinations(page: str, manifest: dict[str, Any]) -> str:
    """The study's sweep page `page` (HTML), with a table of the combinations it does not link
    (published) or name (failed) itself added at its end: every combination is a click away."""
    missing = [
        c
        for c in manifest["combinations"]
        if (f'href="{c["folder"]}/index.html"' if c["status"] == "succeeded" else c["name"])
        not in page
    ]
    if not missing:
        return page
    listing = sweep_combinations_html({**manifest, "combinations": missing}, "Other combinations")
    end = "</main>" if "</main>" in page else "</body>"
    return page.replace(end, f"{listing}{end}", 1)


def render_sweep_index(folder: Path, manifest: dict[str, Any]) -> Path:
    """reports/sweeps/<sweep>/index.html for a project that declares no sweep page: the
    sweep's combinations, each linked to its run index."""
    return _write_page(
        "sweep_index.html.j2",
        folder / "index.html",
        title=manifest["title"],
        as_of=sweep_as_of(manifest["combinations"]) or "not stated",
        combinations=manifest["combinations"],
        listing=sweep_combinations_html(manifest, "Combinations"),
        site_index=SITE_INDEX_FROM_SWEEP,
    )
