"""The Lean kernel checks lean4/Kernel, and the same runner rejects broken proofs (negative controls).

Needs the pinned Lean library (`make lean` installs it, hash-checked; `make test` runs `make lean`
first, which fails outright when the kernel cannot run). Without it these tests skip.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from steering_core.formal import lean_kernel, lean_scan
from steering_core.formal.registry import load_registry


@pytest.fixture(scope="module")
def kernel_available() -> None:
    try:
        lean_kernel.verified_library()
    except lean_kernel.LeanKernelUnavailable as error:
        pytest.skip(f"Lean kernel not installed ({error}); `make lean` installs it")


@pytest.fixture(scope="module")
def run(kernel_available: None) -> lean_kernel.KernelRun:
    return lean_kernel.run_kernel()


def _kernel_copy(tmp_path: Path, *names: str) -> Path:
    """A ``Kernel`` folder in ``tmp_path`` with copies of the named modules of lean4/Kernel."""
    folder = tmp_path / "Kernel"
    folder.mkdir()
    for name in names:
        shutil.copy(lean_kernel.KERNEL_DIR / f"{name}.lean", folder / f"{name}.lean")
    return folder


BAD_HEADER = "prelude\nimport Kernel.Logic\n\nnamespace Bad\n"


def test_every_registry_theorem_is_checked_by_the_kernel(run: lean_kernel.KernelRun) -> None:
    assert run.ok, run.summary()
    assert run.version == lean_kernel.LEAN_VERSION
    for prop in load_registry().properties:
        assert prop.links["lean"], f"{prop.id} links no Lean theorem"
        for name in prop.links["lean"]:
            assert run.status_of(name) == "checked", (prop.id, name, run.theorems.get(name))
    for result in run.theorems.values():
        assert set(result.axioms) <= lean_kernel.ALLOWED_AXIOMS
    assert run.summary() == f"kernel 4.35.0 checked {run.n_checked} theorems (prelude)"


def test_the_finite_model_is_checked(run: lean_kernel.KernelRun) -> None:
    """Non-vacuity: the classes have a model, checked by the same kernel."""
    assert run.status_of("SteeringModel.model_nontrivial") == "checked"
    assert {f.module for f in run.files} >= {"Kernel.Logic", "Kernel.Steering", "Kernel.Model"}


def test_prelude_and_mathlib_state_the_same_theorem_names() -> None:
    mathlib = lean_scan.scan(lean_scan.MATHLIB_DIR).theorems
    kernel = lean_scan.scan(lean_kernel.KERNEL_DIR).theorems
    for prop in load_registry().properties:
        for name in prop.links["lean"]:
            assert name in mathlib, f"{prop.id}: {name} not in the Mathlib reference"
            assert name in kernel, f"{prop.id}: {name} not in the kernel formalisation"
    # Every theorem of the Mathlib reference has its kernel counterpart under the same name.
    assert mathlib <= kernel


def test_a_false_law_is_rejected(kernel_available: None, tmp_path: Path) -> None:
    folder = _kernel_copy(tmp_path, "Logic", "Steering")
    path = folder / "Steering.lean"
    source = path.read_text(encoding="utf-8")
    true_law = "Eq (steer (steer h v a) v b) (steer h v (add a b))"
    assert source.count(true_law) == 1
    path.write_text(source.replace(true_law, "Eq (steer (steer h v a) v b) (steer h v (add a a))"), encoding="utf-8")
    result = lean_kernel.run_kernel(folder)
    assert not result.ok
    assert result.status_of("SteeringSpec.steer_add") == "failed"
    assert not next(f for f in result.files if f.module == "Kernel.Steering").ok


def test_a_false_statement_with_its_own_proof_attempt_is_rejected(kernel_available: None, tmp_path: Path) -> None:
    folder = _kernel_copy(tmp_path, "Logic")
    (folder / "Bad.lean").write_text(
        BAD_HEADER + "theorem wrong : Eq Bool.true Bool.false := Eq.refl Bool.true\nend Bad\n", encoding="utf-8"
    )
    result = lean_kernel.run_kernel(folder)
    assert not result.ok and result.status_of("Bad.wrong") == "failed"
    assert result.status_of("Eq.symm") == "checked"  # the good file still checks


@pytest.mark.parametrize("scan", [True, False])
def test_sorry_is_rejected(kernel_available: None, tmp_path: Path, scan: bool) -> None:
    """Rejected by the token scan, and by the kernel run itself when the scan is off."""
    folder = _kernel_copy(tmp_path, "Logic")
    (folder / "Bad.lean").write_text(
        BAD_HEADER + "theorem cheat : Eq Bool.true Bool.false := sorry\nend Bad\n", encoding="utf-8"
    )
    result = lean_kernel.run_kernel(folder, scan=scan)
    assert not result.ok
    if scan:
        assert any("forbidden `sorry`" in p for p in result.problems)
    assert result.status_of("Bad.cheat") == "failed"


@pytest.mark.parametrize("scan", [True, False])
def test_an_axiom_is_rejected(kernel_available: None, tmp_path: Path, scan: bool) -> None:
    """Rejected by the token scan, and by the `#print axioms` audit when the scan is off."""
    folder = _kernel_copy(tmp_path, "Logic")
    (folder / "Bad.lean").write_text(
        BAD_HEADER + "axiom cheat : False\ntheorem wrong : Eq Bool.true Bool.false := False.elim cheat\nend Bad\n",
        encoding="utf-8",
    )
    result = lean_kernel.run_kernel(folder, scan=scan)
    assert not result.ok
    wrong = result.theorems["Bad.wrong"]
    assert wrong.status == "failed"
    if scan:
        assert any("forbidden `axiom`" in p for p in result.problems)
    else:
        assert wrong.axioms == ("Bad.cheat",) and "outside Lean's standard ones" in wrong.reason


@pytest.mark.parametrize(
    "snippet",
    ["set_option debug.skipKernelTC true in\ntheorem t : True := True.intro", "unsafe def f : Bool := Bool.true"],
)
def test_switches_around_the_kernel_are_refused(kernel_available: None, tmp_path: Path, snippet: str) -> None:
    folder = _kernel_copy(tmp_path, "Logic")
    (folder / "Bad.lean").write_text(BAD_HEADER + snippet + "\nend Bad\n", encoding="utf-8")
    result = lean_kernel.run_kernel(folder)
    assert not result.ok and any("forbidden" in p for p in result.problems)


def test_a_file_without_prelude_is_refused(kernel_available: None, tmp_path: Path) -> None:
    folder = _kernel_copy(tmp_path, "Logic")
    (folder / "Bad.lean").write_text("theorem t : True := True.intro\n", encoding="utf-8")
    result = lean_kernel.run_kernel(folder)
    assert not result.ok and any("prelude" in p for p in result.problems)


def test_a_tampered_library_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "libleanshared.so"
    fake.write_bytes(b"not lean")
    monkeypatch.setenv("STEERING_LEAN_LIB", str(fake))
    result = lean_kernel.run_kernel()
    assert not result.available and not result.ok
    assert "sha256 mismatch" in result.summary()
    assert result.status_of("SteeringSpec.steer_add") == "missing"


def test_the_wheel_is_pinned_by_hash_and_installed_with_require_hashes() -> None:
    text = lean_kernel.REQUIREMENTS.read_text(encoding="utf-8")
    assert lean_kernel.WHEEL in text and f"--hash=sha256:{lean_kernel.WHEEL_SHA256}" in text
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text(encoding="utf-8")
    assert "--require-hashes" in makefile and "lean4/Kernel/requirements.txt" in makefile


def test_cprr_says_proved_only_when_the_kernel_checked_it(
    kernel_available: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """H-PR-1 cites SteeringSpec.ratio_smul: proved with the kernel, not proved without it."""
    from steering_core.cprr import store
    from steering_core.cprr.proof import check_property, shown_status

    entry = store.load_entry("H-PR-1")
    assert entry["status"] == "proved" and entry["proved_by"] == {"property": "P-ratio-scale-invariance"}
    lean_kernel.kernel_run.cache_clear()
    try:
        assert shown_status(entry) == "proved"
        check = check_property("P-ratio-scale-invariance", deep=False)
        assert check.ok and check.kernel_checked == ("SteeringSpec.ratio_smul",)
        monkeypatch.setenv("STEERING_LEAN_LIB", "/nonexistent/libleanshared.so")
        lean_kernel.kernel_run.cache_clear()
        assert shown_status(entry).startswith("proved (NOT CHECKED in this run:")
        assert not check_property("P-ratio-scale-invariance", deep=False).ok
    finally:
        lean_kernel.kernel_run.cache_clear()


def test_a_wall_clock_timeout_is_no_verdict(
    kernel_available: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lean cut by its time limit: the theorems are ``unknown`` (a gap), neither failed nor checked."""
    monkeypatch.setattr(lean_kernel, "FILE_TIMEOUT_S", 1e-3)
    monkeypatch.setattr(lean_kernel.run_lean, "__defaults__", (None, 1e-3))
    folder = _kernel_copy(tmp_path, "Logic")
    result = lean_kernel.run_kernel(folder)
    assert not result.ok
    assert result.status_of("Eq.symm") == "unknown"
    assert all(t.status == "unknown" for t in result.theorems.values())
    assert "NO VERDICT" in result.summary()  # a gap (CI fails) that calls no theorem false
