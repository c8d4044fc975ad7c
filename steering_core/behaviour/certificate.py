"""The directed style contracts of one vector, as the ``contracts`` block of its certificate.

:func:`contracts_block` runs the directed contracts of :mod:`steering_core.behaviour.run` (both
directions by default, on the held-out questions, greedy) with a *given* vector instead of the
recipe's, at the recorded perturbation ratio of each direction, and returns what the
certificate stores (:mod:`steering_core.certify.schema`, ``body.contracts``): per direction the
effect, its one-sided 95% lower bound and the threshold, fluency, the guard, the verdict and
specificity, **reliability** (anti-steerable fraction, split-half agreement) and the metric's
validation AUC, with the question set's version and sha256. ``steer vector certify --contracts``
passes it to :func:`steering_core.certify.pipeline.certify_vector`, so the digest (and the
signature) cover it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from steering_core.behaviour.contract import DIRECTIONS, FLUENCY_MAX_RATIO
from steering_core.behaviour.metrics import METRICS_VERSION
from steering_core.behaviour.run import STYLES, RunConfig, StyleOutcome, run_behaviour
from steering_core.behaviour.session import Session
from steering_core.errors import InvalidParameterError
from steering_core.models import LoadedModel
from steering_core.vector import SteeringVector

PROTOCOL = "steering-spec directed style contracts (steering_core.behaviour.run)"


def _number(value: Any) -> float | None:
    """A finite float, or None (JSON has no NaN)."""
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def _direction(outcome: StyleOutcome) -> dict[str, Any]:
    calibrated = outcome.calibrated
    (criterion,) = calibrated.criteria
    anti = outcome.reliability.get("anti_steerable", {})
    split = outcome.reliability.get("split_half", {})
    fluency = calibrated.fluency
    return {
        "direction": outcome.direction,
        "questions": {
            "version": str(outcome.questions["version"]),
            "sha256": str(outcome.questions["sha256"]),
            "n": int(outcome.questions["n"]),
        },
        "ratio": float(outcome.contract.ratio),
        "layer_alphas": {str(k): float(v) for k, v in outcome.recipe["layer_alphas"].items()},
        "rule": criterion.criterion.describe(),
        "threshold": float(criterion.criterion.min_effect),
        "baseline_mean": float(criterion.baseline_mean),
        "steered_mean": float(criterion.steered_mean),
        "effect": _number(criterion.interval.estimate),
        "ci_low": _number(criterion.interval.low),
        "perplexity_ratio": _number(fluency.ratio) if fluency is not None else None,
        "guard_passed": bool(calibrated.guard.passed),
        "passed": bool(calibrated.passed),
        "specific": bool(outcome.specific),
        "reliability": {
            "anti_steerable_fraction": _number(anti.get("anti_steerable_fraction")),
            "n_wrong": int(anti.get("n_wrong", 0)),
            "n": int(anti.get("n", 0)),
            "split_half_sign_agreement": _number(split.get("sign_agreement")),
        },
        "metric_auc_held_out": _number(outcome.validation.get("auc_held_out")),
    }


def contracts_block(
    lm: LoadedModel,
    vector: SteeringVector,
    style: str | None = None,
    *,
    directions: tuple[str, ...] = DIRECTIONS,
    max_new_tokens: int = 64,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The ``contracts`` block of ``vector`` (see the module docstring).

    ``style``: the seed style whose contracts judge the vector (default: ``vector.style``).
    Pre: ``vector`` belongs to ``lm``'s model. Cost: three batched greedy generations of the
    held-out questions per direction (baseline, steered, random control) plus fluency.

    Raises:
        InvalidParameterError: ``style`` is not one of the four seed styles, or ``max_new_tokens`` < 1.
    """
    chosen = style if style is not None else vector.style
    if chosen not in STYLES:
        raise InvalidParameterError("style", f"one of the seed styles {list(STYLES)}", repr(chosen))
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise InvalidParameterError("max_new_tokens", "an int >= 1", repr(max_new_tokens))
    config = RunConfig(styles=[chosen], directions=directions, max_new_tokens=max_new_tokens, parity=False, lens=False)
    session = Session(lm, max_new_tokens=max_new_tokens, progress=progress)
    result = run_behaviour(config, session=session, vectors={chosen: vector})
    return {
        "protocol": PROTOCOL,
        "style": chosen,
        "metrics_version": METRICS_VERSION,
        "max_new_tokens": max_new_tokens,
        "fluency_max_ratio": FLUENCY_MAX_RATIO,
        "ratio_source": str(result.outcomes[0].recipe.get("ratio_from", "")),
        "directions": [_direction(o) for o in result.outcomes],
    }
