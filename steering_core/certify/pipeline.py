"""``certify``: extract (or take) a vector, measure it, check it, and write a certified file.

:func:`certify_vector` runs the protocol of :mod:`steering_core.certify.measure` and the checks
of :mod:`steering_core.certify.checks` on a loaded model and returns a sealed
:class:`CertifiedVector`; :func:`write_certified` re-verifies the bytes in memory and only then
writes them atomically. Nothing is written when any step fails.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from steering_core.canonical import sha256_hex
from steering_core.certify import checks as checks_mod
from steering_core.certify.certificate import CertifiedVector, seal, tool_block
from steering_core.certify.errors import CertificationError
from steering_core.certify.fileformat import DEFAULT_LIMITS, Limits, dtype_name, write_atomic
from steering_core.certify.fingerprint import model_identity
from steering_core.certify.measure import (
    RECOMMENDATION_RULE,
    Cell,
    Protocol,
    calibrate,
    measurement_block,
    ratios,
    recommend,
    sweep,
)
from steering_core.certify.verify import verify_bytes
from steering_core.extract import extract
from steering_core.layers import hidden_size, num_layers
from steering_core.models import LoadedModel, resolve_embedded
from steering_core.vector import Aggregator, ReadPosition, SteeringVector


def _model_source(loaded: LoadedModel) -> dict[str, Any]:
    embedded = resolve_embedded(loaded.name)
    if embedded is not None:
        return {"kind": "embedded", "gguf_name": embedded.gguf_name, "gguf_sha256": embedded.sha256}
    return {"kind": "other", "name_or_path": loaded.name}


def recipe_block(vector: SteeringVector) -> dict[str, Any]:
    """The ``recipe`` block of a vector extracted from contrast pairs."""
    recipe = vector.recipe
    if recipe is None:
        raise CertificationError("recipe", "the vector has no recipe; pass an explicit recipe block (e.g. imported)")
    pairs = [{"positive": p.positive, "negative": p.negative} for p in recipe.pairs]
    return {
        "kind": "contrast-pairs",
        "pairs": pairs,
        "pairs_sha256": sha256_hex(pairs, "recipe.pairs"),
        "position": recipe.read_at,
        "aggregator": recipe.aggregator,
        "scaling": "unit" if recipe.normalized else "raw",
        "chat_template": recipe.chat_template,
    }


def detect_scaling(vector: SteeringVector) -> str:
    """``unit`` when every layer's norm is within 1e-5 of 1 (e.g. repeng's PCA directions), else ``raw``;
    used for vectors whose recipe does not say."""
    return "unit" if all(abs(n - 1.0) <= checks_mod.SCALING_UNIT_TOL for n in vector.norms().values()) else "raw"


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def certify_vector(
    loaded: LoadedModel,
    vector: SteeringVector,
    *,
    alpha: float | None = None,
    protocol: Protocol | None = None,
    recipe: dict[str, Any] | None = None,
    signing_seed: bytes | None = None,
    created: str | None = None,
    on_cell: Callable[[Cell], None] | None = None,
    spec_ids: set[str] | None = None,
    execution: Any = None,
    contracts: dict[str, Any] | None = None,
) -> CertifiedVector:
    """Measure, check and seal ``vector`` for ``loaded``'s model.

    Args:
        loaded: the model the vector is for (its tokenizer is used for every measurement).
        vector: the directions; every layer is steered together in the behaviour sweep.
        alpha: the α to recommend (must be measured effective); None picks one (see
            :func:`steering_core.certify.measure.recommend`).
        protocol: the measurement protocol (default :class:`Protocol`).
        recipe: the ``recipe`` block; default: from ``vector.recipe`` (contrast pairs).
        signing_seed: a 32-byte Ed25519 seed to sign the digest with (None: unsigned).
        created: ISO-8601 UTC time (``YYYY-MM-DDTHH:MM:SSZ``); default now.
        execution: a :class:`steering_core.execute.cli.Execution` to run the behaviour sweep's
            generations on (local or Ray executor); None generates in-process. Same cells.
        contracts: the ``contracts`` block measured on this same vector
            (:func:`steering_core.behaviour.certificate.contracts_block`: the directed style
            contracts with reliability), stored in the body and so covered by the digest; None
            leaves the optional block out.

    Raises:
        CertificationError: a check failed or no α is certifiable (the error names which).
    """
    model, tokenizer = loaded.model, loaded.tokenizer
    protocol = (protocol or Protocol()).with_alpha(alpha)
    width, n_layers = hidden_size(model), num_layers(model)
    recipe_dict = recipe if recipe is not None else recipe_block(vector)
    scaling = str(recipe_dict.get("scaling") or detect_scaling(vector))
    log = checks_mod.CheckLog(spec_ids)
    checks_mod.static_checks(log, vector, width, n_layers, scaling)
    vector = vector.to(device="cpu")
    model_vector = vector.to(device=next(model.parameters()).device)

    calibration = calibrate(model, tokenizer, vector.layer_indices, protocol)
    baseline, cells = sweep(model, tokenizer, model_vector, protocol, on_cell, execution, loaded)
    chosen, safe_max = recommend(cells, alpha)
    checks_mod.model_checks(log, model, tokenizer, model_vector, chosen, protocol.calibration_set()[0])

    measurement = measurement_block(protocol, baseline, cells, vector, calibration)
    steered_words = next(c.mean_words for c in cells if c.alpha == chosen)
    base_words = float(measurement["baseline_mean_words"])
    recommendation = {
        "alpha": chosen,
        "perturbation_ratio": ratios(vector, chosen, calibration),
        "safe_alpha_max": safe_max,
        "safe_ratio_max": ratios(vector, safe_max, calibration),
        "rule": RECOMMENDATION_RULE,
        "effect": {
            "metric": "mean_words",
            "baseline": base_words,
            "steered": steered_words,
            "relative_change": (steered_words - base_words) / base_words if base_words else 0.0,
        },
    }
    checks_mod.measurement_checks(log, measurement, recommendation, vector, calibration)

    body: dict[str, Any] = {
        "kind": "steering-vector",
        "created": created or _utc_now(),
        "tool": tool_block(),
        "model": model_identity(model, loaded.name, _model_source(loaded)),
        "vector": {
            "style": vector.style,
            "layers": vector.layer_indices,
            "layer_indexing": "0-based decoder-layer output",
            "dtype": dtype_name(vector.dtype),
            "hidden_size": vector.hidden_size,
            "scaling": scaling,
            "norms": {str(layer): norm for layer, norm in vector.norms().items()},
        },
        "recipe": recipe_dict,
        "calibration": calibration,
        "measurement": measurement,
        "recommendation": recommendation,
        "properties": {"tool": tool_block(), "source": log.source(), "checks": log.checks},
    }
    if contracts is not None:
        body["contracts"] = contracts
    return seal(vector.directions, body, signing_seed)


def certify_style(
    loaded: LoadedModel,
    style: str,
    layers: Sequence[int],
    *,
    position: ReadPosition = "last",
    aggregator: Aggregator = "mean",
    normalize: bool = False,
    **kwargs: Any,
) -> CertifiedVector:
    """Extract ``style`` at ``layers`` with :func:`steering_core.extract.extract`, then :func:`certify_vector`."""
    vector = extract(
        loaded, style=style, layers=list(layers), read_at=position, aggregator=aggregator, normalize=normalize
    )
    return certify_vector(loaded, vector, **kwargs)


def write_certified(path: str | os.PathLike[str], certified: CertifiedVector, limits: Limits = DEFAULT_LIMITS) -> Path:
    """Re-verify ``certified``'s bytes offline, then write them atomically to ``path``.

    Raises:
        CertificateError: the bytes do not verify (nothing is written).
    """
    data = certified.to_bytes()
    report = verify_bytes(data, limits=limits)
    error = report.first_error()
    if error is not None:
        raise error
    return write_atomic(path, data)
