"""The property x evidence matrix of the steering spec (wired as ``steer spec``).

For every property of ``steering_core/data/properties.toml`` it prints one row with five columns and exits
non-zero on any gap (a missing link or a failed check):

* **Lean**: the Lean 4 kernel's result in *this run* for the linked theorems of the prelude
  formalisation ``lean4/Kernel`` (:mod:`~steering_core.formal.lean_kernel`: compiled and
  axiom-audited): ``checked n/n``; ``FAILED <theorem>`` or ``MISSING <theorem>`` (not in the
  kernel files), or ``NO KERNEL`` when the pinned Lean library is not installed, are gaps. Every
  linked theorem must also exist, free of ``sorry``/``admit``/``axiom``, in the Mathlib reference
  ``lean4/SteeringSpec`` (:mod:`~steering_core.formal.lean_scan`), else ``MISSING (Mathlib) ...``;
  where ``lake`` exists that reference is also built (``scripts/check_lean.sh --mathlib-only``) and
  a failed build is a gap; without ``lake`` its build reads ``SKIPPED``, which is not a gap.
* **SMT R**: the z3 proof over the reals (:mod:`~steering_core.formal.smt_real`): ``proved``.
* **SMT float**: the z3 FP check (:mod:`~steering_core.formal.smt_float32`): ``holds`` or
  ``cex recorded`` when it agrees with the registry (search, replay, bound proofs).
* In both SMT columns every z3 query runs under a deterministic resource limit (``rlimit``),
  never a wall-clock timeout (:mod:`~steering_core.formal._smt`). A query z3 leaves undecided
  within its limit makes the cell ``UNKNOWN (<which query>)``: a gap (non-zero exit), never a
  pass and never a fail; it is the same on every machine with the same z3 version.
* **Hypothesis**: the linked test node ids, run with pytest in a subprocess: ``pass n/n``.
* **contract**: every linked ``module.function:contract`` is attached to that function
  (:func:`contracts.api.attached_contracts`) and, for icontract ones, carries a checker.

Usage: ``python -m steering_core.formal.matrix [--registry PATH] [--property ID ...]
[--skip-smt] [--skip-hypothesis]``. Skipped columns read ``skipped`` and are not gaps; every
link is still checked to exist. The registry and the Lean sources are package data
(:mod:`steering_core.resources`), so the matrix runs from an installed package; the Hypothesis
column runs pytest over the checkout's ``tests/``, so outside a checkout it needs
``--skip-hypothesis`` (its cells then read ``skipped (no checkout)``), else the command stops
with :class:`~steering_core.errors.CheckoutRequiredError` (exit 2).
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from steering_core.formal import lean_kernel, lean_scan
from steering_core.formal.registry import Property, Registry, RegistryError, load_registry
from steering_core.resources import checkout_root, require_checkout

COLUMNS = ("Lean", "SMT R", "SMT float", "Hypothesis", "contract")


@dataclass
class Cell:
    """One matrix cell: its text and whether it is a gap."""

    text: str
    gap: bool = False


@dataclass
class Row:
    """One property's cells, in :data:`COLUMNS` order, and details for gaps."""

    prop: Property
    cells: list[Cell] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def gaps(self) -> int:
        """How many cells are gaps."""
        return sum(c.gap for c in self.cells)


# --------------------------------------------------------------------------- Lean


@dataclass
class LeanStatus:
    """The kernel run of ``lean4/Kernel``, the Mathlib reference build (or its absence) and its scan."""

    built: bool | None  # the Mathlib reference build; None: no lake (or not run)
    build_output: str
    scan: lean_scan.ScanResult  # the Mathlib reference lean4/SteeringSpec
    kernel: lean_kernel.KernelRun | None = None


def lean_status(run_build: bool = True) -> LeanStatus:
    """Run the Lean kernel on ``lean4/Kernel`` (once per process), scan the Mathlib reference and,
    when ``run_build`` and ``lake`` is on PATH, build it (``scripts/check_lean.sh --mathlib-only``)."""
    scan = lean_scan.scan(lean_scan.MATHLIB_DIR)
    kernel = lean_kernel.kernel_run()
    root = checkout_root()  # the lake build needs the checkout's lakefile and scripts/
    if not run_build or shutil.which("lake") is None or root is None:
        return LeanStatus(None, "Mathlib reference: SKIPPED (no lake)", scan, kernel)
    proc = subprocess.run(
        ["bash", str(root / "scripts" / "check_lean.sh"), "--mathlib-only"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    return LeanStatus(proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:], scan, kernel)


def lean_cell(prop: Property, status: LeanStatus) -> Cell:
    """The kernel's result for the property's theorems (see the module docstring)."""
    names = list(prop.links["lean"])
    kernel = status.kernel
    if kernel is None or not kernel.available:
        return Cell("NO KERNEL", True)
    for want in ("failed", "unknown", "missing"):
        bad = [n for n in names if kernel.status_of(n) == want]
        if bad:
            return Cell(f"{want.upper()} {bad[0]}", True)
    if not names:
        return Cell("MISSING (no Lean theorem)", True)
    if not kernel.ok:
        return Cell("FAILED (kernel run)", True)
    missing = [n for n in names if n not in status.scan.theorems]
    if missing:
        return Cell(f"MISSING (Mathlib) {missing[0]}", True)
    if status.scan.violations:
        return Cell("FORBIDDEN token (Mathlib)", True)
    if status.built is False:
        return Cell("FAILED (lake)", True)
    return Cell(f"checked {len(names)}/{len(names)}")


# --------------------------------------------------------------------------- SMT


def _undecided(details: Sequence[str]) -> str:
    """The first undecided sub-query of a check (an ``UNKNOWN`` cell's reason)."""
    first = next((d for d in details if "unknown" in d), "a query")
    return f"z3 undecided within its rlimit: {first.split(':', 1)[0]}"


def smt_real_cell(prop: Property, run: bool) -> Cell:
    # deferred: imports z3 only when this runs, not at module import
    from steering_core.formal import smt_real

    check_id = prop.links["smt_real"]
    if check_id not in smt_real.CHECKS:
        return Cell(f"MISSING {check_id}", True)
    if not run:
        return Cell("skipped")
    result = smt_real.run_check(check_id)
    if result.status == "unknown":
        return Cell(f"UNKNOWN ({_undecided(result.details)})", True)
    return Cell(result.status, not result.ok)


def smt_float_cell(prop: Property, run: bool) -> Cell:
    # deferred: imports torch, z3 only when this runs, not at module import
    from steering_core.formal import smt_float32

    check_id = prop.links["smt_float"]
    if check_id not in smt_float32.CHECKS:
        return Cell(f"MISSING {check_id}", True)
    if not run:
        return Cell("skipped")
    result = smt_float32.run_check(check_id, prop.float)
    if result.status == "unknown":
        return Cell(f"UNKNOWN ({_undecided(result.details)})", True)
    label = "holds" if result.status == "holds" else "cex recorded"
    return Cell(label if result.ok else f"FAILED ({label})", not result.ok)


# --------------------------------------------------------------------------- Hypothesis


def node_exists(node_id: str) -> bool:
    """Whether ``path::test_name`` names a test function defined in that file of the checkout.

    Raises:
        CheckoutRequiredError: the package runs outside a source checkout (no ``tests/``).
    """
    path, _, name = node_id.partition("::")
    file = require_checkout("checking the Hypothesis links of steer spec (tests/)") / path
    if not name or not file.is_file():
        return False
    return re.search(rf"^\s*def {re.escape(name)}\(", file.read_text(encoding="utf-8"), re.MULTILINE) is not None


class PytestRun:
    """A pytest subprocess over some node ids, started at once and read with :meth:`results`.

    Started before the SMT checks so the two run side by side (``steer spec`` wall time is
    about the longer of the two instead of their sum); the verdicts do not depend on it.
    """

    def __init__(self, node_ids: Sequence[str]) -> None:
        self.node_ids = list(node_ids)
        self._tmp = tempfile.TemporaryDirectory()
        self._report = Path(self._tmp.name) / "junit.xml"
        self._proc: subprocess.Popen[bytes] | None = None
        if self.node_ids:
            env = dict(os.environ)
            env.setdefault("PYTHONHASHSEED", "0")
            self._proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    f"--junitxml={self._report}",
                    *self.node_ids,
                ],
                cwd=require_checkout("running the property tests of steer spec (pytest over tests/)"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )

    def cancel(self) -> None:
        """Stop pytest (when the caller fails before reading the results) and clean up."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._tmp.cleanup()

    def results(self) -> dict[str, tuple[int, int]]:
        """Wait for pytest; ``node id -> (passed, total)`` test cases (parametrised cases count
        towards their node id)."""
        results: dict[str, tuple[int, int]] = {n: (0, 0) for n in self.node_ids}
        try:
            if self._proc is None:
                return results
            self._proc.wait()
            if not self._report.exists():
                return results
            root = ET.parse(self._report).getroot()
        finally:
            self._tmp.cleanup()
        by_key = {}
        for node_id in self.node_ids:
            path, _, name = node_id.partition("::")
            by_key[(path[: -len(".py")].replace("/", "."), name)] = node_id
        for case in root.iter("testcase"):
            key = (case.get("classname", ""), case.get("name", "").split("[", 1)[0])
            node = by_key.get(key)
            if node is None:
                continue
            failed = any(child.tag in ("failure", "error", "skipped") for child in case)
            passed, total = results[node]
            results[node] = (passed + (0 if failed else 1), total + 1)
        return results


def run_pytest(node_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Run ``node_ids`` with pytest in a subprocess; ``node id -> (passed, total)`` test cases.

    Parametrised cases (``test_x[float16]``) count towards their node id.
    """
    return PytestRun(node_ids).results()


def hypothesis_cell(prop: Property, outcomes: dict[str, tuple[int, int]] | None) -> Cell:
    nodes = prop.links["hypothesis"]
    if outcomes is None and checkout_root() is None:
        return Cell("skipped (no checkout)")  # --skip-hypothesis outside a checkout: the tests are not there
    missing = [n for n in nodes if not node_exists(n)]
    if missing:
        return Cell(f"MISSING {missing[0].rpartition('::')[2]}", True)
    if outcomes is None:
        return Cell("skipped")
    passed = sum(outcomes.get(n, (0, 0))[0] for n in nodes)
    total = sum(outcomes.get(n, (0, 0))[1] for n in nodes)
    if total == 0:
        return Cell("NOT RUN", True)
    return Cell(f"pass {passed}/{total}", passed != total)


# --------------------------------------------------------------------------- contracts


def contract_problem(link: str) -> str | None:
    """Why ``module.function:contract`` is not attached (``None``: it is)."""
    # deferred: imports torch, deal, icontract only when this runs, not at module import
    from contracts.api import CONTRACTS, attached_contracts, has_icontract_checker

    target, _, name = link.partition(":")
    module_name, _, func_name = target.rpartition(".")
    if name not in CONTRACTS:
        return f"unknown contract {name!r}"
    try:
        func = getattr(importlib.import_module(module_name), func_name)
    except (ImportError, AttributeError):
        return f"no function {target}"
    if name not in attached_contracts(func):
        return f"{name} not attached to {target}"
    if CONTRACTS[name].startswith("icontract") and not has_icontract_checker(func):
        return f"{target} has no icontract checker"
    return None


def contract_cell(prop: Property) -> Cell:
    links = prop.links["contracts"]
    problems = [p for p in (contract_problem(link) for link in links) if p]
    if problems:
        return Cell(f"MISSING ({problems[0]})", True)
    return Cell(f"attached {len(links)}/{len(links)}")


# --------------------------------------------------------------------------- matrix


def build_rows(
    registry: Registry,
    properties: Sequence[str] = (),
    run_smt: bool = True,
    run_hypothesis: bool = True,
    lean: LeanStatus | None = None,
) -> tuple[list[Row], LeanStatus]:
    """Evaluate every cell of the selected properties (all when ``properties`` is empty)."""
    selected = [p for p in registry.properties if not properties or p.id in properties]
    lean = lean if lean is not None else lean_status()
    pending: PytestRun | None = None
    if run_hypothesis:
        nodes = sorted({n for p in selected for n in p.links["hypothesis"] if node_exists(n)})
        pending = PytestRun(nodes)  # runs while the SMT checks run below
    try:
        smt = {p.id: (smt_real_cell(p, run_smt), smt_float_cell(p, run_smt)) for p in selected}
    except BaseException:
        if pending is not None:
            pending.cancel()
        raise
    outcomes = pending.results() if pending is not None else None
    rows: list[Row] = []
    for prop in selected:
        row = Row(prop)
        row.cells = [
            lean_cell(prop, lean),
            *smt[prop.id],
            hypothesis_cell(prop, outcomes),
            contract_cell(prop),
        ]
        rows.append(row)
    return rows, lean


def render(rows: Sequence[Row], lean: LeanStatus) -> str:
    """The matrix as fixed-width text with a summary line."""
    header = ["property", *COLUMNS]
    table = [[row.prop.id, *(c.text for c in row.cells)] for row in rows]
    widths = [max(len(r[i]) for r in [header, *table]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row, cells in zip(rows, table, strict=True):
        mark = "  <- gap" if row.gaps else ""
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip() + mark)
    gaps = sum(r.gaps for r in rows)
    kernel_text = lean.kernel.summary() if lean.kernel is not None else "kernel: NOT RUN"
    mathlib_text = (
        "Mathlib reference: SKIPPED (no lake)"
        if lean.built is None
        else ("Mathlib reference: checked (lake build + axiom audit)" if lean.built else "Mathlib reference: FAILED")
    )
    lean_line = f"lean: {kernel_text}; {mathlib_text}"
    float_lines: list[str] = []
    if lean.kernel is not None and lean.kernel.available:
        names = lean.kernel.theorems
        float_bounds = sorted(n for n in names if n.startswith("SteeringFloat.") and n.endswith("_bound"))
        n_ok = sum(lean.kernel.status_of(n) == "checked" for n in float_bounds)
        float_lines.append(
            f"lean float bounds (lean4/Kernel/Float.lean, from the standard model): {n_ok}/{len(float_bounds)} "
            f"checked ({', '.join(n.removeprefix('SteeringFloat.').removesuffix('_bound') for n in float_bounds)})"
        )
    scan_line = (
        f"lean scan (Mathlib reference): {len(lean.scan.theorems)} theorems in {len(lean.scan.files)} files, "
        f"{'no sorry/admit/axiom' if lean.scan.ok else 'FORBIDDEN: ' + '; '.join(lean.scan.violations[:3])}"
    )
    # the last three lines stay: lean, scan, summary (steering_core.report reads them by position)
    lines += ["", *float_lines, lean_line, scan_line, f"{len(rows)} properties, {gaps} gap(s)"]
    return "\n".join(lines)


def cli_main(argv: list[str]) -> int:
    """Print the matrix; 0 when there is no gap, 1 on any gap, 2 when the registry is invalid."""
    parser = argparse.ArgumentParser(prog="steer spec", description="Property x evidence matrix of the steering spec.")
    parser.add_argument("--registry", type=Path, default=None, help="registry TOML (default: the shipped one)")
    parser.add_argument("--property", action="append", default=[], help="only this property id (repeatable)")
    parser.add_argument("--skip-smt", action="store_true", help="do not run the z3 checks (links still checked)")
    parser.add_argument("--skip-hypothesis", action="store_true", help="do not run the linked tests")
    args = parser.parse_args(argv)
    try:
        registry = load_registry(args.registry) if args.registry else load_registry()
    except RegistryError as exc:
        print(f"spec: invalid registry: {exc}", file=sys.stderr)
        return 2
    unknown = [p for p in args.property if p not in {q.id for q in registry.properties}]
    if unknown:
        print(f"spec: unknown property id(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    if not args.skip_hypothesis:
        require_checkout("steer spec's Hypothesis column (pytest over tests/); pass --skip-hypothesis to run the rest")
    rows, lean = build_rows(registry, args.property, not args.skip_smt, not args.skip_hypothesis)
    print(render(rows, lean))
    if lean.built is False:
        print(lean.build_output, file=sys.stderr)
    if lean.kernel is not None and not lean.kernel.ok:
        notes = [f"{f.module}: {m}" for f in lean.kernel.files if not f.ok for m in f.messages[:5]]
        print("\n".join([*notes, *lean.kernel.problems]), file=sys.stderr)
    kernel_failed = lean.kernel is None or not lean.kernel.ok
    return 1 if any(r.gaps for r in rows) or lean.built is False or kernel_failed else 0


if __name__ == "__main__":
    raise SystemExit(cli_main(sys.argv[1:]))
