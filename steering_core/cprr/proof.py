"""What "proved" means here: the linked spec property exists and its checks pass.

:func:`check_property` evaluates the property's row of the verification matrix
(:mod:`steering_core.formal.matrix`, the same code as ``steer spec --property ID``):

* **deep** (required for a ``proved`` transition, and ``steer cprr check --deep``): the z3 proofs
  over the reals and over IEEE floats run, the linked Hypothesis tests run in a subprocess, the
  runtime contracts must be attached, and Lean is built with ``lake`` where a Lean toolchain
  exists (``checked``) or, where none exists, reads ``SKIPPED`` -- the static scan must still find
  every linked theorem with no ``sorry``/``admit``/``axiom``. Checks pass when the row has no gap.
* **shallow** (``steer cprr check`` default, cheap): the property exists, every link resolves
  (theorems present and sorry-free, SMT check ids registered, test functions defined, contracts
  attached); nothing is executed.

The result records each column's text, whether Lean was actually built, the linked Lean
theorem names and the sha256 of ``spec/properties.toml``, so the ``proved`` event says exactly
what was checked.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ProofCheck:
    """The outcome of checking one property (see the module docstring)."""

    property_id: str
    deep: bool
    ok: bool
    cells: dict[str, str] = field(default_factory=dict)
    lean_built: bool | None = None
    theorems: tuple[str, ...] = ()
    registry_sha256: str | None = None
    problems: tuple[str, ...] = ()

    def to_details(self) -> dict[str, Any]:
        """JSON-ready details for the history event of a ``proved`` transition."""
        return {
            "property": self.property_id,
            "deep": self.deep,
            "matrix": dict(self.cells),
            "lean": "checked"
            if self.lean_built
            else ("SKIPPED (no Lean toolchain)" if self.lean_built is None else "FAILED"),
            "lean_theorems": list(self.theorems),
            "registry_sha256": self.registry_sha256,
        }


def check_property(property_id: str, deep: bool = True) -> ProofCheck:
    """Check property ``property_id`` of ``spec/properties.toml`` (deep or shallow, see the module docstring)."""
    from steering_core.formal.matrix import COLUMNS, build_rows, lean_status
    from steering_core.formal.registry import DEFAULT_REGISTRY, RegistryError, load_registry

    try:
        registry = load_registry()
    except RegistryError as error:
        return ProofCheck(property_id, deep, False, problems=(f"the property registry is invalid: {error}",))
    known = [p.id for p in registry.properties]
    if property_id not in known:
        return ProofCheck(property_id, deep, False, problems=(f"no property {property_id!r} in spec/properties.toml",))
    rows, lean = build_rows(
        registry, [property_id], run_smt=deep, run_hypothesis=deep, lean=lean_status(run_build=deep)
    )
    row = rows[0]
    cells = {name: cell.text for name, cell in zip(COLUMNS, row.cells, strict=True)}
    problems = tuple(f"{name}: {cell.text}" for name, cell in zip(COLUMNS, row.cells, strict=True) if cell.gap)
    if lean.built is False:
        problems = (*problems, "Lean: lake build failed")
    theorems = tuple(str(t) for t in registry.get(property_id).links["lean"])
    digest = hashlib.sha256(DEFAULT_REGISTRY.read_bytes()).hexdigest()
    return ProofCheck(property_id, deep, not problems, cells, lean.built, theorems, digest, problems)


def lean_theorems(property_id: str) -> list[str]:
    """The Lean theorem names linked from ``property_id`` (empty when it does not exist)."""
    from steering_core.formal.registry import load_registry

    try:
        return [str(t) for t in load_registry().get(property_id).links["lean"]]
    except KeyError:
        return []
