"""Certified steering vectors: a safetensors file whose metadata carries a re-checkable certificate.

A certified file holds one tensor per steered layer (``layer.<i>``, ``i`` the 0-based decoder
layer whose output is steered) and, under the single metadata key
``steering_spec.certificate``, canonical JSON saying what the vector is (model identity and
fingerprint, layers, dtype, norms), where it came from (style and recipe), what was measured
(residual norms on stated calibration prompts, an α sweep with dead zone / effective / collapse
thresholds and the behavioural effect), which properties were checked and by which tool
version, plus a sha256 digest over the tensors and the certificate body and an optional
Ed25519 signature over that digest.

API:

* :func:`certify_vector` / :func:`certify_style` and :func:`write_certified` (atomic);
* :func:`verify_file` (a :class:`VerificationReport`) and :func:`load_certified` (a
  :class:`~steering_core.vector.SteeringVector`, only after every check passed, else a typed
  :class:`CertificateError`);
* :func:`export_gguf`, :func:`import_certified`, :func:`read_control_vector` (llama.cpp and
  repeng control-vector GGUF).

The format is specified by ``spec/certificate.schema.json`` and the module docstrings of
:mod:`.fileformat` (container) and :mod:`.certificate` (digest layout).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from steering_core.lazy import lazy_attribute

if TYPE_CHECKING:
    from steering_core.certify.certificate import CertifiedVector, compute_digest, seal
    from steering_core.certify.errors import (
        CertificateError,
        CertificationError,
        DigestMismatchError,
        FileFormatError,
        GgufFormatError,
        MeasurementMismatchError,
        ModelMismatchError,
        NonFiniteTensorError,
        SchemaError,
        SignatureError,
        SigningUnavailableError,
        SizeLimitError,
        TensorMismatchError,
    )
    from steering_core.certify.fileformat import DEFAULT_LIMITS, METADATA_KEY, Limits
    from steering_core.certify.gguf_interop import export_gguf, import_certified, read_control_vector
    from steering_core.certify.measure import Protocol
    from steering_core.certify.pipeline import certify_style, certify_vector, write_certified
    from steering_core.certify.verify import (
        RATIO_RTOL,
        CheckResult,
        VerificationReport,
        load_certified,
        verify_bytes,
        verify_file,
    )

# deferred: each name loads its module on first use, so importing the package (e.g. for one
# light submodule, or while `steer --help` builds its parser) pulls in nothing heavy.
_EXPORTS: dict[str, str] = {
    "CertificateError": "steering_core.certify.errors",
    "CertificationError": "steering_core.certify.errors",
    "CertifiedVector": "steering_core.certify.certificate",
    "CheckResult": "steering_core.certify.verify",
    "DEFAULT_LIMITS": "steering_core.certify.fileformat",
    "DigestMismatchError": "steering_core.certify.errors",
    "FileFormatError": "steering_core.certify.errors",
    "GgufFormatError": "steering_core.certify.errors",
    "Limits": "steering_core.certify.fileformat",
    "METADATA_KEY": "steering_core.certify.fileformat",
    "MeasurementMismatchError": "steering_core.certify.errors",
    "ModelMismatchError": "steering_core.certify.errors",
    "NonFiniteTensorError": "steering_core.certify.errors",
    "Protocol": "steering_core.certify.measure",
    "RATIO_RTOL": "steering_core.certify.verify",
    "SchemaError": "steering_core.certify.errors",
    "SignatureError": "steering_core.certify.errors",
    "SigningUnavailableError": "steering_core.certify.errors",
    "SizeLimitError": "steering_core.certify.errors",
    "TensorMismatchError": "steering_core.certify.errors",
    "VerificationReport": "steering_core.certify.verify",
    "certify_style": "steering_core.certify.pipeline",
    "certify_vector": "steering_core.certify.pipeline",
    "compute_digest": "steering_core.certify.certificate",
    "export_gguf": "steering_core.certify.gguf_interop",
    "import_certified": "steering_core.certify.gguf_interop",
    "load_certified": "steering_core.certify.verify",
    "read_control_vector": "steering_core.certify.gguf_interop",
    "seal": "steering_core.certify.certificate",
    "verify_bytes": "steering_core.certify.verify",
    "verify_file": "steering_core.certify.verify",
    "write_certified": "steering_core.certify.pipeline",
}


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _EXPORTS, name)


__all__ = [
    "DEFAULT_LIMITS",
    "METADATA_KEY",
    "RATIO_RTOL",
    "CertificateError",
    "CertificationError",
    "CertifiedVector",
    "CheckResult",
    "DigestMismatchError",
    "FileFormatError",
    "GgufFormatError",
    "Limits",
    "MeasurementMismatchError",
    "ModelMismatchError",
    "NonFiniteTensorError",
    "Protocol",
    "SchemaError",
    "SignatureError",
    "SigningUnavailableError",
    "SizeLimitError",
    "TensorMismatchError",
    "VerificationReport",
    "certify_style",
    "certify_vector",
    "compute_digest",
    "export_gguf",
    "import_certified",
    "load_certified",
    "read_control_vector",
    "seal",
    "verify_bytes",
    "verify_file",
    "write_certified",
]
