"""The house has two rooms: the engine (src/notebook_pipeline) never imports the study
(src/helpers); the study uses only the engine's public base, and the README's map lists every
module of both."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from notebook_pipeline.fingerprint import BASE_MODULES

SRC = Path(__file__).parents[2] / "src"
README = Path(__file__).parents[2] / "README.md"
STUDY, ENGINE = "helpers", "notebook_pipeline"
# Engine modules the study may import beyond the public base, and the only study modules that
# may: hook types used in the engine's process (never in a notebook), and the command line.
HOOK_MODULES = {
    f"{ENGINE}.site": {f"{STUDY}.present.headline"},
    f"{ENGINE}.cli": {f"{STUDY}.cli"},
}


def module_files(package: str) -> list[Path]:
    return sorted(p for p in (SRC / package).rglob("*.py") if "__pycache__" not in p.parts)


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_the_engine_never_imports_the_study():
    found = {
        module_name(path): sorted(
            name for name in imported_modules(path) if name.split(".")[0] == STUDY
        )
        for path in module_files(ENGINE)
    }
    assert {module: names for module, names in found.items() if names} == {}


def test_the_boundary_test_sees_an_import_of_the_study(tmp_path):
    """The walk finds an import hidden in a function, so the test above can fail."""
    module = tmp_path / "hidden.py"
    module.write_text("def f():\n    from helpers.ingest import cleaning\n")
    assert "helpers.ingest.cleaning" in imported_modules(module)


def test_the_study_uses_only_the_engines_public_base_and_hooks():
    base = {f"{ENGINE}.{name.removesuffix('.py')}" for name in BASE_MODULES}
    # `from notebook_pipeline import cli` names the package too; its __init__ holds only its
    # docstring (test_the_engines_init_only_documents_it), so importing it imports nothing else.
    engine_modules = {module_name(path) for path in module_files(ENGINE)} - {ENGINE}
    wrong = []
    for path in module_files(STUDY):
        for name in imported_modules(path) & engine_modules:
            if name not in base and module_name(path) not in HOOK_MODULES.get(name, set()):
                wrong.append(f"{module_name(path)} imports {name}")
    assert wrong == []


def test_the_engines_init_only_documents_it():
    body = ast.parse((SRC / ENGINE / "__init__.py").read_text(encoding="utf-8")).body
    assert len(body) == 1 and isinstance(body[0], ast.Expr)
    assert isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)


def readme_section(heading: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(heading)
    end = text.find("\n#", start + len(heading))
    return text[start : end if end != -1 else None]


@pytest.mark.parametrize(
    ("package", "heading"),
    [(STUDY, "### The study: `src/helpers`"), (ENGINE, "### The engine: `src/notebook_pipeline`")],
)
def test_the_readme_map_lists_every_module(package, heading):
    listed = set(re.findall(r"`([a-z_.]+)`", readme_section(heading)))
    modules = {
        module_name(path).removeprefix(f"{package}.")
        for path in module_files(package)
        if path.name != "__init__.py"
    }
    assert sorted(modules - listed) == []


@pytest.mark.parametrize("package", [STUDY, ENGINE])
def test_every_module_class_and_public_function_has_a_docstring(package):
    missing = []
    for path in module_files(package):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if not ast.get_docstring(tree) and path.name != "__init__.py":
            missing.append(module_name(path))
        missing += [
            f"{module_name(path)}.{node.name}"
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.ClassDef)
            and not node.name.startswith("_")
            and not ast.get_docstring(node)
        ]
    assert missing == []


def test_the_study_stages_import_downwards_only():
    """present may use analysis and ingest, analysis may use ingest; never the other way."""
    later = {
        "ingest": (f"{STUDY}.analysis", f"{STUDY}.present"),
        "analysis": (f"{STUDY}.present",),
    }
    wrong = []
    for stage, forbidden in later.items():
        for path in module_files(f"{STUDY}/{stage}"):
            wrong += [
                f"{module_name(path)} imports {name}"
                for name in imported_modules(path)
                if name.startswith(forbidden)
            ]
    assert wrong == []
