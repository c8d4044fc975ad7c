"""The four behavioural style contracts (terse, formal, socratic, dry-wit), pre-registered.

Each contract's criteria (metric, direction, minimum effect) are fixed before any run, in
:mod:`steering_core.behaviour.criteria` (re-exported here);
its (layer, alpha) come from calibration (``steer behaviour calibrate``), recorded with the
perturbation ratio in ``steering_core/data/behaviour/calibration.json``. The verdict logic lives in
:mod:`steering_core.behaviour.contract`.

| style | criterion (paired over prompts, one-sided 95% lower bound must clear it) |
| --- | --- |
| terse | words down by >= 40% (relative change of mean words); plus the seed's five checks |
| formal | formality (mean word length - informal markers per 10 words) up by >= 0.25 |
| socratic | share of sentences that are questions up by >= 0.25 |
| dry-wit | enthusiasm markers (``!`` + enthusiasm words) per 100 words down by >= 0.5 |
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from steering_core.behaviour.contract import StyleContract
from steering_core.behaviour.criteria import CRITERIA, DESCRIPTIONS, SEED_CHECKS
from steering_core.errors import InvalidParameterError
from steering_core.resources import data_path

CALIBRATION_PATH = data_path("behaviour", "calibration.json")
CALIBRATION_SCHEMA = "steering-spec/behaviour-calibration/1"

__all__ = [  # the pre-registered criteria are re-exported from steering_core.behaviour.criteria
    "CALIBRATION_PATH",
    "CALIBRATION_SCHEMA",
    "CRITERIA",
    "DESCRIPTIONS",
    "SEED_CHECKS",
    "load_calibration",
    "style_contract",
    "style_contracts",
]


def load_calibration(path: Path | None = None) -> dict[str, Any]:
    """The calibration record (see ``steer behaviour calibrate``).

    Raises:
        InvalidParameterError: the file is missing or is not a calibration record.
    """
    target = path or CALIBRATION_PATH
    try:
        data: dict[str, Any] = json.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError:
        accepted = "an existing file (run `steer behaviour calibrate`)"
        raise InvalidParameterError("calibration", accepted, str(target)) from None
    if data.get("schema") != CALIBRATION_SCHEMA:
        raise InvalidParameterError("calibration", f"schema {CALIBRATION_SCHEMA!r}", repr(data.get("schema")))
    return data


def style_contract(style: str, layer: int, alpha: float, ratio: float) -> StyleContract:
    """The contract of ``style`` at an explicit (layer, alpha); ``ratio`` is recorded with it."""
    if style not in CRITERIA:
        raise InvalidParameterError("style", f"one of {list(CRITERIA)}", repr(style))
    return StyleContract(style, CRITERIA[style], layer, alpha, ratio, style in SEED_CHECKS, DESCRIPTIONS[style])


def style_contracts(calibration: dict[str, Any] | None = None) -> dict[str, StyleContract]:
    """Every contract at its calibrated (layer, alpha), from the recorded calibration."""
    data = calibration if calibration is not None else load_calibration()
    out: dict[str, StyleContract] = {}
    for style in CRITERIA:
        chosen = data["styles"][style]["chosen"]
        out[style] = style_contract(style, int(chosen["layer"]), float(chosen["alpha"]), float(chosen["ratio"]))
    return out
