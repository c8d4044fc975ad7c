"""Command-line plumbing shared by every command that runs cell grids.

:func:`add_executor_args` adds ``--executor local|ray``, ``--ray-address``, ``--workers``,
``--cpus-per-worker`` and ``--records`` to a parser; :func:`open_execution` turns the parsed
namespace into an :class:`Execution` (an executor plus a record store) inside a ``with``
block, which releases the workers, the local Ray instance and the record file's lock on exit,
also on an exception.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from steering_core.execute.cell import Cell
from steering_core.execute.driver import Executor, run_cells
from steering_core.execute.options import EXECUTORS, add_executor_args
from steering_core.execute.store import RecordStore

# deferred imports: an executor (local, or Ray, whose import takes seconds) loads only when an
# execution opens; the commands import this module while their parsers are built at start-up.

__all__ = ["EXECUTORS", "Execution", "add_executor_args", "execution", "open_execution"]


@dataclass
class Execution:
    """An executor and a record store, plus how to report progress."""

    executor: Executor
    store: RecordStore
    log: Callable[[str], None] | None = None
    progress: bool = True

    @property
    def parallel(self) -> bool:
        """Whether more than one cell runs at a time (worth submitting a grid up front)."""
        return self.executor.workers > 1

    def run(self, cells: Sequence[Cell], desc: str = "cells") -> list[dict[str, Any]]:
        """:func:`~steering_core.execute.driver.run_cells` on this executor and store."""
        return run_cells(cells, self.executor, self.store, progress=self.progress, log=self.log, desc=desc)

    def answers(self, cells: Sequence[Cell], desc: str = "cells") -> list[list[str]]:
        """The answers of each cell (input order)."""
        return [list(r["answers"]) for r in self.run(cells, desc)]


@contextmanager
def execution(
    executor: str = "local",
    *,
    loaded: Sequence[Any] = (),
    ray_address: str | None = None,
    workers: int | None = None,
    cpus_per_worker: int = 1,
    records: str | None = None,
    log: Callable[[str], None] | None = None,
    progress: bool = True,
) -> Iterator[Execution]:
    """An :class:`Execution` for ``executor`` (``local`` or ``ray``); released on exit.

    ``loaded``: models the caller already holds; the local executor reuses them (Ray workers
    load their own copy by name).

    Raises:
        InvalidParameterError: an unknown executor name.
        ExecutorUnavailableError: Ray is not installed, or the cluster cannot be reached.
        RecordFileError: the record file is corrupt or used by another run.
    """
    from steering_core.errors import InvalidParameterError

    if executor not in EXECUTORS:
        raise InvalidParameterError("executor", f"one of {EXECUTORS}", repr(executor))
    if ray_address and executor != "ray":
        raise InvalidParameterError("ray_address", "only together with --executor ray", repr(ray_address))
    store = RecordStore(records)
    try:
        if store.truncated_bytes and log is not None:
            log(f"{records}: cut off a torn last line ({store.truncated_bytes} bytes) left by an interrupted run")
        chosen: Any
        if executor == "local":
            from steering_core.execute.local import LocalExecutor

            chosen = LocalExecutor(loaded)
        else:
            from steering_core.execute.ray_executor import RayExecutor

            chosen = RayExecutor(address=ray_address, workers=workers, cpus_per_worker=cpus_per_worker, log=log)
        try:
            yield Execution(chosen, store, log, progress)
        finally:
            chosen.close()
    finally:
        store.close()


@contextmanager
def open_execution(
    args: argparse.Namespace, loaded: Sequence[Any] = (), log: Callable[[str], None] | None = None
) -> Iterator[Execution]:
    """:func:`execution` configured from the options of :func:`add_executor_args`."""
    with execution(
        getattr(args, "executor", "local"),
        loaded=loaded,
        ray_address=getattr(args, "ray_address", None),
        workers=getattr(args, "workers", None),
        cpus_per_worker=getattr(args, "cpus_per_worker", 1),
        records=getattr(args, "records", None),
        log=log,
        progress=not getattr(args, "no_progress", False),
    ) as ctx:
        yield ctx
