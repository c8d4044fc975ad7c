"""certify -> verify on tiny models: the pipeline, the report, load_certified and the CLI."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
import torch

from steering_core.certify import (
    CertificationError,
    CertifiedVector,
    Protocol,
    certify_vector,
    load_certified,
    verify_bytes,
    verify_file,
    write_certified,
)
from steering_core.certify.checks import SPEC_PROPERTIES, spec_property_ids
from steering_core.certify.cli import add_subcommands
from steering_core.certify.measure import Cell, recommend, thresholds
from steering_core.extract import extract
from steering_core.models import LoadedModel
from steering_core.ops import perturbation_ratio
from steering_core.steer import steer
from tests.certify.conftest import CREATED, TINY_PROTOCOL, leftovers, tiny_loaded
from tests.conftest import make_tiny_model, make_tokenizer


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="steer")
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


# ----------------------------------------------------------------------------- the certificate
def test_certificate_records_what_the_issue_asks(tiny_certified: CertifiedVector, tiny_lm: LoadedModel) -> None:
    body = tiny_certified.body
    model = body["model"]
    assert model["name"] == "tiny-qwen3" and model["hidden_size"] == 64 and model["num_layers"] == 4
    assert model["architecture"] == "Qwen3ForCausalLM"
    assert set(model["fingerprint"]) == {"config", "weights"}
    vec = body["vector"]
    assert vec["layers"] == [1, 2] and vec["style"] == "terse" and vec["dtype"] == "float32"
    assert vec["scaling"] == "raw"
    recipe = body["recipe"]
    assert recipe["kind"] == "contrast-pairs" and recipe["position"] == "last" and recipe["aggregator"] == "mean"
    calib = body["calibration"]
    assert calib["n_prompts"] == 4 and set(calib["layers"]) == {"1", "2"}
    meas = body["measurement"]
    assert [c["phase"] for c in meas["cells"]] == ["dead", "effective", "collapse"]
    assert meas["thresholds"] == {"dead_max": 1e-4, "effective_min": 1.0, "effective_max": 1.0, "collapse_min": 100.0}
    assert meas["protocol"]["max_new_tokens"] == 20 and meas["protocol"]["alphas"] == [1e-4, 1.0, 100.0]
    rec = body["recommendation"]
    assert rec["alpha"] == 1.0 and rec["safe_alpha_max"] == 1.0
    for key in ("1", "2"):
        expected = perturbation_ratio(1.0, vec["norms"][key], calib["layers"][key]["median_norm"])
        assert rec["perturbation_ratio"][key] == expected
    assert set(rec["effect"]) == {"metric", "baseline", "steered", "relative_change"}
    ids = [c["id"] for c in body["properties"]["checks"]]
    for needed in ("vector.finite", "vector.width", "steer.zero_alpha_identity", "vector.unit_norm"):
        assert needed in ids
    assert body["properties"]["tool"]["name"] == "steering-spec" and body["properties"]["tool"]["version"]
    declared = spec_property_ids()
    linked = {c["id"]: c["spec_property"] for c in body["properties"]["checks"]}
    for check, prop in SPEC_PROPERTIES.items():
        assert linked[check] == (prop if prop in declared else None)
    if declared:
        assert body["properties"]["source"] == "spec/properties.toml"
    assert body["created"] == CREATED
    assert tiny_certified.certificate["signature"] is None


def test_certify_leaves_the_model_unhooked(tiny_lm: LoadedModel, tiny_certified: CertifiedVector) -> None:
    for module in tiny_lm.model.modules():
        assert not module._forward_hooks and not module._forward_pre_hooks


def test_certify_is_deterministic(tiny_lm: LoadedModel, tiny_certified: CertifiedVector) -> None:
    vector = extract(tiny_lm, style="terse", layers=[1, 2])
    again = certify_vector(tiny_lm, vector, protocol=TINY_PROTOCOL, created=CREATED)
    assert again.to_bytes() == tiny_certified.to_bytes()


def test_verify_passes_offline_and_with_the_model(tiny_file: Path, tiny_lm: LoadedModel) -> None:
    offline = verify_file(tiny_file)
    assert offline.ok, offline.render()
    assert {r.name: r.status for r in offline.results}["model"] == "skip"
    with_model = verify_file(tiny_file, model=tiny_lm)
    assert with_model.ok, with_model.render()
    statuses = {r.name: r.status for r in with_model.results}
    assert statuses["model.fingerprint"] == statuses["model.ratio"] == statuses["digest"] == "pass"
    assert statuses["signature"] == "warn"
    text = with_model.render()
    assert "UNSIGNED" in text and "result: VERIFIED" in text


def test_load_certified_returns_the_vector(tiny_file: Path, tiny_lm: LoadedModel, tiny_certified: Any) -> None:
    vector = load_certified(tiny_file, model=tiny_lm)
    assert vector.layer_indices == [1, 2] and vector.hidden_size == 64 and vector.num_layers == 4
    for layer in (1, 2):
        assert torch.equal(vector[layer], tiny_certified.tensors[layer])
    assert vector.recipe is not None and vector.style == "terse"
    assert vector.metadata["certified"] is True and vector.metadata["signed"] is False
    assert vector.metadata["recommended_alpha"] == 1.0
    with steer(tiny_lm.model, vector, vector.metadata["recommended_alpha"], layers=vector.layer_indices) as handle:
        assert handle.installed


def test_load_certified_wants_a_loaded_model(tiny_file: Path, tiny_lm: LoadedModel) -> None:
    from steering_core.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="LoadedModel"):
        load_certified(tiny_file, model=tiny_lm.model)


def test_write_certified_refuses_bytes_that_do_not_verify(tmp_path: Path, tiny_certified: CertifiedVector) -> None:
    broken = CertifiedVector(
        tiny_certified.tensors,
        {
            **tiny_certified.certificate,
            "digest": {"algorithm": "sha256", "layout": "steering-spec-digest-v1", "hex": "0" * 64},
        },
    )
    with pytest.raises(Exception, match="digest"):
        write_certified(tmp_path / "x.safetensors", broken)
    assert leftovers(tmp_path) == []


def test_verify_bytes_report_names_each_check(tiny_bytes: bytes) -> None:
    names = [r.name for r in verify_bytes(tiny_bytes).results]
    assert names == [
        "container",
        "metadata",
        "certificate",
        "schema",
        "tensors",
        "digest",
        "norms",
        "signature",
        "consistency",
        "model",
    ]


# ----------------------------------------------------------------------------- measurement rules
def test_thresholds_and_recommendation_rules() -> None:
    cells = [
        Cell(a, 10.0, 0, 0, p)
        for a, p in [(0.1, "dead"), (0.5, "effective"), (1.0, "effective"), (2.0, "effective"), (4.0, "collapse")]
    ]
    assert thresholds(cells) == {"dead_max": 0.1, "effective_min": 0.5, "effective_max": 2.0, "collapse_min": 4.0}
    assert recommend(cells, None) == (1.0, 2.0)
    assert recommend(cells, 0.5) == (0.5, 2.0)
    with pytest.raises(CertificationError, match="dead"):
        recommend(cells, 0.1)
    with pytest.raises(CertificationError, match="not measured"):
        recommend(cells, 3.0)
    with pytest.raises(CertificationError, match="no measured alpha was effective"):
        recommend([Cell(1.0, 0, 4, 0, "collapse")], None)


def test_safe_range_stops_at_the_first_degenerate_answer() -> None:
    cells = [
        Cell(0.25, 20.0, 0, 0, "effective"),
        Cell(0.5, 12.0, 0, 0, "effective"),
        Cell(1.0, 6.0, 0, 0, "effective"),
        Cell(2.0, 7.0, 1, 0, "effective"),  # one degenerate answer of four: effective, not safe
        Cell(4.0, 15.0, 4, 0, "collapse"),
    ]
    assert recommend(cells, None) == (0.5, 1.0)
    assert recommend(cells, 1.0) == (1.0, 1.0)
    with pytest.raises(CertificationError, match="outside the safe range"):
        recommend(cells, 2.0)


def test_certify_refuses_when_nothing_is_effective(tmp_path: Path, tiny_lm: LoadedModel) -> None:
    vector = extract(tiny_lm, style="terse", layers=[2])
    with pytest.raises(CertificationError, match="no measured alpha was effective"):
        certify_vector(tiny_lm, vector, protocol=Protocol(behaviour_prompts=2, max_new_tokens=8, alphas=(1e-6,)))


def test_certify_requested_alpha_must_be_effective(tiny_lm: LoadedModel) -> None:
    vector = extract(tiny_lm, style="terse", layers=[2])
    with pytest.raises(CertificationError, match="collapse"):
        certify_vector(tiny_lm, vector, alpha=100.0, protocol=TINY_PROTOCOL)


def test_certify_unit_vector_records_unit_scaling(tiny_lm: LoadedModel) -> None:
    vector = extract(tiny_lm, style="terse", layers=[2], normalize=True)
    protocol = Protocol(calibration_prompts=2, behaviour_prompts=2, max_new_tokens=12, alphas=(1e-5, 0.07, 10.0))
    certified = certify_vector(tiny_lm, vector, protocol=protocol)
    assert certified.body["vector"]["scaling"] == certified.body["recipe"]["scaling"] == "unit"
    assert abs(certified.body["vector"]["norms"]["2"] - 1.0) < 1e-6
    assert verify_bytes(certified.to_bytes(), model=tiny_lm).ok


@pytest.mark.parametrize("arch", ["llama"])
def test_certify_other_architecture(arch: str) -> None:
    lm = tiny_loaded(arch)
    vector = extract(lm, style="terse", layers=[2])
    certified = certify_vector(lm, vector, protocol=TINY_PROTOCOL)
    report = verify_bytes(certified.to_bytes(), model=lm)
    assert report.ok, report.render()


# ----------------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tiny-model")
    make_tiny_model("qwen3").save_pretrained(path)
    make_tokenizer().save_pretrained(path)
    return path


def test_cli_certify_then_verify(tmp_path: Path, tiny_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "terse-L2.safetensors"
    code = run_cli(
        [
            "certify",
            "--style",
            "terse",
            "--layers",
            "2",
            "--out",
            str(out),
            "--model",
            str(tiny_folder),
            "--alphas",
            "0.0001,1,100",
            "--calibration-prompts",
            "4",
            "--behaviour-prompts",
            "4",
            "--max-new-tokens",
            "20",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "recommended alpha 1" in printed and "UNSIGNED" in printed
    assert leftovers(tmp_path) == ["terse-L2.safetensors"]
    assert run_cli(["verify", str(out), "--model", str(tiny_folder)]) == 0
    report = capsys.readouterr().out
    assert "[PASS] model.ratio" in report and "result: VERIFIED (UNSIGNED)" in report


def test_cli_certify_failure_writes_nothing(
    tmp_path: Path, tiny_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.safetensors"
    code = run_cli(
        [
            "certify",
            "--layers",
            "2",
            "--out",
            str(out),
            "--model",
            str(tiny_folder),
            "--alphas",
            "0.000001",
            "--behaviour-prompts",
            "2",
            "--max-new-tokens",
            "8",
        ]
    )
    assert code == 1
    assert "FAILED at check 'measurement'" in capsys.readouterr().err
    assert leftovers(tmp_path) == []


def test_cli_verify_fails_with_exit_1(tmp_path: Path, tiny_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = bytearray(tiny_file.read_bytes())
    data[-1] ^= 0x01
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(bytes(data))
    assert run_cli(["verify", str(bad)]) == 1
    report = capsys.readouterr().out
    assert "[FAIL] digest" in report and "result: FAILED" in report


def test_cli_verify_json_free_report_is_readable(tiny_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["verify", str(tiny_file)]) == 0
    report = capsys.readouterr().out
    assert "[SKIP] model" in report and "recommended alpha 1" in report
    json.dumps(report)  # plain text
