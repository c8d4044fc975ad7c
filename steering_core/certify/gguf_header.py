"""A strict, bounded GGUF parser (metadata and tensor infos) over bytes already in memory.

Why not ``gguf.GGUFReader``: it trusts every count in the header. An array whose header
declares ``2**61`` elements makes it loop (and allocate a numpy view per element) without
bound, even in a 191-byte file, because reads past the end return empty views instead of
failing. Here every count and length is checked, *before* anything is allocated or iterated,
against (a) what the remaining bytes can hold at the element's minimum encoded size and
(b) our own :class:`~steering_core.certify.fileformat.Limits`. The work is therefore
``O(file size)`` with small constants, and a hostile header is refused in microseconds.

Format (GGUF v2/v3, little-endian only): ``"GGUF"``, ``u32 version``, ``u64 n_tensors``,
``u64 n_kv``; ``n_kv`` times (``string key``, ``u32 type``, value); ``n_tensors`` times
(``string name``, ``u32 n_dims``, ``u64 dims[n_dims]``, ``u32 ggml_type``, ``u64 offset``);
padding to ``general.alignment`` (default 32); the tensor data. A string is ``u64 length``
then that many UTF-8 bytes; an array is ``u32 item_type``, ``u64 count``, the items.

Errors are :class:`~steering_core.certify.errors.GgufFormatError` (malformed, truncated, a
count the file cannot hold) or :class:`~steering_core.certify.errors.SizeLimitError` (over
one of our limits), each naming the field and the offending value.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from steering_core.certify.errors import GgufFormatError, SizeLimitError
from steering_core.certify.fileformat import Limits

MAGIC = b"GGUF"
VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32
MAX_DIMS = 4
"""llama.cpp's ``GGML_MAX_DIMS``."""
MAX_NAME_BYTES = 64
"""llama.cpp's ``GGML_MAX_NAME``: the longest tensor name (bytes)."""
MAX_KEY_BYTES = 65_535
GGML_F32 = 0

# GGUF value types: id -> (struct format or None for string/array, encoded size).
_SCALARS: dict[int, tuple[str, int]] = {
    0: ("<B", 1),  # UINT8
    1: ("<b", 1),  # INT8
    2: ("<H", 2),  # UINT16
    3: ("<h", 2),  # INT16
    4: ("<I", 4),  # UINT32
    5: ("<i", 4),  # INT32
    6: ("<f", 4),  # FLOAT32
    7: ("<?", 1),  # BOOL
    10: ("<Q", 8),  # UINT64
    11: ("<q", 8),  # INT64
    12: ("<d", 8),  # FLOAT64
}
STRING, ARRAY, UINT32 = 8, 9, 4
_MIN_STRING = 8  # the length field of an empty string
_MIN_KV = 8 + 1 + 4 + 1  # key length + 1 key byte + type + the smallest value
_MIN_TENSOR_INFO = 8 + 1 + 4 + 4 + 8  # name length + 1 name byte + n_dims + type + offset


@dataclass(frozen=True)
class TensorInfo:
    """One tensor's header entry (no data read yet)."""

    name: str
    dims: tuple[int, ...]
    ggml_type: int
    offset: int


@dataclass(frozen=True)
class GgufHeader:
    """The parsed metadata and tensor infos of a GGUF; ``data_start`` is the data section's offset."""

    version: int
    metadata: dict[str, Any]
    types: dict[str, int]
    tensors: list[TensorInfo]
    data_start: int
    alignment: int


class _Cursor:
    """Reads little-endian fields from ``data`` with a bounds check on every read."""

    def __init__(self, data: bytes, limits: Limits) -> None:
        self.data = data
        self.pos = 0
        self.limits = limits
        self.array_items = 0

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or n > self.remaining:
            raise GgufFormatError(
                "gguf.truncated", f"{what}: needs {n} bytes at offset {self.pos}, the file has {self.remaining} left"
            )
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str, what: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))[0]

    def count(self, what: str, min_item_bytes: int, limit: int, limit_name: str) -> int:
        """A u64 count, checked against what the rest of the file can hold and against ``limit``."""
        n = int(self.unpack("<Q", what))
        if n > limit:
            raise SizeLimitError("gguf.limits", f"{what} is {n}; the limit is {limit} ({limit_name})")
        if min_item_bytes > 0 and n > self.remaining // min_item_bytes:
            raise GgufFormatError(
                "gguf.truncated",
                f"{what} is {n}, but the {self.remaining} remaining bytes hold at most "
                f"{self.remaining // min_item_bytes} of them",
            )
        return n

    def string(self, what: str, max_bytes: int) -> str:
        n = int(self.unpack("<Q", f"{what} length"))
        if n > max_bytes:
            raise SizeLimitError("gguf.limits", f"{what} length is {n} bytes; the limit is {max_bytes}")
        raw = self.take(n, what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise GgufFormatError("gguf.metadata", f"{what} is not UTF-8") from None

    def value(self, vtype: int, what: str, nested: bool = False) -> Any:
        if vtype in _SCALARS:
            fmt, _ = _SCALARS[vtype]
            return self.unpack(fmt, what)
        if vtype == STRING:
            return self.string(what, self.limits.max_header_bytes)
        if vtype == ARRAY:
            if nested:
                raise GgufFormatError("gguf.metadata", f"{what}: nested arrays are not supported")
            item_type = int(self.unpack("<I", f"{what} item type"))
            if item_type == ARRAY:
                raise GgufFormatError("gguf.metadata", f"{what}: nested arrays are not supported")
            if item_type != STRING and item_type not in _SCALARS:
                raise GgufFormatError("gguf.metadata", f"{what}: unknown array item type {item_type}")
            min_item = _MIN_STRING if item_type == STRING else _SCALARS[item_type][1]
            left = self.limits.max_gguf_array_items - self.array_items
            n = self.count(f"{what} element count", min_item, left, "max_gguf_array_items over all arrays")
            self.array_items += n
            if item_type in _SCALARS:
                fmt, size = _SCALARS[item_type]
                raw = self.take(n * size, what)
                return list(struct.unpack(f"<{n}{fmt[1]}", raw))
            return [self.value(item_type, f"{what}[{i}]", nested=True) for i in range(n)]
        raise GgufFormatError("gguf.metadata", f"{what}: unknown value type {vtype}")


def parse_header(data: bytes, limits: Limits) -> GgufHeader:
    """Parse a GGUF's header from ``data`` (the whole file), bounded by ``limits``.

    Post: every tensor's ``[offset, offset + nbytes)`` is *not* yet checked (its byte size
    depends on the type); :func:`tensor_bytes` checks it before slicing.

    Raises:
        GgufFormatError: not GGUF (``not a readable GGUF file``), an unsupported version or byte
            order, truncated, a count larger than the remaining bytes can hold, bad UTF-8, an
            unknown value type, a duplicate key, a bad alignment.
        SizeLimitError: a count or length over ``limits``.
    """
    if len(data) < 24 or data[:4] != MAGIC:
        raise GgufFormatError("gguf.parse", "not a readable GGUF file (no GGUF magic and header)")
    cur = _Cursor(data, limits)
    cur.take(4, "magic")
    version = int(cur.unpack("<I", "version"))
    if version not in VERSIONS:
        swapped = struct.unpack(">I", struct.pack("<I", version))[0]
        hint = " (a big-endian GGUF: not supported)" if swapped in VERSIONS else ""
        raise GgufFormatError("gguf.parse", f"not a readable GGUF file: version {version}{hint}")
    n_tensors = cur.count("tensor count", _MIN_TENSOR_INFO, limits.max_gguf_tensors, "max_gguf_tensors")
    n_kv = cur.count("key/value count", _MIN_KV, limits.max_gguf_kv_pairs, "max_gguf_kv_pairs")
    metadata: dict[str, Any] = {}
    types: dict[str, int] = {}
    for i in range(n_kv):
        key = cur.string(f"key #{i}", MAX_KEY_BYTES)
        if key in metadata:
            raise GgufFormatError("gguf.metadata", f"duplicate key {key!r}")
        vtype = int(cur.unpack("<I", f"type of {key!r}"))
        metadata[key] = cur.value(vtype, f"value of {key!r}")
        types[key] = vtype
    tensors: list[TensorInfo] = []
    for i in range(n_tensors):
        name = cur.string(f"tensor #{i} name", MAX_NAME_BYTES)
        n_dims = int(cur.unpack("<I", f"tensor {name!r} n_dims"))
        if n_dims > MAX_DIMS:
            raise GgufFormatError("gguf.tensors", f"tensor {name!r}: {n_dims} dimensions, at most {MAX_DIMS}")
        dims = tuple(int(cur.unpack("<Q", f"tensor {name!r} dim {d}")) for d in range(n_dims))
        ggml_type = int(cur.unpack("<I", f"tensor {name!r} type"))
        offset = int(cur.unpack("<Q", f"tensor {name!r} offset"))
        tensors.append(TensorInfo(name, dims, ggml_type, offset))
    alignment = DEFAULT_ALIGNMENT
    if "general.alignment" in metadata:
        align = metadata["general.alignment"]
        if types["general.alignment"] != UINT32 or align == 0 or align & (align - 1):
            raise GgufFormatError("gguf.metadata", f"general.alignment {align!r} is not a non-zero power of two u32")
        alignment = int(align)
    data_start = cur.pos + (-cur.pos % alignment)
    if tensors and data_start > len(data):
        raise GgufFormatError("gguf.truncated", f"the data section starts at {data_start}, past the end ({len(data)})")
    for info in tensors:
        if info.offset % alignment:
            raise GgufFormatError(
                "gguf.tensors", f"tensor {info.name!r}: offset {info.offset} is not a multiple of {alignment}"
            )
    return GgufHeader(version, metadata, types, tensors, data_start, alignment)


def f32_tensor_bytes(data: bytes, header: GgufHeader, info: TensorInfo) -> bytes:
    """The raw bytes of an F32 tensor, after checking its extent against the data section.

    Raises:
        GgufFormatError: not F32, or the tensor's bytes run past the end of the file.
    """
    if info.ggml_type != GGML_F32:
        raise GgufFormatError("gguf.tensors", f"{info.name}: not F32")
    numel = 1
    for d in info.dims:
        numel *= d
    nbytes = numel * 4
    available = len(data) - header.data_start
    if info.offset > available or nbytes > available - info.offset:
        raise GgufFormatError(
            "gguf.truncated",
            f"tensor {info.name!r}: {nbytes} bytes at offset {info.offset}, the data section has {available}",
        )
    begin = header.data_start + info.offset
    return data[begin : begin + nbytes]
