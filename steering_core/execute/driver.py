"""The driver: run a list of cells on an executor, once each, resumable, with one progress bar.

:func:`run_cells` is the one path from cells to records for every command (``steer sweep``,
``steer behaviour``, ``steer vector certify``, ``steer cprr run``) and every executor:

1. cells are de-duplicated by digest (a grid that names the same cell twice runs it once);
2. cells whose digest the :class:`~steering_core.execute.store.RecordStore` already holds are
   skipped (resume after an interruption);
3. the rest go to the executor, which yields records as they finish, in any order;
4. each record is checked (its digest must be one that was asked for and not yet finished),
   stored (appended and fsync-ed when the store is file-backed) and counted once: a record
   for a digest that is already stored -- a retried cell whose first attempt did report after
   all -- is dropped;
5. the records come back in the order of the input cells.

The progress bar (tqdm on stderr, only when stderr is a terminal) counts finished cells across
all workers; ``log`` gets one line per finished cell.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from typing import Any, Protocol

from steering_core.execute.cell import Cell
from steering_core.execute.errors import ExecutionError
from steering_core.execute.store import RecordStore

Log = Callable[[str], None]


class Executor(Protocol):
    """What the driver needs from an executor."""

    name: str

    @property
    def workers(self) -> int:
        """How many workers run cells at once."""
        ...

    def run(self, cells: Sequence[Cell]) -> Iterator[dict[str, Any]]:
        """Run every cell (at least once) and yield each record as it finishes (any order)."""
        ...

    def close(self) -> None:
        """Release the workers (idempotent)."""
        ...


def _bar(total: int, initial: int, desc: str, enabled: bool) -> Any:
    if not enabled or not sys.stderr.isatty():
        return nullcontext(None)
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="cell", file=sys.stderr, dynamic_ncols=True)


def run_cells(
    cells: Sequence[Cell],
    executor: Executor,
    store: RecordStore | None = None,
    *,
    progress: bool = True,
    log: Log | None = None,
    desc: str = "cells",
) -> list[dict[str, Any]]:
    """Records for ``cells`` (input order), running only the cells not already in ``store``.

    Post: every returned record's ``cell_sha256`` is the digest of the cell at the same index;
    each digest was run at most once in this call and is stored once.

    Raises:
        ExecutionError: the executor returned a record for a cell that was not asked for (or
            never returned one for a cell it was given).
    """
    store = store if store is not None else RecordStore()
    digests = [cell.digest() for cell in cells]
    unique: dict[str, Cell] = {}
    for digest, cell in zip(digests, cells, strict=True):
        unique.setdefault(digest, cell)
    todo = [cell for digest, cell in unique.items() if digest not in store]
    skipped = len(unique) - len(todo)
    if log is not None and skipped:
        log(f"{skipped} of {len(unique)} cells already finished (resumed from the record file)")
    wanted = {cell.digest() for cell in todo}
    done = 0
    with _bar(len(unique), skipped, f"{desc} [{executor.name} x{executor.workers}]", progress) as bar:
        for record in executor.run(todo) if todo else iter(()):
            digest = str(record.get("cell_sha256"))
            if digest not in wanted:
                raise ExecutionError(
                    f"the {executor.name} executor returned a record for an unknown cell {digest[:12]}"
                )
            if not store.add(record):
                continue  # already stored: a duplicate report is counted once
            done += 1
            if bar is not None:
                bar.update(1)
            if log is not None:
                worker = record["provenance"]["worker"]
                seconds = record["timing"]["seconds"]
                log(f"[{done}/{len(wanted)}] {unique[digest].label()} on {worker} ({seconds:.1f} s)")
    missing = [d for d in wanted if d not in store]
    if missing:
        raise ExecutionError(f"the {executor.name} executor finished without a record for {len(missing)} cell(s)")
    return [store.records[digest] for digest in digests]
