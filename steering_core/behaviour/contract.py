"""Behavioural style contracts: what a style vector must do to answers, and the verdict.

A :class:`StyleContract` names a style, the (layer, alpha) found by calibration, and one or more
:class:`Criterion` (a metric from :mod:`steering_core.behaviour.metrics`, the direction it must
move, and the minimum effect). :func:`evaluate` compares steered answers with the answers of
the same model *unhooked*, prompt by prompt:

* each criterion's effect is ``direction * effect(baseline, steered)`` (``difference`` of means
  in metric units, or ``relative`` change of means), so a positive number is movement in the
  required direction;
* its confidence interval is a paired percentile bootstrap over prompts (90% two-sided, so the
  low end is a one-sided 95% lower bound); the criterion passes only when **that lower bound**
  is at least ``min_effect`` (a point estimate that clears the bar is not enough);
* the coherence guard (:mod:`steering_core.behaviour.topic`) must pass on the steered answers
  (degeneracy the unhooked answer to the same question already has is not held against them);
* the seed's five checks (words per sentence down, type-token ratio >= 0.95x baseline, hedging
  not up, exclamations not up, total words down) are computed on pooled means and must hold when
  the contract lists them (``seed_checks=True``).

The contract passes when every criterion passes, the guard passes and every required check holds.

**Directed contracts** (issue 18, :func:`directed_contract`): each style axis is tested in both
directions with its validated metric (:data:`steering_core.behaviour.metrics.STYLE_METRICS`):
``positive`` (+alpha) must move the oriented score up, ``negative`` (-alpha) down, each on its
own question set where the baseline has room to move. The threshold and effect kind are the
style's pre-registered ones (:mod:`steering_core.behaviour.criteria`), never weaker. When a fluency measurement
is attached (:class:`Fluency`), the contract also requires the steered answers' perplexity
ratio under the unsteered model to be at most :data:`FLUENCY_MAX_RATIO`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from steering_core.behaviour.criteria import CRITERIA, POLES, SEED_CHECKS, Criterion
from steering_core.behaviour.metrics import metric, style_metric
from steering_core.behaviour.stats import Interval, mean_difference, paired_bootstrap, relative_change, sign_test
from steering_core.behaviour.topic import GuardResult, guard
from steering_core.errors import InvalidParameterError

DIRECTIONS: tuple[str, ...] = ("positive", "negative")
FLUENCY_MAX_RATIO = 2.0
"""Largest accepted perplexity ratio (steered / baseline answers, geometric means, unsteered model)."""
N_RESAMPLES = 4000
CI_LEVEL = 0.90
BOOTSTRAP_SEED = 20261125


@dataclass(frozen=True)
class StyleContract:
    """A style's behavioural contract at a calibrated (layer, alpha)."""

    style: str
    criteria: tuple[Criterion, ...]
    layer: int
    alpha: float
    ratio: float
    seed_checks: bool = False
    description: str = ""

    @property
    def primary(self) -> Criterion:
        """The first criterion (used for calibration and prompt-vs-injection parity)."""
        return self.criteria[0]


@dataclass(frozen=True)
class CriterionResult:
    """The measured effect of one criterion."""

    criterion: Criterion
    baseline_mean: float
    steered_mean: float
    interval: Interval  # of the directed effect
    n_moved: int
    n_changed: int
    sign_p: float

    @property
    def passed(self) -> bool:
        """The one-sided 95% lower bound clears ``min_effect``."""
        return bool(np.isfinite(self.interval.low)) and self.interval.low >= self.criterion.min_effect


@dataclass(frozen=True)
class SeedCheck:
    """One of the seed's five checks on pooled means."""

    name: str
    baseline: float
    steered: float
    passed: bool


@dataclass(frozen=True)
class Fluency:
    """Perplexity ratio of the steered answers to the baseline's (see :mod:`steering_core.behaviour.fluency`)."""

    ratio: float
    max_ratio: float = FLUENCY_MAX_RATIO

    @property
    def passed(self) -> bool:
        """Finite and at most ``max_ratio``."""
        return bool(np.isfinite(self.ratio)) and self.ratio <= self.max_ratio

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        finite = bool(np.isfinite(self.ratio))
        return {"perplexity_ratio": self.ratio if finite else None, "max_ratio": self.max_ratio, "passed": self.passed}


@dataclass
class ContractResult:
    """The verdict of one contract on one set of steered answers."""

    contract: StyleContract
    condition: str
    criteria: list[CriterionResult]
    guard: GuardResult
    seed_checks: list[SeedCheck] = field(default_factory=list)
    fluency: Fluency | None = None

    @property
    def passed(self) -> bool:
        """Every criterion, the guard, every required seed check and (when measured) fluency pass."""
        checks_ok = all(c.passed for c in self.seed_checks) if self.contract.seed_checks else True
        fluent = self.fluency.passed if self.fluency is not None else True
        return all(c.passed for c in self.criteria) and self.guard.passed and checks_ok and fluent

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready verdict (effects are directed: positive = the required way)."""
        return {
            "style": self.contract.style,
            "condition": self.condition,
            "layer": self.contract.layer,
            "alpha": self.contract.alpha,
            "ratio": self.contract.ratio,
            "passed": self.passed,
            "criteria": [
                {
                    "metric": r.criterion.metric,
                    "rule": r.criterion.describe(),
                    "effect_kind": r.criterion.effect,
                    "threshold": r.criterion.min_effect,
                    "baseline_mean": r.baseline_mean,
                    "steered_mean": r.steered_mean,
                    "effect": r.interval.estimate,
                    "ci_low": r.interval.low,
                    "ci_high": r.interval.high,
                    "ci_level": r.interval.level,
                    "sign_test": {"moved": r.n_moved, "changed": r.n_changed, "p": r.sign_p},
                    "passed": r.passed,
                }
                for r in self.criteria
            ],
            "guard": self.guard.to_dict(),
            "seed_checks": [asdict(c) for c in self.seed_checks] if self.contract.seed_checks else [],
            "fluency": self.fluency.to_dict() if self.fluency is not None else None,
        }


def _directed(criterion: Criterion) -> Callable[[np.ndarray, np.ndarray], float]:
    base: Callable[[np.ndarray, np.ndarray], float] = (
        relative_change if criterion.effect == "relative" else mean_difference
    )

    def effect(b: np.ndarray, s: np.ndarray) -> float:
        return criterion.direction * base(b, s)

    return effect


def measure_criterion(criterion: Criterion, baseline: Sequence[str], steered: Sequence[str]) -> CriterionResult:
    """Per-prompt metric values, the directed effect, its bootstrap interval and the sign test."""
    fn = metric(criterion.metric)
    b = [fn(a) for a in baseline]
    s = [fn(a) for a in steered]
    interval = paired_bootstrap(b, s, _directed(criterion), N_RESAMPLES, CI_LEVEL, BOOTSTRAP_SEED)
    moved, changed, p = sign_test(b, s, criterion.direction)
    return CriterionResult(criterion, float(np.mean(b)), float(np.mean(s)), interval, moved, changed, p)


def _pooled(name: str, answers: Sequence[str]) -> float:
    fn = metric(name)
    return float(np.mean([fn(a) for a in answers]))


def seed_checks(baseline: Sequence[str], steered: Sequence[str]) -> list[SeedCheck]:
    """The seed's five checks on pooled means (see the module docstring)."""
    rules: tuple[tuple[str, Callable[[float, float], bool]], ...] = (
        ("words_per_sentence", lambda b, s: s < b),
        ("type_token_ratio", lambda b, s: s >= 0.95 * b),
        ("hedging_rate", lambda b, s: s <= b),
        ("exclamation_rate", lambda b, s: s <= b),
        ("words", lambda b, s: s < b),
    )
    out: list[SeedCheck] = []
    for name, test in rules:
        b, s = _pooled(name, baseline), _pooled(name, steered)
        out.append(SeedCheck(name, b, s, bool(test(b, s))))
    return out


def evaluate(
    contract: StyleContract,
    questions: Sequence[str],
    baseline: Sequence[str],
    steered: Sequence[str],
    condition: str = "calibrated",
    fluency: Fluency | None = None,
) -> ContractResult:
    """Verdict of ``contract`` for ``steered`` answers against the unhooked ``baseline`` answers.

    Pre: ``questions``, ``baseline`` and ``steered`` have the same non-zero length, in the same
    prompt order. Deterministic (fixed bootstrap seed).
    """
    if not questions or not (len(questions) == len(baseline) == len(steered)):
        raise InvalidParameterError(
            "steered", f"one answer per question ({len(questions)})", f"{len(baseline)} / {len(steered)}"
        )
    results = [measure_criterion(c, baseline, steered) for c in contract.criteria]
    g = guard(questions, steered, baseline)
    return ContractResult(contract, condition, results, g, seed_checks(baseline, steered), fluency)


def directed_criterion(style: str, direction: str) -> Criterion:
    """The criterion of ``style`` in ``direction``: its validated metric, moved toward that pole.

    Threshold and effect kind are the pre-registered ones (:mod:`~steering_core.behaviour.criteria`) for the
    style (never weaker); the metric is the validated one (:func:`~steering_core.behaviour.metrics.style_metric`).

    Raises:
        InvalidParameterError: unknown style or direction.
    """
    if direction not in DIRECTIONS:
        raise InvalidParameterError("direction", f"one of {DIRECTIONS}", repr(direction))
    if style not in CRITERIA:
        raise InvalidParameterError("style", f"one of {sorted(CRITERIA)}", repr(style))
    sm = style_metric(style)
    registered = CRITERIA[style][0]
    sign = 1 if direction == "positive" else -1
    return Criterion(sm.metric, sign * sm.sign, registered.min_effect, registered.effect)


def directed_contract(style: str, direction: str, layer: int, alpha: float, ratio: float) -> StyleContract:
    """The contract of ``style`` in ``direction`` at an explicit (layer, signed alpha).

    The seed's five checks apply to ``terse`` in the positive direction only (they describe a
    terser answer).
    """
    crit = directed_criterion(style, direction)
    checks = style in SEED_CHECKS and direction == "positive"
    positive, negative = POLES[style]
    toward = f"toward {positive}" if direction == "positive" else f"toward {negative}"
    return StyleContract(style, (crit,), layer, alpha, ratio, checks, f"{toward} ({crit.describe()})")
