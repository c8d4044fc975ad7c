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

This module owns the one sweep-cell schema of the project: the phases (:data:`PHASES`), how a
cell's answers are judged (:func:`judge`: ``mean_words``, ``n_degenerate``, ``n_identical``,
``n_answers``, ``phase``) and how thresholds are read off cells (:func:`layer_thresholds`).
``steer sweep`` (:class:`SweepCell`), the certificate's alpha cells
(:mod:`steering_core.certify.measure`), the figures (:mod:`steering_core.plots.data`) and the
report use these names and these functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, overload

from torch import nn

from steering_core.deprecation import split_loaded
from steering_core.diagnose import LayerNorms
from steering_core.generate import generate
from steering_core.models import LoadedModel
from steering_core.ops import perturbation_ratio
from steering_core.steer import steer
from steering_core.text import is_degenerate, word_count
from steering_core.vector import SteeringVector

Phase = Literal["dead", "effective", "collapse"]
PHASES: tuple[Phase, ...] = ("dead", "effective", "collapse")
COLLAPSE_SHARE = 0.5


class PhasePoint(Protocol):
    """Anything with an ``alpha`` and the ``phase`` measured there (every sweep cell type)."""

    @property
    def alpha(self) -> float: ...

    @property
    def phase(self) -> str: ...


@dataclass(frozen=True, kw_only=True)
class Judgement:
    """Steered answers judged against the baseline answers (see :func:`judge`).

    ``mean_words``: mean :func:`~steering_core.text.word_count` of the steered answers;
    ``n_degenerate`` / ``n_identical``: how many are degenerate / token-for-token identical to
    the baseline; ``n_answers``: how many there are; ``phase``: one of :data:`PHASES`.
    """

    mean_words: float
    n_degenerate: int
    n_identical: int
    n_answers: int
    phase: Phase


@dataclass(frozen=True, kw_only=True)
class SweepCell:
    """One (layer, alpha) cell of a sweep."""

    layer: int
    alpha: float
    ratio: float
    mean_words: float
    n_degenerate: int
    n_identical: int
    phase: Phase
    answers: list[str] = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class Thresholds:
    """Phase boundaries for one layer (None where the sweep saw no such cell)."""

    layer: int
    dead_max: float | None
    effective_min: float | None
    effective_max: float | None
    collapse_min: float | None


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


def layer_thresholds(layer: int, cells: Iterable[PhasePoint]) -> Thresholds:
    """The phase boundaries of one layer's cells, read off their alphas sorted by ``|alpha|``.

    ``dead_max``: the last alpha of the leading run of dead cells; ``effective_min`` /
    ``effective_max``: the effective alphas of smallest / largest ``|alpha|``;
    ``collapse_min``: the collapsing alpha of smallest ``|alpha|``; ``None`` where no cell has
    that phase.
    """
    ordered = sorted(cells, key=lambda c: abs(c.alpha))
    dead_max = None
    for cell in ordered:
        if cell.phase != "dead":
            break
        dead_max = cell.alpha
    effective = [c.alpha for c in ordered if c.phase == "effective"]
    collapsed = [c.alpha for c in ordered if c.phase == "collapse"]
    return Thresholds(
        layer=layer,
        dead_max=dead_max,
        effective_min=min(effective, key=abs) if effective else None,
        effective_max=max(effective, key=abs) if effective else None,
        collapse_min=min(collapsed, key=abs) if collapsed else None,
    )


def judge(baseline: Sequence[str], answers: Sequence[str]) -> Judgement:
    """The :class:`Judgement` of steered ``answers`` (non-empty) against the ``baseline`` answers."""
    phase, n_degenerate, n_identical = classify(baseline, answers)
    mean_words = sum(word_count(a) for a in answers) / len(answers)
    return Judgement(
        mean_words=mean_words, n_degenerate=n_degenerate, n_identical=n_identical, n_answers=len(answers), phase=phase
    )


def classify(baseline: Sequence[str], steered: Sequence[str]) -> tuple[Phase, int, int]:
    """``(phase, n_degenerate, n_identical)`` of steered answers against the baseline."""
    n_identical = sum(1 for b, s in zip(baseline, steered, strict=True) if b == s)
    n_degenerate = sum(1 for s in steered if is_degenerate(s))
    if n_degenerate >= COLLAPSE_SHARE * len(steered):
        return "collapse", n_degenerate, n_identical
    if n_identical == len(steered):
        return "dead", n_degenerate, n_identical
    return "effective", n_degenerate, n_identical


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


@overload
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
) -> SweepResult: ...
@overload
def alpha_sweep(lm: nn.Module, *args: Any, **kwargs: Any) -> SweepResult: ...  # deprecated form
def alpha_sweep(lm: Any = None, *args: Any, **kwargs: Any) -> SweepResult:
    """Run the sweep (``len(layers) * len(alphas) + 1`` generations of the prompt set).

    ``alpha_sweep(lm, vector, layers, alphas, prompts, norms, max_new_tokens=64, batch_size=8,
    on_cell=None, on_step=None)``. Deprecated: ``alpha_sweep(model, tokenizer, vector, ...)``.
    In-process and sequential; :func:`steering_core.execute.grids.sweep_grid` runs the same
    grid as cells on any executor (local or Ray) and gives the same result.
    """
    model, tokenizer, args, kwargs = split_loaded(lm, args, kwargs, "alpha_sweep")
    target = LoadedModel(model=model, tokenizer=tokenizer)
    return _alpha_sweep(target, *args, **kwargs)


def _alpha_sweep(
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
