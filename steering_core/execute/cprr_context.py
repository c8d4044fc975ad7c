"""A CPRR run context whose generations run as execution cells (``steer cprr run --executor ...``).

:class:`ExecutorRunContext` is a :class:`steering_core.cprr.runners.RunContext` whose
:meth:`generate` and :meth:`steered` answer through :mod:`steering_core.execute` (prompt chunks
of 8, the batches the in-process context uses), so the answers, the recorded inputs and hence
the evidence record are the ones an in-process run gives; only where the tokens were computed
differs. Vectors, norms and fingerprints stay on the driver's model.

Parallelism without changing runners: :meth:`plan` runs the runner once in *planning* mode,
in which every generation returns a placeholder (the prompts themselves) and is only noted as
cells; those cells are then submitted together, so several workers answer them at once, and
the real run finds them answered. Placeholders can send a runner down another branch than the
real answers do (e.g. a loop that stops at the first collapse plans the whole grid): extra
planned cells cost work but never change a result, and cells the plan missed are answered when
the real run asks. A planning pass that raises is abandoned (the real run then answers lazily).
Everything computed for a run is forgotten at the next :meth:`begin`, so two runs are still
independent reproductions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from steering_core.cprr.runners import RunContext, deterministic
from steering_core.execute.cell import Cell, VectorPayload
from steering_core.execute.grids import answer_cells
from steering_core.vector import SteeringVector

BATCH_SIZE = 8  # RunContext generates with steering_core.generate.generate's default batch size


@dataclass
class ExecutorRunContext(RunContext):
    """A :class:`RunContext` that generates through an :class:`~steering_core.execute.cli.Execution`."""

    execution: Any = None
    _planning: bool = field(default=False, repr=False)
    _planned: list[Cell] = field(default_factory=list, repr=False)
    _cells: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.execution is None:
            raise ValueError("ExecutorRunContext needs an execution (steering_core.execute.cli.execution)")
        adopt = getattr(self.execution.executor, "adopt", None)
        if adopt is not None:  # the local executor reuses this model instead of loading a copy
            adopt(self.loaded)

    def begin(self) -> None:
        """Start a run: forget inputs, caches and every answered cell."""
        super().begin()
        self._cells.clear()
        self._planned.clear()

    def plan(self, fn: Callable[[RunContext, dict[str, Any]], Any], protocol: dict[str, Any]) -> int:
        """Run ``fn`` in planning mode, submit the cells it asked for at once; return how many.

        Afterwards the inputs and caches are reset as by :meth:`begin`, except the answered cells.
        """
        self._planning = True
        self._planned.clear()
        try:
            with deterministic(int(protocol["seed"])):
                fn(self, protocol)
        except Exception as error:  # a placeholder answer the runner could not use: plan what we have
            self.log(f"planning stopped early ({type(error).__name__}); the rest is answered on demand")
        finally:
            self._planning = False
        planned = list(self._planned)
        self._planned.clear()
        answered = dict(self._cells)
        RunContext.begin(self)
        self._cells.update(answered)
        if planned:
            self.log(f"submitting {len(planned)} planned cells")
            self._answer(planned)
        return len(planned)

    def _answer(self, cells: Sequence[Cell]) -> list[str]:
        digests = [c.digest() for c in cells]
        missing = [c for c, d in zip(cells, digests, strict=True) if d not in self._cells]
        if missing:
            for record in self.execution.run(missing, desc="cprr"):
                self._cells[str(record["cell_sha256"])] = list(record["answers"])
        return [answer for d in digests for answer in self._cells[d]]

    def _through_cells(self, cells: list[Cell], prompts: Sequence[str]) -> list[str]:
        if self._planning:
            self._planned.extend(cells)
            return [str(p) for p in prompts]
        return self._answer(cells)

    def generate(self, prompts: Sequence[str], max_new_tokens: int) -> list[str]:
        """Greedy unsteered answers (chat-templated), as execution cells."""
        self.inputs.append({"generate": list(prompts), "max_new_tokens": max_new_tokens})
        key = ("base", tuple(prompts), max_new_tokens)
        if key not in self._answers:
            cells = answer_cells(self.loaded, list(prompts), max_new_tokens, batch_size=BATCH_SIZE)
            answers = self._through_cells(cells, prompts)
            if self._planning:
                return answers
            self._answers[key] = answers
        return list(self._answers[key])

    def steered(
        self, vector: Any, alpha: float, layers: int | Sequence[int], prompts: Sequence[str], max_new_tokens: int
    ) -> list[str]:
        """Greedy answers while steering with ``alpha * vector`` at ``layers`` (every position), as cells."""
        import torch

        chosen, key = self.steered_input(vector, alpha, layers, prompts, max_new_tokens)
        if key not in self._answers:
            if isinstance(vector, torch.Tensor):
                selected = SteeringVector(
                    directions={layer: vector for layer in chosen}, hidden_size=int(vector.shape[-1])
                )
            else:
                selected = vector.select(chosen)
            payload = VectorPayload.from_vector(selected, {"kind": "cprr-runner"})
            cells = answer_cells(self.loaded, list(prompts), max_new_tokens, payload, chosen, alpha, "all", BATCH_SIZE)
            answers = self._through_cells(cells, prompts)
            if self._planning:
                return answers
            self._answers[key] = answers
        return list(self._answers[key])
