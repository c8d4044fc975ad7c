"""The measurement protocol behind a certificate: calibration norms, an α sweep, thresholds.

Protocol (:class:`Protocol`, recorded verbatim in the certificate):

* Calibration: residual-norm statistics (:func:`steering_core.diagnose.residual_norms`) at every
  layer of the vector over the first ``calibration_prompts`` prompts of ``prompt_set``,
  chat-templated; the headline statistic is the median norm over non-first, non-padding
  positions.
* Behaviour: the first ``behaviour_prompts`` prompts are answered greedily with at most
  ``max_new_tokens`` new tokens, unsteered (baseline) and steered with the *whole vector* (all
  its layers at once, every position) at each α in ``alphas``. Each cell is classified by
  :func:`steering_core.sweep.classify` (dead / effective / collapse) and its mean word count is
  the effect metric.
* Thresholds over cells sorted by α: ``dead_max`` (largest α up to which every cell is dead),
  ``effective_min``/``effective_max`` and ``collapse_min`` (smallest collapsing α).
* Recommendation: a requested α must be measured *effective* and below ``collapse_min``;
  without a request the lower median of the effective α below ``collapse_min`` is chosen.
  ``safe_alpha_max`` is the largest measured α such that it and every smaller measured α
  produced no degenerate answer at all (stricter than "not collapsed": a cell with one
  degenerate answer out of four is still classified effective, but it is not safe). The
  recommended α must not exceed ``safe_alpha_max``.

Cost: one forward pass for calibration plus ``len(alphas) + 1`` generations of the behaviour
prompts; with the defaults (4 prompts x 48 tokens, 6 alphas: 7 generations) about 5 minutes of
CPU time for a 0.5B model on 2 cores. ``Protocol`` fields trade cost for resolution.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from steering_core.certify.errors import CertificationError
from steering_core.defaults import (
    CERTIFY_ALPHAS,
    CERTIFY_BATCH_SIZE,
    CERTIFY_BEHAVIOUR_PROMPTS,
    CERTIFY_CALIBRATION_PROMPTS,
    CERTIFY_MAX_NEW_TOKENS,
)
from steering_core.diagnose import residual_norms
from steering_core.execute.cell import VectorPayload
from steering_core.execute.grids import answer_cells, gather
from steering_core.generate import generate
from steering_core.models import LoadedModel
from steering_core.ops import perturbation_ratio
from steering_core.prompt_sets import DEFAULT_SET, prompt_set, prompt_set_digest, prompts_digest
from steering_core.steer import steer
from steering_core.sweep import COLLAPSE_SHARE, judge, layer_thresholds
from steering_core.text import word_count
from steering_core.vector import SteeringVector

RESIDUAL_STATISTIC = (
    "L2 norm of the decoder layer's output; median over non-first, non-padding positions of the chat-templated "
    "calibration prompts (steering_core.diagnose.residual_norms)"
)
RECOMMENDATION_RULE = (
    "requested alpha if measured effective and below collapse_min; else the lower median of the effective alphas "
    "below collapse_min and within the safe range. safe_alpha_max = largest measured alpha such that it and every "
    "smaller measured alpha gave no degenerate answer"
)
EFFECT_METRIC = "mean words per answer (steering_core.text.word_count)"


@dataclass(frozen=True)
class Protocol:
    """What ``certify`` measures and on which prompts (see the module docstring)."""

    prompt_set: str = DEFAULT_SET
    calibration_prompts: int = CERTIFY_CALIBRATION_PROMPTS
    behaviour_prompts: int = CERTIFY_BEHAVIOUR_PROMPTS
    max_new_tokens: int = CERTIFY_MAX_NEW_TOKENS
    alphas: tuple[float, ...] = CERTIFY_ALPHAS
    batch_size: int = CERTIFY_BATCH_SIZE

    def __post_init__(self) -> None:
        for name in ("calibration_prompts", "behaviour_prompts", "max_new_tokens", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise CertificationError("protocol", f"{name} must be an int >= 1, got {value!r}")
        if not self.alphas or any(
            not (isinstance(a, (int, float)) and a > 0 and a < float("inf")) for a in self.alphas
        ):
            raise CertificationError("protocol", f"alphas must be finite positive numbers, got {self.alphas!r}")
        object.__setattr__(self, "alphas", tuple(sorted({float(a) for a in self.alphas})))

    def with_alpha(self, alpha: float | None) -> Protocol:
        """This protocol with ``alpha`` added to the grid (sorted, de-duplicated)."""
        from dataclasses import replace

        return replace(self, alphas=(*self.alphas, float(alpha)) if alpha is not None else self.alphas)

    def calibration_set(self) -> list[str]:
        """The calibration prompts (the first ``calibration_prompts`` of the set)."""
        return _take(self.prompt_set, self.calibration_prompts)

    def behaviour_set(self) -> list[str]:
        """The behaviour prompts (the first ``behaviour_prompts`` of the set)."""
        return _take(self.prompt_set, self.behaviour_prompts)


def _take(set_id: str, n: int) -> list[str]:
    prompts = prompt_set(set_id)
    if n > len(prompts):
        raise CertificationError("protocol", f"prompt set {set_id!r} has {len(prompts)} prompts, {n} requested")
    return prompts[:n]


def calibrate(model: Any, tokenizer: Any, layers: Sequence[int], protocol: Protocol) -> dict[str, Any]:
    """The certificate's ``calibration`` block: residual-norm statistics per layer."""
    prompts = protocol.calibration_set()
    lm = LoadedModel(model=model, tokenizer=tokenizer)
    stats = residual_norms(lm, prompts, list(layers), chat=True, batch_size=protocol.batch_size)
    return {
        "prompt_set": protocol.prompt_set,
        "prompt_set_sha256": prompt_set_digest(protocol.prompt_set),
        "n_prompts": len(prompts),
        "prompts_sha256": prompts_digest(prompts),
        "chat_template": True,
        "statistic": RESIDUAL_STATISTIC,
        "layers": {
            str(s.layer): {
                "median_norm": s.median_norm,
                "mean_norm": s.mean_norm,
                "first_token_norm": s.first_token_norm,
                "spread": s.spread,
                "n_positions": s.n_positions,
            }
            for s in stats
        },
    }


def ratios(vector: SteeringVector, alpha: float, calibration: dict[str, Any]) -> dict[str, float]:
    """Per-layer perturbation ratio ``|alpha| * ||v_L|| / median_norm_L`` (ops.perturbation_ratio)."""
    norms = vector.norms()
    return {
        str(layer): perturbation_ratio(alpha, norms[layer], float(calibration["layers"][str(layer)]["median_norm"]))
        for layer in vector.layer_indices
    }


@dataclass(frozen=True)
class Cell:
    """One α of the behaviour sweep: the fields of :class:`steering_core.sweep.Judgement` the certificate records."""

    alpha: float
    mean_words: float
    n_degenerate: int
    n_identical: int
    phase: str


def thresholds(cells: Sequence[Cell]) -> dict[str, float | None]:
    """Phase boundaries over the cells (α > 0): :func:`steering_core.sweep.layer_thresholds` without the layer."""
    bounds = layer_thresholds(0, cells)
    return {
        "dead_max": bounds.dead_max,
        "effective_min": bounds.effective_min,
        "effective_max": bounds.effective_max,
        "collapse_min": bounds.collapse_min,
    }


def sweep(
    model: Any,
    tokenizer: Any,
    vector: SteeringVector,
    protocol: Protocol,
    on_cell: Callable[[Cell], None] | None = None,
    execution: Any = None,
    loaded: Any = None,
) -> tuple[list[str], list[Cell]]:
    """Baseline answers and one :class:`Cell` per α (whole vector, every position).

    With ``execution`` (a :class:`steering_core.execute.cli.Execution`) and ``loaded`` (the
    model it names), the baseline and every α run as cells of :mod:`steering_core.execute`
    (prompt chunks of ``protocol.batch_size``: the same batches as in-process), on the local
    or the Ray executor, resumable from its record file; the cells are identical either way.
    """
    prompts = protocol.behaviour_set()
    alphas = sorted(protocol.alphas)
    if execution is not None:
        payload = VectorPayload.from_vector(vector)
        plans = [answer_cells(loaded, prompts, protocol.max_new_tokens, batch_size=protocol.batch_size)] + [
            answer_cells(loaded, prompts, protocol.max_new_tokens, payload, (), a, "all", protocol.batch_size)
            for a in alphas
        ]
        records = execution.run([cell for plan in plans for cell in plan], desc="certify")
        by_digest = {r["cell_sha256"]: r for r in records}
        answered = [gather([by_digest[c.digest()] for c in plan]) for plan in plans]
    else:
        lm = LoadedModel(model=model, tokenizer=tokenizer)
        answered = [generate(lm, prompts, protocol.max_new_tokens, batch_size=protocol.batch_size)]
        for alpha in alphas:
            with steer(lm, vector, alpha, layers=vector.layer_indices):
                answered.append(generate(lm, prompts, protocol.max_new_tokens, batch_size=protocol.batch_size))
    baseline = answered[0]
    cells: list[Cell] = []
    for alpha, answers in zip(alphas, answered[1:], strict=True):
        judged = judge(baseline, answers)
        cell = Cell(alpha, judged.mean_words, judged.n_degenerate, judged.n_identical, judged.phase)
        cells.append(cell)
        if on_cell is not None:
            on_cell(cell)
    return baseline, cells


def recommend(cells: Sequence[Cell], requested: float | None) -> tuple[float, float]:
    """``(recommended_alpha, safe_alpha_max)`` from the cells (see the module docstring).

    Raises:
        CertificationError: the requested α is not effective, or no α below the collapse
            threshold was effective.
    """
    bounds = thresholds(cells)
    collapse = bounds["collapse_min"]
    below = [c for c in sorted(cells, key=lambda c: c.alpha) if collapse is None or c.alpha < collapse]
    clean: list[float] = []
    for cell in below:  # the prefix of measured alphas with no degenerate answer at all
        if cell.n_degenerate:
            break
        clean.append(cell.alpha)
    effective = [c.alpha for c in below if c.phase == "effective" and c.alpha in clean]
    if requested is not None:
        match = [c for c in cells if c.alpha == requested]
        if not match:
            raise CertificationError("measurement", f"alpha {requested} was not measured")
        if requested not in effective:
            reason = f"measured phase {match[0].phase!r}"
            if match[0].phase == "effective":
                reason = "degenerate answers at or below it (outside the safe range)"
            raise CertificationError(
                "measurement",
                f"alpha {requested} is not certifiable: {reason}"
                + (f" (collapse from alpha {collapse})" if collapse is not None else ""),
            )
        chosen = requested
    else:
        if not effective:
            raise CertificationError(
                "measurement",
                "no measured alpha was effective below the collapse threshold without degenerate answers: "
                + ", ".join(f"{c.alpha:g}={c.phase}" for c in sorted(cells, key=lambda c: c.alpha)),
            )
        chosen = effective[(len(effective) - 1) // 2]
    safe = max(clean)  # non-empty: chosen is in it
    return chosen, safe


def measurement_block(
    protocol: Protocol,
    baseline: Sequence[str],
    cells: Sequence[Cell],
    vector: SteeringVector,
    calibration: dict[str, Any],
) -> dict[str, Any]:
    """The certificate's ``measurement`` block."""
    prompts = protocol.behaviour_set()
    return {
        "protocol": {
            "prompt_set": protocol.prompt_set,
            "n_prompts": len(prompts),
            "prompts_sha256": prompts_digest(prompts),
            "max_new_tokens": protocol.max_new_tokens,
            "alphas": sorted(float(a) for a in protocol.alphas),
            "decoding": "greedy",
            "positions": "all",
            "layers": "all layers of the vector at once",
            "batch_size": protocol.batch_size,
            "classifier": "steering_core.sweep.classify",
            "collapse_share": COLLAPSE_SHARE,
            "effect_metric": EFFECT_METRIC,
        },
        "baseline_mean_words": sum(word_count(a) for a in baseline) / len(baseline),
        "cells": [
            {**{k: v for k, v in asdict(c).items()}, "ratio": ratios(vector, c.alpha, calibration)} for c in cells
        ],
        "thresholds": thresholds(cells),
    }
