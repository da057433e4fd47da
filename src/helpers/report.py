"""HTML for the static site: executed notebooks rendered with nbconvert, and the index pages.

The site is static and self-contained: a page asks no other host for anything, so a report
folder works offline, from disk or from `chinaflows serve`. Pages hide code by default, drop
papermill's injected-parameters cell and open instead with a table of the data's as-of date and
source and the parameters the notebook ran with. Index pages are jinja2 templates (autoescaped:
text from data is shown as text). Executed notebooks are published without this machine's
folders (`make_publishable`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from helpers import io, paths
from helpers.show import SAMPLE_MARK

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("helpers", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
)


_PAGE_TEMPLATES = Path(__file__).parent / "templates" / "nbconvert"
PAGE_TEMPLATE = "chinaflows_page"  # nbconvert's "lab" page without CDN scripts (see its file)


def _page_header(
    parameters: dict[str, Any], as_of: str | None, flows_source: str | None
) -> markupsafe.Markup:
    shown = {k: json.dumps(v) for k, v in parameters.items() if k != "as_of"}
    # Markup: the template escaped every value already; nbconvert's templates do not escape.
    return markupsafe.Markup(
        _TEMPLATES.get_template("page_header.html.j2").render(
            parameters=shown,
            as_of=as_of,
            flows_source=flows_source,
            sample_mark=SAMPLE_MARK,
            run_index="index.html",
            site_index="../index.html",
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
    flows_source: str | None = None,
) -> Path:
    """Render an executed notebook to a reader-first HTML page beside the index pages.

    The page is self-contained (no script, font or stylesheet from another host; charts are
    inline PNGs) and opens with a header: links to the run's and the site's index, the data's
    as-of date (`as_of`, else the `as_of` parameter), the fund flows' source when the page shows
    fund flows (`flows_source`: "sample" or "user"; None leaves the line out) and the parameters
    the notebook ran with. Code is hidden unless `show_code`; papermill's injected-parameters
    cell is never shown.
    """
    # nbformat and nbconvert take a second to import; a run with nothing to execute skips them.
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    notebook = nbformat.read(notebook_path, as_version=4)
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
    as_of = as_of or parameters.get("as_of") or None
    resources = {
        "metadata": {"name": f"{title}: as of {as_of}" if as_of else title},
        "chinaflows_page_header": _page_header(parameters, as_of, flows_source),
    }
    body, _ = exporter.from_notebook_node(notebook, resources=resources)
    html_path.write_text(body, encoding="utf-8")
    return html_path


def read_flows_source(processed_dir: Path) -> str | None:
    """Where the fund flows in `processed_dir` came from, as the cleaning notebook decided:
    "sample" or "user" (None before it has written the daily flows)."""
    daily = paths.processed_path(processed_dir, "daily_flows")
    if not daily.exists():
        return None
    import pandas as pd

    from helpers import cleaning

    return cleaning.flows_source(pd.read_parquet(daily, columns=["is_synthetic"]))


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
    """Render an index template (with the sample mark's wording) to `target`."""
    page = _TEMPLATES.get_template(template).render(sample_mark=SAMPLE_MARK, **context)
    # Whole or not at all: reports/index.html is the published site's front page.
    return io.write_atomically(target, lambda path: path.write_text(page, encoding="utf-8"))


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
