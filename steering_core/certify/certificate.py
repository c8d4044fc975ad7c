"""The certificate: its envelope, the digest over tensors and body, and the sealed file.

A certificate is the JSON object stored (canonical JSON, see
:mod:`steering_core.certify.canonical`) under the container's single metadata key:

.. code-block:: text

    {"schema_version": 1, "format": "steering-spec/certified-vector",
     "body": {...what the vector is, where it came from, what was measured and verified...},
     "digest": {"algorithm": "sha256", "layout": "steering-spec-digest-v1", "hex": "<64 hex>"},
     "signature": null | {"algorithm": "ed25519", "public_key": "<64 hex>", "value": "<128 hex>"}}

Digest layout ``steering-spec-digest-v1`` (every length a u64 big-endian; ``lp(b)`` is
``len(b)`` followed by ``b``)::

    sha256( b"steering-spec-digest-v1\\0"
            || u64(n_tensors)
            || for each layer in ascending order:
                   lp(tensor name, UTF-8) || lp(dtype tag, e.g. b"F32")
                   || u64(ndim) || u64(dim_0) ... || lp(tensor bytes, little-endian)
            || lp(canonical JSON of "body") )

So the digest binds every tensor byte, every name, dtype and shape, and every byte of the
body; the envelope fields outside ``body`` are either the digest itself, the signature over it,
or constants the schema fixes.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from steering_core.certify.canonical import canonical_json
from steering_core.certify.fileformat import METADATA_KEY, dtype_tag, encode, tensor_bytes, tensor_name
from steering_core.certify.signing import sign_digest

SCHEMA_VERSION = 1
FORMAT = "steering-spec/certified-vector"
DIGEST_ALGORITHM = "sha256"
DIGEST_LAYOUT = "steering-spec-digest-v1"
TOOL_NAME = "steering-spec"


def tool_version() -> str:
    """The installed steering-spec version (``importlib.metadata``), or ``unknown``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(TOOL_NAME)
    except PackageNotFoundError:  # pragma: no cover - running from an uninstalled checkout
        return "unknown"


def tool_block() -> dict[str, str]:
    """``{"name": "steering-spec", "version": ...}``."""
    return {"name": TOOL_NAME, "version": tool_version()}


def _u64(value: int) -> bytes:
    return struct.pack(">Q", value)


def _lp(data: bytes) -> bytes:
    return _u64(len(data)) + data


def compute_digest(tensors: Mapping[int, torch.Tensor], body: Mapping[str, Any]) -> str:
    """The hex sha256 digest of ``tensors`` and ``body`` in layout ``steering-spec-digest-v1``."""
    digest = hashlib.sha256()
    digest.update(DIGEST_LAYOUT.encode("ascii") + b"\0")
    digest.update(_u64(len(tensors)))
    for layer in sorted(tensors):
        tensor = tensors[layer]
        digest.update(_lp(tensor_name(layer).encode("utf-8")))
        digest.update(_lp(dtype_tag(tensor.dtype).encode("ascii")))
        digest.update(_u64(tensor.dim()))
        for size in tensor.shape:
            digest.update(_u64(int(size)))
        digest.update(_lp(tensor_bytes(tensor)))
    digest.update(_lp(canonical_json(dict(body))))
    return digest.hexdigest()


@dataclass(frozen=True)
class CertifiedVector:
    """Tensors (layer -> 1-D tensor) and the full certificate envelope that seals them."""

    tensors: dict[int, torch.Tensor]
    certificate: dict[str, Any]

    @property
    def body(self) -> dict[str, Any]:
        """The certificate body (what the digest covers, with the tensors)."""
        body: dict[str, Any] = self.certificate["body"]
        return body

    @property
    def digest(self) -> str:
        """The recorded hex digest."""
        return str(self.certificate["digest"]["hex"])

    @property
    def signed(self) -> bool:
        """Whether the certificate carries a signature block."""
        return self.certificate.get("signature") is not None

    def metadata(self) -> dict[str, str]:
        """The container metadata: the one key holding the canonical certificate."""
        return {METADATA_KEY: canonical_json(self.certificate).decode("utf-8")}

    def to_bytes(self) -> bytes:
        """The canonical container bytes (see :mod:`steering_core.certify.fileformat`)."""
        return encode(self.tensors, self.metadata())


def seal(
    tensors: Mapping[int, torch.Tensor], body: dict[str, Any], signing_seed: bytes | None = None
) -> CertifiedVector:
    """Compute the digest over ``tensors`` and ``body``, sign it if a seed is given, and wrap both."""
    ordered = {layer: tensors[layer].detach().to("cpu").contiguous() for layer in sorted(tensors)}
    digest = compute_digest(ordered, body)
    certificate: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "format": FORMAT,
        "body": body,
        "digest": {"algorithm": DIGEST_ALGORITHM, "layout": DIGEST_LAYOUT, "hex": digest},
        "signature": sign_digest(digest, signing_seed) if signing_seed is not None else None,
    }
    return CertifiedVector(ordered, certificate)


def resign(certified: CertifiedVector, signing_seed: bytes | None) -> CertifiedVector:
    """The same tensors and body (hence the same digest) with a new signature (None: unsigned)."""
    signature = sign_digest(certified.digest, signing_seed) if signing_seed is not None else None
    return CertifiedVector(certified.tensors, {**certified.certificate, "signature": signature})
