"""Steering against prompting: effect versus fluency of prompt, steering, and prompt + steering.

For one style and direction, on the same questions and against the same unhooked baseline:

* ``prompt``: the pole's instruction (the seed pair's text) given before the question in the
  user message (:func:`steering_core.behaviour.parity.with_instruction`), unsteered;
* ``steer xm``: the plain question, steered at ``m`` times the contract's perturbation;
* ``prompt+steer xm``: the instructed question, steered at ``m`` times the contract's perturbation.

Each condition is a point of a Pareto plot: ``effect`` = the directed point effect of the
direction's criterion (:func:`steering_core.behaviour.contract.directed_criterion`: positive =
toward the pole, in the criterion's units) and ``normalized`` = effect / threshold; ``fluency``
= the perplexity ratio of its answers to the baseline answers under the unsteered model, each
answer scored after the *plain* question (:mod:`steering_core.behaviour.fluency`), so every
condition is scored against the same reference. A point is *dominated* when another has at least
its effect and at most its perplexity ratio, one of them strictly.

**AxBench-style summary** (:func:`summary`, after Wu et al. 2025, arXiv 2501.17148): the smallest
multiple at which steering alone reaches the prompt's effect and its perplexity ratio next to the
prompt's; or, when no multiple reaches it, the best steering effect as a share of the prompt's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Point:
    """One condition of the comparison."""

    label: str
    kind: str  # "baseline" | "prompt" | "steer" | "prompt+steer"
    multiple: float  # of the contract's perturbation (0 for baseline and prompt)
    effect: float
    normalized: float
    perplexity_ratio: float
    mean_words: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN becomes None)."""
        ppl = self.perplexity_ratio
        return {
            "label": self.label,
            "kind": self.kind,
            "multiple": self.multiple,
            "effect": self.effect,
            "normalized": self.normalized,
            "perplexity_ratio": ppl if math.isfinite(ppl) else None,
            "mean_words": self.mean_words,
        }


def pareto_front(points: Sequence[Point]) -> list[str]:
    """Labels of the points no other point dominates (higher effect, lower perplexity ratio)."""

    def dominates(a: Point, b: Point) -> bool:
        return (
            a.effect >= b.effect
            and a.perplexity_ratio <= b.perplexity_ratio
            and (a.effect > b.effect or a.perplexity_ratio < b.perplexity_ratio)
        )

    finite = [p for p in points if math.isfinite(p.perplexity_ratio)]
    return [p.label for p in finite if not any(dominates(q, p) for q in finite if q is not p)]


def summary(points: Sequence[Point]) -> dict[str, Any]:
    """Where steering alone reaches the prompt's effect, and at what fluency cost (module docstring)."""
    prompt = next((p for p in points if p.kind == "prompt"), None)
    steer = sorted((p for p in points if p.kind == "steer"), key=lambda p: p.multiple)
    combo = [p for p in points if p.kind == "prompt+steer"]
    if prompt is None or not steer:
        return {"text": "no prompt or steering condition", "reached": None}
    reached = next((p for p in steer if p.effect >= prompt.effect), None)
    best = max(steer, key=lambda p: p.effect)
    best_combo = max(combo, key=lambda p: p.effect) if combo else None
    if prompt.effect <= 0:
        text = f"the prompt does not move the metric (effect {prompt.effect:+.3g}); steering best {best.effect:+.3g}"
    elif reached is not None:
        text = (
            f"steering reaches the prompt's effect ({prompt.effect:+.3g}) at {reached.multiple:g}x "
            f"(effect {reached.effect:+.3g}) with perplexity ratio {reached.perplexity_ratio:.3g} "
            f"vs the prompt's {prompt.perplexity_ratio:.3g}"
        )
    else:
        share = best.effect / prompt.effect
        text = (
            f"steering does not reach the prompt's effect ({prompt.effect:+.3g}): best {best.effect:+.3g} "
            f"({share:.0%} of it) at {best.multiple:g}x, perplexity ratio {best.perplexity_ratio:.3g} "
            f"vs the prompt's {prompt.perplexity_ratio:.3g}"
        )
    if best_combo is not None:
        text += f"; prompt+steering best {best_combo.effect:+.3g} at {best_combo.multiple:g}x"
    return {
        "text": text,
        "reached": reached is not None,
        "reached_multiple": reached.multiple if reached is not None else None,
        "prompt_effect": prompt.effect,
        "prompt_perplexity_ratio": prompt.perplexity_ratio if math.isfinite(prompt.perplexity_ratio) else None,
        "best_steer_effect": best.effect,
        "best_steer_share_of_prompt": (best.effect / prompt.effect) if prompt.effect > 0 else None,
        "best_prompt_steer_effect": best_combo.effect if best_combo is not None else None,
    }


def comparison(style: str, direction: str, points: Sequence[Point], instruction: str) -> dict[str, Any]:
    """The JSON record of one style's comparison: points, Pareto front and summary."""
    return {
        "style": style,
        "direction": direction,
        "instruction": instruction,
        "points": [p.to_dict() for p in points],
        "pareto_front": pareto_front(points),
        "summary": summary(points),
    }
