"""Plain data the figures take: frozen dataclasses with ``from_dict`` / ``to_dict``.

Each figure function takes exactly one of these, so a figure can be drawn from a live run or
from recorded JSON alike (``steer plot FIGURE --data JSON``). ``from_dict`` validates (typed
:class:`~steering_core.errors.InvalidParameterError` naming the offending field) and accepts
the JSON the producing code already writes:

* :class:`SweepData` reads ``SweepResult.to_dict()`` (``steer sweep --json``; answers optional)
  and its own compact ``to_dict()``;
* :class:`LensData` reads ``LensReport.to_dict()`` (the lens eval);
* :class:`BoardData` reads the list of ``steering_core.cprr.board_rows()`` (or ``{"rows": [...]}``).

``from_dict(x.to_dict()) == x`` for every class. Units: norms and vectors in residual-stream
units; alphas dimensionless; lens scores are fractions in ``[0, 1]``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from steering_core.behaviour.lens import lens_run_fields
from steering_core.cell_schema import PHASES, CellCounts, Thresholds, layer_thresholds
from steering_core.errors import InvalidParameterError

BOARD_STATUSES: tuple[str, ...] = ("open", "testing", "confirmed", "refuted", "proved")


# --------------------------------------------------------------------------- field readers
def _get(data: Mapping[str, Any], key: str, where: str) -> Any:
    if not isinstance(data, Mapping):
        raise InvalidParameterError(where, "a JSON object", type(data).__name__)
    if key not in data:
        raise InvalidParameterError(f"{where}.{key}", "a value (the field is required)", "nothing")
    return data[key]


def _float(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise InvalidParameterError(where, "a finite number", repr(value)[:60])
    return float(value)


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterError(where, "an integer", repr(value)[:60])
    return value


def _str(value: Any, where: str, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise InvalidParameterError(where, "a string", repr(value)[:60])
    return value


def _floats(value: Any, where: str) -> tuple[float, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise InvalidParameterError(where, "a list of numbers", type(value).__name__)
    return tuple(_float(x, f"{where}[{i}]") for i, x in enumerate(value))


def _matrix(value: Any, where: str) -> tuple[tuple[float, ...], ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise InvalidParameterError(where, "a list of vectors", type(value).__name__)
    rows = tuple(_floats(row, f"{where}[{i}]") for i, row in enumerate(value))
    if len({len(r) for r in rows}) > 1:
        raise InvalidParameterError(where, "vectors of one width", sorted({len(r) for r in rows}))
    return rows


def _metrics(value: Any, where: str) -> dict[str, float]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidParameterError(where, "an object metric -> number", type(value).__name__)
    return {str(k): _float(v, f"{where}.{k}") for k, v in sorted(value.items())}


# --------------------------------------------------------------------------- layer anatomy
@dataclass(frozen=True)
class AnatomyData:
    """Per-layer residual and vector norms of one style vector (the layer-anatomy figure).

    ``median_norm``: median residual norm over non-first, non-padding positions of the
    calibration prompts; ``first_token_norm``: median over prompts of the first token's norm
    (the attention sink); ``vector_norm``: ``||v_L||``. All three are indexed like ``layers``.
    The perturbation ratio at ``alpha`` is derived (:meth:`ratios`), never stored.
    """

    model: str
    style: str
    alpha: float
    layers: tuple[int, ...]
    median_norm: tuple[float, ...]
    first_token_norm: tuple[float, ...]
    vector_norm: tuple[float, ...]
    selected_layer: int | None = None
    prompt_set: str = ""

    def __post_init__(self) -> None:
        n = len(self.layers)
        if n == 0:
            raise InvalidParameterError("anatomy.layers", "at least one layer", "none")
        for name in ("median_norm", "first_token_norm", "vector_norm"):
            values = getattr(self, name)
            if len(values) != n:
                raise InvalidParameterError(f"anatomy.{name}", f"{n} values (one per layer)", len(values))
            if any(v < 0 for v in values):
                raise InvalidParameterError(f"anatomy.{name}", "non-negative norms", min(values))
        if any(v <= 0 for v in self.median_norm):
            raise InvalidParameterError("anatomy.median_norm", "positive norms", min(self.median_norm))
        if self.selected_layer is not None and self.selected_layer not in self.layers:
            raise InvalidParameterError("anatomy.selected_layer", f"one of {list(self.layers)}", self.selected_layer)

    def ratios(self) -> list[float]:
        """Perturbation ratio ``|alpha| * ||v_L|| / median_norm_L`` per layer (:func:`ops.perturbation_ratio`)."""
        # deferred: imports torch, deal, icontract only when this runs, not at module import
        from steering_core.ops import perturbation_ratio

        return [perturbation_ratio(self.alpha, v, h) for v, h in zip(self.vector_norm, self.median_norm, strict=True)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "figure": "anatomy",
            "model": self.model,
            "style": self.style,
            "alpha": self.alpha,
            "selected_layer": self.selected_layer,
            "prompt_set": self.prompt_set,
            "layers": list(self.layers),
            "median_norm": list(self.median_norm),
            "first_token_norm": list(self.first_token_norm),
            "vector_norm": list(self.vector_norm),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnatomyData:
        """Inverse of :meth:`to_dict`."""
        w = "anatomy"
        layers = _get(data, "layers", w)
        if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence):
            raise InvalidParameterError(f"{w}.layers", "a list of layer indices", type(layers).__name__)
        selected = data.get("selected_layer")
        return cls(
            model=str(_str(_get(data, "model", w), f"{w}.model")),
            style=str(_str(_get(data, "style", w), f"{w}.style")),
            alpha=_float(_get(data, "alpha", w), f"{w}.alpha"),
            layers=tuple(_int(x, f"{w}.layers[{i}]") for i, x in enumerate(layers)),
            median_norm=_floats(_get(data, "median_norm", w), f"{w}.median_norm"),
            first_token_norm=_floats(_get(data, "first_token_norm", w), f"{w}.first_token_norm"),
            vector_norm=_floats(_get(data, "vector_norm", w), f"{w}.vector_norm"),
            selected_layer=None if selected is None else _int(selected, f"{w}.selected_layer"),
            prompt_set=str(data.get("prompt_set") or ""),
        )


# --------------------------------------------------------------------------- sweeps
@dataclass(frozen=True, kw_only=True)
class CellData(CellCounts):
    """One (layer, alpha) cell of an alpha sweep (answers dropped, counts kept).

    The fields of :class:`steering_core.cell_schema.CellCounts` and
    :class:`steering_core.cell_schema.Judgement` (the one sweep-cell schema), read from recorded
    JSON. ``metrics`` holds optional per-cell means of style metrics (name -> mean over answers).
    """

    n_answers: int
    phase: str
    metrics: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.phase not in PHASES:
            raise InvalidParameterError("cell.phase", f"one of {PHASES}", repr(self.phase))
        if self.n_answers < 1:
            raise InvalidParameterError("cell.n_answers", "at least 1", self.n_answers)
        if not 0 <= self.n_degenerate <= self.n_answers or not 0 <= self.n_identical <= self.n_answers:
            raise InvalidParameterError(
                "cell.n_degenerate/n_identical",
                f"counts in [0, {self.n_answers}]",
                (self.n_degenerate, self.n_identical),
            )

    @property
    def coherence(self) -> float:
        """Coherence score ``1 - n_degenerate / n_answers`` in ``[0, 1]`` (1 = no degenerate answer)."""
        return 1.0 - self.n_degenerate / self.n_answers

    def value(self, metric: str) -> float | None:
        """``mean_words`` for ``"words"``, else the recorded mean of ``metric`` (None if absent)."""
        return self.mean_words if metric == "words" else self.metrics.get(metric)


@dataclass(frozen=True)
class SweepData:
    """An alpha sweep: baseline and cells (see :mod:`steering_core.sweep`)."""

    style: str | None
    model: str | None
    max_new_tokens: int
    n_prompts: int
    baseline_mean_words: float
    cells: tuple[CellData, ...]
    baseline_metrics: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.cells:
            raise InvalidParameterError("sweep.cells", "at least one cell", "none")

    @property
    def layers(self) -> list[int]:
        """Sorted layers present in the sweep."""
        return sorted({c.layer for c in self.cells})

    @property
    def alphas(self) -> list[float]:
        """Sorted distinct alphas present in the sweep."""
        return sorted({c.alpha for c in self.cells})

    def layer_cells(self, layer: int) -> list[CellData]:
        """Cells of ``layer`` sorted by alpha.

        Raises:
            InvalidParameterError: the sweep has no cell at ``layer``.
        """
        cells = sorted((c for c in self.cells if c.layer == layer), key=lambda c: c.alpha)
        if not cells:
            raise InvalidParameterError("layer", f"one of the swept layers {self.layers}", layer)
        return cells

    def baseline_value(self, metric: str) -> float | None:
        """Baseline mean of ``metric`` (``"words"`` always known)."""
        return self.baseline_mean_words if metric == "words" else self.baseline_metrics.get(metric)

    def thresholds(self) -> dict[int, Thresholds]:
        """Per-layer :class:`~steering_core.cell_schema.Thresholds` (:func:`layer_thresholds` of its cells)."""
        return {layer: layer_thresholds(layer, [c for c in self.cells if c.layer == layer]) for layer in self.layers}

    def to_dict(self) -> dict[str, Any]:
        """Compact JSON form (no answers); :meth:`from_dict` reads it back."""
        return {
            "style": self.style,
            "model": self.model,
            "max_new_tokens": self.max_new_tokens,
            "n_prompts": self.n_prompts,
            "baseline": {"mean_words": self.baseline_mean_words, "metrics": dict(self.baseline_metrics)},
            "cells": [
                {
                    "layer": c.layer,
                    "alpha": c.alpha,
                    "ratio": c.ratio,
                    "mean_words": c.mean_words,
                    "n_degenerate": c.n_degenerate,
                    "n_identical": c.n_identical,
                    "n_answers": c.n_answers,
                    "phase": c.phase,
                    "metrics": dict(c.metrics),
                }
                for c in self.cells
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SweepData:
        """Read ``SweepResult.to_dict()`` (answers optional) or the compact :meth:`to_dict` form."""
        w = "sweep"
        prompts = data.get("prompts")
        n_prompts = data.get("n_prompts")
        if n_prompts is None:
            n_prompts = len(prompts) if isinstance(prompts, list) else 0
        baseline = _get(data, "baseline", w)
        if not isinstance(baseline, Mapping):
            raise InvalidParameterError(f"{w}.baseline", "an object with mean_words", type(baseline).__name__)
        raw_cells = _get(data, "cells", w)
        if not isinstance(raw_cells, list):
            raise InvalidParameterError(f"{w}.cells", "a list of cells", type(raw_cells).__name__)
        cells: list[CellData] = []
        for i, raw in enumerate(raw_cells):
            cw = f"{w}.cells[{i}]"
            answers = raw.get("answers") if isinstance(raw, Mapping) else None
            n_answers = raw.get("n_answers") if isinstance(raw, Mapping) else None
            if n_answers is None:
                n_answers = len(answers) if isinstance(answers, list) and answers else n_prompts
            cells.append(
                CellData(
                    layer=_int(_get(raw, "layer", cw), f"{cw}.layer"),
                    alpha=_float(_get(raw, "alpha", cw), f"{cw}.alpha"),
                    ratio=_float(_get(raw, "ratio", cw), f"{cw}.ratio"),
                    mean_words=_float(_get(raw, "mean_words", cw), f"{cw}.mean_words"),
                    n_degenerate=_int(_get(raw, "n_degenerate", cw), f"{cw}.n_degenerate"),
                    n_identical=_int(_get(raw, "n_identical", cw), f"{cw}.n_identical"),
                    n_answers=_int(n_answers, f"{cw}.n_answers"),
                    phase=str(_str(_get(raw, "phase", cw), f"{cw}.phase")),
                    metrics=_metrics(raw.get("metrics"), f"{cw}.metrics"),
                )
            )
        return cls(
            style=_str(data.get("style"), f"{w}.style", optional=True),
            model=_str(data.get("model"), f"{w}.model", optional=True),
            max_new_tokens=_int(data.get("max_new_tokens", 0), f"{w}.max_new_tokens"),
            n_prompts=_int(n_prompts, f"{w}.n_prompts"),
            baseline_mean_words=_float(_get(baseline, "mean_words", f"{w}.baseline"), f"{w}.baseline.mean_words"),
            cells=tuple(cells),
            baseline_metrics=_metrics(baseline.get("metrics"), f"{w}.baseline.metrics"),
        )


@dataclass(frozen=True)
class PhaseData:
    """The alpha phase diagram's input: a sweep and the layer to draw."""

    sweep: SweepData
    layer: int

    def __post_init__(self) -> None:
        self.sweep.layer_cells(self.layer)  # raises when the layer was not swept

    def to_dict(self) -> dict[str, Any]:
        """``{"figure": "phase", "layer": L, "sweep": {...}}``."""
        return {"figure": "phase", "layer": self.layer, "sweep": self.sweep.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], layer: int | None = None) -> PhaseData:
        """Read :meth:`to_dict`, or a bare sweep dict (``layer``: argument, else ``data["layer"]``, else
        the middle swept layer)."""
        sweep = SweepData.from_dict(data.get("sweep", data))
        chosen = layer if layer is not None else data.get("layer")
        if chosen is None:
            chosen = sweep.layers[len(sweep.layers) // 2]
        return cls(sweep, _int(chosen, "phase.layer"))


@dataclass(frozen=True)
class HeatmapData:
    """The layer x alpha heat map's input: a sweep and the metric to colour by."""

    sweep: SweepData
    metric: str = "words"

    def __post_init__(self) -> None:
        if self.sweep.baseline_value(self.metric) is None or any(
            c.value(self.metric) is None for c in self.sweep.cells
        ):
            raise InvalidParameterError(
                "heatmap.metric", "'words' or a metric recorded in every cell and the baseline", repr(self.metric)
            )

    def to_dict(self) -> dict[str, Any]:
        """``{"figure": "heatmap", "metric": M, "sweep": {...}}``."""
        return {"figure": "heatmap", "metric": self.metric, "sweep": self.sweep.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], metric: str | None = None) -> HeatmapData:
        """Read :meth:`to_dict` or a bare sweep dict (metric: argument, else ``data["metric"]``, else words)."""
        sweep = SweepData.from_dict(data.get("sweep", data))
        return cls(sweep, metric or str(data.get("metric") or "words"))


# --------------------------------------------------------------------------- style basins
@dataclass(frozen=True)
class BasinsData:
    """Activations of positive- and negative-instruction prompts at one layer, and the vector there.

    ``positive`` / ``negative``: ``(n, d)`` activations (read at the last token) of prompts that
    combine each pole's instruction with a neutral question; ``vector``: the style vector at
    ``layer`` (``d`` entries); ``positive_anchor`` / ``negative_anchor``: the activations of the
    bare contrast instructions the vector was extracted from (optional).
    """

    model: str
    style: str
    layer: int
    positive_label: str
    negative_label: str
    positive: tuple[tuple[float, ...], ...]
    negative: tuple[tuple[float, ...], ...]
    vector: tuple[float, ...]
    positive_anchor: tuple[float, ...] | None = None
    negative_anchor: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if len(self.positive) < 1 or len(self.negative) < 1 or len(self.positive) + len(self.negative) < 3:
            raise InvalidParameterError("basins", "at least 3 activations, with both poles present", "fewer")
        width = len(self.vector)
        for name in ("positive", "negative"):
            rows: tuple[tuple[float, ...], ...] = getattr(self, name)
            if any(len(r) != width for r in rows):
                raise InvalidParameterError(f"basins.{name}", f"vectors of width {width} (the vector's)", "another")
        for name in ("positive_anchor", "negative_anchor"):
            anchor = getattr(self, name)
            if anchor is not None and len(anchor) != width:
                raise InvalidParameterError(f"basins.{name}", f"width {width}", len(anchor))
        if width < 2:
            raise InvalidParameterError("basins.vector", "width >= 2", width)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (vectors as lists)."""
        return {
            "figure": "basins",
            "model": self.model,
            "style": self.style,
            "layer": self.layer,
            "positive_label": self.positive_label,
            "negative_label": self.negative_label,
            "positive": [list(r) for r in self.positive],
            "negative": [list(r) for r in self.negative],
            "vector": list(self.vector),
            "positive_anchor": None if self.positive_anchor is None else list(self.positive_anchor),
            "negative_anchor": None if self.negative_anchor is None else list(self.negative_anchor),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BasinsData:
        """Inverse of :meth:`to_dict`."""
        w = "basins"
        pa, na = data.get("positive_anchor"), data.get("negative_anchor")
        return cls(
            model=str(_str(_get(data, "model", w), f"{w}.model")),
            style=str(_str(_get(data, "style", w), f"{w}.style")),
            layer=_int(_get(data, "layer", w), f"{w}.layer"),
            positive_label=str(_str(_get(data, "positive_label", w), f"{w}.positive_label")),
            negative_label=str(_str(_get(data, "negative_label", w), f"{w}.negative_label")),
            positive=_matrix(_get(data, "positive", w), f"{w}.positive"),
            negative=_matrix(_get(data, "negative", w), f"{w}.negative"),
            vector=_floats(_get(data, "vector", w), f"{w}.vector"),
            positive_anchor=None if pa is None else _floats(pa, f"{w}.positive_anchor"),
            negative_anchor=None if na is None else _floats(na, f"{w}.negative_anchor"),
        )


# --------------------------------------------------------------------------- lens radar
@dataclass(frozen=True)
class LensScore:
    """One lens: pooled baseline and steered scores (fractions of words in ``[0, 1]``)."""

    name: str
    baseline: float
    steered: float


@dataclass(frozen=True)
class LensData:
    """Lens scores, baseline against steered, for one vector, layer and alpha."""

    style: str
    layer: int
    alpha: float
    ratio: float
    lenses: tuple[LensScore, ...]
    prompt_set: str = ""
    lens_version: str = ""
    max_new_tokens: int = 0

    def __post_init__(self) -> None:
        if len(self.lenses) < 3:
            raise InvalidParameterError("lens.lenses", "at least 3 lenses (a radar needs 3 axes)", len(self.lenses))
        for s in self.lenses:
            for value in (s.baseline, s.steered):
                if not 0.0 <= value <= 1.0:
                    raise InvalidParameterError(f"lens.{s.name}", "a fraction in [0, 1]", value)

    def to_dict(self) -> dict[str, Any]:
        """The lens-report shape (``lenses`` rows carry ``change``; no answers)."""
        return {
            **lens_run_fields(self),
            "lens_version": self.lens_version,
            "max_new_tokens": self.max_new_tokens,
            "lenses": [
                {"name": s.name, "baseline": s.baseline, "steered": s.steered, "change": s.steered - s.baseline}
                for s in self.lenses
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LensData:
        """Read ``LensReport.to_dict()`` (extra keys ignored) or :meth:`to_dict`."""
        w = "lens"
        rows = _get(data, "lenses", w)
        if not isinstance(rows, list):
            raise InvalidParameterError(f"{w}.lenses", "a list of lens rows", type(rows).__name__)
        lenses = tuple(
            LensScore(
                str(_str(_get(r, "name", f"{w}.lenses[{i}]"), f"{w}.lenses[{i}].name")),
                _float(_get(r, "baseline", f"{w}.lenses[{i}]"), f"{w}.lenses[{i}].baseline"),
                _float(_get(r, "steered", f"{w}.lenses[{i}]"), f"{w}.lenses[{i}].steered"),
            )
            for i, r in enumerate(rows)
        )
        return cls(
            style=str(_str(_get(data, "style", w), f"{w}.style")),
            layer=_int(_get(data, "layer", w), f"{w}.layer"),
            alpha=_float(_get(data, "alpha", w), f"{w}.alpha"),
            ratio=_float(_get(data, "ratio", w), f"{w}.ratio"),
            lenses=lenses,
            prompt_set=str(data.get("prompt_set") or ""),
            lens_version=str(data.get("lens_version") or ""),
            max_new_tokens=_int(data.get("max_new_tokens", 0), f"{w}.max_new_tokens"),
        )


# --------------------------------------------------------------------------- conjecture board
@dataclass(frozen=True)
class BoardRow:
    """One conjecture of the registry (``steering_core.cprr.board_rows()``)."""

    id: str
    title: str
    group: str
    status: str
    n_evidence: int
    last_verdict: str | None = None
    last_date: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready row (the keys of ``board_rows()``)."""
        return {
            "id": self.id,
            "title": self.title,
            "group": self.group,
            "status": self.status,
            "n_evidence": self.n_evidence,
            "last_verdict": self.last_verdict,
            "last_date": self.last_date,
        }


@dataclass(frozen=True)
class BoardData:
    """The conjecture board: every conjecture with its status and evidence count."""

    rows: tuple[BoardRow, ...]

    def __post_init__(self) -> None:
        for row in self.rows:
            if row.n_evidence < 0:
                raise InvalidParameterError(f"board.{row.id}.n_evidence", ">= 0", row.n_evidence)

    @property
    def groups(self) -> list[str]:
        """Groups in order of first appearance."""
        return list(dict.fromkeys(r.group for r in self.rows))

    def to_dict(self) -> dict[str, Any]:
        """``{"figure": "board", "rows": [...]}``."""
        return {"figure": "board", "rows": [r.to_dict() for r in self.rows]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> BoardData:
        """Read :meth:`to_dict` or a bare list of rows."""
        rows = data.get("rows") if isinstance(data, Mapping) else data
        if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence):
            raise InvalidParameterError("board.rows", "a list of conjecture rows", type(rows).__name__)
        out: list[BoardRow] = []
        for i, r in enumerate(rows):
            w = f"board.rows[{i}]"
            verdict, date = r.get("last_verdict") if isinstance(r, Mapping) else None, None
            if isinstance(r, Mapping):
                date = r.get("last_date")
            out.append(
                BoardRow(
                    id=str(_str(_get(r, "id", w), f"{w}.id")),
                    title=str(_str(_get(r, "title", w), f"{w}.title")),
                    group=str(_str(_get(r, "group", w), f"{w}.group")),
                    status=str(_str(_get(r, "status", w), f"{w}.status")),
                    n_evidence=_int(_get(r, "n_evidence", w), f"{w}.n_evidence"),
                    last_verdict=None if verdict is None else str(verdict),
                    last_date=None if date is None else str(date),
                )
            )
        return cls(tuple(out))
