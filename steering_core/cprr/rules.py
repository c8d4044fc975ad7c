"""Machine-evaluable decision rules: the verdict of a run is computed, never typed.

A rule is JSON:

* a comparison ``{"metric": NAME, "op": OP, "threshold": NUMBER}`` with ``OP`` one of
  ``>``, ``>=``, ``<``, ``<=``, ``==``, ``!=``; it holds when ``measured[NAME] OP threshold``.
  ``measured[NAME]`` must be a finite number (int or float; ``bool`` is refused);
* ``{"all": [RULE, ...]}`` (every sub-rule holds) or ``{"any": [RULE, ...]}`` (at least one).

:func:`verdict` is ``"pass"`` when the rule holds and ``"fail"`` otherwise. A metric that is
missing or not a number is an error (:class:`~steering_core.cprr.errors.MeasurementError`),
never a silent fail: a run that did not measure what the protocol names has no verdict.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from typing import Any, Literal

from steering_core.cprr.errors import MeasurementError

Verdict = Literal["pass", "fail"]
OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


def _number(measured: Mapping[str, Any], metric: str) -> float:
    if metric not in measured:
        raise MeasurementError(f"decision rule: metric {metric!r} was not measured (measured: {sorted(measured)})")
    value = measured[metric]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise MeasurementError(f"decision rule: metric {metric!r} must be a finite number, got {value!r}")
    return float(value)


def holds(rule: Mapping[str, Any], measured: Mapping[str, Any]) -> bool:
    """Whether ``rule`` holds for ``measured`` (see the module docstring).

    Raises:
        MeasurementError: a named metric is missing or not a finite number, or the rule is malformed.
    """
    if "all" in rule:
        return all([holds(sub, measured) for sub in rule["all"]])  # evaluate every branch: all metrics must exist
    if "any" in rule:
        return any([holds(sub, measured) for sub in rule["any"]])
    op = rule.get("op")
    if op not in OPS or "metric" not in rule or "threshold" not in rule:
        raise MeasurementError(f"decision rule: malformed rule {dict(rule)!r}")
    threshold = rule["threshold"]
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise MeasurementError(f"decision rule: threshold must be a number, got {threshold!r}")
    return OPS[op](_number(measured, str(rule["metric"])), float(threshold))


def verdict(rule: Mapping[str, Any], measured: Mapping[str, Any]) -> Verdict:
    """``"pass"`` when :func:`holds`, else ``"fail"``."""
    return "pass" if holds(rule, measured) else "fail"


def metrics(rule: Mapping[str, Any]) -> list[str]:
    """The metric names a rule reads, in order of appearance, without repeats."""
    if "all" in rule or "any" in rule:
        out: list[str] = []
        for sub in rule.get("all", rule.get("any", [])):
            out.extend(m for m in metrics(sub) if m not in out)
        return out
    return [str(rule["metric"])]


def describe(rule: Mapping[str, Any]) -> str:
    """The rule in words, e.g. ``mean_abs_cos > 0.15`` or ``(a >= 0.8 and b >= 1)``."""
    if "all" in rule:
        return "(" + " and ".join(describe(sub) for sub in rule["all"]) + ")"
    if "any" in rule:
        return "(" + " or ".join(describe(sub) for sub in rule["any"]) + ")"
    return f"{rule['metric']} {rule['op']} {rule['threshold']:g}"
