"""Interop with llama.cpp control vectors (GGUF) and repeng's GGUF export.

The control-vector GGUF (what ``llama-cli --control-vector FILE`` and repeng's
``ControlVector.export_gguf`` write) has ``general.architecture = "controlvector"``, the keys
``controlvector.model_hint`` (the model type, e.g. ``qwen2``) and ``controlvector.layer_count``,
and one 1-D F32 tensor ``direction.<n>`` per steered layer.

Layer numbering. llama.cpp (``common_control_vector_load`` and ``llama_adapter_cvec``) stores
``direction.<n>`` at ``data[(n - 1) * n_embd]`` and adds it to the output of graph layer
``il = n``, where ``il`` counts decoder layers from 0 exactly as transformers'
``model.layers[il]`` does; ``direction.0`` is rejected ("layer numbering starts at 1") because
the buffer has no slot for layer 0. repeng writes ``direction.<i>`` with its 0-based module
index ``i`` (the output of ``model.layers[i]``), the same convention. Hence our layer ``L`` (the
output of 0-based decoder layer ``L``) is ``direction.L``; a vector steering layer 0 cannot be
exported (:class:`GgufFormatError`), and ``direction.0`` in an imported file is refused too.
The slow interop test confirms the mapping against llama.cpp itself.

Strength: llama.cpp adds ``strength * direction`` (``--control-vector`` means strength 1,
``--control-vector-scaled FILE S`` strength ``S``), so the certificate's recommended α is the
strength to pass. The export stores the raw tensors, byte for byte, and (by default) the
canonical certificate under the extra key ``steering_spec.certificate`` (llama.cpp ignores
unknown keys), so :func:`import_certified` restores the certified file exactly.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from steering_core.atomic import atomic_file
from steering_core.certify.canonical import canonical_json, parse_canonical
from steering_core.certify.certificate import CertifiedVector
from steering_core.certify.errors import CertificateError, GgufFormatError, NonFiniteTensorError
from steering_core.certify.fileformat import DEFAULT_LIMITS, Limits, read_bytes
from steering_core.certify.gguf_header import GGML_F32, f32_tensor_bytes, parse_header
from steering_core.certify.verify import verify_bytes
from steering_core.vector import SteeringVector

ARCHITECTURE = "controlvector"
CERTIFICATE_KEY = "steering_spec.certificate"
NUMBERING_KEY = "steering_spec.layer_numbering"
NUMBERING = "direction.<n> is added to the output of 0-based decoder layer n (llama.cpp il); n >= 1"
_DIRECTION_RE = re.compile(r"^direction\.([1-9][0-9]{0,3})$")


def to_llama_index(layer: int) -> int:
    """llama.cpp's ``direction.<n>`` index for our 0-based layer ``layer`` (identity; 0 is refused)."""
    if layer < 1:
        raise GgufFormatError(
            "gguf.layers", "layer 0 cannot be exported: llama.cpp control vectors start at direction.1 (layer 1)"
        )
    return layer


def from_llama_index(index: int) -> int:
    """Our 0-based layer for llama.cpp's ``direction.<index>`` (identity; index >= 1)."""
    if index < 1:
        raise GgufFormatError("gguf.layers", f"direction.{index}: llama.cpp direction indices start at 1")
    return index


def write_control_vector(
    path: str | os.PathLike[str],
    directions: dict[int, torch.Tensor],
    model_hint: str,
    extra: dict[str, str] | None = None,
) -> Path:
    """Write a llama.cpp control-vector GGUF atomically; ``directions`` maps our layer -> F32 tensor.

    Raises:
        GgufFormatError: a tensor is not float32 / 1-D, or a layer is 0.
    """
    import gguf

    for layer, tensor in directions.items():
        to_llama_index(layer)
        if tensor.dtype != torch.float32 or tensor.dim() != 1:
            raise GgufFormatError(
                "gguf.tensors",
                f"layer {layer}: llama.cpp needs 1-D float32 directions, got {tensor.dtype} {tuple(tensor.shape)}",
            )
    target = Path(path)
    with atomic_file(target) as tmp:
        writer = gguf.GGUFWriter(str(tmp), ARCHITECTURE)
        writer.add_string(f"{ARCHITECTURE}.model_hint", model_hint)
        writer.add_uint32(f"{ARCHITECTURE}.layer_count", len(directions))
        for key, value in sorted((extra or {}).items()):
            writer.add_string(key, value)
        for layer in sorted(directions):
            array = directions[layer].detach().to("cpu").contiguous().numpy()
            writer.add_tensor(f"direction.{to_llama_index(layer)}", array)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
    return target


def export_gguf(certified: CertifiedVector, path: str | os.PathLike[str], embed_certificate: bool = True) -> Path:
    """Export a (verified) certified vector as a llama.cpp control vector, tensors byte for byte.

    Pass the certificate's recommended α to llama.cpp as the strength:
    ``llama-cli -m MODEL.gguf --control-vector-scaled OUT.gguf <alpha>``.
    """
    body = certified.body
    hint = body["model"].get("model_type") or body["model"]["architecture"]
    extra = {NUMBERING_KEY: NUMBERING}
    if embed_certificate:
        extra[CERTIFICATE_KEY] = canonical_json(certified.certificate).decode("utf-8")
    return write_control_vector(path, certified.tensors, str(hint), extra)


@dataclass(frozen=True)
class ControlVectorFile:
    """A parsed control-vector GGUF: directions by our 0-based layer, and its metadata."""

    directions: dict[int, torch.Tensor]
    model_hint: str | None
    layer_count: int | None
    certificate_text: str | None
    sha256: str

    @property
    def hidden_size(self) -> int:
        """The directions' common width."""
        return int(next(iter(self.directions.values())).shape[0])

    def to_steering_vector(
        self, num_layers: int | None = None, model_name: str | None = None, style: str | None = "imported"
    ) -> SteeringVector:
        """An (uncertified) :class:`SteeringVector` of these directions.

        ``model_name`` is the model it is for, when the caller knows it: the file's
        ``model_hint`` is a model *type* (``qwen2``), not a model, so it goes to ``metadata``.
        """
        return SteeringVector(
            directions={layer: t.clone() for layer, t in self.directions.items()},
            hidden_size=self.hidden_size,
            num_layers=num_layers,
            model_name=model_name,
            style=style,
            metadata={"imported_from": "gguf", "gguf_sha256": self.sha256, "model_hint": self.model_hint},
        )

    def recipe_block(self) -> dict[str, Any]:
        """The certificate ``recipe`` block for certifying these imported directions."""
        return {
            "kind": "imported",
            "format": "gguf-controlvector",
            "file_sha256": self.sha256,
            "model_hint": self.model_hint,
            "layer_numbering": NUMBERING,
        }


def _string_field(metadata: dict[str, Any], key: str) -> str | None:
    if key not in metadata:
        return None
    value = metadata[key]
    if not isinstance(value, str):
        raise GgufFormatError("gguf.metadata", f"key {key!r} is not a string")
    return value


def read_control_vector(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> ControlVectorFile:
    """Parse a control-vector GGUF strictly (llama.cpp's rules, plus finiteness), in bounded time and memory.

    The file is read once (at most ``limits.max_file_bytes``) and parsed by
    :mod:`steering_core.certify.gguf_header`, which checks every count and length in the header
    against what the file can hold and against ``limits`` before allocating or iterating.

    Raises:
        SizeLimitError: the file, a count or a string is over ``limits``.
        GgufFormatError: not GGUF, truncated, a count the file cannot hold,
            ``general.architecture`` is not ``controlvector``, a tensor that is not
            ``direction.<n>`` (n >= 1), not F32, not 1-D, or of unequal width.
        NonFiniteTensorError: NaN/inf in a direction.
    """
    target = Path(path)
    data = read_bytes(target, limits, what="gguf", missing_error=GgufFormatError)
    header = parse_header(data, limits)
    metadata = header.metadata
    arch = _string_field(metadata, "general.architecture")
    if arch != ARCHITECTURE:
        raise GgufFormatError(
            "gguf.architecture", f"general.architecture is {arch!r}, expected {ARCHITECTURE!r} (not a control vector)"
        )
    layer_count_value = metadata.get(f"{ARCHITECTURE}.layer_count")
    if layer_count_value is not None and (isinstance(layer_count_value, (bool, list, str, float))):
        raise GgufFormatError("gguf.metadata", f"{ARCHITECTURE}.layer_count is not an integer")
    layer_count = int(layer_count_value) if layer_count_value is not None else None
    directions: dict[int, torch.Tensor] = {}
    width: int | None = None
    for info in header.tensors:
        match = _DIRECTION_RE.match(info.name)
        if match is None:
            raise GgufFormatError("gguf.tensors", f"tensor {info.name!r} is not direction.<n> with n >= 1")
        layer = from_llama_index(int(match.group(1)))
        if layer in directions:
            raise GgufFormatError("gguf.tensors", f"duplicate tensor {info.name!r}")
        if info.ggml_type != GGML_F32:
            type_name = _ggml_type_name(info.ggml_type)
            raise GgufFormatError("gguf.tensors", f"{info.name}: type {type_name}, llama.cpp needs F32")
        if len(info.dims) != 1:
            raise GgufFormatError("gguf.tensors", f"{info.name}: shape {info.dims} is not 1-D")
        if width is not None and info.dims[0] != width:
            raise GgufFormatError("gguf.tensors", f"{info.name}: width {info.dims[0]} != {width}")
        values = np.frombuffer(f32_tensor_bytes(data, header, info), dtype="<f4").astype(np.float32, copy=True)
        width = int(values.shape[0])
        if width == 0:
            raise GgufFormatError("gguf.tensors", f"{info.name}: width 0")
        as_tensor = torch.from_numpy(values)
        if not bool(torch.isfinite(as_tensor).all()):
            raise NonFiniteTensorError("tensors.finite", f"{info.name} has NaN/inf entries")
        directions[layer] = as_tensor
    if not directions:
        raise GgufFormatError("gguf.tensors", "no direction tensors")
    if layer_count is not None and layer_count != len(directions):
        raise GgufFormatError("gguf.metadata", f"layer_count {layer_count} but {len(directions)} direction tensors")
    return ControlVectorFile(
        dict(sorted(directions.items())),
        _string_field(metadata, f"{ARCHITECTURE}.model_hint"),
        layer_count,
        _string_field(metadata, CERTIFICATE_KEY),
        hashlib.sha256(data).hexdigest(),
    )


def _ggml_type_name(ggml_type: int) -> str:
    import gguf

    try:
        return str(gguf.GGMLQuantizationType(ggml_type).name)
    except ValueError:
        return f"unknown ({ggml_type})"


def import_certified(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> CertifiedVector:
    """Restore the certified vector embedded in a GGUF written by :func:`export_gguf`, and verify it.

    The result's :meth:`CertifiedVector.to_bytes` equals the original certified file byte for byte.

    Raises:
        GgufFormatError: the GGUF carries no certificate (e.g. a repeng export: certify it with
            ``steer vector certify --from-gguf``).
        CertificateError: the restored certificate does not verify (digest, schema ...).
    """
    parsed = read_control_vector(path, limits)
    if parsed.certificate_text is None:
        raise GgufFormatError(
            "gguf.certificate",
            f"{path} carries no {CERTIFICATE_KEY!r} key; certify it with: steer vector certify --from-gguf {path}",
        )
    certificate = parse_canonical(parsed.certificate_text)
    if not isinstance(certificate, dict):
        raise GgufFormatError("gguf.certificate", "the embedded certificate is not a JSON object")
    certified = CertifiedVector(parsed.directions, certificate)
    report = verify_bytes(certified.to_bytes(), source=str(path), limits=limits)
    error = report.first_error()
    if error is not None:
        raise error
    if report.certified is None:  # pragma: no cover - no error implies contents
        raise CertificateError("gguf.certificate", "restored certificate could not be verified")
    return report.certified
