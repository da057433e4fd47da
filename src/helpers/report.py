"""HTML for the static site: executed notebooks rendered with nbconvert, and the index pages.

Pages hide code by default, drop papermill's injected-parameters cell and open instead with a
table of the parameters the notebook ran with. Index pages are jinja2 templates (autoescaped:
text from data is shown as text).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2

from helpers.show import SAMPLE_MARK

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("helpers", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
)


def _page_header(title: str, parameters: dict[str, Any], run_index: str, site_index: str) -> str:
    return _TEMPLATES.get_template("page_header.html.j2").render(
        title=title,
        parameters={k: json.dumps(v) for k, v in parameters.items()},
        run_index=run_index,
        site_index=site_index,
    )


def render_notebook_html(
    notebook_path: Path,
    html_path: Path,
    title: str,
    parameters: dict[str, Any],
    show_code: bool = False,
) -> Path:
    """Render an executed notebook to a reader-first HTML page beside the index pages."""
    # nbformat and nbconvert take a second to import; a run with nothing to execute skips them.
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    notebook = nbformat.read(notebook_path, as_version=4)
    notebook.cells.insert(
        0,
        # nbconvert sanitises raw cells; a markdown cell passes the (already escaped) HTML through.
        nbformat.v4.new_markdown_cell(
            _page_header(title, parameters, run_index="index.html", site_index="../index.html")
        ),
    )
    exporter = HTMLExporter(
        template_name="lab",
        exclude_input=not show_code,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_cell_tags={"injected-parameters"}, enabled=True), enabled=True
    )
    body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": title}})
    html_path.write_text(body, encoding="utf-8")
    return html_path


def _write_page(template: str, target: Path, **context: Any) -> Path:
    """Render an index template (with the sample mark's wording) to `target`."""
    page = _TEMPLATES.get_template(template).render(sample_mark=SAMPLE_MARK, **context)
    target.write_text(page, encoding="utf-8")
    return target


def render_run_index(report_dir: Path, run: dict[str, Any], headline: dict[str, Any]) -> Path:
    """reports/<as_of>/index.html: the run's pages and headline figures."""
    return _write_page("run_index.html.j2", report_dir / "index.html", run=run, headline=headline)


def read_published_runs(reports_dir: Path) -> list[dict[str, Any]]:
    """Every published run (a folder with run.json), newest as-of date first."""
    runs = []
    for run_file in reports_dir.glob("*/run.json"):
        if run_file.parent.name.startswith((".", "_")):
            continue
        run = json.loads(run_file.read_text(encoding="utf-8"))
        headline_file = run_file.parent / "headline.json"
        run["headline"] = (
            json.loads(headline_file.read_text(encoding="utf-8")) if headline_file.exists() else {}
        )
        run["folder"] = run_file.parent.name
        runs.append(run)
    return sorted(runs, key=lambda r: r["as_of"], reverse=True)


def render_site_index(reports_dir: Path, title: str) -> Path:
    """reports/index.html: every published run, newest first."""
    return _write_page(
        "site_index.html.j2",
        reports_dir / "index.html",
        title=title,
        runs=read_published_runs(reports_dir),
    )
