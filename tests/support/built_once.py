"""Something expensive that a session fixture builds once for the whole test run, also when
pytest-xdist runs the tests on several workers (`make test`: -n auto).

Each xdist worker is a pytest session of its own, so a session-scoped fixture would be built
once per worker. This follows pytest-xdist's documented pattern ("Making session-scoped
fixtures execute only once"): the first worker to ask takes a file lock in the folder that all
workers of the run share (the parent of each worker's base temporary folder), builds there and
writes down the result; the others wait on the lock, then read it. Without xdist the folder is
the session's base temporary folder.

A build can be started early, on a thread of its own (`start_building`), so that tests that
need none of it run meanwhile; whoever asks for it then waits on the lock for it.

What is built is read by the tests, never changed: a test that changes files copies them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock

XDIST_WORKER_ENV = "PYTEST_XDIST_WORKER"  # set by pytest-xdist in each worker ("gw0", ...)


def built_once(tmp_path_factory, name: str, build: Callable[[Path], dict]) -> dict:
    """What `build(folder)` returned, `folder` being a new empty folder named after `name`,
    built once for the whole test run. It must return what JSON can hold."""
    return built_in(_shared_folder(tmp_path_factory), name, build)


def built_in(shared: Path, name: str, build: Callable[[Path], dict]) -> dict:
    """`built_once` in `shared`, the folder every worker sees: a build that starts from another
    one asks for it here, its own folder's parent being `shared`."""
    result_file = shared / f"{name}.json"
    with FileLock(shared / f"{name}.lock"):
        if result_file.is_file():
            return json.loads(result_file.read_text(encoding="utf-8"))
        folder = shared / name
        shutil.rmtree(folder, ignore_errors=True)  # a build that raised: this one tries again
        folder.mkdir()
        result = build(folder)
        result_file.write_text(json.dumps(result), encoding="utf-8")
        return result


def start_building(tmp_path_factory, name: str, build: Callable[[Path], dict]) -> threading.Thread:
    """Start `built_once(tmp_path_factory, name, build)` on a thread of its own; returns the
    thread. A build already done or under way elsewhere is waited for there, then read."""
    _shared_folder(tmp_path_factory)  # made here: the temporary folders are not thread-safe
    thread = threading.Thread(
        target=built_once, args=(tmp_path_factory, name, build), name=f"build-{name}"
    )
    thread.start()
    return thread


def _shared_folder(tmp_path_factory) -> Path:
    """The folder every worker of this test run sees (the session's own without xdist)."""
    basetemp = tmp_path_factory.getbasetemp()
    return basetemp.parent if os.environ.get(XDIST_WORKER_ENV) is not None else basetemp


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
