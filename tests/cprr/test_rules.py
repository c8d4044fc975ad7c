"""Decision rules and measured values: verdicts are computed, malformed input is an error."""

from __future__ import annotations

import math

import pytest

from steering_core.cprr import rules
from steering_core.cprr.errors import MeasurementError
from steering_core.cprr.evidence import normalize_measured


def test_comparisons() -> None:
    for op, expected in ((">", "fail"), (">=", "pass"), ("<", "fail"), ("<=", "pass"), ("==", "pass"), ("!=", "fail")):
        assert rules.verdict({"metric": "x", "op": op, "threshold": 0.15}, {"x": 0.15}) == expected


def test_all_and_any() -> None:
    rule = {"all": [{"metric": "a", "op": ">=", "threshold": 0.8}, {"metric": "b", "op": ">=", "threshold": 1}]}
    assert rules.verdict(rule, {"a": 0.9, "b": 1}) == "pass"
    assert rules.verdict(rule, {"a": 0.9, "b": 0}) == "fail"
    assert rules.verdict({"any": rule["all"]}, {"a": 0.9, "b": 0}) == "pass"
    assert rules.metrics(rule) == ["a", "b"]
    assert rules.describe(rule) == "(a >= 0.8 and b >= 1)"


def test_missing_or_non_numeric_metric_is_an_error_not_a_fail() -> None:
    rule = {"all": [{"metric": "a", "op": ">", "threshold": 0}, {"metric": "b", "op": ">", "threshold": 0}]}
    with pytest.raises(MeasurementError, match="'b' was not measured"):
        rules.verdict(rule, {"a": -1.0})  # every branch is evaluated, even after a false one
    for bad in (True, "0.3", [0.3], math.nan):
        with pytest.raises(MeasurementError):
            rules.verdict({"metric": "a", "op": ">", "threshold": 0}, {"a": bad})
    with pytest.raises(MeasurementError, match="malformed"):
        rules.verdict({"metric": "a", "op": "~", "threshold": 0}, {"a": 1.0})


def test_normalize_measured() -> None:
    out = normalize_measured({"x": 0.123456789012, "n": 3, "flag": True, "v": [1.0, 2], "m": {"a": 1 / 3}})
    assert out == {"x": 0.12345679, "n": 3, "flag": 1, "v": [1.0, 2], "m": {"a": 0.33333333}}
    for bad in ({"x": math.inf}, {"x": "text"}, {"x": [math.nan]}, {}):
        with pytest.raises(MeasurementError):
            normalize_measured(bad)
