"""llama.cpp control-vector GGUF: export, import, repeng's export, round trips byte for byte, bad GGUFs."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import gguf
import numpy as np
import pytest
import torch

from steering_core.certify import (
    CertifiedVector,
    GgufFormatError,
    NonFiniteTensorError,
    SizeLimitError,
    certify_vector,
    export_gguf,
    import_certified,
    read_control_vector,
    verify_bytes,
)
from steering_core.certify.certificate import seal
from steering_core.certify.cli import add_subcommands
from steering_core.certify.fileformat import Limits, tensor_bytes
from steering_core.certify.gguf_interop import CERTIFICATE_KEY, from_llama_index, to_llama_index
from steering_core.models import LoadedModel
from tests.certify.conftest import leftovers


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="steer")
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def write_repeng_style(
    path: Path, directions: dict[int, np.ndarray], model_type: str = "qwen3", arch: str = "controlvector"
) -> None:
    """What repeng's ``ControlVector.export_gguf`` writes (repeng/extract.py), verbatim in structure."""
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_string(f"{arch}.model_hint", model_type)
    writer.add_uint32(f"{arch}.layer_count", len(directions))
    for layer in directions:
        writer.add_tensor(f"direction.{layer}", directions[layer])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def gguf_tensor_bytes(path: Path) -> dict[str, bytes]:
    reader = gguf.GGUFReader(str(path))
    return {t.name: bytes(np.asarray(t.data).tobytes()) for t in reader.tensors}


# ----------------------------------------------------------------------------- numbering
def test_layer_numbering_matches_llama_cpp() -> None:
    assert to_llama_index(12) == 12 and from_llama_index(12) == 12
    with pytest.raises(GgufFormatError, match="layer 0"):
        to_llama_index(0)
    with pytest.raises(GgufFormatError):
        from_llama_index(0)


# ----------------------------------------------------------------------------- export / import
def test_export_is_a_llama_cpp_control_vector(tmp_path: Path, tiny_certified: CertifiedVector) -> None:
    path = export_gguf(tiny_certified, tmp_path / "v.gguf")
    assert leftovers(tmp_path) == ["v.gguf"]
    reader = gguf.GGUFReader(str(path))
    assert reader.get_field("general.architecture").contents() == "controlvector"
    assert reader.get_field("controlvector.model_hint").contents() == "qwen3"
    assert reader.get_field("controlvector.layer_count").contents() == 2
    assert sorted(t.name for t in reader.tensors) == ["direction.1", "direction.2"]
    for t in reader.tensors:
        assert t.tensor_type == gguf.GGMLQuantizationType.F32 and len(t.shape) == 1


def test_gguf_round_trip_is_byte_exact(tmp_path: Path, tiny_certified: CertifiedVector, tiny_bytes: bytes) -> None:
    path = export_gguf(tiny_certified, tmp_path / "v.gguf")
    raw = gguf_tensor_bytes(path)
    for layer, tensor in tiny_certified.tensors.items():
        assert raw[f"direction.{layer}"] == tensor_bytes(tensor)
    restored = import_certified(path)
    assert restored.to_bytes() == tiny_bytes, "safetensors -> GGUF -> safetensors reproduces the file exactly"
    for layer, tensor in tiny_certified.tensors.items():
        assert tensor_bytes(restored.tensors[layer]) == tensor_bytes(tensor)


def test_gguf_round_trip_without_certificate_keeps_tensor_bytes(
    tmp_path: Path, tiny_certified: CertifiedVector
) -> None:
    path = export_gguf(tiny_certified, tmp_path / "v.gguf", embed_certificate=False)
    parsed = read_control_vector(path)
    assert parsed.certificate_text is None
    for layer, tensor in tiny_certified.tensors.items():
        assert tensor_bytes(parsed.directions[layer]) == tensor_bytes(tensor)
    with pytest.raises(GgufFormatError, match="certify it with"):
        import_certified(path)


def test_cli_export_import(
    tmp_path: Path, tiny_file: Path, tiny_bytes: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    gguf_path = tmp_path / "v.gguf"
    assert run_cli(["export-gguf", str(tiny_file), "--out", str(gguf_path)]) == 0
    printed = capsys.readouterr().out
    assert "--control-vector-scaled" in printed and " 1 " in printed
    out = tmp_path / "back.safetensors"
    assert run_cli(["import-gguf", str(gguf_path), "--out", str(out)]) == 0
    assert out.read_bytes() == tiny_bytes


def test_export_refuses_layer_zero_and_non_f32(tmp_path: Path, tiny_certified: CertifiedVector) -> None:
    body = dict(tiny_certified.body)
    zero = seal({0: tiny_certified.tensors[1]}, body)
    with pytest.raises(GgufFormatError, match="layer 0"):
        export_gguf(zero, tmp_path / "z.gguf")
    half = seal({k: v.to(torch.float16) for k, v in tiny_certified.tensors.items()}, body)
    with pytest.raises(GgufFormatError, match="float32"):
        export_gguf(half, tmp_path / "h.gguf")
    assert leftovers(tmp_path) == []


def test_export_refuses_a_file_that_does_not_verify(tmp_path: Path, tiny_file: Path) -> None:
    data = bytearray(tiny_file.read_bytes())
    data[-1] ^= 1
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(bytes(data))
    assert run_cli(["export-gguf", str(bad), "--out", str(tmp_path / "x.gguf")]) == 1
    assert not (tmp_path / "x.gguf").exists()


# ----------------------------------------------------------------------------- repeng
def test_import_repeng_export(tmp_path: Path, tiny_lm: LoadedModel) -> None:
    rng = np.random.default_rng(0)
    directions = {layer: rng.standard_normal(64).astype(np.float32) for layer in (2, 1)}
    directions = {k: v / np.linalg.norm(v) for k, v in directions.items()}  # repeng's PCA directions are unit
    path = tmp_path / "repeng.gguf"
    write_repeng_style(path, directions)
    parsed = read_control_vector(path)
    assert parsed.model_hint == "qwen3" and parsed.layer_count == 2 and parsed.certificate_text is None
    assert sorted(parsed.directions) == [1, 2]
    for layer, array in directions.items():
        assert parsed.directions[layer].numpy().tobytes() == array.tobytes()
    vector = parsed.to_steering_vector(num_layers=4, model_name="tiny-qwen3")
    assert vector.layer_indices == [1, 2] and vector.hidden_size == 64
    # ... and it can be certified like any other vector (recipe: imported, with the file's digest)
    from steering_core.certify import Protocol

    protocol = Protocol(calibration_prompts=2, behaviour_prompts=4, max_new_tokens=20, alphas=(1e-5, 0.1, 1e3))
    certified = certify_vector(tiny_lm, vector, protocol=protocol, recipe=parsed.recipe_block())
    assert certified.body["recipe"]["kind"] == "imported"
    assert certified.body["vector"]["scaling"] == "unit", "repeng's unit directions are recognised"
    assert certified.body["recipe"]["file_sha256"] == parsed.sha256
    assert verify_bytes(certified.to_bytes(), model=tiny_lm).ok
    # exporting the certified import writes the same tensor bytes back
    out = export_gguf(certified, tmp_path / "again.gguf")
    again = gguf_tensor_bytes(out)
    for layer, array in directions.items():
        assert again[f"direction.{layer}"] == array.tobytes()


# ----------------------------------------------------------------------------- bad GGUFs
def test_gguf_with_another_architecture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "llama.gguf"
    write_repeng_style(path, {1: np.ones(64, dtype=np.float32)}, arch="llama")
    with pytest.raises(GgufFormatError, match="'llama'") as caught:
        read_control_vector(path)
    assert caught.value.check == "gguf.architecture"
    out = tmp_path / "out.safetensors"
    assert run_cli(["import-gguf", str(path), "--out", str(out)]) == 1
    assert "gguf.architecture" in capsys.readouterr().err
    assert leftovers(tmp_path) == ["llama.gguf"]


def test_gguf_direction_zero(tmp_path: Path) -> None:
    path = tmp_path / "zero.gguf"
    write_repeng_style(path, {0: np.ones(8, dtype=np.float32)})
    with pytest.raises(GgufFormatError, match=r"direction\.0"):
        read_control_vector(path)


def test_gguf_non_f32(tmp_path: Path) -> None:
    path = tmp_path / "f16.gguf"
    write_repeng_style(path, {1: np.ones(8, dtype=np.float16)})
    with pytest.raises(GgufFormatError, match="F32"):
        read_control_vector(path)


def test_gguf_unequal_widths(tmp_path: Path) -> None:
    path = tmp_path / "w.gguf"
    write_repeng_style(path, {1: np.ones(8, dtype=np.float32), 2: np.ones(9, dtype=np.float32)})
    with pytest.raises(GgufFormatError, match="width"):
        read_control_vector(path)


def test_gguf_other_tensor_name(tmp_path: Path) -> None:
    path = tmp_path / "n.gguf"
    writer = gguf.GGUFWriter(str(path), "controlvector")
    writer.add_tensor("token_embd.weight", np.ones(8, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(GgufFormatError, match="token_embd"):
        read_control_vector(path)


def test_gguf_nan(tmp_path: Path) -> None:
    path = tmp_path / "nan.gguf"
    values = np.ones(8, dtype=np.float32)
    values[3] = np.nan
    write_repeng_style(path, {1: values})
    with pytest.raises(NonFiniteTensorError):
        read_control_vector(path)


def test_gguf_truncated_and_garbage(tmp_path: Path, tiny_certified: CertifiedVector) -> None:
    path = export_gguf(tiny_certified, tmp_path / "v.gguf")
    data = path.read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(GgufFormatError):
        read_control_vector(cut)
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf at all")
    with pytest.raises(GgufFormatError, match="not a readable GGUF"):
        read_control_vector(junk)


def test_gguf_over_the_size_limit(tmp_path: Path, tiny_certified: CertifiedVector) -> None:
    path = export_gguf(tiny_certified, tmp_path / "v.gguf")
    with pytest.raises(SizeLimitError):
        read_control_vector(path, Limits(max_file_bytes=os.path.getsize(path) - 1))


def test_gguf_with_a_tampered_embedded_certificate(tmp_path: Path, tiny_certified: CertifiedVector) -> None:
    from steering_core.certify import DigestMismatchError
    from steering_core.certify.canonical import canonical_json
    from steering_core.certify.gguf_interop import write_control_vector

    cert = tiny_certified.certificate
    tampered = {**cert, "body": {**cert["body"], "created": "2031-01-01T00:00:00Z"}}
    path = write_control_vector(
        tmp_path / "t.gguf", tiny_certified.tensors, "qwen3", {CERTIFICATE_KEY: canonical_json(tampered).decode()}
    )
    with pytest.raises(DigestMismatchError):
        import_certified(path)
