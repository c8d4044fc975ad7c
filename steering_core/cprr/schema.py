"""The JSON Schema of registry entries (``cprr/conjecture.schema.json`` in the package data, JSON Schema 2020-12)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import jsonschema

from steering_core.resources import data_path

SCHEMA_PATH = data_path("cprr", "conjecture.schema.json")
SCHEMA_ID = "steering-spec/cprr/1"


@lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    """The entry schema (read once)."""
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def schema_problems(entry: Any) -> list[str]:
    """Every schema violation of ``entry`` as ``path: message`` lines; empty when it is valid."""
    validator = jsonschema.Draft202012Validator(load_schema())
    errors = sorted(validator.iter_errors(entry), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}" for e in errors]
