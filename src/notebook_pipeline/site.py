"""HTML for the static site: executed notebooks rendered with nbconvert, and the index pages.

The site is static and self-contained: a page asks no other host for anything, so a report
folder works offline, from disk or from `chinaflows serve`. Pages hide code by default, drop
papermill's injected-parameters cell and open instead with a table of the data's as-of date and
source and the parameters the notebook ran with. Index pages are jinja2 templates (autoescaped:
text from data is shown as text). Executed notebooks are published without this machine's
folders (`make_publishable`).

What a page says of the study comes from pipeline.yaml: the rows its header adds
(`study.page_facts`), the headline figures on the index pages (`study.headline`), and the chart
and files of a run's index (`pages.run_index`); these templates know nothing else of it.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from notebook_pipeline import files
from notebook_pipeline.layout import ProjectLayout
from notebook_pipeline.spec import (
    NotebookStep,
    Pipeline,
    RunIndex,
    load_hook,
    page_outline,
    step_lineage,
)

TEMPLATES_DIR = Path(__file__).parent / "templates"
_TEMPLATES = jinja2.Environment(
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


_TEMPLATES.filters["reader_time"] = reader_time


_PAGE_TEMPLATES = TEMPLATES_DIR / "nbconvert"
PAGE_TEMPLATE = "report_page"  # nbconvert's "lab" page without CDN scripts (see its file)

# A row of a page's header that the study adds (study.page_facts): a label and its HTML, which
# the study escapes (it may mark text, such as a sample banner).
PageFact = tuple[str, str]


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


def _page_header(
    parameters: dict[str, Any],
    as_of: str | None,
    facts: list[PageFact],
    outline: dict[str, Any] | None,
    nav: tuple[tuple[str, str], ...] = RUN_PAGE_NAV,
) -> markupsafe.Markup:
    outline = outline or {"header_parameters": None, "previous": None, "next": None}
    values = {k: json.dumps(v) for k, v in parameters.items() if k != "as_of"}
    open_names = outline["header_parameters"]
    if open_names is None:
        open_names = list(values)
    # Markup: the template escaped every value already; nbconvert's templates do not escape.
    return markupsafe.Markup(
        _TEMPLATES.get_template("page_header.html.j2").render(
            parameters={k: v for k, v in values.items() if k in open_names},
            details={k: v for k, v in values.items() if k not in open_names},
            as_of=as_of,
            facts=[(label, markupsafe.Markup(html)) for label, html in facts],
            nav=nav,
            previous=outline["previous"],
            next=outline["next"],
        )
    )


def render_notebook_html(
    notebook_path: Path,
    html_path: Path,
    title: str,
    parameters: dict[str, Any],
    show_code: bool = False,
    *,
    as_of: str | None = None,
    facts: list[PageFact] = (),
    outline: dict[str, Any] | None = None,
    nav: tuple[tuple[str, str], ...] = RUN_PAGE_NAV,
) -> Path:
    """Render an executed notebook to a reader-first HTML page beside the index pages.

    The page is self-contained (no script, font or stylesheet from another host; charts are
    inline SVGs) and opens with a header: the links `nav` (by default to the run's and the
    site's index) and to the pages before and after it, the data's as-of date (`as_of`, else
    the `as_of` parameter), the study's `facts` for this page (label and HTML rows), the
    parameters a reader cares about and, in a closed block, the others (`outline`:
    spec.page_outline; without it every parameter is shown). Under the notebook's title come
    the cells tagged `findings` and a table of contents (ReaderOutline). Code is hidden unless
    `show_code`; papermill's injected-parameters cell is never shown.
    """
    # nbformat takes a second to import; a run with nothing to execute skips it.
    import nbformat

    notebook = nbformat.read(notebook_path, as_version=4)
    exporter, exporter_lock = _page_exporter(show_code)
    notebook = reader_outline(notebook)
    as_of = as_of or parameters.get("as_of") or None
    resources = {
        "metadata": {"name": f"{title}: as of {as_of}" if as_of else title},
        "report_page_header": _page_header(parameters, as_of, list(facts), outline, nav),
    }
    with exporter_lock:
        body, _ = exporter.from_notebook_node(notebook, resources=resources)
    html_path.write_text(body, encoding="utf-8")
    return html_path


@functools.cache
def _page_exporter(show_code: bool) -> tuple[Any, threading.Lock]:
    """The nbconvert exporter of pages that show their code (or not), with the lock its use
    holds; made once per process. A new exporter compiles every nbconvert template again (a
    quarter of a second a page); this one's jinja environment compiles them once, and again
    only when a template file changes. The lock: each export registers the notebook's own
    filters (its language's highlighter) on the exporter, so two threads must not export at
    once."""
    # nbconvert takes a second to import; a run with nothing to execute skips it.
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(
        extra_template_basedirs=[str(_PAGE_TEMPLATES)],
        template_name=PAGE_TEMPLATE,
        exclude_input=not show_code,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_cell_tags={"injected-parameters"}, enabled=True), enabled=True
    )
    return exporter, threading.Lock()


FINDINGS_TAG = "findings"  # a cell whose output the page shows right under its title
CONTENTS_HEADING = "On this page"
CONTENTS_CELL_ID = "on-this-page"


def heading_anchor(text: str) -> str:
    """The id nbconvert gives a Markdown heading: its text with spaces as hyphens."""
    return text.strip().replace(" ", "-")


def reader_outline(notebook):
    """The notebook as a reader meets it: under the title (the first cell, a `# ` heading), the
    cells tagged `findings` (what the page finds, computed once the data are loaded), then a list
    of links to the page's `## ` sections when it has two or more (those of Markdown cells, and
    those a code cell shows as Markdown: a section only some data call for). Other cells keep
    their order.
    """
    import nbformat

    cells = list(notebook.cells)
    if not cells or not cells[0].source.lstrip().startswith("# "):
        return notebook
    findings = [c for c in cells if FINDINGS_TAG in c.get("metadata", {}).get("tags", [])]
    rest = [c for c in cells[1:] if all(c is not f for f in findings)]
    sections = [
        line[3:].strip()
        for cell in rest
        for text in _markdown_shown(cell)
        for line in text.splitlines()
        if line.startswith("## ")
    ]
    contents = []
    if len(sections) >= 2:
        links = "\n".join(f"- [{text}](#{heading_anchor(text)})" for text in sections)
        # A fixed id (nbformat would draw a random one): the same page gives the same bytes.
        contents = [
            nbformat.v4.new_markdown_cell(f"**{CONTENTS_HEADING}**\n\n{links}", id=CONTENTS_CELL_ID)
        ]
    outlined = nbformat.from_dict(dict(notebook))
    outlined.cells = [cells[0], *findings, *contents, *rest]
    return outlined


def _markdown_shown(cell) -> list[str]:
    """The Markdown a cell shows: its source, or a code cell's Markdown outputs."""
    if cell.cell_type == "markdown":
        return [cell.source]
    data = [output.get("data", {}).get("text/markdown") for output in cell.get("outputs", [])]
    return ["".join(text) for text in data if text]


def _relative_path(path: str, roots: list[Path]) -> str:
    """`path` relative to the first of `roots` that holds it, else only its file name."""
    if not Path(path).is_absolute():
        return path
    for root in roots:
        if Path(path).is_relative_to(root):
            return Path(path).relative_to(root).as_posix()
    return Path(path).name


def make_publishable(
    notebook_path: Path,
    project_root: Path,
    *,
    run_root: Path | None = None,
    published_as: Path | None = None,
) -> Path:
    """Rewrite an executed notebook so that it names no folder of this machine; returns it.

    papermill records where it read and wrote the notebook (metadata.papermill.input_path and
    output_path) as absolute paths: they become relative to `project_root` (the output path is
    `published_as`, where the notebook will be published, if given). Absolute paths in the
    outputs (tracebacks, warnings, printed text) are written relative to the folder the notebook
    ran in (`run_root`, the run's copy of the project, else `project_root`), and the home folder
    as "~". Call it right after the notebook executed, before its page is rendered.
    """
    import nbformat

    project_root = Path(project_root).absolute()
    roots = [Path(r).absolute() for r in (run_root, project_root) if r is not None]
    notebook = nbformat.read(notebook_path, as_version=4)
    papermill = notebook.metadata.get("papermill", {})
    if papermill.get("input_path"):
        papermill["input_path"] = _relative_path(papermill["input_path"], roots)
    if papermill.get("output_path") or published_as is not None:
        output = str(Path(published_as).absolute()) if published_as else papermill["output_path"]
        papermill["output_path"] = _relative_path(output, roots)

    local = [(f"{root}/", "") for root in roots] + [(f"{Path.home()}/", "~/")]
    local.sort(key=lambda pair: len(pair[0]), reverse=True)  # the deepest folder first

    def relative(text: str) -> str:
        for prefix, replacement in local:
            text = text.replace(prefix, replacement)
        return text

    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = relative(output["text"])
            if "traceback" in output:
                output["traceback"] = [relative(line) for line in output["traceback"]]
            if "evalue" in output:
                output["evalue"] = relative(output["evalue"])
            for mime, value in output.get("data", {}).items():
                if mime.startswith("text/") and isinstance(value, str):
                    output["data"][mime] = relative(value)
    nbformat.write(notebook, notebook_path)
    return notebook_path


def _write_page(template: str, target: Path, **context: Any) -> Path:
    """Render an index template to `target`."""
    page = _TEMPLATES.get_template(template).render(**context)
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


@dataclass(frozen=True)
class PageContext:
    """What a run's pages state beyond their notebooks: the run's as-of date, where they are
    published, and the pipeline, whose study hook adds the facts of each page's header."""

    layout: ProjectLayout
    as_of: str
    published_dir: Path
    pipeline: Pipeline
    show_code: bool = False
    nav: tuple[tuple[str, str], ...] = RUN_PAGE_NAV  # the links atop each page


def render_page(
    step: NotebookStep,
    parameters: dict[str, Any],
    folder: Path,
    page: PageContext,
    project: ProjectLayout,
) -> Path:
    """Render the executed notebook of `step` in `folder` to its page beside it, once it names
    no folder of this machine; `project` is the copy of the project it ran in. Returns the page."""
    executed = folder / f"{step.name}.ipynb"
    make_publishable(
        executed,
        page.layout.root,
        run_root=project.root,
        published_as=page.published_dir / executed.name,
    )
    hook = page.pipeline.study.page_facts
    facts = load_hook(hook)(project.root, step_lineage(page.pipeline, step)) if hook else []
    return render_notebook_html(
        executed,
        executed.with_suffix(".html"),
        step.title,
        parameters,
        show_code=page.show_code,
        as_of=page.as_of,
        facts=facts,
        outline=page_outline(page.pipeline, step),
        nav=page.nav,
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
        _TEMPLATES.get_template("sweep_combinations.html.j2").render(
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
