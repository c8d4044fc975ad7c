"""Pure parts of issue 18's execution half: directed contracts, the fluency bound, the prompt comparison."""

from __future__ import annotations

import math

import pytest

from contracts.style import CRITERIA
from steering_core.behaviour.contract import (
    FLUENCY_MAX_RATIO,
    Fluency,
    directed_contract,
    directed_criterion,
    evaluate,
)
from steering_core.behaviour.metrics import STYLE_METRICS
from steering_core.behaviour.prompting import Point, comparison, pareto_front, pareto_svg, summary
from steering_core.errors import InvalidParameterError


@pytest.mark.parametrize("style", ["terse", "formal", "socratic", "dry-wit"])
def test_directed_criteria_keep_the_registered_thresholds_and_flip_direction(style: str) -> None:
    pos, neg = directed_criterion(style, "positive"), directed_criterion(style, "negative")
    registered = CRITERIA[style][0]
    for c in (pos, neg):
        assert c.min_effect >= registered.min_effect and c.effect == registered.effect  # never weaker
        assert c.metric == STYLE_METRICS[style].metric
    assert pos.direction == STYLE_METRICS[style].sign == -neg.direction
    with pytest.raises(InvalidParameterError):
        directed_criterion(style, "sideways")


def test_seed_checks_only_for_terse_toward_terse() -> None:
    assert directed_contract("terse", "positive", 12, 1.0, 0.3).seed_checks
    assert not directed_contract("terse", "negative", 12, -1.0, 0.3).seed_checks
    assert not directed_contract("formal", "positive", 12, 1.0, 0.3).seed_checks


def test_fluency_bound_decides_an_otherwise_passing_contract() -> None:
    contract = directed_contract("terse", "negative", 12, -1.0, 0.3)  # words must go up by >= 40%
    topics = ["tides", "volcanoes", "glaciers", "rainbows", "earthquakes", "comets"]
    questions = [f"How do {t} form?" for t in topics]
    baseline = [f"{t.capitalize()} form slowly." for t in topics]
    steered = [
        f"{t.capitalize()} form through a long chain of physical processes that scientists study closely."
        for t in topics
    ]
    fluent = evaluate(contract, questions, baseline, steered, fluency=Fluency(1.2))
    assert fluent.criteria[0].passed and fluent.guard.passed and fluent.passed
    assert not evaluate(contract, questions, baseline, steered, fluency=Fluency(FLUENCY_MAX_RATIO * 1.01)).passed
    assert not evaluate(contract, questions, baseline, steered, fluency=Fluency(math.nan)).passed
    assert fluent.to_dict()["fluency"] == {"perplexity_ratio": 1.2, "max_ratio": FLUENCY_MAX_RATIO, "passed": True}


def _points(prompt_effect: float, steer_effects: list[float]) -> list[Point]:
    pts = [
        Point("baseline", "baseline", 0.0, 0.0, 0.0, 1.0, 50),
        Point("prompt", "prompt", 0.0, prompt_effect, 1, 1.1, 30),
    ]
    for m, e in zip((0.5, 1.0, 2.0), steer_effects, strict=True):
        pts.append(Point(f"steer x{m:g}", "steer", m, e, e, 1.0 + m, 40))
    pts.append(Point("prompt+steer x1", "prompt+steer", 1.0, prompt_effect + 0.1, 1, 1.5, 25))
    return pts


def test_summary_reached_and_not_reached() -> None:
    reached = summary(_points(0.5, [0.1, 0.6, 0.9]))
    assert reached["reached"] and reached["reached_multiple"] == 1.0
    assert "reaches the prompt's effect" in reached["text"]
    missed = summary(_points(0.5, [0.1, 0.2, 0.25]))
    assert missed["reached"] is False and missed["best_steer_share_of_prompt"] == pytest.approx(0.5)
    assert "does not reach" in missed["text"]


def test_pareto_front_and_svg() -> None:
    pts = _points(0.5, [0.1, 0.2, 0.25])
    front = pareto_front(pts)
    assert "prompt" in front and "baseline" in front and "steer x2" not in front  # prompt dominates x2
    record = comparison("terse", "positive", pts, "Be terse.")
    svg = pareto_svg({**record, "style": "<terse>"})
    assert svg.startswith("<svg") and "&lt;terse&gt;" in svg and svg.count("<circle") == len(pts)
