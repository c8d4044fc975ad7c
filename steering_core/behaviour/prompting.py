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
from html import escape
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


_KIND_COLOURS = {"baseline": "#555555", "prompt": "#1f77b4", "steer": "#d62728", "prompt+steer": "#9467bd"}


def pareto_svg(record: dict[str, Any], width: int = 360, height: int = 240) -> str:
    """A small standalone SVG scatter of one comparison: perplexity ratio (x) against effect (y).

    Steering points are joined in order of their multiple (the alpha range), prompt+steering
    likewise; Pareto-front points are drawn filled, the others hollow. Pure string output (no
    plotting library), every label escaped.
    """
    pts = [p for p in record.get("points", []) if p.get("perplexity_ratio") is not None]
    if not pts:
        return ""
    xs = [float(p["perplexity_ratio"]) for p in pts]
    ys = [float(p["effect"]) for p in pts]
    x0, x1 = min([*xs, 1.0]), max([*xs, 1.0])
    y0, y1 = min([*ys, 0.0]), max([*ys, 0.0])
    x1, y1 = (x1 if x1 > x0 else x0 + 1.0), (y1 if y1 > y0 else y0 + 1.0)
    left, right, top, bottom = 48, 12, 22, 34

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * (width - left - right)

    def sy(y: float) -> float:
        return height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom)

    front = set(record.get("pareto_front", []))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(str(record.get("style")))}: effect against perplexity ratio">',
        f'<text x="{left}" y="14" font-size="12">{escape(str(record.get("style")))} '
        f"({escape(str(record.get('metric', '')))})</text>",
        f'<line x1="{left}" y1="{sy(0.0):.1f}" x2="{width - right}" y2="{sy(0.0):.1f}" stroke="#bbb"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#333"/>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="#333"/>',
        f'<text x="{width / 2:.0f}" y="{height - 6}" font-size="10" text-anchor="middle">perplexity ratio '
        f"({x0:.3g} to {x1:.3g})</text>",
        f'<text x="10" y="{height / 2:.0f}" font-size="10" transform="rotate(-90 10 {height / 2:.0f})" '
        f'text-anchor="middle">effect ({y0:.3g} to {y1:.3g})</text>',
    ]
    for kind in ("steer", "prompt+steer"):
        line = sorted((p for p in pts if p["kind"] == kind), key=lambda p: p["multiple"])
        if len(line) > 1:
            coords = " ".join(f"{sx(p['perplexity_ratio']):.1f},{sy(p['effect']):.1f}" for p in line)
            out.append(f'<polyline points="{coords}" fill="none" stroke="{_KIND_COLOURS[kind]}" stroke-width="1"/>')
    for p in pts:
        colour = _KIND_COLOURS.get(p["kind"], "#000")
        fill = colour if p["label"] in front else "white"
        x, y = sx(p["perplexity_ratio"]), sy(p["effect"])
        out.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{fill}" stroke="{colour}"><title>'
            f"{escape(p['label'])}: effect {p['effect']:.3g}, perplexity ratio {p['perplexity_ratio']:.3g}"
            "</title></circle>"
        )
        out.append(f'<text x="{x + 5:.1f}" y="{y - 5:.1f}" font-size="9">{escape(p["label"])}</text>')
    out.append("</svg>")
    return "\n".join(out)
