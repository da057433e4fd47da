"""Hostile parameters: values that try to leave the project or the reports folder are refused
before any kernel starts; values that try to inject code reach the notebook as the literal
text or data they are. The same values in a sweep of pipeline.yaml are refused, naming the
combination, or carried as they are, under a name safe as a folder.

On a one-notebook project whose notebook writes its parameters back out.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
from pathlib import Path

import pytest
import yaml
from diamond_project import AS_OF, cli_in_process, refuse_kernels, write_notebook

from helpers.paths import ProjectLayout
from notebook_pipeline.errors import InvalidParameterError
from notebook_pipeline.failures import ExitCode
from notebook_pipeline.spec import load_pipeline
from notebook_pipeline.sweep_spec import load_sweep, resolve_combinations

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


# --- in a sweep -------------------------------------------------------------------------------

# (case, the sweep's declaration in pipeline.yaml, what the refusal says): refused when the
# sweep is read, before any combination is resolved.
SWEEP_DECLARATION_REFUSALS = [
    (
        "sweep: as_of leaving reports/",
        {"as_of": ["../../x"]},
        "pipeline.yaml, sweeps.hostile.as_of: '../../x' is not a date in the form YYYY-MM-DD",
    ),
    (
        "sweep: as_of with a path after the date",
        {"as_of": [f"{AS_OF}/../../x"]},
        f"pipeline.yaml, sweeps.hostile.as_of: '{AS_OF}/../../x' is not a date",
    ),
    (
        "sweep: as_of as a grid axis",
        {"grid": {"as_of": ["../../x"]}},
        "pipeline.yaml, sweeps.hostile.grid: as_of is not a parameter axis",
    ),
]
# (case, the sweep's grid, what the refusal says after the combination's name)
SWEEP_VALUE_REFUSALS = [
    (
        "sweep: path parameter climbing out",
        {"processed_dir": ["../../x"]},
        "parameter 'processed_dir': '../../x' leads out of the project",
    ),
    (
        "sweep: absolute path parameter",
        {"processed_dir": ["/tmp/x"]},
        "parameter 'processed_dir': '/tmp/x' leads out of the project",
    ),
    (
        "sweep: path parameter climbing out past a folder",
        {"processed_dir": ["data/../../x"]},
        "parameter 'processed_dir': 'data/../../x' leads out of the project",
    ),
    (
        "sweep: YAML tag calling a function, quoted",
        {"count": ["!!python/object/apply:os.system [touch x]"]},
        "parameter 'count': '!!python/object/apply:os.system [touch x]' is not a int",
    ),
    (
        "sweep: code for a number",
        {"count": ["__import__('os')._exit(1)"]},
        "parameter 'count': \"__import__('os')._exit(1)\" is not a int",
    ),
    (
        "sweep: a date inside a mapping",
        {"tags": [{"when": dt.date(2025, 1, 1)}]},
        "parameter 'tags': datetime.date(2025, 1, 1) (a date) cannot be passed to a "
        "notebook as a literal",
    ),
    (
        "sweep: bytes inside a mapping",
        {"tags": [{"x": b"hi"}]},
        "parameter 'tags': b'hi' (a bytes) cannot be passed to a notebook as a literal",
    ),
    (
        "sweep: a number as a mapping's key",
        {"tags": [{1: "x"}]},
        "parameter 'tags': the key 1 (keys must be text) cannot be passed",
    ),
]
SAFE_COMBINATION = r'sweep "hostile", combination [A-Za-z0-9._-]+: '


def sweep_project(root: Path, sweep: dict) -> ProjectLayout:
    """The echo project, its pipeline.yaml declaring `sweep` as the sweep "hostile"."""
    return echo_project(root, {**ECHO_PIPELINE, "sweeps": {"hostile": sweep}})


def resolve_sweep(project: ProjectLayout) -> list:
    return resolve_combinations(project, load_pipeline(project), load_sweep(project, "hostile"))


@pytest.mark.parametrize(
    ("case", "sweep", "message"),
    SWEEP_DECLARATION_REFUSALS,
    ids=[case for case, *_ in SWEEP_DECLARATION_REFUSALS],
)
def test_hostile_sweep_declaration_refused(tmp_path, reliability, case, sweep, message):
    project = sweep_project(tmp_path / "project", sweep)
    with pytest.raises(InvalidParameterError) as refused:
        load_sweep(project, "hostile")
    reliability.record(case, f"sweeps: hostile: {sweep}", f"refused: {refused.value}")
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("case", "grid", "message"),
    SWEEP_VALUE_REFUSALS,
    ids=[case for case, *_ in SWEEP_VALUE_REFUSALS],
)
def test_hostile_sweep_value_refused_naming_the_combination(
    tmp_path, reliability, monkeypatch, case, grid, message
):
    refuse_kernels(monkeypatch)
    project = sweep_project(tmp_path / "project", {"grid": grid})
    with pytest.raises(InvalidParameterError) as refused:
        resolve_sweep(project)
    reliability.record(case, f"sweeps: hostile: grid: {grid}", f"refused: {refused.value}")
    assert re.match(SAFE_COMBINATION + re.escape(message), str(refused.value))
    assert not project.processed_dir.exists() and not project.reports_dir.exists()
    assert not (project.root / "../../x").resolve().exists()


def test_yaml_tag_in_a_sweep_is_not_run(tmp_path, reliability):
    project = sweep_project(tmp_path / "project", {"grid": {"count": [0]}})
    tagged = project.pipeline_file.read_text().replace(
        "- 0", "- !!python/object/apply:os.system [touch x]"
    )
    project.pipeline_file.write_text(tagged)
    with pytest.raises(yaml.YAMLError) as refused:
        load_sweep(project, "hostile")
    happened = str(refused.value).splitlines()[0]
    reliability.record(
        "sweep: YAML tag calling a function", "count: [!!python/... [touch x]]", happened
    )
    assert "could not determine a constructor" in happened
    assert not (project.root / "x").exists() and not Path("x").exists()


def test_injected_text_in_a_sweep_is_carried_as_it_is_under_a_safe_name(
    tmp_path, reliability, monkeypatch
):
    refuse_kernels(monkeypatch)
    texts = list(INJECTIONS.values())
    # Numbered: some of the texts differ only in punctuation, which a name does not keep.
    combinations = [{"label": text, "count": n} for n, text in enumerate(texts)]
    combinations.append({"tags": {text: text for text in texts}})
    resolved = resolve_sweep(sweep_project(tmp_path / "project", {"list": combinations}))
    carried = [
        {name: parameters["echo"][name] for name in combination.overrides}
        for combination, _, parameters in resolved
    ]
    names = [combination.name for combination, _, _ in resolved]
    safe = all(re.fullmatch(r"[A-Za-z0-9._-]+", name) for name in names)
    reliability.record(
        "sweep: code in text and in a mapping's keys and values",
        f"sweeps: hostile: list: label: each of the {len(texts)} texts above; tags: a mapping",
        f"{len(set(names))} names for {len(names)} combinations, "
        f"{'all' if safe else 'NOT ALL'} safe as folder names; each carries "
        + ("exactly its value" if carried == combinations else "SOMETHING ELSE"),
    )
    assert carried == combinations
    assert safe and len(set(names)) == len(names) == len(combinations)


def test_texts_differing_only_in_punctuation_are_refused_naming_both(tmp_path, reliability):
    texts = [INJECTIONS["backslash before quote"], INJECTIONS["triple quotes"]]
    project = sweep_project(tmp_path / "project", {"grid": {"label": texts}})
    with pytest.raises(InvalidParameterError) as refused:
        load_sweep(project, "hostile")
    reliability.record(
        "sweep: two values with one folder name",
        "sweeps: hostile: grid: label: two texts differing only in punctuation",
        f"refused: {refused.value}",
    )
    assert "would share the folder name label-import-os-os._exit-1" in str(refused.value)
    assert all(repr(text) in str(refused.value) for text in texts)
