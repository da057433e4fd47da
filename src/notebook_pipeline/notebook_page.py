"""A notebook's page: its executed notebook made publishable (no folder of this machine named)
and rendered with nbconvert into a self-contained HTML page beside the run's index pages.

A page hides code by default, drops papermill's injected-parameters cell and opens instead with
a header: the links atop it (site's), the data's as-of date, the rows the study adds
(pipeline.yaml's `study.page_facts`) and the parameters the notebook ran with. Under the title
come the cells tagged `findings` and a table of contents.
"""

from __future__ import annotations

import functools
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import markupsafe

from notebook_pipeline import site
from notebook_pipeline.layout import ProjectLayout
from notebook_pipeline.spec import NotebookStep, Pipeline, load_hook, page_outline, step_lineage

_PAGE_TEMPLATES = site.TEMPLATES_DIR / "nbconvert"
PAGE_TEMPLATE = "report_page"  # nbconvert's "lab" page without CDN scripts (see its file)

# A row of a page's header that the study adds (study.page_facts): a label and its HTML, which
# the study escapes (it may mark text, such as a sample banner).
PageFact = tuple[str, str]


def _page_header(
    parameters: dict[str, Any],
    as_of: str | None,
    facts: list[PageFact],
    outline: dict[str, Any] | None,
    nav: tuple[tuple[str, str], ...] = site.RUN_PAGE_NAV,
) -> markupsafe.Markup:
    outline = outline or {"header_parameters": None, "previous": None, "next": None}
    values = {k: json.dumps(v) for k, v in parameters.items() if k != "as_of"}
    open_names = outline["header_parameters"]
    if open_names is None:
        open_names = list(values)
    # Markup: the template escaped every value already; nbconvert's templates do not escape.
    return markupsafe.Markup(
        site.TEMPLATES.get_template("page_header.html.j2").render(
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
    nav: tuple[tuple[str, str], ...] = site.RUN_PAGE_NAV,
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
        # The notebook is checked against its schema once, after the last preprocessor, rather
        # than after each of them (a dozen times a page, a sixth of its rendering).
        optimistic_validation=True,
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


@dataclass(frozen=True)
class PageContext:
    """What a run's pages state beyond their notebooks: the run's as-of date, where they are
    published, and the pipeline, whose study hook adds the facts of each page's header."""

    layout: ProjectLayout
    as_of: str
    published_dir: Path
    pipeline: Pipeline
    show_code: bool = False
    nav: tuple[tuple[str, str], ...] = site.RUN_PAGE_NAV  # the links atop each page


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
