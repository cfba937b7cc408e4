"""Run replications on Dask (or in-process) and store each one as soon as it finishes.

``execute`` takes the pending replication keys, groups them into chunks, submits one task per
chunk to a ``dask.distributed`` client (a ``LocalCluster`` with ``workers`` processes, one thread
each, or an existing scheduler given by address) and, through ``as_completed``, hands every
finished replication to ``on_result`` (which writes it to the store) while a rich progress bar
shows the ETA. Workers import bayesres once; the models they fit are built and compiled on first
use and cached per worker process (``bayesres.sampling.compile_model``), so each worker pays the
compile once. ``workers=0`` runs everything in this process (no Dask needed).

``max_new`` stops after that many newly finished replications (what is stored stays stored): an
interruption on purpose, to test and demonstrate resuming.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from bayesres.errors import MissingDependencyError

__all__ = ["execute", "make_client", "chunked"]

TaskFn = Callable[..., list[Any]]


def chunked(keys: Sequence[Any], size: int) -> list[list[Any]]:
    size = max(int(size), 1)
    return [list(keys[i : i + size]) for i in range(0, len(keys), size)]


def make_client(*, scheduler: str | None = None, workers: int = 2) -> Any:
    """A dask.distributed client: connect to ``scheduler`` or start a LocalCluster."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise MissingDependencyError(
            "dask.distributed is needed for parallel calibration studies",
            hint="pip install 'bayesres[dask]' (or use --workers 0 to run in this process)",
        ) from None
    if scheduler:
        return Client(scheduler)
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one BLAS thread per single-threaded worker
    cluster = LocalCluster(
        n_workers=int(workers),
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=40,
    )
    return Client(cluster)


def _progress(enabled: bool, label: str, total: int) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    prog = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        disable=not enabled,
        transient=False,
    )
    return prog


def execute(
    keys: Sequence[Any],
    task: TaskFn,
    on_result: Callable[[Any, Any], None],
    *,
    task_kwargs: dict[str, Any] | None = None,
    scheduler: str | None = None,
    workers: int = 2,
    chunk: int = 1,
    progress: bool = True,
    max_new: int | None = None,
    label: str = "replications",
) -> int:
    """Run ``task(chunk_keys, **task_kwargs) -> [result per key]``; returns how many finished."""
    kwargs = task_kwargs or {}
    chunks = chunked(list(keys), chunk)
    limit = len(keys) if max_new is None else min(int(max_new), len(keys))
    if limit <= 0:
        return 0
    done = 0
    prog = _progress(progress, label, len(keys))
    with prog:
        bar = prog.add_task(label, total=limit)
        if workers == 0 and not scheduler:
            for ch in chunks:
                for key, res in zip(ch, task(ch, **kwargs), strict=True):
                    on_result(key, res)
                    done += 1
                    prog.advance(bar)
                    if done >= limit:
                        return done
            return done
        from dask.distributed import as_completed

        client = make_client(scheduler=scheduler, workers=workers)
        try:
            futures = {client.submit(task, ch, pure=False, **kwargs): ch for ch in chunks}
            it = as_completed(list(futures))
            for fut in it:
                ch = futures[fut]
                results = fut.result()  # re-raises a worker error after earlier parts are saved
                for key, res in zip(ch, results, strict=True):
                    on_result(key, res)
                    done += 1
                    prog.advance(bar)
                    if done >= limit:
                        break
                if done >= limit:
                    for f in futures:
                        f.cancel()
                    break
        finally:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None and not scheduler:
                cluster.close()
    return done
