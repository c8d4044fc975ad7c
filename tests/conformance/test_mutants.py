"""Mutation test: each deliberately broken backend makes its target property fail.

A kit that passes everything proves nothing; here every property of steering_core/data/conformance.toml has
a mutant (tests/conformance/mutants.py) carrying the bug it exists to catch, and the unbroken
hook backend passes the same property on the same fixture (the control).
"""

from __future__ import annotations

import pytest

from steering_core.conformance.adapters import HookBackend
from steering_core.conformance.checks import CHECKS
from tests.conformance.conftest import run
from tests.conformance.mutants import MUTANTS


def test_every_property_has_a_mutant() -> None:
    assert set(MUTANTS) == set(CHECKS)


@pytest.mark.parametrize("target", sorted(MUTANTS))
def test_mutant_is_caught(kit, target: str) -> None:  # type: ignore[no-untyped-def]
    mutant = MUTANTS[target](kit[0])
    result = run(mutant, kit, only=[target]).results[0]
    assert result.status == "fail", f"{type(mutant).__name__} slipped through {target}: {result.figure}"


@pytest.mark.parametrize("target", sorted(MUTANTS))
def test_unbroken_backend_passes_the_same_property(kit, target: str) -> None:  # type: ignore[no-untyped-def]
    result = run(HookBackend(kit[0]), kit, only=[target]).results[0]
    assert result.status == "pass", result.details
