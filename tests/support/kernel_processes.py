"""The Jupyter kernels still running for a project, found by their process: a kernel starts in
the staging project of its run or task, inside the project's folder."""

from __future__ import annotations

import psutil

from helpers.paths import ProjectLayout


def kernels_of(project: ProjectLayout) -> list[psutil.Process]:
    """Every live (not zombie) ipykernel process whose working folder is in `project`."""
    found = []
    for process in psutil.process_iter(["cmdline", "cwd", "status"]):
        info = process.info
        if info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if "ipykernel_launcher" in " ".join(info["cmdline"] or []) and str(project.root) in (
            info["cwd"] or ""
        ):
            found.append(process)
    return found
