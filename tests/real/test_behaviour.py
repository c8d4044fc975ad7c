"""Behavioural style contracts on the embedded real model (Qwen2.5-Coder-0.5B-Instruct), never faked.

The CI-marked test runs the reduced behaviour run: all four contracts at their calibrated
(layer, alpha) from spec/behaviour/calibration.json, on the 8 evaluation questions, with both
negative controls (about 9 generations of 8 answers, ~3-5 min on 2 cores). The full run
(prompt-vs-injection and lens) is ``make behaviour``.
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


def _contract(result: BehaviourResult, style: str) -> dict[str, Any]:
    return next(c for c in result.to_dict()["contracts"] if c["style"] == style)


@pytest.mark.ci
def test_terse_contract_passes_and_is_specific(reduced: BehaviourResult) -> None:
    terse = _contract(reduced, "terse")
    cal = terse["conditions"]["calibrated"]
    assert cal["guard"]["passed"], cal["guard"]
    assert terse["ci_low"] >= terse["threshold"], terse
    assert all(check["passed"] for check in cal["seed_checks"]), cal["seed_checks"]
    assert terse["passed"] and terse["specific"]


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
    assert [c["style"] for c in data["contracts"]] == ["terse", "formal", "socratic", "dry-wit"]
    for c in data["contracts"]:
        assert math.isfinite(c["effect"]) and c["ci_low"] <= c["ci_high"]
        assert 0.0 < c["ratio"] < 2.0
    markdown = reduced.to_markdown()
    assert markdown.count("| terse |") == 1 and "Seed checks" in markdown
