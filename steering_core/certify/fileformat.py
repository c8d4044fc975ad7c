"""The certified-vector container: a *canonical* safetensors file, read strictly, written atomically.

Layout (a valid safetensors file that any safetensors reader loads):

* 8 bytes: ``N``, the header length, unsigned little-endian;
* ``N`` bytes: the header, the canonical JSON (sorted keys, compact, UTF-8; see
  :mod:`steering_core.certify.canonical`) of ``{"__metadata__": {...}, "<name>": {"dtype": ...,
  "shape": [...], "data_offsets": [begin, end]}, ...}``, right-padded with ASCII spaces to a
  multiple of 8 bytes (as safetensors itself pads);
* the tensor data, little-endian, concatenated in ascending layer order with no gaps, and
  nothing after the last tensor.

Tensor names are ``layer.<i>`` with ``i`` the 0-based index of the decoder layer whose *output*
the direction is added to (``model.model.layers[i]`` in transformers), written in decimal
without leading zeros. The metadata has exactly one key, :data:`METADATA_KEY`, whose value is
the certificate (canonical JSON).

Strict reading: the size limits are checked before anything past them is read; every offset
is checked; and the whole file must equal the canonical re-encoding of what was parsed, so a
change to any byte (including header padding or JSON whitespace) is detected even where it
would not change the parsed values.

Writing is atomic (:mod:`steering_core.atomic`): the bytes go to a temporary file in the
target directory, are fsynced, and only then renamed over the target (``os.replace``). On any
error the temporary file is removed and the target is left untouched.
"""

from __future__ import annotations

import json
import os
import re
import struct
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from steering_core.atomic import write_bytes_atomic
from steering_core.certify.canonical import canonical_json, no_duplicate_keys
from steering_core.certify.errors import CertificateError, FileFormatError, SizeLimitError

METADATA_KEY = "steering_spec.certificate"
MAX_FILE_BYTES = 64 * 1024 * 1024
"""Default upper bound on a certified file's size (64 MiB: 100 layers of width 16384 in float64 fit)."""
MAX_HEADER_BYTES = 1024 * 1024
"""Default upper bound on the safetensors header, which holds the certificate (1 MiB)."""
MAX_LAYER_INDEX = 9999
MAX_RANK = 8

_NAME_RE = re.compile(r"^layer\.(0|[1-9][0-9]{0,3})$")
_DTYPES: dict[str, torch.dtype] = {
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "F64": torch.float64,
}
_TAGS: dict[torch.dtype, str] = {v: k for k, v in _DTYPES.items()}
_DTYPE_NAMES: dict[torch.dtype, str] = {
    torch.float32: "float32",
    torch.float16: "float16",
    torch.bfloat16: "bfloat16",
    torch.float64: "float64",
}


MAX_GGUF_KV_PAIRS = 256
"""Default upper bound on a GGUF's metadata key/value pairs (a control vector has about five)."""
MAX_GGUF_ARRAY_ITEMS = 4096
"""Default upper bound on the elements of all GGUF metadata arrays together (a control vector has none)."""
MAX_GGUF_TENSORS = 1024
"""Default upper bound on a GGUF's tensor count (one direction per decoder layer)."""


@dataclass(frozen=True)
class Limits:
    """Limits enforced on read, before anything they bound is allocated or iterated.

    Attributes:
        max_file_bytes: a file's size in bytes.
        max_header_bytes: the safetensors header (which holds the certificate) in bytes; also
            the longest string a GGUF may hold (the embedded certificate is one).
        max_gguf_kv_pairs: key/value pairs in a GGUF header.
        max_gguf_array_items: elements of all GGUF metadata arrays, summed over the file.
        max_gguf_tensors: tensors declared in a GGUF.
    """

    max_file_bytes: int = MAX_FILE_BYTES
    max_header_bytes: int = MAX_HEADER_BYTES
    max_gguf_kv_pairs: int = MAX_GGUF_KV_PAIRS
    max_gguf_array_items: int = MAX_GGUF_ARRAY_ITEMS
    max_gguf_tensors: int = MAX_GGUF_TENSORS


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class RawFile:
    """What a strictly parsed container holds: tensors by layer, and the metadata strings."""

    tensors: dict[int, torch.Tensor]
    metadata: dict[str, str]


def tensor_name(layer: int) -> str:
    """The container's name for the direction of decoder layer ``layer`` (0-based)."""
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer <= MAX_LAYER_INDEX:
        raise FileFormatError("tensors.names", f"layer index must be an int in [0, {MAX_LAYER_INDEX}], got {layer!r}")
    return f"layer.{layer}"


def parse_tensor_name(name: str) -> int:
    """The layer index in a tensor name ``layer.<i>``.

    Raises:
        FileFormatError: any other spelling (leading zeros, signs, other prefixes).
    """
    match = _NAME_RE.match(name)
    if match is None:
        raise FileFormatError("tensors.names", f"tensor name {name!r} is not 'layer.<i>' (0-based, no leading zeros)")
    return int(match.group(1))


def dtype_tag(dtype: torch.dtype) -> str:
    """The safetensors dtype tag (``F32``, ``F16``, ``BF16``, ``F64``) of a floating dtype."""
    if dtype not in _TAGS:
        raise FileFormatError("tensors.dtype", f"unsupported dtype {dtype}; use float32, float16, bfloat16 or float64")
    return _TAGS[dtype]


def dtype_name(dtype: torch.dtype) -> str:
    """The certificate's spelling of a dtype (``float32`` ...)."""
    dtype_tag(dtype)
    return _DTYPE_NAMES[dtype]


def dtype_from_name(name: str) -> torch.dtype:
    """Inverse of :func:`dtype_name`."""
    for dtype, spelled in _DTYPE_NAMES.items():
        if spelled == name:
            return dtype
    raise FileFormatError("tensors.dtype", f"unknown dtype name {name!r}")


def tensor_bytes(tensor: torch.Tensor) -> bytes:
    """The tensor's elements as little-endian bytes in row-major order (what the file stores)."""
    flat = tensor.detach().to("cpu").contiguous().reshape(-1)
    if sys.byteorder != "little":  # pragma: no cover - every supported platform is little-endian
        raise FileFormatError("tensors.bytes", "big-endian hosts are not supported")
    return bytes(flat.view(torch.uint8).numpy().tobytes())


def _tensor_from_bytes(data: bytes, dtype: torch.dtype, shape: list[int]) -> torch.Tensor:
    buffer = bytearray(data)  # writable copy: torch.frombuffer wants one
    if not buffer:
        return torch.empty(shape, dtype=dtype)
    return torch.frombuffer(buffer, dtype=torch.uint8).view(dtype).reshape(shape).clone()


def encode(tensors: Mapping[int, torch.Tensor], metadata: Mapping[str, str]) -> bytes:
    """The canonical container bytes for ``tensors`` (layer -> tensor) and ``metadata``.

    Pre: every tensor has a supported floating dtype; metadata maps str to str.
    Post: :func:`decode` of the result returns equal tensors (bit for bit) and metadata.
    """
    header: dict[str, Any] = {"__metadata__": {str(k): str(v) for k, v in metadata.items()}}
    chunks: list[bytes] = []
    offset = 0
    for layer in sorted(tensors):
        tensor = tensors[layer]
        raw = tensor_bytes(tensor)
        header[tensor_name(layer)] = {
            "dtype": dtype_tag(tensor.dtype),
            "shape": [int(s) for s in tensor.shape],
            "data_offsets": [offset, offset + len(raw)],
        }
        chunks.append(raw)
        offset += len(raw)
    head = canonical_json(header)
    head += b" " * (-len(head) % 8)
    return struct.pack("<Q", len(head)) + head + b"".join(chunks)


def _header_entry(name: str, entry: Any) -> tuple[torch.dtype, list[int], int, int]:
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise FileFormatError(
            "container.header", f"tensor {name!r}: entry must have exactly dtype, shape, data_offsets"
        )
    dtype = _DTYPES.get(entry["dtype"]) if isinstance(entry["dtype"], str) else None
    if dtype is None:
        raise FileFormatError("tensors.dtype", f"tensor {name!r}: unsupported dtype {entry['dtype']!r}")
    shape, offsets = entry["shape"], entry["data_offsets"]
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_RANK
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)
    ):
        raise FileFormatError(
            "container.header", f"tensor {name!r}: shape must be a list of at most {MAX_RANK} non-negative ints"
        )
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offsets)
        or offsets[0] > offsets[1]
    ):
        raise FileFormatError(
            "container.header", f"tensor {name!r}: data_offsets must be [begin, end] with begin <= end"
        )
    numel = 1
    for s in shape:
        numel *= s
    if offsets[1] - offsets[0] != numel * torch.empty((), dtype=dtype).element_size():
        raise FileFormatError(
            "container.header", f"tensor {name!r}: data_offsets span {offsets[1] - offsets[0]} bytes for shape {shape}"
        )
    return dtype, shape, offsets[0], offsets[1]


def decode(data: bytes, limits: Limits = DEFAULT_LIMITS) -> RawFile:
    """Strictly parse canonical container bytes (see the module docstring).

    Raises:
        SizeLimitError: ``data`` or its header is over ``limits``.
        FileFormatError: truncated, malformed, trailing bytes, bad names, or not canonical.
    """
    if len(data) > limits.max_file_bytes:
        raise SizeLimitError("container.size", f"{len(data)} bytes exceeds the limit of {limits.max_file_bytes} bytes")
    if len(data) < 8:
        raise FileFormatError("container.truncated", f"{len(data)} bytes: too short for a safetensors header length")
    (n_header,) = struct.unpack("<Q", data[:8])
    if n_header > limits.max_header_bytes:
        raise SizeLimitError(
            "container.metadata_size",
            f"header of {n_header} bytes exceeds the metadata limit of {limits.max_header_bytes} bytes",
        )
    if 8 + n_header > len(data):
        raise FileFormatError(
            "container.truncated", f"header claims {n_header} bytes but only {len(data) - 8} follow the length"
        )
    try:
        header = json.loads(data[8 : 8 + n_header].decode("utf-8"), object_pairs_hook=no_duplicate_keys)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise FileFormatError("container.header", f"header is not UTF-8 JSON ({type(error).__name__})") from None
    except CertificateError as error:
        raise FileFormatError("container.header", error.detail) from None
    if not isinstance(header, dict):
        raise FileFormatError("container.header", "header is not a JSON object")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise FileFormatError("container.header", "__metadata__ must map strings to strings")
    body = data[8 + n_header :]
    spans: list[tuple[int, int, int, torch.dtype, list[int]]] = []
    for name, entry in header.items():
        layer = parse_tensor_name(name)
        dtype, shape, begin, end = _header_entry(name, entry)
        spans.append((begin, end, layer, dtype, shape))
    spans.sort()
    cursor = 0
    tensors: dict[int, torch.Tensor] = {}
    for begin, end, layer, dtype, shape in spans:
        if begin != cursor:
            raise FileFormatError(
                "container.header", f"tensor layer.{layer}: data starts at {begin}, expected {cursor}"
            )
        if end > len(body):
            raise FileFormatError(
                "container.truncated", f"tensor layer.{layer} ends at byte {end} but the data section has {len(body)}"
            )
        tensors[layer] = _tensor_from_bytes(body[begin:end], dtype, shape)
        cursor = end
    if cursor != len(body):
        raise FileFormatError("container.trailing", f"{len(body) - cursor} bytes after the last tensor")
    if encode(tensors, metadata) != data:
        raise FileFormatError(
            "container.canonical",
            "the file is not the canonical encoding of its contents (header bytes, padding or order were changed)",
        )
    return RawFile(dict(sorted(tensors.items())), dict(metadata))


def read_bytes(
    path: str | os.PathLike[str],
    limits: Limits = DEFAULT_LIMITS,
    what: str = "container",
    missing_error: type[CertificateError] = FileFormatError,
) -> bytes:
    """Read a file whole after checking its size against ``limits.max_file_bytes``.

    ``what`` prefixes the error fields (``container.size``, ``gguf.size``); ``missing_error`` is
    raised when the path is not a regular file. Memory is bounded by the file's real size (a
    ``read(limit)`` would allocate the whole limit up front).

    Raises:
        SizeLimitError: the file is larger than the limit (nothing is read), or grew past it.
        missing_error: the file does not exist or is not a regular file.
    """
    target = Path(path)
    if not target.is_file():
        raise missing_error(f"{what}.missing", f"{target} does not exist or is not a regular file")
    size = target.stat().st_size
    if size > limits.max_file_bytes:
        raise SizeLimitError(f"{what}.size", f"{target} has {size} bytes; the limit is {limits.max_file_bytes} bytes")
    with target.open("rb") as handle:
        data = handle.read(size + 1)  # not max_file_bytes: read(n) allocates n bytes up front
        if len(data) > size:  # grew since stat: read the rest only up to the limit
            data += handle.read(limits.max_file_bytes + 1 - len(data))
    if len(data) > limits.max_file_bytes:  # grew while reading
        raise SizeLimitError(f"{what}.size", f"{target} exceeds the limit of {limits.max_file_bytes} bytes")
    return data


def write_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (:func:`steering_core.atomic.write_bytes_atomic`).

    Post: either ``path`` holds exactly ``data`` or (on error) ``path`` is as it was before and
    no temporary file remains.
    """
    return write_bytes_atomic(path, data)
