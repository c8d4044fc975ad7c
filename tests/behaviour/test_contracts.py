"""Style contracts: the verdict logic on hand-made answers, parity interpolation, calibration choice."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.style import CRITERIA, load_calibration, style_contract, style_contracts
from steering_core.behaviour.calibrate import Cell, select
from steering_core.behaviour.contract import Criterion, evaluate
from steering_core.behaviour.parity import compare, parity_alpha
from steering_core.errors import InvalidParameterError
from steering_core.styles import get_style

QUESTIONS = [f"How does topic number {i} of physics work?" for i in range(8)]


def _long(i: int) -> str:
    return (
        f"Topic {i} of physics works through several mechanisms. First, energy moves between parts of the "
        f"system. Second, the parts interact through forces. Third, physics {i} describes these with equations "
        "that predict the outcome of experiments under many conditions."
    )


def _short(i: int) -> str:
    return f"Physics topic {i}: forces move energy."


def test_terse_contract_passes_only_with_a_real_effect() -> None:
    contract = style_contract("terse", 12, 0.5, 0.3)
    baseline = [_long(i) for i in range(8)]
    steered = [_short(i) for i in range(8)]
    result = evaluate(contract, QUESTIONS, baseline, steered)
    crit = result.criteria[0]
    assert crit.interval.estimate > 0.7 and crit.interval.low >= 0.4
    assert result.guard.passed and all(c.passed for c in result.seed_checks)
    assert result.passed
    # The alpha = 0 control: steered == baseline gives effect 0 and fails.
    control = evaluate(contract, QUESTIONS, baseline, baseline, "alpha=0 control")
    assert control.criteria[0].interval.estimate == 0.0 and not control.passed


def test_point_estimate_above_threshold_is_not_enough() -> None:
    """One huge shortening and seven unchanged answers: mean effect > 40%, lower bound not."""
    contract = style_contract("terse", 12, 0.5, 0.3)
    baseline = [_long(i) * 6 if i == 0 else _long(i) for i in range(8)]
    steered = [_short(0), *baseline[1:]]
    result = evaluate(contract, QUESTIONS, baseline, steered)
    crit = result.criteria[0]
    assert crit.interval.estimate >= 0.4
    assert crit.interval.low < 0.4
    assert not crit.passed and not result.passed


def test_incoherent_answers_fail_the_guard_and_the_contract() -> None:
    contract = style_contract("terse", 12, 0.5, 0.3)
    baseline = [_long(i) for i in range(8)]
    steered = ["Alibaba Cloud." for _ in range(8)]
    result = evaluate(contract, QUESTIONS, baseline, steered)
    assert result.criteria[0].passed  # much shorter...
    assert not result.guard.passed and not result.passed  # ...but off topic


def test_seed_checks_are_required_for_terse() -> None:
    contract = style_contract("terse", 12, 0.5, 0.3)
    baseline = [_long(i) for i in range(8)]
    steered = [f"Physics {i} works! Maybe forces move energy!" for i in range(8)]  # exclamations and hedges up
    result = evaluate(contract, QUESTIONS, baseline, steered)
    assert result.criteria[0].passed and result.guard.passed
    failed = {c.name for c in result.seed_checks if not c.passed}
    assert {"exclamation_rate", "hedging_rate"} <= failed
    assert not result.passed


def test_socratic_contract() -> None:
    contract = style_contract("socratic", 12, 1.0, 0.5)
    baseline = [_long(i) for i in range(8)]
    steered = [f"What do you already know about physics topic {i}? Which forces matter here?" for i in range(8)]
    assert evaluate(contract, QUESTIONS, baseline, steered).passed


def test_every_style_has_a_contract_and_bad_input_is_typed() -> None:
    assert set(CRITERIA) == {"terse", "formal", "socratic", "dry-wit"}
    with pytest.raises(InvalidParameterError, match="style"):
        style_contract("pirate", 12, 1.0, 0.1)
    with pytest.raises(InvalidParameterError, match="direction"):
        Criterion("words", 0, 0.1)
    with pytest.raises(InvalidParameterError, match="min_effect"):
        Criterion("words", -1, 0.0)
    with pytest.raises(InvalidParameterError, match="steered"):
        evaluate(style_contract("terse", 12, 0.5, 0.3), QUESTIONS, QUESTIONS, QUESTIONS[:2])


def test_committed_calibration_names_every_style() -> None:
    record = load_calibration()
    contracts = style_contracts(record)
    assert set(contracts) == set(CRITERIA)
    for name, contract in contracts.items():
        chosen = record["styles"][name]["chosen"]
        assert chosen["guard_passed"] is True
        assert contract.layer == chosen["layer"] and contract.alpha == chosen["alpha"]
        assert contract.ratio == pytest.approx(chosen["ratio"])


def test_parity_alpha_interpolates_and_stops_at_collapse() -> None:
    # metric goes 10 -> 8 -> 4 for alphas 0, 1, 2; target 6 is reached at alpha 1.5 (direction down).
    assert parity_alpha(10.0, 6.0, [(1.0, 8.0, True), (2.0, 4.0, True)], -1) == pytest.approx(1.5)
    assert parity_alpha(10.0, 6.0, [(-1.0, 8.0, True), (-2.0, 4.0, True)], -1) == pytest.approx(-1.5)
    assert parity_alpha(10.0, 6.0, [(1.0, 8.0, True), (2.0, 4.0, False)], -1) is None
    assert parity_alpha(10.0, 12.0, [(1.0, 8.0, True)], -1) == 0.0  # the prompt moved the other way
    assert parity_alpha(10.0, 2.0, [(1.0, 8.0, True), (2.0, 4.0, True)], -1) is None


def test_compare_with_a_scripted_answerer() -> None:
    """A fake model whose answer length falls with alpha; the instruction matches alpha 1.0 exactly."""

    def answer(texts: Any, alpha: float) -> list[str]:
        out = []
        for text in texts:
            if text.startswith("Be extremely concise"):
                n = 6
            elif text.startswith("Please explain thoroughly"):
                n = 18
            else:
                n = round(12 - 6 * alpha)
            out.append("physics " + " ".join(f"word{j}" for j in range(max(n - 1, 0))))
        return out

    result = compare(get_style("terse"), "words", -1, 12, 10.0, 20.0, QUESTIONS, [0.5, 1.0, 2.0], answer)
    assert result.parity_positive == pytest.approx(1.0)
    assert result.parity_negative == pytest.approx(-1.0)
    assert result.symmetric is True and result.asymmetry == pytest.approx(1.0)
    data = result.to_dict(with_answers=False)
    assert [r["label"] for r in data["rows"]][:3] == ["baseline", "prompt+", "prompt-"]
    assert data["parity_ratio_positive"] == pytest.approx(0.5)


def test_calibration_selection_rule() -> None:
    def cell(layer: int, alpha: float, ratio: float, norm_effect: float, ok: bool = True) -> Cell:
        return Cell(layer, alpha, ratio, norm_effect * 0.4, norm_effect, ok, 0 if ok else 3, 1.0)

    cells = [cell(8, 0.5, 0.1, 0.5), cell(12, 0.5, 0.3, 1.6), cell(12, 1.0, 0.6, 2.5), cell(16, 2.0, 1.2, 4.0, False)]
    assert select(cells) == cells[1]  # smallest ratio reaching 1.5x the threshold
    weak = [cell(8, 0.5, 0.1, 0.5), cell(12, 0.5, 0.3, 0.9)]
    assert select(weak) == weak[1]  # none reaches: the largest effect
    assert select([cell(16, 2.0, 1.2, 4.0, False)]) is None
