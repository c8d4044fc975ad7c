"""The z3 checks: every registry check passes, and the checks are not vacuous."""

from __future__ import annotations

import pytest
import z3

from steering_core import bounds  # the module whose constants the bound functions read
from steering_core.formal import _fp_bounds, smt_float32, smt_real
from steering_core.formal._smt import prove
from steering_core.formal.registry import load_registry

REGISTRY = load_registry()
IDS = [p.id for p in REGISTRY.properties]


@pytest.mark.parametrize("property_id", IDS)
def test_real_check_proves(property_id: str) -> None:
    prop = REGISTRY.get(property_id)
    result = smt_real.run_check(prop.links["smt_real"])
    assert result.ok and result.status == "proved", result.details


@pytest.mark.parametrize("property_id", IDS)
def test_float_check_agrees_with_registry(property_id: str) -> None:
    prop = REGISTRY.get(property_id)
    result = smt_float32.run_check(prop.links["smt_float"], prop.float)
    assert result.ok, result.details
    assert result.status == prop.float["status"]


def test_every_check_is_linked_once() -> None:
    assert sorted(p.links["smt_real"] for p in REGISTRY.properties) == sorted(smt_real.CHECKS)
    assert sorted(p.links["smt_float"] for p in REGISTRY.properties) == sorted(smt_float32.CHECKS)


def test_a_false_real_law_is_refuted() -> None:
    h, v, a, b = z3.Reals("h v a b")
    assert prove(smt_real.steer(smt_real.steer(h, v, a), v, b) == smt_real.steer(h, v, a + 2 * b)) == "failed"


@pytest.mark.parametrize("name", ["K_ADDITIVITY", "K_COMPOSITION", "K_COMMUTATION", "K_SCALE", "K_STEP"])
def test_bound_constants_are_needed(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each proved constant fails when lowered by one: the bounds are tight for this proof."""
    check = {
        "K_ADDITIVITY": _fp_bounds.additivity,
        "K_COMPOSITION": _fp_bounds.composition,
        "K_COMMUTATION": _fp_bounds.commutation,
        "K_SCALE": _fp_bounds.scale,
        "K_STEP": _fp_bounds.step,
    }[name]
    r = bounds.steer_rounding("float32")
    assert check(r) == "proved"
    monkeypatch.setattr(bounds, name, getattr(bounds, name) - 1)
    assert check(r) == "failed"


def test_a_wrong_recorded_status_fails() -> None:
    prop = REGISTRY.get("P-sign-symmetry")
    result = smt_float32.run_check(prop.links["smt_float"], {**prop.float, "status": "counterexample"})
    assert not result.ok


def test_a_tampered_counterexample_fails() -> None:
    prop = REGISTRY.get("P-additivity")
    tampered = {**prop.float["counterexample"], "observed": {"lhs": "0x1p+0", "rhs": "0x1p+0"}}
    entry = {**prop.float, "counterexample": tampered}
    assert not smt_float32.run_check(prop.links["smt_float"], entry).ok
