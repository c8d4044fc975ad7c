"""The JSON Schema (draft 2020-12) of a certificate, and validation against it.

The schema is defined here so the installed package can validate without the repository;
``spec/certificate.schema.json`` is this same schema written out by :func:`schema_text`
(a test fails when the two differ). Regenerate it with::

    python -c "from steering_core.certify.schema import schema_text as s; print(s(), end='')" \
        > spec/certificate.schema.json
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from steering_core.certify.errors import SchemaError

SCHEMA_ID = "https://steering-spec.invalid/spec/certificate.schema.json"

_HEX64 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
_NUM = {"type": "number"}
_NONNEG = {"type": "number", "minimum": 0}
_POS = {"type": "number", "exclusiveMinimum": 0}
_LAYER_KEY = "^(0|[1-9][0-9]{0,3})$"
_NULLABLE_NUM = {"type": ["number", "null"]}


def _obj(properties: dict[str, Any], required: list[str] | None = None, extra: bool = False) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required if required is not None else sorted(properties),
        "additionalProperties": extra,
    }


def _per_layer(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "minProperties": 1,
        "patternProperties": {_LAYER_KEY: value},
        "additionalProperties": False,
    }


_TOOL = _obj({"name": {"const": "steering-spec"}, "version": {"type": "string", "minLength": 1}})

_MODEL = _obj(
    {
        "name": {"type": "string", "minLength": 1},
        "architecture": {"type": "string", "minLength": 1},
        "model_type": {"type": ["string", "null"]},
        "hidden_size": {"type": "integer", "minimum": 1},
        "num_layers": {"type": "integer", "minimum": 1},
        "dtype": {"enum": ["float32", "float16", "bfloat16", "float64"]},
        "fingerprint": _obj(
            {
                "config": _obj(
                    {
                        "algorithm": {"const": "config-fields-v1"},
                        "fields": {"type": "object"},
                        "sha256": _HEX64,
                    }
                ),
                "weights": _obj(
                    {
                        "algorithm": {"const": "strided-sample-v1"},
                        "samples_per_tensor": {"type": "integer", "minimum": 1},
                        "n_tensors": {"type": "integer", "minimum": 1},
                        "n_elements": {"type": "integer", "minimum": 1},
                        "sha256": _HEX64,
                    }
                ),
            }
        ),
        "source": {"type": ["object", "null"]},
    }
)

_VECTOR = _obj(
    {
        "style": {"type": ["string", "null"]},
        "layers": {
            "type": "array",
            "items": {"type": "integer", "minimum": 0, "maximum": 9999},
            "minItems": 1,
            "uniqueItems": True,
        },
        "layer_indexing": {"const": "0-based decoder-layer output"},
        "dtype": {"enum": ["float32", "float16", "bfloat16", "float64"]},
        "hidden_size": {"type": "integer", "minimum": 1},
        "scaling": {"enum": ["raw", "unit"]},
        "norms": _per_layer(_NONNEG),
    }
)

_PAIR = _obj({"positive": {"type": "string", "minLength": 1}, "negative": {"type": "string", "minLength": 1}})

_RECIPE = {
    "oneOf": [
        _obj(
            {
                "kind": {"const": "contrast-pairs"},
                "pairs": {"type": "array", "items": _PAIR, "minItems": 1},
                "pairs_sha256": _HEX64,
                "position": {"enum": ["last", "mean"]},
                "aggregator": {"enum": ["mean", "pca"]},
                "scaling": {"enum": ["raw", "unit"]},
                "chat_template": {"type": "boolean"},
            }
        ),
        _obj(
            {
                "kind": {"const": "imported"},
                "format": {"type": "string", "minLength": 1},
                "file_sha256": _HEX64,
                "model_hint": {"type": ["string", "null"]},
                "layer_numbering": {"type": "string"},
            }
        ),
    ]
}

_NORM_STATS = _obj(
    {
        "median_norm": _POS,
        "mean_norm": _POS,
        "first_token_norm": _NONNEG,
        "spread": _NONNEG,
        "n_positions": {"type": "integer", "minimum": 1},
    }
)

_CALIBRATION = _obj(
    {
        "prompt_set": {"type": "string", "minLength": 1},
        "prompt_set_sha256": _HEX64,
        "n_prompts": {"type": "integer", "minimum": 1},
        "prompts_sha256": _HEX64,
        "chat_template": {"type": "boolean"},
        "statistic": {"type": "string"},
        "layers": _per_layer(_NORM_STATS),
    }
)

_CELL = _obj(
    {
        "alpha": _NUM,
        "ratio": _per_layer(_NONNEG),
        "mean_words": _NONNEG,
        "n_degenerate": {"type": "integer", "minimum": 0},
        "n_identical": {"type": "integer", "minimum": 0},
        "phase": {"enum": ["dead", "effective", "collapse"]},
    }
)

_MEASUREMENT = _obj(
    {
        "protocol": _obj(
            {
                "prompt_set": {"type": "string"},
                "n_prompts": {"type": "integer", "minimum": 1},
                "prompts_sha256": _HEX64,
                "max_new_tokens": {"type": "integer", "minimum": 1},
                "alphas": {"type": "array", "items": _POS, "minItems": 1},
                "decoding": {"const": "greedy"},
                "positions": {"const": "all"},
                "layers": {"const": "all layers of the vector at once"},
                "batch_size": {"type": "integer", "minimum": 1},
                "classifier": {"type": "string"},
                "collapse_share": _NUM,
                "effect_metric": {"type": "string"},
            }
        ),
        "baseline_mean_words": _NONNEG,
        "cells": {"type": "array", "items": _CELL, "minItems": 1},
        "thresholds": _obj(
            {
                "dead_max": _NULLABLE_NUM,
                "effective_min": _NULLABLE_NUM,
                "effective_max": _NULLABLE_NUM,
                "collapse_min": _NULLABLE_NUM,
            }
        ),
    }
)

_RECOMMENDATION = _obj(
    {
        "alpha": _POS,
        "perturbation_ratio": _per_layer(_NONNEG),
        "safe_alpha_max": _POS,
        "safe_ratio_max": _per_layer(_NONNEG),
        "rule": {"type": "string"},
        "effect": _obj(
            {
                "metric": {"type": "string"},
                "baseline": _NONNEG,
                "steered": _NONNEG,
                "relative_change": _NUM,
            }
        ),
    }
)

_CHECK = _obj(
    {
        "id": {"type": "string", "pattern": "^[a-z0-9_.-]+$"},
        "spec_property": {"type": ["string", "null"]},
        "status": {"const": "passed"},
        "detail": {"type": "string"},
    }
)

_PROPERTIES = _obj(
    {
        "tool": _TOOL,
        "source": {"type": "string"},
        "checks": {"type": "array", "items": _CHECK, "minItems": 1},
    }
)

_UNIT = {"type": ["number", "null"], "minimum": 0, "maximum": 1}

_CONTRACT_DIRECTION = _obj(
    {
        "direction": {"enum": ["positive", "negative"]},
        "questions": _obj(
            {"version": {"type": "string", "minLength": 1}, "sha256": _HEX64, "n": {"type": "integer", "minimum": 1}}
        ),
        "ratio": _POS,
        "layer_alphas": _per_layer(_NUM),
        "rule": {"type": "string", "minLength": 1},
        "threshold": _POS,
        "baseline_mean": _NUM,
        "steered_mean": _NUM,
        "effect": _NULLABLE_NUM,
        "ci_low": _NULLABLE_NUM,
        "perplexity_ratio": {"type": ["number", "null"], "minimum": 0},
        "guard_passed": {"type": "boolean"},
        "passed": {"type": "boolean"},
        "specific": {"type": "boolean"},
        "reliability": _obj(
            {
                "anti_steerable_fraction": _UNIT,
                "n_wrong": {"type": "integer", "minimum": 0},
                "n": {"type": "integer", "minimum": 0},
                "split_half_sign_agreement": _UNIT,
            }
        ),
        "metric_auc_held_out": _UNIT,
    }
)

_CONTRACTS = _obj(
    {
        "protocol": {"type": "string", "minLength": 1},
        "style": {"type": "string", "minLength": 1},
        "metrics_version": {"type": "string", "minLength": 1},
        "max_new_tokens": {"type": "integer", "minimum": 1},
        "fluency_max_ratio": _POS,
        "ratio_source": {"type": "string"},
        "directions": {"type": "array", "items": _CONTRACT_DIRECTION, "minItems": 1, "maxItems": 2},
    }
)
"""Optional: the directed style contracts of the vector (steering_core.behaviour.certificate), with reliability."""

_BODY_REQUIRED = sorted(
    [
        "kind",
        "created",
        "tool",
        "model",
        "vector",
        "recipe",
        "calibration",
        "measurement",
        "recommendation",
        "properties",
    ]
)

_BODY = _obj(
    {
        "kind": {"const": "steering-vector"},
        "created": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"},
        "tool": _TOOL,
        "model": _MODEL,
        "vector": _VECTOR,
        "recipe": _RECIPE,
        "calibration": _CALIBRATION,
        "measurement": _MEASUREMENT,
        "recommendation": _RECOMMENDATION,
        "properties": _PROPERTIES,
        "contracts": _CONTRACTS,
    },
    required=_BODY_REQUIRED,
)

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "steering-spec certified steering vector: certificate",
    "description": (
        "Stored as canonical JSON (sorted keys, compact separators, UTF-8) under the safetensors metadata key "
        "'steering_spec.certificate'. digest.hex = sha256 over the tensors and the canonical body in layout "
        "steering-spec-digest-v1 (see steering_core/certify/certificate.py). signature.value = Ed25519 over the "
        "ASCII bytes 'steering-spec certified-vector v1 sha256:' + digest.hex."
    ),
    **_obj(
        {
            "schema_version": {"const": 1},
            "format": {"const": "steering-spec/certified-vector"},
            "body": _BODY,
            "digest": _obj(
                {
                    "algorithm": {"const": "sha256"},
                    "layout": {"const": "steering-spec-digest-v1"},
                    "hex": _HEX64,
                }
            ),
            "signature": {
                "oneOf": [
                    {"type": "null"},
                    _obj(
                        {
                            "algorithm": {"const": "ed25519"},
                            "public_key": _HEX64,
                            "value": {"type": "string", "pattern": "^[0-9a-f]{128}$"},
                        }
                    ),
                ]
            },
        }
    ),
}


def schema_text() -> str:
    """The schema as the text of ``spec/certificate.schema.json`` (indented, sorted keys, final newline)."""
    return json.dumps(SCHEMA, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    return jsonschema.Draft202012Validator(SCHEMA)


def validate(certificate: Any) -> None:
    """Validate a parsed certificate against :data:`SCHEMA`.

    Raises:
        SchemaError: the first (deepest-path-first) violation, with its JSON path.
    """
    errors = sorted(_validator().iter_errors(certificate), key=lambda e: ([str(p) for p in e.absolute_path], e.message))
    if errors:
        first = errors[0]
        path = "/".join(str(p) for p in first.absolute_path) or "(root)"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise SchemaError("schema", f"at {path}: {first.message[:300]}{more}")
