"""The static site: self-contained pages, nothing private published, `chinaflows serve`.

The browser checks of the same site are in test_browser.py.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest
import yaml
from diamond_project import AS_OF as DIAMOND_AS_OF
from diamond_project import copy_project, refuse_kernels
from diamond_project import run as run_diamond

from helpers.ingest.fund_flows import fund_sources
from helpers.paths import DEFAULT_LAYOUT
from helpers.present.page_facts import PROCESSED_DIR, page_facts, read_flows_source
from helpers.present.show import SAMPLE_MARK
from notebook_pipeline import notebook_page

AS_OF = "2025-12-31"
MAX_PAGE_BYTES = 2 * 1024 * 1024
TINY_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 2"><rect width="4" height="2"/></svg>'
)


# --- one page, rendered from a small executed notebook -------------------------------------------


def executed_notebook(folder: Path, project: Path) -> Path:
    """A notebook as papermill leaves it: injected parameters, absolute paths in its metadata
    and in a traceback, a warning that names a file in the home folder."""
    notebook = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell("as_of = ''", metadata={"tags": ["parameters"]})
    injected = nbformat.v4.new_code_cell(
        "as_of = '2025-12-31'\nsecret_marker = 1", metadata={"tags": ["injected-parameters"]}
    )
    text = nbformat.v4.new_markdown_cell("# A page\n\nSome *text*.")
    shown = nbformat.v4.new_code_cell("print('hello')")
    shown.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="hello\n"),
        nbformat.v4.new_output(
            "stream",
            name="stderr",
            text=f"{Path.home()}/.cache/x.py:3: UserWarning: careful\n",
        ),
        nbformat.v4.new_output(
            "error",
            ename="ValueError",
            evalue=f"bad file {project}/data/raw/events.csv",
            traceback=[f"File {project}/src/helpers/load.py:10, in read()"],
        ),
    ]
    notebook.cells = [parameters, injected, text, shown]
    notebook.metadata["papermill"] = {
        "input_path": str(project / "notebooks" / "01_page.ipynb"),
        "output_path": str(project / ".chinaflows" / "runs" / "report-x" / "01_page.ipynb"),
        "parameters": {"as_of": AS_OF},
    }
    path = folder / "01_page.ipynb"
    nbformat.write(notebook, path)
    return path


def test_make_publishable_writes_project_relative_paths(tmp_path):
    project = tmp_path / "project"
    executed = executed_notebook(tmp_path, project)

    assert (
        notebook_page.make_publishable(
            executed, project, published_as=project / "reports" / AS_OF / "01_page.ipynb"
        )
        == executed
    )

    notebook = nbformat.read(executed, as_version=4)
    assert notebook.metadata["papermill"]["input_path"] == "notebooks/01_page.ipynb"
    assert notebook.metadata["papermill"]["output_path"] == f"reports/{AS_OF}/01_page.ipynb"
    text = executed.read_text(encoding="utf-8")
    assert str(tmp_path) not in text and str(Path.home()) + "/" not in text
    outputs = notebook.cells[3].outputs
    assert outputs[1]["text"] == "~/.cache/x.py:3: UserWarning: careful\n"
    assert outputs[2]["evalue"] == "bad file data/raw/events.csv"
    assert outputs[2]["traceback"] == ["File src/helpers/load.py:10, in read()"]

    notebook_page.make_publishable(executed, project)  # a second pass changes nothing
    assert executed.read_text(encoding="utf-8") == text


def test_make_publishable_keeps_only_the_name_of_a_path_outside_the_project(tmp_path):
    executed = executed_notebook(tmp_path, tmp_path / "elsewhere")
    notebook_page.make_publishable(executed, tmp_path / "project")
    papermill = nbformat.read(executed, as_version=4).metadata["papermill"]
    assert papermill["input_path"] == "01_page.ipynb"


def test_page_is_self_contained_and_opens_with_its_parameters(tmp_path):
    executed = executed_notebook(tmp_path, tmp_path / "project")
    page = notebook_page.render_notebook_html(
        executed,
        tmp_path / "01_page.html",
        "A <page>",
        {"as_of": AS_OF, "tolerance_pct": 1.0, "cohorts": {"technology": ["KWEB"]}},
        as_of=AS_OF,
        facts=study_facts(tmp_path, synthetic=[True, True]),
    ).read_text(encoding="utf-8")

    assert_self_contained(page)
    assert "secret_marker" not in page  # the injected-parameters cell
    assert "print(&#39;hello&#39;)" not in page and "print('hello')" not in page  # code hidden
    assert "<title>A &lt;page&gt;: as of 2025-12-31</title>" in page
    header = page[page.index('<header class="report-header">') : page.index("</header>")]
    assert '<a href="index.html">' in header and '<a href="../index.html">' in header
    assert f"<tr><th>data as of</th><td>{AS_OF}</td></tr>" in header
    assert SAMPLE_MARK in header
    assert "<th>tolerance_pct</th><td><code>1.0</code>" in header
    assert '<code>{"technology": ["KWEB"]}</code>' in header
    assert page.index("</header>") < page.index('id="A-page"')  # the header comes first


def test_page_header_shows_what_a_reader_cares_about_and_links_the_pages_around(tmp_path):
    executed = executed_notebook(tmp_path, tmp_path / "project")
    outline = {
        "header_parameters": ["tolerance_pct"],
        "previous": {"name": "00_intro", "title": "Intro <1>"},
        "next": None,
    }
    page = notebook_page.render_notebook_html(
        executed,
        tmp_path / "01_page.html",
        "P",
        {"as_of": AS_OF, "tolerance_pct": 1.0, "raw_dir": "data/raw"},
        outline=outline,
    ).read_text(encoding="utf-8")
    header = page[page.index('<header class="report-header">') : page.index("</header>")]
    table, details = header.split("<details")
    assert "<th>tolerance_pct</th>" in table and "raw_dir" not in table
    assert "<summary>Paths and other settings</summary>" in details
    assert '<th>raw_dir</th><td><code>"data/raw"</code>' in details
    link = r'<a (?=[^>]*rel="prev")(?=[^>]*href="00_intro.html")[^>]*>previous: Intro &lt;1&gt;</a>'
    assert re.search(link, header)
    assert 'rel="next"' not in header


def test_findings_and_contents_come_right_under_the_title(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Flows\n\nIntro."),
        nbformat.v4.new_markdown_cell("## Load the data"),
        nbformat.v4.new_markdown_cell("## Which funds took in money?\n\nText."),
        nbformat.v4.new_code_cell("findings", metadata={"tags": ["findings"]}),
        nbformat.v4.new_markdown_cell("## Who sold?"),
    ]
    notebook.cells[3].outputs = [
        nbformat.v4.new_output("display_data", data={"text/markdown": "- KWEB took in most"})
    ]
    path = tmp_path / "flows.ipynb"
    nbformat.write(notebook, path)
    page = notebook_page.render_notebook_html(path, tmp_path / "flows.html", "Flows", {}).read_text(
        encoding="utf-8"
    )
    order = [
        page.index('id="Flows"'),
        page.index("KWEB took in most"),
        page.index(notebook_page.CONTENTS_HEADING),
        page.index('id="Load-the-data"'),
    ]
    assert order == sorted(order)
    contents = page[page.index(notebook_page.CONTENTS_HEADING) : page.index('id="Load-the-data"')]
    targets = re.findall(r'href="#([^"]+)"', contents)
    assert len(targets) == 3
    for target in targets:  # every link of the contents reaches its heading
        assert f'id="{target}"' in page
    assert page.count("KWEB took in most") == 1


def test_a_page_rendered_again_is_the_same_bytes_with_or_without_code(tmp_path):
    """Pages are rendered by one exporter per process (notebook_page._page_exporter): a page
    rendered twice, also after a page that shows its code, gives the same bytes, its contents
    included."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Flows"),
        nbformat.v4.new_markdown_cell("## Load the data"),
        nbformat.v4.new_code_cell("print('secret_code')"),
        nbformat.v4.new_markdown_cell("## Who sold?"),
    ]
    path = tmp_path / "flows.ipynb"
    nbformat.write(notebook, path)

    def render(name: str, show_code: bool = False) -> bytes:
        page = notebook_page.render_notebook_html(path, tmp_path / name, "Flows", {}, show_code)
        return page.read_bytes()

    first = render("first.html")
    shown = render("shown.html", show_code=True)
    assert render("again.html") == first
    assert notebook_page.CONTENTS_HEADING.encode() in first
    assert b"secret_code" not in first and b"secret_code" in shown


def test_a_page_checks_its_notebook_against_the_schema_once(tmp_path, monkeypatch):
    """nbconvert checks the notebook after each of its preprocessors (a dozen) unless told to
    check once, after the last (optimistic_validation): a page's rendering checks it twice, as
    it reads the file and once its preprocessors are done."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# Flows"), nbformat.v4.new_code_cell("1")]
    path = tmp_path / "flows.ipynb"
    nbformat.write(notebook, path)
    checked = []
    validate = nbformat.validate

    def counted(*args, **kwargs):
        checked.append(args[0])
        return validate(*args, **kwargs)

    monkeypatch.setattr(nbformat, "validate", counted)
    notebook_page.render_notebook_html(path, tmp_path / "flows.html", "Flows", {})
    assert len(checked) == 2


def test_contents_list_a_section_a_code_cell_shows(tmp_path):
    """A section only some data call for is a `## ` heading shown by a code cell (show.section):
    the contents list it beside the Markdown cells' sections, and its link reaches it."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Sweep"),
        nbformat.v4.new_code_cell("show.section(...)"),
        nbformat.v4.new_markdown_cell("## Which runs?\n\nText."),
    ]
    notebook.cells[1].outputs = [
        nbformat.v4.new_output("display_data", data={"text/markdown": "## Did it hold over time?"}),
        nbformat.v4.new_output("display_data", data={"text/markdown": "Some text."}),
    ]
    path = tmp_path / "sweep.ipynb"
    nbformat.write(notebook, path)
    page = notebook_page.render_notebook_html(path, tmp_path / "sweep.html", "Sweep", {}).read_text(
        encoding="utf-8"
    )
    contents = page[page.index(notebook_page.CONTENTS_HEADING) : page.index('id="Did-it-hold')]
    targets = re.findall(r'href="#([^"]+)"', contents)
    assert targets == ["Did-it-hold-over-time?", "Which-runs?"]
    for target in targets:
        assert f'id="{target}"' in page


def test_page_with_code_and_user_data(tmp_path):
    executed = executed_notebook(tmp_path, tmp_path / "project")
    page = notebook_page.render_notebook_html(
        executed,
        tmp_path / "p.html",
        "P",
        {},
        show_code=True,
        as_of=AS_OF,
        facts=study_facts(tmp_path, synthetic=[False, False]),
    ).read_text(encoding="utf-8")
    assert "print" in page and "hello" in page
    assert "secret_marker" not in page  # never shown as code, even with --show-code
    assert "your own data" in page
    assert SAMPLE_MARK not in page and "synthetic" not in page


def test_page_without_a_fund_flows_source_states_none(tmp_path):
    executed = executed_notebook(tmp_path, tmp_path / "project")
    page = notebook_page.render_notebook_html(
        executed, tmp_path / "p.html", "P", {"as_of": AS_OF}
    ).read_text(encoding="utf-8")
    assert f"<tr><th>data as of</th><td>{AS_OF}</td></tr>" in page  # from the parameters
    assert "<th>fund flows</th>" not in page


def study_facts(tmp_path: Path, synthetic: list[bool]) -> list[tuple[str, str]]:
    """The study's header rows for a page resting on flows marked `synthetic` (one daily row of
    a fund each: the sample's, or a file saved by hand)."""

    processed = tmp_path / "facts" / PROCESSED_DIR
    processed.mkdir(parents=True, exist_ok=True)
    fund_sources(fund_flows_table(synthetic)).to_parquet(processed / "fund_sources.parquet")
    return page_facts(tmp_path / "facts", {f"{PROCESSED_DIR}/fund_flows.parquet"})


def fund_flows_table(synthetic: list[bool]):
    """A canonical flows table of one daily row per fund, from the sample or a file."""
    import pandas as pd

    day = pd.Timestamp(AS_OF)
    return pd.DataFrame(
        {
            "ticker": [f"F{chr(65 + i)}" for i in range(len(synthetic))],
            "period_start": day,
            "period_end": day,
            "resolution": "daily",
            "flow_usd": 1.0,
            "source_kind": ["sample" if s else "user" for s in synthetic],
            "source": ["the sample" if s else "your data: fund_history/f.csv" for s in synthetic],
            "source_address": "",
        }
    )


def test_read_flows_source(tmp_path):
    assert read_flows_source(tmp_path) is None
    fund_sources(fund_flows_table([True, True])).to_parquet(tmp_path / "fund_sources.parquet")
    assert read_flows_source(tmp_path) == "sample"
    fund_sources(fund_flows_table([False])).to_parquet(tmp_path / "fund_sources.parquet")
    assert read_flows_source(tmp_path) == "user"


def test_page_facts_state_the_flows_source_only_on_pages_resting_on_them(tmp_path):
    resting = study_facts(tmp_path, synthetic=[True])
    assert resting[0][0] == "fund flows" and SAMPLE_MARK in resting[0][1]
    assert resting[1] == ("fund flows per ETF", "<strong>FA</strong>: the sample, daily, "
                          f"{AS_OF} to {AS_OF}")  # fmt: skip
    elsewhere = page_facts(tmp_path / "facts", {"data/processed/survey_figures.parquet"})
    assert [label for label, _ in elsewhere] == ["reported figures, survey, events"]


# --- a fresh report ------------------------------------------------------------------------------


def assert_self_contained(page: str, name: str = "page") -> None:
    """Nothing the browser would fetch from another host on opening the page: no script, style
    sheet, font or image by address, no CSS import; links (<a href>) are not fetched."""
    assert not re.search(r"<script[^>]*\bsrc=", page, re.I), f"{name}: a script by address"
    assert not re.search(r"<link\b", page, re.I), f"{name}: a linked resource"
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", page, re.I), f"{name}: CSS import"
    assert not re.search(r"\bsrc=['\"]?(https?:)?//", page, re.I), f"{name}: a remote src"
    assert "cdnjs" not in page and "unpkg" not in page, name


@pytest.fixture(scope="module")
def reports(published_run, tmp_path_factory) -> Path:
    project = tmp_path_factory.mktemp("published") / "project"
    shutil.copytree(published_run[0], project, symlinks=True)
    return project / "reports"


def without_base64(text: str) -> str:
    """The text without embedded images (base64 runs may spell any short word by chance)."""
    return re.sub(r"[A-Za-z0-9+/=\n\\]{200,}", "", text)


@pytest.mark.pipeline
def test_published_site_names_no_folder_user_or_host_of_this_machine(reports):
    project = reports.parent
    folders = {
        str(Path.home()),
        str(project),
        str(project.resolve()),
        str(DEFAULT_LAYOUT.root),
        os.getcwd(),
    }
    folders = {f for f in folders if len(f) > 1}
    names = {getpass.getuser(), socket.gethostname(), socket.gethostname().split(".")[0]}
    found = []
    files = [p for p in reports.rglob("*") if p.is_file()]
    assert len(files) >= 10
    for path in files:
        text = without_base64(path.read_text(encoding="utf-8", errors="replace"))
        found += [f"{path.name}: {folder}" for folder in folders if folder in text]
        for name in names:  # as a word; not CSS's ":root" when the user is root
            for hit in re.finditer(rf"(?<![\w:-]){re.escape(name)}(?![\w-])", text):
                context = text[hit.start() - 40 : hit.end() + 40]
                found.append(f"{path.name}: {name!r} in {context!r}")
    assert not found, "\n".join(found[:20])


@pytest.mark.pipeline
def test_published_pages_are_self_contained_and_small(reports):
    pages = sorted(reports.rglob("*.html"))
    assert len(pages) == 6  # the site index, the run index and the four notebooks' pages
    for page in pages:
        assert page.stat().st_size <= MAX_PAGE_BYTES, f"{page.name}: {page.stat().st_size} bytes"
        assert_self_contained(page.read_text(encoding="utf-8"), page.name)


@pytest.mark.pipeline
def test_published_notebooks_name_their_paths_relative_to_the_project(reports):
    for executed in reports.glob(f"{AS_OF}/*.ipynb"):
        papermill = json.loads(executed.read_text(encoding="utf-8"))["metadata"]["papermill"]
        assert papermill["input_path"] == f"notebooks/{executed.name}"
        assert papermill["output_path"] == f"reports/{AS_OF}/{executed.name}"


# --- the run index of another study ------------------------------------------------------------


@pytest.mark.pipeline
def test_a_study_that_declares_no_chart_gets_a_run_index_without_one(diamond_that_ran):
    # The engine's diamond project declares no pages.run_index and publishes nothing but its
    # pages: its run index shows no chart and lists only run.json.
    page = (diamond_that_ran / "reports" / DIAMOND_AS_OF / "index.html").read_text("utf-8")
    assert "<img" not in page and "<figure" not in page
    assert 'Machine-readable: <a href="run.json">run.json</a>.' in page
    assert '<a href="join.html">' in page


@pytest.mark.pipeline
def test_a_study_that_declares_a_chart_gets_it_on_its_run_index(
    diamond_that_ran, tmp_path, monkeypatch
):
    project = copy_project(diamond_that_ran, tmp_path / "diamond")
    (project.raw_dir / "totals.svg").write_text(TINY_SVG, encoding="utf-8")
    pipeline = yaml.safe_load(project.pipeline_file.read_text(encoding="utf-8"))
    pipeline["publish"] = ["data/raw/totals.svg", "data/processed/join.txt"]
    pipeline["pages"] = {
        "run_index": {
            "chart": "data/raw/totals.svg",
            "chart_caption": "The totals joined",
            "files": ["data/processed/join.txt"],
        }
    }
    project.pipeline_file.write_text(yaml.safe_dump(pipeline), encoding="utf-8")
    refuse_kernels(monkeypatch)  # what a page shows changed, not what a notebook computes

    run_diamond(project)

    report = project.report_dir(DIAMOND_AS_OF)
    page = (report / "index.html").read_text("utf-8")
    assert '<img src="totals.svg" alt="The totals joined">' in page
    assert (report / "totals.svg").read_text(encoding="utf-8") == TINY_SVG
    files = 'Machine-readable: <a href="join.txt">join.txt</a>, <a href="run.json">run.json</a>.'
    assert files in page


# --- chinaflows serve ----------------------------------------------------------------------------


def test_serve_previews_the_reports_on_localhost(tmp_path):
    reports = tmp_path / "reports"
    (reports / AS_OF).mkdir(parents=True)
    (reports / "index.html").write_text("<h1>all runs</h1>", encoding="utf-8")
    (reports / AS_OF / "index.html").write_text("<h1>one run</h1>", encoding="utf-8")
    (tmp_path / "pipeline.yaml").write_text("not for the site", encoding="utf-8")
    server = subprocess.Popen(
        [sys.executable, "-m", "helpers.cli", "serve", "--port", "0", "--project-dir", tmp_path],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first_line = server.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", first_line)
        assert url, first_line + server.stderr.read()
        with urllib.request.urlopen(url.group(0) + "index.html", timeout=10) as response:
            assert response.status == 200
            assert response.read() == b"<h1>all runs</h1>"
        with urllib.request.urlopen(f"{url.group(0)}{AS_OF}/index.html", timeout=10) as response:
            assert b"one run" in response.read()
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(url.group(0) + "../pipeline.yaml", timeout=10)
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C
        out, err = server.communicate(timeout=10)
    assert server.returncode == 0, err
    assert "Stopped." in out
    assert "Traceback" not in err


def test_serve_refuses_a_folder_with_nothing_published(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "helpers.cli", "serve", "--project-dir", tmp_path],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "nothing published yet" in done.stderr
