"""Alpha sweep: classify each (layer, alpha) as dead zone, effective or collapse.

For each cell the prompt set is answered greedily while steering, and compared with the
unsteered baseline answers:

* ``dead``: every steered answer is token-for-token identical to the baseline answer;
* ``collapse``: at least ``COLLAPSE_SHARE`` of the steered answers are degenerate
  (see :mod:`steering_core.text`: empty, character runs, looping, low diversity);
* ``effective``: otherwise (the output changed and stayed mostly coherent).

Per layer the thresholds are read off the sorted alphas (by ``|alpha|``): ``dead_max`` is the
largest alpha below which every cell is dead, ``effective`` the range of effective alphas,
and ``collapse_min`` the smallest collapsing alpha. The perturbation ratio
``|alpha| * ||v|| / median residual norm`` is reported per cell so thresholds transfer.

The one sweep-cell schema of the project lives in the torch-free :mod:`steering_core.cell_schema`
(re-exported here): the phases (:data:`PHASES`), how a cell's answers are judged (:func:`judge`:
``mean_words``, ``n_degenerate``, ``n_identical``, ``n_answers``, ``phase``), the fields every
cell records (:class:`CellCounts`) and how thresholds are read off cells
(:func:`layer_thresholds`). ``steer sweep`` (:class:`SweepCell`), the certificate's alpha cells
(:mod:`steering_core.certify.measure`), the figures (:mod:`steering_core.plots.data`) and the
report use these names and these functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from steering_core.cell_schema import (
    COLLAPSE_SHARE,
    PHASES,
    CellCounts,
    Judgement,
    Phase,
    PhasePoint,
    Thresholds,
    classify,
    judge,
    layer_thresholds,
)
from steering_core.deprecation import model_first
from steering_core.diagnose import LayerNorms
from steering_core.generate import generate
from steering_core.models import LoadedModel
from steering_core.ops import perturbation_ratio
from steering_core.steer import steer
from steering_core.text import word_count
from steering_core.vector import SteeringVector

__all__ = [  # with the cell schema re-exported from steering_core.cell_schema
    "COLLAPSE_SHARE",
    "PHASES",
    "CellCounts",
    "Judgement",
    "Phase",
    "PhasePoint",
    "SweepCell",
    "SweepResult",
    "Thresholds",
    "alpha_sweep",
    "classify",
    "judge",
    "layer_thresholds",
    "sweep_cell",
]


@dataclass(frozen=True, kw_only=True)
class SweepCell(CellCounts):
    """One (layer, alpha) cell of a sweep: the :class:`CellCounts`, its phase and its answers."""

    phase: Phase
    answers: list[str] = field(repr=False)


@dataclass(kw_only=True)
class SweepResult:
    """Baseline, every cell, and per-layer thresholds."""

    style: str | None
    prompts: list[str]
    baseline: list[str]
    cells: list[SweepCell]
    max_new_tokens: int

    @property
    def baseline_mean_words(self) -> float:
        """Mean words of the unsteered answers."""
        return sum(word_count(a) for a in self.baseline) / len(self.baseline)

    def thresholds(self) -> list[Thresholds]:
        """Per-layer phase boundaries (:func:`layer_thresholds`, see the module docstring)."""
        return [
            layer_thresholds(layer, [c for c in self.cells if c.layer == layer])
            for layer in sorted({c.layer for c in self.cells})
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready result (answers included)."""
        return {
            "style": self.style,
            "prompts": self.prompts,
            "max_new_tokens": self.max_new_tokens,
            "baseline": {"answers": self.baseline, "mean_words": self.baseline_mean_words},
            "cells": [asdict(c) for c in self.cells],
            "thresholds": [asdict(t) for t in self.thresholds()],
        }


def sweep_cell(
    layer: int,
    alpha: float,
    vector_norm: float,
    median_norm: float,
    baseline: Sequence[str],
    answers: Sequence[str],
) -> SweepCell:
    """The :class:`SweepCell` of ``answers`` steered at ``(layer, alpha)``, :func:`judge`-d against ``baseline``."""
    judged = judge(baseline, answers)
    return SweepCell(
        layer=layer,
        alpha=alpha,
        ratio=perturbation_ratio(alpha, vector_norm, median_norm),
        mean_words=judged.mean_words,
        n_degenerate=judged.n_degenerate,
        n_identical=judged.n_identical,
        phase=judged.phase,
        answers=list(answers),
    )


@model_first
def alpha_sweep(
    lm: LoadedModel,
    vector: SteeringVector,
    layers: Sequence[int],
    alphas: Sequence[float],
    prompts: Sequence[str],
    norms: Sequence[LayerNorms],
    max_new_tokens: int = 64,
    batch_size: int = 8,
    on_cell: Callable[[SweepCell], None] | None = None,
    on_step: Callable[[int], None] | None = None,
) -> SweepResult:
    """Run the sweep (``len(layers) * len(alphas) + 1`` generations of the prompt set).

    Deprecated: ``alpha_sweep(model, tokenizer, vector, ...)``. In-process and sequential;
    :func:`steering_core.execute.grids.sweep_grid` runs the same grid as cells on any executor
    (local or Ray) and gives the same result.
    """
    median = {n.layer: n.median_norm for n in norms}
    baseline = generate(lm, prompts, max_new_tokens, batch_size=batch_size, on_step=on_step)
    cells: list[SweepCell] = []
    for layer in layers:
        vnorm = vector.norm(layer)
        for alpha in alphas:
            if alpha == 0.0:
                answers = list(baseline)
            else:
                with steer(lm, vector, alpha, layers=layer):
                    answers = generate(lm, prompts, max_new_tokens, batch_size=batch_size, on_step=on_step)
            cell = sweep_cell(layer, alpha, vnorm, median[layer], baseline, answers)
            cells.append(cell)
            if on_cell is not None:
                on_cell(cell)
    return SweepResult(
        style=vector.style, prompts=list(prompts), baseline=baseline, cells=cells, max_new_tokens=max_new_tokens
    )
