"""The properties ``certify`` checks on the vector and the model before writing a certificate.

Each check has a stable id (recorded in the certificate with ``status: passed``; a failing check
stops certification with :class:`CertificationError`) and, where ``spec/properties.toml``
names the same property, that property's id (``spec_property``). The checks:

* ``vector.finite``: every entry of every layer is finite.
* ``vector.width``: every layer has the model's hidden width.
* ``vector.layers_in_range``: every layer index is in ``[0, num_layers)``.
* ``vector.unit_norm`` (P-unit-sphere): the unit-normalised direction of each layer
  (``ops.normalize``) has Euclidean norm within the spec's float bound
  (``steering_core.bounds.unit_norm_tolerance``) of 1.
* ``vector.scaling``: a vector recorded as ``unit`` has every layer's norm within 1e-5 of 1.
* ``steer.zero_alpha_identity`` (P-zero-alpha): steering with α = 0 leaves the logits bit-for-bit identical
  and installs no hook.
* ``steer.additive_delta``: steering layer L alone at the recommended α makes layer L's output
  exactly ``h + steering_delta(v_L, α)`` (bitwise) at every position of a calibration prompt.
* ``steer.ratio_identity`` (P-perturbation-ratio): on those hidden states, ``||h' - h|| / ||h||`` equals
  ``ops.perturbation_ratio(α, ||v_L||, ||h||)`` to a relative 1e-3 at every position.
* ``steer.hooks_removed``: the model's hook dictionaries are the same after all of the above.
* ``measurement.thresholds_ordered``: ``dead_max < effective_min <= effective_max < collapse_min``
  wherever defined, and the recommended α was measured effective.
* ``recommendation.ratio_recomputed``: the recorded ratio at the recommended α equals
  ``ops.perturbation_ratio`` of the recorded vector norm and median residual norm.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from steering_core.bounds import unit_norm_tolerance as _unit_norm_bound
from steering_core.certify.errors import CertificationError
from steering_core.extract import capture_layers
from steering_core.hooks import hook_snapshot
from steering_core.ops import check_vector, normalize, perturbation_ratio, steering_delta, vector_norm
from steering_core.prompts import encode
from steering_core.resources import data_path
from steering_core.steer import steer
from steering_core.vector import SteeringVector

SCALING_UNIT_TOL = 1e-5
RATIO_IDENTITY_RTOL = 1e-3
PROPERTIES_TOML = data_path("properties.toml")

# Our check id -> the id of the same property in spec/properties.toml (recorded only when the file declares it).
SPEC_PROPERTIES: dict[str, str] = {
    "vector.unit_norm": "P-unit-sphere",
    "steer.zero_alpha_identity": "P-zero-alpha",
    "steer.ratio_identity": "P-perturbation-ratio",
}


def spec_property_ids(path: Path = PROPERTIES_TOML) -> set[str]:
    """Ids of the ``[[property]]`` tables of ``spec/properties.toml`` (empty when absent or unreadable)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return set()
    items = data.get("property")
    if not isinstance(items, list):
        return set()
    return {str(item["id"]) for item in items if isinstance(item, dict) and "id" in item}


def unit_norm_tolerance(dtype: torch.dtype, d: int) -> float:
    """The spec's bound on | ||normalize(v)|| - 1 | (P-unit-sphere, :mod:`steering_core.bounds`)."""
    return float(_unit_norm_bound(dtype, d))


class CheckLog:
    """Collects passed checks; a failed check raises :class:`CertificationError`."""

    def __init__(self, spec_ids: set[str] | None = None) -> None:
        self.spec_ids = spec_property_ids() if spec_ids is None else spec_ids
        self.checks: list[dict[str, Any]] = []

    def run(self, check_id: str, fn: Callable[[], str]) -> None:
        """Run ``fn`` (returns a detail line, raises on failure) and record it as passed."""
        try:
            detail = fn()
        except CertificationError:
            raise
        except Exception as error:
            raise CertificationError(check_id, f"{type(error).__name__}: {error}") from error
        spec = SPEC_PROPERTIES.get(check_id)
        spec = spec if spec in self.spec_ids else None
        self.checks.append({"id": check_id, "spec_property": spec, "status": "passed", "detail": detail})

    def source(self) -> str:
        """Where property ids come from, for the certificate."""
        return "spec/properties.toml" if self.spec_ids else "steering_core.certify.checks (spec/properties.toml absent)"


def dtype_label(dtype: torch.dtype) -> str:
    """``float32`` rather than ``torch.float32``."""
    return str(dtype).removeprefix("torch.")


def _fail(check: str, detail: str) -> CertificationError:
    return CertificationError(check, detail)


def static_checks(log: CheckLog, vector: SteeringVector, hidden: int, n_layers: int, scaling: str) -> None:
    """Checks that need only the vector and the model's sizes."""

    def finite() -> str:
        for layer, tensor in vector.directions.items():
            if not bool(torch.isfinite(tensor).all()):
                raise _fail("vector.finite", f"layer {layer} has NaN/inf entries")
        return f"{len(vector)} layer(s), every entry finite"

    def width() -> str:
        for layer, tensor in vector.directions.items():
            check_vector(tensor, f"layer {layer}", width=hidden)
        return f"every layer has width {hidden} (the model's hidden size)"

    def in_range() -> str:
        bad = [layer for layer in vector.layer_indices if not 0 <= layer < n_layers]
        if bad:
            raise _fail("vector.layers_in_range", f"layers {bad} outside [0, {n_layers})")
        return f"layers {vector.layer_indices} within [0, {n_layers})"

    def unit() -> str:
        worst = 0.0
        tol = unit_norm_tolerance(vector.dtype, hidden)
        for tensor in vector.directions.values():
            worst = max(worst, abs(vector_norm(normalize(tensor)) - 1.0))
        if worst > tol:
            raise _fail("vector.unit_norm", f"| ||normalize(v)|| - 1 | = {worst:.3g} > {tol:.3g}")
        return f"max | ||normalize(v)|| - 1 | = {worst:.3g} <= {tol:.3g} ({dtype_label(vector.dtype)}, d={hidden})"

    def scaled() -> str:
        if scaling == "raw":
            return "raw vector: norms recorded as measured"
        worst = max(abs(n - 1.0) for n in vector.norms().values())
        if worst > SCALING_UNIT_TOL:
            raise _fail("vector.scaling", f"recorded as unit but | ||v|| - 1 | = {worst:.3g} > {SCALING_UNIT_TOL}")
        return f"unit vector: max | ||v|| - 1 | = {worst:.3g} <= {SCALING_UNIT_TOL}"

    log.run("vector.finite", finite)
    log.run("vector.width", width)
    log.run("vector.layers_in_range", in_range)
    log.run("vector.unit_norm", unit)
    log.run("vector.scaling", scaled)


@torch.no_grad()
def model_checks(log: CheckLog, model: Any, tokenizer: Any, vector: SteeringVector, alpha: float, prompt: str) -> None:
    """Checks that run the model on one calibration prompt (a few forward passes)."""
    before = hook_snapshot(model)
    device = next(model.parameters()).device
    batch = encode(tokenizer, [prompt], chat=True, device=device)
    inputs = {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask, "use_cache": False}

    def zero_alpha() -> str:
        plain = model(**inputs).logits
        with steer(model, vector, 0.0, layers=vector.layer_indices):
            installed = hook_snapshot(model)
            zero = model(**inputs).logits
        if installed != before:
            raise _fail("steer.zero_alpha_identity", "alpha 0 installed hooks")
        if not torch.equal(plain, zero):
            raise _fail("steer.zero_alpha_identity", "alpha 0 changed the logits")
        return f"alpha 0: logits bit-identical over {plain.shape[1]} positions, no hook installed"

    def additive_and_ratio() -> tuple[str, str]:
        worst_ratio = 0.0
        positions = 0
        for layer in vector.layer_indices:
            with capture_layers(model, [layer]) as captured:
                model(**inputs)
            plain = captured[layer].clone()
            with steer(model, vector, alpha, layers=layer), capture_layers(model, [layer]) as captured:
                model(**inputs)
            steered = captured[layer]
            delta = steering_delta(vector[layer], alpha, plain.dtype, plain.device)
            if not torch.equal(steered, plain + delta):
                raise _fail("steer.additive_delta", f"layer {layer}: output is not exactly h + alpha*v")
            h64, s64 = plain[0].to(torch.float64), steered[0].to(torch.float64)
            h_norm = torch.linalg.vector_norm(h64, dim=-1)
            measured = torch.linalg.vector_norm(s64 - h64, dim=-1) / h_norm
            vnorm = vector.norm(layer)
            for p in range(measured.shape[0]):
                expected = perturbation_ratio(alpha, vnorm, float(h_norm[p]))
                worst_ratio = max(worst_ratio, abs(float(measured[p]) - expected) / expected)
            positions += measured.shape[0]
        if worst_ratio > RATIO_IDENTITY_RTOL:
            raise _fail("steer.ratio_identity", f"max relative error {worst_ratio:.3g} > {RATIO_IDENTITY_RTOL}")
        return (
            f"alpha {alpha:g}, each layer alone: output == h + steering_delta(v, alpha) bitwise "
            f"at {positions} positions",
            f"max relative error of ||h'-h||/||h|| vs perturbation_ratio: {worst_ratio:.3g} <= {RATIO_IDENTITY_RTOL}",
        )

    log.run("steer.zero_alpha_identity", zero_alpha)
    details: dict[str, str] = {}

    def additive() -> str:
        details["additive"], details["ratio"] = additive_and_ratio()
        return details["additive"]

    log.run("steer.additive_delta", additive)
    log.run("steer.ratio_identity", lambda: details["ratio"])

    def hooks() -> str:
        after = hook_snapshot(model)
        if after != before:
            raise _fail("steer.hooks_removed", "hooks remained on the model after steering")
        return (
            f"hook dictionaries identical before and after ({sum(len(v) for v in after.values())} pre-existing hooks)"
        )

    log.run("steer.hooks_removed", hooks)


def measurement_checks(
    log: CheckLog,
    measurement: dict[str, Any],
    recommendation: dict[str, Any],
    vector: SteeringVector,
    calibration: dict[str, Any],
) -> None:
    """Consistency of the measured thresholds and the recorded ratios."""
    alpha = float(recommendation["alpha"])

    def ordered() -> str:
        t = measurement["thresholds"]
        chain = [t["dead_max"], t["effective_min"], t["effective_max"], t["collapse_min"]]
        known = [x for x in chain if x is not None]
        strict = [(t["dead_max"], t["effective_min"]), (t["effective_max"], t["collapse_min"])]
        for low, high in strict:
            if low is not None and high is not None and not low < high:
                raise _fail("measurement.thresholds_ordered", f"thresholds out of order: {t}")
        if (
            t["effective_min"] is not None
            and t["effective_max"] is not None
            and t["effective_min"] > t["effective_max"]
        ):
            raise _fail("measurement.thresholds_ordered", f"thresholds out of order: {t}")
        phases = {c["alpha"]: c["phase"] for c in measurement["cells"]}
        if phases.get(alpha) != "effective":
            raise _fail("measurement.thresholds_ordered", f"recommended alpha {alpha} measured {phases.get(alpha)!r}")
        return f"thresholds {t} ordered ({len(known)} defined); recommended alpha {alpha:g} measured effective"

    def recomputed() -> str:
        worst = 0.0
        for layer in vector.layer_indices:
            key = str(layer)
            expected = perturbation_ratio(alpha, vector.norm(layer), calibration["layers"][key]["median_norm"])
            recorded = recommendation["perturbation_ratio"][key]
            worst = max(worst, abs(recorded - expected))
        if not math.isclose(worst, 0.0, abs_tol=1e-12):
            raise _fail("recommendation.ratio_recomputed", f"recorded ratio differs by {worst:.3g}")
        return "recorded ratio == perturbation_ratio(alpha, ||v||, median residual norm) at every layer"

    log.run("measurement.thresholds_ordered", ordered)
    log.run("recommendation.ratio_recomputed", recomputed)
