"""certify -> verify on the embedded real model (Qwen2.5-Coder-0.5B-Instruct), through the CLI.

``test_certify_verify_embedded_cli`` uses a reduced, stated protocol (2 behaviour prompts x 32
tokens, alphas 0.5 and 4) so it fits CI (about a minute on 2 cores); the full default protocol
runs in ``test_certify_default_protocol`` (several minutes, slow only).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from steering_core.certify import load_certified, verify_bytes
from steering_core.certify.cli import add_subcommands
from steering_core.certify.fileformat import decode
from steering_core.models import load_model
from tests.certify.conftest import flip, leftovers

pytestmark = pytest.mark.slow


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="steer")
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


@pytest.fixture(scope="module")
def embedded() -> Any:
    return load_model()


@pytest.mark.ci
def test_certify_verify_embedded_cli(tmp_path: Path, embedded: Any, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "terse-L12.safetensors"
    code = run_cli(
        [
            "certify",
            "--style",
            "terse",
            "--layers",
            "12",
            "--out",
            str(out),
            "--alphas",
            "0.5,4",
            "--behaviour-prompts",
            "2",
            "--max-new-tokens",
            "32",
            "--calibration-prompts",
            "8",
        ]
    )
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert leftovers(tmp_path) == ["terse-L12.safetensors"]
    assert run_cli(["verify", str(out), "--model", "embedded"]) == 0
    report = capsys.readouterr().out
    print(report)
    assert "[PASS] model.fingerprint" in report and "[PASS] model.ratio" in report
    assert "result: VERIFIED (UNSIGNED)" in report

    vector = load_certified(out, model=embedded)
    body = vector.metadata["certificate"]["body"]
    assert body["model"]["hidden_size"] == 896 and body["model"]["num_layers"] == 24
    assert body["vector"]["layers"] == [12]
    assert 10.0 < body["vector"]["norms"]["12"] < 15.0
    assert 0.2 < body["recommendation"]["perturbation_ratio"]["12"] < 0.4
    assert body["recommendation"]["alpha"] == 0.5
    assert body["measurement"]["protocol"]["alphas"] == [0.5, 4.0]
    assert body["recommendation"]["effect"]["relative_change"] < -0.3, "terse shortens answers"

    data = out.read_bytes()
    assert decode(data).tensors[12].shape == (896,)
    unnoticed = [i for i in range(len(data)) if verify_bytes(flip(data, i)).ok]
    assert unnoticed == [], f"byte flips at {unnoticed[:10]} went unnoticed"


def test_certify_default_protocol(tmp_path: Path, embedded: Any, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "terse-L12.safetensors"
    assert run_cli(["certify", "--style", "terse", "--layers", "12", "--out", str(out)]) == 0
    print(capsys.readouterr().out)
    vector = load_certified(out, model=embedded)
    print(json.dumps(vector.metadata["certificate"], indent=2, ensure_ascii=False))
    body = vector.metadata["certificate"]["body"]
    assert body["recommendation"]["effect"]["relative_change"] < -0.4
    assert body["measurement"]["protocol"]["alphas"] == [0.05, 0.25, 0.5, 1.0, 2.0, 4.0]


def test_certify_with_contracts_stores_them(tmp_path: Path, embedded: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """``--contracts``: the style's directed contracts, both directions with reliability, in the certificate."""
    out = tmp_path / "formal-L12.safetensors"
    argv = ["certify", "--style", "formal", "--layers", "12", "--out", str(out), "--contracts"]
    reduced = ["--alphas", "0.5,4", "--behaviour-prompts", "2", "--max-new-tokens", "32", "--calibration-prompts", "8"]
    assert run_cli(argv + reduced) == 0
    printed = capsys.readouterr().out
    assert printed.count("contract formal ") == 2, printed
    assert run_cli(["verify", str(out)]) == 0
    assert capsys.readouterr().out.count("contract formal ") == 2
    body = load_certified(out, model=embedded).metadata["certificate"]["body"]
    block = body["contracts"]
    assert block["style"] == "formal" and [d["direction"] for d in block["directions"]] == ["positive", "negative"]
    for d in block["directions"]:
        assert d["questions"]["n"] == 8 and d["reliability"]["n"] == 8
        assert 0.0 <= d["reliability"]["anti_steerable_fraction"] <= 1.0
        assert d["passed"] == (d["ci_low"] >= d["threshold"] and d["perplexity_ratio"] <= 2.0 and d["guard_passed"])
