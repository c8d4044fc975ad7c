"""The container, canonical JSON, digest layout and schema of certified vectors."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import jsonschema
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors import safe_open
from safetensors.torch import load as st_load

from steering_core.certify import CertifiedVector, compute_digest
from steering_core.certify.canonical import canonical_json, parse_canonical
from steering_core.certify.errors import FileFormatError, SchemaError
from steering_core.certify.fileformat import (
    METADATA_KEY,
    decode,
    encode,
    parse_tensor_name,
    tensor_name,
    write_atomic,
)
from steering_core.certify.schema import SCHEMA, schema_text, validate
from tests.certify.conftest import leftovers

SPEC_SCHEMA = Path(__file__).resolve().parents[2] / "spec" / "certificate.schema.json"


# ----------------------------------------------------------------------------- canonical JSON
def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert canonical_json({"b": 1, "a": [1.5, "é", None, True]}) == '{"a":[1.5,"é",null,true],"b":1}'.encode()


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_canonical_json_refuses_non_finite(bad: float) -> None:
    with pytest.raises(SchemaError):
        canonical_json({"x": bad})


@pytest.mark.parametrize(
    "text",
    [
        '{"b":1,"a":2}',  # unsorted
        '{"a": 2}',  # whitespace
        '{"a":2,"a":2}',  # duplicate key
        '{"a":"\\u00e9"}',  # escaped spelling of a non-ASCII character
        '{"a":2.50}',  # non-shortest number
        '{"a":NaN}',
        "not json",
    ],
)
def test_parse_canonical_rejects_non_canonical(text: str) -> None:
    with pytest.raises(SchemaError):
        parse_canonical(text)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_canonical_round_trip(value: object) -> None:
    encoded = canonical_json(value)
    assert parse_canonical(encoded) == value
    assert canonical_json(parse_canonical(encoded)) == encoded


# ----------------------------------------------------------------------------- container
def test_tensor_names_are_unambiguous() -> None:
    assert tensor_name(0) == "layer.0" and tensor_name(12) == "layer.12"
    assert parse_tensor_name("layer.12") == 12
    for bad in ["layer.012", "layer.-1", "layers.1", "layer.1.0", "layer.", "direction.1", "layer. 1"]:
        with pytest.raises(FileFormatError):
            parse_tensor_name(bad)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.float64])
def test_encode_decode_is_bit_exact(dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    tensors = {3: torch.randn(8).to(dtype), 10: torch.randn(8).to(dtype)}
    data = encode(tensors, {"k": "v"})
    raw = decode(data)
    assert raw.metadata == {"k": "v"}
    assert set(raw.tensors) == {3, 10}
    for layer, tensor in tensors.items():
        assert raw.tensors[layer].dtype == dtype
        assert torch.equal(raw.tensors[layer].view(torch.uint8), tensor.view(torch.uint8))
    assert encode(raw.tensors, raw.metadata) == data


def test_container_is_a_valid_safetensors_file(tiny_bytes: bytes, tiny_certified: CertifiedVector) -> None:
    loaded = st_load(tiny_bytes)
    assert sorted(loaded) == ["layer.1", "layer.2"]
    for layer, tensor in tiny_certified.tensors.items():
        assert torch.equal(loaded[f"layer.{layer}"], tensor)
    (n,) = struct.unpack("<Q", tiny_bytes[:8])
    assert n % 8 == 0, "header padded to 8 bytes like safetensors does"
    header = json.loads(tiny_bytes[8 : 8 + n])
    assert list(header["__metadata__"]) == [METADATA_KEY]


def test_safetensors_library_reads_metadata(tiny_file: Path, tiny_certified: CertifiedVector) -> None:
    with safe_open(str(tiny_file), "pt") as handle:
        metadata = handle.metadata()
    assert json.loads(metadata[METADATA_KEY]) == tiny_certified.certificate


def test_write_atomic_leaves_only_the_target(tmp_path: Path) -> None:
    write_atomic(tmp_path / "x.bin", b"abc")
    assert leftovers(tmp_path) == ["x.bin"]
    assert (tmp_path / "x.bin").read_bytes() == b"abc"


def test_write_atomic_failure_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    def boom(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(tmp_path / "x.bin", b"abc")
    assert leftovers(tmp_path) == []


# ----------------------------------------------------------------------------- digest
def test_digest_binds_tensors_and_body(tiny_certified: CertifiedVector) -> None:
    body = tiny_certified.body
    tensors = tiny_certified.tensors
    base = compute_digest(tensors, body)
    assert base == tiny_certified.digest
    nudged = {k: v.clone() for k, v in tensors.items()}
    nudged[1][0] = torch.nextafter(nudged[1][0], torch.tensor(float("inf")))
    assert compute_digest(nudged, body) != base
    assert compute_digest({1: tensors[1]}, body) != base
    assert compute_digest(tensors, {**body, "created": "2000-01-01T00:00:00Z"}) != base
    as_f64 = {k: v.to(torch.float64) for k, v in tensors.items()}
    assert compute_digest(as_f64, body) != base


# ----------------------------------------------------------------------------- schema
def test_spec_schema_file_matches_the_code() -> None:
    assert SPEC_SCHEMA.read_text(encoding="utf-8") == schema_text(), (
        "spec/certificate.schema.json is stale: regenerate it from steering_core.certify.schema.schema_text()"
    )


def test_certificate_validates_against_the_spec_file(tiny_certified: CertifiedVector) -> None:
    schema = json.loads(SPEC_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(tiny_certified.certificate, schema, cls=jsonschema.Draft202012Validator)
    assert schema == SCHEMA


def test_schema_rejects_missing_and_extra_fields(tiny_certified: CertifiedVector) -> None:
    cert = json.loads(json.dumps(tiny_certified.certificate))
    del cert["body"]["recommendation"]["alpha"]
    with pytest.raises(SchemaError, match="alpha"):
        validate(cert)
    cert = json.loads(json.dumps(tiny_certified.certificate))
    cert["body"]["surprise"] = 1
    with pytest.raises(SchemaError):
        validate(cert)
    cert = json.loads(json.dumps(tiny_certified.certificate))
    cert["schema_version"] = 2
    with pytest.raises(SchemaError, match="schema_version"):
        validate(cert)
