"""Prompt-level control versus injection: which alpha does what the instruction does?

For a style with poles (positive instruction, negative instruction) and a metric with a direction
(from the style's contract), the same questions are answered

* unhooked and without instruction (the baseline);
* with the positive pole's instruction in the prompt, and with the negative pole's (``prompt+``,
  ``prompt-``): the user message is ``"{instruction}\\n\\n{question}"``;
* while steering with ``alpha * v`` for each alpha of a grid, positive and negative.

The **parity alpha** of the positive pole is the smallest alpha > 0 at which the steered mean
metric reaches the ``prompt+`` mean, by linear interpolation between neighbouring grid points
(baseline at alpha = 0), searching up to the first cell whose answers fail the coherence guard
(judged against the baseline answers: degeneracy the baseline already has does not count);
the negative
pole's is the same for alpha < 0 against ``prompt-``. It is ``None`` when the grid never gets
there coherently, and 0 when the instruction does not move the metric past the baseline in its
pole's direction. The match is **symmetric** when both parity alphas exist and
``max(|a+|, |a-|) <= SYMMETRY_TOLERANCE * min(|a+|, |a-|)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np

from steering_core.behaviour.metrics import metric
from steering_core.behaviour.topic import guard
from steering_core.errors import InvalidParameterError
from steering_core.styles import Style
from steering_core.text import word_count

SYMMETRY_TOLERANCE = 1.25
Answerer = Callable[[Sequence[str], float], list[str]]
"""``(user_texts, alpha) -> answers``: generation, steered by ``alpha * v`` (alpha 0 = unhooked)."""


@dataclass(frozen=True)
class Condition:
    """One row of the comparison: how the answers were obtained and what they measured."""

    label: str
    alpha: float
    mean_metric: float
    mean_words: float
    coherent: bool
    n_degenerate: int
    on_topic_share: float
    answers: list[str] = field(repr=False)


@dataclass
class ParityResult:
    """Everything measured for one style."""

    style: str
    metric: str
    direction: int
    layer: int
    vector_norm: float
    median_norm: float
    baseline: Condition
    prompt_positive: Condition
    prompt_negative: Condition
    steered: list[Condition]
    parity_positive: float | None
    parity_negative: float | None

    @property
    def symmetric(self) -> bool | None:
        """None when either parity alpha is missing or zero; else the tolerance test."""
        a, b = self.parity_positive, self.parity_negative
        if a is None or b is None or a == 0 or b == 0:
            return None
        big, small = max(abs(a), abs(b)), min(abs(a), abs(b))
        return big <= SYMMETRY_TOLERANCE * small

    @property
    def asymmetry(self) -> float | None:
        """``|a+| / |a-|`` (None when either is missing or zero)."""
        a, b = self.parity_positive, self.parity_negative
        if a is None or b is None or a == 0 or b == 0:
            return None
        return abs(a) / abs(b)

    def ratio_of(self, alpha: float | None) -> float | None:
        """The perturbation ratio of ``alpha`` at this layer."""
        return None if alpha is None else abs(alpha) * self.vector_norm / self.median_norm

    def rows(self) -> list[Condition]:
        """Baseline, both prompt conditions, then the steered grid by alpha."""
        return [self.baseline, self.prompt_positive, self.prompt_negative, *sorted(self.steered, key=lambda c: c.alpha)]

    def to_dict(self, with_answers: bool = True) -> dict[str, Any]:
        """JSON-ready result."""

        def row(c: Condition) -> dict[str, Any]:
            out: dict[str, Any] = {
                "label": c.label,
                "alpha": c.alpha,
                "ratio": self.ratio_of(c.alpha) if c.label.startswith("steer") else None,
                "mean_metric": c.mean_metric,
                "mean_words": c.mean_words,
                "coherent": c.coherent,
                "n_degenerate": c.n_degenerate,
                "on_topic_share": c.on_topic_share,
            }
            if with_answers:
                out["answers"] = c.answers
            return out

        return {
            "style": self.style,
            "metric": self.metric,
            "direction": self.direction,
            "layer": self.layer,
            "vector_norm": self.vector_norm,
            "median_norm": self.median_norm,
            "rows": [row(c) for c in self.rows()],
            "parity_alpha_positive": self.parity_positive,
            "parity_alpha_negative": self.parity_negative,
            "parity_ratio_positive": self.ratio_of(self.parity_positive),
            "parity_ratio_negative": self.ratio_of(self.parity_negative),
            "asymmetry": self.asymmetry,
            "symmetric": self.symmetric,
            "symmetry_tolerance": SYMMETRY_TOLERANCE,
        }


def with_instruction(instruction: str, question: str) -> str:
    """The user message for prompt-level control."""
    return f"{instruction}\n\n{question}"


def _condition(
    label: str,
    alpha: float,
    questions: Sequence[str],
    answers: list[str],
    metric_name: str,
    baseline: Sequence[str] | None = None,
) -> Condition:
    fn = metric(metric_name)
    g = guard(questions, answers, baseline)
    return Condition(
        label,
        alpha,
        float(np.mean([fn(a) for a in answers])),
        float(np.mean([word_count(a) for a in answers])),
        g.passed,
        g.n_degenerate,
        g.on_topic_share,
        answers,
    )


def parity_alpha(
    baseline: float, target: float, cells: Sequence[tuple[float, float, bool]], direction: int
) -> float | None:
    """Smallest ``|alpha|`` at which the metric reaches ``target`` (see the module docstring).

    ``cells`` are ``(alpha, mean metric, coherent)`` of the steered conditions on one side (all
    alphas the same sign); ``direction`` is the way the metric moves towards this pole. The
    search stops at the first incoherent cell (no parity beyond collapse). Returns a signed
    alpha, 0.0 when the target is not beyond the baseline, or None.
    """
    if direction * (target - baseline) <= 0:
        return 0.0
    points = [(0.0, baseline, True), *sorted(cells, key=lambda c: abs(c[0]))]
    for (a0, m0, _), (a1, m1, ok) in pairwise(points):
        if not ok:
            return None
        if direction * (m1 - target) >= 0:
            if m1 == m0:
                return a1
            t = (target - m0) / (m1 - m0)
            return a0 + min(max(t, 0.0), 1.0) * (a1 - a0)
    return None


def compare(
    style: Style,
    metric_name: str,
    direction: int,
    layer: int,
    vector_norm: float,
    median_norm: float,
    questions: Sequence[str],
    alphas: Sequence[float],
    answer: Answerer,
    baseline_answers: Sequence[str] | None = None,
) -> ParityResult:
    """Run the comparison for ``style`` (first contrast pair's poles) with ``answer`` doing generation.

    ``alphas`` are magnitudes (> 0); each is run with both signs. ``direction`` is the way the
    metric moves towards the positive pole. ``baseline_answers`` reuses unhooked answers.
    """
    if not alphas or any(not a > 0 for a in alphas):
        raise InvalidParameterError("alphas", "non-empty magnitudes > 0", list(alphas))
    pair = style.pairs[0]
    base_answers = list(baseline_answers) if baseline_answers is not None else answer(questions, 0.0)
    baseline = _condition("baseline", 0.0, questions, base_answers, metric_name)
    pos_answers = answer([with_instruction(pair.positive, q) for q in questions], 0.0)
    neg_answers = answer([with_instruction(pair.negative, q) for q in questions], 0.0)
    pos = _condition("prompt+", 0.0, questions, pos_answers, metric_name, base_answers)
    neg = _condition("prompt-", 0.0, questions, neg_answers, metric_name, base_answers)
    steered: list[Condition] = []
    for magnitude in sorted(alphas):
        for alpha in (magnitude, -magnitude):
            answers = answer(questions, alpha)
            steered.append(_condition(f"steer {alpha:+g}", alpha, questions, answers, metric_name, base_answers))
    plus = [(c.alpha, c.mean_metric, c.coherent) for c in steered if c.alpha > 0]
    minus = [(c.alpha, c.mean_metric, c.coherent) for c in steered if c.alpha < 0]
    return ParityResult(
        style.name,
        metric_name,
        direction,
        layer,
        vector_norm,
        median_norm,
        baseline,
        pos,
        neg,
        steered,
        parity_alpha(baseline.mean_metric, pos.mean_metric, plus, direction),
        parity_alpha(baseline.mean_metric, neg.mean_metric, minus, -direction),
    )
