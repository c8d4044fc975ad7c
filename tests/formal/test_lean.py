"""lean4/: no sorry/admit/axiom, every registry theorem exists in both formalisations, and `make lean`."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from steering_core.formal import lean_scan
from steering_core.formal.registry import Property, Registry, load_registry

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_lean_sources_are_clean_and_complete() -> None:
    problems = lean_scan.check(load_registry())
    assert problems == [], lean_scan.format_problems(problems)


def test_axioms_module_prints_every_theorem() -> None:
    axioms = (lean_scan.MATHLIB_DIR / "Axioms.lean").read_text(encoding="utf-8")
    printed = {line.split()[-1] for line in axioms.splitlines() if line.startswith("#print axioms ")}
    assert printed == lean_scan.scan(lean_scan.MATHLIB_DIR).theorems


def test_toolchain_and_mathlib_are_pinned_to_the_same_release() -> None:
    toolchain = (REPO_ROOT / "lean-toolchain").read_text(encoding="utf-8").strip()
    lakefile = (REPO_ROOT / "lakefile.lean").read_text(encoding="utf-8")
    version = toolchain.rpartition(":")[2]
    assert toolchain == f"leanprover/lean4:{version}" and version.startswith("v4.")
    assert f'"https://github.com/leanprover-community/mathlib4" @ "{version}"' in lakefile


@pytest.mark.parametrize(
    "snippet",
    [
        "theorem t : 1 = 1 := by sorry",
        "theorem t : 1 = 1 := by admit",
        "axiom cheat : False",
        "private axiom cheat : False",
    ],
)
def test_forbidden_tokens_are_found(tmp_path: Path, snippet: str) -> None:
    (tmp_path / "lean4").mkdir()
    (tmp_path / "lean4" / "X.lean").write_text(f"namespace X\n{snippet}\nend X\n", encoding="utf-8")
    assert not lean_scan.scan(tmp_path / "lean4").ok


def test_comments_and_strings_may_mention_forbidden_words(tmp_path: Path) -> None:
    (tmp_path / "lean4").mkdir()
    source = (
        "/-! no sorry here, /- nested axiom -/ -/\n-- admit nothing\n"
        'def s : String := "sorry"\ntheorem t : 1 = 1 := rfl\n'
    )
    (tmp_path / "lean4" / "X.lean").write_text(source, encoding="utf-8")
    result = lean_scan.scan(tmp_path / "lean4")
    assert result.ok and "t" in result.theorems


def test_a_missing_theorem_is_reported() -> None:
    registry = load_registry()
    first = registry.properties[0]
    raw = copy.deepcopy(first.raw)
    raw["links"]["lean"] = ["SteeringSpec.no_such_theorem"]
    broken = Registry(registry.path, registry.data, (Property(first.id, first.title, raw),))
    assert lean_scan.check(broken) == [
        f"missing theorem (Mathlib): {first.id}: SteeringSpec.no_such_theorem",
        f"missing theorem (kernel): {first.id}: SteeringSpec.no_such_theorem",
    ]


@pytest.mark.skipif(shutil.which("lake") is not None, reason="a Lean toolchain is installed: lake build runs instead")
def test_check_lean_script_without_lake_checks_the_kernel_and_skips_mathlib() -> None:
    """`make lean`: the kernel line with the theorem count, Mathlib reported SKIPPED (needs the wheel)."""
    from steering_core.formal import lean_kernel

    try:
        lean_kernel.verified_library()
    except lean_kernel.LeanKernelUnavailable as error:
        pytest.skip(f"Lean kernel not installed ({error}); `make lean` installs it")
    env = {**os.environ, "PATH": "/usr/bin:/bin", "PY": sys.executable}
    proc = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "check_lean.sh")], capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.fullmatch(
        r"lean: kernel 4\.35\.0 checked \d+ theorems \(prelude\); Mathlib reference: SKIPPED \(no lake\)\n", proc.stdout
    ), proc.stdout


def test_check_lean_script_fails_without_the_kernel() -> None:
    env = {**os.environ, "PATH": "/usr/bin:/bin", "PY": sys.executable, "STEERING_LEAN_LIB": "/nonexistent/lib.so"}
    proc = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "check_lean.sh")], capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 1
    assert "kernel check FAILED" in proc.stderr and "NOT AVAILABLE" in proc.stderr
