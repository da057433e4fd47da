"""`chinaflows` that kills itself (SIGKILL, as `kill -9` or a power cut would) at one moment of
publishing, for the fault tests: a test-only seam, so the engine itself carries no test hook.

    CHINAFLOWS_TEST_KILL_AT=<moment> python tests/support/kill_at.py run --project-dir ... [options]

The moment (one of MOMENTS) is read from the environment variable here only; this script patches
the engine function that runs at that moment, then runs the command line as `chinaflows` does.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path

from notebook_pipeline import run, site, staging

MOMENT_ENV_VAR = "CHINAFLOWS_TEST_KILL_AT"

MOMENTS = {
    "before-publishing": "after every notebook succeeded, before data/processed is published",
    "between-renames": "between the two renames that swap the report folder in",
    "before-site-index": "after the report folder is swapped in, before the site index",
    "copying-in": "reports/ on its own file system: after the finished report is copied in",
}


def _killed(*args, **kwargs):
    """Stand-in for the engine function at the chosen moment: the process ends on the spot."""
    os.kill(os.getpid(), signal.SIGKILL)


def patch(moment: str) -> None:
    """Make the engine kill this process at `moment`."""
    if moment == "before-publishing":
        run.publish_processed = _killed
    elif moment == "between-renames":
        rename = Path.rename

        def rename_then_kill(self, target):
            # replace_folder's second rename is the only one whose source is the built report
            if self.name.startswith((staging.REPORT_STAGING_PREFIX, staging.INCOMING_PREFIX)):
                _killed()
            return rename(self, target)

        Path.rename = rename_then_kill
    elif moment == "before-site-index":
        site.render_site_index = _killed
    elif moment == "copying-in":
        staging.same_file_system = lambda one, other: False
        copytree = shutil.copytree

        def copy_then_kill(source, target, *args, **kwargs):
            copied = copytree(source, target, *args, **kwargs)
            if Path(target).name.startswith(staging.INCOMING_PREFIX):
                _killed()
            return copied

        shutil.copytree = copy_then_kill
    else:
        raise SystemExit(f"{MOMENT_ENV_VAR}={moment!r}: not one of {', '.join(MOMENTS)}")


if __name__ == "__main__":
    from helpers.cli import main

    patch(os.environ[MOMENT_ENV_VAR])
    sys.exit(main(sys.argv[1:]))
