"""One model, greedy answers on demand, memoised within a run.

A :class:`Session` answers user texts unhooked (alpha 0) or steered by ``alpha * v`` at one layer,
for a named direction (a style vector or a seeded random control). Identical requests in one run
are answered once (greedy decoding makes the answer a function of the request), so the contracts,
the parity grid and the controls can share generations.

With an :class:`~steering_core.execute.cli.Execution` (``steer behaviour --executor local|ray``)
every generation runs as cells of :mod:`steering_core.execute` (one per chunk of
``batch_size`` questions, the same batches as in-process generation): records are kept in the
record file and resumed from it, and :meth:`Session.prefetch` submits a whole grid at once so
that several workers answer it in parallel. Vectors and norms stay on the driver's model.

In-process (no execution) with ``batched=True`` (the default), a request's questions and every
request handed to :meth:`Session.prefetch` become *rows* of :func:`steering_core.behaviour.batch.generate_rows`:
one batched greedy generation with per-row steering (``steer_rows``), at most ``max_batch`` rows
per forward batch. Rows are memoised one by one (key: text, plan, token budget), so a grid
answered in one batch and the same requests asked later share their answers. ``batched=False``
keeps one :func:`~steering_core.generate.generate` per request under :func:`~steering_core.steer.steer`
(the reference path; in float32 both give the same tokens).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from steering_core.behaviour.batch import DEFAULT_MAX_BATCH, Row, generate_rows, plan_key
from steering_core.diagnose import residual_norms
from steering_core.execute.cell import VectorPayload
from steering_core.execute.grids import answer_cells, gather
from steering_core.extract import extract
from steering_core.generate import generate
from steering_core.models import LoadedModel
from steering_core.plan import Term
from steering_core.steer import steer
from steering_core.vector import SteeringVector

Progress = Callable[[str], None]


def random_like(vector: SteeringVector, layer: int, seed: int) -> SteeringVector:
    """A random direction with the same norm as ``vector`` at ``layer`` (Gaussian, seeded, float32)."""
    gen = torch.Generator().manual_seed(seed)
    direction = torch.randn(vector.hidden_size, generator=gen, dtype=torch.float64)
    scaled = (direction / direction.norm() * vector.norm(layer)).to(torch.float32)
    return SteeringVector(
        directions={layer: scaled},
        hidden_size=vector.hidden_size,
        num_layers=vector.num_layers,
        model_name=vector.model_name,
        style=f"random-{seed}",
        recipe=vector.recipe,
    )


@dataclass
class Session:
    """Greedy answers from one loaded model with a per-run memo."""

    lm: LoadedModel
    max_new_tokens: int = 64
    batch_size: int = 8
    progress: Progress | None = None
    vectors: dict[str, SteeringVector] = field(default_factory=dict)
    _memo: dict[tuple[Any, ...], list[str]] = field(default_factory=dict)
    _median: dict[int, float] = field(default_factory=dict)
    n_generations: int = 0
    execution: Any = None  # steering_core.execute.cli.Execution, or None: generate in-process
    batched: bool = True
    max_batch: int = DEFAULT_MAX_BATCH
    _rows: dict[tuple[Any, ...], str] = field(default_factory=dict)
    measures: dict[tuple[Any, ...], Any] = field(default_factory=dict)  # memo of measurements (e.g. fluency)
    n_rows: int = 0

    def say(self, message: str) -> None:
        """Report progress, when a reporter is set."""
        if self.progress is not None:
            self.progress(message)

    def vector(self, style: str, layer: int) -> SteeringVector:
        """The style's vector at ``layer`` (extracted once: last token, chat template, mean)."""
        key = f"{style}@{layer}"
        if key not in self.vectors:
            self.vectors[key] = extract(self.lm, style=style, layers=[layer])
        return self.vectors[key]

    def median_norm(self, layer: int, prompts: Sequence[str]) -> float:
        """Median residual norm at ``layer`` over ``prompts`` (first token excluded)."""
        if layer not in self._median:
            (norms,) = residual_norms(self.lm, list(prompts), [layer])
            self._median[layer] = norms.median_norm
        return self._median[layer]

    def _key(self, texts: Sequence[str], vector: SteeringVector | None, alpha: float) -> tuple[Any, ...]:
        steered = vector is not None and alpha != 0.0
        return (
            tuple(texts),
            self.max_new_tokens,
            plan_key(self.plan(vector, alpha)) if steered else None,
        )

    @staticmethod
    def plan(vector: SteeringVector | None, alpha: float) -> tuple[Term, ...] | None:
        """The row plan of ``alpha * vector`` at every layer the vector holds (None: unhooked)."""
        if vector is None or alpha == 0.0:
            return None
        return (Term(vector=vector, alpha=alpha, layers=tuple(vector.layer_indices)),)

    def _row_key(self, row: Row, tokens: int) -> tuple[Any, ...]:
        return (row.text, plan_key(row.plan), tokens)

    def rows(self, rows: Sequence[Row], max_new_tokens: int | None = None) -> list[str]:
        """Greedy answers to ``rows`` (each its own plan), generated together as one batched grid.

        Rows already answered in this session are not generated again. ``max_new_tokens``
        defaults to the session's.
        """
        tokens = self.max_new_tokens if max_new_tokens is None else max_new_tokens
        todo: list[Row] = []
        seen: set[tuple[Any, ...]] = set()
        for row in rows:
            key = self._row_key(row, tokens)
            if key not in self._rows and key not in seen:
                seen.add(key)
                todo.append(row)
        if todo:
            self.say(f"generating {len(todo)} rows in batches of <= {self.max_batch} ({tokens} tokens)")
            for row, answer in zip(todo, generate_rows(self.lm, todo, tokens, self.max_batch, self.say), strict=True):
                self._rows[self._row_key(row, tokens)] = answer
            self.n_rows += len(todo)
            self.n_generations += 1
        return [self._rows[self._row_key(r, tokens)] for r in rows]

    def _cells(self, texts: Sequence[str], vector: SteeringVector | None, alpha: float) -> list[Any]:
        steered = vector is not None and alpha != 0.0
        payload = VectorPayload.from_vector(vector) if steered and vector is not None else None
        return answer_cells(
            self.lm, list(texts), self.max_new_tokens, payload, (), alpha if steered else 0.0, "all", self.batch_size
        )

    def prefetch(self, requests: Sequence[tuple[Sequence[str], SteeringVector | None, float]]) -> None:
        """Answer every ``(texts, vector, alpha)`` request not yet memoised, as one grid of cells.

        Without an execution: batched sessions answer every row of every request in one batched
        generation (:meth:`rows`); unbatched ones do nothing (requests are answered lazily).
        """
        if self.execution is None:
            if self.batched:
                self.rows([Row(t, self.plan(vector, alpha)) for texts, vector, alpha in requests for t in texts])
            return
        todo: dict[tuple[Any, ...], tuple[Sequence[str], SteeringVector | None, float]] = {}
        for texts, vector, alpha in requests:
            key = self._key(texts, vector, alpha)
            if key not in self._memo:
                todo.setdefault(key, (texts, vector, alpha))
        if not todo:
            return
        plans = [(key, self._cells(*request)) for key, request in todo.items()]
        self.say(f"submitting {len(plans)} generations ({sum(len(c) for _, c in plans)} cells)")
        records = self.execution.run([cell for _, cells in plans for cell in cells], desc="behaviour")
        at = 0
        for key, cells in plans:
            self._memo[key] = gather(records[at : at + len(cells)])
            at += len(cells)
            self.n_generations += 1

    def answers(self, texts: Sequence[str], vector: SteeringVector | None = None, alpha: float = 0.0) -> list[str]:
        """Greedy answers to ``texts``; steered by ``alpha * vector`` unless alpha is 0 or no vector."""
        steered = vector is not None and alpha != 0.0
        key = self._key(texts, vector, alpha)
        if key not in self._memo and self.execution is not None:
            self.prefetch([(texts, vector, alpha)])
        if key not in self._memo and self.execution is None and self.batched:
            return self.rows([Row(t, self.plan(vector, alpha)) for t in texts])
        if key not in self._memo:
            label = f"{vector.style} alpha={alpha:+g} L{vector.layer_indices}" if steered and vector else "unhooked"
            self.say(f"generating {len(texts)} answers ({label}, {self.max_new_tokens} tokens)")
            if steered and vector is not None:
                with steer(self.lm, vector, alpha, layers=list(vector.layer_indices)):
                    out = generate(self.lm, list(texts), self.max_new_tokens, batch_size=self.batch_size)
            else:
                out = generate(self.lm, list(texts), self.max_new_tokens, batch_size=self.batch_size)
            self._memo[key] = out
            self.n_generations += 1
        return list(self._memo[key])
