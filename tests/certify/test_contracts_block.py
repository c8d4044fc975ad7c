"""The optional ``contracts`` block of a certificate: the vector's directed style contracts with reliability.

On the tiny model (its answers mean nothing; the block's shape, its place under the digest and
its validation are what is tested). The real-model values are those of ``make behaviour``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from steering_core.behaviour.certificate import contracts_block
from steering_core.certify import CertifiedVector, certify_vector, write_certified
from steering_core.certify.certificate import compute_digest
from steering_core.certify.errors import SchemaError
from steering_core.certify.schema import validate
from steering_core.certify.verify import contract_lines, verify_bytes, verify_file
from steering_core.errors import InvalidParameterError
from steering_core.extract import extract
from steering_core.models import LoadedModel
from tests.certify.conftest import CREATED, TINY_PROTOCOL


@pytest.fixture(scope="module")
def block(tiny_lm: LoadedModel) -> dict[str, Any]:
    vector = extract(tiny_lm, style="terse", layers=[1, 2])
    return contracts_block(tiny_lm, vector, max_new_tokens=4)


@pytest.fixture(scope="module")
def with_contracts(tiny_lm: LoadedModel, block: dict[str, Any]) -> CertifiedVector:
    vector = extract(tiny_lm, style="terse", layers=[1, 2])
    return certify_vector(tiny_lm, vector, protocol=TINY_PROTOCOL, created=CREATED, contracts=block)


def test_block_has_both_directions_with_reliability(block: dict[str, Any]) -> None:
    assert block["style"] == "terse" and block["fluency_max_ratio"] == 2.0 and block["max_new_tokens"] == 4
    assert [d["direction"] for d in block["directions"]] == ["positive", "negative"]
    for d in block["directions"]:
        assert set(d["reliability"]) == {"anti_steerable_fraction", "n_wrong", "n", "split_half_sign_agreement"}
        assert d["reliability"]["n"] == d["questions"]["n"] == 8
        assert d["threshold"] == 0.4 and d["questions"]["version"].startswith("terse-")
        assert (d["ratio"] > 0) and all(a > 0 for a in d["layer_alphas"].values()) == (d["direction"] == "positive")
        assert d["metric_auc_held_out"] is not None and d["metric_auc_held_out"] >= 0.9


def test_the_block_is_stored_under_the_digest_and_verifies(
    with_contracts: CertifiedVector, block: dict[str, Any], tmp_path: Path
) -> None:
    path = write_certified(tmp_path / "c.safetensors", with_contracts)
    report = verify_file(path)
    assert report.ok, report.render()
    assert report.certified is not None and report.certified.body["contracts"] == block
    assert "contract terse positive" in report.render() and "wrong way" in report.render()
    tampered = copy.deepcopy(with_contracts.body)
    tampered["contracts"]["directions"][0]["passed"] = not tampered["contracts"]["directions"][0]["passed"]
    assert compute_digest(with_contracts.tensors, tampered) != with_contracts.digest


def test_a_certificate_without_the_block_is_still_valid(tiny_bytes: bytes) -> None:
    report = verify_bytes(tiny_bytes)
    assert report.ok and report.certified is not None and "contracts" not in report.certified.body
    assert contract_lines(report.certified.body) == []


def test_the_schema_checks_the_block(with_contracts: CertifiedVector) -> None:
    envelope = copy.deepcopy(with_contracts.certificate)
    validate(envelope)
    envelope["body"]["contracts"]["directions"][0]["reliability"]["anti_steerable_fraction"] = 1.5
    with pytest.raises(SchemaError, match="anti_steerable_fraction"):
        validate(envelope)


def test_unknown_style_is_refused(tiny_lm: LoadedModel) -> None:
    vector = extract(tiny_lm, style="terse", layers=[1])
    with pytest.raises(InvalidParameterError, match="style"):
        contracts_block(tiny_lm, vector, "sarcastic")
    with pytest.raises(InvalidParameterError, match="max_new_tokens"):
        contracts_block(tiny_lm, vector, max_new_tokens=0)


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--style", "terse", "--contracts"], None),  # a seed style: accepted (not run here)
        (["--style", "sarcastic", "--contracts"], "--style"),
        (["--from-gguf", "missing.gguf", "--contracts"], "--style-name"),
        (["--from-gguf", "missing.gguf", "--style-name", "imported", "--contracts"], "--style-name"),
    ],
)
def test_contracts_need_a_seed_style_before_anything_loads(
    argv: list[str],
    flag: str | None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import steering_core.models
    from steering_core.cli import main

    def no_model(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the model was loaded before the arguments were checked")

    monkeypatch.setattr(steering_core.models, "load_model", no_model)
    if flag is None:  # got past the check, to the (refused) model load
        assert main(["vector", "certify", *argv, "--out", str(tmp_path / "v.safetensors")]) == 1
        assert "the model was loaded" in capsys.readouterr().err
        return
    assert main(["vector", "certify", *argv, "--out", str(tmp_path / "v.safetensors")]) == 2
    err = capsys.readouterr().err
    assert flag in err and "seed styles" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_malformed_recipe_record_is_a_protocol_error() -> None:
    from steering_core.behaviour.recipe import load_recipes
    from steering_core.cprr import style_axes
    from steering_core.cprr.errors import ProtocolDataError

    recipes = copy.deepcopy(load_recipes())
    assert recipes is not None
    del recipes["styles"]["formal"]["chosen_ratio"]
    with pytest.raises(ProtocolDataError, match="malformed"):
        style_axes.protocol_for("formal", "positive", recipes)
