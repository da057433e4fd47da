"""`chinaflows new NAME`: a copy of notebooks/_template.ipynb as the next numbered notebook,
and the pipeline.yaml entry to paste for it."""

from __future__ import annotations

import re
from pathlib import Path

from notebook_pipeline.layout import ProjectLayout
from notebook_pipeline.spec import NOT_A_STEP_PREFIX, project_relative

TEMPLATE_NOTEBOOK = f"{NOT_A_STEP_PREFIX}template.ipynb"  # what `chinaflows new` copies
_NEW_STEP_NAME = re.compile(r"[a-z][a-z0-9_]*")
_NUMBERED_NAME = re.compile(r"(\d+)_(.+)")  # "05_sector_flows" -> "05", "sector_flows"


class NotebookNotCreated(ValueError):
    """`chinaflows new` refused: the name is unusable or taken, or the template is missing."""


def _unnumbered(stem: str) -> str:
    numbered = _NUMBERED_NAME.fullmatch(stem)
    return numbered.group(2) if numbered else stem


def add_step_notebook(layout: ProjectLayout, name: str) -> Path:
    """Copy the template to notebooks/NN_<name>.ipynb, NN the next free number; returns it.

    Refuses (NotebookNotCreated) a name other than lower-case letters, digits and '_' starting
    with a letter, and a name that a notebook has already, under any number.
    """
    if not _NEW_STEP_NAME.fullmatch(name):
        raise NotebookNotCreated(
            f"{name!r} cannot name a notebook: use lower-case letters, digits and '_', starting "
            "with a letter (the number in front is added for you)"
        )
    template = layout.notebooks_dir / TEMPLATE_NOTEBOOK
    if not template.is_file():
        raise NotebookNotCreated(f"{project_relative(layout, template)}: the template is missing")
    notebooks = list(layout.notebooks_dir.glob("*.ipynb"))
    taken = next((p for p in notebooks if _unnumbered(p.stem) == name), None)
    if taken is not None:
        raise NotebookNotCreated(
            f"{project_relative(layout, taken)} exists already; choose another name"
        )
    numbers = [int(m.group(1)) for p in notebooks if (m := _NUMBERED_NAME.fullmatch(p.stem))]
    created = layout.notebooks_dir / f"{max(numbers, default=0) + 1:02d}_{name}.ipynb"
    with created.open("xb") as copy:  # "x": never overwrite a notebook
        copy.write(template.read_bytes())
    return created


def template_entry(step_name: str, inputs: tuple[str, ...]) -> str:
    """The pipeline.yaml entry for a fresh copy of the template, which reads `inputs`
    (pipeline.yaml: study.template_inputs), to paste under `notebooks:`."""
    title = _unnumbered(step_name).replace("_", " ").capitalize()
    return (
        f"  {step_name}:\n"
        f'    title: "{title}"\n'  # quoted: a title such as "Yes" is text, not a boolean
        f"    inputs: [{', '.join(inputs)}]  # every file or folder it reads\n"
        "    outputs: []  # every file it writes for later notebooks\n"
    )
