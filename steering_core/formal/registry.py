"""Load and validate the property registry ``properties.toml`` (package data, :mod:`steering_core.resources`).

The registry is the single source of the steering properties: statement (words and LaTeX),
assumptions, and links to the evidence (Lean theorems, SMT checks over the reals and over
IEEE-754, Hypothesis test node ids, runtime contracts). It is parsed with :mod:`tomllib` and
validated against ``properties.schema.json`` (JSON Schema 2020-12) plus the cross-field
rules JSON Schema cannot state (unique ids and check ids).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from steering_core.resources import data_path

DEFAULT_REGISTRY = data_path("properties.toml")
SCHEMA_PATH = data_path("properties.schema.json")


class RegistryError(ValueError):
    """The registry does not parse, does not match its schema, or breaks a cross-field rule."""


@dataclass(frozen=True)
class Property:
    """One registry entry (the raw table is kept in ``raw``)."""

    id: str
    title: str
    raw: dict[str, Any]

    @property
    def links(self) -> dict[str, Any]:
        """The ``links`` table: lean, smt_real, smt_float, hypothesis, contracts."""
        links: dict[str, Any] = self.raw["links"]
        return links

    @property
    def float(self) -> dict[str, Any]:
        """The ``float`` table: format, status, counterexample, bound, ..."""
        table: dict[str, Any] = self.raw["float"]
        return table


@dataclass(frozen=True)
class Registry:
    """The parsed, validated registry."""

    path: Path
    data: dict[str, Any]
    properties: tuple[Property, ...]

    def get(self, property_id: str) -> Property:
        """The property with id ``property_id``.

        Raises:
            KeyError: no such property.
        """
        for prop in self.properties:
            if prop.id == property_id:
                return prop
        raise KeyError(property_id)


def load_schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    """The JSON Schema of the registry."""
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def validate(data: dict[str, Any], schema: dict[str, Any] | None = None) -> list[str]:
    """Every problem with ``data`` (schema errors, then duplicate ids/check ids); empty if valid."""
    schema = schema if schema is not None else load_schema()
    validator = jsonschema.Draft202012Validator(schema)
    problems = [
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    ]
    if problems:
        return problems
    seen: dict[str, set[str]] = {"id": set(), "smt_real": set(), "smt_float": set()}
    for entry in data["property"]:
        for key, value in (
            ("id", entry["id"]),
            ("smt_real", entry["links"]["smt_real"]),
            ("smt_float", entry["links"]["smt_float"]),
        ):
            if value in seen[key]:
                problems.append(f"duplicate {key} {value!r}")
            seen[key].add(value)
    return problems


def load_registry(path: Path | str = DEFAULT_REGISTRY) -> Registry:
    """Parse and validate the registry at ``path``.

    Raises:
        RegistryError: unreadable TOML, schema violations, or duplicate ids (all listed).
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RegistryError(f"{path}: {exc}") from exc
    problems = validate(data)
    if problems:
        raise RegistryError(f"{path}: " + "; ".join(problems))
    props = tuple(Property(e["id"], e["title"], e) for e in data["property"])
    return Registry(path, data, props)
