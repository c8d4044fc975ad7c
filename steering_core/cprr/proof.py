"""What "proved" means here: the linked spec property exists and its checks pass *in this run*.

:func:`check_property` evaluates the property's row of the verification matrix
(:mod:`steering_core.formal.matrix`, the same code as ``steer spec --property ID``). In both
modes the Lean kernel runs (:mod:`steering_core.formal.lean_kernel`: Lean 4.35.0 compiles
``lean4/Kernel`` and audits the axioms of every theorem; a few seconds, once per process): a
property is proved only when it links at least one Lean theorem and the kernel checked every
one of them in this run. Without the kernel (wheel not installed), or when a theorem fails or
is missing, the check fails: nothing is called proved on the strength of a check that did not run.

* **deep** (required for a ``proved`` transition, and ``steer cprr check --deep``): also the z3
  proofs over the reals and over IEEE floats run, the linked Hypothesis tests run in a
  subprocess, the runtime contracts must be attached, and the Mathlib reference is built with
  ``lake`` where it exists (``SKIPPED`` where not; the static scan must still find every linked
  theorem there). Checks pass when the row has no gap.
* **shallow** (``steer cprr check`` default): the kernel check above, and every other link
  resolves (SMT check ids registered, test functions defined, contracts attached) without
  running z3 or the tests.

The result records each column's text, the theorems the kernel checked and its version,
whether the Mathlib reference was built, and the sha256 of ``steering_core/data/properties.toml``, so the
``proved`` event says exactly what was checked.
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
    kernel_checked: tuple[str, ...] = ()
    kernel_version: str = ""

    def lean_text(self) -> str:
        """What the Lean kernel checked in this run, and the Mathlib reference's build state."""
        return _lean_text(self.kernel_version, len(self.kernel_checked), len(self.theorems), self.lean_built)

    def to_details(self) -> dict[str, Any]:
        """JSON-ready details for the history event of a ``proved`` transition."""
        return {
            "property": self.property_id,
            "deep": self.deep,
            "matrix": dict(self.cells),
            "lean": self.lean_text(),
            "lean_theorems": list(self.theorems),
            "lean_kernel_checked": list(self.kernel_checked),
            "registry_sha256": self.registry_sha256,
        }


def _lean_text(kernel_version: str, checked: int, total: int, lean_built: bool | None) -> str:
    kernel = f"kernel {kernel_version or '?'}: checked {checked}/{total} in this run (prelude)"
    mathlib = (
        "Mathlib reference: SKIPPED (no lake)"
        if lean_built is None
        else ("Mathlib reference: checked (lake)" if lean_built else "Mathlib reference: FAILED")
    )
    return f"{kernel}; {mathlib}"


def check_property(property_id: str, deep: bool = True) -> ProofCheck:
    """Check property ``property_id`` of the property registry (deep or shallow, see the module docstring)."""
    # deferred: imports jsonschema only when this runs, not at module import
    from steering_core.formal.matrix import COLUMNS, build_rows, lean_status
    from steering_core.formal.registry import DEFAULT_REGISTRY, RegistryError, load_registry

    try:
        registry = load_registry()
    except RegistryError as error:
        return ProofCheck(property_id, deep, False, problems=(f"the property registry is invalid: {error}",))
    known = [p.id for p in registry.properties]
    if property_id not in known:
        return ProofCheck(property_id, deep, False, problems=(f"no property {property_id!r} in the property registry",))
    rows, lean = build_rows(
        registry, [property_id], run_smt=deep, run_hypothesis=deep, lean=lean_status(run_build=deep)
    )
    row = rows[0]
    cells = {name: cell.text for name, cell in zip(COLUMNS, row.cells, strict=True)}
    problems = tuple(f"{name}: {cell.text}" for name, cell in zip(COLUMNS, row.cells, strict=True) if cell.gap)
    if lean.built is False:
        problems = (*problems, "Lean: lake build of the Mathlib reference failed")
    theorems = tuple(str(t) for t in registry.get(property_id).links["lean"])
    kernel = lean.kernel
    checked = tuple(t for t in theorems if kernel is not None and kernel.status_of(t) == "checked")
    if not theorems:
        problems = (*problems, "Lean: the property links no Lean theorem")
    elif kernel is None or not kernel.available:
        problems = (*problems, "Lean: the Lean kernel did not run (make lean installs it)")
    elif len(checked) != len(theorems) or not kernel.ok:
        problems = (*problems, f"Lean: the kernel checked {len(checked)}/{len(theorems)} theorems in this run")
    digest = hashlib.sha256(DEFAULT_REGISTRY.read_bytes()).hexdigest()
    version = kernel.version if kernel is not None else ""
    return ProofCheck(property_id, deep, not problems, cells, lean.built, theorems, digest, problems, checked, version)


def shown_status(entry: dict[str, Any]) -> str:
    """The status to display for a CPRR entry: ``proved`` only when :func:`check_property` passes
    in this process (the Lean kernel checked every theorem of ``proved_by``'s property in this run);
    otherwise ``proved (NOT CHECKED in this run: <why>)``. Other statuses are returned unchanged.
    For ``steer cprr board`` and ``cite``, which otherwise show what the files say."""
    status = str(entry.get("status"))
    if status != "proved":
        return status
    proved_by = entry.get("proved_by") or {}
    check = check_property(str(proved_by.get("property")), deep=False)
    return "proved" if check.ok else f"proved (NOT CHECKED in this run: {'; '.join(check.problems)})"


def lean_theorems(property_id: str) -> list[str]:
    """The Lean theorem names linked from ``property_id`` (empty when it does not exist)."""
    # deferred: imports jsonschema only when this runs, not at module import
    from steering_core.formal.registry import load_registry

    try:
        return [str(t) for t in load_registry().get(property_id).links["lean"]]
    except KeyError:
        return []
