"""The spec matrix: complete on the real registry, and it fails when a link is removed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from steering_core.formal.matrix import cli_main
from steering_core.formal.registry import DEFAULT_REGISTRY

FAST = ["--skip-smt", "--skip-hypothesis"]


def _copy(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_REGISTRY.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "properties.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_matrix_has_no_gap_on_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(FAST) == 0
    out = capsys.readouterr().out
    assert "13 properties, 0 gap(s)" in out
    for column in ("Lean", "SMT R", "SMT float", "Hypothesis", "contract"):
        assert column in out
    assert "passed" not in out.split("\n\n")[0]  # Lean is never "passed" without lake


def test_matrix_runs_every_column_for_one_property(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["--property", "P-sign-symmetry"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("P-sign-symmetry"))
    assert "proved" in row and "holds" in row and re.search(r"pass (\d+)/\1", row) and "attached" in row


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'lean = ["SteeringSpec.steer_add"]',
            'lean = ["SteeringSpec.steer_add_missing"]',
            "MISSING SteeringSpec.steer_add_missing",
        ),
        ('smt_real = "real.additivity"', 'smt_real = "real.no_such_check"', "MISSING real.no_such_check"),
        ('smt_float = "f32.additivity"', 'smt_float = "f32.no_such_check"', "MISSING f32.no_such_check"),
        (
            'hypothesis = ["tests/formal/test_properties.py::test_additivity"]',
            'hypothesis = ["tests/formal/test_properties.py::test_removed"]',
            "MISSING test_removed",
        ),
        (
            'contracts = ["steering_core.ops.steer_tensor:require_finite_alpha", '
            '"steering_core.ops.steer_tensor:require_finite_vector"]',
            'contracts = ["steering_core.ops.vector_norm:require_finite_alpha"]',
            "not attached",
        ),
    ],
)
def test_matrix_fails_when_a_link_is_removed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, expected: str
) -> None:
    path = _copy(tmp_path, old, new)
    assert cli_main(["--registry", str(path), *FAST]) == 1
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("P-additivity"))
    assert expected in row and row.endswith("<- gap")


def test_matrix_fails_when_a_float_check_disagrees(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recorded = 'observed = { lhs = "0x1.0000000000000p+0", rhs = "0x1.0000020000000p+0" }\nnote = "1 + 2^-24'
    path = _copy(tmp_path, recorded, recorded.replace("0x1.0000020000000p+0", "0x1.0000000000000p+0"))
    assert cli_main(["--registry", str(path), "--property", "P-additivity", "--skip-hypothesis"]) == 1
    assert "FAILED" in capsys.readouterr().out


def test_matrix_refuses_an_invalid_registry(tmp_path: Path) -> None:
    path = _copy(tmp_path, "schema_version = 1", "schema_version = 2")
    assert cli_main(["--registry", str(path), *FAST]) == 2
