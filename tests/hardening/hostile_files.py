"""Generate the hostile-file suite: small GGUF and certified-container files built to attack readers.

Nothing is checked in: every file is written by this script (``python -m tests.hardening.hostile_files
OUTDIR`` writes them all; the tests call :func:`write_all`). Each file is a few hundred bytes at
most, yet declares counts, lengths or sizes that a trusting reader would iterate or allocate
(e.g. an array of ``2**61`` elements in a 191-byte GGUF).

Every case carries the *class* of bad input it belongs to (``oversized``: a count/length beyond
what the file holds or our limits; ``malformed``: structurally broken; ``wrong type``: a field
of the wrong GGUF type or an unknown type id) so the report can list the error per class.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# GGUF value types and the one tensor type we use.
U8, I8, U16, I16, U32, I32, F32T, BOOL, STR, ARR, U64, I64, F64 = range(13)
GGML_F32 = 0
HUGE = 2**61


def gstr(text: str | bytes) -> bytes:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return struct.pack("<Q", len(raw)) + raw


def kv_str(key: str, value: str | bytes) -> bytes:
    return gstr(key) + struct.pack("<I", STR) + gstr(value)


def kv_u32(key: str, value: int) -> bytes:
    return gstr(key) + struct.pack("<I", U32) + struct.pack("<I", value)


def header(n_tensors: int, n_kv: int, version: int = 3) -> bytes:
    return b"GGUF" + struct.pack("<I", version) + struct.pack("<QQ", n_tensors, n_kv)


ARCH = kv_str("general.architecture", "controlvector")
HINT = kv_str("controlvector.model_hint", "qwen3")


def tensor_info(
    name: str, dims: list[int], ggml_type: int = GGML_F32, offset: int = 0, n_dims: int | None = None
) -> bytes:
    n = len(dims) if n_dims is None else n_dims
    return (
        gstr(name)
        + struct.pack("<I", n)
        + b"".join(struct.pack("<Q", d) for d in dims)
        + struct.pack("<IQ", ggml_type, offset)
    )


def with_data(head: bytes, data: bytes, alignment: int = 32) -> bytes:
    return head + b"\0" * (-len(head) % alignment) + data


def valid_control_vector(width: int = 8, layers: tuple[int, ...] = (1, 2)) -> bytes:
    """A well-formed control vector (the base the malformed cases are cut from)."""
    kvs = ARCH + HINT + kv_u32("controlvector.layer_count", len(layers))
    infos = b"".join(tensor_info(f"direction.{n}", [width], offset=i * width * 4) for i, n in enumerate(layers))
    data = b"".join(struct.pack(f"<{width}f", *([0.25] * width)) for _ in layers)
    return with_data(header(len(layers), 3) + kvs + infos, data)


@dataclass(frozen=True)
class Hostile:
    """One hostile file: its name, its class of bad input, and its bytes."""

    name: str
    kind: str
    data: bytes


def _huge_array(count: int, item_type: int = U8, size: int = 191) -> bytes:
    """A ``size``-byte control-vector header whose third key is an array declaring ``count``
    elements (the file holds a few bytes of them): the issue's 191-byte file for ``2**61``."""
    kv = gstr("controlvector.junk") + struct.pack("<IIQ", ARR, item_type, count)
    head = header(0, 3) + ARCH + HINT + kv
    return head + b"\0" * max(0, size - len(head))


def gguf_cases() -> list[Hostile]:
    """Every hostile GGUF of the suite."""
    valid = valid_control_vector()
    cases = [
        Hostile("array-count-2p61.gguf", "oversized", _huge_array(HUGE)),
        Hostile("array-count-1e6.gguf", "oversized", _huge_array(10**6)),
        Hostile("array-count-max.gguf", "oversized", _huge_array(2**64 - 1)),
        Hostile("string-array-count-2p61.gguf", "oversized", _huge_array(HUGE, STR)),
        Hostile("nested-array.gguf", "malformed", _huge_array(HUGE, ARR)),
        Hostile("array-unknown-item-type.gguf", "wrong type", _huge_array(3, 77)),
        Hostile("kv-count-max.gguf", "oversized", header(0, 2**64 - 1) + ARCH + HINT),
        Hostile("tensor-count-2p61.gguf", "oversized", header(HUGE, 1) + ARCH),
        Hostile(
            "key-length-2p63.gguf",
            "oversized",
            header(0, 1) + struct.pack("<Q", 2**63) + b"general.architecture",
        ),
        Hostile(
            "value-length-2p62.gguf",
            "oversized",
            header(0, 1) + gstr("general.architecture") + struct.pack("<IQ", STR, 2**62) + b"controlvector",
        ),
        Hostile(
            "tensor-dims-2p62.gguf",
            "oversized",
            with_data(header(1, 2) + ARCH + HINT + tensor_info("direction.1", [2**62]), b"\0" * 32),
        ),
        Hostile(
            "tensor-ndims-max.gguf",
            "oversized",
            header(1, 2) + ARCH + HINT + tensor_info("direction.1", [8], n_dims=2**32 - 1),
        ),
        Hostile(
            "tensor-offset-past-end.gguf",
            "oversized",
            with_data(header(1, 2) + ARCH + HINT + tensor_info("direction.1", [8], offset=2**40), b"\0" * 32),
        ),
        Hostile("unknown-value-type.gguf", "wrong type", header(0, 2) + ARCH + gstr("x") + struct.pack("<I", 99)),
        Hostile(
            "architecture-not-a-string.gguf",
            "wrong type",
            header(0, 1) + gstr("general.architecture") + struct.pack("<II", U32, 7),
        ),
        Hostile(
            "layer-count-is-a-string.gguf",
            "wrong type",
            with_data(
                header(1, 3) + ARCH + HINT + kv_str("controlvector.layer_count", "1") + tensor_info("direction.1", [8]),
                b"\0" * 32,
            ),
        ),
        Hostile("duplicate-key.gguf", "malformed", header(0, 2) + ARCH + ARCH),
        Hostile("key-not-utf8.gguf", "malformed", header(0, 1) + gstr(b"\xff\xfe") + struct.pack("<II", U32, 1)),
        Hostile("bad-magic.gguf", "malformed", b"GGUG" + valid[4:]),
        Hostile("version-99.gguf", "malformed", b"GGUF" + struct.pack("<I", 99) + valid[8:]),
        Hostile("big-endian.gguf", "malformed", b"GGUF" + struct.pack(">I", 3) + valid[8:]),
        Hostile(
            "alignment-zero.gguf",
            "malformed",
            with_data(
                header(1, 3) + ARCH + HINT + kv_u32("general.alignment", 0) + tensor_info("direction.1", [8]),
                b"\0" * 32,
            ),
        ),
        Hostile(
            "alignment-not-power-of-two.gguf",
            "malformed",
            with_data(
                header(1, 3) + ARCH + HINT + kv_u32("general.alignment", 24) + tensor_info("direction.1", [8]),
                b"\0" * 32,
            ),
        ),
        Hostile("empty.gguf", "malformed", b""),
        Hostile("magic-only.gguf", "malformed", b"GGUF"),
    ]
    # Truncated at every 16th byte of a valid control vector (and one byte short).
    for cut in [*range(8, len(valid), 16), len(valid) - 1]:
        cases.append(Hostile(f"truncated-at-{cut}.gguf", "malformed", valid[:cut]))
    return cases


def container_cases() -> list[Hostile]:
    """Hostile certified containers (safetensors layout): header bombs and broken headers."""
    return [
        Hostile("header-length-2p63.safetensors", "oversized", struct.pack("<Q", 2**63) + b"{}"),
        Hostile("header-length-past-end.safetensors", "oversized", struct.pack("<Q", 4096) + b"{}      "),
        Hostile("header-not-json.safetensors", "malformed", struct.pack("<Q", 8) + b"{{{{{{{{"),
        Hostile(
            "header-deep-nesting.safetensors",
            "malformed",
            struct.pack("<Q", 200_000) + (b"[" * 100_000 + b"]" * 100_000),
        ),
        Hostile(
            "shape-bomb.safetensors",
            "oversized",
            _container({"layer.1": {"dtype": "F32", "shape": [2**62, 2**62], "data_offsets": [0, 16]}}),
        ),
        Hostile(
            "offsets-past-end.safetensors",
            "oversized",
            _container({"layer.1": {"dtype": "F32", "shape": [2**40], "data_offsets": [0, 2**42]}}),
        ),
        Hostile("truncated-length.safetensors", "malformed", b"\x10\0\0"),
    ]


def _container(header_obj: dict[str, object]) -> bytes:
    import json

    head = json.dumps({"__metadata__": {}, **header_obj}, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    return struct.pack("<Q", len(head)) + head + b"\0" * 16


def write_all(
    folder: Path, makers: tuple[Callable[[], list[Hostile]], ...] = (gguf_cases, container_cases)
) -> list[tuple[Path, Hostile]]:
    """Write every hostile file into ``folder``; ``(path, case)`` pairs."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for make in makers:
        for case in make():
            path = folder / case.name
            path.write_bytes(case.data)
            out.append((path, case))
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile")
    for path, case in write_all(target):
        print(f"{case.kind:10s} {len(case.data):7d} B  {path}")
