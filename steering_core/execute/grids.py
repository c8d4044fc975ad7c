"""Grids of cells for the commands, and the results assembled back from their records.

Prompt chunks: a command's prompt list is cut into chunks of ``batch_size`` prompts, one cell
per chunk. Generation already answers ``batch_size`` prompts per batch, so a chunked grid
computes exactly the batches an in-process run computes (same padding, same answers) while
letting different chunks run on different workers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from steering_core.execute.cell import Cell, VectorPayload
from steering_core.execute.cli import Execution
from steering_core.execute.local import preload_key
from steering_core.sweep import FLAT_FIELDS, SweepCell, SweepGrid, SweepResult
from steering_core.vector import SteeringVector


def chunks(prompts: Sequence[str], size: int) -> list[tuple[str, ...]]:
    """``prompts`` cut into consecutive tuples of at most ``size`` (>= 1) prompts."""
    if size < 1:
        raise ValueError(f"chunk size must be >= 1, got {size}")
    return [tuple(prompts[i : i + size]) for i in range(0, len(prompts), size)]


def answer_cells(
    loaded: Any,
    prompts: Sequence[str],
    max_new_tokens: int,
    payload: VectorPayload | None = None,
    layers: Sequence[int] = (),
    alpha: float = 0.0,
    positions: str = "all",
    batch_size: int = 8,
    chat: bool = True,
) -> list[Cell]:
    """The cells (one per prompt chunk) that answer ``prompts`` on ``loaded``'s model as described."""
    model, dtype = preload_key(loaded)
    vector = payload if (payload is not None and alpha != 0.0) else None
    return [
        Cell(
            model,
            chunk,
            max_new_tokens,
            vector,
            tuple(layers) if vector is not None else (),
            alpha if vector is not None else 0.0,
            positions,
            batch_size,
            chat,
            dtype,
        )
        for chunk in chunks(prompts, batch_size)
    ]


def gather(records: Sequence[dict[str, Any]]) -> list[str]:
    """The answers of consecutive chunk records, joined in order."""
    return [answer for record in records for answer in record["answers"]]


def sweep_grid(
    execution: Execution,
    loaded: Any,
    grid: SweepGrid | SteeringVector | None = None,
    *flat: Any,
    on_cell: Callable[[SweepCell], None] | None = None,
    **flat_keywords: Any,
) -> SweepResult:
    """:func:`steering_core.sweep.alpha_sweep` of ``grid`` as a grid of cells on ``execution``'s executor.

    ``grid`` is a :class:`~steering_core.sweep.SweepGrid`, or the vector followed by the grid's
    other parameters flat, as before: ``sweep_grid(execution, loaded, vector, layers, alphas,
    prompts, norms, max_new_tokens=64, batch_size=8, positions="all")``
    (:meth:`~steering_core.sweep.SweepGrid.from_call`), validated the same way before any cell
    runs. Cells: the unsteered baseline plus one per ``(layer, alpha != 0)``, each cut into
    prompt chunks; alpha 0 reuses the baseline (no hook is installed at alpha 0). The result
    equals :func:`~steering_core.sweep.alpha_sweep`'s (same batches, greedy); ``on_cell`` is
    called in grid order once every cell is in.
    """
    swept = SweepGrid.from_call("sweep_grid", grid, flat, flat_keywords, (*FLAT_FIELDS, "positions"))
    payload = VectorPayload.from_vector(swept.vector)
    prompts, tokens, positions, size = swept.prompts, swept.max_new_tokens, swept.positions, swept.batch_size
    base_cells = answer_cells(loaded, prompts, tokens, batch_size=size)
    steered = {
        (layer, alpha): answer_cells(loaded, prompts, tokens, payload, (layer,), alpha, positions, size)
        for layer, alpha in swept.points
        if alpha != 0.0
    }
    records = execution.run(base_cells + [c for chunked in steered.values() for c in chunked], desc="sweep")
    by_digest = {r["cell_sha256"]: r for r in records}

    def answers(chunked: list[Cell]) -> list[str]:
        return gather([by_digest[c.digest()] for c in chunked])

    return swept.collect(answers(base_cells), lambda layer, alpha: answers(steered[layer, alpha]), on_cell)
