"""Grids of cells for the commands, and the results assembled back from their records.

Prompt chunks: a command's prompt list is cut into chunks of ``batch_size`` prompts, one cell
per chunk. Generation already answers ``batch_size`` prompts per batch, so a chunked grid
computes exactly the batches an in-process run computes (same padding, same answers) while
letting different chunks run on different workers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from steering_core.diagnose import LayerNorms
from steering_core.execute.cell import Cell, VectorPayload
from steering_core.execute.cli import Execution
from steering_core.execute.local import preload_key
from steering_core.sweep import SweepCell, SweepResult, sweep_cell
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
    vector: SteeringVector,
    layers: Sequence[int],
    alphas: Sequence[float],
    prompts: Sequence[str],
    norms: Sequence[LayerNorms],
    max_new_tokens: int = 64,
    batch_size: int = 8,
    positions: str = "all",
    on_cell: Callable[[SweepCell], None] | None = None,
) -> SweepResult:
    """:func:`steering_core.sweep.alpha_sweep` as a grid of cells on ``execution``'s executor.

    Cells: the unsteered baseline plus one per ``(layer, alpha != 0)``, each cut into prompt
    chunks; alpha 0 reuses the baseline (no hook is installed at alpha 0). The result equals
    :func:`~steering_core.sweep.alpha_sweep`'s (same batches, greedy); ``on_cell`` is called
    in grid order once every cell is in.
    """
    median = {n.layer: n.median_norm for n in norms}
    payload = VectorPayload.from_vector(vector)
    base_cells = answer_cells(loaded, prompts, max_new_tokens, batch_size=batch_size)
    grid: list[tuple[int, float, list[Cell]]] = [
        (
            layer,
            float(alpha),
            answer_cells(loaded, prompts, max_new_tokens, payload, (layer,), alpha, positions, batch_size),
        )
        for layer in layers
        for alpha in alphas
    ]
    everything = base_cells + [cell for _, alpha, cells in grid if alpha != 0.0 for cell in cells]
    records = execution.run(everything, desc="sweep")
    by_digest = {r["cell_sha256"]: r for r in records}
    baseline = gather([by_digest[c.digest()] for c in base_cells])
    out: list[SweepCell] = []
    for layer, alpha, cells in grid:
        answers = baseline if alpha == 0.0 else gather([by_digest[c.digest()] for c in cells])
        cell = sweep_cell(layer, alpha, vector.norm(layer), median[layer], baseline, answers)
        out.append(cell)
        if on_cell is not None:
            on_cell(cell)
    return SweepResult(
        style=vector.style, prompts=list(prompts), baseline=baseline, cells=out, max_new_tokens=max_new_tokens
    )
