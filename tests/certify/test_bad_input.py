"""Bad input: every way a certified file can be broken is refused with a typed error naming the check.

Covers: truncation, flipped bytes (every byte of the file), edited metadata, a digest that does
not match, missing / extra layers, NaN / inf, wrong width (in the file and for the model), a
different model, a dishonest ratio, files and metadata over the size limits, and nothing left
behind by a failed write.
"""

from __future__ import annotations

import copy
import json
import os
import struct
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steering_core.certify import (
    CertifiedVector,
    DigestMismatchError,
    FileFormatError,
    Limits,
    MeasurementMismatchError,
    ModelMismatchError,
    NonFiniteTensorError,
    SchemaError,
    SizeLimitError,
    TensorMismatchError,
    load_certified,
    verify_bytes,
    verify_file,
)
from steering_core.certify.errors import CertificateError
from steering_core.certify.fileformat import MAX_FILE_BYTES, MAX_HEADER_BYTES
from steering_core.models import LoadedModel
from tests.certify.conftest import flip, reencode, reseal, tiny_loaded


def first_error(data: bytes, **kwargs: Any) -> CertificateError:
    report = verify_bytes(data, **kwargs)
    assert not report.ok
    error = report.first_error()
    assert error is not None
    assert "[FAIL]" in report.render() and "result: FAILED" in report.render()
    return error


def load_bytes(tmp_path: Path, data: bytes, **kwargs: Any) -> Any:
    path = tmp_path / "candidate.safetensors"
    path.write_bytes(data)
    return load_certified(path, **kwargs)


def body_of(certified: CertifiedVector) -> dict[str, Any]:
    return copy.deepcopy(certified.body)


# ----------------------------------------------------------------------------- container damage
@pytest.mark.parametrize("keep", [0, 4, 7, 8, 100, -1, -4, -256])
def test_truncated_file(tmp_path: Path, tiny_bytes: bytes, keep: int) -> None:
    data = tiny_bytes[:keep]
    with pytest.raises(FileFormatError) as caught:
        load_bytes(tmp_path, data)
    assert caught.value.check.startswith("container.")


def test_trailing_bytes(tiny_bytes: bytes) -> None:
    error = first_error(tiny_bytes + b"\0")
    assert isinstance(error, FileFormatError) and error.check == "container.trailing"


def test_reencoded_header_whitespace_is_refused(tiny_bytes: bytes) -> None:
    (n,) = struct.unpack("<Q", tiny_bytes[:8])
    header = json.loads(tiny_bytes[8 : 8 + n])
    pretty = json.dumps(header, indent=1).encode()
    pretty += b" " * (-len(pretty) % 8)
    data = struct.pack("<Q", len(pretty)) + pretty + tiny_bytes[8 + n :]
    error = first_error(data)
    assert isinstance(error, FileFormatError) and error.check == "container.canonical"


def test_flipped_tensor_byte(tmp_path: Path, tiny_bytes: bytes) -> None:
    with pytest.raises(DigestMismatchError):
        load_bytes(tmp_path, flip(tiny_bytes, len(tiny_bytes) - 3))
    report = verify_bytes(flip(tiny_bytes, len(tiny_bytes) - 3))
    statuses = {r.name: r.status for r in report.results}
    assert statuses["digest"] == "fail" and statuses["norms"] == "fail"


@pytest.mark.parametrize("mask", [0x01, 0x80, 0xFF])
def test_flipping_any_single_byte_fails_verification(tiny_bytes: bytes, mask: int) -> None:
    """Exhaustive: every byte position of the file, three flip masks."""
    passed = [i for i in range(len(tiny_bytes)) if verify_bytes(flip(tiny_bytes, i, mask)).ok]
    assert passed == [], f"flips at {passed[:10]} went unnoticed"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_damage_never_verifies_and_never_crashes(tiny_bytes: bytes, data: st.DataObject) -> None:
    """Random byte rewrites, insertions and deletions: always a clean FAILED report."""
    damaged = bytearray(tiny_bytes)
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["set", "insert", "delete"]))
        index = data.draw(st.integers(0, len(damaged) - 1))
        if kind == "set":
            new = data.draw(st.integers(0, 255).filter(lambda b, i=index: b != damaged[i]))
            damaged[index] = new
        elif kind == "insert":
            damaged.insert(index, data.draw(st.integers(0, 255)))
        else:
            del damaged[index]
    report = verify_bytes(bytes(damaged))
    if bytes(damaged) != tiny_bytes:
        assert not report.ok
        assert isinstance(report.first_error(), CertificateError)


# ----------------------------------------------------------------------------- certificate edits
def test_edited_metadata_value_fails_the_digest(tmp_path: Path, tiny_certified: CertifiedVector) -> None:
    cert = copy.deepcopy(tiny_certified.certificate)
    cert["body"]["recommendation"]["safe_alpha_max"] = 1.0  # same
    cert["body"]["recommendation"]["effect"]["steered"] = 1.0  # a rosier effect
    with pytest.raises(DigestMismatchError):
        load_bytes(tmp_path, reencode(tiny_certified.tensors, cert))


def test_edited_metadata_whitespace_fails_canonical_json(tiny_certified: CertifiedVector) -> None:
    text = json.dumps(tiny_certified.certificate, sort_keys=True, separators=(", ", ": "), ensure_ascii=False)
    error = first_error(reencode(tiny_certified.tensors, text))
    assert isinstance(error, SchemaError) and error.check == "certificate.canonical"


def test_metadata_that_is_not_json(tiny_certified: CertifiedVector) -> None:
    error = first_error(reencode(tiny_certified.tensors, "{not json"))
    assert isinstance(error, SchemaError)


def test_extra_metadata_key(tiny_certified: CertifiedVector) -> None:
    from steering_core.certify.fileformat import encode

    metadata = {**tiny_certified.metadata(), "format": "pt"}
    error = first_error(encode(tiny_certified.tensors, metadata))
    assert isinstance(error, FileFormatError) and error.check == "container.metadata"


def test_missing_certificate(tiny_certified: CertifiedVector) -> None:
    from steering_core.certify.fileformat import encode

    error = first_error(encode(tiny_certified.tensors, {}))
    assert error.check == "container.metadata"


def test_digest_that_does_not_match(tmp_path: Path, tiny_certified: CertifiedVector) -> None:
    cert = copy.deepcopy(tiny_certified.certificate)
    cert["digest"]["hex"] = "ab" * 32
    with pytest.raises(DigestMismatchError, match="digest"):
        load_bytes(tmp_path, reencode(tiny_certified.tensors, cert))


def test_schema_violation(tiny_certified: CertifiedVector) -> None:
    cert = copy.deepcopy(tiny_certified.certificate)
    cert["body"]["vector"]["layers"] = "1,2"
    error = first_error(reencode(tiny_certified.tensors, cert))
    assert isinstance(error, SchemaError) and "vector/layers" in error.detail


def test_inconsistent_but_sealed_ratio(tiny_certified: CertifiedVector) -> None:
    body = body_of(tiny_certified)
    body["recommendation"]["perturbation_ratio"]["1"] *= 0.5  # claims a gentler step than the numbers give
    error = first_error(reseal(tiny_certified.tensors, body))
    assert isinstance(error, SchemaError) and error.check == "consistency"


# ----------------------------------------------------------------------------- tensors
def test_missing_layer(tmp_path: Path, tiny_certified: CertifiedVector) -> None:
    tensors = {1: tiny_certified.tensors[1]}
    with pytest.raises(TensorMismatchError, match=r"missing \[2\]"):
        load_bytes(tmp_path, reencode(tensors, tiny_certified.certificate))


def test_extra_layer(tmp_path: Path, tiny_certified: CertifiedVector) -> None:
    tensors = {**tiny_certified.tensors, 3: tiny_certified.tensors[2].clone()}
    with pytest.raises(TensorMismatchError, match=r"extra \[3\]"):
        load_bytes(tmp_path, reencode(tensors, tiny_certified.certificate))


def test_extra_layer_even_when_resealed(tiny_certified: CertifiedVector) -> None:
    tensors = {**tiny_certified.tensors, 3: tiny_certified.tensors[2].clone()}
    error = first_error(reseal(tensors, body_of(tiny_certified)))
    assert isinstance(error, TensorMismatchError) and error.check == "tensors.layers"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_values_even_when_resealed(tmp_path: Path, tiny_certified: CertifiedVector, bad: float) -> None:
    tensors = {k: v.clone() for k, v in tiny_certified.tensors.items()}
    tensors[2][5] = bad
    with pytest.raises(NonFiniteTensorError, match="NaN/inf"):
        load_bytes(tmp_path, reseal(tensors, body_of(tiny_certified)))


def test_wrong_dtype_even_when_resealed(tiny_certified: CertifiedVector) -> None:
    tensors = {k: v.to(torch.float16) for k, v in tiny_certified.tensors.items()}
    error = first_error(reseal(tensors, body_of(tiny_certified)))
    assert isinstance(error, TensorMismatchError) and error.check == "tensors.dtype"


def test_wrong_width_in_the_file(tiny_certified: CertifiedVector) -> None:
    tensors = {k: v[:32].clone() for k, v in tiny_certified.tensors.items()}
    error = first_error(reseal(tensors, body_of(tiny_certified)))
    assert isinstance(error, TensorMismatchError) and error.check == "tensors.shape"


def test_wrong_width_for_the_model(tmp_path: Path, tiny_certified: CertifiedVector) -> None:
    """A consistent certificate for a 32-wide model, verified against the 64-wide tiny model."""
    body = body_of(tiny_certified)
    tensors = {k: v[:32].clone() for k, v in tiny_certified.tensors.items()}
    body["vector"]["hidden_size"] = body["model"]["hidden_size"] = 32
    body["vector"]["norms"] = {str(k): float(torch.linalg.vector_norm(v.double())) for k, v in tensors.items()}
    from steering_core.ops import perturbation_ratio

    rec = body["recommendation"]
    for key, norm in body["vector"]["norms"].items():
        median = body["calibration"]["layers"][key]["median_norm"]
        rec["perturbation_ratio"][key] = perturbation_ratio(rec["alpha"], norm, median)
        rec["safe_ratio_max"][key] = perturbation_ratio(rec["safe_alpha_max"], norm, median)
    data = reseal(tensors, body)
    assert verify_bytes(data).ok, "offline the file is consistent"
    with pytest.raises(ModelMismatchError) as caught:
        load_bytes(tmp_path, data, model=tiny_loaded())
    assert caught.value.check == "model.width" and "hidden size is 64" in caught.value.detail


def test_other_weights_fail_the_fingerprint(tiny_bytes: bytes) -> None:
    other = tiny_loaded(seed=1)  # same config, different weights
    error = first_error(tiny_bytes, model=other)
    assert isinstance(error, ModelMismatchError) and error.check == "model.fingerprint"
    assert "weights" in error.detail


def test_other_architecture_fails_identity(tiny_bytes: bytes) -> None:
    error = first_error(tiny_bytes, model=tiny_loaded("llama"))
    assert isinstance(error, ModelMismatchError) and error.check == "model.identity"


def test_dishonest_calibration_fails_the_re_measured_ratio(tiny_lm: LoadedModel, tiny_certified: Any) -> None:
    """Halve every recorded median norm (and the ratios with it) consistently and reseal: only the model sees it."""
    body = body_of(tiny_certified)
    for stats in body["calibration"]["layers"].values():
        stats["median_norm"] *= 2.0
    from steering_core.ops import perturbation_ratio

    rec = body["recommendation"]
    for key, norm in body["vector"]["norms"].items():
        median = body["calibration"]["layers"][key]["median_norm"]
        rec["perturbation_ratio"][key] = perturbation_ratio(rec["alpha"], norm, median)
    data = reseal(tiny_certified.tensors, body)
    assert verify_bytes(data).ok
    error = first_error(data, model=tiny_lm)
    assert isinstance(error, MeasurementMismatchError) and error.check == "model.ratio"
    assert "re-measured" in error.detail


# ----------------------------------------------------------------------------- size limits
def test_file_over_the_size_limit_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.safetensors"
    with path.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk, no time
    report = verify_file(path)
    assert not report.ok
    error = report.first_error()
    assert isinstance(error, SizeLimitError) and str(MAX_FILE_BYTES) in error.detail
    with pytest.raises(SizeLimitError):
        load_certified(path)


def test_stated_limit_is_configurable(tiny_bytes: bytes) -> None:
    error = first_error(tiny_bytes, limits=Limits(max_file_bytes=len(tiny_bytes) - 1))
    assert isinstance(error, SizeLimitError) and error.check == "container.size"


def test_oversized_metadata(tiny_certified: CertifiedVector) -> None:
    cert = copy.deepcopy(tiny_certified.certificate)
    cert["body"]["recipe"]["pairs"][0]["positive"] = "x" * (MAX_HEADER_BYTES + 1)
    error = first_error(reencode(tiny_certified.tensors, cert))
    assert isinstance(error, SizeLimitError) and error.check == "container.metadata_size"


def test_header_length_claiming_too_much(tiny_bytes: bytes) -> None:
    data = struct.pack("<Q", 2**63) + tiny_bytes[8:]
    error = first_error(data)
    assert isinstance(error, SizeLimitError)


def test_absurd_rank_and_deep_nesting(tiny_certified: CertifiedVector) -> None:
    from steering_core.certify.canonical import parse_canonical

    header = json.dumps({"layer.1": {"dtype": "F32", "shape": [0] * 100, "data_offsets": [0, 0]}}).encode()
    header += b" " * (-len(header) % 8)
    error = first_error(struct.pack("<Q", len(header)) + header)
    assert isinstance(error, FileFormatError) and "at most" in error.detail
    deep = b"[" * 100_000 + b"]" * 100_000
    error = first_error(struct.pack("<Q", len(deep)) + deep)
    assert isinstance(error, FileFormatError)
    with pytest.raises(SchemaError, match="nested"):
        parse_canonical("[" * 100_000 + "]" * 100_000)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="does not exist"):
        load_certified(tmp_path / "nope.safetensors")


def test_errors_are_steering_errors(tmp_path: Path) -> None:
    from steering_core.errors import SteeringError

    with pytest.raises(SteeringError):
        load_certified(tmp_path / "nope.safetensors")
    assert not os.listdir(tmp_path)


def test_inflated_safe_range_is_caught_even_when_resealed(tiny_certified: CertifiedVector) -> None:
    """A resealed certificate that claims a safe alpha beyond its own degenerate cells fails."""
    from steering_core.ops import perturbation_ratio

    body = body_of(tiny_certified)
    cells = sorted(body["measurement"]["cells"], key=lambda c: c["alpha"])
    rec = body["recommendation"]
    cells[0]["n_degenerate"] = 1  # the smallest measured alpha now had a degenerate answer
    for key, norm in body["vector"]["norms"].items():
        median = body["calibration"]["layers"][key]["median_norm"]
        rec["safe_ratio_max"][key] = perturbation_ratio(rec["safe_alpha_max"], norm, median)
    error = first_error(reseal(dict(tiny_certified.tensors), body))
    assert error is not None and error.check == "consistency" and "safe_alpha_max" in error.detail
