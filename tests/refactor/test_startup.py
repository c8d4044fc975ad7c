"""``steer --help`` and argument errors load no heavy library (robust: module names, not timings).

``python -X importtime`` lists every module a process imports; building the parser and
refusing a bad argument must not pull in torch, transformers, matplotlib or z3 (each command
imports them when it runs). The time itself is recorded by benchmarks/test_cli_startup.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "matplotlib", "z3")


def imported_modules(*args: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "steering_core.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    modules = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    return modules, proc


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["vector", "--help"],
        ["vector", "certify", "--help"],
        ["behaviour", "lens", "--help"],
        ["cprr", "board", "--help"],
        ["report", "--help"],
        ["plot", "--help"],
    ],
    ids=lambda a: " ".join(a),
)
def test_help_imports_no_heavy_module(argv: list[str]) -> None:
    modules, proc = imported_modules(*argv)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "steering_core.cli" in modules or "steering_core.cli_options" in modules
    assert heavy(modules) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["generate", "--alpha", "not-a-number"],
        ["generate", "--layers", "6,12"],  # one layer only
        ["vector", "certify"],  # --out is required
        ["no-such-command"],
    ],
    ids=lambda a: " ".join(a),
)
def test_an_argument_error_imports_no_heavy_module(argv: list[str]) -> None:
    modules, proc = imported_modules(*argv)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert heavy(modules) == []


def test_importing_the_package_is_light_and_its_names_still_resolve() -> None:
    code = (
        "import sys, steering_core\n"
        "assert 'torch' not in sys.modules, 'import steering_core loaded torch'\n"
        "import steering_core.steer, steering_core.extract\n"
        "from steering_core import steer, extract, generate, diagnose, SteeringVector, load_model\n"
        "assert callable(steer) and steer.__module__ == 'steering_core.steer', steer\n"
        "assert callable(extract) and extract.__module__ == 'steering_core.extract', extract\n"
        "assert steering_core.steer is steer and isinstance(SteeringVector, type)\n"
        "print('ok')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd="/",
        timeout=120,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
