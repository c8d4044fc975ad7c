"""Metric validation: the exact Mann-Whitney AUC, the labelled-text files and the AUC requirement."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from steering_core.behaviour.metrics import STYLE_METRICS, style_score
from steering_core.behaviour.validation import (
    MIN_AUC,
    MIN_PER_POLE,
    LabelledSetError,
    load_labelled,
    mann_whitney_auc,
    parse_labelled,
    room,
    validate_all,
    validate_metric,
)
from steering_core.errors import InvalidParameterError
from steering_core.styles import SEED_STYLES


def test_auc_hand_computed_example() -> None:
    # pairs (p, n): (3,1) win, (3,0) win, (1,1) tie, (1,0) win, (2,1) win, (2,0) win -> 5.5 / 6
    assert mann_whitney_auc([3, 1, 2], [1, 0]) == pytest.approx(11 / 12, abs=0)
    assert mann_whitney_auc([1, 1], [1, 1]) == 0.5
    assert mann_whitney_auc([5], [1, 2, 3]) == 1.0
    assert mann_whitney_auc([0], [1, 2, 3]) == 0.0


def test_auc_matches_brute_force_and_is_antisymmetric() -> None:
    rng = random.Random(7)
    for _ in range(50):
        pos = [rng.randint(0, 5) for _ in range(rng.randint(1, 12))]
        neg = [rng.randint(0, 5) for _ in range(rng.randint(1, 12))]
        brute = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))
        assert mann_whitney_auc(pos, neg) == brute
        assert mann_whitney_auc(pos, neg) + mann_whitney_auc(neg, pos) == pytest.approx(1.0, abs=1e-12)


def test_auc_rejects_empty_and_non_finite() -> None:
    with pytest.raises(InvalidParameterError):
        mann_whitney_auc([], [1.0])
    with pytest.raises(InvalidParameterError):
        mann_whitney_auc([float("nan")], [1.0])


@pytest.mark.parametrize("style", list(SEED_STYLES))
def test_labelled_files_have_40_per_pole_and_a_third_held_out(style: str) -> None:
    data = load_labelled(style)
    for pole in ("positive", "negative"):
        n_all, n_held = len(data.select(pole)), len(data.select(pole, "held_out"))
        assert n_all >= MIN_PER_POLE
        assert n_held == n_all // 3
        assert set(data.select(pole, "held_out")).isdisjoint(data.select(pole, "design"))


@pytest.mark.parametrize("style", list(SEED_STYLES))
def test_every_style_metric_passes_validation(style: str) -> None:
    """The requirement of issue 18: AUC >= 0.9 on held-out texts and on all texts."""
    result = validate_metric(style)
    assert result.auc_held_out >= MIN_AUC and result.auc_all >= MIN_AUC, result.to_dict()
    assert result.passed


def test_validate_all_covers_the_seed_styles() -> None:
    assert [v.style for v in validate_all()] == list(STYLE_METRICS) == list(SEED_STYLES)


def test_a_useless_metric_fails() -> None:
    result = validate_metric("dry-wit", lambda _t: 0.0, "constant")
    assert result.auc_all == 0.5 and not result.passed


def _lines(n_pos: int = 40, n_neg: int = 40) -> list[str]:
    out = [json.dumps({"text": f"positive text {i}", "pole": "positive"}) for i in range(n_pos)]
    return out + [json.dumps({"text": f"negative text {i}", "pole": "negative", "note": "x"}) for i in range(n_neg)]


def test_labelled_format_errors_name_line_and_field(tmp_path: Path) -> None:
    assert len(parse_labelled(_lines(), "x").texts) == 80
    cases = [
        (_lines(39), "positive"),
        (["{", *_lines()], "line 1"),
        (['{"text": "a", "pole": "up"}', *_lines()], "line 1: pole"),
        (['{"text": "", "pole": "positive"}', *_lines()], "line 1: text"),
        (['{"text": "a", "pole": "positive", "x": 1}', *_lines()], "line 1: x"),
        (['{"text": "a", "pole": "positive", "note": 3}', *_lines()], "line 1: note"),
        ([*_lines(), json.dumps({"text": "positive text 0", "pole": "negative"})], "line 81: text"),
        (["[1]", *_lines()], "line 1"),
    ]
    for lines, field in cases:
        with pytest.raises(LabelledSetError) as info:
            parse_labelled(lines, "x")
        assert info.value.parameter == field
    with pytest.raises(LabelledSetError) as missing:
        load_labelled("terse", tmp_path)
    assert missing.value.parameter == "style"


def test_room_is_the_share_of_the_pole_gap_left() -> None:
    data = load_labelled("dry-wit")
    pos = [style_score("dry-wit", t) for t in data.select("positive")]
    neg = [style_score("dry-wit", t) for t in data.select("negative")]
    at_negative_pole = data.select("negative")[:5]
    assert room("dry-wit", "positive", at_negative_pole) > 0.5  # far from the positive pole: room to rise
    assert room("dry-wit", "negative", at_negative_pole) < 0.5  # already near the negative pole
    assert max(pos) > min(neg)  # sanity: the scale spans both poles
    with pytest.raises(InvalidParameterError):
        room("dry-wit", "up", at_negative_pole)


def test_main_prints_the_table_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    from steering_core.behaviour.validation import main

    assert main([]) == 0
    out = capsys.readouterr().out
    assert "| socratic | +clarifying_share |" in out
    assert main(["--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["style"] == "terse"


def test_recorded_baseline_room_matches_the_current_metrics() -> None:
    """data/behaviour/questions/baseline-room.json was scored with today's metrics; every set has room (> 0)."""
    from steering_core.behaviour.metrics import METRICS_VERSION
    from steering_core.behaviour.questions import QUESTIONS_DIR, load_question_set

    record = json.loads((QUESTIONS_DIR / "baseline-room.json").read_text(encoding="utf-8"))
    assert record["metrics_version"] == METRICS_VERSION
    assert len(record["sets"]) == 8
    for row in record["sets"].values():
        style, direction = row["style"], row["direction"]
        assert row["question_set_sha256"] == load_question_set(style, direction).sha256
        scores = [style_score(style, a) for a in row["baseline_answers"]]
        assert scores == pytest.approx(row["baseline_scores"])
        assert room(style, direction, row["baseline_answers"]) == pytest.approx(row["room"])
        assert row["room"] > 0
