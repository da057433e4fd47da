"""Something expensive that a session fixture builds once for the whole test run, also when
pytest-xdist runs the tests on several workers (`make test`: -n auto).

Each xdist worker is a pytest session of its own, so a session-scoped fixture would be built
once per worker. This follows pytest-xdist's documented pattern ("Making session-scoped
fixtures execute only once"): the first worker to ask takes a file lock in the folder that all
workers of the run share (the parent of each worker's base temporary folder), builds there and
writes down the result; the others wait on the lock, then read it. Without xdist it is a plain
build in a new temporary folder.

What is built is read by the tests, never changed: a test that changes files copies them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock

XDIST_WORKER_ENV = "PYTEST_XDIST_WORKER"  # set by pytest-xdist in each worker ("gw0", ...)


def built_once(tmp_path_factory, name: str, build: Callable[[Path], dict]) -> dict:
    """What `build(folder)` returned, `folder` being a new empty folder named after `name`,
    built once for the whole test run. It must return what JSON can hold."""
    if os.environ.get(XDIST_WORKER_ENV) is None:
        return build(tmp_path_factory.mktemp(name))
    shared = tmp_path_factory.getbasetemp().parent
    result_file = shared / f"{name}.json"
    with FileLock(shared / f"{name}.lock"):
        if result_file.is_file():
            return json.loads(result_file.read_text(encoding="utf-8"))
        folder = shared / name
        shutil.rmtree(folder, ignore_errors=True)  # a build that raised: this worker tries again
        folder.mkdir()
        result = build(folder)
        result_file.write_text(json.dumps(result), encoding="utf-8")
        return result


def process_to_json(result: subprocess.CompletedProcess) -> dict:
    """A finished process as `build` can return it."""
    return {
        "args": [str(arg) for arg in result.args],
        "returncode": result.returncode,
        "stdout": result.stdout,
        "stderr": result.stderr,
    }


def process_from_json(saved: dict) -> subprocess.CompletedProcess:
    return subprocess.CompletedProcess(
        saved["args"], saved["returncode"], saved["stdout"], saved["stderr"]
    )
