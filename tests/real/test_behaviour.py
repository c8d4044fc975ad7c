"""Behavioural style contracts on the embedded real model (Qwen2.5-Coder-0.5B-Instruct), never faked.

The CI-marked test runs the reduced behaviour run: all four styles in both directions with their
recorded recipes (steering_core/data/behaviour/recipes.json, else the calibrated seed recipe), each on the 8
held-out questions of its direction, with both negative controls (8 x 3 x 8 = 192 rows of one
batched generation, plus fluency). The full run (against prompting and lens) is ``make behaviour``.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from steering_core.behaviour.run import BehaviourResult, RunConfig, run_behaviour
from steering_core.behaviour.session import Session
from steering_core.models import load_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reduced() -> BehaviourResult:
    session = Session(load_model(), max_new_tokens=RunConfig.reduced().max_new_tokens)
    return run_behaviour(RunConfig.reduced(), session=session)


def _contract(result: BehaviourResult, style: str, direction: str = "positive") -> dict[str, Any]:
    return next(c for c in result.to_dict()["contracts"] if c["style"] == style and c["direction"] == direction)


CONFIRMED = (("terse", "negative"), ("formal", "positive"), ("formal", "negative"), ("dry-wit", "negative"))
"""The directions the recorded full run of 2026-12-02 confirmed (spec/behaviour/runs/2026-12-02-full-
two-directions.md; registry H-SA-2, -3, -4, -8): lower bounds terse- 1.57 (>= 0.4), formal+ 0.707 and
formal- 2.43 (>= 0.25), dry-wit- 0.712 (>= 0.5)."""


@pytest.mark.ci
def test_the_confirmed_contracts_pass_and_are_specific(reduced: BehaviourResult) -> None:
    """Lower bound over the registered threshold, topic guard, fluency, and both negative controls
    fail (specific), for every direction the recorded run confirmed."""
    for style, direction in CONFIRMED:
        contract = _contract(reduced, style, direction)
        cal = contract["conditions"]["calibrated"]
        assert cal["guard"]["passed"], (style, direction, cal["guard"])
        assert contract["fluency"]["passed"], (style, direction, contract["fluency"])
        assert contract["ci_low"] >= contract["threshold"], contract
        assert contract["passed"] and contract["specific"], contract


@pytest.mark.ci
def test_terse_toward_terse_is_refuted_as_recorded(reduced: BehaviourResult) -> None:
    """A recorded finding, not a weakened contract. Under the two-direction protocol (held-out
    questions, searched recipe, 64 new tokens, fluency bound) terse+ moves the right way but its
    lower bound misses the registered threshold: 0.382 < 0.4 in the full run of 2026-12-02 (the
    one-direction protocol of 2026-11-25 had passed it). The threshold stays; a recipe that makes
    it pass must update this record and the closing note's table."""
    terse = _contract(reduced, "terse", "positive")
    assert terse["effect"] > 0, terse
    assert terse["ci_low"] < terse["threshold"] == 0.4 and not terse["passed"], terse


@pytest.mark.ci
def test_no_negative_control_passes_any_contract(reduced: BehaviourResult) -> None:
    for contract in reduced.to_dict()["contracts"]:
        conditions = contract["conditions"]
        assert conditions["alpha_zero"]["passed"] is False, contract["style"]
        assert conditions["alpha_zero"]["criteria"][0]["effect"] == 0.0
        assert conditions["random_vector"]["passed"] is False, (contract["style"], conditions["random_vector"])


@pytest.mark.ci
def test_reduced_run_reports_every_contract(reduced: BehaviourResult) -> None:
    data = reduced.to_dict()
    pairs = [(c["style"], c["direction"]) for c in data["contracts"]]
    assert pairs == [(s, d) for s in ("terse", "formal", "socratic", "dry-wit") for d in ("positive", "negative")]
    for c in data["contracts"]:
        assert math.isfinite(c["effect"]) and c["ci_low"] <= c["ci_high"]
        assert 0.0 < c["ratio"] < 2.0
        assert c["fluency"]["perplexity_ratio"] is not None and c["validation"].get("auc_held_out") is not None
        assert 0.0 <= c["reliability"]["anti_steerable"]["anti_steerable_fraction"] <= 1.0
    markdown = reduced.to_markdown()
    assert markdown.count("| terse |") == 2 and "Seed checks" in markdown


@pytest.mark.ci
def test_the_registry_records_the_same_verdicts(reduced: BehaviourResult) -> None:
    """H-SA-1..H-SA-8 (steering_core.cprr.style_axes) recorded each directed contract in the
    conjecture registry from its own one-direction run; the fresh all-styles batched run gives
    the same verdict for every style and direction, and the status follows it (refuted on a fail)."""
    from steering_core.cprr import store, style_axes
    from steering_core.cprr.lifecycle import conforming

    for entry_id, (style, direction) in style_axes.ENTRIES.items():
        entry = store.load_entry(entry_id)
        (record, *_) = reversed(conforming(entry["evidence"], entry["protocol"]))
        fresh = _contract(reduced, style, direction)
        assert bool(record["measured"]["contract_passed"]) == fresh["passed"], (entry_id, record["measured"], fresh)
        assert entry["status"] in (("testing", "confirmed") if fresh["passed"] else ("refuted",)), entry_id
