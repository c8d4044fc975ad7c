"""Calibration: pick each style's (layer, alpha) on held-out questions, and record why.

For every style, every layer of a grid and every alpha (ascending) of a grid, the calibration
questions are answered steered, and each cell records the contract's primary criterion's
directed point effect (see :mod:`steering_core.behaviour.contract`), the coherence guard and
the perturbation ratio ``|alpha| * ||v|| / median residual norm``. Within a layer the alphas stop
at the first cell with a degenerate answer (collapse).

**Selection rule** (fixed before any run): among cells whose guard passes, the one with the
smallest ratio whose effect reaches ``SELECT_MARGIN`` x the criterion's threshold; when no cell
does, the passing cell with the largest effect relative to the threshold.

The calibration questions are disjoint from the evaluation questions (by default the last 4 of
``neutral-questions-v1`` calibrate, the first 8 evaluate), so the contract verdict is not
measured on the data that chose its alpha.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contracts.style import CALIBRATION_SCHEMA
from steering_core.behaviour.contract import StyleContract, measure_criterion
from steering_core.behaviour.session import Session
from steering_core.behaviour.topic import guard
from steering_core.certify.fingerprint import config_fingerprint, weights_fingerprint
from steering_core.defaults import CALIBRATION_ALPHAS, CALIBRATION_LAYERS
from steering_core.ops import perturbation_ratio
from steering_core.prompt_sets import DEFAULT_SET, prompt_set, prompt_set_digest

SELECT_MARGIN = 1.5
DEFAULT_LAYERS = CALIBRATION_LAYERS
DEFAULT_ALPHAS = CALIBRATION_ALPHAS
CALIBRATION_SLICE = slice(8, 12)
EVALUATION_SLICE = slice(0, 8)


@dataclass(frozen=True)
class Cell:
    """One calibration cell."""

    layer: int
    alpha: float
    ratio: float
    effect: float
    normalized_effect: float
    guard_passed: bool
    n_degenerate: int
    on_topic_share: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return dict(self.__dict__)


def select(cells: Sequence[Cell]) -> Cell | None:
    """Apply the selection rule (module docstring); None when no cell passes the guard."""
    ok = [c for c in cells if c.guard_passed]
    reaching = [c for c in ok if c.normalized_effect >= SELECT_MARGIN]
    if reaching:
        return min(reaching, key=lambda c: (c.ratio, c.layer))
    return max(ok, key=lambda c: (c.normalized_effect, -c.ratio)) if ok else None


def calibrate_style(
    session: Session,
    contract: StyleContract,
    questions: Sequence[str],
    baseline: Sequence[str],
    layers: Sequence[int],
    alphas: Sequence[float],
) -> dict[str, Any]:
    """Run the grid for one style and return its record (cells and the chosen one)."""
    crit = contract.primary
    cells: list[Cell] = []
    for layer in layers:
        vector = session.vector(contract.style, layer)
        median = session.median_norm(layer, prompt_set(DEFAULT_SET))
        for alpha in sorted(alphas, key=abs):
            answers = session.answers(questions, vector, alpha)
            result = measure_criterion(crit, baseline, answers)
            g = guard(questions, answers, baseline)
            cell = Cell(
                layer,
                alpha,
                perturbation_ratio(alpha, vector.norm(layer), median),
                result.interval.estimate,
                result.interval.estimate / crit.min_effect,
                g.passed,
                g.n_degenerate,
                g.on_topic_share,
            )
            cells.append(cell)
            session.say(
                f"{contract.style} L{layer} alpha {alpha:g}: ratio {cell.ratio:.3f} effect {cell.effect:+.3f} "
                f"guard {'pass' if g.passed else 'FAIL'} ({g.n_degenerate} degenerate)"
            )
            if g.n_degenerate:
                break
    chosen = select(cells)
    return {
        "criterion": crit.describe(),
        "cells": [c.to_dict() for c in cells],
        "chosen": chosen.to_dict() if chosen else None,
    }


def calibrate(
    session: Session,
    contracts: dict[str, StyleContract],
    layers: Sequence[int] = DEFAULT_LAYERS,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    set_id: str = DEFAULT_SET,
) -> dict[str, Any]:
    """Calibrate every style in ``contracts`` (their layer/alpha are ignored); the record to save."""
    questions = prompt_set(set_id)[CALIBRATION_SLICE]
    if session.execution is not None and session.execution.parallel:
        # Several workers: submit the whole grid at once. Cells past a layer's first collapse
        # are answered too (the stop rule below still ignores them), which costs generations
        # but not time; a single worker keeps the lazy, stop-early order.
        session.prefetch(
            [(questions, None, 0.0)]
            + [
                (questions, session.vector(contract.style, layer), alpha)
                for contract in contracts.values()
                for layer in layers
                for alpha in alphas
            ]
        )
    baseline = session.answers(questions)
    styles = {
        name: calibrate_style(session, contract, questions, baseline, layers, alphas)
        for name, contract in contracts.items()
    }
    return {
        "schema": CALIBRATION_SCHEMA,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "model": session.lm.name,
        "model_fingerprint": {
            "config_sha256": config_fingerprint(session.lm.model)["sha256"],
            "weights_sha256": weights_fingerprint(session.lm.model)["sha256"],
        },
        "prompt_set": set_id,
        "prompt_set_sha256": prompt_set_digest(set_id),
        "calibration_questions": f"{CALIBRATION_SLICE.start}:{CALIBRATION_SLICE.stop}",
        "evaluation_questions": f"{EVALUATION_SLICE.start}:{EVALUATION_SLICE.stop}",
        "max_new_tokens": session.max_new_tokens,
        "layers": list(layers),
        "alphas": list(alphas),
        "selection_rule": (
            f"guard passes; smallest ratio with effect >= {SELECT_MARGIN} x threshold, else largest effect/threshold"
        ),
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "styles": styles,
    }
