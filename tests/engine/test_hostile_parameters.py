"""Hostile parameters: values that try to leave the project or the reports folder are refused
before any kernel starts; values that try to inject code reach the notebook as the literal
text or data they are.

On a one-notebook project whose notebook writes its parameters back out.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import yaml
from diamond_project import AS_OF, cli_in_process, refuse_kernels, write_notebook

from helpers.paths import ProjectLayout
from notebook_pipeline.failures import ExitCode

RELIABILITY_AREA = "hostile parameter"
pytestmark = [pytest.mark.pipeline, pytest.mark.reliability]

ECHO_PIPELINE = {
    "title": "Echo",
    "parameters": {"processed_dir": "data/processed"},
    "notebooks": {"echo": {"outputs": ["data/processed/echo.json"]}},
}
ECHO_CELLS = (
    'processed_dir = "data/processed"\n'
    'as_of = ""  # the run\'s as-of date\n'
    'label = ""  # any text\n'
    "count = 0  # a whole number\n"
    "tags = {}  # a mapping of text to text",
    "import json\n"
    "from pathlib import Path\n"
    "echoed = {'as_of': as_of, 'label': label, 'count': count, 'tags': tags}\n"
    "Path(processed_dir, 'echo.json').write_text(json.dumps(echoed))",
)

# Text that would run code if it were pasted into the notebook instead of quoted.
INJECTIONS = {
    "closing quote": 'x"; import os; os._exit(1); "',
    "new lines": "a\nimport os\nos._exit(1)",
    "backslash before quote": '\\"; import os; os._exit(1) #',
    "triple quotes": "'''\"\"\"; import os; os._exit(1)",
    "f-string braces": "{__import__('os')._exit(1)}",
    "unicode line breaks": "a\u2028import os\x0bos._exit(1)\r\n__import__('os')._exit(1)",
}

# (case, command-line arguments, what the refusal says)
REFUSALS = [
    (
        "--as-of leaving reports/",
        ["--as-of", "../../x"],
        "parameter 'as_of': '../../x' is not a date in the form YYYY-MM-DD",
    ),
    (
        "--as-of with a path after the date",
        ["--as-of", f"{AS_OF}/../../x"],
        f"parameter 'as_of': '{AS_OF}/../../x' is not a date",
    ),
    (
        "as_of given with -p",
        ["--as-of", AS_OF, "-p", "as_of=../../x"],
        "parameter 'as_of' is set with --as-of, not as an override",
    ),
    (
        "path parameter climbing out",
        ["--as-of", AS_OF, "-p", "processed_dir=../../x"],
        "parameter 'processed_dir': '../../x' leads out of the project",
    ),
    (
        "absolute path parameter",
        ["--as-of", AS_OF, "-p", "processed_dir=/tmp/x"],
        "parameter 'processed_dir': '/tmp/x' leads out of the project",
    ),
    (
        "path parameter climbing out past a folder",
        ["--as-of", AS_OF, "-p", "processed_dir=data/../../x"],
        "parameter 'processed_dir': 'data/../../x' leads out of the project",
    ),
    (
        "YAML tag calling a function",
        ["--as-of", AS_OF, "-p", "count=!!python/object/apply:os.system [touch x]"],
        "parameter 'count': '!!python/object/apply:os.system [touch x]' is not a int",
    ),
    (
        "code for a number",
        ["--as-of", AS_OF, "-p", "count=__import__('os')._exit(1)"],
        "parameter 'count': \"__import__('os')._exit(1)\" is not a int",
    ),
    (
        "a date inside a mapping",
        ["--as-of", AS_OF, "-p", "tags={when: 2025-01-01}"],
        "parameter 'tags': datetime.date(2025, 1, 1) (a date) cannot be passed to a "
        "notebook as a literal",
    ),
    (
        "bytes inside a mapping",
        ["--as-of", AS_OF, "-p", "tags={x: !!binary aGk=}"],
        "parameter 'tags': b'hi' (a bytes) cannot be passed to a notebook as a literal",
    ),
    (
        "a number as a mapping's key",
        ["--as-of", AS_OF, "-p", "tags={1: x}"],
        "parameter 'tags': the key 1 (keys must be text) cannot be passed",
    ),
]


def echo_project(root: Path, pipeline: dict = ECHO_PIPELINE) -> ProjectLayout:
    (root / "notebooks").mkdir(parents=True)
    (root / "data" / "raw").mkdir(parents=True)
    (root / "pipeline.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    write_notebook(root / "notebooks" / "echo.ipynb", *ECHO_CELLS)
    return ProjectLayout(root)


@pytest.fixture
def project(tmp_path) -> ProjectLayout:
    return echo_project(tmp_path / "project")


def echoed(project: ProjectLayout) -> dict:
    return json.loads((project.processed_dir / "echo.json").read_text())


def injected_statements(project: ProjectLayout) -> list[ast.stmt]:
    """The statements papermill wrote into the executed notebook's parameters cell."""
    executed = json.loads((project.report_dir(AS_OF) / "echo.ipynb").read_text())
    [cell] = [
        c for c in executed["cells"] if "injected-parameters" in c["metadata"].get("tags", [])
    ]
    return ast.parse("".join(cell["source"])).body


def only_literal_assignments(statements: list[ast.stmt]) -> bool:
    """Every statement is `name = <a Python literal>`: nothing that calls or imports."""
    for statement in statements:
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1):
            return False
        try:
            ast.literal_eval(statement.value)
        except ValueError:
            return False
    return True


# --- refused before any kernel ----------------------------------------------------------------


@pytest.mark.parametrize(("case", "args", "message"), REFUSALS, ids=[case for case, *_ in REFUSALS])
def test_refused_before_any_kernel(project, reliability, capsys, monkeypatch, case, args, message):
    refuse_kernels(monkeypatch)
    result = cli_in_process(project, *args, capsys=capsys)
    reliability.record_run(case, " ".join(args), result)
    assert result.returncode == ExitCode.USAGE, result.stderr
    assert message in result.stderr
    assert not project.reports_dir.exists() and not project.processed_dir.exists()
    assert not (project.root / "../../x").resolve().exists()


def test_path_in_pipeline_yaml_leaving_the_project_is_refused(
    tmp_path, reliability, capsys, monkeypatch
):
    refuse_kernels(monkeypatch)
    pipeline = {**ECHO_PIPELINE, "parameters": {"processed_dir": "../outside"}}
    project = echo_project(tmp_path / "project", pipeline)
    result = cli_in_process(project, "--as-of", AS_OF, capsys=capsys)
    reliability.record_run(
        "pipeline.yaml path leaving the project", "pipeline.yaml: processed_dir: ../outside", result
    )
    assert result.returncode == ExitCode.USAGE
    assert "parameter 'processed_dir': '../outside' leads out of the project" in result.stderr
    assert not (tmp_path / "outside").exists()


# --- passed as literals -----------------------------------------------------------------------


@pytest.mark.parametrize("case", INJECTIONS)
def test_injected_text_arrives_as_the_text_it_is(project, reliability, capsys, case):
    text = INJECTIONS[case]
    result = cli_in_process(project, "--as-of", AS_OF, "-p", f"label={text}", capsys=capsys)
    arrived = result.returncode == ExitCode.OK and echoed(project)["label"] == text
    reliability.record(
        f"code in text: {case}",
        f"-p label={text!r}",
        f"exit {result.returncode}; the notebook received "
        + ("exactly that text" if arrived else "SOMETHING ELSE"),
    )
    assert result.returncode == ExitCode.OK, result.stderr
    assert echoed(project)["label"] == text
    assert only_literal_assignments(injected_statements(project))


def test_injected_keys_and_values_of_a_mapping_arrive_as_they_are(project, reliability, capsys):
    tags = {text: text for text in INJECTIONS.values()}
    # JSON is YAML: the command line's mapping syntax, with every character escaped.
    result = cli_in_process(
        project, "--as-of", AS_OF, "-p", f"tags={json.dumps(tags)}", capsys=capsys
    )
    arrived = result.returncode == ExitCode.OK and echoed(project)["tags"] == tags
    reliability.record(
        "code in a mapping's keys and values",
        f"-p tags= a mapping whose keys and values are the {len(tags)} texts above",
        f"exit {result.returncode}; the notebook received "
        + ("exactly that mapping" if arrived else "SOMETHING ELSE"),
    )
    assert result.returncode == ExitCode.OK, result.stderr
    assert echoed(project)["tags"] == tags
    assert only_literal_assignments(injected_statements(project))


# --- the report folder ------------------------------------------------------------------------


def test_as_of_in_pipeline_yaml_does_not_move_the_report_folder(tmp_path, reliability, capsys):
    pipeline = yaml.safe_load(yaml.safe_dump(ECHO_PIPELINE))
    pipeline["notebooks"]["echo"]["parameters"] = {"as_of": "../../x"}
    project = echo_project(tmp_path / "project", pipeline)
    result = cli_in_process(project, "--as-of", AS_OF, capsys=capsys)
    report = Path(result.stdout.strip()).parent
    received = echoed(project)["as_of"] if result.returncode == ExitCode.OK else None
    reliability.record(
        "as_of set in pipeline.yaml",
        f"pipeline.yaml: as_of: ../../x for the notebook; --as-of {AS_OF}",
        f"exit {result.returncode}; report folder {report.relative_to(project.root)}; "
        f"the notebook's as_of: {received}",
    )
    assert result.returncode == ExitCode.OK, result.stderr
    assert report == project.report_dir(AS_OF)
    assert received == AS_OF  # the runner's, which names the folder
    assert not (project.root / "../../x").resolve().exists()
