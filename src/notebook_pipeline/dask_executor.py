"""The Dask cluster a sweep runs on: a local one started for the command (one single-threaded
worker process per core, its dashboard on 127.0.0.1 at a free port), or an existing one named
by its scheduler's address (`dask scheduler` and `dask worker` started by hand, dask-jobqueue,
dask-kubernetes), whose workers see the project at the same path with the same environment.

Imported only by a sweep: `chinaflows run` never imports Dask.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def sweep_client(
    scheduler: str | None = None, *, n_workers: int | None = None, processes: bool = True
) -> Iterator[Any]:
    """A distributed.Client for a sweep: on the cluster at `scheduler` (an address such as
    tcp://127.0.0.1:8786, or a scheduler file's path), else on a local cluster of `n_workers`
    single-threaded workers (default: one per core; threads of this process without
    `processes`, as tests use), stopped on leaving."""
    from distributed import Client, LocalCluster

    if scheduler:
        connect = {"scheduler_file": scheduler} if os.path.isfile(scheduler) else {}
        with Client(**connect) if connect else Client(scheduler) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=n_workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=processes,
            # on this machine only; in-process clusters talk without sockets
            **({"host": "127.0.0.1"} if processes else {}),
            dashboard_address="127.0.0.1:0",
            # The sweep reports each failed task itself; what the workers would log on top is
            # their shutdown chatter (heartbeats to a scheduler already closed).
            silence_logs=logging.CRITICAL,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def dashboard_address(client: Any) -> str:
    """The cluster's dashboard, "" where it has none."""
    try:
        return client.dashboard_link or ""
    except (AttributeError, KeyError):
        return ""
