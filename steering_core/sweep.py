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

The grid itself (the vector, layers, alphas, prompts, residual norms, generation length, batch
size and steered positions) is one :class:`SweepGrid`, validated once on construction; the
in-process :func:`alpha_sweep` and the executor-backed
:func:`steering_core.execute.grids.sweep_grid` both take it (or the same parameters flat, the
older spelling, which builds it) and both judge their answers through
:meth:`SweepGrid.collect`, so the two paths accept, refuse and return the same things.

The one sweep-cell schema of the project lives in the torch-free :mod:`steering_core.cell_schema`
(re-exported here): the phases (:data:`PHASES`), how a cell's answers are judged (:func:`judge`:
``mean_words``, ``n_degenerate``, ``n_identical``, ``n_answers``, ``phase``), the fields every
cell records (:class:`CellCounts`) and how thresholds are read off cells
(:func:`layer_thresholds`). ``steer sweep`` (:class:`SweepCell`), the certificate's alpha cells
(:mod:`steering_core.certify.measure`), the figures (:mod:`steering_core.plots.data`) and the
report use these names and these functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, cast

from steering_core.argcheck import check_layers
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
from steering_core.errors import InvalidParameterError, LayerOutOfRangeError
from steering_core.generate import generate
from steering_core.models import LoadedModel
from steering_core.ops import check_finite_scalar, perturbation_ratio
from steering_core.plan import POSITIONS, Positions
from steering_core.prompts import check_prompts
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
    "SweepGrid",
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


FLAT_FIELDS: tuple[str, ...] = ("layers", "alphas", "prompts", "norms", "max_new_tokens", "batch_size")
"""The :class:`SweepGrid` fields after ``vector`` in the order the flat call form takes them positionally."""


@dataclass(frozen=True, kw_only=True)
class SweepGrid:
    """What a sweep runs: ``vector`` at each of ``layers`` x ``alphas``, answering ``prompts``.

    Fields: ``vector`` the :class:`~steering_core.vector.SteeringVector`; ``layers`` distinct
    layer indices of the vector (:func:`~steering_core.argcheck.check_layers`); ``alphas``
    distinct finite numbers (alpha 0 is the baseline: no hook); ``prompts`` a non-empty sequence
    of strings (:func:`~steering_core.prompts.check_prompts`); ``norms`` the residual norms
    (:func:`~steering_core.diagnose.residual_norms`), one at least for every swept layer, whose
    medians size each cell's perturbation ratio; ``max_new_tokens`` and ``batch_size`` ints >= 1
    (greedy generation, ``batch_size`` prompts a batch); ``positions`` where the vector is
    added, one of :data:`~steering_core.plan.POSITIONS`.

    Post (checked on construction, before any model runs): the sequences are stored as tuples,
    ``alphas`` as floats, in the order given; :attr:`points` is the grid order (layer-major).

    Raises:
        InvalidParameterError: a field outside the range above, naming the field (for ``alphas``
            a :class:`~steering_core.errors.NonFiniteError` for NaN or ±inf; for ``layers`` a
            :class:`~steering_core.errors.LayerOutOfRangeError` for a layer the vector lacks).
    """

    vector: SteeringVector
    layers: Sequence[int]
    alphas: Sequence[float]
    prompts: Sequence[str]
    norms: Sequence[LayerNorms]
    max_new_tokens: int = 64
    batch_size: int = 8
    positions: Positions = "all"

    def __post_init__(self) -> None:
        if not isinstance(self.vector, SteeringVector):
            raise InvalidParameterError("vector", "a SteeringVector", type(self.vector).__name__)
        known = self.vector.layer_indices
        layers = tuple(check_layers(self.layers, self.vector.num_layers or max(known) + 1))
        for layer in layers:
            if layer not in known:
                raise LayerOutOfRangeError("layers", f"layers of the vector {known}", layer)
        alphas = _check_alphas(self.alphas)
        prompts = tuple(check_prompts(self.prompts))
        if isinstance(self.norms, (str, bytes)) or not isinstance(self.norms, Sequence):
            raise InvalidParameterError("norms", "a sequence of LayerNorms", repr(self.norms)[:80])
        norms = tuple(self.norms)
        if not all(isinstance(n, LayerNorms) for n in norms):
            raise InvalidParameterError("norms", "a sequence of LayerNorms", repr(self.norms)[:80])
        missing = sorted(set(layers) - {n.layer for n in norms})
        if missing:
            raise InvalidParameterError(
                "norms", f"the residual norms of every swept layer {list(layers)}", f"none for {missing}"
            )
        for name in ("max_new_tokens", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidParameterError(name, "an int >= 1", repr(value))
        if self.positions not in POSITIONS:
            raise InvalidParameterError("positions", f"one of {POSITIONS}", repr(self.positions))
        for name, value in (("layers", layers), ("alphas", alphas), ("prompts", prompts), ("norms", norms)):
            object.__setattr__(self, name, value)

    @classmethod
    def from_call(
        cls,
        function: str,
        grid: SweepGrid | SteeringVector | None,
        args: tuple[Any, ...],
        keywords: dict[str, Any],
        positional: tuple[str, ...],
    ) -> SweepGrid:
        """The grid of a call ``function(..., grid, *args, **keywords)`` that takes one.

        ``grid`` a :class:`SweepGrid` (then ``args`` and ``keywords`` empty), or the flat form:
        ``grid`` the vector (or ``keywords["vector"]``), ``args`` the fields named by
        ``positional`` in that order, ``keywords`` any other fields by name.

        Raises:
            TypeError: a grid together with flat parameters, more ``args`` than ``positional``,
                a field given twice, an unknown keyword, or no vector.
            InvalidParameterError: the fields, as on construction.
        """
        if isinstance(grid, SweepGrid):
            if args or keywords:
                given = [*positional[: len(args)], *keywords]
                raise TypeError(f"{function}() got a SweepGrid and also grid parameters {given}; put them in the grid")
            return grid
        if len(args) > len(positional):
            raise TypeError(
                f"{function}() takes at most {len(positional)} grid parameters after the vector positionally "
                f"({', '.join(positional)}), got {len(args)}; pass the others by keyword"
            )
        fields = dict(zip(positional, args, strict=False))
        if grid is not None:
            fields["vector"] = grid
        for name, value in keywords.items():
            if name in fields or name not in GRID_FIELDS:
                problem = "multiple values for" if name in fields else "an unexpected keyword"
                raise TypeError(f"{function}() got {problem} argument {name!r}")
            fields[name] = value
        if "vector" not in fields:
            raise TypeError(f"{function}() missing the grid: a SweepGrid, or the vector and the grid parameters")
        return cls(**fields)

    @property
    def points(self) -> list[tuple[int, float]]:
        """The grid's ``(layer, alpha)`` cells in order: every alpha of the first layer, then the next layer."""
        return [(layer, alpha) for layer in self.layers for alpha in self.alphas]

    def collect(
        self,
        baseline: Sequence[str],
        answers: Callable[[int, float], Sequence[str]],
        on_cell: Callable[[SweepCell], None] | None = None,
    ) -> SweepResult:
        """The :class:`SweepResult` of the unsteered ``baseline`` and ``answers(layer, alpha)`` per cell.

        Cells are made in :attr:`points` order; at alpha 0 the baseline is the answer
        (``answers`` is not called, no hook is installed at alpha 0). Each cell is
        :func:`sweep_cell`-judged with the vector's norm and the layer's median residual norm,
        and passed to ``on_cell`` as soon as it is made.
        """
        median = {n.layer: n.median_norm for n in self.norms}
        cells: list[SweepCell] = []
        for layer, alpha in self.points:
            said = list(baseline) if alpha == 0.0 else answers(layer, alpha)
            cell = sweep_cell(layer, alpha, self.vector.norm(layer), median[layer], baseline, said)
            cells.append(cell)
            if on_cell is not None:
                on_cell(cell)
        return SweepResult(
            style=self.vector.style,
            prompts=list(self.prompts),
            baseline=list(baseline),
            cells=cells,
            max_new_tokens=self.max_new_tokens,
        )


GRID_FIELDS: tuple[str, ...] = ("vector", *FLAT_FIELDS, "positions")
"""Every :class:`SweepGrid` field, by name."""


def _check_alphas(alphas: object) -> tuple[float, ...]:
    """``alphas`` as a tuple of floats: a non-empty iterable (not a string or mapping) of distinct finite
    real numbers (Python ints/floats or numpy float64, as :func:`~steering_core.ops.check_finite_scalar`)."""
    accepted = "a non-empty sequence of distinct finite real numbers"
    if isinstance(alphas, (str, bytes, Mapping)) or not isinstance(alphas, Iterable):
        raise InvalidParameterError("alphas", accepted, repr(alphas)[:80])
    items = tuple(cast(Iterable[float], alphas))  # a list, tuple, range or 1-D numpy array of float64
    if not items:
        raise InvalidParameterError("alphas", accepted, repr(alphas)[:80])
    values = tuple(check_finite_scalar(a, "alphas") for a in items)
    if len(set(values)) != len(values):
        repeated = sorted({a for a in values if values.count(a) > 1})
        raise InvalidParameterError("alphas", accepted, f"repeated alpha(s) {repeated}")
    return values


@model_first
def alpha_sweep(
    lm: LoadedModel,
    /,
    grid: SweepGrid | SteeringVector | None = None,
    *flat: Any,
    on_cell: Callable[[SweepCell], None] | None = None,
    on_step: Callable[[int], None] | None = None,
    **flat_keywords: Any,
) -> SweepResult:
    """Run the sweep of ``grid`` (``len(layers) * len(alphas) + 1`` generations of the prompt set).

    ``grid`` is a :class:`SweepGrid`, or the vector followed by the grid's other parameters
    flat, as before: ``alpha_sweep(lm, vector, layers, alphas, prompts, norms,
    max_new_tokens=64, batch_size=8)`` (:meth:`SweepGrid.from_call`; ``positions=`` by keyword).
    ``on_cell`` is called with each cell as soon as it is judged, ``on_step`` with each decoding
    step. Deprecated: ``alpha_sweep(model, tokenizer, ...)``. In-process and sequential;
    :func:`steering_core.execute.grids.sweep_grid` runs the same grid as cells on any executor
    (local or Ray) and gives the same result.

    Raises:
        InvalidParameterError: a grid parameter out of range (see :class:`SweepGrid`), before
            anything runs; ``EmptyPromptError`` for a prompt this model cannot read.
        TypeError: grid parameters both in a :class:`SweepGrid` and flat, or an unknown one.
    """
    swept = SweepGrid.from_call("alpha_sweep", grid, flat, flat_keywords, FLAT_FIELDS)
    prompts = list(swept.prompts)

    def answer() -> list[str]:
        return generate(lm, prompts, swept.max_new_tokens, batch_size=swept.batch_size, on_step=on_step)

    def steered(layer: int, alpha: float) -> list[str]:
        with steer(lm, swept.vector, alpha, layers=layer, positions=swept.positions):
            return answer()

    return swept.collect(answer(), steered, on_cell)
