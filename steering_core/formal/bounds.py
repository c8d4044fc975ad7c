"""The rounding-error bounds, re-exported from the library layer (:mod:`steering_core.bounds`).

The bounds live in the library because :mod:`steering_core.ops` and the runtime contracts
enforce them at run time; the formal layer (SMT checks, Lean kernel, registry) proves them and
reads them from here, so existing ``steering_core.formal.bounds`` names keep working.
"""

from __future__ import annotations

from steering_core.bounds import (
    FORMATS,
    K_ADDITIVITY,
    K_ALPHA_MAX,
    K_COMMUTATION,
    K_COMPOSITION,
    K_RATIO,
    K_RATIO_SCALE,
    K_SCALE,
    K_STEP,
    FloatFormat,
    Num,
    SteerRounding,
    additivity_bound,
    commutation_bound,
    composition_bound,
    float64_slack,
    format_of,
    quotient_bound,
    scale_bound,
    steer_rounding,
    step_bound,
    step_norm_slack,
    unit_norm_tolerance,
    unit_norm_tolerance_exact,
)

__all__ = [
    "FORMATS",
    "K_ADDITIVITY",
    "K_ALPHA_MAX",
    "K_COMMUTATION",
    "K_COMPOSITION",
    "K_RATIO",
    "K_RATIO_SCALE",
    "K_SCALE",
    "K_STEP",
    "FloatFormat",
    "Num",
    "SteerRounding",
    "additivity_bound",
    "commutation_bound",
    "composition_bound",
    "float64_slack",
    "format_of",
    "quotient_bound",
    "scale_bound",
    "steer_rounding",
    "step_bound",
    "step_norm_slack",
    "unit_norm_tolerance",
    "unit_norm_tolerance_exact",
]
