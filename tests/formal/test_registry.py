"""steering_core/data/properties.toml: parses, matches its JSON Schema, and rejects broken copies."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import pytest

from steering_core.formal.registry import DEFAULT_REGISTRY, RegistryError, load_registry, validate

REQUIRED_IDS = {
    "P-unit-sphere",
    "P-normalize-zero",
    "P-safe-alpha",
    "P-alpha-max",
    "P-perturbation-ratio",
    "P-zero-alpha",
    "P-additivity",
    "P-composition",
    "P-commutation",
    "P-sign-symmetry",
    "P-scale-covariance",
    "P-normalize-idempotent",
    "P-ratio-scale-invariance",
}


def _data() -> dict:
    return tomllib.loads(DEFAULT_REGISTRY.read_text(encoding="utf-8"))


def test_registry_loads_and_covers_every_property() -> None:
    registry = load_registry()
    assert {p.id for p in registry.properties} == REQUIRED_IDS
    for prop in registry.properties:
        links = prop.links
        assert links["lean"] and links["hypothesis"] and links["contracts"]
        if prop.float["status"] == "counterexample":
            assert prop.float["counterexample"]["observed"]
            assert prop.float["bound"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["property"][0]["links"].pop("lean"), "lean"),
        (lambda d: d["property"][0]["float"].pop("counterexample"), "counterexample"),
        (lambda d: d["property"][1].update(id=d["property"][0]["id"]), "duplicate id"),
        (lambda d: d["property"][0]["float"].update(status="maybe"), "maybe"),
        (lambda d: d["property"][0]["links"].update(hypothesis=[]), "hypothesis"),
    ],
)
def test_broken_registries_are_rejected(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    data = copy.deepcopy(_data())
    mutate(data)
    problems = validate(data)
    assert problems and any(message.split()[0] in p or message in p for p in problems), problems


def test_unparsable_registry_raises(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("schema_version = [", encoding="utf-8")
    with pytest.raises(RegistryError):
        load_registry(bad)


@pytest.mark.parametrize(
    ("property_id", "constant"),
    [
        ("P-additivity", "K_ADDITIVITY"),
        ("P-composition", "K_COMPOSITION"),
        ("P-commutation", "K_COMMUTATION"),
        ("P-scale-covariance", "K_SCALE"),
        ("P-safe-alpha", "K_STEP"),
        ("P-perturbation-ratio", "K_STEP"),
        ("P-alpha-max", "K_ALPHA_MAX"),
        ("P-ratio-scale-invariance", "K_RATIO_SCALE"),
    ],
)
def test_registry_bounds_quote_the_proved_constants(property_id: str, constant: str) -> None:
    from steering_core.formal import bounds

    prop = load_registry().get(property_id)
    assert f"{getattr(bounds, constant)}*" in prop.float["bound"], prop.float["bound"]
